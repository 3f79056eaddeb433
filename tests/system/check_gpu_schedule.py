#!/usr/bin/env python3
"""check_gpu_schedule.py TRACE.csv JOBS_OUT.csv CAPACITY_SPEC

Checks a GPU-cluster schedule written by `fleet simulate --jobs-out`:
  - every job starts at or after its submit time, and ends at
    start + min(run, time_limit);
  - at no instant does any node hold more GPUs than it has;
  - a job runs in one of its allowed pools and on as many nodes as it asked
    (multi-node gangs on whole nodes);
  - every node of a job is placed at the same start (gangs start together).
CAPACITY_SPEC: "N" (every node has N GPUs) or a path to an Alibaba node list.
Prints what is wrong and exits 1, or exits 0."""
import csv
import sys
from collections import defaultdict

trace_path, out_path, cap_spec = sys.argv[1:4]
if cap_spec.isdigit():
    cap = defaultdict(lambda: int(cap_spec))
else:
    cap = {r['sn']: int(r['gpu']) for r in csv.DictReader(open(cap_spec))}


def trace_rows(path):
    lines = [l for l in open(path) if not l.startswith('#') and l.strip()]
    return list(csv.DictReader(lines))


jobs = {}
rows = trace_rows(trace_path)
for r in rows:
    if 'name' in r:  # Alibaba pod list
        jid = int(r['name'].rsplit('-', 1)[1])
        run = (int(r['deletion_time'] or 0) - int(r['scheduled_time'])) if r['scheduled_time'] else \
              (int(r['deletion_time'] or 0) - int(r['creation_time']))
        jobs[jid] = dict(submit=int(r['creation_time']), eff=max(run, 0), pools=r.get('gpu_spec', ''),
                         nodes=0)
    else:
        run = int(r['run'])
        lim = int(r['time_limit']) if r.get('time_limit') else run
        lim = lim if lim > 0 else run
        jobs[int(r['id'])] = dict(submit=int(r['submit']), eff=min(run, lim), pools=r.get('pool', ''),
                                  nodes=int(r['nodes']) if r.get('nodes') else 0)

errors = []
events = []
seen = 0
for r in csv.DictReader(open(out_path)):
    seen += 1
    jid, start, end = int(r['id']), int(r['start']), int(r['end'])
    j = jobs[jid]
    if start < j['submit']:
        errors.append(f"job {jid} starts at {start} before its submit {j['submit']}")
    if end != start + j['eff']:
        errors.append(f"job {jid} ends at {end}, expected {start + j['eff']}")
    if j['pools'] and r['pool'] not in j['pools'].split('|'):
        errors.append(f"job {jid} ran in pool {r['pool']}, allowed {j['pools']}")
    placed = [p.rsplit(':', 1) for p in r['nodes'].split(';')]
    if j['nodes'] and len(placed) != j['nodes']:
        errors.append(f"job {jid} asked {j['nodes']} nodes, got {len(placed)}")
    if len(placed) > 1:
        for n, g in placed:
            if int(g) != cap[n]:
                errors.append(f"job {jid}: gang member {n} not whole ({g} of {cap[n]} GPUs)")
    if sum(int(g) for _, g in placed) != int(r['size']):
        errors.append(f"job {jid}: size {r['size']} is not the sum of its nodes' GPUs")
    if end > start:
        for n, g in placed:
            events.append((start, 1, n, int(g), jid))
            events.append((end, 0, n, -int(g), jid))
events.sort()  # at one instant, ends (0) before starts (1)
use = defaultdict(int)
for t, _, n, g, jid in events:
    use[n] += g
    if use[n] > cap[n]:
        errors.append(f"t={t}: node {n} holds {use[n]} GPUs > {cap[n]} (job {jid})")
        break
if seen == 0:
    errors.append("no jobs in output")
for e in errors[:20]:
    print(e)
sys.exit(1 if errors else 0)
