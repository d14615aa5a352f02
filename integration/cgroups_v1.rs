//! cgroups on this hybrid host: v1 controllers (memory, pids, cpu, freezer, devices)
//! and the v2 hierarchy beside them; limits that bite, pause/resume, update, ps, events,
//! kill --all, delete, and bad input that must leave no cgroup behind.

use crate::cgroups_util::*;
use crate::common::*;
use serde_json::{json, Value};
use std::fs;
use std::path::PathBuf;
use std::thread;
use std::time::{Duration, Instant};

#[test]
fn cgroup_in_every_hierarchy_and_removed_on_delete() {
    let berth = Berth::new("cg-place");
    let mut b = Bundle::new("cg-place");
    b.args(&["sleep", "100"]);
    let id = berth.id("place");
    let pid = berth.start_container(&b, &id);
    let cg = state_cgroup(&berth, &id);
    assert_eq!(cg["mode"], "hybrid", "{cg}");
    let dirs = find_cgroups(&id);
    for c in [
        "cpu", "cpuacct", "cpuset", "memory", "devices", "freezer", "blkio", "pids", "",
    ] {
        let d = cgroup_dir(&berth, &id, c);
        assert!(dirs.contains(&d), "{c}: {} not among {dirs:?}", d.display());
        let procs = read(&d, "cgroup.procs");
        assert!(procs.lines().any(|l| l == pid.to_string()), "{c}: {procs}");
    }
    // The default path is <own cgroup>/<id>.
    assert_eq!(
        cgroup_dir(&berth, &id, "pids"),
        PathBuf::from(CG).join("pids").join(&id)
    );
    berth.delete_force(&id).ok();
    assert_eq!(find_cgroups(&id), Vec::<PathBuf>::new());
}

#[test]
fn absolute_and_relative_cgroups_paths() {
    let berth = Berth::new("cg-paths");
    let top = unique("berth-it-cgpath");
    for (path, expect) in [
        (
            format!("/{top}/abs"),
            PathBuf::from(CG).join("pids").join(&top).join("abs"),
        ),
        (
            format!("{top}/rel"),
            PathBuf::from(CG).join("pids").join(&top).join("rel"),
        ),
    ] {
        let mut b = Bundle::new("cg-paths");
        b.args(&["sleep", "100"]);
        b.config["linux"]["cgroupsPath"] = json!(path);
        let id = berth.id("p");
        berth.start_container(&b, &id);
        assert_eq!(cgroup_dir(&berth, &id, "pids"), expect);
        berth.delete_force(&id).ok();
        // The parent berth made goes too.
        assert_eq!(find_cgroups(&top), Vec::<PathBuf>::new(), "{path}");
    }
}

#[test]
fn memory_limit_oom_kills_an_allocating_process() {
    let berth = Berth::new("cg-oom");
    let mut b = Bundle::new("cg-oom");
    b.config["linux"]["resources"]["memory"] = json!({"limit": 16 << 20, "swap": 16 << 20});
    // dd allocates its 64 MiB buffer and fills it from /dev/zero.
    b.args(&["dd", "if=/dev/zero", "of=/dev/null", "bs=64M", "count=1"]);
    let id = berth.id("oom");
    let out = berth.run_bundle(&b, &id, &[]);
    assert_eq!(out.code, 137, "killed by SIGKILL: {out}");
    assert_eq!(find_cgroups(&id), Vec::<PathBuf>::new());
}

#[test]
fn pids_limit_makes_fork_fail() {
    let berth = Berth::new("cg-pids");
    let mut b = Bundle::new("cg-pids");
    b.config["linux"]["resources"]["pids"] = json!({"limit": 4});
    b.sh("for i in 1 2 3 4 5 6 7 8; do sleep 30 & done; echo done");
    let id = berth.id("pids");
    let out = berth.run_bundle(&b, &id, &[]);
    assert!(out.stderr.contains("can't fork"), "{out}");
    // The sleeps that did start are killed with the cgroup.
    assert_no_processes(&b);
    assert_eq!(find_cgroups(&id), Vec::<PathBuf>::new());
}

#[test]
fn cpu_limits_are_in_the_files() {
    let berth = Berth::new("cg-cpu");
    let mut b = Bundle::new("cg-cpu");
    b.args(&["sleep", "100"]);
    b.config["linux"]["resources"]["cpu"] =
        json!({"shares": 512, "quota": 50000, "period": 100000, "cpus": "0", "mems": "0"});
    let id = berth.id("cpu");
    let pid = berth.start_container(&b, &id);
    let cpu = cgroup_dir(&berth, &id, "cpu");
    assert_eq!(read(&cpu, "cpu.shares"), "512");
    assert_eq!(read(&cpu, "cpu.cfs_quota_us"), "50000");
    assert_eq!(read(&cpu, "cpu.cfs_period_us"), "100000");
    assert_eq!(read(&cgroup_dir(&berth, &id, "cpuset"), "cpuset.cpus"), "0");
    let status = fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    assert!(status.contains("Cpus_allowed_list:\t0\n"), "{status}");
}

#[test]
fn pause_and_resume_stop_and_restart_a_counter() {
    let berth = Berth::new("cg-pause");
    let b = counter("cg-pause");
    let id = berth.id("pause");
    berth.start_container(&b, &id);
    wait_until("the counter to start", || count(&b) > 2);
    berth.run(&["pause", &id]).ok();
    assert_eq!(berth.status(&id).as_deref(), Some("paused"));
    assert!(berth.list(&[]).ok().stdout.contains("paused"));
    assert_eq!(
        read(&cgroup_dir(&berth, &id, "freezer"), "freezer.state"),
        "FROZEN"
    );
    let frozen = count(&b);
    thread::sleep(Duration::from_millis(300));
    assert_eq!(count(&b), frozen, "the counter moved while paused");
    // Pausing twice, or starting a paused container, is an error.
    assert!(berth.run(&["pause", &id]).fails().stderr.contains("paused"));
    berth.start(&id).fails();
    berth.run(&["resume", &id]).ok();
    assert_eq!(berth.status(&id).as_deref(), Some("running"));
    wait_until("the counter to move again", || count(&b) > frozen + 2);
    assert!(berth
        .run(&["resume", &id])
        .fails()
        .stderr
        .contains("not paused"));
    // A paused container goes with delete --force.
    berth.run(&["pause", &id]).ok();
    berth.delete_force(&id).ok();
    assert_no_processes(&b);
    assert_eq!(find_cgroups(&id), Vec::<PathBuf>::new());
}

#[test]
fn update_a_running_container() {
    let berth = Berth::new("cg-update");
    let mut b = Bundle::new("cg-update");
    b.args(&["sleep", "100"]);
    b.config["linux"]["resources"]["memory"] = json!({"limit": 32 << 20});
    b.config["linux"]["resources"]["pids"] = json!({"limit": 10});
    let id = berth.id("upd");
    berth.start_container(&b, &id);
    berth
        .run(&[
            "update",
            "--memory",
            "64m",
            "--memory-swap",
            "128m",
            "--pids-limit",
            "20",
            "--cpu-share",
            "256",
            "--cpu-quota",
            "30000",
            "--cpu-period",
            "100000",
            "--cpuset-cpus",
            "1",
            "--blkio-weight",
            "300",
            &id,
        ])
        .ok();
    let mem = cgroup_dir(&berth, &id, "memory");
    assert_eq!(
        read(&mem, "memory.limit_in_bytes"),
        (64u64 << 20).to_string()
    );
    assert_eq!(
        read(&mem, "memory.memsw.limit_in_bytes"),
        (128u64 << 20).to_string()
    );
    assert_eq!(read(&cgroup_dir(&berth, &id, "pids"), "pids.max"), "20");
    let cpu = cgroup_dir(&berth, &id, "cpu");
    assert_eq!(read(&cpu, "cpu.shares"), "256");
    assert_eq!(read(&cpu, "cpu.cfs_quota_us"), "30000");
    assert_eq!(read(&cgroup_dir(&berth, &id, "cpuset"), "cpuset.cpus"), "1");
    assert_eq!(
        read(&cgroup_dir(&berth, &id, "blkio"), "blkio.bfq.weight"),
        "300"
    );
    // -r: a LinuxResources file; what it does not name stays.
    let r = b.path().join("res.json");
    fs::write(
        &r,
        r#"{"pids": {"limit": 7}, "memory": {"limit": 50331648, "swap": 100663296}}"#,
    )
    .unwrap();
    berth.run(&["update", "-r", r.to_str().unwrap(), &id]).ok();
    assert_eq!(read(&cgroup_dir(&berth, &id, "pids"), "pids.max"), "7");
    assert_eq!(read(&mem, "memory.limit_in_bytes"), "50331648");
    let st: Value = serde_json::from_str(
        &fs::read_to_string(berth.root().join(&id).join("state.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(st["resources"]["cpu"]["shares"], 256, "{st}");
    // -r -: the same from stdin.
    fs::write(&r, r#"{"pids": {"limit": 9}}"#).unwrap();
    let st = berth
        .command()
        .args(["update", "-r", "-", &id])
        .stdin(fs::File::open(&r).unwrap())
        .status()
        .unwrap();
    assert!(st.success());
    assert_eq!(read(&cgroup_dir(&berth, &id, "pids"), "pids.max"), "9");
    // Nonsense is refused, naming what is wrong.
    let out = berth.run(&["update", "--cpu-share", "1", &id]).fails();
    assert!(
        out.single_error_line()
            .contains("linux.resources.cpu.shares"),
        "{out}"
    );
    let out = berth.run(&["update", "--memory", "lots", &id]).fails();
    assert!(out.single_error_line().contains("--memory"), "{out}");
}

#[test]
fn ps_lists_the_containers_processes() {
    let berth = Berth::new("cg-ps");
    let mut b = Bundle::new("cg-ps");
    b.sh("sleep 101 & sleep 102");
    let id = berth.id("ps");
    let pid = berth.start_container(&b, &id);
    wait_until("both sleeps", || {
        let out = berth.run(&["ps", "-f", "json", &id]).ok();
        // sh execs the last command itself: two processes.
        serde_json::from_str::<Vec<i32>>(&out.stdout).unwrap().len() == 2
    });
    let out = berth.run(&["ps", "-f", "json", &id]).ok();
    let pids: Vec<i32> = serde_json::from_str(&out.stdout).unwrap();
    assert!(pids.contains(&pid), "{out}");
    let table = berth.run(&["ps", &id]).ok().stdout;
    assert!(table.starts_with("UID"), "{table}");
    assert!(
        table.contains("sleep 101") && table.contains("sleep 102"),
        "{table}"
    );
    assert_eq!(table.lines().count(), 3, "{table}");
    // Extra arguments go to ps.
    let custom = berth.run(&["ps", &id, "-o", "pid,comm"]).ok().stdout;
    assert!(
        custom.lines().next().unwrap().contains("COMMAND"),
        "{custom}"
    );
    assert_eq!(custom.lines().count(), 3, "{custom}");
    berth.run(&["ps", "-f", "yaml", &id]).fails();
}

#[test]
fn events_stats_once() {
    let berth = Berth::new("cg-stats");
    let mut b = Bundle::new("cg-stats");
    b.args(&["sleep", "100"]);
    b.config["linux"]["resources"]["pids"] = json!({"limit": 50});
    b.config["linux"]["resources"]["memory"] = json!({"limit": 64 << 20});
    let id = berth.id("stats");
    berth.start_container(&b, &id);
    let out = berth.run(&["events", "--stats", &id]).ok();
    let v: Value = serde_json::from_str(out.stdout.trim()).unwrap_or_else(|e| panic!("{e}: {out}"));
    assert_eq!(v["type"], "stats");
    assert_eq!(v["id"], id.as_str());
    let d = &v["data"];
    assert!(d["cpu"]["usage"]["total"].as_u64().unwrap() > 0, "{v}");
    assert!(d["memory"]["usage"]["usage"].as_u64().unwrap() > 0, "{v}");
    assert_eq!(d["memory"]["usage"]["limit"], 64 << 20, "{v}");
    assert_eq!(d["pids"]["current"], 1, "{v}");
    assert_eq!(d["pids"]["limit"], 50, "{v}");
    assert!(d["memory"]["raw"]["rss"].is_u64(), "{v}");
    // A stopped container has no events.
    berth.kill(&id, "KILL").ok();
    berth.wait_status(&id, "stopped");
    berth.run(&["events", "--stats", &id]).fails();
}

#[test]
fn oom_event_as_it_happens() {
    let berth = Berth::new("cg-oomev");
    let mut b = Bundle::new("cg-oomev");
    b.config["linux"]["resources"]["memory"] = json!({"limit": 16 << 20, "swap": 16 << 20});
    b.sh("sleep 0.3; dd if=/dev/zero of=/dev/null bs=64M count=1; sleep 100");
    let id = berth.id("oomev");
    berth.create(&b, &id).ok();
    let log = b.path().join("events.out");
    let mut events = berth.command();
    events
        .args(["events", "--interval", "10s", &id])
        .stdout(fs::File::create(&log).unwrap());
    let mut child = events.spawn().unwrap();
    berth.start(&id).ok();
    let start = Instant::now();
    let mut text = String::new();
    while start.elapsed() < WAIT_TIMEOUT && !text.contains("oom") {
        thread::sleep(Duration::from_millis(50));
        text = fs::read_to_string(&log).unwrap_or_default();
    }
    let _ = child.kill();
    let _ = child.wait();
    let line = text
        .lines()
        .find(|l| l.contains("oom"))
        .unwrap_or_else(|| panic!("no oom event: {text:?}"));
    let v: Value = serde_json::from_str(line).unwrap();
    assert_eq!(v, json!({"type": "oom", "id": id}));
}

#[test]
fn kill_all_signals_every_process_in_the_cgroup() {
    let berth = Berth::new("cg-killall");
    let mut b = Bundle::new("cg-killall");
    // No PID namespace: the processes are only told apart by their cgroup.
    b.remove_namespace("pid");
    b.sh("sleep 100 & sleep 100 & sleep 100");
    let id = berth.id("ka");
    berth.start_container(&b, &id);
    // sh execs the last sleep itself.
    wait_until("three sleeps", || b.processes().len() >= 3);
    // Not KILL (that is one write to the v2 cgroup.kill): freeze, signal each, thaw.
    berth.run(&["kill", "--all", &id, "TERM"]).ok();
    assert_no_processes(&b);
    berth.wait_status(&id, "stopped");
    assert_eq!(
        read(&cgroup_dir(&berth, &id, "freezer"), "freezer.state"),
        "THAWED"
    );
    berth.delete(&id).ok();
    assert_eq!(find_cgroups(&id), Vec::<PathBuf>::new());
}

#[test]
fn delete_removes_the_cgroup_after_left_over_processes() {
    let berth = Berth::new("cg-orphan");
    let mut b = Bundle::new("cg-orphan");
    b.remove_namespace("pid");
    b.sh("sleep 100 & exec sleep 101");
    let id = berth.id("orph");
    let pid = berth.start_container(&b, &id);
    wait_until("the background sleep", || b.processes().len() >= 2);
    berth.kill(&id, "KILL").ok();
    berth.wait_status(&id, "stopped");
    assert!(!b.processes().contains(&pid));
    assert!(!b.processes().is_empty(), "the orphan outlives the init");
    berth.delete(&id).ok();
    assert_no_processes(&b);
    assert_eq!(find_cgroups(&id), Vec::<PathBuf>::new());
}

#[test]
fn hugetlb_goes_to_the_v2_hierarchy_on_this_host() {
    let berth = Berth::new("cg-huge");
    let mut b = Bundle::new("cg-huge");
    b.args(&["sleep", "100"]);
    b.config["linux"]["resources"]["hugepageLimits"] =
        json!([{"pageSize": "2MB", "limit": 4 << 20}]);
    let id = berth.id("huge");
    berth.start_container(&b, &id);
    let v2 = cgroup_dir(&berth, &id, "");
    assert_eq!(v2, PathBuf::from(CG).join("unified").join(&id));
    assert_eq!(read(&v2, "hugetlb.2MB.max"), (4u64 << 20).to_string());
}

#[test]
fn limits_for_a_controller_this_host_lacks_are_refused() {
    // net_cls is mounted nowhere on this host (hugetlb, the other v1 controller it
    // lacks, is in its v2 hierarchy, above). As runc: refused at create, whatever the
    // kind of cgroupsPath; a controller asked nothing of is not needed.
    let mounts = fs::read_to_string("/proc/self/mountinfo").unwrap();
    assert!(!mounts.contains("net_cls"), "net_cls is mounted: {mounts}");
    let berth = Berth::new("cg-lack");
    let top = unique("berth-it-cglack");
    for path in [format!("/{top}/abs"), format!("{top}/rel")] {
        let mut b = Bundle::new("cg-lack");
        b.config["linux"]["cgroupsPath"] = json!(path);
        b.config["linux"]["resources"]["network"] = json!({"classID": 0x100001});
        let id = unique("lack");
        let out = berth.create(&b, &id).fails();
        assert_clean_failure(&berth, &out, &id, "linux.resources.network.classID");
        assert!(out.stderr.contains("net_cls"), "{path}: {out}");
        assert_eq!(find_cgroups(&top), Vec::<PathBuf>::new(), "{path}");

        b.config["linux"]["resources"]["network"] = json!({});
        b.args(&["true"]);
        let id = berth.id("lack");
        berth.run_bundle(&b, &id, &[]).ok();
        assert_eq!(find_cgroups(&top), Vec::<PathBuf>::new(), "{path}");
    }
}

#[test]
fn devices_v1_deny_a_disk_and_allow_null() {
    let berth = Berth::new("cg-dev1");
    let mut b = Bundle::new("cg-dev1");
    with_mknod(&mut b);
    b.readonly(false).sh(DEVICE_PROBE);
    let out = berth.output_of(&b);
    assert!(out.contains("Operation not permitted"), "{out}");
    assert!(out.contains("null-ok"), "{out}");
    // A rule in the spec opens it (for reading): then the missing disk itself answers.
    b.config["linux"]["resources"]["devices"] = json!([
        {"allow": false, "access": "rwm"},
        {"allow": true, "type": "b", "major": 8, "minor": 0, "access": "r"}
    ]);
    let out = berth.output_of(&b);
    assert!(out.contains("No such device"), "{out}");
}

/// A node of linux.devices is only usable where linux.resources.devices allows it: a
/// deny-all list keeps it closed (runc's "device cgroup deny"), an allow rule opens it.
#[test]
fn devices_v1_linux_devices_get_no_hole_in_deny_all() {
    let berth = Berth::new("cg-dev-hole");
    let mut b = Bundle::new("cg-dev-hole");
    // /dev/fuse's numbers: opening it needs no capability, so only the cgroup can say
    // "Operation not permitted" (without the module loaded, the kernel says "No such
    // device" once the cgroup lets the open through).
    b.config["linux"]["devices"] =
        json!([{"path": "/dev/myfuse", "type": "c", "major": 10, "minor": 229, "fileMode": 0o666}]);
    b.config["linux"]["resources"]["devices"] = json!([{"allow": false, "access": "rwm"}]);
    b.sh("(exec 3</dev/myfuse) 2>&1; echo done");
    let out = berth.output_of(&b);
    assert!(out.contains("Operation not permitted"), "{out}");
    b.config["linux"]["resources"]["devices"] = json!([
        {"allow": false, "access": "rwm"},
        {"allow": true, "type": "c", "major": 10, "minor": 229, "access": "r"}
    ]);
    let out = berth.output_of(&b);
    assert!(
        !out.contains("Operation not permitted") && out.ends_with("done\n"),
        "{out}"
    );
    // runc takes "rwa" (its own tests write it) as "rw": the rule applies, with a warning.
    b.config["linux"]["resources"]["devices"] = json!([
        {"allow": false, "access": "rwm"},
        {"allow": true, "type": "c", "major": 10, "minor": 229, "access": "rwa"}
    ]);
    let out = berth.run_bundle(&b, &berth.id("rwa"), &[]).ok();
    assert!(out.stdout.ends_with("done\n"), "{out}");
    assert!(!out.stdout.contains("Operation not permitted"), "{out}");
    assert!(out.stderr.contains("ignoring 'a'"), "{out}");
}

#[test]
fn bad_resources_leave_nothing_behind() {
    let berth = Berth::new("cg-bad");
    for (key, set) in [
        (
            "linux.resources.memory.limit",
            json!({"memory": {"limit": -5}}),
        ),
        ("linux.resources.cpu.shares", json!({"cpu": {"shares": 1}})),
        (
            "linux.resources.cpu.cpus",
            json!({"cpu": {"cpus": "0-255"}}),
        ),
        ("linux.resources.pids.limit", json!({"pids": {"limit": -7}})),
        (
            "linux.resources.blockIO.weight",
            json!({"blockIO": {"weight": 5000}}),
        ),
        // Found only once the cgroup exists: it must go again.
        (
            "linux.resources.unified",
            json!({"unified": {"nope.knob": "1"}}),
        ),
        (
            "linux.resources.memory.swappiness",
            json!({"memory": {"swappiness": 200}}),
        ),
    ] {
        let mut b = Bundle::new("cg-bad");
        let mut res = set;
        res["devices"] = json!([{"allow": false, "access": "rwm"}]);
        b.config["linux"]["resources"] = res;
        let id = unique("bad");
        let out = berth.create(&b, &id).fails();
        assert_clean_failure(&berth, &out, &id, key);
    }
}

#[test]
fn cgroups_path_may_not_escape() {
    let berth = Berth::new("cg-escape");
    let mut b = Bundle::new("cg-escape");
    b.config["linux"]["cgroupsPath"] = json!("../../x");
    let id = unique("esc");
    let out = berth.create(&b, &id).fails();
    assert_clean_failure(&berth, &out, &id, "linux.cgroupsPath");
    assert!(!PathBuf::from(CG).join("pids/x").exists());
}

#[test]
fn failed_create_leaves_no_cgroup() {
    let berth = Berth::new("cg-fail");
    let mut b = Bundle::new("cg-fail");
    b.config["linux"]["resources"]["pids"] = json!({"limit": 10});
    b.args(&["nope"]);
    let id = unique("fail");
    let out = berth.create(&b, &id).fails();
    assert!(out.stderr.contains("nope"), "{out}");
    assert!(berth.state_entries().is_empty(), "{out}");
    assert_eq!(find_cgroups(&id), Vec::<PathBuf>::new());
}

/// Removes the given cgroup directories (deepest first) when the test ends.
struct MadeHere(Vec<PathBuf>);

impl Drop for MadeHere {
    fn drop(&mut self) {
        for d in self.0.iter().rev() {
            let _ = fs::remove_dir(d);
        }
    }
}

/// A cgroup someone froze before create: runc refuses it ("container's cgroup
/// unexpectedly frozen") instead of hanging on an init that can never report Ready,
/// and leaves the directory it did not make.
#[test]
fn pre_frozen_cgroup_is_refused_not_hung_on() {
    let berth = Berth::new("cg-frozen");
    let name = unique("berth-it-frozen");
    let freezer = PathBuf::from(CG).join("freezer").join(&name);
    fs::create_dir(&freezer).unwrap();
    let _cleanup = MadeHere(vec![freezer.clone()]);
    fs::write(freezer.join("freezer.state"), "FROZEN").unwrap();
    let mut b = Bundle::new("cg-frozen");
    b.args(&["true"]);
    b.config["linux"]["cgroupsPath"] = json!(format!("/{name}"));
    let id = berth.id("fz");
    let start = Instant::now();
    let out = berth.create(&b, &id).fails();
    assert!(start.elapsed() < Duration::from_secs(10), "{out}");
    assert!(
        out.single_error_line()
            .contains("container's cgroup unexpectedly frozen"),
        "{out}"
    );
    assert!(berth.state_entries().is_empty());
    assert!(freezer.is_dir(), "a cgroup berth did not make stays");
    fs::write(freezer.join("freezer.state"), "THAWED").unwrap();
    // Cgroups of the other controllers berth made are gone again.
    assert_eq!(find_cgroups(&name), vec![freezer.clone()]);
}

/// A second container in a cgroup that already holds processes runs, with runc's
/// warning; and a v1 cpuset parent someone made empty gets its parent's CPUs and memory
/// nodes, or nothing could run below it.
#[test]
fn shared_cgroup_warns_and_an_empty_cpuset_parent_is_filled() {
    let berth = Berth::new("cg-shared");
    let name = unique("berth-it-cpuset");
    let parent = PathBuf::from(CG).join("cpuset").join(&name);
    fs::create_dir(&parent).unwrap();
    let _cleanup = MadeHere(vec![parent.clone()]);
    assert_eq!(read(&parent, "cpuset.cpus").trim(), "");
    let mut b = Bundle::new("cg-shared");
    b.args(&["sleep", "100"]);
    b.config["linux"]["cgroupsPath"] = json!(format!("/{name}/ct"));
    let first = berth.id("one");
    berth.start_container(&b, &first);
    assert_ne!(read(&parent, "cpuset.cpus").trim(), "");
    let second = berth.id("two");
    let out = berth.create(&b, &second).ok();
    assert!(
        out.stderr.contains("container's cgroup is not empty"),
        "{out}"
    );
    berth.delete_force(&second).ok();
    berth.delete_force(&first).ok();
}

/// A nested cgroupsPath none of whose directories exist: every level berth makes in the
/// v1 cpuset hierarchy gets its parent's CPUs and memory nodes top down (a new cpuset
/// starts empty, and joining the leaf would fail with ENOSPC); delete removes them all.
#[test]
fn new_intermediate_cpuset_cgroups_are_filled() {
    let berth = Berth::new("cg-nested");
    let name = unique("berth-it-nested");
    let mut b = Bundle::new("cg-nested");
    b.args(&["sleep", "100"]);
    b.config["linux"]["cgroupsPath"] = json!(format!("/{name}/pod/ct"));
    let id = berth.id("n");
    berth.start_container(&b, &id);
    let top = PathBuf::from(CG).join("cpuset").join(&name);
    for dir in [top.clone(), top.join("pod"), top.join("pod/ct")] {
        for f in ["cpuset.cpus", "cpuset.mems"] {
            assert_ne!(read(&dir, f).trim(), "", "{} {f}", dir.display());
        }
    }
    berth.delete_force(&id).ok();
    assert!(!top.exists(), "berth made it, delete removes it");
}

/// runc's update.bats "pod cgroup with pod limit set": under a parent capped at 50% CPU,
/// a shorter period with a smaller quota is refused while the old quota still stands, so
/// the period is written again once the quota is in.
#[test]
fn shorter_cpu_period_under_a_capped_parent() {
    let name = unique("berth-it-pod");
    let pod = PathBuf::from(CG).join("cpu").join(&name);
    fs::create_dir(&pod).unwrap();
    // Dropped after `berth`, whose drop deletes the container inside.
    let _cleanup = MadeHere(vec![pod.clone()]);
    let berth = Berth::new("cg-pod");
    fs::write(pod.join("cpu.cfs_quota_us"), "50000").unwrap();
    let mut b = Bundle::new("cg-pod");
    b.args(&["sleep", "100"]);
    b.config["linux"]["cgroupsPath"] = json!(format!("/{name}/ct"));
    b.config["linux"]["resources"]["cpu"] = json!({"quota": 500000, "period": 1000000});
    let id = berth.id("p");
    berth.start_container(&b, &id);
    let over = berth.run(&["update", "--cpu-quota", "600000", &id]).fails();
    assert!(over.stderr.contains("cpu.cfs_quota_us"), "{over}");
    let args = [
        "update",
        "--cpu-period",
        "10000",
        "--cpu-quota",
        "3000",
        &id,
    ];
    berth.run(&args).ok();
    let cpu = cgroup_dir(&berth, &id, "cpu");
    assert_eq!(read(&cpu, "cpu.cfs_period_us"), "10000");
    assert_eq!(read(&cpu, "cpu.cfs_quota_us"), "3000");
    berth.delete_force(&id).ok();
}
