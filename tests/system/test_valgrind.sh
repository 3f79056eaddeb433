#!/usr/bin/env bash
# fleet simulate runs clean under valgrind (memcheck: no invalid access, no
# use of uninitialised memory, no leak) on small traces, classic and GPU.
# Valgrind needs a build without sanitizers: GPUFLEET_RELEASE_BUILD (make
# test builds build/ first and sets it).
source "$(dirname "$0")/common.sh"
REL=${GPUFLEET_RELEASE_BUILD:-$ROOT/build}
command -v valgrind >/dev/null || { fail "valgrind is not installed"; finish; }
[ -x "$REL/fleet" ] || { fail "no release build at $REL (run make first)"; finish; }
vg() {
    valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite,indirect \
        --show-leak-kinds=definite,indirect "$REL/fleet" "$@" >"$TMP/out" 2>"$TMP/err"
}
for policy in fcfs easy conservative; do
    vg simulate --trace "$DATA/conformance/classic/edge-01.swf" --policy "$policy" \
        --jobs-out "$TMP/j.csv" --summary-out "$TMP/s.json" &&
        ok "classic $policy" || fail "classic $policy: $(tail -n 30 "$TMP/err")"
    vg simulate --trace "$ROOT/examples/jobs-small.csv" --cluster "$ROOT/examples/cluster-small.yaml" \
        --policy "$policy" --jobs-out "$TMP/j.csv" --summary-out "$TMP/s.json" &&
        ok "gpu $policy" || fail "gpu $policy: $(tail -n 30 "$TMP/err")"
done
# an error path, too
printf '; MaxProcs: 4\n1 0 -1 x 1 -1 -1 1 5 -1 1 1 1 -1 1 -1 -1 -1\n' >"$TMP/bad.swf"
vg simulate --trace "$TMP/bad.swf" --policy easy; rc=$?
[ $rc -eq 1 ] && ok "error path" || fail "error path: exit $rc: $(tail -n 30 "$TMP/err")"
finish
