//! Integration tests for the berth CLI, run against `$BERTH_BIN` (default: the crate's binary).
//!
//! The tests need root. Each one uses its own `--root` state dir, bundle dir and container ids,
//! so they can run in parallel threads.

mod caps;
mod cgroups_util;
mod cgroups_v1;
mod cgroups_v2;
mod cli;
mod common;
mod console;
mod engines;
mod errors;
mod exec;
mod faults;
mod fds;
mod hardening;
mod hooks;
mod lifecycle;
mod mount_trees;
mod namespaces;
mod notify;
mod process;
mod rootfs;
mod rootless;
mod rootless_podman;
mod rootless_user;
mod seccomp;
mod selfexe;
mod signals;
mod spec;
mod startup;
mod stress;
mod systemd;
mod wording;
