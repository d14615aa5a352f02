//! The container's init, as one ordered recipe: it runs in the cloned child, sets the
//! container up, reports Ready, waits on exec.fifo for `start`, and execs the process.
//!
//! Steps are numbered as in `channel.rs`. Any failure is sent to the parent as
//! `Failed { step, error }` and the init exits; the parent cleans up.

use crate::bundle::Plan;
use crate::channel::{Channel, Msg};
use crate::errors::errno_text;
use crate::process;
use crate::rootfs::{self, mounts::MountEnv};
use crate::{logging, sys};
use anyhow::{anyhow, Context, Result};
use nix::sched::{setns, unshare, CloneFlags};
use nix::unistd::{Gid, Uid};
use std::io::Write;
use std::os::fd::{AsFd, OwnedFd};

pub struct InitArgs<'a> {
    pub plan: &'a Plan,
    pub id: &'a str,
    pub chan: Channel,
    /// O_PATH fd of the state directory: exec.fifo is opened through it after
    /// pivot_root, when the host path is out of reach.
    pub state_dir: OwnedFd,
    pub no_pivot: bool,
    pub no_new_keyring: bool,
}

type StepResult<T> = std::result::Result<T, (&'static str, anyhow::Error)>;

trait Step<T> {
    fn step(self, name: &'static str) -> StepResult<T>;
}

impl<T> Step<T> for Result<T> {
    fn step(self, name: &'static str) -> StepResult<T> {
        self.map_err(|e| (name, e))
    }
}

/// Entry point of the cloned child; never returns.
pub fn main(args: InitArgs) -> ! {
    match run(&args) {
        Ok(exec) => {
            let err = process::exec(&exec);
            // The parent is gone by now (start has run); stderr is all that is left.
            let _ = writeln!(std::io::stderr(), "berth: {err:#}");
            std::process::exit(127);
        }
        Err((step, err)) => {
            let _ = args.chan.send(&Msg::Failed {
                step: step.to_string(),
                error: format!("{err:#}"),
            });
            std::process::exit(1);
        }
    }
}

fn run(a: &InitArgs) -> StepResult<process::ExecArgs> {
    let plan = a.plan;
    // If `create` dies while we set up, we die too; cleared before Ready below.
    sys::set_parent_death_signal(libc::SIGKILL)
        .map_err(anyhow::Error::from)
        .step("pdeathsig")?;
    // Device modes from the config are exact, not reduced by the caller's umask.
    nix::sys::stat::umask(nix::sys::stat::Mode::empty());

    // [1] The parent has written our id maps (and, later, placed us in our cgroup).
    a.chan.expect(Msg::Proceed).step("wait for parent")?;

    let userns = enter_namespaces(plan, &a.chan).step("namespaces")?;
    let env = MountEnv {
        userns,
        cgroupns: plan.namespaces.creates(CloneFlags::CLONE_NEWCGROUP),
    };
    rootfs::prepare(plan, &env, a.no_pivot).step("rootfs")?;
    set_names(plan).step("hostname")?;
    write_sysctl(plan).step("sysctl")?;
    rootfs::finalize(plan, userns).step("rootfs")?;

    nix::unistd::setsid()
        .map_err(|e| anyhow!("setsid: {}", errno_text(e)))
        .step("session")?;
    if !a.no_new_keyring {
        join_keyring(a.id).step("keyring")?;
    }
    let p = &plan.process;
    process::set_rlimits(p).step("rlimits")?;
    process::switch_user(p).step("user")?;
    let umask = p.umask.unwrap_or(0o022);
    nix::sys::stat::umask(nix::sys::stat::Mode::from_bits_truncate(umask));
    nix::unistd::chdir(&p.cwd)
        .map_err(|e| anyhow!("process.cwd: chdir {}: {}", p.cwd.display(), errno_text(e)))
        .step("cwd")?;
    let env = process::env_with_home(p);
    let path = process::find_executable(&p.args[0], &env).step("exec")?;
    let exec = process::exec_args(&path, &p.args, &env).step("exec")?;

    sys::set_parent_death_signal(0)
        .map_err(anyhow::Error::from)
        .step("pdeathsig")?;
    // [2] Ready: `create` returns now; we block until `start` opens the fifo.
    a.chan.send(&Msg::Ready).step("ready")?;
    if let Err(e) = wait_for_start(a) {
        // Nobody reads the channel any more; stderr is where this can still be seen.
        let _ = writeln!(std::io::stderr(), "berth: init: exec.fifo: {e:#}");
        std::process::exit(1);
    }
    Ok(exec)
}

/// Join the user namespace (if given by path) and create what the clone could not.
/// Returns whether the container has its own user namespace.
fn enter_namespaces(plan: &Plan, chan: &Channel) -> Result<bool> {
    let ns = &plan.namespaces;
    if let Some(j) = ns.joins(CloneFlags::CLONE_NEWUSER) {
        let f = crate::namespaces::open_ns_path(j.flag, &j.path)?;
        setns(f.as_fd(), CloneFlags::CLONE_NEWUSER).map_err(|e| {
            anyhow!(
                "linux.namespaces: join user namespace {}: {}",
                j.path.display(),
                errno_text(e)
            )
        })?;
        let mut rest = ns.new;
        rest.remove(
            CloneFlags::CLONE_NEWCGROUP | CloneFlags::from_bits_retain(libc::CLONE_NEWTIME),
        );
        unshare(rest).map_err(|e| anyhow!("linux.namespaces: unshare: {}", errno_text(e)))?;
        if rest.contains(CloneFlags::CLONE_NEWPID) {
            // unshare(CLONE_NEWPID) only applies to children: the kernel demands a fork
            // here. We hand the child's pid to the parent and step aside.
            match sys::clone_process(0).map_err(|e| anyhow!("fork into pid namespace: {e}"))? {
                sys::Forked::Parent(pid) => {
                    let _ = chan.send(&Msg::InitPid(pid));
                    std::process::exit(0);
                }
                sys::Forked::Child => {}
            }
        }
    }
    let userns = ns.has(CloneFlags::CLONE_NEWUSER);
    if userns {
        // Become root of the user namespace so files we create belong to it.
        nix::unistd::setresgid(Gid::from_raw(0), Gid::from_raw(0), Gid::from_raw(0))
            .map_err(|e| anyhow!("setgid 0 in user namespace: {}", errno_text(e)))?;
        nix::unistd::setresuid(Uid::from_raw(0), Uid::from_raw(0), Uid::from_raw(0))
            .map_err(|e| anyhow!("setuid 0 in user namespace: {}", errno_text(e)))?;
    }
    if ns.creates(CloneFlags::CLONE_NEWCGROUP) {
        unshare(CloneFlags::CLONE_NEWCGROUP)
            .map_err(|e| anyhow!("linux.namespaces: new cgroup namespace: {}", errno_text(e)))?;
    }
    Ok(userns)
}

fn set_names(plan: &Plan) -> Result<()> {
    if let Some(h) = &plan.hostname {
        nix::unistd::sethostname(h).map_err(|e| anyhow!("hostname {h:?}: {}", errno_text(e)))?;
    }
    if let Some(d) = &plan.domainname {
        sys::setdomainname(d.as_bytes())
            .map_err(|e| anyhow!("domainname {d:?}: {}", crate::errors::describe_io(&e)))?;
    }
    Ok(())
}

fn write_sysctl(plan: &Plan) -> Result<()> {
    for (key, value) in &plan.sysctl {
        let path = format!("/proc/sys/{}", key.replace('.', "/"));
        std::fs::write(&path, value).map_err(|e| {
            anyhow!(
                "linux.sysctl: {key}={value}: {}",
                crate::errors::describe_io(&e)
            )
        })?;
    }
    Ok(())
}

fn join_keyring(id: &str) -> Result<()> {
    let name = std::ffi::CString::new(format!("_ses.{id}"))?;
    match sys::join_session_keyring(&name) {
        // Kernels without keys, or a seccomp filter on keyctl, are not an error (as in runc).
        Err(e) if e.raw_os_error() == Some(libc::ENOSYS) => Ok(()),
        other => {
            other.map_err(|e| anyhow!("join session keyring: {}", crate::errors::describe_io(&e)))
        }
    }
}

/// Block until `start` opens exec.fifo for reading, then tell it we are going.
fn wait_for_start(a: &InitArgs) -> Result<()> {
    let _t = logging::step("init: wait for start");
    let fd = nix::fcntl::openat(
        a.state_dir.as_fd(),
        crate::state::FIFO_NAME,
        nix::fcntl::OFlag::O_WRONLY | nix::fcntl::OFlag::O_CLOEXEC,
        nix::sys::stat::Mode::empty(),
    )
    .map_err(|e| anyhow!("open: {}", errno_text(e)))?;
    nix::unistd::write(&fd, b"0").map_err(|e| anyhow!("write: {}", errno_text(e)))?;
    // No fd of the runtime or of the caller beyond stdio reaches the container.
    sys::cloexec_from(3).context("close fds")?;
    Ok(())
}
