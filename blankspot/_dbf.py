"""A dBASE III table (the ``.dbf`` of a shapefile) with every field as narrow as its data.

GDAL writes text fields 80 characters wide and numbers as 24.15 whatever they hold (a 192k-row
business layer became a 165 MB ``.dbf``). Here each field gets the width its longest value
needs, and real numbers the fewest decimals (at most 15) that keep every value exactly.
"""

from __future__ import annotations

import datetime as dt
import struct
from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

__all__ = ["utf8_lengths", "write_dbf", "write_dbf_chunks"]

#: dBASE limits: text bytes per field, digits of a number (GDAL reads up to 24 as a real)
MAX_TEXT_BYTES = 254
MAX_NUMBER_WIDTH = 24
MAX_DECIMALS = 15


class _FieldSize:
    """What one column's values need, gathered chunk by chunk: type, width and decimals.

    A text field is as wide as its longest value (in UTF-8 bytes, at most 254). A number
    field takes the fewest decimals (at most 15) at which every finite value prints back to
    itself, then as many characters as its longest value printed with them (at most 24,
    with fewer decimals first). Printed numbers grow with their magnitude, so the longest
    one is the largest or the most negative value: those two and, per decimal count,
    whether every value kept so far prints back exactly are all a chunk has to leave.
    """

    def __init__(self, s: pd.Series) -> None:
        whole = pd.api.types.is_bool_dtype(s.dtype) or pd.api.types.is_integer_dtype(s.dtype)
        self.real = pd.api.types.is_float_dtype(s.dtype)
        self.kind = "N" if whole or self.real else "C"
        self.text_bytes = 0
        self.exact = np.ones(MAX_DECIMALS + 1, dtype=bool)  # decimals at which all print back
        self.largest = -np.inf  # the largest value without a minus sign
        self.most_negative = np.inf  # the most negative value with one (-0.0 included)

    def add(self, s: pd.Series) -> None:
        if self.kind == "C":
            if len(s):
                self.text_bytes = max(self.text_bytes, int(utf8_lengths(s).max()))
            return
        values = _numbers(s)
        v = values[np.isfinite(values)]
        if not len(v):
            return
        negative = np.signbit(v)
        if (~negative).any():
            self.largest = max(self.largest, float(v[~negative].max()))
        if negative.any():
            self.most_negative = min(self.most_negative, float(v[negative].min()))
        if self.real:
            for d in np.flatnonzero(self.exact):
                self.exact[d] = np.array_equal(np.round(v, d), v)

    def spec(self) -> tuple[str, int, int]:
        """``(type, width, decimals)`` of the field."""
        if self.kind == "C":
            return "C", min(max(self.text_bytes, 1), MAX_TEXT_BYTES), 0
        decimals = int(np.argmax(self.exact)) if self.real and self.exact.any() else 0
        if self.real and not self.exact.any():
            decimals = MAX_DECIMALS
        extremes = [x for x in (self.largest, self.most_negative) if np.isfinite(x)]
        while True:
            width = max((len(f"%.{decimals}f" % x) for x in extremes), default=1)
            if width <= MAX_NUMBER_WIDTH or decimals == 0:
                break
            decimals -= 1
        return "N", min(width, MAX_NUMBER_WIDTH), decimals


def utf8_lengths(s: pd.Series) -> np.ndarray:
    """Return the length of each value's text in UTF-8 bytes (nulls 0).

    Text held by Arrow (pandas' ``str``) is measured there, without a Python object per value.
    """
    try:
        arr = pa.array(s, from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        arr = None
    if arr is None or not (pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type)):
        return _encoded(s).str.len().to_numpy(dtype="int64")
    return pc.binary_length(arr).fill_null(0).to_numpy(zero_copy_only=False).astype("int64")


def _encoded(s: pd.Series) -> pd.Series:
    """UTF-8 bytes of each value, nulls empty."""
    return s.astype(object).where(s.notna(), "").astype(str).str.encode("utf-8")


def _numbers(s: pd.Series) -> np.ndarray:
    """Return the values as float64, nulls NaN."""
    if not pd.api.types.is_float_dtype(s.dtype):  # booleans and integers
        s = s.astype("float64")
    return s.to_numpy(dtype="float64", na_value=np.nan)


def _field_bytes(s: pd.Series, kind: str, width: int, decimals: int) -> np.ndarray:
    """Return the values as fixed-width field bytes (numbers right-aligned, nulls '*')."""
    if not len(s):
        return np.zeros(0, dtype=f"S{width}")
    if kind == "C":
        data = np.array(_encoded(s).to_numpy(dtype=object), dtype=f"S{width}")
        return np.char.ljust(data, width)
    values = _numbers(s)
    finite = np.isfinite(values)
    text = np.char.mod(f"%.{decimals}f", np.where(finite, values, 0.0))
    text = np.where(finite, text, "*" * width)
    return np.char.rjust(text.astype(f"U{width}"), width).astype(f"S{width}")


def write_dbf(path: Path, table: pd.DataFrame) -> None:
    """Write ``table`` (column names of at most 10 ASCII characters) as a dBASE III file.

    Text is UTF-8 (the shapefile's ``.cpg`` says so), cut to 254 bytes by the caller; booleans
    and integers are whole numbers; null numbers are written as ``*`` (read back as null).
    """
    write_dbf_chunks(path, lambda: iter([table]))


def write_dbf_chunks(path: Path, chunks: Callable[[], Iterable[pd.DataFrame]]) -> None:
    """Write the tables ``chunks()`` yields, one after the other, as one dBASE III file.

    ``chunks()`` is called twice and must yield the same tables (same columns) both times:
    once to size the fields, once to write the records; memory holds one chunk. The file
    is byte for byte what :func:`write_dbf` writes for the tables concatenated.
    """
    sizes: list[_FieldSize] | None = None
    names: list[str] = []
    n = 0
    for table in chunks():
        if sizes is None:
            names = [str(col) for col in table.columns]
            sizes = [_FieldSize(table[col]) for col in table.columns]
        for size, col in zip(sizes, table.columns, strict=True):
            size.add(table[col])
        n += len(table)
    fields = [(name, *size.spec()) for name, size in zip(names, sizes or [], strict=True)]
    if not fields:  # dBASE needs one field: an empty id, as GDAL writes
        fields = [("FID", "N", 1, 0)]
    record_len = 1 + sum(f[2] for f in fields)
    header_len = 32 + 32 * len(fields) + 1
    today = dt.date.today()
    header = struct.pack(
        "<BBBBIHH20x", 3, today.year - 1900, today.month, today.day, n, header_len, record_len
    )
    descriptors = b"".join(
        struct.pack("<11sc4xBB14x", name.encode("ascii")[:10], kind.encode(), width, dec)
        for name, kind, width, dec in fields
    )
    layout = [("flag", "S1")] + [(f"f{i}", f"S{f[2]}") for i, f in enumerate(fields)]
    with Path(path).open("wb") as fh:
        fh.write(header)
        fh.write(descriptors)
        fh.write(b"\r")
        for table in chunks():
            records = np.empty(len(table), dtype=layout)
            records["flag"] = b" "
            if sizes:
                for i, (col, (_, kind, width, dec)) in enumerate(
                    zip(table.columns, fields, strict=True)
                ):
                    records[f"f{i}"] = _field_bytes(table[col], kind, width, dec)
            else:
                records["f0"] = b"0"
            fh.write(records.tobytes())
        fh.write(b"\x1a")
