"""Generate the national benchmark inputs into ``benchmarks/_cache/national/`` (issue #11).

Real layers from ``../shared/data/indonesia`` (MIT, Cahya DSN) and ``../shared/data/opencellid``
(CC BY-SA 4.0, OpenCelliD); everything else is SYNTHETIC and seeded:

* ``villages.parquet``: one polygon per real desa/kelurahan point (83,246): the Voronoi cells of
  all village points (one vectorised ``shapely.voronoi_polygons`` call, cells in input order)
  clipped to the village's own kecamatan (7,284 real polygons). Points whose kecamatan code is
  missing from the kecamatan layer are dropped (logged). Where a neighbouring kecamatan's
  village is nearer, the cell leaves a gap inside this kecamatan: businesses there are
  ``outside_villages``, which the accounting shows.
* ``businesses/<province>.parquet``: 10,000,000 points in 38 files, one per province
  (``business_id`` ``B0``..., lon/lat EPSG:4326) around the village points (Gaussian,
  sigma 1.5 km), a ``weight`` of 1-4; rows in village-code order.
* ``rsrp/<province>.tif``: one RSRP raster (dBm, float32, 100 m = 0.0009 degree, EPSG:4326,
  256 x 256 tiles, deflate) per province over its kabupaten extent, and ``rsrp.vrt`` over all of
  them. Synthetic path loss (3GPP rural macro slope) from a seeded layout of one tower per
  eight villages, computed on a 900 m grid and interpolated bilinearly, plus shadowing.
* ``towers.csv``: the real OpenCelliD export for MCC 510 (25,384 rows, headerless).

Run: ``python benchmarks/national_data.py`` (about 10 minutes, ~2 GB of disk); files that
exist are kept, so a second run is instant.
"""

from __future__ import annotations

import json
import logging
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.ndimage import gaussian_filter, map_coordinates
from scipy.spatial import cKDTree

import geopandas as gpd
import rasterio
import shapely
from rasterio.transform import from_origin

HERE = Path(__file__).resolve().parent
SHARED = HERE.parent.parent / "shared" / "data"
OUT = HERE / "_cache" / "national"
N_BUSINESSES = 10_000_000
PIXEL_DEG = 0.0009  # ~100 m
COARSE = 10  # path loss on a 10 x coarser grid, then bilinear
log = logging.getLogger("national_data")


def villages() -> Path:
    path = OUT / "villages.parquet"
    if path.exists():
        return path
    kec = gpd.read_parquet(SHARED / "indonesia" / "kecamatan.parquet")
    kec = kec[kec.geom_type.isin(["Polygon", "MultiPolygon"])].set_index("kode")
    kec["geometry"] = shapely.make_valid(kec.geometry.array)
    pts = pd.read_csv(SHARED / "indonesia" / "desa_points.csv.gz", dtype=str)
    pts["kec"] = pts["kode"].str.rsplit(".", n=1).str[0]
    known = pts["kec"].isin(kec.index)
    log.info(
        "villages: %d points, %d without a kecamatan polygon dropped", len(pts), (~known).sum()
    )
    pts = pts[known].drop_duplicates("kode").reset_index(drop=True)
    xy = np.column_stack([pts["lng"].astype(float), pts["lat"].astype(float)])
    xy += np.random.default_rng(0).normal(0, 1e-7, xy.shape)  # no two points identical
    cells = shapely.get_parts(
        shapely.voronoi_polygons(shapely.multipoints(xy), ordered=True, extend_to=None)
    )
    own = np.asarray(kec.geometry.loc[pts["kec"]].array, dtype=object)
    geom = shapely.intersection(cells, own)
    geom = shapely.make_valid(geom)
    keep = ~shapely.is_empty(geom) & (shapely.area(geom) > 0)
    out = gpd.GeoDataFrame(
        {"name": pts["nama"].to_numpy(), "kecamatan_code": pts["kec"].to_numpy()},
        geometry=geom,
        index=pd.Index(pts["kode"].to_numpy(), name="village_id"),
        crs="EPSG:4326",
    )[keep]
    # keep the polygonal part of any collection the clipping made
    gc = out.geom_type == "GeometryCollection"
    if gc.any():
        parts, idx = shapely.get_parts(out.geometry.array[gc.to_numpy()], return_index=True)
        polys = shapely.get_type_id(parts) == 3
        merged = gpd.GeoSeries(parts[polys]).groupby(idx[polys]).agg(shapely.union_all)
        vals = out.geometry.array.copy()
        where = np.flatnonzero(gc.to_numpy())
        vals[where[merged.index.to_numpy()]] = np.asarray(merged.values)
        out = out.set_geometry(gpd.GeoSeries(vals, index=out.index, crs=4326))
        out = out[out.geom_type.isin(["Polygon", "MultiPolygon"])]
    out.to_parquet(path, compression="zstd")
    log.info("villages: %d polygons written", len(out))
    return path


def businesses(vil: gpd.GeoDataFrame) -> Path:
    """One Parquet file per province, ``businesses/<province>.parquet`` (as national data
    comes: one file per province), rows in village-code order."""
    folder = OUT / "businesses"
    if (folder / "_done").exists():
        return folder
    folder.mkdir(exist_ok=True)
    rng = np.random.default_rng(11)
    rep = shapely.point_on_surface(vil.geometry.array)
    cx, cy = shapely.get_x(rep), shapely.get_y(rep)
    # sorted by village, so each province's rows are contiguous and one batch of rows covers
    # one region, not the whole country
    pick = np.sort(rng.integers(0, len(cx), N_BUSINESSES))
    sigma = 1500.0 / 111_320.0
    lat = cy[pick] + rng.normal(0, sigma, N_BUSINESSES)
    lon = cx[pick] + rng.normal(0, sigma, N_BUSINESSES) / np.cos(np.radians(cy[pick]))
    weight = rng.integers(1, 5, N_BUSINESSES).astype("float32")
    prov = vil.index.str[:2].to_numpy()[pick]
    cuts = np.flatnonzero(prov[1:] != prov[:-1]) + 1
    for lo, hi in zip(np.r_[0, cuts], np.r_[cuts, N_BUSINESSES], strict=True):
        pd.DataFrame(
            {
                "business_id": np.char.add("B", np.arange(lo, hi).astype(str)),
                "lon": lon[lo:hi],
                "lat": lat[lo:hi],
                "weight": weight[lo:hi],
            }
        ).to_parquet(folder / f"{prov[lo]}.parquet", compression="zstd", index=False)
    (folder / "_done").touch()
    log.info("businesses: %d written in %d province files", N_BUSINESSES, len(cuts) + 1)
    return folder


def rasters(vil: gpd.GeoDataFrame) -> Path:
    vrt = OUT / "rsrp.vrt"
    if vrt.exists():
        return vrt
    folder = OUT / "rsrp"
    folder.mkdir(exist_ok=True)
    kab = gpd.read_parquet(SHARED / "indonesia" / "kabupaten.parquet")
    kab["prov"] = kab["kode"].str[:2]
    rng = np.random.default_rng(7)
    rep = shapely.point_on_surface(vil.geometry.array)
    vx, vy = shapely.get_x(rep), shapely.get_y(rep)
    towers = rng.choice(len(vx), size=len(vx) // 8, replace=False)
    tx = vx[towers] * np.cos(np.radians(vy[towers])) * 111_320.0
    tree = cKDTree(np.column_stack([tx, vy[towers] * 111_320.0]))
    paths = []
    for prov, group in kab.groupby("prov"):  # 38 provinces
        x0, y0, x1, y1 = group.total_bounds
        # a global 0.0009 degree grid, so the VRT needs no resampling
        c0 = int(np.floor(x0 / PIXEL_DEG))
        r0 = int(np.ceil(y1 / PIXEL_DEG))
        width = int(np.ceil(x1 / PIXEL_DEG)) - c0
        height = r0 - int(np.floor(y0 / PIXEL_DEG))
        left, top = c0 * PIXEL_DEG, r0 * PIXEL_DEG
        cw, ch = width // COARSE + 2, height // COARSE + 2
        gx = left + (np.arange(cw) + 0.5) * PIXEL_DEG * COARSE
        gy = top - (np.arange(ch) + 0.5) * PIXEL_DEG * COARSE
        mx, my = np.meshgrid(gx, gy)
        d, _ = tree.query(
            np.column_stack(
                [(mx * np.cos(np.radians(my)) * 111_320.0).ravel(), (my * 111_320.0).ravel()]
            )
        )
        d_km = np.maximum(d, 50.0).reshape(ch, cw) / 1000.0
        shadow = gaussian_filter(rng.normal(0, 1, (ch, cw)), sigma=1.0)
        shadow *= 6.0 / max(shadow.std(), 1e-9)
        coarse = (33.0 - (128.0 + 37.6 * np.log10(d_km)) + shadow).astype("float32")
        path = folder / f"{prov}.tif"
        with rasterio.open(
            path,
            "w",
            driver="GTiff",
            width=width,
            height=height,
            count=1,
            dtype="float32",
            crs="EPSG:4326",
            transform=from_origin(left, top, PIXEL_DEG, PIXEL_DEG),
            nodata=np.nan,
            tiled=True,
            blockxsize=256,
            blockysize=256,
            compress="deflate",
            zlevel=1,
        ) as dst:
            for r in range(0, height, 2048):  # strips: memory stays ~100 MB
                rows = np.arange(r, min(r + 2048, height))
                cc, rr = np.meshgrid(
                    (np.arange(width) + 0.5) / COARSE - 0.5, (rows + 0.5) / COARSE - 0.5
                )
                strip = map_coordinates(coarse, [rr, cc], order=1, mode="nearest")
                dst.write(
                    np.clip(strip, -140, -44).astype("float32"),
                    1,
                    window=rasterio.windows.Window(0, r, width, len(rows)),
                )
        paths.append((path.name, c0, r0, width, height))
        log.info("raster %s: %d x %d", prov, width, height)
    _write_vrt(vrt, paths)
    return vrt


def _write_vrt(vrt: Path, tiles: list[tuple[str, int, int, int, int]]) -> None:
    """A GDAL VRT mosaic of the province rasters (all on one global 0.0009 degree grid)."""
    c0 = min(t[1] for t in tiles)
    r0 = max(t[2] for t in tiles)
    c1 = max(t[1] + t[3] for t in tiles)
    r1 = min(t[2] - t[4] for t in tiles)
    sources = "".join(
        f"""    <ComplexSource>
      <SourceFilename relativeToVRT="1">rsrp/{name}</SourceFilename>
      <SourceBand>1</SourceBand>
      <SrcRect xOff="0" yOff="0" xSize="{w}" ySize="{h}"/>
      <DstRect xOff="{c - c0}" yOff="{r0 - r}" xSize="{w}" ySize="{h}"/>
      <NODATA>nan</NODATA>
    </ComplexSource>
"""
        for name, c, r, w, h in tiles
    )
    gt = f"{c0 * PIXEL_DEG!r}, {PIXEL_DEG!r}, 0, {r0 * PIXEL_DEG!r}, 0, {-PIXEL_DEG!r}"
    vrt.write_text(
        f"""<VRTDataset rasterXSize="{c1 - c0}" rasterYSize="{r0 - r1}">
  <SRS>EPSG:4326</SRS>
  <GeoTransform>{gt}</GeoTransform>
  <VRTRasterBand dataType="Float32" band="1" blockXSize="256" blockYSize="256">
    <NoDataValue>nan</NoDataValue>
{sources}  </VRTRasterBand>
</VRTDataset>
"""
    )


def towers() -> Path:
    path = OUT / "towers.csv"
    if not path.exists():
        shutil.copy(SHARED / "opencellid" / "510.csv", path)
    return path


def main() -> dict[str, Path]:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    if not SHARED.is_dir():
        sys.exit(f"{SHARED} is missing: the national layers are needed")
    OUT.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    vpath = villages()
    vil = gpd.read_parquet(vpath)
    out = {
        "villages": vpath,
        "businesses": businesses(vil),
        "raster": rasters(vil),
        "towers": towers(),
    }
    log.info("national inputs ready in %.0f s: %s", time.perf_counter() - t0, OUT)
    return out


def paths_from_child() -> dict[str, str]:
    """Run :func:`main` in a child process and return its paths as text.

    The benchmarks measure their own process's peak memory; generating the inputs there
    (several GB on first run) would count against it.
    """
    code = (
        "import json, sys; sys.path.insert(0, sys.argv[1]); import national_data; "
        "print(json.dumps({k: str(v) for k, v in national_data.main().items()}))"
    )
    gen = subprocess.run(
        [sys.executable, "-c", code, str(Path(__file__).resolve().parent)],
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(gen.stdout.strip().splitlines()[-1])


if __name__ == "__main__":
    main()
