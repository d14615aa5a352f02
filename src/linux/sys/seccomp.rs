//! seccomp(2), for linux.seccomp.

use super::check;
use std::io;
use std::os::fd::{FromRawFd, OwnedFd};

/// seccomp(SECCOMP_SET_MODE_FILTER, flags, prog): put `program` (classic BPF, one
/// `struct sock_filter` per u64) on the calling thread. With
/// SECCOMP_FILTER_FLAG_NEW_LISTENER in `flags`, returns the notification listener.
pub fn seccomp_set_filter(flags: u32, program: &[u64]) -> io::Result<Option<OwnedFd>> {
    let len =
        u16::try_from(program.len()).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
    let prog = libc::sock_fprog {
        len,
        filter: program.as_ptr() as *mut libc::sock_filter,
    };
    // SAFETY: `prog` points at `len` instructions in `program`, each 8 bytes laid out as
    // struct sock_filter (u16 code, u8 jt, u8 jf, u32 k) in host order, as libseccomp
    // exported them; u64 alignment is stricter than sock_filter's. The kernel copies the
    // program during the call and does not write through the pointer.
    let ret = check(unsafe {
        libc::syscall(
            libc::SYS_seccomp,
            libc::SECCOMP_SET_MODE_FILTER,
            flags,
            &prog as *const libc::sock_fprog,
        )
    })?;
    if libc::c_ulong::from(flags) & libc::SECCOMP_FILTER_FLAG_NEW_LISTENER == 0 {
        return Ok(None);
    }
    // SAFETY: with NEW_LISTENER the kernel returns a fresh (close-on-exec) fd.
    Ok(Some(unsafe { OwnedFd::from_raw_fd(ret as i32) }))
}
