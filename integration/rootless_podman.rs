//! Rootless podman with `--runtime` pointing at berth, run by the test user: podman
//! makes its own user namespace (the full subordinate range, through newuidmap) and
//! calls berth there as its root, with berth's default state root. vfs storage and the
//! host network (no slirp4netns or pasta on this machine); everything lives in a temp
//! dir the user owns.

use crate::common::{berth_bin, run_command, Output, TempDir};
use crate::engines::support::{run_in_pty, tool};
use crate::rootless_user::{as_user, chown, user};
use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

const IMAGE: &str = "localhost/berth-rootless:latest";

struct Podman {
    dir: TempDir,
}

impl Podman {
    fn new() -> Podman {
        let u = user();
        let dir = TempDir::new("rl-podman");
        let d = dir.path();
        for sub in ["root", "runroot", "tmp", "vol"] {
            fs::create_dir(d.join(sub)).unwrap();
        }
        fs::write(
            d.join("storage.conf"),
            format!(
                "[storage]\ndriver = \"vfs\"\nrunroot = \"{0}/runroot\"\ngraphroot = \"{0}/root\"\n",
                d.display()
            ),
        )
        .unwrap();
        // Rlimits at or below the host's hard limits (podman's defaults are above them);
        // in containers.conf so that conmon's `podman container cleanup` gets it too.
        fs::write(
            d.join("containers.conf"),
            "[containers]\ndefault_ulimits = [\"nofile=1024:1024\", \"nproc=1024:1024\"]\n\
             netns = \"host\"\n[engine]\ncgroup_manager = \"cgroupfs\"\nevents_logger = \"file\"\n",
        )
        .unwrap();
        let st = Command::new("tar")
            .arg("-C")
            .arg(crate::common::rootfs_src())
            .arg("-cf")
            .arg(d.join("rootfs.tar"))
            .arg(".")
            .status()
            .unwrap();
        assert!(st.success());
        chown(d, u.uid, u.gid, true);
        let tar = d.join("rootfs.tar");
        let p = Podman { dir };
        p.run(&["import", tar.to_str().unwrap(), IMAGE]).ok();
        p
    }

    fn argv(&self) -> Vec<String> {
        let d = self.dir.path().display();
        let mut cmd = as_user(&tool("podman"));
        cmd.arg(format!("--root={d}/root"))
            .arg(format!("--runroot={d}/runroot"))
            .arg(format!("--tmpdir={d}/tmp"))
            .arg("--storage-driver=vfs")
            .arg(format!("--runtime={}", berth_abs().display()));
        // `env -i` inside as_user: podman's own settings go in as its arguments.
        let mut argv = vec![cmd.get_program().to_string_lossy().into_owned()];
        argv.extend(cmd.get_args().map(|a| a.to_string_lossy().into_owned()));
        let at = argv.iter().position(|a| a.ends_with("/podman")).unwrap();
        argv.insert(at, format!("CONTAINERS_CONF={d}/containers.conf"));
        argv.insert(at, format!("CONTAINERS_STORAGE_CONF={d}/storage.conf"));
        argv.insert(at, format!("TMPDIR={d}/tmp"));
        argv
    }

    fn run(&self, args: &[&str]) -> Output {
        let argv = self.argv();
        let mut cmd = Command::new(&argv[0]);
        cmd.args(&argv[1..]).args(args).current_dir(self.dir.path());
        run_command(cmd, Duration::from_secs(120))
    }

    fn vol(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for Podman {
    fn drop(&mut self) {
        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            self.run(&["rm", "--all", "--force", "--time", "0"]);
        }));
        // podman keeps a pause process holding its user namespace; it is ours to end.
        let pause = self.dir.path().join("tmp/pause.pid");
        if let Some(pid) = fs::read_to_string(&pause)
            .ok()
            .and_then(|s| s.trim().parse::<i32>().ok())
        {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(pid),
                nix::sys::signal::Signal::SIGKILL,
            );
            let _ = fs::remove_file(&pause);
        }
    }
}

fn berth_abs() -> std::path::PathBuf {
    fs::canonicalize(berth_bin()).unwrap()
}

#[test]
fn rootless_podman_lifecycle() {
    let u = user();
    let p = Podman::new();
    // run: output and exit code, in podman's user namespace (full range).
    let out = p.run(&[
        "run",
        "--rm",
        IMAGE,
        "sh",
        "-c",
        "echo hi; cat /proc/self/uid_map; exit 3",
    ]);
    assert_eq!(out.code, 3, "{out}");
    let lines: Vec<String> = out
        .stdout
        .lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect();
    assert_eq!(lines[0], "hi", "{out}");
    assert_eq!(lines[1], format!("0 {} 1", u.uid), "{out}");
    // The state went to the user's runtime dir: berth's default root for it.
    let out = p
        .run(&["run", "-d", "--name", "rl-top", IMAGE, "sleep", "60"])
        .ok();
    let cid = out.stdout.trim().to_string();
    assert!(u.runtime_dir.join("berth").join(&cid).is_dir(), "{out}");
    let out = p.run(&["exec", "rl-top", "sh", "-c", "cat /proc/1/cmdline; exit 5"]);
    assert_eq!(out.code, 5, "{out}");
    assert_eq!(out.stdout, "sleep\x0060\x00", "{out}");
    p.run(&["stop", "--time", "1", "rl-top"]).ok();
    let out = p
        .run(&["inspect", "--format", "{{.State.Status}}", "rl-top"])
        .ok();
    assert_eq!(out.stdout.trim(), "exited", "{out}");
    p.run(&["rm", "rl-top"]).ok();
    assert!(!u.runtime_dir.join("berth").join(&cid).exists());

    // A user inside, and files on a volume owned by the host ids they map to.
    let vol = p.vol().join("vol");
    fs::set_permissions(&vol, std::os::unix::fs::PermissionsExt::from_mode(0o777)).unwrap();
    let v = format!("{}:/vol", vol.display());
    let out = p.run(&[
        "run",
        "--rm",
        "-v",
        &v,
        "--user",
        "1000",
        IMAGE,
        "sh",
        "-c",
        "id -u; touch /vol/u1000",
    ]);
    assert_eq!(out.stdout.trim(), "1000", "{out}");
    p.run(&["run", "--rm", "-v", &v, IMAGE, "touch", "/vol/u0"])
        .ok();
    let owner = |f: &str| fs::metadata(vol.join(f)).unwrap().uid();
    assert_eq!(owner("u0"), u.uid, "container root is the user");
    assert_eq!(
        owner("u1000"),
        u.subuid + 999,
        "container uid 1000 is a subordinate uid"
    );

    // -it: a terminal all the way from the caller's. The pause before exiting: podman
    // attaches to the terminal while the container already runs, and on a busy machine a
    // process that exits at once may be gone before podman copied its output (runc too).
    let mut argv = p.argv();
    argv.extend(
        [
            "run",
            "--rm",
            "-it",
            IMAGE,
            "sh",
            "-c",
            "tty; sleep 1; exit 6",
        ]
        .map(String::from),
    );
    let out = run_in_pty(&argv, &[], "");
    assert_eq!(out.code, 6, "{out}");
    assert!(out.stdout.contains("/dev/pts/0"), "{out}");
}
