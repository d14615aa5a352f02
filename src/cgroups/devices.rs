//! Device access control: the rule list from `linux.resources.devices` (after a deny of
//! everything, and followed by the devices every container gets and the ones in
//! `linux.devices`), written to devices.allow/deny on v1 or compiled to an eBPF
//! `BPF_PROG_TYPE_CGROUP_DEVICE` program on v2. The last rule that matches decides.

use super::bpf::{self, Block, Insn};
use super::device_cache;
use super::{Target, Write};
use crate::errors::describe_io;
use crate::linux::sys;
use anyhow::{anyhow, bail, Result};
use oci_spec::runtime::{LinuxDeviceCgroup, LinuxDeviceType};
use std::os::fd::AsFd;
use std::path::Path;

// Access bits as the kernel's bpf_cgroup_dev_ctx encodes them (BPF_DEVCG_ACC_*).
const MKNOD: u32 = 1;
const READ: u32 = 2;
const WRITE: u32 = 4;
const ALL: u32 = MKNOD | READ | WRITE;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rule {
    pub allow: bool,
    /// 'a' (any), 'c' or 'b'.
    pub kind: char,
    pub major: Option<u32>,
    pub minor: Option<u32>,
    pub access: u32,
}

const fn allow(kind: char, major: Option<u32>, minor: Option<u32>, access: u32) -> Rule {
    Rule {
        allow: true,
        kind,
        major,
        minor,
        access,
    }
}

/// What every container may use, as runc allows it: mknod of anything, the standard
/// character devices, ptys, and /dev/net/tun.
const DEFAULT_ALLOWED: &[Rule] = &[
    allow('c', None, None, MKNOD),
    allow('b', None, None, MKNOD),
    allow('c', Some(1), Some(3), ALL),    // null
    allow('c', Some(1), Some(8), ALL),    // random
    allow('c', Some(1), Some(7), ALL),    // full
    allow('c', Some(5), Some(0), ALL),    // tty
    allow('c', Some(1), Some(5), ALL),    // zero
    allow('c', Some(1), Some(9), ALL),    // urandom
    allow('c', Some(136), None, ALL),     // pts/*
    allow('c', Some(5), Some(2), ALL),    // ptmx
    allow('c', Some(10), Some(200), ALL), // net/tun
];

/// Letters other than r, w and m are ignored with a warning, as runc ignores them: configs
/// in the wild carry "rwa" (runc's own tests do), and dropping a letter can only narrow
/// what a rule allows or denies to what the kernel knows.
fn parse_access(key: &str, s: Option<&str>) -> u32 {
    let s = s.unwrap_or("rwm");
    if s.is_empty() {
        return ALL;
    }
    let mut bits = 0;
    for c in s.chars() {
        bits |= match c {
            'r' => READ,
            'w' => WRITE,
            'm' => MKNOD,
            _ => {
                crate::logging::warn(&format!(
                    "{key}.access: {s:?}: ignoring {c:?}, only r, w and m exist"
                ));
                0
            }
        };
    }
    bits
}

fn number(key: &str, name: &str, v: Option<i64>) -> Result<Option<u32>> {
    match v {
        None | Some(-1) => Ok(None),
        Some(n) => u32::try_from(n)
            .map(Some)
            .map_err(|_| anyhow!("{key}.{name}: invalid device number {n}")),
    }
}

/// The full rule list, in order, with what a later wildcard overrides dropped.
///
/// The nodes of `linux.devices` get no rule of their own: as in runc, the container may
/// use a node only if `linux.resources.devices` (or the defaults) allow it, so a
/// deny-all list keeps them closed (engines add an allow rule for each device they pass).
pub fn rules(spec: &[LinuxDeviceCgroup]) -> Result<Vec<Rule>> {
    let mut out = vec![Rule {
        allow: false,
        kind: 'a',
        major: None,
        minor: None,
        access: ALL,
    }];
    for (i, d) in spec.iter().enumerate() {
        let key = format!("linux.resources.devices[{i}]");
        let kind = match d.typ().unwrap_or(LinuxDeviceType::A) {
            LinuxDeviceType::A => 'a',
            LinuxDeviceType::C | LinuxDeviceType::U => 'c',
            LinuxDeviceType::B => 'b',
            LinuxDeviceType::P => {
                bail!("{key}.type: \"p\" (a fifo) is not a device the cgroup controls")
            }
        };
        out.push(Rule {
            allow: d.allow(),
            kind,
            major: number(&key, "major", d.major())?,
            minor: number(&key, "minor", d.minor())?,
            access: parse_access(&key, d.access().as_deref()),
        });
    }
    out.extend_from_slice(DEFAULT_ALLOWED);
    if let Some(last) = out.iter().rposition(is_everything) {
        out.drain(..last);
    }
    Ok(out)
}

fn is_everything(r: &Rule) -> bool {
    r.kind == 'a' && r.major.is_none() && r.minor.is_none() && r.access == ALL
}

fn access_text(bits: u32) -> String {
    [(READ, 'r'), (WRITE, 'w'), (MKNOD, 'm')]
        .iter()
        .filter(|(b, _)| bits & b != 0)
        .map(|(_, c)| *c)
        .collect()
}

/// v1: "a" resets the cgroup to allow or deny everything; other rules add exceptions.
pub fn v1_writes(rules: &[Rule]) -> Vec<Write> {
    let t = Target::V1("devices");
    let key = "linux.resources.devices";
    let mut w = Vec::new();
    for r in rules {
        let file = if r.allow {
            "devices.allow"
        } else {
            "devices.deny"
        };
        if is_everything(r) {
            w.push(Write::new(t, file, "a", key));
            continue;
        }
        // The kernel reads any "a ..." line as "everything": spell partial ones out.
        let kinds: &[char] = if r.kind == 'a' {
            &['c', 'b']
        } else {
            &[r.kind]
        };
        let num = |n: Option<u32>| n.map_or("*".to_string(), |n| n.to_string());
        for k in kinds {
            let line = format!(
                "{k} {}:{} {}",
                num(r.major),
                num(r.minor),
                access_text(r.access)
            );
            w.push(Write::new(t, file, line, key));
        }
    }
    w
}

/// v2: the rules as a device filter. The context holds the device type (low 16 bits)
/// and access (high 16 bits) in one word, then major, then minor. Rules are tried from
/// the last to the first; the first to match returns its verdict.
pub fn program(rules: &[Rule]) -> Vec<Insn> {
    let mut p = vec![
        bpf::load_u32(2, 1, 0),
        bpf::and(2, 0xffff),
        bpf::load_u32(3, 1, 0),
        bpf::rsh(3, 16),
        bpf::load_u32(4, 1, 4),
        bpf::load_u32(5, 1, 8),
    ];
    for r in rules.iter().rev() {
        let mut b = Block::default();
        match r.kind {
            'c' => b.push_skip(bpf::jne(2, 2, 0)), // BPF_DEVCG_DEV_CHAR
            'b' => b.push_skip(bpf::jne(2, 1, 0)), // BPF_DEVCG_DEV_BLOCK
            _ => {}
        }
        if r.access != ALL {
            b.push(bpf::mov_reg(1, 3));
            if r.allow {
                // Allowed only if nothing outside the rule's access is asked for.
                b.push(bpf::and(1, (!r.access & ALL) as i32));
                b.push_skip(bpf::jne(1, 0, 0));
            } else {
                // Denied if any of the rule's access is asked for.
                b.push(bpf::and(1, r.access as i32));
                b.push_skip(bpf::jeq(1, 0, 0));
            }
        }
        if let Some(m) = r.major {
            b.push_skip(bpf::jne(4, m, 0));
        }
        if let Some(m) = r.minor {
            b.push_skip(bpf::jne(5, m, 0));
        }
        let unconditional =
            r.kind == 'a' && r.access == ALL && r.major.is_none() && r.minor.is_none();
        b.push(bpf::mov(0, i32::from(r.allow)));
        b.push(bpf::exit());
        p.extend(b.finish());
        // The verifier refuses unreachable instructions: nothing may follow.
        if unconditional {
            return p;
        }
    }
    p.push(bpf::mov(0, 0));
    p.push(bpf::exit());
    p
}

/// Load the rules' program and attach it to the cgroup at `dir`, then detach any program
/// attached before (an update), so the cgroup is never left without one.
pub fn load_program(dir: &Path, rules: &[Rule]) -> Result<()> {
    let code: Vec<u64> = program(rules).iter().map(Insn::encode).collect();
    let prog = device_cache::program(&code, || sys::bpf_load_device_filter(&code)).map_err(
        |(e, log)| {
            anyhow!(
                "linux.resources.devices: load eBPF device program: {}{}",
                describe_io(&e),
                if log.is_empty() {
                    String::new()
                } else {
                    format!(" (verifier: {log})")
                }
            )
        },
    )?;
    let cg = std::fs::File::open(dir)
        .map_err(|e| anyhow!("open {}: {}", dir.display(), describe_io(&e)))?;
    let mut old = sys::bpf_device_programs(cg.as_fd()).unwrap_or_default();
    // The very program may be attached here already (a shared one, see device_cache, on a
    // directory an earlier container left): the kernel refuses it twice, and it stays.
    let id = match old.is_empty() {
        true => None,
        false => sys::bpf_prog_info(prog.as_fd()).ok().map(|i| i.id),
    };
    if let Some(id) = id.filter(|id| old.contains(id)) {
        old.retain(|o| *o != id);
    } else {
        sys::bpf_attach_device_filter(cg.as_fd(), prog.as_fd()).map_err(|e| {
            anyhow!(
                "linux.resources.devices: attach eBPF device program to {}: {}",
                dir.display(),
                describe_io(&e)
            )
        })?;
    }
    for id in old {
        if let Err(e) = sys::bpf_detach_device_program(cg.as_fd(), id) {
            crate::logging::warn(&format!(
                "detach old device program {id}: {}",
                describe_io(&e)
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(json: &str) -> Vec<LinuxDeviceCgroup> {
        serde_json::from_str(json).unwrap()
    }

    /// Run the program the way the kernel would, for one request.
    fn run(p: &[Insn], kind: u32, access: u32, major: u32, minor: u32) -> u64 {
        let ctx = [kind | (access << 16), major, minor];
        let mut r = [0u64; 11];
        let mut pc = 0usize;
        loop {
            let i = p[pc];
            let (d, s) = (i.dst as usize, i.src as usize);
            pc += 1;
            match i.code {
                0x61 => r[d] = u64::from(ctx[i.off as usize / 4]),
                0x57 => r[d] &= i.imm as i64 as u64,
                0x77 => r[d] >>= i.imm,
                0xb7 => r[d] = i.imm as i64 as u64,
                0xbf => r[d] = r[s],
                0x56 => {
                    if r[d] as u32 != i.imm as u32 {
                        pc += i.off as usize
                    }
                }
                0x16 => {
                    if r[d] as u32 == i.imm as u32 {
                        pc += i.off as usize
                    }
                }
                0x95 => return r[0],
                c => panic!("unknown opcode {c:#x}"),
            }
        }
    }

    const C: u32 = 2;
    const B: u32 = 1;

    #[test]
    fn default_deny_with_the_usual_devices() {
        let rules = rules(&spec(r#"[{"allow": false, "access": "rwm"}]"#)).unwrap();
        let p = program(&rules);
        assert_eq!(run(&p, C, READ | WRITE, 1, 3), 1, "/dev/null");
        assert_eq!(run(&p, C, READ, 136, 4), 1, "/dev/pts/4");
        assert_eq!(run(&p, B, READ, 8, 0), 0, "/dev/sda");
        assert_eq!(run(&p, B, MKNOD, 8, 0), 1, "mknod is allowed");
        assert_eq!(run(&p, C, READ, 4, 1), 0, "/dev/tty1");
    }

    #[test]
    fn later_rules_win_and_access_is_respected() {
        let s = spec(
            r#"[{"allow": false, "access": "rwm"},
                         {"allow": true, "type": "b", "major": 8, "minor": 0, "access": "r"},
                         {"allow": true, "type": "b", "major": 8, "access": "rw"},
                         {"allow": false, "type": "b", "major": 8, "minor": 16, "access": "w"}]"#,
        );
        let p = program(&rules(&s).unwrap());
        assert_eq!(run(&p, B, READ, 8, 0), 1);
        assert_eq!(run(&p, B, READ | WRITE, 8, 1), 1);
        assert_eq!(
            run(&p, B, READ | WRITE, 8, 16),
            0,
            "a write to 8:16 is denied"
        );
        assert_eq!(run(&p, B, READ, 8, 16), 1, "a read of 8:16 is not");
        assert_eq!(run(&p, B, READ, 9, 0), 0);
        assert_eq!(
            run(&p, C, READ | WRITE, 10, 229),
            0,
            "a node of linux.devices is no exception to deny-all"
        );
    }

    #[test]
    fn allow_all_drops_what_came_before() {
        let r = rules(&spec(r#"[{"allow": true, "access": "rwm"}, {"allow": false, "type": "c", "major": 1, "minor": 3}]"#)).unwrap();
        assert!(r[0].allow && r[0].kind == 'a');
        let p = program(&r);
        assert_eq!(run(&p, B, READ, 8, 0), 1);
        assert_eq!(
            run(&p, C, READ, 1, 3),
            1,
            "the default list allows null again after the deny"
        );
    }

    #[test]
    fn v1_lines() {
        let r = rules(&spec(
            r#"[{"allow": false, "access": "rwm"}, {"allow": true, "type": "a", "access": "r"}]"#,
        ))
        .unwrap();
        let w = v1_writes(&r);
        let lines: Vec<(&str, &str)> = w
            .iter()
            .map(|w| (w.file.as_str(), w.value.as_str()))
            .collect();
        assert_eq!(
            &lines[..5],
            &[
                ("devices.deny", "a"),
                ("devices.allow", "c *:* r"),
                ("devices.allow", "b *:* r"),
                ("devices.allow", "c *:* m"),
                ("devices.allow", "b *:* m"),
            ]
        );
        assert!(lines.contains(&("devices.allow", "c 1:3 rwm")));
        assert!(lines.contains(&("devices.allow", "c 136:* rwm")));
    }

    #[test]
    fn unknown_access_letters_are_ignored() {
        let r = rules(&spec(
            r#"[{"allow": false, "type": "c", "major": 1, "minor": 11, "access": "rwa"}]"#,
        ))
        .unwrap();
        // Rule 0 is the implicit deny-all, 1 the config's.
        assert_eq!(r[1].access, READ | WRITE);
        let r = rules(&spec(
            r#"[{"allow": true, "type": "c", "major": 4, "minor": 3, "access": "x"}]"#,
        ))
        .unwrap();
        assert_eq!(r[1].access, 0);
    }

    #[test]
    fn bad_rules_name_the_key() {
        for (json, key) in [
            (
                r#"[{"allow": true, "type": "p"}]"#,
                "linux.resources.devices[0].type",
            ),
            (
                r#"[{"allow": true, "type": "c", "major": -5}]"#,
                "linux.resources.devices[0].major",
            ),
        ] {
            let e = rules(&spec(json)).unwrap_err().to_string();
            assert!(e.starts_with(key), "{e}");
        }
    }
}
