#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Summarise a cohort trace (Chrome trace-event JSON from COHORT_TRACE or write_trace()).

Prints, per worker: utilisation (time inside top-level tasks over the traced window),
time parked, tasks run, steals; then the longest tasks and the longest idle gaps, which
is usually where a scaling problem hides.

usage: tools/trace_summary.py trace.json [--top N] [--gap-us G]
"""
import argparse
import json
import sys
from collections import defaultdict


def load(path):
    with open(path, encoding="utf-8") as f:
        data = json.load(f)
    events = data["traceEvents"] if isinstance(data, dict) else data
    names = {}
    per_tid = defaultdict(list)
    for e in events:
        if e.get("ph") == "M" and e.get("name") == "thread_name":
            names[e["tid"]] = e["args"]["name"]
        elif e.get("ph") in ("B", "E", "i"):
            per_tid[e["tid"]].append(e)
    return names, per_tid


def spans_of(events):
    """Pairs B/E events into spans (name, group, start, end, depth); checks balance."""
    stack, spans, steals = [], [], 0
    for e in events:
        if e["ph"] == "B":
            stack.append(e)
        elif e["ph"] == "E":
            if not stack:
                raise ValueError("unbalanced trace: an end without a begin")
            b = stack.pop()
            spans.append((b.get("name", "?"), b.get("args", {}).get("group", ""),
                          b["ts"], e["ts"], len(stack)))
        elif e["ph"] == "i" and e.get("name", "").startswith("steal"):
            steals += 1
    if stack:
        raise ValueError(f"unbalanced trace: {len(stack)} spans never ended")
    return spans, steals


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("trace")
    ap.add_argument("--top", type=int, default=10, help="how many longest tasks and gaps")
    ap.add_argument("--gap-us", type=float, default=50.0, help="smallest idle gap to report")
    args = ap.parse_args()

    names, per_tid = load(args.trace)
    if not per_tid:
        print("no events in the trace")
        return 0
    all_ts = [e["ts"] for evs in per_tid.values() for e in evs]
    t0, t1 = min(all_ts), max(all_ts)
    window = max(t1 - t0, 1e-9)
    print(f"trace window: {window / 1000:.3f} ms, {len(per_tid)} workers\n")
    print(f"{'worker':<16}{'util %':>8}{'parked %':>10}{'tasks':>10}{'steals':>8}")

    tasks, gaps = [], []
    for tid in sorted(per_tid):
        evs = sorted(per_tid[tid], key=lambda e: e["ts"])
        spans, steals = spans_of(evs)
        top = sorted((s for s in spans if s[4] == 0), key=lambda s: s[2])
        busy = sum(s[3] - s[2] for s in top if s[0] != "parked")
        parked = sum(s[3] - s[2] for s in spans if s[0] == "parked")
        ran = [s for s in spans if s[0] != "parked"]
        label = names.get(tid, f"worker {tid}")
        print(f"{label:<16}{100 * busy / window:>8.1f}{100 * parked / window:>10.1f}"
              f"{len(ran):>10}{steals:>8}")
        tasks += [(s[3] - s[2], s[0], s[1], label) for s in ran]
        work = [s for s in top if s[0] != "parked"]
        for a, b in zip(work, work[1:]):
            gap = b[2] - a[3]
            if gap >= args.gap_us:
                gaps.append((gap, label, a[3] - t0))

    print(f"\nlongest tasks (top {args.top}):")
    for dur, name, group, label in sorted(tasks, reverse=True)[: args.top]:
        g = f" in group '{group}'" if group else ""
        print(f"  {dur / 1000:10.3f} ms  {name}{g}  on {label}")
    print(f"\nlongest idle gaps between tasks (>= {args.gap_us:g} us, top {args.top}):")
    if not gaps:
        print("  none")
    for gap, label, at in sorted(gaps, reverse=True)[: args.top]:
        print(f"  {gap / 1000:10.3f} ms  on {label} at +{at / 1000:.3f} ms")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except (ValueError, KeyError, json.JSONDecodeError) as err:
        print(f"trace_summary: {err}", file=sys.stderr)
        sys.exit(1)
