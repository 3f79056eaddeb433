#!/usr/bin/env bash
# fleet simulate --center with operators' reservations (the center file's
# reservations section). Four 8-GPU nodes, b0-n000 .. b0-n003:
#   - maint: maintenance of b0-n000 and b0-n001 over [1000, 3000)
#   - llm-days: b0-n003 for project llm over [0, 6000)
#   - carol-am: b0-n002 for user carol (uid 3, a member of vis) over [0, 2000)
# Project vis (users 2 and 3) keeps the cluster busy with 8-GPU jobs, llm
# submits 4-GPU jobs now and then. From the per-job output (--jobs-out:
# every job's nodes and times), under each policy: no job runs on a
# maintenance node across the window's start or inside the window; on a
# project node during its window only the jobs it admits run, and they do
# use it; the maintenance nodes work before and after their window; the
# summary's per-reservation GPU-hours match the jobs. The same
# replay without the section breaks each of these rules, so the checks can
# fail. Then bad entries: a non-zero exit and an error naming the line, the
# field and the reservation. Last, a maintenance window on a span pool: either
# libsched's refusal comes through (before libsched reserves span pools) or
# no job runs there in the window.
source "$(dirname "$0")/common.sh"

cat >"$TMP/cluster.yaml" <<'YAML'
pools:
  - name: gpu
blocks:
  - {name: b0, nodes: 4, pool: gpu, gpus_per_node: 8}
YAML

cat >"$TMP/base.yaml" <<'YAML'
priority: {calc_period: 0}
accounts:
  - name: fm
    projects: [{name: llm}]
  - name: uni
    projects: [{name: vis}]
users:
  - {name: alice, uid: 1, projects: llm}
  - {name: bob, uid: 2, projects: vis}
  - {name: carol, uid: 3, projects: vis}
YAML
cp "$TMP/base.yaml" "$TMP/center.yaml"
cat >>"$TMP/center.yaml" <<'YAML'
reservations:
  - name: maint
    kind: maintenance
    nodes: [b0-n000, b0-n001]
    start: 1000
    end: 3000
  - name: llm-days
    kind: project
    nodes: b0-n003
    accounts: [llm]
    start: 0
    end: 6000
  - {name: carol-am, kind: project, nodes: [b0-n002], users: [carol], start: 0, end: 2000}
YAML

# vis: 8-GPU jobs every 150 s (carol's first, then one in four; bob's the
# rest), 1500 s runs with 1800 s limits; llm: 4-GPU jobs every 700 s, 900 s
# runs
python3 - "$TMP/jobs.csv" <<'PY'
import sys
rows = ["id,submit,run,time_limit,gpus,nodes,gpus_per_node,cpus_per_gpu,mem_per_gpu_mb,pool,user,account"]
i = 1
for k in range(16):
    rows.append(f"{i},{k * 150},1500,1800,8,,,0,0,gpu,{3 if k % 4 == 0 else 2},vis"); i += 1
for k in range(7):
    rows.append(f"{i},{k * 700},900,1000,4,,,0,0,gpu,1,llm"); i += 1
open(sys.argv[1], "w").write("\n".join(rows) + "\n")
PY

# check.py TRACE JOBS SUMMARY yes|no: yes checks every reservation's rule
# and report; no (the replay without reservations) expects each rule broken
cat >"$TMP/check.py" <<'PY'
import csv, json, sys
trace = {int(r["id"]): r for r in csv.DictReader(open(sys.argv[1]))}
jobs = {int(r["id"]): r for r in csv.DictReader(open(sys.argv[2]))}
summary = json.load(open(sys.argv[3]))
want = sys.argv[4] == "yes"
assert len(jobs) == len(trace), (len(jobs), len(trace))

def runs_on(node):
    """(id, start, end, gpus) of each job that ran on node."""
    out = []
    for i, j in jobs.items():
        for part in j["nodes"].split(";"):
            n, g = part.split(":")
            if n == node:
                out.append((i, int(j["start"]), int(j["end"]), int(g)))
    return out

def inside(s, e, ws, we):
    return max(s, ws) < min(e, we)

msgs, broken = [], []
# maintenance: nothing on b0-n000 / b0-n001 in [1000, 3000), nothing across 1000
for node in ("b0-n000", "b0-n001"):
    bad = [(i, s, e) for i, s, e, g in runs_on(node) if inside(s, e, 1000, 3000)]
    across = [(i, s, e) for i, s, e, g in runs_on(node) if s < 1000 < e]
    if want:
        assert not bad, ("jobs in the maintenance window", node, bad)
        assert not across, ("jobs across the window start", node, across)
    elif bad:
        broken.append("maint")
# project windows: only the admitted jobs, and they used them
windows = {"llm-days": ("b0-n003", 0, 6000, lambda i: trace[i]["account"] == "llm"),
           "carol-am": ("b0-n002", 0, 2000, lambda i: int(trace[i]["user"]) == 3)}
report = {r["name"]: r for r in summary.get("reservations", [])}
for name, (node, ws, we, admits) in windows.items():
    ran = [(i, s, e, g) for i, s, e, g in runs_on(node) if inside(s, e, ws, we)]
    others = [i for i, s, e, g in ran if not admits(i)]
    mine = [(i, s, e, g) for i, s, e, g in ran if admits(i)]
    if not want:
        if others:
            broken.append(name)
        continue
    assert not others, (name, "other jobs in the window", others)
    assert mine, (name, "the window was never used")
    gh = sum(g * (min(e, we) - max(s, ws)) for i, s, e, g in mine) / 3600
    r = report[name]
    assert r["kind"] == "project" and r["nodes"] == [node], r
    assert r["overlap_jobs"] == 0 and r["overlap_gpu_hours"] == 0, r
    assert r["used_jobs"] == len(mine), (r, mine)
    assert abs(r["used_gpu_hours"] - gh) < 1e-6, (r, gh)
    assert abs(r["window_gpu_hours"] - 8 * (we - ws) / 3600) < 1e-6, r
    msgs.append("%s: %d jobs, %.2f GPU-hours" % (name, len(mine), gh))
if want:
    m = report["maint"]
    assert m["kind"] == "maintenance" and m["nodes"] == ["b0-n000", "b0-n001"], m
    assert m["overlap_jobs"] == 0 and m["used_jobs"] == 0 and m["gpus"] == 16, m
    assert report["llm-days"]["accounts"] == ["llm"], report["llm-days"]
    assert report["carol-am"]["users"] == ["carol"], report["carol-am"]
    # the maintenance nodes worked before the window (a job short enough to
    # end by its start) and each after it
    before = [i for n in ("b0-n000", "b0-n001") for i, s, e, g in runs_on(n) if e <= 1000]
    assert before, "no job ran on the maintenance nodes before the window"
    for node in ("b0-n000", "b0-n001"):
        assert any(s >= 3000 for i, s, e, g in runs_on(node)), (node, "idle after the window")
    print("; ".join(msgs))
else:
    assert "reservations" not in summary, summary.keys()
    assert sorted(set(broken)) == ["carol-am", "llm-days", "maint"], broken
    print("without reservations the replay breaks: " + ", ".join(sorted(set(broken))))
PY

# the same replay without the section breaks every rule checked above
cp "$TMP/base.yaml" "$TMP/none.yaml"
if "$FLEET" simulate --trace "$TMP/jobs.csv" --cluster "$TMP/cluster.yaml" --center "$TMP/none.yaml" \
        --policy easy --jobs-out "$TMP/j0.csv" --summary-out "$TMP/s0.json" >"$TMP/out" 2>"$TMP/err" &&
    msg=$(python3 "$TMP/check.py" "$TMP/jobs.csv" "$TMP/j0.csv" "$TMP/s0.json" no 2>&1); then
    ok "control: $msg"
else
    fail "control: $(cat "$TMP/err") ${msg:-}"
fi

for policy in fcfs easy conservative; do
    if ! "$FLEET" simulate --trace "$TMP/jobs.csv" --cluster "$TMP/cluster.yaml" \
            --center "$TMP/center.yaml" --policy $policy --jobs-out "$TMP/j.csv" \
            --summary-out "$TMP/s.json" >"$TMP/out" 2>"$TMP/err"; then
        fail "simulate, $policy: $(cat "$TMP/err")"
        continue
    fi
    if msg=$(python3 "$TMP/check.py" "$TMP/jobs.csv" "$TMP/j.csv" "$TMP/s.json" yes 2>&1); then
        ok "reservations kept, $policy: $msg"
    else
        fail "reservations kept, $policy: $msg"
    fi
    want='reservation      maint (maintenance), 2 nodes (16 GPUs), [1000, 3000): no job ran there in the window'
    grep -qxF "$want" "$TMP/out" && ok "report, $policy" || fail "report, $policy: no '$want' in: $(cat "$TMP/out")"
    grep -Eq '^reservation      llm-days \(project llm\), 1 node \(8 GPUs\), \[0, 6000\): used [0-9.]+ of 13\.3 GPU-hours \([0-9.]+%\) by [1-9][0-9]* jobs?; no other job ran there in the window$' "$TMP/out" &&
        ok "report llm-days, $policy" || fail "report llm-days, $policy: $(cat "$TMP/out")"
    grep -q '^reservation      carol-am (project users carol), ' "$TMP/out" ||
        fail "report carol-am, $policy: $(cat "$TMP/out")"
done

# bad entries: non-zero exit, FILE:LINE: field NAME: ... naming the reservation
bad() { # name, pattern, reservations section (after base.yaml's 11 lines)
    cp "$TMP/base.yaml" "$TMP/bad.yaml"
    printf '%s\n' "$3" >>"$TMP/bad.yaml"
    expect_fail "$1" "$2" "$FLEET" simulate --trace "$TMP/jobs.csv" --cluster "$TMP/cluster.yaml" \
        --center "$TMP/bad.yaml" --policy easy
}
bad "unknown node" 'bad\.yaml:13: field nodes: reservation "m": no node "b0-n009" in this cluster' \
'reservations:
  - name: m
    nodes: [b0-n000, b0-n009]
    kind: maintenance
    start: 0
    end: 10'
bad "unknown project" 'bad\.yaml:12: field accounts: no project named "nobody"' \
'reservations:
  - {name: p, kind: project, nodes: [b0-n000], accounts: [nobody], start: 0, end: 10}'
bad "a tier is no project" 'bad\.yaml:12: field accounts: "fm" is a tier, not a project' \
'reservations:
  - {name: p, kind: project, nodes: [b0-n000], accounts: fm, start: 0, end: 10}'
bad "unknown kind" 'bad\.yaml:12: field kind: must be maintenance or project, got "repair"' \
'reservations:
  - {name: m, kind: repair, nodes: [b0-n000], start: 0, end: 10}'
bad "empty window" 'bad\.yaml:12: field end: the window must end after it starts' \
'reservations:
  - {name: m, kind: maintenance, nodes: [b0-n000], start: 10, end: 10}'
bad "bad time" 'bad\.yaml:12: field start: must be seconds or a UTC date' \
'reservations:
  - {name: m, kind: maintenance, nodes: [b0-n000], start: tomorrow, end: 10}'
bad "maintenance admits nobody" 'bad\.yaml:12: field users: a maintenance reservation admits no job' \
'reservations:
  - {name: m, kind: maintenance, nodes: [b0-n000], users: [bob], start: 0, end: 10}'
bad "project without accounts" 'bad\.yaml:12: field accounts: a project reservation needs accounts or users' \
'reservations:
  - {name: p, kind: project, nodes: [b0-n000], start: 0, end: 10}'
bad "node twice" 'bad\.yaml:12: field nodes: "b0-n000" is listed twice' \
'reservations:
  - {name: m, kind: maintenance, nodes: [b0-n000, b0-n000], start: 0, end: 10}'
bad "duplicate name" 'bad\.yaml:13: field name: duplicate reservation name "m" \(first at line 12\)' \
'reservations:
  - {name: m, kind: maintenance, nodes: [b0-n000], start: 0, end: 10}
  - {name: m, kind: maintenance, nodes: [b0-n001], start: 0, end: 10}'
bad "unknown key" 'bad\.yaml:12: field pool: unknown key in a reservation \(known: name, kind, start, end, nodes, accounts, users\)' \
'reservations:
  - {name: m, kind: maintenance, pool: gpu, nodes: [b0-n000], start: 0, end: 10}'
printf 'accounts:\n  - name: t\n    projects: [{name: p}]\nusers:\n  - {name: dan, projects: p}\n' >"$TMP/nouid.yaml"
printf 'reservations:\n  - {name: d, kind: project, nodes: b0-n000, users: [dan], start: 0, end: 10}\n' >>"$TMP/nouid.yaml"
expect_fail "user without uid" 'nouid\.yaml:7: field users: reservation "d": user dan has no uid' \
    "$FLEET" simulate --trace "$TMP/jobs.csv" --cluster "$TMP/cluster.yaml" --center "$TMP/nouid.yaml" --policy easy

# span pools (one-GPU nodes without topology, all alike): reservations there
# are being added to libsched. Until they are, libsched's refusal must come
# through with the line and the field; once they are, the same rules as
# above must hold there, checked from the per-job output.
cat >"$TMP/span-cluster.yaml" <<'YAML'
pools:
  - name: one
nodes:
  - {name: s0, pool: one, gpus: 1}
  - {name: s1, pool: one, gpus: 1}
  - {name: s2, pool: one, gpus: 1}
  - {name: s3, pool: one, gpus: 1}
YAML
printf 'accounts:\n  - name: t\n    projects: [{name: p}]\nreservations:\n  - name: m\n    kind: maintenance\n    nodes: [s0, s1]\n    start: 1000\n    end: 3000\n' >"$TMP/span.yaml"
python3 - "$TMP/span.csv" <<'PY'
import sys
rows = ["id,submit,run,time_limit,gpus,nodes,gpus_per_node,cpus_per_gpu,mem_per_gpu_mb,pool,user,account"]
for k in range(24):
    rows.append(f"{k + 1},{k * 100},700,900,1,,,0,0,one,1,p")
open(sys.argv[1], "w").write("\n".join(rows) + "\n")
PY
if "$FLEET" simulate --trace "$TMP/span.csv" --cluster "$TMP/span-cluster.yaml" --center "$TMP/span.yaml" \
        --policy easy --jobs-out "$TMP/sj.csv" --summary-out "$TMP/ss.json" >"$TMP/out" 2>"$TMP/err"; then
    if msg=$(python3 - "$TMP/sj.csv" "$TMP/ss.json" <<'PY' 2>&1
import csv, json, sys
jobs = list(csv.DictReader(open(sys.argv[1])))
r = json.load(open(sys.argv[2]))["reservations"][0]
assert len(jobs) == 24, len(jobs)
on = [(j["id"], int(j["start"]), int(j["end"])) for j in jobs
      if j["nodes"].split(":")[0] in ("s0", "s1")]
bad = [x for x in on if max(x[1], 1000) < min(x[2], 3000)]
assert not bad, ("jobs on s0/s1 in the maintenance window", bad)
assert any(e <= 1000 for i, s, e in on) and any(s >= 3000 for i, s, e in on), on
assert r["overlap_jobs"] == 0 and r["gpus"] == 2, r
print("%d runs on s0/s1, none in [1000, 3000)" % len(on))
PY
    ); then
        ok "span pool reserved: $msg"
    else
        fail "span pool reserved: $msg"
    fi
elif grep -Eq 'span\.yaml:7: field nodes: reservation "m": s0 is in pool one of interchangeable one-GPU nodes \(a span pool\), where reservations are not supported' "$TMP/err"; then
    ok "span pool refused: $(cat "$TMP/err")"
else
    fail "span pool: $(cat "$TMP/err")"
fi

finish
