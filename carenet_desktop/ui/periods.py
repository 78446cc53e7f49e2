"""The periods the window offers (year, quarter, month, rolling 12 months) and the one default every page
starts on: the current measurement period (this calendar year) to date.

A period is chosen by its key, the text ``Period.parse`` reads (``2026``, ``2026-Q3``, ``2026-07``,
``2025-11-01..2026-10-31``), so the command line and the window name periods the same way.
"""

from __future__ import annotations

import datetime as dt

from ..metrics.period import Period, rolling_12_months

#: full calendar years offered before the current one
PAST_YEARS = 3
#: months offered (the current one and those before it)
MONTHS = 12


def key(period: Period) -> str:
    """The period's key (what ``Period.parse`` reads back)."""
    start, end = period.start, period.end
    if start.day == 1 and start.month == 1 and end == dt.date(start.year, 12, 31):
        return str(start.year)
    for q in range(1, 5):
        if Period.parse(f"{start.year}-Q{q}") == period:
            return f"{start.year}-Q{q}"
    if Period.parse(f"{start.year}-{start.month:02d}") == period:
        return f"{start.year}-{start.month:02d}"
    return f"{start.isoformat()}..{end.isoformat()}"


def default_period(today: dt.date | None = None) -> Period:
    """The current measurement period (this calendar year), to date: every page starts on it."""
    return Period.year((today or dt.date.today()).year)


def describe(period: Period, today: dt.date | None = None) -> str:
    """How the window names a period: "2026 (year to date)", "2025", "2026 Q3", "Jul 2026",
    "12 months to Oct 2026"; "(to date)" whenever the period has not ended yet."""
    today = today or dt.date.today()
    k = key(period)
    if k.isdigit():
        text = k
    elif "-Q" in k:
        text = k.replace("-Q", " Q")
    elif ".." not in k:
        text = f"{period.start:%b %Y}"
    elif (period.end - period.start).days in (364, 365) and period.start.day == 1:
        text = f"12 months to {period.end:%b %Y}"
    else:
        text = f"{period.start:%d %b %Y} – {period.end:%d %b %Y}"
    if period.start <= today < period.end:
        text += " (year to date)" if k.isdigit() else " (to date)"
    return text


def choices(today: dt.date | None = None) -> list[tuple[str, str]]:
    """(label, key) of every period offered, the default first: this year to date, the past years, the
    quarters of this year and the last, the last twelve months, and the rolling 12 months to the end of the
    last complete month."""
    today = today or dt.date.today()
    year = today.year
    periods = [Period.year(y) for y in range(year, year - PAST_YEARS - 1, -1)]
    periods += [Period.parse(f"{y}-Q{q}") for y in (year, year - 1) for q in range(4, 0, -1)
                if Period.parse(f"{y}-Q{q}").start <= today]
    month_starts = [(today.year * 12 + today.month - 1 - i) for i in range(MONTHS)]
    periods += [Period.parse(f"{m // 12}-{m % 12 + 1:02d}") for m in month_starts]
    last_complete = dt.date(today.year, today.month, 1) - dt.timedelta(days=1)
    periods += rolling_12_months(last_complete, 1)
    return [(describe(p, today), key(p)) for p in periods]
