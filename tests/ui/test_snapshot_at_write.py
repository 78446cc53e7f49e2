"""A write made in the window brings the frames snapshot up to date off the GUI thread (``Session.notify``),
and closing the window waits for it: the next start reads it warm, equal to a from-scratch read."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from carenet_desktop.models import Patient
from carenet_desktop.models.changes import current_version
from carenet_desktop.models.database import open_database
from carenet_desktop.services import entry, frames_cache, snapshot_keeper
from carenet_desktop.services.changes import Area, Change
from carenet_desktop.services.context import ServiceContext
from carenet_desktop.ui import session as session_module
from carenet_desktop.ui.session import Session
from tests.services.test_snapshot_keeper import _assert_from_scratch, _start_warm
from tests.stores import demo_store


def test_a_write_in_the_window_brings_the_snapshot_current_in_the_background(qapp, tmp_path_factory, monkeypatch):  # type: ignore[no-untyped-def]
    path = demo_store(tmp_path_factory)
    ctx = ServiceContext(open_database(path), username="tester")
    folder = frames_cache.default_folder(ctx.db)
    frames_cache.load_measure_data_cached(ctx.db)  # an earlier start's snapshot
    frames_cache.wait_for_saves()
    monkeypatch.setattr(session_module, "SNAPSHOT_DELAY_S", 600.0)  # started by close() below, not by the clock
    session = Session(ctx)
    session.notify(Change.of(Area.USERS))  # changes no number: nothing to bring up to date
    assert folder not in snapshot_keeper._KEEPERS
    with ctx.db.session() as s:
        patient_id = s.scalars(select(Patient.id).where(Patient.birth_date < dt.date(2025, 1, 1))).first()
    done = entry.record_immunization(ctx, patient_id=patient_id, date=dt.date(2025, 3, 1), cvx="133",
                                     today=dt.date(2026, 6, 30))
    assert done.ok
    session.notify(done.change)  # what Session.write does once the write has finished
    assert folder in snapshot_keeper._KEEPERS  # pending on its own thread, not done on this one
    with ctx.db.session() as s:
        version = current_version(s)
    assert not list(folder.glob(f"v{version}-*.npz"))
    session.close()  # waits for the pending update
    assert list(folder.glob(f"v{version}-*.npz"))
    fresh, data, served = _start_warm(path, None, folder, monkeypatch)
    assert served
    _assert_from_scratch(fresh, data)
    fresh.dispose()
