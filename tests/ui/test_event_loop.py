"""The window never freezes: the event loop keeps turning while the scorecard is computed on a worker.

The computes run in worker processes, as in ``carenet gui``. A 5 ms timer ticks on the GUI thread from
the window's first paint until the scorecard of a demo network and its trend are on screen (the cold
compute: the store read into frames, then every measure for every practice and every trend period), and
again while another year is computed.

This is a guard against a *freeze*, not a speed test. Two checks, each robust to a busy machine:

* work landed on the GUI thread (a compute, a store read): the GUI thread's own CPU time during one gap
  passes ``FREEZE_MS`` (2 s) - CPU time, so a machine that only delays the thread does not count;
* a blocking wait on the GUI thread: a gap's wall time passes ``FREEZE_MS`` scaled by how overloaded the
  machine is (load average per core, when over 1). A wait for the whole compute stretches with the load
  just as much, so it is still caught; on a quiet machine the limit is 2 s.

The speed figure users feel — no gap over 200 ms — is measured by ``benchmarks/bench_ui.py`` on a quiet
machine and quoted in the notes; asserting it here failed CI on a loaded 2-core machine (629 ms, and 2.8 s
at load 12) with nothing broken.
The demo's size is ``CARENET_STALL_PATIENTS`` (default 30,000 here and in CI; bench_ui uses the
250,000-patient demo).
"""

from __future__ import annotations

import datetime as dt
import os
import time

import pytest
from PySide6.QtCore import QTimer

from carenet_desktop.models.database import open_database
from carenet_desktop.services import compute_pool
from carenet_desktop.services.context import ServiceContext
from carenet_desktop.ui.main_window import MainWindow
from carenet_desktop.ui.pages.scorecards import ScorecardsPage
from carenet_desktop.ui.session import Session

PATIENTS = int(os.environ.get("CARENET_STALL_PATIENTS", "30000"))
FREEZE_MS = 2000.0


@pytest.fixture(scope="module")
def demo_file(tmp_path_factory):  # type: ignore[no-untyped-def]
    from carenet_desktop.demo import build_demo
    from carenet_desktop.services.valuesets import ensure_default_catalogue

    path = tmp_path_factory.mktemp("stall") / "demo.db"
    db = open_database(path)
    build_demo(db, practices=12, patients=PATIENTS, seed=2025, as_of=dt.date(2026, 6, 30))
    ensure_default_catalogue(ServiceContext(db))
    db.dispose()
    return path


class GapMeter:
    """Gaps between ticks of a 5 ms timer on the GUI thread: wall ms, and the GUI thread's own CPU ms."""

    def __init__(self) -> None:
        self.gaps: list[float] = []
        self.cpu_gaps: list[float] = []
        self._last = time.perf_counter()
        self._last_cpu = time.thread_time()
        self.loads: list[float] = []
        self.timer = QTimer()
        self.timer.setInterval(5)
        self.timer.timeout.connect(self._tick)

    def _tick(self) -> None:
        now, cpu = time.perf_counter(), time.thread_time()  # (ticks run on the GUI thread)
        self.gaps.append((now - self._last) * 1000)
        self.cpu_gaps.append((cpu - self._last_cpu) * 1000)
        self._last, self._last_cpu = now, cpu

    def start(self) -> None:
        self._load()
        self._last, self._last_cpu = time.perf_counter(), time.thread_time()
        self.timer.start()

    def stop(self) -> float:
        self.timer.stop()
        self._load()
        return max(self.gaps)

    def _load(self) -> None:
        if hasattr(os, "getloadavg"):
            self.loads.append(os.getloadavg()[0])

    def wall_limit(self) -> float:
        """``FREEZE_MS`` scaled by the machine's overload (load average per core) while measured."""
        overload = max(self.loads, default=0.0) / (os.cpu_count() or 1)
        return FREEZE_MS * max(1.0, overload)


@pytest.fixture
def worker_processes():  # type: ignore[no-untyped-def]
    """Computes in worker processes, as ``carenet gui`` runs them."""
    compute_pool.configure()
    yield
    compute_pool.configure(0)


@pytest.mark.slow
def test_the_event_loop_never_freezes_while_scorecards_are_computed(demo_file, qtbot, tmp_path, monkeypatch,
                                                                    worker_processes):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))  # no saved results: a truly cold compute
    session = Session(ServiceContext(open_database(demo_file), username="tester"))
    window = MainWindow(session, remember_state=False)
    qtbot.addWidget(window)
    window.show()  # the scorecard's compute starts here, on a worker
    qtbot.wait(1)  # the first paint of the window (start-up, not a stall)
    meter = GapMeter()
    meter.start()
    page = window.pages[ScorecardsPage.page_id]
    assert isinstance(page, ScorecardsPage)
    started = time.perf_counter()
    qtbot.waitUntil(lambda: page.data is not None, timeout=600_000)
    cold = time.perf_counter() - started
    qtbot.waitUntil(lambda: page.trend_table is not None, timeout=600_000)
    first = meter.stop()
    first_meter = meter
    assert page.model.rowCount() > 0
    assert len(meter.gaps) > 20  # the timer really ran during the compute (≈ cold / 5 ms ticks)

    meter = GapMeter()
    meter.start()
    page.period_combo.setCurrentIndex(page.period_combo.currentIndex() + 1)
    qtbot.waitUntil(lambda: page.data is not None and page.data.period.start.year == page.period.start.year
                    and page.state.currentIndex() == page.STATE_TABLE, timeout=600_000)
    second = meter.stop()
    session.close()
    print(f"\n{PATIENTS:,} patients: cold scorecard {cold:.1f} s, longest gaps {first:.0f} ms and {second:.0f} ms")
    for meter_, gap, when in ((first_meter, first, "during the cold compute"),
                              (meter, second, "while another year was computed")):
        assert max(meter_.cpu_gaps) <= FREEZE_MS, \
            f"the GUI thread worked {max(meter_.cpu_gaps):.0f} ms without turning the event loop {when}"
        limit = meter_.wall_limit()
        assert gap <= limit, f"the event loop froze {gap:.0f} ms {when} (limit {limit:.0f} ms at loads {meter_.loads})"
