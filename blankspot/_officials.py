"""The officials' tables of :func:`blankspot.export`: the ranked list as CSV and Excel.

English headers are the stable code names; ``lang="id"`` gives Bahasa Indonesia headers,
sheet names, values (method, status, yes/no, backhaul targets) and notes. The Excel workbook
has a bold, frozen header row, a number format per column, a summary and a sheet that
explains in plain words how the sites were chosen and what the bound means.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter

import geopandas as gpd

from blankspot import _i18n
from blankspot._errors import InputError
from blankspot._validate import require_crs
from blankspot.assessment import Assessment

__all__ = ["official_tables", "write_csv", "write_xlsx"]

_SITE_COLUMNS = (
    "rank",
    "year",
    "site_id",
    "longitude",
    "latitude",
    "kabupaten",
    "kecamatan",
    "village_id",
    "village_name",
    "villages_reached",
    "village_ids",
    "village_names",
    "new_businesses",
    "cumulative_businesses",
    "cumulative_share",
    "new_weighted_businesses",
    "cumulative_weighted_businesses",
    "cumulative_weighted_share",
    "radius_m",
    "cost_idr",
    "cost_per_new_business",
    "backhaul_to",
    "backhaul_m",
    "backhaul",
    "backhaul_hops",
    "backhaul_cost_idr",
    "backhaul_note",
)

_VILLAGE_COLUMNS = (
    "rank",
    "village_id",
    "village_name",
    "kecamatan",
    "kabupaten",
    "longitude",
    "latitude",
    "n_businesses",
    "n_covered",
    "n_uncovered",
    "uncovered_share",
    "weighted_uncovered",
    "area_km2",
    "covered_area_share",
    "blank_spot_area_km2",
    "blank_spot",
    "score",
)

_SHEETS = {
    "en": {
        "sites": "priority_sites",
        "villages": "villages",
        "years": "per_year",
        "summary": "summary",
        "method": "method",
        "provinces": "per_province",
        "province_sites": "per_province_sites",
    },
    "id": {
        "sites": "Prioritas Lokasi",
        "villages": "Desa",
        "years": "Per Tahun",
        "summary": "Ringkasan",
        "method": "Metode",
        "provinces": "Per Provinsi",
        "province_sites": "Lokasi per Provinsi",
    },
}
_SUMMARY_HEADERS = {"en": ("item", "value"), "id": ("Butir", "Nilai")}
_YES_NO = {"en": ("yes", "no"), "id": ("ya", "tidak")}

# summary rows: code -> (English label, Indonesian label, Excel number format)
_SUMMARY_ROWS = {
    "villages": ("Villages assessed", "Desa/kelurahan dinilai", "#,##0"),
    "blank_spot_villages": ("Blank-spot villages", "Desa/kelurahan blank spot", "#,##0"),
    "blank_spot_areas": ("Blank-spot areas (polygons)", "Area blank spot (poligon)", "#,##0"),
    "businesses_input": ("Businesses in the input", "UMKM dalam data masukan", "#,##0"),
    "businesses_covered": ("Businesses with signal", "UMKM bersinyal", "#,##0"),
    "businesses_uncovered": ("Businesses without signal", "UMKM tanpa sinyal", "#,##0"),
    "businesses_outside": (
        "Businesses outside every village",
        "UMKM di luar semua desa/kelurahan",
        "#,##0",
    ),
    "businesses_rejected": (
        "Businesses rejected (unusable coordinates)",
        "UMKM ditolak (koordinat tidak dapat dipakai)",
        "#,##0",
    ),
    "businesses_unmatched": (
        "Businesses whose village name matched no village",
        "UMKM yang nama desanya tidak cocok",
        "#,##0",
    ),
    "uncovered_share": (
        "Share of businesses in villages without signal",
        "Pangsa UMKM di desa/kelurahan tanpa sinyal",
        "0.0%",
    ),
    "weight_col": ("Business weight column", "Kolom bobot UMKM", "@"),
    "coverage": ("Coverage source", "Sumber data cakupan sinyal", "@"),
    "crs": ("Working CRS", "CRS kerja", "@"),
    "notes": ("Notes", "Catatan", "@"),
    "sites": ("Sites in the plan", "Lokasi dalam rencana", "#,##0"),
    "method": ("Ranking method", "Metode pemeringkatan", "@"),
    "objective": ("Businesses newly connected", "UMKM baru terlayani", "#,##0"),
    "total_uncovered": ("Businesses to connect", "UMKM yang perlu dilayani", "#,##0"),
    "connected_share": ("Share connected by the plan", "Pangsa terlayani oleh rencana", "0.0%"),
    "upper_bound": (
        "Upper bound on businesses connected",
        "Batas atas UMKM terlayani",
        "#,##0",
    ),
    "gap": ("Optimality gap", "Celah optimalitas", "0.00%"),
    "unreachable": (
        "Businesses no candidate site reaches",
        "UMKM yang tidak terjangkau lokasi kandidat mana pun",
        "#,##0",
    ),
    "total_cost_idr": ("Total cost (Rp)", "Total biaya (Rp)", "#,##0"),
    "backhaul_cost_idr": (
        "Backhaul cost, shared links once (Rp)",
        "Biaya backhaul, tautan bersama dihitung sekali (Rp)",
        "#,##0",
    ),
    "bound": ("How good the plan is", "Seberapa baik rencana ini", "@"),
    "message": ("Note on the plan", "Keterangan rencana", "@"),
}
_SUMMARY_WEIGHTED = {
    "objective": ("Weighted businesses newly connected", "UMKM tertimbang baru terlayani"),
    "total_uncovered": ("Weighted businesses to connect", "UMKM tertimbang yang perlu dilayani"),
    "upper_bound": (
        "Upper bound on weighted businesses connected",
        "Batas atas UMKM tertimbang terlayani",
    ),
    "unreachable": (
        "Weighted businesses no candidate site reaches",
        "UMKM tertimbang yang tidak terjangkau lokasi kandidat mana pun",
    ),
}

# Excel number formats by code name; counts get theirs from their dtype
_NUMBER_FORMATS = {
    "longitude": "0.000000",
    "latitude": "0.000000",
    "cost_idr": "#,##0",
    "budget_idr": "#,##0",
    "spent_idr": "#,##0",
    "leftover_idr": "#,##0",
    "year": "0",
    "cost_per_new_business": "#,##0",
    "cumulative_share": "0.0%",
    "cumulative_weighted_share": "0.0%",
    "uncovered_share": "0.0%",
    "covered_area_share": "0.0%",
    "radius_m": "#,##0",
    "backhaul_m": "#,##0",
    "backhaul_cost_idr": "#,##0",
    "area_km2": "#,##0.00",
    "blank_spot_area_km2": "#,##0.00",
}
#: shares (0-1) shown as percentages
_SHARE_SUFFIX = "_share"


# --------------------------------------------------------------------------- officials' tables


def _lonlat(geoms: gpd.GeoSeries) -> tuple[np.ndarray, np.ndarray]:
    """WGS84 longitude/latitude of points, rounded to 6 decimals (about 0.1 m)."""
    ll = geoms.to_crs("EPSG:4326")
    return np.round(ll.x.to_numpy(), 6), np.round(ll.y.to_numpy(), 6)


def _whole_rupiah(s: pd.Series) -> pd.Series:
    """Round to whole Rupiah; unknown or infinite costs (no new business) become blank."""
    values = np.round(s.to_numpy(dtype="float64"))
    out = pd.Series(np.where(np.isfinite(values), values, 0), index=s.index).astype("Int64")
    return out.mask(~np.isfinite(values))


def _site_table(plan: Any, assessment: Assessment) -> pd.DataFrame:
    sites = plan.sites
    missing = [c for c in ("rank", "site_id") if c not in sites.columns]
    if missing:
        raise InputError(
            f"plan.sites has no {', '.join(missing)} column(s); build the plan with "
            "blankspot.rank_sites."
        )
    require_crs(sites.crs, what="plan.sites")
    t = pd.DataFrame(index=sites.index)
    lon, lat = _lonlat(sites.geometry)
    for col in _SITE_COLUMNS:
        if col == "longitude":
            t[col] = lon
        elif col == "latitude":
            t[col] = lat
        elif col == "village_name":
            if "village_id" in sites.columns and "name" in assessment.villages.columns:
                t[col] = sites["village_id"].map(assessment.villages["name"])
        elif col in sites.columns:
            t[col] = sites[col]
    for col in ("cost_idr", "cost_per_new_business", "backhaul_cost_idr"):
        if col in t.columns:
            t[col] = _whole_rupiah(t[col])
    if not plan.weighted:
        t = t.drop(columns=[c for c in t.columns if "weighted" in c])
    return _round_for_officials(t).reset_index(drop=True)


def _round_for_officials(t: pd.DataFrame) -> pd.DataFrame:
    """Round shares to 4 decimals (0.01 %) and metres to whole metres."""
    for col in t.columns:
        if not pd.api.types.is_float_dtype(t[col].dtype):
            continue
        if col.endswith("_share"):
            t[col] = t[col].round(4)
        elif col.endswith("_m"):
            t[col] = t[col].round(0)
    return t


def _village_table(villages: gpd.GeoDataFrame, *, weighted: bool) -> pd.DataFrame:
    pts = villages.geometry.representative_point()
    lon, lat = _lonlat(pts)
    t = pd.DataFrame(index=villages.index)
    for col in _VILLAGE_COLUMNS:
        if col == "village_id":
            t[col] = villages.index.astype(str)
        elif col == "village_name":
            if "name" in villages.columns:
                t[col] = villages["name"]
        elif col == "longitude":
            t[col] = lon
        elif col == "latitude":
            t[col] = lat
        elif col == "weighted_uncovered" and not weighted:
            continue
        elif col in villages.columns:
            t[col] = villages[col]
    if "rank" in t.columns:
        t = t.sort_values("rank", kind="stable")
    return _round_for_officials(t).reset_index(drop=True)


def _summary_table(assessment: Assessment, plan: Any | None, lang: str) -> pd.DataFrame:
    acc = assessment.accounting
    v = assessment.villages
    in_villages = acc["covered"] + acc["uncovered"]
    tr = _i18n.translate_message
    rows: dict[str, Any] = {
        "villages": len(v),
        "blank_spot_villages": int(v["blank_spot"].sum()) if "blank_spot" in v else None,
        "blank_spot_areas": len(assessment.blank_spots),
        "businesses_input": acc["input"],
        "businesses_covered": acc["covered"],
        "businesses_uncovered": acc["uncovered"],
        "businesses_outside": acc["outside_villages"],
        "businesses_rejected": acc["rejected"],
        "businesses_unmatched": acc.get("unmatched", 0),
        "uncovered_share": acc["uncovered"] / in_villages if in_villages else None,
        "weight_col": assessment.weight_col,
        "coverage": tr(getattr(assessment.coverage, "description", None), lang),
        "crs": assessment.crs.to_string(),
        "notes": tr(" ".join(assessment.notes), lang) or None,
    }
    if plan is not None:
        sites = plan.sites
        cost = sites["cost_idr"] if "cost_idr" in sites.columns else pd.Series(dtype=float)
        rows |= {
            "sites": len(sites),
            "method": _i18n.translate_value("method", plan.method, lang),
            "objective": plan.objective,
            "total_uncovered": plan.total_uncovered,
            "connected_share": plan.objective / plan.total_uncovered
            if plan.total_uncovered
            else None,
            "upper_bound": plan.upper_bound,
            "gap": getattr(plan, "gap", None),
            "bound": _i18n.bound_sentence(plan, lang) if hasattr(plan, "gap") else None,
            "unreachable": getattr(plan, "unreachable", None),
            "total_cost_idr": float(cost.sum()) if cost.notna().any() else None,
            "backhaul_cost_idr": plan.backhaul.total_cost_idr
            if getattr(plan, "backhaul", None) is not None
            else None,
            "message": tr(plan.message, lang) or None,
        }
    weighted = plan is not None and bool(plan.weighted)
    keep = [k for k, val in rows.items() if val is not None]
    pos = 0 if lang == "en" else 1
    labels = [
        (
            _SUMMARY_WEIGHTED[k][pos]
            if weighted and k in _SUMMARY_WEIGHTED
            else _SUMMARY_ROWS[k][pos]
        )
        for k in keep
    ]
    item, value = _SUMMARY_HEADERS[lang]
    t = pd.DataFrame({item: labels, value: pd.Series([rows[k] for k in keep], dtype=object)})
    t.attrs["formats"] = [_SUMMARY_ROWS[k][2] for k in keep]
    return t


def _method_table(assessment: Assessment, plan: Any | None, lang: str) -> pd.DataFrame:
    """Build the "Method" / "Metode" sheet: how the sites were chosen, in plain words."""
    lines = _i18n.method_text(assessment, plan, lang)
    return pd.DataFrame({"Metode" if lang == "id" else "method": lines})


def official_tables(
    assessment: Assessment, plan: Any | None, villages: gpd.GeoDataFrame, lang: str
) -> dict[str, pd.DataFrame]:
    """Build the officials' sheets, in order, keyed by kind; the first is also the CSV."""
    tables: dict[str, pd.DataFrame] = {}
    weighted = bool(plan.weighted) if plan is not None else assessment.weighted
    if plan is not None:
        tables["sites"] = _site_table(plan, assessment)
        if getattr(plan, "years", None) is not None:  # phased with phase_plan
            years = plan.years.copy()
            if not plan.weighted:
                years = years.drop(columns=[c for c in years.columns if "weighted" in c])
            tables["years"] = _round_for_officials(years)
    tables["villages"] = _village_table(villages, weighted=weighted)
    tables["summary"] = _summary_table(assessment, plan, lang)
    tables["method"] = _method_table(assessment, plan, lang)
    yes, no = _YES_NO[lang]
    for kind in ("sites", "villages"):
        if kind in tables and "blank_spot" in tables[kind].columns:
            flag = tables[kind]["blank_spot"].to_numpy(dtype=bool)
            tables[kind]["blank_spot"] = np.where(flag, yes, no)
    if lang == "id" and "sites" in tables and "backhaul" in tables["sites"].columns:
        tables["sites"]["backhaul"] = tables["sites"]["backhaul"].map(
            lambda v: _i18n.translate_value("backhaul", v, lang)
        )
    if lang == "id" and "sites" in tables and "backhaul_note" in tables["sites"].columns:
        tables["sites"]["backhaul_note"] = tables["sites"]["backhaul_note"].map(
            lambda v: _i18n.translate_value("backhaul_note", v, lang)
        )
    if lang == "id" and "sites" in tables and "backhaul_to" in tables["sites"].columns:
        tables["sites"]["backhaul_to"] = _i18n.translate_backhaul(
            tables["sites"]["backhaul_to"].to_numpy(dtype=object), lang
        )
    return tables


def _headers(columns: Iterable[str], lang: str) -> list[str]:
    return [_i18n.header(c, lang) for c in columns]


def write_csv(path: Path, table: pd.DataFrame, lang: str) -> None:
    """Write the ranked list as CSV that Excel opens with the right separator and accents."""
    out = table.set_axis(_headers(table.columns, lang), axis=1)
    # Excel set to Indonesian reads ';' as the list separator and ',' as the decimal mark
    sep, decimal = (";", ",") if lang == "id" else (",", ".")
    out.to_csv(
        path, index=False, encoding="utf-8-sig", lineterminator="\n", sep=sep, decimal=decimal
    )


def _column_format(table: pd.DataFrame, col: str) -> str | None:
    """Excel number format of a column: its fixed format, else by its dtype and values."""
    if col in _NUMBER_FORMATS:
        return _NUMBER_FORMATS[col]
    if col.endswith(_SHARE_SUFFIX):
        return "0.0%"
    dtype = table[col].dtype
    if pd.api.types.is_bool_dtype(dtype):
        return None
    if pd.api.types.is_integer_dtype(dtype):
        return "#,##0"
    if pd.api.types.is_float_dtype(dtype):
        values = table[col].to_numpy(dtype="float64", na_value=np.nan)
        finite = values[np.isfinite(values)]
        # a score or a count stored as float but always whole reads best without decimals
        return "#,##0" if np.array_equal(finite, np.round(finite)) else "#,##0.00"
    return None


_BOLD = Font(bold=True)


def write_xlsx(path: Path, tables: dict[str, pd.DataFrame], lang: str) -> None:
    """Write the sheets: bold frozen header, filters, number formats, fitted column widths."""
    with pd.ExcelWriter(path, engine="openpyxl") as xw:
        for kind, table in tables.items():
            sheet = _SHEETS[lang][kind]
            headers = (
                _headers(table.columns, lang)
                if kind in ("sites", "villages", "years", "provinces", "province_sites")
                else list(table.columns)
            )
            table.set_axis(headers, axis=1).to_excel(xw, sheet_name=sheet, index=False)
            ws = xw.sheets[sheet]
            if kind == "summary":
                # one format per summary row: counts, shares and text share the value column
                for row, fmt in enumerate(table.attrs["formats"], start=2):
                    ws.cell(row=row, column=2).number_format = fmt
            elif kind == "method":
                ws.column_dimensions["A"].width = 110
                for (cell,) in ws.iter_rows(min_row=2, min_col=1, max_col=1):
                    cell.alignment = Alignment(wrap_text=True, vertical="top")
            else:
                for j, col in enumerate(table.columns, start=1):
                    fmt = _column_format(table, col)
                    if fmt is None:
                        continue
                    # openpyxl has no column-wide format that Excel applies to written cells
                    for (cell,) in ws.iter_rows(min_row=2, min_col=j, max_col=j):
                        cell.number_format = fmt
                if len(table):
                    ws.auto_filter.ref = ws.dimensions
            for cell in ws[1]:
                cell.font = _BOLD
            ws.freeze_panes = "A2"
            if kind == "method":
                continue
            for j, col in enumerate(table.columns, start=1):
                longest = table[col].astype("str").str.len().max() if len(table) else 0
                longest = 0 if pd.isna(longest) else int(longest)
                width = max(len(str(headers[j - 1])), longest) + 2
                ws.column_dimensions[get_column_letter(j)].width = min(max(width, 8), 60)
