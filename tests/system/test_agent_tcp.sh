#!/usr/bin/env bash
# Agents over TCP: fleetd listens on loopback TCP (bearer tokens for users),
# an agent emulating 2 nodes syncs over TCP (MACs, no token), and a 2-node
# job on them reaches fleetd over TCP from inside: it is given FLEET_URL and
# a bearer token of its user (FLEET_TOKEN), and `fleet run` starts its ranks.
# A token is never written to fleetd's or the agent's log.
source "$(dirname "$0")/common.sh"
source "$(dirname "$0")/agent_common.sh"

agent_cluster 2
start_fleetd --listen 127.0.0.1:0
port=$(sed -n 's/.*and tcp port \([0-9]*\).*/\1/p' "$TMP/fleetd.log" | tail -n 1)
[ -n "$port" ] || { fail "no tcp port in $(cat "$TMP/fleetd.log")"; finish; }
allow=()
[ "$(id -u)" -eq 0 ] && allow=(--allow-root)
"$AGENT" --controller "127.0.0.1:$port" --key-file "$TMP/state/cluster.key" --spool "$TMP/spool" \
    --emulate 2 "${allow[@]}" >>"$TMP/agent.log" 2>&1 &
APID=$!
wait_nodes_up 2 || finish
ok "an agent syncs over TCP without a bearer token (its messages carry MACs)"
W=$TMP/work
mkdir -p "$W"
chmod 755 "$TMP"
chmod 777 "$W"
cd "$W" || exit 1
export PATH="$BUILD:$PATH"
id=$("$FLEET" submit --parsable -N 2 -t 60s --wrap \
    'echo "url=$FLEET_URL"; [ -n "$FLEET_TOKEN" ] && echo token-set; [ -z "$FLEET_SOCKET" ] && echo no-socket
     fleet status --json | grep -o "\"operator\":[a-z]*"; fleet status --json | grep -o "\"user\":\"[^\"]*\""
     fleet run --label -- sh -c "echo rank \$RANK of \$WORLD_SIZE"')
wait_state "$id" completed 30
out=$(cat "$W/fleet-$id.out" 2>&1)
if grep -qx "url=http://127.0.0.1:$port" <<<"$out" && grep -qx token-set <<<"$out" &&
    grep -qx no-socket <<<"$out" && grep -qx "0: rank 0 of 2" <<<"$out" &&
    grep -qx "1: rank 1 of 2" <<<"$out"; then
    ok "a job on a TCP agent's nodes reaches fleetd over TCP with its token: fleet run works"
else
    fail "job over TCP: $out"
fi
tok_prefix=$(grep -ho 'gf1\.[A-Za-z0-9_-]\{20\}' "$TMP/fleetd.log" "$TMP/agent.log" | head -n 1)
[ -z "$tok_prefix" ] && ok "no token in the daemons' logs" || fail "a token in the logs: $tok_prefix"
grep -qx '"operator":false' <<<"$out" && grep -q '"user":"'"$(id -un)"'"' <<<"$out" &&
    ok "the job's token is its user's, without operator rights (even for root's job)" ||
    fail "the job's identity over TCP: $out"
finish
