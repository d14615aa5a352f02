//! `mounts[].uidMappings`/`gidMappings` and the `idmap`/`ridmap` options: which bind
//! mounts are idmapped, and through which mappings.

use super::idmaps::{id_maps, IdMap};
use super::mount_opts::MountOptions;
use anyhow::{anyhow, bail, Result};
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
    opts: &MountOptions,
    bind: bool,
    userns: bool,
) -> Result<Option<MountIdmap>> {
    let mut uid_map = id_maps(m.uid_mappings().as_deref());
    let mut gid_map = id_maps(m.gid_mappings().as_deref());
    if let Some(v) = &opts.idmap_value {
        let kind = if opts.recursive_idmap {
            "ridmap"
        } else {
            "idmap"
        };
        if !uid_map.is_empty() || !gid_map.is_empty() {
            bail!("{key}.options: {kind}={v}: the mount has uidMappings/gidMappings as well; give the mappings once");
        }
        (uid_map, gid_map) =
            option_maps(v).map_err(|e| anyhow!("{key}.options: {kind}={v}: {e}"))?;
    }
    let recursive = opts.recursive_idmap;
    let mapped = !uid_map.is_empty() || !gid_map.is_empty();
    if !mapped && !opts.idmap {
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

/// crun's form: "uids=0-1000-10#10-2000-5;gids=0-1000-10", each range "on-disk id -
/// host id - size". crun's relative ranges ("@...") are not supported.
fn option_maps(v: &str) -> Result<(Vec<IdMap>, Vec<IdMap>)> {
    let (mut uids, mut gids) = (None, None);
    for part in v.split(';') {
        let (kind, ranges) = part
            .split_once('=')
            .ok_or_else(|| anyhow!("expected uids=... and gids=..., separated by ';'"))?;
        let maps = ranges.split('#').map(range).collect::<Result<Vec<_>>>()?;
        match kind {
            "uids" => uids = Some(maps),
            "gids" => gids = Some(maps),
            _ => bail!("unknown {kind:?} (expected uids or gids)"),
        }
    }
    match (uids, gids) {
        (Some(u), Some(g)) => Ok((u, g)),
        _ => bail!("both uids=... and gids=... are needed"),
    }
}

fn range(r: &str) -> Result<IdMap> {
    if r.starts_with('@') {
        bail!("relative ranges (@) are not supported");
    }
    let n: Vec<u32> = r
        .split('-')
        .map(|x| x.parse::<u32>())
        .collect::<std::result::Result<_, _>>()
        .map_err(|_| anyhow!("range {r:?} is not three numbers a-b-n"))?;
    match n[..] {
        [container, host, size] => Ok(IdMap {
            container,
            host,
            size,
        }),
        _ => bail!("range {r:?} is not three numbers a-b-n"),
    }
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
        let opts = MountOptions {
            idmap: opt,
            ..Default::default()
        };
        idmap_plan("mounts[2]", &m, &opts, bind, userns)
    }

    #[test]
    fn crun_option_form() {
        let m: Mount = serde_json::from_value(serde_json::json!({"destination": "/a"})).unwrap();
        let opts = super::super::mount_opts::parse(&[
            "rbind".into(),
            "ridmap=uids=0-1000-10#10-5000-2;gids=0-1000-12".into(),
        ]);
        let got = idmap_plan("mounts[2]", &m, &opts, true, false)
            .unwrap()
            .unwrap();
        assert!(got.recursive);
        assert_eq!(got.uid_map.len(), 2);
        let u = got.uid_map[1];
        assert_eq!((u.container, u.host, u.size), (10, 5000, 2));
        assert_eq!(got.gid_map[0].size, 12);
        for bad in [
            "idmap=uids=0-1-2",
            "idmap=uids=@0-1-2;gids=0-1-2",
            "idmap=uids=0-1;gids=0-1-2",
        ] {
            let opts = super::super::mount_opts::parse(&["bind".into(), bad.into()]);
            let e = idmap_plan("mounts[2]", &m, &opts, true, true)
                .unwrap_err()
                .to_string();
            assert!(e.starts_with("mounts[2].options: idmap="), "{e}");
        }
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
