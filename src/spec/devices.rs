//! `linux.devices`: the device nodes to make under /dev, with runc's defaults added.

use super::mounts::clean_container_path;
use anyhow::{bail, Result};
use oci_spec::runtime::{LinuxDevice, LinuxDeviceType};
use std::path::PathBuf;

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

fn device(key: &str, d: &LinuxDevice) -> Result<DevicePlan> {
    let kind = match d.typ() {
        LinuxDeviceType::C | LinuxDeviceType::U => libc::S_IFCHR,
        LinuxDeviceType::B => libc::S_IFBLK,
        LinuxDeviceType::P => libc::S_IFIFO,
        LinuxDeviceType::A => bail!("{key}.type: \"a\" is only valid in device cgroup rules"),
    };
    // Anywhere in the container, as with runc: the node is made through a handle
    // resolved inside the rootfs, like every other path of the config.
    let path = clean_container_path(d.path());
    if path.parent().is_none() {
        bail!(
            "{key}.path: {:?} does not name a file",
            d.path().display().to_string()
        );
    }
    let (Ok(major), Ok(minor)) = (u64::try_from(d.major()), u64::try_from(d.minor())) else {
        bail!("{key}: negative major/minor number");
    };
    Ok(DevicePlan {
        path,
        kind,
        major,
        minor,
        perms: d.file_mode().unwrap_or(0o666) & 0o7777,
        uid: d.uid().unwrap_or(0),
        gid: d.gid().unwrap_or(0),
    })
}

/// The config's devices, then the defaults it does not list itself.
pub fn device_plan(list: &[LinuxDevice]) -> Result<Vec<DevicePlan>> {
    let mut out = Vec::new();
    for (i, d) in list.iter().enumerate() {
        out.push(device(&format!("linux.devices[{i}]"), d)?);
    }
    for d in default_devices() {
        if !out.iter().any(|o| o.path == d.path) {
            out.push(d);
        }
    }
    Ok(out)
}
