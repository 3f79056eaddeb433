#!/usr/bin/env bash
# Steps (fleet run) on emulated nodes, the agent's part: each rank's
# environment (RANK, LOCAL_RANK, WORLD_SIZE, LOCAL_WORLD_SIZE, MASTER_ADDR,
# MASTER_PORT, its GPUs), one rank per GPU with --per-gpu, output streamed
# byte for byte (300,000 lines from each of two ranks at once, stdout and
# stderr apart), a failing rank ending the step fast (the other rank killed),
# and a step whose job is not running here.
source "$(dirname "$0")/common.sh"
source "$(dirname "$0")/agent_common.sh"

agent_cluster 2
start_fleetd
allow=()
[ "$(id -u)" -eq 0 ] && allow=(--allow-root)
start_agent --emulate 2 --gpus-per-node 8 "${allow[@]}"
wait_nodes_up 2 || finish
W=$TMP/work
mkdir -p "$W"
chmod 755 "$TMP"
cd "$W" || exit 1

cat >"$W/job.sh" <<EOF
#!/bin/bash
F=$FLEET
\$F run --label -- sh -c 'echo "R=\$RANK L=\$LOCAL_RANK W=\$WORLD_SIZE LW=\$LOCAL_WORLD_SIZE M=\$MASTER_ADDR:\$MASTER_PORT G=\$CUDA_VISIBLE_DEVICES N=\$FLEET_NODENAME S=\$FLEET_STEP_ID"' >env.txt
echo "rc=\$?" >>env.txt
\$F run --per-gpu -- sh -c 'echo "\$RANK \$LOCAL_RANK \$CUDA_VISIBLE_DEVICES \$WORLD_SIZE"' >pergpu.txt
echo "rc=\$?" >>pergpu.txt
\$F run -- sh -c 'if [ \$RANK = 0 ]; then seq 1 300000; else seq 1 300000 >&2; fi' >big-out.txt 2>big-err.txt
echo "rc=\$?" >>big-out.txt
start=\$(date +%s)
\$F run -- sh -c 'if [ \$RANK = 1 ]; then sleep 0.5; exit 7; fi; exec sleep 60' >/dev/null 2>&1
echo "rc=\$? took=\$((\$(date +%s) - start))" >fail.txt
EOF
chmod 755 "$W/job.sh"
id=$("$FLEET" submit --parsable -N 2 --gpus-per-node 8 -t 120s "$W/job.sh")
wait_state "$id" completed 60

python3 - "$W" <<'PY' && ok "each rank's environment (rank, world size, master, GPUs)" || fail "rank environment: $(cat "$W/env.txt")"
import re, sys
lines = open(sys.argv[1] + "/env.txt").read().split("\n")
assert "rc=0" in lines, lines
ranks = {}
for l in lines:
    m = re.match(r"(\d): R=(\d) L=(\d) W=(\d) LW=(\d) M=([\d.]+):(\d+) G=([\d,]+) N=(\S+) S=(\d+)$", l)
    if m:
        ranks[int(m.group(2))] = m.groups()
assert sorted(ranks) == [0, 1], ranks
for r, g in ranks.items():
    assert g[0] == str(r) and g[2] == "0" and g[3] == "2" and g[4] == "1", g
    assert g[5] == "127.0.0.1" and int(g[6]) > 0 and g[7] == "0,1,2,3,4,5,6,7", g
assert ranks[0][8] != ranks[1][8], "both ranks on one node"
assert ranks[0][6] == ranks[1][6] and ranks[0][9] == ranks[1][9]
PY

python3 - "$W" <<'PY' && ok "--per-gpu: 16 ranks, one GPU each, local ranks 0-7 per node" || fail "per-gpu: $(cat "$W/pergpu.txt")"
import sys
lines = [l.split() for l in open(sys.argv[1] + "/pergpu.txt").read().split("\n") if l and not l.startswith("rc=")]
assert open(sys.argv[1] + "/pergpu.txt").read().strip().endswith("rc=0")
assert sorted(int(l[0]) for l in lines) == list(range(16)), lines
assert all(l[1] == l[2] and l[3] == "16" for l in lines), lines
PY

if [ "$(seq 1 300000 | md5sum)" = "$(head -n 300000 "$W/big-out.txt" | md5sum)" ] &&
    [ "$(seq 1 300000 | md5sum)" = "$(md5sum <"$W/big-err.txt")" ] &&
    [ "$(tail -n 1 "$W/big-out.txt")" = rc=0 ]; then
    ok "output streamed exactly: 300,000 lines from each of 2 ranks (stdout, stderr)"
else
    fail "big output: $(wc -c "$W/big-out.txt" "$W/big-err.txt" | head -2 | tr '\n' ' ')"
fi

read -r rc took <"$W/fail.txt"
[ "$rc" = rc=7 ] && [ "${took#took=}" -le 10 ] &&
    ok "a failing rank ends the step with its code ($rc), the other killed ($took s)" ||
    fail "fail fast: $(cat "$W/fail.txt")"

if grep -q -E "runtime error|AddressSanitizer|LeakSanitizer" "$TMP/agent.log"; then
    fail "sanitizer report: $(grep -A5 -E "runtime error|Sanitizer" "$TMP/agent.log" | head -20)"
fi
finish
