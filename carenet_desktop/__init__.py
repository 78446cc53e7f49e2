"""CareNet Desktop: quality tracking for a pediatric care network."""

from __future__ import annotations

from importlib import metadata

try:
    __version__ = metadata.version("carenet-desktop")
except metadata.PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0.0.0+source"

APP_NAME = "CareNet Desktop"
