//! `berth features`: what this build supports, in the runtime-spec's features shape
//! (as `runc features` prints it), so engines can ask before they rely on something.

use crate::spec::mount_opts;
use crate::spec::namespaces::NAMESPACES;
use crate::spec::SPEC_VERSION;
use anyhow::Result;
use serde_json::json;

const HOOKS: [&str; 6] = [
    "prestart",
    "createRuntime",
    "createContainer",
    "startContainer",
    "poststart",
    "poststop",
];

/// The architectures a filter may list (libseccomp knows them all, whatever the host).
const SECCOMP_ARCHES: [&str; 16] = [
    "SCMP_ARCH_AARCH64",
    "SCMP_ARCH_ARM",
    "SCMP_ARCH_MIPS",
    "SCMP_ARCH_MIPS64",
    "SCMP_ARCH_MIPS64N32",
    "SCMP_ARCH_MIPSEL",
    "SCMP_ARCH_MIPSEL64",
    "SCMP_ARCH_MIPSEL64N32",
    "SCMP_ARCH_PPC",
    "SCMP_ARCH_PPC64",
    "SCMP_ARCH_PPC64LE",
    "SCMP_ARCH_S390",
    "SCMP_ARCH_S390X",
    "SCMP_ARCH_X32",
    "SCMP_ARCH_X86",
    "SCMP_ARCH_X86_64",
];

fn capabilities() -> Vec<String> {
    let mut all: Vec<caps::Capability> = caps::all().into_iter().collect();
    all.sort_by_key(|c| c.index());
    all.iter().map(|c| c.to_string()).collect()
}

/// Every namespace type config.json may name, sorted as runc prints them.
fn namespace_names() -> Vec<&'static str> {
    let mut v: Vec<&str> = NAMESPACES.iter().map(|n| n.oci_name).collect();
    v.sort_unstable();
    v
}

pub fn features_json() -> serde_json::Value {
    let libseccomp = libseccomp::ScmpVersion::current()
        .map(|v| format!("{}.{}.{}", v.major, v.minor, v.micro))
        .unwrap_or_default();
    let mut options: Vec<&str> = mount_opts::KNOWN_OPTIONS.to_vec();
    options.sort_unstable();
    json!({
        "ociVersionMin": "1.0.0",
        "ociVersionMax": SPEC_VERSION,
        "hooks": HOOKS,
        "mountOptions": options,
        "linux": {
            "namespaces": namespace_names(),
            "capabilities": capabilities(),
            "cgroup": {"v1": true, "v2": true, "systemd": true, "systemdUser": false},
            "seccomp": {
                "enabled": true,
                "actions": crate::spec::seccomp::ACTIONS,
                "operators": crate::spec::seccomp::OPERATORS,
                "archs": SECCOMP_ARCHES,
            },
            "apparmor": {"enabled": std::path::Path::new("/sys/kernel/security/apparmor").exists()},
            "selinux": {"enabled": std::path::Path::new("/sys/fs/selinux/enforce").exists()},
            "intelRdt": {"enabled": false},
            "mountExtensions": {"idmap": {"enabled": true}},
        },
        "annotations": {
            "io.github.seccomp.libseccomp.version": libseccomp,
            "org.opencontainers.berth.version": env!("CARGO_PKG_VERSION"),
        },
    })
}

pub fn run() -> Result<()> {
    println!("{}", serde_json::to_string_pretty(&features_json())?);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_what_berth_does() {
        let v = features_json();
        assert_eq!(v["hooks"].as_array().unwrap().len(), 6);
        let caps = v["linux"]["capabilities"].as_array().unwrap();
        assert_eq!(caps[0], "CAP_CHOWN");
        assert!(caps.iter().any(|c| c == "CAP_SYS_ADMIN"));
        let opts = v["mountOptions"].as_array().unwrap();
        assert!(opts.iter().any(|o| o == "rro") && opts.iter().any(|o| o == "nosuid"));
    }
}
