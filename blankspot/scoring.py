"""Score blank-spot villages by their unconnected businesses.

:func:`score_villages` ranks villages by the uncovered businesses they hold (weighted), with
every score component in its own column. The weight helpers here are shared with
:mod:`blankspot.candidates` and :mod:`blankspot.ranking`.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

import geopandas as gpd

from blankspot._errors import InputError
from blankspot._examples import _toy_assessment  # noqa: F401 - used by the doctests
from blankspot._util import some
from blankspot._validate import check_options
from blankspot.assessment import Assessment, _village_pos

__all__ = ["score_villages"]


def _check_assessment(assessment: Any, func: str) -> Assessment:
    if not isinstance(assessment, Assessment):
        raise InputError(
            f"{func}() needs an Assessment from blankspot.assess(villages, businesses, "
            f"coverage), got {type(assessment).__name__}."
        )
    return assessment


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
            f"class(es) {some(bad)} have {[values[k] for k in bad][:10]}."
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
            f"weights['values'] does not list: {some(unknown)} (e.g. business "
            f"{some(biz.index[missing], 5)}). Add those classes to weights['values'] "
            f"(known: {some(mapping)})."
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
            f"'weight': {some(biz.index[bad])}. Fix the weight column given to "
            "read_businesses(weight_col=...)."
        )
    return w


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
        pos = _village_pos(biz, v)
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
        # the spots' own area_km2 is on the ellipsoid (the working CRS may be a far UTM zone)
        area = pd.to_numeric(spots["area_km2"], errors="coerce").to_numpy("float64")
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
