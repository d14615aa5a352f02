//! `linux.seccomp`: the OCI profile compiled to a BPF program by libseccomp in the
//! parent, and installed in the container's init with a plain seccomp(2) call.
//!
//! ```text
//!   parent (create)                               init
//!   ───────────────                               ────
//!   check names in the raw JSON (check_raw)
//!   profile(): actions, args, flags, listener     ...
//!   build(): libseccomp, binary tree, export BPF  capabilities, user, ...
//!     (or the program cached for this profile)
//!   connect listenerPath (SCMP_ACT_NOTIFY)        install(): seccomp(SET_MODE_FILTER,
//!   clone ── program in the Plan, socket fd ───▶     flags [| NEW_LISTENER], program)
//!                                                  send {state, metadata} + listener fd
//!                                                  on the socket, close it
//! ```
//!
//! The init installs the filter right after setting no_new_privs, the last step before
//! Ready; without noNewPrivileges it must still hold CAP_SYS_ADMIN, so then it installs
//! before the capabilities and the user change. `exec` does the same with the container's
//! profile.
//!
//! Compiling in the parent means a bad profile fails `create` before anything exists, and
//! the init runs no allocating compiler after the clone: it makes one syscall with a
//! ready program. Loading it ourselves, rather than with `seccomp_load`, is what lets every
//! OCI flag through (libseccomp 2.5 knows no WAIT_KILLABLE_RECV) and hands us the
//! listener fd. libseccomp takes ~10 ms for a Docker-sized profile, so the program is
//! cached per profile (`cache.rs`): an engine's containers share one.
//!
//! The translation follows runc, which engines' profiles are written against: SCMP_ACT_KILL
//! is KILL_THREAD; ERRNO and TRACE default to EPERM; a rule whose action equals the default
//! is skipped; several conditions on one argument index become one rule per condition (any
//! of them matches) instead of one rule needing all of them; a syscall name libseccomp does
//! not know is skipped with a debug log (a profile lists syscalls of newer kernels).

mod cache;

use crate::errors::describe_io;
use crate::logging;
use anyhow::{anyhow, bail, Context, Result};
use libseccomp::{
    ScmpAction, ScmpArch, ScmpArgCompare, ScmpCompareOp, ScmpFilterContext, ScmpSyscall,
};
use oci_spec::runtime::{LinuxSeccomp, LinuxSeccompAction, LinuxSeccompFilterFlag};
use oci_spec::runtime::{LinuxSeccompArg, LinuxSeccompOperator};
use std::io::{Read, Seek};
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::fs::FileTypeExt;
use std::os::unix::net::UnixStream;
use std::path::PathBuf;

/// The syscall the init hands the listener over with. A NOTIFY rule on it would make the
/// init wait for an agent that has not got the listener yet.
const SEND_SYSCALL: &str = "sendmsg";

/// A compiled profile, ready for seccomp(2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeccompPlan {
    /// The program, one `struct sock_filter` per element, as libseccomp exported it
    /// (host byte order).
    pub program: Vec<u64>,
    /// SECCOMP_FILTER_FLAG_* for seccomp(SECCOMP_SET_MODE_FILTER).
    pub flags: u32,
    /// Where the listener goes, when the profile uses SCMP_ACT_NOTIFY.
    pub listener: Option<Listener>,
}

/// `listenerPath` and `listenerMetadata`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listener {
    pub path: PathBuf,
    pub metadata: Option<String>,
}

/// Checks the names in `linux.seccomp` of the raw config.json before oci-spec parses it,
/// so an unknown one gets a short error naming its key rather than serde's list of every
/// variant.
pub fn check_raw(config: &serde_json::Value) -> Result<()> {
    use serde::de::DeserializeOwned;
    fn check<T: DeserializeOwned>(v: &serde_json::Value, key: &str, what: &str) -> Result<()> {
        match v.as_str() {
            // Only strings: anything else gets serde's type error, with its path.
            Some(s) if serde_json::from_value::<T>(v.clone()).is_err() => {
                bail!("{key}: unknown {what} {s:?}")
            }
            _ => Ok(()),
        }
    }
    let Some(s) = config.pointer("/linux/seccomp") else {
        return Ok(());
    };
    let array = |name: &str| {
        s.get(name)
            .and_then(|v| v.as_array())
            .map(Vec::as_slice)
            .unwrap_or_default()
    };
    if let Some(a) = s.get("defaultAction") {
        check::<LinuxSeccompAction>(a, "linux.seccomp.defaultAction", "action")?;
    }
    for (i, a) in array("architectures").iter().enumerate() {
        let key = format!("linux.seccomp.architectures[{i}]");
        check::<oci_spec::runtime::Arch>(a, &key, "architecture")?;
    }
    for (i, f) in array("flags").iter().enumerate() {
        let key = format!("linux.seccomp.flags[{i}]");
        check::<LinuxSeccompFilterFlag>(f, &key, "flag")?;
    }
    for (i, sc) in array("syscalls").iter().enumerate() {
        if let Some(a) = sc.get("action") {
            let key = format!("linux.seccomp.syscalls[{i}].action");
            check::<LinuxSeccompAction>(a, &key, "action")?;
        }
        let args = sc.get("args").and_then(|v| v.as_array());
        for (j, arg) in args
            .map(Vec::as_slice)
            .unwrap_or_default()
            .iter()
            .enumerate()
        {
            if let Some(op) = arg.get("op") {
                let key = format!("linux.seccomp.syscalls[{i}].args[{j}].op");
                check::<LinuxSeccompOperator>(op, &key, "operator")?;
            }
        }
    }
    Ok(())
}

/// Compile `linux.seccomp` into a program, or take the one compiled before for the same
/// profile from the cache. Errors name the config key.
pub fn plan(s: &LinuxSeccomp) -> Result<SeccompPlan> {
    let _t = logging::step("seccomp: compile profile");
    let p = profile(s)?;
    let program = cache::program(&p.cache_key(), || build(&p))?;
    Ok(SeccompPlan {
        program,
        flags: p.flags,
        listener: p.listener,
    })
}

/// One entry of `syscalls[]` for one name, in libseccomp's terms.
#[derive(Debug, Clone, PartialEq)]
struct Rule {
    /// `linux.seccomp.syscalls[i]`, for errors.
    key: String,
    name: String,
    nr: ScmpSyscall,
    action: ScmpAction,
    /// One libseccomp rule per element; a rule matches when all its conditions hold.
    /// `[[]]` is an unconditional rule.
    rules: Vec<Vec<ScmpArgCompare>>,
}

/// The profile checked and translated, before libseccomp sees it.
#[derive(Debug, Clone, PartialEq)]
struct Profile {
    default: ScmpAction,
    /// (index in `architectures`, name, architecture).
    arches: Vec<(usize, String, ScmpArch)>,
    flags: u32,
    rules: Vec<Rule>,
    listener: Option<Listener>,
}

impl Profile {
    /// Everything `build` turns into the program, as text: two profiles with the same
    /// key compile to the same program (with the same libseccomp and berth binary, which
    /// the cache adds).
    fn cache_key(&self) -> String {
        use std::fmt::Write;
        let mut k = format!("default {:?}\narches {:?}\n", self.default, self.arches);
        for r in &self.rules {
            let _ = writeln!(k, "{} {:?} {:?}", r.name, r.action, r.rules);
        }
        k
    }
}

fn profile(s: &LinuxSeccomp) -> Result<Profile> {
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
            if sc.names().iter().any(|n| n == SEND_SYSCALL) {
                bail!(
                    "{key}: SCMP_ACT_NOTIFY cannot be used for {SEND_SYSCALL}: berth's init hands the listener to the agent with it"
                );
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

    let path = s
        .listener_path()
        .clone()
        .filter(|p| !p.as_os_str().is_empty());
    let metadata = s.listener_metadata().clone().filter(|m| !m.is_empty());
    if metadata.is_some() && path.is_none() {
        bail!("linux.seccomp.listenerMetadata: set without linux.seccomp.listenerPath");
    }
    // The spec ignores listenerPath when nothing notifies.
    let listener = match (notify, path) {
        (false, _) => None,
        (true, Some(path)) => Some(Listener { path, metadata }),
        (true, None) => {
            bail!("linux.seccomp.listenerPath: SCMP_ACT_NOTIFY needs the socket of a seccomp agent")
        }
    };
    Ok(Profile {
        default,
        arches,
        flags,
        rules,
        listener,
    })
}

/// An OCI action with its errno in libseccomp's terms. `errno` is only valid for ERRNO
/// and TRACE (the spec says to fail otherwise); both default to EPERM, as in runc.
fn action(a: LinuxSeccompAction, errno: Option<u32>, errno_key: &str) -> Result<ScmpAction> {
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
fn condition(a: &LinuxSeccompArg, key: &str) -> Result<ScmpArgCompare> {
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
fn split_conditions(
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

/// libseccomp's program for the profile.
fn build(p: &Profile) -> Result<Vec<u64>> {
    let err =
        |what: &str, e: libseccomp::error::SeccompError| anyhow!("linux.seccomp: {what}: {e}");
    let mut ctx = ScmpFilterContext::new(p.default).map_err(|e| err("new filter", e))?;
    for (i, name, arch) in &p.arches {
        ctx.add_arch(*arch).map_err(|e| {
            // libseccomp cannot mix byte orders in one filter (EDOM).
            let hint = match e.errno() {
                Some(libseccomp::error::SeccompErrno::EDOM) => {
                    " (one filter cannot hold architectures of both byte orders)"
                }
                _ => "",
            };
            anyhow!("linux.seccomp.architectures[{i}]: {name}: {e}{hint}")
        })?;
    }
    for r in &p.rules {
        for conds in &r.rules {
            let res = if conds.is_empty() {
                ctx.add_rule(r.action, r.nr)
            } else {
                ctx.add_rule_conditional(r.action, r.nr, conds)
            };
            res.map_err(|e| anyhow!("{}: rule for {}: {e}", r.key, r.name))?;
        }
    }
    if !p.rules.is_empty() {
        // A binary search on the syscall number instead of a linear scan: a few
        // comparisons per syscall for a 300-entry profile. (libseccomp 2.5 mis-builds the
        // tree for a filter without rules, hence the guard.)
        ctx.set_ctl_optimize(2)
            .map_err(|e| err("binary tree optimisation", e))?;
    }
    export(&ctx)
}

/// The program libseccomp generated, read back through a memfd (libseccomp 2.5 exports
/// only to a file descriptor).
fn export(ctx: &ScmpFilterContext) -> Result<Vec<u64>> {
    let fd =
        nix::sys::memfd::memfd_create(c"berth-seccomp", nix::sys::memfd::MFdFlags::MFD_CLOEXEC)
            .map_err(|e| anyhow!("linux.seccomp: memfd_create: {e}"))?;
    ctx.export_bpf(fd.as_fd())
        .map_err(|e| anyhow!("linux.seccomp: export the program: {e}"))?;
    let mut f = std::fs::File::from(fd);
    f.rewind()?;
    let mut bytes = Vec::new();
    f.read_to_end(&mut bytes)
        .context("linux.seccomp: read the program")?;
    let insns: Vec<u64> = bytes
        .chunks_exact(8)
        .map(|c| u64::from_ne_bytes(c.try_into().expect("chunks of 8")))
        .collect();
    // BPF_MAXINSNS: the kernel refuses longer programs.
    if insns.is_empty() || insns.len() > 4096 {
        bail!(
            "linux.seccomp: the profile compiles to {} BPF instructions (the kernel takes 1 to 4096)",
            insns.len()
        );
    }
    Ok(insns)
}

/// Parent side, before the clone: connect to the agent's socket when the profile
/// notifies. The path is on the host, out of the init's reach after pivot_root, so the init
/// inherits the connected socket.
pub fn connect_agent(plan: Option<&SeccompPlan>) -> Result<Option<OwnedFd>> {
    let Some(l) = plan.and_then(|p| p.listener.as_ref()) else {
        return Ok(None);
    };
    let what = || format!("linux.seccomp.listenerPath: {}", l.path.display());
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
    let listener = crate::sys::seccomp_set_filter(plan.flags, &plan.program).map_err(|e| {
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
        crate::sys::send_with_fd(sock.as_fd(), msg.as_bytes(), fd.as_fd()).map_err(|e| {
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
        "ociVersion": crate::state::SPEC_VERSION,
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

    const X86_64: u32 = 0xc000_003e;
    const I386: u32 = 0x4000_0003;
    const X32_BIT: u32 = 0x4000_0000;
    const RET_ALLOW: u32 = 0x7fff_0000;
    const RET_ERRNO: u32 = 0x0005_0000;
    const RET_KILL_THREAD: u32 = 0;
    const RET_KILL_PROCESS: u32 = 0x8000_0000;
    const RET_TRAP: u32 = 0x0003_0000;
    const RET_TRACE: u32 = 0x7ff0_0000;
    const RET_LOG: u32 = 0x7ffc_0000;
    const RET_USER_NOTIF: u32 = 0x7fc0_0000;

    // x86_64 and i386 syscall numbers used below.
    const MKDIR: u32 = 83;
    const GETPPID: u32 = 110;
    const GETPPID_I386: u32 = 64;
    const PERSONALITY: u32 = 135;
    const CLONE: u32 = 56;
    const CLONE3: u32 = 435;
    const READ: u32 = 0;

    fn seccomp(json: &str) -> LinuxSeccomp {
        serde_json::from_str(json).unwrap()
    }

    /// `plan` without the cache.
    fn try_compile(json: &str) -> Result<SeccompPlan> {
        let p = profile(&seccomp(json))?;
        Ok(SeccompPlan {
            program: build(&p)?,
            flags: p.flags,
            listener: p.listener,
        })
    }

    fn compile(json: &str) -> SeccompPlan {
        try_compile(json).unwrap()
    }

    fn error(json: &str) -> String {
        format!("{:#}", try_compile(json).unwrap_err())
    }

    /// Runs a classic BPF program on `struct seccomp_data`, as the kernel would, and
    /// returns (the filter's verdict, how many instructions ran).
    fn run(prog: &[u64], arch: u32, nr: u32, args: [u64; 6]) -> (u32, usize) {
        let mut data = Vec::new();
        data.extend_from_slice(&nr.to_ne_bytes());
        data.extend_from_slice(&arch.to_ne_bytes());
        data.extend_from_slice(&0u64.to_ne_bytes());
        for a in args {
            data.extend_from_slice(&a.to_ne_bytes());
        }
        let word =
            |off: u32| u32::from_ne_bytes(data[off as usize..off as usize + 4].try_into().unwrap());
        let (mut a, mut x, mut mem) = (0u32, 0u32, [0u32; 16]);
        let mut pc = 0usize;
        let mut steps = 0;
        loop {
            let b = prog[pc].to_ne_bytes();
            let code = u16::from_ne_bytes([b[0], b[1]]);
            let (jt, jf) = (b[2] as usize, b[3] as usize);
            let k = u32::from_ne_bytes([b[4], b[5], b[6], b[7]]);
            steps += 1;
            pc += 1;
            let src = if code & 0x08 != 0 { x } else { k };
            match code & 0x07 {
                0x00 => match code & 0xe0 {
                    0x20 => a = word(k),         // BPF_LD | BPF_ABS (BPF_W)
                    0x00 => a = k,               // BPF_IMM
                    0x60 => a = mem[k as usize], // BPF_MEM
                    m => panic!("ld mode {m:#x}"),
                },
                0x01 => match code & 0xe0 {
                    0x00 => x = k,
                    0x60 => x = mem[k as usize],
                    m => panic!("ldx mode {m:#x}"),
                },
                0x02 => mem[k as usize] = a,
                0x03 => mem[k as usize] = x,
                0x04 => {
                    a = match code & 0xf0 {
                        0x00 => a.wrapping_add(src),
                        0x10 => a.wrapping_sub(src),
                        0x40 => a | src,
                        0x50 => a & src,
                        op => panic!("alu op {op:#x}"),
                    }
                }
                0x05 => {
                    let taken = match code & 0xf0 {
                        0x00 => {
                            pc += k as usize;
                            continue;
                        }
                        0x10 => a == src,
                        0x20 => a > src,
                        0x30 => a >= src,
                        0x40 => a & src != 0,
                        op => panic!("jmp op {op:#x}"),
                    };
                    pc += if taken { jt } else { jf };
                }
                0x06 => return (if code & 0x18 == 0x10 { a } else { k }, steps),
                0x07 => {
                    if code & 0xf8 == 0 {
                        x = a
                    } else {
                        a = x
                    }
                }
                _ => unreachable!(),
            }
        }
    }

    fn verdict(p: &SeccompPlan, arch: u32, nr: u32, args: [u64; 6]) -> u32 {
        run(&p.program, arch, nr, args).0
    }

    fn x86_64(p: &SeccompPlan, nr: u32) -> u32 {
        verdict(p, X86_64, nr, [0; 6])
    }

    #[test]
    fn allow_list_with_errno_default() {
        let p = compile(
            r#"{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[
                {"names":["read","getppid"],"action":"SCMP_ACT_ALLOW"},
                {"names":["clone3"],"action":"SCMP_ACT_ERRNO","errnoRet":38}]}"#,
        );
        assert_eq!(x86_64(&p, READ), RET_ALLOW);
        assert_eq!(x86_64(&p, GETPPID), RET_ALLOW);
        assert_eq!(x86_64(&p, MKDIR), RET_ERRNO | libc::EPERM as u32);
        assert_eq!(x86_64(&p, CLONE3), RET_ERRNO | 38);
        assert_eq!(p.flags, libc::SECCOMP_FILTER_FLAG_SPEC_ALLOW as u32);
        assert!(p.listener.is_none());
    }

    #[test]
    fn default_errno_ret() {
        let p = compile(r#"{"defaultAction":"SCMP_ACT_ERRNO","defaultErrnoRet":38}"#);
        assert_eq!(x86_64(&p, MKDIR), RET_ERRNO | 38);
    }

    #[test]
    fn every_action() {
        let p = compile(
            r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[
                {"names":["mkdir"],"action":"SCMP_ACT_KILL"},
                {"names":["rmdir"],"action":"SCMP_ACT_KILL_THREAD"},
                {"names":["getppid"],"action":"SCMP_ACT_KILL_PROCESS"},
                {"names":["getpgrp"],"action":"SCMP_ACT_TRAP"},
                {"names":["getsid"],"action":"SCMP_ACT_TRACE","errnoRet":7},
                {"names":["getpgid"],"action":"SCMP_ACT_TRACE"},
                {"names":["uname"],"action":"SCMP_ACT_LOG"},
                {"names":["sync"],"action":"SCMP_ACT_NOTIFY"},
                {"names":["read"],"action":"SCMP_ACT_ALLOW"}],
              "listenerPath":"/run/agent.sock"}"#,
        );
        assert_eq!(x86_64(&p, MKDIR), RET_KILL_THREAD);
        assert_eq!(x86_64(&p, 84), RET_KILL_THREAD);
        assert_eq!(x86_64(&p, GETPPID), RET_KILL_PROCESS);
        assert_eq!(x86_64(&p, 111), RET_TRAP);
        assert_eq!(x86_64(&p, 124), RET_TRACE | 7);
        assert_eq!(x86_64(&p, 121), RET_TRACE | libc::EPERM as u32);
        assert_eq!(x86_64(&p, 63), RET_LOG);
        assert_eq!(x86_64(&p, 162), RET_USER_NOTIF);
        assert_eq!(x86_64(&p, READ), RET_ALLOW);
        assert_eq!(
            p.flags,
            (libc::SECCOMP_FILTER_FLAG_NEW_LISTENER | libc::SECCOMP_FILTER_FLAG_SPEC_ALLOW) as u32
        );
        assert_eq!(
            p.listener,
            Some(Listener {
                path: "/run/agent.sock".into(),
                metadata: None
            })
        );
    }

    #[test]
    fn architectures_x86_64_x86_x32() {
        let json = |arches: &str| {
            format!(
                r#"{{"defaultAction":"SCMP_ACT_ALLOW","architectures":[{arches}],
                    "syscalls":[{{"names":["getppid"],"action":"SCMP_ACT_ERRNO","errnoRet":5}}]}}"#
            )
        };
        let all = compile(&json(
            r#""SCMP_ARCH_X86_64","SCMP_ARCH_X86","SCMP_ARCH_X32""#,
        ));
        assert_eq!(verdict(&all, X86_64, GETPPID, [0; 6]), RET_ERRNO | 5);
        assert_eq!(verdict(&all, I386, GETPPID_I386, [0; 6]), RET_ERRNO | 5);
        assert_eq!(
            verdict(&all, X86_64, X32_BIT | GETPPID, [0; 6]),
            RET_ERRNO | 5
        );
        assert_eq!(verdict(&all, I386, GETPPID, [0; 6]), RET_ALLOW);

        // Without x86 and x32, their calls are killed rather than let through the
        // deny-list unchecked.
        let native = compile(&json(r#""SCMP_ARCH_X86_64""#));
        assert_eq!(verdict(&native, X86_64, GETPPID, [0; 6]), RET_ERRNO | 5);
        assert_eq!(
            verdict(&native, I386, GETPPID_I386, [0; 6]),
            RET_KILL_THREAD
        );
        assert_eq!(
            verdict(&native, X86_64, X32_BIT | GETPPID, [0; 6]),
            RET_KILL_THREAD
        );
    }

    #[test]
    fn argument_rules() {
        let p = compile(
            r#"{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[
                {"names":["personality"],"action":"SCMP_ACT_ALLOW",
                 "args":[{"index":0,"value":0,"op":"SCMP_CMP_EQ"}]},
                {"names":["personality"],"action":"SCMP_ACT_ALLOW",
                 "args":[{"index":0,"value":8,"op":"SCMP_CMP_EQ"}]},
                {"names":["read"],"action":"SCMP_ACT_ALLOW",
                 "args":[{"index":0,"value":3,"op":"SCMP_CMP_LT"},
                         {"index":2,"value":100,"op":"SCMP_CMP_LE"}]}]}"#,
        );
        let eperm = RET_ERRNO | libc::EPERM as u32;
        let call = |nr, args| verdict(&p, X86_64, nr, args);
        assert_eq!(call(PERSONALITY, [0, 0, 0, 0, 0, 0]), RET_ALLOW);
        assert_eq!(call(PERSONALITY, [8, 0, 0, 0, 0, 0]), RET_ALLOW);
        assert_eq!(call(PERSONALITY, [0x40_0000, 0, 0, 0, 0, 0]), eperm);
        // Different indices: both must hold.
        assert_eq!(call(READ, [2, 0, 100, 0, 0, 0]), RET_ALLOW);
        assert_eq!(call(READ, [3, 0, 100, 0, 0, 0]), eperm);
        assert_eq!(call(READ, [2, 0, 101, 0, 0, 0]), eperm);
    }

    #[test]
    fn every_operator_and_64_bit_values() {
        let rule = |op: &str, value: u64, two: &str| {
            compile(&format!(
                r#"{{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[
                    {{"names":["read"],"action":"SCMP_ACT_ALLOW",
                      "args":[{{"index":1,"value":{value}{two},"op":"{op}"}}]}}]}}"#
            ))
        };
        let allowed =
            |p: &SeccompPlan, v: u64| verdict(p, X86_64, READ, [0, v, 0, 0, 0, 0]) == RET_ALLOW;
        let big = 0x1_0000_0005u64;
        let ne = rule("SCMP_CMP_NE", big, "");
        assert!(allowed(&ne, 5) && !allowed(&ne, big));
        let lt = rule("SCMP_CMP_LT", big, "");
        assert!(allowed(&lt, 0xffff_ffff) && !allowed(&lt, big));
        let le = rule("SCMP_CMP_LE", big, "");
        assert!(allowed(&le, big) && !allowed(&le, big + 1));
        let eq = rule("SCMP_CMP_EQ", big, "");
        assert!(allowed(&eq, big) && !allowed(&eq, 5));
        let ge = rule("SCMP_CMP_GE", big, "");
        assert!(allowed(&ge, big) && !allowed(&ge, big - 1));
        let gt = rule("SCMP_CMP_GT", big, "");
        assert!(allowed(&gt, big + 1) && !allowed(&gt, big));
        // Docker's clone rule: no CLONE_NEW* flag may be set.
        let masked = rule("SCMP_CMP_MASKED_EQ", 0x7e02_0000, r#","valueTwo":0"#);
        assert!(allowed(&masked, 0x0120_0011) && !allowed(&masked, 0x1000_0011));
        let masked = rule("SCMP_CMP_MASKED_EQ", 0xff, r#","valueTwo":8"#);
        assert!(allowed(&masked, 0x1208) && !allowed(&masked, 0x1209));
    }

    #[test]
    fn conditions_on_one_index_are_alternatives() {
        // Each condition becomes its own rule, as in runc: 0 or 8, not 0 and 8.
        let p = compile(
            r#"{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[
                {"names":["personality"],"action":"SCMP_ACT_ALLOW",
                 "args":[{"index":0,"value":0,"op":"SCMP_CMP_EQ"},
                         {"index":0,"value":8,"op":"SCMP_CMP_EQ"}]}]}"#,
        );
        assert_eq!(verdict(&p, X86_64, PERSONALITY, [0; 6]), RET_ALLOW);
        assert_eq!(
            verdict(&p, X86_64, PERSONALITY, [8, 0, 0, 0, 0, 0]),
            RET_ALLOW
        );
        assert_ne!(
            verdict(&p, X86_64, PERSONALITY, [9, 0, 0, 0, 0, 0]),
            RET_ALLOW
        );
        let rules = profile(&seccomp(
            r#"{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[
                {"names":["personality"],"action":"SCMP_ACT_ALLOW",
                 "args":[{"index":0,"value":0,"op":"SCMP_CMP_EQ"},
                         {"index":0,"value":8,"op":"SCMP_CMP_EQ"}]}]}"#,
        ))
        .unwrap()
        .rules;
        assert_eq!(rules.len(), 1);
        assert_eq!(rules[0].rules.len(), 2);
    }

    #[test]
    fn rules_equal_to_the_default_and_unknown_names_are_skipped() {
        let s = r#"{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[
            {"names":["mkdir"],"action":"SCMP_ACT_ERRNO"},
            {"names":["rmdir"],"action":"SCMP_ACT_ERRNO","errnoRet":1},
            {"names":["no_such_syscall","read"],"action":"SCMP_ACT_ALLOW"}]}"#;
        let prof = profile(&seccomp(s)).unwrap();
        let names: Vec<&str> = prof.rules.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(names, ["read"]);
        let p = compile(s);
        assert_eq!(x86_64(&p, READ), RET_ALLOW);
        assert_eq!(x86_64(&p, MKDIR), RET_ERRNO | 1);
        // An ERRNO rule with another errno than the default's is not redundant.
        let p = compile(
            r#"{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[
                {"names":["mkdir"],"action":"SCMP_ACT_ERRNO","errnoRet":2}]}"#,
        );
        assert_eq!(x86_64(&p, MKDIR), RET_ERRNO | 2);
    }

    #[test]
    fn flags() {
        let p = compile(
            r#"{"defaultAction":"SCMP_ACT_ALLOW","flags":["SECCOMP_FILTER_FLAG_LOG",
                "SECCOMP_FILTER_FLAG_SPEC_ALLOW","SECCOMP_FILTER_FLAG_TSYNC",
                "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"]}"#,
        );
        assert_eq!(
            p.flags,
            (libc::SECCOMP_FILTER_FLAG_LOG | libc::SECCOMP_FILTER_FLAG_SPEC_ALLOW) as u32
        );
        let p = compile(
            r#"{"defaultAction":"SCMP_ACT_ALLOW","flags":["SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"],
                "listenerPath":"/a","listenerMetadata":"m",
                "syscalls":[{"names":["mkdir"],"action":"SCMP_ACT_NOTIFY"}]}"#,
        );
        assert_eq!(
            p.flags,
            (libc::SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV | libc::SECCOMP_FILTER_FLAG_NEW_LISTENER)
                as u32
        );
        assert_eq!(p.listener.unwrap().metadata.as_deref(), Some("m"));
        // An empty list is no flags at all; no list is SPEC_ALLOW (runc's default).
        assert_eq!(
            compile(r#"{"defaultAction":"SCMP_ACT_ALLOW","flags":[]}"#).flags,
            0
        );
        assert_eq!(
            compile(r#"{"defaultAction":"SCMP_ACT_ALLOW"}"#).flags,
            libc::SECCOMP_FILTER_FLAG_SPEC_ALLOW as u32
        );
        // listenerPath without NOTIFY is ignored, as the spec says.
        let p = compile(r#"{"defaultAction":"SCMP_ACT_ALLOW","listenerPath":"/a"}"#);
        assert!(p.listener.is_none());
    }

    #[test]
    fn bad_profiles_name_the_key() {
        let cases = [
            (
                r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["read"],"action":"SCMP_ACT_ERRNO","args":[{"index":6,"value":0,"op":"SCMP_CMP_EQ"}]}]}"#,
                "linux.seccomp.syscalls[0].args[0].index",
            ),
            (
                r#"{"defaultAction":"SCMP_ACT_ALLOW","defaultErrnoRet":3}"#,
                "linux.seccomp.defaultErrnoRet",
            ),
            (
                r#"{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{"names":["read"],"action":"SCMP_ACT_ALLOW","errnoRet":3}]}"#,
                "linux.seccomp.syscalls[0].errnoRet",
            ),
            (
                r#"{"defaultAction":"SCMP_ACT_ERRNO","defaultErrnoRet":70000}"#,
                "linux.seccomp.defaultErrnoRet",
            ),
            (
                r#"{"defaultAction":"SCMP_ACT_NOTIFY","listenerPath":"/a"}"#,
                "linux.seccomp.defaultAction",
            ),
            (
                r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["mkdir"],"action":"SCMP_ACT_NOTIFY"}]}"#,
                "linux.seccomp.listenerPath",
            ),
            (
                r#"{"defaultAction":"SCMP_ACT_ALLOW","listenerPath":"/a","syscalls":[{"names":["sendmsg"],"action":"SCMP_ACT_NOTIFY"}]}"#,
                "linux.seccomp.syscalls[0]",
            ),
            (
                r#"{"defaultAction":"SCMP_ACT_ALLOW","listenerMetadata":"x"}"#,
                "linux.seccomp.listenerMetadata",
            ),
        ];
        for (json, key) in cases {
            let e = error(json);
            assert!(e.starts_with(key), "{json}: {e}");
        }
        // LoongArch came with libseccomp 2.6.
        let v = libseccomp::ScmpVersion::current().unwrap();
        if (v.major, v.minor) < (2, 6) {
            let e = error(
                r#"{"defaultAction":"SCMP_ACT_ALLOW","architectures":["SCMP_ARCH_X86","SCMP_ARCH_LOONGARCH64"]}"#,
            );
            assert!(
                e.starts_with(
                    "linux.seccomp.architectures[1]: SCMP_ARCH_LOONGARCH64 is not supported"
                ),
                "{e}"
            );
        }
    }

    #[test]
    fn raw_names_are_checked_with_their_key() {
        let check = |seccomp: serde_json::Value| {
            check_raw(&serde_json::json!({"linux": {"seccomp": seccomp}}))
                .err()
                .map(|e| e.to_string())
        };
        let e = check(serde_json::json!({"defaultAction": "SCMP_ACT_BOGUS"})).unwrap();
        assert_eq!(
            e,
            "linux.seccomp.defaultAction: unknown action \"SCMP_ACT_BOGUS\""
        );
        let e = check(serde_json::json!({"defaultAction": "SCMP_ACT_ALLOW",
            "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_PDP11"]}))
        .unwrap();
        assert!(
            e.starts_with("linux.seccomp.architectures[1]: unknown architecture"),
            "{e}"
        );
        let e = check(serde_json::json!({"defaultAction": "SCMP_ACT_ALLOW",
            "flags": ["SECCOMP_FILTER_FLAG_BOGUS"]}))
        .unwrap();
        assert!(e.starts_with("linux.seccomp.flags[0]: unknown flag"), "{e}");
        let e = check(serde_json::json!({"defaultAction": "SCMP_ACT_ALLOW",
            "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ALLOW"},
                         {"names": ["read"], "action": "SCMP_ACT_NOPE"}]}))
        .unwrap();
        assert!(
            e.starts_with("linux.seccomp.syscalls[1].action: unknown action"),
            "{e}"
        );
        let e = check(serde_json::json!({"defaultAction": "SCMP_ACT_ALLOW",
            "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ERRNO",
                          "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_SIMILAR"}]}]}))
        .unwrap();
        assert!(
            e.starts_with("linux.seccomp.syscalls[0].args[0].op: unknown operator"),
            "{e}"
        );
        let ok = check(serde_json::json!({"defaultAction": "SCMP_ACT_KILL_PROCESS",
            "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32", "SCMP_ARCH_AARCH64"],
            "flags": ["SECCOMP_FILTER_FLAG_LOG"],
            "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ALLOW",
                          "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_MASKED_EQ"}]}]}));
        assert_eq!(ok, None);
    }

    /// The Docker-like profile the integration tests and the bench use.
    fn docker_like() -> SeccompPlan {
        compile(include_str!("../../bench/seccomp-default.json"))
    }

    #[test]
    fn docker_like_profile() {
        let p = docker_like();
        let enosys = RET_ERRNO | libc::ENOSYS as u32;
        let eperm = RET_ERRNO | libc::EPERM as u32;
        assert_eq!(x86_64(&p, READ), RET_ALLOW);
        assert_eq!(x86_64(&p, CLONE3), enosys);
        assert_eq!(
            verdict(&p, X86_64, CLONE, [0x0120_0011, 0, 0, 0, 0, 0]),
            RET_ALLOW
        );
        assert_eq!(
            verdict(&p, X86_64, CLONE, [0x1000_0011, 0, 0, 0, 0, 0]),
            eperm
        );
        // mount is not on the list; i386 read (3) and x32 read are.
        assert_eq!(x86_64(&p, 165), eperm);
        assert_eq!(verdict(&p, I386, 3, [0; 6]), RET_ALLOW);
        assert_eq!(verdict(&p, X86_64, X32_BIT | READ, [0; 6]), RET_ALLOW);
    }

    #[test]
    fn binary_tree_keeps_the_per_syscall_cost_low() {
        let p = docker_like();
        // The worst case over every x86_64 syscall number: a linear filter would run
        // hundreds of instructions for the last ones.
        let worst = (0..460)
            .map(|nr| run(&p.program, X86_64, nr, [0; 6]).1)
            .max()
            .unwrap();
        assert!(worst < 40, "worst case {worst} instructions");
    }
}
