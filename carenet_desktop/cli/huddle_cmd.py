"""``carenet huddle``: the daily huddle sheet (pre-visit planning) of a practice, written as a PDF."""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from pathlib import Path

from ..services.huddle import print_huddle
from .common import TerminalProgress, open_context
from .gaps_cmd import _date


def register(subparsers: argparse._SubParsersAction, parent: argparse.ArgumentParser) -> None:
    p = subparsers.add_parser(
        "huddle", parents=[parent], help="the daily huddle sheet: each scheduled child and the gaps the visit could close",
        description="Write the huddle sheet of a practice for one day (PDF): each child scheduled that day "
                    "(booked, arrived or checked in), by provider and time, with every care gap that the visit "
                    "could close (vaccines due, screenings, lead test, well-child visit ...). One page or more "
                    "per provider. The sheet names children: keep it with the care team.")
    p.add_argument("--practice", required=True, metavar="CODE", help="practice code")
    p.add_argument("--date", type=_date, metavar="DATE", help="the day of the visits (default: today)")
    p.add_argument("--out", required=True, type=Path, metavar="FILE.pdf", help="where to write the sheet")
    p.add_argument("--paper", choices=("letter", "a4"), default="letter", help="paper size (default: letter)")
    p.set_defaults(func=run_huddle)


def run_huddle(args: argparse.Namespace) -> int:
    from . import UserError

    if args.out.suffix.lower() != ".pdf":
        raise UserError(f"--out must end in .pdf: {args.out.name}")
    day = args.date or dt.date.today()
    ctx = open_context(args)
    ctx.progress = TerminalProgress("Huddle").progress()
    huddle = print_huddle(ctx, args.practice, day, args.out, paper=args.paper)
    children = len({v.patient_id for v in huddle.visits})
    print(f"Wrote the huddle sheet of practice {args.practice} for {day.isoformat()}: {len(huddle.visits)} "
          f"visit(s), {children} child(ren), {huddle.gap_count} care gap(s), {max(len(huddle.providers), 1)} "
          f"provider page(s) to {args.out}")
    for measure_id, error in huddle.failures.items():
        print(f"carenet: warning: {measure_id} has no care gaps: {error}", file=sys.stderr)
    return 1 if huddle.failures else 0
