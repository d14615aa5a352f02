//! The new mount API calls nix lacks: open_tree(2) and mount_setattr(2).

use super::check;
use std::ffi::CStr;
use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};

/// open_tree(OPEN_TREE_CLONE): a new mount of `path` attached nowhere, so it belongs to
/// no mount namespace and cannot be remounted by anyone who only holds the fd.
pub fn open_tree_clone(path: &CStr) -> io::Result<OwnedFd> {
    const OPEN_TREE_CLONE: u32 = 1;
    let flags = OPEN_TREE_CLONE | libc::O_CLOEXEC as u32;
    // SAFETY: `path` is a valid NUL-terminated string; the result is a new fd.
    let fd =
        check(unsafe { libc::syscall(libc::SYS_open_tree, libc::AT_FDCWD, path.as_ptr(), flags) })?;
    // SAFETY: fd is a fresh descriptor returned by the kernel.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as i32) })
}

/// `struct mount_attr` of mount_setattr(2).
#[repr(C)]
struct MountAttr {
    attr_set: u64,
    attr_clr: u64,
    propagation: u64,
    userns_fd: u64,
}

/// mount_setattr(fd, "", AT_EMPTY_PATH): make the mount behind `fd` read-only.
pub fn mount_set_readonly(fd: BorrowedFd) -> io::Result<()> {
    const MOUNT_ATTR_RDONLY: u64 = 0x1;
    mount_setattr(fd, false, MOUNT_ATTR_RDONLY, 0)
}

/// mount_setattr(fd, "", AT_EMPTY_PATH [| AT_RECURSIVE]): set and clear MOUNT_ATTR_*
/// bits on the mount behind `fd` (and, recursively, on every mount below it).
pub fn mount_setattr(fd: BorrowedFd, recursive: bool, set: u64, clr: u64) -> io::Result<()> {
    let attr = MountAttr {
        attr_set: set,
        attr_clr: clr,
        propagation: 0,
        userns_fd: 0,
    };
    let flags = libc::AT_EMPTY_PATH | if recursive { libc::AT_RECURSIVE } else { 0 };
    // SAFETY: `attr` outlives the call and its size is passed; "" is a valid C string.
    check(unsafe {
        libc::syscall(
            libc::SYS_mount_setattr,
            fd.as_raw_fd(),
            c"".as_ptr(),
            flags,
            &attr as *const MountAttr,
            std::mem::size_of::<MountAttr>(),
        )
    })?;
    Ok(())
}
