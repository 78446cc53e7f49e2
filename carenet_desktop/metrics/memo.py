"""Answers derived from one ``MeasureData``'s frames, computed once and kept with that data.

Every measure of an evaluation asks the same questions of the same large frames: the factorised code column
of ``observations``, the conditions an encounter lists, who had hospice services in the period. The answers
belong to the data they were derived from, so they live in the data's own ``FrameMemo`` (``data.memo``) and
go when the data goes - no module-level cache, nothing shared between two stores or two threads.

``Measure.evaluate`` (and ``engine.evaluate_measures``) make the data's memo the current one for the
evaluation (a context variable: each thread sees only its own); primitives that take a frame but not the
data ask ``remember``. Outside an evaluation nothing is remembered and every answer is computed afresh.

Frames of a ``MeasureData`` are not modified during an evaluation; an entry is keyed by the identity and the
length of the frames it was derived from, and holds them only weakly (a frame replaced on the data, or
collected, never answers for its successor).

Periods. One ``MeasureData`` may be evaluated for several periods in a row (a trend's twelve rolling periods,
``engine.evaluate_periods``), and the memo then serves every period. So each entry says what it depends on:
``remember(..., period=p)`` keys it by the period (never served to another one); ``period=ANY_PERIOD``
declares that the answer does not depend on the period (a factorisation, value-set hits of a code column)
and shares it. There is no default: a new question has to say which it is. A memo made with
``FrameMemo(check_periods=True)`` (the tests') proves the declaration: an ``ANY_PERIOD`` answer asked for in
another period than the one it was computed in is computed again and must be equal, else
``PeriodDependent`` is raised.

A pass's records. Some ``ANY_PERIOD`` answers are one measure's own period-free records of every patient and
date (``remember(..., for_pass=True)``): worth keeping only for the other periods of a pass. An evaluation of
one period (``engine.evaluate_measures``, a one-period ``evaluate_periods``) drops them when the measure is
done, and every evaluation drops them when it ends (``forget_pass``): they never outlive the evaluation that
derived them, so a single period's peak memory is no higher than deriving them per period was.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Hashable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, TypeVar

T = TypeVar("T")


class _AnyPeriod:
    """The marker of an answer that does not depend on the period evaluated (see the module docstring)."""

    _instance: _AnyPeriod | None = None

    def __new__(cls) -> _AnyPeriod:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "ANY_PERIOD"

    def __reduce__(self) -> str:
        return "ANY_PERIOD"


ANY_PERIOD = _AnyPeriod()
#: what an entry depends on besides its frames: one period (any hashable one), or none (``ANY_PERIOD``)
PeriodScope = Hashable


class PeriodDependent(AssertionError):
    """An answer declared ``ANY_PERIOD`` came out differently in another period (``check_periods``)."""


class FrameMemo:
    """Derived answers keyed by (question, period scope, the frames' identities and lengths)."""

    def __init__(self, *, check_periods: bool = False) -> None:
        self._entries: dict[tuple[Hashable, ...], tuple[tuple[weakref.ref[Any], ...], Any, Hashable]] = {}
        self._pass_keys: set[tuple[Hashable, ...]] = set()  # the entries kept for the pass only (``for_pass``)
        self.check_periods = check_periods

    def get(self, frames: Sequence[Any], question: Hashable, compute: Callable[[], T], *,
            period: PeriodScope, for_pass: bool = False) -> T:
        """The answer to ``question`` about ``frames``, computed by ``compute`` the first time (two threads
        asking at once may both compute it: the answers are equal). ``period``: the period the answer is
        for, or ``ANY_PERIOD`` for one that is the same in every period (shared between periods).
        ``for_pass``: a measure's own ``ANY_PERIOD`` records, kept for the current pass only (``forget_pass``)."""
        if period is None:
            raise TypeError("say which period an answer depends on (ANY_PERIOD: none)")
        if for_pass and period is not ANY_PERIOD:
            raise TypeError("only an ANY_PERIOD answer is kept for a pass")
        key = (question, period, *((id(f), _length(f)) for f in frames))
        hit = self._entries.get(key)
        if hit is not None and all(ref() is f for ref, f in zip(hit[0], frames, strict=True)):
            if self.check_periods and period is ANY_PERIOD:
                self._check(question, hit, compute)
            return hit[1]
        value = compute()
        entries = self._entries

        def forget(_: object) -> None:  # a frame went: its answers go too (and its id may be reused)
            entries.pop(key, None)

        self._entries[key] = (tuple(weakref.ref(f, forget) for f in frames), value, _evaluating.get())
        if for_pass:
            self._pass_keys.add(key)
        return value

    def kept_for_pass(self) -> int:
        """How many answers are kept for the current pass only (``for_pass``)."""
        return sum(key in self._entries for key in list(self._pass_keys))  # (a copy: others may add)

    def forget_pass(self) -> None:
        """Drop the answers kept for the current pass only (``for_pass``): its measure or its pass is done."""
        keys, self._pass_keys = self._pass_keys, set()
        for key in list(keys):  # a copy: a thread still asking may add to the set it had
            self._entries.pop(key, None)

    def forget_period(self, period: Hashable) -> None:
        """Drop the answers kept for ``period`` (it is done: only the shared ones serve the next)."""
        for key in [k for k in list(self._entries) if k[1] == period and k[1] is not ANY_PERIOD]:
            self._entries.pop(key, None)

    def _check(self, question: Hashable, hit: tuple[Any, Any, Hashable], compute: Callable[[], Any]) -> None:
        now = _evaluating.get()
        if now is None or hit[2] is None or now == hit[2]:
            return
        if not same_answer(compute(), hit[1]):
            raise PeriodDependent(f"{question!r} was declared ANY_PERIOD but differs between {hit[2]} and {now}")

    def __len__(self) -> int:
        return len(self._entries)

    def __reduce__(self) -> tuple[type[FrameMemo], tuple[()]]:
        return FrameMemo, ()  # a copied or pickled MeasureData starts with an empty memo

    def __deepcopy__(self, memo: dict[int, Any]) -> FrameMemo:
        return FrameMemo()


def same_answer(fresh: Any, kept: Any) -> bool:
    """Whether a fresh answer equals a kept one. An accumulator a caller fills on use (a list or dict, e.g.
    the split cells of ``MultiKeys``) is compared on what the fresh one holds."""
    import numpy as np
    import pandas as pd

    if isinstance(fresh, (pd.DataFrame, pd.Series, pd.Index)):
        return type(fresh) is type(kept) and fresh.equals(kept)
    if isinstance(fresh, np.ndarray):
        return isinstance(kept, np.ndarray) and fresh.dtype == kept.dtype and np.array_equal(fresh, kept, equal_nan=fresh.dtype.kind in "fcmM")
    if isinstance(fresh, tuple):
        return isinstance(kept, tuple) and len(fresh) == len(kept) and all(map(same_answer, fresh, kept))
    if isinstance(fresh, list):
        return isinstance(kept, list) and len(fresh) <= len(kept) and all(map(same_answer, fresh, kept))
    if isinstance(fresh, dict):
        return isinstance(kept, dict) and all(k in kept and same_answer(v, kept[k]) for k, v in fresh.items())
    return bool(fresh == kept)


def _length(frame: Any) -> int:
    try:
        return len(frame)
    except TypeError:
        return -1


_current: ContextVar[FrameMemo | None] = ContextVar("carenet_frame_memo", default=None)
#: the period being evaluated (for ``check_periods``; set by the engine)
_evaluating: ContextVar[Hashable | None] = ContextVar("carenet_evaluating_period", default=None)


@contextmanager
def remembering(memo: FrameMemo) -> Iterator[FrameMemo]:
    """Make ``memo`` the current one (kept if one is current already: a nested evaluation shares it). The
    outermost evaluation drops the answers kept for its pass only when it ends (``FrameMemo.forget_pass``)."""
    if _current.get() is not None:
        yield memo
        return
    token = _current.set(memo)
    try:
        yield memo
    finally:
        _current.reset(token)
        memo.forget_pass()


def forget_pass() -> None:
    """Drop the current memo's answers kept for its pass only (``for_pass``): the measure that derived them
    is done and no other period of the pass will ask (an evaluation of one period)."""
    memo = _current.get()
    if memo is not None:
        memo.forget_pass()


#: whether the current evaluation is a pass over several periods (set by ``engine.evaluate_periods``)
_several: ContextVar[bool] = ContextVar("carenet_several_periods", default=False)


@contextmanager
def several_periods(several: bool) -> Iterator[None]:
    """Within this block the evaluation is (or is not) a pass over several periods (``in_several_periods``)."""
    token = _several.set(several)
    try:
        yield
    finally:
        _several.reset(token)


def in_several_periods() -> bool:
    """Is the current evaluation a pass over several periods with a memo? Then a measure may first reduce a
    large frame to the rows any period can use (remembered for the pass) and test each period on those; an
    evaluation of one period tests the large frame at once (reducing it first would cost that period more).
    Both ways keep the same rows, in the same order (the tests compare them)."""
    return _several.get() and _current.get() is not None


@contextmanager
def evaluating(period: Hashable) -> Iterator[None]:
    """Within this block ``period`` is the one evaluated (what ``check_periods`` compares against)."""
    token = _evaluating.set(period)
    try:
        yield
    finally:
        _evaluating.reset(token)


def remember(frames: Sequence[Any], question: Hashable, compute: Callable[[], T], *, period: PeriodScope,
             for_pass: bool = False) -> T:
    """``compute()``, remembered in the current evaluation's memo (computed afresh outside one); ``period``
    as for ``FrameMemo.get`` (``ANY_PERIOD`` only for an answer the period cannot change); ``for_pass``: a
    measure's own period-free records, kept for the other periods of the pass only (module docstring)."""
    memo = _current.get()
    if memo is None:
        return compute()
    return memo.get(frames, question, compute, period=period, for_pass=for_pass)
