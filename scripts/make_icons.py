"""Render resources/icons/app.svg to the installer icons: carenet.png (256 px, Linux), carenet.ico (Windows)
and, where Qt has the ICNS writer (macOS), carenet.icns.

    QT_QPA_PLATFORM=offscreen .venv/bin/python scripts/make_icons.py
"""

from __future__ import annotations

import sys
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication, QImage, QImageWriter, QPainter
from PySide6.QtSvg import QSvgRenderer

ICONS = Path(__file__).resolve().parents[1] / "resources" / "icons"


def render(size: int) -> QImage:
    image = QImage(size, size, QImage.Format.Format_ARGB32)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    QSvgRenderer(str(ICONS / "app.svg")).render(painter)
    painter.end()
    return image


def main() -> int:
    _app = QGuiApplication(sys.argv[:1])
    written = []
    if render(256).save(str(ICONS / "carenet.png"), "PNG"):
        written.append("carenet.png")
    formats = {bytes(f).decode() for f in QImageWriter.supportedImageFormats()}
    if "ico" in formats and render(256).save(str(ICONS / "carenet.ico"), "ICO"):
        written.append("carenet.ico")
    if "icns" in formats and render(512).save(str(ICONS / "carenet.icns"), "ICNS"):
        written.append("carenet.icns")
    print("wrote", ", ".join(written), "in", ICONS)
    return 0 if written else 1


if __name__ == "__main__":
    sys.exit(main())
