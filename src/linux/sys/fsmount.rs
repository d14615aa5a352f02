//! The filesystem-context mount calls nix lacks: fsopen(2), fsconfig(2) and fsmount(2).

use super::check;
use std::ffi::CStr;
use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};

/// fsopen(name, FSOPEN_CLOEXEC): a configuration context for a new `name` superblock.
pub fn fsopen(name: &CStr) -> io::Result<OwnedFd> {
    const FSOPEN_CLOEXEC: u32 = 1;
    // SAFETY: `name` is a valid NUL-terminated string; the result is a new fd.
    let fd = check(unsafe { libc::syscall(libc::SYS_fsopen, name.as_ptr(), FSOPEN_CLOEXEC) })?;
    // SAFETY: fd is a fresh descriptor returned by the kernel.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as i32) })
}

/// fsconfig(FSCONFIG_SET_STRING): set the mount option `key` to `value`.
pub fn fsconfig_set_string(fs: BorrowedFd, key: &CStr, value: &CStr) -> io::Result<()> {
    const FSCONFIG_SET_STRING: u32 = 1;
    // SAFETY: both strings are valid and NUL-terminated; aux must be 0 for this command.
    check(unsafe {
        libc::syscall(
            libc::SYS_fsconfig,
            fs.as_raw_fd(),
            FSCONFIG_SET_STRING,
            key.as_ptr(),
            value.as_ptr(),
            0,
        )
    })?;
    Ok(())
}

/// fsconfig(FSCONFIG_CMD_CREATE): make the superblock the context describes.
pub fn fsconfig_create(fs: BorrowedFd) -> io::Result<()> {
    const FSCONFIG_CMD_CREATE: u32 = 6;
    // SAFETY: key and value must be NULL and aux 0 for this command.
    check(unsafe {
        libc::syscall(
            libc::SYS_fsconfig,
            fs.as_raw_fd(),
            FSCONFIG_CMD_CREATE,
            std::ptr::null::<libc::c_char>(),
            std::ptr::null::<libc::c_void>(),
            0,
        )
    })?;
    Ok(())
}

/// fsmount(fs, FSMOUNT_CLOEXEC, attrs): a detached mount of the created superblock, with
/// the MOUNT_ATTR_* bits `attrs`.
pub fn fsmount(fs: BorrowedFd, attrs: u64) -> io::Result<OwnedFd> {
    const FSMOUNT_CLOEXEC: u32 = 1;
    // SAFETY: plain integer arguments; the result is a new fd.
    let fd =
        check(unsafe { libc::syscall(libc::SYS_fsmount, fs.as_raw_fd(), FSMOUNT_CLOEXEC, attrs) })?;
    // SAFETY: fd is a fresh descriptor returned by the kernel.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as i32) })
}
