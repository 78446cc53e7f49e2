"""Imports: the import wizard over the intake services."""

from __future__ import annotations

from .base import PlaceholderPage, Step


class ImportsPage(PlaceholderPage):
    page_id = "imports"
    title = "Imports"
    icon_name = "imports"
    tooltip = "Bring in EHR exports and FHIR files"
    summary = "Bring data from an EHR or another practice into the network's database."
    will_hold = (
        "A wizard: choose a file, map its columns (mappings saved as profiles per EHR), "
        "preview with validation, import with progress and cancel.",
        "A summary of each import with the report of rejected rows and why.",
        "The history of past imports.",
    )
    steps = (
        Step("Import a FHIR R4 bundle or bulk-data NDJSON export:", "carenet import fhir FILE"),
        Step("Import an EHR's CSV or Excel export:", "carenet import csv FILE"),
    )
