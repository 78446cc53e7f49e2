"""The measure catalogue: every ``Measure`` subclass registered with ``@register``.

Measure modules live in ``carenet_desktop.metrics.measures`` and are imported on first use.
"""

from __future__ import annotations

import importlib
import logging
import pkgutil

from .definition import Measure

log = logging.getLogger(__name__)

_REGISTRY: dict[str, Measure] = {}
_LOAD_ERRORS: dict[str, str] = {}
_loaded = False


def register(cls: type[Measure]) -> type[Measure]:
    if cls.id in _REGISTRY and type(_REGISTRY[cls.id]) is not cls:
        raise ValueError(f"Measure id {cls.id} registered twice")
    _REGISTRY[cls.id] = cls()
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


def get_measure(measure_id: str) -> Measure:
    _load()
    try:
        return _REGISTRY[measure_id.upper()] if measure_id.upper() in _REGISTRY else _REGISTRY[measure_id]
    except KeyError:
        known = ", ".join(m.id for m in all_measures())
        raise KeyError(f"Unknown measure {measure_id!r}. Known: {known}") from None


def _sort_key(measure_id: str) -> tuple[int, str, int]:
    digits = "".join(ch for ch in measure_id if ch.isdigit())
    return (0 if measure_id.startswith("CMS") else 1, measure_id.rstrip("0123456789"), int(digits or 0))
