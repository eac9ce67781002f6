"""Annual phasing of a ranked plan: hand-worked budgets, invariants, exports and the CLI."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pandas as pd
import pytest

import geopandas as gpd
from shapely.geometry import Point

from blankspot import InputError, UnknownOptionError, phase_plan
from blankspot._examples import _toy_assessment, _toy_sites
from blankspot.ranking import Plan, rank_sites


def make_plan(costs, new, *, total=40.0, weighted=False) -> Plan:
    """A plan whose sites (S1, S2, ... in rank order) cost ``costs`` and connect ``new``."""
    n = len(costs)
    cum = np.cumsum(new)
    sites = gpd.GeoDataFrame(
        {
            "rank": np.arange(1, n + 1),
            "site_id": [f"S{i + 1}" for i in range(n)],
            "new_businesses": np.asarray(new, dtype="int64"),
            "cumulative_businesses": cum,
            "cumulative_share": cum / total,
            "cost_idr": np.asarray(costs, dtype="float64"),
        },
        geometry=[Point(500_000 + 100 * i, 9_400_000) for i in range(n)],
        crs="EPSG:32748",
    )
    if weighted:
        sites.insert(5, "new_weighted_businesses", 2.0 * np.asarray(new, dtype="float64"))
        sites.insert(6, "cumulative_weighted_businesses", 2.0 * cum)
        sites.insert(7, "cumulative_weighted_share", 2.0 * cum / (2 * total))
    return Plan(
        sites=sites,
        upper_bound=float(cum[-1]) if n else 0.0,
        method="greedy",
        objective=float(cum[-1]) if n else 0.0,
        gap=0.0,
        total_uncovered=2 * total if weighted else total,
        weighted=weighted,
        message="",
        network=nx.Graph(),
        assessment=None,
    )


COSTS = [4, 5, 3, 8, 2, 2]
NEW = [10, 8, 6, 5, 3, 1]


def test_strict_rank_order_by_hand():
    # 2026: 4 + 5 = 9 (the 3 would make 12); 2027: 3 (3 + 8 = 11); 2028: 8 + 2 = 10; 2029: 2
    phased = phase_plan(make_plan(COSTS, NEW), annual_budget_idr=10, start_year=2026)
    assert phased.sites["year"].tolist() == [2026, 2026, 2027, 2028, 2028, 2029]
    assert list(phased.sites.columns[:3]) == ["rank", "year", "site_id"]
    assert str(phased.sites["year"].dtype) == "Int64"
    y = phased.years
    assert y["year"].tolist() == [2026, 2027, 2028, 2029]
    assert y["budget_idr"].tolist() == [10.0] * 4
    assert y["spent_idr"].tolist() == [9.0, 3.0, 10.0, 2.0]
    assert y["leftover_idr"].tolist() == [1.0, 7.0, 0.0, 8.0]
    assert y["n_sites"].tolist() == [2, 1, 2, 1]
    assert y["site_ids"].tolist() == ["S1;S2", "S3", "S4;S5", "S6"]
    assert y["new_businesses"].tolist() == [18, 6, 8, 1]
    assert y["cumulative_businesses"].tolist() == [18, 24, 32, 33]
    np.testing.assert_allclose(y["cumulative_share"], [18 / 40, 24 / 40, 32 / 40, 33 / 40])
    assert phased.message == ""
    assert "year" not in make_plan(COSTS, NEW).sites.columns  # the input is not changed


def test_carry_over_by_hand():
    # 2026: 9 spent, 1 left -> 2027 has 11: 3 + 8; 2028: 2 + 2
    phased = phase_plan(
        make_plan(COSTS, NEW), annual_budget_idr=10, start_year=2026, carry_over=True
    )
    assert phased.sites["year"].tolist() == [2026, 2026, 2027, 2027, 2028, 2028]
    assert phased.years["budget_idr"].tolist() == [10.0, 11.0, 10.0]
    assert phased.years["leftover_idr"].tolist() == [1.0, 0.0, 6.0]


def test_site_dearer_than_a_year():
    plan = make_plan([4, 15, 1], [5, 4, 3])
    phased = phase_plan(plan, annual_budget_idr=10, start_year=2026)
    assert phased.sites["year"].isna().tolist() == [False, True, True]
    assert phased.sites["year"].iloc[0] == 2026
    assert phased.message == (
        "2 of 3 sites are left unscheduled (year empty): site S2 (rank 2) costs Rp 15, more "
        "than any one year's budget; strictly rank order, so no later site is built before it."
    )
    assert phased.years["year"].tolist() == [2026]
    # saving up: 2026 leaves 6, 2027 has 16
    saved = phase_plan(plan, annual_budget_idr=10, start_year=2026, carry_over=True)
    assert saved.sites["year"].tolist() == [2026, 2027, 2027]
    # a site worth 2.5 years: 2027 is a year without a site, 2028 has 6 + 10 + 10
    late = phase_plan(
        make_plan([4, 25, 1], [5, 4, 3]), annual_budget_idr=10, start_year=2026, carry_over=True
    )
    assert late.sites["year"].tolist() == [2026, 2028, 2028]
    assert late.years["n_sites"].tolist() == [1, 0, 2]
    assert late.years["budget_idr"].tolist() == [10.0, 16.0, 26.0]


def test_saving_up_is_bounded_in_years():
    # a budget typed in billions (1.5 for Rp 1.5 billion) with carry_over would save up for
    # hundreds of millions of years (a hang, then a years table as long); past MAX_YEARS a
    # site is left unscheduled with the reason instead
    from blankspot.phasing import MAX_YEARS

    assert MAX_YEARS == 100
    plan = make_plan([4, 1000, 1], [5, 4, 3])
    # 2026 leaves 6; 994 more at 10 a year: 100 more years, so 2126, beyond 2026 + 99
    phased = phase_plan(plan, annual_budget_idr=10, start_year=2026, carry_over=True)
    assert phased.sites["year"].isna().tolist() == [False, True, True]
    assert phased.years["year"].tolist() == [2026]
    assert "site S2 (rank 2) costs Rp 1,000, more than 100 years of annual_budget_idr" in (
        phased.message
    )
    # 984 more needs 99 more years: 2125 is the 100th year, still within the horizon
    within = phase_plan(
        make_plan([4, 990, 1], [5, 4, 3]), annual_budget_idr=10, start_year=2026, carry_over=True
    )
    assert within.sites["year"].tolist() == [2026, 2125, 2125]
    assert len(within.years) == 100


def test_budgets_per_year():
    # 2026 (10): 4 + 5; 2027 (5): 3, then 8 does not fit and there is no 2028
    phased = phase_plan(make_plan(COSTS, NEW), annual_budget_idr=[10, 5], start_year=2026)
    assert phased.sites["year"].tolist()[:3] == [2026, 2026, 2027]
    assert phased.sites["year"].isna().sum() == 3
    assert "the budgets of 2 year(s) run out at site S4 (rank 4)" in phased.message
    assert phased.years["budget_idr"].tolist() == [10.0, 5.0]


@pytest.mark.parametrize("carry_over", [False, True])
@pytest.mark.parametrize("seed", range(20))
def test_invariants_on_random_plans(seed, carry_over):
    """Sums never exceed the year's money; years follow rank order; a site only moves on
    when it did not fit in what was left (which characterises the rule completely)."""
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 25))
    costs = rng.integers(0, 12, n).astype(float)
    budget = float(rng.integers(5, 15))
    phased = phase_plan(
        make_plan(costs, rng.integers(0, 9, n)),
        annual_budget_idr=budget,
        start_year=2030,
        carry_over=carry_over,
    )
    years = phased.sites["year"].astype("float64").to_numpy()
    done = ~np.isnan(years)
    assert (np.diff(years[done]) >= 0).all()
    assert not (done[1:] & ~done[:-1]).any()  # unscheduled only at the end
    y = phased.years
    assert (y["spent_idr"] <= y["budget_idr"] + 1e-9).all()
    leftover = dict(zip(y["year"], y["leftover_idr"], strict=True))
    for i in range(1, int(done.sum())):
        if years[i] != years[i - 1]:
            assert costs[i] > leftover[int(years[i - 1])]
    if not done.all():
        first = int(np.argmin(done))
        assert costs[first] > (budget if not carry_over else np.inf)
    if not carry_over:
        assert (y["budget_idr"] == budget).all()


def test_weighted_plan_has_both_shares():
    phased = phase_plan(make_plan(COSTS, NEW, weighted=True), annual_budget_idr=10, start_year=1)
    y = phased.years
    assert y["new_weighted_businesses"].tolist() == [36.0, 12.0, 16.0, 2.0]
    np.testing.assert_allclose(y["cumulative_weighted_share"], [36 / 80, 48 / 80, 64 / 80, 66 / 80])
    np.testing.assert_allclose(y["cumulative_share"], [18 / 40, 24 / 40, 32 / 40, 33 / 40])


def test_errors_and_default_cost():
    plan = make_plan([4, np.nan], [1, 1])
    with pytest.raises(InputError, match=r"1 site\(s\) have no usable cost_idr \(S2\)"):
        phase_plan(plan, annual_budget_idr=10, start_year=2026)
    phased = phase_plan(plan, annual_budget_idr=10, start_year=2026, default_cost_idr=7)
    assert phased.sites["cost_idr"].tolist() == [4.0, 7.0]
    assert phased.sites["year"].tolist() == [2026, 2027]
    for bad, match in [
        (-1, "must be finite and >= 0"),
        ([10, np.inf], "must be finite"),
        ([], "empty list"),
        ("10", "a number of rupiah"),
    ]:
        with pytest.raises(InputError, match=match):
            phase_plan(plan, annual_budget_idr=bad, start_year=2026, default_cost_idr=1)
    with pytest.raises(InputError, match="start_year should be a whole year"):
        phase_plan(plan, annual_budget_idr=10, start_year=2026.5, default_cost_idr=1)
    with pytest.raises(InputError, match="plan should be a Plan"):
        phase_plan(plan.sites, annual_budget_idr=10, start_year=2026)
    with pytest.raises(UnknownOptionError, match="Did you mean 'start_year'"):
        phase_plan(plan, annual_budget_idr=10, start_yr=2026)


def test_exports_carry_the_year(tmp_path):
    from blankspot import export

    plan = rank_sites(_toy_assessment(), _toy_sites(), radius_m=600, k=2)
    phased = phase_plan(plan, annual_budget_idr=1e9, start_year=2026, default_cost_idr=1e9)
    written = export(phased, tmp_path / "en", formats=("csv", "xlsx", "gpkg", "shp"))
    csv = pd.read_csv(written["csv"])
    assert list(csv.columns[:3]) == ["rank", "year", "site_id"]
    assert csv["year"].tolist() == [2026, 2027]
    sheets = pd.read_excel(written["xlsx"], sheet_name=None)
    assert list(sheets)[:2] == ["priority_sites", "per_year"]
    per_year = sheets["per_year"]
    assert per_year["year"].tolist() == [2026, 2027]
    assert per_year["site_ids"].tolist() == ["S1", "S2"]
    assert per_year["cumulative_businesses"].tolist() == [3, 5]
    gpkg = gpd.read_file(written["gpkg"], layer="sites")
    assert gpkg["year"].tolist() == [2026, 2027]
    shp = next((tmp_path / "en").rglob("*sites*.shp"))
    assert gpd.read_file(shp)["year"].tolist() == [2026, 2027]

    written_id = export(phased, tmp_path / "id", formats=("csv", "xlsx"), lang="id")
    sheets = pd.read_excel(written_id["xlsx"], sheet_name=None)
    assert "Per Tahun" in sheets
    assert sheets["Per Tahun"]["Tahun"].tolist() == [2026, 2027]
    assert "Tahun" in pd.read_csv(written_id["csv"], sep=";").columns


def test_bad_default_cost_names_default_cost_idr():
    plan = make_plan([4, np.nan], [1, 1])
    for bad in (-1, np.nan, "7", [7]):
        with pytest.raises(InputError, match=r"^default_cost_idr ") as exc:
            phase_plan(plan, annual_budget_idr=10, start_year=2026, default_cost_idr=bad)
        assert "annual_budget_idr" not in str(exc.value)
