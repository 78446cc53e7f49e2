"""The main window against a PostgreSQL server, end to end: the first workstation's window computes the
network scorecard (and its trends) and stores them in the server's shared results; a second workstation's
window (its own cache folders) shows the same scorecard from them: nothing computed, no patient-level row
read - the only patient-table statements it sends are the practice list's patient counts (one row per
practice, counted on the server).

PostgreSQL only; skipped without a server.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from carenet_desktop.models.database import open_database
from carenet_desktop.services import compute_pool
from carenet_desktop.services.context import ServiceContext
from carenet_desktop.services.results import ResultsCache
from carenet_desktop.ui.main_window import MainWindow
from carenet_desktop.ui.pages.scorecards import ScorecardsPage
from carenet_desktop.ui.session import Session
from tests.dbtargets import PG_ENV, fresh_database
from tests.services.test_shared_results import PatientReads
from tests.stores import AS_OF

pytestmark = [pytest.mark.postgres,
              pytest.mark.skipif(not os.environ.get(PG_ENV), reason=f"{PG_ENV} not set: no PostgreSQL server")]

WAIT = 180_000
SHOTS = Path(os.environ.get("CARENET_TEST_SHOTS", "/tmp"))


@pytest.fixture(scope="module")
def server_store(tmp_path_factory) -> Iterator[str]:  # type: ignore[no-untyped-def]
    from carenet_desktop.demo import build_demo

    with fresh_database("postgresql", tmp_path_factory.mktemp("pg-window")) as url:
        db = open_database(url)
        build_demo(db, practices=3, patients=600, seed=7, as_of=AS_OF)
        db.dispose()
        yield url


def _open(qtbot, url: str) -> tuple[MainWindow, ScorecardsPage]:  # type: ignore[no-untyped-def]
    window = MainWindow(Session(ServiceContext(open_database(url), username="tester")), remember_state=False)
    qtbot.addWidget(window)
    window.resize(1280, 800)
    window.show()
    window.show_page(ScorecardsPage.page_id)
    page = window.pages[ScorecardsPage.page_id]
    assert isinstance(page, ScorecardsPage)
    return window, page


def _wait_for_scorecard(qtbot, page: ScorecardsPage) -> None:  # type: ignore[no-untyped-def]
    trends: list[int] = []
    page.trends_loaded.connect(lambda: trends.append(1))
    qtbot.waitUntil(lambda: page.data is not None and page.state.currentIndex() == page.STATE_TABLE, timeout=WAIT)
    qtbot.waitUntil(lambda: bool(trends), timeout=WAIT)  # the sparklines (results delivered on the event loop)


def test_a_second_workstation_window_shows_the_network_scorecard_from_shared_results(
        qtbot, server_store, tmp_path, monkeypatch):  # type: ignore[no-untyped-def]
    computes: list[str] = []
    here, pooled = ResultsCache.compute_here, compute_pool.run

    def compute_here(self, period, ids, progress):  # type: ignore[no-untyped-def]
        computes.append(f"here {period.label}")
        return here(self, period, ids, progress)

    def pool(cache, periods, ids, progress, **options):  # type: ignore[no-untyped-def]
        computes.extend(f"pool {p.label}" for p in periods)
        return pooled(cache, periods, ids, progress, **options)

    monkeypatch.setattr(ResultsCache, "compute_here", compute_here)
    monkeypatch.setattr(compute_pool, "run", pool)

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "first-workstation"))
    first, first_page = _open(qtbot, server_store)
    _wait_for_scorecard(qtbot, first_page)
    assert computes, "the first workstation computed the scorecard"
    assert first_page.model.rowCount() > 0
    first.grab().save(str(SHOTS / "pg-window-first.png"))
    first_table = first_page.data.table  # type: ignore[union-attr]
    first.close()
    first.session.close()
    first.session.ctx.db.dispose()

    computes.clear()
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "second-workstation"))
    session = Session(ServiceContext(open_database(server_store), username="tester"))
    reads = PatientReads(session.ctx.db, monkeypatch)
    window = MainWindow(session, remember_state=False)
    qtbot.addWidget(window)
    window.resize(1280, 800)
    window.show()
    window.show_page(ScorecardsPage.page_id)
    page = window.pages[ScorecardsPage.page_id]
    assert isinstance(page, ScorecardsPage)
    _wait_for_scorecard(qtbot, page)
    window.grab().save(str(SHOTS / "pg-window-second.png"))

    assert computes == []  # neither the scorecard nor its trends computed again
    assert reads.all, "the second window's statements are seen"
    # patient tables are touched only by the practice list's counts: aggregates, one row per practice
    # (never a COPY, never a statement returning patients' rows)
    for statement in reads.statements:
        flat = " ".join(statement.split()).lower()
        assert "count(" in flat and "group by patient.practice_id" in flat and not flat.startswith("copy"), statement
    pd.testing.assert_frame_equal(page.data.table, first_table)  # type: ignore[union-attr]
    assert page.model.rowCount() == first_page.model.rowCount()
    window.close()
    session.close()
    session.ctx.db.dispose()
