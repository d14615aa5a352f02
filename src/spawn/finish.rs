//! The end of every child's recipe, the init's and an exec'd process's alike: what makes
//! the process the one `process` describes, from rlimits to seccomp.

use super::child::{Step, StepResult};
use crate::errors::errno_text;
use crate::linux::{capabilities, process, process_attrs, sys};
use crate::spec::seccomp::SeccompPlan;
use crate::spec::ProcessPlan;
use anyhow::{anyhow, Result};
use nix::errno::Errno;
use std::cell::Cell;
use std::os::fd::OwnedFd;

/// The end of the recipe, which `exec` runs too: everything that makes this process the
/// one `process` describes, from rlimits to seccomp (`seccomp` loads the container's
/// filter). Returns what to execve.
///
/// After a noNewPrivileges filter, the runtime only reports Ready (write) and, in the
/// init, opens and writes exec.fifo and runs startContainer hooks, as runc does.
pub fn finish_process(
    p: &ProcessPlan,
    preserve_fds: u32,
    status: Option<i32>,
    mut seccomp: impl FnMut() -> Result<()>,
) -> StepResult<process::Execve> {
    // Before any filter: a profile need not allow close_range (many do not, and the
    // OCI validation suite's default denies it), and nothing opened after this is
    // inheritable anyway (every fd berth opens is close-on-exec).
    super::fds::keep_only_passed(preserve_fds).step("close fds")?;
    // The trampoline's status pipe (`exec`) must reach the trampoline, which makes it
    // close-on-exec itself before the last execve.
    if let Some(fd) = status {
        nix::fcntl::fcntl(
            sys::borrow_fd(fd),
            nix::fcntl::FcntlArg::F_SETFD(nix::fcntl::FdFlag::empty()),
        )
        .map_err(|e| anyhow!("trampoline status pipe: {}", errno_text(e)))
        .step("close fds")?;
    }
    process::set_rlimits(p).step("rlimits")?;
    // These need capabilities the next steps drop.
    process_attrs::set_scheduling(&p.attrs).step("scheduling")?;
    process_attrs::set_exec_labels(&p.attrs).step("lsm label")?;
    // Without noNewPrivileges, loading a filter needs CAP_SYS_ADMIN: do it while we still
    // have it, before the capabilities and the user change (as runc does).
    if !p.attrs.no_new_privileges {
        seccomp().step("seccomp")?;
    }
    // As root first: a cwd the runtime can reach but the container's user cannot
    // (a volume below a 0700 directory) still works, as in runc. Refused as root, it is
    // tried again as the user, who may own it (a volume chowned to the container user).
    let cwd_done = match nix::unistd::chdir(&p.cwd) {
        Ok(()) => true,
        Err(Errno::EACCES | Errno::EPERM) => false,
        Err(e) => return Err(("cwd", cwd_error(p, e))),
    };
    capabilities::prepare(&p.caps).step("capabilities")?;
    process::switch_user(p).step("user")?;
    capabilities::apply(&p.caps).step("capabilities")?;
    let umask = p.umask.unwrap_or(0o022);
    nix::sys::stat::umask(nix::sys::stat::Mode::from_bits_truncate(umask));
    if !cwd_done {
        nix::unistd::chdir(&p.cwd).map_err(|e| ("cwd", cwd_error(p, e)))?;
    }
    let env = process::env_with_home(p);
    let path = process::find_executable(&p.args[0], &env).step("exec")?;
    let exec = process::exec_args(&path, &p.args, &env).step("exec")?;
    process_attrs::set_personality(&p.attrs).step("personality")?;
    // Rust's runtime ignores SIGPIPE, and an ignored signal stays ignored across execve:
    // the process would never die of a broken pipe.
    sys::default_sigpipe()
        .map_err(|e| anyhow!("reset SIGPIPE: {}", crate::errors::describe_io(&e)))
        .step("signals")?;
    process_attrs::set_no_new_privileges(&p.attrs).step("no new privileges")?;
    // With no_new_privs set anyone may load a filter, so it goes on as late as possible:
    // the fewer of our own syscalls come after it, the fewer a profile has to allow.
    if p.attrs.no_new_privileges {
        seccomp().step("seccomp")?;
    }
    Ok(exec)
}

/// Load the container's filter (`linux.seccomp`), if it has one, and hand its listener
/// to the seccomp agent on `agent` (taken once used). `state` is the state JSON the agent
/// gets with it.
pub fn load_seccomp(
    plan: Option<&SeccompPlan>,
    agent: &Cell<Option<OwnedFd>>,
    state: &str,
) -> Result<()> {
    match plan {
        Some(s) => crate::seccomp::install(s, agent.take(), state),
        None => Ok(()),
    }
}

fn cwd_error(p: &ProcessPlan, e: Errno) -> anyhow::Error {
    anyhow!("process.cwd: chdir {}: {}", p.cwd.display(), errno_text(e))
}

/// The container's session keyring `_ses.<id>` (`exec` joins the same one).
pub fn join_keyring(id: &str) -> Result<()> {
    let name = std::ffi::CString::new(format!("_ses.{id}"))?;
    match sys::join_session_keyring(&name) {
        // Kernels without keys, or a seccomp filter on keyctl, are not an error (as in runc).
        Err(e) if e.raw_os_error() == Some(libc::ENOSYS) => Ok(()),
        other => {
            other.map_err(|e| anyhow!("join session keyring: {}", crate::errors::describe_io(&e)))
        }
    }
}
