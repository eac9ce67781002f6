"""A self-contained HTML web map: Leaflet (vendored, BSD-2) and the data inlined, no network.

The page draws on a canvas from data embedded as compact JSON (columns + rows + GeoJSON
geometries, WGS84 rounded to what the simplification keeps); a basemap is an option the
caller turns on with a tile URL template, and drawing never waits for it.
"""

from __future__ import annotations

import html as _html
import json
from importlib import resources
from typing import Any

import numpy as np
import pandas as pd

import geopandas as gpd
import shapely

__all__ = ["WebMap", "build_html", "layer_json"]


class WebMap:
    """A finished web map: ``.html`` (the whole page), ``.save(path)``, shown inline by Jupyter.

    In a notebook the map is shown in a sandboxed frame; to keep executed notebooks small,
    save it and link to the file instead of displaying a large one.
    """

    def __init__(self, html: str) -> None:
        self.html = html

    def save(self, path: Any) -> None:
        """Write the page to ``path`` (UTF-8)."""
        with open(path, "w", encoding="utf-8") as fh:
            fh.write(self.html)

    def _repr_html_(self) -> str:
        return (
            f'<iframe srcdoc="{_html.escape(self.html, quote=True)}" '
            'style="width:100%;height:600px;border:none" sandbox="allow-scripts"></iframe>'
        )

    def __repr__(self) -> str:
        return f"<WebMap: {len(self.html.encode('utf-8')):,} bytes of self-contained HTML>"


def _vendor(name: str) -> str:
    return resources.files("blankspot").joinpath("_vendor", "leaflet", name).read_text("utf-8")


def layer_json(
    gdf: gpd.GeoDataFrame, columns: list[str], *, tolerance_m: float, decimals: int
) -> str:
    """Encode a layer as ``{"cols": [...], "rows": [[...]], "geoms": [GeoJSON, ...]}``.

    Geometries are simplified in the layer's (projected) CRS by ``tolerance_m``, brought to
    WGS84 and rounded to ``decimals``; rows whose geometry vanishes are dropped. All of it
    with shapely's array functions: no loop over rows.
    """
    out = gdf.reset_index() if gdf.index.name and gdf.index.name not in gdf.columns else gdf
    keep = [c for c in dict.fromkeys(columns) if c in out.columns]
    geoms = np.asarray(out.geometry.array)
    if tolerance_m > 0:
        geoms = shapely.simplify(geoms, tolerance_m, preserve_topology=True)
    ll = gpd.GeoSeries(geoms, crs=out.crs).to_crs("EPSG:4326").array
    ll = shapely.transform(np.asarray(ll), lambda xy: np.round(xy, decimals))
    ok = ~(shapely.is_missing(ll) | shapely.is_empty(ll))
    table = pd.DataFrame(out[keep]).loc[ok]
    for c in keep:
        s = table[c]
        if s.dtype == object or isinstance(s.dtype, pd.StringDtype | pd.CategoricalDtype):
            table[c] = s.astype("str").where(s.notna(), None)
        elif pd.api.types.is_float_dtype(s.dtype):
            table[c] = s.round(6)
    rows = table.to_json(orient="values", force_ascii=False)
    geo = ",".join(shapely.to_geojson(ll[ok]).tolist())
    return f'{{"cols":{json.dumps(keep)},"rows":{rows},"geoms":[{geo}]}}'


_PAGE = """<!DOCTYPE html>
<html lang="{lang}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<!-- Leaflet 1.9.4, BSD-2-Clause licence:
{licence}
-->
<style>{leaflet_css}</style>
<style>
html,body,#map{{height:100%;margin:0;font:13px/1.35 sans-serif}}
.bs-box{{background:#fff;padding:6px 8px;border-radius:4px;box-shadow:0 1px 4px rgba(0,0,0,.3)}}
.bs-box h4{{margin:0 0 4px;font-size:14px}}
.bs-sw{{display:inline-block;width:14px;height:10px;margin-right:5px;border:1px solid #999}}
.bs-list{{max-height:45vh;overflow-y:auto;margin:0;padding-left:0;list-style:none}}
.bs-list li{{cursor:pointer;padding:1px 0}} .bs-list li:hover{{background:#eef}}
.bs-rank{{background:none;border:none;box-shadow:none;color:#1f3b99;font-weight:bold;
text-shadow:-1px -1px 0 #fff,1px -1px 0 #fff,-1px 1px 0 #fff,1px 1px 0 #fff}}
.bs-rank::before{{display:none}}
.bs-pop td{{padding:0 6px 0 0;vertical-align:top}}
</style></head>
<body><div id="map"></div>
<script>{leaflet_js}</script>
<script>
var D = {data};
var T = {text};
var map = L.map("map", {{preferCanvas: true, attributionControl: true}});
map.attributionControl.setPrefix("Leaflet (BSD-2)");
if (D.basemap) {{
  L.tileLayer(D.basemap.url, {{attribution: D.basemap.attribution, maxZoom: 18}}).addTo(map);
}}
function rowsOf(layer) {{
  return layer.geoms.map(function (g, i) {{
    var p = {{}};
    layer.cols.forEach(function (c, j) {{ p[c] = layer.rows[i][j]; }});
    return {{type: "Feature", geometry: g, properties: p}};
  }});
}}
function fmt(v) {{
  if (v === null || v === undefined) return "";
  if (typeof v === "number") return v.toLocaleString(T.locale, {{maximumFractionDigits: 2}});
  return String(v);
}}
function popup(p, cols) {{
  var h = "<table class='bs-pop'>";
  cols.forEach(function (c) {{
    if (p[c] !== undefined && p[c] !== null && p[c] !== "")
      h += "<tr><td>" + (T.labels[c] || c) + "</td><td><b>" + fmt(p[c]) + "</b></td></tr>";
  }});
  return h + "</table>";
}}
function colour(v) {{
  if (!(v > 0)) return T.zero;
  for (var i = 0; i < T.breaks.length; i++) if (v <= T.breaks[i]) return T.colours[i];
  return T.colours[T.colours.length - 1];
}}
var overlays = {{}}, bounds = null;
function add(name, layer, fit) {{
  layer.addTo(map); overlays[name] = layer;
  // a circle knows its bounds only once the map has a view: fit to the other layers
  var b = fit === false ? null : layer.getBounds();
  if (b && b.isValid())
    bounds = bounds ? bounds.extend(b) : L.latLngBounds(b.getSouthWest(), b.getNorthEast());
}}
if (D.villages.geoms.length) add(T.villages, L.geoJSON(rowsOf(D.villages), {{
  style: function (f) {{ return {{color: "#777", weight: 0.6, fillOpacity: 0.7,
    fillColor: colour(f.properties[T.value])}}; }},
  onEachFeature: function (f, l) {{ l.bindPopup(popup(f.properties, D.villages.cols)); }}
}}));
if (D.spots.geoms.length) add(T.spots, L.geoJSON(rowsOf(D.spots), {{
  style: {{color: "#444", weight: 1, dashArray: "4 3", fillOpacity: 0.15, fillColor: "#444"}},
  onEachFeature: function (f, l) {{ l.bindPopup(popup(f.properties, D.spots.cols)); }}
}}));
if (D.backhaul && D.backhaul.geoms.length) add(T.backhaul, L.geoJSON(rowsOf(D.backhaul), {{
  style: {{color: "#6a3d9a", weight: 2, dashArray: "6 4"}}
}}));
var markers = {{}};
if (D.sites.geoms.length) {{
  var reach = L.featureGroup(), sites = L.featureGroup();
  rowsOf(D.sites).forEach(function (f) {{
    var ll = [f.geometry.coordinates[1], f.geometry.coordinates[0]], p = f.properties;
    if (p.radius_m > 0) L.circle(ll, {{radius: p.radius_m, color: "#1f3b99", weight: 1,
      fillOpacity: 0.05, interactive: false}}).addTo(reach);
    var m = L.circleMarker(ll, {{radius: 6, color: "#fff", weight: 1, fillColor: "#1f3b99",
      fillOpacity: 0.95}}).bindPopup(popup(p, D.sites.cols));
    if (p.rank <= T.max_labels) m.bindTooltip(String(p.rank), {{permanent: true,
      direction: "right", className: "bs-rank", offset: [4, 0]}});
    m.addTo(sites); markers[p.rank] = m;
  }});
  add(T.reach, reach, false); add(T.sites, sites);
}}
if (bounds) map.fitBounds(bounds, {{padding: [10, 10]}}); else map.setView([0, 0], 2);
L.control.layers(null, overlays, {{collapsed: false}}).addTo(map);
var legend = L.control({{position: "bottomleft"}});
legend.onAdd = function () {{
  var d = L.DomUtil.create("div", "bs-box"), h = "<h4>" + T.legend + "</h4>";
  h += "<div><span class='bs-sw' style='background:" + T.zero + "'></span>0</div>";
  var lo = 0;
  T.breaks.forEach(function (b, i) {{
    h += "<div><span class='bs-sw' style='background:" + T.colours[i] + "'></span>" +
      fmt(lo) + " - " + fmt(b) + "</div>"; lo = b;
  }});
  h += "<div><span class='bs-sw' style='background:rgba(68,68,68,.15);border:1px dashed #444'>" +
    "</span>" + T.spots + "</div>";
  if (D.sites.geoms.length) h += "<div><span class='bs-sw' style='background:#1f3b99;" +
    "border-radius:7px;width:10px'></span>" + T.sites + "</div>";
  h += "<div style='margin-top:4px;color:#555'>" + T.source + "</div>";
  d.innerHTML = h; return d;
}};
legend.addTo(map);
if (D.sites.geoms.length) {{
  var list = L.control({{position: "topleft"}});
  list.onAdd = function () {{
    var d = L.DomUtil.create("div", "bs-box"), h = "<h4>" + T.ranked + "</h4><ol class='bs-list'>";
    rowsOf(D.sites).forEach(function (f) {{
      var p = f.properties;
      h += "<li data-rank='" + p.rank + "'>" + p.rank + ". " + p.site_id + " +" +
        fmt(p[T.gain]) + "</li>";
    }});
    d.innerHTML = h + "</ol>";
    L.DomEvent.disableClickPropagation(d); L.DomEvent.disableScrollPropagation(d);
    d.querySelectorAll("li").forEach(function (li) {{
      li.onclick = function () {{
        var m = markers[li.getAttribute("data-rank")];
        map.setView(m.getLatLng(), Math.max(map.getZoom(), 11)); m.openPopup();
      }};
    }});
    return d;
  }};
  list.addTo(map);
}}
var title = L.control({{position: "topright"}});
title.onAdd = function () {{
  var d = L.DomUtil.create("div", "bs-box"); d.innerHTML = "<h4>" + T.title + "</h4>"; return d;
}};
title.addTo(map);
</script></body></html>
"""


def build_html(*, data: dict[str, str], text: dict[str, Any], lang: str) -> str:
    """Assemble the page: Leaflet inlined, ``data`` (JSON strings by layer), ``text`` (labels)."""
    payload = "{" + ",".join(f'"{k}":{v}' for k, v in data.items()) + "}"
    # "</" inside inlined JSON would end the script element early
    payload = payload.replace("</", "<\\/")
    return _PAGE.format(
        lang=lang,
        title=_html.escape(text["title"]),
        licence=_vendor("LICENSE").replace("--", "- -"),
        leaflet_css=_vendor("leaflet.css"),
        leaflet_js=_vendor("leaflet.js"),
        data=payload,
        text=json.dumps(text, ensure_ascii=False).replace("</", "<\\/"),
    )
