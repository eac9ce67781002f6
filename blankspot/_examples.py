"""Tiny hand-checkable worlds for the doctests of scoring, candidates and ranking."""

from __future__ import annotations

import pandas as pd

import geopandas as gpd
from pyproj import CRS
from shapely.geometry import Point, box

from blankspot.assessment import Assessment


def _toy_assessment() -> Assessment:
    """Build a three-village assessment for the examples (UTM 48S, 1 km square villages).

    Village 2001 is fully covered (businesses b1, b2), 2002 is covered on its west half
    (b3 covered; b4, b5 uncovered in the east half) and 2003 has no signal (b6, b7, b8).
    """
    x0, y0 = 500_000.0, 9_400_000.0
    vids = ["18.01.01.2001", "18.01.01.2002", "18.01.01.2003"]
    villages = gpd.GeoDataFrame(
        {
            "name": ["Satu", "Dua", "Tiga"],
            "kecamatan": ["Kedaton"] * 3,
            "kabupaten": ["Kota Bandar Lampung"] * 3,
            "area_km2": [1.0, 1.0, 1.0],
            "covered_area_share": [1.0, 0.5, 0.0],
            "n_businesses": [2, 3, 3],
            "n_covered": [2, 1, 0],
            "n_uncovered": [0, 2, 3],
            "uncovered_share": [0.0, 2 / 3, 1.0],
            "weighted_uncovered": [0.0, 2.0, 3.0],
            "blank_spot": [False, True, True],
        },
        geometry=[box(x0 + 1000 * i, y0, x0 + 1000 * (i + 1), y0 + 1000) for i in range(3)],
        index=pd.Index(vids, name="village_id"),
        crs="EPSG:32748",
    )
    xy = {
        "b1": (200, 500, vids[0], "covered"),
        "b2": (800, 500, vids[0], "covered"),
        "b3": (1200, 500, vids[1], "covered"),
        "b4": (1700, 400, vids[1], "uncovered"),
        "b5": (1800, 600, vids[1], "uncovered"),
        "b6": (2300, 500, vids[2], "uncovered"),
        "b7": (2500, 500, vids[2], "uncovered"),
        "b8": (2700, 500, vids[2], "uncovered"),
    }
    businesses = gpd.GeoDataFrame(
        {
            "weight": 1.0,
            "village_id": [t[2] for t in xy.values()],
            "covered": [t[3] == "covered" for t in xy.values()],
            "status": [t[3] for t in xy.values()],
        },
        geometry=[Point(x0 + t[0], y0 + t[1]) for t in xy.values()],
        index=pd.Index(list(xy), name="business_id"),
        crs="EPSG:32748",
    )
    spots = gpd.GeoDataFrame(
        {
            "village_id": vids[1:],
            "area_km2": [0.5, 1.0],
            "n_businesses": [2, 3],
            "weighted_businesses": [2.0, 3.0],
        },
        geometry=[
            box(x0 + 1500, y0, x0 + 2000, y0 + 1000),
            box(x0 + 2000, y0, x0 + 3000, y0 + 1000),
        ],
        index=pd.Index([f"{vids[1]}-1", f"{vids[2]}-1"], name="blank_spot_id"),
        crs="EPSG:32748",
    )
    return Assessment(
        businesses=businesses,
        villages=villages,
        blank_spots=spots,
        accounting={"input": 8, "covered": 3, "uncovered": 5, "outside_villages": 0, "rejected": 0},
        rejected=pd.DataFrame({"reason": pd.Series(dtype=object)}),
        crs=CRS.from_epsg(32748),
    )


def _toy_sites() -> gpd.GeoDataFrame:
    """Build two candidate sites for the examples: S1 in village 2002 near 2003, S2 in 2003.

    With a 600 m radius S1 reaches b4, b5 (village 2002) and b6 (2003); S2 reaches b6, b7, b8.
    """
    return gpd.GeoDataFrame(
        geometry=[Point(501_850, 9_400_500), Point(502_600, 9_400_500)],
        index=pd.Index(["S1", "S2"], name="site_id"),
        crs="EPSG:32748",
    )
