#!/usr/bin/env bash
# fleet simulate against tests/oracle/classic_model.py, an independent plain
# implementation of the classic model, under all three policies: every row
# of --jobs-out and every summary value must agree. This is where
# conservative backfill, which has no conformance data, is checked.
source "$(dirname "$0")/common.sh"
C=$DATA/conformance/classic
traces=("$C"/edge-*.swf "$DATA/traces/hpc2n-subset.swf" "$DATA/traces/lublin-2.swf")
for t in "${traces[@]}"; do
    b=$(basename "$t" .swf)
    for policy in fcfs easy conservative; do
        case "$b:$policy" in lublin-2:fcfs|lublin-2:easy) continue ;; esac  # covered by conformance
        python3 "$ROOT/tests/oracle/classic_model.py" "$t" "$policy" "$TMP/o.csv" "$TMP/o.json" ||
            { fail "$b/$policy: oracle failed"; continue; }
        "$FLEET" simulate --trace "$t" --policy "$policy" --quiet \
            --jobs-out "$TMP/f.csv" --summary-out "$TMP/f.json" 2>"$TMP/err" ||
            { fail "$b/$policy: fleet failed: $(cat "$TMP/err")"; continue; }
        if ! cmp -s "$TMP/f.csv" "$TMP/o.csv"; then
            fail "$b/$policy: jobs differ: $(diff "$TMP/f.csv" "$TMP/o.csv" | head -n 4 | tr '\n' ' ')"
            continue
        fi
        msg=$(python3 "$ROOT/tests/system/compare_summary.py" "$TMP/f.json" "$TMP/o.json") ||
            { fail "$b/$policy: summary: $msg"; continue; }
        ok "$b/$policy"
    done
done
# --procs overrides the header, in both
python3 "$ROOT/tests/oracle/classic_model.py" "$C/edge-01.swf" easy --procs 24 "$TMP/o.csv" "$TMP/o.json"
"$FLEET" simulate --trace "$C/edge-01.swf" --policy easy --procs 24 --quiet --jobs-out "$TMP/f.csv"
cmp -s "$TMP/f.csv" "$TMP/o.csv" && ok "--procs 24" || fail "--procs 24: jobs differ"
finish
