"""Benchmark site ranking (issue #3): greedy and exact MCLP against spopt, and a large greedy run.

Run from the repository root::

    python benchmarks/bench_prioritise.py                 # both cases, spopt side by side
    python benchmarks/bench_prioritise.py --case small --no-spopt
    python benchmarks/bench_prioritise.py --case large --uniform

Cases (all generated here with a fixed seed, in metres on a UTM 48S extent the size of
Lampung, 183 x 183 km ~ 33,500 km2):

* ``small``: 12,000 weighted demand points (clustered around 400 village centres, sigma 1.5 km;
  weights 1/3/10 for mikro/kecil/menengah with probabilities 0.90/0.08/0.02) x 2,000 uniform
  candidate sites, radius 5 km, k = 50. Times the sparse coverage matrix, demand aggregation,
  ``greedy`` and ``exact`` (HiGHS) on the numeric core, then ``rank_sites`` end to end on an
  Assessment, then spopt's ``MCLP.from_cost_matrix`` + ``solve`` (PuLP + HiGHS) on the same
  instance, checks that the optima agree and prints the speed ratio. Targets: greedy < 0.5 s,
  exact proves the optimum < 10 s. ``--side-km 90`` packs the same points and sites into a
  smaller square: heavier overlap, a much harder integer program.
* ``large``: 500,000 uncovered businesses (clustered around 2,600 village centres, sigma 1 km,
  or uniform with ``--uniform``) x 10,000 uniform candidates, radius 5 km, ``rank_sites``
  greedy with k = 50 and with no k (rank every useful site). Runs in a child process so its
  peak resident memory (``ru_maxrss``) is its own. Targets: < 30 s and < 4 GB.

* ``real`` (issue #8): the real Lampung villages (``../shared/data/lampung_boundaries``),
  coverage from the real OpenCelliD export (``../shared/data/opencellid/510.csv``, 60 cells in
  the province) via ``read_towers`` / ``coverage.from_towers``, the sample's 192,234 synthetic
  businesses (183,064 uncovered), ``candidate_sites`` defaults (14,412 candidates),
  ``radius_m=5000``. Runs (``--runs``, default all): ``greedy-greedy``, ``greedy-lagrangian``,
  ``greedy-lp`` (k=20, the three bounds of a greedy plan), ``exact20`` (k=20,
  ``time_limit_s=60``), ``exact100`` (k=100, 300 s), ``budget-greedy`` and ``budget-exact``
  (per-site ``cost_idr`` uniform in Rp 1.3-3.9 billion, seed 8, budget = 20 x the mean cost,
  60 s). Each run is ``rank_sites`` end to end; the table printed is the README's, with the
process's CPU time (HiGHS may use both cores) and the 1-minute load average after the run.

Numbers are printed, never asserted: timing on shared machines varies.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

import geopandas as gpd
from pyproj import CRS
from shapely.geometry import box

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from blankspot import _mclp
from blankspot.assessment import Assessment
from blankspot.prioritise import rank_sites

log = logging.getLogger("bench_prioritise")

CRS_UTM = "EPSG:32748"
X0, Y0 = 350_000.0, 9_350_000.0  # south-west corner, inside UTM 48S over Lampung
ORIGIN = np.array([X0, Y0])
SIDE_M = 183_000.0
RADIUS_M = 5000.0


def clustered(rng: np.random.Generator, n: int, n_centres: int, sigma_m: float) -> np.ndarray:
    centres = rng.uniform(0, SIDE_M, (n_centres, 2))
    xy = centres[rng.integers(0, n_centres, n)] + rng.normal(0, sigma_m, (n, 2))
    return np.clip(xy, 0, SIDE_M) + ORIGIN


def uniform(rng: np.random.Generator, n: int) -> np.ndarray:
    return rng.uniform(0, SIDE_M, (n, 2)) + ORIGIN


def make_assessment(xy: np.ndarray, weights: np.ndarray | None, cells: int = 50) -> Assessment:
    """An Assessment whose businesses are all uncovered, villages a cells x cells grid."""
    size = SIDE_M / cells
    i, j = np.meshgrid(np.arange(cells), np.arange(cells), indexing="ij")
    vids = np.array([f"18.99.{a:02d}.{b:04d}" for a, b in zip(i.ravel(), j.ravel(), strict=True)])
    villages = gpd.GeoDataFrame(
        {
            "name": vids,
            "kecamatan": "Kec",
            "kabupaten": "Kab",
            "covered_area_share": 0.0,
        },
        geometry=[
            box(X0 + a * size, Y0 + b * size, X0 + (a + 1) * size, Y0 + (b + 1) * size)
            for a, b in zip(i.ravel(), j.ravel(), strict=True)
        ],
        index=pd.Index(vids, name="village_id"),
        crs=CRS_UTM,
    )
    cx = np.clip(((xy[:, 0] - X0) // size).astype(int), 0, cells - 1)
    cy = np.clip(((xy[:, 1] - Y0) // size).astype(int), 0, cells - 1)
    n = len(xy)
    businesses = gpd.GeoDataFrame(
        {
            "weight": weights if weights is not None else np.ones(n),
            "village_id": vids[cx * cells + cy],
            "covered": False,
            "status": "uncovered",
        },
        geometry=gpd.points_from_xy(xy[:, 0], xy[:, 1]),
        index=pd.Index([f"B{i:07d}" for i in range(n)], name="business_id"),
        crs=CRS_UTM,
    )
    spots = gpd.GeoDataFrame({"village_id": []}, geometry=[], crs=CRS_UTM)
    return Assessment(
        businesses=businesses,
        villages=villages,
        blank_spots=spots,
        accounting={"input": n, "covered": 0, "uncovered": n, "outside_villages": 0, "rejected": 0},
        rejected=pd.DataFrame({"reason": pd.Series(dtype=object)}),
        crs=CRS.from_user_input(CRS_UTM),
        weight_col="weight" if weights is not None else None,
    )


def sites_frame(xy: np.ndarray) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        geometry=gpd.points_from_xy(xy[:, 0], xy[:, 1]),
        index=pd.Index([f"S{i:05d}" for i in range(len(xy))], name="site_id"),
        crs=CRS_UTM,
    )


def timed(fn, *args, **kwargs):
    t = time.perf_counter()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - t


def small_case(*, run_spopt: bool, side_m: float = SIDE_M, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    n, m, k = 12_000, 2_000, 50
    scale = side_m / SIDE_M  # a smaller square packs the same points and sites closer
    demand = (clustered(rng, n, 400, 1500.0) - ORIGIN) * scale + ORIGIN
    w = rng.choice([1.0, 3.0, 10.0], p=[0.90, 0.08, 0.02], size=n)
    sites = (uniform(rng, m) - ORIGIN) * scale + ORIGIN
    print(
        f"small case: {n:,} weighted demand x {m:,} sites on {side_m / 1000:g} x "
        f"{side_m / 1000:g} km, radius {RADIUS_M:g} m, k = {k}"
    )

    A, t_cov = timed(_mclp.coverage_from_points, demand, sites, RADIUS_M)
    (A2, w2, _), t_agg = timed(_mclp.aggregate_demand, A, w)
    print(f"  coverage matrix     {t_cov:7.3f} s   ({A.nnz:,} pairs, sparse)")
    print(f"  aggregate demand    {t_agg:7.3f} s   ({n:,} -> {A2.shape[0]:,} rows)")
    g, t_g = timed(_mclp.greedy_mclp, A2, w2, k=k)
    print(
        f"  greedy (core)       {t_g:7.3f} s   objective {g.objective:,.0f}, "
        f"bound {g.upper_bound:,.0f} (gap {g.gap:.1%})"
    )
    lp, t_lp = timed(_mclp.lp_bound, A2, w2, k=k)
    print(f"  LP relaxation bound {t_lp:7.3f} s   {lp:,.1f}")
    e, t_e = timed(_mclp.exact_mclp, A2, w2, k=k)
    print(
        f"  exact (core, HiGHS) {t_e:7.3f} s   objective {e.objective:,.0f}, "
        f"bound {e.upper_bound:,.0f}, {e.status}, gap {e.gap:.2%}"
    )
    print(f"  greedy / exact      {g.objective / e.objective:.4f}")

    assessment = make_assessment(demand, w)
    frame = sites_frame(sites)
    pg, t_pg = timed(rank_sites, assessment, frame, radius_m=RADIUS_M, k=k)
    pe, t_pe = timed(rank_sites, assessment, frame, radius_m=RADIUS_M, k=k, method="exact")
    print(f"  rank_sites greedy   {t_pg:7.3f} s   (end to end) objective {pg.objective:,.0f}")
    print(f"  rank_sites exact    {t_pe:7.3f} s   (end to end) objective {pe.objective:,.0f}")

    if not run_spopt:
        return
    import warnings

    import pulp
    from scipy.spatial.distance import cdist
    from spopt.locate import MCLP

    solver = (
        pulp.HiGHS(msg=False)
        if "HiGHS" in pulp.listSolvers(onlyAvailable=True)
        else pulp.PULP_CBC_CMD(msg=False)
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # PuLP's own 4.0 deprecation notes
        t0 = time.perf_counter()
        cost = cdist(demand, sites)
        model = MCLP.from_cost_matrix(cost, w, service_radius=RADIUS_M, p_facilities=k)
        t_build = time.perf_counter() - t0
        model, t_solve = timed(model.solve, solver)
    spopt_obj = float(pulp.value(model.problem.objective))
    t_spopt = t_build + t_solve
    print(
        f"  spopt MCLP          {t_spopt:7.3f} s   (build {t_build:.1f} s incl. dense "
        f"{n:,} x {m:,} cdist, solve {t_solve:.1f} s with {solver.name}) objective "
        f"{spopt_obj:,.0f}"
    )
    agree = abs(spopt_obj - e.objective) < 1e-6
    print(f"  optima agree        {agree}")
    print(f"  speed-up vs spopt   {t_spopt / t_e:7.1f}x (exact core), {t_spopt / t_pe:.1f}x "
          f"(rank_sites exact end to end)")  # fmt: skip


def large_child(k: int | None, uniform_demand: bool, seed: int = 1) -> dict:
    rng = np.random.default_rng(seed)
    n, m = 500_000, 10_000
    demand = uniform(rng, n) if uniform_demand else clustered(rng, n, 2_600, 1000.0)
    sites = uniform(rng, m)
    assessment = make_assessment(demand, None)
    frame = sites_frame(sites)
    plan, t = timed(rank_sites, assessment, frame, radius_m=RADIUS_M, k=k)
    peak_gb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2  # KiB on Linux
    return {
        "seconds": t,
        "sites": len(plan.sites),
        "objective": plan.objective,
        "upper_bound": plan.upper_bound,
        "peak_gb": peak_gb,
    }


def large_case(*, uniform_demand: bool) -> None:
    kind = "uniform" if uniform_demand else "clustered (2,600 centres, sigma 1 km)"
    print(f"large case: 500,000 uncovered businesses, {kind} x 10,000 sites, radius 5 km, greedy")
    for k in (50, None):
        cmd = [sys.executable, __file__, "--large-child", "none" if k is None else str(k)]
        if uniform_demand:
            cmd.append("--uniform")
        out = subprocess.run(cmd, capture_output=True, text=True, check=True)
        r = json.loads(out.stdout.strip().splitlines()[-1])
        print(
            f"  k = {k!s:>4}: rank_sites {r['seconds']:6.2f} s, {r['sites']:,} sites, "
            f"{r['objective']:,.0f} connected (bound {r['upper_bound']:,.0f}), "
            f"peak RSS of the whole process {r['peak_gb']:.2f} GB"
        )


SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"
REAL_RUNS = (
    "greedy-greedy",
    "greedy-lagrangian",
    "greedy-lp",
    "exact20",
    "exact100",
    "budget-greedy",
    "budget-exact",
)


def real_instance(data: Path = SHARED) -> tuple[Assessment, gpd.GeoDataFrame]:
    """Assess the real Lampung instance of issue #8; return it and its candidate sites."""
    from blankspot import assess, candidate_sites, coverage
    from blankspot.io import read_businesses, read_towers, read_villages
    from blankspot.sample import sample_paths

    villages = read_villages(
        str(data / "lampung_boundaries" / "wilayah_boundaries_kel_18.*.geojson")
    )
    businesses = read_businesses(sample_paths()["businesses"])
    towers = read_towers(data / "opencellid" / "510.csv")
    assessment = assess(villages, businesses, coverage.from_towers(towers))
    return assessment, candidate_sites(assessment)


def real_case(runs: list[str], k100_time_limit_s: float = 300.0) -> None:
    (assessment, sites), t_build = timed(real_instance)
    acc = assessment.accounting
    print(
        f"real case: {acc['uncovered']:,} uncovered of {acc['input']:,} businesses, "
        f"{len(sites):,} candidate sites, radius {RADIUS_M:g} m (built in {t_build:.1f} s)"
    )
    rng = np.random.default_rng(8)
    costed = sites.assign(cost_idr=rng.uniform(1.3e9, 3.9e9, len(sites)))
    budget = 20 * float(costed["cost_idr"].mean())
    setups = {
        "greedy-greedy": ("greedy, greedy bound", sites, {"k": 20, "bound": "greedy"}),
        "greedy-lagrangian": ("greedy, Lagrangian bound (default)", sites, {"k": 20}),
        "greedy-lp": ("greedy, LP bound", sites, {"k": 20, "bound": "lp"}),
        "exact20": ("exact, k=20, 60 s", sites, {"k": 20, "method": "exact"}),
        "exact100": (
            f"exact, k=100, {k100_time_limit_s:g} s",
            sites,
            {"k": 100, "method": "exact", "time_limit_s": k100_time_limit_s},
        ),
        "budget-greedy": (
            f"budget {budget / 1e9:.1f} bn, greedy, Lagrangian bound",
            costed,
            {"budget_idr": budget},
        ),
        "budget-exact": (
            f"budget {budget / 1e9:.1f} bn, exact, 60 s",
            costed,
            {"budget_idr": budget, "method": "exact"},
        ),
    }
    print("| run | time (CPU) | load | objective | upper bound | gap | bound |")
    print("|---|---|---|---|---|---|---|")
    for name in runs:
        label, frame, kwargs = setups[name]
        cpu = time.process_time()
        plan, t = timed(rank_sites, assessment, frame, radius_m=RADIUS_M, **kwargs)
        cpu = time.process_time() - cpu
        load = os.getloadavg()[0]
        print(
            f"| {label} | {t:.1f} s ({cpu:.1f} s) | {load:.1f} | {plan.objective:,.0f} | "
            f"{plan.upper_bound:,.0f} | {plan.gap:.2%} | {plan.bound_method} |",
            flush=True,
        )
        if plan.message:
            print(f"|   note | | | | | {plan.message} |", flush=True)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--case", choices=["small", "large", "real", "all"], default="all")
    p.add_argument(
        "--runs",
        default=",".join(REAL_RUNS),
        help=f"real case: comma-separated runs among {', '.join(REAL_RUNS)}",
    )
    p.add_argument(
        "--k100-time-limit-s",
        type=float,
        default=300.0,
        help="real case: time_limit_s of the exact100 run (default 300, the issue's target)",
    )
    p.add_argument("--no-spopt", action="store_true", help="skip spopt (it takes ~1-2 min)")
    p.add_argument("--uniform", action="store_true", help="large case: uniform demand")
    p.add_argument(
        "--side-km",
        type=float,
        default=SIDE_M / 1000,
        help="small case: side of the square (default 183 km, Lampung's area); smaller is "
        "denser and harder for the exact solver",
    )
    p.add_argument("--large-child", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.large_child is not None:
        k = None if args.large_child == "none" else int(args.large_child)
        print(json.dumps(large_child(k, args.uniform)))
        return
    if args.case in ("small", "all"):
        small_case(run_spopt=not args.no_spopt, side_m=args.side_km * 1000)
    if args.case in ("large", "all"):
        large_case(uniform_demand=args.uniform)
    if args.case in ("real", "all"):
        real_case([r for r in args.runs.split(",") if r], args.k100_time_limit_s)


if __name__ == "__main__":
    main()
