//! A container's life as one API: `create` makes one, `Container::open` finds one by id
//! (under its lock), and its methods start, signal, pause, resume, update, exec into and
//! finally `destroy` it. The command layer only turns flags into these calls.

pub mod create;
pub mod exec;
pub mod notify;
pub mod pidfile;
pub mod start;
pub mod state;
pub mod teardown;

pub use create::{create, CreateOpts, Created};
pub use exec::{ExecOpts, Launched};

use crate::cgroups::{self, Cgroup, Layout};
use crate::errors::{errno_text, Error, Kind};
use crate::spawn::hooks;
use anyhow::{anyhow, Result};
use oci_spec::runtime::LinuxResources;
use state::{ContainerDir, State, Status};
use std::path::Path;
use teardown::Remains;

/// A container found by id, its state directory locked for as long as this lives: other
/// commands on the same id wait.
pub struct Container {
    dir: ContainerDir,
    state: State,
}

impl Container {
    /// Find the container `id` under `root` and lock it.
    pub fn open(root: &Path, id: &str) -> Result<Container> {
        let dir = ContainerDir::open(root, id)?;
        let state = dir.load()?;
        Ok(Container { dir, state })
    }

    pub(crate) fn from_parts(dir: ContainerDir, state: State) -> Container {
        Container { dir, state }
    }

    pub fn id(&self) -> &str {
        &self.state.id
    }

    pub fn state(&self) -> &State {
        &self.state
    }

    pub fn path(&self) -> &Path {
        &self.dir.path
    }

    /// The status, read from the live init (pid reuse guarded by its start time).
    pub fn status(&self) -> Status {
        self.dir.status(&self.state)
    }

    /// Fail with `err` unless the status is one of `allowed`.
    pub fn require(&self, allowed: &[Status], err: impl FnOnce(Status) -> Error) -> Result<Status> {
        let s = self.status();
        if allowed.contains(&s) {
            Ok(s)
        } else {
            Err(err(s).into())
        }
    }

    pub fn cgroup(&self) -> Result<&Cgroup> {
        self.state.cgroup.as_ref().ok_or_else(|| {
            Error::new(
                Kind::System,
                format!("container {:?} has no cgroup", self.id()),
            )
            .into()
        })
    }

    /// Release a created container's init to exec the process.
    pub fn start(&self) -> Result<()> {
        let msg = |s| match s {
            Status::Stopped => "cannot start a container that has stopped",
            Status::Running => "cannot start an already running container",
            _ => "cannot start a paused container",
        };
        self.require(&[Status::Created], |s| Error::new(Kind::WrongState, msg(s)))?;
        start::release(&self.dir, &self.state)
    }

    /// Send `sig` to the init, or with `all` to every process of the container. As runc:
    /// a stopped container is "not running", except for `all`, which signals whatever is
    /// left (nothing, usually) and succeeds; signal 0 only checks that the init lives.
    pub fn signal(&self, sig: i32, all: bool) -> Result<()> {
        let status = self.status();
        if status == Status::Stopped && !all {
            return Err(Error::not_running(self.id(), status.as_str()).into());
        }
        let st = &self.state;
        if all {
            return teardown::signal_all(st.cgroup.as_ref(), st.pid, st.own_pid_ns, sig);
        }
        send(st.pid, sig)?;
        // A frozen v1 process only dies once thawed; runc thaws for SIGKILL too.
        if status == Status::Paused && sig == libc::SIGKILL {
            if let Some(cg) = &st.cgroup {
                cgroups::freezer::thaw(cg)?;
            }
        }
        Ok(())
    }

    pub fn pause(&self) -> Result<()> {
        self.require(&[Status::Running, Status::Created], |s| {
            Error::not_running(self.id(), s.as_str())
        })?;
        cgroups::freezer::freeze(self.cgroup()?)
    }

    pub fn resume(&self) -> Result<()> {
        self.require(&[Status::Paused], |_| {
            Error::new(
                Kind::WrongState,
                format!("container not paused ({:?} is not paused)", self.id()),
            )
        })?;
        cgroups::freezer::thaw(self.cgroup()?)
    }

    /// Every process of the container.
    pub fn pids(&self) -> Vec<i32> {
        match &self.state.cgroup {
            Some(cg) => cgroups::kill::pids(cg),
            None => teardown::pids_without_cgroup(self.state.pid, self.state.own_pid_ns),
        }
    }

    /// Apply `delta` to the container's cgroup and remember `merged` as its resources.
    pub fn update(&mut self, delta: &LinuxResources, merged: LinuxResources) -> Result<()> {
        self.require(&[Status::Created, Status::Running, Status::Paused], |s| {
            Error::not_running(self.id(), s.as_str())
        })?;
        let cg = self.cgroup()?.clone();
        let cur = cgroups::v1::Current {
            memory_limit: cg
                .v1("memory")
                .and_then(|d| std::fs::read_to_string(d.join("memory.limit_in_bytes")).ok())
                .and_then(|s| s.trim().parse().ok()),
        };
        let writes = cgroups::resources::plan(delta, &Layout::from_cgroup(&cg), &cur)?;
        cgroups::systemd::update(&cg, delta)?;
        cgroups::apply(&cg, &writes)?;
        self.state.resources = Some(merged);
        self.dir.save(&self.state)
    }

    /// Remove the container: kill what runs (`force`, or a created container, which
    /// never ran code of the user's), its cgroup, its state; then the poststop hooks.
    pub fn destroy(self, force: bool) -> Result<()> {
        match self.status() {
            Status::Stopped | Status::Created => {}
            Status::Running | Status::Paused if force => {}
            s => {
                return Err(Error::new(
                    Kind::WrongState,
                    format!(
                        "cannot delete container {:?} that is not stopped: {}",
                        self.id(),
                        s.as_str()
                    ),
                )
                .into())
            }
        }
        Remains::of(&self.state, &self.dir.path).destroy()?;
        let st = &self.state;
        hooks::run_all_warn("poststop", st.poststop(), &st.hook_state("stopped"));
        Ok(())
    }

    /// Let other commands on this container go on; what was read stays valid.
    pub fn unlock(self) -> State {
        self.state
    }
}

/// Remove a container whose state.json is missing or unreadable: the cgroup `create`
/// recorded before making it, every process in it (the init included: it is born there),
/// and the state directory. Without a recorded cgroup nothing else was made, or the
/// host has no cgroups.
pub fn destroy_unrecorded(dir: ContainerDir) -> Result<()> {
    let cgroup = state::read_cgroup(&dir.path);
    let r = Remains {
        dir: &dir.path,
        cgroup: cgroup.as_ref(),
        init: None,
        own_pid_ns: false,
    };
    r.destroy()
}

/// Read a container's state without its lock: `state` and `list` must not wait on a
/// `create` in progress, and state.json is replaced atomically.
pub fn peek(root: &Path, id: &str) -> Result<(State, Status)> {
    state::validate_id(id)?;
    let dir = root.join(id);
    if !dir.is_dir() {
        return Err(Error::not_found(id).into());
    }
    let Some(st) = state::read_state(&dir)? else {
        return Err(anyhow!("container {id:?} is still being created"));
    };
    let status = state::status_of(&dir, &st);
    Ok((st, status))
}

fn send(pid: i32, sig: i32) -> Result<()> {
    let r = nix::errno::Errno::result(crate::linux::sys::kill_raw(pid, sig));
    r.map(drop)
        .map_err(|e| anyhow!("kill {pid}: {}", errno_text(e)))
}

#[cfg(test)]
mod proptests;
