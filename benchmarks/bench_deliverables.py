"""Benchmark: deliverables of the Lampung demo and command start-up (issue #13).

Targets: ``blankspot --help`` under 0.5 s (best of 5, a fresh interpreter each time); the
demo's web map under 3 MB with no network address; ``shp/businesses.dbf`` of the 192,234
sample businesses under 40 MB.

Run: ``python benchmarks/bench_deliverables.py [OLD_CHECKOUT] [--startup-only]`` (about a
minute: it runs ``blankspot demo``; with an older checkout, its ``--help`` is timed too).
"""

from __future__ import annotations

import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
ENV = {"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"}


def best_of(argv: list[str], n: int = 5, root: Path = ROOT) -> tuple[float, float]:
    """Best wall time and best CPU time (user + sys) of ``n`` runs, in seconds.

    CPU time is what the command costs; wall time also counts waiting for a busy machine.
    """
    walls, cpus = [], []
    env = {**ENV, "PYTHONPATH": str(root)}
    for _ in range(n):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.perf_counter()
        subprocess.run(argv, check=True, capture_output=True, env=env, cwd=root)
        walls.append(time.perf_counter() - t0)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return min(walls), min(cpus)


def main() -> None:
    python = sys.executable
    for label, argv in (
        ("python -c pass", [python, "-c", "pass"]),
        ("blankspot --help", [python, "-m", "blankspot.cli", "--help"]),
    ):
        wall, cpu = best_of(argv)
        print(f"{label:<25} {wall:6.2f} s wall, {cpu:6.2f} s CPU (best of 5)")
    older = [a for a in sys.argv[1:] if not a.startswith("--")]
    if older:  # an older checkout to compare with, e.g. /tmp/blankspot-old
        wall, cpu = best_of([python, "-m", "blankspot.cli", "--help"], root=Path(older[0]))
        print(f"{'--help, ' + older[0]:<25} {wall:6.2f} s wall, {cpu:6.2f} s CPU")
    if "--startup-only" in sys.argv:
        return
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "demo"
        t0 = time.perf_counter()
        subprocess.run(
            [python, "-m", "blankspot.cli", "demo", "--out", str(out), "--quiet"],
            check=True,
            env=ENV,
            cwd=ROOT,
        )
        print(f"blankspot demo            {time.perf_counter() - t0:6.1f} s")
        html = (out / "map.html").read_text(encoding="utf-8")
        urls = sorted(set(re.findall(r"https?://[^\s\"'<>)]+", html)))
        sizes = {
            "map.html": out / "map.html",
            "map.png": out / "map.png",
            "blankspot.gpkg": out / "blankspot.gpkg",
            "shp/businesses.dbf": out / "shp" / "businesses.dbf",
            "priority_sites.xlsx": out / "priority_sites.xlsx",
        }
        for name, path in sizes.items():
            print(f"{name:<25} {path.stat().st_size / 1e6:6.2f} MB")
        print(f"URLs in map.html: {urls} (Leaflet's SVG namespace, home page and bug links)")


if __name__ == "__main__":
    main()
