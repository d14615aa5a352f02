//! Writes into /proc (sysctl, the process's own attributes) through handles checked to be
//! on a real procfs, so a symlink or a mount laid over part of /proc cannot send the
//! value to another file (such as a host-wide sysctl).
//!
//! /proc is opened without following a symlink, and every file below it with openat2
//! RESOLVE_BENEATH | RESOLVE_NO_XDEV | RESOLVE_NO_MAGICLINKS: the path stays inside that
//! one procfs mount. Sysctl paths may hold no symlink at all. Nothing is ever created.

use crate::linux::sys;
use nix::fcntl::OFlag;
use nix::sys::statfs::{fstatfs, PROC_SUPER_MAGIC};
use std::ffi::CString;
use std::io::{self, Write};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

const BENEATH: u64 = libc::RESOLVE_BENEATH | libc::RESOLVE_NO_XDEV | libc::RESOLVE_NO_MAGICLINKS;

/// Write `value` to /proc/sys/`key` (dots as slashes), e.g. `net.ipv4.ip_forward`.
pub fn write_sysctl(key: &str, value: &str) -> io::Result<()> {
    let proc = open_proc()?;
    let sys = open_beneath(
        proc.as_fd(),
        "sys",
        libc::O_PATH | libc::O_DIRECTORY,
        libc::RESOLVE_NO_SYMLINKS,
    )?;
    let file = open_beneath(
        sys.as_fd(),
        &key.replace('.', "/"),
        libc::O_WRONLY,
        libc::RESOLVE_NO_SYMLINKS,
    )?;
    write_all(file, value.as_bytes())
}

/// Write `value` to /proc/self/`rel` (e.g. "oom_score_adj", "attr/exec"). "self" is
/// procfs's own symlink to our pid directory, which stays beneath /proc.
pub fn write_self(rel: &str, value: &[u8]) -> io::Result<()> {
    let proc = open_proc()?;
    let file = open_beneath(proc.as_fd(), &format!("self/{rel}"), libc::O_WRONLY, 0)?;
    write_all(file, value)
}

/// Whether /proc/self/`rel` exists on our procfs.
pub fn self_has(rel: &str) -> bool {
    open_proc()
        .and_then(|p| open_beneath(p.as_fd(), &format!("self/{rel}"), libc::O_PATH, 0))
        .is_ok()
}

fn open_proc() -> io::Result<OwnedFd> {
    let fd = nix::fcntl::open(
        "/proc",
        OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
        nix::sys::stat::Mode::empty(),
    )?;
    verify(fd.as_fd(), "/proc")?;
    Ok(fd)
}

fn open_beneath(dir: BorrowedFd, rel: &str, flags: i32, resolve: u64) -> io::Result<OwnedFd> {
    let c = CString::new(rel).map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))?;
    // openat2 takes nothing but O_DIRECTORY and O_CLOEXEC with O_PATH.
    let noctty = if flags & libc::O_PATH == 0 {
        libc::O_NOCTTY
    } else {
        0
    };
    let flags = (flags | libc::O_CLOEXEC | noctty) as u64;
    let fd =
        sys::openat2(dir, &c, flags, 0, BENEATH | resolve).map_err(|e| match e.raw_os_error() {
            Some(libc::ELOOP) => refused(rel, "a symlink is on the way"),
            Some(libc::EXDEV) => refused(rel, "another mount is on the way"),
            _ => e,
        })?;
    verify(fd.as_fd(), rel)?;
    Ok(fd)
}

fn verify(fd: BorrowedFd, what: &str) -> io::Result<()> {
    let st = fstatfs(fd)?;
    if st.filesystem_type() != PROC_SUPER_MAGIC {
        return Err(refused(what, "not on procfs"));
    }
    Ok(())
}

fn write_all(fd: OwnedFd, value: &[u8]) -> io::Result<()> {
    std::fs::File::from(fd).write_all(value)
}

fn refused(what: &str, why: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::PermissionDenied,
        format!("{what}: {why} (refused)"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_back_what_procfs_holds_and_refuses_escapes() {
        // Writing the current value back changes nothing on the host.
        let now = std::fs::read_to_string("/proc/sys/kernel/printk_ratelimit").unwrap();
        if nix::unistd::geteuid().is_root() {
            write_sysctl("kernel.printk_ratelimit", now.trim()).unwrap();
        }
        let e = write_sysctl("../self/oom_score_adj", "0").unwrap_err();
        assert!(e.raw_os_error() == Some(libc::EXDEV) || e.to_string().contains("refused"));
        let e = write_sysctl("kernel.no_such_key_here", "1").unwrap_err();
        assert_eq!(e.raw_os_error(), Some(libc::ENOENT));
        assert!(self_has("status"));
        assert!(!self_has("no-such-file"));
    }
}
