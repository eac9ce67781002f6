"""Side constraints of site ranking: quotas per group, sites committed (in) or ruled out.

Used by :func:`blankspot.rank_sites` through ``min_per_group``, ``max_per_group``,
``group_col``, ``include`` and ``exclude``. Sites ruled out are dropped from the candidate
table before anything is solved; the rest is the :class:`SideConstraints` below, honoured by
:func:`constrained_greedy` and, through :meth:`SideConstraints.add_to`, by the HiGHS model of
:func:`constrained_exact`.
"""

from __future__ import annotations

import logging
import math
import numbers
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from blankspot import _exact, _mclp
from blankspot._errors import InputError
from blankspot._util import some
from blankspot._validate import warn_user

__all__ = ["SideConstraints", "constrained_exact", "constrained_greedy", "side_constraints"]

log = logging.getLogger("blankspot")


@dataclass(frozen=True)
class SideConstraints:
    """Quotas and commitments on the columns (sites) of a coverage matrix.

    ``group`` is the group code of each site (-1: no group); ``names`` the group values;
    ``min_count``/``max_count`` per group code (0 / a large number when free); ``forced`` a
    boolean mask of committed sites.
    """

    group: np.ndarray
    names: tuple[str, ...]
    min_count: np.ndarray
    max_count: np.ndarray
    forced: np.ndarray

    def add_to(self, h: Any, m: int) -> None:
        """Add the group rows and fix committed sites in a HiGHS model.

        The model is that of ``_mclp._covering_model``: its first ``m`` columns are sites.
        """
        for g in range(len(self.names)):
            cols = np.flatnonzero(self.group == g)
            lo, hi = float(self.min_count[g]), float(self.max_count[g])
            if len(cols) == 0 or (lo <= 0 and hi >= len(cols)):
                continue
            h.addRow(lo, hi, len(cols), cols.astype(np.int32), np.ones(len(cols)))
        for j in np.flatnonzero(self.forced):
            h.changeColBounds(int(j), 1.0, 1.0)

    def feasible(self, chosen: np.ndarray) -> bool:
        """Tell whether a set of sites meets every quota and holds every committed site."""
        mask = np.zeros(len(self.group), dtype=bool)
        mask[np.asarray(chosen, dtype=np.int64)] = True
        count = np.bincount(self.group[mask & (self.group >= 0)], minlength=len(self.names))
        return bool(
            (count >= self.min_count).all()
            and (count <= self.max_count).all()
            and mask[self.forced].all()
        )


def _ids(values: Any, what: str) -> list[str]:
    if values is None:
        return []
    if isinstance(values, str):
        values = [values]
    if not isinstance(values, Iterable):
        raise InputError(f"{what} should be a list of site ids, got {type(values).__name__}.")
    return [str(v) for v in values]


def _quota(value: Any, names: list[str], what: str) -> dict[str, int]:
    """Return ``{group value: n}`` from an int (every group) or a mapping."""
    if value is None:
        return {}
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        value = dict.fromkeys(names, int(value))
    if not isinstance(value, Mapping):
        raise InputError(
            f"{what} should be a whole number for every group or a dict {{group: n}}, got "
            f"{value!r}."
        )
    out = {}
    for key, n in value.items():
        if isinstance(n, bool) or not isinstance(n, numbers.Integral) or n < 0:
            raise InputError(f"{what}[{key!r}] should be a whole number >= 0, got {n!r}.")
        out[str(key)] = int(n)
    unknown = sorted(set(out) - set(names))
    if unknown:
        raise InputError(
            f"{what} names group(s) {some(unknown)} that no candidate site is in; the groups "
            f"are {some(names)}."
        )
    return out


def side_constraints(
    site_ids: np.ndarray,
    groups: pd.Series | None,
    *,
    group_col: str,
    min_per_group: Any,
    max_per_group: Any,
    include: list[str],
    k: int | None,
    budget: float | None,
    costs: np.ndarray | None,
) -> SideConstraints:
    """Build and check the constraints; infeasible ones are an error naming the group."""
    m = len(site_ids)
    forced = np.isin(site_ids, include)
    if groups is None:
        group = np.full(m, -1, dtype=np.int64)
        names: list[str] = []
    else:
        codes, uniques = pd.factorize(groups.astype("string"), sort=True)
        group = codes.astype(np.int64)
        names = [str(u) for u in uniques]
        if (group < 0).any():
            warn_user(
                f"{int((group < 0).sum())} candidate site(s) have no {group_col} "
                f"({some(site_ids[group < 0])}): min_per_group/max_per_group do not count "
                f"them. Fill their {group_col} to have them counted."
            )
    lo_map = _quota(min_per_group, names, "min_per_group")
    hi_map = _quota(max_per_group, names, "max_per_group")
    lo = np.array([lo_map.get(g, 0) for g in names], dtype=np.int64)
    big = m + 1
    hi = np.array([hi_map.get(g, big) for g in names], dtype=np.int64)
    available = np.bincount(group[group >= 0], minlength=len(names))
    n_forced = np.bincount(group[forced & (group >= 0)], minlength=len(names))
    problems = []
    for g, name in enumerate(names):
        label = f"{group_col} {name!r}"
        if lo[g] > hi[g]:
            problems.append(f"{label}: min_per_group {lo[g]} > max_per_group {hi[g]}")
        if lo[g] > available[g]:
            problems.append(
                f"{label} needs at least {lo[g]} sites but has {available[g]} candidates"
            )
        if n_forced[g] > hi[g]:
            problems.append(f"{label} has {n_forced[g]} sites in include but max_per_group {hi[g]}")
    need = np.maximum(lo, n_forced)
    n_free_forced = int((forced & (group < 0)).sum())
    if k is not None and need.sum() + n_free_forced > k:
        named = ", ".join(f"{names[g]!r}: {need[g]}" for g in np.flatnonzero(need))
        problems.append(
            f"k={k} is fewer than the {int(need.sum()) + n_free_forced} sites the quotas and "
            f"include require ({group_col} {named}"
            + (f"; {n_free_forced} included sites without a {group_col}" if n_free_forced else "")
            + ")"
        )
    if budget is not None and costs is not None and not problems:
        cheapest = float(costs[forced].sum())
        for g in np.flatnonzero(lo > n_forced):
            c = np.sort(costs[(group == g) & ~forced])
            cheapest += float(c[: lo[g] - n_forced[g]].sum())
        if cheapest > budget * (1 + 1e-12):
            problems.append(
                f"budget_idr={budget:,.0f} is below the Rp {cheapest:,.0f} that the included "
                f"sites and the cheapest sites meeting min_per_group cost"
            )
    if problems:
        raise InputError(
            "The quotas and commitments cannot all be met: " + "; ".join(problems) + ". Lower "
            "the quotas, raise k or budget_idr, or change include."
        )
    return SideConstraints(group, tuple(names), lo, hi, forced)


def _fill_cost(
    costs: np.ndarray, group: np.ndarray, open_: np.ndarray, deficit: np.ndarray
) -> tuple[float, np.ndarray]:
    """Return the cheapest cost of meeting every deficit from the open sites, and relief.

    ``relief[j]``: how much that cost drops once site ``j`` (in a deficit group) is bought.
    """
    total = 0.0
    relief = np.zeros(len(costs))  # how much the fill cost drops when this site is bought
    for g in np.flatnonzero(deficit):  # a handful of groups
        cols = np.flatnonzero(open_ & (group == g))
        order = cols[np.lexsort((cols, costs[cols]))]
        d = int(deficit[g])
        total += float(costs[order[:d]].sum())
        kth = costs[order[d - 1]] if d <= len(order) else math.inf
        relief[cols] = kth
        relief[order[:d]] = costs[order[:d]]
    return total, relief


def constrained_greedy(
    A: sp.csc_matrix,
    w: np.ndarray,
    *,
    k: int | None,
    budget: float | None,
    costs: np.ndarray | None,
    side: SideConstraints,
    by_ratio: bool = False,
) -> np.ndarray:
    """Choose greedily while keeping every quota reachable; committed sites first.

    After them, each step takes the best site among those after which the quotas can still
    be met.

    A site is allowed when its group is below its maximum, when the sites left to choose
    (``k``) still cover the unmet minimums after it, and (with a budget) when its cost plus
    the cheapest way to meet the unmet minimums fits in the money left. These conditions
    hold for the start (checked by :func:`side_constraints`) and are kept by every pick, so
    the result always meets every quota. Picks maximise the weighted demand newly covered
    (per rupiah with ``by_ratio``); a site that adds nothing is taken only to meet a minimum.
    """
    n, m = A.shape
    csr = A.tocsr()
    costs = np.zeros(m) if costs is None else np.asarray(costs, dtype="float64")
    gains = np.asarray(A.T @ w, dtype="float64").ravel()
    covered = np.zeros(n, dtype=bool)
    open_ = np.ones(m, dtype=bool)
    n_groups = len(side.names)
    count = np.zeros(n_groups, dtype=np.int64)
    has_group = side.group >= 0
    chosen: list[int] = []
    spent = 0.0
    cap = m if k is None else int(k)

    def take(j: int) -> None:
        nonlocal spent
        chosen.append(j)
        open_[j] = False
        spent += costs[j]
        if side.group[j] >= 0:
            count[side.group[j]] += 1
        rows = A.indices[A.indptr[j] : A.indptr[j + 1]]
        new = rows[~covered[rows]]
        covered[new] = True
        if len(new):
            gains[:] -= np.asarray(csr[new].T @ w[new], dtype="float64").ravel()

    def best(candidates: np.ndarray) -> int:
        score = gains[candidates]
        if by_ratio:
            score = np.where(
                costs[candidates] > 0, score / np.maximum(costs[candidates], 1e-300), np.inf
            )
        top = np.flatnonzero(score == score.max())
        return int(candidates[top[0]])  # ties: lowest column, as sites are sorted by id

    forced = np.flatnonzero(side.forced)
    while len(forced):
        j = best(forced)
        take(j)
        forced = forced[forced != j]
    while len(chosen) < cap:
        deficit = np.maximum(side.min_count - count, 0)
        # group -1 (no group) is looked up in an extra slot: no deficit, never full
        slot = np.where(has_group, side.group, n_groups)
        relieves = np.r_[deficit, 0][slot] > 0
        allowed = open_.copy()
        allowed &= ~np.r_[count >= side.max_count, False][slot]
        slots_after = cap - len(chosen) - 1
        allowed &= slots_after >= deficit.sum() - relieves
        if budget is not None:
            fill, relief = _fill_cost(costs, side.group, open_, deficit)
            after = fill - np.where(relieves, relief, 0.0)
            allowed &= costs + after <= budget - spent + 1e-9 * max(1.0, budget)
        cand = np.flatnonzero(allowed)
        if len(cand) == 0:
            break
        if deficit.sum() == 0 and gains[cand].max() <= 0:
            break  # nothing left to connect and no minimum to meet
        if deficit.sum() > 0 and gains[cand].max() <= 0:
            cand = cand[relieves[cand]]  # only a minimum is left to meet
        take(best(cand))
    return np.asarray(chosen, dtype=np.int64)


def constrained_exact(
    A: sp.csc_matrix,
    w: np.ndarray,
    *,
    k: int | None,
    budget: float | None,
    costs: np.ndarray | None,
    side: SideConstraints,
    start: np.ndarray,
    time_limit_s: float,
) -> tuple[np.ndarray, float, str, str]:
    """Solve the covering model with the side rows in HiGHS; ``start`` (feasible) seeds it.

    Returns ``(chosen, dual bound, status, note)``. The reductions of
    :func:`blankspot._exact.exact_mclp` (swaps, reduced-cost fixing, dominance) are not used:
    they are not yet aware of quotas, and a dominated site may be the one a minimum needs.
    """
    t0 = time.perf_counter()
    A2, w2, _ = _mclp.aggregate_demand(A, w)
    mip = _exact._solve_mip(
        _mclp._as_csc(A2),
        w2,
        k=k,
        budget=budget,
        costs=costs,
        start=start,
        time_limit_s=time_limit_s,
        side=side,
    )
    chosen = mip.chosen
    if not side.feasible(chosen) and "Infeasible" not in mip.status:  # pragma: no cover
        # the model holds the quota rows: a plan breaking one would be a bug, never shown
        raise AssertionError(f"HiGHS returned a plan that breaks a quota: {chosen.tolist()}")
    note = (
        f"HiGHS with quota rows on {A2.shape[0]:,} demand rows x {A.shape[1]:,} sites: "
        f"{mip.status} ({time.perf_counter() - t0:.1f} s, {mip.nodes} nodes)"
    )
    return chosen, mip.dual_bound, mip.status, note
