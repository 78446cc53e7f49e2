"""``carenet import submission ZIP...``: the network office takes in practices' signed packages."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..services.context import ServiceError
from ..services.submissions import import_submission
from .common import open_context


def register_import(subparsers: argparse._SubParsersAction, parent: argparse.ArgumentParser) -> None:
    p = subparsers.add_parser(
        "submission", parents=[parent],
        help="network office: practices' submission packages (.zip); each verified (signature, checksums, "
             "format) and stored whole or refused whole",
    )
    p.add_argument("packages", nargs="+", type=Path, metavar="ZIP")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    ctx = open_context(args)
    rejected = 0
    for path in args.packages:
        try:
            result = import_submission(ctx, path)
        except ServiceError as exc:  # nothing of this package was written
            rejected += 1
            print(f"REJECTED  {exc}")
            continue
        if result.status == "superseded":
            note = "kept in the history (a newer package of this practice and period is current)"
        elif result.superseded:
            note = f"current; supersedes submission {', '.join(map(str, result.superseded))}"
        else:
            note = "current"
        print(f"ACCEPTED  {path.name}: practice {result.practice_code}, period {result.period_label}, "
              f"{result.rows} rows, submission {result.id} ({note})")
        for warning in result.version_warnings:
            print(f"  VERSION  {warning} for period {result.period_label}: the totals are stored; compare with care")
    print(f"{len(args.packages) - rejected} accepted, {rejected} rejected")
    return 1 if rejected else 0
