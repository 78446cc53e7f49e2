"""CMS155 Weight Assessment and Counseling for Nutrition and Physical Activity for Children/Adolescents.

Follows the published CQL ``WeightAssessmentandCounselingforNutritionandPhysicalActivityforChildrenand
AdolescentsFHIR`` 0.1.001 (QI-Core 4.1.1; FHIRHelpers 4.4.000, QICoreCommon 2.1.000, Hospice 6.12.000,
Status 1.8.000). Three rates share one initial population, denominator and exclusions:

1. BMI, height and weight: the CQL retrieves the QI-Core vital-sign profiles ``observation-bmi``,
   ``observation-bodyheight`` and ``observation-bodyweight``. We do not rely on ``meta.profile`` (an EHR
   export may not carry it): an observation is of a profile when it has that profile's fixed LOINC code
   (39156-5 BMI, 8302-2 body height, 29463-7 body weight). Each must be final/amended/corrected, have a
   value, and its effective time must lie within (day of) the period.
2. Nutrition counseling and 3. physical-activity counseling: a completed procedure of the value set
   performed within (day of) the period.

Strata (all three rates): age 3-11 and 12-17 at the end of the period.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import pandas as pd

from .. import gaps as gapkit
from .. import manifests
from ..catalogue import register
from ..data import MeasureData
from ..definition import MADIE, Group, Measure, Stratifier
from ..libraries import status
from ..libraries.edition import QICORE_2025, Libraries
from ..memo import ANY_PERIOD, in_several_periods, remember
from ..period import Period
from ..primitives import age_in_years_at, during, overlaps
from ..valuesets import code_key
from . import _immunization as imz
from ._visits import visit_patients

VS = "http://cts.nlm.nih.gov/fhir/ValueSet/"
COUNSELING_NUTRITION = VS + "2.16.840.1.113883.3.464.1003.195.12.1003"
COUNSELING_PHYSICAL_ACTIVITY = VS + "2.16.840.1.113883.3.464.1003.118.12.1035"
HOME_HEALTHCARE = VS + "2.16.840.1.113883.3.464.1003.101.12.1016"
OFFICE_VISIT = VS + "2.16.840.1.113883.3.464.1003.101.12.1001"
PREGNANCY = VS + "2.16.840.1.113883.3.526.3.378"
PREVENTIVE_GROUP_COUNSELING = VS + "2.16.840.1.113883.3.464.1003.101.12.1027"
PREVENTIVE_INITIAL = VS + "2.16.840.1.113883.3.464.1003.101.12.1022"
PREVENTIVE_INDIVIDUAL_COUNSELING = VS + "2.16.840.1.113883.3.464.1003.101.12.1026"
PREVENTIVE_ESTABLISHED = VS + "2.16.840.1.113883.3.464.1003.101.12.1024"
TELEPHONE_VISITS = VS + "2.16.840.1.113883.3.464.1003.101.12.1080"

QUALIFYING_ENCOUNTERS = (
    OFFICE_VISIT, PREVENTIVE_INDIVIDUAL_COUNSELING, PREVENTIVE_ESTABLISHED, PREVENTIVE_INITIAL,
    PREVENTIVE_GROUP_COUNSELING, HOME_HEALTHCARE, TELEPHONE_VISITS,
)

LOINC = "http://loinc.org"
#: fixed codes of the FHIR vital-sign profiles the CQL retrieves
BMI = code_key(LOINC, "39156-5")
BODY_HEIGHT = code_key(LOINC, "8302-2")
BODY_WEIGHT = code_key(LOINC, "29463-7")
VITAL_SIGNS = (BMI, BODY_HEIGHT, BODY_WEIGHT)
_VITAL_SIGN_KEYS = tuple(frozenset({key}) for key in VITAL_SIGNS)
#: what ``_vital_sign_flags`` reads of the observations (status, interval, value)
_VITAL_SIGN_COLUMNS = ("patient_id", "status", "effective_start", "effective_end", "date_only", "value_num",
                       "value_key", "value_text")

AGE_LOW, AGE_HIGH = 3, 17


#: which of the vital signs (order of ``VITAL_SIGNS``) must carry a value: all three in 2025 (each retrieve
#: says ``value is not null``); the 2026 version drops it for the BMI (``cms155_2026``)
VALUED_2025 = (True, True, True)


def _vital_sign_flags(data: MeasureData, ids: pd.Index, period: Period,
                      valued: tuple[bool, ...] = VALUED_2025) -> np.ndarray:
    """Per patient of ``ids`` (rows) and vital sign (columns: BMI, height, weight): an observation final/
    amended/corrected, effective within the period, with a value where ``valued`` asks for one."""
    obs = data.observations
    found = np.zeros((len(ids), len(VITAL_SIGNS)), dtype=bool)
    if obs.empty:
        return found
    if in_several_periods():
        sub, tags = _pass_vital_signs(obs, ids, period)
        with_value = status.has_value(sub)
    else:
        sub, tags = imz.coded_rows(obs, _VITAL_SIGN_KEYS, lambda rows: imz.patient_flag(rows["patient_id"], ids)
                                   & imz.starts_in_period(rows, "effective_start", period), columns=_VITAL_SIGN_COLUMNS)
        ok = status.observation_final(sub) & during(status.effective_interval(sub), period, precision="day")
        sub, tags = sub[ok], tags[ok]
        with_value = status.has_value(sub)
    pid = sub["patient_id"].to_numpy()
    for i in range(len(VITAL_SIGNS)):
        counted = imz.has_bit(tags, i) & (with_value if valued[i] else True)
        found[:, i] = imz.patient_flag(ids, pid[counted])
    return found


def _pass_vital_signs(obs: pd.DataFrame, ids: pd.Index, period: Period) -> tuple[pd.DataFrame, np.ndarray]:
    """In a pass over several periods: the vital signs ``_vital_sign_flags`` reads (patients of ``ids``, final,
    effective within the period) and their tags. Which observations are final vital signs, and their starts,
    are the same in every period: derived once for the pass (a few rows of the frame), each period testing
    those rows' starts, patients and intervals only."""
    at, tags, starts = remember((obs,), ("CMS155 final vital signs", _VITAL_SIGN_KEYS),
                                lambda: _final_vital_signs(obs), period=ANY_PERIOD, for_pass=True)
    lo = np.datetime64(period.start_ts.to_datetime64())
    hi = np.datetime64(period.end_exclusive.to_datetime64())
    inside = (starts >= lo) & (starts < hi)  # as ``imz.starts_in_period``
    inside[inside] = imz.patient_flag(obs["patient_id"].to_numpy()[at[inside]], ids)
    keep = np.zeros(len(obs), dtype=bool)
    keep[at[inside]] = True
    sub = obs.loc[keep, [c for c in _VITAL_SIGN_COLUMNS if c in obs.columns]]
    ok = during(status.effective_interval(sub), period, precision="day")
    return sub[ok], tags[inside][ok]


def _final_vital_signs(obs: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The observations with a vital sign's code that are final/amended/corrected (positions, in the frame's
    order), their tags (``imz.code_tags``) and their effective starts."""
    tags = imz.code_tags(obs, _VITAL_SIGN_KEYS)
    at = np.flatnonzero((tags != 0) & np.asarray(status.observation_final(obs), dtype=bool))
    return at, tags[at], pd.to_datetime(obs["effective_start"]).to_numpy()[at]


def _vital_signs_documented(data: MeasureData, ids: pd.Index, period: Period,
                            valued: tuple[bool, ...] = VALUED_2025) -> np.ndarray:
    """Per patient of ``ids``: a BMI, a height and a weight observation as ``_vital_sign_flags`` reads them."""
    return np.asarray(_vital_sign_flags(data, ids, period, valued).all(axis=1), dtype=bool)


#: how a gap names each vital sign of rate 1 (order of ``VITAL_SIGNS``)
VITAL_SIGN_NAMES = ("BMI percentile", "height", "weight")


def _counseled(data: MeasureData, ids: pd.Index, period: Period) -> tuple[np.ndarray, np.ndarray]:
    """Per patient of ``ids``: nutrition counseling, physical-activity counseling performed in the period."""
    proc = data.procedures
    if proc.empty:
        none = np.zeros(len(ids), dtype=bool)
        return none, none
    sets = [data.valuesets.keys(COUNSELING_NUTRITION), data.valuesets.keys(COUNSELING_PHYSICAL_ACTIVITY)]
    sub, tags = imz.coded_rows(proc, sets, lambda rows: imz.patient_flag(rows["patient_id"], ids)
                               & imz.starts_in_period(rows, "performed_start", period),
                               columns=("patient_id", "status", "performed_start", "performed_end", "date_only"))
    ok = status.intervention_performed(sub) & during(status.performed_interval(sub), period, precision="day")
    pid = sub["patient_id"].to_numpy()
    nutrition = imz.patient_flag(ids, pid[ok & imz.has_bit(tags, 0)])
    activity = imz.patient_flag(ids, pid[ok & imz.has_bit(tags, 1)])
    return nutrition, activity


def _pregnant(data: MeasureData, ids: pd.Index, period: Period, lib: Libraries = QICORE_2025) -> np.ndarray:
    """Per patient of ``ids``: a pregnancy (a Condition of either kind in QI-Core 6) whose prevalence period
    overlaps the period (ms precision)."""
    cond = data.conditions
    if cond.empty:
        return np.zeros(len(ids), dtype=bool)
    sub, _ = imz.coded_rows(cond, [data.valuesets.keys(PREGNANCY)], lambda rows: imz.patient_flag(rows["patient_id"], ids))
    sub = sub[lib.conditions_of_kind(data, sub, "either")]
    hit = overlaps(status.prevalence_interval(sub), period)
    return imz.patient_flag(ids, sub["patient_id"].to_numpy()[hit])


@register
class CMS155(Measure):
    id = "CMS155"
    title = "Weight Assessment and Counseling for Nutrition and Physical Activity for Children/Adolescents"
    version = "0.1.001"
    applies_to: ClassVar[tuple[int | None, int | None]] = (None, 2025)  # the 2026 version is in cms155_2026
    canonical = MADIE + "WeightAssessmentandCounselingforNutritionandPhysicalActivityforChildrenandAdolescentsFHIR"
    manifest = manifests.Y2025
    steward = "National Committee for Quality Assurance"
    description = (
        "Percentage of patients 3-17 years of age who had an outpatient visit with a primary care "
        "physician (PCP) or obstetrician/gynecologist (OB/GYN) and who had evidence of the following "
        "during the measurement period: height, weight, and body mass index (BMI) percentile "
        "documentation; counseling for nutrition; counseling for physical activity."
    )
    basis = "patient"
    improvement = "increase"
    groups = (
        Group("Height, weight and BMI documented"),
        Group("Counseling for nutrition"),
        Group("Counseling for physical activity"),
    )
    stratifiers = (Stratifier("Age 3-11", 3, 11), Stratifier("Age 12-17", 12, 17))
    #: which of BMI, height and weight must carry a value (see ``VALUED_2025``)
    vital_signs_valued: ClassVar[tuple[bool, bool, bool]] = VALUED_2025
    valuesets = tuple(sorted({
        COUNSELING_NUTRITION, COUNSELING_PHYSICAL_ACTIVITY, HOME_HEALTHCARE, OFFICE_VISIT, PREGNANCY,
        PREVENTIVE_GROUP_COUNSELING, PREVENTIVE_INITIAL, PREVENTIVE_INDIVIDUAL_COUNSELING,
        PREVENTIVE_ESTABLISHED, TELEPHONE_VISITS,
    }))
    specification = {
        "age": "3 to 17 years old on the last day of the measurement period.",
        "anchor": "The measurement period: visits, observations and counseling must fall within it.",
        "initial population": (
            "Age 3-17 at the end of the period and a performed office, preventive (initial/established, "
            "0-17), preventive individual or group counseling, home-health or telephone visit within the period."
        ),
        "denominator": "Equals the initial population.",
        "denominator exclusions": (
            "Hospice care during the period, or a pregnancy diagnosis whose prevalence period overlaps the period."
        ),
        "numerator 1": (
            "A BMI (LOINC 39156-5), a body height (8302-2) and a body weight (29463-7) observation, each "
            "final/amended/corrected with a value, effective within the period."
        ),
        "numerator 2": "A completed nutrition-counseling procedure performed within the period.",
        "numerator 3": "A completed physical-activity-counseling procedure performed within the period.",
        "strata": "Age 3-11 and age 12-17 at the end of the period (each rate).",
        "source": (
            "WeightAssessmentandCounselingforNutritionandPhysicalActivityforChildrenandAdolescentsFHIR "
            "0.1.001 (QI-Core 4.1.1)"
        ),
    }

    def populations(self, data: MeasureData, period: Period) -> list[pd.DataFrame]:
        pats = data.patients[["patient_id", "birth_date"]]
        age = age_in_years_at(pats["birth_date"], period.end)
        in_age = pats[(age >= AGE_LOW) & (age <= AGE_HIGH)]
        visits = visit_patients(data, period, QUALIFYING_ENCOUNTERS, among=in_age["patient_id"].to_numpy(),
                                lib=self.lib)
        ids = pd.Index(in_age["patient_id"].to_numpy()[imz.patient_flag(in_age["patient_id"], visits)],
                       name="patient_id")

        hospice = imz.patient_flag(ids, self.lib.has_hospice_services(data, period).to_numpy())
        excluded = hospice | _pregnant(data, ids, period, self.lib)
        numerators = (_vital_signs_documented(data, ids, period, self.vital_signs_valued), *_counseled(data, ids, period))
        return [
            pd.DataFrame(
                {
                    "patient_id": ids.to_numpy(),
                    "initial-population": True,
                    "denominator": True,
                    "denominator-exclusion": excluded,
                    "numerator": numerator,
                }
            )
            for numerator in numerators
        ]

    def gaps(self, data: MeasureData, period: Period, rows: pd.DataFrame) -> pd.DataFrame:
        """Rate 1: which of BMI percentile, height and weight is not documented; rates 2 and 3: the
        counseling. All due by the end of the period."""
        members = gapkit.open_members(rows, self.id)
        if members.empty:
            return gapkit.empty_gaps()
        missing = np.array(["Nutrition counseling", "Physical activity counseling"], dtype=object)[
            (members["group_index"].to_numpy() == 2).astype(int)]
        first = (members["group_index"] == 0).to_numpy()
        if first.any():
            ids = pd.Index(members["patient_id"].to_numpy()[first], name="patient_id")
            flags = _vital_sign_flags(data, ids, period, self.vital_signs_valued)
            text = gapkit.join_texts([(~flags[:, i], name) for i, name in enumerate(VITAL_SIGN_NAMES)], ", ")
            text = np.where(text == "", self.groups[0].title, "Document " + text)
            missing[first] = text
        return gapkit.gap_frame(members, missing, pd.Timestamp(period.end))
