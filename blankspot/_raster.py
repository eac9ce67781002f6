"""Windowed numpy/rasterio kernels behind :class:`blankspot.coverage.RasterCoverage`.

Three jobs, each reading the raster by windows so memory stays bounded on rasters larger
than RAM, and none of them ever warping the raster:

* :func:`sample`: covered flag and value at points (already in the raster CRS), bit for bit
  what :meth:`rasterio.io.DatasetReader.sample` returns (same inverse affine, same floor).
* :func:`zonal`: the exact area of each polygon covered by "covered" pixels, the
  coverage-weighted pixel fraction that exactextract computes, plus (optionally) the polygon
  pieces of covered or uncovered pixels clipped to each polygon.
* :func:`footprint`: the raster extent as a polygon.
* :func:`zonal_union`: :func:`zonal` on the grid of one raster for a *union* of sources:
  covered pixels of the raster OR pixels whose centre lies in covered polygons (burnt with
  :func:`rasterio.features.rasterize`, per strip) OR pixels whose centre other rasters cover
  (point-sampled, never warped). :func:`zonal_mask` is the kernel under both: Green's
  theorem over any covered mask delivered strip by strip.

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
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
from affine import Affine
from scipy import ndimage

import rasterio
import shapely
from rasterio.enums import MaskFlags
from rasterio.errors import RasterioIOError
from rasterio.features import rasterize, shapes
from rasterio.transform import rowcol
from rasterio.windows import Window

from blankspot._errors import InputFileError

__all__ = [
    "Grid",
    "ZonalResult",
    "burn",
    "extend_grid",
    "footprint",
    "grid_from_dataset",
    "pixel_index",
    "read_covered",
    "sample",
    "sample_centres",
    "union_by_group",
    "value_sample",
    "zonal",
    "zonal_mask",
    "zonal_union",
]

log = logging.getLogger("blankspot")

#: Rasters with at most this many pixels are read in one go when sampling points.
SMALL_RASTER_PIXELS = 16_000_000
#: Target number of pixels per strip read (float32: 64 MB).
STRIP_PIXELS = 16_000_000
#: Pixel centres transformed and sampled per chunk in :func:`sample_centres` (general path).
SAMPLE_CHUNK_PIXELS = 1_000_000
#: Vertices of the listed covered/uncovered pieces, in all (about 16 bytes each): beyond it a
#: speckled raster's smallest pieces are left out of the list (see :class:`_Speckle`).
PIECE_VERTEX_BUDGET = 4_000_000
#: Edge pieces generated per batch in :func:`zonal` (bounds the temporary arrays).
PIECES_PER_BATCH = 1_000_000
#: GDAL block cache (MB) while streaming: every block is read once, so GDAL's default
#: (5 % of RAM) would only grow the process by that much without saving any read.
#: rasterio passes an integer GDAL_CACHEMAX to GDALSetCacheMax64, in *bytes*: hence the
#: ``* 2**20`` at each use (a 64-byte cache made rasterize process one row at a time).
GDAL_CACHE_MB = 64
#: GDAL's ``NUM_THREADS`` for decoding GeoTIFF blocks; ``None`` in the worker processes of
#: :mod:`blankspot._parallel` (one thread each: the processes are the parallelism).
DECODE_THREADS: str | None = "ALL_CPUS"

Classifier = Callable[[np.ndarray], np.ndarray]
#: ``(rows, cols) -> bool mask`` of a half-open window of a grid (see :func:`zonal_mask`).
WindowMask = Callable[[tuple[int, int], tuple[int, int]], np.ndarray]


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
    #: GDAL scale and offset of the band: value = raw * scale + offset (applied on read)
    scale: float = 1.0
    offset: float = 0.0
    #: values (after scale/offset) outside this closed range are no data (None: no range)
    valid_range: tuple[float, float] | None = None


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
        scale=float(ds.scales[band - 1]) if ds.scales[band - 1] is not None else 1.0,
        offset=float(ds.offsets[band - 1]) if ds.offsets[band - 1] is not None else 0.0,
    )


def _read(
    ds: rasterio.io.DatasetReader, grid: Grid, rows: tuple[int, int], cols: tuple[int, int]
) -> tuple[np.ndarray, np.ndarray | None]:
    """Values and validity (``None`` = all valid) of the window ``rows`` x ``cols`` (half-open).

    Values are physical: the band's scale and offset are applied (after the nodata test,
    which compares raw values), and values outside ``grid.valid_range`` are not valid.
    """
    window = Window(cols[0], rows[0], cols[1] - cols[0], rows[1] - rows[0])
    with _damaged(grid):
        values = ds.read(grid.band, window=window)
        return _physical(values, _validity(ds, grid, values, window=window), grid)


@contextmanager
def _damaged(grid: Grid) -> Iterator[None]:
    """Turn GDAL's read failure (which names no file) into an error naming the raster."""
    try:
        yield
    except RasterioIOError as exc:
        raise InputFileError(
            f"coverage raster '{grid.path}' could not be read ({exc}; {exc.__cause__ or ''}). "
            "The file is truncated or damaged: copy or download it again (gdalinfo -checksum "
            "reads every pixel and shows where it breaks)."
        ) from exc


def _validity(
    ds: rasterio.io.DatasetReader, grid: Grid, values: np.ndarray, **read: Any
) -> np.ndarray | None:
    """Return the valid pixels of raw ``values`` read with ``read`` (None: all valid)."""
    if grid.mask_kind == "nodata":
        if math.isnan(grid.nodata):  # type: ignore[arg-type]
            return ~np.isnan(values)
        return values != np.asarray(grid.nodata).astype(values.dtype)
    if grid.mask_kind == "mask":
        return ds.read_masks(grid.band, **read) > 0
    return None


def _physical(
    values: np.ndarray, valid: np.ndarray | None, grid: Grid
) -> tuple[np.ndarray, np.ndarray | None]:
    """Apply scale/offset and the valid range to raw values read from ``grid``."""
    if grid.scale != 1.0 or grid.offset != 0.0:
        values = values.astype("float64")
        values *= grid.scale
        values += grid.offset
    if grid.valid_range is not None:
        lo, hi = grid.valid_range
        with np.errstate(invalid="ignore"):
            ok = (values >= lo) & (values <= hi)
        valid = ok if valid is None else valid & ok
    return values, valid


def value_sample(grid: Grid, max_pixels: int = 1_000_000) -> np.ndarray:
    """Return the valid physical values of a regular subsample of at most ``max_pixels``.

    The whole band when it is small; else a nearest-neighbour decimated read (GDAL reads
    only the rows it needs), so the cost is bounded whatever the raster's size. The
    ``valid_range`` is *not* applied: this is what the checks of ``from_raster`` look at.
    """
    step = max(1, math.ceil(math.sqrt(grid.width * grid.height / max_pixels)))
    shape = (max(1, grid.height // step), max(1, grid.width // step))
    raw = replace(grid, valid_range=None)
    with rasterio.Env(GDAL_CACHEMAX=GDAL_CACHE_MB * 2**20), open_raster(grid) as ds:
        with _damaged(grid):
            values = ds.read(grid.band, out_shape=shape)
            valid = _validity(ds, grid, values, out_shape=shape)
    values, valid = _physical(values, valid, raw)
    out = values.ravel() if valid is None else values[valid]
    return out[np.isfinite(out)].astype("float64")


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
    """Open for reading; GeoTIFFs with multi-threaded block decoding (``DECODE_THREADS``)."""
    if grid.driver == "GTiff" and DECODE_THREADS:
        return rasterio.open(grid.path, NUM_THREADS=DECODE_THREADS)
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
    with rasterio.Env(GDAL_CACHEMAX=GDAL_CACHE_MB * 2**20), open_raster(grid) as ds:
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


# --------------------------------------------------------------------------------------
# one grid for several sources (coverage.union with a raster among the sources)
# --------------------------------------------------------------------------------------


def extend_grid(grid: Grid, geoms: np.ndarray) -> tuple[Grid, int, int]:
    """Grow the grid's pixel lattice until it holds ``geoms`` (raster CRS).

    Returns ``(grown, top, left)``: pixel ``(r, c)`` of ``grown`` is pixel
    ``(r - top, c - left)`` of ``grid``, and every vertex of ``geoms`` lies inside ``grown``.
    Rows and columns are added on the top and left in whole blocks, so the strips of
    :func:`zonal_mask` stay aligned with the file's blocks. ``grid`` is returned as is
    when it already holds the polygons.
    """
    b = shapely.bounds(np.asarray(geoms, dtype=object)).reshape(-1, 4)
    ok = np.isfinite(b).all(axis=1)
    if not ok.any():
        return grid, 0, 0
    xmin, ymin = b[ok, 0].min(), b[ok, 1].min()
    xmax, ymax = b[ok, 2].max(), b[ok, 3].max()
    inv = ~grid.transform
    # the bounding box's corners bound the pixel coordinates, rotated grids included
    cx = np.array([xmin, xmax, xmax, xmin])
    cy = np.array([ymin, ymin, ymax, ymax])
    u = inv.a * cx + inv.b * cy + inv.c
    v = inv.d * cx + inv.e * cy + inv.f
    bw, bh = max(grid.block_width, 1), max(grid.block_height, 1)
    left = bw * math.ceil(max(0, -math.floor(u.min())) / bw)
    top = bh * math.ceil(max(0, -math.floor(v.min())) / bh)
    right = max(0, math.ceil(u.max()) - grid.width)
    bottom = max(0, math.ceil(v.max()) - grid.height)
    if not (left or top or right or bottom):
        return grid, 0, 0
    transform = grid.transform @ Affine.translation(-left, -top) if left or top else grid.transform
    grown = replace(
        grid,
        width=grid.width + left + right,
        height=grid.height + top + bottom,
        transform=transform,
    )
    return grown, top, left


def read_covered(
    ds: rasterio.io.DatasetReader,
    grid: Grid,
    classify: Classifier,
    rows: tuple[int, int],
    cols: tuple[int, int],
    *,
    offset: tuple[int, int] = (0, 0),
) -> np.ndarray:
    """Covered mask of a window of a grid grown by ``offset`` (rows on top, cols on the left).

    ``rows`` / ``cols`` are half-open pixel ranges of the grown grid (see
    :func:`extend_grid`); pixels beyond the raster are not covered.
    """
    h, w = rows[1] - rows[0], cols[1] - cols[0]
    r0, c0 = rows[0] - offset[0], cols[0] - offset[1]  # in the file's own pixels
    a, b = max(r0, 0), min(r0 + h, grid.height)
    c, d = max(c0, 0), min(c0 + w, grid.width)
    if (a, b, c, d) == (r0, r0 + h, c0, c0 + w):
        return _covered(*_read(ds, grid, (a, b), (c, d)), classify)
    out = np.zeros((h, w), dtype=bool)
    if a < b and c < d:
        out[a - r0 : b - r0, c - c0 : d - c0] = _covered(*_read(ds, grid, (a, b), (c, d)), classify)
    return out


def burn(
    polys_px: np.ndarray, tree: shapely.STRtree, rows: tuple[int, int], cols: tuple[int, int]
) -> np.ndarray:
    """Pixels of a window whose centre lies inside any of ``polys_px``.

    ``polys_px`` are polygons in the grid's pixel coordinates (``u`` = column, ``v`` = row)
    and ``tree`` their STRtree; only those touching the window are burnt, by
    :func:`rasterio.features.rasterize` (GDAL's scanline fill, pixel-centre rule).
    """
    shape = (rows[1] - rows[0], cols[1] - cols[0])
    hit = np.sort(tree.query(shapely.box(cols[0], rows[0], cols[1], rows[1])))
    if hit.size == 0:
        return np.zeros(shape, dtype=bool)
    out = rasterize(
        ((g, 1) for g in _geojson(polys_px[hit])),
        out_shape=shape,
        transform=Affine.translation(cols[0], rows[0]),
        fill=0,
        all_touched=False,
        dtype="uint8",
    )
    return out.view(bool)


def _geojson(polys: np.ndarray) -> list[Any]:
    """GeoJSON-like mappings of polygons for :func:`rasterio.features.rasterize`.

    Polygons without holes (tower discs) are written from one bulk coordinate array,
    about ten times faster than shapely's ``__geo_interface__`` (a Python loop over the
    vertices); any other geometry is passed as is.

    Examples
    --------
    >>> _geojson(np.array([shapely.box(0, 0, 1, 1)]))[0]["coordinates"][0][:2]
    [[1.0, 0.0], [1.0, 1.0]]
    """
    simple = (shapely.get_type_id(polys) == shapely.GeometryType.POLYGON) & (
        shapely.get_num_interior_rings(polys) == 0
    )
    out: list[Any] = list(polys)
    if not simple.any():
        return out
    pos = np.flatnonzero(simple)
    coords, which = shapely.get_coordinates(polys[pos], return_index=True)
    ends = np.flatnonzero(np.diff(which)) + 1
    for p, ring in zip(pos[np.unique(which)], np.split(coords, ends), strict=True):
        out[p] = {"type": "Polygon", "coordinates": [ring.tolist()]}
    return out


def sample_centres(
    other: Grid,
    classify: Classifier,
    transform: Affine,
    rows: tuple[int, int],
    cols: tuple[int, int],
    *,
    to_other: Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]] | None = None,
) -> np.ndarray:
    """Covered flag of raster ``other`` at the centre of each pixel of a window.

    The window is ``rows`` x ``cols`` of the grid with ``transform``; ``to_other`` maps its
    CRS to ``other``'s (``None``: same CRS). Point sampling as :func:`sample` does (the pixel
    holding the centre), never resampling. When both grids are north-up in one CRS the rows
    and columns of ``other`` are looked up once per row and per column of the window and one
    window of ``other`` is read; otherwise the centres are sampled in chunks of rows.
    """
    h, w = rows[1] - rows[0], cols[1] - cols[0]
    out = np.zeros((h, w), dtype=bool)
    t, o = transform, other.transform
    if to_other is None and t.b == t.d == o.b == o.d == 0:
        x = t.a * (np.arange(cols[0], cols[1]) + 0.5) + t.c
        y = t.e * (np.arange(rows[0], rows[1]) + 0.5) + t.f
        # x alone sets the column and y alone the row: look each up beside a point known
        # to be inside on the other axis (the raster's middle)
        mid_x, mid_y = o @ (other.width / 2, other.height / 2)
        _, cc, in_c = pixel_index(o, x, np.full(w, mid_y), other.width, other.height)
        rr, _, in_r = pixel_index(o, np.full(h, mid_x), y, other.width, other.height)
        if not (in_c.any() and in_r.any()):
            return out
        r0, r1 = int(rr[in_r].min()), int(rr[in_r].max()) + 1
        c0, c1 = int(cc[in_c].min()), int(cc[in_c].max()) + 1
        with rasterio.Env(GDAL_CACHEMAX=GDAL_CACHE_MB * 2**20), open_raster(other) as ds:
            cov = _covered(*_read(ds, other, (r0, r1), (c0, c1)), classify)
        out[np.ix_(in_r, in_c)] = cov[np.ix_(rr[in_r] - r0, cc[in_c] - c0)]
        return out
    step = max(1, SAMPLE_CHUNK_PIXELS // max(w, 1))
    u = np.arange(cols[0], cols[1]) + 0.5
    for r in range(rows[0], rows[1], step):  # chunks of rows bound the point arrays
        v = np.arange(r, min(r + step, rows[1])) + 0.5
        uu, vv = np.meshgrid(u, v)
        x = t.a * uu + t.b * vv + t.c
        y = t.d * uu + t.e * vv + t.f
        if to_other is not None:
            x, y = to_other(x.ravel(), y.ravel())
        cov, _ = sample(other, np.ravel(x), np.ravel(y), classify)
        out[r - rows[0] : r - rows[0] + v.size] = cov.reshape(v.size, w)
    return out


def zonal_union(
    grid: Grid,
    classify: Classifier,
    geoms: np.ndarray,
    *,
    polygons: np.ndarray,
    others: Sequence[tuple[Grid, Classifier, Callable[..., tuple[np.ndarray, np.ndarray]] | None]],
    pieces: str | None = None,
) -> tuple[ZonalResult, Grid]:
    """:func:`zonal` on the grid of raster ``grid``, covered where any source covers.

    A pixel is covered when the raster covers it, when its centre lies in one of
    ``polygons`` (raster CRS; burnt per strip) or when one of the ``others`` rasters
    (``(grid, classify, to_other)``, see :func:`sample_centres`) covers its centre. The grid
    is first grown to hold ``geoms`` (:func:`extend_grid`), so sources reaching beyond the
    raster count there too. Returns the result and the grown grid its pieces lie on.
    """
    grown, top, left = extend_grid(grid, geoms)
    polygons = np.asarray(polygons, dtype=object)
    inv = ~grown.transform
    polys_px = shapely.transform(
        polygons,
        lambda c: np.column_stack(
            [inv.a * c[:, 0] + inv.b * c[:, 1] + inv.c, inv.d * c[:, 0] + inv.e * c[:, 1] + inv.f]
        ),
    )
    tree = shapely.STRtree(polys_px)

    with rasterio.Env(GDAL_CACHEMAX=GDAL_CACHE_MB * 2**20), open_raster(grid) as ds:

        def covered(rows: tuple[int, int], cols: tuple[int, int]) -> np.ndarray:
            mask = read_covered(ds, grid, classify, rows, cols, offset=(top, left))
            if polys_px.size:
                mask |= burn(polys_px, tree, rows, cols)
            for o_grid, o_classify, to_other in others:  # a few rasters
                if mask.all():
                    break
                mask |= sample_centres(
                    o_grid, o_classify, grown.transform, rows, cols, to_other=to_other
                )
            return mask

        return zonal_mask(grown, geoms, covered, pieces=pieces), grown


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
    with rasterio.Env(GDAL_CACHEMAX=GDAL_CACHE_MB * 2**20), open_raster(grid) as ds:

        def covered(rows: tuple[int, int], cols: tuple[int, int]) -> np.ndarray:
            return _covered(*_read(ds, grid, rows, cols), classify)

        return zonal_mask(grid, geoms, covered, pieces=pieces)


def zonal_mask(
    grid: Grid,
    geoms: np.ndarray,
    covered: WindowMask,
    *,
    pieces: str | None = None,
) -> ZonalResult:
    """Like :func:`zonal`, with the covered mask of each window given by ``covered``.

    ``covered((row0, row1), (col0, col1))`` returns the boolean covered mask of that
    half-open window of ``grid`` (which is only used for its lattice: transform, size and
    block height). The windows asked for are strips of about ``STRIP_PIXELS`` pixels, from
    the bottom up, spanning the columns the polygons touch; each is asked for once.
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
    speckle = _Speckle(budget=PIECE_VERTEX_BUDGET, rows=r_hi - r_lo, pixel_area=abs(det))
    first_strip = r_lo // sh
    last_strip = (r_hi - 1) // sh
    for s in range(last_strip, first_strip - 1, -1):  # bottom-up: carry covered below
        a, b = max(s * sh, r_lo), min((s + 1) * sh, r_hi)
        cov = np.asarray(covered((a, b), (c_lo, c_hi)), dtype=bool)
        prefix = _column_prefix(cov)
        add((a, b), cov, prefix)
        carry += prefix[-1]
        if pieces:
            mask = speckle.sieve(cov if want else ~cov, found)
            found.append(_polygonise_strip(mask, grid, row0=a, col0=c_lo, tile=tile, tree=tree))
            speckle.add(found[-1][0])
        del cov, prefix
    add((r_lo - 1, r_lo), None, None)  # pieces above the raster
    covered_px = np.clip(sign * acc, 0.0, total_px)
    if speckle.min_px > 1:
        log.warning(
            "The raster is speckled: listing every %s piece would take more than %d "
            "vertices, so pieces of fewer than %d pixels (within a strip of rows) are left out "
            "of the pieces list; their area still counts in every share.",
            pieces,
            PIECE_VERTEX_BUDGET,
            speckle.min_px,
        )

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


def _column_prefix(mask: np.ndarray) -> np.ndarray:
    """Column-wise inclusive prefix sums of a boolean mask (``np.cumsum(mask, axis=0)``).

    Row by row: each step is one vectorised add over a row, about 15 times faster than
    ``np.cumsum`` along axis 0 of a bool array (which converts and adds element by element).

    Examples
    --------
    >>> _column_prefix(np.array([[True, False], [True, True], [False, True]])).tolist()
    [[1, 0], [2, 1], [2, 2]]
    """
    out = np.empty(mask.shape, dtype="int16" if mask.shape[0] < 2**15 else "int64")
    if mask.shape[0] == 0:
        return out
    out[0] = mask[0]
    for i in range(1, mask.shape[0]):  # rows of a strip: vectorised within each row
        np.add(out[i - 1], mask[i], out=out[i])
    return out


@dataclass
class _Speckle:
    """Bound the polygons listed for a speckled raster (memory and time stay linear).

    Every strip's mask is polygonised as is while the listed pieces' vertices stay within
    their share of ``budget`` (the strip's rows out of ``rows``). When a strip would exceed
    it, the minimum piece size ``min_px`` (4-connected pixels within the strip) is raised
    until it fits, and pieces already listed below the new size are dropped too, so one rule
    holds for the whole raster. ``min_px`` only grows; the Green's-theorem shares never
    depend on it.
    """

    budget: int
    rows: int
    pixel_area: float
    min_px: int = 1
    vertices: int = 0

    def sieve(self, mask: np.ndarray, found: list[tuple[np.ndarray, np.ndarray]]) -> np.ndarray:
        """Return ``mask`` without the pieces below ``min_px`` (raised first if needed)."""
        share = self.budget * mask.shape[0] / max(self.rows, 1)
        # boundary edges bound the vertices GDAL's polygonize can emit for this strip
        edges = 2 * mask.shape[1] + int(np.count_nonzero(mask[:, 1:] != mask[:, :-1]))
        edges += 2 * mask.shape[0] + int(np.count_nonzero(mask[1:] != mask[:-1]))
        if self.min_px <= 1 and edges <= share:
            return mask
        labels, n = ndimage.label(mask)
        if n == 0:
            return mask
        size = np.bincount(labels.ravel(), minlength=n + 1)
        perimeter = _perimeters(labels, n)
        if perimeter[size >= self.min_px][1:].sum() > share:
            # the smallest size whose larger pieces fit in this strip's share
            order = np.argsort(-size[1:], kind="stable") + 1
            fits = np.cumsum(perimeter[order]) <= share
            last = int(np.argmin(fits)) if not fits.all() else order.size
            new_min = int(size[order[last]]) + 1 if last < order.size else 1
            self._raise(max(new_min, self.min_px), found)
        keep = size >= self.min_px
        keep[0] = False
        return keep[labels]

    def add(self, polys: np.ndarray) -> None:
        """Count the vertices of a strip's new pieces."""
        self.vertices += int(shapely.get_num_coordinates(polys).sum())

    def _raise(self, min_px: int, found: list[tuple[np.ndarray, np.ndarray]]) -> None:
        self.min_px = min_px
        self.vertices = 0
        for i, (polys, on_edge) in enumerate(found):
            big = shapely.area(polys) / self.pixel_area >= min_px - 1e-6
            found[i] = (polys[big], on_edge[big])
            self.add(found[i][0])


def _perimeters(labels: np.ndarray, n: int) -> np.ndarray:
    """Boundary length (pixel edges) of every label ``0..n`` of a labelled strip."""
    out = np.zeros(n + 1, dtype="int64")
    for a, b in (
        (labels[:, 1:], labels[:, :-1]),
        (labels[1:], labels[:-1]),
    ):
        diff = a != b
        out += np.bincount(a[diff], minlength=n + 1) + np.bincount(b[diff], minlength=n + 1)
    for edge in (labels[0], labels[-1], labels[:, 0], labels[:, -1]):
        out += np.bincount(edge, minlength=n + 1)
    return out


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
    # one GDAL polygonize call for the whole strip: every pixel is labelled with its tile
    # (1 + tile index; 0 outside the tiles near a polygon), so no region crosses a tile
    # edge, and each polygon is the one its tile alone would give (a call per tile cost
    # more in rasterio's per-call set-up than in polygonising)
    lookup = np.zeros(boxes.size, dtype="int32")
    lookup[hit] = hit + 1
    n_cols = starts.size
    tile_r = ((row0 + np.arange(h)) // tile - row0 // tile).astype("int32")
    tile_c = ((col0 + np.arange(w)) // tile - col0 // tile).astype("int32")
    labels = lookup[tile_r[:, None] * n_cols + tile_c[None, :]]
    found = [
        (int(value) - 1, geom["coordinates"])
        for geom, value in shapes(
            labels,
            mask=mask & (labels > 0),
            connectivity=4,
            transform=Affine(1, 0, col0, 0, 1, row0),
        )
    ]
    del labels
    # in tile order, as tile-by-tile polygonising listed them
    found = [found[i] for i in np.argsort([f[0] for f in found], kind="stable")]
    coords: list[tuple[float, float]] = []
    ring_len: list[int] = []
    n_rings: list[int] = []
    tile_of: list[int] = []
    for k, rings in found:  # unpack GDAL's GeoJSON output
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
