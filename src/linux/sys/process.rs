//! The calling process's own settings: keyring, domain name, parent-death signal, dumpability, subreaper, scheduling, personality, SIGPIPE, signals to others, and execveat(2).

use super::check;
use crate::spec::attrs::SchedAttr;
use std::ffi::CStr;
use std::io;
use std::os::fd::{AsRawFd, BorrowedFd};

/// keyctl(KEYCTL_JOIN_SESSION_KEYRING, name): give the container its own session keyring
/// so it cannot read the host's keys.
pub fn join_session_keyring(name: &CStr) -> io::Result<()> {
    // SAFETY: `name` is a valid NUL-terminated string that outlives the call.
    check(unsafe {
        libc::syscall(
            libc::SYS_keyctl,
            libc::KEYCTL_JOIN_SESSION_KEYRING,
            name.as_ptr(),
        )
    })?;
    Ok(())
}

/// setdomainname(2), which nix does not wrap.
pub fn setdomainname(name: &[u8]) -> io::Result<()> {
    // SAFETY: the pointer and length describe `name`, which outlives the call.
    let ret = unsafe { libc::setdomainname(name.as_ptr().cast(), name.len()) };
    check(ret as libc::c_long)?;
    Ok(())
}

/// prctl(PR_SET_PDEATHSIG): the signal this process gets when its parent exits.
pub fn set_parent_death_signal(sig: i32) -> io::Result<()> {
    // SAFETY: PR_SET_PDEATHSIG takes a plain signal number.
    let ret = unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, sig as libc::c_ulong, 0, 0, 0) };
    check(ret as libc::c_long)?;
    Ok(())
}

/// prctl(PR_SET_DUMPABLE): whether processes with our uid and capabilities may reach
/// us through ptrace and /proc/PID (exe, fd, mem). execve sets it again for the new
/// program.
pub fn set_dumpable(dumpable: bool) -> io::Result<()> {
    // SAFETY: PR_SET_DUMPABLE takes a plain 0 or 1.
    let ret = unsafe { libc::prctl(libc::PR_SET_DUMPABLE, dumpable as libc::c_ulong, 0, 0, 0) };
    check(ret as libc::c_long)?;
    Ok(())
}

/// prctl(PR_SET_CHILD_SUBREAPER): orphans of the container come to us to be reaped.
pub fn set_child_subreaper() -> io::Result<()> {
    // SAFETY: PR_SET_CHILD_SUBREAPER takes a plain integer.
    check(unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) } as libc::c_long)?;
    Ok(())
}

/// kill(2) with any signal number, including real-time ones nix has no name for.
pub fn kill_raw(pid: i32, sig: i32) -> i32 {
    // SAFETY: kill takes two integers and touches no memory of ours.
    unsafe { libc::kill(pid, sig) }
}

/// sched_setattr(2) on the calling thread.
pub fn sched_setattr(attr: &SchedAttr) -> io::Result<()> {
    let attr = SchedAttr {
        size: std::mem::size_of::<SchedAttr>() as u32,
        ..*attr
    };
    // SAFETY: `attr` is a repr(C) sched_attr whose `size` field gives its real size; the
    // kernel only reads it during the call.
    check(unsafe { libc::syscall(libc::SYS_sched_setattr, 0, &attr as *const SchedAttr, 0) })?;
    Ok(())
}

/// ioprio_set(2) for the calling process (IOPRIO_WHO_PROCESS, pid 0).
pub fn ioprio_set(ioprio: u32) -> io::Result<()> {
    const IOPRIO_WHO_PROCESS: libc::c_int = 1;
    // SAFETY: plain integer arguments; touches no memory of ours.
    check(unsafe {
        libc::syscall(
            libc::SYS_ioprio_set,
            IOPRIO_WHO_PROCESS,
            0,
            ioprio as libc::c_int,
        )
    })?;
    Ok(())
}

/// personality(2): set the execution domain (PER_LINUX, PER_LINUX32, ...).
pub fn set_personality(persona: u64) -> io::Result<()> {
    // SAFETY: one integer argument; touches no memory of ours.
    let ret = unsafe { libc::personality(persona as libc::c_ulong) };
    check(ret as libc::c_long)?;
    Ok(())
}

/// execveat(fd, "", AT_EMPTY_PATH): run the program `fd` refers to. Returns only on error.
pub fn execveat_fd(
    fd: BorrowedFd,
    argv: &[std::ffi::CString],
    envp: &[std::ffi::CString],
) -> io::Error {
    let mut a: Vec<*const libc::c_char> = argv.iter().map(|s| s.as_ptr()).collect();
    a.push(std::ptr::null());
    let mut e: Vec<*const libc::c_char> = envp.iter().map(|s| s.as_ptr()).collect();
    e.push(std::ptr::null());
    // SAFETY: both arrays are NULL-terminated and point at CStrings that outlive the
    // call; on success the call does not return.
    unsafe {
        libc::syscall(
            libc::SYS_execveat,
            fd.as_raw_fd(),
            c"".as_ptr(),
            a.as_ptr(),
            e.as_ptr(),
            libc::AT_EMPTY_PATH,
        )
    };
    io::Error::last_os_error()
}

/// Ignore SIGPIPE, as Rust's runtime does for a program it starts: a write to a closed
/// pipe or socket then fails with EPIPE, which berth reports, instead of killing it.
pub fn ignore_sigpipe() -> io::Result<()> {
    // SAFETY: SIG_IGN installs no handler, so no code of ours can run on the signal.
    let old = unsafe { libc::signal(libc::SIGPIPE, libc::SIG_IGN) };
    if old == libc::SIG_ERR {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Give SIGPIPE its default action back. Rust's runtime ignores it in every program, and
/// an ignored signal stays ignored across execve: the container's process would never
/// die of a broken pipe.
pub fn default_sigpipe() -> io::Result<()> {
    // SAFETY: SIG_DFL installs no handler, so no code of ours can run on the signal.
    let old = unsafe { libc::signal(libc::SIGPIPE, libc::SIG_DFL) };
    if old == libc::SIG_ERR {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}
