#!/usr/bin/env python3
"""An independent, deliberately plain implementation of the classic model
(rigid jobs on N identical processors) as the scheduling-core issue states it,
used by the system tests as an oracle for `fleet simulate`.

It counts processors only: no nodes, no placement. fcfs and easy follow the
issue's text; conservative is the textbook rule, "every queued job, in order,
gets the earliest reservation that delays no earlier reservation", computed
afresh in every pass over a profile of free processors (running jobs free
their processors at start + estimate; a job whose earliest start is now
starts now).

usage: classic_model.py TRACE.swf POLICY [--procs N] JOBS.csv SUMMARY.json
"""
import heapq
import json
import sys


def read_swf(path, procs):
    n_hdr = {}
    jobs, dropped = [], 0
    for lineno, line in enumerate(open(path), 1):
        s = line.strip()
        if not s:
            continue
        if s.startswith(';'):
            for key in ('MaxProcs:', 'MaxNodes:'):
                if key in s:
                    try:
                        n_hdr[key] = int(float(s.split(key, 1)[1].split()[0]))
                    except (ValueError, IndexError):
                        pass
            continue
        f = s.split()
        if len(f) < 18:
            raise SystemExit(f"{path}:{lineno}: short line")
        v = {i: int(float(f[i - 1])) for i in (1, 2, 4, 5, 8, 9)}
        size = v[8] if v[8] > 0 else v[5]
        est = v[9] if v[9] > 0 else v[4]
        jobs.append(dict(id=v[1], submit=v[2], run=v[4], size=size, est=est, line=lineno))
    n = procs or n_hdr.get('MaxProcs:') or n_hdr.get('MaxNodes:')
    kept = []
    for j in jobs:
        if j['size'] <= 0 or j['size'] > n or j['run'] < 0 or j['submit'] < 0:
            dropped += 1
        else:
            j['eff'] = min(j['run'], j['est'])
            kept.append(j)
    return n, kept, dropped


def earliest(profile, now, size, length):
    """profile: sorted list of [t, free] steps from now on. Earliest t with
    free >= size on [t, t + length) (length 0 counts as 1 second)."""
    length = max(length, 1)
    i = 0
    while i < len(profile):
        t0 = profile[i][0]
        m = i
        while m < len(profile) and profile[m][0] < t0 + length and profile[m][1] >= size:
            m += 1
        if m == len(profile) or profile[m][0] >= t0 + length:
            return t0
        i = m + 1
    raise AssertionError("no slot")


def subtract(profile, a, b, size):
    def split(t):
        for k, (pt, pf) in enumerate(profile):
            if pt == t:
                return k
            if pt > t:
                profile.insert(k, [t, profile[k - 1][1]])
                return k
        profile.append([t, profile[-1][1]])
        return len(profile) - 1
    i, e = split(a), split(b)
    for k in range(i, e):
        profile[k][1] -= size


def simulate(n, jobs, policy):
    order = sorted(jobs, key=lambda j: (j['submit'], j['id'], j['line']))
    free, queue, running, ends = n, [], [], []
    nxt, seq = 0, 0

    def start(j, now):
        nonlocal free, seq
        j['start'] = now
        free -= j['size']
        running.append(j)
        seq += 1
        heapq.heappush(ends, (now + j['eff'], seq, j))

    while nxt < len(order) or ends:
        now = min(ends[0][0] if ends else float('inf'),
                  order[nxt]['submit'] if nxt < len(order) else float('inf'))
        while ends and ends[0][0] == now:
            _, _, j = heapq.heappop(ends)
            running.remove(j)
            free += j['size']
        while nxt < len(order) and order[nxt]['submit'] == now:
            queue.append(order[nxt])
            nxt += 1
        # one pass
        while queue and queue[0]['size'] <= free:
            start(queue.pop(0), now)
        if policy == 'easy' and queue:
            head = queue[0]
            exp = sorted((r['start'] + r['est'], r['size']) for r in running)
            acc, shadow = free, None
            for e, sz in exp:
                acc += sz
                if acc >= head['size']:
                    shadow = e
                    break
            extra = free + sum(sz for e, sz in exp if e <= shadow) - head['size']
            for j in list(queue[1:]):
                if j['size'] <= free:
                    if now + j['est'] <= shadow:
                        queue.remove(j)
                        start(j, now)
                    elif j['size'] <= extra:
                        queue.remove(j)
                        start(j, now)
                        extra -= j['size']
        elif policy == 'conservative' and queue:
            profile = [[now, free]]
            acc = free
            for e, sz in sorted((r['start'] + r['est'], r['size']) for r in running):
                acc += sz
                if e <= now:
                    profile[0][1] += sz
                elif profile[-1][0] == e:
                    profile[-1][1] = acc
                else:
                    profile.append([e, acc])
            for j in list(queue):
                # a zero-estimate job takes no time: like EASY's "now + 0 <=
                # shadow", it may start whenever its processors are free now
                if j['est'] == 0 and j['size'] <= free:
                    queue.remove(j)
                    start(j, now)
                    continue
                t = earliest(profile, now, j['size'], j['est'])
                if t == now and j['size'] <= free:
                    queue.remove(j)
                    start(j, now)
                    if j['est'] > 0:
                        subtract(profile, now, now + j['est'], j['size'])
                else:
                    # t == now is possible: the profile's first step counts the
                    # processors of jobs that end at this very instant (zero
                    # estimates), which the job may take once they are gone
                    subtract(profile, t, t + max(j['est'], 1), j['size'])
    return jobs


def main():
    args = sys.argv[1:]
    procs = None
    if '--procs' in args:
        k = args.index('--procs')
        procs = int(args[k + 1])
        del args[k:k + 2]
    path, policy, jobs_out, summary_out = args
    n, jobs, dropped = read_swf(path, procs)
    simulate(n, jobs, policy)
    with open(jobs_out, 'w') as f:
        f.write('id,submit,start,end,size\n')
        for j in jobs:
            f.write(f"{j['id']},{j['submit']},{j['start']},{j['start'] + j['eff']},{j['size']}\n")
    waits = sorted(j['start'] - j['submit'] for j in jobs)
    k = len(waits)
    first = min(j['submit'] for j in jobs)
    last = max(j['start'] + j['eff'] for j in jobs)
    makespan = last - first
    rank = 0.95 * (k - 1)
    lo = int(rank)
    hi = min(lo + 1, k - 1)
    summary = dict(
        jobs=k, dropped=dropped, makespan=makespan,
        utilization=sum(j['size'] * j['eff'] for j in jobs) / (n * makespan) if makespan else 0,
        mean_wait=sum(waits) / k,
        median_wait=waits[k // 2] if k % 2 else (waits[k // 2 - 1] + waits[k // 2]) / 2,
        p95_wait=waits[lo] + (waits[hi] - waits[lo]) * (rank - lo),
        mean_bounded_slowdown=sum(max(1, (j['start'] - j['submit'] + j['eff']) / max(j['eff'], 10))
                                  for j in jobs) / k)
    json.dump(summary, open(summary_out, 'w'), indent=2)


if __name__ == '__main__':
    main()
