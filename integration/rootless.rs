//! Rootless containers: berth run by an unprivileged user (`rootless_user::NAME`) on a
//! bundle it owns, with its default state root ($XDG_RUNTIME_DIR/berth), no cgroup
//! (no delegated v2 subtree here), id maps written by itself or by newuidmap/newgidmap.

use crate::common::{assert_no_processes, wait_until, TempDir};
use crate::engines::support::{run_in_pty, tool};
use crate::rootless_user::{
    as_user, chown, full_range_bundle, mapping, user, user_bundle, Rootless, SUB_SIZE,
};
use serde_json::json;
use std::fs;
use std::path::Path;

/// The user's own id is root inside; setgroups is denied (the kernel's condition for an
/// unprivileged gid map); output and exit code come back; the state goes at the end.
#[test]
fn rootless_run_maps_the_user_alone() {
    let u = user();
    let r = Rootless::new();
    let mut b = user_bundle("rl-run");
    b.sh("cat /proc/self/uid_map /proc/self/gid_map /proc/self/setgroups; id -u; exit 7");
    let id = r.id("rl-run");
    let out = r.run_bundle(&b, &id);
    assert_eq!(out.code, 7, "{out}");
    let lines: Vec<Vec<&str>> = out
        .stdout
        .lines()
        .map(|l| l.split_whitespace().collect())
        .collect();
    let (uid, gid) = (u.uid.to_string(), u.gid.to_string());
    assert_eq!(lines[0], ["0", uid.as_str(), "1"], "{out}");
    assert_eq!(lines[1], ["0", gid.as_str(), "1"], "{out}");
    assert_eq!(lines[2], ["deny"], "{out}");
    assert_eq!(lines[3], ["0"], "{out}");
    // No cgroup for it: with a PID namespace of its own, not worth a warning (runc's rule).
    assert!(out.stderr.is_empty(), "{out}");
    assert!(!r.state_root().join(&id).exists(), "{out}");
    assert_no_processes(&b);
}

/// Ranges beyond the user's own id go through newuidmap/newgidmap, from /etc/subuid and
/// /etc/subgid: container uid 1000 is a subordinate id on the host.
#[test]
fn rootless_full_range_through_newuidmap() {
    let u = user();
    let r = Rootless::new();
    let mut b = full_range_bundle("rl-full");
    let vol = TempDir::new("rl-vol");
    fs::set_permissions(
        vol.path(),
        std::os::unix::fs::PermissionsExt::from_mode(0o777),
    )
    .unwrap();
    b.add_mount(
        json!({"destination": "/vol", "type": "bind", "source": vol.path_str(),
                       "options": ["rbind", "rw"]}),
    );
    b.config["process"]["user"] = json!({"uid": 1000, "gid": 1000});
    b.sh("cat /proc/self/uid_map /proc/self/setgroups; touch /vol/u1000 && echo written");
    let out = r.run_bundle(&b, &r.id("rl-full"));
    assert!(out.success(), "{out}");
    let want = [
        format!("0 {} 1", u.uid),
        format!("1 {} {SUB_SIZE}", u.subuid),
        "allow".to_string(),
        "written".to_string(),
    ];
    let got: Vec<String> = out
        .stdout
        .lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect();
    assert_eq!(got, want, "{out}");
    let md = std::os::unix::fs::MetadataExt::uid(&fs::metadata(vol.path().join("u1000")).unwrap());
    assert_eq!(
        md,
        u.subuid + 999,
        "container uid 1000 is subordinate uid 1000-1 on the host"
    );
}

/// create, start, exec (which must fork into the user-owned PID namespace), kill, delete.
#[test]
fn rootless_exec_and_kill() {
    let r = Rootless::new();
    let mut b = full_range_bundle("rl-exec");
    b.args(&["sleep", "60"]);
    b.write_config();
    let id = r.id("rl-exec");
    r.run(&["create", "--bundle", b.path_str(), &id]).ok();
    // Before start too: the init is then berth's own, which the user must be able to reach.
    let out = r.run(&["exec", &id, "cat", "/proc/self/uid_map"]).ok();
    assert_eq!(out.stdout.lines().count(), 2, "{out}");
    // Reachable, so it holds nothing of the host's but the fifo: no state directory.
    let state: serde_json::Value = serde_json::from_str(&r.run(&["state", &id]).stdout).unwrap();
    let fds = format!("/proc/{}/fd", state["pid"]);
    for e in fs::read_dir(&fds).unwrap().flatten() {
        let target = fs::read_link(e.path()).unwrap_or_default();
        let dir = r.state_root().join(&id);
        assert!(
            !target.starts_with(&dir) || target == dir.join("exec.fifo"),
            "the waiting init holds {}",
            target.display()
        );
    }
    r.run(&["start", &id]).ok();
    let out = r.run(&[
        "exec",
        &id,
        "sh",
        "-c",
        "cat /proc/1/cmdline; echo; id -u; exit 3",
    ]);
    assert_eq!(out.code, 3, "{out}");
    assert_eq!(out.stdout.replace('\0', " "), "sleep 60 \n0\n", "{out}");
    // As another user inside, with a pid file.
    let pf = r.state_root().join(format!("{id}.pid"));
    let pf_s = pf.to_str().unwrap();
    let out = r.run(&[
        "exec",
        "--user",
        "1000:1000",
        "--pid-file",
        pf_s,
        &id,
        "id",
        "-u",
    ]);
    assert_eq!(out.stdout.trim(), "1000", "{out}");
    assert!(fs::read_to_string(&pf)
        .unwrap()
        .trim()
        .parse::<i32>()
        .is_ok());
    let _ = fs::remove_file(&pf);
    r.run(&["kill", &id, "KILL"]).ok();
    wait_until("the container to stop", || {
        r.run(&["state", &id]).stdout.contains("\"stopped\"")
    });
    r.run(&["delete", &id]).ok();
    assert!(!r.state_root().join(&id).exists());
    assert_no_processes(&b);
}

/// A terminal: `run` in the foreground drives the container's pty from the user's.
#[test]
fn rootless_terminal() {
    let r = Rootless::new();
    let mut b = user_bundle("rl-tty");
    b.config["process"]["terminal"] = json!(true);
    b.sh("tty; exit 4");
    b.write_config();
    let id = r.id("rl-tty");
    let cmd = r.command(&["run", "--bundle", b.path_str(), &id]);
    let mut argv = vec![cmd.get_program().to_string_lossy().into_owned()];
    argv.extend(cmd.get_args().map(|a| a.to_string_lossy().into_owned()));
    let out = run_in_pty(&argv, &[], "");
    assert_eq!(out.code, 4, "{out}");
    assert!(out.stdout.contains("/dev/pts/0"), "{out}");
}

/// Without a network namespace of its own the container may not mount sysfs: it gets
/// the host's /sys, bound read-only. Device nodes are bound from the host too.
#[test]
fn rootless_sysfs_and_devices_without_privilege() {
    let r = Rootless::new();
    let mut b = user_bundle("rl-sys");
    b.remove_namespace("network");
    // A device the config lists that berth makes a link anyway (runc's bats dev.bats).
    b.config["linux"]["devices"] =
        json!([{"path": "/dev/ptmx", "type": "c", "major": 5, "minor": 2}]);
    b.sh("grep ' /sys ' /proc/self/mounts; echo x > /dev/null && echo null-ok; readlink /dev/ptmx");
    let out = r.run_bundle(&b, &r.id("rl-sys"));
    assert!(out.success(), "{out}");
    let sys = out.stdout.lines().next().unwrap_or_default();
    assert!(sys.contains(" ro,") || sys.contains(" ro "), "{out}");
    assert!(out.stdout.contains("null-ok\npts/ptmx\n"), "{out}");
    assert!(out.stderr.is_empty(), "{out}");
    // Without a PID namespace (nor cgroup) its processes cannot all be found: runc warns.
    // (A fresh proc needs a PID namespace of the user's: the host's /proc is bound.)
    b.remove_namespace("pid");
    b.config["mounts"][0] =
        json!({"destination": "/proc", "type": "bind", "source": "/proc", "options": ["rbind"]});
    b.args(&["true"]);
    let out = r.run_bundle(&b, &r.id("rl-sys"));
    assert!(out.success(), "{out}");
    assert_eq!(out.stderr.matches("no cgroup").count(), 1, "{out}");
}

/// A mapping the user may not use fails, naming linux.uidMappings, and leaves nothing.
#[test]
fn rootless_forbidden_mapping_is_a_config_error() {
    let r = Rootless::new();
    let mut b = full_range_bundle("rl-bad");
    b.config["linux"]["uidMappings"] = json!([mapping(0, 0, 1)]);
    let id = r.id("rl-bad");
    let out = r.run_bundle(&b, &id);
    let line = out.single_error_line();
    assert!(line.contains("linux.uidMappings"), "{out}");
    assert!(line.contains("not allowed"), "{out}");
    assert!(!r.state_root().join(&id).exists(), "{out}");
    assert_no_processes(&b);
    // The user's own id with another id beside it needs newuidmap, which refuses ids
    // outside /etc/subuid as well.
    let u = user();
    b.config["linux"]["uidMappings"] = json!([mapping(0, u.uid, 1), mapping(1, 1, 1)]);
    let out = r.run_bundle(&b, &id);
    assert!(
        out.single_error_line().contains("linux.uidMappings"),
        "{out}"
    );
    assert!(!r.state_root().join(&id).exists(), "{out}");
}

/// What an unprivileged user cannot have fails with the key that asks for it.
#[test]
fn rootless_limits_it_cannot_have() {
    let r = Rootless::new();
    let id = r.id("rl-lim");
    let mut b = user_bundle("rl-lim");
    b.config["linux"]["resources"]["memory"] = json!({"limit": 64 << 20});
    let out = r.run_bundle(&b, &id);
    let line = out.single_error_line();
    assert!(line.contains("linux.resources.memory"), "{out}");
    // runc's words, which runc's own tests look for.
    assert!(line.contains("cannot set memory limit: container could not join or create cgroup"));
    assert!(!r.state_root().join(&id).exists(), "{out}");

    // A cgroupsPath the config names is tried (runc's rule), and fails here.
    let mut b = user_bundle("rl-cgpath");
    b.config["linux"]["cgroupsPath"] = json!(format!("/{id}"));
    let out = r.run_bundle(&b, &id);
    let line = out.single_error_line();
    assert!(
        line.contains("unable to apply cgroup configuration"),
        "{out}"
    );
    assert!(line.contains("permission denied"), "{out}");
    assert!(!r.state_root().join(&id).exists(), "{out}");

    let mut b = user_bundle("rl-rlim");
    b.config["process"]["rlimits"] =
        json!([{"type": "RLIMIT_NOFILE", "hard": 1u64 << 40, "soft": 1024}]);
    let out = r.run_bundle(&b, &id);
    assert!(out.single_error_line().contains("process.rlimits"), "{out}");
    assert!(!r.state_root().join(&id).exists(), "{out}");

    let mut b = user_bundle("rl-oom");
    let current: i32 = fs::read_to_string("/proc/self/oom_score_adj")
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    b.config["process"]["oomScoreAdj"] = json!((current - 100).max(-1000));
    let out = r.run_bundle(&b, &id);
    assert!(
        out.single_error_line().contains("process.oomScoreAdj"),
        "{out}"
    );
    assert!(!r.state_root().join(&id).exists(), "{out}");
}

/// `--rootless`: false makes the user try the host's cgroups (and fail there); a bad
/// value is an error; the state root defaults to $XDG_RUNTIME_DIR/berth.
#[test]
fn rootless_flag_and_state_root() {
    let r = Rootless::new();
    let mut b = user_bundle("rl-flag");
    b.args(&["sleep", "30"]);
    b.write_config();
    let id = r.id("rl-flag");
    let out = r.run(&[
        "--rootless",
        "false",
        "create",
        "--bundle",
        b.path_str(),
        &id,
    ]);
    assert!(out.single_error_line().contains("cgroup"), "{out}");
    assert!(!r.state_root().join(&id).exists(), "{out}");
    let out = r.run(&["--rootless=maybe", "create", "--bundle", b.path_str(), &id]);
    assert!(out.single_error_line().contains("--rootless"), "{out}");
    r.run(&["--rootless=true", "create", "--bundle", b.path_str(), &id])
        .ok();
    assert!(r.state_root().join(&id).join("state.json").exists());
    // list shows the container's owner, as runc does: the user.
    let out = r.run(&["list", "--format", "json"]).ok();
    let list: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    let ours = list
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == id.as_str());
    assert_eq!(ours.unwrap()["owner"], crate::rootless_user::NAME, "{out}");
    r.run(&["delete", "--force", &id]).ok();
    assert!(!r.state_root().join(&id).exists());
}

/// `spec --rootless` as the user writes runc's rootless default config.
#[test]
fn rootless_spec_matches_runc() {
    let u = user();
    let dir = TempDir::new("rl-spec");
    for sub in ["berth", "runc"] {
        fs::create_dir(dir.path().join(sub)).unwrap();
    }
    chown(dir.path(), u.uid, u.gid, true);
    let spec = |prog: &std::path::Path, sub: &str| {
        let mut cmd = as_user(prog);
        cmd.args(["spec", "--rootless", "--bundle"])
            .arg(dir.path().join(sub));
        crate::common::run_command(cmd, crate::common::CMD_TIMEOUT).ok();
        let text = fs::read_to_string(dir.path().join(sub).join("config.json")).unwrap();
        serde_json::from_str::<serde_json::Value>(&text).unwrap()
    };
    let ours = spec(&crate::common::berth_bin(), "berth");
    let runc = spec(&tool("runc"), "runc");
    assert_eq!(ours, runc);
    assert_eq!(ours["linux"]["uidMappings"][0]["hostID"], u.uid);
}

/// Where the user owns a delegated cgroup v2 subtree (here: a pure v2 view in a private
/// mount namespace, with a directory given to the user, as systemd delegates one), the
/// container gets its cgroup there: limits, pause, exec into it, and delete removes it.
#[test]
fn rootless_delegated_cgroup_v2() {
    let u = user();
    let r = Rootless::new();
    let mut b = full_range_bundle("rl-deleg");
    let top = crate::common::unique("berth-rl-deleg");
    b.config["linux"]["cgroupsPath"] = json!(format!("/{top}/ctr"));
    b.config["linux"]["resources"]["hugepageLimits"] = json!([{"pageSize": "2MB", "limit": 0}]);
    // The exec'd process then shows the cgroup's whole path.
    b.remove_namespace("cgroup");
    b.args(&["sleep", "60"]);
    b.write_config();
    let id = r.id("rl-deleg");
    let berth = r.command(&[]);
    let mut user_cmd = vec![berth.get_program().to_string_lossy().into_owned()];
    user_cmd.extend(
        berth
            .get_args()
            .map(|a| format!("'{}'", a.to_string_lossy())),
    );
    let berth = user_cmd.join(" ");
    let script = format!(
        "set -e; umount -R /sys/fs/cgroup; mount -t cgroup2 none /sys/fs/cgroup
         D=/sys/fs/cgroup/{top}; mkdir -p $D/leaf; echo $$ > $D/leaf/cgroup.procs
         chown -R {uid}:{gid} $D
         cleanup() {{ echo $$ > /sys/fs/cgroup/cgroup.procs; rmdir $D/leaf $D/ctr $D 2>/dev/null || true; }}
         trap cleanup EXIT
         {berth} create --bundle {bundle} {id}; {berth} start {id}
         echo max=$(cat $D/ctr/hugetlb.2MB.max)
         {berth} pause {id}; echo freeze=$(cat $D/ctr/cgroup.freeze); {berth} resume {id}
         {berth} exec {id} grep ^0:: /proc/self/cgroup
         {berth} kill {id} KILL; {berth} delete --force {id}
         test -d $D/ctr || echo removed",
        uid = u.uid,
        gid = u.gid,
        bundle = b.path_str(),
    );
    let mut cmd = std::process::Command::new("unshare");
    cmd.args(["-m", "--propagation", "private", "sh", "-c", &script]);
    let out = crate::common::run_command(cmd, crate::common::CMD_TIMEOUT);
    assert!(out.success(), "{out}");
    let want = format!("max=0\nfreeze=1\n0::/{top}/ctr\nremoved\n");
    assert_eq!(out.stdout, want, "{out}");
    assert!(!r.state_root().join(&id).exists());
}

/// A console socket, hooks and a seccomp filter, rootless: the same as for root.
#[test]
fn rootless_console_socket_hooks_and_seccomp() {
    let u = user();
    let r = Rootless::new();
    let mut b = full_range_bundle("rl-misc");
    b.config["process"]["terminal"] = json!(true);
    b.sh("tty; mkdir /dev/shm/d 2>&1; echo done");
    let dir = b.path().to_path_buf();
    let out = |f: &str| format!("{}/{f}", dir.display());
    let hook = |script: String| json!({"path": "/bin/sh", "args": ["sh", "-c", script]});
    b.config["hooks"] = json!({
        "createRuntime": [hook(format!("id -u > {}", out("create-runtime")))],
        "poststop": [hook(format!("touch {}", out("poststop")))],
    });
    b.config["linux"]["seccomp"] = json!({
        "defaultAction": "SCMP_ACT_ALLOW",
        "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1}],
    });
    b.write_config();
    let sock = crate::console::ConsoleSocket::new("rl-misc");
    fs::set_permissions(
        sock.path_str(),
        std::os::unix::fs::PermissionsExt::from_mode(0o777),
    )
    .unwrap();
    let id = r.id("rl-misc");
    let args = [
        "create",
        "--bundle",
        b.path_str(),
        "--console-socket",
        sock.path_str(),
        &id,
    ];
    r.run(&args).ok();
    let got = sock.receive();
    r.run(&["start", &id]).ok();
    let text = crate::console::read_pty(&got.master, crate::common::WAIT_TIMEOUT, |t| {
        t.contains("done")
    });
    assert!(text.contains("/dev/pts/0"), "{text:?}");
    assert!(text.contains("Operation not permitted"), "{text:?}");
    wait_until("the container to stop", || {
        r.run(&["state", &id]).stdout.contains("\"stopped\"")
    });
    r.run(&["delete", &id]).ok();
    let hook_uid = fs::read_to_string(out("create-runtime")).unwrap();
    assert_eq!(
        hook_uid.trim(),
        u.uid.to_string(),
        "hooks run as the user, on the host"
    );
    assert!(fs::metadata(out("poststop")).is_ok());
}

/// A v1 cgroup tree given to the user (as runc's rootless CI sets one up): with a
/// cgroupsPath below it the container gets its cgroups and limits there, pause works,
/// and delete removes them. The user may not step back into its own cgroups, which root
/// owns: berth moves the init in after the clone instead. The hybrid v2 hierarchy, which
/// the user may not write, is left out.
#[test]
fn rootless_v1_cgroups_given_to_the_user() {
    let u = user();
    let r = Rootless::new();
    let top = crate::common::unique("berth-rl-v1");
    let mounts = fs::read_to_string("/proc/self/mountinfo").unwrap();
    let v1: Vec<String> = crate::common::parse_mountinfo(&mounts)
        .into_iter()
        .filter(|m| m.fstype == "cgroup" && !m.super_options.contains("name="))
        .map(|m| m.mount_point)
        .collect();
    let dirs: Vec<std::path::PathBuf> = v1.iter().map(|m| Path::new(m).join(&top)).collect();
    struct Remove(Vec<std::path::PathBuf>);
    impl Drop for Remove {
        fn drop(&mut self) {
            for d in &self.0 {
                let _ = fs::remove_dir(d.join("ctr"));
                let _ = fs::remove_dir(d);
            }
        }
    }
    let _remove = Remove(dirs.clone());
    for d in &dirs {
        fs::create_dir(d).unwrap();
        for f in ["cpuset.cpus", "cpuset.mems"] {
            if let Ok(v) = fs::read_to_string(d.parent().unwrap().join(f)) {
                fs::write(d.join(f), v.trim()).unwrap();
            }
        }
        chown(d, u.uid, u.gid, false);
    }
    let mut b = full_range_bundle("rl-v1");
    b.config["linux"]["cgroupsPath"] = json!(format!("/{top}/ctr"));
    b.config["linux"]["resources"]["pids"] = json!({"limit": 50});
    // The exec'd process then shows the cgroup's whole path.
    b.remove_namespace("cgroup");
    b.args(&["sleep", "60"]);
    b.write_config();
    let id = r.id("rl-v1");
    r.run(&["create", "--bundle", b.path_str(), &id]).ok();
    r.run(&["start", &id]).ok();
    let pids = dirs
        .iter()
        .find(|d| d.starts_with("/sys/fs/cgroup/pids"))
        .unwrap();
    assert_eq!(
        fs::read_to_string(pids.join("ctr/pids.max"))
            .unwrap()
            .trim(),
        "50"
    );
    let pid: serde_json::Value = serde_json::from_str(&r.run(&["state", &id]).stdout).unwrap();
    let cgroups = fs::read_to_string(format!("/proc/{}/cgroup", pid["pid"])).unwrap();
    assert!(cgroups.contains(&format!(":pids:/{top}/ctr")), "{cgroups}");
    r.run(&["pause", &id]).ok();
    let freezer = dirs
        .iter()
        .find(|d| d.starts_with("/sys/fs/cgroup/freezer"))
        .unwrap();
    assert_eq!(
        fs::read_to_string(freezer.join("ctr/freezer.state"))
            .unwrap()
            .trim(),
        "FROZEN"
    );
    r.run(&["resume", &id]).ok();
    let out = r
        .run(&["exec", &id, "grep", "pids", "/proc/self/cgroup"])
        .ok();
    assert!(out.stdout.contains(&format!("/{top}/ctr")), "{out}");
    r.run(&["delete", "--force", &id]).ok();
    for d in &dirs {
        assert!(!d.join("ctr").exists(), "{} left", d.display());
    }
}
