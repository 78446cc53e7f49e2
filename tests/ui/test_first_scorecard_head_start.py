"""The first scorecard's compute starts before the window is built (``ui.launch``); the page's first load
joins it instead of computing the same period again, and never takes from it results of another period
or of an older journal version."""

from __future__ import annotations

import datetime as dt
import shutil
import threading

import pandas as pd
import pytest
from sqlalchemy import select

from carenet_desktop.metrics.period import Period
from carenet_desktop.models import Immunization
from carenet_desktop.models.database import open_database
from carenet_desktop.services.context import Progress, ServiceContext
from carenet_desktop.services.results import ResultsCache
from carenet_desktop.services.scorecard import ScorecardService
from carenet_desktop.ui.pages.scorecard_load import _plain, practice_rows, start_first_scorecard
from carenet_desktop.ui.pages.scorecards import ScorecardsPage
from carenet_desktop.ui.session import Session
from tests.stores import demo_store

WAIT = 60000
TODAY = dt.date(2026, 11, 24)
YEAR = Period.year(2025)
OTHER = Period.year(2024)


@pytest.fixture(scope="module")
def demo_file(tmp_path_factory):  # type: ignore[no-untyped-def]
    return demo_store(tmp_path_factory, patients=400, seed=3)


@pytest.fixture
def session(demo_file, tmp_path):  # type: ignore[no-untyped-def]
    copy = tmp_path / "demo.db"
    shutil.copy(demo_file, copy)
    session = Session(ServiceContext(open_database(copy), username="tester"))
    yield session
    session.close()


@pytest.fixture
def computes(monkeypatch, session):  # type: ignore[no-untyped-def]
    """Every from-scratch compute of a period of this test's store, counted; each waits for ``gate`` before it
    starts, so a test decides whether the page asks while the head start is still computing. A compute of
    another store (an earlier test's window, still stopping in the background) is neither counted nor held."""
    calls: list[tuple[Period, ...]] = []
    gate = threading.Event()
    original = ResultsCache.compute_periods_here
    store = session.ctx.db.url.render_as_string(hide_password=True)

    def counted(self, periods, ids, progress, **kwargs):  # type: ignore[no-untyped-def]
        if self.ctx.db.url.render_as_string(hide_password=True) == store:
            calls.append(tuple(periods))
            gate.wait(WAIT / 1000)
        return original(self, periods, ids, progress, **kwargs)

    monkeypatch.setattr(ResultsCache, "compute_periods_here", counted)
    # the page's sparklines (its trend's twelve periods, asked for 150 ms after it loads) are not what these
    # tests count: left out, they cannot slip a period of their own into ``calls`` on a slow machine
    monkeypatch.setattr(ScorecardsPage, "_load_trends", lambda self, period: None)
    return calls, gate


def _page(session: Session, qtbot, key: str) -> ScorecardsPage:  # type: ignore[no-untyped-def]
    page = ScorecardsPage(session, today=TODAY)
    qtbot.addWidget(page)
    page.resize(1100, 700)
    page.show()
    page.period_combo.setCurrentIndex(page.period_combo.findData(key))
    return page


def _table(frame: pd.DataFrame) -> pd.DataFrame:
    keys = ["practice_code", "measure", "group_index"]
    cols = [*keys, "denominator", "numerator", "rate"]
    return frame[cols].sort_values(keys).reset_index(drop=True)


def _fresh(session: Session, tmp_path, period: Period) -> pd.DataFrame:  # type: ignore[no-untyped-def]
    """The period's table from scratch, in a cache of its own."""
    service = ScorecardService(session.ctx, ResultsCache(session.ctx, cache_dir=tmp_path / "fresh"))
    return _table(service.network_table(period))


def test_the_first_load_joins_the_compute_started_with_the_window(session, qtbot, tmp_path, computes) -> None:  # type: ignore[no-untyped-def]
    calls, gate = computes
    head = start_first_scorecard(session, YEAR)
    qtbot.waitUntil(lambda: len(calls) == 1, timeout=WAIT)  # the head start is computing (held at the gate)
    page = _page(session, qtbot, "2025")
    page.activate()
    # the page's load waits for it (were it to compute the period itself, a second compute would start)
    qtbot.waitUntil(lambda: head.waiting == 1 or len(calls) > 1, timeout=WAIT)
    gate.set()
    with qtbot.waitSignal(page.loaded, timeout=WAIT):
        pass
    assert calls == [(YEAR,)]  # ... and computed nothing itself
    assert page.data is not None and page.data.period == YEAR and page.model.rowCount() > 0
    shown = _table(page.data.table)
    pd.testing.assert_frame_equal(shown, _fresh(session, tmp_path, YEAR))


def test_a_load_of_another_period_computes_it_and_stops_the_head_start(session, qtbot, tmp_path, computes) -> None:  # type: ignore[no-untyped-def]
    calls, gate = computes
    head = start_first_scorecard(session, YEAR)
    qtbot.waitUntil(lambda: len(calls) == 1, timeout=WAIT)
    page = _page(session, qtbot, "2024")
    with qtbot.waitSignal(page.loaded, timeout=WAIT):
        page.activate()
        gate.set()
    assert page.data is not None and page.data.period == OTHER
    assert head.progress.cancelled and head.wait(WAIT / 1000)  # 2025 is not computed for nothing
    pd.testing.assert_frame_equal(_table(page.data.table), _fresh(session, tmp_path, OTHER))
    assert not _table(page.data.table).equals(_fresh(session, tmp_path, YEAR))  # the two years differ


def test_a_write_after_the_head_start_is_in_the_first_scorecard(session, qtbot, tmp_path, computes) -> None:  # type: ignore[no-untyped-def]
    calls, gate = computes
    gate.set()
    head = start_first_scorecard(session, YEAR)
    assert head.wait(WAIT / 1000)
    early = head.join(YEAR, Progress())
    assert early is not None
    before = _table(early.table)
    # a child counted in CMS117's numerator loses their immunizations (an edit the journal records)
    rows = ScorecardService(session.ctx).cache.results(YEAR).rows  # read back from the file the head start saved
    target = int(rows[(rows["measure"] == "CMS117") & rows["numerator"].fillna(False)]["patient_id"].iloc[0])
    with session.ctx.db.session() as s:
        for imm in s.scalars(select(Immunization).where(Immunization.patient_id == target)):
            s.delete(imm)
    page = _page(session, qtbot, "2025")
    with qtbot.waitSignal(page.loaded, timeout=WAIT):
        page.activate()
    assert page.data is not None and page.data is not early
    shown = _table(page.data.table)
    fresh = _fresh(session, tmp_path, YEAR)
    pd.testing.assert_frame_equal(shown, fresh)
    assert not shown.equals(before)  # the write changed a rate: the head start's table was not shown
    assert calls == [(YEAR,), (YEAR,)]  # the head start's and the fresh cache's: the page refreshed from the journal


def test_practice_rows_are_the_tables_records_as_plain_values(session) -> None:  # type: ignore[no-untyped-def]
    """The rows the page shows per practice, built column by column: the same records, values and types as
    a per-record conversion; rows without a practice are left out, a practice without rows is kept."""
    table = ScorecardService(session.ctx).network_table(YEAR)
    stray = table.iloc[:1].copy()
    stray["practice_code"] = pd.NA
    table = pd.concat([table, stray], ignore_index=True)
    codes = ["NOROWS", *pd.unique(table["practice_code"].dropna())[1:]]  # one practice only in the table
    expected: dict[str, list[dict]] = {code: [] for code in codes}
    for code, part in table.groupby("practice_code", sort=False):
        expected[str(code)] = [{k: _plain(v) for k, v in rec.items()} for rec in part.to_dict("records")]
    built = practice_rows(table, codes)
    assert list(built) == list(expected)
    for code, records in expected.items():
        assert [[(k, type(v), v) for k, v in r.items()] for r in built[code]] == \
            [[(k, type(v), v) for k, v in r.items()] for r in records], code
    assert sum(map(len, built.values())) == len(table) - 1
    assert any(v is None for r in built[codes[1]] for v in r.values())  # missing values came out as None


def test_the_window_starts_the_scorecard_it_will_show_first(session, computes) -> None:  # type: ignore[no-untyped-def]
    """``launch.start_first_scorecard_early``: the home page's period as the window restores it (the period
    last shown, else this year to date); nothing when another page comes first."""
    from carenet_desktop.ui.launch import start_first_scorecard_early, stop_head_start
    from carenet_desktop.ui.pages.scorecard_load import first_period, take_head_start
    from carenet_desktop.ui.settings import WindowState

    _calls, gate = computes
    gate.set()
    state = WindowState()
    state.set_last_period("2024")
    head = start_first_scorecard_early(session, None, remember_state=True)
    assert head is not None and head.key == OTHER
    stop_head_start(head)
    assert take_head_start(session) is not None  # the page built next would take it
    head = start_first_scorecard_early(session, None, remember_state=False)  # a screenshot: the default
    assert head is not None and head.key == first_period(None) != OTHER
    stop_head_start(head)
    state.set_last_page("patients")
    assert start_first_scorecard_early(session, None, remember_state=True) is None
    assert start_first_scorecard_early(session, "care_gaps", remember_state=False) is None
