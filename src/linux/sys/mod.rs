//! The only module with `unsafe`: thin wrappers over raw syscalls that nix lacks, one
//! file per area (processes, fds, terminals, mounts, bpf, seccomp).
//!
//! Every wrapper turns the raw return value into `io::Result` so callers stay safe.
//! Callers use the flat paths re-exported here (`linux::sys::pidfd_open`).

mod bpf;
mod clone;
mod fds;
mod mount;
mod process;
mod seccomp;
mod term;

pub use bpf::{
    bpf_attach_device_filter, bpf_detach_device_program, bpf_device_programs,
    bpf_load_device_filter, bpf_prog_by_id, bpf_prog_info, ProgInfo, BPF_PROG_TYPE_CGROUP_DEVICE,
};
pub use clone::{clone_process, clone_process_into, Forked};
pub use fds::{borrow_fd, cloexec_from, openat2, pidfd_open, recv_fd, recv_with_fds, send_with_fd};
pub use mount::{
    mount_set_idmap, mount_set_readonly, mount_setattr, move_mount, open_tree_clone,
    open_tree_detached,
};
pub use process::{
    default_sigpipe, execveat_fd, ignore_sigpipe, ioprio_set, join_session_keyring, kill_raw,
    sched_setattr, set_child_subreaper, set_dumpable, set_parent_death_signal, set_personality,
    setdomainname,
};
pub use seccomp::seccomp_set_filter;
pub use term::{set_controlling_terminal, set_window_size, window_size};

use std::io;

fn check(ret: libc::c_long) -> io::Result<libc::c_long> {
    if ret < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(ret)
    }
}
