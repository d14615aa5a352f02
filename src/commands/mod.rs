//! One small file per verb; `dispatch` maps the parsed command line onto them.

mod create;
mod delete;
mod exec;
mod kill;
mod list;
mod run;
mod start;
mod state;

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
    }
}
