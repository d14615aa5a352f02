//! The parent/init protocol: one SOCK_SEQPACKET socketpair, one message enum.
//!
//! ```text
//!   parent (berth create)                       init (cloned child)
//!   ─────────────────────                       ───────────────────
//!   clone(new namespaces) ───────────────────▶  [1] wait for Proceed
//!   write uid_map/gid_map (user namespace)
//!   [1] send Proceed{host pid} ──────────────▶  join/create remaining namespaces
//!   load + attach the v2 device program
//!   (while the init works, see create.rs)
//!   [1b] open bind sources as host root  ◀───  [1b] OpenTrees (only if it needs any)
//!        in the init's mount namespace,
//!        MountTree{index} + fd each, then
//!        TreesDone ──────────────────────────▶  mounts, /dev
//!   [1a] run prestart + createRuntime  ◀──────  [1a] RunHooks (only if there are any)
//!        hooks, send HooksDone ──────────────▶  run createContainer hooks,
//!                                               pivot_root, hostname,
//!                                               sysctl, user, cwd, find executable
//!   [2] wait for Ready  ◀──────────────────────  [2] send Ready (or Failed{step,error})
//!   write state.json, pid-file                  [3] wait for Recorded; end-of-file
//!   [3] send Recorded, exit ─────────────────▶      (create died) means exit
//!                                               block on exec.fifo until `start`,
//!                                               then execve
//! ```
//!
//! After `start` opens the fifo, the init runs the startContainer hooks and execs.
//! If the init exits before [2], the parent reads end-of-file and reports that.
//! A failing step is sent as `Failed { step, error }` so the parent can print it once.

use anyhow::{Context, Result};
use nix::sys::socket::{recv, socketpair, AddressFamily, MsgFlags, SockFlag, SockType};
use serde::{Deserialize, Serialize};
use std::os::fd::{AsFd, AsRawFd, OwnedFd};

#[derive(Debug, Serialize, Deserialize, PartialEq, Eq)]
pub enum Msg {
    /// [1] parent → init: everything the parent does to the init from outside is done.
    /// Carries the child's host pid, which its state JSON (for the hooks it runs and the
    /// seccomp agent) shows; the child builds that JSON itself, so no message carries
    /// data of the config's size (annotations may be large).
    Proceed { host_pid: i32 },
    /// [1b] init → parent: my namespaces are made; open the bind sources I cannot
    /// (see `linux::rootfs::trees`).
    OpenTrees,
    /// [1b] parent → init, with an fd (SCM_RIGHTS): the detached mount tree of
    /// `mounts[index]`'s source.
    MountTree { index: usize },
    /// [1b] parent → init: every tree is sent.
    TreesDone,
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
    /// [3] parent → init: state.json is written; the container is on its own now.
    Recorded,
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

    /// [3] The init's wait for Recorded, after Ready: false when the parent died first
    /// (end-of-file), and nothing can ever record the container. Under the container's
    /// seccomp filter by now, so read(2), not recv(2); a profile that denies read gets
    /// the benefit of the doubt.
    pub fn wait_recorded(&self) -> bool {
        let mut buf = [0u8; 256];
        loop {
            match nix::unistd::read(&self.fd, &mut buf) {
                Err(nix::errno::Errno::EINTR) => continue,
                Ok(0) => return false,
                Ok(n) => return serde_json::from_slice(&buf[..n]).ok() == Some(Msg::Recorded),
                // A parent that died before reading Ready resets the connection.
                Err(nix::errno::Errno::ECONNRESET | nix::errno::Errno::ENOTCONN) => return false,
                Err(_) => return true,
            }
        }
    }

    /// Send a message with one fd attached (a packet: the fd arrives with it).
    pub fn send_with_fd(&self, msg: &Msg, fd: std::os::fd::BorrowedFd) -> Result<()> {
        let buf = serde_json::to_vec(msg)?;
        crate::linux::sys::send_with_fd(self.fd.as_fd(), &buf, fd)
            .context("send to init channel")?;
        Ok(())
    }

    /// Receive one of the parent's (small) messages with the fd it may carry.
    pub fn recv_with_fd(&self) -> Result<Option<(Msg, Option<OwnedFd>)>> {
        let mut buf = [0u8; 4096];
        let (n, fds) = crate::linux::sys::recv_with_fds(self.fd.as_fd(), &mut buf)
            .context("receive from init channel")?;
        if n == 0 {
            return Ok(None);
        }
        let msg = serde_json::from_slice(&buf[..n]).context("bad message on init channel")?;
        Ok(Some((msg, fds.into_iter().next())))
    }

    /// Receive one message, whatever its size; `Ok(None)` means the other side closed
    /// (exited).
    pub fn recv(&self) -> Result<Option<Msg>> {
        // MSG_TRUNC makes a peek report the whole packet's length, so the buffer fits it
        // (an error message may quote a large config value).
        let mut probe = [0u8; 1];
        let len = self.recv_flags(&mut probe, MsgFlags::MSG_PEEK | MsgFlags::MSG_TRUNC)?;
        if len == 0 {
            return Ok(None);
        }
        let mut buf = vec![0u8; len];
        let n = self.recv_flags(&mut buf, MsgFlags::empty())?;
        Ok(Some(
            serde_json::from_slice(&buf[..n]).context("bad message on init channel")?,
        ))
    }

    fn recv_flags(&self, buf: &mut [u8], flags: MsgFlags) -> Result<usize> {
        loop {
            match recv(self.fd.as_raw_fd(), buf, flags) {
                Err(nix::errno::Errno::EINTR) => continue,
                other => return other.context("receive from init channel"),
            }
        }
    }
}
