//! `exec --cgroup`: which cgroup an exec'd process is born in (the container's, or
//! sub-cgroups of it), and where it goes when the kernel refuses that one.

use super::Cgroup;
use anyhow::{bail, Result};
use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};

/// `--cgroup` arguments as runc reads them: controller → path below the container's
/// cgroup, "" standing for every controller (and for cgroup v2).
fn parse_cgroup_args(args: &[String]) -> Result<BTreeMap<String, String>> {
    let mut out = BTreeMap::new();
    for a in args {
        match a.split_once(':') {
            Some((ctrls, path)) => {
                for c in ctrls.split(',') {
                    if c.is_empty() {
                        bail!("--cgroup {a:?}: empty controller name before ':'");
                    }
                    if out.insert(c.to_string(), path.to_string()).is_some() {
                        bail!("--cgroup: controller {c:?} is given more than once");
                    }
                }
            }
            None => {
                if out.insert(String::new(), a.clone()).is_some() {
                    bail!("--cgroup: more than one path for all controllers");
                }
            }
        }
    }
    Ok(out)
}

/// A sub-cgroup path, which must stay inside the container's cgroup.
fn below(sub: &str) -> Result<PathBuf> {
    let mut rel = PathBuf::new();
    for c in Path::new(sub).components() {
        match c {
            Component::Normal(n) => rel.push(n),
            Component::RootDir | Component::CurDir => {}
            // runc's wording, which callers match.
            _ => bail!("--cgroup: bad sub cgroup path: {sub} is not a sub cgroup path (it must stay inside the container's cgroup)"),
        }
    }
    Ok(rel)
}

/// The cgroup the process is born in: the container's, with `--cgroup`'s sub-cgroups in
/// place of its directories.
pub struct JoinCgroup {
    pub cg: Cgroup,
    /// `--cgroup` named the v2 directory, which turns off the fallback to the init's own
    /// v2 cgroup (runc's `--cgroup /`).
    pub v2_named: bool,
}

/// The container's cgroup with `--cgroup`'s sub-cgroups (runc's `exec --cgroup`).
pub fn sub_cgroups(cg: &Cgroup, args: &[String]) -> Result<JoinCgroup> {
    let map = parse_cgroup_args(args)?;
    let all: Vec<&str> = cg
        .dirs
        .iter()
        .flat_map(|d| d.controllers.iter().map(String::as_str))
        .collect();
    for c in map.keys().filter(|c| !c.is_empty()) {
        if cg.mode == super::mode::Mode::Unified {
            bail!("--cgroup {c}:...: cgroup v2 has no per-controller paths; give a plain path");
        }
        if !all.contains(&c.as_str()) {
            bail!("--cgroup: unknown controller {c:?} (the container has no cgroup for it)");
        }
    }
    let mut join = JoinCgroup {
        cg: Cgroup {
            mode: cg.mode,
            dirs: Vec::new(),
            systemd: None,
        },
        v2_named: false,
    };
    for d in &cg.dirs {
        let mut named: Vec<&String> = d.controllers.iter().filter_map(|c| map.get(c)).collect();
        named.dedup();
        if named.len() > 1 {
            bail!(
                "--cgroup: controllers {} share one hierarchy but were given different paths",
                d.controllers.join(",")
            );
        }
        let sub = named.first().copied().or_else(|| map.get(""));
        let path = match sub {
            Some(s) => {
                let p = d.path.join(below(s)?);
                if !p.is_dir() {
                    // runc's words (it fails writing the pid there), which callers match.
                    bail!(
                        "--cgroup {s:?}: adding pid to cgroups: {}/cgroup.procs: no such file or directory",
                        p.display()
                    );
                }
                p
            }
            None => d.path.clone(),
        };
        if d.controllers.is_empty() {
            join.v2_named = sub.is_some();
        }
        join.cg.dirs.push(super::Dir {
            controllers: d.controllers.clone(),
            path,
            made: None,
            ..Default::default()
        });
    }
    Ok(join)
}

/// The move into the v2 cgroup for kernels without CLONE_INTO_CGROUP, with the same
/// fallback to the init's cgroup.
pub fn enter_v2_late(join: &JoinCgroup, pid: i32, init: i32) -> Result<()> {
    let Err(e) = super::place::enter_v2(&join.cg, pid) else {
        return Ok(());
    };
    if !join.v2_named {
        if let Some(dir) = init_v2_cgroup(init) {
            if super::write_file(&dir.join("cgroup.procs"), &pid.to_string()).is_ok() {
                return Ok(());
            }
        }
    }
    Err(e)
}

/// The init's own v2 cgroup directory, from /proc/PID/cgroup.
pub fn init_v2_cgroup(init: i32) -> Option<PathBuf> {
    let lines = crate::linux::procfs::cgroup_lines(init).ok()?;
    let v2 = crate::linux::procfs::cgroup_for(&lines, &[] as &[&str])?;
    let h = super::mode::CgroupHost::detect().ok()?.v2?;
    let rel = Path::new(&v2.path).strip_prefix(&h.root).ok()?;
    Some(h.mount_point.join(rel))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cgroups::mode::Mode;
    use crate::cgroups::Dir;

    fn args(a: &[&str]) -> Vec<String> {
        a.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn cgroup_args_as_runc_reads_them() {
        let m = parse_cgroup_args(&args(&["cpu,memory:sub", "/x"])).unwrap();
        assert_eq!(m.get("cpu").map(String::as_str), Some("sub"));
        assert_eq!(m.get("memory").map(String::as_str), Some("sub"));
        assert_eq!(m.get("").map(String::as_str), Some("/x"));
        for bad in [&["a", "b"][..], &["cpu:a", "cpu:b"], &[":x"], &["cpu,:x"]] {
            assert!(parse_cgroup_args(&args(bad)).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn sub_cgroup_paths_stay_inside() {
        assert_eq!(below("/a/./b").unwrap(), PathBuf::from("a/b"));
        assert_eq!(below("/").unwrap(), PathBuf::new());
        assert!(below("a/../../x").is_err());
    }

    fn fake(mode: Mode) -> (PathBuf, Cgroup) {
        let root =
            std::env::temp_dir().join(format!("berth-exec-cg-{mode:?}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        let mut dirs = Vec::new();
        let mut add = |ctrls: &[&str], name: &str| {
            let p = root.join(name).join("c1");
            std::fs::create_dir_all(p.join("sub")).unwrap();
            dirs.push(Dir {
                controllers: ctrls.iter().map(|c| c.to_string()).collect(),
                path: p,
                made: None,
                ..Default::default()
            });
        };
        if mode != Mode::Unified {
            add(&["cpu", "cpuacct"], "cpu");
            add(&["memory"], "memory");
        }
        if mode != Mode::Legacy {
            add(&[], "unified");
        }
        (
            root,
            Cgroup {
                mode,
                dirs,
                systemd: None,
            },
        )
    }

    fn rel(root: &Path, j: &JoinCgroup) -> Vec<String> {
        j.cg.dirs
            .iter()
            .map(|d| d.path.strip_prefix(root).unwrap().display().to_string())
            .collect()
    }

    #[test]
    fn sub_cgroups_per_controller_on_v1() {
        let (root, cg) = fake(Mode::Hybrid);
        let j = sub_cgroups(&cg, &args(&["memory:sub"])).unwrap();
        assert_eq!(rel(&root, &j), ["cpu/c1", "memory/c1/sub", "unified/c1"]);
        assert!(!j.v2_named);
        let j = sub_cgroups(&cg, &args(&["sub"])).unwrap();
        assert_eq!(
            rel(&root, &j),
            ["cpu/c1/sub", "memory/c1/sub", "unified/c1/sub"]
        );
        assert!(j.v2_named);
        assert!(sub_cgroups(&cg, &args(&["cpu:sub", "cpuacct:/"])).is_err());
        assert!(sub_cgroups(&cg, &args(&["pids:sub"])).is_err());
        let e = sub_cgroups(&cg, &args(&["nope"]))
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains("cgroup.procs: no such file"), "{e}");
        std::fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn v2_takes_only_plain_paths() {
        let (root, cg) = fake(Mode::Unified);
        let e = sub_cgroups(&cg, &args(&["memory:sub"]))
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains("cgroup v2"), "{e}");
        let j = sub_cgroups(&cg, &[]).unwrap();
        assert_eq!(rel(&root, &j), ["unified/c1"]);
        assert!(!j.v2_named);
        assert!(sub_cgroups(&cg, &args(&["/"])).unwrap().v2_named);
        std::fs::remove_dir_all(&root).unwrap();
    }
}
