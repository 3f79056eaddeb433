#!/usr/bin/env bash
# The Alibaba study (docs/study-alibaba.md) on the repository's copy of the
# trace: scripts/study-alibaba runs the four policies on
# examples/cluster-alibaba*.yaml and examples/center-alibaba*.yaml, and the
# claims that hold by construction are checked on what it measured:
#   - the converted trace is the simulator's own reading of the pods: the
#     same schedule as the Alibaba files without a center
#   - every pod is mapped to a project and runs under every policy, and each
#     tier's GPU-hours are the same under all four (lost runs apart)
#   - preemption happens only with borrowing (c); the guaranteed tier is
#     never preempted; lost runs are charged to the victims' allocations
#   - the guarantee and the partition cut the guaranteed tier's mean wait
#     below plain priority's; every job its guarantee covers starts within
#     the grace
#   - the partition is used by its tier only, and idles while the shared
#     pool is busier; borrowing keeps utilisation above the partition's
#   - fair share moves waiting from the heaviest tier (company) to the
#     lightest (research-institute, university)
source "$(dirname "$0")/common.sh"
A=$DATA/alibaba-gpu-2023
STUDY=$ROOT/scripts/study-alibaba

if ! python3 "$STUDY" "$BUILD" --trace-dir "$A" --no-sensitivity --work "$TMP/w" \
        --json "$TMP/r.json" >"$TMP/tables.md" 2>"$TMP/err"; then
    fail "study-alibaba: $(cat "$TMP/err")"
    finish
fi
grep -q '^| (c) fair share + guarantee, borrowing, preemption |' "$TMP/tables.md" &&
    ok "study-alibaba prints its tables" || fail "study-alibaba: no table row for (c)"

# the conversion adds identities only: without a center, the converted CSV and
# the Alibaba pod list give the same schedule, job by job
if "$FLEET" simulate --trace "$A/openb_pod_list_default.csv" --cluster "$ROOT/examples/cluster-alibaba.yaml" \
        --policy easy --jobs-out "$TMP/raw.csv" --quiet 2>"$TMP/err" &&
   "$FLEET" simulate --trace "$TMP/w/jobs.csv" --cluster "$ROOT/examples/cluster-alibaba.yaml" \
        --policy easy --jobs-out "$TMP/conv.csv" --quiet 2>>"$TMP/err"; then
    cmp -s "$TMP/raw.csv" "$TMP/conv.csv" && ok "converted trace: same schedule as the pod list" ||
        fail "converted trace: schedule differs from the pod list ($(diff "$TMP/raw.csv" "$TMP/conv.csv" | head -3))"
else
    fail "simulate: $(cat "$TMP/err")"
fi

if msg=$(python3 - "$TMP/r.json" "$TMP/w" <<'PY'
import csv, json, os, sys
r = json.load(open(sys.argv[1]))
work = sys.argv[2]
P = r["policies"]
a, b, c, d = P["priority"], P["fairshare"], P["borrow"], P["partition"]
GRACE, FM = 300, "foundation-model"
out = []

# every pod with GPUs mapped and run, under every policy
for name, p in P.items():
    assert p["unmapped"] == 0 and p["refused"] == 0 and p["withdrawn"] == 0, (name, p["unmapped"])
    assert p["jobs"] == 7064, (name, p["jobs"])
# each tier's GPU-hours: the same under all four, and what the trace asks
meta = {}
for row in csv.DictReader(open(os.path.join(work, "jobs.csv"))):
    meta[int(row["id"])] = row
for t, p in a["tiers"].items():
    for name, q in P.items():
        assert abs(q["tiers"][t]["gpu_hours"] - p["gpu_hours"]) < 0.01, (t, name)
total = sum(int(m["gpus"]) * int(m["run"]) for m in meta.values()) / 3600
assert abs(sum(t["gpu_hours"] for t in a["tiers"].values()) - total) < 0.1, total
out.append("GPU-hours %.1f under every policy" % total)

# preemption only with borrowing; the holder is never a victim
for name, p in (("priority", a), ("fairshare", b), ("partition", d)):
    assert not p["preempt_enabled"] and p["preemptions"] == 0, name
    assert all(t["lost_gpu_hours"] == 0 for t in p["tiers"].values()), name
assert c["preempt_enabled"] and c["preemptions"] > 0, c["preemptions"]
assert c["tiers"][FM]["preempted"] == 0, c["tiers"][FM]
lost = sum(t["lost_gpu_hours"] for t in c["tiers"].values())
assert lost > 0
out.append("%d preemptions in (c), %.1f GPU-hours lost" % (c["preemptions"], lost))
# a lost run is charged: each allocation's use grows by its accounts' lost work
owner_lost = {"startup": c["tiers"]["startup"]["lost_gpu_hours"]}
owner_lost.update({o: v["lost_gpu_hours"] for o, v in c["organizations"].items()})
for i, al in enumerate(c["allocations"]):
    base = a["allocations"][i]
    assert base["name"] == al["name"]
    assert abs(al["used"] - base["used"] - owner_lost[al["account"]]) < 0.05, (al, owner_lost)
    assert al["used"] <= al["gpu_hours"], al

# the guaranteed tier waits less with a guarantee (borrowed or partitioned)
fa, fc, fd = a["tiers"][FM], c["tiers"][FM], d["tiers"][FM]
assert fc["mean_wait"] < fa["mean_wait"] and fd["mean_wait"] < fa["mean_wait"], (fa, fc, fd)
assert fc["median_wait"] <= GRACE, fc
out.append("%s mean wait %.1f h -> %.1f h (c), %.1f h (d)" %
           (FM, fa["mean_wait"] / 3600, fc["mean_wait"] / 3600, fd["mean_wait"] / 3600))
# every covered job starts within the grace: its victims are signalled when
# it arrives, the scheduler plans with their ends at the grace, and nobody
# backfills onto the nodes they free
cov = c["covered"]
late = [x for x in cov if x[2] > GRACE]
assert len(cov) >= 30 and not late, (len(cov), late)
out.append("%d covered jobs, %d started within the grace" % (len(cov), len(cov) - len(late)))

# the partition: only its tier runs there; it idles while the shared pool is busier
for row in csv.DictReader(open(os.path.join(work, "partition-jobs.csv"))):
    m = meta[int(row["id"])]
    if row["pool"] == "fm":
        assert m["account"] in ("nfm-pretrain", "nfm-adapt"), row
pb = d["pool_busy_gpu_hours"]
assert pb["fm"] / 16 < pb["shared"] / 32, pb
assert c["window_utilization"] > d["window_utilization"], (c["window_utilization"], d["window_utilization"])
out.append("utilisation %.3f with borrowing, %.3f with the partition" %
           (c["window_utilization"], d["window_utilization"]))

# fair share: the heaviest tier waits more, the lightest less
ta, tb = a["tiers"], b["tiers"]
assert tb["company"]["mean_wait"] > ta["company"]["mean_wait"], (ta["company"], tb["company"])
for t in ("research-institute", "university"):
    assert tb[t]["mean_wait"] < ta[t]["mean_wait"], (t, ta[t], tb[t])
out.append("fair share: company %.2f h -> %.2f h, university %.2f h -> %.2f h" %
           (ta["company"]["mean_wait"] / 3600, tb["company"]["mean_wait"] / 3600,
            ta["university"]["mean_wait"] / 3600, tb["university"]["mean_wait"] / 3600))
print("; ".join(out))
PY
); then
    ok "study claims: $msg"
else
    fail "study claims: $msg"
fi

# the variants must keep the study's accounts: a changed one is refused
mkdir -p "$TMP/ex"
cp "$ROOT"/examples/center-alibaba*.yaml "$ROOT"/examples/cluster-alibaba*.yaml "$TMP/ex/"
sed -i 's/^    shares: 20$/    shares: 21/' "$TMP/ex/center-alibaba-fairshare.yaml"
expect_fail "variant drift" 'section accounts of center-alibaba-fairshare.yaml differs' \
    env STUDY_ALIBABA_EXAMPLES="$TMP/ex" python3 "$STUDY" "$BUILD" --trace-dir "$A" --no-sensitivity
finish
