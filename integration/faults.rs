//! Faults from outside: a corrupt state.json, a `create` killed at any moment, and configs
//! at the edges (no process, huge values, a filter that denies everything, NULs, an empty
//! root path). Each ends in a clear error or a `delete --force` that leaves nothing.

use crate::cgroups_util::find_cgroups;
use crate::common::*;
use crate::errors::assert_clean_failure;
use serde_json::{json, Value};
use std::fs;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn create_failure(berth: &Berth, b: &Bundle, id: &str) -> String {
    let before = host_mounts();
    let out = berth.create(b, id);
    assert_clean_failure(berth, Some(b), id, &before, &out)
}

/// Nothing of container `id` is left: state dir, cgroup dirs, processes in the bundle.
fn assert_all_gone(berth: &Berth, b: &Bundle, id: &str) {
    assert!(
        !berth.root().join(id).exists(),
        "state dir of {id} left: {:?}",
        berth.state_entries()
    );
    assert_eq!(find_cgroups(id), Vec::<std::path::PathBuf>::new(), "{id}");
    assert_no_processes(b);
}

#[test]
fn corrupt_state_json_is_listed_and_deleted_with_everything() {
    let berth = Berth::new("fault-corrupt");
    let mut b = Bundle::new("fault-corrupt");
    b.args(&["sleep", "3600"]);
    let corruptions: [(&str, &[u8]); 3] = [
        ("trunc", b"{\"id\":\"x\",\"pid\":1"),
        ("invalid", b"this is not json"),
        ("empty", b""),
    ];
    for (name, content) in corruptions {
        let id = berth.id(name);
        berth.start_container(&b, &id);
        assert!(!find_cgroups(&id).is_empty(), "{id} has no cgroup");
        fs::write(berth.root().join(&id).join("state.json"), content).unwrap();

        let listed: Value = serde_json::from_str(&berth.list(&["-f", "json"]).ok().stdout).unwrap();
        let row = listed
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["id"] == id.as_str())
            .unwrap_or_else(|| panic!("{id} ({name}) missing from list: {listed}"));
        assert_eq!(row["status"], "stopped", "{name}: {row}");

        berth.delete_force(&id).ok();
        assert_all_gone(&berth, &b, &id);
    }
}

/// Whether `pid` is still there and not a zombie.
fn alive(pid: i32) -> bool {
    fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| s.rsplit(") ").next().map(|r| !r.starts_with('Z')))
        .unwrap_or(false)
}

/// A process as a failure message shows it: pid, state, what it waits in, its fds.
fn describe(pid: i32) -> String {
    let status = fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let state = status
        .lines()
        .find(|l| l.starts_with("State:"))
        .unwrap_or("");
    let wchan = fs::read_to_string(format!("/proc/{pid}/wchan")).unwrap_or_default();
    let fds: Vec<String> = fs::read_dir(format!("/proc/{pid}/fd"))
        .map(|rd| {
            rd.flatten()
                .map(|e| format!("{:?}", fs::read_link(e.path()).unwrap_or_default()))
                .collect()
        })
        .unwrap_or_default();
    format!("{pid} {state} wchan={wchan} fds={fds:?}")
}

#[test]
fn create_killed_at_any_moment_leaves_nothing_after_delete_force() {
    let berth = Berth::new("fault-kill");
    let mut b = Bundle::new("fault-kill");
    b.args(&["sleep", "3600"]);
    b.write_config();
    let mounts_before = host_mounts();
    // A cheap xorshift: the delays differ from run to run, and the seed is printed.
    let mut seed = std::process::id() as u64 ^ 0x9e37_79b9_7f4a_7c15;
    eprintln!("seed {seed:#x}");
    let t0 = Instant::now();
    for round in 0..30 {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let delay = Duration::from_micros(1000 + seed % 19_000);
        let id = berth.id(&format!("k{round}"));
        let mut child = berth
            .command()
            .args(["create", "--bundle", b.path_str(), &id])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(delay);
        let _ = child.kill();
        child.wait().unwrap();
        let dir = berth.root().join(&id);
        if dir.exists() && !dir.join("state.json").exists() {
            // Never recorded: whatever init there is must go by itself.
            let deadline = Instant::now() + Duration::from_secs(5);
            while b.processes().into_iter().any(alive) {
                assert!(
                    Instant::now() < deadline,
                    "round {round} ({delay:?}): an unrecorded init lives on: {:?}",
                    b.processes().into_iter().map(describe).collect::<Vec<_>>()
                );
                std::thread::sleep(Duration::from_millis(5));
            }
        }
        berth.delete_force(&id).ok();
        let left = find_cgroups(&id);
        assert!(
            left.is_empty(),
            "round {round} ({delay:?}): cgroups left: {left:?}"
        );
        assert!(!dir.exists(), "round {round} ({delay:?}): state dir left");
        assert_no_processes(&b);
    }
    assert_mounts_unchanged(&mounts_before);
    eprintln!("30 killed creates in {:?}", t0.elapsed());
}

#[test]
fn config_without_process_names_process() {
    let berth = Berth::new("fault-noproc");
    let mut b = Bundle::new("fault-noproc");
    b.config.as_object_mut().unwrap().remove("process");
    let line = create_failure(&berth, &b, &berth.id("np"));
    assert!(line.contains("process: missing"), "{line}");
}

#[test]
fn huge_sysctl_value_fails_with_the_kernels_error() {
    let berth = Berth::new("fault-sysctl");
    let mut b = Bundle::new("fault-sysctl");
    b.config["linux"]["sysctl"] = json!({"net.ipv4.ip_forward": "1".repeat(100_000)});
    let line = create_failure(&berth, &b, &berth.id("sy"));
    assert!(
        line.contains("linux.sysctl: net.ipv4.ip_forward="),
        "{line}"
    );
    assert!(line.ends_with("invalid argument"), "{line}");
    assert!(!line.contains("channel"), "{line}");
}

#[test]
fn big_annotation_reaches_the_hooks() {
    let berth = Berth::new("fault-annot");
    let logdir = TempDir::new("fault-annot-log");
    let mut b = Bundle::new("fault-annot");
    let big = "a".repeat(200_000);
    b.config["annotations"] = json!({"big": big});
    // createContainer runs in the init, with the state the init builds.
    let hook = |kind: &str| {
        let log = logdir.path().join(kind);
        json!({"path": "/bin/sh", "args": ["sh", "-c", format!("cat > {}", log.display())]})
    };
    b.config["hooks"] = json!({
        "createRuntime": [hook("createRuntime")],
        "createContainer": [hook("createContainer")],
    });
    let id = berth.id("an");
    berth.create(&b, &id).ok();
    for kind in ["createRuntime", "createContainer"] {
        let text = fs::read_to_string(logdir.path().join(kind)).unwrap();
        let state: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(
            state["annotations"]["big"].as_str().map(str::len),
            Some(200_000),
            "{kind}"
        );
        assert_eq!(state["id"], id.as_str(), "{kind}");
    }
    berth.delete_force(&id).ok();
}

#[test]
fn seccomp_denying_everything_names_linux_seccomp() {
    let berth = Berth::new("fault-seccomp");
    let mut b = Bundle::new("fault-seccomp");
    b.config["linux"]["seccomp"] = json!({"defaultAction": "SCMP_ACT_ERRNO"});
    let line = create_failure(&berth, &b, &berth.id("sc"));
    assert!(line.contains("linux.seccomp"), "{line}");
    assert!(line.contains("denies system calls"), "{line}");
}

#[test]
fn hostname_with_nul_is_rejected() {
    let berth = Berth::new("fault-hostnul");
    let mut b = Bundle::new("fault-hostnul");
    b.config["hostname"] = json!("bad\u{0}name");
    let line = create_failure(&berth, &b, &berth.id("hn"));
    assert!(line.contains("hostname"), "{line}");
}

#[test]
fn empty_root_path_is_rejected() {
    let berth = Berth::new("fault-rootempty");
    let mut b = Bundle::new("fault-rootempty");
    b.config["root"]["path"] = json!("");
    let line = create_failure(&berth, &b, &berth.id("re"));
    assert!(line.contains("root.path"), "{line}");
}

/// `make stress`'s script, short: a few containers through the whole lifecycle at once.
#[test]
fn short_stress_leaves_nothing_behind() {
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("integration/stress.sh");
    let mut cmd = Command::new("bash");
    cmd.arg(&script)
        .env("BERTH", berth_bin())
        .env("ROOTFS", rootfs_src())
        .env("N", "8")
        .env("M", "1");
    let out = run_command(cmd, Duration::from_secs(60)).ok();
    assert!(out.stdout.contains("stress: PASS"), "{out}");
}
