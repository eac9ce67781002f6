"""Shared fixtures: the tiny world of tests/common.py and the optional real Lampung data."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

import geopandas as gpd

from tests.common import CRS_UTM, TRANSFORM, VILLAGE_BOXES, signal_array, write_tif

#: the real data: $BLANKSPOT_SHARED_DATA when set, else ../shared/data beside the checkout
SHARED_DATA = Path(
    os.environ.get("BLANKSPOT_SHARED_DATA")
    or Path(__file__).resolve().parents[1].parent / "shared" / "data"
)


@pytest.fixture
def villages() -> gpd.GeoDataFrame:
    """The four 5 x 5 m villages, index = village id, in UTM 48S."""
    gdf = gpd.GeoDataFrame(
        {"name": ["Satu", "Dua", "Tiga", "Empat"]},
        geometry=list(VILLAGE_BOXES.values()),
        index=list(VILLAGE_BOXES.keys()),
        crs=CRS_UTM,
    )
    gdf.index.name = "village_id"
    return gdf


@pytest.fixture
def signal_tif(tmp_path: Path) -> Path:
    """The 10 x 10 RSRP raster of tests/common.py written as a GeoTIFF."""
    return write_tif(tmp_path / "signal.tif", signal_array(), TRANSFORM, nodata=np.nan)


@pytest.fixture
def shared_data() -> Path:
    """The real data beside the checkout; skips the test when it is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(
            f"real data folder {SHARED_DATA} not present (set BLANKSPOT_SHARED_DATA to point "
            "at shared/data)"
        )
    return SHARED_DATA
