//! Removing the container's cgroup directories: sub-cgroups the container made, then its
//! own, then the parents berth made for it. rmdir fails with EBUSY while the last
//! processes are still being reaped, so it is retried for a short while.

use super::Cgroup;
use crate::errors::describe_io;
use anyhow::{anyhow, Result};
use std::path::Path;
use std::time::Duration;

pub fn remove(cg: &Cgroup) -> Result<()> {
    let mut first_err = None;
    for d in &cg.dirs {
        if d.made.is_none() {
            continue;
        }
        if let Err(e) = remove_dir(&d.path, d.made.as_deref()) {
            first_err.get_or_insert(e);
        }
    }
    first_err.map_or(Ok(()), Err)
}

/// Remove `leaf` (and what is below it), then its parents up to and including `top`;
/// a parent still in use by someone else stays.
pub fn remove_dir(leaf: &Path, top: Option<&Path>) -> Result<()> {
    remove_children(leaf);
    rmdir_retry(leaf)?;
    let Some(top) = top else { return Ok(()) };
    for parent in leaf.ancestors().skip(1) {
        if !parent.starts_with(top) {
            break;
        }
        if std::fs::remove_dir(parent).is_err() {
            break;
        }
    }
    Ok(())
}

fn remove_children(dir: &Path) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    for e in rd.flatten() {
        if e.file_type().is_ok_and(|t| t.is_dir()) {
            let p = e.path();
            remove_children(&p);
            // The parent's rmdir, which follows, reports a child that stayed.
            if let Err(e) = rmdir_retry(&p) {
                crate::logging::debug(&format!("cgroup: {e:#}"));
            }
        }
    }
}

fn rmdir_retry(dir: &Path) -> Result<()> {
    let mut pause = Duration::from_micros(500);
    let mut waited = Duration::ZERO;
    loop {
        match std::fs::remove_dir(dir) {
            Ok(()) => return Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) if e.raw_os_error() == Some(libc::EBUSY) && waited < Duration::from_secs(2) => {
                std::thread::sleep(pause);
                waited += pause;
                pause = (pause * 2).min(Duration::from_millis(50));
            }
            Err(e) => {
                return Err(anyhow!(
                    "remove cgroup {}: {}",
                    dir.display(),
                    describe_io(&e)
                ))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn removes_up_to_what_was_made() {
        let base = std::env::temp_dir().join(format!("berth-rm-{}", std::process::id()));
        let leaf = base.join("made/mid/leaf");
        std::fs::create_dir_all(leaf.join("child")).unwrap();
        std::fs::create_dir_all(base.join("made/other")).unwrap();
        remove_dir(&leaf, Some(&base.join("made"))).unwrap();
        assert!(!base.join("made/mid").exists());
        assert!(
            base.join("made/other").exists(),
            "a parent still in use stays"
        );
        remove_dir(&base.join("made/other"), Some(&base.join("made"))).unwrap();
        assert!(!base.join("made").exists());
        assert!(base.exists());
        std::fs::remove_dir(&base).unwrap();
    }
}
