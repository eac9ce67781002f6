"""Backhaul links: which pairs of nodes could be linked, at what price, and line of sight.

:func:`candidate_links` lists every pair within the hop limit (KD-tree) with its price;
:func:`link_check` asks the terrain (:func:`blankspot.terrain.line_of_sight`) whether a
microwave link is clear. :mod:`blankspot._backhaul_routing` decides which links to check.
"""

from __future__ import annotations

import itertools
import logging
from typing import Any

import numpy as np
from scipy.spatial import cKDTree

from pyproj import CRS

from blankspot.terrain import line_of_sight

log = logging.getLogger("blankspot")


def link_check(
    i: np.ndarray,
    j: np.ndarray,
    *,
    xy: np.ndarray,
    height: np.ndarray,
    dem: Any,
    crs: CRS,
    frequency_ghz: float,
    fresnel_clearance: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Whether each microwave link between nodes ``i`` and ``j`` is clear, and by how much.

    The clearance is the worst Fresnel clearance, metres. ``xy`` and ``height`` (mast
    height above ground, metres) are per node. Distances are already within the hop
    limit. Without a DEM every link is feasible and the clearance is unknown (NaN); with
    one, :func:`blankspot.terrain.line_of_sight` decides (line of sight with
    ``fresnel_clearance`` of the first Fresnel zone clear).
    """
    n = len(i)
    if dem is None or n == 0:
        return np.ones(n, dtype=bool), np.full(n, np.nan)
    res = line_of_sight(
        dem,
        xy[i, 0],
        xy[i, 1],
        xy[j, 0],
        xy[j, 1],
        height_a_m=height[i],
        height_b_m=height[j],
        crs=crs,
        frequency_ghz=frequency_ghz,
        fresnel_clearance=fresnel_clearance,
    )
    return res["clear"].to_numpy(dtype=bool), res["clearance_m"].to_numpy(dtype="float64")


def candidate_links(
    xy: np.ndarray,
    kind: np.ndarray,
    *,
    max_hop_m: float,
    costs: dict[str, float],
    site_relays: bool = True,
) -> dict[str, np.ndarray]:
    """Every pair of nodes within ``max_hop_m`` that could be linked, cheaper technology first.

    Candidate pairs come from a KD-tree radius query; two fibre nodes are never linked (they
    are already on the fibre network). A pair touching a fibre node can be a fibre drop
    (``fibre_per_km_idr`` per km, no line of sight needed) or a microwave hop; other pairs only
    a microwave hop. Microwave links are *assumed* clear here (``checked`` False): the
    terrain is asked only about links a plan wants to use
    (:func:`blankspot._backhaul_routing.route_sites`).
    Returns arrays: ``i``, ``j`` (node positions), ``kind``, ``length_m``, ``clearance_m``,
    ``cost_idr``, ``fibre_cost_idr`` (inf without a fibre end) and ``checked``.
    """
    if site_relays:
        pairs = cKDTree(xy).query_pairs(max_hop_m, output_type="ndarray").reshape(-1, 2)
    else:  # no site-site pairs: never even list them (candidates can be many)
        net_pos = np.flatnonzero(kind != "site")
        site_pos = np.flatnonzero(kind == "site")
        net_tree = cKDTree(xy[net_pos])
        nn = net_tree.query_pairs(max_hop_m, output_type="ndarray").reshape(-1, 2)
        ns = net_tree.query_ball_point(xy[site_pos], max_hop_m, return_sorted=True)
        counts = np.fromiter((len(r) for r in ns), dtype=np.intp, count=len(ns))
        flat = np.fromiter(itertools.chain.from_iterable(ns), dtype=np.intp, count=counts.sum())
        pairs = np.concatenate(
            [net_pos[nn], np.column_stack([net_pos[flat], np.repeat(site_pos, counts)])]
        ).reshape(-1, 2)
    i, j = pairs[:, 0], pairs[:, 1]
    fi, fj = kind[i] == "fibre", kind[j] == "fibre"
    keep = ~(fi & fj)
    i, j, fi, fj = i[keep], j[keep], fi[keep], fj[keep]
    length = np.hypot(xy[i, 0] - xy[j, 0], xy[i, 1] - xy[j, 1])
    fibre_cost = np.where(fi | fj, length / 1000.0 * costs["fibre_per_km_idr"], np.inf)
    microwave = fibre_cost > costs["microwave_link_idr"]
    log.info("plan_backhaul: %d node pairs within %g m", len(i), max_hop_m)
    return {
        "i": i,
        "j": j,
        "kind": np.where(microwave, "microwave", "fibre").astype(object),
        "length_m": length,
        "clearance_m": np.full(len(i), np.nan),
        "cost_idr": np.where(microwave, costs["microwave_link_idr"], fibre_cost),
        "fibre_cost_idr": fibre_cost,
        "checked": ~microwave,
    }
