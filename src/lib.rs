//! berth: an OCI container runtime, a drop-in replacement for runc, as a library.
//!
//! The layers, each using only those below it:
//! `cli` (flags → calls) → `container` (lifecycle, state, hooks) → `spawn` (clone,
//! init, exec) → `seccomp` (install filters), `cgroups` → `linux` (syscalls, procfs,
//! namespaces, rootfs) → `spec` (config.json → Plan: checks, capability and seccomp
//! planning) → `errors`, `logging`, `timefmt`. `tools/modcycles.py` checks it.

#![deny(clippy::undocumented_unsafe_blocks)]

pub mod cache_dir;
pub mod cgroups;
pub mod cli;
pub mod container;
pub mod errors;
#[cfg(test)]
mod fuzz;
pub mod linux;
pub mod logging;
pub mod seccomp;
pub mod spawn;
pub mod spec;
pub mod timefmt;
