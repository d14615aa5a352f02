//! Reading a bundle's config.json: a first, untyped pass for what oci-spec parses too
//! loosely or wrongly, then oci-spec with errors that name the key.

use anyhow::{anyhow, Context, Result};
use oci_spec::runtime::Spec;
use std::path::Path;

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
    super::caps::warn_unknown(&super::caps::drop_unknown(&mut raw));
    super::attrs::fix_raw(&mut raw)?;
    super::seccomp::check_raw(&raw)?;
    super::keypath::deserialize(&raw).map_err(|e| {
        if e.path == "." {
            anyhow!("invalid {}: {}", path.display(), e.msg)
        } else {
            anyhow!("invalid {}: {e}", path.display())
        }
    })
}

/// Load the bundle at `dir` and validate it into a plan.
pub fn load(dir: &Path) -> Result<super::Plan> {
    let bundle = std::fs::canonicalize(dir).with_context(|| format!("bundle {}", dir.display()))?;
    let spec = load_spec(&bundle)?;
    let plan = super::plan(&bundle, spec)?;
    plan.process.caps.log();
    Ok(plan)
}

#[cfg(test)]
mod tests {
    use super::*;

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
