"""What the measure detail view shows, apart from the view itself (the scorecard names it before the view,
with its charts, is built)."""

from __future__ import annotations

from dataclasses import dataclass

from ...metrics.catalogue import Catalogue
from ...metrics.period import Period

#: the detail view's splitters whose positions are remembered
SPLITTERS = ("practices", "equity")


@dataclass(frozen=True)
class MeasureKey:
    """What the detail view shows: one rate of one practice in one period."""

    measure_id: str
    group_index: int
    practice_code: str
    period: Period
    visible_codes: frozenset[str] = frozenset()  # practices named in comparisons (the others anonymised)

    def title_in(self, catalogue: Catalogue) -> str:
        """The rate's title, e.g. "CMS117 · Childhood Immunization Status", with its group's when it has several."""
        measure = catalogue.get(self.measure_id)
        group = measure.groups[self.group_index].title if len(measure.groups) > 1 else ""
        return f"{self.measure_id} · {measure.title}" + (f" — {group}" if group else "")
