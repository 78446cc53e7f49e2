"""CMS155 Weight Assessment and Counseling for Nutrition and Physical Activity, the 2026 version
(``CMS155FHIRWeightAssessandCounselforKids`` 0.3.000; QI-Core 6.0.0, Status 1.13+, Hospice 6.15+).

The logic is the 2025 module's (``cms155``); this version differs in:

* the shared libraries of 2026 (``libraries.y2026``): a qualifying visit must be ``finished``; hospice as in
  2026;
* pregnancy excludes as a Condition of either kind (encounter diagnosis, or problem-list item / health
  concern; ``libraries.condition_kind``);
* height, weight and BMI are read from the US Core vital-sign profiles (the same LOINC codes as 2025's
  QI-Core ones: 8302-2, 29463-7, 39156-5);
* the BMI no longer needs a value: "BMI Percentile in Measurement Period" is ``isObservationBMI()`` (status
  final/amended/corrected) effective within the period, without 2025's ``and BMIPercentile.value is not
  null`` (height and weight keep it).
"""

from __future__ import annotations

from typing import ClassVar

from .. import manifests
from ..catalogue import register
from ..definition import MADIE
from ..libraries.y2026 import QICORE_2026
from .cms155 import CMS155


@register
class CMS155v2026(CMS155):
    version = "0.3.000"
    applies_to = (2026, None)
    canonical = MADIE + "CMS155FHIRWeightAssessandCounselforKids"
    manifest = manifests.Y2026
    lib = QICORE_2026
    vital_signs_valued: ClassVar[tuple[bool, bool, bool]] = (False, True, True)
    specification = {
        **CMS155.specification,
        "numerator 1": (
            "A BMI (LOINC 39156-5, with or without a value), a body height (8302-2) and a body weight (29463-7) "
            "observation with a value, each final/amended/corrected and effective within the period."
        ),
        "source": "CMS155FHIRWeightAssessandCounselforKids 0.3.000 (QI-Core 6.0.0)",
    }
