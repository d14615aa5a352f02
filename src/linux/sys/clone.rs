//! fork(2)-like process creation: clone(2), and clone3(2) into a cgroup.

use super::check;
use std::io;
use std::os::fd::{AsRawFd, BorrowedFd};

/// What `clone_process` returned in the calling process.
pub enum Forked {
    Parent(libc::pid_t),
    Child,
}

/// fork(2) with extra clone flags (new namespaces), returning twice like fork.
///
/// The caller must be single-threaded: berth never starts threads before this point,
/// which is why the child may go on allocating and using the heap.
pub fn clone_process(flags: u64) -> io::Result<Forked> {
    let flags = flags | libc::SIGCHLD as u64;
    // SAFETY: clone with a NULL stack behaves like fork: the child gets a copy of the
    // address space. berth is single-threaded here, so no lock can be held by a thread
    // that does not exist in the child. The pointer arguments are NULL (unused without
    // CLONE_PARENT_SETTID/CHILD_SETTID/SETTLS).
    let ret = unsafe {
        libc::syscall(
            libc::SYS_clone,
            flags,
            std::ptr::null_mut::<libc::c_void>(),
            std::ptr::null_mut::<libc::c_void>(),
            std::ptr::null_mut::<libc::c_void>(),
            0usize,
        )
    };
    match check(ret)? {
        0 => Ok(Forked::Child),
        pid => Ok(Forked::Parent(pid as libc::pid_t)),
    }
}

/// `struct clone_args` of clone3(2), up to the `cgroup` field (CLONE_ARGS_SIZE_VER2).
#[repr(C)]
struct CloneArgs {
    flags: u64,
    pidfd: u64,
    child_tid: u64,
    parent_tid: u64,
    exit_signal: u64,
    stack: u64,
    stack_size: u64,
    tls: u64,
    set_tid: u64,
    set_tid_size: u64,
    cgroup: u64,
}

/// Like `clone_process`, but the child is born in the cgroup v2 directory `cgroup`
/// (clone3 with CLONE_INTO_CGROUP): no migration afterwards, which would cost an RCU
/// grace period (milliseconds).
///
/// The caller must be single-threaded, as for `clone_process`.
pub fn clone_process_into(flags: u64, cgroup: BorrowedFd) -> io::Result<Forked> {
    const CLONE_INTO_CGROUP: u64 = 0x2_0000_0000;
    let mut args = CloneArgs {
        flags: flags | CLONE_INTO_CGROUP,
        pidfd: 0,
        child_tid: 0,
        parent_tid: 0,
        exit_signal: libc::SIGCHLD as u64,
        stack: 0,
        stack_size: 0,
        tls: 0,
        set_tid: 0,
        set_tid_size: 0,
        cgroup: cgroup.as_raw_fd() as u64,
    };
    // SAFETY: as for clone_process: no stack means fork semantics, and berth is
    // single-threaded here. `args` lives across the call and its size is passed; it holds
    // no pointers.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_clone3,
            &mut args as *mut CloneArgs,
            std::mem::size_of::<CloneArgs>(),
        )
    };
    match check(ret)? {
        0 => Ok(Forked::Child),
        pid => Ok(Forked::Parent(pid as libc::pid_t)),
    }
}
