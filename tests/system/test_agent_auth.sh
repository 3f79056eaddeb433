#!/usr/bin/env bash
# fleet-agent and the cluster key, both ways.
#   - An agent with another key is refused by fleetd (401): it says so in its
#     log, fleetd logs the bad MAC, and its nodes never come up; forged or
#     unauthenticated syncs sent by hand are refused too; the same agent with
#     the right key brings the nodes up.
#   - Against a fake fleetd (fake_fleetd.py): the agent signs every sync
#     with strictly increasing nonces and sends its inventory first; replies
#     with a wrong X-Fleet-MAC are ignored (their launch never runs); a good
#     reply's launch runs once, its end is reported until acknowledged, and
#     after the acknowledgement repeated launches are not run again (the
#     tombstone); a reply numbered below one already applied is ignored.
source "$(dirname "$0")/common.sh"
source "$(dirname "$0")/agent_common.sh"

agent_cluster 2
start_fleetd
allow=()
[ "$(id -u)" -eq 0 ] && allow=(--allow-root)

# ---- the wrong key --------------------------------------------------------
head -c 32 /dev/urandom >"$TMP/other.key"
chmod 600 "$TMP/other.key"
"$AGENT" --controller "unix:$S" --key-file "$TMP/other.key" --spool "$TMP/spool-bad" \
    --emulate 2 "${allow[@]}" >"$TMP/bad-agent.log" 2>&1 &
BAD=$!
sleep 2
up=$("$FLEET" nodes --json | python3 -c 'import json,sys; print(sum(n["state"] == "up" or n["agent"]["alive"] for n in json.load(sys.stdin)["nodes"]))')
[ "$up" = 0 ] && ok "wrong key: no node comes up" || fail "wrong key: $up nodes up"
grep -q "fleetd refused the sync (HTTP 401, wrong cluster key?)" "$TMP/bad-agent.log" &&
    ok "wrong key: the agent logs the refusal" || fail "agent log: $(cat "$TMP/bad-agent.log")"
[ "$(grep -c "refused the sync" "$TMP/bad-agent.log")" -le 2 ] ||
    fail "the refusal is logged at every retry: $(grep -c "refused the sync" "$TMP/bad-agent.log") lines"
grep -q "message refused: bad MAC" "$TMP/fleetd.log" &&
    ok "wrong key: fleetd logs the bad MAC" || fail "fleetd log: $(tail -3 "$TMP/fleetd.log")"
if grep -q -i -E "$(od -An -tx1 "$TMP/state/cluster.key" | tr -d ' \n' | cut -c1-16)" "$TMP/bad-agent.log" "$TMP/fleetd.log"; then
    fail "a key appears in a log"
fi
kill -TERM "$BAD"
wait "$BAD"

# ---- forged syncs by hand -------------------------------------------------
python3 - "$S" "$TMP/other.key" <<'PY' && ok "hand-made syncs without or with a forged MAC: 401" || fail "forged syncs accepted"
import hashlib, hmac, json, socket, struct, sys, time
path, key = sys.argv[1], open(sys.argv[2], "rb").read()
body = json.dumps({"version": 1, "agent": "emu000", "boot": 1, "wait_ms": 0, "last_seq": 0,
                   "nodes": [{"name": "emu000", "running": [{"job": 1, "run": 0, "gpus": [0]}]}]}).encode()
def post(headers):
    s = socket.socket(socket.AF_UNIX); s.connect(path)
    h = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    s.sendall(f"POST /v1/agent/sync HTTP/1.1\r\nHost: x\r\nContent-Length: {len(body)}\r\n{h}\r\n".encode() + body)
    r = s.recv(65536).decode(errors="replace"); s.close()
    return int(r.split()[1])
nonce = time.time_ns()
forged = hmac.new(key, b"gpufleet/agent/sync/v1\0" + struct.pack("<Q", nonce) + body, hashlib.sha256).hexdigest()
codes = [post({}), post({"X-Fleet-Agent": "emu000", "X-Fleet-Nonce": str(nonce)}),
         post({"X-Fleet-Agent": "emu000", "X-Fleet-Nonce": str(nonce), "X-Fleet-MAC": forged}),
         post({"X-Fleet-Agent": "emu000", "X-Fleet-Nonce": str(nonce), "X-Fleet-MAC": "0" * 64})]
assert codes == [401] * 4, codes
PY
up=$("$FLEET" nodes --json | python3 -c 'import json,sys; print(sum(n["state"] == "up" for n in json.load(sys.stdin)["nodes"]))')
[ "$up" = 0 ] || fail "a forged sync brought $up nodes up"

# ---- the right key --------------------------------------------------------
start_agent --emulate 2 "${allow[@]}"
wait_nodes_up 2 && ok "the right key: both nodes up"
stop_all

# ---- the agent against a fake fleetd ---------------------------------------
FS=$TMP/fake.sock
mkdir -p "$TMP/fakework"
python3 "$(dirname "$0")/fake_fleetd.py" "$FS" "$TMP/state/cluster.key" "$TMP/fakework" \
    "$TMP/fake.log" "$TMP/fake.json" 3 &
FAKE=$!
for _ in $(seq 100); do [ -S "$FS" ] && break; sleep 0.05; done
"$AGENT" --controller "unix:$FS" --key-file "$TMP/state/cluster.key" --spool "$TMP/spool-fake" \
    --name fakenode --gpus 2 --gpu-model FakeGPU --addr 10.1.2.3 --heartbeat-ms 200 \
    "${allow[@]}" >"$TMP/fake-agent.log" 2>&1 &
APID=$!
wait "$FAKE"
kill -TERM "$APID"
wait "$APID"
APID=
if [ ! -f "$TMP/fake.json" ]; then
    fail "the fake fleetd ended without a result: $(tail -5 "$TMP/fake-agent.log")"
    finish
fi
python3 - "$TMP/fake.json" "$TMP/fakework" <<'PY' >"$TMP/fake.out" 2>&1
import json, os, sys
r = json.load(open(sys.argv[1]))
checks = []
def check(name, cond):
    print(("ok: " if cond else "FAIL: ") + name + ("" if cond else f"  [{json.dumps(r)}]"))
check("every sync MAC'd with the cluster key", r["bad_request_mac"] == 0 and r["syncs"] > 8)
check("nonces strictly increasing", r["nonces_increasing"])
inv = r["inventory"] or {}
check("inventory in the first sync: 2 configured GPUs, model, address, cgroup mode",
      inv.get("gpus") == 2 and inv.get("source") == "config" and inv.get("model") == "FakeGPU"
      and inv.get("addr") == "10.1.2.3" and inv.get("cgroup") in ("v1", "v2", "none")
      and len(inv.get("gpu", [])) == 2)
first = r["reported_77_at"][0] if r["reported_77_at"] else None
check("replies with a forged MAC ignored: their launch never ran",
      first is not None and first > r["first_good_reply_at"])
e = r["ended_77"] or {}
check("the launch of a good reply ran, its end reported (exit 0)",
      e.get("exit_code") == 0 and e.get("reason") == 0)
out = open(os.path.join(sys.argv[2], "out-77.txt")).read().strip()
check("the job's output: its node and GPUs", out == "job 77 on fakenode gpus 1")
check("after the acknowledgement, repeated launches are not run again",
      r["acked_77_at"] is not None and not r["reported_after_ack"])
check("a reply numbered below the last applied is ignored",
      r["stale_sent_at"] is not None and not r["reported_78"])
PY
cat "$TMP/fake.out"
FAILS=$((FAILS + $(grep -c '^FAIL' "$TMP/fake.out")))
grep -q "failed authentication (X-Fleet-MAC); ignored" "$TMP/fake-agent.log" &&
    ok "the agent logs the forged replies" || fail "agent log: $(head -5 "$TMP/fake-agent.log")"
[ "$(ls "$TMP/spool-fake/fakenode" | tr '\n' ' ')" = "77.0.done " ] &&
    ok "spool after the acknowledgement: the tombstone only" ||
    fail "spool: $(ls "$TMP/spool-fake/fakenode")"
finish
