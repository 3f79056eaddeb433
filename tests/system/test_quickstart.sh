#!/usr/bin/env bash
# The README's quick start, `make run` (scripts/quickstart), as a user meets it:
#   - it starts fleetd and an agent of 4 emulated nodes x 8 GPUs, runs the first
#     job end to end and prints its output and the accounting of the policy
#     it wrote (run-state/center.yaml from examples/center-local-policy.yaml.in);
#   - the center it leaves running has that policy live: your jobs go to
#     project vision, which borrows the whole pool; a job of project llm,
#     whose tier is guaranteed 16 GPUs, preempts the youngest borrower and
#     runs on its GPUs (the borrower is requeued); demo-startup's 200
#     GPU-hour allocation refuses a job whose worst case is larger, saying
#     what is left;
#   - Ctrl-C (SIGTERM) stops both daemons; `make run` again keeps the policy
#     file and recovers every job.
source "$(dirname "$0")/common.sh"
RUN=$TMP/run
QS=$ROOT/scripts/quickstart
export FLEET_SOCKET=$RUN/fleetd.sock

field() { # job, field
    "$FLEET" show "$1" --json 2>/dev/null |
        python3 -c 'import json,sys; print(json.load(sys.stdin).get(sys.argv[1], ""))' "$2"
}
wait_for() { # seconds, command...: until the command succeeds
    local n=$(($1 * 10)); shift
    for _ in $(seq "$n"); do "$@" && return 0; sleep 0.1; done
    return 1
}
is_state() { [ "$(field "$1" state)" = "$2" ]; }

GPUFLEET_RUN_DIR=$RUN setsid "$QS" "$BUILD" >"$TMP/qs.out" 2>&1 &
qs=$!
if ! wait_for 90 grep -q "The center is running" "$TMP/qs.out"; then
    fail "quickstart did not come up: $(tail -n 20 "$TMP/qs.out")"
    kill -TERM -- -$qs 2>/dev/null
    finish
fi
grep -q "hello from job 1 on node00" "$TMP/qs.out" && ok "the first job ran and wrote its output" ||
    fail "no output of the first job: $(cat "$TMP/qs.out")"
grep -Eq "startup-trial +demo-startup .* 200\.00 .*active" "$TMP/qs.out" &&
    ok "fleet usage shows the policy's allocation" || fail "no allocation in: $(cat "$TMP/qs.out")"
grep -q "name: \"$(id -un)\"" "$RUN/center.yaml" && ! grep -q "@" "$RUN/center.yaml" &&
    ok "center.yaml written with you as its user" || fail "center.yaml: $(cat "$RUN/center.yaml")"

# vision (the default project) borrows the whole pool
b=()
for i in 1 2 3 4; do
    b+=("$("$FLEET" submit --parsable --gpus 8 -t 30:00 -o /dev/null --wrap 'sleep 1000')") ||
        fail "submit borrower $i"
    sleep 1.1 # distinct start times: the youngest is the last
done
for j in "${b[@]}"; do
    wait_for 20 is_state "$j" running || fail "borrower $j: $(field "$j" state)"
done
[ "$(field "${b[0]}" account)" = vision ] && ok "4 jobs of vision (the default project) hold 32 GPUs" ||
    fail "borrower's project: $(field "${b[0]}" account)"

# llm is covered by its tier's guarantee: the youngest borrower goes
g=$("$FLEET" submit --parsable --account llm --gpus 8 -t 30:00 -o /dev/null --wrap 'sleep 100') ||
    fail "submit llm job"
if wait_for 30 is_state "$g" running; then
    ok "the llm job runs (guarantee of its tier)"
else
    fail "llm job: $(field "$g" state), reason $(field "$g" reason)"
fi
last=${b[3]}
[ "$(field "$last" restarts)" = 1 ] && ok "the youngest borrower was preempted and requeued" ||
    fail "youngest borrower $last: $(field "$last" state), restarts $(field "$last" restarts)"
for j in "${b[0]}" "${b[1]}" "${b[2]}"; do
    is_state "$j" running && [ "$(field "$j" restarts)" = 0 ] ||
        fail "borrower $j: $(field "$j" state), restarts $(field "$j" restarts)"
done

# the startup's allocation: 8 GPUs x 30 h = 240 GPU-hours > 200
expect_fail "allocation refuses a job larger than what is left" "left" \
    "$FLEET" submit --account demo-startup --gpus 8 -t 30:00:00 --wrap true

# cancel the jobs (their shepherds would outlive the daemons), then Ctrl-C
for j in "${b[@]}" "$g"; do "$FLEET" cancel "$j" >/dev/null 2>&1 || fail "cancel $j"; done
for j in "${b[@]}" "$g"; do
    wait_for 20 is_state "$j" cancelled || fail "job $j: $(field "$j" state) after cancel"
done
cp "$RUN/center.yaml" "$TMP/center.before"
kill -TERM "$qs"
wait "$qs" 2>/dev/null
gone() { ! pgrep -f "$RUN/state" >/dev/null && ! pgrep -f "$RUN/spool" >/dev/null; }
wait_for 20 gone && ok "Ctrl-C stopped the daemons" || fail "left running: $(pgrep -af "$RUN")"

# make run again: the policy file is kept, the jobs are remembered
if GPUFLEET_RUN_DIR=$RUN GPUFLEET_RUN_DEMO_ONLY=1 timeout 120 "$QS" "$BUILD" >"$TMP/qs2.out" 2>&1; then
    ok "make run again: its demo job completes"
else
    fail "second run: $(tail -n 20 "$TMP/qs2.out")"
fi
cmp -s "$RUN/center.yaml" "$TMP/center.before" && ok "center.yaml kept" || fail "center.yaml rewritten"
n=$(sed -n 's/^hello from job \([0-9]*\) .*/\1/p' "$TMP/qs2.out")
[ -n "$n" ] && [ "$n" -gt "$g" ] && grep -Eq "^ *$g +wrap +$(id -un) +cancelled" "$TMP/qs2.out" &&
    ok "jobs remembered: job $g in the history, the new job is $n" ||
    fail "after the restart: $(cat "$TMP/qs2.out")"
wait_for 20 gone || fail "second run left daemons: $(pgrep -af "$RUN")"
finish
