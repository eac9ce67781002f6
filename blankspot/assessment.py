"""Overlay coverage on villages and businesses: :func:`assess` and its :class:`Assessment`."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

import geopandas as gpd
from pyproj import CRS

__all__ = ["Assessment"]

log = logging.getLogger("blankspot")

ACCOUNTING_KEYS = ("input", "covered", "uncovered", "outside_villages", "rejected")


@dataclass(frozen=True)
class Assessment:
    """The coverage status of every business and village; see :func:`assess`.

    Attributes
    ----------
    businesses : GeoDataFrame or None
        Every input business row (input index) with ``village_id``, ``covered``, ``status``
        and, when a signal raster is among the sources, ``signal_dbm``. ``None`` when the
        businesses were given as counts per village.
    villages : GeoDataFrame
        The villages with ``area_km2``, ``covered_area_share``, ``n_businesses``,
        ``n_covered``, ``n_uncovered``, ``uncovered_share``, ``weighted_uncovered`` and
        ``blank_spot``.
    blank_spots : GeoDataFrame
        Contiguous uncovered polygons cut by village, with ``village_id``, ``area_km2``,
        ``n_businesses`` and ``weighted_businesses``.
    accounting : dict
        ``input``, ``covered``, ``uncovered``, ``outside_villages``, ``rejected``; the last four
        add up to ``input``.
    rejected : DataFrame
        The rejected business rows with a ``reason`` column.
    crs : pyproj.CRS
        The projected working CRS of every GeoDataFrame above.
    weight_col : str or None
        Name of the business weight column, when the businesses carry weights.
    coverage : object
        The coverage source that was assessed (see :mod:`blankspot.coverage`).
    """

    businesses: gpd.GeoDataFrame | None
    villages: gpd.GeoDataFrame
    blank_spots: gpd.GeoDataFrame
    accounting: dict[str, Any]
    rejected: pd.DataFrame
    crs: CRS
    weight_col: str | None = None
    coverage: Any = None
    counts_mode: bool = False
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def weighted(self) -> bool:
        """Whether the businesses carry weights (``weight_col`` was given)."""
        return self.weight_col is not None
