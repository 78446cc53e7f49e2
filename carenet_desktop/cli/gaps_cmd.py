"""``carenet gaps``: the care-gap worklist of a practice, written to CSV or Excel."""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from pathlib import Path

from ..metrics.period import Period
from ..services.worklist import export_child_worklist
from ..wording import count
from .common import TerminalProgress, open_context


def register(subparsers: argparse._SubParsersAction, parent: argparse.ArgumentParser) -> None:
    p = subparsers.add_parser(
        "gaps", parents=[parent], help="care gaps: who still misses what, and by when (CSV or Excel)",
        description="Write the care-gap worklist of a practice: one row per child with each gap that an "
                    "action can still close named once (soonest due first), the last visit and the last "
                    "outreach attempt; --detail writes one row per gap: which measure and rate, what is "
                    "missing and by when.")
    add_gap_arguments(p)
    p.set_defaults(func=run_gaps)


def add_gap_arguments(p: argparse.ArgumentParser) -> None:
    """The worklist's options (shared with ``carenet export gaps``)."""
    p.add_argument("--practice", required=True, metavar="CODE", help="practice code")
    p.add_argument("--measure", action="extend", nargs="+", metavar="ID", help="measure id (several, or repeated; default: all)")
    p.add_argument("--period", help="2025, 2025-Q3, 2025-07 or 2025-01-01..2025-12-31 "
                                    "(default: the calendar year of --as-of)")
    p.add_argument("--due-within", type=_days, metavar="DAYS",
                   help="only gaps due within DAYS days of --as-of, plus upcoming ones (children whose "
                        "deadline falls in that window and who do not meet the measure yet)")
    p.add_argument("--as-of", type=_date, metavar="DATE", help="the reference day (default: today)")
    p.add_argument("--out", required=True, type=Path, metavar="FILE.csv|.xlsx", help="where to write the worklist")
    p.add_argument("--detail", action="store_true",
                   help="one row per gap (measure, rate, what is missing) instead of one row per child")


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from None


def _days(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of days: {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError("the number of days must be 0 or more")
    return value


def run_gaps(args: argparse.Namespace) -> int:
    from . import UserError

    if args.out.suffix.lower() not in (".csv", ".xlsx"):
        raise UserError(f"--out must end in .csv or .xlsx: {args.out.name}")
    as_of = args.as_of or dt.date.today()
    try:
        period = Period.parse(args.period) if args.period else Period.year(as_of.year)
    except ValueError as exc:
        raise UserError(str(exc)) from None
    ctx = open_context(args)
    bar = TerminalProgress("Care gaps")
    ctx.progress = bar.progress()
    result = export_child_worklist(ctx, args.out, period, args.practice, args.measure, args.due_within, as_of,
                                   detail=args.detail)
    bar.finish()
    rows = result.gaps if args.detail else result.children
    counts = rows["status"].value_counts()
    detail = ", ".join(f"{int(counts[s])} {s}" for s in ("overdue", "upcoming", "open") if s in counts)
    gaps = int(result.children["gap_count"].sum()) if len(rows) else 0
    what = (count(len(result.gaps), "care gap row") if args.detail else
            f"{count(len(result.children), 'child', 'children')} with {count(gaps, 'care gap')}")
    print(f"Wrote {what} for practice {args.practice}, period {period.label}"
          f"{f' ({detail})' if detail else ''} to {args.out}")
    failures = result.failures
    for measure_id, error in failures.items():
        print(f"carenet: warning: {measure_id} has no care gaps: {error}", file=sys.stderr)
    return 1 if failures else 0
