"""Compiled (numba) loops of the lazy greedy (:func:`blankspot._mclp._lazy_greedy`).

The CELF loop re-evaluates one site at a time: in Python each evaluation costs a heap
operation on tuples and a small numpy sum (tens of microseconds), and a country's 38
provinces x 1,000 sites need over a million of them. These kernels run the same loop on
arrays, with the same arithmetic, so that the plans and gains are bit for bit those of
the Python loop:

* a gain is the sum of the uncovered rows' weights in row order, added up as numpy's
  ``ndarray.sum`` does (:func:`_np_sum`: pairwise, 8 accumulators, blocks of 128);
* the heap orders entries as the tuples ``(-priority, -gain, site, stamp)`` would (each
  site has one entry, so the order of pops does not depend on the heap's layout);
* a column sum (``A.T @ w``) adds in row order from 0.0, as scipy's ``csr_matvec``.
"""

from __future__ import annotations

import math

import numba
import numpy as np


@numba.njit(cache=True)
def _block(a, lo, n):
    """Numpy's sum of one block of at most 128 values (8 accumulators past 8 values)."""
    if n < 8:
        res = 0.0
        for i in range(lo, lo + n):
            res += a[i]
        return res
    r0, r1, r2, r3 = a[lo], a[lo + 1], a[lo + 2], a[lo + 3]
    r4, r5, r6, r7 = a[lo + 4], a[lo + 5], a[lo + 6], a[lo + 7]
    i = 8
    stop = n - (n % 8)
    while i < stop:
        r0 += a[lo + i]
        r1 += a[lo + i + 1]
        r2 += a[lo + i + 2]
        r3 += a[lo + i + 3]
        r4 += a[lo + i + 4]
        r5 += a[lo + i + 5]
        r6 += a[lo + i + 6]
        r7 += a[lo + i + 7]
        i += 8
    res = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))
    while i < n:
        res += a[lo + i]
        i += 1
    return res


@numba.njit(cache=True)
def _pairwise(a, n):
    """Numpy's pairwise sum of ``a[:n]`` (``pairwise_sum`` in numpy's loops), without recursion.

    Numpy halves a range of more than 128 values (the half rounded down to a multiple of 8)
    and adds the two halves' sums; this walks the same tree in post-order with a stack.
    """
    if n <= 128:
        return _block(a, 0, n)
    todo_lo = np.empty(192, dtype=np.int64)
    todo_n = np.empty(192, dtype=np.int64)
    todo_seen = np.zeros(192, dtype=np.bool_)
    vals = np.empty(192)
    top = 0
    nv = 0
    todo_lo[0], todo_n[0], todo_seen[0] = 0, n, False
    top = 1
    while top > 0:
        top -= 1
        lo, m, seen = todo_lo[top], todo_n[top], todo_seen[top]
        if m <= 128:
            vals[nv] = _block(a, lo, m)
            nv += 1
        elif seen:
            nv -= 1
            vals[nv - 1] = vals[nv - 1] + vals[nv]
        else:
            half = m // 2
            half -= half % 8
            todo_lo[top], todo_n[top], todo_seen[top] = lo, m, True
            todo_lo[top + 1], todo_n[top + 1], todo_seen[top + 1] = lo + half, m - half, False
            todo_lo[top + 2], todo_n[top + 2], todo_seen[top + 2] = lo, half, False
            top += 3
    return vals[0]


@numba.njit(cache=True)
def _np_sum(a, n):
    """``a[:n].sum()`` exactly as numpy computes it (the identity 0.0, then pairwise)."""
    return 0.0 + _pairwise(a, n)


@numba.njit(cache=True)
def column_sums(indptr, indices, w):
    """``A.T @ w`` for a CSC matrix of ones, summed as scipy does (row order, from 0.0)."""
    m = indptr.size - 1
    out = np.zeros(m)
    for j in range(m):
        s = 0.0
        for p in range(indptr[j], indptr[j + 1]):
            s += w[indices[p]]
        out[j] = s
    return out


@numba.njit(cache=True, inline="always")
def _before(hp, hg, hj, a, b):
    """Whether heap entry ``a`` pops before ``b``: tuple order of (-priority, -gain, site)."""
    if hp[a] != hp[b]:
        return hp[a] < hp[b]
    if hg[a] != hg[b]:
        return hg[a] < hg[b]
    return hj[a] < hj[b]


@numba.njit(cache=True)
def _swap(hp, hg, hj, hs, a, b):  # noqa: PLR0917
    hp[a], hp[b] = hp[b], hp[a]
    hg[a], hg[b] = hg[b], hg[a]
    hj[a], hj[b] = hj[b], hj[a]
    hs[a], hs[b] = hs[b], hs[a]


@numba.njit(cache=True)
def _sift_down(hp, hg, hj, hs, i, size):  # noqa: PLR0917
    while True:
        left = 2 * i + 1
        if left >= size:
            return
        child = left
        if left + 1 < size and _before(hp, hg, hj, left + 1, left):
            child = left + 1
        if not _before(hp, hg, hj, child, i):
            return
        _swap(hp, hg, hj, hs, i, child)
        i = child


@numba.njit(cache=True)
def heapify(hp, hg, hj, hs):
    """Make the four arrays one heap (entry ``i`` is ``(hp[i], hg[i], hj[i], hs[i])``)."""
    size = hp.size
    for i in range(size // 2 - 1, -1, -1):
        _sift_down(hp, hg, hj, hs, i, size)


@numba.njit(cache=True)
def _pop(hp, hg, hj, hs, size):
    size -= 1
    _swap(hp, hg, hj, hs, 0, size)
    _sift_down(hp, hg, hj, hs, 0, size)
    return size


@numba.njit(cache=True)
def celf_steps(  # noqa: PLR0917 - numba kernels take positional arrays
    indptr, indices, w, cost_of, by_ratio, slack, heap, size, covered, stale, buf,
    chosen, chosen_gains, state, stop_at,
):  # fmt: skip
    """Run the CELF loop of ``_lazy_greedy`` until ``stop_at`` sites are chosen or it ends.

    ``heap`` is ``(hp, hg, hj, hs)`` (first ``size`` entries live); ``state`` holds
    ``[n_chosen, value, remaining, ended]`` (floats). Returns the heap's new size.
    """
    hp, hg, hj, hs = heap
    n_chosen = int(state[0])
    value = state[1]
    remaining = state[2]
    ended = False
    while size > 0 and n_chosen < stop_at:
        j = hj[0]
        if cost_of[j] > remaining + slack:  # never affordable again: the budget only shrinks
            size = _pop(hp, hg, hj, hs, size)
            continue
        if hs[0] == n_chosen:
            size = _pop(hp, hg, hj, hs, size)
            g = stale[j]
            if g <= 0:  # the best remaining site adds nothing
                ended = True
                break
            for p in range(indptr[j], indptr[j + 1]):
                covered[indices[p]] = True
            chosen[n_chosen] = j
            chosen_gains[n_chosen] = g
            value += g
            remaining -= cost_of[j]
            stale[j] = 0.0
            n_chosen += 1
            continue
        cnt = 0
        for p in range(indptr[j], indptr[j + 1]):
            r = indices[p]
            if not covered[r]:
                buf[cnt] = w[r]
                cnt += 1
        g = _np_sum(buf, cnt)
        stale[j] = g
        if not by_ratio:
            prio = g
        elif g <= 0:
            prio = 0.0
        elif cost_of[j] <= 0:
            prio = math.inf
        else:
            prio = g / cost_of[j]
        # the popped entry's slot is reused: replace the top, then sift it down
        hp[0], hg[0], hs[0] = -prio, -g, n_chosen
        _sift_down(hp, hg, hj, hs, 0, size)
    if size == 0:
        ended = True
    state[0] = n_chosen
    state[1] = value
    state[2] = remaining
    state[3] = 1.0 if ended else 0.0
    return size
