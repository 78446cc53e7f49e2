"""CMS74 Primary Caries Prevention Intervention as Offered by Dentists.

Follows the published CQL ``PrimaryCariesPreventionasOfferedbyDentistsFHIR`` 0.0.002 (QI-Core 4.1.1):

* initial population: age 1-20 at the start of the period and a performed "Clinical Oral Evaluation"
  encounter whose period lies within (day of) the period (shared with CMS75);
* denominator: the initial population; exclusion: hospice services in the period;
* numerator: completed "Fluoride Varnish Application for Children" procedures ending (day of) within the
  period on at least two distinct dates (the date of each procedure's end).

Strata: age 1-5, 6-12 and 13-20 at the start of the period.
"""

from __future__ import annotations

from typing import ClassVar

import pandas as pd

from .. import manifests
from ..catalogue import register
from ..data import MeasureData
from ..definition import MADIE, Group, Measure, Stratifier
from ..libraries import hospice, status
from ..period import Period
from ..primitives import distinct_days_per_patient, ends_during, vs_mask
from .cms75 import CLINICAL_ORAL_EVALUATION, VS, dental_ip, population_frame

FLUORIDE_VARNISH = VS + "2.16.840.1.113883.3.464.1003.125.12.1002"
MIN_APPLICATIONS = 2


@register
class CMS74(Measure):
    id = "CMS74"
    title = "Primary Caries Prevention Intervention as Offered by Dentists"
    version = "0.0.002"
    applies_to: ClassVar[tuple[int | None, int | None]] = (None, 2025)  # the 2026 version is in cms74_2026
    canonical = MADIE + "PrimaryCariesPreventionasOfferedbyDentistsFHIR"
    manifest = manifests.Y2025
    steward = "Centers for Medicare & Medicaid Services (CMS)"
    description = (
        "Percentage of children, 1-20 years of age, who received two fluoride varnish applications during "
        "the measurement period as determined by a dentist."
    )
    basis = "patient"
    improvement = "increase"
    groups = (Group("Two fluoride varnish applications"),)
    stratifiers = (
        Stratifier("Age 1-5", 1, 5, "start"),
        Stratifier("Age 6-12", 6, 12, "start"),
        Stratifier("Age 13-20", 13, 20, "start"),
    )
    valuesets = tuple(sorted({CLINICAL_ORAL_EVALUATION, FLUORIDE_VARNISH, *hospice.VALUESETS}))
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
            "Two or more completed fluoride varnish applications on different days, each ending within the period."
        ),
        "strata": "Age 1-5, 6-12 and 13-20 at the start of the period.",
        "source": "PrimaryCariesPreventionasOfferedbyDentistsFHIR 0.0.002 (QI-Core 4.1.1)",
    }

    def populations(self, data: MeasureData, period: Period) -> list[pd.DataFrame]:
        ids = dental_ip(data, period, self.lib)
        excluded = ids.isin(self.lib.has_hospice_services(data, period))
        proc = data.procedures
        proc = proc[vs_mask(data, proc, FLUORIDE_VARNISH)]
        proc = proc[status.procedure_performed(proc) & proc["patient_id"].isin(ids).to_numpy()]
        iv = status.performed_interval(proc)
        inside = ends_during(iv, period, precision="day")
        days = distinct_days_per_patient(proc, iv.end(), mask=inside)
        numerator = ids.isin(days.index[days >= MIN_APPLICATIONS])
        return [population_frame(ids, excluded, numerator)]
