"""The ranked table of a plan: each chosen site's new businesses, villages and parents.

:func:`_plan_table` builds :attr:`blankspot.Plan.sites` (without the backhaul columns, which
:mod:`blankspot.ranking` fills) from the chosen sites and, for each demand point, the first
chosen site that reaches it (:func:`_first_chosen`, read off the coverage patterns).
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

import geopandas as gpd

from blankspot._demand import _Demand
from blankspot.assessment import Assessment
from blankspot.candidates import _point_of, _village_of


def _first_chosen(A: sp.csc_matrix, group: np.ndarray, chosen: np.ndarray) -> np.ndarray:
    """Rank position of the first chosen site reaching each demand point (-1 for none).

    ``A`` holds the coverage patterns, ``group`` each demand point's pattern (-1: none).
    """
    sub = sp.csr_matrix(A[:, chosen])  # patterns x chosen sites, columns in rank order
    has = np.diff(sub.indptr) > 0
    first_of = np.full(sub.shape[0], -1, dtype=np.int64)
    if has.any():
        first_of[has] = np.minimum.reduceat(sub.indices, sub.indptr[:-1][has])
    return np.where(group >= 0, first_of[np.maximum(group, 0)], -1)


def _plan_table(
    assessment: Assessment,
    *,
    table: gpd.GeoDataFrame,
    chosen: np.ndarray,
    first: np.ndarray,
    demand: _Demand,
    weighted: bool,
    radius: np.ndarray,
    costs: np.ndarray | None,
) -> gpd.GeoDataFrame:
    """Build the ranked table (backhaul filled later), columns in the contract's order.

    ``first``: the rank position of the first chosen site reaching each demand point (-1
    for none), from :func:`_first_chosen`.
    """
    n_chosen = len(chosen)
    live = np.flatnonzero(first >= 0)
    first = first[live]
    new_count = np.bincount(first, weights=demand.count[live], minlength=n_chosen)
    new_weight = np.bincount(first, weights=demand.weight[live], minlength=n_chosen)

    v = assessment.villages
    # distinct (site, village) pairs as numbers first: village ids are strings
    codes = np.asarray(demand.village_id.codes, dtype=np.int64)[live]
    cats = np.asarray(demand.village_id.categories.astype(str), dtype=object)
    has_v = codes >= 0
    pair = np.unique(first[has_v] * max(len(cats), 1) + codes[has_v])
    reach = pd.DataFrame(
        {"pos": pair // max(len(cats), 1), "village_id": cats[pair % max(len(cats), 1)]}
    ).sort_values(["pos", "village_id"], kind="stable")
    names = v["name"] if "name" in v.columns else pd.Series("", index=v.index)
    names = names.astype(object).where(names.notna(), "")
    names.index = v.index.astype(str)
    pos = reach["pos"].to_numpy()
    vid_list = reach["village_id"].tolist()
    name_list = names.reindex(vid_list).fillna("").astype(str).tolist()
    n_reached = np.bincount(pos, minlength=n_chosen)
    ids_joined = np.full(n_chosen, "", dtype=object)
    names_joined = np.full(n_chosen, "", dtype=object)
    cuts = np.r_[0, np.flatnonzero(np.diff(pos)) + 1, len(pos)]
    for a, b in itertools.pairwise(cuts):
        if b > a:
            ids_joined[pos[a]] = ";".join(vid_list[a:b])
            names_joined[pos[a]] = ";".join(name_list[a:b])

    pts = _point_of(table.geometry.array[chosen])
    site_vid = _village_of(pts, v)
    v_str = v.copy()
    v_str.index = v.index.astype(str)

    def parent(col: str) -> np.ndarray:
        if col not in v_str.columns:
            return np.full(n_chosen, None, dtype=object)
        s = v_str[col].astype(object)
        out = s.reindex(pd.Index(site_vid).fillna("\0")).to_numpy(dtype=object)
        return np.where(pd.isna(out), None, out)

    counts_int = assessment.businesses is not None
    new_b = new_count.round().astype(np.int64) if counts_int else new_count
    cum_b = np.cumsum(new_b)
    total_count = demand.total_count
    cost = costs[chosen] if costs is not None else np.full(n_chosen, np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        per_new = np.where(new_count > 0, cost / new_count, np.nan)
    cols: dict[str, Any] = {
        "rank": np.arange(1, n_chosen + 1, dtype=np.int64),
        "site_id": table.index.to_numpy(dtype=object)[chosen],
        "new_businesses": new_b,
        "cumulative_businesses": cum_b,
        "cumulative_share": cum_b / total_count if total_count else np.full(n_chosen, np.nan),
    }
    if weighted:
        cum_w = np.cumsum(new_weight)
        cols["new_weighted_businesses"] = new_weight
        cols["cumulative_weighted_businesses"] = cum_w
        cols["cumulative_weighted_share"] = (
            cum_w / demand.total_weight if demand.total_weight else np.full(n_chosen, np.nan)
        )
    cols.update(
        {
            "village_id": site_vid,
            "kecamatan": parent("kecamatan"),
            "kabupaten": parent("kabupaten"),
            "villages_reached": n_reached.astype(np.int64),
            "village_ids": ids_joined,
            "village_names": names_joined,
            "radius_m": radius[chosen],
            "cost_idr": cost,
            "cost_per_new_business": per_new,
            "backhaul_to": np.full(n_chosen, None, dtype=object),
            "backhaul_m": np.full(n_chosen, np.nan),
        }
    )
    return gpd.GeoDataFrame(
        cols, geometry=gpd.GeoSeries(pts, crs=assessment.crs), index=pd.RangeIndex(n_chosen)
    )
