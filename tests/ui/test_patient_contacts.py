"""Contact details edited on the patient page: the dialog shows what is stored, a bad phone number is named
under its field (nothing saved, the dialog stays open), a good one is saved off the GUI thread and shown on
the page; a user who may not change the patient gets no button."""

from __future__ import annotations

from carenet_desktop.models import AuditLog, Patient
from carenet_desktop.services.context import ServiceContext
from carenet_desktop.services.users import authenticate, create_user
from carenet_desktop.ui.pages.patients import PatientsPage
from carenet_desktop.ui.session import Session
from tests.patient_records import AS_OF

WAIT = 20_000
PASSWORD = "correct-horse-42"


def _page(qtbot, ctx: ServiceContext) -> PatientsPage:  # type: ignore[no-untyped-def]
    page = PatientsPage(Session(ctx), as_of=AS_OF)
    qtbot.addWidget(page)
    page.resize(1100, 720)
    page.show()
    with qtbot.waitSignal(page.loaded, timeout=WAIT):
        page.activate()
    return page


def test_contacts_edited_on_the_patient_page(qtbot, hand_store, tmp_path) -> None:  # type: ignore[no-untyped-def]
    db, hand = hand_store
    with db.session() as s:
        mateo = s.get(Patient, hand.mateo)
        mateo.phone, mateo.guardian, mateo.language, mateo.contact_method = "555-0101", "Ana Rivera", "en", "call"
    page = _page(qtbot, ServiceContext(db, username="tester"))
    with qtbot.waitSignal(page.patient_loaded, timeout=WAIT):
        page.open_patient(hand.mateo)
    view = page.patient_view
    assert view.contacts_button.isVisible()
    dialog = page.edit_contacts()
    assert dialog is not None and dialog.isVisible()
    assert (dialog.phone.text(), dialog.guardian.text()) == ("555-0101", "Ana Rivera")
    assert (dialog.language.currentData(), dialog.method.currentData()) == ("en", "call")

    dialog.phone.setText("555-12")  # too few digits
    dialog.save_button.click()
    qtbot.waitUntil(lambda: dialog.errors["phone"].isVisible(), timeout=WAIT)
    assert "not a phone number" in dialog.errors["phone"].text()
    assert not dialog.errors["guardian"].isVisible() and dialog.isVisible() and dialog.save_button.isEnabled()
    with db.session() as s:
        assert s.get(Patient, hand.mateo).phone == "555-0101"  # nothing saved

    dialog.phone.setText("555 201 3344; 555 201 9900")
    dialog.guardian.setText("Luis Rivera")
    dialog.language.setCurrentIndex(dialog.language.findData("es"))
    dialog.method.setCurrentIndex(dialog.method.findData("text"))
    with qtbot.waitSignal(page.patient_loaded, timeout=WAIT):  # saved, then the page reads the patient again
        dialog.save_button.click()
    assert not dialog.isVisible()
    assert view.values["phone"].text() == "555 201 3344; 555 201 9900"
    assert view.values["guardian"].text() == "Luis Rivera"
    assert view.values["language"].text() == "Spanish" and view.values["contact"].text() == "text"
    with db.session() as s:
        assert s.query(AuditLog).filter(AuditLog.entity == "patient_contacts").count() == 1
    view.grab().save(str(tmp_path / "patient-contacts.png"))


def test_no_edit_button_for_a_user_who_may_only_read(qtbot, hand_store) -> None:  # type: ignore[no-untyped-def]
    db, hand = hand_store
    create_user(ServiceContext(db), "admin", PASSWORD, "network_admin")
    admin = ServiceContext(db, username="admin", user=authenticate(db, "admin", PASSWORD))
    create_user(admin, "viewer", PASSWORD, "clinician", practice_codes=["HAND"])
    reader = ServiceContext(db, username="viewer", user=authenticate(db, "viewer", PASSWORD))
    from carenet_desktop.services.permissions import can

    page = _page(qtbot, reader)
    with qtbot.waitSignal(page.patient_loaded, timeout=WAIT):
        page.open_patient(hand.mateo)
    assert not can(reader, "patients.write", hand.practice_id)  # a clinician reads, changes nothing
    assert not page.patient_view.contacts_button.isVisible()
    assert page.edit_contacts() is not None  # (the service refuses such a save: tests/services/test_contacts.py)
