"""CMS146 Appropriate Testing for Pharyngitis, the 2026 version (``CMS146FHIRAppropriateTestingforPharyngitis``
0.3.000; QI-Core 6.0.0, Antibiotic 1.9.000, Status 1.13+, Hospice 6.15+).

The logic is the 2025 module's (``cms146``); this version differs in:

* the pharyngitis / tonsillitis, comorbid and competing conditions must be *encounter diagnoses*
  (``[ConditionEncounterDiagnosis]``; see ``libraries.condition_kind`` for how the kind is decided);
* the shared libraries of 2026 (``libraries.y2026``): the encounter must be ``finished``; antibiotic orders
  and active medications take any order intent (order, original-order, reflex-order, filler-order,
  instance-order); the strep test is a performed laboratory test by its status alone (the ``laboratory``
  category is no longer required); hospice as in 2026;
* the 2026 value sets (``manifests.Y2026``): three more antibiotics (RxNorm 242807, 313252, 313254).
"""

from __future__ import annotations

from typing import ClassVar

from .. import manifests
from ..catalogue import register
from ..definition import MADIE
from ..libraries.edition import ConditionKind
from ..libraries.y2026 import QICORE_2026
from .cms146 import CMS146


@register
class CMS146v2026(CMS146):
    version = "0.3.000"
    applies_to = (2026, None)
    canonical = MADIE + "CMS146FHIRAppropriateTestingforPharyngitis"
    manifest = manifests.Y2026
    lib = QICORE_2026
    condition_kind: ClassVar[ConditionKind] = "encounter-diagnosis"
    specification = {
        **CMS146.specification,
        "initial population": (
            "Each finished outpatient, telephone, virtual, ED, home-health or preventive encounter ending between "
            "the start of the period and 3 days before its end, with an antibiotic ordered 0-3 days after the "
            "encounter start (day precision) and an acute pharyngitis or tonsillitis encounter diagnosis whose "
            "onset falls on the encounter's days."
        ),
        "numerator": (
            "A group A strep test (final/amended/corrected, with a result) performed from 3 days before to 3 days "
            "after the end day of the episode encounter."
        ),
        "source": "CMS146FHIRAppropriateTestingforPharyngitis 0.3.000 (QI-Core 6.0.0)",
    }
