"""``carenet audit verify|export``: check the audit trail's hash chain; write it out for review."""

from __future__ import annotations

import argparse
import datetime as dt
from pathlib import Path

from ..services.audit_export import export_audit, verify_audit
from ..wording import count
from .common import open_context


def register(subparsers: argparse._SubParsersAction, parent: argparse.ArgumentParser) -> None:
    p = subparsers.add_parser("audit", help="the audit trail: verify its hash chain, export it",
                              description="Every change and every export of patient data is recorded in a "
                                          "hash-chained audit trail: an edited or removed entry breaks the chain.")
    sub = p.add_subparsers(dest="audit_command", metavar="ACTION", required=True)
    verify = sub.add_parser("verify", parents=[parent], help="recompute the chain; exit 1 if an entry was altered")
    verify.set_defaults(func=run_verify)
    export = sub.add_parser("export", parents=[parent], help="write the trail to .csv or .jsonl")
    export.add_argument("--out", required=True, type=Path, metavar="FILE.csv|.jsonl")
    export.add_argument("--since", type=dt.date.fromisoformat, metavar="YYYY-MM-DD", help="only entries from this day")
    export.set_defaults(func=run_export)


def run_verify(args: argparse.Namespace) -> int:
    report = verify_audit(open_context(args))
    if report.intact:
        print(f"Audit trail intact: {count(report.entries, 'entry', 'entries')}, every keyed hash, link and the head's seal verified.")
        print(f"Head: {report.head_hash} (compare with the head in a backup's manifest or a submission package: "
              "a trail rewritten since shows there)")
        return 0
    if report.end_problem:
        print(f"Audit trail BROKEN: {report.end_problem}.")
    if report.broken:
        shown = ", ".join(str(i) for i in report.broken[:10]) + (" ..." if len(report.broken) > 10 else "")
        print(f"Audit trail BROKEN: {len(report.broken)} of {report.entries:,} entries do not match their keyed hash "
              f"or their link to the previous entry, or mark a lost head or key (first: entry {report.broken[0]}; "
              f"all: {shown}). An entry was edited, removed or inserted outside the application.")
    return 1


def run_export(args: argparse.Namespace) -> int:
    written = export_audit(open_context(args), args.out, args.since)
    print(f"Wrote {written:,} audit entries to {args.out}")
    return 0
