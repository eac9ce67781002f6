"""A near-LP bound for the maximal covering problem: the smoothed Lagrangian dual.

The Lagrangian of :mod:`blankspot._lagrange`, with the site side written through its own
multipliers ``t`` (price of a site slot) and ``rho`` (price of a rupiah)::

    L(lam, t, rho) = sum_i (w_i - lam_i) + k t + rho budget
                   + sum_j max(0, c_j - t - rho cost_j),        c = A.T @ lam

is an upper bound on every plan of at most ``k`` sites and cost at most ``budget`` for any
``0 <= lam <= w``, ``t >= 0``, ``rho >= 0`` (each plan's value is at most
``sum_i (w_i - lam_i) y_i + sum_j c_j x_j``, and adding ``t (k - |x|) + rho (budget -
cost x) >= 0`` then taking the best ``x`` gives ``L``). Its minimum is the LP relaxation's
optimum. The subgradient method of :func:`blankspot._lagrange.lagrangian_bound` stalls well
above it on large degenerate instances (thousands of near-equal candidate sites).

Replacing ``max(0, z)`` by ``mu * log(1 + exp(z / mu))`` (at least ``max(0, z)``, at most
``mu log 2`` above it) makes ``L`` smooth and convex, so a quasi-Newton method with box
constraints (L-BFGS-B, Byrd et al. 1995) minimises it; ``mu`` falls in steps
(:data:`MU_STEPS`, relative to the value of one site), each started from the last. Every
gradient costs two sparse products. The bound returned is the *exact* Lagrangian at the
final multipliers (:func:`blankspot._lagrange.lagrangian_at`): neither the smoothing nor
the optimiser's accuracy can make it invalid.

The gradient in ``t`` holds ``s_j = sigmoid((c_j - t - rho cost_j) / mu)``, a fractional
plan close to the LP's: callers round it to plans (:attr:`SmoothedDual.x`).
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from scipy.optimize import Bounds, minimize
from scipy.special import expit

from blankspot import _lagrange

__all__ = ["SmoothedDual", "smoothed_dual"]

log = logging.getLogger("blankspot")

#: The smoothing ``mu`` of each stage, as a share of the value of one site (``scale``).
MU_STEPS = (3e-3, 1e-3, 3e-4)
#: L-BFGS-B iterations per stage (each about one gradient evaluation).
ITERS_PER_MU = 150
#: L-BFGS-B memory: more costs time per iteration on ~10^5 multipliers, gains little.
_MAXCOR = 5


@dataclass(frozen=True)
class SmoothedDual:
    """The outcome of :func:`smoothed_dual`.

    Attributes
    ----------
    lam : numpy.ndarray
        The multipliers of the demand rows (in ``[0, w]``) that give ``at``.
    at : blankspot._lagrange.BoundAt
        The exact Lagrangian bound and the site bounds at ``lam``.
    x : numpy.ndarray
        A fractional plan (site values in ``[0, 1]``) near the LP relaxation's optimum.
    evaluations, seconds
        Gradient evaluations and time spent.
    stopped : str
        ``"converged"`` (every stage ended) or ``"time limit"``.
    """

    lam: np.ndarray
    at: _lagrange.BoundAt
    x: np.ndarray
    evaluations: int
    seconds: float
    stopped: str


def smoothed_dual(
    A: sp.csc_matrix,
    w: np.ndarray,
    *,
    k: int | None,
    costs: np.ndarray | None = None,
    budget: float | None = None,
    lam0: np.ndarray | None = None,
    scale: float = 1.0,
    deadline: float = math.inf,
    mu_steps: tuple[float, ...] = MU_STEPS,
    iters: int = ITERS_PER_MU,
) -> SmoothedDual:
    """Minimise the smoothed Lagrangian dual of the MCLP; return its exact bound.

    Parameters
    ----------
    A, w
        CSC coverage matrix (demand x sites) and demand weights.
    k, costs, budget
        The site count and the budget (at least one of them).
    lam0
        Starting multipliers (clipped to ``[0, w]``); default ``w`` (every row unpaid).
    scale
        The value of about one site (e.g. a plan's value over its size): ``mu`` of each
        stage is ``scale`` times an entry of ``mu_steps``.
    deadline
        ``time.perf_counter()`` value at which to stop (the bound is valid whenever).
    mu_steps, iters
        The smoothing stages and the L-BFGS-B iterations of each.

    Returns
    -------
    SmoothedDual

    Examples
    --------
    >>> import numpy as np, scipy.sparse as sp
    >>> A = sp.csc_matrix(np.array([[1, 1, 0], [0, 1, 1], [1, 0, 1]], dtype=bool))
    >>> r = smoothed_dual(A, np.ones(3), k=1)
    >>> round(r.at.bound, 2)  # the LP optimum: every pair of rows shares one site
    2.0
    """
    t0 = time.perf_counter()
    if k is None and budget is None:
        raise ValueError("smoothed_dual needs k or budget")
    n, m = A.shape
    w = np.asarray(w, dtype="float64")
    At = sp.csr_matrix((np.ones(A.nnz), A.indices, A.indptr), shape=(m, n))
    Af = sp.csr_matrix(A, dtype="float64")
    allowed = np.ones(m, dtype=bool)
    use_rho = budget is not None and costs is not None
    if use_rho:
        allowed &= costs <= budget * (1 + 1e-12)
        unit = float(budget) if budget > 0 else 1.0  # rho is priced per budget
        cn = np.where(allowed, costs / unit, 0.0)
        b_n = float(budget) / unit
    else:
        cn, b_n = np.zeros(m), 0.0
    use_t = k is not None
    lam = w.copy() if lam0 is None else np.clip(np.asarray(lam0, dtype="float64"), 0.0, w)
    c = At @ lam
    t_start = 0.0
    if use_t and m > k:
        t_start = max(0.0, float(np.partition(np.where(allowed, c, 0.0), m - k - 1)[m - k - 1]))
    z = np.r_[lam, t_start, 0.0]
    box = Bounds(
        np.zeros(n + 2),
        np.r_[w, np.inf if use_t else 0.0, np.inf if use_rho else 0.0],
    )
    w_sum = float(w.sum())
    kk = float(k) if use_t else 0.0
    evaluations = 0
    x = np.zeros(m)

    def smoothed(zz: np.ndarray, mu: float) -> tuple[float, np.ndarray]:
        nonlocal evaluations
        evaluations += 1
        lam_, t_, rho_ = zz[:n], zz[n], zz[n + 1]
        u = np.where(allowed, (At @ lam_ - t_ - rho_ * cn) / mu, -np.inf)
        s = expit(u)
        value = w_sum - float(lam_.sum()) + kk * t_ + rho_ * b_n
        value += mu * float(np.logaddexp(0.0, u[allowed]).sum())
        grad = np.empty(n + 2)
        grad[:n] = Af @ s - 1.0
        grad[n] = kk - float(s.sum()) if use_t else 0.0
        grad[n + 1] = b_n - float(s @ cn) if use_rho else 0.0
        return value, grad

    def stop_at_deadline(intermediate_result: object) -> None:
        if time.perf_counter() > deadline:
            raise StopIteration

    best: _lagrange.BoundAt | None = None
    best_lam, stopped = lam, "converged"
    for step in mu_steps:
        mu = max(float(step) * float(scale), 1e-12)
        res = minimize(
            smoothed,
            z,
            args=(mu,),
            jac=True,
            method="L-BFGS-B",
            bounds=box,
            callback=stop_at_deadline,
            options={"maxiter": int(iters), "maxcor": _MAXCOR},
        )
        z = np.asarray(res.x)
        at = _lagrange.lagrangian_at(A, w, z[:n], k=k, costs=costs, budget=budget)
        if best is None or at.bound < best.bound:
            best, best_lam = at, np.clip(z[:n], 0.0, w)
            u = np.where(allowed, (At @ best_lam - z[n] - z[n + 1] * cn) / mu, -np.inf)
            x = expit(u)
        log.debug(
            "smoothed dual, mu %.3g: smoothed %.8g, exact %.8g (%d evaluations, %.1f s)",
            mu, float(res.fun), at.bound, evaluations, time.perf_counter() - t0,
        )  # fmt: skip
        if time.perf_counter() > deadline:
            stopped = "time limit"
            break
    assert best is not None
    return SmoothedDual(best_lam, best, x, evaluations, time.perf_counter() - t0, stopped)
