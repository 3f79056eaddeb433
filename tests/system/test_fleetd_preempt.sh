#!/usr/bin/env bash
# Guaranteed quotas on live daemons: fleetd with a center where project llm
# holds a guarantee of 16 GPUs in pool gpu (3 emulated nodes x 8), and
# preemption with signal SIGUSR1 and a grace of 6 s. Project vis (no
# guarantee) borrows the whole pool with three 8-GPU jobs, started one after
# another:
#   v1  the oldest; notes any signal it gets
#   v2  --no-requeue; notes the signal and goes on (ignores it)
#   v3  checkpoints on the signal (a file) and exits at once
# Then llm submits:
#   a1  covered: v3 (the youngest borrower) gets SIGUSR1, checkpoints, and is
#       requeued; a1 runs within the grace plus one pass;
#   a2  covered: v2 gets the signal, ignores it, is killed at the end of the
#       grace and ends as preempted (not requeued); a2 waits with the reason
#       "preemption" meanwhile and runs within the grace plus one pass;
#   a3  beyond the guarantee (llm holds 16 already): nobody is preempted, v1
#       never gets a signal.
# Needs root (jobs run as two users).
source "$(dirname "$0")/common.sh"
source "$(dirname "$0")/agent_common.sh"
source "$(dirname "$0")/preempt_common.sh"
if [ "$(id -u)" -ne 0 ]; then
    echo "skip: needs root (jobs run as two other users)"
    finish
fi
GRACE=6

agent_cluster 3
preempt_center "$GRACE"
start_fleetd --center "$TMP/center.yaml"
start_agent --emulate 3
wait_nodes_up 3 || finish
preempt_workdir

cat >v1.sh <<'EOF'
#!/bin/bash
trap 'echo signalled >"sig.$FLEET_JOB_ID"' USR1 TERM
while :; do sleep 0.2; done
EOF
cat >v2.sh <<'EOF'
#!/bin/bash
trap 'echo ignored >"sig.$FLEET_JOB_ID"' USR1
while :; do sleep 0.2; done
EOF
cat >v3.sh <<'EOF'
#!/bin/bash
trap 'echo "checkpoint of run $FLEET_RESTART_COUNT" >"ckpt.$FLEET_JOB_ID"; exit 0' USR1
while :; do sleep 0.2; done
EOF
chmod 755 v1.sh v2.sh v3.sh

v1=$(sub 4321 v1.sh) || fail "submit v1"
wait_state "$v1" running || finish
sleep 1.1
v2=$(sub 4321 --no-requeue v2.sh) || fail "submit v2"
wait_state "$v2" running || finish
sleep 1.1
v3=$(sub 4321 v3.sh) || fail "submit v3"
wait_state "$v3" running || finish

# how long a job waited, by fleetd's clock (seconds)
waited() { echo $(($(job_field "$1" start_time) - $(job_field "$1" submit_time))); }

# a1: the youngest borrower checkpoints and leaves; a1 runs
a1=$(sub 65534 --wrap 'sleep 600') || fail "submit a1"
if wait_state "$a1" running $((GRACE + 4)); then
    w=$(waited "$a1")
    [ "$w" -le $((GRACE + 2)) ] && ok "a1 covered by the guarantee: running after $w s (grace $GRACE s)" \
        || fail "a1 waited $w s, more than the grace $GRACE s plus a pass"
fi
[ "$(cat "ckpt.$v3" 2>/dev/null)" = "checkpoint of run 0" ] \
    && ok "v3 got SIGUSR1 and checkpointed" || fail "v3 has no checkpoint: $(ls)"
[ "$(job_field "$v3" state)" = pending ] && [ "$(job_field "$v3" restarts)" = 1 ] \
    && ok "v3 requeued (pending, restarts 1)" \
    || fail "v3: state $(job_field "$v3" state), restarts $(job_field "$v3" restarts)"
for j in "$v1" "$v2"; do
    [ "$(job_field "$j" state)" = running ] || fail "job $j: $(job_field "$j" state), not running"
done

# a2: v2 ignores the signal and is killed at the end of the grace
a2=$(sub 65534 --wrap 'sleep 600') || fail "submit a2"
sleep 1
r=$(job_field "$a2" reason)
[ "$r" = preemption ] && ok "a2 waits for its victim: reason $r" || fail "a2: reason \"$r\""
[ "$(job_field "$v2" preempted_by)" = "$a2" ] && ok "v2 is preempted for a2" \
    || fail "v2: preempted_by \"$(job_field "$v2" preempted_by)\""
if wait_state "$a2" running $((GRACE + 4)); then
    w=$(waited "$a2")
    [ "$w" -ge $((GRACE - 1)) ] && [ "$w" -le $((GRACE + 2)) ] \
        && ok "a2 running after $w s: its victim ignored the signal and was killed at the grace" \
        || fail "a2 waited $w s (grace $GRACE s)"
fi
[ "$(cat "sig.$v2" 2>/dev/null)" = ignored ] && ok "v2 got SIGUSR1" || fail "v2 got no signal"
wait_state "$v2" preempted 5 && ok "v2 (--no-requeue) ended as preempted"
[ "$(job_field "$v2" restarts)" = 0 ] || fail "v2 was requeued"

# a3: beyond the guarantee, nobody is preempted
a3=$(sub 65534 --wrap 'sleep 600') || fail "submit a3"
sleep $((GRACE + 2))
st=$(job_field "$a3" state) r=$(job_field "$a3" reason)
[ "$st" = pending ] && [ "$r" != preemption ] && ok "a3 beyond the guarantee waits ($r)" \
    || fail "a3: $st, reason $r"
[ "$(job_field "$v1" state)" = running ] && [ ! -e "sig.$v1" ] \
    && ok "v1 (the oldest borrower) untouched" || fail "v1: $(job_field "$v1" state), $(ls)"
n=$(grep -c "preempted for job" "$TMP/fleetd.log")
[ "$n" = 2 ] && ok "two preemptions in fleetd's log" || fail "$n preemptions logged: $(grep preempt "$TMP/fleetd.log")"

# the preempted runs are accounted: v3's first run (requeued) and v2's
"$FLEET" cancel "$a1" "$a2" "$a3" "$v1" "$v3" >/dev/null || fail "cancel"
for j in "$a1" "$a2" "$v1"; do wait_state "$j" cancelled 10 || true; done
"$FLEET" usage --by project --json >"$TMP/usage.json" || fail "fleet usage"
python3 - "$TMP/usage.json" <<'PY' && ok "usage: both projects charged" || fail "usage: $(cat "$TMP/usage.json")"
import json, sys
g = {x["name"]: x for x in json.load(open(sys.argv[1]))["groups"]}
assert g["vis"]["gpu_hours"] > 0 and g["llm"]["gpu_hours"] > 0, g
PY
finish
