//! `berth delete`: remove a stopped container (or, with --force, kill it first).

use crate::cli::DeleteArgs;
use crate::container::state::{ContainerDir, Status};
use crate::container::wait_gone;
use anyhow::{bail, Result};
use std::path::Path;
use std::time::Duration;

pub fn run(root: &Path, a: &DeleteArgs) -> Result<()> {
    let dir = match ContainerDir::open(root, &a.id) {
        Ok(d) => d,
        // runc: deleting what is not there with --force is not an error.
        Err(_) if a.force && crate::container::state::validate_id(&a.id).is_ok() => return Ok(()),
        Err(e) => return Err(e),
    };
    let st = match dir.load() {
        Ok(st) => st,
        // A create that died half-way leaves a directory without state: just remove it.
        Err(_) if a.force => return dir.remove(),
        Err(e) => return Err(e),
    };
    match dir.status(&st) {
        Status::Stopped => {}
        // A created container never ran user code; runc deletes it without --force.
        Status::Created => kill_and_wait(&st)?,
        Status::Running | Status::Paused if a.force => kill_and_wait(&st)?,
        s => bail!(
            "cannot delete container {:?} that is not stopped: {}",
            a.id,
            s.as_str()
        ),
    }
    // After the init: processes outside its PID namespace (or none) may still be there.
    if let Some(cg) = &st.cgroup {
        crate::container::remove_cgroup(cg)?;
    }
    dir.remove()?;
    crate::container::poststop(&st);
    Ok(())
}

fn kill_and_wait(st: &crate::container::state::State) -> Result<()> {
    super::kill::signal_all(st, libc::SIGKILL)?;
    if !wait_gone(st, Duration::from_secs(10)) {
        bail!("container init {} did not die after SIGKILL", st.pid);
    }
    Ok(())
}
