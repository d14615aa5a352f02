//! `process.capabilities`, planned by `spec::caps`, applied by the init in the one order
//! that also works when it stops being root.
//!
//! The init calls, in this order:
//! 1. [`prepare`] while still root: shrink the bounding set (that needs CAP_SETPCAP,
//!    which the later steps take away) and set keep-caps so the uid change keeps them;
//! 2. `process::switch_user`;
//! 3. [`apply`]: inheritable, effective, permitted, then ambient (the kernel only raises
//!    an ambient capability that is both permitted and inheritable).

use crate::spec::caps::{caps_in, names, CapsPlan};
use anyhow::{anyhow, Result};
use caps::{CapSet, CapsHashSet};

fn hash_set(mask: u64) -> CapsHashSet {
    caps_in(mask).collect()
}

/// Step 1, while the init is still root with every capability: drop what the bounding set
/// must not have, and keep the permitted set across the coming uid change.
pub fn prepare(p: &CapsPlan) -> Result<()> {
    for cap in caps_in(!p.bounding) {
        // Dropped straight away (one prctl each, not a read first): a capability this
        // kernel does not know fails, and cannot be in the bounding set anyway.
        if let Err(e) = caps::drop(None, CapSet::Bounding, cap) {
            if caps::has_cap(None, CapSet::Bounding, cap).unwrap_or(false) {
                return Err(anyhow!("process.capabilities.bounding: drop {cap}: {e}"));
            }
        }
    }
    nix::sys::prctl::set_keepcaps(true).map_err(|e| {
        anyhow!(
            "process.capabilities: prctl(PR_SET_KEEPCAPS): {}",
            crate::errors::errno_text(e)
        )
    })
}

/// Step 3, after the user switch: the final sets. Inheritable first (while the permitted
/// set still covers it), then effective before permitted (capset(2) insists that
/// effective stays inside permitted at every call), then ambient.
pub fn apply(p: &CapsPlan) -> Result<()> {
    // Only undoes prepare's keepcaps; a kernel refusing it would keep nothing extra.
    let _ = nix::sys::prctl::set_keepcaps(false);
    let set = |which: CapSet, name: &str, mask: u64| {
        caps::set(None, which, &hash_set(mask))
            .map_err(|e| anyhow!("process.capabilities.{name}: set {}: {e}", names(mask)))
    };
    set(CapSet::Inheritable, "inheritable", p.inheritable)?;
    set(CapSet::Effective, "effective", p.effective)?;
    set(CapSet::Permitted, "permitted", p.permitted)?;
    caps::clear(None, CapSet::Ambient)
        .map_err(|e| anyhow!("process.capabilities.ambient: clear: {e}"))?;
    for cap in caps_in(p.ambient) {
        caps::raise(None, CapSet::Ambient, cap)
            .map_err(|e| anyhow!("process.capabilities.ambient: raise {cap}: {e}"))?;
    }
    Ok(())
}
