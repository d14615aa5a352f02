//! berth's own start-up (a C `main` in place of Rust's runtime): closed fds 0-2 become
//! /dev/null, so no file berth opens is written to as output, and SIGPIPE is ignored, so
//! a reader that has gone is an error berth reports, not a silent death.

use crate::common::*;
use serde_json::Value;
use std::fs;
use std::io::Read;
use std::os::fd::{FromRawFd, OwnedFd};
use std::os::unix::process::ExitStatusExt;
use std::process::{Command, Stdio};

/// Runs berth with fds 0-2 closed: a shell closes them, then execs berth.
fn closed_stdio(berth: &Berth, args: &[&str]) -> Output {
    let mut cmd = Command::new("sh");
    cmd.arg("-c")
        .arg("exec 0<&- 1>&- 2>&-; exec \"$0\" \"$@\"")
        .arg(berth_bin())
        .arg("--root")
        .arg(berth.root())
        .args(args);
    run_command(cmd, CMD_TIMEOUT)
}

/// Where a process's fd points, as the host sees it.
fn fd_target(pid: i32, fd: i32) -> String {
    fs::read_link(format!("/proc/{pid}/fd/{fd}"))
        .map(|p| p.display().to_string())
        .unwrap_or_else(|e| format!("({e})"))
}

#[test]
fn closed_stdio_is_dev_null_for_berth_and_the_container() {
    let berth = Berth::new("closed-stdio");
    let mut b = Bundle::new("closed-stdio");
    // Output the container must not be able to put into any of berth's files.
    b.sh("echo MARK-OUT; echo MARK-ERR >&2; exec sleep 100");
    b.write_config();
    let id = berth.id("c");
    let log = b.path().join("berth.log");
    let pid_file = b.path().join("pid");
    let global = [
        "--log",
        log.to_str().unwrap(),
        "--log-format",
        "json",
        "--debug",
    ];
    let with = |args: &[&str]| {
        let mut all = global.to_vec();
        all.extend_from_slice(args);
        closed_stdio(&berth, &all)
    };
    let out = with(&[
        "create",
        "--bundle",
        b.path_str(),
        "--pid-file",
        pid_file.to_str().unwrap(),
        &id,
    ]);
    assert_eq!(out.code, 0, "create with fds 0-2 closed: {out}");
    assert_eq!(with(&["start", &id]).code, 0, "start");
    assert_eq!(with(&["state", &id]).code, 0, "state");
    assert_eq!(with(&["list"]).code, 0, "list");
    let st = berth.wait_status(&id, "running");
    let pid = st["pid"].as_i64().unwrap() as i32;
    wait_until("the container to exec sleep", || {
        fs::read_to_string(format!("/proc/{pid}/comm")).is_ok_and(|c| c.trim() == "sleep")
    });
    // The container's stdio is berth's, which was /dev/null.
    for fd in 0..3 {
        assert_eq!(
            fd_target(pid, fd),
            "/dev/null",
            "container fd {fd}: {:?}",
            fs::read_dir(format!("/proc/{pid}/fd"))
                .map(|d| d.flatten().map(|e| e.file_name()).collect::<Vec<_>>())
        );
    }
    assert_eq!(fs::read_to_string(&pid_file).unwrap(), pid.to_string());
    let state = fs::read_to_string(berth.root().join(&id).join("state.json")).unwrap();
    let v: Value = serde_json::from_str(&state)
        .unwrap_or_else(|e| panic!("state.json is not JSON ({e}): {state:?}"));
    assert_eq!(v["id"], id.as_str(), "{state}");
    assert_eq!(with(&["kill", &id, "KILL"]).code, 0, "kill");
    berth.wait_status(&id, "stopped");
    assert_eq!(with(&["delete", &id]).code, 0, "delete");
    assert!(
        berth.state_entries().is_empty(),
        "{:?}",
        berth.state_entries()
    );
    // The log got berth's debug lines, each one JSON, and nothing of the container's.
    let text = fs::read_to_string(&log).unwrap();
    assert!(!text.trim().is_empty(), "no log lines with --debug");
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let v: Result<Value, _> = serde_json::from_str(line);
        assert!(v.is_ok(), "log line is not JSON: {line:?}\n{text}");
    }
    assert!(
        !text.contains("MARK"),
        "container output in the log: {text}"
    );
}

#[test]
fn closed_stdio_run_keeps_the_exit_code() {
    let berth = Berth::new("closed-run");
    let mut b = Bundle::new("closed-run");
    // Exit 7 only with stdio open, on a character device (/dev/null).
    b.sh(
        "for fd in 0 1 2; do [ -c /proc/$$/fd/$fd ] || exit 9; done; \
          echo MARK-OUT; echo MARK-ERR >&2; exit 7",
    );
    b.write_config();
    let id = berth.id("r");
    let log = b.path().join("berth.log");
    let out = closed_stdio(
        &berth,
        &[
            "--log",
            log.to_str().unwrap(),
            "run",
            "--bundle",
            b.path_str(),
            &id,
        ],
    );
    assert_eq!(out.code, 7, "{out}");
    let text = fs::read_to_string(&log).unwrap_or_default();
    assert!(
        !text.contains("MARK"),
        "container output in the log: {text}"
    );
    assert!(
        berth.state_entries().is_empty(),
        "{:?}",
        berth.state_entries()
    );
}

/// Runs berth with stdout the write end of a pipe whose read end is already closed.
/// Returns (exit code or 128+signal, stderr).
fn into_closed_pipe(berth: &Berth, args: &[&str]) -> (i32, String) {
    let mut fds = [0; 2];
    assert_eq!(unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) }, 0);
    let (r, w) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
    drop(r);
    let mut cmd = berth.command();
    cmd.args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::from(w))
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("spawn berth");
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    let st = child.wait().unwrap();
    let code = st.code().unwrap_or_else(|| 128 + st.signal().unwrap_or(0));
    (code, err)
}

#[test]
fn closed_pipe_is_an_error_not_a_death() {
    let berth = Berth::new("sigpipe");
    let mut b = Bundle::new("sigpipe");
    b.args(&["sleep", "100"]);
    let id = berth.id("p");
    berth.create(&b, &id).ok();
    for args in [
        vec!["list"],
        vec!["list", "-q"],
        vec!["list", "--format", "json"],
        vec!["ps", &id],
    ] {
        let (code, err) = into_closed_pipe(&berth, &args);
        assert_ne!(code, 128 + libc::SIGPIPE, "{args:?} died of SIGPIPE");
        assert_eq!(code, 1, "{args:?}: {err}");
        let lines: Vec<&str> = err.lines().filter(|l| !l.trim().is_empty()).collect();
        assert_eq!(lines.len(), 1, "{args:?}: {err}");
        assert!(
            lines[0].to_lowercase().contains("broken pipe"),
            "{args:?}: {err}"
        );
    }
    // `events` ends quietly once its reader has gone.
    let (code, err) = into_closed_pipe(&berth, &["events", "--stats", &id]);
    assert_eq!(code, 0, "events --stats: {err}");
}
