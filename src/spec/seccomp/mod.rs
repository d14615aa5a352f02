//! `linux.seccomp` planned: the OCI profile compiled to a BPF program by libseccomp in
//! the parent. `crate::seccomp` installs it in the container's init with a plain
//! seccomp(2) call.
//!
//! ```text
//!   parent (create)                               init
//!   ───────────────                               ────
//!   check names in the raw JSON (check_raw)
//!   profile(): actions, args, flags, listener     ...
//!   build(): libseccomp, binary tree, export BPF  capabilities, user, ...
//!     behind the -ENOSYS prefix (enosys.rs)
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
//! not know is skipped with a debug log (a profile lists syscalls of newer kernels); a
//! syscall newer than every one the profile names returns ENOSYS (`enosys.rs`).

/// Every seccomp action berth takes, as the OCI spells them (`features` lists them too).
pub const ACTIONS: &[&str] = &[
    "SCMP_ACT_ALLOW",
    "SCMP_ACT_ERRNO",
    "SCMP_ACT_KILL",
    "SCMP_ACT_KILL_PROCESS",
    "SCMP_ACT_KILL_THREAD",
    "SCMP_ACT_LOG",
    "SCMP_ACT_NOTIFY",
    "SCMP_ACT_TRACE",
    "SCMP_ACT_TRAP",
];

/// Every argument operator berth takes, as the OCI spells them.
pub const OPERATORS: &[&str] = &[
    "SCMP_CMP_EQ",
    "SCMP_CMP_GE",
    "SCMP_CMP_GT",
    "SCMP_CMP_LE",
    "SCMP_CMP_LT",
    "SCMP_CMP_MASKED_EQ",
    "SCMP_CMP_NE",
];

mod cache;
mod compile;
mod enosys;
mod profile;

use compile::build;
use profile::profile;

use crate::logging;
use anyhow::{bail, Result};
use oci_spec::runtime::LinuxSeccompOperator;
use oci_spec::runtime::{LinuxSeccomp, LinuxSeccompAction, LinuxSeccompFilterFlag};
use std::path::PathBuf;

/// Syscalls a NOTIFY rule may not name, and why: the runtime makes them itself once the
/// filter is on. On sendmsg, the init would wait for an agent that has not got the
/// listener yet (it is that call which hands it over). On write, runc's rule, whose
/// words callers match: the init then reports Ready and writes exec.fifo, so the agent
/// would be asked about the runtime's own writes, and create and start would wait on it.
const NO_NOTIFY: &[(&str, &str)] = &[
    (
        "sendmsg",
        "berth's init hands the listener to the agent with it",
    ),
    ("write", "berth's init reports to the runtime with it"),
];

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

#[cfg(test)]
mod enosys_tests;
#[cfg(test)]
mod proptests;
#[cfg(test)]
mod tests;
