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

import numpy as np
import pandas as pd

from ..catalogue import register
from ..data import MeasureData
from ..definition import Group, Measure, Stratifier
from ..libraries import status
from ..libraries.hospice import has_hospice_services
from ..period import Period
from ..primitives import age_in_years_at, during, overlaps
from ..valuesets import code_key
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

AGE_LOW, AGE_HIGH = 3, 17


def _vital_sign_patients(data: MeasureData, ids: pd.Index, period: Period, key: str) -> pd.Index:
    obs = data.observations
    if obs.empty:
        return pd.Index([], name="patient_id")
    mask = (obs["key"] == key).to_numpy() & obs["patient_id"].isin(ids).to_numpy()
    mask &= status.observation_final(obs) & status.has_value(obs)
    sub = obs[mask]
    inside = during(status.effective_interval(sub), period, precision="day")
    return pd.Index(pd.unique(sub["patient_id"].to_numpy()[inside]), name="patient_id")


def _counseling_patients(data: MeasureData, ids: pd.Index, period: Period, valueset: str) -> pd.Index:
    proc = data.procedures
    if proc.empty:
        return pd.Index([], name="patient_id")
    mask = data.valuesets.mask(proc, valueset) & proc["patient_id"].isin(ids).to_numpy()
    mask &= status.intervention_performed(proc)
    sub = proc[mask]
    inside = during(status.performed_interval(sub), period, precision="day")
    return pd.Index(pd.unique(sub["patient_id"].to_numpy()[inside]), name="patient_id")


def _pregnant_patients(data: MeasureData, ids: pd.Index, period: Period) -> pd.Index:
    """Pregnancy whose prevalence period overlaps the measurement period (millisecond precision)."""
    cond = data.conditions
    if cond.empty:
        return pd.Index([], name="patient_id")
    mask = data.valuesets.mask(cond, PREGNANCY) & cond["patient_id"].isin(ids).to_numpy()
    sub = cond[mask]
    hit = overlaps(status.prevalence_interval(sub), period)
    return pd.Index(pd.unique(sub["patient_id"].to_numpy()[hit]), name="patient_id")


@register
class CMS155(Measure):
    id = "CMS155"
    title = "Weight Assessment and Counseling for Nutrition and Physical Activity for Children/Adolescents"
    version = "0.1.001"
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
        visits = visit_patients(data, period, QUALIFYING_ENCOUNTERS)
        ip_mask = (age >= AGE_LOW) & (age <= AGE_HIGH) & pats["patient_id"].isin(visits).to_numpy()
        ids = pd.Index(pats["patient_id"].to_numpy()[ip_mask], name="patient_id")

        if len(ids):
            excluded = ids.isin(has_hospice_services(data, period)) | ids.isin(_pregnant_patients(data, ids, period))
            vitals = np.ones(len(ids), dtype=bool)
            for key in (BMI, BODY_HEIGHT, BODY_WEIGHT):
                vitals &= ids.isin(_vital_sign_patients(data, ids, period, key))
            numerators = (
                vitals,
                ids.isin(_counseling_patients(data, ids, period, COUNSELING_NUTRITION)),
                ids.isin(_counseling_patients(data, ids, period, COUNSELING_PHYSICAL_ACTIVITY)),
            )
        else:
            excluded = np.zeros(0, dtype=bool)
            numerators = (excluded, excluded, excluded)

        frames = []
        for numerator in numerators:
            frames.append(
                pd.DataFrame(
                    {
                        "patient_id": ids.to_numpy(),
                        "initial-population": True,
                        "denominator": True,
                        "denominator-exclusion": excluded,
                        "numerator": numerator,
                    }
                )
            )
        return frames
