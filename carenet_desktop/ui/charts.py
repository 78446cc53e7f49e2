"""Charts of a measure rate (pyqtgraph ``PlotWidget`` subclasses) and the scorecard's sparkline delegate.

Charts draw arrays the services computed (``services.measure_detail``): rates, intervals, p-chart and
funnel limits are never recomputed here. Rates are plotted as fractions; the axes print percentages.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QFont, QFontMetrics
from PySide6.QtWidgets import QWidget

from ..services.measure_detail import PracticeComparison, TrendSeries

RATE = QColor("#0b6e99")
NETWORK = QColor("#7b8794")
TARGET = QColor("#2f8f4e")
LIMIT3 = QColor("#c0392b")
LIMIT2 = QColor("#e59866")
GOOD = QColor("#2f8f4e")
BAD = QColor("#c0392b")
NEUTRAL = QColor("#52606d")

class PercentAxis(pg.AxisItem):
    """Fractions printed as percentages."""

    def tickStrings(self, values: Sequence[float], scale: float, spacing: float) -> list[str]:
        decimals = 0 if spacing >= 0.01 else 1
        return [f"{v * 100:.{decimals}f}%" for v in values]


class LabelAxis(pg.AxisItem):
    """An axis of points 0..n-1 named by labels (months), thinned to fit."""

    def __init__(self, orientation: str = "bottom") -> None:
        super().__init__(orientation)
        self.labels: list[str] = []
        self.spacing_px = 70 if orientation in ("bottom", "top") else 18  # room one label needs

    def tickValues(self, minVal: float, maxVal: float, size: float) -> list[tuple[float, list[float]]]:  # noqa: N803
        if not self.labels:
            return super().tickValues(minVal, maxVal, size)
        step = max(1, int(np.ceil(len(self.labels) * self.spacing_px / max(size, 1))))
        return [(float(step), [float(i) for i in range(len(self.labels) - 1, -1, -step)])]

    def tickStrings(self, values: Sequence[float], scale: float, spacing: float) -> list[str]:
        out = []
        for v in values:
            i = int(round(v))
            out.append(self.labels[i] if 0 <= i < len(self.labels) and abs(v - i) < 1e-6 else "")
        return out


def _chart_style(widget: pg.PlotWidget, y_label: str, x_label: str) -> None:
    widget.setBackground("w")
    item = widget.getPlotItem()
    item.showGrid(x=False, y=True, alpha=0.15)
    item.setMenuEnabled(False)
    item.hideButtons()
    for side in ("left", "bottom"):
        axis = item.getAxis(side)
        axis.setPen(pg.mkPen("#9aa5b1"))
        axis.setTextPen(pg.mkPen("#334e68"))
        axis.enableAutoSIPrefix(False)  # rates are fractions printed as percentages, not "x0.001"
    item.setLabel("left", y_label, color="#334e68")
    item.setLabel("bottom", x_label, color="#334e68")
    # one row (at most six entries): a legend of two rows covered the top of the data at 150% scaling
    legend = item.addLegend(offset=(10, 6), labelTextColor="#334e68", brush=pg.mkBrush(255, 255, 255, 230),
                            pen=pg.mkPen("#d9e2ec"), colCount=6)
    legend.setZValue(20)
    widget.setMouseEnabled(x=False, y=False)


class TrendChart(pg.PlotWidget):
    """A practice's rate over rolling 12-month periods: the rate with its interval, the network rate, the
    target, and the p-chart centre line with 2σ/3σ limits (which move with each point's denominator)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        self.month_axis = LabelAxis("bottom")
        super().__init__(parent, axisItems={"left": PercentAxis("left"), "bottom": self.month_axis})
        self.setObjectName("trendChart")
        self.setAccessibleName("Trend of the rate over rolling 12-month periods")
        _chart_style(self, "Rate", "Rolling 12 months ending")
        self.series: TrendSeries | None = None
        self.interval = pg.ErrorBarItem(pen=pg.mkPen(RATE, width=1))
        self.addItem(self.interval)
        self.upper3 = self.plot(name="3σ limits", pen=pg.mkPen(LIMIT3, width=1.5, style=Qt.PenStyle.DashLine))
        self.lower3 = self.plot(pen=pg.mkPen(LIMIT3, width=1.5, style=Qt.PenStyle.DashLine))
        self.upper2 = self.plot(name="2σ limits", pen=pg.mkPen(LIMIT2, width=1, style=Qt.PenStyle.DotLine))
        self.lower2 = self.plot(pen=pg.mkPen(LIMIT2, width=1, style=Qt.PenStyle.DotLine))
        self.centre = self.plot(name="Centre (practice mean)", pen=pg.mkPen(NEUTRAL, width=1))
        self.network = self.plot(name="Network", pen=pg.mkPen(NETWORK, width=2, style=Qt.PenStyle.DashLine))
        self.target = self.plot(name="Target", pen=pg.mkPen(TARGET, width=2))
        self.rate = self.plot(name="This practice", pen=pg.mkPen(RATE, width=3), symbol="o", symbolSize=8,
                              symbolBrush=RATE, symbolPen=pg.mkPen("w"))
        self.version_lines: list[pg.InfiniteLine] = []

    def set_series(self, series: TrendSeries) -> None:
        self.series = series
        x = series.x
        self.month_axis.labels = series.labels
        self.rate.setData(x, series.rate, connect="finite")
        ok = ~np.isnan(series.rate)
        self.interval.setData(x=x[ok], y=series.rate[ok], top=(series.ci_high - series.rate)[ok],
                              bottom=(series.rate - series.ci_low)[ok], beam=0.15)
        self.network.setData(x, series.network_rate, connect="finite")
        for curve, values in ((self.upper3, series.upper3), (self.lower3, series.lower3),
                              (self.upper2, series.upper2), (self.lower2, series.lower2)):
            curve.setData(x, values, connect="finite")
        self.centre.setData(x, np.full(len(x), series.centre))
        _show_target(self, self.target, x, series.target)
        self._mark_version_breaks(series)
        self.setXRange(-0.5, max(len(x) - 0.5, 0.5), padding=0)
        self._fit_y([series.rate, series.ci_low, series.ci_high, series.network_rate, series.upper3, series.lower3,
                     np.array([series.target if series.target is not None else np.nan])])

    def _mark_version_breaks(self, series: TrendSeries) -> None:
        """A labelled vertical line before the first point a new measure version computed: the points on
        either side are not computed by the same logic."""
        for line in self.version_lines:
            self.removeItem(line)
        self.version_lines = []
        for index, version in series.version_breaks:
            line = pg.InfiniteLine(pos=index - 0.5, angle=90, movable=False,
                                   pen=pg.mkPen(NEUTRAL, width=1.5, style=Qt.PenStyle.DashDotLine),
                                   label=f"version {version}", labelOpts={"position": 0.92, "color": NEUTRAL})
            line.setToolTip(f"From here the measure is computed with version {version} "
                            f"(before: {series.versions[index - 1]})")
            self.addItem(line)
            self.version_lines.append(line)

    def _fit_y(self, arrays: list[np.ndarray]) -> None:
        values = np.concatenate([np.asarray(a, dtype=float).ravel() for a in arrays])
        values = values[np.isfinite(values)]
        low, high = (float(values.min()), float(values.max())) if values.size else (0.0, 1.0)
        pad = max((high - low) * 0.08, 0.02)
        self.setYRange(max(0.0, low - pad), high + 3 * pad, padding=0)  # headroom for the legend


def _show_target(chart: pg.PlotWidget, curve: pg.PlotDataItem, x: np.ndarray, target: float | None) -> None:
    """The target line, listed in the legend only when there is a target."""
    legend = chart.getPlotItem().legend
    legend.removeItem(curve)
    if target is None:
        curve.setData([], [])
        return
    curve.setData(x, np.full(len(x), target))
    legend.addItem(curve, "Target")


class FunnelChart(pg.PlotWidget):
    """Every practice's rate against its denominator, inside the 2σ/3σ funnel around the network rate.

    Points beyond a limit are coloured in the measure's direction (green better, red worse); the
    practices the user may see are labelled by name, the others only by their anonymous letter."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent, axisItems={"left": PercentAxis("left")})
        self.setObjectName("funnelChart")
        self.setAccessibleName("Funnel plot of every practice's rate against its denominator")
        _chart_style(self, "Rate", "Denominator (patients or episodes in the rate)")
        self.comparison: PracticeComparison | None = None
        self.upper3 = self.plot(name="3σ limits", pen=pg.mkPen(LIMIT3, width=1.5, style=Qt.PenStyle.DashLine))
        self.lower3 = self.plot(pen=pg.mkPen(LIMIT3, width=1.5, style=Qt.PenStyle.DashLine))
        self.upper2 = self.plot(name="2σ limits", pen=pg.mkPen(LIMIT2, width=1, style=Qt.PenStyle.DotLine))
        self.lower2 = self.plot(pen=pg.mkPen(LIMIT2, width=1, style=Qt.PenStyle.DotLine))
        self.network = self.plot(name="Network", pen=pg.mkPen(NETWORK, width=2, style=Qt.PenStyle.DashLine))
        self.target = self.plot(name="Target", pen=pg.mkPen(TARGET, width=2))
        self.points = pg.ScatterPlotItem(size=11, pen=pg.mkPen("w"), brush=pg.mkBrush(RATE), name="Practices")
        self.addItem(self.points)
        self._labels: list[pg.TextItem] = []

    def set_comparison(self, comparison: PracticeComparison) -> None:
        self.comparison = comparison
        n = comparison.funnel_n
        for curve, values in ((self.upper3, comparison.upper3), (self.lower3, comparison.lower3),
                              (self.upper2, comparison.upper2), (self.lower2, comparison.lower2)):
            curve.setData(n, values, connect="finite")
        self.network.setData(n, np.full(len(n), comparison.network_rate))
        _show_target(self, self.target, n, comparison.target)
        table = comparison.table
        base = table["rate_base"].to_numpy(dtype=float)
        rate = table["rate"].to_numpy(dtype=float)
        brushes = [pg.mkBrush(_position_colour(p, comparison.direction)) for p in table["position"]]
        ok = ~np.isnan(rate)
        self.points.setData(x=base[ok], y=rate[ok], brush=[b for b, k in zip(brushes, ok, strict=True) if k],
                            data=list(table["label"][ok]), symbol=["s" if named else "o" for named in table["named"][ok]])
        for label in self._labels:
            self.removeItem(label)
        self._labels = []
        for x, y, text, code, named in zip(base[ok], rate[ok], table["label"][ok], table["practice_code"][ok],
                                           table["named"][ok], strict=True):
            item = pg.TextItem(str(code) if named else str(text).removeprefix("Practice "),
                               color="#102a43" if named else "#52606d", anchor=(-0.15, 0.5))
            item.setPos(float(x), float(y))
            self.addItem(item)
            self._labels.append(item)
        self.setXRange(0, float(n.max()) if len(n) else 1.0, padding=0.02)
        smallest = float(base[ok].min()) if ok.any() else 1.0
        window = n >= max(smallest, 1.0) * 0.9  # the limits where practices are, not at n = 1
        values = np.concatenate([rate[ok], comparison.lower3[window], comparison.upper3[window],
                                 np.array([comparison.network_rate])])
        values = values[np.isfinite(values)]
        low, high = (float(values.min()), float(values.max())) if values.size else (0.0, 1.0)
        pad = max((high - low) * 0.08, 0.02)
        self.setYRange(max(0.0, low - pad), high + 3 * pad, padding=0)  # headroom for the legend


def _position_colour(position: str, direction: str) -> QColor:
    if position.startswith("above"):
        return GOOD if direction == "increase" else BAD
    if position.startswith("below"):
        return BAD if direction == "increase" else GOOD
    return RATE


#: the widest the equity chart's group labels may be (px)
LABEL_WIDTH = 260


class EquityChart(pg.PlotWidget):
    """Each stratum value's rate with its interval, one row per value, grouped by stratum; the best-served
    value of each stratum is marked."""

    def __init__(self, parent: QWidget | None = None) -> None:
        self.value_axis = LabelAxis("left")
        super().__init__(parent, axisItems={"bottom": PercentAxis("bottom"), "left": self.value_axis})
        self.setObjectName("equityChart")
        self.setAccessibleName("Rates by payer, race, ethnicity, language, sex and age band")
        _chart_style(self, "", "Rate (with 95% interval)")
        self.getPlotItem().legend.setVisible(False)
        self.interval = pg.ErrorBarItem(pen=pg.mkPen(NEUTRAL, width=1.5))
        self.addItem(self.interval)
        self.points = pg.ScatterPlotItem(size=9, pen=pg.mkPen("w"))
        self.addItem(self.points)
        self.y: np.ndarray = np.array([])
        self._strata_items: list[pg.GraphicsObject] = []

    def set_rows(self, rows: list[dict[str, Any]]) -> None:
        """``rows``: the equity table's records (stratum_title, value_title, rate, ci_low, ci_high, gap, significant)."""
        n = len(rows)
        self.y = np.arange(n, dtype=float)[::-1]
        metrics = QFontMetrics(self.value_axis.style.get("tickFont") or QFont())
        # a label wider than the axis is not drawn at all: the longest are shortened instead of dropped
        self.value_axis.labels = [metrics.elidedText(str(r["value_title"]), Qt.TextElideMode.ElideRight,
                                                     LABEL_WIDTH - 16) for r in rows][::-1]
        widest = max((metrics.horizontalAdvance(label) for label in self.value_axis.labels), default=80)
        self.value_axis.setWidth(min(widest + 16, LABEL_WIDTH))
        for item in self._strata_items:
            self.removeItem(item)
        self._strata_items = []
        for i, r in enumerate(rows):  # each stratum's name above its first row, a rule between strata
            if i == 0 or rows[i - 1]["stratum"] != r["stratum"]:
                y = float(self.y[i])
                title = pg.TextItem(str(r["stratum_title"]).upper(), color="#627d98", anchor=(1.0, 0.5),
                                    fill=pg.mkBrush(255, 255, 255, 230))  # legible over a long interval
                title.setPos(1.3, y)
                self.addItem(title)
                self._strata_items.append(title)
                if i:
                    rule = pg.InfiniteLine(pos=y + 0.5, angle=0, pen=pg.mkPen("#d9e2ec"))
                    self.addItem(rule)
                    self._strata_items.append(rule)
            if r.get("small"):  # fewer than 11: no dot, never ranked
                note = pg.TextItem("fewer than 11", color="#9aa5b1", anchor=(0.0, 0.5))
                note.setPos(0.0, float(self.y[i]))
                self.addItem(note)
                self._strata_items.append(note)
        shown = [i for i, r in enumerate(rows) if not r.get("small")]
        rate = np.array([_nan(rows[i].get("rate")) for i in shown], dtype=float)
        low = np.array([_nan(rows[i].get("ci_low")) for i in shown], dtype=float)
        high = np.array([_nan(rows[i].get("ci_high")) for i in shown], dtype=float)
        ys = self.y[shown] if shown else np.array([])
        self.interval.setData(x=rate, y=ys, left=rate - low, right=high - rate, beam=0.2)
        brushes = [pg.mkBrush(GOOD if rows[i].get("gap") == 0 else (BAD if rows[i].get("significant") else RATE))
                   for i in shown]
        self.points.setData(x=rate, y=ys, brush=brushes)
        self.setMinimumHeight(70 + 20 * n)  # every group's label fits (the page scrolls)
        self.setYRange(-0.7, max(n - 0.3, 0.3), padding=0)
        self.setXRange(0.0, 1.3, padding=0.02)  # the stratum names sit right of 100%


def _nan(value: Any) -> float:
    return float("nan") if value is None else float(value)
