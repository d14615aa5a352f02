//! Rootless mode (runc's `--rootless`): whether berth runs without root's powers over
//! the host — as an unprivileged user, or as root of a user namespace such as rootless
//! podman's — and where its state then lives.

use anyhow::{bail, Result};
use std::path::PathBuf;

/// Where state lives for root in the initial user namespace.
pub const SYSTEM_ROOT: &str = "/run/berth";

/// The identity map of the initial user namespace, as /proc/self/uid_map shows it.
fn is_initial_map(text: &str) -> bool {
    let fields: Vec<&str> = text.split_whitespace().collect();
    fields == ["0", "0", "4294967295"]
}

/// Whether berth runs in a user namespace other than the initial one.
pub fn in_user_namespace() -> bool {
    match crate::linux::procfs::read_small(std::path::Path::new("/proc/self/uid_map")) {
        Ok(text) => !is_initial_map(&text),
        // No user namespaces in this kernel: we are in the initial one.
        Err(_) => false,
    }
}

fn euid() -> u32 {
    nix::unistd::geteuid().as_raw()
}

/// runc's rule for `$XDG_RUNTIME_DIR`: honoured by a non-root user, and by root of a
/// user namespace unless `$USER` says root (root's own sessions keep /run).
fn honor_xdg_runtime_dir(euid: u32, in_userns: bool, user: Option<&str>) -> bool {
    if euid != 0 {
        return true;
    }
    in_userns && user != Some("root")
}

/// The state root when `--root` is not given: `$XDG_RUNTIME_DIR/berth` for a user
/// (runc uses `$XDG_RUNTIME_DIR/runc`), else /run/berth.
pub fn default_root() -> PathBuf {
    let xdg = std::env::var_os("XDG_RUNTIME_DIR").filter(|v| !v.is_empty());
    let user = std::env::var("USER").ok();
    match xdg {
        Some(dir) if honor_xdg_runtime_dir(euid(), in_user_namespace(), user.as_deref()) => {
            PathBuf::from(dir).join("berth")
        }
        _ => PathBuf::from(SYSTEM_ROOT),
    }
}

/// `--rootless true|false|auto` (runc's values; Go's boolean spellings too). None is auto.
pub fn parse_flag(value: Option<&str>) -> Result<Option<bool>> {
    let Some(v) = value else { return Ok(None) };
    match v.to_ascii_lowercase().as_str() {
        "" | "auto" => Ok(None),
        "1" | "t" | "true" => Ok(Some(true)),
        "0" | "f" | "false" => Ok(Some(false)),
        _ => bail!("invalid value {v:?} for --rootless: want true, false or auto"),
    }
}

/// Whether to run rootless: as the flag says, else when we are not root, or are root
/// of a user namespace (runc's detection for its cgroupfs driver).
pub fn decide(flag: Option<bool>) -> bool {
    flag.unwrap_or_else(|| euid() != 0 || in_user_namespace())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_initial_map_is_the_full_identity() {
        assert!(is_initial_map("         0          0 4294967295\n"));
        assert!(!is_initial_map("0 1000 1\n"));
        assert!(!is_initial_map("0 0 4294967295\n1 2 3\n"));
    }

    #[test]
    fn xdg_runtime_dir_as_runc_honours_it() {
        assert!(honor_xdg_runtime_dir(1000, false, Some("alice")));
        assert!(!honor_xdg_runtime_dir(0, false, None));
        assert!(honor_xdg_runtime_dir(0, true, Some("alice")));
        assert!(honor_xdg_runtime_dir(0, true, None));
        assert!(!honor_xdg_runtime_dir(0, true, Some("root")));
    }

    #[test]
    fn flag_values() {
        assert_eq!(parse_flag(None).unwrap(), None);
        assert_eq!(parse_flag(Some("auto")).unwrap(), None);
        assert_eq!(parse_flag(Some("TRUE")).unwrap(), Some(true));
        assert_eq!(parse_flag(Some("false")).unwrap(), Some(false));
        assert!(parse_flag(Some("yes")).is_err());
    }
}
