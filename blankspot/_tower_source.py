"""Coverage from cell towers: discs of a radius, or terrain-aware footprints.

Re-exported by :mod:`blankspot.coverage` as :func:`~blankspot.coverage.from_towers`,
:class:`~blankspot.coverage.TowerCoverage`, ``DEFAULT_RADIUS_M`` and ``MAX_TOWER_RANGE_M``.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

import geopandas as gpd
import shapely
from pyproj import CRS

from blankspot import _geodesy, _raster, terrain
from blankspot._coverage_base import (
    _WGS84,
    VillageCover,
    _cover_from_union,
    _crs_key,
    _polygonal_parts,
    _transform_bounds,
    _vector_pieces,
    _vector_points,
    _villages_in,
    _xy,
)
from blankspot._errors import CRSError, EmptyInputError, InputError
from blankspot._validate import check_options, require_crs, tower_reach_m, warn_user

__all__ = ["DEFAULT_RADIUS_M", "MAX_TOWER_RANGE_M", "TowerCoverage", "from_towers"]

log = logging.getLogger("blankspot")


#: Largest believable tower reach (m): GSM's timing-advance limit, beyond every macro cell
#: in practice. A ``range_m`` above it is replaced by the radio's default radius (warned).
MAX_TOWER_RANGE_M = 35_000.0

#: Default coverage radius per radio type, metres, for towers whose ``range_m`` is unknown.
#:
#: Rural macro cells, conservative ends of published ranges: lower frequencies reach
#: further. GSM (900 MHz in Indonesia) and CDMA (800/850 MHz) 6 km; LTE (mostly 900 and
#: 1800 MHz here) 5 km, inside the 4-8 km that rural 4G macro cells on 12-30 m towers reach;
#: UMTS (2100 MHz, also limited by cell breathing under load) 3 km; NR mid-band
#: (2.3 / 3.5 GHz, higher path loss and less link budget) 1.5 km, inside the 1-2 km usual
#: for mid-band 5G. Override with ``from_towers(..., radius_m=...)``.
DEFAULT_RADIUS_M: dict[str, float] = {
    "GSM": 6_000.0,
    "UMTS": 3_000.0,
    "LTE": 5_000.0,
    "NR": 1_500.0,
    "CDMA": 6_000.0,
}

#: Segments per quarter circle of a tower disc: a 128-gon, area within 0.04 % of pi r².
DISC_QUAD_SEGS = 32

_RADIUS_HINT = "Rural macro cells reach about 4-8 km; see blankspot.coverage.DEFAULT_RADIUS_M."


@dataclass(frozen=True, eq=False)
class TowerCoverage:
    """Coverage discs around towers; see :func:`from_towers`.

    ``towers`` keeps the located input rows; ``radius_m`` is the disc radius of each (m).
    Discs are built in the working CRS when asked, never in degrees.
    """

    towers: gpd.GeoDataFrame
    radius_m: np.ndarray
    description: str
    has_signal: bool = False
    _cache: dict[str, np.ndarray] = field(default_factory=dict, repr=False)  # discs, centres
    #: terrain footprints (one geometry per tower, in the DEM's CRS) replacing the discs
    footprints: gpd.GeoSeries | None = None

    def discs(self, crs: Any) -> gpd.GeoSeries:
        """Return the tower discs (or terrain footprints) in the projected ``crs``.

        Discs are 128-gons; the result has the index of ``towers``.
        """
        crs = _require_projected(require_crs(crs, what="discs(crs)"))
        return gpd.GeoSeries(self._parts(crs), index=self.towers.index, crs=crs)

    def _parts(self, crs: CRS) -> np.ndarray:
        key = _crs_key(crs)
        if key not in self._cache:
            if self.footprints is not None:
                self._cache[key] = np.asarray(self.footprints.to_crs(crs).values, dtype=object)
            else:
                self._cache[key] = _geodesy.disc_polygons(self._rings(), crs)
        return self._cache[key]

    def _rings(self) -> np.ndarray:
        """Lon/lat vertices of every disc (``(n, 128, 2)``), computed once."""
        if "rings" not in self._cache:
            lonlat = shapely.get_coordinates(self.towers.geometry.to_crs(_WGS84).values)
            self._cache["rings"] = _geodesy.geodesic_rings(
                lonlat[:, 0], lonlat[:, 1], self.radius_m, n_vertices=4 * DISC_QUAD_SEGS
            )
        return self._cache["rings"]

    def _parts_near(self, crs: CRS, lonlat_bounds: tuple[float, ...]) -> np.ndarray:
        """Return the covered polygons in ``crs`` that reach into a lon/lat box, in tower order.

        The discs (or footprints) that lie wholly outside ``lonlat_bounds`` are left out; the
        others are exactly those of :meth:`_parts`. Not cached: a national run asks for one
        box per UTM zone, and only that zone's towers are moved to its CRS.
        """
        x0, y0, x1, y1 = lonlat_bounds
        if self.footprints is not None:
            parts = self._parts(crs)
            keep = shapely.intersects(
                shapely.box(*_transform_bounds((x0, y0, x1, y1), _WGS84, crs)), parts
            )
            return parts[keep]
        rings = self._rings()
        lo, hi = rings.min(axis=1), rings.max(axis=1)
        keep = (lo[:, 0] <= x1) & (hi[:, 0] >= x0) & (lo[:, 1] <= y1) & (hi[:, 1] >= y0)
        return _geodesy.disc_polygons(rings[keep], crs)

    def bounds_in(self, crs: Any) -> tuple[float, float, float, float]:
        """Extent of the discs in ``crs``."""
        crs = require_crs(crs, what="bounds_in(crs)")
        if "bounds" not in self._cache:  # the discs' northern, eastern... points suffice
            lonlat = shapely.get_coordinates(self.towers.geometry.to_crs(_WGS84).values)
            self._cache["bounds"] = shapely.total_bounds(
                _geodesy.geodesic_discs(
                    lonlat[:, 0], lonlat[:, 1], self.radius_m, _WGS84, n_vertices=4
                )
            )
        return _transform_bounds(tuple(self._cache["bounds"]), _WGS84, crs)  # type: ignore[arg-type]

    def points(
        self, x: np.ndarray, y: np.ndarray, crs: Any
    ) -> tuple[np.ndarray, np.ndarray | None]:
        """Covered where a point is within a tower's geodesic radius (ECEF chord); no signal."""
        crs = require_crs(crs, what="points(crs)")
        x, y = _xy(x, y)
        if self.footprints is not None:
            return _vector_points(_polygonal_parts(self._parts(crs))[0], x, y), None
        return _geodesy.within_reach(
            self._centres(), self.radius_m, _geodesy.ecef_of(x, y, crs)
        ), None

    def _centres(self) -> np.ndarray:
        """Tower positions as earth-centred (ECEF) coordinates, metres."""
        if "ecef" not in self._cache:
            xy = shapely.get_coordinates(self.towers.geometry.values)
            self._cache["ecef"] = _geodesy.ecef_of(xy[:, 0], xy[:, 1], self.towers.crs)
        return self._cache["ecef"]

    def village_cover(self, villages: gpd.GeoSeries, crs: Any) -> VillageCover:
        """Covered area = area of the union of discs inside each village."""
        crs = require_crs(crs, what="village_cover(crs)")
        geoms, ids = _villages_in(villages, crs)
        v_idx, pieces = self._covered_pieces(villages, crs)
        return _cover_from_union(geoms, _raster.union_by_group(pieces, v_idx, geoms.size), ids, crs)

    def _covered_pieces(self, villages: Any, crs: CRS) -> tuple[np.ndarray, np.ndarray]:
        self.discs(crs)  # validates that crs is projected
        geoms, _ = _villages_in(villages, crs)
        return _vector_pieces(self._parts(crs), geoms)


def _require_projected(crs: CRS) -> CRS:
    """Refuse a geographic CRS for tower discs (built in metres)."""
    if not crs.is_projected:
        raise CRSError(
            f"tower discs are built in metres; crs={crs.to_string()} is geographic. Give "
            "a projected CRS such as EPSG:32748 (UTM 48S, most of Lampung)."
        )
    return crs


@check_options
def from_towers(
    towers: gpd.GeoDataFrame,
    *,
    radius_m: float | Mapping[str, float] | None = None,
    dem: Any = None,
    model: str = "los",
    height_m: float = 30.0,
    target_height_m: float = 1.5,
    radio_profile: str = "LTE1800",
    environment: str = "suburban",
    threshold_dbm: float = -110.0,
    k_factor: float = 4 / 3,
) -> TowerCoverage:
    """Coverage discs around cell towers.

    Parameters
    ----------
    towers
        Towers as returned by :func:`blankspot.io.read_towers`: points (any CRS, usually
        EPSG:4326) with columns ``radio`` (GSM/UMTS/LTE/NR/CDMA) and ``range_m`` (metres,
        NaN/0 when unknown). Rows without geometry (rejected by the reader) are skipped and
        counted in the log.
    radius_m
        Disc radius override, metres. A number applies to every tower; a mapping
        ``{"LTE": 4000, ...}`` applies per radio type (other radios keep ``range_m``). When
        ``None``, each tower uses its ``range_m`` if positive, else ``DEFAULT_RADIUS_M``
        of its radio.
    dem
        A DEM (:func:`blankspot.terrain.read_dem`, or a path / list of tiles): coverage
        becomes each tower's terrain footprint (:func:`blankspot.terrain.footprints`)
        instead of a disc. ``None`` (default): discs.
    model
        With ``dem``: ``"los"`` = cells a phone at ``target_height_m`` can see within the
        radius; ``"hata"`` = cells whose predicted RSRP (Okumura-Hata / COST-231 median +
        knife-edge diffraction over the terrain) is at least ``threshold_dbm`` (the radius
        is then the link budget's, not ``radius_m``).
    height_m, target_height_m
        Antenna and phone heights above the ground, metres (with ``dem``). A ``height_m``
        column on ``towers`` gives a tower its own antenna height (empty cells: ``height_m``).
    radio_profile, environment, threshold_dbm, k_factor
        Radio profile (``"LTE900"``/``"LTE1800"``, see :data:`blankspot.terrain.RADIOS`),
        Hata clutter class, RSRP threshold (dBm) and effective earth-radius factor, for
        ``model="hata"`` (``k_factor`` for both).

    Returns
    -------
    TowerCoverage

    Raises
    ------
    InputError
        Not a GeoDataFrame, missing columns, non-point geometry, a zero/negative/NaN
        radius, an unknown radio key in ``radius_m``, or towers with no usable radius.
    CRSError
        The towers have no CRS.
    EmptyInputError
        No tower with a location.

    See Also
    --------
    DEFAULT_RADIUS_M, from_polygons, union

    Notes
    -----
    A business is covered when its geodesic distance to a tower is at most the radius
    (measured as a chord between earth-centred coordinates, exact to 1e-7). Village areas
    use 128-gons inscribed in the geodesic circles (area within 0.04 % of the circle's),
    built with :meth:`pyproj.Geod.fwd`, so they are right in any UTM zone.

    OpenCelliD ``range`` is estimated from where phones saw the cell, so it can be far
    larger or smaller than the real service area; pass ``radius_m`` to plan with a uniform,
    defensible radius.

    The defaults (``DEFAULT_RADIUS_M``) are conservative rural macro-cell reaches: GSM and
    CDMA 6 km (800-900 MHz carry furthest), LTE 5 km (inside the 4-8 km that rural 4G macro
    cells on 12-30 m towers reach), UMTS 3 km (2100 MHz, and cells shrink under load),
    NR 1.5 km (mid-band 2.3/3.5 GHz 5G reaches about 1-2 km).

    Examples
    --------
    >>> import geopandas as gpd, numpy as np
    >>> from shapely.geometry import Point
    >>> towers = gpd.GeoDataFrame(
    ...     {"radio": ["LTE"], "range_m": [np.nan]}, geometry=[Point(105, -5)], crs="EPSG:4326"
    ... )
    >>> cov = from_towers(towers)
    >>> cov.radius_m
    array([5000.])
    >>> cov.points(np.array([500_000.0, 506_000.0]), np.array([9_447_270.0] * 2), "EPSG:32748")
    (array([ True, False]), None)
    """
    if not isinstance(towers, gpd.GeoDataFrame):
        raise InputError(
            "towers must be a GeoDataFrame of points (see blankspot.io.read_towers), "
            f"got {type(towers).__name__}."
        )
    missing_cols = [c for c in ("radio", "range_m") if c not in towers.columns]
    if missing_cols:
        raise InputError(
            f"towers lack column(s) {missing_cols}; they have {list(towers.columns)}. Read "
            "them with blankspot.io.read_towers, or add 'radio' (GSM/UMTS/LTE/NR/CDMA) and "
            "'range_m' (metres, NaN when unknown)."
        )
    require_crs(towers.crs, what="towers")
    if len(towers) == 0:
        raise EmptyInputError("towers has no rows; give at least one tower.")
    located = ~(towers.geometry.isna().to_numpy() | towers.geometry.is_empty.to_numpy())
    if not located.all():
        log.info("Towers: skipped %d rows without a location (rejected)", int((~located).sum()))
    kept = towers[located]
    if len(kept) == 0:
        raise EmptyInputError(f"none of the {len(towers)} towers has a location.")
    not_point = shapely.get_type_id(kept.geometry.values) != shapely.GeometryType.POINT
    if not_point.any():
        raise InputError(
            f"towers must be points, but rows {list(kept.index[not_point][:5])} are not."
        )
    radio = (
        kept["radio"].astype("string").str.strip().str.upper().to_numpy(dtype=object, na_value="")
    )
    range_m = pd.to_numeric(kept["range_m"], errors="coerce").to_numpy(dtype="float64")
    if radius_m is None or isinstance(radius_m, Mapping):
        overrides: dict[str, float] = {}
        if isinstance(radius_m, Mapping):
            unknown = [k for k in radius_m if str(k).upper() not in DEFAULT_RADIUS_M]
            if unknown:
                raise InputError(
                    f"radius_m has unknown radio type(s) {unknown}; the radio types are "
                    f"{list(DEFAULT_RADIUS_M)}."
                )
            overrides = {
                str(k).upper(): tower_reach_m(v, f"radius_m[{k!r}]", hint=_RADIUS_HINT)
                for k, v in radius_m.items()
            }
        default = pd.Series(radio).map(DEFAULT_RADIUS_M).to_numpy(dtype="float64", na_value=np.nan)
        with np.errstate(invalid="ignore"):
            too_far = range_m > MAX_TOWER_RANGE_M
            radii = np.where(np.isfinite(range_m) & (range_m > 0) & ~too_far, range_m, default)
        if too_far.any():
            warn_user(
                f"{int(too_far.sum())} tower(s) have a range_m beyond {MAX_TOWER_RANGE_M:g} m, "
                "the reach of any macro cell (GSM's timing-advance limit; OpenCelliD's range is "
                "the spread of its measurements, not a reach): rows "
                f"{list(kept.index[too_far][:5])}, e.g. {range_m[too_far][0]:g} m. They use "
                "the default radius for their radio type instead (DEFAULT_RADIUS_M); pass "
                "radius_m= to choose another."
            )
        for key, value in overrides.items():  # a handful of radio types, not rows
            radii[radio == key] = value
        unusable = ~np.isfinite(radii)
        if unusable.any():
            rows = kept.index[unusable]
            raise InputError(
                f"{int(unusable.sum())} tower(s) have no range_m and an unknown radio type "
                f"{sorted(set(radio[unusable]))} (rows {list(rows[:5])}). Give radius_m, e.g. "
                "radius_m=5000 or a mapping per radio type."
            )
        how = "range_m, else default radius per radio"
        if overrides:
            how += ", " + ", ".join(f"{k} {v:g} m" for k, v in overrides.items())
    else:
        r = tower_reach_m(radius_m, "radius_m", hint=_RADIUS_HINT)
        radii = np.full(len(kept), r)
        how = f"radius {r:g} m"
    if dem is None:
        log.info("Towers: %d discs (%s)", len(kept), how)
        return TowerCoverage(towers=kept, radius_m=radii, description=f"{len(kept)} towers ({how})")
    dem = terrain.read_dem(dem)
    xy = shapely.get_coordinates(kept.geometry.values)
    fps = terrain.footprints(
        dem,
        xy[:, 0],
        xy[:, 1],
        crs=kept.crs,
        height_m=terrain.antenna_heights_m(kept, height_m, what="towers"),
        radius_m=radii if model == "los" else None,
        model=model,
        target_height_m=target_height_m,
        radio_profile=radio_profile,
        environment=environment,
        threshold_dbm=threshold_dbm,
        k_factor=k_factor,
    )
    fps.index = kept.index
    if model == "hata":
        how = f"{radio_profile} {environment} RSRP >= {threshold_dbm:g} dBm, {height_m:g} m masts"
    how = f"terrain {model} on {dem.name}: {how}"
    log.info("Towers: %d terrain footprints (%s)", len(kept), how)
    return TowerCoverage(
        towers=kept,
        radius_m=radii,
        description=f"{len(kept)} towers ({how})",
        footprints=fps,
    )
