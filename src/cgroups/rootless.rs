//! Cgroups in rootless mode: a user may only use a cgroup v2 subtree delegated to it
//! (one it may write, as systemd gives a user session). Anywhere else the container
//! goes without a cgroup, as runc's rootless containers do, unless its config asks for
//! limits, which then cannot be had. As in runc, that is worth a warning only for a
//! container without a PID namespace of its own: killing its init then leaves the rest,
//! and without a cgroup nothing can find them.

use super::mode::{Hierarchy, Mode};
use super::{path, Prepared, Target};
use crate::errors::Error;
use crate::linux::procfs;
use anyhow::Result;
use nix::unistd::{access, AccessFlags};
use std::path::Path;

/// The plan to use in rootless mode: `p` itself where the user may make the cgroup,
/// else none. A `cgroupsPath` the config names is tried all the same (and fails with
/// the kernel's reason), as in runc.
pub fn plan(p: Prepared, own_pid_ns: bool, named: bool) -> Result<Option<Prepared>> {
    if named || (p.host.mode == Mode::Unified && delegated(&p, p.host.v2.as_ref())) {
        let p = without_v2_beside_v1(p)?;
        // Device rules need CAP_BPF (v2) or CAP_SYS_ADMIN (v1) on the host; they are
        // left out, as runc does, and the user namespace limits what devices the
        // container can reach anyway.
        let mut p = Prepared { bpf: None, ..p };
        p.writes.retain(|w| !is_devices(w));
        return Ok(Some(p));
    }
    let limit = p.writes.iter().find(|w| !is_devices(w));
    if let Some(w) = limit {
        // runc's words, which its tests look for.
        let what = w.key.split('.').nth(2).unwrap_or("resource");
        return Err(Error::config(
            &w.key,
            format!(
                "cannot set {what} limit: container could not join or create cgroup \
                 (rootless: the user has no delegated cgroup v2 subtree)"
            ),
        )
        .into());
    }
    let why = "rootless: the container gets no cgroup (the user has no delegated cgroup v2 \
               subtree)";
    if own_pid_ns {
        crate::logging::debug(why);
    } else {
        crate::logging::warn(&format!(
            "{why} and no PID namespace of its own: its processes cannot all be found and \
             killed"
        ));
    }
    Ok(None)
}

fn is_devices(w: &super::Write) -> bool {
    w.key.starts_with("linux.resources.devices")
}

/// On a hybrid host the v2 hierarchy beside the v1 ones holds few controllers (none
/// that runc's rootless setups delegate): the container goes without a directory there
/// when the user may not make one, unless a limit needs it.
fn without_v2_beside_v1(mut p: Prepared) -> Result<Prepared> {
    if p.host.mode != Mode::Hybrid || delegated(&p, p.host.v2.as_ref()) {
        return Ok(p);
    }
    if let Some(w) = p.writes.iter().find(|w| w.target == Target::V2) {
        return Err(Error::config(
            &w.key,
            "the user may not make a directory in the cgroup v2 hierarchy this limit needs",
        )
        .into());
    }
    p.host.v2 = None;
    Ok(p)
}

/// Whether the user may make the directory in `h` and move processes there: the
/// nearest existing ancestor and its cgroup.procs are writable for it.
fn delegated(p: &Prepared, h: Option<&Hierarchy>) -> bool {
    let Some(h) = h else { return false };
    let proc_cgroup = procfs::own_cgroup_lines();
    let dir = path::dir_in(h, &proc_cgroup, &p.place);
    let Some(existing) = dir.ancestors().find(|a| a.exists()) else {
        return false;
    };
    writable(existing) && writable(&existing.join("cgroup.procs"))
}

fn writable(p: &Path) -> bool {
    access(p, AccessFlags::W_OK).is_ok()
}
