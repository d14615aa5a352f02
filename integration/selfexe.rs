//! The berth binary cannot be overwritten through a container's /proc/PID/exe
//! (the CVE-2019-5736 attack): the link only ever leads to a read-only mount.

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
