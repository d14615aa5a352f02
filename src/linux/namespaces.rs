//! Namespaces: which clone flags to use, joining namespaces by path, id maps and
//! time offsets.
//!
//! The parent joins every path namespace except the user namespace *before* the
//! clone (and returns to its own afterwards): it is still root in the host user
//! namespace, so it may enter any of them, and the PID and time namespaces only take
//! effect for children anyway. The init joins a user namespace itself, because that
//! step cannot be undone.

use crate::errors::errno_text;
use crate::spec::namespaces::{ns_name, CLONE_NEWTIME};
use crate::spec::{IdMap, Plan};
use anyhow::{anyhow, Context, Result};
use nix::sched::{setns, unshare, CloneFlags};
use std::fs::File;
use std::os::fd::AsFd;
use std::path::Path;

/// The parent's own namespaces, saved while it stands in the container's ones.
pub struct Restore {
    saved: Vec<(CloneFlags, File)>,
    /// Our working directory, when a joined mount namespace moved us to its root.
    cwd: Option<File>,
}

impl Restore {
    /// Go back to the parent's own namespaces (after the clone).
    pub fn restore(self) -> Result<()> {
        for (flag, f) in self.saved.into_iter().rev() {
            setns(f.as_fd(), flag).map_err(|e| {
                anyhow!(
                    "return to own {} namespace: {}",
                    ns_name(flag),
                    errno_text(e)
                )
            })?;
        }
        if let Some(cwd) = self.cwd {
            nix::unistd::fchdir(cwd.as_fd())
                .map_err(|e| anyhow!("return to own working directory: {}", errno_text(e)))?;
        }
        Ok(())
    }
}

fn own_ns(flag: CloneFlags) -> Result<File> {
    let p = format!("/proc/self/ns/{}", ns_name(flag));
    File::open(&p).with_context(|| format!("open {p}"))
}

/// Join the config's path namespaces (but the user one) and create the time namespace,
/// so that the clone that follows lands in them.
pub fn enter_before_clone(plan: &Plan) -> Result<Restore> {
    let mut restore = Restore {
        saved: Vec::new(),
        cwd: None,
    };
    for j in &plan.namespaces.join {
        if j.flag == CloneFlags::CLONE_NEWUSER {
            continue;
        }
        if j.flag == CloneFlags::CLONE_NEWNS {
            // setns into a mount namespace moves us to its root; coming back does not
            // bring back the directory we were in.
            restore.cwd = Some(File::open(".").context("open working directory")?);
        }
        let target = open_ns_path(j.flag, &j.path)?;
        restore.saved.push((j.flag, own_ns(j.flag)?));
        setns(target.as_fd(), j.flag).map_err(|e| {
            anyhow!(
                "linux.namespaces: join {} namespace {}: {}",
                ns_name(j.flag),
                j.path.display(),
                errno_text(e)
            )
        })?;
    }
    if plan.namespaces.creates(CLONE_NEWTIME) {
        restore.saved.push((CLONE_NEWTIME, own_ns(CLONE_NEWTIME)?));
        unshare(CLONE_NEWTIME)
            .map_err(|e| anyhow!("linux.namespaces: new time namespace: {}", errno_text(e)))?;
        if !plan.time_offsets.is_empty() {
            let text: String = plan
                .time_offsets
                .iter()
                .map(|(clock, s, ns)| format!("{clock} {s} {ns}\n"))
                .collect();
            std::fs::write("/proc/self/timens_offsets", text)
                .map_err(|e| anyhow!("linux.timeOffsets: {}", crate::errors::describe_io(&e)))?;
        }
    }
    Ok(restore)
}

/// Run `f` standing in the mount namespace of process `pid`, with our own credentials
/// (host root), then come back to our namespace and working directory.
pub fn in_mount_ns_of<T>(pid: i32, f: impl FnOnce() -> Result<T>) -> Result<T> {
    let target = File::open(format!("/proc/{pid}/ns/mnt")).map_err(|e| {
        anyhow!(
            "open mount namespace of {pid}: {}",
            crate::errors::describe_io(&e)
        )
    })?;
    let back = Restore {
        saved: vec![(CloneFlags::CLONE_NEWNS, own_ns(CloneFlags::CLONE_NEWNS)?)],
        cwd: Some(File::open(".").context("open working directory")?),
    };
    setns(target.as_fd(), CloneFlags::CLONE_NEWNS)
        .map_err(|e| anyhow!("enter mount namespace of {pid}: {}", errno_text(e)))?;
    let out = f();
    back.restore()?;
    out
}

pub fn open_ns_path(flag: CloneFlags, path: &Path) -> Result<File> {
    File::open(path).map_err(|e| {
        anyhow!(
            "linux.namespaces: {} namespace path {}: {}",
            ns_name(flag),
            path.display(),
            crate::errors::describe_io(&e)
        )
    })
}

/// Flags for the one clone: every new namespace the kernel can create at clone time.
/// Time namespaces were made by `unshare` above, and the cgroup namespace is made by
/// the init once it sits in its final cgroup.
pub fn clone_flags(plan: &Plan) -> u64 {
    let mut f = plan.namespaces.new;
    f.remove(CLONE_NEWTIME);
    f.remove(CloneFlags::CLONE_NEWCGROUP);
    if plan.namespaces.joins(CloneFlags::CLONE_NEWUSER).is_some() {
        // The init joins the user namespace first and creates the rest under it.
        return 0;
    }
    f.bits() as u64
}

fn map_text(maps: &[IdMap]) -> String {
    maps.iter()
        .map(|m| format!("{} {} {}\n", m.container, m.host, m.size))
        .collect()
}

/// Write the init's uid_map and gid_map. Whoever holds CAP_SETUID/CAP_SETGID here (root
/// of the host, or of the user namespace we run in, as under rootless podman) writes any
/// map. An unprivileged user may write only a map of its own single id, a gid map only
/// once setgroups is denied; any other map goes through the setuid helpers
/// newuidmap/newgidmap (Debian's uidmap), which allow the ranges of /etc/subuid and
/// /etc/subgid. The init is still dumpable here, so its /proc files are ours to write.
pub fn write_id_maps(pid: i32, plan: &Plan) -> Result<()> {
    let (uid, gid) = (Ids::uid("linux."), Ids::gid("linux."));
    if has_cap(caps::Capability::CAP_SETUID) || uid.is_own(&plan.uid_map) {
        uid.write(pid, &plan.uid_map)?;
    } else {
        uid.run_helper(pid, &plan.uid_map)?;
    }
    if has_cap(caps::Capability::CAP_SETGID) {
        gid.write(pid, &plan.gid_map)
    } else if gid.is_own(&plan.gid_map) {
        // The kernel's condition for an unprivileged gid map: nobody in the namespace
        // could drop a group with setgroups and so gain access a group denies.
        std::fs::write(format!("/proc/{pid}/setgroups"), "deny").map_err(|e| {
            anyhow!(
                "linux.gidMappings: deny setgroups: {}",
                crate::errors::describe_io(&e)
            )
        })?;
        gid.write(pid, &plan.gid_map)
    } else {
        gid.run_helper(pid, &plan.gid_map)
    }
}

fn has_cap(cap: caps::Capability) -> bool {
    caps::has_cap(None, caps::CapSet::Effective, cap).unwrap_or(false)
}

/// One kind of id map: the config key, the /proc file and the helper that writes it.
struct Ids {
    /// The config key, e.g. "linux.uidMappings" or "mounts[2].gidMappings".
    key: String,
    file: &'static str,
    helper: &'static str,
    /// Our own effective id of this kind.
    own: u32,
}

impl Ids {
    /// `prefix` comes before the key's last part in errors ("linux.", "mounts[2].").
    fn uid(prefix: &str) -> Ids {
        Ids {
            key: format!("{prefix}uidMappings"),
            file: "uid_map",
            helper: "newuidmap",
            own: nix::unistd::geteuid().as_raw(),
        }
    }

    fn gid(prefix: &str) -> Ids {
        Ids {
            key: format!("{prefix}gidMappings"),
            file: "gid_map",
            helper: "newgidmap",
            own: nix::unistd::getegid().as_raw(),
        }
    }

    /// The one map an unprivileged user may write: its own id, once.
    fn is_own(&self, maps: &[IdMap]) -> bool {
        matches!(maps, [m] if m.size == 1 && m.host == self.own)
    }

    fn write(&self, pid: i32, maps: &[IdMap]) -> Result<()> {
        std::fs::write(format!("/proc/{pid}/{}", self.file), map_text(maps)).map_err(|e| {
            let hint = if e.raw_os_error() == Some(libc::EPERM) {
                format!(
                    " (as id {}: host ids other than your own need root)",
                    self.own
                )
            } else {
                String::new()
            };
            anyhow!(
                "{}: write {}: {}{hint}",
                self.key,
                self.file,
                crate::errors::describe_io(&e)
            )
        })
    }

    /// Run newuidmap/newgidmap PID ID HOSTID SIZE...; their own message says what
    /// /etc/subuid (or subgid) does not allow.
    fn run_helper(&self, pid: i32, maps: &[IdMap]) -> Result<()> {
        let mut cmd = std::process::Command::new(self.helper);
        cmd.arg(pid.to_string());
        for m in maps {
            cmd.args([m.container, m.host, m.size].map(|n| n.to_string()));
        }
        let out = cmd
            .stdin(std::process::Stdio::null())
            .output()
            .map_err(|e| {
                anyhow!(
                    "{}: mapping ids other than your own ({}) needs {} (Debian package \
                 uidmap): {}",
                    self.key,
                    self.own,
                    self.helper,
                    crate::errors::describe_io(&e)
                )
            })?;
        if out.status.success() {
            return Ok(());
        }
        let why = String::from_utf8_lossy(&out.stderr);
        let why = why.split_whitespace().collect::<Vec<_>>().join(" ");
        Err(anyhow!(
            "{}: {} refused the mapping ({}): {why}",
            self.key,
            self.helper,
            map_text(maps).trim_end().replace('\n', ", ")
        ))
    }
}

/// `key` prefixes the config keys in errors ("linux.", "mounts[2].").
fn write_maps(pid: i32, uid: &[IdMap], gid: &[IdMap], key: &str) -> Result<()> {
    Ids::uid(key).write(pid, uid)?;
    Ids::gid(key).write(pid, gid)
}

/// A user namespace with these maps (an idmapped mount's): made by a helper process
/// that only waits to be killed; the fd returned keeps the namespace alive.
pub fn userns_with_maps(uid: &[IdMap], gid: &[IdMap], key: &str) -> Result<File> {
    use crate::linux::sys::{self, Forked};
    let flags = CloneFlags::CLONE_NEWUSER.bits() as u64;
    let pid = match sys::clone_process(flags)
        .map_err(|e| anyhow!("{key}uidMappings: new user namespace: {e}"))?
    {
        Forked::Child => {
            let _ = sys::set_parent_death_signal(libc::SIGKILL);
            loop {
                nix::unistd::pause();
            }
        }
        Forked::Parent(pid) => pid,
    };
    let res = write_maps(pid, uid, gid, key).and_then(|()| {
        File::open(format!("/proc/{pid}/ns/user"))
            .map_err(|e| anyhow!("{key}uidMappings: open user namespace: {e}"))
    });
    let pid = nix::unistd::Pid::from_raw(pid);
    let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGKILL);
    let _ = nix::sys::wait::waitpid(pid, None);
    res
}

/// The container's user namespace, once the init exists (and its maps are written).
pub fn container_userns(plan: &Plan, pid: i32) -> Result<File> {
    if let Some(j) = plan.namespaces.joins(CloneFlags::CLONE_NEWUSER) {
        return open_ns_path(j.flag, &j.path);
    }
    File::open(format!("/proc/{pid}/ns/user"))
        .map_err(|e| anyhow!("open the container's user namespace: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn map_text_is_one_line_per_range() {
        let m = [
            IdMap {
                container: 0,
                host: 100000,
                size: 65536,
            },
            IdMap {
                container: 65536,
                host: 5,
                size: 1,
            },
        ];
        assert_eq!(map_text(&m), "0 100000 65536\n65536 5 1\n");
    }
}
