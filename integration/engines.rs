//! Real container engines driving berth: podman (through conmon), containerd (through `ctr`
//! and its runc v2 shim) and Docker (dockerd over a containerd of its own).
//!
//! Every test builds a private engine environment in temp dirs: podman gets its own
//! `--root/--runroot/--tmpdir`, storage.conf and containers.conf; containerd and dockerd are
//! started by the test with their own config, root, state, sockets and pidfile, and stopped
//! when the test ends (also when it fails, through `Drop`). Images are imported from a tarball
//! of the busybox rootfs (no registry here). berth runs with a private `--root`, so each test
//! can check that nothing is left behind once the engine has removed its containers: no
//! berth state, no processes, no container cgroups, no mounts under the temp dirs.
//!
//! Each test runs on a thread of its own in a private mount namespace (a slave of the host's),
//! so the overlay, shm and netns mounts the engines make never show up in the host mount table
//! that other tests in this suite snapshot and compare; fixed host paths that an engine uses
//! whatever its configuration (/run/containerd, podman's blob-info cache) are bind-mounted
//! over with temp dirs there.
//!
//! Not covered: `events` (containerd's shim and dockerd collect stats and OOM events from the
//! cgroups themselves, and podman has no runtime-driven stats), `checkpoint`/`restore`.

use crate::common::{berth_bin, rootfs_src, run_command, unique, Bundle, Output, TempDir};
use nix::mount::{mount, umount2, MntFlags, MsFlags};
use nix::sched::{unshare, CloneFlags};
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use serde_json::{json, Value};
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

/// How long one engine command may take (a first podman call initialises its store).
const ENGINE_TIMEOUT: Duration = Duration::from_secs(60);
/// How long a daemon may take to answer after it is started.
const DAEMON_START: Duration = Duration::from_secs(30);
/// How long leftovers may take to disappear (engines clean up asynchronously).
const SETTLE: Duration = Duration::from_secs(10);

/// The image every engine imports from the rootfs tarball.
const IMAGE: &str = "localhost/berth-busybox:test";
/// The same rootfs with USER/WORKDIR/ENV set in the image config.
const USER_IMAGE: &str = "localhost/berth-busybox:user";

/// A script that waits to be stopped and exits 0 on SIGTERM, printing that it got it.
/// (A plain `sleep` as PID 1 would ignore SIGTERM: PID 1 gets no default signal actions.)
const TERM_AWARE: &str =
    "trap 'echo got-term; exit 0' TERM; echo ready; while true; do sleep 0.1; done";

/// A script for `-t` containers: waits until the engine has applied the window size (engines
/// resize the pty asynchronously after start), then reports what the container sees.
const TTY_PROBE: &str = "i=0; until [ \"$(stty size 2>/dev/null)\" = '24 80' ] || [ $i -ge 50 ]; \
     do sleep 0.1; i=$((i+1)); done; tty; stty size; test -t 0 && echo stdin-tty; exit 5";

/// Prints a growing counter, so a test can see whether the container is running or frozen.
const COUNTER: &str = "i=0; while true; do i=$((i+1)); echo $i; sleep 0.1; done";

/// Asserts, through `lines` (how many lines the container has printed so far), that a paused
/// container makes no progress and a resumed one does.
fn assert_frozen_then_thawed(mut lines: impl FnMut() -> usize, resume: impl FnOnce()) {
    // A write already under way when the freeze came may still land: measure after a beat.
    thread::sleep(Duration::from_millis(300));
    let frozen = lines();
    thread::sleep(Duration::from_millis(700));
    assert_eq!(lines(), frozen, "a paused container kept printing");
    resume();
    crate::common::wait_until("the resumed container to print again", || lines() > frozen);
}

// ---------------------------------------------------------------------------------------------
// Shared helpers
// ---------------------------------------------------------------------------------------------

/// Runs a test body on a thread of its own in a private mount namespace. unshare(CLONE_NEWNS)
/// affects only the calling thread, so the rest of the suite keeps the host's namespace and
/// its mount table; when the thread ends, whatever the engines left mounted goes with it.
fn isolated(body: impl FnOnce() + Send + 'static) {
    let result = thread::spawn(move || {
        private_mount_namespace();
        body()
    })
    .join();
    if let Err(panic) = result {
        std::panic::resume_unwind(panic);
    }
}

/// Moves the calling thread into a mount namespace whose mounts do not propagate back to the
/// host's.
fn private_mount_namespace() {
    unshare(CloneFlags::CLONE_NEWNS).expect("unshare(CLONE_NEWNS)");
    // Slave, not private: host mounts still appear here (as on a real host), ours stay here.
    mount(
        None::<&str>,
        "/",
        None::<&str>,
        MsFlags::MS_REC | MsFlags::MS_SLAVE,
        None::<&str>,
    )
    .expect("make / a recursive slave");
}

/// Puts `private` over the host path `host` in this test's mount namespace, for state an engine
/// keeps at a fixed host path whatever its configuration says. Creating the (empty) mount
/// point is the only trace on the host, and it is what the engine would have made anyway.
fn shadow_host_dir(host: &str, private: &Path) {
    fs::create_dir_all(host).unwrap_or_else(|e| panic!("mkdir {host}: {e}"));
    fs::create_dir_all(private).unwrap();
    mount(
        Some(private),
        host,
        None::<&str>,
        MsFlags::MS_BIND,
        None::<&str>,
    )
    .unwrap_or_else(|e| panic!("bind {} over {host}: {e}", private.display()));
}

/// The absolute path of an engine tool, or a failure that says how to install it: a missing
/// engine must fail CI rather than skip, or the engine tests would silently stop running.
fn tool(name: &str) -> PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let dirs = std::env::split_paths(&path).chain(["/usr/sbin".into(), "/usr/bin".into()]);
    for dir in dirs {
        let p = dir.join(name);
        if p.is_file() {
            return p;
        }
    }
    panic!("{name} is not installed (`make deps` installs the engines these tests drive)");
}

/// The berth binary as an absolute path (engines run it from other working directories).
fn berth_abs() -> PathBuf {
    let b = berth_bin();
    fs::canonicalize(&b).unwrap_or_else(|e| panic!("berth binary {}: {e}", b.display()))
}

/// A tarball of the busybox rootfs, the input of `podman import`/`docker import` and the layer
/// of the OCI image given to containerd.
fn rootfs_tarball(dest: &Path) -> PathBuf {
    let src = rootfs_src();
    assert!(
        src.join("bin/busybox").exists(),
        "no busybox rootfs at {} (run `make rootfs` or set BERTH_ROOTFS)",
        src.display()
    );
    let tar = dest.join("rootfs.tar");
    let mut cmd = Command::new("tar");
    cmd.arg("-C")
        .arg(&src)
        .arg("--numeric-owner")
        .arg("-cf")
        .arg(&tar)
        .arg(".");
    run_command(cmd, ENGINE_TIMEOUT).ok();
    tar
}

/// Like `run_command`, but with `input` as standard input (a file, so a child that outlives
/// the command cannot hold a pipe open).
fn run_with_input(mut cmd: Command, input: &str, timeout: Duration) -> Output {
    let path = std::env::temp_dir().join(unique("berth-it-stdin"));
    fs::write(&path, input).expect("write stdin file");
    let base = path.with_extension("out");
    let out_file = fs::File::create(&base).expect("create stdout capture");
    cmd.stdin(Stdio::from(fs::File::open(&path).unwrap()))
        .stdout(Stdio::from(out_file))
        .stderr(Stdio::null());
    let desc = format!("{cmd:?}");
    let mut child = cmd.spawn().unwrap_or_else(|e| panic!("spawn {desc}: {e}"));
    let start = Instant::now();
    let status = loop {
        if let Some(st) = child.try_wait().expect("wait") {
            break Some(st);
        }
        if start.elapsed() > timeout {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        thread::sleep(Duration::from_millis(10));
    };
    let stdout = fs::read_to_string(&base).unwrap_or_default();
    let _ = fs::remove_file(&path);
    let _ = fs::remove_file(&base);
    let status = status.unwrap_or_else(|| panic!("timed out: {desc}\noutput: {stdout}"));
    Output {
        code: status.code().unwrap_or(-1),
        stdout,
        stderr: String::new(),
        desc,
    }
}

/// Runs `argv` as the only thing on a fresh pty (util-linux `script`), sized 24x80 first, with
/// `input` typed in. The engine's own stdin is then a terminal, as `-t`/`-it` need. Returns the
/// exit code and the terminal output with carriage returns dropped.
fn run_in_pty(argv: &[String], envs: &[(&str, &str)], input: &str) -> Output {
    let quoted: Vec<String> = argv
        .iter()
        .map(|a| format!("'{}'", a.replace('\'', r"'\''")))
        .collect();
    let script = format!("stty rows 24 cols 80; exec {}", quoted.join(" "));
    let mut cmd = Command::new(tool("script"));
    cmd.args(["-q", "-e", "-c", &script, "/dev/null"]);
    for (k, v) in envs {
        cmd.env(k, v);
    }
    let mut out = run_with_input(cmd, input, ENGINE_TIMEOUT);
    out.stdout = out.stdout.replace('\r', "");
    out
}

/// Command line of a process, NULs as spaces ("" once it is gone).
fn cmdline(pid: i32) -> String {
    let raw = fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
    String::from_utf8_lossy(&raw).replace('\0', " ")
}

fn all_pids() -> Vec<i32> {
    fs::read_dir("/proc")
        .map(|rd| {
            rd.filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
                .collect()
        })
        .unwrap_or_default()
}

/// Processes that belong to an engine environment: their command line names its temp dir (shims,
/// conmon, engine helpers) or their cgroup path contains one of `cgroup_needles` (container
/// processes). `keep` (the daemons themselves) and this test process are not counted.
fn env_processes(dir: &Path, cgroup_needles: &[String], keep: &[i32]) -> Vec<(i32, String)> {
    let me = std::process::id() as i32;
    // With the slash: another environment's dir may have this one's name as a prefix.
    let dir = format!("{}/", dir.display());
    let mut found = Vec::new();
    for pid in all_pids() {
        if pid == me || keep.contains(&pid) {
            continue;
        }
        let cmd = cmdline(pid);
        let cg = fs::read_to_string(format!("/proc/{pid}/cgroup")).unwrap_or_default();
        if cmd.contains(&dir) || cgroup_needles.iter().any(|n| cg.contains(n.as_str())) {
            found.push((pid, cmd));
        }
    }
    found
}

/// cgroup directories (in every mounted hierarchy) whose path below the hierarchy root
/// contains one of `needles` ("/parent/" finds the children of a parent, not the parent).
fn cgroup_dirs(needles: &[String]) -> Vec<PathBuf> {
    fn walk(dir: &Path, rel: &str, depth: usize, needles: &[String], out: &mut Vec<PathBuf>) {
        let Ok(rd) = fs::read_dir(dir) else { return };
        for e in rd.filter_map(|e| e.ok()) {
            if !e.file_type().is_ok_and(|t| t.is_dir()) {
                continue;
            }
            let name = e.file_name().to_string_lossy().into_owned();
            let rel = format!("{rel}/{name}");
            if needles.iter().any(|n| rel.contains(n.as_str())) {
                out.push(e.path());
            }
            if depth > 0 {
                walk(&e.path(), &rel, depth - 1, needles, out);
            }
        }
    }
    let mut out = Vec::new();
    for h in cgroup_hierarchies() {
        walk(&h, "", 4, needles, &mut out);
    }
    out
}

/// The roots of the mounted cgroup hierarchies: /sys/fs/cgroup itself on a pure v2 host, its
/// subdirectories (v1 controllers and the v2 "unified" mount) on a hybrid one.
fn cgroup_hierarchies() -> Vec<PathBuf> {
    let root = Path::new("/sys/fs/cgroup");
    if root.join("cgroup.controllers").exists() {
        return vec![root.to_path_buf()];
    }
    fs::read_dir(root)
        .map(|rd| rd.filter_map(|e| Some(e.ok()?.path())).collect())
        .unwrap_or_default()
}

/// Removes the (empty) parent cgroup `/name` an engine made for a test's containers; engines
/// leave it, as they do with runc.
fn remove_cgroup_parent(name: &str) {
    for h in cgroup_hierarchies() {
        let _ = fs::remove_dir(h.join(name));
    }
}

/// Mount points at or under `dir`, in this thread's mount namespace.
fn mounts_under(dir: &Path) -> Vec<String> {
    let text = fs::read_to_string("/proc/thread-self/mountinfo").unwrap_or_default();
    let dir = dir.to_string_lossy().into_owned();
    let prefix = format!("{dir}/");
    text.lines()
        .filter_map(|l| l.split(' ').nth(4))
        .filter(|mp| *mp == dir || mp.starts_with(&prefix))
        .map(str::to_string)
        .collect()
}

/// Files (not directories) anywhere under `root`: berth's state is a directory per container
/// holding files, and the engines may keep an empty per-namespace directory.
fn files_under(root: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(rd) = fs::read_dir(&d) else { continue };
        for e in rd.filter_map(|e| e.ok()) {
            if e.file_type().is_ok_and(|t| t.is_dir()) {
                stack.push(e.path());
            } else {
                out.push(e.path());
            }
        }
    }
    out
}

/// What an engine environment must not leave behind once its containers are removed.
struct Leftovers<'a> {
    /// The environment's temp dir (all its state lives below it).
    dir: &'a Path,
    /// Dirs that must hold no files: berth's `--root` as the engine uses it, engine run dirs.
    no_files_in: Vec<PathBuf>,
    /// Strings that name the environment's container cgroups.
    cgroup_needles: Vec<String>,
    /// Daemon pids that are allowed to keep running.
    keep: Vec<i32>,
    /// Mount points under `dir` that the engine keeps while it runs.
    allowed_mounts: Vec<String>,
}

impl Leftovers<'_> {
    /// Polls until nothing is left, then returns; panics with everything found after [`SETTLE`].
    fn assert_none(&self) {
        let start = Instant::now();
        loop {
            let state: Vec<PathBuf> = self
                .no_files_in
                .iter()
                .flat_map(|d| files_under(d))
                .collect();
            let procs = env_processes(self.dir, &self.cgroup_needles, &self.keep);
            let cgroups = cgroup_dirs(&self.cgroup_needles);
            let mounts: Vec<String> = mounts_under(self.dir)
                .into_iter()
                .filter(|m| !self.allowed_mounts.contains(m))
                .collect();
            if state.is_empty() && procs.is_empty() && cgroups.is_empty() && mounts.is_empty() {
                return;
            }
            if start.elapsed() > SETTLE {
                panic!(
                    "left behind:\n  berth state or engine run files: {state:#?}\n  \
                     processes: {procs:#?}\n  cgroups: {cgroups:#?}\n  mounts: {mounts:#?}"
                );
            }
            thread::sleep(Duration::from_millis(50));
        }
    }
}

/// Best-effort teardown shared by the environments' `Drop`: kill stray processes, detach
/// mounts under `dir` (deepest first) and remove empty cgroups named by `needles`.
fn force_cleanup(dir: &Path, needles: &[String], keep: &[i32]) {
    for _ in 0..3 {
        let procs = env_processes(dir, needles, keep);
        if procs.is_empty() {
            break;
        }
        for (pid, _) in procs {
            let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
        }
        thread::sleep(Duration::from_millis(100));
    }
    let mut mounts = mounts_under(dir);
    mounts.sort_by_key(|m| std::cmp::Reverse(m.len()));
    for m in mounts {
        let _ = umount2(m.as_str(), MntFlags::MNT_DETACH);
    }
    let mut cgs = cgroup_dirs(needles);
    cgs.sort_by_key(|p| std::cmp::Reverse(p.as_os_str().len()));
    for cg in cgs {
        let _ = fs::remove_dir(cg);
    }
}

/// A daemon started by a test, stopped (SIGTERM, then SIGKILL) when dropped.
struct Daemon {
    name: &'static str,
    child: Option<Child>,
    log: PathBuf,
}

impl Daemon {
    fn spawn(name: &'static str, mut cmd: Command, log: PathBuf) -> Daemon {
        let file = fs::File::create(&log).expect("create daemon log");
        cmd.stdin(Stdio::null())
            .stdout(Stdio::from(file.try_clone().unwrap()))
            .stderr(Stdio::from(file));
        let child = cmd.spawn().unwrap_or_else(|e| panic!("spawn {name}: {e}"));
        Daemon {
            name,
            child: Some(child),
            log,
        }
    }

    fn pid(&self) -> i32 {
        self.child.as_ref().map_or(0, |c| c.id() as i32)
    }

    /// Polls `ready` until it holds; panics with the daemon's log if it dies or times out.
    fn wait_ready(&mut self, mut ready: impl FnMut() -> bool) {
        let start = Instant::now();
        while !ready() {
            let exited = self
                .child
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten());
            if exited.is_some() || start.elapsed() > DAEMON_START {
                let log = fs::read_to_string(&self.log).unwrap_or_default();
                panic!("{} did not come up ({exited:?}); log:\n{log}", self.name);
            }
            thread::sleep(Duration::from_millis(50));
        }
    }

    /// SIGTERM and wait (daemons unmount and remove their sockets on the way out).
    fn stop(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        let _ = kill(Pid::from_raw(child.id() as i32), Signal::SIGTERM);
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(15) {
            if child.try_wait().ok().flatten().is_some() {
                return;
            }
            thread::sleep(Duration::from_millis(50));
        }
        let _ = child.kill();
        let _ = child.wait();
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        self.stop();
    }
}

fn sha256_hex(path: &Path) -> String {
    let mut cmd = Command::new("sha256sum");
    cmd.arg(path);
    let out = run_command(cmd, ENGINE_TIMEOUT).ok();
    out.stdout.split_whitespace().next().unwrap().to_string()
}

/// Writes `bytes` as a content-addressed blob; returns (digest, size).
fn add_blob(blobs: &Path, bytes: &[u8]) -> (String, usize) {
    let tmp = blobs.join("incoming");
    fs::write(&tmp, bytes).unwrap();
    let hex = sha256_hex(&tmp);
    fs::rename(&tmp, blobs.join(&hex)).unwrap();
    (format!("sha256:{hex}"), bytes.len())
}

/// Builds an OCI image-layout archive holding [`IMAGE`] and [`USER_IMAGE`] (one layer: the
/// busybox rootfs) for `ctr images import`; containerd has no equivalent of `docker import`.
fn oci_archive(dir: &Path) -> PathBuf {
    let layout = dir.join("oci-layout");
    let blobs = layout.join("blobs/sha256");
    fs::create_dir_all(&blobs).unwrap();
    let tar = rootfs_tarball(dir);
    let layer_hex = sha256_hex(&tar);
    let layer_size = fs::metadata(&tar).unwrap().len();
    fs::rename(&tar, blobs.join(&layer_hex)).unwrap();
    let path_env = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
    let images = [
        (IMAGE, json!({"Env": [path_env], "Cmd": ["sh"]})),
        (
            USER_IMAGE,
            json!({"Env": [path_env, "FOO=from-image"], "Cmd": ["sh"],
                   "User": "berth", "WorkingDir": "/home/berth"}),
        ),
    ];
    let mut manifests = Vec::new();
    for (name, config) in images {
        let config = json!({
            "architecture": oci_arch(), "os": "linux", "config": config,
            "rootfs": {"type": "layers", "diff_ids": [format!("sha256:{layer_hex}")]}
        });
        let (cdig, csize) = add_blob(&blobs, config.to_string().as_bytes());
        let manifest = json!({
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                       "digest": cdig, "size": csize},
            "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar",
                        "digest": format!("sha256:{layer_hex}"), "size": layer_size}]
        });
        let (mdig, msize) = add_blob(&blobs, manifest.to_string().as_bytes());
        manifests.push(json!({
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "digest": mdig, "size": msize,
            "annotations": {"org.opencontainers.image.ref.name": name}
        }));
    }
    let index = json!({"schemaVersion": 2, "manifests": manifests});
    fs::write(layout.join("index.json"), index.to_string()).unwrap();
    fs::write(
        layout.join("oci-layout"),
        r#"{"imageLayoutVersion":"1.0.0"}"#,
    )
    .unwrap();
    let archive = dir.join("image.oci.tar");
    let mut cmd = Command::new("tar");
    cmd.arg("-C").arg(&layout).arg("-cf").arg(&archive).arg(".");
    run_command(cmd, ENGINE_TIMEOUT).ok();
    let _ = fs::remove_dir_all(&layout);
    archive
}

/// This machine's architecture as OCI images name it (containerd only runs matching images).
fn oci_arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        other => other,
    }
}

fn s(v: &[&str]) -> Vec<String> {
    v.iter().map(|a| a.to_string()).collect()
}

// ---------------------------------------------------------------------------------------------
// podman
// ---------------------------------------------------------------------------------------------

/// A podman with private storage, config, runtime state and berth root.
struct Podman {
    dir: TempDir,
    berth_root: PathBuf,
    wrapper: PathBuf,
    calls: PathBuf,
}

impl Podman {
    fn new(name: &str) -> Podman {
        let dir = TempDir::new(&format!("podman-{name}"));
        let d = dir.path().to_path_buf();
        let berth_root = d.join("berth-root");
        for sub in ["root", "runroot", "tmp", "networks", "berth-root"] {
            fs::create_dir_all(d.join(sub)).unwrap();
        }
        // Rootful podman keeps its blob-info cache there, whatever --root says.
        shadow_host_dir("/var/lib/containers/cache", &d.join("blob-cache"));
        // Its own storage.conf, so nothing reads or writes the host's default storage.
        fs::write(
            d.join("storage.conf"),
            format!(
                "[storage]\ndriver = \"overlay\"\nrunroot = \"{0}/runroot\"\n\
                 graphroot = \"{0}/root\"\n",
                d.display()
            ),
        )
        .unwrap();
        // cgroupfs (no systemd here), file events (no journald), and rlimits at or below the
        // host's hard limits: podman's defaults are above them and nothing here may raise one.
        // In containers.conf rather than on each command line, so that the `podman container
        // cleanup` that conmon runs when a container exits gets the same settings.
        fs::write(
            d.join("containers.conf"),
            format!(
                "[containers]\ndefault_ulimits = [\"nofile=1024:1024\", \"nproc=1024:1024\"]\n\
                 [engine]\ncgroup_manager = \"cgroupfs\"\nevents_logger = \"file\"\n\
                 image_copy_tmp_dir = \"{0}/tmp\"\n\
                 [network]\nnetwork_config_dir = \"{0}/networks\"\n",
                d.display()
            ),
        )
        .unwrap();
        // podman hands `--runtime-flag root=...` to the runtime calls it makes itself, but not to
        // the cleanup process conmon starts, which would then `delete` in berth's default root
        // and leak the state; a wrapper gives every call the private root. It also logs the
        // calls, which tells the test every container id berth saw.
        let calls = d.join("berth-calls.log");
        let wrapper = d.join("berth-wrapper.sh");
        fs::write(
            &wrapper,
            format!(
                "#!/bin/sh\necho \"$*\" >> '{}'\nexec '{}' --root '{}' \"$@\"\n",
                calls.display(),
                berth_abs().display(),
                berth_root.display()
            ),
        )
        .unwrap();
        fs::set_permissions(&wrapper, fs::Permissions::from_mode(0o755)).unwrap();
        let p = Podman {
            dir,
            berth_root,
            wrapper,
            calls,
        };
        let tar = rootfs_tarball(p.dir.path());
        let tar = tar.to_str().unwrap();
        p.run(&["import", tar, IMAGE]).ok();
        p.run(&[
            "import",
            "--change",
            "USER berth",
            "--change",
            "WORKDIR /home/berth",
            "--change",
            "ENV FOO=from-image",
            tar,
            USER_IMAGE,
        ])
        .ok();
        p
    }

    fn envs(&self) -> Vec<(&'static str, String)> {
        let d = self.dir.path().display();
        vec![
            ("CONTAINERS_CONF", format!("{d}/containers.conf")),
            ("CONTAINERS_STORAGE_CONF", format!("{d}/storage.conf")),
            // `podman import` stages the tarball in $TMPDIR, else /var/tmp.
            ("TMPDIR", format!("{d}/tmp")),
        ]
    }

    /// podman and its global flags.
    fn argv(&self) -> Vec<String> {
        let d = self.dir.path().display();
        vec![
            tool("podman").to_string_lossy().into_owned(),
            format!("--root={d}/root"),
            format!("--runroot={d}/runroot"),
            format!("--tmpdir={d}/tmp"),
            "--storage-driver=overlay".into(),
            "--cgroup-manager=cgroupfs".into(),
            "--events-backend=file".into(),
            format!("--runtime={}", self.wrapper.display()),
        ]
    }

    fn run(&self, args: &[&str]) -> Output {
        let argv = self.argv();
        let mut cmd = Command::new(&argv[0]);
        cmd.args(&argv[1..]).args(args).envs(self.envs());
        run_command(cmd, ENGINE_TIMEOUT)
    }

    fn run_tty(&self, args: &[&str], input: &str) -> Output {
        let mut argv = self.argv();
        argv.extend(s(args));
        let envs = self.envs();
        let envs: Vec<(&str, &str)> = envs.iter().map(|(k, v)| (*k, v.as_str())).collect();
        run_in_pty(&argv, &envs, input)
    }

    /// Every container id berth was asked to create (the last argument of `create`).
    fn created_ids(&self) -> Vec<String> {
        fs::read_to_string(&self.calls)
            .unwrap_or_default()
            .lines()
            .filter(|l| l.split_whitespace().next() == Some("create"))
            .filter_map(|l| l.split_whitespace().last().map(str::to_string))
            .collect()
    }

    fn leftovers(&self) -> Leftovers<'_> {
        Leftovers {
            dir: self.dir.path(),
            no_files_in: vec![self.berth_root.clone()],
            cgroup_needles: self.created_ids(),
            keep: Vec::new(),
            // containers/storage bind-mounts the overlay driver's home on itself and leaves it
            // (podman does the same with runc); the Drop guard detaches it.
            allowed_mounts: vec![self.dir.path().join("root/overlay").display().to_string()],
        }
    }

    /// Asserts that berth was used and that nothing of any container is left.
    fn assert_clean(&self) {
        assert!(
            !self.created_ids().is_empty(),
            "podman never called berth create"
        );
        self.leftovers().assert_none();
    }
}

impl Drop for Podman {
    fn drop(&mut self) {
        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            self.run(&["rm", "--all", "--force", "--time", "0"]);
        }));
        for id in self.created_ids() {
            let mut cmd = Command::new(berth_abs());
            cmd.arg("--root").arg(&self.berth_root);
            cmd.args(["delete", "--force", &id]);
            let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                run_command(cmd, Duration::from_secs(10))
            }));
        }
        force_cleanup(self.dir.path(), &self.created_ids(), &[]);
    }
}

#[test]
fn podman_run_output_and_exit_code() {
    isolated(|| {
        let p = Podman::new("run");
        let out = p.run(&[
            "run",
            "--rm",
            "--network=none",
            IMAGE,
            "sh",
            "-c",
            "echo out; echo err >&2; ulimit -n; exit 3",
        ]);
        assert_eq!(out.code, 3, "{out}");
        assert_eq!(out.stdout, "out\n1024\n", "{out}");
        assert!(out.stderr.contains("err"), "{out}");

        // berth's create error reaches podman, which maps it to the shell's exit codes.
        let out = p.run(&["run", "--rm", "--network=none", IMAGE, "/nonexistent"]);
        assert_eq!(out.code, 127, "{out}");
        assert!(out.stderr.contains("/nonexistent"), "{out}");
        let out = p.run(&["run", "--rm", "--network=none", IMAGE, "/etc/passwd"]);
        assert_eq!(out.code, 126, "{out}");
        assert!(out.stderr.contains("permission denied"), "{out}");
        p.assert_clean();
    });
}

#[test]
fn podman_detached_stop_kill_rm() {
    isolated(|| {
        let p = Podman::new("detach");
        let id = p
            .run(&["run", "-d", "--network=none", IMAGE, "sh", "-c", TERM_AWARE])
            .ok()
            .stdout
            .trim()
            .to_string();
        crate::common::wait_until("podman logs to show ready", || {
            p.run(&["logs", &id]).stdout.contains("ready")
        });
        let st = p.run(&["inspect", "-f", "{{.State.Status}}", &id]).ok();
        assert_eq!(st.stdout.trim(), "running", "{st}");
        assert!(p.berth_root.join(&id).exists(), "no berth state for {id}");

        // stop: SIGTERM through `berth kill`, the trap exits 0.
        p.run(&["stop", "--time", "10", &id]).ok();
        let code = p.run(&["inspect", "-f", "{{.State.ExitCode}}", &id]).ok();
        assert_eq!(code.stdout.trim(), "0", "{code}");
        assert!(p.run(&["logs", &id]).ok().stdout.contains("got-term"));

        // It can be started again (a new create/start on the same bundle), then killed.
        p.run(&["start", &id]).ok();
        let st = p.run(&["inspect", "-f", "{{.State.Status}}", &id]).ok();
        assert_eq!(st.stdout.trim(), "running", "{st}");
        p.run(&["kill", &id]).ok();
        let out = p.run(&["wait", &id]).ok();
        assert_eq!(out.stdout.trim(), "137", "{out}");
        p.run(&["rm", &id]).ok();
        let ps = p.run(&["ps", "-a", "-q"]).ok();
        assert!(ps.stdout.trim().is_empty(), "{ps}");
        p.assert_clean();
    });
}

#[test]
fn podman_tty() {
    isolated(|| {
        let p = Podman::new("tty");
        let out = p.run_tty(
            &[
                "run",
                "--rm",
                "-t",
                "--network=none",
                IMAGE,
                "sh",
                "-c",
                TTY_PROBE,
            ],
            "",
        );
        assert_eq!(out.code, 5, "{out}");
        assert!(out.stdout.contains("/dev/pts/0\n24 80\nstdin-tty"), "{out}");

        // -it: what is typed on the outer terminal reaches the container's shell.
        let out = p.run_tty(
            &["run", "--rm", "-it", "--network=none", IMAGE, "sh"],
            "echo typed-$((6*7)); exit 7\n",
        );
        assert_eq!(out.code, 7, "{out}");
        assert!(out.stdout.contains("typed-42"), "{out}");
        p.assert_clean();
    });
}

#[test]
fn podman_resource_limits() {
    isolated(|| {
        let p = Podman::new("limits");
        let out = p.run(&[
            "run",
            "--rm",
            "--network=none",
            "--memory=64m",
            "--pids-limit=8",
            "--cpus=0.5",
            IMAGE,
            "sh",
            "-c",
            PIDS_PROBE,
        ]);
        assert_eq!(out.code, 2, "{out}");
        assert_eq!(out.stdout, "67108864\n8\n50000\n", "{out}");
        assert!(
            out.stderr.contains("can't fork"),
            "pids limit not enforced: {out}"
        );
        p.assert_clean();
    });
}

/// Prints memory limit, pids limit and cpu quota as the container sees them (cgroup v1 here),
/// then forks past a pids limit of 8: busybox sh reports "can't fork" and gives up with 2.
const PIDS_PROBE: &str = "cat /sys/fs/cgroup/memory/memory.limit_in_bytes \
     /sys/fs/cgroup/pids/pids.max /sys/fs/cgroup/cpu/cpu.cfs_quota_us; \
     for i in 1 2 3 4 5 6 7 8 9 10 11 12; do sleep 1 & done; wait";

/// Prints user, working dir and env, and whether the rootfs is writable (tried in the berth
/// user's home, which both root and uid 1000 may write to unless the rootfs is read-only).
const IDENTITY_PROBE: &str = "id; pwd; echo FOO=$FOO BAR=$BAR; \
     touch /home/berth/.probe 2>/dev/null && echo rootfs-rw || echo rootfs-ro";

#[test]
fn podman_env_user_workdir() {
    isolated(|| {
        let p = Podman::new("identity");
        let out = p
            .run(&[
                "run",
                "--rm",
                "--network=none",
                "--env=BAR=cli",
                "--user=1000:1000",
                "--workdir=/tmp",
                "--hostname=engine-host",
                "--read-only",
                IMAGE,
                "sh",
                "-c",
                &format!("{IDENTITY_PROBE}; hostname"),
            ])
            .ok();
        assert_eq!(
            out.stdout,
            "uid=1000(berth) gid=1000(berth) groups=1000(berth)\n/tmp\nFOO= BAR=cli\n\
         rootfs-ro\nengine-host\n",
            "{out}"
        );
        // The same from the image config (USER/WORKDIR/ENV set at import).
        let out = p
            .run(&[
                "run",
                "--rm",
                "--network=none",
                USER_IMAGE,
                "sh",
                "-c",
                IDENTITY_PROBE,
            ])
            .ok();
        assert!(
            out.stdout.starts_with(
                "uid=1000(berth) gid=1000(berth) groups=1000(berth)\n/home/berth\n\
             FOO=from-image BAR=\n"
            ),
            "{out}"
        );
        assert!(out.stdout.ends_with("rootfs-rw\n"), "{out}");
        p.assert_clean();
    });
}

#[test]
fn podman_shared_namespaces() {
    isolated(|| {
        let p = Podman::new("sharens");
        let name = unique("alpha");
        p.run(&[
            "run",
            "-d",
            "--network=none",
            "--name",
            &name,
            IMAGE,
            "sh",
            "-c",
            "echo hello > /tmp/marker; echo ready; exec sleep 600",
        ])
        .ok();
        crate::common::wait_until("first container ready", || {
            p.run(&["logs", &name]).stdout.contains("ready")
        });
        // The second container joins the first one's pid, net and ipc namespaces (namespace
        // paths in its config): it sees the first one's PID 1 and, through it, its files.
        let ctr = format!("container:{name}");
        let out = p
            .run(&[
                "run",
                "--rm",
                &format!("--pid={ctr}"),
                &format!("--network={ctr}"),
                &format!("--ipc={ctr}"),
                IMAGE,
                "sh",
                "-c",
                "cat /proc/1/cmdline | tr '\\0' ' '; echo; cat /proc/1/root/tmp/marker",
            ])
            .ok();
        assert_eq!(out.stdout, "sleep 600 \nhello\n", "{out}");
        p.run(&["rm", "--force", "--time", "0", &name]).ok();
        p.assert_clean();
    });
}

#[test]
fn podman_exec() {
    isolated(|| {
        let p = Podman::new("exec");
        let id = p
            .run(&["run", "-d", "--network=none", IMAGE, "sleep", "600"])
            .ok()
            .stdout
            .trim()
            .to_string();
        // conmon runs `berth exec --process FILE --detach --pid-file ...` and waits on the pid.
        let out = p.run(&[
            "exec",
            &id,
            "sh",
            "-c",
            "echo in-exec; echo err >&2; exit 4",
        ]);
        assert_eq!(out.code, 4, "{out}");
        assert_eq!(out.stdout, "in-exec\n", "{out}");
        assert!(out.stderr.contains("err"), "{out}");
        let out = p
            .run(&[
                "exec",
                "--user=1000:1000",
                "--workdir=/tmp",
                "--env=BAR=exec",
                &id,
                "sh",
                "-c",
                "id -u; pwd; echo BAR=$BAR; cat /proc/1/cmdline | tr '\\0' ' '",
            ])
            .ok();
        assert_eq!(out.stdout, "1000\n/tmp\nBAR=exec\nsleep 600 ", "{out}");
        let out = p.run_tty(&["exec", "-t", &id, "sh", "-c", TTY_PROBE], "");
        assert_eq!(out.code, 5, "{out}");
        assert!(out.stdout.contains("/dev/pts/0\n24 80\nstdin-tty"), "{out}");
        // A detached exec keeps running beside the init.
        p.run(&["exec", "-d", &id, "sleep", "300"]).ok();
        let top = p.run(&["top", &id, "args"]).ok();
        assert!(top.stdout.contains("sleep 300"), "{top}");
        p.run(&["rm", "--force", "--time", "0", &id]).ok();
        p.assert_clean();
    });
}

#[test]
fn podman_pause_unpause() {
    isolated(|| {
        let p = Podman::new("pause");
        let id = p
            .run(&["run", "-d", "--network=none", IMAGE, "sh", "-c", COUNTER])
            .ok()
            .stdout
            .trim()
            .to_string();
        let lines = || p.run(&["logs", &id]).stdout.lines().count();
        crate::common::wait_until("output", || lines() > 0);
        // `berth pause` freezes the cgroup; podman reads the paused status back from `state`.
        p.run(&["pause", &id]).ok();
        let st = p.run(&["inspect", "-f", "{{.State.Status}}", &id]).ok();
        assert_eq!(st.stdout.trim(), "paused", "{st}");
        assert_frozen_then_thawed(lines, || {
            p.run(&["unpause", &id]).ok();
        });
        let st = p.run(&["inspect", "-f", "{{.State.Status}}", &id]).ok();
        assert_eq!(st.stdout.trim(), "running", "{st}");
        p.run(&["rm", "--force", "--time", "0", &id]).ok();
        p.assert_clean();
    });
}

// ---------------------------------------------------------------------------------------------
// containerd (ctr)
// ---------------------------------------------------------------------------------------------

/// A containerd of the test's own: config, root, state and sockets in a temp dir.
struct Containerd {
    daemon: Daemon,
    dir: TempDir,
    sock: PathBuf,
    /// The containerd namespace (and so the cgroup parent) of this environment's containers.
    ns: String,
    berth_root: PathBuf,
}

impl Containerd {
    fn new(name: &str) -> Containerd {
        let dir = TempDir::new(&format!("containerd-{name}"));
        let d = dir.path();
        let sock = d.join("containerd.sock");
        // Without CRI (slow to start, wants CNI) and the snapshotters this host cannot use;
        // "opt" would create /opt/containerd on the host.
        let config = format!(
            "version = 2\nroot = \"{0}/root\"\nstate = \"{0}/state\"\n\
             disabled_plugins = [\"io.containerd.grpc.v1.cri\", \"io.containerd.internal.v1.opt\", \
             \"io.containerd.snapshotter.v1.btrfs\", \"io.containerd.snapshotter.v1.zfs\", \
             \"io.containerd.snapshotter.v1.devmapper\", \"io.containerd.snapshotter.v1.aufs\", \
             \"io.containerd.tracing.processor.v1.otlp\"]\n\
             [grpc]\n  address = \"{1}\"\n[ttrpc]\n  address = \"{1}.ttrpc\"\n\
             [debug]\n  address = \"\"\n[metrics]\n  address = \"\"\n",
            d.display(),
            sock.display()
        );
        fs::write(d.join("config.toml"), config).unwrap();
        // containerd 1.6's shims put their sockets in /run/containerd/s whatever the config
        // says, and ctr its stdio fifos in /run/containerd/fifo.
        shadow_host_dir("/run/containerd", &d.join("run"));
        let mut cmd = Command::new(tool("containerd"));
        cmd.arg("--config").arg(d.join("config.toml"));
        let daemon = Daemon::spawn("containerd", cmd, d.join("containerd.log"));
        let ns = unique("berth-it");
        let berth_root = d.join("berth-root");
        fs::create_dir(&berth_root).unwrap();
        let mut c = Containerd {
            daemon,
            dir,
            sock,
            ns,
            berth_root,
        };
        let (sock, ns) = (c.sock.clone(), c.ns.clone());
        c.daemon
            .wait_ready(|| sock.exists() && ctr_at(&sock, &ns, &["version"]).success());
        c
    }

    fn ctr(&self, args: &[&str]) -> Output {
        ctr_at(&self.sock, &self.ns, args)
    }

    /// `ctr run` with berth as the shim's runtime binary and the private berth root.
    ///
    /// Under a loaded machine `ctr` now and then loses a short-lived task's whole output:
    /// exit 0, nothing on stdout or stderr (seen once in a full `make test`, never in 40
    /// runs of the test alone; ctr's exec shows the same with runc). That exact result,
    /// and only it, is tried once more; the callers' assertions stay as they are.
    fn ctr_run(&self, args: &[&str]) -> Output {
        let mut all = self.runtime_args();
        all.extend(s(args));
        let all: Vec<&str> = all.iter().map(String::as_str).collect();
        let out = self.ctr(&all);
        let lost = out.code == 0 && out.stdout.is_empty() && out.stderr.is_empty();
        if lost && all.contains(&"--rm") {
            eprintln!("ctr run gave exit 0 and no output; trying once more: {out}");
            return self.ctr(&all);
        }
        out
    }

    fn runtime_args(&self) -> Vec<String> {
        vec![
            "run".into(),
            "--runc-binary".into(),
            berth_abs().to_string_lossy().into_owned(),
            "--runc-root".into(),
            self.berth_root.to_string_lossy().into_owned(),
        ]
    }

    fn import_images(&self) {
        let archive = oci_archive(self.dir.path());
        self.ctr(&["images", "import", archive.to_str().unwrap()])
            .ok();
        let _ = fs::remove_file(archive);
    }

    fn leftovers(&self) -> Leftovers<'_> {
        Leftovers {
            dir: self.dir.path(),
            // The shims' sockets and ctr's fifos are in run/ (see `new`).
            no_files_in: vec![self.berth_root.clone(), self.dir.path().join("run")],
            // ctr puts a container in the cgroup /<namespace>/<id>.
            cgroup_needles: vec![format!("/{}/", self.ns)],
            keep: vec![self.daemon.pid()],
            allowed_mounts: Vec::new(),
        }
    }

    fn assert_clean(&self) {
        let c = self.ctr(&["containers", "ls", "-q"]).ok();
        assert!(c.stdout.trim().is_empty(), "containers left: {c}");
        self.leftovers().assert_none();
    }

    /// Kills and removes every task and container in every namespace of this containerd.
    fn remove_everything(&self) {
        let nss = ctr_at(&self.sock, &self.ns, &["namespaces", "ls", "-q"]);
        for ns in nss.stdout.lines().map(str::trim).filter(|l| !l.is_empty()) {
            let tasks = ctr_at(&self.sock, ns, &["tasks", "ls", "-q"]);
            for t in tasks
                .stdout
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
            {
                ctr_at(&self.sock, ns, &["tasks", "kill", "-a", "-s", "SIGKILL", t]);
                ctr_at(&self.sock, ns, &["tasks", "rm", "-f", t]);
            }
            let ctrs = ctr_at(&self.sock, ns, &["containers", "ls", "-q"]);
            for c in ctrs.stdout.lines().map(str::trim).filter(|l| !l.is_empty()) {
                ctr_at(&self.sock, ns, &["containers", "rm", c]);
            }
        }
    }
}

/// `ctr` against one socket and namespace; never panics (cleanup uses it too).
fn ctr_at(sock: &Path, ns: &str, args: &[&str]) -> Output {
    let mut cmd = Command::new(tool("ctr"));
    cmd.arg("--address").arg(sock).args(["--namespace", ns]);
    cmd.args(args);
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        run_command(cmd, ENGINE_TIMEOUT)
    }))
    .unwrap_or_else(|_| Output {
        code: -1,
        stdout: String::new(),
        stderr: "ctr timed out".into(),
        desc: format!("ctr {args:?}"),
    })
}

impl Drop for Containerd {
    fn drop(&mut self) {
        if self.daemon.child.is_some() {
            self.remove_everything();
        }
        let keep = [self.daemon.pid()];
        force_cleanup(self.dir.path(), &[format!("/{}/", self.ns)], &keep);
        self.daemon.stop();
        force_cleanup(self.dir.path(), &[], &[]);
        // ctr puts containers under /<namespace>.
        remove_cgroup_parent(&self.ns);
    }
}

#[test]
fn containerd_run_output_and_exit_code() {
    isolated(|| {
        let c = Containerd::new("run");
        c.import_images();
        let id = unique("run");
        let out = c.ctr_run(&[
            "--rm",
            IMAGE,
            &id,
            "sh",
            "-c",
            "echo out; echo err >&2; exit 3",
        ]);
        assert_eq!(out.code, 3, "{out}");
        assert_eq!(out.stdout, "out\n", "{out}");
        assert!(out.stderr.contains("err"), "{out}");

        // The shim reads berth's error from its JSON log and hands it to ctr.
        let id = unique("missing");
        let out = c.ctr_run(&["--rm", IMAGE, &id, "/nonexistent"]);
        assert_ne!(out.code, 0, "{out}");
        assert!(
            out.stderr.contains("/nonexistent") && out.stderr.contains("no such file"),
            "{out}"
        );
        c.ctr(&["containers", "rm", &id]);
        c.assert_clean();
    });
}

#[test]
fn containerd_detached_kill_delete() {
    isolated(|| {
        let c = Containerd::new("detach");
        c.import_images();
        let log = c.dir.path().join("task.log");
        let log_uri = format!("file://{}", log.display());
        let id = unique("term");
        c.ctr_run(&[
            "-d",
            "--log-uri",
            &log_uri,
            IMAGE,
            &id,
            "sh",
            "-c",
            TERM_AWARE,
        ])
        .ok();
        crate::common::wait_until("task output", || {
            fs::read_to_string(&log)
                .unwrap_or_default()
                .contains("ready")
        });
        let ls = c.ctr(&["tasks", "ls"]).ok();
        assert!(ls.stdout.contains("RUNNING"), "{ls}");
        assert!(
            c.berth_root.join(&c.ns).join(&id).exists(),
            "no berth state"
        );

        c.ctr(&["tasks", "kill", "-s", "SIGTERM", &id]).ok();
        crate::common::wait_until("task to stop", || {
            c.ctr(&["tasks", "ls"]).stdout.contains("STOPPED")
        });
        assert!(fs::read_to_string(&log).unwrap().contains("got-term"));
        // `tasks rm` warns about a non-zero exit code; a clean exit 0 gives no warning.
        let rm = c.ctr(&["tasks", "rm", &id]).ok();
        assert!(!rm.stderr.contains("exit code"), "{rm}");
        c.ctr(&["containers", "rm", &id]).ok();

        let id = unique("kill");
        c.ctr_run(&["-d", IMAGE, &id, "sleep", "600"]).ok();
        c.ctr(&["tasks", "kill", "-s", "SIGKILL", &id]).ok();
        crate::common::wait_until("task to stop", || {
            c.ctr(&["tasks", "ls"]).stdout.contains("STOPPED")
        });
        let rm = c.ctr(&["tasks", "rm", &id]).ok();
        assert!(rm.stderr.contains("137"), "{rm}");
        c.ctr(&["containers", "rm", &id]).ok();
        c.assert_clean();
    });
}

#[test]
fn containerd_tty() {
    isolated(|| {
        let c = Containerd::new("tty");
        c.import_images();
        let mut argv = vec![tool("ctr").to_string_lossy().into_owned()];
        argv.extend(s(&[
            "--address",
            c.sock.to_str().unwrap(),
            "--namespace",
            &c.ns,
        ]));
        argv.extend(c.runtime_args());
        let id = unique("tty");
        let mut probe = argv.clone();
        probe.extend(s(&["--rm", "-t", IMAGE, &id, "sh", "-c", TTY_PROBE]));
        let out = run_in_pty(&probe, &[], "");
        assert_eq!(out.code, 5, "{out}");
        assert!(out.stdout.contains("/dev/pts/0\n24 80\nstdin-tty"), "{out}");
        let id = unique("tty-in");
        let mut typed = argv;
        typed.extend(s(&["--rm", "-t", IMAGE, &id, "sh"]));
        let out = run_in_pty(&typed, &[], "echo typed-$((6*7)); exit 7\n");
        assert_eq!(out.code, 7, "{out}");
        assert!(out.stdout.contains("typed-42"), "{out}");
        c.assert_clean();
    });
}

#[test]
fn containerd_resource_limits() {
    isolated(|| {
        let c = Containerd::new("limits");
        c.import_images();
        // ctr's default spec has no /sys/fs/cgroup; the cgroup mount shows the container's own.
        let id = unique("mem");
        let out = c
        .ctr_run(&[
            "--rm",
            "--memory-limit=67108864",
            "--cpu-quota=50000",
            "--cpu-period=100000",
            "--mount=type=cgroup,src=cgroup,dst=/sys/fs/cgroup,options=ro:nosuid:noexec:nodev",
            IMAGE,
            &id,
            "sh",
            "-c",
            "cat /sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/cpu/cpu.cfs_quota_us",
        ])
        .ok();
        assert_eq!(out.stdout, "67108864\n50000\n", "{out}");

        // ctr has no pids flag: a full spec (ctr's own default, with a pids limit, a user and a
        // rootfs path) goes through `ctr run --config`, the path a spec-generating client takes.
        let bundle = Bundle::new("ctr-spec");
        let id = unique("spec");
        let mut spec: Value = serde_json::from_str(&c.ctr(&["oci", "spec"]).ok().stdout).unwrap();
        spec["root"] = json!({"path": bundle.rootfs(), "readonly": false});
        spec["process"]["args"] = json!(["sh", "-c", format!("id; pwd; {PIDS_PROBE}")]);
        spec["process"]["user"] = json!({"uid": 1000, "gid": 1000});
        spec["process"]["cwd"] = json!("/home/berth");
        spec["linux"]["cgroupsPath"] = json!(format!("/{}/{id}", c.ns));
        spec["linux"]["resources"]["pids"] = json!({"limit": 8});
        spec["linux"]["resources"]["memory"] = json!({"limit": 67108864});
        spec["linux"]["resources"]["cpu"] = json!({"quota": 50000, "period": 100000});
        spec["mounts"].as_array_mut().unwrap().push(json!({
            "destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup",
            "options": ["ro", "nosuid", "noexec", "nodev"]
        }));
        let spec_path = c.dir.path().join("spec.json");
        fs::write(&spec_path, spec.to_string()).unwrap();
        let out = c.ctr_run(&["--rm", "--config", spec_path.to_str().unwrap(), &id]);
        assert_eq!(out.code, 2, "{out}");
        assert_eq!(
            out.stdout, "uid=1000(berth) gid=1000(berth)\n/home/berth\n67108864\n8\n50000\n",
            "{out}"
        );
        assert!(
            out.stderr.contains("can't fork"),
            "pids limit not enforced: {out}"
        );
        c.assert_clean();
    });
}

#[test]
fn containerd_env_user_workdir() {
    isolated(|| {
        let c = Containerd::new("identity");
        c.import_images();
        // USER/WORKDIR/ENV from the image config; containerd resolves "berth" in the image's passwd.
        let id = unique("img");
        let out = c
            .ctr_run(&["--rm", USER_IMAGE, &id, "sh", "-c", IDENTITY_PROBE])
            .ok();
        assert_eq!(
            out.stdout,
            "uid=1000(berth) gid=1000(berth) groups=1000(berth)\n/home/berth\n\
         FOO=from-image BAR=\nrootfs-rw\n",
            "{out}"
        );
        // Command-line env and cwd, a read-only rootfs.
        let id = unique("cli");
        let out = c
            .ctr_run(&[
                "--rm",
                "--env=BAR=cli",
                "--cwd=/tmp",
                "--read-only",
                IMAGE,
                &id,
                "sh",
                "-c",
                IDENTITY_PROBE,
            ])
            .ok();
        assert!(out.stdout.starts_with("uid=0(root) gid=0(root)"), "{out}");
        assert!(out.stdout.contains("\n/tmp\nFOO= BAR=cli\n"), "{out}");
        assert!(out.stdout.ends_with("rootfs-ro\n"), "{out}");
        c.assert_clean();
    });
}

#[test]
fn containerd_exec() {
    isolated(|| {
        let c = Containerd::new("exec");
        c.import_images();
        let id = unique("exec");
        c.ctr_run(&["-d", IMAGE, &id, "sleep", "600"]).ok();
        // The shim runs `berth exec --process FILE --detach --pid-file ...` for each of these.
        let out = c.ctr(&[
            "tasks",
            "exec",
            "--exec-id",
            "one",
            &id,
            "sh",
            "-c",
            "echo in-exec; exit 4",
        ]);
        assert_eq!(out.code, 4, "{out}");
        assert_eq!(out.stdout, "in-exec\n", "{out}");
        // No --user here: ctr resolves it by mounting the running container's snapshot, and
        // under load that sometimes yields an empty, exit-0 exec with runc as well (podman and
        // docker exec cover the user switch).
        let out = c
            .ctr(&[
                "tasks",
                "exec",
                "--exec-id",
                "two",
                "--cwd",
                "/tmp",
                &id,
                "sh",
                "-c",
                "id -u; pwd",
            ])
            .ok();
        assert_eq!(out.stdout, "0\n/tmp\n", "{out}");
        let mut argv = vec![tool("ctr").to_string_lossy().into_owned()];
        argv.extend(s(&[
            "--address",
            c.sock.to_str().unwrap(),
            "--namespace",
            &c.ns,
        ]));
        argv.extend(s(&[
            "tasks",
            "exec",
            "-t",
            "--exec-id",
            "tty",
            &id,
            "sh",
            "-c",
            TTY_PROBE,
        ]));
        let out = run_in_pty(&argv, &[], "");
        assert_eq!(out.code, 5, "{out}");
        assert!(out.stdout.contains("/dev/pts/0\n24 80\nstdin-tty"), "{out}");
        c.ctr(&["tasks", "kill", "-s", "SIGKILL", &id]).ok();
        crate::common::wait_until("task to stop", || {
            c.ctr(&["tasks", "ls"]).stdout.contains("STOPPED")
        });
        c.ctr(&["tasks", "rm", &id]).ok();
        c.ctr(&["containers", "rm", &id]).ok();
        c.assert_clean();
    });
}

#[test]
fn containerd_pause_resume_ps() {
    isolated(|| {
        let c = Containerd::new("pause");
        c.import_images();
        let log = c.dir.path().join("task.log");
        let log_uri = format!("file://{}", log.display());
        let id = unique("pause");
        c.ctr_run(&["-d", "--log-uri", &log_uri, IMAGE, &id, "sh", "-c", COUNTER])
            .ok();
        let lines = || fs::read_to_string(&log).unwrap_or_default().lines().count();
        crate::common::wait_until("output", || lines() > 0);
        // The shim lists the task's processes with `berth ps --format json`.
        let pid = c.ctr(&["tasks", "ls"]).ok();
        let init = pid
            .stdout
            .lines()
            .find(|l| l.starts_with(id.as_str()))
            .and_then(|l| l.split_whitespace().nth(1))
            .unwrap_or_else(|| panic!("no task line: {pid}"))
            .to_string();
        let ps = c.ctr(&["tasks", "ps", &id]).ok();
        assert!(ps.stdout.contains(&init), "init {init} not in {ps}");
        c.ctr(&["tasks", "pause", &id]).ok();
        let ls = c.ctr(&["tasks", "ls"]).ok();
        assert!(ls.stdout.contains("PAUSED"), "{ls}");
        assert_frozen_then_thawed(lines, || {
            c.ctr(&["tasks", "resume", &id]).ok();
        });
        let ls = c.ctr(&["tasks", "ls"]).ok();
        assert!(ls.stdout.contains("RUNNING"), "{ls}");
        c.ctr(&["tasks", "kill", "-s", "SIGKILL", &id]).ok();
        crate::common::wait_until("task to stop", || {
            c.ctr(&["tasks", "ls"]).stdout.contains("STOPPED")
        });
        c.ctr(&["tasks", "rm", &id]).ok();
        c.ctr(&["containers", "rm", &id]).ok();
        c.assert_clean();
    });
}

// ---------------------------------------------------------------------------------------------
// Docker
// ---------------------------------------------------------------------------------------------

/// A dockerd of the test's own (data-root, exec-root, pidfile, socket, key in a temp dir),
/// over its own containerd, with berth registered as the runtime "berth".
struct Docker {
    daemon: Daemon,
    dir: TempDir,
    sock: PathBuf,
    berth_root: PathBuf,
    /// cgroup parent of this daemon's containers (cgroupfs driver): /<cgroup_parent>/<id>.
    cgroup_parent: String,
    // Dropped after the fields above: dockerd must stop before its containerd.
    containerd: Containerd,
}

impl Docker {
    fn new(name: &str) -> Docker {
        let containerd = Containerd::new(&format!("docker-{name}"));
        let dir = TempDir::new(&format!("docker-{name}"));
        let d = dir.path();
        let sock = d.join("docker.sock");
        let cgroup_parent = unique("berth-it-docker");
        let config = json!({
            "data-root": d.join("data"),
            "exec-root": d.join("exec"),
            "pidfile": d.join("docker.pid"),
            "hosts": [format!("unix://{}", sock.display())],
            "containerd": containerd.sock,
            // The trust key would otherwise go to /etc/docker/key.json on the host.
            "deprecated-key-path": d.join("key.json"),
            // No networking set-up on the host: no iptables rules, no docker0 bridge.
            "iptables": false,
            "ip6tables": false,
            "ip-forward": false,
            "ip-masq": false,
            "bridge": "none",
            "exec-opts": ["native.cgroupdriver=cgroupfs"],
            "cgroup-parent": format!("/{cgroup_parent}"),
            // At the host's hard limits or below (dockerd's own would be inherited, and they
            // are above what nothing here can raise).
            "default-ulimits": {
                "nofile": {"Name": "nofile", "Hard": 1024, "Soft": 1024},
                "nproc": {"Name": "nproc", "Hard": 1024, "Soft": 1024}
            },
            "runtimes": {"berth": {"path": berth_abs()}},
            "default-runtime": "berth"
        });
        fs::write(d.join("daemon.json"), config.to_string()).unwrap();
        let mut cmd = Command::new(tool("dockerd"));
        cmd.arg("--config-file").arg(d.join("daemon.json"));
        let daemon = Daemon::spawn("dockerd", cmd, d.join("dockerd.log"));
        let mut dk = Docker {
            daemon,
            berth_root: d.join("exec/runtime-runc/moby"),
            dir,
            sock,
            cgroup_parent,
            containerd,
        };
        let probe = dk.docker_cmd(&["version"]);
        dk.daemon
            .wait_ready(|| run_command(clone_cmd(&probe), ENGINE_TIMEOUT).success());
        let tar = rootfs_tarball(dk.dir.path());
        let tar = tar.to_str().unwrap();
        dk.run(&["import", tar, IMAGE]).ok();
        dk.run(&[
            "import",
            "--change",
            "USER berth",
            "--change",
            "WORKDIR /home/berth",
            "--change",
            "ENV FOO=from-image",
            tar,
            USER_IMAGE,
        ])
        .ok();
        dk
    }

    /// The docker client that came with dockerd (another `docker` may be first on PATH).
    fn client() -> PathBuf {
        let beside = tool("dockerd").with_file_name("docker");
        if beside.is_file() {
            beside
        } else {
            tool("docker")
        }
    }

    fn docker_cmd(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(Self::client());
        cmd.arg("--host")
            .arg(format!("unix://{}", self.sock.display()));
        // Keep the client's own config (~/.docker) out of the host's home.
        cmd.env("DOCKER_CONFIG", self.dir.path().join("client"));
        cmd.args(args);
        cmd
    }

    fn argv(&self) -> Vec<String> {
        vec![
            Self::client().to_string_lossy().into_owned(),
            "--host".into(),
            format!("unix://{}", self.sock.display()),
        ]
    }

    fn run(&self, args: &[&str]) -> Output {
        run_command(self.docker_cmd(args), ENGINE_TIMEOUT)
    }

    fn run_tty(&self, args: &[&str], input: &str) -> Output {
        let mut argv = self.argv();
        argv.extend(s(args));
        let client = self.dir.path().join("client");
        run_in_pty(&argv, &[("DOCKER_CONFIG", client.to_str().unwrap())], input)
    }

    fn needles(&self) -> Vec<String> {
        vec![format!("/{}/", self.cgroup_parent)]
    }

    /// While dockerd runs, its data-root is a bind mount of itself; nothing else may remain.
    fn assert_clean(&self) {
        let ps = self.run(&["ps", "-a", "-q"]).ok();
        assert!(ps.stdout.trim().is_empty(), "containers left: {ps}");
        let data = self.dir.path().join("data").to_string_lossy().into_owned();
        Leftovers {
            dir: self.dir.path(),
            no_files_in: vec![self.berth_root.clone()],
            cgroup_needles: self.needles(),
            keep: vec![self.daemon.pid(), self.containerd.daemon.pid()],
            allowed_mounts: vec![data],
        }
        .assert_none();
        self.containerd.assert_clean();
    }

    /// Stops dockerd and containerd, then checks that no mount under either temp dir is left.
    fn shutdown_and_assert_clean(&mut self) {
        self.assert_clean();
        self.daemon.stop();
        self.containerd.daemon.stop();
        let mut left = mounts_under(self.dir.path());
        left.extend(mounts_under(self.containerd.dir.path()));
        assert!(
            left.is_empty(),
            "mounts left after the daemons stopped: {left:#?}"
        );
    }
}

fn clone_cmd(cmd: &Command) -> Command {
    let mut c = Command::new(cmd.get_program());
    c.args(cmd.get_args());
    for (k, v) in cmd.get_envs() {
        match v {
            Some(v) => c.env(k, v),
            None => c.env_remove(k),
        };
    }
    c
}

impl Drop for Docker {
    fn drop(&mut self) {
        if self.daemon.child.is_some() {
            let ids = self.run(&["ps", "-a", "-q"]);
            for id in ids.stdout.lines().map(str::trim).filter(|l| !l.is_empty()) {
                self.run(&["rm", "--force", id]);
            }
        }
        self.daemon.stop();
        force_cleanup(
            self.dir.path(),
            &self.needles(),
            &[self.containerd.daemon.pid()],
        );
        remove_cgroup_parent(&self.cgroup_parent);
    }
}

#[test]
fn docker_run_output_and_exit_code() {
    isolated(|| {
        let mut d = Docker::new("run");
        let out = d.run(&[
            "run",
            "--rm",
            "--network=none",
            IMAGE,
            "sh",
            "-c",
            "echo out; echo err >&2; ulimit -n; exit 3",
        ]);
        assert_eq!(out.code, 3, "{out}");
        assert_eq!(out.stdout, "out\n1024\n", "{out}");
        assert!(out.stderr.contains("err"), "{out}");
        // berth's error, through the shim's reading of its JSON log, becomes docker's 127/126.
        let out = d.run(&["run", "--rm", "--network=none", IMAGE, "/nonexistent"]);
        assert_eq!(out.code, 127, "{out}");
        assert!(out.stderr.contains("/nonexistent"), "{out}");
        let out = d.run(&["run", "--rm", "--network=none", IMAGE, "nocmd"]);
        assert_eq!(out.code, 127, "{out}");
        assert!(out.stderr.contains("executable file not found"), "{out}");
        let out = d.run(&["run", "--rm", "--network=none", IMAGE, "/etc/passwd"]);
        assert_eq!(out.code, 126, "{out}");
        d.shutdown_and_assert_clean();
    });
}

#[test]
fn docker_detached_stop_kill_rm() {
    isolated(|| {
        let mut d = Docker::new("detach");
        let id = d
            .run(&["run", "-d", "--network=none", IMAGE, "sh", "-c", TERM_AWARE])
            .ok()
            .stdout
            .trim()
            .to_string();
        crate::common::wait_until("docker logs to show ready", || {
            d.run(&["logs", &id]).stdout.contains("ready")
        });
        assert!(d.berth_root.join(&id).exists(), "no berth state for {id}");
        d.run(&["stop", "--time", "10", &id]).ok();
        let st = d
            .run(&[
                "inspect",
                "-f",
                "{{.State.Status}} {{.State.ExitCode}}",
                &id,
            ])
            .ok();
        assert_eq!(st.stdout.trim(), "exited 0", "{st}");
        assert!(d.run(&["logs", &id]).ok().stdout.contains("got-term"));

        // restart = a fresh create/start of the same container, then SIGKILL.
        d.run(&["start", &id]).ok();
        d.run(&["restart", "--time", "0", &id]).ok();
        let st = d.run(&["inspect", "-f", "{{.State.Status}}", &id]).ok();
        assert_eq!(st.stdout.trim(), "running", "{st}");
        d.run(&["kill", &id]).ok();
        let out = d.run(&["wait", &id]).ok();
        assert_eq!(out.stdout.trim(), "137", "{out}");
        d.run(&["rm", &id]).ok();
        d.shutdown_and_assert_clean();
    });
}

#[test]
fn docker_tty() {
    isolated(|| {
        let mut d = Docker::new("tty");
        let out = d.run_tty(
            &[
                "run",
                "--rm",
                "-t",
                "--network=none",
                IMAGE,
                "sh",
                "-c",
                TTY_PROBE,
            ],
            "",
        );
        assert_eq!(out.code, 5, "{out}");
        assert!(out.stdout.contains("/dev/pts/0\n24 80\nstdin-tty"), "{out}");
        let out = d.run_tty(
            &["run", "--rm", "-it", "--network=none", IMAGE, "sh"],
            "echo typed-$((6*7)); exit 7\n",
        );
        assert_eq!(out.code, 7, "{out}");
        assert!(out.stdout.contains("typed-42"), "{out}");
        d.shutdown_and_assert_clean();
    });
}

#[test]
fn docker_resource_limits() {
    isolated(|| {
        let mut d = Docker::new("limits");
        let out = d.run(&[
            "run",
            "--rm",
            "--network=none",
            "--memory=64m",
            "--pids-limit=8",
            "--cpus=0.5",
            IMAGE,
            "sh",
            "-c",
            PIDS_PROBE,
        ]);
        assert_eq!(out.code, 2, "{out}");
        assert_eq!(out.stdout, "67108864\n8\n50000\n", "{out}");
        assert!(
            out.stderr.contains("can't fork"),
            "pids limit not enforced: {out}"
        );
        // The memory limit is enforced: the kernel OOM-kills the container, docker sees it.
        let name = unique("oom");
        let out = d.run(&[
            "run",
            "--name",
            &name,
            "--network=none",
            "--memory=16m",
            "--memory-swap=16m",
            IMAGE,
            "sh",
            "-c",
            "x=0123456789abcdef; while true; do x=$x$x; done",
        ]);
        assert_eq!(out.code, 137, "{out}");
        let st = d
            .run(&["inspect", "-f", "{{.State.OOMKilled}}", &name])
            .ok();
        assert_eq!(st.stdout.trim(), "true", "{st}");
        d.run(&["rm", &name]).ok();
        d.shutdown_and_assert_clean();
    });
}

#[test]
fn docker_env_user_workdir() {
    isolated(|| {
        let mut d = Docker::new("identity");
        let out = d
            .run(&[
                "run",
                "--rm",
                "--network=none",
                "--env=BAR=cli",
                "--user=1000:1000",
                "--workdir=/tmp",
                "--hostname=engine-host",
                "--read-only",
                IMAGE,
                "sh",
                "-c",
                &format!("{IDENTITY_PROBE}; hostname"),
            ])
            .ok();
        assert_eq!(
            out.stdout,
            "uid=1000(berth) gid=1000(berth) groups=1000(berth)\n/tmp\nFOO= BAR=cli\n\
         rootfs-ro\nengine-host\n",
            "{out}"
        );
        let out = d
            .run(&[
                "run",
                "--rm",
                "--network=none",
                USER_IMAGE,
                "sh",
                "-c",
                IDENTITY_PROBE,
            ])
            .ok();
        assert!(
            out.stdout.starts_with(
                "uid=1000(berth) gid=1000(berth) groups=1000(berth)\n/home/berth\n\
             FOO=from-image BAR=\n"
            ),
            "{out}"
        );
        d.shutdown_and_assert_clean();
    });
}

#[test]
fn docker_exec_and_healthcheck() {
    isolated(|| {
        let mut d = Docker::new("exec");
        // The healthcheck is an exec every second; docker reports "healthy" once one succeeds.
        let id = d
            .run(&[
                "run",
                "-d",
                "--network=none",
                "--health-cmd=echo probe-ran",
                "--health-interval=1s",
                IMAGE,
                "sleep",
                "600",
            ])
            .ok()
            .stdout
            .trim()
            .to_string();
        let out = d.run(&[
            "exec",
            &id,
            "sh",
            "-c",
            "echo in-exec; echo err >&2; exit 4",
        ]);
        assert_eq!(out.code, 4, "{out}");
        assert_eq!(out.stdout, "in-exec\n", "{out}");
        assert!(out.stderr.contains("err"), "{out}");
        let out = d
            .run(&[
                "exec",
                "--user=1000:1000",
                "--workdir=/tmp",
                "--env=BAR=exec",
                &id,
                "sh",
                "-c",
                "id -u; pwd; echo BAR=$BAR",
            ])
            .ok();
        assert_eq!(out.stdout, "1000\n/tmp\nBAR=exec\n", "{out}");
        let out = d.run_tty(&["exec", "-it", &id, "sh"], "echo typed-$((6*7)); exit 7\n");
        assert_eq!(out.code, 7, "{out}");
        assert!(out.stdout.contains("typed-42"), "{out}");
        crate::common::wait_until("the healthcheck to pass", || {
            d.run(&["inspect", "-f", "{{.State.Health.Status}}", &id])
                .stdout
                .trim()
                == "healthy"
        });
        let log = d
            .run(&[
                "inspect",
                "-f",
                "{{(index .State.Health.Log 0).Output}}",
                &id,
            ])
            .ok();
        assert!(log.stdout.contains("probe-ran"), "{log}");
        d.run(&["rm", "--force", &id]).ok();
        d.shutdown_and_assert_clean();
    });
}

#[test]
fn docker_top_pause_update() {
    isolated(|| {
        let mut d = Docker::new("update");
        let id = d
            .run(&[
                "run",
                "-d",
                "--network=none",
                "--memory=64m",
                "--pids-limit=50",
                IMAGE,
                "sh",
                "-c",
                COUNTER,
            ])
            .ok()
            .stdout
            .trim()
            .to_string();
        let lines = || d.run(&["logs", &id]).stdout.lines().count();
        crate::common::wait_until("output", || lines() > 0);
        // docker top: the shim asks `berth ps --format json` for the pids.
        let top = d.run(&["top", &id]).ok();
        assert!(top.stdout.contains("while true"), "{top}");
        d.run(&["pause", &id]).ok();
        let st = d.run(&["inspect", "-f", "{{.State.Status}}", &id]).ok();
        assert_eq!(st.stdout.trim(), "paused", "{st}");
        assert_frozen_then_thawed(lines, || {
            d.run(&["unpause", &id]).ok();
        });
        // docker update: `berth update --resources -` with the new limits, seen inside.
        d.run(&[
            "update",
            "--memory=128m",
            "--memory-swap=256m",
            "--pids-limit=77",
            "--cpus=0.25",
            &id,
        ])
        .ok();
        let out = d
            .run(&[
                "exec",
                &id,
                "cat",
                "/sys/fs/cgroup/memory/memory.limit_in_bytes",
                "/sys/fs/cgroup/pids/pids.max",
                "/sys/fs/cgroup/cpu/cpu.cfs_quota_us",
            ])
            .ok();
        assert_eq!(out.stdout, "134217728\n77\n25000\n", "{out}");
        d.run(&["rm", "--force", &id]).ok();
        d.shutdown_and_assert_clean();
    });
}
