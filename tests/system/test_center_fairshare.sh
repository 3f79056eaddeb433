#!/usr/bin/env bash
# Fair share on live daemons: fleetd with a center (two sibling projects,
# shares 3:1, fair share the only priority factor, recomputed before every pass)
# and one fleet-agent emulating 2 nodes x 8 GPUs. Two users, one per project,
# keep the pool saturated with one-GPU jobs of 2 s for about 90 s; then every
# job is cancelled and `fleet usage --by project` over the whole run (what
# fair share equalizes: a window that skips the start would count the
# catching up after the first jobs, which went to one project, as bias)
# must show GPU-hours within 10% of 3:1. Needs root (jobs run as the two
# users).
source "$(dirname "$0")/common.sh"
source "$(dirname "$0")/agent_common.sh"
if [ "$(id -u)" -ne 0 ]; then
    echo "skip: needs root (jobs run as two other users)"
    finish
fi
RUN_S=${FAIRSHARE_RUN_S:-90}

agent_cluster 2
cat >"$TMP/center.yaml" <<'EOF'
center: test
priority:
  weights: {age: 0, fairshare: 10000, size: 0, qos: 0}
  half_life: 7d
  calc_period: 0s
accounts:
  - name: research
    shares: 1
    organizations:
      - name: lab
        projects:
          - name: big
            shares: 3
          - name: small
            shares: 1
users:
  - name: nobody
    uid: 65534
    projects: [big]
  - name: u4321
    uid: 4321
    projects: [small]
EOF
start_fleetd --center "$TMP/center.yaml"
start_agent --emulate 2
wait_nodes_up 2 || finish
W=$TMP/work
mkdir -p "$W"
chmod 755 "$TMP"
chmod 777 "$W"
cd "$W" || exit 1

as() { local u=$1; shift; setpriv --reuid="$u" --regid="$u" --clear-groups "$@"; }
# enough work for both for the whole run: 32 GPUs x RUN_S / 2 s jobs each, and more
n=$((16 * RUN_S + 40))
# the larger share first: the first wave (no usage yet: a tie, FIFO) goes to
# it, close to where fair share would put it anyway
as 65534 "$FLEET" submit --parsable -G 1 -t 60s --array "0-$((n - 1))" -o /dev/null \
    --wrap 'sleep 2' >/dev/null || fail "submit as big"
as 4321 "$FLEET" submit --parsable -G 1 -t 60s --array "0-$((n - 1))" -o /dev/null \
    --wrap 'sleep 2' >/dev/null || fail "submit as small"
sleep "$RUN_S"
"$FLEET" cancel --user nobody >/dev/null
"$FLEET" cancel --user 4321 >/dev/null 2>&1 || "$FLEET" cancel --user u4321 >/dev/null 2>&1
for _ in $(seq 200); do
    [ "$("$FLEET" queue --json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["jobs"]))')" = 0 ] && break
    sleep 0.1
done
"$FLEET" usage --by project --json >"$TMP/usage.json" || fail "fleet usage"
python3 - "$TMP/usage.json" <<'PY' && ok "$(cat "$TMP/ratio")" || fail "$(cat "$TMP/ratio" 2>/dev/null) $(cat "$TMP/usage.json")"
import json, os, sys
u = json.load(open(sys.argv[1]))
g = {x["name"]: x["gpu_hours"] for x in u["groups"]}
big, small = g.get("big", 0), g.get("small", 0)
r = big / small if small else float("inf")
msg = "shares 3:1 under saturation: GPU-hours big %.3f, small %.3f, ratio %.2f (within 10%% of 3)" % (big, small, r)
open(os.path.join(os.path.dirname(sys.argv[1]), "ratio"), "w").write(msg)
sys.exit(0 if 2.7 <= r <= 3.3 else 1)
PY
finish
