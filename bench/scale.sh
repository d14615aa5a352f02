#!/usr/bin/env bash
# scale.sh "RT [FLAGS]" ROOT BUNDLE N PREFIX — N containers at once, each through
# create, start and delete -f (its process is `true`); fails if any of them fails.
# bench.sh times one call of this per runtime and concurrency with hyperfine.
set -u
rt=$1 root=$2 bundle=$3 n=$4 prefix=$5
one() {
    # shellcheck disable=SC2086  # $rt may carry flags
    $rt --root "$root" create --bundle "$bundle" "$1" </dev/null >/dev/null \
        && $rt --root "$root" start "$1" >/dev/null \
        && $rt --root "$root" delete -f "$1" >/dev/null
}
pids=()
for i in $(seq "$n"); do
    one "$prefix-$i" &
    pids+=($!)
done
fail=0
for p in "${pids[@]}"; do wait "$p" || fail=1; done
exit $fail
