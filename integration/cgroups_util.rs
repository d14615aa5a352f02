//! Helpers for the cgroup tests: finding a container's cgroup directories, running berth
//! in a pure cgroup v2 view of this hybrid host, and bundles that count or allocate.

use crate::common::*;
use serde_json::{json, Value};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

pub const CG: &str = "/sys/fs/cgroup";

/// Every directory named `name` in any hierarchy, down to a few levels (the memory
/// hierarchy puts us below process_api/<hash>).
pub fn find_cgroups(name: &str) -> Vec<PathBuf> {
    fn walk(dir: &Path, name: &str, depth: u32, out: &mut Vec<PathBuf>) {
        let Ok(rd) = fs::read_dir(dir) else { return };
        for e in rd.flatten() {
            if !e.file_type().is_ok_and(|t| t.is_dir()) {
                continue;
            }
            let p = e.path();
            if e.file_name() == name {
                out.push(p.clone());
            }
            if depth > 0 {
                walk(&p, name, depth - 1, out);
            }
        }
    }
    let mut out = Vec::new();
    walk(Path::new(CG), name, 4, &mut out);
    out
}

/// The cgroup berth recorded for a container in its state.json.
pub fn state_cgroup(berth: &Berth, id: &str) -> Value {
    let text = fs::read_to_string(berth.root().join(id).join("state.json")).unwrap();
    let v: Value = serde_json::from_str(&text).unwrap();
    v["cgroup"].clone()
}

/// The container's directory for a v1 controller (or "" for the v2 one).
pub fn cgroup_dir(berth: &Berth, id: &str, controller: &str) -> PathBuf {
    let cg = state_cgroup(berth, id);
    let dirs = cg["dirs"]
        .as_array()
        .expect("state has cgroup dirs")
        .clone();
    let d = dirs
        .iter()
        .find(|d| match d["controllers"].as_array() {
            Some(c) => c.iter().any(|c| c == controller),
            None => controller.is_empty(),
        })
        .unwrap_or_else(|| panic!("no {controller:?} cgroup in {cg}"));
    PathBuf::from(d["path"].as_str().unwrap())
}

pub fn read(dir: &Path, file: &str) -> String {
    fs::read_to_string(dir.join(file))
        .unwrap_or_else(|e| panic!("read {}: {e}", dir.join(file).display()))
        .trim()
        .to_string()
}

/// Asserts a failed command said one thing about `key` and left nothing behind.
pub fn assert_clean_failure(berth: &Berth, out: &Output, id: &str, key: &str) {
    let line = out.single_error_line();
    assert!(line.contains(key), "error does not name {key}: {out}");
    assert!(berth.state_entries().is_empty(), "state left behind: {out}");
    assert_eq!(
        find_cgroups(id),
        Vec::<PathBuf>::new(),
        "cgroups left behind: {out}"
    );
}

/// A bundle whose container counts in /tmp/count, ten times a second.
pub fn counter(name: &str) -> Bundle {
    let mut b = Bundle::new(name);
    b.readonly(false)
        .sh("i=0; while true; do i=$((i+1)); echo $i > /tmp/count; sleep 0.05; done");
    b
}

pub fn count(b: &Bundle) -> u64 {
    fs::read_to_string(b.rootfs().join("tmp/count"))
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(0)
}

/// Capabilities to mknod, without ambient ones (which would warn).
pub fn with_mknod(b: &mut Bundle) {
    let caps = json!(["CAP_MKNOD", "CAP_KILL", "CAP_DAC_OVERRIDE"]);
    b.config["process"]["capabilities"] =
        json!({"bounding": caps, "effective": caps, "permitted": caps});
}

/// What a container prints trying a block device 8:0 it made itself, and /dev/null.
pub const DEVICE_PROBE: &str = "mknod /dev/sdx b 8 0 && \
    (head -c 1 /dev/sdx >/dev/null 2>/tmp/err; cat /tmp/err); \
    echo ok > /dev/null && echo null-ok";

/// Runs berth in a pure cgroup v2 view: a private mount namespace with the v2 hierarchy
/// mounted over /sys/fs/cgroup. The hierarchy is the one the host shows at
/// /sys/fs/cgroup/unified, so the test can look at the same directories from outside.
pub fn v2(berth: &Berth, args: &[&str]) -> Output {
    let mut cmd = Command::new("unshare");
    cmd.args([
        "-m",
        "--propagation",
        "private",
        "sh",
        "-c",
        "mount -t cgroup2 none /sys/fs/cgroup && exec \"$0\" \"$@\"",
    ])
    .arg(berth_bin())
    .arg("--root")
    .arg(berth.root())
    .args(args);
    run_command(cmd, CMD_TIMEOUT)
}

/// The v2 directory of a container made in the v2 view, as the host sees it.
pub fn v2_host_dir(berth: &Berth, id: &str) -> PathBuf {
    let p = cgroup_dir(berth, id, "");
    let rel = p.strip_prefix(CG).expect("under /sys/fs/cgroup");
    Path::new(CG).join("unified").join(rel)
}

/// Deletes a container inside the v2 view when dropped, even when the test panics:
/// Berth's own cleanup runs outside the view, where the container's cgroup paths
/// (/sys/fs/cgroup/<id>) name nothing.
pub struct V2Cleanup<'a> {
    pub berth: &'a Berth,
    pub id: String,
}

impl Drop for V2Cleanup<'_> {
    fn drop(&mut self) {
        if self.berth.root().join(&self.id).exists() {
            let _ = v2(self.berth, &["delete", "--force", &self.id]);
        }
    }
}
