"""One place for the words officials and GIS analysts read, in English and Bahasa Indonesia.

* :data:`LAYERS`: each output layer's title and description (GeoPackage ``gpkg_contents``).
* :data:`COLUMNS`: each column's Indonesian header and its description in both languages
  (officials' tables and the GeoPackage ``gpkg_data_columns``). A key ``"layer.column"``
  overrides ``"column"`` for one layer.
* :data:`VALUES` and :func:`translate_value`: code values shown to officials (method, status,
  yes/no, backhaul targets).
* :func:`translate_message`: blankspot's English notes and messages, phrase by phrase.

Adding a layer or a column is one entry in :data:`LAYERS` or :data:`COLUMNS`.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np

__all__ = [
    "COLUMNS",
    "LANGS",
    "LAYERS",
    "bound_sentence",
    "column_description",
    "header",
    "plural",
    "translate_message",
    "translate_value",
]

#: Languages of everything an official reads: English or Bahasa Indonesia.
LANGS = ("en", "id")

#: layer -> (English title, Indonesian title, English description, Indonesian description)
LAYERS: dict[str, tuple[str, str, str, str]] = {
    "villages": (
        "Villages ranked by businesses without signal",
        "Desa/kelurahan menurut peringkat UMKM tanpa sinyal",
        "One polygon per village (desa/kelurahan), ranked by its score: the businesses in it "
        "without mobile signal. rank 1 is the village to connect first.",
        "Satu poligon per desa/kelurahan, diberi peringkat menurut skornya: jumlah UMKM di "
        "dalamnya yang tidak mendapat sinyal seluler. Peringkat 1 adalah desa yang paling "
        "dahulu perlu dilayani.",
    ),
    "businesses": (
        "Businesses and their signal",
        "UMKM dan sinyalnya",
        "Every business of the input, one point each: covered (has signal), uncovered (no "
        "signal), outside every village, or rejected (unusable coordinates; no point, with "
        "the reason).",
        "Setiap UMKM dari data masukan, satu titik per UMKM: bersinyal, tanpa sinyal, di luar "
        "semua desa/kelurahan, atau ditolak (koordinat tidak dapat dipakai; tanpa titik, "
        "dengan alasannya).",
    ),
    "blank_spots": (
        "Blank spots (no signal)",
        "Blank spot (tanpa sinyal)",
        "Areas inside villages that no coverage source reaches, one polygon per village part, "
        "with the businesses inside.",
        "Wilayah di dalam desa/kelurahan yang tidak terjangkau sumber cakupan sinyal mana pun, "
        "satu poligon per bagian desa, dengan jumlah UMKM di dalamnya.",
    ),
    "backhaul": (
        "Backhaul links to the fibre network",
        "Tautan backhaul ke jaringan serat optik",
        "The links that connect the proposed sites to fibre (microwave hops and fibre "
        "drops), each built once even when several sites use it.",
        "Tautan yang menghubungkan usulan lokasi ke serat optik (lompatan gelombang mikro "
        "dan kabel serat optik), masing-masing dibangun sekali walaupun dipakai beberapa "
        "lokasi.",
    ),
    "sites": (
        "Proposed tower sites, in build order",
        "Usulan lokasi menara, menurut urutan pembangunan",
        "Tower sites chosen to connect the most businesses without signal, rank 1 first; each "
        "row counts the businesses it newly connects given the sites ranked before it.",
        "Lokasi menara yang dipilih agar paling banyak UMKM tanpa sinyal terlayani, peringkat "
        "1 dibangun pertama; setiap baris menghitung UMKM yang baru terlayani setelah lokasi "
        "berperingkat lebih tinggi dibangun.",
    ),
}

# column -> (Indonesian header, English description, Indonesian description)
COLUMNS: dict[str, tuple[str, str, str]] = {
    "rank": (
        "Peringkat",
        "Priority rank, 1 = first.",
        "Peringkat prioritas, 1 = pertama.",
    ),
    "score": (
        "Skor",
        "Priority score: businesses without signal (weighted when a weight column is given).",
        "Skor prioritas: jumlah UMKM tanpa sinyal (tertimbang bila ada kolom bobot).",
    ),
    "site_id": ("ID Lokasi", "Site identifier.", "Kode lokasi."),
    "longitude": ("Bujur", "Longitude, WGS84 degrees.", "Bujur, derajat WGS84."),
    "latitude": ("Lintang", "Latitude, WGS84 degrees.", "Lintang, derajat WGS84."),
    "lon": (
        "Bujur",
        "Longitude (or x) of the input, in the input's CRS units.",
        "Bujur (atau x) dari data masukan, dalam satuan CRS masukan.",
    ),
    "lat": (
        "Lintang",
        "Latitude (or y) of the input, in the input's CRS units.",
        "Lintang (atau y) dari data masukan, dalam satuan CRS masukan.",
    ),
    "name": ("Nama", "Village name.", "Nama desa/kelurahan."),
    "kabupaten": ("Kabupaten/Kota", "Regency or city.", "Kabupaten/kota."),
    "kecamatan": ("Kecamatan", "District (kecamatan).", "Kecamatan."),
    "kabupaten_code": (
        "Kode Kabupaten/Kota",
        "Kemendagri regency code.",
        "Kode kabupaten/kota Kemendagri.",
    ),
    "kecamatan_code": ("Kode Kecamatan", "Kemendagri district code.", "Kode kecamatan Kemendagri."),
    "village_id": (
        "Kode Desa/Kelurahan",
        "Village code (Kemendagri code when the boundaries carry it).",
        "Kode desa/kelurahan (kode Kemendagri bila ada pada data batas).",
    ),
    "village_name": ("Desa/Kelurahan", "Village name.", "Nama desa/kelurahan."),
    "villages_reached": (
        "Desa/Kelurahan terjangkau",
        "Number of villages with newly connected businesses.",
        "Jumlah desa/kelurahan yang UMKM-nya baru terlayani.",
    ),
    "village_ids": (
        "Kode desa/kelurahan terjangkau",
        "Codes of those villages, separated by ';'.",
        "Kode desa/kelurahan tersebut, dipisah ';'.",
    ),
    "village_names": (
        "Nama desa/kelurahan terjangkau",
        "Names of those villages, separated by ';'.",
        "Nama desa/kelurahan tersebut, dipisah ';'.",
    ),
    "new_businesses": (
        "UMKM baru terlayani",
        "Businesses without signal this site connects that no higher-ranked site does.",
        "UMKM tanpa sinyal yang dilayani lokasi ini dan belum dilayani lokasi berperingkat "
        "lebih tinggi.",
    ),
    "cumulative_businesses": (
        "UMKM kumulatif",
        "Businesses connected by this site and all higher-ranked ones.",
        "UMKM yang terlayani oleh lokasi ini dan semua lokasi berperingkat lebih tinggi.",
    ),
    "cumulative_share": (
        "Pangsa kumulatif",
        "Cumulative businesses as a share (0-1) of all businesses without signal.",
        "UMKM kumulatif sebagai pangsa (0-1) dari semua UMKM tanpa sinyal.",
    ),
    "new_weighted_businesses": (
        "UMKM tertimbang baru terlayani",
        "Like new_businesses, summing the business weights.",
        "Seperti new_businesses, dengan menjumlah bobot UMKM.",
    ),
    "cumulative_weighted_businesses": (
        "UMKM tertimbang kumulatif",
        "Like cumulative_businesses, summing the business weights.",
        "Seperti cumulative_businesses, dengan menjumlah bobot UMKM.",
    ),
    "cumulative_weighted_share": (
        "Pangsa tertimbang kumulatif",
        "Cumulative weighted businesses as a share (0-1) of all weighted ones without signal.",
        "UMKM tertimbang kumulatif sebagai pangsa (0-1) dari semua UMKM tertimbang tanpa sinyal.",
    ),
    "radius_m": (
        "Radius (m)",
        "Service radius of the site, metres.",
        "Radius layanan lokasi, meter.",
    ),
    "year": (
        "Tahun",
        "Year the site is built (phase_plan: rank order within each year's budget); empty "
        "when it does not fit the budgets given.",
        "Tahun pembangunan lokasi (phase_plan: urut peringkat dalam anggaran tiap tahun); "
        "kosong bila tidak muat dalam anggaran yang diberikan.",
    ),
    "budget_idr": (
        "Anggaran (Rp)",
        "Money available that year, rupiah (with last year's leftover when carried over).",
        "Dana tersedia tahun itu, rupiah (termasuk sisa tahun lalu bila dibawa).",
    ),
    "spent_idr": (
        "Belanja (Rp)",
        "Cost of that year's sites, rupiah.",
        "Biaya lokasi tahun itu, rupiah.",
    ),
    "leftover_idr": (
        "Sisa (Rp)",
        "Budget left unspent that year, rupiah.",
        "Sisa anggaran tahun itu, rupiah.",
    ),
    "n_sites": (
        "Jumlah lokasi",
        "Sites built that year.",
        "Jumlah lokasi yang dibangun tahun itu.",
    ),
    "site_ids": (
        "ID lokasi",
        "Those sites' ids, in rank order, separated by ';'.",
        "ID lokasi tersebut, urut peringkat, dipisah ';'.",
    ),
    "cost_idr": (
        "Biaya (Rp)",
        "Cost of building the site, rupiah (empty when unknown).",
        "Biaya pembangunan lokasi, rupiah (kosong bila tidak diketahui).",
    ),
    "cost_per_new_business": (
        "Biaya per UMKM (Rp)",
        "cost_idr divided by new_businesses, rupiah.",
        "cost_idr dibagi UMKM baru terlayani, rupiah.",
    ),
    "backhaul_to": (
        "Backhaul ke",
        "Where the site's link to the network goes: 'covered:<id>' is the covered area of "
        "that village (or around that business), another site id is that (higher-ranked) "
        "site.",
        "Tujuan sambungan lokasi ke jaringan: 'covered:<kode>' berarti wilayah bersinyal "
        "desa/kelurahan (atau sekitar UMKM) itu; kode lokasi lain berarti lokasi "
        "berperingkat lebih tinggi itu.",
    ),
    "backhaul": (
        "Jenis backhaul",
        "How the site reaches the fibre network: fibre (a fibre drop from a point of "
        "presence), microwave (hops over towers) or satellite (VSAT).",
        "Cara lokasi terhubung ke jaringan serat optik: serat optik (kabel dari titik "
        "kehadiran), gelombang mikro (lompatan lewat menara) atau satelit (VSAT).",
    ),
    "backhaul_hops": (
        "Jumlah hop microwave",
        "Microwave links on the site's planned route to fibre (0 for fibre and satellite).",
        "Jumlah tautan gelombang mikro pada rute lokasi ke serat optik (0 untuk serat optik "
        "dan satelit).",
    ),
    "backhaul_cost_idr": (
        "Biaya backhaul (Rp)",
        "The site's own cheapest backhaul through the existing network, rupiah (satellite: "
        "terminal plus the fees counted); included in cost_per_new_business.",
        "Biaya backhaul termurah lokasi ini lewat jaringan yang ada, rupiah (satelit: "
        "terminal ditambah biaya langganan yang dihitung); termasuk dalam biaya per UMKM.",
    ),
    "backhaul_note": (
        "Catatan backhaul",
        "Why the site falls back to satellite: no terrestrial route cheaper than satellite, "
        "or every route passes through a node at capacity; blank for terrestrial backhaul.",
        "Alasan lokasi memakai satelit: tidak ada rute darat yang lebih murah daripada "
        "satelit, atau setiap rute melewati simpul yang kapasitasnya sudah penuh; kosong bila "
        "backhaul lewat darat.",
    ),
    "backhaul.from_id": (
        "Dari",
        "Node at the end of the link nearer the sites.",
        "Simpul di ujung tautan yang lebih dekat ke lokasi.",
    ),
    "backhaul.to_id": (
        "Ke",
        "Node at the end of the link nearer the fibre network.",
        "Simpul di ujung tautan yang lebih dekat ke jaringan serat optik.",
    ),
    "backhaul.kind": (
        "Jenis tautan",
        "microwave (a radio hop) or fibre (a fibre drop from a point of presence).",
        "microwave (lompatan radio) atau fibre (kabel serat optik dari titik kehadiran).",
    ),
    "backhaul.length_m": (
        "Panjang (m)",
        "Length of the link, metres.",
        "Panjang tautan, meter.",
    ),
    "backhaul.clearance_m": (
        "Ruang bebas (m)",
        "Smallest clearance of the radio path over the terrain after the Fresnel margin, "
        "metres (empty without a DEM and for fibre).",
        "Ruang bebas terkecil jalur radio di atas permukaan tanah setelah margin Fresnel, "
        "meter (kosong tanpa DEM dan untuk serat optik).",
    ),
    "backhaul.cost_idr": (
        "Biaya (Rp)",
        "Cost of building the link, rupiah.",
        "Biaya membangun tautan, rupiah.",
    ),
    "backhaul.n_sites": (
        "Jumlah lokasi",
        "New sites whose route uses the link.",
        "Jumlah lokasi baru yang rutenya memakai tautan ini.",
    ),
    "backhaul_m": (
        "Jarak backhaul (m)",
        "Straight-line length of that link, metres; with a backhaul network, the length of "
        "the planned route to fibre.",
        "Panjang garis lurus sambungan itu, meter; bila jaringan backhaul diberikan, panjang "
        "rute yang direncanakan ke serat optik.",
    ),
    "n_businesses": (
        "Jumlah UMKM",
        "Businesses in the village.",
        "Jumlah UMKM di desa/kelurahan.",
    ),
    "blank_spots.n_businesses": (
        "Jumlah UMKM",
        "Businesses inside this blank spot.",
        "Jumlah UMKM di dalam blank spot ini.",
    ),
    "n_covered": ("UMKM bersinyal", "Businesses with signal.", "Jumlah UMKM bersinyal."),
    "province_code": ("Kode Provinsi", "Kemendagri province code.", "Kode provinsi Kemendagri."),
    "province": ("Provinsi", "Province.", "Provinsi."),
    "n_villages": ("Jumlah desa/kelurahan", "Villages.", "Jumlah desa/kelurahan."),
    "n_blank_spot_villages": (
        "Desa/kelurahan blank spot",
        "Villages that are blank spots.",
        "Jumlah desa/kelurahan yang merupakan blank spot.",
    ),
    "own_sites": (
        "Jumlah lokasi (rencana provinsi)",
        "Sites of the province's own plan (--per-province-k).",
        "Jumlah lokasi dalam rencana provinsi sendiri (--per-province-k).",
    ),
    "own_new_businesses": (
        "UMKM baru terlayani (rencana provinsi)",
        "Businesses without signal the province's own plan connects.",
        "UMKM tanpa sinyal yang dilayani rencana provinsi sendiri.",
    ),
    "own_new_weighted_businesses": (
        "UMKM tertimbang baru terlayani (rencana provinsi)",
        "Like own_new_businesses, summing the business weights.",
        "Seperti own_new_businesses, dengan menjumlah bobot UMKM.",
    ),
    "own_cost_idr": (
        "Biaya (Rp, rencana provinsi)",
        "Cost of the province's own plan, rupiah.",
        "Biaya rencana provinsi sendiri, rupiah.",
    ),
    "n_uncovered": (
        "UMKM tanpa sinyal",
        "Businesses without signal.",
        "Jumlah UMKM tanpa sinyal.",
    ),
    "uncovered_share": (
        "Pangsa UMKM tanpa sinyal",
        "Share (0-1) of the village's businesses without signal; empty without businesses.",
        "Pangsa (0-1) UMKM desa/kelurahan yang tanpa sinyal; kosong bila tidak ada UMKM.",
    ),
    "weighted_uncovered": (
        "UMKM tertimbang tanpa sinyal",
        "Sum of the weights of businesses without signal.",
        "Jumlah bobot UMKM tanpa sinyal.",
    ),
    "weighted_businesses": (
        "UMKM tertimbang",
        "Sum of the weights of the businesses inside.",
        "Jumlah bobot UMKM di dalamnya.",
    ),
    "area_km2": ("Luas (km²)", "Area, square kilometres.", "Luas, kilometer persegi."),
    "covered_area_share": (
        "Pangsa wilayah bersinyal",
        "Share (0-1) of the village's area with signal.",
        "Pangsa (0-1) luas desa/kelurahan yang bersinyal.",
    ),
    "blank_spot_area_km2": (
        "Luas blank spot (km²)",
        "Area without signal, square kilometres.",
        "Luas wilayah tanpa sinyal, kilometer persegi.",
    ),
    "blank_spot": (
        "Blank spot",
        "1 (yes) when the village is a blank spot: a business without signal, or no business "
        "and less than half its area covered.",
        "1 (ya) bila desa/kelurahan adalah blank spot: ada UMKM tanpa sinyal, atau tidak ada "
        "UMKM dan kurang dari separuh wilayahnya bersinyal.",
    ),
    "blank_spot_id": ("Kode blank spot", "Blank-spot identifier.", "Kode blank spot."),
    "business_id": (
        "Kode UMKM",
        "Business identifier (the input's id column, else the row number).",
        "Kode UMKM (kolom kode dari data masukan, atau nomor baris).",
    ),
    "weight": (
        "Bobot",
        "Weight of the business (1 without a weight column).",
        "Bobot UMKM (1 bila tanpa kolom bobot).",
    ),
    "rejected_reason": (
        "Alasan ditolak",
        "Why the row was rejected (empty for usable rows).",
        "Alasan baris ditolak (kosong untuk baris yang dapat dipakai).",
    ),
    "covered": (
        "Bersinyal",
        "1 when the business has signal.",
        "1 bila UMKM bersinyal.",
    ),
    "signal_dbm": (
        "Sinyal (dBm)",
        "Signal strength at the business, dBm (rasters of signal strength only).",
        "Kuat sinyal di lokasi UMKM, dBm (hanya untuk raster kuat sinyal).",
    ),
    "status": (
        "Status",
        "covered, uncovered, outside_villages or rejected.",
        "covered (bersinyal), uncovered (tanpa sinyal), outside_villages (di luar semua "
        "desa/kelurahan) atau rejected (ditolak).",
    ),
}

# code values an official reads -> Indonesian
VALUES: dict[str, dict[str, str]] = {
    "method": {
        "greedy": "bertahap (lokasi terbaik berikutnya dipilih satu per satu)",
        "exact": "eksak (optimasi bilangan bulat HiGHS)",
    },
    "status": {
        "covered": "bersinyal",
        "uncovered": "tanpa sinyal",
        "outside_villages": "di luar desa/kelurahan",
        "rejected": "ditolak",
    },
    "yes_no": {"yes": "ya", "no": "tidak"},
    "backhaul": {"fibre": "serat optik", "microwave": "gelombang mikro", "satellite": "satelit"},
    "backhaul_note": {
        "no terrestrial route cheaper than satellite": (
            "tidak ada rute darat yang lebih murah daripada satelit"
        ),
        "every route passes through a node at capacity": (
            "setiap rute melewati simpul yang kapasitasnya sudah penuh"
        ),
    },
}

# English phrases of blankspot's messages -> Indonesian, applied in order (longest first)
_PHRASES: tuple[tuple[str, str], ...] = (
    (
        r"the exact solve stopped \(Time limit reached\) before proving the optimum: the "
        r"plan is within ([\d.,]+ ?%) of the best possible",
        r"penyelesaian eksak berhenti (batas waktu tercapai) sebelum membuktikan optimum: "
        r"rencana ini paling jauh \1 dari yang terbaik",
    ),
    (
        r"the exact solve stopped \(([^)]*)\) before proving the optimum: the plan is "
        r"within ([\d.,]+ ?%) of the best possible",
        r"penyelesaian eksak berhenti (\1) sebelum membuktikan optimum: rencana ini paling "
        r"jauh \2 dari yang terbaik",
    ),
    (
        r"HiGHS stopped \(Time limit reached\) before proving the optimum: the plan is within "
        r"([\d.,]+ ?%) of the best possible",
        r"HiGHS berhenti (batas waktu tercapai) sebelum membuktikan optimum: rencana ini "
        r"paling jauh \1 dari yang terbaik",
    ),
    (
        r"HiGHS stopped \(([^)]*)\) before proving the optimum: the plan is within "
        r"([\d.,]+ ?%) of the best possible",
        r"HiGHS berhenti (\1) sebelum membuktikan optimum: rencana ini paling jauh \2 dari "
        r"yang terbaik",
    ),
    (
        r"k=(\d+) exceeds the (\d+) candidate sites: ranking all useful sites instead",
        r"k=\1 melebihi \2 lokasi kandidat: semua lokasi yang berguna diberi peringkat",
    ),
    (
        r"only (\d+) of the k=(\d+) sites asked for connect anyone new: every uncovered "
        r"business within reach of a candidate is connected",
        r"hanya \1 dari k=\2 lokasi yang diminta melayani UMKM baru: semua UMKM tanpa sinyal "
        r"dalam jangkauan lokasi kandidat sudah terlayani",
    ),
    (
        r"picking the site that connects most among those still affordable connects more "
        r"within the budget than picking by businesses per rupiah, so the plan follows the "
        r"largest gain",
        "memilih lokasi yang melayani paling banyak UMKM di antara yang masih terjangkau "
        "anggaran melayani lebih banyak daripada memilih menurut UMKM per rupiah, jadi rencana "
        "mengikuti tambahan terbesar",
    ),
    (
        r"no uncovered businesses: every business in the villages already has signal",
        "tidak ada UMKM tanpa sinyal: semua UMKM di desa/kelurahan sudah bersinyal",
    ),
    (
        r"no candidate site reaches an uncovered business",
        "tidak ada lokasi kandidat yang menjangkau UMKM tanpa sinyal",
    ),
    (
        r"budget_idr=([\d,.]+) is below the cheapest site \(Rp ([\d,.]+)\): no site can be built",
        r"budget_idr=\1 di bawah lokasi termurah (Rp \2): tidak ada lokasi yang dapat dibangun",
    ),
    (r"raster '([^']*)'", r"raster '\1'"),
    (r"coverage polygons", "poligon cakupan"),
    (r"(\d+) features", r"\1 fitur"),
    (r"(\d+) towers", r"\1 menara"),
    (r"\bOR\b", "ATAU"),
    (r"\bradius\b", "radius"),
)
_PHRASES_RE = tuple((re.compile(en), ind) for en, ind in _PHRASES)


def header(col: str, lang: str) -> str:
    """Return the header of column ``col`` in ``lang`` (English keeps the code name).

    >>> header("new_businesses", "id"), header("new_businesses", "en")
    ('UMKM baru terlayani', 'new_businesses')
    """
    if lang != "id":
        return col
    entry = COLUMNS.get(col)
    return entry[0] if entry else col


def column_description(layer: str, col: str, lang: str) -> str | None:
    """Return the description of ``col`` in ``layer``: English, or Indonesian and English.

    ``lang="id"`` gives both languages ("Indonesian / English"), so an analyst reading either
    understands the column.

    >>> column_description("sites", "rank", "en")
    'Priority rank, 1 = first.'
    >>> column_description("sites", "rank", "id")
    'Peringkat prioritas, 1 = pertama. / Priority rank, 1 = first.'
    """
    entry = COLUMNS.get(f"{layer}.{col}") or COLUMNS.get(col)
    if entry is None:
        return None
    return entry[1] if lang != "id" else f"{entry[2]} / {entry[1]}"


def layer_text(layer: str, lang: str) -> tuple[str, str]:
    """Return ``(title, description)`` of an output layer; bilingual with ``lang="id"``."""
    en_title, id_title, en_desc, id_desc = LAYERS[layer]
    if lang == "id":
        return id_title, f"{id_desc} / {en_desc}"
    return en_title, en_desc


def translate_value(kind: str, value: Any, lang: str) -> Any:
    """Translate one code value of ``kind`` ("method", "status", "yes_no") for ``lang``.

    >>> translate_value("status", "uncovered", "id")
    'tanpa sinyal'
    >>> translate_value("status", "uncovered", "en")
    'uncovered'
    """
    if lang != "id" or not isinstance(value, str):
        return value
    return VALUES[kind].get(value, value)


def translate_backhaul(values: Any, lang: str) -> Any:
    """Spell out backhaul targets for officials: ``covered:<id>`` names the covered area.

    >>> translate_backhaul(np.array(["covered:18.01", "S2", None], dtype=object), "id").tolist()
    ['wilayah bersinyal di 18.01', 'lokasi S2', None]
    >>> translate_backhaul(np.array(["covered:18.01", "S2"], dtype=object), "en").tolist()
    ['covered area at 18.01', 'site S2']
    """
    arr = np.asarray(values, dtype=object)
    out = arr.copy()
    ok = np.array([isinstance(v, str) for v in arr], dtype=bool)
    if not ok.any():
        return out
    s = arr[ok].astype(str)
    covered = np.char.startswith(s, "covered:")
    area, site = (
        ("wilayah bersinyal di ", "lokasi ") if lang == "id" else ("covered area at ", "site ")
    )
    rest = np.where(covered, np.char.partition(s, ":")[:, 2], s)
    out[ok] = np.char.add(np.where(covered, area, site), rest).astype(object)
    return out


def translate_message(text: str | None, lang: str) -> str | None:
    """Translate blankspot's English notes and messages into Bahasa Indonesia, phrase by phrase.

    Messages are joined by "; " and each known phrase is replaced; numbers are kept.

    >>> translate_message("k=30 exceeds the 12 candidate sites: ranking all useful sites instead",
    ...                   "id")
    'k=30 melebihi 12 lokasi kandidat: semua lokasi yang berguna diberi peringkat'
    """
    if lang != "id" or not text:
        return text
    for pattern, repl in _PHRASES_RE:
        text = pattern.sub(repl, text)
    return text


def plural(n: float, one: str, many: str) -> str:
    """Return ``"1 site"`` / ``"2 sites"``: the count and the noun that agrees with it.

    >>> plural(1, "site", "sites"), plural(1200, "business", "businesses")
    ('1 site', '1,200 businesses')
    """
    return f"{n:,.0f} {one if n == 1 else many}"


def bound_sentence(plan: Any, lang: str) -> str:
    """Say in plain words how good the plan is: proven optimal, or within a gap of the best.

    >>> from types import SimpleNamespace
    >>> p = SimpleNamespace(gap=0.0, upper_bound=10.0, objective=10.0, weighted=False)
    >>> bound_sentence(p, "en")
    'the best possible: proven optimal'
    >>> bound_sentence(SimpleNamespace(gap=0.05, upper_bound=100.0, objective=95.0,
    ...                                weighted=False), "id")
    'rencana mana pun dengan jumlah lokasi atau anggaran ini melayani paling banyak 100, jadi rencana ini paling jauh 5,0 % dari yang terbaik'
    """  # noqa: E501 - doctest output is one line
    if plan.gap <= 1e-9:
        return (
            "terbaik yang mungkin: terbukti optimal"
            if lang == "id"
            else ("the best possible: proven optimal")
        )
    if lang == "id":
        gap = f"{plan.gap:.1%}".replace(".", ",").replace("%", " %")
        bound = f"{plan.upper_bound:,.0f}".replace(",", ".")
        return (
            f"rencana mana pun dengan jumlah lokasi atau anggaran ini melayani paling banyak "
            f"{bound}, jadi rencana ini paling jauh {gap} dari yang terbaik"
        )
    return (
        f"any plan of this size or budget reaches at most {plan.upper_bound:,.0f}, "
        f"so this one is within {plan.gap:.1%} of the best"
    )


def _num(x: float, lang: str) -> str:
    """Whole number with thousands separators: 1,234 (en) or 1.234 (id)."""
    text = f"{x:,.0f}"
    return text.replace(",", ".") if lang == "id" else text


def method_text(assessment: Any, plan: Any | None, lang: str) -> list[str]:
    """Paragraphs of the "Method" / "Metode" sheet: how sites were chosen, what the bound means.

    >>> from types import SimpleNamespace
    >>> a = SimpleNamespace(coverage=SimpleNamespace(description="raster 'x.tif' >= -110 dBm"),
    ...                     villages={"blank_spot": [True, False]}, weighted=False)
    >>> method_text(a, None, "id")[1]
    "Sinyal: sebuah UMKM dianggap bersinyal bila raster 'x.tif' >= -110 dBm."
    """
    cov = translate_message(getattr(assessment.coverage, "description", "") or "", lang)
    unit_en = (
        "weighted businesses" if getattr(plan or assessment, "weighted", False) else ("businesses")
    )
    unit_id = "UMKM tertimbang" if unit_en.startswith("weighted") else "UMKM"
    if lang == "id":
        lines = [
            "Lembar ini menjelaskan dengan bahasa sederhana bagaimana daftar prioritas disusun.",
            f"Sinyal: sebuah UMKM dianggap bersinyal bila {cov}.",
            "Desa/kelurahan blank spot: desa yang memiliki UMKM tanpa sinyal, atau tanpa UMKM "
            "dan kurang dari separuh wilayahnya bersinyal. Desa diberi peringkat menurut "
            f"jumlah {unit_id} tanpa sinyal (skor).",
        ]
    else:
        lines = [
            "This sheet explains in plain words how the priority list was made.",
            f"Signal: a business counts as having signal when {cov}.",
            "Blank-spot village: a village with a business without signal, or without "
            "businesses and less than half of its area covered. Villages are ranked by their "
            f"{unit_en} without signal (the score).",
        ]
    if plan is None:
        return lines
    radius = plan.sites["radius_m"] if "radius_m" in plan.sites.columns else None
    r = float(np.nanmedian(radius)) if radius is not None and len(radius) else float("nan")
    n = len(plan.sites)
    if lang == "id":
        how = (
            "Metode eksak: pemrogram bilangan bulat HiGHS mencari kumpulan lokasi yang "
            "melayani paling banyak UMKM sekaligus, lalu lokasi diurutkan menurut tambahan "
            "UMKM yang dilayaninya."
            if plan.method == "exact"
            else "Metode bertahap: lokasi pertama adalah yang melayani paling banyak UMKM tanpa "
            "sinyal; setiap lokasi berikutnya adalah yang melayani paling banyak UMKM yang "
            "belum terlayani oleh lokasi sebelumnya, sampai jumlah lokasi atau anggaran habis."
        )
        lines += [
            "Lokasi kandidat: titik-titik di dalam dan di sekitar blank spot (atau daftar "
            "lokasi yang diberikan). Sebuah lokasi melayani UMKM dalam radius "
            f"{_num(r, lang)} m (garis lurus)."
            if np.isfinite(r)
            else "Lokasi kandidat: titik-titik di dalam dan di sekitar blank spot (atau daftar "
            "lokasi yang diberikan).",
            how,
            "Peringkat 1 dibangun pertama. 'UMKM baru terlayani' hanya menghitung UMKM yang "
            "belum dilayani lokasi berperingkat lebih tinggi, sehingga angkanya dapat "
            "dijumlahkan.",
            f"Batas atas: tidak ada rencana dengan {n} lokasi (atau anggaran yang sama) yang "
            f"dapat melayani lebih dari {_num(plan.upper_bound, lang)} {unit_id}. Rencana ini "
            f"melayani {_num(plan.objective, lang)} dari {_num(plan.total_uncovered, lang)}: "
            f"{bound_sentence(plan, lang)}.",
            "Backhaul: setiap lokasi disambungkan ke wilayah bersinyal terdekat atau ke lokasi "
            "berperingkat lebih tinggi yang lebih dekat; jaraknya garis lurus.",
            "Batasan: hasil hanya sebaik data cakupan sinyal dan data UMKM; radius garis lurus "
            "tidak memperhitungkan bukit dan lembah. Periksa lokasi di lapangan sebelum "
            "membangun.",
        ]
    else:
        how = (
            "Exact method: the HiGHS integer-programming solver searches for the set of sites "
            "that together connect the most businesses; the sites are then ordered by the "
            "businesses each adds."
            if plan.method == "exact"
            else "Greedy method: the first site is the one that connects the most businesses "
            "without signal; each next site is the one that connects the most businesses not "
            "yet connected by the sites before it, until the number of sites or the budget "
            "is used up."
        )
        lines += [
            "Candidate sites: points in and around the blank spots (or the list of sites "
            f"given). A site serves the businesses within {_num(r, lang)} m (straight line)."
            if np.isfinite(r)
            else "Candidate sites: points in and around the blank spots (or the list of sites "
            "given).",
            how,
            "Rank 1 is built first. 'new businesses' counts only businesses that no "
            "higher-ranked site connects, so the numbers add up.",
            f"The bound: no plan with {plural(n, 'site', 'sites')} (or the same budget) can "
            f"connect more than {_num(plan.upper_bound, lang)} {unit_en}. This plan connects "
            f"{_num(plan.objective, lang)} of {_num(plan.total_uncovered, lang)}: "
            f"{bound_sentence(plan, lang)}.",
            "Backhaul: each site links to the nearest covered area, or to a higher-ranked site "
            "when that is nearer; distances are straight lines.",
            "Limits: the result is only as good as the coverage and business data; a "
            "straight-line radius ignores hills and valleys. Check each site in the field "
            "before building.",
        ]
    return lines
