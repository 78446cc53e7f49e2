"""Evaluating measures over the store: load once, run every measure, keep going when one fails.

``evaluate`` returns the raw result rows (one per patient or episode, with practice and provider) and
``patient_results`` the per-patient table of the ``--patient-results`` export (episodes counted, every
evaluated patient listed, populations a group does not have left empty).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ..metrics import catalogue
from ..metrics.data import MeasureData
from ..metrics.definition import POPULATIONS, Measure
from ..metrics.engine import evaluate_measures
from ..metrics.period import Period
from ..models.full_disk import whole_file
from . import audit
from .context import ServiceContext, ServiceError
from .measure_data import load_measure_data, practice_ids
from .permissions import scope

log = logging.getLogger(__name__)

PATIENT_RESULT_COLUMNS = ("measure", "group_index", "patient_id", *POPULATIONS)


@dataclass
class Evaluation:
    """The outcome of one evaluation run."""

    period: Period
    rows: pd.DataFrame  # ROW_COLUMNS: one row per patient (or episode) in a measure's initial population
    measures: list[Measure] = field(default_factory=list)  # the measures that ran
    errors: dict[str, str] = field(default_factory=dict)  # measure id -> why it did not run
    seconds: dict[str, float] = field(default_factory=dict)
    data: MeasureData | None = None
    versions: dict[str, str] = field(default_factory=dict)  # measure id -> the version that computed it
    forced: dict[str, str] = field(default_factory=dict)  # measure id -> version asked for (--measure-version)

    def version_of(self, measure: Measure) -> Measure:
        """The version of ``measure`` that computed this evaluation."""
        return catalogue.pick_version(measure, self.versions[measure.id]) if measure.id in self.versions else \
            catalogue.resolve(measure, self.period)

    @property
    def patient_count(self) -> int:
        return 0 if self.data is None else len(self.data.patients)


def select_measures(measures: catalogue.Catalogue, measure_ids: Sequence[str] | None
                    ) -> tuple[list[Measure], dict[str, str]]:
    """The measures of the catalogue to run and {requested id: error} for ids that are unknown or failed
    to import."""
    module_errors = measures.load_errors
    if not measure_ids:
        return measures.all(), {}
    chosen: list[Measure] = []
    errors: dict[str, str] = {}
    for mid in measure_ids:
        try:
            chosen.append(measures.get(mid))
        except KeyError:
            broken = module_errors.get(mid.lower())
            errors[mid.upper()] = f"measure module failed to import ({broken})" if broken else "unknown measure"
    return chosen, errors


def forced_versions(measures: Sequence[Measure], specs: Sequence[str] | None) -> dict[str, str]:
    """{measure id: version} from ``--measure-version`` values: ``ID=VERSION`` for one measure, a bare
    version for the selected measures that have it, or a measurement year (``2025``: the versions in force
    for that year) for every selected measure. Anything no selected measure has is an error."""
    out: dict[str, str] = {}
    for spec in specs or ():
        text = spec.strip()
        if "=" in text:
            mid, version = (part.strip() for part in text.split("=", 1))
            match = [m for m in measures if m.id.upper() == mid.upper()]
            if not match:
                raise ServiceError(f"--measure-version {text}: {mid} is not among the measures evaluated")
            targets = [(match[0], version)]
        elif text.isdigit() and len(text) == 4:
            targets = [(m, text) for m in measures]
        else:
            targets = [(m, text) for m in measures if any(v.version == text for v in catalogue.versions_of(m))]
            if not targets:
                raise ServiceError(f"--measure-version {text}: no selected measure has that version")
        for measure, version in targets:
            try:
                out[measure.id] = catalogue.pick_version(measure, version).version
            except KeyError as exc:
                raise ServiceError(str(exc.args[0])) from None
    return out


def evaluate(
    ctx: ServiceContext,
    period: Period,
    measure_ids: Sequence[str] | None = None,
    practice_codes: Sequence[str] | None = None,
    progress: Callable[[float, str], None] | None = None,
    *,
    data: MeasureData | None = None,
    versions: Sequence[str] | None = None,
) -> Evaluation:
    """Evaluate measures for a period over the store (or over ``data`` when given), each with the version
    in force for the period unless ``versions`` forces one (see ``forced_versions``)."""
    measures, errors = select_measures(ctx.catalogue, measure_ids)
    if not measures and not errors:
        raise ServiceError("No measures are defined.")
    forced = forced_versions(measures, versions)
    ids = None if data is not None else scope(
        ctx, "aggregates.read", practice_ids(ctx.db, practice_codes) if practice_codes else None)

    def report(fraction: float, message: str) -> None:
        ctx.progress.report(fraction, message)
        if progress is not None:
            progress(fraction, message)

    if data is None:
        report(0.0, "Loading data")
        if ids is not None:
            data = load_measure_data(ctx.db, period=period, practice_id_list=ids)
        else:  # the whole network: from the columnar snapshot when the data has not changed since
            from .frames_cache import load_measure_data_cached

            # a snapshot to write is written while the measures run (the process waits for it at exit)
            data, _ = load_measure_data_cached(ctx.db, save_in_background=True)
    run = evaluate_measures(
        data, period, measures,
        on_measure=lambda i, n, mid: report(0.2 + 0.8 * i / max(n, 1), f"Evaluating {mid}"),
        versions=forced,
    )
    result = Evaluation(period=period, rows=run.rows, measures=run.measures, errors={**errors, **run.failures},
                        seconds=run.seconds, data=data, versions=run.versions, forced=forced)
    report(1.0, f"{len(result.measures)} measure(s) evaluated")
    return result


def export_patient_results(ctx: ServiceContext, evaluation: Evaluation, path: Path) -> int:
    """Write ``patient_results`` to CSV (a patient-level export: permission checked, audited); row count."""
    assert evaluation.data is not None
    practices = sorted(int(p) for p in pd.unique(evaluation.data.patients["practice_id"].dropna()))
    scope(ctx, "patients.export", practices or None)
    table = patient_results(evaluation)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with whole_file(path) as partial:  # patient-level rows: the owner's only, never half-written
            table.to_csv(partial, index=False)
    except OSError as exc:
        raise ServiceError(f"Cannot write {path.name}: {exc.strerror or exc}") from None
    with ctx.db.session() as s:
        audit.record(s, ctx.username, "export", "patient_results", evaluation.period.label,
                     practice_id=practices[0] if len(practices) == 1 else None,
                     summary=f"Exported {len(table)} patient result rows ({len(evaluation.measures)} measures, "
                             f"{len(practices)} practices) to {path.name}")
    return len(table)


def patient_results(evaluation: Evaluation) -> pd.DataFrame:
    """One row per evaluated patient x measure x group (``PATIENT_RESULT_COLUMNS``).

    Counts are integers (episodes counted); patients outside the initial population get zeros; the
    populations a group does not have are empty (<NA>). ``patient_id`` is the source FHIR id when the
    patient was imported from FHIR, else the internal id.
    """
    assert evaluation.data is not None
    patients = evaluation.data.patients[["patient_id", "subject_id"]]
    groups = [(m.id, gi, set(g.populations)) for m in evaluation.measures for gi, g in enumerate(m.groups)]
    if not groups or patients.empty:
        return pd.DataFrame({c: pd.Series(dtype="object") for c in PATIENT_RESULT_COLUMNS})
    rows = evaluation.rows
    if len(rows):
        counted = rows[["measure", "group_index", "patient_id"]].copy()
        for pop in POPULATIONS:
            counted[pop] = rows[pop].fillna(False).astype(bool).astype("int64")
        counts = counted.groupby(["measure", "group_index", "patient_id"], sort=False).sum().reset_index()
    else:
        counts = pd.DataFrame(columns=["measure", "group_index", "patient_id", *POPULATIONS])
    n_pat = len(patients)
    frames = []
    for mid, gi, has in groups:
        frame = pd.DataFrame({"measure": mid, "group_index": gi, "patient_id": patients["patient_id"].to_numpy(),
                              "_subject": patients["subject_id"].to_numpy()})
        mine = counts[(counts["measure"] == mid) & (counts["group_index"] == gi)].drop(columns=["measure", "group_index"])
        frame = frame.merge(mine, on="patient_id", how="left")
        for pop in POPULATIONS:
            if pop in has:
                frame[pop] = pd.array(frame[pop].fillna(0).astype("int64"), dtype="Int64")
            else:
                frame[pop] = pd.array([pd.NA] * n_pat, dtype="Int64")
        frames.append(frame)
    out = pd.concat(frames, ignore_index=True)
    out["patient_id"] = out["_subject"].astype(str)
    return out[list(PATIENT_RESULT_COLUMNS)]


def summary(evaluation: Evaluation) -> pd.DataFrame:
    """Totals per measure and group: each population's count and the rate.

    The rate base is the denominator minus exclusions and exceptions; the rate is empty when it is zero.
    """
    records = []
    rows = evaluation.rows
    # each group's rows found in one pass (a mask per group compared every row's measure id again)
    where = rows.groupby(["measure", "group_index"], sort=False).indices if len(rows) else {}
    none = np.zeros(0, dtype=np.intp)
    for measure in evaluation.measures:
        for gi, group in enumerate(measure.groups):
            mine = rows.iloc[where.get((measure.id, gi), none)] if len(rows) else rows
            totals: dict[str, object] = {"measure": measure.id, "version": evaluation.versions.get(measure.id, ""),
                                         "group_index": gi, "title": measure.title,
                                         "group": group.title, "basis": measure.basis,
                                         "improvement": measure.improvement}
            for pop in POPULATIONS:
                totals[pop] = int(mine[pop].fillna(False).astype(bool).sum()) if pop in group.populations else None
            base = (totals["denominator"] or 0) - (totals["denominator-exclusion"] or 0) - (  # type: ignore[operator]
                totals["denominator-exception"] or 0
            )
            totals["rate_base"] = base
            totals["rate"] = round(totals["numerator"] / base, 6) if base > 0 else None
            totals["patients"] = int(mine["patient_id"].nunique()) if len(mine) else 0
            records.append(totals)
    return pd.DataFrame.from_records(records)


__all__ = ["Evaluation", "evaluate", "forced_versions", "patient_results", "select_measures",
           "summary"]


STRATIFY_FIELDS = ("payer", "race", "ethnicity", "language", "sex", "age_band")


def grouped_summary(evaluation: Evaluation, by: str = "network", stratify: str | None = None) -> pd.DataFrame:
    """Counts, rate and Wilson interval per measure and group, by practice / provider / the network,
    optionally split by a patient stratum (payer, race, ethnicity, language, sex, age band)."""
    from ..metrics.aggregate import age_band, summarize

    if by not in ("network", "practice", "provider"):
        raise ServiceError(f"--by must be practice, provider or network (not {by!r})")
    if stratify is not None and stratify not in STRATIFY_FIELDS:
        raise ServiceError(f"Cannot stratify by {stratify!r}; choose one of {', '.join(STRATIFY_FIELDS)}")
    assert evaluation.data is not None
    rows = evaluation.rows
    keys: list[str] = [] if by == "network" else [f"{by}_id"]
    if stratify is not None:
        patients = evaluation.data.patients[["patient_id", "birth_date", *[f for f in STRATIFY_FIELDS if f != "age_band"]]].copy()
        patients["age_band"] = age_band(patients["birth_date"], evaluation.period.end_ts.normalize())
        rows = rows.merge(patients[["patient_id", stratify]], on="patient_id", how="left")
        keys.append(stratify)
    return summarize(rows, by=keys)
