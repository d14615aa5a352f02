//! `berth delete`: remove a stopped container (or, with --force, kill it first).

use crate::cli::DeleteArgs;
use crate::container::state::{validate_id, ContainerDir};
use crate::container::Container;
use anyhow::Result;
use std::path::Path;

pub fn run(root: &Path, a: &DeleteArgs) -> Result<()> {
    let dir = match ContainerDir::open(root, &a.id) {
        Ok(d) => d,
        // runc: deleting what is not there with --force is not an error.
        Err(_) if a.force && validate_id(&a.id).is_ok() => return Ok(()),
        Err(e) => return Err(e),
    };
    let st = match dir.load() {
        Ok(st) => st,
        // A create that died half-way leaves a directory without state: just remove it.
        Err(_) if a.force => return dir.remove(),
        Err(e) => return Err(e),
    };
    Container::from_parts(dir, st).destroy(a.force)
}
