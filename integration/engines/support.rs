//! Running engine tools: finding them, feeding them input on a pty, and daemons started and
//! stopped by a test.

use crate::common::{berth_bin, unique, Output};
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use std::fs;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

/// How long one engine command may take (a first podman call initialises its store).
pub const ENGINE_TIMEOUT: Duration = Duration::from_secs(60);
/// How long a daemon may take to answer after it is started.
const DAEMON_START: Duration = Duration::from_secs(30);

/// The absolute path of an engine tool, or a failure that says how to install it: a missing
/// engine must fail CI rather than skip, or the engine tests would silently stop running.
pub fn tool(name: &str) -> PathBuf {
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
pub fn berth_abs() -> PathBuf {
    let b = berth_bin();
    fs::canonicalize(&b).unwrap_or_else(|e| panic!("berth binary {}: {e}", b.display()))
}

pub fn s(v: &[&str]) -> Vec<String> {
    v.iter().map(|a| a.to_string()).collect()
}

/// Like `run_command`, but with `input` as standard input (a file, so a child that outlives
/// the command cannot hold a pipe open).
pub fn run_with_input(mut cmd: Command, input: &str, timeout: Duration) -> Output {
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
pub fn run_in_pty(argv: &[String], envs: &[(&str, &str)], input: &str) -> Output {
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

/// A daemon started by a test, stopped (SIGTERM, then SIGKILL) when dropped.
pub struct Daemon {
    name: &'static str,
    child: Option<Child>,
    log: PathBuf,
}

impl Daemon {
    pub fn spawn(name: &'static str, mut cmd: Command, log: PathBuf) -> Daemon {
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

    pub fn pid(&self) -> i32 {
        self.child.as_ref().map_or(0, |c| c.id() as i32)
    }

    /// Whether the daemon has not been stopped yet.
    pub fn started(&self) -> bool {
        self.child.is_some()
    }

    /// Polls `ready` until it holds; panics with the daemon's log if it dies or times out.
    pub fn wait_ready(&mut self, mut ready: impl FnMut() -> bool) {
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
    pub fn stop(&mut self) {
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
