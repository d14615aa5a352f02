//! The kernel-facing layer: raw syscalls (`sys`, the only `unsafe`), /proc (`procfs`)
//! and mountinfo parsing, namespaces, the root filesystem, the console, and what makes
//! a process the one the config describes (user, capabilities, rlimits, attributes).

pub mod capabilities;
pub mod console;
pub mod mountinfo;
pub mod namespaces;
pub mod proc_write;
pub mod process;
pub mod process_attrs;
pub mod procfs;
pub mod rootfs;
pub mod rootless;
pub mod selfexe;
pub mod signal;
pub mod sys;
pub mod trampoline;

#[cfg(test)]
mod proptests;
