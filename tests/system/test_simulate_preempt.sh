#!/usr/bin/env bash
# fleet simulate --center with a guaranteed quota: project llm holds a
# guarantee of 16 GPUs in pool gpu (4 nodes x 8). vis (no guarantee) borrows
# the whole pool from t 0 with four 8-GPU jobs; at t 1000 llm submits two
# 8-GPU jobs its guarantee covers and a third beyond it. The two covered
# jobs start after the grace (60 s): two vis jobs preempted (the youngest),
# requeued and run to the end; the third llm job preempts nobody (its QOS
# has no rights) and waits. The report counts the preemptions per tier.
source "$(dirname "$0")/common.sh"

cat >"$TMP/cluster.yaml" <<'YAML'
pools:
  - name: gpu
blocks:
  - {name: b0, nodes: 4, pool: gpu, gpus_per_node: 8}
YAML

cat >"$TMP/center.yaml" <<'YAML'
priority: {calc_period: 0}
accounts:
  - name: fm
    projects: [{name: llm}]
  - name: uni
    projects: [{name: vis}]
guarantees:
  - {account: llm, pool: gpu, gpus: 16}
preemption: {grace: 60, signal: SIGTERM}
YAML

cat >"$TMP/jobs.csv" <<'CSV'
id,submit,run,time_limit,gpus,nodes,gpus_per_node,cpus_per_gpu,mem_per_gpu_mb,pool,user,account
1,0,10000,10000,8,,,0,0,gpu,2,vis
2,1,10000,10000,8,,,0,0,gpu,2,vis
3,2,10000,10000,8,,,0,0,gpu,2,vis
4,3,10000,10000,8,,,0,0,gpu,2,vis
5,1000,2000,2000,8,,,0,0,gpu,1,llm
6,1000,2000,2000,8,,,0,0,gpu,1,llm
7,1000,2000,2000,8,,,0,0,gpu,1,llm
CSV

for policy in fcfs easy conservative; do
    if ! "$FLEET" simulate --trace "$TMP/jobs.csv" --cluster "$TMP/cluster.yaml" \
            --center "$TMP/center.yaml" --policy $policy --jobs-out "$TMP/j.csv" \
            --summary-out "$TMP/s.json" >"$TMP/out" 2>"$TMP/err"; then
        fail "simulate, $policy: $(cat "$TMP/err")"
        continue
    fi
    if msg=$(python3 - "$TMP/j.csv" "$TMP/s.json" <<'PY'
import csv, json, sys
jobs = {int(r["id"]): r for r in csv.DictReader(open(sys.argv[1]))}
s = json.load(open(sys.argv[2]))
acc = s["accounts"]
start = {i: int(j["start"]) for i, j in jobs.items()}
end = {i: int(j["end"]) for i, j in jobs.items()}
assert len(jobs) == 7, jobs
# the covered llm jobs start at 1000 + grace: the victims' grace is their wait
assert start[5] == 1060 and start[6] == 1060, (start[5], start[6])
# the youngest borrowers (3 and 4, started at t 2 and 3) were preempted,
# requeued at 1060 and ran whole afterwards
for v in (3, 4):
    assert int(jobs[v]["submit"]) == 1060 and end[v] - start[v] == 10000, jobs[v]
for v in (1, 2):
    assert start[v] <= 1 and end[v] - start[v] == 10000, jobs[v]
# the third llm job is beyond the guarantee: it preempted nobody
assert acc["preemptions"] == 2 and acc["preempt_plans"] == 2, acc
tiers = {t["name"]: t for t in acc["tiers"]}
assert tiers["uni"]["preempted"] == 2 and tiers["fm"]["preempted"] == 0, tiers
assert abs(tiers["uni"]["lost_gpu_hours"] - 2 * 8 * (1060 - 2.5) / 3600) < 0.01, tiers["uni"]
print("llm waits %d, %d s; job 7 starts at %d; %d preemptions" %
      (start[5] - 1000, start[6] - 1000, start[7], acc["preemptions"]))
PY
    ); then
        ok "guarantee reclaimed, $policy: $msg"
    else
        fail "guarantee reclaimed, $policy: $msg"
    fi
    grep -q "preemption       2 runs preempted" "$TMP/out" &&
        ok "report, $policy" || fail "report, $policy: $(cat "$TMP/out")"
done

# A victim ends by its signal time + grace, and the scheduler plans with it
# (sched_job_end_by): 2 nodes x 8 GPUs; llm (guaranteed 16) runs job 1 on
# one node until 5000, vis borrows the other with two 1-GPU jobs (limit
# 100000). At 1000 llm's job 4 (8 GPUs) preempts them (grace 60): its
# reservation is at 1060 on their node, so vis's job 5 (1 GPU, limit
# 100000) arriving at 1010 must not backfill there (it would run past
# 1060); job 4 starts at 1060. (Planned with the victims' time limits,
# job 4 was reserved behind job 1 at 5000, job 5 backfilled onto the
# freed node and was preempted in turn: job 4 started at 1120.)
cat >"$TMP/cluster2.yaml" <<'YAML'
pools:
  - name: gpu
blocks:
  - {name: b0, nodes: 2, pool: gpu, gpus_per_node: 8}
YAML
cat >"$TMP/center2.yaml" <<'YAML'
priority: {calc_period: 0}
accounts:
  - name: fm
    projects: [{name: llm}]
  - name: uni
    projects: [{name: vis}]
guarantees:
  - {account: llm, pool: gpu, gpus: 16}
preemption: {grace: 60}
YAML
cat >"$TMP/jobs2.csv" <<'CSV'
id,submit,run,time_limit,gpus,pool,user,account
1,0,5000,5000,8,gpu,1,llm
2,1,100000,100000,1,gpu,2,vis
3,2,100000,100000,1,gpu,2,vis
4,1000,1000,1000,8,gpu,1,llm
5,1010,100000,100000,1,gpu,2,vis
CSV
for policy in easy conservative; do
    if ! "$FLEET" simulate --trace "$TMP/jobs2.csv" --cluster "$TMP/cluster2.yaml" \
            --center "$TMP/center2.yaml" --policy $policy --jobs-out "$TMP/j.csv" \
            --summary-out "$TMP/s.json" >"$TMP/out" 2>"$TMP/err"; then
        fail "simulate, victims' ends, $policy: $(cat "$TMP/err")"
        continue
    fi
    if msg=$(python3 - "$TMP/j.csv" "$TMP/s.json" <<'PY'
import csv, json, sys
jobs = {int(r["id"]): r for r in csv.DictReader(open(sys.argv[1]))}
acc = json.load(open(sys.argv[2]))["accounts"]
start = {i: int(j["start"]) for i, j in jobs.items()}
# job 4 starts when its victims' grace is over, on their node
assert start[4] == 1060 and jobs[4]["nodes"] == "b0-n001:8", jobs[4]
# job 5 did not backfill onto the victims' node: it waits for job 4's end
assert start[5] == 2060, jobs[5]
# the victims were requeued at 1060; nobody else was preempted
for v in (2, 3):
    assert int(jobs[v]["submit"]) == 1060, jobs[v]
assert acc["preemptions"] == 2 and acc["preempt_plans"] == 1, acc
print("job 4 starts at %d, job 5 at %d; %d preemptions by %d plan" %
      (start[4], start[5], acc["preemptions"], acc["preempt_plans"]))
PY
    ); then
        ok "victims' ends planned, $policy: $msg"
    else
        fail "victims' ends planned, $policy: $msg"
    fi
done

# errors in the guarantees section name the file, the line and the field
cat >"$TMP/bad.yaml" <<'YAML'
accounts:
  - name: fm
    projects: [{name: llm}]
guarantees:
  - {account: llm, pool: h100, gpus: 16}
YAML
expect_fail "unknown pool" 'bad.yaml:5: field pool: no pool "h100"' \
    "$FLEET" simulate --trace "$TMP/jobs.csv" --cluster "$TMP/cluster.yaml" --center "$TMP/bad.yaml" --policy easy
cat >"$TMP/bad.yaml" <<'YAML'
accounts:
  - name: fm
    projects: [{name: llm}, {name: vis}]
guarantees:
  - {account: llm, pool: gpu, gpus: 16}
  - {account: vis, pool: gpu, gpus: 24}
YAML
expect_fail "over the pool" 'bad.yaml:6: field gpus: the guarantees in pool gpu sum to 40 GPUs, more than its 32' \
    "$FLEET" simulate --trace "$TMP/jobs.csv" --cluster "$TMP/cluster.yaml" --center "$TMP/bad.yaml" --policy easy
cat >"$TMP/bad.yaml" <<'YAML'
accounts:
  - name: fm
    projects: [{name: llm}]
guarantees:
  - {account: nobody, pool: gpu, gpus: 16}
YAML
expect_fail "unknown account" 'bad.yaml:5: field account: no account named "nobody"' \
    "$FLEET" simulate --trace "$TMP/jobs.csv" --cluster "$TMP/cluster.yaml" --center "$TMP/bad.yaml" --policy easy

[ "$FAILS" -eq 0 ]
