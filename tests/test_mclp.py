"""The numeric core of site ranking, checked against brute force, spopt and hand counts.

Expected values come from (a) hand counts on matrices small enough to read, (b) brute-force
enumeration of every site subset (itertools), (c) spopt's MCLP solved by a different
modelling layer (PuLP), (d) scipy's dense ``cdist`` for the coverage matrix.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.spatial.distance import cdist

from blankspot._exact import exact_mclp
from blankspot._mclp import (
    GREEDY_FACTOR,
    aggregate_demand,
    coverage_from_points,
    greedy_mclp,
    lp_bound,
    order_by_marginal,
)

TOL = 1e-7


def brute_force(D: np.ndarray, w: np.ndarray, *, k=None, costs=None, budget=None) -> float:
    """Best covered weight over every subset of sites (size <= k, cost <= budget)."""
    m = D.shape[1]
    best = 0.0
    sizes = range((m if k is None else min(k, m)) + 1)
    for r in sizes:
        for combo in itertools.combinations(range(m), r):
            cols = list(combo)
            if budget is not None and costs[cols].sum() > budget + 1e-9:
                continue
            best = max(best, float(w[D[:, cols].any(axis=1)].sum()))
    return best


def covered_weight(D: np.ndarray, w: np.ndarray, chosen: np.ndarray) -> float:
    return float(w[D[:, list(chosen)].any(axis=1)].sum()) if len(chosen) else 0.0


def random_instance(rng: np.random.Generator, n: int, m: int, density: float):
    D = rng.random((n, m)) < density
    w = rng.integers(1, 10, n).astype(float)
    return D, w


# --------------------------------------------------------------------------- coverage matrix


def test_coverage_from_points_by_hand():
    demand = np.array([[0.0, 0.0], [3.0, 0.0], [0.0, 4.0], [10.0, 10.0]])
    sites = np.array([[0.0, 0.0], [3.0, 4.0]])
    # site 0, r = 3: d0 = 0, d1 = 3 (on the circle: covered), d2 = 4, d3 = 14.1
    # site 1, r = 5: d0 = 5 (on the circle), d1 = 4, d2 = 3, d3 = 9.2
    A = coverage_from_points(demand, sites, np.array([3.0, 5.0]))
    assert sp.issparse(A)
    assert A.toarray().tolist() == [[True, True], [True, True], [False, True], [False, False]]


@pytest.mark.parametrize("n_radii", [1, 3, 40])  # 40 distinct radii: the query_ball_point path
def test_coverage_from_points_matches_dense_cdist(n_radii):
    rng = np.random.default_rng(7)
    demand = rng.uniform(0, 1000, (400, 2))
    sites = rng.uniform(0, 1000, (60, 2))
    radius = rng.choice(np.linspace(50, 250, n_radii), size=60)
    expected = cdist(demand, sites) <= radius[None, :]
    A = coverage_from_points(demand, sites, radius)
    np.testing.assert_array_equal(A.toarray(), expected)
    assert A.has_sorted_indices


def test_coverage_from_points_empty():
    A = coverage_from_points(np.empty((0, 2)), np.array([[0.0, 0.0]]), 5.0)
    assert A.shape == (0, 1)
    assert A.nnz == 0


# --------------------------------------------------------------------------- aggregation


def test_aggregate_demand_by_hand():
    # rows 0 and 2 are covered by {0, 2}; row 1 by nobody; row 3 by {1}; row 4 by {0, 2}
    D = np.array(
        [[1, 0, 1], [0, 0, 0], [1, 0, 1], [0, 1, 0], [1, 0, 1]],
        dtype=bool,
    )
    w = np.array([1.0, 7.0, 2.0, 4.0, 0.5])
    A2, w2, group = aggregate_demand(sp.csr_matrix(D), w)
    assert A2.toarray().astype(int).tolist() == [[1, 0, 1], [0, 1, 0]]
    assert w2.tolist() == [3.5, 4.0]  # 1 + 2 + 0.5, and 4
    assert group.tolist() == [0, -1, 0, 1, 0]


def test_aggregate_demand_keeps_every_optimum_and_gain():
    rng = np.random.default_rng(11)
    # few sites and sparse coverage: many demand rows repeat the same pattern
    D, w = random_instance(rng, 300, 8, 0.2)
    A = sp.csr_matrix(D)
    A2, w2, group = aggregate_demand(A, w)
    assert A2.shape[0] < 300
    # the dropped weight is exactly the demand no site covers
    assert math.isclose(w2.sum() + w[group < 0].sum(), w.sum())
    for k in (1, 2, 3):
        g_full = greedy_mclp(A, w, k=k)
        g_agg = greedy_mclp(A2, w2, k=k)
        assert g_full.chosen.tolist() == g_agg.chosen.tolist()
        np.testing.assert_allclose(g_full.gains, g_agg.gains)
        assert math.isclose(exact_mclp(A2, w2, k=k).objective, brute_force(D, w, k=k))


# --------------------------------------------------------------------------- greedy by hand


def test_greedy_by_hand_and_ties_by_index():
    # site 0 covers {0, 1}, site 1 covers {2, 3}, site 2 covers {0, 1, 2}
    D = np.array([[1, 0, 1], [1, 0, 1], [0, 1, 1], [0, 1, 0]], dtype=bool)
    r = greedy_mclp(sp.csc_matrix(D), np.ones(4))
    # first site 2 (3 new); then sites 0 (0 new) and 1 (1 new: demand 3) -> site 1; then stop
    assert r.chosen.tolist() == [2, 1]
    assert r.gains.tolist() == [3.0, 1.0]
    assert r.objective == 4.0
    # equal gains: site 0 {0}, site 1 {1}: the smaller index wins
    D2 = np.eye(2, dtype=bool)
    assert greedy_mclp(sp.csc_matrix(D2), np.ones(2), k=1).chosen.tolist() == [0]


def test_greedy_trap_and_online_bound_by_hand():
    # demand a,b,c,d,e,f = rows 0..5. Site 0 covers a,b,c,d; site 1 a,b,e; site 2 c,d,f.
    D = np.array(
        [[1, 1, 0], [1, 1, 0], [1, 0, 1], [1, 0, 1], [0, 1, 0], [0, 0, 1]],
        dtype=bool,
    )
    A = sp.csc_matrix(D)
    g = greedy_mclp(A, np.ones(6), k=2)
    # greedy: site 0 (4), then site 1 or 2 add 1 each -> site 1 (lower index): 5
    assert g.chosen.tolist() == [0, 1]
    assert g.objective == 5.0
    # bound: min over (before: 4 + 3 = 7; after site 0: 4 + 1 + 1 = 6; after both: 5 + 1 = 6;
    # 5 / (1 - 1/e) = 7.9) = 6
    assert g.upper_bound == 6.0
    assert math.isclose(g.gap, 1 / 6)
    e = exact_mclp(A, np.ones(6), k=2)
    # optimum: sites 1 + 2 cover all 6; ordered by marginal gain: 3 and 3, tie -> site 1 first
    assert e.chosen.tolist() == [1, 2]
    assert e.gains.tolist() == [3.0, 3.0]
    assert e.objective == 6.0 and e.upper_bound == 6.0 and e.gap == 0.0


def test_budget_best_single_site_safeguard_by_hand():
    # site 0: cost 1, covers demand 0 (weight 2) -> 2 per unit cost
    # site 1: cost 10, covers demand 1 (weight 10) -> 1 per unit cost
    D = np.array([[1, 0], [0, 1]], dtype=bool)
    w = np.array([2.0, 10.0])
    costs = np.array([1.0, 10.0])
    r = greedy_mclp(sp.csc_matrix(D), w, budget=10.0, costs=costs)
    # cost-benefit greedy takes site 0 (2), then site 1 no longer fits (9 left) -> 2;
    # the plain greedy's first pick is the best single affordable site (site 1, 10)
    assert r.chosen.tolist() == [1]
    assert r.objective == 10.0
    assert r.status == "greedy (largest gain)"
    assert exact_mclp(sp.csc_matrix(D), w, budget=10.0, costs=costs).objective == 10.0


def test_budget_plain_gain_greedy_beats_cost_benefit_by_hand():
    # site 0: cost 1, covers row 0 (weight 2)        -> 2 per unit cost
    # site 1: cost 5, covers rows 1-2 (weight 3 + 3) -> 1.2 per unit cost
    # site 2: cost 5, covers rows 3-4 (weight 3 + 3) -> 1.2 per unit cost
    D = np.array(
        [[1, 0, 0], [0, 1, 0], [0, 1, 0], [0, 0, 1], [0, 0, 1]],
        dtype=bool,
    )
    w = np.array([2.0, 3.0, 3.0, 3.0, 3.0])
    costs = np.array([1.0, 5.0, 5.0])
    A = sp.csc_matrix(D)
    # cost-benefit greedy: site 0 (2, 9 left), site 1 (6, 4 left), site 2 no longer fits: 8.
    # plain greedy: site 1 (6, 5 left), site 2 (6, 0 left), site 0 no longer fits: 12.
    # best single site: 6. Every subset within 10: {1, 2} = 12 is the best.
    assert brute_force(D, w, costs=costs, budget=10.0) == 12.0
    r = greedy_mclp(A, w, budget=10.0, costs=costs)
    assert r.chosen.tolist() == [1, 2]
    assert r.gains.tolist() == [6.0, 6.0]
    assert r.objective == 12.0
    assert r.status == "greedy (largest gain)"
    assert r.upper_bound >= 12.0
    # with k = 2 (or 1) the budget cannot bind (the dearest two cost 5 + 5 = 10): plain
    # greedy for k, the same plan (its first site only for k = 1)
    assert greedy_mclp(A, w, k=2, budget=10.0, costs=costs).chosen.tolist() == [1, 2]
    assert greedy_mclp(A, w, k=1, budget=10.0, costs=costs).chosen.tolist() == [1]
    # a budget of 6: cost-benefit 0 then 1 (2 + 6 = 8, cost 6); plain 1 (6, then 0 fits: 8)
    # -> the same value: the tie goes to the cost-benefit plan (order 0, 1)
    tie = greedy_mclp(A, w, budget=6.0, costs=costs)
    assert tie.chosen.tolist() == [0, 1]
    assert tie.objective == 8.0 and tie.status == "greedy"


# The rank_sites fixture world (tests/test_prioritise.py): rows b03 b04 b05 b06 b07 b09;
# A covers {b03, b04} (cost 1), B {b05, b06, b07} (cost 3), C {b07, b09} (cost 1),
# D {b04} (cost 0.5).
FOUR_SITES = np.array(
    [[1, 0, 0, 0], [1, 0, 0, 1], [0, 1, 0, 0], [0, 1, 0, 0], [0, 1, 1, 0], [0, 0, 1, 0]],
    dtype=bool,
)
FOUR_COSTS = np.array([1.0, 3.0, 1.0, 0.5])


@pytest.mark.parametrize("budget", [4.0, 6.0, 1e15])
def test_non_binding_budget_keeps_the_k_plan_by_hand(budget):
    A = sp.csc_matrix(FOUR_SITES)
    # k = 2 without a budget: B (3), then A adds 2 (b03 b04), C adds 1 (b09) -> [B, A] = 5.
    # The two dearest sites cost 3 + 1 = 4 <= budget: no 2-site plan can exceed it.
    # (Picking by gain per cost would give A (2/1, ties with C and D at 2 -> index),
    # then C (2/1) = 4.)
    r = greedy_mclp(A, np.ones(6), k=2, budget=budget, costs=FOUR_COSTS)
    assert r.chosen.tolist() == [1, 0]
    assert r.gains.tolist() == [3.0, 2.0]
    assert r.objective == 5.0 and r.status == "greedy"
    assert brute_force(FOUR_SITES, np.ones(6), k=2) == 5.0
    # a little less and the budget binds. Budget 3.99: cost-benefit A, C (4, cost 2);
    # plain B (3, 0.99 left: A and C no longer fit), then D (b04: 1) = 4. A tie: A, C
    tight = greedy_mclp(A, np.ones(6), k=2, budget=3.99, costs=FOUR_COSTS)
    assert tight.chosen.tolist() == [0, 2] and tight.objective == 4.0


@pytest.mark.parametrize("seed", range(20))
def test_non_binding_budget_keeps_the_k_plan_random(seed):
    rng = np.random.default_rng(300 + seed)
    n, m = int(rng.integers(5, 40)), int(rng.integers(3, 15))
    k = int(rng.integers(1, 6))
    D, w = random_instance(rng, n, m, rng.uniform(0.1, 0.5))
    costs = rng.integers(1, 6, m).astype(float)
    A = sp.csc_matrix(D)
    plain = greedy_mclp(A, w, k=k)
    # the k dearest sites fit together (the brief's "sum of the k most expensive"), and
    # k times the dearest site
    for budget in (np.sort(costs)[::-1][:k].sum(), k * costs.max(), 1e15):
        r = greedy_mclp(A, w, k=k, budget=float(budget), costs=costs)
        assert r.chosen.tolist() == plain.chosen.tolist()
        assert r.gains.tolist() == plain.gains.tolist()
        assert r.upper_bound >= brute_force(D, w, k=k) - TOL


def test_free_sites_go_by_gain_by_hand():
    # 101 rows; site 0 (free) covers row 0, site 1 (free) covers all 101, site 2 (cost 5)
    # covers row 100.
    D = np.zeros((101, 3), dtype=bool)
    D[0, 0] = True
    D[:, 1] = True
    D[100, 2] = True
    A = sp.csc_matrix(D)
    costs = np.array([0.0, 0.0, 5.0])
    # site 1 covers everything: it alone is the plan (gain 101), whatever the budget
    for budget in (10.0, 4.0):  # 10: cannot bind (0 + 0 + 5); 4: binds (site 2 unaffordable)
        r = greedy_mclp(A, np.ones(101), budget=budget, costs=costs)
        assert r.chosen.tolist() == [1]
        assert r.gains.tolist() == [101.0]
    # site 1 now covers rows 1..100: free sites 1 (100) and 0 (1) both go in, the larger
    # gain first; site 2 (row 100) then adds nothing
    D[0, 1] = False
    A = sp.csc_matrix(D)
    r = greedy_mclp(A, np.ones(101), budget=4.0, costs=costs)
    assert r.chosen.tolist() == [1, 0]
    assert r.gains.tolist() == [100.0, 1.0]
    o = order_by_marginal(A, np.ones(101), np.array([0, 1, 2]), costs=costs)
    assert o.chosen.tolist() == [1, 0]
    assert o.gains.tolist() == [100.0, 1.0]
    e = exact_mclp(A, np.ones(101), budget=4.0, costs=costs)
    assert e.chosen.tolist() == [1, 0] and e.objective == 101.0


def test_budget_exactly_spent_is_not_lost_to_rounding():
    # three sites of cost 0.1 each and a budget of 0.3: 0.3 - 0.1 - 0.1 < 0.1 in floating point
    D = np.eye(3, dtype=bool)
    r = greedy_mclp(sp.csc_matrix(D), np.ones(3), budget=0.3, costs=np.full(3, 0.1))
    assert r.objective == 3.0


def test_order_by_marginal_by_hand():
    # site 0 covers {0}; site 1 covers {1, 2}; site 2 covers {0, 1}
    D = np.array([[1, 0, 1], [0, 1, 1], [0, 1, 0]], dtype=bool)
    r = order_by_marginal(sp.csc_matrix(D), np.ones(3), np.array([0, 1, 2]))
    # site 1 (2), then site 0 (1: demand 0) before site 2 (1: demand 0) by index; site 2 adds 0
    assert r.chosen.tolist() == [1, 0]
    assert r.gains.tolist() == [2.0, 1.0]


def test_lp_bound_above_integer_optimum_by_hand():
    # 4 sites; one demand point per pair of sites (6 points), covered by both sites of its pair.
    pairs = list(itertools.combinations(range(4), 2))
    D = np.zeros((6, 4), dtype=bool)
    for i, (a, b) in enumerate(pairs):
        D[i, [a, b]] = True
    A = sp.csc_matrix(D)
    # k = 2: two sites reach 3 + 3 - 1 (their shared pair) = 5 points
    assert brute_force(D, np.ones(6), k=2) == 5.0
    assert exact_mclp(A, np.ones(6), k=2).objective == 5.0
    # LP: x = 1/2 everywhere covers every point fully (1/2 + 1/2) -> 6
    assert lp_bound(A, np.ones(6), k=2) == pytest.approx(6.0)
    # k = 1: any site reaches 3; the LP cannot do better (x = 1/4: each point 1/2 -> 3)
    assert lp_bound(A, np.ones(6), k=1) == pytest.approx(3.0)


def test_exact_time_limit_returns_incumbent_with_gap():
    rng = np.random.default_rng(3)
    demand = rng.uniform(0, 60_000, (3000, 2))
    sites = rng.uniform(0, 60_000, (500, 2))
    A = coverage_from_points(demand, sites, 5000.0)
    A2, w2, _ = aggregate_demand(A, np.ones(3000))
    r = exact_mclp(A2, w2, k=15, time_limit_s=1e-6)
    g = greedy_mclp(A2, w2, k=15)
    assert r.status == "Time limit reached"
    assert r.objective >= g.objective  # at least the greedy warm start
    assert r.upper_bound <= g.upper_bound + TOL  # never worse than greedy's bound
    assert r.gap > 0


def test_bad_numeric_input():
    A = sp.csc_matrix(np.eye(2, dtype=bool))
    with pytest.raises(ValueError, match="w has shape"):
        greedy_mclp(A, np.ones(3))
    with pytest.raises(ValueError, match="finite and >= 0"):
        greedy_mclp(A, np.array([1.0, -1.0]))
    with pytest.raises(ValueError, match="needs k or budget"):
        exact_mclp(A, np.ones(2))


# --------------------------------------------------------------------------- brute force


@pytest.mark.parametrize("seed", range(25))
def test_exact_equals_brute_force_for_k(seed):
    rng = np.random.default_rng(seed)
    n, m = int(rng.integers(5, 30)), int(rng.integers(3, 9))
    k = int(rng.integers(1, 5))
    D, w = random_instance(rng, n, m, rng.uniform(0.1, 0.5))
    A = sp.csc_matrix(D)
    best = brute_force(D, w, k=k)
    e = exact_mclp(A, w, k=k)
    g = greedy_mclp(A, w, k=k)
    assert e.objective == pytest.approx(best)
    assert covered_weight(D, w, e.chosen) == pytest.approx(best)
    assert len(e.chosen) <= k
    assert e.upper_bound >= best - TOL
    assert g.upper_bound >= best - TOL
    assert lp_bound(A, w, k=k) >= best - TOL
    assert g.objective >= GREEDY_FACTOR * best - TOL


@pytest.mark.parametrize("seed", range(25))
def test_exact_equals_brute_force_for_budget(seed):
    rng = np.random.default_rng(100 + seed)
    n, m = int(rng.integers(5, 25)), int(rng.integers(3, 9))
    D, w = random_instance(rng, n, m, rng.uniform(0.1, 0.5))
    costs = rng.integers(1, 6, m).astype(float)
    budget = float(rng.integers(1, 12))
    A = sp.csc_matrix(D)
    best = brute_force(D, w, costs=costs, budget=budget)
    e = exact_mclp(A, w, budget=budget, costs=costs)
    g = greedy_mclp(A, w, budget=budget, costs=costs)
    assert e.objective == pytest.approx(best)
    assert costs[e.chosen].sum() <= budget and costs[g.chosen].sum() <= budget
    assert e.upper_bound >= best - TOL
    assert g.upper_bound >= best - TOL
    assert lp_bound(A, w, budget=budget, costs=costs) >= best - TOL
    # cost-benefit greedy + best single site: at least (1 - 1/e) / 2 of the optimum
    assert g.objective >= 0.5 * GREEDY_FACTOR * best - TOL


# --------------------------------------------------------------------------- properties

instances = st.tuples(
    st.integers(1, 40),  # demand
    st.integers(1, 10),  # sites
    st.floats(0.05, 0.6),  # density
    st.integers(1, 6),  # k
    st.integers(0, 2**32 - 1),  # seed
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(instances)
def test_greedy_is_within_1_minus_1_over_e_of_exact(inst):
    n, m, density, k, seed = inst
    rng = np.random.default_rng(seed)
    D, w = random_instance(rng, n, m, density)
    A = sp.csc_matrix(D)
    g = greedy_mclp(A, w, k=k)
    e = exact_mclp(A, w, k=k)
    assert g.objective >= GREEDY_FACTOR * e.objective - TOL
    assert e.objective >= g.objective - TOL
    assert g.upper_bound >= e.objective - TOL
    # the ranked list: gains non-increasing for unit costs, summing to the objective,
    # and equal to what the chosen sites really cover
    assert np.all(np.diff(g.gains) <= TOL)
    assert np.all(np.diff(e.gains) <= TOL)
    assert g.gains.sum() == pytest.approx(g.objective)
    assert e.gains.sum() == pytest.approx(e.objective)
    assert covered_weight(D, w, g.chosen) == pytest.approx(g.objective)
    assert np.all(g.gains > 0) and np.all(e.gains > 0)


@settings(max_examples=40, deadline=None)
@given(instances)
def test_greedy_is_deterministic_and_order_free(inst):
    n, m, density, k, seed = inst
    rng = np.random.default_rng(seed)
    D, w = random_instance(rng, n, m, density)
    a = greedy_mclp(sp.csc_matrix(D), w, k=k)
    b = greedy_mclp(sp.csc_matrix(D), w, k=k)
    assert a.chosen.tolist() == b.chosen.tolist()
    # shuffling demand rows cannot change the plan (integer weights: exact sums)
    perm = rng.permutation(n)
    c = greedy_mclp(sp.csc_matrix(D[perm]), w[perm], k=k)
    assert a.chosen.tolist() == c.chosen.tolist()


# --------------------------------------------------------------------------- spopt


# PuLP 3.3 warns about its own upcoming 4.0 API inside spopt: not ours
@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_exact_equals_spopt_mclp_mid_size():
    """Same instance through spopt (PuLP model, HiGHS or CBC): same optimum."""
    pulp = pytest.importorskip("pulp")
    spopt_locate = pytest.importorskip("spopt.locate")
    rng = np.random.default_rng(2024)
    demand = rng.uniform(0, 20_000, (400, 2))
    sites = rng.uniform(0, 20_000, (80, 2))
    w = rng.integers(1, 11, 400).astype(float)
    radius, k = 2500.0, 6
    available = pulp.listSolvers(onlyAvailable=True)
    solver = pulp.HiGHS(msg=False) if "HiGHS" in available else pulp.PULP_CBC_CMD(msg=False)
    model = spopt_locate.MCLP.from_cost_matrix(
        cdist(demand, sites), w, service_radius=radius, p_facilities=k
    ).solve(solver)
    spopt_value = float(pulp.value(model.problem.objective))

    A = coverage_from_points(demand, sites, radius)
    A2, w2, _ = aggregate_demand(A, w)
    e = exact_mclp(A2, w2, k=k)
    assert e.status == "Optimal"
    assert e.objective == pytest.approx(spopt_value)
    # and spopt's chosen sites cover the same weight on our matrix
    spopt_sites = [j for j, x in enumerate(model.fac_vars) if x.value() > 0.5]
    assert covered_weight(A.toarray(), w, np.array(spopt_sites)) == pytest.approx(spopt_value)
