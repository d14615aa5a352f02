//! Unit tests of `seccomp::plan`: profiles checked, translated and compiled, down to
//! the BPF program libseccomp exports.

use super::*;

pub(super) const X86_64: u32 = 0xc000_003e;
pub(super) const I386: u32 = 0x4000_0003;
pub(super) const X32_BIT: u32 = 0x4000_0000;
pub(super) const RET_ALLOW: u32 = 0x7fff_0000;
pub(super) const RET_ERRNO: u32 = 0x0005_0000;
pub(super) const RET_KILL_THREAD: u32 = 0;
const RET_KILL_PROCESS: u32 = 0x8000_0000;
const RET_TRAP: u32 = 0x0003_0000;
const RET_TRACE: u32 = 0x7ff0_0000;
const RET_LOG: u32 = 0x7ffc_0000;
const RET_USER_NOTIF: u32 = 0x7fc0_0000;

// x86_64 and i386 syscall numbers used below.
pub(super) const MKDIR: u32 = 83;
const GETPPID: u32 = 110;
const GETPPID_I386: u32 = 64;
const PERSONALITY: u32 = 135;
const CLONE: u32 = 56;
pub(super) const CLONE3: u32 = 435;
pub(super) const READ: u32 = 0;

pub(super) fn seccomp(json: &str) -> LinuxSeccomp {
    serde_json::from_str(json).unwrap()
}

/// `plan` without the cache.
pub(super) fn try_compile(json: &str) -> Result<SeccompPlan> {
    let p = profile(&seccomp(json))?;
    Ok(SeccompPlan {
        program: build(&p)?,
        flags: p.flags,
        listener: p.listener,
    })
}

pub(super) fn compile(json: &str) -> SeccompPlan {
    try_compile(json).unwrap()
}

fn error(json: &str) -> String {
    format!("{:#}", try_compile(json).unwrap_err())
}

/// Runs a classic BPF program on `struct seccomp_data`, as the kernel would, and
/// returns (the filter's verdict, how many instructions ran).
pub(super) fn run(prog: &[u64], arch: u32, nr: u32, args: [u64; 6]) -> (u32, usize) {
    let mut data = Vec::new();
    data.extend_from_slice(&nr.to_ne_bytes());
    data.extend_from_slice(&arch.to_ne_bytes());
    data.extend_from_slice(&0u64.to_ne_bytes());
    for a in args {
        data.extend_from_slice(&a.to_ne_bytes());
    }
    let word =
        |off: u32| u32::from_ne_bytes(data[off as usize..off as usize + 4].try_into().unwrap());
    let (mut a, mut x, mut mem) = (0u32, 0u32, [0u32; 16]);
    let mut pc = 0usize;
    let mut steps = 0;
    loop {
        let b = prog[pc].to_ne_bytes();
        let code = u16::from_ne_bytes([b[0], b[1]]);
        let (jt, jf) = (b[2] as usize, b[3] as usize);
        let k = u32::from_ne_bytes([b[4], b[5], b[6], b[7]]);
        steps += 1;
        pc += 1;
        let src = if code & 0x08 != 0 { x } else { k };
        match code & 0x07 {
            0x00 => match code & 0xe0 {
                0x20 => a = word(k),         // BPF_LD | BPF_ABS (BPF_W)
                0x00 => a = k,               // BPF_IMM
                0x60 => a = mem[k as usize], // BPF_MEM
                m => panic!("ld mode {m:#x}"),
            },
            0x01 => match code & 0xe0 {
                0x00 => x = k,
                0x60 => x = mem[k as usize],
                m => panic!("ldx mode {m:#x}"),
            },
            0x02 => mem[k as usize] = a,
            0x03 => mem[k as usize] = x,
            0x04 => {
                a = match code & 0xf0 {
                    0x00 => a.wrapping_add(src),
                    0x10 => a.wrapping_sub(src),
                    0x40 => a | src,
                    0x50 => a & src,
                    op => panic!("alu op {op:#x}"),
                }
            }
            0x05 => {
                let taken = match code & 0xf0 {
                    0x00 => {
                        pc += k as usize;
                        continue;
                    }
                    0x10 => a == src,
                    0x20 => a > src,
                    0x30 => a >= src,
                    0x40 => a & src != 0,
                    op => panic!("jmp op {op:#x}"),
                };
                pc += if taken { jt } else { jf };
            }
            0x06 => return (if code & 0x18 == 0x10 { a } else { k }, steps),
            0x07 => {
                if code & 0xf8 == 0 {
                    x = a
                } else {
                    a = x
                }
            }
            _ => unreachable!(),
        }
    }
}

pub(super) fn verdict(p: &SeccompPlan, arch: u32, nr: u32, args: [u64; 6]) -> u32 {
    run(&p.program, arch, nr, args).0
}

pub(super) fn x86_64(p: &SeccompPlan, nr: u32) -> u32 {
    verdict(p, X86_64, nr, [0; 6])
}

#[test]
fn allow_list_with_errno_default() {
    let p = compile(
        r#"{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[
            {"names":["read","getppid"],"action":"SCMP_ACT_ALLOW"},
            {"names":["clone3"],"action":"SCMP_ACT_ERRNO","errnoRet":38}]}"#,
    );
    assert_eq!(x86_64(&p, READ), RET_ALLOW);
    assert_eq!(x86_64(&p, GETPPID), RET_ALLOW);
    assert_eq!(x86_64(&p, MKDIR), RET_ERRNO | libc::EPERM as u32);
    assert_eq!(x86_64(&p, CLONE3), RET_ERRNO | 38);
    assert_eq!(p.flags, libc::SECCOMP_FILTER_FLAG_SPEC_ALLOW as u32);
    assert!(p.listener.is_none());
}

#[test]
fn default_errno_ret() {
    let p = compile(r#"{"defaultAction":"SCMP_ACT_ERRNO","defaultErrnoRet":38}"#);
    assert_eq!(x86_64(&p, MKDIR), RET_ERRNO | 38);
}

#[test]
fn every_action() {
    let p = compile(
        r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[
            {"names":["mkdir"],"action":"SCMP_ACT_KILL"},
            {"names":["rmdir"],"action":"SCMP_ACT_KILL_THREAD"},
            {"names":["getppid"],"action":"SCMP_ACT_KILL_PROCESS"},
            {"names":["getpgrp"],"action":"SCMP_ACT_TRAP"},
            {"names":["getsid"],"action":"SCMP_ACT_TRACE","errnoRet":7},
            {"names":["getpgid"],"action":"SCMP_ACT_TRACE"},
            {"names":["uname"],"action":"SCMP_ACT_LOG"},
            {"names":["sync"],"action":"SCMP_ACT_NOTIFY"},
            {"names":["read"],"action":"SCMP_ACT_ALLOW"}],
          "listenerPath":"/run/agent.sock"}"#,
    );
    assert_eq!(x86_64(&p, MKDIR), RET_KILL_THREAD);
    assert_eq!(x86_64(&p, 84), RET_KILL_THREAD);
    assert_eq!(x86_64(&p, GETPPID), RET_KILL_PROCESS);
    assert_eq!(x86_64(&p, 111), RET_TRAP);
    assert_eq!(x86_64(&p, 124), RET_TRACE | 7);
    assert_eq!(x86_64(&p, 121), RET_TRACE | libc::EPERM as u32);
    assert_eq!(x86_64(&p, 63), RET_LOG);
    assert_eq!(x86_64(&p, 162), RET_USER_NOTIF);
    assert_eq!(x86_64(&p, READ), RET_ALLOW);
    assert_eq!(
        p.flags,
        (libc::SECCOMP_FILTER_FLAG_NEW_LISTENER | libc::SECCOMP_FILTER_FLAG_SPEC_ALLOW) as u32
    );
    assert_eq!(
        p.listener,
        Some(Listener {
            path: "/run/agent.sock".into(),
            metadata: None
        })
    );
}

#[test]
fn architectures_x86_64_x86_x32() {
    let json = |arches: &str| {
        format!(
            r#"{{"defaultAction":"SCMP_ACT_ALLOW","architectures":[{arches}],
                "syscalls":[{{"names":["getppid"],"action":"SCMP_ACT_ERRNO","errnoRet":5}}]}}"#
        )
    };
    let all = compile(&json(
        r#""SCMP_ARCH_X86_64","SCMP_ARCH_X86","SCMP_ARCH_X32""#,
    ));
    assert_eq!(verdict(&all, X86_64, GETPPID, [0; 6]), RET_ERRNO | 5);
    assert_eq!(verdict(&all, I386, GETPPID_I386, [0; 6]), RET_ERRNO | 5);
    assert_eq!(
        verdict(&all, X86_64, X32_BIT | GETPPID, [0; 6]),
        RET_ERRNO | 5
    );
    assert_eq!(verdict(&all, I386, GETPPID, [0; 6]), RET_ALLOW);

    // Without x86 and x32, their calls are killed rather than let through the
    // deny-list unchecked.
    let native = compile(&json(r#""SCMP_ARCH_X86_64""#));
    assert_eq!(verdict(&native, X86_64, GETPPID, [0; 6]), RET_ERRNO | 5);
    assert_eq!(
        verdict(&native, I386, GETPPID_I386, [0; 6]),
        RET_KILL_THREAD
    );
    assert_eq!(
        verdict(&native, X86_64, X32_BIT | GETPPID, [0; 6]),
        RET_KILL_THREAD
    );
}

#[test]
fn argument_rules() {
    let p = compile(
        r#"{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[
            {"names":["personality"],"action":"SCMP_ACT_ALLOW",
             "args":[{"index":0,"value":0,"op":"SCMP_CMP_EQ"}]},
            {"names":["personality"],"action":"SCMP_ACT_ALLOW",
             "args":[{"index":0,"value":8,"op":"SCMP_CMP_EQ"}]},
            {"names":["read"],"action":"SCMP_ACT_ALLOW",
             "args":[{"index":0,"value":3,"op":"SCMP_CMP_LT"},
                     {"index":2,"value":100,"op":"SCMP_CMP_LE"}]}]}"#,
    );
    let eperm = RET_ERRNO | libc::EPERM as u32;
    let call = |nr, args| verdict(&p, X86_64, nr, args);
    assert_eq!(call(PERSONALITY, [0, 0, 0, 0, 0, 0]), RET_ALLOW);
    assert_eq!(call(PERSONALITY, [8, 0, 0, 0, 0, 0]), RET_ALLOW);
    assert_eq!(call(PERSONALITY, [0x40_0000, 0, 0, 0, 0, 0]), eperm);
    // Different indices: both must hold.
    assert_eq!(call(READ, [2, 0, 100, 0, 0, 0]), RET_ALLOW);
    assert_eq!(call(READ, [3, 0, 100, 0, 0, 0]), eperm);
    assert_eq!(call(READ, [2, 0, 101, 0, 0, 0]), eperm);
}

#[test]
fn every_operator_and_64_bit_values() {
    let rule = |op: &str, value: u64, two: &str| {
        compile(&format!(
            r#"{{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[
                {{"names":["read"],"action":"SCMP_ACT_ALLOW",
                  "args":[{{"index":1,"value":{value}{two},"op":"{op}"}}]}}]}}"#
        ))
    };
    let allowed =
        |p: &SeccompPlan, v: u64| verdict(p, X86_64, READ, [0, v, 0, 0, 0, 0]) == RET_ALLOW;
    let big = 0x1_0000_0005u64;
    let ne = rule("SCMP_CMP_NE", big, "");
    assert!(allowed(&ne, 5) && !allowed(&ne, big));
    let lt = rule("SCMP_CMP_LT", big, "");
    assert!(allowed(&lt, 0xffff_ffff) && !allowed(&lt, big));
    let le = rule("SCMP_CMP_LE", big, "");
    assert!(allowed(&le, big) && !allowed(&le, big + 1));
    let eq = rule("SCMP_CMP_EQ", big, "");
    assert!(allowed(&eq, big) && !allowed(&eq, 5));
    let ge = rule("SCMP_CMP_GE", big, "");
    assert!(allowed(&ge, big) && !allowed(&ge, big - 1));
    let gt = rule("SCMP_CMP_GT", big, "");
    assert!(allowed(&gt, big + 1) && !allowed(&gt, big));
    // Docker's clone rule: no CLONE_NEW* flag may be set.
    let masked = rule("SCMP_CMP_MASKED_EQ", 0x7e02_0000, r#","valueTwo":0"#);
    assert!(allowed(&masked, 0x0120_0011) && !allowed(&masked, 0x1000_0011));
    let masked = rule("SCMP_CMP_MASKED_EQ", 0xff, r#","valueTwo":8"#);
    assert!(allowed(&masked, 0x1208) && !allowed(&masked, 0x1209));
}

#[test]
fn conditions_on_one_index_are_alternatives() {
    // Each condition becomes its own rule, as in runc: 0 or 8, not 0 and 8.
    let p = compile(
        r#"{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[
            {"names":["personality"],"action":"SCMP_ACT_ALLOW",
             "args":[{"index":0,"value":0,"op":"SCMP_CMP_EQ"},
                     {"index":0,"value":8,"op":"SCMP_CMP_EQ"}]}]}"#,
    );
    assert_eq!(verdict(&p, X86_64, PERSONALITY, [0; 6]), RET_ALLOW);
    assert_eq!(
        verdict(&p, X86_64, PERSONALITY, [8, 0, 0, 0, 0, 0]),
        RET_ALLOW
    );
    assert_ne!(
        verdict(&p, X86_64, PERSONALITY, [9, 0, 0, 0, 0, 0]),
        RET_ALLOW
    );
    let rules = profile(&seccomp(
        r#"{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[
            {"names":["personality"],"action":"SCMP_ACT_ALLOW",
             "args":[{"index":0,"value":0,"op":"SCMP_CMP_EQ"},
                     {"index":0,"value":8,"op":"SCMP_CMP_EQ"}]}]}"#,
    ))
    .unwrap()
    .rules;
    assert_eq!(rules.len(), 1);
    assert_eq!(rules[0].rules.len(), 2);
}

#[test]
fn rules_equal_to_the_default_and_unknown_names_are_skipped() {
    let s = r#"{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[
        {"names":["mkdir"],"action":"SCMP_ACT_ERRNO"},
        {"names":["rmdir"],"action":"SCMP_ACT_ERRNO","errnoRet":1},
        {"names":["no_such_syscall","read"],"action":"SCMP_ACT_ALLOW"}]}"#;
    let prof = profile(&seccomp(s)).unwrap();
    let names: Vec<&str> = prof.rules.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(names, ["read"]);
    let p = compile(s);
    assert_eq!(x86_64(&p, READ), RET_ALLOW);
    assert_eq!(x86_64(&p, MKDIR), RET_ERRNO | 1);
    // An ERRNO rule with another errno than the default's is not redundant.
    let p = compile(
        r#"{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[
            {"names":["mkdir"],"action":"SCMP_ACT_ERRNO","errnoRet":2}]}"#,
    );
    assert_eq!(x86_64(&p, MKDIR), RET_ERRNO | 2);
}

#[test]
fn flags() {
    let p = compile(
        r#"{"defaultAction":"SCMP_ACT_ALLOW","flags":["SECCOMP_FILTER_FLAG_LOG",
            "SECCOMP_FILTER_FLAG_SPEC_ALLOW","SECCOMP_FILTER_FLAG_TSYNC",
            "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"]}"#,
    );
    assert_eq!(
        p.flags,
        (libc::SECCOMP_FILTER_FLAG_LOG | libc::SECCOMP_FILTER_FLAG_SPEC_ALLOW) as u32
    );
    let p = compile(
        r#"{"defaultAction":"SCMP_ACT_ALLOW","flags":["SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"],
            "listenerPath":"/a","listenerMetadata":"m",
            "syscalls":[{"names":["mkdir"],"action":"SCMP_ACT_NOTIFY"}]}"#,
    );
    assert_eq!(
        p.flags,
        (libc::SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV | libc::SECCOMP_FILTER_FLAG_NEW_LISTENER)
            as u32
    );
    assert_eq!(p.listener.unwrap().metadata.as_deref(), Some("m"));
    // An empty list is no flags at all; no list is SPEC_ALLOW (runc's default).
    assert_eq!(
        compile(r#"{"defaultAction":"SCMP_ACT_ALLOW","flags":[]}"#).flags,
        0
    );
    assert_eq!(
        compile(r#"{"defaultAction":"SCMP_ACT_ALLOW"}"#).flags,
        libc::SECCOMP_FILTER_FLAG_SPEC_ALLOW as u32
    );
    // listenerPath without NOTIFY is ignored, as the spec says.
    let p = compile(r#"{"defaultAction":"SCMP_ACT_ALLOW","listenerPath":"/a"}"#);
    assert!(p.listener.is_none());
}

#[test]
fn bad_profiles_name_the_key() {
    let cases = [
        (
            r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["read"],"action":"SCMP_ACT_ERRNO","args":[{"index":6,"value":0,"op":"SCMP_CMP_EQ"}]}]}"#,
            "linux.seccomp.syscalls[0].args[0].index",
        ),
        (
            r#"{"defaultAction":"SCMP_ACT_ALLOW","defaultErrnoRet":3}"#,
            "linux.seccomp.defaultErrnoRet",
        ),
        (
            r#"{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{"names":["read"],"action":"SCMP_ACT_ALLOW","errnoRet":3}]}"#,
            "linux.seccomp.syscalls[0].errnoRet",
        ),
        (
            r#"{"defaultAction":"SCMP_ACT_ERRNO","defaultErrnoRet":70000}"#,
            "linux.seccomp.defaultErrnoRet",
        ),
        (
            r#"{"defaultAction":"SCMP_ACT_NOTIFY","listenerPath":"/a"}"#,
            "linux.seccomp.defaultAction",
        ),
        (
            r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["mkdir"],"action":"SCMP_ACT_NOTIFY"}]}"#,
            "linux.seccomp.listenerPath",
        ),
        (
            r#"{"defaultAction":"SCMP_ACT_ALLOW","listenerPath":"/a","syscalls":[{"names":["sendmsg"],"action":"SCMP_ACT_NOTIFY"}]}"#,
            "linux.seccomp.syscalls[0]",
        ),
        // runc's words, which its tests and callers match.
        (
            r#"{"defaultAction":"SCMP_ACT_ALLOW","listenerPath":"/a","syscalls":[{"names":["mkdir"],"action":"SCMP_ACT_NOTIFY"},{"names":["read","write"],"action":"SCMP_ACT_NOTIFY"}]}"#,
            "linux.seccomp.syscalls[1]: SCMP_ACT_NOTIFY cannot be used for the write syscall",
        ),
        (
            r#"{"defaultAction":"SCMP_ACT_ALLOW","listenerMetadata":"x"}"#,
            "linux.seccomp.listenerMetadata",
        ),
    ];
    for (json, key) in cases {
        let e = error(json);
        assert!(e.starts_with(key), "{json}: {e}");
    }
    // LoongArch came with libseccomp 2.6.
    let v = libseccomp::ScmpVersion::current().unwrap();
    if (v.major, v.minor) < (2, 6) {
        let e = error(
            r#"{"defaultAction":"SCMP_ACT_ALLOW","architectures":["SCMP_ARCH_X86","SCMP_ARCH_LOONGARCH64"]}"#,
        );
        assert!(
            e.starts_with("linux.seccomp.architectures[1]: SCMP_ARCH_LOONGARCH64 is not supported"),
            "{e}"
        );
    }
}

#[test]
fn raw_names_are_checked_with_their_key() {
    let check = |seccomp: serde_json::Value| {
        check_raw(&serde_json::json!({"linux": {"seccomp": seccomp}}))
            .err()
            .map(|e| e.to_string())
    };
    let e = check(serde_json::json!({"defaultAction": "SCMP_ACT_BOGUS"})).unwrap();
    assert_eq!(
        e,
        "linux.seccomp.defaultAction: unknown action \"SCMP_ACT_BOGUS\""
    );
    let e = check(serde_json::json!({"defaultAction": "SCMP_ACT_ALLOW",
        "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_PDP11"]}))
    .unwrap();
    assert!(
        e.starts_with("linux.seccomp.architectures[1]: unknown architecture"),
        "{e}"
    );
    let e = check(serde_json::json!({"defaultAction": "SCMP_ACT_ALLOW",
        "flags": ["SECCOMP_FILTER_FLAG_BOGUS"]}))
    .unwrap();
    assert!(e.starts_with("linux.seccomp.flags[0]: unknown flag"), "{e}");
    let e = check(serde_json::json!({"defaultAction": "SCMP_ACT_ALLOW",
        "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ALLOW"},
                     {"names": ["read"], "action": "SCMP_ACT_NOPE"}]}))
    .unwrap();
    assert!(
        e.starts_with("linux.seccomp.syscalls[1].action: unknown action"),
        "{e}"
    );
    let e = check(serde_json::json!({"defaultAction": "SCMP_ACT_ALLOW",
        "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ERRNO",
                      "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_SIMILAR"}]}]}))
    .unwrap();
    assert!(
        e.starts_with("linux.seccomp.syscalls[0].args[0].op: unknown operator"),
        "{e}"
    );
    let ok = check(serde_json::json!({"defaultAction": "SCMP_ACT_KILL_PROCESS",
        "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32", "SCMP_ARCH_AARCH64"],
        "flags": ["SECCOMP_FILTER_FLAG_LOG"],
        "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ALLOW",
                      "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_MASKED_EQ"}]}]}));
    assert_eq!(ok, None);
}

/// The Docker-like profile the integration tests and the bench use.
pub(super) fn docker_like() -> SeccompPlan {
    compile(include_str!("../../../bench/seccomp-default.json"))
}

#[test]
fn docker_like_profile() {
    let p = docker_like();
    let enosys = RET_ERRNO | libc::ENOSYS as u32;
    let eperm = RET_ERRNO | libc::EPERM as u32;
    assert_eq!(x86_64(&p, READ), RET_ALLOW);
    assert_eq!(x86_64(&p, CLONE3), enosys);
    assert_eq!(
        verdict(&p, X86_64, CLONE, [0x0120_0011, 0, 0, 0, 0, 0]),
        RET_ALLOW
    );
    assert_eq!(
        verdict(&p, X86_64, CLONE, [0x1000_0011, 0, 0, 0, 0, 0]),
        eperm
    );
    // mount is not on the list; i386 read (3) and x32 read are.
    assert_eq!(x86_64(&p, 165), eperm);
    assert_eq!(verdict(&p, I386, 3, [0; 6]), RET_ALLOW);
    assert_eq!(verdict(&p, X86_64, X32_BIT | READ, [0; 6]), RET_ALLOW);
}

#[test]
fn binary_tree_keeps_the_per_syscall_cost_low() {
    let p = docker_like();
    // The worst case over every x86_64 syscall number: a linear filter would run
    // hundreds of instructions for the last ones.
    let worst = (0..460)
        .map(|nr| run(&p.program, X86_64, nr, [0; 6]).1)
        .max()
        .unwrap();
    assert!(worst < 40, "worst case {worst} instructions");
}
