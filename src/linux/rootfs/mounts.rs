//! Apply the config's `mounts[]` inside the rootfs, in order, onto safely resolved targets.

use super::paths::{ensure_file, fd_path, mkdir_all, open_in_root};
use crate::errors::errno_text;
use crate::spec::MountPlan;
use anyhow::{anyhow, Context, Result};
use nix::errno::Errno;
use nix::mount::{mount, MsFlags};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::{Path, PathBuf};

/// What a mount needs to know about the container around it.
pub struct MountEnv {
    /// The container has its own user namespace: device nodes and some filesystems
    /// cannot be made, and flags locked by the host must be kept on remount.
    pub userns: bool,
    /// The container has its own cgroup namespace (so cgroupfs can be mounted fresh).
    pub cgroupns: bool,
}

/// Flags that only say "bind" and must not reach a plain filesystem mount.
pub fn without_bind(flags: MsFlags) -> MsFlags {
    flags.difference(MsFlags::MS_BIND | MsFlags::MS_REC)
}

fn sys_mount(
    src: Option<&Path>,
    target: &Path,
    fstype: Option<&str>,
    fl: MsFlags,
    data: Option<&str>,
) -> std::result::Result<(), Errno> {
    mount(src, target, fstype, fl, data)
}

/// Mount one `mounts[]` entry below `root`.
pub fn mount_entry(root: BorrowedFd, m: &MountPlan, env: &MountEnv) -> Result<()> {
    let what = || {
        format!(
            "{} ({} on {})",
            m.key(),
            if m.is_bind() {
                "bind"
            } else {
                m.fstype.as_str()
            },
            m.destination.display()
        )
    };
    let target = if m.is_bind() {
        bind(root, m, env)
    } else if m.fstype == "cgroup" || m.fstype == "cgroup2" {
        super::cgroupfs::mount_cgroupfs(root, m, env)
    } else {
        filesystem(root, m, env)
    }
    .with_context(what)?;
    let r = m.opts.recursive_attrs;
    if !r.is_empty() {
        // rro, rnosuid, ...: the whole tree below the mount, not just its top (Linux 5.12+).
        crate::linux::sys::mount_setattr(
            target.as_fd(),
            true,
            r.attr_set.bits(),
            r.attr_clr.bits(),
        )
        .map_err(|e| {
            anyhow!(
                "recursive mount options: {}",
                crate::errors::describe_io(&e)
            )
        })
        .with_context(what)?;
    }
    for &p in &m.opts.propagation {
        let t = fd_path(target.as_fd());
        sys_mount(None, &t, None, p, None)
            .map_err(|e| anyhow!("set propagation: {}", errno_text(e)))
            .with_context(what)?;
    }
    Ok(())
}

fn bind(root: BorrowedFd, m: &MountPlan, env: &MountEnv) -> Result<OwnedFd> {
    let src = m.source.as_deref().expect("bind mounts have a source");
    let meta = std::fs::metadata(src).map_err(|e| {
        anyhow!(
            "source {}: {}",
            src.display(),
            crate::errors::describe_io(&e)
        )
    })?;
    let target = if meta.is_dir() {
        mkdir_all(root, &m.destination, 0o755)
    } else {
        ensure_file(root, &m.destination)
    }
    .map_err(|e| anyhow!("destination: {}", crate::errors::describe_io(&e)))?;
    let rec = if m.opts.recursive_bind {
        MsFlags::MS_REC
    } else {
        MsFlags::empty()
    };
    sys_mount(
        Some(src),
        &fd_path(target.as_fd()),
        None,
        MsFlags::MS_BIND | rec,
        None,
    )
    .map_err(|e| anyhow!("bind {}: {}", src.display(), errno_text(e)))?;
    // The fd still points below the new mount; open again to reach the mount itself.
    let target = open_in_root(root, &m.destination)?;
    let extra = without_bind(m.opts.flags);
    if !extra.is_empty() {
        remount_bind(&fd_path(target.as_fd()), extra, env.userns)?;
    }
    Ok(target)
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

fn filesystem(root: BorrowedFd, m: &MountPlan, env: &MountEnv) -> Result<OwnedFd> {
    let target = mkdir_all(root, &m.destination, 0o755)
        .map_err(|e| anyhow!("destination: {}", crate::errors::describe_io(&e)))?;
    let data = m.opts.data_string();
    let src: PathBuf = m.source.clone().unwrap_or_else(|| PathBuf::from(&m.fstype));
    let fl = without_bind(m.opts.flags);
    let t = fd_path(target.as_fd());
    let res = sys_mount(
        Some(&src),
        &t,
        Some(&m.fstype),
        fl,
        (!data.is_empty()).then_some(data.as_str()),
    );
    match res {
        Ok(()) => {}
        // Without its own network namespace (or inside a user namespace) the kernel
        // refuses a fresh sysfs/mqueue; the host's one, bound read-only-as-asked, is
        // what runc falls back to as well.
        Err(Errno::EPERM) if m.fstype == "sysfs" || m.fstype == "mqueue" => {
            let host = if m.fstype == "sysfs" {
                "/sys"
            } else {
                "/dev/mqueue"
            };
            sys_mount(
                Some(Path::new(host)),
                &t,
                None,
                MsFlags::MS_BIND | MsFlags::MS_REC,
                None,
            )
            .map_err(|e| anyhow!("bind {host}: {}", errno_text(e)))?;
            if !fl.is_empty() {
                let again = open_in_root(root, &m.destination)?;
                remount_bind(&fd_path(again.as_fd()), fl, env.userns)?;
            }
        }
        Err(Errno::ENODEV) => {
            return Err(anyhow!("unknown filesystem type {:?}", m.fstype));
        }
        Err(e) => return Err(anyhow!("mount: {}", errno_text(e))),
    }
    Ok(open_in_root(root, &m.destination)?)
}
