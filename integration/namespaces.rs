//! Linux namespaces: new vs. host namespaces, joining by path, user and time namespaces, pid 1.

use crate::common::*;
use serde_json::json;
use std::collections::BTreeMap;
use std::fs;

/// Namespace kinds as named under /proc/PID/ns, with their OCI config type.
const KINDS: [(&str, &str); 6] = [
    ("pid", "pid"),
    ("net", "network"),
    ("ipc", "ipc"),
    ("uts", "uts"),
    ("mnt", "mount"),
    ("cgroup", "cgroup"),
];

const PRINT_NS: &str =
    "for n in pid net ipc uts mnt cgroup user time; do echo \"$n $(readlink /proc/self/ns/$n)\"; done";

/// Runs the bundle printing its namespace links; returns kind -> link.
fn container_ns(berth: &Berth, b: &mut Bundle) -> BTreeMap<String, String> {
    b.sh(PRINT_NS);
    let out = berth.output_of(b);
    out.lines()
        .filter_map(|l| l.split_once(' '))
        .map(|(k, v)| (k.to_string(), v.trim().to_string()))
        .collect()
}

#[test]
fn configured_namespaces_are_new() {
    let berth = Berth::new("ns-new");
    let mut b = Bundle::new("ns-new");
    let ns = container_ns(&berth, &mut b);
    for (kind, _) in KINDS {
        let inside = &ns[kind];
        assert!(
            inside.starts_with(&format!("{kind}:[")),
            "{kind}: {inside:?}"
        );
        assert_ne!(inside, &host_ns(kind), "{kind} namespace should be new");
    }
    // Not configured: shared with the host.
    assert_eq!(ns["user"], host_ns("user"));
}

#[test]
fn omitted_namespaces_are_shared_with_the_host() {
    let berth = Berth::new("ns-omit");
    let mut b = Bundle::new("ns-omit");
    for ty in ["pid", "network", "ipc", "uts", "cgroup"] {
        b.remove_namespace(ty);
    }
    // A hostname needs a private UTS namespace.
    b.config.as_object_mut().unwrap().remove("hostname");
    let ns = container_ns(&berth, &mut b);
    for kind in ["pid", "net", "ipc", "uts", "cgroup"] {
        assert_eq!(
            ns[kind],
            host_ns(kind),
            "{kind} namespace should be the host's"
        );
    }
    assert_ne!(ns["mnt"], host_ns("mnt"), "mount namespace is still new");
}

#[test]
fn each_namespace_can_be_omitted_alone() {
    let berth = Berth::new("ns-omit-one");
    for (kind, ty) in KINDS {
        if ty == "mount" {
            continue;
        }
        let mut b = Bundle::new("ns-omit-one");
        b.remove_namespace(ty);
        if ty == "uts" {
            b.config.as_object_mut().unwrap().remove("hostname");
        }
        let ns = container_ns(&berth, &mut b);
        for (k, _) in KINDS {
            if k == kind {
                assert_eq!(ns[k], host_ns(k), "omitted {k} should be the host's");
            } else {
                assert_ne!(
                    ns[k],
                    host_ns(k),
                    "{k} should be new when only {kind} is omitted"
                );
            }
        }
    }
}

#[test]
fn join_namespaces_of_another_container_by_path() {
    let berth = Berth::new("ns-join");
    let mut a = Bundle::new("ns-join-a");
    a.args(&["sleep", "3600"]);
    let ida = berth.id("nsa");
    let apid = berth.start_container(&a, &ida);

    let mut b = Bundle::new("ns-join-b");
    for (kind, ty) in [("net", "network"), ("uts", "uts"), ("ipc", "ipc")] {
        b.join_namespace(ty, &format!("/proc/{apid}/ns/{kind}"));
    }
    b.config.as_object_mut().unwrap().remove("hostname");
    let ns = container_ns(&berth, &mut b);
    for kind in ["net", "uts", "ipc"] {
        assert_eq!(ns[kind], pid_ns(apid, kind), "{kind} should be A's");
        assert_ne!(ns[kind], host_ns(kind));
    }
    // The others are still new and distinct from A's.
    for kind in ["pid", "mnt"] {
        assert_ne!(ns[kind], pid_ns(apid, kind), "{kind} should not be A's");
        assert_ne!(ns[kind], host_ns(kind));
    }
    // A shares its hostname with B through the UTS namespace.
    let mut c = Bundle::new("ns-join-c");
    c.join_namespace("uts", &format!("/proc/{apid}/ns/uts"));
    c.config.as_object_mut().unwrap().remove("hostname");
    c.args(&["hostname"]);
    assert_eq!(berth.output_of(&c).trim(), "berth");
    berth.delete_force(&ida).ok();
}

#[test]
fn user_namespace_with_mappings() {
    let berth = Berth::new("ns-user");
    let mut b = Bundle::new("ns-user");
    b.add_namespace("user");
    b.config["linux"]["uidMappings"] = json!([{"containerID": 0, "hostID": 100000, "size": 65536}]);
    b.config["linux"]["gidMappings"] = json!([{"containerID": 0, "hostID": 100000, "size": 65536}]);
    b.sh(
        "cat /proc/self/uid_map; cat /proc/self/gid_map; id -u; id -g; readlink /proc/self/ns/user",
    );
    let out = berth.output_of(&b);
    let lines: Vec<Vec<&str>> = out
        .lines()
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert_eq!(lines.len(), 5, "{out}");
    assert_eq!(lines[0], ["0", "100000", "65536"], "uid_map: {out}");
    assert_eq!(lines[1], ["0", "100000", "65536"], "gid_map: {out}");
    assert_eq!(lines[2], ["0"], "id -u: {out}");
    assert_eq!(lines[3], ["0"], "id -g: {out}");
    assert_ne!(lines[4][0], host_ns("user"), "{out}");
}

#[test]
fn user_namespace_process_runs_as_mapped_host_uid() {
    let berth = Berth::new("ns-user-host");
    let mut b = Bundle::new("ns-user-host");
    b.add_namespace("user");
    b.config["linux"]["uidMappings"] = json!([{"containerID": 0, "hostID": 100000, "size": 65536}]);
    b.config["linux"]["gidMappings"] = json!([{"containerID": 0, "hostID": 100000, "size": 65536}]);
    b.args(&["sleep", "3600"]);
    let id = berth.id("uh");
    let pid = berth.start_container(&b, &id);
    let status = fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let uid_line = status.lines().find(|l| l.starts_with("Uid:")).unwrap();
    let gid_line = status.lines().find(|l| l.starts_with("Gid:")).unwrap();
    assert_eq!(
        uid_line.split_whitespace().skip(1).collect::<Vec<_>>(),
        ["100000"; 4],
        "{uid_line}"
    );
    assert_eq!(
        gid_line.split_whitespace().skip(1).collect::<Vec<_>>(),
        ["100000"; 4],
        "{gid_line}"
    );
    berth.delete_force(&id).ok();
}

#[test]
fn time_namespace_offsets() {
    let berth = Berth::new("ns-time");
    let mut b = Bundle::new("ns-time");
    b.add_namespace("time");
    let secs = 86_400_i64 * 1000;
    // /proc/uptime follows CLOCK_BOOTTIME, so set both clocks.
    b.config["linux"]["timeOffsets"] = json!({
        "monotonic": {"secs": secs, "nanosecs": 0},
        "boottime": {"secs": secs, "nanosecs": 0}
    });
    b.sh("cat /proc/self/timens_offsets; cat /proc/uptime");
    let out = berth.output_of(&b);
    let mut offsets = BTreeMap::new();
    let mut uptime = None;
    for l in out.lines() {
        let f: Vec<&str> = l.split_whitespace().collect();
        match f.as_slice() {
            [clock, s, _ns] if !clock.starts_with(|c: char| c.is_ascii_digit()) => {
                offsets.insert(clock.to_string(), s.to_string());
            }
            [up, _idle] => uptime = up.parse::<f64>().ok(),
            _ => {}
        }
    }
    let want = secs.to_string();
    assert_eq!(offsets.get("monotonic"), Some(&want), "{out}");
    assert_eq!(offsets.get("boottime"), Some(&want), "{out}");
    let uptime = uptime.unwrap_or_else(|| panic!("no uptime in {out}"));
    assert!(uptime >= secs as f64, "uptime {uptime} < {secs}");
}

#[test]
fn process_is_pid_1_in_new_pid_namespace() {
    let berth = Berth::new("ns-pid1");
    let mut b = Bundle::new("ns-pid1");
    b.sh("echo $$; ps -o pid,args | wc -l");
    let out = berth.output_of(&b);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.first().copied(), Some("1"), "{out}");
    // Only the shell and ps (and the header) are visible: no host processes.
    let count: usize = lines[1].trim().parse().unwrap();
    assert!(count <= 5, "too many processes visible: {out}");
}

#[test]
fn join_user_namespace_and_create_the_rest_under_it() {
    let berth = Berth::new("ns-join-user");
    let mut a = Bundle::new("ns-join-user-a");
    a.add_namespace("user");
    a.config["linux"]["uidMappings"] = json!([{"containerID": 0, "hostID": 100000, "size": 65536}]);
    a.config["linux"]["gidMappings"] = json!([{"containerID": 0, "hostID": 100000, "size": 65536}]);
    a.args(&["sleep", "3600"]);
    let ida = berth.id("ua");
    let apid = berth.start_container(&a, &ida);

    // B joins A's user namespace; its new pid, mount and uts namespaces need the
    // runtime's second fork and must be owned by A's user namespace.
    let mut b = Bundle::new("ns-join-user-b");
    b.join_namespace("user", &format!("/proc/{apid}/ns/user"));
    b.sh("echo $$; cat /proc/self/uid_map; readlink /proc/self/ns/user; readlink /proc/self/ns/pid; hostname");
    let out = berth.output_of(&b);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 5, "{out}");
    assert_eq!(lines[0], "1", "pid 1 in a new pid namespace: {out}");
    assert_eq!(
        lines[1].split_whitespace().collect::<Vec<_>>(),
        ["0", "100000", "65536"]
    );
    assert_eq!(lines[2], pid_ns(apid, "user"));
    assert_ne!(lines[3], pid_ns(apid, "pid"));
    assert_ne!(lines[3], host_ns("pid"));
    assert_eq!(lines[4], "berth");
    berth.delete_force(&ida).ok();
}

#[test]
fn join_pid_namespace_by_path() {
    let berth = Berth::new("ns-join-pid");
    let mut a = Bundle::new("ns-join-pid-a");
    a.args(&["sleep", "3600"]);
    let ida = berth.id("pa");
    let apid = berth.start_container(&a, &ida);

    let mut b = Bundle::new("ns-join-pid-b");
    b.join_namespace("pid", &format!("/proc/{apid}/ns/pid"));
    // B sees A's sleep as pid 1 and is not pid 1 itself.
    b.sh("readlink /proc/self/ns/pid; cat /proc/1/cmdline | tr '\\0' ' '; echo; echo $$");
    let out = berth.output_of(&b);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 3, "{out}");
    assert_eq!(lines[0], pid_ns(apid, "pid"));
    assert_eq!(lines[1].trim(), "sleep 3600");
    assert_ne!(lines[2], "1");
    berth.delete_force(&ida).ok();
}

#[test]
fn hostname_in_a_joined_uts_namespace_renames_it() {
    let berth = Berth::new("ns-join-uts-name");
    let mut a = Bundle::new("ns-join-uts-name-a");
    a.args(&["sleep", "3600"]);
    let ida = berth.id("ua");
    let apid = berth.start_container(&a, &ida);

    // As runc: B's hostname and domainname are set in A's UTS namespace, which B joined.
    let mut b = Bundle::new("ns-join-uts-name-b");
    b.join_namespace("uts", &format!("/proc/{apid}/ns/uts"));
    b.config["hostname"] = json!("joined");
    b.config["domainname"] = json!("joined.dom");
    b.sh("hostname; cat /proc/sys/kernel/domainname");
    assert_eq!(berth.output_of(&b), "joined\njoined.dom\n");
    let names = std::process::Command::new("nsenter")
        .args([
            "-u",
            "-t",
            &apid.to_string(),
            "cat",
            "/proc/sys/kernel/hostname",
        ])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&names.stdout), "joined\n");
    assert_ne!(host_ns("uts"), pid_ns(apid, "uts"));
    berth.delete_force(&ida).ok();
}

/// A host process in a mount namespace of its own (a private copy of the host's).
struct MountNsHolder(std::process::Child);

impl MountNsHolder {
    fn new() -> MountNsHolder {
        let child = std::process::Command::new("unshare")
            .args(["-m", "--propagation", "private", "sleep", "3600"])
            .spawn()
            .expect("spawn unshare");
        let me = MountNsHolder(child);
        wait_until("unshare's mount namespace", || {
            pid_ns(me.pid(), "mnt") != host_ns("mnt")
        });
        me
    }
    fn pid(&self) -> i32 {
        self.0.id() as i32
    }
}

impl Drop for MountNsHolder {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn join_mount_namespace_by_path() {
    let berth = Berth::new("ns-join-mnt");
    let holder = MountNsHolder::new();
    let mnt = pid_ns(holder.pid(), "mnt");
    let mut b = Bundle::new("ns-join-mnt");
    b.join_namespace("mount", &format!("/proc/{}/ns/mnt", holder.pid()));
    b.write_rootfs_file("/marker", "in the rootfs\n");
    // The rootfs is set up in the joined namespace: /proc is the container's.
    b.sh("readlink /proc/self/ns/mnt; cat /marker; echo $$");
    let out = berth.output_of(&b);
    assert_eq!(out, format!("{mnt}\nin the rootfs\n1\n"));
    // Nothing of it reached the host's mount namespace.
    let prefix = b.path_str().to_string();
    assert!(
        !fs::read_to_string("/proc/self/mountinfo")
            .unwrap()
            .contains(&prefix),
        "container mounts leaked to the host"
    );
}

#[test]
fn without_mount_namespace_the_host_mounts_are_shared() {
    let berth = Berth::new("ns-no-mnt");
    let mut b = Bundle::new("ns-no-mnt");
    b.remove_namespace("mount");
    b.readonly(false);
    let linux = b.config["linux"].as_object_mut().unwrap();
    linux.remove("maskedPaths");
    linux.remove("readonlyPaths");
    b.write_rootfs_file("/marker", "in the rootfs\n");
    b.sh("cat /marker; sleep 3600");
    let id = berth.id("nomnt");
    let pid = berth.start_container(&b, &id);
    assert_eq!(pid_ns(pid, "mnt"), host_ns("mnt"));
    // Chrooted into the rootfs, and nothing mounted on the host for it.
    assert_eq!(
        fs::read_link(format!("/proc/{pid}/root")).unwrap(),
        b.rootfs().canonicalize().unwrap()
    );
    // (Only below the bundle: tests running alongside mount elsewhere.)
    let table = fs::read_to_string("/proc/self/mountinfo").unwrap();
    assert!(
        !table.contains(b.path_str()),
        "mounted on the host: {table}"
    );
    // exec stands in the same root as the init, not the host's.
    let out = berth.run(&["exec", &id, "cat", "/marker"]).ok();
    assert_eq!(out.stdout, "in the rootfs\n");
    berth.delete_force(&id).ok();

    // Masks need mounts: refused, as runc refuses them.
    let mut c = Bundle::new("ns-no-mnt-masks");
    c.remove_namespace("mount");
    c.readonly(false);
    let out = berth.run_bundle(&c, &berth.id("nomnt-masks"), &[]).fails();
    assert!(out.stderr.contains("linux.maskedPaths"), "{out}");
}
