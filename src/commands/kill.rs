//! `berth kill`: send a signal to the init (or, with --all, to every container process).

use crate::cli::KillArgs;
use crate::errors::errno_text;
use crate::signal::parse_signal;
use crate::state::{ContainerDir, State, Status};
use anyhow::{anyhow, bail, Result};
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use std::path::Path;

pub fn run(root: &Path, a: &KillArgs) -> Result<()> {
    let sig = parse_signal(&a.signal)?;
    let dir = ContainerDir::open(root, &a.id)?;
    let st = dir.load()?;
    if dir.status(&st) == Status::Stopped {
        bail!("container {:?} is not running", a.id);
    }
    if a.all {
        signal_all(&st, sig)
    } else {
        send(st.pid, sig)
    }
}

fn send(pid: i32, sig: i32) -> Result<()> {
    let s = Signal::try_from(sig).ok();
    let res = match s {
        Some(s) => kill(Pid::from_raw(pid), s),
        // Real-time signals have no nix::Signal; go through libc's number directly.
        None => nix::errno::Errno::result(crate::sys::kill_raw(pid, sig)).map(drop),
    };
    res.map_err(|e| anyhow!("kill {pid}: {}", errno_text(e)))
}

/// Every process that shares the init's PID namespace (the container's processes).
/// Without a PID namespace of its own only the init can be told apart.
pub fn signal_all(st: &State, sig: i32) -> Result<()> {
    let pids = container_pids(st);
    for pid in pids {
        let _ = send(pid, sig);
    }
    Ok(())
}

pub fn container_pids(st: &State) -> Vec<i32> {
    if !st.own_pid_ns {
        return vec![st.pid];
    }
    let Ok(ns) = std::fs::read_link(format!("/proc/{}/ns/pid", st.pid)) else {
        return vec![st.pid];
    };
    let mut out = vec![st.pid];
    if let Ok(rd) = std::fs::read_dir("/proc") {
        for e in rd.flatten() {
            let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<i32>().ok()) else {
                continue;
            };
            if pid != st.pid
                && std::fs::read_link(format!("/proc/{pid}/ns/pid"))
                    .ok()
                    .as_ref()
                    == Some(&ns)
            {
                out.push(pid);
            }
        }
    }
    out
}
