"""Tiny hand-computable shapes shared by the tests (shapely's tests/common.py pattern).

The world is 10 x 10 metres in UTM zone 48S (EPSG:32748), offset so that it sits inside
Lampung's zone: origin ``(X0, Y0)``. Four square villages of 5 x 5 m::

    +-------+-------+  y = Y0 + 10
    |  V1   |  V2   |
    +-------+-------+  y = Y0 + 5
    |  V3   |  V4   |
    +-------+-------+  y = Y0
  x=X0    X0+5    X0+10

The coverage raster ``SIGNAL`` has 1 m pixels, ``Affine(1, 0, X0, 0, -1, Y0 + 10)``; row 0 is the
top. Its values are chosen so each village's covered share at -110 dBm is easy to count by hand.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from affine import Affine

import geopandas as gpd
import rasterio
from shapely.geometry import box

CRS_UTM = "EPSG:32748"
X0, Y0 = 500_000.0, 9_400_000.0
#: UTM's scale on its central meridian (x = 500 km, where X0 is): a planar m² there is
#: 1 / K0² m² on the ellipsoid, the area blankspot reports.
K0 = 0.9996
TRANSFORM = Affine(1, 0, X0, 0, -1, Y0 + 10)

VILLAGE_BOXES = {
    "18.01.01.2001": box(X0, Y0 + 5, X0 + 5, Y0 + 10),  # V1, top left
    "18.01.01.2002": box(X0 + 5, Y0 + 5, X0 + 10, Y0 + 10),  # V2, top right
    "18.01.01.2003": box(X0, Y0, X0 + 5, Y0 + 5),  # V3, bottom left
    "18.01.01.2004": box(X0 + 5, Y0, X0 + 10, Y0 + 5),  # V4, bottom right
}


def signal_array() -> np.ndarray:
    """10 x 10 float32 RSRP in dBm.

    * V1 (rows 0-4, cols 0-4): all -90 dBm, fully covered at -110 dBm.
    * V2 (rows 0-4, cols 5-9): left 2 columns -100 (covered), right 3 columns -120: 10/25 covered.
    * V3 (rows 5-9, cols 0-4): all -130, nothing covered.
    * V4 (rows 5-9, cols 5-9): top row -105 (covered), the rest -115: 5/25 covered.
    """
    a = np.full((10, 10), -130.0, dtype="float32")
    a[0:5, 0:5] = -90.0
    a[0:5, 5:7] = -100.0
    a[0:5, 7:10] = -120.0
    a[5:10, 0:5] = -130.0
    a[5, 5:10] = -105.0
    a[6:10, 5:10] = -115.0
    return a


# hand-counted covered area shares at the default threshold -110 dBm
EXPECTED_SHARE_AT_MINUS_110 = {
    "18.01.01.2001": 1.0,
    "18.01.01.2002": 10 / 25,
    "18.01.01.2003": 0.0,
    "18.01.01.2004": 5 / 25,
}


def write_tif(
    path: Path,
    arr: np.ndarray,
    transform: Affine,
    *,
    crs: str | None = CRS_UTM,
    nodata: float | None = None,
    block: int | None = None,
) -> Path:
    """Write a one-band GeoTIFF (tiled in ``block`` x ``block`` blocks when given)."""
    kw = {"tiled": True, "blockxsize": block, "blockysize": block} if block else {}
    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        width=arr.shape[1],
        height=arr.shape[0],
        count=1,
        dtype=arr.dtype,
        crs=crs,
        transform=transform,
        nodata=nodata,
        **kw,
    ) as dst:
        dst.write(arr, 1)
    return path


def three_villages() -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """Three 1 km villages in a row (Satu, Dua, Tiga) and a coverage polygon over Satu."""
    villages = gpd.GeoDataFrame(
        {"name": ["Satu", "Dua", "Tiga"]},
        geometry=[box(X0 + 1000 * i, Y0, X0 + 1000 * (i + 1), Y0 + 1000) for i in range(3)],
        index=pd.Index(["18.01.01.2001", "18.01.01.2002", "18.01.01.2003"], name="village_id"),
        crs=CRS_UTM,
    )
    return villages, gpd.GeoDataFrame(geometry=[box(X0, Y0, X0 + 1000, Y0 + 1000)], crs=CRS_UTM)
