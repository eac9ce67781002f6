"""Match registers that name villages (desa, kecamatan, kabupaten) to village ids.

A Dinas Koperasi UMKM register rarely has coordinates: each business carries the *names*
of its desa/kelurahan, kecamatan and kabupaten, typed by many clerks ("Ds. Way Huwi",
"WAY HUWI", "Wayhuwi"). :func:`match_villages` finds the village id of each row, or says
why it cannot, and never guesses between two villages.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from rapidfuzz import fuzz, process
from rapidfuzz.distance import OSA

from blankspot._errors import InputError
from blankspot._util import some
from blankspot._validate import check_options
from blankspot.io import _require_column

__all__ = ["match_villages", "normalise_names"]

log = logging.getLogger("blankspot")

#: Words a typed name may start with, by level (after lower-casing and removing punctuation).
#: Pekon (Tanggamus, Pesisir Barat, Lampung Barat, Pringsewu), Tiyuh (Tulang Bawang Barat)
#: and Kampung (Way Kanan, Lampung Tengah, Tulang Bawang) are Lampung's own words for desa.
PREFIXES = {
    "desa": ("desa", "ds", "kelurahan", "kel", "pekon", "tiyuh", "kampung"),
    "kecamatan": ("kecamatan", "kec"),
    "kabupaten": ("kabupaten", "kab", "kota", "kotamadya"),
}

#: A fuzzy match may differ from the official name by this many edits (insertions,
#: deletions, substitutions, swaps of neighbouring letters; spaces ignored) ...
MAX_EDITS = 1
#: ... or by two edits when the name (without spaces) has at least this many letters.
LONG_NAME = 12
#: Names shorter than this (without spaces) are matched only when equal (spaces aside).
MIN_FUZZY_LENGTH = 5

_ROMAN = re.compile(r"\b(?=[ivx]+\b)(x{0,3}(?:ix|iv|v?i{0,3}))\b")
_ROMAN_TAIL = re.compile(r"^[ivx]")
_ROMAN_VALUES = {"i": 1, "v": 5, "x": 10}


def _roman_to_int(token: str) -> int:
    total = 0
    for a, b in zip(token, [*token[1:], ""], strict=True):
        v = _ROMAN_VALUES[a]
        total += -v if b and _ROMAN_VALUES[b] > v else v
    return total


def _int_to_roman(m: re.Match[str]) -> str:
    n = int(m.group(0))
    if not 0 < n < 40:
        return m.group(0)
    tens, ones = divmod(n, 10)
    return "x" * tens + ["", "i", "ii", "iii", "iv", "v", "vi", "vii", "viii", "ix"][ones]


def _roman_repl(m: re.Match[str]) -> str:
    return str(_roman_to_int(m.group(1))) if m.group(1) else m.group(0)


def normalise_names(
    names: pd.Series, *, level: str = "desa", strip_prefixes: bool = True
) -> pd.Series:
    """Normalise typed place names so that spelling variants compare equal.

    Lower case, accents and apostrophes removed, punctuation to spaces, letters and digits
    split (``Sumberrejo2`` -> ``sumberrejo 2``), Roman numerals to Arabic (``II`` -> ``2``),
    leading zeros dropped, leading type words removed (see :data:`PREFIXES`; the last is
    kept when nothing else is left: ``Desa Kampung Baru`` -> ``baru``, ``Kampung`` ->
    ``kampung``), spaces collapsed.

    Parameters
    ----------
    names
        The names (missing values stay missing).
    level
        ``"desa"``, ``"kecamatan"`` or ``"kabupaten"``: which type words are removed.
    strip_prefixes
        Remove the leading type words (default). Official names can start with one too
        (``Kampung Baru``, ``Pekon Balak``), so matching compares both forms.

    Returns
    -------
    Series
        Same index, normalised text.

    Examples
    --------
    >>> import pandas as pd
    >>> normalise_names(pd.Series(["Ds. WAY  Huwi", "Sumber Rejo II", "Kel.Kedaton", "Pekon"]))
    0         way huwi
    1    sumber rejo 2
    2          kedaton
    3            pekon
    dtype: object
    >>> normalise_names(pd.Series(["Kab. Lampung Selatan"]), level="kabupaten").tolist()
    ['lampung selatan']
    """
    if level not in PREFIXES:
        raise InputError(f"level must be one of {', '.join(PREFIXES)}, got {level!r}.")
    s = names.astype("object").where(names.notna(), None)
    present = s.notna()
    t = s[present].astype(str)
    t = t.str.normalize("NFKD").str.encode("ascii", "ignore").str.decode("ascii").str.lower()
    t = t.str.replace(r"['`]", "", regex=True)
    t = t.str.replace(r"(?<=[a-z])(?=\d)|(?<=\d)(?=[a-z])", " ", regex=True)
    t = t.str.replace(r"[^a-z0-9]+", " ", regex=True).str.strip()
    words = "|".join(PREFIXES[level])
    if strip_prefixes:
        t = t.str.replace(rf"^(?:(?:{words}) )+(?=\S)", "", regex=True)
    t = t.str.replace(_ROMAN, _roman_repl, regex=True)
    t = t.str.replace(r"\b0+(?=\d)", "", regex=True)
    out = pd.Series(None, index=names.index, dtype="object")
    out[present] = t.to_numpy(dtype=object)
    return out


@dataclass(frozen=True)
class _Outcome:
    """Per query (row of a query frame): matched candidate id or None, score, kind, note."""

    ids: np.ndarray
    score: np.ndarray
    kind: np.ndarray  # "exact", "normalised", "fuzzy" or "none"
    note: np.ndarray
    name: np.ndarray  # the official name matched (for notes)


def _keys(raw: pd.Series, level: str) -> pd.DataFrame:
    key = normalise_names(raw, level=level)
    compact = key.str.replace(" ", "", regex=False)
    digits = key.str.findall(r"\d+").map(lambda d: " ".join(sorted(d)), na_action="ignore")
    # numerals written back in Roman letters, spaces removed: 'LabuhanRatuV' (the numeral
    # glued on, so not recognised) equals 'Labuhan Ratu V' in this form
    roman = compact.str.replace(r"\d+", _int_to_roman, regex=True)
    # with the type words kept: 'KampungBaru' (joined, so the type word is not seen) is
    # 'Kampung Baru' without its space
    full = normalise_names(raw, level=level, strip_prefixes=False)
    return pd.DataFrame(
        {
            "key": key,
            "compact": compact,
            "digits": digits,
            "roman": roman,
            "full": full,
            "full_compact": full.str.replace(" ", "", regex=False),
        }
    )


def _shown_id(candidate_id: Any) -> str:
    """Village ids as they are; parent ids without their internal 'kab:'/'kec:' tag."""
    return re.sub(r"^(?:kab|kec):", "", str(candidate_id))


def _closest(names: np.ndarray, scores: np.ndarray, n: int = 3) -> str:
    order = np.lexsort((names, -scores))[:n]
    return ", ".join(f"'{names[j]}' ({scores[j]:.0f})" for j in order)


def _resolve(
    query: pd.DataFrame,
    cand: pd.DataFrame,
    labels: dict[str, str],
    what: str,
    *,
    fuzzy_unscoped: bool = True,
) -> _Outcome:
    """Match ``query`` (scope, raw, key, compact, digits) within ``cand`` of the same scope.

    ``cand`` has scope, id, name, key, compact, digits. A normalised key that names one
    candidate in the scope matches; one naming several is ambiguous; otherwise the nearest
    candidate by edits (spaces ignored, numerals equal) matches when it is within the
    allowed edits and strictly nearer than every other candidate. With
    ``fuzzy_unscoped=False`` no fuzzy match is made in the unscoped ``"*"`` scope (rows that
    name no parent): a typo is only trusted within a named kecamatan or kabupaten.
    """
    n = len(query)
    ids = np.full(n, None, dtype=object)
    name = np.full(n, None, dtype=object)
    score = np.zeros(n, dtype="float64")
    kind = np.full(n, "none", dtype=object)
    note = np.full(n, None, dtype=object)
    if n == 0:
        return _Outcome(ids, score, kind, note, name)
    q = query.reset_index(drop=True)

    # 1. equal normalised keys, vectorised with a merge
    per_key = cand.groupby(["scope", "key"], sort=False).agg(
        n=("id", "size"), id=("id", "first"), name=("name", "first")
    )
    hit = q.join(per_key, on=["scope", "key"])
    nk = hit["n"].fillna(0).to_numpy()
    # spacing is a typing variant: 'CandiMas' is 'Candi Mas' as much as 'Candimas', so a
    # key naming one village is still ambiguous when another has the same letters
    forms = pd.concat(
        [
            cand[["scope", "id", "compact"]],
            cand[["scope", "id", "full_compact"]].set_axis(["scope", "id", "compact"], axis=1),
        ]
    ).drop_duplicates(["scope", "id", "compact"])
    same_letters = forms.groupby(["scope", "compact"], sort=False)["id"].agg(
        lambda x: sorted(x, key=str)
    )
    alike = q.join(same_letters.rename("alike"), on=["scope", "compact"])["alike"]
    n_alike = alike.map(len, na_action="ignore").fillna(0).to_numpy()
    nk = np.where((nk == 1) & (n_alike > 1), n_alike, nk)
    one = nk == 1
    ids[one] = hit["id"].to_numpy(dtype=object)[one]
    name[one] = hit["name"].to_numpy(dtype=object)[one]
    score[one] = 100.0
    official = hit["name"].astype(object).where(hit["name"].notna(), None).to_numpy()
    exact = one & (q["raw"].to_numpy(dtype=object) == official)
    kind[one] = "normalised"
    kind[exact] = "exact"
    note[one] = kind[one]
    many = nk > 1
    for i in np.flatnonzero(many):  # ids with the same letters: those of the key and more
        shown = ", ".join(_shown_id(j) for j in alike.iat[i])
        note[i] = (
            f"ambiguous: {q.at[i, 'raw']!r} names {len(alike.iat[i])} {what} in "
            f"{labels[q.at[i, 'scope']]} ({shown}); give the parent name or the code"
        )

    # 2. fuzzy, one scope at a time, over the queries no key matched
    todo = np.flatnonzero(nk == 0)
    by_scope = cand.groupby("scope", sort=False).indices
    for s, rows in pd.Series(todo).groupby(q["scope"].to_numpy()[todo]).groups.items():
        qi = todo[np.asarray(rows)]
        ci = by_scope.get(s)
        if ci is None:
            note[qi] = f"no {what} in {labels.get(s, s)}"
            continue
        c = cand.iloc[ci]
        qq = q.iloc[qi]

        def pairwise(
            qcol: str, ccol: str, scorer: Any, qq: pd.DataFrame = qq, c: pd.DataFrame = c
        ) -> np.ndarray:
            return np.asarray(
                process.cdist(qq[qcol].tolist(), c[ccol].tolist(), scorer=scorer, workers=1),
                dtype="float64",
            )

        dist = np.minimum.reduce(
            [
                pairwise("compact", "compact", OSA.distance),
                pairwise("compact", "full_compact", OSA.distance),
                pairwise("full_compact", "full_compact", OSA.distance),
            ]
        )
        ratio = np.maximum(pairwise("key", "key", fuzz.ratio), pairwise("full", "full", fuzz.ratio))
        numerals_differ = qq["digits"].to_numpy()[:, None] != c["digits"].to_numpy()[None, :]
        same_roman = qq["roman"].to_numpy()[:, None] == c["roman"].to_numpy()[None, :]
        dist[numerals_differ] = np.where(same_roman[numerals_differ], 0.0, np.inf)
        length = qq["compact"].str.len().to_numpy()
        allowed = np.where(length < MIN_FUZZY_LENGTH, 0, np.where(length >= LONG_NAME, 2, 1))
        allowed = np.minimum(allowed, MAX_EDITS + (length >= LONG_NAME))
        best = dist.min(axis=1)
        n_best = (dist == best[:, None]).sum(axis=1)
        arg = dist.argmin(axis=1)
        ok = (best <= allowed) & (n_best == 1)
        cnames = c["name"].to_numpy(dtype=object)
        cids = c["id"].to_numpy(dtype=object)
        qcompact = qq["compact"].to_numpy(dtype=object)
        ccompact = c["compact"].to_numpy(dtype=object)
        for j, i in enumerate(qi):
            raw = q.at[i, "raw"]
            extra = qcompact[j][len(ccompact[arg[j]]) :]
            if ok[j] and qcompact[j].startswith(ccompact[arg[j]]) and _ROMAN_TAIL.match(extra):
                # 'Labuhan RatuV' or 'Labuhan Ratu Ie' is a numeral added (perhaps mistyped),
                # not a typo of 'Labuhan Ratu'
                note[i] = (
                    f"not found in {labels[s]}: {raw!r} looks like {cnames[arg[j]]!r} with a "
                    f"numeral {extra.upper()!r} added, which is not there; closest: "
                    + _closest(cnames.astype(str), ratio[j])
                )
                continue
            if ok[j] and s == "*" and not fuzzy_unscoped:
                note[i] = (
                    f"not found as typed in {labels[s]}, and no kecamatan or kabupaten was "
                    f"given for the row: a misspelt name is only matched within a named "
                    f"kecamatan or kabupaten (kecamatan_col=, kabupaten_col=); closest: "
                    + _closest(cnames.astype(str), ratio[j])
                )
                continue
            if ok[j]:
                ids[i] = cids[arg[j]]
                name[i] = cnames[arg[j]]
                score[i] = round(float(ratio[j, arg[j]]), 1)
                kind[i] = "fuzzy"
                note[i] = f"fuzzy: {raw!r} -> {cnames[arg[j]]!r}"
                continue
            closest = _closest(cnames.astype(str), ratio[j])
            if np.isfinite(best[j]) and best[j] <= allowed[j]:
                tied = np.flatnonzero(dist[j] == best[j])
                tied = tied[np.lexsort((cids[tied].astype(str), cnames[tied].astype(str)))]
                same = len(set(cnames[tied])) == 1
                shown = ", ".join(
                    f"{cnames[t]!r} {_shown_id(cids[t])}" if same else repr(cnames[t]) for t in tied
                )
                note[i] = (
                    f"ambiguous: {raw!r} is equally close to {len(tied)} {what} in "
                    f"{labels[s]} ({shown})"
                )
            else:
                note[i] = f"not found in {labels[s]}; closest: {closest}"
    return _Outcome(ids, score, kind, note, name)


def _require_names(villages: pd.DataFrame, col: str, option: str) -> None:
    if col not in villages.columns or villages[col].isna().all():
        hint = (
            "Fill them with blankspot.attach_parent_names(villages, kecamatan=..., "
            "kabupaten=...) (e.g. from wilayah_boundaries_kec_18.geojson)"
            if col != "name"
            else "Pass name_col= to read_villages"
        )
        raise InputError(
            f"{option} was given but the villages have no {col!r} names to match it against. "
            f"{hint}, or leave {option} out."
        )
    missing = villages[col].isna() | (villages[col].astype(str).str.strip() == "")
    if missing.any():
        raise InputError(
            f"{int(missing.sum())} villages have no {col!r} name "
            f"({some(villages.index[missing.to_numpy()])}); every village needs one to be "
            f"matched by {option}. Fill them (attach_parent_names) or leave {option} out."
        )


def _parent_ids(villages: pd.DataFrame, level: str) -> pd.Series:
    """Identity of each village's kabupaten/kecamatan: its code, else its normalised name."""
    code_col = f"{level}_code"
    if code_col in villages.columns and villages[code_col].notna().all():
        return villages[code_col].astype(str)
    key = normalise_names(villages[level], level=level).fillna("")
    if level == "kecamatan" and "kabupaten" in villages.columns:
        key = _parent_ids(villages, "kabupaten") + "/" + key
    return key.astype(str)


def _as_text(values: pd.Series) -> pd.Series:
    """Typed names as text; missing or blank -> None."""
    s = values.astype("object").where(values.notna(), None)
    text = s.map(lambda v: str(v).strip(), na_action="ignore")
    return text.where(text.notna() & (text != ""), None)


def _query(raw: pd.Series, scope: pd.Series, level: str) -> tuple[pd.DataFrame, np.ndarray]:
    """Return the unique (scope, raw) pairs to match and each row's position among them."""
    pairs = pd.DataFrame({"scope": scope.to_numpy(dtype=object), "raw": raw.to_numpy(dtype=object)})
    codes, _ = pd.factorize(pd.MultiIndex.from_frame(pairs.astype(str)))
    u = pairs.iloc[pd.Series(np.arange(len(pairs))).groupby(codes).first().to_numpy()]
    u = u.reset_index(drop=True)
    u = pd.concat([u, _keys(u["raw"], level)], axis=1)
    return u, codes


def _candidates(
    villages: pd.DataFrame, ids: pd.Series, names: pd.Series, scopes: list[pd.Series], level: str
) -> pd.DataFrame:
    base = pd.DataFrame({"id": ids.to_numpy(), "name": names.astype(str).to_numpy()})
    base = pd.concat([base, _keys(pd.Series(base["name"]), level).reset_index(drop=True)], axis=1)
    parts = []
    for scope in scopes:
        part = base.assign(scope=scope.to_numpy())
        parts.append(part.drop_duplicates(["scope", "id"]))
    return pd.concat(parts, ignore_index=True)


@check_options
def match_villages(
    table: pd.DataFrame,
    villages: pd.DataFrame,
    *,
    desa_col: str,
    kecamatan_col: str | None = None,
    kabupaten_col: str | None = None,
) -> pd.DataFrame:
    """Find the village id of each row of a register that names its desa/kelurahan.

    Parent names are matched first (kabupaten, then kecamatan within it), then the
    desa/kelurahan within the named kecamatan (or the named kabupaten when a row has no
    kecamatan; the whole villages table when it names neither). Names are compared after
    :func:`normalise_names`; a name still not found is matched fuzzily within the same
    scope only, never when two villages are as close, and never for a row that names
    neither its kecamatan nor its kabupaten (a typo is trusted only within a named parent).

    Parameters
    ----------
    table
        The register, any DataFrame: one row per business (or any record).
    villages
        Villages as returned by :func:`blankspot.read_villages` (index = village id, column
        ``name``; ``kecamatan``/``kabupaten`` names when the matching columns are given, e.g.
        filled by :func:`blankspot.attach_parent_names`).
    desa_col
        Column of ``table`` with the desa/kelurahan name.
    kecamatan_col, kabupaten_col
        Columns with the kecamatan and kabupaten/kota names (recommended: village names
        repeat across Lampung, e.g. 'Sukamaju' or 'Kampung Baru').

    Returns
    -------
    DataFrame
        ``table`` (same index, same type) plus ``village_id`` (string, ``<NA>`` when
        unmatched), ``match_score`` (0-100: 100 for an exact or normalised match, the
        rapidfuzz ratio of the normalised names for a fuzzy one, the lowest of the levels
        when a parent name was matched fuzzily; 0 when unmatched) and ``match_note``
        (``"exact"``, ``"normalised"``, ``"fuzzy: 'Wayhuwi' -> 'Way Huwi'"``, or why the row
        is unmatched, with the three closest names and their scores).

    Raises
    ------
    InputError
        A named column is missing from ``table``, or the villages lack the names it needs.

    Notes
    -----
    Fuzzy rule: the name without spaces may differ from the official one by at most
    :data:`MAX_EDITS` edit (two from :data:`LONG_NAME` letters; none below
    :data:`MIN_FUZZY_LENGTH`), numerals must be equal (``Sumber Rejo 2`` never matches
    ``Sumber Rejo``), and the nearest village must be strictly nearer than any other in the
    scope. A typo that turns one village's name into another's cannot be detected and
    matches that other village. Cost: each unique (scope, name) pair is matched once, with
    one ``rapidfuzz.process.cdist`` per scope for the names not found as typed.

    Examples
    --------
    >>> import pandas as pd
    >>> villages = pd.DataFrame(
    ...     {"name": ["Way Huwi", "Sukarame II", "Sukarame"],
    ...      "kecamatan": ["Jati Agung", "Sukarame", "Sukarame"]},
    ...     index=["18.01.13.2001", "18.71.09.1001", "18.71.09.1002"])
    >>> register = pd.DataFrame({"desa": ["Ds. WAY HUWI", "Wayhuwi", "sukarame 2", "Sukarme"],
    ...                          "kec": ["Kec. Jati Agung", "Jati Agung", "Sukarame", "Sukarame"]})
    >>> out = match_villages(register, villages, desa_col="desa", kecamatan_col="kec")
    >>> out["village_id"].tolist()
    ['18.01.13.2001', '18.01.13.2001', '18.71.09.1001', '18.71.09.1002']
    >>> out["match_note"].tolist()
    ['normalised', "fuzzy: 'Wayhuwi' -> 'Way Huwi'", 'normalised', "fuzzy: 'Sukarme' -> 'Sukarame'"]
    """
    if not isinstance(table, pd.DataFrame):
        raise InputError(f"table should be a DataFrame, got {type(table).__name__}.")
    if not isinstance(villages, pd.DataFrame):
        raise InputError(
            f"villages should be a GeoDataFrame from read_villages, got {type(villages).__name__}."
        )
    origin = "the register"
    dcol = _require_column(table.columns, desa_col, option="desa_col", origin=origin)
    kcol = (
        _require_column(table.columns, kecamatan_col, option="kecamatan_col", origin=origin)
        if kecamatan_col is not None
        else None
    )
    bcol = (
        _require_column(table.columns, kabupaten_col, option="kabupaten_col", origin=origin)
        if kabupaten_col is not None
        else None
    )
    _require_names(villages, "name", "desa_col")
    if kcol is not None:
        _require_names(villages, "kecamatan", "kecamatan_col")
    if bcol is not None:
        _require_names(villages, "kabupaten", "kabupaten_col")

    n = len(table)
    vids = pd.Series(villages.index.astype(str), index=villages.index)
    labels: dict[str, str] = {"*": "the villages table"}
    vscopes: list[pd.Series] = [pd.Series("*", index=villages.index)]
    row_scope = pd.Series("*", index=range(n), dtype=object)
    failed = np.full(n, None, dtype=object)
    parent_score = np.full(n, 100.0)
    parent_note = np.full(n, "", dtype=object)

    def record_parent(out: _Outcome, codes: np.ndarray, named: np.ndarray, what: str) -> Any:
        got = out.ids[codes]
        bad = named & pd.isna(got)
        failed[bad & pd.isna(failed)] = [
            f"{what} {m}" for m in out.note[codes][bad & pd.isna(failed)]
        ]
        fz = named & (out.kind[codes] == "fuzzy")
        parent_score[fz] = np.minimum(parent_score[fz], out.score[codes][fz])
        parent_note[fz] = parent_note[fz] + "; " + what + " " + out.note[codes][fz]
        return got

    if bcol is not None:
        kab_id = "kab:" + _parent_ids(villages, "kabupaten")
        first = ~kab_id.duplicated()
        labels |= dict(
            zip(kab_id[first], "kabupaten " + villages["kabupaten"][first].map(repr), strict=True)
        )
        cand = _candidates(
            villages[first],
            kab_id[first],
            villages["kabupaten"][first],
            [pd.Series(["*"] * int(first.sum()))],
            "kabupaten",
        )
        raw = _as_text(table[bcol]).reset_index(drop=True)
        named = raw.notna().to_numpy()
        q, codes = _query(raw.where(raw.notna(), ""), pd.Series("*", index=raw.index), "kabupaten")
        got = record_parent(_resolve(q, cand, labels, "kabupaten"), codes, named, "kabupaten")
        row_scope[named & pd.notna(got)] = got[named & pd.notna(got)]
        vscopes.append(kab_id)
    if kcol is not None:
        kec_id = "kec:" + _parent_ids(villages, "kecamatan")
        first = ~kec_id.duplicated()
        lab = "kecamatan " + villages["kecamatan"][first].map(repr)
        if bcol is not None:
            lab = lab + " (" + vscopes[-1][first].map(labels) + ")"
        labels |= dict(zip(kec_id[first], lab, strict=True))
        parent_scopes = [pd.Series(["*"] * int(first.sum()))]
        if bcol is not None:
            parent_scopes.append(vscopes[-1][first])
        cand = _candidates(
            villages[first], kec_id[first], villages["kecamatan"][first], parent_scopes, "kecamatan"
        )
        raw = _as_text(table[kcol]).reset_index(drop=True)
        named = raw.notna().to_numpy() & pd.isna(failed)
        q, codes = _query(raw.where(raw.notna(), ""), row_scope, "kecamatan")
        got = record_parent(_resolve(q, cand, labels, "kecamatan"), codes, named, "kecamatan")
        row_scope[named & pd.notna(got)] = got[named & pd.notna(got)]
        vscopes.append(kec_id)

    cand = _candidates(villages, vids, villages["name"], vscopes, "desa")
    raw = _as_text(table[dcol]).reset_index(drop=True)
    has_name = raw.notna().to_numpy()
    go = has_name & pd.isna(failed)
    q, codes = _query(raw[go], row_scope[go], "desa")
    out = _resolve(q, cand, labels, "desa/kelurahan", fuzzy_unscoped=False)

    village_id = np.full(n, None, dtype=object)
    score = np.zeros(n)
    note = np.full(n, None, dtype=object)
    village_id[go] = out.ids[codes]
    matched = pd.notna(village_id)
    score[go] = out.score[codes]
    score[matched] = np.minimum(score[matched], parent_score[matched])
    note[go] = out.note[codes]
    note[matched] = note[matched] + parent_note[matched]
    note[~has_name & pd.isna(failed)] = "desa name is missing"
    note[pd.notna(failed)] = failed[pd.notna(failed)]
    score[~matched] = 0.0

    result = table.copy()
    if "village_id" in result.columns:
        log.info("match_villages replaces the register's own 'village_id' column")
    result["village_id"] = pd.array(village_id, dtype="string")
    result["match_score"] = score
    result["match_note"] = note
    n_matched = int(matched.sum())
    log.info(
        "match_villages: %d of %d rows matched (%d fuzzily); %d unmatched",
        n_matched,
        n,
        int(pd.Series(note).str.startswith("fuzzy").sum()),
        n - n_matched,
    )
    return result
