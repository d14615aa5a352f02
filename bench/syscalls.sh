#!/usr/bin/env bash
# syscalls.sh — what each command costs in system calls, counted with `strace -f`, for
# berth, crun and runc side by side: create, start, state, kill, delete, exec, list.
# Deterministic, so it means something on a busy machine where timings do not. Every
# process the runtime makes is counted (its init up to the execve of the container's
# process, runc's re-exec'd init, berth's re-exec), nothing after that execve.
# Runs in the same pure cgroup-v2 view as bench.sh (crun needs it here).
#
#   bash bench/syscalls.sh                 berth (BERTH or target/release/berth), crun, runc
#   RUNTIMES="berth" bash bench/syscalls.sh
# Output: one table of syscalls per command (and, in brackets, how many files it opened).
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BERTH=${BERTH:-${BERTH_BIN:-$REPO/target/release/berth}}
RUNTIMES=${RUNTIMES:-berth crun runc}

if [ "${1:-}" != --inside ]; then
    [ "$(id -u)" = 0 ] || { echo "syscalls: run as root" >&2; exit 1; }
    command -v strace >/dev/null || { echo "syscalls: strace is missing (apt-get install strace)" >&2; exit 1; }
    export BERTH RUNTIMES
    # shellcheck disable=SC2016
    exec unshare -m --propagation private bash -c \
        'mount -t cgroup2 none /sys/fs/cgroup && exec bash "$0" --inside' "${BASH_SOURCE[0]}"
fi

WORK=$(mktemp -d /tmp/berth-syscalls.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
jq --arg r "$REPO/bundles/rootfs" '.process.args = ["true"] | .root.path = $r
    | .mounts |= map(select(.type != "cgroup"))' "$REPO/bundles/hello/config.json" > "$WORK/config.json"
mkdir -p "$WORK/true" "$WORK/sleep"
cp "$WORK/config.json" "$WORK/true/"
jq '.process.args = ["sleep", "3600"]' "$WORK/config.json" > "$WORK/sleep/config.json"

rt_of() {
    case $1 in
        berth) echo "$BERTH" ;;
        crun) echo "$(command -v crun) --cgroup-manager=disabled" ;;
        runc) command -v runc ;;
    esac
}

# count TRACE BIN -> "SYSCALLS OPENS": lines of `strace -f -o` output, per process, up to
# and including its execve of anything but the runtime itself.
count() {
    awk -v bin="$2" '
        { pid = $1 }
        gone[pid] { next }
        $2 ~ /^<\.\.\./ || $2 ~ /^(\+\+\+|---)/ { next }
        $2 ~ /^[a-z_0-9]+\(/ {
            n++
            if ($2 ~ /^(open|openat|openat2)\(/) o++
            if ($2 ~ /^execve(at)?\(/) {
                path = $0; sub(/^[^"]*"/, "", path); sub(/".*/, "", path)
                if (path != "" && path != bin && path != "/proc/self/exe") gone[pid] = 1
            }
        }
        END { printf "%d (%d)\n", n, o }' "$1"
}

trace() { # NAME OUT ARGS... — strace -f one command
    local out=$2 rt; rt=$(rt_of "$1"); shift 2
    # shellcheck disable=SC2086
    strace -f -o "$out" $rt --root "$WORK/root-$n" "$@" </dev/null >/dev/null 2>&1
}

printf '%-8s' command
for n in $RUNTIMES; do printf '%16s' "$n"; done
echo
declare -A res
for n in $RUNTIMES; do
    rt=$(rt_of "$n"); bin=${rt%% *}; id=sc-$n-$$
    # create: the init blocks on exec.fifo under strace, so strace runs in the background
    # until `start` (untraced) lets the init exec `true`.
    # shellcheck disable=SC2086
    strace -f -o "$WORK/create" $rt --root "$WORK/root-$n" create --bundle "$WORK/true" $id \
        </dev/null >/dev/null 2>&1 &
    spid=$!
    for _ in $(seq 400); do
        # shellcheck disable=SC2086
        $rt --root "$WORK/root-$n" state $id 2>/dev/null | grep -q '"created"' && break
        sleep 0.01
    done
    trace "$n" "$WORK/state" state $id
    trace "$n" "$WORK/start" start $id
    wait "$spid" || true
    for _ in $(seq 400); do
        # shellcheck disable=SC2086
        ($rt --root "$WORK/root-$n" state $id 2>/dev/null || true) | grep -q '"stopped"' && break
        sleep 0.01
    done
    trace "$n" "$WORK/delete" delete $id
    # shellcheck disable=SC2086
    $rt --root "$WORK/root-$n" run -d --bundle "$WORK/sleep" x$id </dev/null >/dev/null 2>&1
    trace "$n" "$WORK/exec" exec x$id true
    trace "$n" "$WORK/kill" kill x$id 0
    trace "$n" "$WORK/list" list
    # shellcheck disable=SC2086
    $rt --root "$WORK/root-$n" delete -f x$id >/dev/null 2>&1
    for c in create state start kill delete exec list; do
        res[$c,$n]=$(count "$WORK/$c" "$bin")
    done
done
for c in create start state kill delete exec list; do
    printf '%-8s' "$c"
    for n in $RUNTIMES; do printf '%16s' "${res[$c,$n]}"; done
    echo
done
