"""``carenet import csv FILE --kind KIND ...``, ``carenet import list``, ``carenet import undo ID``."""

from __future__ import annotations

import argparse
import sys
from typing import TextIO

from ..interchange.tabular import KINDS
from ..services import intake
from ..wording import count
from .common import TerminalProgress, open_context


def register_import(subparsers: argparse._SubParsersAction, parent: argparse.ArgumentParser) -> None:
    p = subparsers.add_parser("csv", parents=[parent], help="import an EHR export (.csv or .xlsx)",
                              description="Import an EHR export. All-or-nothing unless --valid-rows-only.")
    p.add_argument("file", help="the .csv or .xlsx file")
    p.add_argument("--kind", required=True, choices=KINDS, help="what the file holds")
    p.add_argument("--profile", help="saved column-mapping profile of the practice")
    p.add_argument("--save-profile", metavar="NAME", help="save the mapping used under this profile name")
    p.add_argument("--practice", help="practice code (needed when the store has several practices)")
    p.add_argument("--map", action="append", default=[], metavar="FIELD=HEADER",
                   help="map a field to a column header (repeatable; FIELD= un-maps)")
    p.add_argument("--date-format", action="append", default=[], metavar="FIELD=FORMAT",
                   help="date format of a field: iso, us, us-short, us-dash, dmy-slash, dmy, dmy-dot, compact, excel")
    p.add_argument("--encoding", help="text encoding (default: detected)")
    p.add_argument("--delimiter", help="field delimiter (default: detected)")
    p.add_argument("--sheet", help="worksheet name of an .xlsx file (default: the first)")
    p.add_argument("--valid-rows-only", action="store_true", help="import the valid rows, report the others")
    p.add_argument("--rejections", metavar="FILE.csv", help="write the rejection report here (it quotes the rejected cells: patient data)")
    p.add_argument("--preview", action="store_true", help="show the mapping and the problems; write nothing")
    p.set_defaults(func=run_csv)

    p = subparsers.add_parser("list", parents=[parent], help="list imports (tab-separated)")
    p.add_argument("--limit", type=int, default=50)
    p.set_defaults(func=run_list)

    p = subparsers.add_parser("undo", parents=[parent], help="undo an import as a whole")
    p.add_argument("id", type=int, help="import id (see 'carenet import list')")
    p.set_defaults(func=run_undo)


def _pairs(values: list[str], what: str) -> dict[str, str]:
    from . import UserError

    out: dict[str, str] = {}
    for item in values:
        if "=" not in item:
            raise UserError(f"{what} must look like FIELD=VALUE, not {item!r}")
        key, value = item.split("=", 1)
        out[key.strip()] = value.strip()
    return out


def run_csv(args: argparse.Namespace) -> int:
    ctx = open_context(args)
    options = {k: v for k, v in (("encoding", args.encoding), ("delimiter", args.delimiter),
                                 ("sheet", args.sheet)) if v}
    if options.get("delimiter") == "\\t":
        options["delimiter"] = "\t"
    mapping = _pairs(args.map, "--map")
    formats = _pairs(args.date_format, "--date-format")
    if args.preview:
        pv = intake.preview_file(ctx, args.file, args.kind, practice_code=args.practice, profile=args.profile,
                                 mapping=mapping, date_formats=formats, options=options)
        print("field\tcolumn\tdate format")
        for field, header in pv.mapping.mapping.items():
            print(f"{field}\t{header}\t{pv.mapping.date_formats.get(field, '')}")
        print(f"{count(pv.total_rows, 'row')}, {pv.rejected_rows} would be rejected")
        _print_problems(pv.problems)
        if args.rejections:
            from ..interchange.tabular import write_rejections

            write_rejections(pv.problems, args.rejections)
        return 0
    bar = TerminalProgress("import")
    ctx.progress = bar.progress()
    result = intake.import_file(ctx, args.file, args.kind, practice_code=args.practice, profile=args.profile,
                                mapping=mapping, date_formats=formats, valid_rows_only=args.valid_rows_only,
                                rejections=args.rejections, options=options, save_profile_as=args.save_profile)
    bar.finish()
    report = f" (report: {result.rejections_path})" if result.rejections_path else ""
    if result.written:
        print(f"import {result.import_id}: {result.rows} rows, {result.added} added, {result.updated} updated, "
              f"{result.unchanged} unchanged, {result.rejected} rejected{report}")
        return 0
    print(f"carenet: error: {result.rejected} of {result.rows} rows rejected; nothing imported "
          f"(use --valid-rows-only to import the others){report}", file=sys.stderr)
    if not result.rejections_path:
        _print_problems(result.problems, stream=sys.stderr)
    return 1


def _print_problems(problems, limit: int = 20, stream: TextIO | None = None) -> None:  # problems: a DataFrame
    stream = stream or sys.stdout
    for rec in problems.head(limit).itertuples(index=False):
        print(f"  row {rec.row}: {rec.column}: {rec.reason}", file=stream)
    if len(problems) > limit:
        print(f"  ... and {len(problems) - limit} more (write them all with --rejections FILE.csv)", file=stream)


def run_list(args: argparse.Namespace) -> int:
    ctx = open_context(args)
    print("id\tstarted\tuser\tpractice\tformat\trecords\tfile\tstatus\tadded\tupdated\trejected")
    for i in intake.list_imports(ctx, args.limit):
        print(f"{i.id}\t{i.started_at:%Y-%m-%d %H:%M}\t{i.username or ''}\t{i.practice_code or ''}\t{i.kind}\t"
              f"{i.records or ''}\t{i.file_name or ''}\t{i.status}\t{i.added}\t{i.updated}\t{i.rejected}")
    return 0


def run_undo(args: argparse.Namespace) -> int:
    ctx = open_context(args)
    result = intake.undo_import(ctx, args.id)
    print(f"import {result.import_id} undone: {result.deleted} rows deleted, {result.restored} restored")
    return 0
