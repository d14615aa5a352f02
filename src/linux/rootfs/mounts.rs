//! Apply the config's `mounts[]` inside the rootfs, in order, onto safely resolved targets.

use super::paths::{fd_path, open_in_root, open_target};
use super::remount::MountEnv;
/// At its old path for `spawn/init.rs`.
use super::remount::{remount_bind, sys_mount, without_bind};
use crate::errors::errno_text;
use crate::spec::MountPlan;
use anyhow::{anyhow, Context, Result};
use nix::errno::Errno;
use nix::mount::MsFlags;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::{Path, PathBuf};

/// proc and sysfs only go onto a real directory of the image, as runc insists: an image
/// whose /proc is a symlink would otherwise have procfs land wherever it points (and a
/// mask meant for /proc/kcore miss it).
fn ordinary_directory(root: BorrowedFd, m: &MountPlan) -> Result<()> {
    let fd = match super::paths::open_in_root_nofollow(root, &m.destination) {
        Ok(fd) => fd,
        // Missing: it is made as a directory.
        Err(e) if e.raw_os_error() == Some(libc::ENOENT) => return Ok(()),
        Err(e) => return Err(e.into()),
    };
    let st = nix::sys::stat::fstat(fd.as_fd()).map_err(|e| anyhow!("stat: {}", errno_text(e)))?;
    if st.st_mode & libc::S_IFMT != libc::S_IFDIR {
        anyhow::bail!(
            "{}: filesystem {:?} must be mounted on ordinary directory",
            m.key(),
            m.fstype
        );
    }
    Ok(())
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

/// The source as a detached tree (the parent's, or opened here), attached at the
/// destination: the same path whoever could reach the source.
fn bind(root: BorrowedFd, m: &MountPlan, env: &MountEnv) -> Result<OwnedFd> {
    let tree = match env.trees.take(m.index) {
        Some(t) => t,
        None => super::trees::open_source(m)?,
    };
    let is_dir = super::paths::is_dir(tree.as_fd())
        .map_err(|e| anyhow!("source: stat: {}", crate::errors::describe_io(&e)))?;
    let target = open_target(root, m, is_dir)?;
    crate::linux::sys::move_mount(tree.as_fd(), target.as_fd()).map_err(|e| {
        let src = m.source.as_deref().unwrap_or(Path::new(""));
        anyhow!(
            "bind {}: attach: {}",
            src.display(),
            crate::errors::describe_io(&e)
        )
    })?;
    drop(tree);
    // The fd still points below the new mount; open again to reach the mount itself.
    let target = open_in_root(root, &m.destination)?;
    let extra = without_bind(m.opts.flags);
    if !extra.is_empty() {
        remount_bind(&fd_path(target.as_fd()), extra, env.userns)?;
    }
    Ok(target)
}

fn filesystem(root: BorrowedFd, m: &MountPlan, env: &MountEnv) -> Result<OwnedFd> {
    if m.fstype == "proc" || m.fstype == "sysfs" {
        ordinary_directory(root, m)?;
    }
    let target = open_target(root, m, true)?;
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
