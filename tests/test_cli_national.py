"""blankspot plan over a whole country: globs per province, several rasters, progress per stage.

The fixture is two provinces, one folder each (``data/18``, ``data/31``), 1 km villages in UTM
48S, one RSRP raster per province on one 100 m grid and one business CSV per province::

    province 18 (Lampung)                      province 31 (DKI Jakarta)
    A1 18.01.01.2001  A2 18.01.01.2002         B1 31.71.01.1001  B2 31.71.01.1002
    x 0-1000 m        x 1000-2000 m            x 5000-6000 m     x 6000-7000 m
    all -90 dBm       all -130 dBm             -100 | -120 dBm   all -130 dBm
    2 covered         3 uncovered              1 cov. 1 uncov.   2 uncovered

plus one business at x = 3,550 m, outside every village (in the Jakarta CSV).
"""

from __future__ import annotations

import fcntl
import os
import pty
import struct
import subprocess
import sys
import termios
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from affine import Affine

import geopandas as gpd
import shapely
from shapely.geometry import box

from blankspot.cli import main
from tests.common import CRS_UTM, X0, Y0, write_tif

ROOT = Path(__file__).resolve().parents[1]

VILLAGES = {
    "18": {"18.01.01.2001": (0, 1000), "18.01.01.2002": (1000, 2000)},
    "31": {"31.71.01.1001": (5000, 6000), "31.71.01.1002": (6000, 7000)},
}
BUSINESSES = {
    "18": [250, 750, 1450, 1550, 1650],
    "31": [5250, 5850, 6250, 6450, 3550],
}


def _rsrp(columns: list[float]) -> np.ndarray:
    """One row of 100 m pixels repeated over the 1 km height (10 rows)."""
    return np.tile(np.asarray(columns, dtype="float32"), (10, 1))


RSRP = {
    "18": (0, _rsrp([-90] * 10 + [-130] * 10)),
    "31": (5000, _rsrp([-100] * 5 + [-120] * 5 + [-130] * 10)),
}


@pytest.fixture
def country(tmp_path: Path) -> Path:
    """Write the two provinces' files under ``tmp_path`` and return it."""
    for prov, villages in VILLAGES.items():
        folder = tmp_path / "data" / prov
        folder.mkdir(parents=True)
        gpd.GeoDataFrame(
            {"kode": list(villages), "nama": [f"Desa {k[-4:]}" for k in villages]},
            geometry=[box(X0 + a, Y0, X0 + b, Y0 + 1000) for a, b in villages.values()],
            crs=CRS_UTM,
        ).to_file(folder / "desa.gpkg")
        xs = np.asarray(BUSINESSES[prov], dtype=float)
        pts = gpd.GeoSeries(shapely.points(X0 + xs, Y0 + 550), crs=CRS_UTM).to_crs(4326)
        pd.DataFrame({"longitude": pts.x, "latitude": pts.y}).to_csv(
            folder / "umkm.csv", index=False
        )
        x_left, arr = RSRP[prov]
        (tmp_path / "rsrp").mkdir(exist_ok=True)
        write_tif(
            tmp_path / "rsrp" / f"{prov}.tif",
            arr,
            Affine(100, 0, X0 + x_left, 0, -100, Y0 + 1000),
            nodata=-9999,
        )
    return tmp_path


def _argv(root: Path, out: str = "hasil", **over: str | list[str]) -> list[str]:
    args: dict[str, str | list[str]] = {
        "--villages": str(root / "data" / "*" / "desa.gpkg"),
        "--businesses": str(root / "data" / "*" / "umkm.csv"),
        "--coverage": str(root / "rsrp" / "*.tif"),
        "--out": str(root / out),
        "--crs": CRS_UTM,
        "--radius-m": "1000",
        "--spacing-m": "250",
        "--k": "2",
    }
    args.update({f"--{k.replace('_', '-')}": v for k, v in over.items()})
    argv = ["plan", "--no-maps"]
    for flag, value in args.items():
        argv += [flag, *([value] if isinstance(value, str) else value)]
    return argv


def _villages_gpkg(out: Path) -> pd.DataFrame:
    v = gpd.read_file(out / "blankspot.gpkg", layer="villages")
    return v.set_index("village_id").sort_index()


# --- globs and several files per flag ---------------------------------------------------------


def test_globs_over_provinces_read_every_file(country, capsys):
    assert main(_argv(country)) == 0, capsys.readouterr().err
    out = capsys.readouterr().out
    # 4 villages from two files; 10 businesses from two CSVs whose row ids collide
    assert "Villages assessed:     4 (3 blank spots)" in out
    assert "10 in; 3 covered, 6 uncovered" in out and "1 outside every village" in out
    v = _villages_gpkg(country / "hasil")
    assert v.index.tolist() == [*VILLAGES["18"], *VILLAGES["31"]]
    # per village, by hand from the module docstring's picture
    assert v["n_covered"].tolist() == [2, 0, 1, 0]
    assert v["n_uncovered"].tolist() == [0, 3, 1, 2]
    # covered area from the two rasters as one mosaic: A1 all, A2 none, B1 half, B2 none
    np.testing.assert_allclose(v["covered_area_share"], [1, 0, 0.5, 0], atol=1e-9)
    biz = gpd.read_file(country / "hasil" / "blankspot.gpkg", layer="businesses")
    # ids prefixed with the file they came from, because both files number rows 0..4
    assert sorted(biz["business_id"])[:2] == ["18/umkm:0", "18/umkm:1"]
    assert biz["business_id"].is_unique and len(biz) == 10


def test_shell_expanded_lists_equal_quoted_globs(country, capsys):
    assert main(_argv(country, out="glob")) == 0
    listed = {
        "villages": [str(p) for p in sorted((country / "data").glob("*/desa.gpkg"))],
        "businesses": [str(p) for p in sorted((country / "data").glob("*/umkm.csv"))],
        "coverage": [str(p) for p in sorted((country / "rsrp").glob("*.tif"))],
    }
    assert main(_argv(country, out="list", **listed)) == 0
    capsys.readouterr()
    a, b = _villages_gpkg(country / "glob"), _villages_gpkg(country / "list")
    pd.testing.assert_frame_equal(a.drop(columns="geometry"), b.drop(columns="geometry"))
    sa = pd.read_csv(country / "glob" / "priority_sites.csv", encoding="utf-8-sig")
    sb = pd.read_csv(country / "list" / "priority_sites.csv", encoding="utf-8-sig")
    pd.testing.assert_frame_equal(sa, sb)


def test_globs_in_toml(country, capsys):
    cfg = country / "plan.toml"
    cfg.write_text(
        f'villages = ["{country}/data/18/desa.gpkg", "{country}/data/3*/desa.gpkg"]\n'
        f'businesses = "{country}/data/*/umkm.csv"\n'
        f'coverage = "{country}/rsrp/*.tif"\n'
        f'out = "{country}/toml"\ncrs = "{CRS_UTM}"\nradius_m = 1000\nspacing_m = 250\n'
        "k = 2\nmaps = false\n"
    )
    assert main(["plan", "--config", str(cfg), "--quiet"]) == 0, capsys.readouterr().err
    assert len(_villages_gpkg(country / "toml")) == 4


@pytest.mark.parametrize(
    ("flag", "pattern"),
    [
        ("businesses", "data/*/usaha.csv"),
        ("coverage", "rsrp/*.tiff"),
        ("villages", "data/*/kel.gpkg"),
        ("network", "fibre/*.gpkg"),
        ("sites", "lokasi/*.csv"),
    ],
)
def test_a_glob_matching_nothing_names_flag_and_pattern(country, capsys, flag, pattern):
    pattern = str(country / pattern)
    assert main(_argv(country, **{flag: pattern})) == 2
    err = capsys.readouterr().err
    assert err.startswith("blankspot plan: error:") and "Traceback" not in err
    assert f"--{flag} '{pattern}' matches no file" in err.replace("\n", " ")
    assert not (country / "hasil").exists()


def test_every_empty_glob_is_named_at_once(country, capsys):
    argv = _argv(country, businesses=str(country / "x*.csv"), coverage=str(country / "y*.tif"))
    assert main(argv) == 2
    err = capsys.readouterr().err.replace("\n", " ")
    assert "--businesses" in err and "--coverage" in err


# --- several rasters: one mosaic, the strongest signal where they overlap -----------------------


def test_overlapping_rasters_mosaic_equals_union(tmp_path, capsys):
    """Two overlapping rasters on one grid: the mosaic's answer is the union's, by hand."""
    from blankspot import coverage
    from blankspot._cli_inputs import coverage_from_paths

    # west: x 0-600 m, -100 dBm at x < 300 and -120 beyond; east: x 400-1000 m, -90 at
    # x >= 700 and -125 below. Union at -110: covered x < 300 and x >= 700 -> 60 % of 0-1000
    west = write_tif(
        tmp_path / "w.tif",
        _rsrp([-100] * 3 + [-120] * 3),
        Affine(100, 0, X0, 0, -100, Y0 + 1000),
        nodata=-9999,
    )
    east = write_tif(
        tmp_path / "e.tif",
        _rsrp([-125] * 3 + [-90] * 3),
        Affine(100, 0, X0 + 400, 0, -100, Y0 + 1000),
        nodata=-9999,
    )
    village = gpd.GeoSeries([box(X0, Y0, X0 + 1000, Y0 + 1000)], index=["v"], crs=CRS_UTM)
    from contextlib import ExitStack

    with ExitStack() as stack:
        mosaic = coverage_from_paths(
            [str(west), str(east)], threshold_dbm=-110, covered_values=None, stack=stack
        )
        assert isinstance(mosaic, coverage.RasterCoverage)  # one raster, not a union
        assert "2 rasters" in mosaic.description
        share = mosaic.village_cover(village, CRS_UTM).covered_area_m2 / 1e6
        x = X0 + np.array([150, 350, 450, 550, 650, 750, 950, 1050])
        cov, sig = mosaic.points(x, np.full(x.size, Y0 + 500), CRS_UTM)
        # in the overlap (400-600 m) the strongest is -120 at 450/550 (-120 vs -125)
        np.testing.assert_array_equal(cov, [1, 0, 0, 0, 0, 1, 1, 0])
        np.testing.assert_array_equal(sig, [-100, -120, -120, -120, -125, -90, -90, np.nan])
    union = coverage.union(coverage.from_raster(west), coverage.from_raster(east))
    expected = union.village_cover(village, CRS_UTM).covered_area_m2 / 1e6
    np.testing.assert_allclose(share, expected, rtol=1e-9)
    assert share[0] == pytest.approx(0.6, rel=1e-3)  # 600 of 1000 m wide


def test_rasters_on_different_grids_fall_back_to_the_union(tmp_path):
    from contextlib import ExitStack

    from blankspot import coverage
    from blankspot._cli_inputs import coverage_from_paths

    a = write_tif(tmp_path / "a.tif", _rsrp([-90] * 4), Affine(100, 0, X0, 0, -100, Y0 + 1000))
    b = write_tif(tmp_path / "b.tif", _rsrp([-90] * 4), Affine(50, 0, X0, 0, -50, Y0 + 1000))
    with ExitStack() as stack:
        cov = coverage_from_paths(
            [str(a), str(b)], threshold_dbm=-110, covered_values=None, stack=stack
        )
    assert isinstance(cov, coverage.UnionCoverage) and len(cov.sources) == 2


def test_class_rasters_mosaic_only_without_overlap(tmp_path):
    from contextlib import ExitStack

    from blankspot import coverage
    from blankspot._cli_inputs import coverage_from_paths

    def tif(name: str, x0: float) -> str:
        arr = np.tile(np.array([1, 0, 2, 3], dtype="uint8"), (4, 1))
        return str(write_tif(tmp_path / name, arr, Affine(100, 0, X0 + x0, 0, -100, Y0 + 400)))

    apart, touching, overlapping = tif("a.tif", 0), tif("b.tif", 400), tif("c.tif", 200)
    with ExitStack() as stack:
        one = coverage_from_paths(
            [apart, touching], threshold_dbm=-110, covered_values=[1, 2], stack=stack
        )
        assert isinstance(one, coverage.RasterCoverage)
        x = X0 + np.arange(50, 800, 100)
        cov, _ = one.points(x, np.full(x.size, Y0 + 200), CRS_UTM)
        np.testing.assert_array_equal(cov, [1, 0, 1, 0, 1, 0, 1, 0])
        two = coverage_from_paths(
            [apart, overlapping], threshold_dbm=-110, covered_values=[1, 2], stack=stack
        )
    assert isinstance(two, coverage.UnionCoverage)


# --- progress: a bar per stage on a terminal, plain lines elsewhere, nothing with --quiet ------


def _run(argv: list[str], *, tty: bool) -> tuple[int, str]:
    """Run the CLI in a child; stderr on a pseudo-terminal or a pipe. Return (code, stderr)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "100"}
    cmd = [sys.executable, "-m", "blankspot.cli", *argv]
    if not tty:
        done = subprocess.run(
            cmd, env=env, capture_output=True, text=True, timeout=300, check=False
        )
        return done.returncode, done.stderr
    leader, follower = pty.openpty()
    # a terminal of 24 x 100 characters (a new pseudo-terminal has 0 columns)
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=follower)
    os.close(follower)
    chunks = []
    while True:
        try:
            data = os.read(leader, 4096)
        except OSError:  # the child closed the terminal
            break
        if not data:
            break
        chunks.append(data)
    os.close(leader)
    return proc.wait(timeout=300), b"".join(chunks).decode(errors="replace")


STAGES = ["read", "coverage", "assess", "score", "candidates", "rank", "export"]


@pytest.mark.slow
def test_progress_bars_on_a_terminal(country):
    code, err = _run(_argv(country), tty=True)
    assert code == 0, err
    for i, name in enumerate(STAGES, start=1):
        # each stage's bar, finished: its label, a full bar and its counter or clock
        assert f"[{i}/7] {name}: " in err, err
    assert "[1/7] read: 100%" in err and "4/4 files" in err
    assert "[2/7] coverage: 100%" in err and "2/2 files" in err
    assert "blankspot: [" not in err  # no plain lines on a terminal
    # a log line during a stage goes above its bar, not glued to the bar's end
    assert "WARNING: 1 of 10 businesses fall outside every village" in err
    assert "]WARNING" not in err


def test_progress_lines_off_a_terminal(country, capsys):
    # under capsys stderr is no terminal, as in a log file or CI
    code = main(_argv(country))
    err = capsys.readouterr().err
    assert code == 0, err
    lines = err.splitlines()
    starts = [line for line in lines if line.endswith(" ...")]
    assert starts == [f"blankspot: [{i}/7] {n} ..." for i, n in enumerate(STAGES, start=1)]
    ends = [line for line in lines if ": done in " in line]
    assert len(ends) == 7
    assert ends[0].startswith("blankspot: [1/7] read: done in ") and ends[0].endswith(
        " s (4 files)"
    )
    assert ends[1].endswith(" s (2 files)")
    assert "\r" not in err and "%|" not in err  # no bar drawn into a log


def test_quiet_writes_nothing(country, capsys):
    code = main([*_argv(country), "--quiet"])
    captured = capsys.readouterr()
    assert code == 0 and captured.err == "" and captured.out == ""


@pytest.mark.slow
def test_progress_lines_through_a_pipe(country):
    """The same lines from a child process whose stderr is a pipe (as under nohup or CI)."""
    code, err = _run(_argv(country), tty=False)
    assert code == 0, err
    assert err.count(" ...\n") == 7 and err.count(": done in ") == 7 and "%|" not in err


# --- per province and national ------------------------------------------------------------------

#: by hand from the module docstring: (villages, businesses in villages, covered, uncovered,
#: blank-spot villages). A1 has 0 of 2 uncovered; A2 3 of 3; B1 1 of 2 (half: a blank spot at
#: the default blank_spot_share 0.5); B2 2 of 2. The business outside every village is in no
#: province.
BY_HAND = {"18": (2, 5, 2, 3, 1), "31": (2, 4, 1, 3, 2)}
#: radius 1 km: one site in A2 reaches its 3 uncovered businesses (x 1,450-1,650 m); one near
#: x = 6,000 m reaches B1's 5,850 and B2's 6,250 and 6,450. Province 18's and 31's businesses
#: are 3.2 km apart, so k = 2 gives one site each, 3 new businesses each, at the default
#: Rp 2.6 billion a site.
SITES_BY_HAND = {"18": (1, 3, 2.6e9), "31": (1, 3, 2.6e9)}
COUNT_COLUMNS = ["n_villages", "n_businesses", "n_covered", "n_uncovered", "n_blank_spot_villages"]


def test_province_table_by_hand(country, capsys):
    assert main(_argv(country)) == 0
    out = capsys.readouterr().out
    table = pd.read_csv(
        country / "hasil" / "per_province.csv", encoding="utf-8-sig", dtype={"province_code": str}
    )
    assert table["province_code"].fillna("").tolist() == ["18", "31", ""]
    assert table["province"].tolist() == ["Lampung", "DKI Jakarta", "Indonesia (national)"]
    for i, code in enumerate(["18", "31"]):
        assert table.loc[i, COUNT_COLUMNS].tolist() == list(BY_HAND[code])
        assert table.loc[i, ["n_sites", "new_businesses", "cost_idr"]].tolist() == list(
            SITES_BY_HAND[code]
        )
    # the national row is the sum of the provinces, and agrees with the run's own totals
    national = table.iloc[-1]
    numbers = [c for c in table.columns if c not in ("province_code", "province")]
    assert national[numbers].tolist() == table.iloc[:-1][numbers].sum().tolist()
    assert national[COUNT_COLUMNS].tolist() == [4, 9, 3, 6, 3]
    assert national[["n_sites", "new_businesses", "cost_idr"]].tolist() == [2, 6, 5.2e9]
    # the same table in the summary and in the Excel file
    assert "By province" in out
    assert "  18   Lampung" in out and "Indonesia (national)" in out
    sheet = pd.read_excel(country / "hasil" / "per_province.xlsx", sheet_name="per_province")
    assert sheet["n_uncovered"].tolist() == [3, 3, 6]


def test_province_table_sums_weights(country, capsys):
    # weights by hand: Lampung's uncovered 1,450/1,550/1,650 weigh 2 + 3 + 4 = 9; Jakarta's
    # uncovered 5,850/6,250/6,450 weigh 2 + 3 + 5 = 10 (3,550, outside every village, weighs
    # 5 and counts nowhere); one site each (as SITES_BY_HAND) connects them all
    weights = {"18": [1, 1, 2, 3, 4], "31": [1, 2, 3, 5, 5]}
    for prov, w in weights.items():
        csv = country / "data" / prov / "umkm.csv"
        pd.read_csv(csv).assign(bobot=w).to_csv(csv, index=False)
    argv = [*_argv(country, weight_col="bobot", per_province_k="1")]
    assert main(argv) == 0
    out = capsys.readouterr().out
    table = pd.read_csv(
        country / "hasil" / "per_province.csv", encoding="utf-8-sig", dtype={"province_code": str}
    )
    assert table["weighted_uncovered"].tolist() == [9, 10, 19]
    assert table["new_weighted_businesses"].tolist() == [9, 10, 19]
    assert table["own_new_weighted_businesses"].tolist() == [9, 10, 19]
    assert table["new_businesses"].tolist() == [3, 3, 6]  # counts stay counts
    cols = table.columns.tolist()
    assert cols.index("weighted_uncovered") == cols.index("n_uncovered") + 1
    assert cols.index("new_weighted_businesses") == cols.index("new_businesses") + 1
    assert "new (w)" in out
    assert main([*argv, "--lang", "id", "--out", str(country / "id")]) == 0
    capsys.readouterr()
    table = pd.read_csv(country / "id" / "per_province.csv", sep=";", encoding="utf-8-sig")
    assert table["UMKM tertimbang tanpa sinyal"].tolist() == [9, 10, 19]


def test_province_table_in_indonesian(country, capsys):
    assert main([*_argv(country), "--lang", "id"]) == 0
    capsys.readouterr()
    table = pd.read_csv(
        country / "hasil" / "per_province.csv", sep=";", encoding="utf-8-sig", dtype=str
    )
    assert table.columns[:4].tolist() == ["Kode Provinsi", "Provinsi", "Jumlah desa/kelurahan",
                                          "Jumlah UMKM"]  # fmt: skip
    assert "Desa/kelurahan blank spot" in table.columns and "Biaya (Rp)" in table.columns
    assert table["Provinsi"].tolist() == ["Lampung", "DKI Jakarta", "Indonesia (nasional)"]
    with pd.ExcelFile(country / "hasil" / "per_province.xlsx") as xlsx:
        assert xlsx.sheet_names == ["Per Provinsi"]


def test_per_province_k_ranks_each_province_on_its_own(country, capsys):
    # radius 300 m: A2's three businesses (x 1,450-1,650) need one site; in province 31,
    # 6,250 and 6,450 share one site and 5,850 (400 m from 6,250) needs a second. k = 1
    # nationally takes A2's site (3 > 2); k = 2 per province: 18 stops after one site (nothing
    # left to connect), 31 builds two (2, then 1)
    argv = _argv(country, k="1", per_province_k="2", radius_m="300", spacing_m="100")
    assert main(argv) == 0
    out = capsys.readouterr().out
    table = pd.read_csv(
        country / "hasil" / "per_province.csv", encoding="utf-8-sig", dtype={"province_code": str}
    )
    assert table["n_sites"].tolist() == [1, 0, 1]
    assert table["new_businesses"].tolist() == [3, 0, 3]
    assert table["own_sites"].tolist() == [1, 2, 3]
    assert table["own_new_businesses"].tolist() == [3, 3, 6]
    assert table["own_cost_idr"].tolist() == [2.6e9, 5.2e9, 7.8e9]
    assert "own sites" in out
    sites = pd.read_csv(
        country / "hasil" / "per_province_sites.csv", encoding="utf-8-sig", dtype=str
    )
    assert sites["province_code"].tolist() == ["18", "31", "31"]
    assert sites["rank"].tolist() == ["1", "1", "2"]
    assert sites["new_businesses"].tolist() == ["3", "2", "1"]
    # each province's sites stand in its own villages
    assert [v[:2] for v in sites["village_id"]] == ["18", "31", "31"]
    with pd.ExcelFile(country / "hasil" / "per_province.xlsx") as xlsx:
        assert xlsx.sheet_names == ["per_province", "per_province_sites"]


def test_one_province_has_no_table_unless_asked(country, capsys):
    argv = _argv(country, villages=str(country / "data" / "18" / "desa.gpkg"))
    assert main(argv) == 0
    assert not (country / "hasil" / "per_province.csv").exists()
    assert not (country / "hasil" / "per_province_sites.csv").exists()
    assert "By province" not in capsys.readouterr().out
    assert main([*_argv(country, villages=argv[argv.index("--villages") + 1], out="o2"),
                 "--by-province"]) == 0  # fmt: skip
    table = pd.read_csv(country / "o2" / "per_province.csv", dtype={"province_code": str})
    assert table["province_code"].fillna("").tolist() == ["18", ""]
    assert table["n_villages"].tolist() == [2, 2]


def test_per_province_k_must_be_a_whole_number(country, capsys):
    cfg = country / "plan.toml"
    cfg.write_text("per_province_k = 2.5\nby_province = 1\n")
    assert main(["plan", "--config", str(cfg)]) == 2
    err = capsys.readouterr().err.replace("\n", " ")
    assert "per_province_k = 2.5 should be a whole number" in err
    assert "by_province = 1 should be true or false" in err
    assert main(_argv(country, per_province_k="0")) == 2
    assert "--per-province-k must be a whole number of sites >= 1" in capsys.readouterr().err


# --- real data: two provinces from ../shared/data ----------------------------------------------


@pytest.mark.slow
def test_two_real_provinces(shared_data, tmp_path, capsys):
    """Bandar Lampung's 126 kelurahan (18.71) and Jakarta's kecamatan (31.xx.xx, real polygons
    standing in for villages: the national layer has no village polygons), seeded businesses in
    each, the real OpenCelliD towers as coverage. The province table is checked against an
    independent count (geopandas point-in-polygon) and its national row against the sum."""
    import pyogrio

    lampung = shared_data / "lampung_boundaries" / "wilayah_boundaries_kel_18.71.geojson"
    kec = gpd.read_parquet(shared_data / "indonesia" / "kecamatan.parquet")
    jakarta = kec[kec["kode"].str.startswith("31.71")]  # Jakarta Pusat, 8 kecamatan
    (tmp_path / "31").mkdir()
    jakarta.to_file(tmp_path / "31" / "desa.gpkg")
    rng = np.random.default_rng(11)
    files = {"18": lampung, "31": tmp_path / "31" / "desa.gpkg"}
    expected_in = {}
    for code, path in files.items():
        v = gpd.read_file(path)
        x0, y0, x1, y1 = v.total_bounds
        pts = pd.DataFrame(
            {"lon": rng.uniform(x0, x1, 300), "lat": rng.uniform(y0, y1, 300)}
        )  # some fall outside every village (the bounding box is larger than the city)
        pts.to_csv(tmp_path / f"umkm_{code}.csv", index=False)
        g = gpd.GeoDataFrame(geometry=gpd.points_from_xy(pts.lon, pts.lat), crs=4326)
        expected_in[code] = int(gpd.sjoin(g, v[["geometry"]].to_crs(4326)).index.nunique())
    argv = [
        "plan", "--villages", str(lampung), str(files["31"]),
        "--businesses", str(tmp_path / "umkm_*.csv"),
        "--coverage", str(shared_data / "opencellid" / "510.csv"),
        "--k", "3", "--no-maps", "--out", str(tmp_path / "hasil"),
    ]  # fmt: skip
    assert main(argv) == 0, capsys.readouterr().err
    out = capsys.readouterr().out
    t = pd.read_csv(tmp_path / "hasil" / "per_province.csv", dtype={"province_code": str})
    assert t["province"].tolist() == ["Lampung", "DKI Jakarta", "Indonesia (national)"]
    assert t["n_villages"].tolist()[:2] == [
        pyogrio.read_info(lampung)["features"],
        len(jakarta),
    ]
    assert t["n_businesses"].tolist()[:2] == [expected_in["18"], expected_in["31"]]
    assert (t["n_covered"] + t["n_uncovered"]).tolist() == t["n_businesses"].tolist()
    numbers = t.columns[2:]
    assert t.iloc[-1][numbers].tolist() == t.iloc[:-1][numbers].sum().tolist()
    assert t["n_sites"].iloc[-1] == 3
    assert "By province" in out


def test_several_site_and_network_files(country, capsys):
    # one candidate site per province, each file numbering its sites U000001, and one fibre
    # PoP per province, each file numbering its nodes N0: ids get their file's name. Province
    # 18's site stands at x = 2,200 m, outside every village, 200 m east of A2 (its 3 uncovered
    # businesses within 750 m): it counts in A2's province, the nearest village's
    for folder, prov, x in (("lokasi", "18", 2200), ("lokasi", "31", 6150)):
        (country / folder).mkdir(exist_ok=True)
        pt = gpd.GeoSeries(shapely.points([[X0 + x, Y0 + 550]]), crs=CRS_UTM).to_crs(4326)
        pd.DataFrame({"lon": pt.x, "lat": pt.y}).to_csv(country / folder / f"{prov}.csv")
        (country / "fibre").mkdir(exist_ok=True)
        gpd.GeoDataFrame(
            {"kind": ["fibre"]}, geometry=shapely.points([[X0 + x, Y0 + 600]]), crs=CRS_UTM
        ).to_file(country / "fibre" / f"{prov}.gpkg")
    argv = _argv(
        country, sites=str(country / "lokasi" / "*.csv"), network=str(country / "fibre" / "*")
    )
    assert main(argv) == 0, capsys.readouterr().err
    table = pd.read_csv(country / "hasil" / "priority_sites.csv", encoding="utf-8-sig")
    assert sorted(table["site_id"]) == ["18:U000001", "31:U000001"]
    assert table["new_businesses"].tolist() == [3, 3]
    links = gpd.read_file(country / "hasil" / "blankspot.gpkg", layer="backhaul")
    # each site drops to its own province's PoP, 50 m away
    assert sorted(links["to_id"]) == ["18:N0", "31:N0"]
    per_province = pd.read_csv(country / "hasil" / "per_province.csv")
    assert per_province["n_sites"].tolist() == [1, 1, 2]
    assert per_province["new_businesses"].tolist() == [3, 3, 6]


def test_by_province_needs_province_codes(country, capsys):
    desa = country / "kode_lain.gpkg"
    gpd.read_file(country / "data" / "18" / "desa.gpkg").assign(kode=["A1", "A2"]).to_file(desa)
    import blankspot.assessment

    def no_assess(*args, **kwargs):
        raise AssertionError("assessed before the codes were checked")

    argv = _argv(country, villages=str(desa), businesses=str(country / "data/18/umkm.csv"))
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(blankspot.assessment, "assess", no_assess)
        assert main([*argv, "--by-province"]) == 2
    err = capsys.readouterr().err.replace("\n", " ")
    assert "--by-province needs village ids that begin with their province" in err
    assert "'A1'" in err and "Traceback" not in err
    # without the flag, ids that are not codes simply give no province table
    assert main(argv) == 0
    assert not (country / "hasil" / "per_province.csv").exists()


def test_province_options_in_toml(country, capsys):
    cfg = country / "plan.toml"
    cfg.write_text(
        f'villages = "{country}/data/18/desa.gpkg"\n'
        f'businesses = "{country}/data/18/umkm.csv"\n'
        f'coverage = "{country}/rsrp/18.tif"\n'
        f'out = "{country}/toml"\ncrs = "{CRS_UTM}"\nradius_m = 1000\nspacing_m = 250\n'
        "k = 2\nmaps = false\nby_province = true\nper_province_k = 1\n"
    )
    assert main(["plan", "--config", str(cfg), "--quiet"]) == 0, capsys.readouterr().err
    table = pd.read_csv(country / "toml" / "per_province.csv", dtype={"province_code": str})
    assert table["province"].tolist() == ["Lampung", "Indonesia (national)"]
    assert table["own_sites"].tolist() == [1, 1] and table["own_new_businesses"].tolist() == [3, 3]


# --- a whole country's businesses: batches and the compact table ------------------------------


def test_compact_run_equals_the_in_memory_run(country, capsys):
    # ids unique over the two files: without --id-col the compact run numbers the rows across
    # the files (0-9) where the in-memory run prefixes each file's row numbers (18/umkm:0)
    for prov, first in (("18", "L"), ("31", "J")):
        csv = country / "data" / prov / "umkm.csv"
        pd.read_csv(csv).assign(kode=[f"{first}{i}" for i in range(5)]).to_csv(csv, index=False)
    argv = _argv(country, per_province_k="1", id_col="kode")
    assert main([*argv, "--out", str(country / "mem")]) == 0
    assert main([*argv, "--out", str(country / "cmp"), "--compact"]) == 0
    capsys.readouterr()
    for name in ("priority_sites.csv", "per_province.csv", "per_province_sites.csv"):
        mem = pd.read_csv(country / "mem" / name, encoding="utf-8-sig")
        cmp_ = pd.read_csv(country / "cmp" / name, encoding="utf-8-sig")
        pd.testing.assert_frame_equal(cmp_, mem)
    mem = gpd.read_file(country / "mem" / "blankspot.gpkg", layer="businesses")
    cmp_ = gpd.read_file(country / "cmp" / "blankspot.gpkg", layer="businesses")
    assert cmp_["business_id"].tolist() == [
        *(f"L{i}" for i in range(5)),
        *(f"J{i}" for i in range(5)),
    ]
    assert mem["business_id"].tolist() == cmp_["business_id"].tolist()
    assert cmp_["status"].tolist() == mem["status"].tolist()
    assert cmp_.geometry.geom_equals_exact(mem.geometry, tolerance=1e-6).all()


def test_compact_is_automatic_above_a_row_count(country, capsys, monkeypatch):
    import blankspot._cli_inputs as inputs
    import blankspot.assessment

    seen = []
    real = blankspot.assessment.assess

    def spy(villages, businesses, *args, **kwargs):
        seen.append((type(businesses).__name__, kwargs["compact"]))
        return real(villages, businesses, *args, **kwargs)

    monkeypatch.setattr(blankspot.assessment, "assess", spy)
    assert main(_argv(country, out="a")) == 0  # 10 rows: read whole
    assert main(_argv(country, out="b", compact=[])) == 0  # --compact asks for it anyway
    monkeypatch.setattr(inputs, "COMPACT_ROWS", 7)  # 5 + 5 rows: past 7 in the second file
    assert main(_argv(country, out="c")) == 0
    capsys.readouterr()
    assert seen == [("GeoDataFrame", False), ("BusinessBatches", True), ("BusinessBatches", True)]


def test_row_counts_of_business_files(tmp_path):
    import gzip

    from blankspot._cli_inputs import _rows_in

    csv = tmp_path / "b.csv"
    csv.write_text("lon,lat\n105.1,-5.1\n105.2,-5.2\n105.3,-5.3\n")
    gz = tmp_path / "b.csv.gz"
    gz.write_bytes(gzip.compress(csv.read_bytes()))
    pd.DataFrame({"lon": [1.0] * 4, "lat": [2.0] * 4}).to_parquet(tmp_path / "b.parquet")
    gpd.GeoDataFrame(geometry=[shapely.Point(0, 0)] * 2, crs=4326).to_file(tmp_path / "b.gpkg")
    assert _rows_in(str(csv), 100) == 3
    assert _rows_in(str(gz), 100) == 3
    assert _rows_in(str(tmp_path / "b.parquet"), 100) == 4
    assert _rows_in(str(tmp_path / "b.gpkg"), 100) == 2
    assert _rows_in(str(tmp_path / "missing.csv"), 100) == 0  # the reader reports it later


def test_compact_in_toml_must_be_true_or_false(country, capsys):
    cfg = country / "plan.toml"
    cfg.write_text('compact = "yes"\n')
    assert main([*_argv(country), "--config", str(cfg)]) == 2
    err = capsys.readouterr().err.replace("\n", " ")
    assert "compact = 'yes' should be true or false" in err
