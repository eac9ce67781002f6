"""What every coverage source shares: the protocol, the result and their geometry helpers.

:class:`CoverageSource`, :class:`VillageCover` and the helpers that build it.

Re-exported by :mod:`blankspot.coverage`; the sources live in their own private modules
(``_raster_source``, ``_polygon_source``, ``_tower_source``, ``_speed_tiles``,
``_village_status``, ``_union``), all importing from here, so there is no import cycle.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np
import pandas as pd

import geopandas as gpd
import shapely
from pyproj import CRS, Transformer

from blankspot._errors import InputError

__all__ = ["MIN_PIECE_AREA_M2", "CoverageSource", "VillageCover"]

#: Uncovered pieces smaller than this (m²) are slivers of floating-point noise and dropped.
MIN_PIECE_AREA_M2 = 1.0

_WGS84 = CRS.from_epsg(4326)


# --------------------------------------------------------------------------------------
# protocol and result
# --------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class VillageCover:
    """How much of each village a coverage source covers.

    Attributes
    ----------
    covered_area_m2 : numpy.ndarray
        Covered area of each village (m², working CRS), aligned to the villages given.
    area_m2 : numpy.ndarray
        Area of each village (m², working CRS): the denominator of the covered share.
    uncovered : geopandas.GeoDataFrame
        One row per contiguous uncovered polygon per village (working CRS), column
        ``village_id``; geometry clipped to the village. Rows are ordered like the villages,
        and within a village by decreasing area. Pieces under ``MIN_PIECE_AREA_M2`` dropped.
    """

    covered_area_m2: np.ndarray
    area_m2: np.ndarray
    uncovered: gpd.GeoDataFrame

    @property
    def covered_share(self) -> np.ndarray:
        """``covered_area_m2 / area_m2`` (NaN for villages of zero area)."""
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(self.area_m2 > 0, self.covered_area_m2 / self.area_m2, np.nan)


@runtime_checkable
class CoverageSource(Protocol):
    """What :func:`blankspot.assessment.assess` needs from a coverage source."""

    description: str
    has_signal: bool

    def bounds_in(self, crs: Any) -> tuple[float, float, float, float]:
        """Extent ``(minx, miny, maxx, maxy)`` of the source in ``crs``."""
        ...

    def points(
        self, x: np.ndarray, y: np.ndarray, crs: Any
    ) -> tuple[np.ndarray, np.ndarray | None]:
        """Covered flag and signal (dBm, NaN where none; ``None`` without signal)."""
        ...

    def village_cover(self, villages: gpd.GeoSeries, crs: Any) -> VillageCover:
        """Covered and total area of each village, and its uncovered polygons."""
        ...


# --------------------------------------------------------------------------------------
# shared helpers
# --------------------------------------------------------------------------------------


def _crs_key(crs: CRS) -> str:
    return crs.to_wkt()


def _transform_bounds(
    bounds: tuple[float, float, float, float], src: CRS, dst: CRS
) -> tuple[float, float, float, float]:
    if src == dst:
        return tuple(float(b) for b in bounds)  # type: ignore[return-value]
    tr = Transformer.from_crs(src, dst, always_xy=True)
    return tuple(float(b) for b in tr.transform_bounds(*bounds, densify_pts=21))  # type: ignore[return-value]


def _xy(x: Any, y: Any) -> tuple[np.ndarray, np.ndarray]:
    x = np.asarray(x, dtype="float64").ravel()
    y = np.asarray(y, dtype="float64").ravel()
    if x.shape != y.shape:
        raise InputError(f"points(): x has {x.size} values but y has {y.size}; give one x per y.")
    return x, y


def _villages_in(villages: Any, crs: CRS) -> tuple[np.ndarray, pd.Index]:
    """Village geometries as a shapely array in ``crs``, and the village ids."""
    if isinstance(villages, gpd.GeoDataFrame):
        villages = villages.geometry
    if not isinstance(villages, gpd.GeoSeries):
        raise InputError(
            f"villages must be a GeoSeries (or GeoDataFrame) indexed by village id, "
            f"got {type(villages).__name__}."
        )
    if villages.crs is None:
        villages = villages.set_crs(crs)
    elif CRS.from_user_input(villages.crs) != crs:
        villages = villages.to_crs(crs)
    return np.asarray(villages.values, dtype=object), villages.index


def _polygonal_parts(geoms: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Non-empty polygon parts of each geometry, with the index of the geometry they came from."""
    parts, idx = shapely.get_parts(geoms, return_index=True)
    keep = (shapely.get_type_id(parts) == shapely.GeometryType.POLYGON) & ~shapely.is_empty(parts)
    return parts[keep], idx[keep]


def _uncovered_frame(
    parts: np.ndarray, idx: np.ndarray, ids: pd.Index, crs: CRS
) -> gpd.GeoDataFrame:
    """Build the frame of contiguous uncovered polygons ``parts`` of villages ``idx``.

    Slivers under ``MIN_PIECE_AREA_M2`` are dropped; rows are ordered by village, then by
    decreasing area.
    """
    area = shapely.area(parts)
    keep = area >= MIN_PIECE_AREA_M2
    parts, idx, area = parts[keep], idx[keep], area[keep]
    # ties on area broken by the representative point so the order is reproducible
    rep = (
        shapely.get_coordinates(shapely.point_on_surface(parts)) if parts.size else np.zeros((0, 2))
    )
    order = np.lexsort((rep[:, 1], rep[:, 0], -area, idx))
    return gpd.GeoDataFrame(
        {"village_id": ids.take(idx[order]).to_numpy()},
        geometry=gpd.GeoSeries(parts[order], crs=crs).values,
        crs=crs,
    )


def _cover_from_union(
    village_geoms: np.ndarray, covered: np.ndarray, ids: pd.Index, crs: CRS
) -> VillageCover:
    """VillageCover from the covered geometry of each village (``None`` = nothing covered)."""
    area = np.nan_to_num(shapely.area(village_geoms))
    has = ~shapely.is_missing(covered)
    covered_area = np.zeros(area.size)
    covered_area[has] = shapely.area(covered[has])
    uncovered = village_geoms.copy()
    uncovered[has] = shapely.difference(village_geoms[has], covered[has])
    return VillageCover(
        covered_area_m2=np.minimum(covered_area, area),
        area_m2=area,
        uncovered=_uncovered_frame(*_polygonal_parts(uncovered), ids, crs),
    )


def _vector_pieces(parts: np.ndarray, village_geoms: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Covered polygon ``parts`` clipped to each village: (village position, polygon)."""
    if parts.size == 0 or village_geoms.size == 0:
        return np.zeros(0, "int64"), np.zeros(0, object)
    tree = shapely.STRtree(parts)
    v_idx, p_idx = tree.query(village_geoms, predicate="intersects")
    clipped = shapely.intersection(village_geoms[v_idx], parts[p_idx])
    polys, which = _polygonal_parts(clipped)
    return v_idx[which], polys


def _vector_points(parts: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    covered = np.zeros(x.size, dtype=bool)
    ok = np.flatnonzero(np.isfinite(x) & np.isfinite(y))
    if parts.size == 0 or ok.size == 0:
        return covered
    hit = shapely.STRtree(parts).query(shapely.points(x[ok], y[ok]), predicate="intersects")[0]
    covered[ok[hit]] = True
    return covered


def _source_name(path: Any) -> str:
    return Path(str(path)).name
