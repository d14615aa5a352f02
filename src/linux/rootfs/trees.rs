//! Bind sources as detached mount trees (open_tree), attached by the init with move_mount.
//!
//! A container with its own user namespace cannot reach what only host root can (a
//! volume below a 0700 directory): its init is root of the new namespace, not of the
//! host. So the parent, still host root, opens those sources itself and passes the trees
//! over the channel. It opens them standing in the init's mount namespace: the copies
//! made there when the namespace was created carry the host's read-only, nosuid, nodev
//! and noexec as *locked* flags, and a tree cloned from them keeps the locks, so the
//! container cannot drop them (a tree opened in the host's own namespace would have
//! none). Without a user namespace the init opens the trees itself, the same way.

use crate::errors::describe_io;
use crate::spec::{MountPlan, Plan};
use anyhow::{anyhow, Result};
use nix::sched::CloneFlags;
use std::cell::RefCell;
use std::os::fd::OwnedFd;
use std::os::unix::ffi::OsStrExt;

/// The trees the parent opened, by `mounts[]` index, until the init attaches them.
#[derive(Default)]
pub struct Trees(RefCell<Vec<(usize, OwnedFd)>>);

impl Trees {
    pub fn add(&self, index: usize, fd: OwnedFd) {
        self.0.borrow_mut().push((index, fd));
    }

    /// The tree of `mounts[index]` if the parent opened it; it is the caller's to close.
    pub fn take(&self, index: usize) -> Option<OwnedFd> {
        let mut v = self.0.borrow_mut();
        let at = v.iter().position(|(i, _)| *i == index)?;
        Some(v.swap_remove(at).1)
    }

    /// Close whatever was not used: no tree may reach the container process.
    pub fn close_all(&self) {
        self.0.borrow_mut().clear();
    }
}

/// Whether the parent must open `m`'s source: a bind mount in a container whose init
/// is not host root.
pub fn opened_by_parent(plan: &Plan, m: &MountPlan) -> bool {
    let ns = &plan.namespaces;
    m.is_bind() && ns.has(CloneFlags::CLONE_NEWNS) && ns.has(CloneFlags::CLONE_NEWUSER)
}

/// A detached copy of `m`'s source (recursive for rbind), as the caller can reach it.
pub fn open_source(m: &MountPlan) -> Result<OwnedFd> {
    let src = m.source.as_deref().expect("bind mounts have a source");
    let c = std::ffi::CString::new(src.as_os_str().as_bytes())
        .map_err(|_| anyhow!("source {}: contains a NUL byte", src.display()))?;
    crate::linux::sys::open_tree_detached(&c, m.opts.recursive_bind)
        .map_err(|e| anyhow!("source {}: {}", src.display(), describe_io(&e)))
}

/// The parent's part, in the init's mount namespace: every tree the init cannot open
/// itself, by `mounts[]` index.
pub fn open_for_init(plan: &Plan) -> Result<Vec<(usize, OwnedFd)>> {
    plan.mounts
        .iter()
        .filter(|m| opened_by_parent(plan, m))
        .map(|m| {
            let fd = open_source(m).map_err(|e| anyhow!("{}: {e:#}", m.key()))?;
            Ok((m.index, fd))
        })
        .collect()
}
