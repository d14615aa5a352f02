//! `berth kill`: send a signal to the init (or, with --all, to every container process).

use crate::cli::KillArgs;
use crate::container::Container;
use crate::linux::signal::parse_signal;
use anyhow::Result;
use std::path::Path;

pub fn run(root: &Path, a: &KillArgs) -> Result<()> {
    // Signal 0 delivers nothing; it asks whether the container is alive (as runc's kill).
    let sig = match a.signal.as_str() {
        "0" => 0,
        s => parse_signal(s)?,
    };
    Container::open(root, &a.id)?.signal(sig, a.all)
}
