//! Making processes inside a container: the container's init (`init`) and a process
//! `exec` adds (`exec`), both driven over one socketpair protocol (`channel`).

pub mod channel;
pub mod exec;
pub mod init;
