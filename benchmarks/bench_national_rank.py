"""Benchmark: the stages after ``assess`` at national scale, from a saved assessment (issue #11).

Loads a pickled :class:`blankspot.Assessment` (by default the national one,
``benchmarks/_cache/national/assessment.pkl``: ``assess(..., compact=True)`` on the inputs of
``benchmarks/bench_national.py``) in a child process, then runs what ``bench_national.py``
runs after ``assess``, with the same arguments:

1. ``candidate_sites`` (2 km); 2. ``rank_sites`` greedy k=1,000 nationally (Lagrangian
   bound, at most 10 s); 3. ``rank_by_region`` greedy k=1,000 in every province
   (``bound="greedy"``).

For each stage: wall time, the child's CPU time (user + system), the load average and the
child's peak RSS so far (``VmHWM``). After loading, the peak is reset to the RSS of the
process holding the assessment (Linux ``/proc/self/clear_refs``; unpickling's transient
peak would otherwise hide the ranking's), so what the ranking adds on top of the
assessment is the difference (``added MB``).

``--save FILE`` writes the plans (site ids in rank order, objective, bound of the national
plan and of every province) as JSON; ``--compare FILE`` checks them against such a file
(exit 1 when they differ): the way to show a faster ranking gives the same plans.

Run: ``python benchmarks/bench_national_rank.py [--assessment PATH] [--save F] [--compare F]``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
DEFAULT = HERE / "_cache" / "national" / "assessment.pkl"

CHILD = r"""
import gc, json, os, pickle, sys, time
import blankspot, blankspot.regions

def hwm_mb():
    with open("/proc/self/status") as fh:
        return next(int(l.split()[1]) / 1024 for l in fh if l.startswith("VmHWM:"))

out = []
def timed(name, fn):
    t, c, load = time.perf_counter(), time.process_time(), os.getloadavg()[0]
    value = fn()
    out.append({"stage": name, "wall_s": round(time.perf_counter() - t, 1),
                "cpu_s": round(time.process_time() - c, 1),
                "load": round(max(load, os.getloadavg()[0]), 1), "peak_mb": round(hwm_mb())})
    print("STAGE " + json.dumps(out[-1]), flush=True)
    return value

def load():
    with open(sys.argv[1], "rb") as fh:
        return pickle.load(fh)

a = timed("load assessment", load)
gc.collect()
try:  # Linux >= 4.0: the peak restarts from the RSS now (unpickling's transient peak gone)
    with open("/proc/self/clear_refs", "w") as fh:
        fh.write("5")
except OSError:
    pass
out[-1]["peak_mb"] = round(hwm_mb())
print("STAGE " + json.dumps(dict(out[-1], stage="assessment held")), flush=True)
sites = timed("candidate_sites 2 km", lambda: blankspot.candidate_sites(a, spacing_m=2000))
plan = timed("rank_sites k=1000 national",
             lambda: blankspot.rank_sites(a, sites, k=1000, method="greedy"))
plans = timed("rank_by_region k=1000 each",
              lambda: blankspot.rank_by_region(a, sites, k=1000, method="greedy", bound="greedy"))

def described(p):
    return {"sites": p.sites["site_id"].astype(str).tolist(), "objective": p.objective,
            "upper_bound": p.upper_bound, "total_uncovered": p.total_uncovered}

print("RESULT " + json.dumps({
    "stages": out, "candidates": len(sites), "national": described(plan),
    "regions": {r: described(p) for r, p in plans.items()},
}), flush=True)
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--assessment", default=str(DEFAULT), help="pickled Assessment")
    parser.add_argument("--save", help="write the plans to this JSON file")
    parser.add_argument("--compare", help="check the plans against this JSON file")
    opts = parser.parse_args()
    if not Path(opts.assessment).exists():
        print(f"no assessment at {opts.assessment}: pickle one first", file=sys.stderr)
        return 1
    print(
        f"ranking benchmark on {opts.assessment}; {os.cpu_count()} CPUs, load "
        f"{os.getloadavg()[0]:.1f} at start",
        flush=True,
    )
    print(f"{'stage':<30}{'wall s':>9}{'CPU s':>9}{'load':>7}{'peak MB':>10}{'added MB':>10}")
    result = None
    base = None
    with subprocess.Popen(
        [sys.executable, "-c", CHILD, opts.assessment], stdout=subprocess.PIPE, text=True
    ) as child:
        assert child.stdout is not None
        for line in child.stdout:
            if line.startswith("STAGE "):
                r = json.loads(line[6:])
                if r["stage"] == "assessment held":
                    base = r["peak_mb"]
                    print(f"{'(assessment held: RSS now)':<48}{base:>10,}", flush=True)
                    continue
                base = r["peak_mb"] if base is None else base
                print(
                    f"{r['stage']:<30}{r['wall_s']:>9.1f}{r['cpu_s']:>9.1f}{r['load']:>7.1f}"
                    f"{r['peak_mb']:>10,}{r['peak_mb'] - base:>10,}",
                    flush=True,
                )
            elif line.startswith("RESULT "):
                result = json.loads(line[7:])
    if child.returncode or result is None:
        print(f"the ranking failed (exit {child.returncode})", file=sys.stderr)
        return 1
    stages = result["stages"][1:]
    wall = sum(s["wall_s"] for s in stages)
    cpu = sum(s["cpu_s"] for s in stages)
    added = max(s["peak_mb"] for s in stages) - result["stages"][0]["peak_mb"]
    nat = result["national"]
    regions = result["regions"]
    print(
        f"{'candidates + ranking':<30}{wall:>9.1f}{cpu:>9.1f}{'':>7}{'':>10}{added:>10,}\n"
        f"candidates {result['candidates']:,}; national: {len(nat['sites']):,} sites connect "
        f"{nat['objective']:,.0f} of {nat['total_uncovered']:,.0f} (bound "
        f"{nat['upper_bound']:,.0f}); {len(regions)} regions: "
        f"{sum(len(p['sites']) for p in regions.values()):,} sites connect "
        f"{sum(p['objective'] for p in regions.values()):,.0f}"
    )
    plans = {"national": nat, "regions": regions}
    if opts.save:
        Path(opts.save).write_text(json.dumps(plans))
    if opts.compare:
        ref = json.loads(Path(opts.compare).read_text())
        diffs = [
            name
            for name, got, want in [("national", nat, ref["national"])]
            + [(f"region {r}", regions.get(r), p) for r, p in ref["regions"].items()]
            if got is None
            or got["sites"] != want["sites"]
            or abs(got["objective"] - want["objective"]) > 1e-6 * max(1.0, want["objective"])
        ]
        if set(regions) != set(ref["regions"]):
            diffs.append("the set of regions")
        if diffs:
            print(f"DIFFERENT from {opts.compare}: {', '.join(diffs)}", file=sys.stderr)
            return 1
        print(f"plans identical to {opts.compare} (site order and objectives)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
