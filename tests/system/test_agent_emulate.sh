#!/usr/bin/env bash
# Emulated nodes at scale: one fleet-agent serving 1,000 emulated nodes
# (names from --name/--first as the cluster YAML generates them) registers
# them all with fleetd over the same protocol, each with its 8 emulated GPUs;
# jobs on them run as real processes (a 32-node gang, its first node's GPUs
# in the environment); the agent stays small while it idles. Figures are
# printed, not asserted, except loose bounds that only a broken agent misses.
source "$(dirname "$0")/common.sh"
source "$(dirname "$0")/agent_common.sh"

N=1000
agent_cluster $N gpu
start_fleetd
allow=()
[ "$(id -u)" -eq 0 ] && allow=(--allow-root)
t0=$(date +%s.%N)
start_agent --emulate $N --name gpu --first 0 --gpus-per-node 8 --gpu-model H100 \
    --cgroup none "${allow[@]}"
wait_nodes_up $N || finish
t1=$(date +%s.%N)
ok "$N emulated nodes up in $(python3 -c "print(round($t1 - $t0, 2))") s"

"$FLEET" nodes --json | python3 -c '
import json, sys
nodes = json.load(sys.stdin)["nodes"]
names = sorted(n["name"] for n in nodes)
assert names[0] == "gpu000" and names[-1] == "gpu999", names[:2] + names[-2:]
a = nodes[0]["agent"]
assert a["name"] == "gpu000-gpu999" and a["gpus"] == 8 and a["gpu_source"] == "emulated", a
assert a["gpu_model"] == "H100" and a["addr"] == "127.0.0.1", a
assert all(n["cgroup"] == "none" and n["agent"]["alive"] for n in nodes)
' && ok "every node: 8 emulated H100 GPUs, served by agent gpu000-gpu999" || fail "node listing"

W=$TMP/work
mkdir -p "$W"
chmod 755 "$TMP"
cd "$W" || exit 1
id=$("$FLEET" submit --parsable -N 32 --gpus-per-node 8 -t 60s -o gang.txt \
    --wrap 'echo "$FLEET_NNODES $CUDA_VISIBLE_DEVICES"; echo "$FLEET_NODELIST" | tr , "\n" | sort -u | wc -l')
t0=$(date +%s.%N)
if wait_state "$id" completed 60; then
    t1=$(date +%s.%N)
    [ "$(sed -n 1p gang.txt)" = "32 0,1,2,3,4,5,6,7" ] && [ "$(sed -n 2p gang.txt)" = 32 ] &&
        ok "a 32-node gang ran to its end in $(python3 -c "print(round($t1 - $t0, 2))") s" ||
        fail "gang output: $(cat gang.txt)"
fi
launched=$(grep -c "job $id.0 on gpu[0-9]*: launched" "$TMP/agent.log")
[ "$launched" = 32 ] && ok "32 shepherds, one per node" || fail "$launched launches for 32 nodes"

sleep 2
rss=$(awk '/VmRSS/ {print $2}' "/proc/$APID/status")
cpu0=$(awk '{print $14 + $15}' "/proc/$APID/stat")
sleep 3
cpu1=$(awk '{print $14 + $15}' "/proc/$APID/stat")
hz=$(getconf CLK_TCK)
pct=$(python3 -c "print(round(100.0 * ($cpu1 - $cpu0) / $hz / 3, 1))")
echo "agent at rest with $N nodes: RSS ${rss} kB, CPU ${pct}% (of one core)"
python3 -c "import sys; sys.exit(0 if $pct < 50 else 1)" ||
    fail "the agent spins at rest: ${pct}% CPU"
finish
