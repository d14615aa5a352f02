//! The host side of every engine test: a private mount namespace per test, and the checks
//! and teardown for what an engine leaves behind (processes, cgroups, mounts, berth state).

use nix::mount::{mount, umount2, MntFlags, MsFlags};
use nix::sched::{unshare, CloneFlags};
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use std::fs;
use std::path::{Path, PathBuf};
use std::thread;
use std::time::{Duration, Instant};

/// How long leftovers may take to disappear (engines clean up asynchronously).
const SETTLE: Duration = Duration::from_secs(10);

/// Runs a test body on a thread of its own in a private mount namespace. unshare(CLONE_NEWNS)
/// affects only the calling thread, so the rest of the suite keeps the host's namespace and
/// its mount table; when the thread ends, whatever the engines left mounted goes with it.
pub fn isolated(body: impl FnOnce() + Send + 'static) {
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
pub fn shadow_host_dir(host: &str, private: &Path) {
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

/// Command line of a process, NULs as spaces ("" once it is gone).
fn cmdline(pid: i32) -> String {
    let raw = fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
    String::from_utf8_lossy(&raw).replace('\0', " ")
}

/// Processes whose command line contains every one of `needles`.
pub fn pids_with(needles: &[&str]) -> Vec<i32> {
    all_pids()
        .into_iter()
        .filter(|p| {
            let c = cmdline(*p);
            needles.iter().all(|n| c.contains(n))
        })
        .collect()
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
pub fn remove_cgroup_parent(name: &str) {
    for h in cgroup_hierarchies() {
        let _ = fs::remove_dir(h.join(name));
    }
}

/// Mount points at or under `dir`, in this thread's mount namespace.
pub fn mounts_under(dir: &Path) -> Vec<String> {
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
pub struct Leftovers<'a> {
    /// The environment's temp dir (all its state lives below it).
    pub dir: &'a Path,
    /// Dirs that must hold no files: berth's `--root` as the engine uses it, engine run dirs.
    pub no_files_in: Vec<PathBuf>,
    /// Strings that name the environment's container cgroups.
    pub cgroup_needles: Vec<String>,
    /// Daemon pids that are allowed to keep running.
    pub keep: Vec<i32>,
    /// Mount points under `dir` that the engine keeps while it runs.
    pub allowed_mounts: Vec<String>,
}

impl Leftovers<'_> {
    /// Polls until nothing is left, then returns; panics with everything found after [`SETTLE`].
    pub fn assert_none(&self) {
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
pub fn force_cleanup(dir: &Path, needles: &[String], keep: &[i32]) {
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
