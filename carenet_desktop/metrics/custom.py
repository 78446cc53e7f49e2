"""Network-defined measures without code: simple measures and targets as data files.

A measure file (JSON, or TOML with the same structure) describes one patient-based proportion measure:
who is counted (an age window at the period start/end, or a birthday that falls in the period), an
optional visit requirement, the numerator (codes within a window relative to the period or to a
birthday), exclusions, direction and target. Example (``resources/measures/vis.json``)::

    {"format": "carenet-measure/1", "id": "VIS", "title": "Vision screening (3-5)",
     "direction": "increase", "target": 0.8,
     "population": {"age": {"at": "period-end", "min_years": 3, "max_years": 5}},
     "visit": {"valuesets": ["urn:carenet:valueset:well-care"]},
     "numerator": {"codes": ["cpt|99173", "cpt|99177"], "records": ["procedures"]}}

Windows: ``{"from": BOUND, "to": BOUND}`` with ``BOUND = {"anchor": A, "years": y, "months": m, "days": d}``
and ``A`` one of ``period-start``, ``period-end``, ``birth`` (birth + offset: a birthday) or ``birthday``
(the birthday of a ``turns`` population, + offset). Both ends are included; no window = the period.

``check_measure`` reports problems field by field (``numerator.window.from.anchor: must be one of ...``).
Targets live in ``targets.json`` (``{"format": "carenet-targets/1", "targets": {"W30": [0.7, 0.6], "LSC": 0.8}}``),
parsed by ``parse_targets``. This module only parses what it is given: ``services.catalogue_source`` reads the
files (``resources/measures``, ``$CARENET_MEASURES``, the user's folder) and builds the ``Catalogue``.
"""

from __future__ import annotations

import json
import logging
import re
import tomllib
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import PurePath
from typing import Any, ClassVar

import pandas as pd

from ..codes import SYSTEM_URIS
from .data import MeasureData
from .definition import Group, Measure
from .measures import _network_common as nc
from .measures._network_common import Bound, Criterion, PopulationRule, SimpleDefinition, Window
from .period import Period
from .valuesets import code_key

log = logging.getLogger(__name__)

#: a network measure defined as data, as parsed from its file
CustomDefinition = SimpleDefinition

FORMAT = "carenet-measure/1"
TARGETS_FORMAT = "carenet-targets/1"
TARGETS_FILE = "targets.json"
ANCHORS = ("period-start", "period-end", "birth", "birthday")
AGE_ANCHORS = ("period-start", "period-end")
CRITERION_RECORDS = ("visits", *nc.RECORDS)
DIRECTIONS = ("increase", "decrease")
_ID = re.compile(r"^[A-Z][A-Z0-9_-]{1,19}$")
_DEFAULT_RECORDS = {
    "visit": ("visits",),
    "numerator": ("observations", "procedures", "immunizations", "encounters"),
    "exclusion": ("conditions",),
}


class MeasureFileError(ValueError):
    """A measure or targets file that cannot be used; ``problems`` lists every field at fault."""

    def __init__(self, path: str, problems: list[str]) -> None:
        super().__init__(f"{path}: " + "; ".join(problems))
        self.path = path
        self.problems = problems


# ------------------------------------------------------------------------------------------ parsing


class _Reader:
    """Reads a nested mapping, collecting every problem with the path of its field."""

    def __init__(self) -> None:
        self.problems: list[str] = []

    def fail(self, where: str, message: str) -> None:
        self.problems.append(f"{where}: {message}" if where else message)

    def known(self, obj: dict[str, Any], where: str, allowed: Iterable[str]) -> None:
        allowed = tuple(allowed)
        for key in obj:
            if key not in allowed:
                self.fail(_join(where, key), f"unknown field (allowed here: {', '.join(allowed)})")

    def text(self, obj: dict[str, Any], key: str, where: str, *, required: bool = False, default: str = "") -> str:
        value = obj.get(key)
        if value is None:
            if required:
                self.fail(_join(where, key), "required (a text)")
            return default
        if not isinstance(value, str) or (required and not value.strip()):
            self.fail(_join(where, key), f"must be a non-empty text (got {value!r})")
            return default
        return value.strip()

    def integer(self, obj: dict[str, Any], key: str, where: str, *, default: int | None = None,
                low: int | None = None, high: int | None = None) -> int | None:
        value = obj.get(key)
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, int):
            self.fail(_join(where, key), f"must be a whole number (got {value!r})")
            return default
        if (low is not None and value < low) or (high is not None and value > high):
            self.fail(_join(where, key), f"must be between {low} and {high} (got {value})")
            return default
        return value

    def choice(self, obj: dict[str, Any], key: str, where: str, options: Sequence[str], *,
               default: str | None = None) -> str | None:
        value = obj.get(key, default)
        if value is None:
            self.fail(_join(where, key), f"required, one of: {', '.join(options)}")
            return None
        if value not in options:
            self.fail(_join(where, key), f"must be one of: {', '.join(options)} (got {value!r})")
            return default
        return str(value)

    def mapping(self, obj: dict[str, Any], key: str, where: str, *, required: bool = False) -> dict[str, Any] | None:
        value = obj.get(key)
        if value is None:
            if required:
                self.fail(_join(where, key), "required (an object with fields)")
            return None
        if not isinstance(value, dict):
            self.fail(_join(where, key), f"must be an object with fields (got {type(value).__name__})")
            return None
        return value

    def strings(self, obj: dict[str, Any], key: str, where: str) -> list[str]:
        value = obj.get(key)
        if value is None:
            return []
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
            self.fail(_join(where, key), "must be a list of texts")
            return []
        return [v.strip() for v in value]


def _join(where: str, key: str | int) -> str:
    return f"{where}[{key}]" if isinstance(key, int) else (f"{where}.{key}" if where else key)


def _bound(r: _Reader, obj: Any, where: str, default: Bound) -> Bound:
    if obj is None:
        return default
    if not isinstance(obj, dict):
        r.fail(where, "must be an object like {\"anchor\": \"birth\", \"years\": 2}")
        return default
    r.known(obj, where, ("anchor", "years", "months", "days"))
    anchor = r.choice(obj, "anchor", where, ANCHORS)
    values = [r.integer(obj, k, where, default=0, low=-1200, high=1200) or 0 for k in ("years", "months", "days")]
    return Bound(anchor or default.anchor, *values)


def _window(r: _Reader, obj: Any, where: str) -> Window:
    if obj is None or obj == "period":
        return Window()
    if not isinstance(obj, dict):
        r.fail(where, "must be \"period\" or an object {\"from\": {...}, \"to\": {...}}")
        return Window()
    r.known(obj, where, ("from", "to"))
    return Window(_bound(r, obj.get("from"), _join(where, "from"), Bound("period-start")),
                  _bound(r, obj.get("to"), _join(where, "to"), Bound("period-end")))


def _code(r: _Reader, text: str, where: str) -> str | None:
    system, sep, code = text.rpartition("|")
    if not sep or not system or not code:
        r.fail(where, f"a code must be written system|code, e.g. loinc|5671-3 (got {text!r})")
        return None
    if system not in SYSTEM_URIS and "://" not in system and not system.startswith("urn:"):
        r.fail(where, f"unknown code system {system!r} (use one of {', '.join(sorted(SYSTEM_URIS))} or a URI)")
        return None
    return code_key(system, code)


def _criterion(r: _Reader, obj: Any, where: str, kind: str) -> Criterion | None:
    if not isinstance(obj, dict):
        r.fail(where, "must be an object with fields")
        return None
    r.known(obj, where, ("valuesets", "codes", "records", "window", "min_count"))
    valuesets = r.strings(obj, "valuesets", where)
    codes = [c for i, text in enumerate(r.strings(obj, "codes", where))
             if (c := _code(r, text, _join(_join(where, "codes"), i))) is not None]
    if not valuesets and not codes and "valuesets" not in obj and "codes" not in obj:
        r.fail(where, "needs \"valuesets\" (canonical URLs) or \"codes\" (system|code), or both")
    records = r.strings(obj, "records", where) or list(_DEFAULT_RECORDS[kind])
    for i, rec in enumerate(records):
        if rec not in CRITERION_RECORDS:
            r.fail(_join(_join(where, "records"), i), f"must be one of: {', '.join(CRITERION_RECORDS)} (got {rec!r})")
    min_count = r.integer(obj, "min_count", where, default=1, low=1, high=100) or 1
    return Criterion(tuple(valuesets), tuple(codes), tuple(records), _window(r, obj.get("window"), _join(where, "window")),
                     min_count)


def _population(r: _Reader, obj: dict[str, Any] | None) -> PopulationRule:
    where = "population"
    if obj is None:
        return PopulationRule()
    r.known(obj, where, ("age", "turns"))
    if ("age" in obj) == ("turns" in obj):
        r.fail(where, "needs exactly one of \"age\" (an age window) or \"turns\" (a birthday in the period)")
        return PopulationRule()
    if "turns" in obj:
        turns = obj["turns"]
        if not isinstance(turns, dict):
            r.fail("population.turns", "must be an object like {\"years\": 2} or {\"months\": 15}")
            return PopulationRule()
        b = _bound(r, {"anchor": "birth", **turns}, "population.turns", Bound("birth"))
        if (b.years, b.months, b.days) <= (0, 0, 0):
            r.fail("population.turns", "must be a positive age, e.g. {\"years\": 2}")
        return PopulationRule(turns=b)
    age = r.mapping(obj, "age", where, required=True) or {}
    w = "population.age"
    r.known(age, w, ("at", "min_years", "max_years", "min_months", "max_months"))
    at = r.choice(age, "at", w, AGE_ANCHORS, default="period-end")
    unit = "months" if any(k.endswith("_months") for k in age) else "years"
    if unit == "months" and any(k.endswith("_years") for k in age):
        r.fail(w, "use either min_years/max_years or min_months/max_months, not both")
    lo = r.integer(age, f"min_{unit}", w, low=0, high=1200)
    hi = r.integer(age, f"max_{unit}", w, low=0, high=1200)
    if lo is None and hi is None:
        r.fail(w, f"needs min_{unit} and/or max_{unit}")
    if lo is not None and hi is not None and lo > hi:
        r.fail(w, f"min_{unit} ({lo}) is greater than max_{unit} ({hi})")
    return PopulationRule(age_at=at, min_age=lo, max_age=hi, age_unit=unit)


def parse_measure(document: Any, path: str = "") -> tuple[CustomDefinition | None, list[str]]:
    """The definition in a parsed document, and the problems found (definition is None if any)."""
    r = _Reader()
    if not isinstance(document, dict):
        return None, ["the file must hold one object (a measure) at the top level"]
    r.known(document, "", ("format", "id", "title", "description", "steward", "version", "direction", "target",
                           "group_title", "population", "visit", "numerator", "exclusions", "standard_exclusions"))
    if document.get("format") != FORMAT:
        r.fail("format", f"must be {FORMAT!r} (got {document.get('format')!r})")
    mid = r.text(document, "id", "", required=True)
    if mid and not _ID.match(mid):
        r.fail("id", f"2-20 capital letters, digits, '-' or '_', starting with a letter (got {mid!r})")
    elif mid.startswith("CMS"):
        r.fail("id", "ids starting with CMS are reserved for the published eCQMs")
    title = r.text(document, "title", "", required=True)
    direction = r.choice(document, "direction", "", DIRECTIONS, default="increase") or "increase"
    target = document.get("target")
    if target is not None and (isinstance(target, bool) or not isinstance(target, (int, float)) or not 0 <= target <= 1):
        r.fail("target", f"must be a rate between 0 and 1, e.g. 0.8 for 80% (got {target!r})")
        target = None
    std = document.get("standard_exclusions", True)
    if not isinstance(std, bool):
        r.fail("standard_exclusions", f"must be true or false (got {std!r})")
        std = True
    population = _population(r, r.mapping(document, "population", "", required=True))
    visit_obj = document.get("visit")
    visit = _criterion(r, visit_obj, "visit", "visit") if visit_obj is not None else None
    numerator = _criterion(r, document.get("numerator"), "numerator", "numerator") if "numerator" in document else None
    if "numerator" not in document:
        r.fail("numerator", "required (an object with valuesets/codes, records, window)")
    exclusions: list[Criterion] = []
    ex_obj = document.get("exclusions", [])
    if not isinstance(ex_obj, list):
        r.fail("exclusions", "must be a list of objects")
    else:
        for i, item in enumerate(ex_obj):
            if (c := _criterion(r, item, _join("exclusions", i), "exclusion")) is not None:
                exclusions.append(c)
    for crit, where in ((visit, "visit"), (numerator, "numerator"), *((c, f"exclusions[{i}]") for i, c in enumerate(exclusions))):
        if crit is None:
            continue
        for side, bound in (("from", crit.window.start), ("to", crit.window.end)):
            if bound.anchor == "birthday" and population.turns is None:
                r.fail(f"{where}.window.{side}.anchor", "\"birthday\" needs a population with \"turns\"")
    if r.problems or numerator is None:
        return None, r.problems
    return CustomDefinition(
        id=mid, title=title, population=population, numerator=numerator, visit=visit, exclusions=tuple(exclusions),
        standard_exclusions=std, direction=direction, target=None if target is None else float(target),
        description=r.text(document, "description", ""), steward=r.text(document, "steward", "", default="CareNet network office"),
        version=r.text(document, "version", ""), group_title=r.text(document, "group_title", ""), path=path,
    ), []


def decode_document(raw: bytes, name: str) -> Any:
    """A measure or targets file's bytes as Python data (JSON, or TOML when ``name`` ends in ``.toml``)."""
    if name.lower().endswith(".toml"):
        return tomllib.loads(raw.decode("utf-8"))
    return json.loads(raw)


def check_measure(raw: bytes, name: str, known_valuesets: Collection[str] | None = None
                  ) -> tuple[CustomDefinition | None, list[str]]:
    """The definition in a measure file's bytes and its problems, one readable line per field at fault
    (the definition is None when there is any).

    With ``known_valuesets`` (the URLs loaded in the store) a value set the file names but the store
    does not have is a problem too (a mistyped URL would otherwise silently match nothing).
    """
    try:
        document = decode_document(raw, name)
    except (ValueError, tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        return None, [f"not valid {'TOML' if name.lower().endswith('.toml') else 'JSON'}: {exc}"]
    definition, problems = parse_measure(document, name)
    if definition is not None and known_valuesets is not None:
        known = set(known_valuesets)
        named = [("visit", definition.visit), ("numerator", definition.numerator),
                 *((f"exclusions[{i}]", c) for i, c in enumerate(definition.exclusions))]
        problems = [f"{where}.valuesets[{i}]: value set not loaded in the catalogue: {url}"
                    for where, crit in named if crit is not None for i, url in enumerate(crit.valuesets)
                    if url not in known]
        if problems:
            definition = None
    return definition, problems


# --------------------------------------------------------------------------------------- evaluation


class CustomMeasure(Measure):
    """A measure built from a ``CustomDefinition`` (subclassed per file by ``measure_class``)."""

    definition: ClassVar[CustomDefinition]
    target: ClassVar[float | None] = None

    def populations(self, data: MeasureData, period: Period) -> list[pd.DataFrame]:
        return [nc.simple_populations(self.definition, data, period)]


def written_specification(d: CustomDefinition) -> dict[str, str]:
    """The plain-language specification of a custom measure, generated from its definition."""
    pop = d.population
    if pop.turns is not None:
        ages = f"Patients whose {Bound('birth', pop.turns.years, pop.turns.months, pop.turns.days).describe()} falls in the period."
        anchor = "The birthday the patient reaches in the period."
    else:
        rng = f"{pop.min_age if pop.min_age is not None else 0} to {pop.max_age if pop.max_age is not None else 'any'}"
        day = "first" if pop.age_at == "period-start" else "last"
        ages = f"Ages {rng} {pop.age_unit} (whole {pop.age_unit}) on the {day} day of the period."
        anchor = f"The {day} day of the measurement period."
    denom = "Every patient in the age window"
    if d.visit is not None:
        denom += f", with {d.visit.describe()}"
    exclusions = [c.describe() for c in d.exclusions]
    if d.standard_exclusions:
        exclusions.append(nc.STANDARD_EXCLUSIONS_TEXT)
    return nc.spec(
        source=f"Network-defined measure ({PurePath(d.path).name if d.path else 'custom file'}).",
        ages=ages, anchor=anchor, denominator=denom + ".", numerator=d.numerator.describe().capitalize() + ".",
        exclusions=" ".join(exclusions) or "None.",
        direction="Higher is better." if d.direction == "increase" else "Lower is better.",
        **({"target": f"{d.target:.0%}"} if d.target is not None else {}),
    )


def measure_class(d: CustomDefinition) -> type[CustomMeasure]:
    """A ``Measure`` subclass for the definition (what ``@register`` takes)."""
    urls = sorted({*(d.visit.valuesets if d.visit else ()), *d.numerator.valuesets,
                   *(u for c in d.exclusions for u in c.valuesets)})
    attrs: dict[str, Any] = {
        "id": d.id, "title": d.title, "version": d.version, "steward": d.steward, "description": d.description,
        "basis": "patient", "improvement": d.direction, "source": "custom",
        "groups": (Group(d.group_title or d.title, code=d.id),), "valuesets": tuple(urls),
        "specification": written_specification(d), "definition": d, "target": d.target,
    }
    return type(f"Custom{re.sub(r'[^A-Za-z0-9]', '', d.id)}", (CustomMeasure,), attrs)


# ------------------------------------------------------------------------------------------- targets


@dataclass(frozen=True)
class Targets:
    """Network target rates: per measure id, one rate for every group or one per group index."""

    by_measure: dict[str, dict[int | None, float]] = field(default_factory=dict)

    def get(self, measure_id: str, group_index: int = 0) -> float | None:
        entry = self.by_measure.get(measure_id)
        if not entry:
            return None
        return entry.get(group_index, entry.get(None))


def parse_targets(document: Any) -> tuple[Targets, list[str]]:
    r = _Reader()
    if not isinstance(document, dict):
        return Targets(), ["the file must hold one object at the top level"]
    r.known(document, "", ("format", "targets", "description"))
    if document.get("format") != TARGETS_FORMAT:
        r.fail("format", f"must be {TARGETS_FORMAT!r} (got {document.get('format')!r})")
    raw = r.mapping(document, "targets", "", required=True) or {}
    out: dict[str, dict[int | None, float]] = {}

    def rate(value: Any, where: str) -> float | None:
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
            r.fail(where, f"must be a rate between 0 and 1 or null (got {value!r})")
            return None
        return float(value)

    for mid, value in raw.items():
        where = f"targets.{mid}"
        entry: dict[int | None, float] = {}
        if isinstance(value, list):
            for i, v in enumerate(value):
                if (x := rate(v, f"{where}[{i}]")) is not None:
                    entry[i] = x
        elif isinstance(value, dict):
            for k, v in value.items():
                if not str(k).isdigit():
                    r.fail(f"{where}.{k}", "group keys must be group numbers (0, 1, ...)")
                elif (x := rate(v, f"{where}.{k}")) is not None:
                    entry[int(k)] = x
        elif (x := rate(value, where)) is not None:
            entry[None] = x
        out[mid] = entry
    return Targets(out), r.problems


def with_measure_targets(targets: Targets, measures: Iterable[Measure]) -> Targets:
    """``targets`` completed by the ``target`` of network measures defined as data (the targets file wins)."""
    merged = dict(targets.by_measure)
    for m in measures:
        t = getattr(m, "target", None)
        if isinstance(t, float) and m.id not in merged:
            merged[m.id] = {None: t}
    return Targets(merged)
