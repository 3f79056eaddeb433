#!/usr/bin/env python3
"""A fake fleetd for the agent's side of the protocol (test_agent_auth.sh).

Serves POST /v1/agent/sync on a Unix socket, checks every request as fleetd
would (the MAC over the raw body with the cluster key, strictly increasing
nonces), and scripts its replies to probe the agent:

  phase "forged"   the first FORGED replies carry a launch of job 77 but a
                   wrong X-Fleet-MAC: the agent must ignore them;
  phase "launch"   correctly MAC'd replies carry the launch of job 77 until the
                   agent reports it; its end is acknowledged;
  phase "after"    the launch of 77 is repeated after the acknowledgement (the
                   agent must not run it again: its tombstone), and one reply
                   numbered below the last (seq going back) carries a launch of
                   job 78, which the agent must ignore as stale.

Everything seen is written to the log (one JSON object per sync) and, at the
end, a summary to RESULT. Usage:
  fake_fleetd.py SOCKET KEYFILE WORKDIR LOG RESULT [FORGED]
"""
import hashlib
import hmac
import json
import os
import socket
import struct
import sys
import time

CTX_SYNC = b"gpufleet/agent/sync/v1"
CTX_REPLY = b"gpufleet/agent/sync-reply/v1"


def mac(key, ctx, nonce, body):
    return hmac.new(key, ctx + b"\0" + struct.pack("<Q", nonce) + body, hashlib.sha256).hexdigest()


def read_request(conn, buf):
    while b"\r\n\r\n" not in buf:
        chunk = conn.recv(65536)
        if not chunk:
            return None, b""
        buf += chunk
    head, rest = buf.split(b"\r\n\r\n", 1)
    lines = head.decode().split("\r\n")
    headers = {}
    for line in lines[1:]:
        k, v = line.split(":", 1)
        headers[k.strip().lower()] = v.strip()
    n = int(headers.get("content-length", "0"))
    while len(rest) < n:
        chunk = conn.recv(65536)
        if not chunk:
            return None, b""
        rest += chunk
    return (lines[0], headers, rest[:n]), rest[n:]


def launch(job, workdir):
    return {"job": job, "run": 0, "uid": os.getuid(), "gid": os.getgid(), "user": "tester",
            "name": "fake", "workdir": workdir, "output": f"out-{job}.txt",
            "script": f"#!/bin/sh\necho job {job} on $FLEET_NODENAME gpus $CUDA_VISIBLE_DEVICES\n",
            "gpus": [1], "cpus": 0, "mem_mb": 0, "time_limit": 60, "kill_grace": 1,
            "nodelist": "fakenode", "node_rank": 0, "nnodes": 1, "total_gpus": 1,
            "array_job_id": 0, "array_task_id": -1, "controller": ""}


def main():
    sock_path, key_file, workdir, log_path, result_path = sys.argv[1:6]
    forged = int(sys.argv[6]) if len(sys.argv) > 6 else 3
    key = open(key_file, "rb").read()
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(sock_path)
    srv.listen(8)
    srv.settimeout(30)
    log = open(log_path, "w")
    res = {"bad_request_mac": 0, "nonces_increasing": True, "syncs": 0,
           "first_good_reply_at": None, "reported_77_at": [], "ended_77": None,
           "acked_77_at": None, "reported_after_ack": [], "reported_78": [],
           "inventory": None, "stale_sent_at": None}
    last_nonce = 0
    seq = 0
    after = 0
    deadline = time.time() + 25
    conn, buf = None, b""
    while time.time() < deadline:
        if conn is None:
            conn, _ = srv.accept()
            conn.settimeout(10)
            buf = b""
        try:
            req, buf = read_request(conn, buf)
        except (socket.timeout, ConnectionError):
            req = None
        if req is None:
            conn.close()
            conn = None
            continue
        line, headers, body = req
        nonce = int(headers.get("x-fleet-nonce", "0"))
        ok = hmac.compare_digest(headers.get("x-fleet-mac", ""), mac(key, CTX_SYNC, nonce, body))
        if not ok:
            res["bad_request_mac"] += 1
        if nonce <= last_nonce:
            res["nonces_increasing"] = False
        last_nonce = nonce
        m = json.loads(body)
        res["syncs"] += 1
        n = res["syncs"]
        node = m["nodes"][0]
        if "inventory" in node and res["inventory"] is None:
            res["inventory"] = node["inventory"]
        running = [r["job"] for r in node.get("running", [])]
        ended = {e["job"]: e for e in node.get("ended", [])}
        if 77 in running or 77 in ended:
            res["reported_77_at"].append(n)
            if res["acked_77_at"] is not None:
                res["reported_after_ack"].append(n)
        if 78 in running or 78 in ended:
            res["reported_78"].append(n)
        log.write(json.dumps({"n": n, "agent": headers.get("x-fleet-agent"), "wait_ms": m["wait_ms"],
                              "last_seq": m["last_seq"], "running": running,
                              "ended": list(ended)}) + "\n")
        log.flush()
        cmds = {"name": node["name"], "state": 0}
        seq += 1
        reply_seq = seq
        good = n > forged
        if good and res["first_good_reply_at"] is None:
            res["first_good_reply_at"] = n
        if 77 in ended and res["ended_77"] is None:
            res["ended_77"] = ended[77]
        if 77 in ended:
            cmds["ack"] = [{"job": 77, "run": 0}]
            if res["acked_77_at"] is None and good:
                res["acked_77_at"] = n
        if res["acked_77_at"] is None or not good:
            if 77 not in running and 77 not in ended:
                cmds["launch"] = [launch(77, workdir)]
        else:
            after += 1
            cmds["launch"] = [launch(77, workdir)]  # stale: acked already
            if after == 2:
                reply_seq = 1  # going back: the agent must ignore it
                cmds["launch"] = [launch(78, workdir)]
                res["stale_sent_at"] = n
                seq -= 1
        reply = json.dumps({"seq": reply_seq, "heartbeat_ms": 200, "nodes": [cmds]}).encode()
        rmac = mac(key, CTX_REPLY, nonce, reply) if good else mac(b"x" * 32, CTX_REPLY, nonce, reply)
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nX-Fleet-MAC: "
                     + rmac.encode() + b"\r\nContent-Length: " + str(len(reply)).encode()
                     + b"\r\n\r\n" + reply)
        time.sleep(0.02)
        if after >= 8:
            break
    json.dump(res, open(result_path, "w"))


if __name__ == "__main__":
    main()
