"""Windowed numpy/rasterio kernels behind :class:`blankspot.coverage.RasterCoverage`.

Three jobs, each reading the raster by windows so memory stays bounded on rasters larger
than RAM, and none of them ever warping the raster:

* :func:`sample`: covered flag and value at points (already in the raster CRS), bit for bit
  what :meth:`rasterio.io.DatasetReader.sample` returns (same inverse affine, same floor).
* :func:`zonal`: the exact area of each polygon covered by "covered" pixels, the
  coverage-weighted pixel fraction that exactextract computes, plus (optionally) the polygon
  pieces of covered or uncovered pixels clipped to each polygon.
* :func:`footprint`: the raster extent as a polygon.

The zonal area uses Green's theorem on the pixel grid instead of rasterising. In pixel space
(``u`` = column, ``v`` = row, both real), every polygon edge is cut where it crosses a grid
line; each piece lies in one pixel ``(r, c)``. For a counter-clockwise ring (in ``u``, ``-v``)
the area of the polygon inside pixel ``(r, c)`` is the sum over the pieces in that pixel of
``-du * (r + 1 - v_mid)`` plus ``-du`` for every piece *above* it in the same column. So::

    covered_area = sum over pieces of -du * ((r + 1 - v_mid) * cov[r, c] + below[r, c])

where ``below[r, c]`` counts covered pixels under row ``r`` in column ``c``: a column-wise
cumulative sum per strip plus a carry from the strips below (read bottom-up). The cost is
one pass over the pixels the polygons' window spans plus O(number of pieces), independent
of polygon area, and the result is exact (no supersampling). The pieces of one closed ring
in one column have ``sum(du) == 0``, which is why ``below`` may count from any common floor
row (the bottom of the polygons' window) instead of the bottom of the raster.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from affine import Affine

import rasterio
import shapely
from rasterio.enums import MaskFlags
from rasterio.features import shapes
from rasterio.transform import rowcol
from rasterio.windows import Window

__all__ = [
    "Grid",
    "ZonalResult",
    "footprint",
    "grid_from_dataset",
    "pixel_index",
    "sample",
    "union_by_group",
    "zonal",
]

log = logging.getLogger("blankspot")

#: Rasters with at most this many pixels are read in one go when sampling points.
SMALL_RASTER_PIXELS = 16_000_000
#: Target number of pixels per strip read (float32: 64 MB).
STRIP_PIXELS = 16_000_000
#: Edge pieces generated per batch in :func:`zonal` (bounds the temporary arrays).
PIECES_PER_BATCH = 1_000_000
#: GDAL block cache (MB) while streaming: every block is read once, so GDAL's default
#: (5 % of RAM) would only grow the process by that much without saving any read.
GDAL_CACHE_MB = 64

Classifier = Callable[[np.ndarray], np.ndarray]


@dataclass(frozen=True)
class Grid:
    """What the kernels need to know about one raster band (no pixel data)."""

    path: str
    band: int
    width: int
    height: int
    transform: Affine
    block_height: int
    block_width: int
    nodata: float | None
    mask_kind: str  # "none": all valid, "nodata": compare with nodata, "mask": read the mask
    driver: str = "GTiff"


def grid_from_dataset(ds: rasterio.io.DatasetReader, path: str, band: int) -> Grid:
    """Describe band ``band`` of the open dataset ``ds``."""
    flags = set(ds.mask_flag_enums[band - 1])
    if flags == {MaskFlags.all_valid}:
        mask_kind = "none"
    elif MaskFlags.nodata in flags and ds.nodata is not None:
        mask_kind = "nodata"
    else:
        mask_kind = "mask"
    block_h, block_w = ds.block_shapes[band - 1]
    return Grid(
        path=path,
        band=band,
        width=ds.width,
        height=ds.height,
        transform=ds.transform,
        block_height=int(block_h),
        block_width=int(block_w),
        nodata=None if ds.nodata is None else float(ds.nodata),
        mask_kind=mask_kind,
        driver=ds.driver,
    )


def _read(
    ds: rasterio.io.DatasetReader, grid: Grid, rows: tuple[int, int], cols: tuple[int, int]
) -> tuple[np.ndarray, np.ndarray | None]:
    """Values and validity (``None`` = all valid) of the window ``rows`` x ``cols`` (half-open)."""
    window = Window(cols[0], rows[0], cols[1] - cols[0], rows[1] - rows[0])
    values = ds.read(grid.band, window=window)
    if grid.mask_kind == "none":
        return values, None
    if grid.mask_kind == "nodata":
        if math.isnan(grid.nodata):  # type: ignore[arg-type]
            return values, ~np.isnan(values)
        return values, values != np.asarray(grid.nodata).astype(values.dtype)
    return values, ds.read_masks(grid.band, window=window) > 0


def _covered(values: np.ndarray, valid: np.ndarray | None, classify: Classifier) -> np.ndarray:
    cov = np.asarray(classify(values), dtype=bool)
    return cov if valid is None else cov & valid


def pixel_index(
    transform: Affine, x: np.ndarray, y: np.ndarray, width: int, height: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Row and column of the pixel holding each point, and whether it is inside the raster.

    Uses :func:`rasterio.transform.rowcol` with ``np.floor`` as :meth:`DatasetReader.sample`
    does, so a point exactly on a pixel edge lands in the same pixel (the one to its right /
    below). Rows/columns of points outside (or NaN) are set to 0 and flagged in ``inside``.
    """
    x = np.asarray(x, dtype="float64")
    y = np.asarray(y, dtype="float64")
    if x.size == 0:
        empty = np.zeros(0, dtype="int64")
        return empty, empty, np.zeros(0, dtype=bool)
    # NaN and far-away points make invalid casts below; they are masked by `inside`
    with np.errstate(invalid="ignore"):
        rows_f, cols_f = rowcol(transform, x, y, op=np.floor)
        rows_f = np.asarray(rows_f, dtype="float64").reshape(x.shape)
        cols_f = np.asarray(cols_f, dtype="float64").reshape(x.shape)
        inside = (rows_f >= 0) & (rows_f < height) & (cols_f >= 0) & (cols_f < width)
        rows = rows_f.astype("int64")
        cols = cols_f.astype("int64")
    if not inside.all():
        rows[~inside] = 0
        cols[~inside] = 0
    return rows, cols, inside


def _strip_height(grid: Grid, width: int, multiple: int = 1) -> int:
    """Rows per strip: whole blocks (and whole tiles of ``multiple`` rows), about STRIP_PIXELS."""
    unit = max(grid.block_height, 1)
    if multiple > 1:
        both = math.lcm(unit, multiple)
        # odd block heights: give up block alignment rather than make strips huge
        unit = both if both <= 4 * max(unit, multiple) else multiple * math.ceil(unit / multiple)
    return unit * max(1, STRIP_PIXELS // (unit * max(width, 1)))


def open_raster(grid: Grid) -> rasterio.io.DatasetReader:
    """Open for reading; GeoTIFFs with multi-threaded block decoding (``NUM_THREADS``)."""
    if grid.driver == "GTiff":
        return rasterio.open(grid.path, NUM_THREADS="ALL_CPUS")
    return rasterio.open(grid.path)


def sample(
    grid: Grid, x: np.ndarray, y: np.ndarray, classify: Classifier
) -> tuple[np.ndarray, np.ndarray]:
    """Covered flag and value of the pixel under each point (points in the raster CRS).

    Returns ``(covered, values)``: ``covered`` is False and ``values`` NaN outside the raster,
    at NaN coordinates and on nodata / masked pixels. When the points' window is small it is
    read once; otherwise the points are grouped by strip and each needed strip is read once,
    only over the columns its points span.
    """
    n = np.asarray(x).size
    covered = np.zeros(n, dtype=bool)
    values = np.full(n, np.nan, dtype="float64")
    rows, cols, inside = pixel_index(grid.transform, x, y, grid.width, grid.height)
    if not inside.any():
        return covered, values
    everywhere = bool(inside.all())
    idx = np.arange(n) if everywhere else np.flatnonzero(inside)
    r = rows if everywhere else rows[idx]
    c = cols if everywhere else cols[idx]
    r0, r1 = int(r.min()), int(r.max()) + 1
    c0, c1 = int(c.min()), int(c.max()) + 1
    if (r1 - r0) * (c1 - c0) <= SMALL_RASTER_PIXELS:
        groups = [(None, r0, r1)]
    else:
        sh = _strip_height(grid, c1 - c0)
        strip = r // sh
        order = np.argsort(strip, kind="stable")
        bounds = np.flatnonzero(np.diff(strip[order])) + 1
        groups = [
            (g, int(strip[g[0]]) * sh, min(grid.height, (int(strip[g[0]]) + 1) * sh))
            for g in np.split(order, bounds)
        ]
    with rasterio.Env(GDAL_CACHEMAX=GDAL_CACHE_MB), open_raster(grid) as ds:
        for members, a, b in groups:  # one window, or one per strip holding points
            rr = r if members is None else r[members]
            cc = c if members is None else c[members]
            lo, hi = (c0, c1) if members is None else (int(cc.min()), int(cc.max()) + 1)
            vals, valid = _read(ds, grid, (a, b), (lo, hi))
            flat = (rr - a) * (hi - lo) + (cc - lo)
            v = vals.ravel().take(flat)
            cov = np.asarray(classify(v), dtype=bool)
            v = v.astype("float64")
            if valid is not None:
                ok = valid.ravel().take(flat)
                cov &= ok
                v[~ok] = np.nan
            target = idx if members is None else idx[members]
            if everywhere and members is None:
                covered, values = cov, v
            else:
                covered[target] = cov
                values[target] = v
    return covered, values


def footprint(grid: Grid) -> shapely.Polygon:
    """Return the raster's extent as a polygon in its CRS (exact, also for rotated transforms)."""
    t = grid.transform
    cols = np.array([0.0, grid.width, grid.width, 0.0])
    rows = np.array([0.0, 0.0, grid.height, grid.height])
    return shapely.Polygon(
        np.column_stack([t.a * cols + t.b * rows + t.c, t.d * cols + t.e * rows + t.f])
    )


@dataclass(frozen=True, eq=False)
class ZonalResult:
    """Output of :func:`zonal` (all in the raster CRS)."""

    covered_px: np.ndarray  # covered area per polygon, in pixels (exact, fractional)
    total_px: np.ndarray  # polygon area per polygon, in pixels
    piece_index: np.ndarray  # polygon position of each piece
    pieces: np.ndarray  # shapely polygons: covered/uncovered pixels clipped to the polygon
    # pieces touching the edge of their polygonising tile may continue in the next tile and
    # must be unioned with their neighbours; the others are whole connected components
    piece_on_tile_edge: np.ndarray


_NO_PIECES = (np.zeros(0, "int64"), np.zeros(0, object), np.zeros(0, bool))


def _edges(geoms: np.ndarray, inv: Affine) -> tuple[np.ndarray, ...]:
    """Non-vertical ring edges of every polygon, in pixel coordinates, with the polygon index.

    Rings are oriented (exterior counter-clockwise in the CRS) so holes subtract.
    """
    geoms = shapely.orient_polygons(geoms)
    parts, part_geom = shapely.get_parts(geoms, return_index=True)
    poly = shapely.get_type_id(parts) == shapely.GeometryType.POLYGON
    parts, part_geom = parts[poly], part_geom[poly]
    rings, ring_part = shapely.get_rings(parts, return_index=True)
    coords, coord_ring = shapely.get_coordinates(rings, return_index=True)
    u = inv.a * coords[:, 0] + inv.b * coords[:, 1] + inv.c
    v = inv.d * coords[:, 0] + inv.e * coords[:, 1] + inv.f
    same = coord_ring[:-1] == coord_ring[1:]
    ua, va, ub, vb = u[:-1][same], v[:-1][same], u[1:][same], v[1:][same]
    gid = part_geom[ring_part[coord_ring[:-1][same]]]
    keep = ua != ub  # vertical edges add no area in this formulation
    return gid[keep], ua[keep], va[keep], ub[keep], vb[keep]


def _crossings(
    lo: np.ndarray, hi: np.ndarray, line_lo: int, line_hi: int
) -> tuple[np.ndarray, ...]:
    """First grid line strictly inside (lo, hi) per edge and how many, clipped to the window."""
    first = np.maximum(np.floor(lo) + 1, line_lo)
    last = np.minimum(np.ceil(hi) - 1, line_hi)
    count = np.maximum(last - first + 1, 0).astype("int64")
    return first, count


def _expand(first: np.ndarray, count: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Edge index and line value for every crossing (vectorised ``range`` per edge)."""
    total = int(count.sum())
    edge = np.repeat(np.arange(count.size), count)
    start = np.cumsum(count) - count
    k = np.repeat(first, count) + (np.arange(total) - np.repeat(start, count))
    return edge, k


def _pieces_of_edges(
    gid: np.ndarray,
    ua: np.ndarray,
    va: np.ndarray,
    ub: np.ndarray,
    vb: np.ndarray,
    *,
    cols: tuple[int, int],
    rows: tuple[int, int],
) -> tuple[np.ndarray, ...]:
    """Cut edges at the grid lines inside the window; one output row per in-pixel piece.

    Returns, sorted by row: polygon index, pixel row, pixel column, the piece's ``du`` and
    ``r + 1 - v_mid``. Its Green term is ``-du * ((r + 1 - v_mid) * cov[r, c] + below[r, c])``.
    Pieces outside the window columns or below the window are dropped: they lie over no
    pixel of the window.
    """
    du, dv = ub - ua, vb - va
    fu, nu = _crossings(np.minimum(ua, ub), np.maximum(ua, ub), cols[0], cols[1])
    fv, nv = _crossings(np.minimum(va, vb), np.maximum(va, vb), rows[0], rows[1])
    eu, ku = _expand(fu, nu)
    ev, kv = _expand(fv, nv)
    with np.errstate(divide="ignore", invalid="ignore"):
        tu = (ku - ua[eu]) / du[eu]
        tv = (kv - va[ev]) / dv[ev]
    n = gid.size
    edge = np.concatenate([np.arange(n), eu, ev, np.arange(n)])
    t = np.concatenate([np.zeros(n), tu, tv, np.ones(n)])
    # the cut points themselves, exact on the grid line they cross (u = k or v = k), so a
    # piece's du is a difference of exact endpoints and the pieces of an edge telescope
    pu = np.concatenate([ua, ku, ua[ev] + tv * du[ev], ub])
    pv = np.concatenate([va, va[eu] + tu * dv[eu], kv, vb])
    order = np.lexsort((t, edge))
    edge, pu, pv = edge[order], pu[order], pv[order]
    same = edge[:-1] == edge[1:]
    e = edge[:-1][same]
    u0, u1 = pu[:-1][same], pu[1:][same]
    v0, v1 = pv[:-1][same], pv[1:][same]
    um = 0.5 * (u0 + u1)
    vm = 0.5 * (v0 + v1)
    dseg = u1 - u0
    r = np.floor(vm)
    c = np.floor(um)
    keep = (dseg != 0) & (c >= cols[0]) & (c < cols[1]) & (r < rows[1])
    e, r, c, vm, dseg = e[keep], r[keep], c[keep], vm[keep], dseg[keep]
    frac = r + 1 - vm  # share of the pixel's height under the piece, in [0, 1]
    # above the raster (only when the window starts at row 0) the piece covers no pixel of
    # its own; flag it with row = rows[0] - 1 so it only picks up the whole column below
    r = np.maximum(r, rows[0] - 1)
    order = np.argsort(r, kind="stable")  # strips are looked up by row
    return (
        gid[e][order].astype("int32"),
        r[order].astype("int32"),
        c[order].astype("int32"),
        dseg[order],
        frac[order],
    )


def _tile_size(geoms: np.ndarray, inv: Affine) -> int:
    """Polygonising tile edge (pixels): about twice the median polygon extent, 64..512."""
    xmin, ymin, xmax, ymax = shapely.bounds(geoms).T
    scale = math.sqrt(abs(inv.a * inv.e - inv.b * inv.d))
    extent = np.nanmedian(np.maximum(xmax - xmin, ymax - ymin)) * scale
    if not np.isfinite(extent) or extent <= 0:
        return 128
    return int(min(512, max(64, 2 ** math.ceil(math.log2(2 * extent)))))


def zonal(
    grid: Grid,
    geoms: np.ndarray,
    classify: Classifier,
    *,
    pieces: str | None = None,
) -> ZonalResult:
    """Exact covered area of each polygon, and optionally the covered/uncovered pieces.

    Parameters
    ----------
    grid
        The raster band.
    geoms
        Polygons / multipolygons (``None`` allowed) in the raster CRS.
    classify
        values -> bool "covered" (nodata is handled here: never covered).
    pieces
        ``None``, ``"covered"`` or ``"uncovered"``: also return the pixels of that class
        polygonised (rasterio.features.shapes, per tile) and clipped to each polygon.
        Parts of a polygon outside the raster are *not* included; the caller adds them.
    """
    geoms = np.asarray(geoms, dtype=object)
    n = geoms.size
    inv = ~grid.transform
    det = grid.transform.a * grid.transform.e - grid.transform.b * grid.transform.d
    # orientation: counter-clockwise in (x, y) stays counter-clockwise in (col, -row) iff det < 0
    sign = 1.0 if det < 0 else -1.0
    total_px = shapely.area(geoms) / abs(det)
    total_px = np.where(np.isnan(total_px), 0.0, total_px)
    covered_px = np.zeros(n, dtype="float64")
    no_pieces = ZonalResult(covered_px, total_px, *_NO_PIECES)

    gid, ua, va, ub, vb = _edges(geoms, inv)
    if gid.size == 0:
        return no_pieces
    # window of the raster the polygons touch (rows/cols are pixel indices)
    r_lo = int(np.clip(np.floor(min(va.min(), vb.min())), 0, grid.height))
    r_hi = int(np.clip(np.floor(max(va.max(), vb.max())) + 1, 0, grid.height))
    c_lo = int(np.clip(np.floor(min(ua.min(), ub.min())), 0, grid.width))
    c_hi = int(np.clip(np.floor(max(ua.max(), ub.max())) + 1, 0, grid.width))
    if r_lo >= r_hi or c_lo >= c_hi:
        return no_pieces

    # cut edges into in-pixel pieces, in batches so temporaries stay bounded
    per_edge = (
        np.abs(np.floor(ub) - np.floor(ua)) + np.abs(np.floor(vb) - np.floor(va)) + 2
    ).astype("int64")
    batch_end = np.searchsorted(
        np.cumsum(per_edge), np.arange(PIECES_PER_BATCH, per_edge.sum(), PIECES_PER_BATCH)
    )
    batches = [
        _pieces_of_edges(gid[s], ua[s], va[s], ub[s], vb[s], cols=(c_lo, c_hi), rows=(r_lo, r_hi))
        for s in (
            slice(a, b)
            for a, b in zip(np.r_[0, batch_end], np.r_[batch_end, gid.size], strict=True)
        )
    ]
    del gid, ua, va, ub, vb
    acc = np.zeros(n, dtype="float64")

    carry = np.zeros(c_hi - c_lo, dtype="int64")  # covered pixels below the current strip

    def add(rows: tuple[int, int], cov: np.ndarray | None, prefix: np.ndarray | None) -> None:
        """Accumulate the Green terms of the pieces with a row in ``rows`` (all batches).

        ``cov`` / ``prefix`` are the strip's covered mask and its column-wise inclusive
        prefix sums, so the covered pixels below row ``r`` in the strip are
        ``prefix[-1] - prefix[r]``; ``None`` for the pieces above the raster, which see the
        whole column below.
        """
        for b_gid, b_row, b_col, b_du, b_frac in batches:  # a few batches
            i0, i1 = np.searchsorted(b_row, rows)
            if i1 == i0:
                continue
            jj = b_col[i0:i1] - c_lo
            if cov is None or prefix is None:
                term = carry[jj].astype("float64")
            else:
                ii = b_row[i0:i1] - rows[0]
                below = prefix[-1, jj].astype("int64") - prefix[ii, jj] + carry[jj]
                term = b_frac[i0:i1] * cov[ii, jj] + below
            acc[:] += np.bincount(b_gid[i0:i1], weights=-b_du[i0:i1] * term, minlength=n)

    tile = _tile_size(geoms, inv) if pieces else 1
    sh = _strip_height(grid, c_hi - c_lo, multiple=tile)
    tree = shapely.STRtree(geoms) if pieces else None
    found: list[tuple[np.ndarray, np.ndarray]] = []
    want = pieces == "covered"
    first_strip = r_lo // sh
    last_strip = (r_hi - 1) // sh
    with rasterio.Env(GDAL_CACHEMAX=GDAL_CACHE_MB), open_raster(grid) as ds:
        for s in range(last_strip, first_strip - 1, -1):  # bottom-up: carry covered below
            a, b = max(s * sh, r_lo), min((s + 1) * sh, r_hi)
            values, valid = _read(ds, grid, (a, b), (c_lo, c_hi))
            cov = _covered(values, valid, classify)
            del values, valid
            prefix = np.cumsum(cov, axis=0, dtype="int16" if b - a < 2**15 else "int64")
            add((a, b), cov, prefix)
            carry += prefix[-1]
            if pieces:
                found.append(
                    _polygonise_strip(
                        cov if want else ~cov, grid, row0=a, col0=c_lo, tile=tile, tree=tree
                    )
                )
    add((r_lo - 1, r_lo), None, None)  # pieces above the raster
    covered_px = np.clip(sign * acc, 0.0, total_px)

    if not pieces or not found:
        return ZonalResult(covered_px, total_px, *_NO_PIECES)
    cand = np.concatenate([f[0] for f in found])
    cand_edge = np.concatenate([f[1] for f in found])
    if cand.size == 0:
        return ZonalResult(covered_px, total_px, *_NO_PIECES)
    p_idx, g_idx = tree.query(cand, predicate="intersects")  # type: ignore[union-attr]
    # most pieces lie well inside one polygon and need no clipping
    ours = ~shapely.is_prepared(geoms) & ~shapely.is_missing(geoms)
    shapely.prepare(geoms[ours])
    try:
        inner = shapely.contains_properly(geoms[g_idx], cand[p_idx])
    finally:
        shapely.destroy_prepared(geoms[ours])  # leave the caller's geometries as they were
    clipped = cand[p_idx]
    clipped[~inner] = shapely.intersection(clipped[~inner], geoms[g_idx[~inner]])
    parts, part_of = shapely.get_parts(clipped, return_index=True)
    is_poly = (shapely.get_type_id(parts) == shapely.GeometryType.POLYGON) & ~shapely.is_empty(
        parts
    )
    part_of = part_of[is_poly]
    return ZonalResult(
        covered_px, total_px, g_idx[part_of], parts[is_poly], cand_edge[p_idx[part_of]]
    )


def _polygonise_strip(
    mask: np.ndarray,
    grid: Grid,
    *,
    row0: int,
    col0: int,
    tile: int,
    tree: shapely.STRtree | None,
) -> tuple[np.ndarray, np.ndarray]:
    """Polygons of the True pixels of a strip, per tile, only in tiles near a polygon.

    Returns the polygons (raster CRS) and whether each touches the edge of its tile.
    Polygonising runs in pixel coordinates (exact integers, so the edge test is exact) and
    the polygons are built and moved to the raster CRS in bulk.
    """
    h, w = mask.shape
    # tile grid aligned to multiples of `tile` in raster pixel coordinates
    starts = np.arange((col0 // tile) * tile, col0 + w, tile)
    c_a = np.maximum(starts, col0)
    c_b = np.minimum(starts + tile, col0 + w)
    r_starts = np.arange((row0 // tile) * tile, row0 + h, tile)
    r_a = np.maximum(r_starts, row0)
    r_b = np.minimum(r_starts + tile, row0 + h)
    ra, ca = np.meshgrid(r_a, c_a, indexing="ij")
    rb, cb = np.meshgrid(r_b, c_b, indexing="ij")
    ra, ca, rb, cb = ra.ravel(), ca.ravel(), rb.ravel(), cb.ravel()
    t = grid.transform
    corner_c = np.stack([ca, cb, cb, ca])
    corner_r = np.stack([ra, ra, rb, rb])
    xs = t.a * corner_c + t.b * corner_r + t.c
    ys = t.d * corner_c + t.e * corner_r + t.f
    boxes = shapely.box(xs.min(0), ys.min(0), xs.max(0), ys.max(0))
    hit = np.unique(tree.query(boxes)[0]) if tree is not None else np.arange(boxes.size)
    coords: list[tuple[float, float]] = []
    ring_len: list[int] = []
    n_rings: list[int] = []
    tile_of: list[int] = []
    # loop over tiles (a few hundred); the inner loops only unpack GDAL's GeoJSON output
    for k in hit:
        sub = mask[ra[k] - row0 : rb[k] - row0, ca[k] - col0 : cb[k] - col0]
        if not sub.any():
            continue
        pixel_space = Affine(1, 0, int(ca[k]), 0, 1, int(ra[k]))
        for geom, _ in shapes(sub.view("uint8"), mask=sub, connectivity=4, transform=pixel_space):
            rings = geom["coordinates"]
            n_rings.append(len(rings))
            tile_of.append(k)
            for ring in rings:
                ring_len.append(len(ring))
                coords.extend(ring)
    if not n_rings:
        return np.zeros(0, dtype=object), np.zeros(0, dtype=bool)
    uv = np.asarray(coords, dtype="float64")
    lens = np.asarray(ring_len)
    starts_of_ring = np.cumsum(lens) - lens
    shell = np.cumsum(n_rings) - np.asarray(n_rings)  # first ring of each polygon
    tiles = np.asarray(tile_of)
    u_min = np.minimum.reduceat(uv[:, 0], starts_of_ring)[shell]
    u_max = np.maximum.reduceat(uv[:, 0], starts_of_ring)[shell]
    v_min = np.minimum.reduceat(uv[:, 1], starts_of_ring)[shell]
    v_max = np.maximum.reduceat(uv[:, 1], starts_of_ring)[shell]
    on_edge = (
        (u_min == ca[tiles]) | (u_max == cb[tiles]) | (v_min == ra[tiles]) | (v_max == rb[tiles])
    )
    xy = np.column_stack(
        [t.a * uv[:, 0] + t.b * uv[:, 1] + t.c, t.d * uv[:, 0] + t.e * uv[:, 1] + t.f]
    )
    rings_ = shapely.linearrings(xy, indices=np.repeat(np.arange(lens.size), lens))
    polys = shapely.polygons(rings_, indices=np.repeat(np.arange(len(n_rings)), n_rings))
    return polys, on_edge


def union_by_group(geoms: np.ndarray, group: np.ndarray, n: int) -> np.ndarray:
    """Union of ``geoms`` per group ``0..n-1`` (``None`` where a group has nothing).

    Vectorised with :func:`shapely.union_all` along the rows of a padded 2-D array; groups
    are processed in batches of similar size so one group with many pieces does not make
    the padding explode.
    """
    out = np.full(n, None, dtype=object)
    if geoms.size == 0:
        return out
    order = np.argsort(group, kind="stable")
    g = group[order]
    geoms = geoms[order]
    ids, start, counts = np.unique(g, return_index=True, return_counts=True)
    by_size = np.argsort(counts, kind="stable")
    budget = 2_000_000
    pos = 0
    while pos < by_size.size:
        width = int(counts[by_size[pos]])
        # extend the batch while the padded array stays within budget
        end = pos + 1
        while end < by_size.size:
            width_next = int(counts[by_size[end]])
            if (end + 1 - pos) * width_next > budget:
                break
            width = width_next
            end += 1
        sel = by_size[pos:end]
        pad = np.full((sel.size, width), None, dtype=object)
        rows = np.repeat(np.arange(sel.size), counts[sel])
        offs = np.arange(rows.size) - np.repeat(np.cumsum(counts[sel]) - counts[sel], counts[sel])
        src = np.repeat(start[sel], counts[sel]) + offs
        pad[rows, offs] = geoms[src]
        out[ids[sel]] = shapely.union_all(pad, axis=1)
        pos = end
    return out
