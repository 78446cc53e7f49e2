"""``carenet measures``: list the catalogue, load value sets, evaluate measures."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import sys
from pathlib import Path

from ..metrics.period import Period, rolling_12_months
from ..services.context import ServiceContext
from ..services.evaluation import (
    STRATIFY_FIELDS,
    Evaluation,
    evaluate,
    export_patient_results,
    grouped_summary,
    summary,
)
from ..services.practices import list_practices
from ..services.valuesets import load_valuesets
from .common import TerminalProgress, open_context


def register(subparsers: argparse._SubParsersAction, parent: argparse.ArgumentParser) -> None:
    p = subparsers.add_parser("measures", help="the measure catalogue: list, load value sets, evaluate")
    sub = p.add_subparsers(dest="measures_command", metavar="ACTION", required=True)

    ls = sub.add_parser("list", help="the measures of the catalogue, one line per version (tab-separated)")
    ls.set_defaults(func=run_list)

    vs = sub.add_parser("load-valuesets", parents=[parent], help="load FHIR ValueSet files (Bundles or single)")
    vs.add_argument("files", nargs="+", metavar="FILE")
    vs.set_defaults(func=run_load_valuesets)

    va = sub.add_parser("validate", parents=[parent],
                        help="check a network-defined measure file (JSON/TOML); with --db, its value sets too")
    va.add_argument("files", nargs="+", metavar="FILE")
    va.set_defaults(func=run_validate)

    ev = sub.add_parser("evaluate", parents=[parent], help="evaluate measures for a period")
    when = ev.add_mutually_exclusive_group(required=True)
    when.add_argument("--period", help="2025, 2025-Q3, 2025-07 or 2025-01-01..2025-12-31")
    when.add_argument("--start", type=_date, help="first day of the period (with --end)")
    ev.add_argument("--end", type=_date, help="last day of the period (with --start)")
    ev.add_argument("--measure", action="extend", nargs="+", metavar="ID", help="measure id (several, or repeated; default: all)")
    ev.add_argument("--practice", action="extend", nargs="+", metavar="CODE", help="practice code (several, or repeated; default: all)")
    ev.add_argument("--patient-results", type=Path, metavar="FILE.csv",
                    help="write one row per patient x measure x group")
    ev.add_argument("--summary", type=Path, metavar="FILE", help="write totals and rates (.csv or .json)")
    ev.add_argument("--by", choices=("network", "practice", "provider"), default="network",
                    help="totals for the whole network (default), or per practice or provider")
    ev.add_argument("--stratify", choices=STRATIFY_FIELDS, help="split the totals by a patient stratum")
    ev.add_argument("--rolling", action="store_true",
                    help="also the 12 rolling 12-month periods ending each month up to the period's end (trend)")
    ev.add_argument("--measure-version", action="extend", nargs="+", metavar="VERSION",
                    help="force a measure version instead of the one in force for the period (for comparison): "
                         "ID=VERSION, a version (e.g. 0.3.000) or a year (2025: the versions in force then); "
                         "repeatable")
    ev.set_defaults(func=run_evaluate)


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from None


def run_list(args: argparse.Namespace) -> int:
    from ..metrics.catalogue import versions_of
    from ..services.catalogue_source import load_catalogue

    catalogue = load_catalogue()
    measures = catalogue.all()
    print("id\tversion\tperiods\ttitle\tbasis\tgroups\timprovement\tlibraries")
    for m in measures:
        for v in versions_of(m):
            libraries = v.lib.title if v.source == "ecqm" else v.source
            print(f"{v.id}\t{v.version or '-'}\t{v.periods_label}\t{v.title}\t{v.basis}\t{len(v.groups)}\t"
                  f"{v.improvement}\t{libraries}")
    for module, error in catalogue.load_errors.items():
        print(f"carenet: warning: measure module {module} not loaded: {error}", file=sys.stderr)
    for problem in (*catalogue.file_problems, *catalogue.problems):
        print(f"carenet: warning: measure file skipped: {problem}", file=sys.stderr)
    return 0


def run_load_valuesets(args: argparse.Namespace) -> int:
    ctx = open_context(args)
    result = load_valuesets(ctx, args.files)
    print(f"Loaded {result.summary}")
    for line in result.skipped:
        print(f"  skipped {line}")
    for line in result.warnings:
        print(f"  warning {line}")
    return 0


def run_validate(args: argparse.Namespace) -> int:
    from ..services.catalogue_source import validate_measure_file

    known = None
    if getattr(args, "db", None):
        from ..services.valuesets import load_index

        known = load_index(open_context(args).db).urls
    failed = 0
    for name in args.files:
        problems = validate_measure_file(name, known_valuesets=known)
        if problems:
            failed += 1
            for problem in problems:
                print(f"{name}: {problem}")
        else:
            print(f"{name}: valid")
    return 1 if failed else 0


def _period(args: argparse.Namespace) -> Period:
    from . import UserError as user_error

    if args.period:
        try:
            return Period.parse(args.period)
        except ValueError as exc:
            raise user_error(str(exc)) from None
    if args.end is None:
        raise user_error("--start needs --end")
    try:
        return Period(args.start, args.end)
    except ValueError as exc:
        raise user_error(str(exc)) from None


def run_evaluate(args: argparse.Namespace) -> int:
    period = _period(args)
    ctx = open_context(args)
    bar = TerminalProgress("Evaluate")
    ctx.progress = bar.progress()
    evaluation = evaluate(ctx, period, args.measure, args.practice, versions=args.measure_version)
    bar.finish()
    print(f"Evaluated {len(evaluation.measures)} measure(s) for {evaluation.patient_count} patient(s), "
          f"period {period.label}")
    for measure in evaluation.measures:
        used = evaluation.version_of(measure)
        how = "forced" if measure.id in evaluation.forced else f"in force for {period.label}"
        print(f"  {measure.id} version {used.version or '-'} ({how}; {used.periods_label})")
    grouped = args.by != "network" or args.stratify or args.rolling
    totals = _grouped_totals(ctx, evaluation, args) if grouped else summary(evaluation)
    for rec in totals.to_dict("records"):
        rate = "-" if rec["rate"] is None or (isinstance(rec["rate"], float) and math.isnan(rec["rate"])) \
            else f"{rec['rate'] * 100:.1f}%"
        where = "".join(f" {k}={rec[k]}" for k in ("period", "practice", "provider_id", args.stratify) if k and k in rec)
        print(f"  {rec['measure']} group {rec['group_index']}{where}: numerator {rec['numerator']} / "
              f"{rec['rate_base']} = {rate}")
    for mid, error in evaluation.errors.items():
        print(f"carenet: warning: {mid} not evaluated: {error}", file=sys.stderr)
    if args.patient_results:
        written = export_patient_results(ctx, evaluation, args.patient_results)
        print(f"Wrote {written} patient result row(s) to {args.patient_results}")
    if args.summary:
        args.summary.parent.mkdir(parents=True, exist_ok=True)
        if args.summary.suffix.lower() == ".json":
            payload = {"period": {"start": period.start.isoformat(), "end": period.end.isoformat()},
                       "versions": evaluation.versions,
                       "errors": evaluation.errors,
                       "groups": json.loads(totals.to_json(orient="records"))}
            args.summary.write_text(json.dumps(payload, indent=2), encoding="utf-8")
        else:
            totals.to_csv(args.summary, index=False)
        print(f"Wrote the summary to {args.summary}")
    return 1 if evaluation.errors else 0


def _grouped_totals(ctx: ServiceContext, evaluation: Evaluation, args: argparse.Namespace):  # -> DataFrame
    """Totals by practice/provider and stratum; with --rolling, for each rolling 12-month period too
    (the data is loaded once and each period evaluated over it)."""
    import pandas as pd

    frames = []
    periods = rolling_12_months(evaluation.period.end, 12) if args.rolling else [evaluation.period]
    for period in periods:
        run = evaluation if period == evaluation.period else evaluate(ctx, period, args.measure, args.practice,
                                                                      data=evaluation.data,
                                                                      versions=args.measure_version)
        frame = grouped_summary(run, args.by, args.stratify)
        if args.by == "practice":
            codes = {p.id: p.code for p in list_practices(ctx)}
            frame.insert(0, "practice", frame.pop("practice_id").map(codes))
        frame.insert(0, "period", period.label)
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)
