//! Escapes through /proc, modelled on runc's November 2025 advisories: a sysctl write
//! redirected by a mount inside /proc, masked paths bound from a /dev/null that is not
//! the null device, a /dev/console symlink, and a dumpable process reached through
//! /proc/PID/exe before its execve.
//!
//! Each test would change or expose a host-wide /proc/sys value on a vulnerable runtime;
//! `HostValue` puts the value back whatever happens.

use crate::common::*;
use crate::console::{read_pty, ConsoleSocket};
use serde_json::json;
use std::fs;
use std::os::unix::fs::symlink;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

/// A host /proc/sys value saved now and written back on drop (also on panic).
struct HostValue {
    path: PathBuf,
    saved: String,
}

impl HostValue {
    fn save(path: &str) -> HostValue {
        let saved = fs::read_to_string(path).unwrap_or_else(|e| panic!("read {path}: {e}"));
        HostValue {
            path: PathBuf::from(path),
            saved,
        }
    }

    fn now(&self) -> String {
        fs::read_to_string(&self.path).unwrap()
    }

    fn assert_unchanged(&self) {
        assert_eq!(
            self.now(),
            self.saved,
            "host {} changed",
            self.path.display()
        );
    }
}

impl Drop for HostValue {
    fn drop(&mut self) {
        if self.now() != self.saved {
            let _ = fs::write(&self.path, self.saved.trim_end());
        }
    }
}

const PRINTK_RATELIMIT: &str = "/proc/sys/kernel/printk_ratelimit";
const CORE_PATTERN: &str = "/proc/sys/kernel/core_pattern";

/// A bundle with `net.ipv4.ip_default_ttl=77` and a bind volume whose `ip_default_ttl`
/// leads to printk_ratelimit, mounted at `dest`. Returns the volume (kept alive).
fn sysctl_bundle(name: &str, dest: &str) -> (Bundle, TempDir) {
    let vol = TempDir::new(name);
    symlink(PRINTK_RATELIMIT, vol.path().join("ip_default_ttl")).unwrap();
    let mut b = Bundle::new(name);
    b.args(&["true"]);
    b.add_mount(json!({"destination": dest, "type": "bind",
                       "source": vol.path_str(), "options": ["bind"]}));
    b.config["linux"]["sysctl"] = json!({"net.ipv4.ip_default_ttl": "77"});
    (b, vol)
}

fn assert_mount_in_proc_refused(dest: &str, rootfs_link: Option<&str>) {
    let host = HostValue::save(PRINTK_RATELIMIT);
    let berth = Berth::new("proc-dest");
    let (b, _vol) = sysctl_bundle("proc-dest", dest);
    if let Some(target) = rootfs_link {
        symlink(target, b.rootfs().join(dest.trim_start_matches('/'))).unwrap();
    }
    let before = host_mounts();
    let id = berth.id("p");
    let out = berth.run_bundle(&b, &id, &[]);
    host.assert_unchanged();
    let line = out.fails().single_error_line();
    // The volume is the seventh mount (after base_config's six).
    assert!(
        line.contains("mounts[6].destination") && line.contains("/proc"),
        "{line}"
    );
    assert!(berth.state_entries().is_empty(), "state left behind");
    assert_mounts_unchanged(&before);
    assert_no_processes(&b);
}

#[test]
fn sysctl_cannot_be_redirected_by_a_volume_behind_a_rootfs_symlink() {
    assert_mount_in_proc_refused("/data", Some("/proc/sys/net/ipv4"));
}

#[test]
fn mount_destination_inside_proc_is_refused() {
    assert_mount_in_proc_refused("/proc/sys/net/ipv4", None);
}

#[test]
fn procfs_on_proc_and_lxcfs_style_files_are_still_allowed() {
    let berth = Berth::new("proc-ok");
    let vol = TempDir::new("proc-ok");
    fs::write(vol.path().join("uptime"), "1.00 2.00\n").unwrap();
    let mut b = Bundle::new("proc-ok");
    b.sh("cat /proc/uptime; cat /proc/sys/net/ipv4/ip_default_ttl");
    b.add_mount(json!({"destination": "/proc/uptime", "type": "bind",
                       "source": vol.path().join("uptime"), "options": ["bind"]}));
    b.config["linux"]["sysctl"] = json!({"net.ipv4.ip_default_ttl": "77"});
    assert_eq!(berth.output_of(&b), "1.00 2.00\n77\n");
}

/// A /dev bound from a host directory whose `null` is a symlink to core_pattern.
#[test]
fn masked_paths_refuse_a_dev_null_that_is_not_the_null_device() {
    let host = HostValue::save(CORE_PATTERN);
    let berth = Berth::new("mask-null");
    let dev = TempDir::new("mask-null-dev");
    symlink(CORE_PATTERN, dev.path().join("null")).unwrap();
    let mut b = Bundle::new("mask-null");
    b.args(&["cat", "/proc/keys"]);
    b.config["mounts"]
        .as_array_mut()
        .unwrap()
        .retain(|m| !m["destination"].as_str().unwrap().starts_with("/dev"));
    b.add_mount(json!({"destination": "/dev", "type": "bind",
                       "source": dev.path_str(), "options": ["rbind"]}));
    let id = berth.id("m");
    let out = berth.run_bundle(&b, &id, &[]);
    host.assert_unchanged();
    assert!(
        !out.stdout.contains(host.saved.trim()),
        "core_pattern seen through /proc/keys: {out}"
    );
    let line = out.fails().single_error_line();
    assert!(
        line.contains("linux.maskedPaths") && line.contains("/dev/null"),
        "{line}"
    );
    assert!(berth.state_entries().is_empty(), "state left behind");
    assert_no_processes(&b);
}

/// The rootfs's dev/null swapped for a symlink to core_pattern while containers start.
#[test]
fn masked_paths_survive_a_dev_null_swapped_during_setup() {
    let host = HostValue::save(CORE_PATTERN);
    let berth = Berth::new("mask-race");
    let mut b = Bundle::new("mask-race");
    b.args(&["cat", "/proc/keys"]);
    // No /dev mount: the device nodes are made in the rootfs, where the host can swap them.
    b.config["mounts"]
        .as_array_mut()
        .unwrap()
        .retain(|m| m["destination"] != "/dev");
    b.write_config();
    let dev = b.rootfs().join("dev");
    let stop = Arc::new(AtomicBool::new(false));
    let racer = {
        let (dev, stop) = (dev.clone(), stop.clone());
        thread::spawn(move || {
            let tmp = dev.join(".null-swap");
            while !stop.load(Ordering::Relaxed) {
                let _ = fs::remove_file(&tmp);
                if symlink(CORE_PATTERN, &tmp).is_ok() {
                    let _ = fs::rename(&tmp, dev.join("null"));
                }
            }
        })
    };
    let mut leaked = Vec::new();
    for _ in 0..20 {
        let id = berth.id("r");
        let out = berth.run_bundle(&b, &id, &[]);
        if out.success() && !out.stdout.is_empty() {
            leaked.push(out.stdout.clone());
        }
        let _ = berth.delete_force(&id);
    }
    stop.store(true, Ordering::Relaxed);
    racer.join().unwrap();
    host.assert_unchanged();
    assert!(leaked.is_empty(), "/proc/keys not masked: {leaked:?}");
    assert_no_processes(&b);
}

/// No /dev mount, /dev/console a symlink to printk_ratelimit, and a terminal.
#[test]
fn console_is_not_mounted_through_a_dev_console_symlink() {
    let host = HostValue::save(PRINTK_RATELIMIT);
    let berth = Berth::new("console-link");
    let mut b = Bundle::new("console-link");
    b.sh("grep -c printk_ratelimit /proc/self/mountinfo; ls -l /dev/console");
    b.config["process"]["terminal"] = json!(true);
    b.config["mounts"]
        .as_array_mut()
        .unwrap()
        .retain(|m| m["destination"] != "/dev");
    fs::create_dir_all(b.rootfs().join("dev")).unwrap();
    symlink(PRINTK_RATELIMIT, b.rootfs().join("dev/console")).unwrap();
    b.write_config();
    let sock = ConsoleSocket::new("console-link");
    let id = berth.id("c");
    let out = berth.run(&[
        "create",
        "--bundle",
        b.path_str(),
        "--console-socket",
        sock.path_str(),
        &id,
    ]);
    if out.success() {
        let got = sock.receive();
        berth.start(&id).ok();
        let text = read_pty(&got.master, WAIT_TIMEOUT, |_| false);
        let first = text.lines().next().unwrap_or_default().trim().to_string();
        assert_eq!(
            first, "0",
            "the console was mounted over printk_ratelimit: {text:?}"
        );
        berth.wait_status(&id, "stopped");
        berth.delete(&id).ok();
    } else {
        let line = out.single_error_line();
        assert!(line.contains("/dev/console"), "{line}");
        assert!(berth.state_entries().is_empty(), "state left behind");
    }
    host.assert_unchanged();
    assert_no_processes(&b);
}

/// A container without a PID namespace, root with the default capabilities, cannot open
/// /proc/PID/exe of another container's init waiting for `start`.
#[test]
fn created_init_is_not_dumpable() {
    let berth = Berth::new("dump-init");
    let mut waiting = Bundle::new("dump-init-b");
    waiting.remove_namespace("pid");
    waiting.args(&["true"]);
    let wid = berth.id("w");
    berth.create(&waiting, &wid).ok();
    let pid = berth.pid(&wid);
    let mut prober = Bundle::new("dump-init-a");
    prober.remove_namespace("pid");
    prober.sh(&format!(
        "test -e /proc/{pid}/stat && echo visible; \
         if cat /proc/{pid}/exe >/dev/null 2>&1; then echo opened; else echo denied; fi"
    ));
    let out = berth.output_of(&prober);
    assert_eq!(out, "visible\ndenied\n", "init {pid} reached");
    berth.delete_force(&wid).ok();
}

/// A long PATH, so the exec'd process searches it for a while after dropping its
/// capabilities and before execve.
fn slow_path() -> String {
    vec!["/nonexistent"; 9000].join(":") + ":/bin"
}

/// A container process looks for any process whose exe link it can read and that is
/// not busybox, while `berth exec` starts processes in the container (a process it may
/// not reach, or one gone, reads as empty). The trampoline (linux::trampoline) is reachable for the moment between its execve and the
/// process's: it runs with the process's credentials already, and its exe is a sealed
/// memfd, so it is not counted; berth's own child must never be reachable.
#[test]
fn exec_child_is_not_dumpable() {
    let berth = Berth::new("dump-exec");
    let log = TempDir::new("dump-exec-log");
    let mut b = Bundle::new("dump-exec");
    b.add_mount(json!({"destination": "/out", "type": "bind",
                       "source": log.path_str(), "options": ["bind"]}));
    b.sh(
        "echo started > /out/log; while :; do for e in /proc/[0-9]*/exe; do \
         l=$(readlink $e); case \"$l\" in ''|/bin/busybox|/memfd:berth-exec*) ;; \
         *) echo \"got $e $l\" >> /out/log;; esac; done; done",
    );
    let id = berth.id("x");
    berth.start_container(&b, &id);
    wait_until("the watcher to start", || {
        fs::read_to_string(log.path().join("log")).is_ok_and(|s| s.contains("started"))
    });
    let env = format!("PATH={}", slow_path());
    for _ in 0..60 {
        berth.run(&["exec", "--env", &env, &id, "true"]).ok();
    }
    thread::sleep(Duration::from_millis(50));
    berth.kill(&id, "KILL").ok();
    berth.wait_status(&id, "stopped");
    berth.delete(&id).ok();
    let text = fs::read_to_string(log.path().join("log")).unwrap();
    let got: Vec<&str> = text.lines().filter(|l| l.starts_with("got")).collect();
    assert!(
        got.is_empty(),
        "exec'd processes reached before execve {} times, first: {:?}",
        got.len(),
        &got[..got.len().min(3)]
    );
}

/// runc's no_pivot.bats: with --no-pivot the host's /proc must not stay in the
/// container's mount namespace, or the kernel would let a process in a new user
/// namespace mount a fresh, unmasked proc (and reach /proc/sysrq-trigger).
#[test]
fn no_pivot_leaves_no_bare_proc_to_mount_again() {
    let berth = Berth::new("hard-nopivot-proc");
    let mut b = Bundle::new("hard-nopivot-proc");
    b.args(&[
        "unshare",
        "-mrpf",
        "sh",
        "-c",
        "mount -t proc none /proc && echo mounted",
    ]);
    for set in ["bounding", "permitted"] {
        b.config["process"]["capabilities"][set]
            .as_array_mut()
            .unwrap()
            .push(json!("CAP_SETFCAP"));
    }
    let out = berth.run_bundle(&b, &berth.id("np"), &["--no-pivot"]);
    assert!(!out.success(), "{out}");
    assert!(!out.stdout.contains("mounted"), "{out}");
    assert!(out.stderr.contains("mount: permission denied"), "{out}");
    // The same without --no-pivot: refused as well (the masks keep the container's
    // own proc from being fully visible).
    let out = berth.run_bundle(&b, &berth.id("p"), &[]);
    assert!(out.stderr.contains("mount: permission denied"), "{out}");
}
