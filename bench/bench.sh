#!/usr/bin/env bash
# bench.sh — berth against crun and runc, side by side, each comparison ONE hyperfine run
# (--export-json), then bench/report.sh turns the JSON into RESULTS.md and two charts.
#
# Everything runs in a pure cgroup-v2 view (a private mount namespace with cgroup2 on
# /sys/fs/cgroup; hyperfine runs inside it), because crun refuses this hybrid host;
# crun runs with --cgroup-manager=disabled, berth and runc make their cgroups. The
# bundle is bundles/hello's config without its cgroup mount, process `true`.
#
#   host     create+start+delete on the host itself (hybrid cgroups): berth vs runc
#   cycle    create + start + delete -f: berth, berth-ro, crun, runc
#            (berth-ro = the same binary on a read-only mount, so it skips the re-exec
#            that protects the binary (CVE-2019-5736): the difference is that guard)
#   create / start / delete   each step alone (the others in --prepare)
#   exec     `exec ID true` into a running container: berth, berth-ro, crun, runc
#   seccomp  the cycle with bench/seccomp-default.json (Docker-like, ~350 syscalls):
#            berth with its program cache warm and cold, crun, runc
#   scale-N  N containers at once through create/start/delete (bench/scale.sh), N in
#            $SCALE: containers per second and berth's cost per container (CPU time,
#            less that of the same harness with /bin/true as the runtime)
#   list     `list` with $LIST_N stopped containers under the root
#   rss      peak RSS (/usr/bin/time %M, max of 3) of `run` and `create`; binary sizes
#   syscalls bench/syscalls.sh: system calls (and files opened) per command, strace -f
#
# Env:
#   BERTH=/path   berth binary (default: target/release/berth; `make bench` passes the
#                 static build)     RUNC=/path CRUN=/path
#   BENCH_QUICK=1 a check of the whole script in a few minutes on a busy machine: few
#                 runs, SCALE="1 10", LIST_N=50, results in $BENCH_OUT (default
#                 /tmp/berth-bench-quick), bench/RESULTS.md untouched
#   RUNS WARMUP   hyperfine --min-runs / --warmup (30 / 5; quick 5 / 1)
#   SCALE_RUNS    runs per concurrency (10; quick 3)    SCALE LIST_N
#   BENCH_OUT     where the JSON, TSV and charts go (default bench/results)
#   RESULTS_MD    the report (default bench/RESULTS.md, quick: $BENCH_OUT/RESULTS.md)
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SELF="$REPO/bench/bench.sh"
BERTH=${BERTH:-${BERTH_BIN:-$REPO/target/release/berth}}
RUNC=${RUNC:-$(command -v runc || true)}
CRUN=${CRUN:-$(command -v crun || true)}
if [ "${BENCH_QUICK:-0}" = 1 ]; then
    RUNS=${RUNS:-5} WARMUP=${WARMUP:-1} SCALE_RUNS=${SCALE_RUNS:-3}
    SCALE=${SCALE:-1 10} LIST_N=${LIST_N:-50}
    BENCH_OUT=${BENCH_OUT:-/tmp/berth-bench-quick}
    RESULTS_MD=${RESULTS_MD:-$BENCH_OUT/RESULTS.md}
else
    RUNS=${RUNS:-30} WARMUP=${WARMUP:-5} SCALE_RUNS=${SCALE_RUNS:-10}
    SCALE=${SCALE:-1 10 50 100} LIST_N=${LIST_N:-1000}
    BENCH_OUT=${BENCH_OUT:-$REPO/bench/results}
    RESULTS_MD=${RESULTS_MD:-$REPO/bench/RESULTS.md}
fi
ROOTFS="$REPO/bundles/rootfs"
RUNROOT=/run/berth-bench
export BERTH RUNC CRUN RUNS WARMUP SCALE_RUNS SCALE LIST_N BENCH_OUT RESULTS_MD

die() { echo "bench: error: $*" >&2; exit 1; }
note() { echo "bench: $*" >&2; }
q() { printf '%q' "$1"; }

# ---------------------------------------------------------------------------
# Helpers. A runtime is a NAME and a command RT that may carry flags (crun's), so RT
# is never quoted where it is run; each NAME has its own state root.

rt_of() {
    case $1 in
        berth) echo "$BERTH" ;;
        berth-ro) echo "$BERTH_RO" ;;
        crun) echo "$CRUN --cgroup-manager=disabled" ;;
        runc) echo "$RUNC" ;;
    esac
}
root_of() { echo "$RUNROOT/$1"; }

# The shell commands hyperfine runs (RT ROOT ID [BUNDLE]).
c_create() { echo "$1 --root $(q "$2") create --bundle $(q "$4") $3 </dev/null >/dev/null"; }
c_start() { echo "$1 --root $(q "$2") start $3"; }
c_delete() { echo "$1 --root $(q "$2") delete $3"; }
c_kill() { echo "$1 --root $(q "$2") delete -f $3 >/dev/null 2>&1 || true"; }
c_cycle() { echo "$(c_create "$@") && $(c_start "$@") && $1 --root $(q "$2") delete -f $3"; }
# Until the container's process (`true`) has exited, so a plain delete can remove it.
c_stopped() {
    echo "for i in \$(seq 200); do $1 --root $(q "$2") state $3 2>/dev/null | grep -q '\"stopped\"' && break; sleep 0.005; done"
}

# hf OUT.json NAME PREPARE COMMAND [NAME PREPARE COMMAND ...]: one hyperfine run.
hf() {
    local json=$1; shift
    local args=(--warmup "$WARMUP" --min-runs "$RUNS" --export-json "$json" --style basic)
    while [ $# -gt 0 ]; do
        args+=(--prepare "${2:-true}" --command-name "$1" "$3")
        shift 3
    done
    hyperfine "${args[@]}"
}

# smoke NAME BUNDLE: one create / state (must say "created") / start / delete -f.
smoke() {
    local rt root id=smoke-$$ status
    rt=$(rt_of "$1"); root=$(root_of "$1")
    mkdir -p "$root"
    : > "$WORK/smoke.err"
    # shellcheck disable=SC2086
    if $rt --root "$root" create --bundle "$2" $id </dev/null >/dev/null 2>>"$WORK/smoke.err"; then
        # shellcheck disable=SC2086
        status=$($rt --root "$root" state $id 2>>"$WORK/smoke.err" | jq -r .status || true)
        # shellcheck disable=SC2086
        if [ "$status" = created ] && $rt --root "$root" start $id >/dev/null 2>>"$WORK/smoke.err" \
            && $rt --root "$root" delete -f $id >/dev/null 2>>"$WORK/smoke.err"; then
            return 0
        fi
        echo "state said '$status', expected 'created'" >> "$WORK/smoke.err"
    fi
    sh -c "$(c_kill "$rt" "$root" $id)"
    return 1
}

# peak_rss NAME VERB -> max RSS (KB) of `VERB` (run or create) over 3 tries.
peak_rss() {
    local rt root max=0 kb i id=rss-$$
    rt=$(rt_of "$1"); root=$(root_of "$1")
    for i in 1 2 3; do
        # shellcheck disable=SC2086
        /usr/bin/time -f %M -o "$WORK/rss" $rt --root "$root" "$2" --bundle "$BUNDLE" $id \
            </dev/null >/dev/null 2>&1 || { echo n/a; sh -c "$(c_kill "$rt" "$root" $id)"; return; }
        sh -c "$(c_kill "$rt" "$root" $id)"
        kb=$(tail -n1 "$WORK/rss")
        [ "$kb" -gt "$max" ] && max=$kb
    done
    echo "$max"
}

# ---------------------------------------------------------------------------
# Inside the cgroup-v2 view.

inside_v2() {
    [ "$(stat -f -c %T /sys/fs/cgroup)" = cgroup2fs ] || die "/sys/fs/cgroup is not cgroup2 here"
    # The same binary on a read-only mount: berth then skips its protective re-exec.
    mkdir -p "$WORK/ro"
    mount -t tmpfs -o size=64m tmpfs "$WORK/ro"
    cp "$BERTH" "$WORK/ro/berth"
    mount -o remount,ro "$WORK/ro"
    BERTH_RO="$WORK/ro/berth"

    local names=() n
    for n in berth berth-ro crun runc; do
        if smoke "$n" "$BUNDLE"; then
            names+=("$n")
        else
            [ "${n%-ro}" = berth ] && { cat "$WORK/smoke.err" >&2; die "$n failed one cycle"; }
            note "NOTE: $n failed one cycle in the cgroup-v2 view; left out:"
            sed 's/^/    /' "$WORK/smoke.err" >&2
        fi
    done
    # Each runtime's ids carry its name: containers of two runtimes never share a cgroup.
    local id=b-$$ args rt root
    local three=()
    for n in "${names[@]}"; do [ "$n" = berth-ro ] || three+=("$n"); done

    echo "=== create + start + delete -f ==="
    args=()
    for n in "${names[@]}"; do
        rt=$(rt_of "$n"); root=$(root_of "$n")
        args+=("$n" "$(c_kill "$rt" "$root" $n-$id)" "$(c_cycle "$rt" "$root" $n-$id "$BUNDLE")")
    done
    hf "$BENCH_OUT/cycle.json" "${args[@]}"

    echo "=== create, start, delete alone ==="
    local a_create=() a_start=() a_delete=()
    for n in "${three[@]}"; do
        rt=$(rt_of "$n"); root=$(root_of "$n")
        a_create+=("$n" "$(c_kill "$rt" "$root" $n-$id)" "$(c_create "$rt" "$root" $n-$id "$BUNDLE")")
        a_start+=("$n" "$(c_kill "$rt" "$root" $n-$id); $(c_create "$rt" "$root" $n-$id "$BUNDLE")"
            "$(c_start "$rt" "$root" $n-$id)")
        a_delete+=("$n" "$(c_kill "$rt" "$root" $n-$id); $(c_create "$rt" "$root" $n-$id "$BUNDLE") && $(c_start "$rt" "$root" $n-$id) && $(c_stopped "$rt" "$root" $n-$id)"
            "$(c_delete "$rt" "$root" $n-$id)")
    done
    hf "$BENCH_OUT/create.json" "${a_create[@]}"
    hf "$BENCH_OUT/start.json" "${a_start[@]}"
    hf "$BENCH_OUT/delete.json" "${a_delete[@]}"
    for n in "${three[@]}"; do sh -c "$(c_kill "$(rt_of "$n")" "$(root_of "$n")" $n-$id)"; done

    echo "=== exec ID true ==="
    local ex=x-$$
    args=()
    for n in "${names[@]}"; do
        rt=$(rt_of "$n"); root=$(root_of "$n")
        # berth-ro execs into berth's container: the same binary, the same state.
        [ "$n" = berth-ro ] && root=$(root_of berth)
        if [ "$n" != berth-ro ]; then
            # shellcheck disable=SC2086
            $rt --root "$root" run -d --bundle "$SLEEP_BUNDLE" $n-$ex </dev/null >/dev/null \
                || die "$n: cannot start the container for exec"
        fi
        args+=("$n" true "$rt --root $(q "$root") exec ${n%-ro}-$ex true")
    done
    hf "$BENCH_OUT/exec.json" "${args[@]}"
    for n in "${three[@]}"; do sh -c "$(c_kill "$(rt_of "$n")" "$(root_of "$n")" $n-$ex)"; done

    echo "=== with a Docker-like seccomp profile ==="
    local cache=/run/berth-cache/seccomp
    rt=$(rt_of berth); root=$(root_of berth)
    args=(berth "$(c_kill "$rt" "$root" berth-$id)" "$(c_cycle "$rt" "$root" berth-$id "$SC_BUNDLE")"
        berth-cold "rm -rf $cache; $(c_kill "$rt" "$root" berth-$id)" "$(c_cycle "$rt" "$root" berth-$id "$SC_BUNDLE")")
    for n in "${three[@]}"; do
        [ "$n" = berth ] && continue
        rt=$(rt_of "$n"); root=$(root_of "$n")
        args+=("$n" "$(c_kill "$rt" "$root" $n-$id)" "$(c_cycle "$rt" "$root" $n-$id "$SC_BUNDLE")")
    done
    hf "$BENCH_OUT/seccomp.json" "${args[@]}"

    local s
    for s in $SCALE; do
        echo "=== $s containers at once ==="
        args=()
        for n in "${three[@]}"; do
            rt=$(rt_of "$n"); root=$(root_of "$n")
            args+=("$n" true "bash $(q "$REPO/bench/scale.sh") $(q "$rt") $(q "$root") $(q "$BUNDLE") $s $n-s$$")
        done
        # The harness alone (/bin/true as the runtime): its CPU time is taken off berth's
        # in the report, which gives berth's own cost per container.
        args+=(harness true "bash $(q "$REPO/bench/scale.sh") true /nonexistent /nonexistent $s h")
        RUNS=$SCALE_RUNS WARMUP=1 hf "$BENCH_OUT/scale-$s.json" "${args[@]}"
    done

    echo "=== list with $LIST_N containers ==="
    args=()
    for n in "${three[@]}"; do
        rt=$(rt_of "$n"); root="$RUNROOT/list-$n"
        mkdir -p "$root"
        # shellcheck disable=SC2016
        seq "$LIST_N" | xargs -P 4 -I{} sh -c \
            "$rt --root $(q "$root") create --bundle $(q "$BUNDLE") $n-l{} </dev/null >/dev/null && $rt --root $(q "$root") start $n-l{}" \
            || die "$n: cannot create $LIST_N containers for list"
        args+=("$n" true "$rt --root $(q "$root") list >/dev/null")
    done
    hf "$BENCH_OUT/list.json" "${args[@]}"

    echo "=== peak RSS and binary size ==="
    : > "$BENCH_OUT/rss.tsv"
    for n in "${three[@]}"; do
        rt=$(rt_of "$n")
        printf '%s\t%s\t%s\t%s\t%s\n' "$n" "$(peak_rss "$n" run)" "$(peak_rss "$n" create)" \
            "$(stat -L -c %s "${rt%% *}")" \
            "$(LC_ALL=C file -L "${rt%% *}" | grep -o 'static-pie linked\|statically linked\|dynamically linked' || echo '?')" \
            | tee -a "$BENCH_OUT/rss.tsv"
    done
}

# Delete every container left under $RUNROOT with the runtime that made it (the root's
# name says which), so their cgroups go too.
cleanup_roots() {
    local r n rt
    for r in "$RUNROOT"/*; do
        [ -d "$r" ] || continue
        n=${r##*/}; n=${n#list-}
        [ "$n" = berth-ro ] && n=berth
        rt=$(rt_of "$n")
        [ -n "$rt" ] || continue
        # shellcheck disable=SC2086
        $rt --root "$r" list -q 2>/dev/null \
            | xargs -r -P 4 -I{} sh -c "$rt --root $(q "$r") delete -f {} >/dev/null 2>&1" || true
    done
    rm -rf "$RUNROOT"
}

if [ "${1:-}" = --inside-v2 ]; then
    : "${WORK:?}" "${BUNDLE:?}"
    trap cleanup_roots EXIT
    inside_v2
    exit 0
fi

# ---------------------------------------------------------------------------
# Preconditions, bundles, the host comparison, then the v2 view and the report.

[ "$(id -u)" = 0 ] || die "must run as root (containers need namespaces and cgroups)"
[ -x "$BERTH" ] || die "no berth binary at $BERTH — run 'make build' (or set BERTH=)"
for tool in hyperfine jq /usr/bin/time unshare gnuplot strace; do
    command -v "$tool" >/dev/null 2>&1 || die "$tool is missing — run 'make deps'"
done
[ -n "$RUNC" ] && [ -x "$RUNC" ] || die "runc is missing — run 'make deps'"
[ -n "$CRUN" ] && [ -x "$CRUN" ] || die "crun is missing — run 'make deps'"
bash "$REPO/bundles/mkrootfs.sh" "$ROOTFS" >/dev/null

WORK=$(mktemp -d /tmp/berth-bench.XXXXXX)
trap 'cleanup_roots; rm -rf "$WORK"' EXIT
BUNDLE="$WORK/bundle" SLEEP_BUNDLE="$WORK/sleep" SC_BUNDLE="$WORK/seccomp"
export WORK BUNDLE SLEEP_BUNDLE SC_BUNDLE
mkdir -p "$BUNDLE" "$SLEEP_BUNDLE" "$SC_BUNDLE" "$BENCH_OUT"
rm -f "$BENCH_OUT"/*.json "$BENCH_OUT"/*.tsv
jq --arg rootfs "$ROOTFS" '.process.args = ["true"] | .root.path = $rootfs
    | .mounts |= map(select(.type != "cgroup"))' \
    "$REPO/bundles/hello/config.json" > "$BUNDLE/config.json"
jq '.process.args = ["sleep", "3600"]' "$BUNDLE/config.json" > "$SLEEP_BUNDLE/config.json"
jq --slurpfile p "$REPO/bench/seccomp-default.json" '.linux.seccomp = $p[0]' \
    "$BUNDLE/config.json" > "$SC_BUNDLE/config.json"

{
    echo "date	$(date -u '+%Y-%m-%d %H:%M UTC')"
    echo "host	$(uname -r), $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg)"
    echo "berth	$("$BERTH" --version | head -1) ($BERTH)"
    echo "crun	$("$CRUN" --version | head -1)"
    echo "runc	$("$RUNC" --version | head -1)"
    echo "hyperfine	$(hyperfine --version)"
    echo "runs	RUNS=$RUNS WARMUP=$WARMUP SCALE_RUNS=$SCALE_RUNS SCALE='$SCALE' LIST_N=$LIST_N QUICK=${BENCH_QUICK:-0}"
} > "$BENCH_OUT/meta.tsv"

echo "=== host (hybrid cgroups): create + start + delete -f, berth vs runc ==="
BERTH_RO=$BERTH
for n in berth runc; do smoke "$n" "$BUNDLE" || { cat "$WORK/smoke.err" >&2; die "$n failed one cycle on this host"; }; done
hf "$BENCH_OUT/host.json" \
    berth "$(c_kill "$BERTH" "$(root_of berth)" h$$)" "$(c_cycle "$BERTH" "$(root_of berth)" h$$ "$BUNDLE")" \
    runc "$(c_kill "$RUNC" "$(root_of runc)" h$$)" "$(c_cycle "$RUNC" "$(root_of runc)" h$$ "$BUNDLE")"
cleanup_roots

# shellcheck disable=SC2016  # $0 is expanded by the inner shell
unshare -m --propagation private bash -c \
    'mount -t cgroup2 none /sys/fs/cgroup && exec bash "$0" --inside-v2' "$SELF"

echo "=== system calls per command (strace -f) ==="
BERTH=$BERTH bash "$REPO/bench/syscalls.sh" | tee "$BENCH_OUT/syscalls.txt"

bash "$REPO/bench/report.sh" "$BENCH_OUT" "$RESULTS_MD"
echo "bench: wrote $RESULTS_MD"
