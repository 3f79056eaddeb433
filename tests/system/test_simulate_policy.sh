#!/usr/bin/env bash
# fleet simulate --center: a center's policy in the simulator.
#   - fair share: two projects with shares 3:1 submit the same stream, four
#     times what the pool runs; the 3-share project waits less and, while both
#     are backlogged, gets GPU-hours within 10% of 3:1
#   - allocations: a project's jobs beyond its GPU-hours are refused at submit
#     with the amount left; jobs still pending when an allocation ends are
#     withdrawn, later ones refused; running jobs are never cut short
#   - QOS: running GPUs per project never pass the limit
#   - the example center on the example workload, and errors in center files
# Checks are in simulate_policy.py.
source "$(dirname "$0")/common.sh"
PY=$ROOT/tests/system/simulate_policy.py

cat >"$TMP/cluster.yaml" <<'YAML'
pools:
  - name: gpu
  - name: npu
    charge_rate: 0.5
blocks:
  - {name: b0, nodes: 4, pool: gpu, gpus_per_node: 8}
  - {name: b1, nodes: 2, pool: npu, gpus_per_node: 8}
YAML

cat >"$TMP/fair.yaml" <<'YAML'
priority:
  weights: {age: 100, fairshare: 10000, size: 0, qos: 0}
  half_life: 1d
  calc_period: 0
accounts:
  - name: big
    shares: 3
    organizations: [{name: big-org, projects: [{name: hi}]}]
  - name: small
    shares: 1
    organizations: [{name: small-org, projects: [{name: lo}]}]
YAML
python3 "$PY" gen-fairshare "$TMP/fair.csv"
# conservative backfill with unlimited depth over this deep queue takes ~50 s
# under the sanitizers: a depth of 20 keeps the test short
for policy in fcfs easy conservative; do
    if "$FLEET" simulate --trace "$TMP/fair.csv" --cluster "$TMP/cluster.yaml" --center "$TMP/fair.yaml" \
            --policy $policy --depth 20 --jobs-out "$TMP/fj.csv" --summary-out "$TMP/fs.json" >"$TMP/out" 2>"$TMP/err"; then
        msg=$(python3 "$PY" check-fairshare "$TMP/fj.csv" "$TMP/fs.json") &&
            ok "fair share, $policy: $(echo "$msg" | tr '\n' ';')" || fail "fair share, $policy: $msg"
    else
        fail "fair share, $policy: $(cat "$TMP/err")"
    fi
done

cat >"$TMP/alloc.yaml" <<'YAML'
priority: {calc_period: 0}
qos:
  - name: normal
  - name: small
    max_gpus_per_project: 16
accounts:
  - name: t
    projects: [{name: capped}, {name: filler}, {name: late}, {name: limited}]
allocations:
  - {name: capped-trial, account: capped, gpu_hours: 20}
  - {name: late-trial, account: late, gpu_hours: 1000, start: 0, end: 5000}
YAML
python3 "$PY" gen-alloc "$TMP/alloc.csv"
for policy in fcfs easy conservative; do
    if "$FLEET" simulate --trace "$TMP/alloc.csv" --cluster "$TMP/cluster.yaml" --center "$TMP/alloc.yaml" \
            --policy $policy --jobs-out "$TMP/aj.csv" --summary-out "$TMP/as.json" >"$TMP/out" 2>"$TMP/err"; then
        msg=$(python3 "$PY" check-alloc "$TMP/alloc.csv" "$TMP/aj.csv" "$TMP/as.json") &&
            ok "allocations and QOS, $policy: $(echo "$msg" | tr '\n' ';')" ||
            fail "allocations and QOS, $policy: $msg"
        want="first refusal    job 3 at 1200: project capped has 4.0 GPU-hours left in allocation 'capped-trial' (any pool), the job needs up to 8.0"
        grep -qxF "$want" "$TMP/out" || fail "allocations, $policy: no '$want' in: $(cat "$TMP/out")"
        grep -q '"dropped": 10,' "$TMP/as.json" || fail "allocations, $policy: refused and withdrawn jobs count as dropped"
    else
        fail "allocations and QOS, $policy: $(cat "$TMP/err")"
    fi
done

# the example center on the example workload and cluster
if "$FLEET" simulate --trace "$ROOT/examples/jobs-small.csv" --cluster "$ROOT/examples/cluster-small.yaml" \
        --center "$ROOT/examples/center-small.yaml" --policy easy --summary-out "$TMP/ex.json" >"$TMP/out" 2>"$TMP/err"; then
    python3 - "$TMP/ex.json" <<'PY' && ok "example center: per-tier report" || fail "example center: $(cat "$TMP/out")"
import json, sys
s = json.load(open(sys.argv[1]))
a = s["accounts"]
tiers = [t["name"] for t in a["tiers"]]
assert tiers == ["foundation-model", "research-institute", "university", "startup", "company"], tiers
ran = sum(t["jobs"] for t in a["tiers"])
assert ran + a["unmapped"] == s["jobs"], (ran, a["unmapped"], s["jobs"])
assert a["refused"] >= 1, a["refused"]
assert any(x["name"] == "startup-a-trial" and x["used"] > 0 for x in a["allocations"])
PY
    grep -q '^tier    foundation-model' "$TMP/out" || fail "example center: no readable per-tier table"
else
    fail "example center: $(cat "$TMP/err")"
fi
# without --center the summary keeps exactly its keys
"$FLEET" simulate --trace "$ROOT/examples/jobs-small.csv" --cluster "$ROOT/examples/cluster-small.yaml" \
    --policy easy --summary-out "$TMP/plain.json" >/dev/null 2>&1 && ! grep -q accounts "$TMP/plain.json" &&
    ok "no center: no accounts key" || fail "no center: the summary changed"

# errors in the center file name the file, the line and the field
printf 'accounts:\n  - name: t\n    projects: [{name: p}]\nallocations:\n  - {name: a, account: p, gpu_hours: 1, pools: h100}\n' >"$TMP/badpool.yaml"
expect_fail "center: unknown pool" 'badpool\.yaml:5: field pools: no pool "h100" in this cluster' \
    "$FLEET" simulate --trace "$TMP/fair.csv" --cluster "$TMP/cluster.yaml" --center "$TMP/badpool.yaml" --policy easy
printf 'accounts:\n  - name: t\n    projects: [{name: p}]\nusers:\n  - {name: u, projects: [q]}\n' >"$TMP/baduser.yaml"
expect_fail "center: unknown project" 'baduser\.yaml:5: field projects: no project named "q"' \
    "$FLEET" simulate --trace "$TMP/fair.csv" --cluster "$TMP/cluster.yaml" --center "$TMP/baduser.yaml" --policy easy
expect_fail "center: missing file" 'nope\.yaml: No such file' \
    "$FLEET" simulate --trace "$TMP/fair.csv" --cluster "$TMP/cluster.yaml" --center "$TMP/nope.yaml" --policy easy
finish
