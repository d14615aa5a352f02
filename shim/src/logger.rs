//! `binary://PATH?k=v` stdio: containerd's logging-binary protocol. The binary gets the
//! process's stdout and stderr as pipes on fds 3 and 4 and a "ready" pipe on fd 5 that it
//! closes once it reads; CONTAINER_ID and CONTAINER_NAMESPACE name the task.

use crate::reaper;
use anyhow::{anyhow, Context, Result};
use nix::fcntl::OFlag;
use std::io::Read;
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};

/// Start the logger for `uri` (what follows `binary://`); returns the write ends the
/// process gets as stdout and stderr.
pub fn start(uri: &str, id: &str, ns: &str) -> Result<(OwnedFd, OwnedFd)> {
    let (path, query) = uri.split_once('?').unwrap_or((uri, ""));
    let mut cmd = Command::new(path);
    for kv in query.split('&').filter(|s| !s.is_empty()) {
        let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
        cmd.arg(k);
        if !v.is_empty() {
            cmd.arg(v);
        }
    }
    let (out_r, out_w) = nix::unistd::pipe2(OFlag::O_CLOEXEC)?;
    let (err_r, err_w) = nix::unistd::pipe2(OFlag::O_CLOEXEC)?;
    let (ready_r, ready_w) = nix::unistd::pipe2(OFlag::O_CLOEXEC)?;
    let fds = [out_r.as_raw_fd(), err_r.as_raw_fd(), ready_w.as_raw_fd()];
    cmd.env("CONTAINER_ID", id)
        .env("CONTAINER_NAMESPACE", ns)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    // SAFETY: between fork and exec only dup2 runs (async-signal-safe); dup2 onto 3..5
    // clears close-on-exec there, and the sources are fds this process owns until exec.
    unsafe {
        cmd.pre_exec(move || {
            for (i, fd) in fds.iter().enumerate() {
                let target = 3 + i as i32;
                let r = if *fd == target {
                    libc::fcntl(target, libc::F_SETFD, 0)
                } else {
                    libc::dup2(*fd, target)
                };
                if r < 0 {
                    return Err(std::io::Error::last_os_error());
                }
            }
            Ok(())
        });
    }
    reaper::get()
        .spawn_unwatched(&mut cmd)
        .with_context(|| format!("start logging binary {path}"))?;
    drop((out_r, err_r, ready_w));
    let mut ready = std::fs::File::from(ready_r);
    let mut buf = [0u8; 1];
    ready
        .read(&mut buf)
        .map_err(|e| anyhow!("logging binary {path}: {e}"))?;
    Ok((out_w, err_w))
}
