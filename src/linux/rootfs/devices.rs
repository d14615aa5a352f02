//! Device nodes in the container's /dev (mknod, or a bind of the host node inside a user
//! namespace, where mknod is not allowed) and the standard /dev symlinks.

use super::paths::{ensure_file, fd_path, mkdir_all, split};
use crate::errors::errno_text;
use crate::spec::DevicePlan;
use anyhow::{anyhow, Result};
use nix::errno::Errno;
use nix::mount::{mount, MsFlags};
use nix::sys::stat::{fchmodat, makedev, mknodat, FchmodatFlags, Mode, SFlag};
use nix::unistd::{fchownat, Gid, Uid};
use std::os::fd::{AsFd, BorrowedFd};
use std::path::Path;

pub fn create_devices(root: BorrowedFd, devices: &[DevicePlan], userns: bool) -> Result<()> {
    for d in devices {
        // Always the link to the container's devpts instance (`default_links`), as in
        // runc; a node bound here in a user namespace could not be replaced by it.
        if d.path == Path::new("/dev/ptmx") {
            continue;
        }
        let res = if userns {
            bind_host_node(root, d)
        } else {
            make_node(root, d)
        };
        res.map_err(|e| anyhow!("device {}: {e}", d.path.display()))?;
    }
    Ok(())
}

fn make_node(root: BorrowedFd, d: &DevicePlan) -> Result<()> {
    let (parent, name) = split(&d.path)?;
    let dir = mkdir_all(root, parent, 0o755)?;
    let kind = SFlag::from_bits_truncate(d.kind);
    match mknodat(
        dir.as_fd(),
        name,
        kind,
        Mode::from_bits_truncate(d.perms),
        makedev(d.major, d.minor),
    ) {
        Ok(()) => {}
        // A node already there (from the image) is replaced, so major/minor are ours.
        Err(Errno::EEXIST) => {
            nix::unistd::unlinkat(dir.as_fd(), name, nix::unistd::UnlinkatFlags::NoRemoveDir)
                .map_err(|e| anyhow!("remove existing: {}", errno_text(e)))?;
            mknodat(
                dir.as_fd(),
                name,
                kind,
                Mode::from_bits_truncate(d.perms),
                makedev(d.major, d.minor),
            )
            .map_err(|e| anyhow!("mknod: {}", errno_text(e)))?;
        }
        Err(e) => return Err(anyhow!("mknod: {}", errno_text(e))),
    }
    // mknod applies the umask; the config's mode is exact.
    fchmodat(
        dir.as_fd(),
        name,
        Mode::from_bits_truncate(d.perms),
        FchmodatFlags::NoFollowSymlink,
    )
    .or_else(|e| {
        if e == Errno::EOPNOTSUPP {
            Ok(())
        } else {
            Err(e)
        }
    })
    .map_err(|e| anyhow!("chmod: {}", errno_text(e)))?;
    fchownat(
        dir.as_fd(),
        name,
        Some(Uid::from_raw(d.uid)),
        Some(Gid::from_raw(d.gid)),
        nix::fcntl::AtFlags::AT_SYMLINK_NOFOLLOW,
    )
    .map_err(|e| anyhow!("chown: {}", errno_text(e)))?;
    Ok(())
}

fn bind_host_node(root: BorrowedFd, d: &DevicePlan) -> Result<()> {
    let target = ensure_file(root, &d.path)?;
    mount(
        Some(&d.path),
        &fd_path(target.as_fd()),
        None::<&str>,
        MsFlags::MS_BIND,
        None::<&str>,
    )
    .map_err(|e| anyhow!("bind host node: {}", errno_text(e)))
}

/// /dev/fd, /dev/std{in,out,err}, /dev/core and /dev/ptmx, as every runtime makes them.
pub fn create_symlinks(root: BorrowedFd) -> Result<()> {
    let dev = mkdir_all(root, Path::new("/dev"), 0o755)?;
    let mut links = vec![
        ("/proc/self/fd", "fd"),
        ("/proc/self/fd/0", "stdin"),
        ("/proc/self/fd/1", "stdout"),
        ("/proc/self/fd/2", "stderr"),
    ];
    if Path::new("/proc/kcore").exists() {
        links.push(("/proc/kcore", "core"));
    }
    for (target, name) in links {
        match nix::unistd::symlinkat(target, dev.as_fd(), name) {
            Ok(()) | Err(Errno::EEXIST) => {}
            Err(e) => return Err(anyhow!("symlink /dev/{name}: {}", errno_text(e))),
        }
    }
    // /dev/ptmx must lead to the container's own devpts instance.
    match nix::unistd::unlinkat(dev.as_fd(), "ptmx", nix::unistd::UnlinkatFlags::NoRemoveDir) {
        Ok(()) | Err(Errno::ENOENT) => {}
        Err(e) => return Err(anyhow!("remove /dev/ptmx: {}", errno_text(e))),
    }
    nix::unistd::symlinkat("pts/ptmx", dev.as_fd(), "ptmx")
        .map_err(|e| anyhow!("symlink /dev/ptmx: {}", errno_text(e)))?;
    Ok(())
}
