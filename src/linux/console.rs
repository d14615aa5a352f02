//! Terminals for `process.terminal` containers: the init's pty, and how its master
//! reaches whoever drives it (the caller's `--console-socket`, or `berth run` itself).
//!
//! ```text
//!   parent (create / run)                       init (after pivot_root, session leader)
//!   ─────────────────────                       ───────────────────────────────────────
//!   connect --console-socket                    open /dev/ptmx (→ the container's pts/ptmx),
//!     (or run: a socketpair)                    unlock, open the slave, consoleSize,
//!   clone ───── socket fd inherited ──────────▶ bind the slave onto /dev/console,
//!   close its copy                              send the master (SCM_RIGHTS, "/dev/ptmx"),
//!                                               close the socket and the master,
//!                                               slave → fd 0,1,2, TIOCSCTTY
//!   run: after Ready, receive the master,
//!   stdin raw, proxy stdin→master→stdout, SIGWINCH → resize the pty
//! ```
//!
//! The socket is connected by the parent because its path is on the host: the init
//! can no longer see it after pivot_root. The message carries one fd and the name
//! "/dev/ptmx" as payload, which is what runc sends and what recvtty and containerd's
//! go-runc console socket read.

use crate::errors::{describe_io, errno_text};
use crate::linux::rootfs::paths;
use crate::linux::sys;
use crate::logging;
use crate::spec::ProcessPlan;
use anyhow::{anyhow, bail, Result};
use nix::errno::Errno;
use nix::fcntl::OFlag;
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::signal::SigSet;
use nix::sys::signalfd::{SfdFlags, SignalFd};
use nix::sys::termios::{self, SetArg, Termios};
use std::io::Write;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::fs::FileTypeExt;
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::{Duration, Instant};

/// The payload sent with the master fd, as runc sends it (the master's file name).
const MASTER_NAME: &[u8] = b"/dev/ptmx";

/// The console sockets of one `create`.
pub struct Sockets {
    /// Inherited by the init, which sends the pty master on it and closes it.
    pub init: Option<OwnedFd>,
    /// `run` in the foreground only: where the parent receives the master.
    pub receive: Option<OwnedFd>,
}

/// Check `process.terminal` against `--console-socket` as runc does, and make the socket
/// the init will send the master on. `detach` is true for `create` and `run -d`.
pub fn prepare(terminal: bool, socket: Option<&Path>, detach: bool) -> Result<Sockets> {
    match (terminal, socket) {
        (false, None) => Ok(Sockets {
            init: None,
            receive: None,
        }),
        (true, None) if detach => bail!(
            "process.terminal: cannot allocate tty if berth will detach without setting console socket (--console-socket)"
        ),
        (true, None) => {
            let (receive, init) = UnixStream::pair()
                .map_err(|e| anyhow!("console: socketpair: {}", describe_io(&e)))?;
            Ok(Sockets {
                init: Some(init.into()),
                receive: Some(receive.into()),
            })
        }
        (true, Some(path)) if detach => Ok(Sockets {
            init: Some(connect(path)?),
            receive: None,
        }),
        (_, Some(_)) => bail!(
            "--console-socket: cannot use console socket if berth will not detach or allocate tty"
        ),
    }
}

fn connect(path: &Path) -> Result<OwnedFd> {
    let what = || format!("--console-socket {}", path.display());
    let md = std::fs::metadata(path).map_err(|e| anyhow!("{}: {}", what(), describe_io(&e)))?;
    if !md.file_type().is_socket() {
        bail!("{}: not a socket", what());
    }
    let s = UnixStream::connect(path)
        .map_err(|e| anyhow!("{}: connect: {}", what(), describe_io(&e)))?;
    Ok(s.into())
}

/// Parent side of `run`: the master the init sent before it reported Ready.
pub fn receive_master(sock: &OwnedFd) -> Result<OwnedFd> {
    let (fd, _name) = sys::recv_fd(sock.as_fd())
        .map_err(|e| anyhow!("console: receive the pty master: {}", describe_io(&e)))?;
    Ok(fd)
}

/// Init side, after pivot_root and setsid: make a pty on the container's own devpts,
/// send its master out on `sock`, and make the slave our stdio and controlling terminal.
pub fn setup_in_init(p: &ProcessPlan, sock: OwnedFd) -> Result<()> {
    let _t = logging::step("init: console");
    setup_pty(p, sock, true)
}

/// The same for a process `exec` starts: a pty of its own, and /dev/console stays the
/// init's.
pub fn setup_in_exec(p: &ProcessPlan, sock: OwnedFd) -> Result<()> {
    setup_pty(p, sock, false)
}

fn setup_pty(p: &ProcessPlan, sock: OwnedFd, console: bool) -> Result<()> {
    // /dev/ptmx is the symlink to pts/ptmx made with /dev, so this is the container's
    // devpts instance: the slave shows up as /dev/pts/N inside the container.
    let master = nix::pty::posix_openpt(OFlag::O_RDWR | OFlag::O_NOCTTY | OFlag::O_CLOEXEC)
        .map_err(|e| anyhow!("process.terminal: open /dev/ptmx: {}", errno_text(e)))?;
    nix::pty::grantpt(&master)
        .and_then(|()| nix::pty::unlockpt(&master))
        .map_err(|e| anyhow!("process.terminal: unlock pty: {}", errno_text(e)))?;
    let slave_path = nix::pty::ptsname_r(&master)
        .map_err(|e| anyhow!("process.terminal: ptsname: {}", errno_text(e)))?;
    let slave = nix::fcntl::open(
        slave_path.as_str(),
        OFlag::O_RDWR | OFlag::O_NOCTTY | OFlag::O_CLOEXEC,
        nix::sys::stat::Mode::empty(),
    )
    .map_err(|e| anyhow!("process.terminal: open {slave_path}: {}", errno_text(e)))?;
    if let Some((rows, cols)) = p.console_size {
        let ws = libc::winsize {
            ws_row: rows,
            ws_col: cols,
            ws_xpixel: 0,
            ws_ypixel: 0,
        };
        sys::set_window_size(slave.as_fd(), &ws)
            .map_err(|e| anyhow!("process.consoleSize: {}", describe_io(&e)))?;
    }
    // The process may run as another user: it must own its terminal to reopen it
    // (/dev/tty, /dev/console). The group stays devpts' gid= (tty), as with runc.
    let st = nix::sys::stat::fstat(slave.as_fd())
        .map_err(|e| anyhow!("process.terminal: stat {slave_path}: {}", errno_text(e)))?;
    if st.st_uid != p.uid {
        nix::unistd::fchown(slave.as_fd(), Some(nix::unistd::Uid::from_raw(p.uid)), None).map_err(
            |e| {
                anyhow!(
                    "process.terminal: chown {slave_path} to {}: {}",
                    p.uid,
                    errno_text(e)
                )
            },
        )?;
    }
    if console {
        mount_console(&slave_path)?;
    }

    send_master(&sock, master.as_fd())?;
    // Only the slave may reach the container process: whoever holds the master
    // controls the terminal.
    drop(sock);
    drop(master);

    let stdio = [
        nix::unistd::dup2_stdin(&slave),
        nix::unistd::dup2_stdout(&slave),
        nix::unistd::dup2_stderr(&slave),
    ];
    for r in stdio {
        r.map_err(|e| anyhow!("process.terminal: dup2 {slave_path}: {}", errno_text(e)))?;
    }
    drop(slave);
    sys::set_controlling_terminal(std::io::stdin().as_fd())
        .map_err(|e| anyhow!("process.terminal: TIOCSCTTY: {}", describe_io(&e)))?;
    Ok(())
}

/// Bind the slave onto /dev/console (an empty file made first), as the container's
/// console; resolved inside the new root like every other mount target.
fn mount_console(slave_path: &str) -> Result<()> {
    let root =
        paths::open_root().map_err(|e| anyhow!("process.terminal: open /: {}", describe_io(&e)))?;
    let target = paths::ensure_file(root.as_fd(), Path::new("/dev/console"))
        .map_err(|e| anyhow!("process.terminal: create /dev/console: {}", describe_io(&e)))?;
    nix::mount::mount(
        Some(slave_path),
        &paths::fd_path(target.as_fd()),
        None::<&str>,
        nix::mount::MsFlags::MS_BIND,
        None::<&str>,
    )
    .map_err(|e| {
        anyhow!(
            "process.terminal: bind {slave_path} onto /dev/console: {}",
            errno_text(e)
        )
    })
}

fn send_master(sock: &OwnedFd, master: std::os::fd::BorrowedFd) -> Result<()> {
    crate::linux::sys::send_with_fd(sock.as_fd(), MASTER_NAME, master).map_err(|e| {
        anyhow!(
            "--console-socket: send the pty master: {}",
            crate::errors::describe_io(&e)
        )
    })
}

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
            if let Some(code) = self.take_signals(&sfd, &mut on_signal)? {
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

    /// Handle the signals that have come: SIGWINCH resizes, the rest go to `on_signal`,
    /// until it reports the container's exit code.
    fn take_signals(
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

    /// Copy what the master has to our stdout; false once it will give no more.
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terminal_and_socket_combinations_match_runc() {
        let sock = Path::new("/nonexistent/console.sock");
        let e = prepare(true, None, true).err().unwrap().to_string();
        assert!(e.contains("cannot allocate tty"), "{e}");
        let e = prepare(false, Some(sock), true).err().unwrap().to_string();
        assert!(
            e.contains("--console-socket") && e.contains("will not detach"),
            "{e}"
        );
        let e = prepare(true, Some(sock), false).err().unwrap().to_string();
        assert!(e.contains("--console-socket"), "{e}");
        let none = prepare(false, None, false).unwrap();
        assert!(none.init.is_none() && none.receive.is_none());
        let pair = prepare(true, None, false).unwrap();
        assert!(pair.init.is_some() && pair.receive.is_some());
    }

    #[test]
    fn console_socket_must_be_a_socket() {
        let e = prepare(true, Some(Path::new("/nonexistent/console.sock")), true)
            .err()
            .unwrap()
            .to_string();
        assert!(
            e.contains("--console-socket /nonexistent/console.sock: no such file"),
            "{e}"
        );
        let e = prepare(true, Some(Path::new("/")), true)
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains("--console-socket /: not a socket"), "{e}");
    }

    #[test]
    fn master_travels_with_its_name() {
        let s = prepare(true, None, false).unwrap();
        let (init, receive) = (s.init.unwrap(), s.receive.unwrap());
        let (r, _w) = nix::unistd::pipe().unwrap();
        send_master(&init, r.as_fd()).unwrap();
        let (fd, name) = sys::recv_fd(receive.as_fd()).unwrap();
        assert_eq!(name, MASTER_NAME);
        let a = nix::sys::stat::fstat(fd.as_fd()).unwrap();
        let b = nix::sys::stat::fstat(r.as_fd()).unwrap();
        assert_eq!((a.st_dev, a.st_ino), (b.st_dev, b.st_ino));
    }
}
