"""Evaluating many measures over one ``MeasureData`` (pure; the services add storage and caching)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .catalogue import resolve
from .data import MeasureData
from .definition import RESULT_COLUMNS, Measure
from .memo import ANY_PERIOD, evaluating, forget_pass, remember, remembering, several_periods
from .period import Period

log = logging.getLogger(__name__)

#: patient attributes attached to every result row (for grouping by practice and provider)
PATIENT_ATTRIBUTES = ("practice_id", "provider_id")
ROW_COLUMNS = (*RESULT_COLUMNS, *PATIENT_ATTRIBUTES)


@dataclass
class EngineRun:
    rows: pd.DataFrame  # ROW_COLUMNS
    measures: list[Measure] = field(default_factory=list)  # the measures that ran
    failures: dict[str, str] = field(default_factory=dict)  # measure id -> what went wrong
    seconds: dict[str, float] = field(default_factory=dict)
    versions: dict[str, str] = field(default_factory=dict)  # measure id -> the version that computed it


def evaluate_measures(
    data: MeasureData,
    period: Period,
    measures: Sequence[Measure],
    on_measure: Callable[[int, int, str], None] | None = None,
    versions: Mapping[str, str] | None = None,
) -> EngineRun:
    """Evaluate each measure with the version in force for ``period`` (or the one ``versions`` forces:
    measure id -> version string or year); one that fails is reported in ``failures`` and does not stop
    the others. ``run.versions`` says which version computed each measure."""
    with remembering(data.memo), evaluating(period):  # the measures share what they derive from the frames
        return _evaluate(data, period, measures, on_measure, versions, alone=True, shared=True)


def evaluate_periods(
    data: MeasureData,
    periods: Sequence[Period],
    measures: Sequence[Measure],
    on_measure: Callable[[int, int, str], None] | None = None,
    versions: Mapping[str, str] | None = None,
    share_out: Callable[[Period], bool] | None = None,
) -> Iterator[tuple[Period, EngineRun]]:
    """``evaluate_measures`` for each of ``periods`` in one pass over one ``data`` (a trend's rolling
    periods): what does not depend on the period (``ANY_PERIOD`` in ``metrics.memo``: factorised code
    columns, value-set hits, the network measures' people, visits and events) is derived once for all of
    them; what does is kept for its period only and dropped when the period is done. Each period's rows
    are those ``evaluate_measures`` gives for it alone; ``on_measure`` counts the measures of all the
    periods. Lazy: a period is evaluated when it is asked for, so a caller may keep one period's rows at a
    time. A measure's own period-free records (``for_pass`` in ``metrics.memo``) are kept for the pass (dropped
    when it ends); a pass of one period drops them when the measure is done, as ``evaluate_measures`` does.

    ``share_out(period)``, asked as ``period`` is got to: True when its measures may be shared out by the
    context's splitter (:func:`share_lone_periods`) as a lone period's are - the caller's word that a core
    is free for the splitter's copy by then (or soon: the two processes claim the measures as they are free),
    and that it is the pass's last (the copy inherits the pass's records, copy-on-write; what it derives dies
    with it, so a later period would derive it again). Its records stay here, dropped when the pass ends."""
    with remembering(data.memo), several_periods(len(periods) > 1):
        for i, period in enumerate(periods):
            step = None if on_measure is None else (
                lambda j, n, measure_id, i=i: on_measure(i * n + j, n * len(periods), measure_id))
            alone = len(periods) == 1
            shared = alone or (share_out is not None and share_out(period))
            with evaluating(period):
                run = _evaluate(data, period, measures, step, versions, alone=alone, shared=shared)
            data.memo.forget_period(period)
            yield period, run


def _evaluate(data: MeasureData, period: Period, measures: Sequence[Measure],
              on_measure: Callable[[int, int, str], None] | None, versions: Mapping[str, str] | None,
              alone: bool, shared: bool) -> EngineRun:
    """``alone``: the only period of its evaluation (each measure's records kept for a pass go when it is done).
    ``shared``: the period may be shared out by the context's splitter
    (:func:`share_lone_periods`): the same measures, the same rows, in the same order."""
    def one(measure: Measure) -> Outcome:
        return evaluate_one(data, period, measure, versions, alone)

    split = _splitter.get() if shared else None
    outcomes = split(measures, one, on_measure, len(data.patients)) if split is not None else None
    if outcomes is None:
        outcomes = []
        for i, measure in enumerate(measures):
            if on_measure is not None:
                on_measure(i, len(measures), measure.id)
            outcomes.append(one(measure))
    run = EngineRun(pd.DataFrame(columns=list(ROW_COLUMNS)))
    frames: list[pd.DataFrame] = []
    for measure, (version, rows, failure, seconds) in zip(measures, outcomes, strict=True):
        if version is not None:
            run.versions[measure.id] = version
        if failure is not None:
            run.failures[measure.id] = failure
            continue
        assert rows is not None
        run.seconds[measure.id] = seconds
        run.measures.append(measure)
        if len(rows):
            frames.append(rows)
    if frames:
        rows = pd.concat(frames, ignore_index=True)
        run.rows = with_attributes(data, rows)
    return run


def with_attributes(data: MeasureData, rows: pd.DataFrame) -> pd.DataFrame:
    """``rows`` (``RESULT_COLUMNS``) with their patients' ``PATIENT_ATTRIBUTES``, in ``ROW_COLUMNS``: the left
    merge on ``patient_id`` with ``data.patients``. When every row's patient is one of ``data.patients``, whose
    ids are unique, the attributes are taken by position instead (no hashing of 1.3 M rows' ids each period):
    the same frame, row for row and dtype for dtype."""
    patients = data.patients
    attrs = patients[["patient_id", *PATIENT_ATTRIBUTES]]
    ids = rows["patient_id"].to_numpy() if "patient_id" in rows.columns else None
    where = None
    if ids is not None and ids.dtype == np.int64 and patients["patient_id"].dtype == np.int64 and len(patients):
        where = _positions(patients, ids)
    if where is None:
        return rows.merge(attrs, on="patient_id", how="left")[list(ROW_COLUMNS)]
    out = rows.reset_index(drop=True)  # (concatenated with ignore_index: a RangeIndex already, as the merge's)
    columns = {c: out[c] for c in RESULT_COLUMNS}
    for c in PATIENT_ATTRIBUTES:
        columns[c] = pd.Series(patients[c].array.take(where), index=out.index, name=c, copy=False)
    return pd.DataFrame(columns, index=out.index, copy=False)


def _positions(patients: pd.DataFrame, ids: np.ndarray) -> np.ndarray | None:
    """Each of ``ids``' row in ``patients`` (its ``patient_id`` column: int64), or None when one is missing or
    the ids of ``patients`` are not unique (the merge then says what each row gets)."""
    known = patients["patient_id"].to_numpy()

    def lookup() -> tuple[int, pd.Index | None] | None:
        low = int(known[0])
        if np.array_equal(known, np.arange(low, low + len(known), dtype=np.int64)):
            return low, None  # ids low, low + 1, ...: a row's position is its id less ``low``
        index = pd.Index(known)
        return (0, index) if index.is_unique else None

    found = remember((patients,), "patient positions", lookup, period=ANY_PERIOD)
    if found is None:
        return None
    low, index = found
    if index is None:
        where = ids - low
        if len(where) and (where.min() < 0 or where.max() >= len(known)):
            return None
        return where
    where = index.get_indexer(ids)
    return None if len(where) and where.min() < 0 else where


#: what evaluating one measure came to: the version that computed it (None: none could be resolved), its
#: rows (None when it failed), what went wrong (None when it did not) and the seconds it took
Outcome = tuple[str | None, pd.DataFrame | None, str | None, float]


#: what shares out a lone period's measures - ``split(measures, one, on_measure, patients)``: the outcomes of
#: ``one(measure)`` in the order of ``measures``, or None (evaluated here one by one) - in this context
Splitter = Callable[[Sequence[Measure], Callable[[Measure], Outcome], Callable[[int, int, str], None] | None, int],
                    list[Outcome] | None]
_splitter: ContextVar[Splitter | None] = ContextVar("carenet_lone_period_splitter", default=None)


def share_lone_periods(splitter: Splitter | None) -> None:
    """Within the current context (a worker process's main thread), a lone period's measures are shared out
    by ``splitter`` (``services.split_evaluation``: with a forked copy of the process); None: not."""
    _splitter.set(splitter)


def sharing_lone_periods() -> Splitter | None:
    return _splitter.get()


def evaluate_one(data: MeasureData, period: Period, measure: Measure, versions: Mapping[str, str] | None,
                 alone: bool) -> Outcome:
    """One measure of ``period``; one that fails is reported in the outcome and does not stop the others."""
    started = time.perf_counter()
    version = None
    try:
        impl = resolve(measure, period, (versions or {}).get(measure.id))
        version = impl.version
        rows = impl.evaluate(data, period)
    except NotImplementedError as exc:
        return version, None, f"not implemented yet{': ' + str(exc) if str(exc) else ''}", 0.0
    except Exception as exc:  # one broken measure must not stop the others
        log.info("Measure %s failed", measure.id, exc_info=True)  # the traceback with --verbose only
        return version, None, f"failed: {type(exc).__name__}: {exc}", 0.0
    finally:
        if alone:  # no other period will ask for this measure's own records
            forget_pass()
    return version, rows, None, time.perf_counter() - started
