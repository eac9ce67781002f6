"""Numeric core of site ranking: the maximal covering location problem on a sparse matrix.

Everything here works on plain numbers, following spopt's layering (``from_geodataframe``
only builds a matrix and hands it to ``from_cost_matrix``): a boolean coverage matrix
``A`` (demand rows x candidate-site columns, ``scipy.sparse``), demand weights ``w`` and,
optionally, site costs. :mod:`blankspot.ranking` builds those from GeoDataFrames.

* :func:`coverage_from_points` -- ``A`` from coordinates and per-site radii (KD-tree, sparse).
* :func:`aggregate_demand` -- merge demand rows with the same set of covering sites and drop
  rows no site covers; the optimum and every marginal gain are unchanged.
* :func:`greedy_mclp` -- lazy greedy (CELF) with an online upper bound.
* :func:`lp_bound` -- the LP relaxation (HiGHS); :func:`blankspot._exact.exact_mclp` solves
  the integer program to proven optimality.
* :func:`order_by_marginal` -- rank a given set of sites by marginal contribution.

Site ties are always broken by the smaller column index, so callers that sort the
columns by site id get "ties by site id". No function ever builds a dense demand x sites
matrix.
"""

from __future__ import annotations

import functools
import logging
import math
import os
import sys
from dataclasses import dataclass
from typing import Any

import highspy
import numpy as np
import scipy.sparse as sp
from scipy.spatial import cKDTree

from blankspot import _greedy_kernels

__all__ = [
    "MCLPResult",
    "aggregate_demand",
    "coverage_from_points",
    "greedy_mclp",
    "lp_bound",
    "order_by_marginal",
    "relative_gap",
]

log = logging.getLogger("blankspot")

#: 1 - 1/e, Nemhauser, Wolsey & Fisher (1978): greedy's guarantee for a site count.
GREEDY_FACTOR = 1.0 - 1.0 / math.e

# Above this many candidate sites the online bound is refreshed only at iterations
# 1, 2, 4, 8, ... (plus first and last), so that it never dominates the greedy run time.
_BOUND_EVERY_ITERATION_MAX_SITES = 50_000


@dataclass(frozen=True)
class MCLPResult:
    """The outcome of :func:`greedy_mclp`, ``exact_mclp`` or :func:`order_by_marginal`.

    Attributes
    ----------
    chosen : numpy.ndarray
        Column indices of the chosen sites, in priority order (int64). Sites that would add
        nothing are never listed.
    gains : numpy.ndarray
        Marginal weighted demand each chosen site adds, aligned with ``chosen``.
    objective : float
        Weighted demand covered by all chosen sites (``gains.sum()``).
    upper_bound : float
        No plan of the same size or budget can cover more weighted demand than this.
    gap : float
        ``(upper_bound - objective) / upper_bound`` (0 when both are 0); 0 for a proven optimum.
    method : str
        ``"greedy"``, ``"exact"`` or ``"order"`` (:func:`order_by_marginal`).
    status : str
        ``"greedy"`` or ``"greedy (largest gain)"`` (which budgeted plan won, see
        :func:`greedy_mclp`), ``"ordered"``, or the HiGHS model status
        (``"Optimal"``, ``"Time limit reached"``, ...).
    note : str
        How :func:`blankspot._exact.exact_mclp` got there: the bounds, the reductions and
        the solver runs.
    """

    chosen: np.ndarray
    gains: np.ndarray
    objective: float
    upper_bound: float
    gap: float
    method: str
    status: str
    note: str = ""


# --------------------------------------------------------------------------- matrix


def coverage_from_points(
    demand_xy: np.ndarray, site_xy: np.ndarray, radius_m: np.ndarray | float
) -> sp.csr_matrix:
    """Boolean coverage matrix: demand ``i`` is covered by site ``j`` when within its radius.

    Parameters
    ----------
    demand_xy, site_xy
        ``(n, d)`` and ``(m, d)`` coordinates in metres: planar ``(x, y)`` in one projected
        CRS, or earth-centred ``(x, y, z)`` with chord radii (what :func:`rank_sites` uses).
    radius_m
        One radius or one per site, metres. A demand point exactly at the radius is covered.

    Returns
    -------
    scipy.sparse.csr_matrix
        ``(n, m)`` boolean, sorted column indices in every row.

    Notes
    -----
    A KD-tree over the sites is joined with one over the demand by
    :meth:`scipy.spatial.cKDTree.sparse_distance_matrix`, once per distinct radius (or with
    ``query_ball_point`` and per-site radii when there are many distinct radii). Memory is
    proportional to the number of (demand, site) pairs within reach, never ``n * m``.

    Examples
    --------
    >>> import numpy as np
    >>> A = coverage_from_points(np.array([[0.0, 0], [3, 0]]), np.array([[0.0, 0]]), 2.0)
    >>> A.toarray().ravel().tolist()
    [True, False]
    """
    demand_xy = np.asarray(demand_xy, dtype="float64")
    dim = demand_xy.shape[-1] if demand_xy.ndim == 2 else 2
    demand_xy = demand_xy.reshape(-1, dim)
    site_xy = np.asarray(site_xy, dtype="float64").reshape(-1, dim)
    n, m = len(demand_xy), len(site_xy)
    radius = np.broadcast_to(np.asarray(radius_m, dtype="float64"), (m,))
    if n == 0 or m == 0:
        return sp.csr_matrix((n, m), dtype=bool)
    demand_tree = cKDTree(demand_xy)
    distinct = np.unique(radius)
    rows_parts: list[np.ndarray] = []
    cols_parts: list[np.ndarray] = []
    if len(distinct) <= 16:
        # one sparse join per radius: no Python lists, ~2x faster than query_ball_point
        for r in distinct:
            cols = np.flatnonzero(radius == r)
            pairs = cKDTree(site_xy[cols]).sparse_distance_matrix(
                demand_tree, float(r), output_type="ndarray"
            )
            rows_parts.append(pairs["j"].astype(np.int64))
            cols_parts.append(cols[pairs["i"]])
    else:
        hits = demand_tree.query_ball_point(site_xy, r=radius, return_sorted=False)
        lens = np.fromiter((len(h) for h in hits), dtype=np.int64, count=m)
        rows_parts.append(
            np.fromiter((i for h in hits for i in h), dtype=np.int64, count=int(lens.sum()))
        )
        cols_parts.append(np.repeat(np.arange(m, dtype=np.int64), lens))
    rows = np.concatenate(rows_parts)
    cols = np.concatenate(cols_parts)
    A = sp.csr_matrix((np.ones(len(rows), dtype=bool), (rows, cols)), shape=(n, m))
    A.sum_duplicates()
    A.sort_indices()
    return A


def aggregate_demand(A: sp.spmatrix, w: np.ndarray) -> tuple[sp.csr_matrix, np.ndarray, np.ndarray]:
    """Merge demand rows covered by the same set of sites and drop rows no site covers.

    Two demand points reached by exactly the same sites are interchangeable in every
    covering problem: replacing them by one row carrying the summed weight changes neither
    the optimum nor any marginal gain. On real data (businesses clustered in villages)
    this shrinks the problem many times over.

    Parameters
    ----------
    A
        ``(n, m)`` boolean coverage matrix.
    w
        ``(n,)`` demand weights.

    Returns
    -------
    A_agg : scipy.sparse.csr_matrix
        ``(g, m)`` boolean, one row per distinct non-empty coverage pattern, in order of
        first appearance.
    w_agg : numpy.ndarray
        ``(g,)`` summed weights.
    group : numpy.ndarray
        ``(n,)`` int64, the aggregated row of each input row, -1 where no site covers it.

    Examples
    --------
    >>> import numpy as np, scipy.sparse as sp
    >>> A = sp.csr_matrix(np.array([[1, 0], [1, 0], [0, 0], [1, 1]], dtype=bool))
    >>> A2, w2, g = aggregate_demand(A, np.array([1.0, 2.0, 5.0, 1.0]))
    >>> A2.toarray().astype(int).tolist(), w2.tolist(), g.tolist()
    ([[1, 0], [1, 1]], [3.0, 1.0], [0, 0, -1, 1])
    """
    A = sp.csr_matrix(A, dtype=bool)
    A.sum_duplicates()
    A.sort_indices()
    A.eliminate_zeros()
    w = np.asarray(w, dtype="float64")
    n, m = A.shape
    nnz_row = np.diff(A.indptr)
    live = np.flatnonzero(nnz_row > 0)
    group = np.full(n, -1, dtype=np.int64)
    if len(live) == 0:
        return sp.csr_matrix((0, m), dtype=bool), np.zeros(0), group
    # Hash every row's column set with two independent random 64-bit keys per site
    # (wrap-around sums are order-free), then verify every merge exactly below, so a
    # hash collision can never merge two different rows.
    rng = np.random.default_rng(20240601)
    key1 = rng.integers(0, 2**63, size=m, dtype=np.uint64) * np.uint64(2) + np.uint64(1)
    key2 = rng.integers(0, 2**63, size=m, dtype=np.uint64)
    starts = A.indptr[live]
    with np.errstate(over="ignore"):
        h1 = np.add.reduceat(key1[A.indices], starts)
        h2 = np.add.reduceat(key2[A.indices], starts)
    sig = np.empty(len(live), dtype=[("n", np.int64), ("h1", np.uint64), ("h2", np.uint64)])
    sig["n"], sig["h1"], sig["h2"] = nnz_row[live], h1, h2
    _, first, inverse = np.unique(sig, return_index=True, return_inverse=True)
    rep = live[first[inverse]]  # representative input row of each live row
    # exact check: each row's sorted column list equals its representative's
    lens = nnz_row[live]
    offs = np.arange(lens.sum()) - np.repeat(np.cumsum(lens) - lens, lens)
    same = (
        A.indices[np.repeat(A.indptr[live], lens) + offs]
        == (A.indices[np.repeat(A.indptr[rep], lens) + offs])
    )
    bad = np.repeat(np.arange(len(live)), lens)[~same]
    if len(bad):  # pragma: no cover - needs a 128-bit hash collision
        rep[np.unique(bad)] = live[np.unique(bad)]
    # number groups by first appearance so the output order follows the input order
    uniq_rep, rep_group = np.unique(rep, return_inverse=True)
    group[live] = rep_group
    w_agg = np.bincount(group[live], weights=w[live], minlength=len(uniq_rep))
    return A[uniq_rep], w_agg, group


def _as_csc(A: sp.spmatrix) -> sp.csc_matrix:
    A = sp.csc_matrix(A, dtype=bool)
    A.sum_duplicates()
    A.sort_indices()
    A.eliminate_zeros()
    return A


def _check_problem(
    A: sp.spmatrix,
    w: np.ndarray,
    k: int | None,
    budget: float | None,
    costs: np.ndarray | None,
) -> tuple[sp.csc_matrix, np.ndarray, np.ndarray | None]:
    """Validate the numeric inputs (callers in ranking.py already checked the user's)."""
    A = _as_csc(A)
    n, m = A.shape
    w = np.asarray(w, dtype="float64").ravel()
    if w.shape != (n,):
        raise ValueError(f"w has shape {w.shape}, expected ({n},) to match A {A.shape}")
    if not np.all(np.isfinite(w)) or np.any(w < 0):
        raise ValueError("demand weights must be finite and >= 0")
    if k is not None and (int(k) != k or k < 0):
        raise ValueError(f"k must be a non-negative integer, got {k!r}")
    if budget is not None and not (np.isfinite(budget) and budget >= 0):
        raise ValueError(f"budget must be finite and >= 0, got {budget!r}")
    if costs is not None:
        costs = np.asarray(costs, dtype="float64").ravel()
        if costs.shape != (m,):
            raise ValueError(f"costs has shape {costs.shape}, expected ({m},)")
        if not np.all(np.isfinite(costs)) or np.any(costs < 0):
            raise ValueError("site costs must be finite and >= 0")
    if budget is not None and costs is None:
        costs = np.ones(m)
    return A, w, costs


def relative_gap(objective: float, bound: float) -> float:
    """``(bound - objective) / bound``, 0 when the bound is 0."""
    return 0.0 if bound <= 0 else max(0.0, (bound - objective) / bound)


# --------------------------------------------------------------------------- bounds


def _top_k_sum(values: np.ndarray, k: int) -> float:
    if k <= 0 or len(values) == 0:
        return 0.0
    if k >= len(values):
        return float(values.sum())
    return float(np.partition(values, len(values) - k)[len(values) - k :].sum())


def _fractional_knapsack(values: np.ndarray, costs: np.ndarray, capacity: float) -> float:
    """Best value of items (fractions allowed) with total cost <= capacity."""
    keep = (values > 0) & (costs <= capacity)
    v, c = values[keep], costs[keep]
    free = c <= 0
    total = float(v[free].sum())
    v, c = v[~free], c[~free]
    if len(v) == 0:
        return total
    order = np.argsort(-(v / c), kind="stable")
    v, c = v[order], c[order]
    cum = np.cumsum(c)
    full = int(np.searchsorted(cum, capacity, side="right"))
    total += float(v[:full].sum())
    if full < len(v):
        spent = cum[full - 1] if full else 0.0
        total += float(v[full] * (capacity - spent) / c[full])
    return total


def _online_bound(
    covered_value: float,
    marginal_ub: np.ndarray,
    k: int | None,
    budget: float | None,
    costs: np.ndarray | None,
) -> float:
    """Leskovec et al. (2007) data-dependent bound from any partial solution S.

    For every plan T of size k: f(T) <= f(S) + sum of the k largest marginal gains
    w.r.t. S; with a budget, the fractional knapsack of those gains over the budget.
    ``marginal_ub`` may hold stale gains: by submodularity they only overestimate.
    """
    bound = math.inf
    if k is not None:
        bound = covered_value + _top_k_sum(marginal_ub, k)
    if budget is not None and costs is not None:
        bound = min(bound, covered_value + _fractional_knapsack(marginal_ub, costs, budget))
    return bound


# --------------------------------------------------------------------------- greedy


@dataclass(frozen=True)
class _Plan:
    """One lazy-greedy run: sites in pick order, their gains, the total and a bound."""

    chosen: list[int]
    gains: list[float]
    value: float
    bound: float


def _lazy_greedy(
    A: sp.csc_matrix,
    w: np.ndarray,
    gains: np.ndarray,
    cost: np.ndarray | None,
    *,
    k_cap: int,
    budget: float | None,
    by_ratio: bool,
    bound_k: int | None = None,
    bound_budget: float | None = None,
) -> _Plan:
    """CELF: pick by gain (or gain per cost) among the sites that still fit ``budget``.

    Heap entries are ``(-priority, -gain, index, iteration of the evaluation)``, so ties in
    priority go to the larger gain (this is what orders free sites, whose priority is
    ``inf``), then to the smaller index. Stale entries never rank below fresh ones:
    by submodularity a stale gain, and hence its ratio, only overestimates. ``bound_k`` /
    ``bound_budget`` switch on the online bound (:func:`_online_bound`) for that problem;
    otherwise ``bound`` is ``inf``.
    """
    n, m = A.shape
    cost_of = np.asarray(cost if cost is not None else np.zeros(m), dtype="float64")
    w = np.ascontiguousarray(w, dtype="float64")
    remaining = math.inf if budget is None else float(budget)
    # sums of costs that exactly meet the budget must not fail on rounding
    slack = 0.0 if budget is None else 1e-9 * max(float(budget), 1.0)
    stale = gains.copy()  # latest known gain of every site: an upper bound of its true gain
    if by_ratio:  # gain per cost; inf for a useful free site, 0 for a useless one
        with np.errstate(divide="ignore", invalid="ignore"):
            first = np.where(gains <= 0, 0.0, np.where(cost_of <= 0, math.inf, gains / cost_of))
    else:
        first = gains
    # the heap of (-priority, -gain, index, iteration of the evaluation), as four arrays
    heap = (-first, -gains, np.arange(m, dtype=np.int64), np.zeros(m, dtype=np.int64))
    _greedy_kernels.heapify(*heap)
    size = m
    covered = np.zeros(n, dtype=bool)
    chosen = np.zeros(k_cap, dtype=np.int64)
    chosen_gains = np.zeros(k_cap)
    buf = np.empty(int(np.diff(A.indptr).max()) if m else 0)
    state = np.array([0.0, 0.0, remaining, 0.0])  # picked, value, budget left, ended
    track_bound = bound_k is not None or bound_budget is not None
    every = m <= _BOUND_EVERY_ITERATION_MAX_SITES
    bound = math.inf
    if track_bound:
        bound = _online_bound(0.0, stale, bound_k, bound_budget, cost)

    it = 0
    while not state[3] and it < k_cap and size > 0:
        # run compiled until the next pick after which the bound is refreshed (every pick
        # on small instances, else picks 1, 2, 4, 8, ...)
        stop = k_cap
        if track_bound:
            stop = min(k_cap, it + 1 if every else 1 << it.bit_length())
        size = _greedy_kernels.celf_steps(
            A.indptr, A.indices, w, cost_of, by_ratio, slack, heap, size, covered, stale, buf,
            chosen, chosen_gains, state, stop,
        )  # fmt: skip
        picked = int(state[0])
        if track_bound and picked > it and (every or (picked & (picked - 1)) == 0):
            bound = min(bound, _online_bound(float(state[1]), stale, bound_k, bound_budget, cost))
        it = picked
    value = float(state[1])
    chosen_list = chosen[:it].tolist()
    gains_list = chosen_gains[:it].tolist()

    if track_bound:
        # exact marginal gains w.r.t. the final plan: one sparse product
        final = _greedy_kernels.column_sums(A.indptr, A.indices, w * ~covered)
        final[chosen_list] = 0.0
        bound = min(bound, _online_bound(value, final, bound_k, bound_budget, cost))
    return _Plan(chosen_list, gains_list, value, bound)


def _budget_can_bind(gains: np.ndarray, costs: np.ndarray, k_cap: int, budget: float) -> bool:
    """Whether some plan greedy could pick (<= ``k_cap`` useful sites) exceeds ``budget``.

    Greedy only ever picks sites with a positive initial gain; when the ``k_cap`` most
    expensive of those fit together, every such plan fits and the budget is irrelevant.
    """
    useful = costs[gains > 0]
    slack = 1e-9 * max(float(budget), 1.0)
    return _top_k_sum(useful, k_cap) > float(budget) + slack


def greedy_mclp(
    A: sp.spmatrix,
    w: np.ndarray,
    *,
    k: int | None = None,
    budget: float | None = None,
    costs: np.ndarray | None = None,
) -> MCLPResult:
    """Lazy greedy maximal covering (CELF) with an online optimality bound.

    Repeatedly adds the site with the largest marginal gain (weighted demand it covers that
    no chosen site covers yet). Stale gains kept in a heap are upper bounds of the current
    ones (coverage is submodular), so only the top of the heap is re-evaluated (Minoux
    1978, Leskovec et al. 2007). With a ``budget`` that can bind, two plans are built
    within the budget and the site count, and the better is returned: the cost-benefit
    greedy (largest gain per cost) and the plain greedy (largest gain among the sites
    that still fit).

    Parameters
    ----------
    A
        ``(n, m)`` boolean coverage matrix (any scipy.sparse format).
    w
        ``(n,)`` non-negative demand weights.
    k
        At most this many sites; ``None`` for no limit.
    budget
        Total cost limit, in the units of ``costs`` (unit costs when ``costs`` is None).
    costs
        ``(m,)`` non-negative site costs; only used with a ``budget``.

    Returns
    -------
    MCLPResult
        Sites in the order greedy picked them. Selection stops when ``k`` sites are chosen,
        no remaining site fits the budget, or no site adds anything. ``status`` says which
        plan won: ``"greedy"`` (plain greedy without a binding budget, else cost-benefit)
        or ``"greedy (largest gain)"``.

    Notes
    -----
    For a site count, greedy covers at least ``1 - 1/e`` (63 %) of the optimum (Nemhauser,
    Wolsey & Fisher 1978). A budget *can bind* when the ``k`` (or all, without ``k``) most
    expensive sites that cover anything cost more than it together; otherwise it is
    ignored and the result is exactly the plain greedy for ``k``. A binding budget gets
    the better of the two plans above. The plain greedy starts with the best single
    affordable site, so this includes the best-single-site safeguard and covers at least
    ``(1 - 1/e) / 2`` of the optimum (Khuller, Moss & Naor 1999; Leskovec et al. 2007).
    Ties (a difference below ``1e-12`` relative, so that summation order cannot decide) go
    to the cost-benefit plan.
    In the cost-benefit greedy, sites of equal gain per cost (in particular free sites)
    go in order of decreasing gain.
    ``upper_bound`` is the smallest of: the weighted demand any site covers, the
    data-dependent bound of Leskovec et al. (2007) evaluated after each pick of every
    plan (top-k marginal gains, or their fractional knapsack over the budget), and when
    the budget cannot bind and ``k`` sites were picked, ``objective / (1 - 1/e)``. Ties
    are broken by the smaller column index. Cost: one pass over ``A`` to initialise, then
    each re-evaluation reads one column; a binding budget runs greedy twice.

    Examples
    --------
    >>> import numpy as np, scipy.sparse as sp
    >>> A = sp.csc_matrix(np.array([[1, 0, 0], [1, 1, 0], [0, 1, 0], [0, 1, 1]], dtype=bool))
    >>> r = greedy_mclp(A, np.ones(4), k=2)
    >>> r.chosen.tolist(), r.gains.tolist(), r.objective
    ([1, 0], [3.0, 1.0], 4.0)
    """
    A, w, costs = _check_problem(A, w, k, budget, costs)
    m = A.shape[1]
    k_cap = m if k is None else min(int(k), m)
    hit = np.zeros(A.shape[0], dtype=bool)
    hit[A.indices] = True  # rows some site covers (no CSR copy of A)
    coverable = float(w[hit].sum())
    gains = _greedy_kernels.column_sums(A.indptr, A.indices, w)  # exact: A.T @ w

    bound_budget = None if budget is None else float(budget)
    binding = (
        costs is not None
        and budget is not None
        and _budget_can_bind(gains, costs, k_cap, float(budget))
    )
    run = functools.partial(
        _lazy_greedy, A, w, gains, costs, k_cap=k_cap, bound_k=k, bound_budget=bound_budget
    )
    if not binding:
        plan = run(budget=None, by_ratio=False)
        status = "greedy"
        bound = plan.bound
        if k is not None and len(plan.chosen) == k_cap:
            bound = min(bound, plan.value / GREEDY_FACTOR)
    else:
        # The plain greedy's first pick is the best single affordable site (largest gain,
        # then smallest index), so it already contains the best-single-site safeguard of
        # Khuller, Moss & Naor (1999) and can only add to it.
        ratio_plan = run(budget=budget, by_ratio=True)
        gain_plan = run(budget=budget, by_ratio=False)
        plan, status = ratio_plan, "greedy"
        # a relative tolerance, so that the same plan summed in another order is a tie
        if gain_plan.value > ratio_plan.value + 1e-12 * max(1.0, ratio_plan.value):
            plan, status = gain_plan, "greedy (largest gain)"
            log.info(
                "budgeted greedy: picking by largest gain covers %.6g, more than picking by "
                "gain per cost (%.6g); using it",
                gain_plan.value,
                ratio_plan.value,
            )
        bound = min(ratio_plan.bound, gain_plan.bound)  # each holds for every plan
    value = plan.value
    bound = max(value, min(bound, coverable))
    return MCLPResult(
        chosen=np.asarray(plan.chosen, dtype=np.int64),
        gains=np.asarray(plan.gains, dtype="float64"),
        objective=float(value),
        upper_bound=float(bound),
        gap=relative_gap(value, bound),
        method="greedy",
        status=status,
    )


def order_by_marginal(
    A: sp.spmatrix,
    w: np.ndarray,
    chosen: np.ndarray,
    *,
    costs: np.ndarray | None = None,
) -> MCLPResult:
    """Rank a given set of sites greedily by marginal contribution (per cost when ``costs``).

    Used to turn the unordered optimum of :func:`blankspot._exact.exact_mclp` into a build
    order: first the site covering most, then the one adding most to it, and so on. Sites adding
    nothing are left out. With ``costs``, sites of equal gain per cost (in particular
    free sites) go in order of decreasing gain; remaining ties go to the smaller index.

    Parameters
    ----------
    A, w
        Coverage matrix and demand weights as in :func:`greedy_mclp`.
    chosen
        Column indices of the sites to rank.
    costs
        ``(m,)`` site costs: rank by marginal gain per cost instead.

    Returns
    -------
    MCLPResult
        ``chosen`` in ranked order; ``upper_bound`` equals ``objective`` (it says nothing
        about optimality; callers set their own bound).

    Examples
    --------
    >>> import numpy as np, scipy.sparse as sp
    >>> A = sp.csc_matrix(np.array([[1, 0], [0, 1], [0, 1]], dtype=bool))
    >>> order_by_marginal(A, np.ones(3), np.array([0, 1])).chosen.tolist()
    [1, 0]
    """
    chosen = np.unique(np.asarray(chosen, dtype=np.int64))  # sorted: ties by index
    sub_costs = None if costs is None else np.asarray(costs, dtype="float64")[chosen]
    A_sub, w, sub_costs = _check_problem(_as_csc(A)[:, chosen], w, None, None, sub_costs)
    gains = np.asarray(A_sub.T @ w, dtype="float64").ravel()
    plan = _lazy_greedy(
        A_sub, w, gains, sub_costs, k_cap=len(chosen), budget=None, by_ratio=costs is not None
    )
    return MCLPResult(
        chosen=chosen[np.asarray(plan.chosen, dtype=np.int64)],
        gains=np.asarray(plan.gains, dtype="float64"),
        objective=float(plan.value),
        upper_bound=float(plan.value),
        gap=0.0,
        method="order",
        status="ordered",
    )


# --------------------------------------------------------------------------- exact

_HIGHS_BANNER_SILENCED = False


def _new_highs():  # type: ignore[no-untyped-def]  # highspy ships no stubs
    """Create a silent ``highspy.Highs``.

    HiGHS writes its copyright banner from C++ straight to file descriptor 1 the first
    time a solver is created, before any option can be set; a library must not print, so
    the first construction runs with fd 1 pointed at /dev/null.
    """
    global _HIGHS_BANNER_SILENCED  # noqa: PLW0603 - process-wide, once
    if _HIGHS_BANNER_SILENCED:
        h = highspy.Highs()
    else:
        try:
            sys.stdout.flush()
            saved = os.dup(1)
        except (OSError, ValueError, AttributeError):  # no real fd 1 (some notebooks)
            saved = None
        try:
            if saved is not None:
                devnull = os.open(os.devnull, os.O_WRONLY)
                os.dup2(devnull, 1)
                os.close(devnull)
            h = highspy.Highs()
        finally:
            if saved is not None:
                os.dup2(saved, 1)
                os.close(saved)
        _HIGHS_BANNER_SILENCED = True
    h.setOptionValue("output_flag", False)
    return h


def _covering_model(
    A: sp.csc_matrix,
    w: np.ndarray,
    *,
    k: int | None,
    budget: float | None,
    costs: np.ndarray | None,
    integer: bool,
    side: Any = None,
):  # type: ignore[no-untyped-def]  # returns highspy.Highs (no stubs)
    """Load the MCLP (or its LP relaxation) into a silent HiGHS instance.

    Columns: ``x_0..x_{m-1}`` (sites), then ``y_0..y_{n-1}`` (demand). Rows: one
    ``y_i - sum_j A_ij x_j <= 0`` per demand, then the count row, then the budget row. The
    column-wise matrix is assembled from ``A``'s sparse arrays; nothing dense is built.
    """
    n, m = A.shape
    extra: list[np.ndarray] = []
    row_upper = [np.zeros(n)]
    col_upper_x = np.ones(m)
    if k is not None:
        extra.append(np.ones(m))
        row_upper.append(np.array([float(k)]))
    if budget is not None and costs is not None:
        scale = float(budget) if budget > 0 else 1.0  # keep coefficients near 1
        extra.append(costs / scale)
        row_upper.append(np.array([float(budget) / scale]))
        col_upper_x[costs > budget] = 0.0  # can never be bought
    n_row = n + len(extra)
    X = sp.vstack(
        [-sp.csc_matrix(A, dtype="float64")] + [sp.csc_matrix(e.reshape(1, -1)) for e in extra],
        format="csc",
    )
    Y = sp.vstack([sp.identity(n, format="csc"), sp.csc_matrix((len(extra), n))], format="csc")
    M = sp.hstack([X, Y], format="csc")
    M.sort_indices()

    h = _new_highs()
    num_col = m + n
    status = h.passModel(
        num_col,
        n_row,
        int(M.nnz),
        1,  # column-wise
        -1,  # maximise
        0.0,
        np.concatenate([np.zeros(m), w]),
        np.zeros(num_col),
        np.concatenate([col_upper_x, np.ones(n)]),
        np.full(n_row, -highspy.kHighsInf),
        np.concatenate(row_upper),
        M.indptr[:-1].astype(np.int32),
        M.indices.astype(np.int32),
        M.data.astype("float64"),
        np.concatenate(
            [np.full(m, 1 if integer else 0, dtype=np.int32), np.zeros(n, dtype=np.int32)]
        ),
    )
    if status == highspy.HighsStatus.kError:  # pragma: no cover - malformed model
        raise RuntimeError("HiGHS rejected the covering model")
    if side is not None:  # quotas and committed sites (blankspot._quotas.SideConstraints)
        side.add_to(h, m)
    return h


def lp_bound(
    A: sp.spmatrix,
    w: np.ndarray,
    *,
    k: int | None = None,
    budget: float | None = None,
    costs: np.ndarray | None = None,
    time_limit_s: float = 60.0,
) -> float:
    """Optimum of the LP relaxation: no plan of size ``k`` / within ``budget`` covers more.

    Usually far tighter than the greedy online bound. Solved with HiGHS' interior point
    method; returns ``inf`` when the LP is not solved to optimality within the time limit.

    Examples
    --------
    >>> import numpy as np, scipy.sparse as sp
    >>> A = sp.csc_matrix(np.array([[1, 1, 0], [0, 1, 1], [1, 0, 1]], dtype=bool))
    >>> round(lp_bound(A, np.ones(3), k=1), 9)
    2.0
    """
    if k is None and budget is None:
        raise ValueError("lp_bound needs k or budget")
    A, w, costs = _check_problem(A, w, k, budget, costs)
    if A.shape[0] == 0:
        return 0.0
    h = _covering_model(A, w, k=k, budget=budget, costs=costs, integer=False)
    h.setOptionValue("time_limit", float(time_limit_s))
    h.setOptionValue("solver", "ipm")
    h.run()
    if h.modelStatusToString(h.getModelStatus()) != "Optimal":
        return math.inf
    return float(h.getInfo().objective_function_value)
