//! Compile a translated profile with libseccomp (binary-tree dispatch), export the BPF
//! program and put the -ENOSYS prefix (`enosys.rs`) before it: what the init will load.

use super::profile::Profile;
use anyhow::{anyhow, bail, Context, Result};
use libseccomp::ScmpFilterContext;
use std::io::{Read, Seek};
use std::os::fd::AsFd;

/// libseccomp's program for the profile.
pub(super) fn build(p: &Profile) -> Result<Vec<u64>> {
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
    let mut program = super::enosys::prefix(&p.enosys);
    program.extend(export(&ctx)?);
    // BPF_MAXINSNS: the kernel refuses longer programs.
    if program.len() > 4096 {
        bail!(
            "linux.seccomp: the profile compiles to {} BPF instructions (the kernel takes at most 4096)",
            program.len()
        );
    }
    Ok(program)
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
    if insns.is_empty() {
        bail!("linux.seccomp: libseccomp exported an empty program");
    }
    Ok(insns)
}
