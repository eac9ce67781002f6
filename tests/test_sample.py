"""The embedded Lampung sample: files, sizes, counts, raster, blank-spot share, licences.

Expected values come from published figures (data/README.md cites them), from the source
data's own documentation (cahyadsn/wilayah_boundaries: 205 kelurahan and 2,435 of 2,446 desa
in Lampung) or from an independent tool (pyogrio, pandas, rasterio, exactextract), never from
blankspot's own output.
"""

from __future__ import annotations

import gzip
import importlib.util
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from exactextract import exact_extract
from exactextract.raster import NumPyRasterSource

import geopandas as gpd
import rasterio
import shapely
from geopandas.testing import assert_geodataframe_equal
from pyproj import Transformer

from blankspot import InputFileError, UnknownOptionError
from blankspot.sample import (
    SAMPLE_FILES,
    _find_sample_dir,
    _paths_in,
    load_sample,
    sample_dir,
    sample_paths,
)

REPO = Path(__file__).resolve().parents[1]
MB = 1_000_000
# Dinas Koperasi dan UKM Provinsi Lampung, end of 2022
UMKM = {"mikro": 182_655, "kecil": 9_303, "menengah": 276}
N_BROKEN, N_REJECTED, N_OUTSIDE = 25, 22, 3  # the deliberately broken tail, data/README.md
REMOTE_KAB = ("18.04", "18.08", "18.11", "18.13")
KOTA = ("18.71", "18.72")
OPENCELLID = (
    "radio,mcc,net,area,cell,unit,lon,lat,range,samples,changeable,created,updated,averageSignal"
).split(",")
# Lampung's extent in lon/lat, rounded outwards from the province outline
LON_RANGE, LAT_RANGE = (103.5, 106.4), (-6.2, -3.7)


@pytest.fixture(scope="module")
def paths() -> dict[str, Path]:
    return sample_paths()


@pytest.fixture(scope="module")
def villages(paths: dict[str, Path]) -> gpd.GeoDataFrame:
    # read with geopandas directly, not with blankspot.io, so the file itself is checked
    return gpd.read_parquet(paths["villages"])


@pytest.fixture(scope="module")
def business_table(paths: dict[str, Path]) -> pd.DataFrame:
    return pd.read_csv(paths["businesses"], dtype=str, keep_default_na=False)


@pytest.fixture(scope="module")
def raster(paths: dict[str, Path]) -> tuple[np.ndarray, dict]:
    with rasterio.open(paths["signal"]) as src:
        return src.read(1), dict(src.profile) | {"bounds": src.bounds}


@pytest.fixture(scope="module")
def village_share(villages: gpd.GeoDataFrame, raster: tuple[np.ndarray, dict]) -> pd.Series:
    """Covered area share at -110 dBm per village, computed by exactextract."""
    arr, prof = raster
    b = prof["bounds"]
    covered = np.where(arr == prof["nodata"], np.nan, (arr >= -110).astype("float64"))
    src = NumPyRasterSource(covered, b.left, b.bottom, b.right, b.top, srs_wkt=prof["crs"].to_wkt())
    res = exact_extract(src, villages.to_crs(prof["crs"]), ["mean"], output="pandas")
    return pd.Series(res["mean"].to_numpy(), index=villages["kode"].to_numpy())


# ------------------------------------------------------------------ files, sizes, licences


def test_files_exist_and_are_small(paths: dict[str, Path]) -> None:
    folder = sample_dir()
    assert set(paths) == {
        "villages",
        "businesses",
        "signal",
        "towers",
        "opencellid",
        "fibre",
        "dem",
    }
    assert all(p.is_file() and p.parent == folder for p in paths.values())
    for name in ("LICENSE-boundaries", "LICENSE-opencellid"):
        assert (folder / name).is_file()
    total = sum(f.stat().st_size for f in folder.iterdir() if f.is_file())
    # the limit is 20 MB for the installed package; the data budget is 12 MB of it
    assert total < 12 * MB
    assert not (folder / ".keep").exists()


def test_sample_found_from_any_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    expected = sample_dir()
    monkeypatch.chdir(tmp_path)
    assert sample_dir() == expected
    # a fresh interpreter started elsewhere finds it too (installed or source tree)
    out = subprocess.run(
        [
            sys.executable,
            "-c",
            "from blankspot.sample import sample_paths as p; print(p()['signal'])",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
    )
    assert Path(out.stdout.strip()).is_file()


def test_missing_sample_folder_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(InputFileError, match=r"not found; looked in '.*a', '.*b'.*make_sample"):
        _find_sample_dir([tmp_path / "a", tmp_path / "b"])


def test_incomplete_sample_folder_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / SAMPLE_FILES["villages"]).write_bytes(b"x")
    (tmp_path / SAMPLE_FILES["signal"]).write_bytes(b"x")
    assert _find_sample_dir([tmp_path / "nothing", tmp_path]) == tmp_path
    with pytest.raises(
        InputFileError, match=r"incomplete: missing businesses \('umkm_synthetic.csv.gz'\)"
    ):
        _paths_in(tmp_path)


def test_unknown_option_is_rejected() -> None:
    with pytest.raises(UnknownOptionError, match="Did you mean 'weight_col'"):
        load_sample(weight="tenaga_kerja")


def test_licence_notices() -> None:
    folder = sample_dir()
    boundaries = (folder / "LICENSE-boundaries").read_text()
    assert "Copyright (c) 2024 Cahya DSN" in boundaries
    assert "Permission is hereby granted, free of charge" in boundaries
    assert "cahyadsn/wilayah_boundaries" in boundaries
    assert "hadymaggot" in boundaries
    ocid = (folder / "LICENSE-opencellid").read_text()
    assert "OpenCelliD Project, opencellid.org" in ocid
    assert "CC BY-SA 4.0" in ocid


def test_readme_labels_synthetic_files_and_states_figures() -> None:
    text = (REPO / "data" / "README.md").read_text()
    for name in (
        "towers_synthetic.csv",
        "signal_rsrp.tif",
        "umkm_synthetic.csv.gz",
        "fibre_synthetic.geojson",
        "dem_synthetic.tif",
    ):
        row = next(line for line in text.splitlines() if line.startswith(f"| `{name}`"))
        assert "**SYNTHETIC**" in row
    row = next(line for line in text.splitlines() if line.startswith("| `villages.parquet`"))
    assert "**REAL**" in row
    for figure in ("192,234", "182,655", "9,303", "276", "182022", "python scripts/make_sample.py"):
        assert figure in text


# ------------------------------------------------------------------ villages (REAL)


def test_villages(villages: gpd.GeoDataFrame) -> None:
    assert len(villages) == 2_640
    assert villages.crs.to_epsg() == 4326
    assert list(villages.columns) == ["kode", "nama", "kecamatan", "kabupaten", "geometry"]
    kode = villages["kode"]
    assert pd.api.types.is_string_dtype(kode.dtype)
    assert kode.str.fullmatch(r"18\.\d\d\.\d\d\.\d{4}").all()
    assert kode.is_unique
    # cahyadsn: 205 kelurahan, 2,435 desa with a polygon (11 of 2,446 missing)
    assert (kode.str[9] == "1").sum() == 205
    assert (kode.str[9] == "2").sum() == 2_435
    # 126 kelurahan in Kota Bandar Lampung (../shared/data/README.md)
    assert (kode.str[:5] == "18.71").sum() == 126
    assert villages.loc[kode.str[:5] == "18.71", "kabupaten"].eq("Kota Bandar Lampung").all()
    # the kab file's float code 18.1 must have become Pringsewu's 18.10
    assert villages.loc[kode.str[:5] == "18.10", "kabupaten"].eq("Kabupaten Pringsewu").all()
    assert villages.groupby(kode.str[:5])["kabupaten"].nunique().eq(1).all()
    assert villages["kabupaten"].nunique() == 15
    assert kode.str[:8].nunique() == 229
    assert villages["kecamatan"].notna().all() and villages["nama"].notna().all()
    assert shapely.is_valid(villages.geometry.to_numpy()).all()
    # as in the source: 151 multipolygons of several parts, the rest single polygons
    assert set(villages.geom_type) <= {"Polygon", "MultiPolygon"}
    assert (shapely.get_num_geometries(villages.geometry.to_numpy()) > 1).sum() == 151


# ------------------------------------------------------------------ businesses (SYNTHETIC)


def test_business_counts_and_classes(business_table: pd.DataFrame) -> None:
    b = business_table
    assert list(b.columns) == [
        "id_umkm",
        "kelas",
        "sektor",
        "tenaga_kerja",
        "latitude",
        "longitude",
    ]
    assert len(b) == sum(UMKM.values()) == 192_234
    assert b["kelas"].value_counts().to_dict() == UMKM
    assert b["id_umkm"].is_unique
    assert b["id_umkm"].iloc[0] == "UMKM-000001" and b["id_umkm"].iloc[-1] == "UMKM-192234"
    workers = b["tenaga_kerja"].astype(int)
    bands = {"mikro": (1, 4), "kecil": (5, 19), "menengah": (20, 99)}  # BPS size bands
    for kelas, (lo, hi) in bands.items():
        w = workers[b["kelas"] == kelas]
        assert w.min() >= lo and w.max() <= hi


def test_business_coordinates_and_broken_tail(business_table: pd.DataFrame) -> None:
    lat = pd.to_numeric(business_table["latitude"], errors="coerce").to_numpy()
    lon = pd.to_numeric(business_table["longitude"], errors="coerce").to_numpy()
    body = slice(0, -N_BROKEN)
    assert np.isfinite(lat[body]).all() and np.isfinite(lon[body]).all()
    assert (lon[body] > LON_RANGE[0]).all() and (lon[body] < LON_RANGE[1]).all()
    assert (lat[body] > LAT_RANGE[0]).all() and (lat[body] < LAT_RANGE[1]).all()
    # 5 decimals in the text
    assert business_table["latitude"].iloc[body].str.fullmatch(r"-\d\.\d{5}").all()
    tail_lat, tail_lon = lat[-N_BROKEN:], lon[-N_BROKEN:]
    with np.errstate(invalid="ignore"):
        unusable = ~np.isfinite(tail_lat) | ~np.isfinite(tail_lon)
        unusable |= (np.abs(tail_lat) > 90) | (np.abs(tail_lon) > 180)
        unusable |= (tail_lat == 0) & (tail_lon == 0)  # (0, 0) is a missing-location placeholder
    assert unusable.sum() == N_REJECTED
    assert business_table["kelas"].iloc[-N_BROKEN:].eq("mikro").all()


def test_businesses_lie_inside_villages(
    business_table: pd.DataFrame, villages: gpd.GeoDataFrame
) -> None:
    body = business_table.iloc[:-N_BROKEN]
    pts = gpd.GeoDataFrame(
        geometry=gpd.points_from_xy(
            body["longitude"].astype(float), body["latitude"].astype(float)
        ),
        crs=4326,
    )
    hit = pts.sindex.query(villages.geometry, predicate="contains")
    assert len(np.unique(hit[1])) == len(body)
    # every village has businesses; Bandar Lampung has the most of any kabupaten/kota
    per_kab = pd.Series(villages["kode"].str[:5].to_numpy()[hit[0]]).value_counts()
    assert len(np.unique(hit[0])) == len(villages)
    assert per_kab.idxmax() == "18.71"


# ------------------------------------------------------------------ towers


def test_towers_opencellid_format(paths: dict[str, Path], villages: gpd.GeoDataFrame) -> None:
    first = paths["towers"].read_text().split("\n", 1)[0]
    assert first.split(",")[0] in ("LTE", "GSM")  # no header row, like a real export
    t = pd.read_csv(paths["towers"], header=None, names=OPENCELLID, dtype={"lon": str, "lat": str})
    assert len(t) == 6_297
    assert set(t["radio"]) == {"LTE", "GSM"}
    assert t["mcc"].eq(510).all()
    assert set(t["net"]) == {10, 11, 1, 89, 9}
    assert t["lon"].str.fullmatch(r"\d{3}\.\d{4}").all()
    assert t["unit"].where(t["radio"] == "LTE").dropna().eq(-1).all()
    assert set(t["range"]) == {2_750, 6_250}
    assert not t.duplicated(["radio", "net", "cell"]).any()
    sites = t.drop_duplicates(["lon", "lat"])
    assert len(sites) == 1_041
    # density follows settlement: kota far denser than the remote kabupaten
    pts = gpd.GeoSeries(
        gpd.points_from_xy(sites["lon"].astype(float), sites["lat"].astype(float)), crs=4326
    )
    hit = pts.sindex.query(villages.geometry, predicate="contains")
    kab_of_site = pd.Series(villages["kode"].str[:5].to_numpy()[hit[0]])
    area_km2 = villages.to_crs(32748).area.groupby(villages["kode"].str[:5].to_numpy()).sum() / 1e6
    density = kab_of_site.value_counts().reindex(area_km2.index, fill_value=0) / area_km2
    assert density[list(KOTA)].min() > 20 * density[list(REMOTE_KAB)].max()


def test_opencellid_subset_is_the_real_file(paths: dict[str, Path]) -> None:
    t = pd.read_csv(paths["opencellid"])
    assert list(t.columns) == OPENCELLID
    assert len(t) == 60
    assert t["mcc"].eq(510).all()


# ------------------------------------------------------------------ signal raster (SYNTHETIC)


def test_raster_grid_and_values(
    raster: tuple[np.ndarray, dict], villages: gpd.GeoDataFrame
) -> None:
    arr, prof = raster
    assert prof["crs"].to_epsg() == 32748
    assert prof["dtype"] == "int16" and prof["nodata"] == -32768
    assert prof["transform"].a == 100 and prof["transform"].e == -100
    b = prof["bounds"]
    xmin, ymin, xmax, ymax = villages.to_crs(32748).total_bounds
    assert b.left <= xmin and b.bottom <= ymin and b.right >= xmax and b.top >= ymax
    data = arr[arr != -32768]
    assert data.min() >= -140 and data.max() <= -44
    assert 0.3 < data.size / arr.size < 0.6  # province ~33,600 km2 of an ~81,800 km2 grid
    # every village has signal values at its representative point
    rp = villages.representative_point().to_crs(32748)
    rows, cols = rasterio.transform.rowcol(prof["transform"], rp.x.to_numpy(), rp.y.to_numpy())
    assert (arr[np.asarray(rows), np.asarray(cols)] != -32768).all()


def test_blank_spot_share_of_villages(village_share: pd.Series) -> None:
    assert village_share.notna().all()
    blank = village_share < 0.5
    # data/README.md: 373 of 2,640 (14.1 %); the design asks for 10-25 %
    assert 0.10 <= blank.mean() <= 0.20
    kab = village_share.index.str[:5]
    assert not blank[kab.isin(KOTA)].any()  # the kota are fully served
    assert blank[kab.isin(REMOTE_KAB)].mean() > 0.30  # interior highlands, swamps, west coast
    assert blank[~kab.isin(REMOTE_KAB)].mean() < 0.10


def test_share_of_businesses_without_signal(
    business_table: pd.DataFrame, raster: tuple[np.ndarray, dict]
) -> None:
    arr, prof = raster
    body = business_table.iloc[:-N_BROKEN]
    x, y = Transformer.from_crs(4326, 32748, always_xy=True).transform(
        body["longitude"].astype(float).to_numpy(), body["latitude"].astype(float).to_numpy()
    )
    rows, cols = rasterio.transform.rowcol(prof["transform"], x, y)
    val = arr[np.asarray(rows), np.asarray(cols)]
    assert (val != -32768).all()
    # data/README.md: 14.3 %
    assert 0.05 <= np.mean(val < -110) <= 0.20


# ------------------------------------------------------------------ load_sample


def test_load_sample_follows_the_contract() -> None:
    s = load_sample(weight_col="tenaga_kerja")
    assert set(s) == {"villages", "businesses", "towers", "signal", "network", "dem"}
    # 15 synthetic fibre PoPs, one per kabupaten/kota, and the 1,041 synthetic masts
    kinds = s["network"]["kind"].value_counts().to_dict()
    assert kinds == {"tower": 1041, "fibre": 15}
    pops = s["network"][s["network"]["kind"] == "fibre"]
    assert sorted(pops.index.str[4:]) == sorted(s["villages"]["kabupaten_code"].unique())
    v, b, t = s["villages"], s["businesses"], s["towers"]
    assert len(v) == 2_640 and v.index.name == "village_id"
    assert pd.api.types.is_string_dtype(v.index.dtype)
    assert v.loc["18.71.01.1003", "kabupaten"] == "Kota Bandar Lampung"
    assert len(b) == 192_234 and b.index[0] == "UMKM-000001"
    assert b["rejected_reason"].notna().sum() == N_REJECTED
    np.testing.assert_array_equal(b["weight"].to_numpy(), b["tenaga_kerja"].astype(float))
    assert len(t) == 6_297 and t.crs.to_epsg() == 4326
    assert s["signal"] == sample_paths()["signal"] and s["signal"].is_file()


# ------------------------------------------------------------------ regeneration


@pytest.fixture(scope="module")
def script() -> Any:
    """scripts/make_sample.py imported as a module (scripts/ is not a package)."""
    spec = importlib.util.spec_from_file_location("make_sample", REPO / "scripts/make_sample.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_radio_model_matches_the_documented_constants(script: Any) -> None:
    # By hand, rural site (35 m mast, Hata suburban, 900 MHz, mobile 1.5 m), d = 1 km:
    #   RS EIRP = 46 - 10 log10(600) + 17 - 2 = 46 - 27.7815 + 15 = 33.2185 dBm
    #   a(hm)   = (1.1*2.95424 - 0.7)*1.5 - (1.56*2.95424 - 0.8) = 3.82449 - 3.80861 = 0.01588
    #   L       = 69.55 + 26.16*2.95424 - 13.82*1.54407 - 0.01588 + 0   (log10 1 km = 0)
    #             - (2*log10(900/28)^2 + 5.4) = 69.55 + 77.2829 - 21.3391 - 0.0159 - 9.9426
    #           = 115.5353 dB  ->  RSRP = 33.2185 - 115.5353 = -82.317 dBm
    #   slope   = 44.9 - 6.55*1.54407 = 34.7863 dB/decade
    #   -110 dBm at 10^((110 - 82.317)/34.7863) km = 10^0.79580 = 6.249 km
    assert script.hata_rsrp(np.array([1000.0]), 35.0, "suburban")[0] == pytest.approx(
        -82.317, abs=0.002
    )
    assert script.hata_reach_m(35.0, "suburban", -110.0) == pytest.approx(6_249, abs=2)
    # urban site, 25 m, no suburban correction: 13.82*1.39794 = 19.3195, slope 44.9 - 9.1565
    #   L = 69.55 + 77.2829 - 19.3195 - 0.0159 = 127.4975 -> RSRP = -94.279 dBm
    #   -110 dBm at 10^((110 - 94.279)/35.7435) km = 10^0.43983 = 2.753 km
    assert script.hata_rsrp(np.array([1000.0]), 25.0, "urban")[0] == pytest.approx(
        -94.279, abs=0.002
    )
    assert script.hata_reach_m(25.0, "urban", -110.0) == pytest.approx(2_753, abs=2)
    # 10 x farther loses one slope's worth of dB
    near, far = script.hata_rsrp(np.array([1000.0, 10_000.0]), 35.0, "suburban")
    assert near - far == pytest.approx(34.7863, abs=0.001)


@pytest.mark.slow
@pytest.mark.realdata
def test_regenerating_gives_the_same_content(
    script: Any, shared_data: Path, tmp_path: Path
) -> None:
    """The committed files are what scripts/make_sample.py makes (about 10 s).

    Compares decoded content rather than bytes, so other zlib/GDAL versions still pass.
    """
    script.main(["--shared", str(shared_data), "--out", str(tmp_path), "--fast-compression"])
    committed = sample_dir()
    for name in ("towers_synthetic.csv", "opencellid_lampung.csv", "fibre_synthetic.geojson"):
        assert (tmp_path / name).read_bytes() == (committed / name).read_bytes(), name
    new_csv = gzip.decompress((tmp_path / "umkm_synthetic.csv.gz").read_bytes())
    assert new_csv == gzip.decompress((committed / "umkm_synthetic.csv.gz").read_bytes())
    with (
        rasterio.open(tmp_path / "signal_rsrp.tif") as a,
        rasterio.open(committed / "signal_rsrp.tif") as b,
    ):
        assert a.crs == b.crs and a.transform == b.transform and a.nodata == b.nodata
        np.testing.assert_array_equal(a.read(1), b.read(1))
    with (
        rasterio.open(tmp_path / "dem_synthetic.tif") as a,
        rasterio.open(committed / "dem_synthetic.tif") as b,
    ):
        assert a.crs == b.crs and a.transform == b.transform
        np.testing.assert_array_equal(a.read(1), b.read(1))
    assert_geodataframe_equal(
        gpd.read_parquet(tmp_path / "villages.parquet"),
        gpd.read_parquet(committed / "villages.parquet"),
    )


# ------------------------------------------------------------------ DEM (SYNTHETIC)


def test_sample_dem_looks_like_lampung(paths: dict[str, Path]) -> None:
    from blankspot.terrain import read_dem

    dem = read_dem(paths["dem"])
    assert dem.crs.to_epsg() == 4326  # geographic, like SRTM and Copernicus
    assert 250 < dem.cell_size_m()[0] < 300
    assert paths["dem"].stat().st_size < 1_500_000
    arr = dem.read(rasterio.windows.Window(0, 0, dem.width, dem.height))
    t = dem.transform

    def at(lon: float, lat: float) -> float:
        col, row = ~t @ (lon, lat)
        return float(arr[int(row), int(col)])

    assert at(104.67, -5.42) > 1_500  # Gunung Tanggamus
    assert at(104.13, -4.98) > 1_500  # Gunung Pesagi, Lampung Barat
    assert 0 < at(105.6, -4.6) < 120  # the eastern lowlands (Lampung Timur)
    assert at(105.95, -4.2) == 0  # the Java Sea
    assert at(104.0, -5.6) == 0  # the Indian Ocean off Pesisir Barat
    assert 0 <= arr.min() and arr.max() < 2_500
