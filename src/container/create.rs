//! `create`: check everything, make the state directory and the cgroup, clone the init
//! into them and drive it to Ready (see `spawn::channel` for the protocol), then record
//! the container in state.json. Any failure tears down what was made.

use super::notify;
use super::state::{ContainerDir, State};
use super::teardown::Remains;
use super::{pidfile, Container};
use crate::cgroups::{self, Cgroup};
use crate::errors::errno_text;
use crate::linux::rootfs::trees;
use crate::linux::{console, namespaces, procfs, selfexe, trampoline};
use crate::spawn::channel::{self, Channel, Msg};
use crate::spawn::init::{self, InitArgs};
use crate::spawn::parent::{self, Guard};
use crate::spawn::{fds, hooks};
use crate::spec::{self, Plan};
use crate::{logging, seccomp, timefmt};
use anyhow::{anyhow, Result};
use nix::sched::CloneFlags;
use std::cell::Cell;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::path::Path;

pub struct CreateOpts<'a> {
    pub root: &'a Path,
    /// Rootless mode (`--rootless`): the container may go without a cgroup.
    pub rootless: bool,
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
    /// `--systemd-cgroup`: the cgroup is a systemd unit.
    pub systemd_cgroup: bool,
}

/// What `create` leaves for `run`: the container (still locked), and the pty master when
/// `run` in the foreground drives the container's terminal.
pub struct Created {
    pub container: Container,
    pub master: Option<OwnedFd>,
}

/// Everything worked out and checked before anything is made on the host, so that bad
/// input leaves nothing behind.
struct Prepared {
    plan: Plan,
    console: console::Sockets,
    /// The seccomp agent's socket, for SCMP_ACT_NOTIFY.
    seccomp_agent: Option<OwnedFd>,
    preserve_fds: u32,
    cgroup: Option<cgroups::Prepared>,
    /// The init's final execve goes through this (see `linux::trampoline`).
    trampoline: Option<OwnedFd>,
}

pub fn create(o: &CreateOpts) -> Result<Created> {
    let mut p = prepare(o)?;
    let dir = {
        let _t = logging::step("create: state directory");
        ContainerDir::create(o.root, o.id)?
    };
    let mut undo = Undo {
        dir: &dir.path,
        cgroup: None,
        armed: true,
    };
    if notify::host_socket().is_some() {
        notify::prepare(&dir.path, &mut p.plan)?;
    }
    make_fifo(&dir)?;
    if p.trampoline.is_some() {
        std::fs::write(dir.trampoline_mark(), b"").map_err(|e| {
            anyhow!(
                "{}: {}",
                dir.trampoline_mark().display(),
                crate::errors::describe_io(&e)
            )
        })?;
    }
    let cgroup = match &p.cgroup {
        Some(cp) => {
            let _t = logging::step("create: cgroup");
            let planned = cgroups::planned(cp);
            dir.save_cgroup(&planned)?;
            let cg = cgroups::create(cp, &planned).map_err(|e| match o.rootless {
                // runc's words for a cgroup a rootless container may not have.
                true => e.context("unable to apply cgroup configuration"),
                false => e,
            })?;
            if cg != planned {
                // Another create made a shared parent at the same moment.
                dir.save_cgroup(&cg)?;
            }
            undo.cgroup = Some(cg.clone());
            check_cgroup(&cg)?;
            Some(cg)
        }
        None => None,
    };
    let mut guard = Guard::default();
    let (pid, chan, cgroup) = spawn_init(o, &mut p, &dir, cgroup, &mut undo, &mut guard)?;
    // The init sent the master before Ready, so it is waiting on the socket.
    let master = p
        .console
        .receive
        .take()
        .map(|s| console::receive_master(&s))
        .transpose()?;
    let st = record(o, &p.plan, &dir, pid, cgroup)?;
    guard.release();
    undo.disarm();
    // [3] Until this arrives, the init exits should we die (it sees end-of-file).
    if let Err(e) = chan.send(&Msg::Recorded) {
        logging::debug(&format!("create: hand over to the init: {e:#}"));
    }
    Ok(Created {
        container: Container::from_parts(dir, st),
        master,
    })
}

fn prepare(o: &CreateOpts) -> Result<Prepared> {
    let mut plan = {
        let _t = logging::step("create: load bundle");
        spec::load(o.bundle)?
    };
    let trampoline = protect_binary(&plan, o.preserve_fds)?;
    let console = console::prepare(plan.process.terminal, o.console_socket, o.detach)?;
    let seccomp_agent = seccomp::connect_agent(plan.seccomp.as_ref())?;
    let preserve_fds = fds::passed_fds(o.preserve_fds, &mut plan.process.env);
    let cgroup = {
        let _t = logging::step("create: plan cgroup");
        let res = plan.resources.as_ref();
        let cg = cgroups::prepare(plan.cgroups_path.as_deref(), res, o.id, o.systemd_cgroup)?;
        match cg {
            Some(cg) if o.rootless => {
                let own_pid_ns = plan.namespaces.creates(CloneFlags::CLONE_NEWPID);
                cgroups::rootless::plan(cg, own_pid_ns, plan.cgroups_path.is_some())?
            }
            cg => cg,
        }
    };
    Ok(Prepared {
        plan,
        console,
        seccomp_agent,
        preserve_fds,
        cgroup,
        trampoline,
    })
}

/// Keep the container from reaching our binary (CVE-2019-5736), before anything is made
/// or connected: nothing at all when we already run from a read-only copy; the
/// trampoline, when the config leaves the init out of the container's reach; else a
/// re-exec from a read-only copy, which starts this `create` over.
fn protect_binary(plan: &Plan, preserve_fds: u32) -> Result<Option<OwnedFd>> {
    if selfexe::protected()? {
        return Ok(None);
    }
    if trampoline::suits(plan) {
        if let Some(fd) = trampoline::make(None) {
            return Ok(Some(fd));
        }
    }
    // The passed fds were made close-on-exec when berth started: they must survive.
    fds::keep_passed_across_exec(preserve_fds)?;
    selfexe::reexec_readonly()?;
    Ok(None)
}

/// A cgroup made by someone else may hold processes (a second container sharing it: a
/// warning, as runc gives) or be frozen (the init would hang there before Ready: an
/// error, in runc's words).
fn check_cgroup(cg: &Cgroup) -> Result<()> {
    let cg = &cg.own();
    if cgroups::freezer::is_frozen(cg) {
        return Err(crate::errors::Error::config(
            "linux.cgroupsPath",
            "container's cgroup unexpectedly frozen",
        )
        .into());
    }
    let pids = cgroups::kill::pids(cg);
    if !pids.is_empty() {
        logging::warn(&format!(
            "container's cgroup is not empty: {} process(es) found",
            pids.len()
        ));
    }
    Ok(())
}

/// exec.fifo, which `start` opens to release the init.
fn make_fifo(dir: &ContainerDir) -> Result<()> {
    let fifo = dir.fifo();
    nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::empty())
        .map_err(|e| anyhow!("mkfifo {}: {}", fifo.display(), errno_text(e)))?;
    // The init opens the fifo after it became the container's user (maybe in a user
    // namespace), so anyone may write it; the 0700 --root keeps everyone else away.
    std::fs::set_permissions(&fifo, std::os::unix::fs::PermissionsExt::from_mode(0o622))?;
    Ok(())
}

/// Clone the init and drive it to Ready; the guard holds it until the caller is done.
/// Returns its pid and the channel, for the hand-over once state.json is written.
fn spawn_init(
    o: &CreateOpts,
    p: &mut Prepared,
    dir: &ContainerDir,
    mut cgroup: Option<Cgroup>,
    undo: &mut Undo,
    guard: &mut Guard,
) -> Result<(i32, Channel, Option<Cgroup>)> {
    let (chan, cloned) = clone_init(o, p, dir, cgroup.as_ref())?;
    guard.watch(cloned.pid);
    let plan = &p.plan;
    {
        let _t = logging::step("create: id maps");
        if plan.namespaces.creates(CloneFlags::CLONE_NEWUSER) {
            namespaces::write_id_maps(cloned.pid, plan)?;
        }
    }
    // The init waits for Proceed, so the limits written to files are in force before it
    // runs anything of the container's; it makes its cgroup namespace after that, rooted
    // in its cgroup.
    if let (Some(cg), Some(sd)) = (
        cgroup.as_mut(),
        p.cgroup.as_ref().and_then(|c| c.systemd.as_ref()),
    ) {
        let _t = logging::step("create: systemd unit");
        let started = cgroups::systemd::start(cg, sd, cloned.pid);
        // Recorded either way: what was started is stopped should anything fail.
        undo.cgroup = Some(cg.clone());
        dir.save_cgroup(cg)?;
        started?;
    }
    let mut devices_later = false;
    if let (Some(cg), Some(cp)) = (cgroup.as_ref(), &p.cgroup) {
        let _t = logging::step("create: cgroup resources");
        if cloned.move_into_v2 {
            cgroups::place::enter_v2(cg, cloned.pid)?;
        }
        cgroups::setup(cg, cp)?;
        devices_later = cgroups::has_device_program(cg, cp) && !init_runs_hooks(plan);
        if !devices_later {
            cgroups::setup_devices(cg, cp)?;
        }
    }
    // The device program, when there is one, loads while the init makes its mounts: it
    // rules what the container's processes may open, and none runs before `start`. The
    // init only creates device nodes meanwhile, which every rule set allows (mknod is in
    // runc's default rules, which come last and win), and the parent runs hooks and
    // records the container only after this, in `drive_init`.
    chan.send(&Msg::Proceed {
        host_pid: cloned.pid,
    })?;
    if let (true, Some(cg), Some(cp)) = (devices_later, cgroup.as_ref(), &p.cgroup) {
        let _t = logging::step("create: device program");
        cgroups::setup_devices(cg, cp)?;
    }
    let pid = drive_init(o, plan, &chan, cloned.pid, guard)?;
    Ok((pid, chan, cgroup))
}

/// Whether the init runs hooks of its own (createContainer) without asking the parent
/// first: then the device program must be in force before it goes on, as runc's is.
fn init_runs_hooks(plan: &Plan) -> bool {
    plan.hooks
        .create_container()
        .as_ref()
        .is_some_and(|h| !h.is_empty())
}

/// [1b] The bind sources the init cannot open itself, opened as host root in its mount
/// namespace, now that it has made it (see `linux::rootfs::trees`).
fn send_mount_trees(plan: &Plan, chan: &Channel, pid: i32) -> Result<()> {
    let _t = logging::step("create: bind sources");
    let userns = || namespaces::container_userns(plan, pid);
    let opened = namespaces::in_mount_ns_of(pid, || trees::open_for_init(plan, &userns))?;
    for (index, fd) in opened {
        chan.send_with_fd(&Msg::MountTree { index }, fd.as_fd())?;
    }
    Ok(())
}

/// [2] Wait for Ready (Proceed [1] is sent), running hooks when the init asks [1a].
fn drive_init(
    o: &CreateOpts,
    plan: &Plan,
    chan: &Channel,
    pid: i32,
    guard: &mut Guard,
) -> Result<i32> {
    let state_at =
        |pid, status| hooks::state_json(o.id, status, pid, &plan.bundle, &plan.annotations);
    let _t = logging::step("create: init setup");
    let mut pid = pid;
    parent::wait_ready(
        chan,
        &mut pid,
        guard,
        "container init",
        |req, pid| match req {
            parent::Request::MountTrees => send_mount_trees(plan, chan, pid),
            parent::Request::Hooks => {
                let _t = logging::step("create: prestart and createRuntime hooks");
                let state = state_at(pid, "creating");
                #[allow(deprecated)]
                let prestart = plan.hooks.prestart().as_deref().unwrap_or(&[]);
                let create_runtime = plan.hooks.create_runtime().as_deref().unwrap_or(&[]);
                let res = hooks::run_all("prestart", prestart, &state)
                    .and_then(|()| hooks::run_all("createRuntime", create_runtime, &state));
                if res.is_err() {
                    // The spec goes on as for delete: poststop hooks run too.
                    let poststop = plan.hooks.poststop().as_deref().unwrap_or(&[]);
                    hooks::run_all_warn("poststop", poststop, &state_at(pid, "stopped"));
                }
                res
            }
        },
    )?;
    Ok(pid)
}

/// Clone the init, born in its cgroup and in the namespaces the config joins by path.
fn clone_init(
    o: &CreateOpts,
    p: &mut Prepared,
    dir: &ContainerDir,
    cgroup: Option<&Cgroup>,
) -> Result<(Channel, parent::Cloned)> {
    let _t = logging::step("create: clone init");
    // O_PATH fd of the state directory: the init opens exec.fifo through it after
    // pivot_root, when the host path is out of reach.
    let state_dir = nix::fcntl::open(
        &dir.path,
        nix::fcntl::OFlag::O_PATH | nix::fcntl::OFlag::O_DIRECTORY | nix::fcntl::OFlag::O_CLOEXEC,
        nix::sys::stat::Mode::empty(),
    )?;
    let (chan, init_end) = channel::pair()?;
    // The init is born in its cgroup: no code of the container's runs outside it.
    let mut birth = match (cgroup, &p.cgroup) {
        (Some(cg), Some(cp)) => Some(cgroups::place::step_in(cg, &cp.host)?),
        _ => None,
    };
    let console = p.console.init.take();
    let seccomp_agent = p.seccomp_agent.take();
    let plan = &p.plan;
    let restore = namespaces::enter_before_clone(plan)?;
    let args = InitArgs {
        plan,
        id: o.id,
        chan: init_end,
        trampoline: p.trampoline.as_ref().map(|fd| fd.as_raw_fd()),
        state_dir: Cell::new(Some(state_dir)),
        no_pivot: o.no_pivot,
        no_new_keyring: o.no_new_keyring,
        console: Cell::new(console),
        seccomp_agent: Cell::new(seccomp_agent),
        // A v2 directory that was there before, the init joins itself, first thing
        // (see cgroups::place::join_v2); into one berth made it is born.
        cgroup_v2: Cell::new(match cgroup.is_some_and(existing_v2_dir) {
            true => birth.as_mut().and_then(|b| b.take_v2()),
            false => None,
        }),
        preserve_fds: p.preserve_fds,
        dumpable_until_mapped: !nix::unistd::geteuid().is_root()
            && plan.namespaces.creates(CloneFlags::CLONE_NEWUSER),
    };
    let (chan_fd, lock_fd) = (chan.as_raw_fd(), dir.lock_fd());
    let v2 = birth.as_ref().and_then(|b| b.v2_fd());
    let flags = namespaces::clone_flags(plan);
    // In the parent, `args` is dropped with the closure: our copies of the init's channel
    // end, state dir, console and agent sockets close, so the receivers see the init's.
    let cloned = parent::clone_child(
        flags,
        v2,
        || None,
        move || {
            // Neither our channel end nor the lock may live on in the container.
            let _ = nix::unistd::close(chan_fd);
            let _ = nix::unistd::close(lock_fd);
            init::main(args)
        },
    );
    let back = restore.restore();
    let child = cloned.as_ref().ok().map(|c| c.pid);
    let out = birth.map_or(Ok(()), |b| b.step_out(child));
    let cloned = cloned.map_err(|e| anyhow!("clone: {}", crate::errors::describe_io(&e)))?;
    back?;
    out?;
    Ok((chan, cloned))
}

/// Whether the container's v2 directory was there before `create` (not made by berth,
/// nor by systemd for a new unit): it may have been killed through cgroup.kill once.
fn existing_v2_dir(cg: &Cgroup) -> bool {
    cg.dirs
        .iter()
        .any(|d| d.controllers.is_empty() && d.made.is_none() && !d.systemd)
}

/// Write state.json (the container exists from now on) and the pid file.
fn record(
    o: &CreateOpts,
    plan: &Plan,
    dir: &ContainerDir,
    pid: i32,
    cgroup: Option<Cgroup>,
) -> Result<State> {
    let pid_start = procfs::stat(pid)
        .ok_or_else(|| anyhow!("init {pid} vanished"))?
        .start_time;
    let has_hooks = plan.hooks != Default::default();
    let st = State {
        id: o.id.to_string(),
        pid,
        pid_start,
        bundle: plan.bundle.clone(),
        rootfs: plan.rootfs.clone(),
        created: timefmt::rfc3339_nano(std::time::SystemTime::now()),
        annotations: plan.annotations.clone(),
        own_pid_ns: plan.namespaces.creates(CloneFlags::CLONE_NEWPID),
        hooks: has_hooks.then(|| plan.hooks.clone()),
        cgroup,
        resources: plan.resources.clone(),
        no_new_keyring: o.no_new_keyring,
    };
    dir.save(&st)?;
    if let Some(pf) = o.pid_file {
        pidfile::write(pf, pid)?;
    }
    Ok(st)
}

/// A half-made container: on drop (an early return), its cgroup and state directory go
/// the way every container goes (`Remains::destroy`). The init is the guard's to kill.
struct Undo<'a> {
    dir: &'a Path,
    cgroup: Option<Cgroup>,
    armed: bool,
}

impl Undo<'_> {
    fn disarm(mut self) {
        self.armed = false;
    }
}

impl Drop for Undo<'_> {
    fn drop(&mut self) {
        if !self.armed {
            return;
        }
        let r = Remains {
            dir: self.dir,
            cgroup: self.cgroup.as_ref(),
            init: None,
            own_pid_ns: false,
        };
        if let Err(e) = r.destroy() {
            logging::warn(&format!("create: clean up: {e:#}"));
        }
    }
}
