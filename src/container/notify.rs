//! sd_notify passthrough: when berth runs with NOTIFY_SOCKET set (systemd Type=notify,
//! podman --sdnotify=container), the container gets a socket of its own at
//! /run/notify/notify.sock; `start`/`run` wait for its READY=1 and relay it, with
//! MAINPID set to the container's init, to the socket berth was given — as runc does.

use crate::errors::describe_io;
use crate::spec::mount_opts;
use crate::spec::{MountPlan, Plan};
use anyhow::{anyhow, Context, Result};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::time::Duration;

const IN_CONTAINER_DIR: &str = "/run/notify";
const SOCKET_NAME: &str = "notify.sock";

/// The socket berth itself should notify, if any.
pub fn host_socket() -> Option<PathBuf> {
    let s = std::env::var_os("NOTIFY_SOCKET")?;
    let p = PathBuf::from(s);
    p.is_absolute().then_some(p)
}

fn dir_of(state_dir: &Path) -> PathBuf {
    state_dir.join("notify")
}

/// At create: make the directory for the container's socket, bind it read-only at
/// /run/notify and point the process's NOTIFY_SOCKET there.
pub fn prepare(state_dir: &Path, plan: &mut Plan) -> Result<()> {
    let dir = dir_of(state_dir);
    std::fs::create_dir(&dir)
        .with_context(|| format!("NOTIFY_SOCKET: create {}", dir.display()))?;
    let options: Vec<String> = ["bind", "nosuid", "noexec", "nodev", "ro"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    plan.mounts.push(MountPlan {
        index: plan.mounts.len(),
        source: Some(dir),
        destination: PathBuf::from(IN_CONTAINER_DIR),
        fstype: "bind".to_string(),
        opts: mount_opts::parse(&options),
        idmap: None,
    });
    plan.process
        .env
        .retain(|e| !e.starts_with("NOTIFY_SOCKET="));
    plan.process
        .env
        .push(format!("NOTIFY_SOCKET={IN_CONTAINER_DIR}/{SOCKET_NAME}"));
    Ok(())
}

/// At start: listen on the container's socket (before the process runs, so no
/// notification is lost). `None` when there is nothing to relay.
pub fn listen(state_dir: &Path) -> Result<Option<UnixDatagram>> {
    let dir = dir_of(state_dir);
    if host_socket().is_none() || !dir.is_dir() {
        return Ok(None);
    }
    let path = dir.join(SOCKET_NAME);
    // A socket left by an earlier `start` that died; bind reports anything else.
    let _ = std::fs::remove_file(&path);
    let sock = UnixDatagram::bind(&path).map_err(|e| {
        anyhow!(
            "NOTIFY_SOCKET: bind {}: {}",
            path.display(),
            describe_io(&e)
        )
    })?;
    // The container's processes may run as any user.
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o777))?;
    Ok(Some(sock))
}

/// Wait for READY=1 from the container and pass it on with MAINPID; give up quietly
/// when the init exits first.
pub fn relay_ready(sock: &UnixDatagram, init_pid: i32, init_start: u64) -> Result<()> {
    let Some(host) = host_socket() else {
        return Ok(());
    };
    sock.set_read_timeout(Some(Duration::from_millis(100)))?;
    let mut buf = vec![0u8; 4096];
    loop {
        match sock.recv(&mut buf) {
            Ok(n) => {
                let text = String::from_utf8_lossy(&buf[..n]);
                if let Some(line) = text.lines().find(|l| l.starts_with("READY=")) {
                    let msg = format!("{line}\nMAINPID={init_pid}\n");
                    let out = UnixDatagram::unbound()?;
                    out.send_to(msg.as_bytes(), &host).map_err(|e| {
                        anyhow!(
                            "NOTIFY_SOCKET: send to {}: {}",
                            host.display(),
                            describe_io(&e)
                        )
                    })?;
                    return Ok(());
                }
            }
            Err(e)
                if e.kind() == std::io::ErrorKind::WouldBlock
                    || e.kind() == std::io::ErrorKind::TimedOut => {}
            Err(e) => return Err(e).context("NOTIFY_SOCKET: receive"),
        }
        if !crate::container::state::process_alive(init_pid, init_start) {
            return Ok(());
        }
    }
}
