//! The directories under /run/berth-cache where berth keeps what is costly to make and
//! the same for many containers (compiled seccomp programs, loaded device programs).
//! A directory and its entries are used only if they are ours and nobody else may write
//! to them; anything else means working without the cache.

use nix::fcntl::{openat, renameat, OFlag};
use nix::sys::stat::{fstat, Mode, SFlag};
use std::io::Write;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::fs::DirBuilderExt;

/// Open (making it if needed) `/run/berth-cache/<name>`; None when it cannot be trusted.
pub fn open(name: &str) -> Option<OwnedFd> {
    let dir = format!("/run/berth-cache/{name}");
    let made = std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(&dir);
    if let Err(e) = made {
        crate::logging::debug(&format!("cache: {dir}: {e}"));
        return None;
    }
    let fd = nix::fcntl::open(
        dir.as_str(),
        OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
    .ok()?;
    if !trusted(fd.as_fd(), SFlag::S_IFDIR) {
        crate::logging::debug(&format!("cache: {dir} is not root's own: not used"));
        return None;
    }
    Some(fd)
}

/// Ours, of the kind expected, and nobody else may write to it.
pub fn trusted(fd: BorrowedFd, kind: SFlag) -> bool {
    fstat(fd).is_ok_and(|st| {
        st.st_uid == nix::unistd::geteuid().as_raw()
            && st.st_mode & libc::S_IFMT == kind.bits()
            && st.st_mode & 0o022 == 0
    })
}

/// Write entry `name` under a temporary name and rename it into place, so a reader sees
/// either no entry or a whole one; first empty the directory if it holds more than
/// `max` entries (ones no longer used are never hit again).
pub fn store(dir: BorrowedFd, name: &str, data: &[u8], max: usize) -> anyhow::Result<()> {
    prune(dir, max);
    let tmp = format!("{name}.{}.tmp", std::process::id());
    let fd = openat(
        dir,
        tmp.as_str(),
        OFlag::O_WRONLY | OFlag::O_CREAT | OFlag::O_EXCL | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
        Mode::from_bits_truncate(0o600),
    )?;
    let written = std::fs::File::from(fd).write_all(data);
    let renamed = written
        .map_err(anyhow::Error::from)
        .and_then(|()| Ok(renameat(dir, tmp.as_str(), dir, name)?));
    if renamed.is_err() {
        // A leftover temp file is only clutter: the next prune takes it.
        let _ = nix::unistd::unlinkat(dir, tmp.as_str(), nix::unistd::UnlinkatFlags::NoRemoveDir);
    }
    renamed
}

/// Empty the directory when it has grown past `max` entries.
fn prune(dir: BorrowedFd, max: usize) {
    let Ok(d) = nix::dir::Dir::openat(
        dir,
        ".",
        OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
        Mode::empty(),
    ) else {
        return;
    };
    let names: Vec<std::ffi::CString> = d
        .into_iter()
        .flatten()
        .map(|e| e.file_name().to_owned())
        .filter(|n| n.as_bytes() != b"." && n.as_bytes() != b"..")
        .collect();
    if names.len() <= max {
        return;
    }
    // The cache is only a cache: an entry that goes is made again when next needed.
    for n in names {
        let _ = nix::unistd::unlinkat(dir, n.as_c_str(), nix::unistd::UnlinkatFlags::NoRemoveDir);
    }
}
