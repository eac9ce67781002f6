"""Terrain: DEM reading, line of sight (checked against hand geometry and a brute force)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from affine import Affine
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy import ndimage

from blankspot import terrain
from blankspot._errors import CRSError, InputError, InputFileError, UnknownOptionError
from blankspot.terrain import line_of_sight, read_dem
from tests.common import CRS_UTM, write_tif

R_EARTH = 6_371_000.0
X0, Y0 = 500_000.0, 9_400_000.0


def flat_dem(tmp_path: Path, *, cell=100.0, width=400, height=10, value=0, name="flat.tif"):
    arr = np.full((height, width), value, dtype="int16")
    return write_tif(tmp_path / name, arr, Affine(cell, 0, X0, 0, -cell, Y0))


def rough_array(seed: int, shape=(160, 160), relief_m=150.0) -> np.ndarray:
    """Smoothed random hills (a realistic rough DEM), metres."""
    rng = np.random.default_rng(seed)
    field = ndimage.gaussian_filter(rng.normal(size=shape), 3.0)
    field = (field - field.min()) / (field.max() - field.min())
    return (field * relief_m).astype("float32")


def write_hgt(path: Path, arr: np.ndarray) -> Path:
    arr.astype(">i2").tofile(path)
    return path


# ----------------------------------------------------------------------------- read_dem


def test_read_dem_geotiff(tmp_path):
    arr = np.arange(12, dtype="int16").reshape(3, 4)
    path = write_tif(tmp_path / "d.tif", arr, Affine(30, 0, X0, 0, -30, Y0))
    dem = read_dem(path)
    assert dem.crs.to_epsg() == 32748
    assert (dem.width, dem.height) == (4, 3)
    np.testing.assert_array_equal(dem.read(terrain.Window(1, 1, 2, 2)), [[5, 6], [9, 10]])
    assert dem.cell_size_m() == (30.0, 30.0)
    assert read_dem(dem) is dem


def test_read_dem_hgt_tile_grid_from_driver(tmp_path):
    arr = np.zeros((1201, 1201), dtype="int16")
    arr[0, 0] = 7  # the north-west corner sample, centred on (105 E, 5 S)
    arr[600, 600] = -32768  # a void
    dem = read_dem(write_hgt(tmp_path / "S06E105.hgt", arr))
    assert dem.crs.to_epsg() == 4326
    left, bottom, right, top = dem.bounds
    half = 0.5 / 1200
    assert left == pytest.approx(105 - half) and top == pytest.approx(-5 + half)
    assert right == pytest.approx(106 + half) and bottom == pytest.approx(-6 - half)
    # 3 arc-seconds at 5.5 S: 92.3 m east-west (by hand: 2 pi 6378137 cos(5.5) / 360 / 1200)
    expected_dx = 2 * math.pi * 6_378_137 * math.cos(math.radians(5.5)) / 360 / 1200
    assert dem.cell_size_m()[0] == pytest.approx(expected_dx, rel=2e-3)
    window = dem.read(terrain.Window(0, 0, 2, 1))
    np.testing.assert_array_equal(window, [[7, 0]])
    assert np.isnan(dem.read(terrain.Window(600, 600, 1, 1))[0, 0])
    assert any("void" in n for n in dem.notes)


def test_read_dem_mosaic_of_tiles_list_and_glob(tmp_path):
    a = np.full((1201, 1201), 100, dtype="int16")
    a[10, 5] = -32768  # a void away from the shared edge stays a void
    b = np.full((1201, 1201), 200, dtype="int16")
    write_hgt(tmp_path / "S06E105.hgt", a)
    write_hgt(tmp_path / "S06E106.hgt", b)
    for source in (
        [tmp_path / "S06E105.hgt", tmp_path / "S06E106.hgt"],
        str(tmp_path / "S06E10?.hgt"),
    ):
        dem = read_dem(source)
        assert (dem.width, dem.height) == (2401, 1201)  # tiles share their edge column
        assert "2 tiles" in dem.name
        row = dem.read(terrain.Window(1195, 500, 10, 1))[0]
        # columns 1195-1199 from the west tile, 1200 is shared (the east tile is drawn last)
        np.testing.assert_array_equal(row, [100] * 5 + [200] * 5)
        assert np.isnan(dem.read(terrain.Window(5, 10, 1, 1))[0, 0])


def test_read_dem_vrt_file(tmp_path):
    arr = np.arange(6, dtype="int16").reshape(2, 3)
    write_tif(tmp_path / "d.tif", arr, Affine(30, 0, X0, 0, -30, Y0))
    vrt = tmp_path / "d.vrt"
    vrt.write_text(
        '<VRTDataset rasterXSize="3" rasterYSize="2"><SRS>EPSG:32748</SRS>'
        f"<GeoTransform>{X0},30,0,{Y0},0,-30</GeoTransform>"
        '<VRTRasterBand dataType="Int16" band="1"><SimpleSource>'
        '<SourceFilename relativeToVRT="1">d.tif</SourceFilename><SourceBand>1</SourceBand>'
        "</SimpleSource></VRTRasterBand></VRTDataset>"
    )
    dem = read_dem(vrt)
    np.testing.assert_array_equal(dem.read(terrain.Window(0, 0, 3, 2)), arr)


def test_read_dem_feet_are_converted(tmp_path):
    path = write_tif(
        tmp_path / "ft.tif", np.full((2, 2), 100, "int16"), Affine(30, 0, X0, 0, -30, Y0)
    )
    import rasterio

    with rasterio.open(path, "r+") as ds:
        ds.units = ("ft",)
    dem = read_dem(path)
    assert dem.read(terrain.Window(0, 0, 1, 1))[0, 0] == pytest.approx(30.48)
    assert any("feet" in n or "ft" in n for n in dem.notes)


def test_read_dem_errors(tmp_path):
    with pytest.raises(InputFileError, match="does not exist"):
        read_dem(tmp_path / "nope.tif")
    with pytest.raises(InputFileError, match="no DEM tile matches"):
        read_dem(str(tmp_path / "*.hgt"))
    with pytest.raises(InputFileError, match="empty"):
        read_dem([])
    (tmp_path / "junk.tif").write_text("not a raster")
    with pytest.raises(InputFileError, match="cannot read DEM"):
        read_dem(tmp_path / "junk.tif")
    nocrs = write_tif(
        tmp_path / "nocrs.tif", np.zeros((2, 2), "int16"), Affine(1, 0, 0, 0, -1, 2), crs=None
    )
    with pytest.raises(CRSError, match=r"DEM 'nocrs\.tif' has no CRS"):
        read_dem(nocrs)
    a = write_tif(tmp_path / "a.tif", np.zeros((2, 2), "int16"), Affine(30, 0, X0, 0, -30, Y0))
    b = write_tif(tmp_path / "b.tif", np.zeros((2, 2), "int16"), Affine(60, 0, X0 + 60, 0, -60, Y0))
    with pytest.raises(InputError, match="different cell sizes"):
        read_dem([a, b])
    c = write_tif(
        tmp_path / "c.tif",
        np.zeros((2, 2), "int16"),
        Affine(30, 0, X0, 0, -30, Y0),
        crs="EPSG:32747",
    )
    with pytest.raises(InputError, match="different CRSs"):
        read_dem([a, c])
    d = write_tif(tmp_path / "d.tif", np.zeros((2, 2), "int16"), Affine(30, 0, X0 + 7, 0, -30, Y0))
    with pytest.raises(InputError, match="not aligned"):
        read_dem([a, d])
    with pytest.raises(InputError, match="takes a file path"):
        read_dem(42)
    with pytest.raises(UnknownOptionError, match="unknown option"):
        read_dem(a, band=2)


# ------------------------------------------------------------------------- line_of_sight


def horizon_m(h1: float, h2: float, k: float = 4 / 3) -> float:
    return math.sqrt(2 * k * R_EARTH * h1) + math.sqrt(2 * k * R_EARTH * h2)


@pytest.mark.parametrize(("h1", "h2"), [(30.0, 1.5), (60.0, 10.0), (15.0, 15.0)])
def test_flat_earth_radio_horizon_within_one_percent(tmp_path, h1, h2):
    dem = read_dem(flat_dem(tmp_path, width=700))  # 70 km of sea-level plain
    d_h = horizon_m(h1, h2)  # 30 m and 1.5 m: 4.12 (sqrt 30 + sqrt 1.5) km = 27.6 km
    assert d_h == pytest.approx(4.12e3 * (math.sqrt(h1) + math.sqrt(h2)), rel=2e-3)
    ax = X0 + 50
    lengths = np.array([0.99, 1.01]) * d_h
    los = line_of_sight(
        dem, [ax, ax], [Y0 - 500] * 2, ax + lengths, [Y0 - 500] * 2, height_a_m=h1, height_b_m=h2
    )
    assert los["clear"].tolist() == [True, False]
    # distances are geodesic: UTM grid metres times ~1/0.9996 near the central meridian
    np.testing.assert_allclose(los["distance_m"], lengths, rtol=1e-3)


def test_flat_earth_bulge_at_midpoint_by_hand(tmp_path):
    dem = read_dem(flat_dem(tmp_path, width=300))
    los = line_of_sight(dem, X0 + 50, Y0 - 500, X0 + 20_050, Y0 - 500, height_a_m=30, height_b_m=30)
    d = los["distance_m"].iloc[0]
    # lowest point of a level 30 m ray is the midpoint: 30 - (d/2)^2 / (2 k R)
    expected = 30 - (d / 2) ** 2 / (2 * 4 / 3 * R_EARTH)
    assert expected == pytest.approx(24.11, abs=0.02)
    assert los["clearance_m"].iloc[0] == pytest.approx(expected, abs=1e-6)
    assert los["obstacle_m"].iloc[0] == pytest.approx(d / 2, rel=1e-9)


def test_fresnel_margin_by_hand(tmp_path):
    dem = read_dem(flat_dem(tmp_path, width=300))
    los = line_of_sight(
        dem,
        X0 + 50,
        Y0 - 500,
        X0 + 20_050,
        Y0 - 500,
        height_a_m=30,
        height_b_m=30,
        k_factor=1e9,
        frequency_ghz=0.9,
        fresnel_clearance=0.6,
    )
    d = los["distance_m"].iloc[0]
    lam = 299_792_458.0 / 0.9e9
    expected = 30 - 0.6 * math.sqrt(lam * (d / 2) * (d / 2) / d)  # 30 - 0.6 * 40.8 m
    assert los["clearance_m"].iloc[0] == pytest.approx(expected, abs=1e-3)
    assert bool(los["clear"].iloc[0])
    high = line_of_sight(
        dem,
        X0 + 50,
        Y0 - 500,
        X0 + 20_050,
        Y0 - 500,
        height_a_m=20,
        height_b_m=20,
        k_factor=1e9,
        frequency_ghz=0.9,
        fresnel_clearance=1.0,
    )
    assert not bool(high["clear"].iloc[0])  # 20 m < a full 40.8 m Fresnel radius


def ridge_dem(tmp_path: Path, *, void_ridge: bool = False) -> Path:
    """100 m cells, sea level with a 50 m wall at columns 100-101 (x = 10,000-10,200 m)."""
    arr = np.zeros((10, 300), dtype="int16")
    arr[:, 100:102] = -32768 if void_ridge else 50
    return write_tif(tmp_path / "ridge.tif", arr, Affine(100, 0, X0, 0, -100, Y0), nodata=-32768)


def test_bilinear_ground_heights_by_hand(tmp_path):
    # a tilted plane z = 10 * i + 30 * j (column i, row j of the cell centres): bilinear
    # interpolation reproduces a plane, so at fractional pixel (col, row) the height is
    # 10 (col - 0.5) + 30 (row - 0.5); beyond the outer centres the edge value is held.
    cols, rows = np.meshgrid(np.arange(6), np.arange(5))
    arr = (10 * cols + 30 * rows).astype("float32")
    dem = read_dem(write_tif(tmp_path / "plane.tif", arr, Affine(100, 0, X0, 0, -100, Y0)))

    def xy(col, row):
        return X0 + 100 * col, Y0 - 100 * row

    ends = [(1.25, 1.75), (4.9, 0.8), (0.2, 3.6), (5.8, 4.9)]
    # by hand: 10 * 0.75 + 30 * 1.25; 10 * 4.4 + 30 * 0.3; column held at 0: 30 * 3.1;
    # both held at the last centres (col 5.5, row 4.5): 10 * 5 + 30 * 4
    expected = [45.0, 53.0, 93.0, 170.0]
    (ax, ay), (bx, by) = (np.array([xy(*e) for e in part]).T for part in (ends[:2], ends[2:]))
    los = line_of_sight(dem, ax, ay, bx, by, height_a_m=10, height_b_m=10)
    got = los[["ground_a_m", "ground_b_m"]].to_numpy().T.ravel()
    np.testing.assert_allclose(got, expected, atol=1e-4)
    vs = terrain.viewshed(dem, *xy(1.25, 1.75), height_m=10, radius_m=200)
    assert vs.ground_m == pytest.approx(45.0, abs=1e-4)


def test_single_ridge_by_hand(tmp_path):
    dem = read_dem(ridge_dem(tmp_path))
    # A: centre of column 0 (x = 50 m), 100 m mast; B: column 200 (x = 20,050 m).
    # Without curvature the ray drops from 100 m to h_b; the binding point is the far edge of
    # the plateau of bilinear heights, the centre of column 101 (x = 10,150 m, t = 0.505):
    # clear iff 100 + (h_b - 100) * 0.505 >= 50, i.e. h_b >= 100 - 50 / 0.505 = 0.990 m.
    hb = np.array([0.5, 0.98, 1.0, 5.0])
    los = line_of_sight(
        dem,
        np.full(4, X0 + 50),
        np.full(4, Y0 - 500),
        np.full(4, X0 + 20_050),
        np.full(4, Y0 - 500),
        height_a_m=100,
        height_b_m=hb,
        k_factor=1e9,
    )
    assert los["clear"].tolist() == [False, False, True, True]
    expected = 100 + (hb - 100) * 0.505 - 50
    np.testing.assert_allclose(los["clearance_m"], expected, atol=1e-6)
    np.testing.assert_allclose(los["obstacle_m"], 0.505 * los["distance_m"], rtol=1e-9)


def test_voids_never_block_and_void_ends_are_not_clear(tmp_path):
    dem = read_dem(ridge_dem(tmp_path, void_ridge=True))
    los = line_of_sight(
        dem,
        [X0 + 50, X0 + 50],
        [Y0 - 500] * 2,
        [X0 + 20_050, X0 + 10_050],
        [Y0 - 500] * 2,
        height_a_m=100,
        height_b_m=0.5,
        k_factor=1e9,
    )
    assert bool(los["clear"].iloc[0]) and los["void_samples"].iloc[0] > 0
    assert not bool(los["clear"].iloc[1]) and np.isnan(los["clearance_m"].iloc[1])


def test_crs_of_coordinates_and_geographic_dem(tmp_path):
    import pyproj

    dem = read_dem(ridge_dem(tmp_path))
    tr = pyproj.Transformer.from_crs(CRS_UTM, "EPSG:4326", always_xy=True)
    lon, lat = tr.transform([X0 + 50, X0 + 20_050], [Y0 - 500, Y0 - 500])
    a = line_of_sight(dem, X0 + 50, Y0 - 500, X0 + 20_050, Y0 - 500, height_a_m=100, height_b_m=5)
    b = line_of_sight(
        dem, lon[0], lat[0], lon[1], lat[1], height_a_m=100, height_b_m=5, crs="EPSG:4326"
    )
    np.testing.assert_allclose(a["clearance_m"], b["clearance_m"], atol=1e-6)
    np.testing.assert_allclose(a["distance_m"], b["distance_m"], rtol=1e-9)


def test_geographic_dem_measures_metres_not_degrees(tmp_path):
    # a flat 1 arc-second grid around 5 S 105 E
    res = 1 / 3600
    arr = np.zeros((20, 3000), "int16")
    path = write_tif(
        tmp_path / "geo.tif", arr, Affine(res, 0, 105.0, 0, -res, -5.0), crs="EPSG:4326"
    )
    dem = read_dem(path)
    lat = -5.0 - 10 * res
    lon_b = 105.0 + 0.2  # 0.2 degrees east, on a parallel at 5 S
    # by hand, on the sphere: 6371 km * 0.2 deg in rad * cos(5 deg) = 22.16 km
    sphere = R_EARTH * math.radians(0.2) * math.cos(math.radians(-lat))
    los = line_of_sight(dem, 105.001, lat, lon_b, lat, height_a_m=30, height_b_m=1.5)
    assert los["distance_m"].iloc[0] == pytest.approx(
        sphere - R_EARTH * math.radians(0.001) * math.cos(math.radians(5)), rel=5e-3
    )
    d_h = horizon_m(30, 1.5)
    # one pair just inside and one just outside the horizon, placed by the sphere formula
    dlon = np.degrees(np.array([0.985, 1.015]) * d_h / (R_EARTH * math.cos(math.radians(-lat))))
    los = line_of_sight(
        dem, [105.001] * 2, [lat] * 2, 105.001 + dlon, [lat] * 2, height_a_m=30, height_b_m=1.5
    )
    assert los["clear"].tolist() == [True, False]


def test_line_of_sight_errors(tmp_path):
    dem = read_dem(flat_dem(tmp_path))
    with pytest.raises(InputError, match="outside the DEM"):
        line_of_sight(dem, X0 + 50, Y0 - 500, X0 + 90_000, Y0 - 500, height_a_m=1, height_b_m=1)
    with pytest.raises(InputError, match="one length"):
        line_of_sight(dem, [X0, X0], [Y0], [X0], [Y0], height_a_m=1, height_b_m=1)
    with pytest.raises(InputError, match="missing"):
        line_of_sight(dem, [np.nan], [Y0 - 5], [X0 + 5], [Y0 - 5], height_a_m=1, height_b_m=1)
    with pytest.raises(InputError, match="height_b_m must be finite metres"):
        line_of_sight(dem, X0 + 5, Y0 - 5, X0 + 500, Y0 - 5, height_a_m=1, height_b_m=[-1])
    with pytest.raises(InputError, match="k_factor"):
        line_of_sight(dem, X0 + 5, Y0 - 5, X0 + 500, Y0 - 5, height_a_m=1, height_b_m=1, k_factor=0)
    with pytest.raises(UnknownOptionError, match="height_a_m"):
        line_of_sight(dem, X0 + 5, Y0 - 5, X0 + 500, Y0 - 5, height_am=1, height_b_m=1)
    with pytest.raises(InputError, match="Dem from read_dem"):
        line_of_sight("dem.tif", 0, 0, 1, 1, height_a_m=1, height_b_m=1)
    empty = line_of_sight(dem, [], [], [], [], height_a_m=1, height_b_m=1)
    assert len(empty) == 0 and "clear" in empty.columns


# -------------------------------------------------------------- brute force on rough DEMs


def brute_force_clear(arr, cell, ca, ra, cb, rb, ha, hb, k=4 / 3, per_cell=10):
    """Dense sampling (``per_cell`` per cell), bilinear by scipy, flat-grid distances."""
    out = np.empty(len(ca), dtype=bool)
    for i in range(len(ca)):  # an independent, deliberately simple loop
        span = max(abs(cb[i] - ca[i]), abs(rb[i] - ra[i]))
        n = max(math.ceil(span * per_cell), 2)
        t = np.arange(n + 1) / n
        cols = ca[i] + t * (cb[i] - ca[i])
        rows = ra[i] + t * (rb[i] - ra[i])
        z = ndimage.map_coordinates(
            arr.astype("float64"), [rows - 0.5, cols - 0.5], order=1, mode="nearest"
        )
        d = math.hypot(cb[i] - ca[i], rb[i] - ra[i]) * cell
        s = t * d
        top_a, top_b = z[0] + ha, z[-1] + hb
        ray = top_a + t * (top_b - top_a)
        clr = ray - z - s * (d - s) / (2 * k * R_EARTH)
        out[i] = clr[1:-1].min() >= 0
    return out


@pytest.fixture(scope="module")
def rough(tmp_path_factory):
    folder = tmp_path_factory.mktemp("rough")
    arr = rough_array(7)
    path = write_tif(folder / "rough.tif", arr, Affine(30, 0, X0, 0, -30, Y0))
    return read_dem(path), arr


def test_line_of_sight_agrees_with_brute_force(rough):
    dem, arr = rough
    rng = np.random.default_rng(1)
    n = 400
    ca, ra, cb, rb = (rng.uniform(2, 158, n) for _ in range(4))
    los = line_of_sight(
        dem, X0 + ca * 30, Y0 - ra * 30, X0 + cb * 30, Y0 - rb * 30, height_a_m=60, height_b_m=2
    )
    truth = brute_force_clear(arr, 30.0, ca, ra, cb, rb, 60.0, 2.0)
    agree = (los["clear"].to_numpy() == truth).mean()
    assert 0.2 < truth.mean() < 0.8  # both outcomes are well represented
    assert agree >= 0.98, agree


_pair = st.tuples(*(st.floats(2, 158) for _ in range(4)))


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(p=_pair, ha=st.floats(0, 80), hb=st.floats(0, 80), extra=st.floats(0.01, 50))
def test_line_of_sight_symmetric_and_monotone_in_height(rough, p, ha, hb, extra):
    dem, _ = rough
    ca, ra, cb, rb = p
    xa, ya, xb, yb = X0 + ca * 30, Y0 - ra * 30, X0 + cb * 30, Y0 - rb * 30
    ab = line_of_sight(dem, xa, ya, xb, yb, height_a_m=ha, height_b_m=hb)
    ba = line_of_sight(dem, xb, yb, xa, ya, height_a_m=hb, height_b_m=ha)
    c_ab, c_ba = ab["clearance_m"].iloc[0], ba["clearance_m"].iloc[0]
    assert c_ab == pytest.approx(c_ba, abs=1e-6)
    if abs(c_ab) > 1e-6:
        assert bool(ab["clear"].iloc[0]) == bool(ba["clear"].iloc[0])
    higher = line_of_sight(dem, xa, ya, xb, yb, height_a_m=ha + extra, height_b_m=hb)
    assert higher["clearance_m"].iloc[0] >= c_ab - 1e-9
    if ab["clear"].iloc[0]:
        assert bool(higher["clear"].iloc[0])


# ------------------------------------------------------------------------------ viewshed


def cell_centres(vs):
    h, w = vs.visible.shape
    cols, rows = np.meshgrid(np.arange(w) + 0.5, np.arange(h) + 0.5)
    t = vs.transform
    return t.c + t.a * cols, t.f + t.e * rows


@pytest.mark.parametrize(("h1", "h2"), [(30.0, 1.5), (50.0, 10.0)])
def test_viewshed_flat_earth_horizon_within_one_percent(tmp_path, h1, h2):
    d_h = horizon_m(h1, h2)  # 27.6 km and 42.2 km
    cells = int(2 * 1.15 * d_h / 100) + 1
    path = write_tif(
        tmp_path / "flat.tif", np.zeros((cells, cells), "int16"), Affine(100, 0, X0, 0, -100, Y0)
    )
    dem = read_dem(path)
    ox, oy = X0 + (cells // 2 + 0.5) * 100, Y0 - (cells // 2 + 0.5) * 100
    vs = terrain.viewshed(dem, ox, oy, height_m=h1, target_height_m=h2, radius_m=1.1 * d_h)
    x, y = cell_centres(vs)
    d = np.hypot(x - ox, y - oy) / 0.9996  # UTM grid metres to ground metres near the meridian
    assert d[vs.visible].max() == pytest.approx(d_h, rel=0.01)
    # every cell well inside the horizon is seen, none well beyond it
    assert vs.visible[d < 0.99 * d_h].all()
    assert not vs.visible[d > 1.01 * d_h].any()


def test_viewshed_ridge_shadow_by_hand(tmp_path):
    # the ridge of ridge_dem (50 m, columns 100-101), 300 x 10 cells; put the mast at column 0.
    arr = np.zeros((201, 300), dtype="int16")
    arr[:, 100:102] = 50
    path = write_tif(tmp_path / "ridge.tif", arr, Affine(100, 0, X0, 0, -100, Y0))
    dem = read_dem(path)
    ox, oy = X0 + 50, Y0 - 100.5 * 100  # centre of column 0, row 100
    vs = terrain.viewshed(
        dem, ox, oy, height_m=100, target_height_m=1.5, radius_m=25_000, k_factor=1e9
    )
    # Similar triangles: the slope over the far edge of the bilinear plateau (x = 10,100 m
    # from the mast) is -50 / 10,100; a receiver at 1.5 m sees the mast again where
    # (1.5 - 100) / d = -50 / 10,100, d = 19,897 m: from column 199 (centre 19,900 m) on,
    # on every row (the shadow's edge is the line x = 19,897 m parallel to the ridge).
    x, y = cell_centres(vs)
    dx = x - ox
    d = np.hypot(dx, y - oy)
    rows = np.abs(y - oy) <= 8_000  # rays that cross the ridge well inside the radius
    behind = rows & (dx > 10_300) & (d < 24_000)
    first_seen = np.where(vs.visible & behind, dx, np.inf).min(axis=1)
    last_hidden = np.where(~vs.visible & behind, dx, -np.inf).max(axis=1)
    sel = rows.any(axis=1)
    np.testing.assert_allclose(first_seen[sel], 19_897, atol=100)  # within a cell
    np.testing.assert_allclose(last_hidden[sel], 19_897, atol=100)
    assert vs.visible[rows & (dx < 9_850)].all()  # in front of the ramp up the ridge: everything


def test_viewshed_agrees_with_brute_force_and_line_of_sight(rough):
    dem, arr = rough
    ox, oy = X0 + 80.3 * 30, Y0 - 79.6 * 30
    vs = terrain.viewshed(dem, ox, oy, height_m=25, target_height_m=1.5, radius_m=2_000)
    x, y = cell_centres(vs)
    inside = np.hypot(x - ox, y - oy) <= 2_000
    inside &= np.hypot(x - ox, y - oy) > 45  # the mast's own and neighbouring cells
    tx, ty = x[inside], y[inside]
    ca, ra = (ox - X0) / 30, (Y0 - oy) / 30
    cb, rb = (tx - X0) / 30, (Y0 - ty) / 30
    truth = brute_force_clear(
        arr, 30.0, np.full(cb.size, ca), np.full(cb.size, ra), cb, rb, 25.0, 1.5
    )
    got = vs.visible[inside]
    assert 0.2 < truth.mean() < 0.8
    assert (got == truth).mean() >= 0.98, (got == truth).mean()
    los = line_of_sight(
        dem, np.full(tx.size, ox), np.full(tx.size, oy), tx, ty, height_a_m=25, height_b_m=1.5
    )
    assert (got == los["clear"].to_numpy()).mean() >= 0.98


def test_viewshed_polygons_voids_and_window(tmp_path):
    arr = np.zeros((50, 50), dtype="float32")
    arr[:, 30:] = 200.0  # a cliff: everything east of x = 3 km is above the mast's view
    arr[10, 10] = np.nan  # a void cell
    path = write_tif(tmp_path / "v.tif", arr, Affine(100, 0, X0, 0, -100, Y0), nodata=np.nan)
    dem = read_dem(path)
    vs = terrain.viewshed(dem, X0 + 1050, Y0 - 2550, height_m=10, radius_m=10_000)
    assert vs.visible.shape == (50, 50)  # the window is clipped to the DEM
    assert not vs.visible[10, 10]  # voids are never visible
    assert vs.visible[:, 30].all()  # the cliff face is seen
    assert not vs.visible[:, 32:].any()  # the plateau top beyond its edge is not
    polys = vs.to_polygons()
    assert polys.crs == dem.crs
    cells = polys.area.sum() / 100 / 100
    assert cells == pytest.approx(vs.visible.sum())


def test_viewshed_geographic_dem(tmp_path):
    res = 3 / 3600
    path = write_tif(
        tmp_path / "g.tif",
        np.zeros((200, 200), "int16"),
        Affine(res, 0, 105, 0, -res, -5),
        crs="EPSG:4326",
    )
    dem = read_dem(path)
    vs = terrain.viewshed(dem, 105 + 100.5 * res, -5 - 100.5 * res, height_m=30, radius_m=5_000)
    # 92.2 x 92.2 m cells at 5 S: the 5 km disc holds pi * 5000^2 / 92.2^2 = 9,240 cells
    cell_x = 6_378_137 * math.radians(res) * math.cos(math.radians(5.08))
    cell_y = (
        6_378_137
        * math.radians(res)
        * (1 - 0.00669)
        / (1 - 0.00669 * math.sin(math.radians(5.08)) ** 2) ** 1.5
    )
    expected = math.pi * 5000**2 / (cell_x * cell_y)
    assert vs.visible.sum() == pytest.approx(expected, rel=0.01)


def test_viewshed_errors(tmp_path):
    arr = np.zeros((20, 20), dtype="float32")
    arr[5, 5] = np.nan
    dem = read_dem(
        write_tif(tmp_path / "e.tif", arr, Affine(100, 0, X0, 0, -100, Y0), nodata=np.nan)
    )
    with pytest.raises(InputError, match="outside the DEM"):
        terrain.viewshed(dem, X0 - 500, Y0 - 500, height_m=10, radius_m=1000)
    with pytest.raises(InputError, match="void"):
        terrain.viewshed(dem, X0 + 550, Y0 - 550, height_m=10, radius_m=1000)
    with pytest.raises(InputError, match="radius_m"):
        terrain.viewshed(dem, X0 + 1050, Y0 - 1050, height_m=10, radius_m=0)
    with pytest.raises(UnknownOptionError, match="radius_m"):
        terrain.viewshed(dem, X0 + 1050, Y0 - 1050, height_m=10, radius=1000)


# ------------------------------------------------------------------------------ path loss


def hata_by_hand(d_km, f, hb, hm, env):
    """Okumura-Hata (f <= 1500) / COST-231 (f > 1500), small/medium city a(hm)."""
    lf = math.log10(f)
    a = (1.1 * lf - 0.7) * hm - (1.56 * lf - 0.8)
    if f <= 1500:
        lu = 69.55 + 26.16 * lf - 13.82 * math.log10(hb) - a
    else:
        lu = 46.3 + 33.9 * lf - 13.82 * math.log10(hb) - a
    lu += (44.9 - 6.55 * math.log10(hb)) * math.log10(d_km)
    if env == "suburban":
        return lu - 2 * math.log10(f / 28) ** 2 - 5.4
    if env == "rural":
        return lu - 4.78 * lf**2 + 18.33 * lf - 40.94
    return lu


def j_by_hand(v):
    """ITU-R P.526-15 eq. (31)."""
    return 0.0 if v <= -0.78 else 6.9 + 20 * math.log10(math.sqrt((v - 0.1) ** 2 + 1) + v - 0.1)


@pytest.mark.parametrize("env", ["urban", "suburban", "rural"])
@pytest.mark.parametrize(
    ("radio", "f", "rsrp_offset"),
    [("LTE900", 900, 56 - 10 * math.log10(600)), ("LTE1800", 1800, 61 - 10 * math.log10(1200))],
)
def test_path_loss_on_flat_ground_is_hata(tmp_path, env, radio, f, rsrp_offset):
    dem = read_dem(flat_dem(tmp_path, cell=30, width=400, height=5))
    lengths = np.array([1_500.0, 4_000.0, 9_000.0])
    pl = terrain.path_loss(
        dem,
        np.full(3, X0 + 15),
        np.full(3, Y0 - 45),
        X0 + 15 + lengths,
        np.full(3, Y0 - 45),
        height_a_m=30,
        height_b_m=1.5,
        radio_profile=radio,
        environment=env,
    )
    expected = [hata_by_hand(d / 1000, f, 30, 1.5, env) for d in pl["distance_m"]]
    np.testing.assert_allclose(pl["diffraction_db"], 0.0)
    np.testing.assert_allclose(pl["loss_db"], expected, atol=1e-9)
    np.testing.assert_allclose(pl["rsrp_dbm"], rsrp_offset - np.array(expected), atol=1e-9)


def knife_dem(tmp_path):
    arr = np.zeros((5, 101), "int16")
    arr[:, 50] = 100  # one cell: bilinear samples at cell centres see a single 100 m edge
    return read_dem(write_tif(tmp_path / "edge.tif", arr, Affine(100, 0, X0, 0, -100, Y0)))


def test_single_knife_edge_is_p526_j_of_v(tmp_path):
    dem = knife_dem(tmp_path)
    lam = 299_792_458.0 / 1.8e9
    # obstructed: tops 30 m and 10 m, edge 100 m at the midpoint
    # visible: tops 105 m, the edge 5 m below the ray (partial Fresnel obstruction)
    # (antennas high enough that the smooth earth alone costs nothing: v << -0.78)
    pl = terrain.path_loss(
        dem,
        [X0 + 50] * 2,
        [Y0 - 250] * 2,
        [X0 + 10_050] * 2,
        [Y0 - 250] * 2,
        height_a_m=[30, 105],
        height_b_m=[10, 105],
        radio_profile="LTE1800",
        k_factor=1e9,
    )
    d = pl["distance_m"].to_numpy()
    np.testing.assert_array_equal(pl["smooth_earth_db"], 0.0)
    for i, h in enumerate([100 - (30 + 10) / 2, 100 - 105]):
        v = h * math.sqrt(2 * d[i] / (lam * (d[i] / 2) ** 2))
        assert pl["v"].iloc[i] == pytest.approx(v, rel=1e-6)
        assert pl["knife_edge_db"].iloc[i] == pytest.approx(j_by_hand(v), abs=1e-6)
        assert pl["diffraction_db"].iloc[i] == pytest.approx(j_by_hand(v), abs=1e-6)
    assert pl["diffraction_db"].iloc[0] > 25 and 0 < pl["diffraction_db"].iloc[1] < 6


def test_knife_edge_off_centre_uses_bullington_edge(tmp_path):
    # edge at 1/4 of the path from A: v from d1 = d/4, d2 = 3d/4 and the ray from 30 m to 1.5 m
    arr = np.zeros((5, 101), "int16")
    arr[:, 25] = 60
    dem = read_dem(write_tif(tmp_path / "e.tif", arr, Affine(100, 0, X0, 0, -100, Y0)))
    pl = terrain.path_loss(
        dem,
        X0 + 50,
        Y0 - 250,
        X0 + 10_050,
        Y0 - 250,
        height_a_m=30,
        height_b_m=1.5,
        radio_profile="LTE900",
        k_factor=1e9,
    )
    d = pl["distance_m"].iloc[0]
    lam = 299_792_458.0 / 0.9e9
    h = 60 - (30 + (1.5 - 30) * 0.25)
    v = h * math.sqrt(2 * d / (lam * (d / 4) * (3 * d / 4)))
    assert pl["v"].iloc[0] == pytest.approx(v, rel=1e-6)


def test_path_loss_errors(tmp_path):
    dem = knife_dem(tmp_path)
    with pytest.raises(InputError, match="radio profile 'LTE700' is unknown"):
        terrain.path_loss(
            dem, X0 + 50, Y0 - 250, X0 + 1050, Y0 - 250, height_a_m=30, radio_profile="LTE700"
        )
    with pytest.raises(InputError, match="environment was 'city'"):
        terrain.path_loss(
            dem, X0 + 50, Y0 - 250, X0 + 1050, Y0 - 250, height_a_m=30, environment="city"
        )


# ------------------------------------------------------------------------------ footprints


def test_footprints_on_flat_ground_are_discs(tmp_path):
    dem = read_dem(flat_dem(tmp_path, cell=50, width=300, height=300))
    ox, oy = X0 + 7_525, Y0 - 7_525
    los = terrain.footprints(dem, ox, oy, height_m=30, radius_m=3_000, model="los")
    reach = terrain.hata_reach_m("LTE1800", height_m=30)
    # by hand: budget 61 - 10 log10(1200) + 110 dB = Hata suburban loss at the reach
    assert hata_by_hand(reach / 1000, 1800, 30, 1.5, "suburban") == pytest.approx(
        61 - 10 * math.log10(1200) + 110
    )
    hata = terrain.footprints(dem, ox, oy, height_m=30, model="hata")
    assert los.crs == dem.crs
    assert los.area.iloc[0] == pytest.approx(math.pi * 3_000**2 * 0.9996**2, rel=0.01)
    assert hata.area.iloc[0] == pytest.approx(math.pi * reach**2 * 0.9996**2, rel=0.01)


def test_footprints_hata_grid_agrees_with_pairs(rough):
    dem, _ = rough
    ox, oy = X0 + 80.5 * 30, Y0 - 80.5 * 30
    fp = terrain.footprints(
        dem, ox, oy, height_m=30, model="hata", radio_profile="LTE900", radius_m=2_300
    )
    x, y = np.meshgrid(X0 + 30 * (np.arange(160) + 0.5), Y0 - 30 * (np.arange(160) + 0.5))
    near = np.hypot(x - ox, y - oy)
    sel = (near < 2_250) & (near > 45)
    tx, ty = x[sel], y[sel]
    import shapely

    grid = shapely.contains_xy(fp.iloc[0], tx, ty)
    pairs = terrain.covered_pairs(
        dem,
        np.full(tx.size, ox),
        np.full(tx.size, oy),
        tx,
        ty,
        crs=None,
        model="hata",
        height_m=30,
        target_height_m=1.5,
        radio_profile="LTE900",
    )
    assert 0.2 < pairs.mean() < 0.9
    assert (grid == pairs).mean() >= 0.95, (grid == pairs).mean()


# ----------------------------------------------------------------- coverage.from_towers


def test_from_towers_with_dem_uses_terrain_footprints(tmp_path):
    import geopandas as gpd
    from shapely.geometry import Point, box

    from blankspot import coverage

    arr = np.zeros((100, 300), dtype="int16")
    arr[:, 100:102] = 200  # a 200 m ridge 10 km east of the tower
    dem_path = write_tif(tmp_path / "r.tif", arr, Affine(100, 0, X0, 0, -100, Y0))
    towers = gpd.GeoDataFrame(
        {"radio": ["LTE"], "range_m": [15_000.0]},
        geometry=[Point(X0 + 50, Y0 - 5_050)],
        crs=CRS_UTM,
    )
    x = np.array([X0 + 5_050, X0 + 12_050])  # before the ridge / in its shadow
    y = np.full(2, Y0 - 5_050)
    discs = coverage.from_towers(towers)
    assert discs.points(x, y, CRS_UTM)[0].tolist() == [True, True]
    terrain_cov = coverage.from_towers(towers, dem=dem_path, height_m=30)
    assert terrain_cov.points(x, y, CRS_UTM)[0].tolist() == [True, False]
    assert "terrain los" in terrain_cov.description
    # villages: one before, one behind the ridge
    villages = gpd.GeoSeries(
        [
            box(X0 + 4_000, Y0 - 6_000, X0 + 6_000, Y0 - 4_000),
            box(X0 + 11_000, Y0 - 6_000, X0 + 13_000, Y0 - 4_000),
        ],
        index=["a", "b"],
        crs=CRS_UTM,
    )
    np.testing.assert_allclose(
        terrain_cov.village_cover(villages, CRS_UTM).covered_share, [1.0, 0.0]
    )
    hata = coverage.from_towers(
        towers, dem=dem_path, model="hata", radio_profile="LTE900", environment="rural"
    )
    assert hata.points(x, y, CRS_UTM)[0].tolist() == [True, False]
    # the union of terrain towers and a polygon source works on the footprints
    both = coverage.union(
        terrain_cov,
        coverage.from_polygons(
            gpd.GeoSeries([box(X0 + 12_000, Y0 - 5_100, X0 + 12_100, Y0 - 5_000)], crs=CRS_UTM)
        ),
    )
    assert both.points(x, y, CRS_UTM)[0].tolist() == [True, True]
    with pytest.raises(InputError, match="model was 'rf'"):
        coverage.from_towers(towers, dem=dem_path, model="rf")


# ------------------------------------------------------------------------------- ranking


def toy_dem(tmp_path, wall_m=0):
    arr = np.zeros((200, 400), dtype="int16")  # 10 m cells over the toy world
    arr[:, 250:260] = wall_m  # x = 2,000-2,100 m east of the toy origin
    return write_tif(tmp_path / "toy.tif", arr, Affine(10, 0, X0 - 500, 0, -10, Y0 + 1500))


def test_rank_sites_flat_dem_equals_disc_ranking(tmp_path):
    import pandas as pd

    from blankspot._examples import _toy_assessment, _toy_sites
    from blankspot.ranking import rank_sites

    a, s = _toy_assessment(), _toy_sites()
    discs = rank_sites(a, s, radius_m=600)
    flat = rank_sites(a, s, radius_m=600, dem=toy_dem(tmp_path), site_height_m=30)
    pd.testing.assert_frame_equal(flat.sites, discs.sites)
    assert flat.objective == discs.objective and flat.upper_bound == discs.upper_bound
    hata = rank_sites(a, s, radius_m=600, dem=toy_dem(tmp_path), model="hata")
    pd.testing.assert_frame_equal(hata.sites, discs.sites)  # 600 m is well inside the reach


def test_rank_sites_ridge_blocks_a_site(tmp_path):
    from blankspot._examples import _toy_assessment, _toy_sites
    from blankspot.ranking import rank_sites

    a, s = _toy_assessment(), _toy_sites()
    # without terrain S1 reaches b4, b5 and b6 and is built first (tie broken by id)
    discs = rank_sites(a, s, radius_m=600)
    assert discs.sites["site_id"].tolist() == ["S1", "S2"]
    assert discs.sites["new_businesses"].tolist() == [3, 2]
    # a 100 m wall at x = 2,000-2,100 m hides b6 (x = 2,300 m) from S1 (x = 1,850 m)
    walled = rank_sites(a, s, radius_m=600, dem=toy_dem(tmp_path, wall_m=100))
    assert walled.sites["site_id"].tolist() == ["S2", "S1"]
    assert walled.sites["new_businesses"].tolist() == [3, 2]
    with pytest.raises(InputError, match="needs a DEM"):
        rank_sites(a, s, radius_m=600, model="hata")
    with pytest.raises(InputError, match="model was 'radio'"):
        rank_sites(a, s, radius_m=600, dem=toy_dem(tmp_path), model="radio")


# ------------------------------------------------------------ per-site antenna heights
#
# A 20 m wall at x = 2,000-2,100 m of the toy world (toy_dem, 10 m cells; bilinear: 20 m from
# the cell centre at 2,005 to the one at 2,095, ramps of 10 m either side). S1 stands at
# x = 1,850 m and business b6 at x = 2,300 m on the same line y = 500 m, 450 m apart, both on
# 0 m ground. The ray from S1's antenna (h m up) to a phone 1.5 m above b6 passes the wall's
# far crest (2,095 m, s = 245 m from S1) at h + (1.5 - h) * 245 / 450 m, less the earth bulge
# 245 * 205 / (2 * 4/3 * 6,371 km) = 0.003 m. It clears 20 m when
# h * 205 / 450 >= 20.003 - 1.5 * 245 / 450, i.e. h >= 42.1 m (on the profile's samples, one
# per 10 m column, 41.2 m). So a 30 m mast is blocked and a 50 m mast sees b6.


def _s1_b6_clearance_by_hand(h):
    s, d = 245.0, 450.0
    return h + (1.5 - h) * s / d - 20.0 - s * (d - s) / (2 * 4 / 3 * R_EARTH)


def test_site_height_column_lets_a_taller_mast_see_over_the_ridge(tmp_path):
    from blankspot._examples import _toy_assessment, _toy_sites
    from blankspot.candidates import read_sites
    from blankspot.ranking import rank_sites

    assert _s1_b6_clearance_by_hand(30) < -5 and _s1_b6_clearance_by_hand(50) > 3
    dem = toy_dem(tmp_path, wall_m=20)
    a, s = _toy_assessment(), _toy_sites()
    # the pair itself, by line of sight: blocked at 30 m, clear at 50 m
    los = line_of_sight(
        read_dem(dem), [X0 + 1850] * 2, [Y0 + 500] * 2, [X0 + 2300] * 2, [Y0 + 500] * 2,
        height_a_m=np.array([30.0, 50.0]), height_b_m=1.5,
    )  # fmt: skip
    assert los["clear"].tolist() == [False, True]
    # 30 m masts: the wall hides b6 from S1, so S2 (b6, b7, b8) comes first
    short = rank_sites(a, s, radius_m=600, dem=dem, site_height_m=30)
    assert short.sites["site_id"].tolist() == ["S2", "S1"]
    assert short.sites["new_businesses"].tolist() == [3, 2]
    # S1's own 50 m mast (the column) sees b6: S1 reaches b4, b5, b6 and wins the tie by id
    tall = s.assign(height_m=[50.0, np.nan])  # S2 empty: site_height_m
    plan = rank_sites(a, tall, radius_m=600, dem=dem, site_height_m=30)
    assert plan.sites["site_id"].tolist() == ["S1", "S2"]
    assert plan.sites["new_businesses"].tolist() == [3, 2]
    # the column wins over the argument: S1 at 30 m is blocked even with site_height_m=50
    low = s.assign(height_m=[30.0, np.nan])
    plan = rank_sites(a, low, radius_m=600, dem=dem, site_height_m=50)
    assert plan.sites["site_id"].tolist() == ["S2", "S1"]
    # read_sites keeps the column as float metres and rejects what is not a height
    assert read_sites(s.assign(height_m=["45", None]))["height_m"].tolist()[0] == 45.0
    with pytest.raises(InputError, match=r"height_m of .* \['S2'\]"):
        read_sites(s.assign(height_m=[30.0, -5.0]))
    with pytest.raises(InputError, match=r"height_m of .*'tinggi'.*\['S1'\]"):
        read_sites(s.assign(height_m=["tinggi", 30.0]))


def test_tower_height_column_gives_its_own_footprint(tmp_path):
    import geopandas as gpd
    from shapely.geometry import Point

    from blankspot import coverage

    dem = toy_dem(tmp_path, wall_m=20)
    towers = gpd.GeoDataFrame(
        {"radio": ["LTE", "LTE"], "range_m": [600.0, 600.0], "height_m": [np.nan, 50.0]},
        geometry=[Point(X0 + 1850, Y0 + 500)] * 2,
        index=["short", "tall"],
        crs=CRS_UTM,
    )
    cov = coverage.from_towers(towers, dem=dem, height_m=30)  # "short" takes the 30 m default
    x, y = np.array([X0 + 2305.0]), np.array([Y0 + 505.0])  # the cell centre next to b6
    short, tall = cov.footprints.loc["short"], cov.footprints.loc["tall"]
    assert not short.contains(Point(x[0], y[0])) and tall.contains(Point(x[0], y[0]))
    assert cov.points(x, y, CRS_UTM)[0].tolist() == [True]  # the tall one covers it
    with pytest.raises(InputError, match=r"height_m of towers .*\['short'\]"):
        coverage.from_towers(towers.assign(height_m=[-1.0, 50.0]), dem=dem)


# ---------------------------------------------------------------- candidates on high ground
#
# The toy assessment's 12 lattice points at spacing 500 m (relative to X0, Y0): x = 1,500,
# 2,000, 2,500, 3,000 and y = 1,000 (G000001-G000004), 500 (G000005-G000008), 0
# (G000009-G000012), numbered north to south then west to east. On 10 m cells (toy_dem's
# grid), flat at 0 m, put hill A (80 m, cell centre 2,135 / 565), hill B (40 m, 2,705 / 995)
# and a void square around G000009 (1,500 / 0). Distances by hand:
#   G000006 (2,000 / 500) - A: sqrt(135^2 + 65^2) = 149.8 m
#   G000007 (2,500 / 500) - A: sqrt(365^2 + 65^2) = 370.7 m
#   G000003 (2,500 / 1,000) - B: sqrt(205^2 + 5^2) = 205.1 m
#   G000004 (3,000 / 1,000) - B: sqrt(295^2 + 5^2) = 295.0 m
# and every other lattice point is more than 400 m from both hills.


def test_candidate_sites_move_to_high_ground_by_hand(tmp_path):
    from blankspot._examples import _toy_assessment, _toy_sites
    from blankspot.candidates import candidate_sites

    arr = np.zeros((200, 400), dtype="float32")  # row r: y = 1,495 - 10 r; col c: x = 10 c - 495
    arr[93, 263] = 80.0  # hill A
    arr[50, 320] = 40.0  # hill B
    arr[125:176, 175:226] = np.nan  # 250 m around G000009 (row 150, column 200)
    dem = write_tif(
        tmp_path / "hills.tif", arr, Affine(10, 0, X0 - 500, 0, -10, Y0 + 1500), nodata=np.nan
    )
    a = _toy_assessment()
    flat = candidate_sites(a, spacing_m=500, clusters=False)

    def rel(sites):
        return np.column_stack([sites.geometry.x - X0, sites.geometry.y - Y0]).round(6)

    # 200 m: only G000006 reaches a hill (B is 205 m from G000003)
    near = candidate_sites(a, spacing_m=500, clusters=False, dem=dem, search_radius_m=200)
    assert near.index.tolist() == flat.index.tolist()
    moved = near["moved_m"] > 0
    assert near.index[moved].tolist() == ["G000006"]
    np.testing.assert_allclose(rel(near.loc[["G000006"]]), [[2135, 565]])
    assert near.loc["G000006", "ground_m"] == 80.0
    # UTM grid metres near the central meridian are 1 / 0.9996 ground metres
    assert near.loc["G000006", "moved_m"] == pytest.approx(math.hypot(135, 65) / 0.9996, rel=1e-4)
    # the others stay exactly where they were: flat ground (0 m) or only voids (NaN)
    np.testing.assert_array_equal(rel(near[~moved]), rel(flat[~moved.to_numpy()]))
    assert near.loc["G000009", "ground_m"] != near.loc["G000009", "ground_m"]  # NaN
    assert (near.loc[~moved & (near.index != "G000009"), "ground_m"] == 0).all()

    # 400 m: G000003 and G000004 both climb B, G000006 and G000007 both climb A; the second
    # on each hilltop is merged into the first (by id); user sites never move
    far = candidate_sites(
        a, spacing_m=500, clusters=False, dem=dem, search_radius_m=400, user_sites=_toy_sites()
    )
    assert "G000004" not in far.index and "G000007" not in far.index
    assert len(far) == 10 + 2
    np.testing.assert_allclose(rel(far.loc[["G000003", "G000006"]]), [[2705, 995], [2135, 565]])
    assert far.loc["G000003", "moved_m"] == pytest.approx(math.hypot(205, 5) / 0.9996, rel=1e-4)
    np.testing.assert_allclose(rel(far.loc[["S1", "S2"]]), [[1850, 500], [2600, 500]])
    # G000009 stands on unknown ground: any known cell is higher. The nearest known cells
    # (0 m) are 255.05 m away, four of them: (1,245, +-5) and (1,495 or 1,505, 255), just
    # outside the void square (cell centres x 1,255-1,755, y -255-245); the tie goes to the
    # first in row-major order, the northernmost then westernmost: (1,495, 255)
    np.testing.assert_allclose(rel(far.loc[["G000009"]]), [[1495, 255]])
    assert far.loc["G000009", "moved_m"] == pytest.approx(math.hypot(255, 5) / 0.9996, rel=1e-4)
    assert far.loc[["S1", "S2"], "ground_m"].isna().all()
    with pytest.raises(InputError, match="search_radius_m"):
        candidate_sites(a, spacing_m=500, dem=dem, search_radius_m=-1)
