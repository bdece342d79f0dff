#!/usr/bin/env python3
"""Run one load-generator command and record throughput, latency, errors and CPU.

Adapted from shared/bench/wrkbench.py (standard library only, Linux /proc).

  measure.py --out results.jsonl --target sessiond-redis --scenario validate --conns 64 \\
      --group server=PID --group redis=PID --rss server=PID -- wrk -t2 -c64 -d10s ...

--group NAME=PID[,PID]  CPU time of these processes and all their descendants (cluster
                        or nginx workers) over the run, from /proc/PID/stat.
--rss NAME=PID          sample VmRSS of this process (and descendants) every 0.2 s; max kept.
--kind wrk|redis-benchmark  how to parse the output (wrk: the scripts' BENCHJSON line plus
                        wrk's own text; redis-benchmark: its latency summary/percentiles).
The command's own CPU comes from its rusage. "other" = machine busy time not accounted
to any group nor the command: kernel softirq work for loopback TCP plus anything else
running on the box (high = a noisy run). CPU figures are % of ONE core.

Before the run it waits up to --max-wait s for the box to be below --quiet busy. With
--max-other P, a run whose "other" exceeded P % of a core is recorded as discarded and
repeated, at most --retries times. One JSON object per run is appended to --out.
"""
import argparse
import json
import os
import re
import subprocess
import sys
import threading
import time

HZ = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")


def machine_ticks():
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    return sum(v[:8]), v[3] + v[4], v[7], v[6]  # total, idle, steal, softirq


def children_map():
    kids = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d) as f:
                s = f.read()
        except OSError:
            continue
        kids.setdefault(int(s[s.rindex(")") + 2:].split()[1]), []).append(int(d))
    return kids


def expand(pids):
    kids, out, todo = children_map(), set(), list(pids)
    while todo:
        p = todo.pop()
        if p not in out:
            out.add(p)
            todo.extend(kids.get(p, []))
    return sorted(out)


def proc_ticks(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            s = f.read()
    except OSError:
        return 0
    fields = s[s.rindex(")") + 2:].split()
    return int(fields[11]) + int(fields[12])  # utime + stime


def rss_kib(pids):
    tot = 0
    for p in pids:
        try:
            with open("/proc/%d/statm" % p) as f:
                tot += int(f.read().split()[1]) * PAGE // 1024
        except OSError:
            pass
    return tot


def busy_fraction(interval=1.0):
    t0, i0, _, _ = machine_ticks()
    time.sleep(interval)
    t1, i1, _, _ = machine_ticks()
    return 0.0 if t1 == t0 else 1.0 - (i1 - i0) / (t1 - t0)


UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}


def to_ms(s):
    m = re.match(r"([\d.]+)(us|ms|s|m)$", s)
    return float(m.group(1)) * UNITS[m.group(2)] if m else None


def parse_wrk(text):
    r = {}
    m = re.search(r"Requests/sec:\s+([\d.]+)", text)
    r["rps"] = float(m.group(1)) if m else None
    m = re.search(r"(\d+) requests in", text)
    r["requests"] = int(m.group(1)) if m else None
    m = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    r["non2xx"] = int(m.group(1)) if m else 0
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
    r["socket_errors"] = sum(int(x) for x in m.groups()) if m else 0
    m = re.search(r"^BENCHJSON (\{.*\})$", text, re.M)
    if m:
        j = json.loads(m.group(1))
        for k in ("p50", "p90", "p99", "p999", "p9999"):
            r[k + "_ms"] = j[k + "_us"] / 1000.0
        r["mean_ms"] = j["lat_mean_us"] / 1000.0
        r["max_ms"] = j["lat_max_us"] / 1000.0
        r["script"] = {k: v for k, v in j.items() if not k.endswith("_us")}
    return r


def parse_redis_benchmark(text):
    r = {"non2xx": 0, "socket_errors": 0}
    m = re.search(r"throughput summary:\s+([\d.]+) requests per second", text)
    r["rps"] = float(m.group(1)) if m else None
    m = re.search(r"(\d+) requests completed in ([\d.]+) seconds", text)
    r["requests"] = int(m.group(1)) if m else None
    m = re.search(r"latency summary \(msec\):\s*\n\s*avg\s+min\s+p50\s+p95\s+p99\s+max\s*\n\s*([\d.]+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)", text)
    if m:
        r["mean_ms"], _, r["p50_ms"], r["p95_ms"], r["p99_ms"], r["max_ms"] = (float(x) for x in m.groups())
    # "99.902% <= 0.503 milliseconds (cumulative count ...)": first bucket at or above 99.9 %
    for pm in re.finditer(r"^([\d.]+)% <= ([\d.]+) milliseconds", text, re.M):
        if float(pm.group(1)) >= 99.9:
            r["p999_ms"] = float(pm.group(2))
            break
    return r


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True)
    ap.add_argument("--target", required=True)
    ap.add_argument("--scenario", required=True)
    ap.add_argument("--conns", type=int, required=True)
    ap.add_argument("--mode", default="closed", help="closed (max throughput) or open (fixed rate)")
    ap.add_argument("--rate", type=float, default=None, help="offered rate of an open-loop run")
    ap.add_argument("--kind", default="wrk", choices=["wrk", "redis-benchmark"])
    ap.add_argument("--group", action="append", default=[])
    ap.add_argument("--rss", action="append", default=[])
    ap.add_argument("--quiet", type=float, default=0.15)
    ap.add_argument("--max-wait", type=float, default=20)
    ap.add_argument("--max-other", type=float, default=None)
    ap.add_argument("--retries", type=int, default=1)
    ap.add_argument("--tag", action="append", default=[], help="KEY=VALUE stored in the record")
    ap.add_argument("cmd", nargs=argparse.REMAINDER)
    a = ap.parse_args()
    cmd = a.cmd[1:] if a.cmd and a.cmd[0] == "--" else a.cmd
    if not cmd:
        ap.error("no command after --")
    groups = {}
    for g in a.group:
        name, pids = g.split("=", 1)
        groups[name] = [int(p) for p in pids.split(",") if p]
    rss_of = {}
    for g in a.rss:
        name, pid = g.split("=", 1)
        rss_of[name] = int(pid)

    attempt, retries = 0, a.retries
    while True:
        attempt += 1
        waited, pre_busy = 0.0, busy_fraction(0.5)
        while pre_busy > a.quiet and waited < a.max_wait:
            time.sleep(1.5)
            waited += 2
            pre_busy = busy_fraction(0.5)
        gpids = {n: expand(p) for n, p in groups.items()}
        rpids = {n: expand([p]) for n, p in rss_of.items()}
        rss_max = {n: rss_kib(p) for n, p in rpids.items()}
        rss_before = dict(rss_max)
        stop = threading.Event()

        def sample():
            while not stop.wait(0.2):
                for n, p in rpids.items():
                    rss_max[n] = max(rss_max[n], rss_kib(p))

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        g0 = {n: sum(proc_ticks(p) for p in ps) for n, ps in gpids.items()}
        m0 = machine_ticks()
        w0 = time.monotonic()
        out = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        text_b = out.stdout.read()
        _, status, ru = os.wait4(out.pid, 0)
        wall = time.monotonic() - w0
        m1 = machine_ticks()
        g1 = {n: sum(proc_ticks(p) for p in ps) for n, ps in gpids.items()}
        stop.set()
        sampler.join()
        text = text_b.decode(errors="replace")
        rc = os.waitstatus_to_exitcode(status)
        if rc != 0:
            print(text, file=sys.stderr)
            sys.exit("%s exited with %d" % (cmd[0], rc))
        r = parse_wrk(text) if a.kind == "wrk" else parse_redis_benchmark(text)
        if r.get("rps") is None:
            print(text, file=sys.stderr)
            sys.exit("could not parse the output of %s" % cmd[0])
        busy = 100.0 * ((m1[0] - m0[0]) - (m1[1] - m0[1])) / HZ / wall
        cpu = {n: 100.0 * (g1[n] - g0[n]) / HZ / wall for n in groups}
        gen = 100.0 * (ru.ru_utime + ru.ru_stime) / wall
        r.update({
            "target": a.target, "scenario": a.scenario, "conns": a.conns, "mode": a.mode,
            "offered_rps": a.rate, "ts": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "cmd": " ".join(cmd),
            "wall_s": round(wall, 2), "cpu_pct": {n: round(v, 1) for n, v in cpu.items()},
            "gen_cpu_pct": round(gen, 1), "machine_busy_pct": round(busy, 1),
            "other_cpu_pct": round(busy - gen - sum(cpu.values()), 1),
            "softirq_pct": round(100.0 * (m1[3] - m0[3]) / HZ / wall, 1),
            "steal_pct": round(100.0 * (m1[2] - m0[2]) / HZ / wall, 1),
            "pre_busy_pct": round(100.0 * pre_busy, 1), "waited_s": waited, "attempt": attempt,
            "rss_max_kib": rss_max, "rss_before_kib": rss_before,
        })
        # CPU per request (µs): CPU-seconds of the group / requests completed
        if r.get("requests"):
            r["us_per_req"] = {n: round((g1[n] - g0[n]) / HZ * 1e6 / r["requests"], 2) for n in groups}
            r["gen_us_per_req"] = round((ru.ru_utime + ru.ru_stime) * 1e6 / r["requests"], 2)
        for t in a.tag:
            k, v = t.split("=", 1)
            r[k] = v
        noisy = a.max_other is not None and r["other_cpu_pct"] > a.max_other
        if noisy and retries > 0:
            retries -= 1
            r["discarded"] = True
        with open(a.out, "a") as f:
            f.write(json.dumps(r) + "\n")
        errs = r["non2xx"] + r["socket_errors"]
        cpu_s = " ".join("%s=%.0f%%" % (n, v) for n, v in r["cpu_pct"].items())
        print("  %-17s %-8s c%-3d %-6s %9.0f req/s  p50 %6.2f  p99 %6.2f  p99.9 %6.2f ms  errors %d | cpu %s gen=%.0f%% other=%.0f%%%s"
              % (a.target, a.scenario, a.conns, a.mode, r["rps"], r.get("p50_ms") or 0, r.get("p99_ms") or 0,
                 r.get("p999_ms") or 0, errs, cpu_s, r["gen_cpu_pct"], r["other_cpu_pct"],
                 "  DISCARDED (other CPU), again" if r.get("discarded") else ""), flush=True)
        if not r.get("discarded"):
            break


if __name__ == "__main__":
    main()
