"""The outputs of a compact assessment (``assess(compact=True)``) equal the in-memory ones.

Three 1 km villages in UTM 48S; the west one inside a coverage polygon. Five businesses:
two covered (west), two uncovered (east), one with no coordinates (rejected).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import geopandas as gpd

from blankspot import assess, candidate_sites, export, rank_sites, read_businesses
from blankspot._batches import read_businesses_batches
from tests.common import CRS_UTM, X0, Y0, three_villages

UTM = CRS_UTM


@pytest.fixture(scope="module")
def pair():
    villages, cov = three_villages()
    x = X0 + np.array([200.0, 800.0, 2300.0, 2600.0, np.nan])
    pts = gpd.GeoSeries(gpd.points_from_xy(x, np.full(5, Y0 + 500)), crs=UTM).to_crs(4326)
    frame = pd.DataFrame(
        {"id": list("abcde"), "lon": pts.x, "lat": pts.y, "kelas": ["mikro", "kecil"] * 2 + ["x"]}
    )
    full = assess(villages, read_businesses(frame, id_col="id"), cov)
    compact = assess(villages, read_businesses_batches(frame, id_col="id"), cov, compact=True)
    return full, compact


def test_the_business_layer_of_a_compact_assessment(pair, tmp_path):
    full, compact = pair
    assert not isinstance(compact.businesses, gpd.GeoDataFrame)
    layers = {}
    for name, a in (("full", full), ("compact", compact)):
        sites = candidate_sites(a, spacing_m=500)
        plan = rank_sites(a, sites, k=1, radius_m=600)
        files = export(plan, tmp_path / name, formats=["gpkg", "shp", "csv"])
        layers[name] = gpd.read_file(files["gpkg"], layer="businesses")
        shp = gpd.read_file(tmp_path / name / "shp" / "businesses.shp")
        assert shp["status"].tolist() == layers[name]["status"].tolist()
    c, f = layers["compact"], layers["full"]
    # by hand: a, b covered in Satu; c, d uncovered in Tiga; e rejected, with no point
    assert c["business_id"].tolist() == list("abcde")
    assert c["status"].tolist() == ["covered"] * 2 + ["uncovered"] * 2 + ["rejected"]
    assert c["village_id"].tolist()[:4] == ["18.01.01.2001"] * 2 + ["18.01.01.2003"] * 2
    assert c["village_id"].isna().iloc[4] and c.geometry.isna().iloc[4]
    np.testing.assert_allclose(c.geometry.x[:4], X0 + np.array([200, 800, 2300, 2600]), atol=1e-6)
    # the same rows, values and points as the in-memory assessment's layer (which also
    # carries the parsed lon/lat the compact table drops)
    shared = [col for col in f.columns if col in c.columns]
    assert set(f.columns) - set(shared) <= {"lon", "lat"}
    pd.testing.assert_frame_equal(
        pd.DataFrame(c[shared].drop(columns="geometry")),
        pd.DataFrame(f[shared].drop(columns="geometry")),
        check_dtype=False,
    )
    assert c.geometry.geom_equals_exact(f.geometry, tolerance=1e-6)[:4].all()
