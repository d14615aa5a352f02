//! Property tests of `resources::plan`: random `linux.resources` on random host layouts
//! never panic, errors name their key, and every write goes to a file of a controller
//! the host has, in the hierarchy that has it, with a name that cannot leave the cgroup.

use super::resources::{parse_list, plan};
use super::v1::Current;
use super::{Layout, Missing, Mode, Target, Write};
use crate::fuzz::{config, int_json, list, nasty, object, or_any, pieces};
use oci_spec::runtime::LinuxResources;
use proptest::prelude::*;
use serde_json::Value;

const V1: &[&str] = &[
    "memory", "cpu", "cpuacct", "cpuset", "pids", "blkio", "hugetlb", "net_cls", "net_prio",
    "rdma", "devices", "freezer",
];
const V2: &[&str] = &[
    "memory", "cpu", "cpuset", "pids", "io", "hugetlb", "rdma", "misc",
];

fn int() -> BoxedStrategy<Value> {
    or_any(int_json()).boxed()
}

fn text(s: impl Strategy<Value = String> + 'static) -> BoxedStrategy<Value> {
    or_any(s.prop_map(Value::from)).boxed()
}

fn device(extra: &'static [&'static str]) -> BoxedStrategy<Value> {
    let mut fields = vec![("major", int()), ("minor", int())];
    fields.extend(extra.iter().map(|k| (*k, int())));
    object(fields)
}

fn ints(keys: &[&'static str]) -> Vec<(&'static str, BoxedStrategy<Value>)> {
    keys.iter().map(|k| (*k, int())).collect()
}

fn memory() -> BoxedStrategy<Value> {
    let mut mem = ints(&[
        "limit",
        "reservation",
        "swap",
        "kernel",
        "kernelTCP",
        "swappiness",
    ]);
    mem.push((
        "disableOOMKiller",
        or_any(any::<bool>().prop_map(Value::from)).boxed(),
    ));
    object(mem)
}

fn cpu() -> BoxedStrategy<Value> {
    let mut cpu = ints(&[
        "shares",
        "quota",
        "burst",
        "period",
        "realtimeRuntime",
        "realtimePeriod",
        "idle",
    ]);
    let cpu_list = prop_oneof![3 => "[0-9]{1,2}(-[0-9]{1,2})?(,[0-9]{1,2})?", 1 => pieces(4)];
    cpu.push(("cpus", text(cpu_list.clone())));
    cpu.push(("mems", text(cpu_list)));
    object(cpu)
}

fn block_io() -> BoxedStrategy<Value> {
    let throttle = || or_any(list(device(&["rate"]), 3)).boxed();
    let mut b = ints(&["weight", "leafWeight"]);
    b.push((
        "weightDevice",
        or_any(list(device(&["weight", "leafWeight"]), 3)).boxed(),
    ));
    for k in [
        "throttleReadBpsDevice",
        "throttleWriteBpsDevice",
        "throttleReadIOPSDevice",
        "throttleWriteIOPSDevice",
    ] {
        b.push((k, throttle()));
    }
    object(b)
}

/// A JSON object of up to two `keys` → `values`.
fn map_of(
    keys: impl Strategy<Value = String> + 'static,
    values: BoxedStrategy<Value>,
) -> BoxedStrategy<Value> {
    prop::collection::btree_map(keys, values, 0..3)
        .prop_map(|m| Value::Object(m.into_iter().collect()))
        .boxed()
}

fn resources() -> BoxedStrategy<Value> {
    let page = prop_oneof![3 => "[0-9]{1,4}(KB|MB|GB)", 1 => nasty()];
    let huge = object(vec![("pageSize", text(page)), ("limit", int())]);
    let prio = object(vec![("name", text(nasty())), ("priority", int())]);
    let network = object(vec![
        ("classID", int()),
        ("priorities", or_any(list(prio, 3)).boxed()),
    ]);
    let rdma = object(ints(&["hcaHandles", "hcaObjects"]));
    let file = prop_oneof![pieces(4), "[a-z]{1,6}\\.[a-z]{1,6}"];
    object(vec![
        ("memory", memory()),
        ("cpu", cpu()),
        ("pids", object(ints(&["limit"]))),
        ("blockIO", block_io()),
        ("hugepageLimits", or_any(list(huge, 3)).boxed()),
        ("network", network),
        ("rdma", map_of(nasty(), rdma)),
        (
            "unified",
            map_of(file, nasty().prop_map(Value::from).boxed()),
        ),
    ])
}

fn layout() -> impl Strategy<Value = Layout> {
    let mode = prop::sample::select(vec![Mode::Legacy, Mode::Unified, Mode::Hybrid]);
    let some = |all: &'static [&'static str]| prop::sample::subsequence(all, 0..=all.len());
    (mode, some(V1), some(V2), "0(-[1-7])?", "0(-1)?").prop_map(|(mode, v1, v2, cpus, mems)| {
        Layout {
            mode,
            v1: if mode == Mode::Unified {
                vec![]
            } else {
                v1.iter().map(|s| s.to_string()).collect()
            },
            v2: if mode == Mode::Legacy {
                vec![]
            } else {
                v2.iter().map(|s| s.to_string()).collect()
            },
            cpus,
            mems,
        }
    })
}

/// A file name of the controller `ctrl` (or, for `unified`, any one name).
fn check_file(w: &Write, file: &str, layout: &Layout) -> Result<(), TestCaseError> {
    prop_assert!(
        !file.contains('/') && file != "." && file != ".." && file.contains('.'),
        "{:?}",
        w
    );
    let unified = w.key.starts_with("linux.resources.unified");
    match w.target {
        Target::V1(ctrl) => {
            prop_assert!(
                layout.mode != Mode::Unified && layout.v1.iter().any(|c| c == ctrl),
                "{:?}",
                w
            );
            prop_assert!(file.starts_with(&format!("{ctrl}.")) && !unified, "{:?}", w);
        }
        Target::V2 => {
            prop_assert!(layout.mode != Mode::Legacy, "{:?}", w);
            let ctrl = file.split('.').next().unwrap();
            prop_assert!(unified || layout.v2.iter().any(|c| c == ctrl), "{:?}", w);
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn writes_stay_in_known_controllers(json in resources(), layout in layout(), cur in any::<Option<u64>>()) {
        let Ok(res) = serde_json::from_value::<LinuxResources>(json) else { return Ok(()) };
        let cur = Current { memory_limit: cur };
        match plan(&res, &layout, &cur) {
            Ok(writes) => {
                for w in &writes {
                    prop_assert!(w.key.starts_with("linux.resources."), "{:?}", w);
                    check_file(w, &w.file, &layout)?;
                    if let Missing::Instead(f, _) = &w.missing {
                        check_file(w, f, &layout)?;
                    }
                }
                check_values(&res)?;
            }
            Err(e) => prop_assert!(e.to_string().starts_with("linux.resources."), "{:#}", e),
        }
    }

    #[test]
    fn lists_match_an_oracle(s in prop_oneof!["[0-9, -]{0,12}", pieces(5)]) {
        prop_assert_eq!(parse_list(&s).ok(), list_oracle(&s), "{:?}", s);
    }
}

/// Accepted values are in the ranges the kernel takes.
fn check_values(r: &LinuxResources) -> Result<(), TestCaseError> {
    if let Some(p) = r.pids() {
        prop_assert!(p.limit() >= -1);
    }
    if let Some(m) = r.memory() {
        prop_assert!(m.swappiness().is_none_or(|s| s <= 100));
        for v in [m.limit(), m.reservation(), m.swap(), m.kernel_tcp()]
            .into_iter()
            .flatten()
        {
            prop_assert!(v >= -1);
        }
    }
    if let Some(c) = r.cpu() {
        prop_assert!(c
            .shares()
            .is_none_or(|s| s == 0 || (2..=262144).contains(&s)));
        prop_assert!(c
            .period()
            .is_none_or(|p| p == 0 || (1000..=1_000_000).contains(&p)));
        prop_assert!(c.idle().is_none_or(|i| i == 0 || i == 1));
    }
    if let Some(w) = r.block_io().as_ref().and_then(|b| b.weight()) {
        prop_assert!(w == 0 || (10..=1000).contains(&w));
    }
    Ok(())
}

/// "0-3,7" read plainly: comma-separated numbers or ascending ranges.
fn list_oracle(s: &str) -> Option<Vec<u32>> {
    let mut out = Vec::new();
    for part in s.trim().split(',').filter(|p| !p.is_empty()) {
        let mut ends = part.splitn(2, '-').map(|t| t.trim().parse::<u32>());
        let a = ends.next()?.ok()?;
        let b = match ends.next() {
            Some(b) => b.ok()?,
            None => a,
        };
        if b < a || b - a > 65536 {
            return None;
        }
        out.extend(a..=b);
    }
    Some(out)
}
