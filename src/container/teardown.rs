//! The one way a container leaves the host: its processes, its cgroup and its state
//! directory, in that order. `delete`, `run` and a failed `create` all end here.

use super::state::{process_alive, State};
use crate::cgroups::{self, Cgroup};
use crate::errors::{describe_io, errno_text};
use crate::linux::sys;
use anyhow::{anyhow, bail, Result};
use std::os::fd::AsFd;
use std::path::Path;
use std::time::{Duration, Instant};

/// How long processes get to die of SIGKILL (a frozen or D-state process takes a while).
const KILL_WAIT: Duration = Duration::from_secs(10);

/// What a container may have left on the host.
pub struct Remains<'a> {
    pub dir: &'a Path,
    pub cgroup: Option<&'a Cgroup>,
    /// The init (pid, start time), when it may still run.
    pub init: Option<(i32, u64)>,
    /// The init has its own PID namespace: killing it kills every other process there.
    pub own_pid_ns: bool,
}

impl<'a> Remains<'a> {
    pub fn of(st: &'a State, dir: &'a Path) -> Remains<'a> {
        Remains {
            dir,
            cgroup: st.cgroup.as_ref(),
            init: Some((st.pid, st.pid_start)),
            own_pid_ns: st.own_pid_ns,
        }
    }

    /// Kill every process, wait until they are gone, remove the cgroup and the state
    /// directory. Stops at the first failure, so that what is left can still be found.
    pub fn destroy(&self) -> Result<()> {
        if let Some((pid, start)) = self.init {
            if process_alive(pid, start) {
                signal_all(self.cgroup, pid, self.own_pid_ns, libc::SIGKILL)?;
                if !wait_gone(pid, start, KILL_WAIT) {
                    bail!("container init {pid} did not die after SIGKILL");
                }
            }
        }
        // After the init: processes outside its PID namespace (or none) may still be there.
        if let Some(cg) = self.cgroup {
            remove_cgroup(cg)?;
        }
        match std::fs::remove_dir_all(self.dir) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(anyhow!(
                "cannot remove {}: {}",
                self.dir.display(),
                describe_io(&e)
            )),
            _ => Ok(()),
        }
    }
}

/// Every process of a container: those in its cgroup; without one, the init and those
/// that share its PID namespace.
pub fn signal_all(cg: Option<&Cgroup>, init: i32, own_pid_ns: bool, sig: i32) -> Result<()> {
    if let Some(cg) = cg {
        return cgroups::kill::signal_all(cg, sig);
    }
    for pid in pids_without_cgroup(init, own_pid_ns) {
        // A process that exited meanwhile is no error.
        let _ = sys::kill_raw(pid, sig);
    }
    Ok(())
}

/// The processes of a container without a cgroup (state from before cgroups, or a
/// config that turned them off): its init and whoever shares the init's PID namespace.
pub fn pids_without_cgroup(init: i32, own_pid_ns: bool) -> Vec<i32> {
    let mut out = vec![init];
    if !own_pid_ns {
        return out;
    }
    let Ok(ns) = std::fs::read_link(format!("/proc/{init}/ns/pid")) else {
        return out;
    };
    let Ok(rd) = std::fs::read_dir("/proc") else {
        return out;
    };
    for e in rd.flatten() {
        let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<i32>().ok()) else {
            continue;
        };
        let theirs = std::fs::read_link(format!("/proc/{pid}/ns/pid"));
        if pid != init && theirs.ok().as_ref() == Some(&ns) {
            out.push(pid);
        }
    }
    out
}

/// Wait until the init is gone (or a zombie), up to `timeout`.
pub fn wait_gone(pid: i32, start: u64, timeout: Duration) -> bool {
    let deadline = Instant::now() + timeout;
    if let Ok(pidfd) = sys::pidfd_open(pid) {
        if process_alive(pid, start) {
            let mut fds = [nix::poll::PollFd::new(
                pidfd.as_fd(),
                nix::poll::PollFlags::POLLIN,
            )];
            let ms = u16::try_from(timeout.as_millis()).unwrap_or(u16::MAX);
            if let Err(e) = nix::poll::poll(&mut fds, nix::poll::PollTimeout::from(ms)) {
                crate::logging::debug(&format!("poll pidfd of {pid}: {}", errno_text(e)));
            }
        }
    }
    // A pidfd reports exit, but a zombie that nobody reaps still has its /proc entry.
    while Instant::now() < deadline {
        if !process_alive(pid, start) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    !process_alive(pid, start)
}

/// Kill whatever is left in the cgroup and remove it. A cgroup berth did not make (one
/// that a caller made, maybe shared with another container) is left alone: its other
/// processes are not ours to kill.
pub fn remove_cgroup(cg: &Cgroup) -> Result<()> {
    let cg = &cg.own();
    let unit = cg.systemd.as_ref().is_some_and(|u| u.started);
    if !unit && cg.dirs.iter().all(|d| d.made.is_none()) {
        return Ok(());
    }
    if !cgroups::kill::pids(cg).is_empty() {
        cgroups::kill::signal_all(cg, libc::SIGKILL)?;
        if !cgroups::kill::wait_empty(cg, KILL_WAIT) {
            bail!("processes of the container survived SIGKILL");
        }
    }
    cgroups::systemd::stop(cg)?;
    cgroups::remove::remove(cg)
}
