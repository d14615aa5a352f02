//! The container process: args, exit codes, env, cwd, user/groups, umask, PATH lookup, stdio.

use crate::common::*;
use serde_json::json;
use std::collections::BTreeSet;

fn status_ids(status: &str, key: &str) -> Vec<String> {
    status
        .lines()
        .find(|l| l.starts_with(key))
        .unwrap_or_else(|| panic!("no {key} in {status}"))
        .split_whitespace()
        .skip(1)
        .map(str::to_string)
        .collect()
}

#[test]
fn args_are_passed_verbatim() {
    let berth = Berth::new("proc-args");
    let mut b = Bundle::new("proc-args");
    b.args(&["printf", "%s|", "a b", "", "c'd\"e", "$HOME"]);
    assert_eq!(berth.output_of(&b), "a b||c'd\"e|$HOME|");
}

#[test]
fn exit_codes_are_propagated() {
    let berth = Berth::new("proc-exit");
    for code in [0, 1, 7, 42, 255] {
        let mut b = Bundle::new("proc-exit");
        b.sh(&format!("exit {code}"));
        let (got, _, stderr) = berth.run_container(&b, &berth.id("run"));
        assert_eq!(got, code, "stderr: {stderr}");
    }
    let mut b = Bundle::new("proc-exit-false");
    b.args(&["false"]);
    assert_eq!(berth.run_container(&b, &berth.id("run")).0, 1);
}

#[test]
fn env_is_set() {
    let berth = Berth::new("proc-env");
    let mut b = Bundle::new("proc-env");
    b.config["process"]["env"] = json!([
        "PATH=/usr/sbin:/usr/bin:/sbin:/bin",
        "FOO=bar",
        "WITH_SPACE=a b c",
        "EQUALS=x=y",
        "EMPTY="
    ]);
    b.args(&["env"]);
    let out = berth.output_of(&b);
    let lines: BTreeSet<&str> = out.lines().collect();
    for want in [
        "FOO=bar",
        "WITH_SPACE=a b c",
        "EQUALS=x=y",
        "EMPTY=",
        "PATH=/usr/sbin:/usr/bin:/sbin:/bin",
    ] {
        assert!(lines.contains(want), "missing {want:?} in {out}");
    }
    // Nothing of the caller's environment leaks in.
    assert!(!out.contains("CARGO"), "host env leaked: {out}");
}

#[test]
fn cwd_is_set() {
    let berth = Berth::new("proc-cwd");
    let mut b = Bundle::new("proc-cwd");
    b.config["process"]["cwd"] = json!("/tmp");
    b.args(&["pwd"]);
    assert_eq!(berth.output_of(&b), "/tmp\n");
}

#[test]
fn missing_cwd_is_created() {
    let berth = Berth::new("proc-cwd-new");
    let mut b = Bundle::new("proc-cwd-new");
    b.readonly(false);
    b.config["process"]["cwd"] = json!("/does/not/exist");
    b.args(&["pwd"]);
    assert_eq!(berth.output_of(&b), "/does/not/exist\n");
    assert!(b.rootfs().join("does/not/exist").is_dir());
}

/// runc changes into process.cwd before it drops privileges (and again after, if root
/// was refused): a non-root process may start in a directory it could not enter itself,
/// and in one only it may enter.
#[test]
fn cwd_is_entered_before_and_if_needed_after_dropping_privileges() {
    let berth = Berth::new("proc-cwd-priv");
    let mut b = Bundle::new("proc-cwd-priv");
    b.readonly(false);
    let locked = b.rootfs().join("locked/inner");
    std::fs::create_dir_all(&locked).unwrap();
    std::fs::set_permissions(
        b.rootfs().join("locked"),
        std::os::unix::fs::PermissionsExt::from_mode(0o700),
    )
    .unwrap();
    b.config["process"]["user"] = json!({"uid": 1000, "gid": 1000});
    b.config["process"]["cwd"] = json!("/locked/inner");
    b.args(&["pwd"]);
    assert_eq!(berth.output_of(&b), "/locked/inner\n");
}

#[test]
fn user_uid_gid_and_additional_gids() {
    let berth = Berth::new("proc-user");
    let mut b = Bundle::new("proc-user");
    b.config["process"]["user"] = json!({"uid": 1000, "gid": 1000, "additionalGids": [5, 100]});
    b.sh("id -u; id -g; id -G; cat /proc/self/status");
    let out = berth.output_of(&b);
    let mut lines = out.lines();
    assert_eq!(lines.next(), Some("1000"), "{out}");
    assert_eq!(lines.next(), Some("1000"), "{out}");
    let groups: BTreeSet<&str> = lines.next().unwrap().split_whitespace().collect();
    assert!(
        groups.is_superset(&BTreeSet::from(["1000", "5", "100"])),
        "id -G: {out}"
    );
    let status: String = lines.collect::<Vec<_>>().join("\n");
    assert_eq!(status_ids(&status, "Uid:"), ["1000"; 4]);
    assert_eq!(status_ids(&status, "Gid:"), ["1000"; 4]);
    let sup: BTreeSet<String> = status_ids(&status, "Groups:").into_iter().collect();
    assert_eq!(
        sup,
        BTreeSet::from(["5".to_string(), "100".to_string()]),
        "supplementary groups are exactly additionalGids"
    );
}

#[test]
fn user_without_additional_gids_has_no_supplementary_groups() {
    let berth = Berth::new("proc-user-nogroups");
    let mut b = Bundle::new("proc-user-nogroups");
    b.config["process"]["user"] = json!({"uid": 1000, "gid": 1000});
    b.args(&["cat", "/proc/self/status"]);
    let status = berth.output_of(&b);
    assert_eq!(status_ids(&status, "Uid:"), ["1000"; 4]);
    assert!(status_ids(&status, "Groups:").is_empty(), "{status}");
}

#[test]
fn umask_is_applied() {
    let berth = Berth::new("proc-umask");
    let mut b = Bundle::new("proc-umask");
    b.readonly(false);
    b.config["process"]["user"]["umask"] = json!(0o027);
    b.sh("umask; touch /tmp/f; stat -c %a /tmp/f");
    assert_eq!(berth.output_of(&b), "0027\n640\n");
}

#[test]
fn args_are_looked_up_in_path() {
    let berth = Berth::new("proc-path");
    let mut b = Bundle::new("proc-path");
    b.args(&["echo", "hi"]);
    assert_eq!(berth.output_of(&b), "hi\n");
}

#[test]
fn path_lookup_uses_the_container_path() {
    let berth = Berth::new("proc-path-custom");
    let mut b = Bundle::new("proc-path-custom");
    b.write_rootfs_file("opt/tools/mytool", "#!/bin/sh\necho custom-tool \"$@\"\n");
    std::fs::set_permissions(
        b.rootfs().join("opt/tools/mytool"),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    b.config["process"]["env"] = json!(["PATH=/opt/tools:/bin"]);
    b.args(&["mytool", "x"]);
    assert_eq!(berth.output_of(&b), "custom-tool x\n");
}

#[test]
fn absolute_path_args() {
    let berth = Berth::new("proc-abs");
    let mut b = Bundle::new("proc-abs");
    b.config["process"]["env"] = json!([]);
    b.args(&["/bin/echo", "abs"]);
    assert_eq!(berth.output_of(&b), "abs\n");
}

#[test]
fn stdout_and_stderr_reach_the_caller() {
    let berth = Berth::new("proc-stdio");
    let mut b = Bundle::new("proc-stdio");
    b.sh("echo to-stdout; echo to-stderr >&2; exit 3");
    let (code, out, err) = berth.run_container(&b, &berth.id("run"));
    assert_eq!(code, 3);
    assert_eq!(out, "to-stdout\n");
    assert!(err.lines().any(|l| l == "to-stderr"), "stderr: {err:?}");
    assert!(!out.contains("to-stderr"));
}

#[test]
fn large_output_is_not_truncated() {
    let berth = Berth::new("proc-bigout");
    let mut b = Bundle::new("proc-bigout");
    b.sh("seq 1 20000");
    let out = berth.output_of(&b);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 20000);
    assert_eq!(lines.last(), Some(&"20000"));
}

#[test]
fn rlimits_are_applied() {
    let berth = Berth::new("proc-rlimit");
    let mut b = Bundle::new("proc-rlimit");
    b.config["process"]["rlimits"] = json!([{"type": "RLIMIT_NOFILE", "hard": 512, "soft": 256}]);
    b.sh("ulimit -n; ulimit -Hn");
    assert_eq!(berth.output_of(&b), "256\n512\n");
}
