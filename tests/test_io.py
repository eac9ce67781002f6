"""Tests for blankspot.io: every format and schema on tiny hand-made files, every error path.

Expected values are written by hand from the fixture text (the comments say how), or taken
from an independent tool (shapely for areas, pyproj for reprojection, Python's datetime for
Unix seconds, the data README for the real-file counts).
"""

from __future__ import annotations

import gzip
import json
import logging
import re
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import geopandas as gpd
import shapely
from geopandas.testing import assert_geodataframe_equal
from pyproj import Transformer
from shapely.geometry import Point, Polygon, box

from blankspot._errors import (
    BlankspotWarning,
    CRSError,
    EmptyInputError,
    InputError,
    InputFileError,
    UnknownOptionError,
)
from blankspot.io import (
    attach_parent_names,
    read_businesses,
    read_towers,
    read_villages,
    rejected_rows,
)
from tests.common import CRS_UTM, X0, Y0

# --------------------------------------------------------------------------------------
# fixture builders
# --------------------------------------------------------------------------------------


def square(lon: float, lat: float, d: float = 0.01) -> list:
    """GeoJSON ring of a small lon/lat square."""
    return [[[lon, lat], [lon + d, lat], [lon + d, lat + d], [lon, lat + d], [lon, lat]]]


def write_geojson(path: Path, props: list[dict], rings: list | None = None) -> Path:
    """Write GeoJSON text by hand, so that a code is a JSON string or number exactly as given."""
    rings = rings or [square(104.95 + 0.02 * i, -5.36) for i in range(len(props))]
    feats = [
        {"type": "Feature", "properties": p, "geometry": {"type": "Polygon", "coordinates": r}}
        for p, r in zip(props, rings, strict=True)
    ]
    path.write_text(json.dumps({"type": "FeatureCollection", "features": feats}))
    return path


@pytest.fixture
def kel_geojson(tmp_path: Path) -> Path:
    """Kemendagri wilayah schema, codes as JSON strings (as in the real kel files)."""
    return write_geojson(
        tmp_path / "wilayah_boundaries_kel_18.10.geojson",
        [
            {"kode": "18.10.01.1001", "nama": "Fajaresuk", "lat": -5.35, "lng": 104.95},
            {"kode": "18.10.02.2010", "nama": "Bumi Ratu", "lat": -5.35, "lng": 104.97},
        ],
    )


def big_villages() -> gpd.GeoDataFrame:
    """BIG's schema: KDEPUM (id), KDEBPS, WADMKD/WADMKC/WADMKK/WADMPR."""
    return gpd.GeoDataFrame(
        {
            "KDEPUM": ["18.71.01.1003", "18.71.01.1004"],
            "KDEBPS": ["1871010003", "1871010004"],
            "WADMKD": ["Kupang Kota", "Kupang Raya"],
            "WADMKC": ["Teluk Betung Utara", "Teluk Betung Utara"],
            "WADMKK": ["Kota Bandar Lampung", "Kota Bandar Lampung"],
            "WADMPR": ["Lampung", "Lampung"],
        },
        geometry=[box(105.25, -5.44, 105.26, -5.43), box(105.26, -5.44, 105.27, -5.43)],
        crs="EPSG:4326",
    )


# --------------------------------------------------------------------------------------
# read_villages: formats and schemas
# --------------------------------------------------------------------------------------


def test_villages_kemendagri_geojson_keeps_codes_as_text(kel_geojson: Path) -> None:
    v = read_villages(kel_geojson)
    # "18.10..." must not become 18.1: the ids are exactly the JSON strings
    assert v.index.tolist() == ["18.10.01.1001", "18.10.02.2010"]
    assert v.index.name == "village_id"
    assert pd.api.types.is_string_dtype(v.index.dtype)
    assert v["name"].tolist() == ["Fajaresuk", "Bumi Ratu"]
    # parents by cutting the dotted code: 18.10.01.1001 -> 18.10.01 -> 18.10
    assert v["kecamatan_code"].tolist() == ["18.10.01", "18.10.02"]
    assert v["kabupaten_code"].tolist() == ["18.10", "18.10"]
    # the wilayah files carry no kecamatan/kabupaten names: missing, but present
    assert v["kecamatan"].isna().all() and v["kabupaten"].isna().all()
    # contract columns first, the source's other columns kept, geometry last
    assert v.columns.tolist() == [
        "name",
        "kecamatan",
        "kabupaten",
        "kecamatan_code",
        "kabupaten_code",
        "lat",
        "lng",
        "geometry",
    ]
    assert v.crs.to_epsg() == 4326
    assert set(v.geom_type) == {"Polygon"}


def test_villages_big_schema_shapefile(tmp_path: Path) -> None:
    path = tmp_path / "desa_big.shp"
    big_villages().to_file(path, engine="pyogrio")
    v = read_villages(path)
    assert v.index.tolist() == ["18.71.01.1003", "18.71.01.1004"]  # from KDEPUM, not KDEBPS
    assert v["name"].tolist() == ["Kupang Kota", "Kupang Raya"]  # WADMKD
    assert v["kecamatan"].tolist() == ["Teluk Betung Utara"] * 2  # WADMKC
    assert v["kabupaten"].tolist() == ["Kota Bandar Lampung"] * 2  # WADMKK
    assert v["kecamatan_code"].tolist() == ["18.71.01"] * 2
    # BPS code and province kept as other columns, as text
    assert v["KDEBPS"].tolist() == ["1871010003", "1871010004"]
    assert v["WADMPR"].tolist() == ["Lampung", "Lampung"]


def test_villages_geopackage_generic_schema(tmp_path: Path) -> None:
    path = tmp_path / "v.gpkg"
    gpd.GeoDataFrame(
        {"village_id": ["A", "B"], "name": ["Satu", "Dua"], "pop": [10, 20]},
        geometry=[box(0, 0, 1, 1), box(1, 0, 2, 1)],
        crs=CRS_UTM,
    ).to_file(path, engine="pyogrio")
    v = read_villages(path)
    assert v.index.tolist() == ["A", "B"]
    assert v["name"].tolist() == ["Satu", "Dua"]
    assert v["pop"].tolist() == [10, 20]
    assert v.crs.to_epsg() == 32748
    # not a dotted Kemendagri code: no parent codes
    assert v["kecamatan_code"].isna().all()


def test_villages_geoparquet_and_flatgeobuf(tmp_path: Path) -> None:
    gdf = big_villages()
    gdf.to_parquet(tmp_path / "v.parquet")
    gdf.to_file(tmp_path / "v.fgb", engine="pyogrio")
    for name in ("v.parquet", "v.fgb"):
        # FlatGeobuf's spatial index may reorder features: compare in id order
        v = read_villages(tmp_path / name).sort_index()
        assert v.index.tolist() == ["18.71.01.1003", "18.71.01.1004"], name
        assert v["name"].tolist() == ["Kupang Kota", "Kupang Raya"], name


def test_villages_case_insensitive_detection(tmp_path: Path) -> None:
    path = write_geojson(tmp_path / "v.geojson", [{"KODE": "18.01.01.2001", "NAMA": "Satu"}])
    v = read_villages(path)
    assert v.index.tolist() == ["18.01.01.2001"]
    assert v["name"].tolist() == ["Satu"]


def test_villages_list_and_glob_concatenate_sorted(tmp_path: Path) -> None:
    a = write_geojson(tmp_path / "kel_18.02.geojson", [{"kode": "18.02.01.2001", "nama": "B"}])
    b = write_geojson(tmp_path / "kel_18.01.geojson", [{"kode": "18.01.01.2001", "nama": "A"}])
    from_list = read_villages([a, b])  # list order is kept
    assert from_list.index.tolist() == ["18.02.01.2001", "18.01.01.2001"]
    from_glob = read_villages(str(tmp_path / "kel_18.*.geojson"))  # glob: sorted names
    assert from_glob.index.tolist() == ["18.01.01.2001", "18.02.01.2001"]
    assert from_glob["name"].tolist() == ["A", "B"]


def test_villages_other_crs_reprojected_to_first(tmp_path: Path, caplog) -> None:
    first = write_geojson(tmp_path / "a.geojson", [{"kode": "18.01.01.2001", "nama": "A"}])
    utm = gpd.GeoDataFrame(
        {"kode": ["18.01.01.2002"], "nama": ["B"]},
        geometry=[box(X0, Y0, X0 + 5, Y0 + 5)],
        crs=CRS_UTM,
    )
    second = tmp_path / "b.gpkg"
    utm.to_file(second, engine="pyogrio")
    with caplog.at_level(logging.INFO, logger="blankspot"):
        v = read_villages([first, second])
    assert v.crs.to_epsg() == 4326
    assert "Reprojecting villages" in caplog.text
    # the UTM corner transformed independently with pyproj
    lon, lat = Transformer.from_crs(CRS_UTM, "EPSG:4326", always_xy=True).transform(X0, Y0)
    minx, miny, _, _ = v.geometry.loc["18.01.01.2002"].bounds
    assert minx == pytest.approx(lon, abs=1e-9) and miny == pytest.approx(lat, abs=1e-9)


def test_villages_from_geodataframe_uses_village_id_index_and_is_idempotent(villages) -> None:
    v = read_villages(villages)
    assert v.index.tolist() == list(villages.index)
    assert v["name"].tolist() == ["Satu", "Dua", "Tiga", "Empat"]
    assert v["kabupaten_code"].tolist() == ["18.01"] * 4
    again = read_villages(v)
    pd.testing.assert_frame_equal(pd.DataFrame(again), pd.DataFrame(v))


def test_villages_id_and_name_overrides(tmp_path: Path) -> None:
    path = write_geojson(
        tmp_path / "v.geojson",
        [{"kode": "X1", "desa_kode": "18.01.01.2001", "label": "Satu", "nama": "wrong"}],
    )
    v = read_villages(path, id_col="desa_kode", name_col="label")
    assert v.index.tolist() == ["18.01.01.2001"]
    assert v["name"].tolist() == ["Satu"]
    # the unused candidates stay as ordinary columns
    assert v["kode"].tolist() == ["X1"] and v["nama"].tolist() == ["wrong"]


def test_villages_integer_codes_are_exact_text(tmp_path: Path) -> None:
    # a BPS code stored as a JSON integer: exact, so converted without complaint
    path = write_geojson(tmp_path / "v.geojson", [{"kdebps": 1871010003, "nama": "A"}])
    assert read_villages(path).index.tolist() == ["1871010003"]


def test_villages_kab_codes_stored_as_numbers_are_rebuilt_with_warning(tmp_path: Path) -> None:
    # the real kab file writes `kode` as a JSON number: 18.10 (Pringsewu) is the text 18.1
    path = tmp_path / "kab.geojson"
    write_geojson(path, [{"kode": 18.01, "nama": "Lampung Selatan"}, {"kode": 18.1, "nama": "X"}])
    assert "18.1," in path.read_text()  # the JSON text itself has lost the zero
    with pytest.warns(BlankspotWarning, match=r"stored as numbers.*18\.1 -> 18\.10") as rec:
        v = read_villages(path)
    assert v.index.tolist() == ["18.01", "18.10"]
    assert rec[0].filename == __file__  # the warning points at the caller, not at blankspot


def test_villages_float_codes_that_cannot_be_recovered(tmp_path: Path) -> None:
    path = write_geojson(tmp_path / "v.geojson", [{"id": 18.1005, "nama": "A"}])
    with pytest.raises(InputError, match=r"'id' of .*v\.geojson.* stored as numbers"):
        read_villages(path)


def test_villages_bowtie_is_repaired_and_logged(caplog) -> None:
    bowtie = Polygon([(X0, Y0), (X0 + 2, Y0 + 2), (X0 + 2, Y0), (X0, Y0 + 2)])
    assert not bowtie.is_valid
    raw = gpd.GeoDataFrame(
        {"kode": ["18.01.01.2001", "18.01.01.2002"]},
        geometry=[bowtie, box(X0 + 5, Y0, X0 + 6, Y0 + 1)],
        crs=CRS_UTM,
    )
    with caplog.at_level(logging.WARNING, logger="blankspot"):
        v = read_villages(raw)
    assert "Repaired 1 invalid village polygons" in caplog.text
    assert "18.01.01.2001" in caplog.text
    g = v.geometry.loc["18.01.01.2001"]
    assert g.is_valid and g.geom_type == "MultiPolygon"
    # two triangles, each base 2 (the left/right edge) and height 1 (to the crossing point)
    assert g.area == pytest.approx(2 * (2 * 1 / 2))
    assert v.geometry.loc["18.01.01.2002"].equals(box(X0 + 5, Y0, X0 + 6, Y0 + 1))


def test_attach_parent_names() -> None:
    v = read_villages(big_villages().drop(columns=["WADMKC", "WADMKK"]))
    assert v["kecamatan"].isna().all()
    kec = gpd.GeoDataFrame(
        {"kode": ["18.71.01"], "nama": ["Teluk Betung Utara"]},
        geometry=[box(105.2, -5.5, 105.3, -5.4)],
        crs="EPSG:4326",
    )
    out = attach_parent_names(v, kecamatan=kec, kabupaten={"18.71": "Kota Bandar Lampung"})
    assert out["kecamatan"].tolist() == ["Teluk Betung Utara"] * 2
    assert out["kabupaten"].tolist() == ["Kota Bandar Lampung"] * 2
    assert v["kecamatan"].isna().all()  # the input is not modified


# --------------------------------------------------------------------------------------
# read_villages: errors
# --------------------------------------------------------------------------------------


def test_villages_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InputFileError, match=r"villages file '.*nope\.geojson' does not exist"):
        read_villages(tmp_path / "nope.geojson")


def test_villages_glob_matches_nothing(tmp_path: Path) -> None:
    pattern = str(tmp_path / "kel_*.geojson")
    with pytest.raises(InputFileError, match=re.escape(pattern)):
        read_villages(pattern)


@pytest.mark.parametrize("name", ["garbage.shp", "notes.txt"])
def test_villages_unreadable_file(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    path.write_text("this is not a vector file\n")
    with pytest.raises(InputFileError, match=rf"{re.escape(name)}.*Supported formats: GeoJSON"):
        read_villages(path)


def test_villages_table_without_geometry(tmp_path: Path) -> None:
    path = tmp_path / "v.csv"
    path.write_text("kode,nama\n18.01.01.2001,A\n")
    with pytest.raises(InputFileError, match=r"v\.csv' has no geometry"):
        read_villages(path)


def test_villages_empty_inputs(tmp_path: Path) -> None:
    empty = tmp_path / "empty.geojson"
    empty.write_text("")
    with pytest.raises(EmptyInputError, match=r"empty\.geojson' is empty"):
        read_villages(empty)
    nofeat = tmp_path / "nofeat.geojson"
    nofeat.write_text('{"type": "FeatureCollection", "features": []}')
    with pytest.raises(EmptyInputError, match=r"nofeat\.geojson' has no features"):
        read_villages(nofeat)
    with pytest.raises(EmptyInputError, match="list of paths is empty"):
        read_villages([])


def test_villages_no_crs(tmp_path: Path) -> None:
    path = tmp_path / "nocrs.shp"  # a shapefile without .prj has no CRS
    with pytest.warns(UserWarning, match="'crs' was not provided"):
        gpd.GeoDataFrame({"kode": ["18.01.01.2001"]}, geometry=[box(0, 0, 1, 1)]).to_file(
            path, engine="pyogrio"
        )
    with pytest.raises(CRSError, match=r"nocrs\.shp' has no CRS"):
        read_villages(path)
    with pytest.raises(CRSError, match="villages GeoDataFrame has no CRS"):
        read_villages(gpd.GeoDataFrame({"kode": ["a"]}, geometry=[box(0, 0, 1, 1)]))


def test_villages_named_column_missing(kel_geojson: Path) -> None:
    with pytest.raises(InputError, match=r"id_col='kd' is not a column.*kode, nama, lat, lng"):
        read_villages(kel_geojson, id_col="kd")
    with pytest.raises(InputError, match=r"name_col='nm' is not a column.*kode, nama"):
        read_villages(kel_geojson, name_col="nm")


def test_villages_no_id_column(tmp_path: Path) -> None:
    path = write_geojson(tmp_path / "v.geojson", [{"label": "A"}])
    with pytest.raises(InputError, match=r"Cannot find a village id column.*label.*id_col="):
        read_villages(path)


def test_villages_null_id(tmp_path: Path) -> None:
    path = write_geojson(tmp_path / "v.geojson", [{"kode": "18.01.01.2001"}, {"kode": None}])
    with pytest.raises(InputError, match=r"1 villages .* have no id in column 'kode' \(rows '1'\)"):
        read_villages(path)


def test_villages_duplicate_ids(tmp_path: Path) -> None:
    path = write_geojson(
        tmp_path / "v.geojson",
        [{"kode": "18.01.01.2001"}, {"kode": "18.01.01.2002"}, {"kode": "18.01.01.2001"}],
    )
    with pytest.raises(InputError, match=r"1 ids appear more than once: '18\.01\.01\.2001'"):
        read_villages(path)
    # the same id in two files
    other = write_geojson(tmp_path / "w.geojson", [{"kode": "18.01.01.2002"}])
    one = write_geojson(tmp_path / "u.geojson", [{"kode": "18.01.01.2002"}])
    with pytest.raises(InputError, match=r"'18\.01\.01\.2002' \(in .*u\.geojson.*w\.geojson"):
        read_villages([one, other])


def test_villages_empty_or_null_geometry() -> None:
    ids = [f"18.01.01.20{i:02d}" for i in range(13)]
    geoms = [None, Polygon()] + [box(i, 0, i + 1, 1) for i in range(11)]
    geoms[5] = None
    raw = gpd.GeoDataFrame({"kode": ids}, geometry=geoms, crs=CRS_UTM)
    with pytest.raises(InputError, match=r"3 villages have an empty or missing geometry: "):
        read_villages(raw)
    many = gpd.GeoDataFrame({"kode": ids}, geometry=[None] * 13, crs=CRS_UTM)
    # first 10 listed, then the count
    with pytest.raises(InputError, match=r"'18\.01\.01\.2009', \.\.\. \(13 in all\)"):
        read_villages(many)


def test_villages_non_polygon_geometry() -> None:
    raw = gpd.GeoDataFrame(
        {"kode": ["a", "b"]}, geometry=[box(0, 0, 1, 1), Point(0, 0)], crs=CRS_UTM
    )
    with pytest.raises(InputError, match=r"Polygon or MultiPolygon; 1 are not \(Point\): 'b'"):
        read_villages(raw)


def test_villages_collapsed_polygon_cannot_be_repaired() -> None:
    flat = Polygon([(0, 0), (1, 1), (2, 2), (0, 0)])  # zero area: nothing polygonal left
    raw = gpd.GeoDataFrame({"kode": ["a"]}, geometry=[flat], crs=CRS_UTM)
    with pytest.raises(InputError, match=r"no area left after repair.*'a'"):
        read_villages(raw)


def test_villages_plain_dataframe_and_unknown_option(kel_geojson: Path) -> None:
    with pytest.raises(InputError, match="needs polygons"):
        read_villages(pd.DataFrame({"kode": ["a"]}))
    with pytest.raises(UnknownOptionError, match="Did you mean 'id_col'"):
        read_villages(kel_geojson, idcol="kode")


def test_attach_parent_names_needs_codes() -> None:
    with pytest.raises(InputError, match="no 'kecamatan_code' column"):
        attach_parent_names(gpd.GeoDataFrame({"a": [1]}, geometry=[Point(0, 0)]), kecamatan={})


# --------------------------------------------------------------------------------------
# read_businesses
# --------------------------------------------------------------------------------------

# One row per problem; reasons below worked out by hand from this text.
REASONS_CSV = """id,nama,lat,lon
a1,ok,-5.43,105.26
a2,nolon,-5.40,
a3,garbage,abc,105.1
a4,south,-95.2,105.0
a5,east,-5.0,500
a6,swapped,105.2,-5.4
a7,both, ,xyz
"""
EXPECTED_REASONS = [
    None,
    "longitude is missing",
    "latitude is not a number: 'abc'",
    "latitude -95.2 out of range [-90, 90]",
    "longitude 500 out of range [-180, 180]",
    "latitude 105.2 out of range [-90, 90] (longitude and latitude look swapped)",
    "longitude is not a number: 'xyz'; latitude is missing",
]


def test_businesses_reasons_every_row_kept(tmp_path: Path, caplog) -> None:
    path = tmp_path / "umkm.csv"
    path.write_text(REASONS_CSV)
    with caplog.at_level(logging.WARNING, logger="blankspot"):
        b = read_businesses(path)
    assert "6 of 7 rows rejected" in caplog.text
    assert b.index.tolist() == ["a1", "a2", "a3", "a4", "a5", "a6", "a7"]  # the `id` column
    assert b.index.name == "business_id"
    assert b["rejected_reason"].tolist() == EXPECTED_REASONS
    assert b["rejected_reason"].dtype == object
    # rejected rows have no geometry; the valid one is the point typed in the file
    assert b.geometry.iloc[0].equals(Point(105.26, -5.43))
    assert b.geometry.iloc[1:].isna().all()
    # parsed values: NaN only where unparseable; out-of-range values are kept as read
    np.testing.assert_array_equal(b["lat"], [-5.43, -5.40, np.nan, -95.2, -5.0, 105.2, np.nan])
    np.testing.assert_array_equal(b["lon"], [105.26, np.nan, 105.1, 105.0, 500, -5.4, np.nan])
    assert b["weight"].tolist() == [1.0] * 7
    assert b.attrs["weight_col"] is None
    assert b.crs.to_epsg() == 4326
    # the input's own columns (the id too), then ours
    assert b.columns.tolist() == [
        "id",
        "nama",
        "lon",
        "lat",
        "weight",
        "rejected_reason",
        "geometry",
    ]
    rej = rejected_rows(b)
    assert isinstance(rej, pd.DataFrame) and not isinstance(rej, gpd.GeoDataFrame)
    assert rej.index.tolist() == ["a2", "a3", "a4", "a5", "a6", "a7"]
    assert rej["reason"].tolist() == EXPECTED_REASONS[1:]


def test_businesses_reading_own_output_is_idempotent(tmp_path: Path) -> None:
    path = tmp_path / "umkm.csv"
    # the reasons table with an `emp` column of 2 employees on every row
    lines = REASONS_CSV.splitlines()
    path.write_text("\n".join([lines[0] + ",emp"] + [ln + ",2" for ln in lines[1:]]) + "\n")
    first = read_businesses(path, weight_col="emp")
    assert first["weight"].tolist() == [2.0] * 7
    again = read_businesses(first)
    assert_geodataframe_equal(again, first)
    assert again.attrs["weight_col"] == "emp"


def test_businesses_semicolon_decimal_comma_lintang_bujur(tmp_path: Path) -> None:
    # Indonesian Excel export: ';' delimiter, decimal commas, stray spaces, a Unicode minus
    path = tmp_path / "umkm.csv"
    path.write_text(
        "nama;lintang;bujur;omzet\n"
        "Warung Bu Sri; -5,43 ;105,26 ;1.500\n"
        "Toko Maju;\u22125,1;105;2\n",
        encoding="utf-8",
    )
    b = read_businesses(path)
    assert b["lat"].tolist() == [-5.43, -5.1]
    assert b["lon"].tolist() == [105.26, 105.0]
    assert b["rejected_reason"].isna().all()
    assert b.index.tolist() == ["0", "1"]  # no id column: row numbers
    assert b["nama"].tolist() == ["Warung Bu Sri", "Toko Maju"]


def test_businesses_swapped_columns_are_an_error() -> None:
    import io

    # every latitude is beyond 90 while longitudes would be fine latitudes: columns swapped;
    # rejecting every row would be a useless "success", so this is an error with the fix
    buf = io.StringIO("lat,lon\n105.2,-5.4\n105.3,-5.5\n")
    with pytest.raises(InputError, match=r"look swapped\. Pass lon_col='lat', lat_col='lon'"):
        read_businesses(buf)
    fixed = read_businesses(io.StringIO("lat,lon\n105.2,-5.4\n"), lon_col="lat", lat_col="lon")
    assert fixed.geometry.iloc[0].equals(Point(105.2, -5.4))


def test_businesses_a_few_swapped_rows_are_rejected_with_a_hint() -> None:
    import io

    # 1 of 3 rows swapped: a row problem, not a column problem
    buf = io.StringIO("lat,lon\n-5.4,105.2\n105.3,-5.5\n-5.6,105.4\n")
    b = read_businesses(buf)
    assert b["rejected_reason"].tolist()[0] is None
    assert "look swapped" in b["rejected_reason"].iloc[1]


def test_businesses_null_island_is_rejected() -> None:
    import io

    buf = io.StringIO("lat,lon\n0,0\n-5.4,105.2\n0,105.3\n")
    b = read_businesses(buf)
    assert b["rejected_reason"].iloc[0] == (
        "coordinates are (0, 0), a placeholder for a missing location"
    )
    # only the exact pair (0, 0) is a placeholder; latitude 0 alone is a real place
    assert b["rejected_reason"].iloc[1:].isna().all()


def test_businesses_tab_txt_gzip_latin1(tmp_path: Path) -> None:
    tab = tmp_path / "umkm.txt"
    tab.write_text("Nama\tLatitude\tLongitude\nA\t-5.1\t105.1\n")
    assert read_businesses(tab)["lat"].tolist() == [-5.1]
    gz = tmp_path / "umkm.csv.gz"
    with gzip.open(gz, "wt") as fh:
        fh.write("name,lat,lng\nA,-5.2,105.2\n")
    assert read_businesses(gz)["lon"].tolist() == [105.2]
    latin = tmp_path / "latin.csv"
    latin.write_bytes("nama,lat,lon\nKopi Caf\xe9,-5.3,105.3\n".encode("latin-1"))
    b = read_businesses(latin)
    assert b["nama"].tolist() == ["Kopi Caf\xe9"] and b["lat"].tolist() == [-5.3]


def test_businesses_excel(tmp_path: Path) -> None:
    path = tmp_path / "umkm.xlsx"
    # one numeric cell and one text cell with a decimal comma, as typed by hand in Excel
    pd.DataFrame(
        {"ID_UMKM": ["007", "008"], "Lintang": [-5.43, "-5,1"], "Bujur": [105.26, 105.0]}
    ).to_excel(path, index=False)
    b = read_businesses(path)
    assert b.index.tolist() == ["007", "008"]  # detected id_umkm, leading zeros kept
    assert b["lat"].tolist() == [-5.43, -5.1]
    assert b["lon"].tolist() == [105.26, 105.0]


def test_businesses_ids_read_as_text(tmp_path: Path) -> None:
    path = tmp_path / "umkm.csv"
    path.write_text("kode,lat,lon\n007,-5,105\n18.10,-5,105\n")
    b = read_businesses(path, id_col="kode")
    assert b.index.tolist() == ["007", "18.10"]


def test_businesses_id_detection_falls_back_to_row_numbers() -> None:
    df = pd.DataFrame({"id": ["x", "x"], "lat": [-5.0, -5.1], "lon": [105.0, 105.1]})
    b = read_businesses(df)
    assert b.index.tolist() == ["0", "1"]  # `id` is not unique, so it is not used
    assert b["id"].tolist() == ["x", "x"]


def test_businesses_weights() -> None:
    df = pd.DataFrame(
        {"lat": ["-5", "-5", "-5"], "lon": ["105", "105", "105"], "karyawan": ["3", "1,5", 0]}
    )
    b = read_businesses(df, weight_col="karyawan")
    assert b["weight"].tolist() == [3.0, 1.5, 0.0]
    assert b["karyawan"].tolist() == ["3", "1,5", 0]  # the input column is kept as given
    assert b.attrs["weight_col"] == "karyawan"


def test_businesses_bad_weights_name_the_rows() -> None:
    df = pd.DataFrame(
        {"lat": [-5.0] * 4, "lon": [105.0] * 4, "w": ["2", "banyak", None, "-1"]},
        index=[10, 11, 12, 13],
    )
    with pytest.raises(
        InputError, match=r"3 rows .* \(business_id: value\) 1: 'banyak', 2: .*3: '-1'"
    ):
        read_businesses(df, weight_col="w")


def test_businesses_weight_column_without_weight_col_warns() -> None:
    df = pd.DataFrame({"lat": [-5.0], "lon": [105.0], "weight": [7.0]})
    with pytest.warns(BlankspotWarning, match="weight_col='weight'"):
        b = read_businesses(df)
    assert b["weight"].tolist() == [1.0]


def test_businesses_id_col_errors() -> None:
    df = pd.DataFrame({"no": ["a", "b", "a"], "lat": [-5.0] * 3, "lon": [105.0] * 3})
    with pytest.raises(InputError, match=r"must be unique; repeated ids: 'a'"):
        read_businesses(df, id_col="no")
    df2 = pd.DataFrame({"no": ["a", None], "lat": [-5.0] * 2, "lon": [105.0] * 2})
    with pytest.raises(InputError, match=r"empty on 1 rows \(row numbers '1'\)"):
        read_businesses(df2, id_col="no")
    with pytest.raises(InputError, match=r"id_col='nomor' is not a column.*no, lat, lon"):
        read_businesses(df, id_col="nomor")


def test_businesses_coordinate_columns_detection_errors() -> None:
    both = pd.DataFrame({"lon": [1.0], "longitude": [1.0], "lat": [1.0]})
    with pytest.raises(
        InputError, match=r"several possible longitude columns \(lon, longitude\).*lon_col="
    ):
        read_businesses(both)
    none = pd.DataFrame({"bujur": [105.0], "nama": ["a"]})
    with pytest.raises(InputError, match=r"no latitude column.*Columns: bujur, nama.*lat_col="):
        read_businesses(none)
    with pytest.raises(InputError, match=r"lat_col='lt' is not a column"):
        read_businesses(none, lon_col="bujur", lat_col="lt")
    # explicit names resolve the ambiguity
    assert read_businesses(both, lon_col="longitude", lat_col="lat")["lon"].tolist() == [1.0]


def test_businesses_projected_crs_has_no_range_check() -> None:
    df = pd.DataFrame({"x": [X0 + 1, None], "y": [Y0 + 2, Y0]})
    b = read_businesses(df, crs=CRS_UTM)
    assert b.crs.to_epsg() == 32748
    assert b.geometry.iloc[0].equals(Point(X0 + 1, Y0 + 2))
    assert b["rejected_reason"].tolist() == [None, "x is missing"]


def test_businesses_vector_points(tmp_path: Path) -> None:
    gdf = gpd.GeoDataFrame(
        {"nama": ["a", "b", "c", "d"]},
        geometry=[Point(105.1, -5.1), None, box(0, 0, 1, 1), Point(105.2, -95.0)],
        crs="EPSG:4326",
    )
    path = tmp_path / "umkm.gpkg"
    gdf.to_file(path, engine="pyogrio")
    b = read_businesses(path)
    assert b["lon"].iloc[0] == 105.1 and b["lat"].iloc[0] == -5.1
    assert b["rejected_reason"].tolist() == [
        None,
        "geometry is missing",
        "geometry is a Polygon, not a point",
        "latitude -95.0 out of range [-90, 90]",
    ]
    assert b.geometry.iloc[1:].isna().all()
    assert b.columns.tolist() == ["nama", "lon", "lat", "weight", "rejected_reason", "geometry"]


def test_businesses_vector_crs_rules(tmp_path: Path) -> None:
    path = tmp_path / "pts.shp"  # no .prj: no CRS
    with pytest.warns(UserWarning, match="'crs' was not provided"):
        gpd.GeoDataFrame({"n": [1]}, geometry=[Point(X0, Y0)]).to_file(path, engine="pyogrio")
    with pytest.raises(CRSError, match=r"pts\.shp' has no CRS"):
        read_businesses(path)
    b = read_businesses(path, crs=CRS_UTM)  # crs= may supply a missing CRS
    assert b.crs.to_epsg() == 32748 and b.geometry.iloc[0].equals(Point(X0, Y0))
    gdf = gpd.GeoDataFrame({"n": [1]}, geometry=[Point(105, -5)], crs="EPSG:4326")
    with pytest.raises(CRSError, match=r"crs=EPSG:32748 disagrees with the CRS"):
        read_businesses(gdf, crs=CRS_UTM)


def test_businesses_plain_parquet_table(tmp_path: Path) -> None:
    path = tmp_path / "umkm.parquet"
    pd.DataFrame({"lat": [-5.0], "lon": [105.0]}).to_parquet(path)
    assert read_businesses(path).geometry.iloc[0].equals(Point(105.0, -5.0))


def test_businesses_file_errors(tmp_path: Path) -> None:
    with pytest.raises(InputFileError, match=r"'.*nope\.csv' does not exist"):
        read_businesses(tmp_path / "nope.csv")
    header_only = tmp_path / "h.csv"
    header_only.write_text("lat,lon\n")
    with pytest.raises(EmptyInputError, match=r"h\.csv' has no rows"):
        read_businesses(header_only)
    zero = tmp_path / "z.csv"
    zero.write_text("")
    with pytest.raises(EmptyInputError, match=r"z\.csv' is empty"):
        read_businesses(zero)
    garbage = tmp_path / "g.shp"
    garbage.write_text("not a shapefile")
    with pytest.raises(InputFileError, match=r"g\.shp.*Supported formats: CSV"):
        read_businesses(garbage)
    with pytest.raises(EmptyInputError, match="no rows"):
        read_businesses(pd.DataFrame({"lat": [], "lon": []}))
    with pytest.raises(UnknownOptionError, match="Did you mean 'weight_col'"):
        read_businesses(pd.DataFrame({"lat": [1.0], "lon": [1.0]}), weigth_col="w")


def test_rejected_rows_needs_the_column() -> None:
    with pytest.raises(InputError, match="no 'rejected_reason' column"):
        rejected_rows(pd.DataFrame({"a": [1]}))


@pytest.mark.slow
def test_businesses_500k_rows_all_accounted(tmp_path: Path) -> None:
    n = 500_000
    rng = np.random.default_rng(0)
    df = pd.DataFrame(
        {
            "lat": np.round(rng.uniform(-6, -3.7, n), 5).astype(str),
            "lon": np.round(rng.uniform(103.5, 106.3, n), 5).astype(str),
        }
    )
    df.loc[::1000, "lat"] = "abc"  # 500 rejected rows
    b = read_businesses(df)
    assert int(b["rejected_reason"].notna().sum()) == 500


# --------------------------------------------------------------------------------------
# read_towers
# --------------------------------------------------------------------------------------

HEADER = (
    "radio,mcc,net,area,cell,unit,lon,lat,range,samples,changeable,created,updated,averageSignal"
)
TOWER_ROWS = [
    "LTE,510,10,4260,29710883,-1,104.9203,-4.4429,1000,2,1,1709382456,1712264942,0",
    "GSM,510,1,24600,36007,0,105.2,-5.4,500,5,1,1709382456,1712264942,-85",
    "UMTS,510,100,7,8,3,105.3,-5.5,0,1,0,1600000000,1600000100,0",
    "NR,510,11,9,10,-1,200.0,-5.5,2000,3,1,1600000000,1600000100,0",
    "lte,510,10,4260,29710883,-1,104.9,-4.4,1000,2,1,1709382456,1712264942,0",
    "LTE,510,28,1,2,-1,105.0,-5.0,800,4,1,1600000000,1600000100,0",
]


@pytest.fixture
def towers_csv(tmp_path: Path) -> Path:
    path = tmp_path / "510.csv"
    path.write_text("\n".join(TOWER_ROWS) + "\n")
    return path


def test_towers_without_header(towers_csv: Path, caplog) -> None:
    with caplog.at_level(logging.WARNING, logger="blankspot"):
        t = read_towers(towers_csv)
    assert t.index.name == "tower_id"
    assert t.index.tolist() == [
        "LTE-510-10-4260-29710883",
        "GSM-510-1-24600-36007",
        "UMTS-510-100-7-8",
        "NR-510-11-9-10",
        "LTE-510-10-4260-29710883_2",  # the same key again (radio upper-cased): suffixed
        "LTE-510-28-1-2",
    ]
    assert t["radio"].tolist() == ["LTE", "GSM", "UMTS", "NR", "LTE", "LTE"]
    assert t["net"].tolist() == [10, 1, 100, 11, 10, 28]
    assert t["net"].dtype == np.int64 and t["cell"].dtype == np.int64
    assert t["unit"].tolist() == [-1, 0, 3, -1, -1, -1]
    assert t["operator"].tolist()[:2] == ["Telkomsel", "Indosat Ooredoo Hutchison"]
    assert pd.isna(t["operator"].iloc[2])  # MNC 100 is not an operator
    assert t["operator"].tolist()[3:] == ["XL", "Telkomsel", "Smartfren"]
    assert "1 rows of MCC 510 have an MNC with no known operator (100)" in caplog.text
    assert t["range_m"].tolist() == [1000.0, 500.0, 0.0, 2000.0, 1000.0, 800.0]
    # averageSignal 0 means unknown
    np.testing.assert_array_equal(
        t["average_signal_dbm"], [np.nan, -85.0, np.nan, np.nan, np.nan, np.nan]
    )
    assert t["updated"].iloc[0] == pd.Timestamp(datetime.fromtimestamp(1712264942, tz=UTC))
    assert t["created"].iloc[2] == pd.Timestamp(datetime.fromtimestamp(1600000000, tz=UTC))
    assert str(t["updated"].dt.tz) == "UTC"
    assert t.crs.to_epsg() == 4326
    # the NR row has longitude 200: kept, rejected, no geometry
    assert t["rejected_reason"].tolist()[3] == "longitude 200.0 out of range [-180, 180]"
    assert t["rejected_reason"].isna().sum() == 5
    assert t.geometry.iloc[3] is None
    assert t.geometry.iloc[0].equals(Point(104.9203, -4.4429))
    assert rejected_rows(t).index.tolist() == ["NR-510-11-9-10"]


def test_towers_other_mcc_has_no_operator() -> None:
    import io

    # MNC 10 is Telkomsel only in Indonesia (MCC 510); MCC 502 is Malaysia
    t = read_towers(io.StringIO("GSM,502,10,1,1,0,101.7,3.1,0,1,1,0,0,0\n"))
    assert pd.isna(t["operator"].iloc[0])
    assert t["created"].iloc[0] == pd.Timestamp("1970-01-01", tz="UTC")


def test_towers_with_header_and_gzip_give_the_same_table(towers_csv: Path, tmp_path: Path) -> None:
    expected = read_towers(towers_csv)
    with_header = tmp_path / "h.csv"
    with_header.write_text(HEADER + "\n" + "\n".join(TOWER_ROWS) + "\n")
    gz = tmp_path / "510.csv.gz"
    with gzip.open(gz, "wt") as fh:
        fh.write("\n".join(TOWER_ROWS) + "\n")
    for other in (with_header, gz):
        assert_geodataframe_equal(read_towers(other), expected)


def test_towers_filters(towers_csv: Path) -> None:
    lte = read_towers(towers_csv, radios=["lte", "NR"])
    assert lte["radio"].tolist() == ["LTE", "NR", "LTE", "LTE"]
    # ids are made before filtering, so they do not depend on the filter
    assert "LTE-510-10-4260-29710883_2" in lte.index
    ioh = read_towers(towers_csv, operators=["indosat ooredoo hutchison", 11])
    assert ioh.index.tolist() == ["GSM-510-1-24600-36007", "NR-510-11-9-10"]
    smart = read_towers(towers_csv, operators="Smartfren")
    assert smart.index.tolist() == ["LTE-510-28-1-2"]


def test_towers_filter_errors(towers_csv: Path) -> None:
    with pytest.raises(InputError, match=r"Unknown radio type\(s\) in radios=: '5G'.*GSM, UMTS"):
        read_towers(towers_csv, radios=["LTE", "5G"])
    with pytest.raises(InputError, match=r"Unknown operator 'Tri'.*Telkomsel"):
        read_towers(towers_csv, operators=["Tri"])
    with pytest.raises(InputError, match=r"MNC 1000 .* not a number between 0 and 999"):
        read_towers(towers_csv, operators=[1000])
    with pytest.raises(EmptyInputError, match=r"No tower .* matches radios=\['CDMA'\]"):
        read_towers(towers_csv, radios=["CDMA"])
    with pytest.raises(UnknownOptionError, match="Did you mean 'radios'"):
        read_towers(towers_csv, radio=["LTE"])


def test_towers_file_errors(tmp_path: Path) -> None:
    with pytest.raises(InputFileError, match=r"nope\.csv' does not exist"):
        read_towers(tmp_path / "nope.csv")
    empty = tmp_path / "e.csv"
    empty.write_text("")
    with pytest.raises(EmptyInputError, match=r"e\.csv' is empty"):
        read_towers(empty)
    header_only = tmp_path / "h.csv"
    header_only.write_text(HEADER + "\n")
    with pytest.raises(EmptyInputError, match=r"h\.csv' has no rows"):
        read_towers(header_only)
    other = tmp_path / "o.csv"
    other.write_text("name,lat,lon\nA,1,2\n")
    with pytest.raises(InputFileError, match=r"does not look like an OpenCelliD export.*'name'"):
        read_towers(other)
    short = tmp_path / "s.csv"
    short.write_text("LTE,510,10,1,2,-1,105,-5\n")
    with pytest.raises(InputFileError, match=r"has 8 fields on its first line"):
        read_towers(short)
    lacking = tmp_path / "l.csv"
    lacking.write_text("radio,mcc,net,lon,lat\nLTE,510,10,105,-5\n")
    with pytest.raises(InputFileError, match=r"lacks the column\(s\) area, cell"):
        read_towers(lacking)
    badcell = tmp_path / "b.csv"
    badcell.write_text(TOWER_ROWS[0] + "\n" + TOWER_ROWS[1].replace("36007", "x7") + "\n")
    with pytest.raises(InputError, match=r"'cell' is not an integer on 1 lines \('2'\)"):
        read_towers(badcell)
    xlsx = tmp_path / "t.xlsx"
    xlsx.write_bytes(b"PK")
    with pytest.raises(InputFileError, match=r"should be an OpenCelliD export \(\.csv"):
        read_towers(xlsx)


# --------------------------------------------------------------------------------------
# real data (../shared/data)
# --------------------------------------------------------------------------------------


@pytest.mark.realdata
def test_real_lampung_villages(shared_data: Path) -> None:
    v = read_villages(shared_data / "lampung_boundaries" / "wilayah_boundaries_kel_18.*.geojson")
    assert len(v) == 2640  # README: 2,640 desa/kelurahan with polygons
    assert pd.api.types.is_string_dtype(v.index.dtype)
    assert v.index.str.fullmatch(r"18\.\d\d\.\d\d\.\d{4}").all()
    assert v.index.is_unique
    assert v.index.str.startswith("18.10.").any()  # Pringsewu's codes kept their zero
    assert (v["kabupaten_code"] == "18.71").sum() == 126  # README: 126 kelurahan in 18.71
    assert shapely.is_valid(v.geometry.array).all()


@pytest.mark.realdata
def test_real_lampung_kabupaten_codes_rebuilt(shared_data: Path) -> None:
    with pytest.warns(BlankspotWarning, match="stored as numbers"):
        k = read_villages(shared_data / "lampung_boundaries" / "wilayah_boundaries_kab_18.geojson")
    assert len(k) == 15
    assert "18.10" in k.index and "18.1" not in k.index


@pytest.mark.realdata
def test_real_opencellid(shared_data: Path) -> None:
    full = read_towers(shared_data / "opencellid" / "510.csv")
    assert len(full) == 25_384
    # README: the invalid MNC 100 is on 190 rows; they are kept, with no operator
    assert (full["net"] == 100).sum() == 190
    assert full.loc[full["net"] == 100, "operator"].isna().all()
    subset = read_towers(shared_data / "opencellid" / "510_lampung_subset.csv")
    assert len(subset) == 60
    assert subset.index.isin(full.index).all()
    assert_geodataframe_equal(subset, full.loc[subset.index])


def test_businesses_all_rejected_is_an_error_with_a_crs_hint() -> None:
    import io

    # UTM metres read as degrees: every row out of range
    buf = io.StringIO("x,y\n527000,9409000\n528000,9410000\n")
    with pytest.raises(EmptyInputError, match="look like projected metres"):
        read_businesses(buf)


# --- number formats, encodings and CSV shapes (issue 7) ---------------------------------------


def test_businesses_weights_thousands_dot_in_a_decimal_comma_column(tmp_path: Path) -> None:
    # ';' file with decimal commas: '1.500' is one thousand five hundred, '2,5' two and a half
    path = tmp_path / "umkm.csv"
    path.write_text(
        "nama;lat;lon;karyawan\nA;-5,43;105,26;1.500\nB;-5,44;105,27;2,5\nC;-5,45;105,28;12\n",
        encoding="utf-8",
    )
    b = read_businesses(path, weight_col="karyawan")
    assert b["weight"].tolist() == [1500.0, 2.5, 12.0]


def test_businesses_weights_thousands_comma_in_a_decimal_point_column() -> None:
    df = pd.DataFrame(
        {"lat": ["-5.4", "-5.5", "-5.6"], "lon": ["105.2"] * 3, "w": ["1,000", "2,500.5", "3"]}
    )
    assert read_businesses(df, weight_col="w")["weight"].tolist() == [1000.0, 2500.5, 3.0]


@pytest.mark.parametrize("weights", [["1,000", "2"], ["1.500", "12"]])
def test_businesses_ambiguous_weight_column_is_an_error(weights) -> None:
    df = pd.DataFrame({"lat": ["-5.4", "-5.5"], "lon": ["105.2", "105.3"], "w": weights})
    with pytest.raises(
        InputError, match=rf"weight_col='w'.*read two ways: row 0 \('{weights[0]}'\)"
    ):
        read_businesses(df, weight_col="w")


def test_businesses_weight_column_mixing_formats_is_an_error() -> None:
    df = pd.DataFrame({"lat": ["-5.4"] * 3, "lon": ["105.2"] * 3, "w": ["1,25", "2.75", "3"]})
    with pytest.raises(InputError, match=r"mixes two number formats.*row 1 \('2.75'\).*row 0"):
        read_businesses(df, weight_col="w")


def test_businesses_one_bad_byte_keeps_utf8_and_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "umkm.csv"
    body = "nama,lat,lon\nKopi Café,-5.3,105.3\nToko Ñusa,-5.4,105.4\n".encode()
    path.write_bytes(body + b"Warung \xff,-5.5,105.5\n")  # line 4 has one stray byte
    with pytest.warns(BlankspotWarning, match=r"not valid UTF-8 on line 4.*replaced"):
        b = read_businesses(path)
    assert b["nama"].tolist()[:2] == ["Kopi Café", "Toko Ñusa"]  # not 'CafÃ©'
    assert b["nama"].iloc[2] == "Warung \ufffd"


def test_businesses_decimal_commas_in_a_comma_csv_are_explained(tmp_path: Path) -> None:
    path = tmp_path / "umkm.csv"
    path.write_text("lat,lon\n-5,43,105,26\n-5,44,105,27\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"decimal commas.*','-delimited.*line 2.*-5,43,105,26"):
        read_businesses(path)


@pytest.mark.parametrize(
    ("lon", "lat"), [("180", "-5"), ("-180", "-5"), ("105", "90"), ("105", "-90")]
)
def test_businesses_coordinates_on_the_range_limit_are_kept(lon, lat) -> None:
    b = read_businesses(pd.DataFrame({"lon": [lon], "lat": [lat]}))
    assert b["rejected_reason"].tolist() == [None]
    assert (b["lon"].iloc[0], b["lat"].iloc[0]) == (float(lon), float(lat))


def test_truncated_gzip_csv_is_an_input_file_error(tmp_path: Path) -> None:
    rows = "".join(f"Toko {i},-5.{i:04d},105.{i:04d}\n" for i in range(5000))
    whole = gzip.compress(("nama,lat,lon\n" + rows).encode())
    path = tmp_path / "umkm.csv.gz"
    path.write_bytes(whole[: len(whole) // 2])
    with pytest.raises(InputFileError, match=r"umkm\.csv\.gz' is truncated or damaged.*gzip -t"):
        read_businesses(path)


def test_truncated_excel_is_an_input_file_error(tmp_path: Path) -> None:
    good = tmp_path / "good.xlsx"
    pd.DataFrame({"lat": [-5.4] * 50, "lon": [105.2] * 50}).to_excel(good, index=False)
    path = tmp_path / "umkm.xlsx"
    path.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    with pytest.raises(InputFileError, match=r"umkm\.xlsx' as Excel \(truncated, damaged"):
        read_businesses(path)


def test_a_folder_as_businesses_is_an_input_file_error(tmp_path: Path) -> None:
    with pytest.raises(InputFileError, match=r"is a folder, not a file"):
        read_businesses(tmp_path)


@pytest.mark.parametrize("source", [5, 5.0, None, {"a": 1}])
def test_read_villages_of_a_non_path_is_an_input_error(source) -> None:
    with pytest.raises(InputError, match=r"villages source should be a path, a glob pattern"):
        read_villages(source)


def test_utf16_csv_from_excel_is_read(tmp_path: Path) -> None:
    path = tmp_path / "umkm.txt"
    path.write_bytes("nama\tlat\tlon\nKopi Café\t-5.3\t105.3\n".encode("utf-16"))
    b = read_businesses(path)
    assert b["nama"].tolist() == ["Kopi Café"] and b["lat"].tolist() == [-5.3]


def test_truncated_gzip_towers_is_an_input_file_error(tmp_path: Path) -> None:
    rows = "".join(f"LTE,510,10,{i},{i},0,105.2,-5.4,1000,1,1,1,1,0\n" for i in range(5000))
    whole = gzip.compress(rows.encode())
    path = tmp_path / "510.csv.gz"
    path.write_bytes(whole[: len(whole) // 2])
    with pytest.raises(InputFileError, match=r"510\.csv\.gz' as CSV.*truncated or damaged"):
        read_towers(path)
