#!/usr/bin/env python3
"""critest_images.py ROOTFS OUT — the images critest runs, made from the busybox rootfs.

There is no registry here: critest's specs create their containers from
registry.k8s.io/e2e-test-images/busybox:1.29-2 (pkg/framework/util.go) and pull it only
when the runtime does not have it, and containerd's CRI starts each pod from its
`sandbox_image`, also pulled only when missing. Both are written into one OCI image-layout
archive OUT, for `ctr -n k8s.io images import`; the layer is the rootfs, with a few
files added (see EXTRA_FILES) and applets as hard links (see write_layer).
"""

import hashlib
import io
import json
import os
import platform
import subprocess
import sys
import tarfile
import tempfile

PATH_ENV = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

# The pod's first container: it only has to stay alive until containerd kills it with
# SIGKILL, and as pid 1 of a pod sharing its PID namespace it reaps what it inherits (the
# shell's wait does). Its child is named "busybox", not "sleep": the containers of such a pod
# see it, and "execSync with timeout" checks that `pgrep sleep` finds nothing.
PAUSE_SCRIPT = "trap 'exit 0' TERM INT; while :; do busybox sleep 86400 & wait $!; done"

IMAGES = {
    "registry.k8s.io/e2e-test-images/busybox:1.29-2": {"Env": [PATH_ENV], "Cmd": ["sh"]},
    # critest's web server image (-test-images-file webServerTestImage): its specs only need
    # an HTTP 200 from port 80.
    "localhost/berth-critest/httpd:1": {
        "Env": [PATH_ENV],
        "Entrypoint": ["httpd", "-f", "-p", "80", "-h", "/var/www"],
    },
    "localhost/berth-critest/pause:1": {
        "Env": [PATH_ENV],
        "Entrypoint": ["/bin/sh", "-c", PAUSE_SCRIPT],
    },
}


def oci_arch():
    machine = platform.machine()
    return {"x86_64": "amd64", "aarch64": "arm64"}.get(machine, machine)


def add_blob(blobs, data):
    digest = hashlib.sha256(data).hexdigest()
    with open(os.path.join(blobs, digest), "wb") as f:
        f.write(data)
    return {"digest": "sha256:" + digest, "size": len(data)}


# Files added to the rootfs. Applets critest's specs run that Debian's busybox-static lacks:
# `pgrep NAME` (execSync with timeout: "pgrep sleep || true") and `ipcs -m` (HostIpc: is the
# host's segment visible?), as small scripts over /proc with the output those specs read;
# and the web server's page.
EXTRA_FILES = {
    "var/www/index.html": "<html><body>berth critest</body></html>\n",
    "bin/pgrep": """#!/bin/sh
# pgrep NAME: the pids whose command name is NAME (critest_images.py).
for d in /proc/[0-9]*; do
    read -r comm < "$d/comm" 2>/dev/null || continue
    [ "$comm" = "$1" ] && echo "${d#/proc/}"
done
true
""",
    "bin/ipcs": """#!/bin/sh
# ipcs -m: the shared memory segments of this IPC namespace (critest_images.py).
echo "------ Shared Memory Segments --------"
echo "key        shmid      owner      perms      bytes      nattch"
tail -n +2 /proc/sysvipc/shm | while read -r key id perms size cpid lpid nattch uid rest; do
    printf '0x%08x %-10s %-10s %-10s %-10s %s\\n' "$key" "$id" "$uid" "$perms" "$size" "$nattch"
done
""",
}


def write_layer(rootfs, out):
    """The rootfs as a tar layer. Applet symlinks to busybox become hard links, as in the
    busybox images of registries: masking one applet (MaskedPaths "/bin/ls") must not mask
    the binary every other applet is."""
    with tarfile.open(out, "w", format=tarfile.PAX_FORMAT) as tar:
        for dirpath, dirnames, filenames in os.walk(rootfs):
            dirnames.sort()
            # The busybox binary before the applets that become links to it.
            files = sorted(filenames, key=lambda n: (os.path.islink(os.path.join(dirpath, n)), n))
            for name in [""] + sorted(dirnames) + files:
                path = os.path.join(dirpath, name) if name else dirpath
                rel = os.path.relpath(path, rootfs)
                if rel == ".berth-rootfs" or (name == "" and dirpath != rootfs):
                    continue
                info = tar.gettarinfo(path, arcname=rel)
                info.uname = info.gname = ""
                if info.issym() and info.linkname == "busybox":
                    info.type = tarfile.LNKTYPE
                    info.linkname = os.path.join(os.path.dirname(rel), "busybox")
                    info.size, info.mode = 0, 0o755
                if info.isreg():
                    with open(path, "rb") as f:
                        tar.addfile(info, f)
                else:
                    tar.addfile(info)
        for rel, text in EXTRA_FILES.items():
            if os.path.lexists(os.path.join(rootfs, rel)):
                continue
            if not os.path.isdir(os.path.join(rootfs, os.path.dirname(rel))):
                info = tarfile.TarInfo(os.path.dirname(rel))
                info.type, info.mode = tarfile.DIRTYPE, 0o755
                tar.addfile(info)
            data = text.encode()
            info = tarfile.TarInfo(rel)
            info.mode, info.size = (0o755 if text.startswith("#!") else 0o644), len(data)
            tar.addfile(info, io.BytesIO(data))


def main():
    rootfs, out = sys.argv[1], sys.argv[2]
    with tempfile.TemporaryDirectory(dir=os.path.dirname(os.path.abspath(out))) as layout:
        blobs = os.path.join(layout, "blobs", "sha256")
        os.makedirs(blobs)
        layer_tmp = os.path.join(layout, "layer.tar")
        write_layer(rootfs, layer_tmp)
        h = hashlib.sha256()
        with open(layer_tmp, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                h.update(chunk)
        layer_digest = "sha256:" + h.hexdigest()
        layer_size = os.path.getsize(layer_tmp)
        os.rename(layer_tmp, os.path.join(blobs, h.hexdigest()))
        manifests = []
        for name, config in IMAGES.items():
            image_config = {
                "architecture": oci_arch(), "os": "linux", "config": config,
                "rootfs": {"type": "layers", "diff_ids": [layer_digest]},
            }
            cblob = add_blob(blobs, json.dumps(image_config).encode())
            manifest = {
                "schemaVersion": 2,
                "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "config": {"mediaType": "application/vnd.oci.image.config.v1+json", **cblob},
                "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar",
                            "digest": layer_digest, "size": layer_size}],
            }
            mblob = add_blob(blobs, json.dumps(manifest).encode())
            manifests.append({
                "mediaType": "application/vnd.oci.image.manifest.v1+json", **mblob,
                "annotations": {"org.opencontainers.image.ref.name": name},
            })
        with open(os.path.join(layout, "index.json"), "w") as f:
            json.dump({"schemaVersion": 2, "manifests": manifests}, f)
        with open(os.path.join(layout, "oci-layout"), "w") as f:
            json.dump({"imageLayoutVersion": "1.0.0"}, f)
        subprocess.run(["tar", "-C", layout, "-cf", out + ".tmp", "index.json", "oci-layout",
                        "blobs"], check=True)
        os.rename(out + ".tmp", out)


if __name__ == "__main__":
    main()
