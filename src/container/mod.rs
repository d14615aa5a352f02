//! The parent side of a container's life: create (clone the init and drive it to Ready),
//! start (open exec.fifo), and waiting for the init to go away.

pub mod hooks;
pub mod notify;
pub mod state;

use crate::errors::errno_text;
use crate::linux::sys::{self, Forked};
use crate::linux::{console, namespaces};
use crate::spawn::channel::{self, Msg};
use crate::spawn::init::{self, InitArgs};
use crate::spec;
use crate::{cgroups, logging, timefmt};
use anyhow::{anyhow, bail, Context, Result};
use nix::sys::signal::{kill, Signal};
use nix::sys::wait::waitpid;
use nix::unistd::Pid;
use state::{ContainerDir, State};
use std::io::Read;
use std::os::fd::AsFd;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

pub struct CreateOpts<'a> {
    pub root: &'a Path,
    pub id: &'a str,
    pub bundle: &'a Path,
    pub pid_file: Option<&'a Path>,
    pub no_pivot: bool,
    pub no_new_keyring: bool,
    /// Where the init sends a terminal's pty master (`--console-socket`).
    pub console_socket: Option<&'a Path>,
    /// False only for `run` in the foreground, which then receives the master itself.
    pub detach: bool,
    /// `--preserve-fds N`: fds 3..3+N go to the container process.
    pub preserve_fds: u32,
}

/// What `create` leaves for `run`: the container's directory (still locked) and state.
pub struct Created {
    pub dir: ContainerDir,
    pub state: State,
    /// The pty master, when `run` in the foreground drives the container's terminal.
    pub master: Option<std::os::fd::OwnedFd>,
}

/// Undo a half-made container: kill the init, reap it, remove the cgroup and the state
/// directory.
struct Cleanup<'a> {
    dir: Option<&'a Path>,
    pid: Option<i32>,
    cgroup: Option<cgroups::Cgroup>,
}

impl Drop for Cleanup<'_> {
    fn drop(&mut self) {
        if let Some(pid) = self.pid {
            let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
            let _ = waitpid(Pid::from_raw(pid), None);
        }
        if let Some(cg) = &self.cgroup {
            if let Err(e) = remove_cgroup(cg) {
                logging::warn(&format!("create: {e:#}"));
            }
        }
        if let Some(dir) = self.dir {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

pub fn create(o: &CreateOpts) -> Result<Created> {
    let plan = {
        let _t = logging::step("create: load bundle");
        spec::load(o.bundle)?
    };
    // Before the state dir: a bad --console-socket leaves nothing behind.
    let console::Sockets {
        init: console_init,
        receive: console_receive,
    } = console::prepare(plan.process.terminal, o.console_socket, o.detach)?;
    // Also before the state dir: the seccomp agent's socket, for SCMP_ACT_NOTIFY.
    let seccomp_agent = crate::seccomp::connect_agent(plan.seccomp.as_ref())?;
    let mut plan = plan;
    let preserve_fds = passed_fds(o.preserve_fds, &mut plan.process.env);
    let cgroup_plan = {
        let _t = logging::step("create: plan cgroup");
        let nodes: Vec<cgroups::devices::Node> = plan
            .devices
            .iter()
            .filter_map(|d| {
                let kind = match d.kind {
                    libc::S_IFCHR => 'c',
                    libc::S_IFBLK => 'b',
                    _ => return None,
                };
                Some(cgroups::devices::Node {
                    kind,
                    major: d.major,
                    minor: d.minor,
                })
            })
            .collect();
        cgroups::prepare(
            plan.cgroups_path.as_deref(),
            plan.resources.as_ref(),
            &nodes,
            o.id,
        )?
    };
    let dir = {
        let _t = logging::step("create: state directory");
        ContainerDir::create(o.root, o.id)?
    };
    let mut cleanup = Cleanup {
        dir: Some(&dir.path),
        pid: None,
        cgroup: None,
    };
    if notify::host_socket().is_some() {
        notify::prepare(&dir.path, &mut plan)?;
    }
    let plan = plan;
    let fifo = dir.fifo();
    // The init opens the fifo after it became the container's user (maybe in a user
    // namespace), so anyone may write it; the 0700 --root keeps everyone else away.
    nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::empty())
        .map_err(|e| anyhow!("mkfifo {}: {}", fifo.display(), errno_text(e)))?;
    std::fs::set_permissions(&fifo, std::os::unix::fs::PermissionsExt::from_mode(0o622))?;
    let state_dir = nix::fcntl::open(
        &dir.path,
        nix::fcntl::OFlag::O_PATH | nix::fcntl::OFlag::O_DIRECTORY | nix::fcntl::OFlag::O_CLOEXEC,
        nix::sys::stat::Mode::empty(),
    )?;
    let (parent_end, init_end) = channel::pair()?;
    let cgroup = match &cgroup_plan {
        Some(p) => {
            let _t = logging::step("create: cgroup");
            let cg = cgroups::create(p)?;
            cleanup.cgroup = Some(cg.clone());
            Some(cg)
        }
        None => None,
    };
    // Whether the init still has to be moved into its v2 cgroup after the clone.
    let mut v2_after = false;

    let pid = {
        let _t = logging::step("create: clone init");
        // The init is born in its cgroup: no code of the container's runs outside it.
        let birth = match (&cgroup, &cgroup_plan) {
            (Some(cg), Some(p)) => Some(cgroups::place::step_in(cg, &p.host)?),
            _ => None,
        };
        let restore = namespaces::enter_before_clone(&plan)?;
        let flags = namespaces::clone_flags(&plan);
        let forked = match birth.as_ref().and_then(|b| b.v2_fd()) {
            Some(fd) => match sys::clone_process_into(flags, fd) {
                Err(e) if matches!(e.raw_os_error(), Some(libc::ENOSYS | libc::E2BIG)) => {
                    v2_after = true;
                    sys::clone_process(flags)
                }
                r => r,
            },
            None => sys::clone_process(flags),
        }
        .map_err(|e| anyhow!("clone: {}", crate::errors::describe_io(&e)));
        match forked {
            Ok(Forked::Child) => {
                if let Some(b) = birth {
                    b.stay();
                }
                drop(parent_end);
                // The lock must die with `create`, not live on in the container.
                let _ = nix::unistd::close(dir.lock_fd());
                init::main(InitArgs {
                    plan: &plan,
                    id: o.id,
                    chan: init_end,
                    state_dir,
                    no_pivot: o.no_pivot,
                    no_new_keyring: o.no_new_keyring,
                    console: std::cell::Cell::new(console_init),
                    seccomp_agent: std::cell::Cell::new(seccomp_agent),
                    preserve_fds,
                })
            }
            Ok(Forked::Parent(pid)) => {
                cleanup.pid = Some(pid);
                restore.restore()?;
                if let Some(b) = birth {
                    b.step_out()?;
                }
                pid
            }
            Err(e) => {
                let _ = restore.restore();
                return Err(e);
            }
        }
    };
    drop(init_end);
    drop(state_dir);
    // The init holds the console socket now; the receiver sees it close when the init does.
    drop(console_init);
    drop(seccomp_agent);

    {
        let _t = logging::step("create: id maps");
        if plan
            .namespaces
            .creates(nix::sched::CloneFlags::CLONE_NEWUSER)
        {
            namespaces::write_id_maps(pid, &plan)?;
        }
    }
    // The init waits for Proceed, so the limits are in force before it runs anything of
    // the container's; it makes its cgroup namespace after that, rooted in its cgroup.
    if let (Some(cg), Some(p)) = (&cgroup, &cgroup_plan) {
        let _t = logging::step("create: cgroup resources");
        if v2_after {
            cgroups::place::enter_v2(cg, pid)?;
        }
        cgroups::setup(cg, p)?;
    }
    // [1] Proceed, then [2] wait for Ready, running hooks when the init asks [1a].
    let state_for_hooks =
        |pid, status| hooks::state_json(o.id, status, pid, &plan.bundle, &plan.annotations);
    let has_hooks = plan.hooks != Default::default();
    // The seccomp agent gets the state too, from the init.
    let wants_state = has_hooks || plan.seccomp.as_ref().is_some_and(|s| s.listener.is_some());
    parent_end.send(&Msg::Proceed {
        hook_state: wants_state.then(|| state_for_hooks(pid, "creating")),
    })?;
    let mut pid = pid;
    {
        let _t = logging::step("create: init setup");
        loop {
            match parent_end.recv()? {
                Some(Msg::Ready) => break,
                Some(Msg::InitPid(real)) => {
                    // The init forked into a new PID namespace; its child is the real init.
                    let _ = waitpid(Pid::from_raw(pid), None);
                    pid = real;
                    cleanup.pid = Some(real);
                }
                Some(Msg::RunHooks) => {
                    let _t = logging::step("create: prestart and createRuntime hooks");
                    let state = state_for_hooks(pid, "creating");
                    #[allow(deprecated)]
                    let prestart = plan.hooks.prestart().as_deref().unwrap_or(&[]);
                    let create_runtime = plan.hooks.create_runtime().as_deref().unwrap_or(&[]);
                    let res = hooks::run_all("prestart", prestart, &state)
                        .and_then(|()| hooks::run_all("createRuntime", create_runtime, &state));
                    if let Err(e) = res {
                        // The spec continues with delete: poststop hooks run too.
                        let poststop = plan.hooks.poststop().as_deref().unwrap_or(&[]);
                        hooks::run_all_warn("poststop", poststop, &state_for_hooks(pid, "stopped"));
                        return Err(e);
                    }
                    parent_end.send(&Msg::HooksDone)?;
                }
                Some(Msg::Failed { step, error }) => {
                    logging::debug(&format!("create: init failed at step {step}"));
                    bail!("{error}")
                }
                Some(other) => bail!("container init: unexpected message {other:?}"),
                None => bail!("container init exited during {}", exit_reason(pid)),
            }
        }
    }

    // The init sent the master before Ready, so it is waiting on the socket.
    let master = console_receive
        .map(|s| console::receive_master(&s))
        .transpose()?;
    let (_, pid_start) = state::proc_stat(pid).ok_or_else(|| anyhow!("init {pid} vanished"))?;
    let st = State {
        id: o.id.to_string(),
        pid,
        pid_start,
        bundle: plan.bundle.clone(),
        rootfs: plan.rootfs.clone(),
        created: timefmt::rfc3339_nano(std::time::SystemTime::now()),
        annotations: plan.annotations.clone(),
        own_pid_ns: plan
            .namespaces
            .creates(nix::sched::CloneFlags::CLONE_NEWPID),
        hooks: has_hooks.then(|| plan.hooks.clone()),
        cgroup: cleanup.cgroup.clone(),
        resources: plan.resources.clone(),
        no_new_keyring: o.no_new_keyring,
    };
    dir.save(&st)?;
    if let Some(pf) = o.pid_file {
        write_pid_file(pf, pid)?;
    }
    cleanup.pid = None;
    cleanup.dir = None;
    cleanup.cgroup = None;
    drop(cleanup);
    Ok(Created {
        dir,
        state: st,
        master,
    })
}

fn exit_reason(pid: i32) -> String {
    match waitpid(
        Pid::from_raw(pid),
        Some(nix::sys::wait::WaitPidFlag::WNOHANG),
    ) {
        Ok(nix::sys::wait::WaitStatus::Exited(_, c)) => format!("setup (exit status {c})"),
        Ok(nix::sys::wait::WaitStatus::Signaled(_, s, _)) => format!("setup (killed by {s:?})"),
        _ => "setup".to_string(),
    }
}

/// The socket-activation fds systemd passed to us (LISTEN_FDS, when LISTEN_PID is us),
/// which go to the container as runc does.
fn listen_fds() -> u32 {
    match (std::env::var("LISTEN_FDS"), std::env::var("LISTEN_PID")) {
        (Ok(n), Ok(p)) if p.parse() == Ok(std::process::id()) => n.parse::<u32>().unwrap_or(0),
        _ => 0,
    }
}

/// How many fds from 3 on the container gets: LISTEN_FDS plus `--preserve-fds`.
/// Also tells the container process about the socket-activation ones.
pub fn passed_fds(preserve: u32, env: &mut Vec<String>) -> u32 {
    let listen = listen_fds();
    if listen > 0 {
        env.retain(|e| !e.starts_with("LISTEN_FDS=") && !e.starts_with("LISTEN_PID="));
        env.push(format!("LISTEN_FDS={listen}"));
        env.push("LISTEN_PID=1".to_string());
    }
    listen + preserve
}

/// Check, before berth opens any file of its own, that every fd to be passed is open:
/// otherwise one of our fds would take its number and leak into the container.
pub fn check_passed_fds(preserve: u32) -> Result<()> {
    for fd in 3..3 + listen_fds() + preserve {
        if nix::fcntl::fcntl(sys::borrow_fd(fd as i32), nix::fcntl::FcntlArg::F_GETFD).is_err() {
            bail!("--preserve-fds {preserve}: fd {fd} is not open");
        }
    }
    Ok(())
}

/// Write the pid file atomically (temp file + rename), as runc does.
pub fn write_pid_file(path: &Path, pid: i32) -> Result<()> {
    let path = if path.is_absolute() {
        path.to_path_buf()
    } else {
        std::env::current_dir()?.join(path)
    };
    let name = path
        .file_name()
        .ok_or_else(|| anyhow!("--pid-file: {} is not a file name", path.display()))?;
    let tmp: PathBuf = path.with_file_name(format!(".{}.tmp", name.to_string_lossy()));
    std::fs::write(&tmp, pid.to_string())
        .with_context(|| format!("--pid-file: write {}", tmp.display()))?;
    std::fs::rename(&tmp, &path)
        .with_context(|| format!("--pid-file: rename to {}", path.display()))?;
    Ok(())
}

/// Release a created container's init: open exec.fifo, read its byte, remove the fifo.
pub fn start(dir: &ContainerDir, st: &State) -> Result<()> {
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
    let deadline = Instant::now() + Duration::from_secs(30);
    // Phase 1 waits for the init's byte (it has run the startContainer hooks);
    // phase 2 for end-of-file (its execve closed the fifo).
    let mut got_byte = false;
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
        let mut b = [0u8; 1];
        match f.read(&mut b) {
            Ok(1) => got_byte = true,
            Ok(_) if got_byte => break,
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
            Err(e) => return Err(e).context("read exec.fifo"),
        }
        if init_exited && !got_byte {
            bail!("cannot start a container whose init has exited");
        }
    }
    std::fs::remove_file(&fifo).with_context(|| format!("remove {}", fifo.display()))?;
    hooks::run_all_warn("poststart", st.poststart(), &st.hook_state("running"));
    if let Some(sock) = notify {
        notify::relay_ready(&sock, st.pid, st.pid_start)?;
    }
    Ok(())
}

/// After a container is deleted: its poststop hooks, whose failures are only logged.
pub fn poststop(st: &State) {
    hooks::run_all_warn("poststop", st.poststop(), &st.hook_state("stopped"));
}

/// Wait until the container's init is gone (or a zombie), up to `timeout`.
pub fn wait_gone(st: &State, timeout: Duration) -> bool {
    let deadline = Instant::now() + timeout;
    if let Ok(pidfd) = sys::pidfd_open(st.pid) {
        if state::process_alive(st.pid, st.pid_start) {
            let mut fds = [nix::poll::PollFd::new(
                pidfd.as_fd(),
                nix::poll::PollFlags::POLLIN,
            )];
            let ms = u16::try_from(timeout.as_millis()).unwrap_or(u16::MAX);
            let _ = nix::poll::poll(&mut fds, nix::poll::PollTimeout::from(ms));
        }
    }
    while Instant::now() < deadline {
        if !state::process_alive(st.pid, st.pid_start) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    !state::process_alive(st.pid, st.pid_start)
}

/// Kill whatever is left in the container's cgroup and remove it (delete, run, a failed
/// create).
pub fn remove_cgroup(cg: &cgroups::Cgroup) -> Result<()> {
    if !cgroups::kill::pids(cg).is_empty() {
        cgroups::kill::signal_all(cg, libc::SIGKILL)?;
        if !cgroups::kill::wait_empty(cg, Duration::from_secs(10)) {
            bail!("processes of the container survived SIGKILL");
        }
    }
    cgroups::remove::remove(cg)
}
