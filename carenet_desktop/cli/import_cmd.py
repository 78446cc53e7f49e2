"""``carenet import ...``: the import command group. Each import kind registers its own subcommand."""

from __future__ import annotations

import argparse

from . import import_csv_cmd, import_fhir_cmd, import_submission_cmd

IMPORT_MODULES = (import_fhir_cmd, import_csv_cmd, import_submission_cmd)


def register(subparsers: argparse._SubParsersAction, parent: argparse.ArgumentParser) -> None:
    p = subparsers.add_parser("import", help="import data: FHIR bundles/NDJSON, EHR CSV/Excel exports, submission packages")
    sub = p.add_subparsers(dest="import_command", metavar="KIND", required=True)
    for module in IMPORT_MODULES:
        module.register_import(sub, parent)
