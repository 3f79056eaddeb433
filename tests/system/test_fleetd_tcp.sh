#!/usr/bin/env bash
# fleetd's API on TCP: every request needs a bearer token that `fleet token
# create` signs with the cluster key; no token, a forged or altered token,
# or an expired one gets 401; a token's user is who the request acts as.
source "$(dirname "$0")/common.sh"
S=$TMP/fleetd.sock
"$BUILD/fleetd" --no-agents --state-dir "$TMP/state" --socket "$S" --listen 127.0.0.1:0 \
    --config "$ROOT/examples/cluster-small.yaml" >"$TMP/fleetd.log" 2>&1 &
FPID=$!
for _ in $(seq 400); do grep -q "tcp port" "$TMP/fleetd.log" && break; sleep 0.05; done
PORT=$(sed -n 's/.*tcp port \([0-9]*\).*/\1/p' "$TMP/fleetd.log")
[ -n "$PORT" ] || { fail "no tcp port: $(cat "$TMP/fleetd.log")"; finish; }
URL=http://127.0.0.1:$PORT
[ "$(stat -c %a "$TMP/state/cluster.key")" = 600 ] && ok "cluster key is mode 0600" ||
    fail "cluster key mode $(stat -c %a "$TMP/state/cluster.key")"
code() { curl -s -o "$TMP/body" -w '%{http_code}' "$@"; }

[ "$(code "$URL/v1/status")" = 401 ] && grep -q '"code":"unauthenticated"' "$TMP/body" &&
    ok "no token: 401" || fail "no token: $(cat "$TMP/body")"
ROOTTOK=$("$BUILD/fleet" token create root --uid 0 --operator --key "$TMP/state/cluster.key") ||
    fail "token create"
ALICE=$("$BUILD/fleet" token create alice --uid 4242 --days 1 --key "$TMP/state/cluster.key")
[ "$(code -H "Authorization: Bearer $ROOTTOK" "$URL/v1/status")" = 200 ] &&
    grep -q '"operator":true' "$TMP/body" && ok "operator token" || fail "operator token: $(cat "$TMP/body")"
[ "$(code -H "Authorization: Bearer ${ROOTTOK}x" "$URL/v1/status")" = 401 ] && ok "altered token: 401" ||
    fail "altered token accepted"
other=$(head -c 32 /dev/urandom >"$TMP/other.key"; chmod 600 "$TMP/other.key"; \
        "$BUILD/fleet" token create root --uid 0 --operator --key "$TMP/other.key")
[ "$(code -H "Authorization: Bearer $other" "$URL/v1/status")" = 401 ] && ok "token of another key: 401" ||
    fail "foreign token accepted"
[ "$(code -H "Authorization: Bearer $ROOTTOK" -X POST "$URL/v1/jobs" --data-binary '{"wrap":"x","gpus":1}')" = 201 ] &&
    ok "root submits over TCP" || fail "root submit: $(cat "$TMP/body")"
[ "$(code -H "Authorization: Bearer $ALICE" -X POST "$URL/v1/jobs" --data-binary '{"wrap":"x","gpus":1}')" = 201 ] &&
    ok "alice submits over TCP" || fail "alice submit: $(cat "$TMP/body")"
[ "$(code -H "Authorization: Bearer $ALICE" "$URL/v1/jobs/2")" = 200 ] && grep -q '"user":"alice","uid":4242' "$TMP/body" &&
    ok "the job is alice's" || fail "alice's job: $(cat "$TMP/body")"
[ "$(code -H "Authorization: Bearer $ALICE" -X DELETE "$URL/v1/jobs/1")" = 403 ] &&
    ok "alice cannot cancel root's job" || fail "alice cancelled root's job: $(cat "$TMP/body")"
[ "$(code -H "Authorization: Bearer $ALICE" -X POST "$URL/v1/nodes/blk0-n000/drain")" = 403 ] &&
    ok "alice cannot drain" || fail "alice drained"
"$BUILD/fleet" token create 'bad name' --uid 1 --key "$TMP/state/cluster.key" >/dev/null 2>&1 &&
    fail "a token for a bad user name" || ok "bad user name refused"
chmod 644 "$TMP/state/cluster.key"
"$BUILD/fleet" token create bob --uid 7 --key "$TMP/state/cluster.key" 2>"$TMP/err" >/dev/null &&
    fail "token from a world-readable key" || { grep -q "too open" "$TMP/err" && ok "open key refused"; }
chmod 600 "$TMP/state/cluster.key"
# the CLI over TCP
FLEET_URL=$URL FLEET_TOKEN=$ALICE "$BUILD/fleet" queue --me >"$TMP/q" 2>&1 && grep -q alice "$TMP/q" &&
    ok "fleet queue over TCP as alice" || fail "fleet over TCP: $(cat "$TMP/q")"
FLEET_URL=$URL "$BUILD/fleet" status >"$TMP/q" 2>&1; rc=$?
[ $rc = 1 ] && grep -q "bearer token" "$TMP/q" && ok "fleet over TCP without a token: refused (exit 1)" ||
    fail "fleet without token: exit $rc $(cat "$TMP/q")"
grep -q "$ROOTTOK" "$TMP/fleetd.log" && fail "a token appears in fleetd's log" || ok "no token in the log"
kill "$FPID"; wait "$FPID"
finish
