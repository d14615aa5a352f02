//! The parent/init protocol: one SOCK_SEQPACKET socketpair, one message enum.
//!
//! ```text
//!   parent (berth create)                       init (cloned child)
//!   ─────────────────────                       ───────────────────
//!   clone(new namespaces) ───────────────────▶  [1] wait for Proceed
//!   write uid_map/gid_map (user namespace)
//!   [1] send Proceed{hook state} ────────────▶  join/create remaining namespaces,
//!                                               mounts, /dev
//!   [1a] run prestart + createRuntime  ◀──────  [1a] RunHooks (only if there are any)
//!        hooks, send HooksDone ──────────────▶  run createContainer hooks,
//!                                               pivot_root, hostname,
//!                                               sysctl, user, cwd, find executable
//!   [2] wait for Ready  ◀──────────────────────  [2] send Ready (or Failed{step,error})
//!   write state.json, pid-file, exit            block on exec.fifo until `start`,
//!                                               then execve
//! ```
//!
//! After `start` opens the fifo, the init runs the startContainer hooks and execs.
//! If the init exits before [2], the parent reads end-of-file and reports that.
//! A failing step is sent as `Failed { step, error }` so the parent can print it once.

use anyhow::{Context, Result};
use nix::sys::socket::{recv, socketpair, AddressFamily, MsgFlags, SockFlag, SockType};
use serde::{Deserialize, Serialize};
use std::os::fd::{AsRawFd, OwnedFd};

#[derive(Debug, Serialize, Deserialize, PartialEq, Eq)]
pub enum Msg {
    /// [1] parent → init: everything the parent does to the init from outside is done.
    /// Carries the state JSON (with the init's host pid) for hooks the init runs.
    Proceed { hook_state: Option<String> },
    /// [1a] init → parent: mounts are done; run prestart and createRuntime hooks now.
    RunHooks,
    /// [1a] parent → init: those hooks succeeded.
    HooksDone,
    /// [2] init → parent: the container is set up; the init now waits on exec.fifo.
    Ready,
    /// init → parent: a step failed; the init exits after sending this.
    Failed { step: String, error: String },
    /// intermediate → parent: pid of the real init when a second fork was needed.
    InitPid(i32),
}

pub struct Channel {
    fd: OwnedFd,
}

/// A connected pair: (parent end, init end).
pub fn pair() -> Result<(Channel, Channel)> {
    let (a, b) = socketpair(
        AddressFamily::Unix,
        SockType::SeqPacket,
        None,
        SockFlag::SOCK_CLOEXEC,
    )
    .context("socketpair")?;
    Ok((Channel { fd: a }, Channel { fd: b }))
}

impl AsRawFd for Channel {
    fn as_raw_fd(&self) -> std::os::fd::RawFd {
        self.fd.as_raw_fd()
    }
}

impl Channel {
    /// Sends with write(2), not send(2): the init's last message goes out under the
    /// container's seccomp filter, and profiles that allow nothing else allow write.
    /// A vanished peer ends the sender either way: EPIPE, or SIGPIPE once the init has
    /// restored the default disposition for the container process.
    pub fn send(&self, msg: &Msg) -> Result<()> {
        let buf = serde_json::to_vec(msg)?;
        nix::unistd::write(&self.fd, &buf).context("send to init channel")?;
        Ok(())
    }

    /// Receive one message; `Ok(None)` means the other side closed (exited).
    pub fn recv(&self) -> Result<Option<Msg>> {
        let mut buf = vec![0u8; 64 * 1024];
        let n = loop {
            match recv(self.fd.as_raw_fd(), &mut buf, MsgFlags::empty()) {
                Err(nix::errno::Errno::EINTR) => continue,
                other => break other.context("receive from init channel")?,
            }
        };
        if n == 0 {
            return Ok(None);
        }
        Ok(Some(
            serde_json::from_slice(&buf[..n]).context("bad message on init channel")?,
        ))
    }
}
