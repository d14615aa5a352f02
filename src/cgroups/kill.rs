//! Finding and signalling every process in the container's cgroup (`kill --all`, `ps`,
//! `delete`): cgroup.kill where v2 has it, else freeze, signal each, thaw, so nothing
//! can fork its way out in between.

use super::{freezer, write_file, Cgroup};
use anyhow::Result;
use std::path::Path;
use std::time::{Duration, Instant};

/// Every process of the container, sub-cgroups it made included.
pub fn pids(cg: &Cgroup) -> Vec<i32> {
    let mut out = Vec::new();
    if let Some(dir) = cg.procs_dir() {
        collect(dir, &mut out);
    }
    out.sort_unstable();
    out.dedup();
    out
}

fn collect(dir: &Path, out: &mut Vec<i32>) {
    if let Ok(text) = std::fs::read_to_string(dir.join("cgroup.procs")) {
        out.extend(text.lines().filter_map(|l| l.trim().parse::<i32>().ok()));
    }
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            if e.file_type().is_ok_and(|t| t.is_dir()) {
                collect(&e.path(), out);
            }
        }
    }
}

pub fn signal_all(cg: &Cgroup, sig: i32) -> Result<()> {
    let paused = freezer::is_frozen(cg);
    if sig == libc::SIGKILL {
        if let Some(dir) = cg.v2() {
            // One write kills the whole subtree, forks in flight included (Linux 5.14+).
            if write_file(&dir.join("cgroup.kill"), "1").is_ok() {
                // A v1-frozen process dies only once thawed.
                if paused {
                    freezer::thaw(cg)?;
                }
                return Ok(());
            }
        }
    }
    let froze = !paused && freezer::freeze(cg).is_ok();
    for pid in pids(cg) {
        let _ = crate::linux::sys::kill_raw(pid, sig);
    }
    // A frozen process dies of SIGKILL only once thawed (v1); other signals wait for
    // `resume` in a paused container, as they would with runc.
    if froze || (paused && sig == libc::SIGKILL) {
        freezer::thaw(cg)?;
    }
    Ok(())
}

/// Wait until no process is left in the cgroup.
pub fn wait_empty(cg: &Cgroup, timeout: Duration) -> bool {
    let deadline = Instant::now() + timeout;
    let mut pause = Duration::from_micros(200);
    loop {
        let empty = match cg.v2() {
            Some(d) => std::fs::read_to_string(d.join("cgroup.events"))
                .map(|s| s.lines().any(|l| l == "populated 0"))
                .unwrap_or_else(|_| pids(cg).is_empty()),
            None => pids(cg).is_empty(),
        };
        if empty {
            return true;
        }
        if Instant::now() > deadline {
            return false;
        }
        std::thread::sleep(pause);
        pause = (pause * 2).min(Duration::from_millis(20));
    }
}
