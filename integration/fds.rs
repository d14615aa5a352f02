//! File descriptors: only stdio reaches the container, plus `--preserve-fds` and
//! systemd's LISTEN_FDS, as with runc.

use crate::common::*;
use std::process::Command;
use std::time::Duration;

/// `berth run` started from a shell that first opens fds 3 and 4 (not close-on-exec).
fn run_with_open_fds(berth: &Berth, b: &Bundle, id: &str, prefix: &str, extra: &[&str]) -> Output {
    b.write_config();
    let mut line = format!(
        "exec 3</etc/hostname 4</etc/passwd; {prefix} exec {} --root {} run",
        berth_bin().display(),
        berth.root().display()
    );
    for e in extra {
        line.push(' ');
        line.push_str(e);
    }
    line.push_str(&format!(" --bundle {} {id}", b.path_str()));
    let mut cmd = Command::new("sh");
    cmd.arg("-c").arg(line);
    run_command(cmd, Duration::from_secs(30))
}

fn fds_inside(out: &Output) -> Vec<String> {
    out.stdout.split_whitespace().map(String::from).collect()
}

#[test]
fn only_stdio_reaches_the_container() {
    let berth = Berth::new("fds-none");
    let mut b = Bundle::new("fds-none");
    // `; true` keeps the shell: `ls` alone would be exec'd and list its own dir fd.
    b.sh("ls /proc/$$/fd; true");
    let out = run_with_open_fds(&berth, &b, &berth.id("n"), "", &[]).ok();
    assert_eq!(fds_inside(&out), ["0", "1", "2"], "{out}");
}

#[test]
fn preserve_fds_passes_the_next_n() {
    let berth = Berth::new("fds-preserve");
    let mut b = Bundle::new("fds-preserve");
    b.sh("ls /proc/$$/fd; head -c 5 <&4");
    let out = run_with_open_fds(&berth, &b, &berth.id("p"), "", &["--preserve-fds", "2"]).ok();
    let got = fds_inside(&out);
    assert_eq!(&got[..5], ["0", "1", "2", "3", "4"], "{out}");
    // fd 4 is the caller's /etc/passwd, readable from inside.
    assert_eq!(got[5], "root:", "{out}");
}

/// With CAP_SYS_PTRACE in the bounding set berth re-executes itself from a read-only
/// copy after it has read the config (linux::trampoline): the passed fds, close-on-exec
/// by then, must survive that, and nothing else may reach the container.
#[test]
fn preserve_fds_survive_the_protective_reexec() {
    let berth = Berth::new("fds-reexec");
    let mut b = Bundle::new("fds-reexec");
    let mut bounding = b.config["process"]["capabilities"]["bounding"].clone();
    bounding
        .as_array_mut()
        .unwrap()
        .push("CAP_SYS_PTRACE".into());
    b.config["process"]["capabilities"]["bounding"] = bounding;
    b.sh("ls /proc/$$/fd; head -c 5 <&4");
    let out = run_with_open_fds(&berth, &b, &berth.id("r"), "", &["--preserve-fds", "2"]).ok();
    let got = fds_inside(&out);
    assert_eq!(&got[..5], ["0", "1", "2", "3", "4"], "{out}");
    assert_eq!(got[5], "root:", "{out}");
    b.sh("ls /proc/$$/fd; true");
    let out = run_with_open_fds(&berth, &b, &berth.id("s"), "", &[]).ok();
    assert_eq!(fds_inside(&out), ["0", "1", "2"], "{out}");
}

#[test]
fn listen_fds_pass_with_socket_activation_env() {
    let berth = Berth::new("fds-listen");
    let mut b = Bundle::new("fds-listen");
    b.sh("ls /proc/$$/fd; echo LISTEN_FDS=$LISTEN_FDS LISTEN_PID=$LISTEN_PID");
    // LISTEN_PID must name berth itself: `exec` keeps the shell's pid.
    let out = run_with_open_fds(
        &berth,
        &b,
        &berth.id("l"),
        "LISTEN_FDS=1 LISTEN_PID=$$",
        &[],
    )
    .ok();
    let got = fds_inside(&out);
    assert_eq!(&got[..4], ["0", "1", "2", "3"], "{out}");
    assert_eq!(got[4..], ["LISTEN_FDS=1", "LISTEN_PID=1"], "{out}");
}

#[test]
fn preserve_fds_beyond_the_open_ones_is_an_error() {
    let berth = Berth::new("fds-toomany");
    let mut b = Bundle::new("fds-toomany");
    b.args(&["true"]);
    let id = berth.id("t");
    let out = run_with_open_fds(&berth, &b, &id, "", &["--preserve-fds", "5"]);
    assert!(!out.success(), "{out}");
    let line = out.single_error_line();
    assert!(
        line.contains("--preserve-fds") && line.contains("fd 5"),
        "{line}"
    );
    assert!(
        berth.state_entries().is_empty(),
        "{:?}",
        berth.state_entries()
    );
}
