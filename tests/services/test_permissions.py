"""Roles x services: each service allows exactly the roles of the matrix; no one reads another practice.

The store is the small demo network (practices P001, P002, P003). Users: an administrator, and a
practice manager, a clinician and an analyst, the first two granted P001 only.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import func, select

from carenet_desktop.metrics.period import Period
from carenet_desktop.models import AuditLog, Encounter, Patient, Practice, Referral
from carenet_desktop.services import entry, outreach
from carenet_desktop.services.context import ServiceContext
from carenet_desktop.services.evaluation import evaluate, export_patient_results
from carenet_desktop.services.gaps import care_gaps, export_care_gaps
from carenet_desktop.services.intake import list_imports, preview_file
from carenet_desktop.services.permissions import NotAllowed, require
from carenet_desktop.services.practices import get_or_create_practice, list_practices
from carenet_desktop.services.referrals import list_open_referrals
from carenet_desktop.services.scorecard import ScorecardService
from carenet_desktop.services.users import authenticate, create_user, list_users
from carenet_desktop.services.valuesets import load_valuesets

TODAY = dt.date(2026, 6, 30)
YEAR = Period.year(2026)
PASSWORD = "correct-horse-42"
ROLES = ("network_admin", "practice_manager", "clinician", "analyst")


class Store:
    def __init__(self, system: ServiceContext, tmp: Path) -> None:
        self.system, self.db, self.tmp = system, system.db, tmp
        create_user(system, "admin", PASSWORD, "network_admin")
        admin = self.sign_in("admin")
        create_user(admin, "manager", PASSWORD, "practice_manager", ["P001"])
        create_user(admin, "clinician", PASSWORD, "clinician", ["P001"])
        create_user(admin, "analyst", PASSWORD, "analyst")
        with self.db.session() as s:
            self.practice = {c: i for c, i in s.execute(select(Practice.code, Practice.id))}
            self.patient = {c: s.scalar(select(Patient.id).join(Practice).where(Practice.code == c)
                                        .order_by(Patient.birth_date).limit(1)) for c in ("P001", "P002")}
            self.referral = {c: s.scalar(select(Referral.id).join(Patient).join(Practice)
                                         .where(Practice.code == c, Referral.closed_on.is_(None),
                                                Referral.lost_on.is_(None)).limit(1)) for c in ("P001", "P002")}
        self.csv = tmp / "patients.csv"
        self.csv.write_text("mrn,first_name,last_name,birth_date,sex\nX1,Ann,Lee,2024-01-02,female\n")

    def sign_in(self, name: str) -> ServiceContext:
        return ServiceContext(self.db, user=authenticate(self.db, name, PASSWORD))


@pytest.fixture
def store(demo_ctx, tmp_path) -> Store:  # type: ignore[no-untyped-def]
    return Store(demo_ctx, tmp_path)


def _services(st: Store) -> dict[str, tuple[Callable[[ServiceContext], object], set[str]]]:
    """service -> (a call on practice P001, the roles allowed)."""
    admin, manager, clinician, analyst = ROLES
    readers = {admin, manager, clinician}
    writers = {admin, manager}
    everyone = set(ROLES)
    pa_patient, pa_ref = st.patient["P001"], st.referral["P001"]
    return {
        "care gaps (view)": (lambda c: care_gaps(c, YEAR, "P001", ["LSC"], as_of=TODAY), readers),
        "care gaps (export)": (lambda c: export_care_gaps(c, st.tmp / "g.csv", YEAR, "P001", ["LSC"], as_of=TODAY),
                               writers),
        "open referrals": (lambda c: list_open_referrals(c, practice_code="P001", today=TODAY), readers),
        "overdue referral steps": (lambda c: entry.overdue_referral_steps(c, practice_id=st.practice["P001"],
                                                                          today=TODAY), readers),
        "outreach done": (lambda c: outreach.outreach_done(c, practice_code="P001"), readers),
        "record outreach": (lambda c: outreach.record_outreach(c, patient_id=pa_patient, measure_id="LSC",
                                                               note="called", today=TODAY), writers),
        "record visit": (lambda c: entry.record_visit(c, patient_id=pa_patient, date=TODAY, code="99392",
                                                      today=TODAY), writers),
        "create referral": (lambda c: entry.create_referral(c, patient_id=pa_patient, referral_type="help-me-grow",
                                                            placed_on=TODAY, today=TODAY), writers),
        "referral step": (lambda c: entry.record_referral_step(c, pa_ref, "lost", TODAY, lost_reason="moved",
                                                               today=TODAY), writers),
        "care activity": (lambda c: entry.record_care_activity(c, practice_id=st.practice["P001"],
                                                               activity_type="outreach-call", date=TODAY, today=TODAY),
                          writers),
        "aggregate entry": (lambda c: entry.record_aggregate(c, practice_id=st.practice["P001"], measure_id="LSC",
                                                             period_start=dt.date(2026, 1, 1),
                                                             period_end=dt.date(2026, 1, 31), denominator=4,
                                                             numerator=2, today=TODAY), writers),
        "import preview": (lambda c: preview_file(c, st.csv, "patients", practice_code="P001"), writers),
        "evaluate (aggregates)": (lambda c: evaluate(c, YEAR, ["LSC"], ["P001"]), everyone),
        "patient results export": (lambda c: export_patient_results(c, evaluate(c, YEAR, ["LSC"], ["P001"]),
                                                                    st.tmp / "r.csv"), writers),
        "practice scorecard": (lambda c: ScorecardService(c).practice_scorecard("P001", YEAR, ["LSC"]), everyone),
        "practices": (lambda c: list_practices(c), everyone),
        "import history": (lambda c: list_imports(c), everyone),
        "create practice": (lambda c: get_or_create_practice(c, "NEW1"), {admin}),
        "load value sets": (lambda c: load_valuesets(c, [st.tmp / "none.json"]), {admin}),
        "users": (lambda c: list_users(c), {admin}),
    }


@pytest.mark.parametrize("role", ROLES)
def test_role_matrix(store: Store, role: str) -> None:
    user = {"network_admin": "admin", "practice_manager": "manager"}.get(role, role)
    ctx = store.sign_in(user)
    (store.tmp / "none.json").write_text('{"resourceType": "ValueSet", "url": "urn:x", "expansion": {"contains": []}}')
    outcome: dict[str, str] = {}
    for name, (call, _allowed) in _services(store).items():
        try:
            call(ctx)
            got = "allowed"
        except NotAllowed as exc:
            assert str(exc).startswith("Not allowed: "), exc
            got = "refused"
        outcome[name] = got
    expected = {name: "allowed" if role in allowed else "refused" for name, (_, allowed) in _services(store).items()}
    assert outcome == expected


def _counts(st: Store) -> tuple[int, int, int]:
    with st.db.session() as s:
        return (s.scalar(select(func.count()).select_from(Encounter)),
                s.scalar(select(func.count()).select_from(Referral)),
                s.scalar(select(func.max(Referral.version))))


@pytest.mark.parametrize("user", ["manager", "clinician"])
def test_a_user_of_one_practice_never_reads_or_changes_another(store: Store, user: str) -> None:
    ctx = store.sign_in(user)
    pb, pb_patient, pb_ref = store.practice["P002"], store.patient["P002"], store.referral["P002"]
    before = _counts(store)
    refused: list[Callable[[], object]] = [
        lambda: care_gaps(ctx, YEAR, "P002", ["LSC"], as_of=TODAY),
        lambda: list_open_referrals(ctx, practice_code="P002", today=TODAY),
        lambda: entry.overdue_referral_steps(ctx, practice_id=pb, today=TODAY),
        lambda: outreach.outreach_done(ctx, practice_code="P002"),
        lambda: entry.record_visit(ctx, patient_id=pb_patient, date=TODAY, code="99392", today=TODAY),
        lambda: entry.record_visit(ctx, patient_id=pb_patient, date=dt.date(1990, 1, 1), code="99392", today=TODAY),
        lambda: entry.record_referral_step(ctx, pb_ref, "scheduled", TODAY, today=TODAY),
        lambda: entry.record_referral_step(ctx, pb_ref, "scheduled", TODAY, expected_version=999, today=TODAY),
        lambda: outreach.record_outreach(ctx, patient_id=pb_patient, measure_id="LSC", note="x", today=TODAY),
        lambda: evaluate(ctx, YEAR, ["LSC"], ["P002"]),
        lambda: ScorecardService(ctx).practice_scorecard("P002", YEAR, ["LSC"]),
        lambda: ScorecardService(ctx).strata(YEAR, "payer", "P002", ["LSC"]),
        lambda: preview_file(ctx, store.csv, "patients", practice_code="P002"),
    ]
    for i, call in enumerate(refused):
        with pytest.raises(NotAllowed):
            call()
        assert i >= 0
    assert _counts(store) == before  # nothing written, not even half
    # asking for "everything" gives only the user's own practice
    gaps = care_gaps(ctx, YEAR, None, ["LSC"], as_of=TODAY)
    assert len(gaps) and set(gaps["practice_code"]) == {"P001"}
    refs = list_open_referrals(ctx, today=TODAY)
    assert refs and {r.practice_code for r in refs} == {"P001"}
    assert {o.patient_id for o in entry.overdue_referral_steps(ctx, today=TODAY)} <= _patients_of(store, "P001")
    assert [p.code for p in list_practices(ctx)] == ["P001"]
    table = ScorecardService(ctx).network_table(YEAR, ["LSC"])
    assert set(table["practice_code"]) == {"P001"} and table["network_rate"].notna().all()
    evaluation = evaluate(ctx, YEAR, ["LSC"])
    assert set(evaluation.rows["practice_id"]) == {store.practice["P001"]}


def test_a_worklist_holding_another_practice_cannot_be_exported(store: Store) -> None:
    network = care_gaps(store.system, YEAR, None, ["LSC"], as_of=TODAY)
    assert {"P001", "P002"} <= set(network["practice_code"])
    with pytest.raises(NotAllowed, match="no access to that practice"):
        outreach.export_worklist(store.sign_in("manager"), network, store.tmp / "all.csv")
    assert not (store.tmp / "all.csv").exists()
    mine = network[network["practice_code"] == "P001"]
    assert outreach.export_worklist(store.sign_in("manager"), mine, store.tmp / "mine.csv") == len(mine)


def test_patient_level_views_and_exports_are_audited_without_patient_data(store: Store) -> None:
    ctx = store.sign_in("manager")
    table = export_care_gaps(ctx, store.tmp / "g.csv", YEAR, "P001", ["LSC"], as_of=TODAY)
    export_patient_results(ctx, evaluate(ctx, YEAR, ["LSC"], ["P001"]), store.tmp / "r.csv")
    with store.db.session() as s:
        entries = s.scalars(select(AuditLog).where(AuditLog.username == "manager",
                                                   AuditLog.action == "export")).all()
        names = s.execute(select(Patient.family_name, Patient.mrn).where(
            Patient.practice_id == store.practice["P001"])).all()
    assert {e.entity for e in entries} == {"care_gaps", "patient_results"}
    text = " ".join(repr((e.summary, e.before, e.after, e.entity_id)) for e in entries)
    assert len(table) and not any(f and f in text for n in names for f in n if f and len(f) > 3)


def test_the_system_user_is_unrestricted_and_unknown_actions_are_a_bug(store: Store) -> None:
    require(store.system, "users.manage")
    with pytest.raises(ValueError, match="unknown permission action"):
        require(store.sign_in("admin"), "patients.delete")


def _patients_of(st: Store, code: str) -> set[int]:
    with st.db.session() as s:
        return set(s.scalars(select(Patient.id).where(Patient.practice_id == st.practice[code])))
