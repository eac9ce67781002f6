"""Overlay coverage on villages and businesses: :func:`assess` and its :class:`Assessment`."""

from __future__ import annotations

import itertools
import logging
import numbers
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

import geopandas as gpd
import shapely
from pyproj import CRS

from blankspot import _geodesy, _parallel
from blankspot import coverage as cov
from blankspot._batches import BusinessBatches, RawBatch
from blankspot._errors import (
    EmptyInputError,
    InputError,
    NoOverlapError,
)
from blankspot._numbers import _parse_quantities
from blankspot._points import (  # noqa: F401  (_business_xy, _village_pos: candidates, regions)
    STATUSES,
    _business_xy,
    _check_unique_ids,
    _classify_points,
    _compact_part,
    _concat_businesses,
    _part_rows,
    _PointPart,
    _status_codes,
    _table_rows,
    _village_pos,
)
from blankspot._validate import check_options, require_crs, warn_user, working_crs
from blankspot.io import _check_village_geometries, read_businesses

__all__ = ["Assessment", "assess"]

log = logging.getLogger("blankspot")

ACCOUNTING_KEYS = ("input", "covered", "uncovered", "outside_villages", "rejected", "unmatched")


@dataclass(frozen=True)
class Assessment:
    """The coverage status of every business and village; see :func:`assess`.

    Attributes
    ----------
    businesses : GeoDataFrame or None
        Every input business row (input index) with ``village_id``, ``covered``, ``status``
        and, when a signal raster is among the sources, ``signal_dbm``. ``None`` when the
        businesses were given as counts per village.
    villages : GeoDataFrame
        The villages with ``area_km2``, ``covered_area_share``, ``n_businesses``,
        ``n_covered``, ``n_uncovered``, ``uncovered_share``, ``weighted_uncovered`` and
        ``blank_spot``.
    blank_spots : GeoDataFrame
        Contiguous uncovered polygons cut by village, with ``village_id``, ``area_km2``,
        ``n_businesses`` and ``weighted_businesses``.
    accounting : dict
        ``input``, ``covered``, ``uncovered``, ``outside_villages``, ``rejected``,
        ``unmatched``; the last five add up to ``input``.
    rejected : DataFrame
        The rejected business rows with a ``reason`` column.
    unmatched : DataFrame
        Rows of a register (businesses named by village, see
        :func:`blankspot.match_villages`) that matched no village, with a ``reason`` column
        (the ``match_note``); empty otherwise.
    crs : pyproj.CRS
        The projected working CRS of every GeoDataFrame above.
    weight_col : str or None
        Name of the business weight column, when the businesses carry weights.
    coverage : object
        The coverage source that was assessed (see :mod:`blankspot.coverage`).
    """

    businesses: gpd.GeoDataFrame | None
    villages: gpd.GeoDataFrame
    blank_spots: gpd.GeoDataFrame
    accounting: dict[str, Any]
    rejected: pd.DataFrame
    crs: CRS
    weight_col: str | None = None
    coverage: Any = None
    counts_mode: bool = False
    notes: tuple[str, ...] = field(default_factory=tuple)
    unmatched: pd.DataFrame = field(default_factory=lambda: pd.DataFrame({"reason": []}))

    @property
    def weighted(self) -> bool:
        """Whether the businesses carry weights (``weight_col`` was given)."""
        return self.weight_col is not None


_RASTER_SUFFIXES = {".tif", ".tiff", ".vrt", ".img", ".nc", ".asc"}


@check_options
def assess(
    villages: gpd.GeoDataFrame,
    businesses: gpd.GeoDataFrame | pd.Series | pd.DataFrame,
    coverage: Any,
    *,
    crs: Any = None,
    blank_spot_share: float = 0.5,
    compact: bool = False,
    workers: int | None = None,
) -> Assessment:
    """Overlay coverage on villages and businesses.

    Every layer is brought into one projected working CRS (``crs`` if given, else the UTM
    zone estimated from the villages; logged). Vectors are reprojected; rasters are never
    warped (points and polygons are transformed into the raster's CRS for sampling).

    Nothing is measured in the working CRS, so villages anywhere in Indonesia are right:
    areas are ellipsoidal, tower reach is geodesic, and without ``crs`` each village is
    overlaid in the UTM zone of its centroid (a village's results do not depend on the
    others). See "Geodesy" in ``docs/architecture.md``.

    Parameters
    ----------
    villages
        Village polygons, index = village id (as returned by :func:`blankspot.read_villages`).
    businesses
        Either business points (as returned by :func:`blankspot.read_businesses`: every input
        row, rejected rows with a ``rejected_reason`` and no geometry), a plain DataFrame with
        longitude/latitude columns (passed through :func:`~blankspot.read_businesses`), or a
        Series of business *counts* per village id (counts mode: a village's affected
        businesses are then its count times its uncovered area share, which assumes the
        businesses are spread evenly over the village). A register that names each
        business's village instead of locating it (:func:`~blankspot.read_businesses` with
        ``desa_col=``, or any table with the ``village_id`` and ``match_note`` columns of
        :func:`~blankspot.match_villages`) is assessed in counts mode, one business per row;
        its unmatched rows are accounted as ``unmatched``. For a whole country, the
        businesses of :func:`~blankspot.read_businesses_batches`: read and classified one
        batch at a time (with ``compact=True``, memory holds one batch of points).
    coverage
        A coverage source from :mod:`blankspot.coverage` (``from_raster``, ``from_polygons``,
        ``from_towers``, ``from_speed_tiles`` or ``union``). As a shortcut, a path to a raster
        (read as RSRP in dBm with the default threshold) or a GeoDataFrame of covered polygons.
    crs
        Projected CRS of every output layer, and the one CRS overlays are computed in (areas
        and distances stay ellipsoidal). Default: the UTM zone of the villages' centre for
        the outputs, each village's own UTM zone for the overlay.
    blank_spot_share
        A village is flagged ``blank_spot`` when at least this share of its businesses is
        uncovered; a village without businesses when less than ``1 - blank_spot_share`` of its
        area is covered. Default 0.5 (most of the village is without signal).
    compact
        Keep ``Assessment.businesses`` as a compact table without shapely points (about 60
        instead of 350 bytes a business; 10 million businesses take ~0.6 GB): index
        ``business_id``, ``x``/``y`` (working CRS, NaN for rejected rows) in place of
        ``geometry``, ``lon``/``lat`` dropped, ``village_id`` and ``status`` categorical,
        ``signal_dbm`` float32, the other columns as usual. :func:`~blankspot.score_villages`,
        :func:`~blankspot.candidate_sites`, :func:`~blankspot.rank_sites` and
        :func:`~blankspot.rank_by_region` give the same results from either. Default
        ``False`` (a GeoDataFrame of points). Points only (not counts or registers).
    workers
        Worker processes for the two parts of an assessment that split into independent
        pieces: the overlay of each UTM zone's villages (with ``crs`` unset), and the
        batches of :func:`~blankspot.read_businesses_batches`. ``None`` (default): one per
        usable core when there are at least two pieces; ``1``: everything in this process.
        Never more than the usable cores. The results are the same as with ``workers=1``, bit
        for bit (the pieces are put together in order). Workers are forked (Linux); where
        ``fork`` is unavailable, or inside a daemonic process, the work stays in this
        process. Memory: each worker holds one zone's overlay or up to two batches.

    Returns
    -------
    Assessment
        ``businesses``, ``villages``, ``blank_spots``, ``accounting`` and ``rejected``; see
        :class:`Assessment`.

    Raises
    ------
    CRSError
        A layer has no CRS, or ``crs`` is geographic.
    NoOverlapError
        The coverage does not overlap the villages (both extents are named).
    InputError
        Latitude and longitude look swapped, duplicate village ids, bad counts.
    EmptyInputError
        No villages or no businesses.

    Notes
    -----
    Accounting: every input business ends in exactly one of ``covered``, ``uncovered``
    (inside a village, no signal), ``outside_villages`` (valid point in no village),
    ``rejected`` (unusable coordinates; reasons in ``Assessment.rejected``) or ``unmatched``
    (a register row whose village name matched no village; reasons in
    ``Assessment.unmatched``). A point on a shared village border is given to the village
    with the smallest id, so it counts once.

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely.geometry import Point, box
    >>> from blankspot import coverage
    >>> villages = gpd.GeoDataFrame(
    ...     {"name": ["A", "B"]},
    ...     geometry=[box(0, 0, 1000, 1000), box(1000, 0, 2000, 1000)],
    ...     index=["18.01.01.2001", "18.01.01.2002"], crs="EPSG:32748")
    >>> shops = gpd.GeoDataFrame(
    ...     geometry=[Point(500, 500), Point(1500, 500), Point(5000, 5000)], crs="EPSG:32748")
    >>> towers = gpd.GeoDataFrame(geometry=[box(0, 0, 1000, 1000)], crs="EPSG:32748")
    >>> result = assess(villages, shops, coverage.from_polygons(towers), crs="EPSG:32748")
    >>> result.accounting
    {'input': 3, 'covered': 1, 'uncovered': 1, 'outside_villages': 1, 'rejected': 0, 'unmatched': 0}
    >>> result.villages["covered_area_share"].tolist()
    [1.0, 0.0]
    """
    if (
        isinstance(blank_spot_share, bool)
        or not isinstance(blank_spot_share, numbers.Real)
        or not 0 < blank_spot_share <= 1
    ):
        raise InputError(
            f"blank_spot_share must be a number in (0, 1], got {blank_spot_share!r}: the share "
            "of a village's businesses (or area) without signal that makes it a blank spot, "
            "e.g. 0.5."
        )
    if not isinstance(compact, bool):
        raise InputError(f"compact must be True or False, got {compact!r}.")
    workers = _parallel.check_workers(workers)
    out_v, spots, wcrs, source = _village_part(villages, coverage, crs=crs, workers=workers)

    if _is_register(businesses):
        return _assess_register(
            out_v,
            register=businesses,
            spots=spots,
            wcrs=wcrs,
            source=source,
            blank_spot_share=blank_spot_share,
        )
    if isinstance(businesses, pd.Series) and not isinstance(businesses, gpd.GeoSeries):
        return _assess_counts(
            out_v,
            counts=businesses,
            spots=spots,
            wcrs=wcrs,
            source=source,
            blank_spot_share=blank_spot_share,
        )

    parts, weight_col = [], None
    half = {"out_v": out_v, "spots": spots, "wcrs": wcrs, "source": source, "compact": compact}
    for part, batch_weight_col in _assess_batches(businesses, half, workers=workers):
        parts.append(part)
        weight_col = batch_weight_col
        del part  # the parts list holds the only reference: combining lets go of them
    if not parts:
        raise EmptyInputError("businesses is empty: there is nothing to assess.")
    return _combine_points(
        out_v,
        parts,
        spots=spots,
        wcrs=wcrs,
        source=source,
        blank_spot_share=blank_spot_share,
        weight_col=weight_col,
    )


def _assess_batches(
    businesses: Any, half: dict[str, Any], *, workers: int | None
) -> Iterator[tuple[_PointPart, str | None]]:
    """Classify the businesses batch by batch: ``(part, weight_col)`` per batch, in order.

    The batches of :func:`~blankspot.read_businesses_batches` are read here and checked and
    classified on up to ``workers`` processes (:mod:`blankspot._parallel`), two batches out
    per process at most; anything else is one batch, classified here.
    """
    if not isinstance(businesses, BusinessBatches):
        yield _batch_part(half, businesses)
        return
    raw = businesses.raw()
    head = list(itertools.islice(raw, 2))  # one batch: no worker processes
    n_proc = _parallel.plan_workers(workers, len(head))
    half = {**half, "batches": businesses}
    yield from _parallel.run(
        _batch_part, _handed_over(head, raw), state=half, workers=n_proc, in_flight=2 * n_proc
    )


def _handed_over(head: list[Any], rest: Iterator[Any]) -> Iterator[Any]:
    """Yield ``head`` then ``rest``, letting go of each of ``head`` as it is handed over."""
    while head:
        yield head.pop(0)
    yield from rest


def _batch_part(half: dict[str, Any], batch: Any) -> tuple[_PointPart, str | None]:
    """Classify one batch (a frame, or a raw batch of ``half["batches"]``)."""
    if isinstance(batch, RawBatch):
        batch = half["batches"].read(batch)
    biz = _as_business_points(batch)
    out_v = half["out_v"]
    part = _classify_points(
        out_v, biz=biz, spots=half["spots"], wcrs=half["wcrs"], source=half["source"]
    )
    return (_compact_part(part, out_v.index) if half["compact"] else part), biz.attrs.get(
        "weight_col"
    )


def _village_part(
    villages: Any, coverage: Any, *, crs: Any, workers: int | None = 1
) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame, CRS, Any]:
    """Compute the businesses-independent half of :func:`assess`: checks, overlay, spots.

    Returns the villages in the working CRS with ``area_km2`` and ``covered_area_share``,
    the blank-spot table (without business counts), the working CRS and the source.
    """
    villages = _check_villages(villages)
    wcrs = working_crs(villages, crs)
    source = _as_coverage(coverage)
    vil = villages.to_crs(wcrs)
    # extents compared in lon/lat: a box in one UTM zone is skewed far from its meridian
    lonlat = villages.geometry.to_crs(_geodesy.WGS84)
    cov.check_overlap(source, tuple(lonlat.total_bounds), _geodesy.WGS84)
    # per UTM zone unless the caller fixed one CRS; areas on the ellipsoid (see _geodesy)
    share, area_m2, uncovered = _geodesy.village_cover_by_zone(
        source, villages.geometry, wcrs, per_zone=crs is None, workers=workers
    )
    out_v = vil.copy()
    out_v["area_km2"] = area_m2 / 1e6
    out_v["covered_area_share"] = share
    return out_v, _blank_spot_table(uncovered, vil), wcrs, source


def _check_villages(villages: Any) -> gpd.GeoDataFrame:
    if not isinstance(villages, gpd.GeoDataFrame):
        raise InputError(
            f"villages should be a GeoDataFrame, got {type(villages).__name__}. "
            "Load them with blankspot.read_villages(path)."
        )
    if len(villages) == 0:
        raise EmptyInputError("villages is empty: there is nothing to assess.")
    require_crs(villages.crs, what="villages")
    if villages.index.has_duplicates:
        dup = villages.index[villages.index.duplicated()].unique()
        raise InputError(
            f"villages has {len(dup)} duplicate id(s): {', '.join(map(str, dup[:10]))}. "
            "Village ids must be unique; fix the source or pass id_col= to read_villages."
        )
    out = villages.copy()
    out.index = out.index.astype(str)
    out.index.name = villages.index.name or "village_id"
    # the reader's geometry checks, whatever the GeoDataFrame's origin: empty, missing and
    # non-polygonal villages are errors, invalid polygons are repaired (logged)
    return _check_village_geometries(out, np.full(len(out), "the villages GeoDataFrame"))


def _as_coverage(coverage: Any) -> Any:
    if hasattr(coverage, "village_cover") and hasattr(coverage, "points"):
        return coverage
    if isinstance(coverage, str | Path):
        path = Path(coverage)
        if path.suffix.lower() in _RASTER_SUFFIXES:
            return cov.from_raster(path)
        return cov.from_polygons(path)
    if isinstance(coverage, gpd.GeoDataFrame | gpd.GeoSeries):
        return cov.from_polygons(coverage)
    raise InputError(
        f"coverage should be a coverage source, got {type(coverage).__name__}. Build one with "
        "blankspot.coverage.from_raster(path), from_polygons(gdf), from_towers(towers) or "
        "from_speed_tiles(tiles)."
    )


def _as_business_points(businesses: Any) -> gpd.GeoDataFrame:
    if isinstance(businesses, gpd.GeoDataFrame):
        if len(businesses) == 0:
            raise EmptyInputError("businesses is empty: there is nothing to assess.")
        require_crs(businesses.crs, what="businesses")
        if "rejected_reason" in businesses.columns:
            return businesses  # already read by read_businesses
        # the reader's checks (coordinate ranges, (0, 0), non-points) apply to every input;
        # an explicit 'weight' column is honoured, so scoring and ranking agree on it
        weight_col = "weight" if "weight" in businesses.columns else None
        biz = read_businesses(businesses, weight_col=weight_col)
        biz.index = businesses.index  # the caller's index, row for row
        return biz
    if isinstance(businesses, pd.DataFrame):
        return read_businesses(businesses)
    raise InputError(
        f"businesses should be a GeoDataFrame of points, a DataFrame with longitude/latitude "
        f"columns or a Series of counts per village id, got {type(businesses).__name__}."
    )


def _combine_points(
    out_v: gpd.GeoDataFrame,
    parts: list[_PointPart],
    *,
    spots: gpd.GeoDataFrame,
    wcrs: CRS,
    source: Any,
    blank_spot_share: float,
    weight_col: str | None,
) -> Assessment:
    """Add up the batches of :func:`_classify_points` into one :class:`Assessment`.

    ``parts`` is emptied: each part is dropped as soon as it has been added, so memory holds
    the result plus one column's worth of parts, not the parts and the result side by side.
    """
    spot_n = np.sum([p.spot_n for p in parts], axis=0).astype("int64")
    spot_w = np.sum([p.spot_w for p in parts], axis=0).astype("float64")
    rows = _part_rows(parts)
    frames = [p.businesses for p in parts]
    parts.clear()  # the frames list now holds the only reference to each table
    n_parts = len(frames)
    out_b = _concat_businesses(frames)
    if n_parts > 1:
        _check_unique_ids(out_b.index)
    if rows is None:
        rows = _table_rows(out_b, has_signal=source.has_signal)
    village_pos, weight, signal = rows
    del rows
    status = _status_codes(out_b["status"])
    n_input = len(out_b)
    is_status = {s: status == k for k, s in enumerate(STATUSES)}
    if is_status["rejected"].all():
        raise EmptyInputError(
            f"None of the {n_input} businesses has a usable location (see the "
            "rejected_reason column), so there is nothing to assess."
        )
    inside = village_pos >= 0
    covered = out_b["covered"].to_numpy(dtype=bool)
    valid = ~is_status["rejected"]
    signal = signal[valid] if signal is not None else None
    notes = (
        *getattr(source, "notes", ()),
        *_check_raster_extent(source, out_v, signal, inside[valid]),
    )
    n_in = int(inside.sum())
    if n_in >= 10 and not covered[inside].any():
        # possible (a district with no signal at all), but far more often a wrong threshold,
        # wrong covered_values for a class raster, or a dBm raster read as classes
        msg = (
            f"{source.description} covers none of the {n_in} businesses inside the villages. "
            "If that is not expected, check threshold_dbm / covered_values against the "
            "raster's values."
        )
        warn_user(msg)
        notes = (*notes, msg)

    out_v = out_v.copy()
    nv = len(out_v)
    n_biz = np.bincount(village_pos[inside], minlength=nv)
    n_cov = np.bincount(village_pos[inside & covered], minlength=nv)
    unc = inside & ~covered
    n_unc = np.bincount(village_pos[unc], minlength=nv)
    w_unc = np.bincount(village_pos[unc], weights=weight[unc], minlength=nv)
    out_v["n_businesses"] = n_biz
    out_v["n_covered"] = n_cov
    out_v["n_uncovered"] = n_unc
    with np.errstate(invalid="ignore", divide="ignore"):
        out_v["uncovered_share"] = np.where(n_biz > 0, n_unc / np.maximum(n_biz, 1), np.nan)
    out_v["weighted_uncovered"] = w_unc
    out_v["blank_spot"] = _blank_spot_flag(out_v, blank_spot_share)

    spots = spots.copy()
    spots["n_businesses"] = spot_n
    spots["weighted_businesses"] = spot_w

    accounting = {
        "input": int(n_input),
        **{s: int(is_status[s].sum()) for s in STATUSES if s != "unmatched"},
        "unmatched": 0,
    }
    _check_accounting(accounting)
    point_cols = [out_b.geometry.name] if isinstance(out_b, gpd.GeoDataFrame) else ["x", "y"]
    rejected = pd.DataFrame(out_b.loc[is_status["rejected"]].drop(columns=point_cols))
    rejected = rejected.rename(columns={"rejected_reason": "reason"})
    _log_summary(accounting, out_v, source)
    if accounting["outside_villages"]:
        log.warning(
            "%d of %d businesses fall outside every village (status 'outside_villages').",
            accounting["outside_villages"],
            n_input,
        )
    return Assessment(
        businesses=out_b,
        villages=out_v,
        blank_spots=spots,
        accounting=accounting,
        rejected=rejected,
        crs=wcrs,
        weight_col=weight_col,
        coverage=source,
        notes=notes,
    )


def _check_raster_extent(
    source: Any, vil: gpd.GeoDataFrame, signal: Any, inside: np.ndarray
) -> tuple[str, ...]:
    """Refuse or flag a raster that leaves villages or businesses without data.

    Outside a raster, or on its no-data pixels, nothing is known, and blankspot counts it as
    uncovered. That is right for a raster that maps the whole area, and a silent wrong answer
    for one that was cropped or covers a single district.
    """
    if not isinstance(source, cov.RasterCoverage) or signal is None:
        return ()
    notes = []
    no_data = ~np.isfinite(np.asarray(signal, dtype="float64")[inside])
    n_in = int(inside.sum())
    if n_in and no_data.all():
        raise NoOverlapError(
            f"None of the {n_in} businesses inside the villages falls on a pixel with data in "
            f"{source.description}: the raster does not cover where the businesses are. Check "
            "that the raster is for this area (and its CRS), or combine it with other coverage "
            "using blankspot.coverage.union."
        )
    x0, y0, x1, y1 = source.bounds_in(vil.crs)
    geoms = vil.geometry.array
    inside_area = shapely.area(shapely.clip_by_rect(geoms, x0, y0, x1, y1)).sum()
    area_share_out = 1.0 - inside_area / shapely.area(geoms).sum()
    share_no_data = float(no_data.mean()) if n_in else 0.0
    if share_no_data > 0.1 or area_share_out > 0.1:
        msg = (
            f"{source.description} leaves {area_share_out:.0%} of the village area outside the "
            f"raster and {share_no_data:.0%} of the businesses inside villages on pixels without "
            "data; all of them count as uncovered. If the raster does not map the whole area, "
            "clip the villages to it or add other coverage with blankspot.coverage.union."
        )
        warn_user(msg)
        notes.append(msg)
    return tuple(notes)


def _assess_counts(
    out_v: gpd.GeoDataFrame,
    *,
    counts: pd.Series,
    spots: gpd.GeoDataFrame,
    wcrs: CRS,
    source: Any,
    blank_spot_share: float,
    weights: pd.Series | None = None,
    weight_col: str | None = None,
    unmatched: pd.DataFrame | None = None,
) -> Assessment:
    if len(counts) == 0:
        raise EmptyInputError("business counts are empty: there is nothing to assess.")
    if pd.api.types.is_float_dtype(counts.index.dtype):
        raise InputError(
            "business counts are keyed by decimal numbers (e.g. "
            f"{counts.index[0]!r}); village codes must be text, because a number loses "
            "trailing zeros (18.10 becomes 18.1). Read the code column as text "
            "(pandas.read_csv(..., dtype={'kode': str}))."
        )
    ids = counts.index.astype(str).str.strip()
    if ids.has_duplicates:
        dup = ids[ids.duplicated()].unique()
        raise InputError(
            f"business counts list {len(dup)} village id(s) more than once: "
            f"{', '.join(dup[:10])}. Sum them per village first (counts.groupby(level=0).sum())."
        )
    raw = pd.Series(counts.to_numpy(), index=ids)
    if pd.api.types.is_numeric_dtype(raw.dtype):
        values = pd.to_numeric(raw, errors="coerce")
    else:  # text: one number format for the column ("1.500" is 1500 next to "2,5")
        parsed, *_ = _parse_quantities(raw, what="the business counts")
        values = pd.Series(parsed, index=ids)
    # a count that is not a usable number cannot be accounted for, so it is an error, not a row
    # quietly dropped: the totals must add up
    problems = {
        "missing": raw.isna(),
        "not a number": values.isna() & raw.notna(),
        "negative": values < 0,
        "not finite": values.abs() == np.inf,
    }
    found = [
        f"{what} for {int(m.sum())} village(s) ({', '.join(ids[m.to_numpy()][:10])})"
        for what, m in problems.items()
        if m.any()
    ]
    if found:
        raise InputError(
            "Business counts per village must be non-negative numbers; the count is "
            + "; ".join(found)
            + ". Fill missing counts with 0 or drop those villages from the Series."
        )
    known = ids.isin(out_v.index)
    if not known.any():
        raise InputError(
            f"None of the {len(ids)} village ids of the business counts (e.g. "
            f"{', '.join(ids[:3])}) is a village id (e.g. {', '.join(out_v.index[:3])}). Key "
            "the counts by the same code as the villages; note that BPS and Kemendagri codes "
            "are numbered differently and cannot be converted into each other."
        )
    total_input = float(values.sum())
    rejected = pd.DataFrame(
        {"count": pd.Series(dtype="float64"), "reason": pd.Series(dtype=object)}
    )
    rejected.index.name = "village_id"

    per_village = values[known].reindex(out_v.index).fillna(0.0).to_numpy("float64")
    unc_share = 1.0 - out_v["covered_area_share"].to_numpy()
    n_unc = per_village * unc_share
    out_v["n_businesses"] = per_village
    out_v["n_covered"] = per_village - n_unc
    out_v["n_uncovered"] = n_unc
    with np.errstate(invalid="ignore", divide="ignore"):
        out_v["uncovered_share"] = np.where(per_village > 0, unc_share, np.nan)
    w_unc = n_unc
    if weights is not None:
        w_unc = weights.reindex(out_v.index).fillna(0.0).to_numpy("float64") * unc_share
    out_v["weighted_uncovered"] = w_unc
    out_v["blank_spot"] = _blank_spot_flag(out_v, blank_spot_share)

    # spread each village's uncovered businesses over its blank spots by area
    if len(spots):
        pos = out_v.index.get_indexer(spots["village_id"])
        v_unc_area = np.bincount(pos, weights=spots["area_km2"].to_numpy(), minlength=len(out_v))
        frac = spots["area_km2"].to_numpy() / np.where(v_unc_area[pos] > 0, v_unc_area[pos], 1)
        spots["n_businesses"] = n_unc[pos] * frac
        spots["weighted_businesses"] = w_unc[pos] * frac
    else:
        spots["n_businesses"] = np.zeros(0)
        spots["weighted_businesses"] = np.zeros(0)

    outside = float(values[~known].sum())
    if (~known).any():
        missing_ids = ids[~known]
        warn_user(
            f"{outside:g} businesses are counted for {len(missing_ids)} village id(s) that are "
            f"not among the villages (e.g. {', '.join(missing_ids[:5])}): they are accounted "
            "as outside_villages."
        )
    n_unmatched = 0 if unmatched is None else len(unmatched)
    accounting = {
        "input": total_input + n_unmatched,
        "covered": float(out_v["n_covered"].sum()),
        "uncovered": float(n_unc.sum()),
        "outside_villages": outside,
        "rejected": 0.0,
        "unmatched": float(n_unmatched),
    }
    _log_summary(accounting, out_v, source)
    notes = [
        *getattr(source, "notes", ()),
        "Businesses were given as counts per village: affected businesses are each "
        "village's count times its uncovered area share (businesses assumed spread evenly).",
    ]
    if n_unmatched:
        notes.append(
            f"{n_unmatched} of {accounting['input']:g} register rows matched no village by "
            "name; they are accounted as unmatched (reasons in Assessment.unmatched)."
        )
    return Assessment(
        businesses=None,
        villages=out_v,
        blank_spots=spots,
        accounting=accounting,
        rejected=rejected,
        crs=wcrs,
        weight_col=weight_col,
        coverage=source,
        counts_mode=True,
        notes=tuple(notes),
        unmatched=unmatched if unmatched is not None else pd.DataFrame({"reason": []}),
    )


def _is_register(businesses: Any) -> bool:
    """Tell whether ``businesses`` is a matched register (village names, no points)."""
    if not isinstance(businesses, pd.DataFrame):
        return False
    if "village_id" not in businesses.columns or "match_note" not in businesses.columns:
        return False
    if isinstance(businesses, gpd.GeoDataFrame) and businesses.geometry.notna().any():
        return False  # points are more precise than names: use them
    return True


def _assess_register(
    out_v: gpd.GeoDataFrame,
    *,
    register: pd.DataFrame,
    spots: gpd.GeoDataFrame,
    wcrs: CRS,
    source: Any,
    blank_spot_share: float,
) -> Assessment:
    if len(register) == 0:
        raise EmptyInputError("The businesses register is empty: there is nothing to assess.")
    vid = register["village_id"].astype("string")
    matched = vid.notna().to_numpy()
    if not matched.any():
        notes = register["match_note"].astype(str).unique()[:3]
        raise InputError(
            f"None of the {len(register)} register rows matched a village by name (e.g. "
            f"{'; '.join(notes)}). Check desa_col=/kecamatan_col=/kabupaten_col= and that "
            "the villages carry names (attach_parent_names for kecamatan/kabupaten)."
        )
    ids = vid[matched].to_numpy(dtype=str)
    counts = pd.Series(1.0, index=ids).groupby(level=0).sum()
    weight_col = register.attrs.get("weight_col")
    weights = None
    if weight_col is not None and "weight" in register.columns:
        w = register["weight"].to_numpy("float64")[matched]
        weights = pd.Series(w, index=ids).groupby(level=0).sum()
    else:
        weight_col = None
    cols = [c for c in register.columns if c not in ("geometry", "lon", "lat", "rejected_reason")]
    unmatched = pd.DataFrame(register.loc[~matched, cols]).rename(columns={"match_note": "reason"})
    if len(unmatched):
        warn_user(
            f"{len(unmatched)} of {len(register)} register rows matched no village by name "
            "(accounted as unmatched; see Assessment.unmatched for the reasons)."
        )
    return _assess_counts(
        out_v,
        counts=counts,
        spots=spots,
        wcrs=wcrs,
        source=source,
        blank_spot_share=blank_spot_share,
        weights=weights,
        weight_col=weight_col,
        unmatched=unmatched,
    )


def _blank_spot_flag(v: gpd.GeoDataFrame, blank_spot_share: float) -> np.ndarray:
    n_biz = v["n_businesses"].to_numpy(dtype="float64")
    unc_share = v["uncovered_share"].to_numpy(dtype="float64")
    cov_area = v["covered_area_share"].to_numpy(dtype="float64")
    by_business = (n_biz > 0) & (np.nan_to_num(unc_share) >= blank_spot_share)
    by_area = (n_biz == 0) & (cov_area < 1.0 - blank_spot_share)
    return by_business | by_area


def _blank_spot_table(uncovered: gpd.GeoDataFrame, vil: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Give each uncovered polygon a stable id ``<village_id>-<n>`` (largest first)."""
    spots = gpd.GeoDataFrame(
        {"village_id": uncovered["village_id"].astype(str).to_numpy()},
        geometry=np.asarray(uncovered.geometry.array),
        crs=vil.crs,
    )
    geoms = spots.geometry.array
    spots["area_km2"] = uncovered["area_m2"].to_numpy(dtype="float64") / 1e6
    # stable numbering: by village id, then largest first, then position
    c = shapely.centroid(geoms)
    order = np.lexsort(
        (shapely.get_y(c), shapely.get_x(c), -spots["area_km2"].to_numpy(), spots["village_id"])
    )
    spots = spots.iloc[order]
    nth = spots.groupby("village_id", sort=False).cumcount().to_numpy() + 1
    spots.index = pd.Index(
        spots["village_id"].to_numpy() + "-" + nth.astype(str), name="blank_spot_id"
    )
    spots = spots[["village_id", "area_km2", "geometry"]]
    return gpd.GeoDataFrame(spots, geometry="geometry", crs=vil.crs)


def _check_accounting(acc: dict[str, Any]) -> None:
    parts = sum(acc[k] for k in ACCOUNTING_KEYS[1:])
    if parts != acc["input"]:  # pragma: no cover - an internal invariant, never user input
        raise AssertionError(f"accounting does not add up: {acc}")


def _log_summary(acc: dict[str, Any], v: gpd.GeoDataFrame, source: Any) -> None:
    log.info(
        "Assessed %d villages against %s: %d blank-spot villages; businesses %s",
        len(v),
        getattr(source, "description", source),
        int(v["blank_spot"].sum()),
        acc,
    )
