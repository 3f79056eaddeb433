#!/usr/bin/env bash
# fleet simulate on GPU clusters: the example cluster (pools, NVLink blocks,
# spines) with the example CSV workload, and the Alibaba GPU 2023 trace on
# its own node list. Each schedule is checked by check_gpu_schedule.py: no
# node over its GPUs, gangs whole and started together, pools respected,
# jobs killed at their limit.
source "$(dirname "$0")/common.sh"
CHECK=$ROOT/tests/system/check_gpu_schedule.py
for policy in fcfs easy conservative; do
    if "$FLEET" simulate --trace "$ROOT/examples/jobs-small.csv" --cluster "$ROOT/examples/cluster-small.yaml" \
            --policy "$policy" --jobs-out "$TMP/j.csv" --summary-out "$TMP/s.json" >"$TMP/out" 2>"$TMP/err"; then
        msg=$(python3 "$CHECK" "$ROOT/examples/jobs-small.csv" "$TMP/j.csv" 8) &&
            ok "example cluster, $policy: $(grep -c . "$TMP/j.csv") rows valid" ||
            fail "example cluster, $policy: $msg"
        # the 8-node NPU gang (only 3 NPU nodes exist) is refused, counted as dropped
        grep -q '"dropped": 1' "$TMP/s.json" || fail "example cluster, $policy: expected 1 dropped job"
        grep -q 'larger than any allowed pool' "$TMP/out" || fail "example cluster: no note of the refused job"
    else
        fail "example cluster, $policy: $(cat "$TMP/err")"
    fi
done
A=$DATA/alibaba-gpu-2023
for policy in easy conservative; do
    if "$FLEET" simulate --trace "$A/openb_pod_list_default.csv" --nodes "$A/openb_node_list_gpu_node.csv" \
            --policy "$policy" --jobs-out "$TMP/a.csv" --summary-out "$TMP/a.json" >"$TMP/out" 2>"$TMP/err"; then
        msg=$(python3 "$CHECK" "$A/openb_pod_list_default.csv" "$TMP/a.csv" "$A/openb_node_list_gpu_node.csv") &&
            ok "alibaba, $policy: valid" || fail "alibaba, $policy: $msg"
        # 8152 pods, 1088 without GPUs are dropped
        python3 - "$TMP/a.json" <<'PY' || fail "alibaba, $policy: summary counts"
import json, sys
s = json.load(open(sys.argv[1]))
assert s["jobs"] + s["dropped"] == 8152, s
assert s["dropped"] >= 1088, s
PY
    else
        fail "alibaba, $policy: $(cat "$TMP/err")"
    fi
done
finish
