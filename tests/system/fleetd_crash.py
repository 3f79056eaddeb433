#!/usr/bin/env python3
"""Crash test of fleetd's durability.

8 clients submit jobs as fast as they can while fleetd is killed with
SIGKILL at random moments and restarted, ROUNDS times over. Every job whose
submission was acknowledged (201 with an id) must afterwards exist exactly
once, with its fields intact; a submission that got no answer may or may not
exist, but at most once.

usage: fleetd_crash.py FLEETD CONFIG WORKDIR [ROUNDS]"""
import os
import random
import signal
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fleetclient import call  # noqa: E402

fleetd, config, work = sys.argv[1:4]
rounds = int(sys.argv[4]) if len(sys.argv) > 4 else 12
extra = sys.argv[5:]  # more fleetd options (e.g. --postgres CONNINFO)
state = os.path.join(work, "state")
sock = os.path.join(work, "fleetd.sock")
rng = random.Random(42)
acked = {}          # id -> (name, gpus, time_limit)
acked_lock = threading.Lock()
unanswered = set()  # names sent without an answer
stop = threading.Event()


def start():
    p = subprocess.Popen([fleetd, "--no-agents", "--state-dir", state, "--socket", sock, "--config", config,
                          "--interval", "1"] + extra, stdout=subprocess.DEVNULL,
                         stderr=open(os.path.join(work, "fleetd.log"), "a"))
    for _ in range(200):
        try:
            if call(sock, "GET", "/v1/status")[0] == 200:
                return p
        except OSError:
            time.sleep(0.02)
    raise SystemExit("fleetd did not come up")


def client(k):
    n = 0
    while not stop.is_set():
        n += 1
        name = f"c{k}-{n}"
        gpus = 1 + (n % 8)
        limit = 60 + n
        try:
            st, body = call(sock, "POST", "/v1/jobs",
                            {"wrap": f"echo {name}", "name": name, "gpus": gpus, "time_limit": limit})
        except OSError:
            unanswered.add(name)
            time.sleep(0.01)
            continue
        if st == 201:
            with acked_lock:
                if body["id"] in acked:
                    print(f"FAIL: id {body['id']} acknowledged twice")
                    os._exit(1)
                acked[body["id"]] = (name, gpus, limit)
        else:
            unanswered.add(name)


p = start()
threads = [threading.Thread(target=client, args=(k,)) for k in range(8)]
for t in threads:
    t.start()
for r in range(rounds):
    time.sleep(rng.uniform(0.1, 0.6))
    p.send_signal(signal.SIGKILL)
    p.wait()
    time.sleep(rng.uniform(0, 0.05))
    p = start()
time.sleep(0.3)
stop.set()
for t in threads:
    t.join()
st, body = call(sock, "GET", "/v1/jobs?state=pending,running,completed,failed,cancelled,timeout,node_fail")
jobs = body["jobs"]
by_name = {}
for j in jobs:
    by_name.setdefault(j["name"], []).append(j)
bad = 0
for jid, (name, gpus, limit) in acked.items():
    have = by_name.get(name, [])
    if len(have) != 1:
        print(f"FAIL: acknowledged job {jid} ({name}) exists {len(have)} times")
        bad += 1
        continue
    j = have[0]
    if (j["id"], j["gpus"], j["time_limit"]) != (jid, gpus, limit):
        print(f"FAIL: job {jid} ({name}) changed: {j}")
        bad += 1
for name, have in by_name.items():
    if len(have) > 1:
        print(f"FAIL: {name} stored {len(have)} times")
        bad += 1
p.send_signal(signal.SIGTERM)
p.wait()
print(f"{rounds} kills, {len(acked)} acknowledged submissions all intact; "
      f"{len(unanswered)} unanswered, {len(jobs)} jobs stored")
sys.exit(1 if bad or not acked else 0)
