"""Score blank-spot villages, propose candidate tower sites and rank them into a plan.

* :func:`score_villages` -- which villages need signal most (uncovered businesses,
  weighted), with every score component in its own column.
* :func:`candidate_sites` -- where a tower could go: a grid over blank spots that hold
  uncovered businesses, the weighted centres of business clusters, and the user's own sites.
* :func:`read_sites` -- read and check the user's own candidate sites.
* :func:`rank_sites` -- choose and order sites by the uncovered businesses they connect
  (a maximal covering location problem, greedy or exact), returning a :class:`Plan`.

The numbers are done by :mod:`blankspot._mclp` on a sparse coverage matrix; this module turns
GeoDataFrames into that matrix and the solution back into tables.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import numbers
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import networkx as nx
import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy.spatial import cKDTree

import geopandas as gpd
import shapely
from pyproj import CRS, Transformer
from shapely.geometry import Point, box

from blankspot import _mclp
from blankspot._errors import (
    EmptyInputError,
    InputError,
    InputFileError,
    NoOverlapError,
)
from blankspot._validate import check_options, require_crs, warn_user
from blankspot.assessment import Assessment

__all__ = [
    "DEFAULT_COST_IDR",
    "Plan",
    "candidate_sites",
    "rank_sites",
    "read_sites",
    "score_villages",
]

log = logging.getLogger("blankspot")

#: Cost of one rural 4G site when a budget is given but sites carry no ``cost_idr``:
#: a BAKTI 4G site cost about Rp 2.6 billion in 2022 (tower, radio, power, satellite link).
DEFAULT_COST_IDR = 2.6e9

METHODS = ("greedy", "exact")
BOUNDS = ("greedy", "lp")
SITE_SOURCES = ("grid", "cluster", "user")

#: Column order of :attr:`Plan.sites` (docs/architecture.md, "Plan").
PLAN_COLUMNS = [
    "rank",
    "site_id",
    "new_businesses",
    "cumulative_businesses",
    "cumulative_share",
    "new_weighted_businesses",
    "cumulative_weighted_businesses",
    "cumulative_weighted_share",
    "village_id",
    "kecamatan",
    "kabupaten",
    "villages_reached",
    "village_ids",
    "village_names",
    "radius_m",
    "cost_idr",
    "cost_per_new_business",
    "backhaul_to",
    "backhaul_m",
    "geometry",
]
_WEIGHTED_ONLY = {
    "new_weighted_businesses",
    "cumulative_weighted_businesses",
    "cumulative_weighted_share",
}

# Lattices bigger than this are refused (a spacing typo such as 2 instead of 2000 m).
_MAX_GRID_POINTS = 5_000_000
# Covered businesses are thinned to one backhaul anchor per cell of this size (metres).
_ANCHOR_SPACING_M = 1000.0


# --------------------------------------------------------------------------- Plan


@dataclass(frozen=True, eq=False)
class Plan:
    """A ranked list of tower sites; returned by :func:`rank_sites`.

    Attributes
    ----------
    sites : GeoDataFrame
        One row per chosen site in priority order (``rank`` 1 = build first), working CRS,
        default ``RangeIndex``. Columns, in order: ``rank``, ``site_id``, ``new_businesses``,
        ``cumulative_businesses``, ``cumulative_share``, then when weighted
        ``new_weighted_businesses``, ``cumulative_weighted_businesses``,
        ``cumulative_weighted_share``, then ``village_id``, ``kecamatan``, ``kabupaten``,
        ``villages_reached``, ``village_ids``, ``village_names``, ``radius_m``, ``cost_idr``,
        ``cost_per_new_business``, ``backhaul_to``, ``backhaul_m``, ``geometry`` (points).
    upper_bound : float
        No plan with as many sites (or the same budget) can connect more than this many
        uncovered businesses (weighted businesses when ``weighted``).
    method : str
        ``"greedy"`` or ``"exact"``.
    objective : float
        Uncovered businesses (weighted when ``weighted``) the plan connects.
    gap : float
        ``(upper_bound - objective) / upper_bound``: 0 for a proven optimum.
    total_uncovered : float
        All uncovered businesses of the assessment (weighted when ``weighted``), the
        denominator of the shares.
    weighted : bool
        Whether businesses carry weights; the ranking then maximises the weighted count.
    message : str
        Why the plan is empty or shorter than asked, or a solver note; else ``""``.
    network : networkx.Graph
        Sites linked to the existing network (see :func:`rank_sites`, Notes).
    assessment : Assessment
        The assessment the plan was made from.
    unreachable : float
        Uncovered businesses (weighted when ``weighted``) that no candidate site reaches.
    """

    sites: gpd.GeoDataFrame
    upper_bound: float
    method: str
    objective: float
    gap: float
    total_uncovered: float
    weighted: bool
    message: str
    network: nx.Graph
    assessment: Assessment
    unreachable: float = 0.0

    def summary(self) -> str:
        """Describe the plan in a few lines, for notebooks and logs.

        Examples
        --------
        >>> plan = rank_sites(_toy_assessment(), _toy_sites(), radius_m=600, k=1)
        >>> print(plan.summary())
        greedy plan: 1 site connects 3 of 5 uncovered businesses (60.0 %); no 1-site plan can connect more than 3 (gap 0.0 %).
        top sites: S1 +3
        """  # noqa: E501 - doctest output is one line
        unit = "weighted businesses" if self.weighted else "businesses"
        n = len(self.sites)
        share = self.objective / self.total_uncovered if self.total_uncovered else 0.0
        what = f"{n} site connects" if n == 1 else f"{n} sites connect"
        text = (
            f"{self.method} plan: {what} {self.objective:,.6g} of "
            f"{self.total_uncovered:,.6g} uncovered {unit} ({share:.1%}".replace("%", " %")
            + f"); no {n}-site plan can connect more than {self.upper_bound:,.6g} "
            f"(gap {self.gap:.1%})".replace("%", " %")
            + "."
        )
        if n:
            col = "new_weighted_businesses" if self.weighted else "new_businesses"
            top = self.sites.head(5)
            text += "\ntop sites: " + ", ".join(
                f"{s} +{v:,.6g}" for s, v in zip(top["site_id"], top[col], strict=True)
            )
        if self.message:
            text += f"\nnote: {self.message}"
        return text

    def __repr__(self) -> str:
        return (
            f"<Plan {self.method}: {len(self.sites)} sites, objective {self.objective:,.6g} "
            f"of {self.total_uncovered:,.6g}, upper bound {self.upper_bound:,.6g}>"
        )


# --------------------------------------------------------------------------- helpers


def _check_assessment(assessment: Any, func: str) -> Assessment:
    if not isinstance(assessment, Assessment):
        raise InputError(
            f"{func}() needs an Assessment from blankspot.assess(villages, businesses, "
            f"coverage), got {type(assessment).__name__}."
        )
    return assessment


def _positive_metres(value: Any, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise InputError(f"{name} must be a number of metres, got {value!r}.")
    v = float(value)
    if not math.isfinite(v) or v <= 0:
        raise InputError(
            f"{name} must be a positive, finite number of metres, got {value!r}. "
            f"Distances are in metres in the projected working CRS, e.g. {name}=5000."
        )
    return v


def _some(values: Any, n: int = 10) -> str:
    values = [str(v) for v in values]
    more = f" and {len(values) - n} more" if len(values) > n else ""
    return ", ".join(values[:n]) + more


def _lonlat_extent(bounds: Any, crs: Any) -> str:
    x0, y0, x1, y1 = Transformer.from_crs(crs, "EPSG:4326", always_xy=True).transform_bounds(
        *bounds, densify_pts=21
    )
    return f"lon {x0:.4f}..{x1:.4f}, lat {y0:.4f}..{y1:.4f}"


def _xy(points: Any) -> np.ndarray:
    """``(n, 2)`` coordinates of point geometries."""
    return np.column_stack([shapely.get_x(points), shapely.get_y(points)])


def _id_sort(ids: np.ndarray) -> np.ndarray:
    """Stable order of ids as strings (ties by site / village / business id)."""
    return np.argsort(np.asarray(ids, dtype=str), kind="stable")


def _uncovered_mask(businesses: gpd.GeoDataFrame) -> np.ndarray:
    if "status" not in businesses.columns:
        raise InputError(
            "assessment.businesses has no 'status' column; build the assessment with "
            "blankspot.assess()."
        )
    return (businesses["status"] == "uncovered").to_numpy(dtype=bool, na_value=False)


def _class_weights(
    assessment: Assessment, weights: Any, func: str
) -> tuple[np.ndarray | None, str | None, dict[Any, float] | None]:
    """Per-business weights for the uncovered businesses' ranking.

    Returns ``(weights aligned to assessment.businesses or None, class column, mapping)``.
    ``None`` weights means "use the businesses' ``weight`` column".
    """
    if weights is None:
        return None, None, None
    form = (
        'weights must look like {"column": "kelas", "values": {"mikro": 1, "kecil": 3, '
        '"menengah": 10}}: the business column holding a class and the number each class '
        "counts for"
    )
    if not isinstance(weights, Mapping) or set(weights) != {"column", "values"}:
        raise InputError(f"{form}; got {weights!r}.")
    column, values = weights["column"], weights["values"]
    if not isinstance(values, Mapping) or not values:
        raise InputError(f"{form}; 'values' is {values!r}.")
    bad = [
        k
        for k, v in values.items()
        if isinstance(v, bool)
        or not isinstance(v, numbers.Real)
        or not math.isfinite(float(v))
        or float(v) < 0
    ]
    if bad:
        raise InputError(
            f"weights['values'] must map each class to a finite number >= 0; "
            f"class(es) {_some(bad)} have {[values[k] for k in bad][:10]}."
        )
    biz = assessment.businesses
    if biz is None:
        raise InputError(
            f"{func}(weights=...) needs business points, but this assessment was made from "
            "business counts per village (counts mode): there is no business column to "
            "weight. Drop weights=, or assess business points read with read_businesses()."
        )
    if column not in biz.columns:
        raise InputError(
            f"weights['column'] is {column!r}, but the businesses have no such column; "
            f"they have {list(biz.columns)}."
        )
    mapping = {k: float(v) for k, v in values.items()}
    w = biz[column].map(mapping).to_numpy(dtype="float64", na_value=np.nan)
    unc = _uncovered_mask(biz)
    missing = unc & np.isnan(w)
    if missing.any():
        unknown = pd.unique(biz.loc[missing, column].astype(object).fillna("<missing>"))
        raise InputError(
            f"{int(missing.sum())} uncovered business(es) have a {column!r} value that "
            f"weights['values'] does not list: {_some(unknown)} (e.g. business "
            f"{_some(biz.index[missing], 5)}). Add those classes to weights['values'] "
            f"(known: {_some(mapping)})."
        )
    return w, str(column), mapping


def _business_weight_column(biz: gpd.GeoDataFrame, unc: np.ndarray) -> np.ndarray:
    """Return the ``weight`` column (1.0 when absent), checked on the uncovered businesses."""
    if "weight" not in biz.columns:
        return np.ones(len(biz))
    w = pd.to_numeric(biz["weight"], errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
    bad = unc & ~(np.isfinite(w) & (w >= 0))
    if bad.any():
        raise InputError(
            f"{int(bad.sum())} uncovered business(es) have a missing, infinite or negative "
            f"'weight': {_some(biz.index[bad])}. Fix the weight column given to "
            "read_businesses(weight_col=...)."
        )
    return w


# --------------------------------------------------------------------------- scores


@check_options
def score_villages(
    assessment: Assessment, *, weights: Mapping[str, Any] | None = None
) -> gpd.GeoDataFrame:
    """Rank villages by their unconnected businesses, with every score component shown.

    Parameters
    ----------
    assessment
        The result of :func:`blankspot.assess`.
    weights
        How much each business counts. ``None`` (default): its ``weight`` column (1.0 each
        unless :func:`~blankspot.read_businesses` got ``weight_col``). Or a class mapping
        ``{"column": "kelas", "values": {"mikro": 1, "kecil": 3, "menengah": 10}}``: the
        business column holding a class and the number each class counts for; every
        uncovered business's class must be listed.

    Returns
    -------
    GeoDataFrame
        The villages (same index, working CRS), sorted by priority, with columns in this
        order: ``rank`` (1 = most urgent), ``score``, the components ``n_uncovered``,
        ``weighted_uncovered``, with a class mapping ``n_uncovered_<class>`` and
        ``score_<class>`` for each class (count, and count x weight), then the context
        columns ``uncovered_share``, ``covered_area_share`` and ``blank_spot_area_km2``,
        then the other village columns and ``geometry``.

    Raises
    ------
    InputError
        ``weights`` is malformed, names a missing column, misses a class, or the assessment
        was made from counts per village.

    Notes
    -----
    ``score = weighted_uncovered`` = the sum of the weights of the village's uncovered
    businesses (the number of uncovered businesses when unweighted; with a class mapping,
    the sum of the ``score_<class>`` columns). Ties are broken by village id. The
    context columns do not enter the score; they show how much of the village lacks
    signal. In counts mode the components come from the assessment's villages table
    (businesses spread evenly over each village).

    Examples
    --------
    >>> scores = score_villages(_toy_assessment()).reset_index()
    >>> scores[["village_id", "rank", "score", "n_uncovered", "blank_spot_area_km2"]]
          village_id  rank  score  n_uncovered  blank_spot_area_km2
    0  18.01.01.2003     1    3.0            3                  1.0
    1  18.01.01.2002     2    2.0            2                  0.5
    2  18.01.01.2001     3    0.0            0                  0.0
    """
    assessment = _check_assessment(assessment, "score_villages")
    v = assessment.villages
    vid = v.index
    class_w, class_col, mapping = _class_weights(assessment, weights, "score_villages")
    comp: dict[str, Any] = {}
    if assessment.businesses is None:
        n_unc = pd.to_numeric(v["n_uncovered"], errors="coerce").to_numpy("float64")
        if "weighted_uncovered" in v.columns:
            w_unc = pd.to_numeric(v["weighted_uncovered"], errors="coerce").to_numpy("float64")
        else:
            w_unc = n_unc
        comp["n_uncovered"] = n_unc
        comp["weighted_uncovered"] = w_unc
    else:
        biz = assessment.businesses
        unc = _uncovered_mask(biz)
        pos = vid.get_indexer(biz["village_id"].astype(object).where(unc, None))
        inside = unc & (pos >= 0)
        w = class_w if class_w is not None else _business_weight_column(biz, unc)
        comp["n_uncovered"] = np.bincount(pos[inside], minlength=len(v)).astype(np.int64)
        comp["weighted_uncovered"] = np.bincount(pos[inside], weights=w[inside], minlength=len(v))
        if mapping is not None and class_col is not None:
            cls = biz[class_col].to_numpy(dtype=object)
            for c, c_w in mapping.items():  # a handful of classes, each vectorised
                sel = inside & (cls == c)
                count = np.bincount(pos[sel], minlength=len(v)).astype(np.int64)
                comp[f"n_uncovered_{c}"] = count
                comp[f"score_{c}"] = count * c_w
    for col in ("uncovered_share", "covered_area_share"):
        comp[col] = (
            pd.to_numeric(v[col], errors="coerce").to_numpy("float64")
            if col in v.columns
            else np.full(len(v), np.nan)
        )
    spots = assessment.blank_spots
    if len(spots):
        spot_pos = vid.get_indexer(spots["village_id"].astype(object))
        ok = spot_pos >= 0
        area = np.asarray(shapely.area(spots.geometry.array), dtype="float64") / 1e6
        comp["blank_spot_area_km2"] = np.bincount(spot_pos[ok], weights=area[ok], minlength=len(v))
    else:
        comp["blank_spot_area_km2"] = np.zeros(len(v))

    score = np.asarray(comp["weighted_uncovered"], dtype="float64")
    rest = [c for c in v.columns if c not in comp and c not in ("rank", "score")]
    geom_name = v.geometry.name
    rest = [c for c in rest if c != geom_name] + [geom_name]
    out = pd.DataFrame({"rank": 0, "score": score, **comp}, index=vid)
    out = pd.concat([out, v[rest]], axis=1)
    # priority: highest score first (missing last), ties by village id
    key = np.where(np.isnan(score), -np.inf, score)
    order = np.lexsort((np.asarray(vid, dtype=str), -key))
    out = out.iloc[order]
    out["rank"] = np.arange(1, len(out) + 1, dtype=np.int64)
    return gpd.GeoDataFrame(out, geometry=geom_name, crs=v.crs)


# --------------------------------------------------------------------------- sites


def _read_site_file(path: Path) -> gpd.GeoDataFrame:
    if not path.exists():
        raise InputFileError(f"Sites file {str(path)!r} does not exist.")
    suffix = path.suffix.lower()
    try:
        if suffix in (".csv", ".txt"):
            frame = pd.read_csv(path)
            lower = {str(c).lower(): c for c in frame.columns}
            lon = next((lower[c] for c in ("lon", "lng", "longitude", "bujur") if c in lower), None)
            lat = next((lower[c] for c in ("lat", "latitude", "lintang") if c in lower), None)
            if lon is None or lat is None:
                raise InputError(
                    f"Sites CSV {str(path)!r} needs longitude and latitude columns (lon/lng/"
                    f"longitude/bujur and lat/latitude/lintang); it has {list(frame.columns)}."
                )
            x = pd.to_numeric(frame[lon], errors="coerce").to_numpy("float64")
            y = pd.to_numeric(frame[lat], errors="coerce").to_numpy("float64")
            bad = ~(np.isfinite(x) & np.isfinite(y) & (np.abs(x) <= 180) & (np.abs(y) <= 90))
            if bad.any():
                raise InputError(
                    f"Sites CSV {str(path)!r}: {int(bad.sum())} row(s) have missing or "
                    f"out-of-range coordinates (rows {_some(np.flatnonzero(bad))}, 0-based)."
                )
            # a CSV of longitude/latitude is EPSG:4326 by documented default (STYLE.md)
            return gpd.GeoDataFrame(
                frame.drop(columns=[lon, lat]), geometry=gpd.points_from_xy(x, y), crs=4326
            )
        if suffix in (".parquet", ".geoparquet"):
            return gpd.read_parquet(path)
        return gpd.read_file(path)
    except (InputError, InputFileError):
        raise
    except Exception as exc:
        raise InputFileError(f"Cannot read sites file {str(path)!r}: {exc}") from exc


def _site_ids(gdf: gpd.GeoDataFrame, id_col: str | None, what: str) -> pd.Index:
    if id_col is not None:
        if id_col not in gdf.columns:
            raise InputError(
                f"id_col={id_col!r} is not a column of {what}; columns are {list(gdf.columns)}."
            )
        raw = gdf[id_col]
    elif "site_id" in gdf.columns:
        raw = gdf["site_id"]
    elif gdf.index.name == "site_id" or not isinstance(gdf.index, pd.RangeIndex):
        raw = gdf.index.to_series()
    else:
        # numbered by row, 1-based, so that the same file always gives the same ids
        return pd.Index(_numbered("U", len(gdf)), name="site_id")
    missing = raw.isna().to_numpy()
    if missing.any():
        raise InputError(
            f"{int(missing.sum())} site(s) of {what} have no id (rows "
            f"{_some(np.flatnonzero(missing))}, 0-based). Fill the id column or drop id_col "
            "to number the sites."
        )
    ids = pd.Index(raw.astype(str).to_numpy(dtype=object), name="site_id")
    if ids.has_duplicates:
        dup = ids[ids.duplicated()].unique()
        raise InputError(
            f"{what} have duplicate site ids: {_some(dup)}. Every site needs its own id; "
            "rename them or pass id_col= naming a unique column."
        )
    return ids


def _validate_sites(
    sites: Any, *, id_col: str | None, what: str, allow_missing_generated_cost: bool
) -> gpd.GeoDataFrame:
    """Check a sites table and return it indexed by ``site_id`` (str), CRS unchanged."""
    if isinstance(sites, str | Path):
        what = f"sites file {str(sites)!r}"
        sites = _read_site_file(Path(sites))
    if not isinstance(sites, gpd.GeoDataFrame):
        raise InputError(
            f"sites must be a GeoDataFrame, a vector file or a CSV of lon/lat (see "
            f"blankspot.read_sites / candidate_sites), got {type(sites).__name__}."
        )
    if len(sites) == 0:
        raise EmptyInputError(f"{what} have no rows: there is nothing to rank.")
    require_crs(sites.crs, what=what)
    ids = _site_ids(sites, id_col, what)
    out = sites.copy()
    out.index = ids
    for c in ("site_id",) if "site_id" in out.columns else ():
        out = out.drop(columns=c)
    if id_col is not None and id_col in out.columns:
        out = out.drop(columns=id_col)

    geoms = out.geometry.array
    empty = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    if empty.any():
        raise InputError(
            f"{int(empty.sum())} site(s) of {what} have no geometry: {_some(ids[empty])}. "
            "Give each site a point (tower location) or a polygon (its service footprint)."
        )
    kind = shapely.get_type_id(geoms)
    ok = np.isin(kind, (0, 3, 6))  # Point, Polygon, MultiPolygon
    if not ok.all():
        raise InputError(
            f"{int((~ok).sum())} site(s) of {what} are neither points nor polygons "
            f"({_some(ids[~ok])}: {_some(pd.unique(np.asarray(out.geom_type)[~ok]))}). A site "
            "is a point (tower location) or a polygon footprint of the area it serves."
        )
    poly = kind != 0
    invalid = poly & ~shapely.is_valid(geoms)
    if invalid.any():
        raise InputError(
            f"{int(invalid.sum())} footprint polygon(s) of {what} are invalid: "
            f"{_some(ids[invalid])}. Repair them, e.g. sites.geometry = sites.make_valid()."
        )

    if "source" not in out.columns:
        out["source"] = "user"
    out["source"] = out["source"].astype(object).where(out["source"].notna(), "user")
    generated = out["source"].isin(["grid", "cluster"]).to_numpy()

    if "cost_idr" in out.columns:
        raw = out["cost_idr"]
        cost = pd.to_numeric(raw, errors="coerce").to_numpy("float64", na_value=np.nan)
        not_number = raw.notna().to_numpy() & np.isnan(cost)
        nan = np.isnan(cost) & ~not_number
        if allow_missing_generated_cost:
            nan &= ~generated
        neg = cost < 0
        inf = np.isinf(cost)
        problems = [
            (not_number, "not a number"),
            (nan, "missing (NaN)"),
            (neg, "negative"),
            (inf, "infinite"),
        ]
        found = [f"{label} for {_some(ids[m])}" for m, label in problems if m.any()]
        if found:
            raise InputError(
                f"cost_idr of {what} must be a finite number of rupiah >= 0; it is "
                + "; ".join(found)
                + ". Fill or fix those costs (e.g. sites['cost_idr'] = "
                "sites['cost_idr'].fillna(2.6e9)), or drop the column to use the default."
            )
        out["cost_idr"] = cost

    if "radius_m" in out.columns:
        raw = out["radius_m"]
        r = pd.to_numeric(raw, errors="coerce").to_numpy("float64", na_value=np.nan)
        bad = (raw.notna().to_numpy() & np.isnan(r)) | (r <= 0) | np.isinf(r)
        if bad.any():
            raise InputError(
                f"radius_m of {what} must be a positive, finite number of metres (or empty "
                f"for the default radius); it is not for {_some(ids[bad])}."
            )
        out["radius_m"] = r
    return out


@check_options
def read_sites(source: Any, *, id_col: str | None = None) -> gpd.GeoDataFrame:
    """Read and check the user's own candidate sites.

    Parameters
    ----------
    source
        A GeoDataFrame, a vector file (GeoPackage, GeoJSON, Shapefile, GeoParquet, ...) or a
        CSV with longitude/latitude columns (``lon``/``lng``/``longitude``/``bujur`` and
        ``lat``/``latitude``/``lintang``, read as EPSG:4326). Each site is a point (tower
        location) or a polygon (the footprint it would serve, e.g. from a propagation
        study). Optional columns: ``cost_idr`` (rupiah) and ``radius_m`` (metres; empty
        for the default radius of :func:`rank_sites`).
    id_col
        Column holding the site ids. Default: a ``site_id`` column, else a non-default
        index, else ids ``U000001``, ``U000002``, ... by row.

    Returns
    -------
    GeoDataFrame
        Index ``site_id`` (str), a ``source`` column (``"user"`` unless given), the other
        columns and the geometry, in the input CRS (:func:`rank_sites` and
        :func:`candidate_sites` reproject it to the working CRS and log it).

    Raises
    ------
    InputFileError
        The file is missing or unreadable.
    CRSError
        The sites have no CRS.
    EmptyInputError
        There are no sites.
    InputError
        Missing or duplicate ids, missing or non-point/polygon geometry, invalid footprints,
        a ``cost_idr`` that is missing, not a number or negative, or a ``radius_m`` <= 0.

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely.geometry import Point
    >>> mine = gpd.GeoDataFrame({"name": ["kantor desa"], "cost_idr": [1.2e9]},
    ...                         geometry=[Point(105.26, -5.45)], crs="EPSG:4326")
    >>> read_sites(mine)[["source", "cost_idr"]]  # doctest: +NORMALIZE_WHITESPACE
            source      cost_idr
    site_id
    U000001   user  1.200000e+09
    """
    what = "sites" if not isinstance(source, str | Path) else f"sites file {str(source)!r}"
    return _validate_sites(source, id_col=id_col, what=what, allow_missing_generated_cost=False)


def _point_of(geoms: np.ndarray) -> np.ndarray:
    """Return each site's location: the point itself, or a point inside its footprint."""
    pts = np.asarray(geoms, dtype=object).copy()
    poly = shapely.get_type_id(pts) != 0
    if poly.any():
        pts[poly] = shapely.point_on_surface(pts[poly])
    return pts


def _village_of(points: np.ndarray, villages: gpd.GeoDataFrame) -> np.ndarray:
    """Village id containing each point (smallest id on a shared border), else None."""
    out = np.full(len(points), None, dtype=object)
    if len(points) == 0 or len(villages) == 0:
        return out
    p_idx, v_idx = villages.sindex.query(points, predicate="intersects")
    if len(p_idx):
        vids = np.asarray(villages.index, dtype=str)[v_idx]
        order = np.lexsort((vids, p_idx))
        p_sorted = p_idx[order]
        first = np.r_[True, p_sorted[1:] != p_sorted[:-1]]
        out[p_sorted[first]] = vids[order][first]
    return out


def _prepare_sites(
    sites: Any, assessment: Assessment, *, id_col: str | None = None
) -> gpd.GeoDataFrame:
    """Validate, reproject to the working CRS (logged) and sort by site id."""
    out = _validate_sites(sites, id_col=id_col, what="sites", allow_missing_generated_cost=True)
    src = CRS.from_user_input(out.crs)
    if not src.equals(assessment.crs):
        log.info(
            "Sites reprojected from %s to the working CRS %s",
            src.to_string(),
            assessment.crs.to_string(),
        )
        out = out.to_crs(assessment.crs)
    villages = assessment.villages
    touching = np.zeros(len(out), dtype=bool)
    if len(villages):
        hit, _ = villages.sindex.query(out.geometry.array, predicate="intersects")
        touching[hit] = True
    if not touching.any():
        raise NoOverlapError(
            f"None of the {len(out)} sites lies in or touches a village: sites cover "
            f"{_lonlat_extent(out.total_bounds, out.crs)}, villages cover "
            f"{_lonlat_extent(villages.total_bounds, villages.crs)}. Check the sites' CRS "
            "(are longitude and latitude swapped?) and that they belong to this assessment."
        )
    if not touching.all():
        log.info(
            "%d of %d sites lie outside every village (kept: they can still serve "
            "businesses within reach)",
            int((~touching).sum()),
            len(out),
        )
    return out.iloc[_id_sort(out.index.to_numpy())]


def _lattice_in(polys: np.ndarray, spacing_m: float) -> np.ndarray:
    """Points of the lattice ``spacing_m * (i, j)`` inside or on each polygon, deduplicated."""
    if len(polys) == 0:
        return np.empty((0, 2))
    b = shapely.bounds(polys)
    i0 = np.ceil(b[:, 0] / spacing_m).astype(np.int64)
    i1 = np.floor(b[:, 2] / spacing_m).astype(np.int64)
    j0 = np.ceil(b[:, 1] / spacing_m).astype(np.int64)
    j1 = np.floor(b[:, 3] / spacing_m).astype(np.int64)
    nx_ = np.maximum(i1 - i0 + 1, 0)
    ny_ = np.maximum(j1 - j0 + 1, 0)
    per = nx_ * ny_
    total = int(per.sum())
    if total > _MAX_GRID_POINTS:
        raise InputError(
            f"spacing_m={spacing_m:g} would test {total:,} grid points (limit "
            f"{_MAX_GRID_POINTS:,}); use a larger spacing (metres, e.g. 2000)."
        )
    if total == 0:
        return np.empty((0, 2))
    poly_of = np.repeat(np.arange(len(polys)), per)
    k = np.arange(total) - np.repeat(np.cumsum(per) - per, per)
    ix = i0[poly_of] + k % nx_[poly_of]
    iy = j0[poly_of] + k // nx_[poly_of]
    shapely.prepare(polys)
    keep = shapely.intersects_xy(polys[poly_of], ix * spacing_m, iy * spacing_m)
    cells = np.unique(np.column_stack([ix[keep], iy[keep]]), axis=0)
    return cells.astype("float64") * spacing_m


def _reading_order(xy: np.ndarray) -> np.ndarray:
    """North to south, then west to east: the order ids are given in."""
    return np.lexsort((xy[:, 0], -xy[:, 1]))


def _numbered(prefix: str, n: int) -> np.ndarray:
    """Ids ``<prefix>000001``, ``<prefix>000002``, ... (wider past 999,999)."""
    if n == 0:
        return np.zeros(0, dtype=object)
    digits = np.char.zfill(np.arange(1, n + 1).astype(str), 6)
    return np.char.add(prefix, digits).astype(object)


@check_options
def candidate_sites(
    assessment: Assessment,
    *,
    spacing_m: float = 2000.0,
    grid: bool = True,
    clusters: bool = True,
    user_sites: Any = None,
    id_col: str | None = None,
) -> gpd.GeoDataFrame:
    """Propose candidate tower locations that can serve the uncovered businesses.

    Parameters
    ----------
    assessment
        The result of :func:`blankspot.assess`.
    spacing_m
        Grid spacing and cluster size, metres (default 2000).
    grid
        Add the points of a ``spacing_m`` grid (aligned on multiples of ``spacing_m`` in the
        working CRS) that lie in blank spots holding uncovered businesses.
    clusters
        Add the weighted centre of the uncovered businesses in each ``spacing_m`` x
        ``spacing_m`` cell. In counts mode (no business locations) these are the
        representative points of the blank spots whose village has uncovered businesses.
    user_sites
        Your own sites (government land, existing non-telecom towers), as accepted by
        :func:`read_sites`: added with ``source = "user"`` (or their own ``source``).
    id_col
        Id column of ``user_sites`` (see :func:`read_sites`).

    Returns
    -------
    GeoDataFrame
        Index ``site_id`` (str: ``G000001``... for grid points and ``C000001``... for
        cluster centres, numbered north to south then west to east; the user's ids),
        columns ``source`` (``grid``/``cluster``/``user``), ``village_id`` (village
        containing the site, or missing), the user's ``cost_idr``/``radius_m``/other
        columns when given (missing for generated sites), ``geometry``; working CRS.

    Raises
    ------
    InputError
        ``spacing_m`` is not a positive number of metres or gives too many grid points;
        user site problems (see :func:`read_sites`); a user site id equal to a generated one.

    Examples
    --------
    >>> sites = candidate_sites(_toy_assessment(), spacing_m=500)
    >>> sites["source"].value_counts().sort_index().to_dict()
    {'cluster': 4, 'grid': 12}
    >>> sites.loc["C000001", "village_id"]
    '18.01.01.2002'
    """
    assessment = _check_assessment(assessment, "candidate_sites")
    spacing_m = _positive_metres(spacing_m, "spacing_m")
    crs = assessment.crs
    spots = assessment.blank_spots
    parts: list[gpd.GeoDataFrame] = []

    biz = assessment.businesses
    if biz is not None:
        unc = _uncovered_mask(biz)
        w_all = _business_weight_column(biz, unc)
        pts = biz.geometry.array[unc]
        bx, by = shapely.get_x(pts), shapely.get_y(pts)
        bw = w_all[unc]
        # blank spots that hold at least one uncovered business
        holding = np.zeros(len(spots), dtype=bool)
        if len(spots) and len(pts):
            _, s_idx = spots.sindex.query(pts, predicate="intersects")
            holding[s_idx] = True
    else:
        bx = by = bw = np.zeros(0)
        v_unc = pd.to_numeric(assessment.villages["n_uncovered"], errors="coerce")
        needy = set(assessment.villages.index[(v_unc > 0).to_numpy()])
        holding = spots["village_id"].isin(needy).to_numpy() if len(spots) else np.zeros(0, bool)

    if grid:
        xy = _lattice_in(np.asarray(spots.geometry.array[holding]), spacing_m)
        xy = xy[_reading_order(xy)]
        parts.append(
            gpd.GeoDataFrame(
                {"source": np.full(len(xy), "grid", dtype=object)},
                geometry=gpd.points_from_xy(xy[:, 0], xy[:, 1]),
                index=pd.Index(_numbered("G", len(xy)), name="site_id"),
                crs=crs,
            )
        )
    if clusters:
        if biz is not None:
            if len(bx):
                cell = np.column_stack([np.floor(bx / spacing_m), np.floor(by / spacing_m)]).astype(
                    np.int64
                )
                _, inv = np.unique(cell, axis=0, return_inverse=True)
                inv = inv.ravel()
                tot = np.bincount(inv, weights=bw)
                cnt = np.bincount(inv).astype("float64")
                # weighted centre; plain mean where every weight in the cell is 0
                use_w = tot > 0
                wx = np.where(use_w[inv], bw, 1.0)
                den = np.where(use_w, tot, cnt)
                cx = np.bincount(inv, weights=wx * bx) / den
                cy = np.bincount(inv, weights=wx * by) / den
                xy = np.column_stack([cx, cy])
            else:
                xy = np.empty((0, 2))
        else:
            rp = shapely.point_on_surface(np.asarray(spots.geometry.array[holding]))
            xy = _xy(rp)
        xy = xy[_reading_order(xy)]
        parts.append(
            gpd.GeoDataFrame(
                {"source": np.full(len(xy), "cluster", dtype=object)},
                geometry=gpd.points_from_xy(xy[:, 0], xy[:, 1]),
                index=pd.Index(_numbered("C", len(xy)), name="site_id"),
                crs=crs,
            )
        )
    if user_sites is not None:
        mine = _validate_sites(
            user_sites, id_col=id_col, what="user_sites", allow_missing_generated_cost=False
        )
        src = CRS.from_user_input(mine.crs)
        if not src.equals(crs):
            log.info(
                "user_sites reprojected from %s to the working CRS %s",
                src.to_string(),
                crs.to_string(),
            )
            mine = mine.to_crs(crs)
        parts.append(mine)

    if parts:
        out = pd.concat(parts)
    else:
        out = gpd.GeoDataFrame({"source": []}, geometry=[], crs=crs)
    out.index.name = "site_id"
    if out.index.has_duplicates:
        dup = out.index[out.index.duplicated()].unique()
        raise InputError(
            f"user_sites reuse generated site ids: {_some(dup)}. Rename your sites "
            "(generated ids are G000001... and C000001...)."
        )
    out = gpd.GeoDataFrame(out, geometry="geometry", crs=crs)
    out.insert(1, "village_id", _village_of(_point_of(out.geometry.array), assessment.villages))
    geom_name = out.geometry.name
    cols = [c for c in out.columns if c != geom_name] + [geom_name]
    out = out[cols]
    log.info(
        "candidate_sites: %s",
        out["source"].value_counts().sort_index().to_dict() if len(out) else "none",
    )
    return out


# --------------------------------------------------------------------------- ranking


@dataclass(frozen=True)
class _Demand:
    """Uncovered demand points, sorted by id (business id, or blank spot id in counts mode)."""

    xy: np.ndarray
    count: np.ndarray
    weight: np.ndarray
    village_id: np.ndarray
    total_count: float
    total_weight: float


def _demand(assessment: Assessment, weights: Any) -> tuple[_Demand, bool]:
    class_w, _, _ = _class_weights(assessment, weights, "rank_sites")
    biz = assessment.businesses
    if biz is not None:
        unc = _uncovered_mask(biz)
        w_all = class_w if class_w is not None else _business_weight_column(biz, unc)
        weighted = class_w is not None or assessment.weighted
        sel = np.flatnonzero(unc)
        sel = sel[_id_sort(np.asarray(biz.index, dtype=str)[sel])]
        pts = biz.geometry.array[sel]
        xy = _xy(pts)
        count = np.ones(len(sel))
        weight = w_all[sel]
        vids = biz["village_id"].to_numpy(dtype=object, na_value=None)[sel]
        return _Demand(xy, count, weight, vids, float(len(sel)), float(weight.sum())), weighted
    # counts mode: each village's uncovered businesses sit on its blank spots, by area
    v = assessment.villages
    spots = assessment.blank_spots
    weighted = assessment.weighted
    n_unc = pd.to_numeric(v["n_uncovered"], errors="coerce").fillna(0.0).to_numpy("float64")
    total = float(n_unc.sum())
    if "weighted_uncovered" in v.columns:
        w_unc = pd.to_numeric(v["weighted_uncovered"], errors="coerce").fillna(0.0)
        total_w = float(w_unc.sum())
    else:
        total_w = total
    if len(spots) == 0 or "n_businesses" not in spots.columns:
        empty = np.zeros(0)
        return _Demand(np.empty((0, 2)), empty, empty, np.zeros(0, object), total, total_w), (
            weighted
        )
    order = _id_sort(spots.index.to_numpy())
    spots = spots.iloc[order]
    count = pd.to_numeric(spots["n_businesses"], errors="coerce").fillna(0.0).to_numpy("float64")
    wcol = "weighted_businesses" if "weighted_businesses" in spots.columns else "n_businesses"
    weight = pd.to_numeric(spots[wcol], errors="coerce").fillna(0.0).to_numpy("float64")
    rp = shapely.point_on_surface(np.asarray(spots.geometry.array))
    xy = _xy(rp)
    keep = count > 0
    return (
        _Demand(
            xy[keep],
            count[keep],
            weight[keep],
            spots["village_id"].to_numpy(dtype=object)[keep],
            total,
            total_w,
        ),
        weighted,
    )


def _coverage(
    demand_xy: np.ndarray, sites: gpd.GeoDataFrame, radius_m: float
) -> tuple[sp.csr_matrix, np.ndarray]:
    """Sparse demand x sites coverage; also each site's radius (NaN for footprints)."""
    n, m = len(demand_xy), len(sites)
    geoms = sites.geometry.array
    footprint = shapely.get_type_id(geoms) != 0
    radius = np.full(m, float(radius_m))
    if "radius_m" in sites.columns:
        own = sites["radius_m"].to_numpy("float64")
        radius = np.where(np.isnan(own), radius, own)
    radius[footprint] = np.nan
    circles = np.flatnonzero(~footprint)
    if len(circles) == m:  # no footprints: the KD-tree matrix is the answer
        return _mclp.coverage_from_points(demand_xy, _xy(geoms), radius), radius
    rows: list[np.ndarray] = []
    cols: list[np.ndarray] = []
    if len(circles):
        cxy = _xy(geoms[circles])
        part = _mclp.coverage_from_points(demand_xy, cxy, radius[circles]).tocoo()
        rows.append(part.row.astype(np.int64))
        cols.append(circles[part.col])
    polys = np.flatnonzero(footprint)
    if len(polys) and n:
        tree = shapely.STRtree(shapely.points(demand_xy))
        f_idx, d_idx = tree.query(np.asarray(geoms[polys]), predicate="intersects")
        rows.append(d_idx.astype(np.int64))
        cols.append(polys[f_idx])
    r = np.concatenate(rows) if rows else np.zeros(0, np.int64)
    c = np.concatenate(cols) if cols else np.zeros(0, np.int64)
    A = sp.csr_matrix((np.ones(len(r), dtype=bool), (r, c)), shape=(n, m))
    A.sum_duplicates()
    A.sort_indices()
    return A, radius


def _check_k(k: Any) -> int | None:
    if k is None:
        return None
    if isinstance(k, bool) or not isinstance(k, numbers.Integral) or k < 1:
        raise InputError(f"k must be a positive whole number of sites (or None), got {k!r}.")
    return int(k)


def _check_money(value: Any, name: str, *, allow_zero: bool = False) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise InputError(f"{name} must be a number of rupiah, got {value!r}.")
    v = float(value)
    if not math.isfinite(v) or v < 0 or (v == 0 and not allow_zero):
        raise InputError(
            f"{name} must be a positive, finite number of rupiah, got {value!r} "
            "(e.g. 26e9 for Rp 26 billion)."
        )
    return v


def _anchors(assessment: Assessment) -> tuple[np.ndarray, np.ndarray]:
    """Existing-network points the new sites link back to: ``(ids, xy)``.

    Towers of the coverage (any source with a ``towers`` GeoDataFrame, looking inside
    unions) when there are some; otherwise covered businesses thinned to one per
    ``_ANCHOR_SPACING_M`` cell (the lowest business id in each); in counts mode a point
    inside the covered part of each village with coverage.
    """
    crs = assessment.crs
    found: list[tuple[np.ndarray, np.ndarray]] = []
    stack = [assessment.coverage]
    seen = 0
    while stack and seen < 1000:  # sources nest a few levels at most
        src = stack.pop()
        seen += 1
        towers = getattr(src, "towers", None)
        if isinstance(towers, gpd.GeoDataFrame) and len(towers) and towers.crs is not None:
            pts = towers.geometry.to_crs(crs).array
            ok = ~(shapely.is_missing(pts) | shapely.is_empty(pts))
            xy = _xy(pts[ok])
            ids = ("tower:" + towers.index[ok].astype(str)).to_numpy(dtype=object)
            found.append((ids, xy))
        stack.extend(getattr(src, "sources", ()) or ())
    if found:
        ids = np.concatenate([f[0] for f in found])
        xy = np.concatenate([f[1] for f in found])
        _, first = np.unique(ids.astype(str), return_index=True)
        first = np.sort(first)
        return ids[first], xy[first]
    biz = assessment.businesses
    if biz is not None:
        cov = (biz["status"] == "covered").to_numpy(dtype=bool, na_value=False)
        sel = np.flatnonzero(cov)
        if len(sel) == 0:
            return np.zeros(0, object), np.empty((0, 2))
        sel = sel[_id_sort(np.asarray(biz.index, dtype=str)[sel])]
        pts = biz.geometry.array[sel]
        xy = _xy(pts)
        cell = np.floor(xy / _ANCHOR_SPACING_M).astype(np.int64)
        _, first = np.unique(cell, axis=0, return_index=True)
        first = np.sort(first)
        ids = ("covered:" + biz.index[sel[first]].astype(str)).to_numpy(dtype=object)
        return ids, xy[first]
    v = assessment.villages
    if "covered_area_share" not in v.columns:
        return np.zeros(0, object), np.empty((0, 2))
    share = pd.to_numeric(v["covered_area_share"], errors="coerce")
    has = (share > 0).to_numpy(dtype=bool, na_value=False)
    if not has.any():
        return np.zeros(0, object), np.empty((0, 2))
    geoms = np.asarray(v.geometry.array[has])
    spots = assessment.blank_spots
    if len(spots):
        holes = spots.dissolve(by="village_id").geometry
        hole = holes.reindex(v.index[has]).to_numpy(dtype=object)
        cut = ~pd.isna(hole)
        geoms = geoms.copy()
        geoms[cut] = shapely.difference(geoms[cut], np.asarray(hole[cut]))
    keep = ~shapely.is_empty(geoms)
    rp = shapely.point_on_surface(geoms[keep])
    ids = ("covered:" + v.index[has][keep].astype(str)).to_numpy(dtype=object)
    return ids, _xy(rp)


def _backhaul(
    site_xy: np.ndarray, site_ids: np.ndarray, anchor_xy: np.ndarray, anchor_ids: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Each site (in rank order) links to its nearest anchor or earlier site."""
    n = len(site_xy)
    to = np.full(n, None, dtype=object)
    dist = np.full(n, np.inf)
    if n == 0:
        return to, dist
    if len(anchor_xy):
        d, i = cKDTree(anchor_xy).query(site_xy)
        to, dist = anchor_ids[i].astype(object), d
    if n > 1:
        ranks = np.arange(n)
        kq = min(n, 16)
        d, i = cKDTree(site_xy).query(site_xy, k=kq)
        earlier = i < ranks[:, None]
        has = earlier.any(axis=1)
        first = earlier.argmax(axis=1)
        de = np.where(has, d[ranks, first], np.inf)
        ie = i[ranks, first]
        # sites none of whose 16 nearest sites came earlier: exact search, in chunks
        todo = np.flatnonzero(~has & (ranks > 0))
        for chunk in np.array_split(todo, max(1, math.ceil(len(todo) * n / 4e6))):
            if len(chunk) == 0:
                continue
            dd = np.hypot(
                site_xy[chunk, 0][:, None] - site_xy[None, :, 0],
                site_xy[chunk, 1][:, None] - site_xy[None, :, 1],
            )
            dd[ranks[None, :] >= chunk[:, None]] = np.inf
            j = dd.argmin(axis=1)
            de[chunk] = dd[np.arange(len(chunk)), j]
            ie[chunk] = j
        closer = de < dist  # a tie goes to the existing network
        to[closer] = site_ids[ie[closer]]
        dist[closer] = de[closer]
    dist[np.isinf(dist)] = np.nan
    return to, dist


def _network(
    *,
    site_ids: np.ndarray,
    site_xy: np.ndarray,
    to: np.ndarray,
    dist: np.ndarray,
    anchor_ids: np.ndarray,
    anchor_xy: np.ndarray,
) -> nx.Graph:
    g = nx.Graph()
    used = pd.unique(to[pd.notna(to)])
    a_pos = pd.Index(anchor_ids).get_indexer(used)
    anchors = a_pos >= 0
    g.add_nodes_from(
        (str(a), {"kind": "anchor", "x": float(anchor_xy[p, 0]), "y": float(anchor_xy[p, 1])})
        for a, p in zip(used[anchors], a_pos[anchors], strict=True)
    )
    g.add_nodes_from(
        (
            str(s),
            {"kind": "site", "rank": r + 1, "x": float(site_xy[r, 0]), "y": float(site_xy[r, 1])},
        )
        for r, s in enumerate(site_ids)
    )
    linked = pd.notna(to)
    g.add_edges_from(
        (str(s), str(t), {"length_m": float(d)})
        for s, t, d in zip(site_ids[linked], to[linked], dist[linked], strict=True)
    )
    return g


def _empty_sites(crs: Any, weighted: bool) -> gpd.GeoDataFrame:
    dtypes = {
        "rank": "int64",
        "site_id": object,
        "new_businesses": "float64",
        "cumulative_businesses": "float64",
        "cumulative_share": "float64",
        "new_weighted_businesses": "float64",
        "cumulative_weighted_businesses": "float64",
        "cumulative_weighted_share": "float64",
        "village_id": object,
        "kecamatan": object,
        "kabupaten": object,
        "villages_reached": "int64",
        "village_ids": object,
        "village_names": object,
        "radius_m": "float64",
        "cost_idr": "float64",
        "cost_per_new_business": "float64",
        "backhaul_to": object,
        "backhaul_m": "float64",
    }
    cols = {
        c: pd.Series([], dtype=t) for c, t in dtypes.items() if weighted or c not in _WEIGHTED_ONLY
    }
    return gpd.GeoDataFrame(cols, geometry=gpd.GeoSeries([], crs=crs), crs=crs)


def _empty_plan(
    assessment: Assessment,
    *,
    method: str,
    weighted: bool,
    total: float,
    message: str,
    unreachable: float = 0.0,
) -> Plan:
    log.info("rank_sites: empty plan: %s", message)
    return Plan(
        sites=_empty_sites(assessment.crs, weighted),
        upper_bound=0.0,
        method=method,
        objective=0.0,
        gap=0.0,
        total_uncovered=total,
        weighted=weighted,
        message=message,
        network=nx.Graph(),
        assessment=assessment,
        unreachable=unreachable,
    )


@check_options
def rank_sites(
    assessment: Assessment,
    sites: Any,
    *,
    radius_m: float = 5000.0,
    k: int | None = None,
    budget_idr: float | None = None,
    method: str = "greedy",
    weights: Mapping[str, Any] | None = None,
    default_cost_idr: float = DEFAULT_COST_IDR,
    time_limit_s: float = 60.0,
    bound: str = "greedy",
    id_col: str | None = None,
) -> Plan:
    """Choose and order tower sites by the uncovered businesses they would connect.

    A site connects the uncovered businesses within its radius (or inside its footprint
    polygon). Businesses that already have signal are not demand: existing coverage is
    removed up front. The plan lists the chosen sites in build order, each with the
    businesses it newly connects (that no earlier site reaches).

    Parameters
    ----------
    assessment
        The result of :func:`blankspot.assess`.
    sites
        Candidate sites: :func:`candidate_sites` output, :func:`read_sites` output, any
        GeoDataFrame of points/footprint polygons, or a file path (read with
        :func:`read_sites`). Reprojected to the working CRS (logged). Optional columns
        ``cost_idr`` and ``radius_m``.
    radius_m
        Service radius of a site without its own ``radius_m`` or footprint, metres
        (default 5000: a rural 4G macro cell reaches about 4-8 km).
    k
        Number of sites to choose. ``None`` with no budget: rank every site that adds
        something, until nothing more can be connected.
    budget_idr
        Total cost limit in rupiah; site costs from ``cost_idr``, else ``default_cost_idr``.
        With ``k`` too, both limits hold.
    method
        ``"greedy"`` (lazy greedy, fast, with a bound on how far from optimal it can be) or
        ``"exact"`` (maximal covering location problem solved to proven optimality by HiGHS;
        needs ``k`` or ``budget_idr``).
    weights
        Class weights as in :func:`score_villages`; default: the businesses' ``weight``.
    default_cost_idr
        Cost of a site without ``cost_idr`` when a budget is given, and of generated
        (grid/cluster) sites mixed with costed user sites. Default Rp 2.6 billion
        (BAKTI 4G site, 2022).
    time_limit_s
        Time limit for ``method="exact"`` (and ``bound="lp"``), seconds; the best plan
        found and its gap are returned if it is reached (with a warning).
    bound
        How ``method="greedy"`` bounds the optimum: ``"greedy"`` (default, free: the online
        bound of Leskovec et al. 2007) or ``"lp"`` (also solve the LP relaxation with HiGHS,
        usually much tighter, costs about as much as the root of ``exact``). Ignored by
        ``method="exact"``, whose bound is the solver's.
    id_col
        Id column of ``sites`` (see :func:`read_sites`).

    Returns
    -------
    Plan
        ``sites`` (the ranked table), ``upper_bound``, ``objective``, ``gap``, ``method``,
        ``total_uncovered``, ``weighted``, ``message``, ``network``, ``assessment``.

    Raises
    ------
    InputError
        ``radius_m`` <= 0, ``k`` < 1, a budget <= 0, unknown ``method``, ``exact`` without
        ``k`` or budget, bad ``weights``, duplicate site ids, missing/negative costs.
    CRSError
        The sites have no CRS.
    NoOverlapError
        No site lies in or touches a village.

    Warns
    -----
    BlankspotWarning
        ``k`` exceeds the number of candidates (all useful sites are returned); the budget
        is below the cheapest site (empty plan); ``exact`` hit its time limit.

    Notes
    -----
    *Greedy* adds the site with the largest marginal gain, lazily re-evaluated (CELF). With
    a budget that can bind (the ``k`` dearest useful sites cost more than it together), it
    runs twice, by largest gain per rupiah and by largest gain among the sites still
    affordable, and keeps the better plan (ties: per rupiah); a budget that cannot bind
    leaves the plan for ``k`` unchanged. Sites of equal gain per rupiah (free sites) go by
    larger gain. It reaches at least 63 % (1 - 1/e) of the optimum for a site count
    (half that with a binding budget), and
    ``upper_bound`` (Leskovec et al. 2007 online bound) shows how close it actually is.
    *Exact* solves the integer program with HiGHS and orders the optimal sites by marginal
    contribution (per rupiah with a budget); ``upper_bound`` is the solver's dual bound.
    Both are deterministic: demand and sites are sorted by id first, ties go to the
    smaller site id.

    Coverage is a sparse matrix from a KD-tree (circles) or an STRtree (footprints); demand
    points reached by exactly the same sites are merged, and demand no site reaches is
    counted in ``Plan.unreachable``. Memory grows with the number of (business, site) pairs
    within reach, never businesses x sites.

    Villages reached: the villages of the businesses a site newly connects. Backhaul: each
    site, in rank order, links to the nearest point already connected: an existing tower
    (when the coverage came from towers), else a covered business (one per 1 km cell; in
    counts mode a point in the covered part of each village), or an earlier site;
    ``Plan.network`` holds these links (nodes ``kind`` "anchor"/"site" with ``x``/``y``,
    edges ``length_m``), only anchors actually linked are included. In counts mode each
    village's uncovered businesses are placed on its blank spots' representative points.

    Examples
    --------
    >>> plan = rank_sites(_toy_assessment(), _toy_sites(), radius_m=600)
    >>> plan.sites[["rank", "site_id", "new_businesses", "cumulative_share", "village_ids"]]
       rank site_id  new_businesses  cumulative_share                  village_ids
    0     1      S1               3               0.6  18.01.01.2002;18.01.01.2003
    1     2      S2               2               1.0                18.01.01.2003
    >>> plan.upper_bound, plan.sites["backhaul_to"].tolist()
    (5.0, ['covered:b3', 'S1'])
    """
    assessment = _check_assessment(assessment, "rank_sites")
    radius_m = _positive_metres(radius_m, "radius_m")
    k = _check_k(k)
    budget = _check_money(budget_idr, "budget_idr")
    default_cost = _check_money(default_cost_idr, "default_cost_idr", allow_zero=True)
    if method not in METHODS:
        raise InputError(f"method must be one of {list(METHODS)}, got {method!r}.")
    if bound not in BOUNDS:
        raise InputError(f"bound must be one of {list(BOUNDS)}, got {bound!r}.")
    if (
        isinstance(time_limit_s, bool)
        or not isinstance(time_limit_s, numbers.Real)
        or not (time_limit_s > 0)
    ):
        raise InputError(
            f"time_limit_s must be a positive number of seconds, got {time_limit_s!r}."
        )
    if method == "exact" and k is None and budget is None:
        raise InputError(
            "method='exact' needs k (number of sites) or budget_idr: without a limit the "
            "optimum is simply every site. Pass k= or budget_idr=, or use method='greedy' "
            "to rank all sites."
        )
    demand, weighted = _demand(assessment, weights)
    total = demand.total_weight if weighted else demand.total_count

    # checked before the sites: with nothing to connect, an empty candidate list is expected
    if demand.total_count <= 0 or len(demand.xy) == 0:
        return _empty_plan(
            assessment,
            method=method,
            weighted=weighted,
            total=total,
            message="no uncovered businesses: every business in the villages already has signal, "
            "so there is nothing to connect",
        )

    table = _prepare_sites(sites, assessment, id_col=id_col)
    m = len(table)

    # costs
    has_cost_col = "cost_idr" in table.columns
    costs_known = has_cost_col or budget is not None
    if has_cost_col:
        costs = table["cost_idr"].to_numpy("float64")
        filled = np.isnan(costs)
        if filled.any():
            log.info(
                "%d generated sites without cost_idr priced at default_cost_idr=%g",
                int(filled.sum()),
                default_cost,
            )
        costs = np.where(filled, default_cost, costs)
    else:
        costs = np.full(m, default_cost if budget is not None else np.nan)
    if budget is not None:
        cheapest = float(np.min(costs))
        if cheapest > budget:
            msg = (
                f"budget_idr={budget:,.0f} is below the cheapest site (Rp {cheapest:,.0f}): "
                "no site can be built"
            )
            warn_user(msg)
            return _empty_plan(
                assessment, method=method, weighted=weighted, total=total, message=msg
            )
    notes: list[str] = []
    k_asked = k
    if k is not None and k > m:
        msg = f"k={k} exceeds the {m} candidate sites: ranking all useful sites instead"
        warn_user(msg)
        notes.append(msg)
        k = m

    A, radius = _coverage(demand.xy, table, radius_m)
    obj_w = demand.weight if weighted else demand.count
    reached = np.diff(A.indptr) > 0
    unreachable = float(obj_w[~reached].sum())
    if not reached.any():
        d, _ = cKDTree(demand.xy).query(_xy(_point_of(table.geometry.array)))
        return _empty_plan(
            assessment,
            method=method,
            weighted=weighted,
            total=total,
            message=f"no candidate site reaches an uncovered business (the nearest is "
            f"{float(np.min(d)):,.0f} m from a site; radius_m={radius_m:g}): try a larger "
            "radius or sites nearer the blank spots",
            unreachable=unreachable,
        )
    if unreachable > 0:
        log.info("%g uncovered businesses are out of reach of every candidate site", unreachable)

    A_agg, w_agg, _ = _mclp.aggregate_demand(A, obj_w)
    log.info(
        "rank_sites: %d demand points -> %d coverage patterns x %d sites (%d pairs), %s",
        A.shape[0],
        A_agg.shape[0],
        m,
        A.nnz,
        method,
    )
    solve_costs = costs if budget is not None else None
    if method == "greedy":
        res = _mclp.greedy_mclp(A_agg, w_agg, k=k, budget=budget, costs=solve_costs)
        if bound == "lp" and (k is not None or budget is not None):
            lp = _mclp.lp_bound(
                A_agg, w_agg, k=k, budget=budget, costs=solve_costs, time_limit_s=time_limit_s
            )
            if lp < res.upper_bound:
                ub = max(lp, res.objective)
                res = dataclasses.replace(
                    res, upper_bound=ub, gap=_mclp.relative_gap(res.objective, ub)
                )
    else:
        res = _mclp.exact_mclp(
            A_agg, w_agg, k=k, budget=budget, costs=solve_costs, time_limit_s=float(time_limit_s)
        )
        if res.status != "Optimal":
            msg = (
                f"HiGHS stopped ({res.status}) before proving the optimum: the plan is within "
                f"{res.gap:.2%} of the best possible"
            )
            warn_user(msg)
            notes.append(msg)
    chosen = res.chosen
    if k is not None and len(chosen) < k:
        notes.append(
            f"only {len(chosen)} of the k={k_asked} sites asked for connect anyone new: "
            "every uncovered business within reach of a candidate is connected"
        )
    if res.status == "greedy (largest gain)":
        notes.append(
            "picking the site that connects most among those still affordable connects "
            "more within the budget than picking by businesses per rupiah, so the plan "
            "follows the largest gain"
        )

    sites_out = _plan_table(
        assessment,
        table=table,
        chosen=chosen,
        A=A,
        demand=demand,
        weighted=weighted,
        radius=radius,
        costs=costs if costs_known else None,
    )
    anchor_ids, anchor_xy = _anchors(assessment)
    pts = sites_out.geometry.array
    site_xy = _xy(pts)
    site_ids = sites_out["site_id"].to_numpy(dtype=object)
    to, dist = _backhaul(site_xy, site_ids, anchor_xy, anchor_ids)
    sites_out["backhaul_to"] = to
    sites_out["backhaul_m"] = dist
    objective = float(sites_out["new_weighted_businesses" if weighted else "new_businesses"].sum())
    return Plan(
        sites=sites_out,
        upper_bound=max(float(res.upper_bound), objective),
        method=method,
        objective=objective,
        gap=float(res.gap),
        total_uncovered=total,
        weighted=weighted,
        message="; ".join(notes),
        network=_network(
            site_ids=site_ids,
            site_xy=site_xy,
            to=to,
            dist=dist,
            anchor_ids=anchor_ids,
            anchor_xy=anchor_xy,
        ),
        assessment=assessment,
        unreachable=unreachable,
    )


def _plan_table(
    assessment: Assessment,
    *,
    table: gpd.GeoDataFrame,
    chosen: np.ndarray,
    A: sp.csr_matrix,
    demand: _Demand,
    weighted: bool,
    radius: np.ndarray,
    costs: np.ndarray | None,
) -> gpd.GeoDataFrame:
    """Build the ranked table (backhaul filled later), columns in the contract's order."""
    n_chosen = len(chosen)
    # each demand point is connected by the first chosen site (in rank order) reaching it
    sub = A[:, chosen].tocsr()
    live = np.flatnonzero(np.diff(sub.indptr) > 0)
    first = np.minimum.reduceat(sub.indices, sub.indptr[live]) if len(live) else np.zeros(0, int)
    new_count = np.bincount(first, weights=demand.count[live], minlength=n_chosen)
    new_weight = np.bincount(first, weights=demand.weight[live], minlength=n_chosen)

    v = assessment.villages
    vids = demand.village_id[live]
    has_v = pd.notna(vids)
    reach = pd.DataFrame({"pos": first[has_v], "village_id": vids[has_v].astype(str)})
    reach = reach.drop_duplicates().sort_values(["pos", "village_id"], kind="stable")
    names = v["name"] if "name" in v.columns else pd.Series("", index=v.index)
    names = names.astype(object).where(names.notna(), "")
    names.index = v.index.astype(str)
    reach["name"] = names.reindex(reach["village_id"]).fillna("").astype(str).to_numpy()
    grouped = reach.groupby("pos", sort=True)
    n_reached = grouped.size().reindex(range(n_chosen), fill_value=0)
    ids_joined = grouped["village_id"].agg(";".join).reindex(range(n_chosen), fill_value="")
    names_joined = grouped["name"].agg(";".join).reindex(range(n_chosen), fill_value="")

    pts = _point_of(table.geometry.array[chosen])
    site_vid = _village_of(pts, v)
    v_str = v.copy()
    v_str.index = v.index.astype(str)

    def parent(col: str) -> np.ndarray:
        if col not in v_str.columns:
            return np.full(n_chosen, None, dtype=object)
        s = v_str[col].astype(object)
        out = s.reindex(pd.Index(site_vid).fillna("\0")).to_numpy(dtype=object)
        return np.where(pd.isna(out), None, out)

    counts_int = assessment.businesses is not None
    new_b = new_count.round().astype(np.int64) if counts_int else new_count
    cum_b = np.cumsum(new_b)
    total_count = demand.total_count
    cost = costs[chosen] if costs is not None else np.full(n_chosen, np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        per_new = np.where(new_count > 0, cost / new_count, np.nan)
    cols: dict[str, Any] = {
        "rank": np.arange(1, n_chosen + 1, dtype=np.int64),
        "site_id": table.index.to_numpy(dtype=object)[chosen],
        "new_businesses": new_b,
        "cumulative_businesses": cum_b,
        "cumulative_share": cum_b / total_count if total_count else np.full(n_chosen, np.nan),
    }
    if weighted:
        cum_w = np.cumsum(new_weight)
        cols["new_weighted_businesses"] = new_weight
        cols["cumulative_weighted_businesses"] = cum_w
        cols["cumulative_weighted_share"] = (
            cum_w / demand.total_weight if demand.total_weight else np.full(n_chosen, np.nan)
        )
    cols.update(
        {
            "village_id": site_vid,
            "kecamatan": parent("kecamatan"),
            "kabupaten": parent("kabupaten"),
            "villages_reached": n_reached.to_numpy(dtype=np.int64),
            "village_ids": ids_joined.to_numpy(dtype=object),
            "village_names": names_joined.to_numpy(dtype=object),
            "radius_m": radius[chosen],
            "cost_idr": cost,
            "cost_per_new_business": per_new,
            "backhaul_to": np.full(n_chosen, None, dtype=object),
            "backhaul_m": np.full(n_chosen, np.nan),
        }
    )
    return gpd.GeoDataFrame(
        cols, geometry=gpd.GeoSeries(pts, crs=assessment.crs), index=pd.RangeIndex(n_chosen)
    )


# --------------------------------------------------------------------------- doc examples


def _toy_assessment() -> Assessment:
    """Build a three-village assessment for the examples (UTM 48S, 1 km square villages).

    Village 2001 is fully covered (businesses b1, b2), 2002 is covered on its west half
    (b3 covered; b4, b5 uncovered in the east half) and 2003 has no signal (b6, b7, b8).
    """
    x0, y0 = 500_000.0, 9_400_000.0
    vids = ["18.01.01.2001", "18.01.01.2002", "18.01.01.2003"]
    villages = gpd.GeoDataFrame(
        {
            "name": ["Satu", "Dua", "Tiga"],
            "kecamatan": ["Kedaton"] * 3,
            "kabupaten": ["Kota Bandar Lampung"] * 3,
            "area_km2": [1.0, 1.0, 1.0],
            "covered_area_share": [1.0, 0.5, 0.0],
            "n_businesses": [2, 3, 3],
            "n_covered": [2, 1, 0],
            "n_uncovered": [0, 2, 3],
            "uncovered_share": [0.0, 2 / 3, 1.0],
            "weighted_uncovered": [0.0, 2.0, 3.0],
            "blank_spot": [False, True, True],
        },
        geometry=[box(x0 + 1000 * i, y0, x0 + 1000 * (i + 1), y0 + 1000) for i in range(3)],
        index=pd.Index(vids, name="village_id"),
        crs="EPSG:32748",
    )
    xy = {
        "b1": (200, 500, vids[0], "covered"),
        "b2": (800, 500, vids[0], "covered"),
        "b3": (1200, 500, vids[1], "covered"),
        "b4": (1700, 400, vids[1], "uncovered"),
        "b5": (1800, 600, vids[1], "uncovered"),
        "b6": (2300, 500, vids[2], "uncovered"),
        "b7": (2500, 500, vids[2], "uncovered"),
        "b8": (2700, 500, vids[2], "uncovered"),
    }
    businesses = gpd.GeoDataFrame(
        {
            "weight": 1.0,
            "village_id": [t[2] for t in xy.values()],
            "covered": [t[3] == "covered" for t in xy.values()],
            "status": [t[3] for t in xy.values()],
        },
        geometry=[Point(x0 + t[0], y0 + t[1]) for t in xy.values()],
        index=pd.Index(list(xy), name="business_id"),
        crs="EPSG:32748",
    )
    spots = gpd.GeoDataFrame(
        {
            "village_id": vids[1:],
            "area_km2": [0.5, 1.0],
            "n_businesses": [2, 3],
            "weighted_businesses": [2.0, 3.0],
        },
        geometry=[
            box(x0 + 1500, y0, x0 + 2000, y0 + 1000),
            box(x0 + 2000, y0, x0 + 3000, y0 + 1000),
        ],
        index=pd.Index([f"{vids[1]}-1", f"{vids[2]}-1"], name="blank_spot_id"),
        crs="EPSG:32748",
    )
    return Assessment(
        businesses=businesses,
        villages=villages,
        blank_spots=spots,
        accounting={"input": 8, "covered": 3, "uncovered": 5, "outside_villages": 0, "rejected": 0},
        rejected=pd.DataFrame({"reason": pd.Series(dtype=object)}),
        crs=CRS.from_epsg(32748),
    )


def _toy_sites() -> gpd.GeoDataFrame:
    """Build two candidate sites for the examples: S1 in village 2002 near 2003, S2 in 2003.

    With a 600 m radius S1 reaches b4, b5 (village 2002) and b6 (2003); S2 reaches b6, b7, b8.
    """
    return gpd.GeoDataFrame(
        geometry=[Point(501_850, 9_400_500), Point(502_600, 9_400_500)],
        index=pd.Index(["S1", "S2"], name="site_id"),
        crs="EPSG:32748",
    )
