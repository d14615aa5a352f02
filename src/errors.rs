//! Error text in the style runc users know: lower-case errno descriptions, no "(os error N)".

use nix::errno::Errno;

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
}
