//! `berth run` in the foreground forwards the signals it gets to the container's init.

use crate::common::*;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn forwards(sig: i32, name: &str, code: i32) {
    let berth = Berth::new(&format!("sig-{name}"));
    let mut b = Bundle::new(&format!("sig-{name}"));
    // pid 1 ignores signals it has no handler for, so the trap is what proves delivery.
    b.sh(&format!(
        "trap 'exit {code}' {name}; echo ready; while :; do sleep 0.05; done"
    ));
    b.write_config();
    let id = berth.id("s");
    let mut child = Command::new(berth_bin())
        .arg("--root")
        .arg(berth.root())
        .args(["run", "--bundle", b.path_str(), &id])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert_eq!(line, "ready\n");
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::try_from(sig).unwrap(),
    )
    .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(
            Instant::now() < deadline,
            "berth run did not exit after {name}"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(status.code(), Some(code), "{name}");
    assert!(
        berth.state_entries().is_empty(),
        "{:?}",
        berth.state_entries()
    );
}

#[test]
fn run_forwards_sigterm() {
    forwards(libc::SIGTERM, "TERM", 43);
}

#[test]
fn run_forwards_sigusr1() {
    forwards(libc::SIGUSR1, "USR1", 44);
}

#[test]
fn run_forwards_sighup() {
    forwards(libc::SIGHUP, "HUP", 45);
}
