"""The shipped measure catalogue for tests: the built-in measures and the measure files, read once by the
service that builds catalogues (``services.catalogue_source``), with the lookups tests use."""

from __future__ import annotations

from carenet_desktop.metrics.catalogue import Catalogue
from carenet_desktop.metrics.definition import Measure
from carenet_desktop.metrics.period import Period
from carenet_desktop.services.catalogue_source import load_catalogue

CATALOGUE: Catalogue = load_catalogue()


def get_measure(measure_id: str, version: str | None = None) -> Measure:
    return CATALOGUE.get(measure_id, version)


def all_measures() -> list[Measure]:
    return CATALOGUE.all()


def version_in_force(measure_id: str, period: Period) -> str:
    return CATALOGUE.version_in_force(measure_id, period)
