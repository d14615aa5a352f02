//! The test images, made from the busybox rootfs (there is no registry here): a tarball for
//! `podman import`/`docker import`, an OCI image-layout archive for `ctr images import`.

use super::support::ENGINE_TIMEOUT;
use crate::common::{rootfs_src, run_command, Output};
use serde_json::json;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The image every engine imports from the rootfs tarball.
pub const IMAGE: &str = "localhost/berth-busybox:test";
/// The same rootfs with USER/WORKDIR/ENV set in the image config.
pub const USER_IMAGE: &str = "localhost/berth-busybox:user";

/// Imports [`IMAGE`] and [`USER_IMAGE`] with `import`, the command podman and Docker share:
/// `engine` runs one engine command.
pub fn import_with_cli(dir: &Path, engine: impl Fn(&[&str]) -> Output) {
    let tar = rootfs_tarball(dir);
    let tar = tar.to_str().unwrap();
    engine(&["import", tar, IMAGE]).ok();
    engine(&[
        "import",
        "--change",
        "USER berth",
        "--change",
        "WORKDIR /home/berth",
        "--change",
        "ENV FOO=from-image",
        tar,
        USER_IMAGE,
    ])
    .ok();
}

/// A tarball of the busybox rootfs, the input of `podman import`/`docker import` and the layer
/// of the OCI image given to containerd.
fn rootfs_tarball(dest: &Path) -> PathBuf {
    let src = rootfs_src();
    assert!(
        src.join("bin/busybox").exists(),
        "no busybox rootfs at {} (run `make rootfs` or set BERTH_ROOTFS)",
        src.display()
    );
    let tar = dest.join("rootfs.tar");
    let mut cmd = Command::new("tar");
    cmd.arg("-C")
        .arg(&src)
        .arg("--numeric-owner")
        .arg("-cf")
        .arg(&tar)
        .arg(".");
    run_command(cmd, ENGINE_TIMEOUT).ok();
    tar
}

fn sha256_hex(path: &Path) -> String {
    let mut cmd = Command::new("sha256sum");
    cmd.arg(path);
    let out = run_command(cmd, ENGINE_TIMEOUT).ok();
    out.stdout.split_whitespace().next().unwrap().to_string()
}

/// Writes `bytes` as a content-addressed blob; returns (digest, size).
fn add_blob(blobs: &Path, bytes: &[u8]) -> (String, usize) {
    let tmp = blobs.join("incoming");
    fs::write(&tmp, bytes).unwrap();
    let hex = sha256_hex(&tmp);
    fs::rename(&tmp, blobs.join(&hex)).unwrap();
    (format!("sha256:{hex}"), bytes.len())
}

/// Builds an OCI image-layout archive holding [`IMAGE`] and [`USER_IMAGE`] (one layer: the
/// busybox rootfs) for `ctr images import`; containerd has no equivalent of `docker import`.
pub fn oci_archive(dir: &Path) -> PathBuf {
    let layout = dir.join("oci-layout");
    let blobs = layout.join("blobs/sha256");
    fs::create_dir_all(&blobs).unwrap();
    let tar = rootfs_tarball(dir);
    let layer_hex = sha256_hex(&tar);
    let layer_size = fs::metadata(&tar).unwrap().len();
    fs::rename(&tar, blobs.join(&layer_hex)).unwrap();
    let path_env = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
    let images = [
        (IMAGE, json!({"Env": [path_env], "Cmd": ["sh"]})),
        (
            USER_IMAGE,
            json!({"Env": [path_env, "FOO=from-image"], "Cmd": ["sh"],
                   "User": "berth", "WorkingDir": "/home/berth"}),
        ),
    ];
    let mut manifests = Vec::new();
    for (name, config) in images {
        let config = json!({
            "architecture": oci_arch(), "os": "linux", "config": config,
            "rootfs": {"type": "layers", "diff_ids": [format!("sha256:{layer_hex}")]}
        });
        let (cdig, csize) = add_blob(&blobs, config.to_string().as_bytes());
        let manifest = json!({
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                       "digest": cdig, "size": csize},
            "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar",
                        "digest": format!("sha256:{layer_hex}"), "size": layer_size}]
        });
        let (mdig, msize) = add_blob(&blobs, manifest.to_string().as_bytes());
        manifests.push(json!({
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "digest": mdig, "size": msize,
            "annotations": {"org.opencontainers.image.ref.name": name}
        }));
    }
    let index = json!({"schemaVersion": 2, "manifests": manifests});
    fs::write(layout.join("index.json"), index.to_string()).unwrap();
    fs::write(
        layout.join("oci-layout"),
        r#"{"imageLayoutVersion":"1.0.0"}"#,
    )
    .unwrap();
    let archive = dir.join("image.oci.tar");
    let mut cmd = Command::new("tar");
    cmd.arg("-C").arg(&layout).arg("-cf").arg(&archive).arg(".");
    run_command(cmd, ENGINE_TIMEOUT).ok();
    let _ = fs::remove_dir_all(&layout);
    archive
}

/// This machine's architecture as OCI images name it (containerd only runs matching images).
fn oci_arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        other => other,
    }
}
