//! An unprivileged user for the rootless tests, made once per machine: `berthrl`, with
//! subordinate id ranges in /etc/subuid and /etc/subgid and a runtime dir of its own
//! (/run/user/UID, as logind would make it). Setup is idempotent, so reruns (and other
//! test processes) reuse it; the tests remove what they make in its dirs.

use crate::common::{berth_bin, run_command, unique, Bundle, Output, CMD_TIMEOUT};
use serde_json::json;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

pub const NAME: &str = "berthrl";
/// Size of the subordinate ranges the tests map.
pub const SUB_SIZE: u32 = 65536;

pub struct User {
    pub uid: u32,
    pub gid: u32,
    /// First subordinate uid and gid (ranges of SUB_SIZE).
    pub subuid: u32,
    pub subgid: u32,
    pub runtime_dir: PathBuf,
}

static USER: OnceLock<User> = OnceLock::new();

/// The test user, made on first use.
pub fn user() -> &'static User {
    USER.get_or_init(setup)
}

fn id_of(flag: &str) -> Option<u32> {
    let out = Command::new("id").args([flag, NAME]).output().ok()?;
    String::from_utf8_lossy(&out.stdout).trim().parse().ok()
}

fn setup() -> User {
    if id_of("-u").is_none() {
        let st = Command::new("useradd")
            .args(["-m", "-s", "/bin/sh", "-c", "berth rootless tests", NAME])
            .status()
            .expect("run useradd");
        // 9: made meanwhile by another test process.
        assert!(st.success() || st.code() == Some(9), "useradd {NAME}: {st}");
    }
    let uid = id_of("-u").expect("uid of the test user");
    let gid = id_of("-g").expect("gid of the test user");
    let subuid = sub_range("/etc/subuid", "--add-subuids");
    let subgid = sub_range("/etc/subgid", "--add-subgids");
    let runtime_dir = PathBuf::from(format!("/run/user/{uid}"));
    fs::create_dir_all(&runtime_dir).unwrap();
    chown(&runtime_dir, uid, gid, false);
    fs::set_permissions(&runtime_dir, fs::Permissions::from_mode(0o700)).unwrap();
    User {
        uid,
        gid,
        subuid,
        subgid,
        runtime_dir,
    }
}

/// The start of the user's range in `file`, adding one after every other range when
/// it has none of SUB_SIZE.
fn sub_range(file: &str, flag: &str) -> u32 {
    let parse = || -> (Option<u32>, u32) {
        let text = fs::read_to_string(file).unwrap_or_default();
        let mut ours = None;
        let mut end = 100_000;
        for l in text.lines() {
            let f: Vec<&str> = l.split(':').collect();
            let (Some(start), Some(size)) = (
                f.get(1).and_then(|s| s.parse::<u32>().ok()),
                f.get(2).and_then(|s| s.parse::<u32>().ok()),
            ) else {
                continue;
            };
            if f[0] == NAME && size >= SUB_SIZE {
                ours = Some(start);
            }
            end = end.max(start + size);
        }
        (ours, end)
    };
    if let (Some(start), _) = parse() {
        return start;
    }
    let (_, end) = parse();
    let range = format!("{end}-{}", end + SUB_SIZE - 1);
    let st = Command::new("usermod")
        .args([flag, &range, NAME])
        .status()
        .expect("run usermod");
    assert!(st.success(), "usermod {flag} {range} {NAME}: {st}");
    parse().0.expect("subordinate range just added")
}

pub fn chown(p: &Path, uid: u32, gid: u32, recursive: bool) {
    let mut cmd = Command::new("chown");
    if recursive {
        cmd.arg("-R");
    }
    let st = cmd
        .arg(format!("{uid}:{gid}"))
        .arg(p)
        .status()
        .expect("run chown");
    assert!(st.success(), "chown {}", p.display());
}

/// A command run as the test user with a clean environment of its own (runc's rules
/// read $XDG_RUNTIME_DIR and $USER).
pub fn as_user(program: &Path) -> Command {
    let u = user();
    let mut cmd = Command::new("setpriv");
    cmd.arg(format!("--reuid={}", u.uid))
        .arg(format!("--regid={}", u.gid))
        .arg("--init-groups")
        .args(["env", "-i"])
        .arg("PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin")
        .arg(format!("HOME=/home/{NAME}"))
        .arg(format!("USER={NAME}"))
        .arg(format!("XDG_RUNTIME_DIR={}", u.runtime_dir.display()))
        .arg(program);
    cmd
}

/// berth run by the test user, with its default state root ($XDG_RUNTIME_DIR/berth).
/// Containers it made are force-deleted on drop.
pub struct Rootless {
    ids: Mutex<Vec<String>>,
}

impl Rootless {
    pub fn new() -> Rootless {
        user();
        Rootless {
            ids: Mutex::new(Vec::new()),
        }
    }

    /// The default state root of the user.
    pub fn state_root(&self) -> PathBuf {
        user().runtime_dir.join("berth")
    }

    pub fn id(&self, name: &str) -> String {
        let id = unique(name);
        self.ids.lock().unwrap().push(id.clone());
        id
    }

    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = as_user(&berth_bin());
        cmd.args(args);
        cmd
    }

    pub fn run(&self, args: &[&str]) -> Output {
        run_command(self.command(args), CMD_TIMEOUT)
    }

    /// `run --bundle B ID` in the foreground, with the config written out.
    pub fn run_bundle(&self, b: &Bundle, id: &str) -> Output {
        b.write_config();
        self.run(&["run", "--bundle", b.path_str(), id])
    }
}

impl Drop for Rootless {
    fn drop(&mut self) {
        for id in self.ids.lock().unwrap_or_else(|e| e.into_inner()).iter() {
            if self.state_root().join(id).exists() {
                let cmd = self.command(&["delete", "--force", id]);
                let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    run_command(cmd, Duration::from_secs(10))
                }));
            }
        }
    }
}

/// One id mapping line of a config.
pub fn mapping(container: u32, host: u32, size: u32) -> serde_json::Value {
    json!({"containerID": container, "hostID": host, "size": size})
}

/// A bundle the test user owns, in a user namespace that maps root to the user alone
/// (as `runc spec --rootless` makes it): no gid=5 for devpts, which is not mapped.
pub fn user_bundle(name: &str) -> Bundle {
    let u = user();
    let mut b = Bundle::new(name);
    b.add_namespace("user");
    let linux = &mut b.config["linux"];
    linux["uidMappings"] = json!([mapping(0, u.uid, 1)]);
    linux["gidMappings"] = json!([mapping(0, u.gid, 1)]);
    for m in b.config["mounts"].as_array_mut().unwrap() {
        if m["type"] == "devpts" {
            let opts = m["options"].as_array_mut().unwrap();
            opts.retain(|o| o != "gid=5");
        }
    }
    chown(b.path(), u.uid, u.gid, true);
    b
}

/// The same with root mapped to the user and ids 1..=SUB_SIZE to its subordinate ranges
/// (newuidmap/newgidmap write these).
pub fn full_range_bundle(name: &str) -> Bundle {
    let u = user();
    let mut b = user_bundle(name);
    let linux = &mut b.config["linux"];
    linux["uidMappings"] = json!([mapping(0, u.uid, 1), mapping(1, u.subuid, SUB_SIZE)]);
    linux["gidMappings"] = json!([mapping(0, u.gid, 1), mapping(1, u.subgid, SUB_SIZE)]);
    b
}
