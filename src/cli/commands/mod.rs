//! One small file per verb; `dispatch` maps the parsed command line onto them.

mod create;
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
use anyhow::Result;

/// Run the command; the value is the process exit code.
pub fn dispatch(cli: &Cli, cmd: &Command) -> Result<i32> {
    let root = cli.root.as_path();
    match cmd {
        Command::Create(a) => create::run(root, &a.common).map(|_| 0),
        Command::Start(a) => start::run(root, &a.id).map(|_| 0),
        Command::State(a) => state::run(root, &a.id).map(|_| 0),
        Command::Kill(a) => kill::run(root, a).map(|_| 0),
        Command::Delete(a) => delete::run(root, a).map(|_| 0),
        Command::Run(a) => run::run(root, a),
        Command::List(a) => list::run(root, a).map(|_| 0),
        Command::Exec(a) => exec::run(root, a),
        Command::Pause(a) => pause::run(root, &a.id).map(|_| 0),
        Command::Resume(a) => resume::run(root, &a.id).map(|_| 0),
        Command::Update(a) => update::run(root, a).map(|_| 0),
        Command::Ps(a) => ps::run(root, a).map(|_| 0),
        Command::Events(a) => events::run(root, a).map(|_| 0),
        Command::Features => features::run().map(|_| 0),
        Command::Spec(a) => spec::run(a.bundle.as_deref(), a.rootless.as_deref()).map(|_| 0),
    }
}
