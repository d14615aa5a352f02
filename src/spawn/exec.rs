//! `berth exec`: one more process inside an existing container, set up the way the init
//! set itself up, minus everything that made the container.
//!
//! ```text
//!   parent (berth exec)                          child
//!   ───────────────────                          ─────
//!   state.json: the init's pid; refuse a
//!   stopped (or paused) container; plan the
//!   process from config.json + flags; release
//!   the container's lock
//!   pidfd of the init; which of its namespaces
//!   differ from ours
//!   step into the container's v1 cgroups (or
//!   --cgroup's sub-cgroups); setns(pidfd, PID)
//!   (setns(PID) only ever applies to children)
//!   clone3(CLONE_INTO_CGROUP: the v2 one) ──────▶ born in the container's cgroups and
//!   back to our own PID namespace and cgroups     PID namespace
//!                                                 setns(pidfd, user|mnt|net|ipc|uts|
//!                                                   cgroup|time): one call, user first
//!                                                 setsid, pty → console socket, keyring
//!   [1] Proceed ────────────────────────────────▶ [1] (old kernels: moved into v2 now)
//!                                                 init::finish_process: rlimits,
//!                                                 capabilities, user, umask, cwd, env,
//!                                                 the executable, personality,
//!                                                 no_new_privs, seccomp
//!   [2] wait for Ready ◀───────────────────────── [2] Ready (or Failed{step, error})
//!   end of file: execve happened ◀─────────────── execve (the channel is close-on-exec)
//!   pid file; -d returns, else wait + forward
//! ```
//!
//! Only the PID namespace needs the parent's help: every other namespace the child joins
//! itself, so the parent never stands in the container's mount namespace. The process
//! starts from the bundle's config.json as it is now (runc keeps a copy from create).

use crate::cgroups::{self, Cgroup};
use crate::container::state::{ContainerDir, State, Status};
use crate::errors::{describe_io, errno_text};
use crate::linux::sys::{self, Forked};
use crate::linux::{console, process, process_attrs};
use crate::spawn::channel::{self, Channel, Msg};
use crate::spawn::init::{self, Step, StepResult};
use crate::spec::{self, ProcessPlan};
use crate::{container, logging, seccomp};
use anyhow::{anyhow, bail, Context, Result};
use nix::sched::{setns, CloneFlags};
use nix::sys::signal::{SigSet, SigmaskHow};
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::Pid;
use std::collections::BTreeMap;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::{Component, Path, PathBuf};

/// A container a process may join: its directory (locked) and state.
pub struct Target {
    pub dir: ContainerDir,
    pub state: State,
}

/// Open the container and check that it has a live init to join.
pub fn open(root: &Path, id: &str, ignore_paused: bool) -> Result<Target> {
    let dir = ContainerDir::open(root, id)?;
    let state = dir.load()?;
    match dir.status(&state) {
        Status::Stopped => bail!("cannot exec in a stopped container ({id:?} is stopped)"),
        Status::Paused if !ignore_paused => bail!(
            "cannot exec in a paused container ({id:?} is paused; use --ignore-paused to override)"
        ),
        _ => {}
    }
    Ok(Target { dir, state })
}

/// The container's config.json as untyped JSON, for `exec` to put its process into.
pub fn read_config(st: &State) -> Result<serde_json::Value> {
    let path = st.bundle.join("config.json");
    let data = std::fs::read(&path)
        .map_err(|e| anyhow!("cannot read {}: {}", path.display(), describe_io(&e)))?;
    serde_json::from_slice(&data).map_err(|e| anyhow!("invalid {}: {e}", path.display()))
}

/// How the process is started, beside what it is.
pub struct Opts<'a> {
    pub console_socket: Option<&'a Path>,
    pub detach: bool,
    pub pid_file: Option<&'a Path>,
    /// `--preserve-fds N`: fds 3..3+N (after LISTEN_FDS) go to the process.
    pub preserve_fds: u32,
    /// `--cgroup` arguments.
    pub cgroup: &'a [String],
    /// The signal mask the process starts with (the caller may block every signal for
    /// its wait, and a mask survives execve).
    pub sigmask: SigSet,
}

/// The started process, and the pty master when `exec` in the foreground drives it.
pub struct Launched {
    pub pid: i32,
    pub master: Option<OwnedFd>,
}

/// Everything the child needs, worked out before the clone.
struct ExecPlan {
    process: ProcessPlan,
    /// The container's filter, compiled (or taken from the cache) as for the init.
    seccomp: Option<seccomp::SeccompPlan>,
    preserve_fds: u32,
}

fn plan(config: serde_json::Value, st: &State, preserve_fds: u32) -> Result<ExecPlan> {
    let spec = spec::spec_from_value(config, &st.bundle.join("config.json"))?;
    let linux = spec.linux().clone().unwrap_or_default();
    let ns = spec::namespace_plan(linux.namespaces().as_deref().unwrap_or(&[]))?;
    let mut process = spec::process_plan(&spec, &ns)?;
    for w in &process.caps.warnings {
        logging::debug(w);
    }
    let preserve_fds = container::passed_fds(preserve_fds, &mut process.env);
    let seccomp = linux.seccomp().as_ref().map(seccomp::plan).transpose()?;
    Ok(ExecPlan {
        process,
        seccomp,
        preserve_fds,
    })
}

/// The namespace kinds under /proc/PID/ns, user first.
const NAMESPACES: [(&str, CloneFlags); 8] = [
    ("user", CloneFlags::CLONE_NEWUSER),
    ("mnt", CloneFlags::CLONE_NEWNS),
    ("pid", CloneFlags::CLONE_NEWPID),
    ("net", CloneFlags::CLONE_NEWNET),
    ("ipc", CloneFlags::CLONE_NEWIPC),
    ("uts", CloneFlags::CLONE_NEWUTS),
    ("cgroup", CloneFlags::CLONE_NEWCGROUP),
    ("time", spec::CLONE_NEWTIME),
];

/// The namespaces of `pid` that are not ours: those are the ones to join. Comparing
/// with the live process covers new and joined (`path`) namespaces alike.
fn foreign_namespaces(pid: i32) -> Result<CloneFlags> {
    let id = |p: &str| nix::sys::stat::stat(p).map(|s| (s.st_dev, s.st_ino));
    let mut flags = CloneFlags::empty();
    for (name, flag) in NAMESPACES {
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

/// Kill and reap a child that did not make it to execve.
struct ChildGuard(Option<i32>);

impl Drop for ChildGuard {
    fn drop(&mut self) {
        if let Some(pid) = self.0 {
            let _ = nix::sys::signal::kill(Pid::from_raw(pid), nix::sys::signal::SIGKILL);
            let _ = waitpid(Pid::from_raw(pid), None);
        }
    }
}

/// Start the process in the container; returns once it has exec'd (or failed to).
pub fn launch(t: Target, config: serde_json::Value, o: &Opts) -> Result<Launched> {
    let st = &t.state;
    let plan = {
        let _t = logging::step("exec: plan process");
        plan(config, st, o.preserve_fds)?
    };
    let console::Sockets {
        init: console_child,
        receive: console_receive,
    } = console::prepare(plan.process.terminal, o.console_socket, o.detach)?;
    // A profile that notifies gets a listener for this process too, as runc does.
    let seccomp_agent = seccomp::connect_agent(plan.seccomp.as_ref())?;
    let cgroup = match &st.cgroup {
        Some(cg) => Some((sub_cgroups(cg, o.cgroup)?, cgroups::mode::Host::detect()?)),
        None if o.cgroup.is_empty() => None,
        None => bail!("--cgroup: the container has no cgroup"),
    };
    // The pidfd pins the init: if it dies and its pid is reused, setns fails instead of
    // joining a stranger.
    let init = sys::pidfd_open(st.pid)
        .map_err(|e| anyhow!("container init {}: {}", st.pid, describe_io(&e)))?;
    if !crate::container::state::process_alive(st.pid, st.pid_start) {
        bail!(
            "cannot exec in a stopped container ({:?} is stopped)",
            st.id
        );
    }
    let join = foreign_namespaces(st.pid)?;
    let own_pid_ns = if join.contains(CloneFlags::CLONE_NEWPID) {
        Some(std::fs::File::open("/proc/self/ns/pid").context("open /proc/self/ns/pid")?)
    } else {
        None
    };
    let (parent_end, child_end) = channel::pair()?;
    // Everything is read: other commands on the container may go on. Holding the lock
    // longer would deadlock `resume` against an --ignore-paused exec, which freezes with
    // the container when it steps into the cgroup below; the pidfd pins the init anyway.
    let st = t.state;
    drop(t.dir);

    let mut guard = ChildGuard(None);
    // Whether the child still has to be moved into its v2 cgroup (old kernels).
    let mut v2_after = false;
    let pid = {
        let _t = logging::step("exec: clone");
        // The child is born in its cgroup, as the init is (see cgroups::place): moving
        // another process there afterwards costs an RCU grace period, ~10 ms here.
        let birth = match &cgroup {
            Some((join, host)) => Some(cgroups::place::step_in(&join.cg, host)?),
            None => None,
        };
        // execCPUAffinity.initial, for the child's setup: after stepping into the cpuset
        // cgroup, which resets the affinity of whoever joins it.
        if let Some(cpus) = &plan.process.attrs.exec_cpus_initial {
            process_attrs::set_cpu_affinity(Some(cpus), "initial")?;
        }
        if own_pid_ns.is_some() {
            setns(init.as_fd(), CloneFlags::CLONE_NEWPID)
                .map_err(|e| anyhow!("join the container's pid namespace: {}", errno_text(e)))?;
        }
        let forked = match (birth.as_ref().and_then(|b| b.v2_fd()), &cgroup) {
            (Some(fd), Some((join, _))) => clone_into(fd, join, st.pid, &mut v2_after),
            _ => sys::clone_process(0),
        }
        .map_err(|e| match e.raw_os_error() {
            Some(libc::EBUSY) => anyhow!(
                "cgroup: cannot start a process in {}: {} (a v2 cgroup that enables \
                 controllers for its children holds no processes itself)",
                cgroup
                    .as_ref()
                    .and_then(|(j, _)| j.cg.v2())
                    .unwrap_or(Path::new("?"))
                    .display(),
                describe_io(&e)
            ),
            _ => anyhow!("clone: {}", describe_io(&e)),
        });
        if let Ok(Forked::Child) = forked {
            if let Some(b) = birth {
                b.stay();
            }
            drop(parent_end);
            child_main(Child {
                plan: &plan,
                id: &st.id,
                chan: child_end,
                init,
                join: join - CloneFlags::CLONE_NEWPID,
                console: std::cell::Cell::new(console_child),
                sigmask: o.sigmask,
                no_new_keyring: st.no_new_keyring,
                seccomp_agent: std::cell::Cell::new(seccomp_agent),
                state: st.hook_state("running"),
            })
        }
        if let Ok(Forked::Parent(pid)) = forked {
            guard.0 = Some(pid);
        }
        if let Some(own) = &own_pid_ns {
            setns(own.as_fd(), CloneFlags::CLONE_NEWPID)
                .map_err(|e| anyhow!("return to own pid namespace: {}", errno_text(e)))?;
        }
        if let Some(b) = birth {
            b.step_out()?;
        }
        match forked? {
            Forked::Parent(pid) => pid,
            Forked::Child => unreachable!("the child never gets here"),
        }
    };
    guard.0 = Some(pid);
    drop(child_end);
    drop(console_child);
    drop(seccomp_agent);
    drop(init);

    if let (true, Some((join, _))) = (v2_after, &cgroup) {
        enter_v2_late(join, pid, st.pid)?;
    }
    // [1] The child is in the container's cgroup: it may go on.
    parent_end.send(&Msg::Proceed { hook_state: None })?;
    // [2] Ready, then end-of-file once execve has closed the child's end.
    {
        let _t = logging::step("exec: child setup");
        let mut ready = false;
        loop {
            match parent_end.recv()? {
                Some(Msg::Ready) => ready = true,
                Some(Msg::Failed { step, error }) => {
                    logging::debug(&format!("exec: child failed at step {step}"));
                    bail!("{error}")
                }
                Some(other) => bail!("exec: unexpected message {other:?}"),
                None if ready => break,
                None => bail!(
                    "the exec'd process exited during setup ({})",
                    exit_reason(pid)
                ),
            }
        }
    }
    let master = console_receive
        .map(|s| console::receive_master(&s))
        .transpose()?;
    guard.0 = None;
    if let Some(pf) = o.pid_file {
        container::write_pid_file(pf, pid)?;
    }
    Ok(Launched { pid, master })
}

fn exit_reason(pid: i32) -> String {
    match waitpid(Pid::from_raw(pid), Some(WaitPidFlag::WNOHANG)) {
        Ok(WaitStatus::Exited(_, c)) => format!("exit status {c}"),
        Ok(WaitStatus::Signaled(_, s, _)) => format!("killed by {s:?}"),
        _ => "no status".to_string(),
    }
}

/// `--cgroup` arguments as runc reads them: controller → path below the container's
/// cgroup, "" standing for every controller (and for cgroup v2).
fn parse_cgroup_args(args: &[String]) -> Result<BTreeMap<String, String>> {
    let mut out = BTreeMap::new();
    for a in args {
        match a.split_once(':') {
            Some((ctrls, path)) => {
                for c in ctrls.split(',') {
                    if c.is_empty() {
                        bail!("--cgroup {a:?}: empty controller name before ':'");
                    }
                    if out.insert(c.to_string(), path.to_string()).is_some() {
                        bail!("--cgroup: controller {c:?} is given more than once");
                    }
                }
            }
            None => {
                if out.insert(String::new(), a.clone()).is_some() {
                    bail!("--cgroup: more than one path for all controllers");
                }
            }
        }
    }
    Ok(out)
}

/// A sub-cgroup path, which must stay inside the container's cgroup.
fn below(sub: &str) -> Result<PathBuf> {
    let mut rel = PathBuf::new();
    for c in Path::new(sub).components() {
        match c {
            Component::Normal(n) => rel.push(n),
            Component::RootDir | Component::CurDir => {}
            _ => bail!("--cgroup {sub:?}: must stay inside the container's cgroup (no \"..\")"),
        }
    }
    Ok(rel)
}

/// The cgroup the process is born in: the container's, with `--cgroup`'s sub-cgroups in
/// place of its directories.
struct JoinCgroup {
    cg: Cgroup,
    /// `--cgroup` named the v2 directory, which turns off the fallback to the init's own
    /// v2 cgroup (runc's `--cgroup /`).
    v2_named: bool,
}

fn sub_cgroups(cg: &Cgroup, args: &[String]) -> Result<JoinCgroup> {
    let map = parse_cgroup_args(args)?;
    let all: Vec<&str> = cg
        .dirs
        .iter()
        .flat_map(|d| d.controllers.iter().map(String::as_str))
        .collect();
    for c in map.keys().filter(|c| !c.is_empty()) {
        if cg.mode == cgroups::mode::Mode::Unified {
            bail!("--cgroup {c}:...: cgroup v2 has no per-controller paths; give a plain path");
        }
        if !all.contains(&c.as_str()) {
            bail!("--cgroup: the container has no cgroup for controller {c:?}");
        }
    }
    let mut join = JoinCgroup {
        cg: Cgroup {
            mode: cg.mode,
            dirs: Vec::new(),
        },
        v2_named: false,
    };
    for d in &cg.dirs {
        let mut named: Vec<&String> = d.controllers.iter().filter_map(|c| map.get(c)).collect();
        named.dedup();
        if named.len() > 1 {
            bail!(
                "--cgroup: controllers {} share one hierarchy but were given different paths",
                d.controllers.join(",")
            );
        }
        let sub = named.first().copied().or_else(|| map.get(""));
        let path = match sub {
            Some(s) => {
                let p = d.path.join(below(s)?);
                if !p.is_dir() {
                    bail!("--cgroup {s:?}: {} does not exist", p.display());
                }
                p
            }
            None => d.path.clone(),
        };
        if d.controllers.is_empty() {
            join.v2_named = sub.is_some();
        }
        join.cg.dirs.push(cgroups::Dir {
            controllers: d.controllers.clone(),
            path,
            made: None,
        });
    }
    Ok(join)
}

/// clone3 into the v2 directory. A v2 cgroup with controllers enabled for its children
/// takes no processes itself (the init may have moved below it, as systemd does): then
/// the child goes to the init's own v2 cgroup, as runc does, unless --cgroup named the
/// place. Kernels without CLONE_INTO_CGROUP get a plain clone and a move afterwards.
fn clone_into(
    v2: BorrowedFd,
    join: &JoinCgroup,
    init: i32,
    v2_after: &mut bool,
) -> std::io::Result<Forked> {
    match sys::clone_process_into(0, v2) {
        Err(e) if matches!(e.raw_os_error(), Some(libc::ENOSYS | libc::E2BIG)) => {
            *v2_after = true;
            sys::clone_process(0)
        }
        Err(e)
            if !join.v2_named
                && matches!(e.raw_os_error(), Some(libc::EBUSY | libc::EOPNOTSUPP)) =>
        {
            match init_v2_cgroup(init).and_then(|d| std::fs::File::open(d).ok()) {
                Some(dir) => sys::clone_process_into(0, dir.as_fd()),
                None => Err(e),
            }
        }
        r => r,
    }
}

/// The move into the v2 cgroup for kernels without CLONE_INTO_CGROUP, with the same
/// fallback to the init's cgroup.
fn enter_v2_late(join: &JoinCgroup, pid: i32, init: i32) -> Result<()> {
    let Err(e) = cgroups::place::enter_v2(&join.cg, pid) else {
        return Ok(());
    };
    if !join.v2_named {
        if let Some(dir) = init_v2_cgroup(init) {
            if cgroups::write_file(&dir.join("cgroup.procs"), &pid.to_string()).is_ok() {
                return Ok(());
            }
        }
    }
    Err(e)
}

/// The init's own v2 cgroup directory, from /proc/PID/cgroup.
fn init_v2_cgroup(init: i32) -> Option<PathBuf> {
    let text = std::fs::read_to_string(format!("/proc/{init}/cgroup")).ok()?;
    let rel = text.lines().find_map(|l| l.strip_prefix("0::"))?;
    let h = cgroups::mode::Host::detect().ok()?.v2?;
    let rel = Path::new(rel).strip_prefix(&h.root).ok()?;
    Some(h.mount_point.join(rel))
}

// ---- the child ----

struct Child<'a> {
    plan: &'a ExecPlan,
    id: &'a str,
    chan: Channel,
    /// pidfd of the container's init, whose namespaces the child joins.
    init: OwnedFd,
    /// The namespaces to join (the PID one is already ours from the clone).
    join: CloneFlags,
    /// Socket to send the pty master on; taken once the master is sent.
    console: std::cell::Cell<Option<OwnedFd>>,
    sigmask: SigSet,
    no_new_keyring: bool,
    /// The seccomp agent's socket (SCMP_ACT_NOTIFY), and the container state it gets.
    seccomp_agent: std::cell::Cell<Option<OwnedFd>>,
    state: String,
}

fn child_main(c: Child) -> ! {
    match child_setup(&c) {
        Ok(exec) => {
            let _ = c.chan.send(&Msg::Ready);
            let err = process::exec(&exec);
            let _ = c.chan.send(&Msg::Failed {
                step: "exec".to_string(),
                error: format!("{err:#}"),
            });
            std::process::exit(127);
        }
        Err((step, err)) => {
            let _ = c.chan.send(&Msg::Failed {
                step: step.to_string(),
                error: format!("{err:#}"),
            });
            std::process::exit(1);
        }
    }
}

fn child_setup(c: &Child) -> StepResult<process::ExecArgs> {
    let p = &c.plan.process;
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
    nix::unistd::setsid()
        .map_err(|e| anyhow!("setsid: {}", errno_text(e)))
        .step("session")?;
    if let Some(sock) = c.console.take() {
        console::setup_in_exec(p, sock).step("console")?;
    }
    if !c.no_new_keyring {
        init::join_keyring(c.id).step("keyring")?;
    }

    // [1] Wait until the parent has put us in the container's cgroup.
    match c.chan.recv().step("wait for parent")? {
        Some(Msg::Proceed { .. }) => {}
        other => return Err(("wait for parent", anyhow!("unexpected {other:?}"))),
    }
    let a = &p.attrs;
    if a.exec_cpus_initial.is_some() || a.exec_cpus_final.is_some() {
        process_attrs::set_cpu_affinity(a.exec_cpus_final.as_deref(), "final")
            .step("cpu affinity")?;
    }
    sys::set_parent_death_signal(0)
        .map_err(anyhow::Error::from)
        .step("pdeathsig")?;
    // No fd of berth's or of its caller beyond stdio and the passed ones reaches the
    // process.
    pass_fds(c.plan.preserve_fds).step("close fds")?;
    // Last, so that after the filter is on only Ready (sendto) and execve remain.
    init::finish_process(p, || match &c.plan.seccomp {
        Some(s) => seccomp::install(s, c.seccomp_agent.take(), &c.state),
        None => Ok(()),
    })
}

fn pass_fds(n: u32) -> Result<()> {
    sys::cloexec_from(3 + n).map_err(|e| anyhow!("close fds: {}", describe_io(&e)))?;
    for fd in 3..3 + n as i32 {
        nix::fcntl::fcntl(
            sys::borrow_fd(fd),
            nix::fcntl::FcntlArg::F_SETFD(nix::fcntl::FdFlag::empty()),
        )
        .map_err(|e| anyhow!("--preserve-fds: fd {fd}: {}", errno_text(e)))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cgroups::mode::Mode;
    use crate::cgroups::Dir;

    fn args(a: &[&str]) -> Vec<String> {
        a.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn cgroup_args_as_runc_reads_them() {
        let m = parse_cgroup_args(&args(&["cpu,memory:sub", "/x"])).unwrap();
        assert_eq!(m.get("cpu").map(String::as_str), Some("sub"));
        assert_eq!(m.get("memory").map(String::as_str), Some("sub"));
        assert_eq!(m.get("").map(String::as_str), Some("/x"));
        for bad in [&["a", "b"][..], &["cpu:a", "cpu:b"], &[":x"], &["cpu,:x"]] {
            assert!(parse_cgroup_args(&args(bad)).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn sub_cgroup_paths_stay_inside() {
        assert_eq!(below("/a/./b").unwrap(), PathBuf::from("a/b"));
        assert_eq!(below("/").unwrap(), PathBuf::new());
        assert!(below("a/../../x").is_err());
    }

    fn fake(mode: Mode) -> (PathBuf, Cgroup) {
        let root =
            std::env::temp_dir().join(format!("berth-exec-cg-{mode:?}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        let mut dirs = Vec::new();
        let mut add = |ctrls: &[&str], name: &str| {
            let p = root.join(name).join("c1");
            std::fs::create_dir_all(p.join("sub")).unwrap();
            dirs.push(Dir {
                controllers: ctrls.iter().map(|c| c.to_string()).collect(),
                path: p,
                made: None,
            });
        };
        if mode != Mode::Unified {
            add(&["cpu", "cpuacct"], "cpu");
            add(&["memory"], "memory");
        }
        if mode != Mode::Legacy {
            add(&[], "unified");
        }
        (root, Cgroup { mode, dirs })
    }

    fn rel(root: &Path, j: &JoinCgroup) -> Vec<String> {
        j.cg.dirs
            .iter()
            .map(|d| d.path.strip_prefix(root).unwrap().display().to_string())
            .collect()
    }

    #[test]
    fn sub_cgroups_per_controller_on_v1() {
        let (root, cg) = fake(Mode::Hybrid);
        let j = sub_cgroups(&cg, &args(&["memory:sub"])).unwrap();
        assert_eq!(rel(&root, &j), ["cpu/c1", "memory/c1/sub", "unified/c1"]);
        assert!(!j.v2_named);
        let j = sub_cgroups(&cg, &args(&["sub"])).unwrap();
        assert_eq!(
            rel(&root, &j),
            ["cpu/c1/sub", "memory/c1/sub", "unified/c1/sub"]
        );
        assert!(j.v2_named);
        assert!(sub_cgroups(&cg, &args(&["cpu:sub", "cpuacct:/"])).is_err());
        assert!(sub_cgroups(&cg, &args(&["pids:sub"])).is_err());
        let e = sub_cgroups(&cg, &args(&["nope"]))
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains("does not exist"), "{e}");
        std::fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn v2_takes_only_plain_paths() {
        let (root, cg) = fake(Mode::Unified);
        let e = sub_cgroups(&cg, &args(&["memory:sub"]))
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains("cgroup v2"), "{e}");
        let j = sub_cgroups(&cg, &[]).unwrap();
        assert_eq!(rel(&root, &j), ["unified/c1"]);
        assert!(!j.v2_named);
        assert!(sub_cgroups(&cg, &args(&["/"])).unwrap().v2_named);
        std::fs::remove_dir_all(&root).unwrap();
    }
}
