"""Reminder letters from the care-gaps page: select children, write their letters (off the GUI thread), and
see them logged as letter outreach on their rows."""

from __future__ import annotations

import datetime as dt
import shutil
import subprocess

from sqlalchemy import select, update

from carenet_desktop.models import AuditLog, CareActivity, Patient
from carenet_desktop.ui.itemmodels.gaps import ROW_ROLE
from tests.ui import care_gaps_support
from tests.ui.care_gaps_support import AS_OF, WAIT

# the page on a copy of a small demo, as every care-gaps test opens it
demo_file = care_gaps_support.demo_file
page = care_gaps_support.page


def test_letters_for_the_selected_children_are_written_and_logged(page, qtbot, tmp_path) -> None:  # type: ignore[no-untyped-def]
    assert not page.letters_button.isEnabled()  # nothing selected
    page.table.selectRow(0)
    page.table.selectionModel().select(page.proxy.index(1, 0), page.table.selectionModel().SelectionFlag.Select
                                       | page.table.selectionModel().SelectionFlag.Rows)
    chosen = [page.proxy.index(i, 0).data(ROW_ROLE)["patient_id"] for i in (0, 1)]
    assert page.letters_button.isEnabled()
    with page.session.ctx.db.session() as s:
        s.execute(update(Patient).where(Patient.id == chosen[0]).values(language="es"))
        s.execute(update(Patient).where(Patient.id == chosen[1]).values(language="en"))
    target = tmp_path / "letters.pdf"
    with qtbot.waitSignal(page.letters_written, timeout=WAIT) as signal:
        assert page.write_letters(target) is not None
        assert not page.letters_button.isEnabled()  # one write at a time
    assert signal.args == [target] and target.exists()
    assert "2 letter(s) written" in page.action_message.text()
    if shutil.which("pdftotext"):
        text = subprocess.run(["pdftotext", str(target), "-"], check=True, capture_output=True, text=True).stdout
        pages = [p for p in text.split("\f") if p.strip()]
        assert len(pages) == 2 and sum("Un recordatorio" in p for p in pages) == 1
    with page.session.ctx.db.session() as s:
        acts = s.scalars(select(CareActivity).where(CareActivity.activity_type == "outreach")).all()
        letters = s.scalars(select(AuditLog).where(AuditLog.entity == "letters")).all()
    assert sorted(a.patient_id for a in acts) == sorted(chosen)
    assert {(a.contact_method, a.outcome, a.follow_up_date) for a in acts} == {
        ("letter", "sent", AS_OF + dt.timedelta(days=14))}
    assert len(letters) == 1
    marked = [r for r in page.model.rows() if r["patient_id"] in chosen]
    assert all(r["last_outreach"] == f"{AS_OF.isoformat()} letter: sent" and r["attempts"] == 1
               for r in marked)
    assert page.done_tile.value() == "2"


def test_a_pdf_per_child_in_a_folder_from_the_letters_menu(page, qtbot, tmp_path) -> None:  # type: ignore[no-untyped-def]
    menu = page.letters_button.menu()
    assert [a.text() for a in menu.actions()] == ["One PDF to print (a page per child)…",
                                                  "A PDF per child, in a folder…"]
    page.table.selectRow(0)
    page.table.selectionModel().select(page.proxy.index(1, 0), page.table.selectionModel().SelectionFlag.Select
                                       | page.table.selectionModel().SelectionFlag.Rows)
    chosen = [page.proxy.index(i, 0).data(ROW_ROLE)["patient_id"] for i in (0, 1)]
    with page.session.ctx.db.session() as s:
        mrns = {int(p.id): p.mrn for p in s.scalars(select(Patient).where(Patient.id.in_(chosen)))}
    folder = tmp_path / "letters"
    with qtbot.waitSignal(page.letters_written, timeout=WAIT) as signal:
        assert page.write_letters(folder, one_per_child=True) is not None
    assert signal.args == [folder]
    assert sorted(p.name for p in folder.iterdir()) == sorted(f"letter-{mrns[p]}.pdf" for p in chosen)
    assert "2 letter(s) written to letters" in page.action_message.text()
    marked = [r for r in page.model.rows() if r["patient_id"] in chosen]
    assert all(r["last_outreach"] == f"{AS_OF.isoformat()} letter: sent" for r in marked)
