#!/usr/bin/env bash
# Side-by-side: Debian's Slurm (slurm-wlm + munge) on a one-node cluster on
# localhost against gpufleet's fleetd, measured the same way in one run:
#   - submissions per second, one CLI process per job (sbatch vs fleet submit)
#   - listing N pending jobs (squeue vs fleet queue)
#   - cancelling all of them (scancel --user vs fleet cancel --user)
# Run as root on a disposable machine (it installs and configures Slurm):
#   bash bench/slurm-compare.sh [BUILD_DIR] [JOBS]
# Prints figures and the machine; asserts nothing.
set -euo pipefail
BUILD=${1:-build}
N=${2:-2000}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
case $BUILD in /*) ;; *) BUILD=$ROOT/$BUILD ;; esac
echo "machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) cores"

if ! command -v slurmctld >/dev/null; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq && apt-get install -y -qq slurm-wlm munge >/dev/null
fi
echo "slurm: $(slurmctld -V)"
HOST=$(hostname -s)
CPUS=$(nproc)
mkdir -p /etc/slurm /var/spool/slurmctld /var/spool/slurmd /var/log/slurm
cat >/etc/slurm/slurm.conf <<CONF
ClusterName=bench
SlurmctldHost=$HOST
AuthType=auth/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SlurmctldPidFile=/run/slurmctld.pid
SlurmdPidFile=/run/slurmd.pid
StateSaveLocation=/var/spool/slurmctld
SlurmdSpoolDir=/var/spool/slurmd
SlurmUser=root
MaxJobCount=1000000
ReturnToService=2
NodeName=$HOST CPUs=$CPUS State=UNKNOWN
PartitionName=batch Nodes=$HOST Default=YES MaxTime=INFINITE State=UP
CONF
[ -f /etc/munge/munge.key ] || { dd if=/dev/urandom of=/etc/munge/munge.key bs=1024 count=1 2>/dev/null; }
chown munge:munge /etc/munge/munge.key 2>/dev/null || true; chmod 400 /etc/munge/munge.key
mkdir -p /run/munge && chown munge:munge /run/munge 2>/dev/null || true
pgrep munged >/dev/null || su -s /bin/sh munge -c munged 2>/dev/null || munged --force
pgrep slurmctld >/dev/null || slurmctld -i
pgrep slurmd >/dev/null || slurmd
for _ in $(seq 100); do sinfo >/dev/null 2>&1 && break; sleep 0.2; done
scontrol update nodename="$HOST" state=resume 2>/dev/null || true

rate() { awk -v n="$1" -v a="$2" -v b="$3" 'BEGIN{printf "%.1f", n/(b-a)}'; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN{printf "%.3f", b-a}'; }

echo; echo "== Slurm: $N jobs, held so that they stay pending"
t0=$EPOCHREALTIME
for i in $(seq "$N"); do sbatch --hold --wrap "true" -o /dev/null >/dev/null; done
t1=$EPOCHREALTIME
echo "sbatch:          $(rate "$N" "$t0" "$t1") submissions/s"
t0=$EPOCHREALTIME; squeue -h -t PD | wc -l >/dev/null; t1=$EPOCHREALTIME
echo "squeue pending:  $(secs "$t0" "$t1") s"
t0=$EPOCHREALTIME; scancel --user root; t1=$EPOCHREALTIME
for _ in $(seq 600); do [ "$(squeue -h | wc -l)" = 0 ] && break; sleep 0.1; done
t2=$EPOCHREALTIME
echo "scancel --user:  $(secs "$t0" "$t1") s to return, $(secs "$t0" "$t2") s until the queue is empty"

echo; echo "== gpufleet: $N jobs, held"
D=$(mktemp -d)
printf 'pools:\n  - name: cpu\nnodes:\n  - name: %s\n    pool: cpu\n    gpus: %s\n' "$HOST" "$CPUS" >"$D/c.yaml"
"$BUILD/fleetd" --no-agents --state-dir "$D/state" --socket "$D/s.sock" --config "$D/c.yaml" 2>"$D/log" &
FPID=$!
export FLEET_SOCKET=$D/s.sock
for _ in $(seq 100); do "$BUILD/fleet" status >/dev/null 2>&1 && break; sleep 0.05; done
t0=$EPOCHREALTIME
for i in $(seq "$N"); do "$BUILD/fleet" submit --hold --gpus 1 --wrap "true" --parsable >/dev/null; done
t1=$EPOCHREALTIME
echo "fleet submit:    $(rate "$N" "$t0" "$t1") submissions/s"
t0=$EPOCHREALTIME; "$BUILD/fleet" queue --state pending | wc -l >/dev/null; t1=$EPOCHREALTIME
echo "fleet queue:     $(secs "$t0" "$t1") s"
t0=$EPOCHREALTIME; "$BUILD/fleet" cancel --user root >/dev/null; t1=$EPOCHREALTIME
echo "fleet cancel:    $(secs "$t0" "$t1") s (durable when it returns)"
kill "$FPID"; wait "$FPID" 2>/dev/null || true
rm -rf "$D"
