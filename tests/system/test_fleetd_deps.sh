#!/usr/bin/env bash
# Job dependencies (afterok, afterany, afternotok, singleton) and the running
# limit of job arrays (--array 0-5%2), through the API, across a restart.
source "$(dirname "$0")/common.sh"
S=$TMP/fleetd.sock
start_fleetd() {
    "$BUILD/fleetd" --no-agents --state-dir "$TMP/state" --socket "$S" --config "$ROOT/examples/cluster-small.yaml" \
        --interval 1 >>"$TMP/fleetd.log" 2>&1 &
    FPID=$!
    for _ in $(seq 400); do curl -s --unix-socket "$S" http://x/v1/status >/dev/null && return; sleep 0.05; done
    fail "fleetd did not start"; finish
}
api() { curl -s --unix-socket "$S" -X "$1" "http://x$2" ${3:+--data-binary "$3"}; }
field() { python3 -c "import json,sys; print(json.load(sys.stdin)['$1'])"; }
wait_for() { # ID FIELD VALUE
    for _ in $(seq 60); do
        [ "$(api GET "/v1/jobs/$1" | field "$2")" = "$3" ] && return 0
        sleep 0.1
    done
    return 1
}
start_fleetd
A=$(api POST /v1/jobs '{"wrap":"a","gpus":1,"name":"A"}' | field id)
B=$(api POST /v1/jobs "{\"wrap\":\"b\",\"gpus\":1,\"dependency\":\"afterany:$A\"}" | field id)
C=$(api POST /v1/jobs "{\"wrap\":\"c\",\"gpus\":1,\"dependency\":\"afterok:$A\"}" | field id)
D=$(api POST /v1/jobs "{\"wrap\":\"d\",\"gpus\":1,\"dependency\":\"afternotok:$A\"}" | field id)
wait_for "$A" state running && ok "A runs" || fail "A does not run"
wait_for "$B" reason dependency && ok "B waits on A (afterany)" || fail "B: $(api GET /v1/jobs/$B)"
[ "$(api POST /v1/jobs '{"wrap":"x","gpus":1,"dependency":"afterok:999999"}' | field error | grep -c dependency)" = 1 ] &&
    ok "a dependency on no job is refused" || fail "dependency on a missing job accepted"
# the dependencies survive a restart
kill "$FPID"; wait "$FPID"; start_fleetd
wait_for "$C" reason dependency && ok "C still waits after a restart" || fail "C after restart: $(api GET /v1/jobs/$C)"
api DELETE "/v1/jobs/$A" >/dev/null
wait_for "$B" state running && ok "B runs once A ended" || fail "B: $(api GET /v1/jobs/$B)"
wait_for "$D" state running && ok "D runs: A did not succeed (afternotok)" || fail "D: $(api GET /v1/jobs/$D)"
wait_for "$C" reason dependency_never_satisfied && ok "C can never run (afterok, A cancelled)" ||
    fail "C: $(api GET /v1/jobs/$C)"
# singleton: one job of a name and user at a time
S1=$(api POST /v1/jobs '{"wrap":"s","gpus":1,"name":"solo","dependency":"singleton"}' | field id)
S2=$(api POST /v1/jobs '{"wrap":"s","gpus":1,"name":"solo","dependency":"singleton"}' | field id)
wait_for "$S1" state running && wait_for "$S2" reason dependency && ok "singleton: the second waits" ||
    fail "singleton: $(api GET /v1/jobs/$S2)"
api DELETE "/v1/jobs/$S1" >/dev/null
wait_for "$S2" state running && ok "singleton: the second runs after the first" || fail "singleton after"
# array limit
AR=$(api POST /v1/jobs '{"wrap":"t","gpus":1,"array":"0-5%2"}' | field id)
sleep 1.5
n=$(api GET "/v1/jobs?state=running" | python3 -c "import json,sys; print(sum(1 for j in json.load(sys.stdin)['jobs'] if j.get('array_job_id')==$AR))")
[ "$n" = 2 ] && ok "array 0-5%2: 2 tasks run" || fail "array 0-5%2: $n tasks run"
wait_for $((AR + 2)) reason array_limit && ok "the others wait: array_limit" || fail "array reason: $(api GET /v1/jobs/$((AR+2)))"
kill "$FPID"; wait "$FPID"; start_fleetd
sleep 1.5
n=$(api GET "/v1/jobs?state=running" | python3 -c "import json,sys; print(sum(1 for j in json.load(sys.stdin)['jobs'] if j.get('array_job_id')==$AR))")
[ "$n" = 2 ] && ok "after a restart, still 2 running" || fail "after restart: $n running"
api DELETE "/v1/jobs/$AR" >/dev/null
sleep 1.5
n=$(api GET "/v1/jobs?state=running" | python3 -c "import json,sys; print(sum(1 for j in json.load(sys.stdin)['jobs'] if j.get('array_job_id')==$AR))")
[ "$n" = 2 ] && ok "a task ended, the next took its place" || fail "after one ended: $n running"
kill "$FPID"; wait "$FPID"
finish
