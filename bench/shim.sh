#!/usr/bin/env bash
# shim.sh — containerd-shim-berth-v2 against containerd-shim-runc-v2, side by side in one
# run, on a containerd of its own (private dirs, private mount namespace with its own
# /run/containerd, as the engine tests do):
#   1. memory per container: N detached `sleep` tasks through each shim; the sum of the
#      shims' RSS and PSS (/proc/PID/smaps_rollup) divided by N.
#   2. latency: `ctr run --rm ... true` through each shim (one hyperfine run, ratio of
#      the means). The rootfs is a directory (--rootfs), so no snapshot work is timed.
#
# Env: SHIM=/path (default target/release/containerd-shim-berth-v2), N=50, RUNS=20,
#      WARMUP=3, ROOTFS=/path (default bundles/rootfs).
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SHIM=${SHIM:-$REPO/target/release/containerd-shim-berth-v2}
N=${N:-50}
RUNS=${RUNS:-20}
WARMUP=${WARMUP:-3}
ROOTFS=${ROOTFS:-$REPO/bundles/rootfs}

if [ "${1:-}" != "--inside" ]; then
    [ -x "$SHIM" ] || { echo "shim.sh: $SHIM not built (make build)" >&2; exit 1; }
    command -v containerd-shim-runc-v2 >/dev/null || { echo "shim.sh: containerd not installed" >&2; exit 1; }
    D=$(mktemp -d /tmp/berth-shim-bench.XXXXXX)
    trap 'rm -rf "$D"' EXIT
    export D SHIM N RUNS WARMUP ROOTFS
    unshare -m --propagation private bash "$0" --inside
    exit
fi

# ctr puts each container in the cgroup /$NS/ID: a name of our own, removed at the end.
NS=berth-shim-bench
mkdir -p "$D/run" "$D/bin"
mount --bind "$D/run" /run/containerd
ln -s "$SHIM" "$D/bin/containerd-shim-berth-v2"
cat > "$D/config.toml" <<TOML
version = 2
root = "$D/root"
state = "$D/state"
disabled_plugins = ["io.containerd.grpc.v1.cri", "io.containerd.internal.v1.opt", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.aufs", "io.containerd.tracing.processor.v1.otlp"]
[grpc]
  address = "$D/c.sock"
[ttrpc]
  address = "$D/c.sock.ttrpc"
[debug]
  address = ""
[metrics]
  address = ""
TOML
PATH="$D/bin:$PATH" containerd --config "$D/config.toml" > "$D/containerd.log" 2>&1 &
CPID=$!
cleanup() {
    for id in $(ctr -a "$D/c.sock" -n "$NS" tasks ls -q 2>/dev/null); do
        ctr -a "$D/c.sock" -n "$NS" tasks kill -a -s SIGKILL "$id" >/dev/null 2>&1 || true
    done
    sleep 1
    for id in $(ctr -a "$D/c.sock" -n "$NS" containers ls -q 2>/dev/null); do
        ctr -a "$D/c.sock" -n "$NS" tasks rm -f "$id" >/dev/null 2>&1 || true
        ctr -a "$D/c.sock" -n "$NS" containers rm "$id" >/dev/null 2>&1 || true
    done
    kill "$CPID" 2>/dev/null || true
    wait "$CPID" 2>/dev/null || true
    for d in /sys/fs/cgroup/*/"$NS" /sys/fs/cgroup/"$NS"; do
        [ -d "$d" ] && rmdir "$d" 2>/dev/null || true
    done
}
trap cleanup EXIT
C="ctr -a $D/c.sock -n $NS"
for _ in $(seq 100); do $C version >/dev/null 2>&1 && break; sleep 0.1; done

# The number of processes running $1 for this namespace, and their RSS and PSS in kB.
mem_of() {
    local rss=0 pss=0 n=0
    for p in $(pgrep -f "$1 -namespace $NS "); do
        read -r r s < <(awk '/^Rss:/{r=$2} /^Pss:/{s=$2} END{print r, s}' /proc/$p/smaps_rollup)
        rss=$((rss + r)); pss=$((pss + s)); n=$((n + 1))
    done
    echo "$n $rss $pss"
}

declare -A RUNTIME=([berth]=io.containerd.berth.v2 [runc]=io.containerd.runc.v2)
declare -A BIN=([berth]=containerd-shim-berth-v2 [runc]=containerd-shim-runc-v2)
for k in berth runc; do
    for i in $(seq "$N"); do
        $C run -d --runtime "${RUNTIME[$k]}" --rootfs "$ROOTFS" "mem-$k-$i" /bin/sleep 600 >/dev/null
    done
    # The berth shim drops the code it no longer runs a second after its last event.
    sleep 2
    read -r n rss pss < <(mem_of "${BIN[$k]}")
    echo "$k: $n shims for $N containers: RSS $((rss / N)) kB, PSS $((pss / N)) kB per container"
    eval "RSS_$k=$((rss / N)) PSS_$k=$((pss / N))"
    for i in $(seq "$N"); do
        $C tasks kill -s SIGKILL "mem-$k-$i" >/dev/null
    done
    sleep 1
    for i in $(seq "$N"); do
        $C tasks rm "mem-$k-$i" >/dev/null 2>&1 || true
        $C containers rm "mem-$k-$i" >/dev/null
    done
done
echo "RSS per container: berth shim / runc shim = $(awk "BEGIN{printf \"%.3f\", $RSS_berth/$RSS_runc}")"
echo "PSS per container: berth shim / runc shim = $(awk "BEGIN{printf \"%.3f\", $PSS_berth/$PSS_runc}")"

command -v hyperfine >/dev/null || { echo "shim.sh: no hyperfine, latency skipped"; exit 0; }
hyperfine -N --runs "$RUNS" --warmup "$WARMUP" --export-json "$D/h.json" \
    -n berth-shim "$C run --rm --runtime io.containerd.berth.v2 --rootfs $ROOTFS lat-b /bin/true" \
    -n runc-shim "$C run --rm --runtime io.containerd.runc.v2 --rootfs $ROOTFS lat-r /bin/true"
python3 - "$D/h.json" <<'PY'
import json, sys
r = {x["command"]: x["mean"] for x in json.load(open(sys.argv[1]))["results"]}
print(f"ctr run --rm true: berth shim {r['berth-shim']*1000:.1f} ms, runc shim "
      f"{r['runc-shim']*1000:.1f} ms, ratio {r['berth-shim']/r['runc-shim']:.2f}")
PY
