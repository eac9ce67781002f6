"""Up-front validation shared by the public entry points."""

from __future__ import annotations

import difflib
import functools
import inspect
import logging
import math
import numbers
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from pyproj import CRS

from blankspot._errors import BlankspotWarning, CRSError, InputError, UnknownOptionError

__all__ = [
    "PLAUSIBLE_RADIUS_M",
    "check_options",
    "positive_metres",
    "require_crs",
    "tower_reach_m",
    "warn_user",
    "working_crs",
]

log = logging.getLogger("blankspot")

F = TypeVar("F", bound=Callable[..., Any])


def check_options(func: F) -> F:
    """Turn Python's bare ``TypeError`` for a misspelt keyword into a helpful blankspot error.

    The wrapped function keeps its signature (and so its documentation); a call with an
    unknown keyword raises :class:`~blankspot.UnknownOptionError` naming the closest valid
    option, so ``assess(..., threshhold_dbm=-100)`` says "did you mean 'threshold_dbm'?"
    instead of being swallowed (anti-pattern B in STYLE.md).
    """
    sig = inspect.signature(func)
    valid = [
        name
        for name, p in sig.parameters.items()
        if p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD)
    ]
    has_var_kw = any(p.kind is p.VAR_KEYWORD for p in sig.parameters.values())

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if not has_var_kw:
            unknown = [k for k in kwargs if k not in sig.parameters]
            if unknown:
                first = unknown[0]
                close = difflib.get_close_matches(first, valid, n=1)
                hint = f" Did you mean '{close[0]}'?" if close else ""
                raise UnknownOptionError(
                    f"{func.__name__}() got an unknown option '{first}'.{hint} "
                    f"Valid options are: {', '.join(valid)}."
                )
        return func(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


def positive_metres(value: Any, name: str, *, hint: str = "") -> float:
    """Return ``value`` as a float, raising :class:`InputError` unless it is metres > 0.

    Parameters
    ----------
    value
        The user's value.
    name
        The argument's name as the user wrote it (``"radius_m"``, ``"radius_m['LTE']"``).
    hint
        A sentence appended to the message (e.g. typical values).

    Examples
    --------
    >>> positive_metres(5000, "radius_m")
    5000.0
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise InputError(f"{name} must be a number of metres, got {value!r}.")
    v = float(value)
    if not math.isfinite(v) or v <= 0:
        raise InputError(
            f"{name} must be a positive number of metres, got {value!r}. Distances are in "
            f"metres in the projected working CRS, e.g. {name}=5000.{' ' + hint if hint else ''}"
        )
    return v


def require_crs(crs: Any, *, what: str) -> CRS:
    """Return ``crs`` as a :class:`pyproj.CRS`, raising :class:`CRSError` when it is missing.

    Parameters
    ----------
    crs
        Anything pyproj understands, or ``None``.
    what
        Human name of the layer, used in the message ("villages", "coverage raster 'x.tif'").
    """
    if crs is None:
        raise CRSError(
            f"{what} has no CRS. blankspot never guesses a CRS for a vector or raster layer. "
            "Set it on the data (GeoDataFrame.set_crs('EPSG:4326') if the coordinates are "
            "longitude/latitude) or fix the file's .prj / metadata."
        )
    try:
        return CRS.from_user_input(crs)
    except Exception as exc:  # pyproj raises its own CRSError; re-raise as ours
        raise CRSError(f"{what} has a CRS pyproj cannot read ({crs!r}): {exc}") from exc


def _check_degrees(villages: Any) -> None:
    """Refuse villages labelled in degrees whose coordinates cannot be degrees."""
    vcrs = require_crs(villages.crs, what="villages")
    if vcrs.is_geographic:
        x0, y0, x1, y1 = (float(b) for b in villages.total_bounds)
        if not (-180 <= x0 <= x1 <= 180 and -90 <= y0 <= y1 <= 90):
            raise CRSError(
                f"villages are labelled {vcrs.to_string()} (degrees), but their coordinates "
                f"run x {x0:,.0f}..{x1:,.0f}, y {y0:,.0f}..{y1:,.0f}: far outside longitude "
                "and latitude, so they look like projected metres with the wrong CRS. Set the "
                "CRS they are really in, e.g. villages.set_crs('EPSG:32748', "
                "allow_override=True) for UTM 48S, or fix the file's .prj."
            )


def working_crs(villages: Any, crs: Any = None) -> CRS:
    """Choose the one projected CRS every layer is brought into.

    The caller's ``crs`` if given (it must be projected, so distances are in metres),
    else the UTM zone estimated from the villages. The choice is logged.
    """
    if villages.crs is not None:
        _check_degrees(villages)
    if crs is not None:
        out = require_crs(crs, what="The requested working crs")
        if not out.is_projected:
            raise CRSError(
                f"crs={out.to_string()} is geographic (degrees). blankspot measures "
                "distances and areas in metres: pass a projected CRS such as the UTM zone "
                "(EPSG:32748 for most of Lampung) or leave crs=None to estimate it."
            )
        unit = out.axis_info[0].unit_name if out.axis_info else ""
        if unit not in ("metre", "meter"):
            raise CRSError(
                f"crs={out.to_string()} measures in {unit or 'unknown units'}, not metres; "
                "blankspot's radius_m, spacing_m and km² need a metric CRS such as the UTM "
                "zone (EPSG:32748 for most of Lampung)."
            )
        log.info("Working CRS: %s (given by the caller)", out.to_string())
        return out
    _check_degrees(villages)
    try:
        out = villages.estimate_utm_crs()
    except RuntimeError as exc:
        raise CRSError(
            f"Cannot estimate a UTM zone for the villages ({exc}). Pass the projected working "
            "CRS yourself, e.g. crs='EPSG:32748' (CLI: --crs EPSG:32748)."
        ) from exc
    log.info("Working CRS: %s (UTM zone estimated from the villages)", out.to_string())
    return out


_PACKAGE_DIR = str(Path(__file__).resolve().parent)


def _caller_stacklevel() -> int:
    """Stack level of the first frame outside blankspot, so warnings point at user code.

    A fixed ``stacklevel=2`` would point inside the :func:`check_options` wrapper.
    """
    frame = inspect.currentframe()
    frame = frame.f_back if frame is not None else None  # the function calling warn
    level = 1
    while frame is not None and str(Path(frame.f_code.co_filename).resolve()).startswith(
        _PACKAGE_DIR
    ):
        frame = frame.f_back
        level += 1
    return level


def warn_user(message: str) -> None:
    """Issue a :class:`BlankspotWarning` attributed to the user's line of code."""
    warnings.warn(message, BlankspotWarning, stacklevel=_caller_stacklevel())


#: A tower's reach (metres) outside this range is most likely a unit slip (km for m).
PLAUSIBLE_RADIUS_M = (100.0, 50_000.0)


def tower_reach_m(value: Any, name: str, *, hint: str = "") -> float:
    """Like :func:`positive_metres`, warning when the reach looks like a unit mistake.

    Below 100 m or above 50 km (``PLAUSIBLE_RADIUS_M``) a :class:`BlankspotWarning` asks
    whether kilometres were given (the CLI shows it as a log line); the value is kept.

    Examples
    --------
    >>> tower_reach_m(5000, "radius_m")
    5000.0
    """
    r = positive_metres(value, name, hint=hint)
    lo, hi = PLAUSIBLE_RADIUS_M
    if r < lo:
        warn_user(
            f"{name}={r:g} m is less than {lo:g} m, but a tower reaches kilometres: was it "
            f"given in kilometres? ({r:g} km is {r * 1000:g} m.) Carrying on with metres."
        )
    elif r > hi:
        warn_user(
            f"{name}={r:g} m is more than {hi / 1000:g} km, beyond the reach of any cell "
            "tower: is it in the wrong unit? Carrying on with metres."
        )
    return r
