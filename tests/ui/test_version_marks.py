"""The window says which measure version made a figure: the trend chart marks a version break, the
scorecard's measure tooltip names the version."""

from __future__ import annotations

import datetime as dt

import numpy as np
from PySide6.QtCore import QPointF

from carenet_desktop.services.measure_detail import TrendSeries
from carenet_desktop.ui.charts import TrendChart
from carenet_desktop.ui.itemmodels.scorecard import ScorecardTableModel


def _series(versions: list[str]) -> TrendSeries:
    n = len(versions)
    ones = np.full(n, 0.5)
    return TrendSeries(
        period_ends=[dt.date(2025, 9 + i, 28) if 9 + i <= 12 else dt.date(2026, i - 3, 28) for i in range(n)],
        numerator=np.full(n, 5.0), base=np.full(n, 10.0), rate=ones, ci_low=ones - 0.1, ci_high=ones + 0.1,
        network_rate=ones, centre=0.5, lower3=ones - 0.3, upper3=ones + 0.3, lower2=ones - 0.2, upper2=ones + 0.2,
        target=None, direction="increase", versions=versions)


def test_the_trend_chart_marks_where_the_version_changes(qtbot) -> None:  # type: ignore[no-untyped-def]
    chart = TrendChart()
    qtbot.addWidget(chart)
    chart.set_series(_series(["0.1.000"] * 4 + ["0.3.000"] * 2))
    assert [line.value() for line in chart.version_lines] == [3.5]
    assert "0.3.000" in chart.version_lines[0].label.toPlainText()
    chart.set_series(_series(["0.1.001"] * 6))  # one version: no mark, and the old one is gone
    assert chart.version_lines == []


def test_the_measure_tooltip_names_the_version(qtbot) -> None:  # type: ignore[no-untyped-def]
    model = ScorecardTableModel()
    row = {"measure": "CMS117", "group_index": 0, "group_title": "", "numerator": 1, "rate_base": 2, "rate": 0.5,
           "version_label": "CMS117 0.3.000 (2026 onward; QI-Core 6.0.0)"}
    model.set_rows([row], lambda _m: "<p>Childhood Immunization Status</p>")
    tip = model.data(model.index(0, 0), 3)  # ToolTipRole
    assert "Computed with</b> CMS117 0.3.000 (2026 onward; QI-Core 6.0.0)" in tip


def test_the_legend_leaves_the_data_visible(qtbot) -> None:  # type: ignore[no-untyped-def]
    """Issue 23's pictures at 150%: the legend sat over the top of the 3σ limits and the intervals. Every
    point, interval end and limit lies below the legend at the trend tab's size."""
    chart = TrendChart()
    qtbot.addWidget(chart)
    chart.resize(960, 330)  # the trend tab at 1280×720 logical pixels (1920×1080 at 150%)
    chart.show()
    series = _series(["0.1.000"] * 12)
    series.upper3[:], series.ci_high[:] = 0.58, 0.56  # as CMS136 at P001 in 2025: tall intervals near 0
    series.rate[:], series.ci_low[:], series.lower3[:], series.lower2[:] = 0.0, 0.0, 0.0, 0.0
    chart.set_series(series)
    qtbot.waitExposed(chart)
    qtbot.wait(50)
    item = chart.getPlotItem()
    legend = item.legend.sceneBoundingRect()
    view = item.getViewBox()
    top = max(float(series.upper3.max()), float(series.ci_high.max()), float(series.rate.max()))
    highest = view.mapViewToScene(QPointF(0.0, top))
    assert highest.y() > legend.bottom(), (highest.y(), legend.bottom())
