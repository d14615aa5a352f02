//! berth's errors: a small typed error whose kind decides the exit code, and error text
//! in the style runc users know (lower-case errno descriptions, no "(os error N)").

use nix::errno::Errno;
use std::fmt;

/// What went wrong, as far as a caller needs to tell cases apart. Engines match runc's
/// words in the message (see `Error::not_running`), the kind picks the exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// config.json or a flag is wrong; `key` names it.
    Config,
    /// No container has that id.
    NotFound,
    /// The container is in a state the command cannot act on.
    WrongState,
    /// The id is taken.
    Exists,
    /// `exec` could not start its process: runc exits 255 then, so that a caller can tell
    /// it from the process's own exit code.
    Exec,
    /// The host or the kernel refused something.
    System,
}

/// An error with its kind and, where there is one, the config key it is about.
#[derive(Debug)]
pub struct Error {
    pub kind: Kind,
    pub key: Option<String>,
    pub msg: String,
}

impl Error {
    pub fn new(kind: Kind, msg: impl Into<String>) -> Error {
        Error {
            kind,
            key: None,
            msg: msg.into(),
        }
    }

    /// A config error about `key` (printed as "key: msg").
    pub fn config(key: &str, msg: impl Into<String>) -> Error {
        Error {
            kind: Kind::Config,
            key: Some(key.to_string()),
            msg: msg.into(),
        }
    }

    /// "container does not exist": containerd's shim and go-runc look for these words.
    pub fn not_found(id: &str) -> Error {
        Error::new(Kind::NotFound, format!("container {id:?} does not exist"))
    }

    /// "container not running", the words containerd's runc shim treats as "already
    /// stopped" when it kills a task.
    pub fn not_running(id: &str, status: &str) -> Error {
        Error::new(
            Kind::WrongState,
            format!("container not running ({id:?} is {status})"),
        )
    }

    /// Any error of `exec` before its process runs, kept whole but with exec's exit code
    /// and runc's "exec failed: " in front (containerd shows it as "OCI runtime exec
    /// failed: exec failed: ...", which scripts around `docker exec` match).
    pub fn exec(e: anyhow::Error) -> anyhow::Error {
        if kind_of(&e) == Some(Kind::Exec) {
            return e;
        }
        Error::new(Kind::Exec, format!("exec failed: {e:#}")).into()
    }

    /// The process exit code this error ends berth with.
    pub fn exit_code(&self) -> i32 {
        match self.kind {
            Kind::Exec => 255,
            _ => 1,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.key {
            Some(k) => write!(f, "{k}: {}", self.msg),
            None => f.write_str(&self.msg),
        }
    }
}

impl std::error::Error for Error {}

/// The kind of the first typed error in `e`'s chain, if any.
pub fn kind_of(e: &anyhow::Error) -> Option<Kind> {
    e.chain()
        .find_map(|c| c.downcast_ref::<Error>())
        .map(|b| b.kind)
}

/// The exit code for any error: the typed one's, else runc's 1.
pub fn exit_code(e: &anyhow::Error) -> i32 {
    e.chain()
        .find_map(|c| c.downcast_ref::<Error>())
        .map_or(1, Error::exit_code)
}

/// "no such file or directory" for ENOENT, like Go's syscall.Errno strings.
pub fn errno_text(e: Errno) -> String {
    let desc = e.desc();
    let mut s = String::with_capacity(desc.len());
    let mut chars = desc.chars();
    if let Some(first) = chars.next() {
        s.extend(first.to_lowercase());
        s.push_str(chars.as_str());
    }
    s
}

/// An io::Error as plain text: the errno description when there is one.
pub fn describe_io(e: &std::io::Error) -> String {
    match e.raw_os_error() {
        Some(n) => errno_text(Errno::from_raw(n)),
        None => e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lower_cases_errno_text() {
        assert_eq!(errno_text(Errno::ENOENT), "no such file or directory");
        let e = std::io::Error::from_raw_os_error(libc::EACCES);
        assert_eq!(describe_io(&e), "permission denied");
    }

    #[test]
    fn kind_decides_the_exit_code_and_survives_context() {
        let e = anyhow::Error::from(Error::not_running("c1", "stopped")).context("kill");
        assert_eq!(kind_of(&e), Some(Kind::WrongState));
        assert_eq!(exit_code(&e), 1);
        assert!(format!("{e:#}").contains("container not running"));
        let e = Error::exec(anyhow::anyhow!("no such file"));
        assert_eq!(exit_code(&e), 255);
        assert_eq!(exit_code(&Error::exec(e)), 255);
        let e = Error::exec(Error::exec(anyhow::anyhow!("x")));
        assert_eq!(format!("{e:#}"), "exec failed: x");
        assert_eq!(exit_code(&anyhow::anyhow!("plain")), 1);
        let e = Error::config("process.cwd", "must be absolute");
        assert_eq!(e.to_string(), "process.cwd: must be absolute");
    }
}
