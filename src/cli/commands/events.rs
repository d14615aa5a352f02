//! `berth events`: the container's resource usage as runc's JSON events — once with
//! `--stats`, else every `--interval`, with an `oom` event whenever the OOM killer strikes,
//! until the container stops.

use crate::cgroups::{stats, Cgroup};
use crate::cli::EventsArgs;
use crate::container::state::{status_of, Status};
use crate::container::Container;
use crate::errors::Error;
use anyhow::{anyhow, bail, Result};
use serde::Serialize;
use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

#[derive(Serialize)]
struct Event<'a, T: Serialize> {
    #[serde(rename = "type")]
    kind: &'a str,
    id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    data: Option<T>,
}

fn print<T: Serialize>(kind: &str, id: &str, data: Option<T>) -> Result<()> {
    let line = serde_json::to_string(&Event { kind, id, data })?;
    let mut out = std::io::stdout().lock();
    match writeln!(out, "{line}").and_then(|()| out.flush()) {
        // Whoever read the events has gone (`berth events c1 | head`): so do we.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => std::process::exit(0),
        r => Ok(r?),
    }
}

pub fn run(root: &Path, a: &EventsArgs) -> Result<()> {
    let interval =
        parse_duration(&a.interval).map_err(|e| anyhow!("--interval {:?}: {e}", a.interval))?;
    let c = Container::open(root, &a.id)?;
    c.require(&[Status::Created, Status::Running, Status::Paused], |s| {
        Error::not_running(&a.id, s.as_str())
    })?;
    let cg: Cgroup = c.cgroup()?.clone();
    let path = c.path().to_path_buf();
    // Other commands must get the lock while we watch.
    let st = c.unlock();
    let cg = &cg;
    if a.stats {
        return print("stats", &a.id, Some(stats::read_stats(cg)));
    }
    // The OOM counters are polled: cheap, and the same on v1 and v2.
    let tick = interval.min(Duration::from_millis(100));
    let mut ooms = stats::oom_kills(cg).unwrap_or(0);
    let mut next_stats = Instant::now() + interval;
    loop {
        std::thread::sleep(tick);
        let now = stats::oom_kills(cg).unwrap_or(0);
        if now > ooms {
            print::<()>("oom", &a.id, None)?;
        }
        ooms = now;
        if status_of(&path, &st) == Status::Stopped {
            return Ok(());
        }
        if Instant::now() >= next_stats {
            print("stats", &a.id, Some(stats::read_stats(cg)))?;
            next_stats += interval;
        }
    }
}

/// A Go-style duration, as runc takes it: "5s", "500ms", "1m30s", "1.5h".
pub fn parse_duration(s: &str) -> Result<Duration> {
    let mut total = 0f64;
    let mut rest = s.trim();
    if rest.is_empty() {
        bail!("empty duration");
    }
    while !rest.is_empty() {
        let n = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(|| anyhow!("missing unit (ns, us, ms, s, m, h)"))?;
        let value: f64 = rest[..n].parse().map_err(|_| anyhow!("not a duration"))?;
        rest = &rest[n..];
        let u = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let scale = match &rest[..u] {
            "ns" => 1e-9,
            "us" | "µs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            other => bail!("unknown unit {other:?}"),
        };
        total += value * scale;
        rest = &rest[u..];
    }
    // Too long for a Duration (Go's own limit is about 290 years) is an error, not a
    // panic; below a nanosecond is zero.
    match Duration::try_from_secs_f64(total) {
        Ok(d) if !d.is_zero() => Ok(d),
        Ok(_) => bail!("must be positive"),
        Err(_) => bail!("too long"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_durations() {
        assert_eq!(parse_duration("5s").unwrap(), Duration::from_secs(5));
        assert_eq!(parse_duration("1m30s").unwrap(), Duration::from_secs(90));
        assert_eq!(parse_duration("250ms").unwrap(), Duration::from_millis(250));
        assert_eq!(parse_duration("1.5s").unwrap(), Duration::from_millis(1500));
        for bad in ["", "5", "5x", "0s", "s"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn out_of_range_durations_are_errors() {
        // Found by proptests::duration_never_panics: Duration::from_secs_f64 panicked.
        let e = parse_duration("99999999999999999999s").unwrap_err();
        assert_eq!(e.to_string(), "too long");
        assert!(parse_duration(&format!("{}h", "9".repeat(400))).is_err());
        // Below a nanosecond: zero, which would make `events` spin.
        assert!(parse_duration("0.1ns").is_err());
        assert_eq!(parse_duration("1ns").unwrap(), Duration::from_nanos(1));
    }
}
