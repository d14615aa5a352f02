//! `spec`: write a starter `config.json` into the bundle directory.
//!
//! The file is the one `runc spec` (1.1.5, the version Debian ships and engines are tested
//! with) writes, down to key order and tab indentation: scripts and test suites create a
//! bundle with `$RUNTIME spec` and then edit it with jq, so any difference in the default
//! (a namespace, a mount, the hostname) changes what their containers get. `--rootless`
//! gives runc's rootless variant of the same file.

use anyhow::{bail, Context, Result};
use serde::Serialize;
use std::io::ErrorKind;
use std::path::Path;

/// The file name; like runc, it is relative to the (possibly changed) working directory.
const CONFIG: &str = "config.json";

/// The runtime-spec version runc 1.1.5 writes into its default (not berth's own
/// `SPEC_VERSION`, which is what `state` reports): the file must match runc's.
const OCI_VERSION: &str = "1.0.2-dev";

/// The capabilities Docker has always left to an unprivileged-looking root; runc's default
/// lists them in every set, ambient included (runc 1.2 later dropped ambient; 1.1.5 has it).
const DEFAULT_CAPS: [&str; 3] = ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"];

// The structs below exist only to fix the key order of the output (serde_json's `Value`
// sorts keys) and to leave out what runc's file leaves out; they are not the runtime's
// model of a config, which lives in `oci-spec`.

#[derive(Serialize, Debug, Clone, PartialEq)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Config {
    oci_version: &'static str,
    process: Process,
    root: Root,
    hostname: &'static str,
    mounts: Vec<Mount>,
    linux: Linux,
}

#[derive(Serialize, Debug, Clone, PartialEq)]
#[serde(rename_all = "camelCase")]
struct Process {
    terminal: bool,
    user: User,
    args: Vec<&'static str>,
    env: Vec<&'static str>,
    cwd: &'static str,
    capabilities: Capabilities,
    rlimits: Vec<Rlimit>,
    no_new_privileges: bool,
}

#[derive(Serialize, Debug, Clone, PartialEq)]
struct User {
    uid: u32,
    gid: u32,
}

#[derive(Serialize, Debug, Clone, PartialEq)]
struct Capabilities {
    bounding: Vec<&'static str>,
    effective: Vec<&'static str>,
    permitted: Vec<&'static str>,
    ambient: Vec<&'static str>,
}

#[derive(Serialize, Debug, Clone, PartialEq)]
struct Rlimit {
    #[serde(rename = "type")]
    kind: &'static str,
    hard: u64,
    soft: u64,
}

#[derive(Serialize, Debug, Clone, PartialEq)]
struct Root {
    path: &'static str,
    readonly: bool,
}

#[derive(Serialize, Debug, Clone, PartialEq)]
struct Mount {
    destination: &'static str,
    #[serde(rename = "type")]
    kind: &'static str,
    source: &'static str,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    options: Vec<&'static str>,
}

#[derive(Serialize, Debug, Clone, PartialEq)]
#[serde(rename_all = "camelCase")]
struct Linux {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    uid_mappings: Vec<IdMapping>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    gid_mappings: Vec<IdMapping>,
    #[serde(skip_serializing_if = "Option::is_none")]
    resources: Option<Resources>,
    namespaces: Vec<Namespace>,
    masked_paths: Vec<&'static str>,
    readonly_paths: Vec<&'static str>,
}

#[derive(Serialize, Debug, Clone, PartialEq)]
#[serde(rename_all = "camelCase")]
struct IdMapping {
    #[serde(rename = "containerID")]
    container_id: u32,
    #[serde(rename = "hostID")]
    host_id: u32,
    size: u32,
}

#[derive(Serialize, Debug, Clone, PartialEq)]
struct Resources {
    devices: Vec<DeviceRule>,
}

#[derive(Serialize, Debug, Clone, PartialEq)]
struct DeviceRule {
    allow: bool,
    access: &'static str,
}

#[derive(Serialize, Debug, Clone, PartialEq)]
struct Namespace {
    #[serde(rename = "type")]
    kind: &'static str,
}

fn mount(
    destination: &'static str,
    kind: &'static str,
    source: &'static str,
    options: &[&'static str],
) -> Mount {
    Mount {
        destination,
        kind,
        source,
        options: options.to_vec(),
    }
}

fn namespaces(kinds: &[&'static str]) -> Vec<Namespace> {
    kinds.iter().map(|&kind| Namespace { kind }).collect()
}

/// runc's default: a read-only busybox-style root running `sh` on a terminal, in new pid,
/// network, ipc, uts and mount namespaces, with every device denied.
pub(crate) fn default_config() -> Config {
    Config {
        oci_version: OCI_VERSION,
        process: default_process(),
        root: Root {
            path: "rootfs",
            readonly: true,
        },
        // runc's own name: a bundle made by `berth spec` must behave exactly like one
        // made by `runc spec`, and callers may look at the hostname.
        hostname: "runc",
        mounts: default_mounts(),
        linux: default_linux(),
    }
}

fn default_process() -> Process {
    let caps = DEFAULT_CAPS.to_vec();
    Process {
        terminal: true,
        user: User { uid: 0, gid: 0 },
        args: vec!["sh"],
        env: vec![
            "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            "TERM=xterm",
        ],
        cwd: "/",
        capabilities: Capabilities {
            bounding: caps.clone(),
            effective: caps.clone(),
            permitted: caps.clone(),
            ambient: caps,
        },
        rlimits: vec![Rlimit {
            kind: "RLIMIT_NOFILE",
            hard: 1024,
            soft: 1024,
        }],
        no_new_privileges: true,
    }
}

fn default_mounts() -> Vec<Mount> {
    vec![
        mount("/proc", "proc", "proc", &[]),
        mount(
            "/dev",
            "tmpfs",
            "tmpfs",
            &["nosuid", "strictatime", "mode=755", "size=65536k"],
        ),
        mount(
            "/dev/pts",
            "devpts",
            "devpts",
            &[
                "nosuid",
                "noexec",
                "newinstance",
                "ptmxmode=0666",
                "mode=0620",
                "gid=5",
            ],
        ),
        mount(
            "/dev/shm",
            "tmpfs",
            "shm",
            &["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"],
        ),
        mount(
            "/dev/mqueue",
            "mqueue",
            "mqueue",
            &["nosuid", "noexec", "nodev"],
        ),
        mount(
            "/sys",
            "sysfs",
            "sysfs",
            &["nosuid", "noexec", "nodev", "ro"],
        ),
        mount(
            "/sys/fs/cgroup",
            "cgroup",
            "cgroup",
            &["nosuid", "noexec", "nodev", "relatime", "ro"],
        ),
    ]
}

fn default_linux() -> Linux {
    Linux {
        uid_mappings: Vec::new(),
        gid_mappings: Vec::new(),
        resources: Some(Resources {
            devices: vec![DeviceRule {
                allow: false,
                access: "rwm",
            }],
        }),
        namespaces: namespaces(&["pid", "network", "ipc", "uts", "mount"]),
        masked_paths: vec![
            "/proc/acpi",
            "/proc/asound",
            "/proc/kcore",
            "/proc/keys",
            "/proc/latency_stats",
            "/proc/timer_list",
            "/proc/timer_stats",
            "/proc/sched_debug",
            "/sys/firmware",
            "/proc/scsi",
        ],
        readonly_paths: vec![
            "/proc/bus",
            "/proc/fs",
            "/proc/irq",
            "/proc/sys",
            "/proc/sysrq-trigger",
        ],
    }
}

/// Turns the default into one an unprivileged user can run: `uid`/`gid` (the caller's
/// effective ids) become root in a new user namespace.
pub(crate) fn make_rootless(c: &mut Config, uid: u32, gid: u32) {
    // Only root can create a network namespace that is of any use (no way to plumb it).
    c.linux.namespaces.retain(|ns| ns.kind != "network");
    c.linux.namespaces.push(Namespace { kind: "user" });
    c.linux.uid_mappings = vec![IdMapping {
        container_id: 0,
        host_id: uid,
        size: 1,
    }];
    c.linux.gid_mappings = vec![IdMapping {
        container_id: 0,
        host_id: gid,
        size: 1,
    }];
    for m in &mut c.mounts {
        // With a single gid mapped, gid 5 (tty) does not exist in the container, and the
        // kernel refuses a devpts mount that names an unmapped gid.
        m.options.retain(|o| !o.starts_with("gid="));
        // A user namespace that does not own the network namespace may not mount sysfs;
        // a recursive bind of the host's /sys is what can be had instead.
        if m.kind == "sysfs" {
            m.kind = "none";
            m.source = "/sys";
            m.options.insert(0, "rbind");
        }
    }
    // An unprivileged user cannot write cgroup files (no delegation is assumed).
    c.linux.resources = None;
}

/// The file's bytes: indented with tabs and without a final newline, as runc writes it.
pub(crate) fn render(c: &Config) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    let fmt = serde_json::ser::PrettyFormatter::with_indent(b"\t");
    let mut ser = serde_json::Serializer::with_formatter(&mut out, fmt);
    c.serialize(&mut ser)?;
    Ok(out)
}

/// Writes `config.json` in `dir`, refusing to replace one that exists.
pub(crate) fn write_config(dir: &Path, rootless: bool) -> Result<()> {
    let mut c = default_config();
    if rootless {
        make_rootless(
            &mut c,
            nix::unistd::geteuid().as_raw(),
            nix::unistd::getegid().as_raw(),
        );
    }
    let path = dir.join(CONFIG);
    // Like runc, anything at the path that stat(2) can see counts as existing (a dangling
    // symlink does not); other stat errors are reported as they are.
    match std::fs::metadata(&path) {
        Ok(_) => bail!("File {CONFIG} exists. Remove it first"),
        Err(e) if e.kind() == ErrorKind::NotFound => {}
        Err(e) => return Err(e).with_context(|| format!("stat {CONFIG}")),
    }
    std::fs::write(&path, render(&c)?).with_context(|| format!("open {CONFIG}"))
}

/// `spec [--bundle DIR] [--rootless[=BOOL]]`; `rootless` is the flag's value, if given.
pub fn run(bundle: Option<&Path>, rootless: Option<&str>) -> Result<()> {
    let rootless = match rootless {
        None => false,
        Some(v) => parse_go_bool(v)
            .with_context(|| format!("invalid boolean value {v:?} for -rootless: parse error"))?,
    };
    match bundle {
        // runc changes into the bundle; its error names the chdir, which callers see.
        Some(dir) if !dir.as_os_str().is_empty() => {
            std::env::set_current_dir(dir)
                .map_err(|e| anyhow::anyhow!("chdir {}: {}", dir.display(), errno_text(&e)))?;
        }
        _ => {}
    }
    write_config(Path::new("."), rootless)
}

/// The spellings Go's flag package accepts for a boolean flag's `=VALUE`.
fn parse_go_bool(v: &str) -> Option<bool> {
    match v {
        "1" | "t" | "T" | "true" | "TRUE" | "True" => Some(true),
        "0" | "f" | "F" | "false" | "FALSE" | "False" => Some(false),
        _ => None,
    }
}

/// Go's wording for an errno (strerror with a lower-case first letter), so the message
/// reads like runc's.
fn errno_text(e: &std::io::Error) -> String {
    match e.raw_os_error() {
        Some(n) => {
            let s = nix::errno::Errno::from_raw(n).desc();
            let mut chars = s.chars();
            match chars.next() {
                Some(first) => first.to_lowercase().chain(chars).collect(),
                None => String::new(),
            }
        }
        None => e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    fn namespace_types(v: &Value) -> Vec<&str> {
        v["linux"]["namespaces"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| n["type"].as_str().unwrap())
            .collect()
    }

    fn value(c: &Config) -> Value {
        serde_json::from_slice(&render(c).unwrap()).unwrap()
    }

    fn tempdir(name: &str) -> std::path::PathBuf {
        let d = std::env::temp_dir().join(format!("berth-spec-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn default_matches_runc_shape() {
        let v = value(&default_config());
        assert_eq!(v["ociVersion"], "1.0.2-dev");
        assert_eq!(v["process"]["terminal"], true);
        assert_eq!(v["process"]["args"], json!(["sh"]));
        assert_eq!(v["process"]["user"], json!({"uid": 0, "gid": 0}));
        assert_eq!(v["root"], json!({"path": "rootfs", "readonly": true}));
        assert_eq!(v["hostname"], "runc");
        for set in ["bounding", "effective", "permitted", "ambient"] {
            assert_eq!(v["process"]["capabilities"][set], json!(DEFAULT_CAPS));
        }
        assert!(v["process"]["capabilities"].get("inheritable").is_none());
        let ns = namespace_types(&v);
        assert_eq!(ns, ["pid", "network", "ipc", "uts", "mount"]);
        assert_eq!(
            v["linux"]["resources"],
            json!({"devices": [{"allow": false, "access": "rwm"}]})
        );
        assert!(v["linux"].get("uidMappings").is_none());
        let dests: Vec<&str> = v["mounts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["destination"].as_str().unwrap())
            .collect();
        assert_eq!(
            dests,
            [
                "/proc",
                "/dev",
                "/dev/pts",
                "/dev/shm",
                "/dev/mqueue",
                "/sys",
                "/sys/fs/cgroup"
            ]
        );
        // A mount without options has no "options" key at all, as in runc's file.
        assert!(v["mounts"][0].get("options").is_none());
    }

    #[test]
    fn render_is_tab_indented_in_runc_key_order() {
        let text = String::from_utf8(render(&default_config()).unwrap()).unwrap();
        assert!(text.starts_with(
            "{\n\t\"ociVersion\": \"1.0.2-dev\",\n\t\"process\": {\n\t\t\"terminal\": true,"
        ));
        assert!(text.ends_with("\t}\n}"), "no trailing newline, like runc");
        let pos = |k: &str| text.find(&format!("\"{k}\":")).unwrap();
        assert!(pos("ociVersion") < pos("process"));
        assert!(pos("process") < pos("root"));
        assert!(pos("root") < pos("hostname"));
        assert!(pos("hostname") < pos("mounts"));
        assert!(pos("mounts") < pos("linux"));
        assert!(pos("resources") < pos("namespaces"));
        assert!(pos("namespaces") < pos("maskedPaths"));
        assert!(pos("maskedPaths") < pos("readonlyPaths"));
    }

    #[test]
    fn rootless_variant() {
        let mut c = default_config();
        make_rootless(&mut c, 1000, 1001);
        let v = value(&c);
        assert_eq!(
            v["linux"]["uidMappings"],
            json!([{"containerID": 0, "hostID": 1000, "size": 1}])
        );
        assert_eq!(
            v["linux"]["gidMappings"],
            json!([{"containerID": 0, "hostID": 1001, "size": 1}])
        );
        assert!(v["linux"].get("resources").is_none());
        let ns = namespace_types(&v);
        assert_eq!(ns, ["pid", "ipc", "uts", "mount", "user"]);
        assert_eq!(
            v["mounts"][5],
            json!({"destination": "/sys", "type": "none", "source": "/sys",
                   "options": ["rbind", "nosuid", "noexec", "nodev", "ro"]})
        );
        assert_eq!(
            v["mounts"][2]["options"],
            json!([
                "nosuid",
                "noexec",
                "newinstance",
                "ptmxmode=0666",
                "mode=0620"
            ])
        );
        // Mappings come first in linux, as in runc's file.
        let text = String::from_utf8(render(&c).unwrap()).unwrap();
        assert!(text.find("uidMappings").unwrap() < text.find("namespaces").unwrap());
    }

    #[test]
    fn write_refuses_existing_file() {
        let d = tempdir("exists");
        write_config(&d, false).unwrap();
        let first = std::fs::read(d.join(CONFIG)).unwrap();
        assert_eq!(first, render(&default_config()).unwrap());
        let err = write_config(&d, true).unwrap_err();
        assert_eq!(
            format!("{err:#}"),
            "File config.json exists. Remove it first"
        );
        assert_eq!(std::fs::read(d.join(CONFIG)).unwrap(), first);
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn go_bool_spellings() {
        assert_eq!(parse_go_bool("true"), Some(true));
        assert_eq!(parse_go_bool("T"), Some(true));
        assert_eq!(parse_go_bool("0"), Some(false));
        assert_eq!(parse_go_bool("False"), Some(false));
        assert_eq!(parse_go_bool("yes"), None);
    }

    #[test]
    fn errno_text_is_go_style() {
        let e = std::io::Error::from_raw_os_error(libc::ENOENT);
        assert_eq!(errno_text(&e), "no such file or directory");
        let e = std::io::Error::from_raw_os_error(libc::ENOTDIR);
        assert_eq!(errno_text(&e), "not a directory");
    }
}
