"""The network report PDF: every practice side by side, a funnel plot and the network trend per measure,
the Achievable Benchmark of Care, and the practices outside the control limits.

Practices are anonymised (letters) unless the report is made with names; pure rendering from figures the
services computed.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
from reportlab.lib.units import mm
from reportlab.platypus import KeepTogether, PageBreak, Paragraph, SimpleDocTemplate, Spacer, Table

from ..metrics.judgement import LEGEND, Status
from ..models.full_disk import whole_file
from .pdf_common import (
    BAD,
    GOOD,
    MARGIN,
    PAGE,
    STYLES,
    canvas_class,
    count,
    funnel_plot,
    markup,
    pct,
    plain_frame,
    table_style,
    trend_line,
    version_footnotes,
)

MATRIX_COLUMNS = 12  # practices per page of the side-by-side table


@dataclass
class NetworkReport:
    period_label: str
    data_as_of: dt.date | None
    table: pd.DataFrame  # every practice × measure × group (scorecard columns + ``label``)
    named: bool
    trends: dict[tuple[str, int], list[float | None]] = field(default_factory=dict)  # network rate over time
    trend_labels: list[str] = field(default_factory=list)
    generated_at: dt.datetime = field(default_factory=lambda: dt.datetime.now().replace(microsecond=0))


def _rates(table: pd.DataFrame) -> list[tuple[str, int, str, Any]]:
    keys = table[["measure", "group_index", "measure_title", "group_title"]].drop_duplicates()
    return [(str(r.measure), int(r.group_index), str(r.measure_title), r.group_title)
            for r in keys.sort_values(["measure", "group_index"]).itertuples(index=False)]


def _arrow(table: pd.DataFrame, measure: str) -> str:
    """↓ for a lower-is-better measure, ↑ otherwise (as in the window and the practice's PDF)."""
    if "direction" not in table:
        return "·"
    down = (table.loc[table["measure"] == measure, "direction"] == "decrease").any()
    return "↓" if down else "↑"


def _rate_name(measure: str, title: str, group: Any, arrow: str = "·") -> str:
    """The rate's name as ``Paragraph`` text (escaped: titles of network-defined measures are stored text)."""
    return markup(f"{measure} {arrow} {title}" + (f" — {group}" if isinstance(group, str) and group else ""))


def _matrix(report: NetworkReport) -> list[Any]:
    """Rates of every practice side by side, a page per ``MATRIX_COLUMNS`` practices."""
    table = report.table
    practices = table[["practice_code", "label"]].drop_duplicates().sort_values("label")
    labels = list(practices["label"])
    codes = list(practices["practice_code"])
    flow: list[Any] = []
    notes, footnotes = version_footnotes(table.to_dict("records"))
    for start in range(0, len(codes), MATRIX_COLUMNS):
        chunk = list(zip(codes[start:start + MATRIX_COLUMNS], labels[start:start + MATRIX_COLUMNS], strict=True))
        data: list[list[Any]] = [["Rate", "Network", "ABC", *[lab for _, lab in chunk]]]
        styles = table_style()
        for i, (measure, group, title, gtitle) in enumerate(_rates(table), start=1):
            part = table[(table["measure"] == measure) & (table["group_index"] == group)].set_index("practice_code")
            first = part.iloc[0]
            mark = f"<super>{notes[measure]}</super>" if measure in notes else ""
            row: list[Any] = [Paragraph(_rate_name(measure, title, gtitle, _arrow(table, measure)) + mark,
                                        STYLES["cell"]),
                              pct(first.get("network_rate")), pct(first.get("abc"))]
            for j, (code, _) in enumerate(chunk):
                if code not in part.index:
                    row.append("–")
                    continue
                r = part.loc[code]
                row.append(pct(r.get("rate"), 0))
                value = r.get("status")
                tone = Status(value).tone if isinstance(value, str) else "neutral"
                if tone != "neutral":
                    styles.add("TEXTCOLOR", (3 + j, i), (3 + j, i), GOOD if tone == "good" else BAD)
                    styles.add("FONT", (3 + j, i), (3 + j, i), "Helvetica-Bold", 8)
            data.append(row)
        width = PAGE[0] - 2 * MARGIN
        first_w = 78 * mm
        rest = (width - first_w - 2 * 16 * mm) / max(len(chunk), 1)
        t = Table(data, colWidths=[first_w, 16 * mm, 16 * mm, *[rest] * len(chunk)], repeatRows=1)
        t.setStyle(styles)
        title = "Every practice side by side" + (f" ({start + 1}–{start + len(chunk)} of {len(codes)})"
                                                 if len(codes) > MATRIX_COLUMNS else "")
        flow += [Paragraph(title, STYLES["h1"]),
                 Paragraph("Rates for the period, coloured by their status as in every scorecard: "
                           "<font color='#2f855a'>green</font>: meets target, or better than network; "
                           "<font color='#c53030'>red</font>: worse than network; black: no difference, or too few "
                           "to say. ABC: Achievable Benchmark of Care. " + LEGEND, STYLES["small"]),
                 Spacer(1, 3), t, Spacer(1, 3), *[Paragraph(line, STYLES["small"]) for line in footnotes],
                 PageBreak()]
    return flow


def _funnels(report: NetworkReport) -> list[Any]:
    table = report.table
    width = (PAGE[0] - 2 * MARGIN - 10 * mm) / 3
    cells: list[Any] = []
    for measure, group, title, gtitle in _rates(table):
        part = table[(table["measure"] == measure) & (table["group_index"] == group)]
        part = part[part["rate_base"].fillna(0) > 0]
        first = part.iloc[0] if len(part) else None
        centre = float(first["network_rate"]) if first is not None and pd.notna(first["network_rate"]) else math.nan
        points = [(str(r["label"]), float(r["rate"]), float(r["rate_base"]), int(r.get("funnel_flag") or 0))
                  for r in part.to_dict("records") if pd.notna(r["rate"])]
        target = None if first is None or pd.isna(first.get("target")) else float(first["target"])
        funnel = funnel_plot(points, centre, width * 0.62, 42 * mm, target=target)
        trend = trend_line(report.trends.get((measure, group), []), width * 0.36, 26 * mm, target=target)
        flagged = [f"{p[0]} ({'above' if p[3] > 0 else 'below'})" for p in points if abs(p[3]) >= 3]
        caption = (f"Network {pct(centre)} · ABC {pct(None if first is None else first.get('abc'))} · target "
                   f"{pct(target)}" + (f"<br/><font color='#c53030'>Outside 3σ: {markup(', '.join(flagged))}</font>"
                                       if flagged else ""))
        cell = Table([[Paragraph(f"<b>{_rate_name(measure, title, gtitle, _arrow(table, measure))}</b>", STYLES["cell"])],
                      [Table([[funnel, trend]], colWidths=[width * 0.63, width * 0.37])],
                      [Paragraph(caption, STYLES["small"])]], colWidths=[width])
        cell.setStyle([("LEFTPADDING", (0, 0), (-1, -1), 0), ("RIGHTPADDING", (0, 0), (-1, -1), 0),
                       ("VALIGN", (0, 0), (-1, -1), "BOTTOM")])
        cells.append(cell)
    flow: list[Any] = [Paragraph("Funnel plots and network trend", STYLES["h1"]),
                       Paragraph("Each dot is a practice: its rate against its denominator. Lines: the network rate, "
                                 "95% (dotted) and 3σ (dashed, red) limits, the target (green). A practice beyond the "
                                 "95% limits is better or worse than the network beyond chance (its status); beyond "
                                 "3σ it is listed at the end. Small chart: the network rate over "
                                 "the rolling 12 months ending each month.", STYLES["small"]), Spacer(1, 4)]
    for i in range(0, len(cells), 3):
        row = cells[i:i + 3] + [""] * (3 - len(cells[i:i + 3]))
        t = Table([row], colWidths=[width + 3 * mm] * 3)
        t.setStyle([("VALIGN", (0, 0), (-1, -1), "TOP"), ("BOTTOMPADDING", (0, 0), (-1, -1), 8)])
        flow.append(KeepTogether(t))
    return flow


def _flags(report: NetworkReport) -> list[Any]:
    table = report.table
    flagged = table[table["funnel_flag"].fillna(0).abs() >= 3].sort_values(["measure", "group_index", "label"])
    flow: list[Any] = [PageBreak(), Paragraph("Practices outside the control limits (3σ)", STYLES["h1"])]
    if flagged.empty:
        return [*flow, Paragraph("No practice is outside the 3σ limits in this period.", STYLES["body"])]
    data: list[list[Any]] = [["Rate", "Practice", "Rate", "n / N", "Network", "Direction"]]
    styles = table_style()
    for i, r in enumerate(flagged.to_dict("records"), start=1):
        better = int(r["funnel_flag"]) > 0
        data.append([Paragraph(_rate_name(r["measure"], r["measure_title"], r["group_title"],
                                               _arrow(table, str(r["measure"]))), STYLES["cell"]),
                     str(r["label"]), pct(r.get("rate")), f"{count(r.get('numerator'))} / {count(r.get('rate_base'))}",
                     pct(r.get("network_rate")), "better" if better else "worse"])
        styles.add("TEXTCOLOR", (5, i), (5, i), GOOD if better else BAD)
    t = Table(data, colWidths=[110 * mm, 30 * mm, 20 * mm, 30 * mm, 22 * mm, 22 * mm], repeatRows=1)
    t.setStyle(styles)
    return [*flow, t]


def render_network(report: NetworkReport, path: Path) -> Path:
    """Write the network report to ``path`` (whole or not at all); stored text is made ``plain`` first and
    escaped where it becomes ``Paragraph`` markup (see ``render_scorecard``)."""
    report = dataclasses.replace(report, table=plain_frame(report.table))
    with whole_file(path) as partial:
        _build(report, partial)
    return path


def _build(report: NetworkReport, path: Path) -> None:
    as_of = report.data_as_of.isoformat() if report.data_as_of else "not recorded"
    practices = report.table["practice_code"].nunique()
    doc = SimpleDocTemplate(str(path), pagesize=PAGE, leftMargin=MARGIN, rightMargin=MARGIN, topMargin=MARGIN,
                            bottomMargin=MARGIN, title=f"Network report {report.period_label}", author="CareNet Desktop",
                            subject="Care-network quality report")
    cover = [Spacer(1, 30 * mm), Paragraph("Network quality report", STYLES["title"]),
             Paragraph(f"{practices} practices · period <b>{report.period_label}</b> · data as of <b>{as_of}</b> · "
                       f"produced {report.generated_at:%Y-%m-%d %H:%M}", STYLES["body"]), Spacer(1, 8 * mm),
             Paragraph("Practices are " + ("named." if report.named else "anonymised: each has a letter, the same "
                                           "throughout this report."), STYLES["body"])]
    story = [*cover, PageBreak(), *_matrix(report), *_funnels(report), *_flags(report)]
    doc.build(story, canvasmaker=canvas_class(f"Network report · {report.period_label}",
                                              "CareNet Desktop · aggregate figures; no patient identifiers"))
