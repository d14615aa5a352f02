//! `linux.seccomp`, seen from inside the container: allow-lists with ERRNO defaults, every
//! action, argument rules, architectures, the LOG flag, a Docker-like default profile under
//! which busybox and a threaded program work, ENOSYS for syscalls newer than the profile,
//! SCMP_ACT_NOTIFY with a seccomp agent written here, and the bad profiles that must fail
//! create cleanly.
//!
//! Syscall experiments that busybox cannot make (threads, i386 and x32 calls, raw clone
//! flags) come from `probe`, a small static C program built once per test run with
//! `cc -static -pthread` and copied into each bundle.

use crate::common::*;
use crate::errors::assert_clean_failure;
use serde_json::{json, Value};
use std::fs;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::net::UnixListener;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{mpsc, OnceLock};
use std::thread;
use std::time::Duration;

/// The Docker-like default profile (also used by bench/bench.sh): ERRNO(EPERM) for
/// everything but ~350 allowed syscalls, argument rules for personality, socket and clone,
/// clone3 → ENOSYS, for x86_64 + x86 + x32.
fn docker_profile() -> Value {
    let text = include_str!("../bench/seccomp-default.json");
    serde_json::from_str(text).unwrap()
}

/// The Docker-like profile without some allowed syscalls.
fn docker_profile_without(names: &[&str]) -> Value {
    let mut p = docker_profile();
    let allowed = p["syscalls"][0]["names"].as_array_mut().unwrap();
    allowed.retain(|n| !names.contains(&n.as_str().unwrap()));
    p
}

const PROBE_C: &str = r#"
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

/* "<what> <return value> <errno>", flushed: a later syscall may kill us. */
static void report(const char *what, long r) {
    printf("%s %ld %d\n", what, r, r < 0 ? errno : 0);
    fflush(stdout);
}

static void *work(void *arg) {
    volatile long n = 0;
    for (long i = 0; i < 100000; i++) n += i;
    return arg;
}

static void *getppid_thread(void *arg) {
    syscall(SYS_getppid);
    return arg;
}

int main(int argc, char **argv) {
    if (argc < 2) return 2;
    const char *mode = argv[1], *arg = argc > 2 ? argv[2] : "";
    if (!strcmp(mode, "threads")) {
        int n = atoi(arg);
        pthread_t t[64];
        for (int i = 0; i < n && i < 64; i++) {
            int e = pthread_create(&t[i], NULL, work, NULL);
            if (e) { printf("pthread_create: %s\n", strerror(e)); return 1; }
        }
        for (int i = 0; i < n && i < 64; i++) pthread_join(t[i], NULL);
        printf("threads ok %d\n", n);
    } else if (!strcmp(mode, "thread-getppid")) {
        pthread_t t;
        int e = pthread_create(&t, NULL, getppid_thread, NULL);
        if (e) { printf("pthread_create: %s\n", strerror(e)); return 1; }
        pthread_join(t, NULL);
        printf("main survived\n");
    } else if (!strcmp(mode, "abi")) {
        long r;
        if (!strcmp(arg, "64")) r = syscall(SYS_getppid);
        else if (!strcmp(arg, "x32")) r = syscall(0x40000000 | SYS_getppid);
        else {
            long nr = 64; /* getppid in the i386 table */
            __asm__ volatile("int $0x80" : "=a"(r) : "a"(nr) : "memory");
            if (r < 0) { errno = -r; r = -1; }
        }
        report(arg, r);
    } else if (!strcmp(mode, "personality")) {
        report("personality", syscall(SYS_personality, strtoul(arg, NULL, 0)));
    } else if (!strcmp(mode, "clone")) {
        long r = syscall(SYS_clone, strtoul(arg, NULL, 0) | SIGCHLD, 0, 0, 0, 0);
        if (r == 0) _exit(0);
        if (r > 0) { waitpid(r, NULL, 0); r = 0; }
        report("clone", r);
    } else if (!strcmp(mode, "clone3")) {
        report("clone3", syscall(SYS_clone3, NULL, 0));
    } else if (!strcmp(mode, "mkdir")) {
        report("mkdir", syscall(SYS_mkdir, arg, 0755));
    } else if (!strcmp(mode, "nr")) {
        /* Raw syscall numbers (x32 ones with bit 30), as given. */
        for (int i = 2; i < argc; i++)
            report(argv[i], syscall(strtol(argv[i], NULL, 0), 0, 0, 0));
    } else {
        return 2;
    }
    return 0;
}
"#;

/// The probe binary, compiled once per test process.
fn probe() -> &'static Path {
    static PROBE: OnceLock<PathBuf> = OnceLock::new();
    PROBE.get_or_init(|| {
        let dir = std::env::temp_dir().join(unique("berth-it-probe"));
        fs::create_dir_all(&dir).unwrap();
        fs::write(dir.join("probe.c"), PROBE_C).unwrap();
        let out = Command::new("cc")
            .args(["-static", "-pthread", "-O1", "-o"])
            .arg(dir.join("probe"))
            .arg(dir.join("probe.c"))
            .output()
            .expect("run cc (gcc and libc6-dev are needed for the seccomp tests)");
        assert!(
            out.status.success(),
            "cc -static -pthread failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        dir.join("probe")
    })
}

/// A bundle with `probe` in /bin (under `name` there, which is its comm) and `profile`.
fn bundle(name: &str, profile: Value) -> Bundle {
    let mut b = Bundle::new(name);
    fs::copy(probe(), b.rootfs().join("bin/probe")).unwrap();
    b.config["linux"]["seccomp"] = profile;
    b
}

/// A profile: `default` (with `extra` fields such as defaultErrnoRet) and `syscalls`.
fn profile(default: &str, syscalls: Value) -> Value {
    json!({"defaultAction": default, "syscalls": syscalls})
}

fn run(berth: &Berth, b: &Bundle) -> Output {
    let id = berth.id("sc");
    berth.run_bundle(b, &id, &[])
}

/// `run` exit code when the container process died of SIGSYS.
const KILLED_BY_SIGSYS: i32 = 128 + libc::SIGSYS;

#[test]
fn errno_default_with_an_allow_list_runs_busybox() {
    let berth = Berth::new("sc-allow");
    let mut b = bundle("sc-allow", docker_profile_without(&["mkdir", "mkdirat"]));
    b.sh(
        "echo hello; ls / | grep -c bin; cat /proc/self/status | grep '^Seccomp:'; \
          mkdir /dev/shm/x; echo mkdir=$?; echo done",
    );
    let out = run(&berth, &b).ok();
    assert!(out.stdout.contains("hello\n"), "{out}");
    assert!(out.stdout.contains("Seccomp:\t2"), "{out}");
    assert!(out.stdout.contains("mkdir=1\ndone"), "{out}");
    assert!(out.stderr.contains("Operation not permitted"), "{out}");
}

#[test]
fn errno_ret_and_default_errno_ret() {
    let berth = Berth::new("sc-errno");
    // errnoRet on the rule: EDQUOT.
    let mut b = bundle(
        "sc-errno",
        profile(
            "SCMP_ACT_ALLOW",
            json!([{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": libc::EDQUOT}]),
        ),
    );
    b.args(&["probe", "mkdir", "/dev/shm/x"]);
    let out = run(&berth, &b).ok();
    assert_eq!(out.stdout, format!("mkdir -1 {}\n", libc::EDQUOT), "{out}");

    // defaultErrnoRet for everything the allow-list leaves out.
    let mut p = docker_profile_without(&["mkdir", "mkdirat"]);
    p["defaultErrnoRet"] = json!(libc::ENOTSUP);
    b.config["linux"]["seccomp"] = p;
    let out = run(&berth, &b).ok();
    assert_eq!(out.stdout, format!("mkdir -1 {}\n", libc::ENOTSUP), "{out}");
}

#[test]
fn kill_trap_trace_log_actions() {
    let berth = Berth::new("sc-actions");
    let mut b = bundle("sc-actions", json!(null));
    b.args(&["probe", "mkdir", "/dev/shm/x"]);
    let with = |b: &mut Bundle, action: &str| {
        b.config["linux"]["seccomp"] = profile(
            "SCMP_ACT_ALLOW",
            json!([{"names": ["mkdir"], "action": action}]),
        );
    };
    for action in [
        "SCMP_ACT_KILL",
        "SCMP_ACT_KILL_THREAD",
        "SCMP_ACT_KILL_PROCESS",
        "SCMP_ACT_TRAP",
    ] {
        with(&mut b, action);
        let out = run(&berth, &b);
        assert_eq!(out.code, KILLED_BY_SIGSYS, "{action}: {out}");
        assert_eq!(out.stdout, "", "{action}: {out}");
    }
    // No tracer: the syscall fails with ENOSYS.
    with(&mut b, "SCMP_ACT_TRACE");
    let out = run(&berth, &b).ok();
    assert_eq!(out.stdout, format!("mkdir -1 {}\n", libc::ENOSYS), "{out}");
    // LOG lets it through.
    with(&mut b, "SCMP_ACT_LOG");
    let out = run(&berth, &b).ok();
    assert_eq!(out.stdout, "mkdir 0 0\n", "{out}");
}

#[test]
fn kill_thread_spares_the_other_threads_kill_process_does_not() {
    let berth = Berth::new("sc-threads-kill");
    let mut b = bundle("sc-threads-kill", json!(null));
    b.args(&["probe", "thread-getppid"]);
    b.config["linux"]["seccomp"] = profile(
        "SCMP_ACT_ALLOW",
        json!([{"names": ["getppid"], "action": "SCMP_ACT_KILL_THREAD"}]),
    );
    let out = run(&berth, &b).ok();
    assert_eq!(out.stdout, "main survived\n", "{out}");
    b.config["linux"]["seccomp"] = profile(
        "SCMP_ACT_ALLOW",
        json!([{"names": ["getppid"], "action": "SCMP_ACT_KILL_PROCESS"}]),
    );
    let out = run(&berth, &b);
    assert_eq!(out.code, KILLED_BY_SIGSYS, "{out}");
}

#[test]
fn argument_rules_allow_one_value_and_deny_another() {
    let berth = Berth::new("sc-args");
    // The Docker-like profile with its own personality rules replaced by one entry with
    // two conditions on argument 0: either value is allowed (they become two rules).
    let mut p = docker_profile();
    p["defaultErrnoRet"] = json!(libc::EACCES);
    let syscalls = p["syscalls"].as_array_mut().unwrap();
    syscalls.retain(|s| s["names"] != json!(["personality"]));
    syscalls.push(json!({"names": ["personality"], "action": "SCMP_ACT_ALLOW",
        "args": [{"index": 0, "value": 0, "op": "SCMP_CMP_EQ"},
                 {"index": 0, "value": 0xffff_ffffu32, "op": "SCMP_CMP_EQ"}]}));
    let mut b = bundle("sc-args", p);
    for (value, want) in [
        ("0", "personality 0 0\n".to_string()),
        ("0xffffffff", "personality 0 0\n".to_string()),
        ("0x0008", format!("personality -1 {}\n", libc::EACCES)),
    ] {
        b.args(&["probe", "personality", value]);
        let out = run(&berth, &b).ok();
        assert_eq!(out.stdout, want, "personality({value}): {out}");
    }
}

#[test]
fn masked_eq_clone_rule_of_the_docker_profile() {
    let berth = Berth::new("sc-masked");
    let mut b = bundle("sc-masked", docker_profile());
    b.sh("probe clone 0; probe clone 0x04000000; probe clone3");
    let out = run(&berth, &b).ok();
    assert_eq!(
        out.stdout,
        format!(
            "clone 0 0\nclone -1 {}\nclone3 -1 {}\n",
            libc::EPERM,
            libc::ENOSYS
        ),
        "{out}"
    );
}

#[test]
fn architectures_x86_and_x32_are_filtered_or_killed() {
    let berth = Berth::new("sc-arch");
    let mut b = bundle("sc-arch", json!(null));
    let deny = |arches: Value| {
        json!({"defaultAction": "SCMP_ACT_ALLOW", "architectures": arches,
               "syscalls": [{"names": ["getppid"], "action": "SCMP_ACT_ERRNO", "errnoRet": libc::EXDEV}]})
    };
    b.config["linux"]["seccomp"] = deny(json!([
        "SCMP_ARCH_X86_64",
        "SCMP_ARCH_X86",
        "SCMP_ARCH_X32"
    ]));
    for abi in ["64", "i386", "x32"] {
        b.args(&["probe", "abi", abi]);
        let out = run(&berth, &b).ok();
        assert_eq!(out.stdout, format!("{abi} -1 {}\n", libc::EXDEV), "{out}");
    }
    // Without x86 and x32 in the profile, their syscalls do not slip past the deny-list:
    // the process is killed.
    b.config["linux"]["seccomp"] = deny(json!(["SCMP_ARCH_X86_64"]));
    for abi in ["i386", "x32"] {
        b.args(&["probe", "abi", abi]);
        let out = run(&berth, &b);
        assert_eq!(out.code, KILLED_BY_SIGSYS, "{abi}: {out}");
    }
}

/// Lines of the kernel log that mention `needle`.
fn kernel_log(needle: &str) -> Vec<String> {
    let out = Command::new("dmesg").output().expect("run dmesg");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| l.contains(needle))
        .map(str::to_string)
        .collect()
}

#[test]
fn log_flag_logs_errno_actions() {
    let berth = Berth::new("sc-logflag");
    let run_named = |flags: Value| -> String {
        let comm = fresh_comm();
        let mut b = bundle("sc-logflag", json!(null));
        fs::copy(probe(), b.rootfs().join("bin").join(&comm)).unwrap();
        b.args(&[&comm, "mkdir", "/dev/shm/x"]);
        b.config["linux"]["seccomp"] = json!({"defaultAction": "SCMP_ACT_ALLOW", "flags": flags,
            "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_ERRNO"}]});
        let out = run(&berth, &b).ok();
        assert_eq!(out.stdout, format!("mkdir -1 {}\n", libc::EPERM), "{out}");
        comm
    };
    let logged = run_named(json!(["SECCOMP_FILTER_FLAG_LOG"]));
    let quiet = run_named(json!([]));
    let needle = |comm: &str| format!("comm=\"{comm}\"");
    wait_until("the audit line of the LOG flag", || {
        kernel_log(&needle(&logged))
            .iter()
            .any(|l| l.contains("syscall=83") && l.contains("code=0x50000"))
    });
    assert!(kernel_log(&needle(&quiet)).is_empty());
}

/// A process name (comm, at most 15 bytes) no other run uses, so a kernel log line that
/// names it can only be from this run.
fn fresh_comm() -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    let n = N.fetch_add(1, Ordering::SeqCst);
    format!("sc{}x{n}", std::process::id() % 10_000_000)
}

#[test]
fn docker_profile_runs_busybox_and_threads() {
    let berth = Berth::new("sc-docker");
    let mut b = bundle("sc-docker", docker_profile());
    b.sh(
        "set -e; echo start; ls /bin | grep -c . >/dev/null; cat /proc/self/status | grep '^Seccomp:'; \
         echo a b c | wc -w; date +%Y >/dev/null; sleep 0.01; (echo sub) | cat; \
         mkdir /dev/shm/d && rmdir /dev/shm/d; id -u; uname -s; \
         probe threads 8; echo end",
    );
    let out = run(&berth, &b).ok();
    assert_eq!(
        out.stdout, "start\nSeccomp:\t2\n3\nsub\n0\nLinux\nthreads ok 8\nend\n",
        "{out}"
    );
}

#[test]
fn no_new_privileges_false_loads_the_filter_before_dropping_privileges() {
    let berth = Berth::new("sc-nnp");
    let mut b = bundle("sc-nnp", docker_profile());
    b.config["process"]["noNewPrivileges"] = json!(false);
    b.config["process"]["user"] = json!({"uid": 1000, "gid": 1000});
    b.sh(
        "grep -E '^(NoNewPrivs|Seccomp):' /proc/self/status; id -u; probe threads 2; probe clone3",
    );
    let out = run(&berth, &b).ok();
    assert_eq!(
        out.stdout,
        format!(
            "NoNewPrivs:\t0\nSeccomp:\t2\n1000\nthreads ok 2\nclone3 -1 {}\n",
            libc::ENOSYS
        ),
        "{out}"
    );
}

#[test]
fn unknown_syscall_names_are_skipped_with_a_debug_log() {
    let berth = Berth::new("sc-unknown");
    let mut b = bundle(
        "sc-unknown",
        profile(
            "SCMP_ACT_ALLOW",
            json!([{"names": ["no_such_syscall", "mkdir"], "action": "SCMP_ACT_ERRNO"}]),
        ),
    );
    b.args(&["probe", "mkdir", "/dev/shm/x"]);
    let log = TempDir::new("sc-unknown-log");
    let logfile = log.path().join("log");
    let id = berth.id("sc");
    b.write_config();
    let out = berth
        .run_global(
            &["--debug", "--log", logfile.to_str().unwrap()],
            &["run", "--bundle", b.path_str(), &id],
        )
        .ok();
    assert_eq!(out.stdout, format!("mkdir -1 {}\n", libc::EPERM), "{out}");
    let text = fs::read_to_string(&logfile).unwrap();
    assert!(
        text.lines()
            .any(|l| l.contains("debug") && l.contains("no_such_syscall")),
        "{text}"
    );
}

/// What the test agent saw: the container process state and the syscalls it answered.
struct AgentReport {
    state: Value,
    answered: Vec<i32>,
}

/// A seccomp agent on a unix socket: accepts one connection, takes the listener fd and the
/// container process state (sent back on `got_state` at once), then answers every
/// notification with success (return value 0) without doing anything, until the
/// container is gone.
fn agent(
    listener: UnixListener,
    got_state: mpsc::Sender<Value>,
) -> thread::JoinHandle<AgentReport> {
    thread::spawn(move || {
        let (conn, _) = listener.accept().expect("agent: accept");
        let (fd, payload) = receive_fd_and_payload(conn.as_raw_fd());
        let state: Value = serde_json::from_slice(&payload).unwrap_or_else(|e| {
            panic!(
                "agent: bad state {e}: {}",
                String::from_utf8_lossy(&payload)
            )
        });
        got_state.send(state.clone()).unwrap();
        let mut answered = Vec::new();
        loop {
            let mut pfd = libc::pollfd {
                fd: fd.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            };
            let n = unsafe { libc::poll(&mut pfd, 1, 20_000) };
            assert!(n > 0, "agent: no notification and no hang-up in 20 s");
            if pfd.revents & libc::POLLIN == 0 {
                break; // POLLHUP: no process uses the filter any more.
            }
            let mut req: libc::seccomp_notif = unsafe { std::mem::zeroed() };
            if unsafe { libc::ioctl(fd.as_raw_fd(), libc::SECCOMP_IOCTL_NOTIF_RECV, &mut req) } != 0
            {
                continue; // the caller died meanwhile (ENOENT)
            }
            answered.push(req.data.nr);
            let mut resp = libc::seccomp_notif_resp {
                id: req.id,
                val: 0,
                error: 0,
                flags: 0,
            };
            unsafe { libc::ioctl(fd.as_raw_fd(), libc::SECCOMP_IOCTL_NOTIF_SEND, &mut resp) };
        }
        AgentReport { state, answered }
    })
}

/// recvmsg until end of file: the fd that came with the first message, and all the bytes.
fn receive_fd_and_payload(sock: i32) -> (OwnedFd, Vec<u8>) {
    let mut fd = None;
    let mut payload = Vec::new();
    loop {
        let mut buf = [0u8; 4096];
        let mut cmsg = [0u64; 8];
        let mut iov = libc::iovec {
            iov_base: buf.as_mut_ptr().cast(),
            iov_len: buf.len(),
        };
        let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
        msg.msg_iov = &mut iov;
        msg.msg_iovlen = 1;
        msg.msg_control = cmsg.as_mut_ptr().cast();
        msg.msg_controllen = std::mem::size_of_val(&cmsg);
        let n = unsafe { libc::recvmsg(sock, &mut msg, libc::MSG_CMSG_CLOEXEC) };
        assert!(
            n >= 0,
            "agent: recvmsg: {}",
            std::io::Error::last_os_error()
        );
        if n == 0 {
            break;
        }
        payload.extend_from_slice(&buf[..n as usize]);
        let c = unsafe { libc::CMSG_FIRSTHDR(&msg) };
        if !c.is_null() {
            let c = unsafe { &*c };
            assert_eq!(
                (c.cmsg_level, c.cmsg_type),
                (libc::SOL_SOCKET, libc::SCM_RIGHTS)
            );
            assert!(fd.is_none(), "agent: fds in more than one message");
            let raw = unsafe { *(libc::CMSG_DATA(c) as *const i32) };
            fd = Some(unsafe { OwnedFd::from_raw_fd(raw) });
        }
    }
    (fd.expect("agent: no fd came with the state"), payload)
}

#[test]
fn notify_hands_the_listener_to_an_agent_that_answers() {
    let berth = Berth::new("sc-notify");
    let dir = TempDir::new("sc-notify");
    let sock = dir.path().join("agent.sock");
    let listener = UnixListener::bind(&sock).unwrap();
    let (tx, rx) = mpsc::channel();
    let agent = agent(listener, tx);

    let mut b = bundle("sc-notify", json!(null));
    b.config["linux"]["seccomp"] = json!({
        "defaultAction": "SCMP_ACT_ALLOW",
        "flags": ["SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"],
        "listenerPath": sock,
        "listenerMetadata": "opaque metadata",
        "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_NOTIFY"}]
    });
    let out_dir = TempDir::new("sc-notify-out");
    b.add_mount(
        json!({"destination": "/out", "type": "bind", "source": out_dir.path(),
                       "options": ["rbind", "rw"]}),
    );
    // The agent says mkdir worked, without making anything.
    b.sh("probe mkdir /dev/shm/agent >/out/result; test -d /dev/shm/agent && echo exists >>/out/result || echo absent >>/out/result");
    let id = berth.id("notify");
    berth.create(&b, &id).ok();
    // The init sent the state before `create` returned.
    let state = rx
        .recv_timeout(Duration::from_secs(5))
        .expect("the agent got no state by the time create returned");
    let pid = berth.pid(&id);
    berth.start(&id).ok();
    berth.wait_status(&id, "stopped");
    berth.delete(&id).ok();
    let report = agent.join().expect("agent thread");

    assert_eq!(state, report.state);
    assert_eq!(state["fds"], json!(["seccompFd"]), "{state}");
    assert_eq!(state["pid"], json!(pid), "{state}");
    assert_eq!(state["metadata"], "opaque metadata", "{state}");
    assert!(
        state["ociVersion"].as_str().unwrap().starts_with("1."),
        "{state}"
    );
    assert_eq!(state["state"]["id"], json!(id), "{state}");
    assert_eq!(state["state"]["pid"], json!(pid), "{state}");
    assert_eq!(state["state"]["status"], "creating", "{state}");
    assert_eq!(state["state"]["bundle"], json!(b.path_str()), "{state}");
    let result = fs::read_to_string(out_dir.path().join("result")).unwrap();
    assert_eq!(result, "mkdir 0 0\nabsent\n");
    assert_eq!(
        report.answered,
        [libc::SYS_mkdir as i32],
        "answered syscalls"
    );
}

#[test]
fn syscalls_newer_than_the_profile_get_enosys() {
    // The Docker-like profile names x86_64 and x32 syscalls up to the 4xx range (no
    // mkdir here): 1000 is past any, so libc would fall back on ENOSYS, as under runc.
    let berth = Berth::new("sc-enosys");
    let mut b = bundle("sc-enosys", docker_profile_without(&["mkdir", "mkdirat"]));
    let mkdir = libc::SYS_mkdir.to_string();
    let x32_1000 = (0x4000_0000 | 1000).to_string();
    b.args(&["probe", "nr", "1000", &x32_1000, &mkdir]);
    let out = run(&berth, &b).ok();
    let (enosys, eperm) = (libc::ENOSYS, libc::EPERM);
    assert_eq!(
        out.stdout,
        format!("1000 -1 {enosys}\n{x32_1000} -1 {enosys}\n{mkdir} -1 {eperm}\n"),
        "{out}"
    );
    // A permissive default gets no such answer: getpid (39) is past open (2), the only
    // name here, and runs.
    b.config["linux"]["seccomp"] = json!({"defaultAction": "SCMP_ACT_LOG",
        "architectures": ["SCMP_ARCH_X86_64"],
        "syscalls": [{"names": ["open"], "action": "SCMP_ACT_ERRNO"}]});
    b.args(&["probe", "nr", &libc::SYS_getpid.to_string()]);
    let out = run(&berth, &b).ok();
    assert!(!out.stdout.contains(" -1 "), "{out}");
}

#[test]
fn notify_on_write_is_refused_before_the_agent_is_reached() {
    // runc's rule and words: the runtime's own writes after the filter (Ready,
    // exec.fifo) would go to the agent.
    let berth = Berth::new("sc-nowrite");
    let dir = TempDir::new("sc-nowrite");
    let sock = dir.path().join("agent.sock");
    let listener = UnixListener::bind(&sock).unwrap();
    listener.set_nonblocking(true).unwrap();
    let mut b = bundle("sc-nowrite", json!(null));
    b.config["linux"]["seccomp"] = json!({
        "defaultAction": "SCMP_ACT_ALLOW",
        "listenerPath": sock,
        "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_NOTIFY"},
                     {"names": ["write"], "action": "SCMP_ACT_NOTIFY"}]
    });
    b.sh("echo never");
    let id = berth.id("nw");
    let before = host_mounts();
    let out = berth.create(&b, &id);
    let line = assert_clean_failure(&berth, Some(&b), &id, &before, &out);
    assert!(
        line.contains(
            "linux.seccomp.syscalls[1]: SCMP_ACT_NOTIFY cannot be used for the write syscall"
        ),
        "{line}"
    );
    let accepted = listener.accept();
    assert!(
        accepted
            .as_ref()
            .is_err_and(|e| e.kind() == std::io::ErrorKind::WouldBlock),
        "the agent was connected to: {accepted:?}"
    );
}

#[test]
fn bad_profiles_fail_create_naming_the_key() {
    let berth = Berth::new("sc-bad");
    let dir = TempDir::new("sc-bad");
    let not_a_socket = dir.path().join("plain-file");
    fs::write(&not_a_socket, "").unwrap();
    let notify = |path: &Path| {
        json!({"defaultAction": "SCMP_ACT_ALLOW", "listenerPath": path,
               "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_NOTIFY"}]})
    };
    let cases = [
        (
            profile("SCMP_ACT_BOGUS", json!([])),
            "linux.seccomp.defaultAction",
        ),
        (
            json!({"defaultAction": "SCMP_ACT_ALLOW",
                   "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_Z80"]}),
            "linux.seccomp.architectures[1]",
        ),
        (
            profile(
                "SCMP_ACT_ALLOW",
                json!([{"names": ["mkdir"], "action": "SCMP_ACT_ERRNO",
                        "args": [{"index": 6, "value": 0, "op": "SCMP_CMP_EQ"}]}]),
            ),
            "linux.seccomp.syscalls[0].args[0].index",
        ),
        (
            profile(
                "SCMP_ACT_ALLOW",
                json!([{"names": ["read"], "action": "SCMP_ACT_ALLOW"},
                       {"names": ["mkdir"], "action": "SCMP_ACT_ERRNO",
                        "args": [{"index": 0, "value": 0, "op": "SCMP_CMP_ABOUT"}]}]),
            ),
            "linux.seccomp.syscalls[1].args[0].op",
        ),
        (
            profile(
                "SCMP_ACT_ALLOW",
                json!([{"names": ["mkdir"], "action": "SCMP_ACT_SOMETIMES"}]),
            ),
            "linux.seccomp.syscalls[0].action",
        ),
        (notify(&not_a_socket), "linux.seccomp.listenerPath"),
        (
            notify(&dir.path().join("missing.sock")),
            "linux.seccomp.listenerPath",
        ),
        (
            profile(
                "SCMP_ACT_ALLOW",
                json!([{"names": ["mkdir"], "action": "SCMP_ACT_NOTIFY"}]),
            ),
            "linux.seccomp.listenerPath",
        ),
        (
            profile(
                "SCMP_ACT_ALLOW",
                json!([{"names": ["mkdir"], "action": "SCMP_ACT_KILL", "errnoRet": 5}]),
            ),
            "linux.seccomp.syscalls[0].errnoRet",
        ),
    ];
    let mut b = bundle("sc-bad", json!(null));
    for (p, key) in cases {
        b.config["linux"]["seccomp"] = p;
        let id = berth.id("bad");
        let before = host_mounts();
        let out = berth.create(&b, &id);
        let line = assert_clean_failure(&berth, Some(&b), &id, &before, &out);
        assert!(line.contains(key), "expected {key} in: {line}");
    }
    assert!(
        berth.state_entries().is_empty(),
        "{:?}",
        berth.state_entries()
    );
}

#[test]
fn a_profile_denying_socket_sends_still_starts() {
    // The init's last message to `create` goes out under the filter (noNewPrivileges):
    // it must not depend on send/sendto/sendmsg, which such a profile forbids.
    let berth = Berth::new("sc-nosend");
    let mut b = bundle(
        "sc-nosend",
        profile(
            "SCMP_ACT_ALLOW",
            json!([{"names": ["send", "sendto", "sendmsg", "sendmmsg"], "action": "SCMP_ACT_ERRNO"}]),
        ),
    );
    b.config["process"]["noNewPrivileges"] = json!(true);
    b.sh("echo started");
    let out = run(&berth, &b).ok();
    assert_eq!(out.stdout, "started\n", "{out}");
}

#[test]
fn a_profile_without_close_range_still_starts_and_execs() {
    // The OCI validation suite's default profile (and older Docker ones) allow no
    // close_range: the runtime must mark its fds close-on-exec before the filter goes on,
    // whether the filter is loaded early (noNewPrivileges false) or last (true).
    for nnp in [false, true] {
        let berth = Berth::new("sc-noclose");
        let mut b = bundle("sc-noclose", docker_profile_without(&["close_range"]));
        b.config["process"]["noNewPrivileges"] = json!(nnp);
        b.sh("echo started; touch /tmp/ready; sleep 600");
        b.readonly(false);
        let id = berth.id("nc");
        berth.start_container(&b, &id);
        wait_until("the container process", || {
            b.rootfs().join("tmp/ready").exists()
        });
        let out = berth.run(&["exec", &id, "echo", "exec'd"]).ok();
        assert_eq!(out.stdout, "exec'd\n", "noNewPrivileges {nnp}: {out}");
        berth.delete_force(&id).ok();
        b.sh("echo started");
        let out = run(&berth, &b).ok();
        assert_eq!(out.stdout, "started\n", "noNewPrivileges {nnp}: {out}");
    }
}
