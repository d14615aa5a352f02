//! OCI hooks: run each one with the container state on stdin, its own env and args,
//! and its timeout; report which hook failed and how.

use crate::errors::describe_io;
use crate::spec::SPEC_VERSION;
use anyhow::{anyhow, bail, Context, Result};
use oci_spec::runtime::Hook;
use serde::Serialize;
use std::collections::HashMap;
use std::io::{Read, Write};
use std::os::fd::AsFd;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The state a hook reads on stdin, in the runtime-spec's shape.
#[derive(Debug, Serialize)]
pub struct HookState<'a> {
    #[serde(rename = "ociVersion")]
    pub oci_version: &'a str,
    pub id: &'a str,
    pub status: &'a str,
    pub pid: i32,
    pub bundle: &'a Path,
    #[serde(skip_serializing_if = "HashMap::is_empty")]
    pub annotations: &'a HashMap<String, String>,
}

pub fn state_json(
    id: &str,
    status: &str,
    pid: i32,
    bundle: &Path,
    annotations: &HashMap<String, String>,
) -> String {
    let s = HookState {
        oci_version: SPEC_VERSION,
        id,
        status,
        pid,
        bundle,
        annotations,
    };
    serde_json::to_string(&s).unwrap_or_default()
}

/// The same state JSON with another status (the init only has the parent's copy).
/// Edited as JSON, so an annotation that happens to read "creating" is left alone.
pub fn with_status(state: &str, status: &str) -> String {
    match serde_json::from_str::<serde_json::Value>(state) {
        Ok(mut v) => {
            v["status"] = status.into();
            v.to_string()
        }
        Err(_) => state.to_string(),
    }
}

/// Run `hooks` (of kind `kind`, e.g. "createRuntime") one after the other; the first
/// failure stops the rest and is returned, naming the hook.
pub fn run_all(kind: &str, hooks: &[Hook], state: &str) -> Result<()> {
    run_all_in(kind, hooks, state, None)
}

/// `run_all` with the hooks' working directory set (createContainer hooks run in the
/// container's root filesystem, as runc runs them: they may use relative paths there).
pub fn run_all_in(kind: &str, hooks: &[Hook], state: &str, dir: Option<&Path>) -> Result<()> {
    for (i, h) in hooks.iter().enumerate() {
        // "error running hook" is runc's phrase, which callers and its tests look for.
        run_one(h, state, dir).with_context(|| {
            format!(
                "hooks.{kind}[{i}] ({}): error running hook",
                h.path().display()
            )
        })?;
    }
    Ok(())
}

/// Run hooks whose failure must not stop the lifecycle (poststart, poststop): log and go on.
pub fn run_all_warn(kind: &str, hooks: &[Hook], state: &str) {
    for (i, h) in hooks.iter().enumerate() {
        if let Err(e) = run_one(h, state, None) {
            crate::logging::warn(&format!(
                "hooks.{kind}[{i}] ({}): {e:#}",
                h.path().display()
            ));
        }
    }
}

fn run_one(h: &Hook, state: &str, dir: Option<&Path>) -> Result<()> {
    let mut cmd = Command::new(h.path());
    if let Some(d) = dir {
        cmd.current_dir(d);
    }
    // args[0] is the program's argv[0], as in execve; the path is what runs.
    if let Some(args) = h.args() {
        if let Some((argv0, rest)) = args.split_first() {
            cmd.arg0(argv0).args(rest);
        }
    }
    // A hook without `env` runs with the runtime's environment (runc's hooks are Go
    // commands, which inherit it when they are given none); `env: []` means none.
    if let Some(env) = h.env() {
        cmd.env_clear();
        for e in env {
            if let Some((k, v)) = e.split_once('=') {
                cmd.env(k, v);
            }
        }
    }
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let mut child = cmd
        .spawn()
        .map_err(|e| anyhow!("cannot run: {}", describe_io(&e)))?;
    if let Some(mut stdin) = child.stdin.take() {
        // A hook that never reads its stdin must not make us fail.
        let _ = stdin.write_all(state.as_bytes());
    }
    let timeout = h
        .timeout()
        .filter(|t| *t > 0)
        .map(|t| Duration::from_secs(t as u64));
    let status = match wait_timeout(&mut child, timeout)? {
        Some(s) => s,
        None => {
            // Killing can only fail if it exited meanwhile; the wait reaps it either way.
            if let Err(e) = child.kill().and_then(|()| child.wait().map(drop)) {
                crate::logging::warn(&format!("hook: kill after timeout: {e}"));
            }
            bail!(
                "timed out after {}s and was killed",
                h.timeout().unwrap_or(0)
            );
        }
    };
    if status.success() {
        return Ok(());
    }
    let mut err = String::new();
    if let Some(mut e) = child.stderr.take() {
        // The hook's stderr only adds detail to the error; an unreadable one adds none.
        let _ = e.read_to_string(&mut err);
    }
    let err = err.trim();
    let how = match (
        status.code(),
        std::os::unix::process::ExitStatusExt::signal(&status),
    ) {
        (Some(c), _) => format!("exit status {c}"),
        (None, Some(s)) => format!("killed by signal {s} ({})", signal_text(s)),
        _ => "failed".to_string(),
    };
    if err.is_empty() {
        bail!("{how}")
    }
    bail!("{how}: {}", err.lines().last().unwrap_or(err))
}

/// The C library's description of a signal ("bad system call" for SIGSYS), as Go's
/// error text reads.
fn signal_text(sig: i32) -> String {
    crate::linux::signal::description(sig).to_string()
}

/// Wait for `child`, at most `timeout`; `None` when the time ran out.
fn wait_timeout(
    child: &mut std::process::Child,
    timeout: Option<Duration>,
) -> Result<Option<std::process::ExitStatus>> {
    let Some(timeout) = timeout else {
        return Ok(Some(child.wait()?));
    };
    let pidfd = crate::linux::sys::pidfd_open(child.id() as i32)?;
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(s) = child.try_wait()? {
            return Ok(Some(s));
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Ok(None);
        }
        let ms = u16::try_from(left.as_millis()).unwrap_or(u16::MAX);
        let mut fds = [nix::poll::PollFd::new(
            pidfd.as_fd(),
            nix::poll::PollFlags::POLLIN,
        )];
        match nix::poll::poll(&mut fds, nix::poll::PollTimeout::from(ms)) {
            Ok(_) | Err(nix::errno::Errno::EINTR) => {}
            Err(e) => bail!("wait for hook: {}", crate::errors::errno_text(e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hook(json: &str) -> Hook {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn a_hook_reads_state_on_stdin() {
        let out = std::env::temp_dir().join(format!("berth-hook-{}", std::process::id()));
        let h = hook(&format!(
            r#"{{"path":"/bin/sh","args":["sh","-c","cat > {}; echo $X >> {}"],"env":["X=42"]}}"#,
            out.display(),
            out.display()
        ));
        run_all("prestart", &[h], r#"{"id":"c1"}"#).unwrap();
        let got = std::fs::read_to_string(&out).unwrap();
        std::fs::remove_file(&out).unwrap();
        assert_eq!(got, "{\"id\":\"c1\"}42\n");
    }

    #[test]
    fn failures_name_the_hook() {
        let ok = hook(r#"{"path":"/bin/true"}"#);
        let bad = hook(r#"{"path":"/bin/sh","args":["sh","-c","echo oops >&2; exit 3"]}"#);
        let e = run_all("createRuntime", &[ok, bad], "{}").unwrap_err();
        let msg = format!("{e:#}");
        assert!(msg.contains("hooks.createRuntime[1] (/bin/sh)"), "{msg}");
        assert!(
            msg.contains("exit status 3") && msg.contains("oops"),
            "{msg}"
        );
    }

    #[test]
    fn missing_binary_and_timeout() {
        let e = run_all("poststop", &[hook(r#"{"path":"/no/such/hook"}"#)], "{}").unwrap_err();
        assert!(format!("{e:#}").contains("no such file"), "{e:#}");
        let slow = hook(r#"{"path":"/bin/sleep","args":["sleep","5"],"timeout":1}"#);
        let t = Instant::now();
        let e = run_all("prestart", &[slow], "{}").unwrap_err();
        assert!(format!("{e:#}").contains("timed out"), "{e:#}");
        assert!(t.elapsed() < Duration::from_secs(4));
    }

    #[test]
    fn with_status_changes_only_the_status() {
        let mut a = HashMap::new();
        a.insert("note".to_string(), "creating".to_string());
        let s = with_status(
            &state_json("c1", "creating", 7, Path::new("/b"), &a),
            "created",
        );
        let v: serde_json::Value = serde_json::from_str(&s).unwrap();
        assert_eq!(v["status"], "created");
        assert_eq!(v["annotations"]["note"], "creating");
        assert_eq!(v["pid"], 7);
    }

    #[test]
    fn state_json_has_the_spec_fields() {
        let v: serde_json::Value = serde_json::from_str(&state_json(
            "c1",
            "creating",
            42,
            Path::new("/b"),
            &HashMap::new(),
        ))
        .unwrap();
        assert_eq!(v["id"], "c1");
        assert_eq!(v["status"], "creating");
        assert_eq!(v["pid"], 42);
        assert_eq!(v["bundle"], "/b");
        assert_eq!(v["ociVersion"], SPEC_VERSION);
    }
}
