"""Score blank-spot villages, propose candidate tower sites and rank them into a plan.

This is the public module the design names; the work is split by job:

* :func:`score_villages` (:mod:`blankspot.scoring`) -- which villages need signal most
  (uncovered businesses, weighted), with every score component in its own column.
* :func:`candidate_sites` and :func:`read_sites` (:mod:`blankspot.candidates`) -- where a
  tower could go: a grid over blank spots that hold uncovered businesses, the weighted
  centres of business clusters, and the user's own sites.
* :func:`rank_sites` and :class:`Plan` (:mod:`blankspot.ranking`) -- choose and order sites
  by the uncovered businesses they connect (a maximal covering location problem, greedy or
  exact), with the numbers done by :mod:`blankspot._mclp` on a sparse coverage matrix.
"""

from __future__ import annotations

from blankspot.candidates import candidate_sites, read_sites
from blankspot.ranking import DEFAULT_COST_IDR, Plan, rank_sites
from blankspot.scoring import score_villages

__all__ = [
    "DEFAULT_COST_IDR",
    "Plan",
    "candidate_sites",
    "rank_sites",
    "read_sites",
    "score_villages",
]
