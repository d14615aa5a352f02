//! `berth delete`: remove a stopped container (or, with --force, kill it first).

use crate::cli::DeleteArgs;
use crate::container::state::{validate_id, ContainerDir};
use crate::container::{self, Container};
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
        // A create that died half-way (the lock is ours, so it is not running), or a
        // state.json that no longer parses: remove what can still be found.
        Err(_) if a.force => return container::destroy_unrecorded(dir),
        Err(e) => return Err(e),
    };
    Container::from_parts(dir, st).destroy(a.force)
}
