"""Measurement periods (inclusive calendar dates)."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

import pandas as pd


@dataclass(frozen=True, order=True)
class Period:
    start: dt.date
    end: dt.date  # inclusive

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise ValueError(f"Period end {self.end} is before its start {self.start}")

    @property
    def start_ts(self) -> pd.Timestamp:
        """First instant of the period."""
        return pd.Timestamp(self.start)

    @property
    def end_ts(self) -> pd.Timestamp:
        """Last instant of the period (end date 23:59:59.999999)."""
        return pd.Timestamp(self.end) + pd.Timedelta(days=1) - pd.Timedelta(microseconds=1)

    @property
    def end_exclusive(self) -> pd.Timestamp:
        return pd.Timestamp(self.end) + pd.Timedelta(days=1)

    @property
    def label(self) -> str:
        if self.start.month == 1 and self.start.day == 1 and self.end == dt.date(self.start.year, 12, 31):
            return str(self.start.year)
        return f"{self.start.isoformat()}..{self.end.isoformat()}"

    @classmethod
    def year(cls, year: int) -> Period:
        return cls(dt.date(year, 1, 1), dt.date(year, 12, 31))

    @classmethod
    def parse(cls, text: str) -> Period:
        """``2025``, ``2025-Q3``, ``2025-07`` or ``2025-01-01..2025-12-31``."""
        text = text.strip()
        if m := re.fullmatch(r"(\d{4})", text):
            return cls.year(int(m[1]))
        if m := re.fullmatch(r"(\d{4})-?Q([1-4])", text, re.IGNORECASE):
            y, q = int(m[1]), int(m[2])
            start = dt.date(y, 3 * q - 2, 1)
            end = (dt.date(y + (q == 4), (3 * q) % 12 + 1, 1)) - dt.timedelta(days=1)
            return cls(start, end)
        if m := re.fullmatch(r"(\d{4})-(\d{2})", text):
            y, mo = int(m[1]), int(m[2])
            start = dt.date(y, mo, 1)
            nxt = dt.date(y + (mo == 12), mo % 12 + 1, 1)
            return cls(start, nxt - dt.timedelta(days=1))
        if m := re.fullmatch(r"(\d{4}-\d{2}-\d{2})\s*\.\.\s*(\d{4}-\d{2}-\d{2})", text):
            return cls(dt.date.fromisoformat(m[1]), dt.date.fromisoformat(m[2]))
        raise ValueError(f"Not a period: {text!r} (use 2025, 2025-Q3, 2025-07 or 2025-01-01..2025-12-31)")


def calendar_years(first: int, last: int) -> list[Period]:
    return [Period.year(y) for y in range(first, last + 1)]


def quarters(year: int) -> list[Period]:
    return [Period.parse(f"{year}-Q{q}") for q in range(1, 5)]


def months(year: int) -> list[Period]:
    return [Period.parse(f"{year}-{m:02d}") for m in range(1, 13)]


def rolling_12_months(last_month_end: dt.date, count: int) -> list[Period]:
    """``count`` rolling 12-month periods, one ending at the end of each month, the last ending in
    the month of ``last_month_end``, oldest first (the points of a trend line)."""
    out: list[Period] = []
    year, month = last_month_end.year, last_month_end.month
    for _ in range(count):
        end = Period.parse(f"{year}-{month:02d}").end
        start_month = month % 12 + 1
        start_year = year - 1 if month != 12 else year
        out.append(Period(dt.date(start_year, start_month, 1), end))
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return out[::-1]
