//! Keep a container from overwriting the berth binary on the host (CVE-2019-5736).
//!
//! The init is a clone of berth, so until its final execve its /proc/PID/exe is the
//! berth binary; a container process could grab that link (e.g. via a `#!/proc/self/exe`
//! script) and write the host binary once berth exits. So before making any container
//! process, berth re-executes itself from a read-only, detached bind mount of its own
//! binary: every later /proc/PID/exe then refuses writes (EROFS). (`create` skips this
//! when the container cannot reach its init and the last execve goes through the sealed
//! trampoline: see `trampoline`.)
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
//!
//! An unprivileged user (rootless mode) may not make mounts; berth then re-executes from
//! a sealed in-memory copy of itself instead (a memfd no one can ever write again).

use crate::linux::sys;
use anyhow::{anyhow, Result};
use nix::fcntl::{fcntl, FcntlArg, SealFlag};
use std::ffi::CString;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;

/// Whether we run from a read-only mount or our sealed copy: then no container can
/// write our binary through /proc/PID/exe.
pub fn protected() -> Result<bool> {
    let st = nix::sys::statfs::statfs("/proc/self/exe").map_err(|e| {
        anyhow!(
            "protect binary: statfs /proc/self/exe: {}",
            crate::errors::errno_text(e)
        )
    })?;
    // A memfd lives on tmpfs: only there can we be running from our sealed copy.
    Ok(st.flags().contains(nix::sys::statvfs::FsFlags::ST_RDONLY)
        || (st.filesystem_type() == nix::sys::statfs::TMPFS_MAGIC && running_from_sealed_copy()))
}

/// Re-exec from a read-only copy (the caller found us not `protected`); returns only
/// with the error that kept us from it. The new image finds itself protected.
pub fn reexec_readonly() -> Result<()> {
    let _t = crate::logging::step("protect binary: re-exec from a read-only mount");
    // Close-on-exec is what makes the read-only flag stick: see the module doc.
    let tree = match sys::open_tree_clone(c"/proc/self/exe") {
        Ok(tree) => tree,
        Err(e) if e.raw_os_error() == Some(libc::EPERM) => return reexec(sealed_copy()?),
        Err(e) => {
            return Err(anyhow!(
                "protect binary: open_tree: {}",
                crate::errors::describe_io(&e)
            ))
        }
    };
    sys::mount_set_readonly(tree.as_fd()).map_err(|e| {
        anyhow!(
            "protect binary: mount_setattr: {}",
            crate::errors::describe_io(&e)
        )
    })?;
    reexec(tree)
}

/// Execute `exe` (an fd of our own binary) with our arguments and environment.
fn reexec(exe: OwnedFd) -> Result<()> {
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

/// Whether /proc/self/exe is a memfd sealed against writes (see `sealed_copy`).
fn running_from_sealed_copy() -> bool {
    let Ok(exe) = std::fs::File::open("/proc/self/exe") else {
        return false;
    };
    // Files other than memfds have no seals: EINVAL.
    fcntl(&exe, FcntlArg::F_GET_SEALS)
        .is_ok_and(|s| SealFlag::from_bits_truncate(s).contains(SealFlag::F_SEAL_WRITE))
}

/// A copy of our binary in a memfd sealed so that it can never change (or be resealed).
fn sealed_copy() -> Result<OwnedFd> {
    let _t = crate::logging::step("protect binary: sealed in-memory copy");
    let fail = |what: &str, e: &dyn std::fmt::Display| anyhow!("protect binary: {what}: {e}");
    let mem = nix::sys::memfd::memfd_create(
        c"berth",
        nix::sys::memfd::MFdFlags::MFD_CLOEXEC | nix::sys::memfd::MFdFlags::MFD_ALLOW_SEALING,
    )
    .map_err(|e| fail("memfd_create", &crate::errors::errno_text(e)))?;
    let mut src = std::fs::File::open("/proc/self/exe").map_err(|e| fail("open", &e))?;
    let mut dst = std::fs::File::from(mem);
    std::io::copy(&mut src, &mut dst).map_err(|e| fail("copy", &e))?;
    let seals = SealFlag::F_SEAL_SEAL
        | SealFlag::F_SEAL_SHRINK
        | SealFlag::F_SEAL_GROW
        | SealFlag::F_SEAL_WRITE;
    fcntl(&dst, FcntlArg::F_ADD_SEALS(seals))
        .map_err(|e| fail("seal", &crate::errors::errno_text(e)))?;
    Ok(OwnedFd::from(dst))
}
