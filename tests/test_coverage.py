"""blankspot.coverage: every source against hand-computed values and independent tools."""

from __future__ import annotations

import logging
import math

import numpy as np
import pandas as pd
import pytest
from affine import Affine
from exactextract import exact_extract

import geopandas as gpd
import pyogrio
import rasterio
import shapely
from pyproj import CRS, Geod, Transformer
from shapely.geometry import Point, box

from blankspot import coverage
from blankspot._errors import (
    BlankspotWarning,
    CRSError,
    EmptyInputError,
    InputError,
    InputFileError,
    NoOverlapError,
    UnknownOptionError,
)
from blankspot.coverage import (
    DEFAULT_RADIUS_M,
    CoverageSource,
    check_overlap,
    from_polygons,
    from_raster,
    from_speed_tiles,
    from_towers,
    union,
)
from tests.common import (
    CRS_UTM,
    EXPECTED_SHARE_AT_MINUS_110,
    K0,
    TRANSFORM,
    X0,
    Y0,
    signal_array,
    write_tif,
)

UTM = CRS.from_user_input(CRS_UTM)
IDS = list(EXPECTED_SHARE_AT_MINUS_110)


def geoseries(geoms, ids=None) -> gpd.GeoSeries:
    ids = ids or [f"v{i}" for i in range(len(geoms))]
    return gpd.GeoSeries(geoms, index=pd.Index(ids, name="village_id"), crs=CRS_UTM)


# --- from_raster ----------------------------------------------------------------------------


def test_raster_shares_hand_counted(signal_tif, villages):
    src = from_raster(signal_tif)
    assert isinstance(src, CoverageSource)
    assert src.description == "raster 'signal.tif' >= -110 dBm" and src.has_signal
    vc = src.village_cover(villages.geometry, UTM)
    np.testing.assert_allclose(vc.area_m2, 25.0)  # 5 x 5 m villages
    np.testing.assert_allclose(
        vc.covered_area_m2, [EXPECTED_SHARE_AT_MINUS_110[v] * 25 for v in villages.index]
    )
    np.testing.assert_allclose(vc.covered_share, list(EXPECTED_SHARE_AT_MINUS_110.values()))
    # on a grid-aligned world the areas are exact floats (assess adds them up exactly)
    assert vc.covered_area_m2.tolist() == [25.0, 10.0, 0.0, 5.0]
    # uncovered polygons: V1 none; V2 the right 3 columns (15 m2); V3 everything; V4 the
    # bottom 4 rows (20 m2): one contiguous piece each
    unc = vc.uncovered
    assert unc.crs == UTM and list(unc.columns) == ["village_id", "geometry"]
    assert unc["village_id"].tolist() == IDS[1:]
    np.testing.assert_allclose(unc.area, [15.0, 25.0, 20.0])
    assert unc.geometry.iloc[0].equals(box(X0 + 7, Y0 + 5, X0 + 10, Y0 + 10))


def test_raster_threshold_minus_100(signal_tif, villages):
    vc = from_raster(signal_tif, threshold_dbm=-100).village_cover(villages, UTM)
    # -90 and -100 pass (>=), -105 and below do not: V1 25, V2 2 cols x 5 = 10, V3 0, V4 0
    np.testing.assert_allclose(vc.covered_area_m2, [25.0, 10.0, 0.0, 0.0])


def test_raster_pixels_cut_in_half(signal_tif):
    # x from X0+4.5 to X0+7.5 over rows 0-4: half of col 4 (-90), cols 5-6 (-100), half col 7
    # (-120): covered 5 * (0.5 + 2) = 12.5 m2 of 5 * 3 = 15 m2
    v = geoseries([box(X0 + 4.5, Y0 + 5, X0 + 7.5, Y0 + 10)])
    vc = from_raster(signal_tif).village_cover(v, UTM)
    assert vc.covered_area_m2[0] == pytest.approx(12.5)
    assert vc.area_m2[0] == pytest.approx(15.0)
    assert vc.uncovered.area.sum() == pytest.approx(2.5)


def test_raster_village_partly_outside(signal_tif):
    # X0+5..X0+13 over rows 0-4: inside the raster cols 5-6 covered (10 m2), cols 7-9 not;
    # X0+10..X0+13 lies beyond the raster, so uncovered: one piece of 40 - 10 = 30 m2
    v = geoseries([box(X0 + 5, Y0 + 5, X0 + 13, Y0 + 10), box(X0 + 50, Y0, X0 + 52, Y0 + 2)])
    vc = from_raster(signal_tif).village_cover(v, UTM)
    np.testing.assert_allclose(vc.covered_area_m2, [10.0, 0.0])
    np.testing.assert_allclose(vc.area_m2, [40.0, 4.0])
    assert vc.uncovered["village_id"].tolist() == ["v0", "v1"]
    np.testing.assert_allclose(vc.uncovered.area, [30.0, 4.0])


@pytest.mark.parametrize("tile_px", [2, 3, 64])
def test_raster_uncovered_polygons_equal_brute_force(tmp_path, monkeypatch, tile_px):
    # tiny polygonising tiles force uncovered regions to be cut and merged across tiles;
    # the result must not depend on the tiling
    monkeypatch.setattr("blankspot._raster._tile_size", lambda *a: tile_px)
    rng = np.random.default_rng(11)
    arr = np.where(rng.random((12, 12)) > 0.45, -90.0, -130.0).astype("float32")
    t = Affine(2, 0, X0, 0, -2, Y0 + 24)
    path = write_tif(tmp_path / "speckle.tif", arr, t)
    cells = shapely.voronoi_polygons(
        shapely.multipoints(rng.uniform([X0, Y0], [X0 + 24, Y0 + 24], (5, 2))),
        extend_to=box(X0, Y0, X0 + 24, Y0 + 24),
    )
    cells = shapely.intersection(shapely.get_parts(cells), box(X0 + 1, Y0 + 1, X0 + 23, Y0 + 23))
    v = geoseries(list(cells))
    vc = from_raster(path).village_cover(v, UTM)
    # independent: union of the uncovered pixel squares (shapely), cut by each village,
    # exploded into contiguous parts, parts under 1 m2 dropped
    rr, cc = np.nonzero(arr < -110)
    squares = shapely.box(X0 + 2 * cc, Y0 + 24 - 2 * (rr + 1), X0 + 2 * (cc + 1), Y0 + 24 - 2 * rr)
    unc = shapely.union_all(squares)
    expected = gpd.GeoSeries(shapely.intersection(cells, unc), index=v.index).explode()
    expected = expected[expected.area >= 1.0]
    got = vc.uncovered
    assert len(got) == len(expected)
    for vid in v.index:  # same parts (as sets of areas) in every village
        np.testing.assert_allclose(
            np.sort(got.area[got["village_id"] == vid].to_numpy()),
            np.sort(expected.loc[[vid]].area.to_numpy()) if vid in expected.index else [],
        )
    same = shapely.symmetric_difference(
        shapely.union_all(got.geometry.values), shapely.union_all(expected.values)
    )
    assert same.area < 1e-6


def test_raster_shares_match_exactextract(tmp_path, villages):
    # exactextract's coverage-weighted mean of the 0/1 covered mask, on villages that cut pixels
    cov01 = (signal_array() >= -110).astype("float32")
    path01 = write_tif(tmp_path / "cov01.tif", cov01, TRANSFORM)
    rng = np.random.default_rng(0)
    xy = rng.uniform([X0 + 0.3, Y0 + 0.3], [X0 + 9.7, Y0 + 9.7], (12, 2))
    geoms = shapely.buffer(shapely.points(xy), rng.uniform(0.4, 2.5, 12), quad_segs=5)
    geoms = shapely.intersection(geoms, box(X0, Y0, X0 + 10, Y0 + 10))
    gs = geoseries(list(geoms))
    ee = exact_extract(str(path01), gpd.GeoDataFrame(geometry=gs), "mean", output="pandas")
    signal = write_tif(tmp_path / "sig.tif", signal_array(), TRANSFORM)
    vc = from_raster(signal).village_cover(gs, UTM)
    np.testing.assert_allclose(vc.covered_share, ee["mean"].to_numpy(), atol=1e-9)


def test_raster_points_hand_and_rasterio(signal_tif):
    src = from_raster(signal_tif)
    # pixel centres: (0,0) -90, (0,6) -100, (0,8) -120, (5,7) -105, (9,9) -115; then a point
    # on the pixel edge x = X0 + 7 (belongs to col 7: -120), one outside, one NaN
    x = np.array([X0 + 0.5, X0 + 6.5, X0 + 8.5, X0 + 7.5, X0 + 9.5, X0 + 7.0, X0 - 1, np.nan])
    y = np.array([Y0 + 9.5, Y0 + 9.5, Y0 + 9.5, Y0 + 4.5, Y0 + 0.5, Y0 + 9.5, Y0 + 5, Y0])
    covered, signal = src.points(x, y, UTM)
    np.testing.assert_array_equal(covered, [True, True, False, True, False, False, False, False])
    np.testing.assert_array_equal(
        signal, [-90.0, -100.0, -120.0, -105.0, -115.0, -120.0, np.nan, np.nan]
    )
    with rasterio.open(signal_tif) as ds:
        ref = np.array([v[0] for v in ds.sample(zip(x[:6], y[:6], strict=True))])
    np.testing.assert_array_equal(signal[:6], ref)
    # the same points in lon/lat give the same answer (transformed into the raster CRS)
    lon, lat = Transformer.from_crs(UTM, 4326, always_xy=True).transform(x[:6], y[:6])
    # (not the edge point: the lon/lat round trip moves it by ~1e-9 m off the edge)
    cov_ll, sig_ll = src.points(lon[:5], lat[:5], "EPSG:4326")
    np.testing.assert_array_equal(sig_ll, signal[:5])
    np.testing.assert_array_equal(cov_ll, covered[:5])


def test_class_raster_covered_values(tmp_path):
    # GSMA style classes, 255 = nodata; 1 m pixels; a 4 x 4 village over the whole raster
    arr = np.array([[1, 1, 2, 0], [1, 2, 0, 0], [255, 255, 0, 0], [2, 2, 2, 0]], dtype="uint8")
    path = write_tif(tmp_path / "gsma.tif", arr, Affine(1, 0, X0, 0, -1, Y0 + 4), nodata=255)
    src = from_raster(path, covered_values=(1, 2), threshold_dbm=999)  # threshold ignored
    assert not src.has_signal and src.description == "class raster 'gsma.tif' in [1, 2]"
    vc = src.village_cover(geoseries([box(X0, Y0, X0 + 4, Y0 + 4)]), UTM)
    # classes 1/2: row0 3, row1 2, row2 0 (nodata), row3 3 -> 8 of 16
    assert vc.covered_area_m2[0] == pytest.approx(8.0)
    covered, signal = src.points(
        np.array([X0 + 0.5, X0 + 0.5, X0 + 3.5]), np.array([Y0 + 3.5, Y0 + 1.5, Y0 + 3.5]), UTM
    )
    assert signal is None
    np.testing.assert_array_equal(covered, [True, False, False])
    only_strong = from_raster(path, covered_values=1).village_cover(
        geoseries([box(X0, Y0, X0 + 4, Y0 + 4)]), UTM
    )
    assert only_strong.covered_area_m2[0] == pytest.approx(3.0)  # three 1s


def test_raster_in_lonlat_with_villages_in_utm(tmp_path):
    # a 0.001 degree raster around lon 105, lat -5: covered west of lon 105.05
    lon0, lat0, step = 105.0, -5.0, 0.001
    arr = np.zeros((100, 100), dtype="float32") - 130
    arr[:, :50] = -80
    path = write_tif(
        tmp_path / "ll.tif", arr, Affine(step, 0, lon0, 0, -step, lat0), crs="EPSG:4326"
    )
    to_utm = Transformer.from_crs(4326, UTM, always_xy=True)
    cx, cy = to_utm.transform(105.05, -5.05)
    village = box(cx - 2000, cy - 1000, cx + 1000, cy + 1000)  # 6 km2, ~2/3 west of the line
    vc = from_raster(path).village_cover(geoseries([village]), UTM)
    # independent: the covered half-plane built in lon/lat, densified, moved to UTM, clipped
    west = shapely.segmentize(box(104.9, -5.2, 105.05, -4.9), 0.001)
    west_utm = shapely.transform(west, lambda c: np.column_stack(to_utm.transform(*c.T)))
    expected = shapely.intersection(village, west_utm).area
    assert vc.area_m2[0] == pytest.approx(6e6)
    assert vc.covered_area_m2[0] / vc.area_m2[0] == pytest.approx(expected / 6e6, abs=0.005)
    assert vc.uncovered.area.sum() == pytest.approx(6e6 - expected, rel=0.01)
    assert vc.uncovered.crs == UTM
    # exactextract on the village moved into the raster CRS agrees to float precision
    ll = geoseries([village]).to_crs(4326)
    ee = exact_extract(str(path), gpd.GeoDataFrame(geometry=ll), "mean", output="pandas")
    ee_share = (ee["mean"].to_numpy()[0] + 130) / 50  # mean of -80/-130 -> covered share
    assert vc.covered_share[0] == pytest.approx(ee_share, abs=1e-6)


def test_raster_bounds_in(signal_tif):
    src = from_raster(signal_tif)
    assert src.bounds_in(UTM) == pytest.approx((X0, Y0, X0 + 10, Y0 + 10))
    lon_min, lat_min, _, lat_max = src.bounds_in("EPSG:4326")
    assert lon_min == pytest.approx(105.0, abs=1e-6) and -5.43 < lat_min < lat_max < -5.42


def test_raster_errors(tmp_path, signal_tif):
    with pytest.raises(InputFileError, match=r"'nope\.tif' does not exist"):
        from_raster("nope.tif")
    text = tmp_path / "notes.tif"
    text.write_text("not a raster")
    with pytest.raises(InputFileError, match=r"notes\.tif' is not a raster GDAL can read"):
        from_raster(text)
    nocrs = tmp_path / "nocrs.tif"
    with rasterio.open(
        nocrs, "w", driver="GTiff", width=2, height=2, count=1, dtype="float32", transform=TRANSFORM
    ) as d:
        d.write(np.zeros((2, 2), "float32"), 1)
    with pytest.raises(CRSError, match=r"coverage raster 'nocrs\.tif' has no CRS"):
        from_raster(nocrs)
    with pytest.raises(InputError, match=r"band=2 is out of range.*has 1 band"):
        from_raster(signal_tif, band=2)
    with pytest.raises(InputError, match=r"dBm thresholds are negative.*Did you mean -110"):
        from_raster(signal_tif, threshold_dbm=110)
    with pytest.raises(InputError, match="threshold_dbm is NaN"):
        from_raster(signal_tif, threshold_dbm=float("nan"))
    with pytest.raises(InputError, match="threshold_dbm must be a number"):
        from_raster(signal_tif, threshold_dbm="-110")
    with pytest.raises(InputError, match="covered_values must hold at least one number"):
        from_raster(signal_tif, covered_values=())
    with pytest.raises(InputError, match="covered_values must be a sequence"):
        from_raster(signal_tif, covered_values="12")
    u8 = write_tif(tmp_path / "u8.tif", np.ones((2, 2), "uint8"), TRANSFORM)
    with pytest.raises(InputError, match=r"uint8 .*cannot hold signal strength.*covered_values"):
        from_raster(u8)
    with pytest.raises(UnknownOptionError, match="Did you mean 'threshold_dbm'"):
        from_raster(signal_tif, threshhold_dbm=-100)


def test_points_length_mismatch(signal_tif):
    with pytest.raises(InputError, match="x has 2 values but y has 1"):
        from_raster(signal_tif).points(np.zeros(2), np.zeros(1), UTM)


# --- from_polygons --------------------------------------------------------------------------


@pytest.fixture
def blobs() -> gpd.GeoDataFrame:
    """Overlapping discs and a box (overlaps must never be counted twice)."""
    geoms = [
        Point(X0 + 3, Y0 + 3).buffer(3.0),
        Point(X0 + 5, Y0 + 4).buffer(2.5),
        box(X0 + 6, Y0 + 6, X0 + 12, Y0 + 8),
    ]
    return gpd.GeoDataFrame({"op": ["a", "b", "c"]}, geometry=geoms, crs=CRS_UTM)


def test_polygons_equal_shapely_intersection(blobs, villages):
    vc = from_polygons(blobs).village_cover(villages.geometry, UTM)
    # independent: shapely union of the coverage, intersected with each village
    cov = shapely.union_all(blobs.geometry.values)
    expected = shapely.area(shapely.intersection(villages.geometry.values, cov))
    np.testing.assert_allclose(vc.covered_area_m2, expected)
    np.testing.assert_allclose(vc.area_m2, 25.0)
    # uncovered: village minus coverage, exploded, pieces under 1 m2 dropped (a 0.97 m2
    # corner of V3 outside the disc goes)
    diff = gpd.GeoSeries(shapely.difference(villages.geometry.values, cov), index=villages.index)
    parts = diff.explode()
    parts = parts[parts.area >= 1.0]
    assert vc.uncovered["village_id"].tolist() == parts.index.tolist()
    np.testing.assert_allclose(
        vc.uncovered.area.groupby(vc.uncovered["village_id"]).sum(),
        parts.area.groupby(level=0).sum(),
    )


def test_polygons_split_village_into_two_uncovered_parts():
    # a 10 x 4 village with a covered band x in [3, 5]: uncovered [0,3] (12 m2) and [5,10] (20)
    v = geoseries([box(X0, Y0, X0 + 10, Y0 + 4)], ["18.71.01.1001"])
    cov = from_polygons(gpd.GeoSeries([box(X0 + 3, Y0 - 1, X0 + 5, Y0 + 9)], crs=CRS_UTM))
    vc = cov.village_cover(v, UTM)
    assert vc.covered_area_m2[0] == pytest.approx(8.0)
    assert vc.uncovered["village_id"].tolist() == ["18.71.01.1001"] * 2
    np.testing.assert_allclose(vc.uncovered.area, [20.0, 12.0])  # larger piece first


def test_polygons_points(blobs):
    cov = from_polygons(blobs)
    x = np.array([X0 + 3, X0 + 11, X0 + 6, X0 + 20, np.nan])
    y = np.array([Y0 + 3, Y0 + 7, Y0 + 6, Y0 + 20, Y0])
    covered, signal = cov.points(x, y, UTM)
    assert signal is None
    np.testing.assert_array_equal(covered, [True, True, True, False, False])  # edge counts


def test_polygons_from_path_and_in_other_crs(tmp_path, blobs, villages):
    path = tmp_path / "cov.gpkg"
    pyogrio.write_dataframe(blobs.to_crs(4326), path)
    cov = from_polygons(path)
    assert cov.description == "coverage polygons 'cov.gpkg' (3 features)"
    direct = from_polygons(blobs).village_cover(villages, UTM)
    via_file = cov.village_cover(villages, UTM)
    np.testing.assert_allclose(via_file.covered_area_m2, direct.covered_area_m2, atol=1e-3)


def test_polygons_invalid_repaired(villages):
    bowtie = shapely.Polygon([(X0, Y0), (X0 + 10, Y0 + 10), (X0 + 10, Y0), (X0, Y0 + 10)])
    cov = from_polygons(gpd.GeoSeries([bowtie, None], crs=CRS_UTM))
    vc = cov.village_cover(villages, UTM)
    # the repaired bowtie is two triangles meeting at the centre (X0+5, Y0+5), each of area
    # 25: the left one (X0,Y0)-(X0+5,Y0+5)-(X0,Y0+10) is split equally by V1 and V3, the
    # right one by V2 and V4, so every village holds 12.5 m2
    np.testing.assert_allclose(vc.covered_area_m2, [12.5, 12.5, 12.5, 12.5])


def test_polygons_errors(tmp_path):
    with pytest.raises(CRSError, match="coverage polygons has no CRS"):
        from_polygons(gpd.GeoSeries([box(0, 0, 1, 1)]))
    with pytest.raises(EmptyInputError, match="has no rows"):
        from_polygons(gpd.GeoSeries([], crs=CRS_UTM))
    with pytest.raises(EmptyInputError, match="all 1 rows have an empty geometry"):
        from_polygons(gpd.GeoSeries([None], crs=CRS_UTM))
    with pytest.raises(InputError, match=r"must be polygons, but 1 row\(s\) are LineString"):
        from_polygons(
            gpd.GeoSeries([box(0, 0, 1, 1), shapely.LineString([(0, 0), (1, 1)])], crs=CRS_UTM)
        )
    with pytest.raises(InputError, match="must be a GeoDataFrame, a GeoSeries or a path"):
        from_polygons([box(0, 0, 1, 1)])
    with pytest.raises(InputFileError, match=r"'missing\.gpkg' does not exist"):
        from_polygons("missing.gpkg")
    junk = tmp_path / "junk.gpkg"
    junk.write_bytes(b"\x00garbage")
    with pytest.raises(InputFileError, match=r"junk\.gpkg' could not be read"):
        from_polygons(junk)


# --- from_towers ----------------------------------------------------------------------------


def towers_frame(rows, crs="EPSG:4326") -> gpd.GeoDataFrame:
    radio, range_m, geoms = zip(*rows, strict=True)
    return gpd.GeoDataFrame(
        {"radio": list(radio), "range_m": list(range_m)}, geometry=list(geoms), crs=crs
    )


def test_towers_disc_area_by_hand():
    # one LTE tower with range 1000 m on the central meridian of UTM 48S, in the middle of a
    # 10 x 10 km village: the disc is a regular 128-gon inscribed in the geodesic circle,
    # area (128 / 2) r^2 sin(2 pi / 128) = 3,140,331 m2 on the ellipsoid (0.040 % under
    # pi r^2), which UTM draws K0^2 times as large on its central meridian
    t = towers_frame([("LTE", 1000.0, Point(500_000, 9_400_000))], crs=CRS_UTM)
    v = geoseries([box(495_000, 9_395_000, 505_000, 9_405_000)])
    vc = from_towers(t).village_cover(v, UTM)
    polygon = 64 * 1000**2 * math.sin(2 * math.pi / 128)
    assert vc.covered_area_m2[0] == pytest.approx(polygon * K0**2, rel=1e-6)
    assert vc.covered_area_m2[0] / K0**2 == pytest.approx(math.pi * 1000**2, rel=5e-4)
    assert vc.uncovered.area.sum() == pytest.approx(1e8 - vc.covered_area_m2[0])
    assert len(vc.uncovered) == 1  # a village with a hole is one contiguous piece


def test_towers_defaults_overrides_and_points(caplog):
    to_utm = Transformer.from_crs(4326, UTM, always_xy=True)
    lon, lat = to_utm.transform(500_000.0, 9_400_000.0, direction="INVERSE")
    rows = [
        ("LTE", np.nan, Point(lon, lat)),  # default 5000
        ("gsm", 0.0, Point(lon + 0.5, lat)),  # default 6000 (radio upper-cased)
        ("UMTS", 2500.0, Point(lon + 1.0, lat)),  # its own range
        ("NR", np.nan, None),  # rejected by the reader: skipped
    ]
    with caplog.at_level(logging.INFO, logger="blankspot"):
        cov = from_towers(towers_frame(rows))
    assert "skipped 1 rows without a location" in caplog.text
    np.testing.assert_array_equal(cov.radius_m, [5000.0, 6000.0, 2500.0])
    # points 4990 m and 5010 m east of the LTE tower (in metres, not degrees)
    covered, signal = cov.points(np.array([504_990.0, 505_010.0]), np.array([9.4e6, 9.4e6]), UTM)
    assert signal is None
    np.testing.assert_array_equal(covered, [True, False])
    over = from_towers(towers_frame(rows), radius_m={"lte": 1000, "UMTS": 500})
    np.testing.assert_array_equal(over.radius_m, [1000.0, 6000.0, 500.0])
    assert np.all(from_towers(towers_frame(rows), radius_m=750).radius_m == 750.0)
    assert DEFAULT_RADIUS_M["NR"] < DEFAULT_RADIUS_M["UMTS"] < DEFAULT_RADIUS_M["LTE"]


def test_towers_discs_and_bounds():
    t = towers_frame([("LTE", 1000.0, Point(105.0, -5.0))])
    cov = from_towers(t)
    discs = cov.discs(UTM)
    assert discs.index.equals(t.index) and discs.crs == UTM
    west, _, east, _ = cov.bounds_in(UTM)
    assert east - west == pytest.approx(2000.0, rel=1e-3)
    lon_min, _, lon_max, _ = cov.bounds_in("EPSG:4326")  # discs built in UTM, then moved
    assert 104.99 < lon_min < 105.0 < lon_max < 105.01
    with pytest.raises(CRSError, match="tower discs are built in metres"):
        cov.discs("EPSG:4326")


def test_towers_errors():
    ok = [("LTE", 1.0, Point(105, -5))]
    with pytest.raises(InputError, match="must be a GeoDataFrame"):
        from_towers(pd.DataFrame({"radio": ["LTE"]}))
    with pytest.raises(InputError, match=r"lack column\(s\) \['range_m'\]; they have"):
        from_towers(gpd.GeoDataFrame({"radio": ["LTE"]}, geometry=[Point(0, 0)], crs=4326))
    with pytest.raises(CRSError, match="towers has no CRS"):
        from_towers(towers_frame(ok, crs=None))
    with pytest.raises(EmptyInputError, match="has no rows"):
        from_towers(towers_frame(ok).iloc[:0])
    with pytest.raises(EmptyInputError, match="none of the 1 towers has a location"):
        from_towers(towers_frame([("LTE", 1.0, None)]))
    with pytest.raises(InputError, match="radius_m must be a positive number"):
        from_towers(towers_frame(ok), radius_m=0)
    with pytest.raises(InputError, match=r"radius_m\['LTE'\] must be a positive number"):
        from_towers(towers_frame(ok), radius_m={"LTE": -5})
    with pytest.raises(InputError, match=r"unknown radio type\(s\) \['WIFI'\]"):
        from_towers(towers_frame(ok), radius_m={"WIFI": 100})
    with pytest.raises(InputError, match=r"no range_m and an unknown radio type \['WIMAX'\]"):
        from_towers(towers_frame([("WIMAX", np.nan, Point(105, -5))]))
    with pytest.raises(InputError, match="towers must be points"):
        from_towers(towers_frame([("LTE", 1.0, box(0, 0, 1, 1))]))
    with pytest.raises(UnknownOptionError, match="Did you mean 'radius_m'"):
        from_towers(towers_frame(ok), radius=5)


# --- from_speed_tiles -----------------------------------------------------------------------


def quadkey_of(lon: float, lat: float, z: int) -> str:
    """Independent quadkey: tile x/y from web-mercator metres via pyproj, bits interleaved."""
    half = 20037508.342789244
    mx, my = Transformer.from_crs(4326, 3857, always_xy=True).transform(lon, lat)
    x = int((mx + half) / (2 * half) * 2**z)
    y = int((half - my) / (2 * half) * 2**z)
    return "".join(str(((x >> b) & 1) + 2 * ((y >> b) & 1)) for b in range(z - 1, -1, -1))


def test_quadkey_to_tile_by_hand():
    # "0123": x bits (digit & 1) 0,1,0,1 -> x = 5; y bits (digit >> 1) 0,0,1,1 -> y = 3; z = 4
    x, y, z = coverage._quadkey_tiles(pd.Series(["0123", "3", "0"]))
    np.testing.assert_array_equal(x, [5, 1, 0])
    np.testing.assert_array_equal(y, [3, 1, 0])
    np.testing.assert_array_equal(z, [4, 1, 1])
    west, south, east, north = coverage._tile_bounds(x, y, z)
    # x = 5 of 16 columns: lon -180 + 5 * 22.5 = -67.5 .. -45
    assert (west[0], east[0]) == (-67.5, -45.0)
    # lat of tile rows from web-mercator metres (independent: pyproj inverse of EPSG:3857)
    half = 20037508.342789244
    merc_top = half - 3 * (2 * half / 16)
    merc_bottom = half - 4 * (2 * half / 16)
    _, lats = Transformer.from_crs(3857, 4326, always_xy=True).transform(
        [0.0, 0.0], [merc_top, merc_bottom]
    )
    assert north[0] == pytest.approx(lats[0], abs=1e-9)
    assert south[0] == pytest.approx(lats[1], abs=1e-9)
    # "3": the south-east quarter of the world; "0" the north-west
    assert (west[1], north[1], east[1]) == (0.0, 0.0, 180.0)
    assert south[1] == pytest.approx(-85.0511287798, abs=1e-9)
    assert (west[2], south[2], east[2]) == (-180.0, 0.0, 0.0)


def test_zoom16_quadkey_of_bandar_lampung():
    lon, lat = 105.2667, -5.4292
    qk = quadkey_of(lon, lat, 16)
    assert len(qk) == 16
    x, y, z = coverage._quadkey_tiles(pd.Series([qk]))
    west, south, east, north = coverage._tile_bounds(x, y, z)
    assert west[0] <= lon < east[0] and south[0] <= lat < north[0]
    assert east[0] - west[0] == pytest.approx(360 / 2**16)  # ~611 m at the equator


@pytest.fixture
def tiles_df() -> pd.DataFrame:
    """Four zoom-16 tiles in a row near Bandar Lampung, each failing a different rule."""
    qk = quadkey_of(105.2667, -5.4292, 16)
    x, y, _ = coverage._quadkey_tiles(pd.Series([qk]))
    keys = []
    for dx in range(4):  # build neighbours' quadkeys by interleaving bits of x + dx
        xx = int(x[0]) + dx
        keys.append(
            "".join(str(((xx >> b) & 1) + 2 * ((int(y[0]) >> b) & 1)) for b in range(15, -1, -1))
        )
    return pd.DataFrame(
        {
            "quadkey": keys,
            "avg_d_kbps": [12_000, 12_000, 3_000, 5_000],
            "avg_u_kbps": [3_000, 3_000, 800, 900],
            "tests": [10, 2, 50, 3],
        }
    )


def tile_centres(tiles: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    x, y, z = coverage._quadkey_tiles(tiles["quadkey"])
    w, s, e, n = coverage._tile_bounds(x, y, z)
    return Transformer.from_crs(4326, UTM, always_xy=True).transform((w + e) / 2, (s + n) / 2)


def test_speed_tiles_rule(tiles_df):
    cov = from_speed_tiles(tiles_df, min_download_kbps=5000, min_tests=3)
    # tile 0: 12000 & 10 -> yes; 1: only 2 tests; 2: 3000 kbps; 3: 5000 & 3 -> yes (>=)
    covered, _ = cov.points(*tile_centres(tiles_df), UTM)
    np.testing.assert_array_equal(covered, [True, False, False, True])
    assert "(2 of 4 tiles)" in cov.description
    # extent = all four tiles, covered or not
    w, _, e, _ = cov.bounds_in("EPSG:4326")
    assert e - w == pytest.approx(4 * 360 / 2**16)


def test_speed_tiles_wkt_geodataframe_and_files(tmp_path, tiles_df):
    x, y, z = coverage._quadkey_tiles(tiles_df["quadkey"])
    boxes = shapely.box(*coverage._tile_bounds(x, y, z))
    wkt = tiles_df.assign(tile=shapely.to_wkt(boxes))
    gdf = gpd.GeoDataFrame(tiles_df, geometry=boxes, crs=4326)
    tiles_df.to_csv(tmp_path / "tiles.csv", index=False)
    wkt.to_parquet(tmp_path / "tiles.parquet")
    gdf.to_file(tmp_path / "tiles.shp")
    xs, ys = tile_centres(tiles_df)
    for tiles in (
        wkt,
        gdf,
        tmp_path / "tiles.csv",
        tmp_path / "tiles.parquet",
        tmp_path / "tiles.shp",
    ):
        cov = from_speed_tiles(tiles, min_download_kbps=5000, min_tests=3)
        np.testing.assert_array_equal(cov.points(xs, ys, UTM)[0], [True, False, False, True])


def test_speed_tiles_village_share(tiles_df):
    x, y, z = coverage._quadkey_tiles(tiles_df["quadkey"])
    boxes = gpd.GeoSeries(shapely.box(*coverage._tile_bounds(x, y, z)), crs=4326).to_crs(UTM)
    village = shapely.union_all(boxes.values[:2])  # tiles 0 (covered) and 1 (not)
    vc = from_speed_tiles(tiles_df, min_download_kbps=5000, min_tests=3).village_cover(
        geoseries([village]), UTM
    )
    assert vc.covered_area_m2[0] == pytest.approx(boxes.area.iloc[0], rel=1e-6)


def test_speed_tiles_errors(tiles_df):
    with pytest.raises(InputError, match=r"lack tests; the columns are \['quadkey', 'avg_d_kbps'"):
        from_speed_tiles(tiles_df.drop(columns="tests"), min_download_kbps=1, min_tests=1)
    with pytest.raises(InputError, match=r"lack a geometry, 'tile' .* or 'quadkey' column"):
        from_speed_tiles(tiles_df.drop(columns="quadkey"), min_download_kbps=1, min_tests=1)
    bad = tiles_df.assign(quadkey=["0123", "0129", "", "12"])
    with pytest.raises(InputError, match=r"2 quadkey\(s\) are not strings of the digits 0-3"):
        from_speed_tiles(bad, min_download_kbps=1, min_tests=1)
    with pytest.raises(InputError, match=r"'avg_d_kbps' has 1 missing or non-numeric"):
        from_speed_tiles(
            tiles_df.assign(avg_d_kbps=["1", "x", "3", "4"]), min_download_kbps=1, min_tests=1
        )
    with pytest.raises(InputError, match="min_tests must be zero or more"):
        from_speed_tiles(tiles_df, min_download_kbps=1, min_tests=-1)
    with pytest.raises(InputError, match=r"'tile' value\(s\) are not WKT"):
        from_speed_tiles(tiles_df.assign(tile="POLYGON ((oops"), min_download_kbps=1, min_tests=1)
    with pytest.raises(EmptyInputError, match="have no rows"):
        from_speed_tiles(tiles_df.iloc[:0], min_download_kbps=1, min_tests=1)
    with pytest.raises(InputFileError, match=r"'nope\.parquet' does not exist"):
        from_speed_tiles("nope.parquet", min_download_kbps=1, min_tests=1)
    with pytest.raises(CRSError, match="has no CRS"):
        from_speed_tiles(
            gpd.GeoDataFrame(tiles_df, geometry=[box(0, 0, 1, 1)] * 4),
            min_download_kbps=1,
            min_tests=1,
        )
    with pytest.warns(BlankspotWarning, match="none of the 4 speed tiles"):
        cov = from_speed_tiles(tiles_df, min_download_kbps=1e9, min_tests=1)
    assert len(cov.geometry) == 0


# --- union and overlap -----------------------------------------------------------------------


def test_union_raster_and_polygons(signal_tif, villages):
    extra = from_polygons(gpd.GeoSeries([box(X0 + 7, Y0 + 5, X0 + 10, Y0 + 6)], crs=CRS_UTM))
    both = union(from_raster(signal_tif), extra)
    assert both.has_signal
    assert both.description == "raster 'signal.tif' >= -110 dBm OR coverage polygons (1 features)"
    vc = both.village_cover(villages, UTM)
    # V2: raster 10 m2 (cols 5-6) + the 3 x 1 m strip at cols 7-9 of its bottom row = 13
    np.testing.assert_allclose(vc.covered_area_m2, [25.0, 13.0, 0.0, 5.0])
    np.testing.assert_allclose(
        vc.uncovered.area.groupby(vc.uncovered["village_id"]).sum(), [12.0, 25.0, 20.0]
    )
    covered, signal = both.points(
        np.array([X0 + 8.5, X0 + 8.5]), np.array([Y0 + 5.5, Y0 + 6.5]), UTM
    )
    np.testing.assert_array_equal(covered, [True, False])  # polygon strip / raster -120
    np.testing.assert_array_equal(signal, [-120.0, -120.0])  # signal from the raster only


def test_union_of_two_rasters_takes_strongest_signal(tmp_path, signal_tif, villages):
    other = write_tif(tmp_path / "b.tif", np.full((10, 10), -112.0, "float32"), TRANSFORM)
    u = union(from_raster(signal_tif), from_raster(other, threshold_dbm=-112))
    covered, signal = u.points(np.array([X0 + 0.5, X0 + 9.5]), np.array([Y0 + 9.5, Y0 + 0.5]), UTM)
    np.testing.assert_array_equal(signal, [-90.0, -112.0])
    np.testing.assert_array_equal(covered, [True, True])
    vc = u.village_cover(villages, UTM)
    np.testing.assert_allclose(vc.covered_area_m2, 25.0)
    assert len(vc.uncovered) == 0


def test_union_vector_sources_match_shapely(blobs, villages):
    t = towers_frame([("LTE", 2.0, Point(X0 + 8, Y0 + 2))], crs=CRS_UTM)
    towers = from_towers(t)
    nested = union(union(from_polygons(blobs)), towers)
    assert len(nested.sources) == 2  # flattened
    vc = nested.village_cover(villages, UTM)
    allcov = shapely.union_all(np.concatenate([blobs.geometry.values, towers.discs(UTM).values]))
    expected = shapely.area(shapely.intersection(villages.geometry.values, allcov))
    np.testing.assert_allclose(vc.covered_area_m2, expected)


def test_union_errors():
    with pytest.raises(InputError, match="needs at least one coverage source"):
        union()
    with pytest.raises(InputError, match=r"takes coverage sources .* got str"):
        union("rsrp.tif")


def test_check_overlap(signal_tif, villages):
    src = from_raster(signal_tif)
    assert check_overlap(src, tuple(villages.total_bounds), UTM) is None
    far = (X0 + 100_000, Y0, X0 + 100_010, Y0 + 10)
    with pytest.raises(
        NoOverlapError,
        match=r"raster 'signal.tif' >= -110 dBm covers lon 105.0000..105.0001, lat -5.42.*"
        r"but the villages cover lon 105.90",
    ):
        check_overlap(src, far, UTM)


# --- real data ------------------------------------------------------------------------------


@pytest.mark.realdata
def test_real_villages_match_exactextract(shared_data, tmp_path):
    path = shared_data / "lampung_boundaries" / "wilayah_boundaries_kel_18.71.geojson"
    kel = gpd.read_file(path).to_crs(CRS_UTM).set_index("kode")
    xmin, ymin, xmax, ymax = kel.total_bounds
    x0, y0 = math.floor(xmin / 100) * 100 - 500, math.ceil(ymax / 100) * 100 + 500
    w, h = int((xmax - x0) // 100 + 6), int((y0 - ymin) // 100 + 6)
    rng = np.random.default_rng(18)
    # smooth synthetic RSRP: distance decay from a few towers plus pixel noise
    tx = rng.uniform(xmin, xmax, 12)
    ty = rng.uniform(ymin, ymax, 12)
    cx = x0 + 100 * (np.arange(w) + 0.5)
    cy = y0 - 100 * (np.arange(h) + 0.5)
    d = np.sqrt((cx[None, :, None] - tx) ** 2 + (cy[:, None, None] - ty) ** 2).min(axis=2)
    rsrp = (-60 - 20 * np.log10(d + 50) + rng.normal(0, 4, d.shape)).astype("float32")
    tif = write_tif(tmp_path / "rsrp.tif", rsrp, Affine(100, 0, x0, 0, -100, y0))
    mask = write_tif(
        tmp_path / "mask.tif", (rsrp >= -125).astype("float32"), Affine(100, 0, x0, 0, -100, y0)
    )
    vc = from_raster(tif, threshold_dbm=-125).village_cover(kel.geometry, UTM)
    ee = exact_extract(str(mask), kel.reset_index(), "mean", output="pandas")["mean"].to_numpy()
    share = vc.covered_share
    assert 0.05 < share.mean() < 0.95  # a real mix of covered and uncovered
    assert np.abs(share - ee).max() * 100 < 0.5  # percentage points (in fact ~1e-9)
    unc = vc.uncovered.area.groupby(vc.uncovered["village_id"]).sum()
    unc = unc.reindex(kel.index, fill_value=0.0).to_numpy()
    np.testing.assert_allclose(unc + vc.covered_area_m2, vc.area_m2, rtol=1e-6, atol=2.0)


@pytest.mark.parametrize("kind", ["raster", "polygons", "union"])
def test_empty_and_missing_villages(signal_tif, kind):
    raster = from_raster(signal_tif)
    polys = from_polygons(gpd.GeoSeries([box(X0, Y0, X0 + 3, Y0 + 3)], crs=CRS_UTM))
    src = {"raster": raster, "polygons": polys, "union": union(raster, polys)}[kind]
    vc = src.village_cover(gpd.GeoSeries([], crs=CRS_UTM), UTM)
    assert vc.covered_area_m2.shape == (0,) and len(vc.uncovered) == 0
    assert list(vc.uncovered.columns) == ["village_id", "geometry"]
    # a village without geometry has area 0 and no uncovered polygon; V3 (all -130 dBm)
    # has the 3 x 3 m polygon corner covered (9 m2) only when the polygons take part
    v = geoseries([None, box(X0, Y0, X0 + 5, Y0 + 5)], ["a", "b"])
    vc = src.village_cover(v, UTM)
    np.testing.assert_allclose(vc.area_m2, [0.0, 25.0])
    np.testing.assert_allclose(vc.covered_area_m2, [0.0, 0.0 if kind == "raster" else 9.0])
    assert vc.uncovered["village_id"].tolist() == ["b"]
    assert np.isnan(vc.covered_share[0])


# --- union with a raster: computed on the raster's grid -------------------------------------


def raster_union_exact(arr, transform, covered, vectors, villages):
    """Independent exact answer: union of covered pixel squares and vector polygons (shapely).

    Returns the covered area of each village and the uncovered geometry of each village.
    """
    rr, cc = np.nonzero(covered(arr))
    x0, y0 = transform @ (cc, rr)
    x1, y1 = transform @ (cc + 1, rr + 1)
    squares = shapely.box(
        np.minimum(x0, x1), np.minimum(y0, y1), np.maximum(x0, x1), np.maximum(y0, y1)
    )
    cov = shapely.union_all(np.concatenate([squares, np.asarray(vectors, dtype=object)]))
    geoms = np.asarray(villages.values, dtype=object)
    return shapely.area(shapely.intersection(geoms, cov)), shapely.difference(geoms, cov)


def test_union_pixel_aligned_polygon_equals_exact_vector_answer(signal_tif, villages):
    # an L of two boxes on 1 m pixel edges, the second reaching 3 m east of and 2 m below
    # the raster; village "v5" lies partly outside the raster too
    poly = shapely.union(box(X0 + 2, Y0, X0 + 4, Y0 + 8), box(X0 + 8, Y0 - 2, X0 + 13, Y0 + 3))
    v = pd.concat([villages.geometry, geoseries([box(X0 + 5, Y0 - 3, X0 + 14, Y0 + 5)], ["v5"])])
    u = union(from_raster(signal_tif), from_polygons(gpd.GeoSeries([poly], crs=CRS_UTM)))
    vc = u.village_cover(v, UTM)
    # by hand: V1 all 25 (raster); V2 raster cols 5-6 = 10; V3 raster 0 + box x 2..4, y 0..5
    # = 10; V4 raster row 5 (y 4..5) = 5 + box x 8..10, y 0..3 = 6 -> 11; v5 (9 x 8 = 72 m2)
    # raster row 5 over x 5..10 = 5 + box x 8..13, y -2..3 = 25 -> 30 (no overlap)
    np.testing.assert_allclose(vc.covered_area_m2, [25.0, 10.0, 10.0, 11.0, 30.0])
    np.testing.assert_allclose(vc.area_m2, [25.0] * 4 + [72.0])
    # the same as the exact geometry, polygons and all
    area, unc = raster_union_exact(
        signal_array(), TRANSFORM, lambda a: a >= -110, [poly], v.geometry
    )
    np.testing.assert_allclose(vc.covered_area_m2, area, atol=1e-9)
    for i, vid in enumerate(v.index):
        got = shapely.union_all(vc.uncovered.geometry[vc.uncovered["village_id"] == vid].values)
        assert shapely.symmetric_difference(got, unc[i]).area < 1e-9, vid
    # and the pure-vector path on the same shapes (the raster's covered pixels as polygons)
    rr, cc = np.nonzero(signal_array() >= -110)
    pixels = shapely.box(X0 + cc, Y0 + 9 - rr, X0 + cc + 1, Y0 + 10 - rr)
    vec = union(
        from_polygons(gpd.GeoSeries(pixels, crs=CRS_UTM)),
        from_polygons(gpd.GeoSeries([poly], crs=CRS_UTM)),
    ).village_cover(v, UTM)
    np.testing.assert_allclose(vc.covered_area_m2, vec.covered_area_m2, atol=1e-9)
    assert vc.uncovered["village_id"].tolist() == vec.uncovered["village_id"].tolist()
    np.testing.assert_allclose(vc.uncovered.area, vec.uncovered.area, atol=1e-9)


@pytest.mark.parametrize("strip_pixels", [16_000_000, 400])
def test_union_towers_on_10m_raster_within_a_pixel_of_exact(tmp_path, monkeypatch, strip_pixels):
    monkeypatch.setattr("blankspot._raster.STRIP_PIXELS", strip_pixels)  # one strip / many
    # 600 x 600 m at 10 m: a covered blob (pixel centres within 150 m of a point) plus 10 %
    # speckle; two tower discs (120 m, 90 m) off the pixel grid; seven Voronoi villages
    rng = np.random.default_rng(21)
    t = Affine(10, 0, X0, 0, -10, Y0 + 600)
    cy, cx = np.mgrid[0:60, 0:60] * 10.0 + 5.0
    blob = np.hypot(cx - 100, cy - 110) <= 150
    arr = np.where(blob | (rng.random((60, 60)) < 0.1), -90.0, -125.0).astype("float32")
    path = write_tif(tmp_path / "ten.tif", arr, t)
    towers = from_towers(
        towers_frame(
            [
                ("LTE", 120.0, Point(X0 + 350.3, Y0 + 260.7)),
                ("LTE", 90.0, Point(X0 + 431.9, Y0 + 328.4)),
            ],
            crs=CRS_UTM,
        )
    )
    frame = box(X0 + 5, Y0 + 5, X0 + 595, Y0 + 595)
    cells = shapely.get_parts(
        shapely.voronoi_polygons(
            shapely.multipoints(rng.uniform([X0, Y0], [X0 + 600, Y0 + 600], (7, 2))),
            extend_to=frame,
        )
    )
    v = geoseries(list(shapely.intersection(cells, frame)))
    vc = union(from_raster(path), towers).village_cover(v, UTM)
    discs = towers.discs(UTM).values
    area, unc = raster_union_exact(arr, t, lambda a: a >= -110, discs, v)
    # the promise: within 1 percentage point of the exact union ...
    assert np.abs(vc.covered_share - area / vc.area_m2).max() < 0.01
    # ... and at most one pixel (10 m) wide along the disc edges in each village (counting
    # edges within a pixel diagonal of it: a pixel the village cuts is burnt as a whole)
    near = shapely.buffer(v.values, 10 * math.sqrt(2))
    edge_len = shapely.length(
        shapely.intersection(near, shapely.union_all(shapely.boundary(discs)))
    )
    assert np.all(np.abs(vc.covered_area_m2 - area) <= edge_len * 10 + 1e-6)
    assert np.abs(vc.covered_area_m2 - area).sum() > 0  # (it is an approximation)
    # the uncovered polygons add up with the covered area, and differ from the exact
    # uncovered geometry only along the disc edges
    unc_sum = vc.uncovered.area.groupby(vc.uncovered["village_id"]).sum()
    np.testing.assert_allclose(
        unc_sum.reindex(v.index, fill_value=0.0).to_numpy() + vc.covered_area_m2,
        vc.area_m2,
        atol=3.0,  # pieces under 1 m2 (slivers at village edges) are dropped
    )
    got = shapely.union_all(vc.uncovered.geometry.values)
    assert shapely.symmetric_difference(got, shapely.union_all(unc)).area <= edge_len.sum() * 10


def test_union_of_rasters_samples_the_coarser_at_the_finer_centres(tmp_path, signal_tif, caplog):
    # class raster of 2 m pixels shifted by 1 m: pixel (row 3, col 5) spans x X0+9..X0+11,
    # y Y0+3..Y0+5, so it holds the centres of 1 m pixels (row 5, col 9) and (row 6, col 9)
    # of the signal raster (and of pixels east of X0+10, where there are no villages)
    classes = np.zeros((6, 6), "uint8")
    classes[3, 5] = 1
    coarse = write_tif(tmp_path / "coarse.tif", classes, Affine(2, 0, X0 - 1, 0, -2, Y0 + 11))
    villages = geoseries(
        [box(X0 + 5, Y0, X0 + 10, Y0 + 5), box(X0, Y0, X0 + 5, Y0 + 5)], ["V4", "V3"]
    )
    for sources in [
        (from_raster(signal_tif), from_raster(coarse, covered_values=(1,))),
        (from_raster(coarse, covered_values=(1,)), from_raster(signal_tif)),  # order is moot
    ]:
        with caplog.at_level(logging.INFO, logger="blankspot"):
            vc = union(*sources).village_cover(villages, UTM)
        assert "on the grid of raster 'signal.tif'" in caplog.text
        caplog.clear()
        # V4: signal row 5 covered (5 m2) + (row 6, col 9) from the class raster = 6 m2;
        # (row 5, col 9) is covered by both and counts once. V3: nothing
        np.testing.assert_allclose(vc.covered_area_m2, [6.0, 0.0])


def test_union_samples_a_lonlat_raster_at_utm_pixel_centres(tmp_path):
    # 1 m UTM raster that covers nothing, plus a lon/lat raster (1e-4 degree pixels) covered
    # west of its 10th column (about X0 + 60); a 100 x 100 m village on the 1 m grid
    nothing = write_tif(
        tmp_path / "none.tif",
        np.full((100, 100), -130.0, "float32"),
        Affine(1, 0, X0, 0, -1, Y0 + 100),
    )
    to_ll = Transformer.from_crs(UTM, 4326, always_xy=True)
    lon0, lat0 = to_ll.transform(X0 - 50, Y0 + 150)
    step = 1e-4
    ll = np.zeros((40, 40), "float32") - 130
    ll[:, :10] = -80
    lonlat = write_tif(
        tmp_path / "ll.tif", ll, Affine(step, 0, lon0, 0, -step, lat0), crs="EPSG:4326"
    )
    v = geoseries([box(X0, Y0, X0 + 100, Y0 + 100)])
    vc = union(from_raster(nothing), from_raster(lonlat)).village_cover(v, UTM)
    # independent: each 1 m pixel centre to lon/lat with pyproj; covered when it falls in
    # a lon/lat pixel of column < 10 (and inside that raster's rows)
    vv, uu = np.mgrid[0:100, 0:100] + 0.5
    lon, lat = to_ll.transform(X0 + uu, Y0 + 100 - vv)
    col = np.floor((lon - lon0) / step)
    row = np.floor((lat0 - lat) / step)
    expected = int(((col >= 0) & (col < 10) & (row >= 0) & (row < 40)).sum())
    assert 1000 < expected < 9000  # a real mix
    assert vc.covered_area_m2[0] == pytest.approx(expected)


def test_union_points_stay_exact(signal_tif):
    # a disc of 2.2 m around the centre of V3's pixel (row 7, col 2): the point 2.1 m east
    # lies in pixel col 4, whose centre is 2 m away (burnt), the point 2.1 m north in row 5
    # (centre 2 m away: burnt too); a point 2.1 m north-east lies in the disc but in the
    # pixel (row 5, col 4), whose centre is sqrt(8) = 2.83 m away: not burnt, still covered
    tower = from_towers(towers_frame([("LTE", 2.2, Point(X0 + 2.5, Y0 + 2.5))], crs=CRS_UTM))
    u = union(from_raster(signal_tif), tower)
    d = 2.1 / math.sqrt(2)
    x = np.array([X0 + 4.6, X0 + 2.5, X0 + 2.5 + d, X0 + 4.9])
    y = np.array([Y0 + 2.5, Y0 + 4.6, Y0 + 2.5 + d, Y0 + 4.9])
    covered, signal = u.points(x, y, UTM)
    np.testing.assert_array_equal(covered, [True, True, True, False])
    np.testing.assert_array_equal(signal, [-130.0] * 4)  # from the raster only
    vc = u.village_cover(geoseries([box(X0, Y0, X0 + 5, Y0 + 5)]), UTM)
    # burnt pixels of V3: centres within 2.2 m of (2.5, 2.5) in pixel units: the pixel
    # itself, its 4 neighbours at 1 m, 4 diagonals at 1.41 m, 4 at 2 m: 13 m2
    assert vc.covered_area_m2[0] == pytest.approx(13.0)


def test_tower_points_are_within_the_geodesic_radius():
    rng = np.random.default_rng(31)
    xy = rng.uniform([X0, Y0], [X0 + 3000, Y0 + 3000], (40, 2))
    radius = rng.uniform(30, 300, 40)
    t = towers_frame([("LTE", r, Point(*p)) for r, p in zip(radius, xy, strict=True)], crs=CRS_UTM)
    cov = from_towers(t)
    to_ll = Transformer.from_crs(UTM, 4326, always_xy=True)
    t_lon, t_lat = to_ll.transform(xy[:, 0], xy[:, 1])
    # random points, and points a millimetre inside / outside each geodesic circle
    geod = Geod(ellps="WGS84")
    az = rng.uniform(-180, 180, 40)
    rings = [geod.fwd(t_lon, t_lat, az, radius + dr)[:2] for dr in (-1e-3, 1e-3)]
    p_lon, p_lat = to_ll.transform(*rng.uniform([X0, Y0], [X0 + 3000, Y0 + 3000], (3000, 2)).T)
    lon = np.concatenate([p_lon, *(r[0] for r in rings)])
    lat = np.concatenate([p_lat, *(r[1] for r in rings)])
    x, y = to_ll.transform(lon, lat, direction="INVERSE")
    covered, signal = cov.points(np.r_[x, np.nan], np.r_[y, Y0], UTM)
    # independent: pyproj's geodesic distance from every point to every tower
    n = lon.size
    _, _, dist = geod.inv(
        np.repeat(lon, 40), np.repeat(lat, 40), np.tile(t_lon, n), np.tile(t_lat, n)
    )
    expected = (np.asarray(dist).reshape(n, 40) <= radius).any(axis=1)
    assert signal is None
    np.testing.assert_array_equal(covered, np.r_[expected, False])
    assert expected[3000:3040].all()  # just inside the circles
    assert expected.sum() > 500 and (~expected).sum() > 500


def test_union_rotated_raster_with_aligned_polygon_is_exact(tmp_path):
    # the raster and everything else turned by 90 degrees: the polygon still follows the
    # pixel edges, so the grid answer must equal the exact one computed before turning
    rng = np.random.default_rng(41)
    arr = np.where(rng.random((12, 15)) > 0.5, -90.0, -130.0).astype("float32")
    t = Affine(2, 0, 100, 0, -2, 124)
    rot = Affine.rotation(90, pivot=(0, 0))

    def turn(g):  # the same rotation on vectors: (x, y) -> (-y, x)
        return shapely.transform(g, lambda c: np.column_stack([-c[:, 1], c[:, 0]]))

    poly = box(104, 102, 110, 116)  # on 2 m pixel edges
    cells = shapely.get_parts(
        shapely.voronoi_polygons(
            shapely.multipoints(rng.uniform([100, 100], [130, 124], (5, 2))),
            extend_to=box(101, 101, 129, 123),
        )
    )
    cells = shapely.intersection(cells, box(101, 101, 129, 123))
    area, _ = raster_union_exact(arr, t, lambda a: a >= -110, [poly], geoseries(list(cells)))
    path = write_tif(tmp_path / "turned.tif", arr, rot @ t)
    u = union(from_raster(path), from_polygons(gpd.GeoSeries([turn(poly)], crs=CRS_UTM)))
    vc = u.village_cover(geoseries(list(turn(cells))), UTM)
    np.testing.assert_allclose(vc.covered_area_m2, area, atol=1e-6)


# --- raster values: scale/offset, physical range, class rasters (issue 7) --------------------


def _with_scale_offset(path, *, scale=1.0, offset=0.0):
    with rasterio.open(path, "r+") as ds:
        ds.scales = (scale,)
        ds.offsets = (offset,)
    return path


def _shares(src, villages):
    vc = src.village_cover(villages.geometry, UTM)
    return dict(zip(villages.index, vc.covered_share, strict=True))


def test_raster_scale_is_applied(tmp_path, villages):
    # int16 tenths of a dBm with scale 0.1: -900 is -90 dBm, never -900 dBm
    tenths = (signal_array() * 10).astype("int16")
    path = _with_scale_offset(write_tif(tmp_path / "t.tif", tenths, TRANSFORM), scale=0.1)
    src = from_raster(path)
    assert _shares(src, villages) == pytest.approx(EXPECTED_SHARE_AT_MINUS_110)
    _, signal = src.points(np.array([X0 + 0.5]), np.array([Y0 + 9.5]), UTM)
    assert signal[0] == pytest.approx(-90.0)  # row 0, col 0 of signal_array()


def test_raster_offset_is_applied_also_to_unsigned(tmp_path, villages):
    # uint8 "dBm + 140" with offset -140: 50 is -90 dBm (an unsigned band is fine then)
    plus140 = (signal_array() + 140).astype("uint8")
    path = _with_scale_offset(write_tif(tmp_path / "o.tif", plus140, TRANSFORM), offset=-140)
    src = from_raster(path)
    assert _shares(src, villages) == pytest.approx(EXPECTED_SHARE_AT_MINUS_110)
    _, signal = src.points(np.array([X0 + 9.5]), np.array([Y0 + 0.5]), UTM)
    assert signal[0] == pytest.approx(-115.0)  # row 9, col 9


def test_raster_undeclared_sentinels_are_no_data_with_a_warning(tmp_path, villages):
    a = signal_array().astype("int16")
    a[0, 0] = 32767  # an undeclared nodata in V1 (would be "covered" at +32767 dBm)
    a[9, 0] = -9999  # and one in V3 (would be reported as a -9999 dBm signal)
    path = write_tif(tmp_path / "s.tif", a, TRANSFORM)
    with pytest.warns(BlankspotWarning, match=r"2 value\(s\) outside the physical RSRP range"):
        src = from_raster(path)
    assert len(src.notes) == 1 and "undeclared nodata" in src.notes[0]  # for Assessment.notes
    shares = _shares(src, villages)
    assert shares["18.01.01.2001"] == pytest.approx(24 / 25)  # 24 real -90 pixels of 25
    assert shares["18.01.01.2003"] == 0.0
    covered, signal = src.points(
        np.array([X0 + 0.5, X0 + 0.5, X0 + 1.5]), np.array([Y0 + 9.5, Y0 + 0.5, Y0 + 9.5]), UTM
    )
    np.testing.assert_array_equal(covered, [False, False, True])
    np.testing.assert_array_equal(signal, [np.nan, np.nan, -90.0])


def test_raster_of_classes_read_as_dbm_is_an_error(tmp_path):
    classes = np.array([[0, 1, 2, 1], [1, 1, 0, 2], [2, 2, 1, 0], [0, 0, 1, 1]], dtype="int16")
    path = write_tif(tmp_path / "cls.tif", classes, Affine(1, 0, X0, 0, -1, Y0 + 4))
    with pytest.raises(InputError, match=r"looks like a class raster.*covered_values="):
        from_raster(path)
    # the same file read as classes is fine
    assert from_raster(path, covered_values=(1, 2)).has_signal is False


def test_raster_not_in_dbm_is_an_error(tmp_path):
    # tenths of a dBm without the scale metadata: -900 ... -1300 are not dBm
    tenths = (signal_array() * 10).astype("int16")
    path = write_tif(tmp_path / "t.tif", tenths, TRANSFORM)
    with pytest.raises(InputError, match=r"not signal strength in dBm.*-1300.*-900.*scale"):
        from_raster(path)


# --- speed tiles: quadkeys as numbers, short keys, point tiles (issue 7) ----------------------


def test_speed_tiles_integer_quadkeys_are_an_error(tiles_df):
    as_int = tiles_df.assign(quadkey=tiles_df["quadkey"].astype("int64"))
    with pytest.raises(InputError, match=r"quadkey column holds numbers.*leading zeros"):
        from_speed_tiles(as_int, min_download_kbps=1, min_tests=1)


def test_speed_tiles_keys_of_mixed_lengths_are_an_error(tiles_df):
    short = tiles_df["quadkey"].tolist()
    short[2] = short[2][1:]  # a leading digit lost: a zoom-15 tile, 4x the area
    with pytest.raises(InputError, match=r"different lengths.*rows \[2\].*4x too big"):
        from_speed_tiles(tiles_df.assign(quadkey=short), min_download_kbps=1, min_tests=1)


def test_speed_tiles_point_tiles_are_an_error(tiles_df):
    wkt = ["POLYGON ((0 0, 1 0, 1 1, 0 1, 0 0))"] * 3 + ["POINT (105 -5)"]
    with pytest.raises(InputError, match=r"1 tile\(s\) are not polygons \(rows \[3\].*POINT"):
        from_speed_tiles(
            tiles_df.drop(columns="quadkey").assign(tile=wkt), min_download_kbps=1, min_tests=1
        )
    points = gpd.GeoDataFrame(
        tiles_df, geometry=[box(0, 0, 1, 1)] * 3 + [Point(0.5, 0.5)], crs="EPSG:4326"
    )
    with pytest.raises(InputError, match=r"not polygons \(rows \[3\]"):
        from_speed_tiles(points, min_download_kbps=1, min_tests=1)


# --- plausible units (issue 7) ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("radius", "match"), [(5, r"less than 100 m.*kilometres"), (60_000, "more than 50 km")]
)
def test_towers_radius_in_the_wrong_unit_warns(radius, match):
    towers = gpd.GeoDataFrame(
        {"radio": ["LTE"], "range_m": [np.nan]}, geometry=[Point(105, -5)], crs="EPSG:4326"
    )
    with pytest.warns(BlankspotWarning, match=match):
        src = from_towers(towers, radius_m=radius)
    assert src.radius_m.tolist() == [radius]  # a warning, not a change


def test_towers_range_beyond_any_cell_uses_the_default_radius():
    towers = gpd.GeoDataFrame(
        {"radio": ["LTE", "GSM"], "range_m": [1e7, 3000.0]},
        geometry=[Point(105, -5), Point(105.1, -5)],
        crs="EPSG:4326",
    )
    with pytest.warns(BlankspotWarning, match=r"1 tower\(s\) have a range_m beyond 35000 m"):
        src = from_towers(towers)
    assert src.radius_m.tolist() == [DEFAULT_RADIUS_M["LTE"], 3000.0]


def test_truncated_geotiff_names_the_file(tmp_path, villages):
    rng = np.random.default_rng(0)
    arr = rng.normal(-100, 5, (400, 400)).astype("float32")
    path = write_tif(tmp_path / "cut.tif", arr, Affine(0.025, 0, X0, 0, -0.025, Y0 + 10))
    whole = path.read_bytes()
    path.write_bytes(whole[: len(whole) // 2])
    with pytest.raises(InputFileError, match=r"cut\.tif' could not be read.*truncated or damaged"):
        from_raster(path).village_cover(villages.geometry, UTM)
