//! The container filesystem: default mounts, bind/rbind/tmpfs mounts, read-only root, masked and read-only paths, devices, hostname/domainname, sysctl, mount-target safety, --no-pivot.

use crate::common::*;
use serde_json::json;
use std::fs;
use std::os::unix::fs::symlink;

/// Runs `script` in the bundle and returns (stdout, the mount table parsed from the part of
/// stdout after a `@@MOUNTS@@` marker line).
fn run_with_mounts(berth: &Berth, b: &mut Bundle, script: &str) -> (String, Vec<MountEntry>) {
    b.sh(&format!(
        "{script}; echo @@MOUNTS@@; cat /proc/self/mountinfo"
    ));
    let out = berth.output_of(b);
    let (head, mounts) = out
        .split_once("@@MOUNTS@@\n")
        .unwrap_or_else(|| panic!("no mount table in {out}"));
    (head.to_string(), parse_mountinfo(mounts))
}

#[test]
fn default_mounts() {
    let berth = Berth::new("rootfs-default");
    let mut b = Bundle::new("rootfs-default");
    let (_, m) = run_with_mounts(&berth, &mut b, "true");
    assert_eq!(expect_mount(&m, "/proc").fstype, "proc");
    let dev = expect_mount(&m, "/dev");
    assert_eq!(dev.fstype, "tmpfs");
    assert!(dev.has_option("nosuid"), "{dev:?}");
    assert!(dev.has_super_option("mode=755"), "{dev:?}");
    assert_eq!(expect_mount(&m, "/dev/pts").fstype, "devpts");
    let shm = expect_mount(&m, "/dev/shm");
    assert_eq!(shm.fstype, "tmpfs");
    for o in ["nosuid", "noexec", "nodev"] {
        assert!(shm.has_option(o), "/dev/shm lacks {o}: {shm:?}");
    }
    assert_eq!(expect_mount(&m, "/dev/mqueue").fstype, "mqueue");
    let sys = expect_mount(&m, "/sys");
    assert_eq!(sys.fstype, "sysfs");
    assert!(sys.has_option("ro"), "/sys should be ro: {sys:?}");
    // The base config has root.readonly = true.
    assert!(expect_mount(&m, "/").has_option("ro"));
    // The host's own mounts are not visible (the old root was unmounted).
    let host_mp: Vec<String> =
        parse_mountinfo(&fs::read_to_string("/proc/self/mountinfo").unwrap())
            .into_iter()
            .map(|e| e.mount_point)
            .filter(|mp| mp.starts_with("/sys/fs/cgroup/"))
            .collect();
    for mp in host_mp {
        assert!(find_mount(&m, &mp).is_none(), "host mount {mp} leaked in");
    }
}

#[test]
fn bind_mount_with_options() {
    let berth = Berth::new("rootfs-bind");
    let host = TempDir::new("bind-src");
    fs::write(host.path().join("hello.txt"), "bind-content\n").unwrap();
    let mut b = Bundle::new("rootfs-bind");
    b.add_mount(json!({
        "destination": "/mnt/bound",
        "type": "bind",
        "source": host.path_str(),
        "options": ["bind", "ro", "nosuid", "noexec", "nodev"]
    }));
    let (out, m) = run_with_mounts(
        &berth,
        &mut b,
        "cat /mnt/bound/hello.txt; touch /mnt/bound/new 2>/dev/null && echo WROTE",
    );
    assert_eq!(out, "bind-content\n");
    let e = expect_mount(&m, "/mnt/bound");
    for o in ["ro", "nosuid", "noexec", "nodev"] {
        assert!(e.has_option(o), "bind mount lacks {o}: {e:?}");
    }
    assert_eq!(host.entries(), ["hello.txt"]);
}

#[test]
fn bind_mount_read_write() {
    let berth = Berth::new("rootfs-bind-rw");
    let host = TempDir::new("bind-rw");
    let mut b = Bundle::new("rootfs-bind-rw");
    b.add_mount(json!({
        "destination": "/data",
        "type": "none",
        "source": host.path_str(),
        "options": ["rbind", "rw"]
    }));
    b.sh("echo from-container > /data/out.txt");
    berth.output_of(&b);
    assert_eq!(
        fs::read_to_string(host.path().join("out.txt")).unwrap(),
        "from-container\n"
    );
}

#[test]
fn rbind_includes_submounts_and_bind_does_not() {
    let berth = Berth::new("rootfs-rbind");
    // Host /dev normally carries submounts (pts, shm...). Use them as the recursive part.
    let subs: Vec<String> = parse_mountinfo(&fs::read_to_string("/proc/self/mountinfo").unwrap())
        .into_iter()
        .filter_map(|e| e.mount_point.strip_prefix("/dev/").map(str::to_string))
        .collect();
    assert!(
        !subs.is_empty(),
        "host /dev has no submounts to test rbind with"
    );
    let mut b = Bundle::new("rootfs-rbind");
    b.add_mount(json!({
        "destination": "/mnt/rdev",
        "type": "bind",
        "source": "/dev",
        "options": ["rbind", "nosuid", "noexec"]
    }));
    b.add_mount(json!({
        "destination": "/mnt/pdev",
        "type": "bind",
        "source": "/dev",
        "options": ["bind", "nosuid", "noexec"]
    }));
    let (_, m) = run_with_mounts(&berth, &mut b, "true");
    expect_mount(&m, "/mnt/rdev");
    expect_mount(&m, "/mnt/pdev");
    for s in &subs {
        expect_mount(&m, &format!("/mnt/rdev/{s}"));
    }
    let under_plain: Vec<&MountEntry> = m
        .iter()
        .filter(|e| e.mount_point.starts_with("/mnt/pdev/"))
        .collect();
    assert!(
        under_plain.is_empty(),
        "plain bind is recursive: {under_plain:?}"
    );
}

#[test]
fn tmpfs_with_size_and_mode() {
    let berth = Berth::new("rootfs-tmpfs");
    let mut b = Bundle::new("rootfs-tmpfs");
    b.add_mount(json!({
        "destination": "/mnt/small",
        "type": "tmpfs",
        "source": "tmpfs",
        "options": ["nosuid", "nodev", "size=1m", "mode=700"]
    }));
    let (out, m) = run_with_mounts(
        &berth,
        &mut b,
        "stat -c %a /mnt/small; echo x > /mnt/small/f && echo writable",
    );
    assert_eq!(out, "700\nwritable\n");
    let e = expect_mount(&m, "/mnt/small");
    assert_eq!(e.fstype, "tmpfs");
    assert!(e.has_super_option("size=1024k"), "{e:?}");
    assert!(e.has_super_option("mode=700"), "{e:?}");
    assert!(e.has_option("nosuid") && e.has_option("nodev"), "{e:?}");
}

#[test]
fn readonly_root() {
    let berth = Berth::new("rootfs-ro");
    let mut b = Bundle::new("rootfs-ro");
    b.readonly(true);
    let (out, m) = run_with_mounts(
        &berth,
        &mut b,
        "touch /x 2>&1; echo rc=$?; touch /dev/shm/ok && echo shm-ok",
    );
    assert!(out.contains("Read-only file system"), "{out}");
    assert!(!out.contains("rc=0"), "{out}");
    assert!(out.contains("shm-ok"), "tmpfs mounts stay writable: {out}");
    assert!(expect_mount(&m, "/").has_option("ro"));
    assert!(!b.rootfs().join("x").exists());
}

#[test]
fn writable_root() {
    let berth = Berth::new("rootfs-rw");
    let mut b = Bundle::new("rootfs-rw");
    b.readonly(false);
    let (out, m) = run_with_mounts(&berth, &mut b, "echo hi > /created && echo ok");
    assert_eq!(out, "ok\n");
    assert!(expect_mount(&m, "/").has_option("rw"));
    assert_eq!(
        fs::read_to_string(b.rootfs().join("created")).unwrap(),
        "hi\n"
    );
}

#[test]
fn masked_paths() {
    let berth = Berth::new("rootfs-masked");
    let mut b = Bundle::new("rootfs-masked");
    b.write_rootfs_file("etc/secret", "TOPSECRET\n");
    b.write_rootfs_file("etc/secretdir/inner", "INNERSECRET\n");
    let masked = b.config["linux"]["maskedPaths"].as_array_mut().unwrap();
    masked.push(json!("/etc/secret"));
    masked.push(json!("/etc/secretdir"));
    masked.push(json!("/does/not/exist"));
    let (out, m) = run_with_mounts(
        &berth,
        &mut b,
        "cat /etc/secret; echo '|'; ls -A /etc/secretdir; echo '|'; cat /etc/secretdir/inner 2>/dev/null; echo end",
    );
    assert!(!out.contains("SECRET"), "masked content visible: {out}");
    assert_eq!(out, "|\n|\nend\n");
    assert_eq!(expect_mount(&m, "/etc/secretdir").fstype, "tmpfs");
    expect_mount(&m, "/etc/secret");
    // The default masks of the base config are applied too (those that exist here).
    for p in base_config()["linux"]["maskedPaths"].as_array().unwrap() {
        let p = p.as_str().unwrap();
        if std::path::Path::new(p).exists() {
            expect_mount(&m, p);
        }
    }
}

#[test]
fn readonly_paths() {
    let berth = Berth::new("rootfs-ropaths");
    let mut b = Bundle::new("rootfs-ropaths");
    b.readonly(false);
    b.write_rootfs_file("etc/rodir/file", "keep\n");
    b.config["linux"]["readonlyPaths"]
        .as_array_mut()
        .unwrap()
        .push(json!("/etc/rodir"));
    let (out, m) = run_with_mounts(
        &berth,
        &mut b,
        "cat /etc/rodir/file; touch /etc/rodir/new 2>/dev/null && echo RO-WRITABLE; \
         touch /etc/other && echo other-ok; (echo 1 > /proc/sys/kernel/domainname) 2>/dev/null && echo PROC-WRITABLE; true",
    );
    assert_eq!(out, "keep\nother-ok\n");
    assert!(expect_mount(&m, "/etc/rodir").has_option("ro"));
    assert!(expect_mount(&m, "/proc/sys").has_option("ro"));
    assert!(!b.rootfs().join("etc/rodir/new").exists());
}

#[test]
fn default_devices() {
    let berth = Berth::new("rootfs-devices");
    let mut b = Bundle::new("rootfs-devices");
    b.sh(
        "for d in null zero full random urandom tty; do stat -c '%n %F %t:%T' /dev/$d; done; \
         for l in ptmx fd stdin stdout stderr; do echo \"$l -> $(readlink /dev/$l)\"; done; \
         echo x > /dev/null && echo null-ok; head -c 4 /dev/zero | wc -c",
    );
    let out = berth.output_of(&b);
    let expect = [
        "/dev/null character special file 1:3",
        "/dev/zero character special file 1:5",
        "/dev/full character special file 1:7",
        "/dev/random character special file 1:8",
        "/dev/urandom character special file 1:9",
        "/dev/tty character special file 5:0",
        "ptmx -> pts/ptmx",
        "fd -> /proc/self/fd",
        "stdin -> /proc/self/fd/0",
        "stdout -> /proc/self/fd/1",
        "stderr -> /proc/self/fd/2",
        "null-ok",
        "4",
    ];
    let lines: Vec<&str> = out.lines().map(str::trim).collect();
    assert_eq!(lines, expect, "{out}");
}

#[test]
fn configured_device_is_created() {
    let berth = Berth::new("rootfs-mydev");
    let mut b = Bundle::new("rootfs-mydev");
    b.config["linux"]["devices"] = json!([{
        "path": "/dev/mydev",
        "type": "c",
        "major": 10,
        "minor": 229,
        "fileMode": 0o666,
        "uid": 0,
        "gid": 0
    }]);
    b.args(&["stat", "-c", "%F %t:%T %a %u:%g", "/dev/mydev"]);
    let out = berth.output_of(&b);
    assert_eq!(out.trim(), "character special file a:e5 666 0:0");
}

/// A node of linux.devices may live outside /dev, as with runc.
#[test]
fn configured_device_outside_dev() {
    let berth = Berth::new("rootfs-devout");
    let mut b = Bundle::new("rootfs-devout");
    b.config["linux"]["devices"] = json!([{"path": "/mnt/nodes/null2", "type": "c", "major": 1, "minor": 3, "fileMode": 0o666}]);
    b.sh("stat -c '%F %t:%T' /mnt/nodes/null2; echo x > /mnt/nodes/null2 && echo written");
    let out = berth.output_of(&b);
    assert_eq!(out, "character special file 1:3\nwritten\n");
}

#[test]
fn hostname() {
    let berth = Berth::new("rootfs-hostname");
    let mut b = Bundle::new("rootfs-hostname");
    b.config["hostname"] = json!("berth-host");
    b.sh("hostname; cat /proc/sys/kernel/hostname");
    let out = berth.output_of(&b);
    assert_eq!(out, "berth-host\nberth-host\n");
}

#[test]
fn domainname() {
    let berth = Berth::new("rootfs-domainname");
    let mut b = Bundle::new("rootfs-domainname");
    b.config["domainname"] = json!("example.org");
    b.sh("hostname; cat /proc/sys/kernel/domainname");
    let out = berth.output_of(&b);
    assert_eq!(out, "berth\nexample.org\n");
}

#[test]
fn sysctl_is_applied_in_the_container_only() {
    let berth = Berth::new("rootfs-sysctl");
    let host_before = fs::read_to_string("/proc/sys/net/ipv4/ip_forward").unwrap();
    let mut b = Bundle::new("rootfs-sysctl");
    b.config["linux"]["sysctl"] = json!({"net.ipv4.ip_forward": "1"});
    b.args(&["cat", "/proc/sys/net/ipv4/ip_forward"]);
    assert_eq!(berth.output_of(&b).trim(), "1");
    let host_after = fs::read_to_string("/proc/sys/net/ipv4/ip_forward").unwrap();
    assert_eq!(host_before, host_after, "host sysctl changed");
}

#[test]
fn missing_mount_destinations_are_created() {
    let berth = Berth::new("rootfs-mkdir");
    let host = TempDir::new("file-src");
    let src_file = host.path().join("injected.conf");
    fs::write(&src_file, "injected\n").unwrap();
    let mut b = Bundle::new("rootfs-mkdir");
    b.add_mount(json!({
        "destination": "/new/dir/deep",
        "type": "tmpfs",
        "source": "tmpfs",
        "options": ["size=1m"]
    }));
    b.add_mount(json!({
        "destination": "/etc/conf.d/injected.conf",
        "type": "bind",
        "source": src_file.to_str().unwrap(),
        "options": ["bind", "ro"]
    }));
    let (out, m) = run_with_mounts(
        &berth,
        &mut b,
        "cat /etc/conf.d/injected.conf; test -f /etc/conf.d/injected.conf && echo is-file",
    );
    assert_eq!(out, "injected\nis-file\n");
    assert_eq!(expect_mount(&m, "/new/dir/deep").fstype, "tmpfs");
    expect_mount(&m, "/etc/conf.d/injected.conf");
}

#[test]
fn mount_target_symlink_stays_inside_rootfs() {
    let berth = Berth::new("rootfs-symlink");
    // An empty host dir the symlink points into, and a source with a marker.
    let hostdir = TempDir::new("hostdir");
    let src = TempDir::new("symlink-src");
    fs::write(src.path().join("marker"), "inside\n").unwrap();
    let mut b = Bundle::new("rootfs-symlink");
    let target = format!("{}/sub", hostdir.path_str());
    symlink(&target, b.rootfs().join("evil")).unwrap();
    b.add_mount(json!({
        "destination": "/evil",
        "type": "bind",
        "source": src.path_str(),
        "options": ["bind"]
    }));
    // A destination that climbs out with "..".
    b.add_mount(json!({
        "destination": format!("/../../../../..{}/dotdot", hostdir.path_str()),
        "type": "tmpfs",
        "source": "tmpfs",
        "options": ["size=1m"]
    }));
    let before = host_mounts();
    b.sh("cat /evil/marker");
    let out = berth.output_of(&b);
    assert_eq!(
        out, "inside\n",
        "the bind mount should be reachable through /evil"
    );
    assert!(
        hostdir.entries().is_empty(),
        "the runtime wrote to the host path the symlink points at: {:?}",
        hostdir.entries()
    );
    assert_eq!(src.entries(), ["marker"]);
    assert_mounts_unchanged(&before);
    // The symlink itself is untouched and the target was made inside the rootfs.
    assert_eq!(
        fs::read_link(b.rootfs().join("evil")).unwrap().to_str(),
        Some(target.as_str())
    );
    assert!(b.rootfs().join(target.trim_start_matches('/')).is_dir());
}

#[test]
fn no_pivot() {
    let berth = Berth::new("rootfs-nopivot");
    let mut b = Bundle::new("rootfs-nopivot");
    let marker = unique("marker");
    b.write_rootfs_file(&marker, "rootfs-marker\n");
    b.sh(&format!("cat /{marker}; ls -A /"));
    let id = berth.id("np");
    let out = berth.run_bundle(&b, &id, &["--no-pivot"]).ok();
    let mut lines = out.stdout.lines();
    assert_eq!(lines.next(), Some("rootfs-marker"), "{out}");
    let mut inside: Vec<&str> = lines.collect();
    inside.sort();
    let mut expected: Vec<String> = fs::read_dir(b.rootfs())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    expected.sort();
    assert_eq!(inside, expected, "/ inside should list the rootfs");
    berth.state(&id).fails();
}

#[test]
fn rro_makes_every_submount_read_only() {
    let berth = Berth::new("rootfs-rro");
    let mut b = Bundle::new("rootfs-rro");
    // The host's /dev has submounts (pts, shm, mqueue): "ro" would cover only the top.
    b.add_mount(json!({"destination": "/hostdev", "type": "bind", "source": "/dev", "options": ["rbind", "rro"]}));
    b.sh("grep ' /hostdev' /proc/self/mountinfo | awk '{print $5, $6}'; touch /hostdev/shm/berth-rro-test 2>&1 || echo refused");
    let out = berth.output_of(&b);
    let lines: Vec<&str> = out.lines().collect();
    let mounts: Vec<&&str> = lines.iter().filter(|l| l.starts_with("/hostdev")).collect();
    assert!(mounts.len() >= 3, "{out}");
    for m in &mounts {
        let opts = m.split_whitespace().nth(1).unwrap();
        assert!(
            opts.split(',').any(|o| o == "ro"),
            "not read-only: {m}\n{out}"
        );
    }
    assert_eq!(lines.last(), Some(&"refused"), "{out}");
}

#[test]
fn unbindable_root_propagation() {
    let berth = Berth::new("rootfs-unbindable");
    for prop in ["unbindable", "runbindable"] {
        let mut b = Bundle::new("rootfs-unbindable");
        b.config["linux"]["rootfsPropagation"] = json!(prop);
        // A bind mount from the host still works: its source is bound before "/"
        // becomes unbindable.
        b.add_mount(json!({"destination": "/hostetc", "type": "bind", "source": "/etc", "options": ["rbind", "ro"]}));
        let (_, mounts) = run_with_mounts(&berth, &mut b, "true");
        let root = expect_mount(&mounts, "/");
        assert!(
            root.optional.iter().any(|o| o == "unbindable"),
            "{prop}: / is not unbindable: {root:?}"
        );
        let etc = expect_mount(&mounts, "/hostetc");
        let unbindable = etc.optional.iter().any(|o| o == "unbindable");
        assert_eq!(unbindable, prop == "runbindable", "{prop}: {etc:?}");
    }
}

/// A tmpfs mounted on a host temp dir and made shared; detached (with anything below) on drop.
struct SharedHostMount(TempDir);

impl SharedHostMount {
    fn new(name: &str) -> SharedHostMount {
        let dir = TempDir::new(name);
        let me = SharedHostMount(dir);
        let p = me.0.path_str();
        for args in [
            &["-t", "tmpfs", "berth-bidi", p][..],
            &["--make-shared", p][..],
        ] {
            let st = std::process::Command::new("mount")
                .args(args)
                .status()
                .unwrap();
            assert!(st.success(), "mount {args:?}");
        }
        me
    }
}

impl Drop for SharedHostMount {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .args(["-R", "-l", self.0.path_str()])
            .status();
    }
}

#[test]
fn bidirectional_bind_mount_is_a_peer_of_the_host_mount() {
    let berth = Berth::new("rootfs-bidi");
    let host = SharedHostMount::new("rootfs-bidi-host");
    let mut b = Bundle::new("rootfs-bidi");
    // What containerd's CRI passes for a Bidirectional volume.
    b.config["linux"]["rootfsPropagation"] = json!("rshared");
    b.add_mount(json!({"destination": "/bidi", "type": "bind", "source": host.0.path_str(), "options": ["rbind", "rshared"]}));
    for set in ["bounding", "effective", "permitted"] {
        let caps = b.config["process"]["capabilities"][set]
            .as_array_mut()
            .unwrap();
        caps.push(json!("CAP_SYS_ADMIN"));
    }
    let (_, mounts) = run_with_mounts(
        &berth,
        &mut b,
        "mkdir /bidi/sub && mount -t tmpfs from-container /bidi/sub",
    );
    let bidi = expect_mount(&mounts, "/bidi");
    assert!(
        bidi.optional.iter().all(|o| !o.starts_with("master:")),
        "a slave, not a peer of the host's mount: {bidi:?}"
    );
    let host_table = parse_mountinfo(&fs::read_to_string("/proc/self/mountinfo").unwrap());
    let sub = format!("{}/sub", host.0.path_str());
    let seen = find_mount(&host_table, &sub)
        .unwrap_or_else(|| panic!("the container's mount did not reach the host at {sub}"));
    assert_eq!(seen.source, "from-container");
}

#[test]
fn read_only_dev_is_filled_first() {
    let berth = Berth::new("rootfs-ro-dev");
    let mut b = Bundle::new("rootfs-ro-dev");
    let mounts = b.config["mounts"].as_array_mut().unwrap();
    let dev = mounts
        .iter_mut()
        .find(|m| m["destination"] == "/dev")
        .unwrap();
    dev["options"].as_array_mut().unwrap().push(json!("ro"));
    let (out, mounts) = run_with_mounts(
        &berth,
        &mut b,
        "test -c /dev/null && test -L /dev/fd && echo devices; touch /dev/x 2>/dev/null || echo refused",
    );
    assert_eq!(out, "devices\nrefused\n");
    assert!(expect_mount(&mounts, "/dev").has_option("ro"));
    assert!(!expect_mount(&mounts, "/dev/pts").has_option("ro"));
}

/// runc's mask.bats: an image whose /proc or /sys is a symlink is refused, or procfs
/// would land where the symlink points and the masks meant for it would miss it.
#[test]
fn proc_and_sys_only_on_ordinary_directories() {
    let berth = Berth::new("rootfs-procsym");
    for dir in ["proc", "sys"] {
        let mut b = Bundle::new("rootfs-procsym");
        let p = b.rootfs().join(dir);
        fs::remove_dir_all(&p).unwrap();
        std::os::unix::fs::symlink("tmp", &p).unwrap();
        b.args(&["true"]);
        let id = berth.id("ps");
        let out = berth.create(&b, &id).fails();
        let line = out.single_error_line();
        assert!(
            line.contains("must be mounted on ordinary directory"),
            "{dir}: {out}"
        );
        assert!(berth.state_entries().is_empty(), "{dir}");
    }
}
