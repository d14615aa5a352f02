//! The command line: runc's flags (`args`), one thin file per verb (`commands`), and
//! what runc's urfave/cli answers before any verb runs: `-h` (`help`), `-v`
//! (`version`), an unknown verb.

mod args;
pub mod commands;
mod fast;
pub mod foreground;
pub mod help;
pub mod main;
pub mod version;

pub use args::*;
use clap::error::{ContextKind, ContextValue, ErrorKind};
use clap::{CommandFactory, FromArgMatches};
use std::ffi::OsString;

/// Parse the command line. Help, the version, and "No help topic" for an unknown verb
/// are printed here, under the name berth was called by, and end the process.
pub fn parse() -> Cli {
    parse_from(std::env::args_os().collect())
}

/// `parse` on `args` (`args[0]` is the program): the containerd shim runs berth's command
/// line with its own first argument taken out.
pub fn parse_from(args: Vec<OsString>) -> Cli {
    // The per-container verbs in the forms engines use skip clap's tree; anything else
    // (help, the version, every error) goes on to clap.
    if let Some(cli) = fast::parse(&args) {
        return cli;
    }
    let name = help::program_name();
    // clap names the program in its own messages; it keeps the name for good.
    let static_name: &'static str = Box::leak(name.clone().into_boxed_str());
    let mut cmd = Cli::command().name(static_name).bin_name(&name);
    // Rendering every verb's help costs a little; only a help request pays it.
    if args.iter().skip(1).any(|a| a == "-h" || a == "--help") {
        cmd = help::install(cmd, &name);
    }
    let matches = match cmd.try_get_matches_from(&args) {
        Ok(m) => m,
        Err(e) if e.kind() == ErrorKind::InvalidSubcommand => {
            let verb = match e.get(ContextKind::InvalidSubcommand) {
                Some(ContextValue::String(s)) => s.clone(),
                _ => String::new(),
            };
            help::no_help_topic(&name, &verb)
        }
        Err(e) => e.exit(),
    };
    let cli = Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
    if cli.version {
        print!("{}", version::text(&name));
        std::process::exit(0);
    }
    let topic = match &cli.command {
        // Without a verb, runc shows its help.
        None => None,
        Some(Command::Help(a)) => a.topic.as_deref(),
        Some(_) => return cli,
    };
    match help::topic(&Cli::command(), &name, topic) {
        Some(text) => print!("{text}"),
        None => help::no_help_topic(&name, topic.unwrap_or_default()),
    }
    std::process::exit(0);
}
