"""Issue 23's acceptance: the window, the practice's PDF and the results spreadsheet give every rate of a
demo practice the same status (``metrics.judgement``), and the same headline counts."""

from __future__ import annotations

import csv
import datetime as dt
import re
import shutil
import subprocess
from collections import Counter

import pytest

from carenet_desktop.metrics.judgement import ORDER, headline
from carenet_desktop.metrics.period import Period
from carenet_desktop.models.database import open_database
from carenet_desktop.services.context import ServiceContext
from carenet_desktop.services.reports import scorecard_pdf
from carenet_desktop.services.results_export import export_results
from carenet_desktop.ui.itemmodels.scorecard import COLUMNS, ROW_ROLE
from carenet_desktop.ui.pages.scorecards import ScorecardsPage
from carenet_desktop.ui.session import Session
from tests.stores import demo_store

pytestmark = pytest.mark.skipif(shutil.which("pdftotext") is None, reason="pdftotext (poppler) not installed")
STATUS_COLUMN = [c.key for c in COLUMNS].index("status")
COUNTS_COLUMN = [c.key for c in COLUMNS].index("counts")
WORDS = "|".join(re.escape(s.value) for s in ORDER)


@pytest.fixture(scope="module")
def store(tmp_path_factory):  # type: ignore[no-untyped-def]
    return demo_store(tmp_path_factory, patients=800, seed=5)


def _window(store, qtbot):  # type: ignore[no-untyped-def]
    """(n / N, status) of every row the window shows for P001 in 2025; measure/rate -> status; the tiles."""
    session = Session(ServiceContext(open_database(store), username="tester"))
    page = ScorecardsPage(session, today=dt.date(2026, 3, 1))
    qtbot.addWidget(page)
    page.period_combo.setCurrentIndex(page.period_combo.findData("2025"))
    with qtbot.waitSignal(page.loaded, timeout=120000):
        page.activate()
    page.select_practice("P001")
    proxy = page.proxy
    rows = [(proxy.index(i, COUNTS_COLUMN).data().replace(",", ""), proxy.index(i, STATUS_COLUMN).data())
            for i in range(proxy.rowCount())]
    keys = {f"{r['measure']}/{r['group_title'] or ''}": proxy.index(i, STATUS_COLUMN).data()
            for i in range(proxy.rowCount()) if (r := proxy.index(i, 0).data(ROW_ROLE))}
    tiles = {s.value: page.status_tiles[s].value() for s in ORDER}
    session.close()
    return rows, keys, tiles


def test_window_pdf_and_spreadsheet_agree_on_every_status(store, tmp_path, qtbot) -> None:  # type: ignore[no-untyped-def]
    rows, by_key, tiles = _window(store, qtbot)
    statuses = [s for _, s in rows]
    assert len(rows) > 20 and len(set(statuses)) >= 3  # a real mix, not one word everywhere
    assert tiles == {k.value: str(v) for k, v in _tally(statuses).items()}

    ctx = ServiceContext(open_database(store), username="tester")
    pdf = tmp_path / "p001.pdf"
    scorecard_pdf(ctx, "P001", Period.year(2025), pdf, trends=False)
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], check=True, capture_output=True, text=True).stdout
    # the cover's headline is the window's, word for word
    assert headline(statuses) in " ".join(text.split())
    # the measure table: each row's counts and status, as the window shows them
    table = [(f"{m.group(1)} / {m.group(2)}".replace(",", ""), m.group(3))
             for m in re.finditer(rf"(\d[\d,]*) ?/ ?(\d[\d,]*)\s.*?\s({WORDS})\s*$", text, re.MULTILINE)]
    assert Counter(table) == Counter(rows)

    sheet = tmp_path / "results.csv"
    export_results(ctx, Period.year(2025), sheet, ["P001"])
    with sheet.open(encoding="utf-8-sig") as fh:
        exported = {f"{r['Measure']}/{r['Rate']}": r["Status"] for r in csv.DictReader(fh)}
    assert exported == by_key
    ctx.db.dispose()


def _tally(statuses: list[str]) -> dict:  # type: ignore[type-arg]
    """Every status (in the headline's order) and how many rows have it."""
    tally = Counter(statuses)
    return {s: tally.get(s.value, 0) for s in ORDER}
