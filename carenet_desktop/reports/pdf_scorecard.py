"""The practice scorecard PDF: cover, measure table, trend and distribution per measure, equity, care gaps.

Pure rendering: ``ScorecardReport`` holds figures the services computed; nothing here reads the store.
Patient names appear only in the optional internal patient list, which is marked confidential.
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
from reportlab.platypus import (
    KeepTogether,
    PageBreak,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
)

from ..metrics.judgement import LEGEND, Status, headline
from ..models.full_disk import whole_file
from .pdf_common import (
    BAD,
    GOOD,
    MARGIN,
    PAGE,
    STYLES,
    canvas_class,
    count,
    markup,
    pct,
    plain,
    plain_frame,
    rate_bars,
    table_style,
    trend_line,
    version_footnotes,
)


@dataclass
class ScorecardReport:
    practice_code: str
    practice_name: str
    period_label: str
    data_as_of: dt.date | None
    rows: pd.DataFrame  # the practice's scorecard rows (services.scorecard network_table columns)
    network: pd.DataFrame  # every practice's rows, ``label`` column already anonymised where needed
    trends: dict[tuple[str, int], list[float | None]] = field(default_factory=dict)
    trend_labels: list[str] = field(default_factory=list)
    equity: dict[str, pd.DataFrame] = field(default_factory=dict)  # stratum title -> rows
    patient_list: pd.DataFrame | None = None  # internal list (confidential); None = counts only
    generated_at: dt.datetime = field(default_factory=lambda: dt.datetime.now().replace(microsecond=0))
    #: measure id -> why its rolling 12-month rate behaves unusually (``Measure.rolling_note``), where it does
    rolling_notes: dict[str, str] = field(default_factory=dict)


def _verdict(row: Any) -> tuple[str, Any]:
    """The row's status (``metrics.judgement``, the same words as the window) and its colour."""
    value = row.get("status")
    state = Status(value) if isinstance(value, str) else Status.TOO_FEW
    return state.value, {"good": GOOD, "bad": BAD}.get(state.tone)


def _arrow(points: list[float | None], direction: str, note: str | None = None) -> str:
    if note:
        return "steps *"  # a step is a new intake cohort, not better or worse care
    values = [p for p in points if p is not None and not math.isnan(p)]
    if len(values) < 2:
        return "–"
    change = values[-1] - values[0]
    if abs(change) < 0.005:
        return "→ steady"
    better = change > 0 if direction != "decrease" else change < 0
    return ("↑ " if change > 0 else "↓ ") + ("better" if better else "worse")


def _name(row: Any) -> str:
    """The rate's name as ``Paragraph`` text (escaped: titles of network-defined measures are stored text)."""
    title = f"{row['measure']} {'↓' if row.get('direction') == 'decrease' else '↑'} {row['measure_title']}"
    return markup(title + (f" — {row['group_title']}" if row.get("group_title") else ""))


def _measure_table(report: ScorecardReport) -> Table:
    notes, _ = version_footnotes(report.rows.to_dict("records"))
    header = ["Measure", "Rate", "95% interval", "n / N", "Network", "Benchmark", "Target", "Trend", "Status"]
    data: list[list[Any]] = [header]
    styles = table_style()
    for i, row in enumerate(report.rows.to_dict("records"), start=1):
        verdict, colour = _verdict(row)
        key = (str(row["measure"]), int(row["group_index"]))
        source = " †" if row.get("source") not in (None, "computed") else ""
        if str(row["measure"]) in notes:
            source += f"<super>{notes[str(row['measure'])]}</super>"
        data.append([
            Paragraph(_name(row) + source, STYLES["cell"]),
            pct(row.get("rate")),
            f"{pct(row.get('ci_low'))} – {pct(row.get('ci_high'))}" if row.get("rate") is not None else "–",
            "fewer than 11" if row.get("suppressed") else f"{count(row.get('numerator'))} / {count(row.get('rate_base'))}",
            pct(row.get("network_rate")),
            pct(row.get("benchmark")),
            pct(row.get("target")),
            _arrow(report.trends.get(key, []), str(row.get("direction")), report.rolling_notes.get(key[0])),
            verdict,
        ])
        if colour is not None:
            styles.add("TEXTCOLOR", (8, i), (8, i), colour)
            styles.add("FONT", (8, i), (8, i), "Helvetica-Bold", 8)
    styles.add("ALIGN", (8, 0), (8, -1), "LEFT")
    widths = [82 * mm, 17 * mm, 28 * mm, 24 * mm, 17 * mm, 20 * mm, 15 * mm, 22 * mm, 34 * mm]
    table = Table(data, colWidths=widths, repeatRows=1)
    table.setStyle(styles)
    return table


def _measure_panels(report: ScorecardReport) -> list[Any]:
    """Per measure: the trend (rolling 12 months) and where the practice sits among all practices."""
    flow: list[Any] = []
    width = (PAGE[0] - 2 * MARGIN - 8 * mm) / 2
    for row in report.rows.to_dict("records"):
        key = (str(row["measure"]), int(row["group_index"]))
        others = report.network[(report.network["measure"] == key[0]) & (report.network["group_index"] == key[1])]
        bars = [(str(r["label"]), r["rate"], r["practice_code"] == report.practice_code)
                for r in others.sort_values("rate", ascending=False).to_dict("records")]
        trend = trend_line(report.trends.get(key, []), width * 0.45, 34 * mm, target=row.get("target"),
                           labels=report.trend_labels)
        distribution = rate_bars(bars, width * 0.55, 34 * mm, target=row.get("target"),
                                 network=row.get("network_rate"))
        title = Paragraph(f"<b>{_name(row)}</b> — {pct(row.get('rate'))} "
                          f"({count(row.get('numerator'))} of {count(row.get('rate_base'))})", STYLES["cell"])
        caption = Paragraph("Left: rate over the rolling 12 months ending each month"
                            + (f" ({report.trend_labels[0]} – {report.trend_labels[-1]})" if report.trend_labels else "")
                            + ", target dashed. Right: every practice of the network, this one highlighted."
                            + (f" <b>Why the trend moves in steps:</b> {report.rolling_notes[key[0]]}"
                               if report.rolling_notes.get(key[0]) else ""),
                            STYLES["small"])
        cell = Table([[title], [Table([[trend, distribution]], colWidths=[width * 0.45, width * 0.55])], [caption]],
                     colWidths=[width])
        cell.setStyle([("LEFTPADDING", (0, 0), (-1, -1), 0), ("RIGHTPADDING", (0, 0), (-1, -1), 0)])
        flow.append(cell)
    pairs = [flow[i:i + 2] + ([""] if len(flow[i:i + 2]) == 1 else []) for i in range(0, len(flow), 2)]
    grid = []
    for pair in pairs:
        t = Table([pair], colWidths=[width + 4 * mm, width + 4 * mm])
        t.setStyle([("VALIGN", (0, 0), (-1, -1), "TOP"), ("BOTTOMPADDING", (0, 0), (-1, -1), 6)])
        grid.append(KeepTogether(t))
    return grid


def _equity(report: ScorecardReport) -> list[Any]:
    flow: list[Any] = [Paragraph("Equity: results by payer, race, ethnicity and language", STYLES["h1"]),
                       Paragraph("Each group's rate with its 95% interval and the gap to the best-served group of the "
                                 "same stratum; <font color='#c53030'>red</font>: a gap beyond chance (intervals do "
                                 "not overlap). Groups of fewer than 11 are shown as “fewer than 11” and not ranked.", STYLES["body"]),
                       Spacer(1, 4)]
    for title, frame in report.equity.items():
        if frame.empty:
            continue
        data: list[list[Any]] = [["Measure", title, "Rate", "95% interval", "n / N", "Gap to best"]]
        styles = table_style()
        for i, r in enumerate(frame.to_dict("records"), start=1):
            small = bool(r.get("small")) or (r.get("rate_base") is not None and 0 < int(r["rate_base"]) < 11)
            data.append([r["measure"], str(r["value_title"]), "–" if small else pct(r.get("rate")),
                         "" if small else f"{pct(r.get('ci_low'))} – {pct(r.get('ci_high'))}",
                         "fewer than 11" if small else f"{count(r.get('numerator'))} / {count(r.get('rate_base'))}",
                         "not ranked" if small else ("best" if r.get("gap") == 0 else
                                                     f"{float(r.get('gap') or 0) * 100:.1f} pts")])
            if r.get("significant") and not small:
                styles.add("TEXTCOLOR", (5, i), (5, i), BAD)
        styles.add("ALIGN", (1, 0), (1, -1), "LEFT")
        table = Table(data, colWidths=[22 * mm, 70 * mm, 20 * mm, 32 * mm, 26 * mm, 24 * mm], repeatRows=1)
        table.setStyle(styles)
        flow += [Paragraph(markup(title), STYLES["h2"]), table, Spacer(1, 6)]
    return flow


def _gaps(report: ScorecardReport) -> list[Any]:
    data: list[list[Any]] = [["Measure", "In the rate", "Met", "Care gaps", "Share open"]]
    for r in report.rows.to_dict("records"):
        if r.get("source") not in (None, "computed") or r.get("direction") == "decrease":
            continue
        base, met = int(r.get("rate_base") or 0), int(r.get("numerator") or 0)
        data.append([Paragraph(_name(r), STYLES["cell"]), count(base), count(met), count(base - met),
                     pct((base - met) / base) if base else "–"])
    table = Table(data, colWidths=[120 * mm, 26 * mm, 22 * mm, 24 * mm, 24 * mm], repeatRows=1)
    table.setStyle(table_style())
    flow: list[Any] = [Paragraph("Care gaps", STYLES["h1"]),
                       Paragraph("Children (or episodes) in each rate who do not meet it yet: counts only. The "
                                 "worklist with names is in the application (Care gaps) or `carenet gaps`.",
                                 STYLES["body"]), Spacer(1, 4), table]
    if report.patient_list is not None:
        flow += [PageBreak(), Paragraph("CONFIDENTIAL — internal patient list, contains protected health "
                                        "information. Do not send outside the practice.", STYLES["confidential"]),
                 Spacer(1, 4)]
        frame = report.patient_list
        rows = [list(frame.columns)] + [[str(v) for v in r] for r in frame.itertuples(index=False)]
        table = Table(rows, repeatRows=1)
        table.setStyle(table_style())
        flow.append(table)
    return flow


def render_scorecard(report: ScorecardReport, path: Path) -> Path:
    """Write the scorecard PDF to ``path`` (whole or not at all: a full disk leaves no half-written file).

    Stored text (names, titles, the patient list) may hold control characters or "<" and "&": it is made
    ``plain`` here and escaped where it becomes ``Paragraph`` markup."""
    report = dataclasses.replace(
        report, practice_code=plain(report.practice_code), practice_name=plain(report.practice_name),
        rows=plain_frame(report.rows), network=plain_frame(report.network),
        equity={plain(k): plain_frame(v) for k, v in report.equity.items()},
        patient_list=None if report.patient_list is None else plain_frame(report.patient_list))
    with whole_file(path) as partial:
        _build(report, partial)
    return path


def _build(report: ScorecardReport, path: Path) -> None:
    as_of = report.data_as_of.isoformat() if report.data_as_of else "not recorded"
    doc = SimpleDocTemplate(str(path), pagesize=PAGE, leftMargin=MARGIN, rightMargin=MARGIN, topMargin=MARGIN,
                            bottomMargin=MARGIN, title=f"Scorecard {report.practice_code} {report.period_label}",
                            author="CareNet Desktop", subject="Quality scorecard")
    cover = [
        Spacer(1, 30 * mm),
        Paragraph("Quality scorecard", STYLES["title"]),
        Paragraph(f"{markup(report.practice_name)} ({markup(report.practice_code)})", STYLES["h1"]),
        Paragraph(f"Measurement period: <b>{report.period_label}</b> · data as of <b>{as_of}</b> · "
                  f"produced {report.generated_at:%Y-%m-%d %H:%M}", STYLES["body"]),
        Spacer(1, 10 * mm),
        Paragraph(f"{len(report.rows)} rates. Network rate: all practices pooled. Benchmark: the Achievable "
                  "Benchmark of Care (the pooled rate of the best practices covering at least 10% of the network's "
                  "patients) where it applies, otherwise the 90th percentile. Rates of lower-is-better measures "
                  "meet their target when at or below it. † figures reported by the practice (paper log or "
                  "submission) rather than computed.", STYLES["body"]),
    ]
    if "status" in report.rows and len(report.rows):
        cover.append(Spacer(1, 6 * mm))
        cover.append(Paragraph(headline(report.rows["status"]), STYLES["h2"]))
    cover.append(Paragraph(LEGEND, STYLES["small"]))
    _, footnotes = version_footnotes(report.rows.to_dict("records"))
    story: list[Any] = [*cover, PageBreak(), Paragraph("Measures", STYLES["h1"]), _measure_table(report),
                        Spacer(1, 3), Paragraph("↑ higher is better, ↓ lower is better. " + LEGEND, STYLES["small"]),
                        *[Paragraph(f"* {m}: {report.rolling_notes[m]}", STYLES["small"])
                          for m in dict.fromkeys(str(x) for x in report.rows["measure"]) if report.rolling_notes.get(m)],
                        *[Paragraph(line, STYLES["small"]) for line in footnotes],
                        PageBreak(),
                        Paragraph("Trend and comparison with the network", STYLES["h1"]), *_measure_panels(report)]
    if report.equity:
        story += [PageBreak(), *_equity(report)]
    story += [PageBreak(), *_gaps(report)]
    canvas = canvas_class(f"{report.practice_name} · scorecard {report.period_label}",
                          "CareNet Desktop · aggregate figures; no patient identifiers"
                          if report.patient_list is None else "CONFIDENTIAL: contains an internal patient list")
    doc.build(story, canvasmaker=canvas)
