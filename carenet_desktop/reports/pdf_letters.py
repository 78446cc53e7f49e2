"""Reminder letters to families: one letter (a page) per child naming the care the child is due for, in the
family's preferred language where a template exists (English and Spanish ship), else in English.

Pure rendering of what ``services.letters`` gathered. Item names come from the worklist in plain English
("MenACWY dose 1", "blood lead test"); the Spanish template translates the ones it knows and keeps the
vaccine names, which are the same in both languages.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import escape

from reportlab.lib.units import mm
from reportlab.platypus import PageBreak, Paragraph, SimpleDocTemplate, Spacer

from .pdf_common import MARGIN, STYLES
from .pdf_huddle import PAPER_SIZES, Paper

#: languages with a template (``patient.language`` codes)
TEMPLATE_LANGUAGES = ("en", "es")


@dataclass(frozen=True)
class Letter:
    """One child's letter: who it is to, about whom, what is due, and who sends it."""

    patient_id: int
    child_name: str  # "Jane Doe"
    guardian: str | None
    language: str  # a TEMPLATE_LANGUAGES code
    items: tuple[tuple[str, dt.date | None], ...]  # (plain-words item, due by)
    practice_name: str
    day: dt.date


_TEXT = {
    "en": {
        "dear": "Dear {who},",
        "family": "Parent or guardian of {child}",
        "intro": "Our records show that {child} is due for the following care:",
        "due": "due by {day}",
        "overdue": "past due since {day}",
        "ask": "Please call our office to schedule a visit, or ask about it at your next appointment. Many of "
               "these can be done in a single visit. If {child} has already had this care elsewhere, please let "
               "us know so we can update our records.",
        "close": "Thank you for helping us keep {child} healthy.",
        "sign": "Sincerely,<br/>The care team at {practice}",
        "title": "A reminder about {child}'s care",
    },
    "es": {
        "dear": "Estimado/a {who}:",
        "family": "Padre, madre o tutor de {child}",
        "intro": "Según nuestros registros, a {child} le corresponde la siguiente atención:",
        "due": "antes del {day}",
        "overdue": "pendiente desde el {day}",
        "ask": "Por favor llame a nuestra oficina para programar una cita, o pregunte en su próxima visita. "
               "Muchas de estas se pueden hacer en una sola visita. Si {child} ya recibió esta atención en otro "
               "lugar, avísenos para actualizar nuestros registros.",
        "close": "Gracias por ayudarnos a mantener sano/a a {child}.",
        "sign": "Atentamente,<br/>El equipo de atención de {practice}",
        "title": "Un recordatorio sobre la atención de {child}",
    },
}
#: Spanish names of the worklist's fixed items (``metrics.gap_items.FIXED_ITEMS``)
_ES_ITEMS = {
    "blood lead test": "prueba de plomo en la sangre",
    "well-child visit": "visita de control del niño sano",
    "developmental screening": "evaluación del desarrollo",
    "BMI percentile": "percentil del índice de masa corporal (IMC)",
    "nutrition counseling": "consejería sobre nutrición",
    "physical activity counseling": "consejería sobre actividad física",
    "depression screening": "evaluación de depresión",
    "caregiver depression screening": "evaluación de depresión de la madre o cuidador",
    "fluoride varnish": "barniz de flúor",
    "vision screening": "examen de la vista",
    "social needs screening": "evaluación de necesidades sociales",
    "social needs referral": "referido por necesidades sociales",
    "asthma controller medication": "medicamento de control del asma",
    "ADHD follow-up visit": "visita de seguimiento de TDAH",
    "chlamydia screening": "prueba de clamidia",
}
_DOSE = re.compile(r"^(?P<name>.+) dose(?P<plural>s)? (?P<n>[\d-]+)$")


def item_text(item: str, language: str) -> str:
    """An item in the letter's language (English as written; Spanish when known, else as written)."""
    if language != "es":
        return item
    if item in _ES_ITEMS:
        return _ES_ITEMS[item]
    match = _DOSE.match(item)
    if match is not None:
        return f"{match['name']}, dosis {match['n']}"
    return item


def _day(day: dt.date, language: str) -> str:
    if language == "es":
        months = ("enero", "febrero", "marzo", "abril", "mayo", "junio", "julio", "agosto", "septiembre",
                  "octubre", "noviembre", "diciembre")
        return f"{day.day} de {months[day.month - 1]} de {day.year}"
    return f"{day:%B} {day.day}, {day.year}"


def letter_flow(letter: Letter) -> list:
    text = _TEXT[letter.language if letter.language in _TEXT else "en"]
    lang = letter.language if letter.language in _TEXT else "en"
    child = escape(letter.child_name)
    who = escape(letter.guardian) if letter.guardian else text["family"].format(child=child)
    items = []
    for item, due in letter.items:
        when = ""
        if due is not None:
            key = "overdue" if due < letter.day else "due"
            when = f" ({text[key].format(day=_day(due, lang))})"
        items.append(f"• {escape(item_text(item, lang))}{when}")
    return [
        Paragraph(escape(letter.practice_name), STYLES["h2"]),
        Paragraph(_day(letter.day, lang), STYLES["body"]),
        Spacer(1, 10 * mm),
        Paragraph(text["title"].format(child=child), STYLES["h1"]),
        Spacer(1, 3 * mm),
        Paragraph(text["dear"].format(who=who), STYLES["body"]),
        Spacer(1, 3 * mm),
        Paragraph(text["intro"].format(child=child), STYLES["body"]),
        Spacer(1, 2 * mm),
        *(Paragraph(line, STYLES["body"]) for line in items),
        Spacer(1, 4 * mm),
        Paragraph(text["ask"].format(child=child), STYLES["body"]),
        Spacer(1, 3 * mm),
        Paragraph(text["close"].format(child=child), STYLES["body"]),
        Spacer(1, 6 * mm),
        Paragraph(text["sign"].format(practice=escape(letter.practice_name)), STYLES["body"]),
    ]


def render_letters(letters: list[Letter], path: Path, paper: Paper = "letter") -> Path:
    """One page per letter, in the order given."""
    if paper not in PAPER_SIZES:
        raise ValueError(f"paper must be one of {', '.join(PAPER_SIZES)}")
    doc = SimpleDocTemplate(str(path), pagesize=PAPER_SIZES[paper], leftMargin=25 * mm, rightMargin=25 * mm,
                            topMargin=MARGIN + 6 * mm, bottomMargin=MARGIN, title="Reminder letters",
                            author="CareNet Desktop")
    story: list = []
    for n, letter in enumerate(letters):
        if n:
            story.append(PageBreak())
        story.extend(letter_flow(letter))
    doc.build(story)
    return path
