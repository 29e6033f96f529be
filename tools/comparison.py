# SPDX-License-Identifier: Apache-2.0
"""The numbers behind tools/compare.py: a Google Benchmark JSON run of cohort_bench read
into per-repetition samples (load), their median and min-max (stats), ratios with their
spread (ratio), and the comparison itself (Comparison: the time table, the counter table
and the issue's targets). No formatting and no command line here: compare.py does those.
Standard library only.
"""

import json
import re
import statistics

TO_MS = {"ns": 1e-6, "us": 1e-3, "ms": 1.0, "s": 1e3}

# Keys of a benchmark entry that are not user counters.
STANDARD_KEYS = {
    "name", "family_index", "per_family_instance_index", "run_name", "run_type",
    "repetitions", "repetition_index", "threads", "iterations", "real_time", "cpu_time",
    "time_unit", "aggregate_name", "aggregate_unit", "error_occurred", "error_message",
    "label",
}

# Counters the suite reports: (description, higher_is_better, format).
COUNTERS = {
    "rss_mb": ("RSS growth, MiB", False, "{:.1f}"),
    "p50_us": ("median wake latency, us", False, "{:.1f}"),
    "p99_us": ("p99 wake latency, us", False, "{:.1f}"),
    "cpu_ms_per_2s": ("idle CPU, ms per 2 s", False, "{:.3f}"),
    "items_per_second": ("throughput, items/s", True, "{:.3g}"),
    "bytes_per_second": ("bandwidth, GB/s", True, "{:.3g}"),
}
# Rates are shown only where they are the point; elsewhere they repeat the time.
RATE_COUNTERS = {"items_per_second", "bytes_per_second"}
RATE_WORKLOADS = {"external1m", "triad", "spawn1m", "loop_triad"}
# Workloads whose time column means nothing (a fixed sleep).
UNTIMED_WORKLOADS = {"idle"}
PEER_ORDER = ["tbb", "omp", "serial"]


# ---- reading -------------------------------------------------------------------------

def parse_name(run_name):
    """fib35/cohort/workers:2/min_time:0.500/real_time -> ("fib35", "cohort", 2)."""
    parts = run_name.split("/")
    workers = 1
    for p in parts[2:]:
        m = re.fullmatch(r"workers:(\d+)", p)
        if m:
            workers = int(m.group(1))
    impl = parts[1] if len(parts) > 1 else "?"
    return parts[0], impl, workers


def load(path):
    with open(path) as f:
        data = json.load(f)
    entries = [b for b in data.get("benchmarks", []) if b.get("run_type", "iteration") == "iteration"]
    source = "repetitions"
    if not entries:  # run with --benchmark_report_aggregates_only: the best we have
        entries = [b for b in data.get("benchmarks", []) if b.get("aggregate_name") == "median"]
        source = "medians (per-repetition entries missing)"
    runs = {}
    order = []
    for b in entries:
        key = parse_name(b["run_name"])
        if key not in runs:
            runs[key] = {"time_ms": [], "counters": {}, "error": None}
            order.append(key)
        r = runs[key]
        if b.get("error_occurred"):
            r["error"] = b.get("error_message", "error")
            continue
        r["time_ms"].append(b["real_time"] * TO_MS.get(b.get("time_unit", "ns"), 1e-6))
        for k, v in b.items():
            if k not in STANDARD_KEYS and isinstance(v, (int, float)):
                if k == "bytes_per_second":
                    v = v / 1e9
                r["counters"].setdefault(k, []).append(float(v))
    return data.get("context", {}), runs, order, source


def stats(values):
    if not values:
        return None
    return {"median": statistics.median(values), "min": min(values), "max": max(values), "n": len(values)}


def plural(n):
    return f"{n} worker" + ("s" if n != 1 else "")


def ratio(a, b):
    """a / b with the spread [a.min / b.max, a.max / b.min]."""
    if not a or not b or b["median"] == 0 or b["min"] == 0 or b["max"] == 0:
        return None
    return {"ratio": a["median"] / b["median"], "lo": a["min"] / b["max"], "hi": a["max"] / b["min"]}


# ---- the comparison ------------------------------------------------------------------

class Comparison:
    def __init__(self, context, runs, order):
        self.context = context
        self.runs = runs
        self.workloads = list(dict.fromkeys(w for w, _, _ in order))
        self.impls = {w: list(dict.fromkeys(i for ww, i, _ in order if ww == w)) for w in self.workloads}
        self.workers = {w: sorted({n for ww, _, n in order if ww == w}) for w in self.workloads}
        all_impls = list(dict.fromkeys(i for _, i, _ in order))
        peers = [p for p in all_impls if not p.startswith("cohort")]
        self.peers = [p for p in PEER_ORDER if p in peers] + [p for p in peers if p not in PEER_ORDER]

    def cohort_impls(self, w):
        return [i for i in self.impls[w] if i.startswith("cohort")]

    def time(self, w, impl, n):
        r = self.runs.get((w, impl, n))
        return stats(r["time_ms"]) if r else None

    def counter(self, w, impl, n, name):
        r = self.runs.get((w, impl, n))
        return stats(r["counters"].get(name, [])) if r else None

    def error(self, w, impl, n):
        r = self.runs.get((w, impl, n))
        return r["error"] if r else None

    def peer_time(self, w, peer, n):
        # The serial baseline runs once, at workers:1; it is the reference at every count.
        return self.time(w, peer, 1 if peer == "serial" else n)

    def counters_of(self, w):
        names = []
        for (ww, _, _), r in self.runs.items():
            if ww != w:
                continue
            for k in r["counters"]:
                if k in RATE_COUNTERS and w not in RATE_WORKLOADS:
                    continue
                if k not in names:
                    names.append(k)
        known = [k for k in COUNTERS if k in names]
        return known + [k for k in names if k not in COUNTERS]

    def time_rows(self):
        rows = []
        for w in self.workloads:
            if w in UNTIMED_WORKLOADS:
                continue
            for n in self.workers[w]:
                for c in self.cohort_impls(w):
                    mine = self.time(w, c, n)
                    row = {"workload": w, "workers": n, "impl": c, "time_ms": mine,
                           "error": self.error(w, c, n), "peers": {}}
                    for p in self.peers:
                        pt = self.peer_time(w, p, n)
                        perr = self.error(w, p, 1 if p == "serial" else n)
                        if pt or perr:
                            row["peers"][p] = {"time_ms": pt, "error": perr, "ratio": ratio(mine, pt)}
                    rows.append(row)
        return rows

    def counter_rows(self):
        rows = []
        for w in self.workloads:
            for name in self.counters_of(w):
                higher_better = COUNTERS.get(name, ("", False, ""))[1]
                for n in self.workers[w]:
                    for c in self.cohort_impls(w):
                        mine = self.counter(w, c, n, name)
                        if mine is None:
                            continue
                        row = {"workload": w, "workers": n, "impl": c, "counter": name,
                               "higher_is_better": higher_better, "value": mine, "peers": {}}
                        for p in self.peers:
                            pv = self.counter(w, p, 1 if p == "serial" else n, name)
                            if pv is None:
                                continue
                            # Oriented so that > 1 always means cohort is better.
                            r = ratio(mine, pv) if higher_better else ratio(pv, mine)
                            row["peers"][p] = {"value": pv, "advantage": r}
                        rows.append(row)
        return rows

    # -- targets --

    def targets(self):
        out = []

        def add(name, value, threshold, at_most, unit=""):
            if value is None:
                out.append({"target": name, "status": "n/a (not measured)"})
                return
            ok = value["ratio"] <= threshold if at_most else value["ratio"] >= threshold
            worst = value["hi"] if at_most else value["lo"]
            best = value["lo"] if at_most else value["hi"]
            robust = (worst <= threshold) if at_most else (worst >= threshold)
            crosses = not robust and ((best <= threshold) if at_most else (best >= threshold))
            status = "PASS" if ok else "MISS"
            if crosses:
                status += " (the min-max spread crosses the target)"
            out.append({"target": name, "measured": value["ratio"], "lo": value["lo"], "hi": value["hi"],
                        "threshold": threshold, "comparison": "<=" if at_most else ">=", "unit": unit,
                        "status": status, "pass": ok})

        def as_value(s):
            return None if s is None else {"ratio": s["median"], "lo": s["min"], "hi": s["max"]}

        tbb_ratio = lambda w, n: ratio(self.time(w, "cohort", n), self.time(w, "tbb", n))
        add("fib35: cohort <= 0.45 x tbb at 1 worker", tbb_ratio("fib35", 1), 0.45, True, "x")
        add("fib35: cohort T1/T2 >= 1.9", ratio(self.time("fib35", "cohort", 1), self.time("fib35", "cohort", 2)),
            1.9, False, "x")
        for n in self.workers.get("skynet", []):
            add(f"skynet: cohort <= 0.55 x tbb at {plural(n)}", tbb_ratio("skynet", n), 0.55, True, "x")
        for n in self.workers.get("gather_range", []):
            add(f"gather_range: cohort <= 1.5 x tbb parallel_for at {plural(n)}", tbb_ratio("gather_range", n),
                1.5, True, "x")
        add("spawn1m: cohort <= 0.25 x tbb at 2 workers", tbb_ratio("spawn1m", 2), 0.25, True, "x")
        for n in self.workers.get("spawn1m", []):
            add(f"spawn1m: cohort RSS growth <= 100 MB at {plural(n)}",
                as_value(self.counter("spawn1m", "cohort", n, "rss_mb")), 100, True, "MiB")
        for n in self.workers.get("external1m", []):
            add(f"external1m: cohort throughput >= 2 x tbb at {plural(n)}",
                ratio(self.counter("external1m", "cohort", n, "items_per_second"),
                      self.counter("external1m", "tbb", n, "items_per_second")), 2.0, False, "x")
        for n in self.workers.get("idle", []):
            add(f"idle: cohort CPU <= 1 ms per 2 s at {plural(n)}",
                as_value(self.counter("idle", "cohort", n, "cpu_ms_per_2s")), 1.0, True, "ms")
        for n in self.workers.get("wake", []):
            add(f"wake: cohort median latency <= 50 us at {plural(n)}",
                as_value(self.counter("wake", "cohort", n, "p50_us")), 50.0, True, "us")
        # Parallel algorithms (issue 10): cohort / oneTBB's idiomatic call (auto_partitioner).
        algorithm_targets = [
            ("loop_triad", "cohort", 1.05, "for_each_index"),
            ("loop_triad", "cohort_chunk", 1.05, "for_each_chunk"),
            ("loop_small", "cohort", 1.0, "10^4-element loop x 100"),
            ("loop_unbalanced", "cohort", 1.0, "cost ~ i"),
            ("reduce_sum", "cohort", 1.05, "reduce"),
            ("reduce_sum", "cohort_deterministic", 1.2, "reduce, deterministic"),
            ("scan", "cohort", 1.0, "inclusive_scan vs parallel_scan"),
            ("sort", "cohort", 1.0, "sort vs parallel_sort"),
        ]
        for w, impl, limit, what in algorithm_targets:
            for n in self.workers.get(w, []):
                add(f"{w} ({what}): {impl} <= {limit} x tbb at {plural(n)}",
                    ratio(self.time(w, impl, n), self.time(w, "tbb", n)), limit, True, "x")
        return out
