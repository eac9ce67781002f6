"""Run :func:`blankspot.assess` on a dask cluster: businesses as a ``dask_geopandas`` frame.

The village half of an assessment (overlay of the coverage on the villages, blank-spot
polygons) is computed once, here; the businesses are assessed partition by partition on the
workers of the active ``dask.distributed`` client, and the partitions are added up. Counts per
village and per blank spot are sums over disjoint businesses, so the result is the same as the
in-memory :func:`blankspot.assess`, row for row (the businesses come back in partition order).

Needs the ``dask`` extra: ``pip install "blankspot[dask]"`` (dask-geopandas, distributed).
"""

from __future__ import annotations

import logging
import numbers
from typing import Any

import geopandas as gpd

try:
    import dask
    import dask_geopandas
    from distributed import get_client
except ImportError as exc:  # pragma: no cover - the extra is installed in the test env
    raise ImportError('blankspot.distributed needs dask: pip install "blankspot[dask]"') from exc

from blankspot._errors import InputError
from blankspot._validate import check_options
from blankspot.assessment import (
    Assessment,
    _as_business_points,
    _classify_points,
    _combine_points,
    _compact_part,
    _PointPart,
    _village_part,
)
from blankspot.assessment import assess as assess_in_memory

__all__ = ["assess"]

log = logging.getLogger("blankspot")


def _assess_partition(
    village_half: tuple[Any, ...], part: Any, compact: bool = False
) -> tuple[_PointPart, str | None] | None:
    """Assess one partition of businesses against the shared village half (on a worker)."""
    if len(part) == 0:
        return None
    out_v, spots, wcrs, source = village_half
    biz = _as_business_points(part)
    done = _classify_points(out_v, biz=biz, spots=spots, wcrs=wcrs, source=source)
    if compact:  # the compact table travels back, not the points
        done = _compact_part(done, out_v.index)
    return done, biz.attrs.get("weight_col")


@check_options
def assess(
    villages: Any,
    businesses: Any,
    coverage: Any,
    *,
    crs: Any = None,
    blank_spot_share: float = 0.5,
    compact: bool = False,
    client: Any = None,
) -> Assessment:
    """:func:`blankspot.assess` with businesses partitioned over a dask cluster.

    Parameters
    ----------
    villages, coverage, crs, blank_spot_share, compact
        As in :func:`blankspot.assess` (``compact=True``: each worker returns the compact
        table, a fraction of the points' size, so less travels and the client holds less).
        The coverage must be picklable and readable by every worker (a raster path on a
        shared file system or object store, e.g. ``/vsis3/...``).
    businesses
        A ``dask_geopandas.GeoDataFrame`` of business points (any CRS), ideally partitioned
        spatially (``spatial_shuffle(by="hilbert")`` or one partition per province), so each
        worker touches few villages and raster windows. A plain GeoDataFrame is assessed in
        memory.
    client
        A ``dask.distributed.Client``; default: the active one (``distributed.get_client()``).

    Returns
    -------
    Assessment
        Identical to the in-memory result (the businesses in partition order).

    Raises
    ------
    InputError
        No dask client is running, or ``businesses`` is not a dask or geopandas frame.
    Everything :func:`blankspot.assess` raises.

    Notes
    -----
    Only the partitions travel: the village half (villages, blank spots, the coverage
    source) is scattered to every worker once, and each task returns its businesses with
    their status plus one count per blank spot. Scaling is by businesses; the overlay of the
    villages runs on the client (split it by province for a country at 30 m).
    """
    if isinstance(businesses, gpd.GeoDataFrame):
        return assess_in_memory(
            villages,
            businesses,
            coverage,
            crs=crs,
            blank_spot_share=blank_spot_share,
            compact=compact,
        )
    if not isinstance(businesses, dask_geopandas.GeoDataFrame):
        raise InputError(
            "businesses must be a dask_geopandas.GeoDataFrame (or a geopandas GeoDataFrame), "
            f"got {type(businesses).__name__}. Build one with "
            "dask_geopandas.from_geopandas(gdf, npartitions=...) or dask_geopandas.read_parquet."
        )
    if (
        isinstance(blank_spot_share, bool)
        or not isinstance(blank_spot_share, numbers.Real)
        or not 0 < blank_spot_share <= 1
    ):
        raise InputError(f"blank_spot_share must be a number in (0, 1], got {blank_spot_share!r}.")
    if client is None:
        try:
            client = get_client()
        except ValueError as exc:
            raise InputError(
                "blankspot.distributed.assess needs a running dask.distributed client: "
                "client = distributed.Client(cluster) (LocalCluster, dask-jobqueue, "
                "Kubernetes or Coiled), or pass client=."
            ) from exc
    out_v, spots, wcrs, source = _village_part(villages, coverage, crs=crs)
    [half] = client.scatter([(out_v, spots, wcrs, source)], broadcast=True, hash=False)
    if not isinstance(compact, bool):
        raise InputError(f"compact must be True or False, got {compact!r}.")
    tasks = [dask.delayed(_assess_partition)(half, p, compact) for p in businesses.to_delayed()]
    log.info(
        "Assessing %d business partitions on %d dask workers",
        len(tasks),
        len(client.scheduler_info().get("workers", {})),
    )
    done = [p for p in client.gather(client.compute(tasks)) if p is not None]
    if not done:
        raise InputError("businesses is empty: there is nothing to assess.")
    return _combine_points(
        out_v,
        [p for p, _ in done],
        spots=spots,
        wcrs=wcrs,
        source=source,
        blank_spot_share=blank_spot_share,
        weight_col=done[0][1],
    )
