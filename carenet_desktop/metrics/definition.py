"""What a measure is (metadata) and what its evaluation returns (one row per patient or episode).

A measure subclass implements ``populations(data, period)`` and returns, for each group, a DataFrame
with one row per subject of the measure (patient, or episode for episode-based measures) and boolean
columns for each population it has. ``evaluate`` then applies the proportion-measure rules
(``finalize``) the same way for every measure, so no measure re-implements them.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import ClassVar, Literal

import numpy as np
import pandas as pd

from .data import MeasureData
from .period import Period

POPULATIONS = ("initial-population", "denominator", "denominator-exclusion", "denominator-exception", "numerator")
Basis = Literal["patient", "episode"]
Improvement = Literal["increase", "decrease"]


@dataclass(frozen=True)
class Group:
    """One rate of a measure. ``populations`` lists those the group has (others are reported empty)."""

    title: str
    populations: tuple[str, ...] = ("initial-population", "denominator", "denominator-exclusion", "numerator")
    code: str = ""


@dataclass(frozen=True)
class Stratifier:
    """A measure-defined stratum, e.g. CMS155's age bands: a name and the age range [low, high] in whole
    years at the start or the end of the period (``anchor``), as the measure's specification says."""

    title: str
    age_low: int
    age_high: int
    anchor: Literal["start", "end"] = "end"


#: columns of every result frame returned by ``Measure.evaluate``
RESULT_COLUMNS = ("measure", "group_index", "patient_id", "episode_id", *POPULATIONS)


class Measure(ABC):
    """Base class of every measure. Metadata as class attributes; logic in ``populations``."""

    id: ClassVar[str]
    title: ClassVar[str]
    version: ClassVar[str] = ""
    steward: ClassVar[str] = ""
    description: ClassVar[str] = ""
    basis: ClassVar[Basis] = "patient"
    improvement: ClassVar[Improvement] = "increase"
    groups: ClassVar[tuple[Group, ...]]
    stratifiers: ClassVar[tuple[Stratifier, ...]] = ()
    valuesets: ClassVar[tuple[str, ...]] = ()  # canonical URLs of the value sets the logic uses
    #: why this measure's rolling 12-month rate behaves unusually (shown beside every trend), or None
    rolling_note: ClassVar[str | None] = None
    source: ClassVar[str] = "ecqm"  # ecqm | network | custom
    specification: ClassVar[dict[str, str]] = {}

    @abstractmethod
    def populations(self, data: MeasureData, period: Period) -> list[pd.DataFrame]:
        """One frame per group: ``patient_id`` (+ ``episode_id`` if episode-based) and boolean columns
        named as in ``POPULATIONS`` for the populations the group has. Rows need only cover the
        initial population; missing population columns are treated as False."""

    def evaluate(self, data: MeasureData, period: Period) -> pd.DataFrame:
        """Result rows (``RESULT_COLUMNS``) for every group, proportion rules applied."""
        frames = self.populations(data, period)
        if len(frames) != len(self.groups):
            raise ValueError(f"{self.id}: populations() returned {len(frames)} groups, expected {len(self.groups)}")
        out = [finalize(frame, self.id, i, group) for i, (frame, group) in enumerate(zip(frames, self.groups, strict=True))]
        return pd.concat(out, ignore_index=True) if out else pd.DataFrame(columns=list(RESULT_COLUMNS))

    def gaps(self, data: MeasureData, period: Period, rows: pd.DataFrame) -> pd.DataFrame:
        """Care gaps (``metrics.gaps.GAP_COLUMNS``) of this measure's result rows ``rows``: denominator
        members not excluded, not excepted and not in the numerator, with what is missing and by when.
        Measures override this to say exactly what is short; the default names the group."""
        from .gaps import default_gaps

        return default_gaps(self, data, period, rows)


def finalize(frame: pd.DataFrame, measure_id: str, group_index: int, group: Group) -> pd.DataFrame:
    """Apply the proportion-measure rules, the same for every measure.

    Denominator within the initial population; exclusions within the denominator; the numerator only
    for denominator members not excluded; exceptions only for those not excluded and not in the
    numerator. Populations the group does not have are left as <NA>.
    """
    n = len(frame)

    def col(name: str) -> np.ndarray:
        if name in frame.columns:
            return frame[name].fillna(False).to_numpy(dtype=bool)
        return np.zeros(n, dtype=bool)

    has = set(group.populations)
    ip = col("initial-population")
    denom = col("denominator") & ip if "denominator" in has else ip.copy()
    denex = col("denominator-exclusion") & denom
    numer = col("numerator") & denom & ~denex
    denexcep = col("denominator-exception") & denom & ~denex & ~numer
    values = {
        "initial-population": ip,
        "denominator": denom,
        "denominator-exclusion": denex,
        "denominator-exception": denexcep,
        "numerator": numer,
    }
    result = pd.DataFrame(
        {
            "measure": measure_id,
            "group_index": group_index,
            "patient_id": frame["patient_id"].to_numpy() if n else np.zeros(0, dtype=np.int64),
            "episode_id": frame["episode_id"].to_numpy() if "episode_id" in frame.columns else pd.NA,
        }
    )
    for name in POPULATIONS:
        result[name] = pd.array(values[name], dtype="boolean") if name in has else pd.array([pd.NA] * n, dtype="boolean")
    return result[ip].reset_index(drop=True) if n else result


@dataclass
class EvaluationResult:
    """All measures' rows for one evaluation, plus what was evaluated."""

    period: Period
    rows: pd.DataFrame
    measures: list[str] = field(default_factory=list)
