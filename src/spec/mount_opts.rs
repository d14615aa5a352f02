//! Translation of an OCI mount's `options` list into mount(2) flags, propagation changes, mount_setattr(2) attributes and filesystem data.

use bitflags::bitflags;
use nix::mount::MsFlags;

/// MS_NOSYMFOLLOW, which nix's MsFlags does not name.
pub const MS_NOSYMFOLLOW: MsFlags = MsFlags::from_bits_retain(libc::MS_NOSYMFOLLOW);

bitflags! {
    /// MOUNT_ATTR_* bits of mount_setattr(2).
    #[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
    pub struct MountAttr: u64 {
        const RDONLY = libc::MOUNT_ATTR_RDONLY;
        const NOSUID = libc::MOUNT_ATTR_NOSUID;
        const NODEV = libc::MOUNT_ATTR_NODEV;
        const NOEXEC = libc::MOUNT_ATTR_NOEXEC;
        /// The access-time field (RELATIME, NOATIME, STRICTATIME are values in it).
        const ATIME_MASK = libc::MOUNT_ATTR__ATIME;
        const RELATIME = libc::MOUNT_ATTR_RELATIME;
        const NOATIME = libc::MOUNT_ATTR_NOATIME;
        const STRICTATIME = libc::MOUNT_ATTR_STRICTATIME;
        const NODIRATIME = libc::MOUNT_ATTR_NODIRATIME;
        const NOSYMFOLLOW = libc::MOUNT_ATTR_NOSYMFOLLOW;
    }
}

/// Attributes to apply to a whole mount tree with
/// `mount_setattr(..., AT_RECURSIVE, ...)`, from the "r"-prefixed options.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RecursiveAttrs {
    /// Bits for `mount_attr.attr_set`.
    pub attr_set: MountAttr,
    /// Bits for `mount_attr.attr_clr`.
    pub attr_clr: MountAttr,
}

impl RecursiveAttrs {
    /// True when no recursive option was given, so mount_setattr(2) (which
    /// needs Linux 5.12) can be skipped entirely.
    pub fn is_empty(&self) -> bool {
        self.attr_set.is_empty() && self.attr_clr.is_empty()
    }
}

/// The parsed form of an OCI mount's `options`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MountOptions {
    /// Flags to pass to mount(2).
    pub flags: MsFlags,
    /// Flags an option explicitly turned off ("rw", "suid", "atime"...).
    /// Remounts need this to tell "unset" apart from "keep what the source
    /// mount has", e.g. a bind mount of a nosuid source plus "suid".
    pub clear: MsFlags,
    /// Propagation changes (MS_SHARED/MS_SLAVE/MS_PRIVATE/MS_UNBINDABLE,
    /// possibly with MS_REC), in the order given; each needs its own mount(2).
    pub propagation: Vec<MsFlags>,
    /// Filesystem-specific options, passed to the kernel untouched.
    pub data: Vec<String>,
    /// "bind" or "rbind" was given.
    pub bind: bool,
    /// "rbind" was given.
    pub recursive_bind: bool,
    /// Recursive mount_setattr(2) attributes ("rro", "rnosuid", ...).
    pub recursive_attrs: RecursiveAttrs,
    /// "idmap" or "ridmap" was given.
    pub idmap: bool,
    /// "ridmap" was given: the idmapping covers every mount of an rbind.
    pub recursive_idmap: bool,
    /// crun's "idmap=uids=0-1000-10;gids=0-1000-10" (or "ridmap="): the value.
    pub idmap_value: Option<String>,
    /// "tmpcopyup" was given: copy the image's content at the destination
    /// into the new tmpfs.
    pub copy_up: bool,
}

/// Nothing given (MsFlags has no Default of its own).
impl Default for MountOptions {
    fn default() -> Self {
        MountOptions {
            flags: MsFlags::empty(),
            clear: MsFlags::empty(),
            propagation: Vec::new(),
            data: Vec::new(),
            bind: false,
            recursive_bind: false,
            recursive_attrs: RecursiveAttrs::default(),
            idmap: false,
            recursive_idmap: false,
            idmap_value: None,
            copy_up: false,
        }
    }
}

impl MountOptions {
    /// The mount(2) `data` argument.
    pub fn data_string(&self) -> String {
        self.data.join(",")
    }
}

/// Every option `parse` understands itself (the rest is passed to the filesystem), for
/// `berth features`; a unit test keeps it in step with the tables below.
pub const KNOWN_OPTIONS: &[&str] = &[
    "ro",
    "rw",
    "nosuid",
    "suid",
    "nodev",
    "dev",
    "noexec",
    "exec",
    "sync",
    "async",
    "dirsync",
    "remount",
    "mand",
    "nomand",
    "noatime",
    "atime",
    "nodiratime",
    "diratime",
    "relatime",
    "norelatime",
    "strictatime",
    "nostrictatime",
    "lazytime",
    "nolazytime",
    "iversion",
    "noiversion",
    "silent",
    "loud",
    "nosymfollow",
    "symfollow",
    "bind",
    "rbind",
    "defaults",
    "rro",
    "rrw",
    "rnosuid",
    "rsuid",
    "rnodev",
    "rdev",
    "rnoexec",
    "rexec",
    "rnodiratime",
    "rdiratime",
    "rrelatime",
    "rnorelatime",
    "rnoatime",
    "ratime",
    "rstrictatime",
    "rnostrictatime",
    "rnosymfollow",
    "rsymfollow",
    "shared",
    "rshared",
    "slave",
    "rslave",
    "private",
    "rprivate",
    "unbindable",
    "runbindable",
    "tmpcopyup",
    "idmap",
    "ridmap",
];

/// Options that map to an MS_* flag, as `(clears_the_flag, flag)`. The set
/// and the set/clear direction follow runc so that the same config.json
/// behaves the same.
fn mount_flag(opt: &str) -> Option<(bool, MsFlags)> {
    let entry = match opt {
        "ro" => (false, MsFlags::MS_RDONLY),
        "rw" => (true, MsFlags::MS_RDONLY),
        "nosuid" => (false, MsFlags::MS_NOSUID),
        "suid" => (true, MsFlags::MS_NOSUID),
        "nodev" => (false, MsFlags::MS_NODEV),
        "dev" => (true, MsFlags::MS_NODEV),
        "noexec" => (false, MsFlags::MS_NOEXEC),
        "exec" => (true, MsFlags::MS_NOEXEC),
        "sync" => (false, MsFlags::MS_SYNCHRONOUS),
        "async" => (true, MsFlags::MS_SYNCHRONOUS),
        "dirsync" => (false, MsFlags::MS_DIRSYNC),
        "remount" => (false, MsFlags::MS_REMOUNT),
        "mand" => (false, MsFlags::MS_MANDLOCK),
        "nomand" => (true, MsFlags::MS_MANDLOCK),
        "noatime" => (false, MsFlags::MS_NOATIME),
        "atime" => (true, MsFlags::MS_NOATIME),
        "nodiratime" => (false, MsFlags::MS_NODIRATIME),
        "diratime" => (true, MsFlags::MS_NODIRATIME),
        "relatime" => (false, MsFlags::MS_RELATIME),
        "norelatime" => (true, MsFlags::MS_RELATIME),
        "strictatime" => (false, MsFlags::MS_STRICTATIME),
        "nostrictatime" => (true, MsFlags::MS_STRICTATIME),
        "lazytime" => (false, MsFlags::MS_LAZYTIME),
        "nolazytime" => (true, MsFlags::MS_LAZYTIME),
        "iversion" => (false, MsFlags::MS_I_VERSION),
        "noiversion" => (true, MsFlags::MS_I_VERSION),
        "silent" => (false, MsFlags::MS_SILENT),
        "loud" => (true, MsFlags::MS_SILENT),
        "nosymfollow" => (false, MS_NOSYMFOLLOW),
        "symfollow" => (true, MS_NOSYMFOLLOW),
        "bind" => (false, MsFlags::MS_BIND),
        "rbind" => (false, MsFlags::MS_BIND | MsFlags::MS_REC),
        // "acl" is deliberately absent: MsFlags::MS_POSIXACL is a kernel-internal
        // superblock flag that mount(2) does not honour, so (like runc
        // since opencontainers/runc#3738) it is left for the filesystem to
        // parse from data.
        _ => return None,
    };
    Some(entry)
}

/// Options that map to a recursive mount_setattr(2) attribute, as
/// `(clears_the_attr, attr)`.
fn recursive_attr(opt: &str) -> Option<(bool, MountAttr)> {
    let entry = match opt {
        "rro" => (false, MountAttr::RDONLY),
        "rrw" => (true, MountAttr::RDONLY),
        "rnosuid" => (false, MountAttr::NOSUID),
        "rsuid" => (true, MountAttr::NOSUID),
        "rnodev" => (false, MountAttr::NODEV),
        "rdev" => (true, MountAttr::NODEV),
        "rnoexec" => (false, MountAttr::NOEXEC),
        "rexec" => (true, MountAttr::NOEXEC),
        "rnodiratime" => (false, MountAttr::NODIRATIME),
        "rdiratime" => (true, MountAttr::NODIRATIME),
        "rrelatime" => (false, MountAttr::RELATIME),
        "rnorelatime" => (true, MountAttr::RELATIME),
        "rnoatime" => (false, MountAttr::NOATIME),
        "ratime" => (true, MountAttr::NOATIME),
        "rstrictatime" => (false, MountAttr::STRICTATIME),
        "rnostrictatime" => (true, MountAttr::STRICTATIME),
        "rnosymfollow" => (false, MountAttr::NOSYMFOLLOW),
        "rsymfollow" => (true, MountAttr::NOSYMFOLLOW),
        _ => return None,
    };
    Some(entry)
}

/// Maps a propagation name (as used in mount options and in
/// `linux.rootfsPropagation`) to its MS_* value. The empty string is `None`:
/// for rootfsPropagation it means "unset", which the caller handles.
pub fn propagation_flag(s: &str) -> Option<MsFlags> {
    let flag = match s {
        "shared" => MsFlags::MS_SHARED,
        "rshared" => MsFlags::MS_SHARED | MsFlags::MS_REC,
        "slave" => MsFlags::MS_SLAVE,
        "rslave" => MsFlags::MS_SLAVE | MsFlags::MS_REC,
        "private" => MsFlags::MS_PRIVATE,
        "rprivate" => MsFlags::MS_PRIVATE | MsFlags::MS_REC,
        "unbindable" => MsFlags::MS_UNBINDABLE,
        "runbindable" => MsFlags::MS_UNBINDABLE | MsFlags::MS_REC,
        _ => return None,
    };
    Some(flag)
}

/// Parses an OCI mount's `options`. Never fails: anything unrecognised is
/// filesystem data, and it is up to the kernel/filesystem to reject it.
///
/// Later options override earlier ones ("ro,rw" is read-write).
pub fn parse(options: &[String]) -> MountOptions {
    let mut m = MountOptions::default();
    let mut attrs = RecursiveAttrs::default();
    for opt in options {
        let opt = opt.as_str();
        if let Some((clear, flag)) = mount_flag(opt) {
            // insert/remove, not `&= !flag`: a complement would drop the bits nix
            // does not name (MS_NOSYMFOLLOW).
            if clear {
                m.flags.remove(flag);
                m.clear.insert(flag);
            } else {
                m.flags.insert(flag);
                m.clear.remove(flag);
            }
        } else if let Some(flag) = propagation_flag(opt) {
            m.propagation.push(flag);
        } else if let Some((clear, attr)) = recursive_attr(opt) {
            if clear {
                attrs.attr_clr.insert(attr);
                attrs.attr_set.remove(attr);
            } else if MountAttr::ATIME_MASK.contains(attr) {
                // The access-time attributes are an enum inside the
                // MOUNT_ATTR__ATIME field rather than independent bits:
                // the field holds the last one given (RELATIME is 0, so
                // "rstrictatime,rrelatime" must empty it), and
                // mount_setattr(2) requires the whole field in attr_clr.
                attrs.attr_set.remove(MountAttr::ATIME_MASK);
                attrs.attr_set.insert(attr);
                attrs.attr_clr.insert(MountAttr::ATIME_MASK);
            } else {
                attrs.attr_set.insert(attr);
                attrs.attr_clr.remove(attr);
            }
        } else {
            match opt {
                // mount(8) documents "defaults" as rw,suid,dev,exec,async,
                // which are all "no flag set"; passing it on as data would
                // make filesystems such as tmpfs fail with EINVAL.
                "defaults" | "" => {}
                "tmpcopyup" => m.copy_up = true,
                "idmap" => m.idmap = true,
                "ridmap" => {
                    m.idmap = true;
                    m.recursive_idmap = true;
                }
                _ => match opt.split_once('=') {
                    Some((kind @ ("idmap" | "ridmap"), value)) => {
                        m.idmap = true;
                        m.recursive_idmap = kind == "ridmap";
                        m.idmap_value = Some(value.to_string());
                    }
                    _ => m.data.push(opt.to_string()),
                },
            }
        }
    }
    m.recursive_attrs = attrs;
    m.bind = m.flags.contains(MsFlags::MS_BIND);
    m.recursive_bind = m.bind && m.flags.contains(MsFlags::MS_REC);
    m
}

#[cfg(test)]
mod proptests;
#[cfg(test)]
mod tests;
