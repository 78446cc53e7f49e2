"""Patients: search, patient page with timeline and status in every measure."""

from __future__ import annotations

from .base import PlaceholderPage, Step


class PatientsPage(PlaceholderPage):
    page_id = "patients"
    title = "Patients"
    icon_name = "patients"
    tooltip = "Find a patient; see their history and measure status"
    summary = "Find a child by name, MRN or birth date and see everything the network knows about their care."
    will_hold = (
        "Search by name, MRN or birth date over every practice you may see.",
        "A patient page with demographics, payer and coverage, and a timeline of visits, "
        "immunizations, screenings, diagnoses, prescriptions and referrals.",
        "The patient's status in every measure: met, due, overdue or excluded, and why.",
    )
    steps = (
        Step("Load patients from an EHR's FHIR export (bundles or bulk NDJSON):", "carenet import fhir FILE"),
        Step("or from a spreadsheet export of the EHR:", "carenet import csv FILE"),
    )
