#!/usr/bin/env bash
# fleetd killed with SIGKILL at random moments while 8 clients submit:
# every acknowledged job survives exactly once (see fleetd_crash.py).
source "$(dirname "$0")/common.sh"
python3 "$ROOT/tests/system/fleetd_crash.py" "$BUILD/fleetd" "$ROOT/examples/cluster-small.yaml" "$TMP" 12 ||
    { fail "crash test"; tail -n 20 "$TMP/fleetd.log"; }
finish
