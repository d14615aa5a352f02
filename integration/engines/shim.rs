//! Scenarios only berth's own shim (containerd-shim-berth-v2) has: cgroup metrics and
//! updates through the task API, an OOM kill's exit code and event, many tasks at once.

use super::containerd_env::Containerd;
use super::images::IMAGE;
use crate::common::{unique, wait_until};
use serde_json::Value;

fn metrics(c: &Containerd, id: &str) -> Value {
    let out = c.ctr(&["tasks", "metrics", "--format", "json", id]).ok();
    serde_json::from_str(&out.stdout).unwrap_or_else(|e| panic!("metrics JSON: {e}: {out}"))
}

pub fn metrics_update_oom(c: &Containerd) {
    let id = unique("metrics");
    c.ctr_run(&["-d", "--memory-limit=67108864", IMAGE, &id, "sleep", "600"])
        .ok();
    let m = metrics(c, &id);
    assert_eq!(m["memory"]["usage"]["limit"], 67108864, "{m}");
    assert!(m["pids"]["current"].as_u64() >= Some(1), "{m}");
    assert!(m["cpu"]["usage"]["total"].as_u64() > Some(0), "{m}");

    c.ctr(&["tasks", "update", "--memory-limit", "33554432", &id])
        .ok();
    let m = metrics(c, &id);
    assert_eq!(m["memory"]["usage"]["limit"], 33554432, "{m}");
    c.stop_task(&id, "SIGKILL");
    let rm = c.remove(&id);
    assert!(rm.stderr.contains("137"), "{rm}");

    // The kernel kills the process for its memory: 137, and containerd hears of the OOM.
    let events = c.events();
    let id = unique("oom");
    let grow = "x=a; while true; do x=$x$x; done";
    let out = c.ctr_run(&["--rm", "--memory-limit=16777216", IMAGE, &id, "sh", "-c", grow]);
    assert_eq!(out.code, 137, "{out}");
    wait_until("oom event", || events.text().contains("/tasks/oom"));
}

pub fn many_tasks(c: &Containerd) {
    const N: usize = 20;
    let ids: Vec<String> = (0..N).map(|i| unique(&format!("many{i}"))).collect();
    std::thread::scope(|sc| {
        for chunk in ids.chunks(5) {
            sc.spawn(move || {
                for id in chunk {
                    c.ctr_run(&["-d", IMAGE, id, "sh", "-c", "trap 'exit 7' TERM; sleep 600 & wait"])
                        .ok();
                }
            });
        }
    });
    let ls = c.ctr(&["tasks", "ls"]).ok();
    let running = ls.stdout.lines().filter(|l| l.contains("RUNNING")).count();
    assert_eq!(running, N, "{ls}");
    // Each runs in a shim of its own, and each exit code comes back exactly.
    let running = shims(c);
    assert_eq!(running.len(), N, "shims: {running:?}");
    for id in &ids {
        c.ctr(&["tasks", "kill", "-s", "SIGTERM", id]).ok();
    }
    wait_until("all stopped", || {
        let ls = c.ctr(&["tasks", "ls"]).stdout;
        ls.lines().filter(|l| l.contains("STOPPED")).count() == N
    });
    for id in &ids {
        let rm = c.remove(id);
        assert!(rm.stderr.contains("exit code: 7") || rm.stderr.contains("7"), "{rm}");
    }
    wait_until("shims to exit", || {
        shims(c).is_empty()
    });
}

/// The shim processes serving this test's namespace.
fn shims(c: &Containerd) -> Vec<i32> {
    super::host::pids_with(&["containerd-shim-berth-v2", &format!("-namespace {} ", c.ns)])
}
