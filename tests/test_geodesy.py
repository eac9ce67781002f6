"""Geodesy anywhere in Indonesia: areas and distances against pyproj.Geod at 95°E, 115°E, 141°E.

One UTM zone for the whole country (the old behaviour) is wrong by +15.7 % in area at 95°E and
+19.3 % at 141°E; every figure here is checked against :class:`pyproj.Geod`, an independent
implementation of the ellipsoid (Karney's geodesics), to the issue's 0.1 %.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import geopandas as gpd
from pyproj import CRS, Geod
from shapely.geometry import Point, box

from blankspot import _geodesy, assess, candidate_sites, coverage, rank_sites
from blankspot._errors import BlankspotWarning, NoOverlapError

GEOD = Geod(ellps="WGS84")

#: (village id, lon, lat): Aceh (UTM 46N), Bali (50S), Papua (54S); 0.1 x 0.1 degree boxes
PLACES = [
    ("11.01.01.2001", 95.30, 5.40),
    ("51.71.01.2001", 115.20, -8.70),
    ("94.71.01.2001", 140.60, -2.60),
]
SIDE = 0.1


def _villages() -> gpd.GeoDataFrame:
    boxes = [box(lon, lat, lon + SIDE, lat + SIDE).segmentize(0.005) for _, lon, lat in PLACES]
    return gpd.GeoDataFrame(
        {"name": ["Aceh", "Bali", "Papua"]},
        geometry=boxes,
        index=pd.Index([p[0] for p in PLACES], name="village_id"),
        crs="EPSG:4326",
    )


def _geod_area_km2(geom) -> float:
    return abs(GEOD.geometry_area_perimeter(geom)[0]) / 1e6


def _west_halves() -> gpd.GeoDataFrame:
    halves = [box(lon, lat, lon + SIDE / 2, lat + SIDE).segmentize(0.005) for _, lon, lat in PLACES]
    return gpd.GeoDataFrame(geometry=halves, crs="EPSG:4326")


def _shops() -> gpd.GeoDataFrame:
    # one shop in the covered west and one in the uncovered east of each village
    pts = []
    for _, lon, lat in PLACES:
        pts += [Point(lon + 0.02, lat + 0.05), Point(lon + 0.08, lat + 0.05)]
    return gpd.GeoDataFrame(geometry=pts, crs="EPSG:4326")


@pytest.mark.parametrize("crs", [None, "EPSG:32750"])
def test_areas_match_pyproj_geod_at_95_115_141_east(crs):
    villages = _villages()
    result = assess(villages, _shops(), coverage.from_polygons(_west_halves()), crs=crs)
    v = result.villages
    expected = np.array([_geod_area_km2(g) for g in villages.geometry])
    np.testing.assert_allclose(v["area_km2"], expected, rtol=1e-3)
    np.testing.assert_allclose(v["covered_area_share"], 0.5, rtol=2e-3)
    east = [
        box(lon + SIDE / 2, lat, lon + SIDE, lat + SIDE).segmentize(0.005) for _, lon, lat in PLACES
    ]
    spots = result.blank_spots.set_index("village_id")["area_km2"]
    np.testing.assert_allclose(spots[villages.index], [_geod_area_km2(g) for g in east], rtol=1e-3)
    acc = result.accounting
    assert (acc["input"], acc["covered"], acc["uncovered"], acc["outside_villages"]) == (6, 3, 3, 0)
    if crs is not None:  # crs= still gives one CRS for every layer
        assert result.crs == CRS.from_user_input(crs)
        assert result.blank_spots.crs == result.crs


def _ring_around(lon: float, lat: float, distances_m: list[float]) -> tuple[np.ndarray, ...]:
    az = np.linspace(0, 315, len(distances_m))  # different directions
    x, y, _ = GEOD.fwd(
        np.full(len(distances_m), lon), np.full(len(distances_m), lat), az, distances_m
    )
    return np.asarray(x), np.asarray(y)


DISTANCES_M = [4800.0, 4990.0, 4999.0, 5001.0, 5010.0, 5200.0]
REACHED = [True, True, True, False, False, False]


def test_tower_reach_matches_pyproj_geod_at_95_115_141_east():
    villages = _villages()
    towers, shops = [], []
    for _, lon, lat in PLACES:
        c = (lon + SIDE / 2, lat + SIDE / 2)
        towers.append(Point(*c))
        shops += [Point(x, y) for x, y in zip(*_ring_around(*c, DISTANCES_M), strict=True)]
    t = gpd.GeoDataFrame({"radio": ["LTE"] * 3, "range_m": [np.nan] * 3}, geometry=towers, crs=4326)
    result = assess(
        villages,
        gpd.GeoDataFrame(geometry=shops, crs="EPSG:4326"),
        coverage.from_towers(t, radius_m=5000),
    )
    assert result.businesses["covered"].tolist() == REACHED * 3
    # the disc areas: a 128-gon inscribed in the geodesic circle, 0.04 % under pi r^2
    disc = np.pi * 5000.0**2 / 1e6
    covered_km2 = result.villages["area_km2"] * result.villages["covered_area_share"]
    np.testing.assert_allclose(covered_km2, disc, rtol=1e-3)


def test_site_radius_and_backhaul_match_pyproj_geod_at_95_115_141_east():
    villages = _villages()
    shops, sites = [], []
    for _, lon, lat in PLACES:
        c = (lon + SIDE / 2, lat + SIDE / 2)
        sites.append(Point(*c))
        shops += [Point(x, y) for x, y in zip(*_ring_around(*c, DISTANCES_M), strict=True)]
    # covered: only a tiny polygon at each village's south-west corner, with one shop in it
    corners = [box(lon, lat, lon + 0.001, lat + 0.001) for _, lon, lat in PLACES]
    anchor = [Point(lon + 0.0005, lat + 0.0005) for _, lon, lat in PLACES]
    result = assess(
        villages,
        gpd.GeoDataFrame(geometry=shops + anchor, index=[f"b{i:02d}" for i in range(21)], crs=4326),
        coverage.from_polygons(gpd.GeoDataFrame(geometry=corners, crs=4326)),
    )
    assert result.accounting["uncovered"] == 18 and result.accounting["covered"] == 3
    site_frame = gpd.GeoDataFrame(
        geometry=sites, index=pd.Index(["S-aceh", "S-bali", "S-papua"], name="site_id"), crs=4326
    )
    plan = rank_sites(result, site_frame, radius_m=5000, k=3)
    assert plan.sites["new_businesses"].tolist() == [3, 3, 3]
    assert plan.objective == 9
    # backhaul: each site links to the covered corner of its own village; chord vs geodesic
    s = plan.sites.set_index("site_id").loc[["S-aceh", "S-bali", "S-papua"]]
    lon_s = [p.x for p in sites]
    lat_s = [p.y for p in sites]
    assert s["backhaul_to"].tolist() == ["covered:b18", "covered:b19", "covered:b20"]
    _, _, d = GEOD.inv(lon_s, lat_s, [a.x for a in anchor], [a.y for a in anchor])
    np.testing.assert_allclose(s["backhaul_m"], d, rtol=1e-3)


def test_candidate_grid_spacing_is_true_metres_at_141_east():
    villages = _villages()
    result = assess(villages, _shops(), coverage.from_polygons(_west_halves()))
    assert result.crs.to_epsg() == 32750  # the centre's zone, 27 degrees from Papua's
    sites = candidate_sites(result, spacing_m=2000, clusters=False).to_crs(4326)
    papua = sites[sites["village_id"] == "94.71.01.2001"].geometry
    lon, lat = papua.x.to_numpy(), papua.y.to_numpy()
    # nearest other grid point of each, by pyproj's geodesic distance
    n = lon.size
    _, _, d = GEOD.inv(np.repeat(lon, n), np.repeat(lat, n), np.tile(lon, n), np.tile(lat, n))
    d = np.asarray(d).reshape(n, n)
    np.fill_diagonal(d, np.inf)
    assert n > 4
    np.testing.assert_allclose(d.min(axis=1), 2000.0, rtol=1e-3)


@pytest.mark.parametrize("source", ["raster", "towers"])
def test_lampung_unchanged_when_a_papua_village_is_added(source):
    # 25 real Lampung villages of the embedded sample, seeded shops in them, the sample's
    # RSRP raster or its towers near them; then the same with one Papua village added
    from blankspot import read_towers, read_villages, sample

    paths = sample.sample_paths()
    lampung = read_villages(paths["villages"]).iloc[:25]
    rng = np.random.default_rng(18)
    x0, y0, x1, y1 = lampung.total_bounds
    pts = gpd.points_from_xy(rng.uniform(x0, x1, 6000), rng.uniform(y0, y1, 6000), crs=lampung.crs)
    inside = pts[lampung.sindex.query(pts, predicate="intersects")[0]]
    biz = gpd.GeoDataFrame(
        geometry=inside[np.sort(np.unique(inside.x, return_index=True)[1])][:600], crs=lampung.crs
    )
    papua = gpd.GeoDataFrame(
        {"name": ["Papua"]},
        geometry=[box(140.6, -2.6, 140.7, -2.5)],
        index=pd.Index(["94.71.01.2001"], name=lampung.index.name),
        crs="EPSG:4326",
    ).to_crs(lampung.crs)
    both = pd.concat([lampung, papua])
    if source == "raster":
        cov = coverage.from_raster(paths["signal"])
    else:
        towers = read_towers(paths["towers"])
        near = towers.cx[x0 - 0.1 : x1 + 0.1, y0 - 0.1 : y1 + 0.1]
        cov = coverage.from_towers(near, radius_m=1000)
    alone = assess(lampung, biz, cov)
    if source == "raster":
        with pytest.warns(BlankspotWarning, match="outside the raster"):  # Papua
            joined = assess(both, biz, cov)
    else:
        joined = assess(both, biz, cov)
    assert alone.crs.to_epsg() == 32748 and joined.crs.to_epsg() != 32748
    assert 0 < alone.accounting["uncovered"] < alone.accounting["input"] == len(biz) > 500
    cols = ["area_km2", "covered_area_share", "n_businesses", "n_uncovered", "blank_spot"]
    pd.testing.assert_frame_equal(
        joined.villages.loc[lampung.index, cols], alone.villages[cols], rtol=1e-9
    )
    spots_a = alone.blank_spots.groupby("village_id")["area_km2"].sum()
    spots_j = joined.blank_spots.groupby("village_id")["area_km2"].sum()
    pd.testing.assert_series_equal(spots_j.loc[spots_a.index], spots_a, rtol=1e-9)
    assert joined.accounting == alone.accounting
    pd.testing.assert_series_equal(joined.businesses["status"], alone.businesses["status"])
    # and the geodesic area of Lampung's villages, independently
    expected = [_geod_area_km2(g) for g in lampung.to_crs(4326).geometry]
    np.testing.assert_allclose(alone.villages["area_km2"], expected, rtol=1e-3)


def test_no_false_no_overlap_error_far_from_the_working_zone():
    # Lampung and Papua villages: the working CRS is a zone in between; a coverage polygon
    # inside the villages' lon/lat extent used to be refused (the old check compared boxes
    # in that zone, where Lampung's box is skewed)
    villages = gpd.GeoDataFrame(
        {"name": ["Lampung", "Papua"]},
        geometry=[box(105.0, -5.5, 105.1, -5.4), box(140.6, -2.5, 140.7, -2.4)],
        index=pd.Index(["18.01.01.2001", "94.71.01.2001"], name="village_id"),
        crs="EPSG:4326",
    )
    shops = gpd.GeoDataFrame(geometry=[Point(105.05, -5.45)], crs=4326)
    inside = gpd.GeoDataFrame(geometry=[box(110.09, -2.45, 110.14, -2.40)], crs=4326)
    result = assess(villages, shops, coverage.from_polygons(inside))
    assert result.accounting["uncovered"] == 1
    outside = gpd.GeoDataFrame(geometry=[box(120.0, 10.0, 120.1, 10.1)], crs=4326)
    with pytest.raises(NoOverlapError, match=r"lon 120\.0000\.\.120\.1000, lat 10\.0000"):
        assess(villages, shops, coverage.from_polygons(outside))


@pytest.mark.parametrize("lon", [95.3, 115.2, 140.7])
def test_ecef_chord_equals_geodesic_distance(lon):
    rng = np.random.default_rng(int(lon))
    lat = rng.uniform(-9, 6, 200)
    lon0 = lon + rng.uniform(-1, 1, 200)
    dist = rng.uniform(10, 20_000, 200)
    lon2, lat2, _ = GEOD.fwd(lon0, lat, rng.uniform(-180, 180, 200), dist)
    chord = np.linalg.norm(
        _geodesy.ecef(lon0, lat) - _geodesy.ecef(np.asarray(lon2), np.asarray(lat2)), axis=1
    )
    np.testing.assert_allclose(chord, _geodesy.chord_m(dist), rtol=1e-7)
    np.testing.assert_allclose(chord, dist, rtol=1e-6)  # 20 km: d^3 / 24 R^2 = 8e-6 m per m


def test_within_reach_with_many_radii_equals_brute_force():
    # more distinct radii than radius groups: the pair-by-pair path is used
    rng = np.random.default_rng(5)
    c_lon, c_lat = rng.uniform(105, 105.2, 60), rng.uniform(-5.2, -5, 60)
    radius = rng.uniform(200, 3000, 60)
    p_lon, p_lat = rng.uniform(104.98, 105.22, 4000), rng.uniform(-5.22, -4.98, 4000)
    got = _geodesy.within_reach(_geodesy.ecef(c_lon, c_lat), radius, _geodesy.ecef(p_lon, p_lat))
    _, _, d = GEOD.inv(
        np.repeat(p_lon, 60), np.repeat(p_lat, 60), np.tile(c_lon, 4000), np.tile(c_lat, 4000)
    )
    expected = (np.asarray(d).reshape(4000, 60) <= radius).any(axis=1)
    np.testing.assert_array_equal(got, expected)
    assert 500 < expected.sum() < 3500


def test_utm_zones_of_indonesia():
    lon = np.array([95.3, 101.0, 105.2, 110.4, 115.2, 119.4, 124.8, 131.0, 140.7])
    lat = np.array([5.5, 0.5, -5.4, -7.0, -8.7, -5.1, 1.5, -0.9, -2.6])
    assert _geodesy.utm_epsg(lon, lat).tolist() == [
        32646, 32647, 32748, 32749, 32750, 32750, 32651, 32752, 32754
    ]  # fmt: skip
