//! Check an OCI seccomp profile and translate it into libseccomp's terms (actions,
//! architectures, flags, one rule per syscall name and argument condition), following runc.

use super::enosys::{self, Last};
use super::{Listener, NO_NOTIFY};
use crate::logging;
use anyhow::{anyhow, bail, Result};
use libseccomp::{ScmpAction, ScmpArch, ScmpArgCompare, ScmpCompareOp, ScmpSyscall};
use oci_spec::runtime::{LinuxSeccomp, LinuxSeccompAction, LinuxSeccompFilterFlag};
use oci_spec::runtime::{LinuxSeccompArg, LinuxSeccompOperator};

/// One entry of `syscalls[]` for one name, in libseccomp's terms.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Rule {
    /// `linux.seccomp.syscalls[i]`, for errors.
    pub(super) key: String,
    pub(super) name: String,
    pub(super) nr: ScmpSyscall,
    pub(super) action: ScmpAction,
    /// One libseccomp rule per element; a rule matches when all its conditions hold.
    /// `[[]]` is an unconditional rule.
    pub(super) rules: Vec<Vec<ScmpArgCompare>>,
}

/// The profile checked and translated, before libseccomp sees it.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Profile {
    pub(super) default: ScmpAction,
    /// (index in `architectures`, name, architecture).
    pub(super) arches: Vec<(usize, String, ScmpArch)>,
    pub(super) flags: u32,
    pub(super) rules: Vec<Rule>,
    pub(super) listener: Option<Listener>,
    /// What the -ENOSYS prefix compares with (`enosys.rs`); empty: no prefix.
    pub(super) enosys: Vec<Last>,
}

impl Profile {
    /// Everything `build` turns into the program, as text: two profiles with the same
    /// key compile to the same program (with the same libseccomp and berth binary, which
    /// the cache adds).
    pub(super) fn cache_key(&self) -> String {
        use std::fmt::Write;
        // `enosys` too: it counts names the rules leave out (those equal to the default).
        let mut k = format!(
            "default {:?}\narches {:?}\nenosys {:?}\n",
            self.default, self.arches, self.enosys
        );
        for r in &self.rules {
            let _ = writeln!(k, "{} {:?} {:?}", r.name, r.action, r.rules);
        }
        k
    }
}

/// Check `linux.seccomp` and translate it, a key at a time.
pub(super) fn profile(s: &LinuxSeccomp) -> Result<Profile> {
    let default = action(
        s.default_action(),
        s.default_errno_ret(),
        "linux.seccomp.defaultErrnoRet",
    )?;
    if default == ScmpAction::Notify {
        // The init's own syscalls after the filter would wait on the agent, which gets
        // the listener only through one of them.
        bail!("linux.seccomp.defaultAction: SCMP_ACT_NOTIFY cannot be the default action");
    }
    let arches = architectures(s)?;
    let (rules, notify) = rules(s, default)?;
    let flags = filter_flags(s, notify);
    let listener = listener(s, notify)?;
    let enosys = if enosys::applies(default) {
        let archs: Vec<ScmpArch> = arches.iter().map(|(_, _, a)| *a).collect();
        let syscalls = s.syscalls().as_deref().unwrap_or(&[]);
        enosys::last_syscalls(
            &archs,
            syscalls
                .iter()
                .flat_map(|sc| sc.names())
                .map(String::as_str),
        )
    } else {
        Vec::new()
    };
    Ok(Profile {
        default,
        arches,
        flags,
        rules,
        listener,
        enosys,
    })
}

/// `architectures`, without repeats, each one libseccomp knows.
fn architectures(s: &LinuxSeccomp) -> Result<Vec<(usize, String, ScmpArch)>> {
    let mut arches = Vec::new();
    for (i, a) in s
        .architectures()
        .as_deref()
        .unwrap_or(&[])
        .iter()
        .enumerate()
    {
        let name = serde_json::to_value(a)?;
        let name = name.as_str().unwrap_or_default();
        let arch: ScmpArch = name.parse().map_err(|_| {
            anyhow!("linux.seccomp.architectures[{i}]: unknown architecture {name:?}")
        })?;
        // oci-spec knows architectures newer than the libseccomp we link; "read" exists
        // on every one, so it resolves exactly when libseccomp knows the architecture.
        if ScmpSyscall::from_name_by_arch("read", arch).is_err() {
            let v = libseccomp::ScmpVersion::current()
                .map(|v| format!(" {}.{}.{}", v.major, v.minor, v.micro))
                .unwrap_or_default();
            bail!("linux.seccomp.architectures[{i}]: {name} is not supported by libseccomp{v}");
        }
        if !arches.iter().any(|(_, _, a)| *a == arch) {
            arches.push((i, name.to_string(), arch));
        }
    }
    Ok(arches)
}

/// `syscalls[]` as one rule per known name, and whether any of them notifies.
fn rules(s: &LinuxSeccomp, default: ScmpAction) -> Result<(Vec<Rule>, bool)> {
    let mut rules = Vec::new();
    let mut notify = false;
    let mut unknown: Vec<&str> = Vec::new();
    for (i, sc) in s.syscalls().as_deref().unwrap_or(&[]).iter().enumerate() {
        let key = format!("linux.seccomp.syscalls[{i}]");
        let act = action(sc.action(), sc.errno_ret(), &format!("{key}.errnoRet"))?;
        let args = sc.args().as_deref().unwrap_or(&[]);
        let conds = args
            .iter()
            .enumerate()
            .map(|(j, a)| condition(a, &format!("{key}.args[{j}]")))
            .collect::<Result<Vec<_>>>()?;
        if act == ScmpAction::Notify {
            notify = true;
            for (name, why) in NO_NOTIFY {
                if sc.names().iter().any(|n| n == name) {
                    bail!("{key}: SCMP_ACT_NOTIFY cannot be used for the {name} syscall: {why}");
                }
            }
        }
        if act == default {
            // Redundant, and libseccomp refuses it.
            continue;
        }
        let split = split_conditions(args, conds);
        for name in sc.names() {
            // A profile lists syscalls of kernels newer than our libseccomp knows.
            let Ok(nr) = ScmpSyscall::from_name(name) else {
                if !unknown.contains(&name.as_str()) {
                    unknown.push(name);
                }
                continue;
            };
            rules.push(Rule {
                key: key.clone(),
                name: name.clone(),
                nr,
                action: act,
                rules: split.clone(),
            });
        }
    }
    if !unknown.is_empty() {
        logging::debug(&format!(
            "seccomp: syscalls unknown to libseccomp skipped: {}",
            unknown.join(", ")
        ));
    }
    Ok((rules, notify))
}

/// SECCOMP_FILTER_FLAG_* from `flags`, with NEW_LISTENER when a rule notifies.
fn filter_flags(s: &LinuxSeccomp, notify: bool) -> u32 {
    // Without `flags` at all (not even an empty list), SPEC_ALLOW, as runc does: the
    // kernel otherwise turns the Speculative Store Bypass mitigation on for every filtered
    // process, which slows it down, and profiles are about syscalls, not that.
    let default_flags = [LinuxSeccompFilterFlag::SeccompFilterFlagSpecAllow];
    let mut flags = 0;
    for f in s.flags().as_deref().unwrap_or(&default_flags) {
        flags |= match f {
            // The init is single-threaded when it loads the filter: nothing to sync.
            LinuxSeccompFilterFlag::SeccompFilterFlagTsync => 0,
            LinuxSeccompFilterFlag::SeccompFilterFlagLog => libc::SECCOMP_FILTER_FLAG_LOG,
            LinuxSeccompFilterFlag::SeccompFilterFlagSpecAllow => {
                libc::SECCOMP_FILTER_FLAG_SPEC_ALLOW
            }
            LinuxSeccompFilterFlag::SeccompFilterFlagWaitKillableRecv => {
                libc::SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV
            }
        } as u32;
    }
    let wait_killable = libc::SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV as u32;
    if notify {
        flags |= libc::SECCOMP_FILTER_FLAG_NEW_LISTENER as u32;
    } else if flags & wait_killable != 0 {
        // The kernel takes it only with a listener (EINVAL otherwise); without
        // SCMP_ACT_NOTIFY nobody waits on one, so it means nothing.
        logging::debug(
            "seccomp: SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV ignored: no SCMP_ACT_NOTIFY rule",
        );
        flags &= !wait_killable;
    }
    flags
}

/// `listenerPath` and `listenerMetadata`; only a notifying profile has a listener.
fn listener(s: &LinuxSeccomp, notify: bool) -> Result<Option<Listener>> {
    let path = s
        .listener_path()
        .clone()
        .filter(|p| !p.as_os_str().is_empty());
    let metadata = s.listener_metadata().clone().filter(|m| !m.is_empty());
    if metadata.is_some() && path.is_none() {
        bail!("linux.seccomp.listenerMetadata: set without linux.seccomp.listenerPath");
    }
    // The spec ignores listenerPath when nothing notifies.
    match (notify, path) {
        (false, _) => Ok(None),
        (true, Some(path)) => Ok(Some(Listener { path, metadata })),
        (true, None) => {
            bail!("linux.seccomp.listenerPath: SCMP_ACT_NOTIFY needs the socket of a seccomp agent")
        }
    }
}

/// An OCI action with its errno in libseccomp's terms. `errno` is only valid for ERRNO
/// and TRACE (the spec says to fail otherwise); both default to EPERM, as in runc.
pub(super) fn action(
    a: LinuxSeccompAction,
    errno: Option<u32>,
    errno_key: &str,
) -> Result<ScmpAction> {
    use LinuxSeccompAction as A;
    if errno.is_some() && !matches!(a, A::ScmpActErrno | A::ScmpActTrace) {
        bail!("{errno_key}: only SCMP_ACT_ERRNO and SCMP_ACT_TRACE return an errno");
    }
    let errno = match errno {
        None => libc::EPERM as u16,
        // SECCOMP_RET_DATA is 16 bits wide.
        Some(e) => u16::try_from(e).map_err(|_| anyhow!("{errno_key}: {e} is above 65535"))?,
    };
    Ok(match a {
        A::ScmpActKill | A::ScmpActKillThread => ScmpAction::KillThread,
        A::ScmpActKillProcess => ScmpAction::KillProcess,
        A::ScmpActTrap => ScmpAction::Trap,
        A::ScmpActErrno => ScmpAction::Errno(i32::from(errno)),
        A::ScmpActTrace => ScmpAction::Trace(errno),
        A::ScmpActAllow => ScmpAction::Allow,
        A::ScmpActLog => ScmpAction::Log,
        A::ScmpActNotify => ScmpAction::Notify,
    })
}

/// One `args[]` entry as a libseccomp condition. For MASKED_EQ, `value` is the mask and
/// `valueTwo` what the masked argument must equal.
pub(super) fn condition(a: &LinuxSeccompArg, key: &str) -> Result<ScmpArgCompare> {
    use LinuxSeccompOperator as O;
    if a.index() > 5 {
        bail!(
            "{key}.index: {} is above 5 (a syscall has at most six arguments)",
            a.index()
        );
    }
    let (op, datum) = match a.op() {
        O::ScmpCmpNe => (ScmpCompareOp::NotEqual, a.value()),
        O::ScmpCmpLt => (ScmpCompareOp::Less, a.value()),
        O::ScmpCmpLe => (ScmpCompareOp::LessOrEqual, a.value()),
        O::ScmpCmpEq => (ScmpCompareOp::Equal, a.value()),
        O::ScmpCmpGe => (ScmpCompareOp::GreaterEqual, a.value()),
        O::ScmpCmpGt => (ScmpCompareOp::Greater, a.value()),
        O::ScmpCmpMaskedEq => (
            ScmpCompareOp::MaskedEqual(a.value()),
            a.value_two().unwrap_or(0),
        ),
    };
    Ok(ScmpArgCompare::new(a.index() as u32, op, datum))
}

/// libseccomp ANDs the conditions of one rule, and one rule cannot test an argument twice.
/// So when an index repeats, every condition becomes a rule of its own (any one matches),
/// which is what profiles written for runc expect (Docker's personality rules, say).
pub(super) fn split_conditions(
    args: &[LinuxSeccompArg],
    conds: Vec<ScmpArgCompare>,
) -> Vec<Vec<ScmpArgCompare>> {
    let mut seen = [false; 6];
    let repeats = args
        .iter()
        .any(|a| std::mem::replace(&mut seen[a.index()], true));
    if repeats {
        conds.into_iter().map(|c| vec![c]).collect()
    } else {
        vec![conds]
    }
}
