//! berth: an OCI container runtime, a drop-in replacement for runc.
//!
//! `main` parses the command line, sets up logging, dispatches, and prints an error
//! exactly once (to stderr, and to `--log` in runc's logrus shape); the error's kind
//! decides the exit code.

use berth::cli::{self, commands};
use berth::{errors, logging};

fn main() {
    let cli = cli::parse();
    if cli.version {
        println!(
            "berth version {}\nspec: {}",
            env!("CARGO_PKG_VERSION"),
            berth::spec::SPEC_VERSION
        );
        return;
    }
    let Some(cmd) = cli.command.as_ref() else {
        eprintln!("berth: no command given; see berth --help");
        std::process::exit(1);
    };
    // Before logging opens its file, so that file cannot take a passed fd's number.
    let code = match commands::before_logging(cmd)
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
    };
    std::process::exit(code);
}

fn setup_logging(cli: &cli::Cli) -> anyhow::Result<()> {
    let format: logging::LogFormat = cli.log_format.parse()?;
    logging::init(cli.log.as_deref(), format, cli.debug)?;
    if cli.systemd_cgroup {
        anyhow::bail!("--systemd-cgroup: the systemd cgroup driver is not supported yet");
    }
    Ok(())
}
