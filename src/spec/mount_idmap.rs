//! `mounts[].uidMappings`/`gidMappings` and the `idmap`/`ridmap` options: which bind
//! mounts are idmapped, and through which mappings.

use super::idmaps::{id_maps, IdMap};
use anyhow::{bail, Result};
use oci_spec::runtime::Mount;

/// An idmapped bind mount. No mappings means the container's own (`idmap` alone).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MountIdmap {
    /// "containerID hostID size": an id `containerID` on disk is `hostID` through the
    /// mount, as in the uid_map of the user namespace the kernel is given.
    pub uid_map: Vec<IdMap>,
    pub gid_map: Vec<IdMap>,
    /// `ridmap`: every mount of an rbind, not just its top.
    pub recursive: bool,
}

impl MountIdmap {
    pub fn uses_container_maps(&self) -> bool {
        self.uid_map.is_empty()
    }
}

/// The idmapping of `mounts[index]`, if any (mappings alone make an idmapped mount, as
/// in runc). `userns`: the container has a user namespace whose mappings `idmap` alone
/// can take.
pub fn idmap_plan(
    key: &str,
    m: &Mount,
    idmap_opt: bool,
    recursive: bool,
    bind: bool,
    userns: bool,
) -> Result<Option<MountIdmap>> {
    let uid_map = id_maps(m.uid_mappings().as_deref());
    let gid_map = id_maps(m.gid_mappings().as_deref());
    let mapped = !uid_map.is_empty() || !gid_map.is_empty();
    if !mapped && !idmap_opt {
        return Ok(None);
    }
    if !bind {
        if mapped {
            bail!("{key}.uidMappings: idmapped mounts must be bind mounts (type \"bind\", or a bind/rbind option)");
        }
        bail!(
            "{key}.options: \"idmap\" needs a bind mount (type \"bind\", or a bind/rbind option)"
        );
    }
    if uid_map.is_empty() && mapped {
        bail!(
            "{key}.uidMappings: missing (an idmapped mount needs both uidMappings and gidMappings)"
        );
    }
    if gid_map.is_empty() && mapped {
        bail!(
            "{key}.gidMappings: missing (an idmapped mount needs both uidMappings and gidMappings)"
        );
    }
    if !mapped && !userns {
        bail!("{key}.uidMappings: missing: \"idmap\" without mappings takes the container's user namespace mappings, and the container has no user namespace");
    }
    Ok(Some(MountIdmap {
        uid_map,
        gid_map,
        recursive,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(
        m: serde_json::Value,
        opt: bool,
        bind: bool,
        userns: bool,
    ) -> Result<Option<MountIdmap>> {
        let m: Mount = serde_json::from_value(m).unwrap();
        idmap_plan("mounts[2]", &m, opt, false, bind, userns)
    }

    fn maps() -> serde_json::Value {
        serde_json::json!([{"containerID": 0, "hostID": 1000, "size": 10}])
    }

    #[test]
    fn mappings_or_option_make_an_idmapped_bind() {
        let with =
            serde_json::json!({"destination": "/a", "uidMappings": maps(), "gidMappings": maps()});
        let got = plan(with.clone(), false, true, false).unwrap().unwrap();
        assert_eq!(got.uid_map[0].host, 1000);
        assert!(!got.uses_container_maps());
        let bare = serde_json::json!({"destination": "/a"});
        assert!(plan(bare.clone(), false, true, true).unwrap().is_none());
        assert!(plan(bare, true, true, true)
            .unwrap()
            .unwrap()
            .uses_container_maps());
    }

    #[test]
    fn errors_name_the_key() {
        let with =
            serde_json::json!({"destination": "/a", "uidMappings": maps(), "gidMappings": maps()});
        let e = plan(with, true, false, true).unwrap_err().to_string();
        assert!(
            e.starts_with("mounts[2].uidMappings: idmapped mounts must be bind"),
            "{e}"
        );
        let bare = serde_json::json!({"destination": "/a"});
        let e = plan(bare.clone(), true, false, true)
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("mounts[2].options: \"idmap\" needs a bind"),
            "{e}"
        );
        let e = plan(bare, true, true, false).unwrap_err().to_string();
        assert!(e.starts_with("mounts[2].uidMappings: missing: "), "{e}");
        let uid_only = serde_json::json!({"destination": "/a", "uidMappings": maps()});
        let e = plan(uid_only, false, true, true).unwrap_err().to_string();
        assert!(e.starts_with("mounts[2].gidMappings: missing"), "{e}");
        let gid_only = serde_json::json!({"destination": "/a", "gidMappings": maps()});
        let e = plan(gid_only, true, true, true).unwrap_err().to_string();
        assert!(e.starts_with("mounts[2].uidMappings: missing"), "{e}");
    }
}
