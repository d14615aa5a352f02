//! The command line: runc's flags (`args`), one thin file per verb (`commands`).

mod args;
pub mod commands;
mod fast;
pub mod foreground;

pub use args::*;

/// The process's command line: the common per-container commands by the fast path,
/// everything else (and every error) by clap.
pub fn parse() -> Cli {
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    fast::parse(&args).unwrap_or_else(|| <Cli as clap::Parser>::parse_from(args))
}
