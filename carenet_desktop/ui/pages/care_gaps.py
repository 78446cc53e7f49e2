"""Care gaps: the outreach worklist of children who are due or overdue."""

from __future__ import annotations

from .base import PlaceholderPage, Step


class CareGapsPage(PlaceholderPage):
    page_id = "care_gaps"
    title = "Care gaps"
    icon_name = "care_gaps"
    tooltip = "Children due or overdue for recommended care"
    summary = "A worklist of the children who are due or overdue for a well visit, vaccine or screening."
    will_hold = (
        "Filters by measure, provider, due date and payer, and sorting on any column.",
        "Marking outreach as done, with a note, so the team does not call a family twice.",
        "Export of the list to Excel or CSV for outreach calls and letters.",
    )
    steps = (
        Step("Care gaps come from the measure results, so they need patient data first. "
             "Build a synthetic network to try the application:", "carenet demo"),
    )
