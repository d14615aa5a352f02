//! `berth create`: set the container up; its init waits for `start`.

use crate::cli::CommonCreate;
use crate::container::{self, CreateOpts, Created};
use anyhow::{bail, Result};
use std::path::Path;

/// Shared by `create` and `run`.
pub fn create(root: &Path, a: &CommonCreate) -> Result<Created> {
    if a.console_socket.is_some() {
        bail!("--console-socket: terminals are not supported yet");
    }
    if a.preserve_fds != 0 {
        bail!("--preserve-fds: not supported yet");
    }
    container::create(&CreateOpts {
        root,
        id: &a.id,
        bundle: &a.bundle,
        pid_file: a.pid_file.as_deref(),
        no_pivot: a.no_pivot,
        no_new_keyring: a.no_new_keyring,
    })
}

pub fn run(root: &Path, a: &CommonCreate) -> Result<()> {
    create(root, a).map(|_| ())
}
