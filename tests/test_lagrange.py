"""Bounds and reductions for ranking (issue #8): Lagrangian bound, site bounds, swaps, dominance.

Every expected value is a brute force over all subsets, a hand count, or an independent compact
HiGHS model built here (not through blankspot's own model builder).
"""

from __future__ import annotations

import itertools
import math

import highspy
import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from blankspot import _exact, _lagrange, _mclp
from blankspot._exact import exact_mclp
from blankspot._lagrange import dominated_sites, lagrangian_bound, swap_search
from blankspot._mclp import aggregate_demand, coverage_from_points, greedy_mclp
from tests.test_mclp import brute_force, covered_weight, random_instance

TOL = 1e-6


def best_with_site(D, w, j, *, k=None, costs=None, budget=None) -> float:
    """Best covered weight over plans that contain site ``j`` (-inf when none is feasible)."""
    m = D.shape[1]
    others = [i for i in range(m) if i != j]
    best = -np.inf
    top = m - 1 if k is None else min(k - 1, m - 1)
    for r in range(top + 1):
        for combo in itertools.combinations(others, r):
            cols = [j, *combo]
            if budget is not None and costs[cols].sum() > budget + 1e-9:
                continue
            best = max(best, float(w[D[:, cols].any(axis=1)].sum()))
    return best


def best_without_site(D, w, j, *, k=None, costs=None, budget=None) -> float:
    """Best covered weight over plans that leave site ``j`` out."""
    keep = [i for i in range(D.shape[1]) if i != j]
    return brute_force(
        D[:, keep], w, k=k, costs=None if costs is None else costs[keep], budget=budget
    )


def independent_optimum(
    D: sp.csc_matrix, w, *, k=None, costs=None, budget=None, integer: bool = True
) -> float:
    """The compact MCLP built row by row with highspy's own API, solved to optimality.

    ``integer=False`` solves its LP relaxation instead.
    """
    D = sp.csr_matrix(D)
    n, m = D.shape
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("mip_rel_gap", 0.0)
    inf = highspy.kHighsInf
    for _ in range(m):  # x_j binary
        h.addVar(0.0, 1.0)
    for _ in range(n):  # y_i in [0, 1]
        h.addVar(0.0, 1.0)
    if integer:
        h.changeColsIntegrality(
            m, np.arange(m, dtype=np.int32), np.full(m, highspy.HighsVarType.kInteger)
        )
    h.changeColsCost(n, np.arange(m, m + n, dtype=np.int32), -np.asarray(w, dtype=float))
    for i in range(n):  # y_i - sum_j a_ij x_j <= 0
        cols = D.indices[D.indptr[i] : D.indptr[i + 1]]
        idx = np.r_[m + i, cols].astype(np.int32)
        val = np.r_[1.0, -np.ones(len(cols))]
        h.addRow(-inf, 0.0, len(idx), idx, val)
    if k is not None:
        h.addRow(-inf, float(k), m, np.arange(m, dtype=np.int32), np.ones(m))
    if budget is not None:
        h.addRow(-inf, float(budget), m, np.arange(m, dtype=np.int32), np.asarray(costs, float))
    h.run()
    assert h.modelStatusToString(h.getModelStatus()) == "Optimal"
    return -float(h.getInfo().objective_function_value)


instances = st.tuples(
    st.integers(1, 25),  # demand
    st.integers(1, 8),  # sites
    st.floats(0.05, 0.6),  # density
    st.integers(1, 4),  # k
    st.integers(0, 2**32 - 1),  # seed
    st.booleans(),  # with a budget
)


def draw(inst):
    """A random 0/1 instance; with a budget, integer costs 1-5 and a budget 1-11."""
    n, m, density, k, seed, with_budget = inst
    rng = np.random.default_rng(seed)
    D, w = random_instance(rng, n, m, density)
    costs = budget = None
    if with_budget:
        costs = rng.integers(1, 6, m).astype(float)
        budget = float(rng.integers(1, 12))
    return D, w, k, costs, budget, rng


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(instances)
def test_lagrangian_bounds_never_below_the_optimum(inst):
    """The bound and every site's bound hold against brute force, with and without budget."""
    D, w, k, costs, budget, rng = draw(inst)
    A = sp.csc_matrix(D)
    m, with_budget = D.shape[1], budget is not None
    kk = None if with_budget and rng.random() < 0.5 else k
    best = brute_force(D, w, k=kk, costs=costs, budget=budget)
    g = greedy_mclp(A, w, k=kk, budget=budget, costs=costs)
    r = lagrangian_bound(A, w, k=kk, costs=costs, budget=budget, starts=(g.chosen,))
    assert r.bound >= best - TOL
    assert r.best_value <= best + TOL
    assert covered_weight(D, w, r.best_sites) == pytest.approx(r.best_value)
    for j in range(m):
        assert r.site_bound[j] >= best_with_site(D, w, j, k=kk, costs=costs, budget=budget) - TOL
        out = best_without_site(D, w, j, k=kk, costs=costs, budget=budget)
        assert r.site_out_bound[j] >= out - TOL
    # and the exact method agrees with brute force and recounts its own objective
    e = exact_mclp(A, w, k=kk, budget=budget, costs=costs)
    assert e.objective == pytest.approx(best)
    assert covered_weight(D, w, e.chosen) == pytest.approx(e.objective)
    assert e.upper_bound >= best - TOL


@pytest.mark.parametrize("seed", range(6))
def test_lagrangian_bound_is_never_below_the_lp_and_close_to_it(seed):
    """L(lam) >= LP optimum for every lam (weak duality); converged, within 1 % of it."""
    rng = np.random.default_rng(seed)
    demand = rng.uniform(0, 30_000, (800, 2))
    sites = rng.uniform(0, 30_000, (150, 2))
    A, w, _ = aggregate_demand(coverage_from_points(demand, sites, 3000.0), np.ones(800))
    A = sp.csc_matrix(A)
    lp = _mclp.lp_bound(A, w, k=8)
    r = lagrangian_bound(A, w, k=8, starts=(greedy_mclp(A, w, k=8).chosen,), max_iter=3000)
    assert r.bound >= lp - 1e-6 * lp
    assert r.bound <= lp * 1.01


def test_site_bound_by_hand():
    """A two-site instance: the bound is proved at 10 and the per-site bounds by hand."""
    # rows a, b (w 5 each) covered by site 0 only; row c (w 1) by site 1 only; k = 1
    D = np.array([[1, 0], [1, 0], [0, 1]], dtype=bool)
    w = np.array([5.0, 5.0, 1.0])
    r = lagrangian_bound(sp.csc_matrix(D), w, k=1, starts=(np.array([0]),), max_iter=500)
    # the LP optimum is 10 (x0 = 1); any plan containing site 1 covers 1 (<= its bound < 10)
    assert r.bound == pytest.approx(10.0, abs=1e-6)
    assert r.best_value == 10.0 and r.best_sites.tolist() == [0]
    assert r.stopped == "proved"
    assert r.site_bound[0] >= 10.0 - TOL and r.site_bound[1] >= 1.0 - TOL
    # reduced-cost fixing by hand: with lam = (5, 5, 1) the demand part is 0 and the site
    # values are c = (10, 1), L = 10; forcing site 1 in replaces the 1st (10): 10 - 10 + 1 = 1,
    # exactly what site 1 alone covers
    bound = _lagrange._site_bounds(10.0, np.array([10.0, 1.0]), 10.0, 1)
    assert bound.tolist() == [10.0, 1.0]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(instances, st.integers(0, 2**32 - 1))
def test_bounds_at_any_multipliers_hold(inst, lam_seed):
    """lagrangian_at: at arbitrary multipliers (as a solver's duals may be), the bound, each
    site's bound with it forced in and with it left out hold against brute force."""
    D, w, k, costs, budget, rng = draw(inst)
    kk = None if budget is not None and rng.random() < 0.5 else k
    lam_rng = np.random.default_rng(lam_seed)
    # some at 0, some at w, the rest in between; and a few outside [0, w] (clipped)
    lam = lam_rng.choice([0.0, 1.0, 0.5, 1.3, -0.2], len(w)) * w * lam_rng.uniform(0.5, 1, len(w))
    at = _lagrange.lagrangian_at(sp.csc_matrix(D), w, lam, k=kk, costs=costs, budget=budget)
    assert at.bound >= brute_force(D, w, k=kk, costs=costs, budget=budget) - TOL
    for j in range(D.shape[1]):
        assert at.site_bound[j] >= best_with_site(D, w, j, k=kk, costs=costs, budget=budget) - TOL
        out = best_without_site(D, w, j, k=kk, costs=costs, budget=budget)
        assert at.site_out_bound[j] >= out - TOL


def test_site_out_bounds_by_hand():
    """Leaving out a picked site costs its value, less the best unpicked one's."""
    r = np.array([10.0, 1.0, 0.5, -2.0])
    # k = 1: site 0 is picked; without it site 1 (1.0) takes its place: 20 - 10 + 1
    assert _lagrange._site_out_bounds(20.0, r, 1).tolist() == [11.0, 20.0, 20.0, 20.0]
    # k = 2: sites 0 and 1 picked, site 2 (0.5) replaces either
    assert _lagrange._site_out_bounds(20.0, r, 2).tolist() == [10.5, 19.5, 20.0, 20.0]
    # no k (budget only): every positive site is picked, none replaces it
    assert _lagrange._site_out_bounds(20.0, r, None).tolist() == [10.0, 19.0, 19.5, 20.0]
    # by hand on an instance: rows a, b (w 5) only site 0; row c (w 1) only site 1; k = 1;
    # at lam = w the site values are (10, 1): plans without site 0 cover at most 1
    D = sp.csc_matrix(np.array([[1, 0], [1, 0], [0, 1]], dtype=bool))
    w = np.array([5.0, 5.0, 1.0])
    at = _lagrange.lagrangian_at(D, w, w, k=1)
    assert (at.bound, at.site_out_bound.tolist()) == (10.0, [1.0, 10.0])


def clustered_instance(seed: int, with_budget: bool):
    """1,500 clustered weighted demand points x 160 sites, radius 4 km (as below)."""
    rng = np.random.default_rng(seed)
    centres = rng.uniform(0, 40_000, (30, 2))
    demand = centres[rng.integers(0, 30, 1500)] + rng.normal(0, 1500, (1500, 2))
    sites = rng.uniform(0, 40_000, (160, 2))
    w = rng.integers(1, 6, 1500).astype(float)
    A, w2, _ = aggregate_demand(coverage_from_points(demand, sites, 4000.0), w)
    costs = rng.uniform(1.0, 3.0, 160) if with_budget else None
    return sp.csc_matrix(A), w2, costs


def assert_fixing_is_safe(A, w, keep, fixed_in, *, ref, best_known, k, costs, budget):
    """The sites ``keep`` still hold an optimal plan (value ``ref``), fixing does reduce, and
    leaving out any site of ``fixed_in`` makes every plan worse than ``best_known``."""
    m = A.shape[1]
    assert 0 < len(keep) < m
    sub = None if costs is None else costs[keep]
    assert independent_optimum(A[:, keep], w, k=k, costs=sub, budget=budget) == (pytest.approx(ref))
    for j in fixed_in:
        others = np.flatnonzero(np.arange(m) != j)
        sub = None if costs is None else costs[others]
        assert independent_optimum(A[:, others], w, k=k, costs=sub, budget=budget) < best_known


@pytest.mark.parametrize("start", ["optimum value only", "optimum"])
@pytest.mark.parametrize(
    ("seed", "k", "with_budget"), [(88, 6, False), (17, 8, False), (88, None, True), (5, 7, True)]
)
def test_lp_fixing_keeps_an_optimal_plan(seed, k, with_budget, start):
    """Fixing with the LP's duals at the optimum's value (the plan protected or not): the
    sites left still hold an optimal plan, and a site fixed in is in every optimal plan."""
    A, w, costs = clustered_instance(seed, with_budget)
    budget = 12.0 if with_budget else None
    m = A.shape[1]
    ref = independent_optimum(A, w, k=k, costs=costs, budget=budget)
    plan = exact_mclp(A, w, k=k, budget=budget, costs=costs).chosen
    lower = _lagrange.plan_value(A, w, plan)
    if start != "optimum":  # the tightest case: optimal sites must survive on their bounds
        plan = np.zeros(0, dtype=np.int64)
    lp = _exact._lp_fixing(
        A, w, np.arange(m), k=k, budget=budget, costs=costs, lower=lower, protect=plan,
        deadline=math.inf, plans=start == "optimum",
    )  # fmt: skip
    assert lp.bound >= ref - TOL
    assert lp.bound <= _mclp.lp_bound(A, w, k=k, budget=budget, costs=costs) + 1e-4 * ref
    assert set(lp.fixed_in.tolist()) <= set(lp.keep.tolist())
    assert_fixing_is_safe(
        A, w, lp.keep, lp.fixed_in, ref=ref, best_known=max(lower, lp.best_value),
        k=k, costs=costs, budget=budget,
    )  # fmt: skip
    assert lp.best_value <= ref + TOL
    if start == "optimum":
        assert _lagrange.plan_value(A, w, lp.best_sites) == pytest.approx(lp.best_value)
    if start == "optimum" and k is not None:
        assert len(lp.fixed_in)  # these LPs are integral: the optimum's sites are fixed in


@pytest.mark.parametrize("with_budget", [False, True])
def test_exact_through_the_lp_step_equals_the_independent_model(monkeypatch, with_budget):
    """A Lagrangian cut to 3 steps leaves the work to the LP fixing and HiGHS: same optimum."""
    real = _lagrange.lagrangian_bound

    def short(*args, **kwargs):
        return real(*args, **{**kwargs, "max_iter": 3})

    monkeypatch.setattr(_lagrange, "lagrangian_bound", short)
    A, w, costs = clustered_instance(17, with_budget)
    budget = 12.0 if with_budget else None
    k = None if with_budget else 8
    e = exact_mclp(A, w, k=k, budget=budget, costs=costs)
    ref = independent_optimum(A, w, k=k, costs=costs, budget=budget)
    assert "LP relaxation on" in e.note and "3 subgradient steps" in e.note
    assert e.status == "Optimal" and e.objective == pytest.approx(ref)
    assert _lagrange.plan_value(A, w, e.chosen) == pytest.approx(ref)


def test_exact_notes_the_reductions():
    rng = np.random.default_rng(5)
    demand = rng.uniform(0, 50_000, (3000, 2))
    sites = rng.uniform(0, 50_000, (400, 2))
    A, w, _ = aggregate_demand(coverage_from_points(demand, sites, 4000.0), np.ones(3000))
    e = exact_mclp(A, w, k=12)
    assert e.status == "Optimal"
    assert "Lagrangian bound" in e.note
    if "after reduced-cost fixing" in e.note:
        kept = int(e.note.split("-> ")[1].split(" after")[0].replace(",", ""))
        assert kept < 400


@settings(max_examples=50, deadline=None)
@given(instances)
def test_swap_search_is_feasible_and_never_worse(inst):
    D, w, k, costs, budget, _ = draw(inst)
    A = sp.csc_matrix(D)
    m, with_budget = D.shape[1], budget is not None
    g = greedy_mclp(A, w, k=k, budget=budget, costs=costs)
    sites, value = swap_search(A, w, g.chosen, k=k, costs=costs, budget=budget)
    assert value >= g.objective - TOL
    assert value == pytest.approx(covered_weight(D, w, sites))
    assert len(sites) <= k and len(set(sites.tolist())) == len(sites)
    if with_budget:
        assert costs[sites].sum() <= budget + 1e-9
    # a local optimum: no single swap or addition improves it (checked by brute force)
    for j in range(m):
        if j in sites:
            continue
        for s in [*sites.tolist(), None]:
            new = [x for x in sites.tolist() if x != s] + [j]
            if len(new) > k or (with_budget and costs[new].sum() > budget + 1e-9):
                continue
            assert covered_weight(D, w, np.array(new)) <= value + TOL


def test_dominated_sites_by_hand():
    # site 0 covers {a}, 1 covers {a, b}, 2 covers {a, b} (twin of 1), 3 covers {c}
    D = np.array([[1, 1, 1, 0], [0, 1, 1, 0], [0, 0, 0, 1]], dtype=bool)
    A = sp.csc_matrix(D)
    assert dominated_sites(A).tolist() == [True, False, True, False]  # twins: keep index 1
    # site 1 dearer than 2: 2 dominates 1 (same rows, cheaper), 0 is dominated by 2
    assert dominated_sites(A, costs=np.array([1.0, 3.0, 2.0, 1.0])).tolist() == [
        False,  # site 0 is cheaper than both: it stays
        True,
        False,
        False,
    ]
    protect = np.array([True, False, False, False])
    assert dominated_sites(A, protect=protect).tolist() == [False, False, True, False]


@settings(max_examples=50, deadline=None)
@given(instances)
def test_removing_dominated_sites_keeps_the_optimum(inst):
    n, m, density, k, seed, with_budget = inst
    rng = np.random.default_rng(seed)
    D, w = random_instance(rng, n, m, density)
    if rng.random() < 0.5 and m > 1:  # make some columns subsets / twins of others
        D[:, 0] = D[:, 1] & (rng.random(n) < 0.7)
    costs = rng.integers(1, 4, m).astype(float) if with_budget else None
    budget = float(rng.integers(1, 9)) if with_budget else None
    dom = dominated_sites(sp.csc_matrix(D), costs=costs)
    keep = np.flatnonzero(~dom)
    full = brute_force(D, w, k=k, costs=costs, budget=budget)
    reduced = brute_force(
        D[:, keep], w, k=k, costs=None if costs is None else costs[keep], budget=budget
    )
    assert reduced == pytest.approx(full)


@pytest.mark.parametrize(("k", "with_budget"), [(6, False), (10, False), (None, True), (7, True)])
def test_exact_equals_an_independent_compact_model_mid_size(k, with_budget):
    """Clustered demand, overlapping sites: the reductions and HiGHS find the same optimum."""
    A, w2, costs = clustered_instance(88, with_budget)
    budget = 12.0 if with_budget else None
    e = exact_mclp(A, w2, k=k, budget=budget, costs=costs)
    ref = independent_optimum(A, w2, k=k, costs=costs, budget=budget)
    assert e.status == "Optimal" and e.gap == 0.0
    assert e.objective == pytest.approx(ref)
    assert e.upper_bound == pytest.approx(ref)
    assert _lagrange.plan_value(A, w2, e.chosen) == pytest.approx(ref)
    if k is not None:
        assert len(e.chosen) <= k
    if with_budget:
        assert costs[e.chosen].sum() <= budget + 1e-9
    assert "Lagrangian bound" in e.note


def test_greedy_and_exact_agree_on_ties_by_index():
    """Two identical sites: both methods take the smaller index (ids are sorted upstream)."""
    D = np.array([[1, 1, 0], [1, 1, 0], [0, 0, 1]], dtype=bool)
    A = sp.csc_matrix(D)
    w = np.array([1.0, 1.0, 1.0])
    assert greedy_mclp(A, w, k=1).chosen.tolist() == [0]
    assert exact_mclp(A, w, k=1).chosen.tolist() == [0]
    assert sorted(exact_mclp(A, w, k=2).chosen.tolist()) == [0, 2]


def test_exact_cut_short_returns_a_plan_and_a_valid_gap():
    rng = np.random.default_rng(3)
    demand = rng.uniform(0, 60_000, (6000, 2))
    sites = rng.uniform(0, 60_000, (900, 2))
    A, w, _ = aggregate_demand(coverage_from_points(demand, sites, 5000.0), np.ones(6000))
    g = greedy_mclp(A, w, k=25)
    r = exact_mclp(A, w, k=25, time_limit_s=0.5)  # how long it took: benchmarks/, not here
    assert r.objective >= g.objective
    assert r.upper_bound <= g.upper_bound + TOL
    assert r.upper_bound >= r.objective


@pytest.mark.parametrize("with_budget", [False, True])
def test_exact_proves_the_optimum_when_the_heuristics_miss_it(monkeypatch, with_budget):
    """Swaps switched off: the reduced model alone must still reach the independent optimum."""

    def no_swaps(A, w, start, **kwargs):
        sites = np.unique(np.asarray(start, dtype=np.int64))
        return sites, _lagrange.plan_value(A, w, sites)

    monkeypatch.setattr(_lagrange, "swap_search", no_swaps)
    A, w2, costs = clustered_instance(17, with_budget)
    budget = 12.0 if with_budget else None
    k = None if with_budget else 8
    e = exact_mclp(A, w2, k=k, budget=budget, costs=costs)
    ref = independent_optimum(A, w2, k=k, costs=costs, budget=budget)
    assert e.status == "Optimal" and e.objective == pytest.approx(ref)
    assert greedy_mclp(A, w2, k=k, budget=budget, costs=costs).objective < ref  # a real gap
