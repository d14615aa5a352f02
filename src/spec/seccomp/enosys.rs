//! The -ENOSYS prefix runc puts before the filter: a syscall newer than every syscall the
//! profile names (for the architecture it is made on) returns ENOSYS rather than the
//! default action.
//!
//! A profile is written against the kernel its author knew. A later kernel's syscall
//! (clone3, faccessat2, openat2, ...) then gets the default action, typically EPERM, and
//! libc takes EPERM as "refused" where ENOSYS would have made it fall back to the older
//! call. runc (1.0 on; 1.1.5 is the version its tests expect) answers ENOSYS for any
//! number above the largest one the profile names on that architecture, and engines'
//! profiles are written with that in mind. As in runc:
//! - only when the default action refuses (ALLOW, LOG and TRACE let calls through; a
//!   tracer handles new syscalls itself) and is not already ERRNO(ENOSYS);
//! - only for the architectures listed in `architectures` (none listed: no prefix);
//! - the largest number counts every name of `syscalls[]`, whatever its action (a rule
//!   equal to the default, which the filter itself drops, still says the author knew
//!   the call); a name unknown on that architecture does not count;
//! - x86_64 and x32 share an AUDIT_ARCH and differ by bit 30 of the number, so each
//!   mode is compared with its own largest number;
//! - on s390 and s390x, syscall 0 is what the kernel leaves for an unknown number of
//!   the multiplexed large syscalls, so it returns ENOSYS too.
//!
//! The prefix only ever answers ENOSYS or falls through to the filter, which starts
//! with its own architecture check.

use libseccomp::{ScmpAction, ScmpArch, ScmpSyscall};

/// The largest syscall number a profile names on one architecture.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Last {
    pub(super) arch: ScmpArch,
    pub(super) nr: u32,
}

/// Whether a profile with this default action gets the prefix.
pub(super) fn applies(default: ScmpAction) -> bool {
    !matches!(
        default,
        ScmpAction::Allow | ScmpAction::Log | ScmpAction::Trace(_)
    ) && default != ScmpAction::Errno(libc::ENOSYS)
}

/// The largest number of `names` on each of `arches`, in the order of `arches`; an
/// architecture on which that is 0 (or no name resolves) is left out, as in runc.
pub(super) fn last_syscalls<'a>(
    arches: &[ScmpArch],
    names: impl Iterator<Item = &'a str> + Clone,
) -> Vec<Last> {
    let mut out: Vec<Last> = Vec::new();
    for &arch in arches {
        let arch = match arch {
            ScmpArch::Native => ScmpArch::native(),
            a => a,
        };
        if out.iter().any(|l| l.arch == arch) || audit_arch(arch).is_none() {
            continue;
        }
        // Names absent on this architecture resolve to libseccomp's negative
        // pseudo-numbers: they do not count.
        let nr = names
            .clone()
            .filter_map(|n| ScmpSyscall::from_name_by_arch(n, arch).ok())
            .filter_map(|s| u32::try_from(i32::from(s)).ok())
            .max();
        if let Some(nr) = nr.filter(|&n| n != 0) {
            out.push(Last { arch, nr });
        }
    }
    out
}

/// The kernel's AUDIT_ARCH_* for an architecture (what `seccomp_data.arch` holds); x32
/// calls come with x86_64's.
fn audit_arch(arch: ScmpArch) -> Option<u32> {
    const B64: u32 = 0x8000_0000;
    const LE: u32 = 0x4000_0000;
    const N32: u32 = 0x2000_0000;
    Some(match arch {
        ScmpArch::X86 => 3 | LE,
        ScmpArch::X8664 | ScmpArch::X32 => 62 | B64 | LE,
        ScmpArch::Arm => 40 | LE,
        ScmpArch::Aarch64 => 183 | B64 | LE,
        ScmpArch::Loongarch64 => 258 | B64 | LE,
        ScmpArch::M68k => 4,
        ScmpArch::Mips => 8,
        ScmpArch::Mipsel => 8 | LE,
        ScmpArch::Mips64 => 8 | B64,
        ScmpArch::Mipsel64 => 8 | B64 | LE,
        ScmpArch::Mips64N32 => 8 | B64 | N32,
        ScmpArch::Mipsel64N32 => 8 | B64 | LE | N32,
        ScmpArch::Ppc => 20,
        ScmpArch::Ppc64 => 21 | B64,
        ScmpArch::Ppc64Le => 21 | B64 | LE,
        ScmpArch::S390 => 22,
        ScmpArch::S390X => 22 | B64,
        ScmpArch::Parisc => 15,
        ScmpArch::Parisc64 => 15 | B64,
        ScmpArch::Riscv64 => 243 | B64 | LE,
        ScmpArch::Sheb => 42,
        ScmpArch::Sh => 42 | LE,
        _ => return None,
    })
}

const X32_BIT: u32 = 0x4000_0000;
const RET_ENOSYS: u32 = 0x0005_0000 | libc::ENOSYS as u32;

// Classic BPF opcodes.
const LD_W_ABS: u16 = 0x20;
const JA: u16 = 0x05;
const JEQ: u16 = 0x15;
const JGT: u16 = 0x25;
const JSET: u16 = 0x45;
const RET: u16 = 0x06;

/// Where a conditional jump of a section goes.
#[derive(Clone, Copy)]
enum To {
    /// The next instruction.
    Next,
    /// The section's `ret ENOSYS`.
    Enosys,
    /// The section's jump to the filter.
    Filter,
    /// `n` instructions further on (0 is the next one).
    Skip(u8),
}

struct Insn {
    code: u16,
    jt: To,
    jf: To,
    k: u32,
}

fn insn(code: u16, jt: To, jf: To, k: u32) -> Insn {
    Insn { code, jt, jf, k }
}

/// The prefix for `last` (see the module's comment); empty when `last` is.
pub(super) fn prefix(last: &[Last]) -> Vec<u64> {
    if last.is_empty() {
        return Vec::new();
    }
    // One section per AUDIT_ARCH, entered when `seccomp_data.arch` equals it.
    let mut groups: Vec<(u32, Vec<Last>)> = Vec::new();
    for l in last {
        let a = audit_arch(l.arch).expect("last_syscalls keeps known architectures");
        match groups.iter_mut().find(|(g, _)| *g == a) {
            Some((_, v)) => v.push(*l),
            None => groups.push((a, vec![*l])),
        }
    }
    // (code, jt, jf, k) with resolved jumps; `None` for k marks the jumps to the filter,
    // whose distance is known once the whole prefix is.
    let mut out: Vec<(u16, u8, u8, Option<u32>)> = vec![(LD_W_ABS, 0, 0, Some(4))];
    for (audit, lasts) in &groups {
        let body = section(lasts);
        let n = u8::try_from(body.len()).expect("a section is a few instructions");
        out.push((JEQ, 0, n, Some(*audit)));
        let (filter, enosys) = (body.len() - 2, body.len() - 1);
        for (i, s) in body.iter().enumerate() {
            let off = |t: To| -> u8 {
                let target = match t {
                    To::Next => i + 1,
                    To::Enosys => enosys,
                    To::Filter => filter,
                    To::Skip(n) => i + 1 + n as usize,
                };
                u8::try_from(target - (i + 1)).expect("a short forward jump")
            };
            let k = (s.code != JA).then_some(s.k);
            out.push((s.code, off(s.jt), off(s.jf), k));
        }
    }
    let len = out.len();
    out.iter()
        .enumerate()
        .map(|(i, &(code, jt, jf, k))| {
            let k = k.unwrap_or((len - i - 1) as u32);
            encode(code, jt, jf, k)
        })
        .collect()
}

/// One architecture's checks on the syscall number, ending with the jump to the filter
/// and the `ret ENOSYS`.
fn section(lasts: &[Last]) -> Vec<Insn> {
    let max = |a: ScmpArch| lasts.iter().find(|l| l.arch == a).map(|l| l.nr);
    let over = |nr: u32| insn(JGT, To::Enosys, To::Filter, nr);
    let mut s = vec![insn(LD_W_ABS, To::Next, To::Next, 0)];
    match (max(ScmpArch::X8664), max(ScmpArch::X32)) {
        (Some(x64), Some(x32)) => {
            s.push(insn(JSET, To::Skip(1), To::Next, X32_BIT));
            s.push(over(x64));
            s.push(over(x32));
        }
        (Some(x64), None) => {
            s.push(insn(JSET, To::Filter, To::Next, X32_BIT));
            s.push(over(x64));
        }
        (None, Some(x32)) => {
            s.push(insn(JSET, To::Next, To::Filter, X32_BIT));
            s.push(over(x32));
        }
        (None, None) => {
            let l = lasts[0];
            if matches!(l.arch, ScmpArch::S390 | ScmpArch::S390X) {
                s.push(insn(JEQ, To::Enosys, To::Next, 0));
            }
            s.push(over(l.nr));
        }
    }
    s.push(insn(JA, To::Next, To::Next, 0));
    s.push(insn(RET, To::Next, To::Next, RET_ENOSYS));
    s
}

/// A `struct sock_filter` as the program holds it (host byte order).
fn encode(code: u16, jt: u8, jf: u8, k: u32) -> u64 {
    let c = code.to_ne_bytes();
    let k = k.to_ne_bytes();
    u64::from_ne_bytes([c[0], c[1], jt, jf, k[0], k[1], k[2], k[3]])
}
