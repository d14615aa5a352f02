//! The shim is a subreaper: container inits and exec'd processes are reparented to it once
//! the `berth create`/`exec` that made them exits. One thread reaps every child with
//! `waitpid(-1)` and hands each exit to whoever asked for it: a helper we wait for, or a
//! watched task process (reported through the exit callback). An exit nobody asked for yet
//! is kept for a while, since a process can die before its pid file has been read.

use nix::errno::Errno;
use nix::sys::wait::{waitpid, WaitStatus};
use std::collections::{HashMap, VecDeque};
use std::io;
use std::process::{Child, Command};
use std::sync::{Arc, Condvar, Mutex};
use std::time::SystemTime;

/// Exits of pids nobody watched yet, newest last; bounded so strays cannot grow it.
const KEEP_UNCLAIMED: usize = 1024;

/// An exit as containerd wants it: the code (128+N for a signal) and when.
#[derive(Clone, Copy, Debug)]
pub struct Exit {
    pub code: u32,
    pub at: SystemTime,
}

/// Which task process a watched pid is: (container id, exec id or "" for the init).
pub type Key = (String, String);

type OnExit = dyn Fn(&Key, Exit) + Send + Sync;

#[derive(Default)]
struct Table {
    helpers: HashMap<i32, Option<Exit>>,
    watched: HashMap<i32, Key>,
    unclaimed: VecDeque<(i32, Exit)>,
    children: usize,
}

pub struct Reaper {
    table: Mutex<Table>,
    changed: Condvar,
    on_exit: Box<OnExit>,
}

static REAPER: std::sync::OnceLock<Arc<Reaper>> = std::sync::OnceLock::new();

/// The one reaper of this shim (started by `start`).
pub fn get() -> &'static Reaper {
    REAPER.get().expect("reaper started")
}

impl Reaper {
    /// Start the reaping thread; `on_exit` runs on it for every watched process.
    pub fn start(on_exit: Box<OnExit>) -> Arc<Reaper> {
        let r = Arc::new(Reaper {
            table: Mutex::new(Table::default()),
            changed: Condvar::new(),
            on_exit,
        });
        let r2 = r.clone();
        std::thread::Builder::new()
            .name("reaper".into())
            // on_exit runs here, through berth's library (state, cgroup files): room
            // for a debug build's frames too; only the pages touched are resident.
            .stack_size(512 * 1024)
            .spawn(move || r2.run())
            .expect("spawn reaper thread");
        let _ = REAPER.set(r.clone());
        r
    }

    fn run(&self) {
        loop {
            match waitpid(None, None) {
                Ok(WaitStatus::Exited(pid, code)) => self.reaped(pid.as_raw(), code as u32),
                Ok(WaitStatus::Signaled(pid, sig, _)) => {
                    self.reaped(pid.as_raw(), 128 + sig as u32)
                }
                Ok(_) | Err(Errno::EINTR) => {}
                Err(_) => {
                    // No children: sleep until one is spawned (orphans only ever come
                    // from our own children, so none can appear meanwhile).
                    let mut t = self.table.lock().unwrap();
                    while t.children == 0 {
                        t = self.changed.wait(t).unwrap();
                    }
                    t.children = 0;
                }
            }
        }
    }

    fn reaped(&self, pid: i32, code: u32) {
        let exit = Exit {
            code,
            at: SystemTime::now(),
        };
        let mut t = self.table.lock().unwrap();
        if let Some(slot) = t.helpers.get_mut(&pid) {
            *slot = Some(exit);
            self.changed.notify_all();
            return;
        }
        if let Some(key) = t.watched.remove(&pid) {
            drop(t);
            (self.on_exit)(&key, exit);
            return;
        }
        if t.unclaimed.len() == KEEP_UNCLAIMED {
            t.unclaimed.pop_front();
        }
        t.unclaimed.push_back((pid, exit));
    }

    /// Spawn a helper whose exit code only `wait_helper` will collect.
    pub fn spawn(&self, cmd: &mut Command) -> io::Result<Child> {
        let mut t = self.table.lock().unwrap();
        let child = cmd.spawn()?;
        t.helpers.insert(child.id() as i32, None);
        t.children += 1;
        self.changed.notify_all();
        Ok(child)
    }

    /// A long-lived child (a logger) whose exit nobody waits for.
    pub fn spawn_unwatched(&self, cmd: &mut Command) -> io::Result<Child> {
        let mut t = self.table.lock().unwrap();
        let child = cmd.spawn()?;
        t.children += 1;
        self.changed.notify_all();
        Ok(child)
    }

    /// The exit code of a helper from `spawn`.
    pub fn wait_helper(&self, child: Child) -> u32 {
        let pid = child.id() as i32;
        // The Child must not reap it itself (it never does unless asked to wait).
        drop(child);
        let mut t = self.table.lock().unwrap();
        loop {
            if let Some(Some(exit)) = t.helpers.get(&pid) {
                let code = exit.code;
                t.helpers.remove(&pid);
                return code;
            }
            t = self.changed.wait(t).unwrap();
        }
    }

    /// Report `pid`'s exit as `key`'s. If it has already died, its exit is returned
    /// instead (and `on_exit` is not called for it).
    pub fn watch(&self, pid: i32, key: Key) -> Option<Exit> {
        let mut t = self.table.lock().unwrap();
        if let Some(i) = t.unclaimed.iter().position(|(p, _)| *p == pid) {
            return t.unclaimed.remove(i).map(|(_, e)| e);
        }
        t.watched.insert(pid, key);
        None
    }
}

#[cfg(test)]
mod tests {
    use super::Reaper;
    use std::process::Command;
    use std::sync::mpsc;
    use std::sync::Mutex;

    #[test]
    fn exit_codes_are_exact_and_signals_are_128_plus_n() {
        let (tx, rx) = mpsc::channel();
        let tx = Mutex::new(tx);
        let r = Reaper::start(Box::new(move |k, e| {
            tx.lock().unwrap().send((k.clone(), e.code)).unwrap();
        }));
        let run = |script: &str| {
            let child = r.spawn(Command::new("sh").args(["-c", script])).unwrap();
            r.wait_helper(child)
        };
        assert_eq!(run("exit 3"), 3);
        assert_eq!(run("kill -KILL $$"), 137);
        assert_eq!(run("kill -TERM $$"), 143);
        // A watched process: its exit goes to the callback, under its key.
        let child = r
            .spawn_unwatched(
                Command::new("sh")
                    .args(["-c", "read x; exit 9"])
                    .stdin(std::process::Stdio::piped()),
            )
            .unwrap();
        let pid = child.id() as i32;
        let key = ("c1".to_string(), "e1".to_string());
        assert!(r.watch(pid, key.clone()).is_none());
        drop(child);
        assert_eq!(rx.recv().unwrap(), (key, 9));
    }
}
