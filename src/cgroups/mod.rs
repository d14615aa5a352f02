//! The container's cgroup: where it goes, making it, putting the init in it, writing the
//! resource limits, and everything later commands do with it (freeze, kill, stats,
//! remove).
//!
//! ```text
//!   bundle ─▶ prepare (pure: layout, path, checked writes) ─▶ create dirs ─▶ apply writes
//!           ─▶ enter(init pid) ─▶ Cgroup saved in state.json for pause/kill/ps/delete
//! ```
//!
//! v1 controllers each get a directory in their own hierarchy; a hybrid host also gets
//! one in its v2 hierarchy, which takes the controllers v1 does not hold (hugetlb here).

pub mod bpf;
pub mod device_cache;
pub mod devices;
pub mod freezer;
pub mod join;
pub mod kill;
pub mod mode;
pub mod path;
pub mod place;
pub mod remove;
pub mod resources;
pub mod rootless;
pub mod stats;
pub mod systemd;
pub mod v1;
pub mod v2;

use crate::errors::describe_io;
use crate::linux::procfs;
use anyhow::{anyhow, bail, Result};
use mode::{CgroupHost, Mode};
use oci_spec::runtime::LinuxResources;
use serde::{Deserialize, Serialize};
use std::io::Write as _;
use std::path::{Path, PathBuf};

/// The container's cgroup directories, one per hierarchy; kept in state.json.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cgroup {
    pub mode: Mode,
    pub dirs: Vec<Dir>,
    /// The systemd unit holding the cgroup (`--systemd-cgroup`); none with cgroupfs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub systemd: Option<systemd::Unit>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Dir {
    /// The v1 controllers of this hierarchy; empty for the v2 one.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub controllers: Vec<String>,
    pub path: PathBuf,
    /// The topmost directory berth made for the container: removal goes up to it and no
    /// further. `None` when the directory was there before (a cgroup shared with others).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub made: Option<PathBuf>,
    /// systemd makes and removes this directory (the unit's, in a hierarchy it manages).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub systemd: bool,
}

/// Which directory a write goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    V1(&'static str),
    V2,
}

/// What to do when the file of a write does not exist.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Missing {
    Fail,
    Skip,
    /// Write this (file, value) instead (e.g. blkio.bfq.weight when blkio.weight is absent).
    Instead(String, String),
}

/// One cgroup file write, with the config key it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Write {
    pub target: Target,
    pub file: String,
    pub value: String,
    pub key: String,
    pub missing: Missing,
    /// Refused as invalid (EINVAL), try once more after the other writes.
    pub retry_later: bool,
}

impl Write {
    pub fn new(target: Target, file: &str, value: impl ToString, key: &str) -> Write {
        Write {
            target,
            file: file.to_string(),
            value: value.to_string(),
            key: key.to_string(),
            missing: Missing::Fail,
            retry_later: false,
        }
    }
    pub fn or_skip(mut self) -> Write {
        self.missing = Missing::Skip;
        self
    }
    pub fn or_instead(mut self, file: &str, value: impl ToString) -> Write {
        self.missing = Missing::Instead(file.to_string(), value.to_string());
        self
    }
    /// For a value the kernel may only accept once a later write is in (a shorter CFS
    /// period is refused while the old quota over it would exceed the parent's limit).
    pub fn or_retry_later(mut self) -> Write {
        self.retry_later = true;
        self
    }
}

/// What planning writes needs to know about the host.
#[derive(Debug, Clone)]
pub struct Layout {
    pub mode: Mode,
    /// Controllers mounted as v1 hierarchies.
    pub v1: Vec<String>,
    /// Controllers the v2 hierarchy offers.
    pub v2: Vec<String>,
    /// Online CPUs and memory nodes ("0-3"), to check cpuset requests against.
    pub cpus: String,
    pub mems: String,
}

impl Layout {
    pub fn from_host(host: &CgroupHost) -> Layout {
        let read = |p: &str, dflt: &str| {
            std::fs::read_to_string(p)
                .map(|s| s.trim().to_string())
                .unwrap_or_else(|_| dflt.to_string())
        };
        Layout {
            mode: host.mode,
            v1: host
                .v1
                .iter()
                .flat_map(|h| h.controllers.iter().cloned())
                .collect(),
            v2: host.v2_controllers(),
            cpus: read("/sys/devices/system/cpu/online", "0"),
            mems: read("/sys/devices/system/node/online", "0"),
        }
    }

    /// The layout a created container's cgroup has (for `update`: the host's view may
    /// differ from the one the container was made in).
    pub fn from_cgroup(cg: &Cgroup) -> Layout {
        let mut l = Layout::from_host(&CgroupHost {
            mode: cg.mode,
            v1: Vec::new(),
            v2: None,
            named: None,
        });
        l.v1 = cg
            .dirs
            .iter()
            .flat_map(|d| d.controllers.iter().cloned())
            .collect();
        l.v2 = cg
            .v2()
            .and_then(|d| std::fs::read_to_string(d.join("cgroup.controllers")).ok())
            .unwrap_or_default()
            .split_whitespace()
            .map(str::to_string)
            .collect();
        l
    }

    /// Where the files of a controller live: v1 where it is mounted as v1, else v2 where
    /// the v2 hierarchy offers it (on a hybrid host, hugetlb often sits there).
    pub fn target(&self, key: &str, v1: &'static str, v2: &str) -> Result<Target> {
        let in_v1 = self.v1.iter().any(|c| c == v1);
        let in_v2 = self.mode != Mode::Legacy && self.v2.iter().any(|c| c == v2);
        match self.mode {
            Mode::Unified if in_v2 => Ok(Target::V2),
            Mode::Unified => bail!(
                "{key}: the {v2} controller is not available in this host's cgroup v2 hierarchy"
            ),
            _ if in_v1 => Ok(Target::V1(v1)),
            _ if in_v2 => Ok(Target::V2),
            _ => bail!("{key}: the {v1} cgroup controller is not mounted on this host"),
        }
    }
}

impl Cgroup {
    pub fn v2(&self) -> Option<&Path> {
        self.dirs
            .iter()
            .find(|d| d.controllers.is_empty())
            .map(|d| d.path.as_path())
    }

    pub fn v1(&self, controller: &str) -> Option<&Path> {
        self.dirs
            .iter()
            .find(|d| d.controllers.iter().any(|c| c == controller))
            .map(|d| d.path.as_path())
    }

    /// The directories that are the container's own now: all of them, except those of a
    /// systemd unit not (yet) started, which may be someone else's unit of the same name.
    pub fn own(&self) -> std::borrow::Cow<'_, Cgroup> {
        let started = self.systemd.as_ref().is_none_or(|u| u.started);
        if started || !self.dirs.iter().any(|d| d.systemd) {
            return std::borrow::Cow::Borrowed(self);
        }
        let mut cg = self.clone();
        cg.dirs.retain(|d| !d.systemd);
        std::borrow::Cow::Owned(cg)
    }

    pub fn dir(&self, t: Target) -> Option<&Path> {
        match t {
            Target::V1(c) => self.v1(c),
            Target::V2 => self.v2(),
        }
    }

    /// The directory whose cgroup.procs lists the container's processes best: the v2
    /// one where there is one (it is always populated), else a v1 one.
    pub fn procs_dir(&self) -> Option<&Path> {
        self.v2()
            .or_else(|| self.v1("pids"))
            .or_else(|| self.v1("freezer"))
            .or_else(|| self.v1("memory"))
            .or_else(|| self.dirs.first().map(|d| d.path.as_path()))
    }
}

/// Everything `create` needs, worked out and checked before anything is made.
pub struct Prepared {
    pub host: CgroupHost,
    pub place: path::Where,
    pub writes: Vec<Write>,
    /// The device rules, loaded as an eBPF program on the v2 directory (`None` when the
    /// v1 devices controller takes them, as ordinary writes).
    pub bpf: Option<Vec<devices::Rule>>,
    /// The unit to start (`--systemd-cgroup`).
    pub systemd: Option<systemd::Plan>,
}

/// Plan the container's cgroup from its config. `None` when the host has no cgroups.
pub fn prepare(
    cgroups_path: Option<&Path>,
    res: Option<&LinuxResources>,
    id: &str,
    use_systemd: bool,
) -> Result<Option<Prepared>> {
    let host = CgroupHost::detect()?;
    if host.v1.is_empty() && host.v2.is_none() {
        crate::logging::debug("cgroups: none mounted on this host; the container gets none");
        return Ok(None);
    }
    let layout = Layout::from_host(&host);
    let empty = LinuxResources::default();
    let res = res.unwrap_or(&empty);
    let mut writes = resources::plan(res, &layout, &v1::Current::default())?;
    let rules = devices::rules(res.devices().as_deref().unwrap_or(&[]))?;
    let v1_devices = host.mode != Mode::Unified && layout.v1.iter().any(|c| c == "devices");
    let (place, systemd) = if use_systemd {
        let text = cgroups_path.map(|p| p.to_string_lossy());
        let sd = systemd::plan(text.as_deref(), id, res, host.mode, &rules)?;
        (path::Where::Absolute(sd.name.rel.clone()), Some(sd))
    } else {
        (path::parse(cgroups_path, id)?, None)
    };
    let bpf = if v1_devices {
        writes.extend(devices::v1_writes(&rules));
        None
    } else if host.v2.is_some() {
        // v2 has no devices controller: device control is an eBPF program there.
        Some(rules)
    } else {
        None
    };
    Ok(Some(Prepared {
        host,
        place,
        writes,
        bpf,
        systemd,
    }))
}

/// The hierarchies the container gets a directory in: the v1 ones, then the v2 one.
/// With systemd, also its name=systemd one, where it tracks the unit's processes.
fn hierarchies(p: &Prepared) -> Vec<&mode::Hierarchy> {
    let named = p.host.named.iter().filter(|_| p.systemd.is_some());
    p.host
        .v1
        .iter()
        .chain(named)
        .chain(p.host.v2.iter())
        .collect()
}

/// The directories `create` makes, each with the topmost one it will have to make:
/// recorded before anything is made, so that a `create` killed half-way leaves nothing
/// that cannot be found. A directory already there stays someone else's (`made: None`).
pub fn planned(p: &Prepared) -> Cgroup {
    let proc_cgroup = procfs::own_cgroup_lines();
    let dirs = hierarchies(p)
        .into_iter()
        .map(|h| {
            let dir = path::dir_in(h, &proc_cgroup, &p.place);
            let by_systemd = p.systemd.is_some() && systemd::manages(h);
            let made = match by_systemd {
                true => None,
                false => missing(h, &dir).last().map(|d| d.to_path_buf()),
            };
            Dir {
                controllers: h.controllers.clone(),
                path: dir,
                made,
                systemd: by_systemd,
            }
        })
        .collect();
    Cgroup {
        mode: p.host.mode,
        dirs,
        systemd: p.systemd.as_ref().map(|s| systemd::Unit {
            name: s.name.unit.clone(),
            started: false,
        }),
    }
}

/// Make the `planned` directories. What really gets made may differ from the plan (a
/// concurrent create made a shared parent first). On failure, what was made is removed.
pub fn create(p: &Prepared, planned: &Cgroup) -> Result<Cgroup> {
    let mut cg = Cgroup {
        mode: p.host.mode,
        dirs: Vec::new(),
        systemd: planned.systemd.clone(),
    };
    for (h, d) in hierarchies(p).into_iter().zip(&planned.dirs) {
        if d.systemd {
            // Made when systemd starts the unit.
            cg.dirs.push(d.clone());
            continue;
        }
        match make_dir(h, &d.path) {
            Ok(made) => cg.dirs.push(Dir {
                controllers: h.controllers.clone(),
                path: d.path.clone(),
                made,
                systemd: false,
            }),
            Err(e) => {
                if let Err(r) = remove::remove(&cg) {
                    crate::logging::warn(&format!("cgroup: clean up: {r:#}"));
                }
                return Err(e);
            }
        }
    }
    Ok(cg)
}

/// `dir` and its ancestors below the hierarchy's root that do not exist yet, deepest
/// first.
fn missing<'a>(h: &mode::Hierarchy, dir: &'a Path) -> Vec<&'a Path> {
    dir.ancestors()
        .take_while(|a| *a != h.mount_point && !a.exists())
        .collect()
}

/// mkdir -p, remembering the topmost directory made; v1 cpuset directories get their
/// parent's CPUs and memory nodes (they start empty, and nothing can join them then),
/// v2 parents get the controllers enabled for their children.
fn make_dir(h: &mode::Hierarchy, dir: &Path) -> Result<Option<PathBuf>> {
    let is_v2 = h.controllers.is_empty();
    let cpuset = h.controllers.iter().any(|c| c == "cpuset");
    let missing = missing(h, dir);
    if is_v2 {
        // Top down: a parent must delegate a controller before its child can.
        let parent = missing.last().copied().unwrap_or(dir).parent();
        let mut chain: Vec<&Path> = parent
            .into_iter()
            .flat_map(Path::ancestors)
            .take_while(|a| a.starts_with(&h.mount_point))
            .collect();
        chain.reverse();
        for a in chain {
            enable_controllers(a);
        }
    }
    if cpuset {
        // Parents someone else made may still have no CPUs or memory nodes (a v1 cpuset
        // starts empty), and then nothing below them can run: fill them top down.
        let mut existing: Vec<&Path> = dir
            .ancestors()
            .take_while(|a| *a != h.mount_point)
            .filter(|a| a.exists())
            .collect();
        existing.reverse();
        for a in existing {
            inherit_cpuset(a);
        }
    }
    let mut made: Option<PathBuf> = None;
    let mut leaf_made = false;
    for (i, d) in missing.iter().rev().enumerate() {
        match std::fs::create_dir(d) {
            Ok(()) => {
                made.get_or_insert_with(|| d.to_path_buf());
                leaf_made = *d == dir;
            }
            // Another create making the same directory at the same moment.
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => {
                if let Some(top) = &made {
                    if let Err(r) = remove::remove_dir(d.parent().unwrap_or(d), Some(top)) {
                        crate::logging::warn(&format!("cgroup: clean up: {r:#}"));
                    }
                }
                bail!("cgroup: mkdir {}: {}", d.display(), describe_io(&e));
            }
        }
        if is_v2 && i + 1 < missing.len() {
            enable_controllers(d);
        }
        if cpuset {
            inherit_cpuset(d);
        }
    }
    // A leaf someone else made is theirs to remove.
    Ok(made.filter(|_| leaf_made))
}

/// Let `dir`'s children use every controller `dir` has. Failures are normal (a parent
/// with processes of its own cannot delegate) and only mean fewer controllers below.
fn enable_controllers(dir: &Path) {
    let have = std::fs::read_to_string(dir.join("cgroup.controllers")).unwrap_or_default();
    let on = std::fs::read_to_string(dir.join("cgroup.subtree_control")).unwrap_or_default();
    let want: Vec<String> = have
        .split_whitespace()
        .filter(|c| !on.split_whitespace().any(|o| o == *c))
        .map(|c| format!("+{c}"))
        .collect();
    if want.is_empty() {
        return;
    }
    let file = dir.join("cgroup.subtree_control");
    if write_file(&file, &want.join(" ")).is_err() {
        // One at a time: the kernel refuses the whole line for one controller it
        // cannot enable here.
        for w in &want {
            if let Err(e) = write_file(&file, w) {
                crate::logging::debug(&format!("cgroup: {}: {w}: {e}", file.display()));
            }
        }
    }
}

fn inherit_cpuset(dir: &Path) {
    let Some(parent) = dir.parent() else { return };
    for f in ["cpuset.cpus", "cpuset.mems"] {
        let mine = std::fs::read_to_string(dir.join(f)).unwrap_or_default();
        if mine.trim().is_empty() {
            if let Ok(v) = std::fs::read_to_string(parent.join(f)) {
                if let Err(e) = write_file(&dir.join(f), v.trim()) {
                    crate::logging::debug(&format!("cgroup: {}: {e}", dir.join(f).display()));
                }
            }
        }
    }
}

/// Open without creating (a missing cgroup file is an error, not a new file), truncate,
/// write the value in one write(2) as cgroupfs wants.
pub fn write_file(path: &Path, value: &str) -> std::io::Result<()> {
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .truncate(true)
        .open(path)?;
    f.write_all(value.as_bytes())
}

pub fn read_file(path: &Path) -> Result<String> {
    crate::linux::procfs::read_small(path)
        .map_err(|e| anyhow!("read {}: {}", path.display(), describe_io(&e)))
}

/// Do the writes, in order; those marked `retry_later` that the kernel refuses as
/// invalid are tried once more at the end.
pub fn apply(cg: &Cgroup, writes: &[Write]) -> Result<()> {
    let mut later = Vec::new();
    for w in writes {
        if !apply_one(cg, w, w.retry_later)? {
            later.push(w);
        }
    }
    for w in later {
        apply_one(cg, w, false)?;
    }
    Ok(())
}

/// One write; `Ok(false)` when the kernel said EINVAL and the write may wait.
fn apply_one(cg: &Cgroup, w: &Write, may_wait: bool) -> Result<bool> {
    let dir = cg
        .dir(w.target)
        .ok_or_else(|| anyhow!("{}: the container has no cgroup for {}", w.key, w.file))?;
    let path = dir.join(&w.file);
    let err = match write_file(&path, &w.value) {
        Ok(()) => return Ok(true),
        Err(e) => e,
    };
    if may_wait && err.raw_os_error() == Some(libc::EINVAL) {
        return Ok(false);
    }
    if err.kind() != std::io::ErrorKind::NotFound {
        bail!(
            "{}: write {:?} to {}: {}",
            w.key,
            w.value,
            path.display(),
            describe_io(&err)
        );
    }
    match &w.missing {
        Missing::Skip => {}
        Missing::Instead(file, value) => {
            let alt = dir.join(file);
            write_file(&alt, value).map_err(|e| {
                anyhow!(
                    "{}: write {:?} to {}: {}",
                    w.key,
                    value,
                    alt.display(),
                    describe_io(&e)
                )
            })?;
        }
        Missing::Fail => bail!(
            "{}: {} does not exist in {} (no such cgroup file, or its controller is not enabled)",
            w.key,
            w.file,
            dir.display()
        ),
    }
    Ok(true)
}

/// Write the planned resources and load the device program.
/// The limits that are files. The v2 device program is apart (`setup_devices`): loading
/// it is the one slow step (the kernel's verifier takes ~0.5 ms for runc's default rules
/// here), so `create` may do it while the init sets up its root filesystem.
pub fn setup(cg: &Cgroup, p: &Prepared) -> Result<()> {
    apply(cg, &p.writes)
}

/// Whether there is a v2 device program to load (`setup_devices`).
pub fn has_device_program(cg: &Cgroup, p: &Prepared) -> bool {
    p.bpf.is_some() && cg.v2().is_some()
}

/// Load the v2 device program and attach it to the container's cgroup.
pub fn setup_devices(cg: &Cgroup, p: &Prepared) -> Result<()> {
    if let (Some(rules), Some(dir)) = (&p.bpf, cg.v2()) {
        devices::load_program(dir, rules)?;
    }
    Ok(())
}

#[cfg(test)]
mod proptests;
#[cfg(test)]
pub mod testing;
