"""What an evaluation derives from its frames is kept with its data, and only there (no module-level state)."""

from __future__ import annotations

import gc
import threading
import weakref

import numpy as np
import pandas as pd

from carenet_desktop.metrics import memo as memo_mod
from carenet_desktop.metrics import primitives
from carenet_desktop.metrics.data import MeasureData
from carenet_desktop.metrics.memo import ANY_PERIOD, FrameMemo, remember, remembering
from tests.measure_catalogue import get_measure
from tests.metrics import test_cms117_edges as c117
from tests.metrics.test_gaps_measures import P2025


def _big_frame(n: int = primitives._FACTORISE_MIN_ROWS) -> pd.DataFrame:
    return pd.DataFrame({"key": np.where(np.arange(n) % 2 == 0, "cvx|20", "cvx|10").astype(object)})


def _data() -> MeasureData:
    return c117.build([c117.child()], immunizations=c117.full_schedule(), encounters=[c117.visit()])


def test_inside_an_evaluation_an_answer_is_computed_once_per_frame() -> None:
    frame, memo = _big_frame(), FrameMemo()
    with remembering(memo):
        first = primitives.factorised(frame, "key")
        again = primitives.factorised(frame, "key")
        other = primitives.factorised(_big_frame(), "key")
    assert first[0] is again[0] and first[0] is not other[0]
    assert len(memo) >= 1


def test_outside_an_evaluation_nothing_is_remembered() -> None:
    frame = _big_frame()
    assert primitives.factorised(frame, "key")[0] is not primitives.factorised(frame, "key")[0]


def test_a_frame_that_changed_length_is_not_answered_from_its_old_entry() -> None:
    frame, memo = _big_frame(), FrameMemo()
    calls: list[int] = []
    with remembering(memo):
        remember((frame,), "q", lambda: calls.append(len(frame)), period=ANY_PERIOD)
        frame.loc[len(frame)] = ["cvx|03"]
        remember((frame,), "q", lambda: calls.append(len(frame)), period=ANY_PERIOD)
    assert len(calls) == 2


def test_an_evaluation_fills_its_own_datas_memo_and_no_other() -> None:
    data, other = _data(), _data()
    rows = get_measure("CMS117").evaluate(data, P2025)
    assert len(rows) and len(data.memo) > 0 and len(other.memo) == 0


def test_nothing_outside_the_data_keeps_its_frames_alive() -> None:
    data = _data()
    get_measure("CMS117").evaluate(data, P2025)
    get_measure("CMS117").gaps(data, P2025, get_measure("CMS117").evaluate(data, P2025))
    refs = [weakref.ref(frame) for frame in data.frames().values()]
    del data
    gc.collect()
    assert all(ref() is None for ref in refs)


def test_answers_go_with_their_frame() -> None:
    memo, frame = FrameMemo(), _big_frame()
    with remembering(memo):
        remember((frame,), "q", lambda: 1, period=ANY_PERIOD)
    assert len(memo) == 1
    del frame
    gc.collect()
    assert len(memo) == 0


def test_another_thread_does_not_see_this_threads_memo() -> None:
    seen: list[object] = []
    with remembering(FrameMemo()):
        thread = threading.Thread(target=lambda: seen.append(memo_mod._current.get()))
        thread.start()
        thread.join()
    assert seen == [None]
