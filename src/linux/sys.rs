//! The only module with `unsafe`: thin wrappers over raw syscalls that nix lacks.
//!
//! Every wrapper turns the raw return value into `io::Result` so callers stay safe.

use std::ffi::CStr;
use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};

fn check(ret: libc::c_long) -> io::Result<libc::c_long> {
    if ret < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(ret)
    }
}

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

/// `struct open_how` of openat2(2) (libc's is non-exhaustive).
#[repr(C)]
struct OpenHow {
    flags: u64,
    mode: u64,
    resolve: u64,
}

/// openat2(2): open `path` below `dir` with RESOLVE_* restrictions.
pub fn openat2(
    dir: BorrowedFd,
    path: &CStr,
    flags: u64,
    mode: u64,
    resolve: u64,
) -> io::Result<OwnedFd> {
    let how = OpenHow {
        flags,
        mode,
        resolve,
    };
    // SAFETY: `how` lives across the call and its size is passed; `path` is a valid
    // NUL-terminated string; the kernel returns a new fd that nothing else owns.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_openat2,
            dir.as_raw_fd(),
            path.as_ptr(),
            &how as *const OpenHow,
            std::mem::size_of::<OpenHow>(),
        )
    };
    let fd = check(ret)?;
    // SAFETY: fd is a fresh descriptor returned by the kernel and owned by nobody else.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as i32) })
}

/// pidfd_open(2): a descriptor that becomes readable when the process exits.
pub fn pidfd_open(pid: libc::pid_t) -> io::Result<OwnedFd> {
    // SAFETY: plain integer arguments; the result is a new fd owned by nobody else.
    let fd = check(unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) })?;
    // SAFETY: fd is a fresh descriptor returned by the kernel.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as i32) })
}

/// Mark every fd from `first` up as close-on-exec, so nothing of the runtime's or the
/// caller's reaches the container process.
pub fn cloexec_from(first: u32) -> io::Result<()> {
    // SAFETY: plain integer arguments; close_range only changes fd flags.
    check(unsafe {
        libc::syscall(
            libc::SYS_close_range,
            first,
            u32::MAX,
            libc::CLOSE_RANGE_CLOEXEC,
        )
    })?;
    Ok(())
}

/// keyctl(KEYCTL_JOIN_SESSION_KEYRING, name): give the container its own session keyring
/// so it cannot read the host's keys.
pub fn join_session_keyring(name: &CStr) -> io::Result<()> {
    // SAFETY: `name` is a valid NUL-terminated string that outlives the call.
    check(unsafe {
        libc::syscall(
            libc::SYS_keyctl,
            libc::KEYCTL_JOIN_SESSION_KEYRING,
            name.as_ptr(),
        )
    })?;
    Ok(())
}

/// setdomainname(2), which nix does not wrap.
pub fn setdomainname(name: &[u8]) -> io::Result<()> {
    // SAFETY: the pointer and length describe `name`, which outlives the call.
    let ret = unsafe { libc::setdomainname(name.as_ptr().cast(), name.len()) };
    check(ret as libc::c_long)?;
    Ok(())
}

/// prctl(PR_SET_PDEATHSIG): the signal this process gets when its parent exits.
pub fn set_parent_death_signal(sig: i32) -> io::Result<()> {
    // SAFETY: PR_SET_PDEATHSIG takes a plain signal number.
    let ret = unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, sig as libc::c_ulong, 0, 0, 0) };
    check(ret as libc::c_long)?;
    Ok(())
}

/// prctl(PR_SET_CHILD_SUBREAPER): orphans of the container come to us to be reaped.
pub fn set_child_subreaper() -> io::Result<()> {
    // SAFETY: PR_SET_CHILD_SUBREAPER takes a plain integer.
    check(unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) } as libc::c_long)?;
    Ok(())
}

/// kill(2) with any signal number, including real-time ones nix has no name for.
pub fn kill_raw(pid: i32, sig: i32) -> i32 {
    // SAFETY: kill takes two integers and touches no memory of ours.
    unsafe { libc::kill(pid, sig) }
}

/// ioctl(TIOCSCTTY): make the terminal `fd` the controlling terminal of this process's
/// session (the caller is a session leader without one).
pub fn set_controlling_terminal(fd: BorrowedFd) -> io::Result<()> {
    // SAFETY: TIOCSCTTY takes an integer argument (0: do not steal from another session).
    let ret = unsafe { libc::ioctl(fd.as_raw_fd(), libc::TIOCSCTTY, 0) };
    check(ret as libc::c_long)?;
    Ok(())
}

/// ioctl(TIOCGWINSZ): the window size of terminal `fd`.
pub fn window_size(fd: BorrowedFd) -> io::Result<libc::winsize> {
    let mut ws = libc::winsize {
        ws_row: 0,
        ws_col: 0,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: TIOCGWINSZ writes one `struct winsize` through the pointer, which points
    // at a live, properly sized value.
    let ret = unsafe { libc::ioctl(fd.as_raw_fd(), libc::TIOCGWINSZ, &mut ws) };
    check(ret as libc::c_long)?;
    Ok(ws)
}

/// ioctl(TIOCSWINSZ): set the window size of terminal `fd` (on a pty master or slave;
/// the kernel sends SIGWINCH to the slave's foreground process group).
pub fn set_window_size(fd: BorrowedFd, ws: &libc::winsize) -> io::Result<()> {
    // SAFETY: TIOCSWINSZ reads one `struct winsize` through the pointer, which points at
    // a live value for the whole call.
    let ret = unsafe { libc::ioctl(fd.as_raw_fd(), libc::TIOCSWINSZ, ws as *const libc::winsize) };
    check(ret as libc::c_long)?;
    Ok(())
}

/// recvmsg(2) of one message carrying exactly one fd by SCM_RIGHTS (as a console socket
/// delivers a pty master). Returns the fd, close-on-exec, and the message's payload.
/// Extra fds, if a peer sent more, are closed.
pub fn recv_fd(sock: BorrowedFd) -> io::Result<(OwnedFd, Vec<u8>)> {
    use nix::sys::socket::{recvmsg, ControlMessageOwned, MsgFlags};
    let mut payload = vec![0u8; 4096];
    let mut cmsg = nix::cmsg_space!([std::os::fd::RawFd; 4]);
    let (fds, len) = loop {
        let mut iov = [io::IoSliceMut::new(&mut payload)];
        match recvmsg::<()>(
            sock.as_raw_fd(),
            &mut iov,
            Some(&mut cmsg),
            MsgFlags::MSG_CMSG_CLOEXEC,
        ) {
            Err(nix::errno::Errno::EINTR) => continue,
            Err(e) => return Err(e.into()),
            Ok(msg) => {
                let mut fds = Vec::new();
                for c in msg.cmsgs()? {
                    if let ControlMessageOwned::ScmRights(r) = c {
                        fds.extend(r);
                    }
                }
                break (fds, msg.bytes);
            }
        }
    };
    let mut owned: Vec<OwnedFd> = fds
        .into_iter()
        .map(|fd| {
            // SAFETY: the kernel just installed this fd in our table for this message;
            // nothing else refers to it, so it gets exactly one owner here.
            unsafe { OwnedFd::from_raw_fd(fd) }
        })
        .collect();
    payload.truncate(len);
    if owned.is_empty() {
        let what = if len == 0 {
            "the peer closed the socket"
        } else {
            "a message without a file descriptor"
        };
        return Err(io::Error::new(io::ErrorKind::InvalidData, what));
    }
    Ok((owned.remove(0), payload))
}

/// `struct sched_attr` of sched_setattr(2), up to the utilization clamps
/// (SCHED_ATTR_SIZE_VER1); libc does not define it.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SchedAttr {
    pub size: u32,
    pub policy: u32,
    pub flags: u64,
    pub nice: i32,
    pub priority: u32,
    pub runtime: u64,
    pub deadline: u64,
    pub period: u64,
    pub util_min: u32,
    pub util_max: u32,
}

/// sched_setattr(2) on the calling thread.
pub fn sched_setattr(attr: &SchedAttr) -> io::Result<()> {
    let attr = SchedAttr {
        size: std::mem::size_of::<SchedAttr>() as u32,
        ..*attr
    };
    // SAFETY: `attr` is a repr(C) sched_attr whose `size` field gives its real size; the
    // kernel only reads it during the call.
    check(unsafe { libc::syscall(libc::SYS_sched_setattr, 0, &attr as *const SchedAttr, 0) })?;
    Ok(())
}

/// ioprio_set(2) for the calling process (IOPRIO_WHO_PROCESS, pid 0).
pub fn ioprio_set(ioprio: u32) -> io::Result<()> {
    const IOPRIO_WHO_PROCESS: libc::c_int = 1;
    // SAFETY: plain integer arguments; touches no memory of ours.
    check(unsafe {
        libc::syscall(
            libc::SYS_ioprio_set,
            IOPRIO_WHO_PROCESS,
            0,
            ioprio as libc::c_int,
        )
    })?;
    Ok(())
}

/// personality(2): set the execution domain (PER_LINUX, PER_LINUX32, ...).
pub fn set_personality(persona: u64) -> io::Result<()> {
    // SAFETY: one integer argument; touches no memory of ours.
    let ret = unsafe { libc::personality(persona as libc::c_ulong) };
    check(ret as libc::c_long)?;
    Ok(())
}

/// Borrow an fd number the caller has just checked is open (fds 0-2, passed fds).
pub fn borrow_fd(fd: i32) -> BorrowedFd<'static> {
    // SAFETY: callers only use this for fds that stay open for the rest of the process
    // (stdio and fds handed to us by our caller), and only for fcntl calls.
    unsafe { BorrowedFd::borrow_raw(fd) }
}

/// open_tree(OPEN_TREE_CLONE): a new mount of `path` attached nowhere, so it belongs to
/// no mount namespace and cannot be remounted by anyone who only holds the fd.
pub fn open_tree_clone(path: &CStr) -> io::Result<OwnedFd> {
    const OPEN_TREE_CLONE: u32 = 1;
    let flags = OPEN_TREE_CLONE | libc::O_CLOEXEC as u32;
    // SAFETY: `path` is a valid NUL-terminated string; the result is a new fd.
    let fd =
        check(unsafe { libc::syscall(libc::SYS_open_tree, libc::AT_FDCWD, path.as_ptr(), flags) })?;
    // SAFETY: fd is a fresh descriptor returned by the kernel.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as i32) })
}

/// `struct mount_attr` of mount_setattr(2).
#[repr(C)]
struct MountAttr {
    attr_set: u64,
    attr_clr: u64,
    propagation: u64,
    userns_fd: u64,
}

/// mount_setattr(fd, "", AT_EMPTY_PATH): make the mount behind `fd` read-only.
pub fn mount_set_readonly(fd: BorrowedFd) -> io::Result<()> {
    const MOUNT_ATTR_RDONLY: u64 = 0x1;
    mount_setattr(fd, false, MOUNT_ATTR_RDONLY, 0)
}

/// mount_setattr(fd, "", AT_EMPTY_PATH [| AT_RECURSIVE]): set and clear MOUNT_ATTR_*
/// bits on the mount behind `fd` (and, recursively, on every mount below it).
pub fn mount_setattr(fd: BorrowedFd, recursive: bool, set: u64, clr: u64) -> io::Result<()> {
    let attr = MountAttr {
        attr_set: set,
        attr_clr: clr,
        propagation: 0,
        userns_fd: 0,
    };
    let flags = libc::AT_EMPTY_PATH | if recursive { libc::AT_RECURSIVE } else { 0 };
    // SAFETY: `attr` outlives the call and its size is passed; "" is a valid C string.
    check(unsafe {
        libc::syscall(
            libc::SYS_mount_setattr,
            fd.as_raw_fd(),
            c"".as_ptr(),
            flags,
            &attr as *const MountAttr,
            std::mem::size_of::<MountAttr>(),
        )
    })?;
    Ok(())
}

/// execveat(fd, "", AT_EMPTY_PATH): run the program `fd` refers to. Returns only on error.
pub fn execveat_fd(
    fd: BorrowedFd,
    argv: &[std::ffi::CString],
    envp: &[std::ffi::CString],
) -> io::Error {
    let mut a: Vec<*const libc::c_char> = argv.iter().map(|s| s.as_ptr()).collect();
    a.push(std::ptr::null());
    let mut e: Vec<*const libc::c_char> = envp.iter().map(|s| s.as_ptr()).collect();
    e.push(std::ptr::null());
    // SAFETY: both arrays are NULL-terminated and point at CStrings that outlive the
    // call; on success the call does not return.
    unsafe {
        libc::syscall(
            libc::SYS_execveat,
            fd.as_raw_fd(),
            c"".as_ptr(),
            a.as_ptr(),
            e.as_ptr(),
            libc::AT_EMPTY_PATH,
        )
    };
    io::Error::last_os_error()
}

// ---- bpf(2), for the cgroup v2 device filter ----

const BPF_PROG_LOAD: libc::c_long = 5;
const BPF_PROG_ATTACH: libc::c_long = 8;
const BPF_PROG_DETACH: libc::c_long = 9;
const BPF_PROG_GET_FD_BY_ID: libc::c_long = 13;
const BPF_PROG_QUERY: libc::c_long = 16;
const BPF_PROG_TYPE_CGROUP_DEVICE: u32 = 15;
const BPF_CGROUP_DEVICE: u32 = 6;
const BPF_F_ALLOW_MULTI: u32 = 2;

/// The leading fields of `union bpf_attr` for BPF_PROG_LOAD; the kernel zero-fills the rest.
#[repr(C)]
struct BpfProgLoad {
    prog_type: u32,
    insn_cnt: u32,
    insns: u64,
    license: u64,
    log_level: u32,
    log_size: u32,
    log_buf: u64,
    kern_version: u32,
    prog_flags: u32,
}

/// `union bpf_attr` for BPF_PROG_ATTACH / BPF_PROG_DETACH.
#[repr(C)]
struct BpfAttach {
    target_fd: u32,
    attach_bpf_fd: u32,
    attach_type: u32,
    attach_flags: u32,
    replace_bpf_fd: u32,
}

/// `union bpf_attr` for BPF_PROG_QUERY.
#[repr(C)]
struct BpfQuery {
    target_fd: u32,
    attach_type: u32,
    query_flags: u32,
    attach_flags: u32,
    prog_ids: u64,
    prog_cnt: u32,
    _pad: u32,
}

/// bpf(cmd, attr, sizeof attr) for one of the plain-data attr structs above.
///
/// # Safety
/// Every pointer stored in `attr` must be valid for what `cmd` does with it.
unsafe fn bpf<T>(cmd: libc::c_long, attr: &mut T) -> io::Result<libc::c_long> {
    // SAFETY: the caller vouches for the pointers inside `attr`; `attr` itself is live
    // and its size is passed.
    check(unsafe { libc::syscall(libc::SYS_bpf, cmd, attr as *mut T, std::mem::size_of::<T>()) })
}

/// Load a BPF_PROG_TYPE_CGROUP_DEVICE program. On failure, also the verifier's log.
pub fn bpf_load_device_filter(insns: &[u64]) -> Result<OwnedFd, (io::Error, String)> {
    let license = c"Apache-2.0";
    let load = |log: &mut [u8]| {
        let mut attr = BpfProgLoad {
            prog_type: BPF_PROG_TYPE_CGROUP_DEVICE,
            insn_cnt: insns.len() as u32,
            insns: insns.as_ptr() as u64,
            license: license.as_ptr() as u64,
            log_level: u32::from(!log.is_empty()),
            log_size: log.len() as u32,
            // The kernel insists: no buffer unless there is a log level.
            log_buf: if log.is_empty() {
                0
            } else {
                log.as_mut_ptr() as u64
            },
            kern_version: 0,
            prog_flags: 0,
        };
        // SAFETY: `insns` holds insn_cnt 8-byte instructions, `license` is a C string,
        // and `log` is writable for log_size bytes; all outlive the call.
        let fd = unsafe { bpf(BPF_PROG_LOAD, &mut attr) }?;
        // SAFETY: fd is a fresh descriptor returned by the kernel.
        Ok(unsafe { OwnedFd::from_raw_fd(fd as i32) })
    };
    match load(&mut []) {
        Ok(fd) => Ok(fd),
        Err(e) => {
            // Load again with a log, only to say why.
            let mut log = vec![0u8; 64 * 1024];
            let _ = load(&mut log);
            let end = log.iter().position(|&b| b == 0).unwrap_or(0);
            let text = String::from_utf8_lossy(&log[..end])
                .trim()
                .replace('\n', "; ");
            Err((e, text))
        }
    }
}

/// Attach a device filter to a cgroup directory, beside any others (BPF_F_ALLOW_MULTI).
pub fn bpf_attach_device_filter(cgroup: BorrowedFd, prog: BorrowedFd) -> io::Result<()> {
    let mut attr = BpfAttach {
        target_fd: cgroup.as_raw_fd() as u32,
        attach_bpf_fd: prog.as_raw_fd() as u32,
        attach_type: BPF_CGROUP_DEVICE,
        attach_flags: BPF_F_ALLOW_MULTI,
        replace_bpf_fd: 0,
    };
    // SAFETY: the attr holds only integers.
    unsafe { bpf(BPF_PROG_ATTACH, &mut attr) }?;
    Ok(())
}

/// Ids of the device filters attached to this very cgroup (not inherited ones).
pub fn bpf_device_programs(cgroup: BorrowedFd) -> io::Result<Vec<u32>> {
    let mut ids = vec![0u32; 64];
    let mut attr = BpfQuery {
        target_fd: cgroup.as_raw_fd() as u32,
        attach_type: BPF_CGROUP_DEVICE,
        query_flags: 0,
        attach_flags: 0,
        prog_ids: ids.as_mut_ptr() as u64,
        prog_cnt: ids.len() as u32,
        _pad: 0,
    };
    // SAFETY: prog_ids points at prog_cnt writable u32s that outlive the call.
    unsafe { bpf(BPF_PROG_QUERY, &mut attr) }?;
    ids.truncate(attr.prog_cnt as usize);
    Ok(ids)
}

/// Detach the device filter with this id from a cgroup.
pub fn bpf_detach_device_program(cgroup: BorrowedFd, id: u32) -> io::Result<()> {
    let mut get = [id, 0, 0];
    // SAFETY: the attr holds only integers (prog_id, next_id, open_flags).
    let fd = unsafe { bpf(BPF_PROG_GET_FD_BY_ID, &mut get) }?;
    // SAFETY: fd is a fresh descriptor returned by the kernel.
    let prog = unsafe { OwnedFd::from_raw_fd(fd as i32) };
    let mut attr = BpfAttach {
        target_fd: cgroup.as_raw_fd() as u32,
        attach_bpf_fd: prog.as_raw_fd() as u32,
        attach_type: BPF_CGROUP_DEVICE,
        attach_flags: 0,
        replace_bpf_fd: 0,
    };
    // SAFETY: the attr holds only integers.
    unsafe { bpf(BPF_PROG_DETACH, &mut attr) }?;
    Ok(())
}

// ---- seccomp(2), for linux.seccomp ----

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
    if u64::from(flags) & libc::SECCOMP_FILTER_FLAG_NEW_LISTENER as u64 == 0 {
        return Ok(None);
    }
    // SAFETY: with NEW_LISTENER the kernel returns a fresh (close-on-exec) fd.
    Ok(Some(unsafe { OwnedFd::from_raw_fd(ret as i32) }))
}

/// Send `payload` with one fd (SCM_RIGHTS) on a stream socket. What the first sendmsg
/// does not take follows in plain sends, without the fd: the runtime-spec allows several
/// calls as long as the fds come with the first.
pub fn send_with_fd(sock: BorrowedFd, payload: &[u8], fd: BorrowedFd) -> io::Result<()> {
    use nix::sys::socket::{send, sendmsg, ControlMessage, MsgFlags};
    let fds = [fd.as_raw_fd()];
    let mut sent = loop {
        let iov = [io::IoSlice::new(payload)];
        match sendmsg::<()>(
            sock.as_raw_fd(),
            &iov,
            &[ControlMessage::ScmRights(&fds)],
            MsgFlags::MSG_NOSIGNAL,
            None,
        ) {
            Err(nix::errno::Errno::EINTR) => continue,
            Err(e) => return Err(e.into()),
            Ok(n) => break n,
        }
    };
    while sent < payload.len() {
        match send(sock.as_raw_fd(), &payload[sent..], MsgFlags::MSG_NOSIGNAL) {
            Err(nix::errno::Errno::EINTR) => continue,
            Err(e) => return Err(e.into()),
            Ok(n) => sent += n,
        }
    }
    Ok(())
}

/// Give SIGPIPE its default action back. Rust's runtime ignores it in every program, and
/// an ignored signal stays ignored across execve: the container's process would never
/// die of a broken pipe.
pub fn default_sigpipe() -> io::Result<()> {
    // SAFETY: SIG_DFL installs no handler, so no code of ours can run on the signal.
    let old = unsafe { libc::signal(libc::SIGPIPE, libc::SIG_DFL) };
    if old == libc::SIG_ERR {
        return Err(io::Error::last_os_error());
    }
    Ok(())
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
