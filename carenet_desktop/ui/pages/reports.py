"""Reports: PDF and spreadsheet output of the computed measures."""

from __future__ import annotations

from .base import PlaceholderPage, Step


class ReportsPage(PlaceholderPage):
    page_id = "reports"
    title = "Reports"
    icon_name = "reports"
    tooltip = "Printable scorecards and the network submission"
    summary = "Scorecards to print or share, and the periodic export a practice sends to the network office."
    will_hold = (
        "Practice and network scorecards as PDF, and the underlying numbers as a spreadsheet.",
        "The network submission package for a period, and FHIR MeasureReports.",
    )
    steps = (
        Step("Reports are produced from measure results. List the measures with:", "carenet measures"),
    )
