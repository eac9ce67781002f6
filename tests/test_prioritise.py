"""score_villages, candidate_sites, read_sites and rank_sites on hand-made Assessments.

The world is the 10 x 10 m one of tests/common.py (four 5 x 5 m villages, UTM 48S). The
Assessment is built by hand following docs/architecture.md, so these tests do not depend on
assess(). Coordinates below are metres from (X0, Y0)::

    V1 (2001) x 0-5,  y 5-10   fully covered
    V2 (2002) x 5-10, y 5-10   covered for x < 7;  blank spot x 7-10   (15 m2)
    V3 (2003) x 0-5,  y 0-5    no signal;          blank spot = all    (25 m2)
    V4 (2004) x 5-10, y 0-5    covered for y > 4;  blank spot y 0-4    (20 m2)

Businesses (kelas, tenaga_kerja = weight):
    b01 (1.5, 8.5) V1 covered     mikro    1
    b02 (5.5, 9.5) V2 covered     mikro    1
    b03 (8.5, 6.5) V2 uncovered   kecil    3
    b04 (8.5, 8.5) V2 uncovered   mikro    1
    b05 (2.5, 2.5) V3 uncovered   mikro    1
    b06 (1.5, 1.5) V3 uncovered   mikro    1
    b07 (3.5, 1.5) V3 uncovered   menengah 10
    b08 (6.5, 4.5) V4 covered     mikro    1
    b09 (6.5, 1.5) V4 uncovered   kecil    3
    b10 (20, 20)   outside every village
    b11 no coordinates (rejected)

Candidate sites with radius 2.5 m (distances to the uncovered businesses):
    A (8.5, 7.5): b03 1.0, b04 1.0                                  -> {b03, b04}
    B (2.5, 2.0): b05 0.5, b06 1.12, b07 1.12 (b09 4.03)            -> {b05, b06, b07}
    C (5.0, 1.5): b07 1.5, b09 1.5 (b05 2.69, b06 3.5)              -> {b07, b09}
    D (9.0, 9.5): b04 1.12 (b03 3.04)                               -> {b04}
"""

from __future__ import annotations

import logging
import math
from types import SimpleNamespace

import networkx as nx
import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import geopandas as gpd
import shapely
from geopandas.testing import assert_geodataframe_equal
from pyproj import CRS, Geod, Transformer
from shapely.geometry import MultiPolygon, Point, box

import blankspot.ranking as ranking
from blankspot import _exact, _solve
from blankspot._errors import (
    BlankspotWarning,
    CRSError,
    EmptyInputError,
    InputError,
    InputFileError,
    NoOverlapError,
    UnknownOptionError,
)
from blankspot.assessment import Assessment
from blankspot.prioritise import Plan, candidate_sites, rank_sites, read_sites, score_villages
from tests.common import CRS_UTM, K0, VILLAGE_BOXES, X0, Y0

V1, V2, V3, V4 = list(VILLAGE_BOXES)
NAMES = {V1: "Satu", V2: "Dua", V3: "Tiga", V4: "Empat"}

BUSINESSES = {
    # id: (x, y, village, status, kelas, tenaga_kerja)
    "b01": (1.5, 8.5, V1, "covered", "mikro", 1.0),
    "b02": (5.5, 9.5, V2, "covered", "mikro", 1.0),
    "b03": (8.5, 6.5, V2, "uncovered", "kecil", 3.0),
    "b04": (8.5, 8.5, V2, "uncovered", "mikro", 1.0),
    "b05": (2.5, 2.5, V3, "uncovered", "mikro", 1.0),
    "b06": (1.5, 1.5, V3, "uncovered", "mikro", 1.0),
    "b07": (3.5, 1.5, V3, "uncovered", "menengah", 10.0),
    "b08": (6.5, 4.5, V4, "covered", "mikro", 1.0),
    "b09": (6.5, 1.5, V4, "uncovered", "kecil", 3.0),
    "b10": (20.0, 20.0, None, "outside_villages", "mikro", 1.0),
    "b11": (None, None, None, "rejected", "mikro", 1.0),
}
SITES = {"A": (8.5, 7.5), "B": (2.5, 2.0), "C": (5.0, 1.5), "D": (9.0, 9.5)}
BLANK_SPOTS = {
    f"{V2}-1": (V2, box(X0 + 7, Y0 + 5, X0 + 10, Y0 + 10)),
    f"{V3}-1": (V3, box(X0, Y0, X0 + 5, Y0 + 5)),
    f"{V4}-1": (V4, box(X0 + 5, Y0, X0 + 10, Y0 + 4)),
}
ALL_COVERED = dict.fromkeys(("b03", "b04", "b05", "b06", "b07", "b09"), "covered")
KELAS = {"column": "kelas", "values": {"mikro": 1, "kecil": 3, "menengah": 10}}
PLAN_COLUMNS = [
    "rank", "site_id", "new_businesses", "cumulative_businesses", "cumulative_share",
    "village_id", "kecamatan", "kabupaten", "villages_reached", "village_ids",
    "village_names", "radius_m", "cost_idr", "cost_per_new_business", "backhaul_to",
    "backhaul_m", "geometry",
]  # fmt: skip
WEIGHTED_COLUMNS = [
    "new_weighted_businesses", "cumulative_weighted_businesses", "cumulative_weighted_share",
]  # fmt: skip


def make_assessment(
    *,
    weighted: bool = False,
    statuses: dict[str, str] | None = None,
    extra_spots: dict | None = None,
    coverage=None,
) -> Assessment:
    """A hand-made Assessment following docs/architecture.md ("Assessment")."""
    statuses = statuses or {}
    ids = list(BUSINESSES)
    rows = list(BUSINESSES.values())
    status = [statuses.get(i, r[3]) for i, r in zip(ids, rows, strict=True)]
    geoms = [Point(X0 + r[0], Y0 + r[1]) if r[0] is not None else None for r in rows]
    w = [r[5] if weighted else 1.0 for r in rows]
    businesses = gpd.GeoDataFrame(
        {
            "kelas": [r[4] for r in rows],
            "tenaga_kerja": [r[5] for r in rows],
            "lon": np.nan,
            "lat": np.nan,
            "weight": w,
            "rejected_reason": [None] * 10 + ["longitude is missing"],
            "village_id": pd.array([r[2] for r in rows], dtype=object),
            "covered": [s == "covered" for s in status],
            "status": status,
        },
        geometry=geoms,
        index=pd.Index(ids, name="business_id"),
        crs=CRS_UTM,
    )
    unc = businesses["status"] == "uncovered"
    vids = list(VILLAGE_BOXES)
    n_unc = [int((unc & (businesses["village_id"] == v)).sum()) for v in vids]
    n_biz = [int((businesses["village_id"] == v).sum()) for v in vids]
    villages = gpd.GeoDataFrame(
        {
            "name": [NAMES[v] for v in vids],
            "kecamatan": ["Kedaton", "Kedaton", "Rajabasa", "Rajabasa"],
            "kabupaten": ["Kota Bandar Lampung"] * 4,
            "area_km2": [25e-6] * 4,
            "covered_area_share": [1.0, 10 / 25, 0.0, 5 / 25],
            "n_businesses": n_biz,
            "n_covered": [b - u for b, u in zip(n_biz, n_unc, strict=True)],
            "n_uncovered": n_unc,
            "uncovered_share": [u / b if b else np.nan for b, u in zip(n_biz, n_unc, strict=True)],
            "weighted_uncovered": [
                float(businesses.loc[unc & (businesses["village_id"] == v), "weight"].sum())
                for v in vids
            ],
            "blank_spot": [False, True, True, True],
        },
        geometry=list(VILLAGE_BOXES.values()),
        index=pd.Index(vids, name="village_id"),
        crs=CRS_UTM,
    )
    spots_def = {**BLANK_SPOTS, **(extra_spots or {})}
    spots = gpd.GeoDataFrame(
        {"village_id": [v for v, _ in spots_def.values()]},
        geometry=[g for _, g in spots_def.values()],
        index=pd.Index(list(spots_def), name="blank_spot_id"),
        crs=CRS_UTM,
    )
    spots["area_km2"] = spots.area / 1e6
    spots["n_businesses"] = 0
    spots["weighted_businesses"] = 0.0
    accounting = {
        "input": 11,
        "covered": int((businesses["status"] == "covered").sum()),
        "uncovered": int(unc.sum()),
        "outside_villages": 1,
        "rejected": 1,
    }
    return Assessment(
        businesses=businesses,
        villages=villages,
        blank_spots=spots,
        accounting=accounting,
        rejected=businesses.loc[["b11"], []].assign(reason="longitude is missing"),
        crs=CRS.from_user_input(CRS_UTM),
        weight_col="tenaga_kerja" if weighted else None,
        coverage=coverage,
    )


def make_counts_assessment() -> Assessment:
    """Counts mode: 6 businesses in V2 (2.4 uncovered... see below), spread by area.

    V2: 10 businesses, covered share 0.4 -> 6 uncovered; V3: 4 businesses, share 0 -> 4.
    """
    base = make_assessment()
    v = base.villages.copy()
    v["n_businesses"] = [0.0, 10.0, 4.0, 0.0]
    v["n_uncovered"] = [0.0, 6.0, 4.0, 0.0]
    v["n_covered"] = [0.0, 4.0, 0.0, 0.0]
    v["weighted_uncovered"] = [0.0, 6.0, 4.0, 0.0]
    v["uncovered_share"] = [np.nan, 0.6, 1.0, np.nan]
    spots = base.blank_spots.iloc[:2].copy()  # V2 and V3 blank spots
    spots["n_businesses"] = [6.0, 4.0]
    spots["weighted_businesses"] = [6.0, 4.0]
    return Assessment(
        businesses=None,
        villages=v,
        blank_spots=spots,
        accounting={
            "input": 14.0,
            "covered": 4.0,
            "uncovered": 10.0,
            "outside_villages": 0.0,
            "rejected": 0.0,
        },
        rejected=pd.DataFrame({"reason": pd.Series(dtype=object)}),
        crs=CRS.from_user_input(CRS_UTM),
        counts_mode=True,
    )


def make_sites(names=("A", "B", "C", "D"), crs=CRS_UTM, **columns) -> gpd.GeoDataFrame:
    gdf = gpd.GeoDataFrame(
        columns,
        geometry=[Point(X0 + SITES[s][0], Y0 + SITES[s][1]) for s in names],
        index=pd.Index(list(names), name="site_id"),
        crs=CRS_UTM,
    )
    return gdf if crs == CRS_UTM else gdf.to_crs(crs)


def around(*business_ids: str, half: float = 0.2) -> MultiPolygon:
    """A footprint made of small squares around the given businesses."""
    return MultiPolygon(
        [
            box(
                X0 + BUSINESSES[b][0] - half,
                Y0 + BUSINESSES[b][1] - half,
                X0 + BUSINESSES[b][0] + half,
                Y0 + BUSINESSES[b][1] + half,
            )
            for b in business_ids
        ]
    )


@pytest.fixture
def assessment() -> Assessment:
    return make_assessment()


@pytest.fixture
def sites() -> gpd.GeoDataFrame:
    return make_sites()


# --------------------------------------------------------------------------- score_villages


def test_score_villages_unweighted_by_hand(assessment):
    s = score_villages(assessment)
    # uncovered: V3 3 (b05 b06 b07), V2 2 (b03 b04), V4 1 (b09), V1 0
    assert list(s.index) == [V3, V2, V4, V1]
    assert s["rank"].tolist() == [1, 2, 3, 4]
    assert s["score"].tolist() == [3.0, 2.0, 1.0, 0.0]
    assert s["n_uncovered"].tolist() == [3, 2, 1, 0]
    assert s["weighted_uncovered"].tolist() == [3.0, 2.0, 1.0, 0.0]
    # blank spot areas in km2: 25, 15, 20, 0 m2
    np.testing.assert_allclose(s["blank_spot_area_km2"], [25e-6, 15e-6, 20e-6, 0.0])
    np.testing.assert_allclose(s["covered_area_share"], [0.0, 0.4, 0.2, 1.0])
    np.testing.assert_allclose(s["uncovered_share"], [1.0, 2 / 3, 1 / 2, 0.0])
    assert list(s.columns[:8]) == [
        "rank", "score", "n_uncovered", "weighted_uncovered", "uncovered_share",
        "covered_area_share", "blank_spot_area_km2", "name",
    ]  # fmt: skip
    assert s.columns[-1] == "geometry"
    assert s.crs == assessment.villages.crs
    # same villages, nothing lost
    assert sorted(s.index) == sorted(assessment.villages.index)
    assert s.loc[V2, "name"] == "Dua"


def test_score_villages_uses_weight_column(  # weight_col given to read_businesses
):
    s = score_villages(make_assessment(weighted=True))
    # V3: 1 + 1 + 10 = 12; V2: 3 + 1 = 4; V4: 3; V1: 0
    assert list(s.index) == [V3, V2, V4, V1]
    assert s["score"].tolist() == [12.0, 4.0, 3.0, 0.0]
    assert s["n_uncovered"].tolist() == [3, 2, 1, 0]


def test_score_villages_class_weights_components_by_hand(assessment):
    s = score_villages(assessment, weights=KELAS)
    # V3: mikro 2 x 1 + menengah 1 x 10 = 12; V2: kecil 3 + mikro 1 = 4; V4: kecil 3; V1: 0
    assert list(s.index) == [V3, V2, V4, V1]
    assert s["score"].tolist() == [12.0, 4.0, 3.0, 0.0]
    assert s["n_uncovered_mikro"].tolist() == [2, 1, 0, 0]
    assert s["n_uncovered_kecil"].tolist() == [0, 1, 1, 0]
    assert s["n_uncovered_menengah"].tolist() == [1, 0, 0, 0]
    assert s["score_menengah"].tolist() == [10.0, 0.0, 0.0, 0.0]
    # the components add up to the score
    parts = s[["score_mikro", "score_kecil", "score_menengah"]].sum(axis=1)
    np.testing.assert_allclose(parts, s["score"])
    assert list(s.columns[:10]) == [
        "rank", "score", "n_uncovered", "weighted_uncovered",
        "n_uncovered_mikro", "score_mikro", "n_uncovered_kecil", "score_kecil",
        "n_uncovered_menengah", "score_menengah",
    ]  # fmt: skip


def test_score_villages_ties_break_by_village_id(assessment):
    # mikro 1, kecil 2, menengah 0: V2 = 2 + 1 = 3, V3 = 1 + 1 + 0 = 2, V4 = 2 -> V3 and V4 tie
    tie = {"column": "kelas", "values": {"mikro": 1, "kecil": 2, "menengah": 0}}
    # feed the villages in reverse order so that input order cannot explain the result
    rev = Assessment(**{**assessment.__dict__, "villages": assessment.villages.iloc[::-1]})
    s = score_villages(rev, weights=tie)
    assert list(s.index) == [V2, V3, V4, V1]
    assert s["score"].tolist() == [3.0, 2.0, 2.0, 0.0]


def test_score_villages_counts_mode():
    s = score_villages(make_counts_assessment())
    assert list(s.index) == [V2, V3, V1, V4]  # 6, 4, then the two zeros by id
    assert s["score"].tolist() == [6.0, 4.0, 0.0, 0.0]


@pytest.mark.parametrize(
    ("weights", "error", "match"),
    [
        ({"kelas": {"mikro": 1}}, InputError, r'weights must look like \{"column"'),
        ({"column": "size", "values": {"a": 1}}, InputError, r"no such column; they have"),
        (
            {"column": "kelas", "values": {"mikro": 1, "kecil": 3}},
            InputError,
            r"1 uncovered business\(es\) have a 'kelas' value .* 'menengah' .* business 'b07'",
        ),
        ({"column": "kelas", "values": {"mikro": -1}}, InputError, r"class\(es\) 'mikro'"),
        ({"column": "kelas", "values": {"mikro": float("nan")}}, InputError, r"finite number"),
        ({"column": "kelas", "values": {}}, InputError, r"'values' is \{\}"),
    ],
)
def test_score_villages_bad_weights(assessment, weights, error, match):
    with pytest.raises(error, match=match):
        score_villages(assessment, weights=weights)


def test_score_villages_weights_in_counts_mode_is_an_error():
    with pytest.raises(InputError, match="counts mode"):
        score_villages(make_counts_assessment(), weights=KELAS)


def test_score_villages_bad_business_weight():
    a = make_assessment(weighted=True)
    a.businesses.loc["b05", "weight"] = -2.0
    with pytest.raises(InputError, match=r"negative 'weight': 'b05'"):
        score_villages(a)


def test_not_an_assessment_and_unknown_option(assessment):
    with pytest.raises(InputError, match=r"score_villages\(\) needs an Assessment .*DataFrame"):
        score_villages(assessment.villages)
    with pytest.raises(UnknownOptionError, match="Did you mean 'weights'"):
        score_villages(assessment, weight=KELAS)
    with pytest.raises(UnknownOptionError, match="Did you mean 'radius_m'"):
        rank_sites(assessment, make_sites(), radius=10)


# --------------------------------------------------------------------------- candidate_sites


def test_candidate_grid_by_hand():
    # an extra blank spot in V1 without any uncovered business: it must get no grid point
    a = make_assessment(extra_spots={f"{V1}-1": (V1, box(X0, Y0 + 9, X0 + 1, Y0 + 10))})
    c = candidate_sites(a, spacing_m=2, clusters=False)
    # lattice points (multiples of 2 m; X0 and Y0 are multiples of 2) in or on the spots:
    # V2 spot x 7-10, y 5-10: x {8, 10} x y {6, 8, 10} = 6
    # V3 spot x 0-5,  y 0-5:  x {0, 2, 4} x y {0, 2, 4} = 9
    # V4 spot x 5-10, y 0-4:  x {6, 8, 10} x y {0, 2, 4} = 9
    assert len(c) == 24
    rel = sorted(zip(c.geometry.x - X0, c.geometry.y - Y0, strict=True))
    assert (0.0, 10.0) not in rel  # the V1 spot holds no uncovered business
    assert rel[:3] == [(0.0, 0.0), (0.0, 2.0), (0.0, 4.0)]
    assert (c["source"] == "grid").all()
    # ids in reading order: north to south, then west to east; y = 10 comes first
    assert c.index[:2].tolist() == ["G000001", "G000002"]
    assert (c.geometry.x.iloc[0] - X0, c.geometry.y.iloc[0] - Y0) == (8.0, 10.0)
    assert c.index.name == "site_id"
    # (8, 10) lies on V2's north edge; (10, 10) on its corner
    assert c.loc["G000001", "village_id"] == V2
    assert list(c.columns) == ["source", "village_id", "geometry"]
    assert c.crs == CRS(CRS_UTM)


def test_candidate_clusters_weighted_centres_by_hand():
    a = make_assessment(weighted=True)
    c = candidate_sites(a, spacing_m=5, grid=False)
    # 5 m cells: {b03 (8.5, 6.5) w3, b04 (8.5, 8.5) w1} -> (8.5, (19.5 + 8.5) / 4 = 7.0)
    #            {b05 (2.5, 2.5), b06 (1.5, 1.5), b07 (3.5, 1.5) w10} -> x (2.5 + 1.5 + 35) / 12
    #            = 3.25, y (2.5 + 1.5 + 15) / 12 = 1.5833; {b09 (6.5, 1.5)}
    xy = np.column_stack([c.geometry.x - X0, c.geometry.y - Y0])
    np.testing.assert_allclose(xy, [[8.5, 7.0], [3.25, 19 / 12], [6.5, 1.5]])
    assert c.index.tolist() == ["C000001", "C000002", "C000003"]
    assert c["village_id"].tolist() == [V2, V3, V4]


def test_candidate_sites_counts_mode_uses_blank_spot_points():
    a = make_counts_assessment()
    c = candidate_sites(a, spacing_m=2, grid=False)
    # one cluster per blank spot of a village with uncovered businesses, inside that spot
    assert len(c) == 2
    spots = a.blank_spots.geometry.to_numpy()
    assert all(shapely.intersects(spots, c.geometry.to_numpy()))


def test_candidate_sites_with_user_sites_reprojected(caplog):
    mine = make_sites(("A",), crs="EPSG:4326", cost_idr=[1e9])
    mine.index = pd.Index(["kantor"], name="site_id")
    with caplog.at_level(logging.INFO, logger="blankspot"):
        c = candidate_sites(make_assessment(), spacing_m=5, grid=False, user_sites=mine)
    assert "reprojected from EPSG:4326" in caplog.text
    assert c.loc["kantor", "source"] == "user"
    assert c.loc["kantor", "cost_idr"] == 1e9
    assert np.isnan(c.loc["C000001", "cost_idr"])
    assert c.crs == CRS(CRS_UTM)
    assert c.loc["kantor"].geometry.distance(Point(X0 + 8.5, Y0 + 7.5)) < 1e-3


def test_candidate_sites_errors(assessment):
    with pytest.raises(InputError, match="spacing_m must be a positive"):
        candidate_sites(assessment, spacing_m=0)
    with pytest.raises(InputError, match=r"would test .* grid points"):
        candidate_sites(assessment, spacing_m=0.001)
    clash = make_sites(("A",))
    clash.index = pd.Index(["C000001"], name="site_id")
    with pytest.raises(InputError, match="reuse generated site ids: 'C000001'"):
        candidate_sites(assessment, spacing_m=5, user_sites=clash)


def test_candidate_sites_with_no_uncovered_business():
    a = make_assessment(statuses=ALL_COVERED)
    c = candidate_sites(a)
    assert len(c) == 0
    assert list(c.columns) == ["source", "village_id", "geometry"]


# --------------------------------------------------------------------------- read_sites


def test_read_sites_files(tmp_path):
    csv = tmp_path / "lokasi.csv"
    lon, lat = Transformer.from_crs(CRS_UTM, 4326, always_xy=True).transform(X0 + 2.5, Y0 + 2)
    csv.write_text(f"kode,bujur,lintang,cost_idr\nK1,{lon},{lat},1500000000\n")
    s = read_sites(csv, id_col="kode")
    assert s.index.tolist() == ["K1"]
    assert s.crs == CRS(4326)
    assert s.loc["K1", "cost_idr"] == 1.5e9
    gpkg = tmp_path / "sites.gpkg"
    make_sites(("A", "B")).reset_index().to_file(gpkg)
    s2 = read_sites(gpkg)
    assert s2.index.tolist() == ["A", "B"]  # the site_id column
    assert (s2["source"] == "user").all()
    plain = make_sites(("A", "B")).reset_index(drop=True)
    assert read_sites(plain).index.tolist() == ["U000001", "U000002"]


@pytest.mark.parametrize(
    ("change", "error", "match"),
    [
        (lambda g: g.set_crs(None, allow_override=True), CRSError, "sites has no CRS"),
        (lambda g: g.iloc[:0], EmptyInputError, "have no rows"),
        (lambda g: g.set_axis(["A", "A", "C", "D"]), InputError, "duplicate site ids: 'A'"),
        (lambda g: g.assign(cost_idr=[1e9, np.nan, 1e9, -5.0]), InputError,
         r"missing \(NaN\) for 'B'; negative for 'D'"),
        (lambda g: g.assign(cost_idr=["x", 1, 1, 1]), InputError, "not a number for 'A'"),
        (lambda g: g.assign(radius_m=[0.0, np.nan, 1.0, 1.0]), InputError,
         "radius_m of sites must be a positive.*for 'A'"),
        (lambda g: g.set_geometry([None, *g.geometry.iloc[1:]]), InputError,
         "have no geometry: 'A'"),
        (lambda g: g.set_geometry([shapely.LineString([(0, 0), (1, 1)]), *g.geometry.iloc[1:]]),
         InputError, "neither points nor polygons"),
        (lambda g: g.set_geometry(
            [shapely.Polygon([(0, 0), (1, 1), (1, 0), (0, 1)]), *g.geometry.iloc[1:]]),
         InputError, "invalid: 'A'"),
    ],
)  # fmt: skip
def test_bad_sites(assessment, sites, change, error, match):
    bad = change(sites)
    with pytest.raises(error, match=match):
        read_sites(bad)
    with pytest.raises(error, match=match):
        rank_sites(assessment, bad, radius_m=2.5)


def test_read_sites_missing_file_and_bad_type(tmp_path):
    with pytest.raises(InputFileError, match="does not exist"):
        read_sites(tmp_path / "nope.gpkg")
    with pytest.raises(InputError, match="sites must be a GeoDataFrame"):
        read_sites(pd.DataFrame({"x": [1]}))
    with pytest.raises(InputError, match="id_col='kode' is not a column"):
        read_sites(make_sites(), id_col="kode")


# --------------------------------------------------------------------------- rank_sites


def test_rank_sites_greedy_by_hand(assessment, sites):
    plan = rank_sites(assessment, sites, radius_m=2.5)
    s = plan.sites
    # gains: A 2, B 3, C 2, D 1 -> B; then A 2, C 1 (b09), D 0 -> A; then C 1, D 0 -> C; D adds 0
    assert s["site_id"].tolist() == ["B", "A", "C"]
    assert s["rank"].tolist() == [1, 2, 3]
    assert s["new_businesses"].tolist() == [3, 2, 1]
    assert s["cumulative_businesses"].tolist() == [3, 5, 6]
    np.testing.assert_allclose(s["cumulative_share"], [3 / 6, 5 / 6, 1.0])
    assert s["village_id"].tolist() == [V3, V2, V3]  # C sits on the V3/V4 border: smaller id
    assert s["kecamatan"].tolist() == ["Rajabasa", "Kedaton", "Rajabasa"]
    assert s["villages_reached"].tolist() == [1, 1, 1]
    assert s["village_ids"].tolist() == [V3, V2, V4]  # C newly connects only b09 (V4)
    assert s["village_names"].tolist() == ["Tiga", "Dua", "Empat"]
    assert s["radius_m"].tolist() == [2.5, 2.5, 2.5]
    assert s["cost_idr"].isna().all() and s["cost_per_new_business"].isna().all()
    assert list(s.columns) == PLAN_COLUMNS
    assert isinstance(s, gpd.GeoDataFrame) and s.crs == CRS(CRS_UTM)
    assert s.geometry.iloc[0].equals(Point(X0 + 2.5, Y0 + 2.0))
    assert isinstance(plan, Plan)
    assert plan.method == "greedy" and not plan.weighted
    assert plan.objective == 6.0 and plan.total_uncovered == 6.0
    assert plan.upper_bound == 6.0 and plan.gap == 0.0  # everything reachable is connected
    assert plan.message == "" and plan.unreachable == 0.0
    assert plan.assessment is assessment
    # the ranked list: non-increasing, summing to the cumulative total
    assert (np.diff(s["new_businesses"]) <= 0).all()
    assert s["new_businesses"].sum() == s["cumulative_businesses"].iloc[-1]


def test_backhaul_and_network_by_hand(assessment, sites):
    plan = rank_sites(assessment, sites, radius_m=2.5)
    s = plan.sites
    # anchors: covered businesses b01, b02, b08 all fall in one 1 km cell -> b01 (lowest id)
    # B (2.5, 2.0) -> b01 (1.5, 8.5): hypot(1, 6.5) = 6.576
    # A (8.5, 7.5) -> b01: hypot(7, 1) = 7.071 (B is hypot(6, 5.5) = 8.139 away)
    # C (5.0, 1.5) -> B: hypot(2.5, 0.5) = 2.550 (b01: 7.826, A: 6.946)
    # in UTM metres on the central meridian, which are K0 true metres
    assert s["backhaul_to"].tolist() == ["covered:b01", "covered:b01", "B"]
    np.testing.assert_allclose(
        s["backhaul_m"] * K0,
        [math.hypot(1, 6.5), math.hypot(7, 1), math.hypot(2.5, 0.5)],
        rtol=1e-6,
    )
    g = plan.network
    assert isinstance(g, nx.Graph)
    assert sorted(g.nodes) == ["A", "B", "C", "covered:b01"]
    assert g.nodes["covered:b01"]["kind"] == "anchor"
    assert g.nodes["C"]["kind"] == "site" and g.nodes["C"]["rank"] == 3
    assert g.edges["C", "B"]["length_m"] * K0 == pytest.approx(math.hypot(2.5, 0.5))
    assert nx.is_connected(g)


def test_backhaul_to_existing_towers(sites):
    # a tower coverage (duck-typed: any source with a `towers` GeoDataFrame), inside a union,
    # given in lon/lat: reprojected to the working CRS
    towers = gpd.GeoDataFrame(
        geometry=[Point(X0 + 0.5, Y0 + 9.5), Point(X0 + 9.5, Y0 + 9.5)],
        index=pd.Index(["T1", "T2"]),
        crs=CRS_UTM,
    ).to_crs(4326)
    cov = SimpleNamespace(sources=(SimpleNamespace(), SimpleNamespace(towers=towers)))
    plan = rank_sites(make_assessment(coverage=cov), sites, radius_m=2.5)
    # B (2.5, 2) -> T1 (0.5, 9.5): hypot(2, 7.5) = 7.76; A (8.5, 7.5) -> T2: hypot(1, 2) = 2.24
    # C (5, 1.5) -> B: 2.55
    assert plan.sites["backhaul_to"].tolist() == ["tower:T1", "tower:T2", "B"]
    np.testing.assert_allclose(
        plan.sites["backhaul_m"] * K0,  # UTM metres on the central meridian are K0 metres
        [math.hypot(2, 7.5), math.hypot(1, 2), math.hypot(2.5, 0.5)],
        rtol=1e-6,
    )


def test_rank_sites_k_and_upper_bound(assessment, sites):
    plan = rank_sites(assessment, sites, radius_m=2.5, k=1)
    assert plan.sites["site_id"].tolist() == ["B"]
    # bound for one site: the largest single gain, 3 -> greedy is optimal
    assert plan.upper_bound == 3.0 and plan.gap == 0.0
    assert "1 site connects 3 of 6" in plan.summary()
    assert "objective 3" in repr(plan)


def trap_sites() -> gpd.GeoDataFrame:
    """Footprints (small squares around businesses): F1 {b05, b06, b07, b09}; F2 {b05, b06,
    b03}; F3 {b07, b09, b04}. k = 2: greedy F1 (4) then F2 (+1, tie with F3 by id) = 5; the
    optimum is F2 + F3 = 6 (every uncovered business)."""
    return gpd.GeoDataFrame(
        geometry=[
            around("b05", "b06", "b07", "b09"),
            around("b05", "b06", "b03"),
            around("b07", "b09", "b04"),
        ],
        index=pd.Index(["F1", "F2", "F3"], name="site_id"),
        crs=CRS_UTM,
    )


def test_bounds_of_a_greedy_plan_are_named_and_never_silent(monkeypatch, assessment):
    trap = trap_sites()
    g = rank_sites(assessment, trap, k=2, bound="greedy")
    assert g.bound_method == "greedy online bound (Leskovec et al. 2007) (bound='greedy')"
    assert g.upper_bound == 6.0  # after F1: 4 + the two best remaining gains 1 + 1
    lag = rank_sites(assessment, trap, k=2)  # the default
    assert lag.bound_method.startswith("Lagrangian relaxation (")
    # the LP optimum is 6 (F2 + F3 is integral); the Lagrangian dual reaches it
    assert lag.upper_bound == pytest.approx(6.0) and lag.objective == 5.0
    assert "\nbound: Lagrangian relaxation" in lag.summary()
    # an LP bound that hits its time limit is said, and the greedy bound stands in
    monkeypatch.setattr(ranking._mclp, "lp_bound", lambda *a, **kw: math.inf)
    lp = rank_sites(assessment, trap, k=2, bound="lp")
    assert "HiGHS did not solve the LP relaxation within the time limit" in lp.message
    assert lp.bound_method.endswith("because the LP relaxation hit the time limit")
    assert lp.upper_bound == 6.0
    # a Lagrangian bound cut short by its time limit says so
    monkeypatch.setattr(_solve, "LAGRANGIAN_BOUND_S", 0.0)
    short = rank_sites(assessment, trap, k=2)
    assert "the Lagrangian bound stopped at its 0 s limit before converging" in short.message
    assert short.upper_bound >= 6.0 - 1e-9


def test_greedy_and_exact_agree_on_ties_by_site_id(assessment):
    """Two sites with the same footprint: both methods build the one with the smaller id."""
    trap = trap_sites()
    twins = pd.concat([trap.loc[["F1"]].rename(index={"F1": "Z1"}), trap.loc[["F1"]]])
    twins.index.name = "site_id"
    for method in ("greedy", "exact"):
        plan = rank_sites(assessment, twins, k=1, method=method)
        assert plan.sites["site_id"].tolist() == ["F1"]


def test_exact_beats_greedy_on_a_trap(assessment):
    trap = trap_sites()
    g = rank_sites(assessment, trap, k=2)
    assert g.sites["site_id"].tolist() == ["F1", "F2"]
    assert g.sites["new_businesses"].tolist() == [4, 1]
    # bound: after F1, f = 4 plus the two best remaining gains 1 + 1 = 6
    assert g.upper_bound == 6.0 and g.gap == pytest.approx(1 / 6)
    assert g.sites["radius_m"].isna().all()  # footprints have no radius
    e = rank_sites(assessment, trap, k=2, method="exact")
    # ordered by marginal contribution: F2 3, F3 3 (tie: F2 by id)
    assert e.sites["site_id"].tolist() == ["F2", "F3"]
    assert e.sites["new_businesses"].tolist() == [3, 3]
    assert e.objective == 6.0 and e.upper_bound == 6.0 and e.gap == 0.0
    assert e.method == "exact"
    # the site location of a footprint is a point inside it
    assert all(shapely.intersects(trap.geometry.to_numpy()[[1, 2]], e.sites.geometry.to_numpy()))
    lp = rank_sites(assessment, trap, k=2, bound="lp")
    # the LP relaxation reaches 6 too (F2 + F3 is integral): the greedy plan is 1/6 short
    assert lp.upper_bound == pytest.approx(6.0)


def test_weighted_ranking_by_hand(sites):
    plan = rank_sites(make_assessment(weighted=True), sites, radius_m=2.5)
    # weights b03 3, b04 1, b05 1, b06 1, b07 10, b09 3:
    # A 4, B 12, C 13, D 1 -> C; then A 4, B 2 (b05 b06), D 1 -> A; then B 2, D 0 -> B
    s = plan.sites
    assert s["site_id"].tolist() == ["C", "A", "B"]
    assert s["new_weighted_businesses"].tolist() == [13.0, 4.0, 2.0]
    assert s["cumulative_weighted_businesses"].tolist() == [13.0, 17.0, 19.0]
    np.testing.assert_allclose(s["cumulative_weighted_share"], [13 / 19, 17 / 19, 1.0])
    assert s["new_businesses"].tolist() == [2, 2, 2]
    assert s["village_ids"].tolist() == [f"{V3};{V4}", V2, V3]
    assert s["village_names"].tolist() == ["Tiga;Empat", "Dua", "Tiga"]
    assert s["villages_reached"].tolist() == [2, 1, 1]
    expected = PLAN_COLUMNS[:5] + WEIGHTED_COLUMNS + PLAN_COLUMNS[5:]
    assert list(s.columns) == expected
    assert plan.weighted and plan.objective == 19.0 and plan.total_uncovered == 19.0
    # the same numbers from class weights on an unweighted assessment
    via_classes = rank_sites(make_assessment(), sites, radius_m=2.5, weights=KELAS)
    assert_geodataframe_equal(via_classes.sites, s)


def test_budget_plans_by_hand(assessment, sites):
    costed = sites.assign(cost_idr=[1e9, 3e9, 1e9, 0.5e9])
    plan = rank_sites(assessment, costed, radius_m=2.5, budget_idr=2.5e9)
    # gain per Rp bn: A 2/1, B 3/3, C 2/1, D 1/0.5 -> A, C, D tie at 2: A (id); 1.5 bn left:
    # B no longer fits, C 2/1 (b07 b09), D 0 -> C; 0.5 bn left: D adds nothing -> stop
    s = plan.sites
    assert s["site_id"].tolist() == ["A", "C"]
    assert s["cost_idr"].tolist() == [1e9, 1e9]
    assert s["cost_per_new_business"].tolist() == [5e8, 5e8]
    # no affordable set does better: A + C + D = 4 within 2.5 bn; B alone 3
    exact = rank_sites(assessment, costed, radius_m=2.5, budget_idr=2.5e9, method="exact")
    assert exact.objective == 4.0 and exact.gap == 0.0
    # without cost_idr, every site costs default_cost_idr (Rp 2.6 bn): 5.2 bn buys 2 sites
    two = rank_sites(assessment, sites, radius_m=2.5, budget_idr=5.2e9)
    assert two.sites["site_id"].tolist() == ["B", "A"]
    assert two.sites["cost_idr"].tolist() == [2.6e9, 2.6e9]
    # costs known without a budget: reported but not used for ranking
    report = rank_sites(assessment, costed, radius_m=2.5, k=1)
    assert report.sites["cost_per_new_business"].tolist() == [1e9]  # B: 3 bn / 3


def test_budget_that_cannot_bind_keeps_the_k_plan(assessment, sites):
    costed = sites.assign(cost_idr=[1e9, 3e9, 1e9, 0.5e9])
    # k = 2: B (3: b05 b06 b07), then A adds 2 (b03 b04), C 1 (b09), D 0 -> B, A = 5.
    # The two dearest sites cost 3 + 1 = 4 bn: a budget of 4 bn (or more) cannot bind.
    # (By gain per rupiah: A, C, D at 2 per bn, A by gain then id; then C -> A, C = 4.)
    for budget in (4e9, 6e9, 1e15):
        plan = rank_sites(assessment, costed, radius_m=2.5, k=2, budget_idr=budget)
        assert plan.sites["site_id"].tolist() == ["B", "A"]
        assert plan.sites["new_businesses"].tolist() == [3, 2]
        assert plan.objective == 5.0


def test_binding_budget_plain_gain_plan_wins(assessment, sites):
    costed = sites.assign(cost_idr=[1e9, 3e9, 1e9, 0.5e9])
    # budget 4 bn, no k (all useful sites cost 5.5 bn: the budget binds).
    # per rupiah: A (2/1), C (2/1), 2 bn left: D adds 0, B no longer fits -> 4.
    # largest gain: B (3, 1 bn left), A (2: b03 b04, 0 left) -> 5; C no longer fits.
    # Best within 4 bn by hand: B + A = 5 (all 6 need B + A + C = 5 bn).
    plan = rank_sites(assessment, costed, radius_m=2.5, budget_idr=4e9)
    assert plan.sites["site_id"].tolist() == ["B", "A"]
    assert plan.objective == 5.0
    assert "largest gain" in plan.message
    exact = rank_sites(assessment, costed, radius_m=2.5, budget_idr=4e9, method="exact")
    assert exact.objective == 5.0


def test_generated_sites_without_cost_get_the_default(assessment):
    mixed = make_sites(("A", "B"), source=["grid", "user"], cost_idr=[np.nan, 1e9])
    plan = rank_sites(assessment, mixed, radius_m=2.5, budget_idr=5e9, default_cost_idr=2e9)
    assert dict(zip(plan.sites["site_id"], plan.sites["cost_idr"], strict=True)) == {
        "B": 1e9,
        "A": 2e9,
    }


def test_counts_mode_plan():
    a = make_counts_assessment()
    sites = gpd.GeoDataFrame(
        geometry=[Point(X0 + 8.5, Y0 + 7.5), Point(X0 + 2.5, Y0 + 2.5)],
        index=pd.Index(["S1", "S2"], name="site_id"),
        crs=CRS_UTM,
    )
    # radius 4 m reaches any point of the V2 spot (3 x 5 m) from S1 and of V3 (5 x 5) from S2
    plan = rank_sites(a, sites, radius_m=4)
    assert plan.sites["site_id"].tolist() == ["S1", "S2"]
    assert plan.sites["new_businesses"].tolist() == [6.0, 4.0]
    assert plan.total_uncovered == 10.0 and plan.objective == 10.0
    # anchors in counts mode: the covered part of each village with coverage
    assert plan.sites["backhaul_to"].iloc[0].startswith("covered:")


def test_rank_sites_is_deterministic_and_input_order_free(assessment, sites):
    a1 = rank_sites(assessment, sites, radius_m=2.5)
    a2 = rank_sites(assessment, sites, radius_m=2.5)
    assert_geodataframe_equal(a1.sites, a2.sites)
    # shuffled businesses and sites give the same plan
    shuffled = Assessment(**{**assessment.__dict__, "businesses": assessment.businesses.iloc[::-1]})
    a3 = rank_sites(shuffled, sites.iloc[[2, 0, 3, 1]], radius_m=2.5)
    assert_geodataframe_equal(a1.sites, a3.sites)
    # ties go to the smaller site id whatever the input order: two sites at the same spot
    twins = make_sites(("B", "B")).set_axis(["Z", "Y"]).rename_axis("site_id")
    assert rank_sites(assessment, twins, radius_m=2.5, k=1).sites["site_id"].tolist() == ["Y"]


def test_sites_in_another_crs_are_reprojected(assessment, sites, caplog):
    utm = rank_sites(assessment, sites, radius_m=2.5)
    with caplog.at_level(logging.INFO, logger="blankspot"):
        lonlat = rank_sites(assessment, sites.to_crs(4326), radius_m=2.5)
    assert "Sites reprojected from EPSG:4326" in caplog.text
    assert lonlat.sites.crs == CRS(CRS_UTM)
    assert lonlat.sites["site_id"].tolist() == utm.sites["site_id"].tolist()
    np.testing.assert_allclose(lonlat.sites.geometry.x, utm.sites.geometry.x, atol=1e-3)


def test_rank_sites_from_a_file(tmp_path, assessment, sites):
    path = tmp_path / "sites.gpkg"
    sites.reset_index().to_file(path)
    assert rank_sites(assessment, str(path), radius_m=2.5).sites["site_id"].tolist() == [
        "B",
        "A",
        "C",
    ]


def test_per_site_radius(assessment, sites):
    # D gets a 3.5 m radius: now reaches b04 (1.12) and b03 (3.04) -> ties A at 2, A first by id
    own = sites.assign(radius_m=[np.nan, np.nan, np.nan, 3.5])
    plan = rank_sites(assessment, own.loc[["A", "D"]], radius_m=2.5, k=1)
    assert plan.sites["site_id"].tolist() == ["A"]
    only_d = rank_sites(assessment, own.loc[["D"]], radius_m=2.5)
    assert only_d.sites["new_businesses"].tolist() == [2]
    assert only_d.sites["radius_m"].tolist() == [3.5]


# --------------------------------------------------------------------------- bad input


def test_k_larger_than_candidates_warns(assessment, sites):
    with pytest.warns(BlankspotWarning, match="k=10 exceeds the 4 candidate sites"):
        plan = rank_sites(assessment, sites, radius_m=2.5, k=10)
    assert plan.sites["site_id"].tolist() == ["B", "A", "C"]  # all useful sites (D adds 0)
    assert "only 3 of the k=10 sites" in plan.message


def test_budget_below_cheapest_site_warns(assessment, sites):
    with pytest.warns(BlankspotWarning, match="below the cheapest site"):
        plan = rank_sites(assessment, sites, radius_m=2.5, budget_idr=1e9)
    assert len(plan.sites) == 0
    assert "below the cheapest site (Rp 2,600,000,000)" in plan.message
    assert list(plan.sites.columns) == PLAN_COLUMNS


@pytest.mark.parametrize("radius", [0, -5, float("nan"), float("inf"), "5 km", True])
def test_bad_radius(assessment, sites, radius):
    with pytest.raises(InputError, match="radius_m must be a"):
        rank_sites(assessment, sites, radius_m=radius)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"k": 0}, "k must be a positive whole number"),
        ({"k": 2.5}, "k must be a positive whole number"),
        ({"budget_idr": -1}, "budget_idr must be a positive"),
        ({"budget_idr": 0}, "budget_idr must be a positive"),
        ({"method": "optimal"}, r"method must be one of \['greedy', 'exact'\]"),
        ({"bound": "dual"}, r"bound must be one of"),
        ({"method": "exact"}, "method='exact' needs k"),
        ({"time_limit_s": 0}, "time_limit_s must be a positive"),
    ],
)
def test_bad_options(assessment, sites, kwargs, match):
    with pytest.raises(InputError, match=match):
        rank_sites(assessment, sites, **kwargs)


def test_sites_entirely_outside_the_villages(assessment):
    far = gpd.GeoDataFrame(
        geometry=[Point(X0 + 5000, Y0 + 5000)], index=["far"], crs=CRS_UTM
    ).rename_axis("site_id")
    with pytest.raises(NoOverlapError, match="None of the 1 sites lies in or touches a village"):
        rank_sites(assessment, far)


def test_no_uncovered_businesses_gives_an_empty_plan(sites):
    a = make_assessment(statuses=ALL_COVERED)
    plan = rank_sites(a, sites, radius_m=2.5, k=2)
    assert len(plan.sites) == 0
    assert plan.message.startswith("no uncovered businesses")
    assert plan.objective == 0.0 and plan.total_uncovered == 0.0 and plan.upper_bound == 0.0
    assert list(plan.sites.columns) == PLAN_COLUMNS


def test_no_site_in_reach_gives_an_empty_plan(assessment):
    # a site in V1 (covered village) 6.7 m from the nearest uncovered business (b05), radius 1 m
    lone = gpd.GeoDataFrame(
        geometry=[Point(X0 + 1, Y0 + 9)], index=pd.Index(["V1site"], name="site_id"), crs=CRS_UTM
    )
    plan = rank_sites(assessment, lone, radius_m=1)
    assert len(plan.sites) == 0
    assert "no candidate site reaches an uncovered business" in plan.message
    assert plan.unreachable == 6.0


def test_unreachable_businesses_are_counted(assessment, sites):
    plan = rank_sites(assessment, sites.loc[["A"]], radius_m=2.5)
    assert plan.objective == 2.0 and plan.unreachable == 4.0 and plan.total_uncovered == 6.0


def test_exact_time_limit_warns(monkeypatch, assessment, sites):
    def stopped(A, w, **kwargs):
        res = ranking._mclp.greedy_mclp(A, w, k=kwargs["k"])
        return ranking._mclp.MCLPResult(
            res.chosen, res.gains, res.objective, res.objective + 1, 0.25, "exact",
            "Time limit reached",
        )  # fmt: skip

    monkeypatch.setattr(_exact, "exact_mclp", stopped)
    with pytest.warns(BlankspotWarning, match=r"exact solve stopped \(Time limit reached\)"):
        plan = rank_sites(assessment, sites, radius_m=2.5, k=1, method="exact")
    assert "within 25.00%" in plan.message


# --------------------------------------------------------------------------- properties


def random_assessment(xy: np.ndarray, weights: np.ndarray) -> Assessment:
    """All businesses uncovered, in the four villages of the 10 x 10 m world."""
    base = make_assessment(weighted=True)
    vids = np.array(list(VILLAGE_BOXES))
    # V1 top left, V2 top right, V3 bottom left, V4 bottom right (tests/common.py)
    col = (xy[:, 0] >= 5).astype(int)
    row = (xy[:, 1] < 5).astype(int)
    biz = gpd.GeoDataFrame(
        {
            "weight": weights,
            "village_id": vids[row * 2 + col].astype(object),
            "covered": False,
            "status": "uncovered",
        },
        geometry=gpd.points_from_xy(X0 + xy[:, 0], Y0 + xy[:, 1]),
        index=pd.Index([f"r{i:03d}" for i in range(len(xy))], name="business_id"),
        crs=CRS_UTM,
    )
    return Assessment(**{**base.__dict__, "businesses": biz, "weight_col": "w"})


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    n=st.integers(1, 30),
    m=st.integers(1, 8),
    k=st.integers(1, 4),
    radius=st.floats(0.5, 4.0),
    seed=st.integers(0, 2**32 - 1),
)
def test_rank_sites_properties(n, m, k, radius, seed):
    geod = Geod(ellps="WGS84")
    to_lonlat = Transformer.from_crs(CRS_UTM, "EPSG:4326", always_xy=True)
    rng = np.random.default_rng(seed)
    # coordinates on a 0.1 m lattice offset by 0.05 m: never exactly on a village border
    xy = rng.integers(0, 100, (n, 2)) / 10 + 0.05
    w = rng.integers(1, 6, n).astype(float)
    sxy = rng.uniform(0, 10, (m, 2))
    a = random_assessment(xy, w)
    sites = gpd.GeoDataFrame(
        geometry=gpd.points_from_xy(X0 + sxy[:, 0], Y0 + sxy[:, 1]),
        index=pd.Index([f"s{j}" for j in range(m)], name="site_id"),
        crs=CRS_UTM,
    )
    g = rank_sites(a, sites, radius_m=radius, k=min(k, m))
    e = rank_sites(a, sites, radius_m=radius, k=min(k, m), method="exact")
    for plan in (g, e):
        s = plan.sites
        new = s["new_weighted_businesses"].to_numpy()
        assert np.all(np.diff(new) <= 1e-9)  # non-increasing (unit costs)
        np.testing.assert_allclose(np.cumsum(new), s["cumulative_weighted_businesses"])
        assert s["new_businesses"].sum() == (s["cumulative_businesses"].iloc[-1] if len(s) else 0)
        # independent check with geodesic distances (pyproj.Geod on WGS84, as the radius
        # is meant): what the chosen sites really reach. Planar UTM distances would be off
        # by UTM's scale (1 / 0.9996 here) and disagree at the edge of the radius.
        chosen = np.array([int(t[1:]) for t in s["site_id"]], dtype=int)
        blon, blat = to_lonlat.transform(X0 + xy[:, 0], Y0 + xy[:, 1])
        slon, slat = to_lonlat.transform(X0 + sxy[chosen, 0], Y0 + sxy[chosen, 1])
        n_b, n_s = len(blon), len(slon)
        _, _, d = geod.inv(
            np.repeat(blon, n_s), np.repeat(blat, n_s), np.tile(slon, n_b), np.tile(slat, n_b)
        )
        reached = (d.reshape(n_b, n_s) <= radius).any(axis=1)
        assert plan.objective == pytest.approx(w[reached].sum())
        assert plan.upper_bound >= plan.objective - 1e-9
    assert e.objective >= g.objective - 1e-9
    assert g.objective >= (1 - 1 / math.e) * e.objective - 1e-9
    assert g.upper_bound >= e.objective - 1e-9
