"""Files for officials and GIS: :func:`export`.

A :class:`~blankspot.prioritise.Plan` (or an :class:`~blankspot.assessment.Assessment`) is
written as a GeoPackage, one shapefile per layer, and a ranked priority list as CSV and Excel
with English or Bahasa Indonesia headers.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import sqlite3
import tempfile
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import pandas as pd
import pyarrow as pa

import geopandas as gpd
import pyogrio
import shapely
from pyproj import CRS

from blankspot import _i18n, _styles
from blankspot._dbf import utf8_lengths, write_dbf_chunks
from blankspot._errors import InputError, InputFileError
from blankspot._i18n import LANGS
from blankspot._officials import official_tables, write_csv, write_xlsx
from blankspot._validate import check_options, require_crs
from blankspot.assessment import Assessment

__all__ = ["export"]

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows has no flock
    fcntl = None  # type: ignore[assignment]

log = logging.getLogger("blankspot")

#: Output formats :func:`export` knows, in the order they are written.
FORMATS = ("gpkg", "shp", "csv", "xlsx")

GPKG_NAME = "blankspot.gpkg"
SHP_DIR = "shp"
SHP_SIDECARS = (".shp", ".shx", ".dbf", ".prj", ".cpg")
# spatial-index sidecars other tools add; stale after the .shp is replaced, so they are removed
_SHP_STALE_INDEXES = (".qix", ".sbn", ".sbx")
# the dBASE limit: longer text is cut by GDAL (with a warning per layer), so we cut it ourselves
_DBF_MAX_BYTES = 254
_DBF_MAX_NAME = 10

#: Rows of a layer converted and written at a time (GeoPackage, shapefile and its ``.dbf``).
#: A national businesses layer (10 M rows) is never turned into points or text all at once:
#: the export's memory is bounded by this, not by the number of businesses.
CHUNK_ROWS = 500_000


class LayerSpec(NamedTuple):
    """How one output layer is written: geometry type, index column and QGIS style."""

    geometry: str
    #: name of the index column when the frame's index is unnamed (the contract's id)
    index: str | None
    #: ``style(gdf, lang=, weighted=) -> (qml, sld)``, or None for no stored style; a
    #: streamed layer (the businesses) passes its columns only (no rows)
    style: Callable[..., tuple[str, str]] | None = None


def _style_villages(gdf: gpd.GeoDataFrame, *, lang: str, weighted: bool) -> tuple[str, str]:
    col = "weighted_uncovered" if weighted else "n_uncovered"
    values = gdf[col] if col in gdf.columns else np.zeros(0)
    return _styles.graduated_style("villages", col, values)


def _style_blank_spots(gdf: gpd.GeoDataFrame, *, lang: str, weighted: bool) -> tuple[str, str]:
    col = "weighted_businesses" if weighted else "n_businesses"
    values = gdf[col] if col in gdf.columns else np.zeros(0)
    return _styles.graduated_style("blank_spots", col, values, alpha=200)


def _style_sites(gdf: gpd.GeoDataFrame, *, lang: str, weighted: bool) -> tuple[str, str]:
    return _styles.labelled_points_style("sites", "rank")


def _style_businesses(gdf: gpd.GeoDataFrame, *, lang: str, weighted: bool) -> tuple[str, str]:
    colors = {"covered": "#2b8cbe", "uncovered": "#e34a33", "outside_villages": "#969696"}
    return _styles.categorized_style(
        "businesses",
        "status",
        {k: (str(_i18n.translate_value("status", k, lang)), c) for k, c in colors.items()},
    )


#: The output layers, in the order they are written. Adding a layer is one entry here (and
#: its title/description in :data:`blankspot._i18n.LAYERS`, its columns in ``COLUMNS``).
LAYERS: dict[str, LayerSpec] = {
    "villages": LayerSpec("MultiPolygon", "village_id", _style_villages),
    "businesses": LayerSpec("Point", "business_id", _style_businesses),
    "blank_spots": LayerSpec("MultiPolygon", "blank_spot_id", _style_blank_spots),
    "sites": LayerSpec("Point", None, _style_sites),
    "backhaul": LayerSpec("LineString", None),
}

_PLAN_ATTRS = (
    "sites",
    "assessment",
    "upper_bound",
    "method",
    "weighted",
    "message",
    "total_uncovered",
    "objective",
)

#: Fixed short names for blankspot's own long column names (the shapefile mapping's first step).
SHP_ABBREVIATIONS = {
    "business_id": "bus_id",
    "blank_spot_area_km2": "bs_area_km",
    "kecamatan_code": "kec_code",
    "kabupaten_code": "kab_code",
    "blank_spot_id": "spot_id",
    "covered_area_share": "cov_area",
    "n_businesses": "n_bus",
    "n_uncovered": "n_uncov",
    "uncovered_share": "uncov_shr",
    "weighted_uncovered": "w_uncov",
    "weighted_businesses": "w_bus",
    "rejected_reason": "rej_reason",
    "new_businesses": "new_bus",
    "cumulative_businesses": "cum_bus",
    "cumulative_share": "cum_shr",
    "new_weighted_businesses": "new_w_bus",
    "cumulative_weighted_businesses": "cum_w_bus",
    "cumulative_weighted_share": "cum_w_shr",
    "villages_reached": "n_villages",
    "village_ids": "vil_ids",
    "village_names": "vil_names",
    "cost_per_new_business": "cost_per_b",
    "backhaul_to": "bhaul_to",
    "backhaul_hops": "bhaul_hops",
    "backhaul_cost_idr": "bhaul_cost",
    "backhaul_note": "bhaul_note",
    "clearance_m": "clear_m",
}


@check_options
def export(
    result: Any,
    out_dir: str | os.PathLike[str],
    *,
    formats: Sequence[str] | str = FORMATS,
    lang: str = "en",
    overwrite: bool = False,
) -> dict[str, Path]:
    """Write a plan (or an assessment) as GeoPackage, shapefiles, CSV and Excel.

    Parameters
    ----------
    result
        A ``Plan`` from :func:`blankspot.rank_sites` (every layer plus the ranked site list),
        or an :class:`~blankspot.assessment.Assessment` from :func:`blankspot.assess` (no
        ``sites`` layer; the CSV and Excel files then hold the ranked *village* list).
        Any object with the ``Plan`` attributes ``sites``, ``assessment``, ``upper_bound``,
        ``method``, ``weighted``, ``message``, ``total_uncovered`` and ``objective`` works.
    out_dir
        Folder to write into; created if missing.
    formats
        Any of ``"gpkg"``, ``"shp"``, ``"csv"``, ``"xlsx"`` (a single name is accepted too).
    lang
        ``"en"``: headers are the stable English code names (``rank``, ``site_id``, ...);
        ``"id"``: headers, sheet names and the summary are in Bahasa Indonesia.
    overwrite
        Replace existing outputs. Without it, an existing target is an error and nothing is
        written (the CLI's ``--overwrite``).

    Returns
    -------
    dict of str to Path
        Everything written, by kind: ``"gpkg"``; ``"shp_<layer>"`` (the ``.shp``; its
        ``.shx .dbf .prj .cpg`` lie beside it) and ``"shp_<layer>_fields"`` (the field-name
        mapping); ``"csv"``; ``"xlsx"``.

    Raises
    ------
    InputError
        ``result`` is neither a Plan nor an Assessment, or an unknown format or language.
    InputFileError
        A target exists and ``overwrite`` is False (all targets are listed), or ``out_dir``
        cannot be written.

    Notes
    -----
    Files (``<stem>`` is ``priority_sites`` for a plan, ``priority_villages`` for an
    assessment):

    * ``blankspot.gpkg``: layers ``villages`` (with ``rank`` and ``score`` from
      :func:`blankspot.score_villages`, sorted by rank), ``businesses`` (every input row:
      rejected rows have a null geometry, ``status`` and ``rejected_reason``, so the layer's
      rows add up to ``accounting["input"]``; absent in counts mode), ``blank_spots`` and
      ``sites``. Layers are in the working CRS (``assessment.crs``), polygons as
      MultiPolygon, the index written as a column (``village_id``, ``business_id``,
      ``blank_spot_id``). The businesses layer leaves out input columns that repeat
      ``business_id`` (the input's id column) or ``lon``/``lat`` (the raw coordinate text).
      For QGIS: every layer has a title and a description (``gpkg_contents.identifier`` and
      ``description``), every column a description in ``gpkg_data_columns`` (GeoPackage
      schema extension; ``name`` is the Indonesian header with ``lang="id"``, which QGIS
      shows as the field alias, and descriptions are Indonesian then English), and a
      default style in the ``layer_styles`` table (the layout QGIS writes): villages and
      blank spots shaded by businesses without signal (5 quantile classes and one for 0),
      businesses coloured by ``status``, sites labelled with their rank. Titles,
      descriptions and headers come from :mod:`blankspot._i18n` (``LAYERS``, ``COLUMNS``);
      a new layer is one entry in :data:`LAYERS` plus its words there.
    * ``shp/<layer>.shp`` with ``.shx .dbf .prj .cpg`` (``UTF-8``, so non-ASCII names
      survive), same layers and CRS. Every ``.dbf`` field is as wide as its longest value,
      real numbers with the fewest decimals (at most 15) that keep every value (GDAL's
      default is 80 characters for text and 24.15 for numbers: 165 MB instead of 35 MB for
      192,234 businesses). Booleans become 0/1 integers, dates ISO text. Text longer
      than the dBASE limit of 254 bytes is cut (logged; the GeoPackage keeps it whole).
      Field names are cut to 10 characters by a fixed, collision-free mapping, written
      beside each layer as ``shp/<layer>_fields.csv`` (``full_name,short_name``):

      1. a name that is already a valid field name (at most 10 ASCII letters, digits or
         ``_``) keeps it, so ``blank_spot`` stays ``blank_spot`` whatever else is there;
      2. blankspot's own long names use fixed abbreviations (``SHP_ABBREVIATIONS``:
         ``cumulative_businesses`` -> ``cum_bus``, ``blank_spot_area_km2`` ->
         ``bs_area_km``, ``kecamatan_code`` -> ``kec_code``, ...);
      3. any other name is folded to ASCII (accents dropped, other characters -> ``_``)
         and cut to 10 characters;
      4. taking the columns in order, a name already used (ignoring case, as dBASE does)
         becomes its first 8 characters plus a 2-digit counter (``population_male`` after
         ``population_total`` -> ``populati01``), the first counter not yet used.

      The mapping depends only on the column names and their order, so it is the same
      on every run.
    * ``<stem>.csv``: the ranked list for officials, UTF-8 *with* a byte-order mark
      (``utf-8-sig``) because Excel only detects UTF-8 in a CSV that has one; with
      ``lang="id"`` the separator is ``;`` and the decimal mark ``,``, as Excel set to
      Indonesian expects. Shares are rounded to 4 decimals, metres to whole metres. Sites:
      rank, site id, WGS84 longitude/latitude (6 decimals), kabupaten, kecamatan, the
      site's village, villages reached (number and names), new and cumulative businesses
      (and weighted ones for a weighted plan), radius, cost and cost per new business
      (whole Rupiah), backhaul link. Villages: rank, id, name, kecamatan, kabupaten, a
      WGS84 point inside the village, business counts and shares, area, score.
    * ``<stem>.xlsx``: sheets ``priority_sites`` (plan only), ``per_year`` (a plan phased
      with :func:`blankspot.phase_plan`), ``villages``, ``summary`` and ``method``
      (``Prioritas Lokasi``, ``Per Tahun``, ``Desa``, ``Ringkasan``, ``Metode`` with
      ``lang="id"``), header row bold and frozen, filters on, a number format per column
      (counts ``#,##0``, shares as percentages, Rupiah whole, a score without decimals when
      it is whole). The summary holds the key figures (villages, business accounting,
      uncovered share, coverage source, working CRS, method, objective, upper bound, gap,
      how good the plan is, total cost) and no date; the method sheet explains in plain
      words how the sites were chosen and what the upper bound means.
    * With ``lang="id"`` every value an official reads in the CSV and Excel files is in
      Bahasa Indonesia: method, yes/no, backhaul targets, the plan's notes and the
      coverage description.

    Atomicity: everything is first written into a hidden staging folder inside
    ``out_dir``; only when every file is complete is each moved into place with
    :func:`os.replace` (atomic per file), so a failure leaves existing outputs untouched
    and no partial file behind. All targets are checked before anything is written.

    Determinism: the same input gives the same CSV bytes and the same layer and sheet
    contents; the GeoPackage, ``.dbf`` and ``.xlsx`` containers also record when they were
    written.

    Memory: every layer is written :data:`CHUNK_ROWS` (500,000) rows at a time, to the
    GeoPackage, the shapefile and its ``.dbf`` alike, and the businesses layer is never made
    whole (a compact assessment's points are built one chunk at a time), so the export holds
    about one chunk beyond the assessment, however many businesses there are (10 million:
    0.4 GB, where writing the layer at once took 5.1 GB). The files are those of writing
    each layer at once.
    The CSV and Excel files hold the ranked sites or villages, not the businesses.

    Examples
    --------
    >>> import tempfile
    >>> import geopandas as gpd
    >>> from shapely.geometry import Point, box
    >>> from blankspot import coverage
    >>> from blankspot.assessment import assess
    >>> villages = gpd.GeoDataFrame(
    ...     {"name": ["A", "B"]},
    ...     geometry=[box(0, 0, 1000, 1000), box(1000, 0, 2000, 1000)],
    ...     index=["18.01.01.2001", "18.01.01.2002"], crs="EPSG:32748")
    >>> shops = gpd.GeoDataFrame(geometry=[Point(500, 500), Point(1500, 500)], crs="EPSG:32748")
    >>> towers = gpd.GeoDataFrame(geometry=[box(0, 0, 1000, 1000)], crs="EPSG:32748")
    >>> result = assess(villages, shops, coverage.from_polygons(towers), crs="EPSG:32748")
    >>> with tempfile.TemporaryDirectory() as out:
    ...     written = export(result, out, formats=("gpkg", "csv"))
    ...     sorted(p.name for p in written.values())
    ['blankspot.gpkg', 'priority_villages.csv']
    """
    assessment, plan = _unpack(result)
    fmts = _check_formats(formats)
    if lang not in LANGS:
        raise InputError(f"lang={lang!r} is not supported; choose one of: {', '.join(LANGS)}.")
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise InputFileError(
            f"The output folder {out} is a file. Pass a folder (it is created if missing)."
        )

    # everything that can fail on bad input runs before the first file is touched
    scored = _scored_villages(assessment)
    layers = _layers(assessment, plan, scored)
    tables = official_tables(assessment, plan, scored, lang) if {"csv", "xlsx"} & set(fmts) else {}
    stem = "priority_sites" if plan is not None else "priority_villages"
    plan_files = _planned_files(fmts, list(layers), stem)
    targets = [out / rel for files in plan_files.values() for rel in files]
    _refuse_existing(targets, overwrite=overwrite)
    check_writable(out, targets)

    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputFileError(f"Cannot write into the output folder {out}: {exc}") from exc
    with _claim_folder(out):
        # checked again under the lock: another process may have exported meanwhile
        _refuse_existing(targets, overwrite=overwrite)
        try:
            staging = Path(tempfile.mkdtemp(prefix=".blankspot-export-", dir=out))
        except OSError as exc:
            raise InputFileError(f"Cannot write into the output folder {out}: {exc}") from exc
        try:
            if "gpkg" in fmts:
                weighted = bool(plan.weighted) if plan is not None else assessment.weighted
                _write_gpkg(staging / GPKG_NAME, layers, lang=lang, weighted=bool(weighted))
            if "shp" in fmts:
                (staging / SHP_DIR).mkdir()
                for name, layer in layers.items():
                    _write_shapefile(staging / SHP_DIR, name, layer)
            if "csv" in fmts:
                write_csv(staging / f"{stem}.csv", next(iter(tables.values())), lang)
            if "xlsx" in fmts:
                write_xlsx(staging / f"{stem}.xlsx", tables, lang)
            staged = sorted(p.relative_to(staging) for p in staging.rglob("*") if p.is_file())
            expected = sorted(rel for files in plan_files.values() for rel in files)
            if staged != expected:  # pragma: no cover - a writer broke its own contract
                raise AssertionError(f"export staged {staged}, expected {expected}")
            _move_into_place(staging, out, staged)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    if "shp" in fmts:
        _remove_stale_indexes(out / SHP_DIR, layers)

    written = {kind: out / files[0] for kind, files in plan_files.items()}
    log.info("Exported %d file(s) to %s: %s", len(targets), out, ", ".join(written))
    return written


# --------------------------------------------------------------------------- atomic writes


def _refuse_existing(targets: list[Path], *, overwrite: bool) -> None:
    existing = [t for t in targets if t.exists()]
    if existing and not overwrite:
        shown = ", ".join(str(p) for p in existing[:10])
        more = f" and {len(existing) - 10} more" if len(existing) > 10 else ""
        raise InputFileError(
            f"{len(existing)} output file(s) already exist: {shown}{more}. blankspot never "
            "overwrites outputs silently: pass overwrite=True (CLI: --overwrite) or choose "
            "another output folder. Nothing was written."
        )


def check_writable(out: Path, targets: Iterable[Path]) -> None:
    """Raise :class:`InputFileError` unless every target can be created or replaced.

    Checked before any work: a folder that cannot be created (a file in the way, no
    permission on the nearest existing folder), a target that is a folder, or a target's
    folder without write permission.
    """
    problems: list[str] = []
    for path in [out, *(t.parent for t in targets)]:
        probe = path
        while not probe.exists():
            if probe.parent == probe:
                break
            probe = probe.parent
        if probe.exists() and not probe.is_dir():
            problems.append(f"{probe} is a file, so {path} cannot be a folder")
        elif probe.exists() and not os.access(probe, os.W_OK | os.X_OK):
            problems.append(f"{probe} is not writable")
    for t in targets:
        if t.is_dir():
            problems.append(f"{t} is a folder where a file is to be written")
    if problems:
        unique = list(dict.fromkeys(problems))
        raise InputFileError(
            f"Cannot write the outputs into {out}: {'; '.join(unique[:5])}. Choose another "
            "output folder (CLI: --out) or fix its permissions. Nothing was written."
        )


@contextmanager
def _claim_folder(folder: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``folder`` (POSIX ``flock``) while a set is moved in.

    A second export into the same folder waits, then finds the first one's files: with
    ``overwrite=False`` it raises, with ``overwrite=True`` it replaces the whole set. The
    lock is released when the process ends, whatever the reason. Without ``fcntl``
    (Windows) there is no lock.
    """
    if fcntl is None:  # pragma: no cover - Windows
        yield
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock


def _move_into_place(staging: Path, out: Path, staged: list[Path]) -> None:
    """Move every staged file into ``out``: all of them, or (on any failure) none.

    Files being replaced are first moved aside inside ``staging``; on an error or an
    interruption every move is undone, so ``out`` holds exactly what it held before.
    """
    aside = staging / ".replaced"
    done: list[tuple[Path, bool, bool]] = []  # (relative path, had an old file, new moved in)
    made_dirs: list[Path] = []
    try:
        for rel in staged:
            dst = out / rel
            for parent in reversed(dst.relative_to(out).parents[:-1]):
                if not (out / parent).exists():
                    (out / parent).mkdir()
                    made_dirs.append(out / parent)
            had = dst.exists()
            if had:
                (aside / rel).parent.mkdir(parents=True, exist_ok=True)
                os.replace(dst, aside / rel)
            done.append((rel, had, False))
            os.replace(staging / rel, dst)
            done[-1] = (rel, had, True)
    except BaseException as exc:
        for rel, had, moved in reversed(done):
            if moved:
                (out / rel).unlink(missing_ok=True)
            if had:
                os.replace(aside / rel, out / rel)
        for d in reversed(made_dirs):
            d.rmdir()
        if isinstance(exc, OSError):
            raise InputFileError(
                f"Cannot move the outputs into {out} ({exc}); nothing was changed there. Fix "
                "the folder's permissions or choose another output folder."
            ) from exc
        raise


# --------------------------------------------------------------------------- validation


def _unpack(result: Any) -> tuple[Assessment, Any | None]:
    """Return ``(assessment, plan or None)`` for a Plan-like object or an Assessment."""
    if isinstance(result, Assessment):
        return result, None
    missing = [a for a in _PLAN_ATTRS if not hasattr(result, a)]
    if not missing and isinstance(result.assessment, Assessment):
        return result.assessment, result
    raise InputError(
        "export() needs a Plan (from blankspot.rank_sites) or an Assessment (from "
        f"blankspot.assess), got {type(result).__name__}"
        + (f" (it has no {', '.join(missing)})" if missing and len(missing) < 8 else "")
        + ". To write a plain GeoDataFrame, use GeoDataFrame.to_file()."
    )


def _check_formats(formats: Sequence[str] | str) -> tuple[str, ...]:
    if isinstance(formats, str):
        formats = (formats,)
    fmts = tuple(dict.fromkeys(str(f).lower().lstrip(".") for f in formats))
    bad = [f for f in fmts if f not in FORMATS]
    if bad or not fmts:
        got = ", ".join(map(repr, bad)) if bad else "nothing"
        raise InputError(f"Unknown export format(s): {got}. Choose any of: {', '.join(FORMATS)}.")
    # write in the documented order whatever order the caller gave
    return tuple(f for f in FORMATS if f in fmts)


def _planned_files(fmts: tuple[str, ...], layers: list[str], stem: str) -> dict[str, list[Path]]:
    """Every file each output kind writes, relative to ``out_dir``; the first is the main one."""
    files: dict[str, list[Path]] = {}
    if "gpkg" in fmts:
        files["gpkg"] = [Path(GPKG_NAME)]
    if "shp" in fmts:
        for name in layers:
            files[f"shp_{name}"] = [Path(SHP_DIR, name + ext) for ext in SHP_SIDECARS]
            files[f"shp_{name}_fields"] = [Path(SHP_DIR, f"{name}_fields.csv")]
    if "csv" in fmts:
        files["csv"] = [Path(f"{stem}.csv")]
    if "xlsx" in fmts:
        files["xlsx"] = [Path(f"{stem}.xlsx")]
    return files


# --------------------------------------------------------------------------- layers


def _scored_villages(assessment: Assessment) -> gpd.GeoDataFrame:
    """Rank the villages with :func:`blankspot.prioritise.score_villages`."""
    # imported here so that prioritise may one day use export without an import cycle
    from blankspot.prioritise import score_villages  # noqa: PLC0415

    return score_villages(assessment)


class _Layer(NamedTuple):
    """One output layer, written :data:`CHUNK_ROWS` rows at a time."""

    n_rows: int
    #: the written columns (``geometry`` among them), the same in every chunk
    columns: list[str]
    #: ``rows(start, stop)``: the layer's rows ``[start, stop)``, ready to write
    rows: Callable[[int, int], gpd.GeoDataFrame]
    #: the whole layer where it is held anyway (every layer but the businesses)
    frame: gpd.GeoDataFrame | None = None


def _chunks(layer: _Layer) -> Iterator[gpd.GeoDataFrame]:
    """Yield the layer's rows in order, :data:`CHUNK_ROWS` at a time (an empty one: once)."""
    step = max(int(CHUNK_ROWS), 1)
    for start in range(0, max(layer.n_rows, 1), step):
        yield layer.rows(start, min(start + step, layer.n_rows))


def _held_layer(gdf: gpd.GeoDataFrame, *, name: str, crs: CRS) -> _Layer:
    frame = _layer_frame(gdf, name=name, crs=crs)
    return _Layer(len(frame), list(frame.columns), lambda a, b: frame.iloc[a:b], frame)


def _layers(assessment: Assessment, plan: Any | None, villages: gpd.GeoDataFrame) -> dict:
    """Every output layer by name (a :class:`_Layer`); the businesses are never copied whole."""
    crs = assessment.crs
    layers: dict[str, _Layer] = {"villages": _held_layer(villages, name="villages", crs=crs)}
    if assessment.businesses is not None:
        layers["businesses"] = _business_layer(assessment.businesses, crs)
    layers["blank_spots"] = _held_layer(assessment.blank_spots, name="blank_spots", crs=crs)
    if plan is not None:
        layers["sites"] = _held_layer(plan.sites, name="sites", crs=crs)
        if getattr(plan, "backhaul", None) is not None:
            layers["backhaul"] = _held_layer(plan.backhaul.links, name="backhaul", crs=crs)
    return layers


def _business_layer(businesses: pd.DataFrame, crs: CRS) -> _Layer:
    """Make the businesses layer, chunk by chunk from the assessment's table when written.

    A compact table (``assess(compact=True)``) gets its points one chunk at a time; an
    in-memory GeoDataFrame is sliced. Input columns that repeat ``business_id`` or
    ``lon``/``lat`` are left out (:func:`_duplicated_columns`). The first, empty chunk is
    made here, so a layer that cannot be written (no CRS) fails before anything is written.
    """
    compact = not isinstance(businesses, gpd.GeoDataFrame)
    drop = _duplicated_columns(businesses)

    def rows(start: int, stop: int) -> gpd.GeoDataFrame:
        part = businesses.iloc[start:stop].drop(columns=drop)
        if compact:  # assess(compact=True)
            part = _compact_as_points(part, crs)
        return _layer_frame(part, name="businesses", crs=crs)

    return _Layer(len(businesses), list(rows(0, 0).columns), rows)


def _compact_as_points(businesses: pd.DataFrame, crs: CRS) -> gpd.GeoDataFrame:
    """Turn rows of the compact business table of ``assess(compact=True)`` into points again.

    ``x``/``y`` (working CRS; NaN where rejected) become the point geometry (missing where
    rejected); the categoricals are written as text. The compact table has no ``lon``/``lat``
    columns: the layer's geometry carries the location.
    """
    x = businesses["x"].to_numpy(dtype="float64")
    y = businesses["y"].to_numpy(dtype="float64")
    ok = np.isfinite(x) & np.isfinite(y)
    geoms = np.full(len(businesses), None, dtype=object)
    geoms[ok] = shapely.points(x[ok], y[ok])
    return gpd.GeoDataFrame(businesses.drop(columns=["x", "y"]), geometry=geoms, crs=crs)


def _parsed_number(s: pd.Series) -> np.ndarray:
    """Numbers of a text column as read_businesses parses them (decimal commas accepted)."""
    text = s.astype("string").str.strip().str.replace(",", ".", regex=False)
    return pd.to_numeric(text, errors="coerce").to_numpy(dtype="float64", na_value=np.nan)


def _duplicated_columns(businesses: pd.DataFrame) -> list[str]:
    """Input columns that repeat what the layer already holds, checked chunk by chunk.

    The input's id column repeats ``business_id`` (the index), and its raw coordinate text
    (``longitude``, ``bujur``, ...) repeats the parsed ``lon``/``lat`` (a rejected row's raw
    text is quoted in its ``rejected_reason``): a column is left out when every row repeats
    them (for the coordinates: every row with a parsed value, and at least one has one);
    an empty layer keeps its columns.
    """
    from blankspot.io import LAT_COLUMNS, LON_COLUMNS  # noqa: PLC0415 - io is heavy

    geom = businesses.geometry.name if isinstance(businesses, gpd.GeoDataFrame) else None
    # column -> the parsed column its text may repeat (None: only the id may be repeated)
    candidates: dict[str, str | None] = {}
    for col in businesses.columns:
        if col in ("lon", "lat", "weight", "rejected_reason", geom):
            continue
        dtype = businesses[col].dtype
        if not (pd.api.types.is_object_dtype(dtype) or pd.api.types.is_string_dtype(dtype)):
            continue
        key = str(col).strip().lower()
        parsed_col = "lon" if key in LON_COLUMNS else "lat" if key in LAT_COLUMNS else None
        candidates[col] = parsed_col if parsed_col in businesses.columns else None
    repeats_id = dict.fromkeys(candidates, len(businesses) > 0)  # no rows: nothing repeats
    repeats_coord = {col: parsed is not None for col, parsed in candidates.items()}
    any_parsed = dict.fromkeys(candidates, False)
    step = max(int(CHUNK_ROWS), 1)
    for start in range(0, len(businesses), step):
        open_cols = [c for c in candidates if repeats_id[c] or repeats_coord[c]]
        if not open_cols:
            break
        part = businesses.iloc[start : start + step]
        index_text = part.index.astype(str).to_numpy()
        for col in open_cols:
            s = part[col]
            if repeats_id[col]:
                repeats_id[col] = bool(s.notna().all()) and np.array_equal(
                    s.astype(str).to_numpy(), index_text
                )
            if repeats_coord[col]:
                parsed = part[candidates[col]].to_numpy(dtype="float64", na_value=np.nan)
                ok = np.isfinite(parsed)
                any_parsed[col] = any_parsed[col] or bool(ok.any())
                repeats_coord[col] = np.array_equal(_parsed_number(s)[ok], parsed[ok])
    drop = [c for c in candidates if repeats_id[c] or (repeats_coord[c] and any_parsed[c])]
    if drop:
        log.info("businesses layer: %s repeat business_id, lon or lat; not written", drop)
    return drop


def _layer_frame(gdf: gpd.GeoDataFrame, *, name: str, crs: CRS) -> gpd.GeoDataFrame:
    """Copy a layer for GIS formats: working CRS, index as a column, plain column types."""
    if not isinstance(gdf, gpd.GeoDataFrame):
        raise InputError(f"The {name} layer should be a GeoDataFrame, got {type(gdf).__name__}.")
    src_crs = require_crs(gdf.crs, what=f"The {name} layer")
    if not src_crs.equals(crs):
        gdf = gdf.to_crs(crs)
    geom = gdf.geometry.name
    spec = LAYERS.get(name)
    if gdf.index.name is None and spec is not None and spec.index is not None:
        # the contract names these ids; an unnamed index must not lose them
        gdf = gdf.rename_axis(spec.index)
    if gdf.index.name is not None and gdf.index.name not in gdf.columns:
        df = gdf.reset_index()
    else:
        df = gdf.reset_index(drop=True)
    cols = {}
    for col in df.columns:
        s = df[col]
        if col == geom:
            continue
        if (
            isinstance(s.dtype, pd.CategoricalDtype)
            or s.dtype == object
            or pd.api.types.is_timedelta64_dtype(s.dtype)
        ):
            # lists, dicts, mixed objects: GIS formats hold text, so write their text form;
            # a missing value stays missing (not the text "None")
            cols[col] = s.astype("str").where(s.notna(), None)
    if cols:
        df = df.assign(**cols)
    out = gpd.GeoDataFrame(df, geometry=geom, crs=crs)
    if geom != "geometry":
        out = out.rename_geometry("geometry")
    return out


def _write_gpkg(path: Path, layers: dict[str, _Layer], *, lang: str, weighted: bool) -> None:
    """Write the layers with their titles, descriptions, column descriptions and styles."""
    for name, layer in layers.items():
        title, description = _i18n.layer_text(name, lang) if name in _i18n.LAYERS else (name, "")
        _write_layer(
            path,
            name,
            layer,
            driver="GPKG",
            layer_options={"IDENTIFIER": title, "DESCRIPTION": description},
        )
    styles = [
        (name, *LAYERS[name].style(_style_rows(layer), lang=lang, weighted=weighted))  # type: ignore[misc]
        for name, layer in layers.items()
        if LAYERS[name].style is not None
    ]
    if styles:
        _write_layer_styles(path, styles, lang)
    _write_data_columns(path, {name: layer.columns for name, layer in layers.items()}, lang)


def _style_rows(layer: _Layer) -> gpd.GeoDataFrame:
    """Return what a layer's style is drawn from: the layer, or a streamed one's columns."""
    return layer.frame if layer.frame is not None else layer.rows(0, 0)


def _write_layer(
    path: Path,
    name: str,
    layer: _Layer,
    *,
    driver: str,
    columns: list[str] | None = None,
    **options: Any,
) -> None:
    """Write one layer (or only ``columns`` of it) as a stream of :data:`CHUNK_ROWS` rows.

    One GDAL write: the chunks are made one after the other while GDAL consumes them (an
    Arrow stream), so memory holds one chunk, and the GeoPackage's spatial index is built
    once at the end (appending chunk by chunk would update it row by row, 3 times slower).
    Every chunk is handed over as ``pyogrio.write_dataframe(..., use_arrow=True)`` would
    (:func:`_arrow_chunk`), so the fields and values are those of writing the layer whole.
    """
    spec = LAYERS[name]
    multi = spec.geometry.startswith("Multi")
    tables = (_arrow_chunk(chunk, multi=multi, columns=columns) for chunk in _chunks(layer))
    first = next(tables)
    schema = first.schema

    def batches() -> Iterator[pa.RecordBatch]:
        # every chunk has the first one's schema (text is text even where all missing);
        # the reader refuses a batch that has not
        yield from first.to_batches()
        for table in tables:
            yield from table.to_batches()

    pyogrio.write_arrow(
        pa.RecordBatchReader.from_batches(schema, batches()),
        path,
        layer=name,
        driver=driver,
        geometry_name="geometry",
        geometry_type=spec.geometry,
        crs=_crs_text(layer.rows(0, 0).crs),
        **options,
    )


def _crs_text(crs: CRS) -> str:
    """Name the CRS as pyogrio's ``write_dataframe`` does to GDAL: EPSG code, else WKT1."""
    epsg = crs.to_epsg()
    return f"EPSG:{epsg}" if epsg else crs.to_wkt("WKT1_GDAL")


def _arrow_chunk(
    gdf: gpd.GeoDataFrame, *, multi: bool, columns: list[str] | None = None
) -> pa.Table:
    """One chunk as an Arrow table, as ``pyogrio.write_dataframe(use_arrow=True)`` makes it.

    Geometry as WKB (single parts made multi for a ``Multi*`` layer), a datetime column with
    a time zone other than UTC as text that GDAL is told is a DateTime, a column of nothing
    but nulls as text.
    """
    df = pd.DataFrame(gdf if columns is None else gdf[columns], copy=False)
    geoms = gdf.geometry.to_numpy()
    if multi:
        geoms = geoms.copy()
        kind = shapely.get_type_id(geoms)
        for single, make in (
            (shapely.GeometryType.POINT, shapely.multipoints),
            (shapely.GeometryType.LINESTRING, shapely.multilinestrings),
            (shapely.GeometryType.POLYGON, shapely.multipolygons),
        ):
            mask = kind == single
            if mask.any():
                geoms[mask] = make(np.atleast_2d(geoms[mask]), axis=0)
    df = df.assign(geometry=shapely.to_wkb(geoms))
    datetime_cols = []
    for col, dtype in df.dtypes.items():
        if isinstance(dtype, pd.DatetimeTZDtype) and str(dtype.tz) != "UTC":
            df[col] = df[col].astype("string")
            datetime_cols.append(col)
    table = pa.Table.from_pandas(df, preserve_index=False)
    for i, field in enumerate(table.schema):
        if field.name in datetime_cols:
            meta = {**(field.metadata or {}), b"GDAL:OGR:type": b"DateTime"}
            table = table.set_column(i, field.with_metadata(meta), table.column(i))
        elif pa.types.is_null(field.type):
            table = table.set_column(
                i, field.with_type(pa.string()), table.column(i).cast(pa.string())
            )
        elif field.name == "geometry" and not pa.types.is_binary(field.type):
            # all-missing geometries come as nulls
            table = table.set_column(
                i, field.with_type(pa.binary()), table.column(i).cast(pa.binary())
            )
    return table


def _write_layer_styles(path: Path, styles: list[tuple[str, str, str]], lang: str) -> None:
    """Store QGIS styles in the ``layer_styles`` table, the layout QGIS itself writes."""
    when = pd.Timestamp.now(tz="UTC").tz_localize(None).floor("s")
    label = "blankspot" if lang == "en" else "blankspot (Bahasa Indonesia)"
    table = pd.DataFrame(
        {
            "f_table_catalog": "",
            "f_table_schema": "",
            "f_table_name": [s[0] for s in styles],
            "f_geometry_column": "geom",
            "styleName": [s[0] for s in styles],
            "styleQML": [s[1] for s in styles],
            "styleSLD": [s[2] for s in styles],
            "useAsDefault": True,
            "description": [f"{label}: {_i18n.layer_text(s[0], lang)[0]}" for s in styles],
            "owner": "",
            "ui": None,
            "update_time": when,
        }
    )
    pyogrio.write_dataframe(
        table, path, layer="layer_styles", driver="GPKG", layer_options={"FID": "id"}
    )


_DATA_COLUMNS_SQL = (
    "CREATE TABLE IF NOT EXISTS gpkg_data_columns (table_name TEXT NOT NULL, "
    "column_name TEXT NOT NULL, name TEXT, title TEXT, description TEXT, mime_type TEXT, "
    "constraint_name TEXT, CONSTRAINT pk_gdc PRIMARY KEY (table_name, column_name), "
    "CONSTRAINT gdc_tn UNIQUE (table_name, name))",
    "CREATE TABLE IF NOT EXISTS gpkg_data_column_constraints (constraint_name TEXT NOT NULL, "
    "constraint_type TEXT NOT NULL, value TEXT, min NUMERIC, min_is_inclusive BOOLEAN, "
    "max NUMERIC, max_is_inclusive BOOLEAN, description TEXT, "
    "CONSTRAINT gdcc_ntv UNIQUE (constraint_name, constraint_type, value))",
    "CREATE TABLE IF NOT EXISTS gpkg_extensions (table_name TEXT, column_name TEXT, "
    "extension_name TEXT NOT NULL, definition TEXT NOT NULL, scope TEXT NOT NULL, "
    "CONSTRAINT ge_tce UNIQUE (table_name, column_name, extension_name))",
)
# the GeoPackage "Schema" extension that declares gpkg_data_columns
_SCHEMA_EXTENSION = ("gpkg_schema", "http://www.geopackage.org/spec/#extension_schema")


def _write_data_columns(path: Path, columns: dict[str, list[str]], lang: str) -> None:
    """Describe every column in ``gpkg_data_columns`` (GeoPackage schema extension).

    ``name`` is the column's alias in QGIS (its Indonesian header with ``lang="id"``),
    ``description`` says what it holds (Indonesian then English with ``lang="id"``). An input
    column blankspot does not know is described as such.
    """
    rows = []
    for layer, names in columns.items():
        used: set[str] = set()
        for col in names:
            if col == "geometry":
                continue
            alias = _i18n.header(col, lang)
            alias = col if alias in used else alias
            used.add(alias)
            desc = _i18n.column_description(layer, col, lang) or (
                "Kolom dari data masukan, disalin apa adanya. / Column of the input, copied as is."
                if lang == "id"
                else "Column of the input, copied as is."
            )
            rows.append((layer, col, alias, _i18n.header(col, lang), desc))
    con = sqlite3.connect(path)
    try:
        with con:
            for sql in _DATA_COLUMNS_SQL:
                con.execute(sql)
            con.executemany(
                "INSERT OR REPLACE INTO gpkg_data_columns "
                "(table_name, column_name, name, title, description) VALUES (?, ?, ?, ?, ?)",
                rows,
            )
            for table in ("gpkg_data_columns", "gpkg_data_column_constraints"):
                # NULL column names never collide in a UNIQUE constraint: test explicitly
                con.execute(
                    "INSERT INTO gpkg_extensions SELECT ?, NULL, ?, ?, 'read-write' WHERE NOT "
                    "EXISTS (SELECT 1 FROM gpkg_extensions WHERE table_name = ? AND "
                    "extension_name = ?)",
                    (table, *_SCHEMA_EXTENSION, table, _SCHEMA_EXTENSION[0]),
                )
    finally:
        con.close()


# --------------------------------------------------------------------------- shapefiles


def _ascii_field(name: str) -> str:
    folded = unicodedata.normalize("NFKD", str(name)).encode("ascii", "ignore").decode("ascii")
    folded = re.sub(r"[^A-Za-z0-9_]", "_", folded)
    return folded or "field"


def _shapefile_field_names(columns: Iterable[str]) -> dict[str, str]:
    """Map column names to unique dBASE field names of at most 10 ASCII characters.

    See :func:`export` (Notes) for the rules; the result depends only on ``columns``.
    """
    columns = list(columns)
    mapping: dict[str, str] = {}
    used: set[str] = set()
    # names that already fit are kept first, so a truncated long name can never take them
    for col in columns:
        name = str(col)
        if re.fullmatch(r"[A-Za-z0-9_]{1,10}", name) and name.lower() not in used:
            mapping[col] = name
            used.add(name.lower())
    for col in columns:
        if col in mapping:
            continue
        base = SHP_ABBREVIATIONS.get(col) or _ascii_field(col)
        short = base[:_DBF_MAX_NAME]
        k = 0
        while short.lower() in used:
            k += 1
            suffix = f"{k:02d}"
            short = base[: _DBF_MAX_NAME - len(suffix)] + suffix
        used.add(short.lower())
        mapping[col] = short
    return {col: mapping[col] for col in columns}


def _shapefile_attributes(gdf: gpd.GeoDataFrame) -> tuple[pd.DataFrame, dict[str, int]]:
    """Shapefile-safe attributes: bools as ints, dates as text, text cut to 254 bytes.

    Returns the table (without the geometry) and, per column, how many values were cut.
    """
    cols = {}
    cut_values = {}
    for col in gdf.columns:
        if col == "geometry":
            continue
        s = gdf[col]
        if s.dtype == bool:
            cols[col] = s.astype("int64")
        elif isinstance(s.dtype, pd.BooleanDtype):
            cols[col] = s.astype("Int64")
        elif pd.api.types.is_datetime64_any_dtype(s.dtype):
            cols[col] = s.dt.strftime("%Y-%m-%dT%H:%M:%S%z")
        elif pd.api.types.is_string_dtype(s.dtype) and s.notna().any():
            long = utf8_lengths(s) > _DBF_MAX_BYTES
            if long.any():
                # only the few over-long values are touched; cut on a character boundary
                cut = [
                    v.encode("utf-8")[:_DBF_MAX_BYTES].decode("utf-8", "ignore") for v in s[long]
                ]
                s = s.copy()
                s[long] = cut
                cols[col] = s
                cut_values[col] = int(long.sum())
    out = pd.DataFrame(gdf.drop(columns="geometry"))
    return (out.assign(**cols) if cols else out), cut_values


def _write_shapefile(folder: Path, name: str, layer: _Layer) -> None:
    """Write ``<name>.shp`` and its sidecars, :data:`CHUNK_ROWS` rows at a time."""
    mapping = _shapefile_field_names([c for c in layer.columns if c != "geometry"])
    # GDAL writes the geometry (.shp .shx), the .prj and the .cpg (UTF-8); the attribute
    # table is ours, every field as narrow as its data (GDAL's are 80 wide or 24.15)
    _write_layer(
        folder / f"{name}.shp",
        name,
        layer,
        driver="ESRI Shapefile",
        columns=["geometry"],
        encoding="UTF-8",
    )
    cut: dict[tuple[int, str], int] = {}  # (chunk, column) -> values cut; the same each pass

    def tables() -> Iterator[pd.DataFrame]:
        for i, chunk in enumerate(_chunks(layer)):
            table, cut_values = _shapefile_attributes(chunk)
            cut.update({(i, col): k for col, k in cut_values.items()})
            yield table.rename(columns=mapping)

    write_dbf_chunks(folder / f"{name}.dbf", tables)
    for col in dict.fromkeys(col for _, col in cut):
        log.warning(
            "Shapefile %s: %d value(s) of column %r are longer than the dBASE limit "
            "of %d bytes and were cut; the GeoPackage and CSV keep them whole.",
            name,
            sum(k for (_, c), k in cut.items() if c == col),
            col,
            _DBF_MAX_BYTES,
        )
    fields = pd.DataFrame({"full_name": list(mapping), "short_name": list(mapping.values())})
    fields.to_csv(folder / f"{name}_fields.csv", index=False, encoding="utf-8", lineterminator="\n")


def _remove_stale_indexes(folder: Path, layers: dict[str, _Layer]) -> None:
    for name in layers:
        for ext in _SHP_STALE_INDEXES:
            stale = folder / f"{name}{ext}"
            if stale.exists():
                stale.unlink()
                log.info("Removed %s: a spatial index of the replaced shapefile", stale)
