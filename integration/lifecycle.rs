//! Container lifecycle through the CLI: create/start/state/list/kill/delete/run and id validation.

use crate::common::*;
use serde_json::{json, Value};
use std::fs;
use std::path::Path;
use std::thread;
use std::time::{Duration, Instant};

/// A bundle whose process sleeps for an hour.
fn sleeper(name: &str) -> Bundle {
    let mut b = Bundle::new(name);
    b.args(&["sleep", "3600"]);
    b
}

/// A bundle whose process exits 0 on SIGTERM (a plain `sleep` as pid 1 of a pid namespace
/// ignores SIGTERM) and touches /tmp/ready once the trap is in place.
fn term_handler(name: &str) -> Bundle {
    let mut b = Bundle::new(name);
    b.readonly(false)
        .sh("trap 'exit 0' TERM; sleep 3600 & touch /tmp/ready; wait");
    b
}

fn wait_ready(b: &Bundle) {
    let ready = b.rootfs().join("tmp/ready");
    wait_until("the container to touch /tmp/ready", || ready.exists());
}

fn process_exists(pid: i32) -> bool {
    Path::new(&format!("/proc/{pid}")).exists()
}

#[test]
fn create_reports_created_state_and_writes_pid_file() {
    let berth = Berth::new("create-state");
    let mut b = sleeper("create-state");
    b.config["annotations"] = json!({"org.berth.test": "yes", "other": "value"});
    b.write_config();
    let id = berth.id("cs");
    let pid_file = b.path().join("container.pid");
    // Pass the bundle as a relative path: state must report it absolute.
    let parent = b.path().parent().unwrap();
    let rel = b.path().file_name().unwrap().to_str().unwrap();
    let mut cmd = berth.command();
    cmd.current_dir(parent).args([
        "create",
        "--bundle",
        rel,
        "--pid-file",
        pid_file.to_str().unwrap(),
        &id,
    ]);
    run_command(cmd, CMD_TIMEOUT).ok();

    let st = berth.state_json(&id);
    assert!(
        st["ociVersion"].as_str().is_some_and(|v| !v.is_empty()),
        "ociVersion: {st}"
    );
    assert_eq!(st["id"], id.as_str(), "{st}");
    assert_eq!(st["status"], "created", "{st}");
    let pid = st["pid"].as_i64().expect("pid is a number") as i32;
    assert!(pid > 0, "{st}");
    assert!(process_exists(pid), "pid {pid} from state does not exist");
    assert_eq!(st["bundle"], b.path_str(), "bundle must be absolute: {st}");
    assert_eq!(
        st["annotations"],
        json!({"org.berth.test": "yes", "other": "value"}),
        "{st}"
    );
    let written = fs::read_to_string(&pid_file).expect("pid file written");
    assert_eq!(
        written.trim().parse::<i32>().ok(),
        Some(pid),
        "pid file {written:?}"
    );

    // A created container can be deleted without --force.
    berth.delete(&id).ok();
    berth.state(&id).fails();
    assert_no_processes(&b);
    assert!(
        berth.state_entries().is_empty(),
        "{:?}",
        berth.state_entries()
    );
}

#[test]
fn start_runs_the_process() {
    let berth = Berth::new("start");
    let b = sleeper("start");
    let id = berth.id("st");
    berth.create(&b, &id).ok();
    let created_pid = berth.pid(&id);
    berth.start(&id).ok();
    let st = berth.wait_status(&id, "running");
    assert_eq!(st["pid"].as_i64(), Some(created_pid as i64), "{st}");
    let cmdline = fs::read(format!("/proc/{created_pid}/cmdline")).unwrap();
    assert_eq!(
        cmdline, b"sleep\x003600\x00",
        "the container process runs its args"
    );
    berth.delete_force(&id).ok();
    berth.state(&id).fails();
    assert_no_processes(&b);
}

#[test]
fn start_on_running_container_fails() {
    let berth = Berth::new("start-running");
    let b = sleeper("start-running");
    let id = berth.id("sr");
    let pid = berth.start_container(&b, &id);
    berth.start(&id).fails();
    assert_eq!(berth.status(&id).as_deref(), Some("running"));
    assert_eq!(berth.pid(&id), pid);
    berth.delete_force(&id).ok();
}

#[test]
fn start_on_stopped_container_fails() {
    let berth = Berth::new("start-stopped");
    let mut b = Bundle::new("start-stopped");
    b.args(&["true"]);
    let id = berth.id("ss");
    berth.create(&b, &id).ok();
    berth.start(&id).ok();
    berth.wait_status(&id, "stopped");
    berth.start(&id).fails();
    assert_eq!(berth.status(&id).as_deref(), Some("stopped"));
    berth.delete(&id).ok();
}

#[test]
fn list_shows_table_json_and_quiet() {
    let berth = Berth::new("list");
    let b = sleeper("list");
    let id = berth.id("ls");
    let pid = berth.start_container(&b, &id);

    let table = berth.list(&[]).ok().stdout;
    let mut lines = table.lines().filter(|l| !l.trim().is_empty());
    let header: Vec<&str> = lines
        .next()
        .expect("header line")
        .split_whitespace()
        .collect();
    assert_eq!(
        header,
        ["ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER"],
        "{table}"
    );
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split_whitespace().collect()).collect();
    assert_eq!(rows.len(), 1, "{table}");
    let row = &rows[0];
    assert_eq!(row.len(), 6, "{table}");
    assert_eq!(row[0], id);
    assert_eq!(row[1], pid.to_string());
    assert_eq!(row[2], "running");
    assert_eq!(row[3], b.path_str());
    assert!(row[4].starts_with("20"), "created timestamp: {table}");
    assert_eq!(row[5], "root");

    let out = berth.list(&["-f", "json"]).ok();
    let v: Value = serde_json::from_str(&out.stdout).unwrap_or_else(|e| panic!("{e}: {out}"));
    let arr = v.as_array().expect("list -f json prints an array");
    assert_eq!(arr.len(), 1, "{v}");
    let c = &arr[0];
    assert_eq!(c["id"], id.as_str());
    assert_eq!(c["pid"].as_i64(), Some(pid as i64));
    assert_eq!(c["status"], "running");
    assert_eq!(c["bundle"], b.path_str());
    assert!(c["created"].as_str().is_some_and(|s| !s.is_empty()), "{c}");
    assert_eq!(c["owner"], "root");

    let quiet = berth.list(&["-q"]).ok().stdout;
    let ids: Vec<&str> = quiet.lines().filter(|l| !l.is_empty()).collect();
    assert_eq!(ids, [id.as_str()]);

    berth.delete_force(&id).ok();
    let quiet = berth.list(&["-q"]).ok().stdout;
    assert!(quiet.trim().is_empty(), "{quiet:?}");
}

#[test]
fn list_json_empty_is_an_empty_array() {
    let berth = Berth::new("list-empty");
    // Make the root exist with no containers in it.
    let b = sleeper("list-empty");
    let id = berth.id("le");
    berth.create(&b, &id).ok();
    berth.delete(&id).ok();
    let out = berth.list(&["-f", "json"]).ok();
    let v: Value = serde_json::from_str(out.stdout.trim()).unwrap_or_else(|e| panic!("{e}: {out}"));
    assert!(
        v.is_null() || v.as_array().is_some_and(|a| a.is_empty()),
        "{out}"
    );
}

fn kill_with(sig: &str) {
    let berth = Berth::new("kill-term");
    let b = term_handler("kill-term");
    let id = berth.id("kt");
    berth.start_container(&b, &id);
    wait_ready(&b);
    berth.kill(&id, sig).ok();
    berth.wait_status(&id, "stopped");
    berth.delete(&id).ok();
    berth.state(&id).fails();
    assert_no_processes(&b);
}

#[test]
fn kill_term_by_name() {
    kill_with("TERM");
}

#[test]
fn kill_sigterm_by_full_name() {
    kill_with("SIGTERM");
}

#[test]
fn kill_term_by_number() {
    kill_with("15");
}

#[test]
fn kill_default_signal_is_term() {
    let berth = Berth::new("kill-default");
    let b = term_handler("kill-default");
    let id = berth.id("kd");
    berth.start_container(&b, &id);
    wait_ready(&b);
    berth.run(&["kill", &id]).ok();
    berth.wait_status(&id, "stopped");
    berth.delete(&id).ok();
}

#[test]
fn kill_all_stops_every_process() {
    let berth = Berth::new("kill-all");
    let mut b = Bundle::new("kill-all");
    b.readonly(false)
        .sh("sleep 3600 & sleep 3600 & touch /tmp/ready; wait");
    let id = berth.id("ka");
    berth.start_container(&b, &id);
    wait_ready(&b);
    wait_until("three processes in the container", || {
        b.processes().len() >= 3
    });
    berth.run(&["kill", "--all", &id, "KILL"]).ok();
    berth.wait_status(&id, "stopped");
    assert_no_processes(&b);
    berth.delete(&id).ok();
}

#[test]
fn kill_stopped_container_fails() {
    let berth = Berth::new("kill-stopped");
    let b = Bundle::new("kill-stopped");
    let id = berth.id("ks");
    berth.create(&b, &id).ok();
    berth.start(&id).ok();
    berth.wait_status(&id, "stopped");
    berth.kill(&id, "KILL").fails();
    berth.delete(&id).ok();
}

/// containerd's runc shim decides whether a failed kill means "already stopped" by
/// looking for runc's words in the error (`container not running`, `does not exist`),
/// and kills with `--all` after the init exited; Kubernetes cannot stop a pod otherwise.
#[test]
fn kill_speaks_runc_words_for_the_shim() {
    let berth = Berth::new("kill-words");
    let b = sleeper("kill-words");
    let id = berth.id("kw");
    berth.start_container(&b, &id);
    // Signal 0 only checks that the container lives.
    berth.kill(&id, "0").ok();
    berth.kill(&id, "KILL").ok();
    berth.wait_status(&id, "stopped");
    let out = berth.kill(&id, "KILL").fails();
    assert!(
        out.single_error_line().contains("container not running"),
        "{out}"
    );
    let out = berth.kill(&id, "0").fails();
    assert!(out.stderr.contains("container not running"), "{out}");
    // --all on a stopped container signals what is left (nothing) and succeeds.
    berth.run(&["kill", "--all", &id, "9"]).ok();
    berth.delete(&id).ok();
    let out = berth.kill(&id, "KILL").fails();
    assert!(out.single_error_line().contains("does not exist"), "{out}");
    let out = berth.run(&["kill", "--all", &id, "9"]).fails();
    assert!(out.stderr.contains("does not exist"), "{out}");
}

/// Engines tell `exec`'s own failures (255) from the process's exit code.
#[test]
fn exec_failure_exit_codes() {
    let berth = Berth::new("exec-codes");
    let b = sleeper("exec-codes");
    let id = berth.id("ec");
    berth.start_container(&b, &id);
    let out = berth.run(&["exec", &id, "sh", "-c", "exit 7"]);
    assert_eq!(out.code, 7, "{out}");
    let out = berth.run(&["exec", &id, "/no/such/binary"]);
    assert_eq!(out.code, 255, "{out}");
    let out = berth.run(&["exec", "no-such-container", "true"]);
    assert_eq!(out.code, 255, "{out}");
    berth.delete_force(&id).ok();
    let out = berth.run(&["exec", &id, "true"]);
    assert_eq!(out.code, 255, "{out}");
}

#[test]
fn delete_stopped_container_removes_it() {
    let berth = Berth::new("delete-stopped");
    let b = Bundle::new("delete-stopped");
    let id = berth.id("ds");
    berth.create(&b, &id).ok();
    berth.start(&id).ok();
    berth.wait_status(&id, "stopped");
    berth.delete(&id).ok();
    berth.state(&id).fails();
    assert!(berth.list(&["-q"]).ok().stdout.trim().is_empty());
    assert!(
        berth.state_entries().is_empty(),
        "{:?}",
        berth.state_entries()
    );
    berth.delete(&id).fails();
}

#[test]
fn delete_running_without_force_fails() {
    let berth = Berth::new("delete-running");
    let b = sleeper("delete-running");
    let id = berth.id("dr");
    let pid = berth.start_container(&b, &id);
    berth.delete(&id).fails();
    assert_eq!(berth.status(&id).as_deref(), Some("running"));
    assert!(process_exists(pid));
    assert!(b.processes().contains(&pid));
    berth.delete_force(&id).ok();
    berth.state(&id).fails();
    assert_no_processes(&b);
    assert!(
        berth.state_entries().is_empty(),
        "{:?}",
        berth.state_entries()
    );
}

#[test]
fn delete_force_on_created_container() {
    let berth = Berth::new("delete-created");
    let b = sleeper("delete-created");
    let id = berth.id("dc");
    berth.create(&b, &id).ok();
    berth.delete_force(&id).ok();
    berth.state(&id).fails();
    assert_no_processes(&b);
}

#[test]
fn run_returns_the_exit_code() {
    let berth = Berth::new("run-exit");
    let mut b = Bundle::new("run-exit");
    b.sh("exit 7");
    let id = berth.id("re");
    let out = berth.run_bundle(&b, &id, &[]);
    assert_eq!(out.code, 7, "{out}");
    berth.state(&id).fails();
    assert!(
        berth.state_entries().is_empty(),
        "{:?}",
        berth.state_entries()
    );
    assert_no_processes(&b);
}

#[test]
fn run_reports_death_by_signal_as_128_plus_n() {
    let berth = Berth::new("run-signal");
    let mut b = Bundle::new("run-signal");
    // Without a pid namespace the shell is not an init, so it can SIGKILL itself.
    b.remove_namespace("pid").sh("kill -9 $$");
    let id = berth.id("rs");
    let out = berth.run_bundle(&b, &id, &[]);
    assert_eq!(out.code, 137, "{out}");
    berth.state(&id).fails();
}

#[test]
fn run_killed_from_outside_exits_137() {
    let berth = Berth::new("run-killed");
    let b = sleeper("run-killed");
    let id = berth.id("rk");
    b.write_config();
    let out = thread::scope(|s| {
        let h = s.spawn(|| berth.run(&["run", "--bundle", b.path_str(), &id]));
        berth.wait_status(&id, "running");
        berth.kill(&id, "KILL").ok();
        h.join().unwrap()
    });
    assert_eq!(out.code, 137, "{out}");
    berth.state(&id).fails();
    assert_no_processes(&b);
}

#[test]
fn run_keep_leaves_a_stopped_container() {
    let berth = Berth::new("run-keep");
    let mut b = Bundle::new("run-keep");
    b.sh("exit 3");
    let id = berth.id("rk");
    let out = berth.run_bundle(&b, &id, &["--keep"]);
    assert_eq!(out.code, 3, "{out}");
    assert_eq!(berth.status(&id).as_deref(), Some("stopped"));
    berth.delete(&id).ok();
    berth.state(&id).fails();
}

#[test]
fn run_detached_returns_at_once() {
    let berth = Berth::new("run-detach");
    let b = sleeper("run-detach");
    let id = berth.id("rd");
    let t0 = Instant::now();
    berth.run_bundle(&b, &id, &["-d"]).ok();
    assert!(t0.elapsed() < Duration::from_secs(10), "run -d blocked");
    let st = berth.state_json(&id);
    assert_eq!(st["status"], "running", "{st}");
    assert!(process_exists(st["pid"].as_i64().unwrap() as i32));
    berth.delete_force(&id).ok();
    assert_no_processes(&b);
}

#[test]
fn create_with_existing_id_fails_and_keeps_the_first() {
    let berth = Berth::new("dup-id");
    let b1 = sleeper("dup-id-1");
    let b2 = sleeper("dup-id-2");
    let id = berth.id("dup");
    berth.create(&b1, &id).ok();
    let st1 = berth.state_json(&id);
    berth.create(&b2, &id).fails();
    let st2 = berth.state_json(&id);
    assert_eq!(st2["status"], "created", "{st2}");
    assert_eq!(st2["pid"], st1["pid"]);
    assert_eq!(st2["bundle"], b1.path_str());
    assert!(b2.processes().is_empty(), "second bundle has processes");
    berth.start(&id).ok();
    berth.wait_status(&id, "running");
    berth.delete_force(&id).ok();
}

#[test]
fn invalid_ids_are_rejected_without_state() {
    let berth = Berth::new("bad-ids");
    let b = sleeper("bad-ids");
    b.write_config();
    let escape = unique("x");
    let up = format!("../{escape}");
    let long = "a".repeat(1025);
    let sibling = berth.root().parent().unwrap().join(&escape);
    for id in [up.as_str(), "", "a/b", ".", "..", long.as_str()] {
        let out = berth.run(&["create", "--bundle", b.path_str(), id]);
        assert!(!out.success(), "id {id:?} accepted: {out}");
        assert!(
            berth.state_entries().is_empty(),
            "id {id:?} left state: {:?}",
            berth.state_entries()
        );
        assert!(!sibling.exists(), "id {id:?} created {}", sibling.display());
        assert!(b.processes().is_empty(), "id {id:?} left a process");
    }
}

#[test]
fn version_mentions_spec() {
    let berth = Berth::new("version");
    let out = berth.run(&["--version"]).ok();
    let text = out.stdout.to_lowercase();
    assert!(text.contains("version"), "{out}");
    assert!(text.contains("spec"), "{out}");
    assert!(text.chars().any(|c| c.is_ascii_digit()), "{out}");
}

#[test]
fn features_reports_what_berth_supports() {
    let berth = Berth::new("features");
    let out = berth.run(&["features"]).ok();
    let v: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(v["ociVersionMin"], "1.0.0");
    assert!(v["ociVersionMax"].as_str().unwrap().starts_with("1."));
    for ns in [
        "cgroup", "ipc", "mount", "network", "pid", "time", "user", "uts",
    ] {
        assert!(
            v["linux"]["namespaces"]
                .as_array()
                .unwrap()
                .iter()
                .any(|n| n == ns),
            "{ns}"
        );
    }
    assert_eq!(v["linux"]["seccomp"]["enabled"], true);
    assert_eq!(v["hooks"].as_array().unwrap().len(), 6);
}

#[test]
fn debug_logs_each_create_step_with_its_duration() {
    let berth = Berth::new("debug-steps");
    let mut b = sleeper("debug-steps");
    b.args(&["true"]);
    b.write_config();
    let dir = TempDir::new("debug-steps");
    let log = dir.path().join("log.json");
    let id = berth.id("j");
    let out = berth.run_global(
        &[
            "--debug",
            "--log",
            log.to_str().unwrap(),
            "--log-format",
            "json",
        ],
        &["run", "--bundle", b.path_str(), &id],
    );
    out.ok();
    let text = std::fs::read_to_string(&log).unwrap();
    let steps: Vec<String> = text
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|v| v["level"] == "debug")
        .map(|v| v["msg"].as_str().unwrap().to_string())
        .collect();
    for step in [
        "create: load bundle",
        "create: clone init",
        "rootfs: mounts",
        "rootfs: pivot_root",
    ] {
        let line = steps
            .iter()
            .find(|s| s.starts_with(step))
            .unwrap_or_else(|| panic!("no {step:?} step in {steps:#?}"));
        assert!(line.contains(" took ") && line.ends_with("ms"), "{line}");
    }
    // The text format, to stderr when there is no --log.
    let out = berth.run_global(
        &["--debug"],
        &["run", "--bundle", b.path_str(), &berth.id("t")],
    );
    out.clone().ok();
    assert!(
        out.stderr
            .lines()
            .any(|l| l.contains("level=debug msg=\"create: clone init took ")),
        "{out}"
    );
}

#[test]
fn concurrent_commands_on_one_id_are_serialized() {
    let berth = std::sync::Arc::new(Berth::new("concurrent"));
    let b = sleeper("concurrent");
    let id = berth.id("c");
    berth.create(&b, &id).ok();
    // Eight deletes at once: each waits its turn on the container's lock, the first
    // removes the container, the rest find it gone — which --force accepts.
    let threads: Vec<_> = (0..8)
        .map(|_| {
            let berth = berth.clone();
            let id = id.clone();
            std::thread::spawn(move || berth.delete_force(&id))
        })
        .collect();
    for t in threads {
        t.join().unwrap().ok();
    }
    berth.state(&id).fails();
    assert_no_processes(&b);
    assert!(
        berth.state_entries().is_empty(),
        "{:?}",
        berth.state_entries()
    );
}
