//! `berth create`: set the container up; its init waits for `start`.

use crate::cli::CommonCreate;
use crate::container::{self, CreateOpts, Created};
use anyhow::Result;
use std::path::Path;

/// Shared by `create` and `run`; `detach` is false only for `run` in the foreground,
/// the one case where berth itself can drive a terminal.
pub fn create(
    root: &Path,
    rootless: bool,
    a: &CommonCreate,
    detach: bool,
    systemd: bool,
) -> Result<Created> {
    container::create(&CreateOpts {
        root,
        rootless,
        id: &a.id,
        bundle: &a.bundle,
        pid_file: a.pid_file.as_deref(),
        no_pivot: a.no_pivot,
        no_new_keyring: a.no_new_keyring,
        console_socket: a.console_socket.as_deref(),
        detach,
        preserve_fds: a.preserve_fds,
        systemd_cgroup: systemd,
    })
}

pub fn run(root: &Path, rootless: bool, a: &CommonCreate, systemd: bool) -> Result<()> {
    create(root, rootless, a, true, systemd).map(drop)
}
