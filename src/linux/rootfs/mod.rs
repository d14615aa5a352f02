//! The container's root filesystem: propagation, mounts, /dev, pivot_root, then the
//! masked and read-only paths. Runs in the init, inside its new mount namespace.

pub mod cgroupfs;
pub mod devices;
pub mod mounts;
mod no_pivot;
pub mod paths;
pub mod remount;
pub mod trees;

use crate::errors::errno_text;
use crate::logging;
use crate::spec::Plan;
use anyhow::{anyhow, bail, Context, Result};
use nix::mount::{mount, umount2, MntFlags, MsFlags};
use nix::sched::CloneFlags;
use remount::MountEnv;
use std::os::fd::{AsFd, BorrowedFd};
use std::path::Path;

/// Everything up to and including pivot_root (or chroot with `no_pivot`).
/// `before_pivot` runs once everything is mounted but the host is still in view
/// (the createRuntime/createContainer hooks' moment).
pub fn prepare(
    plan: &Plan,
    env: &MountEnv,
    no_pivot: bool,
    before_pivot: &mut dyn FnMut() -> Result<()>,
) -> Result<()> {
    let _t = logging::step("rootfs: prepare");
    if !plan.namespaces.has(CloneFlags::CLONE_NEWNS) {
        return chroot_in_host_namespace(plan, before_pivot);
    }
    // Propagation first: from here on nothing we mount leaks back to the host
    // (default rslave), unless the config asked for shared propagation.
    set_root_propagation(before_pivot_propagation(plan.root_propagation))?;
    if plan.root_propagation.contains(MsFlags::MS_SHARED) {
        make_parent_private(&plan.rootfs)?;
    }
    // pivot_root needs the new root to be a mount point.
    mount(
        Some(&plan.rootfs),
        &plan.rootfs,
        None::<&str>,
        MsFlags::MS_BIND | MsFlags::MS_REC,
        None::<&str>,
    )
    .map_err(|e| {
        anyhow!(
            "root.path: bind {}: {}",
            plan.rootfs.display(),
            errno_text(e)
        )
    })?;
    let root = nix::fcntl::open(
        &plan.rootfs,
        nix::fcntl::OFlag::O_PATH | nix::fcntl::OFlag::O_DIRECTORY | nix::fcntl::OFlag::O_CLOEXEC,
        nix::sys::stat::Mode::empty(),
    )
    .with_context(|| format!("root.path: open {}", plan.rootfs.display()))?;

    {
        let _t = logging::step("rootfs: mounts");
        let res = mount_all(root.as_fd(), plan, env);
        env.trees.close_all();
        res?;
    }
    make_cwd(root.as_fd(), plan)?;

    let dev_from_host = plan
        .mounts
        .iter()
        .any(|m| m.is_bind() && m.destination == Path::new("/dev"));
    if !dev_from_host {
        let _t = logging::step("rootfs: devices");
        devices::create_devices(root.as_fd(), &plan.devices, env.userns)
            .context("linux.devices")?;
        devices::create_symlinks(root.as_fd())?;
    }

    before_pivot()?;
    let _t = logging::step("rootfs: pivot_root");
    if no_pivot {
        no_pivot::move_root(&plan.rootfs)
    } else {
        pivot(root.as_fd())
    }?;
    // Shared propagation was set aside above so pivot_root could work; now set it
    // on the new root as the config asks. Unbindable waits for `finalize`.
    if plan.root_propagation.contains(MsFlags::MS_SHARED) {
        set_root_propagation(plan.root_propagation)?;
    }
    Ok(())
}

/// An unbindable "/" (or, recursively, every mount) could not be the source of the
/// rootfs bind, of bind mounts, nor of the binds that make paths read-only or masked:
/// it stays private until the very end of `finalize`.
fn before_pivot_propagation(flags: MsFlags) -> MsFlags {
    if flags.contains(MsFlags::MS_UNBINDABLE) {
        MsFlags::MS_PRIVATE | (flags & MsFlags::MS_REC)
    } else {
        flags
    }
}

/// No mount namespace: the host's mounts are the container's, and nothing may be
/// mounted (it would be on the host, and stay there). Only the root changes.
fn chroot_in_host_namespace(
    plan: &Plan,
    before_pivot: &mut dyn FnMut() -> Result<()>,
) -> Result<()> {
    let root = nix::fcntl::open(
        &plan.rootfs,
        nix::fcntl::OFlag::O_PATH | nix::fcntl::OFlag::O_DIRECTORY | nix::fcntl::OFlag::O_CLOEXEC,
        nix::sys::stat::Mode::empty(),
    )
    .with_context(|| format!("root.path: open {}", plan.rootfs.display()))?;
    make_cwd(root.as_fd(), plan)?;
    before_pivot()?;
    chroot_at(root.as_fd())
}

/// Make `root` our root and cwd (no mount namespace of our own to pivot in): the
/// init's way into its rootfs, and exec's into the root that init chose.
pub fn chroot_at(root: std::os::fd::BorrowedFd) -> Result<()> {
    nix::unistd::fchdir(root).map_err(|e| anyhow!("chroot: chdir: {}", errno_text(e)))?;
    nix::unistd::chroot(".").map_err(|e| anyhow!("chroot: {}", errno_text(e)))?;
    nix::unistd::chdir("/").map_err(|e| anyhow!("chroot: chdir /: {}", errno_text(e)))?;
    Ok(())
}

fn mount_all(root: std::os::fd::BorrowedFd, plan: &Plan, env: &MountEnv) -> Result<()> {
    for m in &plan.mounts {
        if is_readonly_dev(m) {
            // Devices, their symlinks and the mount points below /dev are made first;
            // /dev turns read-only at the end (as runc does).
            let mut rw = m.clone();
            rw.opts.flags.remove(MsFlags::MS_RDONLY);
            mounts::mount_entry(root, &rw, env)?;
        } else {
            mounts::mount_entry(root, m, env)?;
        }
    }
    Ok(())
}

/// A filesystem (not a bind) mounted read-only on /dev: berth must still fill it.
fn is_readonly_dev(m: &crate::spec::MountPlan) -> bool {
    !m.is_bind() && m.destination == Path::new("/dev") && m.opts.flags.contains(MsFlags::MS_RDONLY)
}

fn set_root_propagation(flags: MsFlags) -> Result<()> {
    mount(None::<&str>, "/", None::<&str>, flags, None::<&str>)
        .map_err(|e| anyhow!("linux.rootfsPropagation: set on /: {}", errno_text(e)))
}

/// pivot_root(".", "."): the old root ends up stacked on the new one and is detached
/// right away, so no directory for it is needed inside the rootfs.
fn pivot(root: std::os::fd::BorrowedFd) -> Result<()> {
    let old_root = nix::fcntl::open(
        "/",
        nix::fcntl::OFlag::O_PATH | nix::fcntl::OFlag::O_DIRECTORY | nix::fcntl::OFlag::O_CLOEXEC,
        nix::sys::stat::Mode::empty(),
    )
    .map_err(|e| anyhow!("pivot_root: open old root: {}", errno_text(e)))?;
    nix::unistd::fchdir(root).map_err(|e| anyhow!("pivot_root: chdir: {}", errno_text(e)))?;
    nix::unistd::pivot_root(".", ".").map_err(|e| anyhow!("pivot_root: {}", errno_text(e)))?;
    // "." still names the new root, under the old one now stacked on it: mount(2)
    // would change the new root's propagation, not the old one's. Stand in the old root.
    nix::unistd::fchdir(old_root.as_fd())
        .map_err(|e| anyhow!("pivot_root: chdir to old root: {}", errno_text(e)))?;
    // Make the old root a slave before detaching it, so the unmount cannot
    // propagate to the host when the host's mounts are shared.
    mount(
        None::<&str>,
        ".",
        None::<&str>,
        MsFlags::MS_SLAVE | MsFlags::MS_REC,
        None::<&str>,
    )
    .map_err(|e| anyhow!("pivot_root: make old root slave: {}", errno_text(e)))?;
    umount2(".", MntFlags::MNT_DETACH)
        .map_err(|e| anyhow!("pivot_root: detach old root: {}", errno_text(e)))?;
    nix::unistd::chdir("/").map_err(|e| anyhow!("pivot_root: chdir /: {}", errno_text(e)))?;
    Ok(())
}

/// pivot_root refuses a new root whose parent mount is shared; make that one private.
fn make_parent_private(rootfs: &Path) -> Result<()> {
    let mounts = crate::linux::mountinfo::read_self().context("read mountinfo")?;
    let parent = mounts
        .iter()
        .filter(|m| rootfs.starts_with(&m.mount_point))
        .max_by_key(|m| m.mount_point.len());
    if let Some(m) = parent {
        if m.optional.iter().any(|o| o.starts_with("shared:")) {
            mount(
                None::<&str>,
                m.mount_point.as_str(),
                None::<&str>,
                MsFlags::MS_PRIVATE,
                None::<&str>,
            )
            .map_err(|e| anyhow!("make {} private: {}", m.mount_point, errno_text(e)))?;
        }
    }
    Ok(())
}

/// After pivot_root, hostname and sysctl: read-only and masked paths, then a read-only root.
pub fn finalize(plan: &Plan, userns: bool) -> Result<()> {
    let _t = logging::step("rootfs: masked and readonly paths");
    // Last of all /dev, now that its devices, symlinks and console are in place.
    if let Some(m) = plan
        .mounts
        .iter()
        .rev()
        .find(|m| m.destination == Path::new("/dev"))
    {
        if is_readonly_dev(m) {
            let dev = open_existing(Path::new("/dev"))?
                .ok_or_else(|| anyhow!("{}: /dev vanished", m.key()))?;
            remount::remount_bind(&paths::fd_path(dev.as_fd()), MsFlags::MS_RDONLY, userns)
                .with_context(|| format!("{} (read-only /dev)", m.key()))?;
        }
    }
    for (i, p) in plan.readonly_paths.iter().enumerate() {
        readonly_path(Path::new(p), userns)
            .with_context(|| format!("linux.readonlyPaths[{i}] ({p})"))?;
    }
    let mut null = None;
    for (i, p) in plan.masked_paths.iter().enumerate() {
        mask_path(Path::new(p), &mut null)
            .with_context(|| format!("linux.maskedPaths[{i}] ({p})"))?;
    }
    if plan.readonly_root {
        remount::remount_bind(Path::new("/"), MsFlags::MS_RDONLY, true).context("root.readonly")?;
    }
    // Without a mount namespace "/" is in a host mount, which is not ours to change.
    let own_mounts = plan.namespaces.has(CloneFlags::CLONE_NEWNS);
    if own_mounts && plan.root_propagation.contains(MsFlags::MS_UNBINDABLE) {
        set_root_propagation(plan.root_propagation)?;
    }
    Ok(())
}

fn open_existing(path: &Path) -> Result<Option<std::os::fd::OwnedFd>> {
    let root = paths::open_root()?;
    match paths::open_in_root(root.as_fd(), path) {
        Ok(fd) => Ok(Some(fd)),
        Err(e) if e.raw_os_error() == Some(libc::ENOENT) => Ok(None),
        Err(e) => Err(anyhow!("{}", crate::errors::describe_io(&e))),
    }
}

fn readonly_path(path: &Path, userns: bool) -> Result<()> {
    let Some(fd) = open_existing(path)? else {
        return Ok(());
    };
    let t = paths::fd_path(fd.as_fd());
    mount(
        Some(&t),
        &t,
        None::<&str>,
        MsFlags::MS_BIND | MsFlags::MS_REC,
        None::<&str>,
    )
    .map_err(|e| anyhow!("bind: {}", errno_text(e)))?;
    let again = open_existing(path)?.ok_or_else(|| anyhow!("vanished"))?;
    let _ = userns;
    remount::remount_bind(&paths::fd_path(again.as_fd()), MsFlags::MS_RDONLY, true)
}

/// Cover `path` with an empty read-only tmpfs (a directory) or the null device (a
/// file). `null` is the container's /dev/null, opened and checked on first use.
fn mask_path(path: &Path, null: &mut Option<std::os::fd::OwnedFd>) -> Result<()> {
    let Some(fd) = open_existing(path)? else {
        return Ok(());
    };
    let t = paths::fd_path(fd.as_fd());
    let res = if paths::is_dir(fd.as_fd())? {
        mount(
            Some("tmpfs"),
            &t,
            Some("tmpfs"),
            MsFlags::MS_RDONLY,
            None::<&str>,
        )
    } else {
        let null = match null {
            Some(n) => n,
            None => null.insert(open_dev_null()?),
        };
        mount(
            Some(&paths::fd_path(null.as_fd())),
            &t,
            None::<&str>,
            MsFlags::MS_BIND,
            None::<&str>,
        )
    };
    res.map_err(|e| anyhow!("mask: {}", errno_text(e)))
}

/// The container's /dev/null, held open and checked to be the null device (char 1:3):
/// its /dev may come from the image or a volume, and a symlink or another file there
/// would put that file (say core_pattern) where a masked path should show nothing.
/// Masks bind this very handle, so swapping the name afterwards changes nothing.
fn open_dev_null() -> Result<std::os::fd::OwnedFd> {
    let root = paths::open_root()?;
    let fd = paths::open_in_root_nofollow(root.as_fd(), Path::new("/dev/null"))
        .map_err(|e| anyhow!("/dev/null: {}", crate::errors::describe_io(&e)))?;
    let st = nix::sys::stat::fstat(fd.as_fd())
        .map_err(|e| anyhow!("/dev/null: stat: {}", errno_text(e)))?;
    let is_char = st.st_mode & libc::S_IFMT == libc::S_IFCHR;
    if !is_char || st.st_rdev != nix::sys::stat::makedev(1, 3) {
        bail!("/dev/null is not the null device (character device 1:3); refusing to mask with it");
    }
    Ok(fd)
}

/// runc creates a missing cwd, as root, before the user switch.
fn make_cwd(root: BorrowedFd, plan: &Plan) -> Result<()> {
    let cwd = &plan.process.cwd;
    paths::mkdir_all(root, cwd, 0o755).map_err(|e| {
        anyhow!(
            "process.cwd: {}: {}",
            cwd.display(),
            crate::errors::describe_io(&e)
        )
    })?;
    Ok(())
}
