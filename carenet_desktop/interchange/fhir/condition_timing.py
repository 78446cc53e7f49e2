"""Condition.onset[x] and Condition.abatement[x] as the stored onset and abatement (pure functions).

The measures read a condition through QICoreCommon's ``prevalenceInterval()``:
``Interval[start of onset.toInterval(), end of abatementInterval()]``. What the store keeps is therefore
the *start* of the onset and the *end* of the abatement, whatever type the export chose:

* ``dateTime`` -> itself; ``Period`` -> its start (onset) / its end (abatement), as before;
* ``Age`` -> QICoreCommon reads it as the age of the patient: ``Interval[birthDate + age,
  birthDate + age + 1 year)``, so the onset is ``birthDate + age`` and the abatement is the day before
  ``birthDate + age + 1 year`` (the end of a half-open interval of dates is the day before its bound);
* ``Range`` (of ages) -> ``Interval[birthDate + low, birthDate + high + 1 year)`` likewise;
* ``string`` (and R4's absent ``boolean``) -> no date (``null as Interval<DateTime>`` in QICoreCommon).

Dates computed from an age are dates (no time of day): the caller marks them ``date_only``. The birth
date comes from the Patient (``MappingContext.birth_dates``) of the same file or of a file the import read
before (bulk ``Patient.ndjson`` is read first); without it the age is kept in ``detail`` only and the date
stays unknown.
"""

from __future__ import annotations

import calendar
import datetime as dt
from typing import Any

from .values import MappingError, quantity

#: UCUM and plain-word units of an Age, as calendar units (CQL adds years and months by the calendar)
_AGE_UNITS = {"a": "years", "year": "years", "years": "years", "yr": "years", "mo": "months", "month": "months",
              "months": "months", "wk": "weeks", "week": "weeks", "weeks": "weeks", "d": "days", "day": "days",
              "days": "days"}


def _birth(value: Any) -> dt.date | None:
    """A FHIR birthDate (``2012``, ``2012-02`` or ``2012-02-29``) as its first day."""
    if not isinstance(value, str) or len(value) < 4:
        return None
    parts = value.strip()[:10].split("-")
    try:
        return dt.date(int(parts[0]), int(parts[1]) if len(parts) > 1 else 1, int(parts[2]) if len(parts) > 2 else 1)
    except ValueError:
        return None


def add_age(birth: dt.date, age: Any, element: str, plus_years: int = 0) -> dt.date | None:
    """``birth + age (+ plus_years)`` with CQL calendar arithmetic (Feb 29 + 1 year -> Feb 28); None for
    an age without a whole number of a calendar unit."""
    number, unit = quantity(age, element)
    unit_name = _AGE_UNITS.get((unit or "").strip().lower())
    if number is None or unit_name is None or number != int(number):
        return None
    n = int(number)
    try:
        if unit_name in ("years", "months"):
            total = birth.year * 12 + birth.month - 1 + (n * 12 if unit_name == "years" else n)
            year, month = divmod(total, 12)
            shifted = dt.date(year, month + 1, min(birth.day, calendar.monthrange(year, month + 1)[1]))
        else:
            shifted = birth + dt.timedelta(days=n * 7 if unit_name == "weeks" else n)
    except (ValueError, OverflowError) as exc:
        raise MappingError(f"{element}: an age beyond the calendar") from exc
    if plus_years:  # ``birthDate + age + 1 year`` adds left to right: each step clamps on its own
        return add_age(shifted, {"value": plus_years, "code": "a"}, element)
    return shifted


def onset_value(r: dict[str, Any], birth_date: Any) -> str | None:
    """The start of ``Condition.onset[x]`` as a FHIR date/dateTime string (None when unknown)."""
    if r.get("onsetDateTime") is not None:
        return r["onsetDateTime"]
    if isinstance(r.get("onsetPeriod"), dict):
        return r["onsetPeriod"].get("start")
    birth = _birth(birth_date)
    if birth is None:
        return None
    if r.get("onsetAge") is not None:
        day = add_age(birth, r["onsetAge"], "Condition.onsetAge")
        return day.isoformat() if day else None
    if isinstance(r.get("onsetRange"), dict) and r["onsetRange"].get("low") is not None:
        day = add_age(birth, r["onsetRange"]["low"], "Condition.onsetRange.low")
        return day.isoformat() if day else None
    return None


def abatement_value(r: dict[str, Any], birth_date: Any) -> str | None:
    """The end of ``Condition.abatement[x]`` as a FHIR date/dateTime string (None when unknown)."""
    if r.get("abatementDateTime") is not None:
        return r["abatementDateTime"]
    if isinstance(r.get("abatementPeriod"), dict):
        return r["abatementPeriod"].get("end") or r["abatementPeriod"].get("start")
    birth = _birth(birth_date)
    if birth is None:
        return None
    age = r.get("abatementAge")
    if age is None and isinstance(r.get("abatementRange"), dict):
        age = r["abatementRange"].get("high")
    if age is None:
        return None
    bound = add_age(birth, age, "Condition.abatement", plus_years=1)  # Interval[.., bd + age + 1 year)
    return (bound - dt.timedelta(days=1)).isoformat() if bound else None
