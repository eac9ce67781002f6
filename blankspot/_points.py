"""Village and coverage status of business points, one batch at a time (for :func:`assess`).

:func:`_classify_points` classifies one batch (village lookup, coverage, blank-spot counts)
into a :class:`_PointPart`; :func:`_compact_part` makes its table compact; the parts of all
batches are added up by ``assessment._combine_points`` (with :func:`_concat_businesses` and
:func:`_check_unique_ids`). The same code serves one in-memory frame, the batches of
:func:`~blankspot.read_businesses_batches` (in this process or on worker processes) and the
dask partitions of :mod:`blankspot.distributed`, so they all give the same result.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

import geopandas as gpd
import shapely
from pyproj import CRS

from blankspot._errors import InputError
from blankspot._util import point_xy

__all__ = ["STATUSES"]

#: Statuses a business can end in; every input row gets exactly one.
STATUSES = ("covered", "uncovered", "outside_villages", "rejected", "unmatched")


def _points_in_polygons(
    points: np.ndarray, polygons: gpd.GeoDataFrame
) -> tuple[np.ndarray, np.ndarray]:
    """Pairs (point position, polygon position) where the point intersects the polygon.

    A bounding-box query followed by ``intersects_xy`` on prepared polygons: about twice as
    fast as ``sindex.query(predicate="intersects")``, which builds a prepared geometry per
    candidate pair instead of once per polygon.
    """
    pi, gi = polygons.sindex.query(points)
    if len(pi) == 0:
        return pi, gi
    geoms = np.asarray(polygons.geometry.array)
    shapely.prepare(geoms)
    hit = shapely.intersects_xy(geoms[gi], shapely.get_x(points)[pi], shapely.get_y(points)[pi])
    return pi[hit], gi[hit]


def _first_village(points: np.ndarray, vil: gpd.GeoDataFrame) -> np.ndarray:
    """Position of the village containing each point, -1 when none (border: smallest id)."""
    pi, vi = _points_in_polygons(points, vil)
    out = np.full(len(points), -1, dtype="int64")
    if len(pi):
        # rank villages by id so that a border point goes to the smallest id, deterministically
        id_rank = np.argsort(np.argsort(vil.index.to_numpy(dtype=str), kind="stable"))
        order = np.lexsort((id_rank[vi], pi))
        pi, vi = pi[order], vi[order]
        first = np.r_[True, pi[1:] != pi[:-1]]
        out[pi[first]] = vi[first]
    return out


def _village_pos(businesses: pd.DataFrame, villages: gpd.GeoDataFrame) -> np.ndarray:
    """Position in ``villages`` of each business's ``village_id``, -1 when none or unknown.

    A categorical ``village_id`` (the compact frame) is looked up once per category.
    """
    vid = businesses["village_id"]
    index = villages.index.astype(str)
    if isinstance(vid.dtype, pd.CategoricalDtype):
        codes = vid.cat.codes.to_numpy()
        cat_pos = index.get_indexer(vid.cat.categories.astype(str))
        return np.r_[cat_pos, -1][codes].astype(np.int64)  # code -1 (missing) picks the -1
    return index.get_indexer(vid.astype(object).where(vid.notna(), None)).astype(np.int64)


def _swap_check(biz_valid: gpd.GeoSeries, vil: gpd.GeoDataFrame, n_inside: int) -> None:
    """Raise when most points miss every village but would hit villages with x/y swapped."""
    n = len(biz_valid)
    if n == 0 or n_inside >= 0.5 * n or biz_valid.crs is None or not biz_valid.crs.is_geographic:
        return
    x = shapely.get_x(biz_valid.array)
    y = shapely.get_y(biz_valid.array)
    ok = (np.abs(x) <= 90) & (np.abs(y) <= 180)
    if not ok.any():
        return
    swapped = gpd.GeoSeries(shapely.points(y[ok], x[ok]), crs=biz_valid.crs).to_crs(vil.crs)
    n_swapped_inside = int((_first_village(swapped.array, vil) >= 0).sum())
    if n_swapped_inside > max(2 * n_inside, 0.5 * n):
        raise InputError(
            f"Latitude and longitude look swapped in the businesses: only {n_inside} of {n} "
            f"points fall inside a village, but {n_swapped_inside} would with the two swapped. "
            "Pass lon_col=/lat_col= to read_businesses with the right columns (longitude is "
            "about 103-106 and latitude about -6 to -3 in Lampung)."
        )


@dataclass(frozen=True)
class _PointPart:
    """What one batch of business points adds to an assessment (see :func:`_combine_points`).

    Batches of disjoint businesses add up exactly, so :mod:`blankspot.distributed` assesses
    partitions on workers and combines them into the same result as one batch.
    """

    businesses: gpd.GeoDataFrame  # the batch's rows with village_id, covered, status...
    # the next three are None in a compact part: its table's village_id codes, weight and
    # signal_dbm columns hold the same (see _compact_part and _table_rows)
    village_pos: np.ndarray | None  # position of each row's village, -1 when none
    weight: np.ndarray | None
    signal: np.ndarray | None  # signal_dbm per row (NaN where none) with a signal source
    spot_n: np.ndarray  # uncovered businesses per blank spot
    spot_w: np.ndarray


def _classify_points(
    out_v: gpd.GeoDataFrame,
    *,
    biz: gpd.GeoDataFrame,
    spots: gpd.GeoDataFrame,
    wcrs: CRS,
    source: Any,
) -> _PointPart:
    """Village and coverage status of each business of one batch."""
    n = len(biz)
    reason = biz["rejected_reason"]
    rejected_mask = reason.notna().to_numpy()
    geoms = biz.geometry.array
    missing = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    newly = missing & ~rejected_mask
    if newly.any():
        reason = reason.astype("object").copy()
        reason[newly] = "geometry is missing or empty"
        rejected_mask = rejected_mask | newly
    valid = ~rejected_mask

    valid_geo = biz.geometry[valid]
    if len(valid_geo) and (shapely.get_type_id(valid_geo.array) != 0).any():
        raise InputError(
            "businesses must be points; found other geometry types "
            f"({sorted(set(valid_geo.geom_type))}). Use the centroids or representative points."
        )
    geom_w = biz.geometry.to_crs(wcrs) if biz.crs != wcrs else biz.geometry
    pts_w = geom_w.array[valid]
    vidx = _first_village(pts_w, out_v)
    _swap_check(valid_geo, out_v, int((vidx >= 0).sum()))
    x, y = shapely.get_x(pts_w), shapely.get_y(pts_w)
    covered_v, signal_v = source.points(x, y, wcrs) if len(x) else (np.zeros(0, bool), None)
    covered_v = np.asarray(covered_v, dtype=bool)

    village_pos = np.full(n, -1, dtype="int64")
    village_pos[valid] = vidx
    covered = np.zeros(n, dtype=bool)
    covered[valid] = covered_v
    inside = village_pos >= 0

    status = np.full(n, "rejected", dtype=object)
    status[valid & ~inside] = "outside_villages"
    status[inside & covered] = "covered"
    status[inside & ~covered] = "uncovered"
    covered &= inside  # a point outside every village is never counted as covered

    out_b = biz.copy()
    out_b["rejected_reason"] = reason
    out_b = out_b.set_geometry(geom_w)
    vid = np.full(n, None, dtype=object)
    vid[inside] = out_v.index.to_numpy()[village_pos[inside]]
    out_b["village_id"] = pd.array(vid, dtype="string")
    out_b["covered"] = covered
    sig = None
    if source.has_signal:
        sig = np.full(n, np.nan)
        if signal_v is not None:
            sig[valid] = signal_v
        out_b["signal_dbm"] = sig
    out_b["status"] = status
    weight = (
        out_b["weight"].to_numpy(dtype="float64")
        if "weight" in out_b.columns
        else np.ones(n, dtype="float64")
    )
    weight = np.where(np.isfinite(weight), weight, 0.0)

    # count uncovered businesses per blank-spot polygon
    unc = inside & ~covered
    spot_n = np.zeros(len(spots), dtype="int64")
    spot_w = np.zeros(len(spots), dtype="float64")
    if len(spots) and unc.any():
        upts = out_b.geometry.array[unc]
        pi, si = _points_in_polygons(upts, spots)
        order = np.lexsort((si, pi))
        pi, si = pi[order], si[order]
        first = np.r_[True, pi[1:] != pi[:-1]] if len(pi) else np.zeros(0, bool)
        pi, si = pi[first], si[first]
        spot_n = np.bincount(si, minlength=len(spots))
        spot_w = np.bincount(si, weights=weight[unc][pi], minlength=len(spots))
    return _PointPart(out_b, village_pos, weight, sig, spot_n, spot_w)


_STATUS_DTYPE = pd.CategoricalDtype(list(STATUSES))


def _compact_part(part: _PointPart, village_ids: pd.Index) -> _PointPart:
    """Turn a batch's businesses into the compact table of ``assess(compact=True)``.

    Shapely points become ``x``/``y`` columns (working CRS, NaN where rejected), ``lon`` and
    ``lat`` are dropped, ``village_id`` and ``status`` become categoricals (codes, not
    strings), ``rejected_reason`` Arrow text, ``signal_dbm`` float32 (the raster's own
    precision); the counts of the part are unchanged.
    """
    b = part.businesses
    geoms = b.geometry.array
    ok = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    x = np.full(len(b), np.nan)
    y = np.full(len(b), np.nan)
    x[ok], y[ok] = shapely.get_x(geoms[ok]), shapely.get_y(geoms[ok])
    drop = {b.geometry.name, "lon", "lat", "village_id", "status"}
    frame = pd.DataFrame({"x": x, "y": y}, index=b.index)
    frame = pd.concat([frame, pd.DataFrame(b[[c for c in b.columns if c not in drop]])], axis=1)
    frame.insert(
        len(frame.columns) - (2 if "signal_dbm" in frame.columns else 1),
        "village_id",
        pd.Categorical.from_codes(part.village_pos, dtype=pd.CategoricalDtype(village_ids)),
    )
    frame["status"] = pd.Categorical(b["status"].to_numpy(dtype=object), dtype=_STATUS_DTYPE)
    frame["rejected_reason"] = frame["rejected_reason"].astype("str")  # Arrow: nulls are bits
    if "signal_dbm" in frame.columns:
        frame["signal_dbm"] = frame["signal_dbm"].astype("float32")
    frame.attrs = dict(b.attrs)
    # the row arrays are read back from the table when the parts are combined (_table_rows):
    # 10 million businesses carry 240 MB less to the combining process
    return dataclasses.replace(part, businesses=frame, village_pos=None, weight=None, signal=None)


def _part_rows(
    parts: list[_PointPart],
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None] | None:
    """Village position, weight and signal of every row, from full parts (None: compact)."""
    if parts[0].village_pos is None:
        return None
    return (
        np.concatenate([p.village_pos for p in parts]),
        np.concatenate([p.weight for p in parts]),
        np.concatenate([p.signal for p in parts]) if parts[0].signal is not None else None,
    )


def _table_rows(
    table: pd.DataFrame, *, has_signal: bool
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Village position, weight and signal of every row of a compact ``table``.

    Compact parts drop their row arrays; the table holds the same: ``village_id`` codes are
    village positions (its categories are the village ids), the ``weight`` column with
    non-finite weights as 0 (as :func:`_classify_points` does) and ``signal_dbm`` (only its
    finiteness is used).
    """
    village_pos = table["village_id"].cat.codes.to_numpy()
    if "weight" in table.columns:
        w = table["weight"].to_numpy(dtype="float64")
        weight = np.where(np.isfinite(w), w, 0.0)
    else:
        weight = np.ones(len(table), dtype="float64")
    signal = table["signal_dbm"].to_numpy() if has_signal else None
    return village_pos, weight, signal


def _check_unique_ids(index: pd.Index) -> None:
    """Refuse business ids repeated across batches (each batch was checked on its own)."""
    arr = index.array  # Arrow text stays Arrow: 10 million ids never become Python strings
    ids = (
        pa.array(arr)
        if hasattr(arr, "__arrow_array__")
        else pa.array(np.asarray(arr, dtype=object), type=pa.string())
    )
    if len(pc.unique(ids)) == len(index):  # unique: 2.5 times faster than count_distinct
        return
    dup = index[index.duplicated()].unique()
    raise InputError(
        f"business ids repeat across batches: {', '.join(map(str, dup[:10]))}"
        f"{' ...' if len(dup) > 10 else ''} ({len(dup)} in all). Ids must be unique over all "
        "files; fix id_col= or leave it out to number the rows."
    )


def _business_xy(biz: pd.DataFrame, rows: np.ndarray | None = None) -> np.ndarray:
    """``(n, 2)`` working-CRS coordinates of businesses (at positions ``rows``).

    From the points of a GeoDataFrame, or from ``x``/``y`` of the compact table.
    """
    if isinstance(biz, gpd.GeoDataFrame):
        geoms = biz.geometry.array
        return point_xy(geoms if rows is None else geoms[rows])
    x, y = biz["x"].to_numpy("float64"), biz["y"].to_numpy("float64")
    return np.column_stack([x, y] if rows is None else [x[rows], y[rows]])


def _concat_businesses(frames: list[pd.DataFrame]) -> pd.DataFrame:
    """``pd.concat(frames)``, column by column for compact tables, emptying ``frames``.

    The caller must hold no other reference to the frames. Each part is first split into
    columns of their own (a column of pandas' 2-D blocks is copied: deleting it from a block
    frees nothing until the block's last column goes), one part at a time; then each column
    is concatenated and let go in the parts. The peak is the parts plus one column, not the
    parts and the table side by side (10 million businesses: 0.7 GB less).
    GeoDataFrames (``compact=False``) go through ``pd.concat`` as they are.
    """
    if len(frames) == 1:
        return frames.pop()
    if any(isinstance(f, gpd.GeoDataFrame) for f in frames):
        out = pd.concat(frames)
        frames.clear()
        return out
    index = frames[0].index.append([f.index for f in frames[1:]])
    attrs = dict(frames[0].attrs)
    names = list(frames[0].columns)
    columns = []
    while frames:  # one part at a time: its columns copied out, the part let go
        frame = frames.pop(0)
        columns.append({c: frame[c].array.copy() for c in names})
        del frame
    data = {}
    for col in names:  # a dozen columns
        data[col] = pd.concat([pd.Series(p.pop(col)) for p in columns], ignore_index=True)
    out = pd.DataFrame(data, copy=False)
    out.index = index
    out.attrs = attrs
    return out


def _status_codes(status: pd.Series) -> np.ndarray:
    """Position in ``STATUSES`` of each business's status (categorical codes when compact)."""
    if isinstance(status.dtype, pd.CategoricalDtype) and list(status.cat.categories) == list(
        STATUSES
    ):
        return status.cat.codes.to_numpy()
    return pd.Categorical(status.to_numpy(dtype=object), categories=list(STATUSES)).codes
