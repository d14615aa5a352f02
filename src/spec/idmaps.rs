//! `linux.uidMappings` and `linux.gidMappings`: the id maps of a new user namespace.

use super::namespaces::NamespacePlan;
use anyhow::{bail, Result};
use nix::sched::CloneFlags;
use oci_spec::runtime::{Linux, LinuxIdMapping};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IdMap {
    pub container: u32,
    pub host: u32,
    pub size: u32,
}

fn id_maps(list: Option<&[LinuxIdMapping]>) -> Vec<IdMap> {
    list.unwrap_or(&[])
        .iter()
        .map(|m| IdMap {
            container: m.container_id(),
            host: m.host_id(),
            size: m.size(),
        })
        .collect()
}

/// The (uid, gid) maps; a new user namespace needs both, and maps need one.
pub fn user_maps(linux: &Linux, ns: &NamespacePlan) -> Result<(Vec<IdMap>, Vec<IdMap>)> {
    let uid_map = id_maps(linux.uid_mappings().as_deref());
    let gid_map = id_maps(linux.gid_mappings().as_deref());
    let new_userns = ns.creates(CloneFlags::CLONE_NEWUSER);
    if new_userns && (uid_map.is_empty() || gid_map.is_empty()) {
        bail!("linux.uidMappings/gidMappings: a new user namespace needs both mappings");
    }
    let has_maps = !uid_map.is_empty() || !gid_map.is_empty();
    if has_maps && !new_userns {
        bail!("linux.uidMappings: mappings need a new user namespace in linux.namespaces");
    }
    Ok((uid_map, gid_map))
}
