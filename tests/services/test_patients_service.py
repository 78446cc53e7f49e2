"""Patient search, the patient's record and their status in every measure, on a hand-made store whose
answers are known (``tests/patient_records.py``); and who may read them."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from carenet_desktop.models import AuditLog
from carenet_desktop.services.context import ServiceContext, ServiceError
from carenet_desktop.services.lookup import find_patients
from carenet_desktop.services.patient_measures import DUE, EXCLUDED, MET, NOT_APPLICABLE, OVERDUE
from carenet_desktop.services.patients import (
    MAX_PAGE,
    count_patients,
    parse_search,
    patient_detail,
    search_patients,
)
from carenet_desktop.services.permissions import NotAllowed
from carenet_desktop.services.users import authenticate, create_user, has_users
from tests.patient_records import AS_OF, HandMade

PASSWORD = "correct-horse-42"


def _names(rows) -> list[tuple[str | None, str | None]]:  # type: ignore[no-untyped-def]
    return [(r.family_name, r.given_name) for r in rows]


@pytest.mark.parametrize(("text", "kind"), [
    ("", "all"), ("   ", "all"), ("rivera", "name"), ("Rivera, Sofia", "name"), ("H-10", "mrn"),
    ("2024-03-14", "birth_date"), ("03/14/2024", "birth_date"), ("2024-02-30", "mrn"),
])
def test_the_search_box_is_read_as_a_name_an_mrn_or_a_birth_date(text: str, kind: str) -> None:
    assert parse_search(text).kind == kind


def test_search_by_name_mrn_and_birth_date_in_one_practice(hand_store) -> None:  # type: ignore[no-untyped-def]
    db, hand = hand_store
    ctx = ServiceContext(db)
    mine = [hand.practice_id]
    assert _names(search_patients(ctx, "rivera", mine)) == [("Rivera", "Mateo"), ("Rivera", "Sofia")]
    assert _names(search_patients(ctx, "sofia RIV", mine)) == [("Rivera", "Sofia")]  # every word, any order
    assert _names(search_patients(ctx, "h-10", mine)) == [("Rivera", "Mateo"), ("Rivera", "Sofia")]
    # the same day and month in another year is not the birth date asked for
    assert _names(search_patients(ctx, "2024-03-14", mine)) == [("Rivera", "Mateo")]
    assert _names(search_patients(ctx, "03/14/2024", mine)) == [("Rivera", "Mateo")]
    assert _names(search_patients(ctx, "", mine)) == [("Chen", "Wei"), ("Okafor", "Ada"), ("Rivera", "Mateo"),
                                                     ("Rivera", "Sofia")]
    assert search_patients(ctx, "zzz", mine) == [] and count_patients(ctx, "zzz", mine) == 0
    assert count_patients(ctx, "rivera", mine) == 2
    assert count_patients(ctx, "rivera", [hand.practice_id, hand.other_practice_id]) == 3
    assert search_patients(ctx, "rivera", []) == []


def test_a_search_reads_page_by_page_in_a_stable_order(hand_store) -> None:  # type: ignore[no-untyped-def]
    db, hand = hand_store
    ctx = ServiceContext(db)
    ids = [hand.practice_id, hand.other_practice_id]
    whole = [r.id for r in search_patients(ctx, "", ids)]
    pages = [r.id for offset in range(0, 5, 2) for r in search_patients(ctx, "", ids, offset=offset, limit=2)]
    assert pages == whole and len(whole) == 5
    with pytest.raises(ServiceError, match="A page holds"):
        search_patients(ctx, "", ids, limit=MAX_PAGE + 1)


def test_the_record_has_demographics_and_a_timeline_newest_first(hand_store) -> None:  # type: ignore[no-untyped-def]
    db, hand = hand_store
    detail = patient_detail(ServiceContext(db), hand.mateo, as_of=AS_OF, with_measures=False)
    d = detail.demographics
    assert (d.mrn, d.family_name, d.given_name, d.practice_code) == ("H-1001", "Rivera", "Mateo", "HAND")
    assert d.pcp == "Ana Lopez, MD" and detail.age == "2 y"
    days = [e.day for e in detail.timeline]
    assert days == sorted(days, reverse=True)
    kinds = {e.kind for e in detail.timeline}
    assert {"Visit", "Lab result", "Immunization", "Screening", "Diagnosis", "Prescription", "Referral",
            "Care coordination"} <= kinds
    not_given = [e for e in detail.timeline if e.not_done]
    assert len(not_given) == 1 and "patient objection" in not_given[0].detail.lower()
    referral = next(e for e in detail.timeline if e.kind == "Referral")
    assert "Help Me Grow" in referral.title and "Report received 2025-06-25" in referral.detail


def _lsc(db, patient_id: int, as_of: dt.date):  # type: ignore[no-untyped-def]
    detail = patient_detail(ServiceContext(db), patient_id, as_of=as_of)
    assert not detail.measure_failures
    return next(m for m in detail.measures if m.measure_id == "LSC")


def test_the_status_in_a_measure_follows_the_record(hand_store) -> None:  # type: ignore[no-untyped-def]
    db, hand = hand_store
    assert _lsc(db, hand.mateo, AS_OF).status == MET
    overdue = _lsc(db, hand.sofia, AS_OF)
    assert overdue.status == OVERDUE and overdue.due_date == dt.date(2026, 5, 20)  # her 2nd birthday
    assert _lsc(db, hand.sofia, dt.date(2026, 4, 1)).status == DUE  # before the birthday: still time
    assert _lsc(db, hand.wei, AS_OF).status == NOT_APPLICABLE
    assert _lsc(db, hand.ada, AS_OF).status == EXCLUDED


def test_opening_a_record_is_audited_without_naming_the_patient(hand_store) -> None:  # type: ignore[no-untyped-def]
    db, hand = hand_store
    patient_detail(ServiceContext(db, username="reader"), hand.sofia, as_of=AS_OF, with_measures=False)
    with db.session() as s:
        entry = s.scalars(select(AuditLog).where(AuditLog.action == "view").order_by(AuditLog.id.desc())).first()
    assert entry is not None and entry.username == "reader" and entry.entity_id == str(hand.sofia)
    assert "Rivera" not in (entry.summary or "") and "H-1002" not in (entry.summary or "")


def _signed_in(db, hand: HandMade, role: str) -> ServiceContext:  # type: ignore[no-untyped-def]
    if not has_users(db):
        create_user(ServiceContext(db), "admin", PASSWORD, "network_admin")
    admin = ServiceContext(db, username="admin", user=authenticate(db, "admin", PASSWORD))
    if role == "network_admin":
        return admin
    grants = [] if role == "analyst" else ["HAND"]
    create_user(admin, role, PASSWORD, role, practice_codes=grants)
    return ServiceContext(db, username=role, user=authenticate(db, role, PASSWORD))


@pytest.mark.parametrize("role", ["practice_manager", "clinician"])
def test_staff_of_one_practice_cannot_find_or_open_another_practices_patients(hand_store, role: str) -> None:  # type: ignore[no-untyped-def]
    db, hand = hand_store
    ctx = _signed_in(db, hand, role)
    with db.session() as s:
        views_before = s.scalar(select(func.count()).select_from(AuditLog).where(AuditLog.action == "view"))
    assert count_patients(ctx, "rivera", [hand.practice_id]) == 2
    refused = [
        lambda: search_patients(ctx, "rivera", [hand.practice_id, hand.other_practice_id]),
        lambda: count_patients(ctx, "rivera", [hand.other_practice_id]),
        lambda: patient_detail(ctx, hand.other_rivera, as_of=AS_OF),
        lambda: find_patients(ctx, "rivera", practice_id=hand.other_practice_id),
    ]
    for call in refused:
        with pytest.raises(NotAllowed):
            call()
    # "any practice" in the quick lookup means the user's own
    assert {m.id for m in find_patients(ctx, "rivera", practice_id=None)} == {hand.mateo, hand.sofia}
    with db.session() as s:  # a refused read leaves no trace of having read
        assert s.scalar(select(func.count()).select_from(AuditLog).where(AuditLog.action == "view")) == views_before


def test_an_analyst_sees_aggregates_but_no_patient(hand_store) -> None:  # type: ignore[no-untyped-def]
    db, hand = hand_store
    ctx = _signed_in(db, hand, "analyst")
    for call in (lambda: search_patients(ctx, "", [hand.practice_id]),
                 lambda: patient_detail(ctx, hand.mateo, as_of=AS_OF),
                 lambda: find_patients(ctx, "rivera", practice_id=None)):
        with pytest.raises(NotAllowed, match="may not see patient-level data"):
            call()
    admin = _signed_in(db, hand, "network_admin")
    assert count_patients(admin, "rivera", [hand.practice_id, hand.other_practice_id]) == 3
