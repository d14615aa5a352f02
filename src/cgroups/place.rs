//! Putting the init into its cgroup as it is born. Moving another process between cgroups
//! takes the kernel's global threadgroup lock, which costs an RCU grace period (~10 ms on
//! this machine); a single-threaded process moving itself does not. So `create` steps
//! into the container's v1 cgroups itself (writing 0 to `tasks`), clones the init there,
//! and steps back out; into the v2 one it is born (clone3's CLONE_INTO_CGROUP), unless
//! the directory was there before (`join_v2`). A rootless
//! user who may join the container's v1 cgroups but not go back to its own (which
//! root owns) moves the child there after the clone instead, before it proceeds.

use super::mode::CgroupHost;
use super::path::{dir_in, Where};
use super::{write_file, Cgroup};
use crate::errors::describe_io;
use crate::linux::procfs;
use anyhow::{anyhow, Result};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::PathBuf;

/// Where the parent stands while it clones, and how it gets back: dropping it steps out,
/// so no early return can leave `create` inside the container's cgroup.
pub struct Birth {
    /// The `tasks` files of the parent's own v1 cgroups.
    back: Vec<PathBuf>,
    /// The container's v2 directory, for CLONE_INTO_CGROUP.
    v2: Option<OwnedFd>,
    /// The container's v1 directories we did not step into: the child goes there after.
    later: Vec<PathBuf>,
}

impl Birth {
    pub fn v2_fd(&self) -> Option<BorrowedFd<'_>> {
        self.v2.as_ref().map(|f| f.as_fd())
    }

    /// The container's v2 directory, for a child that joins it itself (`join_v2`)
    /// instead of being born there.
    pub fn take_v2(&mut self) -> Option<OwnedFd> {
        self.v2.take()
    }

    /// Return to the parent's own cgroups, and move `child` (when it was cloned) into
    /// the cgroups we did not step into.
    pub fn step_out(mut self, child: Option<i32>) -> Result<()> {
        for t in std::mem::take(&mut self.back) {
            write_file(&t, "0")
                .map_err(|e| anyhow!("cgroup: return to {}: {}", t.display(), describe_io(&e)))?;
        }
        let Some(pid) = child else { return Ok(()) };
        for d in std::mem::take(&mut self.later) {
            write_file(&d.join("cgroup.procs"), &pid.to_string())
                .map_err(|e| anyhow!("cgroup: join {}: {}", d.display(), describe_io(&e)))?;
        }
        Ok(())
    }

    /// In the init: stay where we were born.
    pub fn stay(mut self) {
        self.back.clear();
    }
}

impl Drop for Birth {
    fn drop(&mut self) {
        for t in &self.back {
            if let Err(e) = write_file(t, "0") {
                crate::logging::warn(&format!(
                    "cgroup: return to {}: {}",
                    t.display(),
                    crate::errors::describe_io(&e)
                ));
            }
        }
    }
}

/// Step into the container's v1 cgroups. Only from a single-threaded process, which
/// berth is until the clone.
pub fn step_in(cg: &Cgroup, host: &CgroupHost) -> Result<Birth> {
    let proc_cgroup = procfs::own_cgroup_lines();
    let mut birth = Birth {
        back: Vec::new(),
        v2: None,
        later: Vec::new(),
    };
    // Directories systemd makes only once it starts the unit (with the init in it).
    let started = cg.systemd.as_ref().is_some_and(|u| u.started);
    let ready = |d: &&super::Dir| !d.systemd || started;
    for h in host.v1.iter().chain(&host.named) {
        let Some(d) = cg
            .dirs
            .iter()
            .filter(ready)
            .find(|d| d.controllers == h.controllers)
        else {
            continue;
        };
        let own = dir_in(h, &proc_cgroup, &Where::UnderOwn(PathBuf::new()));
        let back = own.join("tasks");
        if !nix::unistd::geteuid().is_root()
            && nix::unistd::access(&back, nix::unistd::AccessFlags::W_OK).is_err()
        {
            birth.later.push(d.path.clone());
            continue;
        }
        birth.back.push(back);
        let tasks = d.path.join("tasks");
        if let Err(e) = write_file(&tasks, "0") {
            return Err(anyhow!(
                "cgroup: join {}: {}",
                d.path.display(),
                describe_io(&e)
            ));
        }
    }
    let v2 = cg
        .dirs
        .iter()
        .filter(ready)
        .find(|d| d.controllers.is_empty());
    if let Some(v2) = v2.map(|d| d.path.as_path()) {
        let f = std::fs::File::open(v2)
            .map_err(|e| anyhow!("cgroup: open {}: {}", v2.display(), describe_io(&e)))?;
        birth.v2 = Some(f.into());
    }
    Ok(birth)
}

/// In a child just cloned: move itself into the v2 directory `dir`, for a directory that
/// was there before `create`. This kernel (6.18) kills a child born with CLONE_INTO_CGROUP
/// at once when the cgroup it is born into and its parent's have been through cgroup.kill
/// a different number of times, as a directory an earlier container's `delete -f` killed
/// has. A write to cgroup.procs takes the kernel's global threadgroup lock (a grace
/// period, milliseconds), so directories berth makes keep CLONE_INTO_CGROUP. Left: a
/// caller whose own cgroup was once killed (integration test ignored, see there).
pub fn join_v2(dir: BorrowedFd) -> Result<()> {
    let f = nix::fcntl::openat(
        dir,
        "cgroup.procs",
        nix::fcntl::OFlag::O_WRONLY | nix::fcntl::OFlag::O_CLOEXEC,
        nix::sys::stat::Mode::empty(),
    )
    .map_err(|e| {
        anyhow!(
            "cgroup: join: open cgroup.procs: {}",
            crate::errors::errno_text(e)
        )
    })?;
    nix::unistd::write(&f, b"0")
        .map_err(|e| anyhow!("cgroup: join: {}", crate::errors::errno_text(e)))?;
    Ok(())
}

/// For kernels without CLONE_INTO_CGROUP: move the init into the v2 directory afterwards.
pub fn enter_v2(cg: &Cgroup, pid: i32) -> Result<()> {
    if let Some(v2) = cg.v2() {
        write_file(&v2.join("cgroup.procs"), &pid.to_string()).map_err(|e| {
            anyhow!(
                "cgroup: move init into {}: {}",
                v2.display(),
                describe_io(&e)
            )
        })?;
    }
    Ok(())
}
