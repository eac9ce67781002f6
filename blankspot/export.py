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
import tempfile
import unicodedata
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from openpyxl.utils import get_column_letter

import geopandas as gpd
import pyogrio
from pyproj import CRS

from blankspot._errors import InputError, InputFileError
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
#: Languages of the officials' tables: English (code names) or Bahasa Indonesia.
LANGS = ("en", "id")

GPKG_NAME = "blankspot.gpkg"
SHP_DIR = "shp"
SHP_SIDECARS = (".shp", ".shx", ".dbf", ".prj", ".cpg")
# spatial-index sidecars other tools add; stale after the .shp is replaced, so they are removed
_SHP_STALE_INDEXES = (".qix", ".sbn", ".sbx")
# the dBASE limit: longer text is cut by GDAL (with a warning per layer), so we cut it ourselves
_DBF_MAX_BYTES = 254
_DBF_MAX_NAME = 10

_LAYER_GEOMETRY = {
    "villages": "MultiPolygon",
    "businesses": "Point",
    "blank_spots": "MultiPolygon",
    "sites": "Point",
}

_INDEX_NAMES = {
    "villages": "village_id",
    "businesses": "business_id",
    "blank_spots": "blank_spot_id",
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
}

# Officials' tables: stable English code names -> Bahasa Indonesia headers.
_HEADERS_ID = {
    "rank": "Peringkat",
    "site_id": "ID Lokasi",
    "longitude": "Bujur",
    "latitude": "Lintang",
    "kabupaten": "Kabupaten/Kota",
    "kecamatan": "Kecamatan",
    "village_id": "Kode Desa/Kelurahan",
    "village_name": "Desa/Kelurahan",
    "villages_reached": "Desa/Kelurahan terjangkau",
    "village_ids": "Kode desa/kelurahan terjangkau",
    "village_names": "Nama desa/kelurahan terjangkau",
    "new_businesses": "UMKM baru terlayani",
    "cumulative_businesses": "UMKM kumulatif",
    "cumulative_share": "Pangsa kumulatif",
    "new_weighted_businesses": "UMKM tertimbang baru terlayani",
    "cumulative_weighted_businesses": "UMKM tertimbang kumulatif",
    "cumulative_weighted_share": "Pangsa tertimbang kumulatif",
    "radius_m": "Radius (m)",
    "cost_idr": "Biaya (Rp)",
    "cost_per_new_business": "Biaya per UMKM (Rp)",
    "backhaul_to": "Backhaul ke",
    "backhaul_m": "Jarak backhaul (m)",
    "n_businesses": "Jumlah UMKM",
    "n_covered": "UMKM bersinyal",
    "n_uncovered": "UMKM tanpa sinyal",
    "uncovered_share": "Pangsa UMKM tanpa sinyal",
    "weighted_uncovered": "UMKM tertimbang tanpa sinyal",
    "area_km2": "Luas (km²)",
    "covered_area_share": "Pangsa wilayah bersinyal",
    "blank_spot_area_km2": "Luas blank spot (km²)",
    "blank_spot": "Blank spot",
    "score": "Skor",
}

_SITE_COLUMNS = (
    "rank",
    "site_id",
    "longitude",
    "latitude",
    "kabupaten",
    "kecamatan",
    "village_id",
    "village_name",
    "villages_reached",
    "village_ids",
    "village_names",
    "new_businesses",
    "cumulative_businesses",
    "cumulative_share",
    "new_weighted_businesses",
    "cumulative_weighted_businesses",
    "cumulative_weighted_share",
    "radius_m",
    "cost_idr",
    "cost_per_new_business",
    "backhaul_to",
    "backhaul_m",
)

_VILLAGE_COLUMNS = (
    "rank",
    "village_id",
    "village_name",
    "kecamatan",
    "kabupaten",
    "longitude",
    "latitude",
    "n_businesses",
    "n_covered",
    "n_uncovered",
    "uncovered_share",
    "weighted_uncovered",
    "area_km2",
    "covered_area_share",
    "blank_spot_area_km2",
    "blank_spot",
    "score",
)

_SHEETS = {
    "en": {"sites": "priority_sites", "villages": "villages", "summary": "summary"},
    "id": {"sites": "Prioritas Lokasi", "villages": "Desa", "summary": "Ringkasan"},
}
_SUMMARY_HEADERS = {"en": ("item", "value"), "id": ("Butir", "Nilai")}
_YES_NO = {"en": ("yes", "no"), "id": ("ya", "tidak")}

# summary rows: code -> (English label, Indonesian label, Excel number format)
_SUMMARY_ROWS = {
    "villages": ("Villages assessed", "Desa/kelurahan dinilai", "#,##0"),
    "blank_spot_villages": ("Blank-spot villages", "Desa/kelurahan blank spot", "#,##0"),
    "blank_spot_areas": ("Blank-spot areas (polygons)", "Area blank spot (poligon)", "#,##0"),
    "businesses_input": ("Businesses in the input", "UMKM dalam data masukan", "#,##0"),
    "businesses_covered": ("Businesses with signal", "UMKM bersinyal", "#,##0"),
    "businesses_uncovered": ("Businesses without signal", "UMKM tanpa sinyal", "#,##0"),
    "businesses_outside": (
        "Businesses outside every village",
        "UMKM di luar semua desa/kelurahan",
        "#,##0",
    ),
    "businesses_rejected": (
        "Businesses rejected (unusable coordinates)",
        "UMKM ditolak (koordinat tidak dapat dipakai)",
        "#,##0",
    ),
    "businesses_unmatched": (
        "Businesses whose village name matched no village",
        "UMKM yang nama desanya tidak cocok",
        "#,##0",
    ),
    "uncovered_share": (
        "Share of businesses in villages without signal",
        "Pangsa UMKM di desa/kelurahan tanpa sinyal",
        "0.0%",
    ),
    "weight_col": ("Business weight column", "Kolom bobot UMKM", "@"),
    "coverage": ("Coverage source", "Sumber data cakupan sinyal", "@"),
    "crs": ("Working CRS", "CRS kerja", "@"),
    "notes": ("Notes", "Catatan", "@"),
    "sites": ("Sites in the plan", "Lokasi dalam rencana", "#,##0"),
    "method": ("Ranking method", "Metode pemeringkatan", "@"),
    "objective": ("Businesses newly connected", "UMKM baru terlayani", "#,##0"),
    "total_uncovered": ("Businesses to connect", "UMKM yang perlu dilayani", "#,##0"),
    "connected_share": ("Share connected by the plan", "Pangsa terlayani oleh rencana", "0.0%"),
    "upper_bound": (
        "Upper bound on businesses connected",
        "Batas atas UMKM terlayani",
        "#,##0",
    ),
    "gap": ("Optimality gap", "Celah optimalitas", "0.00%"),
    "unreachable": (
        "Businesses no candidate site reaches",
        "UMKM yang tidak terjangkau lokasi kandidat mana pun",
        "#,##0",
    ),
    "total_cost_idr": ("Total cost (Rp)", "Total biaya (Rp)", "#,##0"),
    "message": ("Note on the plan", "Keterangan rencana", "@"),
}
_SUMMARY_WEIGHTED = {
    "objective": ("Weighted businesses newly connected", "UMKM tertimbang baru terlayani"),
    "total_uncovered": ("Weighted businesses to connect", "UMKM tertimbang yang perlu dilayani"),
    "upper_bound": (
        "Upper bound on weighted businesses connected",
        "Batas atas UMKM tertimbang terlayani",
    ),
    "unreachable": (
        "Weighted businesses no candidate site reaches",
        "UMKM tertimbang yang tidak terjangkau lokasi kandidat mana pun",
    ),
}

# Excel number formats by code name; counts get theirs from their dtype
_NUMBER_FORMATS = {
    "longitude": "0.000000",
    "latitude": "0.000000",
    "cost_idr": "#,##0",
    "cost_per_new_business": "#,##0",
    "cumulative_share": "0.0%",
    "cumulative_weighted_share": "0.0%",
    "uncovered_share": "0.0%",
    "covered_area_share": "0.0%",
    "radius_m": "#,##0",
    "backhaul_m": "#,##0",
    "area_km2": "#,##0.00",
    "blank_spot_area_km2": "#,##0.00",
    "score": "0.000",
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
      ``blank_spot_id``).
    * ``shp/<layer>.shp`` with ``.shx .dbf .prj .cpg`` (``UTF-8``, so non-ASCII names
      survive), same layers and CRS. Booleans become 0/1 integers, dates ISO text. Text longer
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
    * ``<stem>.xlsx``: sheets ``priority_sites`` (plan only), ``villages`` and ``summary``
      (``Prioritas Lokasi``, ``Desa``, ``Ringkasan`` with ``lang="id"``), header row frozen,
      filters on, Rupiah and percentage number formats. The summary holds the key figures
      (villages, business accounting, uncovered share, coverage source, working CRS,
      method, objective, upper bound, gap, total cost) and no date.

    Atomicity: everything is first written into a hidden staging folder inside
    ``out_dir``; only when every file is complete is each moved into place with
    :func:`os.replace` (atomic per file), so a failure leaves existing outputs untouched
    and no partial file behind. All targets are checked before anything is written.

    Determinism: the same input gives the same CSV bytes and the same layer and sheet
    contents; the GeoPackage, ``.dbf`` and ``.xlsx`` containers also record when they were
    written.

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
    tables = _official_tables(assessment, plan, scored, lang) if {"csv", "xlsx"} & set(fmts) else {}
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
                _write_gpkg(staging / GPKG_NAME, layers)
            if "shp" in fmts:
                (staging / SHP_DIR).mkdir()
                for name, gdf in layers.items():
                    _write_shapefile(staging / SHP_DIR, name, gdf)
            if "csv" in fmts:
                _write_csv(staging / f"{stem}.csv", next(iter(tables.values())), lang)
            if "xlsx" in fmts:
                _write_xlsx(staging / f"{stem}.xlsx", tables, lang)
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


def _layers(
    assessment: Assessment, plan: Any | None, villages: gpd.GeoDataFrame
) -> dict[str, gpd.GeoDataFrame]:
    raw: dict[str, gpd.GeoDataFrame] = {"villages": villages}
    if assessment.businesses is not None:
        raw["businesses"] = assessment.businesses
    raw["blank_spots"] = assessment.blank_spots
    if plan is not None:
        raw["sites"] = plan.sites
    return {name: _layer_frame(gdf, name=name, crs=assessment.crs) for name, gdf in raw.items()}


def _layer_frame(gdf: gpd.GeoDataFrame, *, name: str, crs: CRS) -> gpd.GeoDataFrame:
    """Copy a layer for GIS formats: working CRS, index as a column, plain column types."""
    if not isinstance(gdf, gpd.GeoDataFrame):
        raise InputError(f"The {name} layer should be a GeoDataFrame, got {type(gdf).__name__}.")
    src_crs = require_crs(gdf.crs, what=f"The {name} layer")
    if not src_crs.equals(crs):
        gdf = gdf.to_crs(crs)
    geom = gdf.geometry.name
    if gdf.index.name is None and name in _INDEX_NAMES:
        # the contract names these ids; an unnamed index must not lose them
        gdf = gdf.rename_axis(_INDEX_NAMES[name])
    if gdf.index.name is not None and gdf.index.name not in gdf.columns:
        df = gdf.reset_index()
    else:
        df = gdf.reset_index(drop=True)
    cols = {}
    for col in df.columns:
        s = df[col]
        if col == geom:
            continue
        if isinstance(s.dtype, pd.CategoricalDtype) or s.dtype == object:
            # lists, dicts, mixed objects: GIS formats hold text, so write their text form
            cols[col] = s.astype("str")
        elif pd.api.types.is_timedelta64_dtype(s.dtype):
            cols[col] = s.astype("str")
    if cols:
        df = df.assign(**cols)
    out = gpd.GeoDataFrame(df, geometry=geom, crs=crs)
    if geom != "geometry":
        out = out.rename_geometry("geometry")
    return out


def _write_gpkg(path: Path, layers: dict[str, gpd.GeoDataFrame]) -> None:
    for name, gdf in layers.items():
        pyogrio.write_dataframe(
            gdf,
            path,
            layer=name,
            driver="GPKG",
            geometry_type=_LAYER_GEOMETRY[name],
            promote_to_multi=_LAYER_GEOMETRY[name].startswith("Multi"),
        )


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


def _shapefile_frame(gdf: gpd.GeoDataFrame, *, name: str) -> tuple[gpd.GeoDataFrame, dict]:
    """Shapefile-safe copy: bools as ints, dates as text, text cut to 254 bytes, short names."""
    cols = {}
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
            nbytes = s.str.encode("utf-8").str.len()
            long = (nbytes > _DBF_MAX_BYTES).to_numpy(dtype=bool, na_value=False)
            if long.any():
                # only the few over-long values are touched; cut on a character boundary
                cut = [
                    v.encode("utf-8")[:_DBF_MAX_BYTES].decode("utf-8", "ignore") for v in s[long]
                ]
                s = s.copy()
                s[long] = cut
                cols[col] = s
                log.warning(
                    "Shapefile %s: %d value(s) of column %r are longer than the dBASE limit "
                    "of %d bytes and were cut; the GeoPackage and CSV keep them whole.",
                    name,
                    int(long.sum()),
                    col,
                    _DBF_MAX_BYTES,
                )
    out = gdf.assign(**cols) if cols else gdf
    mapping = _shapefile_field_names([c for c in out.columns if c != "geometry"])
    return out.rename(columns=mapping), mapping


def _write_shapefile(folder: Path, name: str, gdf: gpd.GeoDataFrame) -> None:
    shp, mapping = _shapefile_frame(gdf, name=name)
    pyogrio.write_dataframe(
        shp,
        folder / f"{name}.shp",
        driver="ESRI Shapefile",
        encoding="UTF-8",  # also writes the .cpg that tells readers the encoding
        geometry_type=_LAYER_GEOMETRY[name],
        promote_to_multi=_LAYER_GEOMETRY[name].startswith("Multi"),
    )
    fields = pd.DataFrame({"full_name": list(mapping), "short_name": list(mapping.values())})
    fields.to_csv(folder / f"{name}_fields.csv", index=False, encoding="utf-8", lineterminator="\n")


def _remove_stale_indexes(folder: Path, layers: dict[str, gpd.GeoDataFrame]) -> None:
    for name in layers:
        for ext in _SHP_STALE_INDEXES:
            stale = folder / f"{name}{ext}"
            if stale.exists():
                stale.unlink()
                log.info("Removed %s: a spatial index of the replaced shapefile", stale)


# --------------------------------------------------------------------------- officials' tables


def _lonlat(geoms: gpd.GeoSeries) -> tuple[np.ndarray, np.ndarray]:
    """WGS84 longitude/latitude of points, rounded to 6 decimals (about 0.1 m)."""
    ll = geoms.to_crs("EPSG:4326")
    return np.round(ll.x.to_numpy(), 6), np.round(ll.y.to_numpy(), 6)


def _whole_rupiah(s: pd.Series) -> pd.Series:
    """Round to whole Rupiah; unknown or infinite costs (no new business) become blank."""
    values = np.round(s.to_numpy(dtype="float64"))
    out = pd.Series(np.where(np.isfinite(values), values, 0), index=s.index).astype("Int64")
    return out.mask(~np.isfinite(values))


def _site_table(plan: Any, assessment: Assessment) -> pd.DataFrame:
    sites = plan.sites
    missing = [c for c in ("rank", "site_id") if c not in sites.columns]
    if missing:
        raise InputError(
            f"plan.sites has no {', '.join(missing)} column(s); build the plan with "
            "blankspot.rank_sites."
        )
    require_crs(sites.crs, what="plan.sites")
    t = pd.DataFrame(index=sites.index)
    lon, lat = _lonlat(sites.geometry)
    for col in _SITE_COLUMNS:
        if col == "longitude":
            t[col] = lon
        elif col == "latitude":
            t[col] = lat
        elif col == "village_name":
            if "village_id" in sites.columns and "name" in assessment.villages.columns:
                t[col] = sites["village_id"].map(assessment.villages["name"])
        elif col in sites.columns:
            t[col] = sites[col]
    for col in ("cost_idr", "cost_per_new_business"):
        if col in t.columns:
            t[col] = _whole_rupiah(t[col])
    if not plan.weighted:
        t = t.drop(columns=[c for c in t.columns if "weighted" in c])
    return _round_for_officials(t).reset_index(drop=True)


def _round_for_officials(t: pd.DataFrame) -> pd.DataFrame:
    """Round shares to 4 decimals (0.01 %) and metres to whole metres."""
    for col in t.columns:
        if not pd.api.types.is_float_dtype(t[col].dtype):
            continue
        if col.endswith("_share"):
            t[col] = t[col].round(4)
        elif col.endswith("_m"):
            t[col] = t[col].round(0)
    return t


def _village_table(villages: gpd.GeoDataFrame, *, weighted: bool) -> pd.DataFrame:
    pts = villages.geometry.representative_point()
    lon, lat = _lonlat(pts)
    t = pd.DataFrame(index=villages.index)
    for col in _VILLAGE_COLUMNS:
        if col == "village_id":
            t[col] = villages.index.astype(str)
        elif col == "village_name":
            if "name" in villages.columns:
                t[col] = villages["name"]
        elif col == "longitude":
            t[col] = lon
        elif col == "latitude":
            t[col] = lat
        elif col == "weighted_uncovered" and not weighted:
            continue
        elif col in villages.columns:
            t[col] = villages[col]
    if "rank" in t.columns:
        t = t.sort_values("rank", kind="stable")
    return _round_for_officials(t).reset_index(drop=True)


def _summary_table(assessment: Assessment, plan: Any | None, lang: str) -> pd.DataFrame:
    acc = assessment.accounting
    v = assessment.villages
    in_villages = acc["covered"] + acc["uncovered"]
    rows: dict[str, Any] = {
        "villages": len(v),
        "blank_spot_villages": int(v["blank_spot"].sum()) if "blank_spot" in v else None,
        "blank_spot_areas": len(assessment.blank_spots),
        "businesses_input": acc["input"],
        "businesses_covered": acc["covered"],
        "businesses_uncovered": acc["uncovered"],
        "businesses_outside": acc["outside_villages"],
        "businesses_rejected": acc["rejected"],
        "businesses_unmatched": acc.get("unmatched", 0),
        "uncovered_share": acc["uncovered"] / in_villages if in_villages else None,
        "weight_col": assessment.weight_col,
        "coverage": getattr(assessment.coverage, "description", None),
        "crs": assessment.crs.to_string(),
        "notes": " ".join(assessment.notes) or None,
    }
    if plan is not None:
        sites = plan.sites
        cost = sites["cost_idr"] if "cost_idr" in sites.columns else pd.Series(dtype=float)
        rows |= {
            "sites": len(sites),
            "method": plan.method,
            "objective": plan.objective,
            "total_uncovered": plan.total_uncovered,
            "connected_share": plan.objective / plan.total_uncovered
            if plan.total_uncovered
            else None,
            "upper_bound": plan.upper_bound,
            "gap": getattr(plan, "gap", None),
            "unreachable": getattr(plan, "unreachable", None),
            "total_cost_idr": float(cost.sum()) if cost.notna().any() else None,
            "message": plan.message or None,
        }
    weighted = plan is not None and bool(plan.weighted)
    keep = [k for k, val in rows.items() if val is not None]
    pos = 0 if lang == "en" else 1
    labels = [
        (
            _SUMMARY_WEIGHTED[k][pos]
            if weighted and k in _SUMMARY_WEIGHTED
            else _SUMMARY_ROWS[k][pos]
        )
        for k in keep
    ]
    item, value = _SUMMARY_HEADERS[lang]
    t = pd.DataFrame({item: labels, value: pd.Series([rows[k] for k in keep], dtype=object)})
    t.attrs["formats"] = [_SUMMARY_ROWS[k][2] for k in keep]
    return t


def _official_tables(
    assessment: Assessment, plan: Any | None, villages: gpd.GeoDataFrame, lang: str
) -> dict[str, pd.DataFrame]:
    """Build the officials' sheets, in order, keyed by kind; the first is also the CSV."""
    tables: dict[str, pd.DataFrame] = {}
    weighted = bool(plan.weighted) if plan is not None else assessment.weighted
    if plan is not None:
        tables["sites"] = _site_table(plan, assessment)
    tables["villages"] = _village_table(villages, weighted=weighted)
    tables["summary"] = _summary_table(assessment, plan, lang)
    yes, no = _YES_NO[lang]
    for kind in ("sites", "villages"):
        if kind in tables and "blank_spot" in tables[kind].columns:
            flag = tables[kind]["blank_spot"].to_numpy(dtype=bool)
            tables[kind]["blank_spot"] = np.where(flag, yes, no)
    return tables


def _headers(columns: Iterable[str], lang: str) -> list[str]:
    return [_HEADERS_ID.get(c, c) if lang == "id" else c for c in columns]


def _write_csv(path: Path, table: pd.DataFrame, lang: str) -> None:
    out = table.set_axis(_headers(table.columns, lang), axis=1)
    # Excel set to Indonesian reads ';' as the list separator and ',' as the decimal mark
    sep, decimal = (";", ",") if lang == "id" else (",", ".")
    out.to_csv(
        path, index=False, encoding="utf-8-sig", lineterminator="\n", sep=sep, decimal=decimal
    )


def _column_format(table: pd.DataFrame, col: str) -> str | None:
    if col in _NUMBER_FORMATS:
        return _NUMBER_FORMATS[col]
    dtype = table[col].dtype
    if pd.api.types.is_integer_dtype(dtype):
        return "#,##0"
    if pd.api.types.is_float_dtype(dtype):
        return "#,##0.0"
    return None


def _write_xlsx(path: Path, tables: dict[str, pd.DataFrame], lang: str) -> None:
    with pd.ExcelWriter(path, engine="openpyxl") as xw:
        for kind, table in tables.items():
            sheet = _SHEETS[lang][kind]
            if kind == "summary":
                formats = table.attrs["formats"]
                table.to_excel(xw, sheet_name=sheet, index=False)
                ws = xw.sheets[sheet]
                # one format per summary row: counts, shares and text share the value column
                for row, fmt in enumerate(formats, start=2):
                    ws.cell(row=row, column=2).number_format = fmt
            else:
                out = table.set_axis(_headers(table.columns, lang), axis=1)
                out.to_excel(xw, sheet_name=sheet, index=False)
                ws = xw.sheets[sheet]
                for j, col in enumerate(table.columns, start=1):
                    fmt = _column_format(table, col)
                    if fmt is None:
                        continue
                    # openpyxl has no column-wide format that Excel applies to written cells
                    for (cell,) in ws.iter_rows(min_row=2, min_col=j, max_col=j):
                        cell.number_format = fmt
                if len(table):
                    ws.auto_filter.ref = ws.dimensions
            ws.freeze_panes = "A2"
            headers = _headers(table.columns, lang) if kind != "summary" else list(table.columns)
            for j, col in enumerate(table.columns, start=1):
                longest = table[col].astype("str").str.len().max() if len(table) else 0
                longest = 0 if pd.isna(longest) else int(longest)
                width = max(len(str(headers[j - 1])), longest) + 2
                ws.column_dimensions[get_column_letter(j)].width = min(max(width, 8), 60)
