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

/// ioctl(TIOCSCTTY): make the terminal `fd` the controlling terminal of this process's
/// session (the caller is a session leader without one).
pub fn set_controlling_terminal(fd: BorrowedFd) -> io::Result<()> {
    // SAFETY: TIOCSCTTY takes an integer argument (0: do not steal from another session).
    let ret = unsafe { libc::ioctl(fd.as_raw_fd(), libc::TIOCSCTTY, 0) };
    check(ret as libc::c_long)?;
    Ok(())
}

/// ioctl(TIOCGWINSZ): the window size of terminal `fd`.
pub fn window_size(fd: BorrowedFd) -> io::Result<libc::winsize> {
    let mut ws = libc::winsize {
        ws_row: 0,
        ws_col: 0,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: TIOCGWINSZ writes one `struct winsize` through the pointer, which points
    // at a live, properly sized value.
    let ret = unsafe { libc::ioctl(fd.as_raw_fd(), libc::TIOCGWINSZ, &mut ws) };
    check(ret as libc::c_long)?;
    Ok(ws)
}

/// ioctl(TIOCSWINSZ): set the window size of terminal `fd` (on a pty master or slave;
/// the kernel sends SIGWINCH to the slave's foreground process group).
pub fn set_window_size(fd: BorrowedFd, ws: &libc::winsize) -> io::Result<()> {
    // SAFETY: TIOCSWINSZ reads one `struct winsize` through the pointer, which points at
    // a live value for the whole call.
    let ret = unsafe { libc::ioctl(fd.as_raw_fd(), libc::TIOCSWINSZ, ws as *const libc::winsize) };
    check(ret as libc::c_long)?;
    Ok(())
}

/// recvmsg(2) of one message carrying exactly one fd by SCM_RIGHTS (as a console socket
/// delivers a pty master). Returns the fd, close-on-exec, and the message's payload.
/// Extra fds, if a peer sent more, are closed.
pub fn recv_fd(sock: BorrowedFd) -> io::Result<(OwnedFd, Vec<u8>)> {
    use nix::sys::socket::{recvmsg, ControlMessageOwned, MsgFlags};
    let mut payload = vec![0u8; 4096];
    let mut cmsg = nix::cmsg_space!([std::os::fd::RawFd; 4]);
    let (fds, len) = loop {
        let mut iov = [io::IoSliceMut::new(&mut payload)];
        match recvmsg::<()>(
            sock.as_raw_fd(),
            &mut iov,
            Some(&mut cmsg),
            MsgFlags::MSG_CMSG_CLOEXEC,
        ) {
            Err(nix::errno::Errno::EINTR) => continue,
            Err(e) => return Err(e.into()),
            Ok(msg) => {
                let mut fds = Vec::new();
                for c in msg.cmsgs()? {
                    if let ControlMessageOwned::ScmRights(r) = c {
                        fds.extend(r);
                    }
                }
                break (fds, msg.bytes);
            }
        }
    };
    let mut owned: Vec<OwnedFd> = fds
        .into_iter()
        .map(|fd| {
            // SAFETY: the kernel just installed this fd in our table for this message;
            // nothing else refers to it, so it gets exactly one owner here.
            unsafe { OwnedFd::from_raw_fd(fd) }
        })
        .collect();
    payload.truncate(len);
    if owned.is_empty() {
        let what = if len == 0 {
            "the peer closed the socket"
        } else {
            "a message without a file descriptor"
        };
        return Err(io::Error::new(io::ErrorKind::InvalidData, what));
    }
    Ok((owned.remove(0), payload))
}

/// `struct sched_attr` of sched_setattr(2), up to the utilization clamps
/// (SCHED_ATTR_SIZE_VER1); libc does not define it.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SchedAttr {
    pub size: u32,
    pub policy: u32,
    pub flags: u64,
    pub nice: i32,
    pub priority: u32,
    pub runtime: u64,
    pub deadline: u64,
    pub period: u64,
    pub util_min: u32,
    pub util_max: u32,
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

/// Borrow an fd number the caller has just checked is open (fds 0-2, passed fds).
pub fn borrow_fd(fd: i32) -> BorrowedFd<'static> {
    // SAFETY: callers only use this for fds that stay open for the rest of the process
    // (stdio and fds handed to us by our caller), and only for fcntl calls.
    unsafe { BorrowedFd::borrow_raw(fd) }
}
