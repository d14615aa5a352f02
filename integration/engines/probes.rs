//! What the containers run in every engine's scenarios (shell probes), and the assertions
//! on their output that all engines share.

use crate::common::{wait_until, Output};
use std::thread;
use std::time::Duration;

/// A script that waits to be stopped and exits 0 on SIGTERM, printing that it got it.
/// (A plain `sleep` as PID 1 would ignore SIGTERM: PID 1 gets no default signal actions.)
pub const TERM_AWARE: &str =
    "trap 'echo got-term; exit 0' TERM; echo ready; while true; do sleep 0.1; done";

/// A script for `-t` containers: waits until the engine has applied the window size (engines
/// resize the pty asynchronously after start), then reports what the container sees.
pub const TTY_PROBE: &str =
    "i=0; until [ \"$(stty size 2>/dev/null)\" = '24 80' ] || [ $i -ge 50 ]; \
     do sleep 0.1; i=$((i+1)); done; tty; stty size; test -t 0 && echo stdin-tty; exit 5";

/// What is typed into an interactive shell on a terminal; see [`assert_typed`].
pub const TYPED: &str = "echo typed-$((6*7)); exit 7\n";

/// Prints a growing counter, so a test can see whether the container is running or frozen.
pub const COUNTER: &str = "i=0; while true; do i=$((i+1)); echo $i; sleep 0.1; done";

/// Prints memory limit, pids limit and cpu quota as the container sees them (cgroup v1 here),
/// then forks past a pids limit of 8: busybox sh reports "can't fork" and gives up with 2.
pub const PIDS_PROBE: &str = "cat /sys/fs/cgroup/memory/memory.limit_in_bytes \
     /sys/fs/cgroup/pids/pids.max /sys/fs/cgroup/cpu/cpu.cfs_quota_us; \
     for i in 1 2 3 4 5 6 7 8 9 10 11 12; do sleep 1 & done; wait";

/// Prints user, working dir and env, and whether the rootfs is writable (tried in the berth
/// user's home, which both root and uid 1000 may write to unless the rootfs is read-only).
pub const IDENTITY_PROBE: &str = "id; pwd; echo FOO=$FOO BAR=$BAR; \
     touch /home/berth/.probe 2>/dev/null && echo rootfs-rw || echo rootfs-ro";

/// `id` of the image's user "berth" (uid 1000), with its group list.
pub const BERTH_ID: &str = "uid=1000(berth) gid=1000(berth) groups=1000(berth)\n";

/// What [`IDENTITY_PROBE`] prints up to the rootfs check in `USER_IMAGE`, whose config sets
/// USER, WORKDIR and FOO.
pub const USER_IMAGE_IDENTITY: &str =
    "uid=1000(berth) gid=1000(berth) groups=1000(berth)\n/home/berth\nFOO=from-image BAR=\n";

/// Checks the result of a script that echoed "out", then "err" to stderr, and exited 3.
pub fn assert_out_err_exit_3(out: &Output, stdout: &str) {
    assert_eq!(out.code, 3, "{out}");
    assert_eq!(out.stdout, stdout, "{out}");
    assert!(out.stderr.contains("err"), "{out}");
}

/// Checks the result of [`TTY_PROBE`]: the process got the pty, its size and a terminal stdin.
pub fn assert_tty_probe(out: &Output) {
    assert_eq!(out.code, 5, "{out}");
    assert!(out.stdout.contains("/dev/pts/0\n24 80\nstdin-tty"), "{out}");
}

/// Checks that [`TYPED`] reached the container's shell and its exit code came back.
pub fn assert_typed(out: &Output) {
    assert_eq!(out.code, 7, "{out}");
    assert!(out.stdout.contains("typed-42"), "{out}");
}

/// Checks the result of [`PIDS_PROBE`] run with limits of 64M memory, 8 pids and half a cpu,
/// after a script that printed `before`.
pub fn assert_limits_enforced(out: &Output, before: &str) {
    assert_eq!(out.code, 2, "{out}");
    assert_eq!(out.stdout, format!("{before}67108864\n8\n50000\n"), "{out}");
    assert!(
        out.stderr.contains("can't fork"),
        "pids limit not enforced: {out}"
    );
}

/// Asserts, through `lines` (how many lines the container has printed so far), that a paused
/// container makes no progress and a resumed one does.
pub fn assert_frozen_then_thawed(mut lines: impl FnMut() -> usize, resume: impl FnOnce()) {
    // A write already under way when the freeze came may still land: measure after a beat.
    thread::sleep(Duration::from_millis(300));
    let frozen = lines();
    thread::sleep(Duration::from_millis(700));
    assert_eq!(lines(), frozen, "a paused container kept printing");
    resume();
    wait_until("the resumed container to print again", || lines() > frozen);
}
