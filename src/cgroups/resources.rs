//! `linux.resources` → cgroup file writes: the checks every host shares (values that
//! make no sense are refused with the key named), then the v1 or v2 spelling per
//! controller, wherever the host keeps that controller.

use super::v1::Current;
use super::{v1, v2, Layout, Target, Write};
use anyhow::{bail, Result};
use oci_spec::runtime::{LinuxCpu, LinuxMemory, LinuxResources};

const MEM: &str = "linux.resources.memory";
const CPU: &str = "linux.resources.cpu";

/// The writes for `linux.resources`, a section at a time, each checked first.
pub fn plan(res: &LinuxResources, layout: &Layout, cur: &Current) -> Result<Vec<Write>> {
    let mut w = Vec::new();
    if let Some(m) = res.memory().as_ref().filter(|m| memory_set(m)) {
        w.extend(memory(m, layout, cur)?);
    }
    if let Some(c) = res.cpu() {
        w.extend(cpu(c, layout)?);
    }
    if let Some(p) = res.pids() {
        w.extend(pids(p, layout)?);
    }
    if let Some(b) = res.block_io() {
        w.extend(block_io(b, layout)?);
    }
    if let Some(h) = res.hugepage_limits().as_ref().filter(|h| !h.is_empty()) {
        w.extend(hugetlb(h, layout)?);
    }
    if let Some(n) = res.network() {
        w.extend(network(n, layout)?);
    }
    if let Some(r) = res.rdma().as_ref().filter(|r| !r.is_empty()) {
        let t = layout.target("linux.resources.rdma", "rdma", "rdma")?;
        w.extend(rdma(r, t));
    }
    if let Some(u) = res.unified().as_ref().filter(|u| !u.is_empty()) {
        // As runc: a hybrid host's v2 hierarchy holds few (or no) controllers, so the
        // map is for pure cgroup v2 hosts only ("invalid configuration" is runc's word).
        if layout.mode != super::Mode::Unified {
            bail!(
                "linux.resources.unified: invalid configuration: needs a cgroup v2 host, and this one has v1 hierarchies"
            );
        }
        w.extend(v2::unified(u)?);
    }
    Ok(w)
}

fn memory(m: &LinuxMemory, layout: &Layout, cur: &Current) -> Result<Vec<Write>> {
    check_memory(m)?;
    match layout.target(MEM, "memory", "memory")? {
        Target::V1(_) => v1::memory(m, cur),
        Target::V2 => v2::memory(m),
    }
}

fn cpu(c: &LinuxCpu, layout: &Layout) -> Result<Vec<Write>> {
    check_cpu(c)?;
    let realtime =
        c.realtime_runtime().is_some_and(|r| r != 0) || c.realtime_period().is_some_and(|p| p != 0);
    if realtime && layout.mode == super::Mode::Unified {
        bail!("{CPU}.realtimeRuntime: real-time scheduling is not supported on cgroup v2");
    }
    let mut w = Vec::new();
    if cpu_set(c) {
        w.extend(match layout.target(CPU, "cpu", "cpu")? {
            Target::V1(_) => v1::cpu(c),
            Target::V2 => v2::cpu(c)?,
        });
    }
    if c.cpus().is_some() || c.mems().is_some() {
        check_cpuset(c, layout)?;
        let t = layout.target(&format!("{CPU}.cpus"), "cpuset", "cpuset")?;
        w.extend(cpuset(c, t));
    }
    Ok(w)
}

fn pids(p: &oci_spec::runtime::LinuxPids, layout: &Layout) -> Result<Option<Write>> {
    let limit = p.limit();
    if limit < -1 {
        bail!("linux.resources.pids.limit: invalid value {limit} (-1 means no limit)");
    }
    if limit == 0 {
        return Ok(None);
    }
    let value = if limit < 0 {
        "max".to_string()
    } else {
        limit.to_string()
    };
    let t = layout.target("linux.resources.pids", "pids", "pids")?;
    Ok(Some(Write::new(
        t,
        "pids.max",
        value,
        "linux.resources.pids.limit",
    )))
}

fn block_io(b: &oci_spec::runtime::LinuxBlockIo, layout: &Layout) -> Result<Vec<Write>> {
    check_blkio(b)?;
    if !blkio_set(b) {
        return Ok(Vec::new());
    }
    Ok(
        match layout.target("linux.resources.blockIO", "blkio", "io")? {
            Target::V1(_) => v1::blkio(b),
            Target::V2 => v2::io(b),
        },
    )
}

fn hugetlb(h: &[oci_spec::runtime::LinuxHugepageLimit], layout: &Layout) -> Result<Vec<Write>> {
    for (i, l) in h.iter().enumerate() {
        check_page_size(i, l.page_size())?;
        if l.limit() < -1 {
            bail!(
                "linux.resources.hugepageLimits[{i}].limit: invalid value {}",
                l.limit()
            );
        }
    }
    Ok(
        match layout.target("linux.resources.hugepageLimits", "hugetlb", "hugetlb")? {
            Target::V1(_) => v1::hugetlb(h),
            Target::V2 => v2::hugetlb(h),
        },
    )
}

/// net_cls and net_prio exist only in v1.
fn network(n: &oci_spec::runtime::LinuxNetwork, layout: &Layout) -> Result<Vec<Write>> {
    let mut w = Vec::new();
    if n.class_id().is_some() {
        let t = layout.target("linux.resources.network.classID", "net_cls", "net_cls")?;
        w.extend(v1::net_cls(n, t));
    }
    if n.priorities().as_ref().is_some_and(|p| !p.is_empty()) {
        let t = layout.target("linux.resources.network.priorities", "net_prio", "net_prio")?;
        w.extend(v1::net_prio(n, t));
    }
    Ok(w)
}

fn memory_set(m: &LinuxMemory) -> bool {
    m.limit().is_some()
        || m.reservation().is_some()
        || m.swap().is_some()
        || m.kernel_tcp().is_some()
        || m.swappiness().is_some()
        || m.disable_oom_killer().is_some()
}

fn cpu_set(c: &LinuxCpu) -> bool {
    c.shares().is_some_and(|s| s != 0)
        || c.quota().is_some_and(|q| q != 0)
        || c.period().is_some_and(|p| p != 0)
        || c.burst().is_some()
        || c.idle().is_some()
        || c.realtime_runtime().is_some_and(|r| r != 0)
        || c.realtime_period().is_some_and(|p| p != 0)
}

fn blkio_set(b: &oci_spec::runtime::LinuxBlockIo) -> bool {
    let some = |v: &Option<Vec<_>>| v.as_ref().is_some_and(|v: &Vec<_>| !v.is_empty());
    b.weight().is_some_and(|w| w != 0)
        || b.leaf_weight().is_some_and(|w| w != 0)
        || b.weight_device().as_ref().is_some_and(|v| !v.is_empty())
        || some(b.throttle_read_bps_device())
        || some(b.throttle_write_bps_device())
        || some(b.throttle_read_iops_device())
        || some(b.throttle_write_iops_device())
}

fn check_memory(m: &LinuxMemory) -> Result<()> {
    for (name, v) in [
        ("limit", m.limit()),
        ("reservation", m.reservation()),
        ("swap", m.swap()),
        ("kernel", m.kernel()),
        ("kernelTCP", m.kernel_tcp()),
    ] {
        if let Some(v) = v.filter(|v| *v < -1) {
            bail!("{MEM}.{name}: invalid value {v} (a byte count, or -1 for no limit)");
        }
    }
    if let Some(s) = m.swappiness().filter(|s| *s > 100) {
        bail!("{MEM}.swappiness: invalid value {s} (0 to 100)");
    }
    Ok(())
}

fn check_cpu(c: &LinuxCpu) -> Result<()> {
    if let Some(s) = c.shares().filter(|s| *s != 0 && !(2..=262144).contains(s)) {
        bail!("{CPU}.shares: invalid value {s} (2 to 262144)");
    }
    if let Some(q) = c.quota().filter(|q| *q != 0 && *q != -1 && *q < 1000) {
        bail!("{CPU}.quota: invalid value {q} (at least 1000 microseconds, or -1 for no limit)");
    }
    if let Some(p) = c
        .period()
        .filter(|p| *p != 0 && !(1000..=1_000_000).contains(p))
    {
        bail!("{CPU}.period: invalid value {p} (1000 to 1000000 microseconds)");
    }
    if let Some(r) = c.realtime_runtime().filter(|r| *r < -1) {
        bail!("{CPU}.realtimeRuntime: invalid value {r}");
    }
    if let Some(i) = c.idle().filter(|i| *i != 0 && *i != 1) {
        bail!("{CPU}.idle: invalid value {i} (0 or 1)");
    }
    Ok(())
}

fn check_cpuset(c: &LinuxCpu, layout: &Layout) -> Result<()> {
    for (name, want, have) in [
        ("cpus", c.cpus(), &layout.cpus),
        ("mems", c.mems(), &layout.mems),
    ] {
        let Some(want) = want.as_deref().filter(|s| !s.trim().is_empty()) else {
            continue;
        };
        let asked = parse_list(want).map_err(|e| anyhow::anyhow!("{CPU}.{name}: {want:?}: {e}"))?;
        let online = parse_list(have).unwrap_or_default();
        let out: Vec<String> = asked
            .iter()
            .filter(|n| !online.contains(n))
            .map(|n| n.to_string())
            .collect();
        if !out.is_empty() {
            let what = if name == "cpus" { "CPU" } else { "memory node" };
            bail!(
                "{CPU}.{name}: {what} {} not available on this host (online: {have})",
                out.join(",")
            );
        }
    }
    Ok(())
}

/// Parse a kernel list ("0-3,7") into its members.
pub fn parse_list(s: &str) -> Result<Vec<u32>> {
    let mut out = Vec::new();
    for part in s.trim().split(',').filter(|p| !p.is_empty()) {
        let (a, b) = part.split_once('-').unwrap_or((part, part));
        let (Ok(a), Ok(b)) = (a.trim().parse::<u32>(), b.trim().parse::<u32>()) else {
            bail!("not a list of numbers and ranges like 0-3,7");
        };
        if a > b || b - a > 65536 {
            bail!("bad range {part:?}");
        }
        out.extend(a..=b);
    }
    Ok(out)
}

fn check_blkio(b: &oci_spec::runtime::LinuxBlockIo) -> Result<()> {
    let bad = |w: Option<u16>| w.filter(|w| *w != 0 && !(10..=1000).contains(w));
    if let Some(w) = bad(b.weight()) {
        bail!("linux.resources.blockIO.weight: invalid value {w} (10 to 1000)");
    }
    if let Some(w) = bad(b.leaf_weight()) {
        bail!("linux.resources.blockIO.leafWeight: invalid value {w} (10 to 1000)");
    }
    for (i, d) in b.weight_device().iter().flatten().enumerate() {
        if d.major() < 0 || d.minor() < 0 {
            bail!(
                "linux.resources.blockIO.weightDevice[{i}]: invalid device {}:{}",
                d.major(),
                d.minor()
            );
        }
        if let Some(w) = bad(d.weight()).or(bad(d.leaf_weight())) {
            bail!(
                "linux.resources.blockIO.weightDevice[{i}].weight: invalid value {w} (10 to 1000)"
            );
        }
    }
    for (name, list) in [
        ("throttleReadBpsDevice", b.throttle_read_bps_device()),
        ("throttleWriteBpsDevice", b.throttle_write_bps_device()),
        ("throttleReadIOPSDevice", b.throttle_read_iops_device()),
        ("throttleWriteIOPSDevice", b.throttle_write_iops_device()),
    ] {
        for (i, d) in list.iter().flatten().enumerate() {
            if d.major() < 0 || d.minor() < 0 {
                bail!(
                    "linux.resources.blockIO.{name}[{i}]: invalid device {}:{}",
                    d.major(),
                    d.minor()
                );
            }
        }
    }
    Ok(())
}

/// "2MB", "1GB", "64KB": the names the kernel gives hugetlb files.
fn check_page_size(i: usize, s: &str) -> Result<()> {
    let digits = s.trim_end_matches(|c: char| c.is_ascii_alphabetic());
    let unit = &s[digits.len()..];
    if digits.is_empty()
        || !digits.bytes().all(|b| b.is_ascii_digit())
        || !["KB", "MB", "GB"].contains(&unit)
    {
        bail!("linux.resources.hugepageLimits[{i}].pageSize: {s:?} is not a page size like \"2MB\" or \"1GB\"");
    }
    Ok(())
}

fn cpuset(c: &LinuxCpu, t: Target) -> Vec<Write> {
    let mut w = Vec::new();
    if let Some(cpus) = c.cpus().as_deref().filter(|s| !s.trim().is_empty()) {
        w.push(Write::new(
            t,
            "cpuset.cpus",
            cpus.trim(),
            &format!("{CPU}.cpus"),
        ));
    }
    if let Some(mems) = c.mems().as_deref().filter(|s| !s.trim().is_empty()) {
        w.push(Write::new(
            t,
            "cpuset.mems",
            mems.trim(),
            &format!("{CPU}.mems"),
        ));
    }
    w
}

/// rdma.max reads the same in v1 and v2: "<device> hca_handle=N hca_object=M".
fn rdma(
    r: &std::collections::HashMap<String, oci_spec::runtime::LinuxRdma>,
    t: Target,
) -> Vec<Write> {
    let mut devs: Vec<_> = r.iter().collect();
    devs.sort_by(|a, b| a.0.cmp(b.0));
    devs.into_iter()
        .filter_map(|(dev, l)| {
            let mut v = dev.clone();
            if let Some(h) = l.hca_handles() {
                v.push_str(&format!(" hca_handle={h}"));
            }
            if let Some(o) = l.hca_objects() {
                v.push_str(&format!(" hca_object={o}"));
            }
            (v.len() > dev.len())
                .then(|| Write::new(t, "rdma.max", v, &format!("linux.resources.rdma.{dev}")))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use super::super::*;
    use super::*;

    fn res(json: &str) -> LinuxResources {
        serde_json::from_str(json).unwrap()
    }

    fn err(json: &str, mode: Mode) -> String {
        plan(&res(json), &layout(mode), &Current::default())
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn nonsense_is_refused_naming_the_key() {
        for mode in [Mode::Legacy, Mode::Unified, Mode::Hybrid] {
            for (json, key) in [
                (r#"{"memory":{"limit":-5}}"#, "linux.resources.memory.limit"),
                (
                    r#"{"memory":{"swappiness":101}}"#,
                    "linux.resources.memory.swappiness",
                ),
                (r#"{"cpu":{"shares":1}}"#, "linux.resources.cpu.shares"),
                (r#"{"cpu":{"quota":-7}}"#, "linux.resources.cpu.quota"),
                (r#"{"cpu":{"period":10}}"#, "linux.resources.cpu.period"),
                (r#"{"cpu":{"cpus":"0-63"}}"#, "linux.resources.cpu.cpus"),
                (r#"{"cpu":{"cpus":"x"}}"#, "linux.resources.cpu.cpus"),
                (r#"{"cpu":{"mems":"3"}}"#, "linux.resources.cpu.mems"),
                (r#"{"pids":{"limit":-5}}"#, "linux.resources.pids.limit"),
                (
                    r#"{"blockIO":{"weight":5}}"#,
                    "linux.resources.blockIO.weight",
                ),
                (
                    r#"{"hugepageLimits":[{"pageSize":"2M","limit":1}]}"#,
                    "linux.resources.hugepageLimits[0].pageSize",
                ),
            ] {
                let e = err(json, mode);
                assert!(e.starts_with(key), "{mode:?} {json}: {e}");
            }
        }
        assert!(err(r#"{"unified":{"memory.max":"1"}}"#, Mode::Legacy).contains("cgroup v2"));
        assert!(err(r#"{"unified":{"../x":"1"}}"#, Mode::Unified)
            .starts_with("linux.resources.unified"));
    }

    #[test]
    fn missing_controllers_are_named() {
        let mut l = layout(Mode::Unified);
        l.v2.retain(|c| c != "memory");
        let e = plan(
            &res(r#"{"memory":{"limit":1048576}}"#),
            &l,
            &Current::default(),
        )
        .unwrap_err();
        assert!(
            e.to_string().contains("memory controller is not available"),
            "{e}"
        );
        // An empty object asks for nothing.
        assert!(plan(&res(r#"{"memory":{}}"#), &l, &Current::default())
            .unwrap()
            .is_empty());
    }

    #[test]
    fn hugetlb_limits_need_the_controller_somewhere() {
        let huge = r#"{"hugepageLimits":[{"pageSize":"2MB","limit":4194304}]}"#;
        for mode in [Mode::Legacy, Mode::Hybrid, Mode::Unified] {
            let mut l = layout(mode);
            l.v1.retain(|c| c != "hugetlb");
            l.v2.retain(|c| c != "hugetlb");
            let e = plan(&res(huge), &l, &Current::default()).unwrap_err();
            let e = e.to_string();
            assert!(
                e.starts_with("linux.resources.hugepageLimits: the hugetlb ") && !e.contains('\n'),
                "{mode:?}: {e}"
            );
            // No limits, no controller needed.
            for none in [r#"{"hugepageLimits":[]}"#, "{}"] {
                assert!(plan(&res(none), &l, &Current::default())
                    .unwrap()
                    .is_empty());
            }
        }
    }

    #[test]
    fn hybrid_puts_what_v1_lacks_in_v2() {
        let mut l = layout(Mode::Hybrid);
        l.v1.retain(|c| c != "hugetlb");
        let w = plan(&res(r#"{"hugepageLimits":[{"pageSize":"2MB","limit":4194304}],"memory":{"limit":1048576}}"#), &l, &Current::default()).unwrap();
        assert_eq!(w[0].target, Target::V1("memory"));
        let h = w.iter().find(|w| w.file == "hugetlb.2MB.max").unwrap();
        assert_eq!((h.target, h.value.as_str()), (Target::V2, "4194304"));
    }

    #[test]
    fn lists() {
        assert_eq!(parse_list("0-2,5").unwrap(), vec![0, 1, 2, 5]);
        assert!(parse_list("2-1").is_err());
    }

    #[test]
    fn rdma_both_versions() {
        for mode in [Mode::Legacy, Mode::Unified] {
            let w = plan(
                &res(r#"{"rdma":{"mlx5_1":{"hcaHandles":3,"hcaObjects":10000}}}"#),
                &layout(mode),
                &Current::default(),
            )
            .unwrap();
            assert_eq!(w.len(), 1);
            assert_eq!(
                (w[0].file.as_str(), w[0].value.as_str()),
                ("rdma.max", "mlx5_1 hca_handle=3 hca_object=10000")
            );
        }
    }
}
