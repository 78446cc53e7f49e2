"""Editions of the shared eCQM libraries: the logic a measure year's versions include.

A measure version names its edition (``Measure.lib``); the measure code asks the edition, not a fixed
module, for the rules that changed between years: what counts as a performed encounter, a performed
laboratory test or assessment, an order, a hospice service, and which conditions a retrieve returns.
This module holds the 2025 edition (QI-Core 4.1.1); ``y2026`` holds the next. A new year is a new small
module of that kind, not edits to an earlier one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd

from ..data import MeasureData
from ..period import Period
from . import condition_kind, status
from .hospice import HOSPICE_2025, HospiceRules, has_hospice_services
from .medication_duration import medication_request_period

FrameTest = Callable[[pd.DataFrame], np.ndarray]
ConditionKind = Literal["any", "either", "encounter-diagnosis", "problems-health-concerns"]


def _everyone(frame: pd.DataFrame) -> np.ndarray:
    return np.ones(len(frame), dtype=bool)


@dataclass(frozen=True)
class Libraries:
    """One edition of the shared libraries (Status, QICoreCommon, Hospice, CumulativeMedicationDuration)."""

    year: int
    model: str  # the FHIR model version, e.g. "QI-Core 4.1.1"
    versions: tuple[tuple[str, str], ...]  # (library, version)
    encounter_performed: FrameTest
    assessment_performed: FrameTest
    laboratory_test_performed: FrameTest
    medication_order: FrameTest
    medication_active: FrameTest
    intervention_order: FrameTest
    hospice: HospiceRules
    #: QI-Core 6: a Condition retrieve returns only the kind it names (see ``condition_kind``)
    typed_conditions: bool = False
    #: Status ``verified()``: conditions whose verification status allows them (2025: every condition)
    verified: FrameTest = field(default=_everyone)
    #: CumulativeMedicationDuration ``medicationRequestPeriod()``: DataFrame[start, end] per request
    medication_request_period: Callable[[pd.DataFrame], pd.DataFrame] = field(default=medication_request_period)

    @property
    def title(self) -> str:
        return f"{self.model}: " + ", ".join(f"{name} {version}" for name, version in self.versions)

    def has_hospice_services(self, data: MeasureData, period: Period) -> pd.Index:
        return has_hospice_services(data, period, self.hospice)

    def conditions_of_kind(self, data: MeasureData, cond: pd.DataFrame, kind: ConditionKind) -> np.ndarray:
        """Rows of ``cond`` a retrieve of ``kind`` returns in this edition.

        ``any`` is QI-Core 4's ``[Condition]``; ``either`` is QI-Core 6's union of both kinds. Before
        QI-Core 6 every kind is every condition.
        """
        if not self.typed_conditions or kind == "any":
            return np.ones(len(cond), dtype=bool)
        ed, phc = condition_kind.kinds(data.encounter_diagnoses, cond)
        if kind == "encounter-diagnosis":
            return ed
        if kind == "problems-health-concerns":
            return phc
        return ed | phc


QICORE_2025 = Libraries(
    year=2025,
    model="QI-Core 4.1.1",
    versions=(("QICoreCommon", "2.1.000"), ("Status", "1.8.000"), ("Hospice", "6.12.000"),
              ("CumulativeMedicationDuration", "4.1.000")),
    encounter_performed=status.encounter_performed,
    assessment_performed=status.assessment_performed,
    laboratory_test_performed=status.laboratory_test_performed,
    medication_order=status.medication_order,
    medication_active=status.medication_active,
    intervention_order=status.intervention_order,
    hospice=HOSPICE_2025,
)

__all__ = ["QICORE_2025", "ConditionKind", "Libraries"]
