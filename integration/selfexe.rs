//! The berth binary cannot be overwritten through a container's /proc/PID/exe
//! (the CVE-2019-5736 attack): an ordinary container never reaches a link to it, and for
//! one that could (CAP_SYS_PTRACE) the link only ever leads to a read-only mount, which
//! not even a privileged container can make writable. `selfexe_attack.c` is the
//! privileged container's side.

use crate::common::*;
use std::fs;
use std::process::Command;
use std::time::Duration;

/// The attack from inside an ordinary container (no CAP_SYS_PTRACE, its own PID
/// namespace), where berth does not re-execute itself but execs the container's
/// process through its sealed trampoline (linux::trampoline): the created init, still
/// running berth, is out of reach of a process `exec` adds (it is not dumpable), and
/// /proc/self/exe at the container's execve is the trampoline, not berth.
#[test]
fn container_cannot_reach_the_runtime_binary() {
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
    // What a process in the container could try while the init waits for `start`.
    let link = run(&["exec", &id, "readlink", "/proc/1/exe"]);
    let read = run(&["exec", &id, "head", "-c", "4", "/proc/1/exe"]);
    // Gone before any assertion can fail: its cgroup must not outlive the test.
    run(&["delete", "--force", &id]).ok();
    assert!(link.code != 0 && link.stdout.is_empty(), "{link}");
    assert!(
        read.code != 0 && read.stderr.contains("ermission denied"),
        "{read}"
    );

    // A container whose process is /proc/self/exe runs the trampoline again, never berth:
    // here it tries to exec "--version" and says so.
    let mut b = Bundle::new("selfexe-self");
    b.args(&["/proc/self/exe", "--version"]);
    b.write_config();
    let out = run(&["run", "--bundle", b.path_str(), &unique("self")]);
    assert_eq!(out.code, 127, "{out}");
    assert!(!out.stdout.contains("version"), "{out}");
    assert!(
        out.stderr
            .contains("berth: exec \"--version\": no such file or directory"),
        "{out}"
    );
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

/// When the trampoline's own execve of the container's process fails (a file marked
/// executable that is no program), the container's stderr says so in berth's words and
/// the process ends with 127, as when the init made that execve itself.
#[test]
fn a_failed_execve_through_the_trampoline_reads_as_before() {
    let berth = Berth::new("selfexe-enoexec");
    let (mut b, _dir) = with_a_non_program("selfexe-enoexec");
    b.args(&["/not-a-program"]);
    b.write_config();
    let out = berth.run_bundle(&b, &berth.id("e"), &[]);
    assert_eq!(out.code, 127, "{out}");
    assert!(
        out.stderr
            .contains("berth: exec \"/not-a-program\": exec format error"),
        "{out}"
    );
}

/// `exec` into a container whose init went through the trampoline goes through it too:
/// /proc/self/exe of the exec'd process at its execve is the trampoline, not berth.
/// Once a process that may hold CAP_SYS_PTRACE has been exec'd (it could reach later
/// exec'd children), berth re-executes itself from a read-only copy for every later
/// `exec`: the same probe then runs berth, from that copy.
#[test]
fn exec_goes_through_the_trampoline_until_ptrace_may_reach_it() {
    let berth = Berth::new("selfexe-exec");
    let mut b = Bundle::new("selfexe-exec");
    b.args(&["sleep", "3600"]);
    let id = berth.id("x");
    berth.start_container(&b, &id);
    let out = berth.run(&["exec", &id, "/proc/self/exe", "--version"]);
    assert_eq!(out.code, 127, "{out}");
    assert!(!out.stdout.contains("version"), "{out}");
    assert!(out.stderr.contains("berth: exec \"--version\""), "{out}");
    berth
        .run(&["exec", "--cap", "CAP_SYS_PTRACE", &id, "true"])
        .ok();
    let out = berth
        .run(&["exec", &id, "/proc/self/exe", "--version"])
        .ok();
    assert!(out.stdout.contains("version"), "{out}");
    berth.delete_force(&id).ok();
}

/// A failed execve behind the trampoline still fails `exec` with runc's words and 255
/// (the trampoline reports errno and path on its status pipe).
#[test]
fn exec_reports_a_failed_execve_through_the_trampoline() {
    let berth = Berth::new("selfexe-exec-enoexec");
    let (mut b, _dir) = with_a_non_program("selfexe-exec-enoexec");
    b.args(&["sleep", "3600"]);
    let id = berth.id("x");
    berth.start_container(&b, &id);
    let out = berth.run(&["exec", &id, "/not-a-program"]);
    assert_eq!(out.code, 255, "{out}");
    assert!(
        out.single_error_line().contains(
            "exec failed: unable to start container process: exec \"/not-a-program\": exec format error"
        ),
        "{out}"
    );
    berth.delete_force(&id).ok();
}

/// A bundle with /not-a-program: a file marked executable that is no program (the
/// kernel's execve fails with ENOEXEC); the directory holding it goes with the guard.
fn with_a_non_program(name: &str) -> (Bundle, TempDir) {
    let dir = TempDir::new(name);
    let bad = dir.path().join("not-a-program");
    fs::write(&bad, "no program at all\n").unwrap();
    std::fs::set_permissions(&bad, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let mut b = Bundle::new(name);
    b.add_mount(serde_json::json!({
        "destination": "/not-a-program", "type": "bind",
        "source": bad.to_str().unwrap(), "options": ["bind", "ro"],
    }));
    (b, dir)
}
