//! `linux.seccomp` applied: the filter `spec::seccomp` compiled in the parent, loaded in
//! the container's init (or an exec'd process) with seccomp(2), and the listener of a
//! notifying profile handed to the agent at `listenerPath`.

mod install;

pub use install::{connect_agent, install};
