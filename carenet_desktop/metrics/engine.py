"""Evaluating many measures over one ``MeasureData`` (pure; the services add storage and caching)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import pandas as pd

from .catalogue import all_measures, get_measure
from .data import MeasureData
from .definition import RESULT_COLUMNS, Measure
from .period import Period

#: patient attributes attached to every result row (for grouping by practice, provider and strata)
PATIENT_ATTRIBUTES = ("practice_id", "provider_id")


@dataclass
class EngineRun:
    rows: pd.DataFrame  # RESULT_COLUMNS + PATIENT_ATTRIBUTES
    failures: dict[str, str] = field(default_factory=dict)  # measure id -> what went wrong


def select_measures(ids: Sequence[str] | None = None) -> list[Measure]:
    return all_measures() if not ids else [get_measure(i) for i in ids]


def evaluate_measures(
    data: MeasureData,
    period: Period,
    measures: Sequence[Measure],
    on_measure: Callable[[int, int, str], None] | None = None,
) -> EngineRun:
    """Evaluate each measure; a measure that fails is reported in ``failures`` and does not stop the rest."""
    frames: list[pd.DataFrame] = []
    failures: dict[str, str] = {}
    for i, measure in enumerate(measures):
        if on_measure is not None:
            on_measure(i, len(measures), measure.id)
        try:
            frames.append(measure.evaluate(data, period))
        except NotImplementedError:
            failures[measure.id] = "not implemented yet"
        except (KeyError, ValueError, TypeError, IndexError, AttributeError) as exc:
            failures[measure.id] = f"{type(exc).__name__}: {exc}"
    rows = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=list(RESULT_COLUMNS))
    attrs = data.patients[["patient_id", *PATIENT_ATTRIBUTES]]
    rows = rows.merge(attrs, on="patient_id", how="left")
    return EngineRun(rows, failures)
