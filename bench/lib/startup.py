#!/usr/bin/env python3
"""Time from process start to the first 200 on /readyz, over several starts; RSS when
ready and after a short idle period.

  startup.py --label sessiond-redis --starts 7 --out results.jsonl -- CMD ... --port {port} ...

{port} in the command (or in --env VALUES) is replaced by a free loopback port for every
start. The clock starts just before fork/exec (subprocess.Popen) and stops when a GET
/readyz on a fresh connection returns 200; probes are retried every 0.5 ms (connection
refused while the listener is not up yet). The process (and its children) is then idle
for --idle seconds, its RSS read again, and it is stopped with SIGTERM.
Prints one line per start and appends one JSON record with all samples and the medians.
"""
import argparse
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from measure import expand, rss_kib  # noqa: E402


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def ready(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
            s.sendall(b"GET /readyz HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n")
            data = s.recv(64)
            return data.startswith(b"HTTP/1.1 200") or data.startswith(b"HTTP/1.0 200")
    except OSError:
        return False


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--label", required=True)
    ap.add_argument("--starts", type=int, default=7)
    ap.add_argument("--idle", type=float, default=1.0)
    ap.add_argument("--timeout", type=float, default=15.0)
    ap.add_argument("--env", action="append", default=[], help="NAME=VALUE ({port} replaced)")
    ap.add_argument("--out", required=True)
    ap.add_argument("cmd", nargs=argparse.REMAINDER)
    a = ap.parse_args()
    cmd = a.cmd[1:] if a.cmd and a.cmd[0] == "--" else a.cmd
    samples = []
    for k in range(a.starts):
        port = free_port()
        env = dict(os.environ)
        for e in a.env:
            n, v = e.split("=", 1)
            env[n] = v.replace("{port}", str(port))
        argv = [c.replace("{port}", str(port)) for c in cmd]
        t0 = time.monotonic()
        errf = tempfile.TemporaryFile()
        p = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=errf, start_new_session=True)
        ms = None
        while time.monotonic() - t0 < a.timeout:
            if ready(port):
                ms = (time.monotonic() - t0) * 1000
                break
            if p.poll() is not None:
                break
            time.sleep(0.0005)
        if ms is None:
            p.kill()
            errf.seek(0)
            err = errf.read().decode(errors="replace")
            sys.exit("%s: not ready after %.0f s (exit %s): %s" % (a.label, a.timeout, p.poll(), err[-2000:]))
        pids = expand([p.pid])
        rss_ready = rss_kib(pids)
        time.sleep(a.idle)
        pids = expand([p.pid])
        rss_idle = rss_kib(pids)
        os.killpg(p.pid, signal.SIGTERM)
        try:
            p.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait()
        errf.close()
        samples.append({"ready_ms": round(ms, 2), "rss_ready_kib": rss_ready, "rss_idle_kib": rss_idle})
        print("  %-17s start %d: ready after %7.1f ms, RSS %6.1f MiB at ready, %6.1f MiB after %.0f s idle"
              % (a.label, k + 1, ms, rss_ready / 1024, rss_idle / 1024, a.idle), flush=True)
        time.sleep(0.2)
    rec = {"kind": "startup", "target": a.label, "starts": samples,
           "ready_ms_median": statistics.median(s["ready_ms"] for s in samples),
           "rss_idle_kib_median": statistics.median(s["rss_idle_kib"] for s in samples),
           "rss_ready_kib_median": statistics.median(s["rss_ready_kib"] for s in samples),
           "cmd": " ".join(cmd), "ts": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
    with open(a.out, "a") as f:
        f.write(json.dumps(rec) + "\n")


if __name__ == "__main__":
    main()
