"""Deliverables officials and GIS analysts use as they are (issue 13).

GeoPackage metadata read back with sqlite3 (not GDAL), the shapefile's ``.dbf`` header read
byte by byte, Excel fonts and formats with openpyxl, and every ``lang="id"`` output searched
for English values from a known list. The plan is the hand-built one of ``test_export``.
"""

from __future__ import annotations

import dataclasses
import sqlite3
import struct
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest

import pyogrio

from blankspot import _i18n
from blankspot._dbf import write_dbf
from blankspot.export import export
from tests.test_export import make_assessment, make_plan

LAYERS = ("villages", "businesses", "blank_spots", "sites")

#: English values an official must not meet in a lang="id" output
ENGLISH_VALUES = (
    "greedy",
    "exact",
    "covered:",
    "HiGHS stopped",
    "Time limit reached",
    "proven optimal",
    "of the best",
    "exceeds the",
    "candidate sites",
    "yes",
    "no candidate",
    "towers",
    "coverage polygons",
)


@pytest.fixture(scope="module")
def out_en(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("deliv") / "en"
    export(make_plan(), out)
    return out


@pytest.fixture(scope="module")
def out_id(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("deliv") / "id"
    plan = make_plan()
    plan = dataclasses.replace(
        plan,
        message="HiGHS stopped (Time limit reached) before proving the optimum: the plan is "
        "within 1.23% of the best possible; k=30 exceeds the 12 candidate sites: ranking all "
        "useful sites instead",
        gap=0.0123,
        upper_bound=2.5,
        sites=plan.sites.assign(backhaul_to=["covered:18.71.01.1001", "S-001"]),
    )
    export(plan, out, lang="id")
    return out


def query(path: Path, sql: str, *args: object) -> list[tuple]:
    con = sqlite3.connect(path)
    try:
        return con.execute(sql, args).fetchall()
    finally:
        con.close()


# ----------------------------------------------------------------------------- GeoPackage


def test_every_layer_has_a_title_and_description(out_en, out_id):
    gpkg = out_en / "blankspot.gpkg"
    rows = {
        t: (i, d)
        for t, i, d in query(gpkg, "SELECT table_name, identifier, description FROM gpkg_contents")
    }
    for layer in LAYERS:
        ident, desc = rows[layer]
        assert ident and ident != layer
        assert len(desc) > 40
    assert "rank 1" in rows["villages"][1]
    # Bahasa Indonesia first, then English, for an analyst reading either
    rows_id = dict(
        query(out_id / "blankspot.gpkg", "SELECT table_name, description FROM gpkg_contents")
    )
    assert rows_id["sites"].startswith("Lokasi menara")
    assert " / Tower sites" in rows_id["sites"]


def test_every_column_is_described_in_gpkg_data_columns(out_en, out_id):
    for out in (out_en, out_id):
        gpkg = out / "blankspot.gpkg"
        described = {
            (t, c): d
            for t, c, d in query(
                gpkg, "SELECT table_name, column_name, description FROM gpkg_data_columns"
            )
        }
        for layer in LAYERS:
            cols = [
                r[1]
                for r in query(gpkg, f'PRAGMA table_info("{layer}")')
                if r[1] not in ("fid", "geom")
            ]
            assert cols
            for col in cols:
                assert described.get((layer, col)), f"{layer}.{col} has no description"
        # the schema extension that defines gpkg_data_columns is declared once per table
        ext = query(
            gpkg,
            "SELECT table_name FROM gpkg_extensions WHERE extension_name = 'gpkg_schema' "
            "ORDER BY table_name",
        )
        assert ext == [("gpkg_data_column_constraints",), ("gpkg_data_columns",)]
    backhaul_en = query(
        out_en / "blankspot.gpkg",
        "SELECT description FROM gpkg_data_columns WHERE table_name='sites' "
        "AND column_name='backhaul_to'",
    )[0][0]
    assert "'covered:<id>'" in backhaul_en
    # lang="id": Indonesian alias (QGIS shows it as the field alias) and both languages
    name, desc = query(
        out_id / "blankspot.gpkg",
        "SELECT name, description FROM gpkg_data_columns WHERE table_name='sites' "
        "AND column_name='new_businesses'",
    )[0]
    assert name == "UMKM baru terlayani"
    assert desc.startswith("UMKM tanpa sinyal") and " / Businesses without signal" in desc
    # an input column blankspot does not know is still described
    other = query(
        out_en / "blankspot.gpkg",
        "SELECT description FROM gpkg_data_columns WHERE column_name='nama_usaha'",
    )
    assert other == [("Column of the input, copied as is.",)]


def test_layer_styles_table_has_the_layout_qgis_reads(out_en):
    gpkg = out_en / "blankspot.gpkg"
    cols = [r[1] for r in query(gpkg, 'PRAGMA table_info("layer_styles")')]
    for col in ("id", "f_table_catalog", "f_table_schema", "f_table_name", "f_geometry_column",
                "styleName", "styleQML", "styleSLD", "useAsDefault", "description", "owner",
                "ui", "update_time"):  # fmt: skip
        assert col in cols
    # registered as an attributes table, as QGIS registers the table it creates
    assert query(gpkg, "SELECT data_type FROM gpkg_contents WHERE table_name = 'layer_styles'") == [
        ("attributes",)
    ]
    rows = query(
        gpkg,
        "SELECT f_table_name, f_geometry_column, useAsDefault, styleQML, styleSLD "
        "FROM layer_styles ORDER BY f_table_name",
    )
    assert [r[0] for r in rows] == sorted(LAYERS)
    geom_col = query(gpkg, "SELECT column_name FROM gpkg_geometry_columns LIMIT 1")[0][0]
    for _table, gcol, default, qml, sld in rows:
        assert gcol == geom_col
        assert default == 1
        ET.fromstring(qml.split("\n", 1)[1])  # after the DOCTYPE line: well-formed XML
        ET.fromstring(sld.split("\n", 1)[1])
    styles = {r[0]: ET.fromstring(r[3].split("\n", 1)[1]) for r in rows}
    # villages shaded by businesses without signal: n_uncovered is 0, 1, 1, 0, so one class
    # for 0 and one up to 1
    rend = styles["villages"].find("renderer-v2")
    assert rend.get("type") == "graduatedSymbol"
    assert rend.get("attr") == "n_uncovered"
    ranges = [(float(r.get("lower")), float(r.get("upper"))) for r in rend.iter("range")]
    assert ranges == [(0.0, 0.0), (0.0, 1.0)]
    # blank spots by the businesses inside them (1, 1, 0)
    rend = styles["blank_spots"].find("renderer-v2")
    assert (rend.get("type"), rend.get("attr")) == ("graduatedSymbol", "n_businesses")
    # sites: one symbol, labelled with the rank
    sites = styles["sites"]
    assert sites.get("labelsEnabled") == "1"
    assert sites.find("labeling/settings/text-style").get("fieldName") == "rank"
    assert styles["businesses"].find("renderer-v2").get("attr") == "status"


def test_geopackage_still_opens_in_gdal_with_every_row(out_en):
    gpkg = out_en / "blankspot.gpkg"
    assert pyogrio.read_info(gpkg, layer="sites")["features"] == 2
    assert pyogrio.read_info(gpkg, layer="layer_styles")["features"] == 4
    # a missing text value stays missing (not the text "None")
    biz = pyogrio.read_dataframe(gpkg, layer="businesses")
    assert biz["rejected_reason"].isna().sum() == 4


# ----------------------------------------------------------------------------- shapefiles


def dbf_fields(path: Path) -> tuple[int, int, dict[str, tuple[str, int, int]]]:
    """(records, record length, {name: (type, width, decimals)}) from the dBASE header."""
    head = path.read_bytes()[:4096]
    n, header_len, rec_len = struct.unpack("<IHH", head[4:12])
    fields = {}
    for i in range((header_len - 33) // 32):
        d = head[32 + 32 * i : 64 + 32 * i]
        fields[d[:11].rstrip(b"\0").decode()] = (chr(d[11]), d[16], d[17])
    return n, rec_len, fields


def test_dbf_fields_are_as_narrow_as_the_data(out_en):
    n, rec_len, fields = dbf_fields(out_en / "shp" / "businesses.dbf")
    assert n == 5
    # widths by hand: "b0".."b4" = 2 bytes; "Warung Bu Ñoño" = 16 bytes in UTF-8 (Ñ, ñ are 2);
    # weight 1.0 -> "1"; covered True/False -> 0/1; the reason is 31 characters
    assert fields["bus_id"] == ("C", 2, 0)
    assert fields["nama_usaha"] == ("C", len("Warung Bu Ñoño".encode()), 0)
    assert fields["weight"] == ("N", 1, 0)
    assert fields["covered"] == ("N", 1, 0)
    assert fields["rej_reason"] == ("C", len("latitude is not a number: 'abc'"), 0)
    assert fields["status"] == ("C", len("outside_villages"), 0)
    assert rec_len == 1 + sum(w for _, w, _ in fields.values())
    _, _, sites = dbf_fields(out_en / "shp" / "sites.dbf")
    # backhaul 100.0 and hypot(8.5, 3.5) = 9.192388155425117: 15 decimals keep it exactly
    assert sites["backhaul_m"][0] == "N" and sites["backhaul_m"][2] == 15
    assert sites["cost_idr"] == ("N", len("2600000000"), 0)


def test_dbf_reads_back_with_gdal(out_en):
    biz = pyogrio.read_dataframe(out_en / "shp" / "businesses.shp")
    assert biz["nama_usaha"].tolist() == [
        "Warung Bu Ñoño", "Toko Āisyah", "Bengkel", "Kios", "Rusak"
    ]  # fmt: skip
    assert biz["covered"].tolist() == [1, 0, 0, 0, 0]
    assert biz["lon"].isna().all()  # nulls written as '*' read back as null
    sites = pyogrio.read_dataframe(out_en / "shp" / "sites.shp")
    np.testing.assert_array_equal(sites["backhaul_m"], [100.0, np.hypot(8.5, 3.5)])
    assert sites["cost_idr"].tolist() == [2.6e9, 1.2e9]


def test_write_dbf_by_hand(tmp_path):
    table = pd.DataFrame(
        {
            "name": ["ab", None, "Ā"],
            "n": pd.array([1, None, 123], dtype="Int64"),
            "x": [0.5, np.nan, -12.25],
            "flag": [True, False, True],
        }
    )
    write_dbf(tmp_path / "t.dbf", table)
    raw = (tmp_path / "t.dbf").read_bytes()
    n, rec_len, fields = dbf_fields(tmp_path / "t.dbf")
    assert fields == {"name": ("C", 2, 0), "n": ("N", 3, 0), "x": ("N", 6, 2), "flag": ("N", 1, 0)}
    assert (n, rec_len) == (3, 1 + 2 + 3 + 6 + 1)
    body = raw[32 + 32 * 4 + 1 :]
    assert body == (
        b" ab" + b"  1" + b"  0.50" + b"1"
        + b" " + b"  " + b"***" + b"******" + b"0"
        + b" " + "Ā".encode() + b"123" + b"-12.25" + b"1"
        + b"\x1a"
    )  # fmt: skip


def test_duplicated_input_columns_are_not_written(tmp_path):
    a = make_assessment()
    biz = a.businesses.copy()
    biz["id_umkm"] = biz.index.astype(str)  # the input's id column, now the index
    lon = np.array([105.1, 105.2, 105.3, 105.4, np.nan])
    lat = np.array([-5.1, -5.2, -5.3, -5.4, np.nan])
    biz["lon"], biz["lat"] = lon, lat
    biz["longitude"] = ["105,1", "105.2", " 105.3", "105.4", "abc"]  # raw text of the input
    biz["latitude"] = ["-5.1", "-5.2", "-5.3", "-5.4", None]
    biz["bujur_toko"] = ["1", "2", "3", "4", "5"]  # not a coordinate alias: kept
    a = dataclasses.replace(a, businesses=biz)
    export(make_plan(a), tmp_path, formats=("gpkg", "shp"))
    cols = pyogrio.read_info(tmp_path / "blankspot.gpkg", layer="businesses")["fields"].tolist()
    assert "id_umkm" not in cols and "longitude" not in cols and "latitude" not in cols
    assert {"business_id", "lon", "lat", "bujur_toko"} <= set(cols)
    # a raw column that does NOT match the parsed values is the user's data: kept
    biz["longitude"] = ["1", "2", "3", "4", "5"]
    a = dataclasses.replace(a, businesses=biz)
    export(make_plan(a), tmp_path / "b", formats=("gpkg",))
    cols = pyogrio.read_info(tmp_path / "b" / "blankspot.gpkg", layer="businesses")["fields"]
    assert "longitude" in cols.tolist()


def test_businesses_dbf_of_192k_sample_points_is_under_40_mb(tmp_path, shared_data):
    from blankspot.export import _business_layer, _write_shapefile
    from blankspot.sample import load_sample

    biz = load_sample()["businesses"]
    n = len(biz)
    assert n > 190_000
    ok = biz.geometry.notna().to_numpy()
    rng = np.random.default_rng(0)
    biz = biz.assign(
        village_id=np.where(ok, "18.01.04.2001", None),
        covered=ok & (rng.random(n) < 0.85),
        signal_dbm=np.where(ok, rng.integers(-125, -60, n).astype(float), np.nan),
        status=np.where(ok, "uncovered", "rejected"),
    )
    layer = _business_layer(biz, biz.crs)
    (tmp_path / "shp").mkdir()
    _write_shapefile(tmp_path / "shp", "businesses", layer)
    size = (tmp_path / "shp" / "businesses.dbf").stat().st_size
    assert size < 40e6, f"{size / 1e6:.1f} MB"
    assert pyogrio.read_info(tmp_path / "shp" / "businesses.shp")["features"] == n


# ----------------------------------------------------------------------------- Excel


def test_excel_header_bold_and_number_formats(out_en):
    wb = openpyxl.load_workbook(out_en / "priority_sites.xlsx")
    for sheet in wb.sheetnames:
        ws = wb[sheet]
        assert all(c.font.b for c in ws[1] if c.value is not None), sheet
    ws = wb["priority_sites"]
    fmt = {c.value: ws.cell(row=2, column=c.column).number_format for c in ws[1]}
    assert fmt["new_businesses"] == "#,##0"
    assert fmt["cost_idr"] == "#,##0"
    assert fmt["cumulative_share"] == "0.0%"
    ws = wb["villages"]
    fmt = {c.value: ws.cell(row=2, column=c.column).number_format for c in ws[1]}
    # the scores 1, 1, 0, 0 are whole numbers: no decimals
    assert fmt["score"] == "#,##0"
    assert fmt["uncovered_share"] == "0.0%"
    assert fmt["n_uncovered"] == "#,##0"


def test_method_sheet_explains_the_choice_and_the_bound(out_en, out_id):
    ws = openpyxl.load_workbook(out_en / "priority_sites.xlsx")["method"]
    text = " ".join(str(c.value) for (c,) in ws.iter_rows(min_col=1, max_col=1))
    assert "Greedy method" in text
    # the plan: 2 sites, 2 of 2 businesses, upper bound 2
    assert "no plan with 2 sites (or the same budget) can connect more than 2 businesses" in text
    assert "proven optimal" in text
    assert "within 3 m" in text
    ws = openpyxl.load_workbook(out_id / "priority_sites.xlsx")["Metode"]
    text = " ".join(str(c.value) for (c,) in ws.iter_rows(min_col=1, max_col=1))
    assert "Metode bertahap" in text
    # upper bound 2.5 -> "3" whole, gap 1.23 % -> "1,2 %"
    assert "paling jauh 1,2 % dari yang terbaik" in text


# ----------------------------------------------------------------------------- Indonesian


def all_text_id(out: Path) -> str:
    parts = [(out / "priority_sites.csv").read_text(encoding="utf-8-sig")]
    wb = openpyxl.load_workbook(out / "priority_sites.xlsx")
    for ws in wb.worksheets:
        parts += [str(v) for row in ws.iter_rows(values_only=True) for v in row if v is not None]
    return "\n".join(parts)


def test_lang_id_outputs_contain_no_english_value(out_id):
    text = all_text_id(out_id)
    for word in ENGLISH_VALUES:
        assert word not in text, f"{word!r} in a lang='id' output"
    # and the translations are there
    assert "bertahap" in text
    assert "HiGHS berhenti (batas waktu tercapai)" in text
    assert "k=30 melebihi 12 lokasi kandidat" in text
    assert "wilayah bersinyal di 18.71.01.1001" in text
    assert "lokasi S-001" in text


def test_lang_en_keeps_code_values(out_en):
    csv = pd.read_csv(out_en / "priority_sites.csv", encoding="utf-8-sig")
    assert csv["backhaul_to"].tolist() == ["tower-1", "S-001"]


def test_status_values_translated_in_the_qgis_legend(out_id):
    qml = query(
        out_id / "blankspot.gpkg",
        "SELECT styleQML FROM layer_styles WHERE f_table_name = 'businesses'",
    )[0][0]
    cats = ET.fromstring(qml.split("\n", 1)[1]).iter("category")
    assert {c.get("value"): c.get("label") for c in cats} == {
        "covered": "bersinyal",
        "uncovered": "tanpa sinyal",
        "outside_villages": "di luar desa/kelurahan",
    }


def test_every_english_phrase_has_a_translation():
    # each phrase pattern must change the text: none may silently stay English
    samples = [
        "HiGHS stopped (Optimal) before proving the optimum: the plan is within 2.00% of the "
        "best possible",
        "only 3 of the k=5 sites asked for connect anyone new: every uncovered business "
        "within reach of a candidate is connected",
        "no uncovered businesses: every business in the villages already has signal, so "
        "there is nothing to connect",
        "budget_idr=1,000 is below the cheapest site (Rp 2,600,000,000): no site can be built",
        "12 towers (OpenCelliD range) OR coverage polygons (3 features)",
    ]
    for s in samples:
        out = _i18n.translate_message(s, "id")
        for word in ("stopped", "only", "every", "budget_idr=1,000 is", "towers", "OR"):
            assert word not in out.split(), (s, out)


def test_unknown_column_and_plural():
    assert _i18n.column_description("villages", "not_a_column", "en") is None
    assert _i18n.plural(1, "site", "sites") == "1 site"
    assert _i18n.plural(2, "site", "sites") == "2 sites"
