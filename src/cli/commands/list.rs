//! `berth list`: every container under --root, as a table, JSON or ids.

use crate::cli::ListArgs;
use crate::container::state::{read_state, status_of, unreadable, validate_id};
use anyhow::{bail, Result};
use std::io::Write;
use std::path::Path;

pub fn run(root: &Path, a: &ListArgs) -> Result<()> {
    if a.format != "table" && a.format != "json" {
        bail!(
            "invalid format option {:?}: expected table or json",
            a.format
        );
    }
    let mut rows = Vec::new();
    if let Ok(rd) = std::fs::read_dir(root) {
        for e in rd.flatten() {
            let dir = e.path();
            if !dir.is_dir() {
                continue;
            }
            let st = match read_state(&dir) {
                Ok(Some(st)) => st,
                // A container still being created (or a stray dir) has no state yet.
                Ok(None) => continue,
                // A state.json that no longer parses: the container is still there (and
                // `delete --force` removes it), so show what is known, as runc does.
                Err(_) => match e.file_name().to_str() {
                    Some(id) if validate_id(id).is_ok() => unreadable(&dir, id),
                    _ => continue,
                },
            };
            let status = status_of(&dir, &st);
            rows.push((st, status, owner_of(&dir)));
        }
    }
    rows.sort_by(|a, b| a.0.created.cmp(&b.0.created));
    let mut out = std::io::stdout().lock();
    if a.quiet {
        for (st, _, _) in &rows {
            writeln!(out, "{}", st.id)?;
        }
        return Ok(());
    }
    if a.format == "json" {
        // Serialized as the struct, not through a map: the keys keep runc's order
        // (ociVersion, id, pid, status, bundle, rootfs, created, ...), which scripts match.
        let list: Vec<_> = rows
            .iter()
            .map(|(st, s, owner)| {
                let mut p = st.public(*s);
                p.owner = owner;
                p
            })
            .collect();
        writeln!(out, "{}", serde_json::to_string(&list)?)?;
        return Ok(());
    }
    let table: Vec<[String; 6]> = rows
        .iter()
        .map(|(st, s, owner)| {
            let p = st.public(*s);
            [
                st.id.clone(),
                p.pid.to_string(),
                s.as_str().to_string(),
                st.bundle.display().to_string(),
                st.created.clone(),
                owner.clone(),
            ]
        })
        .collect();
    write!(out, "{}", format_table(&table))?;
    Ok(())
}

/// Who owns a container's state directory, by name (`#UID` when unknown), as runc
/// shows it: a rootless container's user.
fn owner_of(dir: &Path) -> String {
    use std::os::unix::fs::MetadataExt;
    let Ok(md) = std::fs::metadata(dir) else {
        return "root".to_string();
    };
    let passwd = std::fs::read_to_string("/etc/passwd").unwrap_or_default();
    user_name(&passwd, md.uid()).unwrap_or_else(|| format!("#{}", md.uid()))
}

/// The name of `uid` in an /etc/passwd text. Read directly, as runc does, rather than
/// through glibc's getpwuid: that brings in NSS, with dlopen and a DNS resolver, 100 KB
/// of a static binary for one column of `list`.
fn user_name(passwd: &str, uid: u32) -> Option<String> {
    passwd.lines().find_map(|l| {
        let mut f = l.split(':');
        let name = f.next()?;
        (f.nth(1)?.parse() == Ok(uid)).then(|| name.to_string())
    })
}

/// Columns padded like runc's tabwriter (min width 12, padding 3).
fn format_table(rows: &[[String; 6]]) -> String {
    let header = ["ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER"].map(String::from);
    let all: Vec<&[String; 6]> = std::iter::once(&header).chain(rows.iter()).collect();
    let mut widths = [0usize; 6];
    for r in &all {
        for (i, c) in r.iter().enumerate() {
            widths[i] = widths[i].max(c.len() + 3).max(12);
        }
    }
    let mut s = String::new();
    for r in &all {
        for (i, c) in r.iter().enumerate() {
            if i == 5 {
                s.push_str(c);
            } else {
                s.push_str(&format!("{c:<w$}", w = widths[i]));
            }
        }
        s.push('\n');
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_aligns_columns() {
        let rows =
            [["c1", "42", "running", "/b", "2026-11-27T00:00:00Z", "root"].map(String::from)];
        let t = format_table(&rows);
        let lines: Vec<&str> = t.lines().collect();
        assert!(lines[0].starts_with("ID          PID         STATUS      BUNDLE"));
        assert_eq!(lines[0].find("PID"), lines[1].find("42"));
        assert_eq!(lines[0].find("OWNER"), lines[1].find("root"));
    }

    #[test]
    fn user_name_reads_passwd() {
        let passwd =
            "root:x:0:0:root:/root:/bin/sh\nbad line\nalice:x:1000:1000::/home/a:/bin/sh\n";
        assert_eq!(user_name(passwd, 0).as_deref(), Some("root"));
        assert_eq!(user_name(passwd, 1000).as_deref(), Some("alice"));
        assert_eq!(user_name(passwd, 1001), None);
    }
}
