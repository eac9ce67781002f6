"""Text tables (CSV) as users save them: encoding, delimiter, compression, our errors.

Used by the readers of :mod:`blankspot.io` and by :mod:`blankspot._village_status`.
"""

from __future__ import annotations

import gzip
import io
import logging
import re
import zlib
from pathlib import Path
from typing import Any

import pandas as pd

from blankspot._errors import EmptyInputError, InputError, InputFileError
from blankspot._util import check_not_empty_file, file_suffix
from blankspot._validate import warn_user

log = logging.getLogger("blankspot")

SUPPORTED_TABLE_FORMATS = (
    "CSV (.csv, .csv.gz, .txt, .tsv; delimiter ',', ';' or tab), Excel (.xlsx, .xlsm, .xls)"
)


def _open_text(path: Path) -> io.TextIOBase:
    raw = gzip.open(path, "rb") if file_suffix(path).endswith(".gz") else open(path, "rb")
    return io.TextIOWrapper(raw, encoding="latin-1", newline="")


def _first_line(path: Path) -> str:
    # latin-1 never fails, and the delimiter and header words are ASCII
    with _open_text(path) as fh:
        return fh.readline().lstrip("\ufeff\u00ef\u00bb\u00bf").rstrip("\r\n")


def _sniff_delimiter(header: str) -> str:
    """Guess the delimiter from a header line: the most frequent of tab, ';', ','."""
    counts = {d: header.count(d) for d in ("\t", ";", ",")}
    best = max(counts.values())
    if best == 0:
        return ","
    return next(d for d in (",", ";", "\t") if counts[d] == best)


def _decode(data: bytes, *, origin: str) -> str:
    """Decode a text file: UTF-8 (a few bad bytes replaced, with a warning) or latin-1.

    Invalid bytes are located with ``surrogateescape`` in one linear pass. A file whose other
    non-ASCII characters are valid UTF-8 stays UTF-8: only the bad bytes become U+FFFD and
    the warning names their lines, so one stray byte never garbles every accented name. A
    file with no valid UTF-8 multi-byte character at all (or more bad bytes than good ones)
    is an Excel/Windows export in latin-1 and is read as such (logged).
    """
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):  # Excel's "Unicode text": UTF-16
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError as exc:
            raise InputFileError(f"{origin} starts as UTF-16 but does not decode: {exc}") from exc
    text = data.decode("utf-8", errors="surrogateescape")
    bad = [m.start() for m in re.finditer("[\udc80-\udcff]", text)]
    if not bad:
        return text
    n_good = len(re.findall("[\u0080-\ud7ff\ue000-\U0010ffff]", text))
    if n_good == 0 or len(bad) > n_good:
        log.info("%s is not UTF-8; reading it as latin-1", origin)
        return data.decode("latin-1")
    lines = sorted({text.count("\n", 0, pos) + 1 for pos in bad[:10]})
    more = " ..." if len(bad) > 10 else ""
    warn_user(
        f"{origin} is UTF-8 but not valid UTF-8 on line {', '.join(map(str, lines))}{more} "
        f"({len(bad)} byte(s)); those bytes were replaced by '\ufffd' and every other "
        "character was kept. Save the file as UTF-8 to silence this."
    )
    return re.sub("[\udc80-\udcff]", "\ufffd", text)


def _too_many_fields(frame: pd.DataFrame, path: Path, sep: str, *, what: str) -> None:
    """Refuse a CSV whose data rows have more fields than its header (pandas made an index)."""
    if isinstance(frame.index, pd.RangeIndex):
        return
    with _open_text(path) as fh:
        fh.readline()
        line = fh.readline().rstrip("\r\n")
    n_head = len(frame.columns)
    if sep == ",":
        raise InputError(
            f"{what} file '{path}' looks like numbers with decimal commas in a ','-delimited "
            f"file: the header has {n_head} columns but line 2 has more fields ({line!r}), "
            "because a number such as -5,43 is split in two at its comma. Save the file with "
            "';' as the delimiter, quote the numbers (\"-5,43\"), or write decimal points."
        )
    raise InputError(
        f"{what} file '{path}': the header has {n_head} columns but line 2 has more fields "
        f"({line!r}) with delimiter {sep!r}. Check the delimiter and quoting of the file."
    )


def _read_csv(path: Path, *, what: str, text_columns: Any, **kwargs: Any) -> pd.DataFrame:
    """``pandas.read_csv`` with our errors, UTF-8 or latin-1 (see :func:`_decode`).

    ``text_columns(header)`` returns the columns to read as ``str`` (coordinates, ids).
    """
    check_not_empty_file(path, what=what)
    try:
        sep = kwargs.pop("sep", None) or _sniff_delimiter(_first_line(path))
        source: Any = path
        try:
            header = pd.read_csv(source, sep=sep, nrows=0, encoding="utf-8-sig", **kwargs)
            encoding_ok = True
            frame = pd.read_csv(
                source,
                sep=sep,
                dtype=dict.fromkeys(text_columns(header.columns), "str"),
                encoding="utf-8-sig",
                **kwargs,
            )
        except UnicodeDecodeError:
            encoding_ok = False
        if not encoding_ok:
            opener = gzip.open if file_suffix(path).endswith(".gz") else open
            with opener(path, "rb") as fh:
                text = _decode(fh.read(), origin=f"{what} file '{path}'")
            header = pd.read_csv(io.StringIO(text), sep=sep, nrows=0, **kwargs)
            frame = pd.read_csv(
                io.StringIO(text),
                sep=sep,
                dtype=dict.fromkeys(text_columns(header.columns), "str"),
                **kwargs,
            )
    except pd.errors.EmptyDataError as exc:
        raise EmptyInputError(f"{what} file '{path}' is empty.") from exc
    except (EOFError, gzip.BadGzipFile, zlib.error) as exc:
        raise InputFileError(
            f"{what} file '{path}' is truncated or damaged ({type(exc).__name__}: {exc}). "
            "Download or export it again; if it is a .gz, test it with gzip -t."
        ) from exc
    except (pd.errors.ParserError, ValueError, OSError) as exc:
        hint = (
            " Decimal commas in a ','-delimited file split numbers in two: save it with ';' "
            "as the delimiter or quote the numbers."
            if sep == "," and "fields" in str(exc)
            else ""
        )
        raise InputFileError(
            f"Cannot read {what} file '{path}' as CSV (delimiter {sep!r}): {exc}.{hint} "
            f"Supported formats: {SUPPORTED_TABLE_FORMATS}, or a vector file of points."
        ) from exc
    _too_many_fields(frame, path, sep, what=what)
    return frame
