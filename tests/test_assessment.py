"""assess(): the overlay, checked on the tiny world of tests/common.py by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import geopandas as gpd
import rasterio
import shapely
from shapely.geometry import Point, box

import blankspot
from blankspot import coverage
from blankspot.assessment import assess
from tests.common import CRS_UTM, K0, X0, Y0

# Business points (metres, UTM 48S) and what they meet, counted on the raster of common.py:
#   b0 V1 row 1 col 1  -90 dBm  covered
#   b1 V2 row 0 col 5 -100 dBm  covered
#   b2 V2 row 3 col 8 -120 dBm  uncovered
#   b3 V3 row 7 col 2 -130 dBm  uncovered
#   b4 V4 row 5 col 6 -105 dBm  covered
#   b5 V4 row 8 col 6 -115 dBm  uncovered
#   b6 outside every village and the raster
#   b7 no coordinates (rejected)
BUSINESS_XY = {
    "b0": (X0 + 1.5, Y0 + 8.5),
    "b1": (X0 + 5.5, Y0 + 9.5),
    "b2": (X0 + 8.5, Y0 + 6.5),
    "b3": (X0 + 2.5, Y0 + 2.5),
    "b4": (X0 + 6.5, Y0 + 4.5),
    "b5": (X0 + 6.5, Y0 + 1.5),
    "b6": (X0 + 20, Y0 + 20),
    "b7": None,
}
EXPECTED_STATUS = {
    "b0": "covered",
    "b1": "covered",
    "b2": "uncovered",
    "b3": "uncovered",
    "b4": "covered",
    "b5": "uncovered",
    "b6": "outside_villages",
    "b7": "rejected",
}
EXPECTED_SIGNAL = [-90, -100, -120, -130, -105, -115, np.nan, np.nan]
V1, V2, V3, V4 = "18.01.01.2001", "18.01.01.2002", "18.01.01.2003", "18.01.01.2004"


@pytest.fixture
def shops() -> gpd.GeoDataFrame:
    geoms = [Point(xy) if xy else None for xy in BUSINESS_XY.values()]
    gdf = gpd.GeoDataFrame(
        {"weight": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0]},
        geometry=geoms,
        index=pd.Index(list(BUSINESS_XY), name="business_id"),
        crs=CRS_UTM,
    )
    return gdf


def test_raster_assessment_by_hand(villages, shops, signal_tif):
    result = assess(villages, shops, coverage.from_raster(signal_tif), crs=CRS_UTM)

    assert result.accounting == {
        "input": 8,
        "covered": 3,
        "uncovered": 3,
        "outside_villages": 1,
        "rejected": 1,
        "unmatched": 0,
    }
    b = result.businesses
    assert list(b.index) == list(BUSINESS_XY)  # input order and index kept
    assert b["status"].to_dict() == EXPECTED_STATUS
    assert b["covered"].tolist() == [True, True, False, False, True, False, False, False]
    np.testing.assert_array_equal(b["signal_dbm"].to_numpy(), EXPECTED_SIGNAL)
    assert b["village_id"].tolist()[:6] == [V1, V2, V2, V3, V4, V4]
    assert b["village_id"].isna().tolist()[6:] == [True, True]
    assert result.rejected.index.tolist() == ["b7"]
    assert "missing" in result.rejected["reason"].iloc[0]

    v = result.villages
    assert list(v.index) == [V1, V2, V3, V4]
    np.testing.assert_allclose(v["covered_area_share"], [1.0, 10 / 25, 0.0, 5 / 25], atol=1e-9)
    np.testing.assert_allclose(v["area_km2"], [25e-6 / K0**2] * 4, rtol=1e-6)
    assert v["n_businesses"].tolist() == [1, 2, 1, 2]
    assert v["n_covered"].tolist() == [1, 1, 0, 1]
    assert v["n_uncovered"].tolist() == [0, 1, 1, 1]
    np.testing.assert_allclose(v["uncovered_share"], [0.0, 0.5, 1.0, 0.5])
    # weights: uncovered b2 (3) in V2, b3 (4) in V3, b5 (6) in V4
    np.testing.assert_allclose(v["weighted_uncovered"], [0.0, 3.0, 4.0, 6.0])
    assert v["blank_spot"].tolist() == [False, True, True, True]


def test_blank_spot_polygons_by_hand(villages, shops, signal_tif):
    result = assess(villages, shops, coverage.from_raster(signal_tif), crs=CRS_UTM)
    spots = result.blank_spots.sort_values("village_id")
    # V2: the right 3 columns (15 m2); V3: all of it (25 m2); V4: rows 6-9 (20 m2)
    assert spots["village_id"].tolist() == [V2, V3, V4]
    np.testing.assert_allclose(
        spots["area_km2"] * 1e6, np.array([15.0, 25.0, 20.0]) / K0**2, rtol=1e-6
    )
    assert spots["n_businesses"].tolist() == [1, 1, 1]
    np.testing.assert_allclose(spots["weighted_businesses"], [3.0, 4.0, 6.0])
    assert list(spots.index) == [f"{V2}-1", f"{V3}-1", f"{V4}-1"]
    expected_v4 = box(X0 + 5, Y0, X0 + 10, Y0 + 4)
    assert shapely.equals(spots.geometry.iloc[2].normalize(), expected_v4.normalize())


def test_lonlat_businesses_give_the_same_answer(villages, shops, signal_tif):
    utm = assess(villages, shops, coverage.from_raster(signal_tif), crs=CRS_UTM)
    ll = assess(villages, shops.to_crs("EPSG:4326"), coverage.from_raster(signal_tif), crs=CRS_UTM)
    pd.testing.assert_series_equal(utm.businesses["status"], ll.businesses["status"])
    pd.testing.assert_series_equal(utm.villages["n_uncovered"], ll.villages["n_uncovered"])


def test_signal_matches_rasterio_sample(villages, shops, signal_tif):
    result = assess(villages, shops, coverage.from_raster(signal_tif), crs=CRS_UTM)
    inside = result.businesses.iloc[:6]
    with rasterio.open(signal_tif) as src:
        sampled = [v[0] for v in src.sample(zip(inside.geometry.x, inside.geometry.y, strict=True))]
    np.testing.assert_array_equal(inside["signal_dbm"].to_numpy(), sampled)


def test_polygon_coverage_share_equals_shapely_intersection(villages, shops):
    # an operator footprint covering the left 7 m of the world: an L-shape of area shares
    footprint = gpd.GeoDataFrame(geometry=[box(X0 - 1, Y0 - 1, X0 + 7, Y0 + 11)], crs=CRS_UTM)
    result = assess(villages, shops, coverage.from_polygons(footprint), crs=CRS_UTM)
    fp = footprint.geometry.iloc[0]
    expected = shapely.area(shapely.intersection(villages.geometry.array, fp)) / 25.0
    np.testing.assert_allclose(result.villages["covered_area_share"], expected)  # 1, .4, 1, .4
    # b2 (x = 8.5) and b4 (x = 6.5 < 7, covered) / b5 (6.5, covered): only b2 uncovered
    assert result.businesses["status"]["b2"] == "uncovered"
    assert result.accounting["uncovered"] == 1


def test_default_working_crs_is_estimated_utm(villages, shops, signal_tif, caplog):
    caplog.set_level("INFO", logger="blankspot")
    result = assess(villages.to_crs("EPSG:4326"), shops, coverage.from_raster(signal_tif))
    assert result.crs.to_epsg() == 32748
    assert "estimated" in caplog.text
    assert result.accounting["covered"] == 3


def test_counts_mode_by_hand(villages, signal_tif):
    counts = pd.Series({V1: 10, V2: 20, V3: 5, V4: 10, "18.99.99.2999": 3})
    with pytest.warns(blankspot.BlankspotWarning, match="not among the villages"):
        result = assess(villages, counts, coverage.from_raster(signal_tif), crs=CRS_UTM)
    assert result.businesses is None
    v = result.villages
    # uncovered = count x (1 - covered share): 10*0, 20*0.6, 5*1, 10*0.8
    np.testing.assert_allclose(v["n_uncovered"], [0.0, 12.0, 5.0, 8.0])
    np.testing.assert_allclose(v["n_covered"], [10.0, 8.0, 0.0, 2.0])
    acc = result.accounting
    assert acc == {
        "input": 48.0,
        "covered": 20.0,
        "uncovered": 25.0,
        "outside_villages": 3.0,
        "rejected": 0.0,
        "unmatched": 0.0,
    }
    spots = result.blank_spots.set_index("village_id")
    np.testing.assert_allclose(spots.loc[[V2, V3, V4], "n_businesses"], [12.0, 5.0, 8.0])


@pytest.mark.parametrize(
    ("counts", "match"),
    [
        (pd.Series({V1: "x"}), "not a number for 1 village"),
        (pd.Series({V1: -1}), "negative"),
        (pd.Series({V1: np.nan}), "missing"),
        (pd.Series([1, 2], index=[V1, V1]), "more than once"),
    ],
)
def test_bad_counts(villages, signal_tif, counts, match):
    with pytest.raises(blankspot.InputError, match=match):
        assess(villages, counts, coverage.from_raster(signal_tif), crs=CRS_UTM)


def test_accounting_adds_up_for_random_points(villages, signal_tif):
    rng = np.random.default_rng(7)
    xy = rng.uniform([X0 - 5, Y0 - 5], [X0 + 15, Y0 + 15], size=(500, 2))
    pts = gpd.GeoDataFrame(geometry=shapely.points(xy), crs=CRS_UTM)
    acc = assess(villages, pts, coverage.from_raster(signal_tif), crs=CRS_UTM).accounting
    assert acc["covered"] + acc["uncovered"] + acc["outside_villages"] + acc["rejected"] == 500
    inside = (xy[:, 0] >= X0) & (xy[:, 0] <= X0 + 10) & (xy[:, 1] >= Y0) & (xy[:, 1] <= Y0 + 10)
    assert acc["outside_villages"] == int((~inside).sum())


def test_border_point_counted_once_for_smallest_id(villages, signal_tif):
    pts = gpd.GeoDataFrame(geometry=[Point(X0 + 5, Y0 + 7)], crs=CRS_UTM)  # V1 | V2 border
    result = assess(villages, pts, coverage.from_raster(signal_tif), crs=CRS_UTM)
    assert result.businesses["village_id"].tolist() == [V1]
    assert result.villages["n_businesses"].sum() == 1


# ---------------------------------------------------------------- bad input


def test_swapped_lat_lon_is_detected(villages, shops, signal_tif):
    ll = shops.iloc[:6].to_crs("EPSG:4326")
    swapped = ll.set_geometry(shapely.points(ll.geometry.y, ll.geometry.x))
    with pytest.raises(blankspot.InputError, match="look swapped"):
        assess(villages, swapped, coverage.from_raster(signal_tif), crs=CRS_UTM)


def test_coverage_not_overlapping_names_both_extents(villages, shops):
    far = gpd.GeoDataFrame(geometry=[box(0, 0, 10, 10)], crs="EPSG:32748")
    with pytest.raises(blankspot.NoOverlapError, match=r"covers lon .* but the villages cover lon"):
        assess(villages, shops, coverage.from_polygons(far), crs=CRS_UTM)


def test_villages_without_crs(villages, shops, signal_tif):
    with pytest.raises(blankspot.CRSError, match="villages has no CRS"):
        assess(villages.set_crs(None, allow_override=True), shops, coverage.from_raster(signal_tif))


def test_businesses_without_crs(villages, shops, signal_tif):
    no_crs = shops.set_crs(None, allow_override=True)
    with pytest.raises(blankspot.CRSError, match="businesses has no CRS"):
        assess(villages, no_crs, coverage.from_raster(signal_tif), crs=CRS_UTM)


def test_geographic_working_crs_is_refused(villages, shops, signal_tif):
    with pytest.raises(blankspot.CRSError, match="geographic"):
        assess(villages, shops, coverage.from_raster(signal_tif), crs="EPSG:4326")


def test_duplicate_village_ids(villages, shops, signal_tif):
    dup = villages.copy()
    dup.index = [V1, V1, V3, V4]
    with pytest.raises(blankspot.InputError, match=f"duplicate id.*{V1}"):
        assess(dup, shops, coverage.from_raster(signal_tif), crs=CRS_UTM)


def test_empty_inputs(villages, shops, signal_tif):
    cov = coverage.from_raster(signal_tif)
    with pytest.raises(blankspot.EmptyInputError, match="villages is empty"):
        assess(villages.iloc[:0], shops, cov, crs=CRS_UTM)
    with pytest.raises(blankspot.EmptyInputError, match="businesses is empty"):
        assess(villages, shops.iloc[:0], cov, crs=CRS_UTM)


def test_unknown_option_suggests_the_right_one(villages, shops, signal_tif):
    with pytest.raises(blankspot.UnknownOptionError, match="Did you mean 'crs'"):
        assess(villages, shops, coverage.from_raster(signal_tif), crss=CRS_UTM)


def test_wrong_coverage_type(villages, shops):
    with pytest.raises(blankspot.InputError, match="coverage should be a coverage source"):
        assess(villages, shops, 42, crs=CRS_UTM)


def test_raster_path_shortcut(villages, shops, signal_tif):
    result = assess(villages, shops, signal_tif, crs=CRS_UTM)
    assert result.accounting["covered"] == 3


def test_counts_with_no_matching_id_is_an_error(villages, signal_tif):
    bps = pd.Series([10, 20], index=["1801012001", "1801012003"])  # BPS-style codes
    with pytest.raises(blankspot.InputError, match="cannot be converted into each other"):
        assess(villages, bps, coverage.from_raster(signal_tif), crs=CRS_UTM)


def test_counts_keyed_by_decimal_numbers_is_an_error(villages, signal_tif):
    with pytest.raises(blankspot.InputError, match=r"18\.10 becomes 18\.1"):
        assess(villages, pd.Series([1], index=[18.10]), signal_tif, crs=CRS_UTM)


def test_counts_ids_are_stripped(villages, signal_tif):
    result = assess(villages, pd.Series({f" {V3} ": 4}), signal_tif, crs=CRS_UTM)
    assert result.accounting["uncovered"] == 4.0  # V3 has no signal at all


def _write_quarter_raster(path, signal_tif):
    """The top-left 5 x 5 pixels of the signal raster: V1 only."""
    with rasterio.open(signal_tif) as src:
        profile = src.profile | {"width": 5, "height": 5}
        data = src.read(1)[:5, :5]
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(data, 1)
    return path


def test_raster_missing_every_business_is_an_error(villages, shops, signal_tif, tmp_path):
    quarter = _write_quarter_raster(tmp_path / "q.tif", signal_tif)
    # only b1..b5 (V2..V4): all fall outside the raster, which would make them all "uncovered"
    with pytest.raises(blankspot.NoOverlapError, match="None of the 5 businesses inside"):
        assess(villages, shops.iloc[1:6], coverage.from_raster(quarter), crs=CRS_UTM)


def test_raster_covering_part_of_the_villages_warns(villages, shops, signal_tif, tmp_path):
    quarter = _write_quarter_raster(tmp_path / "q.tif", signal_tif)
    # the raster covers V1 only: 75 % of the village area is outside it, 5 of 6 businesses too
    with pytest.warns(blankspot.BlankspotWarning, match="leaves 75% of the village area"):
        result = assess(villages, shops, coverage.from_raster(quarter), crs=CRS_UTM)
    assert "83%" in result.notes[0]  # 5 of the 6 businesses inside villages


def test_geodataframe_businesses_get_the_reader_checks(villages, signal_tif):
    pts = gpd.GeoDataFrame(
        geometry=[Point(105.0, -5.0), Point(105.0, 95.0), Point(0, 0)], crs="EPSG:4326"
    )
    pts.index = ["a", "b", "c"]
    shop = gpd.GeoDataFrame(geometry=[Point(X0 + 2.5, Y0 + 2.5)], index=["v3"], crs=CRS_UTM).to_crs(
        "EPSG:4326"
    )
    both = pd.concat([pts, shop])
    result = assess(villages, both, coverage.from_raster(signal_tif), crs=CRS_UTM)
    status = result.businesses["status"]
    # out-of-range latitude and the (0, 0) placeholder are rejected, not "outside villages"
    assert status.to_dict() == {
        "a": "outside_villages",
        "b": "rejected",
        "c": "rejected",
        "v3": "uncovered",
    }
    assert list(result.businesses.index) == ["a", "b", "c", "v3"]


def test_weight_column_of_a_geodataframe_is_used(villages, shops, signal_tif):
    result = assess(villages, shops, coverage.from_raster(signal_tif), crs=CRS_UTM)
    assert result.weight_col == "weight"
    assert result.weighted


def test_working_crs_in_feet_is_refused(villages, shops, signal_tif):
    # NAD83 / California zone 1 (US survey feet): projected, but radius_m would be in feet
    with pytest.raises(blankspot.CRSError, match="not metres"):
        assess(villages, shops, coverage.from_raster(signal_tif), crs="EPSG:2225")


def test_coverage_covering_no_business_warns(villages, signal_tif):
    # a dBm raster read as a class raster: no pixel equals 1 or 2
    rng = np.random.default_rng(3)
    xy = rng.uniform([X0, Y0], [X0 + 10, Y0 + 10], size=(12, 2))
    pts = gpd.GeoDataFrame(geometry=shapely.points(xy), crs=CRS_UTM)
    cov = coverage.from_raster(signal_tif, covered_values=(1, 2))
    with pytest.warns(blankspot.BlankspotWarning, match="covers none of the 12 businesses"):
        result = assess(villages, pts, cov, crs=CRS_UTM)
    assert result.accounting["uncovered"] == 12


# --- assess checks what it is given, whatever it is (issue 7) ---------------------------------


def test_point_villages_are_refused(shops, signal_tif):
    points = gpd.GeoDataFrame(
        geometry=[Point(X0 + 1, Y0 + 1), Point(X0 + 6, Y0 + 6)], index=["a", "b"], crs=CRS_UTM
    )
    with pytest.raises(blankspot.InputError, match=r"Villages must be Polygon.*Point"):
        assess(points, shops, coverage.from_raster(signal_tif), crs=CRS_UTM)


def test_invalid_village_polygon_is_repaired_not_a_geos_error(shops, signal_tif):
    # a bow tie over V1's square: two triangles of 6.25 m2 each once repaired
    bowtie = shapely.Polygon(
        [(X0, Y0 + 5), (X0 + 5, Y0 + 10), (X0 + 5, Y0 + 5), (X0, Y0 + 10), (X0, Y0 + 5)]
    )
    vil = gpd.GeoDataFrame(geometry=[bowtie], index=["bow"], crs=CRS_UTM)
    result = assess(vil, shops, coverage.from_raster(signal_tif), crs=CRS_UTM)
    assert result.villages["area_km2"].iloc[0] * 1e6 == pytest.approx(12.5 / K0**2)
    assert result.villages["covered_area_share"].iloc[0] == pytest.approx(1.0)  # all -90 dBm


@pytest.mark.parametrize("bad", [np.inf, -np.inf])
def test_infinite_counts_are_refused(villages, signal_tif, bad):
    with pytest.raises(blankspot.InputError, match=r"not finite for 1 village"):
        assess(villages, pd.Series({V1: bad, V2: 3}), coverage.from_raster(signal_tif), crs=CRS_UTM)


@pytest.mark.parametrize("share", ["0.5", None, True, float("nan"), 0, 1.5])
def test_blank_spot_share_must_be_a_number_in_range(villages, shops, signal_tif, share):
    with pytest.raises(
        blankspot.InputError, match=r"blank_spot_share must be a number in \(0, 1\]"
    ):
        assess(villages, shops, signal_tif, crs=CRS_UTM, blank_spot_share=share)


def test_point_covered_but_outside_every_village_is_not_covered(villages):
    # coverage reaches beyond the villages: a point there is outside_villages, never covered
    cover = gpd.GeoDataFrame(geometry=[box(X0 - 50, Y0 - 50, X0 + 50, Y0 + 50)], crs=CRS_UTM)
    pts = gpd.GeoDataFrame(
        geometry=[Point(X0 + 1, Y0 + 1), Point(X0 + 30, Y0 + 30)], index=["in", "out"], crs=CRS_UTM
    )
    result = assess(villages, pts, coverage.from_polygons(cover), crs=CRS_UTM)
    b = result.businesses
    assert b["status"].tolist() == ["covered", "outside_villages"]
    assert b["covered"].tolist() == [True, False]
    assert result.accounting["covered"] == 1


def test_counts_spread_over_two_blank_spot_pieces_by_area(villages):
    # a 1 m covered stripe splits V1 (5 x 5 m) into uncovered pieces of 5 and 15 m2
    stripe = gpd.GeoDataFrame(geometry=[box(X0 + 1, Y0 + 5, X0 + 2, Y0 + 10)], crs=CRS_UTM)
    result = assess(villages, pd.Series({V1: 20}), coverage.from_polygons(stripe), crs=CRS_UTM)
    v1 = result.villages.loc[V1]
    assert v1["n_uncovered"] == pytest.approx(16.0)  # 20 x 20/25
    spots = result.blank_spots[result.blank_spots["village_id"] == V1]
    # 16 spread by area: 16 x 15/20 and 16 x 5/20, the larger piece first
    np.testing.assert_allclose(spots["n_businesses"], [12.0, 4.0])
    assert result.blank_spots["n_businesses"].sum() == pytest.approx(
        result.villages["n_uncovered"].sum()
    )


@pytest.mark.parametrize("crs", [None, CRS_UTM])
def test_projected_coordinates_labelled_degrees_are_a_crs_error(villages, shops, signal_tif, crs):
    mislabelled = villages.set_crs("EPSG:4326", allow_override=True)  # metres called degrees
    with pytest.raises(blankspot.CRSError, match=r"labelled EPSG:4326 \(degrees\).*set_crs"):
        assess(mislabelled, shops, signal_tif, crs=crs)


def test_raster_sentinel_note_reaches_the_assessment(villages, shops, tmp_path):
    from tests.common import TRANSFORM, signal_array, write_tif

    a = signal_array().astype("int16")
    a[0, 0] = -9999  # an undeclared nodata value
    path = write_tif(tmp_path / "s.tif", a, TRANSFORM)
    with pytest.warns(blankspot.BlankspotWarning, match="undeclared nodata"):
        src = coverage.from_raster(path)
    result = assess(villages, shops, src, crs=CRS_UTM)
    assert any("undeclared nodata" in n for n in result.notes)


def test_counts_as_text_follow_the_column_number_format(villages, signal_tif):
    # '1.500' is one thousand five hundred next to '2,5' (decimal comma)
    counts = pd.Series({V1: "1.500", V2: "2,5"})
    result = assess(villages, counts, coverage.from_raster(signal_tif), crs=CRS_UTM)
    assert result.accounting["input"] == pytest.approx(1502.5)
    with pytest.raises(blankspot.InputError, match=r"business counts has numbers that read two"):
        assess(villages, pd.Series({V1: "1.500"}), signal_tif, crs=CRS_UTM)
