//! The steps that make a process in a container run berth's own command line in a child
//! of the shim (this binary re-executed as `containerd-shim-berth-v2 berth ARGS`): the
//! init and exec'd processes must be cloned from a single-threaded process, never from
//! the shim's threads, and berth re-executes itself from a read-only copy first
//! (CVE-2019-5736). Once the helper exits, its container process is reparented to the
//! shim (a subreaper), which reaps it.

use crate::reaper;
use anyhow::{anyhow, Result};
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The argument that makes this binary act as berth.
pub const BERTH_MODE: &str = "berth";

/// berth's command line for one container root, logging JSON to `log`.
pub struct Berth {
    pub root: PathBuf,
    pub log: PathBuf,
}

impl Berth {
    /// Run `berth ARGS` with `stdio` (or /dev/null) and wait for it; on failure the error
    /// is berth's own message, read from its log.
    pub fn run(&self, args: &[&str], stdio: Option<[OwnedFd; 3]>) -> Result<()> {
        let exe = std::env::current_exe()?;
        let mut cmd = Command::new(exe);
        cmd.arg(BERTH_MODE)
            .arg("--root")
            .arg(&self.root)
            .arg("--log")
            .arg(&self.log)
            .args(["--log-format", "json"])
            .args(args);
        match stdio {
            Some([i, o, e]) => cmd.stdin(i).stdout(o).stderr(e),
            None => cmd
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null()),
        };
        let _ = std::fs::remove_file(&self.log);
        let r = reaper::get();
        let child = r
            .spawn(&mut cmd)
            .map_err(|e| anyhow!("run berth {}: {e}", args[0]))?;
        // The Command holds our copies of the stdio fds: close them now, so the process
        // in the container is their only holder.
        drop(cmd);
        match r.wait_helper(child) {
            0 => Ok(()),
            code => Err(anyhow!(
                "{}",
                last_error(&self.log).unwrap_or(format!("berth {} exited {code}", args[0]))
            )),
        }
    }
}

/// The message of the last error line of berth's JSON log.
fn last_error(log: &Path) -> Option<String> {
    let text = std::fs::read_to_string(log).ok()?;
    text.lines().rev().find_map(|l| {
        let v: serde_json::Value = serde_json::from_str(l).ok()?;
        (v["level"] == "error").then(|| v["msg"].as_str().unwrap_or_default().to_string())
    })
}

/// Read the pid berth wrote with `--pid-file`.
pub fn read_pid(path: &Path) -> Result<i32> {
    let s = std::fs::read_to_string(path)
        .map_err(|e| anyhow!("read pid file {}: {e}", path.display()))?;
    s.trim()
        .parse()
        .map_err(|_| anyhow!("pid file {}: not a pid: {s:?}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::last_error;

    #[test]
    fn the_last_error_line_of_the_log_is_the_message() {
        let dir = std::env::temp_dir().join(format!("shim-helper-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let log = dir.join("log.json");
        std::fs::write(
            &log,
            "{\"level\":\"warning\",\"msg\":\"w\"}\n{\"level\":\"error\",\"msg\":\"first\"}\n\
             {\"level\":\"error\",\"msg\":\"exec: \\\"/x\\\": no such file\"}\nnot json\n",
        )
        .unwrap();
        assert_eq!(last_error(&log).unwrap(), "exec: \"/x\": no such file");
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(last_error(&log), None);
    }
}
