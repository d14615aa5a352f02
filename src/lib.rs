//! berth: an OCI container runtime, a drop-in replacement for runc, as a library.
//!
//! The layers, each using only those below it:
//! `cli` (flags → calls) → `container` (lifecycle, state, hooks) → `spawn` (clone,
//! init, exec) → `spec` (config.json → Plan, pure), `cgroups`, `seccomp`, `linux`
//! (syscalls, procfs, namespaces, rootfs) → `errors`, `logging`, `timefmt`.

#![deny(clippy::undocumented_unsafe_blocks)]

pub mod cgroups;
pub mod cli;
pub mod container;
pub mod errors;
pub mod linux;
pub mod logging;
pub mod seccomp;
pub mod spawn;
pub mod spec;
pub mod timefmt;
