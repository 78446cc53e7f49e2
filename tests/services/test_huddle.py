"""The daily huddle on a hand-made schedule: who is listed (active appointments of the day and practice),
the gaps each visit could close (the worklist's, each item once), providers, the audit, and the PDF sheet."""

from __future__ import annotations

import datetime as dt
import re
import shutil
import subprocess
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import delete, select

from carenet_desktop.metrics.period import Period
from carenet_desktop.models import Appointment, AuditLog, Patient, Practice, Provider
from carenet_desktop.reports.pdf_huddle import NO_PROVIDER
from carenet_desktop.services import ServiceError
from carenet_desktop.services.huddle import bundle_gaps, daily_huddle, print_huddle
from carenet_desktop.services.worklist import child_detail, child_worklist

DAY = dt.date(2026, 7, 2)  # a Thursday, two days after the demo's data ends


def _schedule(ctx) -> dict[str, object]:  # type: ignore[no-untyped-def]
    """Replace the demo's schedule with a hand-made one for ``DAY`` at the first practice."""
    with ctx.db.session() as s:
        practices = s.scalars(select(Practice).order_by(Practice.code)).all()
        code, other = practices[0].code, practices[1]
    worklist = child_worklist(ctx, Period.year(DAY.year), code, as_of=DAY, action=None)
    with_gaps = worklist.children.sort_values("gap_count", ascending=False)["patient_id"].astype(int).tolist()
    many, few = with_gaps[0], with_gaps[-1]
    with ctx.db.session() as s:
        s.execute(delete(Appointment))
        ids = set(s.scalars(select(Patient.id).where(Patient.practice_id == practices[0].id)))
        no_gaps = min(ids - set(with_gaps))
        stranger = s.scalar(select(Patient.id).where(Patient.practice_id == other.id).limit(1))
        doctors = s.scalars(select(Provider).where(Provider.practice_id == practices[0].id).order_by(Provider.id)).all()
        first, second = doctors[0], doctors[1]
        at = dt.datetime.combine(DAY, dt.time(8, 0))
        s.add_all([
            Appointment(patient_id=many, provider_id=first.id, start=at + dt.timedelta(hours=1), minutes=30,
                        visit_type="Well child visit", status="booked"),
            Appointment(patient_id=no_gaps, provider_id=first.id, start=at, minutes=20, visit_type="Sick visit",
                        status="checked-in"),
            Appointment(patient_id=few, provider_id=second.id, start=at + dt.timedelta(hours=2), minutes=20,
                        visit_type="Follow-up visit", status="booked"),
            Appointment(patient_id=few, provider_name="Locum Dr Z", start=at + dt.timedelta(hours=3),
                        visit_type="Vaccine only", status="booked"),
            # not on the sheet: cancelled, another day, another practice
            Appointment(patient_id=many, provider_id=second.id, start=at, visit_type="x", status="cancelled"),
            Appointment(patient_id=many, provider_id=first.id, start=at + dt.timedelta(days=1), visit_type="x",
                        status="booked"),
            Appointment(patient_id=stranger, start=at, visit_type="x", status="booked"),
        ])
    return {"code": code, "worklist": worklist, "many": many, "few": few, "no_gaps": no_gaps,
            "first": first.family_name, "second": second.family_name}


def test_the_huddle_lists_each_scheduled_child_with_the_gaps_the_visit_could_close(demo_ctx) -> None:  # type: ignore[no-untyped-def]
    plan = _schedule(demo_ctx)
    huddle = daily_huddle(demo_ctx, str(plan["code"]), DAY)
    visits = [(v.start.time(), v.patient_id, v.status) for v in huddle.visits]
    assert visits == [(dt.time(8), plan["no_gaps"], "checked-in"), (dt.time(9), plan["many"], "booked"),
                      (dt.time(10), plan["few"], "booked"), (dt.time(11), plan["few"], "booked")]
    worklist = plan["worklist"]
    for visit in huddle.visits:
        expected = child_detail(worklist, visit.patient_id)  # type: ignore[arg-type]
        assert sorted(g.item for g in visit.gaps) == sorted(set(expected["item"]))
        for gap in visit.gaps:
            rows = expected[expected["item"] == gap.item]
            assert gap.measures == ", ".join(sorted(set(rows["measure"])))
            assert gap.due_date == pd.to_datetime(rows["due_date"]).min().date()
    by_child = {v.patient_id: v for v in huddle.visits}
    assert by_child[plan["no_gaps"]].gaps == ()
    assert len(by_child[plan["many"]].gaps) >= 2
    assert huddle.gap_count == sum(len(v.gaps) for v in huddle.visits) > 0
    names = huddle.providers
    assert str(plan["first"]) in names[0] and str(plan["second"]) in names[1]
    assert len(names) == 3 and names[2] == "Locum Dr Z" and NO_PROVIDER not in names
    assert [v.patient_id for v in huddle.of_provider(names[0])] == [plan["no_gaps"], plan["many"]]
    assert by_child[plan["no_gaps"]].patient_name and by_child[plan["no_gaps"]].mrn
    for visit in huddle.visits:  # contacts are text or None, never a frame's NaN
        assert all(v is None or isinstance(v, str) for v in (visit.phone, visit.guardian, visit.language))
    with demo_ctx.db.session() as s:
        entry = s.scalars(select(AuditLog).where(AuditLog.entity == "huddle")).one()
    assert entry.action == "view" and "4 visits, 3 children" in (entry.summary or "")


def test_a_day_without_visits_is_an_empty_huddle_and_an_unknown_practice_an_error(demo_ctx) -> None:  # type: ignore[no-untyped-def]
    plan = _schedule(demo_ctx)
    empty = daily_huddle(demo_ctx, str(plan["code"]), DAY - dt.timedelta(days=1))
    assert empty.visits == () and empty.providers == []
    with pytest.raises(ServiceError, match="No practice"):
        daily_huddle(demo_ctx, "NOPE", DAY)


def test_bundling_names_each_item_once_most_pressing_first() -> None:
    detail = pd.DataFrame({
        "item": ["MenACWY dose 1", "MenACWY dose 1", "blood lead test", "well-child visit"],
        "measure": ["IMA", "CMS117", "LSC", "WCV"], "measure_title": "t", "group_title": "g",
        "missing": ["MenACWY (from the 11th birthday)", "MenACWY #1 (has 0 of 1)", "lead test", "visit"],
        "due_date": [dt.date(2026, 9, 1), dt.date(2026, 8, 1), dt.date(2026, 6, 1), dt.date(2026, 12, 31)],
        "status": ["open", "upcoming", "overdue", "open"],
    })
    gaps = bundle_gaps(detail)
    assert [g.item for g in gaps] == ["blood lead test", "MenACWY dose 1", "well-child visit"]
    menacwy = gaps[1]
    assert (menacwy.measures, menacwy.due_date, menacwy.status) == ("CMS117, IMA", dt.date(2026, 8, 1), "upcoming")
    assert menacwy.why == "MenACWY (from the 11th birthday); MenACWY #1 (has 0 of 1)"


@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="pdftotext (poppler) not installed")
@pytest.mark.parametrize("paper, width", [("letter", 612), ("a4", 595)])
def test_the_sheet_has_a_page_per_provider_with_each_child_and_gap(demo_ctx, tmp_path: Path, paper: str,
                                                                   width: int) -> None:  # type: ignore[no-untyped-def]
    plan = _schedule(demo_ctx)
    out = tmp_path / "huddle.pdf"
    huddle = print_huddle(demo_ctx, str(plan["code"]), DAY, out, paper=paper)  # type: ignore[arg-type]
    info = subprocess.run(["pdfinfo", str(out)], check=True, capture_output=True, text=True).stdout
    assert re.search(r"Pages:\s+3\n", info) and re.search(rf"Page size:\s+{width}[.0-9]* x", info)
    pages = subprocess.run(["pdftotext", "-layout", str(out), "-"], check=True, capture_output=True,
                           text=True).stdout.split("\f")
    for provider, page in zip(huddle.providers, pages, strict=False):
        assert provider in page
        for visit in huddle.of_provider(provider):
            assert visit.mrn in page and visit.start.strftime("%H:%M") in page
            for gap in visit.gaps:
                assert gap.item.split()[0] in page
    assert "No open care gaps." in pages[0]
    with demo_ctx.db.session() as s:
        entry = s.scalars(select(AuditLog).where(AuditLog.entity == "huddle")).one()
    assert entry.action == "export" and entry.summary is not None and "huddle.pdf" in entry.summary
    with pytest.raises(ServiceError, match="use a .pdf"):
        print_huddle(demo_ctx, str(plan["code"]), DAY, tmp_path / "huddle.txt")
