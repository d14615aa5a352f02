//! The container process: user and groups, umask, cwd, environment, finding the
//! executable through the container's PATH, and execve.

use crate::errors::errno_text;
use crate::spec::ProcessPlan;
use anyhow::{anyhow, bail, Result};
use nix::unistd::{setgroups, setresgid, setresuid, Gid, Uid};
use std::ffi::CString;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// Switch to the configured user: groups first, then gid, then uid (the uid change
/// drops the right to change the others).
pub fn switch_user(p: &ProcessPlan) -> Result<()> {
    let groups: Vec<Gid> = p
        .additional_gids
        .iter()
        .map(|g| Gid::from_raw(*g))
        .collect();
    match setgroups(&groups) {
        Ok(()) => {}
        // With setgroups denied in a user namespace, an empty list is the only state anyway.
        Err(nix::errno::Errno::EPERM) if groups.is_empty() => {}
        Err(e) => bail!("process.user.additionalGids: setgroups: {}", errno_text(e)),
    }
    let gid = Gid::from_raw(p.gid);
    setresgid(gid, gid, gid)
        .map_err(|e| anyhow!("process.user.gid: setgid {}: {}", p.gid, errno_text(e)))?;
    let uid = Uid::from_raw(p.uid);
    setresuid(uid, uid, uid)
        .map_err(|e| anyhow!("process.user.uid: setuid {}: {}", p.uid, errno_text(e)))?;
    Ok(())
}

/// Apply `process.rlimits`, before the user switch (a non-root user could not raise them).
pub fn set_rlimits(p: &ProcessPlan) -> Result<()> {
    for r in &p.rlimits {
        if let Err(e) = nix::sys::resource::setrlimit(r.resource, r.soft, r.hard) {
            let (_, cur_hard) = nix::sys::resource::getrlimit(r.resource).unwrap_or((0, 0));
            bail!(
                "process.rlimits: {} soft={} hard={}: {} (the current hard limit is {} and raising it needs CAP_SYS_RESOURCE)",
                r.name,
                r.soft,
                r.hard,
                errno_text(e),
                cur_hard
            );
        }
    }
    Ok(())
}

/// HOME from the container's /etc/passwd when the config does not set it, as runc does.
pub fn env_with_home(p: &ProcessPlan) -> Vec<String> {
    let mut env = p.env.clone();
    if !env.iter().any(|e| e.starts_with("HOME=")) {
        let home = std::fs::read_to_string("/etc/passwd")
            .ok()
            .and_then(|t| home_of(&t, p.uid))
            .unwrap_or_else(|| "/".to_string());
        env.push(format!("HOME={home}"));
    }
    env
}

fn home_of(passwd: &str, uid: u32) -> Option<String> {
    passwd.lines().find_map(|l| {
        let f: Vec<&str> = l.split(':').collect();
        (f.len() >= 6 && f[2].parse() == Ok(uid)).then(|| f[5].to_string())
    })
}

fn env_path(env: &[String]) -> &str {
    env.iter()
        .rev()
        .find_map(|e| e.strip_prefix("PATH="))
        .unwrap_or(DEFAULT_PATH)
}

fn is_executable(p: &Path) -> std::io::Result<bool> {
    let m = std::fs::metadata(p)?;
    Ok(m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// Find args[0] like Go's exec.LookPath, inside the container (after pivot_root).
pub fn find_executable(name: &str, env: &[String]) -> Result<PathBuf> {
    if name.contains('/') {
        let p = PathBuf::from(name);
        return match is_executable(&p) {
            Ok(true) => Ok(p),
            Ok(false) => bail!("exec: {name:?}: permission denied"),
            Err(e) => bail!(
                "exec: {name:?}: stat {name}: {} (not found)",
                crate::errors::describe_io(&e)
            ),
        };
    }
    for dir in env_path(env).split(':') {
        let dir = if dir.is_empty() { "." } else { dir };
        let p = Path::new(dir).join(name);
        if let Ok(true) = is_executable(&p) {
            return Ok(p);
        }
    }
    bail!("exec: {name:?}: executable file not found in $PATH")
}

/// Everything execve needs, built before the fifo wait so `start` has nothing to do.
pub struct Execve {
    path: CString,
    args: Vec<CString>,
    env: Vec<CString>,
}

pub fn exec_args(path: &Path, args: &[String], env: &[String]) -> Result<Execve> {
    use std::os::unix::ffi::OsStrExt;
    let c = |s: &[u8]| {
        CString::new(s).map_err(|_| {
            anyhow!(
                "process.args/env: NUL byte in {:?}",
                String::from_utf8_lossy(s)
            )
        })
    };
    Ok(Execve {
        path: c(path.as_os_str().as_bytes())?,
        args: args
            .iter()
            .map(|a| c(a.as_bytes()))
            .collect::<Result<_>>()?,
        env: env.iter().map(|e| c(e.as_bytes())).collect::<Result<_>>()?,
    })
}

impl Execve {
    /// The same execve, made by the trampoline in fd `program` (see `trampoline`): its
    /// argv is the path, then ours.
    pub fn through(self, program: i32) -> Execve {
        let mut args = Vec::with_capacity(self.args.len() + 1);
        args.push(self.path);
        args.extend(self.args);
        Execve {
            path: CString::new(format!("/proc/self/fd/{program}")).expect("no NUL in a number"),
            args,
            env: self.env,
        }
    }
}

/// execve; returns only on failure.
pub fn exec(a: &Execve) -> anyhow::Error {
    match nix::unistd::execve(&a.path, &a.args, &a.env) {
        Err(e) => anyhow!("exec {:?}: {}", a.path, errno_text(e)),
        Ok(never) => match never {},
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_home_in_passwd() {
        let t = "root:x:0:0:root:/root:/bin/sh\nu:x:1000:1000::/home/u:/bin/sh\n";
        assert_eq!(home_of(t, 1000).as_deref(), Some("/home/u"));
        assert_eq!(home_of(t, 5), None);
    }

    #[test]
    fn path_lookup_uses_env_path() {
        let env = vec!["PATH=/nonexistent:/bin:/usr/bin".to_string()];
        assert!(find_executable("sh", &env).unwrap().is_absolute());
        let e = find_executable("no-such-program-x", &env)
            .unwrap_err()
            .to_string();
        assert!(e.contains("not found in $PATH"), "{e}");
        let e = find_executable("/no/such", &env).unwrap_err().to_string();
        assert!(e.contains("not found"), "{e}");
    }
}
