//! Resolve and create paths inside the rootfs without ever following a symlink out of it.
//!
//! Every lookup goes through openat2(RESOLVE_IN_ROOT): ".." and absolute symlinks stop at
//! the rootfs, as they would inside the container. The caller then mounts onto
//! `/proc/self/fd/N` of the opened O_PATH fd, so the target is exactly what was checked.

use crate::linux::sys;
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

/// Like `open_in_root`, but a symlink as the last component is opened itself, not
/// followed (the caller checks what it got).
pub fn open_in_root_nofollow(root: BorrowedFd, path: &Path) -> io::Result<OwnedFd> {
    let c = relative_cstring(path)?;
    sys::openat2(
        root,
        &c,
        (libc::O_PATH | libc::O_NOFOLLOW | libc::O_CLOEXEC) as u64,
        0,
        RESOLVE,
    )
}

/// `/proc/self/fd/N`: a path the kernel resolves to exactly the fd's file.
pub fn fd_path(fd: BorrowedFd) -> PathBuf {
    PathBuf::from(format!("/proc/self/fd/{}", fd.as_raw_fd()))
}

/// Symlinks followed while creating a path, before giving up (the kernel's own limit).
const MAX_LINKS: u32 = 40;

/// `mkdir -p` inside `root`; returns an O_PATH fd of the final directory.
/// A dangling symlink on the way is resolved inside the rootfs and its target made,
/// as runc does, rather than failing or following it out of the rootfs.
pub fn mkdir_all(root: BorrowedFd, path: &Path, mode: u32) -> io::Result<OwnedFd> {
    mkdir_all_depth(root, path, mode, 0)
}

fn mkdir_all_depth(root: BorrowedFd, path: &Path, mode: u32, links: u32) -> io::Result<OwnedFd> {
    match open_in_root(root, path) {
        Err(e) if e.raw_os_error() == Some(libc::ENOENT) => {}
        other => return other,
    }
    let mut cur = PathBuf::from("/");
    let mut dir = open_in_root(root, &cur)?;
    let comps: Vec<&std::ffi::OsStr> = path
        .components()
        .filter_map(|c| match c {
            Component::Normal(n) => Some(n),
            _ => None,
        })
        .collect();
    for (i, name) in comps.iter().enumerate() {
        cur.push(name);
        match open_in_root(root, &cur) {
            Ok(fd) => dir = fd,
            Err(e) if e.raw_os_error() == Some(libc::ENOENT) => {
                if let Some(target) = link_target(dir.as_fd(), root, name)? {
                    if links >= MAX_LINKS {
                        return Err(io::Error::from_raw_os_error(libc::ELOOP));
                    }
                    let mut rest = target;
                    for c in &comps[i + 1..] {
                        rest.push(c);
                    }
                    return mkdir_all_depth(root, &rest, mode, links + 1);
                }
                match nix::sys::stat::mkdirat(
                    dir.as_fd(),
                    *name,
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

/// If `name` in `dir` is a symlink, the container path it points to (resolved inside
/// the rootfs: absolute targets start at the rootfs, relative ones at `dir`).
fn link_target(
    dir: BorrowedFd,
    root: BorrowedFd,
    name: &std::ffi::OsStr,
) -> io::Result<Option<PathBuf>> {
    let target = match nix::fcntl::readlinkat(dir, name) {
        Ok(t) => PathBuf::from(t),
        Err(nix::errno::Errno::EINVAL) | Err(nix::errno::Errno::ENOENT) => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    if target.is_absolute() {
        return Ok(Some(crate::spec::clean_container_path(&target)));
    }
    let base = container_path_of(root, dir)?;
    Ok(Some(crate::spec::clean_container_path(&base.join(target))))
}

/// The container path of `fd` (a directory inside `root`), from the kernel's own
/// record of both paths.
pub fn container_path_of(root: BorrowedFd, fd: BorrowedFd) -> io::Result<PathBuf> {
    let r = std::fs::read_link(fd_path(root))?;
    let p = std::fs::read_link(fd_path(fd))?;
    let rel = p
        .strip_prefix(&r)
        .map_err(|_| io::Error::from_raw_os_error(libc::EXDEV))?;
    Ok(Path::new("/").join(rel))
}

/// Open where `m` goes (a directory, or a file for a bind of one), making it if needed,
/// and refuse it if it really lies in /proc: a symlink in the image may lead a
/// harmless-looking destination there.
pub fn open_target(
    root: BorrowedFd,
    m: &crate::spec::MountPlan,
    dir: bool,
) -> anyhow::Result<OwnedFd> {
    let fail = |e: io::Error| anyhow::anyhow!("destination: {}", crate::errors::describe_io(&e));
    let target = if dir {
        mkdir_all(root, &m.destination, 0o755)
    } else {
        ensure_file(root, &m.destination)
    }
    .map_err(fail)?;
    let real = container_path_of(root, target.as_fd()).map_err(fail)?;
    m.check_proc_destination(&real)?;
    Ok(target)
}

/// Make sure a file exists at `path` (creating parents), for bind-mounting a file onto it.
pub fn ensure_file(root: BorrowedFd, path: &Path) -> io::Result<OwnedFd> {
    ensure_file_depth(root, path, 0)
}

fn ensure_file_depth(root: BorrowedFd, path: &Path, links: u32) -> io::Result<OwnedFd> {
    match open_in_root(root, path) {
        Err(e) if e.raw_os_error() == Some(libc::ENOENT) => {}
        other => return other,
    }
    let (parent, name) = split(path)?;
    let dir = mkdir_all(root, parent, 0o755)?;
    if let Some(target) = link_target(dir.as_fd(), root, name)? {
        if links >= MAX_LINKS {
            return Err(io::Error::from_raw_os_error(libc::ELOOP));
        }
        return ensure_file_depth(root, &target, links + 1);
    }
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
