//! Resource writes in the cgroup v1 spelling: one file per knob, in the hierarchy of the
//! knob's controller.

use super::{Target, Write};
use anyhow::Result;
use oci_spec::runtime::{LinuxBlockIo, LinuxCpu, LinuxHugepageLimit, LinuxMemory, LinuxNetwork};

/// Values read from the live cgroup that change how an update is written.
#[derive(Debug, Clone, Default)]
pub struct Current {
    /// v1 memory.limit_in_bytes: raising memory+swap above it must come before raising
    /// the memory limit, lowering it after.
    pub memory_limit: Option<u64>,
}

const MEM: Target = Target::V1("memory");
const CPU: Target = Target::V1("cpu");
const BLKIO: Target = Target::V1("blkio");

pub fn memory(m: &LinuxMemory, cur: &Current) -> Result<Vec<Write>> {
    let key = |k: &str| format!("linux.resources.memory.{k}");
    let mut w = Vec::new();
    let limit = m.limit();
    // memory -1 alone means "no limit at all", swap included (as runc has it).
    let swap = match m.swap() {
        None if limit == Some(-1) => Some(-1),
        s => s,
    };
    let mem_w = limit.map(|l| Write::new(MEM, "memory.limit_in_bytes", l, &key("limit")));
    let swap_w = swap.map(|s| {
        let w = Write::new(MEM, "memory.memsw.limit_in_bytes", s, &key("swap"));
        // Without swap accounting the file is absent; "unlimited" then needs no write.
        if s == -1 {
            w.or_skip()
        } else {
            w
        }
    });
    if let (Some(l), Some(s)) = (limit, swap) {
        if s != -1 && l != -1 && s < l {
            anyhow::bail!(
                "linux.resources.memory.swap: memory+swap limit ({s}) must not be below the memory limit ({l})"
            );
        }
    }
    // The kernel insists memory <= memory+swap at every moment: when the new memory+swap
    // is above the current memory limit, it goes first.
    let swap_first = match (limit, swap) {
        (Some(_), Some(s)) => s == -1 || cur.memory_limit.is_some_and(|c| c < s as u64),
        _ => false,
    };
    if swap_first {
        w.extend(swap_w);
        w.extend(mem_w);
    } else {
        w.extend(mem_w);
        w.extend(swap_w);
    }
    if let Some(r) = m.reservation() {
        w.push(Write::new(
            MEM,
            "memory.soft_limit_in_bytes",
            r,
            &key("reservation"),
        ));
    }
    if let Some(t) = m.kernel_tcp() {
        w.push(Write::new(
            MEM,
            "memory.kmem.tcp.limit_in_bytes",
            t,
            &key("kernelTCP"),
        ));
    }
    if let Some(s) = m.swappiness() {
        w.push(Write::new(MEM, "memory.swappiness", s, &key("swappiness")));
    }
    if let Some(d) = m.disable_oom_killer() {
        w.push(Write::new(
            MEM,
            "memory.oom_control",
            u8::from(d),
            &key("disableOOMKiller"),
        ));
    }
    Ok(w)
}

pub fn cpu(c: &LinuxCpu) -> Vec<Write> {
    let key = |k: &str| format!("linux.resources.cpu.{k}");
    let mut w = Vec::new();
    if let Some(s) = c.shares().filter(|s| *s != 0) {
        w.push(Write::new(CPU, "cpu.shares", s, &key("shares")));
    }
    // Period before quota: the kernel checks quota against the period in force. But a
    // shorter period under the old quota may exceed a parent's limit, and then only
    // works once the new quota is in.
    let quota_too = c.quota().is_some_and(|q| q != 0);
    if let Some(p) = c.period().filter(|p| *p != 0) {
        let pw = Write::new(CPU, "cpu.cfs_period_us", p, &key("period"));
        w.push(if quota_too { pw.or_retry_later() } else { pw });
    }
    if let Some(q) = c.quota().filter(|q| *q != 0) {
        w.push(Write::new(CPU, "cpu.cfs_quota_us", q, &key("quota")));
    }
    if let Some(b) = c.burst() {
        w.push(Write::new(CPU, "cpu.cfs_burst_us", b, &key("burst")));
    }
    if let Some(p) = c.realtime_period().filter(|p| *p != 0) {
        w.push(Write::new(
            CPU,
            "cpu.rt_period_us",
            p,
            &key("realtimePeriod"),
        ));
    }
    if let Some(r) = c.realtime_runtime().filter(|r| *r != 0) {
        w.push(Write::new(
            CPU,
            "cpu.rt_runtime_us",
            r,
            &key("realtimeRuntime"),
        ));
    }
    if let Some(i) = c.idle() {
        w.push(Write::new(CPU, "cpu.idle", i, &key("idle")));
    }
    w
}

pub fn blkio(b: &LinuxBlockIo) -> Vec<Write> {
    let key = |k: &str| format!("linux.resources.blockIO.{k}");
    let mut w = Vec::new();
    // CFQ had blkio.weight; kernels since 5.0 only have BFQ's file, same scale.
    if let Some(v) = b.weight().filter(|v| *v != 0) {
        w.push(
            Write::new(BLKIO, "blkio.weight", v, &key("weight")).or_instead("blkio.bfq.weight", v),
        );
    }
    if let Some(v) = b.leaf_weight().filter(|v| *v != 0) {
        w.push(Write::new(
            BLKIO,
            "blkio.leaf_weight",
            v,
            &key("leafWeight"),
        ));
    }
    for (i, d) in b.weight_device().iter().flatten().enumerate() {
        let k = key(&format!("weightDevice[{i}]"));
        if let Some(v) = d.weight() {
            let line = format!("{}:{} {v}", d.major(), d.minor());
            w.push(
                Write::new(BLKIO, "blkio.weight_device", &line, &k)
                    .or_instead("blkio.bfq.weight_device", &line),
            );
        }
        if let Some(v) = d.leaf_weight() {
            let line = format!("{}:{} {v}", d.major(), d.minor());
            w.push(Write::new(BLKIO, "blkio.leaf_weight_device", line, &k));
        }
    }
    for (name, file, list) in [
        (
            "throttleReadBpsDevice",
            "blkio.throttle.read_bps_device",
            b.throttle_read_bps_device(),
        ),
        (
            "throttleWriteBpsDevice",
            "blkio.throttle.write_bps_device",
            b.throttle_write_bps_device(),
        ),
        (
            "throttleReadIOPSDevice",
            "blkio.throttle.read_iops_device",
            b.throttle_read_iops_device(),
        ),
        (
            "throttleWriteIOPSDevice",
            "blkio.throttle.write_iops_device",
            b.throttle_write_iops_device(),
        ),
    ] {
        for (i, d) in list.iter().flatten().enumerate() {
            let line = format!("{}:{} {}", d.major(), d.minor(), d.rate());
            w.push(Write::new(BLKIO, file, line, &key(&format!("{name}[{i}]"))));
        }
    }
    w
}

pub fn hugetlb(limits: &[LinuxHugepageLimit]) -> Vec<Write> {
    let t = Target::V1("hugetlb");
    let mut w = Vec::new();
    for (i, l) in limits.iter().enumerate() {
        let key = format!("linux.resources.hugepageLimits[{i}]");
        let size = l.page_size();
        w.push(Write::new(
            t,
            &format!("hugetlb.{size}.limit_in_bytes"),
            l.limit(),
            &key,
        ));
        // Reservations are accounted apart since 5.7; keep them in step when present.
        w.push(
            Write::new(
                t,
                &format!("hugetlb.{size}.rsvd.limit_in_bytes"),
                l.limit(),
                &key,
            )
            .or_skip(),
        );
    }
    w
}

pub fn net_cls(n: &LinuxNetwork, t: Target) -> Vec<Write> {
    n.class_id()
        .map(|c| Write::new(t, "net_cls.classid", c, "linux.resources.network.classID"))
        .into_iter()
        .collect()
}

pub fn net_prio(n: &LinuxNetwork, t: Target) -> Vec<Write> {
    n.priorities()
        .iter()
        .flatten()
        .enumerate()
        .map(|(i, p)| {
            Write::new(
                t,
                "net_prio.ifpriomap",
                format!("{} {}", p.name(), p.priority()),
                &format!("linux.resources.network.priorities[{i}]"),
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::super::resources::plan;
    use super::super::testing::*;
    use super::super::*;
    use super::*;

    fn writes(json: &str) -> Vec<(String, String)> {
        super::super::testing::writes(json, Mode::Legacy)
    }

    #[test]
    fn every_resource_has_its_file() {
        let all = r#"{
            "memory": {"limit": 104857600, "reservation": 52428800, "swap": 209715200,
                       "kernelTCP": 1048576, "swappiness": 10, "disableOOMKiller": true},
            "cpu": {"shares": 512, "quota": 50000, "period": 100000, "burst": 1000,
                    "realtimeRuntime": 950, "realtimePeriod": 1000, "idle": 1,
                    "cpus": "0-1", "mems": "0"},
            "pids": {"limit": 32},
            "blockIO": {"weight": 300, "leafWeight": 200,
                        "weightDevice": [{"major": 8, "minor": 0, "weight": 500, "leafWeight": 100}],
                        "throttleReadBpsDevice": [{"major": 8, "minor": 0, "rate": 1048576}],
                        "throttleWriteBpsDevice": [{"major": 8, "minor": 0, "rate": 2097152}],
                        "throttleReadIOPSDevice": [{"major": 8, "minor": 0, "rate": 100}],
                        "throttleWriteIOPSDevice": [{"major": 8, "minor": 0, "rate": 200}]},
            "hugepageLimits": [{"pageSize": "2MB", "limit": 4194304}],
            "network": {"classID": 1048577, "priorities": [{"name": "eth0", "priority": 5}]}
        }"#;
        assert_eq!(
            writes(all),
            pairs(&[
                ("memory.limit_in_bytes", "104857600"),
                ("memory.memsw.limit_in_bytes", "209715200"),
                ("memory.soft_limit_in_bytes", "52428800"),
                ("memory.kmem.tcp.limit_in_bytes", "1048576"),
                ("memory.swappiness", "10"),
                ("memory.oom_control", "1"),
                ("cpu.shares", "512"),
                ("cpu.cfs_period_us", "100000"),
                ("cpu.cfs_quota_us", "50000"),
                ("cpu.cfs_burst_us", "1000"),
                ("cpu.rt_period_us", "1000"),
                ("cpu.rt_runtime_us", "950"),
                ("cpu.idle", "1"),
                ("cpuset.cpus", "0-1"),
                ("cpuset.mems", "0"),
                ("pids.max", "32"),
                ("blkio.weight", "300"),
                ("blkio.leaf_weight", "200"),
                ("blkio.weight_device", "8:0 500"),
                ("blkio.leaf_weight_device", "8:0 100"),
                ("blkio.throttle.read_bps_device", "8:0 1048576"),
                ("blkio.throttle.write_bps_device", "8:0 2097152"),
                ("blkio.throttle.read_iops_device", "8:0 100"),
                ("blkio.throttle.write_iops_device", "8:0 200"),
                ("hugetlb.2MB.limit_in_bytes", "4194304"),
                ("hugetlb.2MB.rsvd.limit_in_bytes", "4194304"),
                ("net_cls.classid", "1048577"),
                ("net_prio.ifpriomap", "eth0 5"),
            ])
        );
    }

    #[test]
    fn written_into_a_fake_tree() {
        let fake = Fake::new("v1", Mode::Legacy);
        let res: LinuxResources = serde_json::from_str(
            r#"{"memory": {"limit": 1048576, "swap": -1}, "cpu": {"shares": 100, "quota": 20000},
                "pids": {"limit": -1}, "blockIO": {"weight": 700}}"#,
        )
        .unwrap();
        let w = plan(&res, &layout(Mode::Legacy), &Current::default()).unwrap();
        apply(&fake.cg, &w).unwrap();
        let mem = Target::V1("memory");
        assert_eq!(fake.read(mem, "memory.limit_in_bytes"), "1048576");
        assert_eq!(fake.read(mem, "memory.memsw.limit_in_bytes"), "-1");
        assert_eq!(fake.read(Target::V1("cpu"), "cpu.shares"), "100");
        assert_eq!(fake.read(Target::V1("cpu"), "cpu.cfs_quota_us"), "20000");
        assert_eq!(fake.read(Target::V1("pids"), "pids.max"), "max");
        // No blkio.weight on BFQ-only kernels: the bfq file takes the same value.
        assert_eq!(fake.read(Target::V1("blkio"), "blkio.bfq.weight"), "700");
    }

    #[test]
    fn memory_and_swap_order_follows_the_current_limit() {
        let m: LinuxMemory = serde_json::from_str(r#"{"limit": 200, "swap": 400}"#).unwrap();
        let files = |cur: Option<u64>| -> Vec<String> {
            memory(&m, &Current { memory_limit: cur })
                .unwrap()
                .into_iter()
                .map(|w| w.file)
                .collect()
        };
        // Growing: memory+swap first, so memory never exceeds it.
        assert_eq!(files(Some(100))[0], "memory.memsw.limit_in_bytes");
        // Shrinking from a high limit: memory first.
        assert_eq!(files(Some(1000))[0], "memory.limit_in_bytes");
        assert_eq!(files(None)[0], "memory.limit_in_bytes");
        let bad: LinuxMemory = serde_json::from_str(r#"{"limit": 400, "swap": 200}"#).unwrap();
        assert!(memory(&bad, &Current::default())
            .unwrap_err()
            .to_string()
            .starts_with("linux.resources.memory.swap"));
        // -1 alone lifts both limits.
        let unl: LinuxMemory = serde_json::from_str(r#"{"limit": -1}"#).unwrap();
        let w = memory(&unl, &Current::default()).unwrap();
        assert_eq!(
            w.iter()
                .map(|w| (w.file.as_str(), w.value.as_str()))
                .collect::<Vec<_>>(),
            [
                ("memory.memsw.limit_in_bytes", "-1"),
                ("memory.limit_in_bytes", "-1")
            ]
        );
    }
}
