"""Care-gap outreach: recorded as an audited 'outreach' care activity carrying its measure; export of shown rows."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from sqlalchemy import select

from carenet_desktop.metrics.period import Period
from carenet_desktop.models import AuditLog, CareActivity, Patient
from carenet_desktop.services import outreach
from carenet_desktop.services.context import ServiceError
from carenet_desktop.services.gaps import care_gaps

AS_OF = dt.date(2026, 6, 30)


def _a_patient(ctx) -> Patient:  # type: ignore[no-untyped-def]
    with ctx.db.session() as s:
        patient = s.scalars(select(Patient).order_by(Patient.id).limit(1)).one()
        s.expunge(patient)
    return patient


@pytest.mark.parametrize(("text", "parts"), [
    ("[CMS155] called mum", ("CMS155", "called mum")),
    ("[W30]", ("W30", "")),
    ("called, no tag", (None, "called, no tag")),
    (None, (None, "")),
    ("[not a tag because of spaces] x", (None, "[not a tag because of spaces] x")),
])
def test_split_note(text, parts) -> None:  # type: ignore[no-untyped-def]
    assert outreach.split_note(text) == parts
    if parts[0] is not None:
        assert outreach.split_note(outreach.tag_note(*parts)) == parts


def test_record_outreach_is_an_audited_outreach_activity(demo_ctx) -> None:  # type: ignore[no-untyped-def]
    patient = _a_patient(demo_ctx)
    result = outreach.record_outreach(demo_ctx, patient_id=patient.id, measure_id="CMS155",
                                      note="  Left a voicemail  ", date=AS_OF, today=AS_OF)
    assert result.ok and result.id is not None
    with demo_ctx.db.session() as s:
        act = s.get(CareActivity, result.id)
        assert (act.activity_type, act.patient_id, act.practice_id, act.activity_date) == (
            "outreach", patient.id, patient.practice_id, AS_OF)
        assert (act.measure_id, act.notes, act.performed_by) == ("CMS155", "Left a voicemail", "tester")
        entry = s.scalars(select(AuditLog).where(AuditLog.entity == "care_activity",
                                                 AuditLog.entity_id == str(act.id))).one()
        assert entry.action == "create" and entry.username == "tester" and entry.practice_id == patient.practice_id
        assert "CMS155" in entry.summary and patient.family_name not in entry.summary
    done = outreach.outreach_done(demo_ctx, since=AS_OF)
    assert done[["patient_id", "measure", "note"]].values.tolist() == [[patient.id, "CMS155", "Left a voicemail"]]


def test_record_outreach_reports_field_errors(demo_ctx) -> None:  # type: ignore[no-untyped-def]
    patient = _a_patient(demo_ctx)
    result = outreach.record_outreach(demo_ctx, patient_id=patient.id, measure_id="", note="x",
                                      date=AS_OF + dt.timedelta(days=1), today=AS_OF)
    assert not result.ok
    assert result.message_for("measure") and result.message_for("date") == "Cannot be in the future."
    assert not outreach.record_outreach(demo_ctx, patient_id=10**9, measure_id="W30", note="", today=AS_OF).ok
    with demo_ctx.db.session() as s:
        assert s.scalar(select(CareActivity.id).where(CareActivity.activity_type == "outreach")) is None


def test_outreach_done_filters_by_practice_and_date_and_mark_done_joins(demo_ctx) -> None:  # type: ignore[no-untyped-def]
    table = care_gaps(demo_ctx, Period.year(2026), "P001", as_of=AS_OF)
    first, other = table.iloc[0], table[table["patient_id"] != table.iloc[0]["patient_id"]].iloc[0]
    outreach.record_outreach(demo_ctx, patient_id=int(first.patient_id), measure_id=first.measure, note="old",
                             date=dt.date(2025, 12, 1), today=AS_OF)
    outreach.record_outreach(demo_ctx, patient_id=int(first.patient_id), measure_id=first.measure, note="new",
                             date=AS_OF, today=AS_OF)
    assert len(outreach.outreach_done(demo_ctx, practice_code="P001")) == 2
    assert outreach.outreach_done(demo_ctx, practice_code="P002").empty
    done = outreach.outreach_done(demo_ctx, practice_code="P001", since=dt.date(2026, 1, 1))
    assert done["note"].tolist() == ["new"]
    marked = outreach.mark_done(table, outreach.outreach_done(demo_ctx, practice_code="P001"))
    assert len(marked) == len(table) and marked.attrs["audit"] == table.attrs["audit"]
    hit = (marked["patient_id"] == first.patient_id) & (marked["measure"] == first.measure)
    assert marked.loc[hit, "outreach_note"].eq("new").all()  # the latest one
    assert marked.loc[~hit, "outreach_on"].isna().all()
    assert pd.isna(marked.loc[marked["patient_id"] == other.patient_id, "outreach_on"]).all()


def test_export_worklist_writes_the_rows_given_and_audits(demo_ctx, tmp_path) -> None:  # type: ignore[no-untyped-def]
    table = care_gaps(demo_ctx, Period.year(2026), "P001", as_of=AS_OF)
    shown = table[table["status"] == "overdue"]
    shown.attrs = dict(table.attrs)
    path = tmp_path / "out" / "gaps.csv"
    assert outreach.export_worklist(demo_ctx, shown, path) == len(shown) > 0
    written = pd.read_csv(path, encoding="utf-8-sig")
    assert len(written) == len(shown) and set(written["Status"]) == {"overdue"}
    with demo_ctx.db.session() as s:
        entry = s.scalars(select(AuditLog).where(AuditLog.action == "export")).one()
    assert entry.entity == "care_gaps" and "gaps.csv" in entry.summary and f"{len(shown)} rows" in entry.summary
    with pytest.raises(ServiceError):
        outreach.export_worklist(demo_ctx, shown, tmp_path / "gaps.pdf")
