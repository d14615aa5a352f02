//! The parent side of a container's life: create (clone the init and drive it to Ready),
//! start (open exec.fifo), and waiting for the init to go away.

use crate::bundle;
use crate::channel::{self, Msg};
use crate::errors::errno_text;
use crate::init::{self, InitArgs};
use crate::state::{self, ContainerDir, State};
use crate::sys::{self, Forked};
use crate::{logging, namespaces, timefmt};
use anyhow::{anyhow, bail, Context, Result};
use nix::sys::signal::{kill, Signal};
use nix::sys::wait::waitpid;
use nix::unistd::Pid;
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
}

/// What `create` leaves for `run`: the container's directory (still locked) and state.
pub struct Created {
    pub dir: ContainerDir,
    pub state: State,
}

/// Undo a half-made container: kill the init, reap it, remove the state directory.
struct Cleanup<'a> {
    dir: Option<&'a Path>,
    pid: Option<i32>,
}

impl Drop for Cleanup<'_> {
    fn drop(&mut self) {
        if let Some(pid) = self.pid {
            let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
            let _ = waitpid(Pid::from_raw(pid), None);
        }
        if let Some(dir) = self.dir {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

pub fn create(o: &CreateOpts) -> Result<Created> {
    let plan = {
        let _t = logging::step("create: load bundle");
        bundle::load(o.bundle)?
    };
    let dir = {
        let _t = logging::step("create: state directory");
        ContainerDir::create(o.root, o.id)?
    };
    let mut cleanup = Cleanup {
        dir: Some(&dir.path),
        pid: None,
    };
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

    let pid = {
        let _t = logging::step("create: clone init");
        let restore = namespaces::enter_before_clone(&plan)?;
        let forked = sys::clone_process(namespaces::clone_flags(&plan))
            .map_err(|e| anyhow!("clone: {}", crate::errors::describe_io(&e)));
        match forked {
            Ok(Forked::Child) => {
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
                })
            }
            Ok(Forked::Parent(pid)) => {
                cleanup.pid = Some(pid);
                restore.restore()?;
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

    {
        let _t = logging::step("create: id maps");
        if plan
            .namespaces
            .creates(nix::sched::CloneFlags::CLONE_NEWUSER)
        {
            namespaces::write_id_maps(pid, &plan)?;
        }
    }
    // [1] Proceed, then [2] wait for Ready.
    parent_end.send(&Msg::Proceed)?;
    let mut pid = pid;
    {
        let _t = logging::step("create: init setup");
        let mut msg = parent_end.recv()?;
        if let Some(Msg::InitPid(real)) = msg {
            // The init forked into a new PID namespace; its child is the real init.
            let _ = waitpid(Pid::from_raw(pid), None);
            pid = real;
            cleanup.pid = Some(real);
            msg = parent_end.recv()?;
        }
        match msg {
            Some(Msg::Ready) => {}
            Some(Msg::Failed { step, error }) => {
                logging::debug(&format!("create: init failed at step {step}"));
                bail!("{error}")
            }
            Some(other) => bail!("container init: unexpected message {other:?}"),
            None => bail!("container init exited during {}", exit_reason(pid)),
        }
    }

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
    };
    dir.save(&st)?;
    if let Some(pf) = o.pid_file {
        write_pid_file(pf, pid)?;
    }
    cleanup.pid = None;
    cleanup.dir = None;
    drop(cleanup);
    Ok(Created { dir, state: st })
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
    let fifo = dir.fifo();
    // Non-blocking open so a dead init cannot hang us; then wait for its byte or its exit.
    let mut f = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_CLOEXEC)
        .open(&fifo)
        .with_context(|| format!("open {}", fifo.display()))?;
    let pidfd = sys::pidfd_open(st.pid).map_err(|e| {
        anyhow!(
            "container init {} is gone: {}",
            st.pid,
            crate::errors::describe_io(&e)
        )
    })?;
    let deadline = Instant::now() + Duration::from_secs(30);
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
            Ok(1) => break,
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
            Err(e) => return Err(e).context("read exec.fifo"),
        }
        if init_exited {
            bail!("cannot start a container whose init has exited");
        }
    }
    std::fs::remove_file(&fifo).with_context(|| format!("remove {}", fifo.display()))?;
    Ok(())
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
