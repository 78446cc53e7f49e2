"""Reminder letters for selected children: one letter each naming the care gaps an action can still close
(from the worklist), in the family's preferred language where a template exists (English, Spanish), logged
as an outreach attempt by letter.

A mailed letter reaches the family without a conversation, so it is logged with the outcome "sent" and a
follow-up date (two weeks by default) for a call if nothing comes of it. The letters go to one print-ready
PDF (a page per child) or, ``one_per_child``, to a folder with one PDF per child (named by MRN), e.g. to
attach to a portal message. Writing the file is audited
as an export of patient-level data (entity ``letters``); each outreach attempt is audited by the outreach
service.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd
from sqlalchemy import select

from ..metrics.period import Period
from ..models import Patient, Practice
from . import audit
from .changes import Area, Change, writes
from .context import ServiceContext, ServiceError
from .outreach import record_outreach
from .permissions import require
from .worklist import child_worklist

if TYPE_CHECKING:  # the PDF writers (reportlab) are imported when letters are written, not with the window
    from ..reports.pdf_huddle import Paper
    from ..reports.pdf_letters import Letter

FOLLOW_UP_DAYS = 14


#: the outcome a letter is logged with
LETTER_OUTCOME = "sent"


@dataclass(frozen=True)
class LettersWritten:
    path: Path  # the PDF, or the folder of one PDF per child
    letters: list[Letter]
    skipped: list[int]  # children asked for who have no open care gap (no letter)
    logged: int  # outreach attempts recorded
    follow_up: dt.date | None = None  # the follow-up day of the attempts logged
    change: Change = field(default_factory=Change.nothing)  # the outreach attempts logged
    files: list[Path] = field(default_factory=list)  # the PDFs written (one, or one per child)


@writes(Area.CARE_ACTIVITIES)
def reminder_letters(ctx: ServiceContext, practice_code: str, patient_ids: Sequence[int], path: Path | str, *,
                     as_of: dt.date | None = None, period: Period | None = None, paper: Paper = "letter",
                     log_outreach: bool = True, follow_up_days: int = FOLLOW_UP_DAYS,
                     one_per_child: bool = False) -> LettersWritten:
    """Write one reminder letter per child of ``patient_ids`` with open care gaps to ``path`` (a PDF, or with
    ``one_per_child`` a folder that gets one PDF per child) and, unless ``log_outreach`` is False, record a
    letter outreach attempt for each."""
    from ..reports.pdf_huddle import PAPER_SIZES
    from ..reports.pdf_letters import TEMPLATE_LANGUAGES, Letter, render_letters

    path = Path(path)
    if not one_per_child and path.suffix.lower() != ".pdf":
        raise ServiceError(f"Cannot write {path.name}: use a .pdf file name")
    if one_per_child and path.exists() and not path.is_dir():
        raise ServiceError(f"Cannot write letters into {path.name}: it is a file, not a folder")
    if paper not in PAPER_SIZES:
        raise ServiceError(f"Unknown paper size {paper!r}: use letter or a4")
    as_of = as_of or dt.date.today()
    with ctx.db.session() as s:
        practice = s.scalar(select(Practice).where(Practice.code == practice_code))
        if practice is None:
            raise ServiceError(f"No practice with code {practice_code!r}.")
        practice_id, practice_name = practice.id, practice.name or practice.code
        wanted = [int(p) for p in patient_ids]
        people = {int(p.id): (p.given_name, p.family_name, p.guardian, p.language, p.mrn) for p in s.scalars(
            select(Patient).where(Patient.id.in_(wanted), Patient.practice_id == practice_id))}
    require(ctx, "patients.export", practice_id)
    if log_outreach:
        require(ctx, "patients.write", practice_id)
    missing = [p for p in wanted if p not in people]
    if missing:
        raise ServiceError(f"{len(missing)} of the children chosen are not patients of {practice_code}.")
    period = period or Period.year(as_of.year)
    worklist = child_worklist(ctx, period, practice_code, as_of=as_of, action=None)
    letters: list[Letter] = []
    skipped: list[int] = []
    mrns: dict[int, str] = {}
    for pid in wanted:
        given, family, guardian, language, mrns[pid] = people[pid]
        items = _items(worklist.gaps, pid)
        if not items:
            skipped.append(pid)
            continue
        letters.append(Letter(pid, " ".join(p for p in (given, family) if p), guardian,
                              language if language in TEMPLATE_LANGUAGES else "en", items, practice_name, as_of))
    if not letters:
        raise ServiceError("None of the children chosen has an open care gap: no letter to write.")
    try:
        if one_per_child:
            path.mkdir(parents=True, exist_ok=True)
            files = [render_letters([letter], path / _file_name(mrns[letter.patient_id], letter.patient_id), paper)
                     for letter in letters]
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            files = [render_letters(letters, path, paper)]
    except OSError as exc:
        raise ServiceError(f"Cannot write {path.name}: {exc.strerror or exc}") from None
    where = f"{len(files)} files in {path.name}" if one_per_child else path.name
    with ctx.db.session() as s:
        audit.record(s, ctx.username, "export", "letters", None, practice_id=practice_id,
                     summary=f"Wrote {len(letters)} reminder letter(s) for {practice_code} to {where}")
    logged = 0
    change = Change.nothing()
    follow_up = as_of + dt.timedelta(days=follow_up_days) if log_outreach else None
    if log_outreach:
        written = worklist.gaps[worklist.gaps["patient_id"].isin([letter.patient_id for letter in letters]).to_numpy()]
        for letter in letters:
            language = "Spanish" if letter.language == "es" else "English"
            note = f"Reminder letter ({language}): " + "; ".join(item for item, _due in letter.items)
            result = record_outreach(ctx, patient_id=letter.patient_id, measure_id=None, note=note[:2000],
                                     date=as_of, today=max(as_of, dt.date.today()), method="letter",
                                     outcome=LETTER_OUTCOME, follow_up=follow_up, open_gaps=written,
                                     period=period)
            if not result.ok:
                raise ServiceError("; ".join(e.message for e in result.errors))
            logged += 1
            change = change | result.change
    return LettersWritten(path, letters, skipped, logged, follow_up, change, files)


def _file_name(mrn: str | None, patient_id: int) -> str:
    """``letter-<MRN>.pdf`` (characters a file name cannot hold replaced; the patient id without an MRN)."""
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", mrn or "").strip("._") or f"patient-{patient_id}"
    return f"letter-{stem}.pdf"


def _items(gaps: pd.DataFrame, patient_id: int) -> tuple[tuple[str, dt.date | None], ...]:
    """The child's items, each once with its soonest due date, soonest first."""
    rows = gaps[(gaps["patient_id"] == patient_id).to_numpy()]
    if rows.empty:
        return ()
    due = pd.to_datetime(rows["due_date"], errors="coerce").groupby(rows["item"].to_numpy()).min().sort_values()
    return tuple((str(item), None if pd.isna(day) else day.date()) for item, day in due.items())
