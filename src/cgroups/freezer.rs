//! Freezing and thawing the container (`pause`/`resume`): v2's cgroup.freeze, or the v1
//! freezer controller. Both only report success once every process is really stopped.

use super::{read_file, write_file, Cgroup, Mode};
use crate::errors::describe_io;
use crate::linux::procfs::read_small;
use anyhow::{anyhow, bail, Result};
use std::path::Path;
use std::time::{Duration, Instant};

enum Freezer<'a> {
    V2(&'a Path),
    V1(&'a Path),
}

fn freezer(cg: &Cgroup) -> Option<Freezer<'_>> {
    if cg.mode == Mode::Unified {
        return cg.v2().map(Freezer::V2);
    }
    cg.v1("freezer").map(Freezer::V1).or_else(|| {
        cg.v2()
            .filter(|d| d.join("cgroup.freeze").exists())
            .map(Freezer::V2)
    })
}

const TIMEOUT: Duration = Duration::from_secs(5);

pub fn freeze(cg: &Cgroup) -> Result<()> {
    let r = set(cg, true);
    if r.is_err() {
        // Half-frozen is the worst state to leave a container in.
        if let Err(e) = set(cg, false) {
            crate::logging::warn(&format!("pause failed, and so did thawing again: {e:#}"));
        }
    }
    r
}

pub fn thaw(cg: &Cgroup) -> Result<()> {
    set(cg, false)
}

fn set(cg: &Cgroup, frozen: bool) -> Result<()> {
    let f = freezer(cg).ok_or_else(|| anyhow!("the container's cgroup has no freezer"))?;
    let deadline = Instant::now() + TIMEOUT;
    let mut pause = Duration::from_micros(100);
    match f {
        Freezer::V2(dir) => {
            let file = dir.join("cgroup.freeze");
            write_file(&file, if frozen { "1" } else { "0" })
                .map_err(|e| anyhow!("write {}: {}", file.display(), describe_io(&e)))?;
            let want = if frozen { "frozen 1" } else { "frozen 0" };
            // cgroup.events says when the kernel has finished.
            while !read_file(&dir.join("cgroup.events"))?
                .lines()
                .any(|l| l == want)
            {
                if Instant::now() > deadline {
                    bail!("timed out waiting for {} to say {want:?}", dir.display());
                }
                std::thread::sleep(pause);
                pause = (pause * 2).min(Duration::from_millis(10));
            }
        }
        Freezer::V1(dir) => {
            let file = dir.join("freezer.state");
            let want = if frozen { "FROZEN" } else { "THAWED" };
            loop {
                // Writing again nudges tasks that forked while the freeze was underway.
                write_file(&file, want)
                    .map_err(|e| anyhow!("write {}: {}", file.display(), describe_io(&e)))?;
                if read_file(&file)?.trim() == want {
                    break;
                }
                if Instant::now() > deadline {
                    bail!("timed out waiting for {} to be {want}", file.display());
                }
                std::thread::sleep(pause);
                pause = (pause * 2).min(Duration::from_millis(10));
            }
        }
    }
    Ok(())
}

/// Whether the container is (being) frozen.
pub fn is_frozen(cg: &Cgroup) -> bool {
    match freezer(cg) {
        Some(Freezer::V2(dir)) => {
            read_small(&dir.join("cgroup.freeze")).is_ok_and(|s| s.trim() == "1")
        }
        Some(Freezer::V1(dir)) => {
            read_small(&dir.join("freezer.state")).is_ok_and(|s| s.trim() != "THAWED")
        }
        None => false,
    }
}
