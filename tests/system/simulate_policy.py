#!/usr/bin/env python3
"""Workloads and checks for tests/system/test_simulate_policy.sh.

  simulate_policy.py gen-fairshare OUT.csv
      two projects, hi and lo, submit the same stream of 2-GPU jobs of 30 to
      90 minutes, together four times what a 32-GPU pool can run
  simulate_policy.py check-fairshare JOBS_OUT.csv SUMMARY.json
      hi (3 shares) waits less than lo (1 share), and while both are
      backlogged the GPU-hours delivered are within 10% of 3:1
  simulate_policy.py gen-alloc OUT.csv
      capped: eight 8-GPU one-hour jobs against a 20 GPU-hour allocation;
      late: jobs queued behind a filler project when its allocation expires,
      and jobs submitted after; limited: 8-GPU jobs in a QOS allowing 16
      running GPUs per project
  simulate_policy.py check-alloc TRACE.csv JOBS_OUT.csv SUMMARY.json
      the refusals, withdrawals and limits each rule implies

Each check prints what it measured and exits 1 on a violation.
"""
import csv
import json
import sys

HEADER = "id,submit,run,time_limit,gpus,pool,user,account,qos\n"


NFAIR = 1600


def gen_fairshare(out):
    # the j-th job of hi and of lo are alike: 2 GPUs, 30 to 90 minutes (varied
    # so that ends do not fall together), one job a minute in turn
    with open(out, "w") as f:
        f.write(HEADER)
        for k in range(NFAIR):
            project, user = ("hi", 1) if k % 2 == 0 else ("lo", 2)
            run = 1800 + (k // 2 * 7919) % 3600
            f.write(f"{k + 1},{k * 60},{run},{run},2,gpu,{user},{project},\n")


def read_jobs(path):
    with open(path) as f:
        return {int(r["id"]): r for r in csv.DictReader(f)}


def project_of(job_id):
    return "hi" if (job_id - 1) % 2 == 0 else "lo"


def check_fairshare(jobs_out, summary):
    s = json.load(open(summary))
    projects = {p["name"]: p for p in s["accounts"]["projects"]}
    hi, lo = projects["hi"], projects["lo"]
    bad = []
    print(f"mean wait: hi {hi['mean_wait']:.0f} s, lo {lo['mean_wait']:.0f} s")
    if not hi["mean_wait"] < lo["mean_wait"]:
        bad.append("hi (3 shares) does not wait less than lo (1 share)")
    if hi["jobs"] != NFAIR // 2 or lo["jobs"] != NFAIR // 2:
        bad.append(f"every job should run: hi {hi['jobs']}, lo {lo['jobs']}")
    # GPU-seconds delivered in the window where both are backlogged: from the
    # first hour (the queue has formed) to the last submission
    t0, t1 = 3600, (NFAIR - 1) * 60
    got = {"hi": 0, "lo": 0}
    for jid, r in read_jobs(jobs_out).items():
        a, b = max(int(r["start"]), t0), min(int(r["end"]), t1)
        if b > a:
            got[project_of(jid)] += (b - a) * int(r["size"])
    ratio = got["hi"] / got["lo"] if got["lo"] else float("inf")
    print(f"GPU-hours while both wait: hi {got['hi'] / 3600:.1f}, lo {got['lo'] / 3600:.1f}, "
          f"ratio {ratio:.3f} (shares 3:1)")
    if abs(ratio - 3) > 0.3:
        bad.append(f"ratio {ratio:.3f} not within 10% of 3")
    return bad


def gen_alloc(out):
    rows = []
    # capped: 8 GPUs x 1 h each = 8 GPU-hours; 20 GPU-hours admit two
    for k in range(8):
        rows.append((k * 600, 3600, 3600, 8, "gpu", 10, "capped", ""))
    # filler fills the other pool (16 GPUs) for 4 h at 0; late's jobs wait
    # behind it; its allocation ends at 5000
    for k in range(2):
        rows.append((0, 4 * 3600, 4 * 3600, 8, "npu", 11, "filler", ""))
    for k in range(3):
        rows.append((10 + k, 1800, 1800, 8, "npu", 12, "late", ""))
    rows.append((6000, 600, 600, 8, "npu", 12, "late", ""))  # after the end: refused
    # limited: six 8-GPU jobs at once under a QOS of 16 running GPUs per project
    for k in range(6):
        rows.append((100, 1000, 1000, 8, "gpu", 13, "limited", "small"))
    with open(out, "w") as f:
        f.write(HEADER)
        for i, r in enumerate(rows):
            f.write(",".join(str(x) for x in (i + 1,) + r) + "\n")


def check_alloc(trace, jobs_out, summary):
    s = json.load(open(summary))["accounts"]
    projects = {p["name"]: p for p in s["projects"]}
    with open(trace) as f:
        tr = {int(r["id"]): r for r in csv.DictReader(f)}
    jobs = read_jobs(jobs_out)
    bad = []
    capped, late, limited = projects["capped"], projects["late"], projects["limited"]
    print(f"capped: {capped['jobs']} ran, {capped['refused']} refused; "
          f"late: {late['jobs']} ran, {late['refused']} refused, {late['withdrawn']} withdrawn")
    if (capped["jobs"], capped["refused"]) != (2, 6):
        bad.append(f"capped: want 2 run, 6 refused, got {capped['jobs']}, {capped['refused']}")
    if (late["jobs"], late["refused"], late["withdrawn"]) != (0, 1, 3):
        bad.append("late: want 0 run, 1 refused (after the end), 3 withdrawn (pending at the end)")
    allocs = {a["name"]: a for a in s["allocations"]}
    c = allocs["capped-trial"]
    print(f"capped-trial: used {c['used']}, reserved {c['reserved']}, left {c['left']}")
    if abs(c["used"] - 16.0) > 1e-9 or abs(c["left"] - 4.0) > 1e-9 or c["reserved"] != 0:
        bad.append(f"capped-trial ledger: {c}")
    if s["refused"] != 7 or s["withdrawn"] != 3:
        bad.append(f"totals: refused {s['refused']}, withdrawn {s['withdrawn']}")
    # limited: never more than 16 running GPUs (two jobs) at once
    events = []
    for jid, r in jobs.items():
        if tr[jid]["account"] == "limited":
            events += [(int(r["start"]), 8), (int(r["end"]), -8)]
    run = peak = 0
    for _, d in sorted(events, key=lambda e: (e[0], e[1])):
        run += d
        peak = max(peak, run)
    print(f"limited: {limited['jobs']} ran, peak {peak} running GPUs (QOS limit 16)")
    if limited["jobs"] != 6 or peak != 16:
        bad.append(f"limited: want 6 run with a peak of 16 GPUs, got {limited['jobs']}, {peak}")
    # no job ran past its limit or was cut short: policy never kills
    for jid, r in jobs.items():
        if int(r["end"]) - int(r["start"]) != int(tr[jid]["run"]):
            bad.append(f"job {jid} ran {int(r['end']) - int(r['start'])} s, not {tr[jid]['run']}")
    return bad


def main():
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "gen-fairshare":
        gen_fairshare(*args)
    elif cmd == "gen-alloc":
        gen_alloc(*args)
    else:
        bad = check_fairshare(*args) if cmd == "check-fairshare" else check_alloc(*args)
        for b in bad:
            print("violation:", b)
        sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
