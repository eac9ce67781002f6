"""Backhaul: connect every proposed site to the fibre network, by microwave or satellite.

:func:`plan_backhaul` builds a graph whose nodes are the existing network (fibre points of
presence and towers that can relay microwave) and the new sites, and whose edges are the
feasible links: microwave hops no longer than ``max_hop_m`` with line of sight and Fresnel
clearance over the terrain (:func:`blankspot.terrain.line_of_sight`), and fibre drops from a
point of presence. Every site gets its least-cost route to fibre; links shared between sites
are paid once (a Steiner tree); a site no terrestrial route reaches, or reaches only at a
higher price, gets satellite (VSAT).

The numbers are done with numpy and scipy (KD-tree pair search, C Dijkstra, minimum spanning
trees); :attr:`Backhaul.graph` gives the same graph as a networkx graph for analysis.
"""

from __future__ import annotations

import difflib
import functools
import inspect
import logging
import math
import numbers
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import networkx as nx
import numpy as np
import pandas as pd

import geopandas as gpd
import shapely
from pyproj import CRS

from blankspot._backhaul_links import candidate_links, link_check
from blankspot._backhaul_routing import _tree_routes, route_sites
from blankspot._errors import CRSError, InputError, UnknownOptionError
from blankspot._util import read_vector
from blankspot._validate import check_options, positive_metres, require_crs, working_crs
from blankspot.candidates import _point_of
from blankspot.terrain import Dem, read_dem

__all__ = [
    "DEFAULT_BACKHAUL_COSTS",
    "NETWORK_KINDS",
    "Backhaul",
    "built_network",
    "network_from",
    "plan_backhaul",
    "price_candidates",
    "read_network",
]

log = logging.getLogger("blankspot")

#: Kinds of existing network node :func:`plan_backhaul` understands.
NETWORK_KINDS = ("fibre", "tower")
#: Backhaul a site can get, cheapest technology first.
BACKHAUL_KINDS = ("fibre", "microwave", "satellite")

#: Default prices (rupiah). Every one can be overridden with ``plan_backhaul(costs={...})``.
#: No itemised public price list exists for Indonesia, so all but the satellite horizon are
#: the maintainers' ASSUMPTIONS of the order of magnitude (2024 prices, USD 1 = Rp 16,000);
#: replace them with a tender's or an operator's own figures before deciding anything.
#:
#: * ``microwave_link_idr`` -- one microwave hop: two radios, two 0.6-1.2 m dishes, mounting
#:   and path survey, about USD 20,000 (assumption).
#: * ``fibre_per_km_idr`` -- one km of rural fibre drop from a point of presence (cable,
#:   aerial or shallow-buried, splicing), about USD 9,000 per km (assumption).
#: * ``satellite_terminal_idr`` -- VSAT terminal, antenna and installation at the site,
#:   about USD 6,000 (assumption).
#: * ``satellite_per_year_idr`` -- VSAT capacity for one rural 4G site, about Rp 20 million
#:   a month (assumption; BAKTI's 4G sites are satellite-backhauled, but it publishes no
#:   per-site capacity price).
#: * ``satellite_years`` -- years of satellite fees counted against the one-off cost of a
#:   terrestrial route: 5, the usual depreciation period of telecom equipment (assumption).
DEFAULT_BACKHAUL_COSTS: dict[str, float] = {
    "microwave_link_idr": 320e6,
    "fibre_per_km_idr": 145e6,
    "satellite_terminal_idr": 96e6,
    "satellite_per_year_idr": 240e6,
    "satellite_years": 5.0,
}


# --------------------------------------------------------------------------- result


@dataclass(frozen=True, eq=False)
class Backhaul:
    """How each site reaches the fibre network; returned by :func:`plan_backhaul`.

    Attributes
    ----------
    sites : GeoDataFrame
        One row per site, index = site id (str, name ``site_id``), in the input order:
        ``backhaul`` ("fibre", "microwave" or "satellite"), ``hops`` (microwave links on the
        route; 0 for fibre and satellite), ``route`` (tuple of node ids from the site to a
        fibre node along the planned links; just the site for satellite), ``fibre_id`` (the
        point of presence reached, or None), ``backhaul_cost_idr`` (the site's least-cost
        backhaul on its own: its cheapest terrestrial route, or satellite for
        ``satellite_years``; with capacities, the price of the route it was given),
        ``backhaul_m`` (length of the route, metres), ``backhaul_note`` (why a site has
        satellite: "no terrestrial route cheaper than satellite" or "every route passes
        through a node at capacity"; missing otherwise), ``geometry``.
    links : GeoDataFrame
        The links to build, one LineString each (working CRS), from the end nearer the sites
        to the end nearer fibre: ``from_id``, ``to_id``, ``kind`` ("microwave" or "fibre"),
        ``length_m``, ``clearance_m`` (worst Fresnel clearance in metres, NaN without a DEM
        and for fibre), ``cost_idr``, ``n_sites`` (sites whose route uses the link).
    feasible : DataFrame
        The links of the final graph, the edges of :attr:`graph` (built on first access):
        ``u``, ``v``, ``kind``, ``length_m``, ``clearance_m``, ``cost_idr``, ``checked``.
        With a DEM only links some plan wanted were checked on the terrain (``checked``
        True; blocked ones are gone or became fibre drops); the others are within the hop
        limit but unchecked.
    nodes : GeoDataFrame
        Every node, index = node id: ``kind`` ("fibre", "tower" or "site"), ``mast_height_m``.
    total_cost_idr : float
        The links' cost (each shared link once) plus satellite for the satellite sites.
    steiner : str
        How the shared network was chosen: ``"exact"``, ``"mehlhorn"`` (2-approximation) or
        ``"shortest paths"`` (the union of the least-cost routes was cheaper), or
        ``"capacitated routes"`` (node capacities given: the union of the sites' routes).
    costs : dict
        The prices used (defaults merged with the caller's).
    crs : pyproj.CRS
        The working CRS (metres).
    options : dict
        The other arguments (``network``, ``dem``, ``max_hop_m``, ...) so the same plan can
        be made for other sites (:func:`blankspot.rank_sites` does).
    """

    sites: gpd.GeoDataFrame
    links: gpd.GeoDataFrame
    nodes: gpd.GeoDataFrame
    total_cost_idr: float
    steiner: str
    costs: dict
    crs: CRS
    options: dict
    # the feasible links as arrays (u, v: node positions), for :attr:`feasible`
    link_arrays: dict = field(repr=False, compare=False)

    @functools.cached_property
    def feasible(self) -> pd.DataFrame:
        """The feasible links (see the class docstring), built on first access."""
        a = self.link_arrays
        ids = self.nodes.index.to_numpy(object)
        return pd.DataFrame(
            {
                "u": ids[a["u"]],
                "v": ids[a["v"]],
                **{k: a[k] for k in ("kind", "length_m", "clearance_m", "cost_idr", "checked")},
            }
        )

    @functools.cached_property
    def graph(self) -> nx.Graph:
        """The feasible-link graph as networkx (built on first access).

        Nodes carry ``kind``, ``x``, ``y`` and ``mast_height_m``; edges carry ``kind``,
        ``length_m``, ``clearance_m``, ``cost_idr``, ``checked`` (see :attr:`feasible`) and
        ``built`` (True for planned links).
        """
        g = nx.Graph()
        xy = shapely.get_coordinates(self.nodes.geometry.array)
        g.add_nodes_from(
            (n, {"kind": k, "x": float(x), "y": float(y), "mast_height_m": float(h)})
            for n, k, x, y, h in zip(
                self.nodes.index,
                self.nodes["kind"],
                xy[:, 0],
                xy[:, 1],
                self.nodes["mast_height_m"],
                strict=True,
            )
        )
        f = self.feasible
        g.add_edges_from(
            (
                u,
                v,
                {
                    "kind": k,
                    "length_m": d,
                    "clearance_m": c,
                    "cost_idr": w,
                    "checked": ch,
                    "built": False,
                },
            )
            for u, v, k, d, c, w, ch in zip(
                f["u"],
                f["v"],
                f["kind"],
                f["length_m"].tolist(),
                f["clearance_m"].tolist(),
                f["cost_idr"].tolist(),
                f["checked"].tolist(),
                strict=True,
            )
        )
        for u, v in zip(self.links["from_id"], self.links["to_id"], strict=True):
            g.edges[u, v]["built"] = True
        return g

    def summary(self) -> str:
        """Count sites by backhaul and give the total, in one line.

        Examples
        --------
        >>> print(plan_backhaul(_toy_sites(), _toy_network()).summary())
        3 sites: 1 fibre, 1 microwave, 1 satellite; 3 links; total Rp 2,081,000,000.
        """
        counts = self.sites["backhaul"].value_counts()
        parts = ", ".join(f"{int(counts.get(k, 0))} {k}" for k in BACKHAUL_KINDS)
        return (
            f"{len(self.sites)} sites: {parts}; {len(self.links)} links; "
            f"total Rp {self.total_cost_idr:,.0f}."
        )

    def __repr__(self) -> str:
        return f"<Backhaul: {self.summary()}>"


# --------------------------------------------------------------------------- inputs


def _costs(costs: Mapping[str, Any] | None) -> dict[str, float]:
    out = dict(DEFAULT_BACKHAUL_COSTS)
    if costs is None:
        return out
    if not isinstance(costs, Mapping):
        raise InputError(
            f"costs must be a dict such as {{'microwave_link_idr': 3e8}}, got "
            f"{type(costs).__name__}."
        )
    for key, value in costs.items():
        if key not in out:
            close = difflib.get_close_matches(str(key), list(out), n=1)
            hint = f" Did you mean '{close[0]}'?" if close else ""
            raise InputError(
                f"costs has an unknown key {key!r}.{hint} Known keys: {', '.join(out)}."
            )
        if (
            isinstance(value, bool)
            or not isinstance(value, numbers.Real)
            or not math.isfinite(value)
            or value < 0
        ):
            raise InputError(
                f"costs[{key!r}] must be a non-negative number, got {value!r} "
                "(rupiah; years for satellite_years)."
            )
        out[key] = float(value)
    return out


def _points(gdf: gpd.GeoDataFrame, what: str) -> np.ndarray:
    """Point of each row (polygons: a point inside), raising on missing geometry."""
    geoms = gdf.geometry.array
    bad = np.flatnonzero(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    if len(bad):
        rows = ", ".join(map(repr, gdf.index[bad[:5]].tolist()))
        raise InputError(
            f"{what}: {len(bad)} row(s) have no geometry (e.g. {rows}); drop them or give "
            "them a location."
        )
    return _point_of(geoms)


def _heights(gdf: pd.DataFrame, default: float, what: str) -> np.ndarray:
    if "mast_height_m" not in gdf.columns:
        return np.full(len(gdf), default)
    h = pd.to_numeric(gdf["mast_height_m"], errors="coerce").to_numpy("float64")
    bad = np.flatnonzero(h < 0)
    if len(bad):
        raise InputError(
            f"{what}: column 'mast_height_m' is negative in row {gdf.index[bad[0]]!r}; "
            "give the mast height above ground in metres."
        )
    return np.where(np.isnan(h), default, h)


def _capacities(gdf: pd.DataFrame, what: str) -> np.ndarray:
    """Read the ``capacity`` column (sites a node may carry); inf where empty or absent."""
    if "capacity" not in gdf.columns:
        return np.full(len(gdf), np.inf)
    raw = gdf["capacity"]
    c = pd.to_numeric(raw, errors="coerce").to_numpy("float64")
    bad = (raw.notna().to_numpy(bool) & np.isnan(c)) | (c < 0) | (np.isfinite(c) & (c % 1 != 0))
    if bad.any():
        k = int(np.flatnonzero(bad)[0])
        raise InputError(
            f"{what}: column 'capacity' is {raw.iloc[k]!r} in row {gdf.index[k]!r}; give the "
            "number of sites whose backhaul may pass through the node (a whole number >= 0), "
            "or leave it empty for no limit."
        )
    return np.where(np.isnan(c), np.inf, c)


def _site_frame(sites: Any) -> gpd.GeoDataFrame:
    """Return the sites as a GeoDataFrame indexed by site id (str)."""
    if hasattr(sites, "sites") and hasattr(sites, "assessment"):  # a Plan
        table = sites.sites
        out = table.set_index(table["site_id"].astype(str).rename("site_id"))
        return out.drop(columns=["site_id"])
    if not isinstance(sites, gpd.GeoDataFrame):
        raise InputError(
            "sites must be a Plan (from rank_sites) or a GeoDataFrame of site points, got "
            f"{type(sites).__name__}."
        )
    out = sites.copy()
    out.index = out.index.astype(str).rename("site_id")
    return out


def _network_frame(network: Any) -> gpd.GeoDataFrame:
    if not isinstance(network, gpd.GeoDataFrame):
        raise InputError(
            "network must be a GeoDataFrame of existing nodes with a 'kind' column "
            f"('fibre' or 'tower'), got {type(network).__name__}."
        )
    if "kind" not in network.columns:
        raise InputError(
            "network has no 'kind' column: add one saying what each node is, 'fibre' (a "
            "fibre point of presence) or 'tower' (an existing tower that can relay "
            f"microwave). Columns found: {', '.join(map(str, network.columns))}."
        )
    kind = network["kind"].astype("string").str.strip().str.lower()
    bad = ~kind.isin(NETWORK_KINDS).fillna(False).to_numpy(bool)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise InputError(
            f"network: column 'kind' has {int(bad.sum())} unknown value(s), e.g. "
            f"{network['kind'].iloc[i]!r} in row {network.index[i]!r}; use one of "
            f"{list(NETWORK_KINDS)}."
        )
    if not (kind == "fibre").any():
        raise InputError(
            "network has no node with kind 'fibre': a backhaul plan routes every site to "
            "fibre, so give at least one fibre point of presence (kind='fibre')."
        )
    out = network.copy()
    out["kind"] = kind.to_numpy(dtype=object)
    out.index = out.index.astype(str)
    dup = out.index[out.index.duplicated()]
    if len(dup):
        raise InputError(f"network: node id {dup[0]!r} appears more than once; ids must be unique.")
    return out


# --------------------------------------------------------------------------- links


# --------------------------------------------------------------------------- main


@check_options
def plan_backhaul(
    sites: Any,
    network: gpd.GeoDataFrame,
    *,
    dem: Any = None,
    max_hop_m: float = 30_000,
    mast_height_m: float = 30,
    frequency_ghz: float = 7.0,
    fresnel_clearance: float = 0.6,
    costs: Mapping[str, float] | None = None,
    crs: Any = None,
    site_relays: bool = True,
) -> Backhaul:
    """Connect every site to the fibre network at least cost: fibre, microwave or satellite.

    Parameters
    ----------
    sites
        A :class:`~blankspot.prioritise.Plan` (its ``sites``, ids from ``site_id``) or a
        GeoDataFrame of site points (ids from the index; polygons use a point inside).
        An optional ``mast_height_m`` column overrides ``mast_height_m`` per site, an
        optional ``capacity`` column limits the sites it relays (see Notes), an optional
        ``rank`` column (a plan's) sets the order in which capacity is handed out.
    network
        Existing nodes, a GeoDataFrame of points with a ``kind`` column: ``"fibre"`` (a
        fibre point of presence) or ``"tower"`` (an existing tower that can relay
        microwave, e.g. from :func:`blankspot.read_towers`); ids from the index. An
        optional ``mast_height_m`` column gives each node's antenna height, an optional
        ``capacity`` column the most sites whose route may pass through it (see Notes).
    dem
        Digital elevation model for line of sight: a :class:`~blankspot.terrain.Dem` or
        anything :func:`blankspot.terrain.read_dem` takes (a GeoTIFF, SRTM ``.hgt`` tiles).
        ``None``: links are checked by distance only. Every node must lie on it.
    max_hop_m
        Longest microwave hop (and fibre drop), metres.
    mast_height_m
        Antenna height above ground where no ``mast_height_m`` column says otherwise,
        metres.
    frequency_ghz
        Microwave frequency, for the Fresnel zone.
    fresnel_clearance
        Share of the first Fresnel zone that must be clear (0.6 is the usual rule).
    costs
        Prices overriding :data:`DEFAULT_BACKHAUL_COSTS` (keys ``microwave_link_idr``,
        ``fibre_per_km_idr``, ``satellite_terminal_idr``, ``satellite_per_year_idr``,
        ``satellite_years``).
    crs
        Projected working CRS (metres); default: the UTM zone of the sites (of the network
        when there are no sites).
    site_relays
        Whether a new site may relay another new site's microwave link. ``False`` prices
        each site on its own through the existing network only (what
        :func:`blankspot.rank_sites` does for candidates, which may not all be built).

    Returns
    -------
    Backhaul
        ``sites``, ``links``, ``feasible``, ``nodes``, ``graph``, ``total_cost_idr``.

    Raises
    ------
    InputError
        ``network`` without a ``kind`` column, an unknown kind, no fibre node, a missing
        geometry, duplicate or clashing ids, an unknown cost key or a bad number.
    CRSError
        ``sites`` or ``network`` has no CRS, or ``crs`` is not metric.

    Notes
    -----
    Links: every pair of nodes within ``max_hop_m`` (a KD-tree radius query in the working
    CRS). With a DEM, links are checked lazily, in batches, with
    :func:`blankspot.terrain.line_of_sight`. Routes: Dijkstra from the fibre nodes in which
    a microwave link is checked only when it is the cheapest remaining way to reach its far
    node (nodes one microwave hop apart in price are settled together, one batch of checks
    per round); a blocked link is dropped or becomes a fibre drop. The routes and prices are
    exactly those found by checking every pair first. Shared network: planned assuming the
    unchecked links clear, the links it uses checked, and planned again, at most 10 times;
    then it is planned on checked links only (``steiner`` ends with "(checked links)").
    A pair with a fibre node can be a fibre drop (``fibre_per_km_idr`` x km, no line of
    sight needed) or a microwave hop (``microwave_link_idr``, needs line of sight),
    whichever is cheaper; other pairs can only be microwave hops. Two fibre nodes are not
    linked: they are on the fibre network already.
    Distances are straight lines in the projected working CRS (UTM: within 0.1 % of the
    geodesic inside a zone).

    Each site's ``backhaul_cost_idr`` is its cheapest route to any fibre node on its own
    (one Dijkstra from all fibre nodes at once), or satellite (``satellite_terminal_idr`` +
    ``satellite_years`` x ``satellite_per_year_idr``) when no route exists or satellite is
    cheaper. The plan connects the terrestrial sites together with the cheapest network
    found: an exact Steiner tree when at most 10 nodes could serve as relays, else
    Mehlhorn's algorithm (at most 2 (1 - 1/t) times the optimum for t terminals), or the
    union of the least-cost routes when that is cheaper; ``total_cost_idr`` pays each link
    once. ``route`` follows the planned links. Ties go to the node that comes first in
    (kind, id) order and to fewer links, so the result does not depend on row order.
    Capacity: a node's ``capacity`` is the most sites whose route passes through it,
    relayed by it (a tower, or a site) or landing on it (a fibre node); a site's own route
    does not count against it; empty means no limit, 0 means it relays nobody. With any
    capacity given, the sites are routed one at a time, in ``rank`` order when the sites
    have that column, else cheapest own route first (ties by id), each on its least-cost
    route through nodes that still have room (the routes are made again whenever a node
    fills). A site left without a route gets satellite, ``backhaul_note`` saying why. The
    network is then the union of these routes, each link paid once (no Steiner tree: it
    would move routes onto full nodes), and ``steiner`` is "capacitated routes". This is
    a greedy, deterministic rule, not an optimum: an earlier site may take the last slot of
    a node that a later site needed more. Capacity in Mbps is not modelled.

    Examples
    --------
    >>> b = plan_backhaul(_toy_sites(), _toy_network())
    >>> b.sites[["backhaul", "hops", "route"]].reset_index()
      site_id   backhaul  hops         route
    0      S1      fibre     0      (S1, F1)
    1      S2  microwave     2  (S2, T1, F1)
    2      S3  satellite     0         (S3,)
    >>> b.sites["backhaul_cost_idr"].tolist()
    [145000000.0, 640000000.0, 1296000000.0]
    >>> b.links[["from_id", "to_id", "kind", "length_m", "cost_idr"]]
      from_id to_id       kind  length_m     cost_idr
    0      S1    F1      fibre    1000.0  145000000.0
    1      S2    T1  microwave   20000.0  320000000.0
    2      T1    F1  microwave   25000.0  320000000.0
    """
    return _plan_backhaul(
        sites,
        network,
        dem=dem,
        max_hop_m=max_hop_m,
        mast_height_m=mast_height_m,
        frequency_ghz=frequency_ghz,
        fresnel_clearance=fresnel_clearance,
        costs=costs,
        crs=crs,
        site_relays=site_relays,
        with_tree=True,
    )


def _plan_backhaul(
    sites: Any,
    network: gpd.GeoDataFrame,
    *,
    dem: Any,
    max_hop_m: float,
    mast_height_m: float,
    frequency_ghz: float,
    fresnel_clearance: float,
    costs: Mapping[str, float] | None,
    crs: Any,
    site_relays: bool,
    with_tree: bool,
) -> Backhaul:
    """:func:`plan_backhaul`; ``with_tree=False`` only prices the sites (no shared plan)."""
    costs_used = _costs(costs)
    max_hop_m = positive_metres(max_hop_m, "max_hop_m")
    mast = positive_metres(mast_height_m, "mast_height_m")
    if (
        isinstance(frequency_ghz, bool)
        or not isinstance(frequency_ghz, numbers.Real)
        or not (0 < frequency_ghz < 1000)
    ):
        raise InputError(f"frequency_ghz must be a positive number of GHz, got {frequency_ghz!r}.")
    frequency_ghz = float(frequency_ghz)
    fresnel_clearance = float(fresnel_clearance)
    if not (0 <= fresnel_clearance <= 1):
        raise InputError(
            f"fresnel_clearance must be between 0 and 1 (0.6 = 60 % of the first Fresnel "
            f"zone clear), got {fresnel_clearance!r}."
        )
    site_gdf = _site_frame(sites)
    net = _network_frame(network)
    if dem is not None and not isinstance(dem, Dem):
        dem = read_dem(dem)
    require_crs(site_gdf.crs, what="sites")
    require_crs(net.crs, what="network")
    site_geoms = _points(site_gdf, "sites")
    net_geoms = _points(net, "network")
    work = working_crs(site_gdf if len(site_gdf) else net, crs)
    if not work.is_projected:
        raise CRSError(
            f"The working CRS {work.to_string()} is not projected; pass crs= a metric CRS."
        )
    clash = site_gdf.index.intersection(net.index)
    if len(clash):
        raise InputError(
            f"site id {clash[0]!r} is also a network node id; ids must be distinct (prefix "
            "one of them, e.g. 'tower:' + index)."
        )
    dup = site_gdf.index[site_gdf.index.duplicated()]
    if len(dup):
        raise InputError(f"sites: id {dup[0]!r} appears more than once; ids must be unique.")

    site_pts = shapely.get_coordinates(
        gpd.GeoSeries(site_geoms, crs=site_gdf.crs).to_crs(work).array
    )
    net_pts = shapely.get_coordinates(gpd.GeoSeries(net_geoms, crs=net.crs).to_crs(work).array)
    # node order: fibre, towers, sites, each by id (the tie-break order)
    ids = np.concatenate([net.index.to_numpy(object), site_gdf.index.to_numpy(object)])
    kind = np.concatenate([net["kind"].to_numpy(object), np.full(len(site_gdf), "site", object)])
    xy = np.concatenate([net_pts, site_pts]).reshape(-1, 2)
    height = np.concatenate([_heights(net, mast, "network"), _heights(site_gdf, mast, "sites")])
    capacity = np.concatenate([_capacities(net, "network"), _capacities(site_gdf, "sites")])
    rank = {"fibre": 0, "tower": 1, "site": 2}
    order = np.lexsort((ids.astype(str), np.array([rank[k] for k in kind])))
    ids, kind, xy, height, capacity = (a[order] for a in (ids, kind, xy, height, capacity))
    n = len(ids)

    links = candidate_links(
        xy, kind, max_hop_m=max_hop_m, costs=costs_used, site_relays=bool(site_relays)
    )
    if dem is None:
        links["checked"][:] = True  # distance only
    site_pos = np.flatnonzero(kind == "site")
    sat_cost = costs_used["satellite_terminal_idr"] + (
        costs_used["satellite_years"] * costs_used["satellite_per_year_idr"]
    )
    check = functools.partial(
        link_check,
        xy=xy,
        height=height,
        dem=dem,
        crs=work,
        frequency_ghz=frequency_ghz,
        fresnel_clearance=fresnel_clearance,
    )
    priority = (
        pd.to_numeric(site_gdf["rank"], errors="coerce").to_numpy("float64")
        if "rank" in site_gdf.columns
        else np.zeros(len(site_gdf))
    )
    r = route_sites(
        links,
        n=n,
        kind=kind,
        sat_cost=sat_cost,
        check=check,
        with_tree=with_tree,
        capacity=capacity,
        priority=np.nan_to_num(priority[order[kind == "site"] - len(net)], nan=np.inf),
    )
    terrestrial, method = r.terrestrial, r.method
    if r.paths is not None:  # capacities: each site on its own route
        paths, own, note = r.paths, r.own_cost, r.note
    else:
        parent, edge = _tree_routes(n + 1, r.gi, r.gj, r.tree, r.root)
        paths = _tree_paths(parent, edge, np.where(terrestrial, site_pos, -1), r.root)
        paths = [
            p if t else ([int(s)], p[1][:0])
            for p, t, s in zip(paths, terrestrial, site_pos, strict=True)
        ]
        own = np.full(len(site_pos), np.nan)
        own[terrestrial] = _own_cost(r.pred, r.pred_edge, site_pos[terrestrial], r.cost)
        note = np.where(terrestrial, None, "no terrestrial route cheaper than satellite")
    sites_out = _site_table(
        ids=ids,
        xy=xy,
        site_pos=site_pos,
        paths=paths,
        terrestrial=terrestrial,
        own_cost=own,
        note=note.astype(object),
        links=links,
        sat_cost=sat_cost,
        crs=work,
    )
    # back to the input order
    sites_out = sites_out.loc[site_gdf.index]
    links_out = _links_table(ids=ids, xy=xy, links=links, paths=paths, crs=work)
    total = float(links_out["cost_idr"].sum()) + sat_cost * int((~terrestrial).sum())
    real = np.isfinite(links["cost_idr"])
    feasible = {
        "u": links["i"][real],
        "v": links["j"][real],
        **{k: links[k][real] for k in ("kind", "length_m", "clearance_m", "cost_idr", "checked")},
    }
    nodes = gpd.GeoDataFrame(
        {"kind": kind, "mast_height_m": height},
        geometry=shapely.points(xy),
        index=pd.Index(ids, name="node_id", dtype=object),
        crs=work,
    )
    log.info(
        "plan_backhaul: %d sites (%d terrestrial), %d feasible links, %d built (%s), total Rp %.0f",
        len(site_pos),
        int(terrestrial.sum()),
        int(real.sum()),
        len(links_out),
        method,
        total,
    )
    return Backhaul(
        sites=sites_out,
        links=links_out,
        nodes=nodes,
        total_cost_idr=total,
        steiner=method,
        costs=costs_used,
        crs=work,
        options={
            "network": network,
            "dem": dem,
            "max_hop_m": max_hop_m,
            "mast_height_m": mast,
            "frequency_ghz": frequency_ghz,
            "fresnel_clearance": fresnel_clearance,
            "costs": costs_used,
            "crs": work,
            "site_relays": bool(site_relays),
        },
        link_arrays=feasible,
    )


def _tree_paths(
    parent: np.ndarray, edge: np.ndarray, starts: np.ndarray, root: int
) -> list[tuple[list[int], np.ndarray]]:
    """Nodes (start first, fibre node last) and links from each start up the tree."""
    nodes: list[list[int]] = [[int(p)] for p in starts]
    edges: list[list[int]] = [[] for _ in starts]
    cur = np.asarray(starts, dtype=np.intp).copy()
    live = np.arange(len(cur))
    while len(live):
        nxt, e = parent[cur[live]], edge[cur[live]]
        go = (nxt != root) & (nxt >= 0)
        for k, p, ee in zip(live[go].tolist(), nxt[go].tolist(), e[go].tolist(), strict=True):
            nodes[k].append(p)
            edges[k].append(ee)
        cur[live] = nxt
        live = live[go]
    return [(n, np.array(e, dtype=np.intp)) for n, e in zip(nodes, edges, strict=True)]


def _own_cost(
    pred: np.ndarray, pred_edge: np.ndarray, starts: np.ndarray, cost: np.ndarray
) -> np.ndarray:
    """Price of each start's own least-cost route (``pred`` from the fibre root).

    Sums the true prices, without the tie-break epsilon of the solver weights.
    """
    cur = np.asarray(starts, dtype=np.intp).copy()
    total = np.zeros(len(cur))
    while True:
        live = np.flatnonzero(pred[cur] >= 0)
        if len(live) == 0:
            return total
        total[live] += cost[pred_edge[cur[live]]]
        cur[live] = pred[cur[live]]


def _site_table(
    *,
    ids: np.ndarray,
    xy: np.ndarray,
    site_pos: np.ndarray,
    paths: list[tuple[list[int], np.ndarray]],
    terrestrial: np.ndarray,
    own_cost: np.ndarray,
    note: np.ndarray,
    links: dict[str, np.ndarray],
    sat_cost: float,
    crs: CRS,
) -> gpd.GeoDataFrame:
    """One row per site (site order) from its route (``paths``) and its own price."""
    hops = np.array([int((links["kind"][e] == "microwave").sum()) for _, e in paths], np.int64)
    metres = np.array([float(links["length_m"][e].sum()) for _, e in paths])
    backhaul = np.where(~terrestrial, "satellite", np.where(hops > 0, "microwave", "fibre"))
    return gpd.GeoDataFrame(
        {
            "backhaul": backhaul.astype(object),
            "hops": hops,
            "route": [tuple(ids[n]) for n, _ in paths],
            "fibre_id": [ids[n[-1]] if len(n) > 1 else None for n, _ in paths],
            "backhaul_cost_idr": np.where(terrestrial, own_cost, sat_cost),
            "backhaul_m": np.where(terrestrial, metres, np.nan),
            "backhaul_note": note,
        },
        geometry=shapely.points(xy[site_pos]),
        index=pd.Index(ids[site_pos], name="site_id", dtype=object),
        crs=crs,
    )


def _links_table(
    *,
    ids: np.ndarray,
    xy: np.ndarray,
    links: dict[str, np.ndarray],
    paths: list[tuple[list[int], np.ndarray]],
    crs: CRS,
) -> gpd.GeoDataFrame:
    """Return the links the routes use, each once, oriented along the route (to fibre)."""
    e_all = np.concatenate([np.zeros(0, np.intp), *(e for _, e in paths)])
    child = np.concatenate([np.zeros(0, np.intp), *(np.asarray(n[:-1], np.intp) for n, _ in paths)])
    par = np.concatenate([np.zeros(0, np.intp), *(np.asarray(n[1:], np.intp) for n, _ in paths)])
    real, first, n_sites = np.unique(e_all, return_index=True, return_counts=True)
    child, par = child[first], par[first]
    order = np.lexsort((ids[par].astype(str), ids[child].astype(str)))
    real, child, par, n_sites = real[order], child[order], par[order], n_sites[order]
    lines = (
        shapely.linestrings(
            np.stack([xy[child], xy[par]], axis=1).reshape(-1, 2),
            indices=np.repeat(np.arange(len(real)), 2),
        )
        if len(real)
        else np.array([], dtype=object)
    )
    return gpd.GeoDataFrame(
        {
            "from_id": ids[child].astype(object),
            "to_id": ids[par].astype(object),
            "kind": links["kind"][real],
            "length_m": links["length_m"][real],
            "clearance_m": links["clearance_m"][real],
            "cost_idr": links["cost_idr"][real],
            "n_sites": n_sites.astype(np.int64),
        },
        geometry=gpd.GeoSeries(lines, crs=crs),
        crs=crs,
    )


# --------------------------------------------------------------------------- readers


@check_options
def read_network(source: Any, *, id_col: str | None = "node_id") -> gpd.GeoDataFrame:
    """Read existing network nodes (a vector file with a ``kind`` column) for backhaul.

    Parameters
    ----------
    source
        A vector file (GeoPackage, GeoJSON, shapefile, ...) of points with a ``kind`` column
        ("fibre" or "tower"), or a GeoDataFrame.
    id_col
        Column holding node ids (default ``node_id``); when absent the ids are ``N<row>``.

    Returns
    -------
    GeoDataFrame
        The nodes, index = node id (str), ``kind`` normalised to lower case.

    Raises
    ------
    InputError
        No ``kind`` column, an unknown kind, no fibre node, duplicate ids.
    InputFileError
        The file is missing or unreadable.

    Examples
    --------
    >>> nodes = read_network(_toy_network().reset_index(names="node_id"))
    >>> nodes["kind"].to_dict()
    {'F1': 'fibre', 'T1': 'tower'}
    """
    gdf = source if isinstance(source, gpd.GeoDataFrame) else read_vector(source, what="network")
    what = "network" if isinstance(source, gpd.GeoDataFrame) else f"network file '{source}'"
    gdf = gdf.copy()
    if id_col is not None and id_col in gdf.columns:
        gdf = gdf.set_index(gdf[id_col].astype(str).rename("node_id")).drop(columns=id_col)
    else:
        gdf.index = pd.Index([f"N{i}" for i in range(len(gdf))], name="node_id")
    require_crs(gdf.crs, what=what)
    return _network_frame(gdf)


def network_from(fibre: gpd.GeoDataFrame, towers: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Join fibre points of presence and towers (e.g. :func:`blankspot.read_towers`).

    Towers become ``kind`` "tower" nodes, one per mast position (cells at the same point
    are one mast; the smallest id is kept); ``fibre`` must be a network (``kind`` column),
    whose CRS the result has.

    Examples
    --------
    >>> towers = _toy_network().iloc[[1, 1]].set_axis(["T2", "T1"]).drop(columns="kind")
    >>> network_from(_toy_network().iloc[[0]], towers)["kind"].to_dict()
    {'F1': 'fibre', 'T1': 'tower'}
    """
    fibre = _network_frame(fibre)
    t = towers.to_crs(fibre.crs)
    t = t[~(t.geometry.isna() | t.geometry.is_empty)]
    xy = shapely.get_coordinates(t.geometry.array)
    order = np.lexsort((t.index.astype(str).to_numpy(), xy[:, 1], xy[:, 0]))
    xy, t = xy[order], t.iloc[order]
    first = np.ones(len(t), dtype=bool)
    first[1:] = (xy[1:] != xy[:-1]).any(axis=1)
    t = t[first]
    masts = gpd.GeoDataFrame(
        {"kind": "tower"},
        geometry=t.geometry.to_numpy(),
        index=pd.Index(t.index.astype(str), name="node_id"),
        crs=fibre.crs,
    ).sort_index()
    return pd.concat([fibre[["kind", fibre.geometry.name]], masts])


# --------------------------------------------------------------------------- for rank_sites


def _options_of(backhaul: Any) -> dict[str, Any]:
    """:func:`plan_backhaul` arguments from ``rank_sites(backhaul=...)``."""
    if isinstance(backhaul, Backhaul):
        return dict(backhaul.options)
    if isinstance(backhaul, gpd.GeoDataFrame):
        return {"network": backhaul}
    if isinstance(backhaul, Mapping) and "network" in backhaul:
        return dict(backhaul)
    raise InputError(
        "backhaul must be the existing network (a GeoDataFrame with a 'kind' column, "
        "'fibre' or 'tower'), a dict of plan_backhaul() arguments with 'network', or a "
        f"Backhaul from plan_backhaul(), got {type(backhaul).__name__}."
    )


# what rank_sites(backhaul={...}) may set, and the defaults of the rest
_PLAN_OPTIONS = tuple(inspect.signature(plan_backhaul).parameters)[1:]
_DEFAULT_OPTIONS = {
    k: p.default
    for k, p in inspect.signature(plan_backhaul).parameters.items()
    if p.default is not inspect.Parameter.empty
}


def price_candidates(sites: gpd.GeoDataFrame, backhaul: Any) -> tuple[np.ndarray, dict]:
    """Backhaul price of each candidate site on its own, and the options used.

    ``sites`` is indexed by site id. Candidates do not relay for each other here (most
    will not be built), nor compete for capacity: a node with capacity 0 relays none of
    them, any other capacity lets each through on its own. The plan of the chosen sites may
    share links and relay through chosen sites, so without capacities it never costs more
    than the sum of these prices (with them, a chosen site may end up on satellite).
    """
    opts = _options_of(backhaul)
    unknown = set(opts) - set(_PLAN_OPTIONS)
    if unknown:
        raise UnknownOptionError(
            f"backhaul has unknown plan_backhaul() option(s) {sorted(unknown)}; valid: "
            f"{', '.join(_PLAN_OPTIONS)}."
        )
    opts["site_relays"] = False
    full = {**dict.fromkeys(_PLAN_OPTIONS), **_DEFAULT_OPTIONS, **opts}
    net = full["network"]
    if isinstance(net, gpd.GeoDataFrame) and "capacity" in net.columns:
        cap = _capacities(net, "network")
        full["network"] = net.assign(capacity=np.where(cap == 0, 0.0, np.nan))
    priced = _plan_backhaul(sites, with_tree=False, **full)
    opts["site_relays"] = True
    return priced.sites["backhaul_cost_idr"].to_numpy("float64"), opts


def built_network(backhaul: Backhaul) -> nx.Graph:
    """Return the planned links as a small networkx graph (only the nodes they touch)."""
    g = nx.Graph()
    links = backhaul.links
    used = pd.unique(np.concatenate([links["from_id"], links["to_id"], backhaul.sites.index]))
    nodes = backhaul.nodes.reindex(used)
    xy = shapely.get_coordinates(nodes.geometry.array)
    g.add_nodes_from(
        (n, {"kind": k, "x": float(x), "y": float(y)})
        for n, k, x, y in zip(used, nodes["kind"], xy[:, 0], xy[:, 1], strict=True)
    )
    g.add_edges_from(
        (a, b, {"kind": k, "length_m": d, "cost_idr": c})
        for a, b, k, d, c in zip(
            links["from_id"],
            links["to_id"],
            links["kind"],
            links["length_m"].tolist(),
            links["cost_idr"].tolist(),
            strict=True,
        )
    )
    return g


# --------------------------------------------------------------------------- doc examples


def _toy_sites() -> gpd.GeoDataFrame:
    """Three sites in UTM 48S: S1 1 km from fibre F1, S2 20 km from tower T1, S3 far off."""
    x0, y0 = 500_000.0, 9_400_000.0
    return gpd.GeoDataFrame(
        geometry=shapely.points([[x0 + 1000, y0], [x0 + 45_000, y0], [x0 + 200_000, y0]]),
        index=pd.Index(["S1", "S2", "S3"]),
        crs="EPSG:32748",
    )


def _toy_network() -> gpd.GeoDataFrame:
    """Fibre F1 at the origin and tower T1 25 km east of it."""
    x0, y0 = 500_000.0, 9_400_000.0
    return gpd.GeoDataFrame(
        {"kind": ["fibre", "tower"]},
        geometry=shapely.points([[x0, y0], [x0 + 25_000, y0]]),
        index=pd.Index(["F1", "T1"]),
        crs="EPSG:32748",
    )
