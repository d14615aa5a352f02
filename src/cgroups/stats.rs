//! Resource usage for `events`, in the JSON shape of runc's `types.Stats` (what
//! containerd and podman parse): read from the v1 controllers' files or the v2 ones.

use super::Cgroup;
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::Path;

fn zero(v: &u64) -> bool {
    *v == 0
}

#[derive(Debug, Default, Serialize)]
pub struct Stats {
    pub cpu: Cpu,
    pub memory: Memory,
    pub pids: Pids,
    pub blkio: Blkio,
    pub hugetlb: BTreeMap<String, Hugetlb>,
}

#[derive(Debug, Default, Serialize)]
pub struct Cpu {
    pub usage: CpuUsage,
    pub throttling: Throttling,
}

#[derive(Debug, Default, Serialize)]
pub struct CpuUsage {
    #[serde(skip_serializing_if = "zero")]
    pub total: u64,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub percpu: Vec<u64>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub percpu_kernel: Vec<u64>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub percpu_user: Vec<u64>,
    pub kernel: u64,
    pub user: u64,
}

#[derive(Debug, Default, Serialize)]
pub struct Throttling {
    #[serde(skip_serializing_if = "zero")]
    pub periods: u64,
    #[serde(rename = "throttledPeriods", skip_serializing_if = "zero")]
    pub throttled_periods: u64,
    #[serde(rename = "throttledTime", skip_serializing_if = "zero")]
    pub throttled_time: u64,
}

#[derive(Debug, Default, Serialize)]
pub struct MemoryEntry {
    pub limit: u64,
    #[serde(skip_serializing_if = "zero")]
    pub usage: u64,
    #[serde(skip_serializing_if = "zero")]
    pub max: u64,
    pub failcnt: u64,
}

#[derive(Debug, Default, Serialize)]
pub struct Memory {
    #[serde(skip_serializing_if = "zero")]
    pub cache: u64,
    pub usage: MemoryEntry,
    pub swap: MemoryEntry,
    pub kernel: MemoryEntry,
    #[serde(rename = "kernelTCP")]
    pub kernel_tcp: MemoryEntry,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub raw: BTreeMap<String, u64>,
}

#[derive(Debug, Default, Serialize)]
pub struct Pids {
    #[serde(skip_serializing_if = "zero")]
    pub current: u64,
    #[serde(skip_serializing_if = "zero")]
    pub limit: u64,
}

#[derive(Debug, Default, Serialize)]
pub struct BlkioEntry {
    #[serde(skip_serializing_if = "zero")]
    pub major: u64,
    #[serde(skip_serializing_if = "zero")]
    pub minor: u64,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub op: String,
    #[serde(skip_serializing_if = "zero")]
    pub value: u64,
}

#[derive(Debug, Default, Serialize)]
pub struct Blkio {
    #[serde(
        rename = "ioServiceBytesRecursive",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub service_bytes: Vec<BlkioEntry>,
    #[serde(rename = "ioServicedRecursive", skip_serializing_if = "Vec::is_empty")]
    pub serviced: Vec<BlkioEntry>,
}

#[derive(Debug, Default, Serialize)]
pub struct Hugetlb {
    #[serde(skip_serializing_if = "zero")]
    pub usage: u64,
    #[serde(skip_serializing_if = "zero")]
    pub max: u64,
    pub failcnt: u64,
}

fn read(dir: &Path, file: &str) -> Option<String> {
    std::fs::read_to_string(dir.join(file)).ok()
}

/// A single number; "max" (no limit) reads as u64::MAX, as runc reports it.
fn num(dir: &Path, file: &str) -> u64 {
    read(dir, file).map_or(0, |s| parse_num(s.trim()))
}

fn parse_num(s: &str) -> u64 {
    if s == "max" {
        u64::MAX
    } else {
        s.parse().unwrap_or(0)
    }
}

/// "key value" lines (memory.stat, cpu.stat, ...).
pub fn keyed(text: &str) -> BTreeMap<String, u64> {
    text.lines()
        .filter_map(|l| {
            let (k, v) = l.split_once(' ')?;
            Some((k.to_string(), v.trim().parse().ok()?))
        })
        .collect()
}

/// Page sizes as the hugetlb files name them, from /sys/kernel/mm/hugepages.
fn page_sizes() -> Vec<String> {
    let mut out: Vec<String> = std::fs::read_dir("/sys/kernel/mm/hugepages")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().into_string().ok()?;
            let kb: u64 = name
                .strip_prefix("hugepages-")?
                .strip_suffix("kB")?
                .parse()
                .ok()?;
            Some(page_size_name(kb))
        })
        .collect();
    out.sort();
    out
}

pub fn page_size_name(kb: u64) -> String {
    if kb >= 1 << 20 && kb.is_multiple_of(1 << 20) {
        format!("{}GB", kb >> 20)
    } else if kb >= 1 << 10 && kb.is_multiple_of(1 << 10) {
        format!("{}MB", kb >> 10)
    } else {
        format!("{kb}KB")
    }
}

/// Everything `events --stats` reports, from whichever controllers the cgroup has.
pub fn read_stats(cg: &Cgroup) -> Stats {
    let mut hugetlb = BTreeMap::new();
    for size in page_sizes() {
        if let Some(h) = hugetlb_stats(cg, &size) {
            hugetlb.insert(size, h);
        }
    }
    Stats {
        cpu: Cpu {
            usage: cpu_usage(cg),
            throttling: throttling(cg),
        },
        memory: memory(cg),
        pids: pids(cg),
        blkio: blkio(cg),
        hugetlb,
    }
}

/// A value of a keyed file (`cpu.stat`, ...), 0 when absent.
fn get(map: &BTreeMap<String, u64>, key: &str) -> u64 {
    map.get(key).copied().unwrap_or(0)
}

fn cpu_usage(cg: &Cgroup) -> CpuUsage {
    let mut u = CpuUsage::default();
    if let Some(acct) = cg.v1("cpuacct") {
        u.total = num(acct, "cpuacct.usage");
        let list = |f| -> Vec<u64> {
            read(acct, f)
                .map(|t| {
                    t.split_whitespace()
                        .filter_map(|n| n.parse().ok())
                        .collect()
                })
                .unwrap_or_default()
        };
        u.percpu = list("cpuacct.usage_percpu");
        u.percpu_kernel = list("cpuacct.usage_percpu_sys");
        u.percpu_user = list("cpuacct.usage_percpu_user");
        // cpuacct.stat counts USER_HZ ticks (100 a second).
        let st = keyed(&read(acct, "cpuacct.stat").unwrap_or_default());
        u.user = get(&st, "user") * 10_000_000;
        u.kernel = get(&st, "system") * 10_000_000;
    } else if let Some(d) = cg.v2() {
        let st = keyed(&read(d, "cpu.stat").unwrap_or_default());
        u.total = get(&st, "usage_usec") * 1000;
        u.user = get(&st, "user_usec") * 1000;
        u.kernel = get(&st, "system_usec") * 1000;
    }
    u
}

fn throttling(cg: &Cgroup) -> Throttling {
    // v1 counts throttled time in nanoseconds, v2 in microseconds.
    let (st, time) = if let Some(t) = cg.v1("cpu").and_then(|d| read(d, "cpu.stat")) {
        let st = keyed(&t);
        let time = get(&st, "throttled_time");
        (st, time)
    } else if let Some(d) = cg.v2() {
        let st = keyed(&read(d, "cpu.stat").unwrap_or_default());
        let time = get(&st, "throttled_usec") * 1000;
        (st, time)
    } else {
        return Throttling::default();
    };
    Throttling {
        periods: get(&st, "nr_periods"),
        throttled_periods: get(&st, "nr_throttled"),
        throttled_time: time,
    }
}

fn memory(cg: &Cgroup) -> Memory {
    let mut m = Memory::default();
    if let Some(d) = cg.v1("memory") {
        let entry = |p: &str| MemoryEntry {
            limit: num(d, &format!("{p}.limit_in_bytes")),
            usage: num(d, &format!("{p}.usage_in_bytes")),
            max: num(d, &format!("{p}.max_usage_in_bytes")),
            failcnt: num(d, &format!("{p}.failcnt")),
        };
        m.usage = entry("memory");
        m.swap = entry("memory.memsw");
        m.kernel = entry("memory.kmem");
        m.kernel_tcp = entry("memory.kmem.tcp");
        m.raw = keyed(&read(d, "memory.stat").unwrap_or_default());
        m.cache = get(&m.raw, "cache");
    } else if let Some(d) = cg.v2().filter(|d| d.join("memory.current").exists()) {
        m.usage = MemoryEntry {
            limit: num(d, "memory.max"),
            usage: num(d, "memory.current"),
            max: num(d, "memory.peak"),
            failcnt: get(&keyed(&read(d, "memory.events").unwrap_or_default()), "max"),
        };
        m.swap = MemoryEntry {
            limit: num(d, "memory.swap.max"),
            usage: num(d, "memory.swap.current"),
            max: num(d, "memory.swap.peak"),
            failcnt: 0,
        };
        m.raw = keyed(&read(d, "memory.stat").unwrap_or_default());
        m.cache = get(&m.raw, "file");
    }
    m
}

fn pids(cg: &Cgroup) -> Pids {
    let dir = cg
        .v1("pids")
        .or(cg.v2().filter(|d| d.join("pids.current").exists()));
    let Some(d) = dir else {
        return Pids::default();
    };
    let limit = num(d, "pids.max");
    Pids {
        current: num(d, "pids.current"),
        limit: if limit == u64::MAX { 0 } else { limit },
    }
}

fn blkio(cg: &Cgroup) -> Blkio {
    if let Some(d) = cg.v1("blkio") {
        Blkio {
            service_bytes: blkio_v1(
                &read(d, "blkio.throttle.io_service_bytes_recursive").unwrap_or_default(),
            ),
            serviced: blkio_v1(
                &read(d, "blkio.throttle.io_serviced_recursive").unwrap_or_default(),
            ),
        }
    } else if let Some(d) = cg.v2() {
        let (service_bytes, serviced) = io_stat_v2(&read(d, "io.stat").unwrap_or_default());
        Blkio {
            service_bytes,
            serviced,
        }
    } else {
        Blkio::default()
    }
}

/// One page size's hugetlb usage; None when the cgroup does not account it.
fn hugetlb_stats(cg: &Cgroup, size: &str) -> Option<Hugetlb> {
    if let Some(d) = cg.v1("hugetlb") {
        return Some(Hugetlb {
            usage: num(d, &format!("hugetlb.{size}.usage_in_bytes")),
            max: num(d, &format!("hugetlb.{size}.max_usage_in_bytes")),
            failcnt: num(d, &format!("hugetlb.{size}.failcnt")),
        });
    }
    let d = cg
        .v2()
        .filter(|d| d.join(format!("hugetlb.{size}.current")).exists())?;
    let events = keyed(&read(d, &format!("hugetlb.{size}.events")).unwrap_or_default());
    Some(Hugetlb {
        usage: num(d, &format!("hugetlb.{size}.current")),
        max: 0,
        failcnt: get(&events, "max"),
    })
}

/// v1 blkio lines: "8:0 Read 4096" (and a "Total N" line at the end).
fn blkio_v1(text: &str) -> Vec<BlkioEntry> {
    text.lines()
        .filter_map(|l| {
            let mut f = l.split_whitespace();
            let (dev, op, v) = (f.next()?, f.next()?, f.next()?);
            let (maj, min) = dev.split_once(':')?;
            Some(BlkioEntry {
                major: maj.parse().ok()?,
                minor: min.parse().ok()?,
                op: op.to_string(),
                value: v.parse().ok()?,
            })
        })
        .collect()
}

/// v2 io.stat lines: "8:0 rbytes=1 wbytes=2 rios=3 wios=4 dbytes=0 dios=0".
fn io_stat_v2(text: &str) -> (Vec<BlkioEntry>, Vec<BlkioEntry>) {
    let (mut bytes, mut ios) = (Vec::new(), Vec::new());
    for l in text.lines() {
        let mut f = l.split_whitespace();
        let Some((maj, min)) = f.next().and_then(|d| d.split_once(':')) else {
            continue;
        };
        let (Ok(major), Ok(minor)) = (maj.parse(), min.parse()) else {
            continue;
        };
        for kv in f {
            let Some((k, v)) = kv.split_once('=') else {
                continue;
            };
            let value = v.parse().unwrap_or(0);
            let (list, op) = match k {
                "rbytes" => (&mut bytes, "Read"),
                "wbytes" => (&mut bytes, "Write"),
                "rios" => (&mut ios, "Read"),
                "wios" => (&mut ios, "Write"),
                _ => continue,
            };
            list.push(BlkioEntry {
                major,
                minor,
                op: op.to_string(),
                value,
            });
        }
    }
    (bytes, ios)
}

/// How many processes the OOM killer has killed in the container so far.
pub fn oom_kills(cg: &Cgroup) -> Option<u64> {
    if let Some(d) = cg.v1("memory") {
        return keyed(&read(d, "memory.oom_control")?)
            .get("oom_kill")
            .copied();
    }
    let d = cg.v2()?;
    keyed(&read(d, "memory.events")?).get("oom_kill").copied()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_kernel_formats() {
        assert_eq!(page_size_name(2048), "2MB");
        assert_eq!(page_size_name(1048576), "1GB");
        assert_eq!(page_size_name(64), "64KB");
        let b = blkio_v1("8:0 Read 4096\n8:0 Write 0\nTotal 4096\n");
        assert_eq!(b.len(), 2);
        assert_eq!(
            (b[0].major, b[0].op.as_str(), b[0].value),
            (8, "Read", 4096)
        );
        let (bytes, ios) = io_stat_v2("253:0 rbytes=10 wbytes=20 rios=1 wios=2 dbytes=0 dios=0\n");
        assert_eq!(bytes.len(), 2);
        assert_eq!(
            (ios[1].major, ios[1].op.as_str(), ios[1].value),
            (253, "Write", 2)
        );
        assert_eq!(
            keyed("oom_kill_disable 0\nunder_oom 0\noom_kill 3\n")["oom_kill"],
            3
        );
        assert_eq!(parse_num("max"), u64::MAX);
    }

    #[test]
    fn json_shape_is_runcs() {
        let mut s = Stats::default();
        s.pids.current = 2;
        s.memory.usage.usage = 10;
        let v = serde_json::to_value(&s).unwrap();
        assert_eq!(v["pids"], serde_json::json!({"current": 2}));
        assert_eq!(
            v["memory"]["usage"],
            serde_json::json!({"limit": 0, "usage": 10, "failcnt": 0})
        );
        assert_eq!(
            v["cpu"]["usage"],
            serde_json::json!({"kernel": 0, "user": 0})
        );
        assert!(v["hugetlb"].is_object());
    }
}
