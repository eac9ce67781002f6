"""Benchmark: the whole ``assess`` at Lampung scale (issue #2).

2,650 villages (the real Lampung boundaries when ../shared/data is present, else a Voronoi
tessellation of the same extent), 500,000 business points clustered around village centres,
and a 1,900 x 1,900 float32 RSRP GeoTIFF at 100 m in UTM 48S, all generated here (seeded).
``assess`` runs in a fresh subprocess so that its peak memory (ru_maxrss) is its own.

Targets: under 5 s on 2 cores, peak memory under 2 GB.

Run: ``python benchmarks/bench_assess.py`` (``--stress`` replaces the realistic, spatially
correlated signal field with independent noise in every pixel: tens of thousands of speckle
blank spots, the worst case for polygonising).
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

import geopandas as gpd
import rasterio
import shapely
from rasterio.transform import from_origin

HERE = Path(__file__).resolve().parent
SHARED = HERE.parent.parent / "shared" / "data" / "lampung_boundaries"
CRS = "EPSG:32748"
N_POINTS = 500_000
SIZE = 1900
RES_M = 100.0
STRESS = "--stress" in sys.argv  # i.i.d. per-pixel noise: speckled blank spots


def make_villages() -> gpd.GeoDataFrame:
    files = sorted(SHARED.glob("wilayah_boundaries_kel_18.*.geojson"))
    if files:
        import pandas as pd

        gdf = pd.concat([gpd.read_file(f) for f in files], ignore_index=True)
        gdf = gpd.GeoDataFrame(gdf, geometry="geometry", crs="EPSG:4326")
        gdf = gdf.set_index("kode")
        gdf.index.name = "village_id"
        return gdf.rename(columns={"nama": "name"})[["name", "geometry"]]
    rng = np.random.default_rng(1)
    seeds = shapely.points(rng.uniform([103.6, -6.0], [106.0, -3.7], size=(2650, 2)))
    cells = shapely.get_parts(shapely.voronoi_polygons(shapely.multipoints(seeds)))
    frame = shapely.box(103.6, -6.0, 106.0, -3.7)
    gdf = gpd.GeoDataFrame(geometry=shapely.intersection(cells, frame), crs="EPSG:4326")
    gdf.index = [f"18.00.00.{i:04d}" for i in range(len(gdf))]
    gdf["name"] = gdf.index
    return gdf


def rsrp_field(
    rng: np.random.Generator, cx: np.ndarray, cy: np.ndarray, left: float, top: float
) -> np.ndarray:
    """RSRP in dBm: 33 dBm per resource element minus log-distance path loss, plus shadowing."""
    from scipy.ndimage import gaussian_filter
    from scipy.spatial import cKDTree

    sites = rng.choice(len(cx), size=900, replace=False)
    tx = np.c_[cx[sites], cy[sites]]
    tree = cKDTree(tx)
    cols = left + (np.arange(SIZE) + 0.5) * RES_M
    rows = top - (np.arange(SIZE) + 0.5) * RES_M
    gx, gy = np.meshgrid(cols, rows)
    d, _ = tree.query(np.c_[gx.ravel(), gy.ravel()], k=1)
    d_km = np.maximum(d, 50.0) / 1000.0
    path_loss = 128.0 + 37.6 * np.log10(d_km)  # 3GPP rural-macro slope at 900 MHz
    shadow = gaussian_filter(rng.normal(0, 1, (SIZE, SIZE)), sigma=5)
    shadow *= 7.0 / shadow.std()  # 7 dB log-normal shadowing, ~500 m correlation
    return np.clip(33.0 - path_loss.reshape(SIZE, SIZE) + shadow, -140, -44)


def stress_field(rng: np.random.Generator) -> np.ndarray:
    """Worst case for polygonising: a smooth pattern plus independent noise in every pixel."""
    yy, xx = np.mgrid[0:SIZE, 0:SIZE].astype("float32")
    return -100 + 20 * np.sin(xx / 97.0) * np.cos(yy / 61.0) + rng.normal(0, 4, (SIZE, SIZE))


def make_inputs(tmp: Path) -> dict[str, str]:
    rng = np.random.default_rng(42)
    villages = make_villages()
    vpath = tmp / "villages.gpkg"
    villages.to_file(vpath)
    vutm = villages.to_crs(CRS)
    # businesses: clustered around village representative points
    reps = shapely.point_on_surface(vutm.geometry.array)
    cx, cy = shapely.get_x(reps), shapely.get_y(reps)
    pick = rng.integers(0, len(reps), N_POINTS)
    x = cx[pick] + rng.normal(0, 1500, N_POINTS)
    y = cy[pick] + rng.normal(0, 1500, N_POINTS)
    biz = gpd.GeoDataFrame(
        {"weight": rng.integers(1, 5, N_POINTS).astype("float64")},
        geometry=shapely.points(x, y),
        crs=CRS,
    )
    bpath = tmp / "businesses.parquet"
    biz.to_parquet(bpath)
    # raster: centred on the villages. A realistic RSRP field: strongest of ~900 towers placed
    # near settlements (log-distance path loss) plus spatially correlated shadowing, as
    # propagation tools and interpolated drive tests produce.
    x0, y0, x1, y1 = vutm.total_bounds
    left = (x0 + x1) / 2 - SIZE * RES_M / 2
    top = (y0 + y1) / 2 + SIZE * RES_M / 2
    transform = from_origin(left, top, RES_M, RES_M)
    field = rsrp_field(rng, cx, cy, left, top) if not STRESS else stress_field(rng)
    rpath = tmp / "rsrp.tif"
    with rasterio.open(
        rpath,
        "w",
        driver="GTiff",
        width=SIZE,
        height=SIZE,
        count=1,
        dtype="float32",
        crs=CRS,
        transform=transform,
        nodata=np.nan,
        tiled=True,
        blockxsize=256,
        blockysize=256,
    ) as dst:
        dst.write(field.astype("float32"), 1)
    return {"villages": str(vpath), "businesses": str(bpath), "raster": str(rpath)}


CHILD = r"""
import json, resource, sys, time
import geopandas as gpd
import blankspot
from blankspot import coverage
paths = json.loads(sys.argv[1])
villages = blankspot.read_villages(paths["villages"])
raw = gpd.read_parquet(paths["businesses"])
t0 = time.perf_counter()
businesses = blankspot.read_businesses(raw)  # the reader's per-row checks, as in the pipeline
read_s = time.perf_counter() - t0
cov = coverage.from_raster(paths["raster"], threshold_dbm=-110)
blankspot.assess(villages, businesses, cov)  # warm-up: imports, GDAL caches
t0 = time.perf_counter()
result = blankspot.assess(villages, businesses, cov)
elapsed = time.perf_counter() - t0
t0 = time.perf_counter()
blankspot.assess(villages, raw, cov)  # a raw GeoDataFrame: assess runs the reader's checks
raw_s = time.perf_counter() - t0
peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"seconds": elapsed, "read_s": read_s, "raw_s": raw_s,
                  "peak_mb": peak_mb, "accounting": result.accounting,
                  "n_villages": len(result.villages), "n_blank_spots": len(result.blank_spots)}))
"""


def main() -> None:
    with tempfile.TemporaryDirectory() as d:
        t0 = time.perf_counter()
        paths = make_inputs(Path(d))
        print(f"inputs generated in {time.perf_counter() - t0:.1f} s")
        out = subprocess.run(
            [sys.executable, "-c", CHILD, json.dumps(paths)],
            check=True,
            capture_output=True,
            text=True,
        )
        res = json.loads(out.stdout.strip().splitlines()[-1])
    print(f"villages:            {res['n_villages']:,}")
    print(f"businesses:          {N_POINTS:,}")
    kind = "i.i.d. noise (stress)" if STRESS else "path loss + correlated shadowing"
    print(f"raster:              {SIZE} x {SIZE} float32 at {RES_M:.0f} m, {kind}")
    print(f"accounting:          {res['accounting']}")
    print(f"blank-spot polygons: {res['n_blank_spots']:,}")
    note = "(target < 5 s; businesses from read_businesses)"
    print(f"assess time:         {res['seconds']:.2f} s   {note}")
    print(f"read_businesses:     {res['read_s']:.2f} s   (per-row coordinate checks, done once)")
    print(f"assess, raw gdf:     {res['raw_s']:.2f} s   (assess runs the reader's checks itself)")
    print(f"peak memory (RSS):   {res['peak_mb']:.0f} MB (target < 2048 MB; whole process)")


if __name__ == "__main__":
    main()
