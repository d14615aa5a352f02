#!/usr/bin/env bash
# bench.sh — compare berth against runc (and crun) on a create/start/delete cycle.
#
# Phase 1 (this host, hybrid cgroups): ONE hyperfine run, berth vs runc, each
#   timing `create --bundle B ID && start ID && delete -f ID` of a container
#   whose process is `true`. Prints the berth/runc ratio of the means.
# Phase 1b: `exec ID true` into a running (sleeping) container, berth vs runc,
#   with the ratio of the means.
# Phase 1c: the create/start/delete cycle with bench/seccomp-default.json (a
#   Docker-like default profile: ~350 allowed syscalls, argument rules, clone3 ->
#   ENOSYS, x86_64 + x86 + x32) as linux.seccomp: berth with its program cache
#   warm and cold (emptied before each run, so libseccomp compiles every time),
#   berth without seccomp, and runc with and without it. Prints what seccomp adds.
# Phase 2 (pure cgroup-v2 view: a private mount namespace with cgroup2 mounted
#   on /sys/fs/cgroup; hyperfine itself runs inside it): berth vs
#   `crun --cgroup-manager=disabled` (crun refuses hybrid hosts) vs runc
#   (skipped with a note if it fails there).
# Then: peak RSS of each runtime's `create` (/usr/bin/time -f %M), binary
#   sizes, and a summary table.
#
# Env overrides:
#   BERTH=/path     berth binary (default: target/release/berth). Point it at
#                   runc to check the script itself before berth works.
#   RUNC=/path CRUN=/path
#   RUNS=30 WARMUP=5   hyperfine --min-runs / --warmup
#   SKIP_V2=1       skip phase 2
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SELF="$REPO/bench/bench.sh"
BERTH=${BERTH:-$REPO/target/release/berth}
RUNC=${RUNC:-$(command -v runc || true)}
CRUN=${CRUN:-$(command -v crun || true)}
RUNS=${RUNS:-30}
WARMUP=${WARMUP:-5}
ROOTFS="$REPO/bundles/rootfs"
RUNROOT=/run/berth-bench

die() { echo "bench: error: $*" >&2; exit 1; }
note() { echo "bench: $*" >&2; }
q() { printf '%q' "$1"; }

# ---------------------------------------------------------------------------
# Shared helpers (used in both phases)

# cycle_cmd RT ROOT BUNDLE ID -> the shell command hyperfine times.
# RT may carry flags ("crun --cgroup-manager=disabled"), so it is not quoted.
cycle_cmd() {
    local rt=$1 root; root=$(q "$2"); local bundle; bundle=$(q "$3"); local id=$4
    echo "$rt --root $root create --bundle $bundle $id && $rt --root $root start $id && $rt --root $root delete -f $id"
}

cleanup_cmd() {
    local rt=$1 root; root=$(q "$2"); local id=$3
    echo "$rt --root $root delete -f $id >/dev/null 2>&1 || true"
}

# peak_rss RT ROOT BUNDLE ID -> max RSS (KB) of `RT create` over 3 tries.
peak_rss() {
    local rt=$1 root=$2 bundle=$3 id=$4 max=0 kb i out
    out=$(mktemp)
    for i in 1 2 3; do
        # shellcheck disable=SC2086  # $rt may carry flags
        if ! /usr/bin/time -f %M -o "$out" $rt --root "$root" create --bundle "$bundle" "$id" \
            </dev/null >/dev/null 2>&1; then
            # shellcheck disable=SC2086
            $rt --root "$root" delete -f "$id" >/dev/null 2>&1 || true
            rm -f "$out"; echo "n/a"; return
        fi
        kb=$(tail -n1 "$out")
        # shellcheck disable=SC2086
        $rt --root "$root" delete -f "$id" >/dev/null 2>&1 || true
        [ "$kb" -gt "$max" ] && max=$kb
    done
    rm -f "$out"
    echo "$max"
}

# smoke RT ROOT BUNDLE ID -> succeeds if one full cycle works and `state`
# reports "created" in between (so a stub that exits 0 does not pass).
smoke() {
    local rt=$1 root=$2 bundle=$3 id=$4 status
    : > "$WORK/smoke.err"
    # shellcheck disable=SC2086  # $rt may carry flags
    if $rt --root "$root" create --bundle "$bundle" "$id" </dev/null >/dev/null 2>>"$WORK/smoke.err"; then
        # shellcheck disable=SC2086
        status=$($rt --root "$root" state "$id" 2>>"$WORK/smoke.err" | jq -r .status 2>>"$WORK/smoke.err" || true)
        # shellcheck disable=SC2086
        if [ "$status" = created ] \
            && $rt --root "$root" start "$id" >/dev/null 2>>"$WORK/smoke.err" \
            && $rt --root "$root" delete -f "$id" >/dev/null 2>>"$WORK/smoke.err"; then
            return 0
        fi
        [ "$status" = created ] || echo "'$rt state $id' reported status '${status}', expected 'created'" >> "$WORK/smoke.err"
    fi
    sh -c "$(cleanup_cmd "$rt" "$root" "$id")"
    return 1
}

# run_hyperfine JSON NAME1 RT1 NAME2 RT2 ... ; uses $BUNDLE, $ID, $RUNROOT/<phase>-<name>
run_hyperfine() {
    local json=$1 phase=$2; shift 2
    local args=(--warmup "$WARMUP" --min-runs "$RUNS" --export-json "$json")
    while [ $# -gt 0 ]; do
        local name=$1 rt=$2 root="$RUNROOT/$phase-$1"; shift 2
        mkdir -p "$root"
        args+=(--prepare "$(cleanup_cmd "$rt" "$root" "$ID")"
               --command-name "$name" "$(cycle_cmd "$rt" "$root" "$BUNDLE" "$ID")")
    done
    hyperfine "${args[@]}"
}

mean_ms() { jq -r --arg n "$2" '.results[] | select(.command == $n) | .mean * 1000' "$1"; }
stddev_ms() { jq -r --arg n "$2" '.results[] | select(.command == $n) | .stddev * 1000' "$1"; }
median_ms() { jq -r --arg n "$2" '.results[] | select(.command == $n) | .median * 1000' "$1"; }

# record PHASE NAME RT JSON -> one TSV line into $WORK/results.tsv
record() {
    local phase=$1 name=$2 rt=$3 json=$4 bin
    bin=${rt%% *}
    local mean sd med rss size stripped
    mean=$(mean_ms "$json" "$name"); sd=$(stddev_ms "$json" "$name"); med=$(median_ms "$json" "$name")
    rss=$(peak_rss "$rt" "$RUNROOT/$phase-$name" "$BUNDLE" "$ID-rss")
    size=$(stat -L -c %s "$bin")
    if LC_ALL=C file -L "$bin" 2>/dev/null | grep -q 'not stripped'; then stripped=no
    elif LC_ALL=C file -L "$bin" 2>/dev/null | grep -q 'stripped'; then stripped=yes
    else stripped='?'; fi
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' \
        "$phase" "$name" "$mean" "$sd" "$rss" "$size" "$stripped" "$bin" "$med" >> "$WORK/results.tsv"
}

# ---------------------------------------------------------------------------
# Phase 2: runs inside `unshare -m` with cgroup2 on /sys/fs/cgroup.
if [ "${1:-}" = "--inside-v2" ]; then
    : "${WORK:?}" "${BUNDLE:?}" "${ID:?}"
    if [ "$(stat -f -c %T /sys/fs/cgroup)" != cgroup2fs ]; then
        die "phase 2: /sys/fs/cgroup is not cgroup2 inside the private mount namespace"
    fi
    CRUN_RT="$CRUN --cgroup-manager=disabled"
    trap 'rm -rf "$RUNROOT"/v2-*' EXIT
    mkdir -p "$RUNROOT/v2-berth" "$RUNROOT/v2-crun" "$RUNROOT/v2-runc"

    set -- berth "$BERTH" crun "$CRUN_RT"
    if ! smoke "$BERTH" "$RUNROOT/v2-berth" "$BUNDLE" "$ID"; then
        cat "$WORK/smoke.err" >&2
        die "phase 2: berth failed one create/start/delete cycle in the cgroup-v2 view"
    fi
    if ! smoke "$CRUN_RT" "$RUNROOT/v2-crun" "$BUNDLE" "$ID"; then
        cat "$WORK/smoke.err" >&2
        die "phase 2: crun failed one create/start/delete cycle in the cgroup-v2 view"
    fi
    if [ -n "$RUNC" ] && smoke "$RUNC" "$RUNROOT/v2-runc" "$BUNDLE" "$ID"; then
        set -- "$@" runc "$RUNC"
    else
        note "NOTE: runc does not work in the cgroup-v2 view here; skipping it in phase 2:"
        sed 's/^/    /' "$WORK/smoke.err" >&2 || true
    fi

    echo
    echo "=== Phase 2: pure cgroup-v2 view (unshare -m + cgroup2 on /sys/fs/cgroup) ==="
    run_hyperfine "$WORK/v2.json" v2 "$@"
    while [ $# -gt 0 ]; do record v2 "$1" "$2" "$WORK/v2.json"; shift 2; done
    exit 0
fi

# ---------------------------------------------------------------------------
# Preconditions

[ "$(id -u)" = 0 ] || die "must run as root (containers need namespaces and cgroups)"
if [ ! -x "$BERTH" ]; then
    die "berth binary not found at $BERTH — run 'make build' first (or set BERTH=/path/to/runtime)"
fi
for tool in hyperfine jq /usr/bin/time unshare; do
    command -v "$tool" >/dev/null 2>&1 || die "$tool is missing — run 'make deps'"
done
[ -n "$RUNC" ] && [ -x "$RUNC" ] || die "runc is missing — run 'make deps'"
bash "$REPO/bundles/mkrootfs.sh" "$ROOTFS"

WORK=$(mktemp -d /tmp/berth-bench.XXXXXX)
BUNDLE="$WORK/bundle"
ID="bench-$$"
export WORK BUNDLE ID BERTH RUNC CRUN RUNS WARMUP
cleanup() {
    local r
    for r in "$RUNROOT"/hybrid-*; do
        [ -d "$r" ] || continue
        for i in "$ID" "$ID-exec"; do
            "$BERTH" --root "$r" delete -f "$i" >/dev/null 2>&1 || true
            "$RUNC" --root "$r" delete -f "$i" >/dev/null 2>&1 || true
        done
    done
    umount "$WORK/ro" 2>/dev/null || true
    rm -rf "$RUNROOT"/hybrid-* "$RUNROOT"/seccomp-* "$WORK"
    rmdir "$RUNROOT" 2>/dev/null || true
}
trap cleanup EXIT

# The bench bundle: bundles/hello's config, process `true`, rootfs by absolute
# path. The same config is used for every runtime in every comparison.
mkdir -p "$BUNDLE"
jq --arg rootfs "$ROOTFS" '.process.args = ["true"] | .root.path = $rootfs' \
    "$REPO/bundles/hello/config.json" > "$BUNDLE/config.json"

# ---------------------------------------------------------------------------
# Phase 1: this host (hybrid cgroups), berth vs runc.

: > "$WORK/results.tsv"
if ! smoke "$BERTH" "$RUNROOT/hybrid-berth" "$BUNDLE" "$ID"; then
    cat "$WORK/smoke.err" >&2
    die "berth ($BERTH) failed one create/start/delete cycle on this host"
fi
if ! smoke "$RUNC" "$RUNROOT/hybrid-runc" "$BUNDLE" "$ID"; then
    cat "$WORK/smoke.err" >&2
    die "runc ($RUNC) failed one create/start/delete cycle on this host"
fi

# The same berth binary on a read-only mount: it then skips its re-exec from a
# read-only copy (the CVE-2019-5736 guard), so the difference is that guard's cost.
mkdir -p "$WORK/ro"
cp "$BERTH" "$WORK/ro/berth"
mount --bind "$WORK/ro" "$WORK/ro"
mount -o remount,bind,ro "$WORK/ro"
BERTH_RO="$WORK/ro/berth"

echo "=== Phase 1: this host (hybrid cgroups) ==="
echo "berth    = $BERTH"
echo "berth-ro = $BERTH_RO (same binary on a read-only mount: no protective re-exec)"
echo "runc     = $RUNC"
run_hyperfine "$WORK/hybrid.json" hybrid berth "$BERTH" berth-ro "$BERTH_RO" runc "$RUNC"
b=$(mean_ms "$WORK/hybrid.json" berth); r=$(mean_ms "$WORK/hybrid.json" runc)
bm=$(median_ms "$WORK/hybrid.json" berth); rm_=$(median_ms "$WORK/hybrid.json" runc)
echo
printf 'berth/runc ratio of means:   %.3f  (berth %.2f ms, runc %.2f ms)\n' \
    "$(jq -n --argjson b "$b" --argjson r "$r" '$b / $r')" "$b" "$r"
printf 'berth/runc ratio of medians: %.3f  (berth %.2f ms, runc %.2f ms)\n' \
    "$(jq -n --argjson b "$bm" --argjson r "$rm_" '$b / $r')" "$bm" "$rm_"
ro=$(mean_ms "$WORK/hybrid.json" berth-ro)
printf 'cost of the binary-protection re-exec: %.2f ms (berth %.2f ms vs berth-ro %.2f ms)\n' \
    "$(jq -n --argjson b "$b" --argjson r "$ro" '$b - $r')" "$b" "$ro"
record hybrid berth "$BERTH" "$WORK/hybrid.json"
record hybrid berth-ro "$BERTH_RO" "$WORK/hybrid.json"
record hybrid runc "$RUNC" "$WORK/hybrid.json"

# ---------------------------------------------------------------------------
# Phase 1b: `exec ID true` into a running container (what engines' probes cost).

EXEC_BUNDLE="$WORK/exec-bundle"
mkdir -p "$EXEC_BUNDLE"
jq '.process.args = ["sleep", "3600"]' "$BUNDLE/config.json" > "$EXEC_BUNDLE/config.json"
EXEC_ID="$ID-exec"
for name in berth runc; do
    if [ "$name" = berth ]; then rt=$BERTH; else rt=$RUNC; fi
    mkdir -p "$RUNROOT/hybrid-exec-$name"
    "$rt" --root "$RUNROOT/hybrid-exec-$name" run -d --bundle "$EXEC_BUNDLE" "$EXEC_ID" \
        </dev/null >/dev/null || die "$rt: cannot start the container for the exec benchmark"
done
# berth-ro shares berth's state root: the same container, the same binary.
exec_cmd() { echo "$1 --root $(q "$RUNROOT/hybrid-exec-$2") exec $EXEC_ID true"; }
echo
echo "=== Phase 1b: exec ID true into a running container ==="
hyperfine --warmup "$WARMUP" --min-runs "$RUNS" --export-json "$WORK/exec.json" \
    --command-name berth "$(exec_cmd "$BERTH" berth)" \
    --command-name berth-ro "$(exec_cmd "$BERTH_RO" berth)" \
    --command-name runc "$(exec_cmd "$RUNC" runc)"
"$BERTH" --root "$RUNROOT/hybrid-exec-berth" delete -f "$EXEC_ID" >/dev/null 2>&1 || true
"$RUNC" --root "$RUNROOT/hybrid-exec-runc" delete -f "$EXEC_ID" >/dev/null 2>&1 || true
eb=$(mean_ms "$WORK/exec.json" berth); er=$(mean_ms "$WORK/exec.json" runc)
ebro=$(mean_ms "$WORK/exec.json" berth-ro)
echo
printf 'exec: berth/runc ratio of means: %.3f  (berth %.2f ms, berth-ro %.2f ms, runc %.2f ms)\n' \
    "$(jq -n --argjson b "$eb" --argjson r "$er" '$b / $r')" "$eb" "$ebro" "$er"

# ---------------------------------------------------------------------------
# Phase 1c: the same cycle with a Docker-like seccomp profile.

SC_BUNDLE="$WORK/seccomp-bundle"
SC_CACHE=/run/berth-cache/seccomp
mkdir -p "$SC_BUNDLE"
jq --slurpfile p "$REPO/bench/seccomp-default.json" '.linux.seccomp = $p[0]' \
    "$BUNDLE/config.json" > "$SC_BUNDLE/config.json"
sc_root() { echo "$RUNROOT/hybrid-seccomp-$1"; }
for name in berth berth-cold berth-off runc runc-off; do mkdir -p "$(sc_root "$name")"; done
if ! smoke "$BERTH" "$(sc_root berth)" "$SC_BUNDLE" "$ID"; then
    cat "$WORK/smoke.err" >&2
    die "berth failed one create/start/delete cycle with the seccomp profile"
fi
echo
echo "=== Phase 1c: create + start + delete with a Docker-like seccomp profile ==="
echo "berth      = with the profile; its compiled program cached (what an engine sees)"
echo "berth-cold = with the profile; cache emptied before each run (libseccomp compiles)"
echo "berth-off, runc-off = without seccomp"
hyperfine --warmup "$WARMUP" --min-runs "$RUNS" --export-json "$WORK/seccomp.json" \
    --prepare "$(cleanup_cmd "$BERTH" "$(sc_root berth)" "$ID")" \
    --command-name berth "$(cycle_cmd "$BERTH" "$(sc_root berth)" "$SC_BUNDLE" "$ID")" \
    --prepare "rm -rf $SC_CACHE; $(cleanup_cmd "$BERTH" "$(sc_root berth-cold)" "$ID")" \
    --command-name berth-cold "$(cycle_cmd "$BERTH" "$(sc_root berth-cold)" "$SC_BUNDLE" "$ID")" \
    --prepare "$(cleanup_cmd "$BERTH" "$(sc_root berth-off)" "$ID")" \
    --command-name berth-off "$(cycle_cmd "$BERTH" "$(sc_root berth-off)" "$BUNDLE" "$ID")" \
    --prepare "$(cleanup_cmd "$RUNC" "$(sc_root runc)" "$ID")" \
    --command-name runc "$(cycle_cmd "$RUNC" "$(sc_root runc)" "$SC_BUNDLE" "$ID")" \
    --prepare "$(cleanup_cmd "$RUNC" "$(sc_root runc-off)" "$ID")" \
    --command-name runc-off "$(cycle_cmd "$RUNC" "$(sc_root runc-off)" "$BUNDLE" "$ID")"
sb=$(mean_ms "$WORK/seccomp.json" berth); sbc=$(mean_ms "$WORK/seccomp.json" berth-cold)
sbo=$(mean_ms "$WORK/seccomp.json" berth-off)
sr=$(mean_ms "$WORK/seccomp.json" runc); sro=$(mean_ms "$WORK/seccomp.json" runc-off)
diff_ms() { jq -n --argjson a "$1" --argjson b "$2" '$a - $b'; }
echo
printf 'seccomp: berth/runc ratio of means: %.3f  (berth %.2f ms, runc %.2f ms)\n' \
    "$(jq -n --argjson b "$sb" --argjson r "$sr" '$b / $r')" "$sb" "$sr"
printf 'added cost of the profile: berth %.2f ms cached, %.2f ms compiling (cold); runc %.2f ms\n' \
    "$(diff_ms "$sb" "$sbo")" "$(diff_ms "$sbc" "$sbo")" "$(diff_ms "$sr" "$sro")"
for name in berth runc; do
    if [ "$name" = berth ]; then rt=$BERTH; else rt=$RUNC; fi
    BUNDLE=$SC_BUNDLE record seccomp "$name" "$rt" "$WORK/seccomp.json"
done

# ---------------------------------------------------------------------------
# Phase 2: re-run this script inside a private mount namespace with cgroup2.

if [ "${SKIP_V2:-0}" = 1 ]; then
    note "SKIP_V2=1: skipping the cgroup-v2 comparison"
elif [ -z "$CRUN" ]; then
    note "NOTE: crun is not installed; skipping the cgroup-v2 comparison ('make deps' installs it)"
else
    # shellcheck disable=SC2016  # $0 is expanded by the inner shell
    unshare -m --propagation private bash -c \
        'mount -t cgroup2 none /sys/fs/cgroup && exec bash "$0" --inside-v2' "$SELF"
fi

# ---------------------------------------------------------------------------
# Summary

echo
echo "=== Summary: create + start + delete -f of a container running 'true' ==="
echo "(ratio = runtime mean / berth mean in the same view; median in ms;"
echo " peak RSS = max RSS of 'create' (/usr/bin/time %M), max of 3 tries)"
echo
awk -F'\t' '
    $2 == "berth" { base[$1] = $3 }
    { rows[NR] = $0 }
    END {
        printf "%-7s %-8s %8s %7s %7s %8s %12s %10s %9s\n", "view", "runtime", "mean ms", "± ms", "ratio", "median", "peak RSS KB", "binary B", "stripped"
        for (i = 1; i <= NR; i++) {
            split(rows[i], f, "\t")
            printf "%-7s %-8s %8.2f %7.2f %7.2f %8.2f %12s %10s %9s\n", f[1], f[2], f[3], f[4], f[3] / base[f[1]], f[9], f[5], f[6], f[7]
        }
    }' "$WORK/results.tsv"
echo
awk -F'\t' '!seen[$2]++ { printf "%-6s %s\n", $2, $8 }' "$WORK/results.tsv"
if [ "$(readlink -f "$BERTH")" = "$(readlink -f "$RUNC")" ]; then
    note "NOTE: BERTH points at runc — this run checks the script, not berth"
fi
