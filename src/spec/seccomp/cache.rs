//! A cache of compiled seccomp programs: an engine starts every container with the same
//! profile, and libseccomp takes about 10 ms to compile Docker's, several times what the
//! rest of `create` costs. So each profile is compiled once per boot.
//!
//! An entry is `<key>\0<program>` in `/run/berth-cache/seccomp/<hash of the key>`. The key
//! is the translated profile plus everything else that decides the program (this berth
//! binary, libseccomp's version, the kernel), and a lookup compares it in full: the file
//! name's 64-bit hash only finds the entry, so a collision, even a crafted one, is a miss
//! and never another profile's program. The directory and its entries must be ours and
//! writable by nobody else, or the cache is not used. Any failure only means compiling.

use crate::cache_dir;
use crate::logging;
use anyhow::Result;
use nix::fcntl::{openat, OFlag};
use nix::sys::stat::Mode;
use std::hash::{Hash, Hasher};
use std::io::Read;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

/// Changes when the entry format does.
const FORMAT: &str = "berth seccomp cache 1";
/// More entries than this and a store empties the directory first (a host does not use
/// that many profiles; entries of an older berth binary are never hit again).
const MAX_ENTRIES: usize = 64;

/// The program for `key`, from the cache or from `build` (which then goes in the cache).
pub fn program(key: &str, build: impl FnOnce() -> Result<Vec<u64>>) -> Result<Vec<u64>> {
    let Some(key) = full_key(key) else {
        return build();
    };
    let dir = open_dir();
    let name = file_name(&key);
    if let Some(d) = &dir {
        if let Some(p) = lookup(d.as_fd(), &name, &key) {
            logging::debug("seccomp: program taken from the cache");
            return Ok(p);
        }
    }
    let program = build()?;
    if let Some(d) = &dir {
        if let Err(e) = store(d.as_fd(), &name, &key, &program) {
            logging::debug(&format!("seccomp: cache: store {name}: {e}"));
        }
    }
    Ok(program)
}

/// The profile's key with what else decides the program; None when this binary cannot be
/// identified (then nothing is cached).
fn full_key(key: &str) -> Option<String> {
    let exe = nix::sys::stat::stat("/proc/self/exe").ok()?;
    let v = libseccomp::ScmpVersion::current().ok()?;
    let u = nix::sys::utsname::uname().ok()?;
    Some(format!(
        "{FORMAT}\nberth {} {} {} {}.{}\nlibseccomp {}.{}.{}\nkernel {:?} {:?} {:?}\n{key}",
        exe.st_dev,
        exe.st_ino,
        exe.st_size,
        exe.st_mtime,
        exe.st_mtime_nsec,
        v.major,
        v.minor,
        v.micro,
        u.release(),
        u.version(),
        u.machine(),
    ))
}

fn file_name(key: &str) -> String {
    let mut h = std::hash::DefaultHasher::new();
    key.hash(&mut h);
    format!("{:016x}", h.finish())
}

fn open_dir() -> Option<OwnedFd> {
    cache_dir::open("seccomp")
}

fn trusted(fd: BorrowedFd, kind: nix::sys::stat::SFlag) -> bool {
    cache_dir::trusted(fd, kind)
}

fn lookup(dir: BorrowedFd, name: &str, key: &str) -> Option<Vec<u64>> {
    let fd = openat(
        dir,
        name,
        OFlag::O_RDONLY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
    .ok()?;
    if !trusted(fd.as_fd(), nix::sys::stat::SFlag::S_IFREG) {
        return None;
    }
    let mut data = Vec::new();
    std::fs::File::from(fd).read_to_end(&mut data).ok()?;
    let split = data.iter().position(|&b| b == 0)?;
    let (stored_key, program) = (&data[..split], &data[split + 1..]);
    if stored_key != key.as_bytes() || program.is_empty() || program.len() % 8 != 0 {
        return None;
    }
    Some(
        program
            .chunks_exact(8)
            .map(|c| u64::from_ne_bytes(c.try_into().expect("chunks of 8")))
            .collect(),
    )
}

/// The entry `<key>\0<program>`, written whole or not at all (`cache_dir::store`).
fn store(dir: BorrowedFd, name: &str, key: &str, program: &[u64]) -> Result<()> {
    let mut data = Vec::with_capacity(key.len() + 1 + program.len() * 8);
    data.extend_from_slice(key.as_bytes());
    data.push(0);
    for insn in program {
        data.extend_from_slice(&insn.to_ne_bytes());
    }
    cache_dir::store(dir, name, &data, MAX_ENTRIES)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    struct TempDir(std::path::PathBuf, OwnedFd);

    impl TempDir {
        fn new(name: &str) -> TempDir {
            let p = std::env::temp_dir().join(format!("berth-cache-{name}-{}", std::process::id()));
            std::fs::create_dir_all(&p).unwrap();
            let fd =
                nix::fcntl::open(&p, OFlag::O_RDONLY | OFlag::O_DIRECTORY, Mode::empty()).unwrap();
            TempDir(p, fd)
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    #[test]
    fn stored_program_comes_back_for_the_same_key_only() {
        let d = TempDir::new("same");
        let prog = vec![1u64, 2, 0x7fff_0000_0000_0006];
        store(d.1.as_fd(), "entry", "key A", &prog).unwrap();
        assert_eq!(lookup(d.1.as_fd(), "entry", "key A"), Some(prog));
        // Same file name (a hash collision), other key: a miss.
        assert_eq!(lookup(d.1.as_fd(), "entry", "key B"), None);
        assert_eq!(lookup(d.1.as_fd(), "missing", "key A"), None);
    }

    #[test]
    fn entries_others_may_write_are_ignored() {
        let d = TempDir::new("perm");
        store(d.1.as_fd(), "entry", "k", &[7]).unwrap();
        let path = d.0.join("entry");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o666)).unwrap();
        assert_eq!(lookup(d.1.as_fd(), "entry", "k"), None);
    }

    #[test]
    fn truncated_entries_are_ignored() {
        let d = TempDir::new("trunc");
        std::fs::write(d.0.join("entry"), b"k\0\x01\x02\x03").unwrap();
        std::fs::set_permissions(d.0.join("entry"), std::fs::Permissions::from_mode(0o600))
            .unwrap();
        assert_eq!(lookup(d.1.as_fd(), "entry", "k"), None);
    }

    #[test]
    fn a_full_directory_is_emptied() {
        let d = TempDir::new("prune");
        for i in 0..=MAX_ENTRIES {
            store(d.1.as_fd(), &format!("e{i}"), "k", &[1]).unwrap();
        }
        store(d.1.as_fd(), "last", "k", &[1]).unwrap();
        let names: Vec<_> = std::fs::read_dir(&d.0)
            .unwrap()
            .flatten()
            .map(|e| e.file_name())
            .collect();
        assert_eq!(names, ["last"]);
    }

    #[test]
    fn keys_name_the_binary_and_library() {
        let k = full_key("profile").unwrap();
        assert!(k.starts_with(FORMAT) && k.ends_with("\nprofile"), "{k}");
        assert!(k.contains("libseccomp 2."), "{k}");
        assert_ne!(file_name("a"), file_name("b"));
    }
}
