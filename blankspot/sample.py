"""The embedded Lampung sample: real village boundaries, synthetic businesses and signal.

The files live in ``data/lampung/`` of the source tree and are installed as
``blankspot/_sample`` inside the package, so the sample is found from any working directory.
``data/README.md`` says which layers are real and which are synthetic, and how the synthetic
ones were made (``python scripts/make_sample.py``).
"""

from __future__ import annotations

import importlib.resources
import logging
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from blankspot._errors import InputFileError
from blankspot._validate import check_options

__all__ = ["SAMPLE_FILES", "load_sample", "sample_dir", "sample_paths"]

log = logging.getLogger("blankspot")

#: File name of each sample layer inside the sample folder.
SAMPLE_FILES: dict[str, str] = {
    "villages": "villages.parquet",  # REAL: 2,640 desa/kelurahan (MIT, Cahya DSN)
    "businesses": "umkm_synthetic.csv.gz",  # SYNTHETIC: 192,234 UMKM points
    "signal": "signal_rsrp.tif",  # SYNTHETIC: RSRP dBm, 100 m, EPSG:32748
    "towers": "towers_synthetic.csv",  # SYNTHETIC: OpenCelliD format, no header
    "opencellid": "opencellid_lampung.csv",  # REAL: 60 cells (CC BY-SA 4.0)
    "fibre": "fibre_synthetic.geojson",  # SYNTHETIC: 15 fibre PoPs, one per kabupaten/kota
    "dem": "dem_synthetic.tif",  # SYNTHETIC: elevation m, 9" (~278 m), EPSG:4326
}

_REGENERATE = (
    "Reinstall blankspot with `pip install .` from a checkout that has data/lampung/, or "
    "regenerate the files with `python scripts/make_sample.py` (see data/README.md)."
)


def _candidate_dirs() -> list[Path]:
    """Where the sample may be: installed package data first, then the source tree."""
    out: list[Path] = []
    try:
        installed = importlib.resources.files("blankspot") / "_sample"
    except (ModuleNotFoundError, TypeError):  # pragma: no cover - blankspot is importable
        installed = None
    if isinstance(installed, Path):  # a zip import has no real folder; skip it
        out.append(installed)
    out.append(Path(__file__).resolve().parents[1] / "data" / "lampung")
    return out


def _find_sample_dir(candidates: Iterable[Path]) -> Path:
    """First candidate that holds the villages file, else an :class:`InputFileError`."""
    tried = list(candidates)
    for folder in tried:
        if (folder / SAMPLE_FILES["villages"]).is_file():
            return folder
    raise InputFileError(
        "The blankspot Lampung sample was not found; looked in "
        + ", ".join(f"'{p}'" for p in tried)
        + f". {_REGENERATE}"
    )


def _paths_in(folder: Path) -> dict[str, Path]:
    paths = {key: folder / name for key, name in SAMPLE_FILES.items()}
    missing = [f"{key} ('{p.name}')" for key, p in paths.items() if not p.is_file()]
    if missing:
        raise InputFileError(
            f"The blankspot sample folder '{folder}' is incomplete: missing "
            f"{', '.join(missing)}. {_REGENERATE}"
        )
    return paths


@check_options
def sample_dir() -> Path:
    """Return the folder holding the Lampung sample files.

    Returns
    -------
    Path
        ``<site-packages>/blankspot/_sample`` when blankspot is installed from a wheel, else
        ``<repository>/data/lampung`` when it runs from a source checkout (or an editable
        install).

    Raises
    ------
    InputFileError
        Neither folder holds the sample (the message names both places and how to fix it).

    Examples
    --------
    >>> (sample_dir() / "villages.parquet").is_file()
    True
    """
    folder = _find_sample_dir(_candidate_dirs())
    log.debug("Lampung sample folder: %s", folder)
    return folder


@check_options
def sample_paths() -> dict[str, Path]:
    """Return the path of every sample layer.

    Returns
    -------
    dict of str to Path
        ``"villages"`` (GeoParquet, REAL), ``"businesses"`` (gzip CSV, SYNTHETIC),
        ``"signal"`` (RSRP GeoTIFF in dBm, EPSG:32748, SYNTHETIC), ``"towers"`` (OpenCelliD
        CSV without header, SYNTHETIC), ``"opencellid"`` (60 REAL OpenCelliD cells, CC BY-SA
        4.0, with a header row), ``"fibre"`` (GeoJSON of 15 fibre points of presence,
        one per kabupaten/kota capital, SYNTHETIC) and ``"dem"``
        (elevation GeoTIFF in metres, EPSG:4326, SYNTHETIC: coast, Bukit Barisan, eastern
        lowlands; open it with :func:`blankspot.terrain.read_dem`).

    Raises
    ------
    InputFileError
        The sample folder is missing or lacks one of the files.

    See Also
    --------
    load_sample : the same layers, read.

    Examples
    --------
    >>> paths = sample_paths()
    >>> sorted(paths)
    ['businesses', 'dem', 'fibre', 'opencellid', 'signal', 'towers', 'villages']
    >>> paths["signal"].name
    'signal_rsrp.tif'
    """
    return _paths_in(sample_dir())


@check_options
def load_sample(*, weight_col: str | None = None) -> dict[str, Any]:
    """Read the Lampung sample with the blankspot readers.

    Parameters
    ----------
    weight_col
        Passed to :func:`blankspot.io.read_businesses`; ``"tenaga_kerja"`` (workers) weights
        each business by its size. Default: every business counts 1.

    Returns
    -------
    dict
        ``"villages"``: :func:`~blankspot.io.read_villages` of the 2,640 real villages
        (EPSG:4326, index = Kemendagri code); ``"businesses"``:
        :func:`~blankspot.io.read_businesses` of the 192,234 synthetic UMKM (the last 25 rows
        are broken on purpose: 22 are rejected, 3 lie outside every village);
        ``"towers"``: :func:`~blankspot.io.read_towers` of the synthetic towers; ``"signal"``:
        the path of the synthetic RSRP raster (open it with
        :func:`blankspot.coverage.from_raster`); ``"network"``: the backhaul network for
        :func:`blankspot.plan_backhaul`, the 15 synthetic fibre PoPs (``kind`` "fibre") and
        the synthetic tower sites (``kind`` "tower", one per mast);
        ``"dem"``: the path of the synthetic elevation model (open it with
        :func:`blankspot.terrain.read_dem`).

    Raises
    ------
    InputFileError
        The sample is missing or incomplete.

    Notes
    -----
    Takes about 2 s (most of it parsing the business CSV). The OpenCelliD file is not read
    here; its path is in :func:`sample_paths`.

    Examples
    --------
    >>> s = load_sample()
    >>> len(s["villages"]), len(s["businesses"]), s["signal"].suffix
    (2640, 192234, '.tif')
    >>> s["villages"].loc["18.10.01.1001", ["name", "kabupaten"]].tolist()
    ['Fajaresuk', 'Kabupaten Pringsewu']
    """
    # imported here so that sample_dir()/sample_paths() stay light (no geopandas import)
    from blankspot.backhaul import network_from, read_network  # noqa: PLC0415
    from blankspot.io import read_businesses, read_towers, read_villages  # noqa: PLC0415

    paths = sample_paths()
    towers = read_towers(paths["towers"])
    return {
        "villages": read_villages(paths["villages"]),
        "businesses": read_businesses(
            paths["businesses"],
            id_col="id_umkm",
            lon_col="longitude",
            lat_col="latitude",
            weight_col=weight_col,
        ),
        "towers": towers,
        "signal": paths["signal"],
        "network": network_from(read_network(paths["fibre"]), towers),
        "dem": paths["dem"],
    }
