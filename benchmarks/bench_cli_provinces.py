"""Benchmark: ``blankspot plan`` over provinces given as globs (issue #11, goal 4).

Cuts the national benchmark inputs (``benchmarks/national_data.py``, generated on first run into
``benchmarks/_cache/national/``) into one folder per province, as a ministry receives them::

    _cache/cli_provinces/data/<pp>/desa.parquet   villages of province pp
    _cache/cli_provinces/data/<pp>/umkm.parquet   businesses in the province's bounding box
                                                  (each business in the first such box only)
    _cache/cli_provinces/rsrp/<pp>.tif            the province's 100 m RSRP raster (a link)

then runs, in a child process timed with ``/usr/bin/time``::

    blankspot plan --villages 'data/*/desa.parquet' --businesses 'data/*/umkm.parquet' \\
        --coverage 'rsrp/*.tif' --weight-col weight --k 100 --per-province-k 50 --no-maps

and prints the run's stage lines (its progress output off a terminal), its summary with the
province table, wall time and peak RSS.

Run: ``python benchmarks/bench_cli_provinces.py [PROVINCE ...]`` (default ``18 36``: Lampung
and Banten).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
OUT = HERE / "_cache" / "cli_provinces"

PREPARE = r"""
import json, sys
from pathlib import Path
import numpy as np, pandas as pd, geopandas as gpd
paths, out, codes = json.loads(sys.argv[1]), Path(sys.argv[2]), sys.argv[3:]
v = gpd.read_parquet(paths["villages"]).reset_index()
b = pd.read_parquet(paths["businesses"])
taken = np.zeros(len(b), dtype=bool)
for code in codes:
    sub = v[v["village_id"].str.startswith(code + ".")]
    folder = out / "data" / code
    folder.mkdir(parents=True, exist_ok=True)
    sub.to_parquet(folder / "desa.parquet")
    x0, y0, x1, y1 = sub.total_bounds
    inside = ((b.lon >= x0) & (b.lon <= x1) & (b.lat >= y0) & (b.lat <= y1)).to_numpy() & ~taken
    taken |= inside
    b[inside].to_parquet(folder / "umkm.parquet", index=False)
    (out / "rsrp").mkdir(exist_ok=True)
    (out / "rsrp" / f"{code}.tif").symlink_to(Path(paths["raster"]).parent / "rsrp" / f"{code}.tif")
    print(f"province {code}: {len(sub):,} villages, {int(inside.sum()):,} businesses")
"""


def main(codes: list[str]) -> None:
    """Cut the national inputs by province, then time ``blankspot plan`` over them."""
    sys.path.insert(0, str(HERE))
    import national_data  # generates the national inputs on first run

    paths = {k: str(v) for k, v in national_data.main().items()}
    shutil.rmtree(OUT, ignore_errors=True)
    OUT.mkdir(parents=True)
    subprocess.run([sys.executable, "-c", PREPARE, json.dumps(paths), str(OUT), *codes], check=True)
    cmd = [
        "/usr/bin/time", "-f", "wall %e s, user %U s, peak RSS %M KB",
        sys.executable, "-m", "blankspot.cli", "plan",
        "--villages", str(OUT / "data" / "*" / "desa.parquet"),
        "--businesses", str(OUT / "data" / "*" / "umkm.parquet"),
        "--coverage", str(OUT / "rsrp" / "*.tif"),
        "--weight-col", "weight", "--k", "100", "--per-province-k", "50", "--no-maps",
        "--out", str(OUT / "hasil"),
    ]  # fmt: skip
    subprocess.run(cmd, check=True)


if __name__ == "__main__":
    main(sys.argv[1:] or ["18", "36"])
