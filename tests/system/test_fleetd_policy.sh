#!/usr/bin/env bash
# The center's policy in a live fleetd (--center, --no-agents: started jobs
# run until cancelled), driven through the fleet CLI and HTTP:
#   - refusals at submit with their exact message and field (QOS, max wall
#     time, membership, allocation), nothing accepted lost;
#   - fair share: a project with no usage starts before one with usage;
#   - a QOS running limit holds a job with the reason qos_limit;
#   - an exhausted allocation stops new starts (reason allocation) and
#     refuses new jobs, and never kills the running one;
#   - fleet usage matches the jobs that ran (GPU-seconds x the pool's rate,
#     computed here from fleet history) besides its running part (running
#     jobs in the report: test_fleetd_usage_running.sh);
#   - usage, fair share and allocations survive a restart;
#   - accounts and allocations removed through fleet admin (refused while
#     jobs are charged to them) stay removed across a reload and a restart;
#   - fleet admin reload refuses a bad file (FILE:LINE: field) and keeps the
#     old center; a user sees only their own projects' usage;
#   - with GPUFLEET_PG_DSN: the center file's storage section puts the state
#     and the accounting records in PostgreSQL, and they survive a restart.
source "$(dirname "$0")/common.sh" "$@"

FLEETD=$BUILD/fleetd
[ -x "$FLEETD" ] || { echo "FAIL: $FLEETD not built"; exit 1; }
SOCK=$TMP/fleetd.sock
export FLEET_SOCKET=$SOCK
unset FLEET_URL FLEET_TOKEN
chmod 755 "$TMP" # the socket's directory: nobody must reach it too

# Two H100 nodes (rate 1) and one H200 node (rate 10: allocations run out fast).
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
cat >"$TMP/center.yaml" <<'EOF'
center: testcenter
priority:
  weights: {age: 1, fairshare: 10000, size: 0, qos: 0}
  half_life: 7d
  calc_period: 0
qos:
  - name: normal
    max_wall: 2h
    max_gpus_per_user: 8
  - name: big
default_qos: normal
accounts:
  - name: research
    organizations:
      - name: kisti
        projects:
          - name: pa
          - name: pb
  - name: university
    organizations:
      - name: snu
        projects:
          - name: p1
          - name: p2
  - name: startup
    projects:
      - name: pe
users:
  - name: root
    uid: 0
    projects: [p1, p2, pa, pb, pe]
    default_project: p1
  - name: nobody
    uid: 65534
    projects: [p2]
allocations:
  - name: spring
    account: p1
    gpu_hours: 12.5
    pools: h100
  - name: tiny
    account: pe
    gpu_hours: 0.05
    pools: h200
EOF

FPID=
start_fleetd() { # [CENTER] [STATE]: the center file and the state directory
    "$FLEETD" --no-agents --state-dir "${2:-$TMP/state}" --socket "$SOCK" \
        --config "$TMP/cluster.yaml" --center "${1:-$TMP/center.yaml}" --interval 1 \
        >>"$TMP/fleetd.log" 2>&1 &
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

# expect_rc NAME RC PATTERN CMD...: exit status RC, stdout+stderr matching PATTERN.
expect_rc() {
    local name=$1 want=$2 pat=$3; shift 3
    "$@" >"$TMP/out" 2>&1
    local rc=$?
    if [ "$rc" -ne "$want" ]; then
        fail "$name: exit $rc, expected $want: $(head -c 400 "$TMP/out")"
    elif ! grep -Eq -- "$pat" "$TMP/out"; then
        fail "$name: output does not match /$pat/: $(head -c 400 "$TMP/out")"
    else
        ok "$name: $(head -n 1 "$TMP/out" | head -c 200)"
    fi
}
api() { curl -s --unix-socket "$SOCK" -X "$1" "http://x$2" ${3:+--data-binary "$3"}; }
jfield() { python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }
# wait_job ID KEY VALUE: until job ID's KEY is VALUE (5 s at most)
wait_job() {
    for _ in $(seq 100); do
        [ "$(api GET "/v1/jobs/$1" | jfield "['$2']")" = "$3" ] && return 0
        sleep 0.05
    done
    return 1
}
sub() { "$FLEET" submit --parsable --wrap "sleep 1000" "$@"; }
asnobody() { setpriv --reuid=65534 --regid=65534 --clear-groups "$@"; }

start_fleetd
grep -q "center $TMP/center.yaml: .* 2 users, 2 QOS, 2 allocations" "$TMP/fleetd.log" &&
    ok "fleetd loaded the center" || fail "center not loaded: $(cat "$TMP/fleetd.log")"

# ---- refusals at submit: the exact message, the field, nothing accepted lost ----
expect_rc "max wall time" 1 \
    "^fleet submit: time_limit: time limit 3:00:00 exceeds the max wall time of QOS 'normal' \(2:00:00\)$" \
    "$FLEET" submit --wrap x -G 1 -t 3:00:00 -A p2
expect_rc "unknown QOS" 1 "^fleet submit: qos: no QOS gold in this center \(known: normal, big\)$" \
    "$FLEET" submit --wrap x -G 1 -t 10 -A p2 -q gold
expect_rc "allocation too small" 1 \
    "^fleet submit: account: project p1 has 12.5 GPU-hours left in allocation 'spring' \(h100\), the job needs up to 16.0$" \
    "$FLEET" submit --wrap x -G 4 -t 4:00:00 -q big
expect_rc "a tier is not a project" 1 "^fleet submit: account: university is a tier, not a project$" \
    "$FLEET" submit --wrap x -G 1 -t 10 -A university
expect_rc "no such project" 1 "^fleet submit: account: no project zz in this center$" \
    "$FLEET" submit --wrap x -G 1 -t 10 -A zz
asnobody "$FLEET" submit --wrap x -G 1 -t 10 -A p1 >"$TMP/out" 2>&1
grep -qx "fleet submit: account: user nobody is not a member of project p1 (member of: p2)" "$TMP/out" &&
    ok "not a member: $(cat "$TMP/out")" || fail "not a member: $(cat "$TMP/out")"
# the same through HTTP: 400 with the field
api POST /v1/jobs '{"wrap":"x","gpus":4,"time_limit":14400,"qos":"big"}' >"$TMP/body"
python3 - "$TMP/body" <<'PY' && ok "HTTP 400 names the field" || fail "HTTP refusal: $(cat "$TMP/body")"
import json, sys
e = json.load(open(sys.argv[1]))["error"]
assert e["field"] == "account" and e["code"] == "invalid", e
assert e["message"] == "project p1 has 12.5 GPU-hours left in allocation 'spring' (h100), the job needs up to 16.0", e
PY
[ "$(api GET /v1/jobs | jfield "['count']")" = 0 ] && ok "nothing accepted by the refusals" ||
    fail "refusals left jobs: $(api GET /v1/jobs)"
# an array of 4 tasks x 1 GPU x 4 h = 16 > 12.5: refused whole; 3 tasks fit, and reserve 12
expect_rc "an array beyond the allocation" 1 "the job needs up to 4.0" \
    "$FLEET" submit --wrap x -G 1 -t 4:00:00 -q big --array 0-3 --hold
ARR=$("$FLEET" submit --parsable --wrap x -G 1 -t 4:00:00 -q big --array 0-2 --hold)
"$FLEET" usage --json >"$TMP/u.json"
python3 - "$TMP/u.json" <<'PY' && ok "an array reserves each task's worst case" || fail "array reserve: $(cat "$TMP/u.json")"
import json, sys
a = {x["name"]: x for x in json.load(open(sys.argv[1]))["allocations"]}["spring"]
assert abs(a["reserved"] - 12.0) < 1e-6 and abs(a["left"] - 0.5) < 1e-6, a
PY
"$FLEET" cancel --me --state pending >/dev/null
"$FLEET" usage --json | jfield "['allocations'][0]['reserved']" | grep -qx "0" &&
    ok "cancelled jobs release their reservation" || fail "reservation kept: $("$FLEET" usage --json)"

# ---- fair share: the project without usage goes first ----------------------------
P0=$(sub -A pa -q big -p h100 -G 16)
wait_job "$P0" state running && ok "pa runs 16 GPUs" || fail "pa job: $(api GET /v1/jobs/$P0)"
sleep 2
"$FLEET" cancel "$P0" >/dev/null
BLK=$(sub -A pa -q big -p h100 -G 16 -J blocker)
wait_job "$BLK" state running || fail "blocker: $(api GET /v1/jobs/$BLK)"
X=$(sub -A pa -q big -p h100 -G 16 -J x)
Y=$(sub -A pb -q big -p h100 -G 16 -J y)
wait_job "$Y" reason resources || fail "y: $(api GET /v1/jobs/$Y)"
"$FLEET" queue --priority >"$TMP/prio"
awk -v x="$X" -v y="$Y" '$1 == y { py = $5; fy = $7 } $1 == x { px = $5; fx = $7 }
    END { exit !(py > px && fy > fx) }' "$TMP/prio" &&
    ok "fleet queue --priority: pb's job above pa's (fair share)" || fail "priorities: $(cat "$TMP/prio")"
head -n 1 "$TMP/prio" | grep -q "ID *USER *ACCOUNT *QOS *PRIORITY *AGE *FAIRSHARE *SIZE *QOS-F *NICE *REASON" &&
    grep -q "^priority = 1 x age + 10000 x fairshare + 0 x size + 0 x qos - nice$" "$TMP/prio" &&
    ok "priority table and weights" || fail "priority table: $(cat "$TMP/prio")"
"$FLEET" queue --priority --json >"$TMP/prio.json"
python3 - "$TMP/prio.json" "$X" "$Y" <<'PY' && ok "priority factors in the API" || fail "API factors: $(head -c 600 "$TMP/prio.json")"
import json, sys
d = json.load(open(sys.argv[1]))
jobs = {j["id"]: j for j in d["jobs"]}
x, y = jobs[int(sys.argv[2])], jobs[int(sys.argv[3])]
assert d["priority_weights"] == {"age": 1, "fairshare": 10000, "size": 0, "qos": 0}, d
for j in (x, y):
    f = j["factors"]
    assert set(f) == {"age", "fairshare", "size", "qos", "nice", "priority"}, f
    assert f["priority"] == j["priority"], j
    assert all(0 <= f[k] <= 1 for k in ("age", "fairshare", "size", "qos")), f
assert y["factors"]["fairshare"] > x["factors"]["fairshare"], (x, y)
assert y["priority"] > x["priority"], (x, y)
PY
"$FLEET" cancel "$BLK" >/dev/null
wait_job "$Y" state running && [ "$(api GET "/v1/jobs/$X" | jfield "['state']")" = pending ] &&
    ok "pb's job started before pa's, submitted earlier" || fail "order: $("$FLEET" queue)"
sleep 1
"$FLEET" cancel "$X" "$Y" >/dev/null

# ---- QOS running limit: held with its reason ---------------------------------------
Q1=$(sub -A p2 -p h100 -G 8 -t 30)
wait_job "$Q1" state running || fail "q1: $(api GET /v1/jobs/$Q1)"
Q2=$(sub -A p2 -p h100 -G 2 -t 30)
wait_job "$Q2" reason qos_limit && ok "second job held by the QOS limit" || fail "q2: $(api GET /v1/jobs/$Q2)"
api GET "/v1/jobs/$Q2" | jfield "['reason_detail']" | grep -qx "QOS 'normal' allows 8 running GPUs per user; root holds 8, the job needs 2" &&
    ok "the hold in words" || fail "detail: $(api GET /v1/jobs/$Q2)"
"$FLEET" queue >"$TMP/q"
grep -Eq "^ *$Q2 .* pending .*\(qos_limit\)" "$TMP/q" && ok "fleet queue shows (qos_limit)" ||
    fail "queue: $(cat "$TMP/q")"
"$FLEET" cancel "$Q1" >/dev/null
wait_job "$Q2" state running && ok "released when the first ends" || fail "q2 after: $(api GET /v1/jobs/$Q2)"
"$FLEET" cancel "$Q2" >/dev/null

# ---- an allocation used up: no new starts, running jobs go on -------------------------
# tiny: 0.05 GPU-hours = 180 charged GPU-seconds on h200 (rate 10).
# A: 4 GPUs x 4 s x 10 = 160; B: 1 x 2 x 10 = 20: together exactly 180.
A=$(sub -A pe -q big -G 4 -t 0:00:04)
B=$(sub -A pe -q big -G 1 -t 0:00:02 --hold)
wait_job "$A" state running && [ "$(api GET "/v1/jobs/$A" | jfield "['nodelist']")" = g1 ] &&
    ok "A runs on h200, narrowed to its allocation's pool" || fail "A: $(api GET /v1/jobs/$A)"
expect_rc "nothing left for a third" 1 \
    "^fleet submit: account: project pe has 0.0 GPU-hours left in allocation 'tiny' \(h200\), the job needs up to 0.0$" \
    "$FLEET" submit --wrap x -A pe -q big -G 1 -t 0:00:01
# A runs past its limit (no agent enforces it here): at 40 charged GPU-s a second
# the allocation is used up after 4.5 s
for _ in $(seq 200); do
    "$FLEET" usage --json | python3 -c 'import json,sys
a = {x["name"]: x for x in json.load(sys.stdin)["allocations"]}["tiny"]
sys.exit(0 if a["exhausted"] else 1)' && break
    sleep 0.1
done
"$FLEET" release "$B" >/dev/null
wait_job "$B" reason allocation && ok "B held: allocation used up" || fail "B: $(api GET /v1/jobs/$B)"
api GET "/v1/jobs/$B" | jfield "['reason_detail']" | grep -Eq "^allocation 'tiny' is used up \([0-9.]+ of 0.1 GPU-hours\)$" &&
    ok "B's hold in words: $(api GET "/v1/jobs/$B" | jfield "['reason_detail']")" ||
    fail "B detail: $(api GET /v1/jobs/$B)"
sleep 1.2
[ "$(api GET "/v1/jobs/$A" | jfield "['state']")" = running ] && ok "A still runs" ||
    fail "A was stopped: $(api GET /v1/jobs/$A)"
expect_rc "refused once used up" 1 "project pe has 0.0 GPU-hours left in allocation 'tiny'" \
    "$FLEET" submit --wrap x -A pe -q big -G 1 -t 0:00:01
"$FLEET" usage >"$TMP/usage"
grep -Eq "^tiny +pe +h200 +open +open +0.05 +0.[0-9]+ +0.[0-9]+ +-0.[0-9]+ +exhausted$" "$TMP/usage" &&
    ok "fleet usage: tiny exhausted" || fail "usage table: $(cat "$TMP/usage")"

# ---- a user's job, and what each may see ---------------------------------------------
N1=$(asnobody "$FLEET" submit --parsable --wrap x -G 1 -p h100 -t 10)
wait_job "$N1" state running && [ "$(api GET "/v1/jobs/$N1" | jfield "['account']")" = p2 ] &&
    ok "nobody's job runs in its default project p2" || fail "nobody's job: $(api GET /v1/jobs/$N1)"
sleep 1
asnobody "$FLEET" cancel "$N1" >/dev/null
asnobody "$FLEET" usage --json >"$TMP/nu.json" 2>&1
python3 - "$TMP/nu.json" <<'PY' && ok "nobody sees p2 only" || fail "nobody's usage: $(cat "$TMP/nu.json")"
import json, sys
d = json.load(open(sys.argv[1]))
assert [g["name"] for g in d["groups"]] == ["p2"], d["groups"]
assert d["allocations"] == [] and d["all"] is False, d
PY
asnobody "$FLEET" usage --by tier --json |
    python3 -c 'import json,sys; assert [g["name"] for g in json.load(sys.stdin)["groups"]] == ["university"]' &&
    ok "nobody sees its own tier only" ||
    fail "nobody by tier: $(asnobody "$FLEET" usage --by tier --json)"
expect_rc "fleet admin is for operators" 1 "operators only" asnobody "$FLEET" admin accounts

# ---- fleet usage matches the jobs that ran ---------------------------------------------
"$FLEET" history --json >"$TMP/h.json"
for by in project user tier org; do
    "$FLEET" usage --by $by --json >"$TMP/u-$by.json"
done
python3 - "$TMP" <<'PY' && ok "fleet usage = sum of GPU-seconds x rate from fleet history" || fail "usage figures: $(cat "$TMP/u-project.json")"
import json, sys
t = sys.argv[1]
rate = {"n1": 1.0, "n2": 1.0, "g1": 10.0}
tier = {"pa": "research", "pb": "research", "p1": "university", "p2": "university", "pe": "startup"}
org = {"pa": "kisti", "pb": "kisti", "p1": "snu", "p2": "snu", "pe": "-"}
want = {k: {} for k in ("project", "user", "tier", "org")}
for j in json.load(open(t + "/h.json"))["jobs"]:
    if j["start_time"] <= 0:
        continue  # never ran: no record
    r = rate[j["nodelist"].split(",")[0]]
    keys = {"project": j["account"], "user": j["user"], "tier": tier[j["account"]], "org": org[j["account"]]}
    for by, k in keys.items():
        w = want[by].setdefault(k, [0, 0.0, 0.0])
        w[0] += 1
        w[1] += j["gpu_seconds"] / 3600
        w[2] += j["gpu_seconds"] * r / 3600
for by in want:
    # A (pe, root) still runs: fleet history has the finished jobs, the
    # report their records and, apart, the running part
    got = {g["name"]: g for g in json.load(open(f"{t}/u-{by}.json"))["groups"]}
    running = {"project": "pe", "user": "root", "tier": "startup", "org": "-"}[by]
    for k, g in got.items():
        assert g["running_runs"] == (k == running), (by, k, g)
        assert (g["running_gpu_hours"] > 0) == (k == running), (by, k, g)
    for k, (n, gh, ch) in want[by].items():
        g = got[k]
        assert g["jobs"] - g["running_runs"] == n, (by, k, g, n)
        assert abs(g["gpu_hours"] - g["running_gpu_hours"] - gh) < 1e-6, (by, k, g, gh)
        assert abs(g["charged_gpu_hours"] - g["running_charged_gpu_hours"] - ch) < 1e-6, (by, k, g, ch)
    extra = {k for k in got if k not in want[by] and got[k]["jobs"] - got[k]["running_runs"]}
    assert not extra, (by, extra)
assert sum(w[2] for w in want["project"].values()) > 0
PY
"$FLEET" usage --since 2000-01-01 --until 2000-01-02T00:00:00Z --json |
    python3 -c 'import json,sys; d = json.load(sys.stdin); assert d["since"] == 946684800 and d["until"] == 946771200, d; assert all(g["jobs"] == 0 for g in d["groups"]), d' &&
    ok "fleet usage --since/--until: a window without runs" || fail "window: $("$FLEET" usage --since 2000-01-01 --until 2000-01-02 --json)"
expect_rc "a bad --since" 1 "^fleet usage: since: a time: Unix seconds or a UTC date .*got \"yesterday\"$" \
    "$FLEET" usage --since yesterday
"$FLEET" usage --csv >"$TMP/u.csv"
head -n 1 "$TMP/u.csv" | grep -qx "project,jobs,runs,gpu_hours,charged_gpu_hours,allocation,granted,used,reserved,left,running_runs,running_gpu_hours,running_charged_gpu_hours" &&
    grep -Eq "^p1,0,0,0.000000,0.000000,spring,12.500000,0.000000,0.000000,12.500000,0,0.000000,0.000000$" "$TMP/u.csv" &&
    grep -Eq "^pe,1,1,[0-9.]+,[0-9.]+,tiny,0.050000,[0-9.]+,[0-9.]+,-?[0-9.]+,1,[0-9.]+,[0-9.]+$" "$TMP/u.csv" &&
    ok "fleet usage --csv" || fail "csv: $(cat "$TMP/u.csv")"

# ---- restart: usage, fair share and allocations survive -----------------------------------
"$FLEET" admin accounts --json >"$TMP/acc1.json"
"$FLEET" usage --json >"$TMP/u1.json"
stop_fleetd
start_fleetd
"$FLEET" admin accounts --json >"$TMP/acc2.json"
"$FLEET" usage --json >"$TMP/u2.json"
python3 - "$TMP" <<'PY' && ok "usage and fair share survive a restart" || fail "after restart: $(cat "$TMP/acc2.json")"
import json, sys
t = sys.argv[1]
u1, u2 = json.load(open(t + "/u1.json")), json.load(open(t + "/u2.json"))
# the records are the same; A's running part goes on from its start
assert [g["name"] for g in u1["groups"]] == [g["name"] for g in u2["groups"]], (u1, u2)
part = {"jobs": "running_runs", "runs": "running_runs", "gpu_hours": "running_gpu_hours",
        "charged_gpu_hours": "running_charged_gpu_hours"}
for g1, g2 in zip(u1["groups"], u2["groups"]):
    for k, r in part.items():
        assert abs((g1[k] - g1[r]) - (g2[k] - g2[r])) < 1e-6, (k, g1, g2)
    assert g1["running_runs"] == g2["running_runs"], (g1, g2)
    assert g2["running_gpu_hours"] >= g1["running_gpu_hours"], (g1, g2)
a1 = {a["name"]: a for a in json.load(open(t + "/acc1.json"))["accounts"]}
a2 = {a["name"]: a for a in json.load(open(t + "/acc2.json"))["accounts"]}
for p in ("pa", "pb", "p2"):  # nothing of theirs runs: their usage only decays (half-life 7 days)
    assert a1[p]["usage"] > 0 and abs(a2[p]["usage"] - a1[p]["usage"]) <= 0.01 * a1[p]["usage"], (p, a1[p], a2[p])
assert a2["pe"]["usage"] >= a1["pe"]["usage"] * 0.99, (a1["pe"], a2["pe"])  # A still runs
al = {x["name"]: x for x in u2["allocations"]}
assert al["tiny"]["exhausted"] and al["tiny"]["running"] == 1, al["tiny"]
PY
[ "$(api GET "/v1/jobs/$A" | jfield "['state']")" = running ] && wait_job "$B" reason allocation &&
    ok "after the restart A runs on and B stays held" || fail "A/B after restart: $("$FLEET" queue)"
expect_rc "still refused after the restart" 1 "project pe has 0.0 GPU-hours left in allocation 'tiny'" \
    "$FLEET" submit --wrap x -A pe -q big -G 1 -t 0:00:01

# ---- fleet admin ------------------------------------------------------------------------------
"$FLEET" admin accounts >"$TMP/acc"
grep -Eq "^ +pb +project +1 +0.[0-9]+ +[0-9.]+ +- +- +-$" "$TMP/acc" &&
    grep -Eq "^ +root +member +1 +[0-9.]+ +[0-9.inf]+ +[01].[0-9]{4} +[0-9]+/6 +-$" "$TMP/acc" &&
    grep -Eq "^ +pe +project .* tiny$" "$TMP/acc" &&
    ok "fleet admin accounts: the tree" || fail "admin accounts: $(cat "$TMP/acc")"
cp "$TMP/center.yaml" "$TMP/center.good"
sed -i 's/max_wall: 2h/max_wall: 2 hours/' "$TMP/center.yaml"
expect_rc "reload refuses a bad file" 1 \
    "^fleet admin: center: $TMP/center.yaml:8: field max_wall: must be a duration .*got \"2 hours\"; the current center is kept$" \
    "$FLEET" admin reload
expect_rc "the old center is kept" 1 "time limit 3:00:00 exceeds the max wall time of QOS 'normal' \(2:00:00\)" \
    "$FLEET" submit --wrap x -G 1 -t 3:00:00 -A p2
sed 's/max_wall: 2h/max_wall: 4h/' "$TMP/center.good" >"$TMP/center.yaml"
expect_rc "reload a good file" 0 "^Reloaded $TMP/center.yaml: 10 accounts, 6 members, 2 users, 2 QOS, 2 allocations(; 1 pending jobs held by the policy)?$" \
    "$FLEET" admin reload
[ "$(api GET "/v1/jobs/$A" | jfield "['state']")" = running ] && ok "the running job is untouched by the reload" ||
    fail "A after reload: $(api GET /v1/jobs/$A)"
R=$("$FLEET" submit --parsable --wrap x -G 1 -t 3:00:00 -A p2 --hold 2>&1) &&
    ok "the new max wall time applies ($R)" || fail "after reload: $R"
# operators change the center through the API; the change survives a restart
expect_rc "add a member" 0 "^User nobody is a member of project pb$" "$FLEET" admin add-member nobody pb
expect_rc "raise an allocation" 0 "^Allocation tiny set$" "$FLEET" admin set-allocation tiny --gpu-hours 5
expect_rc "a bad allocation" 1 "^fleet admin: account: no account \"nowhere\" in the center$" \
    "$FLEET" admin set-allocation x --account nowhere --gpu-hours 1
wait_job "$B" state running && ok "B starts once the allocation is raised" || fail "B: $(api GET /v1/jobs/$B)"
stop_fleetd
start_fleetd
N2=$(asnobody "$FLEET" submit --parsable --wrap x -G 1 -t 10 -A pb --hold 2>&1) &&
    ok "the new membership survives a restart" || fail "membership after restart: $N2"
"$FLEET" usage --json | python3 -c 'import json,sys
a = {x["name"]: x for x in json.load(sys.stdin)["allocations"]}["tiny"]
assert a["gpu_hours"] == 5 and not a["exhausted"], a' && ok "the raised allocation survives a restart" ||
    fail "tiny after restart: $("$FLEET" usage --json)"
# accounts created and changed, memberships ended, through the API
expect_rc "a new organization" 0 "^Account newlab set$" \
    "$FLEET" admin set-account newlab --parent university --level organization --shares 2
expect_rc "a new project under it" 0 "^Account pnew set$" "$FLEET" admin set-account pnew --parent newlab
expect_rc "a member of the new project" 0 "^User nobody is a member of project pnew$" \
    "$FLEET" admin add-member nobody pnew
expect_rc "accounts do not move" 1 "^fleet admin: parent: pnew is under newlab; accounts do not move" \
    "$FLEET" admin set-account pnew --parent kisti
expect_rc "no project under a project" 1 "^fleet admin: level: a project cannot be under project$" \
    "$FLEET" admin set-account px --parent pb
expect_rc "no organization under the center" 1 "^fleet admin: level: an organization cannot be under the center \\(only tiers are\\)$" \
    "$FLEET" admin set-account tx --parent "" --level organization
expect_rc "unknown parent" 1 "^fleet admin: parent: no account \"nowhere\" in the center$" \
    "$FLEET" admin set-account px --parent nowhere
expect_rc "new shares" 0 "^Account pb set$" "$FLEET" admin set-account pb --shares 3
expect_rc "end a membership" 0 "^User nobody is no longer a member of project pb$" \
    "$FLEET" admin remove-member nobody pb
expect_rc "end a membership of the file" 0 "^User root is no longer a member of project pe$" \
    "$FLEET" admin remove-member root pe
expect_rc "not a member" 1 "^fleet admin: project: user nobody is not a member of project pb$" \
    "$FLEET" admin remove-member nobody pb
stop_fleetd
start_fleetd
N3=$(asnobody "$FLEET" submit --parsable --wrap x -G 1 -t 10 -A pnew --hold 2>&1) &&
    ok "the new project and its member survive a restart ($N3)" || fail "pnew after restart: $N3"
expect_rc "the ended membership stays ended" 1 "user nobody is not a member of project pb" \
    asnobody "$FLEET" submit --wrap x -G 1 -t 10 -A pb --hold
expect_rc "the ended membership of the file too" 1 "user root is not a member of project pe" \
    "$FLEET" submit --wrap x -G 1 -t 10 -A pe --hold
"$FLEET" admin accounts --json | python3 -c 'import json,sys
a = {x["name"]: x for x in json.load(sys.stdin)["accounts"] if x["level"] != "member"}
assert a["newlab"]["shares"] == 2 and a["newlab"]["level"] == "organization", a["newlab"]
assert a["pnew"]["level"] == "project" and a["pb"]["shares"] == 3, (a["pnew"], a["pb"])' &&
    ok "accounts and shares set through the API survive a restart" ||
    fail "accounts after restart: $("$FLEET" admin accounts)"
# accounts and allocations removed through the API
expect_rc "a project to remove" 0 "^Account prm set$" "$FLEET" admin set-account prm --parent kisti
expect_rc "a member of it, its default" 0 "^User nobody is a member of project prm$" \
    "$FLEET" admin add-member nobody prm --default
R1=$(asnobody "$FLEET" submit --parsable --wrap x -G 1 -t 10 -A prm --hold 2>&1) ||
    fail "a job in prm: $R1"
expect_rc "no removal while a job is pending there" 1 \
    "^fleet admin: name: 1 running or pending job charged to account prm: cancel it first$" \
    "$FLEET" admin remove-account prm
"$FLEET" cancel "$R1" >/dev/null
expect_rc "remove a project" 0 "^Account prm removed$" "$FLEET" admin remove-account prm
"$FLEET" admin accounts --json | python3 -c 'import json,sys
assert "prm" not in [x["name"] for x in json.load(sys.stdin)["accounts"]]' &&
    ok "the removed project is not listed" || fail "prm listed: $("$FLEET" admin accounts)"
expect_rc "no submission to a removed project" 1 "prm" \
    asnobody "$FLEET" submit --wrap x -G 1 -t 10 -A prm --hold
R2=$(asnobody "$FLEET" submit --parsable --wrap x -G 1 -t 10 --hold 2>&1)
[ "$(api GET "/v1/jobs/$R2" | jfield "['account']")" = p2 ] &&
    ok "its member's default is its file default again" || fail "nobody's default: $(api GET "/v1/jobs/$R2")"
"$FLEET" cancel "$R2" >/dev/null
expect_rc "not with sub-accounts" 1 "^fleet admin: name: account newlab has sub-accounts \\(pnew\\): remove them first$" \
    "$FLEET" admin remove-account newlab
expect_rc "not with an allocation" 1 "^fleet admin: name: account pe holds allocation tiny: remove allocation tiny first$" \
    "$FLEET" admin remove-account pe
expect_rc "an unknown account" 1 "^fleet admin: name: no account \"nowhere\" in the center$" \
    "$FLEET" admin remove-account nowhere
[ "$(api POST /v1/admin/accounts '{"name":"nowhere","remove":true}' | jfield "['error']['code']")" = not_found ] &&
    ok "an unknown account is 404" || fail "unknown account: $(api POST /v1/admin/accounts '{"name":"nowhere","remove":true}')"
expect_rc "removal is for operators" 1 "operators only" asnobody "$FLEET" admin remove-account pnew
"$FLEET" cancel "$N2" >/dev/null
expect_rc "an account of the file" 0 "^Account pb removed$" "$FLEET" admin remove-account pb
expect_rc "an allocation to remove" 0 "^Allocation summer set$" \
    "$FLEET" admin set-allocation summer --account pa --gpu-hours 100 --pools h100
R3=$(sub -A pa -G 1 -p h100 -t 10 --hold)
[ "$(api GET "/v1/jobs/$R3" | jfield "['allocation']")" = summer ] || fail "R3 draws: $(api GET "/v1/jobs/$R3")"
expect_rc "no removal while a job draws on it" 1 \
    "^fleet admin: name: 1 running or pending job drawing on allocation summer: cancel it first$" \
    "$FLEET" admin remove-allocation summer
"$FLEET" cancel "$R3" >/dev/null
expect_rc "remove an allocation" 0 "^Allocation summer removed$" "$FLEET" admin remove-allocation summer
"$FLEET" usage --json | python3 -c 'import json,sys
assert "summer" not in [x["name"] for x in json.load(sys.stdin)["allocations"]]' &&
    ok "fleet usage no longer lists it" || fail "summer listed: $("$FLEET" usage --json)"
expect_rc "an unknown allocation" 1 "^fleet admin: name: no allocation \"nowhere\" in the center$" \
    "$FLEET" admin remove-allocation nowhere
expect_rc "a name is required" 2 "^fleet admin remove-allocation: the allocation's NAME is required" \
    "$FLEET" admin remove-allocation
expect_rc "remove takes no options" 2 "takes no options but --json" \
    "$FLEET" admin remove-account pa --shares 2
expect_rc "the removals survive a reload" 0 "^Reloaded" "$FLEET" admin reload
stop_fleetd
start_fleetd
"$FLEET" admin accounts --json | python3 -c 'import json,sys
names = [x["name"] for x in json.load(sys.stdin)["accounts"]]
assert "prm" not in names and "pb" not in names and "pa" in names, names' &&
    ok "removed accounts stay removed after a restart" || fail "after restart: $("$FLEET" admin accounts)"
expect_rc "no submission to a removed file project after a restart" 1 "pb" \
    "$FLEET" submit --wrap x -G 1 -t 10 -A pb --hold
"$FLEET" usage --json | python3 -c 'import json,sys
assert "summer" not in [x["name"] for x in json.load(sys.stdin)["allocations"]]' &&
    ok "the removed allocation stays removed after a restart" || fail "summer after restart: $("$FLEET" usage --json)"
expect_rc "a removed account may be made again" 0 "^Account prm set$" \
    "$FLEET" admin set-account prm --parent kisti
stop_fleetd

# ---- without a center: accounting only, everything else as before ----------------------------
"$FLEETD" --no-agents --state-dir "$TMP/state-plain" --socket "$SOCK" --config "$TMP/cluster.yaml" \
    --interval 1 >>"$TMP/fleetd.log" 2>&1 &
FPID=$!
for _ in $(seq 200); do "$FLEET" status >/dev/null 2>&1 && break; sleep 0.05; done
expect_rc "no center: an empty report" 0 "^total: 0 jobs, 0.00 GPU-hours, 0.00 charged$" "$FLEET" usage
P=$(sub -G 8 -p h200 -A anything)
wait_job "$P" state running || fail "plain job: $(api GET /v1/jobs/$P)"
expect_rc "no center: no factors" 0 "no center policy" "$FLEET" queue --priority
expect_rc "no center: no fleet admin" 1 "fleetd runs without a center file" "$FLEET" admin accounts
sleep 1
"$FLEET" cancel "$P" >/dev/null
"$FLEET" usage --json >"$TMP/plain.json"
"$FLEET" history --json >"$TMP/plain-h.json"
python3 - "$TMP/plain.json" "$TMP/plain-h.json" <<'PY' && ok "no center: the run is recorded at the pool's rate" || fail "plain usage: $(cat "$TMP/plain.json")"
import json, sys
g = json.load(open(sys.argv[1]))["groups"]
j = json.load(open(sys.argv[2]))["jobs"][0]
assert [x["name"] for x in g] == ["anything"] and g[0]["jobs"] == 1, g
assert j["gpu_seconds"] >= 8 and abs(g[0]["charged_gpu_hours"] - 10 * j["gpu_seconds"] / 3600) < 1e-6, (g, j)
PY
api GET /v1/jobs/$P | grep -q reason_detail && fail "no center: a policy field appeared" ||
    ok "no center: the job's fields are as before"
stop_fleetd

# ---- PostgreSQL, chosen in the center file's storage section ----------------------------------
if [ -n "${GPUFLEET_PG_DSN:-}" ] && command -v psql >/dev/null; then
    psql "$GPUFLEET_PG_DSN" -qc "SET client_min_messages = warning; DROP TABLE IF EXISTS jobs, nodes, meta, accounting, admin_log, reservations" ||
        fail "cannot reset the PostgreSQL test database"
    cp "$TMP/center.good" "$TMP/center-pg.yaml"
    printf 'storage:\n  backend: postgres\n  conninfo: "%s"\n' "$GPUFLEET_PG_DSN" >>"$TMP/center-pg.yaml"
    start_fleetd "$TMP/center-pg.yaml" "$TMP/state-pg"
    G=$(sub -A pa -q big -p h100 -G 8)
    wait_job "$G" state running || fail "pg job: $(api GET /v1/jobs/$G)"
    sleep 1
    "$FLEET" cancel "$G" >/dev/null
    "$FLEET" usage --json >"$TMP/pg1.json"
    stop_fleetd
    [ "$(psql "$GPUFLEET_PG_DSN" -qAtc "SELECT count(*) || ' ' || sum(gpu_seconds) FROM accounting")" = \
      "1 $(python3 -c "import json; print(round({g['name']: g for g in json.load(open('$TMP/pg1.json'))['groups']}['pa']['gpu_hours'] * 3600))")" ] &&
        ok "the accounting record is in PostgreSQL" || fail "pg records: $(psql "$GPUFLEET_PG_DSN" -qAtc 'SELECT * FROM accounting')"
    start_fleetd "$TMP/center-pg.yaml" "$TMP/state-pg"
    "$FLEET" usage --json >"$TMP/pg2.json"
    expect_rc "PostgreSQL: remove an account" 0 "^Account pb removed$" "$FLEET" admin remove-account pb
    expect_rc "PostgreSQL: remove an allocation" 0 "^Allocation spring removed$" \
        "$FLEET" admin remove-allocation spring
    stop_fleetd
    start_fleetd "$TMP/center-pg.yaml" "$TMP/state-pg"
    "$FLEET" admin accounts --json | python3 -c 'import json,sys
o = json.load(sys.stdin)
assert "pb" not in [x["name"] for x in o["accounts"]], o["accounts"]
assert "spring" not in [x["name"] for x in o["allocations"]], o["allocations"]' &&
        ok "PostgreSQL: the removals survive a restart" || fail "pg removals: $("$FLEET" admin accounts)"
    cmp -s <(jfield "['groups']" <"$TMP/pg1.json") <(jfield "['groups']" <"$TMP/pg2.json") &&
        [ ! -e "$TMP/state-pg/state.db" ] &&
        ok "PostgreSQL: usage survives a restart (no SQLite file made)" ||
        fail "pg restart: $(cat "$TMP/pg1.json") vs $(cat "$TMP/pg2.json")"
    stop_fleetd
    psql "$GPUFLEET_PG_DSN" -qc "SET client_min_messages = warning; DROP TABLE IF EXISTS jobs, nodes, meta, accounting, admin_log, reservations"
else
    echo "skipped: the PostgreSQL storage section (GPUFLEET_PG_DSN not set)"
fi

[ "$FAILS" -gt 0 ] && { echo "fleetd's log:"; tail -n 30 "$TMP/fleetd.log"; }
finish
