#!/usr/bin/env python3
"""End-to-end benchmarks of fleetd with fleet-agent (issue 5), on loopback.

  bench_agents.py BUILD [--jobs N] [--nodes N] [--steady S]

1. Throughput: N short jobs (`true`, 1 GPU each) submitted through the API by
   8 concurrent clients to a center of 4 emulated nodes x 8 GPUs; jobs per
   second from the first submission until the last job has completed (every
   job really runs as a process on its node and its end is reported back).
2. Scale: one fleet-agent emulating 1,000 nodes x 8 GPUs (blocks of 32)
   attached to one fleetd: controller CPU (share of one core) and memory at
   steady state (heartbeats only), then the time for one 1,000-node gang job
   to start (submitted -> running: scheduled and committed) and to complete
   (launched on all 1,000 nodes, its script run on the first and its end
   reported).

Environment: SPOOL_BASE=DIR puts the agents' spool there (default /dev/shm, a
tmpfs like the agent's default spool /run/gpufleet/spool; a directory on a
disk without a journal makes ext4's inode allocation for the few files each
job creates and deletes show in profiles); AGENT_EXTRA="--cgroup none" adds
options to fleet-agent.

Figures are printed, never judged (timings depend on the machine)."""
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests",
                                "system"))
from fleetclient import UnixHTTPConnection, call  # noqa: E402


def cpu_ticks(pid):
    with open("/proc/%d/stat" % pid) as f:
        parts = f.read().rsplit(")", 1)[1].split()
    return int(parts[11]) + int(parts[12])  # utime + stime


def rss_mb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    return 0.0


def spool_base(work):
    """Where the agents' spool goes: SPOOL_BASE, else a tmpfs (/dev/shm) as
    the agent's default spool (/run/gpufleet/spool) is, else WORK."""
    return os.environ.get("SPOOL_BASE") or ("/dev/shm" if os.path.isdir("/dev/shm") else work)


def write_config(path, nodes, per_block):
    with open(path, "w") as f:
        f.write("pools:\n  - name: h100\n    model: H100\nblocks:\n")
        nblocks = (nodes + per_block - 1) // per_block
        for b in range(nblocks):
            f.write("  - name: blk%d\n    spine: spine%d\n" % (b, b // 8))
        f.write("nodes:\n")
        for i in range(nodes):
            f.write("  - name: emu%03d\n    pool: h100\n    block: blk%d\n    gpus: 8\n"
                    "    cpus: 64\n    memory_gb: 512\n" % (i, i // per_block))


class Center:
    def __init__(self, build, work, nodes, per_block=32):
        self.work = work
        self.sock = os.path.join(work, "f.sock")
        cfg = os.path.join(work, "c.yaml")
        write_config(cfg, nodes, per_block)
        self.log = open(os.path.join(work, "log"), "w")
        self.fleetd = subprocess.Popen(
            [os.path.join(build, "fleetd"), "--state-dir", os.path.join(work, "state"),
             "--socket", self.sock, "--config", cfg, "--interval", "5"],
            stdout=self.log, stderr=self.log)
        for _ in range(400):
            if os.path.exists(self.sock):
                break
            time.sleep(0.05)
        args = [os.path.join(build, "fleet-agent"), "--controller", "unix:" + self.sock,
                "--key-file", os.path.join(work, "state", "cluster.key"), "--emulate",
                str(nodes), "--name", "emu", "--gpus-per-node", "8", "--gpu-model", "H100",
                "--spool", os.path.join(spool_base(work), "spool-%d" % os.getpid())] + os.environ.get("AGENT_EXTRA", "").split()
        if os.getuid() == 0:
            args.append("--allow-root")
        self.agent = subprocess.Popen(args, stdout=self.log, stderr=self.log)
        t0 = time.time()
        while time.time() - t0 < 120:
            st, body = call(self.sock, "GET", "/v1/nodes?state=up")
            if st == 200 and body["count"] == nodes:
                break
            time.sleep(0.2)
        self.up_s = time.time() - t0

    def stop(self):
        for p in (self.agent, self.fleetd):
            p.terminate()
        for p in (self.agent, self.fleetd):
            p.wait()
        self.log.close()
        shutil.rmtree(os.path.join(spool_base(self.work), "spool-%d" % os.getpid()),
                      ignore_errors=True)


def throughput(build, njobs):
    work = tempfile.mkdtemp(prefix="gpufleet-bench-")
    c = Center(build, work, 4, per_block=2)
    jobdir = os.path.join(work, "jobs")
    os.makedirs(jobdir)
    os.chmod(jobdir, 0o777)
    body = json.dumps({"wrap": "true", "gpus": 1, "time_limit": 600, "workdir": jobdir,
                       "output": "/dev/null"})
    per = njobs // 8

    def client():
        conn = UnixHTTPConnection(c.sock)
        for _ in range(per):
            call(c.sock, "POST", "/v1/jobs", body, conn=conn)
        conn.close()

    t0 = time.time()
    ths = [threading.Thread(target=client) for _ in range(8)]
    for t in ths:
        t.start()
    for t in ths:
        t.join()
    t_sub = time.time() - t0
    total = per * 8
    done = 0
    while time.time() - t0 < 600:
        st, s = call(c.sock, "GET", "/v1/status")
        if s["pending"] == 0 and s["running"] == 0:
            break
        time.sleep(0.02)
    dt = time.time() - t0
    st, body = call(c.sock, "GET", "/v1/jobs?state=completed")
    done = body.get("count", 0)
    c.stop()
    print("throughput: %d short jobs on 4 emulated nodes x 8 GPUs, 8 submitting clients" % total)
    print("  submitted in %.2f s; all ended after %.2f s; %d completed (exit 0)" %
          (t_sub, dt, done))
    print("  end-to-end: %.0f jobs/s (Slurm 22.05: 11-14/s on one node, up to 56 with four"
          " slurmd; target >= 200)" % (total / dt))
    shutil.rmtree(work, ignore_errors=True)


def scale(build, nodes, steady):
    work = tempfile.mkdtemp(prefix="gpufleet-bench-")
    c = Center(build, work, nodes)
    print("scale: %d emulated nodes x 8 GPUs in one fleet-agent, one fleetd" % nodes)
    print("  all nodes up after %.1f s" % c.up_s)
    hz = os.sysconf("SC_CLK_TCK")
    f0, a0, t0 = cpu_ticks(c.fleetd.pid), cpu_ticks(c.agent.pid), time.time()
    time.sleep(steady)
    f1, a1, t1 = cpu_ticks(c.fleetd.pid), cpu_ticks(c.agent.pid), time.time()
    print("  steady state over %.0f s: fleetd %.1f%% of a core, %.1f MB RSS; "
          "fleet-agent %.1f%% of a core, %.1f MB RSS" %
          (t1 - t0, 100.0 * (f1 - f0) / hz / (t1 - t0), rss_mb(c.fleetd.pid),
           100.0 * (a1 - a0) / hz / (t1 - t0), rss_mb(c.agent.pid)))
    jobdir = os.path.join(work, "jobs")
    os.makedirs(jobdir)
    os.chmod(jobdir, 0o777)
    t0 = time.time()
    st, body = call(c.sock, "POST", "/v1/jobs", {"wrap": "true", "nodes": nodes,
                                                 "time_limit": 600, "workdir": jobdir})
    jid = body["id"]
    t_run = t_done = None
    while time.time() - t0 < 300:
        st, j = call(c.sock, "GET", "/v1/jobs/%d" % jid)
        if t_run is None and j["state"] != "pending":
            t_run = time.time() - t0
        if j["state"] not in ("pending", "running"):
            t_done = time.time() - t0
            break
        time.sleep(0.01)
    print("  a %d-node gang: running %.3f s after submission, %s after %s s" %
          (nodes, t_run or -1, j["state"], "%.2f" % t_done if t_done else "-"))
    c.stop()
    shutil.rmtree(work, ignore_errors=True)


def main():
    if len(sys.argv) < 2:
        print(__doc__)
        sys.exit(2)
    build = os.path.abspath(sys.argv[1])
    args = sys.argv[2:]
    njobs, nodes, steady = 2000, 1000, 20
    for i in range(0, len(args) - 1, 2):
        if args[i] == "--jobs":
            njobs = int(args[i + 1])
        elif args[i] == "--nodes":
            nodes = int(args[i + 1])
        elif args[i] == "--steady":
            steady = float(args[i + 1])
    print("machine: %s, %d CPUs, %s; agent spool under %s" % (
        platform.processor() or platform.machine(), os.cpu_count(), platform.platform(),
        spool_base(tempfile.gettempdir())))
    throughput(build, njobs)
    scale(build, nodes, steady)


if __name__ == "__main__":
    main()
