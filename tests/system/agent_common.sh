# Helpers for the fleet-agent system tests: sourced after common.sh.
#
#   agent_cluster NODES [PREFIX]   writes $TMP/cluster.yaml: one pool "gpu" of NODES
#                                  nodes x 8 GPUs named PREFIX000... (default emu)
#   start_fleetd [ARGS...]         fleetd on $S ($TMP/fleetd.sock), state in $TMP/state,
#                                  log $TMP/fleetd.log; FPID
#   start_agent [ARGS...]          fleet-agent with the cluster key, spool $TMP/spool,
#                                  log $TMP/agent.log (appended); APID
#   wait_nodes_up N                until N nodes are up (or fail)
#   wait_state ID STATE [SECONDS]  until job ID is in STATE (or fail); prints nothing
#   job_field ID FIELD             a field of fleet show --json
#   stop_all                       SIGTERM to both daemons (the EXIT trap does it too)
S=$TMP/fleetd.sock
export FLEET_SOCKET=$S
AGENT=$BUILD/fleet-agent
FPID=
APID=

agent_cluster() {
    local n=$1 prefix=${2:-emu}
    cat >"$TMP/cluster.yaml" <<EOF
pools:
  - name: gpu
    model: H100
    gpu_memory_gb: 80
blocks:
  - name: b0
    spine: s0
    nodes: $n
    pool: gpu
    gpus_per_node: 8
    cpus_per_node: 32
    memory_gb_per_node: 64
    name_prefix: $prefix
EOF
}

start_fleetd() {
    "$BUILD/fleetd" --state-dir "$TMP/state" --socket "$S" --config "$TMP/cluster.yaml" \
        --interval 1 --kill-grace 2 --node-timeout 30 "$@" >>"$TMP/fleetd.log" 2>&1 &
    FPID=$!
    for _ in $(seq 400); do
        [ -S "$S" ] && [ -f "$TMP/state/cluster.key" ] && "$FLEET" status >/dev/null 2>&1 && return
        sleep 0.05
    done
    fail "fleetd did not start: $(cat "$TMP/fleetd.log")"
    finish
}

start_agent() {
    "$AGENT" --controller "unix:$S" --key-file "$TMP/state/cluster.key" --spool "$TMP/spool" \
        "$@" >>"$TMP/agent.log" 2>&1 &
    APID=$!
}

wait_nodes_up() {
    local want=$1 up=0
    for _ in $(seq 400); do
        up=$("$FLEET" nodes --json 2>/dev/null | python3 -c \
            'import json,sys; print(sum(n["state"] == "up" for n in json.load(sys.stdin)["nodes"]))' \
            2>/dev/null || echo 0)
        [ "$up" = "$want" ] && return 0
        sleep 0.05
    done
    fail "$want nodes up: only $up; agent log: $(tail -5 "$TMP/agent.log")"
    return 1
}

job_field() {
    "$FLEET" show "$1" --json | python3 -c 'import json,sys; v=json.load(sys.stdin).get(sys.argv[1]); print("" if v is None else v)' "$2"
}

wait_state() {
    local id=$1 want=$2 secs=${3:-20} st=
    for _ in $(seq $((secs * 20))); do
        st=$(job_field "$id" state 2>/dev/null)
        [ "$st" = "$want" ] && return 0
        sleep 0.05
    done
    fail "job $id: state $st, expected $want (agent log: $(tail -3 "$TMP/agent.log"))"
    return 1
}

stop_all() {
    [ -n "$APID" ] && kill -TERM "$APID" 2>/dev/null && wait "$APID" 2>/dev/null
    [ -n "$FPID" ] && kill -TERM "$FPID" 2>/dev/null && wait "$FPID" 2>/dev/null
    APID=
    FPID=
}

# Kills what the tests started, jobs included: shepherds and jobs live in
# their own sessions, so they are found by the pid files of this test's spool.
agent_cleanup() {
    stop_all
    local f pid start now
    for f in "$TMP"/spool*/*/*/shepherd.pid "$TMP"/spool*/*/*/job.pid; do
        [ -f "$f" ] || continue
        read -r pid start <"$f"
        # the same process still (field 22 of /proc/PID/stat: its start time)?
        now=$(sed 's/.*) //' "/proc/$pid/stat" 2>/dev/null | cut -d' ' -f20)
        [ -n "$now" ] && [ "$now" = "$start" ] || continue
        kill -KILL -- "-$pid" 2>/dev/null
        kill -KILL "$pid" 2>/dev/null
    done
    [ -n "${KEEP_TMP:-}" ] || rm -rf "$TMP"
}
trap agent_cleanup EXIT
