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
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Hashable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, TypeVar

T = TypeVar("T")


class FrameMemo:
    """Derived answers keyed by (question, the frames' identities and lengths)."""

    def __init__(self) -> None:
        self._entries: dict[tuple[Hashable, ...], tuple[tuple[weakref.ref[Any], ...], Any]] = {}

    def get(self, frames: Sequence[Any], question: Hashable, compute: Callable[[], T]) -> T:
        """The answer to ``question`` about ``frames``, computed by ``compute`` the first time (two threads
        asking at once may both compute it: the answers are equal)."""
        key = (question, *((id(f), _length(f)) for f in frames))
        hit = self._entries.get(key)
        if hit is not None and all(ref() is f for ref, f in zip(hit[0], frames, strict=True)):
            return hit[1]
        value = compute()
        entries = self._entries

        def forget(_: object) -> None:  # a frame went: its answers go too (and its id may be reused)
            entries.pop(key, None)

        self._entries[key] = (tuple(weakref.ref(f, forget) for f in frames), value)
        return value

    def __len__(self) -> int:
        return len(self._entries)

    def __reduce__(self) -> tuple[type[FrameMemo], tuple[()]]:
        return FrameMemo, ()  # a copied or pickled MeasureData starts with an empty memo

    def __deepcopy__(self, memo: dict[int, Any]) -> FrameMemo:
        return FrameMemo()


def _length(frame: Any) -> int:
    try:
        return len(frame)
    except TypeError:
        return -1


_current: ContextVar[FrameMemo | None] = ContextVar("carenet_frame_memo", default=None)


@contextmanager
def remembering(memo: FrameMemo) -> Iterator[FrameMemo]:
    """Make ``memo`` the current one (kept if one is current already: a nested evaluation shares it)."""
    if _current.get() is not None:
        yield memo
        return
    token = _current.set(memo)
    try:
        yield memo
    finally:
        _current.reset(token)


def remember(frames: Sequence[Any], question: Hashable, compute: Callable[[], T]) -> T:
    """``compute()``, remembered in the current evaluation's memo (computed afresh outside one)."""
    memo = _current.get()
    if memo is None:
        return compute()
    return memo.get(frames, question, compute)
