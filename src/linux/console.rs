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
//!   run: after Ready, receive the master
//!   (cli::foreground::terminal proxies it)
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
use nix::fcntl::OFlag;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::fs::FileTypeExt;
use std::os::unix::net::UnixStream;
use std::path::Path;

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

/// Bind the slave onto /dev/console, as the container's console. The target is made, or
/// found, in the container's /dev without following a symlink: the image or a volume
/// could otherwise point it at a file under /proc, and the pty would cover that file
/// before the masked and read-only paths are applied.
fn mount_console(slave_path: &str) -> Result<()> {
    let target = console_target()?;
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

/// An O_PATH handle of /dev/console: a regular file (made empty if missing) or a
/// device node (an image's, or the host's with /dev bound from the host). Anything
/// else, a symlink above all, is refused.
fn console_target() -> Result<OwnedFd> {
    let fail = |what: &str, e: nix::errno::Errno| {
        anyhow!("process.terminal: {what} /dev/console: {}", errno_text(e))
    };
    let root =
        paths::open_root().map_err(|e| anyhow!("process.terminal: open /: {}", describe_io(&e)))?;
    let dev = sys::openat2(
        root.as_fd(),
        c"dev",
        (libc::O_PATH | libc::O_DIRECTORY | libc::O_CLOEXEC) as u64,
        0,
        libc::RESOLVE_IN_ROOT | libc::RESOLVE_NO_SYMLINKS,
    )
    .map_err(|e| anyhow!("process.terminal: open /dev: {}", describe_io(&e)))?;
    let mode = nix::sys::stat::Mode::from_bits_truncate(0o644);
    let excl = OFlag::O_CREAT | OFlag::O_EXCL | OFlag::O_WRONLY | OFlag::O_NOFOLLOW;
    match nix::fcntl::openat(dev.as_fd(), "console", excl | OFlag::O_CLOEXEC, mode) {
        Ok(_) | Err(nix::errno::Errno::EEXIST) => {}
        Err(e) => return Err(fail("create", e)),
    }
    let target = nix::fcntl::openat(
        dev.as_fd(),
        "console",
        OFlag::O_PATH | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
        nix::sys::stat::Mode::empty(),
    )
    .map_err(|e| fail("open", e))?;
    let st = nix::sys::stat::fstat(target.as_fd()).map_err(|e| fail("stat", e))?;
    match st.st_mode & libc::S_IFMT {
        libc::S_IFREG | libc::S_IFCHR => Ok(target),
        libc::S_IFLNK => bail!("process.terminal: /dev/console is a symlink; refusing to mount the console through it"),
        _ => bail!("process.terminal: /dev/console is neither a file nor a device; refusing to mount the console on it"),
    }
}

fn send_master(sock: &OwnedFd, master: std::os::fd::BorrowedFd) -> Result<()> {
    crate::linux::sys::send_with_fd(sock.as_fd(), MASTER_NAME, master).map_err(|e| {
        anyhow!(
            "--console-socket: send the pty master: {}",
            crate::errors::describe_io(&e)
        )
    })
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
