"""The care-gaps page on a copy of a small demo, as its tests open it (imported by those test modules)."""

from __future__ import annotations

import datetime as dt
import shutil

import pytest

from carenet_desktop.models.database import open_database
from carenet_desktop.services.context import ServiceContext
from carenet_desktop.ui.pages.care_gaps import CareGapsPage
from carenet_desktop.ui.session import Session
from tests.stores import demo_store

AS_OF = dt.date(2026, 6, 30)
WAIT = 15000


@pytest.fixture(scope="module")
def demo_file(tmp_path_factory):  # type: ignore[no-untyped-def]
    return demo_store(tmp_path_factory, patients=800, seed=1, as_of=AS_OF)


@pytest.fixture
def page(demo_file, tmp_path, qtbot):  # type: ignore[no-untyped-def]
    copy = tmp_path / "demo.db"
    shutil.copy(demo_file, copy)
    db = open_database(copy)
    session = Session(ServiceContext(db, username="tester"))
    widget = CareGapsPage(session, as_of=AS_OF)
    qtbot.addWidget(widget)
    widget.resize(1100, 700)
    widget.show()
    with qtbot.waitSignal(widget.loaded, timeout=WAIT):
        widget.activate()
    yield widget
    session.close()
