"""Maps of a plan: a static PNG (:func:`plot_plan`) and a web map (:func:`explore_plan`)."""

from __future__ import annotations

import json
import logging
import math
import os
import tempfile
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import Collection
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.patheffects import withStroke
from matplotlib.transforms import Bbox
from mpl_toolkits.axes_grid1.anchored_artists import AnchoredSizeBar

import geopandas as gpd
import shapely

from blankspot import _i18n
from blankspot._errors import CRSError, InputError
from blankspot._styles import ORRD5, ZERO_COLOR, class_breaks
from blankspot._validate import check_options
from blankspot._webmap import WebMap, build_html, layer_json
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
        "kabupaten": "Regency/city boundary",
        "towers": "Existing tower",
        "backhaul": "Backhaul link (solid: microwave, dashed: fibre)",
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
        "kabupaten": "Batas kabupaten/kota",
        "towers": "Menara eksisting",
        "backhaul": "Tautan backhaul (garis penuh: gelombang mikro, putus-putus: serat optik)",
    },
}

_SITE_COLOR = "#1f3b99"
_LINK_COLOR = "#d95f02"
_SPOT_COLOR = "#444444"
_EDGE_COLOR = "#999999"
# thinner hatching where matplotlib (>= 3.10) lets an artist set it
_HATCH_KW = {"hatch_linewidth": 0.4} if hasattr(Collection, "set_hatch_linewidth") else {}


def _backhaul_links(plan: Any) -> gpd.GeoDataFrame | None:
    """Return the plan's backhaul links (``rank_sites(backhaul=...)``), or None if none."""
    b = getattr(plan, "backhaul", None)
    return b.links if b is not None and len(b.links) else None


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


#: Paper sizes of ``plot_plan(paper=...)``, portrait, in inches (ISO 216).
PAPER_IN = {"A4": (8.27, 11.69), "A3": (11.69, 16.54)}

_TOWER_COLOR = "#000000"
_KAB_COLOR = "#333333"
# candidate label offsets in points: 8 directions around the site, on rings further out
_DIRECTIONS = ((1, 1), (1, -1), (-1, 1), (-1, -1), (1, 0), (-1, 0), (0, 1), (0, -1))
_RINGS_PT = (5.0, 12.0, 20.0, 30.0, 42.0)


def _towers_of(coverage: Any) -> gpd.GeoDataFrame | None:
    """Return the existing towers behind a coverage source (towers, or a union with some)."""
    found = []
    stack = [coverage]
    while stack:
        src = stack.pop()
        if isinstance(getattr(src, "towers", None), gpd.GeoDataFrame):
            found.append(src.towers)
        stack.extend(getattr(src, "sources", ()) or ())
    found = [t for t in found if len(t)]
    if not found:
        return None
    return gpd.GeoDataFrame(pd.concat([t.to_crs(found[0].crs) for t in found]), crs=found[0].crs)


def _kabupaten(villages: gpd.GeoDataFrame) -> gpd.GeoDataFrame | None:
    """Return kabupaten/kota outlines: the villages dissolved by their ``kabupaten`` name."""
    if "kabupaten" not in villages.columns or villages["kabupaten"].isna().all():
        return None
    kab = villages[["kabupaten", villages.geometry.name]].dropna(subset=["kabupaten"])
    return kab.dissolve(by="kabupaten", sort=True)


def _renderer(fig: Figure) -> Any:
    """Return the figure's renderer (an Agg canvas is attached to a figure made without pyplot)."""
    if not hasattr(fig.canvas, "get_renderer"):
        FigureCanvasAgg(fig)
    return fig.canvas.get_renderer()


def _place_labels(
    ax: Any, x: np.ndarray, y: np.ndarray, labels: list[str], *, obstacles: list[Bbox]
) -> list[Any]:
    """Place labels one by one (in the given order) where they overlap nothing placed before.

    Each label tries 8 directions on rings further and further from its point, in display
    coordinates (the figure's layout must be final); from the second ring on, a leader line
    joins label and point. A label with no free place takes the place overlapping least.
    Returns the annotations, in order.
    """
    fig = ax.get_figure()
    renderer = _renderer(fig)
    px_per_pt = fig.dpi / 72.0
    anchors = ax.transData.transform(np.column_stack([x, y]))
    axes_box = ax.get_window_extent(renderer)
    # every site's dot is an obstacle for every label
    r = 4.0 * px_per_pt
    dots = [Bbox([[ax_ - r, ay - r], [ax_ + r, ay + r]]) for ax_, ay in anchors]
    placed: list[Bbox] = list(obstacles)
    out = []
    for i, label in enumerate(labels):
        probe = ax.text(0, 0, label, fontsize=8, fontweight="bold")
        bb = probe.get_window_extent(renderer)
        probe.remove()
        w, h = bb.width + 2 * px_per_pt, bb.height + 2 * px_per_pt  # + the white halo
        best = None
        for ring in _RINGS_PT:
            for dx, dy in _DIRECTIONS:
                ox, oy = dx * ring * px_per_pt, dy * ring * px_per_pt
                cx, cy = anchors[i, 0] + ox, anchors[i, 1] + oy
                x0 = cx if dx > 0 else cx - w if dx < 0 else cx - w / 2
                y0 = cy if dy > 0 else cy - h if dy < 0 else cy - h / 2
                box = Bbox([[x0, y0], [x0 + w, y0 + h]])
                others = [b for j, b in enumerate(dots) if j != i] + placed
                overlap = sum(
                    max(0.0, min(box.x1, o.x1) - max(box.x0, o.x0))
                    * max(0.0, min(box.y1, o.y1) - max(box.y0, o.y0))
                    for o in others
                )
                inside = axes_box.contains(box.x0, box.y0) and axes_box.contains(box.x1, box.y1)
                cost = overlap + (0.0 if inside else w * h)
                if best is None or cost < best[0]:
                    best = (cost, ring, dx, dy, box)
                if cost == 0:
                    break
            if best is not None and best[0] == 0:
                break
        _, ring, dx, dy, box = best  # type: ignore[misc]
        placed.append(box)
        ha = "left" if dx > 0 else "right" if dx < 0 else "center"
        va = "bottom" if dy > 0 else "top" if dy < 0 else "center"
        leader = ring > _RINGS_PT[0]
        ann = ax.annotate(
            label,
            (x[i], y[i]),
            xytext=(dx * ring, dy * ring),
            textcoords="offset points",
            ha=ha,
            va=va,
            fontsize=8,
            fontweight="bold",
            color=_SITE_COLOR,
            zorder=7,
            gid="rank-label",
            path_effects=[withStroke(linewidth=2.5, foreground="white")],
            arrowprops=(
                {"arrowstyle": "-", "color": _SITE_COLOR, "linewidth": 0.6, "shrinkA": 0,
                 "shrinkB": 2}
                if leader
                else None
            ),
        )  # fmt: skip
        ann.set_in_layout(False)
        out.append(ann)
    return out


def _source_line(assessment: Any, lang: str) -> str:
    """Return "Source: blankspot <version>; coverage: ...; <date>" in ``lang``."""
    from blankspot import __version__  # noqa: PLC0415 - the package imports this module

    cov = getattr(assessment.coverage, "description", None)
    cov = _i18n.translate_message(cov, lang) if cov else None
    today = date.today().isoformat()
    if lang == "id":
        parts = [f"Sumber: blankspot {__version__}"]
        parts += [f"cakupan sinyal: {cov}"] if cov else []
        parts += [f"dibuat {today}"]
    else:
        parts = [f"Source: blankspot {__version__}"]
        parts += [f"coverage: {cov}"] if cov else []
        parts += [f"made {today}"]
    return "; ".join(parts)


@check_options
def plot_plan(
    result: Any,
    *,
    ax: Any = None,
    path: str | os.PathLike[str] | None = None,
    title: str | None = None,
    lang: str = "en",
    dpi: int = 150,
    paper: str | None = None,
    landscape: bool = False,
    towers: gpd.GeoDataFrame | None = None,
    source: str | None = None,
) -> Figure:
    """Draw villages shaded by unconnected businesses, blank spots and the ranked sites.

    Parameters
    ----------
    result
        A ``Plan`` from :func:`blankspot.rank_sites` or an
        :class:`~blankspot.assessment.Assessment` (then no sites are drawn).
    ax
        Matplotlib axes to draw on; default a new 8 x 8 inch figure (or ``paper``).
    path
        Write the figure here (atomically: temporary file, then rename): PNG, or PDF when
        the name ends in ``.pdf`` (vector, for print). An existing file is replaced;
        refusing to overwrite is the caller's decision (the CLI does).
    title
        Map title; default "Blank spots and proposed tower sites" in ``lang``.
    lang
        ``"en"`` or ``"id"`` (Bahasa Indonesia) for the title, legend, scale bar and source.
    dpi
        Resolution of the PNG, in dots per inch (300 for print).
    paper
        ``"A4"`` or ``"A3"``: a print-ready page of that size (portrait; see ``landscape``)
        instead of the 8 x 8 inch figure.
    landscape
        With ``paper``, turn the page sideways.
    towers
        Existing towers to draw (points, any CRS). Default: the towers behind the coverage
        (a tower source, or a union that has one); none otherwise.
    source
        The source and date line under the map. Default "Source: blankspot <version>;
        coverage: <coverage description>; made <today>" in ``lang``.

    Returns
    -------
    matplotlib.figure.Figure
        The figure drawn on. A new figure is not registered with ``pyplot`` (so it never
        opens a window and needs no ``plt.close``); Jupyter shows it when a cell ends with
        it (with ``%matplotlib inline``) or through ``display(fig)``.

    Raises
    ------
    InputError
        ``result`` is neither a Plan nor an Assessment, ``lang`` or ``paper`` is unknown.
    CRSError
        The working CRS is geographic (the scale bar needs a projected CRS).

    Notes
    -----
    Villages are shaded by ``n_uncovered`` (``weighted_uncovered`` for a weighted plan), with
    a colour bar; blank spots are hatched; kabupaten/kota are outlined and named (villages
    dissolved by their ``kabupaten``); existing towers are black triangles; sites are dots,
    the first ``MAX_LABELLED_SITES`` numbered by rank. Rank labels never overlap each other,
    another site's dot or a kabupaten name: each is placed, in rank order, at the first
    free spot of 8 directions on rings further and further out (with a leader line from the
    second ring on), checked by bounding boxes in display coordinates once the layout is
    final. The scale bar (a round length of about a fifth of the map width) is drawn in the
    working CRS, whose units are metres; a north arrow points up, which is grid north in
    UTM (within about 0.2 degrees of true north in Lampung).

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
    >>> fig = plot_plan(result, lang="id", paper="A4")
    >>> fig.axes[0].get_title(), fig.get_size_inches().round(2).tolist()
    ('Blank spot', [8.27, 11.69])
    """
    assessment, plan = _unpack(result)
    text = _check_lang(lang)
    if paper is not None and paper not in PAPER_IN:
        raise InputError(f"paper={paper!r} is not supported; choose one of: A4, A3.")
    crs = assessment.crs
    if not crs.is_projected:
        raise CRSError(
            f"The assessment's working CRS {crs.to_string()} is not projected, so the map "
            "cannot have a scale in metres. Run blankspot.assess with a projected crs= "
            "(the UTM zone, EPSG:32748 for most of Lampung)."
        )
    metres_per_unit = crs.axis_info[0].unit_conversion_factor

    own_figure = ax is None
    portrait = own_figure and paper is not None and not landscape
    if own_figure:
        size = FIGSIZE_IN
        if paper is not None:
            w, h = PAPER_IN[paper]
            size = (h, w) if landscape else (w, h)
        fig = Figure(figsize=size, dpi=dpi, layout="constrained")
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
            # a portrait page has room below the map, not beside it
            "orientation": "horizontal" if portrait else "vertical",
            "pad": 0.06 if portrait else 0.05,
        },
    )
    handles = [Patch(facecolor="none", edgecolor=_EDGE_COLOR, label=text["villages"])]
    kab = _kabupaten(villages)
    if kab is not None and len(kab):
        kab.boundary.plot(ax=ax, color=_KAB_COLOR, linewidth=0.8, zorder=3)
        handles.append(Line2D([], [], color=_KAB_COLOR, linewidth=0.8, label=text["kabupaten"]))
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
    towers = _towers_of(assessment.coverage) if towers is None else towers
    if towers is not None and len(towers):
        pts = towers.to_crs(crs).geometry
        pts = pts[pts.notna() & ~pts.is_empty]
        pts = pts.representative_point()
        x0v, y0v, x1v, y1v = villages.total_bounds
        inside = pts.x.between(x0v, x1v) & pts.y.between(y0v, y1v)
        ax.scatter(
            pts.x[inside], pts.y[inside], s=10, marker="^", color=_TOWER_COLOR, linewidth=0,
            zorder=4,
        )  # fmt: skip
        handles.append(
            Line2D([], [], marker="^", linestyle="none", markersize=5, color=_TOWER_COLOR,
                   label=text["towers"])
        )  # fmt: skip
    site_xy = None
    links = _backhaul_links(plan)
    if links is not None:
        links = links.to_crs(crs)
        for kind, style in (("microwave", "-"), ("fibre", "--")):
            part = links[links["kind"] == kind]
            if len(part):
                part.plot(ax=ax, color=_LINK_COLOR, linewidth=1.0, linestyle=style, zorder=4)
        handles.append(Line2D([], [], color=_LINK_COLOR, linewidth=1.0, label=text["backhaul"]))
    if plan is not None and len(plan.sites):
        sites = plan.sites.to_crs(crs)
        x, y = sites.geometry.x.to_numpy(), sites.geometry.y.to_numpy()
        ax.scatter(x, y, s=28, color=_SITE_COLOR, edgecolor="white", linewidth=0.6, zorder=5)
        ranks = sites["rank"].to_numpy() if "rank" in sites.columns else np.arange(1, len(x) + 1)
        site_xy = (x, y, ranks)
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
    line = _source_line(assessment, lang) if source is None else source
    if own_figure:
        fig.supxlabel(line, fontsize=6, color="#555555", ha="right", x=0.99)
    else:
        ax.text(0.99, 0.005, line, transform=ax.transAxes, ha="right", va="bottom", fontsize=6,
                color="#555555")  # fmt: skip

    # labels last, once the layout is final, so their boxes are where they will be drawn
    fig.draw_without_rendering()
    if own_figure:
        fig.set_layout_engine("none")
    renderer = _renderer(fig)
    obstacles = []
    if kab is not None and len(kab):
        reps = kab.geometry.representative_point()
        for name, pt in zip(kab.index, reps, strict=True):
            t = ax.text(
                pt.x, pt.y, str(name).replace("Kabupaten ", "Kab. "), ha="center",
                va="center", fontsize=6.5, color=_KAB_COLOR, style="italic", zorder=6,
                gid="kabupaten-label", path_effects=[withStroke(linewidth=2, foreground="white")],
            )  # fmt: skip
            t.set_in_layout(False)
            obstacles.append(t.get_window_extent(renderer))
    if site_xy is not None:
        x, y, ranks = site_xy
        first = np.argsort(ranks, kind="stable")[:MAX_LABELLED_SITES]
        _place_labels(ax, x[first], y[first], [str(r) for r in ranks[first]], obstacles=obstacles)

    if path is not None:
        fmt = "pdf" if str(path).lower().endswith(".pdf") else "png"
        saved = _save_atomic(path, lambda tmp: fig.savefig(tmp, format=fmt, dpi=dpi))
        log.info("Wrote the map %s", saved)
    return fig


#: Blank-spot villages and blank spots on the web map are simplified by this share of the
#: map's larger side (about 100 m for Lampung's 400 km): invisible at province zoom, and the
#: demo map stays under 3 MB. The exports keep full detail.
WEB_SIMPLIFY_SHARE = 1 / 4000

#: Words of the web map, by language (labels of popups use the officials' headers)
_WEB_TEXT = {
    "en": {
        "legend": "Businesses without signal",
        "legend_weighted": "Weighted businesses without signal",
        "villages": "Blank-spot villages",
        "ranked": "Proposed sites, by rank",
        "backhaul": "Backhaul links",
        "source": "blankspot; village boundaries, businesses and coverage as given",
    },
    "id": {
        "legend": "UMKM tanpa sinyal",
        "legend_weighted": "UMKM tertimbang tanpa sinyal",
        "villages": "Desa/kelurahan blank spot",
        "ranked": "Usulan lokasi, menurut peringkat",
        "backhaul": "Sambungan backhaul",
        "source": "blankspot; batas desa, UMKM dan cakupan sinyal sesuai data masukan",
    },
}

_VILLAGE_POPUP = ["name", "village_id", "kecamatan", "kabupaten", "n_businesses", "n_uncovered",
                  "weighted_uncovered", "covered_area_share"]  # fmt: skip
_SPOT_POPUP = ["blank_spot_id", "village_id", "area_km2", "n_businesses"]
_SITE_POPUP = ["rank", "site_id", "new_businesses", "cumulative_businesses",
               "new_weighted_businesses", "village_names", "radius_m", "cost_idr",
               "cost_per_new_business", "backhaul_to", "backhaul_m", "backhaul",
               "backhaul_cost_idr"]  # fmt: skip


def _backhaul_lines(plan: Any, crs: Any) -> gpd.GeoDataFrame | None:
    """Return the backhaul links as lines: the plan's own ``backhaul`` layer, else site-to-site."""
    own = getattr(plan, "backhaul", None)
    own = getattr(own, "links", own)  # a Backhaul from rank_sites(backhaul=...)
    if isinstance(own, gpd.GeoDataFrame) and len(own):
        out = own.to_crs(crs)
        if "site_id" not in out.columns and "from_id" in out.columns:
            out = out.assign(site_id=out["from_id"])
        return out
    sites = plan.sites
    if "backhaul_to" not in sites.columns or not len(sites):
        return None
    by_id = pd.Series(sites.geometry.to_crs(crs).array, index=sites["site_id"].astype(str))
    target = sites["backhaul_to"].astype(str).map(by_id)
    ok = target.notna().to_numpy()
    if not ok.any():
        return None
    a = np.asarray(sites.geometry.to_crs(crs).array)[ok]
    b = np.asarray(target[ok].array, dtype=object)
    lines = shapely.linestrings(
        np.stack([shapely.get_coordinates(a), shapely.get_coordinates(b)], axis=1)
    )
    return gpd.GeoDataFrame({"site_id": sites["site_id"].to_numpy()[ok]}, geometry=lines, crs=crs)


@check_options
def explore_plan(
    result: Any,
    *,
    path: str | os.PathLike[str] | None = None,
    lang: str = "en",
    basemap_url: str | None = None,
    basemap_attribution: str = "",
) -> WebMap:
    """Build a web map that opens offline: blank-spot villages, blank spots and ranked sites.

    Parameters
    ----------
    result
        A ``Plan`` from :func:`blankspot.rank_sites` or an
        :class:`~blankspot.assessment.Assessment` (then no sites layer).
    path
        Write the map as one self-contained HTML file here (atomically: temporary file, then
        rename). An existing file is replaced; refusing to overwrite is the caller's decision.
    lang
        ``"en"`` or ``"id"`` (Bahasa Indonesia) for the title, legend, layer names and popups.
    basemap_url
        Optional tile URL template for a background map, e.g.
        ``"https://tile.openstreetmap.org/{z}/{x}/{y}.png"``. Off by default: the page then
        holds no network address at all. With it, the browser fetches tiles when online;
        offline the tiles fail quietly and the data is drawn all the same.
    basemap_attribution
        Attribution text of ``basemap_url`` (e.g. "© OpenStreetMap contributors").

    Returns
    -------
    WebMap
        ``.html`` (the page), ``.save(path)``; Jupyter shows it inline. Layers: blank-spot
        villages shaded by businesses without signal (the GeoPackage style's classes), blank
        spots, backhaul links (when the plan has them), site reach and sites (numbered by
        rank); a legend, a source line, a title and the ranked site list (click a site to
        zoom to it and open its popup). Every shape has a popup.

    Raises
    ------
    InputError
        ``result`` is neither a Plan nor an Assessment, or ``lang`` is unknown.

    Notes
    -----
    Leaflet 1.9.4 (BSD-2-Clause, vendored in ``blankspot/_vendor``) and the data are inlined:
    nothing is fetched, so the map works in an office without internet. Only what the map
    needs is written: the blank-spot villages and blank spots are simplified by
    ``WEB_SIMPLIFY_SHARE`` of the map's size and rounded to 1e-4 degrees (about 11 m), the
    sites to 1e-5 degrees; covered villages are left out (the exports hold everything). The
    Lampung demo map is 2.9 MB (14 MB with folium and every village before).

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
    >>> "http" in m.html.split("<script>")[-1]
    False
    """
    assessment, plan = _unpack(result)
    text = _check_lang(lang)
    crs = assessment.crs
    weighted = plan.weighted if plan is not None else assessment.weighted
    col = "weighted_uncovered" if weighted else "n_uncovered"
    villages = assessment.villages.to_crs(crs)
    x0, y0, x1, y1 = villages.total_bounds
    tol = max(x1 - x0, y1 - y0) * WEB_SIMPLIFY_SHARE if len(villages) else 0.0
    if not crs.is_projected:
        tol = 0.0  # a tolerance in degrees would not be metres: keep the shapes
    blank = (
        villages[villages["blank_spot"].to_numpy(dtype=bool)]
        if "blank_spot" in villages
        else (villages)
    )
    data = {
        "villages": layer_json(blank, _VILLAGE_POPUP, tolerance_m=tol, decimals=4),
        "spots": layer_json(
            assessment.blank_spots.to_crs(crs), _SPOT_POPUP, tolerance_m=tol, decimals=4
        ),
    }
    sites_cols = [c for c in _SITE_POPUP if weighted or "weighted" not in c]
    if plan is not None and len(plan.sites):
        sites = plan.sites.to_crs(crs)
        data["sites"] = layer_json(sites, sites_cols, tolerance_m=0.0, decimals=5)
        lines = _backhaul_lines(plan, crs)
        if lines is not None:
            data["backhaul"] = layer_json(lines, ["site_id"], tolerance_m=0.0, decimals=5)
    else:
        data["sites"] = '{"cols":[],"rows":[],"geoms":[]}'
    data["basemap"] = (
        json.dumps({"url": basemap_url, "attribution": basemap_attribution})
        if basemap_url
        else "null"
    )
    web = _WEB_TEXT[lang]
    breaks = class_breaks(villages[col].to_numpy(dtype="float64"))
    labels = {c: _i18n.header(c, lang) for c in {*_VILLAGE_POPUP, *_SPOT_POPUP, *sites_cols}}
    if lang == "en":
        labels = {c: c.replace("_", " ") for c in labels}
    words = {
        "title": text["title"] if plan is not None else text["title_assessment"],
        "legend": web["legend_weighted" if weighted else "legend"],
        "villages": web["villages"],
        "spots": text["blank_spots"],
        "sites": text["sites"],
        "reach": text["reach"],
        "backhaul": web["backhaul"],
        "ranked": web["ranked"],
        "source": web["source"],
        "value": col,
        "gain": "new_weighted_businesses" if weighted else "new_businesses",
        "breaks": breaks,
        "colours": list(ORRD5[-len(breaks) :]),
        "zero": ZERO_COLOR,
        "max_labels": MAX_LABELLED_SITES,
        "labels": labels,
        "locale": "id-ID" if lang == "id" else "en-US",
    }
    m = WebMap(build_html(data=data, text=words, lang=lang))
    if path is not None:
        saved = _save_atomic(path, m.save)
        log.info("Wrote the interactive map %s (%.1f MB)", saved, len(m.html) / 1e6)
    return m
