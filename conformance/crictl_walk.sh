#!/bin/bash
# conformance/crictl_walk.sh — the steps a kubelet takes, by hand with crictl, through one
# runtime handler: a pod with the host's network and one on the CNI bridge, a container with
# limits (exec, logs, stats, update), exit codes, an OOM kill, stop and remove. Each step
# checks what the CRI reports or what the container sees, and prints "ok"/"not ok" lines.
#
# Called by critest.sh inside its namespaces, after critest, with the handler as $1 and
# W (the run's dir) and CRI (where crictl is) in the environment. Exit status: the number
# of failed steps (0: all passed).

set -uo pipefail
H=$1
BUSYBOX=registry.k8s.io/e2e-test-images/busybox:1.29-2
C() { "$CRI/crictl" --config "$W/crictl.yaml" --timeout 30s "$@"; }
D=$W/walk-$H
mkdir -p "$D"
failed=0 n=0

check() { # check NAME COMMAND...: one step, passing when COMMAND succeeds
    local name=$1
    shift
    n=$((n + 1))
    if "$@" > "$D/step-$n.out" 2>&1; then
        echo "ok $n - $H: $name"
    else
        echo "not ok $n - $H: $name"
        sed 's/^/#   /' "$D/step-$n.out"
        failed=$((failed + 1))
    fi
}

pod_json() { # pod_json NAME NETWORK (0 = pod's own, 2 = the node's)
    cat <<EOF
{"metadata": {"name": "$1", "uid": "$1-$H", "namespace": "walk"},
 "log_directory": "$D/logs-$1",
 "linux": {"security_context": {"namespace_options": {"network": $2}}}}
EOF
}

ctr_json() { # ctr_json NAME MEMORY_BYTES COMMAND
    cat <<EOF
{"metadata": {"name": "$1"}, "image": {"image": "$BUSYBOX"},
 "command": ["sh", "-c", "$3"], "log_path": "$1.log",
 "linux": {"resources": {"memory_limit_in_bytes": $2, "cpu_period": 100000,
                         "cpu_quota": 50000}}}
EOF
}

state_of() { C inspect -o json "$1" | jq -r '.status.state'; }
exit_of() { C inspect -o json "$1" | jq -r '"\(.status.exitCode) \(.status.reason)"'; }

wait_exited() { # the container's process is gone
    local i
    for i in $(seq 1 60); do
        [ "$(state_of "$1")" = CONTAINER_EXITED ] && return 0
        sleep 0.5
    done
    echo "still $(state_of "$1")"
    return 1
}

equals() { # equals WANT COMMAND...
    local want=$1 got
    shift
    got=$("$@") || { echo "failed: $*"; return 1; }
    [ "$got" = "$want" ] || { echo "want '$want', got '$got' from: $*"; return 1; }
}

contains() { # contains TEXT COMMAND...
    local want=$1 got
    shift
    got=$("$@") || { echo "failed: $*"; return 1; }
    [[ $got == *"$want"* ]] || { echo "no '$want' in '$got' from: $*"; return 1; }
}

# ---- a pod with the node's network, a container with limits
pod_json host 2 > "$D/host.json"
ctr_json limited 67108864 "echo hello from $H; exec sleep 600" > "$D/limited.json"
HOSTPOD=$(C runp --runtime "$H" "$D/host.json")
check "host-network pod is ready" equals SANDBOX_READY \
    sh -c "\"$CRI/crictl\" --config $W/crictl.yaml inspectp -o json $HOSTPOD | jq -r .status.state"
check "host-network pod shares the node's network" contains "$(readlink /proc/self/ns/net)" \
    sh -c "readlink /proc/\$(\"$CRI/crictl\" --config $W/crictl.yaml inspectp -o json $HOSTPOD | jq -r .info.pid)/ns/net"
CTR=$(C create "$HOSTPOD" "$D/limited.json" "$D/host.json")
check "container starts" C start "$CTR"
check "container is running" equals CONTAINER_RUNNING state_of "$CTR"
check "exec runs in the container" equals "in $H" C exec "$CTR" sh -c "echo in $H"
check "memory limit seen inside" equals 67108864 \
    C exec "$CTR" cat /sys/fs/cgroup/memory/memory.limit_in_bytes
check "cpu quota seen inside" equals 50000 C exec "$CTR" cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us
check "logs carry the output" contains "hello from $H" C logs "$CTR"
check "stats report memory" sh -c "\"$CRI/crictl\" --config $W/crictl.yaml stats -o json $CTR \
    | jq -e '.stats[0].memory.workingSetBytes.value > 0'"
check "update raises the memory limit" C update --memory 134217728 "$CTR"
check "updated limit seen inside" equals 134217728 \
    C exec "$CTR" cat /sys/fs/cgroup/memory/memory.limit_in_bytes
check "stop" C stop --timeout 5 "$CTR"
check "stopped by SIGTERM: exit code 143" equals "143 Error" exit_of "$CTR"
check "remove the container" C rm "$CTR"

# ---- a pod on the CNI bridge: exit codes and an OOM kill
pod_json bridged 0 > "$D/bridged.json"
BRPOD=$(C runp --runtime "$H" "$D/bridged.json")
check "bridged pod has an address on the bridge" contains "10.88." \
    sh -c "\"$CRI/crictl\" --config $W/crictl.yaml inspectp -o json $BRPOD | jq -r .status.network.ip"
ctr_json exits 67108864 "exit 3" > "$D/exits.json"
EX=$(C create "$BRPOD" "$D/exits.json" "$D/bridged.json")
check "a container that exits starts" C start "$EX"
check "it exits" wait_exited "$EX"
check "its exit code is 3" equals "3 Error" exit_of "$EX"
# dd's 100 MB block buffer is touched by the read: more than the 32 MB limit.
ctr_json oom 33554432 "dd if=/dev/zero of=/dev/null bs=100M count=1" > "$D/oom.json"
OOM=$(C create "$BRPOD" "$D/oom.json" "$D/bridged.json")
check "an over-limit container starts" C start "$OOM"
check "it is killed" wait_exited "$OOM"
check "the CRI reports OOMKilled with 137" equals "137 OOMKilled" exit_of "$OOM"
check "stop the bridged pod" C stopp "$BRPOD"
check "remove the bridged pod" C rmp "$BRPOD"
check "stop the host-network pod" C stopp "$HOSTPOD"
check "remove the host-network pod" C rmp "$HOSTPOD"
check "no pod left" equals "" C pods -q

echo "# crictl walk, handler $H: $((n - failed)) passed, $failed failed"
exit $failed
