"""The command line speaks in flags and files, says "1 site", and starts without the heavy stack."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from blankspot.cli import cli_words, main
from tests.common import CRS_UTM
from tests.test_cli import tiny_files  # noqa: F401 - fixture

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("geopandas", "rasterio", "matplotlib", "pandas", "shapely", "pyogrio", "scipy")


def imported_after(code: str) -> list[str]:
    """Heavy modules present in a fresh interpreter after running ``code``."""
    out = subprocess.run(
        [sys.executable, "-c", f"{code}\nimport sys\nprint(' '.join(sorted(sys.modules)))"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
        check=True,
    )
    mods = set(out.stdout.split())
    return [m for m in HEAVY if m in mods]


def test_importing_the_cli_imports_no_geospatial_stack():
    assert imported_after("import blankspot.cli") == []


def test_help_imports_no_geospatial_stack():
    code = (
        "from blankspot.cli import main\n"
        "try:\n    main(['plan', '--help'])\nexcept SystemExit:\n    pass"
    )
    assert imported_after(code) == []


def test_public_names_still_import_lazily():
    import blankspot

    assert callable(blankspot.export)
    assert blankspot.rank_sites.__name__ == "rank_sites"
    assert blankspot.coverage.__name__ == "blankspot.coverage"
    # importing the submodule keeps blankspot.export the function
    import blankspot.export

    assert callable(blankspot.export) and blankspot.export.__name__ == "export"
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        _ = blankspot.nope


def test_typo_in_a_flag_gets_a_suggestion(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["plan", "--buisnesses", "umkm.csv", "--out", "x"])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "--buisnesses: did you mean --businesses?" in err


def test_api_words_become_flags():
    msg = (
        "umkm.csv: 3 of 3 rows have a latitude outside [-90, 90]. Pass lon_col='lat', "
        "lat_col='lon' (on the command line --lon-col lat --lat-col lon) if that is what the "
        "columns hold."
    )
    assert cli_words(msg) == (
        "umkm.csv: 3 of 3 rows have a latitude outside [-90, 90]. Pass --lon-col lat, "
        "--lat-col lon if that is what the columns hold."
    )
    crs = "villages has no CRS. Set it on the data (GeoDataFrame.set_crs('EPSG:4326') if ..."
    assert "set_crs" not in cli_words(crs)
    assert "a .prj file with EPSG:4326" in cli_words(crs)
    geo = "crs=EPSG:4326 is geographic (degrees): ... or leave crs=None to estimate it."
    assert cli_words(geo) == (
        "--crs EPSG:4326 is geographic (degrees): ... or leave out --crs to estimate it."
    )
    # a name that is not a flag of the command stays as it is
    assert cli_words("Pass name_col='...' to set it.") == "Pass name_col='...' to set it."


def argv(files, out, *extra):
    return [
        "plan", "--villages", str(files["villages"]), "--businesses", str(files["businesses"]),
        "--coverage", str(files["coverage"]), "--crs", CRS_UTM, "--radius-m", "3",
        "--spacing-m", "1", "--no-maps", "--out", str(out), *extra,
    ]  # fmt: skip


def test_geographic_crs_message_names_the_flag(tiny_files, capsys):  # noqa: F811
    code = main([*argv(tiny_files, tiny_files["dir"] / "o"), "--crs", "EPSG:4326"])
    err = capsys.readouterr().err
    assert code == 2
    assert "--crs EPSG:4326" in err and "crs=" not in err


def test_spreadsheet_as_coverage_names_flag_and_file(tiny_files, capsys):  # noqa: F811
    xlsx = tiny_files["dir"] / "umkm.xlsx"
    pd.DataFrame({"a": [1]}).to_excel(xlsx, index=False)
    files = {**tiny_files, "coverage": xlsx}
    code = main(argv(files, tiny_files["dir"] / "o"))
    err = " ".join(capsys.readouterr().err.split())
    assert code == 2
    assert f"--coverage {xlsx}" in err
    assert f"--businesses {xlsx}" in err


def test_k_and_budget_without_toml_do_not_mention_toml(tiny_files, capsys):  # noqa: F811
    code = main([*argv(tiny_files, tiny_files["dir"] / "o"), "--k", "2", "--budget-idr", "1e9"])
    err = capsys.readouterr().err
    assert code == 2
    assert "Give either --k or --budget-idr, not both." in err
    assert "TOML" not in err


def test_k_on_the_command_line_and_budget_in_toml(tiny_files, tmp_path, capsys):  # noqa: F811
    cfg = tmp_path / "plan.toml"
    cfg.write_text("budget_idr = 1e9\n")
    code = main([*argv(tiny_files, tmp_path / "o"), "--config", str(cfg), "--k", "2"])
    err = " ".join(capsys.readouterr().err.split())
    assert code == 2
    assert f"budget_idr in {cfg}" in err


def test_one_site_and_one_business_are_singular(tiny_files, capsys):  # noqa: F811
    code = main([*argv(tiny_files, tiny_files["dir"] / "one"), "--k", "1"])
    out = capsys.readouterr().out
    assert code == 0
    assert "1 site connects" in out and "1 sites" not in out
    # the best site reaches one of the two uncovered businesses (b1 and b2 are 8.6 m apart,
    # more than two radii of 3 m)
    assert "+1 business " in out and "+1 businesses" not in out
