"""blankspot.distributed on a real dask LocalCluster (2 worker processes), not a mock.

The embedded Lampung sample, its businesses as a dask-geopandas frame partitioned along a
Hilbert curve: accounting, every per-village number, every business status and the ranked
sites must equal the in-memory path.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import geopandas as gpd

dask = pytest.importorskip("dask")
dask_geopandas = pytest.importorskip("dask_geopandas")
distributed = pytest.importorskip("distributed")

from blankspot import assess, candidate_sites, coverage, rank_sites, sample  # noqa: E402
from blankspot import distributed as bs_distributed  # noqa: E402
from blankspot._errors import InputError  # noqa: E402


def test_no_client_is_an_error(lampung):
    villages, biz, signal, _ = lampung
    try:
        distributed.get_client()
        pytest.skip("a client is active in this process")
    except ValueError:
        pass
    dbiz = dask_geopandas.from_geopandas(gpd.GeoDataFrame(biz.iloc[:100]), npartitions=2)
    with pytest.raises(InputError, match=r"running dask\.distributed client"):
        bs_distributed.assess(villages, dbiz, coverage.from_raster(signal))


@pytest.fixture(scope="module")
def client():
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as c,
    ):
        yield c


@pytest.fixture(scope="module")
def lampung():
    data = sample.load_sample()
    # one kabupaten of the sample (Lampung Selatan) keeps the test quick
    keep = data["villages"].index.str.startswith("18.01.")
    return data["villages"][keep], data["businesses"], data["signal"], data["towers"]


@pytest.mark.slow  # a 2-process cluster and two assessments: ~20 s
# from_geopandas puts the partitions in the graph (a file read by the workers would not)
@pytest.mark.filterwarnings("ignore:Sending large graph:UserWarning")
def test_dask_assess_equals_in_memory(client, lampung):
    villages, biz, signal, towers = lampung
    cov = coverage.union(coverage.from_raster(signal), coverage.from_towers(towers))
    expected = assess(villages, biz, cov)
    # partitioned spatially: along a Hilbert curve, rows without a location last
    geom = biz.geometry
    located = ~(geom.isna() | geom.is_empty).to_numpy()
    h = np.full(len(biz), np.iinfo(np.int64).max)
    h[located] = geom[located].hilbert_distance()
    ordered = biz.iloc[np.argsort(h, kind="stable")]
    # dask turns text into pyarrow strings by default: equal values, another dtype
    with dask.config.set({"dataframe.convert-string": False}):
        dbiz = dask_geopandas.from_geopandas(ordered, npartitions=4, sort=False)
    assert dbiz.npartitions > 1
    got = bs_distributed.assess(villages, dbiz, cov)
    assert len(client.scheduler_info()["workers"]) == 2

    assert got.accounting == expected.accounting
    assert got.accounting["uncovered"] > 100 and got.accounting["rejected"] > 0
    pd.testing.assert_frame_equal(
        pd.DataFrame(got.villages.drop(columns="geometry")),
        pd.DataFrame(expected.villages.drop(columns="geometry")),
    )
    pd.testing.assert_frame_equal(
        pd.DataFrame(got.blank_spots.drop(columns="geometry")),
        pd.DataFrame(expected.blank_spots.drop(columns="geometry")),
    )
    cols = ["village_id", "covered", "status", "signal_dbm", "rejected_reason"]
    pd.testing.assert_frame_equal(
        pd.DataFrame(got.businesses[cols]).sort_index(),
        pd.DataFrame(expected.businesses[cols]).sort_index(),
    )
    assert got.rejected.sort_index().index.equals(expected.rejected.sort_index().index)
    assert got.weight_col == expected.weight_col and got.crs == expected.crs

    # compact tables travel back from the workers: the same statuses and counts
    small = bs_distributed.assess(villages, dbiz, cov, compact=True)
    assert small.accounting == expected.accounting
    assert not isinstance(small.businesses, gpd.GeoDataFrame)
    assert small.businesses["status"].astype(str).sort_index().tolist() == (
        expected.businesses["status"].sort_index().tolist()
    )
    pd.testing.assert_frame_equal(small.villages, expected.villages)

    # ranked sites from either assessment are the same plan
    plans = []
    for a in (got, expected):
        sites = candidate_sites(a, spacing_m=2000)
        plans.append(rank_sites(a, sites, k=25, radius_m=3000))
    cols = ["rank", "site_id", "new_businesses", "cumulative_businesses", "backhaul_to"]
    pd.testing.assert_frame_equal(plans[0].sites[cols], plans[1].sites[cols])
    np.testing.assert_allclose(plans[0].sites["backhaul_m"], plans[1].sites["backhaul_m"])
    assert plans[0].objective == plans[1].objective > 0


def test_geopandas_businesses_run_in_memory(lampung):
    villages, biz, signal, _ = lampung
    got = bs_distributed.assess(villages, biz.iloc[:2000], coverage.from_raster(signal))
    assert got.accounting["input"] == 2000


def test_wrong_business_type_is_an_error(client, lampung):
    villages, biz, signal, _ = lampung
    with pytest.raises(InputError, match=r"dask_geopandas\.GeoDataFrame"):
        bs_distributed.assess(villages, pd.DataFrame(biz), coverage.from_raster(signal))
