"""Coverage from Ookla open-data speed-test tiles (quadkey, WKT or geometry tiles).

Re-exported by :mod:`blankspot.coverage` as :func:`~blankspot.coverage.from_speed_tiles`;
kept apart only to keep ``coverage.py`` to a readable size.
"""

from __future__ import annotations

import logging
import math
import numbers
import os
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

import geopandas as gpd
import shapely

from blankspot._coverage_base import _WGS84, _polygonal_parts, _source_name
from blankspot._errors import BlankspotWarning, EmptyInputError, InputError, InputFileError
from blankspot._polygon_source import PolygonCoverage
from blankspot._util import read_vector
from blankspot._validate import check_options, require_crs

__all__ = ["from_speed_tiles"]

log = logging.getLogger("blankspot")


def _quadkey_tiles(quadkeys: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Tile x, y and zoom of Bing/Ookla quadkeys (vectorised per quadkey length).

    Digit ``i`` (from the left) holds bit ``z - 1 - i`` of x (its 1 bit) and of y (its 2 bit).
    """
    raw = pd.Series(quadkeys)
    if pd.api.types.is_numeric_dtype(raw.dtype) and not raw.empty:
        raise InputError(
            f"the quadkey column holds numbers ({raw.dtype}), e.g. {raw.iloc[0]!r}: a number "
            "drops a quadkey's leading zeros and moves the tile (a key starting with 0 lands "
            "near the pole). Read quadkeys as text: pandas.read_csv(..., "
            "dtype={'quadkey': str}), or fix the Parquet column's type."
        )
    keys = pd.Series(quadkeys, dtype="string").str.strip()
    arr = keys.to_numpy(dtype=object, na_value="")
    lengths = keys.str.len().fillna(0).to_numpy(dtype="int64")
    valid = keys.str.fullmatch(r"[0-3]{1,30}").fillna(False).to_numpy(dtype=bool)
    if not valid.all():
        rows = np.flatnonzero(~valid)
        raise InputError(
            f"{rows.size} quadkey(s) are not strings of the digits 0-3 (rows "
            f"{list(keys.index[rows[:5]])}, values {[arr[i] for i in rows[:3]]}). Quadkeys "
            "must be read as text: "
            "pandas.read_csv(..., dtype={'quadkey': str})."
        )
    zooms = np.unique(lengths)
    x = np.zeros(arr.size, dtype="int64")
    y = np.zeros(arr.size, dtype="int64")
    for length in zooms:  # one pass per distinct zoom (Ookla: only 16)
        sel = np.flatnonzero(lengths == length)
        digits = (
            np.frombuffer("".join(arr[sel]).encode("ascii"), dtype=np.uint8).reshape(-1, length)
            - ord("0")
        ).astype("int64")
        weights = 1 << np.arange(length - 1, -1, -1, dtype="int64")
        x[sel] = (digits & 1) @ weights
        y[sel] = ((digits >> 1) & 1) @ weights
    return x, y, lengths


def _one_zoom(quadkeys: pd.Series, zoom: np.ndarray) -> None:
    """Refuse quadkeys of different lengths: a short key is a lost leading zero, 4x too big."""
    zooms, n_zoom = np.unique(zoom, return_counts=True)
    if zooms.size > 1:
        usual = zooms[np.argmax(n_zoom)]
        odd = np.flatnonzero(zoom != usual)
        raise InputError(
            f"quadkeys have different lengths (zoom levels {zooms.tolist()}): {odd.size} "
            f"key(s) are not {usual} digits long (rows {list(quadkeys.index[odd[:5]])}, values "
            f"{quadkeys.iloc[odd[:3]].tolist()}). A key one digit short is usually a leading "
            "zero lost by reading the keys as numbers, and makes a tile 4x too big; read them "
            "as text (dtype={'quadkey': str})."
        )


def _tile_bounds(x: np.ndarray, y: np.ndarray, z: np.ndarray) -> tuple[np.ndarray, ...]:
    """Lon/lat bounds (west, south, east, north) of web-mercator tiles x/y/z."""
    n = np.exp2(z.astype("float64"))

    def lon(tx: np.ndarray) -> np.ndarray:
        return tx / n * 360.0 - 180.0

    def lat(ty: np.ndarray) -> np.ndarray:
        return np.degrees(np.arctan(np.sinh(np.pi * (1.0 - 2.0 * ty / n))))

    return lon(x), lat(y + 1), lon(x + 1), lat(y)


def _read_tiles(path: Any) -> pd.DataFrame:
    spath = os.fspath(path)
    if not Path(spath).exists():
        raise InputFileError(f"speed tiles file '{spath}' does not exist. Check the path.")
    suffix = Path(spath).suffix.lower()
    try:
        if suffix in (".parquet", ".geoparquet", ".pq"):
            try:
                return gpd.read_parquet(spath)
            except ValueError:  # plain parquet without geo metadata (Ookla's own files)
                return pd.read_parquet(spath)
        if suffix in (".csv", ".txt"):
            return pd.read_csv(spath, dtype={"quadkey": str})
    except Exception as exc:
        raise InputFileError(f"speed tiles file '{spath}' could not be read: {exc}") from exc
    return read_vector(spath, what="speed tiles")


@check_options
def from_speed_tiles(
    tiles: pd.DataFrame | gpd.GeoDataFrame | str | os.PathLike[str],
    *,
    min_download_kbps: float,
    min_tests: int,
) -> PolygonCoverage:
    """Coverage from Ookla open-data speed-test tiles.

    A tile counts as covered when its mean download speed is at least
    ``min_download_kbps`` and it has at least ``min_tests`` tests.

    Parameters
    ----------
    tiles
        The Ookla table (GeoDataFrame, DataFrame or path to Parquet / Shapefile / CSV) with
        ``avg_d_kbps`` and ``tests``, and the tile as a geometry column, a WKT ``tile``
        column (EPSG:4326) or only a ``quadkey`` (zoom-16 key, read as text).
    min_download_kbps
        Minimum mean download speed, kbit/s (e.g. 5000 for usable 4G).
    min_tests
        Minimum number of tests, so that a single lucky test does not count.

    Returns
    -------
    PolygonCoverage
        The covered tiles; its extent is that of all tiles.

    Raises
    ------
    InputFileError
        The file is missing or unreadable.
    InputError
        Missing columns (the message lists those present), bad quadkeys or WKT,
        non-numeric speeds or counts, negative thresholds.
    CRSError
        A GeoDataFrame without CRS.
    EmptyInputError
        No tiles.

    Warns
    -----
    BlankspotWarning
        When no tile meets the thresholds (everything will be uncovered).

    See Also
    --------
    from_polygons, union

    Notes
    -----
    Tiles without tests are simply absent from Ookla's data; they are uncovered here.
    A quadkey is turned into its tile by reading x and y from the bits of its digits
    and taking the web-mercator tile bounds in lon/lat.

    Examples
    --------
    >>> import pandas as pd
    >>> tiles = pd.DataFrame({"quadkey": ["3", "2"], "avg_d_kbps": [9000, 800], "tests": [5, 9]})
    >>> cov = from_speed_tiles(tiles, min_download_kbps=5000, min_tests=3)
    >>> cov.geometry.total_bounds.round(2).tolist()
    [0.0, -85.05, 180.0, 0.0]
    """
    label = ""
    if isinstance(tiles, (str, os.PathLike)):
        label = f"'{_source_name(tiles)}' "
        tiles = _read_tiles(tiles)
    if not isinstance(tiles, pd.DataFrame):
        raise InputError(f"tiles must be a (Geo)DataFrame or a path, got {type(tiles).__name__}.")
    dl = _check_min(min_download_kbps, "min_download_kbps")
    mt = _check_min(min_tests, "min_tests")
    cols = list(tiles.columns)
    needed = [c for c in ("avg_d_kbps", "tests") if c not in tiles.columns]
    has_geom = False
    if isinstance(tiles, gpd.GeoDataFrame):
        try:
            has_geom = tiles.geometry is not None
        except AttributeError:  # a GeoDataFrame without an active geometry column
            has_geom = False
    if not (has_geom or "tile" in cols or "quadkey" in cols):
        needed.append("a geometry, 'tile' (WKT) or 'quadkey' column")
    if needed:
        raise InputError(
            f"speed tiles {label}lack {', '.join(map(str, needed))}; the columns are {cols}. "
            "Ookla's open data has quadkey, tile, avg_d_kbps, avg_u_kbps, tests, devices."
        )
    if len(tiles) == 0:
        raise EmptyInputError(f"speed tiles {label}have no rows.")
    speed = _numeric(tiles["avg_d_kbps"], "avg_d_kbps", label)
    tests = _numeric(tiles["tests"], "tests", label)
    covered = (speed >= dl) & (tests >= mt)
    if has_geom:
        crs = require_crs(tiles.crs, what=f"speed tiles {label}".strip())
        geoms = _tile_polygons(np.asarray(tiles.geometry.values, dtype=object), label)
        extent = tuple(shapely.total_bounds(geoms))
        geoms = geoms[covered]
    elif "tile" in cols:
        crs = _WGS84
        wkt = tiles["tile"].to_numpy(dtype=object)
        geoms = shapely.from_wkt(wkt, on_invalid="ignore")
        bad = np.flatnonzero(shapely.is_missing(geoms))
        if bad.size:
            raise InputError(
                f"speed tiles {label}: {bad.size} 'tile' value(s) are not WKT polygons "
                f"(rows {bad[:5].tolist()})."
            )
        geoms = _tile_polygons(geoms, label)
        extent = tuple(shapely.total_bounds(geoms))
        geoms = geoms[covered]
        log.info("Speed tiles: WKT 'tile' column read as EPSG:4326 (Ookla's CRS)")
    else:
        crs = _WGS84
        x, y, z = _quadkey_tiles(tiles["quadkey"])
        _one_zoom(tiles["quadkey"], z)
        west, south, east, north = _tile_bounds(x, y, z)
        extent = (west.min(), south.min(), east.max(), north.max())
        geoms = shapely.box(west[covered], south[covered], east[covered], north[covered])
    n_cov = int(covered.sum())
    if n_cov == 0:
        warnings.warn(
            f"none of the {len(tiles)} speed tiles has avg_d_kbps >= {dl:g} and tests >= "
            f"{mt:g}; everything will be uncovered. Lower min_download_kbps or min_tests?",
            BlankspotWarning,
            stacklevel=2,
        )
    parts, _ = _polygonal_parts(np.asarray(geoms, dtype=object))
    description = (
        f"speed tiles {label}>= {dl:g} kbps and >= {mt:g} tests ({n_cov} of {len(tiles)} tiles)"
    )
    log.info("Coverage %s", description)
    return PolygonCoverage(
        geometry=gpd.GeoSeries(parts, crs=crs),
        description=description,
        extent=tuple(float(b) for b in extent),  # type: ignore[arg-type]
    )


def _tile_polygons(geoms: np.ndarray, label: str) -> np.ndarray:
    """Refuse tiles that are not polygons (a POINT tile would be dropped without a word)."""
    kind = shapely.get_type_id(geoms)
    bad = np.flatnonzero(~np.isin(kind, (3, 6)) | shapely.is_empty(geoms))
    if bad.size:
        types = sorted({str(t) for t in shapely.get_type_id(geoms[bad])})
        raise InputError(
            f"speed tiles {label}: {bad.size} tile(s) are not polygons (rows "
            f"{bad[:5].tolist()}, e.g. {shapely.to_wkt(geoms[bad[0]], trim=True)[:60]!r}; "
            f"geometry type ids {', '.join(types)}). A speed tile is the square it covers: "
            "give Ookla's 'tile' polygons or the 'quadkey' column."
        )
    return geoms


def _check_min(value: Any, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value):
        raise InputError(f"{what} must be a finite number, got {value!r}.")
    if value < 0:
        raise InputError(f"{what} must be zero or more, got {value!r}.")
    return float(value)


def _numeric(col: pd.Series, name: str, label: str) -> np.ndarray:
    values = pd.to_numeric(col, errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
    bad = np.flatnonzero(np.isnan(values))
    if bad.size:
        raise InputError(
            f"speed tiles {label}: column '{name}' has {bad.size} missing or non-numeric "
            f"value(s) (rows {bad[:5].tolist()})."
        )
    return values
