#!/usr/bin/env bash
# fleet-agent runs jobs: fleetd and one agent emulating 3 nodes x 8 GPUs,
# driven through the fleet CLI. A job's output file and environment
# (CUDA_VISIBLE_DEVICES = exactly its GPUs, FLEET_* and SLURM_* names);
# GPUs of concurrent jobs disjoint; separate -o/-e files; exit codes; a
# process tree that ignores SIGTERM killed at the time limit (SIGKILL after
# the grace); cancel; a gang over two emulated nodes; the agent killed with
# SIGKILL and restarted while a job runs (the job survives, is adopted and
# its end reported); a clean stop (SIGTERM) with a job running; when run as
# root: jobs as another user (privileges dropped, files owned by the user)
# and root's jobs refused without --allow-root.
source "$(dirname "$0")/common.sh"
source "$(dirname "$0")/agent_common.sh"

agent_cluster 3
start_fleetd
allow=()
[ "$(id -u)" -eq 0 ] && allow=(--allow-root)
start_agent --emulate 3 --gpus-per-node 8 --gpu-model H100 "${allow[@]}"
wait_nodes_up 3 || finish
W=$TMP/work
mkdir -p "$W"
chmod 755 "$TMP"
cd "$W" || exit 1
submit() { "$FLEET" submit --parsable "$@"; }

# ---- one GPU: output file and environment --------------------------------
id=$(submit -G 1 -t 30s -J envjob --wrap 'env; echo "cwd=$(pwd)"')
wait_state "$id" completed && {
    out=$W/fleet-$id.out
    if [ -f "$out" ] &&
        grep -qx "FLEET_JOB_ID=$id" "$out" && grep -qx "SLURM_JOB_ID=$id" "$out" &&
        grep -qx 'FLEET_JOB_NAME=envjob' "$out" && grep -qx 'FLEET_NNODES=1' "$out" &&
        grep -qx 'FLEET_NODEID=0' "$out" && grep -qx 'FLEET_GPUS=1' "$out" &&
        grep -qx "FLEET_SOCKET=$S" "$out" && grep -qx "cwd=$W" "$out" &&
        grep -Eqx 'CUDA_VISIBLE_DEVICES=[0-7]' "$out" && grep -Eqx 'NVIDIA_VISIBLE_DEVICES=[0-7]' "$out" &&
        grep -Eqx 'FLEET_NODELIST=emu00[0-2]' "$out"; then
        ok "one-GPU job: output file and environment ($(grep CUDA_VISIBLE "$out"))"
    else
        fail "one-GPU job environment: $(cat "$out" 2>&1 | grep -E 'FLEET|CUDA|cwd' | head -20)"
    fi
}

# ---- -o / -e patterns, exit code ------------------------------------------
id=$(submit -G 1 -t 30s -o 'o-%j.txt' -e 'e-%j.txt' --wrap 'echo to-out; echo to-err >&2; exit 3')
wait_state "$id" failed && {
    [ "$(cat "$W/o-$id.txt")" = to-out ] && [ "$(cat "$W/e-$id.txt")" = to-err ] &&
        ok "separate output and error files" ||
        fail "-o/-e: out=$(cat "$W/o-$id.txt" 2>&1) err=$(cat "$W/e-$id.txt" 2>&1)"
    code=$(job_field "$id" exit_code)
    [ "$code" = 3 ] && ok "exit code 3 reported" || fail "exit code: $code, expected 3"
}
id=$(submit -G 1 -t 30s --wrap 'kill -9 $$')
wait_state "$id" failed && {
    code=$(job_field "$id" exit_code)
    [ "$code" = 137 ] && ok "killed by a signal: exit code 128+9" || fail "signal exit code: $code"
}

# ---- concurrent jobs get disjoint GPUs ------------------------------------
ids=()
for i in $(seq 6); do
    ids+=("$(submit -G 4 -t 60s -o "gpus-$i.txt" \
        --wrap 'echo "$SLURMD_NODENAME $CUDA_VISIBLE_DEVICES $FLEET_GPUS"; sleep 5')")
done
for id in "${ids[@]}"; do wait_state "$id" completed 30 || break; done
python3 - "$W" <<'PY' && ok "6 concurrent 4-GPU jobs on 3 nodes: 4 GPUs each, disjoint per node" || fail "disjoint GPUs: $(cat "$W"/gpus-*.txt)"
import sys, os, collections
used = collections.defaultdict(list)
for i in range(1, 7):
    node, devs, total = open(os.path.join(sys.argv[1], f"gpus-{i}.txt")).read().split()
    gpus = [int(g) for g in devs.split(",")]
    assert len(gpus) == 4 and total == "4" and all(0 <= g < 8 for g in gpus), (node, devs)
    used[node] += gpus
for node, gpus in used.items():
    assert len(gpus) == len(set(gpus)), (node, sorted(gpus))
PY

# ---- a gang over two emulated nodes ---------------------------------------
id=$(submit -N 2 --gpus-per-node 8 -t 30s -o gang.txt --wrap 'echo "$FLEET_NNODES $FLEET_NODELIST $SLURM_NNODES $CUDA_VISIBLE_DEVICES"')
wait_state "$id" completed && {
    read -r nn nl snn devs <"$W/gang.txt"
    [ "$nn" = 2 ] && [ "$snn" = 2 ] && [ "$devs" = 0,1,2,3,4,5,6,7 ] &&
        [[ $nl =~ ^emu00[0-2],emu00[0-2]$ ]] && [ "${nl%,*}" != "${nl#*,}" ] &&
        ok "gang on 2 nodes: nodelist $nl, 8 GPUs on the first" || fail "gang: $(cat "$W/gang.txt")"
}

# ---- time limit: a tree that ignores SIGTERM ------------------------------
cat >"$W/stubborn.sh" <<'EOF'
#!/bin/bash
trap '' TERM
for i in 1 2 3; do (trap '' TERM; exec sleep 300) & echo $! >>"$1"; done
echo $$ >>"$1"
while :; do sleep 0.2; done
EOF
chmod 755 "$W/stubborn.sh"
t0=$(date +%s.%N)
id=$(submit -G 1 -t 2s --wrap "exec $W/stubborn.sh $W/stubborn.pids")
wait_state "$id" timeout 30 && {
    t1=$(date +%s.%N)
    left=0
    while read -r p; do kill -0 "$p" 2>/dev/null && left=$((left + 1)); done <"$W/stubborn.pids"
    n=$(wc -l <"$W/stubborn.pids")
    took=$(python3 -c "print(round($t1 - $t0, 1))")
    if [ "$n" = 4 ] && [ "$left" = 0 ]; then
        ok "time limit: 4 processes ignoring SIGTERM all killed (ended after ${took}s: 2s + 2s grace)"
    else
        fail "time limit: $left of $n processes survive"
    fi
    python3 -c "import sys; sys.exit(0 if 3.5 <= $t1 - $t0 <= 12 else 1)" ||
        fail "time limit: ended after ${took}s, expected about 4s (limit 2s, grace 2s)"
}

# ---- cancel --------------------------------------------------------------
id=$(submit -G 2 -t 60s --wrap "echo \$\$ >$W/cancel.pid; trap 'echo got-term; exit 0' TERM; sleep 300 & wait")
for _ in $(seq 200); do [ -s "$W/cancel.pid" ] && break; sleep 0.05; done
"$FLEET" cancel "$id" >/dev/null
wait_state "$id" cancelled && {
    sleep 0.3
    p=$(cat "$W/cancel.pid")
    ! kill -0 "$p" 2>/dev/null && grep -q got-term "$W/fleet-$id.out" &&
        ok "cancel: SIGTERM delivered, the job's processes gone" ||
        fail "cancel: pid $p alive or no SIGTERM seen: $(cat "$W/fleet-$id.out")"
}

# ---- the agent killed with SIGKILL and restarted while a job runs ---------
id=$(submit -G 1 -t 60s --wrap 'echo start; sleep 3; echo done; exit 5')
wait_state "$id" running
for _ in $(seq 100); do grep -q start "$W/fleet-$id.out" 2>/dev/null && break; sleep 0.05; done
kill -KILL "$APID"
wait "$APID" 2>/dev/null
sleep 0.5
start_agent --emulate 3 --gpus-per-node 8 --gpu-model H100 "${allow[@]}"
wait_state "$id" failed 20 && {
    code=$(job_field "$id" exit_code)
    [ "$code" = 5 ] && [ "$(cat "$W/fleet-$id.out")" = "$(printf 'start\ndone')" ] &&
        grep -q "job $id.0 on .*: adopted" "$TMP/agent.log" &&
        ok "agent SIGKILLed and restarted: the job ran on, was adopted, its end (exit 5) reported" ||
        fail "agent restart: exit $code, output $(cat "$W/fleet-$id.out"), log: $(grep "job $id" "$TMP/agent.log")"
}

# ---- a clean stop (SIGTERM) leaves jobs running ---------------------------
id=$(submit -G 1 -t 60s --wrap 'echo started; sleep 2; echo survived')
wait_state "$id" running
for _ in $(seq 100); do grep -q started "$W/fleet-$id.out" 2>/dev/null && break; sleep 0.05; done
kill -TERM "$APID"
wait "$APID"
rc=$?
[ "$rc" = 0 ] && ok "agent stops cleanly on SIGTERM (exit 0)" || fail "agent stop: exit $rc"
sleep 2.5
[ "$(job_field "$id" state)" = running ] || fail "job $id ended while no agent ran"
start_agent --emulate 3 --gpus-per-node 8 --gpu-model H100 "${allow[@]}"
if wait_state "$id" completed && grep -qx survived "$W/fleet-$id.out" &&
    grep -q "job $id.0 on .*: ended while the agent was away" "$TMP/agent.log"; then
    ok "a job finished while the agent was stopped: reported at its next start"
else
    fail "the job that ended while the agent was stopped: $(cat "$W/fleet-$id.out" 2>&1)"
fi

# ---- fleetd killed and restarted while a job runs --------------------------
id=$(submit -G 1 -t 60s --wrap 'echo started; sleep 3; echo after-restart')
wait_state "$id" running
for _ in $(seq 100); do grep -q started "$W/fleet-$id.out" 2>/dev/null && break; sleep 0.05; done
kill -KILL "$FPID"
wait "$FPID" 2>/dev/null
sleep 1
start_fleetd
if wait_state "$id" completed 30 && grep -qx after-restart "$W/fleet-$id.out"; then
    ok "fleetd SIGKILLed and restarted: the job ran on and its end was reported"
else
    fail "fleetd restart: $(cat "$W/fleet-$id.out" 2>&1)"
fi
grep -q "cannot reach fleetd" "$TMP/agent.log" && grep -q "connected to fleetd" "$TMP/agent.log" ||
    fail "the agent did not log losing and finding fleetd"

# ---- as root: another user's job, and root's jobs refused by default ------
if [ "$(id -u)" -eq 0 ] && command -v setpriv >/dev/null; then
    U=$TMP/user
    mkdir -p "$U" && chown 65534:65534 "$U"
    chmod 711 "$TMP"
    id=$(cd "$U" && setpriv --reuid=65534 --regid=65534 --clear-groups \
        "$FLEET" submit --parsable -G 1 -t 30s --wrap 'id -u; id -g; echo "$USER"; touch /root/x 2>/dev/null || echo no-root')
    if [ -n "$id" ] && wait_state "$id" completed; then
        out=$U/fleet-$id.out
        owner=$(stat -c %u "$out")
        [ "$(sed -n 1p "$out")" = 65534 ] && [ "$(sed -n 2p "$out")" = 65534 ] &&
            [ "$(sed -n 4p "$out")" = no-root ] && [ "$owner" = 65534 ] &&
            ok "a job of uid 65534 runs as that user (output owned by it, no root rights)" ||
            fail "job as another user: $(cat "$out"), owner $owner"
    else
        fail "submit as uid 65534 failed"
    fi
    kill -TERM "$APID"
    wait "$APID"
    start_agent --emulate 3 --gpus-per-node 8 --gpu-model H100 # no --allow-root
    wait_nodes_up 3
    id=$(submit -G 1 -t 30s --wrap 'echo ran-as-root')
    wait_state "$id" failed && {
        [ ! -e "$W/fleet-$id.out" ] && grep -q "refusing to run a job as root" "$TMP/agent.log" &&
            ok "a root job is refused without --allow-root" ||
            fail "root job: $(cat "$W/fleet-$id.out" 2>&1)"
    }

    # an agent that is not root: no cgroups (and says why), runs its own
    # user's jobs, refuses others'
    kill -TERM "$APID"
    wait "$APID"
    mkdir -p "$TMP/spool-nobody"
    cp "$TMP/state/cluster.key" "$TMP/nobody.key"
    chown 65534:65534 "$TMP/spool-nobody" "$TMP/nobody.key"
    setpriv --reuid=65534 --regid=65534 --clear-groups "$AGENT" --controller "unix:$S" \
        --key-file "$TMP/nobody.key" --spool "$TMP/spool-nobody" --emulate 3 \
        >>"$TMP/agent.log" 2>&1 &
    APID=$!
    for _ in $(seq 100); do
        note=$("$FLEET" nodes --json | python3 -c 'import json,sys; n=json.load(sys.stdin)["nodes"][0]; print(n["cgroup"], n["cgroup_note"]) if n["agent"]["alive"] and n["agent"]["name"] else print("")')
        [[ $note == none* ]] && break
        sleep 0.1
    done
    [[ $note == "none "*"not root"* || $note == "none "*"permission denied"* ]] &&
        ok "an agent that is not root: cgroup none, and fleet nodes says why ($note)" ||
        fail "non-root agent's cgroup note: $note"
    id=$(cd "$U" && setpriv --reuid=65534 --regid=65534 --clear-groups \
        "$FLEET" submit --parsable -G 1 -t 30s --wrap 'id -u')
    if wait_state "$id" completed && [ "$(cat "$U/fleet-$id.out")" = 65534 ]; then
        ok "an agent that is not root runs its own user's job"
    else
        fail "non-root agent, own user's job: $(cat "$U/fleet-$id.out" 2>&1)"
    fi
    id=$(cd "$U" && setpriv --reuid=4321 --regid=4321 --clear-groups \
        "$FLEET" submit --parsable -G 1 -t 30s --wrap 'echo should-not-run')
    if wait_state "$id" failed && grep -q "cannot run jobs as uid 4321" "$TMP/agent.log"; then
        ok "an agent that is not root refuses another user's job"
    else
        fail "non-root agent, root's job: $(grep "job $id" "$TMP/agent.log" "$TMP/fleetd.log")"
    fi
fi

# no sanitizer report from the agent (ASan/UBSan builds)
if grep -q -E "runtime error|AddressSanitizer|LeakSanitizer" "$TMP/agent.log" "$TMP"/spool/*/*/shepherd.log 2>/dev/null; then
    fail "sanitizer report: $(grep -h -A5 -E "runtime error|Sanitizer" "$TMP/agent.log" "$TMP"/spool/*/*/shepherd.log | head -20)"
fi
finish
