"""Numbers and coordinates as found in user tables, parsed vectorised, with reasons.

Shared by the business and tower readers of :mod:`blankspot.io`: decimal commas, the
number format of quantity columns, unusable coordinates (kept, with a human
``rejected_reason``) and their points.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

import shapely

from blankspot._errors import InputError

log = logging.getLogger("blankspot")


def _parse_numbers(values: pd.Series) -> tuple[np.ndarray, np.ndarray, np.ndarray, pd.Series]:
    """Parse numbers given as text or numbers, vectorised.

    Returns ``(value, missing, not_a_number, text)``: floats (NaN where unusable), the
    missing/blank mask, the mask of present-but-unparseable (or infinite) values, and the
    stripped text used in messages (the input itself when it is numeric: format the rows a
    message needs with ``.astype(str)``). Accepts decimal commas (``-5,43``), surrounding spaces
    and the Unicode minus sign.
    """
    if pd.api.types.is_numeric_dtype(values.dtype) and not pd.api.types.is_bool_dtype(values.dtype):
        v = values.to_numpy(dtype="float64", na_value=np.nan)
        missing = np.isnan(v)
        bad = np.isinf(v)
        # the "text" of numbers is only shown in messages, for a few rows: callers format
        # just those (formatting every float would cost a second per million rows)
        text = values
    else:
        isna = values.isna().to_numpy()
        text = values.astype("str").str.strip()
        missing = isna | (text == "").to_numpy()
        cleaned = text.str.replace("\u2212", "-", regex=False).str.replace(",", ".", regex=False)
        v = pd.to_numeric(cleaned, errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
        bad = ~missing & ~np.isfinite(v)
    # "inf" parses as a number, but it is no coordinate or weight
    v = np.where(bad, np.nan, v)
    return v, missing, bad, text


# number formats of quantity columns (weights, counts): decided once per column
_NUM_PATTERNS = {
    # unambiguous: '.' is the decimal mark (maybe with ',' thousands)
    "point": r"^\d+\.\d{1,2}$|^\d+\.\d{4,}$|^\d{4,}\.\d+$|^0\.\d+$|^\.\d+$"
    r"|^\d{1,3}(?:,\d{3})+\.\d+$|^\d{1,3}(?:,\d{3}){2,}$",
    # unambiguous: ',' is the decimal mark (maybe with '.' thousands)
    "comma": r"^\d+,\d{1,2}$|^\d+,\d{4,}$|^\d{4,},\d+$|^0,\d+$|^,\d+$"
    r"|^\d{1,3}(?:\.\d{3})+,\d+$|^\d{1,3}(?:\.\d{3}){2,}$",
    # one mark before exactly three digits: 1.500 / 1,500 is 1.5 or 1500
    "ambiguous": r"^[1-9]\d{0,2}[.,]\d{3}$",
}


def _parse_quantities(
    values: pd.Series, *, what: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray, pd.Series]:
    """Parse a column of quantities (weights, counts, costs) after detecting its number format.

    The format is decided once for the whole column: ``'.'`` decimal mark (``1,500.25``,
    ``2.5``) or ``','`` decimal mark (``1.500,25``, ``2,5``), from the values that can only be
    read one way. A value such as ``1.500`` or ``1,500`` (one mark, then three digits) is
    read by the column's format; in a column with no value that decides it, or with values
    of both formats, it is an :class:`InputError` naming ``what`` and the rows (positions,
    0-based): a thousand times too small or too large is the one mistake that must not pass.
    Returns what :func:`_parse_numbers` returns.
    """
    if pd.api.types.is_numeric_dtype(values.dtype) and not pd.api.types.is_bool_dtype(values.dtype):
        return _parse_numbers(values)
    text = values.astype("str").str.strip().str.replace("\u2212", "-", regex=False)
    text = text.where(values.notna(), "")
    digits = text.str.lstrip("+-")
    kind = {k: digits.str.contains(p, regex=True).to_numpy() for k, p in _NUM_PATTERNS.items()}
    rows = np.arange(len(values))

    def show(mask: np.ndarray) -> str:
        shown = [f"row {i} ({t!r})" for i, t in zip(rows[mask][:5], text[mask][:5], strict=True)]
        more = f" ... ({int(mask.sum())} in all)" if mask.sum() > 5 else ""
        return ", ".join(shown) + more

    if kind["point"].any() and kind["comma"].any():
        raise InputError(
            f"{what} mixes two number formats: '.' is the decimal mark on {show(kind['point'])} "
            f"but ',' is on {show(kind['comma'])}. Write every number of the column the same "
            "way (no thousands separators is safest)."
        )
    if kind["ambiguous"].any() and not (kind["point"].any() or kind["comma"].any()):
        raise InputError(
            f"{what} has numbers that read two ways: {show(kind['ambiguous'])} could be a "
            "decimal (1.5) or thousands (1500), and no other value of the column tells which "
            "separator is the decimal mark. Write them without thousands separators "
            "(1500 or 1.5)."
        )
    if kind["comma"].any():
        cleaned = text.str.replace(".", "", regex=False).str.replace(",", ".", regex=False)
    else:
        cleaned = text.str.replace(",", "", regex=False)
    v, missing, bad, _ = _parse_numbers(cleaned.where(values.notna(), None))
    return v, missing, bad, text


def _coordinate_reasons(
    x: pd.Series, y: pd.Series, *, geographic: bool
) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict[str, int]]:
    """Parse ``x``/``y``; return them, the reason per row (None when usable) and counts."""
    xv, xmiss, xbad, xtext = _parse_numbers(x)
    yv, ymiss, ybad, ytext = _parse_numbers(y)
    n = len(xv)
    xname, yname = ("longitude", "latitude") if geographic else ("x", "y")
    counts: dict[str, int] = {}

    def axis_reasons(
        *,
        name: str,
        v: np.ndarray,
        miss: np.ndarray,
        bad: np.ndarray,
        text: pd.Series,
        limit: float,
    ) -> tuple[np.ndarray, np.ndarray]:
        reason = np.full(n, None, dtype=object)
        reason[miss] = f"{name} is missing"
        counts[f"{name} is missing"] = int(miss.sum())
        if bad.any():
            reason[bad] = (f"{name} is not a number: '" + text[bad].astype("str") + "'").to_numpy(
                dtype=object
            )
        counts[f"{name} is not a number"] = int(bad.sum())
        out = np.zeros(n, dtype=bool)
        if geographic:
            with np.errstate(invalid="ignore"):
                out = np.abs(v) > limit
            if out.any():
                shown = text[out].astype("str").str.replace(",", ".", regex=False)
                reason[out] = (
                    f"{name} " + shown + f" out of range [-{limit:g}, {limit:g}]"
                ).to_numpy(dtype=object)
            counts[f"{name} out of range"] = int(out.sum())
        return reason, out

    xr, _ = axis_reasons(name=xname, v=xv, miss=xmiss, bad=xbad, text=xtext, limit=180.0)
    yr, yout = axis_reasons(name=yname, v=yv, miss=ymiss, bad=ybad, text=ytext, limit=90.0)
    if geographic:
        # (0, 0) is what many tools write for "no location": a point in the Gulf of Guinea
        null_island = (xv == 0) & (yv == 0) & pd.isna(xr) & pd.isna(yr)
        if null_island.any():
            xr[null_island] = "coordinates are (0, 0), a placeholder for a missing location"
            counts["coordinates are (0, 0)"] = int(null_island.sum())
        with np.errstate(invalid="ignore"):
            swapped = yout & (np.abs(yv) <= 180) & (np.abs(xv) <= 90)
        if swapped.any():
            yr[swapped] = yr[swapped] + " (longitude and latitude look swapped)"
    xs, ys = pd.Series(xr), pd.Series(yr)
    reason = xs.where(xs.notna(), ys).to_numpy(dtype=object)
    both = xs.notna().to_numpy() & ys.notna().to_numpy()
    if both.any():
        reason[both] = (xs[both] + "; " + ys[both]).to_numpy(dtype=object)
    ok = pd.isna(reason)
    xv = np.where(xmiss | xbad, np.nan, xv)
    yv = np.where(ymiss | ybad, np.nan, yv)
    reason = np.where(ok, None, reason).astype(object)
    return xv, yv, reason, {k: c for k, c in counts.items() if c}


def _log_rejected(what: str, reason: np.ndarray, counts: dict[str, int]) -> None:
    n_bad = int(pd.notna(reason).sum())
    if n_bad:
        log.warning(
            "%s: %d of %d rows rejected (kept with geometry None and a rejected_reason): %s",
            what,
            n_bad,
            len(reason),
            "; ".join(f"{k}: {c}" for k, c in counts.items()),
        )


def _points(x: np.ndarray, y: np.ndarray, reason: np.ndarray) -> np.ndarray:
    geoms = np.full(len(x), None, dtype=object)
    ok = pd.isna(reason)
    geoms[ok] = shapely.points(x[ok], y[ok])
    return geoms
