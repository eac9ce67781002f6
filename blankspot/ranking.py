"""Rank candidate sites into a plan: choose and order them by the businesses they connect.

:func:`rank_sites` builds the demand (uncovered businesses) and the sparse demand x site
coverage matrix (:mod:`blankspot._demand`, kept apart from the solvers so that other ways
of computing coverage can replace it), hands them to the solvers (:mod:`blankspot._solve`
over :mod:`blankspot._mclp` and :mod:`blankspot._exact`), and turns the solution into a
:class:`Plan`: the ranked table, the bound and the backhaul links.
"""

from __future__ import annotations

import logging
import math
import numbers
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import networkx as nx
import numpy as np
import pandas as pd
from scipy.spatial import cKDTree

import geopandas as gpd
import shapely

from blankspot import _geodesy, _mclp, _quotas, terrain
from blankspot._demand import _aggregated_coverage, _demand
from blankspot._errors import InputError
from blankspot._examples import _toy_assessment, _toy_sites  # noqa: F401 - doctests
from blankspot._plan_table import _first_chosen, _plan_table
from blankspot._solve import _SOLVE_SHARE, _solve, _solve_constrained
from blankspot._util import id_sort, point_xy, some
from blankspot._validate import check_options, positive_metres, warn_user
from blankspot.assessment import Assessment, _business_xy
from blankspot.backhaul import Backhaul, built_network, plan_backhaul, price_candidates
from blankspot.candidates import _point_of, _prepare_sites
from blankspot.scoring import (
    _check_assessment,
)

__all__ = ["BOUNDS", "DEFAULT_COST_IDR", "METHODS", "PLAN_COLUMNS", "Plan", "rank_sites"]

log = logging.getLogger("blankspot")

#: Cost of one rural 4G site when a budget is given but sites carry no ``cost_idr``:
#: a BAKTI 4G site cost about Rp 2.6 billion in 2022 (tower, radio, power, satellite link).
DEFAULT_COST_IDR = 2.6e9

METHODS = ("greedy", "exact")
BOUNDS = ("lagrangian", "greedy", "lp")

#: Column order of :attr:`Plan.sites` (docs/architecture.md, "Plan").
PLAN_COLUMNS = [
    "rank",
    "site_id",
    "new_businesses",
    "cumulative_businesses",
    "cumulative_share",
    "new_weighted_businesses",
    "cumulative_weighted_businesses",
    "cumulative_weighted_share",
    "village_id",
    "kecamatan",
    "kabupaten",
    "villages_reached",
    "village_ids",
    "village_names",
    "radius_m",
    "cost_idr",
    "cost_per_new_business",
    "backhaul_to",
    "backhaul_m",
    "backhaul",
    "backhaul_hops",
    "backhaul_cost_idr",
    "backhaul_note",
    "geometry",
]
# present only when rank_sites(backhaul=...) planned the backhaul
_BACKHAUL_ONLY = {"backhaul", "backhaul_hops", "backhaul_cost_idr", "backhaul_note"}
_WEIGHTED_ONLY = {
    "new_weighted_businesses",
    "cumulative_weighted_businesses",
    "cumulative_weighted_share",
}

# Covered businesses are thinned to one backhaul anchor per cell of this size (metres).
_ANCHOR_SPACING_M = 1000.0


@dataclass(frozen=True, eq=False)
class Plan:
    """A ranked list of tower sites; returned by :func:`rank_sites`.

    Attributes
    ----------
    sites : GeoDataFrame
        One row per chosen site in priority order (``rank`` 1 = build first), working CRS,
        default ``RangeIndex``. Columns, in order: ``rank``, ``site_id``, ``new_businesses``,
        ``cumulative_businesses``, ``cumulative_share``, then when weighted
        ``new_weighted_businesses``, ``cumulative_weighted_businesses``,
        ``cumulative_weighted_share``, then ``village_id``, ``kecamatan``, ``kabupaten``,
        ``villages_reached``, ``village_ids``, ``village_names``, ``radius_m``, ``cost_idr``,
        ``cost_per_new_business``, ``backhaul_to``, ``backhaul_m``, then with
        ``rank_sites(backhaul=...)`` ``backhaul``, ``backhaul_hops``, ``backhaul_cost_idr``,
        ``backhaul_note`` (why a site falls back to satellite, else missing), then
        ``geometry`` (points).
    upper_bound : float
        No plan with as many sites (or the same budget) can connect more than this many
        uncovered businesses (weighted businesses when ``weighted``).
    method : str
        ``"greedy"`` or ``"exact"``.
    objective : float
        Uncovered businesses (weighted when ``weighted``) the plan connects.
    gap : float
        ``(upper_bound - objective) / upper_bound``: 0 for a proven optimum.
    total_uncovered : float
        All uncovered businesses of the assessment (weighted when ``weighted``), the
        denominator of the shares.
    weighted : bool
        Whether businesses carry weights; the ranking then maximises the weighted count.
    message : str
        Why the plan is empty or shorter than asked, or a solver note; else ``""``.
    network : networkx.Graph
        Sites linked to the existing network (see :func:`rank_sites`, Notes).
    assessment : Assessment
        The assessment the plan was made from.
    unreachable : float
        Uncovered businesses (weighted when ``weighted``) that no candidate site reaches.
    bound_method : str
        Which bound ``upper_bound`` is and how it was found (e.g. "Lagrangian relaxation
        (212 subgradient steps, converged)"), and why when a cheaper one stands in.
    years : DataFrame or None
        Budget, spending, sites and businesses connected per year, once phased with
        :func:`blankspot.phase_plan` (which also adds ``year`` to ``sites``); else ``None``.
    backhaul : Backhaul or None
        The backhaul plan of the chosen sites (:func:`blankspot.plan_backhaul`) when
        ``rank_sites(backhaul=...)`` was given the network, else ``None``.
    """

    sites: gpd.GeoDataFrame
    upper_bound: float
    method: str
    objective: float
    gap: float
    total_uncovered: float
    weighted: bool
    message: str
    network: nx.Graph
    assessment: Assessment
    unreachable: float = 0.0
    bound_method: str = ""
    years: pd.DataFrame | None = None
    backhaul: Backhaul | None = None

    def summary(self) -> str:
        """Describe the plan in a few lines, for notebooks and logs.

        Examples
        --------
        >>> plan = rank_sites(_toy_assessment(), _toy_sites(), radius_m=600, k=1)
        >>> print(plan.summary())
        greedy plan: 1 site connects 3 of 5 uncovered businesses (60.0 %); no 1-site plan can connect more than 3 (gap 0.0 %).
        bound: greedy online bound (Leskovec et al. 2007): it meets the plan, which is optimal
        top sites: S1 +3
        """  # noqa: E501 - doctest output is one line
        unit = "weighted businesses" if self.weighted else "businesses"
        n = len(self.sites)
        share = self.objective / self.total_uncovered if self.total_uncovered else 0.0
        what = f"{n} site connects" if n == 1 else f"{n} sites connect"
        text = (
            f"{self.method} plan: {what} {self.objective:,.6g} of "
            f"{self.total_uncovered:,.6g} uncovered {unit} ({share:.1%}".replace("%", " %")
            + f"); no {n}-site plan can connect more than {self.upper_bound:,.6g} "
            f"(gap {self.gap:.1%})".replace("%", " %")
            + "."
        )
        if self.bound_method:
            text += f"\nbound: {self.bound_method}"
        if n:
            col = "new_weighted_businesses" if self.weighted else "new_businesses"
            top = self.sites.head(5)
            text += "\ntop sites: " + ", ".join(
                f"{s} +{v:,.6g}" for s, v in zip(top["site_id"], top[col], strict=True)
            )
        if self.message:
            text += f"\nnote: {self.message}"
        return text

    def __repr__(self) -> str:
        return (
            f"<Plan {self.method}: {len(self.sites)} sites, objective {self.objective:,.6g} "
            f"of {self.total_uncovered:,.6g}, upper bound {self.upper_bound:,.6g}>"
        )


def _check_k(k: Any) -> int | None:
    if k is None:
        return None
    if isinstance(k, bool) or not isinstance(k, numbers.Integral) or k < 1:
        raise InputError(f"k must be a positive whole number of sites (or None), got {k!r}.")
    return int(k)


def _check_money(value: Any, name: str, *, allow_zero: bool = False) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise InputError(f"{name} must be a number of rupiah, got {value!r}.")
    v = float(value)
    if not math.isfinite(v) or v < 0 or (v == 0 and not allow_zero):
        raise InputError(
            f"{name} must be a positive, finite number of rupiah, got {value!r} "
            "(e.g. 26e9 for Rp 26 billion)."
        )
    return v


def _anchors(assessment: Assessment) -> tuple[np.ndarray, np.ndarray]:
    """Existing-network points the new sites link back to: ``(ids, xy)``.

    Towers of the coverage (any source with a ``towers`` GeoDataFrame, looking inside
    unions) when there are some; otherwise covered businesses thinned to one per
    ``_ANCHOR_SPACING_M`` cell (the lowest business id in each); in counts mode a point
    inside the covered part of each village with coverage.
    """
    crs = assessment.crs
    found: list[tuple[np.ndarray, np.ndarray]] = []
    stack = [assessment.coverage]
    seen = 0
    while stack and seen < 1000:  # sources nest a few levels at most
        src = stack.pop()
        seen += 1
        towers = getattr(src, "towers", None)
        if isinstance(towers, gpd.GeoDataFrame) and len(towers) and towers.crs is not None:
            pts = towers.geometry.to_crs(crs).array
            ok = ~(shapely.is_missing(pts) | shapely.is_empty(pts))
            xy = point_xy(pts[ok])
            ids = ("tower:" + towers.index[ok].astype(str)).to_numpy(dtype=object)
            found.append((ids, xy))
        stack.extend(getattr(src, "sources", ()) or ())
    if found:
        ids = np.concatenate([f[0] for f in found])
        xy = np.concatenate([f[1] for f in found])
        _, first = np.unique(ids.astype(str), return_index=True)
        first = np.sort(first)
        return ids[first], xy[first]
    biz = assessment.businesses
    if biz is not None:
        cov = (biz["status"] == "covered").to_numpy(dtype=bool, na_value=False)
        sel = np.flatnonzero(cov)
        if len(sel) == 0:
            return np.zeros(0, object), np.empty((0, 2))
        sel = sel[id_sort(np.asarray(biz.index[sel], dtype=str))]
        xy = _business_xy(biz, sel)
        cell = np.floor(xy / _ANCHOR_SPACING_M).astype(np.int64)
        _, first = np.unique(cell, axis=0, return_index=True)
        first = np.sort(first)
        ids = ("covered:" + biz.index[sel[first]].astype(str)).to_numpy(dtype=object)
        return ids, xy[first]
    v = assessment.villages
    if "covered_area_share" not in v.columns:
        return np.zeros(0, object), np.empty((0, 2))
    share = pd.to_numeric(v["covered_area_share"], errors="coerce")
    has = (share > 0).to_numpy(dtype=bool, na_value=False)
    if not has.any():
        return np.zeros(0, object), np.empty((0, 2))
    geoms = np.asarray(v.geometry.array[has])
    spots = assessment.blank_spots
    if len(spots):
        holes = spots.dissolve(by="village_id").geometry
        hole = holes.reindex(v.index[has]).to_numpy(dtype=object)
        cut = ~pd.isna(hole)
        geoms = geoms.copy()
        geoms[cut] = shapely.difference(geoms[cut], np.asarray(hole[cut]))
    keep = ~shapely.is_empty(geoms)
    rp = shapely.point_on_surface(geoms[keep])
    ids = ("covered:" + v.index[has][keep].astype(str)).to_numpy(dtype=object)
    return ids, point_xy(rp)


def _backhaul(
    site_xy: np.ndarray, site_ids: np.ndarray, anchor_xy: np.ndarray, anchor_ids: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Each site (in rank order) links to its nearest anchor or earlier site.

    Coordinates are earth-centred (ECEF, metres), so distances are chords: within 0.03 % of
    the geodesic up to 500 km.
    """
    n = len(site_xy)
    to = np.full(n, None, dtype=object)
    dist = np.full(n, np.inf)
    if n == 0:
        return to, dist
    if len(anchor_xy):
        d, i = cKDTree(anchor_xy).query(site_xy)
        to, dist = anchor_ids[i].astype(object), d
    if n > 1:
        ranks = np.arange(n)
        kq = min(n, 16)
        d, i = cKDTree(site_xy).query(site_xy, k=kq)
        earlier = i < ranks[:, None]
        has = earlier.any(axis=1)
        first = earlier.argmax(axis=1)
        de = np.where(has, d[ranks, first], np.inf)
        ie = i[ranks, first]
        # sites none of whose 16 nearest sites came earlier: exact search, in chunks
        todo = np.flatnonzero(~has & (ranks > 0))
        for chunk in np.array_split(todo, max(1, math.ceil(len(todo) * n / 4e6))):
            if len(chunk) == 0:
                continue
            dd = np.linalg.norm(site_xy[chunk][:, None, :] - site_xy[None, :, :], axis=-1)
            dd[ranks[None, :] >= chunk[:, None]] = np.inf
            j = dd.argmin(axis=1)
            de[chunk] = dd[np.arange(len(chunk)), j]
            ie[chunk] = j
        closer = de < dist  # a tie goes to the existing network
        to[closer] = site_ids[ie[closer]]
        dist[closer] = de[closer]
    dist[np.isinf(dist)] = np.nan
    return to, dist


def _network(
    *,
    site_ids: np.ndarray,
    site_xy: np.ndarray,
    to: np.ndarray,
    dist: np.ndarray,
    anchor_ids: np.ndarray,
    anchor_xy: np.ndarray,
) -> nx.Graph:
    g = nx.Graph()
    used = pd.unique(to[pd.notna(to)])
    a_pos = pd.Index(anchor_ids).get_indexer(used)
    anchors = a_pos >= 0
    g.add_nodes_from(
        (str(a), {"kind": "anchor", "x": float(anchor_xy[p, 0]), "y": float(anchor_xy[p, 1])})
        for a, p in zip(used[anchors], a_pos[anchors], strict=True)
    )
    g.add_nodes_from(
        (
            str(s),
            {"kind": "site", "rank": r + 1, "x": float(site_xy[r, 0]), "y": float(site_xy[r, 1])},
        )
        for r, s in enumerate(site_ids)
    )
    linked = pd.notna(to)
    g.add_edges_from(
        (str(s), str(t), {"length_m": float(d)})
        for s, t, d in zip(site_ids[linked], to[linked], dist[linked], strict=True)
    )
    return g


def _empty_sites(crs: Any, weighted: bool) -> gpd.GeoDataFrame:
    dtypes = {
        "rank": "int64",
        "site_id": object,
        "new_businesses": "float64",
        "cumulative_businesses": "float64",
        "cumulative_share": "float64",
        "new_weighted_businesses": "float64",
        "cumulative_weighted_businesses": "float64",
        "cumulative_weighted_share": "float64",
        "village_id": object,
        "kecamatan": object,
        "kabupaten": object,
        "villages_reached": "int64",
        "village_ids": object,
        "village_names": object,
        "radius_m": "float64",
        "cost_idr": "float64",
        "cost_per_new_business": "float64",
        "backhaul_to": object,
        "backhaul_m": "float64",
    }
    cols = {
        c: pd.Series([], dtype=t) for c, t in dtypes.items() if weighted or c not in _WEIGHTED_ONLY
    }
    return gpd.GeoDataFrame(cols, geometry=gpd.GeoSeries([], crs=crs), crs=crs)


def _empty_plan(
    assessment: Assessment,
    *,
    method: str,
    weighted: bool,
    total: float,
    message: str,
    unreachable: float = 0.0,
) -> Plan:
    log.info("rank_sites: empty plan: %s", message)
    return Plan(
        sites=_empty_sites(assessment.crs, weighted),
        upper_bound=0.0,
        method=method,
        objective=0.0,
        gap=0.0,
        total_uncovered=total,
        weighted=weighted,
        message=message,
        network=nx.Graph(),
        assessment=assessment,
        unreachable=unreachable,
    )


@check_options
def rank_sites(
    assessment: Assessment,
    sites: Any,
    *,
    radius_m: float = 5000.0,
    k: int | None = None,
    budget_idr: float | None = None,
    method: str = "greedy",
    weights: Mapping[str, Any] | None = None,
    default_cost_idr: float = DEFAULT_COST_IDR,
    time_limit_s: float = 60.0,
    bound: str = "lagrangian",
    id_col: str | None = None,
    dem: Any = None,
    site_height_m: float = 30.0,
    target_height_m: float = 1.5,
    model: str = "los",
    radio_profile: str = "LTE1800",
    environment: str = "suburban",
    threshold_dbm: float = -110.0,
    k_factor: float = 4 / 3,
    min_per_group: int | Mapping[str, int] | None = None,
    max_per_group: int | Mapping[str, int] | None = None,
    group_col: str = "kabupaten",
    include: Any = None,
    exclude: Any = None,
    backhaul: Any = None,
) -> Plan:
    """Choose and order tower sites by the uncovered businesses they would connect.

    A site connects the uncovered businesses within its radius (or inside its footprint
    polygon). Businesses that already have signal are not demand: existing coverage is
    removed up front. The plan lists the chosen sites in build order, each with the
    businesses it newly connects (that no earlier site reaches).

    Parameters
    ----------
    assessment
        The result of :func:`blankspot.assess`.
    sites
        Candidate sites: :func:`candidate_sites` output, :func:`read_sites` output, any
        GeoDataFrame of points/footprint polygons, or a file path (read with
        :func:`read_sites`). Reprojected to the working CRS (logged). Optional columns
        ``cost_idr`` and ``radius_m``.
    radius_m
        Service radius of a site without its own ``radius_m`` or footprint, metres
        (default 5000: a rural 4G macro cell reaches about 4-8 km).
    k
        Number of sites to choose. ``None`` with no budget: rank every site that adds
        something, until nothing more can be connected.
    budget_idr
        Total cost limit in rupiah; site costs from ``cost_idr``, else ``default_cost_idr``.
        With ``k`` too, both limits hold.
    method
        ``"greedy"`` (lazy greedy, fast, with a bound on how far from optimal it can be) or
        ``"exact"`` (maximal covering location problem solved to proven optimality by HiGHS;
        needs ``k`` or ``budget_idr``).
    weights
        Class weights as in :func:`score_villages`; default: the businesses' ``weight``.
    default_cost_idr
        Cost of a site without ``cost_idr`` when a budget is given, and of generated
        (grid/cluster) sites mixed with costed user sites. Default Rp 2.6 billion
        (BAKTI 4G site, 2022).
    time_limit_s
        Wall-clock limit of the whole call, seconds (default 60). ``exact`` returns the best
        plan found and its gap when it is reached (with a warning); the bounds of a greedy
        plan stop early and say so in ``Plan.message``.
    bound
        How ``method="greedy"`` bounds the optimum, reported in ``Plan.bound_method``:
        ``"lagrangian"`` (default: the Lagrangian relaxation by subgradient steps, as tight
        as the LP relaxation once converged, at most ``LAGRANGIAN_BOUND_S`` = 10 s),
        ``"greedy"`` (free, loose: the online bound of Leskovec et al. 2007) or ``"lp"``
        (the LP relaxation by HiGHS, slow on large instances; when it hits the time limit
        the greedy bound stands in and ``Plan.message`` says so). Ignored by
        ``method="exact"``, whose bound is its own.
    id_col
        Id column of ``sites`` (see :func:`read_sites`).
    dem
        A DEM (:func:`blankspot.terrain.read_dem`, a path, or a list of tiles). A point site
        then covers a business only when it is within range **and** the terrain lets it:
        ``model="los"`` (default) the straight path from the antenna ``site_height_m`` up
        to a phone ``target_height_m`` up clears the terrain (earth curvature with
        ``k_factor``); ``model="hata"`` the predicted RSRP (Okumura-Hata / COST-231 median
        + knife-edge diffraction, :func:`blankspot.terrain.path_loss`, with
        ``radio_profile`` and ``environment``) is at least ``threshold_dbm``. Footprint
        polygons given as sites are taken as they are. ``None``: flat discs.
    site_height_m, target_height_m, model, radio_profile, environment, threshold_dbm, k_factor
        The terrain options above (metres, dBm).
        A ``height_m`` column on ``sites`` gives a site its own antenna height (metres
        above the ground; empty cells take ``site_height_m``).
    min_per_group, max_per_group
        At least / at most so many chosen sites per group (each kabupaten expects its
        share): a whole number for every group, or a dict ``{group value: n}`` such as
        ``{"Kabupaten Pesisir Barat": 2}``. Sites without a group are free of quotas.
    group_col
        The group of a site: this column of ``sites``, else of the village it stands in
        (default ``"kabupaten"``).
    include
        Site ids already committed: always in the plan (ranked by what they add, like the
        others), counted in the quotas, ``k`` and the budget.
    exclude
        Site ids ruled out: dropped before ranking.
    backhaul
        The existing network (a GeoDataFrame with ``kind`` "fibre"/"tower", see
        :func:`blankspot.plan_backhaul`), a dict of :func:`~blankspot.plan_backhaul`
        arguments (``{"network": nodes, "dem": "srtm.tif", "max_hop_m": 20_000}``), or a
        :class:`~blankspot.Backhaul` whose options (network, DEM, hop limit, prices) to
        reuse. Each candidate is then priced with its own backhaul
        (``backhaul_cost_idr``), which budgets and ``cost_per_new_business`` include, and
        ``Plan.backhaul`` plans the chosen sites' links together.

    Returns
    -------
    Plan
        ``sites`` (the ranked table), ``upper_bound``, ``objective``, ``gap``, ``method``,
        ``total_uncovered``, ``weighted``, ``message``, ``network``, ``assessment``.

    Raises
    ------
    InputError
        ``radius_m`` <= 0, ``k`` < 1, a budget <= 0, unknown ``method``, ``exact`` without
        ``k`` or budget, bad ``weights``, duplicate site ids, missing/negative costs.
        Quotas and commitments that cannot all be met (the group is named), unknown site
        ids in ``include``/``exclude``, a ``group_col`` neither sites nor villages have.
    CRSError
        The sites have no CRS.
    NoOverlapError
        No site lies in or touches a village.

    Warns
    -----
    BlankspotWarning
        ``k`` exceeds the number of candidates (all useful sites are returned); the budget
        is below the cheapest site (empty plan); ``exact`` hit its time limit.

    Notes
    -----
    *Greedy* adds the site with the largest marginal gain, lazily re-evaluated (CELF). With
    a budget that can bind (the ``k`` dearest useful sites cost more than it together), it
    runs twice, by largest gain per rupiah and by largest gain among the sites still
    affordable, and keeps the better plan (ties: per rupiah); a budget that cannot bind
    leaves the plan for ``k`` unchanged. Sites of equal gain per rupiah (free sites) go by
    larger gain. It reaches at least 63 % (1 - 1/e) of the optimum for a site count
    (half that with a binding budget), and
    ``upper_bound`` (Leskovec et al. 2007 online bound) shows how close it actually is.
    *Exact* solves the integer program with HiGHS and orders the optimal sites by marginal
    contribution (per rupiah with a budget); ``upper_bound`` is the solver's dual bound.
    Both are deterministic: demand and sites are sorted by id first, ties go to the
    smaller site id.

    *Quotas and commitments*: greedy takes the committed sites first, then at each step
    the best site among those after which every quota can still be met (a group below its
    maximum; enough sites left in ``k`` and, with a budget, enough money for the cheapest
    sites the unmet minimums need). So its plan always meets every quota when the quotas
    can be met (checked up front); no approximation factor is claimed with minimums
    (``upper_bound`` is that of the problem without quotas, computed as ``bound=`` says:
    still an upper bound, so the gap shown can over-estimate). Exact adds one row per group
    and fixes committed sites in the HiGHS model, with greedy's plan as first incumbent; it
    skips the swap, reduced-cost fixing and dominance reductions, which are not aware of
    quotas, and its bound is HiGHS' dual bound of the model with quotas.

    Coverage is a sparse matrix from a KD-tree (circles) or an STRtree (footprints); demand
    points reached by exactly the same sites are merged, and demand no site reaches is
    counted in ``Plan.unreachable``. Memory grows with the number of (business, site) pairs
    within reach, never businesses x sites.

    Villages reached: the villages of the businesses a site newly connects. Backhaul: each
    site, in rank order, links to the nearest point already connected: an existing tower
    (when the coverage came from towers), else a covered business (one per 1 km cell; in
    counts mode a point in the covered part of each village), or an earlier site;
    ``Plan.network`` holds these links (nodes ``kind`` "anchor"/"site" with ``x``/``y``,
    edges ``length_m``), only anchors actually linked are included. In counts mode each
    village's uncovered businesses are placed on its blank spots' representative points.

    With ``backhaul=`` the straight lines above are replaced by :func:`plan_backhaul`:
    every candidate is priced with its cheapest route to fibre through the existing
    network (or satellite), so a site that is cheap to build but far from any network
    pays for its satellite link; ``cost_idr`` stays the site's own cost and
    ``cost_per_new_business`` is (``cost_idr`` + ``backhaul_cost_idr``) per business. The
    chosen sites are then planned together (shared links paid once, chosen sites may
    relay), which never costs more than the sum of their prices. ``backhaul_to`` is the
    next node on the planned route, ``backhaul_m`` the route's length, and
    ``Plan.network`` holds the planned links. Without a budget the ranking itself is by
    businesses, so prices change the order only through the budget.

    Examples
    --------
    >>> plan = rank_sites(_toy_assessment(), _toy_sites(), radius_m=600)
    >>> plan.sites[["rank", "site_id", "new_businesses", "cumulative_share", "village_ids"]]
       rank site_id  new_businesses  cumulative_share                  village_ids
    0     1      S1               3               0.6  18.01.01.2002;18.01.01.2003
    1     2      S2               2               1.0                18.01.01.2003
    >>> plan.upper_bound, plan.sites["backhaul_to"].tolist()
    (5.0, ['covered:b3', 'S1'])
    """
    t_start = time.perf_counter()
    assessment = _check_assessment(assessment, "rank_sites")
    radius_m = positive_metres(radius_m, "radius_m")
    k = _check_k(k)
    budget = _check_money(budget_idr, "budget_idr")
    default_cost = _check_money(default_cost_idr, "default_cost_idr", allow_zero=True)
    if method not in METHODS:
        raise InputError(f"method must be one of {list(METHODS)}, got {method!r}.")
    if bound not in BOUNDS:
        raise InputError(f"bound must be one of {list(BOUNDS)}, got {bound!r}.")
    if (
        isinstance(time_limit_s, bool)
        or not isinstance(time_limit_s, numbers.Real)
        or not (time_limit_s > 0)
    ):
        raise InputError(
            f"time_limit_s must be a positive number of seconds, got {time_limit_s!r}."
        )
    if method == "exact" and k is None and budget is None:
        raise InputError(
            "method='exact' needs k (number of sites) or budget_idr: without a limit the "
            "optimum is simply every site. Pass k= or budget_idr=, or use method='greedy' "
            "to rank all sites."
        )
    if dem is not None:
        terrain.check_model(model)
    elif model != "los":
        raise InputError(f"model={model!r} needs a DEM: pass dem= (see blankspot.terrain).")
    demand, weighted = _demand(assessment, weights)
    total = demand.total_weight if weighted else demand.total_count

    # checked before the sites: with nothing to connect, an empty candidate list is expected
    if demand.total_count <= 0 or len(demand.xy) == 0:
        return _empty_plan(
            assessment,
            method=method,
            weighted=weighted,
            total=total,
            message="no uncovered businesses: every business in the villages already has signal, "
            "so there is nothing to connect",
        )

    table = _prepare_sites(sites, assessment, id_col=id_col)
    table, side_args = _quotas_of(
        table,
        assessment,
        min_per_group=min_per_group,
        max_per_group=max_per_group,
        group_col=group_col,
        include=include,
        exclude=exclude,
    )
    m = len(table)

    # costs
    has_cost_col = "cost_idr" in table.columns
    costs_known = has_cost_col or budget is not None
    if has_cost_col:
        costs = table["cost_idr"].to_numpy("float64")
        filled = np.isnan(costs)
        if filled.any():
            log.info(
                "%d generated sites without cost_idr priced at default_cost_idr=%g",
                int(filled.sum()),
                default_cost,
            )
        costs = np.where(filled, default_cost, costs)
    else:
        costs = np.full(m, default_cost if budget is not None else np.nan)
    site_costs = costs
    bh_opts = None
    if backhaul is not None:
        bh_price, bh_opts = price_candidates(table, backhaul)
        site_costs = np.where(np.isnan(costs), default_cost, costs)
        costs = site_costs + bh_price
        costs_known = True
    if budget is not None:
        cheapest = float(np.min(costs))
        if cheapest > budget:
            msg = (
                f"budget_idr={budget:,.0f} is below the cheapest site (Rp {cheapest:,.0f}): "
                "no site can be built"
            )
            warn_user(msg)
            return _empty_plan(
                assessment, method=method, weighted=weighted, total=total, message=msg
            )
    notes: list[str] = []
    k_asked = k
    if k is not None and k > m:
        msg = f"k={k} exceeds the {m} candidate sites: ranking all useful sites instead"
        warn_user(msg)
        notes.append(msg)
        k = m

    terrain_kw = (
        None
        if dem is None
        else {
            "crs": assessment.crs,
            "dem": terrain.read_dem(dem),
            "site_height_m": site_height_m,
            "target_height_m": target_height_m,
            "model": model,
            "radio_profile": radio_profile,
            "environment": environment,
            "threshold_dbm": threshold_dbm,
            "k_factor": k_factor,
        }
    )
    obj_w = demand.weight if weighted else demand.count
    A_agg, w_agg, group, radius, n_pairs = _aggregated_coverage(
        demand.xy, obj_w, table, radius_m, terrain_kw
    )
    A_agg = _mclp._as_csc(A_agg)  # what the solvers read (columns), held once
    reached = group >= 0
    unreachable = float(obj_w[~reached].sum())
    if not reached.any():
        sxy = point_xy(_point_of(table.geometry.array))
        d, _ = cKDTree(_geodesy.ecef_of(demand.xy[:, 0], demand.xy[:, 1], table.crs)).query(
            _geodesy.ecef_of(sxy[:, 0], sxy[:, 1], table.crs)
        )
        return _empty_plan(
            assessment,
            method=method,
            weighted=weighted,
            total=total,
            message=f"no candidate site reaches an uncovered business (the nearest is "
            f"{float(np.min(d)):,.0f} m from a site; radius_m={radius_m:g}): try a larger "
            "radius or sites nearer the blank spots",
            unreachable=unreachable,
        )
    if unreachable > 0:
        log.info("%g uncovered businesses are out of reach of every candidate site", unreachable)

    log.info(
        "rank_sites: %d demand points -> %d coverage patterns x %d sites (%d pairs), %s",
        len(demand.xy),
        A_agg.shape[0],
        m,
        n_pairs,
        method,
    )
    solve_costs = costs if budget is not None else None
    deadline = t_start + float(time_limit_s) * _SOLVE_SHARE
    if side_args is not None:
        side = _quotas.side_constraints(
            table.index.to_numpy(dtype=str), **side_args, k=k, budget=budget, costs=costs
        )
        res, bound_method, solve_notes = _solve_constrained(
            A_agg, w_agg, method=method, bound=bound, k=k, budget=budget, costs=solve_costs,
            side=side, deadline=deadline,
        )  # fmt: skip
    else:
        res, bound_method, solve_notes = _solve(
            A_agg, w_agg, method=method, bound=bound, k=k, budget=budget, costs=solve_costs,
            deadline=deadline,
        )  # fmt: skip
    notes.extend(solve_notes)
    chosen = res.chosen
    if k is not None and len(chosen) < k:
        notes.append(
            f"only {len(chosen)} of the k={k_asked} sites asked for connect anyone new: "
            "every uncovered business within reach of a candidate is connected"
        )
    if res.status == "greedy (largest gain)":
        notes.append(
            "picking the site that connects most among those still affordable connects "
            "more within the budget than picking by businesses per rupiah, so the plan "
            "follows the largest gain"
        )

    sites_out = _plan_table(
        assessment,
        table=table,
        chosen=chosen,
        first=_first_chosen(A_agg, group, chosen),
        demand=demand,
        weighted=weighted,
        radius=radius,
        costs=costs if costs_known else None,
    )
    if bh_opts is not None:
        sites_out["cost_idr"] = site_costs[chosen]
        return _with_backhaul(
            sites_out,
            bh_opts,
            prices=bh_price[chosen],
            plan_kw={
                "upper_bound": max(float(res.upper_bound), objective_of(sites_out, weighted)),
                "method": method,
                "objective": objective_of(sites_out, weighted),
                "gap": float(res.gap),
                "total_uncovered": total,
                "weighted": weighted,
                "message": "; ".join(notes),
                "bound_method": bound_method,
                "assessment": assessment,
                "unreachable": unreachable,
            },
        )
    anchor_ids, anchor_xy = _anchors(assessment)
    pts = sites_out.geometry.array
    site_xy = point_xy(pts)
    site_ids = sites_out["site_id"].to_numpy(dtype=object)
    to, dist = _backhaul(
        _geodesy.ecef_of(site_xy[:, 0], site_xy[:, 1], assessment.crs),
        site_ids,
        _geodesy.ecef_of(anchor_xy[:, 0], anchor_xy[:, 1], assessment.crs),
        anchor_ids,
    )
    sites_out["backhaul_to"] = to
    sites_out["backhaul_m"] = dist
    objective = float(sites_out["new_weighted_businesses" if weighted else "new_businesses"].sum())
    return Plan(
        sites=sites_out,
        upper_bound=max(float(res.upper_bound), objective),
        method=method,
        objective=objective,
        gap=float(res.gap),
        total_uncovered=total,
        weighted=weighted,
        message="; ".join(notes),
        bound_method=bound_method,
        network=_network(
            site_ids=site_ids,
            site_xy=site_xy,
            to=to,
            dist=dist,
            anchor_ids=anchor_ids,
            anchor_xy=anchor_xy,
        ),
        assessment=assessment,
        unreachable=unreachable,
    )


def _quotas_of(
    table: gpd.GeoDataFrame,
    assessment: Assessment,
    *,
    min_per_group: Any,
    max_per_group: Any,
    group_col: str,
    include: Any,
    exclude: Any,
) -> tuple[gpd.GeoDataFrame, dict[str, Any] | None]:
    """Drop excluded sites; return the arguments of the side constraints (or ``None``)."""
    if include is None and exclude is None and min_per_group is None and max_per_group is None:
        return table, None
    ids = table.index.astype(str)
    for what, given in (("include", include), ("exclude", exclude)):
        unknown = sorted(set(_quotas._ids(given, what)) - set(ids))
        if unknown:
            raise InputError(
                f"{what} names site id(s) that are not candidate sites: {some(unknown)}. "
                f"Site ids look like {some(ids[:3])}."
            )
    inc, exc = _quotas._ids(include, "include"), _quotas._ids(exclude, "exclude")
    both = sorted(set(inc) & set(exc))
    if both:
        raise InputError(f"Site(s) {some(both)} are both in include and in exclude.")
    if exc:
        table = table[~ids.isin(exc)]
        log.info("rank_sites: %d sites excluded", len(exc))
        if len(table) == 0:
            raise InputError("exclude rules out every candidate site: nothing is left to rank.")
    if min_per_group is None and max_per_group is None and not inc:
        return table, None
    groups = None
    if min_per_group is not None or max_per_group is not None:
        if group_col in table.columns:
            groups = table[group_col]
        elif group_col in assessment.villages.columns and "village_id" in table.columns:
            v = assessment.villages[group_col]
            v.index = v.index.astype(str)
            groups = table["village_id"].astype("string").map(v)
        else:
            raise InputError(
                f"group_col={group_col!r} is neither a column of the sites nor of the villages "
                "(with the sites' village_id); fill it (attach_parent_names) or name another."
            )
        groups = groups.astype("string")
    return table, {
        "groups": groups,
        "group_col": group_col,
        "min_per_group": min_per_group,
        "max_per_group": max_per_group,
        "include": inc,
    }


def objective_of(sites: gpd.GeoDataFrame, weighted: bool) -> float:
    """Total newly connected (weighted) businesses of a ranked table."""
    return float(sites["new_weighted_businesses" if weighted else "new_businesses"].sum())


def _with_backhaul(
    sites_out: gpd.GeoDataFrame, opts: dict, *, prices: np.ndarray, plan_kw: dict
) -> Plan:
    """Plan the chosen sites' backhaul together and fill the table's backhaul columns."""
    ids = sites_out["site_id"].astype(str)
    # the plan's rank decides who gets a node's last slot (capacity), not the price
    b = plan_backhaul(sites_out[["rank", "geometry"]].set_axis(ids), **opts)
    routes = b.sites.loc[ids]
    nxt = [r[1] if len(r) > 1 else None for r in routes["route"]]
    sites_out["backhaul_to"] = np.array(nxt, dtype=object)
    sites_out["backhaul_m"] = routes["backhaul_m"].to_numpy("float64")
    sites_out["backhaul"] = routes["backhaul"].to_numpy(object)
    sites_out["backhaul_hops"] = routes["hops"].to_numpy(np.int64)
    sites_out["backhaul_cost_idr"] = prices
    sites_out["backhaul_note"] = routes["backhaul_note"].to_numpy(object)
    cols = [c for c in PLAN_COLUMNS if c in sites_out.columns]
    return Plan(sites=sites_out[cols], network=built_network(b), backhaul=b, **plan_kw)
