# Helpers for the preemption tests on live daemons (test_fleetd_preempt*.sh),
# sourced after agent_common.sh.
#
# preempt_center GRACE: writes $TMP/center.yaml: project llm (tier fm) holds
# a guarantee of 16 GPUs in pool gpu, project vis (tier startup) none; uid
# 65534 (nobody) is llm's member, uid 4321 vis's; preemption with SIGUSR1
# and a grace of GRACE seconds.
preempt_center() {
    cat >"$TMP/center.yaml" <<EOF2
center: test
priority: {calc_period: 0s}
accounts:
  - name: fm
    projects: [{name: llm}]
  - name: startup
    projects: [{name: vis}]
users:
  - {name: nobody, uid: 65534, projects: [llm]}
  - {name: u4321, uid: 4321, projects: [vis]}
guarantees:
  - {account: llm, pool: gpu, gpus: 16}
preemption: {grace: ${1}s, signal: SIGUSR1}
EOF2
}

# preempt_workdir: a directory both users may write, made the current one
# ($W), for the jobs' scripts and the files they leave.
preempt_workdir() {
    W=$TMP/work
    mkdir -p "$W"
    chmod 755 "$TMP"
    chmod 777 "$W"
    cd "$W" || exit 1
}

# as UID CMD...: runs CMD as that user (uid = gid, no other groups).
as() { local u=$1; shift; setpriv --reuid="$u" --regid="$u" --clear-groups "$@"; }

# sub UID ARGS...: submits an 8-GPU job of 10 minutes as UID; prints its id.
sub() {
    local u=$1; shift
    as "$u" "$FLEET" submit --parsable -G 8 -t 10m -o /dev/null "$@"
}
