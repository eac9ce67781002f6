"""Registers matched to villages by name: hand-made rules, then the real Lampung names."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from blankspot import BlankspotWarning, InputError, UnknownOptionError
from blankspot.io import attach_parent_names, read_villages
from blankspot.matching import match_villages, normalise_names
from tests.common import VILLAGE_BOXES
from tests.conftest import SHARED_DATA

V1, V2, V3, V4 = VILLAGE_BOXES


@pytest.fixture
def tiny() -> pd.DataFrame:
    """Six villages in three kecamatan of two kabupaten; 'Sukamaju' in two kecamatan."""
    v = pd.DataFrame(
        {
            "name": [
                "Way Huwi",
                "Sukamaju",
                "Sumber Rejo II",
                "Sumber Rejo",
                "Sukamaju",
                "Kedaton",
            ],
            "kecamatan": ["Jati Agung", "Jati Agung", "Natar", "Natar", "Kalirejo", "Kedaton"],
            "kabupaten": ["Kabupaten Lampung Selatan"] * 4
            + ["Kabupaten Lampung Tengah", "Kota Bandar Lampung"],
        },
        index=[
            *("18.01.13.2001", "18.01.13.2002", "18.01.04.2001", "18.01.04.2002"),
            *("18.02.01.2001", "18.71.05.1001"),
        ],
    )
    v.index.name = "village_id"
    return v


def one(villages, desa, kec=None, kab=None):
    table = pd.DataFrame({"desa": [desa], "kec": [kec], "kab": [kab]})
    out = match_villages(
        table,
        villages,
        desa_col="desa",
        kecamatan_col="kec" if kec is not None else None,
        kabupaten_col="kab" if kab is not None else None,
    )
    return out["village_id"].iloc[0], out["match_score"].iloc[0], out["match_note"].iloc[0]


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("Desa Way Huwi", "way huwi"),
        ("Ds. Way Huwi", "way huwi"),
        ("Ds.Way Huwi", "way huwi"),
        ("KELURAHAN  Way-Huwi ", "way huwi"),
        ("Kel. Way Huwi", "way huwi"),
        ("Pekon Way Huwi", "way huwi"),
        ("Tiyuh Way Huwi", "way huwi"),
        ("Kampung Way Huwi", "way huwi"),
        ("Kampung", "kampung"),  # a type word alone is the name
        ("Desa Kampung Baru", "baru"),  # as the official 'Kampung Baru' is normalised
        ("Kelapa Tujuh", "kelapa tujuh"),  # 'kel' only as a whole word
        ("Sumber Rejo II", "sumber rejo 2"),
        ("Sumber Rejo 02", "sumber rejo 2"),
        ("SumberRejo2", "sumberrejo 2"),
        ("Penggawa V Ulu", "penggawa 5 ulu"),
        ("Labuhan Ratu IX", "labuhan ratu 9"),
        ("Gunung S. Raya", "gunung s raya"),
        ("Ma'ruf", "maruf"),
        ("Négeri", "negeri"),
    ],
)
def test_normalise_desa(typed, expected):
    assert normalise_names(pd.Series([typed])).iloc[0] == expected


def test_normalise_parents_and_missing():
    s = pd.Series(["Kec. Jati Agung", "Kecamatan Natar", None])
    out = normalise_names(s, level="kecamatan")
    assert out.tolist()[:2] == ["jati agung", "natar"]
    assert pd.isna(out.iloc[2])
    k = pd.Series(["Kab. Lampung Selatan", "Kota Bandar Lampung", "Kabupaten Way Kanan"])
    assert normalise_names(k, level="kabupaten").tolist() == [
        "lampung selatan",
        "bandar lampung",
        "way kanan",
    ]
    # a desa called 'Kota Agung' keeps its first word: 'kota' is a type word of kabupaten only
    assert normalise_names(pd.Series(["Kota Agung"])).iloc[0] == "kota agung"
    with pytest.raises(InputError, match="level must be one of"):
        normalise_names(s, level="dusun")


def test_exact_normalised_fuzzy(tiny):
    assert one(tiny, "Way Huwi", "Jati Agung") == ("18.01.13.2001", 100.0, "exact")
    assert one(tiny, "Ds. WAY HUWI", "Jati Agung") == ("18.01.13.2001", 100.0, "normalised")
    vid, score, note = one(tiny, "Wayhuwi", "Jati Agung")
    assert (vid, note) == ("18.01.13.2001", "fuzzy: 'Wayhuwi' -> 'Way Huwi'")
    # rapidfuzz ratio of 'wayhuwi' and 'way huwi': 2 * 7 / (7 + 8) = 93.3
    assert score == pytest.approx(93.3)
    vid, score, note = one(tiny, "Way Hwui", "Jati Agung")  # two neighbours swapped
    assert vid == "18.01.13.2001" and note.startswith("fuzzy")
    assert one(tiny, "Sumber Rejo 2", "Natar")[:2] == ("18.01.04.2001", 100.0)
    assert one(tiny, "Sumber Rejo", "Natar")[:2] == ("18.01.04.2002", 100.0)


def test_numerals_never_fuzzy(tiny):
    vid, score, note = one(tiny, "Sumber Rejo III", "Natar")
    assert pd.isna(vid) and score == 0
    assert note.startswith("not found in kecamatan 'Natar'")
    # the three closest, best first
    # ratio('sumber rejo 3', 'sumber rejo 2') = 24 / 26; ratio(.., 'sumber rejo') = 22 / 24
    assert note.endswith("closest: 'Sumber Rejo II' (92), 'Sumber Rejo' (92)")
    # a numeral glued on is still a numeral
    vid, _, note = one(tiny, "Sumber RejoV", "Natar")
    assert pd.isna(vid)
    assert note.startswith("not found in kecamatan 'Natar': 'Sumber RejoV' looks like")
    assert one(tiny, "SumberRejoII", "Natar")[0] == "18.01.04.2001"
    # a mistyped numeral is not a typo of the name without one
    vid, _, note = one(tiny, "Sumber Rejo Ie", "Natar")
    assert pd.isna(vid) and "with a numeral 'IE' added" in note


def test_fuzzy_only_within_the_named_kecamatan(tiny):
    # 'Way Huwi' is in Jati Agung: typed under Natar, it is not found there
    vid, _, note = one(tiny, "Way Huwi", "Natar")
    assert pd.isna(vid)
    assert note.startswith("not found in kecamatan 'Natar'")


def test_no_fuzzy_match_without_a_named_parent(tiny):
    # the issue: fuzzy matching only within the named kecamatan/kabupaten; a row naming
    # neither is matched only as typed (or normalised), never by a guess over the province
    assert one(tiny, "Ds. WAY HUWI") == ("18.01.13.2001", 100.0, "normalised")
    vid, score, note = one(tiny, "Wayhuwi")
    assert pd.isna(vid) and score == 0
    assert note.startswith("not found as typed in the villages table, and no kecamatan")
    assert "closest: 'Way Huwi'" in note
    # the same typo under its kabupaten or kecamatan is matched
    assert one(tiny, "Wayhuwi", kab="Kab. Lampung Selatan")[0] == "18.01.13.2001"
    assert one(tiny, "Wayhuwi", "Jati Agung")[0] == "18.01.13.2001"


def test_name_repeated_in_other_kecamatan(tiny):
    assert one(tiny, "Sukamaju", "Jati Agung")[0] == "18.01.13.2002"
    assert one(tiny, "Sukamaju", "Kalirejo")[0] == "18.02.01.2001"
    # without any parent the name is ambiguous in the whole table
    vid, score, note = one(tiny, "Suka Maju")
    assert pd.isna(vid) and score == 0
    assert note == (
        "ambiguous: 'Suka Maju' is equally close to 2 desa/kelurahan in the villages table "
        "('Sukamaju' 18.01.13.2002, 'Sukamaju' 18.02.01.2001)"
    )
    vid, _, note = one(tiny, "Sukamaju")
    assert pd.isna(vid)
    assert note.startswith("ambiguous: 'Sukamaju' names 2 desa/kelurahan in the villages table")
    # the kabupaten alone settles it
    assert one(tiny, "Sukamaju", kab="Lampung Tengah")[0] == "18.02.01.2001"


def test_names_equal_but_for_spaces_are_ambiguous():
    # 'CandiMas' (words joined, no space) is 'Candi Mas' as much as 'Candimas': spacing is a
    # typing variant, so the register row must not go to the one whose spaces agree
    v = pd.DataFrame(
        {"name": ["Candi Mas", "Candimas", "Way Huwi"], "kecamatan": ["Natar", "Natar", "B"]},
        index=["1", "2", "3"],
    )
    for typed in ("CandiMas", "Candimas", "Candi Mas", "Ds. Candi  Mas"):
        vid, score, note = one(v, typed)
        assert pd.isna(vid) and score == 0, (typed, vid)
        assert note.startswith(f"ambiguous: {typed!r} names 2 desa/kelurahan"), note
        assert "(1, 2)" in note
        assert pd.isna(one(v, typed, "Natar")[0])
    # the same name in two kecamatan: the kecamatan settles it, spaces or not
    v2 = pd.DataFrame(
        {"name": ["Candi Mas", "Candimas"], "kecamatan": ["Natar", "Pagelaran"]}, index=["1", "2"]
    )
    assert one(v2, "CandiMas", "Natar")[0] == "1"
    assert one(v2, "Candi Mas", "Pagelaran")[0] == "2"


def test_parents_matched_fuzzily_first(tiny):
    vid, score, note = one(tiny, "Way Huwi", "Kec. Jatiagung", "KAB. LAMPUNG SELATAN")
    assert vid == "18.01.13.2001"
    assert note == "exact; kecamatan fuzzy: 'Kec. Jatiagung' -> 'Jati Agung'"
    # the lowest score of the levels: ratio('jatiagung', 'jati agung') = 2 * 9 / 19
    assert score == pytest.approx(round(100 * 18 / 19, 1))
    vid, _, note = one(tiny, "Way Huwi", "Jati Agung", "Lampung Barat")
    assert pd.isna(vid)
    assert note.startswith("kabupaten not found in the villages table; closest: ")
    vid, _, note = one(tiny, "Way Huwi", "Kalirejo", "Lampung Selatan")
    assert pd.isna(vid)
    assert note.startswith("kecamatan not found in kabupaten 'Kabupaten Lampung Selatan'; closest")
    assert "'Jati Agung'" in note and "'Natar'" in note and "'Kalirejo'" not in note
    assert one(tiny, "Kel. Kedaton", "Kedaton", "Kota Bandar Lampung")[0] == "18.71.05.1001"


def test_ambiguous_fuzzy_is_refused():
    v = pd.DataFrame({"name": ["Sukaraja", "Sukaraya"], "kecamatan": ["A", "A"]}, index=["1", "2"])
    vid, _, note = one(v, "Sukaraxa", "A")  # one edit from both
    assert pd.isna(vid)
    assert note == (
        "ambiguous: 'Sukaraxa' is equally close to 2 desa/kelurahan in kecamatan 'A' "
        "('Sukaraja', 'Sukaraya')"
    )
    assert one(v, "Sukaraja", "A")[0] == "1"  # exact still wins


def test_official_names_with_a_type_word():
    v = pd.DataFrame(
        {"name": ["Kampung Baru", "Pekon Balak", "Kelapa Tujuh"], "kecamatan": "A"},
        index=["1", "2", "3"],
    )
    assert one(v, "Desa Kampung Baru", "A")[:2] == ("1", 100.0)
    assert one(v, "Baru", "A")[:2] == ("1", 100.0)
    vid, score, note = one(v, "KampungBaru", "A")
    assert (vid, note) == ("1", "fuzzy: 'KampungBaru' -> 'Kampung Baru'")
    assert score == pytest.approx(round(100 * 22 / 23, 1))  # 'kampungbaru' / 'kampung baru'
    assert one(v, "Ds. PekonBalak", "A")[0] == "2"
    assert one(v, "Kel. Kelapa Tujuh", "A")[:2] == ("3", 100.0)


def test_short_names_need_equal_letters():
    v = pd.DataFrame({"name": ["Way", "Bumi Jaya"], "kecamatan": ["A", "A"]}, index=["1", "2"])
    assert pd.isna(one(v, "Wey", "A")[0])  # 3 letters: no typo allowed
    assert one(v, "W A Y", "A")[0] == "1"  # spaces aside, equal
    assert one(v, "Bumijya", "A")[0] == "2"  # 8 letters: one edit


def test_missing_names_and_index_preserved(tiny):
    table = pd.DataFrame(
        {
            "desa": ["Way Huwi", None, "  ", "Way Huwi"],
            "kec": ["Jati Agung", "Natar", "Natar", None],
        },
        index=pd.Index(["b", "a", "d", "c"], name="umkm"),
    )
    out = match_villages(table, tiny, desa_col="desa", kecamatan_col="kec")
    assert out.index.equals(table.index)
    assert out["desa"].tolist() == table["desa"].tolist()
    assert out["village_id"].tolist() == ["18.01.13.2001", pd.NA, pd.NA, "18.01.13.2001"]
    assert out["match_note"].tolist()[1:3] == ["desa name is missing"] * 2
    assert out["village_id"].dtype == "string"


def test_errors(tiny):
    table = pd.DataFrame({"desa": ["Way Huwi"]})
    with pytest.raises(InputError, match=r"desa_col='nama_desa' is not a column of the register"):
        match_villages(table, tiny, desa_col="nama_desa")
    with pytest.raises(InputError, match="kecamatan_col='kec' is not a column"):
        match_villages(table, tiny, desa_col="desa", kecamatan_col="kec")
    no_parents = tiny.drop(columns=["kecamatan"])
    with pytest.raises(InputError, match="attach_parent_names"):
        match_villages(table.assign(kec="Natar"), no_parents, desa_col="desa", kecamatan_col="kec")
    with pytest.raises(UnknownOptionError, match="Did you mean 'desa_col'"):
        match_villages(table, tiny, desa="desa")
    with pytest.raises(InputError, match="table should be a DataFrame"):
        match_villages(["Way Huwi"], tiny, desa_col="desa")


def test_vectorised_over_unique_names(tiny, monkeypatch):
    """Many rows with the same few names: rapidfuzz sees each (scope, name) pair once."""
    import blankspot.matching as m

    seen = []
    real = m.process.cdist

    def spy(queries, choices, **kw):
        seen.append(len(queries))
        return real(queries, choices, **kw)

    monkeypatch.setattr(m.process, "cdist", spy)
    table = pd.DataFrame({"desa": ["Wayhuwi", "Way Huwi", "Sukamju"] * 1000, "kec": "Jati Agung"})
    out = match_villages(table, tiny, desa_col="desa", kecamatan_col="kec")
    assert out["village_id"].notna().all()
    # one scope, two names not found as typed; three distances, two ratios
    assert seen == [2] * 5


# ------------------------------------------------------------------ the real Lampung names


def _typo(rng: np.random.Generator, name: str) -> str:
    letters = [i for i, ch in enumerate(name) if ch.isalpha()]
    i = int(rng.choice(letters[1:]))  # clerks rarely get the first letter wrong
    kind = rng.integers(4)
    alphabet = "abcdefghijklmnopqrstuvwxyz"
    if kind == 0:  # substitute
        ch = rng.choice([c for c in alphabet if c != name[i].lower()])
        return name[:i] + str(ch) + name[i + 1 :]
    if kind == 1:  # delete
        return name[:i] + name[i + 1 :]
    if kind == 2:  # insert
        return name[:i] + str(rng.choice(list(alphabet))) + name[i:]
    j = i - 1 if name[i - 1].isalpha() else i  # swap with the previous letter
    return name[: j - 1] + name[j] + name[j - 1] + name[j + 1 :] if j > 0 else name


def _to_arabic(name: str) -> str:
    values = {"I": 1, "II": 2, "III": 3, "IV": 4, "V": 5, "VI": 6, "VII": 7, "VIII": 8, "IX": 9}
    return " ".join(str(values.get(w, w)) for w in name.split())


@pytest.fixture(scope="module")
def lampung() -> pd.DataFrame:
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real data folder {SHARED_DATA} not present")
    base = SHARED_DATA / "lampung_boundaries"
    v = read_villages(str(base / "wilayah_boundaries_kel_18.*.geojson"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", BlankspotWarning)  # the kab file's 18.1 -> 18.10
        v = attach_parent_names(
            v,
            kecamatan=base / "wilayah_boundaries_kec_18.geojson",
            kabupaten=base / "wilayah_boundaries_kab_18.geojson",
        )
    return pd.DataFrame(v.drop(columns="geometry"))


def _register(v: pd.DataFrame, seed: int = 12) -> pd.DataFrame:
    """Typed variants of every real village, with the true id and whether it is findable."""
    rng = np.random.default_rng(seed)
    kab_short = v["kabupaten"].str.replace(r"^(Kabupaten|Kota) ", "", regex=True)
    # names as the matcher sees them, per kecamatan: a typo landing on another village's
    # name is undetectable by anyone, so such variants are not generated
    key = normalise_names(v["name"]).str.replace(" ", "")
    taken = set(zip(v["kecamatan_code"], key, strict=True))
    rows = []
    prefixes = ["Desa ", "Ds. ", "Ds.", "Kel. ", "Kelurahan ", "Pekon ", "Tiyuh ", "Kampung "]
    for vid, name, kec, kab, kab_s, code in zip(
        v.index,
        v["name"],
        v["kecamatan"],
        v["kabupaten"],
        kab_short,
        v["kecamatan_code"],
        strict=True,
    ):
        variants = {
            "exact": name,
            "prefix": str(rng.choice(prefixes)) + name,
            "case": name.upper() if rng.random() < 0.5 else name.lower(),
            "spacing": "  " + name.replace(" ", "  ") + " ",
            "joined": name.replace(" ", "") if " " in name else None,
            "numerals": _to_arabic(name) if _to_arabic(name) != name else None,
        }
        variants["typo"] = _typo(rng, name)
        for kind, typed in variants.items():
            if typed is None:
                continue
            kec_typed = {0: kec, 1: "Kec. " + kec, 2: kec.upper()}[int(rng.integers(3))]
            kab_typed = {0: kab, 1: "Kab. " + kab_s, 2: kab_s}[int(rng.integers(3))]
            rows.append((typed, kec_typed, kab_typed, vid, kind, code))
    reg = pd.DataFrame(rows, columns=["desa", "kec", "kab", "truth", "kind", "code"])
    tkey = normalise_names(reg["desa"]).str.replace(" ", "")
    clash = [
        kind == "typo" and (code, k) in taken
        for kind, code, k in zip(reg["kind"], reg["code"], tkey, strict=True)
    ]
    return reg[~np.array(clash)].drop(columns="code").reset_index(drop=True)


@pytest.mark.slow  # reading the 2,640 real polygons takes about 15 s on a busy machine
@pytest.mark.realdata
def test_real_lampung_register(lampung):
    reg = _register(lampung)
    out = match_villages(reg, lampung, desa_col="desa", kecamatan_col="kec", kabupaten_col="kab")
    got = out["village_id"]
    matched = got.notna().to_numpy()
    wrong = matched & (got.fillna("").to_numpy() != reg["truth"].to_numpy())
    assert not wrong.any(), out[wrong].head()  # precision 100 %
    recall = matched.mean()
    by_kind = pd.Series(matched).groupby(reg["kind"].to_numpy()).mean()
    assert recall >= 0.95, by_kind
    assert by_kind["exact"] == 1.0 and by_kind["prefix"] == 1.0 and by_kind["case"] == 1.0
    assert by_kind["numerals"] == 1.0 and by_kind["spacing"] == 1.0
    assert by_kind["typo"] >= 0.85, by_kind
    # every unmatched row is explained, with the closest names or the ambiguity
    notes = out.loc[~matched, "match_note"]
    assert notes.str.contains(r"closest: '|ambiguous: ", regex=True).all(), notes.head()


@pytest.mark.slow  # reading the 2,640 real polygons takes about 15 s on a busy machine
@pytest.mark.realdata
def test_real_names_repeated_across_kecamatan(lampung):
    # names that occur in several kecamatan of one kabupaten: given only the kabupaten they are
    # ambiguous and never matched; given the kecamatan they match the right village
    dup = lampung[lampung.duplicated(["kabupaten", "name"], keep=False)]
    assert len(dup) > 50
    reg = pd.DataFrame({"desa": dup["name"], "kec": dup["kecamatan"], "kab": dup["kabupaten"]})
    no_kec = match_villages(reg, lampung, desa_col="desa", kabupaten_col="kab")
    assert no_kec["village_id"].isna().all()
    assert no_kec["match_note"].str.startswith("ambiguous: ").all()
    with_kec = match_villages(
        reg, lampung, desa_col="desa", kecamatan_col="kec", kabupaten_col="kab"
    )
    assert (with_kec["village_id"] == pd.Series(dup.index, index=dup.index)).all()


@pytest.mark.slow  # reading the 2,640 real polygons takes about 15 s on a busy machine
@pytest.mark.realdata
def test_real_absent_villages_are_never_matched(lampung):
    """Names not in the data (new desa, other numerals, made-up) stay unmatched, explained."""
    v = lampung
    numbered = v[v["name"].str.contains(r" II$")].head(10)
    fake = pd.DataFrame(
        {
            "desa": [n.replace(" II", " XI") for n in numbered["name"]]  # numeral not there
            + [n + " Baru Indah" for n in v["name"].head(10)]  # a split-off new desa
            + ["Qwertyuiop"] * 5,
            "kec": list(numbered["kecamatan"]) + list(v["kecamatan"].head(10)) + ["Natar"] * 5,
        }
    )
    out = match_villages(fake, v, desa_col="desa", kecamatan_col="kec")
    assert out["village_id"].isna().all(), out[out["village_id"].notna()]
    notes = out["match_note"]
    # 'Labuhan Ratu' is a kecamatan of Lampung Timur and of Bandar Lampung
    ambiguous = notes.str.startswith("kecamatan ambiguous: 'Labuhan Ratu' names 2 kecamatan")
    assert (ambiguous | notes.str.contains("; closest: ")).all(), notes
    assert "18.07.21, 18.71.14" in notes[ambiguous].iloc[0]


# ------------------------------------------------------------------ registers read and assessed


def test_register_read_and_assessed_in_counts_mode(villages, signal_tif, tmp_path):
    """A CSV register with names only: read, matched, assessed; nothing dropped."""
    from blankspot import assess, coverage, read_businesses

    v = villages.assign(kecamatan="Natar")
    csv = tmp_path / "umkm.csv"
    csv.write_text(
        "id_umkm;nama_usaha;desa;kec;karyawan\n"
        "A1;Warung;Ds. SATU;Kec. Natar;2\n"
        "A2;Toko;satu;Natar;1\n"
        "A3;Bengkel;Dua;Natar;3\n"
        "A4;Kedai;Tiga;Natar;1\n"
        "A5;Salon;Tigaa;Natar;1\n"  # 5 letters: one edit is allowed
        "A6;Jahit;Lima;Natar;1\n"  # no such desa
        "A7;Kopi;;Natar;1\n",  # no desa name
        encoding="utf-8",
    )
    reg = read_businesses(csv, villages=v, desa_col="desa", kecamatan_col="kec")
    assert reg.index.tolist() == ["A1", "A2", "A3", "A4", "A5", "A6", "A7"]
    assert reg.geometry.isna().all() and reg.crs == v.crs
    assert reg["village_id"].tolist()[:5] == [V1, V1, V2, V3, V3]
    assert reg["village_id"].isna().tolist() == [False] * 5 + [True] * 2
    assert reg["match_note"].iloc[4] == "fuzzy: 'Tigaa' -> 'Tiga'"
    assert reg["match_note"].iloc[6] == "desa name is missing"
    assert reg["rejected_reason"].isna().all()

    with pytest.warns(BlankspotWarning, match="2 of 7 register rows matched no village"):
        result = assess(v, reg, coverage.from_raster(signal_tif), crs="EPSG:32748")
    assert result.counts_mode and result.businesses is None
    acc = result.accounting
    # by hand: V1 2 businesses, fully covered; V2 1 business, 10/25 covered; V3 2, uncovered
    assert acc["input"] == 7 and acc["unmatched"] == 2
    assert acc["covered"] == pytest.approx(2 + 0.4)
    assert acc["uncovered"] == pytest.approx(0.6 + 2)
    assert acc["outside_villages"] == 0 and acc["rejected"] == 0
    parts = acc["covered"] + acc["uncovered"] + acc["outside_villages"] + acc["rejected"]
    assert parts + acc["unmatched"] == pytest.approx(acc["input"])
    assert result.unmatched.index.tolist() == ["A6", "A7"]
    assert result.unmatched["reason"].iloc[0].startswith("not found in kecamatan 'Natar'")
    assert any("matched no village by name" in n for n in result.notes)
    n_unc = result.villages["n_uncovered"]
    assert n_unc[V3] == pytest.approx(2.0) and n_unc[V2] == pytest.approx(0.6)

    # weights: the employees column, summed per village
    reg_w = read_businesses(
        csv, villages=v, desa_col="desa", kecamatan_col="kec", weight_col="karyawan"
    )
    with pytest.warns(BlankspotWarning):
        res_w = assess(v, reg_w, coverage.from_raster(signal_tif), crs="EPSG:32748")
    assert res_w.weight_col == "karyawan"
    w = res_w.villages["weighted_uncovered"]
    assert w[V2] == pytest.approx(3 * 0.6) and w[V3] == pytest.approx(2.0)


def test_register_errors(villages, tmp_path):
    from blankspot import read_businesses

    df = pd.DataFrame({"desa": ["Satu"], "lat": [-5.4], "lon": [105.2]})
    with pytest.raises(InputError, match="needs villages="):
        read_businesses(df, desa_col="desa")
    with pytest.raises(InputError, match="pass desa_col="):
        read_businesses(df, villages=villages)
    with pytest.raises(InputError, match="not both"):
        read_businesses(df, villages=villages, desa_col="desa", lon_col="lon", lat_col="lat")
    with pytest.raises(InputError, match="desa_col='nama_desa' is not a column"):
        read_businesses(df, villages=villages, desa_col="nama_desa")


def test_register_with_nothing_matched_is_an_error(villages, signal_tif):
    from blankspot import assess, coverage, read_businesses

    reg = read_businesses(
        pd.DataFrame({"desa": ["Lima", "Enam"]}), villages=villages, desa_col="desa"
    )
    with pytest.raises(InputError, match="None of the 2 register rows matched a village"):
        assess(villages, reg, coverage.from_raster(signal_tif), crs="EPSG:32748")
