//! One small file per verb; `dispatch` maps the parsed command line onto them.

mod create;
mod criu;
mod delete;
mod events;
mod exec;
mod features;
mod kill;
mod list;
mod pause;
mod ps;
mod resume;
mod run;
mod spec;
mod start;
mod state;
mod update;

use crate::cli::{Cli, Command};
use crate::errors::Error;
use crate::linux::rootless;
use crate::spawn::fds;
use anyhow::Result;

/// What must happen before berth opens any file of its own: check that the fds to pass
/// are open (or one of ours could take a number and leak into the container).
/// `create`, `run` and `exec` protect the binary (CVE-2019-5736) once they have read the
/// config: a re-exec from a read-only copy of ourselves or linux::trampoline. Then every fd the caller gave us beyond stdio becomes
/// close-on-exec: hooks and other programs berth runs must not inherit them (a
/// container's children still get the passed ones, which only the child un-marks).
pub fn before_logging(cmd: &Command) -> Result<()> {
    // `create` (and `run`) decide once they have read the config: see
    // container::create's protect_binary.
    let r = match cmd {
        Command::Create(a) => fds::check_passed_fds(a.common.preserve_fds),
        Command::Run(a) => fds::check_passed_fds(a.common.preserve_fds),
        Command::Exec(a) => fds::check_passed_fds(a.preserve_fds),
        _ => Ok(()),
    };
    let r = r.and_then(|()| fds::close_on_exec_from_3());
    match cmd {
        Command::Exec(_) => r.map_err(Error::exec),
        _ => r,
    }
}

/// Run the command; the value is the process exit code.
pub fn dispatch(cli: &Cli, cmd: &Command) -> Result<i32> {
    let root = cli.root.clone().unwrap_or_else(rootless::default_root);
    let root = root.as_path();
    let rootless = || rootless::parse_flag(cli.rootless.as_deref()).map(rootless::decide);
    match cmd {
        Command::Create(a) => create::run(root, rootless()?, &a.common, cli.systemd_cgroup)
            .map(|_| 0)
            .map_err(|e| verb_failed(e, "create")),
        Command::Start(a) => start::run(root, &a.id).map(|_| 0),
        Command::State(a) => state::run(root, &a.id).map(|_| 0),
        Command::Kill(a) => kill::run(root, a).map(|_| 0),
        Command::Delete(a) => delete::run(root, a).map(|_| 0),
        Command::Run(a) => {
            run::run(root, rootless()?, a, cli.systemd_cgroup).map_err(|e| verb_failed(e, "run"))
        }
        Command::List(a) => list::run(root, a).map(|_| 0),
        // runc's exec fails with 255, so a caller can tell it from the process's code.
        Command::Exec(a) => exec::run(root, a).map_err(Error::exec),
        Command::Pause(a) => pause::run(root, &a.id).map(|_| 0),
        Command::Resume(a) => resume::run(root, &a.id).map(|_| 0),
        Command::Update(a) => update::run(root, a).map(|_| 0),
        Command::Ps(a) => ps::run(root, a).map(|_| 0),
        Command::Events(a) => events::run(root, a).map(|_| 0),
        Command::Features => features::run().map(|_| 0),
        Command::Spec(a) => spec::run(a.bundle.as_deref(), a.rootless.as_deref()).map(|_| 0),
        Command::Checkpoint(a) => criu::checkpoint(&a.id).map(|_| 0),
        Command::Restore(a) => criu::restore(&a.id).map(|_| 0),
        // `cli::parse` answers it before anything else runs.
        Command::Help(_) => Ok(0),
    }
}

/// runc's "runc create failed: ..." (with the name berth was called by): Docker shows
/// it as "OCI runtime create failed: runc create failed: ...", and scripts match it.
fn verb_failed(e: anyhow::Error, verb: &str) -> anyhow::Error {
    e.context(format!(
        "{} {verb} failed",
        crate::cli::help::program_name()
    ))
}

#[cfg(test)]
mod proptests;
