"""Where the shipped resources (code catalogue, style sheet, icons) are, in a checkout or a bundle."""

from __future__ import annotations

import os
import sys
from pathlib import Path


def resources_dir() -> Path:
    """``$CARENET_RESOURCES``, else the PyInstaller bundle's folder, else ``resources/`` of the checkout."""
    env = os.environ.get("CARENET_RESOURCES")
    if env:
        return Path(env)
    bundle = getattr(sys, "_MEIPASS", None)
    if bundle:
        return Path(bundle) / "resources"
    return Path(__file__).resolve().parents[1] / "resources"


def resource(*parts: str) -> Path:
    return resources_dir().joinpath(*parts)


def user_guide() -> Path:
    """The user guide (Markdown, its screenshots beside it): ``docs/`` of the bundle or of the checkout."""
    bundle = getattr(sys, "_MEIPASS", None)
    root = Path(bundle) if bundle else Path(__file__).resolve().parents[1]
    return root / "docs" / "user-guide.md"
