//! The Docker environment: a dockerd of the test's own over a containerd of its own, with
//! berth registered as its default runtime.

use super::cli::{BadCommand, Cli};
use super::containerd_env::Containerd;
use super::host::{force_cleanup, mounts_under, remove_cgroup_parent, Leftovers};
use super::images::import_with_cli;
use super::support::{berth_abs, run_in_pty, s, tool, Daemon, ENGINE_TIMEOUT};
use super::Env;
use crate::common::{run_command, unique, Output, TempDir};
use serde_json::{json, Value};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

/// A dockerd of the test's own (data-root, exec-root, pidfile, socket, key in a temp dir),
/// over its own containerd, with berth registered as the runtime "berth".
pub struct Docker {
    daemon: Daemon,
    dir: TempDir,
    sock: PathBuf,
    berth_root: PathBuf,
    /// cgroup parent of this daemon's containers (cgroupfs driver): /<cgroup_parent>/<id>.
    cgroup_parent: String,
    // Dropped after the fields above: dockerd must stop before its containerd.
    containerd: Containerd,
}

impl Docker {
    fn new(name: &str) -> Docker {
        let containerd = Containerd::new(&format!("docker-{name}"));
        let dir = TempDir::new(&format!("docker-{name}"));
        let d = dir.path();
        let sock = d.join("docker.sock");
        let cgroup_parent = unique("berth-it-docker");
        let config = daemon_config(d, &sock, &containerd.sock, &cgroup_parent);
        fs::write(d.join("daemon.json"), config.to_string()).unwrap();
        let mut cmd = Command::new(tool("dockerd"));
        cmd.arg("--config-file").arg(d.join("daemon.json"));
        let daemon = Daemon::spawn("dockerd", cmd, d.join("dockerd.log"));
        let mut dk = Docker {
            daemon,
            berth_root: d.join("exec/runtime-runc/moby"),
            dir,
            sock,
            cgroup_parent,
            containerd,
        };
        let (client, sock) = (dk.dir.path().join("client"), dk.sock.clone());
        dk.daemon.wait_ready(|| {
            let probe = docker_cmd(&sock, &client, &["version"]);
            run_command(probe, ENGINE_TIMEOUT).success()
        });
        import_with_cli(dk.dir.path(), |args| dk.run(args));
        dk
    }

    fn needles(&self) -> Vec<String> {
        vec![format!("/{}/", self.cgroup_parent)]
    }

    /// While dockerd runs, its data-root is a bind mount of itself; nothing else may remain.
    fn assert_clean(&self) {
        let ps = self.run(&["ps", "-a", "-q"]).ok();
        assert!(ps.stdout.trim().is_empty(), "containers left: {ps}");
        let data = self.dir.path().join("data").to_string_lossy().into_owned();
        Leftovers {
            dir: self.dir.path(),
            no_files_in: vec![self.berth_root.clone()],
            cgroup_needles: self.needles(),
            keep: vec![self.daemon.pid(), self.containerd.daemon.pid()],
            allowed_mounts: vec![data],
        }
        .assert_none();
        self.containerd.assert_clean();
    }
}

/// dockerd's daemon.json: everything it keeps under `d`, no host networking set-up.
fn daemon_config(d: &Path, sock: &Path, containerd_sock: &Path, cgroup_parent: &str) -> Value {
    json!({
        "data-root": d.join("data"),
        "exec-root": d.join("exec"),
        "pidfile": d.join("docker.pid"),
        "hosts": [format!("unix://{}", sock.display())],
        "containerd": containerd_sock,
        // The trust key would otherwise go to /etc/docker/key.json on the host.
        "deprecated-key-path": d.join("key.json"),
        // No networking set-up on the host: no iptables rules, no docker0 bridge.
        "iptables": false,
        "ip6tables": false,
        "ip-forward": false,
        "ip-masq": false,
        "bridge": "none",
        "exec-opts": ["native.cgroupdriver=cgroupfs"],
        "cgroup-parent": format!("/{cgroup_parent}"),
        // At the host's hard limits or below (dockerd's own would be inherited, and they
        // are above what nothing here can raise).
        "default-ulimits": {
            "nofile": {"Name": "nofile", "Hard": 1024, "Soft": 1024},
            "nproc": {"Name": "nproc", "Hard": 1024, "Soft": 1024}
        },
        "runtimes": {"berth": {"path": berth_abs()}},
        "default-runtime": "berth"
    })
}

/// The docker client that came with dockerd (another `docker` may be first on PATH).
fn client() -> PathBuf {
    let beside = tool("dockerd").with_file_name("docker");
    if beside.is_file() {
        beside
    } else {
        tool("docker")
    }
}

/// The docker client talking to the daemon at `sock`, with its own config dir `client_dir`
/// (the default, ~/.docker, is in the host's home).
fn docker_cmd(sock: &Path, client_dir: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new(client());
    cmd.arg("--host").arg(format!("unix://{}", sock.display()));
    cmd.env("DOCKER_CONFIG", client_dir);
    cmd.args(args);
    cmd
}

impl Env for Docker {
    fn setup(name: &str) -> Docker {
        Docker::new(name)
    }

    /// Checks for leftovers, stops dockerd and containerd, then checks that no mount under
    /// either temp dir is left.
    fn finish(&mut self) {
        self.assert_clean();
        self.daemon.stop();
        self.containerd.daemon.stop();
        let mut left = mounts_under(self.dir.path());
        left.extend(mounts_under(self.containerd.dir.path()));
        assert!(
            left.is_empty(),
            "mounts left after the daemons stopped: {left:#?}"
        );
    }
}

impl Cli for Docker {
    const NAME: &'static str = "docker";
    /// berth's error, through the shim's reading of its JSON log, becomes docker's 127/126.
    const BAD_COMMANDS: &'static [BadCommand] = &[
        BadCommand {
            command: "/nonexistent",
            code: 127,
            stderr: Some("/nonexistent"),
        },
        BadCommand {
            command: "nocmd",
            code: 127,
            stderr: Some("executable file not found"),
        },
        BadCommand {
            command: "/etc/passwd",
            code: 126,
            stderr: None,
        },
    ];
    // The default (`ps -ef`) already shows command lines.
    const TOP_ARGS: &'static [&'static str] = &[];

    fn run(&self, args: &[&str]) -> Output {
        let cmd = docker_cmd(&self.sock, &self.dir.path().join("client"), args);
        run_command(cmd, ENGINE_TIMEOUT)
    }

    fn run_tty(&self, args: &[&str], input: &str) -> Output {
        let mut argv = vec![
            client().to_string_lossy().into_owned(),
            "--host".into(),
            format!("unix://{}", self.sock.display()),
        ];
        argv.extend(s(args));
        let client = self.dir.path().join("client");
        run_in_pty(&argv, &[("DOCKER_CONFIG", client.to_str().unwrap())], input)
    }

    fn berth_root(&self) -> &Path {
        &self.berth_root
    }
}

impl Drop for Docker {
    fn drop(&mut self) {
        if self.daemon.started() {
            let ids = self.run(&["ps", "-a", "-q"]);
            for id in ids.stdout.lines().map(str::trim).filter(|l| !l.is_empty()) {
                self.run(&["rm", "--force", id]);
            }
        }
        self.daemon.stop();
        force_cleanup(
            self.dir.path(),
            &self.needles(),
            &[self.containerd.daemon.pid()],
        );
        remove_cgroup_parent(&self.cgroup_parent);
    }
}
