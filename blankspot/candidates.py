"""Candidate tower sites: generated over the blank spots, or the user's own.

* :func:`candidate_sites` -- a grid over blank spots that hold uncovered businesses, the
  weighted centres of business clusters, and the user's own sites.
* :func:`read_sites` -- read and check the user's own candidate sites.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

import geopandas as gpd
import shapely
from pyproj import CRS

from blankspot import _geodesy, terrain
from blankspot._errors import EmptyInputError, InputError, InputFileError, NoOverlapError
from blankspot._examples import _toy_assessment  # noqa: F401 - used by the doctests
from blankspot._util import id_sort, lonlat_extent, point_xy, some
from blankspot._validate import check_options, positive_metres, require_crs
from blankspot.assessment import Assessment, _business_xy
from blankspot.scoring import _business_weight_column, _check_assessment, _uncovered_mask

__all__ = ["SITE_SOURCES", "candidate_sites", "read_sites"]

log = logging.getLogger("blankspot")

SITE_SOURCES = ("grid", "cluster", "user")

# Lattices bigger than this are refused (a spacing typo such as 2 instead of 2000 m).
_MAX_GRID_POINTS = 5_000_000
# uncovered businesses made into shapely points at a time (to find the blank spots holding them)
_POINTS_PER_QUERY = 1_000_000


def _read_site_file(path: Path) -> gpd.GeoDataFrame:
    if not path.exists():
        raise InputFileError(f"Sites file {str(path)!r} does not exist.")
    suffix = path.suffix.lower()
    try:
        if suffix in (".csv", ".txt"):
            frame = pd.read_csv(path)
            lower = {str(c).lower(): c for c in frame.columns}
            lon = next((lower[c] for c in ("lon", "lng", "longitude", "bujur") if c in lower), None)
            lat = next((lower[c] for c in ("lat", "latitude", "lintang") if c in lower), None)
            if lon is None or lat is None:
                raise InputError(
                    f"Sites CSV {str(path)!r} needs longitude and latitude columns (lon/lng/"
                    f"longitude/bujur and lat/latitude/lintang); it has {list(frame.columns)}."
                )
            x = pd.to_numeric(frame[lon], errors="coerce").to_numpy("float64")
            y = pd.to_numeric(frame[lat], errors="coerce").to_numpy("float64")
            bad = ~(np.isfinite(x) & np.isfinite(y) & (np.abs(x) <= 180) & (np.abs(y) <= 90))
            if bad.any():
                raise InputError(
                    f"Sites CSV {str(path)!r}: {int(bad.sum())} row(s) have missing or "
                    f"out-of-range coordinates (rows {some(np.flatnonzero(bad))}, 0-based)."
                )
            # a CSV of longitude/latitude is EPSG:4326 by documented default (STYLE.md)
            return gpd.GeoDataFrame(
                frame.drop(columns=[lon, lat]), geometry=gpd.points_from_xy(x, y), crs=4326
            )
        if suffix in (".parquet", ".geoparquet"):
            return gpd.read_parquet(path)
        return gpd.read_file(path)
    except (InputError, InputFileError):
        raise
    except Exception as exc:
        raise InputFileError(f"Cannot read sites file {str(path)!r}: {exc}") from exc


def _site_ids(gdf: gpd.GeoDataFrame, id_col: str | None, what: str) -> pd.Index:
    if id_col is not None:
        if id_col not in gdf.columns:
            raise InputError(
                f"id_col={id_col!r} is not a column of {what}; columns are {list(gdf.columns)}."
            )
        raw = gdf[id_col]
    elif "site_id" in gdf.columns:
        raw = gdf["site_id"]
    elif gdf.index.name == "site_id" or not isinstance(gdf.index, pd.RangeIndex):
        raw = gdf.index.to_series()
    else:
        # numbered by row, 1-based, so that the same file always gives the same ids
        return pd.Index(_numbered("U", len(gdf)), name="site_id")
    missing = raw.isna().to_numpy()
    if missing.any():
        raise InputError(
            f"{int(missing.sum())} site(s) of {what} have no id (rows "
            f"{some(np.flatnonzero(missing))}, 0-based). Fill the id column or drop id_col "
            "to number the sites."
        )
    ids = pd.Index(raw.astype(str).to_numpy(dtype=object), name="site_id")
    if ids.has_duplicates:
        dup = ids[ids.duplicated()].unique()
        raise InputError(
            f"{what} have duplicate site ids: {some(dup)}. Every site needs its own id; "
            "rename them or pass id_col= naming a unique column."
        )
    return ids


def _validate_sites(
    sites: Any, *, id_col: str | None, what: str, allow_missing_generated_cost: bool
) -> gpd.GeoDataFrame:
    """Check a sites table and return it indexed by ``site_id`` (str), CRS unchanged."""
    if isinstance(sites, str | Path):
        what = f"sites file {str(sites)!r}"
        sites = _read_site_file(Path(sites))
    if not isinstance(sites, gpd.GeoDataFrame):
        raise InputError(
            f"sites must be a GeoDataFrame, a vector file or a CSV of lon/lat (see "
            f"blankspot.read_sites / candidate_sites), got {type(sites).__name__}."
        )
    if len(sites) == 0:
        raise EmptyInputError(f"{what} have no rows: there is nothing to rank.")
    require_crs(sites.crs, what=what)
    ids = _site_ids(sites, id_col, what)
    out = sites.copy()
    out.index = ids
    for c in ("site_id",) if "site_id" in out.columns else ():
        out = out.drop(columns=c)
    if id_col is not None and id_col in out.columns:
        out = out.drop(columns=id_col)

    geoms = out.geometry.array
    empty = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    if empty.any():
        raise InputError(
            f"{int(empty.sum())} site(s) of {what} have no geometry: {some(ids[empty])}. "
            "Give each site a point (tower location) or a polygon (its service footprint)."
        )
    kind = shapely.get_type_id(geoms)
    ok = np.isin(kind, (0, 3, 6))  # Point, Polygon, MultiPolygon
    if not ok.all():
        raise InputError(
            f"{int((~ok).sum())} site(s) of {what} are neither points nor polygons "
            f"({some(ids[~ok])}: {some(pd.unique(np.asarray(out.geom_type)[~ok]))}). A site "
            "is a point (tower location) or a polygon footprint of the area it serves."
        )
    poly = kind != 0
    invalid = poly & ~shapely.is_valid(geoms)
    if invalid.any():
        raise InputError(
            f"{int(invalid.sum())} footprint polygon(s) of {what} are invalid: "
            f"{some(ids[invalid])}. Repair them, e.g. sites.geometry = sites.make_valid()."
        )

    if "source" not in out.columns:
        out["source"] = "user"
    out["source"] = out["source"].astype(object).where(out["source"].notna(), "user")
    generated = out["source"].isin(["grid", "cluster"]).to_numpy()

    if "cost_idr" in out.columns:
        raw = out["cost_idr"]
        cost = pd.to_numeric(raw, errors="coerce").to_numpy("float64", na_value=np.nan)
        not_number = raw.notna().to_numpy() & np.isnan(cost)
        nan = np.isnan(cost) & ~not_number
        if allow_missing_generated_cost:
            nan &= ~generated
        neg = cost < 0
        inf = np.isinf(cost)
        problems = [
            (not_number, "not a number"),
            (nan, "missing (NaN)"),
            (neg, "negative"),
            (inf, "infinite"),
        ]
        found = [f"{label} for {some(ids[m])}" for m, label in problems if m.any()]
        if found:
            raise InputError(
                f"cost_idr of {what} must be a finite number of rupiah >= 0; it is "
                + "; ".join(found)
                + ". Fill or fix those costs (e.g. sites['cost_idr'] = "
                "sites['cost_idr'].fillna(2.6e9)), or drop the column to use the default."
            )
        out["cost_idr"] = cost

    if "radius_m" in out.columns:
        raw = out["radius_m"]
        r = pd.to_numeric(raw, errors="coerce").to_numpy("float64", na_value=np.nan)
        bad = (raw.notna().to_numpy() & np.isnan(r)) | (r <= 0) | np.isinf(r)
        if bad.any():
            raise InputError(
                f"radius_m of {what} must be a positive, finite number of metres (or empty "
                f"for the default radius); it is not for {some(ids[bad])}."
            )
        out["radius_m"] = r
    if terrain.HEIGHT_COLUMN in out.columns:  # each site's own antenna height (rank_sites(dem=))
        out[terrain.HEIGHT_COLUMN] = terrain.antenna_heights_m(out, np.nan, what=what)
    return out


@check_options
def read_sites(source: Any, *, id_col: str | None = None) -> gpd.GeoDataFrame:
    """Read and check the user's own candidate sites.

    Parameters
    ----------
    source
        A GeoDataFrame, a vector file (GeoPackage, GeoJSON, Shapefile, GeoParquet, ...) or a
        CSV with longitude/latitude columns (``lon``/``lng``/``longitude``/``bujur`` and
        ``lat``/``latitude``/``lintang``, read as EPSG:4326). Each site is a point (tower
        location) or a polygon (the footprint it would serve, e.g. from a propagation
        study). Optional columns: ``cost_idr`` (rupiah), ``radius_m`` (metres; empty
        for the default radius of :func:`rank_sites`) and ``height_m`` (the antenna's height
        above the ground, metres, used over terrain; empty for ``site_height_m``).
    id_col
        Column holding the site ids. Default: a ``site_id`` column, else a non-default
        index, else ids ``U000001``, ``U000002``, ... by row.

    Returns
    -------
    GeoDataFrame
        Index ``site_id`` (str), a ``source`` column (``"user"`` unless given), the other
        columns and the geometry, in the input CRS (:func:`rank_sites` and
        :func:`candidate_sites` reproject it to the working CRS and log it).

    Raises
    ------
    InputFileError
        The file is missing or unreadable.
    CRSError
        The sites have no CRS.
    EmptyInputError
        There are no sites.
    InputError
        Missing or duplicate ids, missing or non-point/polygon geometry, invalid footprints,
        a ``cost_idr`` that is missing, not a number or negative, or a ``radius_m`` <= 0.

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely.geometry import Point
    >>> mine = gpd.GeoDataFrame({"name": ["kantor desa"], "cost_idr": [1.2e9]},
    ...                         geometry=[Point(105.26, -5.45)], crs="EPSG:4326")
    >>> read_sites(mine)[["source", "cost_idr"]]  # doctest: +NORMALIZE_WHITESPACE
            source      cost_idr
    site_id
    U000001   user  1.200000e+09
    """
    what = "sites" if not isinstance(source, str | Path) else f"sites file {str(source)!r}"
    return _validate_sites(source, id_col=id_col, what=what, allow_missing_generated_cost=False)


def _point_of(geoms: np.ndarray) -> np.ndarray:
    """Return each site's location: the point itself, or a point inside its footprint."""
    pts = np.asarray(geoms, dtype=object).copy()
    poly = shapely.get_type_id(pts) != 0
    if poly.any():
        pts[poly] = shapely.point_on_surface(pts[poly])
    return pts


def _village_of(points: np.ndarray, villages: gpd.GeoDataFrame) -> np.ndarray:
    """Village id containing each point (smallest id on a shared border), else None."""
    out = np.full(len(points), None, dtype=object)
    if len(points) == 0 or len(villages) == 0:
        return out
    p_idx, v_idx = villages.sindex.query(points, predicate="intersects")
    if len(p_idx):
        vids = np.asarray(villages.index, dtype=str)[v_idx]
        order = np.lexsort((vids, p_idx))
        p_sorted = p_idx[order]
        first = np.r_[True, p_sorted[1:] != p_sorted[:-1]]
        out[p_sorted[first]] = vids[order][first]
    return out


def _prepare_sites(
    sites: Any, assessment: Assessment, *, id_col: str | None = None
) -> gpd.GeoDataFrame:
    """Validate, reproject to the working CRS (logged) and sort by site id."""
    out = _validate_sites(sites, id_col=id_col, what="sites", allow_missing_generated_cost=True)
    src = CRS.from_user_input(out.crs)
    if not src.equals(assessment.crs):
        log.info(
            "Sites reprojected from %s to the working CRS %s",
            src.to_string(),
            assessment.crs.to_string(),
        )
        out = out.to_crs(assessment.crs)
    villages = assessment.villages
    touching = np.zeros(len(out), dtype=bool)
    if len(villages):
        hit, _ = villages.sindex.query(out.geometry.array, predicate="intersects")
        touching[hit] = True
    if not touching.any():
        raise NoOverlapError(
            f"None of the {len(out)} sites lies in or touches a village: sites cover "
            f"{lonlat_extent(out.total_bounds, out.crs)}, villages cover "
            f"{lonlat_extent(villages.total_bounds, villages.crs)}. Check the sites' CRS "
            "(are longitude and latitude swapped?) and that they belong to this assessment."
        )
    if not touching.all():
        log.info(
            "%d of %d sites lie outside every village (kept: they can still serve "
            "businesses within reach)",
            int((~touching).sum()),
            len(out),
        )
    return out.iloc[id_sort(out.index.to_numpy())]


def _lattice_in(polys: np.ndarray, spacing_m: float) -> np.ndarray:
    """Points of the lattice ``spacing_m * (i, j)`` inside or on each polygon, deduplicated."""
    if len(polys) == 0:
        return np.empty((0, 2))
    b = shapely.bounds(polys)
    i0 = np.ceil(b[:, 0] / spacing_m).astype(np.int64)
    i1 = np.floor(b[:, 2] / spacing_m).astype(np.int64)
    j0 = np.ceil(b[:, 1] / spacing_m).astype(np.int64)
    j1 = np.floor(b[:, 3] / spacing_m).astype(np.int64)
    nx_ = np.maximum(i1 - i0 + 1, 0)
    ny_ = np.maximum(j1 - j0 + 1, 0)
    per = nx_ * ny_
    total = int(per.sum())
    if total > _MAX_GRID_POINTS:
        raise InputError(
            f"spacing_m={spacing_m:g} would test {total:,} grid points (limit "
            f"{_MAX_GRID_POINTS:,}); use a larger spacing (metres, e.g. 2000)."
        )
    if total == 0:
        return np.empty((0, 2))
    poly_of = np.repeat(np.arange(len(polys)), per)
    k = np.arange(total) - np.repeat(np.cumsum(per) - per, per)
    ix = i0[poly_of] + k % nx_[poly_of]
    iy = j0[poly_of] + k // nx_[poly_of]
    shapely.prepare(polys)
    keep = shapely.intersects_xy(polys[poly_of], ix * spacing_m, iy * spacing_m)
    cells = np.unique(np.column_stack([ix[keep], iy[keep]]), axis=0)
    return cells.astype("float64") * spacing_m


def _cluster_centres(xy: np.ndarray, w: np.ndarray, spacing_m: float) -> np.ndarray:
    """Weighted centre of the points in each ``spacing_m`` cell (plain mean if weights are 0)."""
    if len(xy) == 0:
        return np.empty((0, 2))
    cell = np.floor(xy / spacing_m).astype(np.int64)
    cell -= cell.min(axis=0)
    # one int64 key per cell, ordered as the (column, row) pairs: a 1-D unique is much
    # faster than np.unique(axis=0) on millions of points
    _, inv = np.unique(cell[:, 0] * (int(cell[:, 1].max()) + 1) + cell[:, 1], return_inverse=True)
    inv = inv.ravel()
    tot = np.bincount(inv, weights=w)
    cnt = np.bincount(inv).astype("float64")
    use_w = tot > 0
    wx = np.where(use_w[inv], w, 1.0)
    den = np.where(use_w, tot, cnt)
    return np.column_stack(
        [
            np.bincount(inv, weights=wx * xy[:, 0]) / den,
            np.bincount(inv, weights=wx * xy[:, 1]) / den,
        ]
    )


def _reading_order(xy: np.ndarray) -> np.ndarray:
    """North to south, then west to east: the order ids are given in."""
    return np.lexsort((xy[:, 0], -xy[:, 1]))


def _numbered(prefix: str, n: int) -> np.ndarray:
    """Ids ``<prefix>000001``, ``<prefix>000002``, ... (wider past 999,999)."""
    if n == 0:
        return np.zeros(0, dtype=object)
    digits = np.char.zfill(np.arange(1, n + 1).astype(str), 6)
    return np.char.add(prefix, digits).astype(object)


def _to_high_ground(sites: gpd.GeoDataFrame, dem: Any, radius_m: float) -> gpd.GeoDataFrame:
    """Move generated ``sites`` to the highest DEM cell within ``radius_m`` (candidate_sites).

    Sites that land on one cell are merged into the first (by id: reading order); the log
    says how many.
    """
    xy = point_xy(sites.geometry.array)
    hg = terrain.highest_ground(dem, xy[:, 0], xy[:, 1], radius_m=radius_m, crs=sites.crs)
    out = sites.assign(ground_m=hg["ground_m"].to_numpy(), moved_m=hg["moved_m"].to_numpy())
    out = out.set_geometry(gpd.points_from_xy(hg["x"], hg["y"], crs=sites.crs))
    dup = pd.DataFrame({"x": hg["x"], "y": hg["y"]}).duplicated().to_numpy()
    if dup.any():
        log.info(
            "candidate_sites: %d %s site(s) moved onto the same hilltop as an earlier one "
            "and were merged into it: %s",
            int(dup.sum()),
            sites["source"].iloc[0],
            some(sites.index[dup]),
        )
    return out[~dup]


@check_options
def candidate_sites(
    assessment: Assessment,
    *,
    spacing_m: float = 2000.0,
    grid: bool = True,
    clusters: bool = True,
    user_sites: Any = None,
    id_col: str | None = None,
    dem: Any = None,
    search_radius_m: float = 500.0,
) -> gpd.GeoDataFrame:
    """Propose candidate tower locations that can serve the uncovered businesses.

    Parameters
    ----------
    assessment
        The result of :func:`blankspot.assess`.
    spacing_m
        Grid spacing and cluster size, metres (default 2000).
    grid
        Add the points of a ``spacing_m`` grid (aligned on multiples of ``spacing_m`` in the
        UTM zone of each blank spot, so the spacing is true metres anywhere) that lie in
        blank spots holding uncovered businesses.
    clusters
        Add the weighted centre of the uncovered businesses in each ``spacing_m`` x
        ``spacing_m`` cell (of each business's UTM zone). In counts mode (no business
        locations) these are the representative points of the blank spots whose village
        has uncovered businesses.
    user_sites
        Your own sites (government land, existing non-telecom towers), as accepted by
        :func:`read_sites`: added with ``source = "user"`` (or their own ``source``).
    id_col
        Id column of ``user_sites`` (see :func:`read_sites`).
    dem
        A DEM (:func:`blankspot.terrain.read_dem`, a path or a list of tiles): prefer high
        ground. Each generated site (grid and cluster) moves to the highest DEM cell within
        ``search_radius_m`` (ties: the nearest), where a mast sees farthest. Generated sites
        that land on one cell are merged (the first id in reading order stays). User sites
        never move. ``None`` (default): sites stay where they are generated.
    search_radius_m
        How far, metres, a generated site may move to higher ground (with ``dem``).

    Returns
    -------
    GeoDataFrame
        Index ``site_id`` (str: ``G000001``... for grid points and ``C000001``... for
        cluster centres, numbered north to south then west to east; the user's ids),
        columns ``source`` (``grid``/``cluster``/``user``), ``village_id`` (village
        containing the site, or missing), the user's ``cost_idr``/``radius_m``/other
        columns when given (missing for generated sites), ``geometry``; working CRS. With
        ``dem`` also ``ground_m`` (the DEM's elevation at a generated site, metres) and
        ``moved_m`` (how far it moved uphill); missing for user sites.

    Raises
    ------
    InputError
        ``spacing_m`` is not a positive number of metres or gives too many grid points;
        user site problems (see :func:`read_sites`); a user site id equal to a generated one.

    Examples
    --------
    >>> sites = candidate_sites(_toy_assessment(), spacing_m=500)
    >>> sites["source"].value_counts().sort_index().to_dict()
    {'cluster': 4, 'grid': 12}
    >>> sites.loc["C000001", "village_id"]
    '18.01.01.2002'
    """
    assessment = _check_assessment(assessment, "candidate_sites")
    spacing_m = positive_metres(spacing_m, "spacing_m")
    if dem is not None:
        dem = terrain.read_dem(dem)
        search_radius_m = positive_metres(search_radius_m, "search_radius_m")
    crs = assessment.crs
    spots = assessment.blank_spots
    parts: list[gpd.GeoDataFrame] = []

    biz = assessment.businesses
    if biz is not None:
        unc = _uncovered_mask(biz)
        w_all = _business_weight_column(biz, unc)
        bxy = _business_xy(biz, np.flatnonzero(unc))
        bx, by = bxy[:, 0], bxy[:, 1]
        bw = w_all[unc]
        # blank spots that hold at least one uncovered business (points made a batch at a
        # time: a country's uncovered businesses as shapely points would not fit)
        holding = np.zeros(len(spots), dtype=bool)
        spot_geoms = np.asarray(spots.geometry.array)
        for i in range(0, len(bxy) if len(spots) else 0, _POINTS_PER_QUERY):
            # the spots query a tree of the points: each spot polygon is prepared once
            # (a tree of the spots would test every point against unprepared polygons)
            tree = shapely.STRtree(shapely.points(bxy[i : i + _POINTS_PER_QUERY]))
            todo = np.flatnonzero(~holding)
            s_idx, _ = tree.query(spot_geoms[todo], predicate="intersects")
            holding[todo[s_idx]] = True
    else:
        bx = by = bw = np.zeros(0)
        v_unc = pd.to_numeric(assessment.villages["n_uncovered"], errors="coerce")
        needy = set(assessment.villages.index[(v_unc > 0).to_numpy()])
        holding = spots["village_id"].isin(needy).to_numpy() if len(spots) else np.zeros(0, bool)

    if grid:
        polys = np.asarray(spots.geometry.array[holding])
        found = [np.empty((0, 2))]
        for pos, zcrs in _geodesy.by_zone(polys, crs):  # the lattice is in metres per zone
            zpolys = polys[pos] if zcrs.equals(crs) else _geodesy.to_crs(polys[pos], crs, zcrs)
            found.append(_geodesy.transform_xy(_lattice_in(zpolys, spacing_m), zcrs, crs))
        xy = np.concatenate(found)
        xy = xy[_reading_order(xy)]
        parts.append(
            gpd.GeoDataFrame(
                {"source": np.full(len(xy), "grid", dtype=object)},
                geometry=gpd.points_from_xy(xy[:, 0], xy[:, 1]),
                index=pd.Index(_numbered("G", len(xy)), name="site_id"),
                crs=crs,
            )
        )
    if clusters:
        if biz is not None:
            found = [np.empty((0, 2))]
            for pos, zcrs in _geodesy.by_zone_xy(bxy, crs):  # cells in metres per UTM zone
                zxy = _geodesy.transform_xy(np.column_stack([bx[pos], by[pos]]), crs, zcrs)
                centres = _cluster_centres(zxy, bw[pos], spacing_m)
                found.append(_geodesy.transform_xy(centres, zcrs, crs))
            xy = np.concatenate(found)
        else:
            rp = shapely.point_on_surface(np.asarray(spots.geometry.array[holding]))
            xy = point_xy(rp)
        xy = xy[_reading_order(xy)]
        parts.append(
            gpd.GeoDataFrame(
                {"source": np.full(len(xy), "cluster", dtype=object)},
                geometry=gpd.points_from_xy(xy[:, 0], xy[:, 1]),
                index=pd.Index(_numbered("C", len(xy)), name="site_id"),
                crs=crs,
            )
        )
    if dem is not None and parts:
        parts = [_to_high_ground(p, dem, search_radius_m) for p in parts]
    if user_sites is not None:
        mine = _validate_sites(
            user_sites, id_col=id_col, what="user_sites", allow_missing_generated_cost=False
        )
        src = CRS.from_user_input(mine.crs)
        if not src.equals(crs):
            log.info(
                "user_sites reprojected from %s to the working CRS %s",
                src.to_string(),
                crs.to_string(),
            )
            mine = mine.to_crs(crs)
        parts.append(mine)

    if parts:
        out = pd.concat(parts)
    else:
        out = gpd.GeoDataFrame({"source": []}, geometry=[], crs=crs)
    out.index.name = "site_id"
    if out.index.has_duplicates:
        dup = out.index[out.index.duplicated()].unique()
        raise InputError(
            f"user_sites reuse generated site ids: {some(dup)}. Rename your sites "
            "(generated ids are G000001... and C000001...)."
        )
    out = gpd.GeoDataFrame(out, geometry="geometry", crs=crs)
    out.insert(1, "village_id", _village_of(_point_of(out.geometry.array), assessment.villages))
    geom_name = out.geometry.name
    cols = [c for c in out.columns if c != geom_name] + [geom_name]
    out = out[cols]
    log.info(
        "candidate_sites: %s",
        out["source"].value_counts().sort_index().to_dict() if len(out) else "none",
    )
    return out
