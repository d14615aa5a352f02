//! Property tests of the seccomp translation (`check_raw`, oci-spec, then `profile`; not
//! the libseccomp compile): random sections shaped like `linux.seccomp` never panic,
//! errors name their key, and what is accepted keeps the profile's meaning.

use super::profile::profile;
use crate::fuzz::{config, int_json, list, name_or_nasty, nasty, object, or_any};
use libseccomp::ScmpAction;
use oci_spec::runtime::LinuxSeccomp;
use proptest::prelude::*;
use serde_json::{json, Value};

use super::ACTIONS;
const ARCHES: &[&str] = &[
    "SCMP_ARCH_X86_64",
    "SCMP_ARCH_X86",
    "SCMP_ARCH_X32",
    "SCMP_ARCH_AARCH64",
    "SCMP_ARCH_ARM",
    "SCMP_ARCH_RISCV64",
    "SCMP_ARCH_PPC64LE",
    "SCMP_ARCH_S390X",
    "SCMP_ARCH_LOONGARCH64",
    "SCMP_ARCH_M68K",
    "SCMP_ARCH_SHEB",
    "SCMP_ARCH_MIPSEL64N32",
    "SCMP_ARCH_PARISC64",
];
const FLAGS: &[&str] = &[
    "SECCOMP_FILTER_FLAG_LOG",
    "SECCOMP_FILTER_FLAG_SPEC_ALLOW",
    "SECCOMP_FILTER_FLAG_TSYNC",
    "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV",
];
use super::OPERATORS as OPS;
const SYSCALLS: &[&str] = &[
    "read",
    "write",
    "sendmsg",
    "personality",
    "clone",
    "clone3",
    "mkdir",
    "getppid",
    "open_tree",
    "socket",
    "futex_waitv",
    "not_a_syscall",
    "",
];

fn small() -> BoxedStrategy<Value> {
    prop_oneof![3 => (0u64..8).prop_map(Value::from), 1 => int_json()].boxed()
}

/// Mostly null (absent): the errno fields are errors for most actions.
fn seldom(s: impl Strategy<Value = Value> + 'static) -> BoxedStrategy<Value> {
    prop_oneof![4 => Just(Value::Null), 1 => or_any(s)].boxed()
}

fn arg() -> BoxedStrategy<Value> {
    object(vec![
        ("index", or_any(small()).boxed()),
        ("value", or_any(int_json()).boxed()),
        ("valueTwo", or_any(int_json()).boxed()),
        ("op", or_any(name_or_nasty(OPS)).boxed()),
    ])
}

fn syscall() -> BoxedStrategy<Value> {
    object(vec![
        ("names", or_any(list(name_or_nasty(SYSCALLS), 4)).boxed()),
        ("action", or_any(name_or_nasty(ACTIONS)).boxed()),
        ("errnoRet", seldom(int_json())),
        ("args", or_any(list(arg(), 4)).boxed()),
    ])
}

fn section() -> BoxedStrategy<Value> {
    object(vec![
        ("defaultAction", or_any(name_or_nasty(ACTIONS)).boxed()),
        ("defaultErrnoRet", seldom(int_json())),
        (
            "architectures",
            or_any(list(name_or_nasty(ARCHES), 4)).boxed(),
        ),
        ("flags", or_any(list(name_or_nasty(FLAGS), 3)).boxed()),
        (
            "listenerPath",
            or_any(nasty().prop_map(Value::from)).boxed(),
        ),
        ("listenerMetadata", seldom(nasty().prop_map(Value::from))),
        ("syscalls", or_any(list(syscall(), 6)).boxed()),
    ])
    .prop_flat_map(|s| {
        // defaultAction is required: mostly there, so the rest gets checked.
        (prop::sample::select(ACTIONS), 0..8).prop_map(move |(a, n)| {
            let mut s = s.clone();
            if n > 0 && s.get("defaultAction").is_none() {
                s["defaultAction"] = Value::from(a);
            }
            s
        })
    })
    .boxed()
}

/// The section as `spec::load` reads it: `check_raw`, then oci-spec (whose errors carry
/// the path, which `load` puts after "linux.seccomp").
fn read(s: &Value) -> anyhow::Result<LinuxSeccomp> {
    super::check_raw(&json!({"linux": {"seccomp": s}}))?;
    crate::spec::keypath::deserialize(s).map_err(|e| anyhow::anyhow!("linux.seccomp.{e}"))
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn translation_keeps_the_profile(s in section()) {
        let sec = match read(&s) {
            Ok(sec) => sec,
            Err(e) => {
                let e = format!("{e:#}");
                prop_assert!(e.contains("linux.seccomp"), "{}: {}", s, e);
                return Ok(());
            }
        };
        let calls = sec.syscalls().clone().unwrap_or_default();
        let bad_index = calls.iter().flat_map(|c| c.args().clone().unwrap_or_default()).any(|a| a.index() > 5);
        let p = match profile(&sec) {
            Ok(p) => p,
            Err(e) => {
                let e = format!("{e:#}");
                prop_assert!(e.starts_with("linux.seccomp"), "{}: {}", s, e);
                return Ok(());
            }
        };
        prop_assert!(!bad_index, "{}: argument index above 5 accepted", s);
        prop_assert!(p.default != ScmpAction::Notify);
        let notify = calls.iter().any(|c| c.action() == oci_spec::runtime::LinuxSeccompAction::ScmpActNotify);
        prop_assert_eq!(p.listener.is_some(), notify, "{}", s);
        let listener_flag = libc::SECCOMP_FILTER_FLAG_NEW_LISTENER as u32;
        prop_assert_eq!(p.flags & listener_flag != 0, notify);
        for r in &p.rules {
            prop_assert!(r.action != p.default, "{}: rule {:?} repeats the default", s, r);
            let i: usize = r.key.strip_prefix("linux.seccomp.syscalls[").and_then(|k| k.strip_suffix(']')).unwrap().parse().unwrap();
            prop_assert!(calls[i].names().contains(&r.name));
            prop_assert!(!r.rules.is_empty());
            let n_args = calls[i].args().as_ref().map_or(0, Vec::len);
            prop_assert_eq!(r.rules.iter().map(Vec::len).sum::<usize>(), n_args);
        }
        // Every known name of a rule that does not repeat the default is there.
        for (i, c) in calls.iter().enumerate() {
            let act = super::profile::action(c.action(), c.errno_ret(), "k").unwrap();
            for name in c.names().iter().filter(|n| libseccomp::ScmpSyscall::from_name(n).is_ok()) {
                let found = p.rules.iter().any(|r| r.key == format!("linux.seccomp.syscalls[{i}]") && &r.name == name);
                prop_assert_eq!(found, act != p.default, "{}: {}", s, name);
            }
        }
    }

    #[test]
    fn errno_is_16_bits(e in any::<u32>(), trace in any::<bool>()) {
        let act = if trace { "SCMP_ACT_TRACE" } else { "SCMP_ACT_ERRNO" };
        let s = json!({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["mkdir"], "action": act, "errnoRet": e}]});
        let r = profile(&read(&s).unwrap());
        match r {
            Ok(_) => prop_assert!(e <= 65535),
            Err(err) => {
                prop_assert!(e > 65535);
                prop_assert!(err.to_string().starts_with("linux.seccomp.syscalls[0].errnoRet"), "{}", err);
            }
        }
    }
}
