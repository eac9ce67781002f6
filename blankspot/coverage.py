"""Coverage sources: where there is mobile signal.

A coverage source is a small frozen dataclass that :func:`blankspot.assessment.assess` talks to
through four members (the :class:`CoverageSource` protocol): ``description``, ``has_signal``,
``bounds_in(crs)``, ``points(x, y, crs)`` and ``village_cover(villages, crs)``. ``crs`` is
always the projected working CRS; every area is in square metres of that CRS.

Sources:

* :func:`from_raster`: a signal-strength raster in dBm (RSRP) or a coverage-class raster
  (GSMA style). Read lazily by windows, never warped: points and villages are transformed
  into the raster's CRS instead.
* :func:`from_polygons`: polygons of covered area (operator coverage maps).
* :func:`from_towers`: discs around cell towers (OpenCelliD via :func:`blankspot.io.read_towers`).
* :func:`from_speed_tiles`: Ookla open-data speed-test tiles above a speed and test count.
* :func:`from_village_status`: coverage known per village (BPS Podes signal strength, a
  BAKTI blank-spot list): each village covered or not as a whole.
* :func:`union`: covered where any source covers (on the finest raster's grid when a raster
  takes part; see its Notes).
"""

from __future__ import annotations

import logging
from typing import Any

from blankspot._coverage_base import (
    _WGS84,
    MIN_PIECE_AREA_M2,
    CoverageSource,
    VillageCover,
    _cover_from_union,  # noqa: F401  (benchmarks/bench_coverage.py)
    _transform_bounds,
    _villages_in,  # noqa: F401  (benchmarks/bench_coverage.py)
)
from blankspot._errors import NoOverlapError
from blankspot._polygon_source import PolygonCoverage, from_polygons
from blankspot._raster_source import (
    MAX_SENTINEL_VALUES,  # noqa: F401
    RSRP_RANGE_DBM,  # noqa: F401
    RasterCoverage,
    from_raster,
)
from blankspot._speed_tiles import (
    _quadkey_tiles,  # noqa: F401
    _tile_bounds,  # noqa: F401
    from_speed_tiles,
)
from blankspot._tower_source import (
    DEFAULT_RADIUS_M,
    DISC_QUAD_SEGS,  # noqa: F401
    MAX_TOWER_RANGE_M,
    TowerCoverage,
    from_towers,
)
from blankspot._union import UnionCoverage, union
from blankspot._util import lonlat_text
from blankspot._validate import check_options, require_crs
from blankspot._village_status import VillageStatusCoverage, from_village_status

__all__ = [
    "DEFAULT_RADIUS_M",
    "MAX_TOWER_RANGE_M",
    "MIN_PIECE_AREA_M2",
    "CoverageSource",
    "PolygonCoverage",
    "RasterCoverage",
    "TowerCoverage",
    "UnionCoverage",
    "VillageCover",
    "VillageStatusCoverage",
    "check_overlap",
    "from_polygons",
    "from_raster",
    "from_speed_tiles",
    "from_towers",
    "from_village_status",
    "union",
]

log = logging.getLogger("blankspot")


# --------------------------------------------------------------------------------------
# overlap check
# --------------------------------------------------------------------------------------


@check_options
def check_overlap(
    source: Any, villages_bounds: tuple[float, float, float, float], crs: Any
) -> None:
    """Raise :class:`~blankspot.NoOverlapError` when the source's extent misses the villages.

    Parameters
    ----------
    source
        A coverage source.
    villages_bounds
        ``(minx, miny, maxx, maxy)`` of the villages in ``crs``.
    crs
        The CRS of ``villages_bounds`` (the working CRS).

    Raises
    ------
    NoOverlapError
        The extents do not overlap (touching edges do not count); the message gives both in
        lon/lat.

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely.geometry import box
    >>> cov = from_polygons(gpd.GeoSeries([box(0, 0, 10, 10)], crs="EPSG:32748"))
    >>> check_overlap(cov, (5.0, 5.0, 20.0, 20.0), "EPSG:32748")  # overlaps: returns None
    """
    crs = require_crs(crs, what="check_overlap(crs)")
    vb = tuple(float(b) for b in villages_bounds)
    # compared in lon/lat: a box far from its UTM zone's meridian is skewed
    s_ll = source.bounds_in(_WGS84)
    v_ll = _transform_bounds(vb, crs, _WGS84)  # type: ignore[arg-type]
    if s_ll[0] < v_ll[2] and v_ll[0] < s_ll[2] and s_ll[1] < v_ll[3] and v_ll[1] < s_ll[3]:
        return
    raise NoOverlapError(
        f"{source.description} covers {lonlat_text(s_ll)} but the villages cover "
        f"{lonlat_text(v_ll)}: they do not overlap. Check that each layer has its true CRS "
        "(a file written with the wrong CRS, or longitude and latitude swapped) and that the "
        "coverage is for the same area as the villages."
    )
