#!/usr/bin/env python3
"""Markdown table and PNG chart from the JSON lines written by bench/run.

  report.py RESULTS.jsonl --md OUT.md --png OUT.png
  report.py --query-rps RESULTS.jsonl TARGET SCENARIO CONNS   # median req/s (closed loop)

Standard library only; the chart is drawn by gnuplot (skipped with a note if missing).
Runs marked "discarded" (other processes used the CPU during them) are left out; every
figure is the median over the kept runs of one (target, scenario, connections, mode).
"""
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from collections import OrderedDict

SCENARIOS = ["validate", "auth", "mix", "rotate", "create"]
TARGETS = ["sessiond-redis", "sessiond-events", "sessiond-epoch", "sessiond-nocache", "sessiond-memory", "sessiond-cluster", "sessiond-tls", "peer", "nginx"]
NAMES = {"sessiond-redis": "sessiond (Redis)", "sessiond-memory": "sessiond (embedded)",
         "sessiond-nocache": "sessiond (Redis, cache off)", "sessiond-cluster": "sessiond (Redis Cluster)",
         "sessiond-tls": "sessiond (HTTPS)", "sessiond-epoch": "sessiond (Redis, instants set)",
         "sessiond-events": "sessiond (Redis, events on)",
         "peer": "peer (fastify)", "nginx": "nginx return 200", "redis-get": "redis-benchmark GET"}
SCEN_TEXT = {
    "validate": "POST /v1/sessions/validate, pool of live tokens (touch skipped: fresh sessions)",
    "auth": "GET /v1/auth, Authorization: Bearer, same pool",
    "mix": "per 20 requests: 18 validate, 1 create, 1 revoke (of a session the run created)",
    "rotate": "POST /v1/sessions/rotate, each token rotated once, the new one re-queued",
    "create": "POST /v1/sessions, 1,000 users, small metadata, store emptied before each run",
    "plain": "GET / (no script)",
    "limit": "redis-benchmark -t get -P 1, 10,000 keys, value = sessiond's record size",
}


DROPPED_ERRORS = []  # errors seen in attempts that were repeated (not in the tables)


def load(path):
    """Run records and the other records. measure.py repeats a run once when other processes
    used the CPU during it (the first attempt is marked "discarded"); when the repeat was
    no quieter, the attempt with the least "other" CPU is the one kept here."""
    runs, other, attempts = [], [], []

    def flush():
        if attempts:
            kept = [r for r in attempts if not r.get("discarded")]
            best = min(attempts, key=lambda r: r.get("other_cpu_pct") or 0)
            if not kept or (best.get("other_cpu_pct") or 0) < (kept[-1].get("other_cpu_pct") or 0):
                kept = [best]
            runs.append(kept[-1])
            for r in attempts:
                if r is not kept[-1] and (r.get("non2xx", 0) + r.get("socket_errors", 0)):
                    DROPPED_ERRORS.append(r)
            attempts.clear()

    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line:
                continue
            r = json.loads(line)
            if "kind" in r:
                other.append(r)
                continue
            if r.get("attempt", 1) == 1:
                flush()
            attempts.append(r)
    flush()
    return runs, other


def med(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def aggregate(runs):
    g = OrderedDict()
    for r in runs:
        g.setdefault((r["target"], r["scenario"], r["conns"], r["mode"]), []).append(r)
    out = {}
    for k, rs in g.items():
        a = {"n": len(rs), "rps": med(r["rps"] for r in rs)}
        for p in ("p50_ms", "p99_ms", "p999_ms", "max_ms"):
            a[p] = med(r.get(p) for r in rs)
        a["errors"] = sum(r.get("non2xx", 0) + r.get("socket_errors", 0) for r in rs)
        a["requests"] = sum(r.get("requests") or 0 for r in rs)
        a["offered"] = med(r.get("offered_rps") for r in rs)
        names = set()
        for r in rs:
            names.update(r.get("cpu_pct", {}).keys())
        a["cpu"] = {n: med(r["cpu_pct"].get(n) for r in rs) for n in names}
        a["us"] = {n: med(r.get("us_per_req", {}).get(n) for r in rs) for n in names}
        a["gen_cpu"] = med(r.get("gen_cpu_pct") for r in rs)
        a["gen_us"] = med(r.get("gen_us_per_req") for r in rs)
        a["other"] = med(r.get("other_cpu_pct") for r in rs)
        a["other_max"] = max((r.get("other_cpu_pct") or 0) for r in rs)
        a["rss_max_kib"] = max((r.get("rss_max_kib", {}).get("server") or 0) for r in rs) or None
        sc = {}
        for r in rs:
            for kk, v in (r.get("script") or {}).items():
                if isinstance(v, (int, float)) and kk not in ("requests", "duration_us", "lat_mean_us", "lat_max_us"):
                    sc[kk] = sc.get(kk, 0) + v
        a["script"] = sc
        a["rps_all"] = [r["rps"] for r in rs]
        a["p99_all"] = [r["p99_ms"] for r in rs if r.get("p99_ms") is not None]
        out[k] = a
    return out


def fmt_int(x):
    return "–" if x is None else "{:,.0f}".format(x)


def fmt_ms(x):
    if x is None:
        return "–"
    return "%.2f" % x if x < 10 else "%.1f" % x if x < 100 else "%.0f" % x


def fmt_ratio(a, b):
    if a is None or not b:
        return "–"
    return "%.2f×" % (a / b)


def query_rps(path, target, scenario, conns):
    runs, _ = load(path)
    xs = [r["rps"] for r in runs if r["target"] == target and r["scenario"] == scenario
          and r["conns"] == int(conns) and r["mode"] == "closed"]
    if xs:
        print("%.0f" % statistics.median(xs))


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "--query-rps":
        query_rps(*sys.argv[2:6])
        return
    import argparse
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("results")
    ap.add_argument("--md", required=True)
    ap.add_argument("--png", default=None)
    args = ap.parse_args()
    runs, other = load(args.results)
    meta = next((r for r in other if r["kind"] == "meta"), {})
    end = next((r for r in other if r["kind"] == "end"), {})
    info = next((r for r in other if r["kind"] == "info"), {})
    startup = {r["target"]: r for r in other if r["kind"] == "startup"}
    memory = [r for r in other if r["kind"] == "memory"]
    rss = [r for r in other if r["kind"] == "rss"]
    agg = aggregate(runs)
    with open(args.results) as f:
        discarded = sum(1 for line in f if '"discarded": true' in line)
    date = meta.get("date", "?")
    host = meta.get("host", "?")
    stamp = "measured on %s (%s × %s, %s GiB, %s, kernel %s) on %s" % (
        host, meta.get("cpus", "?"), meta.get("cpu_model", "?"), meta.get("mem_gib", "?"), meta.get("os", "?"),
        meta.get("kernel", "?"), date)
    conns_all = sorted({k[2] for k in agg if k[3] == "closed"})
    c_head = 64 if 64 in conns_all else (conns_all[len(conns_all) // 2] if conns_all else 64)
    max_other = float(meta.get("max_other") or 30) or 30.0

    def get(t, s, c, mode="closed"):
        return agg.get((t, s, c, mode))

    def rps(t, s, c, mode="closed"):
        x = get(t, s, c, mode)
        return x["rps"] if x else None

    L = []
    w = L.append
    w("# sessiond side-by-side benchmark — %s" % date)
    w("")
    w("**All figures %s.** Absolute numbers depend on the machine and on what else ran on it;" % stamp)
    w("the ratios within this one run are the result. Produced by `bench/run` (see bench/README.md).")
    w("")
    w("- Versions: %s; Node %s, %s; Redis %s; nginx %s; wrk %s." % (
        meta.get("sessiond", "?"), meta.get("node", "?"), meta.get("peer", "?").strip(), meta.get("redis", "?"),
        meta.get("nginx", "?"), meta.get("wrk", "?")))
    w("- Load: wrk `-t%s`, %s s per run, %s run(s) per cell (median shown), connections %s; targets interleaved "
      "per scenario and connection count (order rotated); pinning `%s`. Wall time %s s (%s). Load average at start: %s." % (
          meta.get("threads", "?"), meta.get("duration_s", "?"), meta.get("repeat", "?"),
          ", ".join(str(c) for c in conns_all), meta.get("pin", "?"), end.get("wall_s", "?"),
          "smoke run: tiny durations, not for conclusions" if str(meta.get("smoke")) == "1" else "full run",
          meta.get("load_avg", "?")))
    w("- sessiond: default I/O threads (one per CPU it may use: %s here), access log off, log level warn; with "
      "`--redis-url` (own redis-server) or the embedded store. Peer: `node server.js` as its README says (cluster, one "
      "worker per available core: %s), ioredis auto-pipelining, its own redis-server. nginx: shared/bench/nginx.conf "
      "(`worker_processes auto`, `return 200`)." % (meta.get("server_cpus", meta.get("cpus", "?")),
                                                   meta.get("server_cpus", meta.get("cpus", "?"))))
    if discarded:
        w("- %d run(s) were repeated because other processes used more than %.0f %% of a core during them; "
          "of the two attempts the quieter one (least \"other\" CPU) is shown." % (discarded, max_other))
    w("")

    # ---------------- headline ----------------
    w("## Headline (-c%d): ratios of sessiond to the peer and to the limits" % c_head)
    w("")
    w("`× nginx` compares with nginx `return 200` driven by the same wrk script (same requests, same wrk cost); "
      "`× nginx GET /` with plain `wrk` on `/` (the shared reference's ceiling); `× Redis` with `redis-benchmark -t get` "
      "at the same connection count.")
    w("")
    w("| scenario | sessiond (Redis) req/s | × peer | × nginx | × nginx GET / | × Redis GET | sessiond (embedded) req/s | × peer | × nginx | peer req/s |")
    w("|---|---|---|---|---|---|---|---|---|---|")
    plain = rps("nginx", "plain", c_head)
    rget = rps("redis-get", "limit", c_head)
    for s in SCENARIOS:
        sr, sm, pr, ng = rps("sessiond-redis", s, c_head), rps("sessiond-memory", s, c_head), rps("peer", s, c_head), rps("nginx", s, c_head)
        if not any((sr, sm, pr, ng)):
            continue
        w("| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
            s, fmt_int(sr), fmt_ratio(sr, pr) if pr else "n/a", fmt_ratio(sr, ng), fmt_ratio(sr, plain), fmt_ratio(sr, rget),
            fmt_int(sm), fmt_ratio(sm, pr) if pr else "n/a", fmt_ratio(sm, ng), fmt_int(pr) if pr else ("not implemented" if s == "rotate" else "–")))
    w("")

    # ---------------- targets ----------------
    w("## Targets of issue 5 (same run, -c%d)" % c_head)
    w("")
    w("| target | required | measured | met? |")
    w("|---|---|---|---|")

    def verdict(ok):
        return "–" if ok is None else ("**yes**" if ok else "**NO**")

    for s in ("validate", "auth"):
        sr, pr, ng = rps("sessiond-redis", s, c_head), rps("peer", s, c_head), rps("nginx", s, c_head)
        w("| %s, Redis store, vs peer | ≥ 3× | %s (%s vs %s req/s) | %s |" % (
            s, fmt_ratio(sr, pr), fmt_int(sr), fmt_int(pr), verdict(None if not (sr and pr) else sr >= 3 * pr)))
        w("| %s, Redis store, vs nginx return 200 | ≥ 0.4× | %s (same script; %s vs plain GET /) | %s |" % (
            s, fmt_ratio(sr, ng), fmt_ratio(sr, plain), verdict(None if not (sr and ng) else sr >= 0.4 * ng)))
    for s in ("validate", "auth"):
        o = get("sessiond-redis", s, c_head, "open")
        if o:
            w("| %s, Redis store: p99 at half of the max rate | ≤ 1 ms | %s ms at %s req/s (median of %d runs: %s; p50 %s, p99.9 %s ms) | %s |" % (
                s, fmt_ms(o["p99_ms"]), fmt_int(o["rps"]), o["n"], ", ".join(fmt_ms(x) for x in o["p99_all"]),
                fmt_ms(o["p50_ms"]), fmt_ms(o["p999_ms"]),
                verdict(o["p99_ms"] is not None and o["p99_ms"] <= 1.0)))
        else:
            w("| %s, Redis store: p99 at half of the max rate | ≤ 1 ms | not measured | – |" % s)
    sr, pr = rps("sessiond-redis", "create", c_head), rps("peer", "create", c_head)
    w("| create, Redis store, vs peer | ≥ 3× | %s (%s vs %s req/s) | %s |" % (
        fmt_ratio(sr, pr), fmt_int(sr), fmt_int(pr), verdict(None if not (sr and pr) else sr >= 3 * pr)))
    mem = {(m["target"], m["metadata_bytes"]): m for m in memory}
    ms, mp = mem.get(("sessiond-redis", 0)), mem.get(("peer", 0))
    if ms and mp:
        w("| Redis used_memory per session, empty metadata, vs peer | ≤ 0.7× | %.2f× (%.0f vs %.0f B; %s sessions each) | %s |" % (
            ms["bytes_per_session"] / mp["bytes_per_session"], ms["bytes_per_session"], mp["bytes_per_session"],
            fmt_int(ms["sessions"]), verdict(ms["bytes_per_session"] <= 0.7 * mp["bytes_per_session"])))
    else:
        w("| Redis used_memory per session, empty metadata, vs peer | ≤ 0.7× | not measured | – |")
    for t in ("sessiond-redis", "sessiond-memory"):
        st = startup.get(t)
        if st:
            w("| idle RSS, %s (median of %d starts, 1 s after ready) | < 20 MiB | %.1f MiB | %s |" % (
                NAMES[t], len(st["starts"]), st["rss_idle_kib_median"] / 1024, verdict(st["rss_idle_kib_median"] < 20 * 1024)))
    for t in ("sessiond-redis", "sessiond-memory"):
        st = startup.get(t)
        if st:
            w("| start to /readyz 200, %s (median of %d) | < 100 ms | %.1f ms (min %.1f, max %.1f) | %s |" % (
                NAMES[t], len(st["starts"]), st["ready_ms_median"], min(x["ready_ms"] for x in st["starts"]),
                max(x["ready_ms"] for x in st["starts"]), verdict(st["ready_ms_median"] < 100)))
    sd_err = sum(x["errors"] for k, x in agg.items() if k[0].startswith("sessiond")) + sum(
        r.get("non2xx", 0) + r.get("socket_errors", 0) for r in DROPPED_ERRORS if r["target"].startswith("sessiond"))
    oth_err = sum(x["errors"] for k, x in agg.items() if not k[0].startswith("sessiond")) + sum(
        r.get("non2xx", 0) + r.get("socket_errors", 0) for r in DROPPED_ERRORS if not r["target"].startswith("sessiond"))
    w("| errors (non-2xx + socket errors), every sessiond run incl. repeated attempts | 0 | %s (peer/nginx/redis: %s) | %s |" % (
        fmt_int(sd_err), fmt_int(oth_err), verdict(sd_err == 0)))
    w("")

    # ---------------- CPU per request ----------------
    w("## CPU per request (µs): sessiond vs the peer")
    w("")
    w("CPU time of the process group (server incl. all its threads/workers; its redis-server) divided by the requests "
      "completed, from /proc, median over runs; includes the kernel's loopback TCP work done in their context. "
      "The least noise-sensitive figure on a shared box.")
    w("")
    w("| scenario | -c | sessiond (Redis): server + redis | sessiond (embedded): server | peer: server + redis | peer / sessiond (Redis), server only | nginx: server | wrk |")
    w("|---|---|---|---|---|---|---|---|")
    for s in SCENARIOS:
        for c in conns_all:
            a, b, p, n = get("sessiond-redis", s, c), get("sessiond-memory", s, c), get("peer", s, c), get("nginx", s, c)
            if not any((a, b, p)):
                continue

            def us(x, g):
                return x["us"].get(g) if x else None

            def pair(x):
                if not x:
                    return "–"
                return "%.1f + %.1f" % (us(x, "server") or 0, us(x, "redis") or 0)
            ratio = "%.1f×" % (us(p, "server") / us(a, "server")) if (a and p and us(a, "server")) else "–"
            w("| %s | %d | %s | %s | %s | %s | %s | %s |" % (
                s, c, pair(a), "%.1f" % us(b, "server") if b else "–", pair(p) if p else ("n/a" if s == "rotate" else "–"), ratio,
                "%.1f" % us(n, "server") if n and us(n, "server") is not None else "–",
                "%.1f" % a["gen_us"] if a and a["gen_us"] is not None else "–"))
    w("")

    # ---------------- fixed rate ----------------
    opens = [(k, v) for k, v in agg.items() if k[3] == "open"]
    if opens:
        w("## Latency at a fixed rate: half of each server's own maximum (open loop)")
        w("")
        w("`bench/loadgen` (loadgen.cpp), an open-loop generator: request *k* is due at *t0 + k/rate* (evenly spaced, "
          "nanosecond timer), goes out on any idle keep-alive connection, and its latency is measured from its *due* time, "
          "so a server that falls behind is charged for the wait (no coordinated omission). \"late\" = sends more than "
          "1 ms behind schedule because all connections were busy. Same requests as the wrk scripts.")
        w("")
        w("Each cell: the median of its runs; \"p99 of each run\" lists them all.")
        w("")
        w("| scenario | target | -c | offered req/s | achieved req/s | p50 ms | p99 ms | p99 of each run | p99.9 ms | max ms | late sends | errors |")
        w("|---|---|---|---|---|---|---|---|---|---|---|---|")
        for (t, s, c, _), v in sorted(opens, key=lambda kv: (SCENARIOS.index(kv[0][1]), TARGETS.index(kv[0][0]))):
            late, slots = v["script"].get("late"), v["script"].get("slots")
            w("| %s | %s | %d | %s | %s | %s | %s | %s | %s | %s | %s | %d |" % (
                s, NAMES.get(t, t), c, fmt_int(v["offered"]), fmt_int(v["rps"]), fmt_ms(v["p50_ms"]), fmt_ms(v["p99_ms"]),
                ", ".join(fmt_ms(x) for x in v["p99_all"]), fmt_ms(v["p999_ms"]), fmt_ms(v["max_ms"]),
                ("%d (%.2f %%)" % (late, 100.0 * late / slots)) if slots else "–", v["errors"]))
        w("")

    # ---------------- full table ----------------
    w("## All closed-loop runs (maximum throughput)")
    w("")
    w("wrk is closed-loop here: every connection sends its next request as soon as the reply arrives, so latency is "
      "mostly queueing (≈ connections / throughput). CPU %% is of one core (the box has %s × 100 %%); \"other\" = busy "
      "time of the machine not in these groups nor wrk (softirq, other users of the box); runs with other > %.0f %% "
      "are marked †." % (meta.get("cpus", "?"), max_other))
    w("")
    for s in SCENARIOS + ["plain", "limit"]:
        keys = [k for k in agg if k[1] == s and k[3] == "closed"]
        if not keys:
            continue
        w("### %s — %s" % (s, SCEN_TEXT.get(s, "")))
        w("")
        w("| -c | target | req/s | × peer | × nginx | p50 ms | p99 ms | p99.9 ms | errors | CPU %: server / redis / wrk / other | µs/req: server / redis / wrk | sessiond max RSS MiB |")
        w("|---|---|---|---|---|---|---|---|---|---|---|---|")
        for c in conns_all:
            for t in TARGETS + ["redis-get"]:
                v = agg.get((t, s, c, "closed"))
                if not v:
                    continue
                pr, ng = rps("peer", s, c), rps("nginx", s, c)
                cpu = v["cpu"]
                us = v["us"]
                noisy = " †" if v["other_max"] > max_other else ""
                w("| %d | %s | %s%s%s | %s | %s | %s | %s | %s | %d | %s / %s / %s / %s | %s / %s / %s | %s |" % (
                    c, NAMES.get(t, t), fmt_int(v["rps"]), noisy,
                    (" (%d runs: %s)" % (v["n"], ", ".join(fmt_int(x) for x in v["rps_all"]))) if v["n"] > 1 else "",
                    fmt_ratio(v["rps"], pr) if pr and t != "peer" else "–", fmt_ratio(v["rps"], ng) if ng and t != "nginx" else "–",
                    fmt_ms(v["p50_ms"]), fmt_ms(v["p99_ms"]), fmt_ms(v["p999_ms"]), v["errors"],
                    "%.0f" % cpu["server"] if cpu.get("server") is not None else "–",
                    "%.0f" % cpu["redis"] if cpu.get("redis") is not None else "–",
                    "%.0f" % v["gen_cpu"] if v["gen_cpu"] is not None else "–", "%.0f" % v["other"] if v["other"] is not None else "–",
                    "%.1f" % us["server"] if us.get("server") is not None else "–",
                    "%.1f" % us["redis"] if us.get("redis") is not None else "–",
                    "%.1f" % v["gen_us"] if v["gen_us"] is not None else "–",
                    "%.1f" % (v["rss_max_kib"] / 1024) if v["rss_max_kib"] else "–"))
        w("")
    notes = []
    for (t, s, c, m), v in agg.items():
        sc = v["script"]
        if s == "rotate" and t != "nginx" and sc.get("lost"):
            notes.append("rotate %s -c%d: the token queue ran dry %d times (a rotate reply without a token)" % (t, c, sc["lost"]))
        if s == "mix" and t != "nginx" and sc.get("n_revoke"):
            notes.append("mix %s -c%d: %d validate, %d create, %d revoke (%d of them from the fallback pool)" % (
                t, c, sc.get("n_validate", 0), sc.get("n_create", 0), sc["n_revoke"], sc.get("n_revoke_pool", 0)))
        if v["errors"]:
            notes.append("**%s %s -c%d (%s): %d errors** (non-2xx + socket errors)" % (t, s, c, m, v["errors"]))
    for r in DROPPED_ERRORS:
        notes.append("**%s %s -c%d (%s): %d errors** (non-2xx + socket errors) in an attempt that was repeated because "
                     "the box was busy (other CPU %.0f %%); not in the table" % (
                         r["target"], r["scenario"], r["conns"], r["mode"], r.get("non2xx", 0) + r.get("socket_errors", 0),
                         r.get("other_cpu_pct") or 0))
    if notes:
        w("Run notes:")
        w("")
        for n in sorted(notes):
            w("- " + n)
        w("")

    # ---------------- validation cache ----------------
    cache = [r for r in other if r["kind"] == "cache"]
    if cache:
        w("## Validation cache: hits per run")
        w("")
        w("Counted from each sessiond's `/metrics` before and after every run (every run of that cell summed).")
        w("")
        w("| server | scenario | connections | mode | hits | misses | blind | hit ratio |")
        w("|---|---|---|---|---|---|---|---|")
        cells = {}
        for r in cache:
            k = (r["target"], r["scenario"], r["conns"], r.get("mode", "closed"))
            h, m, b = cells.get(k, (0, 0, 0))
            cells[k] = (h + r["hits"], m + r["misses"], b + r["blind"])
        for (t, sc, c, mode), (h, m, b) in sorted(cells.items()):
            w("| %s | %s | %s | %s | %s | %s | %s | %.2f %% |" % (
                NAMES.get(t, t), sc, c, mode, fmt_int(h), fmt_int(m), fmt_int(b), 100.0 * h / max(1, h + m + b)))
        w("")

    # ---------------- memory ----------------
    if memory:
        w("## Redis memory per session")
        w("")
        w("Fresh redis-server per measurement; sessions created through each server's HTTP API (wrk + lib/seed.lua, "
          "64 connections), 2 sessions per user id (`bench-m-<thread>-<n>`, 18 characters); bytes per session = "
          "increase of `used_memory` / session keys found in Redis afterwards (SCAN; includes the per-user index).")
        w("")
        w("| server | metadata | sessions | keys | used_memory before → after | bytes / session | sessiond / peer | creates/s while seeding |")
        w("|---|---|---|---|---|---|---|---|")
        for m in memory:
            peer = mem.get(("peer", m["metadata_bytes"]))
            w("| %s | %s | %s | %s | %s → %s | %.0f | %s | %s |" % (
                NAMES.get(m["target"], m["target"]), "none" if m["metadata_bytes"] == 0 else "%d B" % m["metadata_bytes"],
                fmt_int(m["sessions"]), fmt_int(m["keys"]), fmt_int(m["used_memory_before"]), fmt_int(m["used_memory_after"]),
                m["bytes_per_session"],
                ("%.2f×" % (m["bytes_per_session"] / peer["bytes_per_session"])) if peer and m["target"] != "peer" else "–",
                fmt_int(m["sessions"] / m["seed_s"]) if m.get("seed_s") else "–"))
        if info:
            w("")
            w("Stored value of one session (small metadata): sessiond %s B, peer %s B (STRLEN)." % (
                info.get("sessiond_value_bytes", "?"), info.get("peer_value_bytes", "?")))
        w("")

    # ---------------- RSS and startup ----------------
    w("## sessiond resident memory and start time")
    w("")
    if startup:
        w("| target | starts | start → /readyz 200, median (min–max) ms | RSS at ready, median MiB | RSS 1 s later, median MiB |")
        w("|---|---|---|---|---|")
        for t in ("sessiond-redis", "sessiond-memory", "peer"):
            st = startup.get(t)
            if st:
                w("| %s | %d | %.1f (%.1f–%.1f) | %.1f | %.1f |" % (
                    NAMES[t] + (" (primary + workers)" if t == "peer" else ""), len(st["starts"]), st["ready_ms_median"],
                    min(x["ready_ms"] for x in st["starts"]), max(x["ready_ms"] for x in st["starts"]),
                    st["rss_ready_kib_median"] / 1024, st["rss_idle_kib_median"] / 1024))
        w("")
        w("Start → ready: from just before fork/exec to the first 200 on a fresh connection to /readyz (polled every 0.5 ms); with the Redis store this includes connecting to Redis.")
        w("")
    rows = []
    for t in ("sessiond-redis", "sessiond-memory"):
        idle = next((r["rss_kib"] for r in rss if r["target"] == t and r["phase"] == "idle-after-start"), None)
        endr = next((r["rss_kib"] for r in rss if r["target"] == t and r["phase"] == "end-of-runs"), None)
        per = []
        for s in SCENARIOS:
            xs = [v["rss_max_kib"] for k, v in agg.items() if k[0] == t and k[1] == s and v["rss_max_kib"]]
            per.append("%.1f" % (max(xs) / 1024) if xs else "–")
        rows.append("| %s | %s | %s | %s |" % (NAMES[t], "%.1f" % (idle / 1024) if idle else "–", " | ".join(per),
                                              "%.1f" % (endr / 1024) if endr else "–"))
    if any(r for r in rss):
        w("Resident memory of the benchmarked sessiond processes (MiB): idle after start, the maximum sampled (every 0.2 s) during the runs of each scenario, and at the end. The embedded store's figure includes its sessions (10k pool + create runs; it is restarted before each create run).")
        w("")
        w("| target | idle after start | %s | after the runs |" % " | ".join("max under load: " + s for s in SCENARIOS))
        w("|---|---|%s---|" % ("---|" * len(SCENARIOS)))
        for r in rows:
            w(r)
        w("")
    w("## Method")
    w("")
    w("- Each cell: wrk `-t%s -cN -d%ss --latency` with a script in bench/lib (requests pre-built in `init()`); p50/p99/p99.9 "
      "from wrk's latency histogram (`latency:percentile()`, after wrk's coordinated-omission correction), errors = "
      "responses with status > 399 plus socket errors (connect/read/write/timeout), all runs summed." % (
          meta.get("threads", "?"), meta.get("duration_s", "?")))
    w("- CPU: utime+stime from /proc/PID/stat of each server process and its descendants and of its redis-server, "
      "wrk's from its rusage, over the run (lib/measure.py, adapted from shared/bench/wrkbench.py).")
    w("- Token pools: created through each server's API before the runs (lib/seed.lua): %s sessions for validate/auth/mix "
      "(10 per user, create.lua's metadata), a fresh pool of 2×connections for every rotate run. nginx gets the same scripts and tokens.")
    w("- The peer implements no rotate (its README: not on its hot paths), so rotate has no peer figure.")
    w("")
    with open(args.md, "w") as f:
        f.write("\n".join(L) + "\n")
    print("wrote %s" % args.md)
    if args.png:
        chart(agg, conns_all, args.png, "measured on %s (%s CPUs) on %s" % (host, meta.get("cpus", "?"), date))


def chart(agg, conns_all, png, stamp):
    if not shutil.which("gnuplot"):
        print("gnuplot not found: no chart", file=sys.stderr)
        return
    if not any(k[3] == "closed" and k[0] in TARGETS for k in agg):
        print("no closed-loop runs: no chart", file=sys.stderr)
        return
    tmp = tempfile.mkdtemp()
    data = os.path.join(tmp, "data.txt")
    with open(data, "w") as f:
        for s in SCENARIOS:
            for c in conns_all:
                vals = [agg.get((t, s, c, "closed")) for t in TARGETS]
                if not any(vals):
                    continue
                f.write('"%s -c%d"' % (s, c))
                for v in vals:
                    f.write(" %s" % ("%.0f" % v["rps"] if v else "-"))
                for v in vals:
                    f.write(" %s" % ("%.3f" % v["p99_ms"] if v and v.get("p99_ms") else "-"))
                f.write("\n")
    n = len(TARGETS)
    titles = [NAMES[t] for t in TARGETS]
    script = """
set terminal pngcairo size 2000,1100 font "sans,10"
set output "{png}"
set datafile missing "-"
set style data histogram
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set key top left horizontal
set grid ytics
set xtics rotate by -35 scale 0
set multiplot layout 2,1 title "sessiond vs the fastify peer vs nginx return 200 — {stamp}" font "sans,13"
set title "throughput (req/s, closed loop, wrk): higher is better"
set ylabel "requests / s"
set format y "%.0s%c"
plot {rps}
set title "p99 latency at full load (ms, log scale): lower is better"
set ylabel "ms"
set logscale y
set format y "%g"
plot {p99}
unset multiplot
""".format(png=png, stamp=stamp,
           rps=", ".join('"%s" using %d:xtic(1) title "%s"' % (data, 2 + i, titles[i]) for i in range(n)),
           p99=", ".join('"%s" using %d:xtic(1) title "%s"' % (data, 2 + n + i, titles[i]) for i in range(n)))
    gp = os.path.join(tmp, "chart.gp")
    with open(gp, "w") as f:
        f.write(script)
    r = subprocess.run(["gnuplot", gp], capture_output=True, text=True)
    if r.returncode != 0:
        print("gnuplot failed: %s" % r.stderr, file=sys.stderr)
    else:
        print("wrote %s" % png)
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
