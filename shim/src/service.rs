//! The shim's shared state and the lifecycle of its tasks: create and start the init,
//! add and start exec'd processes, record exits (from the reaper) and publish events,
//! delete. Every change of a process happens under the one `tasks` lock, so containerd
//! sees each process's events in order (create, start, exit, delete).

use crate::console::ConsoleSocket;
use crate::events::Publisher;
use crate::helper::Berth;
use crate::reaper::{self, Exit, Key};
use crate::state::{timestamp, Proc, Task};
use crate::stdio::{self, Paths};
use anyhow::{anyhow, Context};
use containerd_shim::protos::events::task as ev;
use containerd_shim::protos::ttrpc::{self, Code};
use containerd_shim::ExitSignal;
use std::collections::HashMap;
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, SystemTime};

pub type R<T> = std::result::Result<T, ttrpc::Error>;

pub fn fail(code: Code, msg: impl ToString) -> ttrpc::Error {
    ttrpc::Error::RpcStatus(ttrpc::get_status(code, msg))
}

pub fn internal(e: anyhow::Error) -> ttrpc::Error {
    fail(Code::UNKNOWN, format!("{e:#}"))
}

pub struct Shared {
    pub ns: String,
    /// berth's --root for this namespace.
    pub root: PathBuf,
    pub tasks: Mutex<HashMap<String, Task>>,
    /// Notified whenever a process exits.
    pub exited: Condvar,
    events: Publisher,
    pub exit: Arc<ExitSignal>,
}

impl Shared {
    pub fn new(ns: &str, ttrpc_address: &str, exit: Arc<ExitSignal>) -> Arc<Shared> {
        let events = Publisher::start(ttrpc_address, ns);
        let root = std::env::var_os("BERTH_SHIM_ROOT")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(crate::DEFAULT_ROOT))
            .join(ns);
        let shared = Arc::new(Shared {
            ns: ns.to_string(),
            root,
            tasks: Mutex::new(HashMap::new()),
            exited: Condvar::new(),
            events,
            exit,
        });
        let s2 = shared.clone();
        reaper::Reaper::start(Box::new(move |key, exit| s2.on_exit(key, exit)));
        shared
    }

    pub fn publish<M: containerd_shim::protos::protobuf::Message>(
        &self,
        topic: &'static str,
        e: M,
    ) {
        self.events.publish(topic, e);
    }

    pub fn lock(&self) -> MutexGuard<'_, HashMap<String, Task>> {
        self.tasks.lock().unwrap()
    }

    pub fn berth(&self, bundle: &Path) -> Berth {
        Berth {
            root: self.root.clone(),
            log: bundle.join("berth-log.json"),
        }
    }

    /// A watched process died (called on the reaper thread).
    fn on_exit(&self, key: &Key, exit: Exit) {
        let done = {
            let mut tasks = self.lock();
            let Some(p) = tasks.get_mut(&key.0).and_then(|t| t.proc_mut(&key.1)) else {
                return;
            };
            p.out_done.clone()
        };
        // A terminal's last output is still in the pty: let it reach the client first.
        if let Some(d) = done {
            d.wait(Duration::from_secs(2));
        }
        let mut tasks = self.lock();
        self.record_exit(&mut tasks, key, exit);
    }

    /// Note `exit` for the process `key` and tell containerd (an OOM kill first).
    pub fn record_exit(&self, tasks: &mut HashMap<String, Task>, key: &Key, exit: Exit) {
        let Some(task) = tasks.get_mut(&key.0) else {
            return;
        };
        let Some(p) = task.proc_mut(&key.1) else {
            return;
        };
        p.exit = Some(exit);
        p.close_stdin();
        let pid = p.pid as u32;
        if key.1.is_empty() && self.oom_killed(&key.0) {
            self.publish(
                "/tasks/oom",
                ev::TaskOOM {
                    container_id: key.0.clone(),
                    ..Default::default()
                },
            );
        }
        self.publish(
            "/tasks/exit",
            ev::TaskExit {
                container_id: key.0.clone(),
                id: if key.1.is_empty() {
                    key.0.clone()
                } else {
                    key.1.clone()
                },
                pid,
                exit_status: exit.code,
                exited_at: timestamp(exit.at),
                ..Default::default()
            },
        );
        self.exited.notify_all();
    }

    fn oom_killed(&self, id: &str) -> bool {
        let Ok((st, _)) = berth::container::peek(&self.root, id) else {
            return false;
        };
        st.cgroup
            .as_ref()
            .and_then(berth::cgroups::stats::oom_kills)
            .is_some_and(|n| n > 0)
    }
}

/// The stdio of a new process: for a terminal, a console socket and /dev/null for berth
/// itself; otherwise the process's own fds.
pub struct NewIo {
    pub console: Option<ConsoleSocket>,
    pub fds: Option<[OwnedFd; 3]>,
    pub stdin: Option<stdio::StdinHandle>,
}

pub fn new_io(paths: &Paths, id: &str, ns: &str) -> anyhow::Result<NewIo> {
    if paths.terminal {
        return Ok(NewIo {
            console: Some(ConsoleSocket::new()?),
            fds: None,
            stdin: None,
        });
    }
    let io = stdio::open(paths, id, ns)?;
    Ok(NewIo {
        console: None,
        fds: Some([io.stdin, io.stdout, io.stderr]),
        stdin: io.stdin_handle,
    })
}

/// After berth made the process: take its terminal and start copying.
pub fn finish_io(io: NewIo, p: &mut Proc) -> anyhow::Result<()> {
    p.stdin = io.stdin;
    if let Some(sock) = io.console {
        let master = sock.receive()?;
        let (stdin, done) = stdio::attach_console(&master, &p.paths)?;
        p.stdin = stdin;
        p.out_done = Some(done);
        p.console = Some(master);
    }
    Ok(())
}

/// berth's args for a process with `io`: `--console-socket` for a terminal.
pub fn console_args(io: &NewIo) -> Vec<String> {
    match &io.console {
        Some(c) => vec!["--console-socket".into(), c.path.display().to_string()],
        None => Vec::new(),
    }
}

pub fn now_exit(code: u32) -> Exit {
    Exit {
        code,
        at: SystemTime::now(),
    }
}

/// Mount what containerd passed as the rootfs at BUNDLE/rootfs (with the mount(2) call
/// itself: the crate's helper waits for a child through its own reaper, which this shim
/// replaces).
pub fn mount_rootfs(
    bundle: &Path,
    mounts: &[containerd_shim::protos::types::mount::Mount],
) -> anyhow::Result<Option<PathBuf>> {
    if mounts.is_empty() {
        return Ok(None);
    }
    let target = bundle.join("rootfs");
    std::fs::create_dir_all(&target).context("mkdir rootfs")?;
    for m in mounts {
        let (flags, data) = mount_options(&m.options);
        let r = nix::mount::mount(
            Some(m.source.as_str()),
            &target,
            Some(m.type_.as_str()),
            flags,
            (!data.is_empty()).then_some(data.as_str()),
        );
        if let Err(e) = r {
            unmount_rootfs(&target);
            return Err(anyhow!("mount rootfs ({} {}): {e}", m.type_, m.source));
        }
    }
    Ok(Some(target))
}

/// mount(8)-style options: the flags, and the rest as the filesystem's data.
fn mount_options(options: &[String]) -> (nix::mount::MsFlags, String) {
    use nix::mount::MsFlags as F;
    let mut flags = F::empty();
    let mut data = Vec::new();
    for o in options {
        match o.as_str() {
            "ro" => flags |= F::MS_RDONLY,
            "rw" | "defaults" => {}
            "bind" => flags |= F::MS_BIND,
            "rbind" => flags |= F::MS_BIND | F::MS_REC,
            "nosuid" => flags |= F::MS_NOSUID,
            "nodev" => flags |= F::MS_NODEV,
            "noexec" => flags |= F::MS_NOEXEC,
            "noatime" => flags |= F::MS_NOATIME,
            "relatime" => flags |= F::MS_RELATIME,
            _ => data.push(o.as_str()),
        }
    }
    (flags, data.join(","))
}

pub fn unmount_rootfs(target: &Path) {
    while nix::mount::umount2(target, nix::mount::MntFlags::MNT_DETACH).is_ok() {}
}

#[cfg(test)]
mod tests {
    use super::mount_options;
    use nix::mount::MsFlags as F;

    #[test]
    fn mount_options_split_flags_from_data() {
        let o = |v: &[&str]| mount_options(&v.iter().map(|s| s.to_string()).collect::<Vec<_>>());
        assert_eq!(
            o(&["index=off", "lowerdir=/a:/b", "upperdir=/u", "workdir=/w"]),
            (
                F::empty(),
                "index=off,lowerdir=/a:/b,upperdir=/u,workdir=/w".into()
            )
        );
        assert_eq!(
            o(&["rbind", "ro"]),
            (F::MS_BIND | F::MS_REC | F::MS_RDONLY, String::new())
        );
    }
}
