//! `run` and `exec` in the foreground with a terminal: the caller's terminal in raw
//! mode, stdin → pty master → stdout, SIGWINCH → resize, until the process exits.

use crate::errors::{describe_io, errno_text};
use crate::linux::sys;
use crate::logging;
use anyhow::{anyhow, bail, Result};
use nix::errno::Errno;
use nix::fcntl::OFlag;
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::signal::SigSet;
use nix::sys::signalfd::{SfdFlags, SignalFd};
use nix::sys::termios::{self, SetArg, Termios};
use std::io::Write;
use std::os::fd::{AsFd, OwnedFd};
use std::time::{Duration, Instant};

/// `berth run` in the foreground with a terminal: the master, and the caller's terminal
/// settings while it is in raw mode (restored on drop).
pub struct Terminal {
    master: OwnedFd,
    saved: Option<Termios>,
}

impl Terminal {
    /// Put our stdin in raw mode (if it is a terminal) so every key reaches the
    /// container's line discipline untouched, and give the pty our window size.
    pub fn attach(master: OwnedFd) -> Result<Terminal> {
        // Non-blocking, so a container that reads no input cannot stall the loop.
        let fl = nix::fcntl::fcntl(master.as_fd(), nix::fcntl::FcntlArg::F_GETFL)
            .map_err(|e| anyhow!("console: fcntl: {}", errno_text(e)))?;
        nix::fcntl::fcntl(
            master.as_fd(),
            nix::fcntl::FcntlArg::F_SETFL(OFlag::from_bits_retain(fl) | OFlag::O_NONBLOCK),
        )
        .map_err(|e| anyhow!("console: fcntl: {}", errno_text(e)))?;
        let stdin = std::io::stdin();
        let saved = if nix::unistd::isatty(stdin.as_fd()).unwrap_or(false) {
            let saved = termios::tcgetattr(stdin.as_fd())
                .map_err(|e| anyhow!("console: stdin: tcgetattr: {}", errno_text(e)))?;
            let mut raw = saved.clone();
            termios::cfmakeraw(&mut raw);
            termios::tcsetattr(stdin.as_fd(), SetArg::TCSANOW, &raw)
                .map_err(|e| anyhow!("console: stdin: set raw mode: {}", errno_text(e)))?;
            Some(saved)
        } else {
            None
        };
        let t = Terminal { master, saved };
        t.resize();
        Ok(t)
    }

    /// Copy our terminal's size (the first of stdin, stdout, stderr that is one) to the
    /// pty. Without any terminal, the pty keeps `process.consoleSize`.
    fn resize(&self) {
        let ws = [
            sys::window_size(std::io::stdin().as_fd()),
            sys::window_size(std::io::stdout().as_fd()),
            sys::window_size(std::io::stderr().as_fd()),
        ]
        .into_iter()
        .find_map(|r| r.ok());
        if let Some(ws) = ws {
            if let Err(e) = sys::set_window_size(self.master.as_fd(), &ws) {
                logging::debug(&format!("console: resize: {}", describe_io(&e)));
            }
        }
    }

    /// Proxy stdin → master and master → stdout until `on_signal` reports the
    /// container's exit code. Every signal (the caller has blocked them all) goes to
    /// `on_signal`, except SIGWINCH, which resizes the pty instead.
    pub fn proxy(&self, mut on_signal: impl FnMut(i32) -> Option<i32>) -> Result<i32> {
        let sfd = SignalFd::with_flags(
            &SigSet::all(),
            SfdFlags::SFD_NONBLOCK | SfdFlags::SFD_CLOEXEC,
        )
        .map_err(|e| anyhow!("console: signalfd: {}", errno_text(e)))?;
        let stdin = std::io::stdin();
        let mut out = Output::default();
        // Input the master has not taken yet; stdin is not read while there is some.
        let mut pending: Vec<u8> = Vec::new();
        let mut stdin_open = true;
        let mut master_open = true;
        let mut buf = vec![0u8; 16 * 1024];
        loop {
            let mut fds = vec![PollFd::new(sfd.as_fd(), PollFlags::POLLIN)];
            let master_at = master_open.then(|| {
                let mut ev = PollFlags::POLLIN;
                if !pending.is_empty() {
                    ev |= PollFlags::POLLOUT;
                }
                fds.push(PollFd::new(self.master.as_fd(), ev));
                fds.len() - 1
            });
            let stdin_at = (stdin_open && pending.is_empty()).then(|| {
                fds.push(PollFd::new(stdin.as_fd(), PollFlags::POLLIN));
                fds.len() - 1
            });
            match poll(&mut fds, PollTimeout::NONE) {
                Err(Errno::EINTR) => continue,
                Err(e) => bail!("console: poll: {}", errno_text(e)),
                Ok(_) => {}
            }
            let ready = |i: Option<usize>| {
                i.and_then(|i| fds[i].revents())
                    .is_some_and(|r| !r.is_empty())
            };
            let (master_ready, stdin_ready) = (ready(master_at), ready(stdin_at));
            drop(fds);

            // Signals first: a resize is applied before the input typed after it.
            if let Some(code) = self.signals(&sfd, &mut on_signal)? {
                self.drain(&mut out, &mut buf);
                return Ok(code);
            }
            if master_ready {
                master_open = self.copy_out(&mut out, &mut buf);
                if !master_open {
                    pending.clear();
                } else if !pending.is_empty() {
                    self.feed(&mut pending);
                }
            }
            if stdin_ready {
                match nix::unistd::read(&stdin, &mut buf) {
                    Ok(0) => stdin_open = false,
                    Ok(n) => {
                        pending.extend_from_slice(&buf[..n]);
                        self.feed(&mut pending);
                    }
                    Err(Errno::EAGAIN) | Err(Errno::EINTR) => {}
                    Err(_) => stdin_open = false,
                }
            }
        }
    }

    /// Handle the signals that arrived: SIGWINCH resizes, the rest go to `on_signal`,
    /// which may report the exit code.
    fn signals(
        &self,
        sfd: &SignalFd,
        on_signal: &mut impl FnMut(i32) -> Option<i32>,
    ) -> Result<Option<i32>> {
        loop {
            match sfd.read_signal() {
                Ok(Some(si)) => {
                    let sig = si.ssi_signo as i32;
                    if sig == libc::SIGWINCH {
                        self.resize();
                    } else if let Some(code) = on_signal(sig) {
                        return Ok(Some(code));
                    }
                }
                Ok(None) => return Ok(None),
                Err(Errno::EINTR) => continue,
                Err(e) => bail!("console: read signalfd: {}", errno_text(e)),
            }
        }
    }

    /// Copy what the container wrote to our stdout; false once the master is closed.
    fn copy_out(&self, out: &mut Output, buf: &mut [u8]) -> bool {
        match nix::unistd::read(&self.master, buf) {
            // Every slave fd is closed: nothing more will come out.
            Ok(0) | Err(Errno::EIO) => false,
            Ok(n) => {
                out.write(&buf[..n]);
                true
            }
            Err(Errno::EAGAIN) | Err(Errno::EINTR) => true,
            Err(e) => {
                logging::debug(&format!("console: read master: {}", errno_text(e)));
                false
            }
        }
    }

    /// Write as much of `pending` to the master as it takes now.
    fn feed(&self, pending: &mut Vec<u8>) {
        match nix::unistd::write(&self.master, pending) {
            Ok(n) => {
                pending.drain(..n);
            }
            Err(Errno::EAGAIN) | Err(Errno::EINTR) => {}
            // The container side is gone; its input goes nowhere.
            Err(_) => pending.clear(),
        }
    }

    /// After the init exited: pass on what the container wrote last, until the pty
    /// reports that every slave is closed, or stays quiet for a moment (an orphan may
    /// still hold the slave when the container had no PID namespace of its own).
    fn drain(&self, out: &mut Output, buf: &mut [u8]) {
        let deadline = Instant::now() + Duration::from_secs(2);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return;
            }
            let ms = u16::try_from(left.as_millis().min(200)).unwrap_or(200);
            let mut fds = [PollFd::new(self.master.as_fd(), PollFlags::POLLIN)];
            match poll(&mut fds, PollTimeout::from(ms)) {
                Ok(0) => return,
                Err(Errno::EINTR) => continue,
                Err(_) => return,
                Ok(_) => {}
            }
            match nix::unistd::read(&self.master, buf) {
                Ok(0) => return,
                Ok(n) => out.write(&buf[..n]),
                Err(Errno::EAGAIN) | Err(Errno::EINTR) => {}
                Err(_) => return,
            }
        }
    }
}

impl Drop for Terminal {
    fn drop(&mut self) {
        if let Some(saved) = &self.saved {
            let _ = termios::tcsetattr(std::io::stdin().as_fd(), SetArg::TCSANOW, saved);
        }
    }
}

/// Our stdout; once a write fails (the reader went away), output is dropped so the
/// container can go on writing and exit.
#[derive(Default)]
struct Output {
    broken: bool,
}

impl Output {
    fn write(&mut self, data: &[u8]) {
        if self.broken {
            return;
        }
        let mut out = std::io::stdout().lock();
        if out.write_all(data).and_then(|()| out.flush()).is_err() {
            self.broken = true;
        }
    }
}
