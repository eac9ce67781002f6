"""Benchmark: the whole country on one machine (issue #11).

Inputs from ``benchmarks/national_data.py`` (generated on first run into
``benchmarks/_cache/national/``): ~83,150 village polygons (Voronoi cells of the real desa
points clipped to the real kecamatan), 10 million synthetic businesses in one Parquet file per
province, one synthetic 100 m RSRP raster per province behind a VRT, and the real OpenCelliD
towers (MCC 510).

Stages, each timed in a child process (so the generator's memory is not counted):

1. ``read``: the villages and towers (the businesses are read in batches by ``assess``);
2. ``assess``: coverage = the VRT OR the towers; businesses from
   ``read_businesses_batches`` (1,000,000 rows a batch), ``compact=True``;
3. ``score_villages``; 4. ``candidate_sites`` (2 km); 5. ``rank_sites`` greedy k=1,000
   nationally; 6. ``rank_by_region`` greedy k=1,000 in every province (``bound="greedy"``:
   the Lagrangian bound's 10 s a province would be 38 x 10 s).

For each stage: wall time, CPU time (user + system) of the child and of its worker processes
(``assess(workers=...)`` forks one per core for the UTM zones and the business batches), the
machine's load average, the child's own peak RSS so far (``VmHWM``) and the peak memory of the
child with its workers during the stage, sampled every 0.5 s: the sum of their RSS (counts the
pages the forked workers share with the child once per process) and the sum of their PSS (each
shared page split between the processes sharing it: the memory the run takes from the machine).
Targets: under 10 minutes on 2 cores, under 4 GB (PSS of the child and its workers).
The accounting must add up (covered + uncovered + outside + rejected + unmatched == input);
the script exits 1 if it does not, 2 if a target is missed.

Run: ``python benchmarks/bench_national.py`` (``--provinces 18,16,31`` for a subset: those
provinces' villages and business files; ``--raster-only`` leaves the towers out; ``--stages
assess`` stops after ``assess``; ``--workers 1`` runs ``assess`` in one process;
``--save-assessment PATH`` pickles the national ``Assessment``).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import psutil

HERE = Path(__file__).resolve().parent
TARGET_S = 600.0
TARGET_MB = 4096.0

CHILD = r"""
import json, logging, os, resource, sys, time
import blankspot
import blankspot.prioritise, blankspot.regions  # now: later edits to the tree cannot leak in
from blankspot import coverage

args = json.loads(sys.argv[1])
logging.basicConfig(level=logging.WARNING)
rows = []

def peak_mb():
    with open("/proc/self/status") as fh:  # VmHWM: this process's peak RSS
        for line in fh:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

class stage:
    def __init__(self, name):
        self.name = name
    def __enter__(self):
        self.t, self.c = time.perf_counter(), time.process_time()
        ch = resource.getrusage(resource.RUSAGE_CHILDREN)
        self.ch = ch.ru_utime + ch.ru_stime
        self.load = os.getloadavg()[0]
    def __exit__(self, *exc):
        if exc[0] is not None:
            return False
        ch = resource.getrusage(resource.RUSAGE_CHILDREN)
        row = {"stage": self.name, "wall_s": round(time.perf_counter() - self.t, 1),
               "cpu_s": round(time.process_time() - self.c, 1),
               "workers_cpu_s": round(ch.ru_utime + ch.ru_stime - self.ch, 1),
               "load": round(max(self.load, os.getloadavg()[0]), 1),
               "peak_mb": round(peak_mb())}
        rows.append(row)
        print("STAGE " + json.dumps(row), flush=True)

t_all, c_all = time.perf_counter(), time.process_time()
with stage("read villages, towers"):
    villages = blankspot.read_villages(args["villages"])
    if args["provinces"]:
        villages = villages[villages.index.str[:2].isin(args["provinces"])]
    towers = blankspot.read_towers(args["towers"])
    cov = coverage.from_raster(args["raster"])
    if not args["raster_only"]:
        cov = coverage.union(cov, coverage.from_towers(towers))
    files = sorted(args["businesses"])
    batches = blankspot.read_businesses_batches(files, id_col="business_id", weight_col="weight")

with stage("assess (batches, compact)"):
    a = blankspot.assess(villages, batches, cov, compact=True, workers=args["workers"])
acc = a.accounting
parts = sum(v for k, v in acc.items() if k != "input")
if args["save"]:
    import pickle
    with open(args["save"], "wb") as fh:
        pickle.dump(a, fh, protocol=pickle.HIGHEST_PROTOCOL)
if args["assess_only"]:
    print("RESULT " + json.dumps({
        "total_wall_s": round(time.perf_counter() - t_all, 1),
        "total_cpu_s": round(time.process_time() - c_all, 1),
        "peak_mb": round(peak_mb()), "stages": rows, "accounting": acc,
        "accounting_adds_up": parts == acc["input"], "villages": len(a.villages),
        "blank_spot_villages": int(a.villages["blank_spot"].sum()),
        "blank_spots": len(a.blank_spots),
        "businesses_mb": round(a.businesses.memory_usage(deep=True).sum() / 2**20),
    }), flush=True)
    sys.exit(0)

with stage("score_villages"):
    scores = blankspot.score_villages(a)

with stage("candidate_sites 2 km"):
    sites = blankspot.candidate_sites(a, spacing_m=2000)

with stage("rank_sites k=1000 national"):
    plan = blankspot.rank_sites(a, sites, k=1000, method="greedy")

with stage("rank_by_region k=1000 each"):
    plans = blankspot.rank_by_region(a, sites, k=1000, method="greedy", bound="greedy")

print("RESULT " + json.dumps({
    "total_wall_s": round(time.perf_counter() - t_all, 1),
    "total_cpu_s": round(time.process_time() - c_all, 1),
    "peak_mb": round(peak_mb()), "stages": rows, "accounting": acc,
    "accounting_adds_up": parts == acc["input"],
    "villages": len(a.villages), "blank_spot_villages": int(a.villages["blank_spot"].sum()),
    "blank_spots": len(a.blank_spots), "candidates": len(sites),
    "national_sites": len(plan.sites), "national_connected": plan.objective,
    "national_bound": plan.upper_bound, "uncovered": plan.total_uncovered,
    "regions": len(plans),
    "regional_connected": round(sum(p.objective for p in plans.values())),
    "regional_sites": sum(len(p.sites) for p in plans.values()),
    "businesses_mb": round(a.businesses.memory_usage(deep=True).sum() / 2**20),
}), flush=True)
"""


class _TreeMemory(threading.Thread):
    """Peak RSS and PSS sums (MB) of a process and its descendants, sampled every 0.5 s."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.proc = psutil.Process(pid)
        self.stop = False
        self.rss = self.pss = 0.0
        self.lock = threading.Lock()

    def run(self) -> None:
        while not self.stop:
            try:
                procs = [self.proc, *self.proc.children(recursive=True)]
                rss = pss = 0.0
                for p in procs:
                    info = p.memory_full_info()
                    rss += info.rss / 2**20
                    pss += info.pss / 2**20
            except psutil.Error:
                rss = pss = 0.0  # a worker ended between the listing and the reading
            with self.lock:
                self.rss, self.pss = max(self.rss, rss), max(self.pss, pss)
            time.sleep(0.5)

    def take(self) -> tuple[float, float]:
        """Return the peaks since the last call and start again."""
        with self.lock:
            out = (self.rss, self.pss)
            self.rss = self.pss = 0.0
        return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--provinces", default="", help="comma-separated codes, e.g. 18,16")
    parser.add_argument("--raster-only", action="store_true", help="leave the towers out")
    parser.add_argument("--stages", choices=["all", "assess"], default="all")
    parser.add_argument("--workers", type=int, default=None, help="assess(workers=); default auto")
    parser.add_argument("--save-assessment", default="", help="pickle the Assessment here")
    opts = parser.parse_args()
    from national_data import paths_from_child

    paths = paths_from_child()
    provinces = [p.strip() for p in opts.provinces.split(",") if p.strip()]
    files = sorted(Path(paths["businesses"]).glob("*.parquet"))
    if provinces:
        files = [f for f in files if f.stem in provinces]
    args = {
        "villages": paths["villages"],
        "towers": paths["towers"],
        "raster": paths["raster"],
        "businesses": [str(f) for f in files],
        "provinces": provinces,
        "raster_only": opts.raster_only,
        "workers": opts.workers,
        "save": opts.save_assessment,
        "assess_only": opts.stages == "assess",
    }
    print(
        f"national benchmark: {len(files)} business files, provinces "
        f"{','.join(provinces) or 'all'}; {os.cpu_count()} CPUs, load "
        f"{os.getloadavg()[0]:.1f} at start",
        flush=True,
    )
    print(
        f"{'stage':<30}{'wall s':>9}{'CPU s':>9}{'wrk CPU':>9}{'load':>7}{'VmHWM MB':>10}"
        f"{'RSS sum':>9}{'PSS sum':>9}",
        flush=True,
    )
    result = None
    tree_rss: list[float] = []
    tree_pss: list[float] = []
    with subprocess.Popen(
        [sys.executable, "-c", CHILD, json.dumps(args)], stdout=subprocess.PIPE, text=True
    ) as child:
        assert child.stdout is not None
        sampler = _TreeMemory(child.pid)
        sampler.start()
        for line in child.stdout:  # stage lines as they come
            if line.startswith("STAGE "):
                r = json.loads(line[6:])
                rss, pss = sampler.take()
                tree_rss.append(rss)
                tree_pss.append(pss)
                print(
                    f"{r['stage']:<30}{r['wall_s']:>9.1f}{r['cpu_s']:>9.1f}"
                    f"{r['workers_cpu_s']:>9.1f}{r['load']:>7.1f}{r['peak_mb']:>10,}"
                    f"{rss:>9,.0f}{pss:>9,.0f}",
                    flush=True,
                )
            elif line.startswith("RESULT "):
                result = json.loads(line[7:])
        sampler.stop = True
    if child.returncode or result is None:
        print(f"the pipeline failed (exit {child.returncode})", file=sys.stderr)
        return 1
    r = result
    r["tree_rss_mb"] = round(max(tree_rss, default=0.0))
    r["tree_pss_mb"] = round(max(tree_pss, default=0.0))
    wcpu = sum(s["workers_cpu_s"] for s in r["stages"])
    print(
        f"{'total':<30}{r['total_wall_s']:>9.1f}{r['total_cpu_s']:>9.1f}{wcpu:>9.1f}{'':>7}"
        f"{r['peak_mb']:>10,}{r['tree_rss_mb']:>9,}{r['tree_pss_mb']:>9,}"
    )
    if args["assess_only"]:
        print(f"accounting: {r['accounting']} (adds up: {r['accounting_adds_up']})")
        return 0 if r["accounting_adds_up"] else 1
    print(
        f"villages {r['villages']:,} ({r['blank_spot_villages']:,} blank-spot villages); "
        f"blank-spot polygons {r['blank_spots']:,}; candidates {r['candidates']:,}; "
        f"compact businesses table {r['businesses_mb']:,} MB"
    )
    print(f"accounting: {r['accounting']} (adds up: {r['accounting_adds_up']})")
    print(
        f"national k=1000: {r['national_sites']:,} sites connect "
        f"{r['national_connected']:,.0f} of {r['uncovered']:,.0f} uncovered (bound "
        f"{r['national_bound']:,.0f}); per province (k=1000 each, {r['regions']} regions): "
        f"{r['regional_sites']:,} sites connect {r['regional_connected']:,}"
    )
    (HERE / "_cache" / "national" / "result.json").write_text(json.dumps(r, indent=1))
    if not r["accounting_adds_up"]:
        print("FAIL: the accounting does not add up", file=sys.stderr)
        return 1
    peak = max(r["peak_mb"], r["tree_pss_mb"])
    ok_time, ok_mem = r["total_wall_s"] <= TARGET_S, peak <= TARGET_MB
    print(
        f"targets: wall {r['total_wall_s']:.0f} s (< {TARGET_S:.0f}: "
        f"{'met' if ok_time else 'MISSED'}), peak {peak:,} MB (< {TARGET_MB:.0f}: "
        f"{'met' if ok_mem else 'MISSED'}); CPU {r['total_cpu_s'] + wcpu:.0f} s. On a shared "
        "machine compare CPU time and load: wall time grows with the others' load."
    )
    return 0 if ok_time and ok_mem else 2


if __name__ == "__main__":
    sys.exit(main())
