//! Bind sources opened by the runtime as host root (a user-namespaced container's init
//! could not reach them), and idmapped mounts.

use crate::common::*;
use serde_json::{json, Value};
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::process::Command;

fn add_userns(b: &mut Bundle) {
    b.add_namespace("user");
    b.config["linux"]["uidMappings"] = json!([{"containerID": 0, "hostID": 100000, "size": 65536}]);
    b.config["linux"]["gidMappings"] = json!([{"containerID": 0, "hostID": 100000, "size": 65536}]);
}

/// `<tmp>/private` (0700, root's) holding `dir/foo.txt`: only host root reaches `dir`.
fn private_source(host: &TempDir) -> String {
    let private = host.path().join("private");
    fs::create_dir_all(private.join("dir")).unwrap();
    fs::write(private.join("dir/foo.txt"), "only-root\n").unwrap();
    fs::set_permissions(&private, fs::Permissions::from_mode(0o700)).unwrap();
    private.join("dir").to_str().unwrap().to_string()
}

/// The container's root (host uid 100000) cannot make directories in the image (host
/// root's), so the mount points are made beforehand, as runc's tests do.
fn mount_points(b: &Bundle, dirs: &[&str]) {
    for d in dirs {
        fs::create_dir_all(b.rootfs().join(d.trim_start_matches('/'))).unwrap();
    }
}

fn bind(src: &str, dest: &str, options: &[&str]) -> Value {
    json!({"source": src, "destination": dest, "type": "bind", "options": options})
}

#[test]
fn userns_bind_source_only_host_root_can_reach() {
    let berth = Berth::new("trees-userns");
    let host = TempDir::new("trees-userns");
    let src = private_source(&host);
    let mut b = Bundle::new("trees-userns");
    add_userns(&mut b);
    mount_points(&b, &["/mnt/a", "/mnt/b"]);
    b.add_mount(bind(&src, "/mnt/a", &["bind"]));
    // A second one, as runc's test has (a bug once hit only the second), read-only.
    b.add_mount(bind(&src, "/mnt/b", &["rbind", "ro"]));
    b.sh("cat /mnt/a/foo.txt /mnt/b/foo.txt; touch /mnt/b/x 2>&1 || echo refused");
    let out = berth.output_of(&b);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[..2], ["only-root", "only-root"], "{out}");
    assert_eq!(
        lines.last(),
        Some(&"refused"),
        "the ro bind must stay read-only: {out}"
    );
}

#[test]
fn exec_into_userns_container_with_unreachable_bind_source() {
    let berth = Berth::new("trees-exec");
    let host = TempDir::new("trees-exec");
    let src = private_source(&host);
    let mut b = Bundle::new("trees-exec");
    add_userns(&mut b);
    mount_points(&b, &["/mnt/a"]);
    b.add_mount(bind(&src, "/mnt/a", &["bind"]));
    b.args(&["sleep", "3600"]);
    let id = berth.id("e");
    berth.start_container(&b, &id);
    let out = berth.run(&["exec", &id, "cat", "/mnt/a/foo.txt"]).ok();
    assert_eq!(out.stdout, "only-root\n", "{out}");
    // Nothing of the runtime's is left open in the container process: the trees were
    // closed once attached.
    let out = berth.run(&["exec", &id, "ls", "/proc/1/fd"]).ok();
    let fds: Vec<&str> = out.stdout.split_whitespace().collect();
    assert_eq!(fds, ["0", "1", "2"], "{out}");
    berth.delete_force(&id).ok();
}

/// A host mount made read-only stays read-only for good in a user-namespaced container,
/// even one with CAP_SYS_ADMIN: the tree was cloned from the init's mount namespace,
/// where the host's flags are locked, not from the host's own.
#[test]
fn userns_bind_keeps_the_hosts_read_only_locked() {
    let berth = Berth::new("trees-locked");
    let host = TempDir::new("trees-locked");
    let src = host.path().join("ro");
    fs::create_dir(&src).unwrap();
    let src = src.to_str().unwrap();
    let sh = |c: &str| {
        let st = Command::new("sh").arg("-c").arg(c).status().unwrap();
        assert!(st.success(), "{c}");
    };
    sh(&format!(
        "mount --bind {src} {src} && mount -o remount,bind,ro {src}"
    ));
    let mut b = Bundle::new("trees-locked");
    add_userns(&mut b);
    let caps = json!(["CAP_SYS_ADMIN"]);
    for set in ["bounding", "effective", "permitted"] {
        b.config["process"]["capabilities"][set] = caps.clone();
    }
    mount_points(&b, &["/mnt/ro"]);
    b.add_mount(bind(src, "/mnt/ro", &["bind"]));
    b.sh("mount -o remount,bind,rw /mnt/ro 2>/dev/null && echo remounted; touch /mnt/ro/x 2>/dev/null && echo wrote; echo done");
    let out = berth.output_of(&b);
    let _ = Command::new("umount").arg(src).status();
    assert_eq!(out.trim(), "done", "{out}");
}
