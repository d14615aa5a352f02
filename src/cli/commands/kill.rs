//! `berth kill`: send a signal to the init (or, with --all, to every container process).

use crate::cli::KillArgs;
use crate::container::Container;
use crate::linux::signal::parse_signal;
use anyhow::Result;
use std::path::Path;

pub fn run(root: &Path, a: &KillArgs) -> Result<()> {
    let sig = parse_signal(&a.signal)?;
    Container::open(root, &a.id)?.signal(sig, a.all)
}
