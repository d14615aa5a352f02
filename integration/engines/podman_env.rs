//! The podman environment: private storage, config and runtime state, with berth as the
//! runtime through a wrapper script.

use super::cli::{BadCommand, Cli};
use super::host::{force_cleanup, shadow_host_dir, Leftovers};
use super::images::import_with_cli;
use super::support::{berth_abs, run_in_pty, s, tool, ENGINE_TIMEOUT};
use super::Env;
use crate::common::{run_command, Output, TempDir};
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// A podman with private storage, config, runtime state and berth root.
pub struct Podman {
    dir: TempDir,
    berth_root: PathBuf,
    wrapper: PathBuf,
    calls: PathBuf,
}

impl Podman {
    fn new(name: &str) -> Podman {
        let dir = TempDir::new(&format!("podman-{name}"));
        let d = dir.path().to_path_buf();
        let berth_root = d.join("berth-root");
        for sub in ["root", "runroot", "tmp", "networks", "berth-root"] {
            fs::create_dir_all(d.join(sub)).unwrap();
        }
        // Rootful podman keeps its blob-info cache there, whatever --root says.
        shadow_host_dir("/var/lib/containers/cache", &d.join("blob-cache"));
        write_config(&d);
        let calls = d.join("berth-calls.log");
        let wrapper = d.join("berth-wrapper.sh");
        write_wrapper(&wrapper, &calls, &berth_root);
        let p = Podman {
            dir,
            berth_root,
            wrapper,
            calls,
        };
        import_with_cli(p.dir.path(), |args| p.run(args));
        p
    }

    fn envs(&self) -> Vec<(&'static str, String)> {
        let d = self.dir.path().display();
        vec![
            ("CONTAINERS_CONF", format!("{d}/containers.conf")),
            ("CONTAINERS_STORAGE_CONF", format!("{d}/storage.conf")),
            // `podman import` stages the tarball in $TMPDIR, else /var/tmp.
            ("TMPDIR", format!("{d}/tmp")),
        ]
    }

    /// podman and its global flags.
    fn argv(&self) -> Vec<String> {
        let d = self.dir.path().display();
        vec![
            tool("podman").to_string_lossy().into_owned(),
            format!("--root={d}/root"),
            format!("--runroot={d}/runroot"),
            format!("--tmpdir={d}/tmp"),
            "--storage-driver=overlay".into(),
            "--cgroup-manager=cgroupfs".into(),
            "--events-backend=file".into(),
            format!("--runtime={}", self.wrapper.display()),
        ]
    }

    /// Every container id berth was asked to create (the last argument of `create`).
    fn created_ids(&self) -> Vec<String> {
        fs::read_to_string(&self.calls)
            .unwrap_or_default()
            .lines()
            .filter(|l| l.split_whitespace().next() == Some("create"))
            .filter_map(|l| l.split_whitespace().last().map(str::to_string))
            .collect()
    }

    fn leftovers(&self) -> Leftovers<'_> {
        Leftovers {
            dir: self.dir.path(),
            no_files_in: vec![self.berth_root.clone()],
            cgroup_needles: self.created_ids(),
            keep: Vec::new(),
            // containers/storage bind-mounts the overlay driver's home on itself and leaves it
            // (podman does the same with runc); the Drop guard detaches it.
            allowed_mounts: vec![self.dir.path().join("root/overlay").display().to_string()],
        }
    }
}

impl Env for Podman {
    fn setup(name: &str) -> Podman {
        Podman::new(name)
    }

    /// Asserts that berth was used and that nothing of any container is left.
    fn finish(&mut self) {
        assert!(
            !self.created_ids().is_empty(),
            "podman never called berth create"
        );
        let ps = self.run(&["ps", "-a", "-q"]).ok();
        assert!(ps.stdout.trim().is_empty(), "containers left: {ps}");
        self.leftovers().assert_none();
    }
}

impl Cli for Podman {
    const NAME: &'static str = "podman";
    /// berth's create error reaches podman, which maps it to the shell's exit codes.
    const BAD_COMMANDS: &'static [BadCommand] = &[
        BadCommand {
            command: "/nonexistent",
            code: 127,
            stderr: Some("/nonexistent"),
        },
        BadCommand {
            command: "/etc/passwd",
            code: 126,
            stderr: Some("permission denied"),
        },
    ];
    const TOP_ARGS: &'static [&'static str] = &["args"];

    fn run(&self, args: &[&str]) -> Output {
        let argv = self.argv();
        let mut cmd = Command::new(&argv[0]);
        cmd.args(&argv[1..]).args(args).envs(self.envs());
        run_command(cmd, ENGINE_TIMEOUT)
    }

    fn run_tty(&self, args: &[&str], input: &str) -> Output {
        let mut argv = self.argv();
        argv.extend(s(args));
        let envs = self.envs();
        let envs: Vec<(&str, &str)> = envs.iter().map(|(k, v)| (*k, v.as_str())).collect();
        run_in_pty(&argv, &envs, input)
    }

    fn berth_root(&self) -> &Path {
        &self.berth_root
    }
}

impl Drop for Podman {
    fn drop(&mut self) {
        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            self.run(&["rm", "--all", "--force", "--time", "0"]);
        }));
        for id in self.created_ids() {
            let mut cmd = Command::new(berth_abs());
            cmd.arg("--root").arg(&self.berth_root);
            cmd.args(["delete", "--force", &id]);
            let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                run_command(cmd, Duration::from_secs(10))
            }));
        }
        force_cleanup(self.dir.path(), &self.created_ids(), &[]);
    }
}

/// Writes the storage.conf and containers.conf that [`Podman::envs`] points podman at.
fn write_config(d: &Path) {
    // Its own storage.conf, so nothing reads or writes the host's default storage.
    fs::write(
        d.join("storage.conf"),
        format!(
            "[storage]\ndriver = \"overlay\"\nrunroot = \"{0}/runroot\"\n\
             graphroot = \"{0}/root\"\n",
            d.display()
        ),
    )
    .unwrap();
    // cgroupfs (no systemd here), file events (no journald), and rlimits at or below the
    // host's hard limits: podman's defaults are above them and nothing here may raise one.
    // In containers.conf rather than on each command line, so that the `podman container
    // cleanup` that conmon runs when a container exits gets the same settings.
    fs::write(
        d.join("containers.conf"),
        format!(
            "[containers]\ndefault_ulimits = [\"nofile=1024:1024\", \"nproc=1024:1024\"]\n\
             [engine]\ncgroup_manager = \"cgroupfs\"\nevents_logger = \"file\"\n\
             image_copy_tmp_dir = \"{0}/tmp\"\n\
             [network]\nnetwork_config_dir = \"{0}/networks\"\n",
            d.display()
        ),
    )
    .unwrap();
}

/// Writes the script podman runs as its runtime: berth with the private root, logging each call
/// to `calls`. podman hands `--runtime-flag root=...` to the runtime calls it makes itself, but
/// not to the cleanup process conmon starts, which would then `delete` in berth's default root
/// and leak the state. The log tells the test every container id berth saw.
fn write_wrapper(wrapper: &Path, calls: &Path, berth_root: &Path) {
    fs::write(
        wrapper,
        format!(
            "#!/bin/sh\necho \"$*\" >> '{}'\nexec '{}' --root '{}' \"$@\"\n",
            calls.display(),
            berth_abs().display(),
            berth_root.display()
        ),
    )
    .unwrap();
    fs::set_permissions(wrapper, fs::Permissions::from_mode(0o755)).unwrap();
}
