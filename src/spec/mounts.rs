//! `mounts[]` and `linux.rootfsPropagation`: each mount checked, its destination
//! cleaned and its options parsed (`mount_opts`).

use super::mount_opts::{self, MountOptions};
use anyhow::{anyhow, bail, Result};
use nix::mount::MsFlags;
use oci_spec::runtime::Mount;
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
}

impl MountPlan {
    pub fn is_bind(&self) -> bool {
        self.opts.bind || self.fstype == "bind"
    }
    pub fn key(&self) -> String {
        format!("mounts[{}]", self.index)
    }
}

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
pub fn mounts_plan(bundle: &Path, mounts: Option<&[Mount]>) -> Result<Vec<MountPlan>> {
    mounts
        .unwrap_or(&[])
        .iter()
        .enumerate()
        .map(|(i, m)| mount_plan(bundle, i, m))
        .collect()
}

fn mount_plan(bundle: &Path, index: usize, m: &Mount) -> Result<MountPlan> {
    let key = format!("mounts[{index}]");
    let options = m.options().clone().unwrap_or_default();
    let opts = mount_opts::parse(&options);
    if opts.idmap {
        bail!("{key}.options: idmapped mounts are not supported yet");
    }
    let fstype = m.typ().clone().unwrap_or_default();
    let bind = opts.bind || fstype == "bind";
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
    Ok(MountPlan {
        index,
        source,
        destination: clean_container_path(dest),
        fstype,
        opts,
    })
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
