//! The new mount API calls nix lacks: open_tree(2), move_mount(2) and mount_setattr(2).

use super::check;
use std::ffi::CStr;
use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};

/// open_tree(OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC): a new mount of `path` attached nowhere.
/// While the fd is open the mount lives in an anonymous mount namespace whose flags
/// anyone with CAP_SYS_ADMIN can change through it; once the fd is closed (as execveat
/// closes it) the mount leaves that namespace and mount_setattr refuses it.
pub fn open_tree_clone(path: &CStr) -> io::Result<OwnedFd> {
    const OPEN_TREE_CLONE: u32 = 1;
    let flags = OPEN_TREE_CLONE | libc::O_CLOEXEC as u32;
    // SAFETY: `path` is a valid NUL-terminated string; the result is a new fd.
    let fd =
        check(unsafe { libc::syscall(libc::SYS_open_tree, libc::AT_FDCWD, path.as_ptr(), flags) })?;
    // SAFETY: fd is a fresh descriptor returned by the kernel.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as i32) })
}

/// open_tree(path, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC [| AT_RECURSIVE]): a detached
/// copy of the mount (or, recursive, the mount tree) at `path`, as `mount --bind` would
/// attach it. The copy belongs to the caller's mount namespace's owner until it is moved.
pub fn open_tree_detached(path: &CStr, recursive: bool) -> io::Result<OwnedFd> {
    const OPEN_TREE_CLONE: u32 = 1;
    let mut flags = OPEN_TREE_CLONE | libc::O_CLOEXEC as u32;
    if recursive {
        flags |= libc::AT_RECURSIVE as u32;
    }
    // SAFETY: `path` is a valid NUL-terminated string; the result is a new fd.
    let fd =
        check(unsafe { libc::syscall(libc::SYS_open_tree, libc::AT_FDCWD, path.as_ptr(), flags) })?;
    // SAFETY: fd is a fresh descriptor returned by the kernel.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as i32) })
}

/// move_mount(tree, "", target, "", F_EMPTY_PATH | T_EMPTY_PATH): attach the detached
/// tree behind `tree` on top of what `target` (an O_PATH fd) is.
pub fn move_mount(tree: BorrowedFd, target: BorrowedFd) -> io::Result<()> {
    const MOVE_MOUNT_F_EMPTY_PATH: u32 = 0x4;
    const MOVE_MOUNT_T_EMPTY_PATH: u32 = 0x40;
    // SAFETY: both fds are valid for the call; "" is a valid C string.
    check(unsafe {
        libc::syscall(
            libc::SYS_move_mount,
            tree.as_raw_fd(),
            c"".as_ptr(),
            target.as_raw_fd(),
            c"".as_ptr(),
            MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH,
        )
    })?;
    Ok(())
}

/// mount_setattr(MOUNT_ATTR_IDMAP): map the ids of the detached mount behind `tree`
/// (recursively: of every mount in it) through the user namespace `userns`.
pub fn mount_set_idmap(tree: BorrowedFd, recursive: bool, userns: BorrowedFd) -> io::Result<()> {
    const MOUNT_ATTR_IDMAP: u64 = 0x0010_0000;
    let attr = MountAttr {
        attr_set: MOUNT_ATTR_IDMAP,
        attr_clr: 0,
        propagation: 0,
        userns_fd: userns.as_raw_fd() as u64,
    };
    setattr(tree, recursive, &attr)
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
    setattr(fd, recursive, &attr)
}

fn setattr(fd: BorrowedFd, recursive: bool, attr: &MountAttr) -> io::Result<()> {
    let flags = libc::AT_EMPTY_PATH | if recursive { libc::AT_RECURSIVE } else { 0 };
    // SAFETY: `attr` outlives the call and its size is passed; "" is a valid C string.
    check(unsafe {
        libc::syscall(
            libc::SYS_mount_setattr,
            fd.as_raw_fd(),
            c"".as_ptr(),
            flags,
            attr as *const MountAttr,
            std::mem::size_of::<MountAttr>(),
        )
    })?;
    Ok(())
}
