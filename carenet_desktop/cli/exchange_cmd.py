"""The exchange with the network office on the command line.

``carenet export submission|results|gaps``  (a practice's signed package, aggregate results, care gaps)
``carenet keys show|create|trust|revoke|list``  (signing keys: a practice's own, the office's trusted ones)
``carenet submissions``  (the office's history of imported packages, current and superseded)
``carenet import submission ZIP...`` is registered with the other import kinds (import_submission_cmd).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..metrics.period import Period
from ..services import keys as key_service
from ..services.results_export import export_results
from ..services.submissions import export_submission, list_submissions
from .common import TerminalProgress, open_context, text_table


def register(subparsers: argparse._SubParsersAction, parent: argparse.ArgumentParser) -> None:
    _register_export(subparsers, parent)
    _register_keys(subparsers, parent)
    p = subparsers.add_parser("submissions", parents=[parent], help="network office: imported packages (history)")
    p.set_defaults(func=run_submissions)


def _register_export(subparsers: argparse._SubParsersAction, parent: argparse.ArgumentParser) -> None:
    p = subparsers.add_parser("export", help="export: submission package, results, care gaps")
    sub = p.add_subparsers(dest="export_command", metavar="WHAT", required=True)
    s = sub.add_parser("submission", parents=[parent], help="a practice's signed package for the network office",
                       description="Aggregate results (counts and rates per measure, group and stratum; cells "
                                   "of 1-10 suppressed) with a manifest and an Ed25519 signature. No patient "
                                   "identifiers leave the practice.")
    s.add_argument("--practice", required=True, metavar="CODE")
    s.add_argument("--period", required=True, help="2025, 2025-Q3, 2025-07 or 2025-01-01..2025-12-31")
    s.add_argument("--out", required=True, type=Path, metavar="FILE.zip")
    s.set_defaults(func=run_export_submission)
    r = sub.add_parser("results", parents=[parent], help="rates per measure and practice (.xlsx or .csv)")
    r.add_argument("--period", required=True)
    r.add_argument("--practice", action="extend", nargs="+", metavar="CODE", help="practice code (several, or repeated; default: all)")
    r.add_argument("--measure", action="extend", nargs="+", metavar="ID", help="measure id (several, or repeated; default: all)")
    r.add_argument("--format", choices=("xlsx", "csv"), help="default: from the --out suffix")
    r.add_argument("--out", required=True, type=Path, metavar="FILE")
    r.set_defaults(func=run_export_results)
    from . import gaps_cmd

    g = sub.add_parser("gaps", parents=[parent], help="a practice's care-gap worklist (same as `carenet gaps`)")
    gaps_cmd.add_gap_arguments(g)
    m = sub.add_parser("measurereport", parents=[parent], help="a FHIR R4 MeasureReport (.json) of one measure",
                       description="Population counts and score of one measure for a period (summary), or with "
                                   "the list of patients in each population (--subject-list: patient-level data, "
                                   "audited; patients are referenced by their internal id only).")
    m.add_argument("--measure", required=True, metavar="ID")
    m.add_argument("--period", required=True)
    m.add_argument("--practice", action="extend", nargs="+", metavar="CODE", help="practice code (several, or repeated; default: network)")
    m.add_argument("--subject-list", action="store_true", help="include the patients of each population")
    m.add_argument("--out", required=True, type=Path, metavar="FILE.json")
    m.set_defaults(func=run_export_measurereport)
    g.add_argument("--format", choices=("xlsx", "csv"), help="default: from the --out suffix")
    g.set_defaults(func=run_export_gaps)


def _register_keys(subparsers: argparse._SubParsersAction, parent: argparse.ArgumentParser) -> None:
    p = subparsers.add_parser("keys", help="signing keys of submission packages")
    sub = p.add_subparsers(dest="keys_command", metavar="ACTION", required=True)
    show = sub.add_parser("show", parents=[parent], help="the practice's public key (created on first use), to "
                                                         "send to the network office")
    show.add_argument("--practice", metavar="CODE", help="default: the only practice of this database")
    show.add_argument("--out", type=Path, metavar="FILE.pem", help="write the key to a file instead of printing it")
    show.set_defaults(func=run_keys_show)
    create = sub.add_parser("create", parents=[parent], help="a new key pair for the practice (retires the old one)")
    create.add_argument("--practice", metavar="CODE")
    create.set_defaults(func=run_keys_create)
    trust = sub.add_parser("trust", parents=[parent], help="network office: trust a practice's public key")
    trust.add_argument("--practice", required=True, metavar="CODE")
    trust.add_argument("file", type=Path, metavar="FILE.pem")
    trust.set_defaults(func=run_keys_trust)
    revoke = sub.add_parser("revoke", parents=[parent], help="network office: stop trusting a key")
    revoke.add_argument("--practice", required=True, metavar="CODE")
    revoke.add_argument("fingerprint", help="the fingerprint, or its first 8 characters or more")
    revoke.set_defaults(func=run_keys_revoke)
    listing = sub.add_parser("list", parents=[parent], help="network office: the trusted keys")
    listing.set_defaults(func=run_keys_list)


def _period(text: str) -> Period:
    from . import UserError

    try:
        return Period.parse(text)
    except ValueError as exc:
        raise UserError(str(exc)) from None


def _output(path: Path, fmt: str | None) -> Path:
    from . import UserError

    if fmt is not None and path.suffix.lower() != f".{fmt}":
        path = path.with_suffix(f".{fmt}") if not path.suffix else path
        if path.suffix.lower() != f".{fmt}":
            raise UserError(f"--format {fmt} does not match the file name {path.name}")
    if path.suffix.lower() not in (".csv", ".xlsx"):
        raise UserError(f"--out must end in .csv or .xlsx: {path.name}")
    return path


def run_export_submission(args: argparse.Namespace) -> int:
    ctx = open_context(args)
    bar = TerminalProgress("Submission")
    ctx.progress = bar.progress()
    result = export_submission(ctx, args.practice, _period(args.period), args.out)
    bar.finish()
    print(f"Wrote {result.path}: practice {result.practice_code}, period {result.period.label}, {result.rows} rows "
          f"({result.suppressed} suppressed small cells), signed with key {result.key_fingerprint[:16]}")
    for measure_id, error in result.failures.items():
        print(f"carenet: warning: {measure_id} is not in the package: {error}", file=sys.stderr)
    return 1 if result.failures else 0


def run_export_results(args: argparse.Namespace) -> int:
    out = _output(args.out, args.format)
    ctx = open_context(args)
    bar = TerminalProgress("Results")
    ctx.progress = bar.progress()
    table = export_results(ctx, _period(args.period), out, args.practice, args.measure)
    bar.finish()
    print(f"Wrote {len(table)} result rows to {out}")
    failures = table.attrs.get("failures", {})
    for measure_id, error in failures.items():
        print(f"carenet: warning: {measure_id} is not in the file: {error}", file=sys.stderr)
    return 1 if failures else 0


def run_export_measurereport(args: argparse.Namespace) -> int:
    from ..services.measure_report import export_measure_report

    report = export_measure_report(open_context(args), args.measure, _period(args.period), args.out, args.practice,
                                   subject_list=args.subject_list)
    scores = ", ".join(f"{g['id']} {g['measureScore']['value'] * 100:.1f}%" for g in report["group"]
                       if "measureScore" in g)
    print(f"Wrote the {report['type']} MeasureReport of {args.measure.upper()} to {args.out}"
          + (f" ({scores})" if scores else ""))
    return 0


def run_export_gaps(args: argparse.Namespace) -> int:
    from . import gaps_cmd

    args.out = _output(args.out, args.format)
    return gaps_cmd.run_gaps(args)


def run_keys_show(args: argparse.Namespace) -> int:
    info = key_service.own_public_key(open_context(args), args.practice)
    if args.out:
        args.out.write_text(info.pem, encoding="ascii")
        print(f"Wrote the public key of practice {info.practice_code} to {args.out} "
              f"(fingerprint {key_service.format_fingerprint(info.fingerprint)})")
    else:
        print(info.pem, end="" if info.pem.endswith("\n") else "\n")
        print(f"# practice {info.practice_code}, fingerprint {key_service.format_fingerprint(info.fingerprint)}",
              file=sys.stderr)
    return 0


def run_keys_create(args: argparse.Namespace) -> int:
    info = key_service.create_signing_key(open_context(args), args.practice)
    print(f"New signing key for practice {info.practice_code}: {key_service.format_fingerprint(info.fingerprint)} "
          "(send `carenet keys show` to the network office)")
    return 0


def run_keys_trust(args: argparse.Namespace) -> int:
    info = key_service.trust_key(open_context(args), args.practice, args.file.read_text(encoding="ascii",
                                                                                          errors="replace"))
    print(f"Trusted key {key_service.format_fingerprint(info.fingerprint)} for practice {info.practice_code}")
    return 0


def run_keys_revoke(args: argparse.Namespace) -> int:
    n = key_service.revoke_key(open_context(args), args.practice, args.fingerprint)
    print(f"Revoked {n} key(s) of practice {args.practice}")
    return 0


def run_keys_list(args: argparse.Namespace) -> int:
    keys = key_service.trusted_keys(open_context(args))
    if not keys:
        print("No trusted keys yet: `carenet keys trust --practice CODE FILE.pem`.")
    for k in keys:
        print(f"{k.practice_code}\t{key_service.format_fingerprint(k.fingerprint)}")
    return 0


def run_submissions(args: argparse.Namespace) -> int:
    table = list_submissions(open_context(args))
    if table.empty:
        print("No submissions imported yet: `carenet import submission FILE.zip ...`.")
        return 0
    rows = []
    for rec in table.to_dict("records"):
        status = str(rec["status"])
        if rec["superseded_by"] is not None and rec["superseded_by"] == rec["superseded_by"]:  # not None/NaN
            status = f"{status} by #{int(rec['superseded_by'])}"
        rows.append([f"#{rec['id']}", rec["practice_code"], rec["period"], status, f"{int(rec['rows']):,}",
                     _when(rec["created_at"]), _when(rec["imported_at"]), rec["imported_by"] or "",
                     key_service.format_fingerprint(str(rec["key_fingerprint"] or ""))[:21] + "…",
                     "as expected" if rec["version_check"] == "as expected" else "differs (below)"])
    print(text_table(["Submission", "Practice", "Period", "Status", "Rows", "Created", "Imported", "By", "Key",
                      "Measure versions"], rows))
    for rec in table.to_dict("records"):
        if rec["version_check"] != "as expected":
            print(f"#{rec['id']} ({rec['practice_code']}, {rec['period']}): {rec['version_check']}")
    return 0


def _when(value: object) -> str:
    """A timestamp to the minute ("2026-01-05 14:03"), or "" when there is none."""
    if value is None or value != value:  # None or NaT/NaN
        return ""
    text = str(value)
    return text[:16].replace("T", " ")
