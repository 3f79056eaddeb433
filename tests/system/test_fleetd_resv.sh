#!/usr/bin/env bash
# Operators' reservations in a live fleetd (--no-agents: started jobs run
# until cancelled), through fleet admin reservation and the API:
#   - a maintenance window starting in 600 s on n1: a job of 2 h waits
#     (reason reservation) while a job of 5 min runs there;
#   - a project reservation of n2 admits only its project's jobs;
#   - reservations survive a restart; delete frees the nodes;
#   - operators only; malformed ones are refused naming the field.
source "$(dirname "$0")/common.sh" "$@"

FLEETD=$BUILD/fleetd
[ -x "$FLEETD" ] || { echo "FAIL: $FLEETD not built"; exit 1; }
SOCK=$TMP/fleetd.sock
export FLEET_SOCKET=$SOCK
unset FLEET_URL FLEET_TOKEN
chmod 755 "$TMP"

cat >"$TMP/cluster.yaml" <<'YAML'
pools:
  - {name: h100, model: H100-80G}
blocks:
  - {name: b0, spine: s0}
nodes:
  - {name: n1, pool: h100, block: b0, gpus: 8, cpus: 64, memory_gb: 512}
  - {name: n2, pool: h100, block: b0, gpus: 8, cpus: 64, memory_gb: 512}
YAML
cat >"$TMP/center.yaml" <<'YAML'
center: testcenter
accounts:
  - name: research
    organizations:
      - name: lab
        projects:
          - name: pa
          - name: pb
users:
  - name: root
    uid: 0
    projects: [pa, pb]
    default_project: pa
YAML

FPID=
start_fleetd() {
    "$FLEETD" --no-agents --state-dir "$TMP/state" --socket "$SOCK" --config "$TMP/cluster.yaml" \
        --center "$TMP/center.yaml" --interval 1 >>"$TMP/fleetd.log" 2>&1 &
    FPID=$!
    for _ in $(seq 200); do
        "$FLEET" status >/dev/null 2>&1 && return 0
        kill -0 "$FPID" 2>/dev/null || break
        sleep 0.05
    done
    fail "fleetd did not start: $(tail -n 20 "$TMP/fleetd.log")"
    finish
}
stop_fleetd() { kill "$FPID" 2>/dev/null && wait "$FPID"; FPID=; }
trap '[ -n "$FPID" ] && kill "$FPID" 2>/dev/null; [ -n "${KEEP_TMP:-}" ] || rm -rf "$TMP"' EXIT
api() { curl -s --unix-socket "$SOCK" -X "$1" "http://x$2" ${3:+--data-binary "$3"}; }
jfield() { python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }
wait_job() { # ID KEY VALUE, 5 s at most
    for _ in $(seq 100); do
        [ "$(api GET "/v1/jobs/$1" | jfield "['$2']")" = "$3" ] && return 0
        sleep 0.05
    done
    return 1
}
sub() { "$FLEET" submit --parsable --wrap "sleep 1000" "$@"; }

start_fleetd
# ---- validation and roles -----------------------------------------------------
expect_fail "end before start" "end: must be after start" \
    "$FLEET" admin reservation add bad --nodes n1 --start +10m --end +5m --kind maintenance
expect_fail "unknown node" "nodes: no node \"zz\"" \
    "$FLEET" admin reservation add bad --nodes zz --start +10m --end +1h --kind maintenance
expect_fail "project without accounts" "accounts: a project reservation needs" \
    "$FLEET" admin reservation add bad --nodes n1 --start +10m --end +1h --kind project
expect_fail "unknown project" "accounts: no project \"nope\"" \
    "$FLEET" admin reservation add bad --nodes n1 --start +10m --end +1h --kind project --accounts nope
expect_fail "bad kind" "kind: must be" \
    "$FLEET" admin reservation add bad --nodes n1 --start +10m --end +1h --kind party
code=$(setpriv --reuid=65534 --regid=65534 --clear-groups \
    curl -s -o /dev/null -w '%{http_code}' --unix-socket "$SOCK" "http://x/v1/reservations")
[ "$code" = 403 ] && ok "a user may not list reservations (403)" || fail "user GET: $code"

# ---- maintenance of n1 from +600 s; n2 taken by a project reservation -----------
"$FLEET" admin reservation add maint --nodes n1 --start +600s --end +2h --kind maintenance >/dev/null &&
    ok "maintenance added" || fail "maintenance add"
"$FLEET" admin reservation add proj --nodes n2 --start 0 --end +1d --kind project --accounts pb \
    >/dev/null && ok "project reservation added" || fail "project add"
"$FLEET" admin reservation list >"$TMP/list"
grep -q "^maint .*maintenance" "$TMP/list" && grep -q "^proj .*project.*pb" "$TMP/list" &&
    ok "list shows both" || fail "list: $(cat "$TMP/list")"

LONG=$(sub --gpus 8 --time 2:00:00 -A pa)
wait_job "$LONG" reason reservation && ok "a 2 h job waits: reason reservation" ||
    fail "long: $(api GET /v1/jobs/$LONG)"
SHORT=$(sub --gpus 8 --time 5:00 -A pa)
wait_job "$SHORT" state running && [ "$(api GET /v1/jobs/$SHORT | jfield "['nodelist']")" = n1 ] &&
    ok "a 5 min job runs on n1 before the window" || fail "short: $(api GET /v1/jobs/$SHORT)"
OTHER=$(sub --gpus 8 --time 5:00 -A pa)
wait_job "$OTHER" reason reservation && ok "a job of project pa may not use pb's n2" ||
    fail "other: $(api GET /v1/jobs/$OTHER)"
PB=$(sub --gpus 8 --time 2:00:00 -A pb)
wait_job "$PB" state running && [ "$(api GET /v1/jobs/$PB | jfield "['nodelist']")" = n2 ] &&
    ok "a job of project pb runs on n2" || fail "pb: $(api GET /v1/jobs/$PB)"

# ---- durable: a restart keeps them --------------------------------------------
stop_fleetd
start_fleetd
[ "$(api GET /v1/reservations | jfield "['count']")" = 2 ] && ok "both survive a restart" ||
    fail "after restart: $(api GET /v1/reservations)"
# n1 is busy with the short job now: the long one waits for the window's end
[ "$(api GET /v1/jobs/$LONG | jfield "['state']")" = pending ] &&
    [ "$(api GET /v1/jobs/$LONG | jfield "['est_start']")" -ge "$(api GET /v1/reservations |
        jfield "['reservations'][0]['end']")" ] &&
    ok "the 2 h job still waits for the window's end after the restart" ||
    fail "long after restart: $(api GET /v1/jobs/$LONG | head -c 400)"

# ---- delete frees n1 for the long job once the short one is gone ---------------------------------
# (deleted first: else the 5 min job of pa behind it would take n1 before the window)
"$FLEET" admin reservation delete maint >/dev/null && ok "maintenance deleted" || fail "delete"
"$FLEET" cancel "$SHORT" >/dev/null
wait_job "$SHORT" state cancelled || fail "short not cancelled: $(api GET /v1/jobs/$SHORT | head -c 300)"
wait_job "$LONG" state running && ok "the 2 h job starts once the maintenance is deleted" ||
    fail "long after delete: $(api GET /v1/jobs/$LONG | head -c 400)"
expect_fail "delete unknown" "no reservation \"maint\"" "$FLEET" admin reservation delete maint

# ---- the center file's reservations section ----------------------------------------------------
"$FLEET" cancel "$LONG" "$PB" "$OTHER" >/dev/null
cp "$TMP/center.yaml" "$TMP/center.plain"
now=$(date +%s)
cat >>"$TMP/center.yaml" <<YAML
reservations:
  - name: fmaint
    kind: maintenance
    start: $((now + 600))
    end: $((now + 7200))
    nodes: [n1]
YAML
"$FLEET" admin reload >/dev/null && ok "reload with a reservations section" || fail "reload: $(tail -3 "$TMP/fleetd.log")"
api GET /v1/reservations | python3 -c 'import json,sys
r = {x["name"]: x for x in json.load(sys.stdin)["reservations"]}
assert set(r) == {"proj", "fmaint"}, r
assert r["fmaint"]["source"] == "center file" and r["fmaint"]["nodes"] == ["n1"], r["fmaint"]' &&
    ok "the file's reservation is listed beside the stored one" || fail "list: $(api GET /v1/reservations)"
F=$(sub --gpus 8 --time 2:00:00 -A pa)
wait_job "$F" reason reservation && ok "a 2 h job waits for the file's maintenance window" ||
    fail "file maint: $(api GET /v1/jobs/$F | head -c 300)"
expect_fail "the file's reservation is not deleted through the API" \
    "is defined in the center file $TMP/center.yaml: edit it there and reload" \
    "$FLEET" admin reservation delete fmaint
stop_fleetd
start_fleetd
[ "$(api GET /v1/reservations | jfield "['count']")" = 2 ] && wait_job "$F" reason reservation &&
    ok "the file's reservation applies again after a restart" || fail "after restart: $(api GET /v1/reservations)"
cp "$TMP/center.yaml" "$TMP/center.withresv"
sed 's/nodes: \[n1\]/nodes: [n9]/' "$TMP/center.withresv" >"$TMP/center.yaml"
expect_fail "a file reservation of an unknown node refuses the reload" \
    "center.yaml:[0-9]*: field nodes: reservation \"fmaint\": no node \"n9\" in this cluster" \
    "$FLEET" admin reload
cp "$TMP/center.plain" "$TMP/center.yaml"
"$FLEET" admin reload >/dev/null && [ "$(api GET /v1/reservations | jfield "['count']")" = 1 ] &&
    wait_job "$F" state running && ok "removed from the file and reloaded: the job starts" ||
    fail "after removal: $(api GET /v1/reservations) $(api GET /v1/jobs/$F | head -c 300)"
stop_fleetd

[ "$FAILS" -gt 0 ] && { echo "fleetd's log:"; tail -n 30 "$TMP/fleetd.log"; }
finish
