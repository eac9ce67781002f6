"""Kernels of blankspot._raster, checked against rasterio.sample, exactextract and shapely."""

from __future__ import annotations

import logging
import re
from pathlib import Path

import numpy as np
import pytest
from affine import Affine
from exactextract import exact_extract
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import ndimage

import geopandas as gpd
import rasterio
import shapely
from shapely.geometry import box

from blankspot import _raster
from blankspot.coverage import from_raster
from tests.common import CRS_UTM, X0, Y0, write_tif

CRS = "EPSG:32748"


def grid_of(path: Path) -> _raster.Grid:
    with rasterio.open(path) as ds:
        return _raster.grid_from_dataset(ds, str(path), 1)


def ge(thr: float):
    return lambda v: v >= thr


def voronoi_villages(rng: np.random.Generator, bounds: tuple, n: int) -> np.ndarray:
    """Voronoi cells clipped to `bounds`, one with a hole and one made a multipolygon."""
    xmin, ymin, xmax, ymax = bounds
    pts = rng.uniform([xmin, ymin], [xmax, ymax], (n, 2))
    frame = shapely.box(*bounds)
    cells = shapely.get_parts(shapely.voronoi_polygons(shapely.multipoints(pts), extend_to=frame))
    cells = shapely.intersection(cells, frame)
    cells[0] = cells[0].difference(shapely.point_on_surface(cells[0]).buffer(23.0))
    cells[1] = shapely.union(cells[1], shapely.box(xmin, ymin, xmin + 7, ymin + 7))
    return cells


# --- points -------------------------------------------------------------------------------


@pytest.fixture
def odd_raster(tmp_path: Path) -> Path:
    """30 m pixels on an origin that is not a multiple of 30, with nodata pixels."""
    rng = np.random.default_rng(1)
    arr = rng.uniform(-140, -60, (40, 50)).astype("float32")
    arr[5:8, 10:14] = -9999.0
    t = Affine(30.0, 0.0, 499_985.3, 0.0, -30.0, 9_400_020.7)
    return write_tif(tmp_path / "odd.tif", arr, t, nodata=-9999.0, block=16)


def edge_points(transform: Affine, width: int, height: int) -> tuple[np.ndarray, np.ndarray]:
    """Points exactly on pixel corners/edges, pixel centres, outside, and NaN."""
    cols = np.arange(-1, width + 2)
    rows = np.arange(-1, height + 2)
    cc, rr = np.meshgrid(cols, rows)
    x, y = transform @ (cc.ravel().astype(float), rr.ravel().astype(float))  # corners
    xc, yc = transform @ (cc.ravel() + 0.5, rr.ravel() + 0.5)  # centres
    xe, ye = transform @ (cc.ravel() + 0.5, rr.ravel().astype(float))  # horizontal edges
    xs = np.concatenate([x, xc, xe, [np.nan, 1e300]])
    ys = np.concatenate([y, yc, ye, [9_400_000.0, np.nan]])
    return xs, ys


@pytest.mark.parametrize("force_strips", [False, True])
def test_sample_matches_rasterio_sample(odd_raster, monkeypatch, force_strips):
    if force_strips:  # exercise the grouped, strip-by-strip reading path
        monkeypatch.setattr(_raster, "SMALL_RASTER_PIXELS", 0)
        monkeypatch.setattr(_raster, "STRIP_PIXELS", 200)
    grid = grid_of(odd_raster)
    rng = np.random.default_rng(2)
    x_rand = rng.uniform(499_900, 501_600, 3000)
    y_rand = rng.uniform(9_398_700, 9_400_100, 3000)
    xe, ye = edge_points(grid.transform, grid.width, grid.height)
    x = np.concatenate([x_rand, xe])
    y = np.concatenate([y_rand, ye])
    covered, values = _raster.sample(grid, x, y, ge(-100.0))
    finite = np.isfinite(x) & np.isfinite(y)
    with rasterio.open(odd_raster) as ds:
        ref = np.ma.concatenate(
            list(ds.sample(zip(x[finite], y[finite], strict=True), indexes=1, masked=True))
        )
    ours = values[finite]
    # masked in rasterio (outside the raster or nodata) <=> NaN for us
    np.testing.assert_array_equal(np.isnan(ours), np.ma.getmaskarray(ref))
    ok = ~np.ma.getmaskarray(ref)
    np.testing.assert_array_equal(ours[ok], ref.data[ok].astype("float64"))
    np.testing.assert_array_equal(covered[finite], np.where(ok, ref.data >= -100, False))
    assert not covered[~finite].any() and np.isnan(values[~finite]).all()


def test_pixel_index_edges_follow_floor():
    t = Affine(1, 0, 10, 0, -1, 20)  # 1 m pixels, top-left (10, 20), 5 x 5
    # on the edge x = 11 -> column 1 (the pixel to the right); y = 19 -> row 1 (below)
    rows, cols, inside = _raster.pixel_index(
        t, np.array([11.0, 10.0, 15.0, 9.999, 12.5]), np.array([19.0, 20.0, 15.0, 19.5, 15.0]), 5, 5
    )
    np.testing.assert_array_equal(inside, [True, True, False, False, False])
    np.testing.assert_array_equal(rows[:2], [1, 0])
    np.testing.assert_array_equal(cols[:2], [1, 0])


def test_sample_outside_and_empty(odd_raster):
    grid = grid_of(odd_raster)
    cov, val = _raster.sample(grid, np.array([0.0]), np.array([0.0]), ge(-200))
    assert not cov[0] and np.isnan(val[0])
    cov, val = _raster.sample(grid, np.zeros(0), np.zeros(0), ge(-200))
    assert cov.shape == (0,) and val.shape == (0,)


# --- zonal: exact covered area --------------------------------------------------------------


@pytest.fixture
def noise01(tmp_path: Path) -> Path:
    """A 0/1 raster (float32), 10 m pixels, 64 px tiles, no nodata."""
    rng = np.random.default_rng(3)
    arr = (rng.random((90, 120)) > 0.45).astype("float32")
    return write_tif(
        tmp_path / "noise.tif", arr, Affine(10, 0, 500_000, 0, -10, 9_400_000), block=32
    )


@pytest.mark.parametrize("strip_pixels", [16_000_000, 500])
def test_zonal_matches_exactextract(noise01, monkeypatch, strip_pixels):
    monkeypatch.setattr(_raster, "STRIP_PIXELS", strip_pixels)  # one strip vs many
    grid = grid_of(noise01)
    geoms = voronoi_villages(
        np.random.default_rng(4), (500_003.0, 9_399_104.0, 501_196.0, 9_399_997.0), 25
    )
    res = _raster.zonal(grid, geoms, ge(0.5))
    ee = exact_extract(
        str(noise01), gpd.GeoDataFrame(geometry=geoms, crs=CRS), "mean", output="pandas"
    )["mean"].to_numpy()
    share = res.covered_px / res.total_px
    # both are exact coverage fractions: agreement to float precision, far inside 0.5 pp
    np.testing.assert_allclose(share, ee, atol=1e-9)
    np.testing.assert_allclose(res.total_px, shapely.area(geoms) / 100.0)


def test_zonal_half_pixels_by_hand(tmp_path):
    # columns: 0 covered, 1 uncovered, 2 covered, 3 uncovered; 1 m pixels, 4 x 4
    arr = np.tile(np.array([1, 0, 1, 0], dtype="float32"), (4, 1))
    path = write_tif(tmp_path / "cols.tif", arr, Affine(1, 0, 0, 0, -1, 4))
    village = shapely.box(0.5, 1.0, 2.5, 3.0)  # half of col 0, all of col 1, half of col 2
    res = _raster.zonal(grid_of(path), np.array([village]), ge(0.5))
    # covered: 0.5 x 2 (col 0) + 0.5 x 2 (col 2) = 2 of 4 m2
    assert res.covered_px[0] == pytest.approx(2.0)
    assert res.total_px[0] == pytest.approx(4.0)


def test_zonal_triangle_by_hand(tmp_path):
    arr = np.array([[1, 1], [1, 0]], dtype="float32")  # bottom-right pixel uncovered
    path = write_tif(tmp_path / "tri.tif", arr, Affine(1, 0, 0, 0, -1, 2))
    tri = shapely.Polygon([(0, 0), (2, 0), (0, 2)])  # area 2, below the anti-diagonal
    res = _raster.zonal(grid_of(path), np.array([tri]), ge(0.5))
    # bottom-right pixel [1,2]x[0,1] is cut by x + y = 2 into a triangle of 0.5 inside
    assert res.covered_px[0] == pytest.approx(2.0 - 0.5)


def test_zonal_south_up_and_rotation_same_as_north_up(tmp_path):
    rng = np.random.default_rng(5)
    arr = (rng.random((12, 15)) > 0.5).astype("float32")
    north = write_tif(tmp_path / "n.tif", arr, Affine(2, 0, 100, 0, -2, 124))
    # same pixels stored bottom row first, with a south-up transform
    south = write_tif(tmp_path / "s.tif", arr[::-1].copy(), Affine(2, 0, 100, 0, 2, 100))
    geoms = voronoi_villages(rng, (101.0, 101.0, 129.0, 123.0), 6)
    a = _raster.zonal(grid_of(north), geoms, ge(0.5))
    b = _raster.zonal(grid_of(south), geoms, ge(0.5))
    np.testing.assert_allclose(b.covered_px, a.covered_px, atol=1e-9)
    # rotating raster and villages together by 90 degrees must not change anything
    rot = Affine.rotation(90, pivot=(0, 0))
    turned = write_tif(tmp_path / "r.tif", arr, rot @ Affine(2, 0, 100, 0, -2, 124))
    turned_geoms = shapely.transform(geoms, lambda c: np.column_stack([-c[:, 1], c[:, 0]]))
    c = _raster.zonal(grid_of(turned), turned_geoms, ge(0.5))
    np.testing.assert_allclose(c.covered_px, a.covered_px, atol=1e-9)


def brute_force_covered(arr: np.ndarray, transform: Affine, geom) -> float:
    """Sum over covered pixels of area(pixel box ∩ polygon), with shapely."""
    rr, cc = np.nonzero(arr > 0.5)
    x0, y0 = transform @ (cc, rr)
    x1, y1 = transform @ (cc + 1, rr + 1)
    boxes = shapely.box(
        np.minimum(x0, x1), np.minimum(y0, y1), np.maximum(x0, x1), np.maximum(y0, y1)
    )
    return float(shapely.area(shapely.intersection(boxes, geom)).sum())


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    pts=st.lists(st.tuples(st.floats(-1.5, 7.5), st.floats(-1.5, 7.5)), min_size=3, max_size=9),
)
def test_zonal_equals_brute_force(tmp_path_factory, seed, pts):
    poly = shapely.convex_hull(shapely.multipoints(pts))
    if poly.geom_type != "Polygon" or poly.area < 1e-6:
        return
    rng = np.random.default_rng(seed)
    arr = (rng.random((6, 6)) > 0.5).astype("float32")
    t = Affine(1, 0, 0, 0, -1, 6)
    path = write_tif(tmp_path_factory.mktemp("h") / "h.tif", arr, t)
    res = _raster.zonal(grid_of(path), np.array([poly]), ge(0.5))
    assert res.covered_px[0] == pytest.approx(brute_force_covered(arr, t, poly), abs=1e-9)


def test_zonal_nodata_and_mask_never_covered(tmp_path):
    t = Affine(1, 0, 0, 0, -1, 2)
    arr = np.full((2, 2), -80.0, dtype="float32")
    arr[0, 0] = -50.0  # the nodata value: would be "covered" if read as signal
    nod = write_tif(tmp_path / "nod.tif", arr, t, nodata=-50.0)
    whole = np.array([shapely.box(0, 0, 2, 2)])
    assert _raster.zonal(grid_of(nod), whole, ge(-110)).covered_px[0] == pytest.approx(3.0)
    # an internal mask band instead of a nodata value
    path = tmp_path / "mask.tif"
    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        width=2,
        height=2,
        count=1,
        dtype="float32",
        crs=CRS,
        transform=t,
    ) as dst:
        dst.write(np.full((2, 2), -80.0, dtype="float32"), 1)
        dst.write_mask(np.array([[0, 255], [0, 255]], dtype="uint8"))
    g = grid_of(path)
    assert g.mask_kind == "mask"
    assert _raster.zonal(g, whole, ge(-110)).covered_px[0] == pytest.approx(2.0)
    cov, val = _raster.sample(g, np.array([0.5, 1.5]), np.array([1.5, 1.5]), ge(-110))
    np.testing.assert_array_equal(cov, [False, True])
    assert np.isnan(val[0]) and val[1] == -80.0


def test_zonal_outside_and_missing_geometries(noise01):
    grid = grid_of(noise01)
    far = shapely.box(0, 0, 10, 10)
    res = _raster.zonal(grid, np.array([far, None], dtype=object), ge(0.5), pieces="uncovered")
    np.testing.assert_array_equal(res.covered_px, [0.0, 0.0])
    assert res.total_px[1] == 0.0 and res.pieces.size == 0


# --- pieces -----------------------------------------------------------------------------------


@pytest.mark.parametrize("which", ["covered", "uncovered"])
def test_zonal_pieces_equal_shapely_overlay(noise01, which):
    grid = grid_of(noise01)
    with rasterio.open(noise01) as ds:
        arr = ds.read(1)
    geoms = voronoi_villages(
        np.random.default_rng(6), (500_020.0, 9_399_200.0, 500_900.0, 9_399_950.0), 8
    )
    res = _raster.zonal(grid, geoms, ge(0.5), pieces=which)
    got = np.bincount(res.piece_index, weights=shapely.area(res.pieces), minlength=geoms.size)
    mask = arr if which == "covered" else 1.0 - arr
    expected = [brute_force_covered(mask, grid.transform, g) for g in geoms]
    np.testing.assert_allclose(got, expected, rtol=1e-9)
    # every piece lies inside its village
    assert shapely.covered_by(shapely.buffer(res.pieces, -1e-6), geoms[res.piece_index]).all()


def test_union_by_group_equals_dissolve():
    rng = np.random.default_rng(7)
    xy = rng.uniform(0, 100, (300, 2))
    geoms = shapely.buffer(shapely.points(xy), 6.0)
    group = rng.integers(0, 40, 300)
    group[group == 3] = 4  # group 3 empty -> None
    got = _raster.union_by_group(geoms, group, 41)
    ref = gpd.GeoDataFrame({"g": group}, geometry=geoms).dissolve("g").geometry
    assert got[3] is None and got[40] is None
    np.testing.assert_allclose(shapely.area(got[ref.index.to_numpy()]), ref.area.to_numpy())


def test_footprint(noise01):
    assert _raster.footprint(grid_of(noise01)).bounds == (
        500_000.0,
        9_399_100.0,
        501_200.0,
        9_400_000.0,
    )


# --- one grid for several sources (coverage.union with a raster) ----------------------------


@pytest.fixture
def tiled40(tmp_path: Path) -> Path:
    """40 x 40 random 0/1 raster, 1 m pixels, top-left (0, 40), 16 x 16 blocks."""
    arr = (np.random.default_rng(8).random((40, 40)) > 0.5).astype("float32")
    return write_tif(tmp_path / "t40.tif", arr, Affine(1, 0, 0, 0, -1, 40), block=16)


def test_extend_grid_by_hand(tiled40):
    grid = grid_of(tiled40)
    # x from -3 to 45 -> columns -3..45: 3 missing on the left, rounded up to a block (16),
    # 45 - 40 = 5 on the right; y from 42 down to -5 -> rows -2..45: 2 missing on top
    # (-> 16), 5 at the bottom
    grown, top, left = _raster.extend_grid(grid, np.array([shapely.box(-3, -5, 45, 42)]))
    assert (top, left) == (16, 16)
    assert (grown.width, grown.height) == (40 + 16 + 5, 40 + 16 + 5)
    assert grown.transform == Affine(1, 0, -16, 0, -1, 56)
    assert (grown.path, grown.band, grown.block_height) == (grid.path, grid.band, 16)
    # polygons inside the raster (and missing ones) leave the grid as it is
    inside = np.array([shapely.box(1, 1, 39, 39), None], dtype=object)
    assert _raster.extend_grid(grid, inside) == (grid, 0, 0)
    assert _raster.extend_grid(grid, np.array([None], dtype=object)) == (grid, 0, 0)


def test_read_covered_beyond_the_raster_is_uncovered(tiled40):
    grid = grid_of(tiled40)
    with rasterio.open(tiled40) as ds:
        arr = ds.read(1)
        got = _raster.read_covered(ds, grid, ge(0.5), (10, 30), (5, 60), offset=(16, 16))
        whole = _raster.read_covered(ds, grid, ge(0.5), (16, 56), (16, 56), offset=(16, 16))
    # independent: the mask padded with False by numpy, then sliced
    padded = np.zeros((70, 70), dtype=bool)
    padded[16:56, 16:56] = arr > 0.5
    np.testing.assert_array_equal(got, padded[10:30, 5:60])
    np.testing.assert_array_equal(whole, arr > 0.5)


def test_burn_is_the_pixel_centre_rule():
    # polygons in pixel space (u = column, v = row): overlapping discs, a triangle and a
    # square with a hole; random coordinates, so no pixel centre lies on an edge
    rng = np.random.default_rng(9)
    discs = shapely.buffer(shapely.points(rng.uniform(0, 50, (12, 2))), rng.uniform(1, 9, 12))
    tri = shapely.Polygon([(3.3, 40.2), (27.9, 44.1), (11.4, 21.7)])
    holed = shapely.box(30.2, 2.6, 47.7, 19.1).difference(shapely.box(35.1, 7.3, 41.8, 13.9))
    polys = np.concatenate([discs, [tri, holed]])
    tree = shapely.STRtree(polys)
    rows, cols = (3, 37), (2, 50)
    got = _raster.burn(polys, tree, rows, cols)
    # independent: shapely's point-in-polygon at every pixel centre
    vv, uu = np.mgrid[rows[0] : rows[1], cols[0] : cols[1]] + 0.5
    expected = shapely.contains_xy(shapely.union_all(polys), uu, vv)
    assert got.dtype == bool and got.shape == (34, 48)
    np.testing.assert_array_equal(got, expected)
    assert 0.1 < got.mean() < 0.9
    # a window no polygon reaches
    far = _raster.burn(polys, tree, (100, 103), (100, 104))
    assert far.shape == (3, 4) and not far.any()


def test_burn_runs_with_a_megabyte_block_cache(tmp_path, monkeypatch):
    # rasterio hands an integer GDAL_CACHEMAX to GDALSetCacheMax64 in bytes: 64 would be a
    # 64-byte cache and rasterize would crawl one row at a time (17 s for 6,297 discs)
    seen = []
    real = _raster.rasterize

    def spy(*args, **kwargs):
        seen.append(rasterio.env.getenv()["GDAL_CACHEMAX"])
        return real(*args, **kwargs)

    monkeypatch.setattr(_raster, "rasterize", spy)
    path = write_tif(tmp_path / "z.tif", np.zeros((4, 4), "float32"), Affine(1, 0, 0, 0, -1, 4))
    _raster.zonal_union(
        grid_of(path),
        ge(0.5),
        np.array([shapely.box(0, 0, 4, 4)]),
        polygons=np.array([shapely.box(0, 0, 2, 4)]),
        others=[],
    )
    assert seen and all(v >= 2**20 for v in seen)


@pytest.mark.parametrize("path_kind", ["north-up", "general"])
def test_sample_centres_matches_rasterio_sample(odd_raster, monkeypatch, path_kind):
    monkeypatch.setattr(_raster, "SAMPLE_CHUNK_PIXELS", 1000)  # several chunks of rows
    other = grid_of(odd_raster)
    # a 10 m grid reaching beyond the 30 m raster on every side
    t = Affine(10.0, 0.0, 499_950.0, 0.0, -10.0, 9_400_050.0)
    rows, cols = (0, 135), (0, 160)
    to_other = None if path_kind == "north-up" else (lambda x, y: (x, y))
    got = _raster.sample_centres(other, ge(-100.0), t, rows, cols, to_other=to_other)
    vv, uu = np.mgrid[rows[0] : rows[1], cols[0] : cols[1]] + 0.5
    x, y = t.c + t.a * uu, t.f + t.e * vv
    with rasterio.open(odd_raster) as ds:
        ref = np.ma.concatenate(
            list(ds.sample(zip(x.ravel(), y.ravel(), strict=True), indexes=1, masked=True))
        )
    expected = (~np.ma.getmaskarray(ref) & (ref.data >= -100)).reshape(x.shape)
    np.testing.assert_array_equal(got, expected)
    assert expected.any() and not expected.all()


def test_zonal_union_reaches_beyond_the_raster_by_hand(tmp_path):
    # 4 x 4 m raster, 1 m pixels, only column 0 covered; a covered polygon x 3..6 reaching
    # 2 m past the raster's east edge; the village is x 0..6, y 0..4 (24 m2):
    # covered = column 0 (4 m2) + 3 x 4 m2 of polygon = 16 m2
    arr = np.zeros((4, 4), "float32")
    arr[:, 0] = 1
    path = write_tif(tmp_path / "c0.tif", arr, Affine(1, 0, 0, 0, -1, 4))
    village = np.array([shapely.box(0, 0, 6, 4)])
    res, grown = _raster.zonal_union(
        grid_of(path),
        ge(0.5),
        village,
        polygons=np.array([shapely.box(3, 0, 6, 4)]),
        others=[],
        pieces="uncovered",
    )
    assert res.covered_px[0] == pytest.approx(16.0)
    assert res.total_px[0] == pytest.approx(24.0)
    assert (grown.width, grown.height) == (6, 4) and grown.transform == Affine(1, 0, 0, 0, -1, 4)
    # the uncovered part is the 2 x 4 m block x 1..3
    assert shapely.union_all(res.pieces).equals(shapely.box(1, 0, 3, 4))


def test_speckled_raster_lists_the_largest_pieces_within_the_budget(tmp_path, monkeypatch, caplog):
    # i.i.d. per-pixel noise around the threshold: the worst case for blank-spot polygons
    rng = np.random.default_rng(7)
    covered = rng.random((64, 64)) < 0.5
    arr = np.where(covered, -90.0, -130.0).astype("float32")
    path = write_tif(tmp_path / "speckle.tif", arr, Affine(1, 0, X0, 0, -1, Y0 + 64))
    village = gpd.GeoSeries([box(X0, Y0, X0 + 64, Y0 + 64)], index=["v"], crs=CRS_UTM)
    monkeypatch.setattr(_raster, "PIECE_VERTEX_BUDGET", 1500)
    with caplog.at_level(logging.WARNING, logger="blankspot"):
        vc = from_raster(path).village_cover(village, CRS_UTM)
    # the share is exact whatever is listed: covered pixels counted by numpy
    assert vc.covered_area_m2[0] == pytest.approx(covered.sum())
    # the listed pieces fit the budget and are exactly the uncovered 4-connected components
    # (scipy, independently) of at least the logged minimum size
    min_px = int(re.search(r"fewer than (\d+) pixels", caplog.text).group(1))
    assert min_px > 1
    assert shapely.get_num_coordinates(vc.uncovered.geometry.values).sum() <= 1500
    labels, _ = ndimage.label(~covered)
    sizes = np.sort(np.bincount(labels.ravel())[1:])[::-1]
    expected = sizes[sizes >= min_px]
    np.testing.assert_allclose(np.sort(vc.uncovered.area.to_numpy())[::-1], expected)
    assert (sizes < min_px).any()  # something was left out
