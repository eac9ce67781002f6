"""Options of ``blankspot plan`` and its TOML file: the fields, their types, the file's reading.

Every field of :class:`PlanOptions` is a ``--flag`` of ``blankspot plan`` and a key of the
``--config`` TOML file (``[plan]`` table or top-level keys, ``-`` or ``_`` in names).
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from blankspot._errors import InputError, InputFileError

__all__ = ["PlanOptions", "is_number", "load_config"]


@dataclass
class PlanOptions:
    """Options of ``blankspot plan`` (also the keys of its TOML file)."""

    villages: str | list[str] | None = None
    businesses: str | list[str] | None = None
    coverage: list[str] = field(default_factory=list)
    out: str | None = None
    threshold_dbm: float = -110.0
    covered_values: list[float] | None = None
    radius_m: float = 5000.0
    k: int | None = None
    budget_idr: float | None = None
    annual_budget_idr: float | list[float] | None = None
    start_year: int | None = None
    sites: str | list[str] | None = None
    method: str = "greedy"
    spacing_m: float = 2000.0
    crs: str | None = None
    lon_col: str | None = None
    lat_col: str | None = None
    weight_col: str | None = None
    id_col: str | None = None
    lang: str = "en"
    formats: list[str] = field(default_factory=lambda: ["gpkg", "shp", "csv", "xlsx"])
    overwrite: bool = False
    maps: bool = True
    bound: str = "lagrangian"
    time_limit_s: float = 60.0
    default_cost_idr: float = 2.6e9
    sites_id_col: str | None = None
    map_title: str | None = None
    network: str | list[str] | None = None
    max_hop_m: float = 30_000.0
    dem: list[str] = field(default_factory=list)
    terrain_model: str = "los"
    site_height_m: float = 30.0
    high_ground_m: float | None = None
    by_province: bool = False
    compact: bool | None = None
    per_province_k: int | None = None


def load_config(path: str) -> dict[str, Any]:
    """Read a ``blankspot plan`` TOML file into option values, checking every key and type."""
    p = Path(path)
    if not p.is_file():
        raise InputFileError(f"Config file {p} does not exist.")
    try:
        with p.open("rb") as fh:
            data = tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise InputFileError(f"Config file {p} is not valid TOML: {exc}") from exc
    data = data.get("plan", data)  # accept a [plan] table or top-level keys
    data = {k.replace("-", "_"): v for k, v in data.items()}
    known = set(PlanOptions.__dataclass_fields__)
    unknown = sorted(set(data) - known)
    if unknown:
        raise InputError(
            f"Config file {p} has unknown option(s) {', '.join(unknown)}; "
            f"valid options are {', '.join(sorted(known))}."
        )
    for key in ("coverage", "dem"):
        if isinstance(data.get(key), str):
            data[key] = [data[key]]
    wrong = [
        f"{key} = {value!r} should be {_CONFIG_TYPES[key][1]}"
        for key, value in data.items()
        if not _CONFIG_TYPES[key][0](value)
    ]
    if wrong:
        raise InputError(f"Config file {p}: " + "; ".join(wrong) + ".")
    return data


def _is_text(v: Any) -> bool:
    return isinstance(v, str)


def _is_texts(v: Any) -> bool:
    return isinstance(v, list) and all(isinstance(x, str) for x in v)


def is_number(v: Any) -> bool:
    """Return whether ``v`` is a real number (``True``/``False`` are not)."""
    return isinstance(v, int | float) and not isinstance(v, bool)


#: what each TOML key must hold: (test, description for the message)
_CONFIG_TYPES: dict[str, tuple[Callable[[Any], bool], str]] = {
    **dict.fromkeys(
        ("villages", "businesses", "sites", "network"),
        (lambda v: _is_text(v) or _is_texts(v), 'a path or a list of paths ("desa.gpkg")'),
    ),
    "coverage": (_is_texts, 'a path or a list of paths ("rsrp.tif")'),
    "dem": (_is_texts, 'a path, glob or list of DEM tiles (["S06E105.hgt"])'),
    "covered_values": (
        lambda v: isinstance(v, list) and all(is_number(x) for x in v),
        "a list of numbers ([1, 2])",
    ),
    "formats": (_is_texts, 'a list of formats (["gpkg", "csv"])'),
    **dict.fromkeys(
        ("k", "per_province_k"),
        (lambda v: isinstance(v, int) and not isinstance(v, bool), "a whole number (20)"),
    ),
    "start_year": (lambda v: isinstance(v, int) and not isinstance(v, bool), "a year (2026)"),
    "annual_budget_idr": (
        lambda v: is_number(v) or (isinstance(v, list) and all(is_number(x) for x in v)),
        "a number or a list of numbers, one per year ([26e9, 30e9])",
    ),
    "overwrite": (lambda v: isinstance(v, bool), "true or false"),
    "by_province": (lambda v: isinstance(v, bool), "true or false"),
    "compact": (lambda v: isinstance(v, bool), "true or false"),
    "maps": (lambda v: isinstance(v, bool), "true or false"),
    **dict.fromkeys(
        (
            "threshold_dbm",
            "radius_m",
            "budget_idr",
            "spacing_m",
            "time_limit_s",
            "default_cost_idr",
            "max_hop_m",
            "site_height_m",
            "high_ground_m",
        ),
        (is_number, "a number"),
    ),
    **dict.fromkeys(
        (
            "out",
            "method",
            "crs",
            "lon_col",
            "lat_col",
            "weight_col",
            "id_col",
            "lang",
            "bound",
            "sites_id_col",
            "map_title",
            "terrain_model",
        ),
        (_is_text, 'text in quotes ("...")'),
    ),
}
