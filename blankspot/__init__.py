"""blankspot: plan mobile connectivity for blank spots.

Overlay signal coverage on villages and businesses (:func:`assess`), score unconnected
villages (:func:`score_villages`), and rank candidate tower sites (:func:`rank_sites`).
"""

from __future__ import annotations

import importlib
import sys
import types
from typing import TYPE_CHECKING, Any

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

if TYPE_CHECKING:  # the names below are imported on first use (PEP 562), see __getattr__
    from blankspot import coverage, sample, terrain
    from blankspot._batches import BusinessBatches, read_businesses_batches
    from blankspot.assessment import Assessment, assess
    from blankspot.backhaul import Backhaul, plan_backhaul
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
    from blankspot.regions import province_of, rank_by_region

#: public name -> module that defines it. Importing blankspot stays fast (no geopandas,
#: rasterio or matplotlib) until a name is used: ``blankspot --help`` starts in a blink.
_LAZY = {
    "coverage": "blankspot.coverage",
    "sample": "blankspot.sample",
    "terrain": "blankspot.terrain",
    "Assessment": "blankspot.assessment",
    "assess": "blankspot.assessment",
    "Backhaul": "blankspot.backhaul",
    "plan_backhaul": "blankspot.backhaul",
    "export": "blankspot.export",
    "attach_parent_names": "blankspot.io",
    "read_businesses": "blankspot.io",
    "read_businesses_batches": "blankspot._batches",
    "BusinessBatches": "blankspot._batches",
    "read_towers": "blankspot.io",
    "read_villages": "blankspot.io",
    "rejected_rows": "blankspot.io",
    "explore_plan": "blankspot.maps",
    "plot_plan": "blankspot.maps",
    "match_villages": "blankspot.matching",
    "phase_plan": "blankspot.phasing",
    "Plan": "blankspot.prioritise",
    "candidate_sites": "blankspot.prioritise",
    "rank_sites": "blankspot.prioritise",
    "score_villages": "blankspot.prioritise",
    "province_of": "blankspot.regions",
    "rank_by_region": "blankspot.regions",
}


def __getattr__(name: str) -> Any:
    """Import a public name's module on first use (PEP 562) and cache the name."""
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'blankspot' has no attribute {name!r}")
    mod = importlib.import_module(module)
    # a module name (coverage, sample, terrain) is the module itself
    value = mod if module == f"blankspot.{name}" else getattr(mod, name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


class _Package(types.ModuleType):
    """The package module: ``blankspot.export`` is the function, never the submodule.

    Importing the submodule ``blankspot.export`` makes Python set the package attribute
    ``export`` to the module; the setter keeps the function instead (as the eager
    ``from blankspot.export import export`` did). ``importlib.import_module`` still gives
    the module.
    """

    @property
    def export(self) -> Any:
        from blankspot.export import export  # noqa: PLC0415

        return export

    @export.setter
    def export(self, value: Any) -> None:
        pass


sys.modules[__name__].__class__ = _Package


__version__ = "0.1.0"

__all__ = [
    "Assessment",
    "Backhaul",
    "BlankspotError",
    "BlankspotWarning",
    "BusinessBatches",
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
    "plan_backhaul",
    "plot_plan",
    "province_of",
    "rank_by_region",
    "rank_sites",
    "read_businesses",
    "read_businesses_batches",
    "read_towers",
    "read_villages",
    "rejected_rows",
    "sample",
    "score_villages",
    "terrain",
]
