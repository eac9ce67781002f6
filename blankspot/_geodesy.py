"""Geodesy that is right anywhere in Indonesia (95°E to 141°E, UTM zones 46 to 54).

One UTM zone for a whole country is wrong by up to 20 % in area at its far ends. blankspot
therefore never measures in the working CRS alone:

* **areas** are computed in an equal-area projection of the WGS84 ellipsoid
  (:data:`EQUAL_AREA_CRS`, Lambert cylindrical equal-area): exact on the ellipsoid, whatever
  the working CRS, up to the straight-edge approximation between vertices (< 1e-5 for village
  polygons);
* **distances** (tower reach, site radius, backhaul) are straight chords between earth-centred
  (ECEF) points on the ellipsoid: a chord is shorter than the geodesic by ``d³ / (24 R²)``,
  1.3e-4 m at 5 km (a relative 3e-8), so a KD-tree in ECEF answers radius queries for the
  whole country at once, and :func:`chord_m` converts a radius to its chord;
* **planar geometry** (overlays, candidate lattices) is built in each village's own UTM zone
  (:func:`utm_epsg` of its centroid), where the scale error is under 0.1 %; shares computed
  there are ratios, so that error cancels. A village's results do not depend on the others.
* **discs** around towers are geodesic circles (:func:`geodesic_discs`), not buffers in a
  projection.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from scipy.spatial import cKDTree

import geopandas as gpd
import shapely
from pyproj import CRS, Geod, Transformer

from blankspot import _parallel

__all__ = [
    "EQUAL_AREA_CRS",
    "area_m2",
    "by_zone",
    "chord_m",
    "disc_polygons",
    "ecef",
    "ecef_of",
    "geodesic_discs",
    "geodesic_rings",
    "lonlat_of",
    "to_crs",
    "transform_xy",
    "utm_epsg",
    "village_cover_by_zone",
    "within_reach",
    "zone_of",
]

#: WGS 84 / NSIDC EASE-Grid 2.0 Global: Lambert cylindrical equal-area on the ellipsoid.
EQUAL_AREA_CRS = CRS.from_epsg(6933)
WGS84 = CRS.from_epsg(4326)
GEOD = Geod(ellps="WGS84")

_A = 6_378_137.0  # WGS84 semi-major axis, metres
_F = 1 / 298.257223563
_E2 = _F * (2 - _F)
#: Mean earth radius (IUGG), metres: the radius of curvature in :func:`chord_m`.
MEAN_RADIUS_M = 6_371_008.8


def _transformer(src: CRS, dst: CRS) -> Transformer:
    return Transformer.from_crs(src, dst, always_xy=True)


def lonlat_of(x: np.ndarray, y: np.ndarray, crs: CRS) -> tuple[np.ndarray, np.ndarray]:
    """Longitude and latitude (degrees, WGS84) of points given in ``crs``."""
    x = np.asarray(x, dtype="float64")
    y = np.asarray(y, dtype="float64")
    if CRS.from_user_input(crs).equals(WGS84):
        return x, y
    lon, lat = _transformer(crs, WGS84).transform(x, y)
    return np.asarray(lon, "float64"), np.asarray(lat, "float64")


def ecef(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    """Earth-centred earth-fixed coordinates (metres, ``(n, 3)``) on the WGS84 ellipsoid.

    Examples
    --------
    >>> ecef(np.array([0.0, 90.0]), np.array([0.0, 0.0])).round(3).tolist()
    [[6378137.0, 0.0, 0.0], [0.0, 6378137.0, 0.0]]
    """
    lam = np.radians(np.asarray(lon, dtype="float64"))
    phi = np.radians(np.asarray(lat, dtype="float64"))
    sin_phi = np.sin(phi)
    n = _A / np.sqrt(1.0 - _E2 * sin_phi**2)  # prime vertical radius of curvature
    cos_phi = np.cos(phi)
    return np.column_stack(
        [n * cos_phi * np.cos(lam), n * cos_phi * np.sin(lam), n * (1.0 - _E2) * sin_phi]
    )


def ecef_of(x: np.ndarray, y: np.ndarray, crs: CRS) -> np.ndarray:
    """ECEF coordinates (``(n, 3)``, metres) of points given in ``crs``."""
    return ecef(*lonlat_of(x, y, crs))


def chord_m(distance_m: np.ndarray | float) -> np.ndarray:
    """Straight-line (ECEF) length of a geodesic of ``distance_m`` metres.

    ``2 R sin(d / 2R)`` with the mean radius: the ellipsoid's curvature changes this by less
    than 1e-9 m at 10 km. Compare ECEF distances with this, not with ``distance_m``.

    Examples
    --------
    >>> float(chord_m(5000.0))  # 0.13 mm shorter
    4999.999871...
    """
    d = np.asarray(distance_m, dtype="float64")
    return 2.0 * MEAN_RADIUS_M * np.sin(d / (2.0 * MEAN_RADIUS_M))


def utm_epsg(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    """EPSG code of the WGS84 UTM zone of each point (326zz north, 327zz south).

    Examples
    --------
    >>> utm_epsg(np.array([105.2, 140.7, 95.3]), np.array([-5.4, -2.5, 5.5])).tolist()
    [32748, 32754, 32646]
    """
    lon = np.asarray(lon, dtype="float64")
    lat = np.asarray(lat, dtype="float64")
    zone = np.clip(np.floor((lon + 180.0) / 6.0).astype(np.int64) + 1, 1, 60)
    return np.where(lat < 0, 32700, 32600) + zone


def zone_of(geoms: np.ndarray, crs: CRS) -> np.ndarray:
    """EPSG code of the UTM zone of each geometry's centroid (-1 for missing geometries)."""
    geoms = np.asarray(geoms, dtype=object)
    xy = np.full((geoms.size, 2), np.nan)
    ok = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    if ok.any():
        c = shapely.centroid(geoms[ok])
        xy[ok] = np.column_stack([shapely.get_x(c), shapely.get_y(c)])
    return zone_of_xy(xy, crs)


def zone_of_xy(xy: np.ndarray, crs: CRS) -> np.ndarray:
    """EPSG code of the UTM zone of each ``(x, y)`` in ``crs`` (-1 where NaN)."""
    xy = np.asarray(xy, dtype="float64").reshape(-1, 2)
    out = np.full(len(xy), -1, dtype=np.int64)
    ok = np.isfinite(xy).all(axis=1)
    if ok.any():
        out[ok] = utm_epsg(*lonlat_of(xy[ok, 0], xy[ok, 1], crs))
    return out


def area_m2(geoms: np.ndarray, crs: CRS) -> np.ndarray:
    """Area of each geometry on the WGS84 ellipsoid (m²), whatever ``crs`` is.

    The vertices are moved to :data:`EQUAL_AREA_CRS`, where planar area is ellipsoidal area.
    Missing geometries give 0.

    Examples
    --------
    >>> from shapely.geometry import box
    >>> a = area_m2(np.array([box(105.0, -5.1, 105.1, -5.0)]), CRS.from_epsg(4326))[0]
    >>> b = abs(GEOD.geometry_area_perimeter(box(105.0, -5.1, 105.1, -5.0))[0])
    >>> bool(abs(a / b - 1) < 1e-5)
    True
    """
    geoms = np.asarray(geoms, dtype=object)
    if geoms.size == 0:
        return np.zeros(0)
    moved = gpd.GeoSeries(geoms, crs=crs).to_crs(EQUAL_AREA_CRS).array
    return np.nan_to_num(np.asarray(shapely.area(moved), dtype="float64"))


def geodesic_discs(
    lon: np.ndarray, lat: np.ndarray, radius_m: np.ndarray, crs: CRS, *, n_vertices: int
) -> np.ndarray:
    """Polygons inscribed in the geodesic circles of ``radius_m`` around each point, in ``crs``.

    Each has ``n_vertices`` vertices at exactly ``radius_m`` (geodesic) from its centre,
    starting due north, computed with :meth:`pyproj.Geod.fwd` in one vectorised call.
    """
    return disc_polygons(geodesic_rings(lon, lat, radius_m, n_vertices=n_vertices), crs)


def geodesic_rings(
    lon: np.ndarray, lat: np.ndarray, radius_m: np.ndarray, *, n_vertices: int
) -> np.ndarray:
    """Vertices (lon/lat, ``(n, n_vertices, 2)``) of the discs of :func:`geodesic_discs`.

    Computed once, they give the discs in any CRS (:func:`disc_polygons`) without calling
    :meth:`pyproj.Geod.fwd` again.

    Examples
    --------
    >>> ring = geodesic_rings(np.array([105.0]), np.array([-5.0]), np.array([5000.0]),
    ...                       n_vertices=4)
    >>> _, _, dist = GEOD.inv(np.full(4, 105.0), np.full(4, -5.0), ring[0, :, 0], ring[0, :, 1])
    >>> np.round(dist, 6).tolist()
    [5000.0, 5000.0, 5000.0, 5000.0]
    """
    lon = np.asarray(lon, dtype="float64")
    lat = np.asarray(lat, dtype="float64")
    r = np.broadcast_to(np.asarray(radius_m, dtype="float64"), lon.shape)
    if lon.size == 0:
        return np.zeros((0, n_vertices, 2))
    az = np.linspace(0.0, -360.0, n_vertices, endpoint=False)  # counter-clockwise from north
    lon2 = np.repeat(lon, n_vertices)
    lat2 = np.repeat(lat, n_vertices)
    vx, vy, _ = GEOD.fwd(lon2, lat2, np.tile(az, lon.size), np.repeat(r, n_vertices))
    return np.stack([np.asarray(vx), np.asarray(vy)], axis=-1).reshape(lon.size, n_vertices, 2)


def disc_polygons(rings: np.ndarray, crs: CRS) -> np.ndarray:
    """Build closed polygons in ``crs`` from lon/lat vertices ``(n, n_vertices, 2)``."""
    n, n_vertices, _ = rings.shape
    if n == 0:
        return np.zeros(0, dtype=object)
    vx, vy = rings[:, :, 0].ravel(), rings[:, :, 1].ravel()
    if not CRS.from_user_input(crs).equals(WGS84):
        vx, vy = _transformer(WGS84, crs).transform(vx, vy)
    ring = np.stack([np.asarray(vx), np.asarray(vy)], axis=-1).reshape(n, n_vertices, 2)
    ring = np.concatenate([ring, ring[:, :1]], axis=1)  # closed rings
    return np.asarray(shapely.polygons(ring), dtype=object)


def village_cover_by_zone(
    source: Any, villages: gpd.GeoSeries, wcrs: CRS, *, per_zone: bool, workers: int | None = 1
) -> tuple[np.ndarray, np.ndarray, gpd.GeoDataFrame]:
    """Covered share, ellipsoidal area and uncovered polygons of each village.

    With ``per_zone``, each village is overlaid in the UTM zone of its centroid (one
    ``source.village_cover`` call per zone), so its share does not depend on the other
    villages; otherwise everything is overlaid in ``wcrs`` (the caller's ``crs=``). The
    uncovered polygons come back in ``wcrs``, ordered by village, with their ellipsoidal
    area in ``area_m2`` (measured before leaving their zone).

    The zones are independent: with ``workers`` other than 1 they are overlaid in parallel
    (:mod:`blankspot._parallel`, largest first; ``None`` = one process per usable core) and
    put together in zone order, so the result is the serial one, bit for bit.

    Returns
    -------
    share, area_m2, uncovered
        Covered share (0-1; 0 for villages of zero area) and area (m²) aligned to
        ``villages``; the uncovered frame (``village_id``, ``area_m2``, geometry).
    """
    geoms = np.asarray(villages.values, dtype=object)
    n = geoms.size
    src_crs = CRS.from_user_input(villages.crs)
    zones = zone_of(geoms, src_crs) if per_zone else np.zeros(n, dtype=np.int64)
    share = np.zeros(n)
    codes = np.unique(zones)  # at most the 17 UTM zones (north and south) of Indonesia
    # largest first, so the last zone to start is a small one (vertices ~ work)
    size = np.bincount(
        np.searchsorted(codes, zones),
        weights=shapely.get_num_coordinates(geoms),
        minlength=codes.size,
    )
    order = codes[np.argsort(-size, kind="stable")]
    state = {
        "source": source,
        "villages": villages,
        "zones": zones,
        "wcrs": wcrs,
        "per_zone": per_zone,
        "src_crs": src_crs,
    }
    n_proc = _parallel.plan_workers(workers, codes.size)
    done = dict(
        zip(order, _parallel.run(_zone_cover, order, state=state, workers=n_proc), strict=True)
    )
    frames: list[gpd.GeoDataFrame] = []
    for z in codes:  # zone order, as a serial loop would
        pos, zone_share, frame = done[z]
        share[pos] = zone_share
        frames.append(frame)
    uncovered = pd.concat(frames) if frames else gpd.GeoDataFrame(geometry=[], crs=wcrs)
    uncovered = uncovered.iloc[np.argsort(uncovered["_pos"].to_numpy(), kind="stable")]
    uncovered = uncovered.drop(columns="_pos").reset_index(drop=True)
    return (
        share,
        area_m2(geoms, src_crs),
        gpd.GeoDataFrame(uncovered, geometry="geometry", crs=wcrs),
    )


def _zone_cover(state: dict[str, Any], z: int) -> tuple[np.ndarray, np.ndarray, gpd.GeoDataFrame]:
    """Overlay the villages of zone ``z`` (see :func:`village_cover_by_zone`)."""
    villages, wcrs, src_crs = state["villages"], state["wcrs"], state["src_crs"]
    pos = np.flatnonzero(state["zones"] == z)
    zcrs = CRS.from_epsg(int(z)) if state["per_zone"] and z > 0 else wcrs
    sub = villages.iloc[pos]
    sub = sub if src_crs.equals(zcrs) else sub.to_crs(zcrs)
    vc = state["source"].village_cover(sub, zcrs)
    planar = np.asarray(vc.area_m2, dtype="float64")
    with np.errstate(invalid="ignore", divide="ignore"):
        zone_share = np.where(
            planar > 0, np.clip(np.asarray(vc.covered_area_m2) / planar, 0.0, 1.0), 0.0
        )
    unc = vc.uncovered
    unc_geoms = np.asarray(unc.geometry.array, dtype=object)
    moved = unc_geoms if zcrs.equals(wcrs) else gpd.GeoSeries(unc_geoms, crs=zcrs).to_crs(wcrs)
    frame = gpd.GeoDataFrame(
        {
            "village_id": unc["village_id"].to_numpy(),
            "area_m2": area_m2(unc_geoms, zcrs),
            "_pos": pos[villages.index[pos].get_indexer(unc["village_id"])],
        },
        geometry=np.asarray(moved, dtype=object),
        crs=wcrs,
    )
    return pos, zone_share, frame


#: Radius groups in :func:`within_reach` (towers with many distinct ``range_m`` values).
_MAX_RADIUS_GROUPS = 16
#: Points per batch in :func:`within_reach` (bounds the KD-tree query arrays).
POINTS_PER_BATCH = 1_000_000


def _radius_groups(radius_m: np.ndarray) -> list[np.ndarray]:
    """Split centres into groups of similar radius, the largest group first.

    Up to ``_MAX_RADIUS_GROUPS`` distinct radii: one group each. Otherwise a radius shared by
    at least ``1 / _MAX_RADIUS_GROUPS`` of the centres is a group of its own (OpenCelliD:
    most cells at 1,000 m), and the others share groups by powers of two of the radius (the
    largest at most twice the smallest): each group costs one KD-tree query per point still
    uncovered, so few groups, and the big ones first, settle most points early.

    Examples
    --------
    >>> r = np.r_[np.full(30, 1000.0), 100.0 + np.arange(20), 3000.0 + np.arange(20)]
    >>> [(len(g), float(r[g].min()), float(r[g].max())) for g in _radius_groups(r)]
    [(30, 1000.0, 1000.0), (20, 100.0, 119.0), (20, 3000.0, 3019.0)]
    """
    distinct, inverse, counts = np.unique(radius_m, return_inverse=True, return_counts=True)
    if distinct.size <= _MAX_RADIUS_GROUPS:
        key = inverse
    else:
        heavy = counts * _MAX_RADIUS_GROUPS >= radius_m.size
        light = distinct[~heavy]
        base = light.min() if light.size else 1.0
        # heavy radii: keys -1, -2, ...; the others: their power-of-two bin, 0, 1, ...
        dkey = np.where(
            heavy,
            -1 - np.cumsum(heavy),
            np.floor(np.log2(np.maximum(distinct, base) / base)).astype(np.int64),
        )
        key = dkey[inverse]
    keys, sizes = np.unique(key, return_counts=True)
    return [np.flatnonzero(key == k) for k in keys[np.argsort(-sizes, kind="stable")]]


def within_reach(centres: np.ndarray, radius_m: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Whether each point is within the geodesic radius of any centre (ECEF ``(n, 3)`` arrays).

    Exact: a point is in reach of centre ``j`` when their chord is at most
    ``chord_m(radius_m[j])``. Centres are grouped by radius; in each group a nearest-centre
    query settles most points, and only points between the group's smallest and largest
    radius are checked pair by pair. Non-finite points are never in reach.

    Examples
    --------
    >>> c = ecef(np.array([105.0]), np.array([-5.0]))
    >>> lon, lat, _ = GEOD.fwd([105.0, 105.0], [-5.0, -5.0], [90.0, 90.0], [4999.0, 5001.0])
    >>> within_reach(c, np.array([5000.0]), ecef(np.array(lon), np.array(lat))).tolist()
    [True, False]
    """
    points = np.asarray(points, dtype="float64").reshape(-1, 3)
    radius_m = np.asarray(radius_m, dtype="float64").ravel()
    out = np.zeros(len(points), dtype=bool)
    ok = np.flatnonzero(np.isfinite(points).all(axis=1))
    if len(centres) == 0 or ok.size == 0:
        return out
    chord = chord_m(radius_m) * (1 + 1e-12)  # a point exactly at the radius is in reach
    # one query settles the points beyond the longest reach of every centre (most points
    # of a country: towers stand in towns), so the groups below see only the rest
    near_any = np.zeros(ok.size, dtype=bool)
    tree, reach = cKDTree(centres), float(chord.max()) * (1 + 1e-9)
    for start in range(0, ok.size, POINTS_PER_BATCH):
        batch = points[ok[start : start + POINTS_PER_BATCH]]
        d, _ = tree.query(batch, k=1, distance_upper_bound=reach)
        near_any[start : start + POINTS_PER_BATCH] = np.isfinite(d)
    ok = ok[near_any]
    for g in _radius_groups(radius_m):  # at most 16 groups
        tree = cKDTree(centres[g])
        c_lo, c_hi = chord[g].min(), chord[g].max()
        for start in range(0, ok.size, POINTS_PER_BATCH):
            sel = ok[start : start + POINTS_PER_BATCH]
            sel = sel[~out[sel]]
            if sel.size == 0:
                continue
            d, i = tree.query(points[sel], k=1, distance_upper_bound=c_hi)
            near = np.isfinite(d)
            hit = near & (d <= np.where(near, chord[g][np.minimum(i, len(g) - 1)], 0.0))
            out[sel[hit]] = True
            # the nearest centre has too short a reach, a farther one of the group may not
            unsure = sel[near & ~hit & (c_lo < c_hi)]
            if unsure.size:
                pairs = tree.sparse_distance_matrix(
                    cKDTree(points[unsure]), c_hi, output_type="ndarray"
                )
                reach = pairs["v"] <= chord[g][pairs["i"]]
                out[unsure[pairs["j"][reach]]] = True
    return out


def by_zone(geoms: np.ndarray, crs: CRS) -> list[tuple[np.ndarray, CRS]]:
    """Positions of ``geoms`` grouped by the UTM zone of their centroid, with the zone's CRS.

    Zones in EPSG order; positions ascending. For work done in metres on a plane (lattices,
    grid cells) where one UTM zone for a whole country would stretch distances by up to 20 %.
    """
    return _grouped(zone_of(np.asarray(geoms, dtype=object), crs), crs)


def by_zone_xy(xy: np.ndarray, crs: CRS) -> list[tuple[np.ndarray, CRS]]:
    """:func:`by_zone` for points given as ``(n, 2)`` coordinates in ``crs``."""
    return _grouped(zone_of_xy(xy, crs), crs)


def _grouped(zones: np.ndarray, crs: CRS) -> list[tuple[np.ndarray, CRS]]:
    return [
        (np.flatnonzero(zones == z), CRS.from_epsg(int(z)) if z > 0 else CRS.from_user_input(crs))
        for z in np.unique(zones)
    ]


def transform_xy(xy: np.ndarray, src: CRS, dst: CRS) -> np.ndarray:
    """``(n, 2)`` coordinates moved from ``src`` to ``dst`` (a copy-free no-op when equal)."""
    xy = np.asarray(xy, dtype="float64").reshape(-1, 2)
    if CRS.from_user_input(src).equals(dst) or len(xy) == 0:
        return xy
    x, y = _transformer(src, dst).transform(xy[:, 0], xy[:, 1])
    return np.column_stack([x, y])


def to_crs(geoms: np.ndarray, src: CRS, dst: CRS) -> np.ndarray:
    """Geometries moved from ``src`` to ``dst`` as a shapely array."""
    return np.asarray(gpd.GeoSeries(geoms, crs=src).to_crs(dst).array, dtype=object)
