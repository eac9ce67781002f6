"""Cell towers from an OpenCelliD export: :func:`read_towers`.

Re-exported by :mod:`blankspot.io`, the readers' public home.
"""

from __future__ import annotations

import io
import logging
import os
import zlib
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

import geopandas as gpd

from blankspot._errors import EmptyInputError, InputError, InputFileError
from blankspot._numbers import _coordinate_reasons, _log_rejected, _parse_numbers, _points
from blankspot._tables import _decode, _first_line
from blankspot._util import check_not_empty_file, file_suffix, some
from blankspot._validate import check_options

__all__ = ["read_towers"]

log = logging.getLogger("blankspot")

OPENCELLID_COLUMNS = (
    "radio",
    "mcc",
    "net",
    "area",
    "cell",
    "unit",
    "lon",
    "lat",
    "range",
    "samples",
    "changeable",
    "created",
    "updated",
    "averageSignal",
)
RADIOS = ("GSM", "UMTS", "LTE", "CDMA", "NR")
#: Brand per MNC for MCC 510 (Indonesia); retired and invalid MNCs map to no operator.
MNC_OPERATORS_510 = {
    10: "Telkomsel",
    1: "Indosat Ooredoo Hutchison",
    21: "Indosat Ooredoo Hutchison",
    89: "Indosat Ooredoo Hutchison",
    11: "XL",
    9: "Smartfren",
    28: "Smartfren",
}
_OPERATOR_ALIASES = {
    "indosat": "Indosat Ooredoo Hutchison",
    "ioh": "Indosat Ooredoo Hutchison",
    "xl axiata": "XL",
    "xlsmart": "XL",
}


def _normalise_operators(operators: Iterable[Any]) -> tuple[set[int], set[str]]:
    if isinstance(operators, str | int):
        operators = [operators]
    brands = {b.lower(): b for b in MNC_OPERATORS_510.values()}
    mncs: set[int] = set()
    names: set[str] = set()
    for op in operators:
        if isinstance(op, bool) or not isinstance(op, str | int | np.integer):
            raise InputError(
                f"operators= takes MNC numbers or operator names; got {op!r}. Known operators: "
                f"{', '.join(sorted(set(MNC_OPERATORS_510.values())))}."
            )
        if isinstance(op, str):
            key = op.strip().lower()
            if key.isdigit():
                mncs.add(int(key))
            elif key in brands:
                names.add(brands[key])
            elif key in _OPERATOR_ALIASES:
                names.add(_OPERATOR_ALIASES[key])
            else:
                raise InputError(
                    f"Unknown operator {op!r} in operators=. Known operators: "
                    f"{', '.join(sorted(set(MNC_OPERATORS_510.values())))}, or pass MNC numbers "
                    "(10 = Telkomsel)."
                )
        else:
            if not 0 <= int(op) <= 999:
                raise InputError(f"MNC {op} in operators= is not a number between 0 and 999.")
            mncs.add(int(op))
    return mncs, names


def _tower_table(source: Any) -> tuple[pd.DataFrame, str, int]:
    """Raw text table with canonical column names, origin and header line count."""
    if hasattr(source, "read"):
        content = source.read()
        if isinstance(content, bytes):
            content = _decode(content, origin="The towers text buffer")
        origin = "the towers text buffer"
        first = content.split("\n", 1)[0].rstrip("\r")

        def opener() -> Any:
            return io.StringIO(content)

        if not content.strip():
            raise EmptyInputError(f"{origin} is empty.")
    else:
        if not isinstance(source, str | os.PathLike):
            raise InputError(
                f"towers should be a path to an OpenCelliD CSV; got {type(source).__name__}."
            )
        path = Path(source)
        origin = f"'{path}'"
        if not path.exists():
            raise InputFileError(f"towers file {origin} does not exist. Check the path.")
        if file_suffix(path) not in (".csv", ".csv.gz", ".txt", ".txt.gz"):
            raise InputFileError(
                f"towers file {origin} should be an OpenCelliD export (.csv or .csv.gz)."
            )
        check_not_empty_file(path, what="towers")
        first = _first_line(path)

        def opener() -> Any:
            return path

    fields = [f.strip().strip('"') for f in first.split(",")]
    head = fields[0].upper()
    if head == "RADIO":
        header = 1
    elif head in RADIOS:
        header = 0
        if len(fields) != len(OPENCELLID_COLUMNS):
            raise InputFileError(
                f"towers file {origin} has {len(fields)} fields on its first line; an OpenCelliD "
                f"export without header has {len(OPENCELLID_COLUMNS)} "
                f"({','.join(OPENCELLID_COLUMNS)})."
            )
    else:
        raise InputFileError(
            f"towers file {origin} does not look like an OpenCelliD export: its first field is "
            f"{fields[0]!r}, expected a radio type ({', '.join(RADIOS)}) or the header word "
            f"'radio'. Columns expected: {','.join(OPENCELLID_COLUMNS)}."
        )
    try:
        if header:
            table = pd.read_csv(opener(), dtype="str", index_col=False)
        else:
            table = pd.read_csv(
                opener(), header=None, names=list(OPENCELLID_COLUMNS), dtype="str", index_col=False
            )
    except (pd.errors.ParserError, ValueError, OSError, EOFError, zlib.error) as exc:
        raise InputFileError(
            f"Cannot read towers file {origin} as CSV ({type(exc).__name__}: {exc}). If it is "
            "truncated or damaged, download it again (a .gz can be tested with gzip -t)."
        ) from exc
    if header:
        canon = {c.lower(): c for c in OPENCELLID_COLUMNS}
        table = table.rename(columns=lambda c: canon.get(str(c).strip().lower(), c))
        need = ["radio", "mcc", "net", "area", "cell", "lon", "lat"]
        absent = [c for c in need if c not in table.columns]
        if absent:
            raise InputFileError(
                f"towers file {origin} lacks the column(s) {', '.join(absent)}. Columns: "
                f"{', '.join(map(str, table.columns))}; expected {','.join(OPENCELLID_COLUMNS)}."
            )
        for c in OPENCELLID_COLUMNS:
            if c not in table.columns:
                table[c] = pd.Series(np.nan, index=table.index, dtype="str")
    return table, origin, header


@check_options
def read_towers(
    source: Any,
    *,
    radios: Iterable[str] | None = None,
    operators: Iterable[str | int] | None = None,
) -> gpd.GeoDataFrame:
    r"""Read an OpenCelliD cell export (with or without header row) as tower points.

    Parameters
    ----------
    source
        Path to a ``.csv`` or ``.csv.gz`` OpenCelliD export (or a text buffer). Columns, in
        order: ``radio,mcc,net,area,cell,unit,lon,lat,range,samples,changeable,created,
        updated,averageSignal``. Real exports have no header; a header row is detected by
        the first field being ``radio``.
    radios
        Keep only these radio types (any case) among GSM, UMTS, LTE, CDMA, NR.
    operators
        Keep only these operators: MNC numbers (``10``) or names (``"Telkomsel"``,
        ``"Indosat Ooredoo Hutchison"`` or ``"Indosat"``, ``"XL"``, ``"Smartfren"``; any case).

    Returns
    -------
    GeoDataFrame
        EPSG:4326 points, index ``tower_id`` = ``"{radio}-{mcc}-{net}-{area}-{cell}"``
        (a repeated key gets ``_2``, ``_3``, ... in file order). Columns ``radio`` (upper
        case), ``mcc``, ``net``, ``area``, ``cell`` (int64), ``unit``, ``samples``,
        ``changeable`` (nullable Int64), ``lon``, ``lat``, ``range_m`` (float metres),
        ``created``, ``updated`` (UTC datetimes from Unix seconds), ``average_signal_dbm``
        (float; NaN where the export says 0, which means unknown), ``operator`` (brand for
        MCC 510, missing otherwise), ``rejected_reason`` (as in :func:`read_businesses`)
        and ``geometry`` (``None`` for rejected rows).

    Raises
    ------
    InputFileError
        Missing file, not an OpenCelliD layout, or a header without the key columns.
    EmptyInputError
        No rows (before or after filtering).
    InputError
        Unknown radio or operator in the filters; a row whose radio/mcc/net/area/cell is not
        usable (the file is then not a valid export; the lines are named).

    Notes
    -----
    Rows with unusable coordinates are kept (geometry ``None``, ``rejected_reason``), as for
    businesses. Rows of MCC 510 with an MNC outside the operator table (e.g. the invalid
    MNC 100 in real exports) are kept with no operator; their count is logged.

    Examples
    --------
    >>> import io
    >>> csv = io.StringIO(
    ...     "LTE,510,10,4260,29710883,-1,104.9203,-4.4429,1000,2,1,1709382456,1712264942,0\n"
    ...     "GSM,510,100,1,2,0,105.3,-5.4,0,1,1,1709382456,1712264942,-85\n")
    >>> t = read_towers(csv)
    >>> t.index.tolist()
    ['LTE-510-10-4260-29710883', 'GSM-510-100-1-2']
    >>> t["operator"].tolist(), t["range_m"].tolist(), t["average_signal_dbm"].tolist()
    (['Telkomsel', nan], [1000.0, 0.0], [nan, -85.0])
    """
    radio_filter: set[str] | None = None
    if radios is not None:
        radio_list = [radios] if isinstance(radios, str) else list(radios)
        bad = [r for r in radio_list if not isinstance(r, str) or r.strip().upper() not in RADIOS]
        if bad:
            raise InputError(
                f"Unknown radio type(s) in radios=: {some(bad)}. Known: {', '.join(RADIOS)}."
            )
        radio_filter = {r.strip().upper() for r in radio_list}
    op_filter = _normalise_operators(operators) if operators is not None else None

    table, origin, header = _tower_table(source)
    if len(table) == 0:
        raise EmptyInputError(f"towers file {origin} has no rows.")
    n = len(table)
    line = np.arange(n) + 1 + header  # 1-based line numbers for messages

    radio = table["radio"].astype("str").str.strip().str.upper()
    ints: dict[str, np.ndarray] = {}
    for col in ("mcc", "net", "area", "cell"):
        v, miss, bad, _ = _parse_numbers(table[col])
        wrong = miss | bad | (np.nan_to_num(v) != np.round(np.nan_to_num(v)))
        if wrong.any():
            raise InputError(
                f"towers file {origin}: column {col!r} is not an integer on {int(wrong.sum())} "
                f"lines ({some(line[wrong])}). OpenCelliD exports always have integer "
                "mcc/net/area/cell; fix or drop those lines."
            )
        ints[col] = v.astype("int64")
    no_radio = (radio.isna() | (radio == "")).to_numpy()
    if no_radio.any():
        raise InputError(
            f"towers file {origin}: 'radio' is empty on lines {some(line[no_radio])}; fix or "
            "drop those lines."
        )
    unknown_radio = ~radio.isin(RADIOS).to_numpy()
    if unknown_radio.any():
        log.warning(
            "towers %s: %d rows have a radio type outside %s: %s (kept)",
            origin,
            int(unknown_radio.sum()),
            ", ".join(RADIOS),
            some(pd.unique(radio[unknown_radio])),
        )

    def nullable_int(col: str) -> pd.Series:
        v, *_ = _parse_numbers(table[col])
        return pd.Series(v).round().astype("Int64")

    def floats(col: str) -> np.ndarray:
        return _parse_numbers(table[col])[0]

    def stamps(col: str) -> pd.Series:
        return pd.to_datetime(pd.Series(floats(col)), unit="s", utc=True)

    x, y, reason, counts = _coordinate_reasons(
        table["lon"].reset_index(drop=True), table["lat"].reset_index(drop=True), geographic=True
    )
    signal = floats("averageSignal")
    mnc = ints["net"]
    operator = pd.Series(mnc).map(MNC_OPERATORS_510).astype("str")
    operator[ints["mcc"] != 510] = np.nan
    out = pd.DataFrame(
        {
            "radio": radio.to_numpy(),
            "mcc": ints["mcc"],
            "net": mnc,
            "area": ints["area"],
            "cell": ints["cell"],
            "unit": nullable_int("unit"),
            "lon": x,
            "lat": y,
            "range_m": floats("range"),
            "samples": nullable_int("samples"),
            "changeable": nullable_int("changeable"),
            "created": stamps("created"),
            "updated": stamps("updated"),
            "average_signal_dbm": np.where(signal == 0, np.nan, signal),
            "operator": operator,
            "rejected_reason": pd.Series(reason, dtype=object),
        }
    )
    unknown_mnc = (ints["mcc"] == 510) & operator.isna().to_numpy()
    if unknown_mnc.any():
        log.warning(
            "towers %s: %d rows of MCC 510 have an MNC with no known operator (%s); kept with "
            "operator missing",
            origin,
            int(unknown_mnc.sum()),
            ", ".join(str(m) for m in sorted(set(mnc[unknown_mnc].tolist()))),
        )
    key = (
        out["radio"]
        + "-"
        + out["mcc"].astype("str")
        + "-"
        + out["net"].astype("str")
        + "-"
        + out["area"].astype("str")
        + "-"
        + out["cell"].astype("str")
    )
    nth = key.groupby(key, sort=False).cumcount().to_numpy()
    if (nth > 0).any():
        log.info(
            "towers %s: %d repeated cell keys suffixed _2, _3, ...", origin, int((nth > 0).sum())
        )
        key = key.where(nth == 0, key + "_" + pd.Series(nth + 1).astype("str"))
    out.index = pd.Index(key.to_numpy(), dtype="str", name="tower_id")
    _log_rejected(f"read_towers {origin}", reason, counts)

    keep = np.ones(n, dtype=bool)
    if radio_filter is not None:
        keep &= out["radio"].isin(radio_filter).to_numpy()
    if op_filter is not None:
        mncs, names = op_filter
        keep &= out["net"].isin(mncs).to_numpy() | out["operator"].isin(names).to_numpy()
    if not keep.all():
        log.info(
            "towers %s: kept %d of %d rows after the radios/operators filters",
            origin,
            int(keep.sum()),
            n,
        )
        if not keep.any():
            raise EmptyInputError(
                f"No tower of {origin} matches radios={radios!r} and operators={operators!r}."
            )
    out = out.loc[keep]
    return gpd.GeoDataFrame(
        out,
        geometry=gpd.GeoSeries(_points(x[keep], y[keep], reason[keep]), index=out.index),
        crs="EPSG:4326",
    )
