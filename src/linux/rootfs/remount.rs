//! What every mount step shares: the container around a mount (`MountEnv`), mount(2)
//! with typed flags, and remounting a bind mount with the flags the host locked kept.

use crate::errors::errno_text;
use anyhow::{anyhow, Result};
use nix::errno::Errno;
use nix::mount::{mount, MsFlags};
use std::path::Path;

/// What a mount needs to know about the container around it.
pub struct MountEnv {
    /// The container has its own user namespace: device nodes and some filesystems
    /// cannot be made, and flags locked by the host must be kept on remount.
    pub userns: bool,
    /// The container has its own cgroup namespace (so cgroupfs can be mounted fresh).
    pub cgroupns: bool,
    /// Bind sources the parent opened (`trees.rs`).
    pub trees: super::trees::Trees,
}

/// Flags that only say "bind" and must not reach a plain filesystem mount.
pub fn without_bind(flags: MsFlags) -> MsFlags {
    flags.difference(MsFlags::MS_BIND | MsFlags::MS_REC)
}

pub fn sys_mount(
    src: Option<&Path>,
    target: &Path,
    fstype: Option<&str>,
    fl: MsFlags,
    data: Option<&str>,
) -> std::result::Result<(), Errno> {
    mount(src, target, fstype, fl, data)
}

/// Change the flags of a bind mount. Inside a user namespace the kernel refuses to drop
/// nosuid/nodev/noexec/ro that the host set ("locked"), so those are kept.
pub fn remount_bind(target: &Path, extra: MsFlags, keep_locked: bool) -> Result<()> {
    let mut fl = MsFlags::MS_BIND | MsFlags::MS_REMOUNT | extra;
    if keep_locked {
        fl |= locked_flags(target);
    }
    match sys_mount(None, target, None, fl, None) {
        Err(Errno::EPERM) if !keep_locked => {
            let fl = fl | locked_flags(target);
            sys_mount(None, target, None, fl, None)
        }
        other => other,
    }
    .map_err(|e| anyhow!("remount: {}", errno_text(e)))
}

/// The nosuid/nodev/noexec/ro/atime flags a mount has now, which a remount must keep.
fn locked_flags(target: &Path) -> MsFlags {
    let Ok(st) = nix::sys::statvfs::statvfs(target) else {
        return MsFlags::empty();
    };
    use nix::sys::statvfs::FsFlags as F;
    let f = st.flags();
    let mut out = MsFlags::empty();
    for (have, ms) in [
        (F::ST_NOSUID, MsFlags::MS_NOSUID),
        (F::ST_NODEV, MsFlags::MS_NODEV),
        (F::ST_NOEXEC, MsFlags::MS_NOEXEC),
        (F::ST_RDONLY, MsFlags::MS_RDONLY),
        (F::ST_NOATIME, MsFlags::MS_NOATIME),
        (F::ST_NODIRATIME, MsFlags::MS_NODIRATIME),
        (F::ST_RELATIME, MsFlags::MS_RELATIME),
    ] {
        if f.contains(have) {
            out |= ms;
        }
    }
    out
}
