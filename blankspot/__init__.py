"""blankspot: plan mobile connectivity for blank spots.

Overlay signal coverage on villages and businesses (:func:`assess`), score unconnected
villages (:func:`score_villages`), and rank candidate tower sites (:func:`rank_sites`).
"""

from __future__ import annotations

from blankspot._errors import (
    BlankspotError,
    BlankspotWarning,
    CRSError,
    EmptyInputError,
    InputError,
    InputFileError,
    NoOverlapError,
    UnknownOptionError,
)

__version__ = "0.1.0"

__all__ = [
    "BlankspotError",
    "BlankspotWarning",
    "CRSError",
    "EmptyInputError",
    "InputError",
    "InputFileError",
    "NoOverlapError",
    "UnknownOptionError",
    "__version__",
]
