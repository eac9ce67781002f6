"""The smoothed Lagrangian dual (issue #8) and the exact solver's step that uses it.

Expected values are brute force over all subsets or an independent compact HiGHS model (LP
or MIP) built row by row in ``tests/test_lagrange.py``, never blankspot's own model builder.
"""

from __future__ import annotations

import math
import time

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import HealthCheck, given, settings

from blankspot import _dual, _exact, _lagrange
from blankspot._exact import exact_mclp
from blankspot._mclp import greedy_mclp
from tests.test_lagrange import (
    TOL,
    assert_fixing_is_safe,
    best_with_site,
    brute_force,
    clustered_instance,
    draw,
    independent_optimum,
    instances,
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(instances)
def test_smoothed_dual_bounds_never_below_the_optimum(inst):
    """Bound and site bounds at the smoothed dual's multipliers hold against brute force."""
    D, w, k, costs, budget, rng = draw(inst)
    A = sp.csc_matrix(D)
    kk = None if budget is not None and rng.random() < 0.5 else k
    best = brute_force(D, w, k=kk, costs=costs, budget=budget)
    r = _dual.smoothed_dual(A, w, k=kk, costs=costs, budget=budget, scale=float(w.max()))
    assert r.at.bound >= best - TOL
    assert np.all((r.x >= 0) & (r.x <= 1))
    assert np.all((r.lam >= 0) & (r.lam <= w))
    for j in range(D.shape[1]):
        assert r.at.site_bound[j] >= best_with_site(D, w, j, k=kk, costs=costs, budget=budget) - TOL


@pytest.mark.parametrize(("seed", "k", "with_budget"), [(88, 6, False), (17, 8, False),
                                                         (88, None, True), (5, 7, True),
                                                         (17, 4, True)])  # fmt: skip
def test_smoothed_dual_reaches_the_lp_bound(seed, k, with_budget):
    """Within 0.1 % of the LP relaxation (independent HiGHS LP) and never below it."""
    A, w, costs = clustered_instance(seed, with_budget)
    budget = 12.0 if with_budget else None
    lp = independent_optimum(A, w, k=k, costs=costs, budget=budget, integer=False)
    g = greedy_mclp(A, w, k=k, budget=budget, costs=costs)
    r = _dual.smoothed_dual(
        A, w, k=k, costs=costs, budget=budget, scale=g.objective / len(g.chosen)
    )
    assert r.at.bound >= lp - 1e-6 * lp  # weak duality
    assert r.at.bound <= lp * 1.001
    assert r.stopped == "converged"
    # the fractional plan respects k and the budget up to the smoothing
    if k is not None:
        assert r.x.sum() <= k + 0.05
    if with_budget:
        assert r.x @ costs <= budget * 1.01


def test_smoothed_dual_by_hand():
    """Rows 0 and 1 only site 0 covers (weight 5 each), row 2 only site 1 (weight 1), k=1.

    The LP optimum is 10 (site 0); the multipliers lam = w give L = 0 + (top-1 of c = [10, 1])
    = 10 exactly, so the bound must come out at 10 and site 1's forced-in bound at 1.
    """
    A = sp.csc_matrix(np.array([[1, 0], [1, 0], [0, 1]], dtype=bool))
    w = np.array([5.0, 5.0, 1.0])
    r = _dual.smoothed_dual(A, w, k=1, scale=5.0)
    assert r.at.bound == pytest.approx(10.0, abs=1e-3)
    assert r.at.site_bound[1] == pytest.approx(1.0, abs=1e-3)
    assert r.x[0] > 0.9 and r.x[1] < 0.1


def test_smoothed_dual_stops_at_its_deadline_with_a_valid_bound():
    A, w, _ = clustered_instance(17, False)
    ref = independent_optimum(A, w, k=8)
    t0 = time.perf_counter()
    r = _dual.smoothed_dual(A, w, k=8, scale=100.0, deadline=t0)
    assert r.stopped == "time limit"
    assert r.at.bound >= ref - TOL
    assert r.evaluations < 10  # the first stage is cut after its first iteration


def test_smoothed_dual_needs_a_limit():
    A = sp.csc_matrix(np.eye(2, dtype=bool))
    with pytest.raises(ValueError, match="k or budget"):
        _dual.smoothed_dual(A, np.ones(2), k=None)


@pytest.mark.parametrize("with_budget", [False, True])
def test_exact_through_the_smoothed_step_equals_the_independent_model(monkeypatch, with_budget):
    """No LP allowed (LP_MAX_SITES = 0) and a 3-step subgradient: the smoothed dual's
    fixing and HiGHS must still prove the independent model's optimum."""
    real = _lagrange.lagrangian_bound

    def short(*args, **kwargs):
        return real(*args, **{**kwargs, "max_iter": 3})

    monkeypatch.setattr(_lagrange, "lagrangian_bound", short)
    monkeypatch.setattr(_exact, "LP_MAX_SITES", 0)
    monkeypatch.setattr(_exact, "LP_LARGE_SHARE", 0.0)
    e, ref, A, w = _exact_and_independent(with_budget)
    assert "smoothed Lagrangian dual on" in e.note and "LP relaxation on" not in e.note
    assert e.status == "Optimal" and e.objective == pytest.approx(ref)
    assert _lagrange.plan_value(A, w, e.chosen) == pytest.approx(ref)


@pytest.mark.parametrize(
    ("seed", "k", "with_budget"), [(88, 6, False), (17, 8, False), (88, None, True), (5, 7, True)]
)
def test_smooth_fixing_keeps_an_optimal_plan(seed, k, with_budget):
    """Fixing with the smoothed dual at the optimum's value: an optimal plan survives in the
    sites left, and every site fixed in is in every plan as good as the best known."""
    A, w, costs = clustered_instance(seed, with_budget)
    budget = 12.0 if with_budget else None
    m = A.shape[1]
    ref = independent_optimum(A, w, k=k, costs=costs, budget=budget)
    start = greedy_mclp(A, w, k=k, budget=budget, costs=costs).chosen
    lower = _lagrange.plan_value(A, w, start)
    fx = _exact._smooth_fixing(
        A, w, np.arange(m), k=k, budget=budget, costs=costs, lower=lower, protect=start,
        deadline=math.inf,
    )  # fmt: skip
    assert fx.bound >= ref - TOL
    assert fx.best_value <= ref + TOL
    assert _lagrange.plan_value(A, w, fx.best_sites) == pytest.approx(fx.best_value)
    assert_fixing_is_safe(
        A, w, fx.keep, fx.fixed_in, ref=ref, best_known=max(lower, fx.best_value),
        k=k, costs=costs, budget=budget,
    )  # fmt: skip


def test_fix_by_hand():
    """Best plan 10. Site 0's bound with it is 10 (a plan as good may hold it: kept), site 1's
    is 9.5 (in no plan as good: removed), site 2's bound *without* it is 9 (in every plan as
    good: fixed in). No site covers another's row, so dominance removes nothing."""
    A = sp.csc_matrix(np.eye(3, dtype=bool))
    at = _lagrange.BoundAt(
        12.0, site_bound=np.array([10.0, 9.5, 12.0]), site_out_bound=np.array([12.0, 12.0, 9.0])
    )
    keep, fixed_in = _exact._fix(
        A, np.arange(3), at, lower=10.0, protect=np.zeros(0, np.int64), costs=None
    )
    assert keep.tolist() == [0, 2]
    assert fixed_in.tolist() == [2]
    # a protected site stays whatever its bound
    keep, _ = _exact._fix(A, np.arange(3), at, lower=10.0, protect=np.array([1]), costs=None)
    assert keep.tolist() == [0, 1, 2]


def _exact_and_independent(with_budget: bool):
    """``exact_mclp`` and the independent model's optimum on clustered instance 17 (k=8 or a
    budget of 12); return both and the instance."""
    A, w, costs = clustered_instance(17, with_budget)
    budget = 12.0 if with_budget else None
    k = None if with_budget else 8
    e = exact_mclp(A, w, k=k, budget=budget, costs=costs)
    return e, independent_optimum(A, w, k=k, costs=costs, budget=budget), A, w


def test_restrict_by_hand():
    """HiGHS gets the protected sites, then the highest site bounds (ties by index); the
    best bound left out caps every plan holding a site left out."""
    keep = np.array([2, 4, 6, 7, 9])
    bound = np.array([5.0, 8.0, 8.0, 3.0, 9.0])
    sites, outside = _exact._restrict(keep, bound, protect=np.array([7]), limit=2)
    assert sites.tolist() == [7, 9] and outside == 8.0
    sites, outside = _exact._restrict(keep, bound, protect=np.array([7]), limit=3)
    assert sites.tolist() == [4, 7, 9] and outside == 8.0  # 4 before 6 at 8.0
    sites, outside = _exact._restrict(keep, bound, protect=np.array([2, 4, 7]), limit=2)
    assert sites.tolist() == [2, 4, 7] and outside == 9.0  # protected beyond the limit
    sites, outside = _exact._restrict(keep, bound, protect=np.zeros(0, np.int64), limit=5)
    assert sites.tolist() == keep.tolist() and outside == -math.inf


def _small_steps(monkeypatch, mip_max_sites: int) -> None:
    """A 3-step subgradient, no smoothed dual and no LP, so that many sites reach HiGHS,
    which gets at most ``mip_max_sites`` of them at first."""
    real = _lagrange.lagrangian_bound

    def short(*args, **kwargs):
        return real(*args, **{**kwargs, "max_iter": 3})

    def no_smoothing(A, w, keep, **kwargs):
        return _exact._LPFixing(keep, np.zeros(0, np.int64), math.inf, "no smoothing")

    monkeypatch.setattr(_lagrange, "lagrangian_bound", short)
    monkeypatch.setattr(_exact, "_smooth_fixing", no_smoothing)
    monkeypatch.setattr(_exact, "LP_MAX_SITES", 0)
    monkeypatch.setattr(_exact, "LP_LARGE_SHARE", 0.0)
    monkeypatch.setattr(_exact, "MIP_MAX_SITES", mip_max_sites)


@pytest.mark.parametrize("with_budget", [False, True])
def test_exact_through_restricted_highs_equals_the_independent_model(monkeypatch, with_budget):
    """HiGHS gets 4 sites at first, then 8, 16, ... each time it proves the optimum over
    them: the end is still the independent model's optimum."""
    _small_steps(monkeypatch, 4)
    e, ref, A, w = _exact_and_independent(with_budget)
    assert "with the highest site bounds" in e.note
    assert e.status == "Optimal" and e.objective == pytest.approx(ref)
    assert _lagrange.plan_value(A, w, e.chosen) == pytest.approx(ref)


def test_restricted_bound_combines_highs_and_the_sites_left_out(monkeypatch):
    """HiGHS (faked) stops at its limit on the 24 sites it gets (of 109; k=8). Its bound
    equal to the plan: the bound reported is the best site bound left out. Its bound
    infinite: the Lagrangian bound from before HiGHS stands, above that. Either way it is
    never below the true optimum."""
    _small_steps(monkeypatch, 24)
    A, w, _ = clustered_instance(17, False)
    ref = independent_optimum(A, w, k=8)
    outs: list[float] = []
    real_restrict = _exact._restrict

    def restrict(*args, **kwargs):
        sites, outside = real_restrict(*args, **kwargs)
        outs.append(outside)
        return sites, outside

    def fake_mip(A2, w2, *, start, dual, **kwargs):
        value = _lagrange.plan_value(A2, w2, start)
        bound = value if dual == "tight" else math.inf
        return _exact._MIP(np.asarray(start), value, bound, "Time limit reached", 0.0, 0)

    monkeypatch.setattr(_exact, "_restrict", restrict)
    ends = {}
    for dual in ("tight", "none"):
        outs.clear()
        monkeypatch.setattr(
            _exact, "_solve_mip", lambda *a, dual=dual, **kw: fake_mip(*a, dual=dual, **kw)
        )
        ends[dual] = exact_mclp(A, w, k=8)
        assert len(outs) == 1 and math.isfinite(outs[0])  # one call, sites left out
        assert ends[dual].status == "Time limit reached"
        assert ends[dual].upper_bound >= ref - TOL
    tight, none = ends["tight"], ends["none"]
    assert tight.upper_bound == pytest.approx(max(outs[0], tight.objective))
    assert none.upper_bound > tight.upper_bound


@pytest.mark.parametrize("with_budget", [False, True])
def test_exact_with_the_lp_after_too_many_sites_equals_the_independent_model(
    monkeypatch, with_budget
):
    """More sites left than LP_MAX_SITES after the smoothed step: the LP relaxation still
    runs, without its plan search, and its site bounds feed the restriction to HiGHS."""
    _small_steps(monkeypatch, 24)
    monkeypatch.setattr(_exact, "LP_LARGE_SHARE", 0.4)
    calls = []
    real_lp = _exact._lp_fixing

    def spy(*args, **kwargs):
        calls.append(kwargs["plans"])
        return real_lp(*args, **kwargs)

    monkeypatch.setattr(_exact, "_lp_fixing", spy)
    e, ref, _, _ = _exact_and_independent(with_budget)
    assert calls == [False] and "LP relaxation on" in e.note
    assert e.status == "Optimal" and e.objective == pytest.approx(ref)
