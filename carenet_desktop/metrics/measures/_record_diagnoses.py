"""Which encounters of a measure's own records (``cms136.adhd_records``, ``cms177.mdd_records``) have a diagnosis of
some value sets, once for a pass.

CMS136 and CMS177 cut their records to a period's candidates (``_episodes.restrict``) and ask
``_episodes.encounter_diagnosis_in`` of the cut: a new frame in every period, so its diagnoses were tested again
each time (the value sets, the codes listed several in a cell, the linked conditions). The answer for an encounter
the cut keeps is decided by the records alone and the candidates: every diagnosis row of a kept encounter is
kept, so a code of the value sets on one of them counts in any period; a linked condition counts when it is kept,
which the cut decides by its patient being a candidate (its code is one the records were cut to). So the records'
diagnosis rows are tested once (``ANY_PERIOD``, kept for the pass) into the encounters with a coded diagnosis and
(encounter, the linked condition's patient) pairs, and a period keeps the pairs of its candidates.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..data import MeasureData
from ..memo import ANY_PERIOD, remember
from ..primitives import flag, vs_mask
from ._episodes import PatientSet, in_valuesets


def diagnosed_among(records: MeasureData, candidates: PatientSet, encounter_ids: object, *valuesets: str,
                    principal_only: bool = False) -> np.ndarray:
    """``encounter_diagnosis_in(restrict(records, candidates, ...), encounter_ids, *valuesets, principal_only=...)``
    for encounters that cut keeps (see the module docstring)."""
    ids = np.asarray(encounter_ids)
    ed = records.encounter_diagnoses
    if len(ids) == 0 or ed.empty:
        return np.zeros(len(ids), dtype=bool)
    coded, linked, patients = remember(
        (ed, records.conditions), ("record diagnoses", records.valuesets.keys(*valuesets), principal_only),
        lambda: _diagnosis_rows(records, valuesets, principal_only), period=ANY_PERIOD, for_pass=True)
    matched = np.concatenate([coded, linked[candidates.mask(patients)]]) if len(linked) else coded
    return flag(ids, pd.Index(matched))


def _diagnosis_rows(records: MeasureData, valuesets: tuple[str, ...],
                    principal_only: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The encounters one of whose diagnoses (the rank-1 one with ``principal_only``) has a code of ``valuesets``,
    and the (encounter, patient) of each diagnosis linked to a condition of ``valuesets`` (as
    ``_episodes._diagnosed_encounters`` tests them)."""
    ed = records.encounter_diagnoses
    if principal_only:
        rank = pd.to_numeric(ed["rank"], errors="coerce")
        ed = ed[(rank == 1).fillna(False).to_numpy(dtype=bool)]
    hit = in_valuesets(records, ed, *valuesets, column="key") if "key" in ed.columns else np.zeros(len(ed), bool)
    coded = pd.unique(ed["encounter_id"].to_numpy()[hit])
    cond = records.conditions
    none = np.zeros(0, dtype=np.int64)
    if cond.empty or "condition_id" not in ed.columns:
        return coded, none, none
    hits = cond.loc[vs_mask(records, cond, *valuesets), ["event_id", "patient_id"]]
    pairs = pd.DataFrame({"encounter_id": ed["encounter_id"].to_numpy(), "condition_id": ed["condition_id"].to_numpy()})
    pairs = pairs[pairs["condition_id"].isin(pd.Index(hits["event_id"])).to_numpy()]
    pairs = pairs.merge(hits, left_on="condition_id", right_on="event_id")
    return coded, pairs["encounter_id"].to_numpy(), pairs["patient_id"].to_numpy()
