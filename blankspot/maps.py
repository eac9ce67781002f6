"""Maps of a plan: a static PNG (:func:`plot_plan`) and a web map (:func:`explore_plan`)."""

from __future__ import annotations

import logging
import math
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import folium
import numpy as np
from matplotlib.collections import Collection
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.patheffects import withStroke
from mpl_toolkits.axes_grid1.anchored_artists import AnchoredSizeBar

import geopandas as gpd
import shapely

from blankspot._errors import CRSError, InputError
from blankspot._validate import check_options
from blankspot.export import LANGS, _unpack

__all__ = ["explore_plan", "plot_plan"]

log = logging.getLogger("blankspot")

#: Size of a new figure in inches; at ``dpi=150`` the PNG is 1200 x 1200 pixels.
FIGSIZE_IN = (8.0, 8.0)
#: Sites labelled with their rank on the static map (more would overlap into a smudge).
MAX_LABELLED_SITES = 20

_TEXT = {
    "en": {
        "title": "Blank spots and proposed tower sites",
        "title_assessment": "Blank spots",
        "uncovered": "Businesses without signal",
        "uncovered_weighted": "Weighted businesses without signal",
        "blank_spots": "Blank spot (no signal)",
        "sites": "Proposed site (number = rank)",
        "villages": "Village boundary",
        "reach": "Site reach (radius)",
    },
    "id": {
        "title": "Blank spot dan usulan lokasi menara",
        "title_assessment": "Blank spot",
        "uncovered": "UMKM tanpa sinyal",
        "uncovered_weighted": "UMKM tertimbang tanpa sinyal",
        "blank_spots": "Blank spot (tanpa sinyal)",
        "sites": "Usulan lokasi menara (angka = peringkat)",
        "villages": "Batas desa/kelurahan",
        "reach": "Jangkauan lokasi (radius)",
    },
}

_SITE_COLOR = "#1f3b99"
_SPOT_COLOR = "#444444"
_EDGE_COLOR = "#999999"
# thinner hatching where matplotlib (>= 3.10) lets an artist set it
_HATCH_KW = {"hatch_linewidth": 0.4} if hasattr(Collection, "set_hatch_linewidth") else {}


def _check_lang(lang: str) -> dict[str, str]:
    if lang not in LANGS:
        raise InputError(f"lang={lang!r} is not supported; choose one of: {', '.join(LANGS)}.")
    return _TEXT[lang]


def _nice_length_m(span_m: float) -> float:
    """Return the largest 1, 2 or 5 x 10^k metres not longer than a fifth of ``span_m``."""
    target = span_m / 5
    if not target > 0:
        return 1.0
    power = 10 ** math.floor(math.log10(target))
    return max(m * power for m in (1, 2, 5) if m * power <= target)


def _length_label(length_m: float) -> str:
    if length_m >= 1000:
        return f"{length_m / 1000:g} km"
    return f"{length_m:g} m"


def _save_atomic(path: str | os.PathLike[str], write: Callable[[Path], None]) -> Path:
    """Write through a temporary file in the target's folder, then rename it into place."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        write(tmp)
        # mkstemp makes the file private (0600); give it the permissions of a normal new file
        umask = os.umask(0)
        os.umask(umask)
        tmp.chmod(0o666 & ~umask)
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    return target


@check_options
def plot_plan(
    result: Any,
    *,
    ax: Any = None,
    path: str | os.PathLike[str] | None = None,
    title: str | None = None,
    lang: str = "en",
    dpi: int = 150,
) -> Any:
    """Draw villages shaded by unconnected businesses, blank spots and the ranked sites.

    Parameters
    ----------
    result
        A ``Plan`` from :func:`blankspot.rank_sites` or an
        :class:`~blankspot.assessment.Assessment` (then no sites are drawn).
    ax
        Matplotlib axes to draw on; default a new 8 x 8 inch figure.
    path
        Write the figure as PNG here (atomically: temporary file, then rename). An existing
        file is replaced; refusing to overwrite is the caller's decision (the CLI does).
    title
        Map title; default "Blank spots and proposed tower sites" in ``lang``.
    lang
        ``"en"`` or ``"id"`` (Bahasa Indonesia) for the title, legend and scale bar.
    dpi
        Resolution of the PNG, in dots per inch.

    Returns
    -------
    matplotlib.figure.Figure
        The figure drawn on. A new figure is not registered with ``pyplot`` (so it never
        opens a window and needs no ``plt.close``); it displays in Jupyter.

    Raises
    ------
    InputError
        ``result`` is neither a Plan nor an Assessment, or ``lang`` is unknown.
    CRSError
        The working CRS is geographic (the scale bar needs a projected CRS).

    Notes
    -----
    Villages are shaded by ``n_uncovered`` (``weighted_uncovered`` for a weighted plan), with
    a colour bar; blank spots are hatched; sites are dots, the first
    ``MAX_LABELLED_SITES`` numbered by rank. The scale bar (metres or kilometres, a round
    length of about a fifth of the map width) is drawn in the working CRS, whose units are
    metres; a north arrow points up, which is grid north in UTM (within about 0.2 degrees of
    true north in Lampung).

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely.geometry import Point, box
    >>> from blankspot import coverage
    >>> from blankspot.assessment import assess
    >>> villages = gpd.GeoDataFrame(
    ...     {"name": ["A", "B"]},
    ...     geometry=[box(0, 0, 1000, 1000), box(1000, 0, 2000, 1000)],
    ...     index=["18.01.01.2001", "18.01.01.2002"], crs="EPSG:32748")
    >>> shops = gpd.GeoDataFrame(geometry=[Point(500, 500), Point(1500, 500)], crs="EPSG:32748")
    >>> towers = gpd.GeoDataFrame(geometry=[box(0, 0, 1000, 1000)], crs="EPSG:32748")
    >>> result = assess(villages, shops, coverage.from_polygons(towers), crs="EPSG:32748")
    >>> fig = plot_plan(result, lang="id")
    >>> fig.axes[0].get_title()
    'Blank spot'
    """
    assessment, plan = _unpack(result)
    text = _check_lang(lang)
    crs = assessment.crs
    if not crs.is_projected:
        raise CRSError(
            f"The assessment's working CRS {crs.to_string()} is not projected, so the map "
            "cannot have a scale in metres. Run blankspot.assess with a projected crs= "
            "(the UTM zone, EPSG:32748 for most of Lampung)."
        )
    metres_per_unit = crs.axis_info[0].unit_conversion_factor

    if ax is None:
        fig = Figure(figsize=FIGSIZE_IN, dpi=dpi, layout="constrained")
        ax = fig.add_subplot()
    else:
        fig = ax.get_figure()
    weighted = plan.weighted if plan is not None else assessment.weighted
    col = "weighted_uncovered" if weighted else "n_uncovered"
    villages = assessment.villages.to_crs(crs)
    values = villages[col].to_numpy(dtype="float64")
    positive = values[np.isfinite(values) & (values > 0)]
    # one extreme village must not wash every other one out: cap the scale at the 98th
    # percentile and mark the cap with an arrow on the colour bar
    vmax = float(np.percentile(positive, 98)) if len(positive) else 1.0
    clipped = bool(len(positive) and positive.max() > vmax)
    villages.plot(
        column=col,
        ax=ax,
        cmap="OrRd",
        vmin=0.0,
        vmax=max(vmax, 1.0),
        edgecolor=_EDGE_COLOR,
        # thin edges: a province has thousands of villages
        linewidth=0.15,
        legend=True,
        legend_kwds={
            "label": text[f"uncovered{'_weighted' if weighted else ''}"],
            "shrink": 0.6,
            "extend": "max" if clipped else "neither",
        },
    )
    handles = [Patch(facecolor="none", edgecolor=_EDGE_COLOR, label=text["villages"])]
    spots = assessment.blank_spots
    if len(spots):
        spots.to_crs(crs).plot(
            ax=ax,
            facecolor="none",
            edgecolor=_SPOT_COLOR,
            hatch="////",
            linewidth=0.2,
            **_HATCH_KW,
        )
        handles.append(
            Patch(facecolor="none", edgecolor=_SPOT_COLOR, hatch="////", label=text["blank_spots"])
        )
    if plan is not None and len(plan.sites):
        sites = plan.sites.to_crs(crs)
        x, y = sites.geometry.x.to_numpy(), sites.geometry.y.to_numpy()
        ax.scatter(x, y, s=28, color=_SITE_COLOR, edgecolor="white", linewidth=0.6, zorder=5)
        ranks = sites["rank"].to_numpy() if "rank" in sites.columns else np.arange(1, len(x) + 1)
        first = np.argsort(ranks, kind="stable")[:MAX_LABELLED_SITES]
        # matplotlib has no vectorised annotate; this touches at most MAX_LABELLED_SITES sites
        for i in first:
            ax.annotate(
                str(ranks[i]),
                (x[i], y[i]),
                xytext=(4, 4),
                textcoords="offset points",
                fontsize=8,
                fontweight="bold",
                color=_SITE_COLOR,
                zorder=6,
                path_effects=[withStroke(linewidth=2.5, foreground="white")],
            )
        handles.append(
            Line2D(
                [],
                [],
                marker="o",
                linestyle="none",
                markersize=6,
                markerfacecolor=_SITE_COLOR,
                markeredgecolor="white",
                label=text["sites"],
            )
        )
    # below the map, so it never hides a village
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(0, -0.01), fontsize=8)

    x0, x1 = ax.get_xlim()
    y0, y1 = ax.get_ylim()
    length_m = _nice_length_m((x1 - x0) * metres_per_unit)
    ax.add_artist(
        AnchoredSizeBar(
            ax.transData,
            length_m / metres_per_unit,
            _length_label(length_m),
            loc="lower right",
            pad=0.5,
            borderpad=0.5,
            sep=4,
            size_vertical=(y1 - y0) / 150,
            frameon=True,
            fontproperties=FontProperties(size=8),
        )
    )
    # north arrow: an arrow above an "N", in axes coordinates so it stays in the corner
    ax.annotate(
        "",
        xy=(0.96, 0.995),
        xytext=(0.96, 0.93),
        xycoords="axes fraction",
        arrowprops={"arrowstyle": "-|>", "color": "black", "linewidth": 1.2},
    )
    ax.text(0.96, 0.925, "N", transform=ax.transAxes, ha="center", va="top", fontweight="bold")
    ax.set_axis_off()
    default_title = text["title"] if plan is not None else text["title_assessment"]
    ax.set_title(default_title if title is None else title)

    if path is not None:
        saved = _save_atomic(path, lambda tmp: fig.savefig(tmp, format="png", dpi=dpi))
        log.info("Wrote the map %s", saved)
    return fig


def _explore_frame(gdf: gpd.GeoDataFrame, columns: list[str]) -> gpd.GeoDataFrame:
    """Keep the tooltip columns (those present), in WGS84 rounded to about 1 m, objects as text."""
    out = gdf.reset_index() if gdf.index.name and gdf.index.name not in gdf.columns else gdf
    keep = [c for c in dict.fromkeys(columns) if c in out.columns]
    out = out[[*keep, out.geometry.name]].to_crs("EPSG:4326")
    # 5 decimals of a degree is about 1 m: the HTML shrinks by half, which no one can see
    # on a web map (the exports keep full precision)
    geoms = shapely.transform(np.asarray(out.geometry.array), lambda xy: np.round(xy, 5))
    out = out.set_geometry(gpd.GeoSeries(geoms, index=out.index, crs=out.crs))
    # the map's JSON cannot hold lists or pandas' NA objects: show their text instead
    cols = {c: out[c].astype("str") for c in keep if out[c].dtype == object}
    return out.assign(**cols) if cols else out


@check_options
def explore_plan(
    result: Any,
    *,
    path: str | os.PathLike[str] | None = None,
    lang: str = "en",
) -> Any:
    """Build an interactive web map of villages, blank spots and ranked sites.

    Parameters
    ----------
    result
        A ``Plan`` from :func:`blankspot.rank_sites` or an
        :class:`~blankspot.assessment.Assessment` (then no sites layer).
    path
        Write the map as a standalone HTML file here (atomically: temporary file, then
        rename). An existing file is replaced; refusing to overwrite is the caller's decision.
    lang
        ``"en"`` or ``"id"`` (Bahasa Indonesia) for the layer names.

    Returns
    -------
    folium.Map
        Layers "villages" (shaded by businesses without signal, with a tooltip), "blank
        spots", "site reach" (discs of each site's ``radius_m``) and "sites" (tooltip with
        rank, id, businesses, villages and cost), and a layer switcher.

    Raises
    ------
    InputError
        ``result`` is neither a Plan nor an Assessment, or ``lang`` is unknown.

    Notes
    -----
    Built with :meth:`geopandas.GeoDataFrame.explore`, in WGS84 with coordinates rounded to
    1e-5 degrees (about 1 m), which halves the file; the exports keep full precision. The
    background tiles are OpenStreetMap's, fetched by the browser when the map is opened;
    blankspot itself downloads nothing.

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely.geometry import Point, box
    >>> from blankspot import coverage
    >>> from blankspot.assessment import assess
    >>> villages = gpd.GeoDataFrame(
    ...     {"name": ["A", "B"]},
    ...     geometry=[box(0, 0, 1000, 1000), box(1000, 0, 2000, 1000)],
    ...     index=["18.01.01.2001", "18.01.01.2002"], crs="EPSG:32748")
    >>> shops = gpd.GeoDataFrame(geometry=[Point(500, 500), Point(1500, 500)], crs="EPSG:32748")
    >>> towers = gpd.GeoDataFrame(geometry=[box(0, 0, 1000, 1000)], crs="EPSG:32748")
    >>> result = assess(villages, shops, coverage.from_polygons(towers), crs="EPSG:32748")
    >>> m = explore_plan(result)
    >>> type(m).__name__
    'Map'
    """
    assessment, plan = _unpack(result)
    text = _check_lang(lang)
    weighted = plan.weighted if plan is not None else assessment.weighted
    col = "weighted_uncovered" if weighted else "n_uncovered"
    villages = _explore_frame(
        assessment.villages,
        ["village_id", "name", "kecamatan", "kabupaten", "n_businesses", "n_uncovered", col,
         "covered_area_share", "blank_spot"],
    )  # fmt: skip
    m = villages.explore(
        column=col,
        cmap="OrRd",
        name=text["villages"],
        legend=True,
        legend_kwds={"caption": text[f"uncovered{'_weighted' if weighted else ''}"]},
        style_kwds={"weight": 0.6, "color": "#777777", "fillOpacity": 0.6},
        tooltip=True,
    )
    spots = assessment.blank_spots
    if len(spots):
        _explore_frame(spots, ["blank_spot_id", "village_id", "area_km2", "n_businesses"]).explore(
            m=m,
            name=text["blank_spots"],
            color=_SPOT_COLOR,
            style_kwds={"weight": 1, "fillOpacity": 0.15, "dashArray": "4 3"},
            tooltip=True,
        )
    if plan is not None and len(plan.sites):
        sites = plan.sites.to_crs(assessment.crs)
        if "radius_m" in sites.columns:
            radius = sites["radius_m"].to_numpy(dtype="float64")
            ok = np.isfinite(radius) & (radius > 0)
            if ok.any():
                reach = gpd.GeoDataFrame(
                    sites.loc[ok, ["site_id", "radius_m"]],
                    geometry=sites.geometry[ok].buffer(radius[ok]),
                    crs=assessment.crs,
                )
                _explore_frame(reach, ["site_id", "radius_m"]).explore(
                    m=m,
                    name=text["reach"],
                    color=_SITE_COLOR,
                    style_kwds={"weight": 1, "fillOpacity": 0.05},
                    tooltip=False,
                )
        cols = ["rank", "site_id", "new_businesses", "cumulative_businesses", "village_names",
                "cost_idr", "cost_per_new_business", "backhaul_to"]  # fmt: skip
        _explore_frame(sites, cols).explore(
            m=m,
            name=text["sites"],
            color=_SITE_COLOR,
            marker_type="circle_marker",
            marker_kwds={"radius": 6, "fill": True},
            style_kwds={"fillOpacity": 0.9, "weight": 1},
            tooltip=True,
        )
    folium.LayerControl(collapsed=False).add_to(m)
    if path is not None:
        saved = _save_atomic(path, lambda tmp: m.save(str(tmp)))
        log.info("Wrote the interactive map %s", saved)
    return m
