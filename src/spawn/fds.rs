//! Which fds a container process gets besides stdio: `--preserve-fds N` and systemd's
//! socket-activation fds (LISTEN_FDS), and closing every other one before execve.

use crate::errors::{describe_io, errno_text};
use crate::linux::sys;
use anyhow::{anyhow, bail, Result};

/// The socket-activation fds systemd passed to us (LISTEN_FDS, when LISTEN_PID is us),
/// which go to the container as runc does.
fn listen_fds() -> u32 {
    match (std::env::var("LISTEN_FDS"), std::env::var("LISTEN_PID")) {
        (Ok(n), Ok(p)) if p.parse() == Ok(std::process::id()) => n.parse::<u32>().unwrap_or(0),
        _ => 0,
    }
}

/// How many fds from 3 on the process gets: LISTEN_FDS plus `--preserve-fds`.
/// Also tells the process about the socket-activation ones.
pub fn passed_fds(preserve: u32, env: &mut Vec<String>) -> u32 {
    let listen = listen_fds();
    if listen > 0 {
        env.retain(|e| !e.starts_with("LISTEN_FDS=") && !e.starts_with("LISTEN_PID="));
        env.push(format!("LISTEN_FDS={listen}"));
        env.push("LISTEN_PID=1".to_string());
    }
    listen + preserve
}

/// Check, before berth opens any file of its own, that every fd to be passed is open:
/// otherwise one of our fds would take its number and leak into the container.
pub fn check_passed_fds(preserve: u32) -> Result<()> {
    for fd in 3..3 + listen_fds() + preserve {
        if nix::fcntl::fcntl(sys::borrow_fd(fd as i32), nix::fcntl::FcntlArg::F_GETFD).is_err() {
            bail!("--preserve-fds {preserve}: fd {fd} is not open");
        }
    }
    Ok(())
}

/// In berth itself, before it runs anything: no fd of the caller's beyond stdio may reach
/// a program berth execs (hooks, `ps`). Fds to pass to a container's process are still
/// inherited by its clone, whose `keep_only_passed` un-marks them.
pub fn close_on_exec_from_3() -> Result<()> {
    sys::cloexec_from(3).map_err(|e| anyhow!("close fds: {}", describe_io(&e)))
}

/// Before berth re-executes itself after `close_on_exec_from_3`: the fds it is to pass
/// (LISTEN_FDS and `--preserve-fds`) lose close-on-exec, so the new image still has them.
pub fn keep_passed_across_exec(preserve: u32) -> Result<()> {
    inheritable(listen_fds() + preserve)
}

/// In the child, last thing before execve: every fd from 3 on is closed on exec except
/// the `n` passed ones, which lose close-on-exec. No fd of berth's or of its caller beyond
/// those reaches the container.
pub fn keep_only_passed(n: u32) -> Result<()> {
    sys::cloexec_from(3 + n).map_err(|e| anyhow!("close fds: {}", describe_io(&e)))?;
    inheritable(n)
}

/// Fds 3..3+n lose close-on-exec.
fn inheritable(n: u32) -> Result<()> {
    for fd in 3..3 + n as i32 {
        nix::fcntl::fcntl(
            sys::borrow_fd(fd),
            nix::fcntl::FcntlArg::F_SETFD(nix::fcntl::FdFlag::empty()),
        )
        .map_err(|e| anyhow!("--preserve-fds: fd {fd}: {}", errno_text(e)))?;
    }
    Ok(())
}
