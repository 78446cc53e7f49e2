"""The QApplication: names (for QSettings), high-DPI policy, the light theme, a readable font, the error hook."""

from __future__ import annotations

import logging
import sys
from collections.abc import Sequence

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QFont, QGuiApplication, QPalette
from PySide6.QtWidgets import QApplication

from .. import APP_NAME, __version__
from .errors import ErrorHandler
from .resources import icon, read_text
from .settings import APPLICATION, ORGANISATION

log = logging.getLogger(__name__)

#: Smallest body text size in points; platform defaults of 8-9 pt are hard to read on a clinic monitor.
MIN_POINT_SIZE = 10.0

# The light palette the style sheet is designed for (used for widgets the sheet does not style).
_PALETTE = {
    QPalette.ColorRole.Window: "#f4f6f9",
    QPalette.ColorRole.WindowText: "#1f2933",
    QPalette.ColorRole.Base: "#ffffff",
    QPalette.ColorRole.AlternateBase: "#f7f9fb",
    QPalette.ColorRole.Text: "#1f2933",
    QPalette.ColorRole.Button: "#ffffff",
    QPalette.ColorRole.ButtonText: "#1f2933",
    QPalette.ColorRole.Highlight: "#0b6e99",
    QPalette.ColorRole.HighlightedText: "#ffffff",
    QPalette.ColorRole.ToolTipBase: "#ffffff",
    QPalette.ColorRole.ToolTipText: "#1f2933",
    QPalette.ColorRole.PlaceholderText: "#7b8794",
    QPalette.ColorRole.Link: "#0b6e99",
}


def create_application(argv: Sequence[str] | None = None, *, headless: bool = False) -> tuple[QApplication, ErrorHandler]:
    """Create (or reuse) the QApplication, theme it and install the unexpected-error handler."""
    existing = QApplication.instance()
    if existing is None:
        QGuiApplication.setHighDpiScaleFactorRoundingPolicy(Qt.HighDpiScaleFactorRoundingPolicy.PassThrough)
        app = QApplication(list(argv) if argv is not None else sys.argv[:1])
    else:
        assert isinstance(existing, QApplication)
        app = existing
    configure_application(app)
    handler = ErrorHandler(headless=headless)
    handler.install()
    return app, handler


def configure_application(app: QApplication) -> None:
    """Names, icon, style, palette, font and style sheet; safe to call on an existing application."""
    app.setApplicationName(APPLICATION)
    app.setOrganizationName(ORGANISATION)
    app.setApplicationDisplayName(APP_NAME)
    app.setApplicationVersion(__version__)
    app.setWindowIcon(icon("app"))
    apply_theme(app)


def apply_theme(app: QApplication) -> None:
    app.setStyle("Fusion")  # the same look on every platform; the sheet below refines it
    palette = QPalette()
    for role, colour in _PALETTE.items():
        palette.setColor(role, QColor(colour))
    palette.setColor(QPalette.ColorGroup.Disabled, QPalette.ColorRole.Text, QColor("#9aa5b1"))
    palette.setColor(QPalette.ColorGroup.Disabled, QPalette.ColorRole.ButtonText, QColor("#9aa5b1"))
    app.setPalette(palette)
    hints = app.styleHints()
    if hasattr(hints, "setColorScheme"):  # Qt >= 6.8: stay light when the desktop is in dark mode
        hints.setColorScheme(Qt.ColorScheme.Light)
    font = QFont(app.font())
    if font.pointSizeF() < MIN_POINT_SIZE:
        font.setPointSizeF(MIN_POINT_SIZE)
    app.setFont(font)
    sheet = read_text("style", "light.qss")
    if not sheet:
        log.warning("Style sheet resources/style/light.qss not found; using the plain style")
    app.setStyleSheet(sheet)
