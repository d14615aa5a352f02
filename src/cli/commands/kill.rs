//! `berth kill`: send a signal to the init (or, with --all, to every container process).

use crate::cli::KillArgs;
use crate::container::state::{ContainerDir, State, Status};
use crate::errors::errno_text;
use crate::linux::signal::parse_signal;
use anyhow::{anyhow, bail, Result};
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use std::path::Path;

pub fn run(root: &Path, a: &KillArgs) -> Result<()> {
    let sig = parse_signal(&a.signal)?;
    let dir = ContainerDir::open(root, &a.id)?;
    let st = dir.load()?;
    let status = dir.status(&st);
    if status == Status::Stopped {
        bail!("container {:?} is not running", a.id);
    }
    if a.all {
        return signal_all(&st, sig);
    }
    send(st.pid, sig)?;
    // A frozen v1 process only dies once thawed; runc thaws for SIGKILL too.
    if status == Status::Paused && sig == libc::SIGKILL {
        if let Some(cg) = &st.cgroup {
            crate::cgroups::freezer::thaw(cg)?;
        }
    }
    Ok(())
}

fn send(pid: i32, sig: i32) -> Result<()> {
    let s = Signal::try_from(sig).ok();
    let res = match s {
        Some(s) => kill(Pid::from_raw(pid), s),
        // Real-time signals have no nix::Signal; go through libc's number directly.
        None => nix::errno::Errno::result(crate::linux::sys::kill_raw(pid, sig)).map(drop),
    };
    res.map_err(|e| anyhow!("kill {pid}: {}", errno_text(e)))
}

/// Every process of the container: those in its cgroup; without one (state from before
/// cgroups), those that share the init's PID namespace.
pub fn signal_all(st: &State, sig: i32) -> Result<()> {
    if let Some(cg) = &st.cgroup {
        return crate::cgroups::kill::signal_all(cg, sig);
    }
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
