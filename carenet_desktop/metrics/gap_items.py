"""Care gaps as the family hears them: each thing a child is missing once, in plain words.

A measure's gap rows overlap: a missing MenACWY dose is a gap of the MenACWY rate and of both
combination rates, a missed developmental screen one of its age rate and of the total, a short vaccine
series lists several vaccines in one row. :func:`gap_items` splits each gap row into the *items* it names
("MenACWY dose 1", "DTaP dose 4", "blood lead test", "well-child visit") so that the outreach worklist
can name each item once per child (:func:`bundle`), however many rates it appears in.

Item names are built column-wise; a measure without a rule here (a network-defined or custom measure)
gets its gap text as the item, so nothing is ever dropped.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

#: one item for every gap row of the measure (or of one of its rates: ``(measure, group_index)``)
FIXED_ITEMS: dict[str | tuple[str, int], str] = {
    "LSC": "blood lead test",
    "W30": "well-child visit",
    "WCV": "well-child visit",
    "DEV": "developmental screening",
    ("CMS155", 0): "BMI percentile",
    ("CMS155", 1): "nutrition counseling",
    ("CMS155", 2): "physical activity counseling",
    "CMS2": "depression screening",
    "MDS": "caregiver depression screening",
    "FLV": "fluoride varnish",
    "CMS74": "fluoride varnish",
    "VIS": "vision screening",
    ("SDOH", 0): "social needs screening",
    ("SDOH", 1): "social needs referral",
    "AMR": "asthma controller medication",
    "CMS136": "ADHD follow-up visit",
    "CMS153": "chlamydia screening",
}
#: measures whose gap text lists vaccine doses, "; "-separated ("DTaP #4 (has 3 of 4); MMR #1 ...")
DOSE_MEASURES = frozenset({"CMS117", "IMA"})
_DOSE = re.compile(r"^(?P<name>[A-Za-z][A-Za-z0-9/ ]*?) #(?P<first>\d+)(?:-#(?P<last>\d+))?\b")
_FROM_BIRTHDAY = re.compile(r"^(?P<name>[A-Za-z][A-Za-z0-9/ ]*?) \(from the \d+\w* birthday\)$")

#: columns :func:`gap_items` adds to a gap frame
ITEM_COLUMN = "item"


def dose_item(part: str) -> str:
    """``"DTaP #4 (has 3 of 4)"`` -> ``"DTaP dose 4"``; ``"PCV #3-#4 (...)"`` -> ``"PCV doses 3-4"``;
    ``"MenACWY (from the 11th birthday)"`` -> ``"MenACWY dose 1"``; anything else is kept as it is."""
    part = part.strip()
    match = _DOSE.match(part)
    if match is not None:
        first, last = match.group("first"), match.group("last")
        if last and last != first:
            return f"{match.group('name')} doses {first}-{last}"
        return f"{match.group('name')} dose {first}"
    match = _FROM_BIRTHDAY.match(part)
    if match is not None:
        return f"{match.group('name')} dose 1"
    return part


def _referral_item(text: str) -> str:
    """``"Specialist referral placed 2026-01-27: ..."`` -> ``"specialist referral outcome"``."""
    kind = text.split(" placed", 1)[0].strip()
    return f"{kind[:1].lower()}{kind[1:]} outcome" if kind else "referral outcome"


def gap_items(gaps: pd.DataFrame) -> pd.DataFrame:
    """The gap rows (``GAP_COLUMNS`` and whatever else they carry), one row per item each names, with
    the item's plain name in :data:`ITEM_COLUMN`; the gap row's own columns are repeated, except that a
    row listing several doses keeps in ``missing`` only the part about its item."""
    if gaps.empty:
        out = gaps.copy()
        out[ITEM_COLUMN] = pd.Series(dtype="object")
        return out
    measure = gaps["measure"].astype(str).to_numpy()
    group = gaps["group_index"].to_numpy(dtype=np.int64)
    missing = gaps["missing"].fillna("").astype(str).to_numpy()
    item = np.array(missing, dtype=object)
    for key, name in FIXED_ITEMS.items():
        mask = (measure == key[0]) & (group == key[1]) if isinstance(key, tuple) else measure == key
        item[mask] = name
    ref = measure == "REF"
    if ref.any():
        item[ref] = [_referral_item(t) for t in missing[ref]]
    doses = np.isin(measure, list(DOSE_MEASURES))
    out = gaps.assign(**{ITEM_COLUMN: item})
    if not doses.any():
        return out.reset_index(drop=True)
    split = out[doses].assign(**{ITEM_COLUMN: out.loc[doses, "missing"].fillna("").astype(str).str.split("; ")})
    split = split.explode(ITEM_COLUMN)
    split["missing"] = split[ITEM_COLUMN].str.strip()  # the "why" of each dose: its own part of the text
    split[ITEM_COLUMN] = split[ITEM_COLUMN].map(dose_item)
    return pd.concat([out[~doses], split], ignore_index=True)


def join_runs(keys: np.ndarray, values: np.ndarray, sep: str) -> tuple[np.ndarray, np.ndarray]:
    """For ``keys`` sorted so equal keys are adjacent: the distinct keys (in order) and, per key, its
    ``values`` joined with ``sep`` (one pass over plain lists: no per-group pandas objects)."""
    if len(keys) == 0:
        return keys[:0], np.zeros(0, dtype=object)
    starts = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]])
    ends = np.r_[starts[1:], len(keys)]
    texts = [str(v) for v in values]
    return keys[starts], np.array([sep.join(texts[a:b]) for a, b in zip(starts, ends, strict=True)], dtype=object)


def bundle(items: pd.DataFrame) -> pd.DataFrame:
    """One row per (patient, item) from :func:`gap_items` rows: the item's earliest due date, the
    measures it closes (sorted, comma-separated) and how many gap rows it stands for; sorted by patient,
    then item. Computed on integer codes (one sort, runs found by comparing neighbours): no groupby."""
    if items.empty:
        return pd.DataFrame({"patient_id": pd.Series(dtype="int64"), ITEM_COLUMN: pd.Series(dtype="object"),
                             "due_date": pd.Series(dtype="object"), "measures": pd.Series(dtype="object"),
                             "rows": pd.Series(dtype="int64")})
    pid = items["patient_id"].to_numpy(dtype=np.int64)
    item_code, item_names = pd.factorize(items[ITEM_COLUMN].astype(str).to_numpy(dtype=object), sort=True)
    measure_code, measure_names = pd.factorize(items["measure"].astype(str).to_numpy(dtype=object), sort=True)
    due = pd.to_datetime(items["due_date"], errors="coerce").to_numpy(dtype="datetime64[ns]").view(np.int64)
    order = np.lexsort((measure_code, item_code, pid))
    pid, item_code, measure_code, due = pid[order], item_code[order], measure_code[order], due[order]
    new_group = np.r_[True, (pid[1:] != pid[:-1]) | (item_code[1:] != item_code[:-1])]
    starts = np.flatnonzero(new_group)
    latest = np.iinfo(np.int64).max
    missing = due == np.iinfo(np.int64).min  # NaT: no due date (the earliest of the others counts)
    soonest = np.minimum.reduceat(np.where(missing, latest, due), starts)
    rows = np.diff(np.r_[starts, len(pid)])
    # each group's distinct measures, in order: the first of every (patient, item, measure) run
    first_measure = new_group | np.r_[True, measure_code[1:] != measure_code[:-1]]
    group_of = np.cumsum(new_group) - 1
    _, measures = join_runs(group_of[first_measure], np.asarray(measure_names, dtype=object)[measure_code[first_measure]],
                            ", ")
    days = pd.Series(np.where(soonest == latest, np.iinfo(np.int64).min, soonest).view("datetime64[ns]"))
    return pd.DataFrame({
        "patient_id": pid[starts],
        ITEM_COLUMN: np.asarray(item_names, dtype=object)[item_code[starts]],
        "due_date": np.where(days.notna(), days.dt.date.astype(object), None),
        "measures": measures,
        "rows": rows.astype(np.int64),
    })
