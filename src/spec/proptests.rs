//! Property tests of config.json → Plan (`spec_from_value`, then `plan`): a valid base
//! config with random sections put in, never a panic; an error names a key that was
//! changed; a plan keeps the rules `plan` promises. Reads of the host (rootfs and bind
//! sources, capability and CPU probes) only look; `linux.seccomp` is left to
//! `seccomp::proptests`, as `plan` would compile it and write the program cache.

use super::*;
use crate::fuzz::{any_json, config, int_json, list, name_or_nasty, nasty, object, or_any};
use proptest::prelude::*;
use serde_json::{json, Value};
use std::path::Component;

const NS: &[&str] = &[
    "mount", "pid", "uts", "network", "ipc", "user", "cgroup", "time", "bogus",
];
const CAPS: &[&str] = &[
    "CAP_CHOWN",
    "CAP_KILL",
    "CAP_NET_BIND_SERVICE",
    "CAP_SYS_ADMIN",
    "CAP_SYS_RESOURCE",
    "CAP_AUDIT_WRITE",
    "CAP_CHECKPOINT_RESTORE",
    "CAP_BPF",
    "CAP_SETUID",
    "cap_kill",
    "KILL",
];
const RLIMITS: &[&str] = &[
    "RLIMIT_NOFILE",
    "RLIMIT_CORE",
    "RLIMIT_NPROC",
    "RLIMIT_RTTIME",
    "RLIMIT_BOGUS",
];
const SYSCTLS: &[&str] = &[
    "net.ipv4.ip_forward",
    "kernel.shmmax",
    "fs.mqueue.msg_max",
    "kernel.hostname",
    "vm.swappiness",
    "net/ipv4/ip_forward",
    "net.ipv4.conf.all/../../x",
    "net..x",
    "",
];
const PATHS: &[&str] = &[
    "/",
    "/tmp",
    ".",
    "",
    "/dev/null",
    "/dev/../etc/x",
    "/dev",
    "/x/../../y",
    "rel/a",
    "/nonexistent",
];
const OPTS: &[&str] = &[
    "bind", "rbind", "ro", "rw", "nosuid", "rprivate", "rro", "idmap", "mode=755", "defaults",
];

fn int() -> BoxedStrategy<Value> {
    or_any(int_json()).boxed()
}
fn string(names: &'static [&'static str]) -> BoxedStrategy<Value> {
    or_any(name_or_nasty(names)).boxed()
}
fn strings(names: &'static [&'static str], n: usize) -> BoxedStrategy<Value> {
    or_any(list(name_or_nasty(names), n)).boxed()
}
fn map(keys: &'static [&'static str], v: BoxedStrategy<Value>) -> BoxedStrategy<Value> {
    let key = prop_oneof![4 => prop::sample::select(keys).prop_map(String::from), 1 => nasty()];
    prop::collection::btree_map(key, v, 0..3)
        .prop_map(|m| Value::Object(m.into_iter().collect()))
        .boxed()
}

type Part = (&'static str, &'static str, BoxedStrategy<Value>);

fn boolean() -> BoxedStrategy<Value> {
    or_any(any::<bool>().prop_map(Value::from)).boxed()
}

fn caps() -> BoxedStrategy<Value> {
    let sets = [
        "bounding",
        "effective",
        "inheritable",
        "permitted",
        "ambient",
    ];
    object(sets.iter().map(|s| (*s, strings(CAPS, 4))).collect())
}

fn scheduler() -> BoxedStrategy<Value> {
    const POLICIES: &[&str] = &[
        "SCHED_OTHER",
        "SCHED_FIFO",
        "SCHED_RR",
        "SCHED_DEADLINE",
        "SCHED_ISO",
        "SCHED_IDLE",
    ];
    const FLAGS: &[&str] = &[
        "SCHED_FLAG_RESET_ON_FORK",
        "SCHED_FLAG_DL_OVERRUN",
        "SCHED_FLAG_RECLAIM",
        "SCHED_RESET_ON_FORK",
    ];
    let mut fields = vec![("policy", string(POLICIES)), ("flags", strings(FLAGS, 3))];
    for k in ["nice", "priority", "runtime", "deadline", "period"] {
        fields.push((k, int()));
    }
    object(fields)
}

fn user() -> BoxedStrategy<Value> {
    let gids = or_any(list(int_json(), 3)).boxed();
    object(vec![
        ("uid", int()),
        ("gid", int()),
        ("umask", int()),
        ("additionalGids", gids),
    ])
}

fn io_priority() -> BoxedStrategy<Value> {
    let classes = &["IOPRIO_CLASS_RT", "IOPRIO_CLASS_BE", "IOPRIO_CLASS_IDLE"];
    object(vec![("class", string(classes)), ("priority", int())])
}

fn cpu_affinity() -> BoxedStrategy<Value> {
    let cpus = &["0", "0-1", "1", "0-70000", "3-1", "0,1", "", "x"];
    object(vec![("initial", string(cpus)), ("final", string(cpus))])
}

/// The parts of `process` (pointer, what errors about it name, the values).
fn process_parts() -> Vec<Part> {
    let rlimit = object(vec![
        ("type", string(RLIMITS)),
        ("soft", int()),
        ("hard", int()),
    ]);
    let console = object(vec![("height", int()), ("width", int())]);
    vec![
        (
            "/process/args",
            "process.args",
            strings(&["sh", "", "/bin/true"], 3),
        ),
        (
            "/process/cwd",
            "process.cwd",
            string(&["/", "/tmp", "rel", ""]),
        ),
        (
            "/process/env",
            "process.env",
            strings(&["A=1", "=x", "NOEQ", "PATH=/bin"], 4),
        ),
        ("/process/user", "process.user", user()),
        (
            "/process/rlimits",
            "process.rlimits",
            or_any(list(rlimit, 4)).boxed(),
        ),
        ("/process/consoleSize", "process.consoleSize", console),
        ("/process/capabilities", "process.capabilities", caps()),
        ("/process/oomScoreAdj", "process.oomScoreAdj", int()),
        ("/process/scheduler", "process.scheduler", scheduler()),
        ("/process/ioPriority", "process.ioPriority", io_priority()),
        (
            "/process/execCPUAffinity",
            "process.execCPUAffinity",
            cpu_affinity(),
        ),
        (
            "/process/noNewPrivileges",
            "process.noNewPrivileges",
            boolean(),
        ),
        (
            "/process/apparmorProfile",
            "process.apparmorProfile",
            string(&["unconfined", ""]),
        ),
        ("/process/terminal", "process.terminal", boolean()),
    ]
}

fn mount() -> BoxedStrategy<Value> {
    let types = &["bind", "tmpfs", "proc", ""];
    object(vec![
        ("destination", string(PATHS)),
        ("type", string(types)),
        ("source", string(PATHS)),
        ("options", strings(OPTS, 4)),
    ])
}

fn device() -> BoxedStrategy<Value> {
    let mut fields = vec![
        ("path", string(PATHS)),
        ("type", string(&["c", "b", "u", "p", "a", "x"])),
    ];
    for k in ["major", "minor", "fileMode", "uid", "gid"] {
        fields.push((k, int()));
    }
    object(fields)
}

/// The parts of `linux` (pointer, what errors about it name, the values).
fn linux_parts() -> Vec<Part> {
    let ns = object(vec![
        ("type", string(NS)),
        ("path", string(&["", "/proc/1/ns/net", "rel"])),
    ]);
    let idmap = object(vec![
        ("containerID", int()),
        ("hostID", int()),
        ("size", int()),
    ]);
    let offset = object(vec![("secs", int()), ("nanosecs", int())]);
    let clocks = &["monotonic", "boottime", "realtime"];
    let personality = object(vec![
        ("domain", string(&["LINUX", "LINUX32"])),
        ("flags", strings(&["X"], 2)),
    ]);
    let propagation = string(&["rslave", "private", "", "rbind"]);
    vec![
        ("/linux/namespaces", "linux.", or_any(list(ns, 6)).boxed()),
        (
            "/linux/uidMappings",
            "linux.uidMappings",
            or_any(list(idmap.clone(), 2)).boxed(),
        ),
        (
            "/linux/gidMappings",
            "linux.gidMappings",
            or_any(list(idmap, 2)).boxed(),
        ),
        (
            "/linux/timeOffsets",
            "linux.timeOffsets",
            map(clocks, offset),
        ),
        (
            "/linux/sysctl",
            "linux.sysctl",
            map(SYSCTLS, string(&["1"])),
        ),
        (
            "/linux/rootfsPropagation",
            "linux.rootfsPropagation",
            propagation,
        ),
        (
            "/linux/devices",
            "linux.devices",
            or_any(list(device(), 3)).boxed(),
        ),
        ("/linux/personality", "linux.personality", personality),
        ("/linux/maskedPaths", "linux.maskedPaths", strings(PATHS, 3)),
    ]
}

/// Every part a mutation can replace.
fn parts() -> Vec<Part> {
    let root = object(vec![("path", string(PATHS)), ("readonly", boolean())]);
    let versions = &["1.0.0", "1.2.1", "2.0.0", "1", "0.9", ""];
    let mut parts = vec![
        ("/ociVersion", "ociVersion", string(versions)),
        ("/root", "root", root),
        ("/hostname", "hostname", string(&["h", ""])),
        ("/mounts", "mounts", or_any(list(mount(), 3)).boxed()),
        ("/annotations", "annotations", map(&["a"], string(&["b"]))),
    ];
    parts.extend(linux_parts());
    parts.extend(process_parts());
    parts
}

fn base() -> Value {
    let ns: Vec<Value> = ["mount", "pid", "uts", "network", "ipc"]
        .iter()
        .map(|t| json!({"type": t}))
        .collect();
    json!({
        "ociVersion": "1.2.1",
        "root": {"path": "/"},
        "process": {"args": ["sh"], "cwd": "/", "user": {"uid": 0, "gid": 0}},
        "linux": {"namespaces": ns},
    })
}

/// The base config with 1 to 3 parts replaced, and the keys their errors may name.
fn mutated() -> impl Strategy<Value = (Value, Vec<&'static str>)> {
    let one = prop::sample::select((0..parts().len()).collect::<Vec<_>>()).prop_flat_map(|i| {
        let (ptr, key, values) = parts().swap_remove(i);
        (Just(ptr), Just(key), values)
    });
    prop::collection::vec(one, 1..=3).prop_map(|muts| {
        let mut config = base();
        let mut keys = Vec::new();
        for (ptr, key, v) in muts {
            let (parent, leaf) = ptr.rsplit_once('/').unwrap();
            config.pointer_mut(parent).unwrap()[leaf] = v;
            keys.push(key);
        }
        (config, keys)
    })
}

/// Keys an error may name when a part changes: its own, and the ones checked against it.
fn may_name(key: &str) -> Vec<&str> {
    match key {
        "linux." => vec![
            "linux.namespaces",
            "linux.uidMappings",
            "process.capabilities",
        ],
        "linux.uidMappings" | "linux.gidMappings" => vec![key, "linux.uidMappings/gidMappings"],
        k if k.starts_with("process.") => vec![k, "process.capabilities"],
        k => vec![k],
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn errors_name_a_changed_key((config, keys) in mutated()) {
        let r = spec_from_value(config.clone(), Path::new("config.json")).and_then(|s| plan(Path::new("/"), s));
        match r {
            Err(e) => {
                let e = format!("{e:#}");
                let named = keys.iter().flat_map(|k| may_name(k)).any(|k| e.contains(k));
                prop_assert!(named, "changed {:?}, error: {}\nconfig: {}", keys, e, config);
            }
            Ok(p) => check_plan(&p)?,
        }
    }

    #[test]
    fn any_json_never_panics(v in any_json(), at in prop::sample::select(vec!["", "/process", "/linux", "/mounts", "/root"])) {
        let mut config = base();
        match config.pointer_mut(at) {
            Some(slot) => *slot = v,
            None => config = v,
        }
        if let Ok(spec) = spec_from_value(config, Path::new("config.json")) {
            let _ = plan(Path::new("/"), spec);
        }
    }
}

fn clean_below(p: &Path, top: &str) -> bool {
    p.starts_with(top)
        && p.components()
            .all(|c| !matches!(c, Component::ParentDir | Component::CurDir))
}

/// What a plan promises whatever the config said.
fn check_plan(p: &Plan) -> Result<(), TestCaseError> {
    let pr = &p.process;
    prop_assert!(!pr.args.is_empty() && !pr.args[0].is_empty());
    prop_assert!(pr.cwd.is_absolute());
    prop_assert!(pr
        .env
        .iter()
        .all(|e| e.contains('=') && !e.starts_with('=')));
    for (i, r) in pr.rlimits.iter().enumerate() {
        prop_assert!(r.soft <= r.hard);
        prop_assert!(pr.rlimits[..i].iter().all(|o| o.resource != r.resource));
    }
    let c = &pr.caps;
    prop_assert_eq!(c.effective & !c.permitted, 0);
    prop_assert_eq!(c.inheritable & !c.bounding, 0);
    prop_assert_eq!(c.ambient & !(c.permitted & c.inheritable), 0);
    for d in &p.devices {
        prop_assert!(
            clean_below(&d.path, "/") && d.path != Path::new("/"),
            "{:?}",
            d
        );
    }
    for m in &p.mounts {
        prop_assert!(clean_below(&m.destination, "/"), "{:?}", m);
    }
    if !p.namespaces.has(CloneFlags::CLONE_NEWNS) {
        prop_assert!(p.masked_paths.is_empty() && p.readonly_paths.is_empty());
        prop_assert!(!p.readonly_root && !p.process.terminal);
    }
    if p.hostname.is_some() || p.domainname.is_some() {
        prop_assert!(p.namespaces.has(CloneFlags::CLONE_NEWUTS));
    }
    let userns = p.namespaces.creates(CloneFlags::CLONE_NEWUSER);
    prop_assert_eq!(userns, !p.uid_map.is_empty());
    prop_assert_eq!(userns, !p.gid_map.is_empty());
    for (clock, _, _) in &p.time_offsets {
        prop_assert!(clock == "monotonic" || clock == "boottime");
    }
    for (k, _) in &p.sysctl {
        prop_assert!(!k.split(['.', '/']).any(|c| c == ".."), "{}", k);
    }
    Ok(())
}
