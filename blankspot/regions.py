"""Work region by region: the province of a village code, and a plan per province.

Indonesian village codes begin with their province: ``18.01.01.2001`` (Kemendagri, dotted) and
``1801012001`` (BPS, ten digits) are both in province ``18`` (Lampung). :func:`province_of`
reads that prefix; :func:`rank_by_region` splits an :class:`~blankspot.Assessment` and its
candidate sites by province (or by any village column, e.g. ``kabupaten``) and ranks each
region on its own, as each province plans its own towers.
"""

from __future__ import annotations

import inspect
import logging
import re
import warnings
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

import geopandas as gpd

from blankspot._errors import BlankspotWarning, InputError, UnknownOptionError
from blankspot._examples import _toy_assessment, _toy_sites  # noqa: F401 - doctests
from blankspot._util import some
from blankspot._validate import check_options, warn_user
from blankspot.assessment import Assessment, _village_pos
from blankspot.candidates import _point_of, _prepare_sites, _village_of
from blankspot.ranking import Plan, _empty_plan, rank_sites
from blankspot.scoring import _check_assessment

__all__ = ["province_of", "rank_by_region"]

log = logging.getLogger("blankspot")

# two digits, then a dot, more digits or the end: 18, 18.01, 18.01.01.2001, 1801012001
_CODE = re.compile(r"^\s*(\d{2})(?:[.\d]|\s*$)")

# rank_sites options that rank_by_region handles itself (the others pass through as given)
_OWN = {"assessment", "sites"}


def province_of(village_ids: Any) -> np.ndarray:
    """Province code (two digits, as text) of each village, business or site code.

    Parameters
    ----------
    village_ids
        Codes as text: Kemendagri (``"18.01.01.2001"``, also a kabupaten ``"18.71"`` or a
        kecamatan ``"18.71.01"``) or BPS (``"1801012001"``). Missing values (``None``,
        ``NaN``: a business outside every village) give ``None``.

    Returns
    -------
    numpy.ndarray
        One province code per input (object dtype), in input order.

    Raises
    ------
    InputError
        A code that does not begin with two digits (the offending codes are named).

    Notes
    -----
    Kemendagri and BPS share the province codes of the older provinces (``18`` is Lampung in
    both) but number the Papua provinces created since 2022 differently, so compare codes
    of one system only.

    Examples
    --------
    >>> province_of(["18.01.01.2001", "1801012001", "94.71", None]).tolist()
    ['18', '18', '94', None]
    """
    values = pd.Series(np.asarray(village_ids, dtype=object).ravel(), dtype=object)
    missing = values.isna().to_numpy()
    out = np.full(len(values), None, dtype=object)
    if (~missing).any():
        text = values[~missing].astype(str)
        prefix = text.str.extract(_CODE, expand=False)
        bad = prefix.isna().to_numpy()
        if bad.any():
            raise InputError(
                f"{int(bad.sum())} code(s) do not begin with a two-digit province code: "
                f"{some(text[bad].unique())}. Village ids must be Kemendagri codes "
                "('18.01.01.2001') or BPS codes ('1801012001'); to group by another column, "
                "pass by='<column>' to rank_by_region."
            )
        out[~missing] = prefix.to_numpy(dtype=object)
    return out


def _region_of_villages(villages: gpd.GeoDataFrame, by: str) -> np.ndarray:
    """Region label of each village: its province code, or its value in column ``by``."""
    if by == "province":
        return province_of(villages.index.to_numpy(dtype=str))
    if by not in villages.columns:
        raise InputError(
            f"by={by!r} is neither 'province' nor a column of the villages; they have "
            f"{some(c for c in villages.columns if c != villages.geometry.name)}."
        )
    col = villages[by]
    if col.isna().any():
        raise InputError(
            f"{int(col.isna().sum())} village(s) have no {by!r} (e.g. "
            f"{some(villages.index[col.isna().to_numpy()], 5)}): every village needs a region. "
            "Fill the column (blankspot.attach_parent_names) or use by='province'."
        )
    return col.astype(str).to_numpy(dtype=object)


def _sub_assessment(
    a: Assessment,
    region: Any,
    *,
    v_rows: np.ndarray,
    b_rows: np.ndarray | None,
    spot_rows: np.ndarray,
) -> Assessment:
    """Cut ``a`` to one region: its villages, their businesses and blank spots.

    Businesses outside every village and rejected rows belong to no region, so the region's
    accounting is its covered and uncovered businesses (``input`` = their sum).
    """
    villages = a.villages.iloc[v_rows]
    spots = a.blank_spots.iloc[spot_rows]
    if a.businesses is not None and b_rows is not None:
        biz = a.businesses.iloc[b_rows]
        status = biz["status"]
        covered = int((status == "covered").sum())
        uncovered = int((status == "uncovered").sum())
    else:
        biz = None
        covered = float(pd.to_numeric(villages["n_covered"]).sum())
        uncovered = float(pd.to_numeric(villages["n_uncovered"]).sum())
    zero = 0 if biz is not None else 0.0
    accounting = {
        "input": covered + uncovered,
        "covered": covered,
        "uncovered": uncovered,
        "outside_villages": zero,
        "rejected": zero,
        "unmatched": zero,
    }
    return Assessment(
        businesses=biz,
        villages=villages,
        blank_spots=spots,
        accounting=accounting,
        rejected=a.rejected.iloc[:0],
        crs=a.crs,
        weight_col=a.weight_col,
        coverage=a.coverage,
        counts_mode=a.counts_mode,
        notes=(*a.notes, f"Region {region} of a larger assessment."),
        unmatched=a.unmatched.iloc[:0],
    )


def _site_villages(
    table: gpd.GeoDataFrame, villages: gpd.GeoDataFrame
) -> tuple[np.ndarray, np.ndarray]:
    """Find each site's village: the one it stands in, else the nearest one.

    Returns ``(village position, standing in or nearest; village id, standing in or None)``.
    """
    pts = _point_of(table.geometry.array)
    vid = _village_of(pts, villages)
    pos = np.full(len(pts), -1, dtype=np.int64)
    inside = pd.notna(vid)
    pos[inside] = villages.index.get_indexer(vid[inside].astype(str))
    out = np.flatnonzero(~inside)
    if len(out):
        si, vi = villages.sindex.nearest(pts[out], return_all=True)
        # equidistant villages: the smallest id, as everywhere in blankspot
        ids = villages.index.to_numpy(dtype=str)[vi]
        order = np.lexsort((ids, si))
        si, vi = si[order], vi[order]
        first = np.r_[True, si[1:] != si[:-1]]
        pos[out[si[first]]] = vi[first]
        log.info(
            "rank_by_region: %d site(s) outside every village go to the region of the "
            "nearest village",
            len(out),
        )
    return pos, vid


def _rows_by_code(code: np.ndarray, n_codes: int) -> Any:
    """Rows of each code (0 .. ``n_codes - 1``; -1: none), ascending: ``rows_of(c)``.

    One stable sort instead of one pass over all rows per code.
    """
    code = code.astype(np.int32 if n_codes < 2**31 else np.int64)
    order = np.argsort(code, kind="stable")
    bounds = np.searchsorted(code[order], np.arange(-1, n_codes) + 0.5)

    def rows_of(c: int) -> np.ndarray:
        return order[bounds[c] : bounds[c + 1]]

    return rows_of


def _split_quota(value: Any, groups: set[str]) -> Any:
    """Cut a per-group quota dict to the groups of one region (an int applies everywhere)."""
    if isinstance(value, Mapping):
        return {k: n for k, n in value.items() if str(k) in groups}
    return value


def _group_values(
    table: gpd.GeoDataFrame, villages: gpd.GeoDataFrame, v_pos: np.ndarray, group_col: str
) -> np.ndarray:
    """Give each site's quota group, as rank_sites finds it (its column, else its village's)."""
    if group_col in table.columns:
        return table[group_col].astype(str).to_numpy(dtype=object)
    if group_col in villages.columns:
        return villages[group_col].astype(str).to_numpy(dtype=object)[v_pos]
    return np.full(len(table), None, dtype=object)


@check_options
def rank_by_region(
    assessment: Assessment,
    sites: Any,
    *,
    by: str = "province",
    id_col: str | None = None,
    **rank_options: Any,
) -> dict[str, Plan]:
    """Rank candidate sites region by region: one :func:`~blankspot.rank_sites` plan each.

    Each region (a province by default) is planned on its own: its uncovered businesses,
    blank spots and candidate sites only, as if it were the whole assessment. A site
    belongs to the region of the village it stands in (outside every village: the nearest
    village); a business or blank spot to the region of its village.

    Parameters
    ----------
    assessment
        The result of :func:`blankspot.assess` (business points or counts per village).
    sites
        Candidate sites, as :func:`~blankspot.rank_sites` accepts them (e.g. the output of
        :func:`~blankspot.candidate_sites` for the whole assessment).
    by
        ``"province"`` (default: the two-digit prefix of the village code, see
        :func:`province_of`) or a column of ``assessment.villages`` (e.g. ``"kabupaten"``).
    id_col
        Id column of ``sites`` (see :func:`~blankspot.read_sites`).
    **rank_options
        Options of :func:`~blankspot.rank_sites` (``k``, ``radius_m``, ``method``,
        ``budget_idr``, ...), applied to **each** region: ``k=1000`` gives every region up
        to 1,000 sites, ``budget_idr`` is each region's budget. ``include``/``exclude`` ids
        and per-group quota dicts are passed to the region their sites are in.

    Returns
    -------
    dict of str to Plan
        One plan per region that has villages, keyed by region (province code or column
        value), in sorted order. Each plan's ``assessment`` is the region's part (its
        ``accounting`` counts the region's covered and uncovered businesses); a region with
        no candidate site gets an empty plan saying so.

    Raises
    ------
    InputError
        ``by`` is neither ``"province"`` nor a village column, a village has no region or
        a code without a province prefix, ``include``/``exclude`` name unknown site ids.
    UnknownOptionError
        An option :func:`~blankspot.rank_sites` does not have.
    Everything :func:`~blankspot.rank_sites` raises for a region (messages name it).

    Notes
    -----
    A business near a provincial border is only served by its own province's sites here;
    the national plan (:func:`~blankspot.rank_sites` on the whole assessment) may serve it
    from across the border. The regional plans therefore connect at most as many
    businesses with ``n`` regions x ``k`` sites as the national plan could with that many.
    Cost: one pass over the businesses to find their regions, then one
    :func:`~blankspot.rank_sites` per region on its share of the data.

    Examples
    --------
    >>> plans = rank_by_region(_toy_assessment(), _toy_sites(), radius_m=600, k=1)
    >>> {p: (plan.sites["site_id"].tolist(), plan.objective) for p, plan in plans.items()}
    {'18': (['S1'], 3.0)}
    """
    a = _check_assessment(assessment, "rank_by_region")
    valid = set(inspect.signature(rank_sites).parameters) - _OWN - {"id_col"}
    for name in rank_options:
        if name not in valid:
            raise UnknownOptionError(
                f"rank_by_region() got an unknown option {name!r}; it passes rank_sites' "
                f"options on: {', '.join(sorted(valid))}."
            )
    if not isinstance(by, str):
        raise InputError(f"by must be 'province' or a village column name, got {by!r}.")
    villages = a.villages
    v_region = _region_of_villages(villages, by)
    table = _prepare_sites(sites, a, id_col=id_col)
    s_village, s_vid = _site_villages(table, villages)
    if "village_id" not in table.columns:  # as candidate_sites gives it (quotas need it)
        table = table.assign(village_id=s_vid)
    site_ids = table.index.astype(str)
    for what in ("include", "exclude"):
        given = rank_options.get(what)
        if given is not None:
            given = [given] if isinstance(given, str) else [str(g) for g in given]
            unknown = sorted(set(given) - set(site_ids))
            if unknown:
                raise InputError(
                    f"{what} names site id(s) that are not candidate sites: {some(unknown)}."
                )
            rank_options[what] = given

    # regions as numbers (sorted labels), then each table's rows grouped by region once
    labels, v_code = np.unique(v_region.astype(str), return_inverse=True)
    s_code = v_code[s_village]
    v_rows_of = _rows_by_code(v_code, len(labels))
    spots = a.blank_spots
    spot_v = villages.index.astype(str).get_indexer(spots["village_id"].astype(str))
    spot_rows_of = _rows_by_code(np.where(spot_v >= 0, v_code[spot_v], -1), len(labels))
    b_rows_of = None
    if a.businesses is not None:
        pos = _village_pos(a.businesses, villages)
        b_rows_of = _rows_by_code(np.where(pos >= 0, v_code[np.maximum(pos, 0)], -1), len(labels))
        del pos
    group_col = rank_options.get("group_col", "kabupaten")
    site_groups = _group_values(table, villages, s_village, group_col)

    plans: dict[str, Plan] = {}
    for code, region in enumerate(labels.tolist()):
        sub = _sub_assessment(
            a,
            region,
            v_rows=v_rows_of(code),
            b_rows=None if b_rows_of is None else b_rows_of(code),
            spot_rows=spot_rows_of(code),
        )
        s_mask = s_code == code
        options = dict(rank_options)
        if any(options.get(what) is not None for what in ("include", "exclude")):
            in_region = set(site_ids[s_mask])
            for what in ("include", "exclude"):
                if options.get(what) is not None:
                    options[what] = [s for s in options[what] if s in in_region]
        if any(what in options for what in ("min_per_group", "max_per_group")):
            groups = {str(g) for g in site_groups[s_mask] if g is not None}
            for what in ("min_per_group", "max_per_group"):
                if what in options:
                    options[what] = _split_quota(options[what], groups)
        if not s_mask.any():
            plans[str(region)] = _empty_plan(
                sub,
                method=str(options.get("method", "greedy")),
                weighted=sub.weighted,
                total=float(
                    sub.villages["weighted_uncovered" if sub.weighted else "n_uncovered"].sum()
                ),
                message=f"no candidate site in {by} {region}",
            )
            continue
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always", BlankspotWarning)
                plans[str(region)] = rank_sites(sub, table[s_mask], **options)
        except InputError as exc:
            raise type(exc)(f"{by} {region}: {exc}") from exc
        for w in caught:  # say which region a warning is about ("k=1000 exceeds the 45 ...")
            if issubclass(w.category, BlankspotWarning):
                warn_user(f"{by} {region}: {w.message}")
            else:
                warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
        log.info(
            "rank_by_region: %s %s: %d sites connect %g", by, region,
            len(plans[str(region)].sites), plans[str(region)].objective,
        )  # fmt: skip
    return plans
