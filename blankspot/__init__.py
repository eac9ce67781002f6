"""blankspot: plan mobile connectivity for blank spots.

Overlay signal coverage on villages and businesses (:func:`assess`), score unconnected
villages (:func:`score_villages`), and rank candidate tower sites (:func:`rank_sites`).
"""

from __future__ import annotations

from blankspot import coverage, sample, terrain
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
from blankspot.assessment import Assessment, assess
from blankspot.export import export
from blankspot.io import (
    attach_parent_names,
    read_businesses,
    read_towers,
    read_villages,
    rejected_rows,
)
from blankspot.maps import explore_plan, plot_plan
from blankspot.matching import match_villages
from blankspot.phasing import phase_plan
from blankspot.prioritise import Plan, candidate_sites, rank_sites, score_villages

__version__ = "0.1.0"

__all__ = [
    "Assessment",
    "BlankspotError",
    "BlankspotWarning",
    "CRSError",
    "EmptyInputError",
    "InputError",
    "InputFileError",
    "NoOverlapError",
    "Plan",
    "UnknownOptionError",
    "__version__",
    "assess",
    "attach_parent_names",
    "candidate_sites",
    "coverage",
    "explore_plan",
    "export",
    "match_villages",
    "phase_plan",
    "plot_plan",
    "rank_sites",
    "read_businesses",
    "read_towers",
    "read_villages",
    "rejected_rows",
    "sample",
    "score_villages",
    "terrain",
]
