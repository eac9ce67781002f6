"""Build the embedded Lampung sample in ``data/lampung/`` from ``../shared/data``.

Run from the repository root::

    python scripts/make_sample.py                      # defaults below
    python scripts/make_sample.py --shared ../shared/data --out data/lampung --seed 182022

What it writes (``data/README.md`` documents every file, model and constant):

* ``villages.parquet``       REAL: the 2,640 desa/kelurahan polygons of Lampung (cahyadsn, MIT),
                             with kecamatan and kabupaten names joined by code.
* ``opencellid_lampung.csv`` REAL: the 60 OpenCelliD cells inside Lampung, copied byte for byte
                             (CC BY-SA 4.0, "OpenCelliD Project, opencellid.org").
* ``towers_synthetic.csv``   SYNTHETIC: a seeded tower layout, one row per cell, OpenCelliD format.
* ``signal_rsrp.tif``        SYNTHETIC: RSRP (dBm) from those towers with Okumura-Hata path loss
                             and spatially correlated log-normal shadowing, 100 m, EPSG:32748.
* ``dem_synthetic.tif``      SYNTHETIC: a Lampung-like elevation model (coast, Bukit Barisan,
                             eastern lowlands), int16 metres, EPSG:4326, 9" (~278 m).
* ``umkm_synthetic.csv.gz``  SYNTHETIC: 192,234 business points (Dinas Koperasi Lampung, end 2022:
                             182,655 micro, 9,303 small, 276 medium), the last 25 rows broken on
                             purpose.

The synthetic files are made from one settlement model so that they agree with each other:
every village gets a population proxy and a few settlement centres; towers and businesses both
cluster around those centres, towers only where the proxy says an operator would build.

Determinism: every random draw comes from ``numpy.random.default_rng`` streams spawned from one
``SeedSequence(seed)``, one stream per layer, so the output is the same bytes on every run with
the same library versions (the gzip header carries no time stamp).
"""

from __future__ import annotations

import argparse
import gzip
import logging
import shutil
import time
from pathlib import Path

import numpy as np
import pandas as pd
from affine import Affine
from scipy import ndimage
from scipy.spatial import cKDTree

import geopandas as gpd
import pyogrio
import rasterio
import rasterio.features
import rasterio.transform
import shapely
from pyproj import Transformer

log = logging.getLogger("make_sample")

REPO = Path(__file__).resolve().parents[1]
DEFAULT_SHARED = REPO.parent / "shared" / "data"
DEFAULT_OUT = REPO / "data" / "lampung"

SEED = 182022  # 18 = Lampung's province code, 2022 = the year of the UMKM figures

# ---------------------------------------------------------------- published figures (calibration)
POPULATION = 9_144_263  # Dukcapil, December 2024
UMKM_CLASSES = {"mikro": 182_655, "kecil": 9_303, "menengah": 276}  # Dinas Koperasi, end 2022
N_UMKM = sum(UMKM_CLASSES.values())  # 192,234
N_BROKEN = 25  # deliberately broken rows at the end of the business file

# ---------------------------------------------------------------- settlement model
KOTA = ("18.71", "18.72")  # Kota Bandar Lampung, Kota Metro
# Population weight of a village relative to a desa, before a Gamma(4, 1/4) factor (mean 1, CV 0.5).
# Calibrated so that the two kota hold about 15 % of the province (Bandar Lampung ~1.2 M and
# Metro ~0.17 M people).
POP_WEIGHT = {"kota": 3.0, "kelurahan": 2.0, "desa": 1.0}
POP_GAMMA_SHAPE = 4.0
# Settlement centres per village: 1 + Poisson(area_km2 / CENTRE_AREA_KM2), at most MAX_CENTRES.
CENTRE_AREA_KM2 = 12.0
MAX_CENTRES = 12
MAIN_CENTRE_SHARE = 0.5  # the main centre holds half the village; the rest split by Gamma(1)
# Business scatter around a centre: sigma = SCATTER_FACTOR * sqrt(area per centre), clipped.
SCATTER_FACTOR = 0.15
SCATTER_MIN_M, SCATTER_MAX_M = 100.0, 1_500.0
# Registered UMKM per person is higher in towns (registration drives reach towns first).
UMKM_URBAN_FACTOR = 1.5
SECTORS = {  # illustrative shares, not a published breakdown
    "perdagangan": 0.40,
    "kuliner": 0.25,
    "pertanian": 0.12,
    "jasa": 0.12,
    "kerajinan": 0.06,
    "fesyen": 0.05,
}

# ---------------------------------------------------------------- tower layout
# Sites per village ~ Poisson(population / PERSONS_PER_SITE[class] * remoteness factor).
PERSONS_PER_SITE = {"kota": 3_500.0, "kelurahan": 4_000.0, "desa": 9_000.0}
REMOTE_KABUPATEN = ("18.04", "18.08", "18.11", "18.13")  # Lampung Barat, Way Kanan, Mesuji,
# Pesisir Barat: highlands, forest, swamp and the west coast.
REMOTE_FACTOR = 0.4
LARGE_VILLAGE_KM2 = 20.0  # a desa this large is mostly forest, plantation or swamp
LARGE_VILLAGE_FACTOR = 0.15
SITE_SCATTER_M = 250.0  # a site stands within a few hundred metres of its settlement centre
# Operators by MNC (mcc510_mnc_list.csv) and the chance each one is on a site (urban, rural).
OPERATORS = {10: (0.95, 0.90), 1: (0.60, 0.25), 11: (0.50, 0.20), 89: (0.35, 0.08), 9: (0.15, 0.03)}
SECTORS_PER_SITE = 3
GSM_SHARE_RURAL = 0.5  # Telkomsel keeps a 2G cell on half its rural sites
T_CREATED = (1_546_300_800, 1_719_705_600)  # 2019-01-01 .. 2024-06-30 UTC
T_UPDATED_MAX = 1_751_241_600  # 2025-06-30 UTC

# ---------------------------------------------------------------- radio model (Okumura-Hata)
FREQ_MHZ = 900.0  # LTE 900 carries rural coverage in Indonesia
MOBILE_HEIGHT_M = 1.5
TX_POWER_DBM = 46.0  # 40 W per sector over the carrier
N_RB = 50  # 10 MHz LTE carrier: 50 resource blocks, 600 subcarriers
ANTENNA_GAIN_DBI = 17.0
FEEDER_LOSS_DB = 2.0
# RSRP is the power of one resource element: spread the carrier power over 12 * N_RB subcarriers.
RS_EIRP_DBM = TX_POWER_DBM - 10 * np.log10(12 * N_RB) + ANTENNA_GAIN_DBI - FEEDER_LOSS_DB
# Two site classes: urban (kota and kelurahan) use Hata urban, 25 m masts; all other sites use
# Hata suburban (plantation, rice field, village), 35 m masts.
SITE_CLASSES = {"urban": (25.0, "urban"), "rural": (35.0, "suburban")}
SHADOW_SIGMA_DB = 7.0
SHADOW_CORR_PX = 3.0  # gaussian filter sigma in pixels: correlation over a few hundred metres
RSRP_MIN, RSRP_MAX = -140, -44  # the 3GPP reporting range
COVERED_DBM = -110.0  # used for the reported ranges and the `range` column
PIXEL_M = 100.0
RASTER_PAD_M = 1_000.0
MASK_DILATE_PX = 3  # fill gaps between village polygons and the coast line
NODATA = -32768
UTM = "EPSG:32748"


# ================================================================= real layers
def load_villages(shared: Path) -> gpd.GeoDataFrame:
    """Read the 15 kel files, join kecamatan and kabupaten names by code."""
    folder = shared / "lampung_boundaries"
    files = sorted(folder.glob("wilayah_boundaries_kel_18.*.geojson"))
    if len(files) != 15:
        raise SystemExit(f"expected 15 kel files in {folder}, found {len(files)}")
    kel = pd.concat([pyogrio.read_dataframe(f) for f in files], ignore_index=True)
    kel = gpd.GeoDataFrame(kel, geometry="geometry", crs="EPSG:4326")
    kode = kel["kode"].astype(str)
    if not kode.str.fullmatch(r"18\.\d\d\.\d\d\.\d{4}").all() or kode.duplicated().any():
        raise SystemExit("unexpected or duplicated village codes in the kel files")

    kec = pyogrio.read_dataframe(folder / "wilayah_boundaries_kec_18.geojson", read_geometry=False)
    kec_name = pd.Series(kec["nama"].to_numpy(), index=kec["kode"].astype(str))
    kab = pyogrio.read_dataframe(folder / "wilayah_boundaries_kab_18.geojson", read_geometry=False)
    # The kab file stores `kode` as a JSON number, so Pringsewu 18.10 arrives as 18.1: format
    # every code back to two decimals explicitly instead of trusting str(float).
    kab_code = kab["kode"].map(lambda k: f"{float(k):.2f}")
    kab_name = pd.Series(kab["nama"].to_numpy(), index=kab_code.to_numpy())

    parts = kode.str.split(".")
    kec_code = parts.str[:3].str.join(".")
    kab_code_v = parts.str[:2].str.join(".")
    missing_kec = set(kec_code) - set(kec_name.index)
    missing_kab = set(kab_code_v) - set(kab_name.index)
    if missing_kec or missing_kab:
        raise SystemExit(f"codes without a name: {sorted(missing_kec | missing_kab)}")

    geom = kel.geometry.to_numpy()
    invalid = ~shapely.is_valid(geom)
    if invalid.any():
        log.warning("repairing %d invalid village polygons", invalid.sum())
        geom[invalid] = shapely.make_valid(geom[invalid])
    out = gpd.GeoDataFrame(
        {
            "kode": kode.to_numpy(),
            "nama": kel["nama"].astype(str).to_numpy(),
            "kecamatan": kec_name.reindex(kec_code).to_numpy(),
            "kabupaten": kab_name.reindex(kab_code_v).to_numpy(),
        },
        geometry=geom,
        crs="EPSG:4326",
    )
    return out.sort_values("kode", kind="stable").reset_index(drop=True)


def write_villages(villages: gpd.GeoDataFrame, path: Path) -> None:
    """GeoParquet, zstd-compressed: 2.3 MB where the same GeoPackage takes 6 MB."""
    path.unlink(missing_ok=True)
    villages.to_parquet(path, compression="zstd", compression_level=19, index=False)


# ================================================================= settlement model
def village_class(kode: pd.Series) -> np.ndarray:
    """'kota' (kelurahan of the two kota), 'kelurahan' (code ends 1xxx) or 'desa'."""
    kab = kode.str[:5].to_numpy()
    kelurahan = kode.str[9].to_numpy() == "1"
    return np.where(np.isin(kab, KOTA), "kota", np.where(kelurahan, "kelurahan", "desa"))


def uniform_in_polygons(
    geoms: np.ndarray, counts: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``counts[i]`` uniform points inside ``geoms[i]`` (rejection sampling, all villages at once).

    Returns x, y and the owner index, ordered by owner then draw order.
    """
    shapely.prepare(geoms)
    bounds = shapely.bounds(geoms)
    fill = shapely.area(geoms) / ((bounds[:, 2] - bounds[:, 0]) * (bounds[:, 3] - bounds[:, 1]))
    got_x: list[np.ndarray] = []
    got_y: list[np.ndarray] = []
    got_o: list[np.ndarray] = []
    need = counts.astype(np.int64).copy()
    for _ in range(100):  # rounds, not villages: every round samples all unfinished villages
        if not need.any():
            break
        n_try = np.ceil(need * 2.0 / np.maximum(fill, 0.02)).astype(np.int64)
        owner = np.repeat(np.arange(len(geoms)), n_try)
        b = bounds[owner]
        x = b[:, 0] + rng.random(len(owner)) * (b[:, 2] - b[:, 0])
        y = b[:, 1] + rng.random(len(owner)) * (b[:, 3] - b[:, 1])
        ok = shapely.contains_xy(geoms[owner], x, y)
        owner, x, y = owner[ok], x[ok], y[ok]
        # keep the first `need` accepted draws of each owner
        rank = np.arange(len(owner)) - np.searchsorted(owner, owner, side="left")
        keep = rank < need[owner]
        got_x.append(x[keep])
        got_y.append(y[keep])
        got_o.append(owner[keep])
        need -= np.bincount(owner[keep], minlength=len(geoms))
    if need.any():
        raise SystemExit(f"could not place points in {np.count_nonzero(need)} villages")
    x, y, o = np.concatenate(got_x), np.concatenate(got_y), np.concatenate(got_o)
    order = np.argsort(o, kind="stable")
    return x[order], y[order], o[order]


def settlement_model(
    villages: gpd.GeoDataFrame, rng: np.random.Generator
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Population proxy per village and settlement centres (UTM metres) with their weights."""
    utm = villages.geometry.to_crs(UTM).to_numpy()
    area_km2 = shapely.area(utm) / 1e6
    cls = village_class(villages["kode"])
    raw = np.vectorize(POP_WEIGHT.get)(cls) * rng.gamma(
        POP_GAMMA_SHAPE, 1 / POP_GAMMA_SHAPE, len(cls)
    )
    pop = raw / raw.sum() * POPULATION
    vil = pd.DataFrame({"kode": villages["kode"].to_numpy(), "cls": cls, "area_km2": area_km2})
    vil["pop"] = pop

    n_centres = np.minimum(1 + rng.poisson(area_km2 / CENTRE_AREA_KM2), MAX_CENTRES)
    cx, cy, owner = uniform_in_polygons(utm, n_centres, rng)
    # centre weights: the first centre of each village is the main one
    first = np.r_[True, owner[1:] != owner[:-1]]
    other = rng.gamma(1.0, 1.0, len(owner))
    other_sum = np.bincount(owner, weights=np.where(first, 0.0, other), minlength=len(vil))
    single = n_centres[owner] == 1
    share = np.where(
        first,
        np.where(single, 1.0, MAIN_CENTRE_SHARE),
        (1 - MAIN_CENTRE_SHARE) * other / np.where(other_sum[owner] > 0, other_sum[owner], 1.0),
    )
    sigma = np.clip(
        SCATTER_FACTOR * np.sqrt(area_km2[owner] * 1e6 / n_centres[owner]),
        SCATTER_MIN_M,
        SCATTER_MAX_M,
    )
    centres = pd.DataFrame({"village": owner, "x": cx, "y": cy, "share": share, "sigma_m": sigma})
    return vil, centres


def scatter(
    owner: np.ndarray,
    x0: np.ndarray,
    y0: np.ndarray,
    sigma_m: np.ndarray,
    geoms_ll: np.ndarray,
    decimals: int,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray]:
    """Gaussian scatter (UTM metres) around (x0, y0), kept only inside the owner's polygon.

    Containment is tested on the final rounded lon/lat, so a point written to file is always
    inside its village. Points still outside after 50 rounds fall back to the centre.
    """
    to_ll = Transformer.from_crs(UTM, "EPSG:4326", always_xy=True)
    shapely.prepare(geoms_ll)
    lon = np.full(len(owner), np.nan)
    lat = np.full(len(owner), np.nan)
    todo = np.arange(len(owner))
    for _ in range(50):
        if len(todo) == 0:
            break
        x = x0[todo] + rng.normal(0.0, 1.0, len(todo)) * sigma_m[todo]
        y = y0[todo] + rng.normal(0.0, 1.0, len(todo)) * sigma_m[todo]
        lo, la = to_ll.transform(x, y)
        lo, la = np.round(lo, decimals), np.round(la, decimals)
        ok = shapely.contains_xy(geoms_ll[owner[todo]], lo, la)
        lon[todo[ok]], lat[todo[ok]] = lo[ok], la[ok]
        todo = todo[~ok]
    if len(todo):
        lo, la = to_ll.transform(x0[todo], y0[todo])
        lon[todo], lat[todo] = np.round(lo, decimals), np.round(la, decimals)
    return lon, lat


# ================================================================= towers
def hata_rsrp(d_m: np.ndarray, height_m: float, environment: str) -> np.ndarray:
    """Median RSRP (dBm) at distance ``d_m`` from a site: RS EIRP minus Okumura-Hata loss."""
    d_km = np.maximum(np.asarray(d_m, dtype=np.float64), 20.0) / 1000.0
    logf = np.log10(FREQ_MHZ)
    # mobile antenna correction for a small/medium city
    a_hm = (1.1 * logf - 0.7) * MOBILE_HEIGHT_M - (1.56 * logf - 0.8)
    loss = (
        69.55
        + 26.16 * logf
        - 13.82 * np.log10(height_m)
        - a_hm
        + (44.9 - 6.55 * np.log10(height_m)) * np.log10(d_km)
    )
    if environment == "suburban":
        loss -= 2 * np.log10(FREQ_MHZ / 28) ** 2 + 5.4
    return RS_EIRP_DBM - loss


def hata_reach_m(height_m: float, environment: str, threshold_dbm: float) -> float:
    """Distance at which the median RSRP falls to ``threshold_dbm`` (inverts :func:`hata_rsrp`)."""
    at_1km = float(hata_rsrp(np.array([1000.0]), height_m, environment)[0])
    slope = 44.9 - 6.55 * np.log10(height_m)
    return 1000.0 * 10 ** ((at_1km - threshold_dbm) / slope)


def tower_sites(
    villages: gpd.GeoDataFrame, vil: pd.DataFrame, centres: pd.DataFrame, rng: np.random.Generator
) -> pd.DataFrame:
    """Seeded site layout: Poisson count per village, each site near one of its centres."""
    cls = vil["cls"].to_numpy()
    lam = vil["pop"].to_numpy() / np.vectorize(PERSONS_PER_SITE.get)(cls)
    kab = vil["kode"].str[:5].to_numpy()
    lam *= np.where(np.isin(kab, REMOTE_KABUPATEN), REMOTE_FACTOR, 1.0)
    lam *= np.where(
        (cls == "desa") & (vil["area_km2"].to_numpy() > LARGE_VILLAGE_KM2), LARGE_VILLAGE_FACTOR, 1
    )
    n_sites = rng.poisson(lam)
    owner = np.repeat(np.arange(len(vil)), n_sites)
    k = np.arange(len(owner)) - np.searchsorted(owner, owner, side="left")  # 0, 1, ... per village
    # the k-th site of a village goes to its k-th centre by weight (cycling)
    c = centres.assign(neg_share=-centres["share"]).sort_values(
        ["village", "neg_share"], kind="stable"
    )
    start = np.searchsorted(c["village"].to_numpy(), np.arange(len(vil)))
    n_c = np.bincount(c["village"].to_numpy(), minlength=len(vil))
    row = start[owner] + k % n_c[owner]
    lon, lat = scatter(
        owner,
        c["x"].to_numpy()[row],
        c["y"].to_numpy()[row],
        np.full(len(owner), SITE_SCATTER_M),
        villages.geometry.to_numpy(),
        4,  # OpenCelliD exports round coordinates to 4 decimals
        rng,
    )
    site_class = np.where(np.isin(cls[owner], ["kota", "kelurahan"]), "urban", "rural")
    return pd.DataFrame(
        {"village": owner, "kab": kab[owner], "lon": lon, "lat": lat, "site_class": site_class}
    )


def tower_cells(sites: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """One OpenCelliD row per cell: operators per site, 3 LTE sectors each, some GSM."""
    urban = (sites["site_class"] == "urban").to_numpy()
    n = len(sites)
    kab_seq = pd.factorize(sites["kab"], sort=True)[0]
    # each operator is on a site with its own probability (a loop over 5 operators, not rows);
    # a site nobody drew is Telkomsel's, the operator with the widest rural network
    on = {mnc: rng.random(n) < np.where(urban, pu, pr) for mnc, (pu, pr) in OPERATORS.items()}
    on[10] |= ~np.logical_or.reduce(list(on.values()))
    ops = pd.DataFrame(
        {
            "site": np.concatenate([np.arange(n)] * len(on)),
            "net": np.repeat(list(on), n),
            "on": np.concatenate(list(on.values())),
        }
    )
    ops = ops[ops["on"]].sort_values(["site", "net"], kind="stable").reset_index(drop=True)

    reach = {
        name: round(hata_reach_m(h, env, COVERED_DBM), -1)
        for name, (h, env) in SITE_CLASSES.items()
    }
    site = ops["site"].to_numpy()
    # eNodeB id per operator: sequential per operator in site order
    enb = ops.groupby("net").cumcount().to_numpy() + 100_000
    lte = ops.loc[ops.index.repeat(SECTORS_PER_SITE)].reset_index(drop=True)
    sector = np.tile(np.arange(1, SECTORS_PER_SITE + 1), len(ops))
    lte["radio"] = "LTE"
    lte["cell"] = np.repeat(enb, SECTORS_PER_SITE) * 256 + sector
    lte["unit"] = -1
    gsm_mask = (ops["net"].to_numpy() == 10) & ~urban[site]
    gsm_mask &= rng.random(len(ops)) < GSM_SHARE_RURAL
    gsm = ops[gsm_mask].copy()
    gsm["radio"] = "GSM"
    gsm["cell"] = np.arange(len(gsm)) + 10_001
    gsm["unit"] = 0
    cells = pd.concat([lte, gsm], ignore_index=True)
    cells = cells.sort_values(["site", "net", "radio", "cell"], kind="stable").reset_index(
        drop=True
    )
    s = cells["site"].to_numpy()
    created = rng.integers(T_CREATED[0], T_CREATED[1], len(cells))
    updated = created + (rng.random(len(cells)) * (T_UPDATED_MAX - created)).astype(np.int64)
    return pd.DataFrame(
        {
            "radio": cells["radio"].to_numpy(),
            "mcc": 510,
            "net": cells["net"].to_numpy(),
            "area": 4_000 + 10 * kab_seq[s] + cells["net"].to_numpy() % 10,  # TAC / LAC
            "cell": cells["cell"].to_numpy(),
            "unit": cells["unit"].to_numpy(),
            "lon": sites["lon"].to_numpy()[s],
            "lat": sites["lat"].to_numpy()[s],
            "range": np.vectorize(reach.get)(sites["site_class"].to_numpy()[s]).astype(np.int64),
            "samples": rng.geometric(0.15, len(cells)),
            "changeable": 1,
            "created": created,
            "updated": updated,
            "averageSignal": 0,
        }
    )


def write_towers(cells: pd.DataFrame, path: Path) -> None:
    """OpenCelliD export format: no header, 14 columns, coordinates with 4 decimals."""
    out = cells.copy()
    out["lon"] = np.char.mod("%.4f", out["lon"].to_numpy())
    out["lat"] = np.char.mod("%.4f", out["lat"].to_numpy())
    out.to_csv(path, header=False, index=False, lineterminator="\n")


# ================================================================= signal raster
def raster_grid(villages_utm: np.ndarray) -> tuple[Affine, int, int]:
    """100 m grid snapped to whole pixels around the province, with a 1 km margin."""
    xmin, ymin, xmax, ymax = shapely.total_bounds(villages_utm)
    x0 = np.floor((xmin - RASTER_PAD_M) / PIXEL_M) * PIXEL_M
    y1 = np.ceil((ymax + RASTER_PAD_M) / PIXEL_M) * PIXEL_M
    width = int(np.ceil((xmax + RASTER_PAD_M - x0) / PIXEL_M))
    height = int(np.ceil((y1 - (ymin - RASTER_PAD_M)) / PIXEL_M))
    return Affine(PIXEL_M, 0, x0, 0, -PIXEL_M, y1), width, height


def signal_raster(
    villages: gpd.GeoDataFrame, cells: pd.DataFrame, rng: np.random.Generator
) -> tuple[np.ndarray, Affine]:
    """Strongest-server RSRP (int16 dBm) over the province; NODATA outside it."""
    utm = villages.geometry.to_crs(UTM).to_numpy()
    transform, width, height = raster_grid(utm)
    inside = rasterio.features.rasterize(
        ((g, 1) for g in utm), out_shape=(height, width), transform=transform, all_touched=True
    ).astype(bool)
    inside = ndimage.binary_dilation(inside, iterations=MASK_DILATE_PX)
    rows, cols = np.nonzero(inside)
    px = transform.c + (cols + 0.5) * PIXEL_M
    py = transform.f - (rows + 0.5) * PIXEL_M

    # sites = unique positions in the file (several cells share one site)
    sites = cells.drop_duplicates(["lon", "lat"])[["lon", "lat", "range"]]
    sx, sy = Transformer.from_crs("EPSG:4326", UTM, always_xy=True).transform(
        sites["lon"].to_numpy(), sites["lat"].to_numpy()
    )
    urban_reach = round(hata_reach_m(*SITE_CLASSES["urban"], COVERED_DBM), -1)
    is_urban = sites["range"].to_numpy() == urban_reach
    best = np.full(len(px), -np.inf)
    # Within one class every site has the same height and loss law, so the strongest site of a
    # class is its nearest one: one KD-tree query per class gives the exact strongest server.
    for name, (h, env) in SITE_CLASSES.items():
        sel = is_urban if name == "urban" else ~is_urban
        if not sel.any():
            continue
        d, _ = cKDTree(np.c_[sx[sel], sy[sel]]).query(np.c_[px, py], k=1, workers=2)
        best = np.maximum(best, hata_rsrp(d, h, env))

    noise = rng.standard_normal((height, width), dtype=np.float32)
    field = ndimage.gaussian_filter(noise, SHADOW_CORR_PX, mode="reflect")
    field /= field[inside].std(dtype=np.float64)
    rsrp = best + SHADOW_SIGMA_DB * field[rows, cols]
    out = np.full((height, width), NODATA, dtype=np.int16)
    out[rows, cols] = np.clip(np.rint(rsrp), RSRP_MIN, RSRP_MAX).astype(np.int16)
    return out, transform


def write_raster(arr: np.ndarray, transform: Affine, path: Path, *, level: int = 9) -> None:
    profile = {
        "driver": "GTiff",
        "width": arr.shape[1],
        "height": arr.shape[0],
        "count": 1,
        "dtype": "int16",
        "crs": UTM,
        "transform": transform,
        "nodata": NODATA,
        "tiled": True,
        "blockxsize": 256,
        "blockysize": 256,
        "compress": "deflate",
        "predictor": 2,
        "zlevel": level,
    }
    path.unlink(missing_ok=True)
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(arr, 1)
        dst.set_band_description(1, "RSRP_dBm")
        dst.update_tags(
            1, units="dBm", quantity="RSRP (strongest server)", synthetic="yes", seed=str(SEED)
        )
        dst.update_tags(
            SYNTHETIC="Synthetic RSRP from towers_synthetic.csv; see data/README.md",
        )


# ================================================================= terrain (DEM)
#: DEM grid: geographic like SRTM / Copernicus (EPSG:4326), 1/400 degree (9", ~278 m).
DEM_RES_DEG = 1 / 400
DEM_BOUNDS = (103.55, -6.25, 106.10, -3.60)  # west, south, east, north (degrees)
#: Axis of the Bukit Barisan in Lampung (NW-SE, 20-30 km inland of the west coast), degrees.
BARISAN_AXIS = ((103.95, -4.75), (104.85, -5.55))
#: Volcanic peaks (lon, lat, height m): Pesagi, Sekincau, Tanggamus, Betung, Rajabasa.
PEAKS = (
    (104.13, -4.98, 2262.0),
    (104.32, -5.07, 1718.0),
    (104.67, -5.42, 2100.0),
    (105.19, -5.37, 1240.0),
    (105.63, -5.79, 1281.0),
)


def dem_grid(res_deg: float = DEM_RES_DEG) -> tuple[Affine, int, int]:
    west, south, east, north = DEM_BOUNDS
    width = round((east - west) / res_deg)
    height = round((north - south) / res_deg)
    return Affine(res_deg, 0, west, 0, -res_deg, north), width, height


def synthetic_dem(
    villages: gpd.GeoDataFrame, rng: np.random.Generator, res_deg: float = DEM_RES_DEG
) -> tuple[np.ndarray, Affine]:
    """Elevation (m, int16) of a Lampung-like landscape on a geographic grid.

    * land = the villages (rasterised); sea = 0 m; land rises from the coast over ~3 km;
    * Bukit Barisan: a Gaussian ridge 1,400 m high and ~18 km wide along BARISAN_AXIS, plus
      foothills 350 m high ~35 km to its north-east and five volcanic cones (PEAKS);
    * the eastern lowlands fall from ~155 m at the foot of the range to ~15 m at the east coast;
    * roughness: three octaves of smoothed Gaussian noise (1, 3 and 8 km), amplitude growing
      with height (rugged mountains, gentle plains).
    """
    transform, width, height = dem_grid(res_deg)
    lon = transform.c + (np.arange(width) + 0.5) * res_deg
    lat = transform.f - (np.arange(height) + 0.5) * res_deg
    lon2, lat2 = np.meshgrid(lon, lat)
    km_x = 111.32 * np.cos(np.radians(5.0))
    km_y = 110.6
    (ax, ay), (bx, by) = BARISAN_AXIS
    vx, vy = (bx - ax) * km_x, (by - ay) * km_y
    norm = np.hypot(vx, vy)
    # across-axis distance u (km, positive to the north-east, away from the west coast)
    px, py = (lon2 - ax) * km_x, (lat2 - ay) * km_y
    u = (py * vx - px * vy) / norm
    along = (px * vx + py * vy) / norm
    ridge = 1400 * np.exp(-((u / 18) ** 2)) * np.exp(-((np.maximum(along - 90, 0) / 60) ** 2))
    foothills = 350 * np.exp(-(((u - 35) / 25) ** 2))
    plain = 5 + 150 * np.exp(-np.maximum(u, 0) / 60)
    z = np.maximum(ridge + foothills, 0) + plain
    for plon, plat, peak in PEAKS:
        r = np.hypot((lon2 - plon) * km_x, (lat2 - plat) * km_y)
        z = np.maximum(z, peak * np.exp(-((r / 7) ** 1.5)))
    cell_km = res_deg * km_y
    noise = np.zeros_like(z)
    for sigma_km, amp in ((1.0, 0.3), (3.0, 0.5), (8.0, 1.0)):
        field = ndimage.gaussian_filter(rng.standard_normal(z.shape), sigma_km / cell_km)
        noise += amp * field / field.std()
    z = z + (15 + 0.12 * z) * noise
    land = rasterio.features.rasterize(
        ((g, 1) for g in villages.geometry.values),
        out_shape=(height, width),
        transform=transform,
        all_touched=True,
        dtype="uint8",
    ).astype(bool)
    to_sea_km = ndimage.distance_transform_edt(land, sampling=(cell_km, res_deg * km_x))
    z = np.maximum(z, 1.0) * (1 - np.exp(-to_sea_km / 3.0))
    z[~land] = 0
    return np.rint(z).astype("int16"), transform


def write_dem(arr: np.ndarray, transform: Affine, path: Path, *, level: int = 9) -> None:
    profile = {
        "driver": "GTiff",
        "width": arr.shape[1],
        "height": arr.shape[0],
        "count": 1,
        "dtype": "int16",
        "crs": "EPSG:4326",
        "transform": transform,
        "nodata": NODATA,
        "tiled": True,
        "blockxsize": 256,
        "blockysize": 256,
        "compress": "deflate",
        "predictor": 2,
        "zlevel": level,
    }
    path.unlink(missing_ok=True)
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(arr, 1)
        dst.units = ("m",)
        dst.set_band_description(1, "elevation_m")
        dst.update_tags(1, units="m", synthetic="yes", seed=str(SEED))
        dst.update_tags(
            SYNTHETIC="Synthetic Lampung-like DEM (not SRTM); see data/README.md",
        )


# ================================================================= businesses
def businesses(
    villages: gpd.GeoDataFrame, vil: pd.DataFrame, centres: pd.DataFrame, rng: np.random.Generator
) -> pd.DataFrame:
    """192,234 synthetic UMKM points clustered around settlement centres; 25 broken rows last."""
    urban = vil["cls"].isin(["kota", "kelurahan"]).to_numpy()
    v_weight = vil["pop"].to_numpy() * np.where(urban, UMKM_URBAN_FACTOR, 1.0)
    c_village = centres["village"].to_numpy()
    p = v_weight[c_village] / v_weight.sum() * centres["share"].to_numpy()
    per_centre = rng.multinomial(N_UMKM, p / p.sum())
    centre = np.repeat(np.arange(len(centres)), per_centre)
    owner = c_village[centre]
    lon, lat = scatter(
        owner,
        centres["x"].to_numpy()[centre],
        centres["y"].to_numpy()[centre],
        centres["sigma_m"].to_numpy()[centre],
        villages.geometry.to_numpy(),
        5,
        rng,
    )
    n = len(owner)
    # classes with the exact published totals; small and medium firms lean to the towns
    kelas = np.full(n, "mikro", dtype=object)
    w = np.where(urban[owner], 3.0, 1.0)
    menengah = rng.choice(n, UMKM_CLASSES["menengah"], replace=False, p=w / w.sum())
    kelas[menengah] = "menengah"
    rest = np.flatnonzero(kelas == "mikro")
    kecil = rng.choice(rest, UMKM_CLASSES["kecil"], replace=False, p=w[rest] / w[rest].sum())
    kelas[kecil] = "kecil"
    sektor = rng.choice(list(SECTORS), n, p=list(SECTORS.values()))
    workers = np.where(
        kelas == "mikro",
        rng.choice([1, 2, 3, 4], n, p=[0.55, 0.25, 0.12, 0.08]),
        np.where(
            kelas == "kecil",
            5 + np.minimum(rng.geometric(0.15, n) - 1, 14),
            20 + (79 * rng.beta(1.0, 3.0, n)).astype(np.int64),
        ),
    )
    df = pd.DataFrame(
        {
            "village": owner,
            "kelas": kelas.astype(str),
            "sektor": sektor,
            "tenaga_kerja": workers.astype(np.int64),
            "lon": lon,
            "lat": lat,
        }
    )
    # file order: by village code, then by position, so the file reads like an export by desa
    df = df.sort_values(["village", "lat", "lon"], kind="stable").reset_index(drop=True)
    broken = rng.choice(np.flatnonzero(df["kelas"].to_numpy() == "mikro"), N_BROKEN, replace=False)
    broken = np.sort(broken)
    order = np.r_[np.setdiff1d(np.arange(n), broken), broken]
    df = df.iloc[order].reset_index(drop=True)
    df["latitude"] = np.char.mod("%.5f", df["lat"].to_numpy())
    df["longitude"] = np.char.mod("%.5f", df["lon"].to_numpy())
    lat_s = df["latitude"].to_numpy().astype(object)
    lon_s = df["longitude"].to_numpy().astype(object)
    b = np.arange(n - N_BROKEN, n)
    for i, (la, lo) in enumerate(broken_coordinates(df.iloc[b])):
        lat_s[b[i]], lon_s[b[i]] = la, lo
    df["latitude"] = lat_s
    df["longitude"] = lon_s
    df.insert(0, "id_umkm", [f"UMKM-{i:06d}" for i in range(1, n + 1)])
    return df[["id_umkm", "kelas", "sektor", "tenaga_kerja", "latitude", "longitude"]]


# what each broken row is, in file order; data/README.md lists the same table
BROKEN_KINDS = (
    ["missing_lat"] * 5
    + ["missing_both"] * 3
    + ["garbage"] * 4
    + ["swapped"] * 4
    + ["out_of_range"] * 3
    + ["zero"] * 3
    + ["sea"] * 3
)
GARBAGE = [("abc", "105.1"), ("-5.4x", "105.2"), ("n/a", "n/a"), ("#REF!", "#REF!")]
OUT_OF_RANGE = [("-95.0", "105.3"), ("-5.3", "200.0"), ("5400000", "105250000")]
SEA = [("-5.95000", "105.20000"), ("-6.05000", "104.50000"), ("-5.20000", "106.20000")]


def broken_coordinates(rows: pd.DataFrame) -> list[tuple[str, str]]:
    """(latitude, longitude) strings for the deliberately broken rows, kinds in BROKEN_KINDS."""
    assert len(rows) == len(BROKEN_KINDS)
    lat, lon = rows["latitude"].to_numpy(), rows["longitude"].to_numpy()
    out: list[tuple[str, str]] = []
    counters = dict.fromkeys(BROKEN_KINDS, 0)
    for i, kind in enumerate(BROKEN_KINDS):  # 25 hand-made rows, not a loop over the data
        j = counters[kind]
        counters[kind] += 1
        if kind == "missing_lat":
            out.append(("", lon[i]))
        elif kind == "missing_both":
            out.append(("", ""))
        elif kind == "garbage":
            out.append(GARBAGE[j])
        elif kind == "swapped":
            out.append((lon[i], lat[i]))
        elif kind == "out_of_range":
            out.append(OUT_OF_RANGE[j])
        elif kind == "zero":
            out.append(("0", "0"))
        else:
            out.append(SEA[j])
    return out


def write_businesses(df: pd.DataFrame, path: Path, *, level: int = 9) -> None:
    """gzip without a time stamp or file name in the header, so the bytes are reproducible."""
    data = df.to_csv(index=False, lineterminator="\n").encode("utf-8")
    with (
        path.open("wb") as raw,
        gzip.GzipFile(filename="", mode="wb", compresslevel=level, fileobj=raw, mtime=0) as gz,
    ):
        gz.write(data)


# ================================================================= report and main
def coverage_summary(
    villages: gpd.GeoDataFrame, arr: np.ndarray, transform: Affine, biz: pd.DataFrame
) -> dict[str, float]:
    """Share of villages < 50 % covered and of businesses in no signal, at -110 dBm."""
    utm = villages.geometry.to_crs(UTM).to_numpy()
    # pixel-centre zonal share per village (fast and close enough for the README figures)
    labels = rasterio.features.rasterize(
        ((g, i + 1) for i, g in enumerate(utm)),
        out_shape=arr.shape,
        transform=transform,
        dtype="int32",
    )
    valid = labels > 0
    n = len(utm) + 1
    tot = np.bincount(labels[valid], minlength=n)
    cov = np.bincount(labels[valid], weights=(arr[valid] >= COVERED_DBM), minlength=n)
    share = cov[1:] / np.maximum(tot[1:], 1)
    lat = pd.to_numeric(biz["latitude"], errors="coerce").to_numpy()
    lon = pd.to_numeric(biz["longitude"], errors="coerce").to_numpy()
    good = np.isfinite(lat) & np.isfinite(lon) & (np.abs(lat) <= 90) & (np.abs(lon) <= 180)
    x, y = Transformer.from_crs("EPSG:4326", UTM, always_xy=True).transform(lon[good], lat[good])
    r, c = rasterio.transform.rowcol(transform, x, y)
    r, c = np.asarray(r), np.asarray(c)
    inb = (r >= 0) & (r < arr.shape[0]) & (c >= 0) & (c < arr.shape[1])
    val = np.full(len(x), NODATA)
    val[inb] = arr[r[inb], c[inb]]
    inprov = val != NODATA
    return {
        "village_blank_share": float(np.mean(share < 0.5)),
        "business_blank_share": float(np.mean(val[inprov] < COVERED_DBM)),
        "area_covered_share": float(np.mean(arr[arr != NODATA] >= COVERED_DBM)),
    }


# ================================================================= fibre
#: The kecamatan holding each kabupaten/kota capital (the capitals are public facts; the
#: kecamatan names are as spelt in villages.parquet).
CAPITALS = {
    "Kabupaten Lampung Selatan": ("Kalianda", "Kalianda"),
    "Kabupaten Lampung Tengah": ("Gunung Sugih", "Gunung Sugih"),
    "Kabupaten Lampung Utara": ("Kotabumi", "Kotabumi"),
    "Kabupaten Lampung Barat": ("Liwa", "Balik Bukit"),
    "Kabupaten Tulang Bawang": ("Menggala", "Menggala"),
    "Kabupaten Tanggamus": ("Kota Agung", "Kota Agung"),
    "Kabupaten Lampung Timur": ("Sukadana", "Sukadana"),
    "Kabupaten Way Kanan": ("Blambangan Umpu", "Blambangan Umpu"),
    "Kabupaten Pesawaran": ("Gedong Tataan", "Gedong Tataan"),
    "Kabupaten Pringsewu": ("Pringsewu", "Pringsewu"),
    "Kabupaten Mesuji": ("Mesuji", "Mesuji"),
    "Kabupaten Tulang Bawang Barat": ("Panaragan", "Tulang Bawang Tengah"),
    "Kabupaten Pesisir Barat": ("Krui", "Pesisir Tengah"),
    "Kota Bandar Lampung": ("Bandar Lampung", "Tanjungkarang Pusat"),
    "Kota Metro": ("Metro", "Metro Pusat"),
}


def fibre_pops(villages: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """One SYNTHETIC fibre point of presence per kabupaten/kota, in its capital's kecamatan.

    The point is ``point_on_surface`` of the kecamatan (its villages dissolved, in UTM 48S),
    rounded to 5 decimals of a degree: deterministic, and inside the right kecamatan. Real
    PoPs (Palapa Ring, operators' fibre) are not public; this only stands in for them.
    """
    rows = []
    utm = villages.to_crs("EPSG:32748")
    for kab, (capital, kec) in CAPITALS.items():
        sel = utm[(utm["kabupaten"] == kab) & (utm["kecamatan"] == kec)]
        if sel.empty:
            raise SystemExit(f"kecamatan {kec!r} of {kab!r} not found in the villages")
        code = str(sel["kode"].iloc[0])[:5]
        pt = shapely.point_on_surface(shapely.union_all(sel.geometry.array))
        rows.append((f"POP-{code}", code, kab, capital, kec, pt))
    df = pd.DataFrame(rows, columns=["node_id", "kabupaten_code", "kabupaten", "capital",
                                     "kecamatan", "geometry"])  # fmt: skip
    out = gpd.GeoDataFrame(df, geometry="geometry", crs="EPSG:32748").to_crs("EPSG:4326")
    out["kind"] = "fibre"
    out = out.sort_values("node_id", kind="stable").reset_index(drop=True)
    out.geometry = shapely.transform(out.geometry.array, lambda xy: np.round(xy, 5))
    return out[["node_id", "kind", "kabupaten_code", "kabupaten", "capital", "kecamatan",
                "geometry"]]  # fmt: skip


def write_fibre(pops: gpd.GeoDataFrame, path: Path) -> None:
    """GeoJSON (RFC 7946, lon/lat), 5 decimals: small, diffable, byte-identical on rerun."""
    path.unlink(missing_ok=True)
    pyogrio.write_dataframe(
        pops, path, driver="GeoJSON", layer_options={"COORDINATE_PRECISION": 5, "RFC7946": "YES"}
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=DEFAULT_SHARED, help="real data folder")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output folder")
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument(
        "--fast-compression",
        action="store_true",
        help="DEFLATE/gzip level 1 instead of 9: same content, larger files (for tests)",
    )
    parser.add_argument(
        "--dem-only",
        action="store_true",
        help="only (re)write dem_synthetic.tif from the villages already in --out",
    )
    args = parser.parse_args(argv)
    t0 = time.perf_counter()
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    streams = np.random.SeedSequence(args.seed).spawn(5)
    rng_settle, rng_towers, rng_signal, rng_biz, rng_dem = (
        np.random.default_rng(s) for s in streams
    )
    level = 1 if args.fast_compression else 9
    if args.dem_only:  # the DEM from the villages already in --out
        villages = gpd.read_parquet(out / "villages.parquet")
        arr, transform = synthetic_dem(villages, rng_dem)
        write_dem(arr, transform, out / "dem_synthetic.tif", level=level)
        log.info("DEM: %d x %d, %d .. %d m", arr.shape[1], arr.shape[0], arr.min(), arr.max())
        return

    villages = load_villages(args.shared)
    write_villages(villages, out / "villages.parquet")
    log.info("villages: %d", len(villages))
    shutil.copyfile(
        args.shared / "opencellid" / "510_lampung_subset.csv", out / "opencellid_lampung.csv"
    )

    write_fibre(fibre_pops(villages), out / "fibre_synthetic.geojson")

    vil, centres = settlement_model(villages, rng_settle)
    log.info("settlement centres: %d", len(centres))
    sites = tower_sites(villages, vil, centres, rng_towers)
    cells = tower_cells(sites, rng_towers)
    write_towers(cells, out / "towers_synthetic.csv")
    log.info("tower sites: %d, cells: %d", len(sites.drop_duplicates(["lon", "lat"])), len(cells))

    arr, transform = signal_raster(villages, cells, rng_signal)
    write_raster(arr, transform, out / "signal_rsrp.tif", level=level)
    log.info("signal raster: %d x %d", arr.shape[1], arr.shape[0])

    arr_dem, dem_transform = synthetic_dem(villages, rng_dem)
    write_dem(arr_dem, dem_transform, out / "dem_synthetic.tif", level=level)
    log.info("DEM: %d x %d", arr_dem.shape[1], arr_dem.shape[0])

    biz = businesses(villages, vil, centres, rng_biz)
    write_businesses(biz, out / "umkm_synthetic.csv.gz", level=level)
    log.info("businesses: %d", len(biz))

    summary = coverage_summary(villages, arr, transform, biz)
    for k, v in summary.items():
        log.info("%s: %.4f", k, v)
    for f in sorted(out.iterdir()):
        log.info("%-26s %10d bytes", f.name, f.stat().st_size)
    log.info("done in %.1f s", time.perf_counter() - t0)


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    main()
