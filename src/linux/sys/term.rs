//! Terminal ioctls: controlling terminal and window size.

use super::check;
use std::io;
use std::os::fd::{AsRawFd, BorrowedFd};

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
