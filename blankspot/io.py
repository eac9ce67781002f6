"""Readers for the three inputs: villages, businesses (UMKM) and cell towers.

Every reader returns a GeoDataFrame that follows the "Tables" contract of
``docs/architecture.md``: ids as ``str`` in the index, a CRS, and nothing silently lost.
Rows whose coordinates cannot be used are kept with ``geometry = None`` and a human
``rejected_reason``; :func:`rejected_rows` lists them.
"""

from __future__ import annotations

import io
import logging
import os
import re
import zipfile
from collections.abc import Iterable, Mapping
from glob import glob
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

import geopandas as gpd
import shapely
from pyproj import CRS

from blankspot._errors import (
    CRSError,
    EmptyInputError,
    InputError,
    InputFileError,
)
from blankspot._numbers import (
    _coordinate_reasons,
    _log_rejected,
    _parse_quantities,
    _points,
)
from blankspot._tables import SUPPORTED_TABLE_FORMATS, _decode, _read_csv, _sniff_delimiter
from blankspot._towers import (  # noqa: F401 - the tower tables stay importable from io
    MNC_OPERATORS_510,
    OPENCELLID_COLUMNS,
    RADIOS,
    read_towers,
)
from blankspot._util import (
    SUPPORTED_VECTOR_FORMATS,
    check_not_empty_file,
    file_suffix,
    read_vector,
    some,
)
from blankspot._validate import check_options, require_crs, warn_user

__all__ = [
    "attach_parent_names",
    "read_businesses",
    "read_towers",
    "read_villages",
    "rejected_rows",
]

log = logging.getLogger("blankspot")

# Column names recognised without being told, lower-case, in order of preference.
# `kode`/`nama`: Kemendagri wilayah files; KDEPUM/KDEBPS/WADM*: BIG's village layer;
# IDDESA/NMDESA/NMKEC/NMKAB: BPS's village boundary files.
VILLAGE_ID_COLUMNS = (
    "village_id",
    "kdepum",
    "kode",
    "kode_desa",
    "kd_desa",
    "iddesa",
    "kdebps",
    "id",
)
VILLAGE_NAME_COLUMNS = ("name", "nama", "nama_desa", "wadmkd", "nmdesa", "namobj", "desa")
KECAMATAN_COLUMNS = ("kecamatan", "wadmkc", "nmkec", "nama_kec")
KABUPATEN_COLUMNS = ("kabupaten", "wadmkk", "nmkab", "nama_kab")
# Columns holding Kemendagri dotted codes, whose float damage ("18.10" -> 18.1) we can undo.
_KEMENDAGRI_CODE_COLUMNS = ("kode", "kdepum", "kode_desa", "kd_desa")

LON_COLUMNS = ("lon", "lng", "long", "longitude", "bujur", "x")
LAT_COLUMNS = ("lat", "latitude", "lintang", "y")
BUSINESS_ID_COLUMNS = ("business_id", "id_umkm", "id")

_KEMENDAGRI_VILLAGE = r"^((\d{2}\.\d{2})\.\d{2})\.\d{4}$"
_GLOB_CHARS = re.compile(r"[*?\[]")


# --------------------------------------------------------------------------------------
# small helpers
# --------------------------------------------------------------------------------------


def _warn(message: str) -> None:
    warn_user(message)


def _find_column(columns: Iterable[Any], candidates: Iterable[str]) -> str | None:
    """First of ``candidates`` (lower case) present in ``columns``, matched case-insensitively."""
    lower: dict[str, Any] = {}
    for c in columns:
        lower.setdefault(str(c).strip().lower(), c)
    for cand in candidates:
        if cand in lower:
            return lower[cand]
    return None


def _require_column(columns: pd.Index, name: str, *, option: str, origin: str) -> Any:
    """Return the column called ``name`` (exact, else the single case-insensitive match)."""
    if name in columns:
        return name
    matches = [c for c in columns if str(c).strip().lower() == str(name).strip().lower()]
    if len(matches) == 1:
        return matches[0]
    raise InputError(
        f"{option}={name!r} is not a column of {origin}. Available columns: "
        f"{', '.join(map(str, columns))}. Pass one of these as {option}=."
    )


def _resolve_paths(source: Any, *, what: str) -> list[Path]:
    """Expand a path, a glob pattern or a list of either into existing files, sorted per item."""
    if isinstance(source, str | os.PathLike):
        items = [source]
    elif isinstance(source, list | tuple):
        items = list(source)
    else:
        raise InputError(
            f"{what} source should be a path, a glob pattern or a list of paths, got "
            f"{type(source).__name__} {source!r}."
        )
    if not items:
        raise EmptyInputError(f"No {what} file given: the list of paths is empty.")
    out: list[Path] = []
    for item in items:
        if not isinstance(item, str | os.PathLike):
            raise InputError(
                f"{what} source should be a path, a glob pattern or a list of paths; "
                f"got an item of type {type(item).__name__}."
            )
        text = os.fspath(item)
        path = Path(text)
        if not path.exists() and _GLOB_CHARS.search(text):
            matches = sorted(glob(text))
            if not matches:
                raise InputFileError(
                    f"No {what} file matches the pattern '{text}'. Check the folder and the "
                    "pattern (for example '.../wilayah_boundaries_kel_18.*.geojson')."
                )
            out.extend(Path(m) for m in matches)
        elif not path.exists():
            raise InputFileError(f"{what} file '{text}' does not exist. Check the path.")
        else:
            out.append(path)
    # the same file twice would only produce duplicate ids
    return list(dict.fromkeys(out))


def _ids_to_str(
    values: pd.Series, *, column: str, origin: str, kemendagri: bool = False
) -> pd.Series:
    """Ids as stripped ``str``, refusing float codes whose trailing zeros are gone.

    A code stored as a number (``18.10`` -> ``18.1``) cannot be told apart from another
    code by its text alone. Integral floats (``1871011003.0``) are exact and converted;
    Kemendagri kabupaten codes ``PP.KK`` can be rebuilt with two decimals (documented
    assumption, warned); anything else is an :class:`InputError`.
    """
    if pd.api.types.is_bool_dtype(values.dtype):
        raise InputError(f"Id column {column!r} of {origin} holds booleans, not ids.")
    if pd.api.types.is_integer_dtype(values.dtype):
        return values.astype("str")
    if pd.api.types.is_float_dtype(values.dtype):
        v = values.to_numpy(dtype="float64", na_value=np.nan)
        finite = np.isfinite(v)
        if finite.all() and np.all(v == np.round(v)):
            log.info("Id column %r of %s is stored as numbers; read as integers.", column, origin)
            return pd.Series(v.astype("int64"), index=values.index).astype("str")
        cents = np.round(v * 100)
        looks_kab = (
            finite.all()
            and np.all(np.abs(v * 100 - cents) < 1e-6)
            and np.all((cents >= 1101) & (cents <= 9999) & (cents % 100 != 0))
        )
        example = v[finite & (np.round(v * 100) % 10 == 0)]
        damaged = f"{float(example[0])!r}" if len(example) else f"{float(v[0])!r}"
        if kemendagri and looks_kab:
            c = cents.astype("int64")
            prov = pd.Series(c // 100, index=values.index).astype("str").str.zfill(2)
            kab = pd.Series(c % 100, index=values.index).astype("str").str.zfill(2)
            rebuilt = prov + "." + kab
            _warn(
                f"Codes in column {column!r} of {origin} are stored as numbers, so trailing "
                f"zeros are lost ({damaged} for a code such as 18.10). They all look like "
                "Kemendagri kabupaten codes PP.KK, so they were rebuilt with two decimals "
                "(18.1 -> 18.10). Store codes as text (quoted in GeoJSON) to avoid this."
            )
            return rebuilt
        raise InputError(
            f"Id column {column!r} of {origin} is stored as numbers ({damaged}, ...), so codes "
            "such as '18.10' have lost their trailing zero and cannot be recovered. Store the "
            "codes as text (quoted in GeoJSON, a text field in the Shapefile/GeoPackage) or "
            "pass id_col= naming a text column."
        )
    out = values.astype("str")
    return out.str.strip()


# --------------------------------------------------------------------------------------
# villages
# --------------------------------------------------------------------------------------


def _normalise_villages(
    gdf: gpd.GeoDataFrame,
    *,
    origin: str,
    id_col: str | None,
    name_col: str | None,
) -> gpd.GeoDataFrame:
    """Map one file's schema onto the village contract (geometry checks come later)."""
    geom_name = gdf.geometry.name
    columns = gdf.columns.drop(geom_name)
    used: list[Any] = []
    if id_col is not None:
        col = _require_column(columns, id_col, option="id_col", origin=origin)
        raw_ids, id_name = gdf[col], str(col)
        used.append(col)
    elif gdf.index.name == "village_id":
        raw_ids, id_name = gdf.index.to_series(index=gdf.index), "village_id"
    else:
        col = _find_column(columns, VILLAGE_ID_COLUMNS)
        if col is None:
            raise InputError(
                f"Cannot find a village id column in {origin}. Looked for "
                f"{', '.join(VILLAGE_ID_COLUMNS)} (any case); available columns: "
                f"{', '.join(map(str, columns))}. Pass id_col='...'."
            )
        raw_ids, id_name = gdf[col], str(col)
        used.append(col)
    nulls = raw_ids.isna().to_numpy()
    if nulls.any():
        raise InputError(
            f"{int(nulls.sum())} villages in {origin} have no id in column {id_name!r} (rows "
            f"{some(np.flatnonzero(nulls))}). Fill them or pass id_col= naming another column."
        )
    kemendagri = id_name.strip().lower() in _KEMENDAGRI_CODE_COLUMNS
    ids = _ids_to_str(raw_ids, column=id_name, origin=origin, kemendagri=kemendagri)
    blank = (ids == "").to_numpy()
    if blank.any():
        raise InputError(
            f"{int(blank.sum())} villages in {origin} have an empty id in column {id_name!r} "
            f"(rows {some(np.flatnonzero(blank))}). Fill them or pass id_col=."
        )

    if name_col is not None:
        ncol = _require_column(columns, name_col, option="name_col", origin=origin)
    else:
        ncol = _find_column([c for c in columns if c not in used], VILLAGE_NAME_COLUMNS)
        if ncol is None:
            log.warning(
                "No village name column found in %s (looked for %s); 'name' is left missing. "
                "Pass name_col='...' to set it.",
                origin,
                ", ".join(VILLAGE_NAME_COLUMNS),
            )
    mapped = {"name": ncol}
    used.append(ncol)
    for out_name, candidates in (
        ("kecamatan", KECAMATAN_COLUMNS),
        ("kabupaten", KABUPATEN_COLUMNS),
    ):
        col = _find_column([c for c in columns if c not in used], candidates)
        mapped[out_name] = col
        used.append(col)

    n = len(gdf)
    data: dict[str, Any] = {}
    for out_name, col in mapped.items():
        if col is None:
            data[out_name] = pd.Series(np.full(n, np.nan), dtype="str")
        else:
            data[out_name] = gdf[col].reset_index(drop=True).astype("str")
    parents = ids.reset_index(drop=True).str.extract(_KEMENDAGRI_VILLAGE)
    data["kecamatan_code"] = parents[0].astype("str")
    data["kabupaten_code"] = parents[1].astype("str")
    derived = set(data)
    for c in columns:
        if c not in used and c not in derived:
            data[c] = gdf[c].reset_index(drop=True)
    out = gpd.GeoDataFrame(data, geometry=gdf.geometry.reset_index(drop=True).array, crs=gdf.crs)
    out.index = pd.Index(ids.to_numpy(), dtype="str", name="village_id")
    return out


def _check_village_geometries(gdf: gpd.GeoDataFrame, origins: np.ndarray) -> gpd.GeoDataFrame:
    """Null/empty/non-polygon -> InputError; invalid -> repaired with make_valid, logged."""
    geoms = gdf.geometry.array
    ids = gdf.index.to_numpy()

    def where(mask: np.ndarray) -> str:
        files = sorted(set(origins[mask]))
        return f" (in {', '.join(files)})"

    missing = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    if missing.any():
        raise InputError(
            f"{int(missing.sum())} villages have an empty or missing geometry: "
            f"{some(ids[missing])}{where(missing)}. Drop them or fix the polygons before "
            "reading."
        )
    type_ids = shapely.get_type_id(geoms)
    polygonal = (type_ids == 3) | (type_ids == 6)
    if not polygonal.all():
        types = sorted(set(shapely.get_type_id(geoms[~polygonal]).tolist()))
        names = {0: "Point", 1: "LineString", 2: "LinearRing", 4: "MultiPoint"}
        names |= {5: "MultiLineString", 7: "GeometryCollection"}
        raise InputError(
            f"Villages must be Polygon or MultiPolygon; {int((~polygonal).sum())} are not "
            f"({', '.join(names.get(t, str(t)) for t in types)}): {some(ids[~polygonal])}"
            f"{where(~polygonal)}. Read the village boundary (area) layer, not points or lines."
        )
    invalid = ~shapely.is_valid(geoms)
    if invalid.any():
        # "structure" + keep_collapsed=False returns polygonal parts only (never lines)
        repaired = shapely.make_valid(geoms[invalid], method="structure", keep_collapsed=False)
        gone = shapely.is_empty(repaired)
        if gone.any():
            bad = ids[invalid][gone]
            raise InputError(
                f"{int(gone.sum())} village polygons have no area left after repair (they are "
                f"collapsed to lines or points): {some(bad)}. Fix or drop them."
            )
        log.warning(
            "Repaired %d invalid village polygons with shapely.make_valid: %s",
            int(invalid.sum()),
            some(ids[invalid]),
        )
        new = np.asarray(geoms, dtype=object).copy()
        new[invalid] = repaired
        gdf = gdf.set_geometry(gpd.GeoSeries(new, index=gdf.index, crs=gdf.crs))
    return gdf


@check_options
def read_villages(
    source: Any,
    *,
    id_col: str | None = None,
    name_col: str | None = None,
) -> gpd.GeoDataFrame:
    """Read village (desa/kelurahan) boundaries into the blankspot village table.

    Parameters
    ----------
    source
        A path, a glob pattern (``".../wilayah_boundaries_kel_18.*.geojson"``), a list of
        paths/patterns, or an already-loaded GeoDataFrame. Any vector format pyogrio reads
        (GeoJSON, GeoPackage, Shapefile, FlatGeobuf, ...) and GeoParquet (``.parquet``).
        Several files are concatenated; files in another CRS than the first are reprojected
        to it (logged).
    id_col
        Column holding the village id. By default the first of ``village_id``, ``KDEPUM``,
        ``kode``, ``kode_desa``, ``kd_desa``, ``IDDESA``, ``KDEBPS``, ``id`` (any case); for
        a GeoDataFrame, an index named ``village_id`` is used first.
    name_col
        Column holding the village name. By default the first of ``name``, ``nama``,
        ``nama_desa``, ``WADMKD``, ``NMDESA``, ``NAMOBJ``, ``desa`` (any case).

    Returns
    -------
    GeoDataFrame
        Index ``village_id`` (``str``). Columns ``name``, ``kecamatan`` and ``kabupaten``
        (``str``, missing when the source has no such column; ``kecamatan`` from
        ``kecamatan``/``WADMKC``/``NMKEC``, ``kabupaten`` from ``kabupaten``/``WADMKK``/
        ``NMKAB``), ``kecamatan_code`` and ``kabupaten_code`` (parents of a dotted
        Kemendagri village code, ``18.71.01.1003`` -> ``18.71.01`` and ``18.71``; missing
        for other ids), then the source's other columns, then ``geometry`` (valid Polygon or
        MultiPolygon). CRS as read.

    Raises
    ------
    InputFileError
        A file is missing, a pattern matches nothing, or a file cannot be read.
    EmptyInputError
        A file (or the GeoDataFrame) has no rows.
    CRSError
        A file has no CRS.
    InputError
        No id column, null or duplicate ids, ids stored as non-integral numbers, empty,
        null or non-polygonal geometries, or a named column that does not exist.

    See Also
    --------
    attach_parent_names : fill ``kecamatan``/``kabupaten`` from the kec/kab files.

    Notes
    -----
    Ids are always text. A code stored as a number loses trailing zeros (Pringsewu's
    ``18.10`` becomes ``18.1`` in the JSON text itself), so such ids are refused, except
    Kemendagri kabupaten codes ``PP.KK`` in a ``kode``/``KDEPUM`` column, which are rebuilt
    with two decimals and reported with a :class:`~blankspot.BlankspotWarning`. Integral
    numbers (BPS codes such as ``1871011003``) are exact and simply converted.
    Invalid polygons are repaired with ``shapely.make_valid(method="structure")``, which
    keeps polygonal parts only; the repaired ids are logged.

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely.geometry import box
    >>> raw = gpd.GeoDataFrame(
    ...     {"kode": ["18.10.01.1001"], "nama": ["Fajaresuk"]},
    ...     geometry=[box(104.95, -5.36, 104.96, -5.35)],
    ...     crs="EPSG:4326",
    ... )
    >>> v = read_villages(raw)
    >>> v.index.tolist()
    ['18.10.01.1001']
    >>> v[["name", "kecamatan_code", "kabupaten_code"]].iloc[0].tolist()
    ['Fajaresuk', '18.10.01', '18.10']
    """
    frames: list[gpd.GeoDataFrame] = []
    origins: list[str] = []
    if isinstance(source, gpd.GeoDataFrame):
        if source.crs is None:
            require_crs(None, what="The villages GeoDataFrame")
        if len(source) == 0:
            raise EmptyInputError("The villages GeoDataFrame has no rows.")
        frames.append(
            _normalise_villages(
                source, origin="the villages GeoDataFrame", id_col=id_col, name_col=name_col
            )
        )
        origins.append("the villages GeoDataFrame")
    elif isinstance(source, pd.DataFrame):
        raise InputError(
            "read_villages needs polygons: got a DataFrame without geometry. Pass a "
            "GeoDataFrame or a path to a vector file."
        )
    else:
        for path in _resolve_paths(source, what="villages"):
            origin = f"'{path}'"
            raw = read_vector(path, what="villages")
            if len(raw) == 0:
                raise EmptyInputError(f"villages file {origin} has no features.")
            if raw.crs is None:
                require_crs(None, what=f"villages file {origin}")
            frames.append(_normalise_villages(raw, origin=origin, id_col=id_col, name_col=name_col))
            origins.append(origin)

    crs = frames[0].crs
    for i, f in enumerate(frames[1:], start=1):
        if not CRS.from_user_input(f.crs).equals(CRS.from_user_input(crs)):
            log.info("Reprojecting villages of %s from %s to %s", origins[i], f.crs, crs)
            frames[i] = f.to_crs(crs)
    origin_of_row = np.repeat(np.array(origins, dtype=object), [len(f) for f in frames])
    out = frames[0] if len(frames) == 1 else pd.concat(frames)
    if not isinstance(out, gpd.GeoDataFrame):  # pragma: no cover - concat keeps the type
        out = gpd.GeoDataFrame(out, geometry="geometry", crs=crs)

    dup = out.index.duplicated(keep=False)
    if dup.any():
        dup_ids = pd.unique(out.index[dup].to_numpy())
        files = sorted(set(origin_of_row[dup]))
        raise InputError(
            f"Village ids must be unique; {len(dup_ids)} ids appear more than once: "
            f"{some(dup_ids)} (in {', '.join(files)}). Drop the duplicates, or pass "
            "id_col= naming a unique column."
        )
    out = _check_village_geometries(out, origin_of_row)
    # order: contract columns, source columns, geometry last
    geom = out.geometry.name
    cols = [c for c in out.columns if c != geom] + [geom]
    out = out[cols]
    out.index.name = "village_id"
    log.info("Read %d villages from %d source(s)", len(out), len(frames))
    return out


def _code_to_name(table: Any, *, what: str) -> pd.Series:
    if isinstance(table, pd.Series):
        s = table
    elif isinstance(table, Mapping):
        s = pd.Series(dict(table))
    else:
        vil = read_villages(table)
        s = vil["name"]
    s = s.copy()
    s.index = s.index.astype("str").str.strip()
    if s.index.has_duplicates:
        raise InputError(
            f"{what} codes must be unique; repeated: "
            f"{some(pd.unique(s.index[s.index.duplicated()]))}."
        )
    return s.astype("str")


@check_options
def attach_parent_names(
    villages: gpd.GeoDataFrame,
    *,
    kecamatan: Any = None,
    kabupaten: Any = None,
) -> gpd.GeoDataFrame:
    """Fill ``kecamatan``/``kabupaten`` names by joining on the derived parent codes.

    Parameters
    ----------
    villages
        Output of :func:`read_villages` (with ``kecamatan_code``/``kabupaten_code``).
    kecamatan, kabupaten
        Names per code: a Series or mapping ``code -> name``, or anything
        :func:`read_villages` reads (``wilayah_boundaries_kec_18.geojson``), whose
        index/``name`` are used.

    Returns
    -------
    GeoDataFrame
        A copy of ``villages`` whose ``kecamatan``/``kabupaten`` hold the joined names
        where the code is found (other rows keep their value). Unmatched codes are logged.

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely.geometry import box
    >>> v = read_villages(gpd.GeoDataFrame(
    ...     {"kode": ["18.71.01.1003"], "nama": ["Kupang Kota"]},
    ...     geometry=[box(0, 0, 1, 1)], crs="EPSG:4326"))
    >>> out = attach_parent_names(v, kecamatan={"18.71.01": "Teluk Betung Utara"},
    ...                           kabupaten={"18.71": "Kota Bandar Lampung"})
    >>> out[["kecamatan", "kabupaten"]].iloc[0].tolist()
    ['Teluk Betung Utara', 'Kota Bandar Lampung']
    """
    for col in ("kecamatan_code", "kabupaten_code"):
        if col not in villages.columns:
            raise InputError(f"villages has no {col!r} column; read it with read_villages() first.")
    out = villages.copy()
    for col, table in (("kecamatan", kecamatan), ("kabupaten", kabupaten)):
        if table is None:
            continue
        names = _code_to_name(table, what=col)
        codes = out[f"{col}_code"]
        joined = codes.map(names)
        unmatched = codes.notna() & joined.isna()
        if unmatched.any():
            log.warning(
                "%d villages have a %s code with no name: %s",
                int(unmatched.sum()),
                col,
                some(pd.unique(codes[unmatched])),
            )
        current = out[col] if col in out.columns else pd.Series(np.nan, index=out.index)
        out[col] = joined.where(joined.notna(), current).astype("str")
    return out


# --------------------------------------------------------------------------------------
# rejected rows (of businesses and towers)
# --------------------------------------------------------------------------------------


@check_options
def rejected_rows(gdf: pd.DataFrame) -> pd.DataFrame:
    """Return the rejected rows of :func:`read_businesses` or :func:`read_towers` output.

    Parameters
    ----------
    gdf
        A table with a ``rejected_reason`` column.

    Returns
    -------
    DataFrame
        The rows with a reason (same index), without geometry, ``rejected_reason`` renamed
        to ``reason``. Empty (same columns) when nothing was rejected.

    Examples
    --------
    >>> import pandas as pd
    >>> b = read_businesses(pd.DataFrame({"lat": ["-5.4", "abc"], "lon": ["105.2", "105.3"]}))
    >>> rejected_rows(b)["reason"].to_dict()
    {'1': "latitude is not a number: 'abc'"}
    """
    if "rejected_reason" not in gdf.columns:
        raise InputError(
            "The table has no 'rejected_reason' column; pass the output of read_businesses() "
            "or read_towers()."
        )
    mask = gdf["rejected_reason"].notna().to_numpy()
    out = gdf.loc[mask]
    if isinstance(out, gpd.GeoDataFrame):
        out = pd.DataFrame(out.drop(columns=out.geometry.name))
    return out.rename(columns={"rejected_reason": "reason"})


# --------------------------------------------------------------------------------------
# businesses
# --------------------------------------------------------------------------------------


def _load_business_source(  # noqa: PLR0911 - one return per format
    source: Any, text_columns: Any
) -> tuple[pd.DataFrame, str, bool]:
    """``(frame, origin, is_vector)``."""
    if isinstance(source, gpd.GeoDataFrame):
        return source, "the businesses GeoDataFrame", True
    if isinstance(source, pd.DataFrame):
        return source, "the businesses DataFrame", False
    if hasattr(source, "read"):
        content = source.read()
        if isinstance(content, bytes):
            content = _decode(content, origin="The businesses text buffer")
        if not content.strip():
            raise EmptyInputError("The businesses text buffer is empty.")
        sep = _sniff_delimiter(content.split("\n", 1)[0])
        header = pd.read_csv(io.StringIO(content), sep=sep, nrows=0)
        dtype = dict.fromkeys(text_columns(header.columns), "str")
        return pd.read_csv(io.StringIO(content), sep=sep, dtype=dtype), "the text buffer", False
    if not isinstance(source, str | os.PathLike):
        raise InputError(
            "businesses should be a path, a DataFrame or a GeoDataFrame; got "
            f"{type(source).__name__}."
        )
    path = Path(source)
    if not path.exists():
        raise InputFileError(f"businesses file '{path}' does not exist. Check the path.")
    if path.is_dir():
        raise InputFileError(
            f"businesses '{path}' is a folder, not a file. Give the CSV, Excel, Parquet or "
            "vector file of business locations inside it."
        )
    origin = f"'{path}'"
    suffix = file_suffix(path)
    if suffix in (".csv", ".csv.gz", ".txt", ".txt.gz", ".tsv", ".tsv.gz"):
        return _read_csv(path, what="businesses", text_columns=text_columns), origin, False
    if suffix in (".xlsx", ".xlsm", ".xls"):
        check_not_empty_file(path, what="businesses")
        try:
            # pandas turns text cells like "007" into numbers unless told otherwise
            header = pd.read_excel(path, nrows=0)
            dtype = dict.fromkeys(text_columns(header.columns), "str")
            return pd.read_excel(path, dtype=dtype), origin, False
        except ImportError as exc:
            raise InputFileError(
                f"Reading {origin} needs an Excel engine that is not installed ({exc}). "
                "Save the sheet as .xlsx or .csv, or install xlrd for .xls."
            ) from exc
        except (ValueError, OSError, KeyError, zipfile.BadZipFile, EOFError) as exc:
            raise InputFileError(
                f"Cannot read businesses file {origin} as Excel (truncated, damaged or not a "
                f"workbook: {type(exc).__name__}: {exc}). Save or download it again, or export "
                "the sheet as CSV. Supported formats: "
                f"{SUPPORTED_TABLE_FORMATS}."
            ) from exc
    if suffix in (".parquet", ".geoparquet"):
        try:
            return gpd.read_parquet(path), origin, True
        except ValueError:
            # a plain Parquet table (no geo metadata) with lon/lat columns
            try:
                return pd.read_parquet(path), origin, False
            except Exception as exc:
                raise InputFileError(f"Cannot read businesses file {origin}: {exc}") from exc
        except Exception as exc:
            raise InputFileError(f"Cannot read businesses file {origin}: {exc}") from exc
    try:
        return read_vector(path, what="businesses"), origin, True
    except InputFileError as exc:
        raise InputFileError(
            f"Cannot read businesses file {origin}. Supported formats: "
            f"{SUPPORTED_TABLE_FORMATS}, or points in {SUPPORTED_VECTOR_FORMATS}. ({exc})"
        ) from exc


def _detect_lonlat(
    columns: pd.Index, lon_col: str | None, lat_col: str | None, origin: str
) -> tuple[Any, Any]:
    lower = [str(c).strip().lower() for c in columns]
    found = {}
    for axis, given, cands, option in (
        ("longitude", lon_col, LON_COLUMNS, "lon_col"),
        ("latitude", lat_col, LAT_COLUMNS, "lat_col"),
    ):
        if given is not None:
            found[axis] = _require_column(columns, given, option=option, origin=origin)
            continue
        hits = [c for c, low in zip(columns, lower, strict=True) if low in cands]
        if len(hits) != 1:
            problem = (
                f"several possible {axis} columns ({', '.join(map(str, hits))})"
                if hits
                else f"no {axis} column (looked for {', '.join(cands)}, any case)"
            )
            raise InputError(
                f"{origin} has {problem}. Columns: {', '.join(map(str, columns))}. "
                f"Pass {option}='...' (and {'lat_col' if option == 'lon_col' else 'lon_col'}=)."
            )
        found[axis] = hits[0]
    return found["longitude"], found["latitude"]


def _business_index(frame: pd.DataFrame, id_col: str | None, origin: str) -> tuple[pd.Index, Any]:
    """Build the ``business_id`` index; also return the column it came from (or None)."""
    n = len(frame)
    if id_col is not None:
        col = _require_column(frame.columns, id_col, option="id_col", origin=origin)
        values = frame[col]
        nulls = values.isna().to_numpy()
        if nulls.any():
            raise InputError(
                f"id_col={id_col!r} of {origin} is empty on {int(nulls.sum())} rows (row "
                f"numbers {some(np.flatnonzero(nulls))}). Fill them or leave id_col=None to "
                "number the rows."
            )
        ids = _ids_to_str(values, column=str(col), origin=origin)
        dup = ids.duplicated(keep=False).to_numpy()
        if dup.any():
            raise InputError(
                f"id_col={id_col!r} of {origin} must be unique; repeated ids: "
                f"{some(pd.unique(ids[dup]))}. Fix them or leave id_col=None to number rows."
            )
        return pd.Index(ids.to_numpy(), dtype="str", name="business_id"), col
    if frame.index.name == "business_id":
        return pd.Index(frame.index.astype("str"), dtype="str", name="business_id"), None
    col = _find_column(frame.columns, BUSINESS_ID_COLUMNS)
    if col is not None:
        values = frame[col]
        if values.notna().all():
            ids = _ids_to_str(values, column=str(col), origin=origin)
            if not ids.duplicated().any() and not (ids == "").any():
                log.info("Using column %r of %s as the business id", col, origin)
                return pd.Index(ids.to_numpy(), dtype="str", name="business_id"), col
        log.info(
            "Column %r of %s is not a unique, complete id; numbering the rows instead", col, origin
        )
    return pd.Index(np.arange(n).astype(str), dtype="str", name="business_id"), None


def _business_weights(
    frame: pd.DataFrame, weight_col: str, origin: str, index: pd.Index
) -> np.ndarray:
    col = _require_column(frame.columns, weight_col, option="weight_col", origin=origin)
    v, missing, bad, text = _parse_quantities(
        frame[col], what=f"weight_col={weight_col!r} of {origin}"
    )
    with np.errstate(invalid="ignore"):
        negative = v < 0
    wrong = missing | bad | negative
    if wrong.any():
        ids = index.to_numpy()[wrong]
        wrong_text = text[wrong].astype("str").to_numpy()[:10]
        shown = [f"{i}: {t!r}" for i, t in zip(ids[:10], wrong_text, strict=True)]
        raise InputError(
            f"weight_col={weight_col!r} of {origin} must be a non-negative number on every row; "
            f"{int(wrong.sum())} rows are missing, not a number or negative (business_id: "
            f"value) {', '.join(shown)}{' ...' if wrong.sum() > 10 else ''}. Fill or map them "
            "first, e.g. df[col].fillna(1)."
        )
    return v


@check_options
def read_businesses(
    source: Any,
    *,
    lon_col: str | None = None,
    lat_col: str | None = None,
    crs: Any = None,
    id_col: str | None = None,
    weight_col: str | None = None,
    villages: gpd.GeoDataFrame | None = None,
    desa_col: str | None = None,
    kecamatan_col: str | None = None,
    kabupaten_col: str | None = None,
) -> gpd.GeoDataFrame:
    """Read business (UMKM) locations, keeping every row and saying why any is unusable.

    A register without coordinates that names each business's desa/kelurahan (and
    kecamatan, kabupaten) is read with ``desa_col=`` and ``villages=``: the names are
    matched to village ids with :func:`blankspot.match_villages`.

    Parameters
    ----------
    source
        A CSV (``.csv``, ``.csv.gz``, ``.txt``, ``.tsv``; delimiter ``,`` ``;`` or tab,
        sniffed from the header line; UTF-8 or latin-1), an Excel sheet (``.xlsx``,
        ``.xls``; the first sheet), a Parquet table, a vector file of points (GeoJSON,
        GeoPackage, Shapefile, GeoParquet, ...), a text buffer, a DataFrame or a
        GeoDataFrame.
    lon_col, lat_col
        Coordinate columns. By default detected case-insensitively: longitude from ``lon``,
        ``lng``, ``long``, ``longitude``, ``bujur``, ``x``; latitude from ``lat``,
        ``latitude``, ``lintang``, ``y``. For a vector file/GeoDataFrame the point geometry
        is used unless these are given.
    crs
        CRS of the coordinate columns; default EPSG:4326 (longitude/latitude) for tables.
        For a vector file the file's CRS is used; ``crs`` may supply it when the file has
        none, and must agree with it otherwise.
    id_col
        Column with a unique business id. By default a complete, unique ``business_id``,
        ``id_umkm`` or ``id`` column (any case), else the row number (0-based).
    weight_col
        Numeric, non-negative weight per business (employees, a size class mapped to
        numbers, ...), copied to ``weight``. Decimal commas are accepted.
    villages
        The villages to match a register's names against (from :func:`read_villages`,
        with ``kecamatan``/``kabupaten`` names when those columns are given). Only with
        ``desa_col``.
    desa_col, kecamatan_col, kabupaten_col
        A register's columns of desa/kelurahan, kecamatan and kabupaten names (see
        :func:`blankspot.match_villages`). With ``desa_col`` the rows have no geometry and
        the output gets ``village_id``, ``match_score`` and ``match_note``;
        :func:`blankspot.assess` then counts the businesses per village.

    Returns
    -------
    GeoDataFrame
        One row per input row, in input order, index ``business_id`` (``str``). The input's
        columns, then ``lon``, ``lat`` (parsed floats in CRS units, NaN when unusable),
        ``weight`` (float, 1.0 without ``weight_col``), ``rejected_reason`` (object: a
        string, or ``None`` for usable rows; test it with ``.notna()``) and ``geometry``
        (points; ``None`` for rejected rows). ``attrs["weight_col"]`` holds ``weight_col``.
        A register (``desa_col``): ``lon``/``lat`` NaN, no geometry, CRS of ``villages``,
        plus ``village_id`` (``<NA>`` when unmatched), ``match_score``, ``match_note``;
        ``rejected_reason`` is ``None`` (unmatched rows are explained by ``match_note``).

    Raises
    ------
    InputFileError
        Missing or unreadable file.
    EmptyInputError
        No rows.
    CRSError
        A vector file without CRS (and no ``crs=``), or ``crs`` disagreeing with the file.
    InputError
        Coordinate columns absent or ambiguous, an unknown ``*_col``, null or duplicate
        ``id_col`` values, or any missing, non-numeric or negative weight (the rows are
        named: weights are not guessed).

    Notes
    -----
    Coordinates are read as text and parsed in bulk (``str.replace`` + ``to_numeric``), so
    ``" -5,43 "`` is -5.43 and nothing is silently coerced. Reasons: ``"longitude is
    missing"``, ``"latitude is not a number: 'abc'"``, ``"latitude 105.2 out of range
    [-90, 90] (longitude and latitude look swapped)"``; two problems are joined by ``"; "``.
    Range checks apply to geographic CRSs only. Input columns already named ``lon``,
    ``lat``, ``weight`` or ``rejected_reason`` are replaced by the parsed values (the raw
    text of a rejected value is quoted in its reason). A rejection summary is logged.
    Cost: about 2 s for 500,000 CSV rows on a busy 2-core machine (0.5 s of it read_csv).

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"nama": ["Warung A", "Toko B"],
    ...                    "lintang": ["-5,43", "abc"], "bujur": ["105,26", "105.3"]})
    >>> b = read_businesses(df)
    >>> b["rejected_reason"].tolist()
    [None, "latitude is not a number: 'abc'"]
    >>> b.index.tolist(), b["lon"].tolist(), b["lat"].tolist()
    (['0', '1'], [105.26, 105.3], [-5.43, nan])
    >>> b.geometry.iloc[0].wkt, b.geometry.iloc[1] is None, b.crs.to_epsg()
    ('POINT (105.26 -5.43)', True, 4326)
    """
    if crs is not None:
        crs = require_crs(crs, what="crs=")

    register = [c for c in (desa_col, kecamatan_col, kabupaten_col) if c]
    if (kecamatan_col or kabupaten_col or villages is not None) and desa_col is None:
        raise InputError(
            "villages=, kecamatan_col= and kabupaten_col= are for a register of village "
            "names: pass desa_col= (the desa/kelurahan name column) too."
        )
    if desa_col is not None and villages is None:
        raise InputError(
            f"desa_col={desa_col!r} reads a register of village names, which needs villages= "
            "(the villages to match the names against, from read_villages)."
        )
    if desa_col is not None and (lon_col or lat_col):
        raise InputError(
            "Give either lon_col=/lat_col= (businesses with coordinates) or desa_col= (a "
            "register of village names), not both."
        )

    def text_columns(columns: pd.Index) -> list[Any]:
        lower = {
            str(c).strip().lower() for c in [lon_col, lat_col, id_col, weight_col, *register] if c
        }
        wanted = set(LON_COLUMNS) | set(LAT_COLUMNS) | set(BUSINESS_ID_COLUMNS) | lower
        return [c for c in columns if str(c).strip().lower() in wanted or c in lower]

    frame, origin, is_vector = _load_business_source(source, text_columns)
    if len(frame) == 0:
        raise EmptyInputError(f"{origin} has no rows: there are no businesses to read.")
    if weight_col is None and "weight_col" in frame.attrs:
        # our own output read again: its weights come from the same column as before
        weight_col = frame.attrs["weight_col"]

    if desa_col is not None:
        return _read_register(
            frame,
            origin=origin,
            villages=villages,
            id_col=id_col,
            weight_col=weight_col,
            names={"desa_col": desa_col, "kecamatan_col": kecamatan_col}
            | {"kabupaten_col": kabupaten_col},
        )
    use_geometry = is_vector and lon_col is None and lat_col is None
    if is_vector:
        file_crs = frame.crs
        if file_crs is None and crs is None:
            require_crs(None, what=f"businesses {origin}")
        if (
            file_crs is not None
            and crs is not None
            and not CRS.from_user_input(file_crs).equals(crs)
        ):
            raise CRSError(
                f"crs={crs.to_string()} disagrees with the CRS of {origin} "
                f"({CRS.from_user_input(file_crs).to_string()}). crs= only supplies a missing "
                "CRS; reproject the data with .to_crs() instead."
            )
        out_crs = CRS.from_user_input(file_crs) if file_crs is not None else crs
        own = pd.DataFrame(frame.drop(columns=frame.geometry.name))
    else:
        out_crs = crs if crs is not None else CRS.from_epsg(4326)
        own = pd.DataFrame(frame)
    geographic = bool(out_crs.is_geographic)
    swap_cols: tuple[str, str] | None = None  # (lon, lat) columns, for the swapped-columns fix

    if use_geometry:
        geoms = frame.geometry.array
        missing = shapely.is_missing(geoms) | shapely.is_empty(geoms)
        type_ids = shapely.get_type_id(geoms)
        not_point = ~missing & (type_ids != 0)
        xs = pd.Series(np.where(missing | not_point, np.nan, shapely.get_x(geoms)))
        ys = pd.Series(np.where(missing | not_point, np.nan, shapely.get_y(geoms)))
        x, y, reason, counts = _coordinate_reasons(xs, ys, geographic=geographic)
        reason[missing] = "geometry is missing"
        if "rejected_reason" in frame.columns:
            # re-reading our own output: keep the original reason of a rejected row
            prior = frame["rejected_reason"].to_numpy(dtype=object)
            keep = missing & pd.notna(prior)
            reason[keep] = prior[keep]
            for values, col in ((x, "lon"), (y, "lat")):
                if col in frame.columns:
                    values[keep] = pd.to_numeric(frame[col], errors="coerce").to_numpy()[keep]
        counts = {k: c for k, c in counts.items() if "missing" not in k}
        if missing.any():
            counts["geometry is missing"] = int(missing.sum())
        if not_point.any():
            gtypes = pd.Series(shapely.get_type_id(geoms[not_point])).map(
                {1: "LineString", 3: "Polygon", 4: "MultiPoint", 5: "MultiLineString"}
                | {6: "MultiPolygon", 7: "GeometryCollection"}
            )
            reason[not_point] = (
                "geometry is a " + gtypes.fillna("other") + ", not a point"
            ).to_numpy(dtype=object)
            counts["geometry is not a point"] = int(not_point.sum())
    else:
        lcol, acol = _detect_lonlat(own.columns, lon_col, lat_col, origin)
        swap_cols = (str(lcol), str(acol))
        x, y, reason, counts = _coordinate_reasons(
            own[lcol].reset_index(drop=True),
            own[acol].reset_index(drop=True),
            geographic=geographic,
        )

    index, _ = _business_index(own, id_col, origin)
    if weight_col is not None:
        weight = _business_weights(own, weight_col, origin, index)
    else:
        if _find_column(own.columns, ("weight",)) is not None and "weight_col" not in frame.attrs:
            _warn(
                f"{origin} has a 'weight' column but weight_col was not given, so every "
                "business gets weight 1.0 and that column is replaced. Pass "
                "weight_col='weight' to use it."
            )
        weight = np.ones(len(own))

    own = own.reset_index(drop=True)
    own.index = index
    own = own.drop(
        columns=[c for c in own.columns if c in ("lon", "lat", "weight", "rejected_reason")]
    )
    own["lon"] = x
    own["lat"] = y
    own["weight"] = weight.astype("float64")
    own["rejected_reason"] = pd.Series(reason, index=index, dtype=object)
    out = gpd.GeoDataFrame(
        own, geometry=gpd.GeoSeries(_points(x, y, reason), index=index), crs=out_crs
    )
    n_swapped = int(
        pd.Series(reason, dtype=object).str.contains("look swapped", regex=False, na=False).sum()
    )
    if n_swapped > 0.5 * len(reason):
        # most rows would be rejected: that is a wrong column choice, not bad rows
        fix = (
            f"Pass lon_col={swap_cols[1]!r}, lat_col={swap_cols[0]!r} (on the command line "
            f"--lon-col {swap_cols[1]} --lat-col {swap_cols[0]}) if that is what the columns "
            "hold."
            if swap_cols
            else "Swap the coordinates of the points, e.g. "
            "gdf.set_geometry(shapely.points(gdf.geometry.y, gdf.geometry.x))."
        )
        raise InputError(
            f"{origin}: {n_swapped} of {len(reason)} rows have a latitude outside [-90, 90] "
            "while their longitude would fit a latitude: longitude and latitude look swapped. "
            + fix
        )
    out.attrs["weight_col"] = weight_col
    _log_rejected(f"read_businesses {origin}", reason, counts)
    if len(out) and pd.notna(reason).all():
        top = "; ".join(f"{k}: {c}" for k, c in sorted(counts.items(), key=lambda kv: -kv[1])[:3])
        with np.errstate(invalid="ignore"):
            projected = geographic and bool(np.nanmedian(np.abs(x)) > 180)
        hint = (
            " The values look like projected metres, not degrees: pass the CRS they are in "
            "(crs='EPSG:32748' for UTM 48S)."
            if projected
            else " Check lon_col=/lat_col= and the file's decimal separator."
        )
        raise EmptyInputError(
            f"{origin}: every one of the {len(out)} rows was rejected ({top}), so there is "
            f"nothing to assess.{hint}"
        )
    return out


def _read_register(
    frame: pd.DataFrame,
    *,
    origin: str,
    villages: Any,
    id_col: str | None,
    weight_col: str | None,
    names: dict[str, str | None],
) -> gpd.GeoDataFrame:
    """Read a register without coordinates: match its village names, keep every row."""
    from blankspot.matching import match_villages  # noqa: PLC0415 - matching imports io

    if not isinstance(villages, gpd.GeoDataFrame):
        raise InputError(
            "villages= should be the villages GeoDataFrame from read_villages, got "
            f"{type(villages).__name__}."
        )
    own = (
        pd.DataFrame(frame.drop(columns=frame.geometry.name))
        if isinstance(frame, gpd.GeoDataFrame)
        else pd.DataFrame(frame)
    )
    index, _ = _business_index(own, id_col, origin)
    weight = (
        _business_weights(own, weight_col, origin, index)
        if weight_col is not None
        else np.ones(len(own))
    )
    own = own.reset_index(drop=True)
    own.index = index
    own = own.drop(columns=[c for c in own.columns if c in ("lon", "lat", "weight")])
    for key, col in names.items():
        if col is not None:
            names[key] = _require_column(own.columns, col, option=key, origin=origin)
    own = match_villages(own, villages, **names)
    own["lon"] = np.nan
    own["lat"] = np.nan
    own["weight"] = weight.astype("float64")
    own["rejected_reason"] = pd.Series(None, index=index, dtype=object)
    out = gpd.GeoDataFrame(
        own, geometry=gpd.GeoSeries([None] * len(own), index=index), crs=villages.crs
    )
    out.attrs["weight_col"] = weight_col
    n_unmatched = int(out["village_id"].isna().sum())
    if n_unmatched:
        log.warning(
            "read_businesses %s: %d of %d register rows matched no village (see match_note)",
            origin,
            n_unmatched,
            len(out),
        )
    return out
