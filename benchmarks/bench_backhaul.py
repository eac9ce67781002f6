"""Benchmark the backhaul plan (issue #10): 2,000 sites, 6,000 towers, DEM line of sight.

Run from the repository root::

    python benchmarks/bench_backhaul.py                  # the issue's case
    python benchmarks/bench_backhaul.py --sites 500 --towers 1500 --no-dem

The case (generated here with a fixed seed, in metres on a UTM 48S square the size of
Lampung, 183 x 183 km ~ 33,500 km2):

* a synthetic DEM, 90 m pixels (SRTM's resolution), 2,034 x 2,034 float32 GeoTIFF: 40
  Gaussian hills of 100-1,200 m (sigma 3-12 km) on a plain, more of them in the west as in
  Lampung's Bukit Barisan;
* 15 fibre points of presence (one per kabupaten, uniform), 6,000 existing towers and
  2,000 new sites, uniform, mast height 30 m, 7 GHz, 0.6 Fresnel, hops up to 30 km;
  ``--capacity N`` gives every tower and PoP a capacity of N sites.

It times ``plan_backhaul`` end to end (reading the DEM, the KD-tree pairs, the lazy terrain
checks, Dijkstra, the Steiner tree and the result tables), and prints how many node pairs
were within reach and how many were checked on the terrain, with the wall and CPU time
(this process) and the load average. Target: under 30 s on 2 cores.
Numbers are printed, never asserted: timing on shared machines varies.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from affine import Affine

import geopandas as gpd
import rasterio
import shapely

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from blankspot.backhaul import plan_backhaul

CRS_UTM = "EPSG:32748"
X0, Y0 = 350_000.0, 9_350_000.0
SIDE_M = 183_000.0
PIXEL_M = 90.0


def make_dem(path: Path, rng: np.random.Generator) -> Path:
    """Gaussian hills on a plain, written as a tiled float32 GeoTIFF."""
    n = int(np.ceil(SIDE_M / PIXEL_M)) + 1
    x = X0 + (np.arange(n) + 0.5) * PIXEL_M
    y = Y0 + SIDE_M - (np.arange(n) + 0.5) * PIXEL_M
    z = np.zeros((n, n), dtype="float32")
    # more and higher hills in the west third
    cx = np.concatenate([rng.uniform(0, SIDE_M / 3, 25), rng.uniform(0, SIDE_M, 15)]) + X0
    cy = rng.uniform(0, SIDE_M, 40) + Y0
    h = np.concatenate([rng.uniform(300, 1200, 25), rng.uniform(100, 400, 15)])
    sig = rng.uniform(3000, 12000, 40)
    for a, b, hh, s in zip(cx, cy, h, sig, strict=True):
        gx = np.exp(-((x - a) ** 2) / (2 * s * s)).astype("float32")
        gy = np.exp(-((y - b) ** 2) / (2 * s * s)).astype("float32")
        z += np.float32(hh) * np.outer(gy, gx)
    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        width=n,
        height=n,
        count=1,
        dtype="float32",
        crs=CRS_UTM,
        transform=Affine(PIXEL_M, 0, X0, 0, -PIXEL_M, Y0 + SIDE_M),
        tiled=True,
        blockxsize=256,
        blockysize=256,
    ) as dst:
        dst.write(z, 1)
    return path


def points(rng: np.random.Generator, n: int, prefix: str, **cols) -> gpd.GeoDataFrame:
    margin = 1000.0
    xy = rng.uniform(margin, SIDE_M - margin, size=(n, 2)) + np.array([X0, Y0])
    return gpd.GeoDataFrame(
        cols,
        geometry=shapely.points(xy),
        index=pd.Index([f"{prefix}{i:05d}" for i in range(n)]),
        crs=CRS_UTM,
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sites", type=int, default=2000)
    ap.add_argument("--towers", type=int, default=6000)
    ap.add_argument("--fibre", type=int, default=15)
    ap.add_argument("--no-dem", action="store_true", help="check links by distance only")
    ap.add_argument("--seed", type=int, default=10)
    ap.add_argument(
        "--capacity", type=int, default=None, help="capacity of every tower and PoP (sites)"
    )
    ap.add_argument("--repeat", type=int, default=1, help="runs; the best is reported")
    args = ap.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    rng = np.random.default_rng(args.seed)
    with tempfile.TemporaryDirectory() as tmp:
        dem = None
        if not args.no_dem:
            t0 = time.perf_counter()
            dem = make_dem(Path(tmp) / "dem.tif", rng)
            print(f"DEM written in {time.perf_counter() - t0:.1f} s (not part of the timing)")
        fibre = points(rng, args.fibre, "F", kind="fibre")
        towers = points(rng, args.towers, "T", kind="tower")
        network = pd.concat([fibre, towers])
        if args.capacity is not None:
            network["capacity"] = args.capacity
        sites = points(rng, args.sites, "S")
        best, best_cpu = np.inf, np.inf
        for _ in range(args.repeat):
            t0, c0 = time.perf_counter(), time.process_time()
            b = plan_backhaul(sites, network, dem=dem, crs=CRS_UTM)
            best = min(best, time.perf_counter() - t0)
            best_cpu = min(best_cpu, time.process_time() - c0)
        counts = b.sites["backhaul"].value_counts().to_dict()
        print(
            f"plan_backhaul: {args.sites:,} sites, {args.towers:,} towers, {args.fibre} fibre"
            f"{'' if dem else ' (no DEM)'}"
            f"{'' if args.capacity is None else f', capacity {args.capacity}'}: "
            f"best of {args.repeat}: {best:.1f} s wall, "
            f"{best_cpu:.1f} s CPU (load average {os.getloadavg()[0]:.1f})"
        )
        print(
            f"  {len(b.feasible):,} candidate links within 30 km, "
            f"{int(b.feasible['checked'].sum()):,} checked ({'terrain' if dem else 'distance'}),"
            f" {len(b.links):,} built ({b.steiner}); backhaul {counts}; "
            f"total Rp {b.total_cost_idr:,.0f}"
        )


if __name__ == "__main__":
    main()
