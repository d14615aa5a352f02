//! What callers parse from berth besides exit codes, in runc's words and shapes: the
//! `list -f json` key order, the `--debug` stage lines, error phrases its tests and
//! engines match, and the defaults runc fills in for `exec --process` and hooks.

use crate::common::*;
use serde_json::json;
use std::fs;

fn sleeper(name: &str) -> Bundle {
    let mut b = Bundle::new(name);
    b.args(&["sleep", "600"]);
    b
}

#[test]
fn list_json_keeps_runcs_key_order() {
    let berth = Berth::new("words-list");
    let b = sleeper("words-list");
    let id = berth.id("l");
    berth.start_container(&b, &id);
    let out = berth.list(&["-f", "json"]).ok().stdout;
    let keys = [
        "ociVersion",
        "id",
        "pid",
        "status",
        "bundle",
        "rootfs",
        "created",
        "owner",
    ];
    let mut at = 0;
    for k in keys {
        let found = out[at..]
            .find(&format!("\"{k}\":"))
            .unwrap_or_else(|| panic!("{k} after {at}: {out}"));
        at += found;
    }
    berth.delete_force(&id).ok();
}

#[test]
fn debug_log_names_the_setup_stages() {
    let berth = Berth::new("words-debug");
    let mut b = Bundle::new("words-debug");
    b.args(&["true"]);
    b.write_config();
    let id = berth.id("d");
    let out = berth.run_global(&["--debug"], &["run", "--bundle", b.path_str(), &id]);
    assert_eq!(out.code, 0, "{out}");
    for stage in [
        "nsexec container setup",
        "child process in init()",
        "init: closing the pipe to signal completion",
    ] {
        assert!(out.stderr.contains(stage), "{stage:?} missing: {out}");
    }
    let b = sleeper("words-debug-exec");
    let id = berth.id("de");
    berth.start_container(&b, &id);
    let out = berth.run_global(&["--debug"], &["exec", &id, "true"]);
    assert_eq!(out.code, 0, "{out}");
    assert!(out.stderr.contains("setns_init: about to exec"), "{out}");
    berth.delete_force(&id).ok();
}

#[test]
fn exec_cgroup_outside_the_container_is_not_a_sub_cgroup() {
    let berth = Berth::new("words-subcg");
    let b = sleeper("words-subcg");
    let id = berth.id("s");
    berth.start_container(&b, &id);
    let out = berth.run(&["exec", "--cgroup", "..", &id, "true"]);
    assert_eq!(out.code, 255, "{out}");
    assert!(out.stderr.contains(" .. is not a sub cgroup path"), "{out}");
    berth.delete_force(&id).ok();
}

#[test]
fn exec_process_file_without_user_runs_as_root() {
    let berth = Berth::new("words-procuser");
    let b = sleeper("words-procuser");
    let id = berth.id("p");
    berth.start_container(&b, &id);
    let dir = TempDir::new("words-procuser-json");
    let file = dir.path().join("process.json");
    fs::write(&file, json!({"args": ["id", "-u"], "cwd": "/"}).to_string()).unwrap();
    let out = berth
        .run(&["exec", "--process", file.to_str().unwrap(), &id])
        .ok();
    assert_eq!(out.stdout, "0\n", "{out}");
    berth.delete_force(&id).ok();
}

/// runc's seccomp.bats: a startContainer hook killed by the container's filter fails
/// `run` with "error running hook" and the signal's "bad system call".
#[test]
fn a_hook_killed_by_seccomp_is_an_error_running_hook() {
    let berth = Berth::new("words-hooksys");
    let mut b = Bundle::new("words-hooksys");
    b.args(&["true"]);
    b.config["process"]["noNewPrivileges"] = json!(true);
    b.config["linux"]["seccomp"] = json!({
        "defaultAction": "SCMP_ACT_ALLOW",
        "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_KILL"}]
    });
    b.config["hooks"] = json!({"startContainer": [{"path": "/bin/sh", "args": ["sh", "-c", "mkdir /dev/shm/foo"]}]});
    let id = berth.id("h");
    let out = berth.run_bundle(&b, &id, &[]);
    assert_ne!(out.code, 0, "{out}");
    let text = format!("{}{}", out.stdout, out.stderr);
    assert!(
        text.contains("error running hook") && text.contains("bad system call"),
        "{out}"
    );
}

/// createContainer hooks run in the container's root filesystem (relative paths there).
#[test]
fn create_container_hooks_run_in_the_rootfs() {
    let berth = Berth::new("words-cchook");
    let mut b = Bundle::new("words-cchook");
    b.args(&["true"]);
    let mark = b.path().join("hook-cwd");
    b.config["hooks"] = json!({"createContainer": [{"path": "/bin/sh",
        "args": ["sh", "-c", format!("pwd > {}; test -x ./bin/busybox", mark.display())]}]});
    let id = berth.id("c");
    berth.run_bundle(&b, &id, &[]).ok();
    let cwd = fs::read_to_string(&mark).unwrap();
    assert_eq!(
        cwd.trim(),
        b.rootfs().canonicalize().unwrap().to_str().unwrap()
    );
}

#[test]
fn unified_resources_need_a_cgroup_v2_host() {
    if std::path::Path::new("/sys/fs/cgroup/cgroup.controllers").exists() {
        return; // A pure cgroup v2 host takes the map.
    }
    let berth = Berth::new("words-unified");
    let mut b = Bundle::new("words-unified");
    b.args(&["true"]);
    b.config["linux"]["resources"] = json!({"unified": {"memory.min": "131072"}});
    let id = berth.id("u");
    let out = berth.create(&b, &id).fails();
    assert!(out.stderr.contains("invalid configuration"), "{out}");
    assert!(berth.state_entries().is_empty());
}

/// A failing startContainer hook fails `start` with the hook's own error: the init tells
/// `start` through exec.fifo, the one channel left once `create` has exited.
#[test]
fn start_reports_a_failing_start_container_hook() {
    let berth = Berth::new("words-starthook");
    let mut b = Bundle::new("words-starthook");
    b.args(&["true"]);
    b.config["hooks"] = json!({"startContainer": [{"path": "/bin/sh", "args": ["sh", "-c", "echo nope >&2; exit 3"]}]});
    let id = berth.id("s");
    berth.create(&b, &id).ok();
    let out = berth.start(&id).fails();
    let line = out.single_error_line();
    assert!(
        line.contains("hooks.startContainer[0]") && line.contains("error running hook"),
        "{out}"
    );
    assert!(
        line.contains("exit status 3") && line.contains("nope"),
        "{out}"
    );
    berth.delete_force(&id).ok();
}

/// Docker (daemon/start.go translateContainerdStartErr: the command's name plus
/// "executable file not found" → exit 127), podman (getOCIRuntimeError: "executable file
/// not found in" → 127, from the JSON `msg` of `--log`), containerd (getLastRuntimeError:
/// the last `"level":"error"` line) and the scripts around them that match runc's
/// "run failed: unable to start container process".
#[test]
fn start_failure_is_unable_to_start_container_process() {
    let berth = Berth::new("words-startfail");
    let mut b = Bundle::new("words-startfail");
    b.args(&["nope"]);
    let dir = TempDir::new("words-startfail-log");
    let log = dir.path().join("log.json");
    let id = berth.id("s");
    b.write_config();
    let out = berth.run_global(
        &["--log", log.to_str().unwrap(), "--log-format", "json"],
        &["run", "--bundle", b.path_str(), &id],
    );
    assert_eq!(out.code, 1, "{out}");
    let want = "run failed: unable to start container process: exec: \"nope\": executable file not found in $PATH";
    assert!(out.single_error_line().contains(want), "{out}");
    let text = fs::read_to_string(&log).unwrap();
    let last: serde_json::Value = serde_json::from_str(text.lines().last().unwrap()).unwrap();
    assert_eq!(last["level"], "error", "{text}");
    assert!(last["msg"].as_str().unwrap().contains(want), "{text}");
    assert!(berth.state_entries().is_empty());
}

/// containerd's shim wraps a failed `runc exec` as "OCI runtime exec failed: exec failed:
/// unable to start container process: ..."; Docker decides `docker exec`'s 126/127 from
/// "permission denied" / "executable file not found", scripts match the rest; 255 tells
/// the failure from the process's own exit code (go-runc, conmon).
#[test]
fn exec_failure_says_exec_failed() {
    let berth = Berth::new("words-execfail");
    let b = sleeper("words-execfail");
    let id = berth.id("e");
    berth.start_container(&b, &id);
    let out = berth.run(&["exec", &id, "nope"]);
    assert_eq!(out.code, 255, "{out}");
    let line = out.single_error_line();
    assert!(
        line.contains("exec failed: unable to start container process: exec: \"nope\": executable file not found in $PATH"),
        "{out}"
    );
    let out = berth.run(&["exec", &id, "/etc"]);
    assert_eq!(out.code, 255, "{out}");
    assert!(
        out.single_error_line().contains(
            "exec failed: unable to start container process: exec: \"/etc\": permission denied"
        ),
        "{out}"
    );
    berth.delete_force(&id).ok();
}

/// runc 1.1's "create failed: container with given ID already exists": Docker shows it as
/// "OCI runtime create failed: ..." and users' scripts clean runc's state dir on it.
#[test]
fn create_with_a_taken_id_uses_runcs_words() {
    let berth = Berth::new("words-taken");
    let b = sleeper("words-taken");
    let id = berth.id("t");
    berth.create(&b, &id).ok();
    let out = berth.create(&b, &id).fails();
    assert!(
        out.single_error_line()
            .contains("create failed: container with given ID already exists"),
        "{out}"
    );
    berth.delete_force(&id).ok();
}

/// podman (UpdateContainerStatus: `state` stderr with "does not exist" → the container
/// is marked exited), CRI-O (`state` failing → stopped), containerd (Init.delete ignores
/// "does not exist"; checkKillError turns it into "no such container"), and
/// `delete --force` of a missing container succeeding (podman's cleanup, containerd's
/// shim Cleanup). A guard: berth already said so before this audit.
#[test]
fn a_missing_container_does_not_exist() {
    let berth = Berth::new("words-missing");
    let id = berth.id("m");
    for verb in [&["state"][..], &["delete"], &["kill"], &["pause"], &["ps"]] {
        let mut args = verb.to_vec();
        args.push(&id);
        let out = berth.run(&args);
        assert_eq!(out.code, 1, "{verb:?}: {out}");
        assert!(out.stderr.contains("does not exist"), "{verb:?}: {out}");
    }
    let out = berth.run(&["exec", &id, "true"]);
    assert_eq!(out.code, 255, "{out}");
    assert!(out.stderr.contains("does not exist"), "{out}");
    berth.run(&["delete", "--force", &id]).ok();
}

/// CRI-O (runtime_oci.go signalContainer) sends `kill -a ID SIG`, and its runtimeCmd
/// takes "container not running" on stderr as "already gone". A guard: this held before
/// the audit.
#[test]
fn crio_kill_all_short_flag() {
    let berth = Berth::new("words-crio-kill");
    let b = sleeper("words-crio-kill");
    let id = berth.id("k");
    berth.start_container(&b, &id);
    berth.run(&["kill", "-a", &id, "9"]).ok();
    berth.wait_status(&id, "stopped");
    berth.run(&["kill", "-a", &id, "9"]).ok();
    let out = berth.run(&["kill", &id, "9"]).fails();
    assert!(out.stderr.contains("container not running"), "{out}");
    berth.delete_force(&id).ok();
}
