//! Which cgroup layout the host has — unified (v2 only), hybrid (v1 controllers beside a
//! v2 hierarchy) or legacy (v1 only) — and where each hierarchy is mounted.

use crate::linux::mountinfo::{self, MountInfo};
use crate::linux::procfs::{self, CgroupLine};
use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

pub const CGROUP_ROOT: &str = "/sys/fs/cgroup";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    Unified,
    Hybrid,
    Legacy,
}

/// The v1 controllers berth manages; hierarchies holding none of them (name=systemd)
/// are left alone, as runc does.
pub const V1_CONTROLLERS: &[&str] = &[
    "cpu",
    "cpuacct",
    "cpuset",
    "memory",
    "devices",
    "freezer",
    "blkio",
    "pids",
    "hugetlb",
    "net_cls",
    "net_prio",
    "perf_event",
    "rdma",
    "misc",
];

/// One mounted hierarchy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hierarchy {
    /// The v1 controllers mounted here; empty for the v2 hierarchy.
    pub controllers: Vec<String>,
    pub mount_point: PathBuf,
    /// The cgroup the mount shows at its top: "/" unless mounted inside a cgroup namespace
    /// or bind-mounted from below.
    pub root: PathBuf,
}

/// The host's cgroup layout: its mode and where each hierarchy is mounted.
#[derive(Debug, Clone)]
pub struct CgroupHost {
    pub mode: Mode,
    pub v1: Vec<Hierarchy>,
    pub v2: Option<Hierarchy>,
    /// systemd's own v1 hierarchy (name=systemd), which only the systemd driver joins.
    pub named: Option<Hierarchy>,
}

impl CgroupHost {
    pub fn detect() -> Result<CgroupHost> {
        let unified = nix::sys::statfs::statfs(CGROUP_ROOT)
            .map(|s| s.filesystem_type() == nix::sys::statfs::CGROUP2_SUPER_MAGIC)
            .unwrap_or(false);
        let mounts = mountinfo::read_self().context("read /proc/self/mountinfo")?;
        Ok(from_mounts(&mounts, unified))
    }

    /// Controllers the v2 hierarchy offers at its top.
    pub fn v2_controllers(&self) -> Vec<String> {
        let Some(h) = &self.v2 else {
            return Vec::new();
        };
        crate::linux::procfs::read_small(&h.mount_point.join("cgroup.controllers"))
            .unwrap_or_default()
            .split_whitespace()
            .map(str::to_string)
            .collect()
    }
}

/// Work out the layout from the mount table. `unified` says /sys/fs/cgroup itself is a
/// cgroup2 mount: then whatever v1 mounts the table still lists are hidden beneath it.
pub fn from_mounts(mounts: &[MountInfo], unified: bool) -> CgroupHost {
    let root = Path::new(CGROUP_ROOT);
    if unified {
        let m = mounts
            .iter()
            .rev()
            .find(|m| m.fstype == "cgroup2" && Path::new(&m.mount_point) == root);
        return CgroupHost {
            mode: Mode::Unified,
            v1: Vec::new(),
            v2: Some(Hierarchy {
                controllers: Vec::new(),
                mount_point: root.to_path_buf(),
                root: PathBuf::from(m.map_or("/", |m| m.root.as_str())),
            }),
            named: None,
        };
    }
    let mut v1: Vec<Hierarchy> = Vec::new();
    let mut v2 = None;
    let mut named = None;
    for (i, m) in mounts.iter().enumerate() {
        let mp = Path::new(&m.mount_point);
        if !mp.starts_with(root) || mp == root || mountinfo::is_shadowed(mounts, i) {
            continue;
        }
        let h = |controllers| Hierarchy {
            controllers,
            mount_point: mp.to_path_buf(),
            root: PathBuf::from(&m.root),
        };
        if m.fstype == "cgroup2" {
            v2 = Some(h(Vec::new()));
        } else if m.fstype == "cgroup" {
            let ctrls: Vec<String> = m
                .super_options
                .split(',')
                .filter(|o| V1_CONTROLLERS.contains(o))
                .map(str::to_string)
                .collect();
            if ctrls.is_empty() {
                if m.super_options.split(',').any(|o| o == "name=systemd") {
                    named = Some(h(vec!["name=systemd".to_string()]));
                }
                continue;
            }
            // The same hierarchy mounted twice (or remounted) counts once.
            v1.retain(|o| o.controllers != ctrls);
            v1.push(h(ctrls));
        }
    }
    let mode = if v1.is_empty() && v2.is_some() {
        Mode::Unified
    } else if v2.is_some() {
        Mode::Hybrid
    } else {
        Mode::Legacy
    };
    CgroupHost {
        mode,
        v1,
        v2,
        named,
    }
}

/// This process's own cgroup in one hierarchy, from /proc/self/cgroup: the line
/// whose controllers match (v1) or the "0::" line (v2).
pub fn own_cgroup(proc_cgroup: &[CgroupLine], h: &Hierarchy) -> PathBuf {
    procfs::cgroup_for(proc_cgroup, &h.controllers)
        .map_or_else(|| PathBuf::from("/"), |l| PathBuf::from(&l.path))
}

#[cfg(test)]
mod tests {
    use super::*;

    const HYBRID: &str = "\
25 1 0:23 / /sys/fs/cgroup ro - tmpfs tmpfs ro,mode=755
26 25 0:24 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw
27 25 0:25 / /sys/fs/cgroup/systemd rw - cgroup cgroup rw,xattr,name=systemd
28 25 0:26 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct
29 25 0:27 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory
";

    #[test]
    fn hybrid_host() {
        let h = from_mounts(&mountinfo::parse(HYBRID), false);
        assert_eq!(h.mode, Mode::Hybrid);
        assert_eq!(h.v1.len(), 2, "name=systemd is not ours: {h:?}");
        let has = |c: &str| h.v1.iter().any(|x| x.controllers.iter().any(|y| y == c));
        assert!(has("cpuacct") && has("memory") && !has("pids"));
        assert_eq!(
            h.v2.unwrap().mount_point,
            PathBuf::from("/sys/fs/cgroup/unified")
        );
    }

    #[test]
    fn legacy_and_unified_hosts() {
        let legacy: String = HYBRID
            .lines()
            .filter(|l| !l.contains("cgroup2"))
            .collect::<Vec<_>>()
            .join("\n");
        assert_eq!(
            from_mounts(&mountinfo::parse(&legacy), false).mode,
            Mode::Legacy
        );
        // A cgroup2 mount over /sys/fs/cgroup hides the v1 ones still in the table.
        let mut all = mountinfo::parse(HYBRID);
        all.extend(mountinfo::parse(
            "40 25 0:24 / /sys/fs/cgroup rw - cgroup2 none rw",
        ));
        let h = from_mounts(&all, true);
        assert_eq!(h.mode, Mode::Unified);
        assert!(h.v1.is_empty());
        assert_eq!(h.v2.unwrap().mount_point, PathBuf::from(CGROUP_ROOT));
    }

    #[test]
    fn own_cgroup_per_hierarchy() {
        let text = &procfs::parse_cgroup("4:memory:/a/b\n2:cpu,cpuacct:/\n0::/user.slice\n");
        let h = from_mounts(&mountinfo::parse(HYBRID), false);
        let mem = h.v1.iter().find(|x| x.controllers == ["memory"]).unwrap();
        assert_eq!(own_cgroup(text, mem), PathBuf::from("/a/b"));
        assert_eq!(own_cgroup(text, &h.v1[0]), PathBuf::from("/"));
        assert_eq!(
            own_cgroup(text, h.v2.as_ref().unwrap()),
            PathBuf::from("/user.slice")
        );
    }
}
