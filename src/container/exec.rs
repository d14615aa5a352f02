//! `exec`: one more process inside a running container, set up the way the init set
//! itself up, minus everything that made the container.
//!
//! ```text
//!   parent (berth exec)                          child (spawn::exec_child)
//!   ───────────────────                          ─────
//!   refuse a stopped (or paused) container;
//!   plan the process from config.json + flags;
//!   pidfd of the init; which of its namespaces
//!   differ from ours; release the lock
//!   step into the container's v1 cgroups (or
//!   --cgroup's sub-cgroups); setns(pidfd, PID)
//!   (setns(PID) only ever applies to children)
//!   clone3(CLONE_INTO_CGROUP: the v2 one) ──────▶ born in the container's cgroups and
//!   back to our own PID namespace and cgroups     PID namespace
//!                                                 setns(pidfd, user|mnt|net|ipc|uts|
//!                                                   cgroup|time): one call, user first
//!                                                 setsid, pty → console socket, keyring
//!   [1] Proceed ────────────────────────────────▶ [1] (old kernels: moved into v2 now)
//!                                                 finish_process: rlimits, capabilities,
//!                                                 user, umask, cwd, env, the executable,
//!                                                 personality, no_new_privs, seccomp
//!   [2] wait for Ready ◀───────────────────────── [2] Ready (or Failed{step, error})
//!   end of file: execve happened ◀─────────────── execve (the channel is close-on-exec)
//!   pid file; -d returns, else wait + forward
//! ```
//!
//! Only the PID namespace needs the parent's help: every other namespace the child joins
//! itself, so the parent never stands in the container's mount namespace. The process
//! starts from the bundle's config.json as it is now (runc keeps a copy from create).

use super::state::Status;
use super::{pidfile, Container};
use crate::cgroups::join::{self, JoinCgroup};
use crate::cgroups::mode::CgroupHost as Host;
use crate::errors::{describe_io, errno_text, Error, Kind};
use crate::linux::{console, process_attrs, rootless, selfexe, sys, trampoline};
use crate::spawn::channel::{self, Msg};
use crate::spawn::exec_child::{self, ExecChild, ExecPlan};
use crate::spawn::fds;
use crate::spawn::parent::{self, Guard};
use crate::{logging, seccomp, spec};
use anyhow::{anyhow, bail, Context, Result};
use nix::sched::{setns, CloneFlags};
use nix::sys::signal::SigSet;
use std::cell::Cell;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::path::Path;

/// How the process is started, beside what it is.
pub struct ExecOpts<'a> {
    pub console_socket: Option<&'a Path>,
    pub detach: bool,
    pub pid_file: Option<&'a Path>,
    /// `--preserve-fds N`: fds 3..3+N (after LISTEN_FDS) go to the process.
    pub preserve_fds: u32,
    /// `--cgroup` arguments.
    pub cgroup: &'a [String],
    /// The signal mask the process starts with.
    pub sigmask: SigSet,
    pub ignore_paused: bool,
}

/// The started process, and the pty master when `exec` in the foreground drives it.
pub struct Launched {
    pub pid: i32,
    pub master: Option<OwnedFd>,
}

impl Container {
    /// The container's config.json as untyped JSON, for `exec` to put its process into.
    pub fn config(&self) -> Result<serde_json::Value> {
        let path = self.state.bundle.join("config.json");
        let data = std::fs::read(&path)
            .map_err(|e| anyhow!("cannot read {}: {}", path.display(), describe_io(&e)))?;
        serde_json::from_slice(&data).map_err(|e| anyhow!("invalid {}: {e}", path.display()))
    }

    /// Start `config`'s process in the container; returns once it has exec'd.
    pub fn exec(self, config: serde_json::Value, o: &ExecOpts) -> Result<Launched> {
        let id = self.id().to_string();
        let stopped = || {
            Error::new(
                Kind::WrongState,
                format!("cannot exec in a stopped container ({id:?} is stopped)"),
            )
        };
        let mut allowed = vec![Status::Created, Status::Running];
        if o.ignore_paused {
            allowed.push(Status::Paused);
        }
        self.require(&allowed, |s| match s {
            Status::Paused => Error::new(
                Kind::WrongState,
                format!("cannot exec in a paused container ({id:?} is paused; use --ignore-paused to override)"),
            ),
            _ => stopped(),
        })?;
        let plan = {
            let _t = logging::step("exec: plan process");
            plan(config, &self.state.bundle, o.preserve_fds)?
        };
        let tramp = protect_binary(&self.dir, &plan, o.preserve_fds)?;
        let st = &self.state;
        let cgroup = match &st.cgroup {
            Some(cg) => Some((join::sub_cgroups(cg, o.cgroup)?, Host::detect()?)),
            None if o.cgroup.is_empty() => None,
            None => bail!("--cgroup: the container has no cgroup"),
        };
        // The pidfd pins the init: if it dies and its pid is reused, setns fails instead
        // of joining a stranger.
        let init = sys::pidfd_open(st.pid)
            .map_err(|e| anyhow!("container init {}: {}", st.pid, describe_io(&e)))?;
        if !super::state::process_alive(st.pid, st.pid_start) {
            return Err(stopped().into());
        }
        // Everything is read: other commands on the container may go on. Holding the lock
        // longer would deadlock `resume` against an --ignore-paused exec, which freezes
        // with the container when it steps into its cgroup; the pidfd pins the init.
        let st = self.unlock();
        launch(&st, &plan, init, cgroup.as_ref(), tramp, o)
    }
}

/// The trampoline for an exec'd process, and the pipe its failure is reported on.
struct Trampoline {
    program: OwnedFd,
    status: OwnedFd,
    status_w: OwnedFd,
}

/// Keep the container from reaching our binary (CVE-2019-5736): nothing to do when we
/// run from a read-only copy; the trampoline, when the container's init went through it
/// (its mark) and this process is as harmless (see `linux::trampoline`); else a re-exec
/// from a read-only copy, which starts this `exec` over. A process that may hold
/// CAP_SYS_PTRACE removes the mark for good: it could reach later exec'd children.
fn protect_binary(
    dir: &super::state::ContainerDir,
    plan: &ExecPlan,
    preserve_fds: u32,
) -> Result<Option<Trampoline>> {
    if selfexe::protected()? {
        return Ok(None);
    }
    let mark = dir.trampoline_mark();
    if trampoline::may_ptrace(&plan.process) {
        match std::fs::remove_file(&mark) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => bail!("{}: {}", mark.display(), describe_io(&e)),
        }
    } else if mark.exists() && trampoline::suits_process(&plan.process, plan.seccomp.as_ref()) {
        let (status, status_w) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC)
            .map_err(|e| anyhow!("pipe: {}", errno_text(e)))?;
        if let Some(program) = trampoline::make(Some(status_w.as_raw_fd())) {
            return Ok(Some(Trampoline {
                program,
                status,
                status_w,
            }));
        }
    }
    // The passed fds were made close-on-exec when berth started: they must survive.
    fds::keep_passed_across_exec(preserve_fds)?;
    selfexe::reexec_readonly()?;
    Ok(None)
}

fn plan(config: serde_json::Value, bundle: &Path, preserve_fds: u32) -> Result<ExecPlan> {
    let spec = spec::spec_from_value(config, &bundle.join("config.json"))?;
    let linux = spec.linux().clone().unwrap_or_default();
    let ns = spec::namespace_plan(linux.namespaces().as_deref().unwrap_or(&[]))?;
    let mut process = spec::process_plan(&spec, &ns)?;
    process.caps.log();
    let preserve_fds = fds::passed_fds(preserve_fds, &mut process.env);
    let seccomp = linux
        .seccomp()
        .as_ref()
        .map(spec::seccomp::plan)
        .transpose()?;
    Ok(ExecPlan {
        process,
        seccomp,
        preserve_fds,
    })
}

/// The namespaces of `pid` that are not ours: those are the ones to join. Comparing
/// with the live process covers new and joined (`path`) namespaces alike.
fn foreign_namespaces(pid: i32) -> Result<CloneFlags> {
    let id = |p: &str| nix::sys::stat::stat(p).map(|s| (s.st_dev, s.st_ino));
    let mut flags = CloneFlags::empty();
    for ns in spec::namespaces::NAMESPACES {
        let (name, flag) = (ns.proc_name, ns.flag);
        let theirs = match id(&format!("/proc/{pid}/ns/{name}")) {
            Ok(t) => t,
            // A kernel without this kind of namespace.
            Err(nix::errno::Errno::ENOENT) => continue,
            Err(e) => bail!(
                "container init {pid}: /proc/{pid}/ns/{name}: {}",
                errno_text(e)
            ),
        };
        let ours = id(&format!("/proc/self/ns/{name}"))
            .map_err(|e| anyhow!("/proc/self/ns/{name}: {}", errno_text(e)))?;
        if theirs != ours {
            flags |= flag;
        }
    }
    Ok(flags)
}

/// The init's root, for a container that shares our mount namespace (it chrooted).
fn open_root(pid: i32) -> Result<OwnedFd> {
    use nix::fcntl::OFlag;
    let path = format!("/proc/{pid}/root");
    let fd = nix::fcntl::open(
        path.as_str(),
        OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
        nix::sys::stat::Mode::empty(),
    )
    .map_err(|e| anyhow!("container init {pid}: {path}: {}", errno_text(e)))?;
    Ok(fd)
}

/// Clone the child and drive it through setup to its execve.
fn launch(
    st: &super::state::State,
    plan: &ExecPlan,
    init: OwnedFd,
    cgroup: Option<&(JoinCgroup, Host)>,
    tramp: Option<Trampoline>,
    o: &ExecOpts,
) -> Result<Launched> {
    let mut sockets = console::prepare(plan.process.terminal, o.console_socket, o.detach)?;
    // A profile that notifies gets a listener for this process too, as runc does.
    let agent = seccomp::connect_agent(plan.seccomp.as_ref())?;
    let (chan, child_end) = channel::pair()?;
    let child = ExecChild {
        plan,
        id: &st.id,
        chan: child_end,
        init,
        join: CloneFlags::empty(),
        root: None,
        fork_into_pid_ns: false,
        console: Cell::new(sockets.init.take()),
        sigmask: o.sigmask,
        no_new_keyring: st.no_new_keyring,
        seccomp_agent: Cell::new(agent),
        state: st.hook_state("running"),
        trampoline: tramp
            .as_ref()
            .map(|t| (t.program.as_raw_fd(), t.status_w.as_raw_fd())),
    };
    if tramp.is_some() {
        // The child is born not dumpable: from its first moment in the container's PID
        // namespace until its last execve, no process there may open /proc/PID/exe.
        sys::set_dumpable(false).map_err(|e| anyhow!("set non-dumpable: {}", describe_io(&e)))?;
    }
    let mut guard = Guard::default();
    let cloned = clone_exec(st.pid, plan, child, chan.as_raw_fd(), cgroup)?;
    // Only the child's copy of the status pipe's write end may be left: its end-of-file
    // is the report.
    let status = tramp.map(|t| t.status);
    guard.watch(cloned.pid);
    if let (true, Some((j, _))) = (cloned.move_into_v2, cgroup) {
        join::enter_v2_late(j, cloned.pid, st.pid)?;
    }
    // Should the child fork once more, this becomes its child's pid.
    let mut pid = cloned.pid;
    // [1] The child is in the container's cgroup: it may go on.
    chan.send(&Msg::Proceed {
        host_pid: cloned.pid,
    })?;
    {
        let _t = logging::step("exec: child setup");
        let what = "the exec'd process";
        parent::wait_ready(&chan, &mut pid, &mut guard, what, |req, _| {
            bail!("{what}: unexpected request {req:?}")
        })?;
        parent::wait_exec(&chan, pid, what)?;
        if let Some(status) = status {
            parent::wait_trampoline(status)?;
        }
    }
    let master = sockets
        .receive
        .take()
        .map(|s| console::receive_master(&s))
        .transpose()?;
    guard.release();
    if let Some(pf) = o.pid_file {
        pidfile::write(pf, pid)?;
    }
    Ok(Launched { pid, master })
}

/// Clone the exec child, born in the container's cgroup and PID namespace.
fn clone_exec(
    init_pid: i32,
    plan: &ExecPlan,
    mut child: ExecChild,
    chan_fd: i32,
    cgroup: Option<&(JoinCgroup, Host)>,
) -> Result<parent::Cloned> {
    let _t = logging::step("exec: clone");
    let join = foreign_namespaces(init_pid)?;
    child.join = join - CloneFlags::CLONE_NEWPID;
    if !join.contains(CloneFlags::CLONE_NEWNS) {
        child.root = Some(open_root(init_pid)?);
    }
    let own_pid_ns = match join.contains(CloneFlags::CLONE_NEWPID) {
        true => Some(std::fs::File::open("/proc/self/ns/pid").context("open /proc/self/ns/pid")?),
        false => None,
    };
    // Born in its cgroup, as the init is (see cgroups::place).
    let birth = match cgroup {
        Some((j, host)) => Some(crate::cgroups::place::step_in(&j.cg, host)?),
        None => None,
    };
    // execCPUAffinity.initial, for the child's setup: after stepping into the cpuset
    // cgroup, which resets the affinity of whoever joins it.
    if let Some(cpus) = &plan.process.attrs.exec_cpus_initial {
        process_attrs::set_cpu_affinity(Some(cpus), "initial")?;
    }
    let own_pid_ns = match own_pid_ns {
        Some(own) => join_pid_ns(&mut child, join, own)?,
        None => None,
    };
    // A v2 cgroup with controllers enabled for its children takes no processes itself
    // (the init may have moved below it, as systemd does): then the child goes to the
    // init's own v2 cgroup, as runc does, unless --cgroup named the place.
    let v2_named = cgroup.is_some_and(|(j, _)| j.v2_named);
    let other_v2 = || match v2_named {
        true => None,
        false => join::init_v2_cgroup(init_pid).and_then(|d| std::fs::File::open(d).ok()),
    };
    let v2 = birth.as_ref().and_then(|b| b.v2_fd());
    let cloned = parent::clone_child(0, v2, other_v2, move || {
        let _ = nix::unistd::close(chan_fd);
        exec_child::main(child)
    });
    let back = own_pid_ns.map_or(Ok(()), |own| {
        setns(own.as_fd(), CloneFlags::CLONE_NEWPID)
            .map_err(|e| anyhow!("return to own pid namespace: {}", errno_text(e)))
    });
    let child = cloned.as_ref().ok().map(|c| c.pid);
    let out = birth.map_or(Ok(()), |b| b.step_out(child));
    let cloned = cloned.map_err(|e| clone_error(&e, cgroup))?;
    back?;
    out?;
    Ok(cloned)
}

/// Step into the container's PID namespace, so the clone lands there; returns our own
/// to come back to. Only root of the host may: others could not come back (our own PID
/// namespace is the host's) or not even go (the container's user namespace owns it).
/// Then the child joins it with the others and forks once more, and we become a
/// subreaper to adopt that grandchild.
fn join_pid_ns(
    child: &mut ExecChild,
    join: CloneFlags,
    own: std::fs::File,
) -> Result<Option<std::fs::File>> {
    if nix::unistd::geteuid().is_root() && !rootless::in_user_namespace() {
        setns(child.init.as_fd(), CloneFlags::CLONE_NEWPID)
            .map_err(|e| anyhow!("join the container's pid namespace: {}", errno_text(e)))?;
        return Ok(Some(own));
    }
    sys::set_child_subreaper().map_err(|e| anyhow!("set subreaper: {e}"))?;
    child.join = join;
    child.fork_into_pid_ns = true;
    Ok(None)
}

fn clone_error(e: &std::io::Error, cgroup: Option<&(JoinCgroup, Host)>) -> anyhow::Error {
    match e.raw_os_error() {
        Some(libc::EBUSY) => anyhow!(
            "cgroup: cannot start a process in {}: {} (a v2 cgroup that enables \
             controllers for its children holds no processes itself)",
            cgroup
                .and_then(|(j, _)| j.cg.v2())
                .unwrap_or(Path::new("?"))
                .display(),
            describe_io(e)
        ),
        _ => anyhow!("clone: {}", describe_io(e)),
    }
}
