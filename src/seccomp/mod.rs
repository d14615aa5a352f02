//! `linux.seccomp` applied: the filter `spec::seccomp` compiled in the parent, loaded in
//! the container's init (or an exec'd process) with seccomp(2), and the listener of a
//! notifying profile handed to the agent at `listenerPath`.

mod install;

pub use install::{connect_agent, install};

/// The planning side's types and entry points, at their old paths (`seccomp::plan`,
/// `seccomp::SeccompPlan`) for callers in container/ and spawn/.
pub use crate::spec::seccomp::{check_raw, plan, Listener, SeccompPlan};
