//! The parent side shared by `create` and `exec`: clone a child born in its cgroup, keep
//! a guard that kills it if we fail before it execs, and drive it to Ready over the
//! channel (see `channel.rs` for the protocol).

use super::channel::{Channel, Msg};
use crate::errors::errno_text;
use crate::linux::procfs;
use crate::linux::sys::{self, Forked};
use crate::logging;
use anyhow::{anyhow, bail, Result};
use nix::sys::signal::{kill, Signal};
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::Pid;
use std::os::fd::{AsFd, BorrowedFd};

/// A child that has not reached execve (or, for the init, has not been handed over to
/// state.json): dropping the guard kills and reaps it.
#[derive(Default)]
pub struct Guard(Option<i32>);

impl Guard {
    pub fn watch(&mut self, pid: i32) {
        self.0 = Some(pid);
    }

    /// The child made it: it is no longer ours to kill.
    pub fn release(mut self) {
        self.0 = None;
    }

    /// The child was reaped already: nothing is left to kill.
    fn forget(&mut self) {
        self.0 = None;
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        let Some(pid) = self.0 else { return };
        let pid = Pid::from_raw(pid);
        match kill(pid, Signal::SIGKILL) {
            Ok(()) | Err(nix::errno::Errno::ESRCH) => {}
            Err(e) => logging::warn(&format!("kill child {pid}: {}", errno_text(e))),
        }
        if let Err(e) = waitpid(pid, None) {
            logging::warn(&format!("reap child {pid}: {}", errno_text(e)));
        }
    }
}

/// How the child came to be in its v2 cgroup.
pub struct Cloned {
    pub pid: i32,
    /// The kernel lacks CLONE_INTO_CGROUP: the parent must move the child into the v2
    /// cgroup itself, before it lets the child go on.
    pub move_into_v2: bool,
}

/// Clone a child that runs `child` (an entry point that never returns). With a v2 cgroup directory the
/// child is born in it (clone3 CLONE_INTO_CGROUP): moving a process afterwards costs an
/// RCU grace period (~10 ms here). When the kernel refuses that directory with EBUSY or
/// EOPNOTSUPP, `other_v2` may name another one to try (exec: the init's own cgroup).
pub fn clone_child(
    flags: u64,
    v2: Option<BorrowedFd>,
    other_v2: impl FnOnce() -> Option<std::fs::File>,
    child: impl FnOnce(),
) -> std::io::Result<Cloned> {
    // The stage names of runc's --debug log ("nsexec container setup", "child process
    // in init()", ...): tools and runc's own tests follow a container's setup by them.
    logging::debug("nsexec container setup");
    let mut move_into_v2 = false;
    let forked = match v2 {
        None => sys::clone_process(flags),
        Some(fd) => match sys::clone_process_into(flags, fd) {
            Err(e) if matches!(e.raw_os_error(), Some(libc::ENOSYS | libc::E2BIG)) => {
                move_into_v2 = true;
                sys::clone_process(flags)
            }
            Err(e) if matches!(e.raw_os_error(), Some(libc::EBUSY | libc::EOPNOTSUPP)) => {
                match other_v2() {
                    Some(dir) => sys::clone_process_into(flags, dir.as_fd()),
                    None => Err(e),
                }
            }
            r => r,
        },
    }?;
    match forked {
        Forked::Child => {
            child();
            // The child's entry points never return; should one, it must not run on as
            // a second copy of the parent.
            std::process::exit(1)
        }
        Forked::Parent(pid) => Ok(Cloned { pid, move_into_v2 }),
    }
}

/// What an init asks its parent for before Ready.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Request {
    /// [1a] Run the prestart and createRuntime hooks.
    Hooks,
    /// [1b] Open and send the bind sources the init cannot (MountTree messages).
    MountTrees,
}

/// [2] Read the child's messages until Ready. `what` names the child in errors.
/// `on_request` does the parent's share when the init asks [1a] [1b]; the reply that
/// lets the init go on follows.
/// An init that had to fork once more reports its real pid, which the guard takes over.
pub fn wait_ready(
    chan: &Channel,
    pid: &mut i32,
    guard: &mut Guard,
    what: &str,
    mut on_request: impl FnMut(Request, i32) -> Result<()>,
) -> Result<()> {
    loop {
        match chan.recv()? {
            Some(Msg::Ready) => return Ok(()),
            Some(Msg::InitPid(real)) => {
                // The intermediate process exits once it has sent this.
                if let Err(e) = waitpid(Pid::from_raw(*pid), None) {
                    logging::warn(&format!("reap {what} {pid}: {}", errno_text(e)));
                }
                *pid = real;
                guard.watch(real);
            }
            Some(Msg::RunHooks) => {
                on_request(Request::Hooks, *pid)?;
                chan.send(&Msg::HooksDone)?;
            }
            Some(Msg::OpenTrees) => {
                on_request(Request::MountTrees, *pid)?;
                chan.send(&Msg::TreesDone)?;
            }
            Some(Msg::Failed { step, error }) => {
                logging::debug(&format!("{what} failed at step {step}"));
                bail!("{START_FAILED}: {error}")
            }
            Some(other) => bail!("{what}: unexpected message {other:?}"),
            None => bail!("{}", died_during_setup(*pid, guard, what)),
        }
    }
}

/// runc's words for any failure of the container's process before its execve: scripts
/// around Docker and containerd match them to tell a start failure from the process's own.
const START_FAILED: &str = "unable to start container process";

/// Why a child closed its channel without Ready or Failed. One that had loaded a seccomp
/// filter of its own died of it, typically: a filter that denies what the runtime still
/// does after loading it (write, prctl, openat, execve...) leaves the child unable even
/// to report, and a denied exit_group ends in SIGSEGV.
fn died_during_setup(pid: i32, guard: &mut Guard, what: &str) -> String {
    // Read before reaping: a zombie still shows its filters.
    let filters = procfs::seccomp_filters(pid);
    let own = procfs::seccomp_filters(0).unwrap_or(0);
    let reason = wait_exit(pid);
    if reason.is_some() {
        guard.forget();
    }
    let reason = reason.unwrap_or_else(|| "no exit status yet".to_string());
    if filters.is_some_and(|n| n > own) {
        format!(
            "linux.seccomp: {what} died right after loading the seccomp filter ({reason}): \
             the filter denies system calls the runtime needs to finish setting up the \
             process after loading it (such as write, prctl, openat, execve, exit_group)"
        )
    } else {
        format!("{what} exited during setup ({reason})")
    }
}

/// Reap a child that closed its channel, giving it a moment to finish exiting; its exit
/// status as text, or None when it is still there (or is not our child).
fn wait_exit(pid: i32) -> Option<String> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(1);
    loop {
        match waitpid(Pid::from_raw(pid), Some(WaitPidFlag::WNOHANG)) {
            Ok(WaitStatus::Exited(_, c)) => return Some(format!("exit status {c}")),
            Ok(WaitStatus::Signaled(_, s, _)) => return Some(format!("killed by {s:?}")),
            Ok(WaitStatus::StillAlive) if std::time::Instant::now() < deadline => {
                std::thread::sleep(std::time::Duration::from_millis(1));
            }
            _ => return None,
        }
    }
}

/// After the trampoline's execve (`exec`): end-of-file on its status pipe means the
/// container's process is running; otherwise the pipe holds errno and the path that
/// failed, reported as `wait_exec` reports a failed execve.
pub fn wait_trampoline(status: std::os::fd::OwnedFd) -> Result<()> {
    use std::io::Read;
    let mut got = Vec::new();
    std::fs::File::from(status)
        .read_to_end(&mut got)
        .map_err(|e| anyhow!("trampoline status pipe: {e}"))?;
    if got.len() < 4 {
        return Ok(());
    }
    let errno = i32::from_le_bytes([got[0], got[1], got[2], got[3]]);
    let path = String::from_utf8_lossy(&got[4..]);
    let text = errno_text(nix::errno::Errno::from_raw(errno));
    bail!("{START_FAILED}: exec \"{path}\": {text}")
}

/// After Ready from a process that execs at once: end-of-file on the channel means its
/// execve happened (the channel is close-on-exec); a Failed means the execve failed.
pub fn wait_exec(chan: &Channel, pid: i32, what: &str) -> Result<()> {
    match chan.recv()? {
        None => Ok(()),
        Some(Msg::Failed { error, .. }) => Err(anyhow!("{START_FAILED}: {error}")),
        Some(other) => bail!("{what} {pid}: unexpected message {other:?}"),
    }
}
