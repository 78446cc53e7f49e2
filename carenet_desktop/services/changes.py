"""What a service changed, as a typed value: the window turns it into one notice and pages subscribe by area.

A service that writes returns (or carries on its result) a :class:`Change`. The window emits it once;
each page names the areas it shows (:attr:`Area`) and refreshes when a change touches one of them. The
numbers themselves never depend on a notice being sent — every cache is keyed on the store's change
journal (``models.changes``) — a notice only tells a screen that what it shows is out of date now.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from ..metrics.period import Period


class Area(enum.Enum):
    """The kinds of thing a user can change."""

    PATIENTS = "patients"  # demographics, attribution, contacts
    EVENTS = "events"  # visits, immunizations, diagnoses, observations, procedures, medications
    REFERRALS = "referrals"  # referrals and their closed-loop steps
    CARE_ACTIVITIES = "care_activities"  # care coordination, outreach
    AGGREGATES = "aggregates"  # figures entered without patient detail
    IMPORTS = "imports"  # the import history (an import or its undo also changes the data it wrote)
    PRACTICES = "practices"  # practices, providers, submissions received by the office
    VALUESETS = "valuesets"  # value-set expansions and the code catalogue
    MEASURES = "measures"  # measure definitions and targets
    USERS = "users"  # accounts and grants
    SCHEDULE = "schedule"  # appointments (no measure reads them: the worklist's next visit, the huddle)
    STORE = "store"  # the whole store was replaced (restore, a new demo): everything

    @classmethod
    def measured(cls) -> frozenset[Area]:
        """The areas every measure result depends on: a change here changes numbers."""
        return frozenset(set(cls) - {cls.IMPORTS, cls.USERS, cls.SCHEDULE})


@dataclass(frozen=True)
class Change:
    """What one operation changed. ``practices``/``periods`` empty means "any" (not known, or all)."""

    areas: frozenset[Area]
    practices: frozenset[int] = field(default_factory=frozenset)
    periods: frozenset[Period] = field(default_factory=frozenset)

    @classmethod
    def of(cls, *areas: Area, practices: Iterable[int] = (), periods: Iterable[Period] = ()) -> Change:
        return cls(frozenset(areas), frozenset(practices), frozenset(periods))

    @classmethod
    def everything(cls) -> Change:
        return cls(frozenset(Area))

    @classmethod
    def nothing(cls) -> Change:
        return cls(frozenset())

    def __bool__(self) -> bool:
        return bool(self.areas)

    def touches(self, watched: Iterable[Area]) -> bool:
        """Whether a screen showing ``watched`` must refresh (a replaced store touches every screen)."""
        return Area.STORE in self.areas or bool(self.areas & frozenset(watched))

    @property
    def changes_numbers(self) -> bool:
        return bool(self.areas & Area.measured())

    def __or__(self, other: Change) -> Change:
        """Both changes; an unknown scope (empty) on either side stays unknown."""
        if not self.areas or not other.areas:
            return self if self.areas else other
        practices = self.practices | other.practices if self.practices and other.practices else frozenset()
        periods = self.periods | other.periods if self.periods and other.periods else frozenset()
        return Change(self.areas | other.areas, practices, periods)


#: the kind of records a write holds -> the area it changes: an entry form's table (as the audit trail
#: names it), a CSV import's kind, a FHIR import's resource kind. Any other kind is a clinical event.
RECORD_AREAS: dict[str, Area] = {
    "patients": Area.PATIENTS, "patient": Area.PATIENTS, "coverage": Area.PATIENTS,
    "providers": Area.PRACTICES, "provider": Area.PRACTICES, "practice": Area.PRACTICES,
    "referrals": Area.REFERRALS, "referral": Area.REFERRALS,
    "care_activity": Area.CARE_ACTIVITIES, "aggregate_entry": Area.AGGREGATES,
    "appointments": Area.SCHEDULE, "appointment": Area.SCHEDULE,
}


def area_of(kind: str) -> Area:
    """The area records of ``kind`` belong to (see :data:`RECORD_AREAS`)."""
    return RECORD_AREAS.get(kind, Area.EVENTS)


def records_change(kinds: Iterable[str], *, imported: bool = False, practices: Iterable[int | None] = ()) -> Change:
    """What writing records of these kinds changed; ``imported``: through an import (its history changed too)."""
    areas = {area_of(kind) for kind in kinds} | ({Area.IMPORTS} if imported else set())
    return Change.of(*areas, practices=[p for p in practices if p is not None]) if areas else Change.nothing()


#: every writing service, by its dotted name -> the areas it can change (filled by :func:`writes`); a test
#: checks that every one of them is watched by the screens that show what it changes
WRITERS: dict[str, frozenset[Area]] = {}

F = TypeVar("F", bound=Callable[..., Any])


def writes(*areas: Area) -> Callable[[F], F]:
    """Mark a function as a writing service that can change ``areas`` (its result carries what it did)."""

    def mark(fn: F) -> F:
        WRITERS[f"{fn.__module__}.{fn.__qualname__}"] = frozenset(areas)
        return fn

    return mark


def declared(fn: Callable[..., Any]) -> Change:
    """Everything ``fn`` (marked with :func:`writes`) can change: the notice after a call whose result does
    not say what it changed (an account created, a store set up)."""
    return Change(WRITERS[f"{fn.__module__}.{fn.__qualname__}"])


__all__ = ["RECORD_AREAS", "WRITERS", "Area", "Change", "area_of", "declared", "records_change", "writes"]
