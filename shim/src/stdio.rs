//! A task process's stdio from what containerd passes: fifo paths (opened here and handed
//! to the process itself, so its output never passes through the shim), `file://` paths,
//! `binary://` loggers, or a terminal whose master the shim copies to and from the fifos.
//! Stdin goes through a pipe the shim feeds, so that CloseIO can end it.

use crate::logger;
use anyhow::{anyhow, Context, Result};
use nix::fcntl::OFlag;
use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::os::fd::OwnedFd;
use std::os::unix::fs::OpenOptionsExt;
use std::sync::{Arc, Mutex};

/// The paths containerd gave for one process.
#[derive(Clone, Debug, Default)]
pub struct Paths {
    pub stdin: String,
    pub stdout: String,
    pub stderr: String,
    pub terminal: bool,
}

/// The write end of a process's stdin pipe; None once closed (CloseIO).
pub type StdinHandle = Arc<Mutex<Option<File>>>;

/// The fds a new process gets as its stdio, and what the shim keeps.
pub struct Io {
    pub stdin: OwnedFd,
    pub stdout: OwnedFd,
    pub stderr: OwnedFd,
    pub stdin_handle: Option<StdinHandle>,
}

fn null() -> Result<OwnedFd> {
    Ok(OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/null")?
        .into())
}

/// Open a fifo without waiting for its reader: read-write never blocks, and the process
/// then never gets EPIPE should containerd restart.
fn open_output(path: &str) -> Result<File> {
    OpenOptions::new()
        .read(true)
        .write(true)
        .custom_flags(libc::O_CLOEXEC)
        .open(path)
        .with_context(|| format!("open stdio {path}"))
}

/// Stdio for a process without a terminal. `binary://` loggers need the container id
/// and namespace.
pub fn open(p: &Paths, id: &str, ns: &str) -> Result<Io> {
    let (stdin, stdin_handle) = open_stdin(&p.stdin)?;
    if let Some(uri) = p.stdout.strip_prefix("binary://") {
        let (stdout, stderr) = logger::start(uri, id, ns)?;
        return Ok(Io {
            stdin,
            stdout,
            stderr,
            stdin_handle,
        });
    }
    let stdout = output(&p.stdout)?;
    let stderr = if p.stderr.is_empty() {
        null()?
    } else if p.stderr == p.stdout {
        stdout.try_clone()?
    } else {
        output(&p.stderr)?
    };
    Ok(Io {
        stdin,
        stdout,
        stderr,
        stdin_handle,
    })
}

fn output(path: &str) -> Result<OwnedFd> {
    if path.is_empty() {
        return null();
    }
    if let Some(file) = path.strip_prefix("file://") {
        if let Some(dir) = std::path::Path::new(file).parent() {
            std::fs::create_dir_all(dir).ok();
        }
        let f = OpenOptions::new()
            .append(true)
            .create(true)
            .open(file)
            .with_context(|| format!("open log {file}"))?;
        return Ok(f.into());
    }
    Ok(open_output(path)?.into())
}

/// A pipe whose read end the process gets; a thread copies the fifo into it until the
/// client closes the fifo or CloseIO closes the pipe.
fn open_stdin(path: &str) -> Result<(OwnedFd, Option<StdinHandle>)> {
    if path.is_empty() {
        return Ok((null()?, None));
    }
    let (r, w) = nix::unistd::pipe2(OFlag::O_CLOEXEC)?;
    let handle: StdinHandle = Arc::new(Mutex::new(Some(File::from(w))));
    let h = handle.clone();
    let path = path.to_string();
    spawn_copy("stdin", move || {
        if let Ok(mut fifo) = File::open(&path) {
            copy_into(&mut fifo, |buf| match h.lock().unwrap().as_mut() {
                Some(w) => w.write_all(buf).is_ok(),
                None => false,
            });
        }
        h.lock().unwrap().take();
    });
    Ok((r, Some(handle)))
}

/// Copy `from` in chunks to `sink` until end of file, an error, or `sink` says stop.
pub fn copy_into(from: &mut impl Read, mut sink: impl FnMut(&[u8]) -> bool) {
    let mut buf = [0u8; 8192];
    loop {
        match from.read(&mut buf) {
            Ok(0) => return,
            Ok(n) => {
                if !sink(&buf[..n]) {
                    return;
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(_) => return,
        }
    }
}

pub fn spawn_copy(name: &str, f: impl FnOnce() + Send + 'static) {
    std::thread::Builder::new()
        .name(name.into())
        .stack_size(256 * 1024)
        .spawn(f)
        .expect("spawn copy thread");
}

/// For a terminal: copy the client's stdin fifo to the master and the master to the
/// stdout fifo. Returns the stdin handle (closing it ends the input copy) and a handle
/// that is set once all output has been copied.
pub fn attach_console(master: &File, p: &Paths) -> Result<(Option<StdinHandle>, Done)> {
    let done = Done::default();
    let stdin_handle = if p.stdin.is_empty() {
        None
    } else {
        let h: StdinHandle = Arc::new(Mutex::new(Some(master.try_clone()?)));
        let (h2, path) = (h.clone(), p.stdin.clone());
        spawn_copy("tty-in", move || {
            if let Ok(mut fifo) = File::open(&path) {
                copy_into(&mut fifo, |buf| match h2.lock().unwrap().as_mut() {
                    Some(w) => w.write_all(buf).is_ok(),
                    None => false,
                });
            }
        });
        Some(h)
    };
    let mut out = if p.stdout.is_empty() {
        None
    } else {
        Some(open_output(&p.stdout).map_err(|e| anyhow!("{e:#}"))?)
    };
    let mut m = master.try_clone()?;
    let d = done.clone();
    spawn_copy("tty-out", move || {
        // The master reads EIO once the last holder of the terminal is gone.
        copy_into(&mut m, |buf| match out.as_mut() {
            Some(o) => o.write_all(buf).is_ok(),
            None => true,
        });
        drop(out);
        d.set();
    });
    Ok((stdin_handle, done))
}

/// Set once, waited for by others: "all output copied".
#[derive(Clone, Default)]
pub struct Done(Arc<(Mutex<bool>, std::sync::Condvar)>);

impl Done {
    pub fn set(&self) {
        *self.0 .0.lock().unwrap() = true;
        self.0 .1.notify_all();
    }

    /// Wait at most `limit` for it.
    pub fn wait(&self, limit: std::time::Duration) {
        let g = self.0 .0.lock().unwrap();
        let _ = self.0 .1.wait_timeout_while(g, limit, |done| !*done);
    }
}
