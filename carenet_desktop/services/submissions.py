"""The periodic submission from a practice to the network office, and its import at the office.

At the practice, :func:`export_submission` evaluates every measure for the practice and period, adds
the practice's self-reported figures, splits the counts by the equity strata, suppresses small cells
and writes the signed package (``interchange.submission``). Only counts leave the practice.

At the office, :func:`import_submission` verifies a package against the practice's trusted key and
stores its counts in one transaction (nothing at all when any check fails). A later package for the
same practice and period supersedes the earlier one, which stays listed (:func:`list_submissions`).
:func:`submitted_aggregates` (``services.submitted``) gives the current totals in the shape the scorecards take.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import func, select

from .. import __version__
from ..interchange.submission import (
    AGGREGATE_COLUMNS,
    Package,
    PackageError,
    PackageInfo,
    fingerprint,
    read_package,
    write_package,
)
from ..metrics.catalogue import Catalogue
from ..metrics.period import Period
from ..metrics.suppression import suppress_small_cells
from ..models import AggregateEntry, Practice, Submission, SubmittedAggregate
from ..models.changes import mark_practice_changed
from . import audit
from .changes import Area, Change, writes
from .context import ServiceContext, ServiceError
from .evaluation import STRATIFY_FIELDS, evaluate, grouped_summary
from .keys import WrappingKeys, signing_key, trusted_public_keys
from .permissions import require
from .submitted import _COUNTS, SUBMITTED_COLUMNS, submitted_aggregates


@dataclass(frozen=True)
class ExportedSubmission:
    path: Path
    practice_code: str
    period: Period
    rows: int
    suppressed: int
    manifest_sha256: str
    key_fingerprint: str
    failures: dict[str, str] = field(default_factory=dict)


# ------------------------------------------------------------------------------------------ practice


def submission_table(ctx: ServiceContext, practice_code: str, period: Period) -> tuple[pd.DataFrame, dict[str, str]]:
    """The package's rows (``AGGREGATE_COLUMNS``), small cells suppressed, and measures that failed."""
    evaluation = evaluate(ctx, period, practice_codes=[practice_code])
    pieces = [_cells(grouped_summary(evaluation, "network"), "")]
    for stratum in STRATIFY_FIELDS:
        pieces.append(_cells(grouped_summary(evaluation, "network", stratum), stratum))
    cells = pd.concat(pieces, ignore_index=True)
    groups = pd.DataFrame([(m.id, gi) for m in evaluation.measures for gi in range(len(m.groups))],
                          columns=["measure", "group_index"])
    cells = _with_zero_totals(cells, groups)
    cells = _self_reported(ctx, cells, practice_code, period)
    cells["measure_version"] = [evaluation.versions.get(m) or _measure_version(ctx.catalogue, m, period) for m in cells["measure"]]
    cells = suppress_small_cells(cells, keys=("measure", "group_index"))
    order = {name: i for i, name in enumerate(("", *STRATIFY_FIELDS))}
    cells = cells.assign(_o=cells["stratifier"].map(order)).sort_values(
        ["measure", "group_index", "_o", "stratum"], kind="stable").drop(columns="_o")
    return cells[list(AGGREGATE_COLUMNS)].reset_index(drop=True), dict(evaluation.errors)


def _measure_version(catalogue: Catalogue, measure_id: str, period: Period) -> str:
    """The version of a measure in force for ``period`` ('' for a measure this catalogue does not know)."""
    try:
        return catalogue.version_in_force(measure_id, period)
    except KeyError:
        return ""


def version_differences(catalogue: Catalogue, manifest: Mapping[str, Any], period: Period) -> list[str]:
    """The measures a package computed with another version than this catalogue has in force for its
    period, e.g. "CMS117 computed with 0.1.000, expected 0.3.000" (measures unknown here are not judged)."""
    out = []
    for item in manifest.get("measures") or []:
        measure_id, version = str(item.get("id", "")), str(item.get("version") or "")
        expected = _measure_version(catalogue, measure_id, period)
        if expected and version != expected:
            out.append(f"{measure_id} computed with {version or 'no version'}, expected {expected}")
    return out


def _cells(summary: pd.DataFrame, stratifier: str) -> pd.DataFrame:
    out = pd.DataFrame({"measure": summary["measure"].astype(str), "group_index": summary["group_index"].astype(int)})
    out["stratifier"] = stratifier
    if stratifier:
        labels = summary[stratifier].astype(object).where(summary[stratifier].notna(), "unknown")
        out["stratum"] = [str(v).strip()[:64] or "unknown" for v in labels]
    else:
        out["stratum"] = ""
    for col in _COUNTS:
        out[col] = summary[col].astype(int)
    out["source"] = "computed"
    if stratifier:  # labels cut to 64 characters could collide: add them up
        out = out.groupby(["measure", "group_index", "stratifier", "stratum", "source"], as_index=False)[list(_COUNTS)].sum()
    return _with_rates(out)


def _with_rates(frame: pd.DataFrame) -> pd.DataFrame:
    base = frame["denominator"] - frame["exclusions"] - frame["exceptions"]
    with np.errstate(divide="ignore", invalid="ignore"):
        frame["rate"] = np.where(base > 0, frame["numerator"] / base.where(base > 0, 1), np.nan).round(6)
    return frame


def _with_zero_totals(cells: pd.DataFrame, groups: pd.DataFrame) -> pd.DataFrame:
    """A zero total row for every measure group evaluated with nobody in it (the office sees the zero)."""
    totals = cells[cells["stratifier"] == ""]
    missing = groups.merge(totals[["measure", "group_index"]], how="left", indicator=True)
    missing = missing[missing["_merge"] == "left_only"].drop(columns="_merge")
    if missing.empty:
        return cells
    zeros = missing.assign(stratifier="", stratum="", source="computed", rate=np.nan, **{c: 0 for c in _COUNTS})
    return pd.concat([cells, zeros[cells.columns]], ignore_index=True)


def _self_reported(ctx: ServiceContext, cells: pd.DataFrame, practice_code: str, period: Period) -> pd.DataFrame:
    """The practice's aggregate entries within the period replace the computed total of their measure
    group (as on its scorecard); the computed strata of that group are dropped (they would not add up)."""
    with ctx.db.session() as s:
        rows = s.execute(
            select(AggregateEntry.measure_id, AggregateEntry.group_index, func.sum(AggregateEntry.denominator),
                   func.sum(AggregateEntry.numerator), func.sum(AggregateEntry.exclusions),
                   func.sum(AggregateEntry.exceptions))
            .join(Practice, Practice.id == AggregateEntry.practice_id)
            .where(Practice.code == practice_code, AggregateEntry.period_start >= period.start,
                   AggregateEntry.period_end <= period.end)
            .group_by(AggregateEntry.measure_id, AggregateEntry.group_index)
        ).all()
    if not rows:
        return cells
    reported = pd.DataFrame(rows, columns=["measure", "group_index", "denominator", "numerator", "exclusions",
                                           "exceptions"])
    reported["initial_population"] = reported["denominator"]
    reported = reported.assign(stratifier="", stratum="", source="self-reported")
    keys = pd.MultiIndex.from_frame(reported[["measure", "group_index"]].astype({"group_index": int}))
    mine = pd.MultiIndex.from_frame(cells[["measure", "group_index"]])
    kept = cells[~mine.isin(keys)]
    return pd.concat([kept, _with_rates(reported)[kept.columns]], ignore_index=True)


def export_submission(ctx: ServiceContext, practice_code: str, period: Period, path: Path, *,
                      wrapping: WrappingKeys | None = None) -> ExportedSubmission:
    """Write the practice's signed package for the period to ``path`` (.zip); audited as an export."""
    if path.suffix.lower() != ".zip":
        raise ServiceError(f"Cannot write {path.name}: a submission package is a .zip file")
    with ctx.db.session() as s:
        practice = s.execute(select(Practice.id, Practice.name).where(Practice.code == practice_code)).first()
    if practice is None:
        raise ServiceError(f"Unknown practice code: {practice_code}")
    require(ctx, "aggregates.write", practice.id)  # reporting the practice's figures: its manager
    ctx.progress.report(0.0, "Evaluating measures")
    table, failures = submission_table(ctx, practice_code, period)
    private = signing_key(ctx, practice_code, wrapping=wrapping)
    measures = {m: v for m, v in zip(table["measure"], table["measure_version"], strict=True)}
    with ctx.db.session() as s:
        anchor = audit.head_anchor(s)
    info = PackageInfo(practice_code, practice.name, period.label, period.start.isoformat(), period.end.isoformat(),
                       measures, __version__, dt.datetime.now(dt.UTC).isoformat(timespec="microseconds"), anchor)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        manifest = write_package(path, info, table, private)
    except OSError as exc:
        raise ServiceError(f"Cannot write {path.name}: {exc.strerror or exc}") from None
    suppressed = int((table["suppression"] != "").sum())
    result = ExportedSubmission(path, practice_code, period, len(table), suppressed,
                                hashlib.sha256(manifest).hexdigest(), fingerprint(private.public_key()), failures)
    with ctx.db.session() as s:
        audit.record(s, ctx.username, "export", "submission", practice_code, practice_id=practice.id,
                     summary=f"Exported the submission package of practice {practice_code}, period {period.label}: "
                             f"{len(table)} rows ({suppressed} suppressed) to {path.name}")
    ctx.progress.report(1.0, "Package written")
    return result


# -------------------------------------------------------------------------------------------- office


@dataclass(frozen=True)
class ImportedSubmission:
    id: int
    practice_code: str
    period_label: str
    rows: int
    superseded: list[int]
    status: str
    #: measures computed with another version than the office expects for the period (see
    #: ``version_differences``); the package is stored, and the difference shown and audited
    version_warnings: list[str] = field(default_factory=list)
    #: the practice's submitted figures (and the practice, when the package brought it)
    change: Change = field(default_factory=lambda: Change.of(Area.PRACTICES))


@writes(Area.PRACTICES)
def import_submission(ctx: ServiceContext, path: Path) -> ImportedSubmission:
    """Verify ``path`` and store its counts; ``ServiceError`` (nothing written) when it cannot be accepted."""
    require(ctx, "aggregates.write")  # for every practice at once: the network office
    try:
        package = read_package(path, lambda code: list(trusted_public_keys(ctx, code)))
    except PackageError as exc:
        raise ServiceError(f"{path.name}: {exc}") from None
    manifest = package.manifest
    period = manifest["period"]
    start, end = dt.date.fromisoformat(period["start"]), dt.date.fromisoformat(period["end"])
    code = package.practice_code
    warnings = version_differences(ctx.catalogue, manifest, Period(start, end))
    with ctx.db.session() as s:
        earlier_same = s.scalar(select(Submission.id).where(Submission.manifest_sha256 == package.manifest_sha256))
        if earlier_same is not None:
            raise ServiceError(f"{path.name}: this package was already imported (submission {earlier_same}).")
        practice = s.scalars(select(Practice).where(Practice.code == code)).first()
        if practice is None:
            practice = Practice(code=code, name=str(manifest["practice"]["name"])[:200])
            s.add(practice)
            s.flush()
        current = list(s.scalars(select(Submission).where(
            Submission.practice_id == practice.id, Submission.period_start == start, Submission.period_end == end,
            Submission.status == "current")))
        created = str(manifest["created_at"])
        newer = [c for c in current if (c.package_created_at or "") > created]
        submission = Submission(
            practice_id=practice.id, period_label=str(period["label"])[:32], period_start=start, period_end=end,
            format_version=int(manifest["format_version"]), software_version=str(manifest["software"]["version"])[:32],
            package_created_at=created[:40], manifest_sha256=package.manifest_sha256,
            key_fingerprint=package.key_fingerprint, file_name=path.name[:500], imported_by=ctx.username,
            status="superseded" if newer else "current", row_count=len(package.aggregates), manifest=manifest,
        )
        s.add(submission)
        s.flush()
        superseded: list[int] = []
        if newer:  # an older package arriving late goes straight into the history
            submission.superseded_by_id = newer[0].id
        else:
            for old in current:
                old.status = "superseded"
                old.superseded_by_id = submission.id
                superseded.append(old.id)
        s.add_all(_aggregate_rows(submission.id, package))
        mark_practice_changed(s, [practice.id])
        audit.record(s, ctx.username, "import", "submission", submission.id, practice_id=practice.id,
                     summary=f"Imported the submission of practice {code}, period {submission.period_label}: "
                             f"{submission.row_count} rows" + (f", superseding {superseded}" if superseded else "")
                             + (f"; other measure versions than expected: {'; '.join(warnings)}" if warnings else ""))
        return ImportedSubmission(submission.id, code, submission.period_label, submission.row_count, superseded,
                                  submission.status, warnings, Change.of(Area.PRACTICES, practices=[practice.id]))


def _aggregate_rows(submission_id: int, package: Package) -> list[SubmittedAggregate]:
    rows = []
    for r in package.aggregates.itertuples(index=False):
        counts = {c: (None if pd.isna(getattr(r, c)) else int(getattr(r, c))) for c in _COUNTS}
        rows.append(SubmittedAggregate(
            submission_id=submission_id, measure_id=r.measure, measure_version=r.measure_version or None,
            group_index=int(r.group_index), stratifier=r.stratifier, stratum=r.stratum,
            suppressed=r.suppression != "", rate=None if pd.isna(r.rate) else float(r.rate), **counts))
    return rows


def list_submissions(ctx: ServiceContext) -> pd.DataFrame:
    """Every imported submission, newest first: current and superseded (the history)."""
    require(ctx, "aggregates.read")
    with ctx.db.session() as s:
        rows = s.execute(
            select(Submission.id, Practice.code, Submission.period_label, Submission.status, Submission.superseded_by_id,
                   Submission.row_count, Submission.package_created_at, Submission.imported_at, Submission.imported_by,
                   Submission.key_fingerprint, Submission.file_name, Submission.period_start, Submission.period_end,
                   Submission.manifest)
            .join(Practice, Practice.id == Submission.practice_id)
            .order_by(Submission.id.desc())
        ).all()
    frame = pd.DataFrame(rows, columns=["id", "practice_code", "period", "status", "superseded_by", "rows", "created_at",
                                        "imported_at", "imported_by", "key_fingerprint", "file_name", "_start", "_end",
                                        "_manifest"])
    # which versions computed the package, and whether they are the ones this office expects
    frame["measure_versions"] = [", ".join(f"{m.get('id')} {m.get('version') or '-'}" for m in (man or {}).get("measures", []))
                                 for man in frame["_manifest"]]
    frame["version_check"] = ["; ".join(version_differences(ctx.catalogue, man or {}, Period(start, end))) or "as expected"
                              for man, start, end in zip(frame["_manifest"], frame["_start"], frame["_end"], strict=True)]
    return frame.drop(columns=["_start", "_end", "_manifest"])


def submission_rows(ctx: ServiceContext, submission_id: int) -> pd.DataFrame:
    """The stored counts of one submission (every stratum, suppressed cells blank)."""
    require(ctx, "aggregates.read")
    with ctx.db.session() as s:
        if s.get(Submission, submission_id) is None:
            raise ServiceError(f"No submission {submission_id}")
        rows = s.execute(
            select(SubmittedAggregate.measure_id, SubmittedAggregate.group_index, SubmittedAggregate.stratifier,
                   SubmittedAggregate.stratum, SubmittedAggregate.suppressed,
                   *[getattr(SubmittedAggregate, c) for c in _COUNTS], SubmittedAggregate.rate)
            .where(SubmittedAggregate.submission_id == submission_id).order_by(SubmittedAggregate.id)
        ).all()
    frame = pd.DataFrame(rows, columns=["measure", "group_index", "stratifier", "stratum", "suppressed", *_COUNTS, "rate"])
    for col in _COUNTS:
        frame[col] = pd.array(frame[col], dtype="Int64")
    return frame


__all__ = ["SUBMITTED_COLUMNS", "ExportedSubmission", "ImportedSubmission", "export_submission", "import_submission", "list_submissions",
           "submission_rows", "submitted_aggregates"]
