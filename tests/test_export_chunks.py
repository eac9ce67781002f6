"""The businesses layer is written in chunks of ``CHUNK_ROWS`` rows: the same files as whole.

Three 1 km villages in UTM 48S, the west one inside a coverage polygon; six businesses
assessed in memory and compact (``assess(compact=True)``), exported with ``CHUNK_ROWS`` set to
1, 2, 4 (6 rows: chunks that divide them and one that does not) and compared with the export
in one chunk. By hand:

* a (X0+200), b (X0+800): covered in Satu; c (X0+2300), d (X0+2600): uncovered in Tiga;
* e (latitude ``abc``), f (no longitude): rejected, no point, so with 2 rows a chunk the last
  chunk has no geometry at all and with 4 the first has no rejection reason (a text column of
  nothing but nulls);
* ``catatan`` is 300 ASCII characters for a and f (cut to 254 in the shapefile, in two
  chunks), a short note elsewhere; ``omzet`` is whole for a..d and 12345.678 for e, -7.5 for d.
"""

from __future__ import annotations

import dataclasses
import importlib
import itertools
import logging
import sqlite3
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import geopandas as gpd
import pyogrio
from geopandas.testing import assert_geodataframe_equal

from blankspot import assess, export, read_businesses
from blankspot._batches import read_businesses_batches
from blankspot._dbf import utf8_lengths, write_dbf, write_dbf_chunks
from tests.common import CRS_UTM, X0, Y0, three_villages
from tests.test_deliverables import dbf_fields

export_mod = importlib.import_module("blankspot.export")

UTM = CRS_UTM
IDS = list("abcdef")
LONG = "x" * 300
NOTES = [LONG, "dekat pasar", "-", "Ñ", "tutup", LONG]
OMZET = [1_000_000.0, 2_000_000.0, 3_000_000.0, -7.5, 12345.678, 5.0]


@pytest.fixture(scope="module")
def assessments() -> dict[str, object]:
    villages, cov = three_villages()
    x = X0 + np.array([200.0, 800.0, 2300.0, 2600.0, 0.0, 0.0])
    pts = gpd.GeoSeries(gpd.points_from_xy(x, np.full(6, Y0 + 500)), crs=UTM).to_crs(4326)
    lon = [f"{v:.9f}" for v in pts.x]
    lat = [f"{v:.9f}" for v in pts.y]
    lat[4], lon[5] = "abc", ""
    frame = pd.DataFrame(
        {"id": IDS, "lon": lon, "lat": lat, "catatan": NOTES, "omzet": OMZET, "kelas": ["m"] * 6}
    )
    return {
        "in memory": assess(villages, read_businesses(frame, id_col="id"), cov),
        "compact": assess(villages, read_businesses_batches(frame, id_col="id"), cov, compact=True),
    }


def _export(a, out: Path, chunk_rows: int, monkeypatch, **kw) -> Path:
    monkeypatch.setattr(export_mod, "CHUNK_ROWS", chunk_rows)
    export(a, out, formats=("gpkg", "shp"), **kw)
    return out


def _sqlite(path: Path, sql: str) -> list[tuple]:
    con = sqlite3.connect(path)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def _assert_same(got: gpd.GeoDataFrame, want: gpd.GeoDataFrame) -> None:
    """Same rows in the same order: geometries exactly, attributes exactly, same dtypes."""
    assert_geodataframe_equal(got, want)
    pd.testing.assert_frame_equal(
        pd.DataFrame(got.drop(columns="geometry")),
        pd.DataFrame(want.drop(columns="geometry")),
        check_exact=True,
    )


def _without_date(dbf: bytes) -> bytes:
    return dbf[:1] + dbf[4:]  # bytes 1-3: the day the file was written


@pytest.mark.parametrize("kind", ["in memory", "compact"])
@pytest.mark.parametrize("chunk_rows", [1, 2, 4])
def test_chunked_export_equals_the_export_in_one_chunk(
    assessments, kind, chunk_rows, tmp_path, monkeypatch
):
    a = assessments[kind]
    lang = "id" if chunk_rows == 2 else "en"  # Indonesian aliases and styles, once
    one = _export(a, tmp_path / "one", 10**6, monkeypatch, lang=lang)
    many = _export(a, tmp_path / "many", chunk_rows, monkeypatch, lang=lang)
    gpkg_one, gpkg_many = one / "blankspot.gpkg", many / "blankspot.gpkg"
    for layer in ("villages", "businesses", "blank_spots"):
        want = pyogrio.read_dataframe(gpkg_one, layer=layer)
        got = pyogrio.read_dataframe(gpkg_many, layer=layer)
        _assert_same(got, want)
        info_one = pyogrio.read_info(gpkg_one, layer=layer)
        info_many = pyogrio.read_info(gpkg_many, layer=layer)
        for key in ("fields", "ogr_types", "ogr_subtypes", "geometry_type", "crs", "features"):
            assert np.array_equal(info_many[key], info_one[key]), (layer, key)
        assert info_many["layer_metadata"] == info_one["layer_metadata"]  # title, description
        # the shapefile: geometry bytes for bytes, the .dbf but for its date
        for ext in (".shp", ".shx", ".prj", ".cpg"):
            assert (many / "shp" / f"{layer}{ext}").read_bytes() == (
                one / "shp" / f"{layer}{ext}"
            ).read_bytes(), (layer, ext)
        assert _without_date((many / "shp" / f"{layer}.dbf").read_bytes()) == _without_date(
            (one / "shp" / f"{layer}.dbf").read_bytes()
        )
        _assert_same(
            pyogrio.read_dataframe(many / "shp" / f"{layer}.shp"),
            pyogrio.read_dataframe(one / "shp" / f"{layer}.shp"),
        )
    # the GeoPackage's own tables: styles, column descriptions, spatial index
    for sql in (
        "SELECT f_table_name, styleName, styleQML, styleSLD, description FROM layer_styles",
        "SELECT * FROM gpkg_data_columns ORDER BY table_name, column_name",
        "SELECT table_name, identifier, description, min_x, min_y, max_x, max_y, srs_id "
        "FROM gpkg_contents ORDER BY table_name",
        "SELECT * FROM gpkg_extensions ORDER BY table_name, extension_name",
        "SELECT * FROM rtree_businesses_geom ORDER BY id",
    ):
        assert _sqlite(gpkg_many, sql) == _sqlite(gpkg_one, sql), sql


@pytest.mark.parametrize("kind", ["in memory", "compact"])
def test_chunked_business_layer_by_hand(assessments, kind, tmp_path, monkeypatch, caplog):
    out = tmp_path / "out"
    with caplog.at_level(logging.WARNING, logger="blankspot"):
        _export(assessments[kind], out, 2, monkeypatch)
    biz = pyogrio.read_dataframe(out / "blankspot.gpkg", layer="businesses")
    assert biz["business_id"].tolist() == IDS
    assert biz["status"].tolist() == ["covered"] * 2 + ["uncovered"] * 2 + ["rejected"] * 2
    np.testing.assert_allclose(biz.geometry.x[:4], X0 + np.array([200, 800, 2300, 2600]))
    assert biz.geometry.isna().tolist() == [False] * 4 + [True] * 2
    assert biz["rejected_reason"].isna().tolist() == [True] * 4 + [False] * 2
    assert biz["catatan"].tolist() == NOTES  # the GeoPackage keeps the long text whole
    assert biz["omzet"].tolist() == OMZET
    info = pyogrio.read_info(out / "blankspot.gpkg", layer="businesses")
    types = dict(zip(info["fields"], info["ogr_types"], strict=True))
    assert types["status"] == types["rejected_reason"] == types["catatan"] == "OFTString"
    assert types["omzet"] == "OFTReal"
    assert (
        int(_sqlite(out / "blankspot.gpkg", "SELECT count(*) FROM rtree_businesses_geom")[0][0])
        == 4
    )
    # the shapefile: 2 values of catatan cut, in two chunks, said once
    shp = pyogrio.read_dataframe(out / "shp" / "businesses.shp")
    assert shp["catatan"].tolist() == ["x" * 254, *NOTES[1:5], "x" * 254]
    cut = [r for r in caplog.records if "dBASE limit" in r.getMessage()]
    assert len(cut) == 1 and "2 value(s) of column 'catatan'" in cut[0].getMessage()
    n, _, fields = dbf_fields(out / "shp" / "businesses.dbf")
    assert n == 6
    # widths by hand: ids 1 byte; omzet needs 3 decimals (12345.678, row e), its largest
    # value 3,000,000 (row c) then prints as "3000000.000", 11 characters, in another chunk
    # than the decimals; catatan cut to 254 bytes
    assert fields["bus_id"] == ("C", 1, 0)
    assert fields["omzet"] == ("N", 11, 3)
    assert fields["catatan"] == ("C", 254, 0)


def test_empty_business_layer_in_chunks(assessments, tmp_path, monkeypatch):
    for kind, a in assessments.items():
        empty = dataclasses.replace(a, businesses=a.businesses.iloc[:0])
        one = _export(empty, tmp_path / kind / "one", 10**6, monkeypatch)
        many = _export(empty, tmp_path / kind / "many", 2, monkeypatch)
        for out in (one, many):
            info = pyogrio.read_info(out / "blankspot.gpkg", layer="businesses")
            assert info["features"] == 0
            assert info["geometry_type"] == "Point"
            assert pyogrio.read_info(out / "shp" / "businesses.shp")["features"] == 0
        want = pyogrio.read_info(one / "blankspot.gpkg", layer="businesses")
        got = pyogrio.read_info(many / "blankspot.gpkg", layer="businesses")
        assert got["fields"].tolist() == want["fields"].tolist()
        assert got["ogr_types"] == want["ogr_types"]
        assert "status" in got["fields"].tolist()
        assert _without_date((many / "shp" / "businesses.dbf").read_bytes()) == _without_date(
            (one / "shp" / "businesses.dbf").read_bytes()
        )


@pytest.mark.parametrize("kind", ["in memory", "compact"])
def test_no_step_holds_more_than_one_chunk(assessments, kind, tmp_path, monkeypatch):
    sizes: dict[str, list[int]] = {"points": [], "arrow": [], "dbf": []}
    real_points, real_arrow = export_mod._compact_as_points, export_mod._arrow_chunk
    real_dbf = export_mod.write_dbf_chunks

    def points(table, crs):
        sizes["points"].append(len(table))
        return real_points(table, crs)

    def arrow(gdf, **kw):
        sizes["arrow"].append(len(gdf))
        return real_arrow(gdf, **kw)

    def dbf(path, chunks):
        def counted():
            for t in chunks():
                sizes["dbf"].append(len(t))
                yield t

        real_dbf(path, counted)

    monkeypatch.setattr(export_mod, "_compact_as_points", points)
    monkeypatch.setattr(export_mod, "_arrow_chunk", arrow)
    monkeypatch.setattr(export_mod, "write_dbf_chunks", dbf)
    _export(assessments[kind], tmp_path, 4, monkeypatch)
    assert max(sizes["arrow"]) == 4 and max(sizes["dbf"]) == 4
    # the businesses layer (6 rows) goes as 4 then 2: to the GeoPackage, to the .shp and
    # twice to the .dbf (sized, then written); villages (3 rows) and blank spots in one chunk
    pairs = {k: list(itertools.pairwise(v)) for k, v in sizes.items()}
    assert pairs["arrow"].count((4, 2)) == 2 and pairs["dbf"].count((4, 2)) == 2
    if kind == "compact":
        assert sizes["points"] and max(sizes["points"]) <= 4
    else:
        assert sizes["points"] == []


def _dbf_spec_by_formatting(values: np.ndarray) -> tuple[int, int]:
    """(width, decimals) of a real field, by printing every value (the rule, brute force)."""
    v = values[np.isfinite(values)]
    dec = next((d for d in range(16) if np.array_equal(np.round(v, d), v)), 15)
    while True:
        width = max((len(f"%.{dec}f" % x) for x in v), default=1)
        if width <= 24 or dec == 0:
            return min(width, 24), dec
        dec -= 1


@pytest.mark.parametrize("seed", range(6))
def test_streamed_dbf_sizes_numbers_as_printing_them_all_does(seed, tmp_path):
    rng = np.random.default_rng(seed)
    n = 40
    values = np.round(rng.normal(0, 10.0 ** rng.integers(0, 20), n), rng.integers(0, 8))
    values[rng.random(n) < 0.2] = np.nan
    values[rng.integers(n)] = -0.0
    if seed % 2:
        values[rng.integers(n)] = -(10.0 ** rng.integers(15, 22)) / 3  # needs fewer decimals
    table = pd.DataFrame({"v": values, "t": [f"{x}" * (i % 3) for i, x in enumerate(values)]})
    parts = [table.iloc[i : i + 7] for i in range(0, n, 7)]
    write_dbf_chunks(tmp_path / "c.dbf", lambda: iter(parts))
    write_dbf(tmp_path / "w.dbf", table)
    assert (tmp_path / "c.dbf").read_bytes() == (tmp_path / "w.dbf").read_bytes()
    _, _, fields = dbf_fields(tmp_path / "c.dbf")
    width, dec = _dbf_spec_by_formatting(values)
    assert fields["v"] == ("N", width, dec)
    assert fields["t"] == ("C", max(len(str(x)) * (i % 3) for i, x in enumerate(values)), 0)
    back = pyogrio.read_dataframe(tmp_path / "c.dbf", read_geometry=False)
    want = np.array([float(f"%.{dec}f" % x) if np.isfinite(x) else np.nan for x in values])
    if width < 24:  # numbers that fit are read back exactly as printed
        np.testing.assert_array_equal(back["v"].to_numpy(dtype=float), want)


def test_repeated_input_columns_found_over_every_chunk(assessments, tmp_path, monkeypatch):
    a = assessments["in memory"]
    biz = a.businesses.copy()
    ids = biz.index.astype(str).tolist()
    biz["id_umkm"] = ids  # repeats business_id in every row: left out
    biz["kode"] = [*ids[:5], "zzz"]  # not in the last chunk (rows 4-5): kept
    lon_text = [f"{v:.9f}" if np.isfinite(v) else "abc" for v in biz["lon"]]
    biz["longitude"] = lon_text  # repeats every parsed lon (rejected rows have none): left out
    lat_text = [f"{v:.9f}" if np.isfinite(v) else "" for v in biz["lat"]]
    lat_text[3] = "1.0"  # row d, in the second chunk, differs: kept
    biz["latitude"] = lat_text
    a = dataclasses.replace(a, businesses=biz)
    _export(a, tmp_path, 2, monkeypatch)
    cols = pyogrio.read_info(tmp_path / "blankspot.gpkg", layer="businesses")["fields"].tolist()
    assert "id_umkm" not in cols and "longitude" not in cols
    assert {"kode", "latitude", "business_id", "lon", "lat"} <= set(cols)


def test_utf8_lengths_by_hand():
    # "Ā" is 2 bytes in UTF-8, "村" 3: bytes, not characters, fill a dBASE field
    for dtype in ("str", object):
        s = pd.Series(["ab", None, "Ā", "村x"], dtype=dtype)
        assert utf8_lengths(s).tolist() == [2, 0, 2, 4]
    assert utf8_lengths(pd.Series([15, "Ñ", None], dtype=object)).tolist() == [2, 2, 0]
    assert utf8_lengths(pd.Series([], dtype="str")).tolist() == []
