//! `berth pause`: freeze every process of the container.

use crate::container::Container;
use anyhow::Result;
use std::path::Path;

pub fn run(root: &Path, id: &str) -> Result<()> {
    Container::open(root, id)?.pause()
}
