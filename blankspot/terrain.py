"""Terrain: digital elevation models, line of sight and viewsheds.

* :func:`read_dem`: a GeoTIFF, SRTM ``.hgt`` tile, VRT, or a list/glob of tiles (mosaicked
  through a VRT held in memory) as a :class:`Dem`. Nothing is read until a window is asked for.
* :func:`line_of_sight`: clearance of many straight paths over the terrain at once, with
  earth curvature (effective radius ``k * R``) and an optional Fresnel-zone margin.
* :func:`viewshed`: which cells of the DEM a receiver can see from one antenna.

Distances are always in metres on the ellipsoid (geodesic between the end points), never in
the DEM's coordinate units: SRTM, Copernicus GLO-30 and most global DEMs are in EPSG:4326
(degrees). Profiles are sampled in the DEM's own grid (never warped) and the along-path
distance of a sample is its fraction of the geodesic length. Over the tens of kilometres a
radio path spans, the straight line in degrees and the geodesic differ by far less than a
cell.

This module is the public front and holds the coverage glue (:func:`footprints`,
:func:`covered_pairs`); the work is done, one job per module, in :mod:`blankspot._dem`
(reading and sampling DEMs), :mod:`blankspot._los` (line of sight and path loss over
profiles), :mod:`blankspot._viewshed` (radial sweeps) and :mod:`blankspot._propagation`
(Okumura-Hata, knife-edge diffraction).
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pandas as pd
from affine import Affine

import geopandas as gpd
import shapely
import shapely.geometry
from pyproj import Transformer
from rasterio.features import shapes
from rasterio.windows import Window  # noqa: F401 (callers read Dem windows: terrain.Window)

from blankspot import _propagation as _prop
from blankspot._dem import (
    EARTH_RADIUS_M,
    SPEED_OF_LIGHT_M_S,
    Dem,
    _coords,
    _heights,
    _pixel_coords,
    _positive,
    read_dem,
)
from blankspot._errors import InputError
from blankspot._los import _pair_windows, line_of_sight, path_loss
from blankspot._terrain_kernels import highest_cell_kernel
from blankspot._validate import check_options, require_crs
from blankspot._viewshed import Viewshed, _cell_view, _sweep, viewshed

__all__ = [
    "EARTH_RADIUS_M",
    "HEIGHT_COLUMN",
    "MODELS",
    "RADIOS",
    "Dem",
    "Radio",
    "Viewshed",
    "antenna_heights_m",
    "covered_pairs",
    "footprints",
    "hata_reach_m",
    "highest_ground",
    "line_of_sight",
    "path_loss",
    "read_dem",
    "viewshed",
]

log = logging.getLogger("blankspot")

Radio = _prop.Radio
RADIOS = _prop.RADIOS


# ---------------------------------------------------------------------------------------
# footprints and coverage of pairs (used by coverage.from_towers and ranking.rank_sites)

MODELS = ("los", "hata")
#: Longest reach considered for a Hata footprint (m), whatever the link budget says.
MAX_REACH_M = 50_000.0


def check_model(model: str) -> str:
    """Return ``model`` when it is one of :data:`MODELS`, else raise :class:`InputError`."""
    if model not in MODELS:
        raise InputError(f"model was {model!r} but is expected to be in {MODELS}.")
    return model


def hata_reach_m(
    radio_profile: str | _prop.Radio,
    *,
    height_m: float,
    target_height_m: float = 1.5,
    threshold_dbm: float = -110.0,
    environment: str = "suburban",
) -> float:
    """Distance (m) at which the flat-ground Hata RSRP falls to ``threshold_dbm``.

    Diffraction only adds loss, so no terrain puts a receiver beyond this in coverage.

    Examples
    --------
    >>> round(hata_reach_m("LTE900", height_m=30)), round(hata_reach_m("LTE1800", height_m=30))
    (4147, 2837)
    """
    r = _prop.radio_profile(radio_profile)
    budget = r.rsrp_offset_db - float(threshold_dbm)
    l1, l10 = _prop.hata_loss_db(
        np.array([1000.0, 10_000.0]),
        frequency_mhz=r.frequency_mhz,
        height_base_m=height_m,
        height_mobile_m=target_height_m,
        environment=environment,
    )
    return float(min(1000.0 * 10 ** ((budget - l1) / (l10 - l1)), MAX_REACH_M))


#: Column of a sites or towers table that gives each antenna's own height above the ground
#: (metres); empty cells take the function's default (``site_height_m`` / ``height_m``).
HEIGHT_COLUMN = "height_m"


def antenna_heights_m(table: pd.DataFrame, default_m: float, *, what: str) -> np.ndarray:
    """Each row's antenna height (metres): its ``height_m`` cell, else ``default_m``.

    Raises :class:`InputError` naming the rows whose ``height_m`` is not a number, negative
    or infinite. Without the column every row gets ``default_m``.

    Examples
    --------
    >>> import pandas as pd
    >>> antenna_heights_m(pd.DataFrame({"height_m": [45, None]}), 30.0, what="sites")
    array([45., 30.])
    """
    if HEIGHT_COLUMN not in table.columns:
        return np.full(len(table), float(default_m))
    raw = table[HEIGHT_COLUMN]
    h = pd.to_numeric(raw, errors="coerce").to_numpy("float64", na_value=np.nan)
    bad = (raw.notna().to_numpy() & np.isnan(h)) | (h < 0) | np.isinf(h)
    if bad.any():
        rows = table.index[bad]
        raise InputError(
            f"{HEIGHT_COLUMN} of {what} must be the antenna's height above the ground in "
            f"metres (>= 0; empty cells take the default); it is "
            f"{raw[bad].tolist()[:5]} for {rows.tolist()[:5]}. Fix those rows or drop "
            "the column."
        )
    return np.where(np.isnan(h), float(default_m), h)


def _footprint_mask(
    dem: Dem,
    x: float,
    y: float,
    *,
    model: str,
    height_m: float,
    target_height_m: float,
    radius_m: float,
    k: float,
    radio: _prop.Radio,
    environment: str,
    threshold_dbm: float,
    ds: Any = None,
) -> tuple[np.ndarray, Affine]:
    """Covered cells around one antenna (DEM CRS point): visible, or RSRP >= threshold."""
    sw = _sweep(dem, x, y, height_m=height_m, radius_m=radius_m, k=k, edges=model == "hata", ds=ds)
    if model == "los":
        (covered,) = _cell_view(sw, radius_m, target_height_m)
    else:
        _, d, target, horizon, s_edge = _cell_view(sw, radius_m, target_height_m, fields=True)
        lam = SPEED_OF_LIGHT_M_S / (radio.frequency_mhz * 1e6)
        with np.errstate(invalid="ignore", divide="ignore"):
            v = _prop.fresnel_v((horizon - target) * s_edge, s_edge, d - s_edge, lam)
        v = np.where(np.isfinite(horizon) & (d > s_edge), v, -np.inf)
        # smooth-earth v depends on distance only: tabulate it and interpolate
        table_d = np.linspace(0.0, radius_m, 512)[1:]
        table_v = _prop.smooth_earth_v(
            table_d, height_m, target_height_m, two_kr=sw.two_kr, wavelength_m=lam
        )
        v_smooth = np.interp(d, table_d, table_v)
        loss = _prop.hata_loss_db(
            d,
            frequency_mhz=radio.frequency_mhz,
            height_base_m=height_m,
            height_mobile_m=target_height_m,
            environment=environment,
        ) + _prop.excess_diffraction_db(v, v_smooth)
        # within the radius and not a void (what _cell_view's visible also requires)
        covered = radio.rsrp_offset_db - loss >= threshold_dbm
        covered &= (d <= radius_m) & ~np.isnan(sw.arr)
    return covered, dem.transform @ Affine.translation(sw.col0, sw.row0)


def _mask_polygon(mask: np.ndarray, transform: Affine) -> shapely.Geometry:
    parts = [
        shapely.geometry.shape(g)
        for g, _ in shapes(mask.view("uint8"), mask=mask, transform=transform)
    ]
    return shapely.union_all(parts) if parts else shapely.Polygon()


@check_options
def footprints(
    dem: Dem,
    x: Any,
    y: Any,
    *,
    height_m: Any,
    radius_m: Any = None,
    model: str = "los",
    target_height_m: float = 1.5,
    radio_profile: str | _prop.Radio = "LTE1800",
    environment: str = "suburban",
    threshold_dbm: float = -110.0,
    crs: Any = None,
    k_factor: float = 4 / 3,
) -> gpd.GeoSeries:
    """Coverage footprints of antennas over terrain, one (Multi)Polygon per antenna.

    Parameters
    ----------
    dem
        The terrain (:func:`read_dem`).
    x, y
        Antennas (arrays or scalars) in ``crs`` (``None``: the DEM's).
    height_m
        Antenna heights above the ground, metres (scalar or per antenna).
    radius_m
        Range, metres (scalar or per antenna). Required for ``model="los"``; for ``"hata"``
        the footprint also stops where flat-ground RSRP reaches ``threshold_dbm``
        (:func:`hata_reach_m`).
    model
        ``"los"``: cells a receiver at ``target_height_m`` can see (:func:`viewshed`) within
        ``radius_m``. ``"hata"``: cells whose predicted RSRP (Hata median + knife-edge
        diffraction, see :func:`path_loss` and the Notes) is at least ``threshold_dbm``.
    target_height_m, radio_profile, environment, threshold_dbm, k_factor
        As in :func:`path_loss` / :func:`viewshed`.
    crs
        CRS of ``x``, ``y``.

    Returns
    -------
    geopandas.GeoSeries
        In the DEM's CRS, one geometry per antenna (empty where nothing is covered).

    Notes
    -----
    On a grid, the knife edge of each cell is the horizon point of the radial sweep (the
    steepest obstacle seen from the antenna, interpolated between the two rays around the
    cell): Bullington's transmitter-side edge, which is the whole construction for one
    dominant ridge. :func:`path_loss` on pairs (used by ``rank_sites``) does the full
    Bullington construction with both ends. Cost: one radial sweep per antenna.
    """
    if not isinstance(dem, Dem):
        raise InputError(f"dem must be a Dem from read_dem(), got {type(dem).__name__}.")
    model = check_model(model)
    xs, ys = _coords(x, "x"), _coords(y, "y")
    if len(xs) != len(ys):
        raise InputError(f"x and y must have one length; got {len(xs)} and {len(ys)}.")
    n = len(xs)
    heights = _heights(height_m, "height_m", n)
    target = _positive(target_height_m, "target_height_m", allow_zero=True)
    k = _positive(k_factor, "k_factor")
    r = _prop.radio_profile(radio_profile)
    _prop._check_environment(environment)
    if radius_m is None:
        if model == "los":
            raise InputError("footprints(model='los') needs radius_m (metres).")
        radii = np.full(n, np.inf)
    else:
        radii = _heights(radius_m, "radius_m", n)
    xd, yd = dem.to_dem_crs(xs, ys, crs)
    xd, yd = np.asarray(xd, dtype="float64"), np.asarray(yd, dtype="float64")
    geoms = np.empty(n, dtype=object)
    reach = {}
    with dem.open() as ds:  # one dataset for all sweeps (and GDAL's block cache with it)
        for i in range(n):  # one radial sweep per antenna: each is a vectorised array job
            radius = float(radii[i])
            if model == "hata":
                h = float(heights[i])
                if h not in reach:
                    reach[h] = hata_reach_m(
                        r,
                        height_m=h,
                        target_height_m=target,
                        threshold_dbm=threshold_dbm,
                        environment=environment,
                    )
                radius = min(radius, reach[h])
            mask, transform = _footprint_mask(
                dem,
                float(xd[i]),
                float(yd[i]),
                model=model,
                height_m=float(heights[i]),
                target_height_m=target,
                radius_m=radius,
                k=k,
                radio=r,
                environment=environment,
                threshold_dbm=float(threshold_dbm),
                ds=ds,
            )
            geoms[i] = _mask_polygon(mask, transform)
    return gpd.GeoSeries(geoms, crs=dem.crs)


def covered_pairs(
    dem: Dem,
    sx: np.ndarray,
    sy: np.ndarray,
    tx: np.ndarray,
    ty: np.ndarray,
    *,
    crs: Any,
    model: str,
    height_m: Any,
    target_height_m: float,
    radio_profile: str | _prop.Radio = "LTE1800",
    environment: str = "suburban",
    threshold_dbm: float = -110.0,
    k_factor: float = 4 / 3,
) -> np.ndarray:
    """Whether each antenna (s) covers its receiver (t): visible, or RSRP >= threshold."""
    if check_model(model) == "los":
        res = line_of_sight(
            dem,
            sx,
            sy,
            tx,
            ty,
            height_a_m=height_m,
            height_b_m=target_height_m,
            crs=crs,
            k_factor=k_factor,
        )
        return res["clear"].to_numpy(dtype=bool)
    res = path_loss(
        dem,
        sx,
        sy,
        tx,
        ty,
        height_a_m=height_m,
        height_b_m=target_height_m,
        radio_profile=radio_profile,
        environment=environment,
        crs=crs,
        k_factor=k_factor,
    )
    with np.errstate(invalid="ignore"):
        return (res["rsrp_dbm"] >= threshold_dbm).to_numpy(dtype=bool)


@check_options
def highest_ground(dem: Dem, x: Any, y: Any, *, radius_m: float, crs: Any = None) -> pd.DataFrame:
    """Find the highest DEM cell within ``radius_m`` of each point: where a mast sees farthest.

    Parameters
    ----------
    dem
        The terrain (:func:`read_dem`).
    x, y
        The points (arrays or scalars), in ``crs`` (``None``: the DEM's).
    radius_m
        How far a point may move, metres (cells whose centre is within this distance, by the
        DEM's cell size in metres at its centre).
    crs
        CRS of ``x``, ``y`` and of the returned coordinates.

    Returns
    -------
    pandas.DataFrame
        One row per point (``RangeIndex``): ``x``, ``y`` (centre of the highest cell, in
        ``crs``), ``ground_m`` (its elevation), ``moved_m`` (geodesic distance from the
        point). A cell must be higher than the one under the point (else the point stays,
        ``ground_m`` its cell's elevation); ties go to the cell nearest the point. A point
        outside the DEM, or with only voids within reach, stays where it is with
        ``ground_m`` NaN (and is logged).

    Examples
    --------
    A 10 x 10 grid of 100 m cells, flat at 0 m but for one 50 m cell (column 6, row 3):

    >>> import numpy as np, rasterio, tempfile, pathlib
    >>> from affine import Affine
    >>> arr = np.zeros((10, 10), "int16"); arr[3, 6] = 50
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "hill.tif"
    >>> with rasterio.open(path, "w", driver="GTiff", width=10, height=10, count=1,
    ...     dtype="int16", crs="EPSG:32748", transform=Affine(100, 0, 500000, 0, -100, 9400000)
    ... ) as dst:
    ...     dst.write(arr, 1)
    >>> hg = highest_ground(read_dem(path), [500450, 500150], [9399550, 9399150], radius_m=300)
    >>> hg.round(1)  # the hill is sqrt(200^2 + 100^2) = 223.6 grid m (223.7 m on the ground,
    ...              # UTM's scale 0.9996) from the first point; the second is too far
              x          y  ground_m  moved_m
    0  500650.0  9399650.0      50.0    223.7
    1  500150.0  9399150.0       0.0      0.0
    """
    if not isinstance(dem, Dem):
        raise InputError(f"dem must be a Dem from read_dem(), got {type(dem).__name__}.")
    radius = _positive(radius_m, "radius_m", allow_zero=True)
    xs, ys = _coords(x, "x"), _coords(y, "y")
    if len(xs) != len(ys):
        raise InputError(f"x and y must have one length; got {len(xs)} and {len(ys)}.")
    xd, yd = (np.asarray(v, dtype="float64") for v in dem.to_dem_crs(xs, ys, crs))
    col, row = _pixel_coords(dem, xd, yd)
    n = len(xs)
    best_c = np.full(n, -1, dtype=np.int64)
    best_r = np.full(n, -1, dtype=np.int64)
    best_z = np.full(n, np.nan)
    inside = np.flatnonzero((col >= 0) & (col <= dem.width) & (row >= 0) & (row <= dem.height))
    mx, my = dem.cell_size_m()
    rc, rr = radius / mx + 1, radius / my + 1
    ci, ri = col[inside], row[inside]
    for group, arr, c_lo, r_lo in _pair_windows(dem, ci - rc, ri - rr, ci + rc, ri + rr):
        pts = inside[group]
        local_c, local_r = np.full(n, np.nan), np.full(n, np.nan)
        local_c[pts], local_r[pts] = col[pts] - c_lo, row[pts] - r_lo
        highest_cell_kernel(arr, pts, local_c, local_r, mx, my, radius, best_c, best_r, best_z)
        found = pts[best_c[pts] >= 0]
        best_c[found] += c_lo
        best_r[found] += r_lo
    moved = best_c >= 0  # -2: the point's own cell is the highest; -1: unknown ground
    new_x, new_y = xd.copy(), yd.copy()
    new_x[moved], new_y[moved] = dem.transform @ (best_c[moved] + 0.5, best_r[moved] + 0.5)
    unknown = best_c == -1
    best_z[unknown] = np.nan
    if unknown.any():
        log.info(
            "highest_ground: %d point(s) outside the DEM %s or with only voids within %g m: "
            "not moved",
            int(unknown.sum()),
            dem.name,
            radius,
        )
    dist = np.where(moved, dem.geodesic_m(xd, yd, new_x, new_y), 0.0)
    out_x, out_y = new_x, new_y
    if crs is not None and not require_crs(crs, what="crs").equals(dem.crs):
        tr = Transformer.from_crs(dem.crs, require_crs(crs, what="crs"), always_xy=True)
        out_x, out_y = tr.transform(new_x, new_y)
        # points that did not move keep their exact input coordinates (no round trip)
        out_x, out_y = np.where(moved, out_x, xs), np.where(moved, out_y, ys)
    return pd.DataFrame({"x": out_x, "y": out_y, "ground_m": best_z, "moved_m": dist})
