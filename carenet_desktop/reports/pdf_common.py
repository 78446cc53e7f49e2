"""What every CareNet PDF shares: page size and margins, typography, colours, the running header and the
"Page X of Y" footer, table styling and the small vector charts (reportlab.graphics, so they print sharp)."""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from typing import Any
from xml.sax.saxutils import escape

import pandas as pd
from reportlab.graphics.shapes import Circle, Drawing, Line, PolyLine, Rect, String
from reportlab.lib import colors
from reportlab.lib.enums import TA_RIGHT
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import TableStyle

PAGE = landscape(A4)
MARGIN = 14 * mm
INK = colors.HexColor("#102a43")
MUTED = colors.HexColor("#627d98")
RULE = colors.HexColor("#d9e2ec")
ACCENT = colors.HexColor("#0f609b")
GOOD = colors.HexColor("#2f855a")
BAD = colors.HexColor("#c53030")
HEADER_FILL = colors.HexColor("#e8eef5")
ZEBRA = colors.HexColor("#f7f9fb")

_base = getSampleStyleSheet()
STYLES: dict[str, ParagraphStyle] = {
    "title": ParagraphStyle("title", parent=_base["Title"], fontName="Helvetica-Bold", fontSize=24, leading=30,
                            textColor=INK, alignment=0, spaceAfter=6),
    "h1": ParagraphStyle("h1", parent=_base["Heading1"], fontName="Helvetica-Bold", fontSize=15, leading=19,
                         textColor=INK, spaceBefore=2, spaceAfter=6),
    "h2": ParagraphStyle("h2", parent=_base["Heading2"], fontName="Helvetica-Bold", fontSize=11, leading=14,
                         textColor=INK, spaceBefore=6, spaceAfter=3),
    "body": ParagraphStyle("body", parent=_base["BodyText"], fontName="Helvetica", fontSize=9.5, leading=13,
                           textColor=INK),
    "small": ParagraphStyle("small", parent=_base["BodyText"], fontName="Helvetica", fontSize=7.5, leading=9.5,
                            textColor=MUTED),
    "cell": ParagraphStyle("cell", fontName="Helvetica", fontSize=8, leading=10, textColor=INK),
    "cell_right": ParagraphStyle("cell_right", fontName="Helvetica", fontSize=8, leading=10, textColor=INK,
                                 alignment=TA_RIGHT),
    "confidential": ParagraphStyle("confidential", fontName="Helvetica-Bold", fontSize=10, leading=13,
                                   textColor=BAD),
}


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_BREAKS = re.compile(r"[\t\n\r]")


def plain(value: Any) -> str:
    """Stored text made safe to draw: control characters (a NUL from an import...) become "?", tabs and
    line breaks spaces. For table cells, chart labels and the running header."""
    return _BREAKS.sub(" ", _CONTROL.sub("?", str(value)))


def markup(value: Any) -> str:
    """Stored text for a ``Paragraph``: ``plain`` and escaped, so a "<" or "&" in a name is shown, never read
    as reportlab markup (which fails the report, or reads an ``<img>`` from the disk)."""
    return escape(plain(value))


def plain_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy whose text cells are ``plain``: what every report flowable and chart label is made from."""
    out = frame.copy()
    for column in out.columns:
        if out[column].dtype == object or pd.api.types.is_string_dtype(out[column]):
            out[column] = out[column].map(lambda v: plain(v) if isinstance(v, str) else v)
    return out


def pct(value: Any, digits: int = 1) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return f"{float(value) * 100:.{digits}f}%"


def count(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return f"{int(value):,}"


def version_footnotes(rows: Sequence[dict[str, Any]]) -> tuple[dict[str, int], list[str]]:
    """A footnote per measure naming the version that computed its figures: ({measure: number}, the
    footnote lines in order). Rows carry ``version_label`` (see ``services.scorecard.version_labels``)."""
    numbers: dict[str, int] = {}
    lines: list[str] = []
    for row in rows:
        measure, label = str(row.get("measure")), row.get("version_label")
        if measure in numbers or not isinstance(label, str) or not label:
            continue
        numbers[measure] = len(numbers) + 1
        lines.append(f"<super>{numbers[measure]}</super> Computed with {markup(label)}.")
    return numbers, lines


def table_style(header_rows: int = 1) -> TableStyle:
    return TableStyle([
        ("FONT", (0, 0), (-1, header_rows - 1), "Helvetica-Bold", 8),
        ("FONT", (0, header_rows), (-1, -1), "Helvetica", 8),
        ("TEXTCOLOR", (0, 0), (-1, -1), INK),
        ("BACKGROUND", (0, 0), (-1, header_rows - 1), HEADER_FILL),
        ("ROWBACKGROUNDS", (0, header_rows), (-1, -1), [colors.white, ZEBRA]),
        ("LINEBELOW", (0, header_rows - 1), (-1, header_rows - 1), 0.6, MUTED),
        ("LINEBELOW", (0, -1), (-1, -1), 0.4, RULE),
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
        ("ALIGN", (1, 0), (-1, -1), "RIGHT"),
        ("TOPPADDING", (0, 0), (-1, -1), 2.5),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 2.5),
        ("REPEATROWS", (0, 0), (-1, header_rows - 1), None),
    ])


class NumberedCanvas(Canvas):
    """Defers each page so the footer can say "Page X of Y" (the total is known only at the end)."""

    header_text = ""
    footer_text = ""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._pages: list[dict[str, Any]] = []

    def showPage(self) -> None:  # noqa: N802 - reportlab API
        self._pages.append(dict(self.__dict__))
        self._startPage()

    def save(self) -> None:
        total = len(self._pages)
        for state in self._pages:
            self.__dict__.update(state)
            self._decorate(total)
            super().showPage()
        super().save()

    def _decorate(self, total: int) -> None:
        width, height = self._pagesize
        self.setFont("Helvetica", 7.5)
        self.setFillColor(MUTED)
        self.setStrokeColor(RULE)
        self.setLineWidth(0.5)
        if self._pageNumber > 1:
            self.drawString(MARGIN, height - MARGIN + 4 * mm, self.header_text)
            self.line(MARGIN, height - MARGIN + 2.5 * mm, width - MARGIN, height - MARGIN + 2.5 * mm)
        self.line(MARGIN, MARGIN - 4 * mm, width - MARGIN, MARGIN - 4 * mm)
        self.drawString(MARGIN, MARGIN - 8 * mm, self.footer_text)
        self.drawRightString(width - MARGIN, MARGIN - 8 * mm, f"Page {self._pageNumber} of {total}")


def canvas_class(header: str, footer: str) -> type[NumberedCanvas]:
    return type("ReportCanvas", (NumberedCanvas,), {"header_text": header, "footer_text": footer})


# ------------------------------------------------------------------------------------------- charts


def rate_bars(values: Sequence[tuple[str, float | None, bool]], width: float, height: float, *,
              target: float | None = None, network: float | None = None) -> Drawing:
    """Ranked horizontal bars of rates (label, rate, highlighted) with the network rate and target lines."""
    d = Drawing(width, height)
    rows = [(label, value, mine) for label, value, mine in values if value is not None and not math.isnan(float(value))]
    label_w, right = 70.0, 8.0
    plot_w = width - label_w - right
    if not rows:
        d.add(String(label_w, height / 2, "No rates", fontName="Helvetica", fontSize=7, fillColor=MUTED))
        return d
    bar_h = min(9.0, (height - 14) / len(rows))
    for i, (label, value, mine) in enumerate(rows):
        y = height - 10 - (i + 1) * bar_h
        d.add(Rect(label_w, y + 1, plot_w * float(value), bar_h - 2, fillColor=ACCENT if mine else RULE,
                   strokeColor=None))
        d.add(String(label_w - 3, y + 2, label[:16], fontName="Helvetica-Bold" if mine else "Helvetica",
                     fontSize=min(6.5, bar_h), fillColor=INK, textAnchor="end"))
    for mark, colour, name in ((network, MUTED, "network"), (target, GOOD, "target")):
        if mark is not None and not math.isnan(float(mark)):
            x = label_w + plot_w * float(mark)
            d.add(Line(x, 4, x, height - 8, strokeColor=colour, strokeWidth=1, strokeDashArray=[2, 2]))
            d.add(String(x, height - 7, name, fontName="Helvetica", fontSize=5.5, fillColor=colour, textAnchor="middle"))
    for tick in (0.0, 0.5, 1.0):
        d.add(String(label_w + plot_w * tick, 0, f"{tick * 100:.0f}%", fontName="Helvetica", fontSize=5.5,
                     fillColor=MUTED, textAnchor="middle"))
    return d


def trend_line(points: Sequence[float | None], width: float, height: float, *, target: float | None = None,
               labels: Sequence[str] = ()) -> Drawing:
    """A small line chart of rates over periods (None = no rate), with the target."""
    d = Drawing(width, height)
    d.add(Rect(0, 0, width, height, fillColor=None, strokeColor=RULE, strokeWidth=0.4))
    values = [p for p in points if p is not None and not math.isnan(p)]
    if len(values) < 1:
        d.add(String(width / 2, height / 2 - 3, "no trend", fontName="Helvetica", fontSize=6, fillColor=MUTED,
                     textAnchor="middle"))
        return d
    lo = max(0.0, min(values + ([target] if target is not None else [])) - 0.05)
    hi = min(1.0, max(values + ([target] if target is not None else [])) + 0.05)
    span = max(hi - lo, 0.05)
    n = max(len(points) - 1, 1)

    def xy(i: int, v: float) -> tuple[float, float]:
        return 4 + (width - 8) * i / n, 4 + (height - 8) * (v - lo) / span

    if target is not None and lo <= target <= hi:
        y = xy(0, target)[1]
        d.add(Line(4, y, width - 4, y, strokeColor=GOOD, strokeWidth=0.6, strokeDashArray=[2, 2]))
    coords: list[float] = []
    for i, p in enumerate(points):
        if p is None or math.isnan(p):
            continue
        coords.extend(xy(i, p))
    if len(coords) >= 4:
        d.add(PolyLine(coords, strokeColor=ACCENT, strokeWidth=1.1))
    for value in (lo, hi):  # the scale: the lowest and highest rate drawn
        d.add(String(6, xy(0, value)[1] + (1 if value == lo else -6), f"{value * 100:.0f}%", fontName="Helvetica",
                     fontSize=5.5, fillColor=MUTED))
    if labels:
        d.add(String(4, -7, labels[0], fontName="Helvetica", fontSize=5.5, fillColor=MUTED))
        d.add(String(width - 4, -7, labels[-1], fontName="Helvetica", fontSize=5.5, fillColor=MUTED, textAnchor="end"))
    d.add(Circle(coords[-2], coords[-1], 1.6, fillColor=ACCENT, strokeColor=None))
    return d


def funnel_plot(points: Sequence[tuple[str, float, float, int]], centre: float, width: float, height: float,
                *, target: float | None = None) -> Drawing:
    """Practices' rates against their denominators, with the network rate and its 95%/3σ limits.
    ``points``: (label, rate, denominator, flag) where flag is the scorecard's funnel_flag."""
    d = Drawing(width, height)
    left, bottom = 26.0, 14.0
    plot_w, plot_h = width - left - 6, height - bottom - 6
    if not points or math.isnan(centre):
        d.add(String(width / 2, height / 2, "No rates", fontName="Helvetica", fontSize=7, fillColor=MUTED,
                     textAnchor="middle"))
        return d
    n_max = max(p[2] for p in points) * 1.08 or 1.0
    rates = [p[1] for p in points]
    lo = max(0.0, min(rates + [centre]) - 0.15)
    hi = min(1.0, max(rates + [centre]) + 0.15)

    def xy(n: float, r: float) -> tuple[float, float]:
        return left + plot_w * n / n_max, bottom + plot_h * (min(max(r, lo), hi) - lo) / (hi - lo)

    d.add(Rect(left, bottom, plot_w, plot_h, fillColor=None, strokeColor=RULE, strokeWidth=0.4))
    for k, dash in ((1.959963984540054, [1, 2]), (3, [3, 2])):  # the 95% limits (the judgement's), 3σ
        for sign in (-1, 1):
            coords: list[float] = []
            for step in range(1, 61):
                n = n_max * step / 60
                limit = centre + sign * k * math.sqrt(max(centre * (1 - centre), 1e-9) / n)
                coords.extend(xy(n, limit))
            d.add(PolyLine(coords, strokeColor=BAD if k == 3 else MUTED, strokeWidth=0.6, strokeDashArray=dash))
    y = xy(0, centre)[1]
    d.add(Line(left, y, left + plot_w, y, strokeColor=MUTED, strokeWidth=0.8))
    if target is not None and lo <= target <= hi:
        ty = xy(0, target)[1]
        d.add(Line(left, ty, left + plot_w, ty, strokeColor=GOOD, strokeWidth=0.7, strokeDashArray=[2, 2]))
    for label, r, n, flag in points:
        x, yy = xy(n, r)
        colour = GOOD if flag > 0 else (BAD if flag < -2 else (colors.HexColor("#dd6b20") if flag < 0 else ACCENT))
        d.add(Circle(x, yy, 2.2, fillColor=colour, strokeColor=colors.white, strokeWidth=0.3))
        if label:
            d.add(String(x + 3, yy + 1.5, label, fontName="Helvetica", fontSize=5, fillColor=INK))
    for frac in (0.0, 0.5, 1.0):
        r = lo + (hi - lo) * frac
        d.add(String(left - 2, bottom + plot_h * frac - 2, f"{r * 100:.0f}%", fontName="Helvetica", fontSize=5.5,
                     fillColor=MUTED, textAnchor="end"))
    d.add(String(left + plot_w, 2, f"denominator (max {int(n_max):,})", fontName="Helvetica", fontSize=5.5,
                 fillColor=MUTED, textAnchor="end"))
    return d
