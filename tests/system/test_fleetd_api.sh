#!/usr/bin/env bash
# fleetd's HTTP API on its Unix socket, driven with curl: submissions,
# listings, pending reasons, bad input answered with 4xx and a clear error
# (nothing accepted is lost), a 10 MB body, a slow client that must not stall
# others, identity from the kernel (another user cannot touch root's job),
# operators-only routes, and recovery after a restart.
source "$(dirname "$0")/common.sh"
S=$TMP/fleetd.sock
start_fleetd() {
    "$BUILD/fleetd" --no-agents --state-dir "$TMP/state" --socket "$S" --config "$ROOT/examples/cluster-small.yaml" \
        --interval 1 >>"$TMP/fleetd.log" 2>&1 &
    FPID=$!
    for _ in $(seq 400); do curl -s --unix-socket "$S" http://x/v1/status >/dev/null && return; sleep 0.05; done
    fail "fleetd did not start: $(cat "$TMP/fleetd.log")"; finish
}
api() { # METHOD PATH [BODY] -> prints "STATUS BODY"
    if [ $# -ge 3 ]; then
        curl -s -o "$TMP/body" -w '%{http_code}' --unix-socket "$S" -X "$1" "http://x$2" --data-binary "$3"
    else
        curl -s -o "$TMP/body" -w '%{http_code}' --unix-socket "$S" -X "$1" "http://x$2"
    fi
    echo " $(cat "$TMP/body")"
}
expect() { # NAME WANT_STATUS PATTERN RESPONSE
    local got=${4%% *} body=${4#* }
    if [ "$got" = "$2" ] && grep -Eq -- "$3" <<<"$body"; then ok "$1"; else fail "$1: got $got $body"; fi
}
start_fleetd

expect "submit" 201 '"id":1' "$(api POST /v1/jobs '{"wrap":"sleep 1","gpus":8,"time_limit":600}')"
for i in $(seq 18); do api POST /v1/jobs '{"wrap":"sleep 1","gpus":8,"time_limit":600}' >/dev/null; done
expect "a gang" 201 '"id":20' "$(api POST /v1/jobs '{"wrap":"x","nodes":2,"time_limit":900,"name":"gang"}')"
expect "array" 201 '"array_job_id":21,"tasks":4' "$(api POST /v1/jobs '{"wrap":"x","gpus":1,"array":"0-3"}')"
sleep 1.2
expect "pending reason and estimated start" 200 '"id":20,"name":"gang".*"state":"pending","reason":"resources".*"est_start":[0-9]+' \
    "$(api GET '/v1/jobs?state=pending')"
expect "filter by state" 200 '"count":19' "$(api GET '/v1/jobs?state=running')"
# every pending job, not only the one holding the reservation, has a start estimate,
# and the array tasks queued behind the gang are estimated no earlier than it
# (estimates are refreshed at most every 2 s: wait for one made after the last submission)
for _ in $(seq 50); do
    api GET '/v1/jobs?state=pending' >/dev/null
    grep -q '"est_start":null' "$TMP/body" || break
    sleep 0.1
done
python3 - "$TMP/body" <<'PY' && ok "start estimates for every pending job" || fail "start estimates: $(cat "$TMP/body" | head -c 600)"
import json, sys
jobs = json.load(open(sys.argv[1]))["jobs"]
est = {j["id"]: j["est_start"] for j in jobs}
assert len(jobs) == 5 and all(v is not None for v in est.values()), est
assert all(est[i] >= jobs[0]["submit_time"] for i in est), est
PY
expect "show" 200 '"request":\{' "$(api GET /v1/jobs/1)"

# bad input: a clear 4xx naming the field, and nothing accepted changes
expect "malformed JSON" 400 '"code":"invalid".*line 1' "$(api POST /v1/jobs '{"wrap":')"
expect "not an object" 400 '"error"' "$(api POST /v1/jobs '[1,2]')"
expect "unknown field" 400 '"field":"frobnicate"' "$(api POST /v1/jobs '{"wrap":"x","gpus":1,"frobnicate":2}')"
expect "negative size" 400 '"field":"gpus"' "$(api POST /v1/jobs '{"wrap":"x","gpus":-4}')"
expect "absurd size" 400 '"field":"gpus"' "$(api POST /v1/jobs '{"wrap":"x","gpus":100000}')"
expect "no command" 400 '"error"' "$(api POST /v1/jobs '{"gpus":1}')"
expect "unknown pool" 400 '"field":"pool"' "$(api POST /v1/jobs '{"wrap":"x","gpus":1,"pool":"tpu"}')"
expect "bad job id" 400 '"field":"id"' "$(api GET /v1/jobs/abc)"
expect "missing job" 404 '"code":"not_found"' "$(api GET /v1/jobs/999999)"
expect "unknown path" 404 '"code":"not_found"' "$(api GET /v1/frobs)"
expect "wrong method" 405 '"code":"method_not_allowed"' "$(api PUT /v1/jobs/1)"
expect "bad state filter" 400 '"field":"state"' "$(api GET '/v1/jobs?state=sleeping')"
head -c 10485760 /dev/zero | tr '\0' 'a' >"$TMP/big"
code=$(curl -s -o "$TMP/body" -w '%{http_code}' --unix-socket "$S" -X POST http://x/v1/jobs --data-binary @"$TMP/big")
[ "$code" = 413 ] && ok "10 MB body: 413" || fail "10 MB body: got $code $(head -c 200 "$TMP/body")"
expect "nothing lost" 200 '"count":24' "$(api GET '/v1/jobs')"

# a slow client dribbling a request must not stall the others
python3 - "$S" <<'PY' &
import socket, sys, time
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1])
req = b'POST /v1/jobs HTTP/1.1\r\nHost: x\r\nContent-Length: 40\r\n\r\n{"wrap":"x","gpus":1,"name":"slowpoke"}'
for b in req[:-5]:
    s.send(bytes([b])); time.sleep(0.05)
time.sleep(1)
PY
SLOW=$!
sleep 0.3
t0=$EPOCHREALTIME
for i in $(seq 20); do api GET /v1/status >/dev/null; done
t=$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN{print b-a}')
# the slow client takes 8 s to send its request: stalled requests would wait for it
awk -v t="$t" 'BEGIN{exit !(t < 4)}' && ok "20 requests served in ${t}s beside a slow client" ||
    fail "requests stalled behind a slow client (${t}s)"
wait $SLOW

# identity: the kernel says who calls; a user cannot touch another's job
if command -v setpriv >/dev/null; then
    # the socket's directory must be enterable by everyone, and the
    # answers written where nobody may write
    chmod 755 "$TMP"
    mkdir -m 777 "$TMP/nb"
    asuser() { setpriv --reuid=65534 --regid=65534 --clear-groups "$@"; }
    code=$(asuser curl -s -o "$TMP/nb/body" -w '%{http_code}' --unix-socket "$S" -X DELETE http://x/v1/jobs/2)
    [ "$code" = 403 ] && grep -q '"code":"forbidden"' "$TMP/nb/body" && ok "nobody cannot cancel root's job" ||
        fail "nobody cancelling root's job: $code $(cat "$TMP/nb/body")"
    code=$(asuser curl -s -o "$TMP/nb/body" -w '%{http_code}' --unix-socket "$S" http://x/v1/jobs/2)
    [ "$code" = 200 ] && ! grep -q '"request"' "$TMP/nb/body" && ok "nobody sees public fields, not the request" ||
        fail "nobody showing root's job: $code"
    code=$(asuser curl -s -o "$TMP/nb/body" -w '%{http_code}' --unix-socket "$S" -X POST http://x/v1/nodes/blk0-n000/drain)
    [ "$code" = 403 ] && ok "nobody cannot drain a node" || fail "nobody draining: $code"
    code=$(asuser curl -s -o "$TMP/nb/body" -w '%{http_code}' --unix-socket "$S" -X POST http://x/v1/jobs \
        --data-binary '{"wrap":"id","gpus":1,"name":"mine"}')
    [ "$code" = 201 ] && ok "nobody submits" || fail "nobody submitting: $code $(cat "$TMP/nb/body")"
    id=$(sed 's/[^0-9]//g' "$TMP/nb/body")
    code=$(asuser curl -s -o "$TMP/nb/body" -w '%{http_code}' --unix-socket "$S" -X POST "http://x/v1/jobs/$id/hold")
    [ "$code" = 200 ] || [ "$code" = 409 ] && ok "nobody holds its own job ($code)" || fail "own hold: $code"
    expect "the job belongs to nobody" 200 '"user":"nobody"' "$(api GET "/v1/jobs/$id")"
else
    fail "setpriv missing (util-linux)"
fi

# operators act on nodes; a drained node gets no new work and says so
expect "drain" 200 '"state":"drain"' "$(api POST /v1/nodes/blk0-n000/drain '{"reason":"maintenance"}')"
expect "nodes list" 200 '"name":"blk0-n000".*"state":"drain".*"reason":"maintenance"' "$(api GET /v1/nodes)"
expect "cancel" 200 '"state":"cancelled"' "$(api DELETE /v1/jobs/3)"
expect "cancel twice" 409 '"code":"conflict"' "$(api DELETE /v1/jobs/3)"
expect "hold a pending job" 200 '"held":true' "$(api POST /v1/jobs/20/hold)"
expect "bulk cancel" 200 '"cancelled":2' "$(api POST /v1/jobs/cancel '{"ids":[4,5]}')"
expect "bulk cancel: bad body" 400 '"field":"frob"' "$(api POST /v1/jobs/cancel '{"frob":1}')"

# a restart recovers every job and its state
kill -0 "$FPID" 2>/dev/null || { fail "fleetd died: $(tail -n 30 "$TMP/fleetd.log")"; finish; }
kill "$FPID"; wait "$FPID"
start_fleetd
expect "after restart: held job" 200 '"id":20.*"held":true' "$(api GET /v1/jobs/20)"
expect "after restart: cancelled job" 200 '"state":"cancelled"' "$(api GET /v1/jobs/3)"
expect "after restart: drained node" 200 '"state":"drain".*"reason":"maintenance"' "$(api GET /v1/nodes/blk0-n000)"
expect "after restart: count" 200 '"count":25' "$(api GET '/v1/jobs')"
kill "$FPID"; wait "$FPID"
[ "$FAILS" -gt 0 ] && { echo "fleetd's log:"; tail -n 30 "$TMP/fleetd.log"; }
finish
