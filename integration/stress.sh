#!/usr/bin/env bash
#! make stress: N containers (default 50) at once through create, start, exec, kill and
#! delete, for M rounds (default 3); then check that nothing is left behind: state dirs,
#! cgroup dirs, mounts, processes, and fds open in this shell. Prints one PASS/FAIL line
#! and exits non-zero on any failure or leftover.
#!   BERTH_BIN (default target/release/berth), BERTH_ROOTFS (default bundles/rootfs)
set -u
here=$(cd "$(dirname "$0")/.." && pwd)
berth=${BERTH_BIN:-$here/target/release/berth}
rootfs_src=${BERTH_ROOTFS:-$here/bundles/rootfs}
N=${N:-50}
M=${M:-3}
tag=stress-$$
root=/run/berth-$tag
work=$(mktemp -d "/tmp/berth-$tag.XXXXXX")
bundle=$work/bundle
errors=$work/errors

fds() { ls -l /proc/$$/fd | awk 'NR > 1 { print $9, $11 }' | grep -v "$work" | sort; }
mounts() { grep -e "$work" -e "$root" /proc/self/mountinfo; }
# Processes of this run: rooted in its rootfs, or berth itself working on its --root.
procs() {
    local want p
    want=$(stat -L -c %d:%i "$bundle/rootfs")
    for p in /proc/[0-9]*; do
        [[ ${p#/proc/} == "$$" || ${p#/proc/} == "$BASHPID" ]] && continue
        if [[ $(stat -L -c %d:%i "$p/root" 2>/dev/null) == "$want" ]] ||
            tr '\0' ' ' <"$p/cmdline" 2>/dev/null | grep -q -- "$root"; then
            echo "${p#/proc/}: $(tr '\0' ' ' <"$p/cmdline" 2>/dev/null)"
        fi
    done
}
cgroups() { find /sys/fs/cgroup -mindepth 2 -maxdepth 6 -type d -name "$tag-*" 2>/dev/null; }

fail() { echo "$*" >>"$errors"; return 1; }

# One container's whole life; any step that fails is logged and ends it (delete -f).
lifecycle() {
    local id=$1 b="$berth --root $root" i st
    $b create --bundle "$bundle" "$id" </dev/null >/dev/null 2>>"$errors" || { fail "create $id"; return; }
    $b start "$id" 2>>"$errors" || { fail "start $id"; $b delete -f "$id"; return; }
    [[ $($b exec "$id" echo hi 2>>"$errors") == hi ]] || fail "exec $id"
    $b kill "$id" KILL 2>>"$errors" || fail "kill $id"
    for ((i = 0; i < 1000; i++)); do
        st=$($b state "$id" 2>/dev/null | grep -o '"status": *"[a-z]*"')
        [[ $st == *'"stopped"' ]] && break
        sleep 0.01
    done
    $b delete "$id" 2>>"$errors" || { fail "delete $id ($st)"; $b delete -f "$id"; }
}

mkdir -p "$bundle"
cp -a "$rootfs_src" "$bundle/rootfs"
sed -e 's#"path": *"[^"]*rootfs"#"path": "rootfs"#' "$here/bundles/sleep/config.json" >"$bundle/config.json"
: >"$errors"
# In a subshell of its own, so that the pipe of a $(...) is not among the fds.
(fds) >"$work/fds"
fds_before=$(<"$work/fds")
mounts_before=$(mounts)

start=$SECONDS
for ((r = 0; r < M; r++)); do
    for ((n = 0; n < N; n++)); do
        lifecycle "$tag-$r-$n" &
    done
    wait
done

left=()
[[ -z $(ls -A "$root" 2>/dev/null) ]] || left+=("state dirs: $(ls -A "$root" | tr '\n' ' ')")
c=$(cgroups) && [[ -z $c ]] || left+=("cgroups: $(echo $c)")
[[ $(mounts) == "$mounts_before" ]] || left+=("mounts: $(diff <(echo "$mounts_before") <(mounts) | tr '\n' ' ')")
p=$(procs) && [[ -z $p ]] || left+=("processes: $(echo "$p" | tr '\n' ';')")
(fds) >"$work/fds"
[[ $(<"$work/fds") == "$fds_before" ]] || left+=("fds: $(diff <(echo "$fds_before") "$work/fds" | tr '\n' ' ')")
failed=$(wc -l <"$errors")
first_errors=$(head -5 "$errors")

# Leftovers must not outlive the check.
for id in $(ls -A "$root" 2>/dev/null); do "$berth" --root "$root" delete -f "$id" 2>/dev/null; done
rm -rf "$root" "$work"

if ((failed == 0 && ${#left[@]} == 0)); then
    echo "stress: PASS: $((N * M)) containers ($N at once, $M rounds) in $((SECONDS - start))s, nothing left behind"
    exit 0
fi
((failed)) && echo "stress: $failed failed steps; first ones:" && echo "$first_errors"
for l in "${left[@]}"; do echo "stress: left behind: $l"; done
echo "stress: FAIL: $((N * M)) containers ($N at once, $M rounds): $failed failed steps, ${#left[@]} kinds of leftovers"
exit 1
