"""Static and interactive maps, on the hand-built Assessment and Plan of test_export."""

from __future__ import annotations

import dataclasses

import matplotlib

matplotlib.use("Agg")

import folium
import matplotlib.image as mpimg
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure
from mpl_toolkits.axes_grid1.anchored_artists import AnchoredSizeBar

import geopandas as gpd
from pyproj import CRS
from shapely.geometry import Point

from blankspot._errors import CRSError, InputError, UnknownOptionError
from blankspot.maps import explore_plan, plot_plan
from tests.common import CRS_UTM, X0, Y0
from tests.test_export import make_assessment, make_plan, make_sites


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
    assert labels == ["Village boundary", "Blank spot (no signal)"]
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


def test_interactive_map_html(tmp_path):
    path = tmp_path / "map.html"
    m = explore_plan(make_plan(), path=path)
    assert isinstance(m, folium.Map)
    html = path.read_text(encoding="utf-8")
    for text in ("S-001", "S-002", "18.01.01.2004-1", "Proposed site (number = rank)",
                 "Blank spot (no signal)", "Village boundary", "Site reach (radius)",
                 "L.control.layers"):  # fmt: skip
        assert text in html, text
    assert [p.name for p in tmp_path.iterdir()] == ["map.html"]


def test_interactive_map_of_an_assessment_in_indonesian():
    m = explore_plan(make_assessment(), lang="id")
    html = m.get_root().render()
    assert "Batas desa/kelurahan" in html
    assert "18.01.01.2003" in html
    assert "S-001" not in html


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
