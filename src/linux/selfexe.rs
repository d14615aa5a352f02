//! Keep a container from overwriting the berth binary on the host (CVE-2019-5736).
//!
//! The init is a clone of berth, so until its final execve its /proc/PID/exe is the
//! berth binary; a container process could grab that link (e.g. via a `#!/proc/self/exe`
//! script) and write the host binary once berth exits. So before making any container
//! process, berth re-executes itself from a read-only, detached bind mount of its own
//! binary: every later /proc/PID/exe then refuses writes (EROFS).
//!
//! The read-only flag is a per-mount flag, and while the open_tree fd is open the mount
//! sits in an anonymous mount namespace where mount_setattr(2) lets anyone with
//! CAP_SYS_ADMIN over their own mount namespace clear it, given an fd at the mount's
//! root — for a one-file bind, /proc/PID/exe itself. The fd is close-on-exec, so
//! execveat closes it and the kernel takes the mount out of that namespace before the
//! new image runs; from then on mount_setattr, a bind remount and open_tree clones of
//! it all fail (EINVAL), and no container process exists before that point. Keeping
//! the fd past the exec (or handing it to a child) would reopen the hole for a
//! privileged container, and integration/selfexe.rs would fail. A binary that already
//! lives on a read-only mount needs none of this and is not re-executed.

use crate::linux::sys;
use anyhow::{anyhow, Result};
use std::ffi::CString;
use std::os::fd::{AsFd, AsRawFd};
use std::os::unix::ffi::OsStrExt;

/// Re-exec from a read-only copy unless already running from one. Returns only if
/// nothing had to be done.
pub fn ensure_readonly() -> Result<()> {
    let st = nix::sys::statvfs::statvfs("/proc/self/exe").map_err(|e| {
        anyhow!(
            "protect binary: statvfs /proc/self/exe: {}",
            crate::errors::errno_text(e)
        )
    })?;
    if st.flags().contains(nix::sys::statvfs::FsFlags::ST_RDONLY) {
        return Ok(());
    }
    let _t = crate::logging::step("protect binary: re-exec from a read-only mount");
    let exe = overlay_exe()?;
    let cstrings = |it: &mut dyn Iterator<Item = Vec<u8>>| -> Vec<CString> {
        it.filter_map(|v| CString::new(v).ok()).collect()
    };
    let argv = cstrings(&mut std::env::args_os().map(|a| a.as_bytes().to_vec()));
    let envp = cstrings(&mut std::env::vars_os().map(|(k, v)| {
        let mut kv = k.as_bytes().to_vec();
        kv.push(b'=');
        kv.extend_from_slice(v.as_bytes());
        kv
    }));
    let err = sys::execveat_fd(exe.as_fd(), &argv, &envp);
    Err(anyhow!(
        "protect binary: re-exec: {}",
        crate::errors::describe_io(&err)
    ))
}

/// The binary as seen through a detached overlayfs whose only layer is the binary's
/// directory: with no upper layer its superblock is read-only.
const EMPTY: &str = "/run/berth-cache/empty";

fn overlay_exe() -> Result<std::os::fd::OwnedFd> {
    use nix::fcntl::{open, openat, OFlag};
    use nix::sys::stat::{fstat, Mode};
    let io = |what: &str, e: std::io::Error| {
        anyhow!("protect binary: {what}: {}", crate::errors::describe_io(&e))
    };
    let nx = |what: &str, e: nix::Error| {
        anyhow!("protect binary: {what}: {}", crate::errors::errno_text(e))
    };
    let path =
        std::fs::read_link("/proc/self/exe").map_err(|e| io("readlink /proc/self/exe", e))?;
    let (Some(dir), Some(name)) = (path.parent(), path.file_name()) else {
        return Err(anyhow!(
            "protect binary: no directory in {}",
            path.display()
        ));
    };
    let flags = OFlag::O_PATH | OFlag::O_CLOEXEC;
    let dirfd =
        open(dir, flags | OFlag::O_DIRECTORY, Mode::empty()).map_err(|e| nx("open dir", e))?;
    let fs = sys::fsopen(c"overlay").map_err(|e| io("fsopen overlay", e))?;
    // Without an upper layer overlayfs wants two lower ones: the second stays empty.
    std::fs::create_dir_all(EMPTY).map_err(|e| io("mkdir", e))?;
    let lower = CString::new(format!("/proc/self/fd/{}:{EMPTY}", dirfd.as_raw_fd())).unwrap();
    sys::fsconfig_set_string(fs.as_fd(), c"lowerdir", &lower)
        .map_err(|e| io("overlay lowerdir", e))?;
    sys::fsconfig_set_string(fs.as_fd(), c"xino", c"off").map_err(|e| io("overlay xino", e))?;
    sys::fsconfig_create(fs.as_fd()).map_err(|e| io("overlay create", e))?;
    const RDONLY_NOSUID_NODEV: u64 = 0x1 | 0x2 | 0x4;
    let mnt = sys::fsmount(fs.as_fd(), RDONLY_NOSUID_NODEV).map_err(|e| io("fsmount", e))?;
    let exe = openat(mnt.as_fd(), name, flags | OFlag::O_NOFOLLOW, Mode::empty())
        .map_err(|e| nx("open in overlay", e))?;
    // The directory may have changed since we started: it must still be our file.
    let (a, b) = (
        fstat(&exe).map_err(|e| nx("fstat", e))?,
        nix::sys::stat::stat("/proc/self/exe").map_err(|e| nx("stat", e))?,
    );
    if (a.st_ino, a.st_size, a.st_ctime, a.st_ctime_nsec)
        != (b.st_ino, b.st_size, b.st_ctime, b.st_ctime_nsec)
    {
        return Err(anyhow!(
            "protect binary: {} changed under berth",
            path.display()
        ));
    }
    Ok(exe)
}
