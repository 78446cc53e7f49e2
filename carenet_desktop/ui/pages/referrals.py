"""Referrals and care coordination: the open referral loops by step."""

from __future__ import annotations

from .base import PlaceholderPage, Step


class ReferralsPage(PlaceholderPage):
    page_id = "referrals"
    title = "Referrals"
    icon_name = "referrals"
    tooltip = "Open referral loops and care coordination"
    summary = "Every open referral loop, from the moment it is placed until the report comes back."
    will_hold = (
        "A board of open referrals by step: placed, scheduled, seen, report received; "
        "overdue loops highlighted.",
        "Recording each step as it happens.",
        "Help Me Grow and social-needs referrals as first-class kinds, next to behavioral health "
        "and specialist referrals.",
    )
    steps = (
        Step("Referrals arrive with imported data (FHIR ServiceRequest and Task resources):",
             "carenet import fhir FILE"),
    )
