//! `berth resume`: thaw a paused container.

use crate::container::state::{ContainerDir, Status};
use anyhow::{anyhow, bail, Result};
use std::path::Path;

pub fn run(root: &Path, id: &str) -> Result<()> {
    let dir = ContainerDir::open(root, id)?;
    let st = dir.load()?;
    let status = dir.status(&st);
    if status != Status::Paused {
        bail!("container {id:?} is not paused: {}", status.as_str());
    }
    let cg = st
        .cgroup
        .as_ref()
        .ok_or_else(|| anyhow!("container {id:?} has no cgroup"))?;
    crate::cgroups::freezer::thaw(cg)
}
