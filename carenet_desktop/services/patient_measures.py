"""One patient's status in every measure of the catalogue: met, due, overdue, excluded or not applicable,
and why.

Only the patient's own rows are loaded (``load_measure_data(patient_id_list=[id])``) and every measure is
evaluated on them with the same engine as the scorecard, so the page agrees with the network figures;
what is missing and by when comes from the measures' own care-gap code (``Measure.gaps``), as on the
care-gap worklist. For an episode-based measure the statuses of the patient's episodes are combined (an
open episode makes the measure due or overdue) and counted in the explanation.

Lower-is-better measures (e.g. CMS75 dental decay) have no gap: a patient in their numerator has the
outcome the measure counts, shown as ``not met``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pandas as pd
from sqlalchemy import select

from ..metrics.definition import Measure
from ..metrics.engine import evaluate_measures
from ..metrics.gaps import empty_gaps
from ..metrics.period import Period
from ..models import Patient
from .context import ServiceContext, ServiceError
from .measure_data import load_measure_data
from .permissions import require

MET, DUE, OVERDUE, EXCLUDED, NOT_APPLICABLE, NOT_MET = "met", "due", "overdue", "excluded", "not applicable", "not met"
#: statuses in the order a clinician looks at them (the table sorts by it)
STATUS_ORDER = (OVERDUE, DUE, NOT_MET, MET, EXCLUDED, NOT_APPLICABLE)
STATUS_LABELS = {OVERDUE: "Overdue", DUE: "Due", NOT_MET: "Not met", MET: "Met", EXCLUDED: "Excluded",
                 NOT_APPLICABLE: "Not applicable"}


@dataclass(frozen=True)
class MeasureStatus:
    measure_id: str
    measure_title: str
    group_index: int
    group_title: str
    status: str  # one of STATUS_ORDER
    why: str  # a short sentence
    due_date: dt.date | None = None
    #: the measure's own wording of the population that decided the status (for a tooltip)
    rule: str = ""

    @property
    def label(self) -> str:
        return STATUS_LABELS.get(self.status, self.status)


def _spec(measure: Measure, *keys: str) -> str:
    spec = getattr(measure, "specification", None) or {}
    for key in keys:
        if spec.get(key):
            return str(spec[key])
    return ""


def _flag(rows: pd.DataFrame, name: str) -> pd.Series:
    if name not in rows.columns:
        return pd.Series(False, index=rows.index)
    return rows[name].astype("boolean").fillna(False).astype(bool)


def patient_measures(ctx: ServiceContext, patient_id: int, period: Period,
                     as_of: dt.date) -> tuple[list[MeasureStatus], dict[str, str]]:
    """Statuses of ``patient_id`` in every measure and group, and {measure id: why it did not evaluate}."""
    with ctx.db.session() as s:
        practice_id = s.scalar(select(Patient.practice_id).where(Patient.id == int(patient_id)))
    if practice_id is None:
        raise ServiceError("This patient is no longer in the database.")
    require(ctx, "patients.read", int(practice_id))
    measures = ctx.catalogue.all()
    data = load_measure_data(ctx.db, patient_id_list=[int(patient_id)])
    run = evaluate_measures(data, period, measures)
    failures = dict(run.failures)
    out: list[MeasureStatus] = []
    for measure in measures:
        if measure.id in failures:
            continue
        rows = run.rows[(run.rows["measure"] == measure.id).to_numpy()]
        try:
            gaps = measure.gaps(data, period, rows) if len(rows) else empty_gaps()
        except (KeyError, ValueError, TypeError, IndexError, AttributeError) as exc:
            failures[measure.id] = f"care gaps: {type(exc).__name__}"
            gaps = empty_gaps()
        for gi, group in enumerate(measure.groups):
            mine = rows[(rows["group_index"] == gi).to_numpy()] if len(rows) else rows
            out.append(_status(measure, gi, group.title, mine, gaps[gaps["group_index"] == gi], as_of))
    return out, failures


def _status(measure: Measure, gi: int, group_title: str, rows: pd.DataFrame, gaps: pd.DataFrame,
            as_of: dt.date) -> MeasureStatus:
    def status(code: str, why: str, due: dt.date | None = None, rule: str = "") -> MeasureStatus:
        return MeasureStatus(measure.id, measure.title, gi, group_title, code, why, due, rule)

    ip = _flag(rows, "initial-population") if len(rows) else pd.Series(dtype=bool)
    population = _spec(measure, "initial population", "age window", "age", "ages")
    if not len(rows) or not ip.any():
        age = _spec(measure, "age window", "age", "ages")
        why = f"Not in the population: {age[0].lower()}{age[1:]}" if 0 < len(age) <= 100 else \
            "Not in the measure's population for this period."
        return status(NOT_APPLICABLE, why, rule=population)
    rows = rows[ip.to_numpy()]
    denominator = _flag(rows, "denominator")
    excluded = _flag(rows, "denominator-exclusion")
    excepted = _flag(rows, "denominator-exception")
    numerator = _flag(rows, "numerator")
    counted = denominator & ~excluded & ~excepted
    episodes = measure.basis == "episode"
    n = len(rows)

    def of(mask: pd.Series, what: str) -> str:
        return f"{int(mask.sum())} of {n} episodes {what}" if episodes else ""

    if measure.improvement == "decrease":
        if (counted & numerator).any():
            return status(NOT_MET, of(counted & numerator, "with the outcome") or f"Has the outcome this measure "
                          f"counts ({group_title}; lower is better).", rule=_spec(measure, "numerator"))
        if counted.any():
            return status(MET, of(counted, "without the outcome") or "The outcome this measure counts is not recorded.",
                          rule=_spec(measure, "numerator"))
    else:
        if len(gaps):
            due_days = pd.to_datetime(gaps["due_date"], errors="coerce")
            first = due_days.min()
            due = first.date() if pd.notna(first) else None
            missing = "; ".join(dict.fromkeys(str(m) for m in gaps["missing"] if str(m)))
            overdue = due is not None and due < as_of
            when = f"{'was due by' if overdue else 'due by'} {due.isoformat()}" if due is not None else ""
            prefix = f"{len(gaps)} of {n} episodes open: " if episodes else ""
            why = prefix + (f"Missing: {missing}" if missing else "Not met yet") + (f"; {when}" if when else "") + "."
            return status(OVERDUE if overdue else DUE, why, due, _spec(measure, "numerator"))
        if (counted & numerator).any():
            why = of(counted & numerator, "met") or "Meets the numerator."
            return status(MET, why + ("" if not episodes else "."), rule=_spec(measure, "numerator"))
        if counted.any():  # in the denominator without a gap row (the measure's gap code found nothing missing)
            return status(DUE, "Not met yet.", rule=_spec(measure, "numerator"))
    if (excepted & denominator).any() and not (excluded & denominator).any():
        return status(EXCLUDED, "Denominator exception" + (f" ({of(excepted, 'excepted')})" if episodes else "") + ".",
                      rule=_spec(measure, "exceptions", "exception"))
    if (excluded & denominator).any():
        return status(EXCLUDED, "Excluded from the denominator" + (f" ({of(excluded, 'excluded')})" if episodes else "")
                      + ".", rule=_spec(measure, "exclusions", "exclusion"))
    return status(NOT_APPLICABLE, "In the initial population but not the denominator.",
                  rule=_spec(measure, "denominator"))
