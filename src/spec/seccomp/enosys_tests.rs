//! Unit tests of the -ENOSYS prefix: the programs `plan` builds, run in the interpreter of
//! `tests.rs`, and the prefix alone for architectures this host cannot compile for.

use super::enosys::{last_syscalls, prefix, Last};
use super::profile::profile;
use super::tests::*;
use libseccomp::ScmpArch;

const ENOSYS: u32 = RET_ERRNO | libc::ENOSYS as u32;
const EPERM: u32 = RET_ERRNO | libc::EPERM as u32;
const RMDIR: u32 = 84;
const GETPPID: u32 = 110;

fn allow_list(default: &str, arches: &str, names: &str) -> String {
    format!(
        r#"{{"defaultAction":"{default}","architectures":[{arches}],
            "syscalls":[{{"names":[{names}],"action":"SCMP_ACT_ALLOW"}}]}}"#
    )
}

const X86_ALL: &str = r#""SCMP_ARCH_X86_64","SCMP_ARCH_X86","SCMP_ARCH_X32""#;

#[test]
fn syscalls_above_the_largest_named_get_enosys_per_architecture() {
    // Largest named: getppid, 110 on x86_64 and x32, 64 on i386.
    let p = compile(&allow_list(
        "SCMP_ACT_ERRNO",
        X86_ALL,
        r#""read","mkdir","getppid""#,
    ));
    assert_eq!(x86_64(&p, MKDIR), RET_ALLOW);
    assert_eq!(x86_64(&p, GETPPID), RET_ALLOW);
    // Known to the profile's author but not listed: the default action.
    assert_eq!(x86_64(&p, RMDIR), EPERM);
    // Newer than anything the profile names: ENOSYS, so libc falls back.
    assert_eq!(x86_64(&p, GETPPID + 1), ENOSYS);
    assert_eq!(x86_64(&p, CLONE3), ENOSYS);
    assert_eq!(x86_64(&p, 1000), ENOSYS);
    // x32: the same numbers with bit 30.
    assert_eq!(verdict(&p, X86_64, X32_BIT | GETPPID, [0; 6]), RET_ALLOW);
    assert_eq!(verdict(&p, X86_64, X32_BIT | RMDIR, [0; 6]), EPERM);
    assert_eq!(verdict(&p, X86_64, X32_BIT | 1000, [0; 6]), ENOSYS);
    // i386: getppid is 64 there, rmdir 40.
    assert_eq!(verdict(&p, I386, 64, [0; 6]), RET_ALLOW);
    assert_eq!(verdict(&p, I386, 40, [0; 6]), EPERM);
    assert_eq!(verdict(&p, I386, 65, [0; 6]), ENOSYS);
    // An architecture the profile does not list still gets the filter's bad-arch kill.
    assert_eq!(verdict(&p, 0xc000_00b7, 1000, [0; 6]), RET_KILL_THREAD);
}

#[test]
fn every_named_syscall_counts_whatever_its_action() {
    // pidfd_open (434) only in a rule equal to the default, which the filter drops:
    // it still moves the limit.
    let json = r#"{"defaultAction":"SCMP_ACT_ERRNO","architectures":["SCMP_ARCH_X86_64"],
        "syscalls":[{"names":["getppid"],"action":"SCMP_ACT_ALLOW"},
                    {"names":["pidfd_open","no_such_syscall"],"action":"SCMP_ACT_ERRNO"}]}"#;
    let p = compile(json);
    assert_eq!(x86_64(&p, 433), EPERM);
    assert_eq!(x86_64(&p, 434), EPERM);
    assert_eq!(x86_64(&p, CLONE3), ENOSYS);
    // The cache key covers the prefix: without that rule the profile's rules are the
    // same, its program is not.
    let without = r#"{"defaultAction":"SCMP_ACT_ERRNO","architectures":["SCMP_ARCH_X86_64"],
        "syscalls":[{"names":["getppid"],"action":"SCMP_ACT_ALLOW"}]}"#;
    let (a, b) = (
        profile(&seccomp(json)).unwrap(),
        profile(&seccomp(without)).unwrap(),
    );
    assert_eq!(a.rules, b.rules);
    assert_ne!(a.cache_key(), b.cache_key());
    assert_eq!(x86_64(&compile(without), 433), ENOSYS);
}

#[test]
fn no_prefix_for_permissive_or_enosys_defaults_or_without_architectures() {
    for default in ["SCMP_ACT_ALLOW", "SCMP_ACT_LOG", "SCMP_ACT_TRACE"] {
        let json = format!(
            r#"{{"defaultAction":"{default}","architectures":["SCMP_ARCH_X86_64"],
                "syscalls":[{{"names":["mkdir"],"action":"SCMP_ACT_ERRNO"}}]}}"#
        );
        assert_eq!(profile(&seccomp(&json)).unwrap().enosys, [], "{default}");
        assert_ne!(x86_64(&compile(&json), 1000), ENOSYS, "{default}");
    }
    let json = r#"{"defaultAction":"SCMP_ACT_ERRNO","defaultErrnoRet":38,
        "architectures":["SCMP_ARCH_X86_64"],"syscalls":[{"names":["read"],"action":"SCMP_ACT_ALLOW"}]}"#;
    assert_eq!(profile(&seccomp(json)).unwrap().enosys, []);
    // As runc: the limits are per listed architecture, and none are listed.
    let json = r#"{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{"names":["read"],"action":"SCMP_ACT_ALLOW"}]}"#;
    assert_eq!(profile(&seccomp(json)).unwrap().enosys, []);
    assert_eq!(x86_64(&compile(json), 1000), EPERM);
    // Refusing defaults other than ERRNO get it too.
    let p = compile(&allow_list(
        "SCMP_ACT_KILL_PROCESS",
        r#""SCMP_ARCH_X86_64""#,
        r#""read","getppid""#,
    ));
    assert_eq!(x86_64(&p, 1000), ENOSYS);
    assert_eq!(x86_64(&p, MKDIR), 0x8000_0000);
}

#[test]
fn largest_numbers_as_libseccomp_resolves_them() {
    let names = ["read", "getppid", "chown32", "no_such_syscall"];
    let last = last_syscalls(
        &[
            ScmpArch::Native,
            ScmpArch::X8664,
            ScmpArch::X32,
            ScmpArch::X86,
        ],
        names.iter().copied(),
    );
    // Native is this host's x86_64, once; chown32 (i386 only) counts only there.
    assert_eq!(
        last,
        [
            Last {
                arch: ScmpArch::X8664,
                nr: GETPPID
            },
            Last {
                arch: ScmpArch::X32,
                nr: X32_BIT | GETPPID
            },
            Last {
                arch: ScmpArch::X86,
                nr: 212
            },
        ]
    );
    // Nothing resolves: the architecture is left out.
    assert_eq!(
        last_syscalls(&[ScmpArch::X8664], ["no_such_syscall"].into_iter()),
        []
    );
}

/// The prefix followed by a stand-in for the filter that allows everything.
fn prefixed(last: &[Last]) -> Vec<u64> {
    let mut p = prefix(last);
    p.push(u64::from_ne_bytes({
        let mut b = [0u8; 8];
        b[..2].copy_from_slice(&6u16.to_ne_bytes());
        b[4..].copy_from_slice(&RET_ALLOW.to_ne_bytes());
        b
    }));
    p
}

fn last(arch: ScmpArch, nr: u32) -> Last {
    Last { arch, nr }
}

#[test]
fn prefix_sections_for_each_kind_of_architecture() {
    let v = |prog: &[u64], arch: u32, nr: u32| run(prog, arch, nr, [0; 6]).0;
    const AARCH64: u32 = 0xc000_00b7;
    const ARM: u32 = 0x4000_0028;
    const S390X: u32 = 0x8000_0016;

    // x86_64 without x32: x32 calls are left to the filter.
    let p = prefixed(&[last(ScmpArch::X8664, 300)]);
    assert_eq!(v(&p, X86_64, 300), RET_ALLOW);
    assert_eq!(v(&p, X86_64, 301), ENOSYS);
    assert_eq!(v(&p, X86_64, X32_BIT | 1000), RET_ALLOW);
    // x32 without x86_64: the other way round.
    let p = prefixed(&[last(ScmpArch::X32, X32_BIT | 300)]);
    assert_eq!(v(&p, X86_64, 1000), RET_ALLOW);
    assert_eq!(v(&p, X86_64, X32_BIT | 300), RET_ALLOW);
    assert_eq!(v(&p, X86_64, X32_BIT | 301), ENOSYS);
    // s390x: syscall 0 is an unknown multiplexed call.
    let p = prefixed(&[last(ScmpArch::S390X, 400)]);
    assert_eq!(v(&p, S390X, 0), ENOSYS);
    assert_eq!(v(&p, S390X, 1), RET_ALLOW);
    assert_eq!(v(&p, S390X, 401), ENOSYS);
    assert_eq!(v(&p, X86_64, 0), RET_ALLOW);
    // Several architectures, each with its own limit; an unlisted one falls through.
    let p = prefixed(&[
        last(ScmpArch::Aarch64, 200),
        last(ScmpArch::X8664, 300),
        last(ScmpArch::Arm, 400),
        last(ScmpArch::X32, X32_BIT | 500),
    ]);
    for (arch, nr, want) in [
        (AARCH64, 200, RET_ALLOW),
        (AARCH64, 201, ENOSYS),
        (X86_64, 300, RET_ALLOW),
        (X86_64, 301, ENOSYS),
        (X86_64, X32_BIT | 500, RET_ALLOW),
        (X86_64, X32_BIT | 501, ENOSYS),
        (ARM, 400, RET_ALLOW),
        (ARM, 401, ENOSYS),
        (I386, 1000, RET_ALLOW),
    ] {
        assert_eq!(v(&p, arch, nr), want, "arch {arch:#x} nr {nr:#x}");
    }
    assert_eq!(prefix(&[]), Vec::<u64>::new());
}
