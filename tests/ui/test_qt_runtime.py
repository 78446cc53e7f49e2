"""Guards against a broken Qt binding: PySide6 6.12.0 drops a reference to ``True`` on every
``Signal.emit()`` under Python 3.11, so a long session (progress signals) aborts with
"Fatal Python error: bool_dealloc". pyproject.toml must exclude such a version."""

from __future__ import annotations

import sys

import PySide6
from PySide6.QtCore import QObject, Signal


class _Emitter(QObject):
    ping = Signal(int)


def test_signal_emit_keeps_reference_counts(qapp):
    emitter = _Emitter()
    received: list[int] = []
    emitter.ping.connect(received.append)
    before = sys.getrefcount(True), sys.getrefcount(False)
    for i in range(200):
        emitter.ping.emit(i)
    after = sys.getrefcount(True), sys.getrefcount(False)
    assert len(received) == 200
    # immortal bools (Python >= 3.12) report a constant; on 3.11 a leak shows as a drop of ~200
    assert after[0] - before[0] > -50 and after[1] - before[1] > -50, (
        f"PySide6 {PySide6.__version__} loses a reference per Signal.emit(); pin another version"
    )
