"""Code normalisation and format checks for the code systems EHR exports carry (vectorised).

Exports spell the same code many ways: CVX ``3``/``03``/``003``, ICD-10 ``J020``/``J02.0``, CPT with a
modifier ``99213-25``, numbers that went through Excel (``99213.0``). Each system has one canonical
spelling here (the one the published value sets use) and a format check used when no catalogue of
known codes is loaded.
"""

from __future__ import annotations

import re

import pandas as pd

# format checks on the canonical spelling
PATTERNS: dict[str, str] = {
    "cvx": r"\d{2,3}",
    "icd10cm": r"[A-TV-Z]\d[0-9A-Z](\.[0-9A-Z]{1,4})?",
    "icd9cm": r"(\d{3}|V\d{2}|E\d{3})(\.\d{1,2})?",
    "loinc": r"\d{1,7}-\d",
    "cpt": r"\d{4}[0-9FTU]",
    "hcpcs": r"[A-V]\d{4}",
    "snomed": r"\d{6,18}",
    "rxnorm": r"\d{1,9}",
    "ndc": r"\d{11}",
    "cdt": r"D\d{4}",
}
SYSTEM_LABELS = {
    "cvx": "CVX", "icd10cm": "ICD-10-CM", "icd9cm": "ICD-9-CM", "loinc": "LOINC", "cpt": "CPT",
    "hcpcs": "HCPCS", "snomed": "SNOMED CT", "rxnorm": "RxNorm", "ndc": "NDC", "cdt": "CDT",
}
# spellings of code-system names seen in "Code Type" columns
SYSTEM_SYNONYMS: dict[str, str] = {
    "cvx": "cvx", "vaccine": "cvx",
    "icd10": "icd10cm", "icd10cm": "icd10cm", "icd-10": "icd10cm", "icd-10-cm": "icd10cm", "i10": "icd10cm",
    "icd9": "icd9cm", "icd9cm": "icd9cm", "icd-9": "icd9cm", "icd-9-cm": "icd9cm", "i9": "icd9cm",
    "loinc": "loinc", "lnc": "loinc", "ln": "loinc",
    "cpt": "cpt", "cpt4": "cpt", "cpt-4": "cpt", "c4": "cpt", "cptii": "cpt", "cpt2": "cpt",
    "hcpcs": "hcpcs", "hcpc": "hcpcs", "hcpcsii": "hcpcs", "hcpcs2": "hcpcs",
    "snomed": "snomed", "snomedct": "snomed", "snomed-ct": "snomed", "sct": "snomed", "sno": "snomed",
    "rxnorm": "rxnorm", "rxcui": "rxnorm", "rx": "rxnorm",
    "ndc": "ndc", "cdt": "cdt", "local": "local",
}


def system_from_text(values: pd.Series) -> pd.Series:
    """Map a 'code system' column to our short keys; URIs go through ``codes.system_key``."""
    from ...codes import system_key

    key = values.astype(str).str.strip().str.lower().str.replace(" ", "", regex=False)
    mapped = key.map(SYSTEM_SYNONYMS)
    uri = values.astype(str).str.strip()
    via_uri = uri.map(lambda u: system_key(u) if "://" in u or u.startswith("urn:") else None)
    return mapped.fillna(via_uri).where(key != "", None)


def _strip_excel_float(text: pd.Series) -> pd.Series:
    return text.str.replace(r"^(\d+)\.0+$", r"\1", regex=True)


def normalise(codes: pd.Series, systems: pd.Series) -> pd.Series:
    """Canonical spelling of each code given its (short-key) system; blanks stay ''."""
    text = _strip_excel_float(codes.astype(str).str.strip().str.upper())
    out = text.copy()
    for system in pd.unique(systems.dropna()):
        sel = systems == system
        if not sel.any():
            continue
        uniq = pd.Series(pd.unique(text[sel]), dtype=object)
        canonical = dict(zip(uniq, _normalise_one(uniq, str(system)), strict=True))
        out[sel] = text[sel].map(canonical)
    return out


def _normalise_one(text: pd.Series, system: str) -> pd.Series:
    if system == "cvx":
        digits = text.str.lstrip("0")
        numeric = digits.str.fullmatch(r"\d{1,3}")
        return digits.where(~numeric, digits.str.zfill(2)).where(text != "", "")
    if system in ("icd10cm", "icd9cm"):
        bare = text.str.replace(".", "", regex=False).str.replace(" ", "", regex=False)
        head_len = [4 if system == "icd9cm" and b.startswith("E") else 3 for b in bare]
        heads = pd.Series([b[:n] for b, n in zip(bare, head_len, strict=True)], index=bare.index)
        tails = pd.Series([b[n:] for b, n in zip(bare, head_len, strict=True)], index=bare.index)
        return heads.where(tails == "", heads + "." + tails)
    if system in ("cpt", "hcpcs"):
        return text.str.split(r"[-\s]", n=1, regex=True).str[0]  # drop modifiers (99213-25)
    if system == "loinc":
        return text.str.replace(r"^0+(?=\d)", "", regex=True)
    if system == "ndc":
        return _normalise_ndc(text)
    if system in ("snomed", "rxnorm"):
        return text.str.replace(r"^0+(?=\d)", "", regex=True)
    return text


def _normalise_ndc(text: pd.Series) -> pd.Series:
    """NDC 10-digit dashed forms (4-4-2, 5-3-2, 5-4-1) to the 11-digit 5-4-2 form."""
    parts = text.str.split("-", expand=True)
    if parts.shape[1] != 3:
        return text.str.replace("-", "", regex=False)
    return (parts[0].str.zfill(5) + parts[1].str.zfill(4) + parts[2].str.zfill(2)).fillna(
        text.str.replace("-", "", regex=False)
    )


def loinc_check_digit_ok(code: str) -> bool:
    """LOINC mod-10 check digit (the digit after the dash)."""
    m = re.fullmatch(r"(\d{1,7})-(\d)", code)
    if not m:
        return False
    digits = m.group(1)
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 0:
            d *= 2
            d = d // 10 + d % 10
        total += d
    return (10 - total % 10) % 10 == int(m.group(2))


def format_ok(codes: pd.Series, systems: pd.Series) -> pd.Series:
    """True where the (normalised) code has the format of its system; unknown systems pass."""
    ok = pd.Series(True, index=codes.index)
    for system in pd.unique(systems.dropna()):
        pattern = PATTERNS.get(str(system))
        if pattern is None:
            continue
        sel = systems == system
        uniq = pd.unique(codes[sel])
        good = {c: bool(re.fullmatch(pattern, c)) for c in uniq}
        if system == "loinc":
            good = {c: g and loinc_check_digit_ok(c) for c, g in good.items()}
        ok[sel] = codes[sel].map(good).to_numpy(dtype=bool)  # values, not a Series: pandas 2.x upcasts that
    return ok


def infer_system(codes: pd.Series, candidates: tuple[str, ...]) -> pd.Series:
    """For a column without a system: the first candidate system whose format the code matches.

    Codes are normalised per candidate before the check (so ``J020`` is recognised as ICD-10);
    codes no candidate fits get the first candidate (they are then reported as badly formed).
    """
    text = _strip_excel_float(codes.astype(str).str.strip().str.upper())
    uniq = pd.Series(pd.unique(text), dtype=object)
    found = pd.Series(None, index=uniq.index, dtype=object)
    for system in candidates:
        pending = found.isna()
        if not pending.any():
            break
        sub = uniq[pending]
        sys_series = pd.Series(system, index=sub.index)
        ok = format_ok(normalise(sub, sys_series), sys_series)
        found[ok[ok].index] = system
    return text.map(dict(zip(uniq, found.fillna(candidates[0]), strict=True)))
