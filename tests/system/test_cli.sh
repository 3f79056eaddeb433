#!/usr/bin/env bash
# The fleet client commands against a real fleetd: a controller started on a
# temporary socket with examples/cluster-small.yaml (19 nodes, 152 GPUs, no
# agents, so started jobs stay running), driven only through the CLI.
# Checks output, --json, filters, and the exit codes scripts rely on:
# 0 done, 1 refused / not found, 2 usage error, 3 fleetd unreachable.
source "$(dirname "$0")/common.sh" "$@"

FLEETD=$BUILD/fleetd
[ -x "$FLEETD" ] || { echo "FAIL: $FLEETD not built"; exit 1; }
SOCK=$TMP/fleetd.sock
export FLEET_SOCKET=$SOCK
unset FLEET_URL FLEET_TOKEN

"$FLEETD" --no-agents --state-dir "$TMP/state" --socket "$SOCK" --config "$ROOT/examples/cluster-small.yaml" \
    --interval 1 >"$TMP/fleetd.log" 2>&1 &
FLEETD_PID=$!
trap 'kill "$FLEETD_PID" 2>/dev/null; wait "$FLEETD_PID" 2>/dev/null; rm -rf "$TMP"' EXIT

for _ in $(seq 100); do
    "$FLEET" status >/dev/null 2>&1 && break
    kill -0 "$FLEETD_PID" 2>/dev/null || break
    sleep 0.1
done
if ! "$FLEET" status >"$TMP/status" 2>&1; then
    echo "FAIL: fleetd did not come up"; cat "$TMP/status" "$TMP/fleetd.log"; exit 1
fi
ok "fleetd up: $(grep '^gpus:' "$TMP/status")"

# expect_rc NAME RC PATTERN CMD...: exit status RC and stdout+stderr matching PATTERN.
expect_rc() {
    local name=$1 want=$2 pat=$3; shift 3
    "$@" >"$TMP/out" 2>&1
    local rc=$?
    if [ "$rc" -ne "$want" ]; then
        fail "$name: exit $rc, expected $want: $(head -c 300 "$TMP/out")"
    elif ! grep -Eq -- "$pat" "$TMP/out"; then
        fail "$name: output does not match /$pat/: $(head -c 300 "$TMP/out")"
    else
        ok "$name: $(head -n 1 "$TMP/out" | head -c 160)"
    fi
}
# field ID KEY: the value of "KEY:" in fleet show ID
field() { "$FLEET" show "$1" | sed -n "s/^$2: *//p"; }
# valid_json FILE KEY: the file is a JSON object with KEY
valid_json() { python3 -c 'import json,sys; assert sys.argv[2] in json.load(open(sys.argv[1]))' "$1" "$2"; }

# ---- status -----------------------------------------------------------------
expect_rc "status" 0 '^policy: +easy' "$FLEET" status
"$FLEET" status --json >"$TMP/st.json" && valid_json "$TMP/st.json" you &&
    ok "status --json" || fail "status --json: $(cat "$TMP/st.json")"

# ---- submit: directives, then options over them -------------------------------
cat >"$TMP/train.sh" <<'EOF'
#!/bin/bash
#SBATCH --job-name=train
#SBATCH -N 2 --gpus-per-node=8
#SBATCH -t 2:00:00
#FLEET --pool h100
# a comment; directives go on until the first command
echo "training on $(hostname)"
EOF
expect_rc "submit script" 0 '^Submitted job [0-9]+$' "$FLEET" submit "$TMP/train.sh"
J1=$(sed -n 's/^Submitted job //p' "$TMP/out")
[ "$(field "$J1" name)" = train ] && [ "$(field "$J1" pool)" = h100 ] &&
    [ "$(field "$J1" gpus)" = "16 (2 nodes x 8)" ] && [ "$(field "$J1" time_limit)" = 2h00m ] &&
    ok "directives applied" || fail "directives: $("$FLEET" show "$J1")"
"$FLEET" show "$J1" >"$TMP/show"
grep -q '^script:$' "$TMP/show" && grep -q 'echo "training on' "$TMP/show" &&
    grep -q "^workdir: *$PWD\$" "$TMP/show" && grep -Eq '^env: +[1-9][0-9]* variables' "$TMP/show" &&
    ok "show: script, workdir, environment" || fail "show: $(cat "$TMP/show")"

J2=$("$FLEET" submit --parsable -N 1 -t 30 -J tuned "$TMP/train.sh")
[[ $J2 =~ ^[0-9]+$ ]] && ok "--parsable: $J2" || fail "--parsable printed '$J2'"
[ "$(field "$J2" name)" = tuned ] && [ "$(field "$J2" gpus)" = "8 (1 nodes x 8)" ] &&
    [ "$(field "$J2" time_limit)" = 30m00s ] &&
    ok "command line overrides directives" || fail "override: $("$FLEET" show "$J2")"

printf '#!/bin/sh\n#SBATCH --gpus 1 -p npu\nhostname\n' >"$TMP/stdin.sh"
expect_rc "submit from stdin" 0 '^Submitted job' "$FLEET" submit - <"$TMP/stdin.sh"
J3=$(sed -n 's/^Submitted job //p' "$TMP/out")
[ "$(field "$J3" pool)" = npu ] && ok "stdin script directives" || fail "stdin: $("$FLEET" show "$J3")"

expect_rc "submit array" 0 '^Submitted array job [0-9]+ \(4 tasks\)$' \
    "$FLEET" submit --array 0-3 --gpus 1 --pool npu --wrap 'echo task'
JA=$(sed -n 's/^Submitted array job \([0-9]*\).*/\1/p' "$TMP/out")
expect_rc "submit --hold" 0 '^Submitted job' \
    "$FLEET" submit --hold --gpus 2 -p h200 --wrap 'sleep 1' --export=NONE,FOO=bar
JH=$(sed -n 's/^Submitted job //p' "$TMP/out")
[ "$(field "$JH" env)" = "1 variables" ] && ok "--export=NONE sends only the listed variables" ||
    fail "export: $("$FLEET" show "$JH" | grep ^env)"
JN=$("$FLEET" submit --parsable -J 'say "hi" 训练' --gpus 1 -p npu --wrap true)
# h200 has 8 nodes of 8 GPUs: JB takes 4 of them, so JP (8 nodes) waits for JB
JB=$("$FLEET" submit --parsable -N 4 --gpus-per-node 8 -p h200 -t 1h --wrap 'sleep 1')
JP=$("$FLEET" submit --parsable -N 8 --gpus-per-node 8 -p h200 -t 1h --wrap 'sleep 1')

expect_rc "requeue" 0 "^Job $J3 requeued\$" "$FLEET" requeue "$J3"

# ---- queue ------------------------------------------------------------------
# wait for a scheduling pass: the requeued job runs again, JP has its estimated start
for _ in $(seq 100); do
    "$FLEET" queue >"$TMP/q"
    [ "$(grep -c ' pending ' "$TMP/q")" -eq 2 ] &&
        grep -Eq "^ *$JP .* [0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}$" "$TMP/q" && break
    sleep 0.1
done
head -n 1 "$TMP/q" | grep -Eq '^ *ID +NAME +USER +ACCOUNT +POOL +STATE +GPUS +NODES +TIME +REASON/NODELIST +START$' &&
    ok "queue header" || fail "queue header: $(head -n 1 "$TMP/q")"
n=$(($(wc -l <"$TMP/q") - 1))
[ "$n" -eq 11 ] && ok "queue: 11 active jobs" || fail "queue: $n rows: $(cat "$TMP/q")"
grep -Eq "^ *$J1 +train .* running +16 +2 " "$TMP/q" && ok "queue: running gang" ||
    fail "queue row of $J1: $(cat "$TMP/q")"
grep -Eq "^ *$JH .* pending .*\(held\)" "$TMP/q" && ok "queue: held job" ||
    fail "queue row of $JH: $(cat "$TMP/q")"
grep -Eq "^ *$JP .* pending +64 +8 +1h00m +\(resources\) +[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}$" "$TMP/q" &&
    ok "queue: pending job with its estimated start" || fail "queue row of $JP: $(cat "$TMP/q")"
grep -Eq "^ *$JN +say \"hi\" 训练 +root " "$TMP/q" && ok "queue: a name with quotes and CJK" ||
    fail "queue row of $JN: $(grep -E "^ *$JN " "$TMP/q")"
n=$("$FLEET" queue --pool npu | tail -n +2 | wc -l)
[ "$n" -eq 6 ] && ok "queue --pool npu: 6" || fail "queue --pool npu: $n rows"
n=$("$FLEET" queue --state pending | tail -n +2 | wc -l)
[ "$n" -eq 2 ] && ok "queue --state pending: 2" || fail "queue --state pending: $n rows"
n=$("$FLEET" queue --me -n 3 | tail -n +2 | wc -l)
[ "$n" -eq 3 ] && ok "queue --me --limit 3" || fail "queue --me -n 3: $n rows"
n=$("$FLEET" queue --user nobody-here | tail -n +2 | wc -l)
[ "$n" -eq 0 ] && ok "queue --user (no such user): header only" || fail "queue --user: $n rows"
"$FLEET" queue --json --pool npu >"$TMP/q.json" &&
    python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["count"]==6 and len(d["jobs"])==6' "$TMP/q.json" &&
    ok "queue --json" || fail "queue --json: $(head -c 300 "$TMP/q.json")"
"$FLEET" show "$J1" --json >"$TMP/s.json" && valid_json "$TMP/s.json" request &&
    ok "show --json" || fail "show --json: $(head -c 300 "$TMP/s.json")"

# ---- hold, release, requeue, cancel -------------------------------------------
expect_rc "hold" 0 "^Job $JP held\$" "$FLEET" hold "$JP"
[ "$(field "$JP" reason)" = held ] && [ "$(field "$JP" held)" = yes ] && ok "held: reason held" ||
    fail "held: $("$FLEET" show "$JP" | grep -E '^(state|reason|held):')"
expect_rc "release" 0 "^Job $JP released\$" "$FLEET" release "$JP"
[ "$(field "$JP" held)" = no ] && [ "$(field "$JP" state)" = pending ] &&
    ok "released: pending, not held" || fail "released: $("$FLEET" show "$JP" | grep -E '^(state|held):')"
expect_rc "hold a running job" 1 "^fleet hold: .*only pending jobs" "$FLEET" hold "$J1"
expect_rc "hold a missing job" 1 "^fleet hold: .*no job 999999" "$FLEET" hold 999999
expect_rc "cancel one" 0 "^Cancelled job $J2\$" "$FLEET" cancel "$J2"
expect_rc "cancel many, one missing" 1 "Cancelled 2 jobs.*|1 job not found" \
    "$FLEET" cancel "$JA" $((JA + 1)) 999999
grep -q "1 job not found" "$TMP/out" && ok "cancel names what was not found" ||
    fail "cancel: $(cat "$TMP/out")"
expect_rc "cancel a missing job" 1 "^fleet cancel: no job 999999" "$FLEET" cancel 999999
expect_rc "cancel --user --state pending" 0 "^Cancelled 2 jobs" \
    "$FLEET" cancel --user "$(id -un)" --state pending
n=$("$FLEET" queue --state pending | tail -n +2 | wc -l)
[ "$n" -eq 0 ] && ok "no pending job left" || fail "pending after cancel: $n"
"$FLEET" history >"$TMP/h"
head -n 1 "$TMP/h" | grep -Eq '^ *ID +NAME +USER +STATE +EXIT +GPU-HOURS +START +END$' &&
    grep -Eq "^ *$J2 +tuned +.* cancelled " "$TMP/h" && [ "$(tail -n +2 "$TMP/h" | wc -l)" -eq 5 ] &&
    ok "history: 5 finished jobs" || fail "history: $(cat "$TMP/h")"
"$FLEET" history --json >"$TMP/h.json" && valid_json "$TMP/h.json" jobs &&
    ok "history --json" || fail "history --json"

# ---- nodes --------------------------------------------------------------------
"$FLEET" nodes >"$TMP/n"
head -n 1 "$TMP/n" | grep -Eq '^NAME +POOL +BLOCK +STATE +GPUS +FREE +JOBS +CGROUP +REASON$' &&
    [ "$(tail -n +2 "$TMP/n" | wc -l)" -eq 19 ] && ok "nodes: 19" || fail "nodes: $(cat "$TMP/n")"
n=$("$FLEET" nodes --pool npu | tail -n +2 | wc -l)
[ "$n" -eq 3 ] && ok "nodes --pool npu: 3" || fail "nodes --pool npu: $n"
"$FLEET" nodes --json >"$TMP/n.json" && valid_json "$TMP/n.json" nodes && ok "nodes --json" ||
    fail "nodes --json"
if [ "$(id -u)" -eq 0 ]; then
    expect_rc "drain" 0 '^Node npu002: drain$' "$FLEET" drain npu002 --reason "fan failure"
    "$FLEET" nodes --state drain >"$TMP/n"
    [ "$(tail -n +2 "$TMP/n" | wc -l)" -eq 1 ] && grep -Eq '^npu002 +npu +npu-blk +drain ' "$TMP/n" &&
        ok "nodes --state drain" || fail "nodes --state drain: $(cat "$TMP/n")"
    expect_rc "resume" 0 '^Node npu002: up$' "$FLEET" resume npu002
    expect_rc "drain a missing node" 1 '^fleet drain: .*no node "nosuch"' "$FLEET" drain nosuch
else
    expect_rc "drain (not an operator)" 1 'operators only' "$FLEET" drain npu002
fi

# ---- errors and exit codes --------------------------------------------------
expect_rc "unknown option" 2 '^fleet submit: unknown option --frob' \
    "$FLEET" submit --frob --wrap x --gpus 1
expect_rc "bad option value" 2 '^fleet submit: --time: .*"abc"' \
    "$FLEET" submit --time abc --wrap x --gpus 1
expect_rc "option without value" 2 '^fleet queue: --state: needs a value' "$FLEET" queue --state
expect_rc "bad state" 2 '^fleet queue: --state: unknown state "bogus"' "$FLEET" queue --state bogus
expect_rc "no GPUs" 2 '^fleet submit: gpus: ' "$FLEET" submit --wrap x
expect_rc "not a job id" 2 '^fleet show: not a job id: "12x"' "$FLEET" show 12x
expect_rc "missing job" 1 '^fleet show: .*no job 999999' "$FLEET" show 999999
expect_rc "refused by fleetd" 1 '^fleet submit: gpus: ' \
    "$FLEET" submit --gpus 100000 -p npu --wrap x
printf '#!/bin/bash\n#SBATCH --gpus 1\n#SBATCH --time=abc\nhostname\n' >"$TMP/bad.sh"
expect_rc "broken directive" 2 "^fleet submit: $TMP/bad.sh:3: #SBATCH --time=abc: " \
    "$FLEET" submit "$TMP/bad.sh"
printf 'hostname\n' >"$TMP/noshebang.sh"
expect_rc "script without #!" 2 'noshebang.sh:1: .*#!' "$FLEET" submit --gpus 1 "$TMP/noshebang.sh"
expect_rc "missing script" 2 '^fleet submit: .*nonexistent.sh: No such file' \
    "$FLEET" submit "$TMP/nonexistent.sh"
expect_rc "dead socket" 3 \
    "^fleet: cannot reach fleetd at $TMP/dead.sock: No such file or directory; is fleetd running\? \(set FLEET_SOCKET or --socket\)" \
    "$FLEET" queue --socket "$TMP/dead.sock"
expect_rc "dead socket (env)" 3 "cannot reach fleetd at $TMP/dead.sock" \
    env FLEET_SOCKET="$TMP/dead.sock" "$FLEET" submit --wrap x --gpus 1
expect_rc "help" 0 '^usage: fleet submit' "$FLEET" submit --help

# ---- fleetd stops: the CLI says so ---------------------------------------------
kill "$FLEETD_PID"
wait "$FLEETD_PID" 2>/dev/null
expect_rc "fleetd stopped" 3 "^fleet: cannot reach fleetd at $SOCK" "$FLEET" status
finish
