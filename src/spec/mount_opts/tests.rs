//! Unit tests of `mount_opts::parse`: every option, and option lists from real configs.

use super::*;

fn p(opts: &[&str]) -> MountOptions {
    let owned: Vec<String> = opts.iter().map(|s| s.to_string()).collect();
    parse(&owned)
}

#[test]
fn kernel_abi_values() {
    // These are fixed by the kernel ABI; a mismatch would mean the wrong
    // libc constant was picked up.
    assert_eq!(MsFlags::MS_RDONLY.bits(), 1);
    assert_eq!(MsFlags::MS_NOSUID.bits(), 2);
    assert_eq!(MsFlags::MS_NODEV.bits(), 4);
    assert_eq!(MsFlags::MS_NOEXEC.bits(), 8);
    assert_eq!(MS_NOSYMFOLLOW.bits(), 256);
    assert_eq!(MsFlags::MS_BIND.bits(), 4096);
    assert_eq!(MsFlags::MS_REC.bits(), 16384);
    assert_eq!(MsFlags::MS_PRIVATE.bits(), 1 << 18);
    assert_eq!(MountAttr::ATIME_MASK.bits(), 0x70);
    assert_eq!(MountAttr::RELATIME.bits(), 0);
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
    assert_eq!(
        m.flags,
        MsFlags::MS_NOSUID | MsFlags::MS_NOEXEC | MsFlags::MS_NODEV | MsFlags::MS_RDONLY
    );
    assert_eq!(m.clear, MsFlags::empty());
    assert!(m.data.is_empty());
    assert!(!m.bind);
    assert!(m.propagation.is_empty());
}

#[test]
fn rbind_rprivate() {
    let m = p(&["rbind", "rprivate"]);
    assert_eq!(m.flags, MsFlags::MS_BIND | MsFlags::MS_REC);
    assert!(m.bind);
    assert!(m.recursive_bind);
    assert_eq!(m.propagation, vec![MsFlags::MS_PRIVATE | MsFlags::MS_REC]);
    assert!(m.data.is_empty());
}

#[test]
fn plain_bind() {
    let m = p(&["bind", "ro"]);
    assert_eq!(m.flags, MsFlags::MS_BIND | MsFlags::MS_RDONLY);
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
    assert_eq!(m.flags, MsFlags::empty());
    assert_eq!(m.clear, MsFlags::MS_RDONLY);
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
    assert_eq!(m.flags, MsFlags::MS_NOSUID | MsFlags::MS_NOEXEC);
    assert_eq!(m.data_string(), "newinstance,ptmxmode=0666,mode=0620,gid=5");
}

#[test]
fn every_flag_option() {
    let cases: &[(&str, bool, MsFlags)] = &[
        ("ro", false, MsFlags::MS_RDONLY),
        ("rw", true, MsFlags::MS_RDONLY),
        ("nosuid", false, MsFlags::MS_NOSUID),
        ("suid", true, MsFlags::MS_NOSUID),
        ("nodev", false, MsFlags::MS_NODEV),
        ("dev", true, MsFlags::MS_NODEV),
        ("noexec", false, MsFlags::MS_NOEXEC),
        ("exec", true, MsFlags::MS_NOEXEC),
        ("sync", false, MsFlags::MS_SYNCHRONOUS),
        ("async", true, MsFlags::MS_SYNCHRONOUS),
        ("dirsync", false, MsFlags::MS_DIRSYNC),
        ("remount", false, MsFlags::MS_REMOUNT),
        ("mand", false, MsFlags::MS_MANDLOCK),
        ("nomand", true, MsFlags::MS_MANDLOCK),
        ("noatime", false, MsFlags::MS_NOATIME),
        ("atime", true, MsFlags::MS_NOATIME),
        ("nodiratime", false, MsFlags::MS_NODIRATIME),
        ("diratime", true, MsFlags::MS_NODIRATIME),
        ("relatime", false, MsFlags::MS_RELATIME),
        ("norelatime", true, MsFlags::MS_RELATIME),
        ("strictatime", false, MsFlags::MS_STRICTATIME),
        ("nostrictatime", true, MsFlags::MS_STRICTATIME),
        ("lazytime", false, MsFlags::MS_LAZYTIME),
        ("nolazytime", true, MsFlags::MS_LAZYTIME),
        ("iversion", false, MsFlags::MS_I_VERSION),
        ("noiversion", true, MsFlags::MS_I_VERSION),
        ("silent", false, MsFlags::MS_SILENT),
        ("loud", true, MsFlags::MS_SILENT),
        ("nosymfollow", false, MS_NOSYMFOLLOW),
        ("symfollow", true, MS_NOSYMFOLLOW),
        ("bind", false, MsFlags::MS_BIND),
        ("rbind", false, MsFlags::MS_BIND | MsFlags::MS_REC),
    ];
    for &(opt, clears, flag) in cases {
        let m = p(&[opt]);
        if clears {
            assert_eq!((m.flags, m.clear), (MsFlags::empty(), flag), "{opt}");
        } else {
            assert_eq!((m.flags, m.clear), (flag, MsFlags::empty()), "{opt}");
        }
        assert!(m.data.is_empty(), "{opt}");
    }
}

#[test]
fn last_option_wins() {
    let m = p(&["ro", "rw"]);
    assert_eq!((m.flags, m.clear), (MsFlags::empty(), MsFlags::MS_RDONLY));
    let m = p(&["rw", "ro"]);
    assert_eq!((m.flags, m.clear), (MsFlags::MS_RDONLY, MsFlags::empty()));
    let m = p(&["suid", "nosuid", "dev"]);
    assert_eq!((m.flags, m.clear), (MsFlags::MS_NOSUID, MsFlags::MS_NODEV));
}

#[test]
fn defaults_and_empty_are_no_ops() {
    assert_eq!(p(&["defaults"]), MountOptions::default());
    assert_eq!(p(&[""]), MountOptions::default());
    let m = p(&["ro", "defaults"]);
    assert_eq!(m.flags, MsFlags::MS_RDONLY);
    assert!(m.data.is_empty());
}

#[test]
fn unknown_options_are_data_in_order() {
    let m = p(&["acl", "nosuid", "lowerdir=/a:/b", "xino=off", "ro"]);
    assert_eq!(m.flags, MsFlags::MS_NOSUID | MsFlags::MS_RDONLY);
    assert_eq!(m.data_string(), "acl,lowerdir=/a:/b,xino=off");
}

#[test]
fn options_are_case_sensitive() {
    let m = p(&["RO", "Bind"]);
    assert_eq!(m.flags, MsFlags::empty());
    assert_eq!(m.data, vec!["RO", "Bind"]);
}

#[test]
fn propagation_in_order() {
    let m = p(&["shared", "rslave", "private", "runbindable"]);
    assert_eq!(
        m.propagation,
        vec![
            MsFlags::MS_SHARED,
            MsFlags::MS_SLAVE | MsFlags::MS_REC,
            MsFlags::MS_PRIVATE,
            MsFlags::MS_UNBINDABLE | MsFlags::MS_REC
        ]
    );
    assert_eq!(m.flags, MsFlags::empty());
}

#[test]
fn propagation_names() {
    assert_eq!(propagation_flag("shared"), Some(MsFlags::MS_SHARED));
    assert_eq!(
        propagation_flag("rshared"),
        Some(MsFlags::MS_SHARED | MsFlags::MS_REC)
    );
    assert_eq!(propagation_flag("slave"), Some(MsFlags::MS_SLAVE));
    assert_eq!(
        propagation_flag("rslave"),
        Some(MsFlags::MS_SLAVE | MsFlags::MS_REC)
    );
    assert_eq!(propagation_flag("private"), Some(MsFlags::MS_PRIVATE));
    assert_eq!(
        propagation_flag("rprivate"),
        Some(MsFlags::MS_PRIVATE | MsFlags::MS_REC)
    );
    assert_eq!(propagation_flag("unbindable"), Some(MsFlags::MS_UNBINDABLE));
    assert_eq!(
        propagation_flag("runbindable"),
        Some(MsFlags::MS_UNBINDABLE | MsFlags::MS_REC)
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
            attr_set: MountAttr::RDONLY | MountAttr::NOSUID | MountAttr::NODEV | MountAttr::NOEXEC,
            attr_clr: MountAttr::empty(),
        }
    );
    // Recursive attributes never leak into the mount(2) flags or data.
    assert_eq!(m.flags, MsFlags::MS_BIND | MsFlags::MS_REC);
    assert!(m.data.is_empty());

    let m = p(&["rrw", "rsuid", "rdev", "rexec", "rsymfollow", "rdiratime"]);
    assert_eq!(m.recursive_attrs.attr_set, MountAttr::empty());
    assert_eq!(
        m.recursive_attrs.attr_clr,
        MountAttr::RDONLY
            | MountAttr::NOSUID
            | MountAttr::NODEV
            | MountAttr::NOEXEC
            | MountAttr::NOSYMFOLLOW
            | MountAttr::NODIRATIME
    );
}

#[test]
fn recursive_attrs_last_wins() {
    let m = p(&["rro", "rrw"]);
    assert_eq!(m.recursive_attrs.attr_set, MountAttr::empty());
    assert_eq!(m.recursive_attrs.attr_clr, MountAttr::RDONLY);
    let m = p(&["rrw", "rro"]);
    assert_eq!(m.recursive_attrs.attr_set, MountAttr::RDONLY);
    assert_eq!(m.recursive_attrs.attr_clr, MountAttr::empty());
}

#[test]
fn recursive_atime_clears_whole_field() {
    let m = p(&["rnoatime"]);
    assert_eq!(m.recursive_attrs.attr_set, MountAttr::NOATIME);
    assert_eq!(m.recursive_attrs.attr_clr, MountAttr::ATIME_MASK);

    let m = p(&["rstrictatime"]);
    assert_eq!(m.recursive_attrs.attr_set, MountAttr::STRICTATIME);
    assert_eq!(m.recursive_attrs.attr_clr, MountAttr::ATIME_MASK);

    // RELATIME is the zero value of the field, so only attr_clr changes.
    let m = p(&["rrelatime"]);
    assert_eq!(m.recursive_attrs.attr_set, MountAttr::empty());
    assert_eq!(m.recursive_attrs.attr_clr, MountAttr::ATIME_MASK);
    assert!(!m.recursive_attrs.is_empty());

    // NODIRATIME lives outside the atime field.
    let m = p(&["rnodiratime"]);
    assert_eq!(m.recursive_attrs.attr_set, MountAttr::NODIRATIME);
    assert_eq!(m.recursive_attrs.attr_clr, MountAttr::empty());

    let m = p(&["rnosymfollow"]);
    assert_eq!(m.recursive_attrs.attr_set, MountAttr::NOSYMFOLLOW);
    assert_eq!(m.recursive_attrs.attr_clr, MountAttr::empty());
}

#[test]
fn last_recursive_atime_option_wins() {
    // Found by proptests::parse_matches_the_table: the field kept STRICTATIME, and
    // "rnoatime,rstrictatime" set both values, which mount_setattr(2) refuses (EINVAL).
    let m = p(&["rstrictatime", "rrelatime"]);
    assert_eq!(m.recursive_attrs.attr_set, MountAttr::empty());
    assert_eq!(m.recursive_attrs.attr_clr, MountAttr::ATIME_MASK);
    let m = p(&["rnoatime", "rstrictatime"]);
    assert_eq!(m.recursive_attrs.attr_set, MountAttr::STRICTATIME);
    let m = p(&["rnodiratime", "rnoatime", "rrelatime"]);
    assert_eq!(m.recursive_attrs.attr_set, MountAttr::NODIRATIME);
}

#[test]
fn recursive_atime_clear_options() {
    let m = p(&["ratime"]);
    assert_eq!(m.recursive_attrs.attr_set, MountAttr::empty());
    assert_eq!(m.recursive_attrs.attr_clr, MountAttr::NOATIME);
    let m = p(&["rnostrictatime"]);
    assert_eq!(m.recursive_attrs.attr_clr, MountAttr::STRICTATIME);
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
    assert_eq!(m.flags, MsFlags::empty());
    // /dev/shm from `runc spec`.
    let m = p(&["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]);
    assert_eq!(
        m.flags,
        MsFlags::MS_NOSUID | MsFlags::MS_NOEXEC | MsFlags::MS_NODEV
    );
    assert_eq!(m.data_string(), "mode=1777,size=65536k");
    // /sys/fs/cgroup from `runc spec`.
    let m = p(&["nosuid", "noexec", "nodev", "relatime", "ro"]);
    assert_eq!(
        m.flags,
        MsFlags::MS_NOSUID
            | MsFlags::MS_NOEXEC
            | MsFlags::MS_NODEV
            | MsFlags::MS_RELATIME
            | MsFlags::MS_RDONLY
    );
    // A typical docker volume.
    let m = p(&["rbind", "rprivate", "nosuid", "rro"]);
    assert_eq!(
        m.flags,
        MsFlags::MS_BIND | MsFlags::MS_REC | MsFlags::MS_NOSUID
    );
    assert_eq!(m.propagation, vec![MsFlags::MS_PRIVATE | MsFlags::MS_REC]);
    assert_eq!(m.recursive_attrs.attr_set, MountAttr::RDONLY);
}

#[test]
fn known_options_are_all_understood() {
    for o in KNOWN_OPTIONS {
        let m = parse(&[o.to_string()]);
        assert!(m.data.is_empty(), "{o} would go to the filesystem as data");
    }
}

#[test]
fn flags_nix_does_not_name_survive_later_options() {
    let m = p(&["nosymfollow", "rw", "suid"]);
    assert_eq!(m.flags, MS_NOSYMFOLLOW);
    assert_eq!(m.clear, MsFlags::MS_RDONLY | MsFlags::MS_NOSUID);
    let m = p(&["symfollow", "ro"]);
    assert_eq!((m.flags, m.clear), (MsFlags::MS_RDONLY, MS_NOSYMFOLLOW));
}
