#!/usr/bin/env bash
# Running jobs in `fleet usage` on a live fleetd (--center, --no-agents:
# started jobs run until cancelled): a running run counts as a run and a job,
# for the part of it inside [since, min(until, now)), in running_runs and
# running_gpu_hours (and in the groups' and total's sums):
#   - an 8-GPU job on a pool of rate 10 shows up with running_runs 1 and
#     8 x (as_of - start) GPU-seconds, between 8 x the elapsed seconds
#     measured before and after the query, charged x 10, in every grouping,
#     in the table, the total line and the CSV;
#   - --until at its start excludes it; --since after its start counts the
#     part after since only; --since/--until around it count the window;
#   - the caller sees it as it sees records: a member of its project does,
#     a user of another project does not (and sees its own running job);
#   - it survives a restart of fleetd (counted from its start);
#   - a requeued run is a run (its record) and the running one another, one job;
#   - once cancelled, its usage is its record's only, never counted twice
#     (not even by reports asked while the cancel is committed);
#   - without a center (accounting only) too.
# On SQLite, and with GPUFLEET_PG_DSN on PostgreSQL too.
source "$(dirname "$0")/common.sh" "$@"

FLEETD=$BUILD/fleetd
[ -x "$FLEETD" ] || { echo "FAIL: $FLEETD not built"; exit 1; }
SOCK=$TMP/fleetd.sock
export FLEET_SOCKET=$SOCK
unset FLEET_URL FLEET_TOKEN
chmod 755 "$TMP" # the socket's directory: other users must reach it too

cat >"$TMP/cluster.yaml" <<'EOF'
pools:
  - {name: h100, model: H100-80G, charge_rate: 1.0}
  - {name: h200, model: H200-141G, charge_rate: 10.0}
blocks:
  - {name: b0, spine: s0}
nodes:
  - {name: n1, pool: h100, block: b0, gpus: 8, cpus: 64, memory_gb: 512}
  - {name: n2, pool: h100, block: b0, gpus: 8, cpus: 64, memory_gb: 512}
  - {name: g1, pool: h200, block: b0, gpus: 8, cpus: 64, memory_gb: 512}
EOF
# pa and pr in tier research / org kisti; pn directly under tier university.
# nobody is a member of pn only, u4321 of pa only (neither is an operator).
cat >"$TMP/center.yaml" <<'EOF'
center: testcenter
qos:
  - name: normal
default_qos: normal
accounts:
  - name: research
    organizations:
      - name: kisti
        projects:
          - name: pa
          - name: pr
  - name: university
    projects:
      - name: pn
users:
  - name: root
    uid: 0
    projects: [pa, pr, pn]
    default_project: pa
  - name: nobody
    uid: 65534
    projects: [pn]
  - name: u4321
    uid: 4321
    projects: [pa]
EOF

FPID=
STORE_ARGS=()
start_fleetd() { # STATE [ARGS...]: the state directory, more fleetd arguments
    local state=$1; shift
    "$FLEETD" --no-agents --state-dir "$state" --socket "$SOCK" --config "$TMP/cluster.yaml" \
        --interval 1 "${STORE_ARGS[@]}" "$@" >>"$TMP/fleetd.log" 2>&1 &
    FPID=$!
    for _ in $(seq 200); do
        "$FLEET" status >/dev/null 2>&1 && return 0
        kill -0 "$FPID" 2>/dev/null || break
        sleep 0.05
    done
    fail "fleetd did not start: $(tail -n 20 "$TMP/fleetd.log")"
    finish
}
stop_fleetd() {
    kill "$FPID" 2>/dev/null && wait "$FPID"
    FPID=
}
trap '[ -n "$FPID" ] && kill "$FPID" 2>/dev/null; [ -n "${KEEP_TMP:-}" ] || rm -rf "$TMP"' EXIT

api() { curl -s --unix-socket "$SOCK" -X "$1" "http://x$2"; }
jfield() { python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }
# wait_job ID KEY VALUE: until job ID's KEY is VALUE (5 s at most)
wait_job() {
    for _ in $(seq 100); do
        [ "$(api GET "/v1/jobs/$1" | jfield "['$2']")" = "$3" ] && return 0
        sleep 0.05
    done
    return 1
}
sub() { "$FLEET" submit --parsable --wrap "sleep 1000" -t 1:00:00 "$@"; }
asnobody() { setpriv --reuid=65534 --regid=65534 --clear-groups "$@"; }
as4321() { setpriv --reuid=4321 --regid=4321 --clear-groups "$@"; }
# until_clock T: sleep until the clock (Unix seconds) is at least T
until_clock() { while [ "$(date +%s)" -lt "$1" ]; do sleep 0.1; done; }
# check NAME PYTHON [ARGS...]: python3 - ARGS with the program PYTHON; ok or fail
check() {
    local name=$1 prog=$2; shift 2
    if python3 - "$@" <<<"$prog" >"$TMP/check.out" 2>&1; then
        ok "$name"
    else
        fail "$name: $(tail -n 3 "$TMP/check.out")"
    fi
}
# the Python every check starts with: u(FILE) the report, grp(FILE) its groups by name
PY_HEAD='import json, sys
def u(f): return json.load(open(f))
def grp(f): return {g["name"]: g for g in u(f)["groups"]}
def near(a, b): return abs(a - b) < 1e-6
'

# scenario NAME: everything with a center, on the store STORE_ARGS names
scenario() {
    local B=$1 st=$TMP/state-$1 t0 t1
    start_fleetd "$st" --center "$TMP/center.yaml"

    # F: a finished run in pa (a record); J: 8 GPUs of rate 10 in pa, running
    local F J N S SN FGS
    F=$(sub -A pa -p h100 -G 8)
    wait_job "$F" state running || fail "$B: F: $(api GET "/v1/jobs/$F")"
    sleep 1
    "$FLEET" cancel "$F" >/dev/null
    FGS=$(api GET "/v1/jobs/$F" | jfield "['gpu_seconds']")
    J=$(sub -A pa -p h200 -G 8 -J big)
    wait_job "$J" state running || fail "$B: J: $(api GET "/v1/jobs/$J")"
    S=$(api GET "/v1/jobs/$J" | jfield "['start_time']")
    N=$(cd "$TMP" && asnobody "$FLEET" submit --parsable --wrap "sleep 1000" -t 1:00:00 -A pn -p h100 -G 1)
    wait_job "$N" state running || fail "$B: N: $(api GET "/v1/jobs/$N")"
    SN=$(api GET "/v1/jobs/$N" | jfield "['start_time']")
    until_clock $((S + 3))

    t0=$(date +%s)
    "$FLEET" usage --json >"$TMP/u.json"
    t1=$(date +%s)
    check "$B: a running 8-GPU job: running_runs 1, 8 x elapsed GPU-seconds (elapsed $((t0 - S))..$((t1 - S)) s), x 10 charged" "$PY_HEAD"'
f, S, SN, t0, t1, fgs = sys.argv[1], *map(int, sys.argv[2:])
d, g = u(f), grp(f)
pa, pn, now = g["pa"], g["pn"], d["as_of"]
assert t0 <= now <= t1, (t0, now, t1)
assert pa["running_runs"] == 1 and pa["jobs"] == 2 and pa["runs"] == 2, pa
assert near(pa["running_gpu_hours"] * 3600, 8 * (now - S)), (pa, now, S)
assert 8 * (t0 - S) - 1e-6 <= pa["running_gpu_hours"] * 3600 <= 8 * (t1 - S) + 1e-6, pa
assert pa["running_gpu_hours"] >= 8 * 3 / 3600 - 1e-9, pa
assert near(pa["running_charged_gpu_hours"], 10 * pa["running_gpu_hours"]), pa
assert near(pa["gpu_hours"], fgs / 3600 + pa["running_gpu_hours"]), (pa, fgs)
assert near(pa["charged_gpu_hours"], fgs / 3600 + pa["running_charged_gpu_hours"]), (pa, fgs)
assert pn["running_runs"] == 1 and pn["jobs"] == 1 and near(pn["running_gpu_hours"] * 3600, now - SN), pn
assert near(pn["charged_gpu_hours"], pn["running_gpu_hours"]), pn  # rate 1
t = d["total"]
assert t["running_runs"] == 2 and t["jobs"] == sum(x["jobs"] for x in g.values()) == 3, t
assert t["runs"] == 3, t
for k in ("gpu_hours", "charged_gpu_hours", "running_gpu_hours", "running_charged_gpu_hours"):
    assert near(t[k], sum(x[k] for x in g.values())), (k, t)
assert near(t["gpu_hours"], (fgs + 8 * (now - S) + (now - SN)) / 3600), t
' "$TMP/u.json" "$S" "$SN" "$t0" "$t1" "$FGS"

    for by in tier org user; do "$FLEET" usage --by $by --json >"$TMP/u-$by.json"; done
    check "$B: --by tier, org, user: the running runs in their groups" "$PY_HEAD"'
t = sys.argv[1]
want = {"tier": {"research": 1, "university": 1}, "org": {"kisti": 1, "-": 1}, "user": {"root": 1, "nobody": 1}}
for by, w in want.items():
    g = grp(f"{t}/u-{by}.json")
    assert {k: x["running_runs"] for k, x in g.items()} == w, (by, g)
    assert u(f"{t}/u-{by}.json")["total"]["running_runs"] == 2, by
assert near(grp(t + "/u-tier.json")["research"]["running_charged_gpu_hours"],
            10 * grp(t + "/u-tier.json")["research"]["running_gpu_hours"])
' "$TMP"

    "$FLEET" usage >"$TMP/table"
    head -n 1 "$TMP/table" | grep -Eq "^PROJECT +JOBS +RUNS +GPU-HOURS +CHARGED +ALLOCATIONS +RUNNING +RUNNING-GPU-HOURS$" &&
        grep -Eq "^pa +2 +2 +[0-9]+\.[0-9]{2} +[0-9]+\.[0-9]{2} +- +1 +[0-9]+\.[0-9]{2}$" "$TMP/table" &&
        grep -Eq "^pn +1 +1 +[0-9.]+ +[0-9.]+ +- +1 +[0-9.]+$" "$TMP/table" &&
        grep -Eq "^total: 3 jobs, [0-9.]+ GPU-hours, [0-9.]+ charged \(running: 2 runs, [0-9.]+ GPU-hours\)$" "$TMP/table" &&
        ok "$B: the table: RUNNING and RUNNING-GPU-HOURS last, the total says what runs" ||
        fail "$B: table: $(cat "$TMP/table")"
    "$FLEET" usage --by user >"$TMP/table"
    head -n 1 "$TMP/table" | grep -Eq "^USER +JOBS +RUNS +GPU-HOURS +CHARGED +RUNNING +RUNNING-GPU-HOURS$" &&
        grep -Eq "^nobody +1 +1 +[0-9.]+ +[0-9.]+ +1 +[0-9.]+$" "$TMP/table" &&
        ok "$B: the table by user" || fail "$B: table by user: $(cat "$TMP/table")"
    "$FLEET" usage --csv >"$TMP/u.csv"
    head -n 1 "$TMP/u.csv" | grep -qx "project,jobs,runs,gpu_hours,charged_gpu_hours,allocation,granted,used,reserved,left,running_runs,running_gpu_hours,running_charged_gpu_hours" &&
        grep -Eq "^pa,2,2,[0-9.]+,[0-9.]+,,,,,,1,[0-9.]+,[0-9.]+$" "$TMP/u.csv" &&
        "$FLEET" usage --by org --csv | grep -qx "org,jobs,runs,gpu_hours,charged_gpu_hours,running_runs,running_gpu_hours,running_charged_gpu_hours" &&
        ok "$B: the CSV: the running columns last" || fail "$B: csv: $(cat "$TMP/u.csv")"

    # ---- windows ----
    "$FLEET" usage --until "$S" --json >"$TMP/w-until0.json"
    "$FLEET" usage --until $((S + 1)) --json >"$TMP/w-until1.json"
    "$FLEET" usage --since $((S + 2)) --json >"$TMP/w-since2.json"
    "$FLEET" usage --since $((S + 1)) --until $((S + 2)) --json >"$TMP/w-s1u2.json"
    "$FLEET" usage --since $(($(date +%s) + 3600)) --json >"$TMP/w-future.json"
    check "$B: windows: --until at its start excludes it, --since after its start counts the part after" "$PY_HEAD"'
t, S, SN, fgs = sys.argv[1], *map(int, sys.argv[2:])
g = grp(t + "/w-until0.json")
assert "pa" not in g or (g["pa"]["running_runs"] == 0 and g["pa"]["running_gpu_hours"] == 0), g
assert u(t + "/w-until0.json")["total"]["running_runs"] == 0, g
pa = grp(t + "/w-until1.json")["pa"]   # [.., S+1): 1 s of 8 GPUs
assert pa["running_runs"] == 1 and near(pa["running_gpu_hours"] * 3600, 8), pa
d = u(t + "/w-since2.json")
pa, now = grp(t + "/w-since2.json")["pa"], d["as_of"]
# F ended before S: not in the window; J from S+2 to now
assert pa["runs"] == 1 and pa["jobs"] == 1 and pa["running_runs"] == 1, pa
assert near(pa["gpu_hours"] * 3600, 8 * (now - S - 2)) and near(pa["gpu_hours"], pa["running_gpu_hours"]), (pa, now, S)
assert near(d["total"]["running_gpu_hours"] * 3600, 8 * (now - S - 2) + now - max(SN, S + 2)), d["total"]
pa = grp(t + "/w-s1u2.json")["pa"]
assert pa["running_runs"] == 1 and near(pa["gpu_hours"] * 3600, 8), pa
d = u(t + "/w-future.json")
assert d["total"]["running_runs"] == 0 and d["total"]["gpu_hours"] == 0, d
' "$TMP" "$S" "$SN" "$FGS"

    # ---- who sees what ----
    (cd "$TMP" && asnobody "$FLEET" usage --json) >"$TMP/v-nobody.json" 2>&1
    (cd "$TMP" && as4321 "$FLEET" usage --json) >"$TMP/v-4321.json" 2>&1
    check "$B: a user of another project does not see the running job; a member of its project does" "$PY_HEAD"'
t, S = sys.argv[1], int(sys.argv[2])
d, g = u(t + "/v-nobody.json"), grp(t + "/v-nobody.json")
assert list(g) == ["pn"] and g["pn"]["running_runs"] == 1 and not d["all"], g  # its own, not pa
assert d["total"]["running_runs"] == 1 and near(d["total"]["gpu_hours"], g["pn"]["gpu_hours"]), d["total"]
d, g = u(t + "/v-4321.json"), grp(t + "/v-4321.json")
assert list(g) == ["pa"] and g["pa"]["running_runs"] == 1 and g["pa"]["jobs"] == 2, g
assert near(g["pa"]["running_gpu_hours"] * 3600, 8 * (d["as_of"] - S)), g
assert d["total"]["running_runs"] == 1, d["total"]
' "$TMP" "$S"

    # ---- a restart: the running part from the run's start ----
    stop_fleetd
    start_fleetd "$st" --center "$TMP/center.yaml"
    "$FLEET" usage --json >"$TMP/u-restart.json"
    check "$B: after a restart the running job counts from its start" "$PY_HEAD"'
f, S, fgs = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
pa, now = grp(f)["pa"], u(f)["as_of"]
assert pa["running_runs"] == 1 and pa["runs"] == 2 and near(pa["running_gpu_hours"] * 3600, 8 * (now - S)), (pa, now)
assert near(pa["gpu_hours"], fgs / 3600 + pa["running_gpu_hours"]), pa
' "$TMP/u-restart.json" "$S" "$FGS"

    # ---- a requeued run: its record and the running run, one job ----
    local R
    R=$(sub -A pr -p h100 -G 2)
    wait_job "$R" state running || fail "$B: R: $(api GET "/v1/jobs/$R")"
    sleep 1.1
    "$FLEET" requeue "$R" >/dev/null || fail "$B: requeue $R"
    wait_job "$R" restarts 1 && wait_job "$R" state running || fail "$B: R again: $(api GET "/v1/jobs/$R")"
    "$FLEET" usage --json >"$TMP/u-requeue.json"
    check "$B: a requeued job: 2 runs (a record and the running one), 1 job" "$PY_HEAD"'
f = sys.argv[1]
pr = grp(f)["pr"]
assert pr["runs"] == 2 and pr["jobs"] == 1 and pr["running_runs"] == 1, pr
assert pr["gpu_hours"] - pr["running_gpu_hours"] >= 2 / 3600 - 1e-9, pr  # the first run: 2 GPUs >= 1 s
' "$TMP/u-requeue.json"
    "$FLEET" cancel "$R" >/dev/null

    # ---- the end: the record only, never twice ----
    # K jobs of pr, each cancelled with a report asked at the same time on
    # another connection: fleetd may take both in one turn, the report after
    # the cancel but before its record is committed; every report must count
    # each run once (running, waiting for the commit, or stored)
    local K=10 ids=() i
    for i in $(seq $K); do ids+=("$(sub -A pr -p h100 -G 1)"); done
    for i in "${ids[@]}"; do wait_job "$i" state running || fail "$B: pr job $i: $(api GET "/v1/jobs/$i")"; done
    check "$B: reports asked during cancels count each run once" "$PY_HEAD"'
sys.path.insert(0, sys.argv[1])
from fleetclient import UnixHTTPConnection
sock, K, ids = sys.argv[2], int(sys.argv[3]), sys.argv[4:]
for n, i in enumerate(ids):
    c1, c2 = UnixHTTPConnection(sock), UnixHTTPConnection(sock)
    c1.request("DELETE", "/v1/jobs/" + i)
    c2.request("GET", "/v1/usage")
    r1, r2 = c1.getresponse(), c2.getresponse()
    assert r1.status == 200, (r1.status, r1.read())
    pr = {g["name"]: g for g in json.loads(r2.read())["groups"]}["pr"]
    # R: 2 records, 1 job; then K jobs of one run each
    assert pr["runs"] == 2 + K and pr["jobs"] == 1 + K, (n, pr)
    assert K - n - 1 <= pr["running_runs"] <= K - n, (n, pr)
    c1.close(); c2.close()
' "$ROOT/tests/system" "$SOCK" "$K" "${ids[@]}"
    "$FLEET" cancel "$J" "$N" >/dev/null || fail "$B: cancel J N"
    "$FLEET" usage --json >"$TMP/u-end.json"
    api GET "/v1/jobs/$J" >"$TMP/j-end.json"
    check "$B: once cancelled, the record only: running_runs 0, total = the records" "$PY_HEAD"'
t, S, fgs, K = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
j = u(t + "/j-end.json")
assert j["state"] == "cancelled" and j["gpu_seconds"] == 8 * (j["end_time"] - S), j
before = grp(t + "/u-restart.json")["pa"]["running_gpu_hours"]
assert j["gpu_seconds"] / 3600 >= before - 1e-9, (j, before)
d, g = u(t + "/u-end.json"), grp(t + "/u-end.json")
pa = g["pa"]
assert pa["running_runs"] == 0 and pa["running_gpu_hours"] == 0 and pa["runs"] == 2 and pa["jobs"] == 2, pa
assert near(pa["gpu_hours"] * 3600, fgs + j["gpu_seconds"]), (pa, fgs, j["gpu_seconds"])
assert near(pa["charged_gpu_hours"] * 3600, fgs + 10 * j["gpu_seconds"]), pa
# records: F, J, N, the two runs of R (requeued, cancelled) and the K jobs of pr
assert d["total"]["running_runs"] == 0 and d["total"]["runs"] == 5 + K and d["total"]["jobs"] == 4 + K, d["total"]
' "$TMP" "$S" "$FGS" "$K"
    stop_fleetd
}

scenario sqlite

# ---- without a center: accounting only ----------------------------------------------------
start_fleetd "$TMP/state-plain"
P=$(sub -G 8 -p h200 -A anything)
wait_job "$P" state running || fail "plain job: $(api GET "/v1/jobs/$P")"
SP=$(api GET "/v1/jobs/$P" | jfield "['start_time']")
until_clock $((SP + 2))
"$FLEET" usage --json >"$TMP/plain.json"
"$FLEET" usage --by tier --json >"$TMP/plain-tier.json"
check "no center: the running job counts at its pool's rate" "$PY_HEAD"'
t, S = sys.argv[1], int(sys.argv[2])
d, g = u(t + "/plain.json"), grp(t + "/plain.json")
a = g["anything"]
assert list(g) == ["anything"] and a["running_runs"] == 1 and a["jobs"] == 1, g
assert near(a["gpu_hours"] * 3600, 8 * (d["as_of"] - S)) and a["gpu_hours"] > 0, (a, d["as_of"], S)
assert near(a["charged_gpu_hours"], 10 * a["gpu_hours"]) and near(a["running_charged_gpu_hours"], a["charged_gpu_hours"]), a
assert [x["running_runs"] for x in u(t + "/plain-tier.json")["groups"] if x["name"] == "-"] == [1]
' "$TMP" "$SP"
"$FLEET" cancel "$P" >/dev/null
stop_fleetd

# ---- PostgreSQL ---------------------------------------------------------------------------
if [ -n "${GPUFLEET_PG_DSN:-}" ] && command -v psql >/dev/null; then
    pg_reset() {
        psql "$GPUFLEET_PG_DSN" -qc "SET client_min_messages = warning; DROP TABLE IF EXISTS jobs, nodes, meta, accounting, admin_log, reservations" ||
            fail "cannot reset the PostgreSQL test database"
    }
    pg_reset
    STORE_ARGS=(--postgres "$GPUFLEET_PG_DSN")
    scenario postgresql
    [ "$(psql "$GPUFLEET_PG_DSN" -qAtc "SELECT count(*) FROM accounting WHERE project = 'pa'")" = 2 ] &&
        ok "postgresql: pa's two runs are two records" ||
        fail "pg records: $(psql "$GPUFLEET_PG_DSN" -qAtc 'SELECT job_id, run, project FROM accounting')"
    pg_reset
else
    echo "skipped: PostgreSQL (GPUFLEET_PG_DSN not set)"
fi

[ "$FAILS" -gt 0 ] && { echo "fleetd's log:"; tail -n 30 "$TMP/fleetd.log"; }
finish
