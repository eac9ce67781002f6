"""Tests of blankspot.backhaul on hand-built networks whose answers are worked out by hand
or by brute force written here, independently of the module."""

from __future__ import annotations

import itertools
import math

import networkx as nx
import numpy as np
import pandas as pd
import pytest

import geopandas as gpd
import shapely
from pyproj import Geod

from blankspot import _backhaul_routing as routing
from blankspot import backhaul as bh
from blankspot._errors import CRSError, InputError, UnknownOptionError
from blankspot.backhaul import DEFAULT_BACKHAUL_COSTS
from blankspot.backhaul import plan_backhaul as _plan_backhaul

X0, Y0 = 500_000.0, 9_400_000.0
UTM = "EPSG:32748"
MW = DEFAULT_BACKHAUL_COSTS["microwave_link_idr"]
FIBRE_KM = DEFAULT_BACKHAUL_COSTS["fibre_per_km_idr"]
SAT = DEFAULT_BACKHAUL_COSTS["satellite_terminal_idr"] + (
    DEFAULT_BACKHAUL_COSTS["satellite_years"] * DEFAULT_BACKHAUL_COSTS["satellite_per_year_idr"]
)


def plan_backhaul(sites, network, **kw):
    """The function under test, in UTM 48S unless told (estimating the zone costs 0.5 s)."""
    kw.setdefault("crs", UTM)
    return _plan_backhaul(sites, network, **kw)


def pts(coords: dict[str, tuple[float, float]], **cols) -> gpd.GeoDataFrame:
    ids = list(coords)
    return gpd.GeoDataFrame(
        cols,
        geometry=shapely.points(
            np.array([(X0 + x, Y0 + y) for x, y in coords.values()]).reshape(-1, 2)
        ),
        index=pd.Index(ids),
        crs=UTM,
    )


def net(nodes: dict[str, tuple[str, float, float]]) -> gpd.GeoDataFrame:
    return pts({k: (x, y) for k, (_, x, y) in nodes.items()}, kind=[v[0] for v in nodes.values()])


# --------------------------------------------------------------------------- hand-built


def test_fibre_adjacency_gives_zero_hops():
    b = plan_backhaul(pts({"S1": (500, 0)}), net({"F1": ("fibre", 0, 0)}))
    row = b.sites.loc["S1"]
    assert row["backhaul"] == "fibre"
    assert row["hops"] == 0
    assert row["route"] == ("S1", "F1")
    assert row["fibre_id"] == "F1"
    # 0.5 km of fibre at the default price per km, cheaper than one microwave link
    assert row["backhaul_cost_idr"] == pytest.approx(0.5 * FIBRE_KM)
    assert b.total_cost_idr == pytest.approx(0.5 * FIBRE_KM)
    assert b.links["kind"].tolist() == ["fibre"]
    assert b.links["length_m"].tolist() == pytest.approx([500.0])


def test_co_located_site_costs_nothing():
    b = plan_backhaul(pts({"S1": (0, 0)}), net({"F1": ("fibre", 0, 0)}))
    assert b.sites.loc["S1", "backhaul"] == "fibre"
    assert b.sites.loc["S1", "backhaul_cost_idr"] == 0.0
    assert b.total_cost_idr == 0.0


def test_site_beyond_every_hop_limit_gets_satellite():
    network = net({"F1": ("fibre", 0, 0), "T1": ("tower", 20_000, 0)})
    b = plan_backhaul(pts({"S1": (20_000 + 30_001, 0)}), network)
    assert b.sites.loc["S1", "backhaul"] == "satellite"
    assert b.sites.loc["S1", "route"] == ("S1",)
    assert b.sites.loc["S1", "backhaul_cost_idr"] == pytest.approx(SAT)
    assert b.sites.loc["S1", "hops"] == 0
    assert pd.isna(b.sites.loc["S1", "fibre_id"])
    assert b.total_cost_idr == pytest.approx(SAT)
    assert len(b.links) == 0
    # 2 m closer: within 30 km of T1, which is 20 km from the fibre
    b = plan_backhaul(pts({"S2": (20_000 + 29_999, 0)}), network)
    assert b.sites.loc["S2", "backhaul"] == "microwave"
    assert b.sites.loc["S2", "route"] == ("S2", "T1", "F1")
    assert b.sites.loc["S2", "hops"] == 2
    assert b.sites.loc["S2", "backhaul_cost_idr"] == pytest.approx(2 * MW)
    assert b.total_cost_idr == pytest.approx(2 * MW)


def test_a_shorter_hop_limit_turns_microwave_into_satellite():
    network = net({"F1": ("fibre", 0, 0)})
    sites = pts({"S1": (12_000, 0)})
    assert plan_backhaul(sites, network).sites.loc["S1", "backhaul"] == "microwave"
    b = plan_backhaul(sites, network, max_hop_m=10_000)
    assert b.sites.loc["S1", "backhaul"] == "satellite"


def test_satellite_wins_when_cheaper_than_the_route():
    network = net({"F1": ("fibre", 0, 0), "T1": ("tower", 25_000, 0)})
    sites = pts({"S1": (50_000, 0)})  # two hops: 2 x MW
    cheap = {"satellite_terminal_idr": 0, "satellite_per_year_idr": 100e6, "satellite_years": 5}
    b = plan_backhaul(sites, network, costs=cheap)
    assert b.sites.loc["S1", "backhaul"] == "satellite"  # 500e6 < 640e6
    assert b.sites.loc["S1", "backhaul_cost_idr"] == pytest.approx(500e6)
    assert len(b.links) == 0
    b = plan_backhaul(sites, network, costs={**cheap, "satellite_per_year_idr": 200e6})
    assert b.sites.loc["S1", "backhaul"] == "microwave"


def test_shared_links_are_paid_once():
    # S1 and S2 both 10 km from tower T1, which is 25 km from fibre; they are 20 km apart
    network = net({"F1": ("fibre", 0, 0), "T1": ("tower", 25_000, 0)})
    sites = pts({"S1": (25_000, 10_000), "S2": (25_000, -10_000)})
    b = plan_backhaul(sites, network)
    # each alone: S-T1-F1 = 2 links; S1 is also 26.9 km from F1: 1 link!
    d = math.hypot(25_000, 10_000)
    assert d < 30_000
    assert b.sites["backhaul_cost_idr"].tolist() == pytest.approx([MW, MW])
    assert b.sites["hops"].tolist() == [1, 1]
    assert b.total_cost_idr == pytest.approx(2 * MW)
    # with a 26 km limit neither reaches fibre directly: 2 links each, T1-F1 shared
    b = plan_backhaul(sites, network, max_hop_m=26_000)
    assert b.sites["backhaul_cost_idr"].tolist() == pytest.approx([2 * MW, 2 * MW])
    assert b.total_cost_idr == pytest.approx(3 * MW)
    assert sorted(zip(b.links["from_id"], b.links["to_id"], b.links["n_sites"], strict=True)) == [
        ("S1", "T1", 1),
        ("S2", "T1", 1),
        ("T1", "F1", 2),
    ]
    assert b.links.geometry.length.to_numpy() == pytest.approx(b.links["length_m"].to_numpy())


def test_fibre_drop_only_where_cheaper_than_microwave():
    # break-even: MW / FIBRE_KM km of fibre
    km = MW / FIBRE_KM
    network = net({"F1": ("fibre", 0, 0)})
    sites = pts({"A": (0, (km - 0.1) * 1000), "B": (0, -(km + 0.1) * 1000)})
    b = plan_backhaul(sites, network)
    assert b.sites["backhaul"].tolist() == ["fibre", "microwave"]
    assert b.sites.loc["A", "backhaul_cost_idr"] == pytest.approx((km - 0.1) * FIBRE_KM)
    assert b.sites.loc["B", "backhaul_cost_idr"] == pytest.approx(MW)


def test_custom_mast_heights_are_kept():
    network = net({"F1": ("fibre", 0, 0)})
    network["mast_height_m"] = [45.0]
    sites = pts({"S1": (5000, 0)}, mast_height_m=[np.nan])
    b = plan_backhaul(sites, network, mast_height_m=20)
    assert b.nodes.loc["F1", "mast_height_m"] == 45.0
    assert b.nodes.loc["S1", "mast_height_m"] == 20.0


def test_graph_holds_nodes_feasible_links_and_the_plan():
    network = net({"F1": ("fibre", 0, 0), "F2": ("fibre", 1000, 0), "T1": ("tower", 20_000, 0)})
    b = plan_backhaul(pts({"S1": (45_000, 0)}), network)
    g = b.graph
    assert isinstance(g, nx.Graph)
    assert set(g.nodes) == {"F1", "F2", "T1", "S1"}
    assert g.nodes["T1"]["kind"] == "tower"
    assert g.nodes["S1"]["x"] == X0 + 45_000
    # F1-F2 are both fibre: no link; T1-F1 and T1-F2 microwave; S1-T1 (25 km)
    assert sorted(tuple(sorted(e)) for e in g.edges) == [("F1", "T1"), ("F2", "T1"), ("S1", "T1")]
    built = {tuple(sorted(e)) for e, v in nx.get_edge_attributes(g, "built").items() if v}
    # the tie between F1 and F2 (both 19 / 20 km... F2 is nearer but the price is the same)
    assert built == {("S1", "T1"), ("F1", "T1")}
    assert g.edges["S1", "T1"]["length_m"] == pytest.approx(25_000)


def test_ties_go_to_the_first_id_and_row_order_does_not_matter():
    network = net(
        {"F2": ("fibre", 0, 20_000), "F1": ("fibre", 0, -20_000), "Tb": ("tower", 20_000, 0)}
    )
    network = pd.concat([network, net({"Ta": ("tower", -20_000, 0)})])
    sites = pts({"S2": (0, 0), "S1": (0, 1)})
    a = plan_backhaul(sites, network, max_hop_m=25_000)
    # S2 is 20 km from F1, F2, Ta and Tb: one hop to the first fibre node by id
    assert a.sites.loc["S2", "route"] == ("S2", "F1")
    b = plan_backhaul(sites.iloc[::-1], network.iloc[::-1], max_hop_m=25_000)
    assert a.sites.index.tolist() == ["S2", "S1"]
    assert b.sites.index.tolist() == ["S1", "S2"]
    pd.testing.assert_frame_equal(
        pd.DataFrame(a.sites.sort_index()), pd.DataFrame(b.sites.sort_index())
    )
    pd.testing.assert_frame_equal(pd.DataFrame(a.links), pd.DataFrame(b.links))


def test_lengths_are_geodesic_for_lonlat_input():
    network = gpd.GeoDataFrame(
        {"kind": ["fibre"]}, geometry=shapely.points([[105.26, -5.43]]), crs="EPSG:4326"
    )
    sites = gpd.GeoDataFrame(
        geometry=shapely.points([[105.40, -5.50]]), index=["S1"], crs="EPSG:4326"
    )
    b = _plan_backhaul(sites, network)  # working CRS estimated: UTM 48S
    _, _, d = Geod(ellps="WGS84").inv(105.26, -5.43, 105.40, -5.50)
    assert b.sites.loc["S1", "backhaul_m"] == pytest.approx(d, rel=1e-3)
    assert b.links["length_m"].iloc[0] == pytest.approx(d, rel=1e-3)
    assert b.crs.to_epsg() == 32748


def test_plan_of_no_sites_is_empty():
    b = plan_backhaul(pts({}), net({"F1": ("fibre", 0, 0)}))
    assert len(b.sites) == 0 and len(b.links) == 0 and b.total_cost_idr == 0


# --------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("network", "match"),
    [
        (pts({"F1": (0, 0)}), "network has no 'kind' column"),
        (pts({"F1": (0, 0)}, kind=["pop"]), r"unknown value.*'pop' in row 'F1'"),
        (pts({"T1": (0, 0)}, kind=["tower"]), "no node with kind 'fibre'"),
        (pts({"F1": (0, 0)}, kind=[None]), "unknown value"),
    ],
)
def test_bad_network(network, match):
    with pytest.raises(InputError, match=match):
        plan_backhaul(pts({"S1": (0, 0)}), network)


def test_no_crs():
    sites = pts({"S1": (0, 0)}).set_crs(None, allow_override=True)
    with pytest.raises(CRSError, match="sites has no CRS"):
        _plan_backhaul(sites, net({"F1": ("fibre", 0, 0)}))
    network = net({"F1": ("fibre", 0, 0)}).set_crs(None, allow_override=True)
    with pytest.raises(CRSError, match="network has no CRS"):
        _plan_backhaul(pts({"S1": (0, 0)}), network)
    with pytest.raises(CRSError, match="geographic"):
        plan_backhaul(pts({"S1": (0, 0)}), net({"F1": ("fibre", 0, 0)}), crs="EPSG:4326")


@pytest.mark.parametrize(
    ("costs", "match"),
    [
        ({"microwave_idr": 1}, "unknown key 'microwave_idr'.*microwave_link_idr"),
        ({"fibre_per_km_idr": -1}, "non-negative"),
        ({"satellite_years": float("nan")}, "non-negative"),
        ([1, 2], "must be a dict"),
    ],
)
def test_bad_costs(costs, match):
    with pytest.raises(InputError, match=match):
        plan_backhaul(pts({"S1": (0, 0)}), net({"F1": ("fibre", 0, 0)}), costs=costs)


def test_bad_options_and_ids():
    sites, network = pts({"S1": (0, 0)}), net({"F1": ("fibre", 0, 0)})
    with pytest.raises(UnknownOptionError, match="max_hop_m"):
        plan_backhaul(sites, network, max_hop=1)
    with pytest.raises(InputError, match="max_hop_m must be a positive"):
        plan_backhaul(sites, network, max_hop_m=0)
    with pytest.raises(InputError, match="fresnel_clearance"):
        plan_backhaul(sites, network, fresnel_clearance=60)
    with pytest.raises(InputError, match="'F1' is also a network node id"):
        plan_backhaul(pts({"F1": (0, 0)}), network)
    with pytest.raises(InputError, match="sites must be a Plan"):
        plan_backhaul([(0, 0)], network)
    empty = sites.copy()
    empty.geometry = [None]
    with pytest.raises(InputError, match=r"no geometry.*'S1'"):
        plan_backhaul(empty, network)


# --------------------------------------------------------------------------- brute force


def _random_instance(rng, n_fibre, n_tower, n_site, size_m=60_000):
    kinds = ["fibre"] * n_fibre + ["tower"] * n_tower
    xy = rng.uniform(0, size_m, size=(len(kinds) + n_site, 2)).round(-2)
    network = net({f"N{i:02d}": (k, *xy[i]) for i, k in enumerate(kinds)})
    sites = pts({f"S{i:02d}": tuple(xy[len(kinds) + i]) for i in range(n_site)})
    return network, sites


def _edges_by_hand(network, sites, max_hop_m):
    """Feasible links and their prices, from the rules in the docstring (no DEM)."""
    nodes = {i: ("site", g.x, g.y) for i, g in sites.geometry.items()}
    nodes.update(
        {
            i: (k, g.x, g.y)
            for i, k, g in zip(network.index, network["kind"], network.geometry, strict=True)
        }
    )
    edges = {}
    for a, b in itertools.combinations(sorted(nodes), 2):
        (ka, xa, ya), (kb, xb, yb) = nodes[a], nodes[b]
        d = math.dist((xa, ya), (xb, yb))
        if d > max_hop_m or (ka == kb == "fibre"):
            continue
        price = MW
        if "fibre" in (ka, kb):
            price = min(price, d / 1000 * FIBRE_KM)
        edges[frozenset((a, b))] = price
    return nodes, edges


def _brute_route_cost(nodes, edges, start):
    """Cheapest simple path from start to any fibre node, by enumerating every path."""
    adj = {n: [] for n in nodes}
    for e, w in edges.items():
        a, b = tuple(e)
        adj[a].append((b, w))
        adj[b].append((a, w))
    best = math.inf
    stack = [(start, 0.0, {start})]
    while stack:
        node, cost, seen = stack.pop()
        if nodes[node][0] == "fibre":
            best = min(best, cost)
            continue  # beyond a fibre node a path only costs more
        for nxt, w in adj[node]:
            if nxt not in seen:
                stack.append((nxt, cost + w, seen | {nxt}))
    return best


def _brute_steiner(nodes, edges, terminals):
    """Cheapest tree joining the terminals to fibre, over every set of extra nodes.

    Fibre nodes are joined to each other for free (a common root), so a tree may use any
    number of them; the minimum spanning tree of each candidate node set is taken with
    networkx and the cheapest connected one wins.
    """
    others = [n for n in nodes if n not in terminals]
    best = math.inf
    for r in range(len(others) + 1):
        for extra in itertools.combinations(others, r):
            keep = set(terminals) | set(extra)
            g = nx.Graph()
            g.add_nodes_from(keep | {"ROOT"})
            g.add_edges_from(
                (a, b, {"w": w}) for e, w in edges.items() if e <= keep for a, b in [tuple(e)]
            )
            g.add_edges_from(("ROOT", n, {"w": 0.0}) for n in keep if nodes[n][0] == "fibre")
            if not nx.is_connected(g):
                continue
            t = nx.minimum_spanning_tree(g, weight="w")
            best = min(best, t.size(weight="w"))
    return best


@pytest.mark.parametrize("seed", range(12))
def test_dijkstra_equals_brute_force(seed):
    rng = np.random.default_rng(seed)
    network, sites = _random_instance(rng, n_fibre=1 + seed % 2, n_tower=4, n_site=3)
    huge = {"satellite_per_year_idr": 1e15}  # never cheaper than a route
    b = plan_backhaul(sites, network, max_hop_m=20_000, costs=huge)
    nodes, edges = _edges_by_hand(network, sites, 20_000)
    for s in sites.index:
        want = _brute_route_cost(nodes, edges, s)
        got = b.sites.loc[s]
        if math.isinf(want):
            assert got["backhaul"] == "satellite"
        else:
            assert got["backhaul"] != "satellite"
            assert got["backhaul_cost_idr"] == pytest.approx(want, rel=1e-9)


@pytest.mark.parametrize("seed", range(10))
@pytest.mark.parametrize("force_approx", [False, True])
def test_steiner_total_against_brute_force(seed, force_approx, monkeypatch):
    if force_approx:
        monkeypatch.setattr(routing, "_EXACT_STEINER_MAX_NODES", -1)
    rng = np.random.default_rng(100 + seed)
    network, sites = _random_instance(rng, n_fibre=2, n_tower=5, n_site=3)
    huge = {"satellite_per_year_idr": 1e15}
    b = plan_backhaul(sites, network, max_hop_m=25_000, costs=huge)
    nodes, edges = _edges_by_hand(network, sites, 25_000)
    terminals = [s for s in sites.index if b.sites.loc[s, "backhaul"] != "satellite"]
    n_sat = len(sites) - len(terminals)
    opt = _brute_steiner(nodes, edges, terminals)
    tree_cost = b.total_cost_idr - n_sat * (DEFAULT_BACKHAUL_COSTS["satellite_terminal_idr"] + 5e15)
    assert tree_cost == pytest.approx(b.links["cost_idr"].sum())
    if force_approx:
        assert b.steiner in ("mehlhorn", "shortest paths")
        assert tree_cost <= 2 * opt + 1e-3
        assert tree_cost >= opt - 1e-3
    else:
        assert b.steiner == ("exact" if terminals else "none")
        assert tree_cost == pytest.approx(opt, rel=1e-9, abs=1e-3)
    # never dearer than the sum of the sites' own routes
    assert tree_cost <= b.sites.loc[terminals, "backhaul_cost_idr"].sum() + 1e-3
    # every route follows built links and ends on fibre
    built = {frozenset(p) for p in zip(b.links["from_id"], b.links["to_id"], strict=True)}
    for s in terminals:
        route = b.sites.loc[s, "route"]
        assert nodes[route[-1]][0] == "fibre"
        assert all(frozenset(p) in built for p in itertools.pairwise(route))


def test_mehlhorn_matches_networkx_on_a_larger_graph(monkeypatch):
    monkeypatch.setattr(routing, "_EXACT_STEINER_MAX_NODES", -1)
    rng = np.random.default_rng(7)
    network, sites = _random_instance(rng, n_fibre=3, n_tower=40, n_site=15, size_m=100_000)
    b = plan_backhaul(sites, network, max_hop_m=20_000, costs={"satellite_per_year_idr": 1e15})
    nodes, edges = _edges_by_hand(network, sites, 20_000)
    g = nx.Graph()
    for e, w in edges.items():
        a, c = tuple(e)
        g.add_edge(a, c, w=w + 1e-3)
    g.add_edges_from(("ROOT", n, {"w": 1e-3}) for n in nodes if nodes[n][0] == "fibre")
    terminals = ["ROOT"] + [s for s in sites.index if b.sites.loc[s, "backhaul"] != "satellite"]
    ref = nx.algorithms.approximation.steiner_tree(g, terminals, weight="w", method="mehlhorn")
    ref_cost = sum(w - 1e-3 for *_, w in ref.edges(data="w"))
    # our tree is Mehlhorn's, or the shortest-path union when that is cheaper
    assert b.links["cost_idr"].sum() <= ref_cost + 1.0


# --------------------------------------------------------------------------- with rank_sites


def _joint_case():
    """The doc-example assessment (UTM 48S) with two costed candidates.

    A (Rp 1 bn) reaches b6, b7, b8; B (Rp 2 bn) reaches b4, b5 (radius 300 m). Fibre F1 is
    400 m from B (a 0.4 km drop) and 850 m from A: beyond a 500 m hop limit, A needs
    satellite.
    """
    from blankspot._examples import _toy_assessment

    sites = pts({"A": (2500, 500), "B": (1750, 500)}, cost_idr=[1e9, 2e9])
    network = net({"F1": ("fibre", 1750, 100)})
    return _toy_assessment(), sites, network


def test_unconnectable_cheap_site_stops_winning():
    from blankspot import rank_sites

    assessment, sites, network = _joint_case()
    plain = rank_sites(assessment, sites, radius_m=300, budget_idr=2.1e9)
    assert plain.sites["site_id"].tolist() == ["A"]  # 3 businesses per Rp 1 bn
    options = plan_backhaul(sites, network, max_hop_m=500)
    plan = rank_sites(assessment, sites, radius_m=300, budget_idr=2.1e9, backhaul=options)
    # A now costs 1 bn + satellite (96 m + 5 x 240 m) = 2.296 bn > budget; B 2 bn + 58 m
    assert plan.sites["site_id"].tolist() == ["B"]
    row = plan.sites.iloc[0]
    assert row["backhaul"] == "fibre"
    assert row["backhaul_hops"] == 0
    assert row["backhaul_to"] == "F1"
    assert row["backhaul_m"] == pytest.approx(400.0)
    assert row["cost_idr"] == 2e9
    assert row["backhaul_cost_idr"] == pytest.approx(0.4 * FIBRE_KM)
    assert row["cost_per_new_business"] == pytest.approx((2e9 + 0.4 * FIBRE_KM) / 2)
    assert plan.backhaul.total_cost_idr == pytest.approx(0.4 * FIBRE_KM)
    assert set(plan.network.edges) == {("B", "F1")}


def test_rank_sites_with_a_network_plans_every_chosen_site():
    from blankspot import rank_sites

    assessment, sites, network = _joint_case()
    options = plan_backhaul(sites, network, max_hop_m=500)
    plan = rank_sites(assessment, sites, radius_m=300, budget_idr=10e9, backhaul=options)
    assert plan.sites["site_id"].tolist() == ["A", "B"]
    assert plan.sites["backhaul"].tolist() == ["satellite", "fibre"]
    assert plan.sites["backhaul_cost_idr"].tolist() == pytest.approx([SAT, 0.4 * FIBRE_KM])
    assert pd.isna(plan.sites["backhaul_to"].iloc[0])  # satellite: no next node
    assert plan.sites["backhaul_to"].iloc[1] == "F1"
    assert plan.backhaul.total_cost_idr == pytest.approx(SAT + 0.4 * FIBRE_KM)
    assert list(plan.sites.columns[-5:]) == [
        "backhaul",
        "backhaul_hops",
        "backhaul_cost_idr",
        "backhaul_note",
        "geometry",
    ]
    # A is beyond the 500 m hop limit of F1: satellite, and the table says why
    assert plan.sites["backhaul_note"].iloc[0] == "no terrestrial route cheaper than satellite"
    assert pd.isna(plan.sites["backhaul_note"].iloc[1])
    # a plain network GeoDataFrame works too (default 30 km hops: A reaches F1 by microwave,
    # or by 0.85 km of fibre, which is cheaper)
    plan = rank_sites(assessment, sites, radius_m=300, budget_idr=10e9, backhaul=network)
    d = math.hypot(750, 400)
    assert plan.sites["backhaul_cost_idr"].tolist() == pytest.approx(
        [d / 1000 * FIBRE_KM, 0.4 * FIBRE_KM]
    )
    with pytest.raises(InputError, match="backhaul must be the existing network"):
        rank_sites(assessment, sites, radius_m=300, backhaul="fibre.gpkg")


def test_rank_sites_gives_capacity_in_rank_order():
    """F1 (one slot) is 0.602 km of fibre from A and 0.5 km from B, both within a 650 m hop
    (A and B are 750 m apart: no relay). Cheapest first, B would take the slot; in the plan A
    ranks first (3 businesses to B's 2), so A gets fibre and B satellite."""
    from blankspot import rank_sites

    assessment, sites, _ = _joint_case()
    network = net({"F1": ("fibre", 2050, 900)}).assign(capacity=[1])
    options = plan_backhaul(sites, network, max_hop_m=650)
    plan = rank_sites(assessment, sites, radius_m=300, k=2, backhaul=options)
    assert plan.sites["site_id"].tolist() == ["A", "B"]
    assert plan.sites["backhaul"].tolist() == ["fibre", "satellite"]
    assert plan.sites["backhaul_m"].iloc[0] == pytest.approx(math.hypot(450, 400))
    assert plan.sites["backhaul_note"].iloc[1] == "every route passes through a node at capacity"
    assert plan.backhaul.total_cost_idr == pytest.approx(
        math.hypot(450, 400) / 1000 * FIBRE_KM + SAT
    )


def test_plan_as_input():
    from blankspot import rank_sites

    assessment, sites, network = _joint_case()
    plan = rank_sites(assessment, sites, radius_m=300)
    b = plan_backhaul(plan, network, max_hop_m=500)
    assert b.sites.index.tolist() == plan.sites["site_id"].tolist()
    assert b.sites["backhaul"].tolist() == ["satellite", "fibre"]


def test_export_writes_the_backhaul_layer_and_columns(tmp_path):
    import pyogrio

    from blankspot import export, rank_sites

    assessment, sites, network = _joint_case()
    options = plan_backhaul(sites, network, max_hop_m=500)
    plan = rank_sites(assessment, sites, radius_m=300, budget_idr=10e9, backhaul=options)
    files = export(plan, tmp_path / "en")
    layers = dict(pyogrio.list_layers(files["gpkg"]))
    assert layers["backhaul"] == "LineString"
    links = gpd.read_file(files["gpkg"], layer="backhaul")
    assert links[["from_id", "to_id", "kind"]].values.tolist() == [["B", "F1", "fibre"]]
    assert links["length_m"].tolist() == pytest.approx([400.0])
    shp = gpd.read_file(tmp_path / "en" / "shp" / "backhaul.shp")
    assert {"from_id", "to_id", "kind", "length_m", "clear_m", "cost_idr"} <= set(shp.columns)
    table = pd.read_csv(files["csv"])
    assert table["backhaul"].tolist() == ["satellite", "fibre"]
    assert table["backhaul_cost_idr"].tolist() == [round(SAT), round(0.4 * FIBRE_KM)]
    assert table["backhaul_hops"].tolist() == [0, 0]
    assert table["backhaul_note"].iloc[0] == "no terrestrial route cheaper than satellite"
    assert pd.isna(table["backhaul_note"].iloc[1])
    sites_layer = gpd.read_file(files["gpkg"], layer="sites")
    assert sites_layer["backhaul_note"].iloc[0] == "no terrestrial route cheaper than satellite"
    assert "bhaul_note" in gpd.read_file(tmp_path / "en" / "shp" / "sites.shp").columns
    files = export(plan, tmp_path / "id", lang="id", formats=["csv", "xlsx"])
    table = pd.read_csv(files["csv"], sep=";", decimal=",")
    assert table["Jenis backhaul"].tolist() == ["satelit", "serat optik"]
    note = "tidak ada rute darat yang lebih murah daripada satelit"
    assert table["Catatan backhaul"].iloc[0] == note
    assert pd.isna(table["Catatan backhaul"].iloc[1])
    sheet = pd.read_excel(files["xlsx"], sheet_name="Prioritas Lokasi")
    assert sheet["Catatan backhaul"].iloc[0] == note
    assert table["Biaya backhaul (Rp)"].tolist() == [round(SAT), round(0.4 * FIBRE_KM)]
    summary = pd.read_excel(files["xlsx"], sheet_name="Ringkasan")
    row = summary[summary["Butir"].str.startswith("Biaya backhaul")]
    assert float(row["Nilai"].iloc[0]) == pytest.approx(SAT + 0.4 * FIBRE_KM)


def test_maps_draw_the_links():
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.collections import LineCollection

    from blankspot import explore_plan, plot_plan, rank_sites

    assessment, sites, network = _joint_case()
    options = plan_backhaul(sites, network, max_hop_m=500)
    plan = rank_sites(assessment, sites, radius_m=300, budget_idr=10e9, backhaul=options)
    fig = plot_plan(plan)
    segments = [
        seg
        for c in fig.axes[0].collections
        if isinstance(c, LineCollection)
        for seg in c.get_segments()
    ]
    link = np.array([[X0 + 1750, Y0 + 500], [X0 + 1750, Y0 + 100]])
    assert any(
        seg.shape == link.shape and (np.allclose(seg, link) or np.allclose(seg[::-1], link))
        for seg in segments
    )
    labels = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert "Backhaul link (solid: microwave, dashed: fibre)" in labels
    web = explore_plan(plan, lang="id")
    html = web.html if hasattr(web, "html") else web.get_root().render()
    assert "Sambungan backhaul" in html
    # the one link, B -> F1, drawn from the plan's backhaul links
    from blankspot.maps import _backhaul_lines

    lines = _backhaul_lines(plan, "EPSG:4326")
    assert lines["site_id"].tolist() == ["B"]
    assert lines.geometry.iloc[0].equals(plan.backhaul.links.to_crs("EPSG:4326").geometry.iloc[0])


# --------------------------------------------------------------------------- terrain


def _ridge_dem(tmp_path):
    """Flat ground at 0 m with a 500 m ridge at x = 9.5..10.5 km, y = -2..2 km (100 m px).

    The DEM spans x = -2..22 km and y = -4..10 km around (X0, Y0), in UTM 48S.
    """
    from affine import Affine

    from tests.common import write_tif

    z = np.zeros((140, 240), dtype="float32")  # rows: y from 10 km down to -4 km
    rows = slice(80, 120)  # y = 2 km .. -2 km
    cols = slice(115, 125)  # x = 9.5 .. 10.5 km
    z[rows, cols] = 500.0
    return write_tif(tmp_path / "ridge.tif", z, Affine(100, 0, X0 - 2000, 0, -100, Y0 + 10_000))


def test_ridge_blocks_the_direct_hop_so_the_route_goes_through_a_relay(tmp_path):
    dem = _ridge_dem(tmp_path)
    network = net({"F1": ("fibre", 0, 0), "T1": ("tower", 10_000, 6_000)})
    sites = pts({"S1": (20_000, 0)})
    flat = plan_backhaul(sites, network)
    assert flat.sites.loc["S1", "route"] == ("S1", "F1")  # no DEM: one 20 km hop
    b = plan_backhaul(sites, network, dem=dem)
    row = b.sites.loc["S1"]
    assert row["route"] == ("S1", "T1", "F1")
    assert row["backhaul"] == "microwave"
    assert row["hops"] == 2
    assert row["backhaul_cost_idr"] == pytest.approx(2 * MW)
    hop = math.hypot(10_000, 6_000)
    assert row["backhaul_m"] == pytest.approx(2 * hop)
    # flat ground, 30 m masts, 11.66 km: the tightest point is mid-path, 30 m less the
    # earth bulge (5.83 km)^2 / (2 * 4/3 * 6371 km) = 2.00 m and 0.6 of the 7 GHz Fresnel
    # radius sqrt(0.0428 m * 5.83 km / 2) = 11.17 m
    lam = 299_792_458 / 7e9
    want = 30 - (hop / 2) ** 2 / (2 * 4 / 3 * 6_371_000) - 0.6 * math.sqrt(lam * hop / 4)
    assert b.links["clearance_m"].to_numpy() == pytest.approx([want, want], abs=0.2)
    # the direct pair is still feasible as 20 km of fibre, never as microwave
    direct = b.feasible[(b.feasible["u"] == "F1") & (b.feasible["v"] == "S1")]
    assert direct["kind"].tolist() == ["fibre"]


def test_blocked_hop_falls_back_to_fibre_only_when_no_route_is_cheaper(tmp_path):
    """F1 -> S1 (5.5 km) crosses the ridge; its fibre drop costs 5.5 x Rp 145 m = Rp 797.5 m,
    more than two clear hops S1 -> T1 -> F1 (2 x Rp 320 m = Rp 640 m), which win. Without
    the tower, the fibre drop is the route."""
    dem = _ridge_dem(tmp_path)
    network = net({"F1": ("fibre", 7_000, 0), "T1": ("tower", 10_000, 5_000)})
    sites = pts({"S1": (12_500, 0)})
    b = plan_backhaul(sites, network, dem=dem)
    assert b.sites.loc["S1", "route"] == ("S1", "T1", "F1")
    assert b.sites.loc["S1", "backhaul_cost_idr"] == pytest.approx(2 * MW)
    b = plan_backhaul(sites, network.loc[["F1"]], dem=dem)
    assert b.sites.loc["S1", "route"] == ("S1", "F1")
    assert b.sites.loc["S1", "backhaul"] == "fibre"
    assert b.sites.loc["S1", "backhaul_cost_idr"] == pytest.approx(5.5 * FIBRE_KM)


def test_ridge_with_no_relay_means_satellite(tmp_path):
    dem = _ridge_dem(tmp_path)
    b = plan_backhaul(pts({"S1": (20_000, 0)}), net({"F1": ("fibre", 0, 0)}), dem=dem)
    # 20 km of fibre (Rp 2.9 bn) costs more than satellite (Rp 1.296 bn)
    assert b.sites.loc["S1", "backhaul"] == "satellite"
    # 600 m masts see over the 500 m ridge
    b = plan_backhaul(
        pts({"S1": (20_000, 0)}), net({"F1": ("fibre", 0, 0)}), dem=dem, mast_height_m=600
    )
    assert b.sites.loc["S1", "route"] == ("S1", "F1")
    assert b.links["clearance_m"].iloc[0] > 0


def test_per_node_mast_heights_decide_line_of_sight(tmp_path):
    """The 500 m ridge between F1 and S1 (20 km apart): 600 m masts at both ends clear it
    (the ray is at 600 m over the ridge); 600 m at one end only does not (the ray from 600 m
    to 30 m is at 600 - 570 x 9.5 / 20 = 329 m where the ridge starts), so satellite."""
    dem = _ridge_dem(tmp_path)
    both = plan_backhaul(
        pts({"S1": (20_000, 0)}, mast_height_m=[600.0]),
        pts({"F1": (0, 0)}, kind=["fibre"], mast_height_m=[600.0]),
        dem=dem,
    )
    assert both.sites.loc["S1", "route"] == ("S1", "F1")
    assert both.links["kind"].tolist() == ["microwave"]
    assert both.links["clearance_m"].iloc[0] > 50
    for site_h, node_h in ((600.0, 30.0), (30.0, 600.0)):
        one = plan_backhaul(
            pts({"S1": (20_000, 0)}, mast_height_m=[site_h]),
            pts({"F1": (0, 0)}, kind=["fibre"], mast_height_m=[node_h]),
            dem=dem,
        )
        assert one.sites.loc["S1", "backhaul"] == "satellite"


def test_without_site_relays_sites_only_use_the_network():
    network = net({"F1": ("fibre", 0, 0)})
    sites = pts({"S1": (0, 0), "S2": (25_000, 0), "S3": (50_000, 0)})
    b = plan_backhaul(sites, network)
    assert b.sites.loc["S3", "route"] == ("S3", "S2", "F1")  # S2 relays S3
    b = plan_backhaul(sites, network, site_relays=False)
    assert b.sites["backhaul"].tolist() == ["fibre", "microwave", "satellite"]
    assert b.sites["backhaul_cost_idr"].tolist() == pytest.approx([0.0, MW, SAT])
    assert not ((b.feasible["u"].str[0] == "S") & (b.feasible["v"].str[0] == "S")).any()


@pytest.mark.parametrize("seed", range(4))
def test_lazy_terrain_checks_give_the_brute_force_costs(tmp_path, seed):
    """Random hills; every pair checked up front here, then brute force, must agree."""
    from affine import Affine

    from blankspot.terrain import line_of_sight, read_dem
    from tests.common import write_tif

    rng = np.random.default_rng(300 + seed)
    yy, xx = np.mgrid[0:70, 0:70] * 1000.0  # 1 km pixels over 70 x 70 km
    z = np.zeros_like(xx)
    for cx, cy, h in rng.uniform([0, 0, 100], [70_000, 70_000, 600], size=(12, 3)):
        z += h * np.exp(-((xx - cx) ** 2 + (yy - cy) ** 2) / (2 * 4000.0**2))
    path = write_tif(
        tmp_path / "hills.tif",
        z[::-1].astype("float32"),
        Affine(1000, 0, X0 - 5000, 0, -1000, Y0 + 65_000),
    )
    network, sites = _random_instance(rng, n_fibre=1, n_tower=6, n_site=3)
    b = plan_backhaul(
        sites, network, dem=path, max_hop_m=25_000, costs={"satellite_per_year_idr": 1e15}
    )
    nodes, edges = _edges_by_hand(network, sites, 25_000)
    names = sorted(nodes)
    pairs = [tuple(sorted(e)) for e in edges]
    a = np.array([nodes[p[0]][1:] for p in pairs])
    c = np.array([nodes[p[1]][1:] for p in pairs])
    los = line_of_sight(
        read_dem(path), a[:, 0], a[:, 1], c[:, 0], c[:, 1], height_a_m=30, height_b_m=30,
        crs=UTM, frequency_ghz=7.0, fresnel_clearance=0.6,
    )  # fmt: skip
    checked = {}
    for (p, q), clear in zip(pairs, los["clear"], strict=True):
        e = frozenset((p, q))
        fibre = math.inf
        if "fibre" in (nodes[p][0], nodes[q][0]):
            fibre = math.dist(nodes[p][1:], nodes[q][1:]) / 1000 * FIBRE_KM
        price = min(fibre, MW if clear else math.inf)
        if math.isfinite(price):
            checked[e] = price
    assert names  # the instance is not empty
    for s in sites.index:
        want = _brute_route_cost(nodes, checked, s)
        got = b.sites.loc[s]
        if math.isinf(want):
            assert got["backhaul"] == "satellite"
        else:
            assert got["backhaul_cost_idr"] == pytest.approx(want, rel=1e-9)
    # every built microwave link was checked and is clear
    mw = b.links[b.links["kind"] == "microwave"]
    assert (mw["clearance_m"] > 0).all()


def _hills(tmp_path, rng, n_hills=12):
    """Random Gaussian hills, 1 km pixels over 70 x 70 km around (X0 - 5 km, Y0 - 5 km)."""
    from affine import Affine

    from tests.common import write_tif

    yy, xx = np.mgrid[0:70, 0:70] * 1000.0
    z = np.zeros_like(xx)
    for cx, cy, h in rng.uniform([0, 0, 100], [70_000, 70_000, 600], size=(n_hills, 3)):
        z += h * np.exp(-((xx - cx) ** 2 + (yy - cy) ** 2) / (2 * 4000.0**2))
    return write_tif(
        tmp_path / "hills.tif",
        z[::-1].astype("float32"),
        Affine(1000, 0, X0 - 5000, 0, -1000, Y0 + 65_000),
    )


def _eager_costs(path, network, sites, max_hop_m, heights=None):
    """Every candidate pair checked up front, then networkx Dijkstra from the fibre nodes.

    Independent of the module: pairs and prices from the docstring's rules
    (:func:`_edges_by_hand`), line of sight for all of them in one call, a networkx graph.
    """
    from blankspot.terrain import line_of_sight, read_dem

    nodes, edges = _edges_by_hand(network, sites, max_hop_m)
    heights = heights or {}
    pairs = [tuple(sorted(e)) for e in edges]
    a = np.array([nodes[p[0]][1:] for p in pairs])
    c = np.array([nodes[p[1]][1:] for p in pairs])
    los = line_of_sight(
        read_dem(path), a[:, 0], a[:, 1], c[:, 0], c[:, 1],
        height_a_m=[heights.get(p[0], 30.0) for p in pairs],
        height_b_m=[heights.get(p[1], 30.0) for p in pairs],
        crs=UTM, frequency_ghz=7.0, fresnel_clearance=0.6,
    )  # fmt: skip
    g = nx.Graph()
    g.add_nodes_from(nodes)
    for (p, q), clear in zip(pairs, los["clear"], strict=True):
        fibre = math.inf
        if "fibre" in (nodes[p][0], nodes[q][0]):
            fibre = math.dist(nodes[p][1:], nodes[q][1:]) / 1000 * FIBRE_KM
        price = min(fibre, MW if clear else math.inf)
        if math.isfinite(price):
            g.add_edge(p, q, w=price)
    fibre_nodes = [k for k, v in nodes.items() if v[0] == "fibre"]
    return nx.multi_source_dijkstra_path_length(g, fibre_nodes, weight="w"), int(
        (~los["clear"]).sum()
    )


@pytest.mark.parametrize("seed", range(6))
def test_lazy_checks_equal_eager_checks_on_larger_instances(tmp_path, seed):
    """40-60 nodes, a third or more of the pairs blocked: every site's least cost, and which
    sites get satellite, equal those of checking every pair first (networkx, above)."""
    rng = np.random.default_rng(900 + seed)
    path = _hills(tmp_path, rng, n_hills=20)
    network, sites = _random_instance(rng, n_fibre=1 + seed % 3, n_tower=25 + 3 * seed, n_site=15)
    b = plan_backhaul(sites, network, dem=path, max_hop_m=25_000)
    want, n_blocked = _eager_costs(path, network, sites, 25_000)
    assert n_blocked > 0.2 * len(b.feasible)  # the terrain matters here
    assert (~b.feasible["checked"]).any()  # and laziness skipped some pairs
    for s in sites.index:
        got = b.sites.loc[s]
        if want.get(s, math.inf) > SAT:
            assert got["backhaul"] == "satellite", s
            assert got["backhaul_cost_idr"] == pytest.approx(SAT)
        else:
            assert got["backhaul"] != "satellite", s
            assert got["backhaul_cost_idr"] == pytest.approx(want[s], rel=1e-9), s
    # every built microwave link was checked and is clear
    mw = b.links[b.links["kind"] == "microwave"]
    assert (mw["clearance_m"] > 0).all()


# --------------------------------------------------------------------------- capacity


def _capacity_case(**tower_cols):
    """F1 at 0; T1 20 km east; S1 40 km east and S2 40 km east, 5 km north: beyond 30 km of
    F1, both reach fibre only through T1 (2 hops, Rp 640 m each, cheaper than satellite)."""
    network = pts({"F1": (0, 0), "T1": (20_000, 0)}, kind=["fibre", "tower"], **tower_cols)
    sites = pts({"S1": (40_000, 0), "S2": (40_000, 5_000)})
    return network, sites


def test_capacity_full_tower_sends_the_later_site_to_satellite():
    network, sites = _capacity_case(capacity=[None, 1])
    free = plan_backhaul(sites, network.drop(columns="capacity"))
    assert free.sites["backhaul"].tolist() == ["microwave", "microwave"]
    b = plan_backhaul(sites, network)
    assert b.steiner == "capacitated routes"
    # equal own prices (2 hops): S1 first by id takes T1's one slot
    assert b.sites.loc["S1", "route"] == ("S1", "T1", "F1")
    assert b.sites.loc["S1", "backhaul_cost_idr"] == pytest.approx(2 * MW)
    assert b.sites.loc["S2", "backhaul"] == "satellite"
    assert b.sites.loc["S2", "route"] == ("S2",)
    assert b.sites.loc["S2", "backhaul_cost_idr"] == pytest.approx(SAT)
    assert b.sites.loc["S2", "backhaul_note"] == "every route passes through a node at capacity"
    assert pd.isna(b.sites.loc["S1", "backhaul_note"])
    assert b.links["n_sites"].tolist() == [1, 1]
    assert b.total_cost_idr == pytest.approx(2 * MW + SAT)
    # two slots: both through T1, the links T1-F1 shared
    b = plan_backhaul(sites, network.assign(capacity=[None, 2]))
    assert b.sites["backhaul"].tolist() == ["microwave", "microwave"]
    shared = b.links[(b.links["from_id"] == "T1")]
    assert shared["n_sites"].tolist() == [2]
    assert b.total_cost_idr == pytest.approx(3 * MW)


def test_capacity_order_follows_the_rank_column():
    network, sites = _capacity_case(capacity=[None, 1])
    b = plan_backhaul(sites.assign(rank=[2, 1]), network)
    assert b.sites.loc["S2", "route"] == ("S2", "T1", "F1")
    assert b.sites.loc["S1", "backhaul"] == "satellite"


def test_capacity_rank_comes_before_price():
    """F1 (one slot) is 0.5 km of fibre from S1 and 0.6 km from S2 (1 km apart: no relay
    within 700 m). Cheapest first S1 takes it; ranked first, S2 does."""
    network = pts({"F1": (0, 0)}, kind=["fibre"], capacity=[1])
    sites = pts({"S1": (0, 500), "S2": (0, -600)})
    cheapest = plan_backhaul(sites, network, max_hop_m=700)
    assert cheapest.sites["backhaul"].tolist() == ["fibre", "satellite"]
    ranked = plan_backhaul(sites.assign(rank=[2, 1]), network, max_hop_m=700)
    assert ranked.sites["backhaul"].tolist() == ["satellite", "fibre"]
    assert ranked.sites.loc["S2", "backhaul_cost_idr"] == pytest.approx(0.6 * FIBRE_KM)


def test_capacity_full_node_is_avoided_when_another_route_exists():
    """T2 (20 km east, 8 km north; no limit) also reaches F1 and S2: S2 goes through it."""
    network = pts(
        {"F1": (0, 0), "T1": (20_000, 0), "T2": (20_000, 8_000)},
        kind=["fibre", "tower", "tower"],
        capacity=[np.nan, 1, np.nan],
    )
    _, sites = _capacity_case()
    b = plan_backhaul(sites, network)
    assert b.sites.loc["S1", "route"] == ("S1", "T1", "F1")
    assert b.sites.loc["S2", "route"] == ("S2", "T2", "F1")
    assert b.total_cost_idr == pytest.approx(4 * MW)


def test_capacity_of_a_fibre_node_and_of_a_relaying_site():
    # F1 takes one site: S1 (1 km drop, Rp 145 m) first, S2 (1.2 km) gets satellite
    network = pts({"F1": (0, 0)}, kind=["fibre"], capacity=[1])
    sites = pts({"S1": (1_000, 0), "S2": (0, 1_200)})
    b = plan_backhaul(sites, network)
    assert b.sites.loc["S1", "route"] == ("S1", "F1")
    assert b.sites.loc["S1", "backhaul_cost_idr"] == pytest.approx(FIBRE_KM)
    assert b.sites.loc["S2", "backhaul"] == "satellite"
    # S2 reaches fibre only through S1: a site with capacity 0 relays nobody
    network = net({"F1": ("fibre", 0, 0)})
    sites = pts({"S1": (25_000, 0), "S2": (50_000, 0)})
    assert plan_backhaul(sites, network).sites.loc["S2", "route"] == ("S2", "S1", "F1")
    # capacity 1: S1 relays S2 (its own route does not count against it)
    b = plan_backhaul(sites.assign(capacity=[1, None]), network)
    assert b.sites.loc["S2", "route"] == ("S2", "S1", "F1")
    b = plan_backhaul(sites.assign(capacity=[0, None]), network)
    assert b.sites.loc["S1", "route"] == ("S1", "F1")
    assert b.sites.loc["S2", "backhaul"] == "satellite"
    assert b.sites.loc["S2", "backhaul_note"] == "every route passes through a node at capacity"


def test_no_capacity_values_means_no_limit():
    network, sites = _capacity_case(capacity=[None, None])
    b = plan_backhaul(sites, network)
    assert b.steiner != "capacitated routes"
    assert b.sites["backhaul"].tolist() == ["microwave", "microwave"]


@pytest.mark.parametrize("value", [-1, 1.5, "two"])
def test_bad_capacity(value):
    network, sites = _capacity_case(capacity=[None, value])
    with pytest.raises(InputError, match=r"network: column 'capacity' is .* in row 'T1'"):
        plan_backhaul(sites, network)


def test_candidates_are_priced_on_their_own_whatever_the_capacity():
    """Pricing candidates for rank_sites: T1's one slot does not make S2 look unconnectable
    (both cost 2 hops on their own); capacity 0 still means T1 relays nobody."""
    network, sites = _capacity_case(capacity=[None, 1])
    prices, _ = bh.price_candidates(sites, network)
    assert prices.tolist() == pytest.approx([2 * MW, 2 * MW])
    prices, _ = bh.price_candidates(sites, network.assign(capacity=[None, 0]))
    assert prices.tolist() == pytest.approx([SAT, SAT])
    with pytest.raises(InputError, match="column 'capacity'"):
        bh.price_candidates(sites, network.assign(capacity=[None, -2]))
