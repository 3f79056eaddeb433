#!/usr/bin/env bash
# fleetd's side of the agent protocol, with a fake agent (agent_proto.py).
source "$(dirname "$0")/common.sh"
python3 "$ROOT/tests/system/agent_proto.py" "$BUILD/fleetd" "$TMP" || fail "agent protocol"
finish
