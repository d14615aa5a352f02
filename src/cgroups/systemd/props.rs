//! `linux.resources` → the unit properties systemd manages itself, spelled for the
//! host's cgroup version (v1: MemoryLimit, CPUShares, BlockIOWeight; v2: MemoryMax,
//! CPUWeight, IOWeight, AllowedCPUs). systemd writes these to the cgroup and writes
//! them again whenever it re-realizes the unit, so they must say what berth writes.

use super::super::devices::Rule;
use super::super::Mode;
use super::wire::Val;
use anyhow::Result;
use oci_spec::runtime::{LinuxCpu, LinuxMemory, LinuxResources};

pub type Prop = (String, Val);

const INFINITY: u64 = u64::MAX;

fn prop(name: &str, v: Val) -> Prop {
    (name.to_string(), v)
}

/// Properties for `res`; `devices` only at create (update leaves devices alone).
pub fn resources(res: &LinuxResources, mode: Mode, devices: Option<&[Rule]>) -> Result<Vec<Prop>> {
    let v2 = mode == Mode::Unified;
    let mut p = Vec::new();
    if let Some(m) = res.memory() {
        memory(m, v2, &mut p);
    }
    if let Some(c) = res.cpu() {
        cpu(c, v2, &mut p)?;
    }
    if let Some(l) = res.pids().map(|p| p.limit()) {
        p.push(prop(
            "TasksMax",
            Val::U64(if l > 0 { l as u64 } else { INFINITY }),
        ));
    }
    if let Some(w) = res
        .block_io()
        .as_ref()
        .and_then(|b| b.weight())
        .filter(|w| *w != 0)
    {
        let w = u64::from(w);
        p.push(match v2 {
            true => prop(
                "IOWeight",
                Val::U64(1 + (w.clamp(10, 1000) - 10) * 9999 / 990),
            ),
            false => prop("BlockIOWeight", Val::U64(w)),
        });
    }
    if let Some(rules) = devices {
        p.extend(device_props(rules));
    }
    Ok(p)
}

fn memory(m: &LinuxMemory, v2: bool, p: &mut Vec<Prop>) {
    let limit = |n: i64| if n < 0 { INFINITY } else { n as u64 };
    if let Some(l) = m.limit().filter(|l| *l != 0) {
        p.push(prop(
            if v2 { "MemoryMax" } else { "MemoryLimit" },
            Val::U64(limit(l)),
        ));
    }
    if v2 {
        if let Some(r) = m.reservation().filter(|r| *r > 0) {
            p.push(prop("MemoryLow", Val::U64(r as u64)));
        }
        // OCI's swap is memory+swap; v2's MemorySwapMax is swap alone.
        if let (Some(s), Some(l)) = (m.swap(), m.limit()) {
            let swap = if s < 0 {
                INFINITY
            } else {
                (s - l).max(0) as u64
            };
            p.push(prop("MemorySwapMax", Val::U64(swap)));
        }
    }
}

fn cpu(c: &LinuxCpu, v2: bool, p: &mut Vec<Prop>) -> Result<()> {
    if let Some(s) = c.shares().filter(|s| *s != 0) {
        p.push(match v2 {
            true => prop("CPUWeight", Val::U64(1 + ((s.max(2) - 2) * 9999) / 262142)),
            false => prop("CPUShares", Val::U64(s)),
        });
    }
    let period = c.period().filter(|p| *p != 0);
    if let Some(q) = c.quota().filter(|q| *q != 0) {
        let per_sec = if q < 0 {
            INFINITY
        } else {
            // systemd keeps a quota per second in 10 ms steps: round up, as runc does.
            let us = (q as u64).saturating_mul(1_000_000) / period.unwrap_or(100_000);
            us.div_ceil(10_000) * 10_000
        };
        p.push(prop("CPUQuotaPerSecUSec", Val::U64(per_sec)));
    }
    if let Some(per) = period {
        p.push(prop("CPUQuotaPeriodUSec", Val::U64(per)));
    }
    // systemd manages cpusets only on v2.
    if v2 {
        if let Some(cpus) = c.cpus().as_deref().filter(|s| !s.is_empty()) {
            p.push(prop("AllowedCPUs", bitmask(cpus)?));
        }
        if let Some(mems) = c.mems().as_deref().filter(|s| !s.is_empty()) {
            p.push(prop("AllowedMemoryNodes", bitmask(mems)?));
        }
    }
    Ok(())
}

/// "0-2,5" → systemd's CPU/node bitmask (bit i of byte i/8).
fn bitmask(list: &str) -> Result<Val> {
    let ids = super::super::resources::parse_list(list)?;
    let mut bytes = vec![0u8; ids.iter().max().map_or(0, |m| *m as usize / 8 + 1)];
    for i in ids {
        bytes[i as usize / 8] |= 1 << (i % 8);
    }
    Ok(Val::Array(
        "y".into(),
        bytes.into_iter().map(Val::Byte).collect(),
    ))
}

/// DevicePolicy and DeviceAllow for the rule list (which starts with deny-all or
/// allow-all). systemd has no deny list: a deny after an allow it cannot say is left to
/// berth's own rules, which are written after systemd's (and re-written by `update`).
fn device_props(rules: &[Rule]) -> Vec<Prop> {
    let open = rules.first().is_some_and(|r| r.allow);
    let mut allow: Vec<Val> = Vec::new();
    if !open {
        for r in rules.iter().skip(1).filter(|r| r.allow) {
            for (dev, access) in device_entries(r) {
                allow.push(Val::Struct(vec![Val::Str(dev), Val::Str(access)]));
            }
        }
    }
    vec![
        prop(
            "DevicePolicy",
            Val::str(if open { "auto" } else { "strict" }),
        ),
        prop("DeviceAllow", Val::Array("(ss)".into(), allow)),
    ]
}

fn device_entries(r: &Rule) -> Vec<(String, String)> {
    let access: String = [(2, 'r'), (4, 'w'), (1, 'm')]
        .iter()
        .filter(|(b, _)| r.access & b != 0)
        .map(|(_, c)| *c)
        .collect();
    let kinds: &[(&str, &str)] = match r.kind {
        'c' => &[("char", "Character")],
        'b' => &[("block", "Block")],
        _ => &[("char", "Character"), ("block", "Block")],
    };
    let mut out = Vec::new();
    for (kind, section) in kinds {
        let dev = match (r.major, r.minor) {
            (None, None) => Some(format!("{kind}-*")),
            (Some(ma), Some(mi)) => Some(format!("/dev/{kind}/{ma}:{mi}")),
            // A whole major: systemd knows it by its name in /proc/devices.
            (Some(ma), None) => major_name(section, ma).map(|n| format!("{kind}-{n}")),
            (None, Some(_)) => None,
        };
        match dev {
            Some(d) => out.push((d, access.clone())),
            None => crate::logging::debug(&format!(
                "systemd: device rule {r:?} has no DeviceAllow spelling; berth's own rules apply it"
            )),
        }
    }
    out
}

fn major_name(section: &str, major: u32) -> Option<String> {
    let text = std::fs::read_to_string("/proc/devices").ok()?;
    let mut in_section = false;
    for line in text.lines() {
        if line.ends_with("devices:") {
            in_section = line.starts_with(section);
            continue;
        }
        let mut f = line.split_whitespace();
        if in_section && f.next()?.parse::<u32>().ok()? == major {
            return f.next().map(str::to_string);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn res(json: &str) -> LinuxResources {
        serde_json::from_str(json).unwrap()
    }

    fn get<'a>(p: &'a [Prop], name: &str) -> Option<&'a Val> {
        p.iter().find(|(n, _)| n == name).map(|(_, v)| v)
    }

    #[test]
    fn v1_and_v2_spellings() {
        let r = res(
            r#"{"memory":{"limit":67108864,"swap":134217728},"cpu":{"shares":1024,"quota":50000,"period":100000,"cpus":"0-1,9"},"pids":{"limit":64},"blockIO":{"weight":500}}"#,
        );
        let v1 = resources(&r, Mode::Hybrid, None).unwrap();
        assert_eq!(get(&v1, "MemoryLimit"), Some(&Val::U64(67108864)));
        assert_eq!(get(&v1, "CPUShares"), Some(&Val::U64(1024)));
        assert_eq!(get(&v1, "CPUQuotaPerSecUSec"), Some(&Val::U64(500000)));
        assert_eq!(get(&v1, "TasksMax"), Some(&Val::U64(64)));
        assert_eq!(get(&v1, "BlockIOWeight"), Some(&Val::U64(500)));
        assert_eq!(get(&v1, "AllowedCPUs"), None);
        let v2 = resources(&r, Mode::Unified, None).unwrap();
        assert_eq!(get(&v2, "MemoryMax"), Some(&Val::U64(67108864)));
        assert_eq!(get(&v2, "MemorySwapMax"), Some(&Val::U64(67108864)));
        assert_eq!(get(&v2, "CPUWeight"), Some(&Val::U64(39)));
        assert_eq!(get(&v2, "IOWeight"), Some(&Val::U64(4950)));
        let cpus = Val::Array("y".into(), vec![Val::Byte(3), Val::Byte(2)]);
        assert_eq!(get(&v2, "AllowedCPUs"), Some(&cpus));
    }

    #[test]
    fn limits_and_rounding() {
        let r = res(
            r#"{"memory":{"limit":-1},"cpu":{"quota":12345,"period":100000},"pids":{"limit":-1}}"#,
        );
        let p = resources(&r, Mode::Hybrid, None).unwrap();
        assert_eq!(get(&p, "MemoryLimit"), Some(&Val::U64(u64::MAX)));
        assert_eq!(get(&p, "TasksMax"), Some(&Val::U64(u64::MAX)));
        assert_eq!(get(&p, "CPUQuotaPerSecUSec"), Some(&Val::U64(130000)));
    }

    #[test]
    fn devices() {
        let rules = crate::cgroups::devices::rules(&[]).unwrap();
        let p = device_props(&rules);
        assert_eq!(p[0].1, Val::str("strict"));
        let Val::Array(_, allow) = &p[1].1 else {
            panic!()
        };
        let has = |d: &str, a: &str| allow.contains(&Val::Struct(vec![Val::str(d), Val::str(a)]));
        assert!(has("/dev/char/1:3", "rwm") && has("char-*", "m") && has("block-*", "m"));
        let open = [Rule {
            allow: true,
            kind: 'a',
            major: None,
            minor: None,
            access: 7,
        }];
        assert_eq!(device_props(&open)[0].1, Val::str("auto"));
    }
}
