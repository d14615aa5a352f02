//! The systemd cgroup driver (`--systemd-cgroup`): the container's cgroup is a transient
//! scope unit (or slice) that systemd makes, over D-Bus, with the init in it and the
//! resource properties systemd manages; berth makes the directories of the hierarchies
//! systemd leaves alone (cpuset, freezer...), and writes every limit to the files too, as
//! runc does. `delete` stops the unit.
//!
//! ```text
//!   create: plan (name, properties) ─▶ mkdir what systemd leaves alone ─▶ clone init
//!         ─▶ StartTransientUnit(PIDs=[init]) ─▶ JobRemoved ─▶ write limits ─▶ Proceed
//!   delete: kill what is left ─▶ StopUnit ─▶ JobRemoved ─▶ rmdir what berth made
//! ```
//!
//! D-Bus is spoken only here, and only for containers made with this driver. The client
//! is berth's own (`wire`, `dbus`: EXTERNAL auth, method calls, signals): measured
//! against zbus's blocking API doing the same StartTransientUnit + JobRemoved + StopUnit,
//! it adds ~70 KB to the binary where zbus adds ~1.4 MB (and an async executor), and is
//! ~1.4x faster end to end.

mod dbus;
mod manager;
pub mod name;
pub mod props;
mod wire;

use super::devices::Rule;
use super::mode::{Hierarchy, Mode};
use super::{write_file, Cgroup};
use crate::errors::describe_io;
use anyhow::{anyhow, Result};
use manager::Systemd;
use name::UnitName;
use oci_spec::runtime::LinuxResources;
use serde::{Deserialize, Serialize};
use wire::Val;

/// The unit, as recorded with the container's cgroup.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Unit {
    pub name: String,
    /// systemd has it: `delete` stops it. False until the start job is done, so a
    /// failed create never stops a unit of the same name that was someone else's.
    #[serde(default)]
    pub started: bool,
}

/// The unit to start, worked out before anything is made.
pub struct Plan {
    pub name: UnitName,
    pub props: Vec<props::Prop>,
}

pub fn plan(
    cgroups_path: Option<&str>,
    id: &str,
    res: &LinuxResources,
    mode: Mode,
    rules: &[Rule],
) -> Result<Plan> {
    let rootless = !nix::unistd::geteuid().is_root();
    let name = name::parse(cgroups_path, id, rootless)?;
    let props = props::resources(res, mode, Some(rules))?;
    Ok(Plan { name, props })
}

/// The hierarchies systemd makes a unit's directory in: the v2 one, and the v1
/// controllers it manages (not cpuset, freezer, net_cls, perf_event, hugetlb...).
pub fn manages(h: &Hierarchy) -> bool {
    const V1: &[&str] = &[
        "cpu",
        "cpuacct",
        "blkio",
        "memory",
        "devices",
        "pids",
        "name=systemd",
    ];
    h.controllers.is_empty() || h.controllers.iter().any(|c| V1.contains(&c.as_str()))
}

/// Start the unit with the init in it, and wait for systemd to finish. The directories
/// systemd did not make (or a slice, which takes no PIDs) get the init from berth.
pub fn start(cg: &mut Cgroup, plan: &Plan, pid: i32) -> Result<()> {
    let n = &plan.name;
    let mut props = vec![
        prop(
            "Description",
            Val::Str(format!("berth container {}", n.unit)),
        ),
        prop("DefaultDependencies", Val::Bool(false)),
        prop("MemoryAccounting", Val::Bool(true)),
        prop("CPUAccounting", Val::Bool(true)),
        prop("TasksAccounting", Val::Bool(true)),
    ];
    if n.is_slice() {
        let wants = Val::Array("s".into(), vec![Val::Str(n.slice.clone())]);
        props.push(prop("Wants", wants));
    } else {
        props.push(prop("Slice", Val::Str(n.slice.clone())));
        props.push(prop("Delegate", Val::Bool(true)));
        let pids = Val::Array("u".into(), vec![Val::U32(pid as u32)]);
        props.push(prop("PIDs", pids));
    }
    props.extend(plan.props.iter().cloned());
    Systemd::connect()?.start(&n.unit, props)?;
    if let Some(u) = cg.systemd.as_mut() {
        u.started = true;
    }
    for d in cg.dirs.iter_mut().filter(|d| d.systemd) {
        let made = !d.path.exists();
        if made {
            std::fs::create_dir_all(&d.path)
                .map_err(|e| anyhow!("cgroup: mkdir {}: {}", d.path.display(), describe_io(&e)))?;
            d.made = Some(d.path.clone());
        }
        if made || n.is_slice() {
            write_file(&d.path.join("cgroup.procs"), &pid.to_string()).map_err(|e| {
                anyhow!(
                    "cgroup: move init into {}: {}",
                    d.path.display(),
                    describe_io(&e)
                )
            })?;
        }
    }
    Ok(())
}

fn prop(name: &str, v: Val) -> props::Prop {
    (name.to_string(), v)
}

/// Stop the unit (its processes are gone by now), if this container started it.
pub fn stop(cg: &Cgroup) -> Result<()> {
    match &cg.systemd {
        Some(u) if u.started => Systemd::connect()?.stop(&u.name),
        _ => Ok(()),
    }
}

/// `update`: tell systemd the new limits first (it would write its own values back
/// whenever it re-realizes the unit), then berth writes the files.
pub fn update(cg: &Cgroup, delta: &LinuxResources) -> Result<()> {
    let Some(u) = cg.systemd.as_ref().filter(|u| u.started) else {
        return Ok(());
    };
    let props = props::resources(delta, cg.mode, None)?;
    if props.is_empty() {
        return Ok(());
    }
    Systemd::connect()?.set_properties(&u.name, props)
}
