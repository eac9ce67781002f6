"""Benchmark: the whole country on one machine (issue #11).

Inputs from ``benchmarks/national_data.py`` (generated on first run into
``benchmarks/_cache/national/``): ~83,200 village polygons (Voronoi cells of the real
desa points clipped to the real kecamatan), 10 million synthetic businesses, one synthetic
100 m RSRP raster per province behind a VRT, and the real OpenCelliD towers (MCC 510).

Stages, each timed: reading, ``assess`` (coverage = the VRT OR the towers), ``score_villages``,
``candidate_sites``, ``rank_sites`` (greedy, k=1,000 nationally, then k=1,000 per province).
Peak memory is the process's ``ru_maxrss`` (the pipeline runs in a child process, so the
generator's memory is not counted). Targets: under 10 minutes on 2 cores, under 4 GB.

Run: ``python benchmarks/bench_national.py`` (``--raster-only`` leaves the towers out).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent

CHILD = r"""
import dataclasses, json, logging, resource, sys, time
import numpy as np, pandas as pd
import blankspot
from blankspot import coverage

paths = json.loads(sys.argv[1])
raster_only = sys.argv[2] == "1"
logging.basicConfig(level=logging.WARNING)
times = {}

def stage(name, t0):
    times[name] = round(time.perf_counter() - t0, 1)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{name:<28} {times[name]:8.1f} s   peak RSS so far {peak:,.0f} MB", flush=True)

t_all = time.perf_counter()
t0 = time.perf_counter()
villages = blankspot.read_villages(paths["villages"])
raw = pd.read_parquet(paths["businesses"])
biz = blankspot.read_businesses(raw, lon_col="lon", lat_col="lat", weight_col="weight")
del raw
towers = blankspot.read_towers(paths["towers"])
stage("read", t0)

t0 = time.perf_counter()
cov = coverage.from_raster(paths["raster"])
if not raster_only:
    cov = coverage.union(cov, coverage.from_towers(towers))
a = blankspot.assess(villages, biz, cov)
stage("assess", t0)
acc = a.accounting
assert sum(v for k, v in acc.items() if k != "input") == acc["input"]

t0 = time.perf_counter()
scores = blankspot.score_villages(a)
stage("score_villages", t0)

t0 = time.perf_counter()
sites = blankspot.candidate_sites(a, spacing_m=2000)
stage("candidate_sites", t0)

t0 = time.perf_counter()
plan = blankspot.rank_sites(a, sites, k=1000, method="greedy")
stage("rank_sites national k=1000", t0)

t0 = time.perf_counter()
prov_v = a.villages.index.str[:2]
prov_b = a.businesses["village_id"].str[:2]
prov_s = sites["village_id"].str[:2]
per_province = {}
for p in sorted(prov_v.unique()):
    ap = dataclasses.replace(
        a,
        villages=a.villages[prov_v == p],
        businesses=a.businesses[(prov_b == p).fillna(False).to_numpy()],
        blank_spots=a.blank_spots[a.blank_spots["village_id"].str[:2] == p],
    )
    sp = sites[(prov_s == p).fillna(False).to_numpy()]
    if len(sp) == 0:
        per_province[p] = 0.0
        continue
    per_province[p] = float(blankspot.rank_sites(ap, sp, k=1000, method="greedy").objective)
stage("rank_sites per province", t0)
total = time.perf_counter() - t_all
peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({
    "total_s": round(total, 1), "peak_mb": round(peak_mb), "stages": times,
    "accounting": acc, "villages": len(a.villages), "blank_spots": len(a.blank_spots),
    "candidates": len(sites), "national_connected": plan.objective,
    "per_province_connected": round(sum(per_province.values())),
}))
"""


def main() -> None:
    gen = subprocess.run(
        [
            sys.executable,
            "-c",
            "import json, sys; sys.path.insert(0, sys.argv[1]); import national_data; "
            "print(json.dumps({k: str(v) for k, v in national_data.main().items()}))",
            str(HERE),
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    paths = json.loads(gen.stdout.strip().splitlines()[-1])
    raster_only = "1" if "--raster-only" in sys.argv else "0"
    lines = []
    with subprocess.Popen(
        [sys.executable, "-c", CHILD, json.dumps(paths), raster_only],
        stdout=subprocess.PIPE,
        text=True,
    ) as child:
        assert child.stdout is not None
        for line in child.stdout:  # stage lines as they come
            lines.append(line)
            if not line.startswith("{"):
                print(line, end="", flush=True)
    if child.returncode:
        sys.exit(f"the pipeline failed (exit {child.returncode})")
    res = json.loads(lines[-1])
    print(
        f"villages {res['villages']:,}; blank-spot polygons {res['blank_spots']:,}; "
        f"candidates {res['candidates']:,}"
    )
    print(f"accounting: {res['accounting']}")
    print(
        f"connected by k=1000 nationally: {res['national_connected']:,.0f}; "
        f"by k=1000 per province (sum): {res['per_province_connected']:,}"
    )
    print(
        f"total: {res['total_s']:.0f} s (target < 600 s); peak RSS {res['peak_mb']:,} MB "
        "(target < 4096 MB)"
    )


if __name__ == "__main__":
    main()
