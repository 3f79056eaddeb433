#!/usr/bin/env bash
# fleetd killed with SIGKILL at random moments while 8 clients submit:
# every acknowledged job survives exactly once (see fleetd_crash.py).
source "$(dirname "$0")/common.sh"
python3 "$ROOT/tests/system/fleetd_crash.py" "$BUILD/fleetd" "$ROOT/examples/cluster-small.yaml" "$TMP" 12 ||
    { fail "crash test"; tail -n 20 "$TMP/fleetd.log"; }
# the same against PostgreSQL when a server is at hand (CI starts one)
if [ -n "${GPUFLEET_PG_DSN:-}" ]; then
    psql "$GPUFLEET_PG_DSN" -qc "DROP TABLE IF EXISTS jobs, nodes, meta, accounting, admin_log, reservations" 2>/dev/null
    mkdir -p "$TMP/pg"
    python3 "$ROOT/tests/system/fleetd_crash.py" "$BUILD/fleetd" "$ROOT/examples/cluster-small.yaml" "$TMP/pg" 8 \
        --postgres "$GPUFLEET_PG_DSN" || { fail "crash test on PostgreSQL"; tail -n 20 "$TMP/pg/fleetd.log"; }
    psql "$GPUFLEET_PG_DSN" -qc "DROP TABLE IF EXISTS jobs, nodes, meta, accounting, admin_log, reservations" 2>/dev/null
else
    echo "skipped: the crash test on PostgreSQL (GPUFLEET_PG_DSN not set)"
fi
finish
