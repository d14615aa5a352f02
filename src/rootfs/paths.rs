//! Resolve and create paths inside the rootfs without ever following a symlink out of it.
//!
//! Every lookup goes through openat2(RESOLVE_IN_ROOT): ".." and absolute symlinks stop at
//! the rootfs, as they would inside the container. The caller then mounts onto
//! `/proc/self/fd/N` of the opened O_PATH fd, so the target is exactly what was checked.

use crate::sys;
use std::ffi::CString;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Component, Path, PathBuf};

const RESOLVE: u64 = libc::RESOLVE_IN_ROOT | libc::RESOLVE_NO_MAGICLINKS;

fn relative_cstring(path: &Path) -> io::Result<CString> {
    let rel = path.strip_prefix("/").unwrap_or(path);
    let bytes = if rel.as_os_str().is_empty() {
        b".".as_slice()
    } else {
        rel.as_os_str().as_bytes()
    };
    CString::new(bytes).map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))
}

/// Open `path` (absolute inside the container) as an O_PATH fd, resolved inside `root`.
pub fn open_in_root(root: BorrowedFd, path: &Path) -> io::Result<OwnedFd> {
    let c = relative_cstring(path)?;
    sys::openat2(
        root,
        &c,
        (libc::O_PATH | libc::O_CLOEXEC) as u64,
        0,
        RESOLVE,
    )
}

/// `/proc/self/fd/N`: a path the kernel resolves to exactly the fd's file.
pub fn fd_path(fd: BorrowedFd) -> PathBuf {
    PathBuf::from(format!("/proc/self/fd/{}", fd.as_raw_fd()))
}

/// `mkdir -p` inside `root`; returns an O_PATH fd of the final directory.
pub fn mkdir_all(root: BorrowedFd, path: &Path, mode: u32) -> io::Result<OwnedFd> {
    match open_in_root(root, path) {
        Err(e) if e.raw_os_error() == Some(libc::ENOENT) => {}
        other => return other,
    }
    let mut cur = PathBuf::from("/");
    let mut dir = open_in_root(root, &cur)?;
    for comp in path.components() {
        let Component::Normal(name) = comp else {
            continue;
        };
        cur.push(name);
        match open_in_root(root, &cur) {
            Ok(fd) => dir = fd,
            Err(e) if e.raw_os_error() == Some(libc::ENOENT) => {
                match nix::sys::stat::mkdirat(
                    dir.as_fd(),
                    name,
                    nix::sys::stat::Mode::from_bits_truncate(mode),
                ) {
                    Ok(()) | Err(nix::errno::Errno::EEXIST) => {}
                    Err(e) => return Err(e.into()),
                }
                // Re-resolve from the root: what was just made is what we get.
                dir = open_in_root(root, &cur)?;
            }
            Err(e) => return Err(e),
        }
    }
    Ok(dir)
}

/// Make sure a file exists at `path` (creating parents), for bind-mounting a file onto it.
pub fn ensure_file(root: BorrowedFd, path: &Path) -> io::Result<OwnedFd> {
    match open_in_root(root, path) {
        Err(e) if e.raw_os_error() == Some(libc::ENOENT) => {}
        other => return other,
    }
    let (parent, name) = split(path)?;
    let dir = mkdir_all(root, parent, 0o755)?;
    // O_NOFOLLOW: a symlink planted at the last component is refused, not followed.
    match nix::fcntl::openat(
        dir.as_fd(),
        name,
        nix::fcntl::OFlag::O_CREAT
            | nix::fcntl::OFlag::O_WRONLY
            | nix::fcntl::OFlag::O_NOFOLLOW
            | nix::fcntl::OFlag::O_CLOEXEC,
        nix::sys::stat::Mode::from_bits_truncate(0o644),
    ) {
        Ok(_) | Err(nix::errno::Errno::EEXIST) => {}
        Err(e) => return Err(e.into()),
    }
    open_in_root(root, path)
}

/// (parent directory, last component) of an absolute container path.
pub fn split(path: &Path) -> io::Result<(&Path, &std::ffi::OsStr)> {
    match (path.parent(), path.file_name()) {
        (Some(p), Some(n)) => Ok((p, n)),
        _ => Err(io::Error::from_raw_os_error(libc::EINVAL)),
    }
}

/// The fd of "/" for lookups after pivot_root (magic links still refused).
pub fn open_root() -> io::Result<OwnedFd> {
    let fd = nix::fcntl::open(
        "/",
        nix::fcntl::OFlag::O_PATH | nix::fcntl::OFlag::O_DIRECTORY | nix::fcntl::OFlag::O_CLOEXEC,
        nix::sys::stat::Mode::empty(),
    )?;
    Ok(fd)
}

/// Whether `fd` is a directory.
pub fn is_dir(fd: BorrowedFd) -> io::Result<bool> {
    let st = nix::sys::stat::fstat(fd)?;
    Ok(st.st_mode & libc::S_IFMT == libc::S_IFDIR)
}
