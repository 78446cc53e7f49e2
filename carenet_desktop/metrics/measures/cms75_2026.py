"""CMS75 Children Who Have Dental Decay or Cavities, the 2026 version
(``CMS75FHIRChildrenWhoHaveDentalDecayOrCavities`` 1.1.000; QI-Core 6.0.0, Status 1.13+, Hospice 6.15+).

The logic is the 2025 module's (``cms75``); this version differs in:

* the shared libraries of 2026 (``libraries.y2026``): the oral evaluation must be ``finished``; hospice as
  in 2026;
* dental caries counts as a Condition of either kind (encounter diagnosis, or problem-list item / health
  concern; ``libraries.condition_kind``);
* the 2026 value sets (``manifests.Y2026``): seven more dental-caries SNOMED codes.
"""

from __future__ import annotations

from .. import manifests
from ..catalogue import register
from ..definition import MADIE
from ..libraries.y2026 import QICORE_2026
from .cms75 import CMS75


@register
class CMS75v2026(CMS75):
    version = "1.1.000"
    applies_to = (2026, None)
    canonical = MADIE + "CMS75FHIRChildrenWhoHaveDentalDecayOrCavities"
    manifest = manifests.Y2026
    lib = QICORE_2026
    specification = {
        **CMS75.specification,
        "initial population": (
            "Age 1-20 at the start of the period with a finished clinical oral evaluation (by a dentist) within "
            "the period."
        ),
        "source": "CMS75FHIRChildrenWhoHaveDentalDecayOrCavities 1.1.000 (QI-Core 6.0.0)",
    }
