"""fleetd's side of the agent protocol, driven by a fake agent written here
from docs/agent-protocol.md alone (so the test also checks the document):
MACs and nonces, registration, long polls, launches with disjoint GPUs,
ends and acks, kills after a cancel, an unknown node, a lost node whose job
is requeued and launched again as its next run.

usage: agent_proto.py FLEETD WORKDIR"""
import hashlib
import hmac
import json
import os
import struct
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fleetclient import UnixHTTPConnection, call  # noqa: E402

FAILS = 0


def check(name, cond, detail=""):
    global FAILS
    if cond:
        print("ok: " + name)
    else:
        FAILS += 1
        print("FAIL: %s %s" % (name, detail))


def mac(key, ctx, nonce, body):
    return hmac.new(key, ctx.encode() + b"\0" + struct.pack("<Q", nonce) + body,
                    hashlib.sha256).hexdigest()


class Agent:
    def __init__(self, sock, key, name):
        self.sock, self.key, self.name = sock, key, name
        self.nonce = time.time_ns()

    def sync(self, msg, key=None, nonce=None, wait_ms=0, raw_mac=None):
        """Returns (status, reply dict or error body, elapsed seconds)."""
        msg = dict(msg)
        msg.setdefault("version", 1)
        msg.setdefault("agent", self.name)
        msg.setdefault("boot", 1)
        msg.setdefault("last_seq", 0)
        msg["wait_ms"] = wait_ms
        body = json.dumps(msg).encode()
        if nonce is None:
            self.nonce += 1
            nonce = self.nonce
        m = raw_mac if raw_mac is not None else mac(key or self.key, "gpufleet/agent/sync/v1",
                                                    nonce, body)
        c = UnixHTTPConnection(self.sock, timeout=30)
        t0 = time.time()
        c.request("POST", "/v1/agent/sync", body=body,
                  headers={"X-Fleet-Agent": self.name, "X-Fleet-Nonce": str(nonce),
                           "X-Fleet-MAC": m, "Content-Type": "application/json"})
        r = c.getresponse()
        raw = r.read()
        dt = time.time() - t0
        rmac = r.getheader("X-Fleet-MAC")
        c.close()
        out = json.loads(raw) if raw else None
        if r.status == 200:
            want = mac(self.key, "gpufleet/agent/sync-reply/v1", nonce, raw)
            check("reply MAC verifies (nonce %d)" % nonce, rmac == want, str(rmac))
        return r.status, out, dt


def node_cmds(reply, name):
    for n in (reply or {}).get("nodes", []):
        if n.get("name") == name:
            return n
    return {}


def inventory(gpus):
    return {"gpus": gpus, "cpus": 16, "mem_mb": 64000, "model": "H100", "addr": "127.0.0.1",
            "cgroup": "none", "note": "test", "source": "emulated"}


def main():
    fleetd, work = sys.argv[1], sys.argv[2]
    cfg = os.path.join(work, "c.yaml")
    with open(cfg, "w") as f:
        f.write("pools:\n  - name: h100\n    model: H100\nblocks:\n  - name: b0\n    nodes: 2\n"
                "    pool: h100\n    gpus_per_node: 4\n    cpus_per_node: 16\n"
                "    memory_gb_per_node: 64\n    name_prefix: n\n")
    sock = os.path.join(work, "f.sock")
    log = open(os.path.join(work, "fleetd.log"), "w")
    p = subprocess.Popen([fleetd, "--state-dir", os.path.join(work, "state"), "--socket", sock,
                          "--config", cfg, "--node-timeout", "2", "--interval", "1"],
                         stdout=log, stderr=log)
    try:
        for _ in range(400):
            try:
                if call(sock, "GET", "/v1/status")[0] == 200:
                    break
            except OSError:
                time.sleep(0.05)
        key = open(os.path.join(work, "state", "cluster.key"), "rb").read()
        run(sock, key)
    finally:
        p.terminate()
        p.wait()
        log.close()
    if FAILS:
        print(open(os.path.join(work, "fleetd.log")).read()[-3000:])
        print("%d check(s) failed" % FAILS)
        sys.exit(1)


def job(sock, jid):
    return call(sock, "GET", "/v1/jobs/%d" % jid)[1]


def wait_state(sock, jid, state, secs=8):
    t = time.time() + secs
    while time.time() < t:
        j = job(sock, jid)
        if j.get("state") == state:
            return j
        time.sleep(0.05)
    return job(sock, jid)


def run(sock, key):
    st, nodes = call(sock, "GET", "/v1/nodes")
    check("nodes wait for their agents", st == 200 and all(
        n["state"] == "down" and "no agent" in n["reason"] for n in nodes["nodes"]), str(nodes))

    a = Agent(sock, key, "agent-a")
    reg = {"nodes": [{"name": "n000", "inventory": inventory(4)}]}
    st, body, _ = a.sync(reg, key=b"x" * 32)
    check("a forged sync (wrong key) is refused with 401", st == 401, str(body))
    st, body, _ = a.sync(reg, raw_mac="00" * 32)
    check("a sync with a bad MAC is refused", st == 401 and body["error"]["field"] == "X-Fleet-MAC",
          str(body))
    c = UnixHTTPConnection(sock)
    c.request("POST", "/v1/agent/sync", body=json.dumps(reg))
    r = c.getresponse()
    r.read()
    check("a sync without agent headers is refused", r.status == 401, str(r.status))
    check("refused agents bring no node up",
          call(sock, "GET", "/v1/nodes/n000")[1]["state"] == "down")

    st, body, _ = a.sync(reg)
    check("registration answered", st == 200 and "seq" in body, str(body))
    n0 = call(sock, "GET", "/v1/nodes/n000")[1]
    check("the node is up once its agent synced",
          n0["state"] == "up" and n0["agent"]["alive"] and n0["agent"]["name"] == "agent-a", str(n0))
    st, body, _ = a.sync(reg, nonce=a.nonce)
    check("a replayed nonce is refused", st == 401 and "nonce" in body["error"]["message"],
          str(body))
    st, body, _ = a.sync({"nodes": [{"name": "n000", "running": [{"job": "x"}]}]})
    check("a malformed report is a 400 naming the field",
          st == 400 and "nodes[0].running[0].job" in json.dumps(body), str(body))

    # ---- a launch through a long poll -------------------------------------------------
    def submit_later():
        time.sleep(0.5)
        call(sock, "POST", "/v1/jobs", {"wrap": "echo hi", "gpus": 2, "time_limit": 600,
                                         "workdir": "/tmp", "name": "first",
                                         "env": {"A": "1"}})
    threading.Thread(target=submit_later).start()
    st, body, dt = a.sync({"nodes": [{"name": "n000"}]}, wait_ms=5000)
    l1 = node_cmds(body, "n000").get("launch", [])
    check("a held sync is answered when a job starts (%.2f s)" % dt,
          st == 200 and dt < 3 and len(l1) == 1, str(body))
    if not l1:
        return
    l1 = l1[0]
    check("launch carries the job", l1["job"] == 1 and l1["run"] == 0 and
          sorted(l1["gpus"]) == [0, 1] and "echo hi" in l1["script"] and
          "A=1" in l1.get("env", []) and l1["output"] == "fleet-1.out" and
          l1["workdir"] == "/tmp" and l1["node_rank"] == 0 and l1["nnodes"] == 1 and
          l1["controller"].startswith("unix:"), json.dumps(l1))
    st, body, _ = a.sync({"nodes": [{"name": "n000"}]})
    check("a launch is repeated until the agent reports the job",
          [x["job"] for x in node_cmds(body, "n000").get("launch", [])] == [1], str(body))

    call(sock, "POST", "/v1/jobs", {"wrap": "echo two", "gpus": 2, "time_limit": 600,
                                    "workdir": "/tmp"})
    time.sleep(0.3)
    running = [{"job": 1, "run": 0, "gpus": [0, 1]}]
    st, body, _ = a.sync({"nodes": [{"name": "n000", "running": running}]}, wait_ms=3000)
    l2 = node_cmds(body, "n000").get("launch", [])
    check("a second job gets the other GPUs", len(l2) == 1 and l2[0]["job"] == 2 and
          sorted(l2[0]["gpus"]) == [2, 3], str(body))

    # ---- an end, acked once durable ----------------------------------------------------
    now = int(time.time())
    running = [{"job": 2, "run": 0, "gpus": [2, 3]}]
    ended = [{"job": 1, "run": 0, "exit_code": 0, "signal": 0, "reason": 0, "start": now,
              "end": now}]
    st, body, _ = a.sync({"nodes": [{"name": "n000", "running": running, "ended": ended}]},
                         wait_ms=3000)
    check("an end is acked", node_cmds(body, "n000").get("ack", []) == [{"job": 1, "run": 0}] or
          [x["job"] for x in node_cmds(body, "n000").get("ack", [])] == [1], str(body))
    j1 = job(sock, 1)
    check("the job completed with its exit code", j1["state"] == "completed" and
          j1["exit_code"] == 0, str(j1))

    # ---- cancel -> kill ----------------------------------------------------------------
    call(sock, "DELETE", "/v1/jobs/2")
    st, body, _ = a.sync({"nodes": [{"name": "n000", "running": running}]}, wait_ms=3000)
    kills = node_cmds(body, "n000").get("kill", [])
    check("a cancelled job is killed on its node", [k["job"] for k in kills] == [2], str(body))
    # the killed job still runs: its GPUs stay busy for the next launch
    call(sock, "POST", "/v1/jobs", {"wrap": "echo three", "gpus": 4, "time_limit": 600,
                                    "workdir": "/tmp"})
    time.sleep(0.3)
    st, body, _ = a.sync({"nodes": [{"name": "n000", "running": running}]})
    check("no launch on GPUs a killed job still holds",
          not node_cmds(body, "n000").get("launch"), str(body))
    ended = [{"job": 2, "run": 0, "exit_code": 143, "signal": 15, "reason": 2, "start": now,
              "end": now}]
    st, body, _ = a.sync({"nodes": [{"name": "n000", "ended": ended}]})
    cmds = node_cmds(body, "n000")
    check("once it exits its GPUs go to the waiting job",
          [x["job"] for x in cmds.get("launch", [])] == [3] and
          sorted(cmds["launch"][0]["gpus"]) == [0, 1, 2, 3], str(body))
    check("the cancelled job stays cancelled", job(sock, 2)["state"] == "cancelled")

    # ---- unknown node --------------------------------------------------------------------
    st, body, _ = a.sync({"nodes": [{"name": "nope", "inventory": inventory(4)}]})
    check("an unknown node is refused by name", "not in the" in node_cmds(body, "nope").get(
        "error", ""), str(body))

    # ---- a lost node: its job is requeued and launched again as run 1 ------------------
    running = [{"job": 3, "run": 0, "gpus": [0, 1, 2, 3]}]
    a.sync({"nodes": [{"name": "n000", "running": running}]})
    j3 = wait_state(sock, 3, "pending", 6)
    check("a node silent past the timeout loses its job (requeued)",
          j3["state"] == "pending" and j3["restarts"] == 1, str(j3))
    n0 = call(sock, "GET", "/v1/nodes/n000")[1]
    check("the lost node is down with the reason", n0["state"] == "down" and
          "agent lost" in n0["reason"], str(n0))
    st, body, _ = a.sync({"nodes": [{"name": "n000", "running": running}]}, wait_ms=3000)
    cmds = node_cmds(body, "n000")
    if not cmds.get("launch"):  # the pass may come just after the node is back
        st, body, _ = a.sync({"nodes": [{"name": "n000", "running": running}]}, wait_ms=3000)
        cmds = node_cmds(body, "n000")
    check("back: the old run is killed", [(k["job"], k["run"]) for k in cmds.get("kill", [])]
          == [(3, 0)], str(body))
    ended = [{"job": 3, "run": 0, "exit_code": 143, "signal": 15, "reason": 2, "start": now,
              "end": now}]
    st, body, _ = a.sync({"nodes": [{"name": "n000", "ended": ended}]})
    launches = node_cmds(body, "n000").get("launch", [])
    if not launches:
        st, body, _ = a.sync({"nodes": [{"name": "n000"}]}, wait_ms=3000)
        launches = node_cmds(body, "n000").get("launch", [])
    check("the requeued job is launched again as run 1",
          [(x["job"], x["run"]) for x in launches] == [(3, 1)], str(body))

    # ---- steps (fleet run): ranks per GPU across two nodes, output, fail fast ------------
    call(sock, "DELETE", "/v1/jobs/3")
    st, body, _ = a.sync({"nodes": [{"name": "n000"}, {"name": "n001", "inventory": inventory(4)}]})
    st, body = call(sock, "POST", "/v1/jobs", {"wrap": "fleet run hostname", "nodes": 2,
                                               "time_limit": 600, "workdir": "/tmp"})
    gang = body["id"]
    launches = {}
    for _ in range(5):
        st, body, _ = a.sync({"nodes": [{"name": "n000"}, {"name": "n001"}]}, wait_ms=2000)
        for n in ("n000", "n001"):
            for x in node_cmds(body, n).get("launch", []):
                launches[n] = x
        if len(launches) == 2:
            break
    first = launches.get("n000", {}).get("nodelist", "n000,n001").split(",")[0]
    other = "n001" if first == "n000" else "n000"
    check("a gang is launched on both nodes, the script on the first only",
          len(launches) == 2 and launches[first].get("script") and
          not launches[other].get("script") and launches[other]["node_rank"] == 1 and
          launches[first]["node_rank"] == 0 and
          sorted(launches[first]["nodelist"].split(",")) == ["n000", "n001"],
          json.dumps(launches)[:600])
    run_rep = [{"name": n, "running": [{"job": gang, "run": 0, "gpus": [0, 1, 2, 3]}]}
               for n in ("n000", "n001")]
    a.sync({"nodes": run_rep})
    st, body = call(sock, "POST", "/v1/jobs/%d/steps" % gang, {"argv": ["x"], "bogus": 1})
    check("a step with an unknown field is refused", st == 400 and
          body["error"]["field"] == "bogus", str(body))
    st, body = call(sock, "POST", "/v1/jobs/%d/steps" % gang,
                    {"argv": ["python3", "train.py"], "per_gpu": True, "env": ["A=1"]})
    check("a step is created with a rank per GPU", st == 201 and body["world_size"] == 8 and
          body["master_addr"] == "127.0.0.1" and body["ranks"][0]["node"] == first and
          body["ranks"][4]["node"] == other, str(body))
    step = body.get("step", 0)
    st, body, dt = a.sync({"nodes": run_rep}, wait_ms=3000)
    s0 = node_cmds(body, first).get("steps", [])
    s1 = node_cmds(body, other).get("steps", [])
    check("the agents get the step at once (%.2f s)" % dt, dt < 1.5 and len(s0) == 1 and
          len(s1) == 1, str(body)[:600])
    if s0 and s1:
        check("each node runs its ranks with one GPU each",
              [r["rank"] for r in s0[0]["ranks"]] == [0, 1, 2, 3] and
              [r["rank"] for r in s1[0]["ranks"]] == [4, 5, 6, 7] and
              [r["local_rank"] for r in s1[0]["ranks"]] == [0, 1, 2, 3] and
              all(len(r["gpus"]) == 1 for r in s1[0]["ranks"]) and
              s0[0]["argv"] == ["python3", "train.py"] and s0[0]["world_size"] == 8 and
              s0[0]["master_port"] == s1[0]["master_port"], json.dumps(s0 + s1)[:800])
    out = [{"job": gang, "step": step, "rank": 0, "stream": 1, "data": "hello from 0\n"},
           {"job": gang, "step": step, "rank": 5, "stream": 2, "data": "oops\n"}]
    ends = [{"job": gang, "step": step, "rank": 5, "exit_code": 3, "signal": 0}]
    st, body, _ = a.sync({"nodes": run_rep, "output": out, "rank_ends": ends})
    kills = [k for n in ("n000", "n001") for k in node_cmds(body, n).get("step_kills", [])]
    check("a failed rank kills the step's other ranks (fail fast)", len(kills) == 2, str(body))
    st, o = call(sock, "GET", "/v1/jobs/%d/steps/%d?after=0" % (gang, step))
    check("the step's output and failure are readable",
          st == 200 and o["failed"] and o["exit_code"] == 3 and
          [c["data"] for c in o["chunks"]] == ["hello from 0\n", "oops\n"] and
          o["chunks"][1]["stream"] == "stderr" and not o["done"], str(o))
    ends = [{"job": gang, "step": step, "rank": r, "exit_code": 143, "signal": 15}
            for r in range(8) if r != 5]
    a.sync({"nodes": run_rep, "rank_ends": ends})
    st, o = call(sock, "GET", "/v1/jobs/%d/steps/%d?after=%d" % (gang, step, o["next"]))
    check("once every rank ended the step is done", o["done"] and o["ranks_ended"] == 8, str(o))
    st, body, _ = a.sync({"nodes": run_rep})
    check("an ended step is no longer sent", not any(
        node_cmds(body, n).get("steps") or node_cmds(body, n).get("step_kills")
        for n in ("n000", "n001")), str(body))


if __name__ == "__main__":
    main()
