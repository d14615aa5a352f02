//! Test helpers: a fake cgroupfs in a temporary directory (the real file names,
//! empty), and the writes `resources::plan` makes.

use super::*;

pub const V1_FILES: &[(&str, &[&str])] = &[
    (
        "memory",
        &[
            "memory.limit_in_bytes",
            "memory.memsw.limit_in_bytes",
            "memory.soft_limit_in_bytes",
            "memory.kmem.tcp.limit_in_bytes",
            "memory.swappiness",
            "memory.oom_control",
        ],
    ),
    (
        "cpu",
        &[
            "cpu.shares",
            "cpu.cfs_period_us",
            "cpu.cfs_quota_us",
            "cpu.cfs_burst_us",
            "cpu.rt_period_us",
            "cpu.rt_runtime_us",
            "cpu.idle",
        ],
    ),
    ("cpuset", &["cpuset.cpus", "cpuset.mems"]),
    ("pids", &["pids.max"]),
    (
        "blkio",
        &[
            "blkio.bfq.weight",
            "blkio.bfq.weight_device",
            "blkio.throttle.read_bps_device",
            "blkio.throttle.write_bps_device",
            "blkio.throttle.read_iops_device",
            "blkio.throttle.write_iops_device",
            "blkio.leaf_weight",
            "blkio.leaf_weight_device",
        ],
    ),
    (
        "hugetlb",
        &[
            "hugetlb.2MB.limit_in_bytes",
            "hugetlb.2MB.rsvd.limit_in_bytes",
            "hugetlb.1GB.limit_in_bytes",
        ],
    ),
    ("net_cls", &["net_cls.classid"]),
    ("net_prio", &["net_prio.ifpriomap"]),
    ("rdma", &["rdma.max"]),
    ("devices", &["devices.allow", "devices.deny"]),
];

pub const V2_FILES: &[&str] = &[
    "memory.max",
    "memory.swap.max",
    "memory.low",
    "cpu.weight",
    "cpu.max",
    "cpu.max.burst",
    "cpu.idle",
    "cpuset.cpus",
    "cpuset.mems",
    "pids.max",
    "io.weight",
    "io.max",
    "hugetlb.2MB.max",
    "hugetlb.2MB.rsvd.max",
    "hugetlb.1GB.max",
    "rdma.max",
    "memory.high",
];

pub struct Fake {
    pub root: PathBuf,
    pub cg: Cgroup,
}

impl Fake {
    pub fn new(name: &str, mode: Mode) -> Fake {
        let root = std::env::temp_dir().join(format!("berth-cg-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        let mut dirs = Vec::new();
        if mode != Mode::Unified {
            for (ctrl, files) in V1_FILES {
                let d = root.join(ctrl);
                std::fs::create_dir_all(&d).unwrap();
                for f in *files {
                    std::fs::write(d.join(f), "").unwrap();
                }
                dirs.push(Dir {
                    controllers: vec![ctrl.to_string()],
                    path: d,
                    made: None,
                    ..Default::default()
                });
            }
        }
        if mode != Mode::Legacy {
            let d = root.join("unified");
            std::fs::create_dir_all(&d).unwrap();
            for f in V2_FILES {
                std::fs::write(d.join(f), "").unwrap();
            }
            dirs.push(Dir {
                controllers: vec![],
                path: d,
                made: None,
                ..Default::default()
            });
        }
        Fake {
            root,
            cg: Cgroup {
                mode,
                dirs,
                systemd: None,
            },
        }
    }

    pub fn read(&self, t: Target, file: &str) -> String {
        std::fs::read_to_string(self.cg.dir(t).unwrap().join(file)).unwrap()
    }
}

impl Drop for Fake {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.root);
    }
}

pub fn layout(mode: Mode) -> Layout {
    let all = |v: &[&str]| v.iter().map(|s| s.to_string()).collect();
    Layout {
        mode,
        v1: if mode == Mode::Unified {
            vec![]
        } else {
            all(&[
                "memory", "cpu", "cpuacct", "cpuset", "pids", "blkio", "hugetlb", "net_cls",
                "net_prio", "rdma", "devices", "freezer",
            ])
        },
        v2: if mode == Mode::Legacy {
            vec![]
        } else {
            all(&["memory", "cpu", "cpuset", "pids", "io", "hugetlb", "rdma"])
        },
        cpus: "0-3".into(),
        mems: "0".into(),
    }
}

/// The (file, value) writes `resources::plan` makes for `json` on a `mode` host.
pub fn writes(json: &str, mode: Mode) -> Vec<(String, String)> {
    let res: LinuxResources = serde_json::from_str(json).unwrap();
    resources::plan(&res, &layout(mode), &super::v1::Current::default())
        .unwrap()
        .into_iter()
        .map(|w| (w.file, w.value))
        .collect()
}

pub fn pairs(v: &[(&str, &str)]) -> Vec<(String, String)> {
    v.iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
}
