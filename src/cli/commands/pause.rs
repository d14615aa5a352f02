//! `berth pause`: freeze every process of the container.

use crate::container::state::{ContainerDir, Status};
use anyhow::{anyhow, bail, Result};
use std::path::Path;

pub fn run(root: &Path, id: &str) -> Result<()> {
    let dir = ContainerDir::open(root, id)?;
    let st = dir.load()?;
    match dir.status(&st) {
        Status::Running | Status::Created => {}
        s => bail!("container {id:?} is not running or created: {}", s.as_str()),
    }
    let cg = st
        .cgroup
        .as_ref()
        .ok_or_else(|| anyhow!("container {id:?} has no cgroup to freeze"))?;
    crate::cgroups::freezer::freeze(cg)
}
