"""CMS117 Childhood Immunization Status, the 2026 version (``CMS117FHIRChildhoodImmunizationStatus`` 0.3.000;
QI-Core 6.0.0, QICoreCommon 4.0.000, Status 1.13+, Hospice 6.15+).

The logic is the 2025 module's (``cms117``); this version differs in:

* the shared libraries of 2026 (``libraries.y2026``): a qualifying visit must be ``finished``; hospice reads
  verified conditions of either kind and assessments without the survey category;
* conditions are retrieved by kind: every condition rule takes an encounter diagnosis or a problem-list item
  / health concern, except **measles**, which the published CQL retrieves as an encounter diagnosis only
  (``[ConditionEncounterDiagnosis: "Measles"] union [ConditionEncounterDiagnosis: "Measles"]``);
* the 2026 value sets (``manifests.Y2026``): DTaP and hepatitis B vaccines include CVX 198 (DTP-hepB-Hib
  pentavalent), several disease lists lost codes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

from .. import manifests
from ..catalogue import register
from ..definition import MADIE
from ..libraries.edition import ConditionKind
from ..libraries.y2026 import QICORE_2026
from .cms117 import CMS117


@register
class CMS117v2026(CMS117):
    version = "0.3.000"
    applies_to = (2026, None)
    canonical = MADIE + "CMS117FHIRChildhoodImmunizationStatus"
    manifest = manifests.Y2026
    lib = QICORE_2026
    condition_kinds: ClassVar[Mapping[str, ConditionKind]] = {"measles": "encounter-diagnosis"}
    specification = {
        **CMS117.specification,
        "initial population": (
            "Age 2 at the end of the period and a finished office, home-health, preventive (0-17), CPT 99211, "
            "virtual or telephone visit entirely within the period."
        ),
        "conditions": (
            "Diagnoses count as encounter diagnoses or problem-list items / health concerns, except measles: "
            "an encounter diagnosis only."
        ),
        "source": "CMS117FHIRChildhoodImmunizationStatus 0.3.000 (QI-Core 6.0.0)",
    }
