//! berth: an OCI container runtime, a drop-in replacement for runc.
//!
//! `main` parses the command line, sets up logging, dispatches, and prints an error
//! exactly once (to stderr, and to `--log` in runc's logrus shape).

use berth::cli::{self, commands};
use berth::container::state;
use berth::{container, linux::selfexe, logging};
use clap::Parser;

fn main() {
    let cli = cli::Cli::parse();
    if cli.version {
        println!(
            "berth version {}\nspec: {}",
            env!("CARGO_PKG_VERSION"),
            state::SPEC_VERSION
        );
        return;
    }
    let Some(cmd) = cli.command.as_ref() else {
        eprintln!("berth: no command given; see berth --help");
        std::process::exit(1);
    };
    let code = match check_fds(cmd)
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
            // runc's exec fails with 255, so a caller can tell it from the process's code.
            if matches!(cmd, cli::Command::Exec(_)) {
                255
            } else {
                1
            }
        }
    };
    std::process::exit(code);
}

/// Runs before logging opens its file, so that file cannot take a passed fd's number.
/// Commands that make container processes first re-exec from a read-only copy.
fn check_fds(cmd: &cli::Command) -> anyhow::Result<()> {
    let preserve = match cmd {
        cli::Command::Create(a) => a.common.preserve_fds,
        cli::Command::Run(a) => a.common.preserve_fds,
        cli::Command::Exec(a) => a.preserve_fds,
        _ => return Ok(()),
    };
    container::check_passed_fds(preserve)?;
    selfexe::ensure_readonly()
}

fn setup_logging(cli: &cli::Cli) -> anyhow::Result<()> {
    let format: logging::LogFormat = cli.log_format.parse()?;
    logging::init(cli.log.as_deref(), format, cli.debug)?;
    if cli.systemd_cgroup {
        anyhow::bail!("--systemd-cgroup: the systemd cgroup driver is not supported yet");
    }
    Ok(())
}
