//! `berth run`: create and start a container, then (unless detached) forward signals to
//! its init, reap, and exit with its exit code (128+N when killed by signal N).
//! With `process.terminal` in the foreground it also drives the container's pty.

use crate::cli::RunArgs;
use crate::container;
use crate::container::state::ContainerDir;
use crate::linux::console;
use crate::linux::sys;
use crate::logging;
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
    let mut created = super::create::create(root, &a.common, a.detach)?;
    let id = created.dir.id.clone();
    let pid = created.state.pid;
    // Block signals before the process starts, so none is lost between start and the wait.
    let mut old = SigSet::empty();
    if !a.detach {
        nix::sys::signal::sigprocmask(SigmaskHow::SIG_BLOCK, Some(&SigSet::all()), Some(&mut old))?;
    }
    // Raw mode before the process runs, so nothing typed is echoed or edited twice.
    let started = created
        .master
        .take()
        .map(console::Terminal::attach)
        .transpose()
        .and_then(|tty| container::start(&created.dir, &created.state).map(|()| tty));
    let tty = match started {
        Ok(tty) => tty,
        Err(e) => {
            let _ = nix::sys::signal::kill(Pid::from_raw(pid), Signal::SIGKILL);
            let _ = waitpid(Pid::from_raw(pid), None);
            if let Some(cg) = &created.state.cgroup {
                let _ = container::remove_cgroup(cg);
            }
            let _ = created.dir.remove();
            return Err(e);
        }
    };
    // Other commands (kill, state) must be able to take the lock while we wait.
    drop(created.dir);
    if a.detach {
        return Ok(0);
    }
    let code = match &tty {
        Some(tty) => tty.proxy(|sig| on_signal(pid, sig))?,
        None => wait_forwarding(pid)?,
    };
    // Give the caller's terminal back before anything else is printed.
    drop(tty);
    nix::sys::signal::sigprocmask(SigmaskHow::SIG_SETMASK, Some(&old), None)?;
    if !a.keep {
        if let Ok(dir) = ContainerDir::open(root, &id) {
            let st = dir.load().ok();
            if let Some(st) = &st {
                let _ = super::kill::signal_all(st, libc::SIGKILL);
                if let Some(cg) = &st.cgroup {
                    if let Err(e) = container::remove_cgroup(cg) {
                        logging::warn(&format!("run: {e:#}"));
                    }
                }
            }
            if let Err(e) = dir.remove() {
                logging::warn(&format!("run: {e:#}"));
            }
            if let Some(st) = &st {
                container::poststop(st);
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
        if let Some(code) = on_signal(init, sig as i32) {
            return Ok(code);
        }
    }
}

/// One signal for `run`: SIGCHLD reaps (the init and orphans) and yields the init's exit
/// code once it is gone; SIGURG (runtime noise) is dropped; anything else goes to the init.
fn on_signal(init: i32, sig: i32) -> Option<i32> {
    if sig != libc::SIGCHLD {
        crate::linux::signal::forward("run", init, sig);
        return None;
    }
    loop {
        match waitpid(None, Some(WaitPidFlag::WNOHANG)) {
            Ok(WaitStatus::Exited(p, c)) if p.as_raw() == init => return Some(c),
            Ok(WaitStatus::Signaled(p, s, _)) if p.as_raw() == init => return Some(128 + s as i32),
            Ok(WaitStatus::StillAlive) | Err(_) => return None,
            Ok(_) => continue,
        }
    }
}
