//! Scenarios for the engines with a docker-style CLI (podman and Docker): one body each,
//! written against the [`Cli`] trait.

use super::docker_env::Docker;
use super::images::{IMAGE, USER_IMAGE};
use super::probes::*;
use crate::common::{unique, wait_until, Output};
use std::path::Path;

/// An engine driven through a docker-compatible command line. Where podman and Docker
/// answer differently, the difference is a constant here.
pub trait Cli {
    /// The command's name, for messages.
    const NAME: &'static str;
    /// Commands that name no runnable file, with what the engine makes of berth's error.
    const BAD_COMMANDS: &'static [BadCommand];
    /// What `top ID` needs after the id to show the processes' command lines.
    const TOP_ARGS: &'static [&'static str];

    /// Runs the engine command with `args`.
    fn run(&self, args: &[&str]) -> Output;
    /// Runs the engine command with `args` on a terminal, `input` typed in.
    fn run_tty(&self, args: &[&str], input: &str) -> Output;
    /// berth's `--root` as the engine's runtime calls use it.
    fn berth_root(&self) -> &Path;
}

/// `run IMAGE command` that fails in create: the exit code the engine gives and, where it
/// passes berth's message on, a part of it.
pub struct BadCommand {
    pub command: &'static str,
    pub code: i32,
    pub stderr: Option<&'static str>,
}

/// `run -d` with `flags` before the image; returns the container id.
fn run_detached<E: Cli>(e: &E, flags: &[&str], command: &[&str]) -> String {
    let mut args = vec!["run", "-d", "--network=none"];
    args.extend(flags);
    args.push(IMAGE);
    args.extend(command);
    e.run(&args).ok().stdout.trim().to_string()
}

/// `top` showing the command lines of container `id`'s processes.
fn top<E: Cli>(e: &E, id: &str) -> Output {
    let mut args = vec!["top", id];
    args.extend(E::TOP_ARGS);
    e.run(&args).ok()
}

fn assert_status<E: Cli>(e: &E, id: &str, want: &str) {
    let st = e.run(&["inspect", "-f", "{{.State.Status}}", id]).ok();
    assert_eq!(st.stdout.trim(), want, "{st}");
}

pub fn run_output_and_exit_code<E: Cli>(e: &E) {
    let out = e.run(&[
        "run",
        "--rm",
        "--network=none",
        IMAGE,
        "sh",
        "-c",
        "echo out; echo err >&2; ulimit -n; exit 3",
    ]);
    assert_out_err_exit_3(&out, "out\n1024\n");
    for bad in E::BAD_COMMANDS {
        let out = e.run(&["run", "--rm", "--network=none", IMAGE, bad.command]);
        assert_eq!(out.code, bad.code, "{out}");
        if let Some(msg) = bad.stderr {
            assert!(out.stderr.contains(msg), "{out}");
        }
    }
}

pub fn detached_stop_kill_rm<E: Cli>(e: &E) {
    let id = run_detached(e, &[], &["sh", "-c", TERM_AWARE]);
    wait_until(&format!("{} logs to show ready", E::NAME), || {
        e.run(&["logs", &id]).stdout.contains("ready")
    });
    assert_status(e, &id, "running");
    assert!(e.berth_root().join(&id).exists(), "no berth state for {id}");

    // stop: SIGTERM through `berth kill`, the trap exits 0.
    e.run(&["stop", "--time", "10", &id]).ok();
    let st = e
        .run(&[
            "inspect",
            "-f",
            "{{.State.Status}} {{.State.ExitCode}}",
            &id,
        ])
        .ok();
    assert_eq!(st.stdout.trim(), "exited 0", "{st}");
    assert!(e.run(&["logs", &id]).ok().stdout.contains("got-term"));

    // start and restart are each a fresh create/start of the same container; then SIGKILL.
    e.run(&["start", &id]).ok();
    e.run(&["restart", "--time", "0", &id]).ok();
    assert_status(e, &id, "running");
    e.run(&["kill", &id]).ok();
    let out = e.run(&["wait", &id]).ok();
    assert_eq!(out.stdout.trim(), "137", "{out}");
    e.run(&["rm", &id]).ok();
}

pub fn tty<E: Cli>(e: &E) {
    let out = e.run_tty(
        &[
            "run",
            "--rm",
            "-t",
            "--network=none",
            IMAGE,
            "sh",
            "-c",
            TTY_PROBE,
        ],
        "",
    );
    assert_tty_probe(&out);
    // -it: what is typed on the outer terminal reaches the container's shell.
    let out = e.run_tty(
        &["run", "--rm", "-it", "--network=none", IMAGE, "sh"],
        TYPED,
    );
    assert_typed(&out);
}

pub fn resource_limits<E: Cli>(e: &E) {
    let out = e.run(&[
        "run",
        "--rm",
        "--network=none",
        "--memory=64m",
        "--pids-limit=8",
        "--cpus=0.5",
        IMAGE,
        "sh",
        "-c",
        PIDS_PROBE,
    ]);
    assert_limits_enforced(&out, "");
}

pub fn env_user_workdir<E: Cli>(e: &E) {
    let out = e
        .run(&[
            "run",
            "--rm",
            "--network=none",
            "--env=BAR=cli",
            "--user=1000:1000",
            "--workdir=/tmp",
            "--hostname=engine-host",
            "--read-only",
            IMAGE,
            "sh",
            "-c",
            &format!("{IDENTITY_PROBE}; hostname"),
        ])
        .ok();
    let want = format!("{BERTH_ID}/tmp\nFOO= BAR=cli\nrootfs-ro\nengine-host\n");
    assert_eq!(out.stdout, want, "{out}");
    // The same from the image config (USER/WORKDIR/ENV set at import).
    let out = e
        .run(&[
            "run",
            "--rm",
            "--network=none",
            USER_IMAGE,
            "sh",
            "-c",
            IDENTITY_PROBE,
        ])
        .ok();
    assert!(out.stdout.starts_with(USER_IMAGE_IDENTITY), "{out}");
    assert!(out.stdout.ends_with("rootfs-rw\n"), "{out}");
}

pub fn shared_namespaces<E: Cli>(e: &E) {
    let name = unique("alpha");
    let marker = "echo hello > /tmp/marker; echo ready; exec sleep 600";
    run_detached(e, &["--name", &name], &["sh", "-c", marker]);
    wait_until("first container ready", || {
        e.run(&["logs", &name]).stdout.contains("ready")
    });
    // The second container joins the first one's pid, net and ipc namespaces (namespace
    // paths in its config): it sees the first one's PID 1 and, through it, its files.
    let ctr = format!("container:{name}");
    let out = e
        .run(&[
            "run",
            "--rm",
            &format!("--pid={ctr}"),
            &format!("--network={ctr}"),
            &format!("--ipc={ctr}"),
            IMAGE,
            "sh",
            "-c",
            "cat /proc/1/cmdline | tr '\\0' ' '; echo; cat /proc/1/root/tmp/marker",
        ])
        .ok();
    assert_eq!(out.stdout, "sleep 600 \nhello\n", "{out}");
    e.run(&["rm", "--force", "--time", "0", &name]).ok();
}

pub fn exec<E: Cli>(e: &E) {
    let id = run_detached(e, &[], &["sleep", "600"]);
    exec_checks(e, &id);
    e.run(&["rm", "--force", "--time", "0", &id]).ok();
}

/// [`exec`], in a container whose healthcheck (also an exec, run by dockerd every second)
/// must pass. podman runs healthchecks from systemd timers, which this host does not have.
pub fn exec_and_healthcheck(d: &Docker) {
    let health = ["--health-cmd=echo probe-ran", "--health-interval=1s"];
    let id = run_detached(d, &health, &["sleep", "600"]);
    exec_checks(d, &id);
    wait_until("the healthcheck to pass", || {
        d.run(&["inspect", "-f", "{{.State.Health.Status}}", &id])
            .stdout
            .trim()
            == "healthy"
    });
    let first_log = "{{(index .State.Health.Log 0).Output}}";
    let log = d.run(&["inspect", "-f", first_log, &id]).ok();
    assert!(log.stdout.contains("probe-ran"), "{log}");
    d.run(&["rm", "--force", &id]).ok();
}

/// Execs into the running `sleep 600` container `id`: output, exit code, user, working dir,
/// env, terminals, and a detached exec.
fn exec_checks<E: Cli>(e: &E, id: &str) {
    // The runtime is asked for `berth exec --process FILE --detach --pid-file ...`, and the
    // engine waits on the pid.
    let script = "echo in-exec; echo err >&2; exit 4";
    let out = e.run(&["exec", id, "sh", "-c", script]);
    assert_eq!(out.code, 4, "{out}");
    assert_eq!(out.stdout, "in-exec\n", "{out}");
    assert!(out.stderr.contains("err"), "{out}");
    let out = e
        .run(&[
            "exec",
            "--user=1000:1000",
            "--workdir=/tmp",
            "--env=BAR=exec",
            id,
            "sh",
            "-c",
            "id -u; pwd; echo BAR=$BAR; cat /proc/1/cmdline | tr '\\0' ' '",
        ])
        .ok();
    assert_eq!(out.stdout, "1000\n/tmp\nBAR=exec\nsleep 600 ", "{out}");
    assert_tty_probe(&e.run_tty(&["exec", "-t", id, "sh", "-c", TTY_PROBE], ""));
    assert_typed(&e.run_tty(&["exec", "-it", id, "sh"], TYPED));
    // A detached exec keeps running beside the init.
    e.run(&["exec", "-d", id, "sleep", "300"]).ok();
    let top = top(e, id);
    assert!(top.stdout.contains("sleep 300"), "{top}");
}

pub fn pause_unpause<E: Cli>(e: &E) {
    let id = run_counter(e, &[]);
    pause_and_unpause(e, &id);
    e.run(&["rm", "--force", "--time", "0", &id]).ok();
}

/// [`pause_unpause`] with `top` before it and `update` after it.
pub fn top_pause_update<E: Cli>(e: &E) {
    let limits = ["--memory=64m", "--pids-limit=50"];
    let id = run_counter(e, &limits);
    // The shim asks `berth ps --format json` for the pids.
    let top = top(e, &id);
    assert!(top.stdout.contains("while true"), "{top}");
    pause_and_unpause(e, &id);
    // `berth update --resources -` with the new limits, seen inside.
    e.run(&[
        "update",
        "--memory=128m",
        "--memory-swap=256m",
        "--pids-limit=77",
        "--cpus=0.25",
        &id,
    ])
    .ok();
    let out = e
        .run(&[
            "exec",
            &id,
            "cat",
            "/sys/fs/cgroup/memory/memory.limit_in_bytes",
            "/sys/fs/cgroup/pids/pids.max",
            "/sys/fs/cgroup/cpu/cpu.cfs_quota_us",
        ])
        .ok();
    assert_eq!(out.stdout, "134217728\n77\n25000\n", "{out}");
    e.run(&["rm", "--force", &id]).ok();
}

/// Starts [`COUNTER`] detached with `flags`; returns its id once it has printed.
fn run_counter<E: Cli>(e: &E, flags: &[&str]) -> String {
    let id = run_detached(e, flags, &["sh", "-c", COUNTER]);
    wait_until("output", || logged_lines(e, &id) > 0);
    id
}

fn logged_lines<E: Cli>(e: &E, id: &str) -> usize {
    e.run(&["logs", id]).stdout.lines().count()
}

/// Pauses the [`COUNTER`] container `id`, checks that it is frozen, unpauses it.
fn pause_and_unpause<E: Cli>(e: &E, id: &str) {
    // `berth pause` freezes the cgroup; the engine reads the paused status back from `state`.
    e.run(&["pause", id]).ok();
    assert_status(e, id, "paused");
    assert_frozen_then_thawed(
        || logged_lines(e, id),
        || {
            e.run(&["unpause", id]).ok();
        },
    );
    assert_status(e, id, "running");
}

/// The memory limit is enforced: the kernel OOM-kills the container, and the engine sees it.
pub fn oom_kill<E: Cli>(e: &E) {
    let name = unique("oom");
    let out = e.run(&[
        "run",
        "--name",
        &name,
        "--network=none",
        "--memory=16m",
        "--memory-swap=16m",
        IMAGE,
        "sh",
        "-c",
        "x=0123456789abcdef; while true; do x=$x$x; done",
    ]);
    assert_eq!(out.code, 137, "{out}");
    let st = e
        .run(&["inspect", "-f", "{{.State.OOMKilled}}", &name])
        .ok();
    assert_eq!(st.stdout.trim(), "true", "{st}");
    e.run(&["rm", &name]).ok();
}
