//! Scenarios for containerd, driven with `ctr`: its own bodies where its CLI differs from
//! the docker-style one, with the probes and assertions all engines share.

use super::containerd_env::Containerd;
use super::images::{IMAGE, USER_IMAGE};
use super::probes::*;
use super::support::{run_in_pty, s};
use crate::common::{unique, wait_until, Bundle};
use serde_json::{json, Value};
use std::fs;

pub fn run_output_and_exit_code(c: &Containerd) {
    let id = unique("run");
    let script = "echo out; echo err >&2; exit 3";
    let out = c.ctr_run(&["--rm", IMAGE, &id, "sh", "-c", script]);
    assert_out_err_exit_3(&out, "out\n");

    // The shim reads berth's error from its JSON log and hands it to ctr.
    let id = unique("missing");
    let out = c.ctr_run(&["--rm", IMAGE, &id, "/nonexistent"]);
    assert_ne!(out.code, 0, "{out}");
    assert!(
        out.stderr.contains("/nonexistent") && out.stderr.contains("no such file"),
        "{out}"
    );
    c.ctr(&["containers", "rm", &id]);
}

pub fn detached_kill_delete(c: &Containerd) {
    let (log, log_uri) = c.task_log();
    let id = unique("term");
    c.ctr_run(&[
        "-d",
        "--log-uri",
        &log_uri,
        IMAGE,
        &id,
        "sh",
        "-c",
        TERM_AWARE,
    ])
    .ok();
    wait_until("task output", || {
        fs::read_to_string(&log)
            .unwrap_or_default()
            .contains("ready")
    });
    let ls = c.ctr(&["tasks", "ls"]).ok();
    assert!(ls.stdout.contains("RUNNING"), "{ls}");
    assert!(
        c.berth_root.join(&c.ns).join(&id).exists(),
        "no berth state"
    );

    c.stop_task(&id, "SIGTERM");
    assert!(fs::read_to_string(&log).unwrap().contains("got-term"));
    // `tasks rm` warns about a non-zero exit code; a clean exit 0 gives no warning.
    let rm = c.remove(&id);
    assert!(!rm.stderr.contains("exit code"), "{rm}");

    let id = unique("kill");
    c.ctr_run(&["-d", IMAGE, &id, "sleep", "600"]).ok();
    c.stop_task(&id, "SIGKILL");
    let rm = c.remove(&id);
    assert!(rm.stderr.contains("137"), "{rm}");
}

pub fn tty(c: &Containerd) {
    let mut argv = c.ctr_argv();
    argv.extend(c.runtime_args());
    let id = unique("tty");
    let mut probe = argv.clone();
    probe.extend(s(&["--rm", "-t", IMAGE, &id, "sh", "-c", TTY_PROBE]));
    assert_tty_probe(&run_in_pty(&probe, &[], ""));
    let id = unique("tty-in");
    let mut typed = argv;
    typed.extend(s(&["--rm", "-t", IMAGE, &id, "sh"]));
    assert_typed(&run_in_pty(&typed, &[], TYPED));
}

pub fn resource_limits(c: &Containerd) {
    // ctr's default spec has no /sys/fs/cgroup; the cgroup mount shows the container's own.
    let id = unique("mem");
    let out = c
        .ctr_run(&[
            "--rm",
            "--memory-limit=67108864",
            "--cpu-quota=50000",
            "--cpu-period=100000",
            "--mount=type=cgroup,src=cgroup,dst=/sys/fs/cgroup,options=ro:nosuid:noexec:nodev",
            IMAGE,
            &id,
            "sh",
            "-c",
            "cat /sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/cpu/cpu.cfs_quota_us",
        ])
        .ok();
    assert_eq!(out.stdout, "67108864\n50000\n", "{out}");

    // ctr has no pids flag: a full spec (ctr's own default, with a pids limit, a user and a
    // rootfs path) goes through `ctr run --config`, the path a spec-generating client takes.
    let bundle = Bundle::new("ctr-spec");
    let id = unique("spec");
    let mut spec: Value = serde_json::from_str(&c.ctr(&["oci", "spec"]).ok().stdout).unwrap();
    spec["root"] = json!({"path": bundle.rootfs(), "readonly": false});
    spec["process"]["args"] = json!(["sh", "-c", format!("id; pwd; {PIDS_PROBE}")]);
    spec["process"]["user"] = json!({"uid": 1000, "gid": 1000});
    spec["process"]["cwd"] = json!("/home/berth");
    spec["linux"]["cgroupsPath"] = json!(format!("/{}/{id}", c.ns));
    spec["linux"]["resources"]["pids"] = json!({"limit": 8});
    spec["linux"]["resources"]["memory"] = json!({"limit": 67108864});
    spec["linux"]["resources"]["cpu"] = json!({"quota": 50000, "period": 100000});
    spec["mounts"].as_array_mut().unwrap().push(json!({
        "destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup",
        "options": ["ro", "nosuid", "noexec", "nodev"]
    }));
    let spec_path = c.dir.path().join("spec.json");
    fs::write(&spec_path, spec.to_string()).unwrap();
    let out = c.ctr_run(&["--rm", "--config", spec_path.to_str().unwrap(), &id]);
    assert_limits_enforced(&out, "uid=1000(berth) gid=1000(berth)\n/home/berth\n");
}

pub fn env_user_workdir(c: &Containerd) {
    // USER/WORKDIR/ENV from the image config; containerd resolves "berth" in the image's passwd.
    let id = unique("img");
    let out = c
        .ctr_run(&["--rm", USER_IMAGE, &id, "sh", "-c", IDENTITY_PROBE])
        .ok();
    assert_eq!(
        out.stdout,
        format!("{USER_IMAGE_IDENTITY}rootfs-rw\n"),
        "{out}"
    );
    // Command-line env and cwd, a read-only rootfs.
    let id = unique("cli");
    let out = c
        .ctr_run(&[
            "--rm",
            "--env=BAR=cli",
            "--cwd=/tmp",
            "--read-only",
            IMAGE,
            &id,
            "sh",
            "-c",
            IDENTITY_PROBE,
        ])
        .ok();
    assert!(out.stdout.starts_with("uid=0(root) gid=0(root)"), "{out}");
    assert!(out.stdout.contains("\n/tmp\nFOO= BAR=cli\n"), "{out}");
    assert!(out.stdout.ends_with("rootfs-ro\n"), "{out}");
}

pub fn exec(c: &Containerd) {
    let id = unique("exec");
    c.ctr_run(&["-d", IMAGE, &id, "sleep", "600"]).ok();
    // The shim runs `berth exec --process FILE --detach --pid-file ...` for each of these.
    let out = c.ctr(&[
        "tasks",
        "exec",
        "--exec-id",
        "one",
        &id,
        "sh",
        "-c",
        "echo in-exec; exit 4",
    ]);
    assert_eq!(out.code, 4, "{out}");
    assert_eq!(out.stdout, "in-exec\n", "{out}");
    // No --user here: ctr resolves it by mounting the running container's snapshot, and
    // under load that sometimes yields an empty, exit-0 exec with runc as well (podman and
    // docker exec cover the user switch).
    let out = c
        .ctr(&[
            "tasks",
            "exec",
            "--exec-id",
            "two",
            "--cwd",
            "/tmp",
            &id,
            "sh",
            "-c",
            "id -u; pwd",
        ])
        .ok();
    assert_eq!(out.stdout, "0\n/tmp\n", "{out}");
    let mut argv = c.ctr_argv();
    argv.extend(s(&[
        "tasks",
        "exec",
        "-t",
        "--exec-id",
        "tty",
        &id,
        "sh",
        "-c",
        TTY_PROBE,
    ]));
    assert_tty_probe(&run_in_pty(&argv, &[], ""));
    c.stop_task(&id, "SIGKILL");
    c.remove(&id);
}

pub fn pause_resume_ps(c: &Containerd) {
    let (log, log_uri) = c.task_log();
    let id = unique("pause");
    c.ctr_run(&["-d", "--log-uri", &log_uri, IMAGE, &id, "sh", "-c", COUNTER])
        .ok();
    let lines = || fs::read_to_string(&log).unwrap_or_default().lines().count();
    wait_until("output", || lines() > 0);
    // The shim lists the task's processes with `berth ps --format json`.
    let pid = c.ctr(&["tasks", "ls"]).ok();
    let init = pid
        .stdout
        .lines()
        .find(|l| l.starts_with(id.as_str()))
        .and_then(|l| l.split_whitespace().nth(1))
        .unwrap_or_else(|| panic!("no task line: {pid}"))
        .to_string();
    let ps = c.ctr(&["tasks", "ps", &id]).ok();
    assert!(ps.stdout.contains(&init), "init {init} not in {ps}");
    c.ctr(&["tasks", "pause", &id]).ok();
    let ls = c.ctr(&["tasks", "ls"]).ok();
    assert!(ls.stdout.contains("PAUSED"), "{ls}");
    assert_frozen_then_thawed(lines, || {
        c.ctr(&["tasks", "resume", &id]).ok();
    });
    let ls = c.ctr(&["tasks", "ls"]).ok();
    assert!(ls.stdout.contains("RUNNING"), "{ls}");
    c.stop_task(&id, "SIGKILL");
    c.remove(&id);
}
