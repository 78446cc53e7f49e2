"""The main window's pages, in navigation order. A new screen replaces its placeholder class here."""

from __future__ import annotations

from .administration import AdministrationPage
from .base import Page
from .care_gaps import CareGapsPage
from .data_entry import DataEntryPage
from .huddle import HuddlePage
from .imports import ImportsPage
from .network import NetworkPage
from .patients import PatientsPage
from .referrals import ReferralsPage
from .reports import ReportsPage
from .scorecards import ScorecardsPage
from .settings import SettingsPage

PAGE_CLASSES: tuple[type[Page], ...] = (
    NetworkPage,
    ScorecardsPage,
    CareGapsPage,
    HuddlePage,
    PatientsPage,
    ReferralsPage,
    DataEntryPage,
    ImportsPage,
    ReportsPage,
    SettingsPage,
    AdministrationPage,
)
#: the page shown on first start (before a last page is remembered)
HOME_PAGE = ScorecardsPage.page_id

PAGE_IDS = tuple(cls.page_id for cls in PAGE_CLASSES)

__all__ = ["HOME_PAGE", "PAGE_CLASSES", "PAGE_IDS", "Page"]
