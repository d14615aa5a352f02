//! The container's init, as one ordered recipe: it runs in the cloned child, sets the
//! container up, reports Ready, waits on exec.fifo for `start`, and execs the process.
//!
//! Steps are numbered as in `channel.rs`. Any failure is sent to the parent as
//! `Failed { step, error }` and the init exits; the parent cleans up.

use super::channel::{Channel, Msg};
use super::child::{self, ExecFailure, Step, StepResult};
use super::finish;
use crate::errors::errno_text;
use crate::linux::process;
use crate::linux::process_attrs;
use crate::linux::rootfs::{self, remount::MountEnv};
use crate::linux::sys;
use crate::logging;
use crate::spec::Plan;
use anyhow::{anyhow, Result};
use nix::fcntl::OFlag;
use nix::sched::{setns, unshare, CloneFlags};
use nix::unistd::{Gid, Uid};
use std::io::Write;
use std::os::fd::{AsFd, OwnedFd};

/// The fifo in the state directory that `start` opens to release the init.
pub const FIFO_NAME: &str = "exec.fifo";

/// What the init writes to exec.fifo once `start` opened it: `0` before it execs, or
/// `E` and its error (a failed startContainer hook, say) before it exits. The parent that
/// `create` was is gone by then, and a terminal's output may never be read: the fifo is
/// the one way left to tell `start` why.
pub const FIFO_GO: u8 = b'0';
pub const FIFO_ERROR: u8 = b'E';

pub struct InitArgs<'a> {
    pub plan: &'a Plan,
    pub id: &'a str,
    pub chan: Channel,
    /// The sealed program that makes the final execve (see `linux::trampoline`), when
    /// berth did not re-execute itself to protect its binary.
    pub trampoline: Option<i32>,
    /// O_PATH fd of the state directory: exec.fifo is opened through it after
    /// pivot_root, when the host path is out of reach.
    /// Taken (and closed) once the fifo is open.
    pub state_dir: std::cell::Cell<Option<OwnedFd>>,
    pub no_pivot: bool,
    pub no_new_keyring: bool,
    /// Socket to send a terminal's pty master on (`process.terminal`); taken and closed
    /// once the master is sent.
    pub console: std::cell::Cell<Option<OwnedFd>>,
    /// The seccomp agent's socket (`linux.seccomp.listenerPath`), connected by the parent;
    /// taken and closed once the listener is sent.
    pub seccomp_agent: std::cell::Cell<Option<OwnedFd>>,
    /// The container's v2 cgroup directory, which the init joins itself, first thing.
    pub cgroup_v2: std::cell::Cell<Option<OwnedFd>>,
    /// Fds 3..3+N stay open across execve (`--preserve-fds`, LISTEN_FDS).
    pub preserve_fds: u32,
    /// The parent is an unprivileged user who writes our id maps: until then we must
    /// stay dumpable, or our /proc files belong to the host's root and not to it.
    pub dumpable_until_mapped: bool,
}

/// Entry point of the cloned init; never returns.
pub fn main(args: InitArgs) -> ! {
    logging::debug("child process in init()");
    child::run(&args.chan, ExecFailure::ToStderr, || {
        // The fifo's write end must stay open until execve: `start` waits for its EOF.
        run(&args).map(|(exec, fifo)| {
            std::mem::forget(fifo);
            match args.trampoline {
                Some(fd) => exec.through(fd),
                None => exec,
            }
        })
    })
}

/// The first steps, up to the parent's go-ahead [1]; the state hooks get.
fn await_parent(a: &InitArgs) -> StepResult<String> {
    let plan = a.plan;
    // Before anything else: nothing of ours runs outside the container's cgroup longer
    // than it must, and the cgroup namespace made later is rooted there.
    if let Some(dir) = a.cgroup_v2.take() {
        crate::cgroups::place::join_v2(dir.as_fd()).step("cgroup")?;
    }
    // Until execve, nothing with our uid and capabilities may open /proc/PID/exe (our
    // binary) or our fds: without a PID namespace, other containers can see us.
    if !a.dumpable_until_mapped {
        non_dumpable()?;
    }
    // If `create` dies while we set up, we die too; cleared before Ready below.
    sys::set_parent_death_signal(libc::SIGKILL)
        .map_err(anyhow::Error::from)
        .step("pdeathsig")?;
    // Device modes from the config are exact, not reduced by the caller's umask.
    nix::sys::stat::umask(nix::sys::stat::Mode::empty());

    // [1] The parent has written our id maps (and, later, placed us in our cgroup).
    let hook_state = match a.chan.recv().step("wait for parent")? {
        Some(Msg::Proceed { host_pid }) => crate::spawn::hooks::state_json(
            a.id,
            "creating",
            host_pid,
            &plan.bundle,
            &plan.annotations,
        ),
        other => return Err(("wait for parent", anyhow!("unexpected {other:?}"))),
    };
    if a.dumpable_until_mapped {
        non_dumpable()?;
    }
    Ok(hook_state)
}

/// Returns what to exec, and the fifo's write end, which must stay open until execve.
fn run(a: &InitArgs) -> StepResult<(process::Execve, OwnedFd)> {
    let plan = a.plan;
    let hook_state = await_parent(a)?;

    let userns = enter_namespaces(plan, &a.chan).step("namespaces")?;
    // An unprivileged parent cannot enter our mount namespace; its user may reach every
    // source it names anyway, so we open them ourselves.
    let trees = match a.dumpable_until_mapped {
        true => rootfs::trees::Trees::default(),
        false => receive_trees(plan, &a.chan).step("bind sources")?,
    };
    // Early, while the host's /proc is still mounted here: the container may have none.
    process_attrs::set_oom_score_adj(&plan.process.attrs).step("oom score")?;
    let env = MountEnv {
        // Inside a user namespace of our own (rootless podman's) the kernel refuses the
        // same things as inside the container's: mknod, locked mount flags.
        userns: userns || crate::linux::rootless::in_user_namespace(),
        cgroupns: plan.namespaces.creates(CloneFlags::CLONE_NEWCGROUP),
        trees,
    };
    let mut before_pivot = || create_hooks(plan, &a.chan, &hook_state);
    rootfs::prepare(plan, &env, a.no_pivot, &mut before_pivot).step("rootfs")?;
    // Our own session, to give it the container's terminal as controlling terminal;
    // both before finalize, which may make the root (and so /dev/console) read-only.
    nix::unistd::setsid()
        .map_err(|e| anyhow!("setsid: {}", errno_text(e)))
        .step("session")?;
    if let Some(sock) = a.console.take() {
        crate::linux::console::setup_in_init(&plan.process, sock).step("console")?;
    }
    set_names(plan).step("hostname")?;
    write_sysctl(plan).step("sysctl")?;
    rootfs::finalize(plan, env.userns).step("rootfs")?;

    if !a.no_new_keyring {
        finish::join_keyring(a.id).step("keyring")?;
    }
    // Before the filter, which may not allow prctl. Should `create` die from here on,
    // the init dies at the latest when it reports Ready to nobody (EPIPE/SIGPIPE).
    sys::set_parent_death_signal(0)
        .map_err(anyhow::Error::from)
        .step("pdeathsig")?;
    let exec = finish::finish_process(&plan.process, a.preserve_fds, None, || {
        finish::load_seccomp(plan.seccomp.as_ref(), &a.seccomp_agent, &hook_state)
    })?;
    // [2] Ready: `create` records the container and returns; we block until `start`
    // opens the fifo. Without pdeathsig now, a `create` that dies before it recorded us
    // shows as end-of-file here [3]: nothing could ever start or find us, so we go.
    logging::debug("init: closing the pipe to signal completion");
    a.chan.send(&Msg::Ready).step("ready")?;
    if !a.chan.wait_recorded() {
        std::process::exit(1);
    }
    match wait_for_start(a, &hook_state) {
        Ok(fifo) => Ok((exec, fifo)),
        Err(e) => {
            // Nobody reads the channel any more; stderr is where this can still be seen.
            let _ = writeln!(std::io::stderr(), "berth: init: {e:#}");
            std::process::exit(1);
        }
    }
}

/// [1b] The bind sources we cannot open ourselves, from the parent, once our mount
/// namespace exists: opened there, they keep the host's locked flags.
fn receive_trees(plan: &Plan, chan: &Channel) -> Result<rootfs::trees::Trees> {
    let trees = rootfs::trees::Trees::default();
    if !plan
        .mounts
        .iter()
        .any(|m| rootfs::trees::opened_by_parent(plan, m))
    {
        return Ok(trees);
    }
    chan.send(&Msg::OpenTrees)?;
    loop {
        match chan.recv_with_fd()? {
            Some((Msg::MountTree { index }, Some(fd))) => trees.add(index, fd),
            Some((Msg::TreesDone, None)) => return Ok(trees),
            // The parent reports its failure itself and kills us.
            None => std::process::exit(1),
            other => return Err(anyhow!("unexpected {other:?}")),
        }
    }
}

fn non_dumpable() -> StepResult<()> {
    sys::set_dumpable(false)
        .map_err(|e| anyhow!("set non-dumpable: {}", crate::errors::describe_io(&e)))
        .step("dumpable")
}

/// Join the user namespace (if given by path) and create what the clone could not.
/// Returns whether the container has its own user namespace.
fn enter_namespaces(plan: &Plan, chan: &Channel) -> Result<bool> {
    let ns = &plan.namespaces;
    if let Some(j) = ns.joins(CloneFlags::CLONE_NEWUSER) {
        let f = crate::linux::namespaces::open_ns_path(j.flag, &j.path)?;
        setns(f.as_fd(), CloneFlags::CLONE_NEWUSER).map_err(|e| {
            anyhow!(
                "linux.namespaces: join user namespace {}: {}",
                j.path.display(),
                errno_text(e)
            )
        })?;
        let mut rest = ns.new;
        rest.remove(CloneFlags::CLONE_NEWCGROUP | crate::spec::namespaces::CLONE_NEWTIME);
        unshare(rest).map_err(|e| anyhow!("linux.namespaces: unshare: {}", errno_text(e)))?;
        if rest.contains(CloneFlags::CLONE_NEWPID) {
            // unshare(CLONE_NEWPID) only applies to children: the kernel demands a fork
            // here. We hand the child's pid to the parent and step aside.
            super::child::fork_and_hand_over(chan)?;
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

/// [1a] Before pivot_root: the parent runs prestart and createRuntime hooks in the
/// runtime's namespaces, then we run createContainer hooks in ours.
fn create_hooks(plan: &Plan, chan: &Channel, state: &str) -> Result<()> {
    let h = &plan.hooks;
    #[allow(deprecated)]
    let prestart = h.prestart().as_ref().is_some_and(|v| !v.is_empty());
    if prestart || h.create_runtime().as_ref().is_some_and(|v| !v.is_empty()) {
        chan.send(&Msg::RunHooks)?;
        match chan.recv()? {
            Some(Msg::HooksDone) => {}
            // The parent reports the hook's failure itself and kills us.
            _ => std::process::exit(1),
        }
    }
    let hooks = h.create_container().as_deref().unwrap_or(&[]);
    let rootfs = Some(plan.rootfs.as_path());
    crate::spawn::hooks::run_all_in("createContainer", hooks, state, rootfs)
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

/// Through a handle on the container's own procfs, never through a symlink or another
/// mount laid over /proc/sys: those could lead the value to a host-wide sysctl.
fn write_sysctl(plan: &Plan) -> Result<()> {
    for (key, value) in &plan.sysctl {
        crate::linux::proc_write::write_sysctl(key, value).map_err(|e| {
            anyhow!(
                "linux.sysctl: {key}={}: {}",
                shorten(value),
                crate::errors::describe_io(&e)
            )
        })?;
    }
    Ok(())
}

/// A config value as an error quotes it: a long one only by its start and size.
fn shorten(value: &str) -> String {
    const MAX: usize = 64;
    if value.len() <= MAX {
        return value.to_string();
    }
    let mut end = MAX;
    while !value.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}... ({} bytes)", &value[..end], value.len())
}

const NO_MODE: nix::sys::stat::Mode = nix::sys::stat::Mode::empty();

/// Rootless, the user who made the container may reach its init while it waits, as
/// runc's: `exec` before `start` joins the namespaces through it, which the kernel allows
/// only for a dumpable process. So nothing of the host may be open in it then but the
/// fifo: the state directory is closed before, and the fifo reopened through its O_PATH
/// handle. A seccomp profile that denies prctl leaves us non-dumpable (and such an
/// `exec` refused), nothing worse.
fn open_fifo_reachable(dir: OwnedFd) -> nix::Result<OwnedFd> {
    let path = nix::fcntl::openat(
        dir.as_fd(),
        FIFO_NAME,
        OFlag::O_PATH | OFlag::O_CLOEXEC,
        NO_MODE,
    )?;
    drop(dir);
    let _ = sys::set_dumpable(true);
    let proc_path = format!("/proc/self/fd/{}", std::os::fd::AsRawFd::as_raw_fd(&path));
    nix::fcntl::open(
        proc_path.as_str(),
        OFlag::O_WRONLY | OFlag::O_CLOEXEC,
        NO_MODE,
    )
}

/// Block until `start` opens exec.fifo for reading, run the startContainer hooks, then
/// tell `start` we are going. The fd is close-on-exec: `start` sees end-of-file on the
/// fifo exactly when execve has happened (or we died), and only then runs poststart.
fn wait_for_start(a: &InitArgs, hook_state: &str) -> Result<OwnedFd> {
    let _t = logging::step("init: wait for start");
    let dir = a
        .state_dir
        .take()
        .ok_or_else(|| anyhow!("exec.fifo: state directory already closed"))?;
    let fd = if a.dumpable_until_mapped && std::path::Path::new("/proc/self/fd").is_dir() {
        open_fifo_reachable(dir)
    } else {
        nix::fcntl::openat(
            dir.as_fd(),
            FIFO_NAME,
            OFlag::O_WRONLY | OFlag::O_CLOEXEC,
            NO_MODE,
        )
    }
    .map_err(|e| anyhow!("exec.fifo: open: {}", errno_text(e)))?;
    let hooks = a.plan.hooks.start_container().as_deref().unwrap_or(&[]);
    let state = crate::spawn::hooks::with_status(hook_state, "created");
    if let Err(e) = crate::spawn::hooks::run_all("startContainer", hooks, &state) {
        // `start` reads this and fails with it; one write up to PIPE_BUF is atomic.
        let mut msg = format!("{}{e:#}", FIFO_ERROR as char).into_bytes();
        msg.truncate(4000);
        let _ = nix::unistd::write(&fd, &msg);
        return Err(e);
    }
    nix::unistd::write(&fd, &[FIFO_GO])
        .map_err(|e| anyhow!("exec.fifo: write: {}", errno_text(e)))?;
    Ok(fd)
}
