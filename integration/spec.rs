//! `spec`: the starter config.json must be runc's, be refused over an existing file, and run.

use crate::common::*;
use serde_json::{json, Value};
use std::fs;
use std::process::Command;

/// What `runc spec [extra]` writes, or None when runc is not installed.
fn runc_spec(extra: &[&str]) -> Option<Value> {
    let dir = TempDir::new("runc-spec");
    let mut cmd = Command::new("runc");
    cmd.arg("spec").args(extra).arg("--bundle").arg(dir.path());
    match cmd.output() {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => panic!("cannot run runc: {e}"),
        Ok(out) => {
            assert!(out.status.success(), "runc spec failed: {out:?}");
            let text = fs::read_to_string(dir.path().join("config.json")).unwrap();
            Some(serde_json::from_str(&text).unwrap())
        }
    }
}

/// Runs `berth spec [extra] --bundle DIR` and returns config.json, parsed.
fn berth_spec(b: &Berth, dir: &TempDir, extra: &[&str]) -> Value {
    let mut args = vec!["spec"];
    args.extend_from_slice(extra);
    args.extend_from_slice(&["--bundle", dir.path_str()]);
    b.run(&args).ok();
    let text = fs::read_to_string(dir.path().join("config.json")).unwrap();
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("config.json is not JSON ({e}): {text}"))
}

fn namespace_types(v: &Value) -> Vec<String> {
    v["linux"]["namespaces"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["type"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn spec_writes_runcs_default() {
    let b = Berth::new("spec-default");
    let dir = TempDir::new("spec-default");
    let v = berth_spec(&b, &dir, &[]);
    assert_eq!(dir.entries(), ["config.json"]);
    match runc_spec(&[]) {
        Some(want) => assert_eq!(v, want, "berth spec differs from runc spec"),
        None => {
            assert_eq!(v["process"]["terminal"], true);
            assert_eq!(v["process"]["args"], json!(["sh"]));
            assert_eq!(v["root"], json!({"path": "rootfs", "readonly": true}));
            assert_eq!(
                namespace_types(&v),
                ["pid", "network", "ipc", "uts", "mount"]
            );
            assert_eq!(v["mounts"].as_array().unwrap().len(), 7);
            assert!(v["linux"]["resources"]["devices"].is_array());
        }
    }
}

#[test]
fn spec_rootless_writes_runcs_rootless_default() {
    let b = Berth::new("spec-rootless");
    let dir = TempDir::new("spec-rootless");
    let v = berth_spec(&b, &dir, &["--rootless"]);
    match runc_spec(&["--rootless"]) {
        Some(want) => assert_eq!(v, want, "berth spec --rootless differs from runc's"),
        None => {
            assert_eq!(namespace_types(&v), ["pid", "ipc", "uts", "mount", "user"]);
            let uid = unsafe { libc::geteuid() };
            assert_eq!(
                v["linux"]["uidMappings"],
                json!([{"containerID": 0, "hostID": uid, "size": 1}])
            );
            assert!(v["linux"].get("resources").is_none());
        }
    }
}

#[test]
fn spec_refuses_existing_config() {
    let b = Berth::new("spec-exists");
    let dir = TempDir::new("spec-exists");
    let path = dir.path().join("config.json");
    fs::write(&path, "not mine to replace").unwrap();
    let out = b.run(&["spec", "--bundle", dir.path_str()]).fails();
    assert!(
        out.stderr
            .contains("File config.json exists. Remove it first"),
        "runc's wording expected: {out}"
    );
    assert_eq!(fs::read_to_string(&path).unwrap(), "not mine to replace");
    // The rootless variant checks too.
    b.run(&["spec", "--rootless", "-b", dir.path_str()]).fails();
    assert_eq!(fs::read_to_string(&path).unwrap(), "not mine to replace");
}

#[test]
fn spec_missing_bundle_dir_fails() {
    let b = Berth::new("spec-nodir");
    let dir = TempDir::new("spec-nodir");
    let missing = dir.path().join("absent");
    let out = b
        .run(&["spec", "--bundle", missing.to_str().unwrap()])
        .fails();
    assert!(
        out.stderr.contains(&format!(
            "chdir {}: no such file or directory",
            missing.display()
        )),
        "{out}"
    );
    assert!(!missing.exists());
}

#[test]
fn spec_config_runs_a_container() {
    let b = Berth::new("spec-run");
    let bundle = Bundle::new("spec-run");
    b.run(&["spec", "--bundle", bundle.path_str()]).ok();
    // Edit the generated file the way the man page suggests (a command, no terminal).
    let path = bundle.config_path();
    let mut v: Value = serde_json::from_str(&fs::read_to_string(&path).unwrap()).unwrap();
    v["process"]["args"] = json!(["sh", "-c", "echo hello from $(hostname); id -u"]);
    v["process"]["terminal"] = json!(false);
    fs::write(&path, serde_json::to_string_pretty(&v).unwrap()).unwrap();
    let id = b.id("spec-run");
    let out = b.run(&["run", "--bundle", bundle.path_str(), &id]).ok();
    assert_eq!(out.stdout, "hello from runc\n0\n", "{out}");
    assert_no_processes(&bundle);
}
