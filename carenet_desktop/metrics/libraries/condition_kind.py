"""Which kind of Condition a record is: an *encounter diagnosis*, a *problem-list item / health concern*.

QI-Core 6 (the 2026 measures) splits Condition into two profiles, ``ConditionEncounterDiagnosis`` and
``ConditionProblemsHealthConcerns``, and a measure retrieves conditions of the kind it asks for (CMS146's
pharyngitis must be an encounter diagnosis, CMS2's bipolar disorder a problem-list item or health concern,
most others take either). QI-Core 4 (the 2025 measures) retrieved every Condition.

The rule - from the evidence a real file has, and from the profile where one is present:

1. **Profile first.** A Condition that claims one of the two QI-Core 6 Condition profiles is of that kind,
   and only that kind: a QI-Core engine retrieves it by that profile, whatever its category says. (The
   published 2026 test cases carry the encounter-diagnosis profile with category problem-list-item and
   expect an encounter diagnosis.)
2. **Otherwise the evidence** (no profile, or QI-Core 4's single ``qicore-condition`` profile, as in a real
   EHR export): an *encounter diagnosis* when its category is ``encounter-diagnosis`` or an Encounter lists
   it in ``Encounter.diagnosis``; a *problem-list item / health concern* when its category is
   ``problem-list-item`` or ``health-concern``. Both may hold (a problem-list item an encounter addressed).
3. **No evidence at all** (no kind profile, no category, not referenced by an encounter): both kinds, so an
   export that does not categorise its conditions loses nothing. A category that is neither (e.g. ``sdoh``)
   with no reference and no profile is neither kind: a QI-Core 6 measure does not count it.

The stored ``profile_kind`` column of conditions holds the kind of rule 1 (``profile_kind_of`` maps the
profile URLs; the FHIR reader sets it).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import numpy as np
import pandas as pd

from ..memo import ANY_PERIOD, remember

ENCOUNTER_DIAGNOSIS = "encounter-diagnosis"
PROBLEMS_HEALTH_CONCERNS = "problems-health-concerns"

_QICORE = "http://hl7.org/fhir/us/qicore/StructureDefinition/"
#: QI-Core 6 Condition profiles -> the kind they fix
PROFILE_KINDS = {
    _QICORE + "qicore-condition-encounter-diagnosis": ENCOUNTER_DIAGNOSIS,
    _QICORE + "qicore-condition-problems-health-concerns": PROBLEMS_HEALTH_CONCERNS,
}

_ED_CATEGORIES = ("encounter-diagnosis",)
_PHC_CATEGORIES = ("problem-list-item", "health-concern")
_TOKEN_SPLIT = re.compile(r"[\s,;|]+")


def profile_kind_of(profiles: Iterable[str]) -> str | None:
    """The kind a resource's ``meta.profile`` list fixes (None: no QI-Core 6 Condition profile).
    A resource claiming both profiles (invalid) is left to the evidence."""
    kinds = {PROFILE_KINDS[p.split("|", 1)[0]] for p in profiles if p.split("|", 1)[0] in PROFILE_KINDS}
    return kinds.pop() if len(kinds) == 1 else None


def _token_sets(values: pd.Series) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(encounter-diagnosis category, problem-list-item/health-concern category, no category) per row, from
    the distinct stored category strings ("a", "a,b", "a b" ...) tested once each."""
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    ed = np.zeros(len(uniques) + 1, dtype=bool)  # the extra slot: code -1 (missing)
    phc = np.zeros(len(uniques) + 1, dtype=bool)
    empty = np.zeros(len(uniques) + 1, dtype=bool)
    empty[-1] = True
    for i, value in enumerate(uniques):
        tokens = set(_TOKEN_SPLIT.split(str(value).strip().lower())) - {""}
        ed[i] = bool(tokens & set(_ED_CATEGORIES))
        phc[i] = bool(tokens & set(_PHC_CATEGORIES))
        empty[i] = not tokens
    return ed[codes], phc[codes], empty[codes]


def _referenced_ids(encounter_diagnoses: pd.DataFrame) -> np.ndarray:
    """The distinct condition ids ``Encounter.diagnosis`` names, computed once per evaluation (every
    measure asks; see ``metrics.memo``)."""
    return remember((encounter_diagnoses,), "referenced condition ids", lambda: _distinct_ids(encounter_diagnoses),
                    period=ANY_PERIOD)


def _distinct_ids(encounter_diagnoses: pd.DataFrame) -> np.ndarray:
    ids = pd.to_numeric(encounter_diagnoses["condition_id"], errors="coerce").dropna().to_numpy()
    return np.unique(ids.astype(np.float64))


def _referenced(encounter_diagnoses: pd.DataFrame, cond: pd.DataFrame) -> np.ndarray:
    """Conditions an Encounter lists in ``Encounter.diagnosis``."""
    if cond.empty or encounter_diagnoses.empty or "condition_id" not in encounter_diagnoses.columns:
        return np.zeros(len(cond), dtype=bool)
    ids = _referenced_ids(encounter_diagnoses)  # sorted, distinct
    if len(ids) == 0:
        return np.zeros(len(cond), dtype=bool)
    mine = pd.to_numeric(cond["event_id"], errors="coerce").to_numpy(dtype=np.float64)
    at = np.minimum(np.searchsorted(ids, mine), len(ids) - 1)  # a binary search per condition: few conditions
    return ids[at] == mine


def kinds(encounter_diagnoses: pd.DataFrame, cond: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """(is an encounter diagnosis, is a problem-list item or health concern) for every row of ``cond``."""
    n = len(cond)
    if n == 0:
        empty = np.zeros(0, dtype=bool)
        return empty, empty
    if "profile_kind" in cond.columns:
        profile = cond["profile_kind"].to_numpy(dtype=object)
        by_ed = profile == ENCOUNTER_DIAGNOSIS
        by_phc = profile == PROBLEMS_HEALTH_CONCERNS
    else:
        by_ed = by_phc = np.zeros(n, dtype=bool)
    profiled = by_ed | by_phc
    if "category" in cond.columns:
        ed, phc, no_category = _token_sets(cond["category"])
    else:
        ed, phc, no_category = np.zeros(n, dtype=bool), np.zeros(n, dtype=bool), np.ones(n, dtype=bool)
    ed = ed | _referenced(encounter_diagnoses, cond)
    unknown = no_category & ~ed & ~phc
    encounter_diagnosis = np.where(profiled, by_ed, ed | unknown)
    problem_or_concern = np.where(profiled, by_phc, phc | unknown)
    return encounter_diagnosis, problem_or_concern


def encounter_diagnosis(encounter_diagnoses: pd.DataFrame, cond: pd.DataFrame) -> np.ndarray:
    """``[ConditionEncounterDiagnosis]``: rows that are encounter diagnoses."""
    return kinds(encounter_diagnoses, cond)[0]


def problem_or_health_concern(encounter_diagnoses: pd.DataFrame, cond: pd.DataFrame) -> np.ndarray:
    """``[ConditionProblemsHealthConcerns]``: rows that are problem-list items or health concerns."""
    return kinds(encounter_diagnoses, cond)[1]


def either_kind(encounter_diagnoses: pd.DataFrame, cond: pd.DataFrame) -> np.ndarray:
    """``[ConditionEncounterDiagnosis] union [ConditionProblemsHealthConcerns]``."""
    ed, phc = kinds(encounter_diagnoses, cond)
    return ed | phc


__all__ = [
    "ENCOUNTER_DIAGNOSIS",
    "PROBLEMS_HEALTH_CONCERNS",
    "PROFILE_KINDS",
    "either_kind",
    "encounter_diagnosis",
    "kinds",
    "problem_or_health_concern",
    "profile_kind_of",
]
