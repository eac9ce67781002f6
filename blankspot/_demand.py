"""Demand and the demand x site coverage matrix of ranking (:func:`blankspot.rank_sites`).

:func:`_demand` turns an assessment into demand points (uncovered businesses, or blank spots
with their counts); :func:`_coverage` builds the sparse matrix of which site reaches which
point (geodesic radii or footprints) and :func:`_terrain_coverage` filters it by terrain.
Kept apart from the solvers so that other ways of computing coverage can replace it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

import geopandas as gpd
import shapely

from blankspot import _cover_patterns, _geodesy, _mclp, terrain
from blankspot._util import id_sort, point_xy
from blankspot.assessment import Assessment, _business_xy
from blankspot.candidates import _point_of
from blankspot.scoring import _business_weight_column, _class_weights, _uncovered_mask

log = logging.getLogger("blankspot")


@dataclass(frozen=True)
class _Demand:
    """Uncovered demand points, sorted by id (business id, or blank spot id in counts mode)."""

    xy: np.ndarray
    count: np.ndarray
    weight: np.ndarray
    village_id: pd.Categorical
    total_count: float
    total_weight: float


def _id_order(ids: pd.Index) -> np.ndarray:
    """Stable order of ids as text (:func:`blankspot._util.id_sort`'s order).

    Arrow-backed strings (the compact assessment's business ids) are sorted by Arrow, by
    their UTF-8 bytes (the order of their code points, as numpy's), without making a
    Python string of each of millions of ids.

    Examples
    --------
    >>> _id_order(pd.Index(["b10", "b9", "a", "é", "b10"], dtype="str")).tolist()
    [2, 0, 4, 1, 3]
    """
    if isinstance(ids.dtype, pd.StringDtype) and ids.dtype.storage == "pyarrow" and len(ids):
        import pyarrow as pa  # noqa: PLC0415 - pandas' arrow strings imply pyarrow
        import pyarrow.compute as pc  # noqa: PLC0415

        return np.asarray(pc.sort_indices(pa.array(ids.array)), dtype=np.int64)
    return id_sort(np.asarray(ids, dtype=str))


def _demand(assessment: Assessment, weights: Any) -> tuple[_Demand, bool]:
    class_w, _, _ = _class_weights(assessment, weights, "rank_sites")
    biz = assessment.businesses
    if biz is not None:
        unc = _uncovered_mask(biz)
        w_all = class_w if class_w is not None else _business_weight_column(biz, unc)
        weighted = class_w is not None or assessment.weighted
        sel = np.flatnonzero(unc)
        sel = sel[_id_order(biz.index[sel])]
        xy = _business_xy(biz, sel)
        count = np.ones(len(sel))
        weight = w_all[sel]
        vcol = biz["village_id"]
        vids = (
            vcol.array
            if isinstance(vcol.dtype, pd.CategoricalDtype)
            else pd.Categorical(vcol.to_numpy(dtype=object, na_value=None))
        )[sel]
        return _Demand(xy, count, weight, vids, float(len(sel)), float(weight.sum())), weighted
    # counts mode: each village's uncovered businesses sit on its blank spots, by area
    v = assessment.villages
    spots = assessment.blank_spots
    weighted = assessment.weighted
    n_unc = pd.to_numeric(v["n_uncovered"], errors="coerce").fillna(0.0).to_numpy("float64")
    total = float(n_unc.sum())
    if "weighted_uncovered" in v.columns:
        w_unc = pd.to_numeric(v["weighted_uncovered"], errors="coerce").fillna(0.0)
        total_w = float(w_unc.sum())
    else:
        total_w = total
    if len(spots) == 0 or "n_businesses" not in spots.columns:
        empty = np.zeros(0)
        no_ids = pd.Categorical(np.zeros(0, object))
        return _Demand(np.empty((0, 2)), empty, empty, no_ids, total, total_w), weighted
    order = id_sort(spots.index.to_numpy())
    spots = spots.iloc[order]
    count = pd.to_numeric(spots["n_businesses"], errors="coerce").fillna(0.0).to_numpy("float64")
    wcol = "weighted_businesses" if "weighted_businesses" in spots.columns else "n_businesses"
    weight = pd.to_numeric(spots[wcol], errors="coerce").fillna(0.0).to_numpy("float64")
    rp = shapely.point_on_surface(np.asarray(spots.geometry.array))
    xy = point_xy(rp)
    keep = count > 0
    return (
        _Demand(
            xy[keep],
            count[keep],
            weight[keep],
            pd.Categorical(spots["village_id"].to_numpy(dtype=object)[keep]),
            total,
            total_w,
        ),
        weighted,
    )


def _site_radii(sites: gpd.GeoDataFrame, radius_m: float) -> np.ndarray:
    """Each site's radius: its own ``radius_m``, else ``radius_m``; NaN for footprints."""
    radius = np.full(len(sites), float(radius_m))
    if "radius_m" in sites.columns:
        own = sites["radius_m"].to_numpy("float64")
        radius = np.where(np.isnan(own), radius, own)
    radius[shapely.get_type_id(sites.geometry.array) != 0] = np.nan
    return radius


def _coverage(
    demand_xy: np.ndarray, sites: gpd.GeoDataFrame, radius_m: float
) -> tuple[sp.csr_matrix, np.ndarray]:
    """Sparse demand x sites coverage; also each site's radius (NaN for footprints).

    ``demand_xy`` and the sites are in the sites' CRS; a site reaches the demand within its
    geodesic radius (ECEF chords, see :mod:`blankspot._geodesy`), a footprint what it holds.
    """
    crs = sites.crs
    n, m = len(demand_xy), len(sites)
    geoms = sites.geometry.array
    radius = _site_radii(sites, radius_m)
    footprint = np.isnan(radius)
    circles = np.flatnonzero(~footprint)
    demand_xyz = _geodesy.ecef_of(demand_xy[:, 0], demand_xy[:, 1], crs)
    if len(circles) == m:  # no footprints: the KD-tree matrix is the answer
        sxy = point_xy(geoms)
        sxyz = _geodesy.ecef_of(sxy[:, 0], sxy[:, 1], crs)
        return _mclp.coverage_from_points(demand_xyz, sxyz, _geodesy.chord_m(radius)), radius
    rows: list[np.ndarray] = []
    cols: list[np.ndarray] = []
    if len(circles):
        cxy = point_xy(geoms[circles])
        cxyz = _geodesy.ecef_of(cxy[:, 0], cxy[:, 1], crs)
        chord = _geodesy.chord_m(radius[circles])
        part = _mclp.coverage_from_points(demand_xyz, cxyz, chord).tocoo()
        rows.append(part.row.astype(np.int64))
        cols.append(circles[part.col])
    polys = np.flatnonzero(footprint)
    if len(polys) and n:
        tree = shapely.STRtree(shapely.points(demand_xy))
        f_idx, d_idx = tree.query(np.asarray(geoms[polys]), predicate="intersects")
        rows.append(d_idx.astype(np.int64))
        cols.append(polys[f_idx])
    r = np.concatenate(rows) if rows else np.zeros(0, np.int64)
    c = np.concatenate(cols) if cols else np.zeros(0, np.int64)
    A = sp.csr_matrix((np.ones(len(r), dtype=bool), (r, c)), shape=(n, m))
    A.sum_duplicates()
    A.sort_indices()
    return A, radius


#: Demand points whose coverage rows are built at a time, then merged by coverage pattern:
#: a country's millions of uncovered businesses never hold all their (business, site) pairs.
DEMAND_CHUNK = 500_000


def _aggregated_coverage(
    demand_xy: np.ndarray,
    obj_w: np.ndarray,
    sites: gpd.GeoDataFrame,
    radius_m: float,
    terrain_kw: dict[str, Any] | None,
) -> tuple[sp.spmatrix, np.ndarray, np.ndarray, np.ndarray, int]:
    """Demand aggregated by coverage pattern, never holding all (demand, site) pairs.

    Returns ``(A_agg, w_agg, group, radius, n_pairs)``: the patterns (CSC or CSR) and their summed
    weights exactly as :func:`_mclp.aggregate_demand` gives them for the whole matrix (rows
    in order of first appearance), the pattern of each demand point (-1 where no site
    reaches it), each site's radius (NaN for footprints) and the number of (demand, site)
    pairs within reach. Point sites without terrain go through
    :func:`blankspot._cover_patterns.circle_patterns` (no pairs held at all); footprints
    and terrain build the pairs ``DEMAND_CHUNK`` demand points at a time.
    """
    radius = _site_radii(sites, radius_m)
    if terrain_kw is None and not np.isnan(radius).any():
        sxy = point_xy(sites.geometry.array)
        A_agg, w_agg, group, n_pairs = _cover_patterns.circle_patterns(
            _geodesy.ecef_of(demand_xy[:, 0], demand_xy[:, 1], sites.crs),
            obj_w,
            _geodesy.ecef_of(sxy[:, 0], sxy[:, 1], sites.crs),
            _geodesy.chord_m(radius),
        )
        return A_agg, w_agg, group, radius, n_pairs
    A_agg, w_agg, group, n_pairs = _chunked_coverage(demand_xy, obj_w, sites, radius_m, terrain_kw)
    return A_agg, w_agg, group, radius, n_pairs


def _chunked_coverage(
    demand_xy: np.ndarray,
    obj_w: np.ndarray,
    sites: gpd.GeoDataFrame,
    radius_m: float,
    terrain_kw: dict[str, Any] | None,
) -> tuple[sp.csr_matrix, np.ndarray, np.ndarray, int]:
    """:func:`_aggregated_coverage` from the pairs, ``DEMAND_CHUNK`` demand points at a time.

    Any sites (footprints too) and terrain; each chunk's pairs are aggregated, then the
    chunks' patterns merged. Returns ``(A_agg, w_agg, group, n_pairs)``.
    """
    n = len(demand_xy)
    group = np.full(n, -1, dtype=np.int64)
    parts: list[tuple[sp.csr_matrix, np.ndarray]] = []
    n_pairs = 0
    for start in range(0, n, DEMAND_CHUNK):
        stop = min(start + DEMAND_CHUNK, n)
        A, radius = _coverage(demand_xy[start:stop], sites, radius_m)
        if terrain_kw is not None:
            A = _terrain_coverage(A, demand_xy[start:stop], sites, radius, **terrain_kw)
        n_pairs += A.nnz
        A_c, w_c, g_c = _mclp.aggregate_demand(A, obj_w[start:stop])
        offset = sum(len(p[1]) for p in parts)
        group[start:stop] = np.where(g_c >= 0, g_c + offset, -1)
        parts.append((A_c, w_c))
        del A
    if len(parts) == 1:
        return (*parts[0], group, n_pairs)
    # patterns repeated across chunks merge here; rows keep the order of first appearance
    A_agg, w_agg, merged = _mclp.aggregate_demand(
        sp.vstack([p[0] for p in parts], format="csr"), np.concatenate([p[1] for p in parts])
    )
    live = group >= 0
    group[live] = merged[group[live]]
    return A_agg, w_agg, group, n_pairs


def _terrain_coverage(
    A: sp.csr_matrix,
    demand_xy: np.ndarray,
    sites: gpd.GeoDataFrame,
    radius: np.ndarray,
    *,
    crs: Any,
    dem: Any,
    site_height_m: float,
    target_height_m: float,
    model: str,
    radio_profile: str,
    environment: str,
    threshold_dbm: float,
    k_factor: float,
) -> sp.csr_matrix:
    """Keep the demand x site pairs of ``A`` that the terrain lets through (point sites only).

    ``A`` is the range matrix of :func:`_coverage`; each of its pairs from a point site is
    checked by :func:`blankspot.terrain.covered_pairs` (line of sight or predicted RSRP).
    """
    dem = terrain.read_dem(dem)
    coo = A.tocoo()
    rows, cols = coo.row.astype(np.int64), coo.col.astype(np.int64)
    point_site = ~np.isnan(radius[cols])
    site_xy = point_xy(_point_of(sites.geometry.array))
    check = np.flatnonzero(point_site)
    ok = np.ones(rows.size, dtype=bool)
    ok[check] = terrain.covered_pairs(
        dem,
        site_xy[cols[check], 0],
        site_xy[cols[check], 1],
        demand_xy[rows[check], 0],
        demand_xy[rows[check], 1],
        crs=crs,
        model=model,
        height_m=terrain.antenna_heights_m(sites, site_height_m, what="sites")[cols[check]],
        target_height_m=target_height_m,
        radio_profile=radio_profile,
        environment=environment,
        threshold_dbm=threshold_dbm,
        k_factor=k_factor,
    )
    log.info(
        "rank_sites: terrain (%s on %s) keeps %d of %d site-demand pairs within range",
        model,
        dem.name,
        int(ok[check].sum()),
        check.size,
    )
    out = sp.csr_matrix((np.ones(int(ok.sum()), dtype=bool), (rows[ok], cols[ok])), shape=A.shape)
    out.sort_indices()
    return out
