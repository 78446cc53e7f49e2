"""``carenet letters``: reminder letters for chosen children of a practice (PDF), logged as outreach."""

from __future__ import annotations

import argparse
import datetime as dt
from pathlib import Path

from sqlalchemy import select

from ..models import Patient, Practice
from ..services.letters import FOLLOW_UP_DAYS, reminder_letters
from .common import TerminalProgress, open_context
from .gaps_cmd import _date


def register(subparsers: argparse._SubParsersAction, parent: argparse.ArgumentParser) -> None:
    p = subparsers.add_parser(
        "letters", parents=[parent], help="reminder letters to families about their child's care gaps (PDF)",
        description="Write a reminder letter for each child named (a page each) listing the care the child "
                    "is due for, in Spanish for Spanish-speaking families and in English otherwise, and log "
                    f"a letter outreach attempt for each (follow-up in {FOLLOW_UP_DAYS} days). Children "
                    "without an open care gap get no letter.")
    p.add_argument("--practice", required=True, metavar="CODE", help="practice code")
    p.add_argument("--mrn", required=True, action="append", metavar="MRN", help="a child's MRN (repeatable)")
    p.add_argument("--as-of", type=_date, metavar="DATE", help="the letters' date (default: today)")
    p.add_argument("--out", required=True, type=Path, metavar="FILE.pdf", help="where to write the letters")
    p.add_argument("--paper", choices=("letter", "a4"), default="letter", help="paper size (default: letter)")
    p.add_argument("--no-log", action="store_true", help="do not log the letters as outreach attempts")
    p.set_defaults(func=run_letters)


def run_letters(args: argparse.Namespace) -> int:
    from . import UserError

    if args.out.suffix.lower() != ".pdf":
        raise UserError(f"--out must end in .pdf: {args.out.name}")
    ctx = open_context(args)
    ctx.progress = TerminalProgress("Letters").progress()
    with ctx.db.session() as s:
        found = dict(s.execute(select(Patient.mrn, Patient.id).join(Practice, Practice.id == Patient.practice_id)
                               .where(Practice.code == args.practice, Patient.mrn.in_(args.mrn))).all())
    unknown = [m for m in args.mrn if m not in found]
    if unknown:
        raise UserError(f"{len(unknown)} MRN(s) are not patients of {args.practice}.")
    result = reminder_letters(ctx, args.practice, [found[m] for m in args.mrn], args.out,
                              as_of=args.as_of or dt.date.today(), paper=args.paper, log_outreach=not args.no_log)
    spanish = sum(1 for letter in result.letters if letter.language == "es")
    print(f"Wrote {len(result.letters)} letter(s) ({spanish} in Spanish) to {args.out}; "
          f"{len(result.skipped)} child(ren) without an open care gap skipped; {result.logged} outreach attempt(s) "
          "logged")
    return 0
