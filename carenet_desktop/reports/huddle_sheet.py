"""What a daily huddle sheet holds (``services.huddle`` gathers it, ``pdf_huddle`` renders it): plain data,
kept apart from the PDF writer so that the window's huddle page does not import reportlab until it prints."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Literal

Paper = Literal["letter", "a4"]
NO_PROVIDER = "No provider named"


@dataclass(frozen=True)
class HuddleGap:
    """One thing the child is missing, once however many measures count it, and why."""

    item: str  # "MenACWY dose 1", "blood lead test", "well-child visit"
    due_date: dt.date | None
    status: str  # overdue | upcoming | open
    measures: str  # "CMS117, IMA"
    why: str  # what the measures say is missing


@dataclass(frozen=True)
class HuddleVisit:
    """One scheduled visit and what it could close."""

    appointment_id: int
    start: dt.datetime
    minutes: int | None
    provider: str
    visit_type: str
    status: str
    patient_id: int
    mrn: str
    patient_name: str
    birth_date: dt.date | None
    language: str | None
    guardian: str | None
    phone: str | None
    gaps: tuple[HuddleGap, ...] = ()

    def age_label(self, on: dt.date) -> str:
        """``"4 mo"``, ``"18 mo"``, ``"6 y"``: months under two, years from two."""
        if self.birth_date is None:
            return ""
        months = (on.year - self.birth_date.year) * 12 + on.month - self.birth_date.month - (on.day < self.birth_date.day)
        return f"{months} mo" if months < 24 else f"{months // 12} y"


@dataclass(frozen=True)
class Huddle:
    practice_code: str
    practice_name: str
    day: dt.date
    period_label: str
    visits: tuple[HuddleVisit, ...]
    failures: dict[str, str] = field(default_factory=dict)  # measures that failed to evaluate

    @property
    def providers(self) -> list[str]:
        """The providers of the day, by their first visit."""
        return list(dict.fromkeys(v.provider for v in sorted(self.visits, key=lambda v: (v.start, v.provider))))

    def of_provider(self, provider: str) -> list[HuddleVisit]:
        return sorted((v for v in self.visits if v.provider == provider), key=lambda v: (v.start, v.patient_name))

    @property
    def gap_count(self) -> int:
        return sum(len(v.gaps) for v in self.visits)
