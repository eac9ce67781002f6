"""Coverage known per village (BPS Podes signal strength, a BAKTI blank-spot list).

Re-exported by :mod:`blankspot.coverage` as :func:`~blankspot.coverage.from_village_status`;
kept apart only to keep ``coverage.py`` to a readable size.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

import geopandas as gpd
from pyproj import CRS

from blankspot import _raster
from blankspot._coverage_base import _cover_from_union, _vector_pieces, _villages_in
from blankspot._errors import EmptyInputError, InputError
from blankspot._polygon_source import PolygonCoverage
from blankspot._tables import _read_csv
from blankspot._util import file_suffix, some
from blankspot._validate import check_options, require_crs, warn_user
from blankspot.io import _require_column

__all__ = ["VillageStatusCoverage", "from_village_status"]

log = logging.getLogger("blankspot")

UNLISTED = ("uncovered", "covered")


@dataclass(frozen=True, eq=False)
class VillageStatusCoverage:
    """Coverage known per village, all or nothing; see :func:`from_village_status`.

    ``covered`` is a boolean Series indexed by village id (every village of ``villages``);
    ``polygons`` the covered villages' polygons as a :class:`PolygonCoverage` whose extent
    is that of all the villages: it places points and is what a union burns or clips.
    """

    covered: pd.Series
    polygons: PolygonCoverage
    description: str
    has_signal: bool = False

    def _parts(self, crs: CRS) -> np.ndarray:
        return self.polygons._parts(crs)

    def bounds_in(self, crs: Any) -> tuple[float, float, float, float]:
        """Extent of the villages the table speaks about, in ``crs``."""
        return self.polygons.bounds_in(crs)

    def points(
        self, x: np.ndarray, y: np.ndarray, crs: Any
    ) -> tuple[np.ndarray, np.ndarray | None]:
        """Covered where a point lies in (or on the edge of) a covered village; no signal."""
        return self.polygons.points(x, y, crs)

    def _covered_pieces(self, villages: Any, crs: CRS) -> tuple[np.ndarray, np.ndarray]:
        """Covered polygons per village: a known village whole or not at all.

        Villages of another layer (ids not in the table) get the covered villages' area
        inside them, by geometry.
        """
        geoms, ids = _villages_in(villages, crs)
        ids = pd.Index(ids.astype(str))
        known = ids.isin(self.covered.index)
        status = self.covered.reindex(ids[known]).to_numpy(dtype=bool)
        whole = np.flatnonzero(known)[status]
        other = np.flatnonzero(~known)
        v_idx, polys = _vector_pieces(self._parts(crs), geoms[other])
        return (
            np.concatenate([whole, other[v_idx]]).astype("int64"),
            np.concatenate([geoms[whole], polys]),
        )

    def village_cover(self, villages: gpd.GeoSeries, crs: Any) -> Any:
        """Covered area: a covered village's whole area, an uncovered village's none."""
        crs = require_crs(crs, what="village_cover(crs)")
        geoms, ids = _villages_in(villages, crs)
        v_idx, pieces = self._covered_pieces(villages, crs)
        return _cover_from_union(geoms, _raster.union_by_group(pieces, v_idx, geoms.size), ids, crs)


def _status_table(table: Any) -> tuple[pd.DataFrame, str]:
    """Return the table as a DataFrame of text columns (codes never read as numbers)."""
    if isinstance(table, pd.DataFrame):
        return table, "the village status table"
    if not isinstance(table, str | os.PathLike):
        raise InputError(
            "table should be a DataFrame or a path to a CSV/Excel file, got "
            f"{type(table).__name__}."
        )
    path = Path(table)
    origin = f"village status file '{path}'"
    if file_suffix(path) in (".xlsx", ".xlsm", ".xls"):
        return pd.read_excel(path, dtype=str), origin
    return _read_csv(path, what="village status", text_columns=list), origin


def _text_codes(values: pd.Series, column: str, origin: str) -> pd.Series:
    if pd.api.types.is_float_dtype(values.dtype):
        raise InputError(
            f"Column {column!r} of {origin} holds decimal numbers (e.g. {values.iloc[0]!r}); "
            "village codes must be text, because a number loses leading and trailing zeros "
            "(18.10 becomes 18.1). Read the column as text (pandas.read_csv(..., "
            f"dtype={{{column!r}: str}}))."
        )
    missing = values.isna().to_numpy()
    if missing.any():
        raise InputError(
            f"{int(missing.sum())} rows of {origin} have no village code in {column!r} "
            f"(rows {some(np.flatnonzero(missing))}). Fill or drop them."
        )
    return values.astype(str).str.strip()


def _folded(values: Iterable[Any]) -> set[str]:
    return {str(v).strip().casefold() for v in values}


@check_options
def from_village_status(
    table: pd.DataFrame | str | os.PathLike[str],
    *,
    villages: gpd.GeoDataFrame,
    id_col: str,
    status_col: str,
    covered_values: Iterable[Any],
    uncovered_values: Iterable[Any] | None = None,
    unlisted: str = "uncovered",
) -> VillageStatusCoverage:
    """Coverage known per village, such as BPS Podes signal strength or a blank-spot list.

    A village is covered or not *as a whole*: its whole area and every business in it.

    Parameters
    ----------
    table
        One row per village: a DataFrame, or a CSV/Excel file (read as text).
    villages
        The village polygons (from :func:`blankspot.read_villages`, index = village id):
        the table's codes must be among their ids, and points are placed in them. (The
        coverage-source protocol locates points by coordinates only, so the source keeps
        the polygons.)
    id_col
        Column of village codes, the same codes as the villages' ids (text; a column of
        decimal numbers is refused, as ``18.10`` would have become ``18.1``).
    status_col
        Column of the status, e.g. Podes signal strength (``"kuat"``, ``"lemah"``,
        ``"tidak ada sinyal"``) or a BAKTI list's category.
    covered_values
        Status values meaning covered (compared as text, case and surrounding spaces
        ignored), e.g. ``["kuat", "lemah"]``; may be empty (a list of blank spots).
    uncovered_values
        Status values meaning not covered. When given, any other value is an error (a
        misspelt status is then caught); by default every value not in ``covered_values``
        is not covered, and the counts per value are logged.
    unlisted
        What villages absent from the table (or with no status) are: ``"uncovered"``
        (default: nothing is known of their signal) or ``"covered"`` (the table lists only
        blank spots). Counted in a :class:`~blankspot.BlankspotWarning` (default) or the
        log (``"covered"``, where it is expected), and in ``description``.

    Returns
    -------
    VillageStatusCoverage
        A coverage source for :func:`blankspot.assess` and :func:`union` (e.g. with a
        raster: covered where either says so).

    Raises
    ------
    InputError
        A missing column, codes stored as decimal numbers or missing, a code repeated
        with different statuses, codes that are not village ids (listed), statuses outside
        ``covered_values``/``uncovered_values`` (listed), a bad ``unlisted``.
    EmptyInputError
        The table has no rows.

    Examples
    --------
    >>> import geopandas as gpd, pandas as pd
    >>> from shapely.geometry import box
    >>> villages = gpd.GeoDataFrame(
    ...     geometry=[box(0, 0, 10, 10), box(10, 0, 20, 10)],
    ...     index=["18.01.01.2001", "18.01.01.2002"], crs="EPSG:32748")
    >>> podes = pd.DataFrame({"kode": ["18.01.01.2001", "18.01.01.2002"],
    ...                       "sinyal": ["Kuat", "tidak ada"]})
    >>> cov = from_village_status(podes, villages=villages, id_col="kode",
    ...                           status_col="sinyal", covered_values=["kuat", "lemah"])
    >>> cov.village_cover(villages.geometry, villages.crs).covered_share
    array([1., 0.])
    >>> cov.points([5.0, 15.0], [5.0, 5.0], "EPSG:32748")
    (array([ True, False]), None)
    """
    if unlisted not in UNLISTED:
        raise InputError(f"unlisted must be one of {', '.join(UNLISTED)}, got {unlisted!r}.")
    if not isinstance(villages, gpd.GeoDataFrame | gpd.GeoSeries):
        raise InputError(
            "villages should be the village polygons from read_villages, got "
            f"{type(villages).__name__}."
        )
    require_crs(villages.crs, what="villages")
    frame, origin = _status_table(table)
    if len(frame) == 0:
        raise EmptyInputError(f"{origin} has no rows.")
    icol = _require_column(frame.columns, id_col, option="id_col", origin=origin)
    scol = _require_column(frame.columns, status_col, option="status_col", origin=origin)
    codes = _text_codes(frame[icol], str(icol), origin)
    raw_status = frame[scol]
    has_status = (
        raw_status.notna().to_numpy() & (raw_status.astype(str).str.strip() != "").to_numpy()
    )
    status = raw_status.astype(str).str.strip().str.casefold()

    yes = _folded(covered_values)
    if uncovered_values is not None:
        no = _folded(uncovered_values)
        both = yes & no
        if both:
            raise InputError(
                f"covered_values and uncovered_values share {some(sorted(both))}; a status "
                "is one or the other."
            )
        other = ~status.isin(yes | no).to_numpy() & has_status
        if other.any():
            raise InputError(
                f"{origin} has status values in {str(scol)!r} that are neither in "
                f"covered_values nor in uncovered_values: "
                f"{some(sorted(pd.unique(raw_status[other].astype(str))))}. Add them to one "
                "of the two."
            )
    counts = raw_status[has_status].astype(str).str.strip().value_counts()
    log.info(
        "%s: status values %s; covered: %s",
        origin,
        dict(counts.items()),
        sorted(yes),
    )
    is_covered = pd.Series(status.isin(yes).to_numpy() & has_status, index=codes.to_numpy())
    given = pd.Series(has_status, index=codes.to_numpy())
    dup = is_covered.index.duplicated(keep=False)
    if dup.any():
        clash = is_covered[dup].groupby(level=0).nunique()
        clash = clash[clash > 1]
        if len(clash):
            raise InputError(
                f"{origin} gives {len(clash)} village code(s) both a covered and an uncovered "
                f"status: {some(clash.index)}. Keep one row per village."
            )
        is_covered = is_covered[~is_covered.index.duplicated()]
        given = given.groupby(level=0).any()

    vids = pd.Index(villages.index.astype(str))
    unknown = ~is_covered.index.isin(vids)
    if unknown.any():
        raise InputError(
            f"{int(unknown.sum())} village code(s) of {origin} (column {str(icol)!r}) are not "
            f"village ids: {some(is_covered.index[unknown])}. Village ids look like "
            f"{some(vids[:3])}. Key the table by the same code as the villages (BPS and "
            "Kemendagri codes are numbered differently and cannot be converted)."
        )
    listed = given.reindex(vids).fillna(False).to_numpy(dtype=bool)
    covered = is_covered.reindex(vids).fillna(False).to_numpy(dtype=bool).copy()
    covered[~listed] = unlisted == "covered"
    n_unlisted = int((~listed).sum())
    geoms = villages.geometry if isinstance(villages, gpd.GeoDataFrame) else villages
    geoms = gpd.GeoSeries(geoms.to_numpy(), index=vids, crs=villages.crs)
    name = f"'{Path(str(table)).name}'" if not isinstance(table, pd.DataFrame) else "table"
    desc = (
        f"village status {name} ({str(scol)!r} in {sorted(yes)}): "
        f"{int(covered.sum())} of {len(vids)} villages covered"
    )
    if n_unlisted:
        desc += f", {n_unlisted} not in the table counted {unlisted}"
        msg = (
            f"{n_unlisted} of {len(vids)} villages are not in {origin} (or have no status): "
            f"they count as {unlisted} (unlisted={unlisted!r}), e.g. {some(vids[~listed], 5)}."
        )
        if unlisted == "uncovered":
            warn_user(msg)
        else:
            log.info(msg)
    log.info("Coverage source: %s", desc)
    return VillageStatusCoverage(
        covered=pd.Series(covered, index=vids),
        polygons=PolygonCoverage(
            geometry=geoms[covered],
            description=desc,
            extent=tuple(float(b) for b in geoms.total_bounds),  # type: ignore[arg-type]
        ),
        description=desc,
    )
