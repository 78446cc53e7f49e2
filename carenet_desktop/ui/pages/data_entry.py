"""Data entry: forms for what a practice records by hand."""

from __future__ import annotations

from .base import PlaceholderPage, Step


class DataEntryPage(PlaceholderPage):
    page_id = "data_entry"
    title = "Data entry"
    icon_name = "data_entry"
    tooltip = "Record visits, immunizations, screenings and activities by hand"
    summary = "Forms for what is not in an EHR export, or for practices without one."
    will_hold = (
        "Visits, immunizations (including vaccines not given, with the reason), screenings, "
        "care-coordination activities and aggregate entries.",
        "Validation messages beside the field as you type; every form usable from the keyboard alone.",
        "Undo of the last change.",
    )
    steps = (
        Step("Until the forms exist, bring data in from a spreadsheet:", "carenet import csv FILE"),
    )
