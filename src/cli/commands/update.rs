//! `berth update`: change a container's resource limits, from runc's flags or from a
//! LinuxResources JSON (`-r FILE`, `-r -` for stdin). What is given replaces what the
//! container had; the rest stays.

use crate::cli::UpdateArgs;
use crate::container::Container;
use anyhow::{anyhow, bail, Context, Result};
use oci_spec::runtime::LinuxResources;
use serde_json::{json, Map, Value};
use std::io::Read;
use std::path::Path;

pub fn run(root: &Path, a: &UpdateArgs) -> Result<()> {
    if a.l3_cache_schema.is_some() || a.mem_bw_schema.is_some() {
        bail!("--l3-cache-schema/--mem-bw-schema: Intel RDT is not supported");
    }
    let mut c = Container::open(root, &a.id)?;
    let mut delta = match &a.resources {
        Some(file) => read_resources(file)?,
        None => from_flags(a)?,
    };
    // runc's update leaves device rules alone.
    if let Some(o) = delta.as_object_mut() {
        o.remove("devices");
    }
    let old = serde_json::to_value(c.state().resources.clone().unwrap_or_default())?;
    let mut merged = old.clone();
    merge(&mut merged, &delta);
    // A swap change alone still needs the memory limit (v2 keeps swap apart from it).
    if delta.pointer("/memory/swap").is_some() && delta.pointer("/memory/limit").is_none() {
        if let Some(limit) = merged.pointer("/memory/limit").cloned() {
            delta["memory"]["limit"] = limit;
        }
    }
    let delta: LinuxResources = serde_json::from_value(delta).context("invalid resources")?;
    let merged: LinuxResources = serde_json::from_value(merged).context("invalid resources")?;
    c.update(&delta, merged)
}

fn read_resources(file: &Path) -> Result<Value> {
    let mut text = String::new();
    if file == Path::new("-") {
        std::io::stdin()
            .read_to_string(&mut text)
            .context("read resources from stdin")?;
    } else {
        text = std::fs::read_to_string(file).with_context(|| format!("read {}", file.display()))?;
    }
    let v: Value =
        serde_json::from_str(&text).map_err(|e| anyhow!("--resources {}: {e}", file.display()))?;
    // Check the shape now, so the error names the input.
    serde_json::from_value::<LinuxResources>(v.clone())
        .map_err(|e| anyhow!("--resources {}: {e}", file.display()))?;
    Ok(v)
}

fn from_flags(a: &UpdateArgs) -> Result<Value> {
    let mut memory = Map::new();
    for (key, flag, v) in [
        ("limit", "--memory", &a.memory),
        ("reservation", "--memory-reservation", &a.memory_reservation),
        ("swap", "--memory-swap", &a.memory_swap),
        ("kernelTCP", "--kernel-memory-tcp", &a.kernel_memory_tcp),
    ] {
        if let Some(v) = v {
            let n = parse_bytes(v).map_err(|e| anyhow!("{flag} {v:?}: {e}"))?;
            memory.insert(key.into(), json!(n));
        }
    }
    if a.kernel_memory.is_some() {
        crate::logging::warn("--kernel-memory is obsolete and ignored");
    }
    let mut cpu = Map::new();
    let mut put = |k: &str, v: Option<Value>| {
        if let Some(v) = v {
            cpu.insert(k.into(), v);
        }
    };
    put("shares", a.cpu_shares.map(|v| json!(v)));
    put("quota", a.cpu_quota.map(|v| json!(v)));
    put("period", a.cpu_period.map(|v| json!(v)));
    put("burst", a.cpu_burst.map(|v| json!(v)));
    put("realtimePeriod", a.cpu_rt_period.map(|v| json!(v)));
    put("realtimeRuntime", a.cpu_rt_runtime.map(|v| json!(v)));
    put("idle", a.cpu_idle.map(|v| json!(v)));
    put("cpus", a.cpuset_cpus.clone().map(Value::from));
    put("mems", a.cpuset_mems.clone().map(Value::from));
    let mut r = Map::new();
    if !memory.is_empty() {
        r.insert("memory".into(), Value::Object(memory));
    }
    if !cpu.is_empty() {
        r.insert("cpu".into(), Value::Object(cpu));
    }
    if let Some(l) = a.pids_limit {
        r.insert("pids".into(), json!({ "limit": l }));
    }
    if let Some(w) = a.blkio_weight {
        r.insert("blockIO".into(), json!({ "weight": w }));
    }
    Ok(Value::Object(r))
}

/// Objects merge key by key; anything else (numbers, lists) is replaced.
fn merge(into: &mut Value, from: &Value) {
    match (into, from) {
        (Value::Object(a), Value::Object(b)) => {
            for (k, v) in b {
                merge(a.entry(k.clone()).or_insert(Value::Null), v);
            }
        }
        (slot, v) => *slot = v.clone(),
    }
}

/// "512m", "1g", "100000", "-1": bytes as runc (docker's units) reads them, binary units.
pub fn parse_bytes(s: &str) -> Result<i64> {
    let t = s.trim();
    if t == "-1" {
        return Ok(-1);
    }
    let lower = t.to_ascii_lowercase();
    let lower = lower.strip_suffix('b').unwrap_or(&lower);
    let lower = lower.strip_suffix('i').unwrap_or(lower);
    let (num, shift) = match lower.chars().last() {
        Some('k') => (&lower[..lower.len() - 1], 10),
        Some('m') => (&lower[..lower.len() - 1], 20),
        Some('g') => (&lower[..lower.len() - 1], 30),
        Some('t') => (&lower[..lower.len() - 1], 40),
        Some('p') => (&lower[..lower.len() - 1], 50),
        _ => (lower, 0),
    };
    // Rust's float syntax also reads "nan", "inf" and "1e400" (infinite); a size is none
    // of them (runc refuses them too).
    let v: f64 = num
        .trim()
        .parse()
        .ok()
        .filter(|v: &f64| v.is_finite())
        .ok_or_else(|| anyhow!("not a size like 512m or 1g"))?;
    if v < 0.0 {
        bail!("negative size (use -1 for no limit)");
    }
    Ok((v * (1u64 << shift) as f64) as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(parse_bytes("100").unwrap(), 100);
        assert_eq!(parse_bytes("512m").unwrap(), 512 << 20);
        assert_eq!(parse_bytes("1G").unwrap(), 1 << 30);
        assert_eq!(parse_bytes("2KiB").unwrap(), 2048);
        assert_eq!(parse_bytes("-1").unwrap(), -1);
        assert!(parse_bytes("-5").is_err());
        assert!(parse_bytes("lots").is_err());
    }

    #[test]
    fn sizes_are_finite_numbers() {
        // Found by proptests::bytes_refuse_near_misses: "nan" was 0 bytes, "inf" i64::MAX.
        for bad in [
            "nan", "nank", "NaN", "inf", "infinity", "-inf", "1e400", "1e400k",
        ] {
            assert!(parse_bytes(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn merge_keeps_what_is_not_given() {
        let mut a = json!({"memory": {"limit": 10, "swap": 20}, "pids": {"limit": 5}});
        merge(
            &mut a,
            &json!({"memory": {"limit": 30}, "cpu": {"shares": 2}}),
        );
        assert_eq!(
            a,
            json!({"memory": {"limit": 30, "swap": 20}, "pids": {"limit": 5}, "cpu": {"shares": 2}})
        );
    }
}
