"""Bounds and reductions for the maximal covering problem: Lagrangian relaxation, swaps, fixing.

The covering constraints ``y_i <= sum_j A_ij x_j`` are relaxed with multipliers
``0 <= lam_i <= w_i`` (Galvão & ReVelle 1996; Galvão, Espejo & Boffey 2000)::

    L(lam, rho) = sum_i max(0, w_i - lam_i)                      (demand side)
                + rho * budget + top_k max(0, c_j - rho * cost_j)  (site side)
    with c = A.T @ lam

For *any* ``lam`` in ``[0, w]`` and ``rho >= 0`` this is an upper bound on every plan of at
most ``k`` sites (and cost at most ``budget``): validity never depends on convergence.
Its minimum equals the LP relaxation's optimum, found here by a subgradient method in a
fraction of the time an LP solver needs on province-scale instances.

The same multipliers give, for every site ``j``, a bound on any plan that contains ``j``
(:attr:`LagrangianResult.site_bound`): when it is below the value of a known plan, ``j``
is in no better plan and can be removed before the exact solve (reduced-cost fixing).
Plans are found on the way by taking the sites the relaxation picks and improving them by
best-improvement swaps (:func:`swap_search`).

Side constraints (a hook for quotas and forced sites): every bound here relaxes the
constraints it does not know, so it stays valid when more constraints are added; a forced
site must be passed in ``protect`` of :func:`dominated_sites` and in every start plan, and
plans handed in as ``starts`` must satisfy the side constraints.
"""

from __future__ import annotations

import logging
import math
import sys
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp

from blankspot import _greedy_kernels

__all__ = [
    "LagrangianResult",
    "cover_count",
    "dominated_sites",
    "lagrangian_at",
    "lagrangian_bound",
    "plan_value",
    "swap_search",
]

log = logging.getLogger("blankspot")

#: Subgradient steps between two tries of the Lagrangian heuristic (pick + swaps).
HEURISTIC_EVERY = 40
#: Stop when the bound improved by less than this (relative) over ``_STALL_WINDOW`` steps.
_STALL_REL = 2e-5
_STALL_WINDOW = 150
#: Steps between two tries at dropping the sites the bound rules out.
SHRINK_EVERY = 50
#: Shrink only when at most this share of the sites is left.
SHRINK_BELOW = 0.8


def _progress(total: int, desc: str) -> Any:
    """Return a tqdm bar on an interactive terminal, else ``None`` (logs only)."""
    if not sys.stderr.isatty():
        return None
    from tqdm.auto import tqdm  # noqa: PLC0415 - only on a terminal

    return tqdm(total=total, desc=desc, leave=False, file=sys.stderr)


def cover_count(A: sp.csc_matrix, sites: np.ndarray) -> np.ndarray:
    """How many of ``sites`` (column indices) cover each demand row of the CSC matrix ``A``."""
    sites = np.asarray(sites, dtype=np.int64)
    lens = np.diff(A.indptr)[sites]
    offs = np.arange(lens.sum()) - np.repeat(np.cumsum(lens) - lens, lens)
    rows = A.indices[np.repeat(A.indptr[sites], lens) + offs]
    return np.bincount(rows, minlength=A.shape[0])


def plan_value(A: sp.csc_matrix, w: np.ndarray, sites: np.ndarray) -> float:
    """Weighted demand covered by ``sites``.

    Examples
    --------
    >>> import numpy as np, scipy.sparse as sp
    >>> A = sp.csc_matrix(np.array([[1, 0], [1, 1], [0, 1]], dtype=bool))
    >>> plan_value(A, np.array([1.0, 2.0, 4.0]), np.array([0]))
    3.0
    """
    return float(w[cover_count(A, sites) > 0].sum())


# --------------------------------------------------------------------------- site side


def _site_side(
    c: np.ndarray,
    *,
    k: int | None,
    costs: np.ndarray | None,
    budget: float | None,
    allowed: np.ndarray,
) -> tuple[float, np.ndarray, float, np.ndarray, np.ndarray]:
    """Solve the relaxed site problem for the site values ``c``.

    Returns ``(value, r, threshold, picked, fraction)``: the bound's site part
    ``rho * budget + top_k max(0, r)``, the reduced values ``r = c - rho * cost``, the
    ``k``-th largest positive ``r`` (0 when fewer, or without ``k``), and a maximiser of the
    site LP (indices and fractions) for the subgradient.
    """
    r = np.where(allowed, c, -np.inf)
    if budget is None or costs is None:
        rho = 0.0
    else:
        rho = _best_rho(c, costs, k=k, budget=budget, allowed=allowed)
        r = np.where(allowed, c - rho * costs, -np.inf)
    value, thresh = _top_positive(r, k)
    value += rho * (budget or 0.0)
    # a maximiser of the site LP: by decreasing r, within k and the budget
    pos = np.flatnonzero(r > 0)
    if k is not None and len(pos) > k:
        pos = pos[np.argpartition(-r[pos], k - 1)[:k]]
        pos.sort()
    order = pos[np.lexsort((pos, -r[pos]))]
    frac = np.ones(len(order))
    if budget is not None and costs is not None and len(order):
        cum = np.cumsum(costs[order])
        full = int(np.searchsorted(cum, budget * (1 + 1e-12), side="right"))
        frac = np.zeros(len(order))
        frac[:full] = 1.0
        if full < len(order) and costs[order[full]] > 0:
            spent = cum[full - 1] if full else 0.0
            frac[full] = max(0.0, (budget - spent) / costs[order[full]])
        keep = frac > 0
        order, frac = order[keep], frac[keep]
    return value, r, thresh, order, frac


def _top_positive(r: np.ndarray, k: int | None) -> tuple[float, float]:
    """Sum of the ``k`` largest positive values (all of them without ``k``), and the k-th."""
    pos = r[r > 0]
    if k is None or len(pos) <= k:
        return float(pos.sum()), 0.0
    part = np.partition(pos, len(pos) - k)[len(pos) - k :]
    return float(part.sum()), float(part.min())


def _best_rho(
    c: np.ndarray, costs: np.ndarray, *, k: int | None, budget: float, allowed: np.ndarray
) -> float:
    """Minimise the convex ``rho * budget + top_k max(0, c - rho * cost)`` over ``rho >= 0``."""
    paid = allowed & (costs > 0) & (c > 0)
    if not paid.any():
        return 0.0
    hi = float(np.max(c[paid] / costs[paid]))

    def f(rho: float) -> float:
        return rho * budget + _top_positive(np.where(allowed, c - rho * costs, -np.inf), k)[0]

    lo = 0.0
    golden = (math.sqrt(5) - 1) / 2
    a, b = lo + (1 - golden) * (hi - lo), lo + golden * (hi - lo)
    fa, fb = f(a), f(b)
    for _ in range(48):  # interval shrinks to ~1e-10 of its start
        if fa <= fb:
            hi, b, fb = b, a, fa
            a = lo + (1 - golden) * (hi - lo)
            fa = f(a)
        else:
            lo, a, fa = a, b, fb
            b = lo + golden * (hi - lo)
            fb = f(b)
    best = min((f(0.0), 0.0), (fa, a), (fb, b))
    return float(best[1])


# --------------------------------------------------------------------------- swaps


def _fits(
    sites: np.ndarray, *, k: int | None, costs: np.ndarray | None, budget: float | None
) -> bool:
    if k is not None and len(sites) > k:
        return False
    if budget is not None and costs is not None:
        return float(costs[sites].sum()) <= budget * (1 + 1e-12)
    return True


def swap_search(
    A: sp.csc_matrix,
    w: np.ndarray,
    start: np.ndarray,
    *,
    k: int | None,
    costs: np.ndarray | None = None,
    budget: float | None = None,
    allowed: np.ndarray | None = None,
    deadline: float = math.inf,
    max_moves: int = 10_000,
    matrices: tuple[sp.csr_matrix, sp.csr_matrix] | None = None,
) -> tuple[np.ndarray, float]:
    """Improve a plan by best-improvement moves: swap one site for another, or add one.

    Every move keeps the plan within ``k`` sites and the ``budget``; the best move (ties:
    the smaller incoming, then outgoing, index) is applied until none improves the covered
    weight. Each round costs one sparse product over the demand covered exactly once.

    ``matrices`` may hand in ``(A.T, A)`` as float CSR, built once by a caller that swaps
    on the same matrix many times. Returns ``(sites, value)``, sites sorted by index.

    Examples
    --------
    >>> import numpy as np, scipy.sparse as sp
    >>> A = sp.csc_matrix(np.array([[1, 1, 0], [1, 0, 0], [1, 0, 0], [0, 1, 1], [0, 0, 1]],
    ...                            dtype=bool))
    >>> sites, value = swap_search(A, np.ones(5), np.array([1]), k=1)  # site 1 covers 2
    >>> sites.tolist(), value
    ([0], 3.0)
    """
    m = A.shape[1]
    if matrices is None:
        matrices = _swap_matrices(A)
    At, Ar = matrices
    allowed = np.ones(m, dtype=bool) if allowed is None else allowed
    sites = np.unique(np.asarray(start, dtype=np.int64))
    spent = float(costs[sites].sum()) if costs is not None else 0.0
    slack = 1e-12 * max(1.0, budget or 0.0)
    for _ in range(max_moves):
        if time.perf_counter() > deadline:
            break
        count = cover_count(A, sites)
        gain = At @ (w * (count == 0))  # what adding each site would connect
        gain[sites] = -np.inf
        gain[~allowed] = -np.inf
        best_delta, move = 1e-9 * max(1.0, float(w.sum())), None
        # add a site, when k and the budget leave room
        room_k = k is None or len(sites) < k
        if room_k:
            ok = gain > 0
            if budget is not None and costs is not None:
                ok &= costs + spent <= budget + slack
            if ok.any():
                j = int(np.flatnonzero(ok)[np.argmax(gain[ok])])
                if gain[j] > best_delta:
                    best_delta, move = float(gain[j]), (j, -1)
        if len(sites):
            once_rows = np.flatnonzero(count == 1)
            S = sp.csr_matrix(A[:, sites])[once_rows]
            w_once = w[once_rows]
            loss = np.asarray(S.T @ w_once).ravel()  # what removing each site loses
            # back[j, s]: demand only s covers that j would cover again
            S_w = sp.csr_matrix(S.multiply(w_once[:, None]))
            back = (S_w.T @ Ar[once_rows]).T.toarray()
            delta = gain[:, None] + back - loss[None, :]
            if budget is not None and costs is not None:
                over = costs[:, None] - costs[sites][None, :] + spent > budget + slack
                delta[over] = -np.inf
            flat = int(np.argmax(delta))
            j, s = divmod(flat, len(sites))
            if delta[j, s] > best_delta:
                best_delta, move = float(delta[j, s]), (j, s)
        if move is None:
            break
        j, s = move
        if s >= 0:
            if costs is not None:
                spent += float(costs[j] - costs[sites[s]])
            sites = np.sort(np.r_[np.delete(sites, s), j])
        else:
            if costs is not None:
                spent += float(costs[j])
            sites = np.sort(np.r_[sites, j])
    return sites, plan_value(A, w, sites)


def _swap_matrices(A: sp.csc_matrix) -> tuple[sp.csr_matrix, sp.csr_matrix]:
    n, m = A.shape
    At = sp.csr_matrix((np.ones(A.nnz), A.indices, A.indptr), shape=(m, n))
    return At, sp.csr_matrix(A, dtype="float64")


# --------------------------------------------------------------------------- Lagrangian


@dataclass(frozen=True)
class LagrangianResult:
    """The outcome of :func:`lagrangian_bound`.

    Attributes
    ----------
    bound : float
        Upper bound on every plan within ``k`` and the budget.
    site_bound : numpy.ndarray
        For each site, an upper bound on every such plan that contains it.
    site_out_bound : numpy.ndarray
        For each site, an upper bound on every such plan without it (fixing in: a site
        whose bound is below a known plan's value is in every better plan).
    best_sites, best_value
        The best plan found (start plans, relaxation picks and swaps) and its value.
    iterations, seconds
        Subgradient steps taken and time spent.
    stopped : str
        Why it stopped: ``"proved"`` (the bound meets the best plan), ``"converged"``,
        ``"time limit"``, ``"step limit"`` or ``"small enough"`` (``stop_sites``).
    """

    bound: float
    site_bound: np.ndarray
    site_out_bound: np.ndarray
    best_sites: np.ndarray
    best_value: float
    iterations: int
    seconds: float
    stopped: str


def lagrangian_bound(
    A: sp.csc_matrix,
    w: np.ndarray,
    *,
    k: int | None,
    costs: np.ndarray | None = None,
    budget: float | None = None,
    starts: tuple[np.ndarray, ...] = (),
    time_limit_s: float = 10.0,
    max_iter: int = 5000,
    heuristics: bool = True,
    shrink: bool = True,
    stop_sites: int = 0,
    progress: str | None = None,
) -> LagrangianResult:
    """Bound the maximal covering problem by subgradient optimisation of its Lagrangian.

    Parameters
    ----------
    A, w
        CSC coverage matrix (demand x sites) and demand weights.
    k, costs, budget
        The site count and the budget (at least one of them).
    starts
        Feasible plans (column indices): the best is the first lower bound, and the first
        one's uncovered demand gives the starting multipliers (the greedy online bound).
    time_limit_s, max_iter
        Limits of the subgradient loop (the bound is valid whenever it stops).
    heuristics
        Try the relaxation's picks, improved by :func:`swap_search`, every
        ``HEURISTIC_EVERY`` steps; a better plan sharpens the step size and the fixing.
    shrink
        Every ``SHRINK_EVERY`` steps, drop the sites whose bound is below the best plan
        (and the demand only they cover) and go on with the smaller instance: its optimum
        is the same, and each step gets cheaper.
    stop_sites
        Stop (``stopped="small enough"``) once shrinking has left at most this many sites,
        for a caller that solves the rest another way (the LP relaxation).
    progress
        Description of a terminal progress bar (shown only when stderr is a terminal).

    Returns
    -------
    LagrangianResult

    Examples
    --------
    >>> import numpy as np, scipy.sparse as sp
    >>> A = sp.csc_matrix(np.array([[1, 1, 0], [0, 1, 1], [1, 0, 1]], dtype=bool))
    >>> r = lagrangian_bound(A, np.ones(3), k=1, starts=(np.array([0]),))
    >>> round(r.bound, 3), r.best_value
    (2.0, 2.0)
    """
    t0 = time.perf_counter()
    deadline = t0 + max(0.0, float(time_limit_s))
    m = A.shape[1]
    w = np.asarray(w, dtype="float64")
    allowed_all = np.ones(m, dtype=bool)
    if budget is not None and costs is not None:
        allowed_all &= costs <= budget * (1 + 1e-12)
    best_sites = np.zeros(0, dtype=np.int64)
    lower = 0.0
    for start in starts:
        plan = np.unique(np.asarray(start, dtype=np.int64))
        v = plan_value(A, w, plan)
        if v > lower or len(best_sites) == 0:
            best_sites, lower = plan, v
    if starts:
        lam = np.where(cover_count(A, np.asarray(starts[0], dtype=np.int64)) > 0, 0.0, w)
    else:
        lam = w.copy()
    # the current (shrinking) instance: columns `cols` of A, merged demand rows
    cols = np.arange(m)
    cur = _Instance.build(A, w, costs, allowed_all)
    site_bound = np.full(m, np.inf)
    bound = math.inf  # best bound of all (valid for the original instance)
    cur_best, cur_r, cur_thresh = math.inf, np.zeros(m), 0.0
    step_scale, stall = 1.0, 0
    history: list[float] = []
    tried: set[bytes] = set()
    stopped = "step limit"
    bar = _progress(max_iter, progress) if progress else None
    it = 0
    for it in range(1, max_iter + 1):
        c = cur.site_values(lam)
        site_part, r, thresh, picked, frac = _site_side(
            c, k=k, costs=cur.costs, budget=budget, allowed=cur.allowed
        )
        value = float(np.maximum(0.0, cur.w - lam).sum()) + site_part
        if not math.isfinite(cur_best) or value < cur_best - 1e-9 * max(1.0, cur_best):
            cur_best, cur_lam, cur_r, cur_thresh = value, lam, r, thresh
            stall = 0
        else:
            stall += 1
            if stall >= 20:
                step_scale, stall = step_scale / 2, 0
        bound = min(bound, cur_best)
        history.append(bound)
        if heuristics and (it == 1 or it % HEURISTIC_EVERY == 0):
            plan = _integral_pick(picked, frac)
            key = plan.tobytes()
            if len(plan) and key not in tried:
                tried.add(key)
                plan, v = swap_search(
                    cur.A,
                    cur.w,
                    plan,
                    k=k,
                    costs=cur.costs,
                    budget=budget,
                    allowed=cur.allowed,
                    deadline=deadline,
                    matrices=cur.swap_matrices(),
                )
                if v > lower + 1e-9 * max(1.0, lower):
                    best_sites, lower = cols[plan], v
        if bar is not None:
            bar.update(1)
            bar.set_postfix_str(f"bound {bound:,.0f}, best plan {lower:,.0f}, {len(cols):,} sites")
        if bound - lower <= 1e-9 * max(1.0, bound):
            stopped = "proved"
            break
        if time.perf_counter() > deadline:
            stopped = "time limit"
            break
        if (
            len(history) > _STALL_WINDOW
            and history[-_STALL_WINDOW - 1] - bound <= _STALL_REL * bound
        ) or step_scale < 1e-6:
            stopped = "converged"
            break
        if shrink and it % SHRINK_EVERY == 0:
            sb = _site_bounds(cur_best, cur_r, cur_thresh, k)
            alive = sb >= lower - 1e-9 * max(1.0, lower)
            alive[np.flatnonzero(np.isin(cols, best_sites))] = True
            if alive.sum() <= SHRINK_BELOW * len(alive):
                log.debug(
                    "Lagrangian step %d (%.1f s): bound %.6g, %d of %d sites left",
                    it, time.perf_counter() - t0, bound, int(alive.sum()), m,
                )  # fmt: skip
                site_bound[cols[~alive]] = sb[~alive]
                cur, lam = cur.restrict(alive, cur_lam)
                cols = cols[alive]
                cur_best, stall, tried = math.inf, 0, set()
                if len(cols) <= stop_sites:
                    stopped = "small enough"
                    break
                continue
        # subgradient of L at lam: (A x)_i - y_i; move lam against it (Polyak step)
        ax = _weighted_cover(cur.A, picked, frac)
        sub = ax - (cur.w > lam)
        norm = float(sub @ sub)
        if norm == 0:
            stopped = "converged"
            break
        step = step_scale * max(value - lower, 1e-6 * max(1.0, lower)) / norm
        lam = np.clip(lam - step * sub, 0.0, cur.w)
    if bar is not None:
        bar.close()
    # a site dropped while shrinking is in no plan better than `lower`: leaving it out
    # costs nothing, so its out-bound is the bound itself
    site_out_bound = np.full(m, math.inf)
    if math.isfinite(cur_best):
        site_bound[cols] = _site_bounds(cur_best, cur_r, cur_thresh, k)
        site_out_bound[cols] = _site_out_bounds(cur_best, cur_r, k)
    site_bound[~allowed_all] = -math.inf
    bound = max(bound, lower)
    site_out_bound = np.minimum(site_out_bound, bound)
    seconds = time.perf_counter() - t0
    log.info(
        "Lagrangian bound %.6g after %d subgradient steps (%.1f s, %s); best plan %.6g; "
        "%d of %d sites left",
        bound,
        it,
        seconds,
        stopped,
        lower,
        len(cols),
        m,
    )
    return LagrangianResult(
        bound=float(bound),
        site_bound=site_bound,
        site_out_bound=site_out_bound,
        best_sites=np.sort(best_sites),
        best_value=float(lower),
        iterations=it,
        seconds=seconds,
        stopped=stopped,
    )


@dataclass(frozen=True)
class BoundAt:
    """The Lagrangian bound at given multipliers (:func:`lagrangian_at`)."""

    bound: float
    site_bound: np.ndarray
    site_out_bound: np.ndarray


def lagrangian_at(
    A: sp.csc_matrix,
    w: np.ndarray,
    lam: np.ndarray,
    *,
    k: int | None,
    costs: np.ndarray | None = None,
    budget: float | None = None,
) -> BoundAt:
    """Evaluate the bound and the site bounds at the multipliers ``lam`` (clipped to [0, w]).

    Valid for any ``lam``: this is how multipliers from elsewhere (the LP relaxation's
    duals) are turned into bounds without trusting their accuracy.

    Examples
    --------
    >>> import numpy as np, scipy.sparse as sp
    >>> A = sp.csc_matrix(np.array([[1, 0], [1, 0], [0, 1]], dtype=bool))
    >>> at = lagrangian_at(A, np.array([5.0, 5.0, 1.0]), np.array([5.0, 5.0, 1.0]), k=1)
    >>> at.bound, at.site_bound.tolist(), at.site_out_bound.tolist()
    (10.0, [10.0, 1.0], [1.0, 10.0])
    """
    w = np.asarray(w, dtype="float64")
    lam = np.clip(np.asarray(lam, dtype="float64"), 0.0, w)
    m = A.shape[1]
    allowed = np.ones(m, dtype=bool)
    if budget is not None and costs is not None:
        allowed &= costs <= budget * (1 + 1e-12)
    At = sp.csr_matrix((np.ones(A.nnz), A.indices, A.indptr), shape=(m, A.shape[0]))
    site_part, r, thresh, _, _ = _site_side(
        At @ lam, k=k, costs=costs, budget=budget, allowed=allowed
    )
    bound = float(np.maximum(0.0, w - lam).sum()) + site_part
    site_bound = _site_bounds(bound, r, thresh, k)
    site_bound[~allowed] = -math.inf
    return BoundAt(bound, site_bound, np.minimum(_site_out_bounds(bound, r, k), bound))


@dataclass(frozen=True)
class _Instance:
    """The instance the subgradient loop works on (shrinks as sites are fixed out)."""

    A: sp.csc_matrix
    w: np.ndarray
    costs: np.ndarray | None
    allowed: np.ndarray

    @staticmethod
    def build(
        A: sp.csc_matrix, w: np.ndarray, costs: np.ndarray | None, allowed: np.ndarray
    ) -> _Instance:
        return _Instance(A, w, costs, allowed)

    def site_values(self, lam: np.ndarray) -> np.ndarray:
        """``A.T @ lam`` (A of ones) summed as scipy sums it, without a float copy of ``A``.

        A national instance has ~10^8 entries: a float64 ``A.T`` would be another 0.8 GB.
        """
        return _greedy_kernels.column_sums(self.A.indptr, self.A.indices, lam)

    def swap_matrices(self) -> tuple[sp.csr_matrix, sp.csr_matrix]:
        """``(A.T, A)`` as float CSR for :func:`swap_search`, built on first use."""
        if "_swap" not in self.__dict__:
            object.__setattr__(self, "_swap", _swap_matrices(self.A))
        return self.__dict__["_swap"]

    def restrict(self, alive: np.ndarray, lam: np.ndarray) -> tuple[_Instance, np.ndarray]:
        """Keep the ``alive`` sites; drop rows none covers, merge identical rows.

        Merged rows carry the summed weight and multiplier: the site values ``A.T @ lam``
        are unchanged and the demand part can only fall, so the bound stays valid.
        """
        from blankspot._mclp import aggregate_demand  # noqa: PLC0415 - import cycle

        sub = self.A[:, np.flatnonzero(alive)]
        A2, w2, group = aggregate_demand(sub, self.w)
        live = group >= 0
        lam2 = np.minimum(np.bincount(group[live], weights=lam[live], minlength=len(w2)), w2)
        costs = None if self.costs is None else self.costs[alive]
        return _Instance.build(sp.csc_matrix(A2), w2, costs, self.allowed[alive]), lam2


def _integral_pick(picked: np.ndarray, frac: np.ndarray) -> np.ndarray:
    return np.sort(picked[frac >= 1.0 - 1e-12])


def _weighted_cover(A: sp.csc_matrix, sites: np.ndarray, frac: np.ndarray) -> np.ndarray:
    lens = np.diff(A.indptr)[sites]
    offs = np.arange(lens.sum()) - np.repeat(np.cumsum(lens) - lens, lens)
    rows = A.indices[np.repeat(A.indptr[sites], lens) + offs]
    return np.bincount(rows, weights=np.repeat(frac, lens), minlength=A.shape[0])


def _site_bounds(bound: float, r: np.ndarray, thresh: float, k: int | None) -> np.ndarray:
    """Bound on any plan containing each site: forcing it in costs ``thresh - r_j`` at most.

    With ``k`` binding, a site outside the relaxation's top ``k`` replaces the k-th
    (``thresh``); without, a site with ``r_j < 0`` lowers the bound by ``-r_j``.
    """
    out = np.full(len(r), bound)
    if k is not None and thresh > 0:
        below = r < thresh
        out[below] = bound - thresh + r[below]
    else:
        neg = r < 0
        out[neg] = bound + r[neg]
    return out


def _site_out_bounds(bound: float, r: np.ndarray, k: int | None) -> np.ndarray:
    """Bound on any plan without each site: leaving out a picked site costs its ``r_j``.

    The relaxed site problem picks the ``k`` largest positive reduced values ``r`` (all
    positive ones without ``k``); without site ``j`` the next one, the ``(k+1)``-th largest
    positive value (0 when there is none), takes its place.
    """
    pos = np.maximum(r, 0.0)
    if k is None or np.count_nonzero(pos) <= k:
        return bound - pos
    order = np.argsort(-pos, kind="stable")
    out = np.full(len(r), bound)
    top = order[:k]
    out[top] = bound - pos[top] + pos[order[k]]
    return out


# --------------------------------------------------------------------------- dominance


def dominated_sites(
    A: sp.csc_matrix,
    costs: np.ndarray | None = None,
    protect: np.ndarray | None = None,
) -> np.ndarray:
    """Sites another site makes useless: it covers a superset of the demand for no more money.

    Site ``j`` is dominated by ``j2`` when every demand row ``j`` covers is covered by
    ``j2`` and ``cost[j2] <= cost[j]``. Of identical sites (same rows, same cost) the
    smallest index is kept. Removing dominated sites keeps an optimal plan of the same
    size and cost (swap each dominated site for its dominator; chains end at a kept
    site). ``protect`` (bool mask) marks sites that must stay, e.g. forced in or counted by
    a group quota; they are never removed and never used as dominators of each other's
    group (the caller decides which sites are safe).

    Candidate dominators of ``j`` are only the sites covering its rarest row, then each
    pair is checked exactly with a sorted key lookup; no dense matrix is built.

    Returns
    -------
    numpy.ndarray
        Boolean mask, True for sites that can be removed.

    Examples
    --------
    >>> import numpy as np, scipy.sparse as sp
    >>> A = sp.csc_matrix(np.array([[1, 1, 0], [0, 1, 0], [0, 0, 1]], dtype=bool))
    >>> dominated_sites(A).tolist()
    [True, False, False]
    >>> dominated_sites(A, costs=np.array([1.0, 2.0, 1.0])).tolist()
    [False, False, False]
    """
    n, m = A.shape
    out = np.zeros(m, dtype=bool)
    deg_col = np.diff(A.indptr)
    out[deg_col == 0] = True
    if n == 0 or A.nnz == 0:
        if protect is not None:
            out &= ~protect
        return out
    Ar = sp.csr_matrix(A)
    Ar.sort_indices()
    deg_row = np.diff(Ar.indptr)
    col_of = np.repeat(np.arange(m), deg_col)
    rows = A.indices
    # the rarest row of each non-empty column
    order = np.lexsort((deg_row[rows], col_of))
    first = np.r_[0, np.cumsum(deg_col)[:-1]]
    live = np.flatnonzero(deg_col > 0)
    rare = rows[order[first[live]]]
    cnt = deg_row[rare]
    pj = np.repeat(live, cnt)
    offs = np.arange(cnt.sum()) - np.repeat(np.cumsum(cnt) - cnt, cnt)
    pk = Ar.indices[np.repeat(Ar.indptr[rare], cnt) + offs]
    keep = (pk != pj) & (deg_col[pk] >= deg_col[pj])
    if costs is not None:
        keep &= costs[pk] <= costs[pj]
    pj, pk = pj[keep], pk[keep]
    keys = np.sort(rows.astype(np.int64) * m + col_of)
    is_sub = np.zeros(len(pj), dtype=bool)
    lens = deg_col[pj]
    ends = np.cumsum(lens)
    start = 0
    chunk = 2_000_000  # pairs x rows checked per block, bounded memory
    while start < len(pj):
        stop = max(start + 1, int(np.searchsorted(ends, ends[start] - lens[start] + chunk)))
        bj, bk, bl = pj[start:stop], pk[start:stop], lens[start:stop]
        o = np.arange(bl.sum()) - np.repeat(np.cumsum(bl) - bl, bl)
        q = A.indices[np.repeat(A.indptr[bj], bl) + o].astype(np.int64) * m + np.repeat(bk, bl)
        pos = np.minimum(np.searchsorted(keys, q), len(keys) - 1)
        hit = keys[pos] == q
        is_sub[start:stop] = np.logical_and.reduceat(hit, np.r_[0, np.cumsum(bl)[:-1]])
        start = stop
    pj, pk = pj[is_sub], pk[is_sub]
    same = deg_col[pj] == deg_col[pk]
    if costs is not None:
        same &= costs[pj] == costs[pk]
    # strict domination removes j; identical twins keep the smaller index
    out[pj[~same | (pk < pj)]] = True
    if protect is not None:
        out &= ~protect
    return out
