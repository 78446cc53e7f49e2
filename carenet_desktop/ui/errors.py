"""The one handler for unexpected errors (bugs): a dialog with "Copy details", a log entry without data.

Expected failures (``ServiceError``, a database that cannot be opened) never come here: screens show
their message where it belongs. Everything else — an exception in a slot, in a background task — ends
up in :func:`handle_exception`.
"""

from __future__ import annotations

import logging
import sys
import threading
import types
from collections.abc import Callable
from pathlib import Path

from PySide6 import QtCore
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QApplication,
    QDialog,
    QDialogButtonBox,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from ..diagnostics import format_details, summary, write_crash_report
from .tasks import ExceptionInfo

log = logging.getLogger(__name__)


class ErrorDialog(QDialog):
    """Tells the user something went wrong, without jargon; the details are one click away."""

    def __init__(self, headline: str, details: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Something went wrong")
        self.setObjectName("errorDialog")
        self.details = details
        layout = QVBoxLayout(self)
        text = QLabel(
            "<b>CareNet Desktop ran into an unexpected problem.</b><br>"
            "Data that was already saved is not affected. If it happens again, please send the details to your "
            "support contact (they contain no patient information)."
        )
        text.setWordWrap(True)
        layout.addWidget(text)
        where = QLabel(headline)
        where.setObjectName("errorHeadline")
        where.setTextInteractionFlags(QtCore.Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(where)
        self.details_view = QPlainTextEdit(details)
        self.details_view.setReadOnly(True)
        self.details_view.setAccessibleName("Error details")
        self.details_view.setMinimumSize(520, 180)
        self.details_view.setVisible(False)
        layout.addWidget(self.details_view)
        buttons = QDialogButtonBox()
        self.copy_button = QPushButton("Copy details")
        self.copy_button.setToolTip("Copy the technical details to the clipboard")
        self.copy_button.clicked.connect(self.copy_details)
        self.show_button = QPushButton("Show details")
        self.show_button.setCheckable(True)
        self.show_button.setToolTip("Show the technical details")
        self.show_button.toggled.connect(self.details_view.setVisible)
        buttons.addButton(self.copy_button, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.addButton(self.show_button, QDialogButtonBox.ButtonRole.ActionRole)
        close = buttons.addButton(QDialogButtonBox.StandardButton.Close)
        close.setDefault(True)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)

    def copy_details(self) -> None:
        QGuiApplication.clipboard().setText(self.details)
        self.copy_button.setText("Copied")


class ErrorHandler:
    """Installed as ``sys.excepthook``. ``headless`` (screenshots, scripts): print and remember, no dialog."""

    def __init__(self, *, headless: bool = False, on_headless_error: Callable[[], None] | None = None) -> None:
        self.headless = headless
        self.on_headless_error = on_headless_error
        self.errors = 0
        self.last_report: Path | None = None
        self._showing = False

    def install(self) -> None:
        sys.excepthook = self.__call__
        threading.excepthook = self._thread_hook

    def _thread_hook(self, args: threading.ExceptHookArgs) -> None:
        if args.exc_value is not None:
            self(args.exc_type, args.exc_value, args.exc_traceback)

    def __call__(self, exc_type: type[BaseException], exc: BaseException, tb: types.TracebackType | None) -> None:
        if issubclass(exc_type, KeyboardInterrupt):
            sys.__excepthook__(exc_type, exc, tb)
            return
        self.errors += 1
        details = format_details(exc_type, tb, qt_version=QtCore.qVersion(), exc=exc)
        log.error("Unexpected error:\n%s", details)
        self.last_report = write_crash_report(details)
        if self.last_report is not None:
            details += f"\nThis report was saved as {self.last_report}\n"
        if self.headless or QApplication.instance() is None:
            sys.stderr.write(f"carenet: unexpected error: {summary(exc_type, tb)}\n{details}")
            if self.on_headless_error is not None:
                self.on_headless_error()
            return
        if self._showing:  # one dialog at a time; a cascade of errors goes to the log only
            return
        if threading.current_thread() is not threading.main_thread():
            return  # widgets only on the GUI thread; background work reports through its Task instead
        self._showing = True
        try:
            ErrorDialog(summary(exc_type, tb), details, QApplication.activeWindow()).exec()
        finally:
            self._showing = False

    def handle_task_crash(self, info: ExceptionInfo) -> None:
        self(info.exc_type, info.exc, info.tb)
