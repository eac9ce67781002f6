"""Phase a ranked plan over the years of a regional work plan (RKPD) within each year's budget."""

from __future__ import annotations

import dataclasses
import logging
import math
import numbers
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from blankspot._errors import InputError
from blankspot._validate import check_options

__all__ = ["phase_plan"]

log = logging.getLogger("blankspot")

#: Saving up (``carry_over``) for a site stops at this many years from ``start_year``: a
#: site that needs longer is left unscheduled (a budget typed in billions, 1.5 for Rp 1.5
#: billion, would otherwise save up for a billion years).
MAX_YEARS = 100


def _budgets(annual_budget_idr: Any, what: str = "annual_budget_idr") -> tuple[np.ndarray, bool]:
    """Return the budgets as floats and whether the last one repeats for ever (a number).

    ``what`` is the argument named in the messages.
    """
    if isinstance(annual_budget_idr, numbers.Real) and not isinstance(annual_budget_idr, bool):
        values, repeat = np.array([float(annual_budget_idr)]), True
    elif isinstance(annual_budget_idr, Sequence | np.ndarray | pd.Series) and not isinstance(
        annual_budget_idr, str
    ):
        try:
            values = np.asarray(list(annual_budget_idr), dtype="float64")
        except (TypeError, ValueError) as exc:
            raise InputError(
                f"{what} should be numbers of rupiah, got {annual_budget_idr!r}."
            ) from exc
        repeat = False
        if len(values) == 0:
            raise InputError(f"{what} is an empty list; give one budget per year.")
    else:
        raise InputError(
            f"{what} should be a number of rupiah (the same every year) or a list "
            f"with one per year, got {type(annual_budget_idr).__name__}."
        )
    bad = ~np.isfinite(values) | (values < 0)
    if bad.any():
        raise InputError(
            f"{what} must be finite and >= 0; got "
            + (
                f"{float(values[0])!r}."
                if repeat
                else f"{values[bad].tolist()} (year position(s) {np.flatnonzero(bad).tolist()})."
            )
        )
    return values, repeat


@check_options
def phase_plan(
    plan: Any,
    *,
    annual_budget_idr: float | Sequence[float],
    start_year: int,
    carry_over: bool = False,
    default_cost_idr: float | None = None,
) -> Any:
    """Assign each site of a ranked plan to a year, in rank order, within each year's budget.

    Parameters
    ----------
    plan
        A :class:`~blankspot.Plan` from :func:`blankspot.rank_sites` whose sites have a
        ``cost_idr`` (Rupiah).
    annual_budget_idr
        Budget per year in Rupiah: a number (the same every year, for as many years as the
        plan needs) or a list with one budget per year from ``start_year``.
    start_year
        The first year (e.g. the RKPD year, 2026).
    carry_over
        Add a year's unspent money to the next year's budget (default ``False``: what is
        not spent in a year is not available later).
    default_cost_idr
        Cost of a site whose ``cost_idr`` is unknown (a plan ranked by ``k`` without
        costs); written into its ``cost_idr``. By default such a site is an error.

    Returns
    -------
    Plan
        A copy of ``plan`` whose ``sites`` get a ``year`` column (``Int64``; ``<NA>`` for a
        site left unscheduled) right after ``rank``, and whose ``years`` is a table with one
        row per year from ``start_year`` to the last year with a site: ``year``,
        ``budget_idr`` (available that year, with carry-over), ``spent_idr``,
        ``leftover_idr``, ``n_sites``, ``site_ids`` (";"-joined, in rank order),
        ``new_businesses``, ``cumulative_businesses``, ``cumulative_share`` and, when the plan
        is weighted, the same three for weighted businesses. ``message`` says which sites
        were left unscheduled and why.

    Raises
    ------
    InputError
        Not a plan, sites without a cost, a negative or non-finite budget, a year that is not
        a whole number.

    Notes
    -----
    Strictly rank order, no skipping: sites are taken in rank order and fill the current
    year while its money lasts; the first site that does not fit moves to the next year,
    even if a cheaper site ranked after it would still fit (the ranking's order is the
    priority officials agreed on, and a later site must never be built before an earlier
    one). So a year can end with money left over; without ``carry_over`` that money is
    lost to the plan, with it, it is added to the next year's budget.

    A site costing more than any single year's budget: without ``carry_over`` it can never
    be scheduled, so it and every site ranked after it are left unscheduled (``year`` is
    ``<NA>``; the message names the site). With ``carry_over`` the years before it save up
    until it fits (those years may have no site), for at most ``MAX_YEARS`` (100) years: a
    site that would need longer (usually a budget typed in billions, not rupiah) is left
    unscheduled with that reason. With a list of budgets, sites that do not fit in the
    listed years are left unscheduled too.

    Examples
    --------
    >>> from blankspot._examples import _toy_assessment, _toy_sites
    >>> from blankspot.ranking import rank_sites
    >>> plan = rank_sites(_toy_assessment(), _toy_sites(), radius_m=600, k=2)
    >>> phased = phase_plan(plan, annual_budget_idr=1e9, start_year=2026,
    ...                     default_cost_idr=1e9)
    >>> phased.sites[["rank", "year", "site_id"]].to_dict("list")
    {'rank': [1, 2], 'year': [2026, 2027], 'site_id': ['S1', 'S2']}
    >>> phased.years[["year", "spent_idr", "cumulative_businesses"]].to_dict("list")
    {'year': [2026, 2027], 'spent_idr': [1000000000.0, 1000000000.0], 'cumulative_businesses': [3, 5]}
    """  # noqa: E501 - doctest output is one line
    if not dataclasses.is_dataclass(plan) or not hasattr(plan, "sites"):
        raise InputError(f"plan should be a Plan from rank_sites, got {type(plan).__name__}.")
    if isinstance(start_year, bool) or not isinstance(start_year, numbers.Integral):
        raise InputError(f"start_year should be a whole year such as 2026, got {start_year!r}.")
    budgets, repeat = _budgets(annual_budget_idr)
    sites = plan.sites
    if "cost_idr" not in sites.columns:
        raise InputError("plan.sites has no cost_idr column; rank the sites with costs.")
    cost = sites["cost_idr"].to_numpy(dtype="float64", na_value=np.nan)
    if default_cost_idr is not None:
        if isinstance(default_cost_idr, bool) or not isinstance(default_cost_idr, numbers.Real):
            raise InputError(
                f"default_cost_idr should be one number of rupiah, got {default_cost_idr!r}."
            )
        default = _budgets(default_cost_idr, what="default_cost_idr")[0][0]  # finite, >= 0
        fill = np.isnan(cost)
        if fill.any():
            log.info("phase_plan: %d sites without cost_idr priced at Rp %s", fill.sum(), default)
            cost = np.where(fill, default, cost)
            sites = sites.assign(cost_idr=cost)
    unknown = ~np.isfinite(cost) | (cost < 0)
    if unknown.any():
        raise InputError(
            f"{int(unknown.sum())} site(s) have no usable cost_idr "
            f"({', '.join(sites['site_id'].astype(str)[unknown][:10])}); phasing by budget "
            "needs a cost per site. Give the sites a cost_idr column or rank them with "
            "default_cost_idr=."
        )
    order = np.argsort(sites["rank"].to_numpy(), kind="stable")
    n = len(sites)
    year_of = np.full(n, -1, dtype="int64")  # position of the year, -1 unscheduled
    year = 0
    available = budgets[0] if len(budgets) else 0.0
    spent = 0.0
    stop_reason = ""
    # one pass in rank order: the years a plan spans are few, the sites a few hundred
    for pos in order:
        c = cost[pos]
        while c > available - spent + 1e-6:
            # this site does not fit in what is left: close the year
            later = budgets[-1:] if repeat else budgets[year + 1 :]
            horizon = False
            if carry_over:
                # saving up: everything left now plus every later year's budget
                reachable = available - spent + (np.inf if repeat else later.sum())
                never = c > reachable or (repeat and budgets[-1] <= 0)
                horizon = (
                    repeat
                    and not never
                    and year + math.ceil((c - (available - spent) - 1e-6) / budgets[-1])
                    >= MAX_YEARS
                )
                never = never or horizon
            else:
                never = len(later) > 0 and c > later.max()
            if never or (not repeat and year + 1 >= len(budgets)):
                sid = sites["site_id"].iloc[pos]
                stop_reason = (
                    f"site {sid} (rank {int(sites['rank'].iloc[pos])}) costs Rp {c:,.0f}, "
                    + (
                        f"more than {MAX_YEARS} years of annual_budget_idr saved up (is the "
                        "budget in rupiah?)"
                        if horizon
                        else "more than any one year's budget"
                    )
                    if never
                    else f"the budgets of {len(budgets)} year(s) run out at site {sid} (rank "
                    f"{int(sites['rank'].iloc[pos])})"
                )
                break
            leftover = available - spent
            year += 1
            budget = budgets[min(year, len(budgets) - 1)]
            available = budget + (leftover if carry_over else 0.0)
            spent = 0.0
        if stop_reason:
            break
        year_of[pos] = year
        spent += c

    scheduled = year_of >= 0
    n_years = int(year_of.max()) + 1 if scheduled.any() else 0
    out_sites = sites.copy()
    years = pd.array(np.where(scheduled, start_year + year_of, 0), dtype="Int64")
    years[~scheduled] = pd.NA
    out_sites.insert(int(out_sites.columns.get_loc("rank")) + 1, "year", years)

    available = _available(
        budgets,
        repeat=repeat,
        n_years=n_years,
        carry_over=carry_over,
        sites=out_sites,
        start_year=start_year,
    )
    table = _year_table(plan, out_sites, available, start_year)
    message = plan.message
    n_left = int((~scheduled).sum())
    if n_left:
        note = (
            f"{n_left} of {n} sites are left unscheduled (year empty): {stop_reason}; strictly "
            "rank order, so no later site is built before it."
        )
        log.warning("phase_plan: %s", note)
        message = f"{message} {note}".strip()
    log.info(
        "phase_plan: %d sites over %d year(s) from %d (%s per year%s)",
        int(scheduled.sum()),
        n_years,
        start_year,
        f"Rp {budgets[0]:,.0f}" if repeat else "listed budgets",
        ", unspent money carried over" if carry_over else "",
    )
    return dataclasses.replace(plan, sites=out_sites, years=table, message=message)


def _year_positions(sites: pd.DataFrame, start_year: int) -> tuple[np.ndarray, np.ndarray]:
    pos = (sites["year"].astype("float64") - start_year).to_numpy()
    ok = np.isfinite(pos)
    return ok, pos[ok].astype("int64")


def _available(
    budgets: np.ndarray,
    *,
    repeat: bool,
    n_years: int,
    carry_over: bool,
    sites: pd.DataFrame,
    start_year: int,
) -> np.ndarray:
    """Return the money available each year: its budget, plus last year's leftover if carried."""
    ok, p = _year_positions(sites, start_year)
    spent = np.bincount(p, weights=sites["cost_idr"].to_numpy("float64")[ok], minlength=n_years)
    idx = np.arange(n_years)
    available = np.where(
        repeat | (idx < len(budgets)), budgets[np.minimum(idx, len(budgets) - 1)], 0.0
    )
    for i in range(1, n_years if carry_over else 0):  # a few years, one after the other
        available[i] += available[i - 1] - spent[i - 1]
    return available


def _year_table(
    plan: Any, sites: pd.DataFrame, available: np.ndarray, start_year: int
) -> pd.DataFrame:
    """One row per year: budget, spending, sites and businesses connected (cumulative too)."""
    n_years = len(available)
    ok, p = _year_positions(sites, start_year)
    spent = np.bincount(p, weights=sites["cost_idr"].to_numpy("float64")[ok], minlength=n_years)
    ids = sites["site_id"].astype(str).to_numpy()[ok]
    joined = pd.Series(ids).groupby(p).agg(";".join).reindex(range(n_years), fill_value="")
    table = pd.DataFrame(
        {
            "year": pd.array(start_year + np.arange(n_years), dtype="Int64"),
            "budget_idr": available,
            "spent_idr": spent,
            "leftover_idr": available - spent,
            "n_sites": np.bincount(p, minlength=n_years),
            "site_ids": joined.to_numpy(dtype=object),
        }
    )
    columns = [("new_businesses", "cumulative_businesses", "cumulative_share")]
    if plan.weighted:
        columns.append(
            (
                "new_weighted_businesses",
                "cumulative_weighted_businesses",
                "cumulative_weighted_share",
            )
        )
    for new, cum, share in columns:
        if new not in sites.columns:
            continue
        values = sites[new].to_numpy("float64")[ok]
        per_year = np.bincount(p, weights=values, minlength=n_years)
        if pd.api.types.is_integer_dtype(sites[new].dtype):
            per_year = per_year.round().astype("int64")
        table[new] = per_year
        table[cum] = np.cumsum(per_year)
        if "weighted" in new or not plan.weighted:
            total = plan.total_uncovered
        else:
            # a weighted plan's total is weighted: the count total is in the sites' shares
            c, r = sites[cum].to_numpy("float64"), sites[share].to_numpy("float64")
            total = c[r > 0][0] / r[r > 0][0] if (r > 0).any() else 0.0
        table[share] = table[cum] / total if total else np.nan
    return table
