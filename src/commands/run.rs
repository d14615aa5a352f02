//! `berth run`: create and start a container, then (unless detached) forward signals to
//! its init, reap, and exit with its exit code (128+N when killed by signal N).

use crate::cli::RunArgs;
use crate::container;
use crate::state::ContainerDir;
use crate::{logging, sys};
use anyhow::{anyhow, Result};
use nix::sys::signal::{SigSet, SigmaskHow, Signal};
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::Pid;
use std::path::Path;

pub fn run(root: &Path, a: &RunArgs) -> Result<i32> {
    if !a.detach && !a.no_subreaper {
        // Orphans inside a container without its own PID namespace come back to us.
        sys::set_child_subreaper().map_err(|e| anyhow!("set subreaper: {e}"))?;
    }
    let created = super::create::create(root, &a.common)?;
    let id = created.dir.id.clone();
    let pid = created.state.pid;
    // Block signals before the process starts, so none is lost between start and the wait.
    let mut old = SigSet::empty();
    if !a.detach {
        nix::sys::signal::sigprocmask(SigmaskHow::SIG_BLOCK, Some(&SigSet::all()), Some(&mut old))?;
    }
    if let Err(e) = container::start(&created.dir, &created.state) {
        let _ = nix::sys::signal::kill(Pid::from_raw(pid), Signal::SIGKILL);
        let _ = waitpid(Pid::from_raw(pid), None);
        let _ = created.dir.remove();
        return Err(e);
    }
    // Other commands (kill, state) must be able to take the lock while we wait.
    drop(created.dir);
    if a.detach {
        return Ok(0);
    }
    let code = wait_forwarding(pid)?;
    nix::sys::signal::sigprocmask(SigmaskHow::SIG_SETMASK, Some(&old), None)?;
    if !a.keep {
        if let Ok(dir) = ContainerDir::open(root, &id) {
            if let Ok(st) = dir.load() {
                let _ = super::kill::signal_all(&st, libc::SIGKILL);
            }
            if let Err(e) = dir.remove() {
                logging::warn(&format!("run: {e:#}"));
            }
        }
    }
    Ok(code)
}

/// Wait for the init to exit; forward every other signal to it; reap orphans.
fn wait_forwarding(init: i32) -> Result<i32> {
    let set = SigSet::all();
    loop {
        let sig = set.wait()?;
        if sig != Signal::SIGCHLD {
            if sig != Signal::SIGURG {
                logging::debug(&format!(
                    "run: forwarding {} to {init}",
                    crate::signal::signal_name(sig as i32).unwrap_or("signal")
                ));
                let _ = sys::kill_raw(init, sig as i32);
            }
            continue;
        }
        loop {
            match waitpid(None, Some(WaitPidFlag::WNOHANG)) {
                Ok(WaitStatus::Exited(p, c)) if p.as_raw() == init => return Ok(c),
                Ok(WaitStatus::Signaled(p, s, _)) if p.as_raw() == init => {
                    return Ok(128 + s as i32)
                }
                Ok(WaitStatus::StillAlive) | Err(_) => break,
                Ok(_) => continue,
            }
        }
    }
}
