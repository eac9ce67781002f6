"""The 38 provinces of Indonesia: Kemendagri code -> name.

Public administrative facts (the province codes of Kepmendagri No 300.2.2-2138 Tahun 2025 and
the provinces' official names), written out here for blankspot; facts carry no copyright, so no
licence notice is needed. Cross-checked against the two-digit prefixes of the 514 kabupaten
codes of ``shared/data/indonesia/kabupaten.parquet`` (38 distinct codes, e.g. ``93`` holds
Merauke, Papua Selatan). BPS numbers the Papua provinces created since 2022 differently, so
the names of codes 91-96 are only right for Kemendagri codes.
"""

from __future__ import annotations

__all__ = ["PROVINCES", "province_name"]

PROVINCES: dict[str, str] = {
    "11": "Aceh",
    "12": "Sumatera Utara",
    "13": "Sumatera Barat",
    "14": "Riau",
    "15": "Jambi",
    "16": "Sumatera Selatan",
    "17": "Bengkulu",
    "18": "Lampung",
    "19": "Kepulauan Bangka Belitung",
    "21": "Kepulauan Riau",
    "31": "DKI Jakarta",
    "32": "Jawa Barat",
    "33": "Jawa Tengah",
    "34": "DI Yogyakarta",
    "35": "Jawa Timur",
    "36": "Banten",
    "51": "Bali",
    "52": "Nusa Tenggara Barat",
    "53": "Nusa Tenggara Timur",
    "61": "Kalimantan Barat",
    "62": "Kalimantan Tengah",
    "63": "Kalimantan Selatan",
    "64": "Kalimantan Timur",
    "65": "Kalimantan Utara",
    "71": "Sulawesi Utara",
    "72": "Sulawesi Tengah",
    "73": "Sulawesi Selatan",
    "74": "Sulawesi Tenggara",
    "75": "Gorontalo",
    "76": "Sulawesi Barat",
    "81": "Maluku",
    "82": "Maluku Utara",
    "91": "Papua",
    "92": "Papua Barat",
    "93": "Papua Selatan",
    "94": "Papua Tengah",
    "95": "Papua Pegunungan",
    "96": "Papua Barat Daya",
}


def province_name(code: str | None) -> str:
    """Name of a two-digit province code; an unknown code is named as such.

    >>> province_name("18"), province_name("99")
    ('Lampung', 'province 99')
    """
    if code is None:
        return ""
    return PROVINCES.get(code, f"province {code}")
