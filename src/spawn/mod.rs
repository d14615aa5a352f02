//! Making processes inside a container, once for both kinds: the container's init
//! (`init`) and a process `exec` adds (`exec_child`). The parent side (`parent`: clone
//! into the cgroup, the failure guard, the Ready loop) and the child side (`child`: step
//! reporting, execve; `finish`: user, capabilities, seccomp; `fds`) are shared; the two
//! talk over one socketpair protocol (`channel`). Hooks are processes berth spawns too.

pub mod channel;
pub mod child;
pub mod exec_child;
pub mod fds;
pub mod finish;
pub mod hooks;
pub mod init;
pub mod parent;
