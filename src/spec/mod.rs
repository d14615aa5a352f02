//! Load a bundle's config.json and turn it into a `Plan`: plain data the init applies.
//!
//! Everything here is pure (no syscalls beyond reading files), so unit tests cover
//! the validation rules without root. Errors name the config key they are about.
//! `plan` walks the config a section at a time, each in a file of its own:
//! `namespaces`, `idmaps`, `process` (with `caps` and `attrs`), `sysctl`, `mounts`
//! (with `mount_opts`), `devices` and `seccomp` (compiled here, in the parent).

pub mod attrs;
pub mod caps;
pub mod devices;
pub mod idmaps;
pub mod keypath;
mod load;
pub mod mount_idmap;
pub mod mount_opts;
pub mod mounts;
pub mod namespaces;
pub mod process;
pub mod seccomp;
pub mod sysctl;

pub use devices::DevicePlan;
pub use idmaps::IdMap;
pub use load::{load, load_spec, spec_from_value};
pub use mounts::{clean_container_path, MountPlan};
pub use namespaces::{
    namespace_plan, ns_flag, ns_name, JoinNs, NamespacePlan, CLONE_NEWTIME, NAMESPACES,
};
pub use process::{process_plan, ProcessPlan, Rlimit};

use anyhow::{anyhow, bail, Context, Result};
use nix::mount::MsFlags;
use nix::sched::CloneFlags;
use oci_spec::runtime::{Root, Spec};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// The runtime-spec version berth implements; reported in `state` and `--version`.
pub const SPEC_VERSION: &str = "1.2.1";

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
    /// Propagation applied to "/" in the new mount namespace (incl. MS_REC).
    pub root_propagation: MsFlags,
    pub devices: Vec<DevicePlan>,
    pub masked_paths: Vec<String>,
    pub readonly_paths: Vec<String>,
    pub hostname: Option<String>,
    pub domainname: Option<String>,
    pub sysctl: Vec<(String, String)>,
    pub process: ProcessPlan,
    /// `linux.seccomp`, compiled here in the parent; the init installs it.
    pub seccomp: Option<seccomp::SeccompPlan>,
    pub annotations: HashMap<String, String>,
    pub hooks: oci_spec::runtime::Hooks,
    /// `linux.cgroupsPath`, checked when the cgroup is placed.
    pub cgroups_path: Option<PathBuf>,
    /// `linux.resources`, turned into cgroup writes by `cgroups::prepare`.
    pub resources: Option<oci_spec::runtime::LinuxResources>,
}

/// The pure part of `load`: turn a parsed spec into a plan.
pub fn plan(bundle: &Path, spec: Spec) -> Result<Plan> {
    check_version(spec.version())?;
    let root = spec
        .root()
        .as_ref()
        .ok_or_else(|| anyhow!("root: missing in config.json"))?;
    let rootfs = rootfs(bundle, root)?;
    let linux = spec.linux().clone().unwrap_or_default();
    let namespaces = namespace_plan(linux.namespaces().as_deref().unwrap_or(&[]))?;
    let process = process_plan(&spec, &namespaces)?;
    let (uid_map, gid_map) = idmaps::user_maps(&linux, &namespaces)?;
    let time_offsets = namespaces::time_offsets(&linux, &namespaces)?;
    namespaces::check_mount_namespace(&namespaces, &linux, &spec)?;
    let (hostname, domainname) = uts_names(&spec, &namespaces)?;
    let sysctl = sysctl::sysctl_plan(linux.sysctl().as_ref(), &namespaces)?;
    let userns = namespaces.has(nix::sched::CloneFlags::CLONE_NEWUSER);
    let mounts = mounts::mounts_plan(bundle, spec.mounts().as_deref(), userns)?;
    let root_propagation = mounts::root_propagation(linux.rootfs_propagation().as_deref())?;
    let devices = devices::device_plan(linux.devices().as_deref().unwrap_or(&[]))?;
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
        seccomp: linux.seccomp().as_ref().map(seccomp::plan).transpose()?,
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

/// `root.path`, made absolute (relative to the bundle) and resolved; it must be a
/// directory.
fn rootfs(bundle: &Path, root: &Root) -> Result<PathBuf> {
    // Joined to the bundle, an empty path would quietly make the bundle the rootfs.
    if root.path().as_os_str().is_empty() {
        bail!("root.path: must not be empty");
    }
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
    std::fs::canonicalize(&rootfs).with_context(|| format!("root.path: {}", rootfs.display()))
}

/// `hostname` and `domainname` (empty means unset); they need a uts namespace of the
/// container's own, new or joined by path (as runc, which then renames the joined one).
fn uts_names(spec: &Spec, ns: &NamespacePlan) -> Result<(Option<String>, Option<String>)> {
    let hostname = spec.hostname().clone().filter(|h| !h.is_empty());
    let domainname = spec.domainname().clone().filter(|h| !h.is_empty());
    // The kernel takes a length, not a C string: a NUL would become part of the name.
    for (key, name) in [("hostname", &hostname), ("domainname", &domainname)] {
        if name.as_ref().is_some_and(|n| n.contains('\0')) {
            bail!("{key}: must not contain a NUL byte");
        }
    }
    if (hostname.is_some() || domainname.is_some()) && !ns.has(CloneFlags::CLONE_NEWUTS) {
        bail!(
            "hostname: setting the hostname or domainname needs a uts namespace (linux.namespaces)"
        );
    }
    Ok((hostname, domainname))
}

#[cfg(test)]
mod proptests;
#[cfg(test)]
mod tests;
