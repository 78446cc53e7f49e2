"""``carenet import fhir PATH...``: FHIR R4 Bundles (``.json``) and bulk-data NDJSON (``.ndjson``)."""

from __future__ import annotations

import argparse

from ..services.fhir_import import DEFAULT_PRACTICE, import_fhir
from .common import TerminalProgress, open_context


def register_import(subparsers: argparse._SubParsersAction, parent: argparse.ArgumentParser) -> None:
    p = subparsers.add_parser(
        "fhir",
        parents=[parent],
        help="import FHIR R4 Bundles (.json) and bulk NDJSON (.ndjson); directories are searched recursively",
    )
    p.add_argument("paths", nargs="+", metavar="PATH", help="files or directories")
    p.add_argument("--practice", metavar="CODE", default=None,
                   help=f"practice the patients belong to (created if missing; default {DEFAULT_PRACTICE})")
    p.add_argument("--strict", action="store_true", help="import nothing if any resource is malformed")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    ctx = open_context(args)
    bar = TerminalProgress("Import")
    ctx.progress = bar.progress()
    result = import_fhir(ctx, args.paths, practice_code=args.practice, strict=args.strict)
    bar.finish()
    print(f"FHIR import #{result.import_id}: {result.summary}")
    for problem in result.problems:
        print(f"  {problem}")
    if result.mrn_kept_apart:
        shown = ", ".join(f"Patient/{sid}" for sid in result.mrn_kept_apart[:5])
        more = f" and {len(result.mrn_kept_apart) - 5} more" if len(result.mrn_kept_apart) > 5 else ""
        print(f"  note: {shown}{more}: the MRN is another FHIR patient's (a different FHIR id), so each was kept "
              "as a patient of its own, with its FHIR id as MRN")
    return 1 if result.failed_files else 0
