//! `berth start`: release a created container's init to exec the process.

use crate::container::Container;
use anyhow::Result;
use std::path::Path;

pub fn run(root: &Path, id: &str) -> Result<()> {
    Container::open(root, id)?.start()
}
