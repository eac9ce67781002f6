"""blankspot.regions: the province of a code, and one plan per province.

The world: three 1 km villages in a row (UTM 48S), two in province 18 and one in
province 31; village A is covered. Sites S1 (in B, near C), S2 (centre of C) and S3
(outside every village, 500 m west of A, so in A's province 18). With a 450 m radius S1
reaches b2 and c1, S2 reaches c1, c2, c3 and S3 nothing; b1 is 550 m from S1. Every
expected number below is counted by hand from those positions.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import geopandas as gpd
from shapely.geometry import Point, box

from blankspot import assess, coverage, rank_sites
from blankspot._errors import BlankspotWarning, InputError, UnknownOptionError
from blankspot.regions import province_of, rank_by_region

X0, Y0 = 500_000.0, 9_400_000.0
CRS = "EPSG:32748"


def _box(x0: float, x1: float) -> object:
    return box(X0 + x0, Y0, X0 + x1, Y0 + 1000)


@pytest.fixture
def world():
    villages = gpd.GeoDataFrame(
        {"name": ["A", "B", "C"], "kabupaten": ["K1", "K1", "K3"]},
        geometry=[_box(0, 1000), _box(1000, 2000), _box(2000, 3000)],
        index=pd.Index(["18.01.01.2001", "18.01.01.2002", "31.71.01.1001"], name="village_id"),
        crs=CRS,
    )
    xy = {
        "a1": (500, 500),
        "b1": (1400, 500),
        "b2": (1900, 500),
        "c1": (2100, 500),
        "c2": (2500, 500),
        "c3": (2900, 500),
        "o1": (5000, 5000),
    }
    biz = gpd.GeoDataFrame(
        geometry=[Point(X0 + x, Y0 + y) for x, y in xy.values()],
        index=pd.Index(list(xy), name="business_id"),
        crs=CRS,
    )
    cov = coverage.from_polygons(gpd.GeoDataFrame(geometry=[_box(0, 1000)], crs=CRS))
    a = assess(villages, biz, cov, crs=CRS)
    sites = gpd.GeoDataFrame(
        geometry=[
            Point(X0 + 1950, Y0 + 500),
            Point(X0 + 2500, Y0 + 500),
            Point(X0 - 500, Y0 + 500),
        ],
        index=pd.Index(["S1", "S2", "S3"], name="site_id"),
        crs=CRS,
    )
    return a, sites


def test_province_of_both_code_systems_and_missing():
    got = province_of(pd.Series(["18.01.01.2001", "3171011001", "91.05", "18", np.nan, None]))
    assert got.tolist() == ["18", "31", "91", "18", None, None]


@pytest.mark.parametrize("bad", ["A18.01", "1.01.01", "18A", "Lampung", ""])
def test_province_of_rejects_codes_without_a_prefix(bad):
    with pytest.raises(InputError, match=r"two-digit province code.*" + repr(bad)):
        province_of(["18.01.01.2001", bad])


def test_each_province_is_planned_on_its_own(world):
    a, sites = world
    plans = rank_by_region(a, sites, radius_m=450, k=1)
    assert list(plans) == ["18", "31"]
    # province 18: S1 and S3 (outside every village, nearest to A), demand b1 and b2 only;
    # S1 reaches b2 (c1 is in province 31)
    p18, p31 = plans["18"], plans["31"]
    assert p18.sites["site_id"].tolist() == ["S1"]
    assert p18.objective == 1.0
    assert p18.total_uncovered == 2.0
    # province 31: S2 only; it reaches c1..c3
    assert p31.sites["site_id"].tolist() == ["S2"]
    assert p31.objective == 3.0
    # the national plan with the same k may let S1 serve across the border
    national = rank_sites(a, sites, radius_m=450, k=2)
    assert national.sites["site_id"].tolist() == ["S2", "S1"]
    assert national.objective == 4.0


def test_a_region_s_warnings_name_the_region(world):
    a, sites = world
    # k=2: province 18 has two candidate sites (S1, S3), province 31 one (S2)
    with pytest.warns(BlankspotWarning) as caught:
        rank_by_region(a, sites, radius_m=450, k=2)
    texts = [str(w.message) for w in caught]
    assert "province 31: k=2 exceeds the 1 candidate sites: ranking all useful sites instead" in (
        texts
    )
    assert not any(t.startswith("province 18: k=2 exceeds") for t in texts)
    assert not any(t.startswith("k=2 exceeds") for t in texts)  # never without its region


def test_region_accounting_counts_its_own_businesses(world):
    a, sites = world
    plans = rank_by_region(a, sites, radius_m=450, k=1)
    acc18 = plans["18"].assessment.accounting
    acc31 = plans["31"].assessment.accounting
    assert (acc18["input"], acc18["covered"], acc18["uncovered"]) == (3, 1, 2)
    assert (acc31["input"], acc31["covered"], acc31["uncovered"]) == (3, 0, 3)
    # o1 is outside every village: in no region
    assert acc18["input"] + acc31["input"] == a.accounting["input"] - 1
    assert plans["18"].assessment.businesses.index.tolist() == ["a1", "b1", "b2"]
    assert plans["31"].assessment.blank_spots["village_id"].unique().tolist() == ["31.71.01.1001"]


def test_by_a_village_column_and_a_region_without_sites(world):
    a, sites = world
    a2 = a.__class__(**{**a.__dict__, "villages": a.villages.assign(kabupaten=["K1", "K2", "K2"])})
    plans = rank_by_region(a2, sites.drop(index="S3"), by="kabupaten", radius_m=450, k=1)
    assert list(plans) == ["K1", "K2"]
    assert len(plans["K1"].sites) == 0
    assert "no candidate site in kabupaten K1" in plans["K1"].message
    assert plans["K2"].sites["site_id"].tolist() == ["S2"]
    assert plans["K2"].total_uncovered == 5.0


def test_include_and_quota_dicts_go_to_their_region(world):
    a, sites = world
    # K1 is a group of province 18 only: province 31 must not see it (rank_sites would
    # refuse a quota for a group none of its sites is in)
    with pytest.warns(BlankspotWarning, match=r"have no kabupaten \('S3'\)"):
        plans = rank_by_region(a, sites, radius_m=450, k=1, max_per_group={"K1": 0})
    assert len(plans["18"].sites) == 0
    assert plans["31"].sites["site_id"].tolist() == ["S2"]
    plans = rank_by_region(a, sites, radius_m=450, k=1, include=["S3"])
    assert plans["18"].sites["site_id"].tolist() == ["S3"]  # committed, though it adds nothing
    assert plans["31"].sites["site_id"].tolist() == ["S2"]


def test_bad_options_are_named(world):
    a, sites = world
    with pytest.raises(UnknownOptionError, match="radius_km"):
        rank_by_region(a, sites, radius_km=5)
    with pytest.raises(InputError, match="not candidate sites: 'S9'"):
        rank_by_region(a, sites, include=["S9"])
    with pytest.raises(InputError, match="by='wilayah' is neither"):
        rank_by_region(a, sites, by="wilayah")


def test_counts_mode(world):
    a, sites = world
    counts = pd.Series({"18.01.01.2001": 4.0, "18.01.01.2002": 2.0, "31.71.01.1001": 6.0})
    ac = assess(a.villages[["name", "kabupaten", "geometry"]], counts, a.coverage, crs=CRS)
    plans = rank_by_region(ac, sites, radius_m=600, k=1)
    # counts mode: each village's uncovered businesses sit on its blank spot's point
    assert plans["18"].assessment.accounting["uncovered"] == 2.0
    assert plans["31"].total_uncovered == 6.0
    assert plans["31"].objective == 6.0  # S2 stands on C's representative point
