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

pub(crate) fn id_maps(list: Option<&[LinuxIdMapping]>) -> Vec<IdMap> {
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
    if !new_userns {
        // Name the key that is set: a config may have only one of them.
        let set = [("uidMappings", &uid_map), ("gidMappings", &gid_map)];
        if let Some((key, _)) = set.iter().find(|(_, m)| !m.is_empty()) {
            bail!("linux.{key}: mappings need a new user namespace in linux.namespaces");
        }
    }
    Ok((uid_map, gid_map))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::namespace_plan;

    #[test]
    fn errors_name_the_mapping_that_is_set() {
        // Found by spec::proptests::errors_name_a_changed_key: a config with only
        // gidMappings was told about linux.uidMappings.
        let linux: Linux =
            serde_json::from_str(r#"{"gidMappings":[{"containerID":0,"hostID":1000,"size":1}]}"#)
                .unwrap();
        let ns = namespace_plan(&[]).unwrap();
        let e = user_maps(&linux, &ns).unwrap_err().to_string();
        assert!(e.starts_with("linux.gidMappings: "), "{e}");
        let linux: Linux = serde_json::from_str(
            r#"{"uidMappings":[{"containerID":0,"hostID":1000,"size":1}],
                "gidMappings":[{"containerID":0,"hostID":1000,"size":1}]}"#,
        )
        .unwrap();
        let e = user_maps(&linux, &ns).unwrap_err().to_string();
        assert!(e.starts_with("linux.uidMappings: "), "{e}");
    }
}
