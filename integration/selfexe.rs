//! The berth binary cannot be overwritten through a container's /proc/PID/exe
//! (the CVE-2019-5736 attack): the link only ever leads to a read-only mount, which
//! not even a privileged container can make writable. `selfexe_attack.c` is the
//! privileged container's side.

use crate::common::*;
use std::fs;
use std::os::fd::AsRawFd;
use std::os::unix::fs::OpenOptionsExt;
use std::process::Command;
use std::time::Duration;

#[test]
fn container_cannot_reopen_the_runtime_binary_for_writing() {
    // Attack a private copy, so a failure here cannot corrupt the binary other tests use.
    let dir = TempDir::new("selfexe");
    let victim = dir.path().join("berth-victim");
    fs::copy(berth_bin(), &victim).unwrap();
    let root = dir.path().join("state");
    let mut b = Bundle::new("selfexe");
    b.args(&["sleep", "3600"]);
    b.write_config();
    let id = unique("victim");
    let run = |args: &[&str]| {
        let mut cmd = Command::new(&victim);
        cmd.arg("--root").arg(&root).args(args);
        run_command(cmd, Duration::from_secs(30))
    };
    run(&["create", "--bundle", b.path_str(), &id]).ok();
    let state: serde_json::Value = serde_json::from_str(&run(&["state", &id]).ok().stdout).unwrap();
    let pid = state["pid"].as_i64().unwrap();

    // What a process in the container could do: hold the init's exe link...
    let exe = fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_PATH)
        .open(format!("/proc/{pid}/exe"))
        .unwrap();
    run(&["delete", "--force", &id]).ok();
    // ...and reopen it for writing once berth is gone.
    let err = fs::OpenOptions::new()
        .write(true)
        .open(format!("/proc/self/fd/{}", exe.as_raw_fd()))
        .expect_err("the runtime binary must not be writable through /proc/PID/exe");
    assert_eq!(err.raw_os_error(), Some(libc::EROFS), "{err}");
    assert_eq!(fs::read(&victim).unwrap(), fs::read(berth_bin()).unwrap());
}

/// A privileged container (CAP_SYS_ADMIN and CAP_SYS_PTRACE, no user namespace) sees the
/// init of a created container as its pid 1, still running berth: it takes that exe link,
/// tries to make the mount it leads to writable (mount_setattr(2), a bind remount, a
/// writable open_tree(2) clone), and reopens the binary for writing once the init has
/// exec'd. The read-only flag holds only because the detached mount has left its
/// anonymous mount namespace by then (the open_tree fd closed at the re-exec): were that
/// fd inherited, mount_setattr would clear the flag, and this test fails.
#[test]
fn privileged_container_cannot_make_the_runtime_binary_writable() {
    let dir = TempDir::new("selfexe-priv");
    let victim = dir.path().join("berth-victim");
    fs::copy(berth_bin(), &victim).unwrap();
    let root = dir.path().join("state");
    let mut b = Bundle::new("selfexe-priv");
    b.readonly(false);
    let caps = serde_json::json!(["CAP_SYS_ADMIN", "CAP_SYS_PTRACE", "CAP_KILL"]);
    for set in ["bounding", "effective", "permitted"] {
        b.config["process"]["capabilities"][set] = caps.clone();
    }
    b.args(&["sleep", "3600"]);
    b.write_config();
    let attack = b.rootfs().join("selfexe-attack");
    let src = concat!(env!("CARGO_MANIFEST_DIR"), "/integration/selfexe_attack.c");
    let gcc = Command::new("gcc")
        .args(["-static", "-O2", "-o"])
        .arg(&attack)
        .arg(src)
        .status()
        .expect("gcc");
    assert!(gcc.success(), "gcc {src}");
    let id = unique("victim");
    let run = |args: &[&str]| {
        let mut cmd = Command::new(&victim);
        cmd.arg("--root").arg(&root).args(args);
        run_command(cmd, Duration::from_secs(30))
    };
    run(&["create", "--bundle", b.path_str(), &id]).ok();
    let out = "/selfexe-attack.out";
    run(&["exec", "-d", &id, "/selfexe-attack", "/proc/1/exe", out]).ok();
    let report = b.rootfs().join(out.trim_start_matches('/'));
    // The attacker has its fd and has tried mount_setattr before the init goes away.
    wait_for(|| fs::read_to_string(&report).is_ok_and(|s| s.contains("waiting")));
    run(&["start", &id]).ok();
    wait_for(|| fs::read_to_string(&report).is_ok_and(|s| s.contains("result:")));
    let report = fs::read_to_string(&report).unwrap();
    run(&["delete", "--force", &id]).ok();
    let result = report.lines().last().unwrap_or_default();
    assert_eq!(result, "result: Read-only file system", "{report}");
    assert_eq!(fs::read(&victim).unwrap(), fs::read(berth_bin()).unwrap());
}

fn wait_for(done: impl Fn() -> bool) {
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while !done() {
        assert!(std::time::Instant::now() < deadline, "timed out");
        std::thread::sleep(Duration::from_millis(20));
    }
}
