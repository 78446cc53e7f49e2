"""A patient's contact details edited by hand: checked per field, audited without the values in the summary,
refused for a user without write access to the practice, and undone through the audit trail."""

from __future__ import annotations

import pytest
from sqlalchemy import select, update

from carenet_desktop.models import AuditLog, Patient
from carenet_desktop.services.contacts import ENTITY, update_contacts
from carenet_desktop.services.context import ServiceContext, ServiceError
from carenet_desktop.services.entry_undo import undo_entry
from carenet_desktop.services.permissions import NotAllowed
from carenet_desktop.services.users import authenticate, create_user, has_users

PASSWORD = "correct-horse-42"


def _contacts(ctx: ServiceContext, patient_id: int) -> tuple[object, ...]:
    with ctx.db.session() as s:
        p = s.get(Patient, patient_id)
        assert p is not None
        return p.phone, p.guardian, p.language, p.contact_method


def test_contacts_saved_audited_and_undone(hand_store) -> None:  # type: ignore[no-untyped-def]
    db, hand = hand_store
    ctx = ServiceContext(db, username="tester")
    before = _contacts(ctx, hand.mateo)
    result = update_contacts(ctx, hand.mateo, phone=" (555) 201-3344; 555.201.9900 ", guardian="Ana Rivera",
                             language="es", contact_method="text")
    assert result.ok and not result.errors and bool(result.change)
    assert _contacts(ctx, hand.mateo) == ("(555) 201-3344; 555.201.9900", "Ana Rivera", "es", "text")
    with db.session() as s:
        entry = s.scalars(select(AuditLog).where(AuditLog.entity == ENTITY)).one()
    assert entry.action == "update" and entry.entity_id == str(hand.mateo)
    assert entry.after == {"phone": "(555) 201-3344; 555.201.9900", "guardian": "Ana Rivera", "language": "es",
                           "contact_method": "text"}
    assert "555" not in (entry.summary or "") and "Ana" not in (entry.summary or "")  # no patient data
    assert "phone" in (entry.summary or "") and "guardian" in (entry.summary or "")
    # saving the same values again writes nothing
    again = update_contacts(ctx, hand.mateo, phone="(555) 201-3344; 555.201.9900", guardian="Ana Rivera",
                            language="es", contact_method="text")
    assert again.ok and not again.change
    undone = undo_entry(ctx, ENTITY, hand.mateo)
    assert undone.action == "restored" and "contact details" in undone.message
    assert _contacts(ctx, hand.mateo) == before


def test_each_bad_value_is_reported_on_its_field_and_nothing_is_written(hand_store) -> None:  # type: ignore[no-untyped-def]
    db, hand = hand_store
    ctx = ServiceContext(db, username="tester")
    before = _contacts(ctx, hand.mateo)
    result = update_contacts(ctx, hand.mateo, phone="555-12", guardian="x" * 201, language="xx",
                             contact_method="pigeon")
    assert not result.ok
    assert {e.field for e in result.errors} == {"phone", "guardian", "language", "contact_method"}
    assert "not a phone number" in (result.message_for("phone") or "")
    assert _contacts(ctx, hand.mateo) == before
    with db.session() as s:
        assert s.scalars(select(AuditLog).where(AuditLog.entity == ENTITY)).first() is None
    assert not update_contacts(ctx, hand.mateo, phone="555 201 3344 or call later", guardian=None, language=None,
                               contact_method=None).ok
    cleared = update_contacts(ctx, hand.mateo, phone="", guardian="  ", language="", contact_method=None)
    assert cleared.ok and _contacts(ctx, hand.mateo) == (None, None, "unknown", None)


def test_undo_is_refused_when_the_contacts_changed_since(hand_store) -> None:  # type: ignore[no-untyped-def]
    db, hand = hand_store
    ctx = ServiceContext(db, username="tester")
    assert update_contacts(ctx, hand.mateo, phone="555 201 3344", guardian=None, language=None,
                           contact_method="call").ok
    with db.session() as s:  # e.g. an import of the patients wrote another number since
        s.execute(update(Patient).where(Patient.id == hand.mateo).values(phone="555 777 8888"))
    with pytest.raises(ServiceError, match="Changed since"):
        undo_entry(ctx, ENTITY, hand.mateo)
    assert _contacts(ctx, hand.mateo)[0] == "555 777 8888"


def test_a_user_without_write_access_to_the_practice_is_refused(hand_store) -> None:  # type: ignore[no-untyped-def]
    db, hand = hand_store
    if not has_users(db):
        create_user(ServiceContext(db), "admin", PASSWORD, "network_admin")
    admin = ServiceContext(db, username="admin", user=authenticate(db, "admin", PASSWORD))
    create_user(admin, "analyst", PASSWORD, "analyst", practice_codes=[])
    create_user(admin, "manager", PASSWORD, "practice_manager", practice_codes=["HAND"])
    analyst = ServiceContext(db, username="analyst", user=authenticate(db, "analyst", PASSWORD))
    manager = ServiceContext(db, username="manager", user=authenticate(db, "manager", PASSWORD))
    before = _contacts(admin, hand.other_rivera)
    for ctx, patient in ((analyst, hand.mateo), (manager, hand.other_rivera)):
        with pytest.raises(NotAllowed):
            update_contacts(ctx, patient, phone="555 201 3344", guardian=None, language=None, contact_method=None)
    assert _contacts(admin, hand.other_rivera) == before
    assert update_contacts(manager, hand.mateo, phone="555 201 3344", guardian=None, language=None,
                           contact_method=None).ok
