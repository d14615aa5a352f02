//! The child `exec` clones: it joins the container's namespaces, waits until the parent
//! has it in the container's cgroup, becomes the configured process (`finish`) and
//! execs. The parent side is `container::exec`.

use super::channel::{Channel, Msg};
use super::child::{self, ExecFailure, Step, StepResult};
use super::finish;
use crate::errors::errno_text;
use crate::linux::process::Execve;
use crate::linux::{console, process_attrs, sys};
use crate::logging;
use crate::spec::seccomp::SeccompPlan;
use crate::spec::ProcessPlan;
use anyhow::anyhow;
use nix::sched::{setns, CloneFlags};
use nix::sys::signal::{SigSet, SigmaskHow};
use std::cell::Cell;
use std::os::fd::{AsFd, OwnedFd};

/// What the process is, worked out before the clone.
pub struct ExecPlan {
    pub process: ProcessPlan,
    /// The container's filter, compiled (or taken from the cache) as for the init.
    pub seccomp: Option<SeccompPlan>,
    /// Fds 3..3+N stay open across execve (`--preserve-fds`, LISTEN_FDS).
    pub preserve_fds: u32,
}

pub struct ExecChild<'a> {
    pub plan: &'a ExecPlan,
    pub id: &'a str,
    pub chan: Channel,
    /// pidfd of the container's init, whose namespaces the child joins.
    pub init: OwnedFd,
    /// The namespaces to join (the PID one is already ours from the clone, unless
    /// `fork_into_pid_ns`).
    pub join: CloneFlags,
    /// The init's root directory when the container has no mount namespace of its own:
    /// joining namespaces would leave us at the host's root, so the child chroots here.
    pub root: Option<OwnedFd>,
    /// The parent could not join the PID namespace (an unprivileged user: the
    /// container's user namespace owns it); we join it with the rest and fork once more.
    pub fork_into_pid_ns: bool,
    /// Socket to send the pty master on; taken once the master is sent.
    pub console: Cell<Option<OwnedFd>>,
    /// The signal mask the process starts with (the parent may block every signal for
    /// its wait, and a mask survives execve).
    pub sigmask: SigSet,
    pub no_new_keyring: bool,
    /// The seccomp agent's socket (SCMP_ACT_NOTIFY), and the container state it gets.
    pub seccomp_agent: Cell<Option<OwnedFd>>,
    pub state: String,
    /// The trampoline's fd and its status pipe's write end (see `linux::trampoline`).
    pub trampoline: Option<(i32, i32)>,
}

/// Entry point of the cloned child; never returns.
pub fn main(c: ExecChild) -> ! {
    logging::debug("child process in init()");
    child::run(&c.chan, ExecFailure::ToParent, || {
        let exec = setup(&c)?;
        logging::debug("setns_init: about to exec");
        c.chan.send(&Msg::Ready).step("ready")?;
        Ok(match c.trampoline {
            Some((program, _)) => exec.through(program),
            None => exec,
        })
    })
}

fn setup(c: &ExecChild) -> StepResult<Execve> {
    let p = &c.plan.process;
    // From here to execve the container's processes can see us, and once the
    // capabilities are dropped they would match ours: /proc/PID/exe (our binary) and
    // our fds must stay out of their reach.
    sys::set_dumpable(false)
        .map_err(|e| anyhow!("set non-dumpable: {}", crate::errors::describe_io(&e)))
        .step("dumpable")?;
    // If `exec` dies while we set up, so do we; cleared before execve.
    sys::set_parent_death_signal(libc::SIGKILL)
        .map_err(anyhow::Error::from)
        .step("pdeathsig")?;
    nix::sys::signal::sigprocmask(SigmaskHow::SIG_SETMASK, Some(&c.sigmask), None)
        .map_err(|e| anyhow!("sigprocmask: {}", errno_text(e)))
        .step("signals")?;
    // While /proc is still the host's.
    process_attrs::set_oom_score_adj(&p.attrs).step("oom score")?;
    if !c.join.is_empty() {
        // One call, which the kernel applies user namespace first and all or nothing.
        setns(c.init.as_fd(), c.join)
            .map_err(|e| anyhow!("join the container's namespaces: {}", errno_text(e)))
            .step("namespaces")?;
    }
    if let Some(root) = &c.root {
        // After the user namespace is joined: a rootless user may chroot only there.
        crate::linux::rootfs::chroot_at(root.as_fd()).step("chroot")?;
    }
    if !c.fork_into_pid_ns {
        session(c)?;
    }
    // [1] Wait until the parent has put us in the container's cgroup.
    match c.chan.recv().step("wait for parent")? {
        Some(Msg::Proceed { .. }) => {}
        other => return Err(("wait for parent", anyhow!("unexpected {other:?}"))),
    }
    if c.fork_into_pid_ns {
        // After Proceed: the parent may have moved us into the cgroup only now.
        super::child::fork_and_hand_over(&c.chan).step("namespaces")?;
        session(c)?;
    }
    let a = &p.attrs;
    if a.exec_cpus_initial.is_some() || a.exec_cpus_final.is_some() {
        process_attrs::set_cpu_affinity(a.exec_cpus_final.as_deref(), "final")
            .step("cpu affinity")?;
    }
    sys::set_parent_death_signal(0)
        .map_err(anyhow::Error::from)
        .step("pdeathsig")?;
    finish::finish_process(p, c.plan.preserve_fds, c.trampoline.map(|t| t.1), || {
        finish::load_seccomp(c.plan.seccomp.as_ref(), &c.seccomp_agent, &c.state)
    })
}

/// Our own session (the terminal's controlling one), console and keyring.
fn session(c: &ExecChild) -> StepResult<()> {
    nix::unistd::setsid()
        .map_err(|e| anyhow!("setsid: {}", errno_text(e)))
        .step("session")?;
    if let Some(sock) = c.console.take() {
        console::setup_in_exec(&c.plan.process, sock).step("console")?;
    }
    if !c.no_new_keyring {
        finish::join_keyring(c.id).step("keyring")?;
    }
    Ok(())
}
