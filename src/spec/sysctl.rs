//! `linux.sysctl`: only keys of a namespace the container has of its own, as runc
//! allows, so writing them cannot change the host.

use super::namespaces::{ns_name, NamespacePlan};
use anyhow::{bail, Result};
use nix::sched::CloneFlags;
use std::collections::HashMap;

/// The keys and values, sorted by key, each checked against the namespaces.
pub fn sysctl_plan(
    sysctl: Option<&HashMap<String, String>>,
    ns: &NamespacePlan,
) -> Result<Vec<(String, String)>> {
    let mut out: Vec<(String, String)> = sysctl.cloned().unwrap_or_default().into_iter().collect();
    out.sort();
    for (key, _) in &out {
        check_sysctl(key, ns)?;
    }
    Ok(out)
}

/// The namespace a sysctl key belongs to; None for keys that are not namespaced.
fn namespace_of(key: &str) -> Option<CloneFlags> {
    let ipc_keys = [
        "kernel.msgmax",
        "kernel.msgmnb",
        "kernel.msgmni",
        "kernel.sem",
        "kernel.shmall",
        "kernel.shmmax",
        "kernel.shmmni",
        "kernel.shm_rmid_forced",
    ];
    if ipc_keys.contains(&key) || key.starts_with("fs.mqueue.") {
        Some(CloneFlags::CLONE_NEWIPC)
    } else if key.starts_with("net.") {
        Some(CloneFlags::CLONE_NEWNET)
    } else if key == "kernel.hostname" || key == "kernel.domainname" {
        Some(CloneFlags::CLONE_NEWUTS)
    } else {
        None
    }
}

/// runc refuses keys whose namespace the container shares with the host, because
/// writing them would change the host.
fn check_sysctl(key: &str, ns: &NamespacePlan) -> Result<()> {
    // These have fields of their own; two sources for one value is a contradiction.
    for (sysctl, field) in [
        ("kernel.hostname", "hostname"),
        ("kernel.domainname", "domainname"),
    ] {
        if key == sysctl {
            bail!(
                "linux.sysctl: {key:?} is not allowed as it conflicts with the OCI {field:?} field"
            );
        }
    }
    let Some(need) = namespace_of(key) else {
        bail!("linux.sysctl: {key:?} is not namespaced and would change the host");
    };
    if !ns.has(need) {
        bail!(
            "linux.sysctl: {key:?} needs the container's own {} namespace",
            ns_name(need)
        );
    }
    if key.contains("..") || key.contains('/') && key.split('/').any(|c| c == "..") {
        bail!("linux.sysctl: invalid key {key:?}");
    }
    Ok(())
}
