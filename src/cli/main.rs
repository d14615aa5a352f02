//! The whole `berth` command as one call, so that a second binary (the containerd shim)
//! can run it by re-executing itself: parse, set up logging, dispatch, print an error
//! exactly once (to stderr, and to `--log` in runc's logrus shape); the error's kind
//! decides the exit code.

use crate::cli::{commands, parse_from, Cli};
use crate::{errors, logging};
use std::ffi::OsString;

/// Run berth with `args` (`args[0]` is the program name); returns the exit code.
pub fn main_with<I: IntoIterator<Item = OsString>>(args: I) -> i32 {
    let cli = parse_from(args.into_iter().collect());
    let Some(cmd) = cli.command.as_ref() else {
        unreachable!("cli::parse shows the help when no command is given")
    };
    // Before logging opens its file, so that file cannot take a passed fd's number.
    match commands::before_logging(cmd)
        .and_then(|()| setup_logging(&cli))
        .and_then(|()| commands::dispatch(&cli, cmd))
    {
        Ok(code) => code,
        Err(e) => {
            let msg = format!("{e:#}");
            // Engines read the log file; a person at a terminal reads stderr.
            if cli.log.is_some() {
                logging::error(&msg);
            }
            eprintln!("berth: {msg}");
            errors::exit_code(&e)
        }
    }
}

fn setup_logging(cli: &Cli) -> anyhow::Result<()> {
    let format: logging::LogFormat = cli.log_format.parse()?;
    logging::init(cli.log.as_deref(), format, cli.debug)
}
