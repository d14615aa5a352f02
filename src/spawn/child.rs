//! The child side shared by the container's init and an exec'd process: run the setup
//! recipe, report a failed step to the parent, and execve what the recipe returns.

use super::channel::{Channel, Msg};
use crate::linux::process::{self, Execve};
use std::io::Write;

/// A failure, with the name of the step it happened in (what the parent reports).
pub type StepResult<T> = std::result::Result<T, (&'static str, anyhow::Error)>;

pub trait Step<T> {
    fn step(self, name: &'static str) -> StepResult<T>;
}

impl<T> Step<T> for anyhow::Result<T> {
    fn step(self, name: &'static str) -> StepResult<T> {
        self.map_err(|e| (name, e))
    }
}

/// Who hears about a failed execve.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum ExecFailure {
    /// `exec` waits on the channel until execve closes it.
    ToParent,
    /// `create` has exited by the time the init execs (after `start`): only stderr is
    /// left. Writing to the dead channel would raise SIGPIPE, whose default disposition
    /// the process already has back, and hide the message.
    ToStderr,
}

/// Entry point of a cloned child; never returns. `setup` either fails at a named step,
/// which the parent reports, or returns what to execve.
pub fn run(
    chan: &Channel,
    on_exec_failure: ExecFailure,
    setup: impl FnOnce() -> StepResult<Execve>,
) -> ! {
    // std::process::exit runs no destructors: whatever the parent's frames own (a
    // cgroups::place::Birth, locks) stays untouched in the child.
    match setup() {
        Ok(exec) => {
            let err = process::exec(&exec);
            let sent = on_exec_failure == ExecFailure::ToParent
                && chan
                    .send(&Msg::Failed {
                        step: "exec".to_string(),
                        error: format!("{err:#}"),
                    })
                    .is_ok();
            if !sent {
                let _ = writeln!(std::io::stderr(), "berth: {err:#}");
            }
            std::process::exit(127);
        }
        Err((step, err)) => {
            let _ = chan.send(&Msg::Failed {
                step: step.to_string(),
                error: bounded(format!("{err:#}")),
            });
            std::process::exit(1);
        }
    }
}

/// Fork once more, as joining or making a PID namespace applies only to children: the
/// parent half sends the child's pid (InitPid) and exits. The child goes on only once
/// that message is out (end-of-file on a pipe the parent half held), so `create` or
/// `exec` always reads InitPid before anything the child sends: Ready first would leave
/// them with the wrong pid.
pub fn fork_and_hand_over(chan: &Channel) -> anyhow::Result<()> {
    let (wait, held) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC)
        .map_err(|e| anyhow::anyhow!("fork into pid namespace: pipe: {e}"))?;
    match crate::linux::sys::clone_process(0)
        .map_err(|e| anyhow::anyhow!("fork into pid namespace: {e}"))?
    {
        crate::linux::sys::Forked::Parent(pid) => {
            let _ = chan.send(&Msg::InitPid(pid));
            drop(held);
            std::process::exit(0);
        }
        crate::linux::sys::Forked::Child => {
            drop(held);
            let mut buf = [0u8; 1];
            while let Err(nix::errno::Errno::EINTR) = nix::unistd::read(&wait, &mut buf) {}
            Ok(())
        }
    }
}

/// Longest error text sent to the parent. A message must fit the socket's send buffer
/// (~200 KiB by default), and an error may quote a config value of any size.
const MAX_ERROR: usize = 16 * 1024;

/// `text`, with its middle elided when it is longer than `MAX_ERROR`: the start names
/// the key, the end holds the kernel's reason.
fn bounded(text: String) -> String {
    if text.len() <= MAX_ERROR {
        return text;
    }
    let mut head = MAX_ERROR / 2;
    while !text.is_char_boundary(head) {
        head -= 1;
    }
    let mut tail = text.len() - MAX_ERROR / 2;
    while !text.is_char_boundary(tail) {
        tail += 1;
    }
    format!(
        "{} [... {} bytes ...] {}",
        &text[..head],
        tail - head,
        &text[tail..]
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_errors_keep_both_ends() {
        let long = format!("linux.sysctl: k={}: invalid argument", "é".repeat(40_000));
        let b = bounded(long);
        assert!(b.len() <= MAX_ERROR + 40, "{}", b.len());
        assert!(b.starts_with("linux.sysctl: k=") && b.ends_with(": invalid argument"));
        assert_eq!(bounded("short".into()), "short");
    }
}
