"""CMS75 Children Who Have Dental Decay or Cavities (lower is better).

Follows the published CQL ``ChildrenWhoHaveDentalDecayOrCavitiesFHIR`` 0.0.001 (QI-Core 4.1.1; Status,
QICoreCommon, Hospice 2025 versions):

* initial population: age 1-20 at the start of the period and a performed "Clinical Oral Evaluation"
  encounter whose period lies within (day of) the period;
* denominator: the initial population; exclusion: hospice services in the period;
* numerator: a "Dental Caries" condition whose prevalence period overlaps the period (millisecond
  precision; a resolved/inactive condition without an abatement date has an unknown end).
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import pandas as pd

from .. import manifests
from ..catalogue import register
from ..data import MeasureData
from ..definition import MADIE, Group, Measure
from ..libraries import hospice, status
from ..libraries.edition import QICORE_2025, Libraries
from ..period import Period
from ..primitives import age_in_years_at, during, overlaps, vs_mask

VS = "http://cts.nlm.nih.gov/fhir/ValueSet/"
CLINICAL_ORAL_EVALUATION = VS + "2.16.840.1.113883.3.464.1003.125.12.1003"
DENTAL_CARIES = VS + "2.16.840.1.113883.3.464.1003.125.12.1004"

AGE_LOW, AGE_HIGH = 1, 20


def oral_evaluation_patients(data: MeasureData, period: Period, lib: Libraries = QICORE_2025) -> pd.Index:
    """Patients with a performed (as ``lib`` says) clinical oral evaluation within (day of) the period."""
    enc = data.encounters
    sub = enc[vs_mask(data, enc, CLINICAL_ORAL_EVALUATION)]
    sub = sub[lib.encounter_performed(sub)]
    inside = during(status.encounter_interval(sub), period, precision="day")
    return pd.Index(pd.unique(sub["patient_id"].to_numpy()[inside]), name="patient_id")


def dental_ip(data: MeasureData, period: Period, lib: Libraries = QICORE_2025) -> pd.Index:
    """Initial population shared by CMS75 and CMS74: age 1-20 at the start of the period + oral evaluation."""
    pats = data.patients
    age = age_in_years_at(pats["birth_date"], period.start)
    ok = (age >= AGE_LOW) & (age <= AGE_HIGH) & pats["patient_id"].isin(oral_evaluation_patients(data, period, lib)).to_numpy()
    return pd.Index(pats["patient_id"].to_numpy()[ok], name="patient_id")


def population_frame(ids: pd.Index, excluded: np.ndarray, numerator: np.ndarray) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "patient_id": ids.to_numpy(),
            "initial-population": True,
            "denominator": True,
            "denominator-exclusion": np.asarray(excluded, dtype=bool),
            "numerator": np.asarray(numerator, dtype=bool),
        }
    )


@register
class CMS75(Measure):
    id = "CMS75"
    title = "Children Who Have Dental Decay or Cavities"
    version = "0.0.001"
    applies_to: ClassVar[tuple[int | None, int | None]] = (None, 2025)  # the 2026 version is in cms75_2026
    canonical = MADIE + "ChildrenWhoHaveDentalDecayOrCavitiesFHIR"
    manifest = manifests.Y2025
    steward = "Centers for Medicare & Medicaid Services (CMS)"
    description = (
        "Percentage of children, 1-20 years of age at the start of the measurement period, who have had "
        "dental decay or cavities during the measurement period as determined by a dentist."
    )
    basis = "patient"
    improvement = "decrease"
    groups = (Group("Dental decay or cavities"),)
    valuesets = tuple(sorted({CLINICAL_ORAL_EVALUATION, DENTAL_CARIES, *hospice.VALUESETS}))
    specification = {
        "age": "1 to 20 years old on the first day of the measurement period.",
        "anchor": "The measurement period.",
        "initial population": (
            "Age 1-20 at the start of the period with a performed clinical oral evaluation (by a dentist) "
            "within the period."
        ),
        "denominator": "Equals the initial population.",
        "denominator exclusions": "Hospice care during the period.",
        "numerator": (
            "A dental caries diagnosis whose prevalence period (onset to abatement; open-ended while active) "
            "overlaps the period. Lower rates are better."
        ),
        "source": "ChildrenWhoHaveDentalDecayOrCavitiesFHIR 0.0.001 (QI-Core 4.1.1)",
    }

    def populations(self, data: MeasureData, period: Period) -> list[pd.DataFrame]:
        ids = dental_ip(data, period, self.lib)
        excluded = ids.isin(self.lib.has_hospice_services(data, period))
        cond = data.conditions
        cond = cond[vs_mask(data, cond, DENTAL_CARIES) & cond["patient_id"].isin(ids).to_numpy()]
        cond = cond[self.lib.conditions_of_kind(data, cond, "either")]
        hit = overlaps(status.prevalence_interval(cond), period)
        numerator = ids.isin(pd.unique(cond["patient_id"].to_numpy()[hit]))
        return [population_frame(ids, excluded, numerator)]
