"""What a measure is (metadata) and what its evaluation returns (one row per patient or episode).

A measure subclass implements ``populations(data, period)`` and returns, for each group, a DataFrame
with one row per subject of the measure (patient, or episode for episode-based measures) and boolean
columns for each population it has. ``evaluate`` then applies the proportion-measure rules
(``finalize``) the same way for every measure, so no measure re-implements them.

Measure years: a measure is (id, version, the periods it applies to). Each version is its own subclass
with its own ``version``, ``applies_to`` (first and last measurement year, by the period's last day;
None = open), the edition of the shared libraries it includes (``lib``) and the value-set manifest it was
published with (``manifest``). The catalogue picks, for each period, the version in force.
"""

from __future__ import annotations

import functools
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal, TypeVar

import numpy as np
import pandas as pd
from pandas.arrays import BooleanArray

from .data import MeasureData
from .libraries.edition import QICORE_2025, Libraries
from .memo import remembering
from .period import Period

#: canonical base of the published eCQMs (``Measure.url`` = MADIE + library name)
MADIE = "https://madie.cms.gov/Measure/"

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


#: the methods that take a ``MeasureData`` first and evaluate something of it
_ENTRY_POINTS = ("evaluate", "gaps", "upcoming_gaps")

_Method = TypeVar("_Method", bound=Callable[..., Any])


def _in_memo(method: _Method) -> _Method:
    @functools.wraps(method)
    def run(self: Measure, data: MeasureData, *args: Any, **kwargs: Any) -> Any:
        with remembering(data.memo):
            return method(self, data, *args, **kwargs)

    run._in_memo = True  # type: ignore[attr-defined]
    return run  # type: ignore[return-value]


class Measure(ABC):
    """Base class of every measure. Metadata as class attributes; logic in ``populations``."""

    id: ClassVar[str]
    title: ClassVar[str]
    version: ClassVar[str] = ""
    steward: ClassVar[str] = ""
    description: ClassVar[str] = ""
    basis: ClassVar[Basis] = "patient"
    improvement: ClassVar[Improvement] = "increase"
    #: can outreach close a gap of this measure at all? False when a gap is the outcome of a past encounter
    #: (an antibiotic already ordered, a test not done at the visit): the outreach worklist leaves it out
    gap_closable: ClassVar[bool] = True
    #: does a gap close for good once its due date has passed (an episode's follow-up window is over)?
    gap_expires: ClassVar[bool] = False
    groups: ClassVar[tuple[Group, ...]]
    stratifiers: ClassVar[tuple[Stratifier, ...]] = ()
    valuesets: ClassVar[tuple[str, ...]] = ()  # canonical URLs of the value sets the logic uses
    #: why this measure's rolling 12-month rate behaves unusually (shown beside every trend), or None
    rolling_note: ClassVar[str | None] = None
    source: ClassVar[str] = "ecqm"  # ecqm | network | custom
    specification: ClassVar[dict[str, str]] = {}
    #: measurement years (by the period's last day) this version applies to: (first, last), None = open
    applies_to: ClassVar[tuple[int | None, int | None]] = (None, None)
    #: the published canonical URL of the measure (``Measure.url``); '' = a local canonical
    canonical: ClassVar[str] = ""
    #: the edition of the shared libraries (Status, QICoreCommon, Hospice ...) this version includes
    lib: ClassVar[Libraries] = QICORE_2025
    #: value-set URL -> (version, expansion) this version was published with (None: the newest loaded)
    manifest: ClassVar[Mapping[str, tuple[str, str]] | None] = None

    def __init_subclass__(cls, **kwargs: object) -> None:
        """Every entry point a subclass defines runs in its data's memo (``metrics.memo``): a measure's care
        gaps reuse what its evaluation derived from the same frames, whoever calls them."""
        super().__init_subclass__(**kwargs)
        for name in _ENTRY_POINTS:
            method = cls.__dict__.get(name)
            if callable(method) and not getattr(method, "_in_memo", False):
                setattr(cls, name, _in_memo(method))

    def applies(self, period: Period) -> bool:
        """Is this version in force for ``period`` (by the period's last day)?"""
        first, last = self.applies_to
        year = period.end.year
        return (first is None or year >= first) and (last is None or year <= last)

    @property
    def periods_label(self) -> str:
        """The periods this version applies to, e.g. "2025 and before", "2026 onward", "all periods"."""
        first, last = self.applies_to
        if first is None and last is None:
            return "all periods"
        if first is None:
            return f"{last} and before"
        if last is None:
            return f"{first} onward"
        return str(first) if first == last else f"{first}-{last}"

    def pinned(self, data: MeasureData) -> MeasureData:
        """``data`` reading its value sets through this version's manifest (frames shared, not copied)."""
        if not self.manifest:
            return data
        view = data.valuesets.pinned(self.manifest)
        if view is data.valuesets:
            return data
        out = MeasureData(**{name: frame for name, frame in data.frames().items()})
        out.valuesets = view
        return out

    @abstractmethod
    def populations(self, data: MeasureData, period: Period) -> list[pd.DataFrame]:
        """One frame per group: ``patient_id`` (+ ``episode_id`` if episode-based) and boolean columns
        named as in ``POPULATIONS`` for the populations the group has. Rows need only cover the
        initial population; missing population columns are treated as False."""

    @_in_memo
    def evaluate(self, data: MeasureData, period: Period) -> pd.DataFrame:
        """Result rows (``RESULT_COLUMNS``) for every group, proportion rules applied (value sets read
        through this version's manifest)."""
        frames = self.populations(self.pinned(data), period)
        if len(frames) != len(self.groups):
            raise ValueError(f"{self.id}: populations() returned {len(frames)} groups, expected {len(self.groups)}")
        out = [finalize(frame, self.id, i, group) for i, (frame, group) in enumerate(zip(frames, self.groups, strict=True))]
        return pd.concat(out, ignore_index=True) if out else pd.DataFrame(columns=list(RESULT_COLUMNS))

    @_in_memo
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
    unknown = np.ones(n, dtype=bool)  # a population the group does not have: <NA> (masked) in every row
    for name in POPULATIONS:
        # built from the arrays directly (``pd.array`` of a list of NA walks it in Python: ~0.1 s a group
        # on 250,000 patients)
        result[name] = BooleanArray(values[name], np.zeros(n, dtype=bool)) if name in has else \
            BooleanArray(np.zeros(n, dtype=bool), unknown.copy())
    return result[ip].reset_index(drop=True) if n else result


@dataclass
class EvaluationResult:
    """All measures' rows for one evaluation, plus what was evaluated."""

    period: Period
    rows: pd.DataFrame
    measures: list[str] = field(default_factory=list)
