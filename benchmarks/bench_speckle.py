"""Worst case for memory: a huge raster of per-pixel noise over the Lampung villages.

Run with ``python benchmarks/bench_speckle.py`` (``--sizes 10000 20000 30000`` by default;
``--exact-size 4000`` sets the size of the exactness check, 0 skips it).

The raster is int16 RSRP of i.i.d. noise around the threshold (``-110 + N(0, 10)`` dBm, so each
pixel is covered with probability 1/2 independently of its neighbours): every village is cut
into hundreds of thousands of blank-spot specks, the worst case for the uncovered polygons. It
spans the villages' extent (265 x 255 km; 8.8 m pixels at 30,000 x 30,000), tiled 512 x 512,
uncompressed (noise does not compress), and is generated strip by strip on the first run into
``benchmarks/_cache/`` (1.8 GB at 30,000; not committed).

For each size a fresh subprocess runs ``from_raster(...).village_cover(villages)`` (what
``assess`` does with the raster: exact covered shares plus the blank-spot pieces) and reports
its wall time and peak RSS (``ru_maxrss``); time per pixel should stay flat (linear time) and
the peak under 3 GB. The exactness check compares the village shares on a smaller raster of the
same noise with exactextract (coverage-weighted mean of the 0/1 covered mask).

Villages: the real 2,640 Lampung desa/kelurahan (``$BLANKSPOT_SHARED_DATA`` or
``../shared/data``), else the seeded Voronoi stand-in of ``bench_coverage.py``. Numbers are
printed, never asserted: timing on shared machines varies.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from affine import Affine

import geopandas as gpd
import rasterio
from rasterio.windows import Window

HERE = Path(__file__).resolve().parent
CACHE = HERE / "_cache"
CRS = "EPSG:32748"
SEED = 20261129
THRESHOLD_DBM = -110.0


def villages() -> tuple[gpd.GeoDataFrame, str]:
    """The Lampung villages in UTM 48S (see the module docstring)."""
    shared = os.environ.get("BLANKSPOT_SHARED_DATA")
    sys.path.insert(0, str(HERE))
    import bench_coverage

    if shared:
        bench_coverage.SHARED = Path(shared) / "lampung_boundaries"
    return bench_coverage.load_villages(np.random.default_rng(SEED))


def noise_raster(n: int, bounds: tuple[float, ...]) -> Path:
    """Generate (once) the n x n int16 noise raster over ``bounds``, strip by strip."""
    CACHE.mkdir(exist_ok=True)
    path = CACHE / f"speckle_{n}.tif"
    if path.exists():
        return path
    xmin, ymin, xmax, ymax = bounds
    size = max(xmax - xmin, ymax - ymin) / n
    transform = Affine(size, 0, xmin, 0, -size, ymax)
    rng = np.random.default_rng(SEED + n)
    tmp = path.with_suffix(".part.tif")
    profile = {
        "driver": "GTiff", "width": n, "height": n, "count": 1, "dtype": "int16", "crs": CRS,
        "transform": transform, "tiled": True, "blockxsize": 512, "blockysize": 512,
        "BIGTIFF": "YES",
    }  # fmt: skip
    t0 = time.perf_counter()
    with rasterio.open(tmp, "w", **profile) as dst:
        for r in range(0, n, 512):
            h = min(512, n - r)
            strip = np.rint(THRESHOLD_DBM + rng.normal(0, 10, (h, n))).astype("int16")
            dst.write(strip, 1, window=Window(0, r, n, h))
    tmp.rename(path)
    print(f"generated {path.name} ({path.stat().st_size / 1e9:.2f} GB) in "
          f"{time.perf_counter() - t0:.0f} s", flush=True)  # fmt: skip
    return path


def child(raster: str, villages_file: str) -> None:
    """Run in a subprocess: one village_cover, then print time and peak RSS as JSON."""
    from blankspot.coverage import from_raster

    vil = gpd.read_parquet(villages_file)
    t0 = time.perf_counter()
    cover = from_raster(raster, threshold_dbm=THRESHOLD_DBM).village_cover(vil.geometry, CRS)
    seconds = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # kB on Linux
    np.save(Path(villages_file).with_suffix(".shares.npy"), cover.covered_share)
    print(json.dumps({
        "seconds": seconds, "peak_rss_gb": peak / 1e9, "pieces": len(cover.uncovered),
        "piece_vertices": int(cover.uncovered.count_coordinates().sum()),
    }))  # fmt: skip


def measure(raster: Path, villages_file: Path) -> dict:
    env = {**os.environ, "PYTHONPATH": str(HERE.parent)}
    done = subprocess.run(
        [sys.executable, __file__, "--child", str(raster), str(villages_file)],
        env=env, capture_output=True, text=True, check=True,
    )  # fmt: skip
    out = json.loads(done.stdout.strip().splitlines()[-1])
    out["warning"] = next((ln for ln in done.stderr.splitlines() if "speckled" in ln), "")
    return out


def exactness(n: int, vil: gpd.GeoDataFrame, villages_file: Path) -> float:
    """Largest share difference (percentage points) against exactextract on an n x n raster."""
    from exactextract import exact_extract

    raster = noise_raster(n, tuple(vil.total_bounds))
    measure(raster, villages_file)
    ours = np.load(villages_file.with_suffix(".shares.npy"))
    mask = CACHE / f"speckle_{n}_covered.tif"
    with rasterio.open(raster) as src:
        profile = src.profile | {"dtype": "uint8"}
        with rasterio.open(mask, "w", **profile) as dst:
            for _, window in src.block_windows(1):
                dst.write((src.read(1, window=window) >= THRESHOLD_DBM).astype("uint8"), 1,
                          window=window)  # fmt: skip
    ee = exact_extract(str(mask), vil.reset_index(drop=True), "mean", output="pandas")
    return float(np.nanmax(np.abs(ee["mean"].to_numpy() - ours)) * 100)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 20_000, 30_000])
    parser.add_argument("--exact-size", type=int, default=4_000)
    parser.add_argument("--child", nargs=2, metavar=("RASTER", "VILLAGES"))
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return
    vil, origin = villages()
    CACHE.mkdir(exist_ok=True)
    villages_file = CACHE / "speckle_villages.parquet"
    vil.to_parquet(villages_file)
    print(f"villages: {len(vil)} ({origin})", flush=True)
    if args.exact_size:
        diff = exactness(args.exact_size, vil, villages_file)
        print(f"{args.exact_size:,} x {args.exact_size:,}: largest share difference vs "
              f"exactextract {diff:.2e} percentage points", flush=True)  # fmt: skip
    for n in args.sizes:
        raster = noise_raster(n, tuple(vil.total_bounds))
        r = measure(raster, villages_file)
        print(f"{n:,} x {n:,} ({n * n / 1e6:,.0f} Mpx): {r['seconds']:.0f} s "
              f"({r['seconds'] / (n * n) * 1e9:.0f} ns/pixel), peak RSS {r['peak_rss_gb']:.2f} GB,"
              f" {r['pieces']:,} pieces listed ({r['piece_vertices']:,} vertices)",
              flush=True)  # fmt: skip
        if r["warning"]:
            print("   ", r["warning"], flush=True)


if __name__ == "__main__":
    main()
