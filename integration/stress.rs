//! Repeated create/start/delete cycles leave no mounts, processes or state behind.

use crate::common::*;
use std::time::Instant;

const ROUNDS: usize = 100;

#[test]
fn hundred_lifecycles_leave_nothing_behind() {
    let berth = Berth::new("stress");
    let mut b = Bundle::new("stress");
    b.args(&["true"]);
    b.write_config();
    let mounts_before = host_mounts();
    let t0 = Instant::now();
    for round in 0..ROUNDS {
        let id = berth.id(&format!("stress{round}"));
        berth.run(&["create", "--bundle", b.path_str(), &id]).ok();
        berth.start(&id).ok();
        if round % 2 == 0 {
            // Let it exit, then a plain delete.
            berth.wait_status(&id, "stopped");
            berth.delete(&id).ok();
        } else {
            // Force-delete whatever state it is in.
            berth.delete_force(&id).ok();
        }
        berth.state(&id).fails();
    }
    let elapsed = t0.elapsed();
    assert_no_processes(&b);
    assert_mounts_unchanged(&mounts_before);
    assert!(
        berth.state_entries().is_empty(),
        "state root not empty: {:?}",
        berth.state_entries()
    );
    eprintln!("{ROUNDS} lifecycles in {elapsed:?}");
}

#[test]
fn many_parallel_containers() {
    let berth = Berth::new("stress-par");
    let mut b = Bundle::new("stress-par");
    b.args(&["sleep", "3600"]);
    let mounts_before = host_mounts();
    let ids: Vec<String> = (0..10).map(|i| berth.id(&format!("par{i}"))).collect();
    let mut pids = Vec::new();
    for id in &ids {
        pids.push(berth.start_container(&b, id));
    }
    let listed = berth.list(&["-q"]).ok().stdout;
    let mut listed: Vec<&str> = listed.lines().collect();
    listed.sort();
    let mut want: Vec<&str> = ids.iter().map(String::as_str).collect();
    want.sort();
    assert_eq!(listed, want);
    let mut running = b.processes();
    running.sort();
    pids.sort();
    assert_eq!(running, pids);
    for id in &ids {
        berth.delete_force(id).ok();
    }
    assert_no_processes(&b);
    assert_mounts_unchanged(&mounts_before);
    assert!(
        berth.state_entries().is_empty(),
        "{:?}",
        berth.state_entries()
    );
}
