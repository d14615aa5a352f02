//! bpf(2), for the cgroup v2 device filter.

use super::check;
use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};

const BPF_PROG_LOAD: libc::c_long = 5;

const BPF_PROG_ATTACH: libc::c_long = 8;

const BPF_PROG_DETACH: libc::c_long = 9;

const BPF_PROG_GET_FD_BY_ID: libc::c_long = 13;

const BPF_OBJ_GET_INFO_BY_FD: libc::c_long = 15;

const BPF_PROG_QUERY: libc::c_long = 16;

pub const BPF_PROG_TYPE_CGROUP_DEVICE: u32 = 15;

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

/// The leading fields of `struct bpf_prog_info`: the kernel fills as much as we ask for.
#[repr(C)]
#[derive(Default)]
struct BpfProgInfo {
    prog_type: u32,
    id: u32,
    tag: [u8; 8],
}

/// `union bpf_attr` for BPF_OBJ_GET_INFO_BY_FD.
#[repr(C)]
struct BpfGetInfo {
    bpf_fd: u32,
    info_len: u32,
    info: u64,
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
    // The verifier gives up with EAGAIN when a signal arrives while it works (a child's
    // SIGCHLD, say); the program itself was fine, so it is loaded again, as libbpf does.
    let mut first: io::Result<OwnedFd> = load(&mut []);
    for _ in 0..5 {
        match &first {
            Err(e) if e.raw_os_error() == Some(libc::EAGAIN) => first = load(&mut []),
            _ => break,
        }
    }
    match first {
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
    let prog = bpf_prog_by_id(id)?;
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

/// A loaded program's type, id, and tag (the kernel's hash of its instructions).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProgInfo {
    pub prog_type: u32,
    pub id: u32,
    pub tag: [u8; 8],
}

/// BPF_OBJ_GET_INFO_BY_FD, the leading fields only.
pub fn bpf_prog_info(prog: BorrowedFd) -> io::Result<ProgInfo> {
    let mut info = BpfProgInfo::default();
    let mut attr = BpfGetInfo {
        bpf_fd: prog.as_raw_fd() as u32,
        info_len: std::mem::size_of::<BpfProgInfo>() as u32,
        info: &mut info as *mut BpfProgInfo as u64,
    };
    // SAFETY: `info` is writable for info_len bytes and outlives the call.
    unsafe { bpf(BPF_OBJ_GET_INFO_BY_FD, &mut attr) }?;
    Ok(ProgInfo {
        prog_type: info.prog_type,
        id: info.id,
        tag: info.tag,
    })
}

/// A loaded program by its id (root only).
pub fn bpf_prog_by_id(id: u32) -> io::Result<OwnedFd> {
    let mut get = [id, 0, 0];
    // SAFETY: the attr holds only integers (prog_id, next_id, open_flags).
    let fd = unsafe { bpf(BPF_PROG_GET_FD_BY_ID, &mut get) }?;
    // SAFETY: fd is a fresh descriptor returned by the kernel.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as i32) })
}
