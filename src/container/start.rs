//! `start`: release a created container's init through exec.fifo, then run the
//! poststart hooks once its execve has happened.

use super::notify;
use super::state::{ContainerDir, State};
use crate::errors::errno_text;
use crate::linux::sys;
use crate::spawn::hooks;
use crate::spawn::init::FIFO_ERROR;
use anyhow::{anyhow, bail, Context, Result};
use std::io::Read;
use std::os::fd::AsFd;
use std::os::unix::fs::OpenOptionsExt;
use std::time::{Duration, Instant};

/// Release a created container's init: open exec.fifo, read its byte, remove the fifo.
pub fn release(dir: &ContainerDir, st: &State) -> Result<()> {
    let notify = notify::listen(&dir.path)?;
    let fifo = dir.fifo();
    // The pidfd first: opening the fifo releases the init, and a short-lived process can
    // exit and be reaped by the engine's subreaper (conmon, the containerd shim) before a
    // later pidfd_open, which would then report a container that ran as "gone".
    let pidfd = sys::pidfd_open(st.pid).map_err(|e| {
        anyhow!(
            "container init {} is gone: {}",
            st.pid,
            crate::errors::describe_io(&e)
        )
    })?;
    // Non-blocking open so a dead init cannot hang us; then wait for its byte or its exit.
    let mut f = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_CLOEXEC)
        .open(&fifo)
        .with_context(|| format!("open {}", fifo.display()))?;
    wait_for_exec(&mut f, &pidfd)?;
    std::fs::remove_file(&fifo).with_context(|| format!("remove {}", fifo.display()))?;
    hooks::run_all_warn("poststart", st.poststart(), &st.hook_state("running"));
    if let Some(sock) = notify {
        notify::relay_ready(&sock, st.pid, st.pid_start)?;
    }
    Ok(())
}

/// Phase 1 waits for the init's word (it has run the startContainer hooks); phase 2 for
/// end-of-file (its execve closed the fifo, or it exited after reporting an error).
fn wait_for_exec(f: &mut std::fs::File, pidfd: &std::os::fd::OwnedFd) -> Result<()> {
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut got: Vec<u8> = Vec::new();
    loop {
        let mut fds = [
            nix::poll::PollFd::new(f.as_fd(), nix::poll::PollFlags::POLLIN),
            nix::poll::PollFd::new(pidfd.as_fd(), nix::poll::PollFlags::POLLIN),
        ];
        let left = deadline.saturating_duration_since(Instant::now());
        let ms = u16::try_from(left.as_millis()).unwrap_or(u16::MAX);
        match nix::poll::poll(&mut fds, nix::poll::PollTimeout::from(ms)) {
            Err(nix::errno::Errno::EINTR) => continue,
            Err(e) => bail!("poll exec.fifo: {}", errno_text(e)),
            Ok(0) => bail!("timed out waiting for the container init to start"),
            Ok(_) => {}
        }
        let init_exited = fds[1].revents().is_some_and(|r| !r.is_empty());
        let mut buf = [0u8; 4096];
        match f.read(&mut buf) {
            Ok(0) if !got.is_empty() => break,
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
            Err(e) => return Err(e).context("read exec.fifo"),
        }
        if init_exited && got.is_empty() {
            bail!("cannot start a container whose init has exited");
        }
    }
    match got.split_first() {
        Some((&FIFO_ERROR, msg)) => bail!("{}", String::from_utf8_lossy(msg).trim()),
        _ => Ok(()),
    }
}
