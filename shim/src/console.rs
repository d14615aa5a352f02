//! Terminals: berth sends the pty master of a `process.terminal` process over a
//! `--console-socket`; the shim keeps it to copy the stdio and to resize it.

use anyhow::{anyhow, Result};
use nix::sys::socket::{recvmsg, ControlMessageOwned, MsgFlags};
use std::fs::File;
use std::io::IoSliceMut;
use std::os::fd::{AsRawFd, FromRawFd};
use std::os::unix::net::UnixListener;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};

/// A listening console socket in a short path (sun_path holds 108 bytes; bundle paths
/// can be longer), removed when dropped.
pub struct ConsoleSocket {
    pub path: PathBuf,
    listener: UnixListener,
}

impl ConsoleSocket {
    pub fn new() -> Result<ConsoleSocket> {
        static N: AtomicU32 = AtomicU32::new(0);
        let n = N.fetch_add(1, Ordering::Relaxed);
        let path = PathBuf::from(format!("/tmp/berth-shim-{}-{n}.sock", std::process::id()));
        let _ = std::fs::remove_file(&path);
        let listener =
            UnixListener::bind(&path).map_err(|e| anyhow!("console socket {path:?}: {e}"))?;
        Ok(ConsoleSocket { path, listener })
    }

    /// The master berth sent. Call only after berth has exited successfully: its
    /// connection and message then wait in the backlog, and accept cannot block.
    pub fn receive(&self) -> Result<File> {
        self.listener.set_nonblocking(true)?;
        let (conn, _) = self
            .listener
            .accept()
            .map_err(|e| anyhow!("console socket: no connection from berth: {e}"))?;
        let mut buf = [0u8; 4096];
        let mut iov = [IoSliceMut::new(&mut buf)];
        let mut space = nix::cmsg_space!([std::os::fd::RawFd; 1]);
        let msg = recvmsg::<()>(
            conn.as_raw_fd(),
            &mut iov,
            Some(&mut space),
            MsgFlags::MSG_CMSG_CLOEXEC,
        )
        .map_err(|e| anyhow!("console socket: recvmsg: {e}"))?;
        for c in msg.cmsgs().map_err(|e| anyhow!("console socket: {e}"))? {
            if let ControlMessageOwned::ScmRights(fds) = c {
                if let Some(fd) = fds.first() {
                    // SAFETY: the kernel just installed this fd for us (SCM_RIGHTS); we
                    // are its only owner.
                    return Ok(unsafe { File::from_raw_fd(*fd) });
                }
            }
        }
        Err(anyhow!("console socket: berth sent no terminal"))
    }
}

impl Drop for ConsoleSocket {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Set the terminal's size.
pub fn resize(master: &File, width: u32, height: u32) -> Result<()> {
    let ws = libc::winsize {
        ws_row: height as u16,
        ws_col: width as u16,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: TIOCSWINSZ reads one winsize from the pointer, which outlives the call.
    let r = unsafe { libc::ioctl(master.as_raw_fd(), libc::TIOCSWINSZ, &ws) };
    if r < 0 {
        return Err(anyhow!("resize pty: {}", std::io::Error::last_os_error()));
    }
    Ok(())
}
