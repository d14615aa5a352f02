//! `berth exec`: run another process in a container. The flags shape the process (on
//! top of config.json's `process`, as runc does); then, unless detached, wait for it,
//! forward signals and exit with its exit code (128+N when killed by signal N).

use crate::cli::foreground::{self, Reap};
use crate::cli::ExecArgs;
use crate::container::{Container, ExecOpts};
use anyhow::{anyhow, bail, Context, Result};
use serde_json::{json, Value};
use std::path::Path;
use std::str::FromStr;

pub fn run(root: &Path, a: &ExecArgs) -> Result<i32> {
    let c = Container::open(root, &a.id)?;
    let mut config = c.config()?;
    let process = match &a.process {
        Some(file) => {
            if !a.command.is_empty() {
                bail!(
                    "--process {}: the command comes from that file; give none after the container id",
                    file.display()
                );
            }
            read_process_file(file)?
        }
        None => process_from_flags(config.get("process"), a)?,
    };
    config["process"] = process;
    let old = foreground::block_signals(!a.detach)?;
    let opts = ExecOpts {
        console_socket: a.console_socket.as_deref(),
        detach: a.detach,
        pid_file: a.pid_file.as_deref(),
        preserve_fds: a.preserve_fds,
        cgroup: &a.cgroup,
        sigmask: old,
        ignore_paused: a.ignore_paused,
    };
    let launched = c.exec(config, &opts)?;
    if a.detach {
        return Ok(0);
    }
    let tty = foreground::attach(launched.master)?;
    let code = foreground::wait(launched.pid, tty.as_ref(), Reap::Process, "exec")?;
    // Give the caller's terminal back before anything else is printed.
    drop(tty);
    foreground::restore_signals(&old)?;
    Ok(code)
}

/// `--process FILE`: the whole process, as in config.json.
fn read_process_file(file: &Path) -> Result<Value> {
    let data = std::fs::read(file).with_context(|| format!("--process {}", file.display()))?;
    let v: Value = serde_json::from_slice(&data)
        .map_err(|e| anyhow!("--process {}: invalid JSON: {e}", file.display()))?;
    let Value::Object(mut v) = v else {
        bail!("--process {}: not a JSON object", file.display());
    };
    // runc runs a process without `user` as root; oci-spec would call it missing.
    v.entry("user")
        .or_insert_with(|| json!({"uid": 0, "gid": 0}));
    let v = Value::Object(v);
    // Checked here so that errors name this file rather than config.json; unknown
    // capabilities are dropped (with a warning) when the process is planned.
    let mut known = json!({ "process": v });
    crate::spec::caps::drop_unknown(&mut known);
    crate::spec::keypath::deserialize::<oci_spec::runtime::Process>(&known["process"])
        .map_err(|e| anyhow!("--process {}: {e}", file.display()))?;
    Ok(v)
}

/// The process runc's exec makes from config.json's `process` and the flags: args,
/// cwd, env added, user, groups added, capabilities added, AppArmor, SELinux label,
/// no_new_privs; a terminal only with --tty.
fn process_from_flags(config: Option<&Value>, a: &ExecArgs) -> Result<Value> {
    if a.command.is_empty() {
        bail!("exec needs a command: berth exec [flags] <container-id> <command> [args...] (or --process FILE)");
    }
    let mut p = config
        .cloned()
        .unwrap_or_else(|| json!({"user": {"uid": 0, "gid": 0}, "cwd": "/"}));
    if !p.is_object() {
        bail!("config.json: process is not an object");
    }
    p["args"] = json!(a.command);
    if let Some(cwd) = &a.cwd {
        if !cwd.is_absolute() {
            bail!("--cwd {}: must be an absolute path", cwd.display());
        }
        p["cwd"] = json!(cwd);
    }
    if let Some(profile) = &a.apparmor {
        p["apparmorProfile"] = json!(profile);
    }
    if let Some(label) = &a.process_label {
        p["selinuxLabel"] = json!(label);
    }
    if !a.cap.is_empty() {
        add_caps(&mut p, &a.cap)?;
    }
    for e in &a.env {
        if !e.contains('=') || e.starts_with('=') {
            bail!("--env {e:?}: must be NAME=value");
        }
    }
    let mut env: Vec<Value> = p["env"].as_array().cloned().unwrap_or_default();
    env.extend(a.env.iter().map(|e| json!(e)));
    p["env"] = Value::Array(env);
    p["terminal"] = json!(a.tty);
    if a.no_new_privs {
        p["noNewPrivileges"] = json!(true);
    }
    if !p["user"].is_object() {
        p["user"] = json!({"uid": 0, "gid": 0});
    }
    if let Some(u) = &a.user {
        let (uid, gid) = parse_user(u)?;
        p["user"]["uid"] = json!(uid);
        if let Some(gid) = gid {
            p["user"]["gid"] = json!(gid);
        }
    }
    if !a.additional_gids.is_empty() {
        let mut gids: Vec<Value> = p["user"]["additionalGids"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        for g in &a.additional_gids {
            let g = u32::try_from(*g)
                .map_err(|_| anyhow!("--additional-gids {g}: not a valid group id"))?;
            gids.push(json!(g));
        }
        p["user"]["additionalGids"] = Value::Array(gids);
    }
    Ok(p)
}

/// `--user uid[:gid]`, numbers only (as runc: names would need the container's
/// /etc/passwd, which runc does not read here either).
fn parse_user(u: &str) -> Result<(u32, Option<u32>)> {
    let num = |s: &str, what: &str| {
        s.parse::<u32>()
            .map_err(|_| anyhow!("--user {u:?}: {what} {s:?} is not a number (uid[:gid])"))
    };
    match u.split_once(':') {
        Some((uid, gid)) => Ok((num(uid, "uid")?, Some(num(gid, "gid")?))),
        None => Ok((num(u, "uid")?, None)),
    }
}

/// `--cap`: into the bounding, effective and permitted sets; into the ambient set too
/// when the process has an inheritable set (the kernel raises an ambient capability only
/// if it is also inheritable), as runc does.
fn add_caps(p: &mut Value, caps: &[String]) -> Result<()> {
    for c in caps {
        if caps::Capability::from_str(c).is_err() {
            bail!("--cap {c:?}: unknown capability (names look like CAP_NET_ADMIN)");
        }
    }
    if !p["capabilities"].is_object() {
        p["capabilities"] = json!({});
    }
    let has_inheritable = !p["capabilities"]["inheritable"].is_null();
    let mut sets = vec!["bounding", "effective", "permitted"];
    if has_inheritable {
        sets.push("ambient");
    }
    for set in sets {
        let mut list: Vec<Value> = p["capabilities"][set]
            .as_array()
            .cloned()
            .unwrap_or_default();
        for c in caps {
            if !list.iter().any(|v| v == c) {
                list.push(json!(c));
            }
        }
        p["capabilities"][set] = Value::Array(list);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    fn args(cmdline: &[&str]) -> ExecArgs {
        let mut v = vec!["berth", "exec"];
        v.extend_from_slice(cmdline);
        match crate::cli::Cli::parse_from(v).command {
            Some(crate::cli::Command::Exec(a)) => a,
            other => panic!("{other:?}"),
        }
    }

    fn config() -> Value {
        json!({
            "args": ["sleep", "1"],
            "env": ["PATH=/bin", "A=1"],
            "cwd": "/",
            "terminal": true,
            "user": {"uid": 5, "gid": 6, "additionalGids": [7]},
            "capabilities": {"bounding": ["CAP_KILL"], "permitted": ["CAP_KILL"]}
        })
    }

    #[test]
    fn flags_change_the_config_process() {
        let a = args(&[
            "-e",
            "B=2",
            "--cwd",
            "/tmp",
            "-u",
            "10:20",
            "-g",
            "30",
            "--cap",
            "CAP_CHOWN",
            "--no-new-privs",
            "c1",
            "ls",
            "-l",
        ]);
        let p = process_from_flags(Some(&config()), &a).unwrap();
        assert_eq!(p["args"], json!(["ls", "-l"]));
        assert_eq!(p["env"], json!(["PATH=/bin", "A=1", "B=2"]));
        assert_eq!(p["cwd"], json!("/tmp"));
        assert_eq!(
            p["user"],
            json!({"uid": 10, "gid": 20, "additionalGids": [7, 30]})
        );
        assert_eq!(p["terminal"], json!(false));
        assert_eq!(p["noNewPrivileges"], json!(true));
        assert_eq!(
            p["capabilities"]["bounding"],
            json!(["CAP_KILL", "CAP_CHOWN"])
        );
        assert_eq!(p["capabilities"]["effective"], json!(["CAP_CHOWN"]));
        assert!(p["capabilities"]["ambient"].is_null());
    }

    #[test]
    fn uid_alone_keeps_the_config_gid() {
        let p = process_from_flags(Some(&config()), &args(&["-u", "9", "-t", "c1", "sh"])).unwrap();
        assert_eq!(p["user"]["uid"], json!(9));
        assert_eq!(p["user"]["gid"], json!(6));
        assert_eq!(p["terminal"], json!(true));
    }

    #[test]
    fn bad_flags_are_clear_errors() {
        let e = |cmdline: &[&str]| {
            process_from_flags(Some(&config()), &args(cmdline))
                .unwrap_err()
                .to_string()
        };
        assert!(e(&["-u", "bob", "c1", "sh"]).contains("--user \"bob\""));
        assert!(e(&["-u", "1:x", "c1", "sh"]).contains("gid \"x\""));
        assert!(e(&["-e", "NOEQUALS", "c1", "sh"]).contains("--env"));
        assert!(e(&["--cwd", "rel", "c1", "sh"]).contains("--cwd"));
        assert!(e(&["--cap", "CAP_NOPE", "c1", "sh"]).contains("--cap"));
        assert!(e(&["-g", "-1", "c1", "sh"]).contains("--additional-gids"));
        assert!(e(&["c1"]).contains("needs a command"));
    }

    #[test]
    fn cap_goes_to_ambient_with_an_inheritable_set() {
        let mut c = config();
        c["capabilities"]["inheritable"] = json!([]);
        let p = process_from_flags(Some(&c), &args(&["--cap", "CAP_KILL", "c1", "sh"])).unwrap();
        assert_eq!(p["capabilities"]["ambient"], json!(["CAP_KILL"]));
        assert_eq!(p["capabilities"]["bounding"], json!(["CAP_KILL"]));
    }
}
