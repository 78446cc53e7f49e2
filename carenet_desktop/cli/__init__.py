"""The ``carenet`` command: the same services as the window, without one.

Each command group lives in its own module with a ``register(subparsers, parent)`` function.
User errors print one line and exit non-zero; tracebacks are for bugs only.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence

from .. import APP_NAME, __version__
from ..diagnostics import format_details, summary, write_crash_report
from ..models.database import DatabaseError
from ..services.context import ServiceError
from . import (
    audit_cmd,
    demo_cmd,
    exchange_cmd,
    gaps_cmd,
    gui_cmd,
    import_cmd,
    measures_cmd,
    practices_cmd,
    report_cmd,
    store_cmd,
    users_cmd,
)

COMMAND_MODULES = (gui_cmd, demo_cmd, practices_cmd, import_cmd, measures_cmd, gaps_cmd, exchange_cmd, report_cmd,
                   audit_cmd, store_cmd, users_cmd)


class UserError(Exception):
    """A mistake in how the command was called (bad argument, missing file)."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="carenet", description=f"{APP_NAME}: pediatric care-network quality tracking.")
    parser.add_argument("--version", action="version", version=f"{APP_NAME} {__version__}")
    parser.add_argument("--db", default=None, help="database file or SQLAlchemy URL (default: $CARENET_DB or the user-data folder)")
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress details to stderr")
    parser.add_argument("--user", default=None, help="sign in as this user (password: prompt or $CARENET_PASSWORD)")
    parser.add_argument("--allow-network-share", action="store_true", default=False,
                        help="open a SQLite file on a network share even though its locking is unsafe there")
    # --db (and --user) are accepted after the subcommand too ("carenet demo --db demo.db")
    parent = argparse.ArgumentParser(add_help=False)
    parent.add_argument("--db", default=argparse.SUPPRESS, help="database file or SQLAlchemy URL")
    parent.add_argument("--user", default=argparse.SUPPRESS, help="sign in as this user")
    parent.add_argument("--allow-network-share", action="store_true", default=argparse.SUPPRESS,
                        help="open a SQLite file on a network share anyway")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in COMMAND_MODULES:
        module.register(subparsers, parent)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    if args.command is None:
        args = parser.parse_args(["gui", *(argv or sys.argv[1:])])
    try:
        return int(args.func(args) or 0)
    except (UserError, ServiceError, DatabaseError, FileNotFoundError) as exc:
        message = exc.strerror + f": {exc.filename}" if isinstance(exc, FileNotFoundError) and exc.filename else str(exc)
        print(f"carenet: error: {message}", file=sys.stderr)
        return 2 if isinstance(exc, UserError) else 1
    except KeyboardInterrupt:
        print("carenet: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # a bug: report it without its message, which may quote patient data
        if os.environ.get("CARENET_DEBUG"):
            raise
        details = format_details(type(exc), exc.__traceback__, exc=exc)
        report = write_crash_report(details)
        print(f"carenet: unexpected error: {summary(type(exc), exc.__traceback__)}." + (f" A report without patient data was saved as {report}." if report else ""),
              file=sys.stderr)
        return 70


def gui_main() -> int:
    """Entry point of the windowed launcher (no console on Windows)."""
    return main(["gui", *sys.argv[1:]])


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
