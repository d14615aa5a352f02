//! The directories under /run/berth-cache where berth keeps what is costly to make and
//! the same for many containers (compiled seccomp programs, loaded device programs).
//! A directory and its entries are used only if they are ours and nobody else may write
//! to them; anything else means working without the cache.

use nix::fcntl::OFlag;
use nix::sys::stat::{fstat, Mode, SFlag};
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
