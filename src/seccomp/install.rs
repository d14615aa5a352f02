//! Load the compiled filter in the init (or an exec'd process) with seccomp(2), and hand
//! a notifying profile's listener to the agent at `listenerPath`.

use crate::errors::describe_io;
use crate::logging;
use crate::spec::seccomp::{Listener, SeccompPlan};
use anyhow::{anyhow, bail, Context, Result};
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::fs::FileTypeExt;
use std::os::unix::net::UnixStream;

/// Parent side, before the clone: connect to the agent's socket when the profile
/// notifies. The path is on the host, out of the init's reach after pivot_root, so the init
/// inherits the connected socket.
pub fn connect_agent(plan: Option<&SeccompPlan>) -> Result<Option<OwnedFd>> {
    let Some(l) = plan.and_then(|p| p.listener.as_ref()) else {
        return Ok(None);
    };
    // "failed to connect with seccomp agent" is runc's phrase, which callers match.
    let what = || {
        format!(
            "linux.seccomp.listenerPath: {}: failed to connect with seccomp agent",
            l.path.display()
        )
    };
    let md = std::fs::metadata(&l.path).map_err(|e| anyhow!("{}: {}", what(), describe_io(&e)))?;
    if !md.file_type().is_socket() {
        bail!("{}: not a socket", what());
    }
    let s = UnixStream::connect(&l.path)
        .map_err(|e| anyhow!("{}: connect: {}", what(), describe_io(&e)))?;
    Ok(Some(s.into()))
}

/// Init side (and, later, exec's): load the filter on the calling process and, when it
/// notifies, send the listener with the container process state to the agent on `agent`.
/// `state` is the container's state JSON (runtime-spec `state`, status "creating").
///
/// Called as late as possible: everything after it is subject to the filter.
pub fn install(plan: &SeccompPlan, agent: Option<OwnedFd>, state: &str) -> Result<()> {
    let _t = logging::step("seccomp: install filter");
    // The message is made before the filter is in place: afterwards the init makes only
    // the calls it cannot avoid (seccomp, sendmsg, close).
    let message = match (&plan.listener, &agent) {
        (Some(l), Some(_)) => Some(process_state(l, state)?),
        _ => None,
    };
    let listener =
        crate::linux::sys::seccomp_set_filter(plan.flags, &plan.program).map_err(|e| {
            let hint = match e.raw_os_error() {
                Some(libc::EACCES) => {
                    " (without noNewPrivileges, loading a filter needs CAP_SYS_ADMIN)"
                }
                Some(libc::EINVAL) => " (a flag this kernel does not support?)",
                _ => "",
            };
            anyhow!("linux.seccomp: load the filter: {}{hint}", describe_io(&e))
        })?;
    if let (Some(sock), Some(msg), Some(fd)) = (agent, message, listener) {
        let path = plan.listener.as_ref().map(|l| l.path.display().to_string());
        crate::linux::sys::send_with_fd(sock.as_fd(), msg.as_bytes(), fd.as_fd()).map_err(|e| {
            anyhow!(
                "linux.seccomp.listenerPath: {}: send the listener: {}",
                path.unwrap_or_default(),
                describe_io(&e)
            )
        })?;
        // One state per connection, then the connection is closed (the spec's words):
        // `sock` and our copy of the listener close here.
    }
    Ok(())
}

/// The runtime-spec's "container process state" for the agent.
fn process_state(l: &Listener, state: &str) -> Result<String> {
    let state: serde_json::Value =
        serde_json::from_str(state).context("seccomp: container state")?;
    let mut msg = serde_json::json!({
        "ociVersion": crate::spec::SPEC_VERSION,
        "fds": ["seccompFd"],
        "pid": state["pid"],
        "state": state,
    });
    if let Some(m) = &l.metadata {
        msg["metadata"] = serde_json::Value::from(m.as_str());
    }
    Ok(msg.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn process_state_wraps_the_container_state() {
        let l = Listener {
            path: "/run/agent.sock".into(),
            metadata: Some("m".to_string()),
        };
        let state = r#"{"ociVersion":"1.2.1","id":"c","pid":42,"status":"creating"}"#;
        let msg: serde_json::Value =
            serde_json::from_str(&process_state(&l, state).unwrap()).unwrap();
        assert_eq!(msg["ociVersion"], crate::spec::SPEC_VERSION);
        assert_eq!(msg["fds"], serde_json::json!(["seccompFd"]));
        assert_eq!(
            (msg["pid"].as_i64(), msg["metadata"].as_str()),
            (Some(42), Some("m"))
        );
        assert_eq!(msg["state"]["id"], "c");
    }
}
