//! Failure paths: each fails with a non-zero exit and one stderr line naming the problem, and leaves no state, mount or process behind.

use crate::common::*;
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::fs;

/// Asserts a failed create left nothing behind, then that stderr is a single error line, and
/// returns that line. The leftovers are checked first so that a runtime with different error
/// wording still gets its cleanup verified.
pub fn assert_clean_failure(
    berth: &Berth,
    bundle: Option<&Bundle>,
    id: &str,
    mounts_before: &BTreeSet<String>,
    out: &Output,
) -> String {
    assert!(!out.success(), "expected failure: {out}");
    assert!(
        !berth.state_entries().iter().any(|e| e == id),
        "state left for {id}: {:?}",
        berth.state_entries()
    );
    berth.state(id).fails();
    assert_mounts_unchanged(mounts_before);
    if let Some(b) = bundle {
        assert_no_processes(b);
    }
    out.single_error_line()
}

fn create_failure(berth: &Berth, b: &Bundle, id: &str) -> String {
    let before = host_mounts();
    let out = berth.create(b, id);
    assert_clean_failure(berth, Some(b), id, &before, &out)
}

#[test]
fn missing_bundle_dir() {
    let berth = Berth::new("err-nobundle");
    let missing = std::env::temp_dir().join(unique("berth-it-no-such-bundle"));
    let id = berth.id("nb");
    let before = host_mounts();
    let out = berth.run(&["create", "--bundle", missing.to_str().unwrap(), &id]);
    let line = assert_clean_failure(&berth, None, &id, &before, &out);
    assert!(line.contains(missing.to_str().unwrap()), "{line}");
}

#[test]
fn missing_config_json() {
    let berth = Berth::new("err-noconfig");
    let b = Bundle::new("err-noconfig");
    let id = berth.id("nc");
    let before = host_mounts();
    let out = berth.run(&["create", "--bundle", b.path_str(), &id]);
    let line = assert_clean_failure(&berth, Some(&b), &id, &before, &out);
    assert!(line.contains("config.json"), "{line}");
}

#[test]
fn invalid_json_in_config() {
    let berth = Berth::new("err-badjson");
    let b = Bundle::new("err-badjson");
    fs::write(b.config_path(), "{ \"ociVersion\": \"1.0.2\", oops }").unwrap();
    let id = berth.id("bj");
    let before = host_mounts();
    let out = berth.run(&["create", "--bundle", b.path_str(), &id]);
    let line = assert_clean_failure(&berth, Some(&b), &id, &before, &out);
    assert!(line.contains("config.json"), "{line}");
}

#[test]
fn missing_rootfs() {
    let berth = Berth::new("err-norootfs");
    let mut b = Bundle::new("err-norootfs");
    b.config["root"]["path"] = json!("no-such-rootfs");
    let id = berth.id("nr");
    let line = create_failure(&berth, &b, &id);
    assert!(
        line.contains("root.path") || line.contains("no-such-rootfs"),
        "{line}"
    );
}

#[test]
fn executable_not_found() {
    let berth = Berth::new("err-noexec");
    let mut b = Bundle::new("err-noexec");
    b.args(&["nope"]);
    let id = berth.id("ne");
    let line = create_failure(&berth, &b, &id);
    assert!(line.contains("nope"), "{line}");
    assert!(line.contains("not found"), "{line}");
}

#[test]
fn executable_not_found_with_run() {
    let berth = Berth::new("err-noexec-run");
    let mut b = Bundle::new("err-noexec-run");
    b.args(&["/bin/nope"]);
    let id = berth.id("nr");
    let before = host_mounts();
    let out = berth.run_bundle(&b, &id, &[]);
    let line = assert_clean_failure(&berth, Some(&b), &id, &before, &out);
    assert!(line.contains("/bin/nope"), "{line}");
}

#[test]
fn sysctl_kernel_hostname_conflicts_with_hostname() {
    let berth = Berth::new("err-sysctl-host");
    let mut b = Bundle::new("err-sysctl-host");
    b.config["linux"]["sysctl"] = json!({"kernel.hostname": "other"});
    let id = berth.id("sh");
    let line = create_failure(&berth, &b, &id);
    assert!(
        line.contains("linux.sysctl") && line.contains("\"hostname\""),
        "{line}"
    );
}

#[test]
fn unknown_mount_type() {
    let berth = Berth::new("err-mounttype");
    let mut b = Bundle::new("err-mounttype");
    b.add_mount(json!({
        "destination": "/mnt/x",
        "type": "nosuchfs",
        "source": "none",
        "options": ["nosuid"]
    }));
    let id = berth.id("mt");
    let line = create_failure(&berth, &b, &id);
    assert!(line.contains("nosuchfs"), "{line}");
}

#[test]
fn bind_mount_of_missing_source() {
    let berth = Berth::new("err-bindsrc");
    let mut b = Bundle::new("err-bindsrc");
    let missing = std::env::temp_dir().join(unique("berth-it-no-such-src"));
    b.add_mount(json!({
        "destination": "/mnt/x",
        "type": "bind",
        "source": missing.to_str().unwrap(),
        "options": ["bind"]
    }));
    let id = berth.id("bs");
    let line = create_failure(&berth, &b, &id);
    assert!(line.contains(missing.to_str().unwrap()), "{line}");
}

#[test]
fn join_missing_namespace_path() {
    let berth = Berth::new("err-nsjoin");
    let mut b = Bundle::new("err-nsjoin");
    let missing = std::env::temp_dir().join(unique("berth-it-no-such-ns"));
    let missing = format!("{}/net", missing.display());
    b.join_namespace("network", &missing);
    let id = berth.id("nj");
    let line = create_failure(&berth, &b, &id);
    assert!(line.contains(&missing), "{line}");
}

#[test]
fn existing_id() {
    let berth = Berth::new("err-dupid");
    let mut first = Bundle::new("err-dupid-1");
    first.args(&["sleep", "3600"]);
    let mut second = Bundle::new("err-dupid-2");
    second.args(&["sleep", "3600"]);
    let id = berth.id("dup");
    berth.create(&first, &id).ok();
    let pid = berth.pid(&id);
    let before = host_mounts();
    let out = berth.create(&second, &id);
    assert!(!out.success(), "{out}");
    assert_mounts_unchanged(&before);
    assert_no_processes(&second);
    let st = berth.state_json(&id);
    assert_eq!(st["status"], "created");
    assert_eq!(st["pid"].as_i64(), Some(pid as i64));
    let line = out.single_error_line();
    assert!(line.contains("exists"), "{line}");
    berth.delete_force(&id).ok();
}

#[test]
fn invalid_id() {
    let berth = Berth::new("err-badid");
    let b = Bundle::new("err-badid");
    b.write_config();
    let before = host_mounts();
    let out = berth.run(&["create", "--bundle", b.path_str(), "../escape"]);
    assert!(!out.success(), "{out}");
    assert!(
        berth.state_entries().is_empty(),
        "{:?}",
        berth.state_entries()
    );
    assert_mounts_unchanged(&before);
    assert_no_processes(&b);
    let line = out.single_error_line();
    assert!(line.to_lowercase().contains("id"), "{line}");
}

#[test]
fn start_running_container() {
    let berth = Berth::new("err-startrun");
    let mut b = Bundle::new("err-startrun");
    b.args(&["sleep", "3600"]);
    let id = berth.id("sr");
    berth.start_container(&b, &id);
    let out = berth.start(&id).fails();
    out.single_error_line();
    assert_eq!(berth.status(&id).as_deref(), Some("running"));
    berth.delete_force(&id).ok();
}

#[test]
fn start_stopped_container() {
    let berth = Berth::new("err-startstop");
    let b = Bundle::new("err-startstop");
    let id = berth.id("ss");
    berth.create(&b, &id).ok();
    berth.start(&id).ok();
    berth.wait_status(&id, "stopped");
    let out = berth.start(&id).fails();
    out.single_error_line();
    assert_eq!(berth.status(&id).as_deref(), Some("stopped"));
    berth.delete(&id).ok();
}

#[test]
fn delete_running_without_force() {
    let berth = Berth::new("err-delrun");
    let mut b = Bundle::new("err-delrun");
    b.args(&["sleep", "3600"]);
    let id = berth.id("dr");
    berth.start_container(&b, &id);
    let out = berth.delete(&id).fails();
    out.single_error_line();
    assert_eq!(berth.status(&id).as_deref(), Some("running"));
    berth.delete_force(&id).ok();
}

#[test]
fn unknown_container() {
    let berth = Berth::new("err-unknown");
    let id = berth.id("ghost");
    for args in [
        vec!["state", id.as_str()],
        vec!["start", id.as_str()],
        vec!["kill", id.as_str(), "KILL"],
        vec!["delete", id.as_str()],
    ] {
        let out = berth.run(&args).fails();
        out.single_error_line();
    }
}

#[test]
fn log_file_in_json_format() {
    let berth = Berth::new("err-logjson");
    let mut b = Bundle::new("err-logjson");
    b.args(&["nope"]);
    b.write_config();
    let logdir = TempDir::new("logjson");
    let log = logdir.path().join("berth.log");
    let id = berth.id("lj");
    let out = berth.run_global(
        &["--log", log.to_str().unwrap(), "--log-format", "json"],
        &["create", "--bundle", b.path_str(), &id],
    );
    assert!(!out.success(), "{out}");
    assert_no_processes(&b);
    let text = fs::read_to_string(&log).unwrap_or_else(|e| panic!("no log file ({e}): {out}"));
    let entries: Vec<Value> = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            serde_json::from_str(l).unwrap_or_else(|e| panic!("log line {l:?} is not JSON: {e}"))
        })
        .collect();
    let err = entries
        .iter()
        .find(|e| e["level"] == "error")
        .unwrap_or_else(|| panic!("no error entry in {text}"));
    let msg = err["msg"].as_str().expect("msg is a string");
    assert!(msg.contains("nope"), "{msg}");
    assert!(err["time"].as_str().is_some_and(|t| !t.is_empty()), "{err}");
}

#[test]
fn rlimit_above_the_hard_limit() {
    let berth = Berth::new("err-rlimit");
    let mut b = Bundle::new("err-rlimit");
    // Nothing here may raise a hard limit (no CAP_SYS_RESOURCE): ask for more than ours.
    let hard = String::from_utf8(
        std::process::Command::new("sh")
            .args(["-c", "ulimit -Hn"])
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    let above: u64 = hard.trim().parse::<u64>().unwrap() + 1;
    b.config["process"]["rlimits"] =
        json!([{"type": "RLIMIT_NOFILE", "hard": above, "soft": above}]);
    let line = create_failure(&berth, &b, &berth.id("r"));
    assert!(
        line.contains("RLIMIT_NOFILE") && line.contains("operation not permitted"),
        "{line}"
    );
}
