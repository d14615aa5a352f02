//! `berth state`: print the runtime-spec state JSON of one container.

use crate::container::state::{read_state, status_of, validate_id, Status};
use anyhow::{bail, Result};
use std::path::Path;

pub fn run(root: &Path, id: &str) -> Result<()> {
    validate_id(id)?;
    let dir = root.join(id);
    if !dir.is_dir() {
        bail!("container {id:?} does not exist");
    }
    // No lock: state.json is replaced atomically, and `state` must not wait on `create`.
    let Some(st) = read_state(&dir)? else {
        bail!("container {id:?} is still being created");
    };
    let status: Status = status_of(&dir, &st);
    println!("{}", serde_json::to_string_pretty(&st.public(status))?);
    Ok(())
}
