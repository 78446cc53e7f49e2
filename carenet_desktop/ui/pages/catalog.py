"""The main window's pages as the navigation lists them, without importing them.

The window builds a page the first time it is shown or asked for (``MainWindow.pages``): its navigation entry
(title, icon, tooltip, the permission it needs) comes from here, so a start imports and builds only the pages
it shows (the network and the scorecard). Each entry names its class by module and name;
``tests/ui/test_page_catalog.py`` checks that the class says the same as its entry.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .base import Page


@dataclass(frozen=True)
class PageInfo:
    """One page as the navigation shows it; :meth:`page_class` imports it."""

    page_id: str
    #: the module of ``carenet_desktop.ui.pages`` that defines the class, and the class's name
    module: str
    class_name: str
    title: str
    icon_name: str
    tooltip: str
    #: the permission (``services.permissions.ACTIONS``) a role needs to see the page at all
    requires: str | None = None

    def page_class(self) -> type[Page]:
        module = importlib.import_module(f"{__package__}.{self.module}")
        cls: type[Page] = getattr(module, self.class_name)
        return cls


#: the pages in navigation order (Ctrl+1 ... Ctrl+9 for the first nine)
PAGES: tuple[PageInfo, ...] = (
    PageInfo("network", "network", "NetworkPage", "Network", "network",
             "Every practice's rates side by side (a heat map), and the network's practices"),
    PageInfo("scorecards", "scorecards", "ScorecardsPage", "Scorecards", "scorecards",
             "Quality measures per practice and period"),
    PageInfo("care_gaps", "care_gaps", "CareGapsPage", "Care gaps", "care_gaps",
             "Children due or overdue for recommended care: one row per child, with outreach", "patients.read"),
    PageInfo("huddle", "huddle", "HuddlePage", "Daily huddle", "huddle",
             "Today's and tomorrow's scheduled children with the care gaps each visit could close", "patients.read"),
    PageInfo("patients", "patients", "PatientsPage", "Patients", "patients",
             "Find a patient; see their history and measure status", "patients.read"),
    PageInfo("referrals", "referrals", "ReferralsPage", "Referrals", "referrals",
             "Open referral loops and care coordination", "patients.read"),
    PageInfo("data_entry", "data_entry", "DataEntryPage", "Data entry", "data_entry",
             "Record visits, immunizations, screenings and activities by hand", "patients.write"),
    PageInfo("imports", "imports", "ImportsPage", "Imports", "imports",
             "Bring in EHR exports: choose a file, match its columns, check, import", "patients.write"),
    PageInfo("reports", "reports", "ReportsPage", "Reports", "reports",
             "Printable scorecards, spreadsheets and the network submission"),
    PageInfo("settings", "settings", "SettingsPage", "Settings", "settings", "Where data is kept; preferences"),
    PageInfo("administration", "administration", "AdministrationPage", "Administration", "administration",
             "Accounts, the audit trail and backups (network administrators)", "users.manage"),
)
#: each page's entry by its id
PAGE_INFO: dict[str, PageInfo] = {info.page_id: info for info in PAGES}
PAGE_IDS: tuple[str, ...] = tuple(info.page_id for info in PAGES)
#: the page shown on first start (before a last page is remembered)
HOME_PAGE = "scorecards"
