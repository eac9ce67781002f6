"""Compiled (numba) loops of the terrain modules: bilinear samples, path clearances, sweeps.

They live in one module because numba's on-disk cache (``cache=True``) is invalidated by
changes to the file that defines a function, not to the files of the functions it calls:
kept together, a change to :func:`bilinear_at` also recompiles the kernels that inline it.
The Python-side checks and the documented behaviour are in :mod:`blankspot._los` (line of
sight) and :mod:`blankspot._viewshed` (viewsheds, footprints); see docs/architecture.md for
the measured effect of numba here.
"""

from __future__ import annotations

import math

import numba
import numpy as np


@numba.njit(cache=True, error_model="numpy", inline="always")
def bilinear_at(arr: np.ndarray, col: float, row: float) -> float:
    """One bilinear elevation of a 2-D window: :func:`blankspot._dem.bilinear` inside numba loops.

    Same rule: cell centres at ``i + 0.5``, edge values held outside the outer centres, NaN
    when any of the four neighbours is NaN.
    """
    h, w = arr.shape
    fc = max(col - 0.5, 0.0)  # before the first centre: the edge value (tx = 0)
    fr = max(row - 0.5, 0.0)
    c0 = min(int(fc), max(w - 2, 0))
    r0 = min(int(fr), max(h - 2, 0))
    tx = min(fc - c0, 1.0)  # beyond the last centre: the edge value (tx = 1)
    ty = min(fr - r0, 1.0)
    c1, r1 = min(c0 + 1, w - 1), min(r0 + 1, h - 1)
    v00, v01 = arr[r0, c0], arr[r0, c1]
    v10, v11 = arr[r1, c0], arr[r1, c1]
    top = v00 + tx * (v01 - v00)
    bot = v10 + tx * (v11 - v10)
    return top + ty * (bot - top)


@numba.njit(cache=True, error_model="numpy", nogil=True)
def clearance_kernel(  # noqa: PLR0917 - numba kernels take positional arrays
    arr, group, ca, ra, cb, rb, n, dist, ha, hb, two_kr, lam, fc,
    clearance, obstacle, ground_a, ground_b, voids,
):  # fmt: skip
    """Smallest clearance of each path of ``group`` over the window ``arr`` (numba).

    Per pair ``i``: samples ``t = j / n[i]``, ``j = 0..n[i]`` on the straight line from
    (``ca``, ``ra``) to (``cb``, ``rb``) (window cells), bilinear heights; the ends give the
    antenna tops; each interior sample's clearance is the ray's height above the terrain
    less the earth bulge ``s (d - s) / 2kR`` (and, when ``lam > 0``, ``fc`` of the first
    Fresnel radius). Voids are skipped and counted. Writes ``clearance`` (``inf`` when every
    interior sample is a void), ``obstacle`` (distance of the first tightest sample),
    ``ground_a``, ``ground_b`` and ``voids`` at the pair's index. One fused pass: no
    per-sample arrays, so a path costs its samples and nothing else.
    """
    inv_2kr = 1.0 / two_kr
    for g in range(group.size):
        i = group[g]
        k = n[i]
        step = 1.0 / k
        d = dist[i]
        dc = cb[i] - ca[i]
        dr = rb[i] - ra[i]
        za = bilinear_at(arr, ca[i], ra[i])
        zb = bilinear_at(arr, cb[i], rb[i])
        ta = za + ha[i]
        tb = zb + hb[i]
        low = np.inf
        at = np.inf
        void = 0
        for j in range(1, k):
            tt = j * step
            z = bilinear_at(arr, ca[i] + tt * dc, ra[i] + tt * dr)
            if math.isnan(z):
                void += 1
                continue
            s = tt * d
            clr = ta + tt * (tb - ta) - z - s * (d - s) * inv_2kr
            if lam > 0:
                clr -= fc * math.sqrt(lam * s * (d - s) / (d if d > 0 else 1.0))
            if clr < low:
                low = clr
                at = s
        clearance[i] = low
        obstacle[i] = at
        ground_a[i] = za
        ground_b[i] = zb
        voids[i] = void


@numba.njit(cache=True, error_model="numpy", nogil=True)
def sweep_kernel(arr, c_obs, r_obs, mx, my, top, step, two_kr, horizon, edge):  # noqa: PLR0917 - numba
    """Fill ``horizon[i, j]``: the largest elevation slope of samples ``0..j`` of ray ``i``.

    Ray ``i`` leaves the observer (``c_obs``, ``r_obs``: window cells) at azimuth
    ``2 pi i / n_rays`` clockwise from north; sample ``j`` is ``s = (j + 1) step`` metres
    out (``mx``, ``my``: metres per column / row), its height bilinear (NaN beyond the DEM
    window or on a void: never a horizon). Slope ``(z - s^2 / 2kR - top) / s``; the running
    maximum skips NaN (``numpy.fmax``). When ``edge`` has rows, ``edge[i, j]`` is the sample
    index of that maximum (the last one on ties).
    """
    h, w = arr.shape
    n_rays, n_steps = horizon.shape
    keep_edge = edge.shape[0] > 0
    inv_2kr = 1.0 / two_kr
    for i in range(n_rays):
        theta = 2.0 * math.pi / n_rays * i
        dc = math.sin(theta) * step / mx
        dr = -math.cos(theta) * step / my
        best = np.nan
        at = 0
        for j in range(n_steps):
            col = c_obs + dc * (j + 1)
            row = r_obs + dr * (j + 1)
            if 0.0 <= col <= w and 0.0 <= row <= h:
                s = step * (j + 1)
                slope = (bilinear_at(arr, col, row) - s * s * inv_2kr - top) / s
                if slope > best or (math.isnan(best) and not math.isnan(slope)):
                    best = slope
                if slope >= best:
                    at = j
            horizon[i, j] = best
            if keep_edge:
                edge[i, j] = at


@numba.njit(cache=True, error_model="numpy", nogil=True)
def cells_kernel(  # noqa: PLR0917 - numba kernels take positional arrays
    arr, c_obs, r_obs, mx, my, top, step, two_kr, radius, target_h, horizon, edge,
    visible, dist, target, hzn, s_edge,
):  # fmt: skip
    """Which window cells see the antenna, from the sweep's horizons (numba).

    A cell at distance ``d`` (metres) is visible when it is within ``radius``, not a void,
    and the slope to a receiver ``target_h`` above it is at least the horizon of the samples
    strictly nearer than ``d``, interpolated in azimuth between the two rays either side of
    it (a ray whose horizon is NaN, only voids so far, takes its neighbour's; ``-inf`` when
    no sample is nearer). When ``dist`` has rows, also writes per cell the distance, the
    target slope, that horizon and ``s_edge``: the distance of the horizon sample of the
    nearer ray in azimuth (Bullington's transmitter-side edge, for the Hata footprint).
    """
    h, w = arr.shape
    n_rays, n_steps = horizon.shape
    fields = dist.shape[0] > 0
    per_rad = n_rays / (2.0 * math.pi)
    inv_2kr = 1.0 / two_kr
    for r in range(h):
        dy = (r_obs - 0.5 - r) * my
        for c in range(w):
            dx = (c + 0.5 - c_obs) * mx
            d = math.sqrt(dx * dx + dy * dy)
            z = arr[r, c]
            if not fields and (d > radius or math.isnan(z)):
                visible[r, c] = False  # out of range or a void: no need for its horizon
                continue
            pos = math.atan2(dx, dy) * per_rad
            base = math.floor(pos)
            frac = pos - base
            ray0 = int(base) % n_rays
            ray1 = ray0 + 1 if ray0 + 1 < n_rays else 0
            before = min(math.ceil(d / step) - 1, n_steps)  # samples strictly nearer than d
            hz = -np.inf
            if before >= 1:
                h0 = horizon[ray0, before - 1]
                h1 = horizon[ray1, before - 1]
                if math.isnan(h0):
                    h0 = h1
                if math.isnan(h1):
                    h1 = h0
                hz = h0 + frac * (h1 - h0)
                if math.isnan(hz):
                    hz = -np.inf
            tgt = (z + target_h - d * d * inv_2kr - top) / d
            visible[r, c] = d <= radius and not math.isnan(z) and tgt >= hz
            if fields:
                dist[r, c] = d
                target[r, c] = tgt
                hzn[r, c] = hz
                near = ray0 if frac < 0.5 else ray1
                s_edge[r, c] = (edge[near, max(before - 1, 0)] + 1) * step


@numba.njit(cache=True, nogil=True)
def highest_cell_kernel(arr, group, col, row, mx, my, radius, best_col, best_row, best_z):  # noqa: PLR0917 - numba
    """Find the highest cell whose centre is within ``radius`` metres of each point of ``group``.

    Points are fractional (``col``, ``row``) in the window ``arr``; ``mx``, ``my`` are metres
    per column and row. A cell must be strictly higher than the cell under the point to
    win; ties among those go to the cell nearest the point, then to the first in row-major
    order, so the answer does not depend on the point order. Writes the winning cell's
    index (``best_col``, ``best_row``), or ``-2`` when the point's own cell is the highest
    (stay) and ``-1`` when every cell in reach is a void; and the height (``-inf`` for -1).
    """
    h, w = arr.shape
    rc = radius / mx
    rr = radius / my
    for g in range(group.size):
        i = group[g]
        c0 = max(math.floor(col[i] - rc - 0.5), 0)
        c1 = min(math.ceil(col[i] + rc + 0.5), w)
        r0 = max(math.floor(row[i] - rr - 0.5), 0)
        r1 = min(math.ceil(row[i] + rr + 0.5), h)
        own = arr[min(math.floor(row[i]), h - 1), min(math.floor(col[i]), w - 1)]
        bz = -np.inf if math.isnan(own) else own
        bd = 0.0
        bc = -1 if math.isnan(own) else -2
        br = bc
        for r in range(r0, r1):
            dy = (r + 0.5 - row[i]) * my
            for c in range(c0, c1):
                dx = (c + 0.5 - col[i]) * mx
                d = math.sqrt(dx * dx + dy * dy)
                z = arr[r, c]
                if d > radius or math.isnan(z):
                    continue
                if z > bz or (z == bz and d < bd):
                    bz, bd, bc, br = z, d, c, r
        best_col[i] = bc
        best_row[i] = br
        best_z[i] = bz
