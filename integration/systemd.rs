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
