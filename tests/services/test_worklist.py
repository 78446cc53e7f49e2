"""The one-row-per-child outreach worklist: bundling, the "why" per gap, outreach outcomes, follow-ups."""

from __future__ import annotations

import csv
import datetime as dt

import pandas as pd
from sqlalchemy import func, select

from carenet_desktop.metrics import gap_items as itemkit
from carenet_desktop.metrics.period import Period
from carenet_desktop.models import Appointment, AuditLog, Practice
from carenet_desktop.services import outreach
from carenet_desktop.services.gaps import care_gaps
from carenet_desktop.services.worklist import (
    CHILD_COLUMNS,
    build_children,
    child_detail,
    child_worklist,
    due_for_follow_up,
    export_child_worklist,
)

AS_OF = dt.date(2026, 6, 30)
P2026 = Period.year(2026)


def _code(ctx) -> str:  # type: ignore[no-untyped-def]
    with ctx.db.session() as s:
        return str(s.scalars(select(Practice.code).order_by(Practice.code)).first())


def _gap_rows(patient_id: int, rows: list[tuple[str, int, str, dt.date]]) -> pd.DataFrame:
    return pd.DataFrame({
        "practice_code": "P1", "measure": [r[0] for r in rows], "measure_title": "t",
        "group_index": [r[1] for r in rows], "group_title": "g", "patient_id": patient_id, "episode_id": pd.NA,
        "mrn": "M1", "patient_name": "Doe, Jane", "birth_date": dt.date(2014, 3, 1), "provider": "Dr A",
        "payer": "medicaid", "missing": [r[2] for r in rows], "due_date": [r[3] for r in rows],
        "days_left": 0, "status": "open",
    })


def test_four_menacwy_rows_become_one_gap() -> None:
    b13 = dt.date(2027, 3, 1)
    rows = _gap_rows(7, [
        ("IMA", 0, "MenACWY (from the 11th birthday)", b13),
        ("IMA", 3, "MenACWY (from the 11th birthday)", b13),
        ("IMA", 4, "MenACWY (from the 11th birthday); HPV #2 (has 1 of 2), at least 146 days after the first", b13),
        ("CMS117", 0, "MenACWY #1 (has 0 of 1)", b13),
        ("DEV", 0, "Developmental screening by the 1st birthday", dt.date(2026, 8, 1)),
        ("DEV", 3, "Developmental screening by the 1st birthday", dt.date(2026, 8, 1)),
    ])
    items = itemkit.gap_items(rows)
    assert len(items) == 7  # the combination row names two items
    hpv = items[items["item"] == "HPV dose 2"]
    assert hpv["missing"].tolist() == ["HPV #2 (has 1 of 2), at least 146 days after the first"]
    children = build_children(items, None, None, AS_OF)
    assert len(children) == 1
    child = children.iloc[0]
    assert child["gaps"] == "developmental screening; HPV dose 2; MenACWY dose 1"
    assert child["gap_count"] == 3
    assert child["due_date"] == dt.date(2026, 8, 1) and child["status"] == "open"
    assert child["measures"] == "CMS117, DEV, IMA"
    bundled = itemkit.bundle(items).set_index("item")
    assert bundled.loc["MenACWY dose 1", "rows"] == 4
    assert bundled.loc["MenACWY dose 1", "measures"] == "CMS117, IMA"


def test_dose_items_in_plain_words() -> None:
    assert itemkit.dose_item("DTaP #4 (has 3 of 4)") == "DTaP dose 4"
    assert itemkit.dose_item("PCV #3-#4 (has 2 of 4)") == "PCV doses 3-4"
    assert itemkit.dose_item("Tdap (from the 10th birthday)") == "Tdap dose 1"
    assert itemkit.dose_item("Childhood immunization status (combination)") == (
        "Childhood immunization status (combination)")


def test_child_worklist_bundles_the_per_gap_worklist(demo_ctx) -> None:  # type: ignore[no-untyped-def]
    code = _code(demo_ctx)
    gaps = care_gaps(demo_ctx, P2026, code, as_of=AS_OF, action=None)
    result = child_worklist(demo_ctx, P2026, code, as_of=AS_OF)
    children = result.children
    assert list(children.columns) == list(CHILD_COLUMNS)
    assert children["patient_id"].is_unique
    assert set(children["patient_id"]) == set(gaps["patient_id"])
    assert len(children) < len(gaps)  # several gap rows per child
    for child in children.itertuples():
        items = child.gaps.split("; ")
        assert len(items) == len(set(items)) == child.gap_count
        why = child_detail(result, child.patient_id)
        assert set(why["item"]) == set(items)
        mine = gaps[gaps["patient_id"] == child.patient_id]
        # every gap row of the child is explained, and nothing else; a dose's "why" is its part of the text
        assert set(zip(why["measure"], why["group_title"], strict=True)) == set(
            zip(mine["measure"], mine["group_title"], strict=True))
        for w in why.itertuples():
            texts = mine.loc[(mine["measure"] == w.measure) & (mine["group_title"] == w.group_title), "missing"]
            assert any(w.missing in t for t in texts)
        assert min(pd.to_datetime(why["due_date"])).date() == child.due_date
    dues = pd.to_datetime(children["due_date"])
    assert dues.is_monotonic_increasing
    assert children["last_visit"].notna().any()
    # the next visit: the child's first booked appointment from the day on (the demo books the next two weeks)
    with demo_ctx.db.session() as s:
        booked = dict(s.execute(select(Appointment.patient_id, func.min(Appointment.start))
                                .where(Appointment.start >= dt.datetime.combine(AS_OF, dt.time.min),
                                       Appointment.status == "booked").group_by(Appointment.patient_id)).all())
    expected = children["patient_id"].map(lambda p: booked[p].date() if p in booked else None)
    assert [None if pd.isna(v) else v for v in children["next_visit"]] == expected.tolist()
    assert children["next_visit"].notna().sum() > 5


def test_outreach_outcome_and_follow_up_filter(demo_ctx) -> None:  # type: ignore[no-untyped-def]
    code = _code(demo_ctx)
    first = child_worklist(demo_ctx, P2026, code, as_of=AS_OF).children
    a, b, c = (int(p) for p in first["patient_id"].iloc[:3])
    old = outreach.record_outreach(demo_ctx, patient_id=a, measure_id="LSC", note="old free-text note",
                                   date=dt.date(2026, 6, 1), today=AS_OF)  # an attempt as older versions wrote it
    late = outreach.record_outreach(demo_ctx, patient_id=a, measure_id=None, note="try the evening",
                                    method="call", outcome="no answer", follow_up=dt.date(2026, 6, 29),
                                    date=dt.date(2026, 6, 20), today=AS_OF)
    later = outreach.record_outreach(demo_ctx, patient_id=b, measure_id=None, note="", method="text",
                                     outcome="left message", follow_up=dt.date(2026, 7, 15), date=AS_OF,
                                     today=AS_OF)
    booked = outreach.record_outreach(demo_ctx, patient_id=c, measure_id=None, note="", method="portal",
                                      outcome="scheduled", date=AS_OF, today=AS_OF)
    assert old.ok and late.ok and later.ok and booked.ok
    children = child_worklist(demo_ctx, P2026, code, as_of=AS_OF).children.set_index("patient_id")
    assert children.loc[a, "last_outreach"] == "2026-06-20 call: no answer"
    assert children.loc[a, "attempts"] == 2
    assert children.loc[b, "last_outcome"] == "left message"
    assert children.loc[c, "last_outreach"] == "2026-06-30 portal: scheduled"
    due = children.index[due_for_follow_up(children, AS_OF)]
    assert list(due) == [a]
    assert set(children.index[due_for_follow_up(children, dt.date(2026, 7, 15))]) == {a, b}
    attempts = outreach.outreach_done(demo_ctx, patient_ids=[a])
    assert attempts["outcome"].tolist() == ["no answer", None]  # newest first; the old row still reads
    assert attempts["note"].tolist() == ["try the evening", "old free-text note"]


def test_outreach_rejects_unknown_method_outcome_and_early_follow_up(demo_ctx) -> None:  # type: ignore[no-untyped-def]
    code = _code(demo_ctx)
    pid = int(child_worklist(demo_ctx, P2026, code, as_of=AS_OF, action=None).children["patient_id"].iloc[0])
    result = outreach.record_outreach(demo_ctx, patient_id=pid, measure_id=None, note="", method="fax",
                                      outcome="maybe", follow_up=dt.date(2026, 6, 1), date=AS_OF, today=AS_OF)
    assert not result.ok
    assert result.message_for("method") and result.message_for("outcome") and result.message_for("follow_up")
    assert not outreach.record_outreach(demo_ctx, patient_id=pid, measure_id=None, note="x", today=AS_OF).ok


def test_export_writes_one_row_per_child_with_last_attempt_and_is_audited(demo_ctx, tmp_path) -> None:  # type: ignore[no-untyped-def]
    code = _code(demo_ctx)
    pid = int(child_worklist(demo_ctx, P2026, code, as_of=AS_OF, action=None).children["patient_id"].iloc[0])
    outreach.record_outreach(demo_ctx, patient_id=pid, measure_id=None, note="", method="letter",
                             outcome="reached", date=AS_OF, today=AS_OF)
    path = tmp_path / "children.csv"
    result = export_child_worklist(demo_ctx, path, P2026, code, as_of=AS_OF)
    with path.open(encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == len(result.children) and len({r["MRN"] for r in rows}) == len(rows)
    assert {"MRN", "Patient", "Gaps", "Gap count", "Soonest due", "Last visit", "Next visit",
            "Last outreach"} <= set(rows[0])
    assert "2026-06-30 letter: reached" in {r["Last outreach"] for r in rows}
    detail = tmp_path / "detail.csv"
    export_child_worklist(demo_ctx, detail, P2026, code, as_of=AS_OF, detail=True)
    with detail.open(encoding="utf-8-sig", newline="") as fh:
        detail_rows = list(csv.DictReader(fh))
    assert len(detail_rows) == len(result.gaps)  # one row per gap item and rate it is missing in
    assert {r["Gap"] for r in detail_rows} >= {"well-child visit"} and all(r["Measure"] for r in detail_rows)
    with demo_ctx.db.session() as s:
        entries = list(s.scalars(select(AuditLog).where(AuditLog.entity == "care_gaps").order_by(AuditLog.id)))
        assert [e.action for e in entries] == ["export", "export"]
        assert "children" in (entries[0].summary or "") and "children.csv" in (entries[0].summary or "")
        names = set(result.children["patient_name"])
        assert not any(n in (e.summary or "") for e in entries for n in names)


def test_child_rows_carry_the_contact_details(demo_ctx, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from carenet_desktop.models import Patient

    code = _code(demo_ctx)
    pid = int(child_worklist(demo_ctx, P2026, code, as_of=AS_OF, action=None).children["patient_id"].iloc[0])
    with demo_ctx.db.session() as s:
        patient = s.get(Patient, pid)
        patient.phone, patient.guardian, patient.language, patient.contact_method = (
            "555-0142", "Rosa Diaz", "es", "text")
    result = export_child_worklist(demo_ctx, tmp_path / "c.csv", P2026, code, as_of=AS_OF)
    row = result.children.set_index("patient_id").loc[pid]
    assert (row["phone"], row["guardian"], row["language"], row["contact_method"]) == (
        "555-0142", "Rosa Diaz", "Spanish", "text")
    with (tmp_path / "c.csv").open(encoding="utf-8-sig", newline="") as fh:
        exported = {r["MRN"]: r for r in csv.DictReader(fh)}
    mine = exported[row["mrn"]]
    assert (mine["Phone"], mine["Guardian"], mine["Language"], mine["Contact by"]) == (
        "555-0142", "Rosa Diaz", "Spanish", "text")
