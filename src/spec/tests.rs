//! Unit tests of `plan`: whole configs, checked across the sections.

use super::*;

fn spec(json: &str) -> Spec {
    serde_json::from_str(json).unwrap()
}

fn base(extra_linux: &str, extra: &str) -> String {
    format!(
        r#"{{"ociVersion":"1.0.2","root":{{"path":"/"}},
          "process":{{"args":["sh"],"cwd":"/","user":{{"uid":0,"gid":0}}}},
          {extra}
          "linux":{{"namespaces":[{{"type":"mount"}},{{"type":"pid"}},{{"type":"uts"}},{{"type":"network"}}]{extra_linux}}}}}"#
    )
}

#[test]
fn plans_a_plain_config() {
    let p = plan(Path::new("/tmp"), spec(&base("", r#""hostname":"h","#))).unwrap();
    assert!(p.namespaces.creates(CloneFlags::CLONE_NEWPID));
    assert!(!p.namespaces.creates(CloneFlags::CLONE_NEWIPC));
    assert_eq!(p.hostname.as_deref(), Some("h"));
    assert_eq!(p.root_propagation, MsFlags::MS_SLAVE | MsFlags::MS_REC);
    assert_eq!(p.devices.len(), 6);
}

#[test]
fn rejects_bad_version() {
    let s = base("", "").replace("1.0.2", "2.0.0");
    let e = plan(Path::new("/tmp"), spec(&s)).unwrap_err().to_string();
    assert!(e.contains("ociVersion"), "{e}");
}

#[test]
fn rejects_missing_rootfs() {
    let s = base("", "").replace(r#""path":"/""#, r#""path":"/nonexistent-rootfs""#);
    let e = plan(Path::new("/tmp"), spec(&s)).unwrap_err().to_string();
    assert!(
        e.contains("root.path") && e.contains("/nonexistent-rootfs"),
        "{e}"
    );
}

#[test]
fn rejects_hostname_without_uts() {
    let s = base("", r#""hostname":"h","#).replace(r#",{"type":"uts"}"#, "");
    let e = plan(Path::new("/tmp"), spec(&s)).unwrap_err().to_string();
    assert!(e.contains("hostname"), "{e}");
}

#[test]
fn sysctl_needs_its_namespace() {
    let ok = base(r#","sysctl":{"net.ipv4.ip_forward":"1"}"#, "");
    assert!(plan(Path::new("/tmp"), spec(&ok)).is_ok());
    let bad = base(r#","sysctl":{"kernel.shmmax":"1"}"#, "");
    let e = plan(Path::new("/tmp"), spec(&bad)).unwrap_err().to_string();
    assert!(e.contains("linux.sysctl") && e.contains("ipc"), "{e}");
    let host = base(r#","sysctl":{"vm.swappiness":"1"}"#, "");
    assert!(plan(Path::new("/tmp"), spec(&host)).is_err());
}

#[test]
fn sysctl_may_not_set_what_hostname_and_domainname_set() {
    for (key, field) in [
        ("kernel.hostname", "hostname"),
        ("kernel.domainname", "domainname"),
    ] {
        let s = base(&format!(r#","sysctl":{{"{key}":"x"}}"#), "");
        let e = plan(Path::new("/tmp"), spec(&s)).unwrap_err().to_string();
        assert!(
            e.contains("linux.sysctl") && e.contains(key) && e.contains(field),
            "{e}"
        );
    }
}

#[test]
fn joined_user_namespace_comes_first() {
    let s = base("", "").replace(
        r#"{"type":"network"}"#,
        r#"{"type":"network","path":"/proc/1/ns/net"},{"type":"user","path":"/proc/1/ns/user"}"#,
    );
    let p = plan(Path::new("/tmp"), spec(&s)).unwrap();
    assert_eq!(p.namespaces.join[0].flag, CloneFlags::CLONE_NEWUSER);
    assert_eq!(p.namespaces.join[1].flag, CloneFlags::CLONE_NEWNET);
}

#[test]
fn duplicate_namespace_is_an_error() {
    let s = base("", "").replace(r#"{"type":"uts"}"#, r#"{"type":"uts"},{"type":"uts"}"#);
    let e = plan(Path::new("/tmp"), spec(&s)).unwrap_err().to_string();
    assert!(e.contains("linux.namespaces[3]"), "{e}");
}

#[test]
fn mount_needs_type_or_bind() {
    let s = base("", r#""mounts":[{"destination":"/x"}],"#);
    let e = plan(Path::new("/tmp"), spec(&s)).unwrap_err().to_string();
    assert!(e.contains("mounts[0].type"), "{e}");
}

#[test]
fn relative_bind_source_is_bundle_relative() {
    let s = base(
        "",
        r#""mounts":[{"destination":"/x/../y","type":"bind","source":".","options":["rbind"]}],"#,
    );
    let p = plan(Path::new("/tmp"), spec(&s)).unwrap();
    assert_eq!(p.mounts[0].source.as_deref(), Some(Path::new("/tmp/.")));
    assert_eq!(p.mounts[0].destination, PathBuf::from("/y"));
}

#[test]
fn config_devices_override_defaults() {
    let s = base(
        r#","devices":[{"path":"/dev/null","type":"c","major":1,"minor":3,"fileMode":438}]"#,
        "",
    );
    let p = plan(Path::new("/tmp"), spec(&s)).unwrap();
    assert_eq!(p.devices.len(), 6);
    // A node may live outside /dev (as with runc), but must name a file.
    let s = base(
        r#","devices":[{"path":"/etc/../mnt/x","type":"c","major":1,"minor":3}]"#,
        "",
    );
    let p = plan(Path::new("/tmp"), spec(&s)).unwrap();
    assert_eq!(p.devices[0].path, Path::new("/mnt/x"));
    let s = base(
        r#","devices":[{"path":"/","type":"c","major":1,"minor":3}]"#,
        "",
    );
    assert!(plan(Path::new("/tmp"), spec(&s)).is_err());
}

#[test]
fn rejects_empty_root_path_nul_names_and_no_process() {
    let s = base("", "").replace(r#""path":"/""#, r#""path":"""#);
    let e = plan(Path::new("/tmp"), spec(&s)).unwrap_err().to_string();
    assert!(e.starts_with("root.path:"), "{e}");
    for key in ["hostname", "domainname"] {
        let s = base("", &format!(r#""{key}":"a\u0000b","#));
        let e = plan(Path::new("/tmp"), spec(&s)).unwrap_err().to_string();
        assert!(e.starts_with(&format!("{key}:")), "{e}");
    }
    let s = base("", "").replace(
        r#""process":{"args":["sh"],"cwd":"/","user":{"uid":0,"gid":0}},"#,
        "",
    );
    let e = plan(Path::new("/tmp"), spec(&s)).unwrap_err().to_string();
    assert!(e.starts_with("process: missing"), "{e}");
}
