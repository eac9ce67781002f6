"""Static and interactive maps, on the hand-built Assessment and Plan of test_export."""

from __future__ import annotations

import dataclasses
import json
import re
from datetime import date

import matplotlib

matplotlib.use("Agg")

import matplotlib.image as mpimg
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure
from matplotlib.text import Text
from mpl_toolkits.axes_grid1.anchored_artists import AnchoredSizeBar

import geopandas as gpd
from pyproj import CRS
from shapely.geometry import Point

from blankspot import coverage
from blankspot._errors import CRSError, InputError, UnknownOptionError
from blankspot.maps import explore_plan, plot_plan
from tests.common import CRS_UTM, X0, Y0
from tests.test_export import S1, S2, make_assessment, make_plan, make_sites, to_lonlat


def sizebars(ax) -> list[AnchoredSizeBar]:
    return [a for a in ax.artists if isinstance(a, AnchoredSizeBar)]


def test_png_has_the_expected_size(tmp_path):
    path = tmp_path / "map.png"
    fig = plot_plan(make_plan(), path=path)
    assert isinstance(fig, Figure)
    # 8 x 8 inches at 150 dpi = 1200 x 1200 pixels, RGBA
    assert mpimg.imread(path).shape == (1200, 1200, 4)
    plot_plan(make_plan(), path=tmp_path / "small.png", dpi=50)
    assert mpimg.imread(tmp_path / "small.png").shape == (400, 400, 4)
    # written through a temporary file that is gone, and never registered with pyplot
    assert sorted(p.name for p in tmp_path.iterdir()) == ["map.png", "small.png"]
    assert plt.get_fignums() == []


def test_written_maps_have_normal_file_permissions(tmp_path):
    # the atomic write goes through mkstemp (mode 0600): the result must follow the umask
    import os

    umask = os.umask(0o022)
    try:
        plot_plan(make_plan(), path=tmp_path / "map.png", dpi=20)
        explore_plan(make_plan(), path=tmp_path / "map.html")
    finally:
        os.umask(umask)
    for name in ("map.png", "map.html"):
        assert (tmp_path / name).stat().st_mode & 0o777 == 0o644


def test_legend_scale_bar_north_arrow_and_ranks():
    fig = plot_plan(make_plan())
    ax = fig.axes[0]
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels == [
        "Village boundary",
        "Regency/city boundary",
        "Blank spot (no signal)",
        "Proposed site (number = rank)",
    ]
    [bar] = sizebars(ax)
    # the map is 10 m wide plus 5 % margins each side = 11 m; a fifth is 2.2 m -> 2 m
    assert bar.txt_label.get_text() == "2 m"
    texts = {t.get_text() for t in ax.texts}
    assert {"1", "2", "N"} <= texts
    assert ax.get_title() == "Blank spots and proposed tower sites"
    # the colour bar of businesses without signal
    assert fig.axes[1].get_ylabel() == "Businesses without signal"


def test_indonesian_labels_and_own_title():
    fig = plot_plan(make_plan(weighted=True), lang="id", title="Lampung")
    ax = fig.axes[0]
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels == [
        "Batas desa/kelurahan",
        "Batas kabupaten/kota",
        "Blank spot (tanpa sinyal)",
        "Usulan lokasi menara (angka = peringkat)",
    ]
    assert ax.get_title() == "Lampung"
    assert fig.axes[1].get_ylabel() == "UMKM tertimbang tanpa sinyal"


def test_only_the_first_twenty_sites_are_numbered():
    n = 25
    sites = make_sites().iloc[[0] * n].reset_index(drop=True)
    sites["rank"] = np.arange(n, 0, -1)  # given in reverse order on purpose
    sites["site_id"] = [f"S-{i:03d}" for i in range(n)]
    sites = sites.set_geometry(
        gpd.GeoSeries([Point(X0 + 0.3 * i, Y0 + 5) for i in range(n)], crs=CRS_UTM)
    )
    plan = dataclasses.replace(make_plan(), sites=sites)
    ax = plot_plan(plan).axes[0]
    numbers = sorted(int(t.get_text()) for t in ax.texts if t.get_text().isdigit())
    assert numbers == list(range(1, 21))
    assert len(ax.collections[-1].get_offsets()) == n


def test_draws_on_given_axes_and_writes_nothing(tmp_path):
    fig = Figure()
    ax = fig.add_subplot()
    assert plot_plan(make_plan(), ax=ax) is fig
    assert len(sizebars(ax)) == 1
    assert list(tmp_path.iterdir()) == []


def test_assessment_map_has_no_sites():
    ax = plot_plan(make_assessment()).axes[0]
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels == ["Village boundary", "Regency/city boundary", "Blank spot (no signal)"]
    assert ax.get_title() == "Blank spots"
    assert not any(t.get_text().isdigit() for t in ax.texts)


def test_kilometre_scale_bar_for_a_large_map():
    a = make_assessment()
    big = a.villages.copy()
    # stretch the villages 1000 times: 10 km + margins = 11 km -> 2 km
    big = big.set_geometry(big.geometry.scale(1000, 1000, origin=(X0, Y0)))
    ax = plot_plan(dataclasses.replace(a, villages=big)).axes[0]
    assert sizebars(ax)[0].txt_label.get_text() == "2 km"


def test_failed_png_write_keeps_the_old_file(tmp_path, monkeypatch):
    path = tmp_path / "map.png"
    path.write_bytes(b"old map")

    def broken(self, *args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(Figure, "savefig", broken)
    with pytest.raises(OSError, match="disk full"):
        plot_plan(make_plan(), path=path)
    assert path.read_bytes() == b"old map"
    assert [p.name for p in tmp_path.iterdir()] == ["map.png"]


# URLs inside Leaflet's own code: an XML namespace, its home page (attribution prefix, which
# the map replaces) and bug-tracker links in comments. None is ever fetched.
LEAFLET_INTERNAL_URLS = {
    "http://www.w3.org/2000/svg",
    "https://leafletjs.com",
    "https://bugs.chromium.org/p/chromium/issues/detail?id=600120",
    "https://bugzilla.mozilla.org/show_bug.cgi?id=888319",
}


def urls_in(html: str) -> set[str]:
    return set(re.findall(r"https?://[^\s\"'<>)]+", html))


def test_interactive_map_is_self_contained_and_offline(tmp_path):
    path = tmp_path / "map.html"
    m = explore_plan(make_plan(), path=path)
    html = path.read_text(encoding="utf-8")
    assert html == m.html
    # nothing to fetch: no external script, stylesheet, image or tile
    assert not re.search(r"<(script|link|img|iframe)[^>]+(src|href)=", html)
    assert urls_in(html) <= LEAFLET_INTERNAL_URLS
    assert "{z}" not in html and "tileLayer(D.basemap" in html and '"basemap":null' in html
    # Leaflet inlined with its licence notice
    assert "Leaflet 1.9.4" in html and "BSD 2-Clause License" in html
    for text in ("S-001", "S-002", "18.01.01.2004-1", "Proposed site (number = rank)",
                 "Blank spot (no signal)", "Blank-spot villages", "Site reach (radius)",
                 "L.control.layers", "Proposed sites, by rank", "Businesses without signal",
                 "Way Halim"):  # fmt: skip
        assert text in html, text
    # only blank-spot villages are drawn: V1 (covered, no blank spot) is left out
    assert "Sukamaju" not in html
    assert [p.name for p in tmp_path.iterdir()] == ["map.html"]
    assert "<iframe srcdoc=" in m._repr_html_()


def test_interactive_map_optional_basemap():
    url = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
    html = explore_plan(make_plan(), basemap_url=url, basemap_attribution="© OSM").html
    assert urls_in(html) - LEAFLET_INTERNAL_URLS == {url}


def test_interactive_map_backhaul_lines_between_sites():
    # S-002 links to S-001 (tower-1 is not a site): one line from S2 to S1
    html = explore_plan(make_plan()).html
    data = json.loads(re.search(r"var D = (\{.*?\});\n", html).group(1))
    assert data["backhaul"]["rows"] == [["S-002"]]
    [line] = data["backhaul"]["geoms"]
    lon1, lat1 = to_lonlat(*S1)
    lon2, lat2 = to_lonlat(*S2)
    np.testing.assert_allclose(line["coordinates"], [[lon2, lat2], [lon1, lat1]], atol=1e-5)


def test_interactive_map_of_an_assessment_in_indonesian():
    html = explore_plan(make_assessment(), lang="id").html
    assert "Desa/kelurahan blank spot" in html
    assert "UMKM tanpa sinyal" in html
    assert "18.01.01.2003" in html
    assert "S-001" not in html
    assert '<html lang="id">' in html


@pytest.mark.slow
def test_demo_web_map_is_under_3_mb(tmp_path, shared_data):
    from blankspot import coverage, prioritise
    from blankspot.assessment import assess
    from blankspot.sample import load_sample

    s = load_sample()
    a = assess(s["villages"], s["businesses"], coverage.from_raster(s["signal"]))
    plan = prioritise.rank_sites(a, prioritise.candidate_sites(a), radius_m=5000, k=20)
    explore_plan(plan, path=tmp_path / "map.html")
    assert (tmp_path / "map.html").stat().st_size < 3e6


# ----------------------------------------------------------------------------- static map


def label_boxes(fig, gid):
    """Display-coordinate boxes of the labels' text (an Annotation's own extent includes
    its leader line)."""
    renderer = fig.canvas.get_renderer()
    return [Text.get_window_extent(t, renderer) for t in fig.axes[0].texts if t.get_gid() == gid]


def overlapping_pairs(boxes):
    return [(i, j) for i in range(len(boxes)) for j in range(i + 1, len(boxes))
            if boxes[i].overlaps(boxes[j])]  # fmt: skip


def test_rank_labels_of_a_dense_cluster_do_not_overlap(tmp_path):
    # 20 sites within 1.2 m of each other in the middle of the 10 m map: labels at one
    # fixed offset would pile up
    n = 20
    sites = make_sites().iloc[[0] * n].reset_index(drop=True)
    sites["rank"] = np.arange(1, n + 1)
    sites["site_id"] = [f"S-{i:03d}" for i in range(n)]
    rng = np.random.default_rng(3)
    xy = rng.uniform(0, 1.2, size=(n, 2))
    sites = sites.set_geometry(
        gpd.GeoSeries([Point(X0 + 4 + a, Y0 + 4 + b) for a, b in xy], crs=CRS_UTM)
    )
    fig = plot_plan(dataclasses.replace(make_plan(), sites=sites), path=tmp_path / "m.png")
    ranks = label_boxes(fig, "rank-label")
    assert len(ranks) == n
    assert overlapping_pairs(ranks) == []
    # nor do they cover the kabupaten name
    [kab] = label_boxes(fig, "kabupaten-label")
    assert not any(b.overlaps(kab) for b in ranks)
    # a label moved away from its site is joined to it by a leader line
    moved = [t for t in fig.axes[0].texts if t.get_gid() == "rank-label" and t.arrow_patch]
    assert moved


def test_kabupaten_outlined_and_named_towers_and_source_line():
    a = make_assessment()
    v = a.villages.copy()
    v["kabupaten"] = ["Kota Bandar Lampung", "Kota Bandar Lampung", "Kabupaten Pesawaran",
                      "Kabupaten Pesawaran"]  # fmt: skip
    towers = gpd.GeoDataFrame(geometry=[Point(X0 + 1, Y0 + 9)], crs=CRS_UTM)
    cov = coverage.TowerCoverage(towers=towers, radius_m=np.array([2.0]), description="1 towers")
    a = dataclasses.replace(a, villages=v, coverage=cov)
    fig = plot_plan(make_plan(a), lang="id")
    ax = fig.axes[0]
    names = sorted(t.get_text() for t in ax.texts if t.get_gid() == "kabupaten-label")
    assert names == ["Kab. Pesawaran", "Kota Bandar Lampung"]
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "Batas kabupaten/kota" in labels and "Menara eksisting" in labels
    # the tower is drawn where it is
    tri = [c for c in ax.collections if len(c.get_offsets()) == 1
           and tuple(c.get_offsets()[0]) == (X0 + 1, Y0 + 9)]  # fmt: skip
    assert tri
    source = fig.get_supxlabel()
    assert source.startswith("Sumber: blankspot ")
    assert "cakupan sinyal: 1 menara" in source
    assert date.today().isoformat() in source


def test_print_layouts(tmp_path):
    fig = plot_plan(make_plan(), paper="A3", landscape=True, path=tmp_path / "m.pdf")
    np.testing.assert_allclose(fig.get_size_inches(), (16.54, 11.69))
    assert (tmp_path / "m.pdf").read_bytes().startswith(b"%PDF")
    plot_plan(make_plan(), paper="A4", dpi=100, path=tmp_path / "a4.png")
    # 8.27 x 11.69 inches at 100 dpi
    assert mpimg.imread(tmp_path / "a4.png").shape[:2] == (1169, 827)
    with pytest.raises(InputError, match=r"paper='Letter'.*A4, A3"):
        plot_plan(make_plan(), paper="Letter")


def test_bad_input():
    with pytest.raises(InputError, match="needs a Plan"):
        plot_plan(pd.DataFrame())
    with pytest.raises(InputError, match="needs a Plan"):
        explore_plan(make_sites())
    with pytest.raises(InputError, match=r"lang='fr'.*en, id"):
        plot_plan(make_plan(), lang="fr")
    with pytest.raises(InputError, match=r"lang='jv'"):
        explore_plan(make_plan(), lang="jv")
    with pytest.raises(UnknownOptionError, match="Did you mean 'title'"):
        plot_plan(make_plan(), titel="x")
    geographic = dataclasses.replace(make_assessment(), crs=CRS("EPSG:4326"))
    with pytest.raises(CRSError, match="not projected"):
        plot_plan(geographic)
