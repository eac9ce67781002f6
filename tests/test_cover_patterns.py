"""Coverage patterns without the pairs (blankspot._cover_patterns) and their use in ranking."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from blankspot import _demand, _mclp
from blankspot._cover_patterns import circle_patterns


def _brute_patterns(d, s, chord, w):
    """Patterns by hand: dense distances, then sets of sites in order of first appearance."""
    d2 = ((d[:, None, :] - s[None, :, :]) ** 2).sum(axis=-1)
    reach = d2 <= chord[None, :] ** 2
    seen: dict[tuple[int, ...], int] = {}
    rows: list[tuple[int, ...]] = []
    weights: list[float] = []
    group = []
    for i in range(len(d)):
        key = tuple(np.flatnonzero(reach[i]).tolist())
        if not key:
            group.append(-1)
            continue
        if key not in seen:
            seen[key] = len(rows)
            rows.append(key)
            weights.append(0.0)
        weights[seen[key]] += w[i]
        group.append(seen[key])
    return rows, weights, group, int(reach.sum())


def _rows_of(A: sp.spmatrix) -> list[tuple[int, ...]]:
    A = sp.csr_matrix(A)
    A.sort_indices()
    return [tuple(A.indices[A.indptr[i] : A.indptr[i + 1]].tolist()) for i in range(A.shape[0])]


@pytest.mark.parametrize("seed", range(8))
def test_patterns_equal_brute_force(seed):
    rng = np.random.default_rng(seed)
    n, m = int(rng.integers(1, 200)), int(rng.integers(1, 40))
    # on a 10 m lattice many points sit exactly one chord (10, 20) from a site
    d = np.round(rng.uniform(0, 100, (n, 3)) / 10) * 10
    s = np.round(rng.uniform(0, 100, (m, 3)) / 10) * 10
    chord = rng.choice([10.0, 20.0, 35.0], m)
    w = rng.integers(1, 5, n).astype(float)
    rows, weights, group, pairs = _brute_patterns(d, s, chord, w)
    A, w_agg, g, n_pairs = circle_patterns(d, w, s, chord)
    assert _rows_of(A) == rows
    assert w_agg.tolist() == weights
    assert g.tolist() == group
    assert n_pairs == pairs
    assert A.shape == (len(rows), m) and A.dtype == bool and A.format == "csc"
    assert A.has_sorted_indices and all(
        np.all(np.diff(c) > 0) for c in np.split(A.indices, A.indptr[1:-1])
    )


def test_a_point_exactly_one_chord_away_is_reached():
    s = np.array([[0.0, 0.0, 0.0]])
    d = np.array([[3.0, 4.0, 0.0], [3.0, 4.000001, 0.0], [-6.0, 0.0, 8.0]])
    _, _, g, _ = circle_patterns(d, np.ones(3), s, np.array([5.0]))
    assert g.tolist() == [0, -1, -1]  # 3-4-5 is in; a micrometre further is out
    # the KD-tree's test agrees
    assert _mclp.coverage_from_points(d, s, 5.0).toarray().ravel().tolist() == [1, 0, 0]
    _A, w, g, pairs = circle_patterns(d, np.ones(3), s, np.array([10.0]))
    assert g.tolist() == [0, 0, 0] and w.tolist() == [3.0] and pairs == 3


def test_far_points_and_mixed_radii():
    # one wide site makes the cubes wide; far points fall outside the grid on every side
    s = np.array([[0.0, 0, 0], [1000, 0, 0], [1010, 0, 0]])
    chord = np.array([500.0, 5.0, 5.0])
    d = np.array([[400.0, 0, 0], [1004, 0, 0], [1006, 0, 0], [-1e7, 5e6, 0], [3e6, -3e6, 9e6]])
    A, _w, g, pairs = circle_patterns(d, np.ones(5), s, chord)
    assert _rows_of(A) == [(0,), (1,), (2,)]
    assert g.tolist() == [0, 1, 2, -1, -1] and pairs == 3


def test_hash_collisions_never_merge_different_sets():
    # all-zero keys: every set of the same size has the same signature
    rng = np.random.default_rng(3)
    d = rng.uniform(0, 50, (120, 3))
    s = rng.uniform(0, 50, (15, 3))
    chord = np.full(15, 18.0)
    w = np.ones(120)
    zero = np.zeros(15, dtype=np.uint64)
    A, w_agg, g, _ = circle_patterns(d, w, s, chord, keys=(zero, zero))
    rows, _, group, _ = _brute_patterns(d, s, chord, w)
    live = np.flatnonzero(g >= 0)
    assert live.tolist() == [i for i, x in enumerate(group) if x >= 0]
    true_rows = [rows[group[i]] for i in live]
    assert len(set(true_rows)) > len({len(r) for r in true_rows})  # collisions happened
    assert [_rows_of(A)[g[i]] for i in live] == true_rows  # each point keeps its own set
    # weights add up per pattern
    assert w_agg.tolist() == np.bincount(g[live], minlength=A.shape[0]).astype(float).tolist()


def test_no_demand_or_no_sites():
    A, _, g, pairs = circle_patterns(np.empty((0, 3)), np.zeros(0), np.ones((2, 3)), np.ones(2))
    assert A.shape == (0, 2) and g.tolist() == [] and pairs == 0
    A, _w, g, pairs = circle_patterns(np.ones((2, 3)), np.ones(2), np.empty((0, 3)), np.zeros(0))
    assert A.shape == (0, 0) and g.tolist() == [-1, -1] and pairs == 0


def test_fast_and_chunked_coverage_agree_across_chunk_boundaries(monkeypatch):
    """The grid path equals the pairs built a chunk at a time, patterns split by chunks."""
    import geopandas as gpd

    rng = np.random.default_rng(7)
    # UTM 48S metres around Lampung; 3 clumps of identical businesses split across chunks
    base = np.array([500_000.0, 9_400_000.0])
    clumps = base + rng.uniform(0, 8000, (3, 2))
    demand = np.concatenate([np.repeat(clumps, 7, axis=0), base + rng.uniform(0, 8000, (40, 2))])
    demand = demand[rng.permutation(len(demand))]
    w = rng.integers(1, 4, len(demand)).astype(float)
    sxy = base + rng.uniform(0, 8000, (25, 2))
    sites = gpd.GeoDataFrame(
        {"radius_m": np.where(np.arange(25) % 5 == 0, 3000.0, np.nan)},
        geometry=gpd.points_from_xy(sxy[:, 0], sxy[:, 1]),
        crs=32748,
    )
    A, w_agg, group, radius, pairs = _demand._aggregated_coverage(demand, w, sites, 2000.0, None)
    monkeypatch.setattr(_demand, "DEMAND_CHUNK", 5)
    A2, w2, group2, pairs2 = _demand._chunked_coverage(demand, w, sites, 2000.0, None)
    assert (A != A2).nnz == 0 and A.shape == A2.shape
    assert w_agg.tolist() == w2.tolist() and group.tolist() == group2.tolist()
    assert pairs == pairs2 and np.isnan(radius).sum() == 0
    # and both are the one-shot aggregation of the full matrix
    full, _ = _demand._coverage(demand, sites, 2000.0)
    A3, w3, g3 = _mclp.aggregate_demand(full, w)
    assert (A != A3).nnz == 0 and w_agg.tolist() == w3.tolist() and group.tolist() == g3.tolist()
    assert len(w_agg) < (group >= 0).sum()  # clumps merged


def test_id_order_matches_id_sort():
    """Arrow-sorted business ids come in numpy's order of the same text (demand order)."""
    import pandas as pd

    from blankspot._demand import _id_order
    from blankspot._util import id_sort

    rng = np.random.default_rng(0)
    alphabet = list("ab9Zé中_ .")
    for _ in range(20):
        ids = ["".join(rng.choice(alphabet, rng.integers(0, 6))) for _ in range(200)]
        want = id_sort(np.asarray(ids, dtype=str)).tolist()
        assert _id_order(pd.Index(ids, dtype="str")).tolist() == want
        assert _id_order(pd.Index(ids, dtype=object)).tolist() == want
