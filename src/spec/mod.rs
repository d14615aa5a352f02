//! Load a bundle's config.json and turn it into a `Plan`: plain data the init applies.
//!
//! Everything here is pure (no syscalls beyond reading files), so unit tests cover
//! the validation rules without root. Errors name the config key they are about.

pub mod mount_opts;

use anyhow::{anyhow, bail, Context, Result};
use mount_opts::MountOptions;
use nix::sched::CloneFlags;
use oci_spec::runtime::{LinuxDeviceType, LinuxNamespaceType, Spec};
use std::collections::HashMap;
use std::path::{Component, Path, PathBuf};

/// A namespace the container joins through a path (`linux.namespaces[].path`).
#[derive(Debug, Clone)]
pub struct JoinNs {
    pub flag: CloneFlags,
    pub path: PathBuf,
}

/// CLONE_NEWTIME, which nix's CloneFlags does not name.
pub const CLONE_NEWTIME: CloneFlags = CloneFlags::from_bits_retain(libc::CLONE_NEWTIME);

#[derive(Debug, Clone)]
pub struct NamespacePlan {
    /// Namespaces to create.
    pub new: CloneFlags,
    /// Namespaces to join, in config order; the user namespace is always first.
    pub join: Vec<JoinNs>,
}

impl Default for NamespacePlan {
    fn default() -> Self {
        NamespacePlan {
            new: CloneFlags::empty(),
            join: Vec::new(),
        }
    }
}

impl NamespacePlan {
    pub fn creates(&self, f: CloneFlags) -> bool {
        self.new.contains(f)
    }
    pub fn joins(&self, f: CloneFlags) -> Option<&JoinNs> {
        self.join.iter().find(|j| j.flag == f)
    }
    /// Whether the container has a mount namespace of its own (new or joined).
    pub fn has(&self, f: CloneFlags) -> bool {
        self.creates(f) || self.joins(f).is_some()
    }
}

#[derive(Debug, Clone)]
pub struct MountPlan {
    /// Position in `mounts[]`, for error messages.
    pub index: usize,
    pub source: Option<PathBuf>,
    /// Absolute, lexically cleaned path inside the container.
    pub destination: PathBuf,
    pub fstype: String,
    pub opts: MountOptions,
}

impl MountPlan {
    pub fn is_bind(&self) -> bool {
        self.opts.bind || self.fstype == "bind"
    }
    pub fn key(&self) -> String {
        format!("mounts[{}]", self.index)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DevicePlan {
    pub path: PathBuf,
    /// S_IFCHR, S_IFBLK or S_IFIFO.
    pub kind: u32,
    pub major: u64,
    pub minor: u64,
    pub perms: u32,
    pub uid: u32,
    pub gid: u32,
}

#[derive(Debug, Clone, Default)]
pub struct ProcessPlan {
    pub args: Vec<String>,
    pub env: Vec<String>,
    pub cwd: PathBuf,
    pub uid: u32,
    pub gid: u32,
    pub additional_gids: Vec<u32>,
    pub umask: Option<u32>,
    pub rlimits: Vec<Rlimit>,
    pub caps: crate::linux::capabilities::CapsPlan,
    /// noNewPrivileges, oomScoreAdj, LSM labels, scheduling, linux.personality.
    pub attrs: crate::linux::process_attrs::AttrsPlan,
    /// `process.terminal`: the init makes a pty its stdio and hands the master out.
    pub terminal: bool,
    /// `process.consoleSize` as (rows, columns); None when absent or either is 0, which
    /// leaves the kernel's default, as runc does.
    pub console_size: Option<(u16, u16)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rlimit {
    pub resource: nix::sys::resource::Resource,
    pub name: &'static str,
    pub soft: u64,
    pub hard: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IdMap {
    pub container: u32,
    pub host: u32,
    pub size: u32,
}

/// Everything `create` needs, resolved and checked.
#[derive(Debug, Clone)]
pub struct Plan {
    pub bundle: PathBuf,
    pub rootfs: PathBuf,
    pub readonly_root: bool,
    pub namespaces: NamespacePlan,
    pub uid_map: Vec<IdMap>,
    pub gid_map: Vec<IdMap>,
    /// (clock name, seconds, nanoseconds) for /proc/self/timens_offsets.
    pub time_offsets: Vec<(String, i64, u32)>,
    pub mounts: Vec<MountPlan>,
    /// Propagation applied to "/" in the new mount namespace (MS_* flags incl. MS_REC).
    pub root_propagation: u64,
    pub devices: Vec<DevicePlan>,
    pub masked_paths: Vec<String>,
    pub readonly_paths: Vec<String>,
    pub hostname: Option<String>,
    pub domainname: Option<String>,
    pub sysctl: Vec<(String, String)>,
    pub process: ProcessPlan,
    /// `linux.seccomp`, compiled here in the parent; the init installs it.
    pub seccomp: Option<crate::seccomp::SeccompPlan>,
    pub annotations: HashMap<String, String>,
    pub hooks: oci_spec::runtime::Hooks,
    /// `linux.cgroupsPath`, checked when the cgroup is placed.
    pub cgroups_path: Option<PathBuf>,
    /// `linux.resources`, turned into cgroup writes by `cgroups::prepare`.
    pub resources: Option<oci_spec::runtime::LinuxResources>,
}

/// Read and parse `<bundle>/config.json`.
pub fn load_spec(bundle: &Path) -> Result<Spec> {
    let path = bundle.join("config.json");
    let data = std::fs::read(&path).with_context(|| format!("cannot read {}", path.display()))?;
    let raw: serde_json::Value =
        serde_json::from_slice(&data).map_err(|e| anyhow!("invalid {}: {e}", path.display()))?;
    spec_from_value(raw, &path)
}

/// Check and parse an untyped config (`exec` edits its `process` first); `path` is
/// what errors name.
pub fn spec_from_value(mut raw: serde_json::Value, path: &Path) -> Result<Spec> {
    // A first, untyped pass for what oci-spec parses too loosely or wrongly.
    crate::linux::capabilities::check_names(&raw)?;
    crate::linux::process_attrs::fix_raw(&mut raw)?;
    crate::seccomp::check_raw(&raw)?;
    serde_path_to_error::deserialize(raw).map_err(|e| {
        let at = e.path().to_string();
        if at == "." {
            anyhow!("invalid {}: {}", path.display(), e.inner())
        } else {
            anyhow!("invalid {}: {at}: {}", path.display(), e.inner())
        }
    })
}

/// Load the bundle at `dir` and validate it into a plan.
pub fn load(dir: &Path) -> Result<Plan> {
    let bundle = std::fs::canonicalize(dir).with_context(|| format!("bundle {}", dir.display()))?;
    let spec = load_spec(&bundle)?;
    let plan = plan(&bundle, spec)?;
    // Debug, not warning: runc's own default config triggers these, and runc is quiet
    // about them; stderr belongs to the container's output.
    for w in &plan.process.caps.warnings {
        crate::logging::debug(w);
    }
    Ok(plan)
}

/// The pure part of `load`: turn a parsed spec into a plan.
pub fn plan(bundle: &Path, spec: Spec) -> Result<Plan> {
    check_version(spec.version())?;
    let root = spec
        .root()
        .as_ref()
        .ok_or_else(|| anyhow!("root: missing in config.json"))?;
    let rootfs = if root.path().is_absolute() {
        root.path().clone()
    } else {
        bundle.join(root.path())
    };
    match std::fs::metadata(&rootfs) {
        Ok(m) if m.is_dir() => {}
        Ok(_) => bail!("root.path: {} is not a directory", rootfs.display()),
        Err(e) => bail!(
            "root.path: {}: {}",
            rootfs.display(),
            crate::errors::describe_io(&e)
        ),
    }
    let rootfs = std::fs::canonicalize(&rootfs)
        .with_context(|| format!("root.path: {}", rootfs.display()))?;
    let linux = spec.linux().clone().unwrap_or_default();
    let namespaces = namespace_plan(linux.namespaces().as_deref().unwrap_or(&[]))?;
    let process = process_plan(&spec, &namespaces)?;

    let uid_map = id_maps(linux.uid_mappings().as_deref());
    let gid_map = id_maps(linux.gid_mappings().as_deref());
    if namespaces.creates(CloneFlags::CLONE_NEWUSER) && (uid_map.is_empty() || gid_map.is_empty()) {
        bail!("linux.uidMappings/gidMappings: a new user namespace needs both mappings");
    }
    let has_maps = !uid_map.is_empty() || !gid_map.is_empty();
    if has_maps && !namespaces.creates(CloneFlags::CLONE_NEWUSER) {
        bail!("linux.uidMappings: mappings need a new user namespace in linux.namespaces");
    }

    let mut time_offsets = Vec::new();
    if let Some(offsets) = linux.time_offsets() {
        if !namespaces.creates(CLONE_NEWTIME) {
            bail!("linux.timeOffsets: offsets need a new time namespace in linux.namespaces");
        }
        for (clock, off) in offsets {
            if clock != "monotonic" && clock != "boottime" {
                bail!("linux.timeOffsets: unknown clock {clock:?} (monotonic or boottime)");
            }
            time_offsets.push((
                clock.clone(),
                off.secs().unwrap_or(0),
                off.nanosecs().unwrap_or(0),
            ));
        }
        time_offsets.sort();
    }

    if !namespaces.has(CloneFlags::CLONE_NEWNS) {
        bail!("linux.namespaces: berth needs a mount namespace (type \"mount\")");
    }
    if namespaces.joins(CloneFlags::CLONE_NEWNS).is_some() {
        bail!("linux.namespaces: joining an existing mount namespace is not supported");
    }
    let hostname = spec.hostname().clone().filter(|h| !h.is_empty());
    let domainname = spec.domainname().clone().filter(|h| !h.is_empty());
    if (hostname.is_some() || domainname.is_some()) && !namespaces.creates(CloneFlags::CLONE_NEWUTS)
    {
        bail!("hostname: setting the hostname or domainname needs a new uts namespace");
    }

    let mut sysctl: Vec<(String, String)> = linux
        .sysctl()
        .clone()
        .unwrap_or_default()
        .into_iter()
        .collect();
    sysctl.sort();
    for (key, _) in &sysctl {
        check_sysctl(key, &namespaces)?;
    }

    let mounts = spec
        .mounts()
        .as_deref()
        .unwrap_or(&[])
        .iter()
        .enumerate()
        .map(|(i, m)| mount_plan(bundle, i, m))
        .collect::<Result<Vec<_>>>()?;

    let root_propagation = match linux.rootfs_propagation().as_deref() {
        None | Some("") => libc::MS_SLAVE | libc::MS_REC,
        Some(p) => {
            let flag = mount_opts::propagation_flag(p)
                .ok_or_else(|| anyhow!("linux.rootfsPropagation: unknown propagation {p:?}"))?;
            flag as libc::c_ulong
        }
    } as u64;

    let devices = device_plan(linux.devices().as_deref().unwrap_or(&[]))?;

    Ok(Plan {
        bundle: bundle.to_path_buf(),
        rootfs,
        readonly_root: root.readonly().unwrap_or(false),
        namespaces,
        uid_map,
        gid_map,
        time_offsets,
        mounts,
        root_propagation,
        devices,
        masked_paths: linux.masked_paths().clone().unwrap_or_default(),
        readonly_paths: linux.readonly_paths().clone().unwrap_or_default(),
        hostname,
        domainname,
        sysctl,
        process,
        seccomp: linux
            .seccomp()
            .as_ref()
            .map(crate::seccomp::plan)
            .transpose()?,
        annotations: spec.annotations().clone().unwrap_or_default(),
        hooks: spec.hooks().clone().unwrap_or_default(),
        cgroups_path: linux.cgroups_path().clone(),
        resources: linux.resources().clone(),
    })
}

fn check_version(v: &str) -> Result<()> {
    let major = v.split('.').next().unwrap_or("");
    if major != "1" {
        bail!("ociVersion: unsupported version {v:?} (berth implements runtime-spec 1.x)");
    }
    Ok(())
}

pub fn ns_flag(t: LinuxNamespaceType) -> CloneFlags {
    match t {
        LinuxNamespaceType::Mount => CloneFlags::CLONE_NEWNS,
        LinuxNamespaceType::Cgroup => CloneFlags::CLONE_NEWCGROUP,
        LinuxNamespaceType::Uts => CloneFlags::CLONE_NEWUTS,
        LinuxNamespaceType::Ipc => CloneFlags::CLONE_NEWIPC,
        LinuxNamespaceType::User => CloneFlags::CLONE_NEWUSER,
        LinuxNamespaceType::Pid => CloneFlags::CLONE_NEWPID,
        LinuxNamespaceType::Network => CloneFlags::CLONE_NEWNET,
        LinuxNamespaceType::Time => CLONE_NEWTIME,
    }
}

pub fn ns_name(f: CloneFlags) -> &'static str {
    match f {
        CloneFlags::CLONE_NEWNS => "mnt",
        CloneFlags::CLONE_NEWCGROUP => "cgroup",
        CloneFlags::CLONE_NEWUTS => "uts",
        CloneFlags::CLONE_NEWIPC => "ipc",
        CloneFlags::CLONE_NEWUSER => "user",
        CloneFlags::CLONE_NEWPID => "pid",
        CloneFlags::CLONE_NEWNET => "net",
        _ => "time",
    }
}

pub fn namespace_plan(list: &[oci_spec::runtime::LinuxNamespace]) -> Result<NamespacePlan> {
    let mut plan = NamespacePlan::default();
    let mut seen = CloneFlags::empty();
    for (i, ns) in list.iter().enumerate() {
        let flag = ns_flag(ns.typ());
        if seen.contains(flag) {
            bail!(
                "linux.namespaces[{i}]: namespace type {:?} listed twice",
                ns_name(flag)
            );
        }
        seen |= flag;
        match ns.path() {
            Some(p) if !p.as_os_str().is_empty() => {
                if !p.is_absolute() {
                    bail!(
                        "linux.namespaces[{i}].path: {} is not an absolute path",
                        p.display()
                    );
                }
                plan.join.push(JoinNs {
                    flag,
                    path: p.clone(),
                })
            }
            _ => plan.new |= flag,
        }
    }
    // The user namespace decides who owns everything joined after it.
    plan.join
        .sort_by_key(|j| j.flag != CloneFlags::CLONE_NEWUSER);
    Ok(plan)
}

fn id_maps(list: Option<&[oci_spec::runtime::LinuxIdMapping]>) -> Vec<IdMap> {
    list.unwrap_or(&[])
        .iter()
        .map(|m| IdMap {
            container: m.container_id(),
            host: m.host_id(),
            size: m.size(),
        })
        .collect()
}

pub fn process_plan(spec: &Spec, ns: &NamespacePlan) -> Result<ProcessPlan> {
    let Some(p) = spec.process() else {
        return Ok(ProcessPlan::default());
    };
    let args = p.args().clone().unwrap_or_default();
    if args.is_empty() || args[0].is_empty() {
        bail!("process.args: must name the program to run");
    }
    let cwd = p.cwd().clone();
    if !cwd.is_absolute() {
        bail!(
            "process.cwd: {:?} is not an absolute path",
            cwd.display().to_string()
        );
    }
    let env = p.env().clone().unwrap_or_default();
    for (i, e) in env.iter().enumerate() {
        if !e.contains('=') || e.starts_with('=') {
            bail!("process.env[{i}]: {e:?} is not NAME=value");
        }
    }
    let console_size = match p.console_size() {
        Some(b) if b.height() != 0 && b.width() != 0 => {
            let dim = |name: &str, v: u64| {
                u16::try_from(v)
                    .map_err(|_| anyhow!("process.consoleSize.{name}: {v} is above {}", u16::MAX))
            };
            Some((dim("height", b.height())?, dim("width", b.width())?))
        }
        _ => None,
    };
    let user = p.user();
    Ok(ProcessPlan {
        args,
        env,
        cwd,
        uid: user.uid(),
        gid: user.gid(),
        additional_gids: user.additional_gids().clone().unwrap_or_default(),
        umask: user.umask(),
        rlimits: rlimits(p.rlimits().as_deref().unwrap_or(&[]))?,
        caps: crate::linux::capabilities::plan(
            p.capabilities().as_ref(),
            &crate::linux::capabilities::Host::probe(ns.has(CloneFlags::CLONE_NEWUSER))?,
        )?,
        attrs: crate::linux::process_attrs::plan(
            p,
            spec.linux().as_ref().and_then(|l| l.personality().as_ref()),
            &crate::linux::process_attrs::Host::probe(),
        )?,
        terminal: p.terminal().unwrap_or(false),
        console_size,
    })
}

fn rlimits(list: &[oci_spec::runtime::PosixRlimit]) -> Result<Vec<Rlimit>> {
    use nix::sys::resource::Resource as R;
    use oci_spec::runtime::PosixRlimitType as T;
    let mut out: Vec<Rlimit> = Vec::new();
    for (i, r) in list.iter().enumerate() {
        let (resource, name) = match r.typ() {
            T::RlimitCpu => (R::RLIMIT_CPU, "RLIMIT_CPU"),
            T::RlimitFsize => (R::RLIMIT_FSIZE, "RLIMIT_FSIZE"),
            T::RlimitData => (R::RLIMIT_DATA, "RLIMIT_DATA"),
            T::RlimitStack => (R::RLIMIT_STACK, "RLIMIT_STACK"),
            T::RlimitCore => (R::RLIMIT_CORE, "RLIMIT_CORE"),
            T::RlimitRss => (R::RLIMIT_RSS, "RLIMIT_RSS"),
            T::RlimitNproc => (R::RLIMIT_NPROC, "RLIMIT_NPROC"),
            T::RlimitNofile => (R::RLIMIT_NOFILE, "RLIMIT_NOFILE"),
            T::RlimitMemlock => (R::RLIMIT_MEMLOCK, "RLIMIT_MEMLOCK"),
            T::RlimitAs => (R::RLIMIT_AS, "RLIMIT_AS"),
            T::RlimitLocks => (R::RLIMIT_LOCKS, "RLIMIT_LOCKS"),
            T::RlimitSigpending => (R::RLIMIT_SIGPENDING, "RLIMIT_SIGPENDING"),
            T::RlimitMsgqueue => (R::RLIMIT_MSGQUEUE, "RLIMIT_MSGQUEUE"),
            T::RlimitNice => (R::RLIMIT_NICE, "RLIMIT_NICE"),
            T::RlimitRtprio => (R::RLIMIT_RTPRIO, "RLIMIT_RTPRIO"),
            T::RlimitRttime => (R::RLIMIT_RTTIME, "RLIMIT_RTTIME"),
        };
        if r.soft() > r.hard() {
            bail!(
                "process.rlimits[{i}]: {name} soft limit {} is above the hard limit {}",
                r.soft(),
                r.hard()
            );
        }
        if out.iter().any(|o| o.resource == resource) {
            bail!("process.rlimits[{i}]: {name} listed twice");
        }
        out.push(Rlimit {
            resource,
            name,
            soft: r.soft(),
            hard: r.hard(),
        });
    }
    Ok(out)
}

/// Which namespace a sysctl key belongs to; runc refuses keys whose namespace
/// the container shares with the host, because writing them would change the host.
fn check_sysctl(key: &str, ns: &NamespacePlan) -> Result<()> {
    let ipc_keys = [
        "kernel.msgmax",
        "kernel.msgmnb",
        "kernel.msgmni",
        "kernel.sem",
        "kernel.shmall",
        "kernel.shmmax",
        "kernel.shmmni",
        "kernel.shm_rmid_forced",
    ];
    let need = if ipc_keys.contains(&key) || key.starts_with("fs.mqueue.") {
        CloneFlags::CLONE_NEWIPC
    } else if key.starts_with("net.") {
        CloneFlags::CLONE_NEWNET
    } else if key == "kernel.hostname" || key == "kernel.domainname" {
        CloneFlags::CLONE_NEWUTS
    } else {
        bail!("linux.sysctl: {key:?} is not namespaced and would change the host");
    };
    if !ns.has(need) {
        bail!(
            "linux.sysctl: {key:?} needs the container's own {} namespace",
            ns_name(need)
        );
    }
    if key.contains("..") || key.contains('/') && key.split('/').any(|c| c == "..") {
        bail!("linux.sysctl: invalid key {key:?}");
    }
    Ok(())
}

/// Lexically clean an absolute container path: no "..", no ".", no empty parts.
/// ".." at the root stays at the root, as it would inside the container.
pub fn clean_container_path(p: &Path) -> PathBuf {
    let mut out = PathBuf::from("/");
    for c in p.components() {
        match c {
            Component::Normal(s) => out.push(s),
            Component::ParentDir => {
                out.pop();
            }
            _ => {}
        }
    }
    out
}

fn mount_plan(bundle: &Path, index: usize, m: &oci_spec::runtime::Mount) -> Result<MountPlan> {
    let key = format!("mounts[{index}]");
    let options = m.options().clone().unwrap_or_default();
    let opts = mount_opts::parse(&options);
    if opts.idmap {
        bail!("{key}.options: idmapped mounts are not supported yet");
    }
    let fstype = m.typ().clone().unwrap_or_default();
    let bind = opts.bind || fstype == "bind";
    if fstype.is_empty() && !bind {
        bail!("{key}.type: missing (and the options have no bind)");
    }
    let dest = m.destination();
    if dest.as_os_str().is_empty() {
        bail!("{key}.destination: missing");
    }
    let source = match m.source() {
        Some(s) if bind && !s.is_absolute() => Some(bundle.join(s)),
        Some(s) => Some(s.clone()),
        None if bind => bail!("{key}.source: a bind mount needs a source"),
        None => None,
    };
    if bind {
        let src = source.as_ref().expect("checked above");
        if let Err(e) = std::fs::metadata(src) {
            bail!(
                "{key}.source: {}: {}",
                src.display(),
                crate::errors::describe_io(&e)
            );
        }
    }
    Ok(MountPlan {
        index,
        source,
        destination: clean_container_path(dest),
        fstype,
        opts,
    })
}

/// The devices every container gets (runc's list), unless the config lists them.
fn default_devices() -> Vec<DevicePlan> {
    let c = |path: &str, major, minor| DevicePlan {
        path: PathBuf::from(path),
        kind: libc::S_IFCHR,
        major,
        minor,
        perms: 0o666,
        uid: 0,
        gid: 0,
    };
    vec![
        c("/dev/null", 1, 3),
        c("/dev/zero", 1, 5),
        c("/dev/full", 1, 7),
        c("/dev/random", 1, 8),
        c("/dev/urandom", 1, 9),
        c("/dev/tty", 5, 0),
    ]
}

fn device_plan(list: &[oci_spec::runtime::LinuxDevice]) -> Result<Vec<DevicePlan>> {
    let mut out = Vec::new();
    for (i, d) in list.iter().enumerate() {
        let key = format!("linux.devices[{i}]");
        let kind = match d.typ() {
            LinuxDeviceType::C | LinuxDeviceType::U => libc::S_IFCHR,
            LinuxDeviceType::B => libc::S_IFBLK,
            LinuxDeviceType::P => libc::S_IFIFO,
            LinuxDeviceType::A => bail!("{key}.type: \"a\" is only valid in device cgroup rules"),
        };
        let path = clean_container_path(d.path());
        if !path.starts_with("/dev") || path == Path::new("/dev") {
            bail!("{key}.path: {} is not below /dev", d.path().display());
        }
        if d.major() < 0 || d.minor() < 0 {
            bail!("{key}: negative major/minor number");
        }
        out.push(DevicePlan {
            path,
            kind,
            major: d.major() as u64,
            minor: d.minor() as u64,
            perms: d.file_mode().unwrap_or(0o666) & 0o7777,
            uid: d.uid().unwrap_or(0),
            gid: d.gid().unwrap_or(0),
        });
    }
    for d in default_devices() {
        if !out.iter().any(|o| o.path == d.path) {
            out.push(d);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(json: &str) -> Spec {
        serde_json::from_str(json).unwrap()
    }

    fn base(extra_linux: &str, extra: &str) -> String {
        format!(
            r#"{{"ociVersion":"1.0.2","root":{{"path":"/"}},
              "process":{{"args":["sh"],"cwd":"/","user":{{"uid":0,"gid":0}}}},
              {extra}
              "linux":{{"namespaces":[{{"type":"mount"}},{{"type":"pid"}},{{"type":"uts"}},{{"type":"network"}}]{extra_linux}}}}}"#
        )
    }

    #[test]
    fn plans_a_plain_config() {
        let p = plan(Path::new("/tmp"), spec(&base("", r#""hostname":"h","#))).unwrap();
        assert!(p.namespaces.creates(CloneFlags::CLONE_NEWPID));
        assert!(!p.namespaces.creates(CloneFlags::CLONE_NEWIPC));
        assert_eq!(p.hostname.as_deref(), Some("h"));
        assert_eq!(p.root_propagation, (libc::MS_SLAVE | libc::MS_REC) as u64);
        assert_eq!(p.devices.len(), 6);
    }

    #[test]
    fn rejects_bad_version() {
        let s = base("", "").replace("1.0.2", "2.0.0");
        let e = plan(Path::new("/tmp"), spec(&s)).unwrap_err().to_string();
        assert!(e.contains("ociVersion"), "{e}");
    }

    #[test]
    fn rejects_missing_rootfs() {
        let s = base("", "").replace(r#""path":"/""#, r#""path":"/nonexistent-rootfs""#);
        let e = plan(Path::new("/tmp"), spec(&s)).unwrap_err().to_string();
        assert!(
            e.contains("root.path") && e.contains("/nonexistent-rootfs"),
            "{e}"
        );
    }

    #[test]
    fn rejects_hostname_without_uts() {
        let s = base("", r#""hostname":"h","#).replace(r#",{"type":"uts"}"#, "");
        let e = plan(Path::new("/tmp"), spec(&s)).unwrap_err().to_string();
        assert!(e.contains("hostname"), "{e}");
    }

    #[test]
    fn sysctl_needs_its_namespace() {
        let ok = base(r#","sysctl":{"net.ipv4.ip_forward":"1"}"#, "");
        assert!(plan(Path::new("/tmp"), spec(&ok)).is_ok());
        let bad = base(r#","sysctl":{"kernel.shmmax":"1"}"#, "");
        let e = plan(Path::new("/tmp"), spec(&bad)).unwrap_err().to_string();
        assert!(e.contains("linux.sysctl") && e.contains("ipc"), "{e}");
        let host = base(r#","sysctl":{"vm.swappiness":"1"}"#, "");
        assert!(plan(Path::new("/tmp"), spec(&host)).is_err());
    }

    #[test]
    fn joined_user_namespace_comes_first() {
        let s = base("", "").replace(
            r#"{"type":"network"}"#,
            r#"{"type":"network","path":"/proc/1/ns/net"},{"type":"user","path":"/proc/1/ns/user"}"#,
        );
        let p = plan(Path::new("/tmp"), spec(&s)).unwrap();
        assert_eq!(p.namespaces.join[0].flag, CloneFlags::CLONE_NEWUSER);
        assert_eq!(p.namespaces.join[1].flag, CloneFlags::CLONE_NEWNET);
    }

    #[test]
    fn duplicate_namespace_is_an_error() {
        let s = base("", "").replace(r#"{"type":"uts"}"#, r#"{"type":"uts"},{"type":"uts"}"#);
        let e = plan(Path::new("/tmp"), spec(&s)).unwrap_err().to_string();
        assert!(e.contains("linux.namespaces[3]"), "{e}");
    }

    #[test]
    fn mount_needs_type_or_bind() {
        let s = base("", r#""mounts":[{"destination":"/x"}],"#);
        let e = plan(Path::new("/tmp"), spec(&s)).unwrap_err().to_string();
        assert!(e.contains("mounts[0].type"), "{e}");
    }

    #[test]
    fn relative_bind_source_is_bundle_relative() {
        let s = base(
            "",
            r#""mounts":[{"destination":"/x/../y","type":"bind","source":".","options":["rbind"]}],"#,
        );
        let p = plan(Path::new("/tmp"), spec(&s)).unwrap();
        assert_eq!(p.mounts[0].source.as_deref(), Some(Path::new("/tmp/.")));
        assert_eq!(p.mounts[0].destination, PathBuf::from("/y"));
    }

    #[test]
    fn cleans_paths_without_escaping() {
        assert_eq!(
            clean_container_path(Path::new("/../../etc/./x")),
            PathBuf::from("/etc/x")
        );
        assert_eq!(
            clean_container_path(Path::new("a/b/../c")),
            PathBuf::from("/a/c")
        );
    }

    #[test]
    fn config_devices_override_defaults() {
        let s = base(
            r#","devices":[{"path":"/dev/null","type":"c","major":1,"minor":3,"fileMode":438}]"#,
            "",
        );
        let p = plan(Path::new("/tmp"), spec(&s)).unwrap();
        assert_eq!(p.devices.len(), 6);
        let s = base(
            r#","devices":[{"path":"/etc/x","type":"c","major":1,"minor":3}]"#,
            "",
        );
        assert!(plan(Path::new("/tmp"), spec(&s)).is_err());
    }

    #[test]
    fn bad_json_names_the_key() {
        let dir = std::env::temp_dir().join(format!("berth-bundle-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join("config.json"),
            r#"{"ociVersion":"1.0.0","linux":{"namespaces":[{"type":"bogus"}]}}"#,
        )
        .unwrap();
        let e = load_spec(&dir).unwrap_err().to_string();
        std::fs::remove_dir_all(&dir).unwrap();
        assert!(e.contains("linux.namespaces[0].type"), "{e}");
    }
}
