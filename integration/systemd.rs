//! The systemd cgroup driver (`--systemd-cgroup`) against a real systemd: each test boots
//! one with `../shared/systemd/systemd-env.sh` (PID 1 of private namespaces, with a system
//! D-Bus; hybrid cgroups as this host, or pure v2) and runs a script of berth commands in
//! it. The script prints `== name ==` before each step's output, for `section`. Tests
//! are skipped, saying so, when the environment does not boot.

use crate::common::*;
use serde_json::json;
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

fn env_script() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/systemd/systemd-env.sh")
}

/// Run `script` (bash) inside a fresh systemd; `None` (the test is skipped) when it does not
/// come up. `mode` is systemd-env's SYSD_MODE.
fn in_systemd(mode: &str, script: &str) -> Option<Output> {
    let env = env_script();
    if !env.exists() {
        eprintln!("SKIP: no {} to boot systemd with", env.display());
        return None;
    }
    let mut cmd = Command::new("bash");
    cmd.arg(&env)
        .args(["bash", "-c", script])
        .env("SYSD_MODE", mode);
    let out = run_command(cmd, Duration::from_secs(180));
    if !out.stderr.contains("[sysdenv] ready") {
        eprintln!("SKIP: systemd-env.sh did not boot systemd: {out}");
        return None;
    }
    Some(out)
}

/// What the script printed after `== name ==`, up to the next section.
fn section(out: &Output, name: &str) -> String {
    let head = format!("== {name} ==\n");
    let Some(at) = out.stdout.find(&head) else {
        panic!("no section {name:?} in: {out}");
    };
    let rest = &out.stdout[at + head.len()..];
    rest[..rest.find("== ").unwrap_or(rest.len())].to_string()
}

/// A bundle whose init sleeps, seeing the host's cgroup hierarchies (read-only) and its
/// own cgroup paths in them (no cgroup namespace), so that `limits` can read them.
fn sleeper(name: &str, cgroups_path: &str) -> Bundle {
    let mut b = Bundle::new(name);
    b.args(&["sleep", "1000"]);
    b.config["linux"]["cgroupsPath"] = json!(cgroups_path);
    b.remove_namespace("cgroup");
    b.add_mount(
        json!({"destination": "/sys/fs/cgroup", "type": "bind", "source": "/sys/fs/cgroup",
        "options": ["rbind", "ro", "nosuid", "noexec", "nodev"]}),
    );
    b.write_config();
    b
}

/// A shell command, run in the container, printing the given files of its own v1 cgroups
/// (`memory/memory.limit_in_bytes`...), one a line.
fn limits(files: &[&str]) -> String {
    let cats: Vec<String> = files
        .iter()
        .map(|f| {
            let (ctrl, file) = f.split_once('/').unwrap();
            format!(
                "cat /sys/fs/cgroup/{ctrl}$(grep :{ctrl}: /proc/self/cgroup | cut -d: -f3)/{file}"
            )
        })
        .collect();
    format!("sh -c '{}'", cats.join("; "))
}

/// `berth --root R --systemd-cgroup` as a shell word list.
fn berth_cmd(root: &str) -> String {
    format!("{} --root {root} --systemd-cgroup", berth_bin().display())
}

#[test]
fn systemd_scope_lifecycle_with_limits() {
    let id = unique("sd");
    let unit = format!("berth-{id}.scope");
    let mut b = sleeper("sd-life", &format!("system.slice:berth:{id}"));
    b.config["linux"]["resources"] = json!({
        "memory": {"limit": 67108864},
        "pids": {"limit": 64},
        "cpu": {"shares": 512, "quota": 50000, "period": 100000}
    });
    b.write_config();
    let berth = berth_cmd("/run/berth-sd");
    let bundle = b.path_str();
    let create_limits = limits(&[
        "memory/memory.limit_in_bytes",
        "pids/pids.max",
        "cpu/cpu.cfs_quota_us",
        "cpu/cpu.shares",
    ]);
    let update_limits = limits(&[
        "memory/memory.limit_in_bytes",
        "pids/pids.max",
        "cpu/cpu.cfs_quota_us",
    ]);
    let script = format!(
        r#"B="{berth}"; ID={id}; U={unit}
echo "== create =="; $B create --bundle {bundle} $ID && echo created
echo "== unit =="; systemctl show $U -p Slice -p Delegate -p MemoryLimit -p TasksMax -p CPUQuotaPerSecUSec -p CPUShares -p DevicePolicy -p ActiveState
echo "== host files =="; cat /sys/fs/cgroup/memory/system.slice/$U/memory.limit_in_bytes /sys/fs/cgroup/pids/system.slice/$U/pids.max
$B start $ID
echo "== init cgroup =="; $B exec $ID cat /proc/1/cgroup
echo "== exec cgroup =="; $B exec $ID cat /proc/self/cgroup
echo "== inside limits =="; $B exec $ID {create_limits}
echo "== update =="; $B update --memory 128m --pids-limit 100 --cpu-quota 20000 $ID && echo updated
systemctl show $U -p MemoryLimit -p TasksMax -p CPUQuotaPerSecUSec
$B exec $ID {update_limits}
echo "== devices =="; systemctl set-property --runtime $U DevicePolicy=strict
$B exec $ID sh -c 'echo x > /dev/null && head -c1 /dev/urandom > /dev/zero && echo usable'
echo "== pause =="; $B pause $ID; $B state $ID | grep -o '"status": "[a-z]*"'; $B resume $ID; $B state $ID | grep -o '"status": "[a-z]*"'
echo "== ps =="; $B ps $ID -o pid,args
echo "== events =="; $B events --stats $ID | grep -o '"limit":[0-9]*' | head -2
echo "== kill all =="; $B kill --all $ID KILL; sleep 0.3; $B state $ID | grep -o '"status": "[a-z]*"'
echo "== delete =="; $B delete $ID && echo deleted
echo "== after =="; systemctl list-units --all --no-legend "berth-*"; ls -d /sys/fs/cgroup/*/system.slice/$U 2>&1 | grep -v 'No such'; ls /run/berth-sd
echo "== end =="
"#
    );
    let Some(out) = in_systemd("hybrid", &script) else {
        return;
    };
    assert!(section(&out, "create").contains("created"), "{out}");
    let u = section(&out, "unit");
    for want in [
        "Slice=system.slice",
        "Delegate=yes",
        "MemoryLimit=67108864",
        "TasksMax=64",
        "CPUQuotaPerSecUSec=500ms",
        "CPUShares=512",
        "DevicePolicy=strict",
        "ActiveState=active",
    ] {
        assert!(u.lines().any(|l| l == want), "{want}: {out}");
    }
    assert_eq!(section(&out, "host files"), "67108864\n64\n", "{out}");
    // The init and an exec'd process are in the scope in every hierarchy: the ones
    // systemd made (name=systemd too) and the ones berth made (cpuset, freezer).
    for s in ["init cgroup", "exec cgroup"] {
        let cg = section(&out, s);
        for c in [
            "memory",
            "pids",
            "cpu",
            "freezer",
            "cpuset",
            "name=systemd",
            "",
        ] {
            let line = format!(":{c}:/system.slice/{unit}\n");
            assert!(cg.contains(&line), "{s}: {c}: {out}");
        }
    }
    assert_eq!(
        section(&out, "inside limits"),
        "67108864\n64\n50000\n512\n",
        "{out}"
    );
    let up = section(&out, "update");
    for want in [
        "updated",
        "MemoryLimit=134217728",
        "TasksMax=100",
        "CPUQuotaPerSecUSec=200ms",
        "134217728\n100\n20000",
    ] {
        assert!(up.contains(want), "{want}: {out}");
    }
    // systemd writes the device rules again from the unit's DeviceAllow list when it
    // re-realizes the unit: the list must hold what berth allowed.
    assert_eq!(section(&out, "devices"), "usable\n", "{out}");
    assert_eq!(
        section(&out, "pause"),
        "\"status\": \"paused\"\n\"status\": \"running\"\n",
        "{out}"
    );
    assert!(section(&out, "ps").contains("sleep 1000"), "{out}");
    assert!(section(&out, "events").contains("\"limit\":"), "{out}");
    assert!(section(&out, "kill all").contains("stopped"), "{out}");
    assert!(section(&out, "delete").contains("deleted"), "{out}");
    assert_eq!(
        section(&out, "after"),
        "",
        "unit, cgroup or state left: {out}"
    );
}

/// `--systemd-cgroup` with a cgroupfs path is a config error, before anything is made.
#[test]
fn systemd_plain_path_is_refused() {
    let berth = Berth::new("sd-plain");
    let b = sleeper("sd-plain", "/plain/path");
    let id = berth.id("plain");
    let out = berth
        .run_global(
            &["--systemd-cgroup"],
            &["create", "--bundle", b.path_str(), &id],
        )
        .fails();
    let line = out.single_error_line();
    assert!(
        line.contains("linux.cgroupsPath") && line.contains("slice:prefix:name"),
        "{out}"
    );
    assert_eq!(berth.state_entries(), Vec::<String>::new());
}

/// No bus and no systemd (empty /run/dbus and /run/systemd in a private mount namespace):
/// one error line saying so, and nothing left behind.
#[test]
fn systemd_missing_is_one_clear_error() {
    let berth = Berth::new("sd-nobus");
    let b = sleeper("sd-nobus", "system.slice:berth:nobus");
    let id = berth.id("nobus");
    let script = format!(
        "mount -t tmpfs none /run/dbus && mount -t tmpfs none /run/systemd && \
         exec {} --systemd-cgroup create --bundle {} {id}",
        berth.command().get_program().to_string_lossy()
            + " --root "
            + berth.root().to_str().unwrap(),
        b.path_str()
    );
    let mut cmd = Command::new("unshare");
    cmd.args(["-m", "--propagation", "private", "sh", "-c", &script]);
    let out = run_command(cmd, CMD_TIMEOUT).fails();
    let line = out.single_error_line();
    assert!(line.contains("systemd is not running"), "{out}");
    assert!(line.contains("/run/dbus/system_bus_socket"), "{out}");
    assert_eq!(berth.state_entries(), Vec::<String>::new());
    assert!(
        crate::cgroups_util::find_cgroups(&id).is_empty(),
        "cgroup left behind"
    );
}

/// A unit of the same name is an error that leaves it alone; a create that fails after
/// systemd made the unit leaves no unit; a `.slice` name makes a slice.
#[test]
fn systemd_unit_exists_failed_create_and_slice() {
    let id = unique("sdf");
    let taken = format!("berth-{id}.scope");
    let b1 = sleeper("sd-exists", &format!("system.slice:berth:{id}"));
    let mut b2 = sleeper("sd-fails", &format!("system.slice:berth:{id}-bad"));
    b2.add_mount(
        json!({"destination": "/x", "type": "bind", "source": "/nonexistent-berth-src",
        "options": ["bind"]}),
    );
    b2.write_config();
    let slice = format!("berthit{}.slice", id.replace('-', ""));
    let b3 = sleeper("sd-slice", &format!("system.slice:berth:{slice}"));
    let b4 = sleeper("sd-private", &format!("system.slice:berth:{id}-p"));
    let script = format!(
        r#"B="{berth}"
systemd-run --quiet --unit {taken} --scope sleep 1000 & sleep 0.5
echo "== exists =="; $B create --bundle {b1} {id} 2>&1; echo "rc=$?"
systemctl is-active {taken}; ls /run/berth-sdf
echo "== failed create =="; $B create --bundle {b2} {id}-bad 2>&1 | grep -c nonexistent-berth-src
systemctl list-units --all --no-legend "berth-{id}-bad*"; ls -d /sys/fs/cgroup/*/system.slice/berth-{id}-bad.scope 2>&1 | grep -v 'No such'; ls /run/berth-sdf
echo "== slice =="; $B run -d --bundle {b3} {id}-s && systemctl is-active {slice}
grep -c "/{slice}$" /proc/$($B state {id}-s | grep '"pid"' | grep -o '[0-9]*')/cgroup
$B delete -f {id}-s && echo deleted
systemctl list-units --all --no-legend {slice}; ls -d /sys/fs/cgroup/*/{slice} 2>&1 | grep -v 'No such'
echo "== private socket =="; systemctl stop dbus.socket dbus.service {taken}
$B --debug --log /run/sd-debug.log run -d --bundle {b4} {id}-p >/dev/null 2>&1
grep -o 'systemd: through [^"]*' /run/sd-debug.log
systemctl is-active berth-{id}-p.scope; $B delete -f {id}-p && echo deleted
systemctl list-units --all --no-legend "berth-*"
echo "== end =="
"#,
        berth = berth_cmd("/run/berth-sdf"),
        b1 = b1.path_str(),
        b2 = b2.path_str(),
        b3 = b3.path_str(),
        b4 = b4.path_str(),
    );
    let Some(out) = in_systemd("hybrid", &script) else {
        return;
    };
    let exists = section(&out, "exists");
    let mut lines = exists.lines();
    let err = lines.next().unwrap_or("");
    assert!(
        err.contains("linux.cgroupsPath") && err.contains("already exists"),
        "{out}"
    );
    assert_eq!(lines.collect::<Vec<_>>(), ["rc=1", "active"], "{out}");
    assert_eq!(section(&out, "failed create"), "1\n", "{out}");
    let s = section(&out, "slice");
    assert!(s.starts_with("active\n"), "{out}");
    // Every hierarchy but none-of-ours (0:: and name=systemd count too).
    let n: usize = s.lines().nth(1).unwrap_or("0").parse().unwrap_or(0);
    assert!(n >= 9, "init not in the slice everywhere: {out}");
    assert!(s.ends_with("deleted\n"), "{out}");
    // Without the bus, systemd's own socket, as runc does.
    assert_eq!(
        section(&out, "private socket"),
        "systemd: through /run/systemd/private\nactive\ndeleted\n",
        "{out}"
    );
}

/// Pure cgroup v2: the same driver, v2's properties; exec joins the scope.
#[test]
fn systemd_scope_on_cgroup_v2() {
    let id = unique("sdv2");
    let unit = format!("berth-{id}.scope");
    let b = sleeper("sd-v2", &format!(":berth:{id}"));
    let script = format!(
        r#"B="{berth}"
echo "== run =="; $B run -d --bundle {bundle} {id} && systemctl show {unit} -p Slice -p Delegate -p ActiveState -p ControlGroup
echo "== exec =="; $B exec {id} cat /proc/self/cgroup; cat /sys/fs/cgroup/system.slice/{unit}/cgroup.procs | wc -l
echo "== pause =="; $B pause {id}; cat /sys/fs/cgroup/system.slice/{unit}/cgroup.freeze; $B resume {id}
echo "== delete =="; $B delete -f {id} && echo deleted
systemctl list-units --all --no-legend "berth-*"; ls -d /sys/fs/cgroup/system.slice/{unit} 2>&1 | grep -v 'No such'
echo "== end =="
"#,
        berth = berth_cmd("/run/berth-sdv2"),
        bundle = b.path_str(),
    );
    let Some(out) = in_systemd("v2", &script) else {
        return;
    };
    let run = section(&out, "run");
    for want in [
        "Slice=system.slice",
        "Delegate=yes",
        "ActiveState=active",
        &format!("ControlGroup=/system.slice/{unit}"),
    ] {
        assert!(run.lines().any(|l| l == want), "{want}: {out}");
    }
    // (The host's v1 hierarchies still show in /proc/self/cgroup; this view has none.)
    let exec = section(&out, "exec");
    assert!(
        exec.ends_with(&format!("\n0::/system.slice/{unit}\n1\n")),
        "{out}"
    );
    assert_eq!(section(&out, "pause"), "1\n", "{out}");
    assert_eq!(section(&out, "delete"), "deleted\n", "{out}");
}

/// podman with `--cgroup-manager systemd` (it calls the runtime with `--systemd-cgroup`
/// and `machine.slice:libpod:<id>`), berth and runc side by side in one systemd: the
/// scope's properties, the container's cgroup and limit seen from inside, and nothing
/// left once the container is removed.
#[test]
fn systemd_podman_berth_and_runc() {
    let Some(podman) = ["/usr/bin/podman", "/usr/sbin/podman"]
        .into_iter()
        .find(|p| std::path::Path::new(p).exists())
    else {
        eprintln!("SKIP: podman is not installed");
        return;
    };
    let runc = ["/usr/sbin/runc", "/usr/bin/runc"]
        .into_iter()
        .find(|p| std::path::Path::new(p).exists());
    let dir = TempDir::new("sd-podman");
    let d = dir.path_str();
    for sub in ["root", "runroot", "tmp", "networks"] {
        std::fs::create_dir_all(dir.path().join(sub)).unwrap();
    }
    std::fs::write(
        dir.path().join("storage.conf"),
        format!("[storage]\ndriver = \"overlay\"\nrunroot = \"{d}/runroot\"\ngraphroot = \"{d}/root\"\n"),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("containers.conf"),
        format!(
            "[containers]\ndefault_ulimits = [\"nofile=1024:1024\", \"nproc=1024:1024\"]\n\
             [engine]\ncgroup_manager = \"systemd\"\nevents_logger = \"file\"\n\
             image_copy_tmp_dir = \"{d}/tmp\"\n[network]\nnetwork_config_dir = \"{d}/networks\"\n"
        ),
    )
    .unwrap();
    let envs = format!(
        "CONTAINERS_CONF={d}/containers.conf CONTAINERS_STORAGE_CONF={d}/storage.conf TMPDIR={d}/tmp"
    );
    let p = format!(
        "env {envs} {podman} --root={d}/root --runroot={d}/runroot --tmpdir={d}/tmp \
         --storage-driver=overlay --events-backend=file --cgroup-manager=systemd"
    );
    let tar = dir.path().join("rootfs.tar");
    let mut cmd = Command::new("tar");
    cmd.arg("-C")
        .arg(rootfs_src())
        .args(["--numeric-owner", "-cf"]);
    cmd.arg(&tar).arg(".");
    run_command(cmd, CMD_TIMEOUT).ok();
    let mut runtimes = vec![("berth", berth_bin().display().to_string())];
    runtimes.extend(runc.map(|r| ("runc", r.to_string())));
    let mut script = format!(
        "P=\"{p}\"\n$P import --quiet {} localhost/berth-sd:test >/dev/null\n",
        tar.display()
    );
    for (name, path) in &runtimes {
        script += &format!(
            r#"echo "== {name} =="
id=$($P --runtime {path} run -d --network none --memory 64m --pids-limit 50 localhost/berth-sd:test sleep 1000) || exit 1
systemctl show libpod-$id.scope -p Slice -p Delegate -p MemoryLimit -p TasksMax -p ActiveState
$P --runtime {path} exec $id sh -c 'grep -e :memory: -e :pids: /proc/self/cgroup; cat /sys/fs/cgroup/memory/memory.limit_in_bytes' | sed "s/$id/ID/"
$P --runtime {path} rm -f -t 0 $id >/dev/null
systemctl list-units --all --no-legend "libpod-$id.scope"; ls -d /sys/fs/cgroup/*/machine.slice/libpod-$id.scope 2>&1 | grep -v 'No such'
"#
        );
    }
    script += "echo \"== end ==\"\n";
    let Some(out) = in_systemd("hybrid", &script) else {
        return;
    };
    let berth = section(&out, "berth");
    for want in [
        "Slice=machine.slice",
        "Delegate=yes",
        "MemoryLimit=67108864",
        "TasksMax=50",
        "ActiveState=active",
        ":memory:/machine.slice/libpod-ID.scope",
        ":pids:/machine.slice/libpod-ID.scope",
        "67108864",
    ] {
        assert!(berth.lines().any(|l| l.ends_with(want)), "{want}: {out}");
    }
    // The last line is the limit: the container's unit and cgroup are gone after `rm`
    // (podman's own libpod-conmon-<id>.scope may take a moment longer).
    assert!(berth.ends_with("\n67108864\n"), "left behind: {out}");
    if runtimes.len() == 2 {
        assert_eq!(berth, section(&out, "runc"), "berth and runc differ: {out}");
    }
}
