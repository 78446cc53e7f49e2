"""Appointments from a scheduling export (CSV/XLSX): header synonyms, split date and time, per-row rejections,
re-imports matched, and the rows written to the ``appointment`` table."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
from sqlalchemy import select

from carenet_desktop.interchange.tabular import guess_mapping
from carenet_desktop.interchange.tabular.validate import time_of_day
from carenet_desktop.models import Appointment, Patient
from carenet_desktop.services import intake
from carenet_desktop.services.context import ServiceContext

from .conftest import TODAY, count, write_csv

HEADER = ["Appt ID", "Patient MRN", "Appt Date", "Appt Time", "Appt Length", "Provider", "Provider NPI",
          "Appt Type", "Appt Status"]


def _appointments(ctx: ServiceContext) -> dict[str, Appointment]:
    with ctx.db.session() as s:
        rows = s.scalars(select(Appointment)).all()
        s.expunge_all()
    return {a.source_id or "": a for a in rows}


def test_ehr_schedule_headers_are_recognised() -> None:
    mapping = guess_mapping(HEADER, "appointments")
    assert mapping == {"record_id": "Appt ID", "mrn": "Patient MRN", "date": "Appt Date", "time": "Appt Time",
                       "minutes": "Appt Length", "provider_name": "Provider", "provider_npi": "Provider NPI",
                       "visit_type": "Appt Type", "status": "Appt Status"}


def test_times_of_day_as_schedules_write_them() -> None:
    assert time_of_day("14:30") == 14 * 3600 + 30 * 60
    assert time_of_day("2:30 PM") == 14 * 3600 + 30 * 60
    assert time_of_day("12:05 am") == 5 * 60
    assert time_of_day("0930") == 9 * 3600 + 30 * 60
    assert time_of_day("9:30:15") == 9 * 3600 + 30 * 60 + 15
    for bad in ("25:00", "13:00 PM", "noon", "9", "12:60"):
        assert time_of_day(bad) is None, bad


def test_future_appointments_are_written_and_bad_rows_rejected(ctx: ServiceContext, tmp_path: Path) -> None:
    rows = [
        ["A1", "M001", "07/01/2025", "9:15 AM", "20", "Dr. Doc", "1234567893", "Well child 6 yr", "Booked"],
        ["A2", "M002", "07/02/2025", "14:00", "", "Dr. Doc", "", "Sick visit", ""],
        ["A3", "M004", "07/03/2025", "", "30", "", "", "Well child 18 mo", "Scheduled"],  # date only
        ["A4", "M999", "07/01/2025", "10:00", "20", "Dr. Doc", "", "Well child", "Booked"],  # unknown MRN
        ["A5", "M001", "07/01/2025", "half past nine", "20", "Dr. Doc", "", "Well child", "Booked"],  # bad time
        ["A6", "M001", "07/41/2025", "10:00", "20", "Dr. Doc", "", "Well child", "Booked"],  # impossible date
        ["A7", "M003", "07/01/2025", "10:00", "20", "Dr. Doc", "", "Sports physical", "Maybe"],  # unknown status
        ["A8", "M003", "07/01/2025", "10:00", "-5", "Dr. Doc", "", "Sports physical", "Booked"],  # negative length
        ["A1", "M001", "07/01/2025", "9:15 AM", "20", "Dr. Doc", "", "Well child 6 yr", "Booked"],  # duplicate id
        ["A9", "M003", "02/10/2011", "10:00", "20", "Dr. Doc", "", "Sports physical", "Booked"],  # before birth
    ]
    path = write_csv(tmp_path / "schedule.csv", HEADER, rows)
    all_or_nothing = intake.import_file(ctx, path, "appointments", practice_code="PEDS1", today=TODAY)
    assert not all_or_nothing.written and count(ctx, "appointment") == 0

    result = intake.import_file(ctx, path, "appointments", practice_code="PEDS1", today=TODAY,
                                valid_rows_only=True)
    assert (result.added, result.rejected) == (3, 7)
    by_row = dict(zip(result.problems["row"], result.problems["reason"], strict=True))
    assert by_row == {
        5: "unknown patient (no such MRN in this practice)",
        6: "not a time of day (expected 14:30 or 2:30 PM)",
        7: "invalid or impossible date (expected MM/DD/YYYY)",
        8: "unknown appointment status (booked, arrived, checked in, fulfilled, cancelled, no show ...)",
        9: "not a non-negative whole number",
        10: "duplicate of row 2",
        11: "event before the patient's birth",
    }
    stored = _appointments(ctx)
    assert set(stored) == {"A1", "A2", "A3"}
    a1, a2, a3 = stored["A1"], stored["A2"], stored["A3"]
    assert (a1.start, a1.minutes, a1.provider_name, a1.visit_type, a1.status) == (
        dt.datetime(2025, 7, 1, 9, 15), 20, "Dr. Doc", "Well child 6 yr", "booked")
    assert a1.provider_id is not None and a2.provider_id is None
    assert (a2.start, a2.status, a2.date_only) == (dt.datetime(2025, 7, 2, 14, 0), "booked", None)
    assert (a3.start, a3.date_only) == (dt.datetime(2025, 7, 3), "start")
    with ctx.db.session() as s:
        m001 = s.scalar(select(Patient.id).where(Patient.mrn == "M001"))
    assert a1.patient_id == m001


def test_a_reimport_updates_the_status_and_undo_restores_it(ctx: ServiceContext, tmp_path: Path) -> None:
    first = write_csv(tmp_path / "a.csv", HEADER, [
        ["A1", "M001", "07/01/2025", "9:15 AM", "20", "Dr. Doc", "", "Well child", "Booked"]])
    intake.import_file(ctx, first, "appointments", practice_code="PEDS1", today=TODAY)
    second = write_csv(tmp_path / "b.csv", HEADER, [
        ["A1", "M001", "07/01/2025", "9:15 AM", "20", "Dr. Doc", "", "Well child", "Cancelled"]])
    again = intake.import_file(ctx, second, "appointments", practice_code="PEDS1", today=TODAY)
    assert (again.added, again.updated) == (0, 1)
    assert _appointments(ctx)["A1"].status == "cancelled"
    assert again.import_id is not None
    intake.undo_import(ctx, again.import_id)
    assert _appointments(ctx)["A1"].status == "booked"


def test_an_excel_schedule_with_one_date_time_column(ctx: ServiceContext, tmp_path: Path) -> None:
    path = tmp_path / "schedule.xlsx"
    pd.DataFrame({"MRN": ["M002", "M003"], "Appointment Date": ["2025-07-08 08:40", "2025-07-08 16:20"],
                  "Visit Type": ["Well child", "ADHD follow-up"], "Status": ["Confirmed", "No Show"]}
                 ).to_excel(path, index=False)
    result = intake.import_file(ctx, path, "appointments", practice_code="PEDS1", today=TODAY)
    assert (result.added, result.rejected) == (2, 0)
    starts = sorted((a.start, a.status) for a in _appointments(ctx).values())
    assert starts == [(dt.datetime(2025, 7, 8, 8, 40), "booked"), (dt.datetime(2025, 7, 8, 16, 20), "noshow")]
