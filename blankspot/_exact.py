"""Proven optimum of the maximal covering location problem: reductions, then HiGHS.

:func:`exact_mclp` works on the numeric instance of :mod:`blankspot._mclp` (a sparse
demand x sites matrix, weights, optional costs). Nothing is assumed about the solvers'
convergence: every bound used is recomputed here from its multipliers, so it is valid
wherever a solver stopped.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import time
from dataclasses import dataclass
from typing import Any

import highspy
import numpy as np
import scipy.sparse as sp

from blankspot import _dual, _lagrange, _watchdog
from blankspot._mclp import (
    MCLPResult,
    _as_csc,
    _check_problem,
    _covering_model,
    aggregate_demand,
    greedy_mclp,
    order_by_marginal,
    relative_gap,
)

__all__ = ["exact_mclp"]

log = logging.getLogger("blankspot")

#: The Lagrangian stops once it has ruled out all but this many sites: the LP relaxation
#: of what is left is then solved exactly, which is faster than the subgradient's tail.
LP_SITES = 1200
#: HiGHS' LP solver for the fixing step (its duals need not be exact, see _lp_fixing).
LP_SOLVER = "ipm"
#: Share of the time left the LP step may take: without its duals HiGHS cannot finish on
#: ~1,000 sites anyway, with them it needs a second or two on the ~100 left.
LP_SHARE = 0.85
#: Above this many sites the Lagrangian is followed by the smoothed dual, not the LP
#: relaxation (HiGHS needs minutes for the LP of ~10,000 sites).
LP_MAX_SITES = 3000
#: Share of the time left the LP relaxation may take when more than ``LP_MAX_SITES`` sites
#: are still left after the smoothed dual (no plan search then). Its exact duals bound each
#: site more tightly (k=100 on the real Lampung instance: 5,663 sites, about 47 s; 1,946
#: sites have a bound above 114,798 with them, 2,000 above 114,810 with the smoothed
#: dual's), so fewer sites need HiGHS (see :func:`_restrict`). 0 skips it.
LP_LARGE_SHARE = 0.4
#: Share of the time the Lagrangian's subgradient may take. It normally stops long before
#: (at ``LP_SITES`` sites left); on large degenerate instances (k=100 on the real Lampung
#: instance) it would stall for all of it, while the smoothed dual gets far closer to the
#: LP bound in a minute.
LAGRANGIAN_SHARE = 0.4
#: Share of the time left for the smoothed dual and its plans, when too many sites are left
#: for the LP relaxation.
SMOOTH_SHARE = 0.85
#: Share of that step's time the smoothed dual may take (the rest rounds its plan).
_SMOOTH_DUAL_SHARE = 0.6
#: Share of the time left that HiGHS gets: it overshoots its limit by building the model.
_MIP_SHARE = 0.9
#: At most this many sites go to HiGHS at first. With more (5,663 near-equal sites at k=100
#: on the real Lampung instance) it does not finish its root node in minutes; the sites with
#: the highest site bounds go instead, the others are bounded by their site bounds, and the
#: set doubles each time HiGHS proves the optimum over it (see :func:`_restrict`).
MIP_MAX_SITES = 2000


def exact_mclp(
    A: sp.spmatrix,
    w: np.ndarray,
    *,
    k: int | None = None,
    budget: float | None = None,
    costs: np.ndarray | None = None,
    time_limit_s: float = 60.0,
    warm_start: np.ndarray | None = None,
    reduce: bool = True,
    progress: bool = True,
) -> MCLPResult:
    """Solve the maximal covering location problem to proven optimality.

    The model (Church & ReVelle 1974)::

        maximise    sum_i w_i y_i
        subject to  y_i <= sum_j A_ij x_j      for every demand i
                    sum_j x_j <= k             (site count)
                    sum_j c_j x_j <= budget    (budget)
                    x_j in {0, 1},  0 <= y_i <= 1

    Steps, all within ``time_limit_s`` (wall clock, the whole call):

    1. greedy (:func:`greedy_mclp`) and best-improvement swaps from it
       (:func:`blankspot._lagrange.swap_search`): a good first plan;
    2. the Lagrangian bound (:func:`blankspot._lagrange.lagrangian_bound`), which also
       finds plans (relaxation picks + swaps); when it meets the best plan, done;
    3. reductions: sites whose Lagrangian bound with the site forced in is below the best
       plan are in no better plan (reduced-cost fixing), dominated sites go
       (:func:`blankspot._lagrange.dominated_sites`), demand rows no remaining site covers
       go and identical rows merge;
    4. when more than ``LP_MAX_SITES`` sites are left, the smoothed Lagrangian dual
       (:func:`blankspot._dual.smoothed_dual`, near the LP bound without an LP solver),
       plans rounded from its fractional plan, and fixing again (:func:`_smooth_fixing`);
       then (or when at most ``LP_MAX_SITES`` were left) the LP relaxation's duals and
       fixing (:func:`_lp_fixing`), with a plan search only on at most ``LP_MAX_SITES``;
    5. the compact model above on the reduced instance, solved by HiGHS with the best
       plan as its first incumbent. When more than ``MIP_MAX_SITES`` sites are left, HiGHS
       gets the ones with the highest site bounds (every plan holding one of the others is
       worth at most the best of their bounds, which caps the bound reported); each time it
       proves the optimum over them with time to spare, the set doubles.

    The reduced instance has the same optimum: every removed site is in no plan better
    than the incumbent (or can be swapped for a dominating one).

    Parameters
    ----------
    A, w, k, budget, costs
        As in :func:`greedy_mclp`; at least one of ``k`` and ``budget`` is required.
    time_limit_s
        Wall-clock limit for the whole call, seconds. When reached, the best plan found so
        far is returned with its gap to the best bound.
    warm_start
        Column indices of a feasible plan, tried as a start besides greedy's.
    reduce
        ``False`` skips steps 1-3 and hands the full model to HiGHS (for comparisons).
    progress
        Show a progress bar for the bound when stderr is a terminal.

    Returns
    -------
    MCLPResult
        ``chosen`` ordered by :func:`order_by_marginal` (per cost with a budget); ``status``
        is ``"Optimal"`` when proved, else HiGHS' status or ``"Time limit reached"``;
        ``note`` says how it was proved (bound, reductions, solver).

    Examples
    --------
    >>> import numpy as np, scipy.sparse as sp
    >>> A = sp.csc_matrix(np.array([[1, 1, 0], [1, 1, 0], [0, 1, 1],
    ...                             [1, 0, 0], [0, 0, 1]], dtype=bool))
    >>> r = exact_mclp(A, np.ones(5), k=2)
    >>> sorted(r.chosen.tolist()), r.objective, r.status
    ([0, 2], 5.0, 'Optimal')
    """
    t0 = time.perf_counter()
    deadline = t0 + float(time_limit_s)
    if k is None and budget is None:
        raise ValueError("exact_mclp needs k or budget")
    A, w, costs = _check_problem(A, w, k, budget, costs)
    n, m = A.shape
    if n == 0 or A.nnz == 0:  # nothing to cover: the empty plan is optimal
        empty = np.zeros(0, dtype=np.int64)
        return MCLPResult(empty, np.zeros(0), 0.0, 0.0, 0.0, "exact", "Optimal")
    rank_costs = costs if budget is not None else None
    coverable = float(w[np.diff(sp.csr_matrix(A).indptr) > 0].sum())
    g = greedy_mclp(A, w, k=k, budget=budget, costs=costs)
    upper = min(g.upper_bound, coverable)
    starts = [g.chosen] + (
        [np.asarray(warm_start, dtype=np.int64)] if warm_start is not None else []
    )
    lower_sites = max(starts, key=lambda s: _lagrange.plan_value(A, w, s))
    lower = _lagrange.plan_value(A, w, lower_sites)
    notes: list[str] = []
    keep = np.arange(m)
    # keep_bound[i]: an upper bound on every plan holding site keep[i] (the least of those
    # found by each step; +inf before any)
    keep_bound = np.full(m, math.inf)
    fixed_in = np.zeros(0, dtype=np.int64)
    if reduce:
        swapped, value = _lagrange.swap_search(
            A, w, g.chosen, k=k, costs=rank_costs, budget=budget, deadline=_share(deadline, 0.15)
        )
        if value > lower:
            lower_sites, lower = swapped, value
        lag = _lagrange.lagrangian_bound(
            A,
            w,
            k=k,
            costs=rank_costs,
            budget=budget,
            starts=(g.chosen, lower_sites),
            time_limit_s=max(0.0, _share(deadline, LAGRANGIAN_SHARE) - time.perf_counter()),
            stop_sites=LP_SITES,
            progress="exact: Lagrangian bound" if progress else None,
        )
        upper = min(upper, lag.bound)
        if lag.best_value > lower:
            lower_sites, lower = lag.best_sites, lag.best_value
        notes.append(
            f"Lagrangian bound {lag.bound:,.6g} ({lag.iterations} subgradient steps, "
            f"{lag.seconds:.1f} s, {lag.stopped})"
        )
        if not _proved(lower, upper):
            tol = 1e-9 * max(1.0, lower)
            alive = lag.site_bound >= lower - tol
            alive[lower_sites] = True
            keep = np.flatnonzero(alive)
            keep = keep[~_dominated(A, keep, rank_costs, protect=lower_sites)]
            keep_bound = lag.site_bound[keep]
            notes.append(f"{m:,} sites -> {len(keep):,} after reduced-cost fixing and dominance")
        if not _proved(lower, upper) and len(keep) > LP_MAX_SITES:
            sm = _smooth_fixing(
                A, w, keep, k=k, budget=budget, costs=rank_costs, lower=lower,
                protect=lower_sites, deadline=_share(deadline, SMOOTH_SHARE),
            )  # fmt: skip
            notes.append(sm.note)
            if sm.best_value > lower + 1e-9 * max(1.0, lower):
                lower_sites, lower = sm.best_sites, sm.best_value
            upper = min(upper, max(sm.bound, lower))
            keep_bound = _tighter(_bound_of(sm.keep, keep, keep_bound), sm.site_bound)
            keep, fixed_in = sm.keep, sm.fixed_in
        large = len(keep) > LP_MAX_SITES
        if not _proved(lower, upper) and large and LP_LARGE_SHARE <= 0:
            notes.append(
                f"LP relaxation skipped: {len(keep):,} sites left, more than {LP_MAX_SITES:,}"
            )
        elif not _proved(lower, upper) and len(keep) > 1:
            # with more than LP_MAX_SITES sites no plan search (no time for it), but the
            # exact duals still bound each site more tightly than the smoothed ones
            lp = _lp_fixing(
                A, w, keep, k=k, budget=budget, costs=rank_costs, lower=lower,
                protect=np.r_[lower_sites, fixed_in],
                deadline=_share(deadline, LP_LARGE_SHARE if large else LP_SHARE),
                plans=not large,
            )  # fmt: skip
            notes.append(lp.note)
            if lp.best_value > lower + 1e-9 * max(1.0, lower):
                lower_sites, lower = lp.best_sites, lp.best_value
            upper = min(upper, max(lp.bound, lower))
            keep_bound = _tighter(_bound_of(lp.keep, keep, keep_bound), lp.site_bound)
            keep, fixed_in = lp.keep, np.union1d(lp.fixed_in, fixed_in)
    status = "Optimal" if _proved(lower, upper) else "Time limit reached"
    limit = MIP_MAX_SITES if reduce else len(keep)
    while status != "Optimal" and time.perf_counter() < deadline:
        sites, outside = _restrict(
            keep, keep_bound, protect=np.r_[lower_sites, fixed_in], limit=limit
        )
        sub_costs = None if costs is None else costs[sites]
        A2, w2, _ = aggregate_demand(A[:, sites], w)
        mip = _solve_mip(
            _as_csc(A2),
            w2,
            k=k,
            budget=budget,
            costs=sub_costs,
            start=np.flatnonzero(np.isin(sites, lower_sites)),
            time_limit_s=_MIP_SHARE * (deadline - time.perf_counter()),
            fixed_in=np.flatnonzero(np.isin(sites, fixed_in)),
        )
        which = (
            f"{len(sites):,} sites"
            if len(sites) == len(keep)
            else f"the {len(sites):,} of {len(keep):,} sites with the highest site bounds "
            f"(a plan with any other is worth at most {outside:,.6g})"
        )
        notes.append(
            f"HiGHS on {A2.shape[0]:,} demand rows x {which}: {mip.status} "
            f"({mip.seconds:.1f} s, {mip.nodes} nodes)"
        )
        if mip.value > lower + 1e-9 * max(1.0, lower):
            lower_sites = sites[mip.chosen]
            lower = _lagrange.plan_value(A, w, lower_sites)
        # a plan within ``sites`` is worth at most HiGHS' bound (its optimum when proved),
        # one holding another site at most ``outside``
        within = lower if mip.status == "Optimal" else mip.dual_bound
        upper = min(upper, max(within, lower, outside))
        if _proved(lower, upper):
            status = "Optimal"
        elif mip.status != "Optimal":
            status = mip.status
            break
        limit = 2 * len(sites)  # proved over these sites with time left: take more
    ranked = order_by_marginal(A, w, lower_sites, costs=rank_costs)
    value = ranked.objective
    if status == "Optimal":
        upper = value
    upper = max(value, upper)
    log.info(
        "exact MCLP: %d demand rows x %d sites, %s, objective %.6g, bound %.6g (%.1f s): %s",
        n,
        m,
        status,
        value,
        upper,
        time.perf_counter() - t0,
        "; ".join(notes),
    )
    return MCLPResult(
        chosen=ranked.chosen,
        gains=ranked.gains,
        objective=value,
        upper_bound=float(upper),
        gap=0.0 if status == "Optimal" else relative_gap(value, upper),
        method="exact",
        status=status,
        note="; ".join(notes),
    )


def _restrict(
    keep: np.ndarray, bound: np.ndarray, *, protect: np.ndarray, limit: int
) -> tuple[np.ndarray, float]:
    """Choose the sites HiGHS gets; return them and the bound of every plan with another.

    All of ``keep`` when there are at most ``limit``; else the ``protect`` ones and those
    with the highest ``bound`` (aligned with ``keep``; ties by index) up to ``limit``. The
    float is the highest ``bound`` left out (``-inf`` when none is): every plan holding a
    site left out is worth at most that.

    Examples
    --------
    >>> _restrict(np.array([3, 5, 8, 9]), np.array([7.0, 9.0, 8.0, 9.0]),
    ...           protect=np.array([3]), limit=3)
    (array([3, 5, 9]), 8.0)
    """
    if len(keep) <= limit:
        return keep, -math.inf
    must = np.isin(keep, protect)
    order = np.lexsort((keep, -bound))
    order = order[~must[order]][: max(0, limit - int(must.sum()))]
    chosen = must.copy()
    chosen[order] = True
    rest = bound[~chosen]
    return keep[chosen], float(rest.max()) if len(rest) else -math.inf


def _bound_of(sites: np.ndarray, keep: np.ndarray, bound: np.ndarray) -> np.ndarray:
    """Return ``bound`` (aligned with the sorted ``keep``) at ``sites``, a subset of it."""
    return bound[np.searchsorted(keep, sites)]


def _tighter(bound: np.ndarray, other: np.ndarray | None) -> np.ndarray:
    """Return the least of two valid site bounds (``other`` may be missing)."""
    return bound if other is None else np.minimum(bound, other)


def _dominated(
    A: sp.csc_matrix, keep: np.ndarray, costs: np.ndarray | None, *, protect: np.ndarray
) -> np.ndarray:
    """Mask over ``keep``: sites another kept site dominates (``protect`` ones stay)."""
    return _lagrange.dominated_sites(
        A[:, keep], None if costs is None else costs[keep], protect=np.isin(keep, protect)
    )


@dataclass(frozen=True)
class _LPFixing:
    keep: np.ndarray
    fixed_in: np.ndarray
    bound: float
    note: str
    best_sites: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(0, np.int64))
    best_value: float = -math.inf
    #: Upper bound on every plan holding each site of ``keep`` (None: no multipliers).
    site_bound: np.ndarray | None = None


def _lp_fixing(
    A: sp.csc_matrix,
    w: np.ndarray,
    keep: np.ndarray,
    *,
    k: int | None,
    budget: float | None,
    costs: np.ndarray | None,
    lower: float,
    protect: np.ndarray,
    deadline: float,
    plans: bool = True,
) -> _LPFixing:
    """Reduced-cost fixing with the LP relaxation's duals on the sites ``keep``.

    HiGHS' interior point method solves the LP of the reduced instance; its duals of the
    covering rows, clipped to ``[0, w]``, are Lagrange multipliers whose bound and site
    bounds are recomputed exactly (:func:`blankspot._lagrange.lagrangian_at`), so they
    hold however accurate the solver was. Sites whose bound with them forced in is below
    ``lower`` go; sites whose bound with them left out is below ``lower`` are in every
    better plan (``fixed_in``), then dominated sites go again. With ``plans``, plans near
    the LP optimum are tried first (:func:`_lp_plans`): a better plan fixes more.
    """
    t0 = time.perf_counter()
    A2, w2, _ = aggregate_demand(A[:, keep], w)
    A2 = _as_csc(A2)
    sub_costs = None if costs is None else costs[keep]
    h = _covering_model(A2, w2, k=k, budget=budget, costs=sub_costs, integer=False)
    h.setOptionValue("solver", LP_SOLVER)
    h.setOptionValue("run_crossover", "off")
    h.setOptionValue("time_limit", max(1e-3, deadline - time.perf_counter()))
    h.run()
    status = h.modelStatusToString(h.getModelStatus())
    sol = h.getSolution()
    head = f"LP relaxation on {A2.shape[0]:,} demand rows x {len(keep):,} sites"
    if not sol.dual_valid:
        note = f"{head}: {status} without duals ({time.perf_counter() - t0:.1f} s), not used"
        return _LPFixing(keep, np.zeros(0, dtype=np.int64), math.inf, note)
    lam = np.clip(np.asarray(sol.row_dual)[: A2.shape[0]], 0.0, w2)
    at = _lagrange.lagrangian_at(A2, w2, lam, k=k, costs=sub_costs, budget=budget)
    best_sites, best_value = np.zeros(0, dtype=np.int64), -math.inf
    if plans and sol.value_valid:
        plan, best_value = _lp_plans(
            A2, w2, np.asarray(sol.col_value)[: len(keep)], k=k, budget=budget,
            costs=sub_costs, deadline=deadline,
        )  # fmt: skip
        best_sites = keep[plan]
        if best_value > lower:
            lower, protect = best_value, best_sites
    kept, fixed_in = _fix(A, keep, at, lower=lower, protect=protect, costs=costs)
    note = (
        f"{head} ({status}, {time.perf_counter() - t0:.1f} s): bound {at.bound:,.6g}; "
        f"{len(kept):,} sites left, {len(fixed_in)} fixed in"
    )
    site_bound = _bound_of(kept, keep, at.site_bound)
    return _LPFixing(kept, fixed_in, at.bound, note, best_sites, best_value, site_bound)


def _fix(
    A: sp.csc_matrix,
    keep: np.ndarray,
    at: _lagrange.BoundAt,
    *,
    lower: float,
    protect: np.ndarray,
    costs: np.ndarray | None,
) -> tuple[np.ndarray, np.ndarray]:
    """Reduced-cost fixing over ``keep`` with the site bounds ``at``; return (keep, fixed_in).

    A site whose bound with it forced in is below ``lower`` is in no better plan and goes;
    one whose bound with it left out is below ``lower`` is in every better plan (fixed
    in); then dominated sites go (``protect`` and fixed-in ones stay).
    """
    tol = 1e-9 * max(1.0, lower)
    fixed_in = keep[at.site_out_bound < lower - tol]
    alive = (at.site_bound >= lower - tol) | np.isin(keep, np.r_[protect, fixed_in])
    keep = keep[alive]
    keep = keep[~_dominated(A, keep, costs, protect=np.r_[protect, fixed_in])]
    return keep, fixed_in


def _smooth_fixing(
    A: sp.csc_matrix,
    w: np.ndarray,
    keep: np.ndarray,
    *,
    k: int | None,
    budget: float | None,
    costs: np.ndarray | None,
    lower: float,
    protect: np.ndarray,
    deadline: float,
) -> _LPFixing:
    """Reduced-cost fixing with the smoothed Lagrangian dual's multipliers on ``keep``.

    For instances whose LP relaxation HiGHS cannot solve in time: the smoothed dual
    (:func:`blankspot._dual.smoothed_dual`) gets within a few hundredths of a percent of
    the LP bound in a few hundred sparse products. Its fractional plan is rounded to
    plans (:func:`_lp_plans`); then the sites are fixed as in :func:`_lp_fixing`.
    """
    t0 = time.perf_counter()
    A2, w2, _ = aggregate_demand(A[:, keep], w)
    A2 = _as_csc(A2)
    sub_costs = None if costs is None else costs[keep]
    start = np.flatnonzero(np.isin(keep, protect))
    lam0 = np.where(_lagrange.cover_count(A2, start) > 0, 0.0, w2)
    sm = _dual.smoothed_dual(
        A2, w2, k=k, costs=sub_costs, budget=budget, lam0=lam0,
        scale=lower / max(1, len(start)) if lower > 0 else float(w2.max(initial=1.0)),
        deadline=_share(deadline, _SMOOTH_DUAL_SHARE),
    )  # fmt: skip
    # when the fixing will leave too many sites for HiGHS to prove anything, the time left
    # is better spent on the plan search over the fractional plan's support
    hopeless = np.count_nonzero(sm.at.site_bound >= lower) > LP_MAX_SITES
    plan, best_value = _lp_plans(
        A2, w2, sm.x, k=k, budget=budget, costs=sub_costs, deadline=deadline,
        support_share=_SUPPORT_SHARE_HOPELESS if hopeless else _SUPPORT_SHARE,
    )  # fmt: skip
    best_sites = keep[plan]
    if best_value > lower:
        lower, protect = best_value, best_sites
    kept, fixed_in = _fix(A, keep, sm.at, lower=lower, protect=protect, costs=costs)
    note = (
        f"smoothed Lagrangian dual on {A2.shape[0]:,} demand rows x {A2.shape[1]:,} sites "
        f"({sm.evaluations} gradients, {sm.seconds:.1f} s, {sm.stopped}; with plans and "
        f"fixing {time.perf_counter() - t0:.1f} s): bound "
        f"{sm.at.bound:,.6g}; {len(kept):,} sites left, {len(fixed_in)} fixed in"
    )
    site_bound = _bound_of(kept, keep, sm.at.site_bound)
    return _LPFixing(kept, fixed_in, sm.at.bound, note, best_sites, best_value, site_bound)


#: Sites with at least this LP value make the support searched for plans.
_SUPPORT_X = 1e-2
#: Share of the LP step's time left for the plan search on the LP support.
_SUPPORT_SHARE = 0.3
#: The same when the fixing will leave more than ``LP_MAX_SITES`` sites (no proof ahead).
_SUPPORT_SHARE_HOPELESS = 0.9


def _lp_plans(
    A: sp.csc_matrix,
    w: np.ndarray,
    x: np.ndarray,
    *,
    k: int | None,
    budget: float | None,
    costs: np.ndarray | None,
    deadline: float,
    support_share: float = _SUPPORT_SHARE,
) -> tuple[np.ndarray, float]:
    """Find plans near the LP solution ``x``; return the best and its value.

    The LP's largest sites rounded to a plan and improved by swaps, and the integer
    optimum over the sites the LP uses (a small model, given ``support_share`` of the time
    left), also swapped.
    """
    order = np.lexsort((np.arange(len(x)), -x))
    order = order[x[order] > _SUPPORT_X]
    if budget is not None and costs is not None:
        order = order[np.cumsum(costs[order]) <= budget * (1 + 1e-12)]
    if k is not None:
        order = order[:k]
    plan, value = _lagrange.swap_search(
        A, w, np.sort(order), k=k, costs=costs, budget=budget, deadline=deadline
    )
    support = np.flatnonzero(x > _SUPPORT_X)
    if len(support) > 1 and time.perf_counter() < deadline:
        A3, w3, _ = aggregate_demand(A[:, support], w)
        start = np.flatnonzero(np.isin(support, plan))
        mip = _solve_mip(
            _as_csc(A3), w3, k=k, budget=budget,
            costs=None if costs is None else costs[support], start=start,
            time_limit_s=support_share * max(0.0, deadline - time.perf_counter()),
        )  # fmt: skip
        if mip.value > value:
            plan, value = _lagrange.swap_search(
                A, w, support[mip.chosen], k=k, costs=costs, budget=budget,
                deadline=deadline,
            )  # fmt: skip
    return plan, value


def _share(deadline: float, fraction: float) -> float:
    """Return the time ``fraction`` of the way from now to ``deadline``."""
    now = time.perf_counter()
    return now + max(0.0, deadline - now) * fraction


def _proved(lower: float, upper: float) -> bool:
    """Tell whether the bound meets the plan (up to rounding of sums of weights)."""
    return upper - lower <= 1e-9 * max(1.0, abs(upper))


@dataclass(frozen=True)
class _MIP:
    chosen: np.ndarray
    value: float
    dual_bound: float
    status: str
    seconds: float
    nodes: int


def _solve_mip(
    A: sp.csc_matrix,
    w: np.ndarray,
    *,
    k: int | None,
    budget: float | None,
    costs: np.ndarray | None,
    start: np.ndarray,
    time_limit_s: float,
    side: Any = None,
    fixed_in: np.ndarray | None = None,
) -> _MIP:
    """Solve the compact model with HiGHS, ``start`` as its first incumbent.

    ``fixed_in`` (column indices) are sites every better plan contains: their ``x`` is
    fixed to 1 (``start`` must contain them). HiGHS runs under :func:`_watchdog.run`: when
    it overruns ``time_limit_s`` it is stopped, and the last plan and bound it reported
    stand.
    """
    t0 = time.perf_counter()
    n, m = A.shape
    start = np.asarray(start, dtype=np.int64)

    def solve(report: Any) -> tuple[np.ndarray | None, float, str, int]:
        h = _covering_model(A, w, k=k, budget=budget, costs=costs, integer=True, side=side)
        if fixed_in is not None and len(fixed_in):
            one = np.ones(len(fixed_in))
            h.changeColsBounds(len(fixed_in), np.asarray(fixed_in, dtype=np.int32), one, one)
        h.setOptionValue("time_limit", max(1e-3, float(time_limit_s)))
        h.setOptionValue("mip_rel_gap", 0.0)
        h.setOptionValue("mip_abs_gap", 1e-6)
        h.setOptionValue("random_seed", 0)
        # The root LP of a covering model is highly degenerate: HiGHS' interior point
        # solver is 2-3x faster than dual simplex on it (benchmarks/bench_prioritise.py).
        # The option appeared in HiGHS 1.11; older versions just keep their default.
        h.setOptionValue("mip_lp_solver", "ipm")
        if len(start):
            x0 = np.zeros(m + n)
            x0[start] = 1.0
            x0[m:] = np.asarray(A[:, start].sum(axis=1)).ravel() > 0
            sol = highspy.HighsSolution()
            sol.col_value = x0.tolist()
            sol.value_valid = True
            h.setSolution(sol)
        _report_progress(h, report, m)
        h.run()
        info = h.getInfo()
        x = np.asarray(h.getSolution().col_value[:m]) if info.primal_solution_status else None
        return (
            None if x is None or len(x) != m else np.flatnonzero(x > 0.5),
            float(info.mip_dual_bound),
            h.modelStatusToString(h.getModelStatus()),
            int(info.mip_node_count),
        )

    out = _watchdog.run(solve, deadline=t0 + float(time_limit_s))
    if out.result is not None:
        chosen, dual, status, nodes = out.result
    else:  # stopped past its limit: the last plan and the least bound it reported
        plans = [r[1] for r in out.reports if r[0] == "plan"]
        bounds = [r for r in out.reports if r[0] == "bound"]
        chosen = plans[-1] if plans else None
        dual = min((b[1] for b in bounds), default=math.inf)
        nodes = bounds[-1][2] if bounds else 0
        status = "Time limit reached (HiGHS stopped past its limit)"
    if chosen is None:
        chosen = start
    value = _lagrange.plan_value(A, w, chosen)
    dual = dual if np.isfinite(dual) else math.inf
    if status == "Optimal" and dual - value > 1e-6 * max(1.0, value):
        status = "Optimal (within HiGHS tolerance)"
    return _MIP(chosen, value, dual, status, time.perf_counter() - t0, nodes)


#: Seconds between two bounds HiGHS reports while it runs (see :func:`_report_progress`).
_BOUND_EVERY_S = 0.5


def _report_progress(h: Any, report: Any, m: int) -> None:
    """Have HiGHS ``report`` its plans and bounds while it runs.

    Each improving plan as ``("plan", site indices)``; every ``_BOUND_EVERY_S`` at most,
    ``("bound", dual bound, nodes)``.
    """
    cb = highspy.cb.HighsCallbackType
    last = [-math.inf]

    def callback(kind: Any, _message: Any, data_out: Any, _data_in: Any, _user: Any) -> None:
        if kind == cb.kCallbackMipImprovingSolution:
            x = np.asarray(data_out.mip_solution)[:m]
            report(("plan", np.flatnonzero(x > 0.5)))
        elif time.perf_counter() - last[0] >= _BOUND_EVERY_S:
            last[0] = time.perf_counter()
            report(("bound", float(data_out.mip_dual_bound), int(data_out.mip_node_count)))

    h.setCallback(callback, None)
    h.startCallback(cb.kCallbackMipImprovingSolution)
    h.startCallback(cb.kCallbackMipInterrupt)
