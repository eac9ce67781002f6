"""A dBASE III table (the ``.dbf`` of a shapefile) with every field as narrow as its data.

GDAL writes text fields 80 characters wide and numbers as 24.15 whatever they hold (a 192k-row
business layer became a 165 MB ``.dbf``). Here each field gets the width its longest value
needs, and real numbers the fewest decimals (at most 15) that keep every value exactly.
"""

from __future__ import annotations

import datetime as dt
import struct
from pathlib import Path

import numpy as np
import pandas as pd

__all__ = ["write_dbf"]

#: dBASE limits: text bytes per field, digits of a number (GDAL reads up to 24 as a real)
MAX_TEXT_BYTES = 254
MAX_NUMBER_WIDTH = 24
MAX_DECIMALS = 15


def _text_field(s: pd.Series) -> tuple[np.ndarray, int]:
    """UTF-8 bytes of each value (nulls empty) and the field width in bytes."""
    enc = s.astype(object).where(s.notna(), "").astype(str).str.encode("utf-8")
    arr = enc.to_numpy(dtype=object)
    width = int(enc.str.len().max()) if len(enc) else 1
    width = min(max(width, 1), MAX_TEXT_BYTES)
    return np.array(arr, dtype=f"S{width}"), width


def _decimals(values: np.ndarray) -> int:
    """Fewest decimals (<= 15) at which every finite value prints back to itself."""
    v = values[np.isfinite(values)]
    for d in range(MAX_DECIMALS + 1):
        if np.array_equal(np.round(v, d), v):
            return d
    return MAX_DECIMALS


def _number_field(values: np.ndarray, decimals: int) -> tuple[np.ndarray, int, int]:
    """Right-aligned ASCII numbers (nulls as '*', as shapelib writes them), width, decimals."""
    finite = np.isfinite(values)
    if not len(values):
        return np.zeros(0, dtype="S1"), 1, decimals
    while True:
        text = np.char.mod(f"%.{decimals}f", np.where(finite, values, 0.0))
        width = int(np.char.str_len(text[finite]).max()) if finite.any() else 1
        if width <= MAX_NUMBER_WIDTH or decimals == 0:
            break
        decimals -= 1
    width = min(width, MAX_NUMBER_WIDTH)
    text = np.where(finite, text, "*" * width)
    return np.char.rjust(text.astype(f"U{width}"), width).astype(f"S{width}"), width, decimals


def _field(s: pd.Series) -> tuple[str, np.ndarray, int, int]:
    """Return ``(type, fixed-width bytes, width, decimals)`` for one column."""
    if pd.api.types.is_bool_dtype(s.dtype):
        values = s.astype("float64").to_numpy(dtype="float64", na_value=np.nan)
        data, width, dec = _number_field(values, 0)
        return "N", data, width, dec
    if pd.api.types.is_integer_dtype(s.dtype):
        values = s.astype("float64").to_numpy(dtype="float64", na_value=np.nan)
        data, width, dec = _number_field(values, 0)
        return "N", data, width, dec
    if pd.api.types.is_float_dtype(s.dtype):
        values = s.to_numpy(dtype="float64", na_value=np.nan)
        data, width, dec = _number_field(values, _decimals(values))
        return "N", data, width, dec
    data, width = _text_field(s)
    return "C", np.char.ljust(data, width) if len(data) else data, width, 0


def write_dbf(path: Path, table: pd.DataFrame) -> None:
    """Write ``table`` (column names of at most 10 ASCII characters) as a dBASE III file.

    Text is UTF-8 (the shapefile's ``.cpg`` says so), cut to 254 bytes by the caller; booleans
    and integers are whole numbers; null numbers are written as ``*`` (read back as null).
    """
    n = len(table)
    fields = [(str(col), *_field(table[col])) for col in table.columns]
    if not fields:  # dBASE needs one field: an empty id, as GDAL writes
        fields = [("FID", "N", np.array([b"0"] * n, dtype="S1"), 1, 0)]
    record_len = 1 + sum(f[3] for f in fields)
    header_len = 32 + 32 * len(fields) + 1
    today = dt.date.today()
    header = struct.pack(
        "<BBBBIHH20x", 3, today.year - 1900, today.month, today.day, n, header_len, record_len
    )
    descriptors = b"".join(
        struct.pack("<11sc4xBB14x", name.encode("ascii")[:10], kind.encode(), width, dec)
        for name, kind, _, width, dec in fields
    )
    records = np.empty(
        n, dtype=[("flag", "S1")] + [(f"f{i}", f"S{f[3]}") for i, f in enumerate(fields)]
    )
    records["flag"] = b" "
    for i, (_, _, data, _, _) in enumerate(fields):
        records[f"f{i}"] = data
    with Path(path).open("wb") as fh:
        fh.write(header)
        fh.write(descriptors)
        fh.write(b"\r")
        fh.write(records.tobytes())
        fh.write(b"\x1a")
