//! cgroups on a pure cgroup v2 host, as most users run: berth inside a private mount
//! namespace with the v2 hierarchy over /sys/fs/cgroup (the test looks at the same
//! directories from outside, under /sys/fs/cgroup/unified). Only hugetlb is enabled in
//! v2 on this host; memory, pids and cpu stay with v1.

use crate::cgroups_util::*;
use crate::common::*;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::thread;
use std::time::Duration;

fn create_v2(berth: &Berth, b: &Bundle, id: &str) -> Output {
    b.write_config();
    v2(berth, &["create", "--bundle", b.path_str(), id])
}

fn start_v2(berth: &Berth, b: &Bundle, id: &str) -> PathBuf {
    create_v2(berth, b, id).ok();
    v2(berth, &["start", id]).ok();
    v2_host_dir(berth, id)
}

fn status_v2(berth: &Berth, id: &str) -> String {
    let out = v2(berth, &["state", id]).ok();
    let v: Value = serde_json::from_str(&out.stdout).unwrap();
    v["status"].as_str().unwrap().to_string()
}

/// Delete inside the view; Berth's own cleanup (outside it) then finds nothing.
fn delete_v2(berth: &Berth, id: &str) {
    v2(berth, &["delete", "--force", id]).ok();
}

#[test]
fn v2_cgroup_created_placed_and_removed() {
    let berth = Berth::new("cg2-place");
    let mut b = Bundle::new("cg2-place");
    b.args(&["sleep", "100"]);
    let id = berth.id("place");
    let _guard = V2Cleanup {
        berth: &berth,
        id: id.clone(),
    };
    let dir = start_v2(&berth, &b, &id);
    let cg = state_cgroup(&berth, &id);
    assert_eq!(cg["mode"], "unified", "{cg}");
    assert_eq!(cg["dirs"].as_array().unwrap().len(), 1, "{cg}");
    assert_eq!(cgroup_dir(&berth, &id, ""), Path::new(CG).join(&id));
    let pid = v2(&berth, &["state", &id]).ok().stdout;
    let pid: Value = serde_json::from_str(&pid).unwrap();
    assert_eq!(read(&dir, "cgroup.procs"), pid["pid"].to_string());
    // No v1 directories in this view.
    assert_eq!(find_cgroups(&id), vec![dir.clone()]);
    delete_v2(&berth, &id);
    assert!(!dir.exists());
}

#[test]
fn v2_freeze_and_thaw() {
    let berth = Berth::new("cg2-freeze");
    let b = counter("cg2-freeze");
    let id = berth.id("frz");
    let _guard = V2Cleanup {
        berth: &berth,
        id: id.clone(),
    };
    let dir = start_v2(&berth, &b, &id);
    wait_until("the counter to start", || count(&b) > 2);
    v2(&berth, &["pause", &id]).ok();
    assert_eq!(read(&dir, "cgroup.freeze"), "1");
    assert!(read(&dir, "cgroup.events").contains("frozen 1"));
    assert_eq!(status_v2(&berth, &id), "paused");
    let frozen = count(&b);
    thread::sleep(Duration::from_millis(300));
    assert_eq!(count(&b), frozen, "the counter moved while frozen");
    v2(&berth, &["resume", &id]).ok();
    assert_eq!(status_v2(&berth, &id), "running");
    wait_until("the counter to move again", || count(&b) > frozen + 2);
    delete_v2(&berth, &id);
    assert!(!dir.exists());
}

#[test]
fn v2_kill_all_uses_cgroup_kill() {
    let berth = Berth::new("cg2-kill");
    let mut b = Bundle::new("cg2-kill");
    b.remove_namespace("pid");
    b.sh("sleep 100 & sleep 100 & sleep 100");
    let id = berth.id("kill");
    let _guard = V2Cleanup {
        berth: &berth,
        id: id.clone(),
    };
    let dir = start_v2(&berth, &b, &id);
    wait_until("three sleeps", || {
        read(&dir, "cgroup.procs").lines().count() >= 3
    });
    v2(&berth, &["kill", "--all", &id, "KILL"]).ok();
    assert_no_processes(&b);
    wait_until("an empty cgroup", || {
        read(&dir, "cgroup.events").contains("populated 0")
    });
    assert_eq!(status_v2(&berth, &id), "stopped");
    v2(&berth, &["delete", &id]).ok();
    assert!(!dir.exists());
}

#[test]
fn v2_device_filter_denies_a_disk_and_allows_null() {
    let berth = Berth::new("cg2-dev");
    let mut b = Bundle::new("cg2-dev");
    with_mknod(&mut b);
    b.readonly(false).sh(DEVICE_PROBE);
    let id = berth.id("dev");
    let _guard = V2Cleanup {
        berth: &berth,
        id: id.clone(),
    };
    b.write_config();
    let out = v2(&berth, &["run", "--bundle", b.path_str(), &id]).ok();
    assert!(out.stdout.contains("Operation not permitted"), "{out}");
    assert!(out.stdout.contains("null-ok"), "{out}");
    b.config["linux"]["resources"]["devices"] = json!([
        {"allow": false, "access": "rwm"},
        {"allow": true, "type": "b", "major": 8, "minor": 0, "access": "r"}
    ]);
    b.write_config();
    let id = berth.id("dev");
    let _guard = V2Cleanup {
        berth: &berth,
        id: id.clone(),
    };
    let out = v2(&berth, &["run", "--bundle", b.path_str(), &id]).ok();
    assert!(out.stdout.contains("No such device"), "{out}");
    assert_eq!(find_cgroups(&id), Vec::<PathBuf>::new());
}

/// A second container with the same device rules takes the program the first one has
/// loaded (berth's device cache) and is held to it just the same; an entry whose tag no
/// longer matches a loaded program is not used.
#[test]
fn v2_device_program_shared_by_containers_with_the_same_rules() {
    let berth = Berth::new("cg2-devshare");
    // Rules of this test's own (a rule no other test has), so that no container of a
    // test running alongside shares, or rewrites, the cache entry.
    let own_rules = |b: &mut Bundle| {
        b.config["linux"]["resources"]["devices"] = json!([
            {"allow": false, "access": "rwm"},
            {"allow": true, "type": "c", "major": 1, "minor": 3, "access": "rwm"},
            {"allow": true, "type": "c", "major": 250, "minor": 77, "access": "r"}
        ]);
    };
    let mut holder = Bundle::new("cg2-devshare-a");
    with_mknod(&mut holder);
    own_rules(&mut holder);
    holder.args(&["sleep", "100"]);
    let a = berth.id("hold");
    let _ga = V2Cleanup {
        berth: &berth,
        id: a.clone(),
    };
    start_v2(&berth, &holder, &a);
    let mut b = Bundle::new("cg2-devshare-b");
    with_mknod(&mut b);
    own_rules(&mut b);
    b.readonly(false).sh(DEVICE_PROBE);
    b.write_config();
    let log = b.path().join("debug.log");
    let log_str = log.to_str().unwrap();
    let run = |id: &str| {
        let _ = std::fs::remove_file(&log);
        let out = v2(
            &berth,
            &[
                "--debug",
                "--log",
                log_str,
                "run",
                "--bundle",
                b.path_str(),
                id,
            ],
        )
        .ok();
        assert!(out.stdout.contains("Operation not permitted"), "{out}");
        assert!(out.stdout.contains("null-ok"), "{out}");
        std::fs::read_to_string(&log).unwrap()
    };
    let taken = "program taken from a running container";
    let id = berth.id("share");
    let _g1 = V2Cleanup {
        berth: &berth,
        id: id.clone(),
    };
    assert!(
        run(&id).contains(taken),
        "the second container loaded its own program"
    );
    // Entries whose tag is wrong: the program they name is not what they claim.
    for e in std::fs::read_dir("/run/berth-cache/devices")
        .unwrap()
        .flatten()
    {
        let mut data = std::fs::read(e.path()).unwrap();
        let tag_at = b"berth device program 1\n".len() + 4;
        if data.len() > tag_at {
            data[tag_at] ^= 0xff;
            std::fs::write(e.path(), data).unwrap();
        }
    }
    let id = berth.id("share");
    let _g2 = V2Cleanup {
        berth: &berth,
        id: id.clone(),
    };
    assert!(
        !run(&id).contains(taken),
        "an entry with a wrong tag was used"
    );
    delete_v2(&berth, &a);
}

#[test]
fn v2_hugetlb_limit_written_and_updated() {
    let berth = Berth::new("cg2-huge");
    let mut b = Bundle::new("cg2-huge");
    b.args(&["sleep", "100"]);
    b.config["linux"]["resources"]["hugepageLimits"] =
        json!([{"pageSize": "2MB", "limit": 4 << 20}, {"pageSize": "1GB", "limit": -1}]);
    let id = berth.id("huge");
    let _guard = V2Cleanup {
        berth: &berth,
        id: id.clone(),
    };
    let dir = start_v2(&berth, &b, &id);
    assert_eq!(read(&dir, "hugetlb.2MB.max"), (4u64 << 20).to_string());
    assert_eq!(read(&dir, "hugetlb.2MB.rsvd.max"), (4u64 << 20).to_string());
    assert_eq!(read(&dir, "hugetlb.1GB.max"), "max");
    // update -r with a unified key, written verbatim.
    let r = b.path().join("res.json");
    std::fs::write(&r, r#"{"unified": {"hugetlb.2MB.max": "2097152"}}"#).unwrap();
    v2(&berth, &["update", "-r", r.to_str().unwrap(), &id]).ok();
    assert_eq!(read(&dir, "hugetlb.2MB.max"), "2097152");
    let stats = v2(&berth, &["events", "--stats", &id]).ok();
    let v: Value = serde_json::from_str(stats.stdout.trim()).unwrap();
    assert!(
        v["data"]["cpu"]["usage"]["total"].as_u64().unwrap() > 0,
        "{v}"
    );
    assert!(v["data"]["hugetlb"]["2MB"].is_object(), "{v}");
    delete_v2(&berth, &id);
    assert!(!dir.exists());
}

#[test]
fn v2_bad_input_leaves_nothing_behind() {
    let berth = Berth::new("cg2-bad");
    for (key, cfg) in [
        // v1 holds memory on this host: the v2 view has no memory controller.
        (
            "memory controller is not available",
            json!({"resources": {"memory": {"limit": 1 << 24}}}),
        ),
        (
            "linux.resources.unified",
            json!({"resources": {"unified": {"nope.knob": "1"}}}),
        ),
        (
            "linux.resources.cpu.realtimeRuntime",
            json!({"resources": {"cpu": {"realtimeRuntime": 1000}}}),
        ),
        ("linux.cgroupsPath", json!({"cgroupsPath": "../../x"})),
    ] {
        let mut b = Bundle::new("cg2-bad");
        for (k, v) in cfg.as_object().unwrap() {
            b.config["linux"][k] = v.clone();
        }
        let id = unique("bad");
        let out = create_v2(&berth, &b, &id).fails();
        assert_clean_failure(&berth, &out, &id, key);
    }
}

/// `berth spec`'s `cgroup` mount in the v2 view, where the hybrid host's v1 and
/// `unified` mounts are still listed in the mount table but hidden beneath the cgroup2
/// at /sys/fs/cgroup: with and without a cgroup namespace, the container sees a cgroup2
/// at /sys/fs/cgroup, not a bind from the hidden paths.
#[test]
fn v2_view_cgroup_mount_is_cgroup2() {
    let berth = Berth::new("cg2-mount");
    for cgroupns in [false, true] {
        let mut b = Bundle::new("cg2-mount");
        if !cgroupns {
            b.remove_namespace("cgroup");
        }
        b.add_mount(json!({"destination": "/sys/fs/cgroup", "type": "cgroup",
            "source": "cgroup", "options": ["nosuid", "noexec", "nodev", "relatime", "ro"]}));
        b.sh("cat /proc/self/mountinfo");
        b.write_config();
        let id = berth.id("mnt");
        let out = v2(&berth, &["run", "--bundle", b.path_str(), &id]);
        assert_eq!(out.code, 0, "cgroupns {cgroupns}: {out}");
        let mounts = parse_mountinfo(&out.stdout);
        let m = expect_mount(&mounts, "/sys/fs/cgroup");
        assert_eq!(m.fstype, "cgroup2", "cgroupns {cgroupns}: {m:?}");
        assert!(m.has_option("ro"), "{m:?}");
        // No v1 hierarchy came along.
        assert!(
            !mounts.iter().any(|m| m.fstype == "cgroup"),
            "cgroupns {cgroupns}: {mounts:#?}"
        );
    }
}

/// A v2 directory made by the test, not by berth, removed when dropped.
struct OwnDir(PathBuf);

impl Drop for OwnDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir(&self.0);
    }
}

/// The `0::` line of a container's /proc/self/cgroup, printed by `run` in the v2 view.
fn v2_line_inside(berth: &Berth, b: &mut Bundle) -> String {
    b.args(&["cat", "/proc/self/cgroup"]);
    b.write_config();
    let id = berth.id("in");
    let out = v2(berth, &["run", "--bundle", b.path_str(), &id]).ok();
    let line = out.stdout.lines().find(|l| l.starts_with("0::"));
    line.unwrap_or_else(|| panic!("no 0:: line: {out}"))
        .to_string()
}

/// linux.cgroupsPath naming a directory that was there before: berth joins it, and a
/// container's cgroup namespace is rooted at it. `killed`: a `cgroup.kill` was written to
/// it before (as `delete -f` does), after which this kernel kills a child cloned into it
/// with CLONE_INTO_CGROUP at birth.
fn joins_existing_cgroup(name: &str, killed: bool) {
    let berth = Berth::new(name);
    let cg = unique(name);
    let host = Path::new(CG).join("unified").join(&cg);
    std::fs::create_dir(&host).unwrap();
    let _dir = OwnDir(host.clone());
    if killed {
        std::fs::write(host.join("cgroup.kill"), "1").unwrap();
    }
    let mut b = Bundle::new(name);
    b.config["linux"]["cgroupsPath"] = json!(format!("/{cg}"));
    // Without a cgroup namespace the init sees the directory's own path; with one, "/".
    b.remove_namespace("cgroup");
    assert_eq!(v2_line_inside(&berth, &mut b), format!("0::/{cg}"));
    b.add_namespace("cgroup");
    assert_eq!(v2_line_inside(&berth, &mut b), "0::/");
    // Twice: `delete -f` kills the first container through cgroup.kill, and the second
    // is born into that directory all the same.
    b.args(&["sleep", "100"]);
    for _ in 0..2 {
        let id = berth.id("c");
        let _guard = V2Cleanup {
            berth: &berth,
            id: id.clone(),
        };
        let dir = start_v2(&berth, &b, &id);
        assert_eq!(dir, host);
        assert_eq!(status_v2(&berth, &id), "running");
        let st: Value = serde_json::from_str(&v2(&berth, &["state", &id]).ok().stdout).unwrap();
        assert_eq!(read(&host, "cgroup.procs"), st["pid"].to_string());
        delete_v2(&berth, &id);
        assert!(berth.state_entries().is_empty());
        // Not berth's to remove.
        assert!(host.exists());
    }
}

#[test]
fn v2_existing_cgroup_is_joined() {
    joins_existing_cgroup("cg2-existing", false);
}

#[test]
fn v2_existing_cgroup_once_killed_is_joined() {
    joins_existing_cgroup("cg2-killed", true);
}

/// berth itself runs in a cgroup that was killed once (`cgroup.kill` on it while empty,
/// then joined) and makes a fresh cgroup for the container: this kernel compares the
/// kill counts of the parent's cgroup and the new child's, so a child cloned with
/// CLONE_INTO_CGROUP into a directory berth just made is killed at birth too.
#[test]
#[ignore = "open: CLONE_INTO_CGROUP from a caller in a once-killed cgroup (kernel 6.18 kill count check); joining by cgroup.procs costs a grace period in every create"]
fn v2_berth_in_a_once_killed_cgroup_creates() {
    let berth = Berth::new("cg2-parent");
    let cg = unique("cg2-parent");
    let host = Path::new(CG).join("unified").join(&cg);
    std::fs::create_dir(&host).unwrap();
    let _dir = OwnDir(host.clone());
    std::fs::write(host.join("cgroup.kill"), "1").unwrap();
    let mut b = Bundle::new("cg2-parent");
    b.args(&["true"]);
    b.write_config();
    let id = berth.id("c");
    let _guard = V2Cleanup {
        berth: &berth,
        id: id.clone(),
    };
    let mut cmd = std::process::Command::new("unshare");
    cmd.args([
        "-m",
        "--propagation",
        "private",
        "sh",
        "-c",
        "mount -t cgroup2 none /sys/fs/cgroup && echo $$ > /sys/fs/cgroup/$CG/cgroup.procs \
         && exec \"$0\" \"$@\"",
    ])
    .env("CG", &cg)
    .arg(berth_bin())
    .arg("--root")
    .arg(berth.root())
    .args(["run", "--bundle", b.path_str(), &id]);
    let out = run_command(cmd, CMD_TIMEOUT);
    assert_eq!(out.code, 0, "{out}");
    assert!(
        berth.state_entries().is_empty(),
        "{:?}",
        berth.state_entries()
    );
}
