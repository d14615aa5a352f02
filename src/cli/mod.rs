//! The command line: runc's flags (`args`), one thin file per verb (`commands`).

mod args;
pub mod commands;
pub mod foreground;

pub use args::*;
