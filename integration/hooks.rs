//! Hooks: all six kinds run in the spec's order with the state on stdin; create-phase
//! failures fail `create` and leave nothing behind; poststart/poststop failures only warn.

use crate::common::*;
use crate::errors::assert_clean_failure;
use serde_json::{json, Value};
use std::fs;
use std::time::{Duration, Instant};

/// A hook that appends "<kind> <state json>" to `log`, run by `sh` found at `sh`.
fn log_hook(sh: &str, kind: &str, log: &str) -> Value {
    json!({
        "path": sh,
        "args": ["sh", "-c", format!("echo \"{kind} $(cat)\" >> {log}")],
    })
}

fn logged(path: &std::path::Path) -> Vec<(String, Value)> {
    fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(|l| {
            let (kind, json) = l.split_once(' ').unwrap();
            (kind.to_string(), serde_json::from_str(json).unwrap())
        })
        .collect()
}

#[test]
fn all_six_hooks_run_in_order_with_state() {
    let berth = Berth::new("hooks-all");
    let logdir = TempDir::new("hooks-all-log");
    let log = logdir.path().join("log");
    let host_log = log.to_str().unwrap();
    let mut b = Bundle::new("hooks-all");
    b.args(&["true"]);
    // startContainer runs inside the container: its sh and its log path are the container's.
    b.add_mount(json!({"destination": "/hooklog", "type": "bind", "source": logdir.path_str(), "options": ["rbind"]}));
    b.config["hooks"] = json!({
        "prestart": [log_hook("/bin/sh", "prestart", host_log)],
        "createRuntime": [log_hook("/bin/sh", "createRuntime", host_log)],
        "createContainer": [log_hook("/bin/sh", "createContainer", host_log)],
        "startContainer": [log_hook("/bin/sh", "startContainer", "/hooklog/log")],
        "poststart": [log_hook("/bin/sh", "poststart", host_log)],
        "poststop": [log_hook("/bin/sh", "poststop", host_log)],
    });
    let id = berth.id("h");
    berth.create(&b, &id).ok();
    let pid = berth.pid(&id);
    let got = logged(&log);
    let kinds: Vec<&str> = got.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(kinds, ["prestart", "createRuntime", "createContainer"]);
    for (kind, state) in &got {
        assert_eq!(state["id"], id.as_str(), "{kind}");
        assert_eq!(state["status"], "creating", "{kind}");
        assert_eq!(state["pid"], pid, "{kind}");
        assert_eq!(state["bundle"], b.path_str(), "{kind}");
    }
    berth.start(&id).ok();
    berth.wait_status(&id, "stopped");
    berth.delete(&id).ok();
    let got = logged(&log);
    let kinds: Vec<&str> = got.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(
        kinds,
        [
            "prestart",
            "createRuntime",
            "createContainer",
            "startContainer",
            "poststart",
            "poststop"
        ]
    );
    assert_eq!(got[3].1["status"], "created");
    assert_eq!(got[4].1["status"], "running");
    assert_eq!(got[5].1["status"], "stopped");
}

#[test]
fn hook_env_and_args_are_passed() {
    let berth = Berth::new("hooks-env");
    let logdir = TempDir::new("hooks-env-log");
    let out = logdir.path().join("out");
    let mut b = Bundle::new("hooks-env");
    b.args(&["true"]);
    b.config["hooks"] = json!({"createRuntime": [{
        "path": "/bin/sh",
        "args": ["my-argv0", "-c", format!("echo \"$(head -c 8 /proc/$$/cmdline) $0 $1 $GREETING\" > {}", out.display()), "zero", "one"],
        "env": ["GREETING=hello"],
    }]});
    let (code, _, _) = berth.run_container(&b, &berth.id("e"));
    assert_eq!(code, 0);
    assert_eq!(
        fs::read_to_string(&out).unwrap(),
        "my-argv0 zero one hello\n"
    );
}

/// Hooks are programs berth runs on the host: none of the fds its caller left open
/// (beyond stdio) may reach them, in any phase.
#[test]
fn hooks_inherit_no_fd_of_the_caller() {
    let berth = Berth::new("hooks-fds");
    let logdir = TempDir::new("hooks-fds-log");
    let log = logdir.path().join("fds");
    let mut b = Bundle::new("hooks-fds");
    b.args(&["true"]);
    // Each hook lists its fds beyond stdio (ls's own directory fd shows up as well).
    let hook = |kind: &str| {
        json!({"path": "/bin/sh", "args": ["sh", "-c",
            format!("echo {kind} $(ls /proc/self/fd | grep -vx '[012]' | tr '\\n' ' ') >> {}", log.display())]})
    };
    b.config["hooks"] = json!({
        "createRuntime": [hook("createRuntime")],
        "startContainer": [{"path": "/bin/sh", "args": ["sh", "-c", "ls /proc/self/fd | grep -qx 7 && exit 1; exit 0"]}],
        "poststart": [hook("poststart")],
        "poststop": [hook("poststop")],
    });
    b.write_config();
    let id = berth.id("f");
    // fd 7 stays open in the shell that runs each berth command, without close-on-exec.
    let with_fd_7 = |cmd: String| {
        let berth_cmd = format!(
            "{} --root {} {cmd}",
            berth_bin().display(),
            berth.root().display()
        );
        let mut c = std::process::Command::new("bash");
        c.args(["-c", &format!("exec 7</etc/hostname; {berth_cmd}")]);
        run_command(c, Duration::from_secs(20)).ok();
    };
    with_fd_7(format!("create --bundle {} {id}", b.path_str()));
    with_fd_7(format!("start {id}"));
    berth.wait_status(&id, "stopped");
    with_fd_7(format!("delete {id}"));
    let text = fs::read_to_string(&log).unwrap();
    assert_eq!(text.lines().count(), 3, "{text}");
    for line in text.lines() {
        let fds: Vec<&str> = line.split_whitespace().skip(1).collect();
        assert!(
            fds.len() <= 1 && !fds.contains(&"7"),
            "{line} (all: {text})"
        );
    }
}

/// runc's hooks inherit runc's environment when they give no `env` of their own;
/// an empty `env` means an empty environment.
#[test]
fn hooks_without_env_get_the_runtime_environment() {
    let berth = Berth::new("hooks-inherit");
    let logdir = TempDir::new("hooks-inherit-log");
    let log = logdir.path().join("env");
    let mut b = Bundle::new("hooks-inherit");
    b.args(&["true"]);
    let hook = |tag: &str| {
        json!({"path": "/bin/sh", "args": ["sh", "-c",
            format!("echo {tag}=${{BERTH_HOOK_MARK:-unset}} >> {}", log.display())]})
    };
    let mut with_empty_env = hook("empty");
    with_empty_env["env"] = json!([]);
    b.config["hooks"] = json!({"createRuntime": [hook("inherit"), with_empty_env]});
    b.write_config();
    let id = berth.id("i");
    let mut cmd = berth.command();
    cmd.env("BERTH_HOOK_MARK", "from-caller")
        .args(["run", "--bundle", b.path_str(), &id]);
    run_command(cmd, Duration::from_secs(20)).ok();
    assert_eq!(
        fs::read_to_string(&log).unwrap(),
        "inherit=from-caller\nempty=unset\n"
    );
}

fn failing_create(name: &str, hooks: Value) -> String {
    let berth = Berth::new(name);
    let mut b = Bundle::new(name);
    b.args(&["true"]);
    b.config["hooks"] = hooks;
    let id = berth.id("f");
    let before = host_mounts();
    let out = berth.create(&b, &id);
    assert_clean_failure(&berth, Some(&b), &id, &before, &out)
}

#[test]
fn failing_create_runtime_hook_fails_create() {
    let line = failing_create(
        "hooks-fail",
        json!({"createRuntime": [{"path": "/bin/sh", "args": ["sh", "-c", "echo broken >&2; exit 3"]}]}),
    );
    assert!(
        line.contains("createRuntime[0]") && line.contains("exit status 3"),
        "{line}"
    );
}

#[test]
fn failing_create_container_hook_fails_create() {
    let line = failing_create(
        "hooks-fail-cc",
        json!({"createContainer": [{"path": "/bin/false"}]}),
    );
    assert!(line.contains("createContainer[0]"), "{line}");
}

#[test]
fn missing_hook_binary_fails_create() {
    let line = failing_create(
        "hooks-missing",
        json!({"prestart": [{"path": "/no/such/hook"}]}),
    );
    assert!(
        line.contains("prestart[0]") && line.contains("/no/such/hook"),
        "{line}"
    );
}

#[test]
fn hook_timeout_kills_it_and_fails_create() {
    let t = Instant::now();
    let line = failing_create(
        "hooks-timeout",
        json!({"createRuntime": [{"path": "/bin/sleep", "args": ["sleep", "30"], "timeout": 1}]}),
    );
    assert!(
        line.contains("createRuntime[0]") && line.contains("timed out"),
        "{line}"
    );
    assert!(t.elapsed() < Duration::from_secs(10));
}

#[test]
fn poststart_and_poststop_failures_only_warn() {
    let berth = Berth::new("hooks-warn");
    let mut b = Bundle::new("hooks-warn");
    b.args(&["sleep", "3600"]);
    b.config["hooks"] = json!({
        "poststart": [{"path": "/bin/false"}],
        "poststop": [{"path": "/bin/false"}],
    });
    let id = berth.id("w");
    berth.create(&b, &id).ok();
    let out = berth.start(&id).ok();
    assert!(out.stderr.contains("poststart[0]"), "{out}");
    assert_eq!(berth.status(&id).as_deref(), Some("running"));
    let out = berth.delete_force(&id).ok();
    assert!(out.stderr.contains("poststop[0]"), "{out}");
    berth.state(&id).fails();
}
