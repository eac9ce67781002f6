"""Digital elevation models: reading (GeoTIFF, SRTM ``.hgt``, VRT, tile mosaics) and sampling.

The :class:`Dem` handle is lazy (windows are read on demand); :func:`read_dem` opens one file
or mosaics several tiles through a VRT held in memory. Also here: the input checks shared by
the terrain modules (numbers, heights, points inside the DEM) and bilinear sampling of a
window. Public names are re-exported by :mod:`blankspot.terrain`.
"""

from __future__ import annotations

import functools
import glob
import logging
import math
import numbers
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import numpy as np
from affine import Affine

import pyproj
import rasterio
from pyproj import CRS, Transformer
from rasterio.enums import MaskFlags
from rasterio.errors import RasterioIOError
from rasterio.windows import Window

from blankspot._errors import InputError, InputFileError
from blankspot._validate import check_options, require_crs

log = logging.getLogger("blankspot")

#: Mean earth radius (metres) used with ``k_factor`` for the effective earth.
EARTH_RADIUS_M = 6_371_000.0
#: Speed of light, m/s (for wavelengths from ``frequency_ghz``).
SPEED_OF_LIGHT_M_S = 299_792_458.0

_GEOD = pyproj.Geod(ellps="WGS84")
_METRE_UNITS = {"", "m", "metre", "metres", "meter", "meters", "metre(s)"}
_FOOT_UNITS = {"ft", "foot", "feet", "us-ft", "us survey foot", "international foot"}


WGS84 = CRS.from_epsg(4326)


def transformer(src: CRS, dst: CRS) -> Transformer:
    """Return an ``always_xy`` transformer from ``src`` to ``dst`` (one per thread and pair).

    Building one costs about a millisecond; a viewshed or footprint per site needs several.
    """
    return _transformer(src, dst, threading.get_ident())


@functools.lru_cache(maxsize=64)
def _transformer(src: CRS, dst: CRS, _thread: int) -> Transformer:
    # pyproj transformers are not shared between threads, hence the thread in the key
    return Transformer.from_crs(src, dst, always_xy=True)


@dataclass(frozen=True)
class Dem:
    """A digital elevation model, opened lazily (read by windows, never all at once).

    Build it with :func:`read_dem`. Elevations are metres above the datum of the source
    (EGM96/EGM2008 geoid for SRTM and Copernicus, close to mean sea level).

    Attributes
    ----------
    source
        What :func:`rasterio.open` opens: a file path or, for a mosaic of tiles, VRT XML.
    name
        Human name for messages (file name, or "N tiles (first.hgt, ...)").
    crs
        The DEM's CRS (pyproj). Geographic CRSs (EPSG:4326) are fine: distances are geodesic.
    transform
        Affine transform of the full grid (north-up; rotated grids are refused).
    width, height
        Grid size in cells.
    nodata
        The void value of the source, or ``None``.
    scale_m
        Factor from stored values to metres (``0.3048`` for a DEM in feet, else 1).
    notes
        Plain-language caveats (voids, units, extra bands).
    """

    source: str
    name: str
    crs: CRS
    transform: Affine
    width: int
    height: int
    nodata: float | None
    scale_m: float = 1.0
    notes: tuple[str, ...] = ()

    def __repr__(self) -> str:
        return (
            f"Dem({self.name!r}, {self.width} x {self.height} cells, "
            f"crs={self.crs.to_string()}, cell {self.cell_size_m()[0]:.0f} m)"
        )

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """``(left, bottom, right, top)`` in the DEM's CRS."""
        t = self.transform
        return (t.c, t.f + t.e * self.height, t.c + t.a * self.width, t.f)

    def open(self) -> rasterio.io.DatasetReader:
        """Open the underlying dataset (a context manager)."""
        try:
            return rasterio.open(self.source)
        except RasterioIOError as exc:
            raise InputFileError(f"cannot read the DEM {self.name}: {exc}") from exc

    def read(self, window: Window, *, dtype: str = "float64") -> np.ndarray:
        """Elevations (metres as ``dtype``, NaN for voids) of a window of the grid.

        The window is clipped to the grid; read only what you need.
        """
        with self.open() as ds:
            return self._read_from(ds, window, dtype=dtype)

    def _read_from(
        self, ds: rasterio.io.DatasetReader, window: Window, *, dtype: str = "float64"
    ) -> np.ndarray:
        """Elevations of ``window`` as ``dtype`` metres, NaN for voids, from an open ``ds``."""
        if set(ds.mask_flag_enums[0]) <= {MaskFlags.nodata, MaskFlags.all_valid}:
            # the mask is the no-data value (or nothing): compare, instead of a masked read
            # (which reads a second, mask band and goes through float64)
            raw = ds.read(1, window=window)
            out = raw.astype(dtype)
            if ds.nodata is not None and not math.isnan(ds.nodata):
                out[raw == ds.nodata] = np.nan
        else:  # an internal mask or alpha band: GDAL's mask decides
            out = np.ma.filled(ds.read(1, window=window, masked=True).astype(dtype), np.nan)
        if ds.dtypes[0].startswith("float"):
            out[~np.isfinite(out)] = np.nan
        scale, offset = ds.scales[0] or 1.0, ds.offsets[0] or 0.0
        if scale != 1.0 or offset != 0.0:
            out = (out * scale + offset).astype(dtype, copy=False)
        if self.scale_m != 1.0:
            out *= self.scale_m
        return out

    def cell_size_m(self) -> tuple[float, float]:
        """Approximate cell width and height in metres at the DEM's centre."""
        t = self.transform
        if not self.crs.is_geographic:
            factor = self.crs.axis_info[0].unit_conversion_factor if self.crs.axis_info else 1.0
            return abs(t.a) * factor, abs(t.e) * factor
        cx, cy = t @ (self.width / 2, self.height / 2)
        _, _, dx = _GEOD.inv(cx, cy, cx + t.a, cy)
        _, _, dy = _GEOD.inv(cx, cy, cx, cy + t.e)
        return float(dx), float(dy)

    def to_dem_crs(self, x: np.ndarray, y: np.ndarray, crs: Any) -> tuple[np.ndarray, np.ndarray]:
        """Coordinates given in ``crs`` (``None`` = the DEM's) transformed into the DEM CRS."""
        if crs is None:
            return x, y
        src = require_crs(crs, what="The coordinates' crs")
        if src == self.crs:
            return x, y
        return transformer(src, self.crs).transform(x, y)

    def lonlat(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Longitude/latitude (WGS84) of points given in the DEM CRS."""
        return transformer(self.crs, WGS84).transform(x, y)

    def geodesic_m(
        self, ax: np.ndarray, ay: np.ndarray, bx: np.ndarray, by: np.ndarray
    ) -> np.ndarray:
        """Geodesic distance (metres, WGS84) between points given in the DEM CRS."""
        tr = transformer(self.crs, WGS84)
        alon, alat = tr.transform(ax, ay)
        blon, blat = tr.transform(bx, by)
        _, _, d = _GEOD.inv(alon, alat, blon, blat)
        return np.asarray(d, dtype="float64")


# ---------------------------------------------------------------------------------------
# reading


def _tile_paths(source: Any) -> list[Path]:
    if isinstance(source, str | Path):
        text = str(source)
        if any(ch in text for ch in "*?["):
            found = sorted(glob.glob(text))
            if not found:
                raise InputFileError(
                    f"no DEM tile matches {text!r}. Check the folder and the pattern, e.g. "
                    "'dem/*.hgt' or 'dem/Copernicus_DSM_COG_10_*_DEM.tif'."
                )
            return [Path(p) for p in found]
        return [Path(text)]
    if isinstance(source, Sequence) and not isinstance(source, bytes):
        if len(source) == 0:
            raise InputFileError("the list of DEM tiles is empty; give at least one file.")
        bad = [s for s in source if not isinstance(s, str | Path)]
        if bad:
            raise InputError(
                f"read_dem takes file paths; the list holds {type(bad[0]).__name__} {bad[0]!r}."
            )
        return [Path(s) for s in source]
    raise InputError(
        "read_dem takes a file path (GeoTIFF, .hgt, .vrt), a glob pattern or a list of "
        f"tiles, got {type(source).__name__}."
    )


@dataclass(frozen=True)
class _TileInfo:
    path: Path
    crs: CRS
    transform: Affine
    width: int
    height: int
    dtype: str
    nodata: float | None
    units: str
    count: int


def _tile_info(path: Path) -> _TileInfo:
    if not path.exists():
        raise InputFileError(f"DEM file {str(path)!r} does not exist.")
    try:
        with rasterio.open(path) as ds:
            crs = require_crs(
                ds.crs.to_wkt() if ds.crs else None,
                what=f"DEM {path.name!r}",
            )
            info = _TileInfo(
                path=path.resolve(),
                crs=crs,
                transform=ds.transform,
                width=ds.width,
                height=ds.height,
                dtype=ds.dtypes[0],
                nodata=ds.nodata,
                units=(ds.units[0] or "").strip().lower(),
                count=ds.count,
            )
    except RasterioIOError as exc:
        raise InputFileError(
            f"cannot read DEM {str(path)!r} as a raster ({exc}). blankspot reads GeoTIFF, "
            "SRTM .hgt tiles (named like S06E105.hgt), VRT and other GDAL rasters."
        ) from exc
    t = info.transform
    if t.b != 0 or t.d != 0 or t.a <= 0 or t.e >= 0:
        raise InputError(
            f"DEM {path.name!r} is not a north-up grid (transform {tuple(t)[:6]}); warp it "
            "first, e.g. `gdalwarp in.tif out.tif`."
        )
    if info.dtype.startswith("complex"):
        raise InputError(f"DEM {path.name!r} has complex values; elevations must be real.")
    return info


def _mosaic_vrt(tiles: list[_TileInfo]) -> tuple[str, Affine, int, int]:
    first = tiles[0]
    res_x, res_y = first.transform.a, first.transform.e
    for t in tiles[1:]:
        if t.crs != first.crs:
            raise InputError(
                f"DEM tiles are in different CRSs: {first.path.name!r} is "
                f"{first.crs.to_string()} and {t.path.name!r} is {t.crs.to_string()}. "
                "Warp them into one CRS first (gdalwarp -t_srs ...)."
            )
        if not (
            math.isclose(t.transform.a, res_x, rel_tol=1e-6)
            and math.isclose(t.transform.e, res_y, rel_tol=1e-6)
        ):
            raise InputError(
                f"DEM tiles have different cell sizes: {first.path.name!r} "
                f"{res_x:g} x {-res_y:g} and {t.path.name!r} {t.transform.a:g} x "
                f'{-t.transform.e:g}. Mix only tiles of one product (e.g. all SRTM 1").'
            )
    left = min(t.transform.c for t in tiles)
    top = max(t.transform.f for t in tiles)
    right = max(t.transform.c + t.transform.a * t.width for t in tiles)
    bottom = min(t.transform.f + t.transform.e * t.height for t in tiles)
    width = round((right - left) / res_x)
    height = round((bottom - top) / res_y)
    dtype = np.result_type(*[np.dtype(t.dtype) for t in tiles])
    gdal_type = {
        "uint8": "Byte",
        "int8": "Int8",
        "int16": "Int16",
        "uint16": "UInt16",
        "int32": "Int32",
        "uint32": "UInt32",
        "float32": "Float32",
        "float64": "Float64",
    }.get(dtype.name, "Float64")
    nodata = next((t.nodata for t in tiles if t.nodata is not None), None)
    sources = []
    for t in tiles:
        xo = (t.transform.c - left) / res_x
        yo = (t.transform.f - top) / res_y
        if abs(xo - round(xo)) > 1e-3 or abs(yo - round(yo)) > 1e-3:
            raise InputError(
                f"DEM tile {t.path.name!r} is not aligned with {first.path.name!r} "
                f"(offset of {xo:.3f}, {yo:.3f} cells). Use tiles of one product and grid."
            )
        nd = f"<NODATA>{t.nodata!r}</NODATA>" if t.nodata is not None else ""
        sources.append(
            "<ComplexSource>"
            f'<SourceFilename relativeToVRT="0">{escape(str(t.path))}</SourceFilename>'
            "<SourceBand>1</SourceBand>"
            f'<SrcRect xOff="0" yOff="0" xSize="{t.width}" ySize="{t.height}"/>'
            f'<DstRect xOff="{round(xo)}" yOff="{round(yo)}" '
            f'xSize="{t.width}" ySize="{t.height}"/>'
            f"{nd}</ComplexSource>"
        )
    nd_band = f"<NoDataValue>{nodata!r}</NoDataValue>" if nodata is not None else ""
    xml = (
        f'<VRTDataset rasterXSize="{width}" rasterYSize="{height}">'
        f"<SRS>{escape(first.crs.to_wkt())}</SRS>"
        f"<GeoTransform>{left!r},{res_x!r},0,{top!r},0,{res_y!r}</GeoTransform>"
        f'<VRTRasterBand dataType="{gdal_type}" band="1">{nd_band}'
        + "".join(sources)
        + "</VRTRasterBand></VRTDataset>"
    )
    transform = Affine(res_x, 0, left, 0, res_y, top)
    return xml, transform, width, height


@check_options
def read_dem(source: Any) -> Dem:
    """Open a digital elevation model (lazily: only windows are ever read).

    Parameters
    ----------
    source
        A GeoTIFF (DEMNAS, Copernicus GLO-30 COG), an SRTM ``.hgt`` tile (named like
        ``S06E105.hgt``; GDAL's SRTMHGT driver supplies the grid and EPSG:4326), a ``.vrt``,
        a glob pattern (``"dem/*.hgt"``) or a list of tiles. Several tiles are mosaicked by a
        VRT held in memory (what ``gdalbuildvrt`` writes); they must share one CRS and cell
        size. A :class:`Dem` is returned unchanged.

    Returns
    -------
    Dem

    Raises
    ------
    InputFileError
        A file is missing, unreadable, or a pattern matches nothing.
    CRSError
        A tile has no CRS.
    InputError
        Tiles differ in CRS, cell size or grid; a rotated grid; elevation units that are not
        metres or feet.

    Notes
    -----
    Voids (the source's no-data value, -32768 in SRTM) are *unknown ground*: they never block
    a path, a path whose end lies on a void is not clear, and void cells are never visible.
    The DEM's :attr:`Dem.notes` says so when the source declares a no-data value.

    Examples
    --------
    >>> import numpy as np, rasterio, tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> (np.full((1201, 1201), 100, dtype=">i2")).tofile(folder / "S06E105.hgt")
    >>> dem = read_dem(folder / "S06E105.hgt")
    >>> dem.crs.to_epsg(), dem.width, round(dem.cell_size_m()[0])
    (4326, 1201, 92)
    """
    if isinstance(source, Dem):
        return source
    paths = _tile_paths(source)
    tiles = [_tile_info(p) for p in paths]
    notes: list[str] = []
    units = {t.units for t in tiles}
    if len(units) > 1:
        raise InputError(
            f"DEM tiles declare different elevation units {sorted(units)}; convert them to "
            "metres first."
        )
    unit = units.pop()
    if unit in _METRE_UNITS:
        scale = 1.0
    elif unit in _FOOT_UNITS:
        scale = 0.3048
        notes.append(f"elevations are stored in {unit}; converted to metres (x 0.3048).")
    else:
        raise InputError(
            f"DEM {tiles[0].path.name!r} declares elevation units {unit!r}; blankspot needs "
            "metres (or feet). Fix the file's unit metadata or convert it."
        )
    if any(t.count > 1 for t in tiles):
        notes.append("the DEM has several bands; band 1 is used as elevation.")
    if len(tiles) == 1:
        t = tiles[0]
        src, transform, width, height = str(t.path), t.transform, t.width, t.height
        name = t.path.name
    else:
        src, transform, width, height = _mosaic_vrt(tiles)
        name = f"{len(tiles)} tiles ({tiles[0].path.name}, ...)"
    nodata = next((t.nodata for t in tiles if t.nodata is not None), None)
    if nodata is not None or any(t.dtype.startswith("float") for t in tiles):
        notes.append(
            "voids (no data"
            + (f" = {nodata:g}" if nodata is not None else "")
            + ") are unknown ground: they never block a path, paths ending on one are not "
            "clear, and void cells are never visible."
        )
    dem = Dem(
        source=src,
        name=name,
        crs=tiles[0].crs,
        transform=transform,
        width=width,
        height=height,
        nodata=nodata,
        scale_m=scale,
        notes=tuple(notes),
    )
    log.info("DEM: %r", dem)
    return dem


# ---------------------------------------------------------------------------------------
# shared checks and kernels


def _positive(value: Any, name: str, *, allow_zero: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise InputError(f"{name} must be a number, got {value!r}.")
    v = float(value)
    if not math.isfinite(v) or v < 0 or (v == 0 and not allow_zero):
        raise InputError(
            f"{name} must be a {'non-negative' if allow_zero else 'positive'} finite number, "
            f"got {value!r}."
        )
    return v


def _coords(values: Any, name: str) -> np.ndarray:
    try:
        arr = np.atleast_1d(np.asarray(values, dtype="float64"))
    except (TypeError, ValueError) as exc:
        raise InputError(f"{name} must be numbers (an array of coordinates): {exc}") from exc
    if arr.ndim != 1:
        raise InputError(f"{name} must be one-dimensional, got shape {arr.shape}.")
    return arr


def _heights(value: Any, name: str, n: int) -> np.ndarray:
    arr = np.broadcast_to(_coords(value, name), (n,)) if np.ndim(value) else None
    if arr is None:
        arr = np.full(n, _positive(value, name, allow_zero=True))
    bad = ~np.isfinite(arr) | (arr < 0)
    if bad.any():
        raise InputError(
            f"{name} must be finite metres >= 0; rows {np.flatnonzero(bad)[:5].tolist()} are "
            f"{arr[bad][:5].tolist()}."
        )
    return np.asarray(arr, dtype="float64")


def _pixel_coords(dem: Dem, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Fractional (column, row) of DEM-CRS points; cell centres are at ``i + 0.5``."""
    inv = ~dem.transform
    col, row = inv @ (x, y)
    return np.asarray(col, dtype="float64"), np.asarray(row, dtype="float64")


def _check_inside(dem: Dem, col: np.ndarray, row: np.ndarray, what: str) -> None:
    outside = ~((col >= 0) & (col <= dem.width) & (row >= 0) & (row <= dem.height))
    if outside.any():
        left, bottom, right, top = dem.bounds
        lon, lat = dem.lonlat(np.array([left, right]), np.array([bottom, top]))
        raise InputError(
            f"{int(outside.sum())} {what} lie outside the DEM {dem.name} (rows "
            f"{np.flatnonzero(outside)[:5].tolist()}); it spans longitude "
            f"{lon[0]:.4f} to {lon[1]:.4f}, latitude {lat[0]:.4f} to {lat[1]:.4f}. Pass a "
            "DEM (or more tiles) covering every point, or check the coordinates' crs."
        )


def neighbour_quads(arr: np.ndarray) -> np.ndarray:
    """Each cell with its east, south and south-east neighbours: ``(h * w, 4)`` float32.

    One gather of 16 contiguous bytes then fetches all four corners of a bilinear sample
    (one cache line instead of two rows): 3x faster on large windows than four gathers.
    The last row and column hold their edge values.
    """
    h, w = arr.shape
    a = np.asarray(arr, dtype="float32")
    q = np.empty((h, w, 4), dtype="float32")
    q[:, :, 0] = a
    q[:, :, 1] = np.concatenate([a[:, 1:], a[:, -1:]], axis=1)
    q[:, :, 2] = np.concatenate([a[1:], a[-1:]], axis=0)
    q[:, :, 3] = np.concatenate([q[1:, :, 1], q[-1:, :, 1]], axis=0)
    return q.reshape(h * w, 4)


def bilinear(
    arr: np.ndarray,
    col: np.ndarray,
    row: np.ndarray,
    *,
    quads: np.ndarray | None = None,
    inside: bool = False,
) -> np.ndarray:
    """Bilinear elevations at fractional (column, row) of ``arr`` (cell centres at ``i+0.5``).

    Outside the outer cell centres the edge value is held. NaN (void) in any of the four
    neighbours gives NaN. Positions are computed in ``col``'s precision (float64 for line of
    sight); heights come from float32 (``quads``, see :func:`neighbour_quads`, built here
    unless given: build it once per window when sampling it repeatedly). ``inside=True``
    promises every point lies between the outer cell centres and skips the clipping.
    """
    h, w = arr.shape
    if quads is None:
        quads = neighbour_quads(arr)
    fc = np.asarray(col) - 0.5
    fr = np.asarray(row) - 0.5
    if inside:
        c0, r0 = np.floor(fc), np.floor(fr)
        tx = np.subtract(fc, c0, out=fc)
        ty = np.subtract(fr, r0, out=fr)
    else:
        c0 = np.clip(np.floor(fc), 0, max(w - 2, 0))
        r0 = np.clip(np.floor(fr), 0, max(h - 2, 0))
        tx = np.clip(fc - c0, 0, 1, out=fc)
        ty = np.clip(fr - r0, 0, 1, out=fr)
    g = np.take(quads, (r0 * w + c0).astype(np.intp), axis=0)
    v00, v01, v10, v11 = g[..., 0], g[..., 1], g[..., 2], g[..., 3]
    top = v00 + tx * (v01 - v00)
    bot = v10 + tx * (v11 - v10)
    return top + ty * (bot - top)


def _wavelength_m(frequency_ghz: float | None) -> float | None:
    if frequency_ghz is None:
        return None
    return SPEED_OF_LIGHT_M_S / (_positive(frequency_ghz, "frequency_ghz") * 1e9)
