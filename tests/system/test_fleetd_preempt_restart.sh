#!/usr/bin/env bash
# Preemption across a controller restart, on live daemons: fleetd with a
# center where project llm holds a guarantee of 16 GPUs in pool gpu (3
# emulated nodes x 8), preemption with SIGUSR1 and a grace of 8 s. Project
# vis (no guarantee) borrows the whole pool with three 8-GPU jobs, started
# one after another: b1, b2 note any signal they get; b3, the youngest,
# notes the signal and goes on (ignores it). llm submits a1 (covered): b3 is
# preempted for it. fleetd is then killed (SIGKILL, as in the crash test)
# and started again on the same state before the grace ends:
#   - b3's JSON still shows preempted_by a1 and the same preempt_deadline
#     (the marks are stored), and a1 waits with the reason "preemption"
#     (its waiting state is restored from its victim);
#   - a1 does not plan again: b2 (the next youngest borrower) and b1 never
#     get a signal, and fleetd logs no preemption after the restart;
#   - b3 is killed at the end of its grace (the shepherd kept the deadline),
#     requeued, and a1 runs within the grace plus a few seconds of its
#     submission.
# Runs on SQLite; with GPUFLEET_PG_DSN, again with the state in PostgreSQL
# (this script runs itself with "pg" as its second argument).
# Needs root (jobs run as two users).
source "$(dirname "$0")/common.sh"
source "$(dirname "$0")/agent_common.sh"
source "$(dirname "$0")/preempt_common.sh"
if [ "$(id -u)" -ne 0 ]; then
    echo "skip: needs root (jobs run as two other users)"
    finish
fi
MODE=${2:-sqlite}
GRACE=8
STORE_ARGS=()
# node names of this test alone (and of this mode): its logs and jobs are
# told apart from another test's (or the SQLite run's, still killing its jobs)
PREFIX=rsq
if [ "$MODE" = pg ]; then
    STORE_ARGS=(--postgres "$GPUFLEET_PG_DSN")
    PREFIX=rpg
    reset_pg() {
        psql "$GPUFLEET_PG_DSN" -qc "SET client_min_messages = warning; DROP TABLE IF EXISTS jobs, nodes, meta, accounting, admin_log, reservations" ||
            fail "cannot reset the PostgreSQL test database"
    }
    reset_pg
fi

agent_cluster 3 "$PREFIX"
preempt_center "$GRACE"
start_fleetd --center "$TMP/center.yaml" "${STORE_ARGS[@]}"
start_agent --emulate 3 --name "$PREFIX"
wait_nodes_up 3 || finish
preempt_workdir

cat >noting.sh <<'EOF'
#!/bin/bash
trap 'echo signalled >"sig.$FLEET_JOB_ID"' USR1 TERM
while :; do sleep 0.2; done
EOF
cat >ignoring.sh <<'EOF'
#!/bin/bash
trap 'echo "ignored in run $FLEET_RESTART_COUNT" >"sig.$FLEET_JOB_ID"' USR1
while :; do sleep 0.2; done
EOF
chmod 755 noting.sh ignoring.sh

b1=$(sub 4321 noting.sh) || fail "submit b1"
wait_state "$b1" running || finish
sleep 1.1
b2=$(sub 4321 noting.sh) || fail "submit b2"
wait_state "$b2" running || finish
sleep 1.1
b3=$(sub 4321 ignoring.sh) || fail "submit b3"
wait_state "$b3" running || finish

a1=$(sub 65534 --wrap 'sleep 600') || fail "submit a1"
deadline=
for _ in $(seq 60); do
    [ "$(job_field "$b3" preempted_by)" = "$a1" ] && { deadline=$(job_field "$b3" preempt_deadline); break; }
    sleep 0.05
done
[ -n "$deadline" ] && ok "$MODE: b3 (the youngest borrower) preempted for a1, deadline $deadline" \
    || { fail "$MODE: b3 not preempted for a1: $(grep preempt "$TMP/fleetd.log")"; finish; }
for _ in $(seq 40); do [ -e "sig.$b3" ] && break; sleep 0.05; done
[ "$(cat "sig.$b3" 2>/dev/null)" = "ignored in run 0" ] && ok "$MODE: b3 got SIGUSR1 (and ignores it)" \
    || fail "$MODE: b3 got no signal"

# the controller dies and comes back on the same state, within the grace;
# a second later than the marking, so that a victim marked again after the
# restart would show another deadline
sleep 1.1
kill -KILL "$FPID"
wait "$FPID" 2>/dev/null
FPID=
start_fleetd --center "$TMP/center.yaml" "${STORE_ARGS[@]}"
now=$(date +%s)
[ "$now" -lt "$deadline" ] && ok "$MODE: fleetd restarted $((deadline - now)) s before b3's deadline" \
    || fail "$MODE: fleetd restarted too late (now $now, deadline $deadline): the test proves nothing"
grep -q "preemption victims still leaving" "$TMP/fleetd.log" \
    && ok "$MODE: fleetd: $(grep -o "[0-9]* preemption victims still leaving.*" "$TMP/fleetd.log")" \
    || fail "$MODE: fleetd did not restore the preemptor: $(tail -5 "$TMP/fleetd.log")"
[ "$(job_field "$b3" state)" = running ] && [ "$(job_field "$b3" preempted_by)" = "$a1" ] &&
    [ "$(job_field "$b3" preempt_deadline)" = "$deadline" ] &&
    ok "$MODE: after the restart b3 still shows preempted_by $a1, deadline $deadline" ||
    fail "$MODE: b3 after the restart: $("$FLEET" show "$b3" --json)"
r=$(job_field "$a1" reason)
[ "$(job_field "$a1" state)" = pending ] && [ "$r" = preemption ] \
    && ok "$MODE: a1 still waits for its victim (reason $r)" \
    || fail "$MODE: a1: $(job_field "$a1" state), reason \"$r\""

# how long a job waited, by fleetd's clock (seconds)
waited() { echo $(($(job_field "$1" start_time) - $(job_field "$1" submit_time))); }
if wait_state "$a1" running $((GRACE + 6)); then
    w=$(waited "$a1")
    [ "$w" -ge $((GRACE - 1)) ] && [ "$w" -le $((GRACE + 3)) ] \
        && ok "$MODE: a1 running after $w s: b3 was killed at its grace (${GRACE} s) across the restart" \
        || fail "$MODE: a1 waited $w s (grace $GRACE s)"
fi
wait_state "$b3" pending 5 && [ "$(job_field "$b3" restarts)" = 1 ] \
    && ok "$MODE: b3 requeued (pending, restarts 1)" \
    || fail "$MODE: b3: $(job_field "$b3" state), restarts $(job_field "$b3" restarts)"
[ -z "$(job_field "$b3" preempted_by)" ] || fail "$MODE: b3 still marked after its requeue"
sleep 2 # a few more passes: nobody else is preempted
for j in "$b1" "$b2"; do
    [ "$(job_field "$j" state)" = running ] && [ ! -e "sig.$j" ] && [ -z "$(job_field "$j" preempted_by)" ] \
        && ok "$MODE: borrower $j untouched" || fail "$MODE: borrower $j: $(job_field "$j" state), $(ls)"
done
n=$(grep -c "preempted for job" "$TMP/fleetd.log")
[ "$n" = 1 ] && ok "$MODE: one preemption in fleetd's log, none after the restart" \
    || fail "$MODE: $n preemptions logged: $(grep preempt "$TMP/fleetd.log")"

"$FLEET" cancel "$a1" "$b1" "$b2" "$b3" >/dev/null || fail "cancel"
for j in "$a1" "$b1" "$b2"; do wait_state "$j" cancelled 10 || true; done
if [ "$MODE" = pg ]; then
    stop_all
    reset_pg
elif [ -n "${GPUFLEET_PG_DSN:-}" ] && command -v psql >/dev/null; then
    # the same with the state in PostgreSQL, in a process of its own
    stop_all
    cd "$ROOT" || exit 1
    bash "$0" "$BUILD" pg || fail "the test with the state in PostgreSQL"
else
    echo "skipped: the test on PostgreSQL (GPUFLEET_PG_DSN not set)"
fi
finish
