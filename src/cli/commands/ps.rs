//! `berth ps`: the container's processes, through the host's `ps` (table) or as a JSON
//! list of pids, as runc prints them.

use crate::cli::PsArgs;
use crate::container::Container;
use anyhow::{anyhow, bail, Context, Result};
use std::io::Write;
use std::path::Path;

pub fn run(root: &Path, a: &PsArgs) -> Result<()> {
    if a.format != "table" && a.format != "json" {
        bail!(
            "invalid format option {:?}: expected table or json",
            a.format
        );
    }
    let pids = Container::open(root, &a.id)?.pids();
    let mut out = std::io::stdout().lock();
    if a.format == "json" {
        writeln!(out, "{}", serde_json::to_string(&pids)?)?;
        return Ok(());
    }
    let args: Vec<&str> = if a.ps_args.is_empty() {
        vec!["-ef"]
    } else {
        a.ps_args.iter().map(String::as_str).collect()
    };
    let ps = std::process::Command::new("ps")
        .args(&args)
        .output()
        .context("run ps")?;
    if !ps.status.success() {
        bail!(
            "ps {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&ps.stderr).trim()
        );
    }
    let text = String::from_utf8_lossy(&ps.stdout);
    write!(out, "{}", filter(&text, &pids)?)?;
    Ok(())
}

/// Keep ps's header and the lines whose PID column is one of `pids`.
fn filter(text: &str, pids: &[i32]) -> Result<String> {
    let mut lines = text.lines();
    let header = lines.next().unwrap_or("");
    let col = header
        .split_whitespace()
        .position(|f| f == "PID")
        .ok_or_else(|| anyhow!("ps printed no PID column (header {header:?})"))?;
    let mut s = format!("{header}\n");
    for l in lines {
        let pid = l
            .split_whitespace()
            .nth(col)
            .and_then(|p| p.parse::<i32>().ok());
        if pid.is_some_and(|p| pids.contains(&p)) {
            s.push_str(l);
            s.push('\n');
        }
    }
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_header_and_the_containers_lines() {
        let text = "UID   PID  PPID CMD\nroot    1     0 init\nroot   42     1 sleep 10\nroot   43     1 other\n";
        assert_eq!(
            filter(text, &[42]).unwrap(),
            "UID   PID  PPID CMD\nroot   42     1 sleep 10\n"
        );
        assert!(filter("USER COMMAND\n", &[1]).is_err());
    }
}
