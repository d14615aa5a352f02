//! Mount the cgroup filesystem(s) at a `cgroup`/`cgroup2` mount entry, matching the host:
//! one cgroup2 mount on a unified host; a tmpfs holding each v1 hierarchy (and the v2
//! `unified` one) on legacy and hybrid hosts, as runc lays them out.

use super::paths::{fd_path, mkdir_all, open_in_root};
use super::remount::{remount_bind, without_bind, MountEnv};
use crate::errors::errno_text;
use crate::linux::mountinfo::{self, MountInfo};
use crate::linux::procfs;
use crate::spec::MountPlan;
use anyhow::{anyhow, Result};
use nix::mount::{mount, MsFlags};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::{Path, PathBuf};

const CGROUP_ROOT: &str = "/sys/fs/cgroup";

/// The host's cgroup mounts at or below /sys/fs/cgroup that this process can reach. A
/// cgroup2 mounted over a hybrid layout leaves the v1 and `unified` mounts in the table,
/// hidden beneath it; binding from their paths would find nothing.
fn host_hierarchies() -> Result<Vec<MountInfo>> {
    let all = mountinfo::read_self()?;
    Ok(all
        .iter()
        .enumerate()
        .filter(|(i, m)| {
            (m.fstype == "cgroup" || m.fstype == "cgroup2")
                && Path::new(&m.mount_point).starts_with(CGROUP_ROOT)
                && !mountinfo::is_shadowed(&all, *i)
        })
        .map(|(_, m)| m.clone())
        .collect())
}

/// This process's cgroup path in a hierarchy (from /proc/self/cgroup), for bind mounts
/// when the container has no cgroup namespace of its own.
fn own_cgroup(m: &MountInfo) -> PathBuf {
    let controllers: Vec<&str> = if m.fstype == "cgroup2" {
        Vec::new()
    } else {
        m.super_options.split(',').collect()
    };
    let lines = procfs::own_cgroup_lines();
    procfs::cgroup_for(&lines, &controllers)
        .map(|l| PathBuf::from(l.path.trim_start_matches('/')))
        .unwrap_or_default()
}

pub fn mount_cgroupfs(root: BorrowedFd, m: &MountPlan, env: &MountEnv) -> Result<OwnedFd> {
    let target = super::paths::open_target(root, m, true)?;
    let hier = host_hierarchies()?;
    let flags = without_bind(m.opts.flags);
    let unified_host = hier
        .iter()
        .any(|h| h.fstype == "cgroup2" && h.mount_point == CGROUP_ROOT);
    if unified_host || m.fstype == "cgroup2" {
        let host = hier
            .iter()
            .find(|h| h.fstype == "cgroup2")
            .ok_or_else(|| anyhow!("the host has no cgroup2 hierarchy"))?;
        one_hierarchy(root, &m.destination, host, flags, env)?;
        return Ok(open_in_root(root, &m.destination)?);
    }
    // Legacy/hybrid: a tmpfs to hold one directory per hierarchy.
    let t = fd_path(target.as_fd());
    mount(
        Some("tmpfs"),
        &t,
        Some("tmpfs"),
        flags.difference(MsFlags::MS_RDONLY),
        Some("mode=755"),
    )
    .map_err(|e| anyhow!("tmpfs: {}", errno_text(e)))?;
    for h in &hier {
        let Some(name) = Path::new(&h.mount_point).file_name() else {
            continue;
        };
        let dest = m.destination.join(name);
        one_hierarchy(root, &dest, h, flags, env)?;
    }
    if flags.contains(MsFlags::MS_RDONLY) {
        let again = open_in_root(root, &m.destination)?;
        mount(
            None::<&str>,
            &fd_path(again.as_fd()),
            None::<&str>,
            flags | MsFlags::MS_REMOUNT,
            Some("mode=755"),
        )
        .map_err(|e| anyhow!("remount read-only: {}", errno_text(e)))?;
    }
    Ok(open_in_root(root, &m.destination)?)
}

/// Mount one hierarchy at `dest`: fresh when the container has its own cgroup namespace
/// (the kernel then shows the namespace root), else a bind of our own cgroup.
fn one_hierarchy(
    root: BorrowedFd,
    dest: &Path,
    h: &MountInfo,
    flags: MsFlags,
    env: &MountEnv,
) -> Result<()> {
    let dir = mkdir_all(root, dest, 0o755)
        .map_err(|e| anyhow!("{}: {}", dest.display(), crate::errors::describe_io(&e)))?;
    let t = fd_path(dir.as_fd());
    if env.cgroupns {
        let opts: Vec<&str> = h
            .super_options
            .split(',')
            .filter(|o| *o != "rw" && *o != "ro")
            .collect();
        let data = opts.join(",");
        let res = mount(
            Some(h.fstype.as_str()),
            &t,
            Some(h.fstype.as_str()),
            flags,
            (!data.is_empty()).then_some(data.as_str()),
        );
        if res.is_ok() {
            return Ok(());
        }
    }
    let src = Path::new(&h.mount_point).join(own_cgroup(h));
    mount(
        Some(&src),
        &t,
        None::<&str>,
        MsFlags::MS_BIND | MsFlags::MS_REC,
        None::<&str>,
    )
    .map_err(|e| anyhow!("bind {}: {}", src.display(), errno_text(e)))?;
    if !flags.is_empty() {
        let again = open_in_root(root, dest)?;
        remount_bind(&fd_path(again.as_fd()), flags, env.userns)?;
    }
    Ok(())
}
