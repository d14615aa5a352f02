//! Real container engines driving berth: podman (through conmon), containerd (through `ctr`
//! and its runc v2 shim) and Docker (dockerd over a containerd of its own).
//!
//! Every test builds a private engine environment in temp dirs: podman gets its own
//! `--root/--runroot/--tmpdir`, storage.conf and containers.conf; containerd and dockerd are
//! started by the test with their own config, root, state, sockets and pidfile, and stopped
//! when the test ends (also when it fails, through `Drop`). Images are imported from a tarball
//! of the busybox rootfs (no registry here). berth runs with a private `--root`, so each test
//! can check that nothing is left behind once the engine has removed its containers: no
//! berth state, no processes, no container cgroups, no mounts under the temp dirs.
//!
//! Each test runs on a thread of its own in a private mount namespace (a slave of the host's),
//! so the overlay, shm and netns mounts the engines make never show up in the host mount table
//! that other tests in this suite snapshot and compare; fixed host paths that an engine uses
//! whatever its configuration (/run/containerd, podman's blob-info cache) are bind-mounted
//! over with temp dirs there.
//!
//! Not covered: `events` (containerd's shim and dockerd collect stats and OOM events from the
//! cgroups themselves, and podman has no runtime-driven stats), `checkpoint`/`restore`.
//!
//! Layout: `mod.rs` (this file) holds the table of tests, one per engine and scenario;
//! `podman_env`, `containerd_env` and `docker_env` build and check each engine's environment;
//! `cli` has the scenarios podman and Docker share (their command lines match), `ctr` those of
//! containerd; `probes` the container scripts and assertions common to all; `images`, `host`
//! and `support` the image building, host-side checks and process plumbing underneath.

mod cli;
mod containerd_env;
mod ctr;
mod docker_env;
mod host;
mod images;
mod podman_env;
mod probes;
mod shim;
pub mod support;

/// An engine environment as a test uses it: built in private temp dirs, checked at the end.
trait Env: Sized + 'static {
    /// Builds the environment, images imported; `name` goes into its temp dirs' names.
    fn setup(name: &str) -> Self;
    /// Asserts that berth was used and that the engine left nothing behind.
    fn finish(&mut self);
}

/// Runs `scenario` in a fresh environment `E` (see the top of this file for the isolation),
/// then checks what is left.
fn run<E: Env>(name: &'static str, scenario: fn(&E)) {
    host::isolated(move || {
        let mut env = E::setup(name);
        scenario(&env);
        env.finish();
    });
}

mod podman {
    use super::{cli, podman_env::Podman, run};

    #[test]
    fn run_output_and_exit_code() {
        run::<Podman>("run", cli::run_output_and_exit_code);
    }

    #[test]
    fn detached_stop_kill_rm() {
        run::<Podman>("detach", cli::detached_stop_kill_rm);
    }

    #[test]
    fn tty() {
        run::<Podman>("tty", cli::tty);
    }

    #[test]
    fn resource_limits() {
        run::<Podman>("limits", cli::resource_limits);
    }

    #[test]
    fn env_user_workdir() {
        run::<Podman>("identity", cli::env_user_workdir);
    }

    #[test]
    fn shared_namespaces() {
        run::<Podman>("sharens", cli::shared_namespaces);
    }

    #[test]
    fn exec() {
        run::<Podman>("exec", cli::exec);
    }

    #[test]
    fn pause_unpause() {
        run::<Podman>("pause", cli::pause_unpause);
    }
}

mod docker {
    use super::{cli, docker_env::Docker, run};

    #[test]
    fn run_output_and_exit_code() {
        run::<Docker>("run", cli::run_output_and_exit_code);
    }

    #[test]
    fn detached_stop_kill_rm() {
        run::<Docker>("detach", cli::detached_stop_kill_rm);
    }

    #[test]
    fn tty() {
        run::<Docker>("tty", cli::tty);
    }

    #[test]
    fn resource_limits() {
        run::<Docker>("limits", |d| {
            cli::resource_limits(d);
            cli::oom_kill(d);
        });
    }

    #[test]
    fn env_user_workdir() {
        run::<Docker>("identity", cli::env_user_workdir);
    }

    #[test]
    fn exec_and_healthcheck() {
        run::<Docker>("exec", cli::exec_and_healthcheck);
    }

    #[test]
    fn top_pause_update() {
        run::<Docker>("update", cli::top_pause_update);
    }
}

mod containerd {
    use super::{containerd_env::Containerd, ctr, run};

    #[test]
    fn run_output_and_exit_code() {
        run::<Containerd>("run", ctr::run_output_and_exit_code);
    }

    #[test]
    fn detached_kill_delete() {
        run::<Containerd>("detach", ctr::detached_kill_delete);
    }

    #[test]
    fn tty() {
        run::<Containerd>("tty", ctr::tty);
    }

    #[test]
    fn resource_limits() {
        run::<Containerd>("limits", ctr::resource_limits);
    }

    #[test]
    fn env_user_workdir() {
        run::<Containerd>("identity", ctr::env_user_workdir);
    }

    #[test]
    fn exec() {
        run::<Containerd>("exec", ctr::exec);
    }

    #[test]
    fn pause_resume_ps() {
        run::<Containerd>("pause", ctr::pause_resume_ps);
    }
}

/// The same scenarios through berth's own shim (containerd-shim-berth-v2), and what only
/// it does: metrics, many tasks in one containerd.
mod berth_shim {
    use super::{containerd_env::ContainerdShim, ctr, run, shim};

    #[test]
    fn run_output_and_exit_code() {
        run::<ContainerdShim>("shim-run", |c| ctr::run_output_and_exit_code(c));
    }

    #[test]
    fn detached_kill_delete() {
        run::<ContainerdShim>("shim-detach", |c| ctr::detached_kill_delete(c));
    }

    #[test]
    fn tty() {
        run::<ContainerdShim>("shim-tty", |c| ctr::tty(c));
    }

    #[test]
    fn exec() {
        run::<ContainerdShim>("shim-exec", |c| ctr::exec(c));
    }

    #[test]
    fn pause_resume_ps() {
        run::<ContainerdShim>("shim-pause", |c| ctr::pause_resume_ps(c));
    }

    #[test]
    fn metrics_oom() {
        run::<ContainerdShim>("shim-metrics", |c| shim::metrics_oom(c));
    }

    #[test]
    fn many_tasks() {
        run::<ContainerdShim>("shim-many", |c| shim::many_tasks(c));
    }

    #[test]
    fn stdin_and_close_io() {
        run::<ContainerdShim>("shim-stdin", |c| shim::stdin_and_close_io(c));
    }

    #[test]
    fn update_and_bad_requests() {
        run::<ContainerdShim>("shim-update", |c| shim::update_and_bad_requests(c));
    }

    #[test]
    fn one_shim_per_pod() {
        run::<ContainerdShim>("shim-pod", |c| shim::one_shim_per_pod(c));
    }

    #[test]
    fn binary_logger() {
        run::<ContainerdShim>("shim-logger", |c| shim::binary_logger(c));
    }

    #[test]
    fn containerd_restart() {
        super::host::isolated(|| {
            let mut c = <ContainerdShim as super::Env>::setup("shim-restart");
            shim::survives_restart(&mut c.0);
            super::Env::finish(&mut c);
        });
    }
}
