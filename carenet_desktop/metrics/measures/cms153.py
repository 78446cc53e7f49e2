"""CMS153 Chlamydia Screening in Women.

Follows the published CQL ``ChlamydiaScreeninginWomenFHIR`` 0.1.000 (QI-Core 4.1.1; Status, QICoreCommon,
Hospice, CumulativeMedicationDuration 2025 versions). Timing words as in the CQL: "during day of" compares
calendar days; "during"/"overlaps" without "day of" compare instants.

* initial population: female, age 16-24 at the end of the period, a performed qualifying visit within
  (day of) the period, and any sign of sexual activity:
  - a final/amended/corrected survey "Have you ever had vaginal intercourse" (LOINC 64728-9) answered Yes,
    effective on or before the end of the period;
  - a diagnosis (sexual activity, HIV, complications of pregnancy) whose prevalence period overlaps the period;
  - an active contraceptive order whose medication-request period overlaps the period;
  - a contraceptive order (active/completed) authored within (day of) the period;
  - a laboratory order (pregnancy test, Pap test, lab tests during pregnancy, STI tests) authored within
    (day of) the period;
  - a diagnostic-study order (studies during pregnancy) authored within (day of) the period;
  - a completed procedure indicating sexual activity performed within (day of) the period.
* denominator: the initial population.
* exclusions: hospice services in the period; or a pregnancy-test order authored in the period followed
  on the same day or within 6 days by an x-ray order or an isotretinoin order, when none of the other
  signs of sexual activity (everything above except the pregnancy test itself) is present.
* numerator: a final/amended/corrected laboratory "Chlamydia Screening" observation with a value whose
  latest time (end, else start) is within (day of) the period.
"""

from __future__ import annotations

from dataclasses import fields

import numpy as np
import pandas as pd

from .. import manifests
from ..catalogue import register
from ..data import MeasureData
from ..definition import MADIE, Group, Measure, Stratifier
from ..libraries import hospice, status
from ..libraries.medication import date_interval_overlaps, medication_request_period
from ..memo import ANY_PERIOD, remember
from ..period import Period
from ..primitives import (
    Iv,
    age_in_years_at,
    code_mask,
    date_only_mask,
    during,
    on_or_before_end,
    overlaps,
    point_in,
    status_in,
    vs_mask,
    within_days_after,
)

VS = "http://cts.nlm.nih.gov/fhir/ValueSet/"
OFFICE_VISIT = VS + "2.16.840.1.113883.3.464.1003.101.12.1001"
HOME_HEALTHCARE = VS + "2.16.840.1.113883.3.464.1003.101.12.1016"
PREVENTIVE_INITIAL_0_17 = VS + "2.16.840.1.113883.3.464.1003.101.12.1022"
PREVENTIVE_INITIAL_18_UP = VS + "2.16.840.1.113883.3.464.1003.101.12.1023"
PREVENTIVE_ESTABLISHED_0_17 = VS + "2.16.840.1.113883.3.464.1003.101.12.1024"
PREVENTIVE_ESTABLISHED_18_UP = VS + "2.16.840.1.113883.3.464.1003.101.12.1025"
TELEPHONE_VISITS = VS + "2.16.840.1.113883.3.464.1003.101.12.1080"
VIRTUAL_ENCOUNTER = VS + "2.16.840.1.113883.3.464.1003.101.12.1089"
PAP_TEST = VS + "2.16.840.1.113883.3.464.1003.108.12.1017"
LAB_TESTS_STI = VS + "2.16.840.1.113883.3.464.1003.110.12.1051"
CHLAMYDIA_SCREENING = VS + "2.16.840.1.113883.3.464.1003.110.12.1052"
LAB_TESTS_PREGNANCY = VS + "2.16.840.1.113883.3.464.1003.111.12.1007"
DIAGNOSTIC_STUDIES_PREGNANCY = VS + "2.16.840.1.113883.3.464.1003.111.12.1008"
PREGNANCY_TEST = VS + "2.16.840.1.113883.3.464.1003.111.12.1011"
COMPLICATIONS_OF_PREGNANCY = VS + "2.16.840.1.113883.3.464.1003.111.12.1012"
PROCEDURES_SEXUAL_ACTIVITY = VS + "2.16.840.1.113883.3.464.1003.111.12.1017"
DIAGNOSES_SEXUAL_ACTIVITY = VS + "2.16.840.1.113883.3.464.1003.111.12.1018"
HIV = VS + "2.16.840.1.113883.3.464.1003.120.12.1003"
CONTRACEPTIVE_MEDICATIONS = VS + "2.16.840.1.113883.3.464.1003.196.12.1080"
ISOTRETINOIN = VS + "2.16.840.1.113883.3.464.1003.196.12.1143"
XRAY_STUDY = VS + "2.16.840.1.113883.3.464.1003.198.12.1034"

QUALIFYING_ENCOUNTERS = (
    OFFICE_VISIT, PREVENTIVE_ESTABLISHED_18_UP, PREVENTIVE_INITIAL_18_UP, PREVENTIVE_INITIAL_0_17,
    PREVENTIVE_ESTABLISHED_0_17, HOME_HEALTHCARE, TELEPHONE_VISITS, VIRTUAL_ENCOUNTER,
)
#: direct-reference codes
SEXUAL_ACTIVITY_QUESTION = ("loinc", "64728-9")
YES = ("snomed", "373066001")
AGE_LOW, AGE_HIGH = 16, 24
#: an x-ray or isotretinoin order on the day of the pregnancy test or up to this many days later
EXCLUSION_DAYS = 6


def _ids(frame: pd.DataFrame, mask: np.ndarray) -> pd.Index:
    return pd.Index(pd.unique(frame["patient_id"].to_numpy()[np.asarray(mask, dtype=bool)]), name="patient_id")


def _of(data: MeasureData, frame: pd.DataFrame, *valuesets: str, ids: pd.Index | None = None) -> pd.DataFrame:
    """The rows of ``frame`` coded in the value sets (and of the patients ``ids``): filter first, as the
    value-set test is the most selective and every later test then runs on few rows."""
    keys = data.valuesets.keys(*valuesets)
    # the coded rows are the same in every period: derived once for a pass (a few rows of the frame)
    sub = remember((frame,), ("CMS153 coded rows", tuple(frame.columns), keys), lambda: frame[vs_mask(data, frame, *valuesets)],
                   period=ANY_PERIOD, for_pass=True)
    return sub if ids is None else sub[sub["patient_id"].isin(ids).to_numpy()]


def _signs_of_sexual_activity(data: MeasureData, period: Period, ids: pd.Index) -> dict[str, pd.Index]:
    """Each of the CQL's "Has ... Identifying Sexual Activity" definitions: the patients it holds for."""
    out: dict[str, pd.Index] = {}
    obs = data.observations
    sub = obs[code_mask(obs, *SEXUAL_ACTIVITY_QUESTION)]
    sub = sub[sub["patient_id"].isin(ids).to_numpy()]
    sub = sub[status.assessment_performed(sub) & code_mask(sub, *YES, column="value_key")]
    out["assessment"] = _ids(sub, on_or_before_end(status.effective_interval(sub), period))

    sub = _of(data, data.conditions, DIAGNOSES_SEXUAL_ACTIVITY, HIV, COMPLICATIONS_OF_PREGNANCY, ids=ids)
    out["diagnosis"] = _ids(sub, overlaps(status.prevalence_interval(sub), period))

    contraceptives = _of(data, data.medication_requests, CONTRACEPTIVE_MEDICATIONS, ids=ids)
    sub = contraceptives[status.medication_active(contraceptives)]
    mrp = medication_request_period(sub)
    out["active contraceptive"] = _ids(sub, date_interval_overlaps(mrp["start"], mrp["end"], period))
    sub = contraceptives[status.medication_order(contraceptives)]
    out["ordered contraceptive"] = _ids(sub, point_in(sub["authored_on"], period, "day"))

    sr = data.service_requests
    for name, valuesets in (
        ("pregnancy test", (PREGNANCY_TEST,)),
        ("other lab test", (PAP_TEST, LAB_TESTS_PREGNANCY, LAB_TESTS_STI)),
        ("diagnostic study", (DIAGNOSTIC_STUDIES_PREGNANCY,)),
    ):
        # isLaboratoryTestOrder and isDiagnosticStudyOrder are the same status rule
        sub = _of(data, sr, *valuesets, ids=ids)
        sub = sub[status.request_order(sub)]
        out[name] = _ids(sub, point_in(sub["authored_on"], period, "day"))

    sub = _of(data, data.procedures, PROCEDURES_SEXUAL_ACTIVITY, ids=ids)
    sub = sub[status.procedure_performed(sub)]
    out["procedure"] = _ids(sub, during(status.performed_interval(sub), period, "day"))
    return out


def _pregnancy_test_exclusion(data: MeasureData, period: Period, ids: pd.Index) -> pd.Index:
    """A pregnancy-test order in the period with an x-ray or isotretinoin order 0-6 days later."""
    sr = data.service_requests
    tests = _of(data, sr, PREGNANCY_TEST, ids=ids)
    tests = tests[status.laboratory_test_order(tests)]
    # full precision: a date-only authoredOn on the first or last day is not "during" the period in CQL
    tests = tests[point_in(tests["authored_on"], period, date_only=date_only_mask(tests, "authored_on"))]
    if tests.empty:
        return pd.Index([], name="patient_id")
    xrays = _of(data, sr, XRAY_STUDY, ids=ids)
    xrays = xrays[status.diagnostic_study_order(xrays)]
    accutane = _of(data, data.medication_requests, ISOTRETINOIN, ids=ids)
    accutane = accutane[status.medication_order(accutane)]
    hit = within_days_after(tests, xrays, "authored_on", "authored_on", EXCLUSION_DAYS) | within_days_after(
        tests, accutane, "authored_on", "authored_on", EXCLUSION_DAYS
    )
    return _ids(tests, hit)


def _qualifying_visit_patients(data: MeasureData, period: Period) -> pd.Index:
    sub = performed_visits(data)
    # their intervals too are the same in every period (kept for a pass as the ``Iv``'s fields)
    bounds = remember((sub,), ("CMS153 performed visits' intervals",),
                      lambda: tuple(getattr(status.encounter_interval(sub), f.name) for f in fields(Iv)),
                      period=ANY_PERIOD, for_pass=True)
    return _ids(sub, during(Iv(*bounds), period, "day"))


def performed_visits(data: MeasureData) -> pd.DataFrame:
    """The performed encounters of the qualifying value sets, of every date: the same in every period, so
    derived once for all the periods of an evaluation (``metrics.memo``, ``ANY_PERIOD``)."""

    def compute() -> pd.DataFrame:
        enc = data.encounters
        # most encounters are office visits: copy only the columns a period reads (its patients and the
        # encounter's interval; code and status tested here on the store's frame, factorised once)
        enc = enc[[c for c in ("patient_id", "start", "end", "date_only") if c in enc.columns]]
        return enc[vs_mask(data, data.encounters, *QUALIFYING_ENCOUNTERS) & status.encounter_performed(data.encounters)]

    keys = data.valuesets.keys(*QUALIFYING_ENCOUNTERS)
    return remember((data.encounters,), ("CMS153 performed visits", keys), compute, period=ANY_PERIOD, for_pass=True)


def _screened(data: MeasureData, ids: pd.Index, period: Period) -> pd.Index:
    sub = _of(data, data.observations, CHLAMYDIA_SCREENING, ids=ids)
    sub = sub[status.laboratory_test_performed(sub) & status.has_value(sub)]
    return _ids(sub, point_in(status.effective_interval(sub).latest(), period, "day"))


@register
class CMS153(Measure):
    id = "CMS153"
    title = "Chlamydia Screening in Women"
    version = "0.1.000"
    applies_to = (None, None)  # no newer FHIR version published: in force for 2026 too
    canonical = MADIE + "ChlamydiaScreeninginWomenFHIR"
    manifest = manifests.Y2025
    steward = "National Committee for Quality Assurance"
    description = (
        "Percentage of women 16-24 years of age who were identified as sexually active at any time during the "
        "measurement period and who had at least one test for chlamydia during the measurement period."
    )
    basis = "patient"
    improvement = "increase"
    groups = (Group("Chlamydia screening"),)
    stratifiers = (Stratifier("Age 16-20", 16, 20), Stratifier("Age 21-24", 21, 24))
    valuesets = tuple(sorted({
        *QUALIFYING_ENCOUNTERS, PAP_TEST, LAB_TESTS_STI, CHLAMYDIA_SCREENING, LAB_TESTS_PREGNANCY,
        DIAGNOSTIC_STUDIES_PREGNANCY, PREGNANCY_TEST, COMPLICATIONS_OF_PREGNANCY, PROCEDURES_SEXUAL_ACTIVITY,
        DIAGNOSES_SEXUAL_ACTIVITY, HIV, CONTRACEPTIVE_MEDICATIONS, ISOTRETINOIN, XRAY_STUDY, *hospice.VALUESETS,
    }))
    specification = {
        "age": "16 to 24 years old on the last day of the measurement period; female.",
        "anchor": "The measurement period.",
        "initial population": (
            "Women 16-24 with a performed office, preventive, home-health, telephone or virtual visit in the "
            "period, identified as sexually active: a 'Yes' answer to the vaginal-intercourse question by the "
            "end of the period; a sexual-activity, HIV or pregnancy-complication diagnosis overlapping the "
            "period; a contraceptive prescription active in or ordered during the period; a pregnancy, Pap, "
            "pregnancy-lab or STI lab order or a pregnancy diagnostic-study order in the period; or a "
            "procedure indicating sexual activity in the period."
        ),
        "denominator": "Equals the initial population.",
        "denominator exclusions": (
            "Hospice care during the period. Women identified only by a pregnancy test in the period that was "
            "followed, on the same day or within 6 days, by an x-ray or an isotretinoin order."
        ),
        "numerator": "A chlamydia test with a result during the period.",
        "strata": "Age 16-20 and 21-24 at the end of the period.",
        "source": "ChlamydiaScreeninginWomenFHIR 0.1.000 (QI-Core 4.1.1)",
    }

    def populations(self, data: MeasureData, period: Period) -> list[pd.DataFrame]:
        pats = data.patients
        age = age_in_years_at(pats["birth_date"], period.end)
        candidates = (age >= AGE_LOW) & (age <= AGE_HIGH) & status_in(pats, "female", column="sex")
        ids = pd.Index(pats["patient_id"].to_numpy()[candidates], name="patient_id")
        ids = ids[ids.isin(_qualifying_visit_patients(data, period))]
        if ids.empty:
            return [self._frame(ids, np.zeros(0, bool), np.zeros(0, bool))]
        signs = _signs_of_sexual_activity(data, period, ids)
        any_sign = np.zeros(len(ids), dtype=bool)
        for found in signs.values():
            any_sign |= ids.isin(found)
        ids = ids[any_sign]
        other = np.zeros(len(ids), dtype=bool)
        for name, found in signs.items():
            if name != "pregnancy test":
                other |= ids.isin(found)
        excluded = ids.isin(hospice.has_hospice_services(data, period)) | (
            ids.isin(_pregnancy_test_exclusion(data, period, ids)) & ~other
        )
        numerator = ids.isin(_screened(data, ids, period))
        return [self._frame(ids, excluded, numerator)]

    @staticmethod
    def _frame(ids: pd.Index, excluded: np.ndarray, numerator: np.ndarray) -> pd.DataFrame:
        return pd.DataFrame(
            {
                "patient_id": ids.to_numpy(),
                "initial-population": True,
                "denominator": True,
                "denominator-exclusion": np.asarray(excluded, dtype=bool),
                "numerator": np.asarray(numerator, dtype=bool),
            }
        )


__all__ = ["CMS153"]
