"""Benchmark: ``blankspot.distributed.assess`` on a LocalCluster of 1 and 2 worker processes.

Data: a few provinces of the national benchmark (``benchmarks/national_data.py``; default
Jawa Barat, Jawa Tengah and DI Yogyakarta, 32/33/34: ~15,000 villages, ~1.9 million
businesses), coverage = their 100 m RSRP rasters (the VRT) OR the real towers. The workers
read the business Parquet files themselves (``dask.dataframe.read_parquet``, one partition
per row group), classify them against the village half the client computed once, and send
back compact tables (``compact=True``); the client adds them up.

For each worker count: the wall time of the village half (on the client, the same for any
number of workers), of the business half (the workers), the CPU time of the client and of
every worker, and the machine's load average. The in-memory path (``read_businesses_batches``
in one process) is timed too, and the accounting of every run must equal it.

Run: ``python benchmarks/bench_distributed.py [--provinces 32,33,34] [--workers 1,2]``.
Exit status 1 if a run's results differ from the in-memory path.
"""

from __future__ import annotations

import argparse
import logging
import os
import resource
import sys
import time
from pathlib import Path


def _cpu_s() -> float:
    """This process's CPU time, seconds (user + system)."""
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def _worker_cpu(client: object) -> float:
    return sum(client.run(_cpu_s).values())  # type: ignore[attr-defined]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--provinces", default="32,33,34")
    parser.add_argument("--workers", default="1,2")
    opts = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("distributed").setLevel(logging.WARNING)
    from national_data import paths_from_child

    paths = paths_from_child()

    import dask
    import dask.dataframe as dd
    import dask_geopandas
    import distributed

    import blankspot
    from blankspot import coverage
    from blankspot import distributed as bsd
    from blankspot.assessment import _village_part

    provinces = [p.strip() for p in opts.provinces.split(",") if p.strip()]
    files = [str(Path(paths["businesses"]) / f"{p}.parquet") for p in provinces]
    villages = blankspot.read_villages(paths["villages"])
    villages = villages[villages.index.str[:2].isin(provinces)]
    towers = blankspot.read_towers(paths["towers"])
    cov = coverage.union(coverage.from_raster(paths["raster"]), coverage.from_towers(towers))

    print(
        f"distributed benchmark: provinces {','.join(provinces)}, {len(villages):,} villages; "
        f"{os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}",
        flush=True,
    )
    half: dict[str, float] = {}

    def timed_half(*args: object, **kwargs: object) -> object:
        """The client's village half, timed inside each distributed run."""
        t, c = time.perf_counter(), _cpu_s()
        out = _village_part(*args, **kwargs)
        half.update(wall=time.perf_counter() - t, cpu=_cpu_s() - c)
        return out

    bsd._village_part = timed_half  # type: ignore[attr-defined]
    t, c = time.perf_counter(), _cpu_s()
    batches = blankspot.read_businesses_batches(files, id_col="business_id", weight_col="weight")
    ref = blankspot.assess(villages, batches, cov, compact=True)
    mem_wall, mem_cpu = time.perf_counter() - t, _cpu_s() - c
    n = ref.accounting["input"]
    print(
        f"in-memory assess (batches, one process): {mem_wall:.1f} s wall, {mem_cpu:.1f} s CPU "
        f"for {n:,} businesses",
        flush=True,
    )
    rows = []
    ok = True
    for w in [int(x) for x in opts.workers.split(",")]:
        with (
            distributed.LocalCluster(
                n_workers=w, threads_per_worker=1, processes=True, dashboard_address=None
            ) as cluster,
            distributed.Client(cluster) as client,
            dask.config.set({"dataframe.convert-string": False}),
        ):
            ddf = dd.read_parquet(files, index="business_id")
            ddf = ddf.repartition(npartitions=max(4 * w, ddf.npartitions))
            dbiz = dask_geopandas.from_dask_dataframe(
                ddf, geometry=dask_geopandas.points_from_xy(ddf, "lon", "lat", crs="EPSG:4326")
            )
            load0 = os.getloadavg()[0]
            w_cpu0 = _worker_cpu(client)
            t, c = time.perf_counter(), _cpu_s()
            got = bsd.assess(villages, dbiz, cov, compact=True)
            wall, client_cpu = time.perf_counter() - t, _cpu_s() - c
            worker_cpu = _worker_cpu(client) - w_cpu0
            load = max(load0, os.getloadavg()[0])
        same = got.accounting == ref.accounting and got.villages.equals(ref.villages)
        ok &= same
        biz_wall = wall - half["wall"]
        rows.append((w, dbiz.npartitions, wall, biz_wall, client_cpu, worker_cpu, load))
        print(
            f"{w} worker(s), {dbiz.npartitions} partitions: {wall:.1f} s wall = village half "
            f"{half['wall']:.1f} s (client, {half['cpu']:.1f} s CPU) + business half "
            f"{biz_wall:.1f} s (workers' CPU {worker_cpu:.1f} s); client CPU "
            f"{client_cpu:.1f} s, load {load:.1f}; equal to in-memory: {same}",
            flush=True,
        )
    if len(rows) > 1:
        base = rows[0]
        for r in rows[1:]:
            print(
                f"speed-up {base[0]} -> {r[0]} workers: total {base[2] / r[2]:.2f}x, business "
                f"half {base[3] / max(r[3], 1e-9):.2f}x (ideal {r[0] / base[0]:.0f}x on idle "
                "cores)"
            )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
