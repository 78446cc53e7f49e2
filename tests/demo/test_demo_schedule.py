"""The demo's schedule: appointments on the weekdays of the two weeks from today, booked with the practice's
providers, and drawn apart from everything else (another day gives other appointments, the same records)."""

from __future__ import annotations

import datetime as dt
import sqlite3
from pathlib import Path

from tests.demo.test_demo import _build, _dump_hash

TODAY = dt.date(2026, 1, 14)  # a Wednesday, after the demo's last day of data (2025-12-31)


def test_appointments_fill_the_next_two_weeks_and_change_nothing_else(tmp_path: Path) -> None:
    a, b = tmp_path / "a.db", tmp_path / "b.db"
    summary = _build(a, practices=2, patients=800, seed=3, today=TODAY)
    _build(b, practices=2, patients=800, seed=3, today=TODAY + dt.timedelta(days=1))
    con = sqlite3.connect(a)
    try:
        rows = con.execute("SELECT a.start, a.status, a.visit_type, a.patient_id, pr.practice_id, p.practice_id "
                           "FROM appointment a JOIN patient p ON p.id = a.patient_id "
                           "JOIN provider pr ON pr.id = a.provider_id").fetchall()
        booked_children = con.execute("SELECT count(DISTINCT patient_id) FROM appointment").fetchone()[0]
    finally:
        con.close()
    assert summary.rows["appointment"] == len(rows) == booked_children  # one visit per booked child
    assert 0.05 * 800 < len(rows) < 0.14 * 800
    starts = [dt.datetime.fromisoformat(r[0]) for r in rows]
    assert min(starts).date() >= TODAY and max(starts).date() < TODAY + dt.timedelta(days=14)
    assert all(s.weekday() < 5 and dt.time(8) <= s.time() <= dt.time(16, 40) for s in starts)
    assert {r[1] for r in rows} == {"booked"}
    assert {"Well child visit", "Sick visit"} <= {r[2] for r in rows}
    assert all(r[4] == r[5] for r in rows)  # a provider of the child's own practice
    ha, hb = _dump_hash(a), _dump_hash(b)
    assert ha["appointment"] != hb["appointment"]
    apart = {"appointment", "data_import"}  # the demo's import record counts the rows it wrote
    assert {k: v for k, v in ha.items() if k not in apart} == {k: v for k, v in hb.items() if k not in apart}
