"""The 2026 edition of the shared libraries: QI-Core 6.0.0 with QICoreCommon 4.0.000, Status 1.15.000,
Hospice 6.18.000 and CumulativeMedicationDuration 6.0.000 (the 2026 measures name Status 1.13 and Hospice
6.15; the released content ships these, which read the same for what the measures use).

What changed from the 2025 edition (``edition.QICORE_2025``):

* ``isEncounterPerformed``: status ``finished`` only (2025 also took arrived, triaged, in-progress, onleave).
* ``isAssessmentPerformed``: final / amended / corrected; no ``survey`` category any more (the QI-Core 6
  ``ObservationScreeningAssessment`` profile stands for it), so a hospice assessment without the category
  counts.
* ``isLaboratoryTestPerformed``: final / amended / corrected; no ``laboratory`` category any more.
* Orders (``isMedicationOrder``, ``isMedicationActive``, ``isInterventionOrder`` ...): intent ``order`` or
  one of its specialisations (original-order, reflex-order, filler-order, instance-order).
* ``verified()``: a condition counts when its verification status is absent or confirmed, unconfirmed,
  provisional or differential (not refuted, not entered-in-error). Hospice reads it for its diagnosis.
* Conditions are retrieved by kind: encounter diagnosis or problem-list item / health concern
  (``condition_kind`` writes the rule down). Hospice takes either kind, verified.
* CumulativeMedicationDuration 6.0.000 computes as 4.1.000 (only its types changed): the edition keeps the
  same ``medication_request_period``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..data import MeasureData
from ..primitives import status_in
from . import condition_kind, status
from .edition import Libraries
from .hospice import HospiceRules

ORDER_INTENTS = ("order", "original-order", "reflex-order", "filler-order", "instance-order")
VERIFIED_STATUSES = ("confirmed", "unconfirmed", "provisional", "differential")


def encounter_performed(enc: pd.DataFrame) -> np.ndarray:
    return status_in(enc, "finished")


def assessment_performed(obs: pd.DataFrame) -> np.ndarray:
    return status.observation_final(obs)


def laboratory_test_performed(obs: pd.DataFrame) -> np.ndarray:
    return status.observation_final(obs)


def _order(frame: pd.DataFrame) -> np.ndarray:
    return status_in(frame, *ORDER_INTENTS, column="intent")


def request_order(frame: pd.DataFrame) -> np.ndarray:
    """Status active/completed and an order intent (ServiceRequest and MedicationRequest alike)."""
    return status_in(frame, *status.ORDER_STATUSES) & _order(frame)


def medication_active(mr: pd.DataFrame) -> np.ndarray:
    return status_in(mr, "active") & _order(mr)


def verified(cond: pd.DataFrame) -> np.ndarray:
    """Status ``verified()``: no verification status, or one of ``VERIFIED_STATUSES``."""
    if cond.empty:
        return np.zeros(0, dtype=bool)
    if "verification_status" not in cond.columns:
        return np.ones(len(cond), dtype=bool)
    values = cond["verification_status"].astype("string").fillna("").str.strip()
    return (values.eq("") | values.str.lower().isin(VERIFIED_STATUSES)).to_numpy(dtype=bool)


def hospice_diagnoses(data: MeasureData, cond: pd.DataFrame) -> np.ndarray:
    """Hospice 6.18: ``([ConditionProblemsHealthConcerns] union [ConditionEncounterDiagnosis]).verified()``."""
    return condition_kind.either_kind(data.encounter_diagnoses, cond) & verified(cond)


HOSPICE_2026 = HospiceRules(
    version="6.18.000",
    encounter_performed=encounter_performed,
    assessment_performed=assessment_performed,
    intervention_order=request_order,
    intervention_performed=status.intervention_performed,
    diagnosis_filter=hospice_diagnoses,
)

QICORE_2026 = Libraries(
    year=2026,
    model="QI-Core 6.0.0",
    versions=(("QICoreCommon", "4.0.000"), ("Status", "1.15.000"), ("Hospice", "6.18.000"),
              ("CumulativeMedicationDuration", "6.0.000")),
    encounter_performed=encounter_performed,
    assessment_performed=assessment_performed,
    laboratory_test_performed=laboratory_test_performed,
    medication_order=request_order,
    medication_active=medication_active,
    intervention_order=request_order,
    hospice=HOSPICE_2026,
    typed_conditions=True,
    verified=verified,
)

__all__ = ["HOSPICE_2026", "ORDER_INTENTS", "QICORE_2026", "verified"]
