"""The province report of ``blankspot plan``: one row per province and a national total.

When the villages span more than one province (or ``--by-province``), the run writes
``per_province.csv`` and ``per_province.xlsx`` beside the other officials' tables and prints the
table in its summary. Provinces come from the two-digit prefix of the village codes
(:func:`blankspot.regions.province_of`), names from :data:`blankspot._provinces.PROVINCES`.

Columns (English code names; Indonesian headers with ``--lang id``, from
:mod:`blankspot._i18n`): ``province_code``, ``province``, ``n_villages``, ``n_businesses``,
``n_covered``, ``n_uncovered``, ``n_blank_spot_villages``, then from the national plan the sites
that stand in the province, the businesses they newly connect and their cost
(``n_sites``, ``new_businesses``, ``cost_idr``; a site without ``cost_idr`` counts at
``--default-cost-idr``; a site outside every village counts in the province of the nearest
village), and with ``--per-province-k`` the province's own plan
(``own_sites``, ``own_new_businesses``, ``own_cost_idr``). With ``--weight-col`` (a weighted
plan) the weights are summed too: ``weighted_uncovered`` after ``n_uncovered``,
``new_weighted_businesses`` after ``new_businesses`` and ``own_new_weighted_businesses`` after
``own_new_businesses``. The last row is the national total, the sum of the rows above.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from blankspot._provinces import province_name

_NATIONAL = {"en": "Indonesia (national)", "id": "Indonesia (nasional)"}
_OWN_NAMES = {"own_n_sites": "own_sites"}  # the province's own plan: own_ + the national name


def _site_figures(sites: Any, villages: Any, default_cost_idr: float) -> pd.DataFrame:
    """Sites, new (weighted) businesses and cost of a ranked site table, by province of each site.

    A site counts in the province of the village it stands in, else of the nearest village
    (as :func:`blankspot.regions.rank_by_region` assigns it).
    """
    from blankspot.regions import _site_villages, province_of

    if len(sites):
        pos, _ = _site_villages(sites, villages)
        codes = province_of(villages.index.to_numpy(dtype=str)[pos])
    else:
        codes = np.zeros(0, dtype=object)
    cost = pd.to_numeric(sites["cost_idr"], errors="coerce").fillna(default_cost_idr)
    frame = pd.DataFrame(
        {
            "province_code": codes,
            "n_sites": np.ones(len(sites), dtype=np.int64),
            "new_businesses": sites["new_businesses"].to_numpy(),
            "cost_idr": cost.to_numpy(dtype="float64"),
        }
    )
    if "new_weighted_businesses" in sites.columns:
        weighted = sites["new_weighted_businesses"].to_numpy(dtype="float64")
        frame.insert(3, "new_weighted_businesses", weighted)
    return frame.groupby("province_code", sort=True).sum()


def province_table(
    plan: Any,
    *,
    default_cost_idr: float,
    regional: dict[str, Any] | None = None,
    lang: str = "en",
) -> pd.DataFrame:
    """One row per province (sorted by code) and a last row with the national total.

    ``plan`` is the national :class:`~blankspot.Plan`; ``regional`` the plans of
    :func:`blankspot.regions.rank_by_region` keyed by province code, when asked.
    """
    from blankspot.regions import province_of

    v = plan.assessment.villages
    per_village = pd.DataFrame(
        {
            "province_code": province_of(v.index.to_numpy(dtype=str)),
            "n_villages": np.ones(len(v), dtype=np.int64),
            "n_businesses": v["n_businesses"].to_numpy(),
            "n_covered": v["n_covered"].to_numpy(),
            "n_uncovered": v["n_uncovered"].to_numpy(),
            **(
                {"weighted_uncovered": v["weighted_uncovered"].to_numpy(dtype="float64")}
                if plan.weighted
                else {}
            ),
            "n_blank_spot_villages": v["blank_spot"].to_numpy(dtype=bool).astype(np.int64),
        }
    )
    table = per_village.groupby("province_code", sort=True).sum()
    sites = _site_figures(plan.sites, v, default_cost_idr)
    table = table.join(sites, how="outer")
    if regional is not None:
        own = pd.DataFrame(
            {
                code: _site_figures(p.sites, p.assessment.villages, default_cost_idr).sum()
                if len(p.sites)
                else pd.Series(0, index=sites.columns)
                for code, p in regional.items()
            }
        ).T
        table = table.join(own.add_prefix("own_").rename(columns=_OWN_NAMES), how="left")
    table = table.fillna(0)
    for col in table.columns:
        if col not in {"cost_idr", "own_cost_idr"} and (table[col] % 1 == 0).all():
            table[col] = table[col].astype(np.int64)
    total = table.sum().to_frame().T
    table.insert(0, "province", [province_name(code) for code in table.index])
    total.insert(0, "province", _NATIONAL.get(lang, _NATIONAL["en"]))
    total.index = pd.Index([""])
    out = pd.concat([table, total]).rename_axis("province_code").reset_index()
    return out.astype({c: table[c].dtype for c in table.columns if c != "province"})


def province_sites(regional: dict[str, Any]) -> pd.DataFrame:
    """Every province's own ranked sites (``--per-province-k``), as the officials' site list.

    Columns: ``province_code``, ``province``, then those of ``priority_sites.csv`` (``rank``
    is the rank within the province).
    """
    from blankspot._officials import _site_table

    parts = []
    for code, plan in sorted(regional.items()):
        t = _site_table(plan, plan.assessment)
        t.insert(0, "province", province_name(code))
        t.insert(0, "province_code", code)
        parts.append(t)
    return pd.concat(parts, ignore_index=True)


def write_report(
    table: pd.DataFrame, out_dir: Path, *, lang: str, sites: pd.DataFrame | None = None
) -> dict[str, Path]:
    """Write ``per_province.csv`` and ``.xlsx`` (each complete, then moved into place).

    With ``sites`` (:func:`province_sites`) also ``per_province_sites.csv`` and a second
    sheet of the workbook.
    """
    from blankspot._officials import write_csv, write_xlsx

    sheets = (
        {"provinces": table} if sites is None else {"provinces": table, "province_sites": sites}
    )
    files: list[tuple[str, Any]] = [
        ("per_province.csv", lambda p: write_csv(p, table, lang)),
        ("per_province.xlsx", lambda p: write_xlsx(p, sheets, lang)),
    ]
    if sites is not None:
        files.append(("per_province_sites.csv", lambda p: write_csv(p, sites, lang)))
    written = {}
    for name, write in files:
        target = out_dir / name
        fd, tmp = tempfile.mkstemp(prefix=".blankspot-", suffix=target.suffix, dir=out_dir)
        os.close(fd)
        try:
            write(Path(tmp))
            os.replace(tmp, target)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
        written[name.replace(".", "_")] = target
    return written


def summary_lines(table: pd.DataFrame) -> list[str]:
    """Format the province table as aligned text for the run's summary."""
    own = "own_sites" in table.columns
    weighted = "new_weighted_businesses" in table.columns
    head = (
        f"  {'code':<4} {'province':<26} {'villages':>8} {'businesses':>10} {'covered':>8} "
        f"{'uncovered':>9} {'blank':>6} {'sites':>5} {'new':>7} {'cost (Rp)':>17}"
        + (f" {'new (w)':>9}" if weighted else "")
        + (f" {'own sites':>9} {'own new':>8}" if own else "")
    )
    lines = [head]
    for row in table.itertuples(index=False):  # one row per province: at most 39
        line = (
            f"  {row.province_code:<4} {str(row.province)[:26]:<26} {row.n_villages:>8,} "
            f"{row.n_businesses:>10,.0f} {row.n_covered:>8,.0f} {row.n_uncovered:>9,.0f} "
            f"{row.n_blank_spot_villages:>6,} {row.n_sites:>5,} {row.new_businesses:>7,.0f} "
            f"{row.cost_idr:>17,.0f}"
        )
        if weighted:
            line += f" {row.new_weighted_businesses:>9,.0f}"
        if own:
            line += f" {row.own_sites:>9,} {row.own_new_businesses:>8,.0f}"
        lines.append(line)
    return lines
