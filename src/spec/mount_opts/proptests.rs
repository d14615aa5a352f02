//! Property tests of `mount_opts::parse` against a table of its own, with the kernel's
//! numbers (linux/mount.h): last option wins, unknown options reach the filesystem in
//! order, and rendering a result back to options parses to the same result.

use super::*;
use crate::fuzz::{config, nasty};
use proptest::prelude::*;

/// (sets, clears, MS_* bits).
const FLAGS: &[(&str, Option<&str>, u64)] = &[
    ("ro", Some("rw"), 1),
    ("nosuid", Some("suid"), 2),
    ("nodev", Some("dev"), 4),
    ("noexec", Some("exec"), 8),
    ("sync", Some("async"), 16),
    ("remount", None, 32),
    ("mand", Some("nomand"), 64),
    ("dirsync", None, 128),
    ("nosymfollow", Some("symfollow"), 256),
    ("noatime", Some("atime"), 1024),
    ("nodiratime", Some("diratime"), 2048),
    ("rbind", None, 4096 | 16384),
    ("bind", None, 4096),
    ("silent", Some("loud"), 32768),
    ("relatime", Some("norelatime"), 1 << 21),
    ("iversion", Some("noiversion"), 1 << 23),
    ("strictatime", Some("nostrictatime"), 1 << 24),
    ("lazytime", Some("nolazytime"), 1 << 25),
];

/// MS_SHARED, MS_SLAVE, MS_PRIVATE, MS_UNBINDABLE; the "r" spelling adds MS_REC.
const PROPAGATION: &[(&str, u64)] = &[
    ("shared", 1 << 20),
    ("slave", 1 << 19),
    ("private", 1 << 18),
    ("unbindable", 1 << 17),
];

/// (sets, clears, MOUNT_ATTR_* bits); the access-time ones are values in 0x70.
const ATTRS: &[(&str, &str, u64)] = &[
    ("rro", "rrw", 1),
    ("rnosuid", "rsuid", 2),
    ("rnodev", "rdev", 4),
    ("rnoexec", "rexec", 8),
    ("rnodiratime", "rdiratime", 0x80),
    ("rnosymfollow", "rsymfollow", 0x20_0000),
    ("rrelatime", "rnorelatime", 0),
    ("rnoatime", "ratime", 0x10),
    ("rstrictatime", "rnostrictatime", 0x20),
];
const ATIME: u64 = 0x70;

fn is_known(o: &str) -> bool {
    FLAGS.iter().any(|f| f.0 == o || f.1 == Some(o))
        || PROPAGATION
            .iter()
            .any(|p| p.0 == o || o.strip_prefix('r') == Some(p.0))
        || ATTRS.iter().any(|a| a.0 == o || a.1 == o)
        || ["defaults", "", "tmpcopyup", "idmap", "ridmap"].contains(&o)
}

fn option() -> impl Strategy<Value = String> {
    let mut known: Vec<String> = KNOWN_OPTIONS.iter().map(|s| s.to_string()).collect();
    known.extend(
        [
            "idmap",
            "ridmap",
            "",
            "mode=1777",
            "size=64k",
            "acl",
            "ro,rw",
            "RO",
        ]
        .map(String::from),
    );
    prop_oneof![4 => prop::sample::select(known), 1 => nasty()]
}

/// The options that give `m`, in a canonical order.
fn render(m: &MountOptions) -> Vec<String> {
    let (flags, clear) = (m.flags.bits(), m.clear.bits());
    let mut out = Vec::new();
    for (set, unset, bits) in FLAGS {
        if flags & bits == *bits && !(*set == "bind" && flags & 16384 != 0) {
            out.push(set.to_string());
        }
        if let Some(u) = unset.filter(|_| clear & bits != 0) {
            out.push(u.to_string());
        }
    }
    for p in &m.propagation {
        let (name, bits) = PROPAGATION.iter().find(|(_, b)| p.bits() & b != 0).unwrap();
        let rec = if p.bits() & 16384 != 0 { "r" } else { "" };
        assert_eq!(p.bits() & !(bits | 16384), 0);
        out.push(format!("{rec}{name}"));
    }
    let (set, clr) = (
        m.recursive_attrs.attr_set.bits(),
        m.recursive_attrs.attr_clr.bits(),
    );
    for (on, off, bits) in ATTRS {
        let atime = *bits == 0 || bits & ATIME != 0;
        if atime && clr & ATIME == ATIME {
            if set & ATIME == *bits {
                out.push(on.to_string());
            }
        } else if *bits != 0 && set & bits != 0 {
            out.push(on.to_string());
        } else if *bits != 0 && clr & bits != 0 {
            out.push(off.to_string());
        }
    }
    out.extend(m.data.iter().cloned());
    if m.copy_up {
        out.push("tmpcopyup".into());
    }
    let kind = if m.recursive_idmap { "ridmap" } else { "idmap" };
    match &m.idmap_value {
        Some(v) => out.push(format!("{kind}={v}")),
        None if m.idmap => out.push(kind.into()),
        None => {}
    }
    out
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn parse_matches_the_table(opts in prop::collection::vec(option(), 0..12)) {
        let m = parse(&opts);
        // MS_* flags: the last option naming a flag decides it.
        for (set, unset, bits) in FLAGS.iter().filter(|f| f.0 != "bind" && f.0 != "rbind") {
            let last = opts.iter().rev().find(|o| *o == set || Some(o.as_str()) == *unset);
            let want = last.map(|o| o == set);
            prop_assert_eq!(m.flags.bits() & bits != 0, want == Some(true), "{} in {:?}", set, opts);
            prop_assert_eq!(m.clear.bits() & bits != 0, want == Some(false), "{} in {:?}", set, opts);
        }
        let bind = opts.iter().any(|o| o == "bind" || o == "rbind");
        prop_assert_eq!(m.bind, bind);
        prop_assert_eq!(m.recursive_bind, opts.iter().any(|o| o == "rbind"));
        prop_assert_eq!(m.flags & m.clear, MsFlags::empty());
        // Propagation, in order; filesystem data: the rest, in order.
        let prop_names: Vec<String> = opts.iter().filter(|o| propagation_flag(o).is_some()).cloned().collect();
        prop_assert_eq!(m.propagation.len(), prop_names.len());
        let data: Vec<String> = opts.iter().filter(|o| !is_known(o)).cloned().collect();
        prop_assert_eq!(&m.data, &data);
        prop_assert_eq!(m.copy_up, opts.iter().any(|o| o == "tmpcopyup"));
        prop_assert_eq!(m.idmap, opts.iter().any(|o| o == "idmap" || o == "ridmap"));
        check_attrs(&opts, &m)?;
    }

    #[test]
    fn render_round_trips(opts in prop::collection::vec(option(), 0..12)) {
        let m = parse(&opts);
        let again = parse(&render(&m));
        prop_assert_eq!(&again, &m, "{:?} rendered as {:?}", opts, render(&m));
    }
}

/// The recursive attributes: last option wins; the access-time field is one value.
fn check_attrs(opts: &[String], m: &MountOptions) -> Result<(), TestCaseError> {
    let (set, clr) = (
        m.recursive_attrs.attr_set.bits(),
        m.recursive_attrs.attr_clr.bits(),
    );
    prop_assert_eq!(set & clr & !ATIME, 0);
    for (on, off, bits) in ATTRS.iter().filter(|a| a.2 & ATIME == 0 && a.2 != 0) {
        let last = opts.iter().rev().find(|o| *o == on || *o == off);
        prop_assert_eq!(
            set & bits != 0,
            last.is_some_and(|o| o == on),
            "{} in {:?}",
            on,
            opts
        );
        prop_assert_eq!(
            clr & bits != 0,
            last.is_some_and(|o| o == off),
            "{} in {:?}",
            off,
            opts
        );
    }
    // mount_setattr(2) takes one access-time value in attr_set, with the whole field in
    // attr_clr: the last access-time option that sets one is it.
    let is_atime_set = |o: &&String| {
        ATTRS
            .iter()
            .any(|a| (a.2 == 0 || a.2 & ATIME != 0) && a.0 == *o)
    };
    if let Some(last) = opts.iter().rev().find(is_atime_set) {
        prop_assert_eq!(clr & ATIME, ATIME, "{:?}", opts);
        let value = ATTRS.iter().find(|a| a.0 == last).unwrap().2;
        let cleared_after = opts
            .iter()
            .rev()
            .take_while(|o| *o != last)
            .any(|o| ATTRS.iter().any(|a| a.1 == o && a.2 == value));
        let want = if cleared_after { 0 } else { value };
        prop_assert_eq!(set & ATIME, want, "{:?}", opts);
    } else {
        prop_assert_eq!(set & ATIME, 0, "{:?}", opts);
    }
    Ok(())
}
