#!/usr/bin/env bash
# fleet simulate against the conformance data of the classic model: every
# job's start and end and every summary value, for every trace and policy
# in tests/data/conformance/classic (fcfs and easy, produced by two
# independent implementations of the issue's text).
source "$(dirname "$0")/common.sh"
C=$DATA/conformance/classic
n=0
for want in "$C"/*.csv; do
    b=$(basename "$want" .csv)
    trace=${b%-*}
    policy=${b##*-}
    src=$C/$trace.swf
    [ -f "$src" ] || src=$DATA/traces/$trace.swf
    if ! "$FLEET" simulate --trace "$src" --policy "$policy" --quiet \
            --jobs-out "$TMP/jobs.csv" --summary-out "$TMP/summary.json" 2>"$TMP/err"; then
        fail "$b: fleet simulate failed: $(cat "$TMP/err")"
        continue
    fi
    if ! cmp -s "$TMP/jobs.csv" "$want"; then
        fail "$b: jobs differ: $(diff "$TMP/jobs.csv" "$want" | head -n 4 | tr '\n' ' ')"
        continue
    fi
    if ! msg=$(python3 "$ROOT/tests/system/compare_summary.py" "$TMP/summary.json" "$C/$b.summary.json"); then
        fail "$b: summary: $msg"
        continue
    fi
    n=$((n + 1))
done
[ "$n" -ge 30 ] || fail "only $n conformance cases ran (expected 30)"
ok "$n conformance cases identical"
finish
