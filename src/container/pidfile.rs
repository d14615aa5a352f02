//! `--pid-file`: the container's (or exec'd process's) pid, written as runc writes it.

use anyhow::{anyhow, Context, Result};
use std::path::{Path, PathBuf};

/// Write the pid file atomically (temp file + rename): an engine polling for it never
/// reads half a number.
pub fn write(path: &Path, pid: i32) -> Result<()> {
    let path = if path.is_absolute() {
        path.to_path_buf()
    } else {
        std::env::current_dir()?.join(path)
    };
    let name = path
        .file_name()
        .ok_or_else(|| anyhow!("--pid-file: {} is not a file name", path.display()))?;
    let tmp: PathBuf = path.with_file_name(format!(".{}.tmp", name.to_string_lossy()));
    std::fs::write(&tmp, pid.to_string())
        .with_context(|| format!("--pid-file: write {}", tmp.display()))?;
    std::fs::rename(&tmp, &path)
        .with_context(|| format!("--pid-file: rename to {}", path.display()))?;
    Ok(())
}
