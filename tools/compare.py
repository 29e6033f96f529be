#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Compare cohort with its peers from a Google Benchmark JSON run of cohort_bench.

Runs bench/cohort_bench (or reads its JSON with --input), takes the per-repetition
entries (not Google Benchmark's aggregates), and computes for every
<workload>/<impl>/workers:<N> the median and the min-max over the repetitions. Then:

  * a time table: per workload and worker count, each cohort variant's median time, each
    peer's (oneTBB, OpenMP, serial), and the ratio cohort/peer with its spread
    [cohort min / peer max, cohort max / peer min]. Below 1: cohort is faster.
  * a counter table: rss_mb, p50_us/p99_us, cpu_ms_per_2s, throughputs; each ratio says
    which way is better.
  * with --targets, the issue's targets, PASS or MISS on the medians (and whether the
    whole min-max spread agrees).

Writes <out-dir>/comparison.md, comparison.json and, with gnuplot, comparison.png (the
ratio cohort/tbb, and cohort/omp, per workload, a bar per worker count, min-max error
bars, a line at 1). Standard library only. The numbers (reading the run, medians, ratios,
the tables and targets) are computed in tools/comparison.py; this file formats them and
is the command line.

  tools/compare.py --input bench/results/raw.json --targets
  tools/compare.py --binary build/release/bench/cohort_bench --repetitions 3 \\
      --filter 'fib|skynet' -- --benchmark_min_time=0.1
"""

import argparse
import datetime
import json
import math
import os
import platform
import shutil
import subprocess
import sys
import tempfile

from comparison import COUNTERS, UNTIMED_WORKLOADS, Comparison, load, ratio, stats

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


# ---- formatting ----------------------------------------------------------------------

def fmt_time(s):
    if s is None:
        return "—"
    ms = s["median"]
    if ms >= 1000:
        return f"{ms / 1000:.2f} s"
    if ms >= 1:
        return f"{ms:.2f} ms"
    if ms >= 1e-3:
        return f"{ms * 1e3:.1f} µs"
    return f"{ms * 1e6:.0f} ns"


def fmt_ratio(r):
    if r is None:
        return "—"
    return f"**{r['ratio']:.2f}** ({r['lo']:.2f}–{r['hi']:.2f})"


def fmt_value(s, name):
    if s is None:
        return "—"
    f = COUNTERS.get(name, ("", False, "{:.3g}"))[2]
    if s["min"] == s["max"]:
        return f.format(s["median"])
    return f"{f.format(s['median'])} ({f.format(s['min'])}–{f.format(s['max'])})"


def machine_info(context):
    info = {}
    info["nproc"] = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    model = "unknown"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    info["cpu"] = model
    info["kernel"] = platform.release()
    info["report_date"] = datetime.datetime.now().astimezone().isoformat(timespec="seconds")
    info["run_date"] = context.get("date", "?")
    info["num_cpus"] = context.get("num_cpus")
    info["mhz_per_cpu"] = context.get("mhz_per_cpu")
    info["load_avg_at_start"] = context.get("load_avg")
    for k in ("cohort_version", "tbb_version", "openmp_version", "compiler", "worker_counts", "host_name",
              "library_build_type"):
        if k in context:
            info[k] = context[k]
    try:
        rev = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"], capture_output=True,
                             text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", ROOT, "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True).stdout.strip()
        info["git"] = rev + (" (with uncommitted changes)" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        pass
    return info


def markdown(cmp, rows, crows, targets, info, source):
    out = ["# cohort vs oneTBB / OpenMP / serial", ""]
    out.append("| machine | |")
    out.append("|---|---|")
    out.append(f"| CPU | {info['cpu']} |")
    out.append(f"| nproc | {info['nproc']} (Google Benchmark saw {info.get('num_cpus')} CPUs at "
               f"{info.get('mhz_per_cpu')} MHz) |")
    out.append(f"| kernel | {info['kernel']} |")
    out.append(f"| run | {info['run_date']} (load average at start: "
               f"{', '.join(f'{x:.2f}' for x in info.get('load_avg_at_start') or [])}) |")
    out.append(f"| report | {info['report_date']} |")
    for k in ("git", "cohort_version", "tbb_version", "openmp_version", "compiler", "worker_counts"):
        if k in info:
            out.append(f"| {k.replace('_', ' ')} | {info[k]} |")
    out.append("")
    out.append(f"Statistics over {source}: median, and (min–max). A ratio's spread is "
               "[cohort min / peer max, cohort max / peer min]. Times are wall-clock.")
    out.append("")

    if targets is not None:
        out += ["## Targets", "", "| target | measured (min–max) | result |", "|---|---|---|"]
        for t in targets:
            if "measured" not in t:
                out.append(f"| {t['target']} | — | {t['status']} |")
                continue
            out.append(f"| {t['target']} | {t['measured']:.3g} {t['unit']} ({t['lo']:.3g}–{t['hi']:.3g}) | "
                       f"{t['status']} |")
        out.append("")

    out += ["## Time (lower is better; ratio = cohort / peer, below 1: cohort faster)", ""]
    peers = cmp.peers
    header = ["workload", "workers", "cohort impl", "cohort"] + peers + [f"cohort / {p}" for p in peers]
    out.append("| " + " | ".join(header) + " |")
    out.append("|" + "---|" * len(header))
    for r in rows:
        cells = [r["workload"], str(r["workers"]), r["impl"],
                 ("ERROR: " + r["error"]) if r["error"] else fmt_time(r["time_ms"])]
        for p in peers:
            pr = r["peers"].get(p)
            cells.append("—" if pr is None else (("ERROR: " + pr["error"]) if pr["error"] else fmt_time(pr["time_ms"])))
        for p in peers:
            pr = r["peers"].get(p)
            cells.append(fmt_ratio(pr["ratio"]) if pr else "—")
        out.append("| " + " | ".join(cells) + " |")
    out.append("")

    if crows:
        out += ["## Counters (advantage > 1: cohort better, whichever way the counter points)", ""]
        header = ["workload", "workers", "cohort impl", "counter", "cohort"] + peers + \
                 [f"advantage vs {p}" for p in peers]
        out.append("| " + " | ".join(header) + " |")
        out.append("|" + "---|" * len(header))
        for r in crows:
            name = r["counter"]
            label = COUNTERS.get(name, (name,))[0]
            cells = [r["workload"], str(r["workers"]), r["impl"], f"{name} ({label})", fmt_value(r["value"], name)]
            for p in peers:
                pr = r["peers"].get(p)
                cells.append(fmt_value(pr["value"], name) if pr else "—")
            for p in peers:
                pr = r["peers"].get(p)
                cells.append(fmt_ratio(pr["advantage"]) if pr else "—")
            out.append("| " + " | ".join(cells) + " |")
        out.append("")
    if any(r["counter"] == "rss_mb" for r in crows):
        out.append("Note on rss_mb: memory is measured as VmRSS growth after malloc_trim(0); a peer's own "
                   "allocator (oneTBB's pools) may reuse memory it kept from an earlier pass, so the peers' "
                   "figures are lower bounds.")
        out.append("")
    if info.get("library_build_type") == "debug":
        out.append("Note: Google Benchmark reports its own library as a debug build (Debian's package); "
                   "the measured code is built Release.")
        out.append("")
    out.append("Plot: `comparison.png` (cohort / tbb and cohort / omp time per workload, error bars min–max).")
    return "\n".join(out) + "\n"


def short_ratio(r):
    return "—" if r is None else f"{r['ratio']:.2f} ({r['lo']:.2f}-{r['hi']:.2f})"


def console(rows, crows, targets, peers):
    lines = []
    w0 = max([len(r["workload"]) for r in rows + crows] + [8])
    i0 = max([len(r["impl"]) for r in rows + crows] + [6])
    head = f"{'workload':<{w0}} {'wk':>3} {'impl':<{i0}} {'cohort':>10}"
    for p in peers:
        head += f" {p:>10}"
    for p in peers:
        head += f" {'c/' + p:>20}"
    lines.append(head)
    for r in rows:
        line = f"{r['workload']:<{w0}} {r['workers']:>3} {r['impl']:<{i0}} "
        line += f"{'ERROR' if r['error'] else fmt_time(r['time_ms']):>10}"
        for p in peers:
            pr = r["peers"].get(p)
            line += f" {('ERROR' if pr and pr['error'] else fmt_time(pr['time_ms']) if pr else '—'):>10}"
        for p in peers:
            pr = r["peers"].get(p)
            line += f" {short_ratio(pr['ratio'] if pr else None):>20}"
        lines.append(line)
    if crows:
        lines.append("")
        lines.append("counters (advantage > 1: cohort better)")
        for r in crows:
            name = r["counter"]
            line = f"{r['workload']:<{w0}} {r['workers']:>3} {r['impl']:<{i0}} {name:<16} {fmt_value(r['value'], name):>24}"
            for p in peers:
                pr = r["peers"].get(p)
                if pr:
                    line += f"  {p}: {fmt_value(pr['value'], name)} (adv {short_ratio(pr['advantage'])})"
            lines.append(line)
    if targets is not None:
        lines.append("")
        lines.append("targets")
        for t in targets:
            if "measured" in t:
                lines.append(f"  {t['status'].split(' ')[0]:<5} {t['target']}: {t['measured']:.3g} {t['unit']} "
                             f"({t['lo']:.3g}-{t['hi']:.3g})" + ("  [spread crosses]" if "crosses" in t["status"] else ""))
            else:
                lines.append(f"  n/a   {t['target']}")
    return "\n".join(lines)


# ---- the plot ------------------------------------------------------------------------

def plot(cmp, out_png, workdir):
    """cohort / peer time ratio per workload, a bar per worker count drawn from the parity
    line (up: cohort slower, down: cohort faster), min-max error bars. Needs gnuplot."""
    gnuplot = shutil.which("gnuplot")
    if gnuplot is None:
        return "gnuplot not found; no plot"
    panels = []
    for peer in ("tbb", "omp"):
        workloads = [w for w in cmp.workloads if w not in UNTIMED_WORKLOADS and
                     any(ratio(cmp.time(w, "cohort", n), cmp.time(w, peer, n)) for n in cmp.workers[w])]
        if workloads:
            panels.append((peer, workloads))
    if not panels:
        return "no cohort/tbb or cohort/omp pairs; no plot"
    counts = sorted({n for w in cmp.workloads for n in cmp.workers[w]})
    k = len(counts)
    slot = 0.8 / k
    script = [
        f"set terminal pngcairo size {max(900, 110 * max(len(w) for _, w in panels) + 200)},"
        f"{430 * len(panels) + 60} font 'DejaVu Sans,10' noenhanced",
        f"set output '{out_png}'",
        f"set multiplot layout {len(panels)},1 title 'cohort vs peers: wall-time ratio per workload "
        f"(median; error bars: min–max over repetitions)' font ',12'",
        "set logscale y 2",
        "set grid ytics lc rgb '#dddddd'",
        "set key outside right top",
        "set style fill solid 0.75 border -1",
        "set bmargin 6",
    ]
    for panel, (peer, workloads) in enumerate(panels):
        data = os.path.join(workdir, f"comparison_{peer}.dat")
        lows, highs = [1.0], [1.0]
        with open(data, "w") as f:
            for j, n in enumerate(counts):
                f.write(f"# workers {n}\n")
                for i, w in enumerate(workloads):
                    r = ratio(cmp.time(w, "cohort", n), cmp.time(w, peer, n))
                    x = i + (j - (k - 1) / 2) * slot
                    if r is None:
                        f.write(f"{x} NaN NaN NaN NaN NaN\n")
                        continue
                    lows.append(r["lo"])
                    highs.append(r["hi"])
                    f.write(f"{x} {r['ratio']} {r['lo']} {r['hi']} {min(1.0, r['ratio'])} {max(1.0, r['ratio'])}\n")
                f.write("\n\n")
        ymin = 2 ** math.floor(math.log2(min(lows) / 1.4))
        ymax = 2 ** math.ceil(math.log2(max(highs) * 1.4))
        xtics = ", ".join(f'"{w}" {i}' for i, w in enumerate(workloads))
        script += [
            f"set title 'cohort / {'oneTBB' if peer == 'tbb' else 'OpenMP' if peer == 'omp' else peer} "
            f"(below 1: cohort faster)'",
            f"set xtics ({xtics}) rotate by -30 left",
            f"set xrange [-0.6:{len(workloads) - 0.4}]",
            f"set yrange [{ymin}:{ymax}]",
            "set ylabel 'cohort time / peer time'",
            "unset arrow",
            "set arrow from graph 0, first 1 to graph 1, first 1 nohead lw 2 lc rgb '#cc0000' front",
        ]
        parts = []
        colors = ["#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948", "#b07aa1", "#ff9da7"]
        for j, n in enumerate(counts):
            c = colors[j % len(colors)]
            parts.append(f"'{data}' index {j} using 1:2:($1-{slot * 0.45}):($1+{slot * 0.45}):5:6 "
                         f"with boxxyerror lc rgb '{c}' title '{n} worker{'s' if n > 1 else ''}'")
            parts.append(f"'{data}' index {j} using 1:3:(0):($4-$3) with vectors heads size screen 0.004,90 "
                         f"lw 1 lc rgb 'black' notitle")
            parts.append(f"'{data}' index {j} using 1:($2>=1?$4:NaN):(sprintf('%.2f',$2)) "
                         f"with labels offset 0,0.7 font ',8' notitle")
            parts.append(f"'{data}' index {j} using 1:($2<1?$3:NaN):(sprintf('%.2f',$2)) "
                         f"with labels offset 0,-0.7 font ',8' notitle")
        script.append("plot " + ", \\\n     ".join(parts))
    script.append("unset multiplot")
    gp = os.path.join(workdir, "comparison.gp")
    with open(gp, "w") as f:
        f.write("\n".join(script) + "\n")
    res = subprocess.run([gnuplot, gp], capture_output=True, text=True)
    if res.returncode != 0:
        return "gnuplot failed: " + res.stderr.strip()
    return None


# ---- main ----------------------------------------------------------------------------

def run_benchmark(args, raw):
    cmd = [args.binary, f"--benchmark_repetitions={args.repetitions}", "--benchmark_out_format=json",
           f"--benchmark_out={raw}"]
    if args.filter:
        cmd.append(f"--benchmark_filter={args.filter}")
    cmd += args.extra
    print("running: " + " ".join(cmd), file=sys.stderr)
    # The console report goes to stderr so that stdout carries only the comparison.
    res = subprocess.run(cmd, stdout=sys.stderr)
    if res.returncode != 0:
        sys.exit(f"compare.py: {args.binary} exited with {res.returncode}")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--input", help="a Google Benchmark JSON file to read instead of running the suite")
    ap.add_argument("--binary", default=os.path.join(ROOT, "build", "release", "bench", "cohort_bench"),
                    help="the cohort_bench to run (default: build/release/bench/cohort_bench)")
    ap.add_argument("--repetitions", type=int, default=3, help="repetitions when running (default 3)")
    ap.add_argument("--filter", help="--benchmark_filter when running")
    ap.add_argument("--out-dir", default=os.path.join(ROOT, "bench", "results"),
                    help="where comparison.{md,json,png} go (default bench/results)")
    ap.add_argument("--targets", action="store_true", help="also check the issue's targets (PASS/MISS)")
    ap.add_argument("--no-plot", action="store_true", help="skip the gnuplot PNG")
    ap.add_argument("extra", nargs="*", help="after --: more arguments for the benchmark binary")
    args = ap.parse_args()

    os.makedirs(args.out_dir, exist_ok=True)
    raw = args.input
    if raw is None:
        raw = os.path.join(args.out_dir, "raw.json")
        run_benchmark(args, raw)

    context, runs, order, source = load(raw)
    if not runs:
        sys.exit(f"compare.py: no benchmark entries in {raw}")
    cmp = Comparison(context, runs, order)
    rows = cmp.time_rows()
    crows = cmp.counter_rows()
    targets = cmp.targets() if args.targets else None
    info = machine_info(context)

    md_path = os.path.join(args.out_dir, "comparison.md")
    with open(md_path, "w") as f:
        f.write(markdown(cmp, rows, crows, targets, info, source))
    json_path = os.path.join(args.out_dir, "comparison.json")
    with open(json_path, "w") as f:
        json.dump({
            "machine": info,
            "source": os.path.abspath(raw),
            "statistics": source,
            "runs": [{"workload": w, "impl": i, "workers": n, "time_ms": stats(r["time_ms"]),
                      "counters": {k: stats(v) for k, v in r["counters"].items()}, "error": r["error"]}
                     for (w, i, n), r in runs.items()],
            "time_ratios": rows,
            "counters": crows,
            "targets": targets,
        }, f, indent=1)

    print(console(rows, crows, targets, cmp.peers))
    print(f"\nwrote {md_path}\nwrote {json_path}")
    if not args.no_plot:
        png = os.path.join(args.out_dir, "comparison.png")
        with tempfile.TemporaryDirectory() as workdir:
            problem = plot(cmp, png, workdir)
        print(f"plot: {problem}" if problem else f"wrote {png}")
    errors = [f"{w}/{i}/workers:{n}: {r['error']}" for (w, i, n), r in runs.items() if r["error"]]
    if errors:
        print("\nbenchmarks that reported an error:\n  " + "\n  ".join(errors))
        sys.exit(1)


if __name__ == "__main__":
    main()
