//! `--no-pivot`: move the rootfs over "/" and chroot into it (for ramfs roots, where
//! pivot_root cannot work), without leaving the host's proc and sysfs behind.

use crate::errors::errno_text;
use anyhow::{anyhow, Context, Result};
use nix::errno::Errno;
use nix::mount::{mount, umount2, MntFlags, MsFlags};
use std::path::Path;

pub fn move_root(rootfs: &Path) -> Result<()> {
    detach_host_proc_and_sys(rootfs)?;
    nix::unistd::chdir(rootfs).map_err(|e| anyhow!("no-pivot: chdir: {}", errno_text(e)))?;
    mount(
        Some(rootfs),
        "/",
        None::<&str>,
        MsFlags::MS_MOVE,
        None::<&str>,
    )
    .map_err(|e| anyhow!("no-pivot: move rootfs to /: {}", errno_text(e)))?;
    nix::unistd::chroot(".").map_err(|e| anyhow!("no-pivot: chroot: {}", errno_text(e)))?;
    nix::unistd::chdir("/").map_err(|e| anyhow!("no-pivot: chdir /: {}", errno_text(e)))?;
    Ok(())
}

/// Without pivot_root the host's mounts stay in the container's mount namespace, under
/// the moved rootfs. The kernel lets a process in a new user namespace mount a fresh
/// proc or sysfs when the namespace already holds a fully visible one (no masks over
/// it), wherever it is: the host's would do, and the container's maskedPaths would mean
/// nothing. Detach every whole proc and sysfs outside the rootfs; one the kernel keeps
/// (locked, in a user namespace) is covered with an empty tmpfs instead.
fn detach_host_proc_and_sys(rootfs: &Path) -> Result<()> {
    let mounts = crate::linux::mountinfo::read_self().context("no-pivot: read mountinfo")?;
    let host = mounts.iter().filter(|m| {
        (m.fstype == "proc" || m.fstype == "sysfs")
            && m.root == "/"
            && !Path::new(&m.mount_point).starts_with(rootfs)
    });
    for m in host {
        let p = m.mount_point.as_str();
        // Slave first, so the unmount cannot propagate to the host (shared propagation).
        match mount(
            None::<&str>,
            p,
            None::<&str>,
            MsFlags::MS_SLAVE | MsFlags::MS_REC,
            None::<&str>,
        ) {
            // Gone, or no longer a mount point, with a mount above or below it that was
            // detached already.
            Err(Errno::ENOENT | Errno::EINVAL) => continue,
            Err(e) => return Err(anyhow!("no-pivot: make {p} slave: {}", errno_text(e))),
            Ok(()) => {}
        }
        match umount2(p, MntFlags::MNT_DETACH) {
            Ok(()) => {}
            Err(Errno::EINVAL | Errno::EPERM) => {
                mount(
                    Some("tmpfs"),
                    p,
                    Some("tmpfs"),
                    MsFlags::MS_RDONLY,
                    None::<&str>,
                )
                .map_err(|e| anyhow!("no-pivot: cover {p}: {}", errno_text(e)))?;
            }
            Err(e) => return Err(anyhow!("no-pivot: detach {p}: {}", errno_text(e))),
        }
    }
    Ok(())
}
