"""Exceptions and warnings raised by blankspot.

Every error a user can cause with bad input is a :class:`BlankspotError`.
Each concrete class also subclasses a builtin (``ValueError`` or ``OSError``)
so that generic ``except ValueError`` code keeps working, as rasterio's
``RasterioIOError(RasterioError, OSError)`` and osmnx's
``ValidationError(ValueError)`` do.
"""

from __future__ import annotations

__all__ = [
    "BlankspotError",
    "BlankspotWarning",
    "CRSError",
    "EmptyInputError",
    "InputError",
    "InputFileError",
    "NoOverlapError",
    "UnknownOptionError",
]


class BlankspotError(Exception):
    """Base class of every error blankspot raises on purpose."""


class InputError(BlankspotError, ValueError):
    """An input table, column, value or option is wrong; the message says how to fix it."""


class InputFileError(BlankspotError, OSError):
    """A file is missing, unreadable or in a format blankspot cannot read."""


class CRSError(InputError):
    """A layer has no CRS, or layers cannot be combined in one projected CRS."""


class NoOverlapError(InputError):
    """Two layers that must overlap (coverage and villages, sites and villages) do not."""


class EmptyInputError(InputError):
    """An input has no rows (or no usable rows)."""


class UnknownOptionError(BlankspotError, TypeError, ValueError):
    """A function was called with a keyword option it does not have.

    Subclasses ``TypeError`` too, because that is what Python itself raises
    for an unexpected keyword argument.
    """


class BlankspotWarning(UserWarning):
    """Something was suspicious but blankspot could carry on (the message says what it did)."""
