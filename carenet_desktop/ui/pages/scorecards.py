"""Scorecards: each practice's quality measures for a period (the home screen once measures exist)."""

from __future__ import annotations

from .base import PlaceholderPage, Step


class ScorecardsPage(PlaceholderPage):
    page_id = "scorecards"
    title = "Scorecards"
    icon_name = "scorecards"
    tooltip = "Quality measures per practice and period"
    summary = (
        "How each practice is doing on the network's best-practice measures for a reporting period, "
        "compared with the network and with benchmarks."
    )
    will_hold = (
        "A practice picker and a period picker.",
        "One row per measure: rate with its interval, numerator and denominator, network rate, "
        "benchmark and target, a 12-month trend sparkline, and a clear good/bad colour "
        "(inverse measures such as ED visits count the other way).",
        "Drill into a measure: trend chart with control limits, comparison with every practice, "
        "an equity panel by race, ethnicity, language and payer, and the patients behind the numbers.",
    )
    steps = (
        Step("The practices and their patient counts are under Network. "
             "To see which measures the application knows, run:", "carenet measures"),
    )
