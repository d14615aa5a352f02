//! `process.capabilities`: the five sets checked and planned as bit masks at create
//! (pure, unit-tested); `linux::capabilities` applies them in the init.
//!
//! Like runc, a config without `capabilities` gets all five sets empty, and a set that
//! is left out is empty. A capability that cannot be mapped to the kernel or cannot be
//! granted is dropped with a warning naming it: the runtime-spec (config.md) says it
//! MUST be logged and runtimes SHOULD NOT fail (so `docker run --privileged` works on a
//! host whose own bounding set lacks some).

use anyhow::{anyhow, bail, Context, Result};
use caps::Capability;
use oci_spec::runtime::LinuxCapabilities;
use std::str::FromStr;

/// The set names as config.json spells them, in the order errors report them.
const SET_NAMES: [&str; 5] = [
    "bounding",
    "effective",
    "inheritable",
    "permitted",
    "ambient",
];

/// The five sets, bit N standing for capability number N.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CapsPlan {
    pub bounding: u64,
    pub effective: u64,
    pub inheritable: u64,
    pub permitted: u64,
    pub ambient: u64,
    /// Things the config asks for that the kernel cannot do; `create` logs them.
    pub warnings: Vec<String>,
    /// Capabilities the host cannot grant, dropped from every set (a warning).
    pub ignored: u64,
}

impl CapsPlan {
    /// Log what was adjusted: dropped capabilities as a warning (runc's words), the
    /// rest at debug level (runc's own default config triggers those).
    pub fn log(&self) {
        if self.ignored != 0 {
            let names: Vec<String> = caps_in(self.ignored).map(|c| c.to_string()).collect();
            crate::logging::warn(&format!(
                "process.capabilities: ignoring unknown or unavailable capabilities: [{}]",
                names.join(" ")
            ));
        }
        for w in &self.warnings {
            crate::logging::debug(w);
        }
    }
}

/// What the host lets a container have.
#[derive(Debug, Clone, Copy)]
pub struct HostCaps {
    /// The capabilities that can be granted: berth's own bounding set, or every
    /// capability the kernel knows when the container has a user namespace (a process
    /// entering one gets a full set there, whatever it had outside).
    pub available: u64,
    pub userns: bool,
}

impl HostCaps {
    pub fn probe(userns: bool) -> Result<HostCaps> {
        let available = if userns {
            let last = std::fs::read_to_string("/proc/sys/kernel/cap_last_cap")
                .context("read /proc/sys/kernel/cap_last_cap")?;
            let last: u32 = last
                .trim()
                .parse()
                .with_context(|| format!("cap_last_cap: {last:?}"))?;
            u64::MAX >> (63 - last.min(63))
        } else {
            let status =
                std::fs::read_to_string("/proc/self/status").context("read /proc/self/status")?;
            status_mask(&status, "CapBnd")
                .ok_or_else(|| anyhow!("no CapBnd in /proc/self/status"))?
        };
        Ok(HostCaps { available, userns })
    }
}

/// A mask line of /proc/PID/status ("CapBnd:\t000001fffeffffff").
fn status_mask(status: &str, key: &str) -> Option<u64> {
    let line = status
        .lines()
        .find_map(|l| l.strip_prefix(key)?.strip_prefix(':'))?;
    u64::from_str_radix(line.trim(), 16).ok()
}

/// Drops the names this kernel interface does not know from the raw config.json,
/// before oci-spec parses it (which would refuse them, and which also takes spellings
/// such as "sys_admin" that runc does not). Returns them, for the warning.
pub fn drop_unknown(config: &mut serde_json::Value) -> Vec<String> {
    let mut dropped = Vec::new();
    let Some(sets) = config.pointer_mut("/process/capabilities") else {
        return dropped;
    };
    for set in SET_NAMES {
        let Some(list) = sets.get_mut(set).and_then(|v| v.as_array_mut()) else {
            continue;
        };
        list.retain(|v| {
            let known = v.as_str().is_some_and(|n| Capability::from_str(n).is_ok());
            if !known {
                dropped.push(v.as_str().map_or_else(|| v.to_string(), str::to_string));
            }
            known
        });
    }
    dropped.sort();
    dropped.dedup();
    dropped
}

/// The warning for names `drop_unknown` took out, as runc words it.
pub fn warn_unknown(dropped: &[String]) {
    if !dropped.is_empty() {
        crate::logging::warn(&format!(
            "process.capabilities: ignoring unknown or unavailable capabilities: [{}]",
            dropped.join(" ")
        ));
    }
}

fn mask_of(set: Option<&oci_spec::runtime::Capabilities>) -> Result<u64> {
    let mut mask = 0;
    for c in set.into_iter().flatten() {
        // oci-spec spells each one as runc does ("CAP_CHOWN") when it writes JSON.
        let name = serde_json::to_value(c)?;
        let name = name.as_str().unwrap_or_default();
        let cap = Capability::from_str(name).map_err(|_| anyhow!("unknown capability {name:?}"))?;
        mask |= cap.bitmask();
    }
    Ok(mask)
}

/// Capabilities in `mask`, lowest number first (so errors are stable).
pub fn caps_in(mask: u64) -> impl Iterator<Item = Capability> {
    let mut all: Vec<Capability> = caps::all().into_iter().collect();
    all.sort_by_key(|c| c.index());
    all.into_iter().filter(move |c| mask & c.bitmask() != 0)
}

/// The names in `mask`, as errors list them.
pub fn names(mask: u64) -> String {
    caps_in(mask)
        .map(|c| c.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Plan `process.capabilities`; `None` (no object) means no capabilities at all.
pub fn plan(config: Option<&LinuxCapabilities>, host: &HostCaps) -> Result<CapsPlan> {
    let Some(c) = config else {
        return Ok(CapsPlan::default());
    };
    let mut p = CapsPlan {
        bounding: mask_of(c.bounding().as_ref())?,
        effective: mask_of(c.effective().as_ref())?,
        inheritable: mask_of(c.inheritable().as_ref())?,
        permitted: mask_of(c.permitted().as_ref())?,
        ambient: mask_of(c.ambient().as_ref())?,
        warnings: Vec::new(),
        ignored: 0,
    };
    let all = p.bounding | p.effective | p.inheritable | p.permitted | p.ambient;
    p.ignored = all & !host.available;
    for set in [
        &mut p.bounding,
        &mut p.effective,
        &mut p.inheritable,
        &mut p.permitted,
        &mut p.ambient,
    ] {
        *set &= host.available;
    }
    // The kernel refuses these with a bare EPERM at capset(2); say which one and why.
    if let Some(cap) = caps_in(p.effective & !p.permitted).next() {
        bail!("process.capabilities.effective: {cap} is not in process.capabilities.permitted");
    }
    if let Some(cap) = caps_in(p.inheritable & !p.bounding).next() {
        bail!("process.capabilities.inheritable: {cap} is not in process.capabilities.bounding");
    }
    // runc's default config from before 1.2 lists ambient capabilities without making
    // them inheritable; runc raises what it can and skips the rest quietly. We do the
    // same, and say so in the --debug log.
    let unraisable = p.ambient & !(p.permitted & p.inheritable);
    if unraisable != 0 {
        p.warnings.push(format!(
            "process.capabilities.ambient: not raising {} (an ambient capability must also \
             be permitted and inheritable)",
            names(unraisable)
        ));
        p.ambient &= !unraisable;
    }
    Ok(p)
}

#[cfg(test)]
mod tests {
    use super::*;

    const NET_BIND: u64 = 1 << 10;
    const KILL: u64 = 1 << 5;
    const AUDIT_WRITE: u64 = 1 << 29;
    const SYS_RESOURCE: u64 = 1 << 24;
    /// This machine's CapBnd: everything up to CAP_CHECKPOINT_RESTORE except SYS_RESOURCE.
    const HOST: HostCaps = HostCaps {
        available: 0x1fffeffffff,
        userns: false,
    };

    fn caps(json: &str) -> LinuxCapabilities {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn runc_default_list() {
        let l = r#"["CAP_AUDIT_WRITE","CAP_KILL","CAP_NET_BIND_SERVICE"]"#;
        let c = caps(&format!(
            r#"{{"bounding":{l},"effective":{l},"permitted":{l}}}"#
        ));
        let p = plan(Some(&c), &HOST).unwrap();
        let want = AUDIT_WRITE | KILL | NET_BIND;
        assert_eq!(want, 0x20000420);
        assert_eq!((p.bounding, p.effective, p.permitted), (want, want, want));
        assert_eq!((p.inheritable, p.ambient), (0, 0));
        assert!(p.warnings.is_empty());
    }

    #[test]
    fn absent_object_and_absent_sets_are_empty() {
        assert_eq!(plan(None, &HOST).unwrap(), CapsPlan::default());
        let p = plan(Some(&caps(r#"{"permitted":["CAP_KILL"]}"#)), &HOST).unwrap();
        assert_eq!((p.bounding, p.permitted, p.effective), (0, KILL, 0));
    }

    #[test]
    fn ambient_needs_permitted_and_inheritable() {
        let all = r#"["CAP_NET_BIND_SERVICE"]"#;
        let c = caps(&format!(
            r#"{{"bounding":{all},"effective":{all},"permitted":{all},"inheritable":{all},"ambient":{all}}}"#
        ));
        let p = plan(Some(&c), &HOST).unwrap();
        assert_eq!(p.ambient, NET_BIND);
        assert!(p.warnings.is_empty());

        let c = caps(&format!(
            r#"{{"bounding":{all},"permitted":{all},"ambient":["CAP_NET_BIND_SERVICE"]}}"#
        ));
        let p = plan(Some(&c), &HOST).unwrap();
        assert_eq!(p.ambient, 0);
        assert!(
            p.warnings[0].contains("CAP_NET_BIND_SERVICE"),
            "{:?}",
            p.warnings
        );
    }

    #[test]
    fn capability_the_host_lacks_is_dropped_and_named() {
        let c = caps(
            r#"{"bounding":["CAP_KILL","CAP_SYS_RESOURCE"],"permitted":["CAP_KILL","CAP_SYS_RESOURCE"]}"#,
        );
        let p = plan(Some(&c), &HOST).unwrap();
        assert_eq!(
            (p.bounding, p.permitted, p.ignored),
            (KILL, KILL, SYS_RESOURCE)
        );
        // In a user namespace the container has every capability of that namespace.
        let userns = HostCaps {
            available: HOST.available | SYS_RESOURCE,
            userns: true,
        };
        let p = plan(Some(&c), &userns).unwrap();
        assert_eq!((p.permitted, p.ignored), (KILL | SYS_RESOURCE, 0));
    }

    #[test]
    fn unknown_names_are_dropped_from_every_set() {
        let mut v = serde_json::json!({"process": {"capabilities": {
            "bounding": ["CAP_KILL", "CAP_FOO", "sys_admin"],
            "ambient": ["CAP_FOO", 7]
        }}});
        assert_eq!(drop_unknown(&mut v), ["7", "CAP_FOO", "sys_admin"]);
        assert_eq!(
            v["process"]["capabilities"]["bounding"],
            serde_json::json!(["CAP_KILL"])
        );
        assert_eq!(
            v["process"]["capabilities"]["ambient"],
            serde_json::json!([])
        );
        let mut none = serde_json::json!({"process": {}});
        assert!(drop_unknown(&mut none).is_empty());
    }

    #[test]
    fn kernel_rules_are_checked_up_front() {
        let c = caps(r#"{"effective":["CAP_KILL"],"permitted":[]}"#);
        let e = plan(Some(&c), &HOST).unwrap_err().to_string();
        assert!(
            e.contains("process.capabilities.effective: CAP_KILL"),
            "{e}"
        );
        let c = caps(r#"{"inheritable":["CAP_KILL"],"bounding":[]}"#);
        let e = plan(Some(&c), &HOST).unwrap_err().to_string();
        assert!(
            e.contains("process.capabilities.inheritable: CAP_KILL"),
            "{e}"
        );
    }

    #[test]
    fn only_runc_spellings_count_as_known() {
        for bad in ["CAP_FOO", "chown", "SYS_ADMIN"] {
            let mut v = serde_json::json!({"process": {"capabilities": {
                "bounding": ["CAP_KILL"], "ambient": ["CAP_KILL", bad]}}});
            assert_eq!(drop_unknown(&mut v), [bad]);
            assert_eq!(
                v["process"]["capabilities"]["ambient"],
                serde_json::json!(["CAP_KILL"])
            );
        }
    }

    #[test]
    fn reads_status_masks() {
        let s = "Name:\tx\nCapInh:\t0000000000000000\nCapBnd:\t000001fffeffffff\n";
        assert_eq!(status_mask(s, "CapBnd"), Some(0x1fffeffffff));
        assert_eq!(status_mask(s, "CapAmb"), None);
    }
}
