"""Inputs of ``blankspot plan``: paths and globs per flag, several files read as one.

A whole country comes as one file per province (``data/*/desa.gpkg``, ``rsrp/*.tif``). Every
input flag (and TOML key) takes several paths or shell-style globs; this module expands them
before anything is read (a pattern matching nothing is an error naming the flag and the
pattern), reads several files of one kind as one table, and opens several coverage rasters on
one grid as one mosaic (a GDAL VRT held in memory, the strongest signal where they overlap),
so nothing is loaded in memory that the windowed readers would not load for one raster.

Used only by :mod:`blankspot.cli`; imports the geospatial stack lazily.
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import replace
from glob import glob
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from blankspot._errors import BlankspotError, InputError, InputFileError

log = logging.getLogger("blankspot")

_GLOB_CHARS = "*?["
_SPREADSHEET_SUFFIXES = {".xlsx", ".xls", ".xlsm", ".ods"}
_RASTER_SUFFIXES = {".tif", ".tiff", ".vrt", ".img", ".asc", ".nc"}

#: the path flags of ``blankspot plan``, by option name, with whether a folder is accepted
PATH_FLAGS: dict[str, bool] = {
    "villages": True,  # OGR reads a folder of shapefiles
    "businesses": False,
    "coverage": False,
    "sites": False,
    "network": False,
    "dem": False,
}


#: above this many businesses ``blankspot plan`` reads them in batches, ``assess(compact=True)``
COMPACT_ROWS = 2_000_000
_COUNT_CHUNK_BYTES = 1 << 20


def _rows_in(path: str, limit: int) -> int:
    """Count (or, past ``limit``, stop counting) the rows of a businesses file, cheaply.

    Parquet from its footer, CSV by its line breaks (stopping once past ``limit``), other
    vector files from OGR's feature count. Spreadsheets, and files that cannot be opened (the
    reader names the problem later), count 0.
    """
    suffixes = [x.lower() for x in Path(path).suffixes]
    try:
        if suffixes[-1:] == [".parquet"]:
            import pyarrow.parquet as pq

            return pq.ParquetFile(path).metadata.num_rows
        if ".csv" in suffixes or ".txt" in suffixes:
            import gzip

            opener = gzip.open if suffixes[-1:] == [".gz"] else open
            lines = 0
            with opener(path, "rb") as fh:
                while lines <= limit and (chunk := fh.read(_COUNT_CHUNK_BYTES)):
                    lines += chunk.count(b"\n")
            return max(lines - 1, 0)  # the header
        if suffixes and suffixes[-1] in _SPREADSHEET_SUFFIXES:
            return 0
        import pyogrio

        return int(pyogrio.read_info(path).get("features") or 0)
    except Exception:  # counting is only a hint: the reader names any problem later
        return 0


def compact_by_size(paths: Sequence[str]) -> bool:
    """Whether the businesses files hold more than :data:`COMPACT_ROWS` rows in all.

    >>> compact_by_size([])
    False
    """
    total = 0
    for path in paths:
        total += _rows_in(path, COMPACT_ROWS - total)
        if total > COMPACT_ROWS:
            log.info(
                "--businesses: more than %s rows; reading them in batches into a compact "
                "table (as --compact)",
                f"{COMPACT_ROWS:,}",
            )
            return True
    return False


def as_list(value: str | Sequence[str] | None) -> list[str]:
    """One path, several, or none, as a list.

    >>> as_list("a.tif"), as_list(["a.tif", "b.tif"]), as_list(None)
    (['a.tif'], ['a.tif', 'b.tif'], [])
    """
    if value is None:
        return []
    return [value] if isinstance(value, str) else list(value)


def expand_paths(values: dict[str, list[str]]) -> dict[str, list[str]]:
    """Expand each flag's paths and globs into existing files, sorted per pattern.

    ``values`` maps an option name (``coverage``) to what the user gave: paths, quoted
    globs (``'rsrp/*.tif'``) or the list the shell already expanded. Every problem of every
    flag is collected and raised at once, before anything is read.

    Raises
    ------
    InputFileError
        A pattern matches no file, a path does not exist, or a folder is given where a
        file is needed; the message names the flag and the pattern or path.
    """
    problems: list[str] = []
    out: dict[str, list[str]] = {}
    for name, items in values.items():
        flag = "--" + name.replace("_", "-")
        found: list[str] = []
        for text in items:
            if text.startswith("/vsi"):  # GDAL virtual file systems: GDAL checks them
                found.append(text)
                continue
            path = Path(text)
            if not path.exists() and any(ch in text for ch in _GLOB_CHARS):
                matches = sorted(glob(text))
                if not matches:
                    problems.append(f"{flag} '{text}' matches no file")
                found.extend(m for m in matches if Path(m).is_file() or PATH_FLAGS[name])
            elif not path.exists():
                problems.append(f"{flag} {text} does not exist")
            elif path.is_dir() and not PATH_FLAGS[name]:
                problems.append(f"{flag} {text} is a folder, not a file")
            else:
                found.append(text)
        # the same file twice (a path and a glob naming it) would only duplicate ids
        out[name] = list(dict.fromkeys(found))
    if problems:
        raise InputFileError(
            "; ".join(problems) + f" (relative paths are looked up in {Path.cwd()}). Check the "
            "paths; nothing was read or written."
        )
    return out


def file_labels(paths: Sequence[str]) -> list[str]:
    """Short distinct names of files: the path below their common folder, without suffix.

    >>> file_labels(["data/18/umkm.csv", "data/31/umkm.csv"])
    ['18/umkm', '31/umkm']
    >>> file_labels(["umkm_lampung.csv", "umkm_jakarta.csv"])
    ['umkm_lampung', 'umkm_jakarta']
    """
    absolute = [os.path.abspath(p) for p in paths]
    common = os.path.commonpath([os.path.dirname(p) for p in absolute])
    labels = []
    for p in absolute:
        rel = Path(os.path.relpath(p, common))
        labels.append(str(rel.with_name(rel.name.split(".")[0])))
    return labels


def read_several(
    paths: Sequence[str],
    reader: Callable[[str], Any],
    *,
    flag: str,
    tick: Callable[[], None] | None = None,
) -> Any:
    """Read each file with ``reader`` and stack the tables into one.

    Ids must stay unique: when two files share ids (row numbers, ``U000001`` ...), every
    id becomes ``<file label>:<id>`` (see :func:`file_labels`), which is logged. Files in
    another CRS than the first are reprojected to it (logged).
    """
    import pandas as pd

    import geopandas as gpd
    from pyproj import CRS

    frames = []
    for p in paths:
        frames.append(reader(p))
        if tick is not None:
            tick()
    if len(frames) == 1:
        return frames[0]
    crs = frames[0].crs
    for i, f in enumerate(frames[1:], start=1):
        if f.crs is not None and not CRS.from_user_input(f.crs).equals(crs):
            log.info("Reprojecting %s %s from %s to %s", flag, paths[i], f.crs, crs)
            frames[i] = f.to_crs(crs)
    index = pd.Index([]).append([f.index for f in frames])
    if index.has_duplicates:
        labels = file_labels(paths)
        log.info(
            "%s: the %d files share ids, so each id is prefixed with its file (%s:...)",
            flag,
            len(paths),
            labels[0],
        )
        frames = [
            f.set_axis(pd.Index(label + ":" + f.index.astype(str), name=f.index.name))
            for f, label in zip(frames, labels, strict=True)
        ]
    attrs = dict(frames[0].attrs)
    out = pd.concat(frames)
    if not isinstance(out, gpd.GeoDataFrame):  # pragma: no cover - concat keeps the type
        out = gpd.GeoDataFrame(out, geometry="geometry", crs=crs)
    out.attrs.update(attrs)
    return out


def _suffix(path: str) -> str:
    p = Path(path)
    return ("".join(p.suffixes[-2:]) if p.suffix.lower() == ".gz" else p.suffix).lower()


def coverage_from_paths(
    paths: Sequence[str],
    *,
    threshold_dbm: float,
    covered_values: Sequence[float] | None,
    stack: ExitStack,
    tick: Callable[[], None] | None = None,
) -> Any:
    """One coverage source from every ``--coverage`` file (covered where any covers).

    Rasters on one grid (same CRS, cell size, alignment, scale) become one mosaic; any
    other mix is combined with :func:`blankspot.coverage.union`. ``stack`` keeps the
    in-memory mosaic open while the run needs it.
    """
    from blankspot import coverage
    from blankspot.io import read_towers

    rasters, sources = [], []
    for p in paths:
        suffix = _suffix(p)
        if suffix in _SPREADSHEET_SUFFIXES:
            raise InputFileError(
                f"--coverage {p} is a spreadsheet: --coverage takes a signal raster (.tif), "
                "coverage polygons (.gpkg, .shp, .geojson) or an OpenCelliD tower CSV. A table "
                f"of businesses goes to --businesses {p}."
            )
        with _naming(p):
            if suffix in _RASTER_SUFFIXES or p.startswith("/vsi"):
                cv = tuple(covered_values) if covered_values else None
                rasters.append(
                    coverage.from_raster(p, threshold_dbm=threshold_dbm, covered_values=cv)
                )
            elif suffix in {".csv", ".csv.gz"}:
                sources.append(coverage.from_towers(read_towers(p)))
            else:
                sources.append(coverage.from_polygons(p))
        if tick is not None:
            tick()
    if len(rasters) > 1:
        mosaic = _mosaic(rasters, stack)
        rasters = [mosaic] if mosaic is not None else rasters
    sources = rasters + sources
    if not sources:
        raise InputError("No coverage given: pass --coverage PATH (a raster, polygons or towers).")
    return sources[0] if len(sources) == 1 else coverage.union(*sources)


@contextmanager
def _naming(path: str) -> Iterator[None]:
    """Put ``--coverage <file>:`` in front of a blankspot error that does not name the file."""
    try:
        yield
    except BlankspotError as exc:
        if path in str(exc):
            raise
        raise type(exc)(f"--coverage {path}: {exc}") from exc


def _same_grid(a: Any, b: Any) -> str | None:  # noqa: PLR0911 - one return per reason
    """Why rasters ``a`` and ``b`` cannot share one mosaic, or ``None`` when they can."""
    ta, tb = a.grid.transform, b.grid.transform
    if not a.crs.equals(b.crs):
        return "different CRSs"
    if ta.b or ta.d or tb.b or tb.d:
        return "a rotated grid"
    if not (math.isclose(ta.a, tb.a, rel_tol=1e-9) and math.isclose(ta.e, tb.e, rel_tol=1e-9)):
        return "different cell sizes"
    off_x, off_y = (tb.c - ta.c) / ta.a, (tb.f - ta.f) / ta.e
    if abs(off_x - round(off_x)) > 1e-6 or abs(off_y - round(off_y)) > 1e-6:
        return "grids not aligned"
    if (a.grid.scale, a.grid.offset) != (b.grid.scale, b.grid.offset):
        return "different scale/offset"
    if a.covered_values is not None:
        # classes have no order: a mosaic takes them as they are only where rasters do not
        # overlap (a class raster's "strongest" value means nothing)
        (l1, b1, r1, t1), (l2, b2, r2, t2) = _bounds(a), _bounds(b)
        if l1 < r2 and l2 < r1 and b1 < t2 and b2 < t1:
            return "class rasters that overlap"
    return None


def _bounds(r: Any) -> tuple[float, float, float, float]:
    t, g = r.grid.transform, r.grid
    return (t.c, t.f + t.e * g.height, t.c + t.a * g.width, t.f)


def _mosaic(rasters: list[Any], stack: ExitStack) -> Any:
    """One raster source over ``rasters`` (a VRT in memory), or ``None`` when they differ.

    Signal rasters overlap as the *strongest* signal (GDAL's ``max`` pixel function, no data
    ignored): the same answer as :func:`blankspot.coverage.union` at every pixel, read
    window by window from the province files.
    """
    import numpy as np

    import rasterio
    from rasterio.dtypes import dtype_rev, typename_fwd
    from rasterio.io import MemoryFile

    from blankspot import coverage

    first = rasters[0]
    for r in rasters[1:]:
        why = _same_grid(first, r)
        if why is not None:
            log.info(
                "Coverage rasters %s and %s: %s, so they are combined as a union on the finest "
                "grid instead of one mosaic",
                first.description,
                r.description,
                why,
            )
            return None
    t = first.grid.transform
    res_x, res_y = t.a, t.e
    left = min(_bounds(r)[0] for r in rasters)
    right = max(_bounds(r)[2] for r in rasters)
    top = max(_bounds(r)[3] for r in rasters)
    bottom = min(_bounds(r)[1] for r in rasters)
    width, height = round((right - left) / res_x), round((bottom - top) / res_y)
    dtypes = []
    for r in rasters:
        with rasterio.open(r.path) as ds:
            dtypes.append(np.dtype(ds.dtypes[r.band - 1]))
    dtype = np.result_type(*dtypes)
    nodata = next((r.grid.nodata for r in rasters if r.grid.nodata is not None), None)
    if nodata is None:  # pixels no raster covers must read as no data, never as 0 dBm
        nodata = float("nan") if dtype.kind == "f" else float(np.iinfo(dtype).min)
    sources = []
    for r in rasters:
        rt = r.grid.transform
        xo, yo = round((rt.c - left) / res_x), round((rt.f - top) / res_y)
        nd = "" if r.grid.nodata is None else f"<NODATA>{r.grid.nodata!r}</NODATA>"
        sources.append(
            f'<ComplexSource><SourceFilename relativeToVRT="0">{escape(r.path)}'
            f"</SourceFilename><SourceBand>{r.band}</SourceBand>"
            f'<SrcRect xOff="0" yOff="0" xSize="{r.grid.width}" ySize="{r.grid.height}"/>'
            f'<DstRect xOff="{xo}" yOff="{yo}" xSize="{r.grid.width}" ySize="{r.grid.height}"/>'
            f"{nd}</ComplexSource>"
        )
    pixel_fn = (
        "<PixelFunctionType>max</PixelFunctionType>"
        '<PixelFunctionArguments propagateNoData="false"/>'
        if first.covered_values is None
        else ""
    )
    derived = ' subClass="VRTDerivedRasterBand"' if pixel_fn else ""
    scale = (
        f"<Offset>{first.grid.offset!r}</Offset><Scale>{first.grid.scale!r}</Scale>"
        if (first.grid.scale, first.grid.offset) != (1.0, 0.0)
        else ""
    )
    xml = (
        f'<VRTDataset rasterXSize="{width}" rasterYSize="{height}">'
        f"<SRS>{escape(first.crs.to_wkt())}</SRS>"
        f"<GeoTransform>{left!r},{res_x!r},0,{top!r},0,{res_y!r}</GeoTransform>"
        f'<VRTRasterBand dataType="{typename_fwd[dtype_rev[dtype.name]]}" band="1"'
        f"{derived}><NoDataValue>{nodata!r}</NoDataValue>{scale}{pixel_fn}"
        + "".join(sources)
        + "</VRTRasterBand></VRTDataset>"
    )
    mem = stack.enter_context(MemoryFile(xml.encode(), ext=".vrt"))
    cv = first.covered_values
    mosaic = coverage.from_raster(
        mem.name,
        threshold_dbm=first.threshold_dbm if cv is None else -110,
        covered_values=cv,
    )
    names = ", ".join(Path(r.path).name for r in rasters[:3]) + (
        f", ... ({len(rasters)} in all)" if len(rasters) > 3 else ""
    )
    what = (
        f"{len(rasters)} rasters ({names}) >= {first.threshold_dbm:g} dBm, strongest where "
        "they overlap"
        if cv is None
        else f"{len(rasters)} class rasters ({names}) in {list(cv)}"
    )
    log.info("Coverage: one mosaic of %s, %d x %d pixels", what, width, height)
    return replace(mosaic, description=what, notes=tuple(n for r in rasters for n in r.notes))
