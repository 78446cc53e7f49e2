"""The ``carenet`` command: the same services as the window, without one.

Each command group lives in its own module with a ``register(subparsers, parent)`` function.
User errors print one line and exit non-zero; tracebacks are for bugs only.

The command modules are imported when the parser is built, and only the one the command line names
(``_modules_for``): for the window (``carenet gui``, the default) or ``--version`` only ``gui_cmd``, for
``carenet measures evaluate`` only ``measures_cmd``. The others pull in reportlab, signing, FHIR and the
rest, about a second of start-up a practice manager double-clicking the icon (or a script evaluating the
measures) should not wait for. Help before the command word, or a word no module registers, builds the
whole parser (its help lists every command; its error names them).
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
from collections.abc import Sequence
from types import ModuleType

from .. import APP_NAME, __version__, key_ahead
from ..diagnostics import format_details, summary, write_crash_report
from ..models.database import DatabaseError
from ..models.full_disk import FILE_DISK_FULL, is_disk_full
from ..services.context import ServiceError
from .common import SIGNED_IN_ATTR, close_opened, end_progress_lines, open_context
from .gate import authorize, name_commands

#: the command modules of this package, in the order ``carenet --help`` lists them
COMMAND_MODULES = ("gui_cmd", "demo_cmd", "practices_cmd", "import_cmd", "measures_cmd", "gaps_cmd", "huddle_cmd",
                   "letters_cmd", "exchange_cmd", "report_cmd", "audit_cmd", "store_cmd", "users_cmd")
#: each command word (the word after ``carenet``) -> the module that registers it
#: (``tests/test_cli_lazy_commands.py`` checks it against what the modules register)
COMMAND_WORDS = {"gui": "gui_cmd", "demo": "demo_cmd", "practices": "practices_cmd", "import": "import_cmd",
                 "measures": "measures_cmd", "gaps": "gaps_cmd", "huddle": "huddle_cmd", "letters": "letters_cmd",
                 "export": "exchange_cmd", "keys": "exchange_cmd", "submissions": "exchange_cmd",
                 "report": "report_cmd", "audit": "audit_cmd", "backup": "store_cmd", "backups": "store_cmd",
                 "restore": "store_cmd", "check": "store_cmd", "encrypt": "store_cmd", "users": "users_cmd"}
#: global options that take a value (to find the command word in ``argv``)
_VALUE_OPTIONS = frozenset({"--db", "--user"})


class UserError(Exception):
    """A mistake in how the command was called (bad argument, missing file)."""


def _module(name: str) -> ModuleType:
    return importlib.import_module(f".{name}", __name__)


def _command_word(argv: Sequence[str]) -> tuple[str | None, int]:
    """The command word of ``argv`` (the first argument that is not an option or an option's value) and its
    position; ``(None, len(argv))`` when there is none."""
    skip = False
    for at, arg in enumerate(argv):
        if skip:
            skip = False
        elif arg in _VALUE_OPTIONS:
            skip = True
        elif not arg.startswith("-"):
            return arg, at
    return None, len(argv)


def _modules_for(argv: Sequence[str]) -> tuple[str, ...]:
    """The command modules the parser of ``argv`` needs: the named command's only; ``gui_cmd`` when none is
    named (the window, ``--version``); every module for help before the command word or an unknown word."""
    word, at = _command_word(argv)
    if any(a in ("-h", "--help") for a in argv[:at]):
        return COMMAND_MODULES
    if word is None:
        return ("gui_cmd",)
    module = COMMAND_WORDS.get(word)
    return (module,) if module is not None else COMMAND_MODULES


def build_parser(commands: Sequence[str] = COMMAND_MODULES) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="carenet", description=f"{APP_NAME}: pediatric care-network quality tracking.")
    parser.add_argument("--version", action="version", version=f"{APP_NAME} {__version__}")
    parser.add_argument("--db", default=None, help="database file or SQLAlchemy URL (default: $CARENET_DB or the user-data folder)")
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress details to stderr")
    parser.add_argument("--user", default=None, help="sign in as this user (password: prompt or $CARENET_PASSWORD)")
    parser.add_argument("--allow-network-share", action="store_true", default=False,
                        help="open a SQLite file on a network share even though its locking is unsafe there")
    parser.add_argument("--no-encryption", action="store_true", default=False,
                        help="a store this command creates is a plain file (default: encrypted; passphrase "
                             "asked for, or $CARENET_DB_PASSPHRASE)")
    # --db (and --user) are accepted after the subcommand too ("carenet demo --db demo.db")
    parent = argparse.ArgumentParser(add_help=False)
    parent.add_argument("--db", default=argparse.SUPPRESS, help="database file or SQLAlchemy URL")
    parent.add_argument("--user", default=argparse.SUPPRESS, help="sign in as this user")
    parent.add_argument("--allow-network-share", action="store_true", default=argparse.SUPPRESS,
                        help="open a SQLite file on a network share anyway")
    parent.add_argument("--no-encryption", action="store_true", default=argparse.SUPPRESS,
                        help="create a new store as a plain file")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in commands:
        _module(name).register(subparsers, parent)
    name_commands(parser)
    return parser


#: the commands that compute measures over the whole store
_POOLED_COMMANDS = ("gui", "report")


def main(argv: Sequence[str] | None = None) -> int:
    words = list(sys.argv[1:] if argv is None else argv)
    if argv is None:  # the store's key derived beside the command's imports (``key_ahead``; once a process)
        key_ahead.start(words)
    parser = build_parser(_modules_for(words))
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    if args.command is None:
        args = parser.parse_args(["gui", *(argv or sys.argv[1:])])
    pooled = args.command in _POOLED_COMMANDS
    if pooled:  # whole-store computes in worker processes: the window never waits on them, trends use every core
        from ..services import compute_pool

        compute_pool.configure()
    succeeded = False
    try:
        ctx = authorize(args, open_context)  # the command's row in cli.gate.COMMANDS, before anything runs
        if ctx is not None:
            ctx.db.dispose()  # no connection held while the command runs (restore replaces the file)
            setattr(args, SIGNED_IN_ATTR, ctx)
        status = int(args.func(args) or 0)
        succeeded = status == 0
        return status
    except (UserError, ServiceError, DatabaseError, FileNotFoundError) as exc:
        end_progress_lines()
        message = f"{exc.strerror}: {exc.filename}" if isinstance(exc, FileNotFoundError) and exc.filename else str(exc)
        print(f"carenet: error: {message}", file=sys.stderr)
        return 2 if isinstance(exc, UserError) else 1
    except KeyboardInterrupt:
        end_progress_lines()
        print("carenet: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # a bug: report it without its message, which may quote patient data
        if is_disk_full(exc):  # not a bug: a file (export, backup, report) found no room
            print(f"carenet: error: {FILE_DISK_FULL}", file=sys.stderr)
            return 1
        if os.environ.get("CARENET_DEBUG"):
            raise
        end_progress_lines()
        details = format_details(type(exc), exc.__traceback__, exc=exc)
        report = write_crash_report(details)
        print(f"carenet: unexpected error: {summary(type(exc), exc.__traceback__)}." + (f" A report without patient data was saved as {report}." if report else ""),
              file=sys.stderr)
        return 70
    finally:
        if pooled:
            compute_pool.configure(0)  # the workers stop; a later command in this process starts its own
        # a command that ended well keeps what it wrote warm; the window keeps its own (ui.session)
        close_opened(keep_snapshots=succeeded and args.command != "gui")


def gui_main() -> int:
    """Entry point of the windowed launcher (no console on Windows)."""
    key_ahead.start(sys.argv[1:])  # as main does for its own command line
    return main(["gui", *sys.argv[1:]])


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
