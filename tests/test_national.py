"""A whole country on one machine: businesses read in batches, the compact assessment.

Tiny files checked by hand (ids, reasons, batch sizes), then the embedded Lampung sample:
batches and ``compact=True`` must give the numbers of the in-memory path, row for row, and
the same scores, candidates and plans downstream.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import geopandas as gpd
from geopandas.testing import assert_geodataframe_equal
from shapely.geometry import Point, box

from blankspot import (
    assess,
    candidate_sites,
    coverage,
    rank_sites,
    read_businesses,
    read_towers,
    read_villages,
    sample,
    score_villages,
)
from blankspot._batches import read_businesses_batches
from blankspot._errors import InputError, InputFileError
from blankspot._points import STATUSES

LONLAT = {"lon": [105.1, 105.2, 105.3, 105.4, 105.5, 105.6, 105.7]}
LAT = [-5.1, -5.2, -5.3, -5.4, -5.5, -5.6, -5.7]


def _frame() -> pd.DataFrame:
    return pd.DataFrame({**LONLAT, "lat": LAT, "kelas": list("abcabca")})


def test_parquet_batches_number_rows_across_batches_and_files(tmp_path):
    path = tmp_path / "umkm.parquet"
    _frame().to_parquet(path, row_group_size=2)
    batches = read_businesses_batches([path, path], batch_rows=3)
    got = list(batches)
    # pyarrow yields at most batch_rows rows, never crossing a file
    assert [len(b) for b in got] == [3, 3, 1, 3, 3, 1]
    ids = [i for b in got for i in b.index]
    assert ids == [str(i) for i in range(14)]
    assert got[1]["lon"].tolist() == [105.4, 105.5, 105.6]
    assert got[0].crs.to_epsg() == 4326
    # iterating again reads the files again, from row 0
    assert next(iter(batches)).index.tolist() == ["0", "1", "2"]


def test_geoparquet_csv_and_columns(tmp_path):
    gdf = gpd.GeoDataFrame(
        {"kelas": ["a", "b", "c"], "nama": ["x", "y", "z"]},
        geometry=[Point(500_000, 9_400_000), Point(500_100, 9_400_000), None],
        crs="EPSG:32748",
    )
    gdf.to_parquet(tmp_path / "g.parquet")
    got = list(read_businesses_batches(tmp_path / "g.parquet", batch_rows=3, columns=["kelas"]))
    assert [len(b) for b in got] == [3]
    assert got[0].crs.to_epsg() == 32748
    assert "nama" not in got[0].columns and got[0]["kelas"].tolist() == ["a", "b", "c"]
    assert got[0]["rejected_reason"].tolist() == [None, None, "geometry is missing"]
    assert got[0].geometry.iloc[1].x == 500_100

    csv = tmp_path / "b.csv"
    csv.write_text("id;lintang;bujur\nA;-5,1;105,1\nB;abc;105,2\nC;-5,3;105,3\n")
    got = list(read_businesses_batches(csv, batch_rows=2, id_col="id"))
    assert [b.index.tolist() for b in got] == [["A", "B"], ["C"]]
    assert got[0]["rejected_reason"].tolist() == [None, "latitude is not a number: 'abc'"]
    assert got[1]["lat"].tolist() == [-5.3]


def test_batch_errors_name_the_file_and_rows(tmp_path):
    path = tmp_path / "b.parquet"
    pd.DataFrame({"lon": [105.0, 105.1, 105.2], "lat": [-5.0, "x", "y"]}).astype(str).to_parquet(
        path
    )
    with pytest.raises(InputError, match=r"b\.parquet' rows 1 to 1: every one of the 1 rows"):
        list(read_businesses_batches(path, batch_rows=1))
    with pytest.raises(InputError, match="batch_rows must be a whole number"):
        read_businesses_batches(path, batch_rows=0)
    with pytest.raises(InputError, match="got int"):
        read_businesses_batches(5)
    with pytest.raises(InputFileError, match="does not exist"):
        list(read_businesses_batches(tmp_path / "none.parquet"))


# the sample's CSV read batch by batch, as load_sample reads it whole
SAMPLE_OPTIONS = {"id_col": "id_umkm", "lon_col": "longitude", "lat_col": "latitude"}


@pytest.fixture(scope="module")
def lampung(tmp_path_factory):
    """Kecamatan 18.01.05 of the sample, and the sample's CSV cut to its extent.

    The cut keeps the 25 broken rows at the end of the sample (22 rejected, 3 outside).
    """
    paths = sample.sample_paths()
    villages = read_villages(paths["villages"])
    villages = villages[villages.index.str.startswith("18.01.05.")]
    raw = pd.read_csv(paths["businesses"], dtype=str)
    x0, y0, x1, y1 = villages.total_bounds
    lon = pd.to_numeric(raw["longitude"], errors="coerce")
    lat = pd.to_numeric(raw["latitude"], errors="coerce")
    keep = lon.between(x0, x1) & lat.between(y0, y1)
    keep.iloc[-25:] = True
    csv = tmp_path_factory.mktemp("lampung") / "umkm.csv"
    raw[keep.to_numpy()].to_csv(csv, index=False)
    towers = read_towers(paths["towers"])
    cov = coverage.union(coverage.from_raster(paths["signal"]), coverage.from_towers(towers))
    return villages, csv, cov


@pytest.fixture(scope="module")
def full(lampung):
    villages, csv, cov = lampung
    return assess(villages, read_businesses(csv, **SAMPLE_OPTIONS), cov)


@pytest.fixture(scope="module")
def compact(lampung):
    villages, csv, cov = lampung
    batches = read_businesses_batches(csv, batch_rows=7_000, **SAMPLE_OPTIONS)
    return assess(villages, batches, cov, compact=True)


def test_compact_batches_equal_the_in_memory_assessment(full, compact):
    assert compact.accounting == full.accounting
    assert full.accounting["uncovered"] > 100 and full.accounting["rejected"] > 0
    pd.testing.assert_frame_equal(compact.villages, full.villages)
    pd.testing.assert_frame_equal(compact.blank_spots, full.blank_spots)
    # the CSV's own columns are read as text in batches (as inferred in one frame)
    assert compact.rejected.index.tolist() == full.rejected.index.tolist()
    assert compact.rejected["reason"].tolist() == full.rejected["reason"].tolist()
    assert "lon" not in compact.rejected.columns
    c, f = compact.businesses, full.businesses
    assert not isinstance(c, gpd.GeoDataFrame) and isinstance(f, gpd.GeoDataFrame)
    assert c.index.tolist() == f.index.tolist()
    for col in ("covered", "weight"):
        assert c[col].tolist() == f[col].tolist()
    # float32 in the compact table: the raster's own precision
    np.testing.assert_allclose(c["signal_dbm"], f["signal_dbm"], rtol=1e-6)
    reasons = c["rejected_reason"]
    assert reasons.astype(object).where(reasons.notna(), None).tolist() == (
        f["rejected_reason"].tolist()
    )
    assert c["status"].astype(str).tolist() == f["status"].tolist()
    assert c["village_id"].astype(object).where(c["village_id"].notna(), None).tolist() == (
        f["village_id"].astype(object).where(f["village_id"].notna(), None).tolist()
    )
    ok = f.geometry.notna().to_numpy()
    np.testing.assert_array_equal(c["x"].to_numpy()[ok], f.geometry.x.to_numpy()[ok])
    np.testing.assert_array_equal(c["y"].to_numpy()[ok], f.geometry.y.to_numpy()[ok])
    assert c["x"].isna().to_numpy()[~ok].all()
    assert isinstance(c["status"].dtype, pd.CategoricalDtype)
    assert isinstance(c["village_id"].dtype, pd.CategoricalDtype)
    assert "geometry" not in c.columns and "lon" not in c.columns


def test_scores_candidates_and_plans_agree(full, compact):
    pd.testing.assert_frame_equal(score_villages(compact), score_villages(full))
    s_c, s_f = candidate_sites(compact, spacing_m=2000), candidate_sites(full, spacing_m=2000)
    assert_geodataframe_equal(s_c, s_f)
    p_c = rank_sites(compact, s_c, k=10, radius_m=3000)
    p_f = rank_sites(full, s_f, k=10, radius_m=3000)
    assert_geodataframe_equal(p_c.sites, p_f.sites)
    assert p_c.objective == p_f.objective > 0 and p_c.upper_bound == p_f.upper_bound


def test_batches_without_compact_equal_one_frame(lampung, full):
    villages, csv, cov = lampung
    got = assess(villages, read_businesses_batches(csv, batch_rows=9_000, **SAMPLE_OPTIONS), cov)
    assert got.accounting == full.accounting
    # blankspot's columns (the CSV's own are read as text in batches)
    cols = ["lon", "lat", "weight", "rejected_reason", "geometry", "village_id", "covered"]
    cols += ["signal_dbm", "status"]
    assert_geodataframe_equal(got.businesses[cols], full.businesses[cols])


def test_ids_repeated_across_batches_are_refused(tmp_path):
    villages = gpd.GeoDataFrame(
        geometry=[box(104, -6, 106, -4)], index=["18.01.01.2001"], crs="EPSG:4326"
    )
    cov = coverage.from_polygons(gpd.GeoDataFrame(geometry=[box(104, -6, 105, -4)], crs=4326))
    frame = pd.DataFrame({"id": ["a", "b", "a"], "lon": [104.5, 105.5, 104.6], "lat": -5.0})
    with pytest.raises(InputError, match=r"business ids repeat across batches: a \(1 in all\)"):
        assess(villages, read_businesses_batches(frame, batch_rows=2, id_col="id"), cov)
    with pytest.raises(InputError, match="compact must be True or False"):
        assess(villages, read_businesses(frame.iloc[:2], id_col="id"), cov, compact="yes")


def test_rank_by_region_on_the_compact_assessment(full, compact):
    from blankspot.regions import rank_by_region

    sites = candidate_sites(full, spacing_m=3000)
    got = rank_by_region(compact, sites, k=5, radius_m=3000, bound="greedy")
    want = rank_by_region(full, sites, k=5, radius_m=3000, bound="greedy")
    assert list(got) == list(want) == ["18"]
    assert_geodataframe_equal(got["18"].sites, want["18"].sites)
    assert got["18"].assessment.accounting == want["18"].assessment.accounting
    # businesses outside every village belong to no region, in either table
    assert compact.accounting["outside_villages"] > 0
    assert got["18"].assessment.businesses.index.tolist() == (
        want["18"].assessment.businesses.index.tolist()
    )


def test_rank_sites_in_demand_chunks_equals_one_chunk(full, monkeypatch):
    from blankspot import _demand

    sites = candidate_sites(full, spacing_m=1000)
    want = rank_sites(full, sites, k=15, radius_m=2000, bound="greedy")
    monkeypatch.setattr(_demand, "DEMAND_CHUNK", 17)
    assert full.accounting["uncovered"] > 5 * 17
    got = rank_sites(full, sites, k=15, radius_m=2000, bound="greedy")
    assert_geodataframe_equal(got.sites, want.sites)
    assert (got.objective, got.upper_bound, got.unreachable) == (
        want.objective,
        want.upper_bound,
        want.unreachable,
    )


def test_compact_parts_are_concatenated_column_by_column_like_pd_concat():
    from blankspot._points import _concat_businesses, _status_codes

    def part(ids, statuses, reason):
        f = pd.DataFrame(
            {
                "x": np.arange(len(ids), dtype=float),
                "signal_dbm": np.full(len(ids), -90.5, dtype="float32"),
                "covered": [s == "covered" for s in statuses],
                "rejected_reason": pd.array(reason, dtype="str"),
                "village_id": pd.Categorical(["a"] * len(ids), categories=["a", "b"]),
                "status": pd.Categorical(statuses, categories=list(STATUSES)),
            },
            index=pd.Index(pd.array(ids, dtype="str"), name="business_id"),
        )
        f.attrs = {"weight_col": "weight"}
        return f

    frames = [
        part(["7", "8"], ["covered", "rejected"], [None, "latitude is missing"]),
        part(["9"], ["outside_villages"], [None]),
    ]
    expected = pd.concat([f.copy() for f in frames])
    got = _concat_businesses(frames)
    pd.testing.assert_frame_equal(got, expected, check_exact=True)
    assert got.index.name == "business_id" and got.attrs == {"weight_col": "weight"}
    assert frames == []  # the parts are let go as they are added
    # status positions in STATUSES, from the categorical or from plain text
    assert _status_codes(got["status"]).tolist() == [0, 3, 2]
    assert _status_codes(got["status"].astype(object)).tolist() == [0, 3, 2]


def test_candidate_sites_with_the_points_queried_in_chunks(full, monkeypatch):
    """Blank spots holding businesses are the same when the points come a chunk at a time."""
    from blankspot import candidates

    want = candidate_sites(full, spacing_m=2000)
    monkeypatch.setattr(candidates, "_POINTS_PER_QUERY", 7)
    assert full.accounting["uncovered"] > 10 * 7  # many chunks, spots found in early ones
    got = candidate_sites(full, spacing_m=2000)
    assert_geodataframe_equal(got, want)
    assert (want["source"] == "grid").sum() > 0
