"""Exports: GeoPackage, shapefiles, officials' CSV and Excel, read back independently.

The Assessment and the Plan are built by hand on the four 5 x 5 m villages of tests/common.py,
so every count below is known without running blankspot's own overlay or ranking:

* b0 (X0+1.5, Y0+8.5) in V1 (fully covered) -> covered
* b1 (X0+8.5, Y0+6.5) in V2, right part without signal -> uncovered
* b2 (X0+2.5, Y0+2.5) in V3 (no signal) -> uncovered
* b3 (X0+20, Y0+20) outside every village -> outside_villages
* b4 no coordinates -> rejected
"""

from __future__ import annotations

import dataclasses
import importlib
import logging
import math
import os
from pathlib import Path
from typing import Any

import networkx as nx
import numpy as np
import openpyxl
import pandas as pd
import pytest

import geopandas as gpd
import pyogrio
import shapely
from pyproj import CRS, Transformer
from shapely.geometry import Point, box

from blankspot._errors import CRSError, InputError, InputFileError, UnknownOptionError
from blankspot.assessment import Assessment
from blankspot.export import _shapefile_field_names, export
from blankspot.prioritise import Plan
from tests.common import CRS_UTM, EXPECTED_SHARE_AT_MINUS_110, VILLAGE_BOXES, X0, Y0

# `blankspot.export` is also the name of the top-level function, so fetch the module itself
export_mod = importlib.import_module("blankspot.export")

VILLAGE_NAMES = ["Sukamaju Ñ Ü Ā", "Way Halim", "Tanjung Karang 村", "Désa Ēmpat"]
VIDS = list(VILLAGE_BOXES)


def make_assessment(*, weighted: bool = False, counts_mode: bool = False) -> Assessment:
    villages = gpd.GeoDataFrame(
        {
            "name": VILLAGE_NAMES,
            "kecamatan": ["Kedaton", "Kedaton", "Rajabasa", "Rajabasa"],
            "kabupaten": ["Kota Bandar Lampung"] * 4,
            # 5 x 5 m = 25 m2 = 25e-6 km2
            "area_km2": [25e-6] * 4,
            "covered_area_share": [EXPECTED_SHARE_AT_MINUS_110[v] for v in VIDS],
            "n_businesses": [1, 1, 1, 0],
            "n_covered": [1, 0, 0, 0],
            "n_uncovered": [0, 1, 1, 0],
            "uncovered_share": [0.0, 1.0, 1.0, np.nan],
            "weighted_uncovered": [0.0, 2.0, 1.0, 0.0] if weighted else [0.0, 1.0, 1.0, 0.0],
            # V4 has no business and only 20 % of its area covered (< 50 %)
            "blank_spot": [False, True, True, True],
        },
        geometry=list(VILLAGE_BOXES.values()),
        index=pd.Index(VIDS, name="village_id"),
        crs=CRS_UTM,
    )
    spots = gpd.GeoDataFrame(
        {
            "village_id": [VIDS[1], VIDS[2], VIDS[3]],
            "area_km2": [15e-6, 25e-6, 20e-6],
            "n_businesses": [1, 1, 0],
            "weighted_businesses": [2.0, 1.0, 0.0] if weighted else [1.0, 1.0, 0.0],
        },
        geometry=[
            box(X0 + 7, Y0 + 5, X0 + 10, Y0 + 10),  # V2's 3 right columns
            box(X0, Y0, X0 + 5, Y0 + 5),  # all of V3
            box(X0 + 5, Y0, X0 + 10, Y0 + 4),  # V4 below its covered top row
        ],
        index=pd.Index([f"{v}-1" for v in VIDS[1:]], name="blank_spot_id"),
        crs=CRS_UTM,
    )
    if counts_mode:
        businesses = None
        acc = {"input": 3.0, "covered": 1.0, "uncovered": 2.0, "outside_villages": 0.0}
        acc["rejected"] = 0.0
        rejected = pd.DataFrame({"count": [], "reason": []})
    else:
        businesses = gpd.GeoDataFrame(
            {
                "nama_usaha": ["Warung Bu Ñoño", "Toko Āisyah", "Bengkel", "Kios", "Rusak"],
                "lon": [np.nan] * 4 + [np.nan],
                "lat": [np.nan] * 5,
                "weight": [1.0, 2.0, 1.0, 1.0, 1.0] if weighted else [1.0] * 5,
                "rejected_reason": [None, None, None, None, "latitude is not a number: 'abc'"],
                "village_id": pd.array([VIDS[0], VIDS[1], VIDS[2], None, None], dtype="string"),
                "covered": [True, False, False, False, False],
                "status": ["covered", "uncovered", "uncovered", "outside_villages", "rejected"],
            },
            geometry=[
                Point(X0 + 1.5, Y0 + 8.5),
                Point(X0 + 8.5, Y0 + 6.5),
                Point(X0 + 2.5, Y0 + 2.5),
                Point(X0 + 20, Y0 + 20),
                None,
            ],
            index=pd.Index([f"b{i}" for i in range(5)], name="business_id"),
            crs=CRS_UTM,
        )
        acc = {"input": 5, "covered": 1, "uncovered": 2, "outside_villages": 1, "rejected": 1}
        rejected = pd.DataFrame(businesses.drop(columns="geometry").iloc[[4]])
    return Assessment(
        businesses=businesses,
        villages=villages,
        blank_spots=spots,
        accounting=acc,
        rejected=rejected,
        crs=CRS(CRS_UTM),
        weight_col="weight" if weighted else None,
        coverage=None,
        counts_mode=counts_mode,
    )


# S1 inside V2, S2 on the western edge of V3 at easting 500 000 (the zone's central meridian)
S1 = (X0 + 8.5, Y0 + 6.0)
S2 = (X0, Y0 + 2.5)


def make_sites(*, weighted: bool = False, n: int = 2) -> gpd.GeoDataFrame:
    cols: dict[str, Any] = {
        "rank": [1, 2],
        "site_id": ["S-001", "S-002"],
        "new_businesses": [1, 1],
        "cumulative_businesses": [1, 2],
        "cumulative_share": [0.5, 1.0],
    }
    if weighted:
        cols |= {
            "new_weighted_businesses": [2.0, 1.0],
            "cumulative_weighted_businesses": [2.0, 3.0],
            "cumulative_weighted_share": [2 / 3, 1.0],
        }
    cols |= {
        "village_id": pd.array([VIDS[1], VIDS[2]], dtype="string"),
        "kecamatan": ["Kedaton", "Rajabasa"],
        "kabupaten": ["Kota Bandar Lampung"] * 2,
        "villages_reached": [2, 1],
        "village_ids": [f"{VIDS[1]};{VIDS[3]}", VIDS[2]],
        "village_names": [f"{VILLAGE_NAMES[1]};{VILLAGE_NAMES[3]}", VILLAGE_NAMES[2]],
        "radius_m": [3.0, 3.0],
        "cost_idr": [2.6e9, 1.2e9],
        "cost_per_new_business": [2.6e9, 1.2e9],
        "backhaul_to": ["tower-1", "S-001"],
        # straight line S2 -> S1: dx = 8.5, dy = 3.5
        "backhaul_m": [100.0, math.hypot(8.5, 3.5)],
    }
    sites = gpd.GeoDataFrame(cols, geometry=[Point(*S1), Point(*S2)], crs=CRS_UTM)
    return sites.iloc[:n]


def make_plan(
    assessment: Assessment | None = None, *, weighted: bool = False, n_sites: int = 2
) -> Plan:
    assessment = assessment or make_assessment(weighted=weighted)
    return Plan(
        sites=make_sites(weighted=weighted, n=n_sites),
        upper_bound=3.0 if weighted else 2.0,
        method="greedy",
        objective=3.0 if weighted else 2.0,
        gap=0.0,
        total_uncovered=3.0 if weighted else 2.0,
        weighted=weighted,
        message="" if n_sites else "no candidate site reaches an uncovered business",
        network=nx.Graph(),
        assessment=assessment,
    )


SHP_FILES = [f"{layer}{ext}" for layer in ("villages", "businesses", "blank_spots", "sites")
             for ext in (".shp", ".shx", ".dbf", ".prj", ".cpg")]  # fmt: skip
ALL_FILES = sorted(
    ["blankspot.gpkg", "priority_sites.csv", "priority_sites.xlsx"]
    + [f"shp/{f}" for f in SHP_FILES]
    + [f"shp/{layer}_fields.csv" for layer in ("villages", "businesses", "blank_spots", "sites")]
)

SITE_HEADERS_EN = [
    "rank", "site_id", "longitude", "latitude", "kabupaten", "kecamatan", "village_id",
    "village_name", "villages_reached", "village_ids", "village_names", "new_businesses",
    "cumulative_businesses", "cumulative_share", "radius_m", "cost_idr",
    "cost_per_new_business", "backhaul_to", "backhaul_m",
]  # fmt: skip
SITE_HEADERS_ID = [
    "Peringkat", "ID Lokasi", "Bujur", "Lintang", "Kabupaten/Kota", "Kecamatan",
    "Kode Desa/Kelurahan", "Desa/Kelurahan", "Desa/Kelurahan terjangkau",
    "Kode desa/kelurahan terjangkau",
    "Nama desa/kelurahan terjangkau", "UMKM baru terlayani", "UMKM kumulatif",
    "Pangsa kumulatif", "Radius (m)", "Biaya (Rp)", "Biaya per UMKM (Rp)", "Backhaul ke",
    "Jarak backhaul (m)",
]  # fmt: skip
VILLAGE_HEADERS_EN = [
    "rank", "village_id", "village_name", "kecamatan", "kabupaten", "longitude", "latitude",
    "n_businesses", "n_covered", "n_uncovered", "uncovered_share", "area_km2",
    "covered_area_share", "blank_spot_area_km2", "blank_spot", "score",
]  # fmt: skip
VILLAGE_HEADERS_ID = [
    "Peringkat", "Kode Desa/Kelurahan", "Desa/Kelurahan", "Kecamatan", "Kabupaten/Kota",
    "Bujur", "Lintang", "Jumlah UMKM", "UMKM bersinyal", "UMKM tanpa sinyal",
    "Pangsa UMKM tanpa sinyal", "Luas (km²)", "Pangsa wilayah bersinyal", "Luas blank spot (km²)",
    "Blank spot", "Skor",
]  # fmt: skip


def files_in(folder: Path) -> list[str]:
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())


def snapshot(folder: Path) -> dict[str, bytes]:
    return {f: (folder / f).read_bytes() for f in files_in(folder)}


def to_lonlat(x: float, y: float) -> tuple[float, float]:
    """Independent reprojection with pyproj, the expected value for the officials' columns."""
    return Transformer.from_crs(CRS_UTM, "EPSG:4326", always_xy=True).transform(x, y)


@pytest.fixture
def plan() -> Plan:
    return make_plan()


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Path]]:
    out = tmp_path_factory.mktemp("export") / "hasil"
    return out, export(make_plan(), out)


# ----------------------------------------------------------------------------- files


def test_writes_exactly_the_documented_files(written):
    out, paths = written
    # nothing else: no staging folder or temporary file left behind
    assert files_in(out) == ALL_FILES
    assert [p.name for p in out.iterdir() if p.name.startswith(".")] == []
    assert paths["gpkg"] == out / "blankspot.gpkg"
    assert paths["csv"] == out / "priority_sites.csv"
    assert paths["xlsx"] == out / "priority_sites.xlsx"
    assert paths["shp_sites"] == out / "shp" / "sites.shp"
    assert paths["shp_sites_fields"] == out / "shp" / "sites_fields.csv"
    assert all(p.exists() for p in paths.values())


@pytest.mark.parametrize(
    ("layer", "n", "geom"),
    [("villages", 4, "MultiPolygon"), ("businesses", 5, "Point"),
     ("blank_spots", 3, "MultiPolygon"), ("sites", 2, "Point")],
)  # fmt: skip
def test_geopackage_layers_read_back(written, layer, n, geom):
    out, _ = written
    gpkg = out / "blankspot.gpkg"
    # layer_styles: the QGIS styles table (attributes only, no geometry)
    assert [name for name, _ in pyogrio.list_layers(gpkg)] == [
        "villages",
        "businesses",
        "blank_spots",
        "sites",
        "layer_styles",
    ]
    info = pyogrio.read_info(gpkg, layer=layer)
    assert info["features"] == n
    assert info["geometry_type"] == geom
    assert CRS(info["crs"]) == CRS(CRS_UTM)


def test_geopackage_keeps_every_business_and_the_names(written):
    out, _ = written
    biz = pyogrio.read_dataframe(out / "blankspot.gpkg", layer="businesses")
    # 5 input rows = 1 covered + 2 uncovered + 1 outside + 1 rejected, all present
    assert biz["business_id"].tolist() == ["b0", "b1", "b2", "b3", "b4"]
    assert biz["status"].tolist() == [
        "covered", "uncovered", "uncovered", "outside_villages", "rejected"
    ]  # fmt: skip
    assert biz.geometry.isna().tolist() == [False, False, False, False, True]
    assert biz["rejected_reason"].iloc[4] == "latitude is not a number: 'abc'"
    assert biz["nama_usaha"].iloc[0] == "Warung Bu Ñoño"
    vil = pyogrio.read_dataframe(out / "blankspot.gpkg", layer="villages")
    assert sorted(vil["name"]) == sorted(VILLAGE_NAMES)
    assert {"rank", "score", "village_id"} <= set(vil.columns)
    assert vil["rank"].tolist() == [1, 2, 3, 4]  # written in priority order
    sites = pyogrio.read_dataframe(out / "blankspot.gpkg", layer="sites")
    assert sites["site_id"].tolist() == ["S-001", "S-002"]
    np.testing.assert_allclose(shapely.get_coordinates(sites.geometry.array), [S1, S2])


# expected dBase names, worked out from the documented rules
SITES_SHORT = {
    "rank": "rank",
    "site_id": "site_id",
    "new_businesses": "new_bus",
    "cumulative_businesses": "cum_bus",
    "cumulative_share": "cum_shr",
    "village_id": "village_id",
    "kecamatan": "kecamatan",
    "kabupaten": "kabupaten",
    "villages_reached": "n_villages",
    "village_ids": "vil_ids",
    "village_names": "vil_names",
    "radius_m": "radius_m",
    "cost_idr": "cost_idr",
    "cost_per_new_business": "cost_per_b",
    "backhaul_to": "bhaul_to",
    "backhaul_m": "backhaul_m",  # fits in 10 characters: kept
}
BUSINESSES_SHORT = {
    "business_id": "bus_id",
    "nama_usaha": "nama_usaha",
    "lon": "lon",
    "lat": "lat",
    "weight": "weight",
    "rejected_reason": "rej_reason",
    "village_id": "village_id",
    "covered": "covered",
    "status": "status",
}


@pytest.mark.parametrize(
    ("layer", "n"), [("villages", 4), ("businesses", 5), ("blank_spots", 3), ("sites", 2)]
)
def test_shapefiles_read_back(written, layer, n):
    out, _ = written
    shp = out / "shp" / f"{layer}.shp"
    for ext in (".shx", ".dbf", ".prj", ".cpg"):
        assert shp.with_suffix(ext).exists()
    assert shp.with_suffix(".cpg").read_text().strip() == "UTF-8"
    info = pyogrio.read_info(shp)
    assert info["features"] == n
    assert CRS(info["crs"]) == CRS(CRS_UTM)
    assert all(len(f.encode("ascii")) <= 10 for f in info["fields"])
    fields = pd.read_csv(out / "shp" / f"{layer}_fields.csv", dtype=str)
    assert fields.columns.tolist() == ["full_name", "short_name"]
    assert fields["short_name"].tolist() == list(info["fields"])
    gpkg_cols = pyogrio.read_info(out / "blankspot.gpkg", layer=layer)["fields"]
    assert fields["full_name"].tolist() == list(gpkg_cols)


def test_shapefile_field_names_of_known_layers(written):
    out, _ = written
    sites = pyogrio.read_info(out / "shp" / "sites.shp")["fields"]
    assert list(sites) == list(SITES_SHORT.values())
    biz = pyogrio.read_info(out / "shp" / "businesses.shp")["fields"]
    assert list(biz) == list(BUSINESSES_SHORT.values())


def test_shapefile_round_trips_non_ascii_names_and_null_geometries(written):
    out, _ = written
    vil = pyogrio.read_dataframe(out / "shp" / "villages.shp")
    assert sorted(vil["name"]) == sorted(VILLAGE_NAMES)
    sites = pyogrio.read_dataframe(out / "shp" / "sites.shp")
    assert sites["vil_names"].tolist() == ["Way Halim;Désa Ēmpat", "Tanjung Karang 村"]
    biz = pyogrio.read_dataframe(out / "shp" / "businesses.shp")
    assert biz["bus_id"].tolist() == ["b0", "b1", "b2", "b3", "b4"]
    assert biz.geometry.isna().tolist() == [False, False, False, False, True]
    # booleans become 0/1 integers in dBase
    assert biz["covered"].tolist() == [1, 0, 0, 0, 0]
    assert biz["nama_usaha"].iloc[1] == "Toko Āisyah"


# ----------------------------------------------------------------------------- field names


def test_field_names_rules_by_hand():
    cols = ["population_total", "population_male", "population_female", "Jumlah Penduduk"]
    cols += ["cumulative_businesses", "Kabupaten", "kabupaten", "村", "日本"]
    assert _shapefile_field_names(cols) == {
        "population_total": "population",  # cut to 10
        "population_male": "populati01",  # collides: 8 characters + counter
        "population_female": "populati02",
        "Jumlah Penduduk": "Jumlah_Pen",  # space -> _, cut to 10
        "cumulative_businesses": "cum_bus",  # fixed abbreviation
        "Kabupaten": "Kabupaten",
        "kabupaten": "kabupate01",  # dBase names ignore case
        "村": "field",  # nothing left after folding to ASCII
        "日本": "field01",
    }


def test_field_names_that_fit_are_never_taken_by_a_cut_long_name():
    # blank_spot_area_km2 comes first but must not become "blank_spot", the real flag's name
    cols = ["blank_spot_area_km2", "kecamatan_code", "blank_spot", "kecamatan_", "score_12345x"]
    assert _shapefile_field_names(cols) == {
        "blank_spot_area_km2": "bs_area_km",  # fixed abbreviation
        "kecamatan_code": "kec_code",
        "blank_spot": "blank_spot",  # fits: kept
        "kecamatan_": "kecamatan_",  # fits: kept
        "score_12345x": "score_1234",  # 12 characters: cut to 10
    }


def test_field_names_collision_free_and_stable_for_random_long_names():
    rng = np.random.default_rng(42)
    letters = np.array(list("abcdefghij_"))
    prefixes = ["cumulative_", "population_", "villagename"]
    names = [
        prefixes[i % 3] + "".join(rng.choice(letters, size=int(rng.integers(0, 12))))
        for i in range(50)
    ]
    names = list(dict.fromkeys(names))
    assert len(names) >= 45  # long names sharing three prefixes
    first = _shapefile_field_names(names)
    assert _shapefile_field_names(names) == first
    short = list(first.values())
    assert len({s.lower() for s in short}) == len(names)
    assert all(len(s) <= 10 and s.isascii() for s in short)
    # the mapping of a column depends only on the columns before it
    assert _shapefile_field_names(names[:20]) == {n: first[n] for n in names[:20]}


def test_long_text_is_cut_on_a_character_boundary_for_shapefile(tmp_path, caplog):
    sites = make_sites()
    # 300 two-byte characters = 600 bytes; dBase keeps 254 bytes = 127 characters
    sites["village_names"] = ["Ā" * 300, "short"]
    plan = dataclasses.replace(make_plan(), sites=sites)
    with caplog.at_level(logging.WARNING, logger="blankspot"):
        export(plan, tmp_path, formats=("shp", "gpkg"))
    assert "village_names" in caplog.text and "254 bytes" in caplog.text
    shp = pyogrio.read_dataframe(tmp_path / "shp" / "sites.shp")
    assert shp["vil_names"].tolist() == ["Ā" * 127, "short"]
    gpkg = pyogrio.read_dataframe(tmp_path / "blankspot.gpkg", layer="sites")
    assert gpkg["village_names"].iloc[0] == "Ā" * 300


def test_list_and_object_columns_are_written_as_text(tmp_path):
    a = make_assessment()
    biz = a.businesses.copy()
    biz["tags"] = pd.Series([["a", "b"], None, {"k": 1}, 3, "x"], index=biz.index, dtype=object)
    a = dataclasses.replace(a, businesses=biz)
    export(a, tmp_path, formats=("gpkg", "shp"))
    for path, kw in ((tmp_path / "blankspot.gpkg", {"layer": "businesses"}),
                     (tmp_path / "shp" / "businesses.shp", {})):  # fmt: skip
        back = pyogrio.read_dataframe(path, **kw)
        assert back["tags"].tolist()[:1] == ["['a', 'b']"]
        assert pd.isna(back["tags"].iloc[1])
        assert back["tags"].tolist()[2:] == ["{'k': 1}", "3", "x"]


# ----------------------------------------------------------------------------- officials


def test_csv_priority_list_in_english(written):
    out, _ = written
    raw = (out / "priority_sites.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # UTF-8 byte-order mark, for Excel
    t = pd.read_csv(out / "priority_sites.csv", encoding="utf-8-sig", dtype={"village_id": str})
    assert t.columns.tolist() == SITE_HEADERS_EN
    assert t["rank"].tolist() == [1, 2]
    assert t["site_id"].tolist() == ["S-001", "S-002"]
    lon1, lat1 = to_lonlat(*S1)
    lon2, lat2 = to_lonlat(*S2)
    # easting 500 000 is UTM zone 48's central meridian: exactly 105 degrees east
    assert t["longitude"].iloc[1] == 105.0
    np.testing.assert_allclose(t["longitude"], [lon1, lon2], atol=5e-7)
    np.testing.assert_allclose(t["latitude"], [lat1, lat2], atol=5e-7)
    assert -6 < lat1 < -5  # southern Lampung
    assert t["village_name"].tolist() == ["Way Halim", "Tanjung Karang 村"]
    assert t["village_names"].iloc[0] == "Way Halim;Désa Ēmpat"
    assert t["cost_idr"].tolist() == [2_600_000_000, 1_200_000_000]
    assert t["cumulative_businesses"].tolist() == [1, 2]
    assert t["backhaul_m"].iloc[1] == round(math.hypot(8.5, 3.5))  # 9.19 m -> whole metres


def test_csv_priority_list_in_bahasa_indonesia(tmp_path, plan):
    export(plan, tmp_path, formats="csv", lang="id")
    assert files_in(tmp_path) == ["priority_sites.csv"]
    # Indonesian Excel conventions: ';' between fields, ',' as the decimal mark
    first_row = (tmp_path / "priority_sites.csv").read_text(encoding="utf-8-sig").splitlines()[1]
    assert first_row.startswith("1;")
    t = pd.read_csv(tmp_path / "priority_sites.csv", encoding="utf-8-sig", sep=";", decimal=",")
    assert t.columns.tolist() == SITE_HEADERS_ID
    assert t["Peringkat"].tolist() == [1, 2]
    assert t["Jarak backhaul (m)"].tolist() == [100.0, 9.0]


def test_weighted_plan_adds_weighted_columns(tmp_path):
    export(make_plan(weighted=True), tmp_path, formats=("csv",), lang="id")
    t = pd.read_csv(tmp_path / "priority_sites.csv", encoding="utf-8-sig", sep=";", decimal=",")
    pos = SITE_HEADERS_ID.index("Pangsa kumulatif") + 1
    assert t.columns.tolist()[pos : pos + 3] == [
        "UMKM tertimbang baru terlayani",
        "UMKM tertimbang kumulatif",
        "Pangsa tertimbang kumulatif",
    ]
    assert t["UMKM tertimbang kumulatif"].tolist() == [2.0, 3.0]


def summary_of(ws) -> dict[str, Any]:
    rows = list(ws.iter_rows(values_only=True))
    return dict(rows[1:])


def test_excel_in_english(written):
    out, _ = written
    wb = openpyxl.load_workbook(out / "priority_sites.xlsx")
    assert wb.sheetnames == ["priority_sites", "villages", "summary", "method"]
    ws = wb["priority_sites"]
    assert [c.value for c in ws[1]] == SITE_HEADERS_EN
    assert ws.freeze_panes == "A2"
    assert ws.max_row == 3  # header + 2 sites
    cost = SITE_HEADERS_EN.index("cost_idr") + 1
    assert ws.cell(row=2, column=cost).value == 2_600_000_000
    assert ws.cell(row=2, column=cost).number_format == "#,##0"
    share = SITE_HEADERS_EN.index("cumulative_share") + 1
    assert ws.cell(row=3, column=share).number_format == "0.0%"
    wv = wb["villages"]
    assert [c.value for c in wv[1]] == VILLAGE_HEADERS_EN
    assert [wv.cell(row=r, column=1).value for r in range(2, 6)] == [1, 2, 3, 4]
    assert sorted(wv.cell(row=r, column=2).value for r in range(2, 6)) == VIDS
    s = summary_of(wb["summary"])
    assert [c.value for c in wb["summary"][1]] == ["item", "value"]
    assert s["Villages assessed"] == 4
    assert s["Blank-spot villages"] == 3  # V2, V3, V4
    assert s["Businesses in the input"] == 5
    assert s["Businesses with signal"] == 1
    assert s["Businesses without signal"] == 2
    assert s["Businesses outside every village"] == 1
    assert s["Businesses rejected (unusable coordinates)"] == 1
    # 2 uncovered of the 1 + 2 businesses inside villages
    assert s["Share of businesses in villages without signal"] == pytest.approx(2 / 3)
    assert s["Working CRS"] == "EPSG:32748"
    assert s["Ranking method"] == "greedy"
    assert s["Sites in the plan"] == 2
    assert s["Share connected by the plan"] == 1.0  # objective 2 of 2
    assert s["Total cost (Rp)"] == 3_800_000_000  # 2.6 + 1.2 billion
    assert s["Businesses no candidate site reaches"] == 0


def test_excel_in_bahasa_indonesia(tmp_path, plan):
    export(plan, tmp_path, formats=("xlsx",), lang="id")
    wb = openpyxl.load_workbook(tmp_path / "priority_sites.xlsx")
    assert wb.sheetnames == ["Prioritas Lokasi", "Desa", "Ringkasan", "Metode"]
    assert [c.value for c in wb["Prioritas Lokasi"][1]] == SITE_HEADERS_ID
    assert [c.value for c in wb["Desa"][1]] == VILLAGE_HEADERS_ID
    blank = VILLAGE_HEADERS_ID.index("Blank spot") + 1
    assert {wb["Desa"].cell(row=r, column=blank).value for r in range(2, 6)} == {"ya", "tidak"}
    assert [c.value for c in wb["Ringkasan"][1]] == ["Butir", "Nilai"]
    s = summary_of(wb["Ringkasan"])
    assert s["Desa/kelurahan dinilai"] == 4
    assert s["UMKM dalam data masukan"] == 5
    assert s["UMKM tanpa sinyal"] == 2
    assert s["CRS kerja"] == "EPSG:32748"
    assert s["Metode pemeringkatan"].startswith("bertahap")


def test_assessment_exports_the_village_priority_list(tmp_path):
    paths = export(make_assessment(), tmp_path)
    assert paths["csv"].name == "priority_villages.csv"
    assert "shp_sites" not in paths
    layers = [name for name, _ in pyogrio.list_layers(tmp_path / "blankspot.gpkg")]
    assert layers == ["villages", "businesses", "blank_spots", "layer_styles"]
    t = pd.read_csv(paths["csv"], encoding="utf-8-sig", dtype={"village_id": str})
    assert t.columns.tolist() == VILLAGE_HEADERS_EN
    assert t["rank"].tolist() == [1, 2, 3, 4]
    # score_villages' rule: score = uncovered businesses (V2: 1, V3: 1, V1: 0, V4: 0), ties
    # broken by village id
    assert t["village_id"].tolist() == [VIDS[1], VIDS[2], VIDS[0], VIDS[3]]
    assert t["score"].tolist() == [1.0, 1.0, 0.0, 0.0]
    # blank-spot areas: V2 3 x 5 m, V3 5 x 5 m, V1 none, V4 5 x 4 m
    np.testing.assert_allclose(t["blank_spot_area_km2"], [15e-6, 25e-6, 0.0, 20e-6])
    assert t.set_index("village_id").loc[VIDS[3], "blank_spot"] == "yes"
    # a point inside each 5 x 5 m village, in WGS84
    lon, lat = to_lonlat(X0 + 5, Y0 + 5)
    np.testing.assert_allclose(t["longitude"], lon, atol=1e-4)
    np.testing.assert_allclose(t["latitude"], lat, atol=1e-4)
    wb = openpyxl.load_workbook(paths["xlsx"])
    assert wb.sheetnames == ["villages", "summary", "method"]


def test_counts_mode_has_no_businesses_layer(tmp_path):
    export(make_assessment(counts_mode=True), tmp_path, formats=("gpkg", "shp"))
    layers = [name for name, _ in pyogrio.list_layers(tmp_path / "blankspot.gpkg")]
    assert layers == ["villages", "blank_spots", "layer_styles"]
    assert not (tmp_path / "shp" / "businesses.shp").exists()


def test_empty_plan_writes_empty_sites_layer(tmp_path):
    plan = make_plan(n_sites=0)
    export(plan, tmp_path)
    assert pyogrio.read_info(tmp_path / "blankspot.gpkg", layer="sites")["features"] == 0
    assert pyogrio.read_info(tmp_path / "shp" / "sites.shp")["features"] == 0
    t = pd.read_csv(tmp_path / "priority_sites.csv", encoding="utf-8-sig")
    assert len(t) == 0 and t.columns.tolist() == SITE_HEADERS_EN
    s = summary_of(openpyxl.load_workbook(tmp_path / "priority_sites.xlsx")["summary"])
    assert s["Note on the plan"] == "no candidate site reaches an uncovered business"


def test_unknown_or_infinite_costs_are_blank(tmp_path):
    sites = make_sites()
    # costs unknown for S-001; S-002 connects nobody new, so its cost per business is infinite
    sites["cost_idr"] = [np.nan, 1.2e9]
    sites["cost_per_new_business"] = [np.nan, np.inf]
    export(dataclasses.replace(make_plan(), sites=sites), tmp_path, formats=("csv", "xlsx"))
    t = pd.read_csv(tmp_path / "priority_sites.csv", encoding="utf-8-sig")
    assert t["cost_idr"].isna().tolist() == [True, False]
    assert t["cost_per_new_business"].isna().all()
    s = summary_of(openpyxl.load_workbook(tmp_path / "priority_sites.xlsx")["summary"])
    assert s["Total cost (Rp)"] == 1_200_000_000  # the known cost only


def test_unnamed_index_keeps_its_contract_id(tmp_path):
    a = make_assessment()
    a = dataclasses.replace(
        a,
        villages=a.villages.rename_axis(None),
        blank_spots=a.blank_spots.rename_axis(None),
    )
    export(a, tmp_path, formats="gpkg")
    vil = pyogrio.read_dataframe(tmp_path / "blankspot.gpkg", layer="villages")
    assert sorted(vil["village_id"]) == VIDS
    spots = pyogrio.read_dataframe(tmp_path / "blankspot.gpkg", layer="blank_spots")
    assert sorted(spots["blank_spot_id"]) == [f"{v}-1" for v in VIDS[1:]]


def test_same_input_same_output(tmp_path, plan):
    a = export(plan, tmp_path / "a")
    b = export(plan, tmp_path / "b")
    assert a["csv"].read_bytes() == b["csv"].read_bytes()
    for layer in ("villages", "businesses", "blank_spots", "sites"):
        pd.testing.assert_frame_equal(
            pyogrio.read_dataframe(a["gpkg"], layer=layer),
            pyogrio.read_dataframe(b["gpkg"], layer=layer),
        )
        assert a[f"shp_{layer}_fields"].read_bytes() == b[f"shp_{layer}_fields"].read_bytes()


# ----------------------------------------------------------------------------- overwrite


def test_refuses_to_overwrite_and_leaves_files_untouched(tmp_path, plan):
    export(plan, tmp_path)
    before = snapshot(tmp_path)
    with pytest.raises(InputFileError, match=r"already exist.*overwrite=True.*--overwrite"):
        export(plan, tmp_path)
    assert snapshot(tmp_path) == before


def test_checks_every_target_before_writing_anything(tmp_path, plan):
    (tmp_path / "priority_sites.xlsx").write_bytes(b"an official's own file")
    with pytest.raises(InputFileError, match=r"priority_sites\.xlsx"):
        export(plan, tmp_path)
    assert files_in(tmp_path) == ["priority_sites.xlsx"]
    assert (tmp_path / "priority_sites.xlsx").read_bytes() == b"an official's own file"


def test_overwrite_replaces_and_removes_stale_spatial_index(tmp_path, plan):
    export(plan, tmp_path)
    (tmp_path / "shp" / "sites.qix").write_bytes(b"stale index")
    one_site = dataclasses.replace(plan, sites=plan.sites.iloc[:1])
    export(one_site, tmp_path, overwrite=True)
    assert pyogrio.read_info(tmp_path / "shp" / "sites.shp")["features"] == 1
    assert pyogrio.read_info(tmp_path / "blankspot.gpkg", layer="sites")["features"] == 1
    assert not (tmp_path / "shp" / "sites.qix").exists()
    assert files_in(tmp_path) == ALL_FILES


def test_failure_midway_leaves_existing_outputs_untouched(tmp_path, plan, monkeypatch):
    export(plan, tmp_path)
    before = snapshot(tmp_path)

    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    # the Excel file is written last: GeoPackage, shapefiles and CSV are already staged
    monkeypatch.setattr(export_mod, "write_xlsx", broken)
    one_site = dataclasses.replace(plan, sites=plan.sites.iloc[:1])
    with pytest.raises(RuntimeError, match="disk full"):
        export(one_site, tmp_path, overwrite=True)
    assert snapshot(tmp_path) == before
    assert [p for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_failure_in_a_fresh_folder_leaves_nothing(tmp_path, plan, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("GDAL failed")

    monkeypatch.setattr(export_mod, "_write_shapefile", broken)
    with pytest.raises(RuntimeError, match="GDAL failed"):
        export(plan, tmp_path / "new")
    assert files_in(tmp_path / "new") == []
    assert os.listdir(tmp_path / "new") == []


# ----------------------------------------------------------------------------- bad input


def test_rejects_what_is_not_a_plan(tmp_path):
    with pytest.raises(InputError, match=r"needs a Plan .* or an Assessment .*got DataFrame"):
        export(pd.DataFrame({"a": [1]}), tmp_path)
    with pytest.raises(InputError, match="got GeoDataFrame"):
        export(make_sites(), tmp_path)
    assert files_in(tmp_path) == []


def test_rejects_unknown_format_and_language(tmp_path, plan):
    with pytest.raises(InputError, match=r"'pdf'.*gpkg, shp, csv, xlsx"):
        export(plan, tmp_path, formats=("csv", "pdf"))
    with pytest.raises(InputError, match="nothing"):
        export(plan, tmp_path, formats=())
    with pytest.raises(InputError, match=r"lang='fr'.*en, id"):
        export(plan, tmp_path, lang="fr")
    with pytest.raises(UnknownOptionError, match="Did you mean 'overwrite'"):
        export(plan, tmp_path, overwite=True)
    assert files_in(tmp_path) == []


def test_rejects_a_file_as_output_folder(tmp_path, plan):
    f = tmp_path / "out.txt"
    f.write_text("x")
    with pytest.raises(InputFileError, match="is a file"):
        export(plan, f)


def test_sites_without_rank_are_rejected(tmp_path):
    plan = make_plan()
    plan = dataclasses.replace(plan, sites=plan.sites.drop(columns="rank"))
    with pytest.raises(InputError, match=r"plan.sites has no rank"):
        export(plan, tmp_path / "new", formats="csv")
    assert not (tmp_path / "new").exists()  # bad input creates nothing, not even the folder


def test_layer_without_crs_is_rejected(tmp_path):
    plan = make_plan()
    sites = gpd.GeoDataFrame(
        plan.sites.drop(columns="geometry"), geometry=list(plan.sites.geometry)
    )
    assert sites.crs is None
    plan = dataclasses.replace(plan, sites=sites)
    with pytest.raises(CRSError, match="sites layer has no CRS"):
        export(plan, tmp_path, formats="gpkg")


def test_sites_in_another_crs_are_brought_into_the_working_crs(tmp_path):
    plan = make_plan()
    plan = dataclasses.replace(plan, sites=plan.sites.to_crs("EPSG:4326"))
    export(plan, tmp_path, formats=("gpkg",))
    back = pyogrio.read_dataframe(tmp_path / "blankspot.gpkg", layer="sites")
    assert back.crs == CRS(CRS_UTM)
    np.testing.assert_allclose(shapely.get_coordinates(back.geometry.array), [S1, S2], atol=1e-6)


# ----------------------------------------------------------------------------- atomic set (issue 7)


def test_partly_unwritable_folder_is_found_before_anything_is_written(tmp_path, plan):
    out = tmp_path / "hasil"
    out.mkdir()
    (out / "shp").write_text("a file where the shapefile folder goes")
    with pytest.raises(InputFileError, match=r"shp is a file.*Nothing was written"):
        export(plan, out)
    assert files_in(out) == ["shp"]


def test_a_move_that_fails_midway_is_undone(tmp_path, plan, monkeypatch):
    export(plan, tmp_path)
    before = snapshot(tmp_path)
    real = os.replace
    calls = []

    def replace_then_fail(src, dst):
        calls.append(dst)
        if len(calls) == 6:  # after the GeoPackage and the CSV were moved in
            raise PermissionError(13, "Permission denied", str(dst))
        return real(src, dst)

    monkeypatch.setattr(export_mod.os, "replace", replace_then_fail)
    one_site = dataclasses.replace(plan, sites=plan.sites.iloc[:1])
    with pytest.raises(InputFileError, match=r"Permission denied.*nothing was changed"):
        export(one_site, tmp_path, overwrite=True)
    monkeypatch.setattr(export_mod.os, "replace", real)
    assert snapshot(tmp_path) == before
    assert [p for p in tmp_path.iterdir() if p.name.startswith(".")] == []


_RACE = """
import sys, time
from pathlib import Path
from tests.test_export import make_plan
from blankspot.export import export
from blankspot._errors import InputFileError
out, lang, go = Path(sys.argv[1]), sys.argv[2], Path(sys.argv[3])
plan = make_plan()
(go.parent / f"ready-{lang}").touch()
while not go.exists():
    time.sleep(0.005)
try:
    export(plan, out, lang=lang)
except InputFileError as exc:
    print("lost:", exc)
    sys.exit(3)
print("won")
"""


@pytest.mark.slow
def test_two_processes_exporting_into_one_new_folder_one_wins(tmp_path):
    import subprocess
    import sys

    out, go = tmp_path / "hasil", tmp_path / "go"
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _RACE, str(out), lang, str(go)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for lang in ("en", "id")
    ]
    import time

    deadline = time.monotonic() + 60
    while not all((tmp_path / f"ready-{lang}").exists() for lang in ("en", "id")):
        assert time.monotonic() < deadline, "the exporting processes did not start"
        time.sleep(0.01)
    go.touch()
    results = [(p.wait(timeout=120), *p.communicate()) for p in procs]
    codes = sorted(r[0] for r in results)
    assert codes == [0, 3], results
    loser = next(r for r in results if r[0] == 3)
    assert "already exist" in loser[1]
    # one writer's whole set: the CSV and the Excel file are in the same language
    winner_lang = ("en", "id")[[r[0] for r in results].index(0)]
    csv_head = (out / "priority_sites.csv").read_text(encoding="utf-8-sig").splitlines()[0]
    sheet = openpyxl.load_workbook(out / "priority_sites.xlsx").worksheets[0]
    if winner_lang == "en":
        assert csv_head.startswith("rank,site_id") and sheet["A1"].value == "rank"
    else:
        assert csv_head.startswith("Peringkat;") and sheet["A1"].value == "Peringkat"
    assert files_in(out) == ALL_FILES


def test_a_move_that_fails_midway_into_a_new_folder_leaves_it_empty(tmp_path, plan, monkeypatch):
    real = os.replace
    calls = []

    def replace_then_fail(src, dst):
        calls.append(dst)
        if len(calls) == 3:  # the GeoPackage and the CSV are in place by now
            raise PermissionError(13, "Permission denied", str(dst))
        return real(src, dst)

    monkeypatch.setattr(export_mod.os, "replace", replace_then_fail)
    with pytest.raises(InputFileError, match=r"nothing was changed"):
        export(plan, tmp_path / "new")
    assert os.listdir(tmp_path / "new") == []
