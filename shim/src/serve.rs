//! Serving: the shim process containerd talks to. Done here rather than by the crate's
//! `run`, for two reasons: containerd 1.6 and 1.7 call the task service
//! `containerd.task.v2.Task` while the crate registers only `v3` (the messages are the
//! same), so both names are registered; and the ttrpc server's thread pool is kept small
//! (memory per container is what a shim costs).

use crate::service::Shared;
use crate::task::Service;
use anyhow::{anyhow, Context, Result};
use containerd_shim::protos::shim::shim_ttrpc::create_task;
use containerd_shim::protos::ttrpc::Server;
use containerd_shim::{ExitSignal, Flags, Task};
use std::os::fd::IntoRawFd;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::Path;
use std::sync::Arc;

/// Serve the task API on `flags.socket` until the last task is gone and containerd says
/// Shutdown. Returns once the server has stopped.
pub fn serve(flags: &Flags) -> Result<()> {
    if flags.socket.is_empty() || flags.namespace.is_empty() {
        return Err(anyhow!("-socket and -namespace are required"));
    }
    set_subreaper()?;
    // One malloc arena: a shim's threads mostly wait, and each arena of its own would
    // stay resident (memory per container is what a shim costs).
    // SAFETY: mallopt only sets an allocator parameter; called before other threads exist.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 1);
    }
    let path = flags
        .socket
        .strip_prefix("unix://")
        .unwrap_or(&flags.socket);
    let Some(listener) = listen(path)? else {
        // The group's shim already serves this socket: containerd gets its address.
        containerd_shim::util::write_address(&flags.socket)?;
        server_started();
        return Ok(());
    };
    let _ = containerd_shim::logger::init(flags.debug, "info", &flags.namespace, &flags.id);
    // Our stderr goes nowhere: a panic is told to containerd's log instead.
    std::panic::set_hook(Box::new(|info| log::error!("shim panicked: {info}")));
    let ttrpc = std::env::var("TTRPC_ADDRESS").context("TTRPC_ADDRESS")?;
    let exit = Arc::new(ExitSignal::default());
    let service = Service {
        s: Shared::new(&flags.namespace, &ttrpc, exit.clone()),
    };
    let service: Arc<dyn Task + Send + Sync> = Arc::new(service);
    let mut methods = create_task(service.clone());
    let v2 = create_task(service)
        .into_iter()
        .map(|(k, h)| (k.replace(".task.v3.", ".task.v2."), h));
    methods.extend(v2);
    let mut server = Server::new()
        .set_thread_count_default(2)
        .set_thread_count_min(1)
        .set_thread_count_max(32)
        .add_listener(listener.into_raw_fd())?
        .register_service(methods);
    server.start()?;
    server_started();
    crate::trim::text();
    exit.wait();
    server.shutdown();
    let _ = std::fs::remove_file(path);
    Ok(())
}

/// Bind the socket; None when a live shim already listens there.
fn listen(path: &str) -> Result<Option<UnixListener>> {
    if let Some(dir) = Path::new(path).parent() {
        std::fs::create_dir_all(dir)?;
    }
    match UnixListener::bind(path) {
        Ok(l) => Ok(Some(l)),
        Err(e) if e.kind() == std::io::ErrorKind::AddrInUse => {
            if UnixStream::connect(path).is_ok() {
                return Ok(None);
            }
            std::fs::remove_file(path)?;
            Ok(Some(UnixListener::bind(path)?))
        }
        Err(e) => Err(anyhow!("listen on {path}: {e}")),
    }
}

fn set_subreaper() -> Result<()> {
    // SAFETY: PR_SET_CHILD_SUBREAPER takes an integer flag and touches no memory of ours.
    let r = unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) };
    if r < 0 {
        return Err(anyhow!(
            "set subreaper: {}",
            std::io::Error::last_os_error()
        ));
    }
    Ok(())
}

/// `start` reads our stdout until it closes: point it at stderr now that we serve.
fn server_started() {
    // SAFETY: dup2 on the standard fds only; nothing holds references to fd 1's file.
    unsafe {
        libc::dup2(libc::STDERR_FILENO, libc::STDOUT_FILENO);
    }
}
