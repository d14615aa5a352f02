//! containerd-shim-berth-v2: containerd's runtime v2 shim for berth (runtime type
//! `io.containerd.berth.v2`). One long-lived process per container, or per pod when
//! containers carry `io.kubernetes.cri.sandbox-id`, serving containerd's task API over
//! ttrpc with synchronous threads (no async runtime). Run as
//! `containerd-shim-berth-v2 berth ARGS` it is berth's own command line, which the shim
//! uses to make container processes in a single-threaded child.

mod console;
mod events;
mod helper;
mod lifecycle;
mod logger;
mod metrics;
mod reaper;
mod serve;
mod service;
mod shim;
mod state;
mod stdio;
mod task;
mod trim;

/// Where berth keeps container state (`--root`), one directory per namespace;
/// `BERTH_SHIM_ROOT` overrides it.
pub const DEFAULT_ROOT: &str = "/run/containerd/berth";

pub const RUNTIME_ID: &str = "io.containerd.berth.v2";

fn main() {
    let mut args = std::env::args_os();
    let argv0 = args.next().unwrap_or_default();
    if args.next().as_deref() == Some(std::ffi::OsStr::new(helper::BERTH_MODE)) {
        let argv = std::iter::once(argv0).chain(std::env::args_os().skip(2));
        std::process::exit(berth::cli::main::main_with(argv));
    }
    let rest: Vec<_> = std::env::args_os().skip(1).collect();
    if let Ok(flags) = containerd_shim::parse(&rest) {
        if flags.action == "start" {
            std::process::exit(shim::start(&flags));
        }
        if flags.action.is_empty() && !flags.version && !flags.info {
            if let Err(e) = serve::serve(&flags) {
                eprintln!("{RUNTIME_ID}: {e:#}");
                std::process::exit(1);
            }
            return;
        }
    }
    // `delete` (cleanup after a dead shim), `-info`, `-v`: the crate's bootstrap.
    let config = containerd_shim::Config {
        no_reaper: true,
        no_setup_logger: true,
        ..Default::default()
    };
    containerd_shim::run::<shim::BerthShim>(RUNTIME_ID, Some(config));
}
