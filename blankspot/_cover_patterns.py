"""Coverage patterns of demand points by circular sites, without holding the pairs (numba).

A national ranking has millions of uncovered businesses and hundreds of thousands of
candidate sites: about 10^8 (business, site) pairs within 5 km, several gigabytes as a
sparse matrix. Only the distinct *patterns* (sets of sites reaching a business) matter to
the solvers (:func:`blankspot._mclp.aggregate_demand`), so :func:`circle_patterns` never
stores the pairs:

1. the sites go into a grid of cubes one (largest) chord wide, in earth-centred (ECEF)
   metres; a demand point's sites are among those of its cube and the 26 around it;
2. a first pass keeps, per demand point, the number of sites reaching it and two 64-bit
   wrap-around sums of random keys of those sites (order-free signatures);
3. points with equal signatures get one pattern, numbered by first appearance (an
   open-addressing hash table); a second pass writes each pattern's sites once (CSR, int32);
4. a third pass checks every point's sites against its pattern's, so a hash collision can
   never merge two different sets (a point that differs becomes a pattern of its own, as in
   :func:`~blankspot._mclp.aggregate_demand`).

"Reaches" is exactly :func:`blankspot._mclp.coverage_from_points`' test on ECEF
coordinates: the squared distance, summed over x, y, z in that order, at most the squared
chord. The compiled loops live here together (numba's cache follows the defining file).
"""

from __future__ import annotations

import numba
import numpy as np
import scipy.sparse as sp

__all__ = ["circle_patterns"]

# the grid has at most this many cells along an axis, so that cell keys fit an int64
_MAX_CELLS_PER_AXIS = 1 << 20


def pattern_keys(m: int) -> tuple[np.ndarray, np.ndarray]:
    """Two random 64-bit keys per site (the first odd), seeded: the signatures' summands."""
    rng = np.random.default_rng(20240601)
    key1 = rng.integers(0, 2**63, size=m, dtype=np.uint64) * np.uint64(2) + np.uint64(1)
    key2 = rng.integers(0, 2**63, size=m, dtype=np.uint64)
    return key1, key2


@numba.njit(cache=True)
def _cell_keys(xyz, lo, cell, ext):
    """Key of each point's cube; coordinates clipped to [-2, ext + 1] (no neighbours there)."""
    n = xyz.shape[0]
    out = np.empty(n, dtype=np.int64)
    span = ext + 4
    for i in range(n):
        key = 0
        for d in range(3):
            c = np.floor((xyz[i, d] - lo[d]) / cell)
            c = min(max(c, -2.0), ext[d] + 1.0)
            key = key * span[d] + int(c) + 2
        out[i] = key
    return out


@numba.njit(cache=True)
def _gather(key, ext, ukeys, ustart, s_order, buf):  # noqa: PLR0917 - numba kernel
    """Sites (ascending indices) of the cube with clipped ``key`` and its 26 neighbours."""
    span = ext + 4
    cz = key % span[2] - 2
    cy = (key // span[2]) % span[1] - 2
    cx = key // (span[2] * span[1]) - 2
    n = 0
    for dx in range(-1, 2):
        x = cx + dx
        if x < 0 or x >= ext[0]:
            continue
        for dy in range(-1, 2):
            y = cy + dy
            if y < 0 or y >= ext[1]:
                continue
            for dz in range(-1, 2):
                z = cz + dz
                if z < 0 or z >= ext[2]:
                    continue
                k = ((x + 2) * span[1] + y + 2) * span[2] + z + 2
                p = np.searchsorted(ukeys, k)
                if p < ukeys.size and ukeys[p] == k:
                    for q in range(ustart[p], ustart[p + 1]):
                        buf[n] = s_order[q]
                        n += 1
    buf[:n].sort()
    return n


@numba.njit(cache=True)
def _reached(px, py, pz, sxyz, chord2, j):  # noqa: PLR0917 - numba kernel
    """Whether site ``j`` reaches the point: cKDTree's p=2 test (sum in x, y, z order)."""
    dx = sxyz[j, 0] - px
    dy = sxyz[j, 1] - py
    dz = sxyz[j, 2] - pz
    return dx * dx + dy * dy + dz * dz <= chord2[j]


@numba.njit(cache=True)
def _signatures(  # noqa: PLR0917 - numba kernels take positional arrays
    dxyz, dkey, d_order, sxyz, chord2, ext, ukeys, ustart, s_order, key1, key2, buf,
    nnz, h1, h2,
):  # fmt: skip
    """Pass 1: per demand point, how many sites reach it and the two key sums."""
    n = d_order.size
    i = 0
    while i < n:
        key = dkey[d_order[i]]
        end = i
        while end < n and dkey[d_order[end]] == key:
            end += 1
        nc = _gather(key, ext, ukeys, ustart, s_order, buf)
        for t in range(i, end):
            p = d_order[t]
            px, py, pz = dxyz[p, 0], dxyz[p, 1], dxyz[p, 2]
            c = 0
            a = np.uint64(0)
            b = np.uint64(0)
            for u in range(nc):
                j = buf[u]
                if _reached(px, py, pz, sxyz, chord2, j):
                    c += 1
                    a += key1[j]
                    b += key2[j]
            nnz[p] = c
            h1[p] = a
            h2[p] = b
        i = end


@numba.njit(cache=True)
def _mix(a, b, c):
    """Fold a signature into a hash-table slot (its sums are random already)."""
    return (a ^ (b * np.uint64(0x9E3779B97F4A7C15)) ^ np.uint64(c)) >> np.uint64(7)


@numba.njit(cache=True)
def _number_patterns(nnz, h1, h2, table_bits):
    """Pattern of each point (-1 when no site reaches it), numbered by first appearance."""
    n = nnz.size
    size = 1 << table_bits
    mask = np.uint64(size - 1)
    table = np.full(size, -1, dtype=np.int32)
    group = np.full(n, -1, dtype=np.int64)
    rep = np.empty(n, dtype=np.int64)
    g = 0
    for p in range(n):
        if nnz[p] == 0:
            continue
        s = _mix(h1[p], h2[p], nnz[p]) & mask
        while True:
            q = table[s]
            if q < 0:
                table[s] = g
                rep[g] = p
                group[p] = g
                g += 1
                break
            r = rep[q]
            if nnz[r] == nnz[p] and h1[r] == h1[p] and h2[r] == h2[p]:
                group[p] = q
                break
            s = (s + np.uint64(1)) & mask
    return group, rep[:g].copy()


@numba.njit(cache=True)
def _rows(  # noqa: PLR0917 - numba kernels take positional arrays
    dxyz, dkey, d_order, sxyz, chord2, ext, ukeys, ustart, s_order, buf,
    group, rep, indptr, indices, check,
):  # fmt: skip
    """Pass 2 (``check`` False): write each pattern's sites at its representative point.

    Pass 3 (``check`` True): compare the sites of every other point with its pattern's
    row; returns a mask of the points that differ (a hash collision).
    """
    n = d_order.size
    differs = np.zeros(dxyz.shape[0] if check else 0, dtype=np.bool_)
    i = 0
    while i < n:
        key = dkey[d_order[i]]
        end = i
        while end < n and dkey[d_order[end]] == key:
            end += 1
        todo = False
        for t in range(i, end):
            p = d_order[t]
            g = group[p]
            if g >= 0 and (rep[g] != p) == check:
                todo = True
                break
        if not todo:
            i = end
            continue
        nc = _gather(key, ext, ukeys, ustart, s_order, buf)
        for t in range(i, end):
            p = d_order[t]
            g = group[p]
            if g < 0 or (rep[g] != p) != check:
                continue
            px, py, pz = dxyz[p, 0], dxyz[p, 1], dxyz[p, 2]
            at = indptr[g]
            stop = indptr[g + 1]
            for u in range(nc):
                j = buf[u]
                if _reached(px, py, pz, sxyz, chord2, j):
                    if not check:
                        indices[at] = j
                    elif at >= stop or indices[at] != j:
                        differs[p] = True
                        break
                    at += 1
            if check and at != stop:
                differs[p] = True
        i = end
    return differs


@numba.njit(cache=True)
def _transpose(indptr, indices, m):
    """CSC structure (``indptr``, row indices ascending) of the CSR one with ``m`` columns."""
    c_indptr = np.zeros(m + 1, dtype=np.int64)
    for p in range(indices.size):
        c_indptr[indices[p] + 1] += 1
    for j in range(m):
        c_indptr[j + 1] += c_indptr[j]
    out = np.empty(indices.size, dtype=indices.dtype)
    nxt = c_indptr[:-1].copy()
    for g in range(indptr.size - 1):
        for p in range(indptr[g], indptr[g + 1]):
            j = indices[p]
            out[nxt[j]] = g
            nxt[j] += 1
    return c_indptr, out


def circle_patterns(
    demand_xyz: np.ndarray,
    w: np.ndarray,
    site_xyz: np.ndarray,
    chord_m: np.ndarray,
    *,
    keys: tuple[np.ndarray, np.ndarray] | None = None,
) -> tuple[sp.csc_matrix, np.ndarray, np.ndarray, int]:
    """Demand aggregated by coverage pattern, for sites reaching a chord around them.

    Parameters
    ----------
    demand_xyz, site_xyz
        ``(n, 3)`` and ``(m, 3)`` earth-centred coordinates, metres.
    w
        ``(n,)`` demand weights.
    chord_m
        ``(m,)`` finite, positive chord radius of each site (see
        :func:`blankspot._geodesy.chord_m`).
    keys
        The two key arrays of the signatures (default :func:`pattern_keys`); tests pass
        colliding ones.

    Returns
    -------
    A_agg : scipy.sparse.csc_matrix
        ``(g, m)`` boolean, one row per distinct non-empty pattern in order of first
        appearance, sorted indices: :func:`~blankspot._mclp.aggregate_demand` of the full
        coverage matrix (in CSC form, as the solvers read it).
    w_agg : numpy.ndarray
        ``(g,)`` summed weights (in demand order).
    group : numpy.ndarray
        ``(n,)`` int64, the pattern of each demand point, -1 where no site reaches it.
    n_pairs : int
        The (demand, site) pairs within reach.

    Examples
    --------
    >>> import numpy as np
    >>> d = np.array([[0.0, 0, 0], [1, 0, 0], [9, 0, 0], [0, 1, 0]])
    >>> s = np.array([[0.0, 0, 0], [2, 0, 0]])
    >>> A, w, g, pairs = circle_patterns(d, np.ones(4), s, np.array([1.5, 1.5]))
    >>> A.toarray().astype(int).tolist(), w.tolist(), g.tolist(), pairs
    ([[1, 0], [1, 1]], [2.0, 1.0], [0, 1, -1, 0], 4)
    """
    demand_xyz = np.ascontiguousarray(demand_xyz, dtype="float64").reshape(-1, 3)
    site_xyz = np.ascontiguousarray(site_xyz, dtype="float64").reshape(-1, 3)
    chord_m = np.ascontiguousarray(chord_m, dtype="float64")
    w = np.asarray(w, dtype="float64")
    n, m = len(demand_xyz), len(site_xyz)
    if n == 0 or m == 0:
        return sp.csc_matrix((0, m), dtype=bool), np.zeros(0), np.full(n, -1, np.int64), 0
    key1, key2 = pattern_keys(m) if keys is None else keys
    lo = site_xyz.min(axis=0)
    span = float((site_xyz.max(axis=0) - lo).max())
    # a cube a little wider than the longest chord: rounding in the cube index of a
    # point and a site one chord apart can then never put them two cubes apart
    cell = max(float(chord_m.max()) * (1.0 + 1e-9) + 1e-6, span / (_MAX_CELLS_PER_AXIS - 8))
    ext = (np.floor((site_xyz.max(axis=0) - lo) / cell).astype(np.int64) + 1).astype(np.int64)
    skey = _cell_keys(site_xyz, lo, cell, ext)
    s_order = np.argsort(skey, kind="stable")
    ukeys, ustart = np.unique(skey[s_order], return_index=True)
    ustart = np.append(ustart, m).astype(np.int64)
    buf = np.empty(27 * int(np.diff(ustart).max()), dtype=np.int64)
    dkey = _cell_keys(demand_xyz, lo, cell, ext)
    d_order = np.argsort(dkey, kind="stable")
    chord2 = chord_m * chord_m
    grid = (site_xyz, chord2, ext, ukeys, ustart, s_order)

    nnz = np.empty(n, dtype=np.int32)
    h1 = np.empty(n, dtype=np.uint64)
    h2 = np.empty(n, dtype=np.uint64)
    _signatures(demand_xyz, dkey, d_order, *grid, key1, key2, buf, nnz, h1, h2)
    bits = max(4, int(2 * max(1, int((nnz > 0).sum()))).bit_length())
    group, rep = _number_patterns(nnz, h1, h2, bits)
    del h1, h2
    while True:
        indptr = np.zeros(len(rep) + 1, dtype=np.int64)
        np.cumsum(nnz[rep], out=indptr[1:], dtype=np.int64)
        indices = np.empty(int(indptr[-1]), dtype=np.int32 if m < 2**31 else np.int64)
        _rows(demand_xyz, dkey, d_order, *grid, buf, group, rep, indptr, indices, False)
        differs = _rows(demand_xyz, dkey, d_order, *grid, buf, group, rep, indptr, indices, True)
        if not differs.any():
            break
        # a hash collision merged different sets: those points become their own patterns
        # (as aggregate_demand does), renumbered by first appearance, and are written again
        own = rep[group]
        bad = np.flatnonzero(differs)
        own[bad] = bad
        live = group >= 0
        rep, inverse = np.unique(own[live], return_inverse=True)
        group[live] = inverse
    n_pairs = int(nnz.sum(dtype=np.int64))
    del demand_xyz, dkey, d_order, nnz, differs
    w_agg = np.bincount(group[group >= 0], weights=w[group >= 0], minlength=len(rep))
    # the solvers read columns: transpose to CSC here, then drop the rows, so that only
    # the two index arrays (no row data) are ever held together
    c_indptr, c_indices = _transpose(indptr, indices, m)
    del indices
    A = sp.csc_matrix(
        (np.ones(len(c_indices), dtype=bool), c_indices, c_indptr), shape=(len(rep), m)
    )
    A.has_sorted_indices = True
    return A, w_agg, group, n_pairs
