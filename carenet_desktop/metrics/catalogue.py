"""The measure catalogue as a value: every built-in measure version and the network's measures defined as data.

A measure is (id, version, the periods it applies to): several classes may carry the same id with different
versions and ``applies_to`` years (``cms117`` is the 2025 version, ``cms117_2026`` the 2026 one).
``Catalogue.get(id)`` returns the measure as a whole - a ``VersionedMeasure`` when it has several versions -
whose ``evaluate``/``gaps`` use, for each period, the version in force (``in_force``);
``Catalogue.get(id, version)`` returns one version. ``Catalogue.digest`` is a stable digest of the
definitions in force, for caches to key on.

A ``Catalogue`` is immutable and built from what it is given: the built-in classes (the modules listed in
``measures.MODULES``, each class marked by ``@register``) and parsed network definitions
(``custom.CustomDefinition``). This package reads no file and no environment and keeps no registry: the
service layer (``services.catalogue_source``) reads the measure files, builds the catalogue and carries it
on the ``ServiceContext``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import importlib
import logging
from collections.abc import Iterable, Mapping, Sequence
from pathlib import PurePath
from types import MappingProxyType
from typing import Any

import pandas as pd

from .custom import CustomDefinition
from .custom import measure_class as measure_class_for
from .data import MeasureData
from .definition import Measure
from .period import Period

log = logging.getLogger(__name__)

#: the class attribute ``register`` sets on a built-in measure class
_BUILTIN_MARK = "_carenet_builtin"

class VersionedMeasure(Measure):
    """A measure with several versions: each period is evaluated by the version in force for it.

    Its metadata (title, groups ...) are the newest version's; ``versions`` lists them all, oldest first.
    """

    def __init__(self, versions: Iterable[Measure]) -> None:
        self.versions: list[Measure] = sorted(versions, key=_first_year)
        if not self.versions:
            raise ValueError("a measure needs a version")

    # --- which version -------------------------------------------------------------------------------

    @property
    def latest(self) -> Measure:
        return self.versions[-1]

    def version_for(self, period: Period) -> Measure:
        return in_force(self.versions, period)

    # --- evaluation, each period by its own version ------------------------------------------------------

    def populations(self, data: MeasureData, period: Period) -> list[pd.DataFrame]:
        impl = self.version_for(period)
        return impl.populations(impl.pinned(data), period)

    def evaluate(self, data: MeasureData, period: Period) -> pd.DataFrame:
        return self.version_for(period).evaluate(data, period)

    def gaps(self, data: MeasureData, period: Period, rows: pd.DataFrame) -> pd.DataFrame:
        impl = self.version_for(period)
        return impl.gaps(impl.pinned(data), period, rows)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") or name == "versions":
            raise AttributeError(name)
        if name == "upcoming_gaps" and hasattr(self.latest, name):
            def upcoming(data: MeasureData, as_of: dt.date, within_days: int) -> pd.DataFrame:
                impl = self.version_for(Period.year(as_of.year))
                return impl.upcoming_gaps(impl.pinned(data), as_of, within_days)  # type: ignore[attr-defined]
            return upcoming
        return getattr(self.latest, name)

    def __repr__(self) -> str:
        return f"<{self.id} versions {', '.join(m.version for m in self.versions)}>"


def _latest_attr(name: str) -> property:
    return property(lambda self: getattr(self.latest, name))


for _name in ("id", "title", "version", "steward", "description", "basis", "improvement", "gap_closable",
              "gap_expires", "groups",
              "stratifiers", "source", "specification", "canonical", "lib", "manifest"):
    setattr(VersionedMeasure, _name, _latest_attr(_name))
VersionedMeasure.valuesets = property(  # type: ignore[assignment]
    lambda self: tuple(sorted({url for m in self.versions for url in m.valuesets})))
VersionedMeasure.applies_to = property(lambda self: (None, None))  # type: ignore[assignment]


def _first_year(measure: Measure) -> int:
    first = measure.applies_to[0]
    return -1 if first is None else first


def in_force(versions: Sequence[Measure], period: Period) -> Measure:
    """The version in force for ``period``: the one whose years hold the period's last day; before every
    version the oldest, after every version the newest."""
    ordered = sorted(versions, key=_first_year)
    for measure in ordered:
        if measure.applies(period):
            return measure
    year = period.end.year
    later = [m for m in ordered if m.applies_to[0] is not None and m.applies_to[0] > year]
    return later[0] if later else ordered[-1]


def register(cls: type[Measure]) -> type[Measure]:
    """Mark a measure class (one version of a measure) as a built-in measure of its module: a catalogue
    takes the marked classes of every module in ``measures.MODULES``. Marks the class only."""
    setattr(cls, _BUILTIN_MARK, True)
    return cls


def builtin_classes() -> tuple[tuple[type[Measure], ...], dict[str, str]]:
    """The built-in measure classes, and {module: error} for the measure modules that failed to import
    (a broken module must not hide the others)."""
    from . import measures

    classes: list[type[Measure]] = []
    errors: dict[str, str] = {}
    for name in measures.MODULES:
        qualified = f"{measures.__name__}.{name}"
        try:
            module = importlib.import_module(qualified)
        except Exception as exc:
            log.warning("Measure module %s failed to import: %s", name, type(exc).__name__)
            errors[name] = f"{type(exc).__name__}: {exc}"
            continue
        classes += [obj for obj in vars(module).values()
                    if isinstance(obj, type) and obj.__dict__.get(_BUILTIN_MARK) and obj.__module__ == qualified]
    return tuple(classes), errors


class Catalogue:
    """The measures one session computes with (immutable): built-in versions and network definitions.

    Build it with ``Catalogue.build(definitions)``. A definition whose id is taken (by a built-in measure
    or an earlier definition) is left out and named in ``problems``; ``file_problems`` are the problems of
    the files the definitions were read from (passed in by the reader), kept for display.
    """

    __slots__ = ("_measures", "definitions", "file_problems", "load_errors", "problems")

    def __init__(self, measures: Mapping[str, Measure], definitions: tuple[CustomDefinition, ...],
                 file_problems: tuple[str, ...], problems: tuple[str, ...], load_errors: Mapping[str, str]) -> None:
        object.__setattr__(self, "_measures", MappingProxyType(dict(measures)))
        object.__setattr__(self, "definitions", definitions)
        object.__setattr__(self, "file_problems", file_problems)
        object.__setattr__(self, "problems", problems)
        object.__setattr__(self, "load_errors", MappingProxyType(dict(load_errors)))

    _measures: Mapping[str, Measure]
    definitions: tuple[CustomDefinition, ...]
    file_problems: tuple[str, ...]
    problems: tuple[str, ...]
    load_errors: Mapping[str, str]

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("a Catalogue is immutable: build another one")

    def __delattr__(self, name: str) -> None:
        raise AttributeError("a Catalogue is immutable: build another one")

    @classmethod
    def build(cls, definitions: Iterable[CustomDefinition] = (), file_problems: Iterable[str] = ()) -> Catalogue:
        """The built-in measures and the measures of ``definitions`` (in order). Another class with the same
        id and version, a definition reusing an id, or an id shared across sources is refused."""
        classes, errors = builtin_classes()
        by_id: dict[str, list[Measure]] = {}
        for measure_class in classes:
            try:
                _add(by_id, measure_class)
            except ValueError as exc:
                errors[measure_class.__module__.rsplit(".", 1)[-1]] = str(exc)
        taken = set(by_id)
        kept: list[CustomDefinition] = []
        problems: list[str] = []
        for definition in definitions:
            if definition.id in taken:
                problems.append(f"{_file_name(definition.path)}: id: {definition.id} is already used by another measure")
                continue
            taken.add(definition.id)
            kept.append(definition)
            by_id[definition.id] = [measure_class_for(definition)()]
        measures = {mid: versions[0] if len(versions) == 1 else VersionedMeasure(versions)
                    for mid, versions in by_id.items()}
        return cls(measures, tuple(kept), tuple(file_problems), tuple(problems), errors)

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        """Pickled as its definitions (a worker process builds the same catalogue from them)."""
        return _rebuild, (self.definitions, self.file_problems)

    # --- lookups ----------------------------------------------------------------------------------------

    def all(self) -> list[Measure]:
        """Every measure (all its versions each), eCQMs first, by number."""
        return sorted(self._measures.values(), key=lambda m: _sort_key(m.id))

    def ids(self) -> list[str]:
        return [m.id for m in self.all()]

    def __contains__(self, measure_id: object) -> bool:
        return isinstance(measure_id, str) and (measure_id in self._measures or measure_id.upper() in self._measures)

    def get(self, measure_id: str, version: str | None = None) -> Measure:
        """The measure ``measure_id`` (all its versions), or one version of it: ``version`` is a version
        string ("0.3.000") or a measurement year ("2026": the version in force for that year)."""
        measure = self._measures.get(measure_id.upper()) or self._measures.get(measure_id)
        if measure is None:
            raise KeyError(f"Unknown measure {measure_id!r}. Known: {', '.join(self.ids())}")
        return measure if version is None else pick_version(measure, version)

    def select(self, ids: Sequence[str] | None = None) -> list[Measure]:
        """The measures ``ids`` (KeyError for an unknown one), or every measure when ``ids`` is empty."""
        return self.all() if not ids else [self.get(i) for i in ids]

    def versions_of(self, measure: Measure | str) -> list[Measure]:
        """Every version of a measure, oldest first (one for a measure with a single version)."""
        return versions_of(self.get(measure) if isinstance(measure, str) else measure)

    def version_in_force(self, measure_id: str, period: Period) -> str:
        """The version string of ``measure_id`` that computes ``period``."""
        return resolve(self.get(measure_id), period).version

    def rolling_notes(self) -> dict[str, str]:
        """{measure id: why its rolling 12-month rate behaves unusually} (``Measure.rolling_note``), where it does."""
        return {m.id: note for m in self.all() if (note := getattr(m, "rolling_note", None))}

    def digest(self, period: Period | None = None, measure_ids: Sequence[str] | None = None) -> str:
        """A stable digest of the measure definitions in force: for ``period`` the version in force of each
        measure, else every version. It changes when a version, the years it applies to, its library edition,
        its value-set manifest, its groups or a network measure's definition changes (caches key on it)."""
        digest = hashlib.sha256()
        for measure in sorted(self.select(measure_ids), key=lambda m: m.id):
            versions = [resolve(measure, period)] if period is not None else versions_of(measure)
            for m in versions:
                parts: list[object] = [m.id, m.version, m.applies_to, type(m).__module__, type(m).__qualname__,
                                       m.lib.title, m.basis, m.improvement,
                                       [(g.title, g.populations) for g in m.groups], sorted((m.manifest or {}).items())]
                definition = getattr(m, "definition", None)
                if definition is not None:  # a network measure defined as data
                    parts.append(repr(definition))
                digest.update(repr(parts).encode())
        return digest.hexdigest()

    def __repr__(self) -> str:
        return f"<Catalogue of {len(self._measures)} measures ({len(self.definitions)} defined as data)>"


def _rebuild(definitions: tuple[CustomDefinition, ...], file_problems: tuple[str, ...]) -> Catalogue:
    return Catalogue.build(definitions, file_problems)


def _add(by_id: dict[str, list[Measure]], cls: type[Measure]) -> None:
    existing = by_id.get(cls.id, [])
    for measure in existing:
        if measure.version == cls.version:
            raise ValueError(f"Measure id {cls.id} registered twice")
    if existing and any(m.source != cls.source for m in existing):
        raise ValueError(f"Measure id {cls.id} registered twice")
    by_id[cls.id] = [*existing, cls()]


def _file_name(path: str) -> str:
    return PurePath(path).name if path else "a measure definition"


def versions_of(measure: Measure) -> list[Measure]:
    """Every version of a measure, oldest first (one for a measure with a single version)."""
    return list(measure.versions) if isinstance(measure, VersionedMeasure) else [measure]


def pick_version(measure: Measure, version: str) -> Measure:
    """One version of ``measure`` by version string or measurement year (KeyError when it has none)."""
    versions = versions_of(measure)
    for m in versions:
        if m.version == version:
            return m
    text = version.strip()
    if text.isdigit() and len(text) == 4:
        return in_force(versions, Period.year(int(text)))
    known = ", ".join(m.version for m in versions)
    raise KeyError(f"{measure.id} has no version {version!r} (versions: {known}; or a year such as 2026)")


def resolve(measure: Measure, period: Period, version: str | None = None) -> Measure:
    """The version that evaluates ``measure`` for ``period``: ``version`` when forced, else the one in force."""
    if version:
        return pick_version(measure, version)
    return measure.version_for(period) if isinstance(measure, VersionedMeasure) else measure


def describe_version(measure: Measure) -> str:
    """One line naming a version, e.g. "CMS117 0.3.000 (2026 onward; QI-Core 6.0.0)"."""
    model = measure.lib.model if measure.source == "ecqm" else measure.source
    return f"{measure.id} {measure.version or '-'} ({measure.periods_label}; {model})"


def _sort_key(measure_id: str) -> tuple[int, str, int]:
    digits = "".join(ch for ch in measure_id if ch.isdigit())
    return (0 if measure_id.startswith("CMS") else 1, measure_id.rstrip("0123456789"), int(digits or 0))


__all__: list[str] = [
    "Catalogue", "VersionedMeasure", "builtin_classes", "describe_version", "in_force", "pick_version", "register",
    "resolve", "versions_of",
]
