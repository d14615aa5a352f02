//! The rest of the container process's privileges and scheduling, planned by
//! `spec::attrs`: the init's thin kernel calls for noNewPrivileges, oomScoreAdj, the
//! AppArmor profile and SELinux label, ioPriority, scheduler, execCPUAffinity and
//! linux.personality.

use crate::errors::{describe_io, errno_text};
use crate::linux::{proc_write, sys};
use crate::spec::attrs::AttrsPlan;
use anyhow::{anyhow, Result};

/// sched_setaffinity(2) for the calling process; `None` means every CPU (the kernel
/// keeps what the cpuset cgroup allows of them).
pub fn set_cpu_affinity(cpus: Option<&[usize]>, key: &str) -> Result<()> {
    let mut set = nix::sched::CpuSet::new();
    let all: Vec<usize>;
    let cpus = match cpus {
        Some(c) => c,
        None => {
            all = (0..nix::sched::CpuSet::count()).collect();
            &all
        }
    };
    for &c in cpus {
        set.set(c)
            .map_err(|e| anyhow!("process.execCPUAffinity.{key}: CPU {c}: {}", errno_text(e)))?;
    }
    nix::sched::sched_setaffinity(nix::unistd::Pid::from_raw(0), &set).map_err(|e| {
        anyhow!(
            "process.execCPUAffinity.{key}: sched_setaffinity: {}",
            errno_text(e)
        )
    })
}

/// Before the user switch; lowering the score needs CAP_SYS_RESOURCE.
pub fn set_oom_score_adj(a: &AttrsPlan) -> Result<()> {
    let Some(v) = a.oom_score_adj else {
        return Ok(());
    };
    proc_write::write_self("oom_score_adj", v.to_string().as_bytes()).map_err(|e| {
        let hint = if e.raw_os_error() == Some(libc::EACCES) {
            " (lowering it below the current value needs CAP_SYS_RESOURCE)"
        } else {
            ""
        };
        anyhow!(
            "process.oomScoreAdj: write {v} to /proc/self/oom_score_adj: {}{hint}",
            describe_io(&e)
        )
    })
}

/// I/O priority and scheduler, while the init still has CAP_SYS_ADMIN and CAP_SYS_NICE
/// (real-time classes and negative nice values need them); both survive execve.
pub fn set_scheduling(a: &AttrsPlan) -> Result<()> {
    if let Some(v) = a.io_priority {
        sys::ioprio_set(v)
            .map_err(|e| anyhow!("process.ioPriority: ioprio_set: {}", describe_io(&e)))?;
    }
    if let Some(attr) = &a.scheduler {
        sys::sched_setattr(attr).map_err(|e| {
            let hint = if e.raw_os_error() == Some(libc::EPERM)
                && matches!(attr.policy as i32, libc::SCHED_FIFO | libc::SCHED_RR)
            {
                " (a cgroup v1 cpu cgroup without cpu.rt_runtime_us refuses real-time policies)"
            } else {
                ""
            };
            anyhow!(
                "process.scheduler: sched_setattr: {}{hint}",
                describe_io(&e)
            )
        })?;
    }
    Ok(())
}

/// Ask the LSM to move to the profile/label at the next execve, the way runc does.
pub fn set_exec_labels(a: &AttrsPlan) -> Result<()> {
    if let Some(profile) = &a.apparmor_profile {
        let rel = if proc_write::self_has("attr/apparmor/exec") {
            "attr/apparmor/exec"
        } else {
            "attr/exec"
        };
        proc_write::write_self(rel, format!("exec {profile}").as_bytes()).map_err(|e| {
            anyhow!(
                "process.apparmorProfile: {profile:?}: write /proc/self/{rel}: {}",
                describe_io(&e)
            )
        })?;
    }
    if let Some(label) = &a.selinux_label {
        proc_write::write_self("attr/exec", label.as_bytes()).map_err(|e| {
            anyhow!(
                "process.selinuxLabel: {label:?}: write /proc/self/attr/exec: {}",
                describe_io(&e)
            )
        })?;
    }
    Ok(())
}

pub fn set_personality(a: &AttrsPlan) -> Result<()> {
    if let Some(p) = a.personality {
        sys::set_personality(p).map_err(|e| {
            anyhow!(
                "linux.personality: personality({p:#x}): {}",
                describe_io(&e)
            )
        })?;
    }
    Ok(())
}

/// Last before Ready: nothing the init does afterwards needs to gain privileges.
pub fn set_no_new_privileges(a: &AttrsPlan) -> Result<()> {
    if a.no_new_privileges {
        nix::sys::prctl::set_no_new_privs().map_err(|e| {
            anyhow!(
                "process.noNewPrivileges: prctl(PR_SET_NO_NEW_PRIVS): {}",
                errno_text(e)
            )
        })?;
    }
    Ok(())
}
