"""Businesses read batch by batch, so a national file is never held whole (issue #11).

:func:`read_businesses_batches` returns a :class:`BusinessBatches`: a re-iterable source of
:func:`blankspot.read_businesses` frames of at most ``batch_rows`` rows each, streamed from
Parquet row groups (pyarrow) or CSV chunks (pandas). :func:`blankspot.assess` classifies
the batches one at a time and adds them up exactly (``_points._classify_points`` and
``_combine_points``, the same code as one in-memory batch and as the dask partitions).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

import geopandas as gpd
import shapely
from pyproj import CRS

from blankspot._errors import BlankspotError, InputError, InputFileError
from blankspot._tables import _first_line, _sniff_delimiter
from blankspot._util import check_not_empty_file, file_suffix
from blankspot._validate import check_options
from blankspot.io import _load_business_source, read_businesses

__all__ = ["BATCH_ROWS", "BusinessBatches", "read_businesses_batches"]

log = logging.getLogger("blankspot")

#: Default rows per batch: ~350 MB of shapely points and columns while a batch is assessed.
BATCH_ROWS = 1_000_000

_CSV = (".csv", ".csv.gz", ".txt", ".txt.gz", ".tsv", ".tsv.gz")
_PARQUET = (".parquet", ".geoparquet")


@dataclass(frozen=True)
class RawBatch:
    """One batch as loaded from its source: the frame, where it came from, its first row."""

    frame: pd.DataFrame
    origin: str
    start: int


@dataclass(frozen=True)
class BusinessBatches:
    """Businesses to be read in batches; iterate to get :func:`read_businesses` frames.

    Built by :func:`read_businesses_batches`. Every iteration reads the sources again, in
    order, so the same object can be assessed twice.
    """

    sources: tuple[Any, ...]
    batch_rows: int = BATCH_ROWS
    options: dict[str, Any] = field(default_factory=dict)
    columns: tuple[str, ...] | None = None

    def __iter__(self) -> Iterator[gpd.GeoDataFrame]:
        for raw in self.raw():
            yield self.read(raw)

    def raw(self) -> Iterator[RawBatch]:
        """Yield the batches as loaded, unchecked (cheap: for :meth:`read` in a worker)."""
        start = 0
        for source in self.sources:
            for frame, origin in _raw_batches(source, self.batch_rows, self.columns):
                yield RawBatch(frame, origin, start)
                start += len(frame)

    def read(self, raw: RawBatch) -> gpd.GeoDataFrame:
        """Check one raw batch as :func:`read_businesses` does (rows numbered across batches)."""
        return _read_batch(raw.frame, raw.origin, raw.start, self.options)

    def __repr__(self) -> str:
        names = [str(s) if isinstance(s, str | Path) else type(s).__name__ for s in self.sources]
        return f"<BusinessBatches of {', '.join(names[:3])}{' ...' if len(names) > 3 else ''}>"


def _parquet_geo(pf: pq.ParquetFile) -> tuple[str | None, CRS | None]:
    """Find the primary geometry column and CRS of a GeoParquet file (None: plain Parquet)."""
    meta = pf.schema_arrow.metadata or {}
    if b"geo" not in meta:
        return None, None
    geo = json.loads(meta[b"geo"])
    name = geo.get("primary_column", "geometry")
    crs_json = geo.get("columns", {}).get(name, {}).get("crs", "OGC:CRS84")
    # GeoParquet: a missing crs means OGC:CRS84, an explicit null means unknown
    crs = None if crs_json is None else CRS.from_user_input(crs_json)
    return name, crs


def _raw_batches(
    source: Any, batch_rows: int, columns: tuple[str, ...] | None
) -> Iterator[tuple[pd.DataFrame, str]]:
    """Yield ``(raw frame, origin)`` slices of one source, as read_businesses would load it."""
    if isinstance(source, pd.DataFrame):
        for i in range(0, len(source), batch_rows):
            yield source.iloc[i : i + batch_rows], "the businesses DataFrame"
        return
    path = Path(source)
    if not path.exists():
        raise InputFileError(f"businesses file '{path}' does not exist. Check the path.")
    origin = f"'{path}'"
    suffix = file_suffix(path)
    if suffix in _PARQUET:
        try:
            pf = pq.ParquetFile(path)
        except Exception as exc:
            raise InputFileError(f"Cannot read businesses file {origin}: {exc}") from exc
        geom_col, crs = _parquet_geo(pf)
        cols = None
        if columns is not None:
            cols = [*columns, *([geom_col] if geom_col and geom_col not in columns else [])]
        for batch in pf.iter_batches(batch_size=batch_rows, columns=cols):
            frame = batch.to_pandas()
            if geom_col is not None and geom_col in frame.columns:
                geoms = shapely.from_wkb(frame.pop(geom_col).to_numpy())
                frame = gpd.GeoDataFrame(frame, geometry=geoms, crs=crs)
            yield frame, origin
        return
    if suffix in _CSV:
        check_not_empty_file(path, what="businesses")
        sep = _sniff_delimiter(_first_line(path))
        reader = pd.read_csv(
            path,
            sep=sep,
            dtype=str,  # coordinates, ids and weights are parsed by read_businesses
            usecols=list(columns) if columns is not None else None,
            chunksize=batch_rows,
            encoding="utf-8-sig",
            encoding_errors="replace",
        )
        with reader:
            yield from ((chunk, origin) for chunk in reader)
        return
    # Excel and vector files cannot be streamed: read whole, assessed in slices
    frame, origin, _ = _load_business_source(path, list)
    if columns is not None:
        keep = [c for c in columns if c in frame.columns]
        if isinstance(frame, gpd.GeoDataFrame):
            keep.append(frame.geometry.name)
        frame = frame[keep]
    for i in range(0, len(frame), batch_rows):
        yield frame.iloc[i : i + batch_rows], origin


def _read_batch(
    raw: pd.DataFrame, origin: str, start: int, options: dict[str, Any]
) -> gpd.GeoDataFrame:
    """:func:`read_businesses` on one batch; rows numbered across batches without ``id_col``."""
    if options.get("id_col") is None:
        raw = raw.copy(deep=False)
        raw.index = pd.Index(np.arange(start, start + len(raw)).astype(str), name="business_id")
    try:
        out = read_businesses(raw, **options)
    except BlankspotError as exc:
        where = f"{origin} rows {start:,} to {start + len(raw) - 1:,}"
        text = str(exc).replace("the businesses GeoDataFrame", where)
        text = text.replace("the businesses DataFrame", where)
        raise type(exc)(text if where in text else f"{where}: {text}") from exc
    log.info("businesses %s: rows %d to %d read", origin, start, start + len(raw) - 1)
    return out


@check_options
def read_businesses_batches(
    source: Any,
    *,
    batch_rows: int = BATCH_ROWS,
    columns: Sequence[str] | None = None,
    lon_col: str | None = None,
    lat_col: str | None = None,
    crs: Any = None,
    id_col: str | None = None,
    weight_col: str | None = None,
) -> BusinessBatches:
    """Read businesses in batches, for :func:`blankspot.assess` on a whole country.

    Nothing is read here; :func:`blankspot.assess` reads one batch at a time, so memory
    holds one batch of points (``batch_rows`` rows) plus the compact result, never the
    whole file as shapely points.

    Parameters
    ----------
    source
        A Parquet or GeoParquet file (streamed by row group), a CSV file (streamed in
        chunks), any other file :func:`~blankspot.read_businesses` reads (read whole, then
        assessed in slices), a DataFrame, or a list of these (one file per province: read
        in order, rows numbered on across files).
    batch_rows
        Rows per batch (default 1,000,000: about 350 MB while a batch is assessed).
    columns
        Input columns to read (coordinates, id, weight and any class column you need);
        default all. A national file's name or address columns cost memory for nothing.
    lon_col, lat_col, crs, id_col, weight_col
        As in :func:`~blankspot.read_businesses`, applied to every batch.

    Returns
    -------
    BusinessBatches
        An iterable of :func:`~blankspot.read_businesses` frames; pass it to
        :func:`blankspot.assess` (``compact=True`` keeps the result small).

    Raises
    ------
    InputError
        ``batch_rows`` is not a whole number >= 1, or ``source`` is of no supported kind.
    Everything :func:`~blankspot.read_businesses` raises, on iteration, naming the file
    and the rows of the batch.

    Notes
    -----
    Without ``id_col`` the rows are numbered ``"0"``, ``"1"``, ... across all batches and
    files (a ``business_id``/``id`` column is not picked up on its own, as one batch's
    column may be unique where another's is not: pass ``id_col=``). With ``id_col``,
    ids repeated across batches are found by :func:`blankspot.assess`. CSV text is read as
    UTF-8 (bad bytes replaced); coordinates, ids and weights are parsed by
    :func:`~blankspot.read_businesses` exactly as for a whole file. A batch in which every
    row is rejected stops the run, as a whole file would (usually the wrong columns or a
    damaged part of the file; the error names the file and rows).

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"lon": [105.2, 105.3, 105.4], "lat": [-5.4, -5.3, -5.2]})
    >>> [b.index.tolist() for b in read_businesses_batches(df, batch_rows=2)]
    [['0', '1'], ['2']]
    """
    if (
        isinstance(batch_rows, bool)
        or not isinstance(batch_rows, int | np.integer)
        or batch_rows < 1
    ):
        raise InputError(f"batch_rows must be a whole number of rows >= 1, got {batch_rows!r}.")
    sources = list(source) if isinstance(source, list | tuple) else [source]
    if not sources:
        raise InputError("read_businesses_batches got an empty list of sources.")
    for s in sources:
        if not isinstance(s, str | Path | pd.DataFrame):
            raise InputError(
                "businesses should be a path, a DataFrame or a list of them; got "
                f"{type(s).__name__}."
            )
    options = {
        "lon_col": lon_col,
        "lat_col": lat_col,
        "crs": crs,
        "id_col": id_col,
        "weight_col": weight_col,
    }
    return BusinessBatches(
        sources=tuple(sources),
        batch_rows=int(batch_rows),
        options=options,
        columns=tuple(columns) if columns is not None else None,
    )
