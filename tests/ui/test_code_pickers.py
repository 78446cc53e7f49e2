"""Codes entered by name: vaccines (CVX), visits (CPT) and screening instruments (LOINC) are found by name,
common synonym or code, the store's most used first; what a text means is said beside the field as it is
typed, a text naming nothing is not saved, and a failed save's message does not follow to another tab."""

from __future__ import annotations

import datetime as dt

import pytest
from PySide6.QtCore import Qt
from sqlalchemy import select

from carenet_desktop.models import Immunization, Observation, Patient
from carenet_desktop.services.code_choices import (
    INSTRUMENT_CHOICES,
    VACCINES,
    VISITS,
    exact_matches,
    load_code_choices,
    search,
)
from carenet_desktop.ui.code_picker import cvx_picker

from . import test_data_entry_page as entry_tests
from .test_data_entry_page import WAIT, _pick_patient, _submit_with_enter

page = entry_tests.page  # the data-entry page on a small store (the fixture)


@pytest.mark.parametrize(("typed", "code"), [
    ("Tdap", "115"), ("tdap", "115"), ("MMR", "03"), ("flu", "150"), ("chickenpox", "21"), ("Pentacel", "120"),
    ("115", "115"), ("3", "03"), ("03", "03"), ("hep B", "08"), ("MMR · CVX 03", "03"),
])
def test_a_vaccine_is_found_by_name_synonym_or_code(typed: str, code: str) -> None:
    assert search(VACCINES, typed)[0].code == code
    assert exact_matches(VACCINES, typed)[0].code == code


def test_partial_names_list_every_match_and_nonsense_none() -> None:
    assert [c.code for c in search(VACCINES, "rota")] == ["116", "119", "122"]
    assert {c.code for c in exact_matches(VACCINES, "flu")} == {"150", "140", "171", "149", "88"}
    assert search(VACCINES, "xyz") == [] and exact_matches(VACCINES, "rota") == []
    assert search(VISITS, "well child 1-4")[0].code == "99392"
    assert [c.value for c in search(INSTRUMENT_CHOICES, "autism")] == ["m-chat-r-f"]
    assert exact_matches(INSTRUMENT_CHOICES, "72133-2")[0].value == "m-chat-r-f"


def test_the_vaccines_this_store_gives_most_come_first(page) -> None:  # type: ignore[no-untyped-def]
    ctx = page.session.ctx
    assert load_code_choices(ctx).vaccines[0].code == "20"  # nothing recorded: the list's own order
    with ctx.db.session() as s:
        patient = s.scalars(select(Patient)).first()
        for _ in range(3):
            s.add(Immunization(patient_id=patient.id, code_system="cvx", code="171", status="completed",
                               occurrence=dt.datetime(2026, 1, 5)))
    codes = load_code_choices(ctx)
    assert codes.vaccines[0].code == "171" and codes.vaccines[0].uses == 3
    assert exact_matches(codes.vaccines, "flu")[0].code == "171"  # "flu" now means the one given here
    assert search(codes.vaccines, "")[0].code == "171"


def _immunization_form(page, qtbot):  # type: ignore[no-untyped-def]
    page.practice_combo.setCurrentIndex(page.practice_combo.findText("LAKE", Qt.MatchFlag.MatchStartsWith))
    _pick_patient(page, qtbot, "LAKE-1")
    form = page.forms["immunization"]
    page.tabs.setCurrentWidget(form)
    form.cvx.setFocus()
    return form


def test_tdap_typed_is_understood_as_you_type_and_saved_as_cvx_115(page, qtbot) -> None:  # type: ignore[no-untyped-def]
    form = _immunization_form(page, qtbot)
    qtbot.keyClicks(form.cvx.edit, "Tdap")
    assert form.cvx.note.text() == ("Tdap: tetanus toxoid, reduced diphtheria toxoid and acellular pertussis "
                                    "vaccine (CVX 115).")
    assert form.cvx.note.isVisible() and form.cvx.problem() is None
    _, result = _submit_with_enter(page, qtbot, form.cvx.edit)
    assert result.ok
    with page.session.ctx.db.session() as s:
        assert s.get(Immunization, result.id).code == "115"
    assert "Vaccine Tdap (CVX 115) given on 2026-06-30" in page.action_message.text()


def test_mmr_and_flu_by_name(page, qtbot) -> None:  # type: ignore[no-untyped-def]
    form = _immunization_form(page, qtbot)
    qtbot.keyClicks(form.cvx.edit, "MMR")
    assert form.cvx.value() == "03"
    form.cvx.edit.clear()
    qtbot.keyClicks(form.cvx.edit, "flu")
    assert form.cvx.value() == "150"
    assert "5 vaccines go by “flu”: choose another from the list" in form.cvx.note.text()  # said, not silent
    _, result = _submit_with_enter(page, qtbot, form.cvx.edit)
    with page.session.ctx.db.session() as s:
        assert s.get(Immunization, result.id).code == "150"


def test_a_partial_name_is_chosen_from_the_list_with_the_keyboard(page, qtbot) -> None:  # type: ignore[no-untyped-def]
    form = _immunization_form(page, qtbot)
    qtbot.keyClicks(form.cvx.edit, "rota")
    assert form.cvx.problem() == "3 vaccines match “rota”: choose one from the list (Down arrow)."
    popup = form.cvx.completer.popup()
    qtbot.waitUntil(popup.isVisible, timeout=WAIT)
    assert [form.cvx.model.index(i, 0).data() for i in range(form.cvx.model.rowCount())] == [
        "Rotavirus (RV5, 3 doses) · CVX 116", "Rotavirus (RV1, 2 doses) · CVX 119", "Rotavirus (unspecified) · CVX 122"]
    qtbot.keyClick(popup, Qt.Key.Key_Down)
    qtbot.keyClick(popup, Qt.Key.Key_Down)
    qtbot.keyClick(popup, Qt.Key.Key_Return)
    assert form.cvx.edit.text() == "Rotavirus (RV1, 2 doses) · CVX 119" and form.cvx.value() == "119"
    assert form.cvx.problem() is None


def test_a_name_that_matches_nothing_is_refused_beside_the_field_before_saving(page, qtbot) -> None:  # type: ignore[no-untyped-def]
    form = _immunization_form(page, qtbot)
    qtbot.keyClicks(form.cvx.edit, "Tdapp")
    assert form.cvx.note.text() == ("No vaccine matches “Tdapp”: type a name (e.g. MMR, Tdap or flu) or a CVX code.")
    assert "b42318" in form.cvx.note.styleSheet()
    qtbot.keyClick(form.cvx.edit, Qt.Key.Key_Return)
    assert page.write_task is None and page.action_message.text().startswith("Not saved: No vaccine matches")
    assert form.cvx.hasFocus()


def test_a_listed_code_or_the_shape_of_one_passes_on(qtbot) -> None:  # type: ignore[no-untyped-def]
    picker = cvx_picker(VACCINES)
    qtbot.addWidget(picker)
    picker.edit.setText("208")  # not listed: the service checks it against the value sets
    assert picker.value() == "208" and picker.problem() is None and "not in the list" in picker.note.text()
    picker.edit.setText("")
    assert picker.value() == "" and picker.problem() is None  # empty: the service says "Required."


def test_a_failed_saves_message_does_not_follow_to_another_tab(page, qtbot) -> None:  # type: ignore[no-untyped-def]
    form = page.forms["immunization"]
    page.tabs.setCurrentWidget(form)
    form.cvx.setFocus()
    qtbot.keyClicks(form.cvx.edit, "Tdap")
    _, result = _submit_with_enter(page, qtbot, form.cvx.edit)  # no patient chosen
    assert not result.ok and page.patient_error.isVisible()
    assert page.action_message.text() == "Not saved: see the message beside the field."
    page.tabs.setCurrentWidget(page.forms["observation"])
    assert page.action_message.text() == "" and not page.patient_error.isVisible()
    page.tabs.setCurrentWidget(form)
    assert form.cvx.note.text().startswith("Tdap: ")  # the field's own note stays with its form


def test_a_visit_chosen_by_name_brings_its_code_and_system(page, qtbot) -> None:  # type: ignore[no-untyped-def]
    form = page.forms["encounter"]
    form.code.setFocus()
    qtbot.keyClicks(form.code.edit, "well child 1-4")
    assert form.code.problem() == "2 visits match “well child 1-4”: choose one from the list (Down arrow)."
    popup = form.code.completer.popup()
    qtbot.waitUntil(popup.isVisible, timeout=WAIT)
    qtbot.keyClick(popup, Qt.Key.Key_Down)
    qtbot.keyClick(popup, Qt.Key.Key_Return)
    assert form.code.value() == "99392" and form.system.currentData() == "cpt"
    form.code.edit.setText("well child visit (procedure)")
    assert form.code.value() == "410620009" and form.system.currentData() == "snomed"


def test_a_screening_instrument_by_what_it_screens_for(page, qtbot) -> None:  # type: ignore[no-untyped-def]
    page.practice_combo.setCurrentIndex(page.practice_combo.findText("NORTH", Qt.MatchFlag.MatchStartsWith))
    _pick_patient(page, qtbot, "NORTH-3")
    form = page.forms["observation"]
    page.tabs.setCurrentWidget(form)
    form.instrument.setFocus()
    qtbot.keyClicks(form.instrument.edit, "autism")
    assert form.instrument.note.text().startswith("M-CHAT-R/F (autism): ") and "LOINC 72133-2" in \
        form.instrument.note.text()
    form.result.setCurrentIndex(form.result.findData("negative"))
    _, result = _submit_with_enter(page, qtbot, form.instrument.edit)
    assert result.ok
    with page.session.ctx.db.session() as s:
        assert s.get(Observation, result.id).code == "72133-2"
