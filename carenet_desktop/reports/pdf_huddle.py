"""The daily huddle sheet (pre-visit planning): for one practice and day, each provider's scheduled children
with every care gap the visit could close, one provider per page (more when the day is long).

Pure rendering of what ``services.huddle`` gathered. The sheet names children: it is marked confidential,
for the care team, and the services audit each one printed.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from xml.sax.saxutils import escape

from reportlab.graphics.shapes import Drawing, Rect
from reportlab.lib.pagesizes import A4, letter
from reportlab.lib.units import mm
from reportlab.platypus import PageBreak, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from .huddle_sheet import NO_PROVIDER, Huddle, HuddleGap, HuddleVisit, Paper
from .pdf_common import BAD, MARGIN, MUTED, STYLES, canvas_class, table_style

__all__ = ["NO_PROVIDER", "PAPER_SIZES", "Huddle", "HuddleGap", "HuddleVisit", "Paper", "render_huddle"]

PAPER_SIZES = {"letter": letter, "a4": A4}


def render_huddle(huddle: Huddle, path: Path, paper: Paper = "letter",
                  generated_at: dt.datetime | None = None) -> Path:
    """Write the huddle sheet: a page (or more) per provider, on Letter or A4 paper, portrait."""
    if paper not in PAPER_SIZES:
        raise ValueError(f"paper must be one of {', '.join(PAPER_SIZES)}")
    stamp = (generated_at or dt.datetime.now()).replace(microsecond=0)
    size = PAPER_SIZES[paper]
    doc = SimpleDocTemplate(str(path), pagesize=size, leftMargin=MARGIN, rightMargin=MARGIN, topMargin=MARGIN,
                            bottomMargin=MARGIN, title=f"Huddle {huddle.practice_code} {huddle.day.isoformat()}",
                            author="CareNet Desktop", subject="Daily huddle (pre-visit planning)")
    width = size[0] - 2 * MARGIN
    story: list = []
    providers = huddle.providers or [NO_PROVIDER]
    for n, provider in enumerate(providers):
        if n:
            story.append(PageBreak())
        story.extend(_provider_page(huddle, provider, width))
    if huddle.failures:
        story.append(Spacer(1, 4 * mm))
        story.append(Paragraph("Not evaluated (their gaps are missing from this sheet): "
                               + escape(", ".join(sorted(huddle.failures))), STYLES["small"]))
    day = f"{huddle.day:%A} {huddle.day.isoformat()}"
    doc.build(story, canvasmaker=canvas_class(
        f"Daily huddle · {huddle.practice_name} · {day}",
        f"CareNet Desktop · CONFIDENTIAL: patient information for the care team · printed {stamp:%Y-%m-%d %H:%M}"))
    return path


def _provider_page(huddle: Huddle, provider: str, width: float) -> list:
    visits = huddle.of_provider(provider)
    gaps = sum(len(v.gaps) for v in visits)
    with_gaps = sum(1 for v in visits if v.gaps)
    flow: list = [
        Paragraph(f"Daily huddle · {escape(huddle.practice_name)}", STYLES["h1"]),
        Paragraph(f"<b>{escape(provider)}</b> · {huddle.day:%A, %B} {huddle.day.day}, {huddle.day.year} · "
                  f"{len(visits)} scheduled · {with_gaps} with care gaps · {_plural(gaps, 'gap')} these visits could close "
                  f"(measure year {escape(huddle.period_label)})", STYLES["body"]),
        Paragraph("Confidential: patient information for the care team. Shred after the session.",
                  STYLES["confidential"]),
        Spacer(1, 3 * mm),
    ]
    if not visits:
        flow.append(Paragraph("No visits scheduled.", STYLES["body"]))
        return flow
    head = ["Time", "Child", "Visit", "Gaps this visit could close", "Done"]
    rows: list[list] = [head]
    for visit in visits:
        rows.append([
            Paragraph(f"<b>{visit.start:%H:%M}</b>" + (f"<br/>{visit.minutes} min" if visit.minutes else ""),
                      STYLES["cell"]),
            Paragraph(_child_cell(visit, huddle.day), STYLES["cell"]),
            Paragraph(escape(visit.visit_type or "") + ("" if visit.status == "booked" else f"<br/><i>{escape(visit.status)}</i>"),
                      STYLES["cell"]),
            _gaps_cell(visit, huddle.day, width * 0.47 - 12),
            "",
        ])
    fractions = (0.08, 0.25, 0.14, 0.47, 0.06)
    table = Table(rows, colWidths=[width * f for f in fractions], repeatRows=1)
    style = table_style()
    style.add("ALIGN", (0, 0), (-1, -1), "LEFT")
    style.add("VALIGN", (0, 1), (-1, -1), "TOP")
    style.add("BOX", (4, 1), (4, -1), 0.4, MUTED)
    style.add("INNERGRID", (4, 1), (4, -1), 0.4, MUTED)
    table.setStyle(style)
    flow.append(table)
    return flow


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _child_cell(visit: HuddleVisit, day: dt.date) -> str:
    lines = [f"<b>{escape(visit.patient_name)}</b>",
             f"MRN {escape(visit.mrn)} · {visit.age_label(day)}" + (
                 f" · born {visit.birth_date.isoformat()}" if visit.birth_date else "")]
    family = " · ".join(escape(p) for p in (visit.guardian, visit.language) if p)
    if family:
        lines.append(f"<font color='#627d98'>{family}</font>")
    return "<br/>".join(lines)


def _gaps_cell(visit: HuddleVisit, day: dt.date, width: float) -> Paragraph | Table:
    """The visit's gaps, each on its own line behind an empty box to tick (drawn, not a font glyph)."""
    if not visit.gaps:
        return Paragraph("<font color='#627d98'>No open care gaps.</font>", STYLES["cell"])
    lines = []
    for gap in visit.gaps:
        when = ""
        if gap.due_date is not None:
            overdue = gap.status == "overdue" or gap.due_date < day
            colour = BAD.hexval()[2:] if overdue else "627d98"
            when = (f" <font color='#{colour}'>{'overdue since' if overdue else 'due by'} "
                    f"{gap.due_date.isoformat()}</font>")
        lines.append([_tick_box(), Paragraph(f"<b>{escape(gap.item)}</b>{when} <font color='#627d98' size='6.5'>"
                                    f"({escape(gap.measures)})</font>", STYLES["cell"])])
    table = Table(lines, colWidths=[11, width - 11])
    table.setStyle(TableStyle([
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("LEFTPADDING", (0, 0), (-1, -1), 0), ("RIGHTPADDING", (0, 0), (-1, -1), 0),
        ("TOPPADDING", (0, 0), (-1, -1), 1), ("BOTTOMPADDING", (0, 0), (-1, -1), 1),
    ]))
    return table


def _tick_box() -> Drawing:
    """An empty square to tick by hand, on the text's first line."""
    drawing = Drawing(8, 9)
    drawing.add(Rect(0.5, 1.5, 6.5, 6.5, fillColor=None, strokeColor=MUTED, strokeWidth=0.7))
    return drawing
