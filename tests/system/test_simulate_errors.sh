#!/usr/bin/env bash
# Bad input to fleet simulate: each is a clear error naming the file, line
# and field (or the option), with a non-zero exit, and no output file is
# left half-written.
source "$(dirname "$0")/common.sh"
row() { echo "$1 0 -1 5 1 -1 -1 1 5 -1 1 1 1 -1 1 -1 -1 -1"; }
{ echo "; MaxProcs: 4"; row 1; echo "2 0 -1 5 1 -1 -1 1"; } >"$TMP/short.swf"
{ echo "; MaxProcs: 4"; row 1; row 2; echo "3 0 -1 five 1 -1 -1 1 5 -1 1 1 1 -1 1 -1 -1 -1"; } >"$TMP/nonnum.swf"
{ echo "; MaxProcs: 4"; echo "1 0 -1 5 1 -1 -1 2x 5 -1 1 1 1 -1 1 -1 -1 -1"; } >"$TMP/junk.swf"
{ row 1; row 2; } >"$TMP/nosize.swf"
{ echo "; MaxProcs: 4"; row 1; } >"$TMP/good.swf"

expect_fail "short line"      'short\.swf:3: expected 18 fields, found 8' \
    "$FLEET" simulate --trace "$TMP/short.swf" --policy easy --jobs-out "$TMP/o1.csv"
[ -e "$TMP/o1.csv" ] && fail "short line: jobs-out was written"
expect_fail "non-number"      'nonnum\.swf:4: field 4 \(run_time\): not a number: "five"' \
    "$FLEET" simulate --trace "$TMP/nonnum.swf" --policy fcfs
expect_fail "junk in number"  'junk\.swf:2: field 8 \(requested_procs\)' \
    "$FLEET" simulate --trace "$TMP/junk.swf" --policy fcfs
expect_fail "no machine size" 'nosize\.swf: no machine size' \
    "$FLEET" simulate --trace "$TMP/nosize.swf" --policy easy
expect_fail "unknown policy"  '--policy: unknown policy "sjf"' \
    "$FLEET" simulate --trace "$TMP/good.swf" --policy sjf
expect_fail "missing policy"  '--policy: required' \
    "$FLEET" simulate --trace "$TMP/good.swf"
expect_fail "negative procs"  '--procs: must be a positive integer, got -8' \
    "$FLEET" simulate --trace "$TMP/good.swf" --policy easy --procs -8
expect_fail "procs not int"   '--procs: not an integer: "8k"' \
    "$FLEET" simulate --trace "$TMP/good.swf" --policy easy --procs 8k
expect_fail "missing trace"   'nope\.swf: No such file' \
    "$FLEET" simulate --trace "$TMP/nope.swf" --policy easy
expect_fail "GPU trace, no cluster" '--cluster: a GPU trace needs a cluster' \
    "$FLEET" simulate --trace "$ROOT/examples/jobs-small.csv" --policy easy
printf 'pools:\n  - name: a\nnodes:\n  - name: n1\n    pool: a\n    gpus: -8\n' >"$TMP/bad.yaml"
expect_fail "bad cluster"     'bad\.yaml:6: field gpus' \
    "$FLEET" simulate --trace "$ROOT/examples/jobs-small.csv" --cluster "$TMP/bad.yaml" --policy easy
printf 'id,submit,run,gpus\n1,0,10,-2\n' >"$TMP/neg.csv"
expect_fail "negative GPUs in a GPU trace" 'neg\.csv:2: field gpus' \
    "$FLEET" simulate --trace "$TMP/neg.csv" --cluster "$ROOT/examples/cluster-small.yaml" --policy easy
expect_fail "unknown option"  'unrecognized option' \
    "$FLEET" simulate --trace "$TMP/good.swf" --policy easy --frobnicate
expect_fail "unknown command" 'unknown command "simulat"' "$FLEET" simulat
# a good run still works and says what it dropped
"$FLEET" simulate --trace "$TMP/good.swf" --policy easy --summary-out "$TMP/s.json" >"$TMP/out" &&
    grep -q '"jobs": 1' "$TMP/s.json" && ok "good trace runs" || fail "good trace"
finish
