"""FHIR primitive and datatype helpers: dates, codings, references, quantities (pure functions)."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from ...codes import SYSTEM_URIS, system_key


class MappingError(ValueError):
    """A resource that cannot be mapped (the message names the element, never patient data)."""


_DATETIME = re.compile(
    r"(?P<y>\d{4})(?:-(?P<m>\d{2})(?:-(?P<d>\d{2})"
    r"(?:T(?P<H>\d{2}):(?P<M>\d{2})(?::(?P<S>\d{2})(?:\.(?P<f>\d+))?)?(?P<tz>Z|[+-]\d{2}:?\d{2})?)?)?)?"
)


def parse_datetime(value: Any, element: str = "dateTime") -> dt.datetime | None:
    """A FHIR date/dateTime/instant as the naive clock time *as written*. Partial dates start at their
    first instant (``2025`` -> 2025-01-01 00:00); date-only values are midnight (see ``is_date_only``).

    A time-zone offset is checked and dropped, not applied: CQL compares calendar days on the date as
    written (``2024-12-31T19:00-05:00`` is a visit on Dec 31, whatever the UTC instant), and a day-count
    window ("within 3 days") counts written days. Comparing two instants at hour precision or finer
    across different offsets is the one thing the written clock time does not reproduce; measures do
    not do that within one patient's record, which one EHR writes in one zone.
    """
    if value is None:
        return None
    if not isinstance(value, str):
        raise MappingError(f"{element}: expected a date/time string")
    m = _DATETIME.fullmatch(value.strip())
    if not m:
        raise MappingError(f"{element}: not a FHIR date/time: {value[:40]!r}")
    try:
        frac = m["f"] or "0"
        moment = dt.datetime(
            int(m["y"]),
            int(m["m"] or 1),
            int(m["d"] or 1),
            int(m["H"] or 0),
            int(m["M"] or 0),
            int(m["S"] or 0),
            int(frac[:6].ljust(6, "0")),
        )
    except ValueError as exc:
        raise MappingError(f"{element}: invalid date/time {value[:40]!r}") from exc
    tz = m["tz"]
    if tz and tz != "Z":
        digits = tz[1:].replace(":", "")
        if int(digits[:2]) > 14 or int(digits[2:]) > 59:
            raise MappingError(f"{element}: invalid time-zone offset {tz!r}")
    return moment


def is_date_only(value: Any) -> bool:
    """A FHIR date/dateTime given without a time of day (``2025-03-01``, ``2025-03``, ``2025``): in CQL
    its precision is the day (or coarser), so against an instant of the same day it is uncertain."""
    return isinstance(value, str) and "T" not in value and bool(value.strip())


def parse_date(value: Any, element: str = "date", *, local: bool = False) -> dt.date | None:
    """A FHIR date (or the date part of a dateTime, as written: the offset is not applied).

    ``local`` (a day of the calendar, e.g. a birth date) says the same for callers that must never see a
    day moved: every date here is the day as written."""
    moment = parse_datetime(value, element)
    if local and moment is not None and isinstance(value, str):
        m = _DATETIME.fullmatch(value.strip())
        if m and m["tz"] and m["d"]:
            return dt.date(int(m["y"]), int(m["m"]), int(m["d"]))
    return moment.date() if moment is not None else None


def period(value: Any, element: str) -> tuple[dt.datetime | None, dt.datetime | None]:
    if value is None:
        return None, None
    if not isinstance(value, dict):
        raise MappingError(f"{element}: expected a Period")
    return parse_datetime(value.get("start"), f"{element}.start"), parse_datetime(value.get("end"), f"{element}.end")


def period_date_only(value: Any) -> bool:
    """A Period whose start (or, without a start, end) was written without a time of day."""
    if not isinstance(value, dict):
        return False
    return is_date_only(value.get("start") if value.get("start") is not None else value.get("end"))


def codings(concept: Any, element: str = "CodeableConcept") -> list[dict[str, Any]]:
    """The codings of a CodeableConcept (or of a bare Coding)."""
    if concept is None:
        return []
    if not isinstance(concept, dict):
        raise MappingError(f"{element}: expected a CodeableConcept")
    if "coding" in concept:
        found = concept["coding"]
        if not isinstance(found, list):
            raise MappingError(f"{element}.coding: expected a list")
        return [c for c in found if isinstance(c, dict)]
    if "code" in concept or "system" in concept:
        return [concept]
    return []


def _rank(coding: dict[str, Any]) -> int:
    """0 for a code system we know (CVX, SNOMED CT, CPT ...), 1 for a local or unknown one."""
    key = system_key(coding.get("system"))
    return 0 if key in SYSTEM_URIS and key != "local" else 1


def first_code(concept: Any, element: str = "CodeableConcept") -> tuple[str | None, str | None, str | None, list[dict[str, Any]]]:
    """(system key, code, display, the other codings) of a CodeableConcept.

    The primary (stored) coding is the first one with a code in a known code system, so a local code
    listed first does not hide the standard one; the other codings are returned for ``detail``.
    """
    found = codings(concept, element)
    with_code = [c for c in found if c.get("code")]
    primary = min(with_code, key=_rank) if with_code else None  # min keeps the first of equal rank
    if primary is None:
        text = concept.get("text") if isinstance(concept, dict) else None
        return None, None, text, found
    others = [c for c in found if c is not primary]
    code = str(primary.get("code")).strip()[:64]
    display = primary.get("display") or (concept.get("text") if isinstance(concept, dict) else None)
    return _clip(system_key(primary.get("system")), 255), code, _clip(display, 255), others


def concept_code(concept: Any, element: str = "CodeableConcept") -> tuple[str | None, str | None]:
    system, code, _display, _others = first_code(concept, element)
    return system, code


def coded_keys(concepts: Any, element: str = "CodeableConcept") -> list[str]:
    """Every coding with a code of one CodeableConcept (or of a list of them) as ``system|code`` keys,
    in order, without repeats."""
    items = concepts if isinstance(concepts, list) else [concepts]
    out: dict[str, None] = {}
    for concept in items:
        for coding in codings(concept, element):
            code = coding.get("code")
            if code is not None and str(code).strip():
                system = _clip(system_key(coding.get("system")), 255) or ""
                out[f"{system}|{str(code).strip()[:64]}"] = None
    return list(out)


def more_codings(primary: tuple[str | None, str | None], concepts: Any, element: str) -> list[str]:
    """The keys of every coding of ``concepts`` except the primary (stored) one."""
    system, code = primary
    first_key = f"{system or ''}|{code}" if code else None
    return [k for k in coded_keys(concepts, element) if k != first_key]


def more_category_codes(primary: str | None, categories: Any, element: str = "category") -> list[str]:
    """The codes (without system: categories are matched by code) of every category coding but the
    primary one (``Observation.category`` may say ``laboratory`` and ``survey``, or a local one first)."""
    items = categories if isinstance(categories, list) else [categories]
    out: dict[str, None] = {}
    for concept in items:
        for coding in codings(concept, element):
            code = str(coding.get("code") or "").strip()
            if code and code != primary:
                out[code[:64]] = None
    return list(out)


def encode_codings(**elements: list[str]) -> str | None:
    """The ``codings`` column of a clinical table: the further codings of each coded element, one
    ``element<TAB>system|code`` per line (``code``: the resource's own code, ``value``, ``reason``,
    ``status_reason``, ``discharge``, ``location``; ``category``: codes only), or ``None`` when every
    element has at most one coding."""
    lines = [f"{name}\t{key}" for name, keys in elements.items() for key in keys]
    return "\n".join(lines) if lines else None


def first(items: Any, element: str) -> Any:
    """The first element of a FHIR list (or the value itself when a single object was given)."""
    if items is None:
        return None
    if isinstance(items, list):
        return items[0] if items else None
    if isinstance(items, dict):
        return items
    raise MappingError(f"{element}: expected a list")


def reference_id(ref: Any, resource_type: str | None = None) -> str | None:
    """The logical id of a Reference (``Patient/123``, ``urn:uuid:...``, absolute URLs, ``#contained``)."""
    if ref is None:
        return None
    if not isinstance(ref, dict):
        raise MappingError("reference: expected a Reference")
    text = ref.get("reference")
    if not text:
        return None
    text = str(text).split("/_history/", 1)[0]
    if text.startswith("urn:uuid:") or text.startswith("urn:oid:"):
        return text.rsplit(":", 1)[-1]
    if text.startswith("#"):
        return text
    parts = text.rstrip("/").split("/")
    if len(parts) >= 2:
        if resource_type is not None and parts[-2] != resource_type:
            return None
        return parts[-1]
    return parts[0]


def quantity(value: Any, element: str) -> tuple[float | None, str | None]:
    if value is None:
        return None, None
    if not isinstance(value, dict):
        raise MappingError(f"{element}: expected a Quantity")
    number = value.get("value")
    if number is not None and not isinstance(number, int | float):
        try:
            number = float(number)
        except (TypeError, ValueError) as exc:
            raise MappingError(f"{element}.value: not a number") from exc
    unit = value.get("code") or value.get("unit")
    return (float(number) if number is not None else None), _clip(unit, 32)


_DAYS_PER_UNIT = {"d": 1.0, "day": 1.0, "days": 1.0, "wk": 7.0, "week": 7.0, "weeks": 7.0, "mo": 30.0,
                  "month": 30.0, "months": 30.0, "a": 365.0, "year": 365.0, "years": 365.0, "h": 1 / 24,
                  "hour": 1 / 24, "hours": 1 / 24, "min": 1 / 1440}


def duration_days(value: Any, element: str) -> float | None:
    """A Duration in days (units d, wk, mo, a, h, min); ``None`` when the unit is unknown."""
    number, unit = quantity(value, element)
    if number is None:
        return None
    factor = _DAYS_PER_UNIT.get((unit or "d").lower())
    return number * factor if factor is not None else None


def extension(resource: dict[str, Any], *url_suffixes: str) -> dict[str, Any] | None:
    """The first extension whose URL ends with one of the suffixes."""
    for ext in resource.get("extension") or []:
        if isinstance(ext, dict) and any(str(ext.get("url", "")).endswith(s) for s in url_suffixes):
            return ext
    return None


def _clip(text: Any, length: int) -> str | None:
    if text is None:
        return None
    text = str(text).strip()
    return text[:length] if text else None


clip = _clip
