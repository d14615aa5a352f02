//! `berth run`: create and start a container, then (unless detached) wait for its init in
//! the foreground and remove the container once it exited (unless --keep).

use crate::cli::foreground::{self, Reap};
use crate::cli::RunArgs;
use crate::container::Container;
use crate::linux::sys;
use crate::logging;
use anyhow::{anyhow, Result};
use std::path::Path;

pub fn run(root: &Path, rootless: bool, a: &RunArgs, systemd: bool) -> Result<i32> {
    if !a.detach && !a.no_subreaper {
        // Orphans inside a container without its own PID namespace come back to us.
        sys::set_child_subreaper().map_err(|e| anyhow!("set subreaper: {e}"))?;
    }
    let created = super::create::create(root, rootless, &a.common, a.detach, systemd)?;
    let c = created.container;
    let id = c.id().to_string();
    let pid = c.state().pid;
    let old = foreground::block_signals(!a.detach)?;
    // Raw mode before the process runs, so nothing typed is echoed or edited twice.
    let tty = match foreground::attach(created.master).and_then(|tty| c.start().map(|()| tty)) {
        Ok(tty) => tty,
        Err(e) => {
            if let Err(d) = c.destroy(true) {
                logging::warn(&format!("run: clean up: {d:#}"));
            }
            return Err(e);
        }
    };
    // Other commands (kill, state) must be able to take the lock while we wait.
    drop(c);
    if a.detach {
        return Ok(0);
    }
    let code = foreground::wait(pid, tty.as_ref(), Reap::Orphans, "run")?;
    // Give the caller's terminal back before anything else is printed.
    drop(tty);
    foreground::restore_signals(&old)?;
    if !a.keep {
        // Gone already if someone deleted it meanwhile; anything else is worth a word.
        match Container::open(root, &id) {
            Ok(c) => {
                if let Err(e) = c.destroy(true) {
                    logging::warn(&format!("run: {e:#}"));
                }
            }
            Err(e) if crate::errors::kind_of(&e) == Some(crate::errors::Kind::NotFound) => {}
            Err(e) => logging::warn(&format!("run: {e:#}")),
        }
    }
    Ok(code)
}
