"""Migration 0008: outreach method, outcome and follow-up day on care_activity; older outreach rows still read."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import inspect, text

from carenet_desktop.models.database import make_engine, open_database, resolve_url
from carenet_desktop.models.migrations import upgrade
from carenet_desktop.services import outreach
from carenet_desktop.services.context import ServiceContext


def test_an_outreach_note_written_before_0008_reads_after_it(tmp_path) -> None:  # type: ignore[no-untyped-def]
    url = f"sqlite:///{tmp_path / 'old.db'}"
    engine = make_engine(resolve_url(url))
    upgrade(engine, "0007")
    now = dt.datetime(2026, 6, 1, 9, 0)
    with engine.begin() as conn:
        assert "outcome" not in {c["name"] for c in inspect(conn).get_columns("care_activity")}
        conn.execute(text("INSERT INTO practice (id, code, name, active, created_at, updated_at) "
                          "VALUES (1, 'P1', 'Practice one', 1, :t, :t)"), {"t": now})
        conn.execute(text("INSERT INTO patient (id, practice_id, mrn, birth_date, sex, race, ethnicity, language, "
                          "payer, active, created_at, updated_at) VALUES (1, 1, 'M1', '2020-01-01', 'unknown', "
                          "'unknown', 'unknown', 'unknown', 'unknown', 1, :t, :t)"), {"t": now})
        conn.execute(text("INSERT INTO care_activity (practice_id, patient_id, activity_type, activity_date, notes, "
                          "created_at, updated_at) VALUES (1, 1, 'outreach', '2026-06-01', "
                          "'[LSC] called, left a voicemail', :t, :t)"), {"t": now})
    engine.dispose()
    db = open_database(url)  # upgrades to head
    try:
        ctx = ServiceContext(db, username="tester")
        done = outreach.outreach_done(ctx)
        assert done[["measure", "note", "method", "outcome", "follow_up_date"]].values.tolist() == [
            ["LSC", "called, left a voicemail", None, None, None]]
        assert outreach.latest_attempts(done)["last_outreach"].tolist() == ["2026-06-01 outreach"]
        result = outreach.record_outreach(ctx, patient_id=1, measure_id=None, note="", method="text",
                                          outcome="reached", date=dt.date(2026, 6, 30), today=dt.date(2026, 6, 30))
        assert result.ok
        latest = outreach.latest_attempts(outreach.outreach_done(ctx))
        assert latest[["last_outreach", "attempts"]].values.tolist() == [["2026-06-30 text: reached", 2]]
    finally:
        db.dispose()
