"""Reminder letters: a page per child with open gaps, in Spanish for Spanish-speaking families and in English
otherwise, each logged as a letter outreach attempt; the file audited."""

from __future__ import annotations

import datetime as dt
import shutil
import subprocess

import pytest
from sqlalchemy import select, update

from carenet_desktop.metrics.period import Period
from carenet_desktop.models import AuditLog, CareActivity, Patient, Practice
from carenet_desktop.reports.pdf_letters import item_text
from carenet_desktop.services import ServiceError
from carenet_desktop.services.letters import reminder_letters
from carenet_desktop.services.worklist import child_worklist

AS_OF = dt.date(2026, 6, 30)


def test_items_in_spanish() -> None:
    assert item_text("blood lead test", "es") == "prueba de plomo en la sangre"
    assert item_text("MenACWY dose 1", "es") == "MenACWY, dosis 1"
    assert item_text("PCV doses 3-4", "es") == "PCV, dosis 3-4"
    assert item_text("Something new", "es") == "Something new"
    assert item_text("blood lead test", "en") == "blood lead test"


@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="pdftotext (poppler) not installed")
def test_a_letter_per_child_in_the_familys_language_logged_as_outreach(demo_ctx, tmp_path) -> None:  # type: ignore[no-untyped-def]
    with demo_ctx.db.session() as s:
        code = s.scalars(select(Practice.code).order_by(Practice.code)).first()
    children = child_worklist(demo_ctx, Period.year(2026), code, as_of=AS_OF, action=None).children
    spanish, other = (int(p) for p in children["patient_id"].iloc[:2])
    with demo_ctx.db.session() as s:
        s.execute(update(Patient).where(Patient.id == spanish).values(language="es", guardian="Rosa Pérez"))
        s.execute(update(Patient).where(Patient.id == other).values(language="vi", guardian=None))
        practice_id = s.scalar(select(Practice.id).where(Practice.code == code))
        no_gaps = s.scalar(select(Patient.id).where(Patient.practice_id == practice_id,
                                                    Patient.id.not_in([int(p) for p in children["patient_id"]])))
    out = tmp_path / "letters.pdf"
    result = reminder_letters(demo_ctx, code, [spanish, other, no_gaps], out, as_of=AS_OF)
    assert [letter.patient_id for letter in result.letters] == [spanish, other]
    assert result.skipped == [no_gaps] and result.logged == 2
    assert [letter.language for letter in result.letters] == ["es", "en"]  # no Vietnamese template: English
    pages = subprocess.run(["pdftotext", str(out), "-"], check=True, capture_output=True, text=True).stdout.split("\f")
    assert len([p for p in pages if p.strip()]) == 2
    assert "Estimado/a Rosa Pérez:" in pages[0] and "Un recordatorio" in pages[0]
    assert "Parent or guardian of" in pages[1] and "A reminder about" in pages[1]
    for letter, page in zip(result.letters, pages, strict=False):
        flat = " ".join(page.split())
        for item, _due in letter.items:
            assert item_text(item, letter.language) in flat
    with demo_ctx.db.session() as s:
        acts = s.scalars(select(CareActivity).where(CareActivity.patient_id.in_([spanish, other]),
                                                    CareActivity.activity_type == "outreach")
                         .order_by(CareActivity.patient_id)).all()
        entry = s.scalars(select(AuditLog).where(AuditLog.entity == "letters")).one()
    assert {a.patient_id for a in acts} == {spanish, other}
    assert all(a.contact_method == "letter" and a.outcome == "sent" and a.activity_date == AS_OF
               and a.follow_up_date == AS_OF + dt.timedelta(days=14) for a in acts)
    spanish_note = next(a.notes for a in acts if a.patient_id == spanish)
    assert spanish_note is not None and spanish_note.startswith("Reminder letter (Spanish): ")
    assert entry.action == "export" and "2 reminder letter(s)" in (entry.summary or "")


def test_nothing_to_write_and_strangers_are_errors(demo_ctx, tmp_path) -> None:  # type: ignore[no-untyped-def]
    with demo_ctx.db.session() as s:
        codes = s.scalars(select(Practice.code).order_by(Practice.code)).all()
        stranger = s.scalar(select(Patient.id).join(Practice).where(Practice.code == codes[1]))
    with pytest.raises(ServiceError, match="not patients of"):
        reminder_letters(demo_ctx, codes[0], [stranger], tmp_path / "x.pdf", as_of=AS_OF)
    with pytest.raises(ServiceError, match="use a .pdf"):
        reminder_letters(demo_ctx, codes[0], [stranger], tmp_path / "x.docx", as_of=AS_OF)
    assert not (tmp_path / "x.pdf").exists()


@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="pdftotext (poppler) not installed")
def test_one_pdf_per_child_in_a_folder(demo_ctx, tmp_path) -> None:  # type: ignore[no-untyped-def]
    with demo_ctx.db.session() as s:
        code = s.scalars(select(Practice.code).order_by(Practice.code)).first()
    children = child_worklist(demo_ctx, Period.year(2026), code, as_of=AS_OF, action=None).children
    chosen = [int(p) for p in children["patient_id"].iloc[:3]]
    with demo_ctx.db.session() as s:
        mrns = {int(p.id): p.mrn for p in s.scalars(select(Patient).where(Patient.id.in_(chosen)))}
    folder = tmp_path / "letters"
    result = reminder_letters(demo_ctx, code, chosen, folder, as_of=AS_OF, one_per_child=True)
    assert result.path == folder and result.logged == 3
    assert sorted(p.name for p in folder.iterdir()) == sorted(f"letter-{mrns[p]}.pdf" for p in chosen)
    assert sorted(result.files) == sorted(folder.iterdir())
    for letter in result.letters:
        text = subprocess.run(["pdftotext", str(folder / f"letter-{mrns[letter.patient_id]}.pdf"), "-"], check=True,
                              capture_output=True, text=True).stdout
        assert len([p for p in text.split("\f") if p.strip()]) == 1  # that child's letter only
        assert letter.child_name in " ".join(text.split())
    with demo_ctx.db.session() as s:
        entry = s.scalars(select(AuditLog).where(AuditLog.entity == "letters")).one()
    assert "3 files in letters" in (entry.summary or "")
    # a file where the folder should be is an error, and nothing is logged
    taken = tmp_path / "taken.pdf"
    taken.write_text("x")
    with pytest.raises(ServiceError, match="not a folder"):
        reminder_letters(demo_ctx, code, chosen, taken, as_of=AS_OF, one_per_child=True)
