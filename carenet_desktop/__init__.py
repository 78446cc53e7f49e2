"""CareNet Desktop: quality tracking for a pediatric care network."""

from __future__ import annotations

from importlib import metadata

from . import ast_turns

ast_turns.install()  # NumPy's header parses on reader threads, beside any other parse (CPython gh-106905)

try:
    __version__ = metadata.version("carenet-desktop")
except metadata.PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0.0.0+source"

APP_NAME = "CareNet Desktop"
