//! Per-container state under `--root`: `<root>/<id>/state.json`, a lock, and the
//! container's status read from the live process (guarded against pid reuse).

use anyhow::{anyhow, bail, Context, Result};
use nix::fcntl::{Flock, FlockArg};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::fs::File;
use std::io::Write;
use std::os::fd::AsRawFd;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use crate::spec::SPEC_VERSION;
const STATE_FILE: &str = "state.json";
/// The cgroup alone, written before the cgroup is made (see `save_cgroup`).
const CGROUP_FILE: &str = "cgroup.json";
pub use crate::spawn::init::FIFO_NAME;
const MAX_ID_LEN: usize = 1024;

/// What berth remembers about a container between commands.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct State {
    pub id: String,
    pub pid: i32,
    /// Start time of `pid` in clock ticks since boot (field 22 of /proc/PID/stat):
    /// a pid with another start time is a different, reused process.
    pub pid_start: u64,
    pub bundle: PathBuf,
    pub rootfs: PathBuf,
    pub created: String,
    #[serde(default)]
    pub annotations: HashMap<String, String>,
    /// Whether the container has its own PID namespace (then killing the init kills all).
    #[serde(default)]
    pub own_pid_ns: bool,
    /// The config's hooks: poststart and poststop run from later commands.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hooks: Option<oci_spec::runtime::Hooks>,
    /// The container's cgroup directories (pause, kill --all, ps, delete find them here).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cgroup: Option<crate::cgroups::Cgroup>,
    /// The resources in force, which `update` starts from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources: Option<oci_spec::runtime::LinuxResources>,
    /// `create --no-new-keyring`: the init kept its caller's session keyring, and so
    /// does a process `exec` starts.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub no_new_keyring: bool,
}

impl State {
    /// The state JSON hooks read, with the given status.
    pub fn hook_state(&self, status: &str) -> String {
        crate::spawn::hooks::state_json(&self.id, status, self.pid, &self.bundle, &self.annotations)
    }

    pub fn poststart(&self) -> &[oci_spec::runtime::Hook] {
        self.hooks
            .as_ref()
            .and_then(|h| h.poststart().as_deref())
            .unwrap_or(&[])
    }

    pub fn poststop(&self) -> &[oci_spec::runtime::Hook] {
        self.hooks
            .as_ref()
            .and_then(|h| h.poststop().as_deref())
            .unwrap_or(&[])
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Created,
    Running,
    Paused,
    Stopped,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Created => "created",
            Status::Running => "running",
            Status::Paused => "paused",
            Status::Stopped => "stopped",
        }
    }
}

/// The state JSON that `berth state` prints and hooks read, as runc shapes it.
#[derive(Debug, Serialize)]
pub struct PublicState<'a> {
    #[serde(rename = "ociVersion")]
    pub oci_version: &'a str,
    pub id: &'a str,
    pub pid: i32,
    pub status: &'a str,
    pub bundle: &'a Path,
    pub rootfs: &'a Path,
    pub created: &'a str,
    pub owner: &'a str,
    #[serde(skip_serializing_if = "HashMap::is_empty")]
    pub annotations: &'a HashMap<String, String>,
}

impl State {
    pub fn public<'a>(&'a self, status: Status) -> PublicState<'a> {
        PublicState {
            oci_version: SPEC_VERSION,
            id: &self.id,
            pid: if status == Status::Stopped {
                0
            } else {
                self.pid
            },
            status: status.as_str(),
            bundle: &self.bundle,
            rootfs: &self.rootfs,
            created: &self.created,
            owner: "",
            annotations: &self.annotations,
        }
    }
}

/// Check a container id the way runc does: letters, digits and `_ + - .`, not `.`/`..`.
pub fn validate_id(id: &str) -> Result<()> {
    if id.is_empty() {
        bail!("invalid container id: empty");
    }
    if id.len() > MAX_ID_LEN {
        bail!("invalid container id: longer than {MAX_ID_LEN} bytes");
    }
    if id == "." || id == ".." {
        bail!("invalid container id: {id:?}");
    }
    if let Some(c) = id
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '+' | '-' | '.')))
    {
        bail!("invalid container id {id:?}: character {c:?} is not allowed");
    }
    Ok(())
}

/// Create `--root` (0700) if needed.
pub fn ensure_root(root: &Path) -> Result<()> {
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(root)
        .with_context(|| format!("cannot create state root {}", root.display()))
}

/// A container's state directory, held under an exclusive lock for as long as it lives,
/// so that concurrent commands on one id run one after the other.
#[derive(Debug)]
pub struct ContainerDir {
    pub path: PathBuf,
    pub id: String,
    lock: Flock<File>,
}

impl ContainerDir {
    /// Make the directory for a new container; fails if the id is taken.
    pub fn create(root: &Path, id: &str) -> Result<ContainerDir> {
        validate_id(id)?;
        ensure_root(root)?;
        let path = root.join(id);
        match std::fs::DirBuilder::new().mode(0o711).create(&path) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                return Err(crate::errors::Error::new(
                    crate::errors::Kind::Exists,
                    format!("container with given ID already exists ({id:?})"),
                )
                .into())
            }
            Err(e) => return Err(e).with_context(|| format!("cannot create {}", path.display())),
        }
        let dir = ContainerDir::lock(path, id);
        if dir.is_err() {
            if let Err(e) = std::fs::remove_dir_all(root.join(id)) {
                crate::logging::warn(&format!("create: remove {}: {e}", root.join(id).display()));
            }
        }
        dir
    }

    /// Open and lock an existing container's directory.
    pub fn open(root: &Path, id: &str) -> Result<ContainerDir> {
        validate_id(id)?;
        let path = root.join(id);
        if !path.is_dir() {
            return Err(crate::errors::Error::not_found(id).into());
        }
        ContainerDir::lock(path, id)
    }

    fn lock(path: PathBuf, id: &str) -> Result<ContainerDir> {
        let lock = match std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_DIRECTORY | libc::O_CLOEXEC)
            .open(&path)
        {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(crate::errors::Error::not_found(id).into())
            }
            other => other.with_context(|| format!("cannot open {}", path.display()))?,
        };
        let lock = Flock::lock(lock, FlockArg::LockExclusive).map_err(|(_, e)| {
            anyhow!(
                "cannot lock {}: {}",
                path.display(),
                crate::errors::errno_text(e)
            )
        })?;
        // While we waited, the holder may have deleted the container (and someone may
        // even have made a new one with this id): only the directory we locked counts.
        let locked = lock.metadata()?;
        match std::fs::metadata(&path) {
            Ok(now) if now.ino() == locked.ino() && now.dev() == locked.dev() => {}
            _ => return Err(crate::errors::Error::not_found(id).into()),
        }
        Ok(ContainerDir {
            path,
            id: id.to_string(),
            lock,
        })
    }

    /// The raw fd of the lock, which the init must close so the lock dies with us.
    pub fn lock_fd(&self) -> i32 {
        self.lock.as_raw_fd()
    }

    pub fn fifo(&self) -> PathBuf {
        self.path.join(FIFO_NAME)
    }

    /// Present while processes of the container cannot reach what berth runs in it:
    /// `exec` may then go through the trampoline (see `linux::trampoline`).
    pub fn trampoline_mark(&self) -> PathBuf {
        self.path.join("trampoline")
    }

    pub fn load(&self) -> Result<State> {
        read_state(&self.path)?
            .ok_or_else(|| anyhow!("container {:?} is still being created", self.id))
    }

    /// Write state.json atomically (temp file + rename) so readers never see half of it.
    pub fn save(&self, state: &State) -> Result<()> {
        self.write_atomic(STATE_FILE, &serde_json::to_vec(state)?)
    }

    /// Record the container's cgroup before it is made: should `create` die before
    /// state.json is written, or state.json be lost, `delete --force` still finds the
    /// cgroup, and through it every process of the container.
    pub fn save_cgroup(&self, cg: &crate::cgroups::Cgroup) -> Result<()> {
        self.write_atomic(CGROUP_FILE, &serde_json::to_vec(cg)?)
    }

    fn write_atomic(&self, name: &str, data: &[u8]) -> Result<()> {
        let tmp = self.path.join(format!(".{name}.tmp"));
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .custom_flags(libc::O_CLOEXEC)
            .open(&tmp)
            .with_context(|| format!("cannot write {}", tmp.display()))?;
        f.write_all(data)?;
        std::fs::rename(&tmp, self.path.join(name))
            .with_context(|| format!("cannot save {name}"))?;
        Ok(())
    }

    pub fn status(&self, state: &State) -> Status {
        status_of(&self.path, state)
    }

    pub fn remove(self) -> Result<()> {
        std::fs::remove_dir_all(&self.path)
            .with_context(|| format!("cannot remove {}", self.path.display()))
    }
}

/// Read `<dir>/state.json` without locking: `None` while the container is being created.
pub fn read_state(dir: &Path) -> Result<Option<State>> {
    match std::fs::read(dir.join(STATE_FILE)) {
        Ok(data) => Ok(Some(serde_json::from_slice(&data).with_context(|| {
            format!("corrupt state file {}", dir.join(STATE_FILE).display())
        })?)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e).with_context(|| format!("cannot read {}", dir.join(STATE_FILE).display())),
    }
}

/// The cgroup `create` recorded in `<dir>/cgroup.json`, if it got that far.
pub fn read_cgroup(dir: &Path) -> Option<crate::cgroups::Cgroup> {
    let data = std::fs::read(dir.join(CGROUP_FILE)).ok()?;
    serde_json::from_slice(&data).ok()
}

/// What can be shown of a container whose state.json does not parse: its id, and the
/// time its directory last changed as its creation time. It shows as stopped.
pub fn unreadable(dir: &Path, id: &str) -> State {
    let changed = std::fs::metadata(dir).and_then(|m| m.modified());
    State {
        id: id.to_string(),
        pid: 0,
        pid_start: 0,
        bundle: PathBuf::new(),
        rootfs: PathBuf::new(),
        created: changed
            .map(crate::timefmt::rfc3339_nano)
            .unwrap_or_default(),
        annotations: HashMap::new(),
        own_pid_ns: false,
        hooks: None,
        cgroup: None,
        resources: None,
        no_new_keyring: false,
    }
}

/// The status of a container from its live process and its exec.fifo.
pub fn status_of(dir: &Path, state: &State) -> Status {
    if !process_alive(state.pid, state.pid_start) {
        return Status::Stopped;
    }
    if state
        .cgroup
        .as_ref()
        .is_some_and(crate::cgroups::freezer::is_frozen)
    {
        return Status::Paused;
    }
    if dir.join(FIFO_NAME).exists() {
        Status::Created
    } else {
        Status::Running
    }
}

/// Alive means: exists, is not a zombie, and is the same process we started.
pub fn process_alive(pid: i32, start: u64) -> bool {
    if pid <= 0 {
        return false;
    }
    match crate::linux::procfs::stat(pid) {
        Some(s) => s.start_time == start && s.state != 'Z' && s.state != 'X',
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_checked() {
        for ok in ["c1", "a.b-c_d+e", "x".repeat(1024).as_str()] {
            assert!(validate_id(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            ".",
            "..",
            "../x",
            "a/b",
            "a b",
            "x".repeat(1025).as_str(),
            "é",
        ] {
            assert!(validate_id(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn reads_own_stat() {
        let me = std::process::id() as i32;
        let start = crate::linux::procfs::stat(me).unwrap().start_time;
        assert!(process_alive(me, start));
        assert!(!process_alive(me, start + 1));
        assert!(!process_alive(0, 0));
    }

    #[test]
    fn state_dir_lifecycle() {
        let root = std::env::temp_dir().join(format!("berth-state-test-{}", std::process::id()));
        let dir = ContainerDir::create(&root, "c1").unwrap();
        let st = State {
            id: "c1".into(),
            pid: std::process::id() as i32,
            pid_start: crate::linux::procfs::stat(0).unwrap().start_time,
            bundle: "/b".into(),
            rootfs: "/b/rootfs".into(),
            created: "now".into(),
            annotations: HashMap::new(),
            own_pid_ns: true,
            hooks: None,
            cgroup: None,
            resources: None,
            no_new_keyring: false,
        };
        dir.save(&st).unwrap();
        assert_eq!(dir.load().unwrap().pid, st.pid);
        assert_eq!(dir.status(&st), Status::Running);
        assert!(ContainerDir::create(&root, "c1")
            .unwrap_err()
            .to_string()
            .contains("already exists"));
        dir.remove().unwrap();
        assert!(ContainerDir::open(&root, "c1")
            .unwrap_err()
            .to_string()
            .contains("does not exist"));
        std::fs::remove_dir_all(&root).unwrap();
    }
}
