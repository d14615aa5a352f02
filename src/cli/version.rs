//! `-v`/`--version` in runc's lines, which callers split: Docker's `docker info` takes
//! "<name> version X" and "commit: Y" (any line holding the word "version" counts as
//! the first kind, so no other line may hold it), scripts take "spec: Z".

use crate::spec::SPEC_VERSION;

/// The commit berth was built from (`git describe`, or $BERTH_COMMIT at build time;
/// "unknown" outside a git checkout), set by build.rs.
pub const COMMIT: &str = env!("BERTH_COMMIT");

/// Everything after "<name> version ": the number, then the commit, spec and library
/// lines (urfave/cli shows this under VERSION: in `-h`).
pub fn details() -> String {
    let mut s = format!(
        "{}\ncommit: {COMMIT}\nspec: {SPEC_VERSION}\n",
        env!("CARGO_PKG_VERSION")
    );
    // runc's last line; its "go:" line has no counterpart here.
    if let Ok(v) = libseccomp::ScmpVersion::current() {
        s += &format!("libseccomp: {}.{}.{}\n", v.major, v.minor, v.micro);
    }
    s
}

pub fn text(name: &str) -> String {
    format!("{name} version {}", details())
}

#[cfg(test)]
mod tests {
    #[test]
    fn runcs_lines() {
        let t = super::text("runc");
        let lines: Vec<&str> = t.lines().collect();
        assert_eq!(
            lines[0],
            format!("runc version {}", env!("CARGO_PKG_VERSION"))
        );
        assert!(
            lines[1].starts_with("commit: ") && lines[1].len() > 8,
            "{t}"
        );
        assert_eq!(lines[2], format!("spec: {}", crate::spec::SPEC_VERSION));
        assert_eq!(t.matches("version").count(), 1, "{t}");
    }
}
