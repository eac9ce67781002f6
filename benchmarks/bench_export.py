"""Benchmark: the export of a national assessment, its time and peak memory (issue #11).

Loads a pickled :class:`blankspot.Assessment` (by default the national one,
``benchmarks/_cache/national/assessment.pkl``: ``assess(..., compact=True)`` on the inputs of
``benchmarks/bench_national.py``, 10,000,000 businesses) in a child process, resets the peak
RSS to what holding the assessment takes (Linux ``/proc/self/clear_refs``; unpickling's
transient peak would otherwise hide the export's), then runs :func:`blankspot.export` on it
into a temporary folder (the GeoPackage and the shapefiles by default: the formats that hold
the businesses layer) and prints the wall time, the child's CPU time, the load average, the
peak RSS (``VmHWM``) and what the export added to the held assessment, and the files' sizes.

``--rows N`` keeps the first N businesses only (a quick run); ``--chunk-rows N`` sets
``blankspot.export.CHUNK_ROWS`` (rows written at a time) where the code has it.

Run: ``python benchmarks/bench_export.py [--assessment PATH] [--formats gpkg shp]
[--rows N] [--chunk-rows N] [--out DIR]``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
DEFAULT = HERE / "_cache" / "national" / "assessment.pkl"

CHILD = r"""
import contextlib, dataclasses, gc, json, os, pickle, sys, time
import importlib
import blankspot

export_mod = importlib.import_module("blankspot.export")  # blankspot.export is the function

path, out, formats, rows, chunk_rows = sys.argv[1], sys.argv[2], sys.argv[3].split(","), \
    int(sys.argv[4]), int(sys.argv[5])

def hwm_mb():
    with open("/proc/self/status") as fh:
        return next(int(l.split()[1]) / 1024 for l in fh if l.startswith("VmHWM:"))

t = time.perf_counter()
with open(path, "rb") as fh:
    a = pickle.load(fh)
if rows:
    a = dataclasses.replace(a, businesses=a.businesses.iloc[:rows])
load_s = time.perf_counter() - t
if chunk_rows:
    if not hasattr(export_mod, "CHUNK_ROWS"):
        sys.exit("this blankspot has no export.CHUNK_ROWS")
    export_mod.CHUNK_ROWS = chunk_rows
gc.collect()
# Linux >= 4.0: the peak restarts from the RSS now (unpickling's transient peak gone)
with contextlib.suppress(OSError), open("/proc/self/clear_refs", "w") as fh:
    fh.write("5")
held = hwm_mb()
t, c, load = time.perf_counter(), time.process_time(), os.getloadavg()[0]
blankspot.export(a, out, formats=formats, overwrite=True)
print("RESULT " + json.dumps({
    "businesses": len(a.businesses), "load_s": round(load_s, 1),
    "wall_s": round(time.perf_counter() - t, 1), "cpu_s": round(time.process_time() - c, 1),
    "load": round(max(load, os.getloadavg()[0]), 1), "held_mb": round(held),
    "peak_mb": round(hwm_mb()),
    "chunk_rows": getattr(export_mod, "CHUNK_ROWS", None),
}), flush=True)
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--assessment", default=str(DEFAULT), help="pickled Assessment")
    parser.add_argument("--formats", nargs="+", default=["gpkg", "shp"])
    parser.add_argument("--rows", type=int, default=0, help="first N businesses only")
    parser.add_argument("--chunk-rows", type=int, default=0, help="export.CHUNK_ROWS")
    parser.add_argument("--out", help="output folder (default: a temporary one, removed)")
    opts = parser.parse_args()
    if not Path(opts.assessment).exists():
        sys.exit(f"no assessment at {opts.assessment}: run bench_national.py --save-assessment")
    load = os.getloadavg()[0]
    print(f"exporting {opts.assessment} ({os.cpu_count()} CPUs, load {load:.1f})", flush=True)
    with tempfile.TemporaryDirectory(prefix="bench-export-") as tmp:
        out = Path(opts.out or tmp)
        args = [opts.assessment, str(out), ",".join(opts.formats), str(opts.rows)]
        child = subprocess.run(
            [sys.executable, "-c", CHILD, *args, str(opts.chunk_rows)],
            stdout=subprocess.PIPE,
            text=True,
            check=False,
        )
        result = next(
            (
                json.loads(line[7:])
                for line in child.stdout.splitlines()
                if line.startswith("RESULT ")
            ),
            None,
        )
        if child.returncode or result is None:
            print(f"the export failed (exit {child.returncode})", file=sys.stderr)
            return 1
        sizes = {
            str(p.relative_to(out)): p.stat().st_size for p in sorted(out.rglob("*")) if p.is_file()
        }
    r = result
    print(
        f"{r['businesses']:,} businesses (loaded in {r['load_s']} s); formats "
        f"{' '.join(opts.formats)}; rows written at a time: {r['chunk_rows'] or 'all'}\n"
        f"export: {r['wall_s']} s wall, {r['cpu_s']} s CPU, load {r['load']}\n"
        f"peak RSS {r['peak_mb']:,} MB; assessment held {r['held_mb']:,} MB; the export added "
        f"{r['peak_mb'] - r['held_mb']:,} MB\n"
        f"files: {sum(sizes.values()) / 1e9:.2f} GB "
        + ", ".join(f"{k} {v / 1e6:,.0f} MB" for k, v in sizes.items() if v > 1e6)
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
