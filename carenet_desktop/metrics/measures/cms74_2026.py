"""CMS74 Primary Caries Prevention Intervention as Offered by Dentists, the 2026 version
(``CMS74FHIRPrimaryCariesPreventionasOfferedbyDentists`` 1.1.000; QI-Core 6.0.0, Status 1.13+, Hospice 6.15+).

The logic is the 2025 module's (``cms74``); this version differs only in the shared libraries of 2026
(``libraries.y2026``): the oral evaluation must be ``finished``; hospice as in 2026.
"""

from __future__ import annotations

from .. import manifests
from ..catalogue import register
from ..definition import MADIE
from ..libraries.y2026 import QICORE_2026
from .cms74 import CMS74


@register
class CMS74v2026(CMS74):
    version = "1.1.000"
    applies_to = (2026, None)
    canonical = MADIE + "CMS74FHIRPrimaryCariesPreventionasOfferedbyDentists"
    manifest = manifests.Y2026
    lib = QICORE_2026
    specification = {
        **CMS74.specification,
        "initial population": (
            "Age 1-20 at the start of the period with a finished clinical oral evaluation (by a dentist) within "
            "the period."
        ),
        "source": "CMS74FHIRPrimaryCariesPreventionasOfferedbyDentists 1.1.000 (QI-Core 6.0.0)",
    }
