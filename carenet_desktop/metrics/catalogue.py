"""The measure catalogue: every ``Measure`` subclass registered with ``@register``, in all its versions.

Measure modules live in ``carenet_desktop.metrics.measures`` and are imported on first use. A measure is
(id, version, the periods it applies to): several classes may register the same id with different
versions and ``applies_to`` years (``cms117`` is the 2025 version, ``cms117_2026`` the 2026 one).
``get_measure(id)`` returns the measure as a whole - a ``VersionedMeasure`` when it has several versions -
whose ``evaluate``/``gaps`` use, for each period, the version in force (``in_force``);
``get_measure(id, version)`` returns one version. ``definitions_digest`` is a stable digest of the
definitions in force, for caches to key on.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import importlib
import logging
import pkgutil
from collections.abc import Iterable, Sequence
from typing import Any

import pandas as pd

from .data import MeasureData
from .definition import Measure
from .period import Period

log = logging.getLogger(__name__)

#: id -> the measure (a ``VersionedMeasure`` when the id has several versions)
_REGISTRY: dict[str, Measure] = {}
_LOAD_ERRORS: dict[str, str] = {}
_loaded = False


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
    """Add a measure class (one version of a measure) to the catalogue.

    Another class with the same id and version, a network measure reusing an id, or an id shared across
    sources (an eCQM and a custom measure) is an error."""
    current = _REGISTRY.get(cls.id)
    existing = versions_of(current) if current is not None else []
    for measure in existing:
        if measure.version == cls.version:
            if type(measure) is cls:
                return cls
            raise ValueError(f"Measure id {cls.id} registered twice")
    if existing and (cls.source == "custom" or any(m.source != cls.source for m in existing)):
        raise ValueError(f"Measure id {cls.id} registered twice")
    versions = [*existing, cls()]
    _REGISTRY[cls.id] = versions[0] if len(versions) == 1 else VersionedMeasure(versions)
    return cls


def _load() -> None:
    global _loaded
    if _loaded:
        return
    from . import measures

    for info in pkgutil.iter_modules(measures.__path__):
        try:
            importlib.import_module(f"{measures.__name__}.{info.name}")
        except Exception as exc:  # a broken measure module must not hide the others
            log.warning("Measure module %s failed to import: %s", info.name, type(exc).__name__)
            _LOAD_ERRORS[info.name] = f"{type(exc).__name__}: {exc}"
    from .custom import register_custom_measures  # the network office's measures, defined as data

    register_custom_measures()
    _loaded = True


def load_errors() -> dict[str, str]:
    """{measure module: error} for the modules that failed to import (empty when all loaded)."""
    _load()
    return dict(_LOAD_ERRORS)


def all_measures() -> list[Measure]:
    _load()
    return sorted(_REGISTRY.values(), key=lambda m: _sort_key(m.id))


def versions_of(measure: Measure | str) -> list[Measure]:
    """Every version of a measure, oldest first (one for a measure with a single version)."""
    m = _REGISTRY.get(measure) or get_measure(measure) if isinstance(measure, str) else measure
    return list(m.versions) if isinstance(m, VersionedMeasure) else [m]


def get_measure(measure_id: str, version: str | None = None) -> Measure:
    """The measure ``measure_id`` (all its versions), or one version of it: ``version`` is a version
    string ("0.3.000") or a measurement year ("2026": the version in force for that year)."""
    _load()
    try:
        measure = _REGISTRY[measure_id.upper()] if measure_id.upper() in _REGISTRY else _REGISTRY[measure_id]
    except KeyError:
        known = ", ".join(m.id for m in all_measures())
        raise KeyError(f"Unknown measure {measure_id!r}. Known: {known}") from None
    return measure if version is None else pick_version(measure, version)


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


def version_in_force(measure_id: str, period: Period) -> str:
    """The version string of ``measure_id`` that computes ``period``."""
    return resolve(get_measure(measure_id), period).version


def describe_version(measure: Measure) -> str:
    """One line naming a version, e.g. "CMS117 0.3.000 (2026 onward; QI-Core 6.0.0)"."""
    model = measure.lib.model if measure.source == "ecqm" else measure.source
    return f"{measure.id} {measure.version or '-'} ({measure.periods_label}; {model})"


def definitions_digest(period: Period | None = None, measure_ids: Sequence[str] | None = None) -> str:
    """A stable digest of the measure definitions in force: for ``period`` the version in force of each
    measure, else every version. It changes when a version, the years it applies to, its library edition,
    its value-set manifest, its groups or a network measure's definition changes (caches key on it)."""
    _load()
    chosen = [get_measure(i) for i in measure_ids] if measure_ids else all_measures()
    digest = hashlib.sha256()
    for measure in sorted(chosen, key=lambda m: m.id):
        versions = [resolve(measure, period)] if period is not None else versions_of(measure)
        for m in versions:
            parts: list[object] = [m.id, m.version, m.applies_to, type(m).__module__, type(m).__qualname__,
                                   m.lib.title, m.basis, m.improvement, [(g.title, g.populations) for g in m.groups],
                                   sorted((m.manifest or {}).items())]
            definition = getattr(m, "definition", None)
            if definition is not None:  # a network measure defined as data
                parts.append(repr(definition))
            digest.update(repr(parts).encode())
    return digest.hexdigest()


def _sort_key(measure_id: str) -> tuple[int, str, int]:
    digits = "".join(ch for ch in measure_id if ch.isdigit())
    return (0 if measure_id.startswith("CMS") else 1, measure_id.rstrip("0123456789"), int(digits or 0))


__all__: list[str] = [
    "VersionedMeasure", "all_measures", "definitions_digest", "describe_version", "get_measure", "in_force",
    "load_errors", "pick_version", "register", "resolve", "version_in_force", "versions_of",
]
