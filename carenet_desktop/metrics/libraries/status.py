"""QI-Core status filters and condition helpers (the eCQM libraries ``Status`` and ``QICoreCommon``).

Every filter takes one frame of ``MeasureData`` and returns a boolean ndarray (row mask); use
``frame[mask]`` to filter. String comparisons are case-insensitive (data is stored lower-case).

Status (NCQA/QDM-style status rules):
  encounter_performed(enc)      status in finished, arrived, triaged, in-progress, onleave
  encounter_finished(enc)       status = finished
  procedure_performed(proc)     status ~ completed   (also isInterventionPerformed)
  intervention_performed(proc)  = procedure_performed
  immunization_administered(imm) status ~ completed
  observation_final(obs)        status in final, amended, corrected (isObservationBMI/BodyHeight/Weight)
  assessment_performed(obs)     observation_final and category survey
  laboratory_test_performed(obs) observation_final and category laboratory
  request_order(sr)             status in active, completed and intent = order
                                (isDiagnosticStudyOrder, isLaboratoryTestOrder, isInterventionOrder)
  diagnostic_study_order / laboratory_test_order / intervention_order = request_order
  medication_order(mr)          status in active, completed and intent = order   (isMedicationOrder)
  medication_active(mr)         status = active and intent = order               (isMedicationActive)

QICoreCommon:
  condition_active(cond)        clinicalStatus ~ active | recurrence | relapse   (isActive)
  problem_list_item(cond) / health_concern(cond) / encounter_diagnosis(cond)     category tests
  has_category(frame, code)     the category column holds ``code``
  prevalence_interval(cond) -> Iv   [start of onset, end of abatement]: a NULL onset is unbounded; a
                                NULL abatement is unbounded for active conditions; a condition that
                                is not active and has no abatement has a NULL interval (the reference
                                engine; see the function and clinical_quality_language#1305)
  encounter_interval(enc) -> Iv       Encounter.period (FHIRHelpers.ToInterval)
  effective_interval(obs) -> Iv       Observation.effective.toInterval()
  performed_interval(proc) -> Iv      Procedure.performed.toInterval()
  (the interval helpers honour the optional ``date_only`` column: see primitives.date_only_mask)
  has_value(obs) -> mask               Observation.value is not null
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..primitives import Iv, date_only_mask, has_token, status_in

ENCOUNTER_PERFORMED = ("finished", "arrived", "triaged", "in-progress", "onleave")
OBSERVATION_FINAL = ("final", "amended", "corrected")
ORDER_STATUSES = ("active", "completed")
ACTIVE_CLINICAL = ("active", "recurrence", "relapse")


def _intent_order(frame: pd.DataFrame) -> np.ndarray:
    return status_in(frame, "order", column="intent")


# ------------------------------------------------------------------------------------------ Status


def encounter_performed(enc: pd.DataFrame) -> np.ndarray:
    return status_in(enc, *ENCOUNTER_PERFORMED)


def encounter_finished(enc: pd.DataFrame) -> np.ndarray:
    return status_in(enc, "finished")


def procedure_performed(proc: pd.DataFrame) -> np.ndarray:
    return status_in(proc, "completed")


intervention_performed = procedure_performed


def immunization_administered(imm: pd.DataFrame) -> np.ndarray:
    return status_in(imm, "completed")


def observation_final(obs: pd.DataFrame) -> np.ndarray:
    return status_in(obs, *OBSERVATION_FINAL)


def assessment_performed(obs: pd.DataFrame) -> np.ndarray:
    return observation_final(obs) & has_category(obs, "survey")


def laboratory_test_performed(obs: pd.DataFrame) -> np.ndarray:
    return observation_final(obs) & has_category(obs, "laboratory")


def request_order(sr: pd.DataFrame) -> np.ndarray:
    """ServiceRequest active/completed with intent order."""
    return status_in(sr, *ORDER_STATUSES) & _intent_order(sr)


diagnostic_study_order = request_order
laboratory_test_order = request_order
intervention_order = request_order


def medication_order(mr: pd.DataFrame) -> np.ndarray:
    return status_in(mr, *ORDER_STATUSES) & _intent_order(mr)


def medication_active(mr: pd.DataFrame) -> np.ndarray:
    return status_in(mr, "active") & _intent_order(mr)


# ------------------------------------------------------------------------------------ QICoreCommon


def has_category(frame: pd.DataFrame, code: str) -> np.ndarray:
    if frame.empty or "category" not in frame.columns:
        return np.zeros(len(frame), dtype=bool)
    return has_token(frame["category"], code)


def condition_active(cond: pd.DataFrame) -> np.ndarray:
    return status_in(cond, *ACTIVE_CLINICAL, column="clinical_status")


def problem_list_item(cond: pd.DataFrame) -> np.ndarray:
    return has_category(cond, "problem-list-item")


def health_concern(cond: pd.DataFrame) -> np.ndarray:
    return has_category(cond, "health-concern")


def encounter_diagnosis(cond: pd.DataFrame) -> np.ndarray:
    return has_category(cond, "encounter-diagnosis")


def prevalence_interval(cond: pd.DataFrame) -> Iv:
    """QICoreCommon ``prevalenceInterval()`` for every row of the conditions frame.

    Active (active, recurrence, relapse): ``Interval[start of onset, end of abatement]`` (a NULL onset or
    abatement is a closed NULL boundary: unbounded).

    Any other clinical status (inactive, remission, resolved, or none at all) is written in QICoreCommon
    as a query over the abatement date ``(end of abatementInterval()) abatementDate return if abatementDate
    is null then Interval[onset, abatementDate) else Interval[onset, abatementDate]``. Read as an
    interval, no abatement would give an open NULL end (an unknown end after the onset); but a query over
    a single NULL source is NULL, so the reference engine (cql-execution, run by fqm-execution, which
    produces the published test cases) returns a NULL prevalence period, and every comparison with it is
    NULL: such a condition never counts. The specification is disputed on exactly this
    (cqframework/clinical_quality_language#1305: the ``let`` form and the ``if`` form behave differently);
    we follow the reference engine, for 2025 and 2026 alike (QICoreCommon 2.x and 4.x read the same).
    """
    active = condition_active(cond)
    iv = Iv.closed(cond["onset"], cond["abatement"], end_unbounded=active, start_unbounded=True,
                   date_only=date_only_mask(cond, "onset"))
    no_abatement = cond["abatement"].isna().to_numpy(dtype=bool) if len(cond) else np.zeros(0, dtype=bool)
    return _ends_apart(iv.where(active | ~no_abatement), cond, "abatement")


def _ends_apart(iv: Iv, frame: pd.DataFrame, end_column: str) -> Iv:
    """``iv`` with its end's precision read from ``end_column``'s own ``date_only`` flag (an onset instant
    with an abatement date: only the end is a date), when the frame says which values were dates."""
    if "date_only" not in frame.columns:
        return iv
    end = date_only_mask(frame, end_column)
    return iv.with_end_date_only(end if end is not None else np.zeros(len(frame), dtype=bool))


def encounter_interval(enc: pd.DataFrame) -> Iv:
    return _ends_apart(Iv.period(enc["start"], enc["end"], date_only_mask(enc, "start")), enc, "end")


def effective_interval(obs: pd.DataFrame) -> Iv:
    iv = Iv.choice(obs["effective_start"], obs["effective_end"], date_only_mask(obs, "effective_start"))
    return _ends_apart(iv, obs, "effective_end")


def performed_interval(proc: pd.DataFrame) -> Iv:
    iv = Iv.choice(proc["performed_start"], proc["performed_end"], date_only_mask(proc, "performed_start"))
    return _ends_apart(iv, proc, "performed_end")


def has_value(obs: pd.DataFrame) -> np.ndarray:
    """``Observation.value is not null`` (any of number, code or text present)."""
    if obs.empty:
        return np.zeros(0, dtype=bool)
    out = np.zeros(len(obs), dtype=bool)
    for col in ("value_num", "value_key", "value_text"):
        if col in obs.columns:
            v = obs[col]
            present = np.array(v.notna().to_numpy(), dtype=bool, copy=True)
            if col == "value_key":
                present = present & ~v.astype("string").isin(["", "|"]).fillna(False).to_numpy(dtype=bool)
            out = out | present
    return out
