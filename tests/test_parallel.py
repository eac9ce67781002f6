"""``assess(workers=...)``: UTM zones and business batches on worker processes.

The parallel path must give the serial result bit for bit (the pieces are put together in
order), fall back to a plain loop where it cannot fork, pass the workers' warnings and errors
on, and never use more processes than the usable cores.
"""

from __future__ import annotations

import logging
import multiprocessing as mp
import warnings

import numpy as np
import pandas as pd
import pytest
from affine import Affine

import geopandas as gpd
import shapely
from geopandas.testing import assert_geodataframe_equal
from shapely.geometry import Point, box

from blankspot import _parallel, assess, coverage
from blankspot._batches import read_businesses_batches
from blankspot._errors import BlankspotWarning, InputError
from tests.common import write_tif

#: Village clusters in three UTM zones: 48S (Lampung), 49S (Central Java), 51N (Sulawesi).
CENTRES = [(105.20, -5.40), (111.10, -7.30), (121.30, 1.10)]
STEP = 0.02  # degrees: villages of about 2 km a side
#: Villages per cluster (3 rows of these): the zones differ in size, so the largest-first
#: order of the workers is not the zone order the results are put together in.
COLUMNS = (4, 5, 3)
RASTER_ORIGIN = (105.0, 1.3)  # top-left corner, EPSG:4326
PIXEL = 0.005


def _villages() -> gpd.GeoDataFrame:
    ids, geoms = [], []
    for k, (lon, lat) in enumerate(CENTRES):
        for i in range(COLUMNS[k]):
            for j in range(3):
                x0, y0 = lon + i * STEP, lat + j * STEP
                ids.append(f"{71 + k}.01.01.{2001 + 3 * i + j}")
                geoms.append(box(x0, y0, x0 + STEP, y0 + STEP))
    return gpd.GeoDataFrame({"name": ids}, geometry=geoms, index=ids, crs="EPSG:4326")


@pytest.fixture(scope="module")
def rsrp(tmp_path_factory):
    """A 4326 raster over the three clusters: covered (-80 dBm) in diagonal bands."""
    width = round((121.5 - RASTER_ORIGIN[0]) / PIXEL)
    height = round((RASTER_ORIGIN[1] + 7.5) / PIXEL)
    rows, cols = np.indices((height, width))
    values = np.where((rows + 2 * cols) % 9 < 4, -80.0, -125.0).astype("float32")
    return write_tif(
        tmp_path_factory.mktemp("par") / "rsrp.tif",
        values,
        Affine(PIXEL, 0, RASTER_ORIGIN[0], 0, -PIXEL, RASTER_ORIGIN[1]),
        crs="EPSG:4326",
        block=256,
    )


def _coverage(rsrp):
    towers = gpd.GeoDataFrame(
        {"radio": ["LTE", "GSM", "LTE"], "range_m": [1500.0, np.nan, 1200.0]},
        geometry=[Point(105.23, -5.37), Point(111.14, -7.27), Point(130.0, -3.0)],
        crs="EPSG:4326",
    )
    return coverage.union(coverage.from_raster(rsrp), coverage.from_towers(towers))


def _businesses() -> pd.DataFrame:
    rng = np.random.default_rng(11)
    parts = []
    for lon, lat in CENTRES:  # some fall outside the villages (outside_villages)
        parts.append(
            pd.DataFrame(
                {
                    "lon": lon + rng.uniform(-0.01, 0.11, 400),
                    "lat": lat + rng.uniform(-0.01, 0.07, 400),
                    "weight": rng.integers(1, 5, 400).astype(float),
                }
            )
        )
    df = pd.concat(parts, ignore_index=True)
    df.loc[[5, 777], "lat"] = np.nan  # rejected rows
    return df


@pytest.fixture
def two_cores(monkeypatch):
    """Fork two workers even on a one-core machine (the results cannot depend on it)."""
    monkeypatch.setattr(_parallel, "usable_cores", lambda: 2)


def _run(rsrp, workers, compact):
    batches = read_businesses_batches(_businesses(), batch_rows=250, weight_col="weight")
    return assess(_villages(), batches, _coverage(rsrp), compact=compact, workers=workers)


@pytest.mark.parametrize("compact", [True, False])
def test_workers_give_the_serial_result_bit_for_bit(rsrp, two_cores, caplog, compact):
    serial = _run(rsrp, 1, compact)
    with caplog.at_level(logging.INFO, logger="blankspot"):
        par = _run(rsrp, 2, compact)
    # both halves ran on workers: the zones and the business batches
    assert caplog.text.count("Running on 2 worker processes") == 2
    assert par.accounting == serial.accounting
    assert par.accounting["input"] == 1200
    assert par.accounting["rejected"] == 2
    assert par.accounting["outside_villages"] > 0
    # three zones, each with covered and partly covered villages
    share = par.villages["covered_area_share"]
    assert share.gt(0).all()
    assert share.lt(1).groupby(share.index.str[:2]).any().all()
    assert_geodataframe_equal(par.villages, serial.villages, check_less_precise=False)
    assert_geodataframe_equal(par.blank_spots, serial.blank_spots, check_less_precise=False)
    assert shapely.equals_exact(
        par.blank_spots.geometry.array, serial.blank_spots.geometry.array, tolerance=0
    ).all()
    if compact:
        pd.testing.assert_frame_equal(par.businesses, serial.businesses, check_exact=True)
    else:
        assert_geodataframe_equal(par.businesses, serial.businesses, check_less_precise=False)
    assert par.businesses.index.tolist() == [str(i) for i in range(1200)]  # batch order
    pd.testing.assert_frame_equal(par.rejected, serial.rejected)


def test_default_uses_the_usable_cores_and_one_batch_stays_here(rsrp, two_cores, caplog):
    with caplog.at_level(logging.INFO, logger="blankspot"):
        one_batch = read_businesses_batches(_businesses(), batch_rows=5000, weight_col="weight")
        a = assess(_villages(), one_batch, _coverage(rsrp), compact=True)
    # the zones went to two workers; a single batch is classified in this process
    assert caplog.text.count("Running on 2 worker processes") == 1
    assert a.accounting["input"] == 1200


def test_no_fork_or_daemon_means_a_plain_loop(monkeypatch):
    assert _parallel.plan_workers(None, 5) == min(_parallel.usable_cores(), 5)
    monkeypatch.setattr(_parallel, "usable_cores", lambda: 2)
    assert _parallel.plan_workers(None, 17) == 2
    assert _parallel.plan_workers(8, 17) == 2  # never more than the cores
    assert _parallel.plan_workers(8, 1) == 1  # nor than the tasks
    assert _parallel.plan_workers(1, 17) == 1
    monkeypatch.setattr(mp, "get_all_start_methods", lambda: ["spawn"])
    assert _parallel.plan_workers(None, 17) == 1


@pytest.mark.parametrize("bad", [0, -1, 1.5, "2", True])
def test_workers_must_be_a_whole_number(bad):
    with pytest.raises(InputError, match="workers must be a whole number"):
        assess(_villages(), pd.Series({"71.01.01.2001": 3}), "x.gpkg", workers=bad)


def _warn_and_square(state, task):
    if task == 3:
        warnings.warn(f"task {task} is odd", BlankspotWarning, stacklevel=1)
    if task == 5:
        raise InputError(f"task {task} failed in {state['where']}")
    return task * task


def test_results_in_task_order_warnings_and_errors_come_back(two_cores):
    with pytest.warns(BlankspotWarning, match="task 3 is odd"):
        got = list(
            _parallel.run(_warn_and_square, range(5), state={"where": "w"}, workers=2, in_flight=3)
        )
    assert got == [0, 1, 4, 9, 16]
    with pytest.raises(InputError, match="task 5 failed in w"):
        list(_parallel.run(_warn_and_square, [4, 5, 6], state={"where": "w"}, workers=2))
    assert _parallel._STATE == {}  # nothing left behind for the next run


def test_a_bad_batch_on_a_worker_names_its_rows(rsrp, two_cores):
    df = _businesses()
    df.loc[250:499, "lat"] = np.nan  # the second batch: every row unusable
    batches = read_businesses_batches(df, batch_rows=250, weight_col="weight")
    with pytest.raises(InputError, match="rows 250 to 499"):
        assess(_villages(), batches, _coverage(rsrp), compact=True, workers=2)


def test_compact_parts_give_the_numbers_of_full_parts_with_weights(rsrp):
    # compact parts drop their row arrays; the combined table gives them back
    full = _run(rsrp, 1, compact=False)
    compact = _run(rsrp, 1, compact=True)
    cols = ["n_businesses", "n_covered", "n_uncovered", "weighted_uncovered", "blank_spot"]
    pd.testing.assert_frame_equal(compact.villages[cols], full.villages[cols], check_exact=True)
    pd.testing.assert_frame_equal(compact.blank_spots, full.blank_spots, check_exact=True)
    assert compact.accounting == full.accounting
    # the weights matter: 1-4 per business, not one each
    assert compact.villages["weighted_uncovered"].sum() > compact.villages["n_uncovered"].sum()
