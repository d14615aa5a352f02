//! Resource writes in the cgroup v2 spelling, with runc's conversions from the v1-shaped
//! values of the spec (cpu shares → cpu.weight, blkio weight → io.weight, memory+swap →
//! swap alone).

use super::{Target, Write};
use anyhow::{bail, Result};
use oci_spec::runtime::{LinuxBlockIo, LinuxCpu, LinuxHugepageLimit, LinuxMemory};
use std::collections::HashMap;

const V2: Target = Target::V2;

/// cpu.shares [2, 262144] (default 1024) → cpu.weight [1, 10000] (default 100), along
/// the curve runc uses (a quadratic in log2(shares) through both ends and the defaults).
pub fn shares_to_weight(shares: u64) -> u64 {
    if shares == 0 {
        return 0;
    }
    if shares <= 2 {
        return 1;
    }
    if shares >= 262144 {
        return 10000;
    }
    let l = (shares as f64).log2();
    let exponent = (l * l + 125.0 * l) / 612.0 - 7.0 / 34.0;
    10f64.powf(exponent).ceil() as u64
}

/// blkio.weight [10, 1000] → io.weight [1, 10000], linearly as runc does.
pub fn blkio_to_io_weight(w: u16) -> u64 {
    if w == 0 {
        return 0;
    }
    1 + (u64::from(w).saturating_sub(10)) * 9999 / 990
}

/// The spec's swap is memory+swap (v1's memsw); v2 limits swap alone.
pub fn swap_to_v2(swap: i64, memory: i64) -> Result<i64> {
    const KEY: &str = "linux.resources.memory.swap";
    if memory == -1 && swap == 0 {
        return Ok(-1);
    }
    if swap == -1 || swap == 0 {
        return Ok(swap);
    }
    if memory == 0 || memory == -1 {
        bail!("{KEY}: a swap limit needs a memory limit");
    }
    if swap < memory {
        bail!("{KEY}: memory+swap limit ({swap}) must not be below the memory limit ({memory})");
    }
    Ok(swap - memory)
}

fn max(v: i64) -> String {
    if v < 0 {
        "max".to_string()
    } else {
        v.to_string()
    }
}

pub fn memory(m: &LinuxMemory) -> Result<Vec<Write>> {
    let key = |k: &str| format!("linux.resources.memory.{k}");
    let mut w = Vec::new();
    let limit = m.limit().unwrap_or(0);
    let swap = swap_to_v2(m.swap().unwrap_or(0), limit)?;
    if swap != 0 {
        let sw = Write::new(V2, "memory.swap.max", max(swap), &key("swap"));
        // Without swap (no CONFIG_SWAP) the file is absent: "no limit" is then true anyway.
        w.push(if swap == -1 { sw.or_skip() } else { sw });
    }
    if limit != 0 {
        w.push(Write::new(V2, "memory.max", max(limit), &key("limit")));
    }
    if let Some(r) = m.reservation().filter(|r| *r != 0) {
        w.push(Write::new(V2, "memory.low", max(r), &key("reservation")));
    }
    // swappiness, kernelTCP and disableOOMKiller have no v2 file; runc ignores them too.
    Ok(w)
}

pub fn cpu(c: &LinuxCpu) -> Result<Vec<Write>> {
    let key = |k: &str| format!("linux.resources.cpu.{k}");
    if c.realtime_runtime().is_some_and(|r| r != 0) || c.realtime_period().is_some_and(|p| p != 0) {
        bail!(
            "{}: realtime scheduling is not supported on cgroup v2",
            key("realtimeRuntime")
        );
    }
    let mut w = Vec::new();
    if let Some(s) = c.shares().filter(|s| *s != 0) {
        w.push(Write::new(
            V2,
            "cpu.weight",
            shares_to_weight(s),
            &key("shares"),
        ));
    }
    let quota = c.quota().unwrap_or(0);
    let period = c.period().unwrap_or(0);
    if quota != 0 || period != 0 {
        let mut v = if quota > 0 {
            quota.to_string()
        } else {
            "max".to_string()
        };
        // Without a period the kernel keeps the one it has.
        if period != 0 {
            v.push_str(&format!(" {period}"));
        }
        w.push(Write::new(V2, "cpu.max", v, &key("quota")));
    }
    if let Some(b) = c.burst() {
        w.push(Write::new(V2, "cpu.max.burst", b, &key("burst")));
    }
    if let Some(i) = c.idle() {
        w.push(Write::new(V2, "cpu.idle", i, &key("idle")));
    }
    Ok(w)
}

pub fn io(b: &LinuxBlockIo) -> Vec<Write> {
    let key = |k: &str| format!("linux.resources.blockIO.{k}");
    let mut w = Vec::new();
    // BFQ's io.bfq.weight takes the blkio scale as is; io.weight (iocost) the converted one.
    if let Some(v) = b.weight().filter(|v| *v != 0) {
        w.push(
            Write::new(V2, "io.bfq.weight", v, &key("weight"))
                .or_instead("io.weight", format!("default {}", blkio_to_io_weight(v))),
        );
    }
    for (i, d) in b.weight_device().iter().flatten().enumerate() {
        if let Some(v) = d.weight() {
            let dev = format!("{}:{}", d.major(), d.minor());
            w.push(
                Write::new(
                    V2,
                    "io.bfq.weight",
                    format!("{dev} {v}"),
                    &key(&format!("weightDevice[{i}]")),
                )
                .or_instead("io.weight", format!("{dev} {}", blkio_to_io_weight(v))),
            );
        }
    }
    for (name, field, list) in [
        (
            "throttleReadBpsDevice",
            "rbps",
            b.throttle_read_bps_device(),
        ),
        (
            "throttleWriteBpsDevice",
            "wbps",
            b.throttle_write_bps_device(),
        ),
        (
            "throttleReadIOPSDevice",
            "riops",
            b.throttle_read_iops_device(),
        ),
        (
            "throttleWriteIOPSDevice",
            "wiops",
            b.throttle_write_iops_device(),
        ),
    ] {
        for (i, d) in list.iter().flatten().enumerate() {
            let line = format!("{}:{} {field}={}", d.major(), d.minor(), d.rate());
            w.push(Write::new(
                V2,
                "io.max",
                line,
                &key(&format!("{name}[{i}]")),
            ));
        }
    }
    w
}

pub fn hugetlb(limits: &[LinuxHugepageLimit]) -> Vec<Write> {
    let mut w = Vec::new();
    for (i, l) in limits.iter().enumerate() {
        let key = format!("linux.resources.hugepageLimits[{i}]");
        let size = l.page_size();
        w.push(Write::new(
            V2,
            &format!("hugetlb.{size}.max"),
            max(l.limit()),
            &key,
        ));
        w.push(
            Write::new(
                V2,
                &format!("hugetlb.{size}.rsvd.max"),
                max(l.limit()),
                &key,
            )
            .or_skip(),
        );
    }
    w
}

/// The `unified` map: keys are file names in the container's v2 directory, values are
/// written verbatim, in key order so repeated runs behave the same.
pub fn unified(u: &HashMap<String, String>) -> Result<Vec<Write>> {
    let mut keys: Vec<&String> = u.keys().collect();
    keys.sort();
    let mut w = Vec::new();
    for k in keys {
        if k.is_empty() || k.contains('/') || k == "." || k == ".." || !k.contains('.') {
            bail!("linux.resources.unified: {k:?} is not a cgroup file name like \"memory.high\"");
        }
        w.push(Write::new(
            V2,
            k,
            &u[k],
            &format!("linux.resources.unified.{k:?}"),
        ));
    }
    Ok(w)
}

#[cfg(test)]
mod tests {
    use super::super::resources::plan;
    use super::super::testing::*;
    use super::super::v1::Current;
    use super::super::*;
    use super::*;

    fn writes(json: &str) -> Vec<(String, String)> {
        super::super::testing::writes(json, Mode::Unified)
    }

    #[test]
    fn runc_conversions() {
        assert_eq!(shares_to_weight(0), 0);
        assert_eq!(shares_to_weight(2), 1);
        assert_eq!(shares_to_weight(1024), 100);
        assert_eq!(shares_to_weight(262144), 10000);
        assert_eq!(shares_to_weight(512), 59);
        assert_eq!(shares_to_weight(2048), 174);
        assert!((3..262144)
            .step_by(97)
            .all(|s| shares_to_weight(s) <= shares_to_weight(s + 97)));
        assert_eq!(blkio_to_io_weight(10), 1);
        assert_eq!(blkio_to_io_weight(500), 4950);
        assert_eq!(blkio_to_io_weight(1000), 10000);
        assert_eq!(swap_to_v2(0, -1).unwrap(), -1);
        assert_eq!(swap_to_v2(-1, 100).unwrap(), -1);
        assert_eq!(swap_to_v2(300, 100).unwrap(), 200);
        assert!(swap_to_v2(300, 0).is_err());
        assert!(swap_to_v2(50, 100).is_err());
    }

    #[test]
    fn every_resource_has_its_file() {
        let all = r#"{
            "memory": {"limit": 104857600, "reservation": 52428800, "swap": 209715200},
            "cpu": {"shares": 1024, "quota": 50000, "period": 100000, "burst": 1000, "idle": 0,
                    "cpus": "1", "mems": "0"},
            "pids": {"limit": -1},
            "blockIO": {"weight": 500,
                        "weightDevice": [{"major": 8, "minor": 0, "weight": 100}],
                        "throttleReadBpsDevice": [{"major": 8, "minor": 0, "rate": 1048576}],
                        "throttleWriteBpsDevice": [{"major": 8, "minor": 0, "rate": 2097152}],
                        "throttleReadIOPSDevice": [{"major": 8, "minor": 0, "rate": 100}],
                        "throttleWriteIOPSDevice": [{"major": 8, "minor": 0, "rate": 200}]},
            "hugepageLimits": [{"pageSize": "1GB", "limit": -1}],
            "unified": {"memory.high": "50000000", "cpu.weight": "7"}
        }"#;
        assert_eq!(
            writes(all),
            pairs(&[
                ("memory.swap.max", "104857600"),
                ("memory.max", "104857600"),
                ("memory.low", "52428800"),
                ("cpu.weight", "100"),
                ("cpu.max", "50000 100000"),
                ("cpu.max.burst", "1000"),
                ("cpu.idle", "0"),
                ("cpuset.cpus", "1"),
                ("cpuset.mems", "0"),
                ("pids.max", "max"),
                ("io.bfq.weight", "500"),
                ("io.bfq.weight", "8:0 100"),
                ("io.max", "8:0 rbps=1048576"),
                ("io.max", "8:0 wbps=2097152"),
                ("io.max", "8:0 riops=100"),
                ("io.max", "8:0 wiops=200"),
                ("hugetlb.1GB.max", "max"),
                ("hugetlb.1GB.rsvd.max", "max"),
                ("cpu.weight", "7"),
                ("memory.high", "50000000"),
            ])
        );
        assert_eq!(
            writes(r#"{"cpu": {"quota": -1}}"#),
            pairs(&[("cpu.max", "max")])
        );
        assert_eq!(
            writes(r#"{"cpu": {"period": 20000}}"#),
            pairs(&[("cpu.max", "max 20000")])
        );
    }

    #[test]
    fn written_into_a_fake_tree() {
        let fake = Fake::new("v2", Mode::Unified);
        let res: LinuxResources = serde_json::from_str(
            r#"{"memory": {"limit": 1048576}, "cpu": {"shares": 2048},
                "pids": {"limit": 10}, "blockIO": {"weight": 1000},
                "hugepageLimits": [{"pageSize": "2MB", "limit": 2097152}]}"#,
        )
        .unwrap();
        let w = plan(&res, &layout(Mode::Unified), &Current::default()).unwrap();
        apply(&fake.cg, &w).unwrap();
        assert_eq!(fake.read(Target::V2, "memory.max"), "1048576");
        assert_eq!(fake.read(Target::V2, "cpu.weight"), "174");
        assert_eq!(fake.read(Target::V2, "pids.max"), "10");
        // No BFQ here: io.weight with runc's conversion.
        assert_eq!(fake.read(Target::V2, "io.weight"), "default 10000");
        assert_eq!(fake.read(Target::V2, "hugetlb.2MB.max"), "2097152");
        assert_eq!(fake.read(Target::V2, "hugetlb.2MB.rsvd.max"), "2097152");
        // An unknown unified key is a clear error, not a new file.
        let bad: LinuxResources =
            serde_json::from_str(r#"{"unified": {"nope.knob": "1"}}"#).unwrap();
        let w = plan(&bad, &layout(Mode::Unified), &Current::default()).unwrap();
        let e = apply(&fake.cg, &w).unwrap_err().to_string();
        assert!(
            e.starts_with("linux.resources.unified.\"nope.knob\": nope.knob does not exist"),
            "{e}"
        );
        assert!(!fake.cg.v2().unwrap().join("nope.knob").exists());
    }

    #[test]
    fn realtime_is_v1_only() {
        let res: LinuxResources =
            serde_json::from_str(r#"{"cpu": {"realtimeRuntime": 100}}"#).unwrap();
        let e = plan(&res, &layout(Mode::Unified), &Current::default()).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("linux.resources.cpu.realtimeRuntime"),
            "{e}"
        );
    }
}
