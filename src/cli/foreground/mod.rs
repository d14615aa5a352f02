//! `run` and `exec` in the foreground: block signals before the process exists, then
//! forward every signal to it, reap, and end with its exit code (128+N when signal N
//! killed it), through the pty proxy when it has a terminal.

pub mod terminal;

use crate::linux::signal;
use anyhow::Result;
use nix::sys::signal::{SigSet, SigmaskHow};
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::Pid;
use terminal::Terminal;

/// Whom we reap while we wait.
#[derive(Clone, Copy)]
pub enum Reap {
    /// `exec`: only the process we started.
    Process,
    /// `run`: the init and every orphan that comes back to us as subreaper.
    Orphans,
}

/// Block every signal until `restore`: from before the process exists, so none meant
/// for it is lost (or kills us) before the wait. Returns the mask to give back (and to
/// start the process with: a mask survives execve).
pub fn block_signals(block: bool) -> Result<SigSet> {
    let mut old = SigSet::empty();
    let set = if block {
        SigSet::all()
    } else {
        SigSet::empty()
    };
    nix::sys::signal::sigprocmask(SigmaskHow::SIG_BLOCK, Some(&set), Some(&mut old))?;
    Ok(old)
}

pub fn restore_signals(old: &SigSet) -> Result<()> {
    nix::sys::signal::sigprocmask(SigmaskHow::SIG_SETMASK, Some(old), None)?;
    Ok(())
}

/// Wait for `pid` (our child) to exit while forwarding signals to it; with a terminal,
/// proxy it meanwhile. `who` names the command in logs.
pub fn wait(pid: i32, tty: Option<&Terminal>, reap: Reap, who: &str) -> Result<i32> {
    let on_signal = |sig: i32| {
        if sig == libc::SIGCHLD {
            reap_child(pid, reap)
        } else {
            signal::forward(who, pid, sig);
            None
        }
    };
    if let Some(tty) = tty {
        return tty.proxy(on_signal);
    }
    let set = SigSet::all();
    loop {
        let sig = set.wait()?;
        if let Some(code) = on_signal(sig as i32) {
            return Ok(code);
        }
    }
}

/// After SIGCHLD: the exit code once `pid` is gone, None while it runs.
fn reap_child(pid: i32, reap: Reap) -> Option<i32> {
    let target = match reap {
        Reap::Process => Some(Pid::from_raw(pid)),
        Reap::Orphans => None,
    };
    loop {
        match waitpid(target, Some(WaitPidFlag::WNOHANG)) {
            Ok(WaitStatus::Exited(p, c)) if p.as_raw() == pid => return Some(c),
            Ok(WaitStatus::Signaled(p, s, _)) if p.as_raw() == pid => return Some(128 + s as i32),
            // Our only child is gone without a status we could read: nothing left to
            // wait for.
            Err(nix::errno::Errno::ECHILD) if matches!(reap, Reap::Process) => return Some(255),
            Ok(WaitStatus::StillAlive) | Err(_) => return None,
            // An orphan: keep reaping.
            Ok(_) if matches!(reap, Reap::Orphans) => continue,
            Ok(_) => return None,
        }
    }
}

/// Put the caller's terminal in raw mode and hand it the pty master (None: no terminal).
pub fn attach(master: Option<std::os::fd::OwnedFd>) -> Result<Option<Terminal>> {
    master.map(Terminal::attach).transpose()
}
