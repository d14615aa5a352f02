//! The one table of namespace kinds (OCI type name, /proc/PID/ns name, clone flag) and
//! `linux.namespaces` planned from it: what to create, what to join by path.

use anyhow::{bail, Result};
use nix::sched::CloneFlags;
use oci_spec::runtime::{LinuxNamespace, LinuxNamespaceType};
use std::path::PathBuf;

/// CLONE_NEWTIME, which nix's CloneFlags does not name.
pub const CLONE_NEWTIME: CloneFlags = CloneFlags::from_bits_retain(libc::CLONE_NEWTIME);

/// One kind of namespace, under each of its names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Namespace {
    pub kind: LinuxNamespaceType,
    /// `linux.namespaces[].type` in config.json ("mount", "network", ...).
    pub oci_name: &'static str,
    /// The file under /proc/PID/ns ("mnt", "net", ...).
    pub proc_name: &'static str,
    pub flag: CloneFlags,
}

const fn ns(
    kind: LinuxNamespaceType,
    oci_name: &'static str,
    proc_name: &'static str,
    flag: CloneFlags,
) -> Namespace {
    Namespace {
        kind,
        oci_name,
        proc_name,
        flag,
    }
}

/// Every namespace kind berth knows, the user namespace first (it decides who owns the
/// ones joined after it).
pub const NAMESPACES: [Namespace; 8] = [
    ns(
        LinuxNamespaceType::User,
        "user",
        "user",
        CloneFlags::CLONE_NEWUSER,
    ),
    ns(
        LinuxNamespaceType::Mount,
        "mount",
        "mnt",
        CloneFlags::CLONE_NEWNS,
    ),
    ns(
        LinuxNamespaceType::Pid,
        "pid",
        "pid",
        CloneFlags::CLONE_NEWPID,
    ),
    ns(
        LinuxNamespaceType::Network,
        "network",
        "net",
        CloneFlags::CLONE_NEWNET,
    ),
    ns(
        LinuxNamespaceType::Ipc,
        "ipc",
        "ipc",
        CloneFlags::CLONE_NEWIPC,
    ),
    ns(
        LinuxNamespaceType::Uts,
        "uts",
        "uts",
        CloneFlags::CLONE_NEWUTS,
    ),
    ns(
        LinuxNamespaceType::Cgroup,
        "cgroup",
        "cgroup",
        CloneFlags::CLONE_NEWCGROUP,
    ),
    ns(LinuxNamespaceType::Time, "time", "time", CLONE_NEWTIME),
];

/// The table entry for a config.json namespace type.
pub fn by_type(t: LinuxNamespaceType) -> &'static Namespace {
    NAMESPACES
        .iter()
        .find(|n| n.kind == t)
        .expect("NAMESPACES lists every LinuxNamespaceType")
}

/// The table entry for one CLONE_NEW* flag.
pub fn by_flag(f: CloneFlags) -> Option<&'static Namespace> {
    NAMESPACES.iter().find(|n| n.flag == f)
}

/// The clone flag of a config.json namespace type.
pub fn ns_flag(t: LinuxNamespaceType) -> CloneFlags {
    by_type(t).flag
}

/// The /proc/PID/ns name of one CLONE_NEW* flag, as errors name namespaces.
pub fn ns_name(f: CloneFlags) -> &'static str {
    by_flag(f).map_or("time", |n| n.proc_name)
}

/// A namespace the container joins through a path (`linux.namespaces[].path`).
#[derive(Debug, Clone)]
pub struct JoinNs {
    pub flag: CloneFlags,
    pub path: PathBuf,
}

#[derive(Debug, Clone)]
pub struct NamespacePlan {
    /// Namespaces to create.
    pub new: CloneFlags,
    /// Namespaces to join, in config order; the user namespace is always first.
    pub join: Vec<JoinNs>,
}

impl Default for NamespacePlan {
    fn default() -> Self {
        NamespacePlan {
            new: CloneFlags::empty(),
            join: Vec::new(),
        }
    }
}

impl NamespacePlan {
    pub fn creates(&self, f: CloneFlags) -> bool {
        self.new.contains(f)
    }
    pub fn joins(&self, f: CloneFlags) -> Option<&JoinNs> {
        self.join.iter().find(|j| j.flag == f)
    }
    /// Whether the container has a mount namespace of its own (new or joined).
    pub fn has(&self, f: CloneFlags) -> bool {
        self.creates(f) || self.joins(f).is_some()
    }
}

pub fn namespace_plan(list: &[LinuxNamespace]) -> Result<NamespacePlan> {
    let mut plan = NamespacePlan::default();
    let mut seen = CloneFlags::empty();
    for (i, ns) in list.iter().enumerate() {
        let flag = ns_flag(ns.typ());
        if seen.contains(flag) {
            bail!(
                "linux.namespaces[{i}]: namespace type {:?} listed twice",
                ns_name(flag)
            );
        }
        seen |= flag;
        match ns.path() {
            Some(p) if !p.as_os_str().is_empty() => {
                if !p.is_absolute() {
                    bail!(
                        "linux.namespaces[{i}].path: {} is not an absolute path",
                        p.display()
                    );
                }
                plan.join.push(JoinNs {
                    flag,
                    path: p.clone(),
                })
            }
            _ => plan.new |= flag,
        }
    }
    // The user namespace decides who owns everything joined after it.
    plan.join
        .sort_by_key(|j| j.flag != CloneFlags::CLONE_NEWUSER);
    Ok(plan)
}

/// Without a mount namespace of its own the container shares the host's: berth then
/// only chroots into the rootfs. Nothing is mounted, since every mount would land in the
/// host's namespace and outlive the container; so what needs mounts to be honoured
/// (masked and read-only paths, a read-only root, the console) is refused, as runc
/// refuses the masks, and the mounts themselves are left out with a warning.
pub fn check_mount_namespace(
    ns: &NamespacePlan,
    linux: &oci_spec::runtime::Linux,
    spec: &oci_spec::runtime::Spec,
) -> Result<()> {
    if ns.has(CloneFlags::CLONE_NEWNS) {
        return Ok(());
    }
    let nonempty = |v: &Option<Vec<String>>| v.as_ref().is_some_and(|v| !v.is_empty());
    for (key, set) in [
        ("linux.maskedPaths", nonempty(linux.masked_paths())),
        ("linux.readonlyPaths", nonempty(linux.readonly_paths())),
        (
            "root.readonly",
            spec.root().as_ref().and_then(|r| r.readonly()) == Some(true),
        ),
        (
            "process.terminal",
            spec.process().as_ref().and_then(|p| p.terminal()) == Some(true),
        ),
    ] {
        if set {
            bail!("{key}: needs a mount namespace of the container's own (linux.namespaces)");
        }
    }
    let mounts = spec.mounts().as_ref().map_or(0, |m| m.len());
    if mounts > 0 || linux.rootfs_propagation().is_some() {
        crate::logging::warn(&format!(
            "linux.namespaces: no mount namespace: mounts ({mounts}) and rootfsPropagation are \
             not applied, the container shares the host's mounts"
        ));
    }
    Ok(())
}

/// `linux.timeOffsets` as (clock name, seconds, nanoseconds), sorted, for
/// /proc/self/timens_offsets.
pub fn time_offsets(
    linux: &oci_spec::runtime::Linux,
    ns: &NamespacePlan,
) -> Result<Vec<(String, i64, u32)>> {
    let mut out = Vec::new();
    let Some(offsets) = linux.time_offsets() else {
        return Ok(out);
    };
    if !ns.creates(CLONE_NEWTIME) {
        bail!("linux.timeOffsets: offsets need a new time namespace in linux.namespaces");
    }
    for (clock, off) in offsets {
        if clock != "monotonic" && clock != "boottime" {
            bail!("linux.timeOffsets: unknown clock {clock:?} (monotonic or boottime)");
        }
        out.push((
            clock.clone(),
            off.secs().unwrap_or(0),
            off.nanosecs().unwrap_or(0),
        ));
    }
    out.sort();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_covers_every_kind_once() {
        for (i, a) in NAMESPACES.iter().enumerate() {
            assert_eq!(by_type(a.kind), a);
            assert_eq!(by_flag(a.flag), Some(a));
            assert_eq!(serde_json::to_value(a.kind).unwrap(), a.oci_name);
            for b in &NAMESPACES[i + 1..] {
                assert!(
                    a.flag != b.flag && a.proc_name != b.proc_name,
                    "{a:?} {b:?}"
                );
            }
        }
        assert_eq!(ns_name(CloneFlags::CLONE_NEWNS), "mnt");
        assert_eq!(
            ns_flag(LinuxNamespaceType::Network),
            CloneFlags::CLONE_NEWNET
        );
        assert_eq!(NAMESPACES[0].flag, CloneFlags::CLONE_NEWUSER);
    }
}
