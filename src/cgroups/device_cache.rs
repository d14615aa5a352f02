//! Device programs shared by the containers that have the same rules. The kernel's
//! verifier takes about half a millisecond for runc's default rules, in every `create`;
//! yet a loaded program lives as long as some cgroup has it attached, and root can get it
//! back by its id. So `/run/berth-cache/devices/<hash>` names the program last loaded for
//! those instructions: its id and the kernel's tag (its hash of the instructions), with
//! the instructions themselves. A program is taken again only if the entry holds exactly
//! our instructions and the program with that id is still a device program with that
//! tag: an id the kernel gave to another program since is a miss, never that program.
//! When the last container with those rules goes, the program goes too, and the next
//! `create` loads it again. Any failure here only means loading.

use crate::cache_dir;
use crate::linux::sys;
use nix::fcntl::{openat, OFlag};
use nix::sys::stat::{Mode, SFlag};
use std::hash::{Hash, Hasher};
use std::io::Read;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

/// Changes when the entry format does.
const FORMAT: &[u8] = b"berth device program 1\n";
/// Entries past this many and a store empties the directory first.
const MAX_ENTRIES: usize = 64;

/// The loaded program for `code`: one a running container already has, or `load`'s.
pub fn program<E>(code: &[u64], load: impl FnOnce() -> Result<OwnedFd, E>) -> Result<OwnedFd, E> {
    // Only root may take a program by its id.
    if !nix::unistd::geteuid().is_root() {
        return load();
    }
    let dir = cache_dir::open("devices");
    let name = file_name(code);
    if let Some(d) = &dir {
        if let Some(fd) = lookup(d.as_fd(), &name, code) {
            crate::logging::debug("devices: program taken from a running container");
            return Ok(fd);
        }
    }
    let fd = load()?;
    if let (Some(d), Ok(info)) = (&dir, sys::bpf_prog_info(fd.as_fd())) {
        if let Err(e) = cache_dir::store(d.as_fd(), &name, &encode(code, &info), MAX_ENTRIES) {
            crate::logging::debug(&format!("devices: cache: store {name}: {e}"));
        }
    }
    Ok(fd)
}

fn file_name(code: &[u64]) -> String {
    let mut h = std::hash::DefaultHasher::new();
    code.hash(&mut h);
    format!("{:016x}", h.finish())
}

/// The entry: FORMAT, id (4 bytes), tag (8 bytes), then the instructions.
fn encode(code: &[u64], info: &sys::ProgInfo) -> Vec<u8> {
    let mut data = Vec::with_capacity(FORMAT.len() + 12 + code.len() * 8);
    data.extend_from_slice(FORMAT);
    data.extend_from_slice(&info.id.to_ne_bytes());
    data.extend_from_slice(&info.tag);
    for insn in code {
        data.extend_from_slice(&insn.to_ne_bytes());
    }
    data
}

/// The id and tag an entry records, if it records exactly `code`.
fn decode(data: &[u8], code: &[u64]) -> Option<(u32, [u8; 8])> {
    let rest = data.strip_prefix(FORMAT)?;
    if rest.len() != 12 + code.len() * 8 {
        return None;
    }
    let id = u32::from_ne_bytes(rest[..4].try_into().ok()?);
    let tag: [u8; 8] = rest[4..12].try_into().ok()?;
    let same = rest[12..]
        .chunks_exact(8)
        .zip(code)
        .all(|(c, insn)| c == insn.to_ne_bytes());
    same.then_some((id, tag))
}

fn lookup(dir: BorrowedFd, name: &str, code: &[u64]) -> Option<OwnedFd> {
    let fd = openat(
        dir,
        name,
        OFlag::O_RDONLY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
    .ok()?;
    if !cache_dir::trusted(fd.as_fd(), SFlag::S_IFREG) {
        return None;
    }
    let mut data = Vec::new();
    std::fs::File::from(fd).read_to_end(&mut data).ok()?;
    let (id, tag) = decode(&data, code)?;
    let prog = sys::bpf_prog_by_id(id).ok()?;
    let info = sys::bpf_prog_info(prog.as_fd()).ok()?;
    (info.prog_type == sys::BPF_PROG_TYPE_CGROUP_DEVICE && info.tag == tag).then_some(prog)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_entry_is_read_back_only_for_the_same_instructions() {
        let code = [1u64, 2, 3];
        let info = sys::ProgInfo {
            prog_type: sys::BPF_PROG_TYPE_CGROUP_DEVICE,
            id: 42,
            tag: [9; 8],
        };
        let data = encode(&code, &info);
        assert_eq!(decode(&data, &code), Some((42, [9; 8])));
        assert_eq!(decode(&data, &[1, 2, 4]), None, "other instructions");
        assert_eq!(decode(&data, &[1, 2]), None, "fewer instructions");
        assert_eq!(decode(&data[1..], &code), None, "another format");
        assert_eq!(decode(&data[..data.len() - 1], &code), None, "cut short");
    }
}
