#!/usr/bin/env bash
# A lost node: two agents each serve one emulated node; the agent of the
# node running two jobs is killed with SIGKILL and stays dead. After the
# node timeout its node is down (with the reason), the requeueable job runs
# again on the other node and completes, the --no-requeue job ends as
# node_fail. When the agent comes back its stale job (still running under
# its shepherd) is killed, the node is up again and takes jobs. Also: a user
# cannot cancel another user's job on a live center.
source "$(dirname "$0")/common.sh"
source "$(dirname "$0")/agent_common.sh"

agent_cluster 2
start_fleetd --node-timeout 2
allow=()
[ "$(id -u)" -eq 0 ] && allow=(--allow-root)
start_agent --emulate 1 --first 0 "${allow[@]}"
A0=$APID
"$AGENT" --controller "unix:$S" --key-file "$TMP/state/cluster.key" --spool "$TMP/spool1" \
    --emulate 1 --first 1 "${allow[@]}" >>"$TMP/agent1.log" 2>&1 &
A1=$!
wait_nodes_up 2 || finish
W=$TMP/work
mkdir -p "$W"
chmod 755 "$TMP"
chmod 777 "$W"
cd "$W" || exit 1

# fill emu000 with two jobs that run long: 8 GPUs each would not fit, so 4 + 4
id1=$("$FLEET" submit --parsable -G 4 -t 60s -J again --wrap 'echo "run on $FLEET_NODENAME"; sleep 3')
id2=$("$FLEET" submit --parsable -G 4 -t 60s -J once --no-requeue --wrap 'sleep 31.7')
wait_state "$id1" running && wait_state "$id2" running || finish
n1=$(job_field "$id1" nodelist)
n2=$(job_field "$id2" nodelist)
if [ "$n1" != "$n2" ]; then
    # they landed on different nodes: what follows needs both on one agent
    fail "expected both jobs on one node (best fit), got $n1 and $n2"
    finish
fi
victim=$A0
other=$A1
[ "$n1" = emu001 ] && { victim=$A1; other=$A0; }
kill -KILL "$victim"
wait "$victim" 2>/dev/null
t0=$EPOCHREALTIME

# the job that may be requeued goes back to the queue, then runs on the other node
for _ in $(seq 200); do
    [ "$(job_field "$id1" restarts)" = 1 ] && break
    sleep 0.05
done
took=$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN{printf "%.1f", b-a}')
[ "$(job_field "$id1" restarts)" = 1 ] &&
    ok "the lost node's job was requeued after ${took}s (node timeout 2s)" ||
    fail "job $id1 not requeued: $(job_field "$id1" state) restarts $(job_field "$id1" restarts)"
wait_state "$id2" node_fail 10 && ok "a --no-requeue job on the lost node ends as node_fail"
st=$("$FLEET" nodes --json | python3 -c 'import json,sys
for n in json.load(sys.stdin)["nodes"]:
    if n["name"] == sys.argv[1]: print(n["state"], "|", n["reason"])' "$n1")
[[ $st == "down | agent lost"* ]] && ok "the lost node is down: $st" || fail "lost node: $st"
wait_state "$id1" completed 20 && {
    last=$(tail -n 1 "$W/fleet-$id1.out")
    [ "$(job_field "$id1" nodelist)" != "$n1" ] && [[ $last == "run on emu00"* ]] &&
        ok "the requeued job ran again on the other node and completed ($last)" ||
        fail "requeued job: nodelist $(job_field "$id1" nodelist), output: $(cat "$W/fleet-$id1.out")"
}

# the old processes still run under their shepherds; the agent comes back
stale=$(pgrep -f "sleep 31.7" | head -n 1)
[ -n "$stale" ] && ok "the stale job runs on without its agent (pid $stale)" ||
    fail "the stale job is gone already"
if [ "$victim" = "$A0" ]; then
    start_agent --emulate 1 --first 0 "${allow[@]}"
else
    "$AGENT" --controller "unix:$S" --key-file "$TMP/state/cluster.key" --spool "$TMP/spool1" \
        --emulate 1 --first 1 "${allow[@]}" >>"$TMP/agent1.log" 2>&1 &
    A1=$!
fi
wait_nodes_up 2
for _ in $(seq 200); do
    [ -n "$stale" ] && kill -0 "$stale" 2>/dev/null || break
    sleep 0.05
done
[ -n "$stale" ] && ! kill -0 "$stale" 2>/dev/null &&
    ok "back: the agent killed the job fleetd no longer runs there" ||
    fail "the stale job (pid $stale) still runs after its agent came back"
id3=$("$FLEET" submit --parsable -G 8 -t 30s --wrap 'echo hi')
wait_state "$id3" completed && ok "the node takes jobs again"

# a user cannot cancel another user's job
id4=$(setpriv --reuid=65534 --regid=65534 --clear-groups "$FLEET" submit --parsable -G 1 -t 60s \
    --wrap 'sleep 30' -D "$W")
if [ -n "$id4" ] && [ "$(id -u)" -eq 0 ]; then
    wait_state "$id4" running
    expect_fail "another user's cancel is refused" "not yours|belongs to" \
        setpriv --reuid=4321 --regid=4321 --clear-groups "$FLEET" cancel "$id4"
    [ "$(job_field "$id4" state)" = running ] && ok "the job runs on" || fail "job $id4 touched"
    "$FLEET" cancel "$id4" >/dev/null && wait_state "$id4" cancelled && ok "an operator (root) may"
fi
kill -TERM "$A1" 2>/dev/null
wait "$A1" 2>/dev/null
finish
