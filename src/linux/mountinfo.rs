//! Parse /proc/self/mountinfo lines (the fields berth needs).

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MountInfo {
    /// Path of the mounted directory inside the filesystem (field 4).
    pub root: String,
    pub mount_point: String,
    pub options: String,
    /// Optional fields such as "shared:1" or "master:2".
    pub optional: Vec<String>,
    pub fstype: String,
    pub source: String,
    pub super_options: String,
}

/// Undo the octal escapes (\040 for space) the kernel uses in mountinfo.
fn unescape(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' && i + 3 < b.len() {
            if let Ok(v) = u8::from_str_radix(&s[i + 1..i + 4], 8) {
                out.push(v);
                i += 4;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

impl MountInfo {
    /// A per-mount option (ro, nosuid, ...).
    pub fn has_option(&self, opt: &str) -> bool {
        self.options.split(',').any(|o| o == opt)
    }

    /// A filesystem (super block) option (size=..., mode=...).
    pub fn has_super_option(&self, opt: &str) -> bool {
        self.super_options.split(',').any(|o| o == opt)
    }
}

pub fn parse_line(line: &str) -> Option<MountInfo> {
    let (left, right) = line.split_once(" - ")?;
    let l: Vec<&str> = left.split(' ').collect();
    let r: Vec<&str> = right.split(' ').collect();
    if l.len() < 6 || r.len() < 3 {
        return None;
    }
    Some(MountInfo {
        root: unescape(l[3]),
        mount_point: unescape(l[4]),
        options: l[5].to_string(),
        optional: l[6..].iter().map(|s| s.to_string()).collect(),
        fstype: r[0].to_string(),
        source: unescape(r[1]),
        super_options: r[2].to_string(),
    })
}

pub fn parse(text: &str) -> Vec<MountInfo> {
    text.lines().filter_map(parse_line).collect()
}

/// Whether the mount at `i` is hidden: a mount listed after it on its own mount point or
/// on a directory above it covers it, so a path lookup never reaches it (the table keeps
/// listing it all the same).
pub fn is_shadowed(mounts: &[MountInfo], i: usize) -> bool {
    let mine = std::path::Path::new(&mounts[i].mount_point);
    mounts[i + 1..]
        .iter()
        .any(|m| mine.starts_with(&m.mount_point))
}

pub fn read_self() -> std::io::Result<Vec<MountInfo>> {
    Ok(parse(&crate::linux::procfs::read_small(
        std::path::Path::new("/proc/self/mountinfo"),
    )?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_line() {
        let l = "36 31 0:32 / /sys/fs/cgroup/memory rw,relatime shared:9 - cgroup cgroup rw,memory";
        let m = parse_line(l).unwrap();
        assert_eq!(m.mount_point, "/sys/fs/cgroup/memory");
        assert_eq!(m.optional, vec!["shared:9"]);
        assert_eq!(m.fstype, "cgroup");
        assert_eq!(m.super_options, "rw,memory");
    }

    #[test]
    fn later_mounts_on_or_above_a_mount_point_shadow_it() {
        let t = "\
25 1 0:23 / /sys/fs/cgroup rw - tmpfs tmpfs rw
26 25 0:24 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw
27 25 0:25 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory
28 25 0:26 / /sys/fs/cgroup/memory2 rw - cgroup cgroup rw,pids
40 25 0:24 / /sys/fs/cgroup rw - cgroup2 none rw
41 40 0:27 / /sys/fs/cgroup/memory2 rw - tmpfs none rw
";
        let m = parse(t);
        let hidden: Vec<bool> = (0..m.len()).map(|i| is_shadowed(&m, i)).collect();
        assert_eq!(hidden, [true, true, true, true, false, false]);
        // A sibling whose name merely starts the same is no parent.
        let m = parse("1 0 0:1 / /a/bc rw - tmpfs t rw\n2 0 0:2 / /a/b rw - tmpfs t rw");
        assert!(!is_shadowed(&m, 0));
    }

    #[test]
    fn unescapes_spaces() {
        let l = r"40 1 0:5 /a\040b /mnt/x\040y rw - tmpfs none rw";
        let m = parse_line(l).unwrap();
        assert_eq!(m.root, "/a b");
        assert_eq!(m.mount_point, "/mnt/x y");
    }
}
