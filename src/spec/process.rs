//! `process`: what the container runs and as whom (args, env, cwd, user, rlimits,
//! console), with capabilities (`caps`) and the other attributes (`attrs`).

use super::attrs::{self, AttrsPlan, HostProcess};
use super::caps::{self, CapsPlan, HostCaps};
use super::namespaces::NamespacePlan;
use anyhow::{anyhow, bail, Result};
use nix::sched::CloneFlags;
use oci_spec::runtime::{PosixRlimit, Process, Spec};
use std::path::PathBuf;

#[derive(Debug, Clone, Default)]
pub struct ProcessPlan {
    pub args: Vec<String>,
    pub env: Vec<String>,
    pub cwd: PathBuf,
    pub uid: u32,
    pub gid: u32,
    pub additional_gids: Vec<u32>,
    pub umask: Option<u32>,
    pub rlimits: Vec<Rlimit>,
    pub caps: CapsPlan,
    /// noNewPrivileges, oomScoreAdj, LSM labels, scheduling, linux.personality.
    pub attrs: AttrsPlan,
    /// `process.terminal`: the init makes a pty its stdio and hands the master out.
    pub terminal: bool,
    /// `process.consoleSize` as (rows, columns); None when absent or either is 0, which
    /// leaves the kernel's default, as runc does.
    pub console_size: Option<(u16, u16)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rlimit {
    pub resource: nix::sys::resource::Resource,
    pub name: &'static str,
    pub soft: u64,
    pub hard: u64,
}

/// Plan `process`. The runtime spec lets a config leave it out, but `create` has nothing
/// to run without one (runc refuses it too).
pub fn process_plan(spec: &Spec, ns: &NamespacePlan) -> Result<ProcessPlan> {
    let Some(p) = spec.process() else {
        bail!("process: missing in config.json (create needs a process to run)");
    };
    // Checked in this order, so a config with several faults names the same one.
    let args = args(p)?;
    let cwd = cwd(p)?;
    let env = env(p)?;
    let console_size = console_size(p)?;
    let user = p.user();
    Ok(ProcessPlan {
        args,
        env,
        cwd,
        uid: user.uid(),
        gid: user.gid(),
        additional_gids: user.additional_gids().clone().unwrap_or_default(),
        umask: user.umask(),
        rlimits: rlimits(p.rlimits().as_deref().unwrap_or(&[]))?,
        caps: caps::plan(
            p.capabilities().as_ref(),
            &HostCaps::probe(ns.has(CloneFlags::CLONE_NEWUSER))?,
        )?,
        attrs: attrs::plan(
            p,
            spec.linux().as_ref().and_then(|l| l.personality().as_ref()),
            &HostProcess::probe(),
        )?,
        terminal: p.terminal().unwrap_or(false),
        console_size,
    })
}

fn args(p: &Process) -> Result<Vec<String>> {
    let args = p.args().clone().unwrap_or_default();
    if args.is_empty() || args[0].is_empty() {
        bail!("process.args: must name the program to run");
    }
    Ok(args)
}

fn cwd(p: &Process) -> Result<PathBuf> {
    let cwd = p.cwd().clone();
    if !cwd.is_absolute() {
        bail!(
            "process.cwd: {:?} is not an absolute path",
            cwd.display().to_string()
        );
    }
    Ok(cwd)
}

fn env(p: &Process) -> Result<Vec<String>> {
    let env = p.env().clone().unwrap_or_default();
    for (i, e) in env.iter().enumerate() {
        if !e.contains('=') || e.starts_with('=') {
            bail!("process.env[{i}]: {e:?} is not NAME=value");
        }
    }
    Ok(later_wins(env))
}

/// One entry per name, the last value given winning, in the place of the first: as
/// runc sets them one by one. `exec --env PATH=...` must override the config's PATH,
/// which a process (and the executable lookup) would otherwise find first.
fn later_wins(env: Vec<String>) -> Vec<String> {
    let name = |e: &str| e.split_once('=').map_or(e, |(n, _)| n).to_string();
    let mut out: Vec<String> = Vec::with_capacity(env.len());
    for e in env {
        match out.iter_mut().find(|o| name(o) == name(&e)) {
            Some(slot) => *slot = e,
            None => out.push(e),
        }
    }
    out
}

fn console_size(p: &Process) -> Result<Option<(u16, u16)>> {
    match p.console_size() {
        Some(b) if b.height() != 0 && b.width() != 0 => {
            let dim = |name: &str, v: u64| {
                u16::try_from(v)
                    .map_err(|_| anyhow!("process.consoleSize.{name}: {v} is above {}", u16::MAX))
            };
            Ok(Some((dim("height", b.height())?, dim("width", b.width())?)))
        }
        _ => Ok(None),
    }
}

/// The resource and the name errors give it.
fn rlimit_resource(
    t: oci_spec::runtime::PosixRlimitType,
) -> (nix::sys::resource::Resource, &'static str) {
    use nix::sys::resource::Resource as R;
    use oci_spec::runtime::PosixRlimitType as T;
    match t {
        T::RlimitCpu => (R::RLIMIT_CPU, "RLIMIT_CPU"),
        T::RlimitFsize => (R::RLIMIT_FSIZE, "RLIMIT_FSIZE"),
        T::RlimitData => (R::RLIMIT_DATA, "RLIMIT_DATA"),
        T::RlimitStack => (R::RLIMIT_STACK, "RLIMIT_STACK"),
        T::RlimitCore => (R::RLIMIT_CORE, "RLIMIT_CORE"),
        T::RlimitRss => (R::RLIMIT_RSS, "RLIMIT_RSS"),
        T::RlimitNproc => (R::RLIMIT_NPROC, "RLIMIT_NPROC"),
        T::RlimitNofile => (R::RLIMIT_NOFILE, "RLIMIT_NOFILE"),
        T::RlimitMemlock => (R::RLIMIT_MEMLOCK, "RLIMIT_MEMLOCK"),
        T::RlimitAs => (R::RLIMIT_AS, "RLIMIT_AS"),
        T::RlimitLocks => (R::RLIMIT_LOCKS, "RLIMIT_LOCKS"),
        T::RlimitSigpending => (R::RLIMIT_SIGPENDING, "RLIMIT_SIGPENDING"),
        T::RlimitMsgqueue => (R::RLIMIT_MSGQUEUE, "RLIMIT_MSGQUEUE"),
        T::RlimitNice => (R::RLIMIT_NICE, "RLIMIT_NICE"),
        T::RlimitRtprio => (R::RLIMIT_RTPRIO, "RLIMIT_RTPRIO"),
        T::RlimitRttime => (R::RLIMIT_RTTIME, "RLIMIT_RTTIME"),
    }
}

fn rlimits(list: &[PosixRlimit]) -> Result<Vec<Rlimit>> {
    let mut out: Vec<Rlimit> = Vec::new();
    for (i, r) in list.iter().enumerate() {
        let (resource, name) = rlimit_resource(r.typ());
        if r.soft() > r.hard() {
            bail!(
                "process.rlimits[{i}]: {name} soft limit {} is above the hard limit {}",
                r.soft(),
                r.hard()
            );
        }
        if out.iter().any(|o| o.resource == resource) {
            bail!("process.rlimits[{i}]: {name} listed twice");
        }
        out.push(Rlimit {
            resource,
            name,
            soft: r.soft(),
            hard: r.hard(),
        });
    }
    Ok(out)
}

#[cfg(test)]
mod env_tests {
    use super::later_wins;

    #[test]
    fn a_later_value_replaces_an_earlier_one_in_place() {
        let env = ["PATH=/bin", "A=1", "PATH=/x:/bin", "B=2", "A=3"].map(String::from);
        assert_eq!(later_wins(env.to_vec()), ["PATH=/x:/bin", "A=3", "B=2"]);
    }
}
