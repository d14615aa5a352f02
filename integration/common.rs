//! Shared helpers for the integration suite: temp bundles, a runner for the runtime binary, and host-state snapshots.
//!
//! Every test builds its own [`Bundle`] (a temp dir holding a copy of the busybox rootfs and a
//! `config.json` generated from [`base_config`]) and its own [`Berth`] runner (with a private
//! `--root` state dir), so tests can run in parallel threads. Both clean up on drop, even when
//! the test panics: containers are force-deleted, stray processes rooted in the bundle are
//! killed, leaked mounts under the bundle are detached, and the directories are removed.

#![allow(dead_code)]

use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::thread;
use std::time::{Duration, Instant};

/// How long a single invocation of the runtime may take before it is killed.
pub const CMD_TIMEOUT: Duration = Duration::from_secs(30);
/// How long to wait for a container to reach an expected status.
pub const WAIT_TIMEOUT: Duration = Duration::from_secs(10);

static COUNTER: AtomicUsize = AtomicUsize::new(0);

/// A name unique within this test process (and, through the pid, across concurrent runs).
pub fn unique(name: &str) -> String {
    let n = COUNTER.fetch_add(1, Ordering::SeqCst);
    format!("{name}-{}-{n}", std::process::id())
}

/// The runtime under test: `$BERTH_BIN`, else the crate's own binary.
pub fn berth_bin() -> PathBuf {
    match std::env::var_os("BERTH_BIN") {
        Some(p) if !p.is_empty() => PathBuf::from(p),
        _ => PathBuf::from(env!("CARGO_BIN_EXE_berth")),
    }
}

/// The busybox rootfs to copy into bundles: `$BERTH_ROOTFS`, else `bundles/rootfs`.
pub fn rootfs_src() -> PathBuf {
    match std::env::var_os("BERTH_ROOTFS") {
        Some(p) if !p.is_empty() => PathBuf::from(p),
        _ => Path::new(env!("CARGO_MANIFEST_DIR")).join("bundles/rootfs"),
    }
}

/// The config every bundle starts from: what `runc spec` prints, except `terminal: false`,
/// hostname "berth", a cgroup namespace, and no /sys/fs/cgroup mount.
pub fn base_config() -> Value {
    let caps = json!(["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"]);
    json!({
        "ociVersion": "1.0.2-dev",
        "process": {
            "terminal": false,
            "user": {"uid": 0, "gid": 0},
            "args": ["true"],
            "env": [
                "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                "TERM=xterm"
            ],
            "cwd": "/",
            "capabilities": {
                "bounding": caps,
                "effective": caps,
                // No "ambient": runc 1.2 dropped it from `runc spec`, since without
                // "inheritable" the kernel cannot raise it (runtimes warn about it).
                "permitted": caps
            },
            "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024}],
            "noNewPrivileges": true
        },
        "root": {"path": "rootfs", "readonly": true},
        "hostname": "berth",
        "mounts": [
            {"destination": "/proc", "type": "proc", "source": "proc"},
            {"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
             "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
            {"destination": "/dev/pts", "type": "devpts", "source": "devpts",
             "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]},
            {"destination": "/dev/shm", "type": "tmpfs", "source": "shm",
             "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]},
            {"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue",
             "options": ["nosuid", "noexec", "nodev"]},
            {"destination": "/sys", "type": "sysfs", "source": "sysfs",
             "options": ["nosuid", "noexec", "nodev", "ro"]}
        ],
        "linux": {
            "resources": {"devices": [{"allow": false, "access": "rwm"}]},
            "namespaces": [
                {"type": "pid"},
                {"type": "network"},
                {"type": "ipc"},
                {"type": "uts"},
                {"type": "mount"},
                {"type": "cgroup"}
            ],
            "maskedPaths": [
                "/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys",
                "/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats",
                "/proc/sched_debug", "/sys/firmware", "/proc/scsi"
            ],
            "readonlyPaths": [
                "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"
            ]
        }
    })
}

/// Runs `cmd` with stdin closed and stdout/stderr sent to temp files, killing it after
/// `timeout`. Files rather than pipes: a detached container inherits the runtime's stdio and
/// would hold a pipe open long after the runtime itself has returned.
pub fn run_command(mut cmd: Command, timeout: Duration) -> Output {
    let base = std::env::temp_dir().join(unique("berth-it-io"));
    let out_path = base.with_extension("out");
    let err_path = base.with_extension("err");
    let out_file = fs::File::create(&out_path).expect("create stdout capture file");
    let err_file = fs::File::create(&err_path).expect("create stderr capture file");
    cmd.stdin(Stdio::null())
        .stdout(Stdio::from(out_file))
        .stderr(Stdio::from(err_file));
    let desc = format!("{cmd:?}");
    let mut child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("cannot spawn {desc}: {e}"));
    let start = Instant::now();
    let status = loop {
        match child.try_wait().expect("wait for child") {
            Some(st) => break Some(st),
            None if start.elapsed() > timeout => {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
            None => thread::sleep(Duration::from_millis(5)),
        }
    };
    let stdout = fs::read_to_string(&out_path).unwrap_or_default();
    let stderr = fs::read_to_string(&err_path).unwrap_or_default();
    let _ = fs::remove_file(&out_path);
    let _ = fs::remove_file(&err_path);
    let Some(status) = status else {
        panic!("timed out after {timeout:?}: {desc}\nstdout: {stdout}\nstderr: {stderr}");
    };
    let code = match status.code() {
        Some(c) => c,
        None => {
            use std::os::unix::process::ExitStatusExt;
            128 + status.signal().unwrap_or(0)
        }
    };
    Output {
        code,
        stdout,
        stderr,
        desc,
    }
}

/// What one invocation of the runtime produced.
#[derive(Debug, Clone)]
pub struct Output {
    /// Exit code, or 128+N when the runtime itself died of signal N.
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
    /// The command line, for assertion messages.
    pub desc: String,
}

impl Output {
    pub fn success(&self) -> bool {
        self.code == 0
    }

    /// Panics (with everything printed) unless the command exited 0.
    pub fn ok(self) -> Self {
        assert!(self.success(), "command failed: {self}");
        self
    }

    /// Panics unless the command failed.
    pub fn fails(self) -> Self {
        assert!(!self.success(), "command unexpectedly succeeded: {self}");
        self
    }

    /// The non-blank lines of stderr.
    pub fn error_lines(&self) -> Vec<&str> {
        self.stderr
            .lines()
            .filter(|l| !l.trim().is_empty())
            .collect()
    }

    /// Asserts the one-error-line contract and returns that line.
    pub fn single_error_line(&self) -> String {
        let lines = self.error_lines();
        assert_eq!(
            lines.len(),
            1,
            "expected exactly one non-empty stderr line: {self}"
        );
        lines[0].to_string()
    }
}

impl std::fmt::Display for Output {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}\n  exit: {}\n  stdout: {:?}\n  stderr: {:?}",
            self.desc, self.code, self.stdout, self.stderr
        )
    }
}

/// A temp bundle directory: `rootfs/` (a `cp -a` of [`rootfs_src`]) plus a config that the
/// test mutates through `config` and that is written out by the [`Berth`] helpers.
pub struct Bundle {
    dir: PathBuf,
    pub config: Value,
}

impl Bundle {
    pub fn new(name: &str) -> Bundle {
        let src = rootfs_src();
        assert!(
            src.join("bin/busybox").exists(),
            "no busybox rootfs at {} (run bundles/mkrootfs.sh or set BERTH_ROOTFS)",
            src.display()
        );
        let dir = std::env::temp_dir().join(unique(&format!("berth-it-{name}")));
        fs::create_dir(&dir).expect("create bundle dir");
        // World-traversable, so user-namespaced containers can reach the rootfs.
        fs::set_permissions(&dir, fs::Permissions::from_mode(0o755)).unwrap();
        let st = Command::new("cp")
            .arg("-a")
            .arg(&src)
            .arg(dir.join("rootfs"))
            .status()
            .expect("run cp");
        assert!(st.success(), "cp -a {} failed", src.display());
        Bundle {
            dir,
            config: base_config(),
        }
    }

    pub fn path(&self) -> &Path {
        &self.dir
    }

    pub fn path_str(&self) -> &str {
        self.dir.to_str().unwrap()
    }

    pub fn rootfs(&self) -> PathBuf {
        self.dir.join("rootfs")
    }

    pub fn config_path(&self) -> PathBuf {
        self.dir.join("config.json")
    }

    /// Sets `process.args`.
    pub fn args(&mut self, args: &[&str]) -> &mut Self {
        self.config["process"]["args"] = json!(args);
        self
    }

    /// Sets `process.args` to `sh -c SCRIPT`.
    pub fn sh(&mut self, script: &str) -> &mut Self {
        self.args(&["sh", "-c", script])
    }

    /// Sets `root.readonly`.
    pub fn readonly(&mut self, ro: bool) -> &mut Self {
        self.config["root"]["readonly"] = json!(ro);
        self
    }

    pub fn add_mount(&mut self, mount: Value) -> &mut Self {
        self.config["mounts"].as_array_mut().unwrap().push(mount);
        self
    }

    /// Drops the namespace of type `ty` from `linux.namespaces`.
    pub fn remove_namespace(&mut self, ty: &str) -> &mut Self {
        self.config["linux"]["namespaces"]
            .as_array_mut()
            .unwrap()
            .retain(|ns| ns["type"] != ty);
        self
    }

    /// Sets (or adds) the namespace of type `ty` with a `path` to join.
    pub fn join_namespace(&mut self, ty: &str, path: &str) -> &mut Self {
        self.remove_namespace(ty);
        self.config["linux"]["namespaces"]
            .as_array_mut()
            .unwrap()
            .push(json!({"type": ty, "path": path}));
        self
    }

    pub fn add_namespace(&mut self, ty: &str) -> &mut Self {
        self.remove_namespace(ty);
        self.config["linux"]["namespaces"]
            .as_array_mut()
            .unwrap()
            .push(json!({"type": ty}));
        self
    }

    pub fn write_config(&self) {
        let text = serde_json::to_string_pretty(&self.config).unwrap();
        fs::write(self.config_path(), text).expect("write config.json");
    }

    /// Writes a file inside the rootfs (creating parent dirs).
    pub fn write_rootfs_file(&self, rel: &str, content: &str) {
        let p = self.rootfs().join(rel.trim_start_matches('/'));
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(&p, content).unwrap();
    }

    /// Pids of processes whose root directory is this bundle's rootfs.
    pub fn processes(&self) -> Vec<i32> {
        pids_rooted_at(&self.rootfs())
    }
}

impl Drop for Bundle {
    fn drop(&mut self) {
        for pid in self.processes() {
            unsafe {
                libc::kill(pid, libc::SIGKILL);
            }
        }
        // Anything mounted under the bundle in our namespace is a runtime bug; detach it so
        // removing the directory cannot walk into a host filesystem.
        let prefix = format!("{}/", self.dir.display());
        let mut leaked: Vec<String> =
            parse_mountinfo(&fs::read_to_string("/proc/self/mountinfo").unwrap_or_default())
                .into_iter()
                .map(|m| m.mount_point)
                .filter(|mp| mp.starts_with(&prefix) || mp == self.path_str())
                .collect();
        leaked.sort_by_key(|m| std::cmp::Reverse(m.len()));
        for mp in leaked {
            if let Ok(c) = std::ffi::CString::new(mp) {
                unsafe {
                    libc::umount2(c.as_ptr(), libc::MNT_DETACH);
                }
            }
        }
        let _ = Command::new("rm")
            .arg("-rf")
            .arg("--one-file-system")
            .arg(&self.dir)
            .status();
    }
}

/// A runner for the runtime binary with a private `--root` state dir.
pub struct Berth {
    root: PathBuf,
    ids: Mutex<Vec<String>>,
}

impl Berth {
    pub fn new(name: &str) -> Berth {
        let root = Path::new("/run/berth-test").join(unique(name));
        fs::create_dir_all(root.parent().unwrap()).expect("create /run/berth-test");
        Berth {
            root,
            ids: Mutex::new(Vec::new()),
        }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// A container id unique to this process, remembered for cleanup.
    pub fn id(&self, name: &str) -> String {
        let id = unique(name);
        self.track(&id);
        id
    }

    fn track(&self, id: &str) {
        let mut ids = self.ids.lock().unwrap_or_else(|e| e.into_inner());
        if !ids.iter().any(|i| i == id) {
            ids.push(id.to_string());
        }
    }

    /// A command for the binary with `--root` already given.
    pub fn command(&self) -> Command {
        let mut cmd = Command::new(berth_bin());
        cmd.arg("--root").arg(&self.root);
        cmd
    }

    /// Runs the binary with `--root ROOT` followed by `args`.
    pub fn run(&self, args: &[&str]) -> Output {
        let mut cmd = self.command();
        cmd.args(args);
        run_command(cmd, CMD_TIMEOUT)
    }

    /// Like [`Berth::run`] with extra global flags before the subcommand (e.g. `--log F`).
    pub fn run_global(&self, global: &[&str], args: &[&str]) -> Output {
        let mut cmd = self.command();
        cmd.args(global).args(args);
        run_command(cmd, CMD_TIMEOUT)
    }

    pub fn create(&self, bundle: &Bundle, id: &str) -> Output {
        self.track(id);
        bundle.write_config();
        self.run(&["create", "--bundle", bundle.path_str(), id])
    }

    pub fn start(&self, id: &str) -> Output {
        self.run(&["start", id])
    }

    pub fn state(&self, id: &str) -> Output {
        self.run(&["state", id])
    }

    /// `state ID` parsed; panics if it fails.
    pub fn state_json(&self, id: &str) -> Value {
        let out = self.state(id).ok();
        serde_json::from_str(&out.stdout)
            .unwrap_or_else(|e| panic!("state output is not JSON ({e}): {out}"))
    }

    /// The container's status, or None when `state` fails.
    pub fn status(&self, id: &str) -> Option<String> {
        let out = self.state(id);
        if !out.success() {
            return None;
        }
        let v: Value = serde_json::from_str(&out.stdout).ok()?;
        v["status"].as_str().map(str::to_string)
    }

    pub fn pid(&self, id: &str) -> i32 {
        let v = self.state_json(id);
        v["pid"].as_i64().expect("state has a pid") as i32
    }

    pub fn delete(&self, id: &str) -> Output {
        self.run(&["delete", id])
    }

    pub fn delete_force(&self, id: &str) -> Output {
        self.run(&["delete", "--force", id])
    }

    pub fn kill(&self, id: &str, sig: &str) -> Output {
        self.run(&["kill", id, sig])
    }

    pub fn list(&self, extra: &[&str]) -> Output {
        let mut args = vec!["list"];
        args.extend_from_slice(extra);
        self.run(&args)
    }

    /// Polls `state` until the status is `want`; panics after [`WAIT_TIMEOUT`].
    pub fn wait_status(&self, id: &str, want: &str) -> Value {
        let start = Instant::now();
        loop {
            let out = self.state(id);
            if out.success() {
                if let Ok(v) = serde_json::from_str::<Value>(&out.stdout) {
                    if v["status"] == want {
                        return v;
                    }
                }
            }
            if start.elapsed() > WAIT_TIMEOUT {
                panic!("container {id} did not reach status {want:?}; last state: {out}");
            }
            thread::sleep(Duration::from_millis(20));
        }
    }

    /// `create` + `start` and wait until it is running; returns the container pid.
    pub fn start_container(&self, bundle: &Bundle, id: &str) -> i32 {
        self.create(bundle, id).ok();
        self.start(id).ok();
        let v = self.wait_status(id, "running");
        v["pid"].as_i64().unwrap() as i32
    }

    /// `run --bundle B ID` in the foreground.
    pub fn run_bundle(&self, bundle: &Bundle, id: &str, extra: &[&str]) -> Output {
        self.track(id);
        bundle.write_config();
        let mut args = vec!["run", "--bundle", bundle.path_str()];
        args.extend_from_slice(extra);
        args.push(id);
        self.run(&args)
    }

    /// `run --bundle B ID` to completion: (exit code, stdout, stderr).
    pub fn run_container(&self, bundle: &Bundle, id: &str) -> (i32, String, String) {
        let out = self.run_bundle(bundle, id, &[]);
        (out.code, out.stdout, out.stderr)
    }

    /// Runs the bundle, asserts exit 0 and returns its stdout.
    pub fn output_of(&self, bundle: &Bundle) -> String {
        let id = self.id("run");
        self.run_bundle(bundle, &id, &[]).ok().stdout
    }

    /// Names in the state root dir (empty when the dir does not exist).
    pub fn state_entries(&self) -> Vec<String> {
        match fs::read_dir(&self.root) {
            Ok(rd) => rd
                .filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect(),
            Err(_) => Vec::new(),
        }
    }
}

impl Drop for Berth {
    fn drop(&mut self) {
        let mut ids = self.ids.lock().unwrap_or_else(|e| e.into_inner()).clone();
        for e in self.state_entries() {
            if !ids.contains(&e) {
                ids.push(e);
            }
        }
        for id in ids {
            if id.is_empty() || id.contains('/') || id == "." || id == ".." {
                continue;
            }
            if self.root.join(&id).exists() {
                let mut cmd = self.command();
                cmd.args(["delete", "--force", &id]);
                let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    run_command(cmd, Duration::from_secs(10))
                }));
            }
        }
        let _ = fs::remove_dir_all(&self.root);
    }
}

/// A host temp dir removed on drop.
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new(name: &str) -> TempDir {
        let p = std::env::temp_dir().join(unique(&format!("berth-it-{name}")));
        fs::create_dir(&p).unwrap();
        fs::set_permissions(&p, fs::Permissions::from_mode(0o755)).unwrap();
        TempDir(p)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }

    pub fn path_str(&self) -> &str {
        self.0.to_str().unwrap()
    }

    /// Names of the entries in the dir, sorted.
    pub fn entries(&self) -> Vec<String> {
        let mut v: Vec<String> = fs::read_dir(&self.0)
            .map(|rd| {
                rd.filter_map(|e| e.ok())
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default();
        v.sort();
        v
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = Command::new("rm")
            .arg("-rf")
            .arg("--one-file-system")
            .arg(&self.0)
            .status();
    }
}

// The runtime's own mountinfo parser: the tests read the table the way berth does.
pub use berth::linux::mountinfo::{parse as parse_mountinfo, MountInfo as MountEntry};

/// The topmost (last listed) mount at `mount_point`.
pub fn find_mount<'a>(mounts: &'a [MountEntry], mount_point: &str) -> Option<&'a MountEntry> {
    mounts.iter().rev().find(|m| m.mount_point == mount_point)
}

/// Like [`find_mount`] but panics with the whole table when there is none.
pub fn expect_mount<'a>(mounts: &'a [MountEntry], mount_point: &str) -> &'a MountEntry {
    find_mount(mounts, mount_point)
        .unwrap_or_else(|| panic!("no mount at {mount_point} in {mounts:#?}"))
}

/// The host's mount table as a set of mountinfo lines.
pub fn host_mounts() -> BTreeSet<String> {
    fs::read_to_string("/proc/self/mountinfo")
        .expect("read /proc/self/mountinfo")
        .lines()
        .map(str::to_string)
        .collect()
}

/// Asserts the host mount table is exactly `before`.
pub fn assert_mounts_unchanged(before: &BTreeSet<String>) {
    let after = host_mounts();
    let added: Vec<&String> = after.difference(before).collect();
    let removed: Vec<&String> = before.difference(&after).collect();
    assert!(
        added.is_empty() && removed.is_empty(),
        "host mount table changed\n  added: {added:#?}\n  removed: {removed:#?}"
    );
}

/// Pids of processes whose root directory is `dir` (same device and inode), i.e. processes
/// running inside a container whose rootfs is `dir`.
pub fn pids_rooted_at(dir: &Path) -> Vec<i32> {
    let Ok(md) = fs::metadata(dir) else {
        return Vec::new();
    };
    let (dev, ino) = (md.dev(), md.ino());
    let me = std::process::id() as i32;
    let mut pids = Vec::new();
    let Ok(rd) = fs::read_dir("/proc") else {
        return pids;
    };
    for e in rd.filter_map(|e| e.ok()) {
        let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<i32>().ok()) else {
            continue;
        };
        if pid == me {
            continue;
        }
        if let Ok(m) = fs::metadata(e.path().join("root")) {
            if m.dev() == dev && m.ino() == ino {
                pids.push(pid);
            }
        }
    }
    pids
}

/// Polls until no process is rooted in the bundle (processes can take a moment to be reaped).
pub fn assert_no_processes(bundle: &Bundle) {
    let start = Instant::now();
    loop {
        let pids = bundle.processes();
        if pids.is_empty() {
            return;
        }
        if start.elapsed() > WAIT_TIMEOUT {
            let desc: Vec<String> = pids
                .iter()
                .map(|p| {
                    let cmd = fs::read(format!("/proc/{p}/cmdline")).unwrap_or_default();
                    format!("{p}: {}", String::from_utf8_lossy(&cmd).replace('\0', " "))
                })
                .collect();
            panic!("processes left running in the container rootfs: {desc:#?}");
        }
        thread::sleep(Duration::from_millis(20));
    }
}

/// Polls until `f` is true; panics with `what` after [`WAIT_TIMEOUT`].
pub fn wait_until(what: &str, mut f: impl FnMut() -> bool) {
    let start = Instant::now();
    while !f() {
        if start.elapsed() > WAIT_TIMEOUT {
            panic!("timed out waiting for {what}");
        }
        thread::sleep(Duration::from_millis(20));
    }
}

/// The inode link of one of this process's namespaces, e.g. `net:[4026531840]`.
pub fn host_ns(kind: &str) -> String {
    fs::read_link(format!("/proc/self/ns/{kind}"))
        .unwrap()
        .to_string_lossy()
        .into_owned()
}

/// The namespace link of another process.
pub fn pid_ns(pid: i32, kind: &str) -> String {
    fs::read_link(format!("/proc/{pid}/ns/{kind}"))
        .unwrap()
        .to_string_lossy()
        .into_owned()
}
