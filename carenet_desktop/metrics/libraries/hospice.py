"""Hospice care in the measurement period (the eCQM library ``Hospice``, 2025 QI-Core version).

  has_hospice_services(data, period) -> pd.Index of patient_id with any of:
    * a performed inpatient encounter ("Encounter Inpatient") discharged to home or to a facility for
      hospice care, that ends during (day of) the period;
    * a performed "Hospice Encounter" overlapping (day of) the period;
    * a performed hospice assessment (LOINC 45755-6, survey) answered Yes, effective overlapping the period;
    * a "Hospice Care Ambulatory" order (active/completed, intent order) authored during the period;
    * a completed "Hospice Care Ambulatory" procedure overlapping the period;
    * a "Hospice Diagnosis" condition whose prevalence period overlaps the period.

The library is versioned with the measures (``HospiceRules``): this module is the 2025 edition
(Hospice 6.12.000 over Status 1.8.000); a later year passes its own rules (``libraries.y2026``) to the
same evaluation, which is why the status tests and the diagnosis filter are parameters.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, fields
from typing import Any

import numpy as np
import pandas as pd

from ..data import MeasureData
from ..memo import ANY_PERIOD, remember
from ..period import Period
from ..primitives import Iv, code_mask, ends_during, overlaps, point_in, vs_mask
from . import status

VS_ENCOUNTER_INPATIENT = "http://cts.nlm.nih.gov/fhir/ValueSet/2.16.840.1.113883.3.666.5.307"
VS_HOSPICE_ENCOUNTER = "http://cts.nlm.nih.gov/fhir/ValueSet/2.16.840.1.113883.3.464.1003.1003"
VS_HOSPICE_CARE_AMBULATORY = "http://cts.nlm.nih.gov/fhir/ValueSet/2.16.840.1.113883.3.526.3.1584"
VS_HOSPICE_DIAGNOSIS = "http://cts.nlm.nih.gov/fhir/ValueSet/2.16.840.1.113883.3.464.1003.1165"

#: direct-reference codes of the library
DISCHARGE_HOME_HOSPICE = ("snomed", "428361000124107")
DISCHARGE_FACILITY_HOSPICE = ("snomed", "428371000124100")
HOSPICE_CARE_MDS = ("loinc", "45755-6")
YES = ("snomed", "373066001")

VALUESETS = (VS_ENCOUNTER_INPATIENT, VS_HOSPICE_ENCOUNTER, VS_HOSPICE_CARE_AMBULATORY, VS_HOSPICE_DIAGNOSIS)


FrameTest = Callable[[pd.DataFrame], np.ndarray]


@dataclass(frozen=True)
class HospiceRules:
    """What one edition of the Hospice library counts: its status tests and which conditions it reads."""

    version: str
    encounter_performed: FrameTest
    assessment_performed: FrameTest
    intervention_order: FrameTest
    intervention_performed: FrameTest
    #: rows of the (value-set filtered) conditions frame the library retrieves; None = every condition
    diagnosis_filter: Callable[[MeasureData, pd.DataFrame], np.ndarray] | None = None


HOSPICE_2025 = HospiceRules(
    version="6.12.000",
    encounter_performed=status.encounter_performed,
    assessment_performed=status.assessment_performed,
    intervention_order=status.intervention_order,
    intervention_performed=status.intervention_performed,
)


#: the frames the answer reads (the memo's key): the 2026 diagnosis filter reads the encounters' diagnoses too
_FRAMES = ("encounters", "observations", "service_requests", "procedures", "conditions", "encounter_diagnoses")


def has_hospice_services(data: MeasureData, period: Period, rules: HospiceRules = HOSPICE_2025) -> pd.Index:
    """Patients with hospice services in ``period`` (see the module docstring), by ``rules``' edition.

    Most measures exclude hospice patients, so one evaluation asks the same question many times: the
    answer is remembered per (frames, value sets, period, rules) for the evaluation (``metrics.memo``).
    """
    objects = (*(getattr(data, name) for name in _FRAMES), data.valuesets)
    return remember(objects, ("hospice", rules), lambda: _has_hospice_services(data, period, rules), period=period)


def _has_hospice_services(data: MeasureData, period: Period, rules: HospiceRules) -> pd.Index:
    objects = (*(getattr(data, name) for name in _FRAMES), data.valuesets)
    # which rows are hospice services, and their times, do not depend on the period: found once for every
    # period of an evaluation (ANY_PERIOD; a few rows); a period tests their times
    ids = [pids[_IN_PERIOD[test](times, period)] for test, pids, times in
           remember(objects, ("hospice rows", rules), lambda: _hospice_rows(data, rules), period=ANY_PERIOD)]
    found = np.concatenate(ids) if ids else np.zeros(0, dtype=np.int64)
    return pd.Index(pd.unique(found), name="patient_id")


def _as_fields(iv: Iv) -> tuple[Any, ...]:
    return tuple(getattr(iv, f.name) for f in fields(Iv))


#: how a period tests the times of each kind of hospice row (``_hospice_rows``)
_IN_PERIOD: dict[str, Callable[[Any, Period], np.ndarray]] = {
    "ends": lambda times, period: ends_during(Iv(*times), period, "day"),
    "overlaps": lambda times, period: overlaps(Iv(*times), period, "day"),
    "authored": lambda times, period: point_in(times, period, "day"),
}


def _hospice_rows(data: MeasureData, rules: HospiceRules) -> list[tuple[str, np.ndarray, Any]]:
    """Per kind of hospice service (the module docstring's order): how a period tests it, the patient of each
    row and the rows' times (an interval's fields, or the order's authoredOn), of every date."""
    rows: list[tuple[str, np.ndarray, Any]] = []

    def keep(frame: pd.DataFrame, mask: np.ndarray) -> pd.DataFrame:
        return frame[mask] if mask.any() else frame.iloc[0:0]

    enc = data.encounters
    inpatient = keep(enc, vs_mask(data, enc, VS_ENCOUNTER_INPATIENT))
    if len(inpatient):
        discharged = code_mask(inpatient, *DISCHARGE_HOME_HOSPICE, column="discharge_key") | code_mask(
            inpatient, *DISCHARGE_FACILITY_HOSPICE, column="discharge_key"
        )
        sub = keep(inpatient, discharged & rules.encounter_performed(inpatient))
        rows.append(("ends", sub["patient_id"].to_numpy(), _as_fields(status.encounter_interval(sub))))
    sub = keep(enc, vs_mask(data, enc, VS_HOSPICE_ENCOUNTER))
    if len(sub):
        sub = keep(sub, rules.encounter_performed(sub))
        rows.append(("overlaps", sub["patient_id"].to_numpy(), _as_fields(status.encounter_interval(sub))))

    obs = data.observations
    sub = keep(obs, code_mask(obs, *HOSPICE_CARE_MDS))
    if len(sub):
        sub = keep(sub, rules.assessment_performed(sub) & code_mask(sub, *YES, column="value_key"))
        rows.append(("overlaps", sub["patient_id"].to_numpy(), _as_fields(status.effective_interval(sub))))

    sr = data.service_requests
    sub = keep(sr, vs_mask(data, sr, VS_HOSPICE_CARE_AMBULATORY))
    if len(sub):
        sub = keep(sub, rules.intervention_order(sub))
        rows.append(("authored", sub["patient_id"].to_numpy(), sub["authored_on"]))

    proc = data.procedures
    sub = keep(proc, vs_mask(data, proc, VS_HOSPICE_CARE_AMBULATORY))
    if len(sub):
        sub = keep(sub, rules.intervention_performed(sub))
        rows.append(("overlaps", sub["patient_id"].to_numpy(), _as_fields(status.performed_interval(sub))))

    cond = data.conditions
    sub = keep(cond, vs_mask(data, cond, VS_HOSPICE_DIAGNOSIS))
    if len(sub) and rules.diagnosis_filter is not None:
        sub = keep(sub, rules.diagnosis_filter(data, sub))
    if len(sub):
        rows.append(("overlaps", sub["patient_id"].to_numpy(), _as_fields(status.prevalence_interval(sub))))
    return rows


__all__ = ["HOSPICE_2025", "VALUESETS", "HospiceRules", "has_hospice_services"]
