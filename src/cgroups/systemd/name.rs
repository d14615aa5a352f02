//! `linux.cgroupsPath` for the systemd driver, as runc reads it: `slice:prefix:name`
//! names the scope unit `<prefix>-<name>.scope` in `slice` (or, when `name` ends in
//! `.slice`, a slice of its own); slices nest by their dashes (`a-b.slice` lives in
//! `a.slice`).

use crate::errors::Error;
use anyhow::Result;
use std::path::PathBuf;

const KEY: &str = "linux.cgroupsPath";

/// The unit a container gets, and where its cgroup is below each hierarchy's top.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnitName {
    pub unit: String,
    /// The parent slice (`Slice=` of a scope, `Wants=` of a slice).
    pub slice: String,
    /// The unit's cgroup, relative to the top of every hierarchy.
    pub rel: PathBuf,
}

impl UnitName {
    pub fn is_slice(&self) -> bool {
        self.unit.ends_with(".slice")
    }
}

/// Parse `slice:prefix:name`; no path at all means `:berth:<id>`, as runc's `:runc:<id>`.
pub fn parse(cgroups_path: Option<&str>, id: &str, rootless: bool) -> Result<UnitName> {
    let path = cgroups_path.filter(|p| !p.is_empty());
    let (slice, prefix, name) = match path {
        None => ("", "berth", id),
        Some(p) => match p.split(':').collect::<Vec<_>>()[..] {
            [s, pre, n] => (s, pre, n),
            _ => {
                return Err(Error::config(
                    KEY,
                    format!(
                        "{p:?}: with --systemd-cgroup it must be \"slice:prefix:name\" (e.g. \"system.slice:berth:{id}\")"
                    ),
                )
                .into())
            }
        },
    };
    let slice = match slice {
        "" if rootless => "user.slice",
        "" => "system.slice",
        s => s,
    };
    let parent = expand_slice(slice)?;
    if name.is_empty() || name.contains('/') {
        return Err(Error::config(KEY, format!("{name:?}: not a valid unit name")).into());
    }
    let unit = if name.ends_with(".slice") {
        name.to_string()
    } else {
        format!("{prefix}-{name}.scope")
    };
    if !unit_name_ok(&unit) {
        return Err(Error::config(KEY, format!("{unit:?}: not a valid systemd unit name")).into());
    }
    // A slice's place comes from its own name, a scope's from its slice.
    let rel = if name.ends_with(".slice") {
        expand_slice(name)?
    } else {
        parent.join(&unit)
    };
    if rel.as_os_str().is_empty() {
        return Err(Error::config(
            KEY,
            format!("{name:?}: the root slice cannot be a container's"),
        )
        .into());
    }
    Ok(UnitName {
        unit,
        slice: slice.to_string(),
        rel,
    })
}

/// `a-b-c.slice` → `a.slice/a-b.slice/a-b-c.slice`; `-.slice` is the root.
pub fn expand_slice(slice: &str) -> Result<PathBuf> {
    let bad = |why: &str| -> anyhow::Error {
        Error::config(KEY, format!("{slice:?}: not a valid slice name ({why})")).into()
    };
    let Some(stem) = slice.strip_suffix(".slice") else {
        return Err(bad("it must end in .slice"));
    };
    if slice.contains('/') {
        return Err(bad("no \"/\" allowed"));
    }
    if stem == "-" {
        return Ok(PathBuf::new());
    }
    if stem.is_empty() || stem.starts_with('-') || stem.ends_with('-') || stem.contains("--") {
        return Err(bad("empty, or a dash at either end or twice in a row"));
    }
    let mut out = PathBuf::new();
    let mut prefix = String::new();
    for part in stem.split('-') {
        if !prefix.is_empty() {
            prefix.push('-');
        }
        prefix.push_str(part);
        out.push(format!("{prefix}.slice"));
    }
    Ok(out)
}

/// systemd's rule: letters, digits and `:-_.\@`, at most 255 bytes.
fn unit_name_ok(u: &str) -> bool {
    u.len() <= 255
        && u.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b":-_.\\@".contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runc_names() {
        let u = parse(Some("system.slice:berth:c1"), "c1", false).unwrap();
        assert_eq!(u.unit, "berth-c1.scope");
        assert_eq!(u.rel, PathBuf::from("system.slice/berth-c1.scope"));
        let u = parse(Some(":p:c1"), "c1", false).unwrap();
        assert_eq!(u.slice, "system.slice");
        assert_eq!(
            parse(Some(":p:c1"), "c1", true).unwrap().slice,
            "user.slice"
        );
        let u = parse(None, "c9", false).unwrap();
        assert_eq!(u.rel, PathBuf::from("system.slice/berth-c9.scope"));
        let u = parse(Some("a-b.slice:x:y"), "c1", false).unwrap();
        assert_eq!(u.rel, PathBuf::from("a.slice/a-b.slice/x-y.scope"));
        let u = parse(Some("system.slice:x:m-n.slice"), "c1", false).unwrap();
        assert!(u.is_slice());
        assert_eq!(u.rel, PathBuf::from("m.slice/m-n.slice"));
        assert_eq!(expand_slice("-.slice").unwrap(), PathBuf::new());
    }

    #[test]
    fn bad_paths_name_the_key() {
        for bad in [
            "/plain/path",
            "a:b",
            "a:b:c:d",
            "x:p:n",
            "a--b.slice:p:n",
            "-a.slice:p:n",
            "system.slice:p:",
            "system.slice:p:a/b",
            "system.slice:p q:n",
        ] {
            let e = parse(Some(bad), "c1", false).unwrap_err().to_string();
            assert!(e.contains("linux.cgroupsPath"), "{bad}: {e}");
        }
    }
}
