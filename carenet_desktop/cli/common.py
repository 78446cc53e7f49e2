"""Helpers shared by the command modules: opening the store, a terminal progress bar."""

from __future__ import annotations

import argparse
import sys
import time

from ..models.database import Database, open_database
from ..services.context import Progress, ServiceContext


def open_context(args: argparse.Namespace, *, username: str = "cli") -> ServiceContext:
    db: Database = open_database(getattr(args, "db", None))
    return ServiceContext(db, username=username)


class TerminalProgress:
    """A one-line progress bar on stderr (plain lines when stderr is not a terminal)."""

    def __init__(self, label: str = "", *, stream=None) -> None:  # type: ignore[no-untyped-def]
        self.stream = stream or sys.stderr
        self.label = label
        self.tty = self.stream.isatty()
        self._last_print = 0.0
        self._last_message = ""
        self.started = time.perf_counter()

    def __call__(self, fraction: float, message: str) -> None:
        now = time.perf_counter()
        if self.tty:
            if now - self._last_print < 0.1 and fraction < 1.0:
                return
            width = 30
            filled = int(width * fraction)
            bar = "#" * filled + "-" * (width - filled)
            self.stream.write(f"\r{self.label} [{bar}] {fraction * 100:5.1f}% {message[:50]:<50}")
            if fraction >= 1.0:
                self.stream.write("\n")
            self.stream.flush()
        elif message != self._last_message and (now - self._last_print >= 2.0 or fraction >= 1.0):
            self.stream.write(f"{self.label} {fraction * 100:5.1f}% {message}\n")
            self.stream.flush()
            self._last_message = message
        self._last_print = now

    def progress(self) -> Progress:
        return Progress(self)
