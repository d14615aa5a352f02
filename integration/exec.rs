//! `berth exec`: a second process inside a running container, checked from inside it
//! against the container's init: namespaces, cgroup, user, capabilities, env, cwd, exit
//! codes and signals, terminals, detaching, repeated use, and the bad inputs.

use crate::cgroups_util::{v2, v2_host_dir, V2Cleanup};
use crate::common::*;
use crate::console::{read_pty, ConsoleSocket};
use serde_json::json;
use std::fs;
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

const NAMESPACES: [&str; 8] = ["user", "mnt", "pid", "net", "ipc", "uts", "cgroup", "time"];

/// A running container whose init sleeps; `setup` adjusts the bundle first.
fn running(name: &str, setup: impl FnOnce(&mut Bundle)) -> (Berth, Bundle, String, i32) {
    let berth = Berth::new(name);
    let mut b = Bundle::new(name);
    b.args(&["sleep", "3600"]);
    setup(&mut b);
    let id = berth.id(name);
    let pid = berth.start_container(&b, &id);
    (berth, b, id, pid)
}

fn exec(berth: &Berth, id: &str, args: &[&str]) -> Output {
    let mut v = vec!["exec"];
    if let Some(cmd_at) = args.iter().position(|a| *a == "--") {
        v.extend_from_slice(&args[..cmd_at]);
        v.push(id);
        v.extend_from_slice(&args[cmd_at + 1..]);
    } else {
        v.push(id);
        v.extend_from_slice(args);
    }
    berth.run(&v)
}

/// One "Key:\tvalue" line of a /proc/PID/status text, as whitespace-split fields.
fn status_field(status: &str, key: &str) -> Vec<String> {
    status
        .lines()
        .find_map(|l| l.strip_prefix(key)?.strip_prefix(':'))
        .unwrap_or_else(|| panic!("no {key} in {status}"))
        .split_whitespace()
        .map(str::to_string)
        .collect()
}

/// Processes whose parent is `ppid`, with their state letter.
fn children_of(ppid: i32) -> Vec<(i32, char)> {
    let mut out = Vec::new();
    for e in fs::read_dir("/proc").unwrap().flatten() {
        let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<i32>().ok()) else {
            continue;
        };
        let Ok(stat) = fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        let rest = &stat[stat.rfind(')').unwrap() + 2..];
        let f: Vec<&str> = rest.split(' ').collect();
        if f[1].parse::<i32>() == Ok(ppid) {
            out.push((pid, f[0].chars().next().unwrap()));
        }
    }
    out
}

fn fd_count(pid: i32) -> usize {
    fs::read_dir(format!("/proc/{pid}/fd")).unwrap().count()
}

#[test]
fn exec_joins_every_namespace_of_the_init() {
    let (berth, _b, id, pid) = running("exec-ns", |b| {
        b.add_namespace("time");
    });
    let script = NAMESPACES
        .iter()
        .map(|n| format!("readlink /proc/self/ns/{n}"))
        .collect::<Vec<_>>()
        .join("; ");
    let out = exec(&berth, &id, &["sh", "-c", &script]).ok();
    let got: Vec<&str> = out.stdout.lines().collect();
    let want: Vec<String> = NAMESPACES.iter().map(|n| pid_ns(pid, n)).collect();
    assert_eq!(got, want, "{out}");
    // And they are the container's, not the host's.
    for n in ["mnt", "pid", "net", "ipc", "uts", "cgroup", "time"] {
        assert_ne!(pid_ns(pid, n), host_ns(n), "{n}");
    }
}

#[test]
fn exec_joins_a_user_namespace_container() {
    let (berth, _b, id, pid) = running("exec-userns", |b| {
        b.add_namespace("user");
        b.config["linux"]["uidMappings"] =
            json!([{"containerID": 0, "hostID": 100000, "size": 65536}]);
        b.config["linux"]["gidMappings"] =
            json!([{"containerID": 0, "hostID": 100000, "size": 65536}]);
    });
    let out = exec(
        &berth,
        &id,
        &[
            "sh",
            "-c",
            "readlink /proc/self/ns/user; readlink /proc/self/ns/pid; cat /proc/self/uid_map; id -u; touch /dev/shm/x && stat -c %u /dev/shm/x",
        ],
    )
    .ok();
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(lines.len(), 5, "{out}");
    assert_eq!(lines[0], pid_ns(pid, "user"));
    assert_eq!(lines[1], pid_ns(pid, "pid"));
    assert_eq!(
        lines[2].split_whitespace().collect::<Vec<_>>(),
        ["0", "100000", "65536"]
    );
    assert_eq!(lines[3], "0");
    assert_eq!(lines[4], "0", "files belong to the container's root: {out}");
    // From the host, the process runs as the mapped uid.
    let out = exec(&berth, &id, &["-d", "--", "sleep", "60"]).ok();
    drop(out);
    let procs: Vec<i32> = pids_rooted_at(&_b.rootfs())
        .into_iter()
        .filter(|p| *p != pid)
        .collect();
    assert_eq!(procs.len(), 1, "{procs:?}");
    let status = fs::read_to_string(format!("/proc/{}/status", procs[0])).unwrap();
    assert_eq!(status_field(&status, "Uid"), ["100000"; 4]);
}

#[test]
fn exec_sits_in_the_containers_cgroup() {
    let (berth, b, id, pid) = running("exec-cgroup", |_| {});
    let inside = exec(&berth, &id, &["cat", "/proc/self/cgroup"]).ok().stdout;
    let init_inside = exec(&berth, &id, &["cat", "/proc/1/cgroup"]).ok().stdout;
    assert_eq!(inside, init_inside);
    // From the host: the same cgroups as the init, in every hierarchy.
    let dir = TempDir::new("exec-cgroup-pid");
    let pf = dir.path().join("pid");
    exec(
        &berth,
        &id,
        &[
            "-d",
            "--pid-file",
            pf.to_str().unwrap(),
            "--",
            "sleep",
            "60",
        ],
    )
    .ok();
    let xpid: i32 = fs::read_to_string(&pf).unwrap().trim().parse().unwrap();
    assert_eq!(
        fs::read_to_string(format!("/proc/{xpid}/cgroup")).unwrap(),
        fs::read_to_string(format!("/proc/{pid}/cgroup")).unwrap()
    );
    drop(b);
}

#[test]
fn exec_into_a_sub_cgroup() {
    let (berth, _b, id, _pid) = running("exec-subcg", |_| {});
    let state: serde_json::Value = serde_json::from_str(
        &fs::read_to_string(berth.root().join(&id).join("state.json")).unwrap(),
    )
    .unwrap();
    let dirs = state["cgroup"]["dirs"]
        .as_array()
        .expect("state has cgroup dirs")
        .clone();
    let memory = dirs.iter().find(|d| {
        d["controllers"]
            .as_array()
            .is_some_and(|c| c.contains(&json!("memory")))
    });
    let Some(memory) = memory else {
        eprintln!("no v1 memory controller here; skipping");
        return;
    };
    let sub = std::path::Path::new(memory["path"].as_str().unwrap()).join("probe");
    fs::create_dir(&sub).unwrap();
    let out = exec(
        &berth,
        &id,
        &["--cgroup", "memory:probe", "--", "cat", "/proc/self/cgroup"],
    )
    .ok();
    let line = out
        .stdout
        .lines()
        .find(|l| l.split(':').nth(1) == Some("memory"))
        .unwrap_or_else(|| panic!("{out}"));
    assert!(line.ends_with(":/probe"), "{out}");
    let cpu = out
        .stdout
        .lines()
        .find(|l| l.split(':').nth(1) == Some("cpu,cpuacct") || l.split(':').nth(1) == Some("cpu"));
    if let Some(cpu) = cpu {
        assert!(
            cpu.ends_with(":/"),
            "other controllers stay at the top: {out}"
        );
    }
    let err = exec(&berth, &id, &["--cgroup", "memory:nope", "--", "true"]).fails();
    assert!(
        err.single_error_line()
            .contains("nope/cgroup.procs: no such file"),
        "{err}"
    );
    assert_eq!(err.code, 255);
    let err = exec(&berth, &id, &["--cgroup", "../x", "--", "true"]).fails();
    assert!(err.single_error_line().contains(".."), "{err}");
    // The sub-cgroup must be empty again before the container's removal.
    let _ = fs::remove_dir(&sub);
}

#[test]
fn exec_user_and_groups() {
    let (berth, _b, id, _pid) = running("exec-user", |_| {});
    let out = exec(
        &berth,
        &id,
        &[
            "-u",
            "1000:1001",
            "-g",
            "10",
            "-g",
            "20",
            "--",
            "cat",
            "/proc/self/status",
        ],
    )
    .ok();
    assert_eq!(status_field(&out.stdout, "Uid"), ["1000"; 4], "{out}");
    assert_eq!(status_field(&out.stdout, "Gid"), ["1001"; 4], "{out}");
    assert_eq!(status_field(&out.stdout, "Groups"), ["10", "20"], "{out}");
    // A uid alone keeps the config's gid.
    let out = exec(&berth, &id, &["-u", "7", "--", "cat", "/proc/self/status"]).ok();
    assert_eq!(status_field(&out.stdout, "Uid"), ["7"; 4], "{out}");
    assert_eq!(status_field(&out.stdout, "Gid"), ["0"; 4], "{out}");
    // HOME from the container's /etc/passwd, as for the init.
    let out = exec(&berth, &id, &["sh", "-c", "echo $HOME"]).ok();
    assert_eq!(out.stdout.trim(), "/root");
}

#[test]
fn exec_capabilities_and_no_new_privs() {
    let (berth, _b, id, pid) = running("exec-caps", |b| {
        b.config["process"]["noNewPrivileges"] = json!(false);
    });
    let init = fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let out = exec(&berth, &id, &["cat", "/proc/self/status"]).ok();
    for key in [
        "CapInh",
        "CapPrm",
        "CapEff",
        "CapBnd",
        "CapAmb",
        "NoNewPrivs",
    ] {
        assert_eq!(
            status_field(&out.stdout, key),
            status_field(&init, key),
            "{key}: {out}"
        );
    }
    assert_eq!(status_field(&out.stdout, "CapEff"), ["0000000020000420"]);
    // --cap adds to bounding, effective and permitted; --no-new-privs sets the bit.
    let out = exec(
        &berth,
        &id,
        &[
            "--cap",
            "CAP_SYS_ADMIN",
            "--no-new-privs",
            "--",
            "cat",
            "/proc/self/status",
        ],
    )
    .ok();
    let sys_admin = 1u64 << 21;
    for key in ["CapPrm", "CapEff", "CapBnd"] {
        let v = u64::from_str_radix(&status_field(&out.stdout, key)[0], 16).unwrap();
        assert_eq!(v, 0x20000420 | sys_admin, "{key}: {out}");
    }
    assert_eq!(status_field(&out.stdout, "NoNewPrivs"), ["1"]);
    // Rust ignores SIGPIPE in berth; the process must not inherit that.
    let ignored = u64::from_str_radix(&status_field(&out.stdout, "SigIgn")[0], 16).unwrap();
    assert_eq!(ignored & 1 << (libc::SIGPIPE - 1), 0, "{out}");
    // Nor the init, which shares that tail of the setup.
    let ignored = u64::from_str_radix(&status_field(&init, "SigIgn")[0], 16).unwrap();
    assert_eq!(ignored & 1 << (libc::SIGPIPE - 1), 0, "{init}");
}

#[test]
fn exec_env_and_cwd() {
    let (berth, _b, id, _pid) = running("exec-env", |b| {
        b.config["process"]["env"]
            .as_array_mut()
            .unwrap()
            .push(json!("FROM_CONFIG=1"));
    });
    let out = exec(&berth, &id, &["sh", "-c", "pwd; env | sort"]).ok();
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(lines[0], "/", "{out}");
    for want in ["FROM_CONFIG=1", "TERM=xterm", "HOME=/root"] {
        assert!(lines.contains(&want), "{want} missing: {out}");
    }
    let out = exec(
        &berth,
        &id,
        &[
            "-e",
            "EXTRA=two words",
            "--cwd",
            "/etc",
            "--",
            "sh",
            "-c",
            "pwd; echo $EXTRA $FROM_CONFIG",
        ],
    )
    .ok();
    assert_eq!(out.stdout, "/etc\ntwo words 1\n");
    // --env overrides what config.json sets, PATH included (which also decides where
    // the executable is looked up): one PATH, the new one.
    let out = exec(
        &berth,
        &id,
        &["-e", "PATH=/no/such/dir:/bin", "-e", "FROM_CONFIG=2", "env"],
    )
    .ok();
    let path: Vec<&str> = out
        .stdout
        .lines()
        .filter(|l| l.starts_with("PATH="))
        .collect();
    assert_eq!(path, ["PATH=/no/such/dir:/bin"], "{out}");
    assert!(out.stdout.lines().any(|l| l == "FROM_CONFIG=2"), "{out}");
    assert!(!out.stdout.lines().any(|l| l == "FROM_CONFIG=1"), "{out}");
    let out = exec(
        &berth,
        &id,
        &["-e", "PATH=/no/such/dir", "sh", "-c", "true"],
    )
    .fails();
    assert!(out.stderr.contains("executable file not found"), "{out}");
    // A --process file is the whole process: nothing comes from config.json.
    let dir = TempDir::new("exec-process-json");
    let pj = dir.path().join("process.json");
    fs::write(
        &pj,
        json!({
            "args": ["sh", "-c", "pwd; echo ${FROM_CONFIG:-unset} $ONLY; id -u"],
            "env": ["PATH=/bin", "ONLY=here"],
            "cwd": "/dev",
            "user": {"uid": 5, "gid": 5}
        })
        .to_string(),
    )
    .unwrap();
    let out = exec(&berth, &id, &["--process", pj.to_str().unwrap()]).ok();
    assert_eq!(out.stdout, "/dev\nunset here\n5\n");
}

#[test]
fn exec_while_the_init_is_elsewhere() {
    let (berth, _b, id, _pid) = running("exec-cwd", |b| {
        b.sh("cd /proc && exec sleep 3600");
    });
    let out = exec(&berth, &id, &["sh", "-c", "pwd; readlink /proc/1/cwd"]).ok();
    assert_eq!(out.stdout, "/\n/proc\n");
}

#[test]
fn exec_with_no_pivot_sees_the_rootfs() {
    let berth = Berth::new("exec-nopivot");
    let mut b = Bundle::new("exec-nopivot");
    b.args(&["sleep", "3600"]);
    b.write_rootfs_file("/marker", "inside\n");
    b.write_config();
    let id = berth.id("np");
    berth
        .run(&["create", "--no-pivot", "--bundle", b.path_str(), &id])
        .ok();
    berth.start(&id).ok();
    berth.wait_status(&id, "running");
    let out = exec(&berth, &id, &["sh", "-c", "cat /marker; ls /"]).ok();
    assert!(out.stdout.starts_with("inside\n"), "{out}");
    assert!(!out.stdout.contains("rootfs"), "host root visible: {out}");
}

#[test]
fn exec_exit_codes_and_signals() {
    let (berth, b, id, pid) = running("exec-codes", |_| {});
    assert_eq!(exec(&berth, &id, &["sh", "-c", "exit 7"]).code, 7);
    assert_eq!(exec(&berth, &id, &["true"]).code, 0);
    assert_eq!(exec(&berth, &id, &["sh", "-c", "kill -KILL $$"]).code, 137);
    assert_eq!(exec(&berth, &id, &["sh", "-c", "kill -TERM $$"]).code, 143);

    // Signals sent to a foreground exec reach the process.
    let mut cmd = berth.command();
    cmd.args([
        "exec",
        &id,
        "sh",
        "-c",
        "trap 'exit 42' TERM; trap 'echo usr1' USR1; touch /dev/shm/ready; while :; do sleep 0.05; done",
    ]);
    cmd.stdin(Stdio::null()).stdout(Stdio::piped());
    let child = cmd.spawn().unwrap();
    let ready = format!("/proc/{pid}/root/dev/shm/ready");
    wait_until("the trap to be set", || fs::metadata(&ready).is_ok());
    unsafe {
        libc::kill(child.id() as i32, libc::SIGUSR1);
    }
    thread::sleep(Duration::from_millis(200));
    unsafe {
        libc::kill(child.id() as i32, libc::SIGTERM);
    }
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(42), "{out:?}");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "usr1\n");
    drop(b);
}

#[test]
fn exec_tty_through_the_console_socket() {
    let (berth, _b, id, _pid) = running("exec-tty", |_| {});
    let sock = ConsoleSocket::new("exec-tty");
    let out = exec(
        &berth,
        &id,
        &[
            "-t",
            "-d",
            "--console-socket",
            sock.path_str(),
            "--",
            "sh",
            "-c",
            "tty; stty size; echo done",
        ],
    )
    .ok();
    assert!(out.stdout.is_empty(), "{out}");
    let got = sock.receive();
    assert_eq!(got.name, "/dev/ptmx");
    let text = read_pty(&got.master, WAIT_TIMEOUT, |t| t.contains("done"));
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines[0].starts_with("/dev/pts/"), "{text:?}");
    assert!(lines.contains(&"done"), "{text:?}");
    // -t and -d need somewhere to send the terminal.
    let err = exec(&berth, &id, &["-t", "-d", "--", "true"]).fails();
    assert!(err.single_error_line().contains("console"), "{err}");
}

#[test]
fn exec_tty_in_the_foreground() {
    let (berth, _b, id, _pid) = running("exec-tty-fg", |_| {});
    let out = exec(&berth, &id, &["-t", "sh", "-c", "tty; exit 3"]);
    assert_eq!(out.code, 3, "{out}");
    assert!(out.stdout.starts_with("/dev/pts/"), "{out}");
}

#[test]
fn exec_detached_with_pid_file() {
    let (berth, b, id, pid) = running("exec-detach", |_| {});
    let dir = TempDir::new("exec-detach-pid");
    let pf = dir.path().join("exec.pid");
    let t0 = Instant::now();
    let out = exec(
        &berth,
        &id,
        &[
            "-d",
            "--pid-file",
            pf.to_str().unwrap(),
            "--",
            "sleep",
            "30",
        ],
    )
    .ok();
    assert!(t0.elapsed() < Duration::from_secs(10));
    assert!(out.stdout.is_empty() && out.stderr.is_empty(), "{out}");
    let xpid: i32 = fs::read_to_string(&pf).unwrap().trim().parse().unwrap();
    let cmdline = fs::read(format!("/proc/{xpid}/cmdline")).unwrap();
    assert_eq!(cmdline, b"sleep\x0030\x00");
    assert_eq!(pid_ns(xpid, "pid"), pid_ns(pid, "pid"));
    assert!(b.processes().contains(&xpid));
    // `delete --force` takes it along with the init.
    berth.delete_force(&id).ok();
    assert_no_processes(&b);
}

#[test]
fn exec_preserves_only_the_fds_asked_for() {
    let (berth, _b, id, _pid) = running("exec-fds", |_| {});
    let line = |extra: &str| {
        format!(
            "exec 3</etc/hostname 4</etc/passwd; exec {} --root {} exec {extra} {id} sh -c 'ls /proc/$$/fd; true'",
            berth_bin().display(),
            berth.root().display()
        )
    };
    let mut cmd = Command::new("sh");
    cmd.arg("-c").arg(line(""));
    let out = run_command(cmd, CMD_TIMEOUT).ok();
    assert_eq!(
        out.stdout.split_whitespace().collect::<Vec<_>>(),
        ["0", "1", "2"]
    );
    let mut cmd = Command::new("sh");
    cmd.arg("-c").arg(line("--preserve-fds 2"));
    let out = run_command(cmd, CMD_TIMEOUT).ok();
    assert_eq!(
        out.stdout.split_whitespace().collect::<Vec<_>>(),
        ["0", "1", "2", "3", "4"]
    );
}

#[test]
fn fifty_execs_leave_no_zombie_and_no_fd() {
    let (berth, b, id, pid) = running("exec-fifty", |_| {});
    let init_fds = fd_count(pid);
    let before = b.processes();
    let t0 = Instant::now();
    for _ in 0..50 {
        exec(&berth, &id, &["true"]).ok();
    }
    let elapsed = t0.elapsed();
    assert_eq!(fd_count(pid), init_fds, "the init's fds changed");
    let mut after = b.processes();
    after.sort();
    assert_eq!(after, before, "processes in the container changed");
    // An exec'd process is berth's child, reaped by berth; anything it left behind
    // would be the init's.
    let zombies: Vec<(i32, char)> = children_of(pid)
        .into_iter()
        .filter(|(_, s)| *s == 'Z')
        .collect();
    assert!(zombies.is_empty(), "zombies: {zombies:?}");
    let inside = exec(&berth, &id, &["ps", "-o", "pid,stat,args"]).ok();
    assert_eq!(
        inside.stdout.lines().count(),
        3,
        "init, ps and the header: {inside}"
    );
    eprintln!("50 execs in {elapsed:?}");
}

/// Asserts the one-line contract for a failed exec, and that it left the container as
/// it was.
fn assert_clean_failure(out: &Output, want: &str, b: &Bundle, before: &[i32]) {
    assert_eq!(out.code, 255, "{out}");
    let line = out.single_error_line();
    assert!(line.contains(want), "expected {want:?} in: {out}");
    let mut now = b.processes();
    now.sort();
    assert_eq!(now, before, "processes left behind by: {out}");
}

#[test]
fn exec_bad_input() {
    let (berth, b, id, _pid) = running("exec-bad", |_| {});
    let mut before = b.processes();
    before.sort();
    let entries = berth.state_entries();

    let out = exec(&berth, "no-such-container", &["true"]);
    assert_clean_failure(&out, "does not exist", &b, &before);
    let out = exec(&berth, &id, &["no-such-program"]);
    assert_clean_failure(&out, "no-such-program", &b, &before);
    let out = exec(&berth, &id, &["/bin/nope"]);
    assert_clean_failure(&out, "/bin/nope", &b, &before);
    let out = exec(&berth, &id, &["-u", "root", "--", "true"]);
    assert_clean_failure(&out, "--user", &b, &before);
    let out = exec(&berth, &id, &["-u", "1:x", "--", "true"]);
    assert_clean_failure(&out, "--user", &b, &before);
    let out = exec(&berth, &id, &["--cwd", "/no/such/dir", "--", "true"]);
    assert_clean_failure(&out, "/no/such/dir", &b, &before);
    let out = exec(&berth, &id, &["--cap", "CAP_BOGUS", "--", "true"]);
    assert_clean_failure(&out, "CAP_BOGUS", &b, &before);
    let out = exec(&berth, &id, &[]);
    assert_clean_failure(&out, "command", &b, &before);
    let out = exec(&berth, &id, &["--process", "/no/such/process.json"]);
    assert_clean_failure(&out, "/no/such/process.json", &b, &before);
    // This host has neither AppArmor nor SELinux: asking for them is an error, not a
    // silent no-op.
    if !std::path::Path::new("/sys/kernel/security/apparmor").exists() {
        let out = exec(&berth, &id, &["--apparmor", "unconfined", "--", "true"]);
        assert_clean_failure(&out, "AppArmor", &b, &before);
    }
    if !std::path::Path::new("/sys/fs/selinux/enforce").exists() {
        let out = exec(
            &berth,
            &id,
            &[
                "--process-label",
                "system_u:system_r:container_t:s0",
                "--",
                "true",
            ],
        );
        assert_clean_failure(&out, "SELinux", &b, &before);
    }

    assert_eq!(berth.state_entries(), entries);
    assert_eq!(berth.status(&id).as_deref(), Some("running"));
}

#[test]
fn exec_refuses_a_stopped_container() {
    let berth = Berth::new("exec-stopped");
    let mut b = Bundle::new("exec-stopped");
    b.args(&["true"]);
    let id = berth.id("st");
    berth.create(&b, &id).ok();
    berth.start(&id).ok();
    berth.wait_status(&id, "stopped");
    let out = exec(&berth, &id, &["true"]);
    assert_clean_failure(&out, "stopped", &b, &[]);
    assert_eq!(berth.status(&id).as_deref(), Some("stopped"));
}

#[test]
fn exec_into_a_created_container() {
    let berth = Berth::new("exec-created");
    let mut b = Bundle::new("exec-created");
    b.args(&["sleep", "3600"]);
    let id = berth.id("cr");
    berth.create(&b, &id).ok();
    let pid = berth.pid(&id);
    let out = exec(&berth, &id, &["readlink", "/proc/self/ns/mnt"]).ok();
    assert_eq!(out.stdout.trim(), pid_ns(pid, "mnt"));
    assert_eq!(berth.status(&id).as_deref(), Some("created"));
}

#[test]
fn exec_and_a_paused_container() {
    let (berth, b, id, _pid) = running("exec-paused", |_| {});
    berth.run(&["pause", &id]).ok();
    assert_eq!(berth.status(&id).as_deref(), Some("paused"));
    let mut before = b.processes();
    before.sort();
    let out = exec(&berth, &id, &["true"]);
    assert_clean_failure(&out, "paused", &b, &before);
    assert!(out.stderr.contains("--ignore-paused"), "{out}");

    // --ignore-paused: the process starts once the container is resumed (and `resume`
    // is not kept waiting by the exec).
    let mut cmd = berth.command();
    cmd.args(["exec", "--ignore-paused", &id, "sh", "-c", "echo resumed"]);
    cmd.stdin(Stdio::null()).stdout(Stdio::piped());
    let child = cmd.spawn().unwrap();
    thread::sleep(Duration::from_millis(300));
    berth.run(&["resume", &id]).ok();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "resumed\n");
}

#[test]
fn exec_cpu_affinity() {
    let cpus = thread::available_parallelism().map_or(1, |n| n.get());
    if cpus < 2 {
        eprintln!("one CPU: nothing to pin; skipping");
        return;
    }
    let last = (cpus - 1).to_string();
    let (berth, _b, id, pid) = running("exec-cpus", |b| {
        b.config["process"]["execCPUAffinity"] = json!({"initial": "0", "final": last});
    });
    let field = |status: &str| status_field(status, "Cpus_allowed_list").join(" ");
    let out = exec(&berth, &id, &["cat", "/proc/self/status"]).ok();
    assert_eq!(field(&out.stdout), last, "{out}");
    // The init is not pinned: the setting is for exec'd processes only.
    let init = fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    assert_eq!(field(&init), format!("0-{last}"));
}

#[test]
fn exec_on_a_cgroup_v2_host() {
    let berth = Berth::new("exec-v2");
    let mut b = Bundle::new("exec-v2");
    b.args(&["sleep", "3600"]);
    b.write_config();
    let id = berth.id("v2");
    let _guard = V2Cleanup {
        berth: &berth,
        id: id.clone(),
    };
    v2(&berth, &["create", "--bundle", b.path_str(), &id]).ok();
    v2(&berth, &["start", &id]).ok();
    let state: serde_json::Value =
        serde_json::from_str(&v2(&berth, &["state", &id]).ok().stdout).unwrap();
    let pid = state["pid"].to_string();
    let dir = v2_host_dir(&berth, &id);
    // The v2 line of /proc/self/cgroup, as the exec'd process sees it.
    let v2_line = |flags: &[&str]| {
        let mut args = vec!["exec"];
        args.extend_from_slice(flags);
        args.extend_from_slice(&[&id, "cat", "/proc/self/cgroup"]);
        let out = v2(&berth, &args).ok();
        out.stdout
            .lines()
            .find_map(|l| l.strip_prefix("0::"))
            .unwrap_or_else(|| panic!("{out}"))
            .to_string()
    };
    assert_eq!(v2_line(&[]), "/");
    fs::create_dir(dir.join("sub")).unwrap();
    assert_eq!(v2_line(&["--cgroup", "sub"]), "/sub");
    let out = v2(&berth, &["exec", "--cgroup", "memory:sub", &id, "true"]).fails();
    assert!(out.single_error_line().contains("cgroup v2"), "{out}");

    // The init moves below and the container's cgroup enables a controller for its
    // children: the top takes no process any more, and exec goes to the init's cgroup,
    // unless --cgroup names the top.
    fs::create_dir(dir.join("init")).unwrap();
    fs::write(dir.join("init/cgroup.procs"), &pid).unwrap();
    fs::write(dir.join("cgroup.subtree_control"), "+hugetlb").unwrap();
    assert_eq!(v2_line(&[]), "/init");
    let out = v2(&berth, &["exec", "--cgroup", "/", &id, "true"]).fails();
    assert!(out.single_error_line().contains("busy"), "{out}");

    fs::write(dir.join("cgroup.subtree_control"), "-hugetlb").unwrap();
    fs::write(dir.join("cgroup.procs"), &pid).unwrap();
    fs::remove_dir(dir.join("init")).unwrap();
    fs::remove_dir(dir.join("sub")).unwrap();
    v2(&berth, &["delete", "--force", &id]).ok();
    assert!(!dir.exists());
}

#[test]
fn exec_gets_the_containers_seccomp_filter() {
    let profile = json!({
        "defaultAction": "SCMP_ACT_ALLOW",
        "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1}]
    });
    for nnp in [true, false] {
        let (berth, _b, id, pid) = running("exec-seccomp", |b| {
            b.config["linux"]["seccomp"] = profile.clone();
            b.config["process"]["noNewPrivileges"] = json!(nnp);
        });
        let out = exec(
            &berth,
            &id,
            &[
                "sh",
                "-c",
                "mkdir /dev/shm/d || echo refused; grep ^Seccomp /proc/self/status",
            ],
        )
        .ok();
        assert!(out.stdout.starts_with("refused\n"), "{out}");
        let init = fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
        for key in ["Seccomp", "Seccomp_filters"] {
            assert_eq!(
                status_field(&out.stdout, key),
                status_field(&init, key),
                "{key} (noNewPrivileges {nnp}): {out}"
            );
        }
        assert_eq!(status_field(&out.stdout, "Seccomp"), ["2"]);
    }
}
