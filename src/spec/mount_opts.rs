//! Translation of an OCI mount's `options` list into mount(2) flags, propagation changes, mount_setattr(2) attributes and filesystem data.

use libc::{
    MOUNT_ATTR_NOATIME, MOUNT_ATTR_NODEV, MOUNT_ATTR_NODIRATIME, MOUNT_ATTR_NOEXEC,
    MOUNT_ATTR_NOSUID, MOUNT_ATTR_NOSYMFOLLOW, MOUNT_ATTR_RDONLY, MOUNT_ATTR_RELATIME,
    MOUNT_ATTR_STRICTATIME, MOUNT_ATTR__ATIME,
};

/// `libc` exposes MS_* as `c_ulong`; everything here is kept as `u64` so the
/// values are the same type on 32- and 64-bit targets. The cast is a no-op on
/// 64-bit (hence the allow) but widens on 32-bit, and `u64::from` is not
/// usable in a `const fn`.
#[allow(clippy::unnecessary_cast)]
const fn ms(flag: libc::c_ulong) -> u64 {
    flag as u64
}

const MS_RDONLY: u64 = ms(libc::MS_RDONLY);
const MS_NOSUID: u64 = ms(libc::MS_NOSUID);
const MS_NODEV: u64 = ms(libc::MS_NODEV);
const MS_NOEXEC: u64 = ms(libc::MS_NOEXEC);
const MS_SYNCHRONOUS: u64 = ms(libc::MS_SYNCHRONOUS);
const MS_REMOUNT: u64 = ms(libc::MS_REMOUNT);
const MS_MANDLOCK: u64 = ms(libc::MS_MANDLOCK);
const MS_DIRSYNC: u64 = ms(libc::MS_DIRSYNC);
const MS_NOSYMFOLLOW: u64 = ms(libc::MS_NOSYMFOLLOW);
const MS_NOATIME: u64 = ms(libc::MS_NOATIME);
const MS_NODIRATIME: u64 = ms(libc::MS_NODIRATIME);
const MS_BIND: u64 = ms(libc::MS_BIND);
const MS_REC: u64 = ms(libc::MS_REC);
const MS_SILENT: u64 = ms(libc::MS_SILENT);
const MS_UNBINDABLE: u64 = ms(libc::MS_UNBINDABLE);
const MS_PRIVATE: u64 = ms(libc::MS_PRIVATE);
const MS_SLAVE: u64 = ms(libc::MS_SLAVE);
const MS_SHARED: u64 = ms(libc::MS_SHARED);
const MS_RELATIME: u64 = ms(libc::MS_RELATIME);
const MS_I_VERSION: u64 = ms(libc::MS_I_VERSION);
const MS_STRICTATIME: u64 = ms(libc::MS_STRICTATIME);
const MS_LAZYTIME: u64 = ms(libc::MS_LAZYTIME);

/// Attributes to apply to a whole mount tree with
/// `mount_setattr(..., AT_RECURSIVE, ...)`, from the "r"-prefixed options.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RecursiveAttrs {
    /// MOUNT_ATTR_* bits for `mount_attr.attr_set`.
    pub attr_set: u64,
    /// MOUNT_ATTR_* bits for `mount_attr.attr_clr`.
    pub attr_clr: u64,
}

impl RecursiveAttrs {
    /// True when no recursive option was given, so mount_setattr(2) (which
    /// needs Linux 5.12) can be skipped entirely.
    pub fn is_empty(&self) -> bool {
        self.attr_set == 0 && self.attr_clr == 0
    }
}

/// The parsed form of an OCI mount's `options`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MountOptions {
    /// MS_* flags to pass to mount(2).
    pub flags: u64,
    /// MS_* flags an option explicitly turned off ("rw", "suid", "atime"...).
    /// Remounts need this to tell "unset" apart from "keep what the source
    /// mount has", e.g. a bind mount of a nosuid source plus "suid".
    pub clear: u64,
    /// Propagation changes (MS_SHARED/MS_SLAVE/MS_PRIVATE/MS_UNBINDABLE,
    /// possibly with MS_REC), in the order given; each needs its own mount(2).
    pub propagation: Vec<u64>,
    /// Filesystem-specific options, passed to the kernel untouched.
    pub data: Vec<String>,
    /// "bind" or "rbind" was given.
    pub bind: bool,
    /// "rbind" was given.
    pub recursive_bind: bool,
    /// Recursive mount_setattr(2) attributes ("rro", "rnosuid", ...).
    pub recursive_attrs: RecursiveAttrs,
    /// "idmap" or "ridmap" was given.
    pub idmap: bool,
    /// "tmpcopyup" was given: copy the image's content at the destination
    /// into the new tmpfs.
    pub copy_up: bool,
}

impl MountOptions {
    /// The mount(2) `data` argument.
    pub fn data_string(&self) -> String {
        self.data.join(",")
    }
}

/// Every option `parse` understands itself (the rest is passed to the filesystem), for
/// `berth features`; a unit test keeps it in step with the tables below.
pub const KNOWN_OPTIONS: &[&str] = &[
    "ro",
    "rw",
    "nosuid",
    "suid",
    "nodev",
    "dev",
    "noexec",
    "exec",
    "sync",
    "async",
    "dirsync",
    "remount",
    "mand",
    "nomand",
    "noatime",
    "atime",
    "nodiratime",
    "diratime",
    "relatime",
    "norelatime",
    "strictatime",
    "nostrictatime",
    "lazytime",
    "nolazytime",
    "iversion",
    "noiversion",
    "silent",
    "loud",
    "nosymfollow",
    "symfollow",
    "bind",
    "rbind",
    "defaults",
    "rro",
    "rrw",
    "rnosuid",
    "rsuid",
    "rnodev",
    "rdev",
    "rnoexec",
    "rexec",
    "rnodiratime",
    "rdiratime",
    "rrelatime",
    "rnorelatime",
    "rnoatime",
    "ratime",
    "rstrictatime",
    "rnostrictatime",
    "rnosymfollow",
    "rsymfollow",
    "shared",
    "rshared",
    "slave",
    "rslave",
    "private",
    "rprivate",
    "unbindable",
    "runbindable",
    "tmpcopyup",
];

/// Options that map to an MS_* flag, as `(clears_the_flag, flag)`. The set
/// and the set/clear direction follow runc so that the same config.json
/// behaves the same.
fn mount_flag(opt: &str) -> Option<(bool, u64)> {
    let entry = match opt {
        "ro" => (false, MS_RDONLY),
        "rw" => (true, MS_RDONLY),
        "nosuid" => (false, MS_NOSUID),
        "suid" => (true, MS_NOSUID),
        "nodev" => (false, MS_NODEV),
        "dev" => (true, MS_NODEV),
        "noexec" => (false, MS_NOEXEC),
        "exec" => (true, MS_NOEXEC),
        "sync" => (false, MS_SYNCHRONOUS),
        "async" => (true, MS_SYNCHRONOUS),
        "dirsync" => (false, MS_DIRSYNC),
        "remount" => (false, MS_REMOUNT),
        "mand" => (false, MS_MANDLOCK),
        "nomand" => (true, MS_MANDLOCK),
        "noatime" => (false, MS_NOATIME),
        "atime" => (true, MS_NOATIME),
        "nodiratime" => (false, MS_NODIRATIME),
        "diratime" => (true, MS_NODIRATIME),
        "relatime" => (false, MS_RELATIME),
        "norelatime" => (true, MS_RELATIME),
        "strictatime" => (false, MS_STRICTATIME),
        "nostrictatime" => (true, MS_STRICTATIME),
        "lazytime" => (false, MS_LAZYTIME),
        "nolazytime" => (true, MS_LAZYTIME),
        "iversion" => (false, MS_I_VERSION),
        "noiversion" => (true, MS_I_VERSION),
        "silent" => (false, MS_SILENT),
        "loud" => (true, MS_SILENT),
        "nosymfollow" => (false, MS_NOSYMFOLLOW),
        "symfollow" => (true, MS_NOSYMFOLLOW),
        "bind" => (false, MS_BIND),
        "rbind" => (false, MS_BIND | MS_REC),
        // "acl" is deliberately absent: MS_POSIXACL is a kernel-internal
        // superblock flag that mount(2) does not honour, so (like runc
        // since opencontainers/runc#3738) it is left for the filesystem to
        // parse from data.
        _ => return None,
    };
    Some(entry)
}

/// Options that map to a recursive mount_setattr(2) attribute, as
/// `(clears_the_attr, attr)`.
fn recursive_attr(opt: &str) -> Option<(bool, u64)> {
    let entry = match opt {
        "rro" => (false, MOUNT_ATTR_RDONLY),
        "rrw" => (true, MOUNT_ATTR_RDONLY),
        "rnosuid" => (false, MOUNT_ATTR_NOSUID),
        "rsuid" => (true, MOUNT_ATTR_NOSUID),
        "rnodev" => (false, MOUNT_ATTR_NODEV),
        "rdev" => (true, MOUNT_ATTR_NODEV),
        "rnoexec" => (false, MOUNT_ATTR_NOEXEC),
        "rexec" => (true, MOUNT_ATTR_NOEXEC),
        "rnodiratime" => (false, MOUNT_ATTR_NODIRATIME),
        "rdiratime" => (true, MOUNT_ATTR_NODIRATIME),
        "rrelatime" => (false, MOUNT_ATTR_RELATIME),
        "rnorelatime" => (true, MOUNT_ATTR_RELATIME),
        "rnoatime" => (false, MOUNT_ATTR_NOATIME),
        "ratime" => (true, MOUNT_ATTR_NOATIME),
        "rstrictatime" => (false, MOUNT_ATTR_STRICTATIME),
        "rnostrictatime" => (true, MOUNT_ATTR_STRICTATIME),
        "rnosymfollow" => (false, MOUNT_ATTR_NOSYMFOLLOW),
        "rsymfollow" => (true, MOUNT_ATTR_NOSYMFOLLOW),
        _ => return None,
    };
    Some(entry)
}

/// Maps a propagation name (as used in mount options and in
/// `linux.rootfsPropagation`) to its MS_* value. The empty string is `None`:
/// for rootfsPropagation it means "unset", which the caller handles.
pub fn propagation_flag(s: &str) -> Option<u64> {
    let flag = match s {
        "shared" => MS_SHARED,
        "rshared" => MS_SHARED | MS_REC,
        "slave" => MS_SLAVE,
        "rslave" => MS_SLAVE | MS_REC,
        "private" => MS_PRIVATE,
        "rprivate" => MS_PRIVATE | MS_REC,
        "unbindable" => MS_UNBINDABLE,
        "runbindable" => MS_UNBINDABLE | MS_REC,
        _ => return None,
    };
    Some(flag)
}

/// Parses an OCI mount's `options`. Never fails: anything unrecognised is
/// filesystem data, and it is up to the kernel/filesystem to reject it.
///
/// Later options override earlier ones ("ro,rw" is read-write).
pub fn parse(options: &[String]) -> MountOptions {
    let mut m = MountOptions::default();
    let mut attrs = RecursiveAttrs::default();
    for opt in options {
        let opt = opt.as_str();
        if let Some((clear, flag)) = mount_flag(opt) {
            if clear {
                m.flags &= !flag;
                m.clear |= flag;
            } else {
                m.flags |= flag;
                m.clear &= !flag;
            }
        } else if let Some(flag) = propagation_flag(opt) {
            m.propagation.push(flag);
        } else if let Some((clear, attr)) = recursive_attr(opt) {
            if clear {
                attrs.attr_clr |= attr;
                attrs.attr_set &= !attr;
            } else {
                attrs.attr_set |= attr;
                attrs.attr_clr &= !attr;
                // The access-time attributes are an enum inside the
                // MOUNT_ATTR__ATIME field rather than independent bits, and
                // mount_setattr(2) requires the whole field in attr_clr to
                // change it. (RELATIME is 0, so it always takes this path.)
                if attr & MOUNT_ATTR__ATIME == attr {
                    attrs.attr_clr |= MOUNT_ATTR__ATIME;
                }
            }
        } else {
            match opt {
                // mount(8) documents "defaults" as rw,suid,dev,exec,async,
                // which are all "no flag set"; passing it on as data would
                // make filesystems such as tmpfs fail with EINVAL.
                "defaults" | "" => {}
                "tmpcopyup" => m.copy_up = true,
                "idmap" | "ridmap" => m.idmap = true,
                _ => m.data.push(opt.to_string()),
            }
        }
    }
    m.recursive_attrs = attrs;
    m.bind = m.flags & MS_BIND != 0;
    m.recursive_bind = m.bind && m.flags & MS_REC != 0;
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(opts: &[&str]) -> MountOptions {
        let owned: Vec<String> = opts.iter().map(|s| s.to_string()).collect();
        parse(&owned)
    }

    #[test]
    fn kernel_abi_values() {
        // These are fixed by the kernel ABI; a mismatch would mean the wrong
        // libc constant was picked up.
        assert_eq!(MS_RDONLY, 1);
        assert_eq!(MS_NOSUID, 2);
        assert_eq!(MS_NODEV, 4);
        assert_eq!(MS_NOEXEC, 8);
        assert_eq!(MS_NOSYMFOLLOW, 256);
        assert_eq!(MS_BIND, 4096);
        assert_eq!(MS_REC, 16384);
        assert_eq!(MS_PRIVATE, 1 << 18);
        assert_eq!(MOUNT_ATTR__ATIME, 0x70);
        assert_eq!(MOUNT_ATTR_RELATIME, 0);
    }

    #[test]
    fn empty() {
        let m = p(&[]);
        assert_eq!(m, MountOptions::default());
        assert_eq!(m.data_string(), "");
        assert!(m.recursive_attrs.is_empty());
    }

    #[test]
    fn common_restrictions() {
        let m = p(&["nosuid", "noexec", "nodev", "ro"]);
        assert_eq!(m.flags, MS_NOSUID | MS_NOEXEC | MS_NODEV | MS_RDONLY);
        assert_eq!(m.clear, 0);
        assert!(m.data.is_empty());
        assert!(!m.bind);
        assert!(m.propagation.is_empty());
    }

    #[test]
    fn rbind_rprivate() {
        let m = p(&["rbind", "rprivate"]);
        assert_eq!(m.flags, MS_BIND | MS_REC);
        assert!(m.bind);
        assert!(m.recursive_bind);
        assert_eq!(m.propagation, vec![MS_PRIVATE | MS_REC]);
        assert!(m.data.is_empty());
    }

    #[test]
    fn plain_bind() {
        let m = p(&["bind", "ro"]);
        assert_eq!(m.flags, MS_BIND | MS_RDONLY);
        assert!(m.bind);
        assert!(!m.recursive_bind);
    }

    #[test]
    fn bind_then_rbind_is_recursive() {
        let m = p(&["bind", "rbind"]);
        assert!(m.bind && m.recursive_bind);
        let m = p(&["rbind", "bind"]);
        assert!(m.bind && m.recursive_bind);
    }

    #[test]
    fn tmpfs_style_data() {
        let m = p(&["rw", "mode=755", "size=65536k"]);
        assert_eq!(m.flags, 0);
        assert_eq!(m.clear, MS_RDONLY);
        assert_eq!(m.data, vec!["mode=755", "size=65536k"]);
        assert_eq!(m.data_string(), "mode=755,size=65536k");
    }

    #[test]
    fn devpts_style_data() {
        let m = p(&[
            "nosuid",
            "noexec",
            "newinstance",
            "ptmxmode=0666",
            "mode=0620",
            "gid=5",
        ]);
        assert_eq!(m.flags, MS_NOSUID | MS_NOEXEC);
        assert_eq!(m.data_string(), "newinstance,ptmxmode=0666,mode=0620,gid=5");
    }

    #[test]
    fn every_flag_option() {
        let cases: &[(&str, bool, u64)] = &[
            ("ro", false, MS_RDONLY),
            ("rw", true, MS_RDONLY),
            ("nosuid", false, MS_NOSUID),
            ("suid", true, MS_NOSUID),
            ("nodev", false, MS_NODEV),
            ("dev", true, MS_NODEV),
            ("noexec", false, MS_NOEXEC),
            ("exec", true, MS_NOEXEC),
            ("sync", false, MS_SYNCHRONOUS),
            ("async", true, MS_SYNCHRONOUS),
            ("dirsync", false, MS_DIRSYNC),
            ("remount", false, MS_REMOUNT),
            ("mand", false, MS_MANDLOCK),
            ("nomand", true, MS_MANDLOCK),
            ("noatime", false, MS_NOATIME),
            ("atime", true, MS_NOATIME),
            ("nodiratime", false, MS_NODIRATIME),
            ("diratime", true, MS_NODIRATIME),
            ("relatime", false, MS_RELATIME),
            ("norelatime", true, MS_RELATIME),
            ("strictatime", false, MS_STRICTATIME),
            ("nostrictatime", true, MS_STRICTATIME),
            ("lazytime", false, MS_LAZYTIME),
            ("nolazytime", true, MS_LAZYTIME),
            ("iversion", false, MS_I_VERSION),
            ("noiversion", true, MS_I_VERSION),
            ("silent", false, MS_SILENT),
            ("loud", true, MS_SILENT),
            ("nosymfollow", false, MS_NOSYMFOLLOW),
            ("symfollow", true, MS_NOSYMFOLLOW),
            ("bind", false, MS_BIND),
            ("rbind", false, MS_BIND | MS_REC),
        ];
        for &(opt, clears, flag) in cases {
            let m = p(&[opt]);
            if clears {
                assert_eq!((m.flags, m.clear), (0, flag), "{opt}");
            } else {
                assert_eq!((m.flags, m.clear), (flag, 0), "{opt}");
            }
            assert!(m.data.is_empty(), "{opt}");
        }
    }

    #[test]
    fn last_option_wins() {
        let m = p(&["ro", "rw"]);
        assert_eq!((m.flags, m.clear), (0, MS_RDONLY));
        let m = p(&["rw", "ro"]);
        assert_eq!((m.flags, m.clear), (MS_RDONLY, 0));
        let m = p(&["suid", "nosuid", "dev"]);
        assert_eq!((m.flags, m.clear), (MS_NOSUID, MS_NODEV));
    }

    #[test]
    fn defaults_and_empty_are_no_ops() {
        assert_eq!(p(&["defaults"]), MountOptions::default());
        assert_eq!(p(&[""]), MountOptions::default());
        let m = p(&["ro", "defaults"]);
        assert_eq!(m.flags, MS_RDONLY);
        assert!(m.data.is_empty());
    }

    #[test]
    fn unknown_options_are_data_in_order() {
        let m = p(&["acl", "nosuid", "lowerdir=/a:/b", "xino=off", "ro"]);
        assert_eq!(m.flags, MS_NOSUID | MS_RDONLY);
        assert_eq!(m.data_string(), "acl,lowerdir=/a:/b,xino=off");
    }

    #[test]
    fn options_are_case_sensitive() {
        let m = p(&["RO", "Bind"]);
        assert_eq!(m.flags, 0);
        assert_eq!(m.data, vec!["RO", "Bind"]);
    }

    #[test]
    fn propagation_in_order() {
        let m = p(&["shared", "rslave", "private", "runbindable"]);
        assert_eq!(
            m.propagation,
            vec![
                MS_SHARED,
                MS_SLAVE | MS_REC,
                MS_PRIVATE,
                MS_UNBINDABLE | MS_REC
            ]
        );
        assert_eq!(m.flags, 0);
    }

    #[test]
    fn propagation_names() {
        assert_eq!(propagation_flag("shared"), Some(MS_SHARED));
        assert_eq!(propagation_flag("rshared"), Some(MS_SHARED | MS_REC));
        assert_eq!(propagation_flag("slave"), Some(MS_SLAVE));
        assert_eq!(propagation_flag("rslave"), Some(MS_SLAVE | MS_REC));
        assert_eq!(propagation_flag("private"), Some(MS_PRIVATE));
        assert_eq!(propagation_flag("rprivate"), Some(MS_PRIVATE | MS_REC));
        assert_eq!(propagation_flag("unbindable"), Some(MS_UNBINDABLE));
        assert_eq!(
            propagation_flag("runbindable"),
            Some(MS_UNBINDABLE | MS_REC)
        );
        assert_eq!(propagation_flag(""), None);
        assert_eq!(propagation_flag("Private"), None);
        assert_eq!(propagation_flag("rbind"), None);
    }

    #[test]
    fn recursive_attrs_plain_bits() {
        let m = p(&["rbind", "rro", "rnosuid", "rnodev", "rnoexec"]);
        assert_eq!(
            m.recursive_attrs,
            RecursiveAttrs {
                attr_set: MOUNT_ATTR_RDONLY
                    | MOUNT_ATTR_NOSUID
                    | MOUNT_ATTR_NODEV
                    | MOUNT_ATTR_NOEXEC,
                attr_clr: 0,
            }
        );
        // Recursive attributes never leak into the mount(2) flags or data.
        assert_eq!(m.flags, MS_BIND | MS_REC);
        assert!(m.data.is_empty());

        let m = p(&["rrw", "rsuid", "rdev", "rexec", "rsymfollow", "rdiratime"]);
        assert_eq!(m.recursive_attrs.attr_set, 0);
        assert_eq!(
            m.recursive_attrs.attr_clr,
            MOUNT_ATTR_RDONLY
                | MOUNT_ATTR_NOSUID
                | MOUNT_ATTR_NODEV
                | MOUNT_ATTR_NOEXEC
                | MOUNT_ATTR_NOSYMFOLLOW
                | MOUNT_ATTR_NODIRATIME
        );
    }

    #[test]
    fn recursive_attrs_last_wins() {
        let m = p(&["rro", "rrw"]);
        assert_eq!(m.recursive_attrs.attr_set, 0);
        assert_eq!(m.recursive_attrs.attr_clr, MOUNT_ATTR_RDONLY);
        let m = p(&["rrw", "rro"]);
        assert_eq!(m.recursive_attrs.attr_set, MOUNT_ATTR_RDONLY);
        assert_eq!(m.recursive_attrs.attr_clr, 0);
    }

    #[test]
    fn recursive_atime_clears_whole_field() {
        let m = p(&["rnoatime"]);
        assert_eq!(m.recursive_attrs.attr_set, MOUNT_ATTR_NOATIME);
        assert_eq!(m.recursive_attrs.attr_clr, MOUNT_ATTR__ATIME);

        let m = p(&["rstrictatime"]);
        assert_eq!(m.recursive_attrs.attr_set, MOUNT_ATTR_STRICTATIME);
        assert_eq!(m.recursive_attrs.attr_clr, MOUNT_ATTR__ATIME);

        // RELATIME is the zero value of the field, so only attr_clr changes.
        let m = p(&["rrelatime"]);
        assert_eq!(m.recursive_attrs.attr_set, 0);
        assert_eq!(m.recursive_attrs.attr_clr, MOUNT_ATTR__ATIME);
        assert!(!m.recursive_attrs.is_empty());

        // NODIRATIME lives outside the atime field.
        let m = p(&["rnodiratime"]);
        assert_eq!(m.recursive_attrs.attr_set, MOUNT_ATTR_NODIRATIME);
        assert_eq!(m.recursive_attrs.attr_clr, 0);

        let m = p(&["rnosymfollow"]);
        assert_eq!(m.recursive_attrs.attr_set, MOUNT_ATTR_NOSYMFOLLOW);
        assert_eq!(m.recursive_attrs.attr_clr, 0);
    }

    #[test]
    fn recursive_atime_clear_options() {
        let m = p(&["ratime"]);
        assert_eq!(m.recursive_attrs.attr_set, 0);
        assert_eq!(m.recursive_attrs.attr_clr, MOUNT_ATTR_NOATIME);
        let m = p(&["rnostrictatime"]);
        assert_eq!(m.recursive_attrs.attr_clr, MOUNT_ATTR_STRICTATIME);
        // Clearing the zero-valued RELATIME changes nothing.
        assert!(p(&["rnorelatime"]).recursive_attrs.is_empty());
    }

    #[test]
    fn extensions() {
        let m = p(&["tmpcopyup", "mode=1777"]);
        assert!(m.copy_up);
        assert_eq!(m.data_string(), "mode=1777");

        let m = p(&["bind", "idmap"]);
        assert!(m.idmap);
        assert!(m.data.is_empty());
        assert!(p(&["rbind", "ridmap"]).idmap);
        assert!(!p(&["rbind"]).idmap);
    }

    #[test]
    fn typical_spec_mounts() {
        // /proc from `runc spec`.
        let m = p(&[]);
        assert_eq!(m.flags, 0);
        // /dev/shm from `runc spec`.
        let m = p(&["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]);
        assert_eq!(m.flags, MS_NOSUID | MS_NOEXEC | MS_NODEV);
        assert_eq!(m.data_string(), "mode=1777,size=65536k");
        // /sys/fs/cgroup from `runc spec`.
        let m = p(&["nosuid", "noexec", "nodev", "relatime", "ro"]);
        assert_eq!(
            m.flags,
            MS_NOSUID | MS_NOEXEC | MS_NODEV | MS_RELATIME | MS_RDONLY
        );
        // A typical docker volume.
        let m = p(&["rbind", "rprivate", "nosuid", "rro"]);
        assert_eq!(m.flags, MS_BIND | MS_REC | MS_NOSUID);
        assert_eq!(m.propagation, vec![MS_PRIVATE | MS_REC]);
        assert_eq!(m.recursive_attrs.attr_set, MOUNT_ATTR_RDONLY);
    }

    #[test]
    fn known_options_are_all_understood() {
        for o in KNOWN_OPTIONS {
            let m = parse(&[o.to_string()]);
            assert!(m.data.is_empty(), "{o} would go to the filesystem as data");
        }
    }
}
