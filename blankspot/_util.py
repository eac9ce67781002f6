"""Small helpers shared by the modules: message formatting, coordinates, vector files.

One helper per job: modules import these instead of keeping private copies.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

import geopandas as gpd
import pyogrio
import shapely
from pyproj import Transformer

from blankspot._errors import BlankspotError, EmptyInputError, InputFileError

__all__ = [
    "SUPPORTED_VECTOR_FORMATS",
    "check_not_empty_file",
    "file_suffix",
    "id_sort",
    "lonlat_extent",
    "lonlat_text",
    "point_xy",
    "read_vector",
    "some",
]

log = logging.getLogger("blankspot")

SUPPORTED_VECTOR_FORMATS = (
    "GeoJSON (.geojson, .json), GeoPackage (.gpkg), Shapefile (.shp, or a zipped .shp.zip), "
    "FlatGeobuf (.fgb), GeoParquet (.parquet), KML (.kml) or any other vector format GDAL reads"
)


def some(values: Iterable[Any], n: int = 10) -> str:
    """Format up to ``n`` values for a message: ``'a', 'b', ... (25 in all)``.

    Examples
    --------
    >>> some(["a", "b", "c"], 2)
    "'a', 'b', ... (3 in all)"
    """
    vals = list(values)
    shown = ", ".join(repr(str(v)) for v in vals[:n])
    return shown if len(vals) <= n else f"{shown}, ... ({len(vals)} in all)"


def lonlat_text(bounds: Any) -> str:
    """Format lon/lat bounds ``(minx, miny, maxx, maxy)`` for a message."""
    x0, y0, x1, y1 = (float(b) for b in bounds)
    return f"lon {x0:.4f}..{x1:.4f}, lat {y0:.4f}..{y1:.4f}"


def lonlat_extent(bounds: Any, crs: Any) -> str:
    """Format an extent given in ``crs`` as a lon/lat range for messages.

    Examples
    --------
    >>> lonlat_extent((500_000, 9_400_000, 501_000, 9_401_000), "EPSG:32748")
    'lon 105.0000..105.0090, lat -5.4282..-5.4192'
    """
    t = Transformer.from_crs(crs, "EPSG:4326", always_xy=True)
    return lonlat_text(t.transform_bounds(*bounds, densify_pts=21))


def point_xy(points: Any) -> np.ndarray:
    """``(n, 2)`` coordinates of point geometries."""
    return np.column_stack([shapely.get_x(points), shapely.get_y(points)])


def id_sort(ids: Any) -> np.ndarray:
    """Stable order of ids as strings (ties by site / village / business id)."""
    return np.argsort(np.asarray(ids, dtype=str), kind="stable")


def check_not_empty_file(path: Path, *, what: str) -> None:
    """Raise :class:`EmptyInputError` for a file that is empty or only whitespace."""
    if path.is_file():
        size = path.stat().st_size
        if size == 0 or (size < 4096 and not path.read_bytes().strip()):
            raise EmptyInputError(f"{what} file '{path}' is empty.")


def file_suffix(path: Path) -> str:
    """Lower-case suffix, with the one before ``.gz`` kept (``.csv.gz``)."""
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] == ".gz" and len(suffixes) > 1:
        return "".join(suffixes[-2:])
    return suffixes[-1] if suffixes else ""


def read_vector(path: Any, *, what: str) -> gpd.GeoDataFrame:
    """Read a vector file with pyogrio (GeoParquet with geopandas), errors as blankspot's.

    ``/vsi...`` GDAL paths are passed through. A GeoPackage with several layers gives its
    first layer with geometry (logged). ``what`` names the file in messages ("villages").
    """
    spath = os.fspath(path)
    vsi = spath.startswith("/vsi")
    p = Path(spath)
    if not vsi:
        if not p.exists():
            raise InputFileError(f"{what} file '{spath}' does not exist. Check the path.")
        check_not_empty_file(p, what=what)
    if not vsi and file_suffix(p) in (".parquet", ".geoparquet"):
        try:
            return gpd.read_parquet(p)
        except Exception as exc:  # pyarrow / geopandas raise many types for bad files
            raise InputFileError(
                f"{what} file '{spath}' could not be read as GeoParquet ({exc}). Supported "
                f"formats: {SUPPORTED_VECTOR_FORMATS}."
            ) from exc
    try:
        layers = pyogrio.list_layers(spath)
        layer = None
        if len(layers) > 1:
            # a GeoPackage or FileGDB: take the first layer with geometry, and say so
            spatial = [str(name) for name, gtype in layers if gtype is not None]
            layer = spatial[0] if spatial else str(layers[0][0])
            log.warning(
                "%s file '%s' has %d layers (%s); reading layer '%s'.",
                what,
                spath,
                len(layers),
                ", ".join(str(n) for n, _ in layers),
                layer,
            )
        data = gpd.read_file(spath, engine="pyogrio", layer=layer)
    except BlankspotError:
        raise
    except Exception as exc:  # pyogrio raises DataSourceError, DataLayerError, ...
        raise InputFileError(
            f"{what} file '{spath}' could not be read as a vector file ({exc}). Supported "
            f"formats: {SUPPORTED_VECTOR_FORMATS}."
        ) from exc
    if not isinstance(data, gpd.GeoDataFrame) or data.active_geometry_name is None:
        raise InputFileError(
            f"{what} file '{spath}' has no geometry. Supported formats: {SUPPORTED_VECTOR_FORMATS}."
        )
    return data
