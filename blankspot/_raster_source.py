"""Coverage from a signal-strength (dBm) or coverage-class raster, and its dBm checks.

Re-exported by :mod:`blankspot.coverage` as :func:`~blankspot.coverage.from_raster`,
:class:`~blankspot.coverage.RasterCoverage` and ``RSRP_RANGE_DBM``; kept apart only to keep
``coverage.py`` to a readable size.
"""

from __future__ import annotations

import logging
import math
import numbers
import os
import warnings
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

import geopandas as gpd
import rasterio
import shapely
from pyproj import CRS, Transformer
from rasterio.errors import NotGeoreferencedWarning, RasterioIOError

from blankspot import _raster
from blankspot._coverage_base import (
    VillageCover,
    _polygonal_parts,
    _source_name,
    _transform_bounds,
    _uncovered_frame,
    _villages_in,
    _xy,
)
from blankspot._errors import InputError, InputFileError
from blankspot._validate import check_options, require_crs, warn_user

__all__ = ["MAX_SENTINEL_VALUES", "RSRP_RANGE_DBM", "RasterCoverage", "from_raster"]

log = logging.getLogger("blankspot")


@dataclass(frozen=True, eq=False)
class RasterCoverage:
    """Coverage from one band of a raster; see :func:`from_raster`.

    Holds only the path and metadata: pixels are read by windows when asked.
    """

    path: str
    band: int
    crs: CRS = field(repr=False)
    grid: _raster.Grid = field(repr=False)
    threshold_dbm: float | None
    covered_values: tuple[float, ...] | None
    description: str
    has_signal: bool
    #: plain-language caveats carried into ``Assessment.notes`` (e.g. sentinel values)
    notes: tuple[str, ...] = ()

    def _classify(self, values: np.ndarray) -> np.ndarray:
        if self.covered_values is not None:
            return np.isin(values, np.asarray(self.covered_values))
        return values >= self.threshold_dbm

    def bounds_in(self, crs: Any) -> tuple[float, float, float, float]:
        """Extent of the raster in ``crs`` (densified corner transform)."""
        crs = require_crs(crs, what="bounds_in(crs)")
        return _transform_bounds(_raster.footprint(self.grid).bounds, self.crs, crs)

    def points(
        self, x: np.ndarray, y: np.ndarray, crs: Any
    ) -> tuple[np.ndarray, np.ndarray | None]:
        """Covered flag and signal at points given in ``crs``.

        The points are transformed into the raster CRS and looked up by pixel with the same
        arithmetic as :meth:`rasterio.io.DatasetReader.sample`. Outside the raster and on
        nodata pixels: not covered, signal NaN. Signal is ``None`` for class rasters.
        """
        crs = require_crs(crs, what="points(crs)")
        x, y = _xy(x, y)
        if crs != self.crs:
            x, y = Transformer.from_crs(crs, self.crs, always_xy=True).transform(x, y)
        covered, values = _raster.sample(self.grid, x, y, self._classify)
        return covered, (values if self.has_signal else None)

    def _zonal(
        self, villages: Any, crs: CRS, pieces: str
    ) -> tuple[np.ndarray, pd.Index, _raster.ZonalResult, np.ndarray]:
        geoms, ids = _villages_in(villages, crs)
        geoms_r = (
            geoms if crs == self.crs else gpd.GeoSeries(geoms, crs=crs).to_crs(self.crs).values
        )
        geoms_r = np.asarray(geoms_r, dtype=object)
        return geoms, ids, _raster.zonal(self.grid, geoms_r, self._classify, pieces=pieces), geoms_r

    def village_cover(self, villages: gpd.GeoSeries, crs: Any) -> VillageCover:
        """Exact covered area per village and the uncovered polygons.

        The covered share is the coverage-weighted fraction of covered pixels (a pixel half
        inside a village counts half), computed in the raster CRS; the areas in m² come
        from the village polygons in ``crs``. Village parts outside the raster are uncovered.
        """
        crs = require_crs(crs, what="village_cover(crs)")
        geoms, ids, res, geoms_r = self._zonal(villages, crs, "uncovered")
        return _grid_cover(
            geoms, ids, res, geoms_r=geoms_r, grid=self.grid, crs=crs, grid_crs=self.crs
        )

    def _pixel_area_in(self, crs: CRS) -> float:
        """Area (in ``crs`` units²) of the raster's middle pixel, to pick the finest raster."""
        t = self.grid.transform
        c, r = self.grid.width // 2, self.grid.height // 2
        x, y = (
            np.array(v, dtype="float64")
            for v in zip(t @ (c, r), t @ (c + 1, r), t @ (c, r + 1), strict=True)
        )
        if crs != self.crs:
            x, y = Transformer.from_crs(self.crs, crs, always_xy=True).transform(x, y)
        return float(abs((x[1] - x[0]) * (y[2] - y[0]) - (x[2] - x[0]) * (y[1] - y[0])))


def _grid_cover(
    geoms: np.ndarray,
    ids: pd.Index,
    res: _raster.ZonalResult,
    *,
    geoms_r: np.ndarray,
    grid: _raster.Grid,
    crs: CRS,
    grid_crs: CRS,
) -> VillageCover:
    """VillageCover from a zonal result on ``grid`` (in ``grid_crs``).

    ``geoms`` are the villages in ``crs`` (their areas are the denominators), ``geoms_r`` the
    same villages in ``grid_crs``. Covered area = pixel share times village area; uncovered
    pieces touching a polygonising tile's edge are merged with their neighbours, parts of
    villages beyond the grid added, and everything moved to ``crs``.
    """
    area = np.nan_to_num(shapely.area(geoms))
    with np.errstate(divide="ignore", invalid="ignore"):
        share = np.where(res.total_px > 0, res.covered_px / res.total_px, 0.0)
    # the part of a village beyond the grid's edge is uncovered too
    foot = _raster.footprint(grid)
    out = np.flatnonzero(~shapely.covered_by(geoms_r, foot) & ~shapely.is_missing(geoms_r))
    beyond, b_idx = _polygonal_parts(shapely.difference(geoms_r[out], foot))
    # pieces touching a polygonising tile's edge may continue next door: union those
    edge = res.piece_on_tile_edge
    merged = _raster.union_by_group(
        np.concatenate([res.pieces[edge], beyond]),
        np.concatenate([res.piece_index[edge], out[b_idx]]),
        geoms.size,
    )
    m_parts, m_idx = _polygonal_parts(merged)
    parts = np.concatenate([res.pieces[~edge], m_parts])
    idx = np.concatenate([res.piece_index[~edge], m_idx])
    if crs != grid_crs and parts.size:
        parts = np.asarray(gpd.GeoSeries(parts, crs=grid_crs).to_crs(crs).values, object)
    return VillageCover(
        covered_area_m2=share * area,
        area_m2=area,
        uncovered=_uncovered_frame(parts, idx, ids, crs),
    )


def _check_threshold(threshold_dbm: Any) -> float:
    if isinstance(threshold_dbm, bool) or not isinstance(threshold_dbm, numbers.Real):
        raise InputError(
            f"threshold_dbm must be a number of dBm such as -110, got {threshold_dbm!r}."
        )
    value = float(threshold_dbm)
    if math.isnan(value):
        raise InputError("threshold_dbm is NaN; give a signal level in dBm such as -110.")
    if value >= 0:
        raise InputError(
            f"dBm thresholds are negative (RSRP runs from -140 to -44 dBm), got "
            f"threshold_dbm={threshold_dbm!r}. Did you mean {-abs(value):g}? -110 is a common "
            "rural 'covered' level, -100 'good'."
        )
    return value


def _check_covered_values(covered_values: Any) -> tuple[float, ...]:
    if isinstance(covered_values, numbers.Real) and not isinstance(covered_values, bool):
        covered_values = (covered_values,)
    if isinstance(covered_values, (str, bytes)) or not isinstance(covered_values, Iterable):
        raise InputError(
            f"covered_values must be a sequence of raster values that mean 'covered', such as "
            f"(1, 2) for GSMA classes; got {covered_values!r}."
        )
    out = tuple(covered_values)
    bad = [v for v in out if isinstance(v, bool) or not isinstance(v, numbers.Real)]
    if not out or bad:
        raise InputError(
            "covered_values must hold at least one number (the class values that mean "
            f"'covered', e.g. (1, 2)); got {covered_values!r}."
        )
    return out


#: Physically possible RSRP (dBm): the 3GPP reporting range (TS 36.133: -156 .. -31 dBm).
#: Values beyond it (after scale/offset) are no data, never a signal.
RSRP_RANGE_DBM = (-156.0, -31.0)
#: At most this many distinct out-of-range values are taken for undeclared nodata sentinels
#: (-9999, -32768, 32767, 0, ...); more mean the band is not in dBm at all.
MAX_SENTINEL_VALUES = 3


def _check_dbm_values(grid: _raster.Grid, what: str) -> str | None:
    """Refuse a band that is not RSRP in dBm; warn about a few sentinel values in one that is.

    Looks at a bounded subsample of the band (:func:`blankspot._raster.value_sample`).
    """
    v = _raster.value_sample(grid)
    lo, hi = RSRP_RANGE_DBM
    outside = (v < lo) | (v > hi)
    n_out = int(outside.sum())
    if n_out == 0:
        return None
    distinct = np.unique(v)
    odd = np.unique(v[outside])
    shown = ", ".join(f"{x:g}" for x in odd[:5]) + (" ..." if odd.size > 5 else "")
    scale = (
        f" (after scale {grid.scale:g} and offset {grid.offset:g})"
        if grid.scale != 1.0 or grid.offset != 0.0
        else ""
    )
    if (
        n_out > 0.5 * v.size
        and distinct.size <= 32
        and distinct.min() >= 0
        and np.all(distinct == np.round(distinct))
    ):
        raise InputError(
            f"{what} looks like a class raster (values {', '.join(f'{x:g}' for x in distinct)}"
            f"{scale}), not signal strength in dBm. Pass covered_values=... with the classes "
            "that mean covered, e.g. covered_values=(1, 2) for GSMA (1 = strong, "
            "2 = variable, 0 = none); on the command line --covered-values 1 2."
        )
    if odd.size <= MAX_SENTINEL_VALUES and n_out < v.size - n_out:
        note = (
            f"{what}: {odd.size} value(s) outside the physical RSRP range "
            f"({lo:g} to {hi:g} dBm){scale}: {shown}, on {n_out} of {v.size} pixels "
            "looked at. They look like undeclared nodata values and are treated as no data "
            "(never covered, no signal). Declare them as the raster's nodata to silence this."
        )
        warn_user(note)
        return note
    raise InputError(
        f"{what} is not signal strength in dBm: its values run from {v.min():g} to "
        f"{v.max():g}{scale}, and RSRP lies between {lo:g} and {hi:g} dBm ({n_out} of "
        f"{v.size} pixels looked at are outside, e.g. {shown}). If the values are scaled "
        "(e.g. tenths of a dBm), set the band's scale/offset metadata (gdal_edit.py -scale "
        "0.1) or rescale the raster; if it holds coverage classes, pass covered_values=... "
        "(CLI: --covered-values)."
    )


@check_options
def from_raster(
    path: str | os.PathLike[str],
    *,
    threshold_dbm: float = -110,
    covered_values: Iterable[float] | None = None,
    band: int = 1,
) -> RasterCoverage:
    """Coverage from a signal-strength (dBm) or coverage-class raster.

    Parameters
    ----------
    path
        Any raster GDAL reads (GeoTIFF, COG, ``/vsicurl/...``). It must have a CRS.
    threshold_dbm
        Signal strength (RSRP, dBm) from which a pixel counts as covered
        (``value >= threshold_dbm``). Default -110, a common rural "covered" level;
        -100 is "good". Ignored when ``covered_values`` is given.
    covered_values
        For a class raster: the pixel values meaning "covered", e.g. ``(1, 2)`` for the
        GSMA Mobile Coverage Explorer (1 = strong, 2 = variable, 0 = none). Then the source
        reports no signal level (``has_signal`` is False).
    band
        Band number, starting at 1.

    Returns
    -------
    RasterCoverage
        Holds the path and metadata only; pixels are read lazily, by windows.

    Raises
    ------
    InputFileError
        The file is missing or not a raster.
    CRSError
        The raster has no CRS.
    InputError
        ``band`` out of range, a non-negative or NaN ``threshold_dbm``, bad
        ``covered_values``, or an unsigned-integer raster read as dBm.

    See Also
    --------
    from_polygons, union

    Notes
    -----
    The raster is never warped. Points and villages are transformed into its CRS, so a
    raster in EPSG:4326 works as is. Nodata / masked pixels are never covered. Village
    covered shares are exact coverage-weighted pixel fractions (what exactextract computes),
    from one windowed pass over the pixels the villages touch; memory is one strip of
    about 16 million pixels.

    Examples
    --------
    >>> src = from_raster("rsrp.tif", threshold_dbm=-105)  # doctest: +SKIP
    >>> src.description  # doctest: +SKIP
    "raster 'rsrp.tif' >= -105 dBm"
    >>> gsma = from_raster("gsma_4g.tif", covered_values=(1, 2))  # doctest: +SKIP
    """
    if covered_values is None:
        threshold = _check_threshold(threshold_dbm)
        classes = None
    else:
        threshold = None
        classes = _check_covered_values(covered_values)
    spath = os.fspath(path)
    name = _source_name(spath)
    if not spath.startswith("/vsi"):
        if not Path(spath).is_file():
            raise InputFileError(
                f"coverage raster '{spath}' does not exist (looked in {Path.cwd()} for "
                "relative paths). Check the path and file name."
            )
        spath = str(Path(spath).resolve())
    try:
        with warnings.catch_warnings():
            # a raster without georeferencing is reported below as a missing CRS
            warnings.simplefilter("ignore", NotGeoreferencedWarning)
            ds = rasterio.open(spath)
    except RasterioIOError as exc:
        raise InputFileError(
            f"'{spath}' is not a raster GDAL can read ({exc}). Give a GeoTIFF (or any GDAL "
            "raster) of signal strength in dBm or of coverage classes."
        ) from exc
    with ds:
        if ds.count == 0:
            raise InputFileError(f"'{spath}' has no raster bands; give a coverage raster.")
        crs = require_crs(
            None if ds.crs is None else ds.crs.to_wkt(), what=f"coverage raster '{name}'"
        )
        if (
            isinstance(band, bool)
            or not isinstance(band, numbers.Integral)
            or not (1 <= band <= ds.count)
        ):
            raise InputError(
                f"band={band!r} is out of range: coverage raster '{name}' has {ds.count} "
                f"band(s), numbered 1..{ds.count}."
            )
        band = int(band)
        dtype = np.dtype(ds.dtypes[band - 1])
        grid = _raster.grid_from_dataset(ds, spath, band)
        scaled = grid.scale != 1.0 or grid.offset != 0.0
        if classes is None and dtype.kind == "u" and not scaled:
            raise InputError(
                f"coverage raster '{name}' band {band} is {dtype} (no negative values), so it "
                "cannot hold signal strength in dBm. If it is a class raster (e.g. GSMA "
                "1 = strong, 2 = variable, 0 = none) pass covered_values=(1, 2)."
            )
    if classes is None:
        grid = replace(grid, valid_range=RSRP_RANGE_DBM)
        note = _check_dbm_values(grid, f"coverage raster '{name}' band {band}")
        description = f"raster '{name}' >= {threshold:g} dBm"
    else:
        note = None
        description = f"class raster '{name}' in {list(classes)}"
    log.info(
        "Coverage %s: %d x %d pixels, band %d, %s",
        description,
        grid.width,
        grid.height,
        band,
        crs.to_string(),
    )
    return RasterCoverage(
        path=spath,
        band=band,
        crs=crs,
        grid=grid,
        threshold_dbm=threshold,
        covered_values=classes,
        description=description,
        has_signal=classes is None,
        notes=(note,) if note else (),
    )
