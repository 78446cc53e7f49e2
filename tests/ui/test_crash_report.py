"""The window's error handler writes a crash report with the stack but never the exception's message."""

from __future__ import annotations

import os
from pathlib import Path

from carenet_desktop.ui.errors import ErrorHandler


def test_handler_writes_a_report_without_the_message(qapp, capsys):
    secret = "Ann Example, MRN 4242-77"
    handler = ErrorHandler(headless=True)
    try:
        raise KeyError(secret)
    except KeyError as exc:
        handler(type(exc), exc, exc.__traceback__)
    assert handler.errors == 1 and handler.last_report is not None
    assert handler.last_report.parent == Path(os.environ["CARENET_CRASH_DIR"])
    text = handler.last_report.read_text()
    assert "KeyError" in text and "test_handler_writes_a_report_without_the_message" in text
    assert secret not in text and secret not in capsys.readouterr().err
