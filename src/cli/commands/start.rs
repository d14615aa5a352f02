//! `berth start`: release a created container's init to exec the process.

use crate::container;
use crate::container::state::{ContainerDir, Status};
use anyhow::{bail, Result};
use std::path::Path;

pub fn run(root: &Path, id: &str) -> Result<()> {
    let dir = ContainerDir::open(root, id)?;
    let st = dir.load()?;
    match dir.status(&st) {
        Status::Created => container::start(&dir, &st),
        Status::Stopped => bail!("cannot start a container that has stopped"),
        Status::Running => bail!("cannot start an already running container"),
        Status::Paused => bail!("cannot start a paused container"),
    }
}
