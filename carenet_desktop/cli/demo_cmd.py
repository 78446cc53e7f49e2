"""``carenet demo``: build the synthetic demo network into a database."""

from __future__ import annotations

import argparse
import datetime as dt

from ..demo import DemoError, build_demo
from ..services.context import ServiceError
from ..services.valuesets import ensure_default_catalogue
from .common import TerminalProgress, open_context


def _date(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {value!r}") from exc


def _positive(value: str) -> int:
    try:
        number = int(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not a whole number: {value!r}") from exc
    if number < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return number


def register(subparsers: argparse._SubParsersAction, parent: argparse.ArgumentParser) -> None:
    p = subparsers.add_parser(
        "demo", parents=[parent], help="build the synthetic demo network (deterministic per seed)",
        description="Build a realistic synthetic care network: practices, providers, children 0-21 and three "
                    "years of visits, immunizations, screenings, diagnoses, prescriptions and referrals.")
    p.add_argument("--practices", type=_positive, default=12, help="number of practices (default 12)")
    p.add_argument("--patients", type=_positive, default=20000, help="number of children (default 20000)")
    p.add_argument("--seed", type=int, default=2025, help="random seed (default 2025)")
    p.add_argument("--as-of", type=_date, default=None, dest="as_of",
                   help="last day with data, YYYY-MM-DD (default: the last day of the previous month)")
    p.add_argument("--replace", action="store_true", help="delete the network already in the database first")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    ctx = open_context(args, username="demo")
    bar = TerminalProgress("demo")
    try:
        summary = build_demo(ctx.db, practices=args.practices, patients=args.patients, seed=args.seed,
                             as_of=args.as_of, progress=bar.progress(), replace=args.replace)
        ensure_default_catalogue(ctx)  # the value sets the demo's codes belong to
        bar.finish()
    except DemoError as exc:
        raise ServiceError(str(exc)) from exc
    finally:
        ctx.db.dispose()
    print(f"{summary.line()} -> {summary.database}")
    return 0
