//! Where the container's cgroup goes, by runc's `linux.cgroupsPath` rules: an absolute
//! path is taken from the top of each hierarchy, a relative one from berth's own cgroup,
//! and no path at all means `<own cgroup>/<container id>`.

use super::mode::{own_cgroup, Hierarchy};
use crate::linux::procfs::CgroupLine;
use anyhow::{bail, Result};
use std::path::{Component, Path, PathBuf};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Where {
    /// Below the top of the hierarchy.
    Absolute(PathBuf),
    /// Below the runtime's own cgroup.
    UnderOwn(PathBuf),
}

/// Check `linux.cgroupsPath` and say where it points. `..` is refused outright: runc
/// silently clamps it, which hides a config bug and can land in someone else's cgroup.
pub fn parse(cgroups_path: Option<&Path>, id: &str) -> Result<Where> {
    let Some(p) = cgroups_path.filter(|p| !p.as_os_str().is_empty()) else {
        return Ok(Where::UnderOwn(PathBuf::from(id)));
    };
    let mut rel = PathBuf::new();
    for c in p.components() {
        match c {
            Component::RootDir | Component::CurDir => {}
            Component::Normal(n) => rel.push(n),
            Component::ParentDir => bail!(
                "linux.cgroupsPath: {:?} must not contain \"..\" (it would escape the cgroup hierarchy)",
                p.display().to_string()
            ),
            Component::Prefix(_) => bail!("linux.cgroupsPath: {:?} is not a path", p.display().to_string()),
        }
    }
    if rel.as_os_str().is_empty() {
        bail!(
            "linux.cgroupsPath: {:?} names the root of the hierarchy; a container needs a cgroup of its own",
            p.display().to_string()
        );
    }
    Ok(if p.is_absolute() {
        Where::Absolute(rel)
    } else {
        Where::UnderOwn(rel)
    })
}

/// The container's directory in one hierarchy, given /proc/self/cgroup.
pub fn dir_in(h: &Hierarchy, proc_cgroup: &[CgroupLine], w: &Where) -> PathBuf {
    match w {
        Where::Absolute(rel) => h.mount_point.join(rel),
        Where::UnderOwn(rel) => {
            let own = own_cgroup(proc_cgroup, h);
            // Inside a cgroup namespace the mount's top is our namespace root already.
            let below = own.strip_prefix(&h.root).unwrap_or(&own);
            let below = below.strip_prefix("/").unwrap_or(below);
            h.mount_point.join(below).join(rel)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::linux::procfs::parse_cgroup;

    fn h(ctrl: &str, mp: &str) -> Hierarchy {
        Hierarchy {
            controllers: if ctrl.is_empty() {
                vec![]
            } else {
                vec![ctrl.to_string()]
            },
            mount_point: PathBuf::from(mp),
            root: PathBuf::from("/"),
        }
    }

    #[test]
    fn runc_rules() {
        let text = &parse_cgroup("4:memory:/runtime/x\n1:cpu:/\n0::/user.slice\n");
        let mem = h("memory", "/sys/fs/cgroup/memory");
        let cpu = h("cpu", "/sys/fs/cgroup/cpu");
        let v2 = h("", "/sys/fs/cgroup/unified");
        let default = parse(None, "c1").unwrap();
        assert_eq!(
            dir_in(&mem, text, &default),
            PathBuf::from("/sys/fs/cgroup/memory/runtime/x/c1")
        );
        assert_eq!(
            dir_in(&cpu, text, &default),
            PathBuf::from("/sys/fs/cgroup/cpu/c1")
        );
        assert_eq!(
            dir_in(&v2, text, &default),
            PathBuf::from("/sys/fs/cgroup/unified/user.slice/c1")
        );
        let abs = parse(Some(Path::new("/pod/c1")), "c1").unwrap();
        assert_eq!(
            dir_in(&mem, text, &abs),
            PathBuf::from("/sys/fs/cgroup/memory/pod/c1")
        );
        let rel = parse(Some(Path::new("pod/./c1")), "c1").unwrap();
        assert_eq!(
            dir_in(&mem, text, &rel),
            PathBuf::from("/sys/fs/cgroup/memory/runtime/x/pod/c1")
        );
        assert_eq!(
            parse(Some(Path::new("")), "c2").unwrap(),
            Where::UnderOwn("c2".into())
        );
    }

    #[test]
    fn escaping_paths_are_refused() {
        for bad in ["../../x", "/a/../../b", "a/..", "/", "//"] {
            let e = parse(Some(Path::new(bad)), "c1").unwrap_err().to_string();
            assert!(e.starts_with("linux.cgroupsPath:"), "{bad}: {e}");
        }
    }

    #[test]
    fn namespaced_mount_root() {
        let mut m = h("memory", "/sys/fs/cgroup/memory");
        m.root = PathBuf::from("/outer");
        let text = &parse_cgroup("4:memory:/outer/inner\n");
        let w = parse(None, "c1").unwrap();
        assert_eq!(
            dir_in(&m, text, &w),
            PathBuf::from("/sys/fs/cgroup/memory/inner/c1")
        );
    }
}
