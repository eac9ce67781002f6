"""Coverage known per village (Podes, BAKTI lists): hand-counted on the four 5 x 5 m villages."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import geopandas as gpd
from shapely.geometry import Point, box

from blankspot import BlankspotWarning, EmptyInputError, InputError, assess, coverage
from tests.common import CRS_UTM, K0, VILLAGE_BOXES, X0, Y0

V1, V2, V3, V4 = VILLAGE_BOXES


@pytest.fixture
def podes() -> pd.DataFrame:
    # V4 is not in the table
    return pd.DataFrame(
        {
            "kode_desa": [V1, V2, V3],
            "sinyal": [" Kuat", "lemah", "Tidak Ada Sinyal"],
        }
    )


@pytest.fixture
def shops() -> gpd.GeoDataFrame:
    """One business at the centre of each village, one on the V1/V2 border, one outside."""
    xy = [(2.5, 7.5), (7.5, 7.5), (2.5, 2.5), (7.5, 2.5), (5.0, 8.0), (50.0, 50.0)]
    return gpd.GeoDataFrame(
        geometry=[Point(X0 + x, Y0 + y) for x, y in xy],
        index=[f"b{i}" for i in range(len(xy))],
        crs=CRS_UTM,
    )


def test_podes_status_by_hand(villages, podes, shops):
    with pytest.warns(BlankspotWarning, match=r"1 of 4 villages are not in .* count as uncovered"):
        cov = coverage.from_village_status(
            podes,
            villages=villages,
            id_col="kode_desa",
            status_col="sinyal",
            covered_values=["kuat", "LEMAH"],
        )
    assert cov.description.endswith("2 of 4 villages covered, 1 not in the table counted uncovered")
    result = assess(villages, shops, cov, crs=CRS_UTM)
    assert result.villages["covered_area_share"].tolist() == [1.0, 1.0, 0.0, 0.0]
    assert result.businesses["status"].tolist() == [
        "covered",
        "covered",
        "uncovered",
        "uncovered",
        "covered",  # on the border of two covered villages
        "outside_villages",
    ]
    assert result.villages["blank_spot"].tolist() == [False, False, True, True]
    # a village's whole area is one blank spot
    spots = result.blank_spots
    assert spots["village_id"].tolist() == [V3, V4]
    np.testing.assert_allclose(spots["area_km2"], [25e-6 / K0**2] * 2, rtol=1e-6)  # ellipsoid


def test_union_with_a_raster_covered_where_either(villages, signal_tif):
    status = pd.DataFrame({"kode": [V1, V2, V3, V4], "sinyal": ["none", "none", "kuat", "none"]})
    cov = coverage.union(
        coverage.from_raster(signal_tif),
        coverage.from_village_status(
            status, villages=villages, id_col="kode", status_col="sinyal", covered_values=["kuat"]
        ),
    )
    vc = cov.village_cover(villages.geometry, CRS_UTM)
    # raster alone: 1, 10/25, 0, 5/25 (tests/common.py); the status adds all of V3
    np.testing.assert_allclose(vc.covered_share, [1.0, 0.4, 1.0, 0.2])
    covered, signal = cov.points(
        np.array([X0 + 2.5, X0 + 9.5, X0 + 2.5]), np.array([Y0 + 7.5, Y0 + 7.5, Y0 + 2.5]), CRS_UTM
    )
    assert covered.tolist() == [True, False, True]
    # V3 is covered by its status; the signal reported is still the raster's -130 dBm
    assert signal.tolist() == [-90.0, -120.0, -130.0]


def test_union_with_polygons_is_exact(villages):
    status = pd.DataFrame({"kode": [V1, V2, V3, V4], "s": ["ya", "tidak", "ya", "tidak"]})
    half_v4 = gpd.GeoSeries([box(X0 + 5, Y0, X0 + 7.5, Y0 + 5)], crs=CRS_UTM)
    cov = coverage.union(
        coverage.from_polygons(half_v4),
        coverage.from_village_status(
            status, villages=villages, id_col="kode", status_col="s", covered_values=["ya"]
        ),
    )
    vc = cov.village_cover(villages.geometry, CRS_UTM)
    np.testing.assert_allclose(vc.covered_share, [1.0, 0.0, 1.0, 0.5])
    assert cov.description.startswith("coverage polygons (1 features) OR village status table")


def test_blank_spot_list_unlisted_are_covered(villages, tmp_path, caplog):
    """A BAKTI list names only blank-spot villages; the others have signal."""
    csv = tmp_path / "bakti_blankspot.csv"
    csv.write_text(f"kode;kategori\n{V3};blank spot\n{V4};Blank Spot\n", encoding="utf-8")
    caplog.set_level("INFO", logger="blankspot")
    cov = coverage.from_village_status(
        csv,
        villages=villages,
        id_col="kode",
        status_col="kategori",
        covered_values=[],
        uncovered_values=["blank spot"],
        unlisted="covered",
    )  # no warning: unlisted villages are expected here (filterwarnings = error)
    assert "2 of 4 villages are not in village status file" in caplog.text
    vc = cov.village_cover(villages.geometry, CRS_UTM)
    np.testing.assert_allclose(vc.covered_share, [1.0, 1.0, 0.0, 0.0])
    assert "'bakti_blankspot.csv'" in cov.description


def test_codes_kept_as_text_from_csv(tmp_path):
    """Codes with a trailing zero ('18.10...') and leading zeros stay exactly as written."""
    v = gpd.GeoDataFrame(
        geometry=[box(0, 0, 1, 1), box(1, 0, 2, 1)], index=["18.10.01.2010", "0042"], crs=CRS_UTM
    )
    csv = tmp_path / "s.csv"
    csv.write_text("kode,s\n18.10.01.2010,kuat\n0042,lemah\n", encoding="utf-8")
    cov = coverage.from_village_status(
        csv, villages=v, id_col="kode", status_col="s", covered_values=["kuat"]
    )
    assert cov.covered.to_dict() == {"18.10.01.2010": True, "0042": False}


def test_errors(villages, podes):
    def build(table, **kw):
        opts = {"villages": villages, "id_col": "kode_desa", "status_col": "sinyal"}
        opts |= {"covered_values": ["kuat"]} | kw
        return coverage.from_village_status(table, **opts)

    with pytest.raises(InputError, match=r"decimal numbers .* dtype=\{'kode_desa': str\}"):
        build(pd.DataFrame({"kode_desa": [1801.2, 1801.3], "sinyal": ["kuat", "lemah"]}))
    unknown = pd.concat(
        [podes, pd.DataFrame({"kode_desa": ["18.99.99.2999", "1801012001"], "sinyal": "kuat"})]
    )
    with pytest.raises(
        InputError,
        match=r"2 village code\(s\) .* are not village ids: '18.99.99.2999', '1801012001'",
    ):
        build(unknown)
    with pytest.raises(InputError, match="have no village code"):
        build(pd.DataFrame({"kode_desa": [V1, None], "sinyal": ["kuat", "kuat"]}))
    with pytest.raises(
        InputError, match=r"both a covered and an uncovered status: '18.01.01.2001'"
    ):
        build(pd.DataFrame({"kode_desa": [V1, V1], "sinyal": ["kuat", "tidak ada"]}))
    with pytest.raises(InputError, match=r"neither in covered_values nor .*: ' Kuat', 'lemah'"):
        build(podes, covered_values=["kaut"], uncovered_values=["tidak ada sinyal"])
    with pytest.raises(InputError, match="share 'kuat'"):
        build(podes, uncovered_values=["Kuat"])
    with pytest.raises(InputError, match="unlisted must be one of uncovered, covered"):
        build(podes, unlisted="no")
    with pytest.raises(InputError, match="status_col='signal' is not a column"):
        build(podes, status_col="signal")
    with pytest.raises(EmptyInputError, match="has no rows"):
        build(podes.iloc[:0])


def test_same_status_twice_is_fine(villages):
    table = pd.DataFrame({"kode_desa": [V1, V1, V2, V3, V4], "sinyal": ["kuat"] * 2 + ["-"] * 3})
    cov = coverage.from_village_status(
        table, villages=villages, id_col="kode_desa", status_col="sinyal", covered_values=["kuat"]
    )
    assert cov.covered.tolist() == [True, False, False, False]
