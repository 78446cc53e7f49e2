"""The window's start imports what its first scorecard needs: the PDF writers (reportlab, PIL) wait until
something is printed (a huddle sheet, letters, a report)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_window_modules_do_not_import_the_pdf_writers():
    code = ("import sys; import carenet_desktop.ui.main_window, carenet_desktop.ui.pages.scorecards, "
            "carenet_desktop.ui.startup, carenet_desktop.ui.session; "
            "print(sorted(m for m in ('reportlab', 'PIL', 'carenet_desktop.reports.pdf_huddle', "
            "'carenet_desktop.reports.pdf_letters') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True,
                         env={**os.environ, "PYTHONPATH": str(ROOT), "QT_QPA_PLATFORM": "offscreen"})
    assert out.stdout.strip() == "[]"


def test_the_window_start_imports_only_the_pages_it_builds():
    """The navigation lists every page from ``pages.catalog``; the window imports a page's module when it first
    builds the page, so its start imports the network and scorecard pages only (and not the data-entry service
    the form helpers name, nor the submission packages' writing and signing: the scorecard's submitted totals
    come from ``services.submitted``)."""
    later = ("care_gaps", "huddle", "patients", "referrals", "data_entry", "imports", "reports", "settings",
             "administration")
    code = ("import sys; import carenet_desktop.cli, carenet_desktop.ui.launch, carenet_desktop.ui.main_window; "
            f"print(sorted(m for m in {[f'carenet_desktop.ui.pages.{p}' for p in later]!r} + "
            "['carenet_desktop.services.entry', 'carenet_desktop.ui.import_wizard', 'carenet_desktop.services.submissions', "
            "'carenet_desktop.interchange.submission'] if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True,
                         env={**os.environ, "PYTHONPATH": str(ROOT), "QT_QPA_PLATFORM": "offscreen"})
    assert out.stdout.strip() == "[]"
