"""The ``blankspot`` command: ``blankspot demo`` and ``blankspot plan``.

Bad input exits with status 2 and one paragraph naming the problem and the fix (no
traceback); ``--debug`` shows the traceback instead.
"""

from __future__ import annotations

import argparse
import difflib
import logging
import re
import signal
import sys
import textwrap
import threading
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any, NoReturn

from blankspot._cli_config import PlanOptions, is_number, load_config
from blankspot._cli_inputs import (
    COMPACT_ROWS,
    as_list,
    compact_by_size,
    coverage_from_paths,
    expand_paths,
    read_several,
)
from blankspot._cli_progress import LogHandler, Stages
from blankspot._errors import BlankspotError, BlankspotWarning, InputError, InputFileError

__all__ = ["main"]

log = logging.getLogger("blankspot")

EXIT_OK = 0
EXIT_BAD_INPUT = 2
#: 128 + the signal number, as shells report a process ended by SIGINT / SIGTERM
EXIT_INTERRUPTED = 130
EXIT_TERMINATED = 143
#: sites chosen when neither --k nor --budget-idr is given
DEFAULT_K = 20

EXAMPLES = """\
examples:
  blankspot demo --out blankspot-demo
  blankspot plan --villages desa.gpkg --businesses umkm.csv --coverage rsrp.tif \\
      --threshold-dbm -105 --k 25 --out hasil
  blankspot plan --villages 'batas/kel_18.*.geojson' --businesses umkm.xlsx \\
      --coverage 510.csv --radius-m 5000 --budget-idr 26e9 --method exact --out hasil
  blankspot plan --villages desa.gpkg --businesses umkm.csv --coverage rsrp.tif \\
      --dem 'srtm/S0*E10*.hgt' --terrain-model los --site-height-m 30 --out hasil
  blankspot plan --config plan.toml      (the same options as keys: villages = "desa.gpkg" ...)
"""


def _say(quiet: bool, text: str = "") -> None:
    if not quiet:
        print(text)  # the CLI's own output; the library itself only logs


def run_pipeline(
    villages: Any,
    businesses: Any,
    cov: Any,
    opts: PlanOptions,
    *,
    quiet: bool,
    steps: Stages,
    network: Any = None,
) -> dict[str, Any]:
    """Assess, score, propose or read sites, rank, export and draw; return what was made."""
    from blankspot import prioritise
    from blankspot.assessment import assess
    from blankspot.export import export

    out_dir = Path(opts.out or "blankspot-out")
    with steps.stage("assess"):
        result = assess(villages, businesses, cov, crs=opts.crs, compact=bool(opts.compact))
    with steps.stage("score"):
        scores = prioritise.score_villages(result)
    dem = None
    if opts.dem:
        from blankspot.terrain import read_dem

        dem = read_dem(opts.dem[0] if len(opts.dem) == 1 else opts.dem)
    with steps.stage("candidates"):
        if opts.sites is not None:  # a path, or the table of several files
            sites: Any = opts.sites
        elif opts.high_ground_m is not None:  # each generated site climbs to the highest cell
            sites = prioritise.candidate_sites(
                result, spacing_m=opts.spacing_m, dem=dem, search_radius_m=opts.high_ground_m
            )
        else:
            sites = prioritise.candidate_sites(result, spacing_m=opts.spacing_m)
    with steps.stage(_rank_stage(network)):
        terrain_opts: dict[str, Any] = {}
        if dem is not None:
            terrain_opts = {
                "dem": dem,
                "model": opts.terrain_model,
                "site_height_m": opts.site_height_m,
                "threshold_dbm": opts.threshold_dbm,
            }
        rank_opts: dict[str, Any] = {
            "radius_m": opts.radius_m,
            "method": opts.method,
            "bound": opts.bound,
            "time_limit_s": opts.time_limit_s,
            "default_cost_idr": opts.default_cost_idr,
            "id_col": opts.sites_id_col,
            "backhaul": None
            if network is None
            else {"network": network, "dem": terrain_opts.get("dem"), "max_hop_m": opts.max_hop_m},
            **terrain_opts,
        }
        plan = prioritise.rank_sites(
            result, sites, k=opts.k, budget_idr=opts.budget_idr, **rank_opts
        )
        regional = None
        if opts.per_province_k is not None:
            from blankspot.regions import rank_by_region

            # each province ranks its own sites for its own businesses (k sites each)
            regional = rank_by_region(result, sites, k=opts.per_province_k, **rank_opts)
        if opts.annual_budget_idr is not None:
            from blankspot.phasing import phase_plan

            budgets = opts.annual_budget_idr
            if isinstance(budgets, list) and len(budgets) == 1:
                budgets = budgets[0]  # one value: the same budget every year
            plan = phase_plan(
                plan,
                annual_budget_idr=budgets,
                start_year=opts.start_year,
                default_cost_idr=opts.default_cost_idr,
            )
    with steps.stage("export"):
        written = export(
            plan, out_dir, formats=tuple(opts.formats), lang=opts.lang, overwrite=opts.overwrite
        )
        _WRITTEN.extend(written.values())
        provinces = None
        if by_province(result, opts):
            from blankspot._cli_report import province_sites, province_table, write_report

            provinces = province_table(
                plan, default_cost_idr=opts.default_cost_idr, regional=regional, lang=opts.lang
            )
            report = write_report(
                provinces,
                out_dir,
                lang=opts.lang,
                sites=None if regional is None else province_sites(regional),
            )
            _WRITTEN.extend(report.values())
            written = {**written, **report}
    if opts.maps:
        from blankspot.maps import explore_plan, plot_plan

        with steps.stage("maps"):
            png = out_dir / "map.png"
            html = out_dir / "map.html"
            plot_plan(plan, path=png, lang=opts.lang, title=opts.map_title)
            _WRITTEN.append(png)
            explore_plan(plan, path=html, lang=opts.lang)
            _WRITTEN.append(html)
            written = {**written, "map_png": png, "map_html": html}
    return {
        "assessment": result,
        "scores": scores,
        "plan": plan,
        "written": written,
        "provinces": provinces,
    }


def _check_province_codes(villages: Any, opts: PlanOptions) -> None:
    """Check early that village ids begin with their province, when a report is asked."""
    if not (opts.by_province or opts.per_province_k is not None):
        return
    from blankspot.regions import province_of

    flag = "--per-province-k" if opts.per_province_k is not None else "--by-province"
    try:
        province_of(villages.index.to_numpy(dtype=str))
    except InputError as exc:
        text = str(exc).split(" Village ids must")[0]
        raise InputError(
            f"{flag} needs village ids that begin with their province (Kemendagri "
            f"'18.01.01.2001' or BPS '1801012001'): {text} Pass the code column with the "
            "villages (a 'kode', 'KDEPUM' or 'KDEBPS' column), or leave out " + flag + "."
        ) from exc


def by_province(result: Any, opts: PlanOptions) -> bool:
    """Whether to report per province: asked for, or villages of more than one province."""
    if opts.by_province or opts.per_province_k is not None:
        return True
    from blankspot.regions import province_of

    try:
        codes = province_of(result.villages.index.to_numpy(dtype=str))
    except InputError:  # ids that are not Kemendagri/BPS codes: no provinces to tell apart
        return False
    return len(set(codes)) > 1


#: the stages of ``run_pipeline``, after reading the inputs (one progress bar each)
PIPELINE_STEPS = ("assess", "score", "candidates", "rank", "export", "maps")


def _rank_stage(network: Any) -> str:
    """Name the ranking stage: backhaul is planned inside ``rank_sites``, with the sites."""
    return "rank" if network is None else "rank + backhaul"


def _stage_names(first: Sequence[str], opts: PlanOptions, network: bool) -> list[str]:
    names = [*first, *PIPELINE_STEPS]
    if network:
        names[names.index("rank")] = _rank_stage(True)
    if not opts.maps:
        names.remove("maps")
    return names


#: what ``run_pipeline`` may write in the output folder (checked before any work starts)
OUTPUT_NAMES = (
    "blankspot.gpkg",
    "shp",
    "priority_sites.csv",
    "priority_sites.xlsx",
    "map.png",
    "map.html",
    "per_province.csv",
    "per_province.xlsx",
    "per_province_sites.csv",
)


def _precheck(opts: PlanOptions) -> None:
    """Check options and existing outputs before reading anything: fail in seconds, not minutes."""
    problems = []
    for name in ("k", "per_province_k"):
        value = getattr(opts, name)
        if value is not None and (
            isinstance(value, bool) or not isinstance(value, int) or value < 1
        ):
            flag = "--" + name.replace("_", "-")
            problems.append(f"{flag} must be a whole number of sites >= 1, got {value!r}")
    for name in ("radius_m", "spacing_m", "time_limit_s", "max_hop_m", "site_height_m"):
        value = getattr(opts, name)
        if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
            problems.append(f"--{name.replace('_', '-')} must be a positive number, got {value!r}")
    for name in ("budget_idr", "default_cost_idr"):
        value = getattr(opts, name)
        if value is not None and (
            isinstance(value, bool) or not isinstance(value, int | float) or not value >= 0
        ):
            problems.append(f"--{name.replace('_', '-')} must be a number of rupiah, got {value!r}")
    annual = opts.annual_budget_idr
    annual_list = annual if isinstance(annual, list) else [annual]
    if annual is not None and not all(is_number(a) and a >= 0 for a in annual_list):
        problems.append(f"--annual-budget-idr must be numbers of rupiah, got {annual!r}")
    if (annual is None) != (opts.start_year is None):
        problems.append("--annual-budget-idr and --start-year go together (e.g. 26e9 and 2026)")
    if opts.method not in ("greedy", "exact"):
        problems.append(f"--method must be greedy or exact, got {opts.method!r}")
    if opts.bound not in ("lagrangian", "greedy", "lp"):
        problems.append(f"--bound must be lagrangian, greedy or lp, got {opts.bound!r}")
    if opts.high_ground_m is not None:
        value = opts.high_ground_m
        if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
            problems.append(f"--high-ground-m must be a positive number, got {value!r}")
        if not opts.dem:
            problems.append(
                "--high-ground-m moves the proposed sites to the highest ground of the "
                "elevation model: give --dem too"
            )
        if opts.sites:
            problems.append(
                "--high-ground-m moves only the sites blankspot proposes, and --sites are never "
                "moved: drop one of them"
            )
    if opts.terrain_model not in ("los", "hata"):
        problems.append(f"--terrain-model must be los or hata, got {opts.terrain_model!r}")
    if opts.lang not in ("en", "id"):
        problems.append(f"--lang must be en or id, got {opts.lang!r}")
    if problems:
        raise InputError("; ".join(problems) + ". See blankspot plan --help.")
    from blankspot._validate import tower_reach_m
    from blankspot.export import check_writable

    tower_reach_m(opts.radius_m, "--radius-m")  # a log line when it looks like kilometres
    out = Path(opts.out or "blankspot-out")
    existing = [str(out / n) for n in OUTPUT_NAMES if (out / n).exists()]
    if existing and not opts.overwrite:
        raise InputFileError(
            f"{', '.join(existing)} already exist(s); blankspot never overwrites outputs "
            "silently. Pass --overwrite or choose another --out folder."
        )
    if out.exists() and not out.is_dir():
        raise InputFileError(
            f"--out {out} is a file, not a folder. Give a folder for the outputs (it is "
            "created if missing)."
        )
    check_writable(out, [out / n for n in OUTPUT_NAMES if n != "shp"] + [out / "shp" / "x"])
    _check_input_paths(opts)


def _check_input_paths(opts: PlanOptions) -> None:
    """Expand every input flag's paths and globs (in place) before anything is read."""
    names = ("villages", "businesses", "coverage", "sites", "network", "dem")
    found = expand_paths({n: as_list(getattr(opts, n)) for n in names})
    for name, paths in found.items():
        # an input not given stays None (demo and plan test "is not None"), lists stay lists
        setattr(opts, name, paths if paths or name in ("coverage", "dem") else None)


def _summary(made: dict[str, Any], *, quiet: bool, elapsed_s: float) -> None:
    if quiet:
        return
    result, plan = made["assessment"], made["plan"]
    acc = result.accounting
    v = result.villages
    n_in = acc["covered"] + acc["uncovered"]
    share = acc["uncovered"] / n_in if n_in else float("nan")
    _say(quiet, f"Villages assessed:     {len(v):,} ({int(v['blank_spot'].sum()):,} blank spots)")
    _say(
        quiet,
        f"Businesses:            {acc['input']:,.0f} in; {acc['covered']:,.0f} covered, "
        f"{acc['uncovered']:,.0f} uncovered ({share:.1%} of those in villages), "
        f"{acc['outside_villages']:,.0f} outside every village, {acc['rejected']:,.0f} rejected"
        + (f", {acc['unmatched']:,.0f} unmatched by name" if acc.get("unmatched") else ""),
    )
    from blankspot._i18n import bound_sentence, plural

    sites = plan.sites
    what = plural(len(sites), "site connects", "sites connect")
    _say(
        quiet,
        f"{'Plan (' + plan.method + '):':<23}{what} "
        f"{plan.objective:,.0f} of "
        f"{plural(plan.total_uncovered, 'uncovered business', 'uncovered businesses')} "
        f"({bound_sentence(plan, 'en')})",
    )
    if plan.bound_method:
        _say(quiet, f"Bound:                 {plan.bound_method}")
    if plan.message:
        _say(quiet, f"Note: {plan.message}")
    if plan.years is not None:
        _say(quiet, "By year:")
        for row in plan.years.itertuples(index=False):  # a handful of years
            _say(
                quiet,
                f"  {row.year}: {row.n_sites} sites, Rp {row.spent_idr:,.0f} of "
                f"Rp {row.budget_idr:,.0f}, +{row.new_businesses:,.0f} businesses "
                f"({row.cumulative_businesses:,.0f} in all)",
            )
    if plan.backhaul is not None:
        _say(quiet, f"{'Backhaul:':<23}{plan.backhaul.summary()}")
    if len(sites):
        _say(quiet, "Top sites:")
        for rank, sid, new, vid in zip(
            sites["rank"][:5],
            sites["site_id"][:5],
            sites["new_businesses"][:5],
            sites["village_names"][:5],
            strict=True,
        ):
            names = str(vid).split(";")
            more = f" (+{len(names) - 3} more)" if len(names) > 3 else ""
            _say(
                quiet,
                f"  {rank:>3}. {sid:<10} +{plural(new, 'business', 'businesses')}  "
                f"({'; '.join(names[:3])}{more})",
            )
    if made.get("provinces") is not None:
        from blankspot._cli_report import summary_lines

        _say(quiet, "By province (sites, new businesses and cost of the national plan):")
        for line in summary_lines(made["provinces"]):
            _say(quiet, line)
    _say(quiet, "Files written:")
    for kind, path in made["written"].items():
        _say(quiet, f"  {kind:<22} {path}")
    _say(quiet, f"Done in {elapsed_s:.1f} s.")


def _cmd_demo(args: argparse.Namespace) -> int:
    from blankspot import coverage
    from blankspot.sample import load_sample

    t0 = time.perf_counter()
    opts = PlanOptions(
        out=args.out,
        k=args.k,
        method=args.method,
        overwrite=args.overwrite,
        lang=args.lang,
        maps=not args.no_maps,
        bound=args.bound or "lagrangian",
        time_limit_s=args.time_limit_s or 60.0,
        map_title=(
            "Sampel Lampung (data sintetis): blank spot dan lokasi menara usulan"
            if args.lang == "id"
            else "Lampung sample (synthetic data): blank spots and proposed sites"
        ),
    )
    _precheck(opts)
    steps = Stages(_stage_names(["load sample"], opts, True), quiet=args.quiet, stream=sys.stderr)
    with steps.stage("load sample"):
        sample = load_sample()
        cov = coverage.from_raster(sample["signal"], threshold_dbm=opts.threshold_dbm)
        opts.dem = [str(sample["dem"])]  # sites reach only what the terrain lets them
    made = run_pipeline(
        sample["villages"],
        sample["businesses"],
        cov,
        opts,
        quiet=args.quiet,
        steps=steps,
        network=sample["network"],
    )
    _say(
        args.quiet,
        "blankspot demo: the embedded Lampung sample (real village boundaries; "
        "synthetic businesses, signal and terrain, see data/README.md)",
    )
    _summary(made, quiet=args.quiet, elapsed_s=time.perf_counter() - t0)
    return EXIT_OK


def _cmd_plan(args: argparse.Namespace) -> int:
    from blankspot._batches import read_businesses_batches
    from blankspot.backhaul import read_network
    from blankspot.candidates import read_sites
    from blankspot.io import read_businesses, read_villages

    t0 = time.perf_counter()
    config: dict[str, Any] = load_config(args.config) if args.config else {}
    values = dict(config)
    for name in PlanOptions.__dataclass_fields__:
        given = getattr(args, name, None)
        if given is not None and given != [] and given is not False:
            values[name] = given
    if args.no_maps:
        values["maps"] = False
    opts = PlanOptions(**values)
    if opts.k is None and opts.budget_idr is None:
        opts.k = DEFAULT_K
    missing = [n for n in ("villages", "businesses", "out") if not getattr(opts, n)]
    if not opts.coverage:
        missing.append("coverage")
    if missing:
        raise InputError(
            f"blankspot plan needs {', '.join('--' + m for m in missing)} "
            "(on the command line or in the --config TOML file). See blankspot plan --help."
        )
    if opts.k is not None and opts.budget_idr is not None:
        from_toml = [n for n in ("k", "budget_idr") if n in config and getattr(args, n) is None]
        where = (
            f" ({' and '.join(from_toml)} in {args.config}: a flag on the command line does "
            "not replace a key of the TOML file, so remove one of them)"
            if from_toml
            else ""
        )
        raise InputError(f"Give either --k or --budget-idr, not both{where}.")
    _precheck(opts)
    names = _stage_names(["read", "coverage"], opts, bool(opts.network))
    steps = Stages(names, quiet=args.quiet, stream=sys.stderr)
    vector_files = [*as_list(opts.villages), *as_list(opts.businesses), *as_list(opts.sites)]
    with ExitStack() as stack:
        with steps.stage(
            "read", total=len(vector_files) + len(as_list(opts.network)), unit="file"
        ) as tick:
            villages = read_villages(opts.villages)
            _check_province_codes(villages, opts)
            for _ in as_list(opts.villages):
                tick()
            columns = {
                "lon_col": opts.lon_col,
                "lat_col": opts.lat_col,
                "id_col": opts.id_col,
                "weight_col": opts.weight_col,
            }
            if opts.compact is None:
                opts.compact = compact_by_size(as_list(opts.businesses))
            if opts.compact:  # streamed in batches by assess: nothing read here
                businesses = read_businesses_batches(as_list(opts.businesses), **columns)
                for _ in as_list(opts.businesses):
                    tick()
            else:
                businesses = read_several(
                    as_list(opts.businesses),
                    lambda p: read_businesses(p, **columns),
                    flag="--businesses",
                    tick=tick,
                )
            sites = as_list(opts.sites)
            if len(sites) > 1:
                opts.sites = read_several(
                    sites,
                    lambda p: read_sites(p, id_col=opts.sites_id_col),
                    flag="--sites",
                    tick=tick,
                )
                opts.sites_id_col = None  # the ids are the index now
            elif sites:
                opts.sites = sites[0]
                tick()
            else:
                opts.sites = None
            network = (
                read_several(as_list(opts.network), read_network, flag="--network", tick=tick)
                if opts.network
                else None
            )
        with steps.stage("coverage", total=len(opts.coverage), unit="file") as tick:
            cov = coverage_from_paths(
                opts.coverage,
                threshold_dbm=opts.threshold_dbm,
                covered_values=opts.covered_values,
                stack=stack,
                tick=tick,
            )
        made = run_pipeline(
            villages, businesses, cov, opts, quiet=args.quiet, steps=steps, network=network
        )
    _summary(made, quiet=args.quiet, elapsed_s=time.perf_counter() - t0)
    return EXIT_OK


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="blankspot",
        description="Plan mobile connectivity for blank spots: which villages and businesses "
        "lack signal, and where new towers should go first.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=_version())
    sub = parser.add_subparsers(dest="command", required=True, metavar="{demo,plan}")

    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--quiet", "-q", action="store_true", help="print nothing but errors")
    common.add_argument("--verbose", "-v", action="store_true", help="log every step")
    common.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    common.add_argument("--overwrite", action="store_true", help="replace existing outputs")
    common.add_argument(
        "--lang", choices=["en", "id"], default=None, help="language of the officials' tables"
    )
    common.add_argument(
        "--method",
        choices=["greedy", "exact"],
        default=None,
        help="greedy (fast, default) or exact (HiGHS proves the optimum, slower)",
    )
    common.add_argument(
        "--k", type=int, default=None, help=f"number of sites to choose (default {DEFAULT_K})"
    )
    common.add_argument(
        "--bound",
        choices=["lagrangian", "greedy", "lp"],
        default=None,
        help="how the upper bound on any plan is computed: lagrangian (default: Lagrangian "
        "relaxation, nearly the LP's bound in at most 10 s), greedy (instant, loose) or lp "
        "(LP relaxation by HiGHS, slow on large inputs)",
    )
    common.add_argument(
        "--time-limit-s",
        type=float,
        default=None,
        help="wall-clock limit of ranking in seconds, method and bound (default 60); the "
        "gap is reported",
    )
    common.add_argument("--no-maps", action="store_true", help="skip the PNG and HTML maps")

    demo = sub.add_parser(
        "demo",
        parents=[common],
        help="run the whole pipeline on the embedded Lampung sample",
        description="Run assessment, scoring, site ranking, exports and maps on the embedded "
        "Lampung sample.",
        epilog="example:\n  blankspot demo --out blankspot-demo",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    demo.add_argument("--out", default="blankspot-demo", help="output folder")
    demo.set_defaults(func=_cmd_demo)

    plan = sub.add_parser(
        "plan",
        parents=[common],
        help="run the pipeline on your own data",
        description="Assess your villages, businesses and coverage, rank tower sites and "
        "write the exports.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    plan.add_argument("--config", help="TOML file with the same options as keys")
    plan.add_argument(
        "--villages",
        nargs="+",
        help="village boundaries: files or globs, e.g. one per province 'data/*/desa.gpkg'",
    )
    plan.add_argument(
        "--businesses",
        nargs="+",
        help="business points: CSV, Excel or vector; several files or globs are stacked",
    )
    plan.add_argument(
        "--coverage",
        nargs="+",
        default=[],
        help="coverage: signal rasters (.tif), coverage polygons, or OpenCelliD CSV; files "
        "or globs ('rsrp/*.tif'), combined as covered where any covers (rasters on one grid "
        "as one mosaic, the strongest signal where they overlap)",
    )
    plan.add_argument("--out", help="output folder")
    plan.add_argument("--threshold-dbm", type=float, help="covered at or above (default -110)")
    plan.add_argument(
        "--covered-values", type=float, nargs="+", help="class raster values that mean covered"
    )
    plan.add_argument("--radius-m", type=float, help="site service radius in metres (5000)")
    plan.add_argument("--budget-idr", type=float, help="budget in rupiah (instead of --k)")
    plan.add_argument(
        "--annual-budget-idr",
        type=float,
        nargs="+",
        help="phase the sites by year in rank order: one budget in rupiah (every year) or one "
        "per year from --start-year; adds a year column and a per-year sheet",
    )
    plan.add_argument("--start-year", type=int, help="first year of --annual-budget-idr (2026)")
    plan.add_argument(
        "--sites", nargs="+", help="your own candidate sites (vector files or lon/lat CSV)"
    )
    plan.add_argument("--sites-id-col", help="id column of --sites (default: site_id)")
    plan.add_argument(
        "--default-cost-idr",
        type=float,
        help="cost of a site without cost_idr, used with --budget-idr (default 2.6e9, a "
        "BAKTI 4G site in 2022)",
    )
    plan.add_argument("--spacing-m", type=float, help="grid spacing of proposed sites (2000)")
    plan.add_argument("--crs", help="projected working CRS (default: UTM zone of the villages)")
    plan.add_argument("--lon-col", help="longitude column of the businesses")
    plan.add_argument("--lat-col", help="latitude column of the businesses")
    plan.add_argument("--id-col", help="id column of the businesses")
    plan.add_argument("--weight-col", help="weight column of the businesses")
    plan.add_argument(
        "--network",
        nargs="+",
        help="existing network for backhaul: points with a 'kind' column, 'fibre' or "
        "'tower' (files or globs)",
    )
    plan.add_argument("--max-hop-m", type=float, help="longest microwave hop in metres (30000)")
    plan.add_argument(
        "--dem",
        nargs="+",
        default=[],
        help="elevation model (GeoTIFF, SRTM .hgt tiles, VRT or a glob): sites then cover "
        "only businesses the terrain lets them reach (and microwave backhaul hops with --network "
        "need line of sight)",
    )
    plan.add_argument(
        "--terrain-model",
        choices=("los", "hata"),
        help="with --dem: los = line of sight (default); hata = predicted RSRP >= "
        "--threshold-dbm (Okumura-Hata + knife-edge diffraction, LTE 1800)",
    )
    plan.add_argument(
        "--site-height-m", type=float, help="antenna height of proposed sites (30), with --dem"
    )
    plan.add_argument(
        "--compact",
        action="store_true",
        default=None,
        help="read the businesses in batches and keep them as a compact table (a whole "
        "country: about 70 bytes a business instead of several hundred); automatic above "
        f"{COMPACT_ROWS:,} businesses",
    )
    plan.add_argument(
        "--high-ground-m",
        type=float,
        help="with --dem: move each proposed site to the highest ground within this many metres "
        "(e.g. 500), where a mast sees farthest; sites that land on one cell are merged",
    )
    plan.add_argument(
        "--by-province",
        action="store_true",
        help="write per_province.csv/.xlsx and print a table per province with a national "
        "total (automatic when the villages span several provinces)",
    )
    plan.add_argument(
        "--per-province-k",
        type=int,
        help="also rank K sites for each province on its own (its businesses, its sites), "
        "reported beside the national ranking in the province table",
    )
    plan.set_defaults(func=_cmd_plan)
    return parser


def _version() -> str:
    from blankspot import __version__

    return f"blankspot {__version__}"


@contextmanager
def _cli_logging(args: argparse.Namespace) -> Iterator[None]:
    """Send blankspot's log records to stderr while the command runs, then restore the logger.

    Restoring matters when ``main`` is called in-process (tests, notebooks): the library's
    logger must go back to propagating to the root logger.
    """
    level = logging.WARNING
    if getattr(args, "verbose", False):
        level = logging.INFO
    if getattr(args, "quiet", False):
        level = logging.ERROR
    handler = LogHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(levelname)s: %(message)s"))
    saved = (log.level, log.propagate)
    log.addHandler(handler)
    log.setLevel(level)
    log.propagate = False

    def show(message: Any, category: Any, *_: Any, **__: Any) -> None:
        # a warning is a line of the command's output, not a Python source location
        log.warning("%s", cli_words(str(message)))

    try:
        with warnings.catch_warnings():
            warnings.showwarning = show
            # the command's warnings are always log lines, whatever filters the caller set
            warnings.simplefilter("always", BlankspotWarning)
            yield
    finally:
        log.removeHandler(handler)
        log.setLevel(saved[0])
        log.propagate = saved[1]


#: phrases of the library's messages that speak Python, and what a command-line user types
_API_PHRASES = (
    (re.compile(r" ?\(on the command line [^)]*\)"), ""),
    (re.compile(r"GeoDataFrame\.set_crs\('([^']*)'\)"), r"a .prj file with \1 beside the file"),
    (
        re.compile(r"villages\.set_crs\('([^']*)', allow_override=True\)"),
        r"a .prj file with \1 beside the villages file",
    ),
    (re.compile(r"leave crs=None to estimate it"), "leave out --crs to estimate it"),
    (re.compile(r"\.to_crs\(\)"), "reprojection in a GIS"),
)


def cli_words(message: str, parser: argparse.ArgumentParser | None = None) -> str:
    """Rewrite a library message for the command line: ``lon_col='x'`` -> ``--lon-col x``.

    Only options the command has are rewritten, so the message names the flag the user
    typed (or would type).

    >>> cli_words("Pass lon_col='bujur', lat_col='lintang' (on the command line ...).")
    'Pass --lon-col bujur, --lat-col lintang.'
    >>> cli_words("Give either lon_col=/lat_col= or crs='EPSG:32748'.")
    'Give either --lon-col/--lat-col or --crs EPSG:32748.'
    """
    flags = _flag_names(parser or _parser())
    for pattern, repl in _API_PHRASES:
        message = pattern.sub(repl, message)

    def flag(m: re.Match[str]) -> str:
        name = m.group(1)
        if name not in flags:
            return m.group(0)
        value = m.group(3) if m.group(3) is not None else m.group(4) or ""
        return f"--{name.replace('_', '-')}" + (f" {value}" if value else "")

    return re.sub(r"\b([a-z][a-z_]*)=('([^']*)'|([^\s,;/)'.]*(?:\.\d+)?))", flag, message)


def _flag_names(parser: argparse.ArgumentParser) -> set[str]:
    """Return the API names (``lon_col``) of every ``--lon-col`` style option."""
    return {o[2:].replace("-", "_") for o in _option_strings(parser)}


class _Parser(argparse.ArgumentParser):
    """argparse that suggests the option meant when one is mistyped (``--buisnesses``)."""

    def error(self, message: str) -> NoReturn:
        m = re.search(r"unrecognized arguments: (.*)", message)
        if m:
            known = sorted(_option_strings(self))
            hints = []
            for arg in m.group(1).split():
                if arg.startswith("--"):
                    close = difflib.get_close_matches(arg.split("=")[0], known, n=1, cutoff=0.7)
                    if close:
                        hints.append(f"{arg}: did you mean {close[0]}?")
            if hints:
                message += " (" + "; ".join(hints) + ")"
        super().error(message)


def _option_strings(parser: argparse.ArgumentParser) -> set[str]:
    opts: set[str] = set()
    parsers = [parser]
    while parsers:
        p = parsers.pop()
        for action in p._actions:
            opts.update(o for o in action.option_strings if o.startswith("--"))
            if isinstance(action, argparse._SubParsersAction):
                parsers.extend(action.choices.values())
    return opts


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status (0 ok, 2 bad input)."""
    parser = _parser()
    args = parser.parse_args(argv)
    # demo keeps its own defaults for options that plan takes from the TOML file
    if args.command == "demo":
        args.method = args.method or "greedy"
        args.k = args.k if args.k is not None else DEFAULT_K
        args.lang = args.lang or "en"
    handler: Callable[[argparse.Namespace], int] = args.func
    _WRITTEN.clear()
    try:
        with _cli_logging(args), _sigterm_as_exception():
            return handler(args)
    except BlankspotError as exc:
        if args.debug:
            raise
        # paths and flags are never broken inside (at a hyphen or mid-word)
        msg = textwrap.fill(
            cli_words(str(exc), parser),
            width=100,
            break_on_hyphens=False,
            break_long_words=False,
        )
        sys.stderr.write(f"blankspot {args.command}: error: {msg}\n")
        return EXIT_BAD_INPUT
    except (KeyboardInterrupt, _Terminated) as exc:
        # every write is atomic and undone when interrupted, so this is the whole story
        what = "interrupted" if isinstance(exc, KeyboardInterrupt) else "terminated"
        done = (
            f"only these complete files were written: {', '.join(map(str, _WRITTEN))}"
            if _WRITTEN
            else "nothing was written"
        )
        sys.stderr.write(f"blankspot {args.command}: {what}; {done}\n")
        return EXIT_INTERRUPTED if isinstance(exc, KeyboardInterrupt) else EXIT_TERMINATED


class _Terminated(BaseException):
    """SIGTERM, raised in the main thread so every ``finally`` and undo runs."""


#: files a run has completely written (shown when it is interrupted afterwards)
_WRITTEN: list[Path] = []


@contextmanager
def _sigterm_as_exception() -> Iterator[None]:
    """While the command runs, SIGTERM raises :class:`_Terminated` instead of killing at once.

    So the export's staging folder and the maps' temporary files are removed and a half-moved
    set is undone, as on Ctrl-C. The previous handler is restored afterwards (``main`` may be
    called in-process); outside the main thread signals cannot be caught and nothing changes.
    """

    def raise_terminated(signum: int, frame: Any) -> None:
        raise _Terminated

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, raise_terminated)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
