#!/usr/bin/env bash
#! Run after the integration suite: fail if it left a cgroup behind anywhere under
#! /sys/fs/cgroup. Test containers are named <name>-<pid>-<n> (integration/common.rs
#! `unique`); a directory so named whose test process is gone is a leak. A suite that
#! is still running elsewhere (its pid alive) is left alone.
set -u
leaks=0
while IFS= read -r d; do
    name=${d##*/}
    if [[ $name =~ -([0-9]+)-[0-9]+$ ]] && [[ ! -d /proc/${BASH_REMATCH[1]} ]]; then
        echo "cgroup left behind: $d" >&2
        leaks=$((leaks + 1))
    fi
done < <(find /sys/fs/cgroup -mindepth 2 -maxdepth 6 -type d 2>/dev/null)
if ((leaks)); then
    echo "$leaks cgroup(s) left behind by the tests" >&2
    exit 1
fi
echo "no cgroups left behind"
