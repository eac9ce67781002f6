"""Run the ranking's solvers: greedy or exact, the bound of a greedy plan, quotas.

:func:`_solve` runs :func:`blankspot._mclp.greedy_mclp` with the bound chosen by
``bound=`` (Lagrangian by default, at most ``LAGRANGIAN_BOUND_S``), or
:func:`blankspot._exact.exact_mclp`, and says which bound it used and why;
:func:`_solve_constrained` does the same under quotas and commitments
(:mod:`blankspot._quotas`).
"""

from __future__ import annotations

import dataclasses
import math
import time

import numpy as np
import scipy.sparse as sp

from blankspot import _exact, _lagrange, _mclp, _quotas
from blankspot._errors import InputError
from blankspot._validate import warn_user


def _solve_constrained(
    A: sp.csr_matrix,
    w: np.ndarray,
    *,
    method: str,
    bound: str,
    k: int | None,
    budget: float | None,
    costs: np.ndarray | None,
    side: _quotas.SideConstraints,
    deadline: float,
) -> tuple[_mclp.MCLPResult, str, list[str]]:
    """Greedy or exact under quotas and commitments; the bound is the unconstrained one."""
    A = _mclp._as_csc(A)
    notes: list[str] = []
    # the bound of the problem without quotas (bound=), valid because quotas and
    # commitments only shrink the set of plans; exact tightens it with HiGHS' dual bound
    free, free_how, _ = _solve(
        A, w, method="greedy", bound=bound, k=k, budget=budget, costs=costs,
        deadline=min(deadline, time.perf_counter() + LAGRANGIAN_BOUND_S),
    )  # fmt: skip
    coverable = float(w[np.diff(sp.csr_matrix(A).indptr) > 0].sum())
    upper = min(free.upper_bound, coverable)
    plans = [_quotas.constrained_greedy(A, w, k=k, budget=budget, costs=costs, side=side)]
    if budget is not None:
        plans.append(
            _quotas.constrained_greedy(
                A, w, k=k, budget=budget, costs=costs, side=side, by_ratio=True
            )
        )
    chosen = max(plans, key=lambda p: _lagrange.plan_value(A, w, p))
    how = f"{free_how}, computed without the quotas (still an upper bound)"
    status = "greedy"
    if method == "exact":
        chosen, dual, status, note = _quotas.constrained_exact(
            A, w, k=k, budget=budget, costs=costs, side=side, start=chosen,
            time_limit_s=max(1e-3, deadline - time.perf_counter()),
        )  # fmt: skip
        if "Infeasible" in status:
            raise InputError(
                "The quotas and commitments cannot all be met together with k/budget_idr "
                "(HiGHS proves no plan meets them); lower the quotas or raise the limits."
            )
        upper = min(upper, dual)
        how = f"exact: {note}"
        if not status.startswith("Optimal"):
            msg = f"the exact solve with quotas stopped ({status}) before proving the optimum"
            warn_user(msg)
            notes.append(msg)
    # build order: each site by what it adds given the ones before (committed ones too)
    order = _quotas.constrained_greedy(
        A[:, chosen], w, k=len(chosen), budget=None, costs=None,
        side=dataclasses.replace(
            side, group=np.full(len(chosen), -1), names=(), min_count=np.zeros(0, int),
            max_count=np.zeros(0, int), forced=np.ones(len(chosen), dtype=bool),
        ),
    )  # fmt: skip
    chosen = np.asarray(chosen, dtype=np.int64)[order]
    gains = np.diff(
        np.r_[0.0, [_lagrange.plan_value(A, w, chosen[: i + 1]) for i in range(len(chosen))]]
    )
    value = float(gains.sum())
    if status.startswith("Optimal"):
        upper = value
    upper = max(upper, value)
    res = _mclp.MCLPResult(
        chosen=chosen,
        gains=gains,
        objective=value,
        upper_bound=upper,
        gap=_mclp.relative_gap(value, upper),
        method=method,
        status=status,
    )
    return res, how, notes


#: Share of ``time_limit_s`` the solver may use; the rest is for tables and backhaul.
_SOLVE_SHARE = 0.9
#: At most this many seconds for the default (Lagrangian) bound of a greedy plan.
LAGRANGIAN_BOUND_S = 10.0


def _solve(
    A: sp.csr_matrix,
    w: np.ndarray,
    *,
    method: str,
    bound: str,
    k: int | None,
    budget: float | None,
    costs: np.ndarray | None,
    deadline: float,
) -> tuple[_mclp.MCLPResult, str, list[str]]:
    """Run the chosen method and bound; return the result, the bound's story and notes."""
    notes: list[str] = []

    def remaining() -> float:
        return max(1e-3, deadline - time.perf_counter())

    if method == "exact":
        res = _exact.exact_mclp(A, w, k=k, budget=budget, costs=costs, time_limit_s=remaining())
        how = f"exact: {res.note}" if res.note else "exact (HiGHS)"
        if res.status != "Optimal":
            msg = (
                f"the exact solve stopped ({res.status}) before proving the optimum: the "
                f"plan is within {res.gap:.2%} of the best possible"
            )
            warn_user(msg)
            notes.append(msg)
        return res, how, notes
    res = _mclp.greedy_mclp(A, w, k=k, budget=budget, costs=costs)
    if k is None and budget is None:
        return res, "none needed: every site that connects anyone new is ranked", notes
    how = "greedy online bound (Leskovec et al. 2007)"
    if res.gap <= 0:
        return res, how + ": it meets the plan, which is optimal", notes
    if bound == "greedy":
        return res, how + " (bound='greedy')", notes
    if bound == "lp":
        limit = remaining()
        lp = _mclp.lp_bound(A, w, k=k, budget=budget, costs=costs, time_limit_s=limit)
        if not math.isfinite(lp):
            notes.append(
                f"bound='lp': HiGHS did not solve the LP relaxation within the time limit "
                f"({limit:.3g} s), so the bound is the greedy online bound; "
                "bound='lagrangian' gives nearly the LP's bound in seconds"
            )
            return res, how + ", because the LP relaxation hit the time limit", notes
        how = "LP relaxation (HiGHS)"
    else:
        limit = min(LAGRANGIAN_BOUND_S, remaining())
        lag = _lagrange.lagrangian_bound(
            _mclp._as_csc(A),
            w,
            k=k,
            costs=costs,
            budget=budget,
            starts=(res.chosen,),
            time_limit_s=limit,
            heuristics=False,
            progress="rank_sites: bound",
        )
        lp = lag.bound
        how = f"Lagrangian relaxation ({lag.iterations} subgradient steps, {lag.stopped})"
        if lag.stopped == "time limit":
            notes.append(
                f"the Lagrangian bound stopped at its {limit:.3g} s limit before converging: "
                "the plan may be closer to the best than the gap says"
            )
    if lp <= res.upper_bound:
        ub = max(lp, res.objective)
        res = dataclasses.replace(res, upper_bound=ub, gap=_mclp.relative_gap(res.objective, ub))
    else:
        how = "greedy online bound (Leskovec et al. 2007): tighter than the " + how
    return res, how, notes
