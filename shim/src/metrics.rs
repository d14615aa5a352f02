//! Stats for containerd: berth's cgroup readings in containerd's cgroup v1 or v2
//! metrics message, whichever the container's cgroup is (as the Go shim decides).

use berth::cgroups::mode::Mode;
use berth::cgroups::stats::{read_stats, Stats};
use berth::cgroups::Cgroup;
use containerd_shim::protos::cgroups::metrics as v1;
use containerd_shim::protos::cgroups_v2::metrics as v2;
use containerd_shim::protos::protobuf::well_known_types::any::Any;
use containerd_shim::protos::protobuf::{Message, MessageField};

/// The metrics of `cg` packed as containerd expects them (type URL without a prefix,
/// as Go's typeurl writes it).
pub fn collect(cg: &Cgroup) -> anyhow::Result<Any> {
    let s = read_stats(cg);
    let (url, value) = if cg.mode == Mode::Unified {
        (
            "io.containerd.cgroups.v2.Metrics",
            to_v2(&s, cg).write_to_bytes()?,
        )
    } else {
        (
            "io.containerd.cgroups.v1.Metrics",
            to_v1(&s, cg).write_to_bytes()?,
        )
    };
    let mut any = Any::new();
    any.type_url = url.to_string();
    any.value = value;
    Ok(any)
}

fn entry(e: &berth::cgroups::stats::MemoryEntry) -> v1::MemoryEntry {
    v1::MemoryEntry {
        limit: e.limit,
        usage: e.usage,
        max: e.max,
        failcnt: e.failcnt,
        ..Default::default()
    }
}

fn raw(s: &Stats, key: &str) -> u64 {
    s.memory.raw.get(key).copied().unwrap_or(0)
}

fn to_v1(s: &Stats, cg: &Cgroup) -> v1::Metrics {
    let cpu = v1::CPUStat {
        usage: MessageField::some(v1::CPUUsage {
            total: s.cpu.usage.total,
            kernel: s.cpu.usage.kernel,
            user: s.cpu.usage.user,
            per_cpu: s.cpu.usage.percpu.clone(),
            ..Default::default()
        }),
        throttling: MessageField::some(v1::Throttle {
            periods: s.cpu.throttling.periods,
            throttled_periods: s.cpu.throttling.throttled_periods,
            throttled_time: s.cpu.throttling.throttled_time,
            ..Default::default()
        }),
        ..Default::default()
    };
    let memory = v1::MemoryStat {
        cache: s.memory.cache,
        rss: raw(s, "rss"),
        rss_huge: raw(s, "rss_huge"),
        mapped_file: raw(s, "mapped_file"),
        dirty: raw(s, "dirty"),
        writeback: raw(s, "writeback"),
        pg_fault: raw(s, "pgfault"),
        pg_maj_fault: raw(s, "pgmajfault"),
        inactive_anon: raw(s, "inactive_anon"),
        active_anon: raw(s, "active_anon"),
        inactive_file: raw(s, "inactive_file"),
        active_file: raw(s, "active_file"),
        unevictable: raw(s, "unevictable"),
        total_cache: raw(s, "total_cache"),
        total_rss: raw(s, "total_rss"),
        total_inactive_file: raw(s, "total_inactive_file"),
        usage: MessageField::some(entry(&s.memory.usage)),
        swap: MessageField::some(entry(&s.memory.swap)),
        kernel: MessageField::some(entry(&s.memory.kernel)),
        kernel_tcp: MessageField::some(entry(&s.memory.kernel_tcp)),
        ..Default::default()
    };
    let oom = v1::MemoryOomControl {
        oom_kill: berth::cgroups::stats::oom_kills(cg).unwrap_or(0),
        ..Default::default()
    };
    v1::Metrics {
        pids: MessageField::some(v1::PidsStat {
            current: s.pids.current,
            limit: s.pids.limit,
            ..Default::default()
        }),
        cpu: MessageField::some(cpu),
        memory: MessageField::some(memory),
        memory_oom_control: MessageField::some(oom),
        ..Default::default()
    }
}

fn to_v2(s: &Stats, cg: &Cgroup) -> v2::Metrics {
    let cpu = v2::CPUStat {
        usage_usec: s.cpu.usage.total / 1000,
        user_usec: s.cpu.usage.user / 1000,
        system_usec: s.cpu.usage.kernel / 1000,
        nr_periods: s.cpu.throttling.periods,
        nr_throttled: s.cpu.throttling.throttled_periods,
        throttled_usec: s.cpu.throttling.throttled_time / 1000,
        ..Default::default()
    };
    let memory = v2::MemoryStat {
        anon: raw(s, "anon"),
        file: raw(s, "file"),
        kernel_stack: raw(s, "kernel_stack"),
        slab: raw(s, "slab"),
        sock: raw(s, "sock"),
        shmem: raw(s, "shmem"),
        file_mapped: raw(s, "file_mapped"),
        inactive_anon: raw(s, "inactive_anon"),
        active_anon: raw(s, "active_anon"),
        inactive_file: raw(s, "inactive_file"),
        active_file: raw(s, "active_file"),
        pgfault: raw(s, "pgfault"),
        pgmajfault: raw(s, "pgmajfault"),
        usage: s.memory.usage.usage,
        usage_limit: s.memory.usage.limit,
        swap_usage: s.memory.swap.usage,
        swap_limit: s.memory.swap.limit,
        max_usage: s.memory.usage.max,
        ..Default::default()
    };
    v2::Metrics {
        pids: MessageField::some(v2::PidsStat {
            current: s.pids.current,
            limit: s.pids.limit,
            ..Default::default()
        }),
        cpu: MessageField::some(cpu),
        memory: MessageField::some(memory),
        memory_events: MessageField::some(v2::MemoryEvents {
            oom_kill: berth::cgroups::stats::oom_kills(cg).unwrap_or(0),
            ..Default::default()
        }),
        ..Default::default()
    }
}
