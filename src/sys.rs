//! The only module with `unsafe`: thin wrappers over raw syscalls that nix lacks.
//!
//! Every wrapper turns the raw return value into `io::Result` so callers stay safe.

use std::ffi::CStr;
use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};

fn check(ret: libc::c_long) -> io::Result<libc::c_long> {
    if ret < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(ret)
    }
}

/// What `clone_process` returned in the calling process.
pub enum Forked {
    Parent(libc::pid_t),
    Child,
}

/// fork(2) with extra clone flags (new namespaces), returning twice like fork.
///
/// The caller must be single-threaded: berth never starts threads before this point,
/// which is why the child may go on allocating and using the heap.
pub fn clone_process(flags: u64) -> io::Result<Forked> {
    let flags = flags | libc::SIGCHLD as u64;
    // SAFETY: clone with a NULL stack behaves like fork: the child gets a copy of the
    // address space. berth is single-threaded here, so no lock can be held by a thread
    // that does not exist in the child. The pointer arguments are NULL (unused without
    // CLONE_PARENT_SETTID/CHILD_SETTID/SETTLS).
    let ret = unsafe {
        libc::syscall(
            libc::SYS_clone,
            flags,
            std::ptr::null_mut::<libc::c_void>(),
            std::ptr::null_mut::<libc::c_void>(),
            std::ptr::null_mut::<libc::c_void>(),
            0usize,
        )
    };
    match check(ret)? {
        0 => Ok(Forked::Child),
        pid => Ok(Forked::Parent(pid as libc::pid_t)),
    }
}

/// `struct open_how` of openat2(2) (libc's is non-exhaustive).
#[repr(C)]
struct OpenHow {
    flags: u64,
    mode: u64,
    resolve: u64,
}

/// openat2(2): open `path` below `dir` with RESOLVE_* restrictions.
pub fn openat2(
    dir: BorrowedFd,
    path: &CStr,
    flags: u64,
    mode: u64,
    resolve: u64,
) -> io::Result<OwnedFd> {
    let how = OpenHow {
        flags,
        mode,
        resolve,
    };
    // SAFETY: `how` lives across the call and its size is passed; `path` is a valid
    // NUL-terminated string; the kernel returns a new fd that nothing else owns.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_openat2,
            dir.as_raw_fd(),
            path.as_ptr(),
            &how as *const OpenHow,
            std::mem::size_of::<OpenHow>(),
        )
    };
    let fd = check(ret)?;
    // SAFETY: fd is a fresh descriptor returned by the kernel and owned by nobody else.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as i32) })
}

/// pidfd_open(2): a descriptor that becomes readable when the process exits.
pub fn pidfd_open(pid: libc::pid_t) -> io::Result<OwnedFd> {
    // SAFETY: plain integer arguments; the result is a new fd owned by nobody else.
    let fd = check(unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) })?;
    // SAFETY: fd is a fresh descriptor returned by the kernel.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as i32) })
}

/// Mark every fd from `first` up as close-on-exec, so nothing of the runtime's or the
/// caller's reaches the container process.
pub fn cloexec_from(first: u32) -> io::Result<()> {
    // SAFETY: plain integer arguments; close_range only changes fd flags.
    check(unsafe {
        libc::syscall(
            libc::SYS_close_range,
            first,
            u32::MAX,
            libc::CLOSE_RANGE_CLOEXEC,
        )
    })?;
    Ok(())
}

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
    check(
        unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, sig as libc::c_ulong, 0, 0, 0) }
            as libc::c_long,
    )?;
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
