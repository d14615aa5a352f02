//! `berth state`: print the runtime-spec state JSON of one container.

use anyhow::Result;
use std::path::Path;

pub fn run(root: &Path, id: &str) -> Result<()> {
    let (st, status) = crate::container::peek(root, id)?;
    println!("{}", serde_json::to_string_pretty(&st.public(status))?);
    Ok(())
}
