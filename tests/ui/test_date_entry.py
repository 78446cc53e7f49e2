"""Date fields of Data entry take what a person types (ISO, US short forms), show the day understood, refuse an
impossible date beside the field, never save another day than the one typed, and warn on a day before the
patient's birth or in the future (issue 25)."""

from __future__ import annotations

import datetime as dt

import pytest
from PySide6.QtCore import QDate, Qt
from PySide6.QtWidgets import QApplication
from sqlalchemy import func, select

from carenet_desktop.models import CareActivity, Encounter, Patient
from carenet_desktop.ui.date_field import DateField, DateReading, full_year, read_date
from carenet_desktop.ui.pages.data_entry import DataEntryPage

from . import test_data_entry_page as entry_tests
from .test_data_entry_page import TODAY, _pick_patient, _submit_with_enter

page = entry_tests.page  # the data-entry page on a small store (the fixture)


@pytest.mark.parametrize(("text", "day"), [
    ("2025-06-15", dt.date(2025, 6, 15)),
    ("6/15/2025", dt.date(2025, 6, 15)),
    ("06/15/25", dt.date(2025, 6, 15)),
    ("6-15-2025", dt.date(2025, 6, 15)),
    ("20250615", dt.date(2025, 6, 15)),
    (" 2010-01-01 ", dt.date(2010, 1, 1)),
    ("2/29/2024", dt.date(2024, 2, 29)),
    ("today", TODAY),
])
def test_what_a_person_types_is_read_as_that_day(text: str, day: dt.date) -> None:
    assert read_date(text, TODAY) == DateReading(day, "")


@pytest.mark.parametrize(("text", "error"), [
    ("2026-13-45", "There is no month 13"),
    ("2026-02-29", "February 2026 has 28 days, not 29"),
    ("6/31/2025", "June 2025 has 30 days, not 31"),
    ("2026-06-00", "June 2026 has 30 days, not 0"),
    ("15.06.2025", "Not a date"),
    ("tomorrow-ish", "Not a date"),
    ("1850-01-01", "The year 1850 is not plausible"),
    ("", "Enter a date"),
])
def test_an_impossible_date_says_what_is_wrong(text: str, error: str) -> None:
    reading = read_date(text, TODAY)
    assert reading.day is None and reading.error.startswith(error)


def test_a_two_digit_year_is_this_century_unless_more_than_a_year_ahead() -> None:
    assert (full_year(25, TODAY), full_year(27, TODAY), full_year(28, TODAY), full_year(99, TODAY)) == \
        (2025, 2027, 1928, 1999)


def _type_date(qtbot, field: DateField, text: str) -> None:  # type: ignore[no-untyped-def]
    field.setFocus()
    qtbot.keyClick(field.edit, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    qtbot.keyClicks(field.edit, text)


def _count(page: DataEntryPage, model: type) -> int:
    with page.session.ctx.db.session() as s:
        return s.scalar(select(func.count()).select_from(model))


def _born_in_2009(page: DataEntryPage) -> None:
    with page.session.ctx.db.session() as s:
        s.scalars(select(Patient).where(Patient.mrn == "NORTH-2")).one().birth_date = dt.date(2009, 5, 1)


@pytest.mark.parametrize("typed", ["2025-06-15", "6/15/2025", "06/15/25"])
def test_a_visit_date_typed_is_shown_as_understood_and_saved_as_that_day(page, qtbot, typed) -> None:  # type: ignore[no-untyped-def]
    page.practice_combo.setCurrentIndex(page.practice_combo.findText("NORTH", Qt.MatchFlag.MatchStartsWith))
    _pick_patient(page, qtbot, "NORTH-2")
    form = page.forms["encounter"]
    _type_date(qtbot, form.date, typed)
    assert form.date.text() == typed  # what is typed stays as typed while typing
    assert form.date.message() == ("understood", "Sunday 15 June 2025")
    assert form.date.note.text() == "Sunday 15 June 2025" and form.date.note.isVisible()
    qtbot.keyClick(form.date.edit, Qt.Key.Key_Tab)
    assert QApplication.focusWidget() is form.code.edit
    assert form.date.text() == "2025-06-15"  # leaving the field writes the same day in ISO
    qtbot.keyClicks(form.code.edit, "99392")
    _, result = _submit_with_enter(page, qtbot, form.code)
    assert result.ok
    with page.session.ctx.db.session() as s:
        assert s.get(Encounter, result.id).start.date() == dt.date(2025, 6, 15)


def test_2010_01_01_is_saved_as_2010_01_01(page, qtbot) -> None:  # type: ignore[no-untyped-def]
    _born_in_2009(page)
    page.practice_combo.setCurrentIndex(page.practice_combo.findText("NORTH", Qt.MatchFlag.MatchStartsWith))
    _pick_patient(page, qtbot, "NORTH-2")
    form = page.forms["encounter"]
    _type_date(qtbot, form.date, "2010-01-01")
    assert form.date.message() == ("understood", "Friday 1 January 2010")
    form.code.setFocus()
    qtbot.keyClicks(form.code.edit, "99392")
    _, result = _submit_with_enter(page, qtbot, form.code)
    assert result.ok
    with page.session.ctx.db.session() as s:
        assert s.get(Encounter, result.id).start.date() == dt.date(2010, 1, 1)
    assert "on 2010-01-01" in page.action_message.text()


def test_an_impossible_date_is_refused_beside_the_field_and_nothing_is_saved(page, qtbot) -> None:  # type: ignore[no-untyped-def]
    page.practice_combo.setCurrentIndex(page.practice_combo.findText("NORTH", Qt.MatchFlag.MatchStartsWith))
    _pick_patient(page, qtbot, "NORTH-2")
    form = page.forms["encounter"]
    form.code.setFocus()
    qtbot.keyClicks(form.code.edit, "99392")
    _type_date(qtbot, form.date, "2026-13-45")
    kind, text = form.date.message()
    assert kind == "error" and text.startswith("There is no month 13")
    assert form.date.note.text() == text and form.date.note.isVisible() and "b42318" in form.date.note.styleSheet()
    assert form.date.text() == "2026-13-45" and form.date.date() is None  # not turned into another day
    qtbot.keyClick(form.date.edit, Qt.Key.Key_Tab)
    assert form.date.text() == "2026-13-45"  # leaving the field does not change it either
    form.code.setFocus()
    qtbot.keyClick(form.code, Qt.Key.Key_Return)
    assert page.write_task is None and _count(page, Encounter) == 0
    assert form.date.hasFocus()  # back on the date to fix it
    assert page.action_message.text().startswith("Not saved: There is no month 13")


def test_a_day_before_birth_or_in_the_future_is_warned_about_as_typed(page, qtbot) -> None:  # type: ignore[no-untyped-def]
    page.practice_combo.setCurrentIndex(page.practice_combo.findText("NORTH", Qt.MatchFlag.MatchStartsWith))
    form = page.forms["encounter"]
    _type_date(qtbot, form.date, "2014-12-31")
    assert form.date.message()[0] == "understood"  # no patient yet: no birth date to compare with
    _pick_patient(page, qtbot, "NORTH-0")  # born 2015-01-01
    assert form.date.message() == ("warning", "Wednesday 31 December 2014: before the patient's birth (2015-01-01).")
    assert form.date.note.text() == form.date.message()[1] and "8a5a00" in form.date.note.styleSheet()
    _type_date(qtbot, form.date, "7/4/2026")
    assert form.date.message() == ("warning", "Saturday 4 July 2026: in the future (today is 2026-06-30).")
    _type_date(qtbot, form.date, "6/30/2026")
    assert form.date.message() == ("understood", "Tuesday 30 June 2026")


def test_the_services_message_about_a_date_goes_once_the_date_is_changed(page, qtbot) -> None:  # type: ignore[no-untyped-def]
    page.practice_combo.setCurrentIndex(page.practice_combo.findText("NORTH", Qt.MatchFlag.MatchStartsWith))
    _pick_patient(page, qtbot, "NORTH-0")
    form = page.forms["encounter"]
    form.code.setFocus()
    qtbot.keyClicks(form.code.edit, "99392")
    _type_date(qtbot, form.date, "2026-07-04")  # a warning only: the service has the last word
    _, result = _submit_with_enter(page, qtbot, form.code)
    assert not result.ok and form.errors.shown() == {"date": "Cannot be in the future."}
    _type_date(qtbot, form.date, "2026-06-29")
    assert form.errors.shown() == {}
    _, result = _submit_with_enter(page, qtbot, form.code)
    assert result.ok


def test_a_care_activity_date_typed_in_us_form_is_saved_as_that_day(page, qtbot) -> None:  # type: ignore[no-untyped-def]
    page.practice_combo.setCurrentIndex(page.practice_combo.findText("LAKE", Qt.MatchFlag.MatchStartsWith))
    activity = page.forms["care_activity"]
    page.tabs.setCurrentWidget(activity)
    activity.activity_type.setCurrentIndex(activity.activity_type.findData("outreach-call"))
    _type_date(qtbot, activity.date, "3/9/26")
    _, result = _submit_with_enter(page, qtbot, activity.notes)
    assert result.ok
    with page.session.ctx.db.session() as s:
        assert s.get(CareActivity, result.id).activity_date == dt.date(2026, 3, 9)


def test_the_calendar_sets_the_day_chosen(qtbot) -> None:  # type: ignore[no-untyped-def]
    field = DateField("Date", "The day", TODAY, TODAY)
    qtbot.addWidget(field)
    field.calendar.clicked.emit(QDate(2025, 3, 3))
    assert field.text() == "2025-03-03" and field.date() == dt.date(2025, 3, 3)


def test_aggregate_period_fields_refuse_an_impossible_day(page, qtbot) -> None:  # type: ignore[no-untyped-def]
    agg = page.forms["aggregate_entry"]
    page.tabs.setCurrentWidget(agg)
    _type_date(qtbot, agg.period_end, "2026-04-31")
    assert agg.unreadable_date() is agg.period_end
    assert agg.period_end.note.text() == "April 2026 has 30 days, not 31."
    assert page.submit(agg) is None and agg.period_end.hasFocus()
