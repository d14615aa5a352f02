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
//! Idmapped mounts are the parent's too: only host root may idmap a host filesystem, and
//! only on a tree not yet attached.

use crate::errors::describe_io;
use crate::spec::mount_idmap::MountIdmap;
use crate::spec::{MountPlan, Plan};
use anyhow::{anyhow, Result};
use nix::sched::CloneFlags;
use std::cell::RefCell;
use std::fs::File;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
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
/// is not host root, or an idmapped one (only host root may idmap a host filesystem).
pub fn opened_by_parent(plan: &Plan, m: &MountPlan) -> bool {
    let ns = &plan.namespaces;
    m.is_bind()
        && ns.has(CloneFlags::CLONE_NEWNS)
        && (ns.has(CloneFlags::CLONE_NEWUSER) || m.idmap.is_some())
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
/// itself, idmapped where asked, by `mounts[]` index. `container_userns` opens the
/// container's user namespace (for `idmap` without mappings).
pub fn open_for_init(
    plan: &Plan,
    container_userns: &dyn Fn() -> Result<File>,
) -> Result<Vec<(usize, OwnedFd)>> {
    plan.mounts
        .iter()
        .filter(|m| opened_by_parent(plan, m))
        .map(|m| {
            let fd = open_source(m).map_err(|e| anyhow!("{}: {e:#}", m.key()))?;
            if let Some(idmap) = &m.idmap {
                set_idmap(m, idmap, fd.as_fd(), container_userns)?;
            }
            Ok((m.index, fd))
        })
        .collect()
}

/// Map the tree's ids through a user namespace holding the mount's mappings (or the
/// container's own). The kernel wants a tree not yet attached anywhere: this one.
fn set_idmap(
    m: &MountPlan,
    idmap: &MountIdmap,
    tree: BorrowedFd,
    container_userns: &dyn Fn() -> Result<File>,
) -> Result<()> {
    let key = m.key();
    let userns = if idmap.uses_container_maps() {
        container_userns()?
    } else {
        crate::linux::namespaces::userns_with_maps(
            &idmap.uid_map,
            &idmap.gid_map,
            &format!("{key}."),
        )?
    };
    crate::linux::sys::mount_set_idmap(tree, idmap.recursive, userns.as_fd()).map_err(|e| {
        let src = m.source.as_deref().unwrap_or(std::path::Path::new(""));
        let hint = if e.raw_os_error() == Some(libc::EINVAL) {
            " (does its filesystem support idmapped mounts?)"
        } else {
            ""
        };
        anyhow!("{key}: idmap {}: {}{hint}", src.display(), describe_io(&e))
    })
}
