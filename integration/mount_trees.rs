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
    let mut b = Bundle::new("trees-locked");
    add_userns(&mut b);
    assert_read_only_stays_locked(&berth, b);
}

/// The same when the container joins another's user namespace: the parent waits until
/// the init has made its mount namespace under it.
#[test]
fn joined_userns_bind_keeps_the_hosts_read_only_locked() {
    let berth = Berth::new("trees-locked-join");
    let mut a = Bundle::new("trees-locked-join-a");
    add_userns(&mut a);
    a.args(&["sleep", "3600"]);
    let ida = berth.id("a");
    let apid = berth.start_container(&a, &ida);
    let mut b = Bundle::new("trees-locked-join-b");
    b.join_namespace("user", &format!("/proc/{apid}/ns/user"));
    assert_read_only_stays_locked(&berth, b);
    berth.delete_force(&ida).ok();
}

fn assert_read_only_stays_locked(berth: &Berth, mut b: Bundle) {
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
    let caps = json!(["CAP_SYS_ADMIN"]);
    for set in ["bounding", "effective", "permitted"] {
        b.config["process"]["capabilities"][set] = caps.clone();
    }
    mount_points(&b, &["/mnt/ro"]);
    b.add_mount(bind(src, "/mnt/ro", &["bind"]));
    b.sh("mount -o remount,bind,rw /mnt/ro 2>/dev/null && echo remounted; touch /mnt/ro/x 2>/dev/null && echo wrote; echo done");
    let out = berth.run_bundle(&b, &berth.id("l"), &[]);
    let _ = Command::new("umount").arg(src).status();
    assert_eq!(out.ok().stdout.trim(), "done");
}

/// `<tmp>/src` (world-writable) with `owned5`, owned by 5:5 on disk.
fn idmap_source(host: &TempDir) -> String {
    let src = host.path().join("src");
    fs::create_dir(&src).unwrap();
    fs::set_permissions(&src, fs::Permissions::from_mode(0o777)).unwrap();
    let f = src.join("owned5");
    fs::write(&f, "").unwrap();
    std::os::unix::fs::chown(&f, Some(5), Some(5)).unwrap();
    src.to_str().unwrap().to_string()
}

fn host_owner(path: &std::path::Path) -> String {
    use std::os::unix::fs::MetadataExt;
    let m = fs::metadata(path).unwrap();
    format!("{}:{}", m.uid(), m.gid())
}

/// Runs the bundle; None (with a note) when the kernel refuses to idmap the temp dir's
/// filesystem, which is the host's business, not berth's.
fn output_if_idmap_supported(berth: &Berth, b: &Bundle, id: &str) -> Option<String> {
    let out = berth.run_bundle(b, id, &[]);
    if out.stderr.contains("support idmapped mounts") {
        eprintln!(
            "skipped: the filesystem of {} does not support idmapped mounts: {}",
            std::env::temp_dir().display(),
            out.stderr.trim()
        );
        return None;
    }
    Some(out.ok().stdout)
}

#[test]
fn idmapped_bind_without_a_user_namespace() {
    let berth = Berth::new("idmap-nouserns");
    let host = TempDir::new("idmap-nouserns");
    let src = idmap_source(&host);
    let mut b = Bundle::new("idmap-nouserns");
    // On disk 0.. is 2000.. through the mount.
    let maps = json!([{"containerID": 0, "hostID": 2000, "size": 1000}]);
    b.add_mount(
        json!({"source": src, "destination": "/mnt/id", "type": "bind",
        "options": ["bind"], "uidMappings": maps, "gidMappings": maps}),
    );
    b.config["process"]["user"] = json!({"uid": 2010, "gid": 2010});
    b.sh("stat -c %u:%g /mnt/id/owned5; touch /mnt/id/new");
    let Some(out) = output_if_idmap_supported(&berth, &b, &berth.id("n")) else {
        return;
    };
    assert_eq!(out.trim(), "2005:2005", "owned5 through the mount");
    let made = std::path::Path::new(&src).join("new");
    assert_eq!(host_owner(&made), "10:10", "uid 2010's file on disk");
}

#[test]
fn idmap_option_takes_the_containers_mappings() {
    let berth = Berth::new("idmap-userns");
    let host = TempDir::new("idmap-userns");
    let src = idmap_source(&host);
    let mut b = Bundle::new("idmap-userns");
    add_userns(&mut b);
    mount_points(&b, &["/mnt/id"]);
    b.add_mount(bind(&src, "/mnt/id", &["bind", "idmap"]));
    b.sh("stat -c %u:%g /mnt/id/owned5; touch /mnt/id/new");
    let Some(out) = output_if_idmap_supported(&berth, &b, &berth.id("u")) else {
        return;
    };
    // Without the idmapping: 65534:65534 (unmapped) and a file of host uid 100000.
    assert_eq!(out.trim(), "5:5", "owned5 seen from the user namespace");
    let made = std::path::Path::new(&src).join("new");
    assert_eq!(
        host_owner(&made),
        "0:0",
        "the container root's file on disk"
    );
}

/// crun's form of the option, with mappings of its own (not the container's): on disk
/// 0.. is host 101000.., which the container's user namespace (0 → 100000) shows as 1000..
#[test]
fn idmap_option_with_its_own_mappings_in_a_user_namespace() {
    let berth = Berth::new("idmap-own");
    let host = TempDir::new("idmap-own");
    let src = idmap_source(&host);
    let mut b = Bundle::new("idmap-own");
    add_userns(&mut b);
    mount_points(&b, &["/mnt/id"]);
    let opt = "idmap=uids=0-101000-1000;gids=0-101000-1000";
    b.add_mount(bind(&src, "/mnt/id", &["bind", opt]));
    b.config["process"]["user"] = json!({"uid": 1010, "gid": 1010});
    b.sh("stat -c %u:%g /mnt/id/owned5; touch /mnt/id/new");
    let Some(out) = output_if_idmap_supported(&berth, &b, &berth.id("o")) else {
        return;
    };
    assert_eq!(
        out.trim(),
        "1005:1005",
        "owned5 seen from the user namespace"
    );
    let made = std::path::Path::new(&src).join("new");
    assert_eq!(host_owner(&made), "10:10", "uid 1010's file on disk");
}

#[test]
fn idmap_config_errors_are_one_line_naming_the_key() {
    let berth = Berth::new("idmap-errors");
    let host = TempDir::new("idmap-errors");
    let maps = json!([{"containerID": 0, "hostID": 2000, "size": 10}]);
    let cases = [
        // `idmap` alone takes the container's mappings: there are none.
        (
            bind(host.path_str(), "/mnt/id", &["bind", "idmap"]),
            "mounts[6].uidMappings: missing",
        ),
        (
            json!({"source": "tmpfs", "destination": "/mnt/id", "type": "tmpfs",
                   "uidMappings": maps, "gidMappings": maps}),
            "mounts[6].uidMappings: idmapped mounts must be bind mounts",
        ),
        (
            json!({"source": host.path_str(), "destination": "/mnt/id", "type": "bind",
                   "options": ["bind"], "uidMappings": maps}),
            "mounts[6].gidMappings: missing",
        ),
    ];
    for (i, (mount, want)) in cases.into_iter().enumerate() {
        let mut b = Bundle::new("idmap-errors");
        b.add_mount(mount);
        let out = berth
            .run_bundle(&b, &berth.id(&format!("e{i}")), &[])
            .fails();
        let line = out.single_error_line();
        assert!(line.contains(want), "{line}");
        assert!(berth.state_entries().is_empty(), "left behind: {out}");
    }
}

/// A container that joins another's user namespace (and makes its mount namespace
/// under it) gets the trees the same way.
#[test]
fn joined_userns_bind_source_only_host_root_can_reach() {
    let berth = Berth::new("trees-join");
    let host = TempDir::new("trees-join");
    let src = private_source(&host);
    let mut a = Bundle::new("trees-join-a");
    add_userns(&mut a);
    a.args(&["sleep", "3600"]);
    let ida = berth.id("a");
    let apid = berth.start_container(&a, &ida);
    let mut b = Bundle::new("trees-join-b");
    b.join_namespace("user", &format!("/proc/{apid}/ns/user"));
    mount_points(&b, &["/mnt/a"]);
    b.add_mount(bind(&src, "/mnt/a", &["bind"]));
    b.sh("cat /mnt/a/foo.txt");
    let out = berth.output_of(&b);
    berth.delete_force(&ida).ok();
    assert_eq!(out, "only-root\n");
}
