//! The container's last execve through a tiny sealed program, so that the init need not
//! re-execute berth to keep the binary safe (CVE-2019-5736), when nothing in the
//! container could reach the init's /proc/PID/exe anyway.
//!
//! The attack needs the berth binary behind some /proc/PID/exe a container process can
//! open: the init's own, or its /proc/self/exe at the execve of a `#!/proc/self/exe`
//! script. The second is what the trampoline closes: the init's final execve runs this
//! program from a sealed memfd, and the program execs the container's process; a script's
//! /proc/self/exe is then the sealed memfd, which nobody can ever write. The first needs
//! the init's pid (a PID namespace of its own: only processes `exec` adds share it) and
//! ptrace access to it: the init is not dumpable, so only CAP_SYS_PTRACE in the host's
//! user namespace opens it. Where any of that is not certain — host root not running
//! berth, a shared or no PID namespace, CAP_SYS_PTRACE in the bounding set, an LSM label
//! (exec of a memfd may be denied), a seccomp agent (it would see two execves), no /proc
//! of its own (no mount namespace, or no proc mount) — berth re-executes itself from a
//! read-only mount as before (`selfexe`).
//!
//! `exec` uses it too, when the container was made with it (create leaves a mark in the
//! state directory, which an `exec` with CAP_SYS_PTRACE in its bounding set removes for
//! good): the exec'd child is born not dumpable, so no process in the container reaches
//! it before its last execve either.
//!
//! The program runs after the seccomp filter, so it execs through /proc/self/fd/N with
//! plain execve(2), which any profile that lets the container start allows. If that
//! second execve fails, the init's program prints berth's own message (`berth: exec
//! "PATH": REASON`) to stderr and exits 127, as the init did; `exec`'s reports errno and
//! path on a pipe (close-on-exec once the program has set it so: a profile that denies
//! fcntl only costs the report), and `exec` fails with runc's words as before.

use crate::errors::errno_text;
use crate::linux::rootless;
use crate::spec::seccomp::SeccompPlan;
use crate::spec::{Plan, ProcessPlan};
use nix::sched::CloneFlags;
use std::io::Write;
use std::os::fd::OwnedFd;

/// Whether the init may exec through the trampoline instead of re-executing berth.
pub fn suits(plan: &Plan) -> bool {
    suits_process(&plan.process, plan.seccomp.as_ref())
        && plan.namespaces.creates(CloneFlags::CLONE_NEWPID)
        // /proc/self/fd/N must lead to the program: our own proc mount, in our own
        // mount namespace.
        && plan.namespaces.has(CloneFlags::CLONE_NEWNS)
        && plan
            .mounts
            .iter()
            .any(|m| m.fstype == "proc" && m.destination == std::path::Path::new("/proc"))
}

/// What the process itself must be for the trampoline (the init's, or an exec'd one
/// in a container whose init went through it): berth run by the host's root, and no
/// CAP_SYS_PTRACE, LSM label or seccomp agent.
pub fn suits_process(p: &ProcessPlan, seccomp: Option<&SeccompPlan>) -> bool {
    nix::unistd::geteuid().is_root()
        && !rootless::in_user_namespace()
        && !may_ptrace(p)
        && p.attrs.apparmor_profile.is_none()
        && p.attrs.selinux_label.is_none()
        && seccomp.is_none_or(|s| s.listener.is_none())
}

/// Whether the process may hold CAP_SYS_PTRACE (it is in its bounding set).
pub fn may_ptrace(p: &ProcessPlan) -> bool {
    const CAP_SYS_PTRACE: u32 = 19;
    p.caps.bounding & (1 << CAP_SYS_PTRACE) != 0
}

/// The program in a sealed memfd (close-on-exec); None if this kernel refuses one that
/// can be executed (vm.memfd_noexec). With `status` (`exec`), a failed execve is
/// reported there (errno, 4 bytes, then the path) instead of on stderr.
pub fn make(status: Option<i32>) -> Option<OwnedFd> {
    use nix::fcntl::{fcntl, FcntlArg, SealFlag};
    use nix::sys::memfd::{memfd_create, MFdFlags};
    // MFD_EXEC: kernels since 6.3 want it said; older ones refuse the flag.
    const MFD_EXEC: u32 = 0x10;
    let flags = MFdFlags::MFD_CLOEXEC | MFdFlags::MFD_ALLOW_SEALING;
    let mem = memfd_create(c"berth-exec", flags | MFdFlags::from_bits_retain(MFD_EXEC))
        .or_else(|_| memfd_create(c"berth-exec", flags))
        .ok()?;
    let mut file = std::fs::File::from(mem);
    file.write_all(&image(status.unwrap_or(-1))).ok()?;
    let seals = SealFlag::F_SEAL_SEAL
        | SealFlag::F_SEAL_SHRINK
        | SealFlag::F_SEAL_GROW
        | SealFlag::F_SEAL_WRITE;
    fcntl(&file, FcntlArg::F_ADD_SEALS(seals)).ok()?;
    Some(OwnedFd::from(file))
}

/// The ELF header and the one program header come before the code.
const CODE_AT: usize = 64 + 56;
/// errno values with a message of their own; others print "unknown error".
const ERRNOS: usize = 134;

/// x86-64 machine code (GNU as, Intel syntax), with the table of messages right after it:
/// ```text
///     mov r12d, [rip+status]      ; the status fd (`exec`), or -1
///     test r12d, r12d
///     js 4f
///     mov edi, r12d               ; fcntl(status, F_SETFD, FD_CLOEXEC)
///     mov esi, 2
///     mov edx, 1
///     mov eax, 72
///     syscall
///     test eax, eax
///     jz 4f
///     mov edi, r12d               ; refused (seccomp): close it, it must not leak
///     mov eax, 3
///     syscall
///     mov r12d, -1
/// 4:  mov rdi, [rsp+8]            ; path: our argv[0]
///     lea rsi, [rsp+16]           ; its argv: the rest of ours
///     mov rax, [rsp]              ; argc
///     lea rdx, [rsp+rax*8+16]     ; envp, past argv's NULL
///     mov eax, 59                 ; execve; returns only on failure, -errno
///     syscall
///     neg eax
///     mov r9, [rsp+8]             ; strlen(path)
///     xor r10, r10
/// 2:  cmp byte ptr [r9+r10], 0
///     je 3f
///     inc r10
///     jmp 2b
/// 3:  sub rsp, 64
///     test r12d, r12d
///     js 5f
///     mov [rsp], eax              ; writev(status, {errno (4 bytes), path}, 2)
///     lea r11, [rsp]
///     mov [rsp+16], r11
///     mov qword ptr [rsp+24], 4
///     mov [rsp+32], r9
///     mov [rsp+40], r10
///     mov edi, r12d
///     lea rsi, [rsp+16]
///     mov edx, 2
///     mov eax, 20
///     syscall
///     jmp 6f
/// 5:  cmp eax, 134                ; ERRNOS
///     jb 1f
///     xor eax, eax
/// 1:  lea rbx, [rip+table]        ; table[errno] = (offset from table, length)
///     mov ecx, [rbx+rax*8]
///     mov r8d, [rbx+rax*8+4]
///     add rcx, rbx
///     lea r11, [rip+prefix]       ; writev(2, {prefix, path, middle, message}, 4)
///     mov [rsp], r11
///     mov qword ptr [rsp+8], 13
///     mov [rsp+16], r9
///     mov [rsp+24], r10
///     lea r11, [rip+middle]
///     mov [rsp+32], r11
///     mov qword ptr [rsp+40], 3
///     mov [rsp+48], rcx
///     mov [rsp+56], r8
///     mov edi, 2
///     mov rsi, rsp
///     mov edx, 4
///     mov eax, 20
///     syscall
/// 6:  mov edi, 127                ; exit_group(127)
///     mov eax, 231
///     syscall
///     hlt
/// prefix: .ascii "berth: exec \""
/// middle: .ascii "\": "
///     .balign 4
/// status: .long -1
///     .balign 8
/// table:
/// ```
const CODE: [u8; 304] = [
    0x44, 0x8b, 0x25, 0x25, 0x01, 0x00, 0x00, 0x45, 0x85, 0xe4, 0x78, 0x28, 0x44, 0x89, 0xe7, 0xbe,
    0x02, 0x00, 0x00, 0x00, 0xba, 0x01, 0x00, 0x00, 0x00, 0xb8, 0x48, 0x00, 0x00, 0x00, 0x0f, 0x05,
    0x85, 0xc0, 0x74, 0x10, 0x44, 0x89, 0xe7, 0xb8, 0x03, 0x00, 0x00, 0x00, 0x0f, 0x05, 0x41, 0xbc,
    0xff, 0xff, 0xff, 0xff, 0x48, 0x8b, 0x7c, 0x24, 0x08, 0x48, 0x8d, 0x74, 0x24, 0x10, 0x48, 0x8b,
    0x04, 0x24, 0x48, 0x8d, 0x54, 0xc4, 0x10, 0xb8, 0x3b, 0x00, 0x00, 0x00, 0x0f, 0x05, 0xf7, 0xd8,
    0x4c, 0x8b, 0x4c, 0x24, 0x08, 0x4d, 0x31, 0xd2, 0x43, 0x80, 0x3c, 0x11, 0x00, 0x74, 0x05, 0x49,
    0xff, 0xc2, 0xeb, 0xf4, 0x48, 0x83, 0xec, 0x40, 0x45, 0x85, 0xe4, 0x78, 0x35, 0x89, 0x04, 0x24,
    0x4c, 0x8d, 0x1c, 0x24, 0x4c, 0x89, 0x5c, 0x24, 0x10, 0x48, 0xc7, 0x44, 0x24, 0x18, 0x04, 0x00,
    0x00, 0x00, 0x4c, 0x89, 0x4c, 0x24, 0x20, 0x4c, 0x89, 0x54, 0x24, 0x28, 0x44, 0x89, 0xe7, 0x48,
    0x8d, 0x74, 0x24, 0x10, 0xba, 0x02, 0x00, 0x00, 0x00, 0xb8, 0x14, 0x00, 0x00, 0x00, 0x0f, 0x05,
    0xeb, 0x6c, 0x3d, 0x86, 0x00, 0x00, 0x00, 0x72, 0x02, 0x31, 0xc0, 0x48, 0x8d, 0x1d, 0x7e, 0x00,
    0x00, 0x00, 0x8b, 0x0c, 0xc3, 0x44, 0x8b, 0x44, 0xc3, 0x04, 0x48, 0x01, 0xd9, 0x4c, 0x8d, 0x1d,
    0x57, 0x00, 0x00, 0x00, 0x4c, 0x89, 0x1c, 0x24, 0x48, 0xc7, 0x44, 0x24, 0x08, 0x0d, 0x00, 0x00,
    0x00, 0x4c, 0x89, 0x4c, 0x24, 0x10, 0x4c, 0x89, 0x54, 0x24, 0x18, 0x4c, 0x8d, 0x1d, 0x46, 0x00,
    0x00, 0x00, 0x4c, 0x89, 0x5c, 0x24, 0x20, 0x48, 0xc7, 0x44, 0x24, 0x28, 0x03, 0x00, 0x00, 0x00,
    0x48, 0x89, 0x4c, 0x24, 0x30, 0x4c, 0x89, 0x44, 0x24, 0x38, 0xbf, 0x02, 0x00, 0x00, 0x00, 0x48,
    0x89, 0xe6, 0xba, 0x04, 0x00, 0x00, 0x00, 0xb8, 0x14, 0x00, 0x00, 0x00, 0x0f, 0x05, 0xbf, 0x7f,
    0x00, 0x00, 0x00, 0xb8, 0xe7, 0x00, 0x00, 0x00, 0x0f, 0x05, 0xf4, 0x62, 0x65, 0x72, 0x74, 0x68,
    0x3a, 0x20, 0x65, 0x78, 0x65, 0x63, 0x20, 0x22, 0x22, 0x3a, 0x20, 0x90, 0xff, 0xff, 0xff, 0xff,
];

/// Where in CODE the status fd sits.
const STATUS_AT: usize = 0x12c;

/// The ELF header (64 bytes) and the one program header (56), sizes left at 0:
/// ELF, 64-bit, little-endian, version 1, System V ABI; ET_EXEC, EM_X86_64, version 1,
/// entry 0x400000 + CODE_AT (a plain executable loaded at 0x400000), program headers at 64, no sections; header sizes 64 and 56, one
/// program header. PT_LOAD, PF_R | PF_X, from offset 0 to 0x400000, 4 KB aligned.
const HEADERS: [u8; CODE_AT] = [
    0x7f, b'E', b'L', b'F', 2, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, // e_ident
    2, 0, 62, 0, 1, 0, 0, 0, // e_type, e_machine, e_version
    0x78, 0, 0x40, 0, 0, 0, 0, 0, // e_entry = 0x400078
    64, 0, 0, 0, 0, 0, 0, 0, // e_phoff
    0, 0, 0, 0, 0, 0, 0, 0, // e_shoff
    0, 0, 0, 0, 64, 0, 56, 0, 1, 0, 64, 0, 0, 0, 0, 0, // flags, sizes, counts
    1, 0, 0, 0, 5, 0, 0, 0, // PT_LOAD, PF_R | PF_X
    0, 0, 0, 0, 0, 0, 0, 0, // p_offset
    0, 0, 0x40, 0, 0, 0, 0, 0, // p_vaddr
    0, 0, 0x40, 0, 0, 0, 0, 0, // p_paddr
    0, 0, 0, 0, 0, 0, 0, 0, // p_filesz
    0, 0, 0, 0, 0, 0, 0, 0, // p_memsz
    0, 0x10, 0, 0, 0, 0, 0, 0, // p_align
];

/// The whole executable: ELF header, one loadable segment (read + execute) holding
/// everything, the code, the table and the messages ("exec format error\n", ...).
fn image(status: i32) -> Vec<u8> {
    let mut messages = Vec::new();
    let mut table = Vec::with_capacity(ERRNOS * 8);
    for errno in 0..ERRNOS as i32 {
        let text = match errno {
            0 => "unknown error".to_string(),
            e => errno_text(nix::errno::Errno::from_raw(e)),
        };
        let at = ERRNOS * 8 + messages.len();
        messages.extend_from_slice(text.as_bytes());
        messages.push(b'\n');
        table.extend_from_slice(&(at as u32).to_le_bytes());
        table.extend_from_slice(&(text.len() as u32 + 1).to_le_bytes());
    }
    let size = (CODE_AT + CODE.len() + table.len() + messages.len()) as u64;
    let mut elf = Vec::with_capacity(size as usize);
    elf.extend_from_slice(&HEADERS);
    // p_filesz and p_memsz: the whole file is the one segment.
    elf[96..104].copy_from_slice(&size.to_le_bytes());
    elf[104..112].copy_from_slice(&size.to_le_bytes());
    elf.extend_from_slice(&CODE);
    let at = CODE_AT + STATUS_AT;
    elf[at..at + 4].copy_from_slice(&status.to_le_bytes());
    elf.extend_from_slice(&table);
    elf.extend_from_slice(&messages);
    elf
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_layout() {
        let img = image(7);
        assert_eq!(&img[..4], b"\x7fELF");
        let word = |i: usize| u64::from_le_bytes(img[i..i + 8].try_into().unwrap());
        assert_eq!(word(24), 0x40_0000 + CODE_AT as u64, "e_entry");
        assert_eq!(word(64 + 16), 0x40_0000, "p_vaddr");
        assert_eq!(word(104), img.len() as u64, "p_memsz");
        let at = CODE_AT + STATUS_AT;
        assert_eq!(&img[at..at + 4], &7i32.to_le_bytes(), "status fd");
        assert_eq!(
            img.len() as u64,
            u64::from_le_bytes(img[96..104].try_into().unwrap())
        );
        // The code's table is 8-aligned right after it; ENOEXEC's entry points at its text.
        let table = CODE_AT + CODE.len();
        assert_eq!(table % 8, 0);
        let at = |i: usize| u32::from_le_bytes(img[i..i + 4].try_into().unwrap()) as usize;
        let (off, len) = (at(table + 8 * 8), at(table + 8 * 8 + 4));
        assert_eq!(&img[table + off..table + off + len], b"exec format error\n");
        assert_eq!(&CODE[0x11b..0x128], b"berth: exec \"");
        assert_eq!(&CODE[STATUS_AT..STATUS_AT + 4], &(-1i32).to_le_bytes());
    }

    #[test]
    fn the_program_cannot_be_changed() {
        let fd = make(None).expect("a sealed memfd");
        let mut f = std::fs::File::from(fd);
        let err = f.write_all(b"x").expect_err("sealed against writes");
        assert_eq!(err.raw_os_error(), Some(libc::EPERM), "{err}");
        let len = f.metadata().unwrap().len();
        assert_eq!(len, image(-1).len() as u64);
    }
}
