"""The command line: demo on the sample, plan on files, bad input exits 2 without a traceback."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pandas as pd
import pytest

import geopandas as gpd
import pyogrio
import shapely

from blankspot.cli import main
from tests.common import CRS_UTM, X0, Y0

DEMO_FILES = [
    "blankspot.gpkg",
    "priority_sites.csv",
    "priority_sites.xlsx",
    "map.png",
    "map.html",
]


@pytest.fixture(scope="module")
def demo_out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("demo") / "out"
    assert main(["demo", "--out", str(out), "--quiet"]) == 0
    return out


@pytest.mark.slow
def test_demo_writes_every_output(demo_out):
    out = demo_out
    names = {p.name for p in out.rglob("*") if p.is_file()}
    for f in DEMO_FILES:
        assert f in names, f"{f} missing from {sorted(names)}"
    layers = {name for name, _ in pyogrio.list_layers(out / "blankspot.gpkg")}
    assert {"villages", "businesses", "blank_spots", "sites", "backhaul"} <= layers
    shp = sorted(out.rglob("*.shp"))
    assert len(shp) == 5
    for s in shp:
        for ext in (".shx", ".dbf", ".prj", ".cpg"):
            assert s.with_suffix(ext).exists()
    table = pd.read_csv(out / "priority_sites.csv", encoding="utf-8-sig")
    assert len(table) == 20
    assert table["rank"].tolist() == list(range(1, 21))


@pytest.mark.slow
def test_demo_refuses_to_overwrite(demo_out, capsys):
    out = demo_out
    code = main(["demo", "--out", str(out), "--quiet"])
    err = capsys.readouterr().err
    assert code == 2
    assert "--overwrite" in err
    assert "Traceback" not in err


@pytest.fixture
def tiny_files(tmp_path, villages, signal_tif) -> dict[str, Path]:
    vpath = tmp_path / "desa.gpkg"
    villages.reset_index().rename(columns={"village_id": "kode", "name": "nama"}).to_file(vpath)
    pts = gpd.GeoSeries(
        shapely.points([[X0 + 1.5, Y0 + 8.5], [X0 + 8.5, Y0 + 6.5], [X0 + 2.5, Y0 + 2.5]]),
        crs=CRS_UTM,
    ).to_crs("EPSG:4326")
    bpath = tmp_path / "umkm.csv"
    pd.DataFrame({"id": ["u1", "u2", "u3"], "longitude": pts.x, "latitude": pts.y}).to_csv(
        bpath, index=False
    )
    return {"villages": vpath, "businesses": bpath, "coverage": signal_tif, "dir": tmp_path}


def test_plan_on_tiny_files(tiny_files, capsys):
    out = tiny_files["dir"] / "hasil"
    code = main(
        [
            "plan",
            "--villages", str(tiny_files["villages"]),
            "--businesses", str(tiny_files["businesses"]),
            "--coverage", str(tiny_files["coverage"]),
            "--crs", CRS_UTM,
            "--radius-m", "3",
            "--spacing-m", "1",
            "--k", "2",
            "--no-maps",
            "--out", str(out),
        ]
    )  # fmt: skip
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert "2 uncovered" in captured.out
    assert "Bound:" in captured.out  # which bound the plan's gap is measured against
    assert (out / "blankspot.gpkg").exists()


def test_plan_with_a_network(tiny_files, capsys):
    out = tiny_files["dir"] / "bh"
    fibre = tiny_files["dir"] / "fibre.geojson"
    gpd.GeoDataFrame(
        {"node_id": ["POP1"], "kind": ["fibre"]},
        geometry=shapely.points([[X0 + 5, Y0 + 5]]),
        crs=CRS_UTM,
    ).to_file(fibre)
    base = [
        "plan",
        "--villages", str(tiny_files["villages"]),
        "--businesses", str(tiny_files["businesses"]),
        "--coverage", str(tiny_files["coverage"]),
        "--crs", CRS_UTM,
        "--radius-m", "3",
        "--spacing-m", "1",
        "--k", "2",
        "--no-maps",
    ]  # fmt: skip
    code = main([*base, "--network", str(fibre), "--out", str(out)])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    # two sites a few metres from the PoP: fibre drops
    assert "Backhaul:" in captured.out and "2 fibre" in captured.out
    links = gpd.read_file(out / "blankspot.gpkg", layer="backhaul")
    assert links["to_id"].tolist() == ["POP1", "POP1"]
    table = pd.read_csv(out / "priority_sites.csv", encoding="utf-8-sig")
    assert table["backhaul"].tolist() == ["fibre", "fibre"]
    # a network file without a kind column, and a vector file given as the DEM
    bad = tiny_files["dir"] / "bad.geojson"
    gpd.read_file(fibre).drop(columns="kind").to_file(bad)
    assert main([*base, "--network", str(bad), "--out", str(out / "x")]) == 2
    err = capsys.readouterr().err
    assert "no 'kind' column" in err and "Traceback" not in err
    assert main([*base, "--dem", str(fibre), "--out", str(out / "y")]) == 2
    assert "cannot read DEM" in capsys.readouterr().err


def test_plan_from_toml(tiny_files, tmp_path):
    out = tmp_path / "from_toml"
    cfg = tmp_path / "plan.toml"
    cfg.write_text(
        f'villages = "{tiny_files["villages"]}"\n'
        f'businesses = "{tiny_files["businesses"]}"\n'
        f'coverage = "{tiny_files["coverage"]}"\n'
        f'out = "{out}"\ncrs = "{CRS_UTM}"\nradius_m = 3\nspacing_m = 1\nk = 1\nmaps = false\n'
    )
    assert main(["plan", "--config", str(cfg), "--quiet"]) == 0
    assert (out / "priority_sites.csv").exists()


@pytest.mark.parametrize(
    ("argv_extra", "match"),
    [
        (["--villages", "nope.gpkg"], "nope.gpkg"),
        (["--threshold-dbm", "5"], "threshold"),
    ],
)
def test_plan_bad_input_exits_2(tiny_files, capsys, argv_extra, match):
    args = {
        "--villages": str(tiny_files["villages"]),
        "--businesses": str(tiny_files["businesses"]),
        "--coverage": str(tiny_files["coverage"]),
        "--out": str(tiny_files["dir"] / "x"),
    }
    for flag, value in zip(argv_extra[::2], argv_extra[1::2], strict=True):
        args[flag] = value
    argv = ["plan", "--crs", CRS_UTM] + [a for kv in args.items() for a in kv]
    code = main(argv)
    err = capsys.readouterr().err
    assert code == 2
    assert match in err
    assert "Traceback" not in err
    # off a terminal, the stages run so far are plain lines before the error
    progress, _, error = err.partition("blankspot plan: error:")
    assert error and all(line.startswith("blankspot: [") for line in progress.splitlines())


def test_plan_missing_required_options(capsys):
    assert main(["plan", "--out", "x"]) == 2
    err = capsys.readouterr().err
    assert "--villages" in err and "--businesses" in err and "--coverage" in err


def test_bad_config_key(tmp_path, capsys):
    cfg = tmp_path / "plan.toml"
    cfg.write_text('villagez = "a.gpkg"\n')
    assert main(["plan", "--config", str(cfg)]) == 2
    assert "villagez" in capsys.readouterr().err


def test_argparse_errors_exit_2():
    with pytest.raises(SystemExit) as exc:
        main(["plan", "--method", "best"])
    assert exc.value.code == 2


def test_help_has_examples(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    assert "blankspot demo --out" in capsys.readouterr().out


@pytest.mark.slow
def test_clean_install_runs_demo_from_elsewhere(tmp_path):
    """Build the wheel, install it into a fresh venv, run the demo in another folder."""
    repo = Path(__file__).resolve().parents[1]
    wheel_dir = tmp_path / "wheel"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
         "-w", str(wheel_dir), str(repo)],
        check=True,
    )  # fmt: skip
    wheel = next(wheel_dir.glob("blankspot-*.whl"))
    # the installed package must stay small (issue #4: under 20 MB)
    assert wheel.stat().st_size < 20e6
    with zipfile.ZipFile(wheel) as zf:
        installed = sum(i.file_size for i in zf.infolist())
        names = zf.namelist()
    assert installed < 20e6, installed
    assert any(n.startswith("blankspot/_sample/") for n in names)
    venv = tmp_path / "venv"
    # a fresh venv without system site packages (from a venv interpreter those would be the
    # base interpreter's, not the running environment's). The dependencies are those of the
    # running environment, put on the new venv's path by a .pth file (no network, no build),
    # which appends them *after* the venv's own site-packages: blankspot itself comes only
    # from the wheel, and the running environment's editable install is not activated.
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    py = venv / "bin" / "python"
    new_site = subprocess.run(
        [str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True, capture_output=True, text=True,
    ).stdout.strip()  # fmt: skip
    deps = [p for p in sys.path if p.endswith(("site-packages", "dist-packages"))]
    subprocess.run(
        [str(py), "-m", "pip", "install", "-q", "--no-deps", "--no-index", str(wheel)],
        check=True,
    )
    # only now: pip must not see the running environment's blankspot as already installed
    (Path(new_site) / "zz_running_env.pth").write_text("\n".join(deps) + "\n")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    where = subprocess.run(
        [str(py), "-c", "import blankspot.sample as s; print(s.sample_dir())"],
        cwd=elsewhere, env=env, check=True, capture_output=True, text=True,
    )  # fmt: skip
    assert str(venv) in where.stdout, where.stdout
    done = subprocess.run(
        [str(venv / "bin" / "blankspot"), "demo", "--out", "D", "--no-maps"],
        cwd=elsewhere, env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert (elsewhere / "D" / "blankspot.gpkg").exists()
    assert "Top sites" in done.stdout


def test_plan_when_everything_is_covered(tmp_path, villages, signal_tif, capsys):
    vpath = tmp_path / "desa.gpkg"
    villages.reset_index().rename(columns={"village_id": "kode", "name": "nama"}).to_file(vpath)
    # one business in V1, which has signal everywhere
    pt = gpd.GeoSeries(shapely.points([[X0 + 1.5, Y0 + 8.5]]), crs=CRS_UTM).to_crs("EPSG:4326")
    bpath = tmp_path / "umkm.csv"
    pd.DataFrame({"longitude": pt.x, "latitude": pt.y}).to_csv(bpath, index=False)
    argv = ["plan", "--villages", str(vpath), "--businesses", str(bpath), "--coverage"]
    argv += [str(signal_tif), "--crs", CRS_UTM, "--no-maps", "--out", str(tmp_path / "o")]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "0 sites connect 0 of 0 uncovered businesses" in out
    assert "nothing to connect" in out


def test_existing_outputs_are_refused_before_any_work(tiny_files, capsys):
    out = tiny_files["dir"] / "taken"
    out.mkdir()
    (out / "map.png").write_bytes(b"not ours")
    argv = ["plan", "--villages", "does-not-exist.gpkg", "--businesses", "x.csv"]
    argv += ["--coverage", "y.tif", "--out", str(out)]
    assert main(argv) == 2
    err = capsys.readouterr().err
    # the refusal comes first: the missing input files were never opened
    assert "map.png already exist" in err and "does-not-exist" not in err
    assert (out / "map.png").read_bytes() == b"not ours"


# --- checks before any work, config types, interrupts (issue 7) ---------------------------------


def _plan_argv(tiny_files, out, **over) -> list[str]:
    args = {
        "--villages": str(tiny_files["villages"]),
        "--businesses": str(tiny_files["businesses"]),
        "--coverage": str(tiny_files["coverage"]),
        "--out": str(out),
        "--crs": CRS_UTM,
        "--radius-m": "300",
        "--spacing-m": "1",
        "--k": "1",
    }
    args.update({f"--{k.replace('_', '-')}": v for k, v in over.items()})
    return ["plan", "--no-maps"] + [a for kv in args.items() for a in kv]


def _fails_fast(argv, capsys, match, monkeypatch) -> str:
    # reading any input would be "work": make it impossible, so only the checks run
    import blankspot.io

    def no_reading(*args, **kwargs):
        raise AssertionError("an input was read before the checks")

    monkeypatch.setattr(blankspot.io, "read_villages", no_reading)
    monkeypatch.setattr(blankspot.io, "read_businesses", no_reading)
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("blankspot plan: error:") and "Traceback" not in err
    assert match in err.replace("\n", " "), err
    return err


def test_out_naming_an_existing_file_fails_before_work(tiny_files, capsys, monkeypatch):
    taken = tiny_files["dir"] / "hasil.txt"
    taken.write_text("a file")
    _fails_fast(_plan_argv(tiny_files, taken), capsys, "is a file, not a folder", monkeypatch)


def test_out_that_cannot_be_created_fails_before_work(tiny_files, capsys, monkeypatch):
    blocker = tiny_files["dir"] / "blocker"
    blocker.write_text("a file where a folder should be")
    out = blocker / "hasil"
    _fails_fast(_plan_argv(tiny_files, out), capsys, "blocker is a file", monkeypatch)


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write anywhere")
def test_out_in_a_read_only_folder_fails_before_work(tiny_files, capsys, monkeypatch):
    ro = tiny_files["dir"] / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    _fails_fast(_plan_argv(tiny_files, ro / "hasil"), capsys, "is not writable", monkeypatch)


@pytest.mark.parametrize(
    ("flag", "value", "match"),
    [
        ("businesses", "DIR", "--businesses {} is a folder"),
        ("coverage", "missing.tif", "--coverage missing.tif does not exist"),
        ("villages", "kel_*.geojson", "--villages 'kel_*.geojson' matches no file"),
        ("sites", "sites.csv", "--sites sites.csv does not exist"),
        ("dem", "srtm/*.hgt", "--dem 'srtm/*.hgt' matches no file"),
    ],
)
def test_input_paths_are_checked_before_work(tiny_files, capsys, monkeypatch, flag, value, match):
    value = str(tiny_files["dir"]) if value == "DIR" else value
    argv = _plan_argv(tiny_files, tiny_files["dir"] / "o", **{flag: value})
    _fails_fast(argv, capsys, match.format(value), monkeypatch)
    assert not (tiny_files["dir"] / "o").exists()


@pytest.mark.parametrize(
    ("line", "match"),
    [
        ("villages = 5", "villages = 5 should be a path or a list of paths"),
        ("coverage = 7", "coverage = 7 should be a path or a list of paths"),
        ('radius_m = "5 km"', "radius_m = '5 km' should be a number"),
        ("maps = 1", "maps = 1 should be true or false"),
        ("dem = 3", "dem = 3 should be a path, glob or list of DEM tiles"),
        ("site_height_m = true", "site_height_m = True should be a number"),
    ],
)
def test_config_values_of_the_wrong_type(tmp_path, capsys, line, match):
    cfg = tmp_path / "plan.toml"
    cfg.write_text(line + "\n")
    assert main(["plan", "--config", str(cfg)]) == 2
    err = capsys.readouterr().err
    assert match in err.replace("\n", " ") and "Traceback" not in err


def test_radius_that_looks_like_kilometres_is_a_log_line(tiny_files, capsys):
    code = main(_plan_argv(tiny_files, tiny_files["dir"] / "o", radius_m="5"))
    err = capsys.readouterr().err
    assert code == 0
    assert "WARNING: --radius-m=5 m is less than 100 m" in err and "Traceback" not in err


_SLOW_MOVE = """
import importlib, signal, sys, time
from pathlib import Path
# Ctrl-C as at a terminal: a process started in the background by a non-interactive shell
# (as CI may run the suite) inherits SIGINT ignored, and Python then keeps it ignored
signal.signal(signal.SIGINT, signal.default_int_handler)
ex = importlib.import_module("blankspot.export")
marker = Path(sys.argv[1])
real = ex._move_into_place
def slow(*args, **kwargs):
    marker.touch()  # every file is staged by now, none moved in
    time.sleep(120)
    return real(*args, **kwargs)
ex._move_into_place = slow
from blankspot.cli import main
sys.exit(main(sys.argv[2:]))
"""


@pytest.mark.slow
@pytest.mark.parametrize(("sig", "code", "word"), [("SIGINT", 130, "interrupted"),
                                                    ("SIGTERM", 143, "terminated")])  # fmt: skip
def test_signal_during_export_leaves_nothing_behind(tiny_files, sig, code, word):
    import signal

    out, marker = tiny_files["dir"] / "hasil", tiny_files["dir"] / "staged"
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    proc = subprocess.Popen(
        [sys.executable, "-c", _SLOW_MOVE, str(marker), *_plan_argv(tiny_files, out)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 120
        while not marker.exists():
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline
            time.sleep(0.05)
        assert list(out.glob(".blankspot-export-*"))  # caught in the middle of the export
        proc.send_signal(getattr(signal, sig))
        _, stderr = proc.communicate(timeout=60)
    finally:  # never leave the child running into later tests
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == code, stderr
    # the stages' progress lines (stderr is a pipe), then the one line saying what happened
    lines = stderr.strip().splitlines()
    assert all(line.startswith("blankspot: [") for line in lines[:-1]), lines
    assert lines[-1] == f"blankspot plan: {word}; nothing was written"
    leftovers = [p.name for p in out.rglob("*")]
    assert leftovers == [], leftovers


def test_plan_phased_by_year(tiny_files, capsys):
    out = tiny_files["dir"] / "tahunan"
    argv = _plan_argv(tiny_files, out, k="2", radius_m="3")
    # the default cost is Rp 2.6e9 a site: one site a year with Rp 3e9
    code = main([*argv, "--annual-budget-idr", "3e9", "--start-year", "2026"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert "By year:" in captured.out
    assert "2026: 1 sites, Rp 2,600,000,000 of Rp 3,000,000,000" in captured.out
    table = pd.read_csv(out / "priority_sites.csv")
    assert table["year"].tolist() == [2026, 2027]
    per_year = pd.read_excel(out / "priority_sites.xlsx", sheet_name="per_year")
    assert per_year["year"].tolist() == [2026, 2027]


def test_annual_budget_needs_a_start_year(tiny_files, capsys, monkeypatch):
    argv = _plan_argv(tiny_files, tiny_files["dir"] / "x")
    _fails_fast(
        [*argv, "--annual-budget-idr", "3e9"],
        capsys,
        "--annual-budget-idr and --start-year go together",
        monkeypatch,
    )


# --- terrain (issue 9) ------------------------------------------------------------------------


def test_plan_with_a_dem(tiny_files, capsys):
    import numpy as np
    from affine import Affine

    from tests.common import write_tif

    flat = write_tif(
        tiny_files["dir"] / "flat.tif",
        np.zeros((14, 14), "int16"),
        Affine(1, 0, X0 - 2, 0, -1, Y0 + 12),
    )
    wall = np.zeros((14, 14), "int16")
    wall[:, 6:8] = 500  # a 500 m wall at x = 4-6 m splits the tiny world
    walled = write_tif(tiny_files["dir"] / "wall.tif", wall, Affine(1, 0, X0 - 2, 0, -1, Y0 + 12))
    outs = {}
    for name, extra in (
        ("none", []),
        ("flat", ["--dem", str(flat)]),
        ("wall", ["--dem", str(walled), "--site-height-m", "10"]),
    ):
        out = tiny_files["dir"] / name
        argv = _plan_argv(tiny_files, out, radius_m="20", k="3") + extra
        assert main(argv) == 0, capsys.readouterr().err
        outs[name] = pd.read_csv(out / "priority_sites.csv", encoding="utf-8-sig")
    # flat ground inside the horizon changes nothing
    pd.testing.assert_frame_equal(outs["flat"], outs["none"])
    # without terrain the cluster site at u2 reaches both uncovered businesses (u2 east,
    # u3 west of the wall); with the wall it no longer sees u3 and another site is chosen
    assert outs["wall"]["site_id"].iloc[0] != outs["none"]["site_id"].iloc[0]


def test_plan_high_ground_moves_proposed_sites(tiny_files, capsys, monkeypatch):
    import numpy as np
    from affine import Affine

    from pyproj import Transformer

    from tests.common import write_tif

    hill = np.zeros((14, 14), "int16")
    hill[3, 9] = 50  # one 50 m cell; its centre is (X0 - 2 + 9.5, Y0 + 12 - 3.5)
    dem = write_tif(tiny_files["dir"] / "hill.tif", hill, Affine(1, 0, X0 - 2, 0, -1, Y0 + 12))
    tables = {}
    for name, extra in (("flat", []), ("hill", ["--high-ground-m", "100"])):
        out = tiny_files["dir"] / name
        argv = [*_plan_argv(tiny_files, out, radius_m="300", k="1"), "--dem", str(dem), *extra]
        assert main(argv) == 0, capsys.readouterr().err
        tables[name] = pd.read_csv(out / "priority_sites.csv", encoding="utf-8-sig")
    # 100 m reaches the hill from anywhere in the tiny world: every proposed site climbs onto
    # that one cell and they merge, so the plan's one site stands on the hill
    lon, lat = Transformer.from_crs(CRS_UTM, "EPSG:4326", always_xy=True).transform(
        X0 + 7.5, Y0 + 8.5
    )
    row = tables["hill"].iloc[0]
    assert (row["longitude"], row["latitude"]) == pytest.approx((lon, lat), abs=1e-6)
    flat = tables["flat"].iloc[0]
    assert (flat["longitude"], flat["latitude"]) != pytest.approx((lon, lat), abs=1e-6)
    capsys.readouterr()  # the two runs' progress lines
    argv = [*_plan_argv(tiny_files, tiny_files["dir"] / "o"), "--high-ground-m", "500"]
    _fails_fast(argv, capsys, "--high-ground-m moves the proposed sites", monkeypatch)
    argv += ["--dem", str(dem), "--sites", str(tiny_files["businesses"])]
    _fails_fast(argv, capsys, "--sites are never moved: drop one of them", monkeypatch)


def test_plan_terrain_model_is_checked(tiny_files, capsys, monkeypatch):
    with pytest.raises(SystemExit) as exc:
        main([*_plan_argv(tiny_files, tiny_files["dir"] / "o"), "--terrain-model", "rf"])
    assert exc.value.code == 2
    assert "invalid choice: 'rf'" in capsys.readouterr().err
    cfg = tiny_files["dir"] / "t.toml"
    cfg.write_text('terrain_model = "rf"\n')
    argv = [*_plan_argv(tiny_files, tiny_files["dir"] / "o"), "--config", str(cfg)]
    _fails_fast(argv, capsys, "--terrain-model must be los or hata, got 'rf'", monkeypatch)
