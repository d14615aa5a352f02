//! File descriptors: openat2(2), pidfds, close-on-exec ranges, and passing fds over sockets (SCM_RIGHTS).

use super::check;
use std::ffi::CStr;
use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};

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

/// Borrow an fd number the caller has just checked is open (fds 0-2, passed fds), or
/// fds 0-2 to poll whether they are.
pub fn borrow_fd(fd: i32) -> BorrowedFd<'static> {
    // SAFETY: callers only use this for fds that stay open for the rest of the process
    // (stdio and fds handed to us by our caller), and only for fcntl calls, or to poll
    // whether stdio is open at all (a closed number gets POLLNVAL, nothing more).
    unsafe { BorrowedFd::borrow_raw(fd) }
}

/// recvmsg(2) of one message carrying exactly one fd by SCM_RIGHTS (as a console socket
/// delivers a pty master). Returns the fd, close-on-exec, and the message's payload.
/// Extra fds, if a peer sent more, are closed.
pub fn recv_fd(sock: BorrowedFd) -> io::Result<(OwnedFd, Vec<u8>)> {
    let mut payload = vec![0u8; 4096];
    let (len, mut owned) = recv_with_fds(sock, &mut payload)?;
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

/// recvmsg(2) of one message into `payload`, with the fds it carries by SCM_RIGHTS
/// (none, or up to 4), close-on-exec. Returns the payload's length (0: end-of-file).
pub fn recv_with_fds(sock: BorrowedFd, payload: &mut [u8]) -> io::Result<(usize, Vec<OwnedFd>)> {
    use nix::sys::socket::{recvmsg, ControlMessageOwned, MsgFlags};
    let mut cmsg = nix::cmsg_space!([std::os::fd::RawFd; 4]);
    let (fds, len) = loop {
        let mut iov = [io::IoSliceMut::new(payload)];
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
    let owned = fds
        .into_iter()
        .map(|fd| {
            // SAFETY: the kernel just installed this fd in our table for this message;
            // nothing else refers to it, so it gets exactly one owner here.
            unsafe { OwnedFd::from_raw_fd(fd) }
        })
        .collect();
    Ok((len, owned))
}

/// Send `payload` with one fd (SCM_RIGHTS) on a stream socket. What the first sendmsg
/// does not take follows in plain sends, without the fd: the runtime-spec allows several
/// calls as long as the fds come with the first.
pub fn send_with_fd(sock: BorrowedFd, payload: &[u8], fd: BorrowedFd) -> io::Result<()> {
    use nix::sys::socket::{send, sendmsg, ControlMessage, MsgFlags};
    let fds = [fd.as_raw_fd()];
    let mut sent = loop {
        let iov = [io::IoSlice::new(payload)];
        match sendmsg::<()>(
            sock.as_raw_fd(),
            &iov,
            &[ControlMessage::ScmRights(&fds)],
            MsgFlags::MSG_NOSIGNAL,
            None,
        ) {
            Err(nix::errno::Errno::EINTR) => continue,
            Err(e) => return Err(e.into()),
            Ok(n) => break n,
        }
    };
    while sent < payload.len() {
        match send(sock.as_raw_fd(), &payload[sent..], MsgFlags::MSG_NOSIGNAL) {
            Err(nix::errno::Errno::EINTR) => continue,
            Err(e) => return Err(e.into()),
            Ok(n) => sent += n,
        }
    }
    Ok(())
}
