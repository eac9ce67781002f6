"""QGIS styles (QML, plus an SLD for other tools) for the GeoPackage's ``layer_styles`` table.

QGIS opens a GeoPackage layer with the style whose ``useAsDefault`` is true in the
``layer_styles`` table (the layout QGIS itself writes: ``f_table_name``, ``styleName``,
``styleQML``, ``styleSLD``, ...). Each style here is built from the layer's own data (class
breaks of the counts) and only names columns the layer has.
"""

from __future__ import annotations

from collections.abc import Sequence
from xml.sax.saxutils import escape, quoteattr

import numpy as np

__all__ = ["categorized_style", "class_breaks", "graduated_style", "labelled_points_style"]

#: ColorBrewer OrRd, 5 classes (the static map's colour map), and a pale grey for zero
ORRD5 = ("#fdd49e", "#fdbb84", "#fc8d59", "#e34a33", "#b30000")
ZERO_COLOR = "#f7f7f7"
OUTLINE = "#999999"
SITE_COLOR = "#1f3b99"

_QML_HEAD = "<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>\n"
_SLD_HEAD = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<StyledLayerDescriptor version="1.1.0" xmlns="http://www.opengis.net/sld" '
    'xmlns:se="http://www.opengis.net/se" xmlns:ogc="http://www.opengis.net/ogc">'
)


def class_breaks(values: Sequence[float] | np.ndarray, n_classes: int = 5) -> list[float]:
    """Return the upper bounds of up to ``n_classes`` quantile classes of the positive values.

    Whole numbers for counts: the bounds are rounded up to integers when every value is one.

    >>> class_breaks([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10])
    [3.0, 5.0, 7.0, 9.0, 10.0]
    >>> class_breaks([0, 0])
    [1.0]
    """
    v = np.asarray(values, dtype="float64")
    v = v[np.isfinite(v) & (v > 0)]
    if not len(v):
        return [1.0]
    q = np.quantile(v, np.linspace(0, 1, n_classes + 1)[1:])
    if np.all(v == np.round(v)):
        q = np.ceil(q)
    return [float(b) for b in np.unique(q)]


def _rgba(hex_color: str, alpha: int = 255) -> str:
    h = hex_color.lstrip("#")
    return ",".join(str(int(h[i : i + 2], 16)) for i in (0, 2, 4)) + f",{alpha}"


def _props(props: dict[str, str]) -> str:
    """Symbol-layer properties in both forms QGIS 3 reads (``Option`` map and ``prop``)."""
    opts = "".join(
        f'<Option type="QString" name={quoteattr(k)} value={quoteattr(v)}/>'
        for k, v in props.items()
    )
    old = "".join(f"<prop k={quoteattr(k)} v={quoteattr(v)}/>" for k, v in props.items())
    return f'<Option type="Map">{opts}</Option>{old}'


def _fill_symbol(name: str, color: str, *, alpha: int = 255, outline: str = OUTLINE) -> str:
    props = {
        "color": _rgba(color, alpha),
        "outline_color": _rgba(outline),
        "outline_style": "solid",
        "outline_width": "0.1",
        "outline_width_unit": "MM",
        "style": "solid",
    }
    return (
        f'<symbol type="fill" name={quoteattr(name)} alpha="1" clip_to_extent="1" force_rhr="0">'
        f'<layer class="SimpleFill" enabled="1" pass="0" locked="0">{_props(props)}</layer>'
        "</symbol>"
    )


def _marker_symbol(name: str, color: str, *, size_mm: float = 3.0) -> str:
    props = {
        "color": _rgba(color),
        "name": "circle",
        "outline_color": "255,255,255,255",
        "outline_style": "solid",
        "outline_width": "0.4",
        "outline_width_unit": "MM",
        "size": f"{size_mm:g}",
        "size_unit": "MM",
    }
    return (
        f'<symbol type="marker" name={quoteattr(name)} alpha="1" clip_to_extent="1" '
        f'force_rhr="0"><layer class="SimpleMarker" enabled="1" pass="0" locked="0">'
        f"{_props(props)}</layer></symbol>"
    )


def _label(field: str, color: str) -> str:
    return (
        '<labeling type="simple"><settings calloutType="simple">'
        f'<text-style fieldName={quoteattr(field)} isExpression="0" fontSize="9" '
        f'fontWeight="75" fontSizeUnit="Point" textColor="{_rgba(color)}" textOpacity="1"/>'
        '<text-buffer bufferDraw="1" bufferSize="1" bufferSizeUnits="MM" '
        'bufferColor="255,255,255,255" bufferOpacity="1"/>'
        '<placement placement="6" dist="1" distUnits="MM" priority="10"/>'
        '<rendering obstacle="1" scaleVisibility="0" displayAll="1"/>'
        "</settings></labeling>"
    )


def _qml(renderer: str, *, geometry_type: int, labeling: str = "") -> str:
    labels_on = "1" if labeling else "0"
    return (
        f'{_QML_HEAD}<qgis version="3.28.0" styleCategories="Symbology|Labeling" '
        f'labelsEnabled="{labels_on}">{renderer}{labeling}'
        f"<layerGeometryType>{geometry_type}</layerGeometryType></qgis>\n"
    )


def _sld(layer: str, rules: list[str]) -> str:
    return (
        f"{_SLD_HEAD}<NamedLayer><se:Name>{escape(layer)}</se:Name><UserStyle>"
        f"<se:Name>{escape(layer)}</se:Name><se:FeatureTypeStyle>{''.join(rules)}"
        "</se:FeatureTypeStyle></UserStyle></NamedLayer></StyledLayerDescriptor>\n"
    )


def _sld_filter_between(field: str, lower: float, upper: float, first: bool) -> str:
    low_op = "PropertyIsGreaterThanOrEqualTo" if first else "PropertyIsGreaterThan"
    return (
        f"<ogc:Filter><ogc:And><ogc:{low_op}><ogc:PropertyName>{escape(field)}</ogc:PropertyName>"
        f"<ogc:Literal>{lower:g}</ogc:Literal></ogc:{low_op}>"
        f"<ogc:PropertyIsLessThanOrEqualTo><ogc:PropertyName>{escape(field)}</ogc:PropertyName>"
        f"<ogc:Literal>{upper:g}</ogc:Literal></ogc:PropertyIsLessThanOrEqualTo></ogc:And>"
        "</ogc:Filter>"
    )


def graduated_style(
    layer: str, field: str, values: Sequence[float] | np.ndarray, *, alpha: int = 255
) -> tuple[str, str]:
    """QML and SLD shading polygons by ``field``: a pale class for 0, then OrRd classes.

    Returns
    -------
    tuple of str
        ``(qml, sld)``.
    """
    breaks = class_breaks(values)
    bounds = [(0.0, 0.0), *zip([0.0, *breaks[:-1]], breaks, strict=True)]
    colors = [ZERO_COLOR, *ORRD5[-len(breaks) :]] if len(breaks) < 5 else [ZERO_COLOR, *ORRD5]
    ranges, symbols, rules = [], [], []
    for i, ((lo, hi), color) in enumerate(zip(bounds, colors, strict=True)):
        label = "0" if i == 0 else f"{lo:,.6g} - {hi:,.6g}"
        ranges.append(
            f'<range lower="{lo:.6f}" upper="{hi:.6f}" symbol="{i}" label={quoteattr(label)} '
            'render="true"/>'
        )
        symbols.append(_fill_symbol(str(i), color, alpha=alpha))
        rules.append(
            f"<se:Rule><se:Name>{escape(label)}</se:Name>"
            f"{_sld_filter_between(field, lo, hi, i == 0)}<se:PolygonSymbolizer><se:Fill>"
            f'<se:SvgParameter name="fill">{color}</se:SvgParameter>'
            f'<se:SvgParameter name="fill-opacity">{alpha / 255:.2f}</se:SvgParameter></se:Fill>'
            f'<se:Stroke><se:SvgParameter name="stroke">{OUTLINE}</se:SvgParameter>'
            '<se:SvgParameter name="stroke-width">0.5</se:SvgParameter></se:Stroke>'
            "</se:PolygonSymbolizer></se:Rule>"
        )
    renderer = (
        f'<renderer-v2 type="graduatedSymbol" attr={quoteattr(field)} '
        'graduatedMethod="GraduatedColor" symbollevels="0" forceraster="0" enableorderby="0">'
        f"<ranges>{''.join(ranges)}</ranges><symbols>{''.join(symbols)}</symbols>"
        "</renderer-v2>"
    )
    return _qml(renderer, geometry_type=2), _sld(layer, rules)


def labelled_points_style(layer: str, label_field: str) -> tuple[str, str]:
    """QML and SLD drawing points as blue dots labelled with ``label_field`` (the rank)."""
    renderer = (
        '<renderer-v2 type="singleSymbol" symbollevels="0" forceraster="0" enableorderby="0">'
        f"<symbols>{_marker_symbol('0', SITE_COLOR)}</symbols></renderer-v2>"
    )
    rule = (
        f"<se:Rule><se:Name>{escape(layer)}</se:Name><se:PointSymbolizer><se:Graphic><se:Mark>"
        f"<se:WellKnownName>circle</se:WellKnownName><se:Fill>"
        f'<se:SvgParameter name="fill">{SITE_COLOR}</se:SvgParameter></se:Fill>'
        '<se:Stroke><se:SvgParameter name="stroke">#ffffff</se:SvgParameter></se:Stroke>'
        "</se:Mark><se:Size>11</se:Size></se:Graphic></se:PointSymbolizer>"
        f"<se:TextSymbolizer><se:Label><ogc:PropertyName>{escape(label_field)}"
        "</ogc:PropertyName></se:Label><se:Halo><se:Radius>1</se:Radius></se:Halo>"
        f'<se:Fill><se:SvgParameter name="fill">{SITE_COLOR}</se:SvgParameter></se:Fill>'
        "</se:TextSymbolizer></se:Rule>"
    )
    qml = _qml(renderer, geometry_type=0, labeling=_label(label_field, SITE_COLOR))
    return qml, _sld(layer, [rule])


def categorized_style(
    layer: str, field: str, categories: dict[str, tuple[str, str]], *, size_mm: float = 1.2
) -> tuple[str, str]:
    """QML and SLD colouring points by the value of ``field``: ``{value: (label, colour)}``."""
    cats, symbols, rules = [], [], []
    for i, (value, (label, color)) in enumerate(categories.items()):
        cats.append(
            f'<category value={quoteattr(value)} symbol="{i}" label={quoteattr(label)} '
            'render="true"/>'
        )
        symbols.append(_marker_symbol(str(i), color, size_mm=size_mm))
        rules.append(
            f"<se:Rule><se:Name>{escape(label)}</se:Name><ogc:Filter><ogc:PropertyIsEqualTo>"
            f"<ogc:PropertyName>{escape(field)}</ogc:PropertyName><ogc:Literal>{escape(value)}"
            "</ogc:Literal></ogc:PropertyIsEqualTo></ogc:Filter><se:PointSymbolizer>"
            "<se:Graphic><se:Mark><se:WellKnownName>circle</se:WellKnownName><se:Fill>"
            f'<se:SvgParameter name="fill">{color}</se:SvgParameter></se:Fill></se:Mark>'
            "<se:Size>4</se:Size></se:Graphic></se:PointSymbolizer></se:Rule>"
        )
    renderer = (
        f'<renderer-v2 type="categorizedSymbol" attr={quoteattr(field)} symbollevels="0" '
        f'forceraster="0" enableorderby="0"><categories>{"".join(cats)}</categories>'
        f"<symbols>{''.join(symbols)}</symbols></renderer-v2>"
    )
    return _qml(renderer, geometry_type=0), _sld(layer, rules)
