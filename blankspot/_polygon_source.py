"""Coverage from polygons of covered area (operator coverage maps).

Re-exported by :mod:`blankspot.coverage` as :func:`~blankspot.coverage.from_polygons` and
:class:`~blankspot.coverage.PolygonCoverage`.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from typing import Any

import numpy as np

import geopandas as gpd
import shapely
from pyproj import CRS

from blankspot import _raster
from blankspot._coverage_base import (
    VillageCover,
    _cover_from_union,
    _crs_key,
    _polygonal_parts,
    _source_name,
    _transform_bounds,
    _vector_pieces,
    _vector_points,
    _villages_in,
    _xy,
)
from blankspot._errors import EmptyInputError, InputError
from blankspot._util import read_vector
from blankspot._validate import check_options, require_crs

__all__ = ["PolygonCoverage", "from_polygons"]

log = logging.getLogger("blankspot")


@dataclass(frozen=True, eq=False)
class PolygonCoverage:
    """Coverage from polygons of covered area; see :func:`from_polygons`.

    ``geometry`` holds single polygons (valid, in their own CRS); ``extent`` is the area the
    data speaks about (for speed tiles: every tile, covered or not), in the same CRS.
    """

    geometry: gpd.GeoSeries
    description: str
    extent: tuple[float, float, float, float]
    has_signal: bool = False
    _cache: dict[str, np.ndarray] = field(default_factory=dict, repr=False)

    def _parts(self, crs: CRS) -> np.ndarray:
        key = _crs_key(crs)
        if key not in self._cache:
            geom = self.geometry
            if CRS.from_user_input(geom.crs) != crs:
                geom = geom.to_crs(crs)
            self._cache[key] = np.asarray(geom.values, dtype=object)
        return self._cache[key]

    def bounds_in(self, crs: Any) -> tuple[float, float, float, float]:
        """Extent of the data in ``crs``."""
        crs = require_crs(crs, what="bounds_in(crs)")
        return _transform_bounds(self.extent, CRS.from_user_input(self.geometry.crs), crs)

    def points(
        self, x: np.ndarray, y: np.ndarray, crs: Any
    ) -> tuple[np.ndarray, np.ndarray | None]:
        """Covered where a point is inside (or on the edge of) a covered polygon; no signal."""
        crs = require_crs(crs, what="points(crs)")
        x, y = _xy(x, y)
        return _vector_points(self._parts(crs), x, y), None

    def village_cover(self, villages: gpd.GeoSeries, crs: Any) -> VillageCover:
        """Covered area = area of the union of covered polygons inside each village."""
        crs = require_crs(crs, what="village_cover(crs)")
        geoms, ids = _villages_in(villages, crs)
        v_idx, pieces = _vector_pieces(self._parts(crs), geoms)
        return _cover_from_union(geoms, _raster.union_by_group(pieces, v_idx, geoms.size), ids, crs)

    def _covered_pieces(self, villages: Any, crs: CRS) -> tuple[np.ndarray, np.ndarray]:
        geoms, _ = _villages_in(villages, crs)
        return _vector_pieces(self._parts(crs), geoms)


@check_options
def from_polygons(
    polygons: gpd.GeoDataFrame | gpd.GeoSeries | str | os.PathLike[str],
) -> PolygonCoverage:
    """Coverage from polygons of covered area, such as an operator's coverage map.

    Parameters
    ----------
    polygons
        GeoDataFrame or GeoSeries of (Multi)Polygons, or a path to any vector file pyogrio
        reads. It must have a CRS. Rows with no geometry are skipped (and counted in the log).

    Returns
    -------
    PolygonCoverage

    Raises
    ------
    InputFileError
        The file is missing or unreadable.
    CRSError
        The polygons have no CRS.
    EmptyInputError
        No polygons.
    InputError
        Points or lines among the geometries.

    See Also
    --------
    from_speed_tiles, from_towers, union

    Notes
    -----
    Invalid polygons are repaired with :func:`shapely.make_valid` (the count is logged).
    Overlapping polygons are fine: covered areas are unions, never double counted.

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely.geometry import box
    >>> cov = from_polygons(gpd.GeoSeries([box(0, 0, 10, 10)], crs="EPSG:32748"))
    >>> villages = gpd.GeoSeries([box(5, 0, 15, 10)], index=["v1"], crs="EPSG:32748")
    >>> vc = cov.village_cover(villages, villages.crs)
    >>> vc.covered_area_m2, vc.area_m2
    (array([50.]), array([100.]))
    >>> vc.uncovered.area.tolist()
    [50.0]
    """
    name = None
    if isinstance(polygons, (str, os.PathLike)):
        name = _source_name(polygons)
        polygons = read_vector(polygons, what="coverage polygons")
    if isinstance(polygons, gpd.GeoDataFrame):
        geom = polygons.geometry
    elif isinstance(polygons, gpd.GeoSeries):
        geom = polygons
    else:
        raise InputError(
            "polygons must be a GeoDataFrame, a GeoSeries or a path to a vector file, "
            f"got {type(polygons).__name__}."
        )
    what = f"coverage polygons '{name}'" if name else "coverage polygons"
    crs = require_crs(geom.crs, what=what)
    if len(geom) == 0:
        raise EmptyInputError(f"{what} has no rows; give at least one covered polygon.")
    missing = geom.isna().to_numpy() | geom.is_empty.to_numpy()
    if missing.all():
        raise EmptyInputError(f"{what}: all {len(geom)} rows have an empty geometry.")
    if missing.any():
        log.info("%s: skipped %d rows without geometry", what, int(missing.sum()))
    geom = geom[~missing]
    values = np.asarray(geom.values, dtype=object)
    types = shapely.get_type_id(values)
    polygonal = np.isin(types, [shapely.GeometryType.POLYGON, shapely.GeometryType.MULTIPOLYGON])
    is_gc = types == shapely.GeometryType.GEOMETRYCOLLECTION
    if is_gc.any():
        # a collection counts as polygonal when all its parts are
        parts, idx = shapely.get_parts(values[is_gc], return_index=True)
        part_poly = np.isin(
            shapely.get_type_id(parts),
            [shapely.GeometryType.POLYGON, shapely.GeometryType.MULTIPOLYGON],
        )
        ok = np.bincount(idx, weights=~part_poly, minlength=int(is_gc.sum())) == 0
        polygonal[np.flatnonzero(is_gc)[ok]] = True
    if not polygonal.all():
        bad = geom.index[~polygonal]
        names = sorted(set(geom.geom_type[~polygonal]))
        raise InputError(
            f"{what} must be polygons, but {len(bad)} row(s) are {', '.join(names)} "
            f"(rows {list(bad[:5])}{' ...' if len(bad) > 5 else ''}). Buffer points or lines "
            "into areas first (in metres, in a projected CRS), or use from_towers for towers."
        )
    invalid = ~shapely.is_valid(values)
    if invalid.any():
        log.info("%s: repaired %d invalid polygons with make_valid", what, int(invalid.sum()))
        values = values.copy()
        values[invalid] = shapely.make_valid(values[invalid])
    parts, _ = _polygonal_parts(values)
    if parts.size == 0:
        raise EmptyInputError(f"{what}: no polygon with a non-zero area is left after repair.")
    out = gpd.GeoSeries(parts, crs=crs)
    label = f"'{name}' " if name else ""
    return PolygonCoverage(
        geometry=out,
        description=f"coverage polygons {label}({len(geom)} features)",
        extent=tuple(float(b) for b in out.total_bounds),  # type: ignore[arg-type]
    )
