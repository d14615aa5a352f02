//! The whole `berth` command as one call, so that a second binary (the containerd shim)
//! can run it by re-executing itself: parse, set up logging, dispatch, print an error
//! exactly once (to stderr, and to `--log` in runc's logrus shape); the error's kind
//! decides the exit code.

use crate::cli::{commands, parse_from, Cli};
use crate::{errors, logging};
use std::ffi::OsString;

/// What Rust's runtime would have done before `main`, for a binary that enters through a
/// C `main` of its own (berth's, which skips the rest of that start-up: a read of
/// /proc/self/maps and an alternate signal stack, at each of the many short runs an
/// engine makes). Standard fds 0-2 that are closed get /dev/null, so that no file berth
/// opens can take their number and be written to as output; SIGPIPE is ignored, so a
/// closed pipe is an EPIPE error berth reports.
pub fn start_up() {
    use crate::linux::sys;
    use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
    let mut fds = [0, 1, 2].map(|fd| PollFd::new(sys::borrow_fd(fd), PollFlags::empty()));
    if poll(&mut fds, PollTimeout::ZERO).is_ok_and(|n| n > 0) {
        for p in &fds {
            if p.revents().is_some_and(|r| r.contains(PollFlags::POLLNVAL)) {
                // The lowest free number is this one: a closed fd below it was filled first.
                // Not close-on-exec (std's File would be): the container and hooks get
                // berth's stdio, and a stdio fd that vanished at execve would be closed there.
                use nix::{fcntl::OFlag, sys::stat::Mode};
                if let Ok(f) = nix::fcntl::open("/dev/null", OFlag::O_RDWR, Mode::empty()) {
                    std::mem::forget(f);
                }
            }
        }
    }
    if let Err(e) = sys::ignore_sigpipe() {
        eprintln!("berth: ignore SIGPIPE: {e}");
    }
}

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
