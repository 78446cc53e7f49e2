"""FHIR R4 interchange: reading Bundles and bulk NDJSON into records for the store (no database here)."""

from .mapping import MAPPERS, MappingContext, map_resource, payer_category
from .reader import ParsedFile, collect_paths, iter_resources, parse_file
from .records import KIND_ORDER, Problem, Record
from .values import MappingError, parse_date, parse_datetime

__all__ = [
    "KIND_ORDER",
    "MAPPERS",
    "MappingContext",
    "MappingError",
    "ParsedFile",
    "Problem",
    "Record",
    "collect_paths",
    "iter_resources",
    "map_resource",
    "parse_date",
    "parse_datetime",
    "parse_file",
    "payer_category",
]
