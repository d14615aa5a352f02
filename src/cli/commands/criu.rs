//! `checkpoint` and `restore`: runc does them with criu, berth does not. The verbs and
//! their flags exist so that `-h` works and a caller gets one clear error, not an
//! unknown command; nothing is touched.

use anyhow::{bail, Result};

pub fn checkpoint(id: &str) -> Result<()> {
    bail!("checkpoint {id}: not supported: berth cannot checkpoint or restore containers (no criu support)")
}

pub fn restore(id: &str) -> Result<()> {
    bail!("restore {id}: not supported: berth cannot checkpoint or restore containers (no criu support)")
}
