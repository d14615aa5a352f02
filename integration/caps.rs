//! Privileges and scheduling of the container process, seen from inside it: the five
//! capability sets, noNewPrivileges, oomScoreAdj, linux.personality, scheduler and
//! ioPriority; and the config errors about them, each a clean failure at create.

use crate::common::*;
use serde_json::{json, Value};

const NET_BIND_SERVICE: u64 = 1 << 10;
const SYS_RESOURCE: u64 = 1 << 24;
/// CAP_AUDIT_WRITE | CAP_KILL | CAP_NET_BIND_SERVICE, runc's default list.
const RUNC_DEFAULT: u64 = 0x2000_0420;

/// The `Key:` line of /proc/self/status text, value only.
fn status_field<'a>(status: &'a str, key: &str) -> &'a str {
    status
        .lines()
        .find_map(|l| l.strip_prefix(key)?.strip_prefix(':'))
        .unwrap_or_else(|| panic!("no {key} in {status}"))
        .trim()
}

/// (CapInh, CapPrm, CapEff, CapBnd, CapAmb) of a status dump.
fn cap_masks(status: &str) -> [u64; 5] {
    ["CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"]
        .map(|k| u64::from_str_radix(status_field(status, k), 16).unwrap())
}

fn host_cap_bounding() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    u64::from_str_radix(status_field(&status, "CapBnd"), 16).unwrap()
}

fn set_caps(b: &mut Bundle, caps: Value) {
    b.config["process"]["capabilities"] = caps;
}

/// The fields of /proc/self/stat after the command name: index 0 is field 3 (state).
fn stat_fields(stat: &str) -> Vec<String> {
    let rest = &stat[stat.rfind(')').expect("stat has a comm") + 1..];
    rest.split_whitespace().map(str::to_string).collect()
}

/// (nice, rt_priority, policy) from /proc/self/stat: fields 19, 40 and 41.
fn sched_of(stat: &str) -> (i64, u64, u64) {
    let f = stat_fields(stat);
    (
        f[19 - 3].parse().unwrap(),
        f[40 - 3].parse().unwrap(),
        f[41 - 3].parse().unwrap(),
    )
}

#[test]
fn root_with_runc_default_capabilities() {
    let berth = Berth::new("caps-root");
    let mut b = Bundle::new("caps-root");
    let list = json!(["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"]);
    set_caps(
        &mut b,
        json!({"bounding": list, "effective": list, "permitted": list}),
    );
    // CAP_SYS_ADMIN is gone, so even root cannot set the hostname.
    b.sh("cat /proc/self/status; hostname other 2>/dev/null && echo hostname-changed; true");
    let out = berth.output_of(&b);
    assert_eq!(
        cap_masks(&out),
        [0, RUNC_DEFAULT, RUNC_DEFAULT, RUNC_DEFAULT, 0],
        "{out}"
    );
    assert!(!out.contains("hostname-changed"), "{out}");
}

#[test]
fn non_root_user_with_ambient_capability() {
    let berth = Berth::new("caps-ambient");
    let mut b = Bundle::new("caps-ambient");
    b.config["process"]["user"] = json!({"uid": 1000, "gid": 1000});
    let one = json!(["CAP_NET_BIND_SERVICE"]);
    set_caps(
        &mut b,
        json!({"bounding": one, "effective": one, "permitted": one, "inheritable": one, "ambient": one}),
    );
    // Binding port 80 needs the capability; nc then waits until timeout kills it.
    b.sh("cat /proc/self/status; timeout 1 nc -l -p 80 2>&1; echo nc-exit=$?");
    let out = berth.output_of(&b);
    assert_eq!(cap_masks(&out), [NET_BIND_SERVICE; 5], "{out}");
    assert_eq!(status_field(&out, "Uid"), "1000\t1000\t1000\t1000");
    assert!(!out.contains("Permission denied"), "{out}");
    assert!(!out.contains("nc-exit=1\n"), "{out}");
}

#[test]
fn non_root_user_without_ambient_loses_capabilities_at_exec() {
    let berth = Berth::new("caps-noambient");
    let mut b = Bundle::new("caps-noambient");
    b.config["process"]["user"] = json!({"uid": 1000, "gid": 1000});
    let one = json!(["CAP_NET_BIND_SERVICE"]);
    set_caps(
        &mut b,
        json!({"bounding": one, "effective": one, "permitted": one}),
    );
    b.args(&["cat", "/proc/self/status"]);
    let out = berth.output_of(&b);
    assert_eq!(cap_masks(&out), [0, 0, 0, NET_BIND_SERVICE, 0], "{out}");
}

#[test]
fn no_capabilities_object_means_no_capabilities() {
    let berth = Berth::new("caps-none");
    let mut b = Bundle::new("caps-none");
    b.config["process"]
        .as_object_mut()
        .unwrap()
        .remove("capabilities");
    b.args(&["cat", "/proc/self/status"]);
    let out = berth.output_of(&b);
    assert_eq!(cap_masks(&out), [0; 5], "{out}");
}

#[test]
fn ambient_without_inheritable_is_skipped_quietly() {
    // What `runc spec` printed before runc 1.2: runc runs it without a word on stderr
    // (the container's stderr is the caller's), so berth notes it only in --debug.
    let berth = Berth::new("caps-ambient-quiet");
    let mut b = Bundle::new("caps-ambient-quiet");
    let list = json!(["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"]);
    set_caps(
        &mut b,
        json!({"bounding": list, "effective": list, "permitted": list, "ambient": list}),
    );
    b.args(&["cat", "/proc/self/status"]);
    let id = berth.id("run");
    let out = berth.run_bundle(&b, &id, &[]).ok();
    assert_eq!(cap_masks(&out.stdout)[4], 0, "{out}");
    assert!(out.error_lines().is_empty(), "{out}");
    let out = berth.run_global(
        &["--debug"],
        &["run", "--bundle", b.path_str(), &berth.id("dbg")],
    );
    assert!(
        out.stderr.contains("level=debug") && out.stderr.contains("process.capabilities.ambient"),
        "{out}"
    );
}

#[test]
fn user_namespace_may_have_capabilities_the_host_lacks() {
    let berth = Berth::new("caps-userns");
    let mut b = Bundle::new("caps-userns");
    b.add_namespace("user");
    b.config["linux"]["uidMappings"] = json!([{"containerID": 0, "hostID": 100000, "size": 65536}]);
    b.config["linux"]["gidMappings"] = json!([{"containerID": 0, "hostID": 100000, "size": 65536}]);
    let list = json!(["CAP_KILL", "CAP_SYS_RESOURCE"]);
    set_caps(
        &mut b,
        json!({"bounding": list, "effective": list, "permitted": list}),
    );
    b.args(&["cat", "/proc/self/status"]);
    let out = berth.output_of(&b);
    let want = SYS_RESOURCE | 1 << 5;
    assert_eq!(cap_masks(&out), [0, want, want, want, 0], "{out}");
}

#[test]
fn no_new_privileges() {
    let berth = Berth::new("caps-nnp");
    for (nnp, want) in [(true, "1"), (false, "0")] {
        let mut b = Bundle::new("caps-nnp");
        b.config["process"]["noNewPrivileges"] = json!(nnp);
        b.args(&["cat", "/proc/self/status"]);
        let out = berth.output_of(&b);
        assert_eq!(status_field(&out, "NoNewPrivs"), want, "{out}");
    }
}

#[test]
fn oom_score_adj() {
    let berth = Berth::new("caps-oom");
    let mut b = Bundle::new("caps-oom");
    b.config["process"]["oomScoreAdj"] = json!(500);
    b.args(&["cat", "/proc/self/oom_score_adj"]);
    assert_eq!(berth.output_of(&b), "500\n");

    // Left out, the value is not touched: the container inherits ours.
    let ours = std::fs::read_to_string("/proc/self/oom_score_adj").unwrap();
    let mut b = Bundle::new("caps-oom-unset");
    b.args(&["cat", "/proc/self/oom_score_adj"]);
    assert_eq!(berth.output_of(&b), ours);
}

#[test]
fn personality_linux32() {
    if std::env::consts::ARCH != "x86_64" {
        return;
    }
    let berth = Berth::new("caps-personality");
    for (domain, want) in [("LINUX32", "i686\n"), ("LINUX", "x86_64\n")] {
        let mut b = Bundle::new("caps-personality");
        b.config["linux"]["personality"] = json!({"domain": domain});
        b.args(&["uname", "-m"]);
        assert_eq!(berth.output_of(&b), want, "{domain}");
    }
}

/// A v1 cpu cgroup starts with no real-time budget, and the kernel refuses real-time
/// policies in it (as with runc): give the container some.
fn rt_budget(b: &mut Bundle) {
    b.config["linux"]["resources"]["cpu"] =
        json!({"realtimePeriod": 1_000_000, "realtimeRuntime": 10_000});
}

#[test]
fn scheduler_policies() {
    let berth = Berth::new("caps-sched");
    for (sched, want) in [
        (json!({"policy": "SCHED_BATCH", "nice": 7}), (7, 0, 3)),
        (json!({"policy": "SCHED_IDLE"}), (0, 0, 5)),
        (json!({"policy": "SCHED_FIFO", "priority": 10}), (0, 10, 1)),
        (
            json!({"policy": "SCHED_DEADLINE", "runtime": 10_000_000u64,
                   "deadline": 30_000_000u64, "period": 30_000_000u64}),
            (0, 0, 6),
        ),
    ] {
        let mut b = Bundle::new("caps-sched");
        b.config["process"]["scheduler"] = sched.clone();
        if sched["policy"] == "SCHED_FIFO" {
            rt_budget(&mut b);
        }
        // Exec'd directly: a SCHED_DEADLINE process may not fork.
        b.args(&["cat", "/proc/self/stat"]);
        let out = berth.output_of(&b);
        assert_eq!(sched_of(&out), want, "{sched}: {out}");
    }
}

#[test]
fn scheduler_flag_spelled_as_in_the_spec() {
    let berth = Berth::new("caps-sched-flag");
    let mut b = Bundle::new("caps-sched-flag");
    b.config["process"]["scheduler"] =
        json!({"policy": "SCHED_FIFO", "priority": 10, "flags": ["SCHED_FLAG_RESET_ON_FORK"]});
    rt_budget(&mut b);
    // The shell keeps its real-time policy; the forked cat starts over as SCHED_OTHER.
    b.sh("cat /proc/$$/stat; cat /proc/self/stat; true");
    let out = berth.output_of(&b);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(sched_of(lines[0]), (0, 10, 1), "{out}");
    assert_eq!(sched_of(lines[1]), (0, 0, 0), "{out}");
}

#[test]
fn io_priority() {
    let berth = Berth::new("caps-ioprio");
    for (class, prio, want) in [
        ("IOPRIO_CLASS_BE", 4, "best-effort: prio 4\n"),
        ("IOPRIO_CLASS_IDLE", 0, "idle\n"),
    ] {
        let mut b = Bundle::new("caps-ioprio");
        b.config["process"]["ioPriority"] = json!({"class": class, "priority": prio});
        b.sh("ionice -p $$");
        assert_eq!(berth.output_of(&b), want, "{class}");
    }
}

/// Creates `b`, expects a clean failure (nothing left behind, one error line) and
/// returns the error line.
fn create_fails(berth: &Berth, b: &Bundle, with_run: bool) -> String {
    let id = berth.id("bad");
    let before = host_mounts();
    let out = if with_run {
        berth.run_bundle(b, &id, &[])
    } else {
        berth.create(b, &id)
    };
    assert!(!out.success(), "expected failure: {out}");
    assert!(
        !berth.state_entries().iter().any(|e| e == &id),
        "state left for {id}: {:?}",
        berth.state_entries()
    );
    berth.state(&id).fails();
    assert_mounts_unchanged(&before);
    assert_no_processes(b);
    out.single_error_line()
}

fn assert_names(line: &str, parts: &[&str]) {
    for p in parts {
        assert!(line.contains(p), "{p:?} not in {line:?}");
    }
}

/// The runtime-spec: a capability that cannot be mapped to the kernel or cannot be
/// granted MUST be logged as a warning, and runtimes SHOULD NOT fail. The container runs
/// without it, and the warning names it (in runc's words).
#[test]
fn unknown_or_unavailable_capabilities_are_dropped_with_a_warning() {
    let berth = Berth::new("caps-drop");
    let host_lacks_sys_resource = host_cap_bounding() & SYS_RESOURCE == 0;
    let mut b = Bundle::new("caps-drop");
    let list = json!(["CAP_KILL", "CAP_SYS_RESOURCE", "CAP_FOO"]);
    set_caps(
        &mut b,
        json!({"bounding": list, "effective": list, "permitted": list}),
    );
    b.args(&["cat", "/proc/self/status"]);
    let id = berth.id("cd");
    let out = berth.run_bundle(&b, &id, &[]).ok();
    let want = if host_lacks_sys_resource {
        1 << 5
    } else {
        SYS_RESOURCE | 1 << 5
    };
    assert_eq!(cap_masks(&out.stdout), [0, want, want, want, 0], "{out}");
    let warning = "ignoring unknown or unavailable capabilities: [";
    assert!(
        out.stderr.contains(warning) && out.stderr.contains("CAP_FOO"),
        "{out}"
    );
    if host_lacks_sys_resource {
        assert!(out.stderr.contains("CAP_SYS_RESOURCE"), "{out}");
    }
    // Engines read warnings from --log as logrus JSON.
    let logdir = TempDir::new("caps-drop-log");
    let log = logdir.path().join("log.json");
    let id = berth.id("cl");
    b.write_config();
    let out = berth.run_global(
        &["--log", log.to_str().unwrap(), "--log-format", "json"],
        &["run", "--bundle", b.path_str(), &id],
    );
    assert_eq!(out.code, 0, "{out}");
    let text = std::fs::read_to_string(&log).unwrap();
    let line = text
        .lines()
        .find(|l| l.contains(warning))
        .unwrap_or_else(|| panic!("{text}"));
    let v: Value = serde_json::from_str(line).unwrap();
    assert_eq!(v["level"], "warning", "{line}");
}

#[test]
fn effective_outside_permitted() {
    let berth = Berth::new("caps-bad-eff");
    let mut b = Bundle::new("caps-bad-eff");
    set_caps(
        &mut b,
        json!({"bounding": ["CAP_KILL"], "effective": ["CAP_KILL"]}),
    );
    let line = create_fails(&berth, &b, false);
    assert_names(&line, &["process.capabilities.effective", "CAP_KILL"]);
}

#[test]
fn lowering_oom_score_adj_without_cap_sys_resource() {
    if host_cap_bounding() & SYS_RESOURCE != 0 {
        return;
    }
    // This one fails in the init, after the container began to exist.
    let berth = Berth::new("caps-bad-oom");
    let mut b = Bundle::new("caps-bad-oom");
    b.config["process"]["oomScoreAdj"] = json!(-500);
    let line = create_fails(&berth, &b, false);
    assert_names(&line, &["process.oomScoreAdj", "CAP_SYS_RESOURCE"]);
}

#[test]
fn lsm_labels_on_a_host_without_them() {
    let berth = Berth::new("caps-bad-lsm");
    let apparmor = std::fs::read_to_string("/sys/module/apparmor/parameters/enabled")
        .is_ok_and(|s| s.starts_with('Y'));
    if !apparmor {
        let mut b = Bundle::new("caps-bad-apparmor");
        b.config["process"]["apparmorProfile"] = json!("berth-test");
        let line = create_fails(&berth, &b, false);
        assert_names(&line, &["process.apparmorProfile", "AppArmor"]);
    }
    if !std::path::Path::new("/sys/fs/selinux/enforce").exists() {
        let mut b = Bundle::new("caps-bad-selinux");
        b.config["process"]["selinuxLabel"] = json!("system_u:system_r:container_t:s0");
        let line = create_fails(&berth, &b, false);
        assert_names(&line, &["process.selinuxLabel", "SELinux"]);
    }
}

#[test]
fn bad_scheduling_values() {
    let berth = Berth::new("caps-bad-sched");
    let cases: [(&str, Value, &str); 6] = [
        (
            "/process/scheduler",
            json!({"policy": "SCHED_ISO"}),
            "process.scheduler.policy",
        ),
        (
            "/process/scheduler",
            json!({"policy": "SCHED_FIFO"}),
            "process.scheduler.priority",
        ),
        (
            "/process/scheduler",
            json!({"policy": "SCHED_OTHER", "flags": ["SCHED_FLAG_BOGUS"]}),
            "process.scheduler.flags",
        ),
        (
            "/process/ioPriority",
            json!({"class": "IOPRIO_CLASS_BE", "priority": 9}),
            "process.ioPriority.priority",
        ),
        (
            "/linux/personality",
            json!({"domain": "LINUX", "flags": ["ADDR_NO_RANDOMIZE"]}),
            "linux.personality.flags",
        ),
        (
            "/process/execCPUAffinity",
            json!({"initial": "0", "final": "4095"}),
            "process.execCPUAffinity.final",
        ),
    ];
    for (at, value, key) in cases {
        let mut b = Bundle::new("caps-bad-sched");
        let (parent, name) = at.rsplit_once('/').unwrap();
        b.config.pointer_mut(parent).unwrap()[name] = value;
        let line = create_fails(&berth, &b, false);
        assert_names(&line, &[key]);
    }
}
