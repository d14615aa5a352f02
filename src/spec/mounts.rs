//! `mounts[]` and `linux.rootfsPropagation`: each mount checked, its destination
//! cleaned and its options parsed (`mount_opts`).

use super::mount_opts::{self, MountOptions};
use anyhow::{anyhow, bail, Result};
use nix::mount::MsFlags;
use oci_spec::runtime::Mount;
use std::os::unix::fs::MetadataExt;
use std::path::{Component, Path, PathBuf};

#[derive(Debug, Clone)]
pub struct MountPlan {
    /// Position in `mounts[]`, for error messages.
    pub index: usize,
    pub source: Option<PathBuf>,
    /// Absolute, lexically cleaned path inside the container.
    pub destination: PathBuf,
    pub fstype: String,
    pub opts: MountOptions,
    /// Idmapped (`idmap`/`ridmap`, `uidMappings`/`gidMappings`): a bind whose tree the
    /// parent maps before the init attaches it.
    pub idmap: Option<super::mount_idmap::MountIdmap>,
}

impl MountPlan {
    pub fn is_bind(&self) -> bool {
        self.opts.bind || self.fstype == "bind"
    }
    pub fn key(&self) -> String {
        format!("mounts[{}]", self.index)
    }

    /// runc's rule for mounts in /proc (1.1.5 and later), applied to `dest`: the
    /// configured destination when planning, and where it really leads (symlinks
    /// resolved in the rootfs) when mounting. /proc itself takes only a procfs; below it
    /// only the files lxcfs provides may be covered. Anything else there could hide or
    /// redirect what the runtime writes to /proc (sysctl) or masks.
    pub fn check_proc_destination(&self, dest: &Path) -> Result<()> {
        let Ok(rel) = dest.strip_prefix("/proc") else {
            return Ok(());
        };
        let how = if dest == self.destination {
            String::new()
        } else {
            format!(" (resolves to {})", dest.display())
        };
        let key = self.key();
        let shown = self.destination.display();
        if rel.as_os_str().is_empty() {
            if self.is_procfs_root() {
                return Ok(());
            }
            bail!("{key}.destination: {shown}{how}: only a procfs may be mounted on /proc");
        }
        if PROC_FILES_ALLOWED.iter().any(|f| Path::new(f) == dest) {
            return Ok(());
        }
        bail!("{key}.destination: {shown}{how} is inside /proc, where nothing may be mounted")
    }

    /// A fresh procfs, or a bind of the root of one.
    fn is_procfs_root(&self) -> bool {
        if !self.is_bind() {
            return self.fstype == "proc";
        }
        let Some(src) = &self.source else {
            return false;
        };
        let on_procfs = nix::sys::statfs::statfs(src.as_path())
            .is_ok_and(|st| st.filesystem_type() == nix::sys::statfs::PROC_SUPER_MAGIC);
        // The root directory of every procfs has inode 1 (PROC_ROOT_INO).
        on_procfs && std::fs::metadata(src).is_ok_and(|m| m.ino() == 1)
    }
}

/// The files below /proc that lxcfs replaces, which runc lets a mount cover.
const PROC_FILES_ALLOWED: [&str; 10] = [
    "/proc/cpuinfo",
    "/proc/diskstats",
    "/proc/meminfo",
    "/proc/stat",
    "/proc/swaps",
    "/proc/uptime",
    "/proc/loadavg",
    "/proc/slabinfo",
    "/proc/net/dev",
    "/proc/sys/kernel/ns_last_pid",
];

/// Lexically clean an absolute container path: no "..", no ".", no empty parts.
/// ".." at the root stays at the root, as it would inside the container.
pub fn clean_container_path(p: &Path) -> PathBuf {
    let mut out = PathBuf::from("/");
    for c in p.components() {
        match c {
            Component::Normal(s) => out.push(s),
            Component::ParentDir => {
                out.pop();
            }
            _ => {}
        }
    }
    out
}

/// Every entry of `mounts[]`, in order; relative bind sources are below `bundle`.
/// `userns`: the container has a user namespace (new or joined).
pub fn mounts_plan(
    bundle: &Path,
    mounts: Option<&[Mount]>,
    userns: bool,
) -> Result<Vec<MountPlan>> {
    mounts
        .unwrap_or(&[])
        .iter()
        .enumerate()
        .map(|(i, m)| mount_plan(bundle, i, m, userns))
        .collect()
}

fn mount_plan(bundle: &Path, index: usize, m: &Mount, userns: bool) -> Result<MountPlan> {
    let key = format!("mounts[{index}]");
    let options = m.options().clone().unwrap_or_default();
    let opts = mount_opts::parse(&options);
    let fstype = m.typ().clone().unwrap_or_default();
    let bind = opts.bind || fstype == "bind";
    let idmap = super::mount_idmap::idmap_plan(&key, m, &opts, bind, userns)?;
    if fstype.is_empty() && !bind {
        bail!("{key}.type: missing (and the options have no bind)");
    }
    let dest = m.destination();
    if dest.as_os_str().is_empty() {
        bail!("{key}.destination: missing");
    }
    let source = match m.source() {
        Some(s) if bind && !s.is_absolute() => Some(bundle.join(s)),
        Some(s) => Some(s.clone()),
        None if bind => bail!("{key}.source: a bind mount needs a source"),
        None => None,
    };
    if bind {
        let src = source.as_ref().expect("checked above");
        if let Err(e) = std::fs::metadata(src) {
            bail!(
                "{key}.source: {}: {}",
                src.display(),
                crate::errors::describe_io(&e)
            );
        }
    }
    let plan = MountPlan {
        index,
        source,
        destination: clean_container_path(dest),
        fstype,
        opts,
        idmap,
    };
    plan.check_proc_destination(&plan.destination)?;
    Ok(plan)
}

/// `linux.rootfsPropagation` as the flags for "/" in the new mount namespace; rslave
/// when unset.
pub fn root_propagation(p: Option<&str>) -> Result<MsFlags> {
    match p {
        None | Some("") => Ok(MsFlags::MS_SLAVE | MsFlags::MS_REC),
        Some(p) => mount_opts::propagation_flag(p)
            .ok_or_else(|| anyhow!("linux.rootfsPropagation: unknown propagation {p:?}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(dest: &str, typ: &str, source: &str, options: &[&str]) -> Result<MountPlan> {
        let m: Mount = serde_json::from_value(serde_json::json!({
            "destination": dest, "type": typ, "source": source, "options": options
        }))
        .unwrap();
        mount_plan(Path::new("/"), 3, &m, false)
    }

    #[test]
    fn proc_destinations_as_runc_allows_them() {
        assert!(plan("/proc", "proc", "proc", &[]).is_ok());
        assert!(plan("/proc", "bind", "/proc", &["rbind"]).is_ok());
        assert!(plan("/proc/uptime", "bind", "/etc/hostname", &["bind"]).is_ok());
        assert!(plan("/procfoo", "tmpfs", "tmpfs", &[]).is_ok());
        let e = plan("/proc", "tmpfs", "tmpfs", &[])
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("mounts[3].destination: /proc"), "{e}");
        assert!(plan("/proc", "bind", "/tmp", &["bind"]).is_err());
        assert!(plan("/proc", "bind", "/proc/sys", &["bind"]).is_err());
        let e = plan("/proc/sys/../sys/net", "bind", "/tmp", &["bind"])
            .unwrap_err()
            .to_string();
        assert!(e.contains("/proc/sys/net is inside /proc"), "{e}");
        assert!(plan("/proc/sys/kernel", "proc", "proc", &[]).is_err());
    }

    #[test]
    fn cleans_paths_without_escaping() {
        assert_eq!(
            clean_container_path(Path::new("/../../etc/./x")),
            PathBuf::from("/etc/x")
        );
        assert_eq!(
            clean_container_path(Path::new("a/b/../c")),
            PathBuf::from("/a/c")
        );
    }
}
