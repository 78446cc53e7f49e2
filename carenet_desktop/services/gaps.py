"""Care-gap worklists: per measure, the patients (or episodes) still missing something, and by when.

An internal worklist for practice staff: patient names, MRN and birth date are shown (never logged).
Every call that returns or writes patient-level gaps leaves an audit entry (``view`` or ``export``) that
says who, which practice, which measures and how many rows - not which patients.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
from sqlalchemy import select

from ..metrics import gaps as gapkit
from ..metrics.definition import Measure
from ..metrics.period import Period
from ..models import Patient, Practice, Provider
from ..reports.spreadsheets import SPREADSHEET_SUFFIXES, ColumnFormat, write_table
from ..reports.spreadsheets import neutralise as neutralise  # re-exported: the worklist's callers use it
from . import audit
from .context import Progress, ServiceContext, ServiceError
from .gap_source import GapInputs, GapSource, fresh_inputs
from .measure_data import practice_ids
from .permissions import scope

#: columns of a care-gap worklist, in display order
WORKLIST_COLUMNS = (
    "practice_code", "measure", "measure_title", "group_index", "group_title", "patient_id", "episode_id",
    "mrn", "patient_name", "birth_date", "provider", "payer", "missing", "due_date", "days_left", "status",
)
#: without a ``due_within`` window, gaps due within this many days are "upcoming"
UPCOMING_DAYS = 30
#: headers written to CSV/Excel (same order as WORKLIST_COLUMNS, internal ids left out)
EXPORT_HEADERS = {
    "practice_code": "Practice", "measure": "Measure", "group_title": "Rate", "mrn": "MRN",
    "patient_name": "Patient", "birth_date": "Birth date", "provider": "Provider", "payer": "Payer",
    "missing": "Missing", "due_date": "Due by", "days_left": "Days left", "status": "Status",
}


def care_gaps(
    ctx: ServiceContext,
    period: Period,
    practice_code: str | None = None,
    measure_ids: Sequence[str] | None = None,
    due_within: int | None = None,
    as_of: dt.date | None = None,
    *,
    action: Literal["view", "export"] | None = "view",
    closable_only: bool = True,
    source: GapSource | None = None,
    fresh: bool = False,
) -> pd.DataFrame:
    """The care-gap worklist (``WORKLIST_COLUMNS``), one row per gap, sorted by due date.

    ``status`` is "overdue" when the due date is before ``as_of``, "upcoming" when it falls within the
    next ``due_within`` days (``UPCOMING_DAYS`` without one), else "open". Children who are not in a
    failing denominator yet but whose deadline falls in that window and who do not meet it yet
    (birthday-anchored measures, e.g. turning 2 without MMR in early January) are added as "upcoming".
    Without ``due_within``: every gap of the period and those upcoming ones. With ``due_within`` = N:
    only the gaps due within ``[as_of, as_of + N]``.

    ``closable_only`` (the default) leaves out the gaps no action can close any more: those of measures
    whose gaps are past encounters (``Measure.gap_closable`` False) and those whose window is over
    (``Measure.gap_expires`` and the due date before ``as_of``). ``as_of`` defaults to today. Measures
    that failed to evaluate are listed in ``frame.attrs["failures"]``.

    The result rows and records come from ``source`` (the scorecard's results cache and the frames kept
    in memory, :mod:`.gap_source`; without one, a new source over the caches on disk, which reads and
    evaluates only the practices asked for when the period was never computed), or with ``fresh`` from a
    new read of the practices' records and a new evaluation: the same numbers, slower.
    """
    if due_within is not None and due_within < 0:
        raise ServiceError("--due-within must be 0 or more days")
    as_of = as_of or dt.date.today()
    progress = ctx.progress
    try:
        measures = ctx.catalogue.select(measure_ids)
    except KeyError as exc:
        raise ServiceError(str(exc.args[0]) if exc.args else str(exc)) from None
    ids = scope(ctx, "patients.export" if action == "export" else "patients.read",
                practice_ids(ctx.db, [practice_code]) if practice_code else None)
    if fresh:
        inputs = fresh_inputs(ctx, period, measures, ids, progress.sub(0.0, 0.8))
    else:
        source = source or GapSource(ctx, compute_missing=False, network=False)
        # the records of the practices are only needed when the network's gaps are not to hand
        inputs = source.inputs(period, measures, ids, progress.sub(0.0, 0.8), records=not source.network)
    # the same gaps asked again of the same store state (a switch back, a refresh): found once
    memo = None if fresh or inputs.key is None else (inputs.key, period, as_of, due_within, closable_only)
    known = source.recall(memo) if source is not None and memo is not None else None
    if known is None and source is not None and inputs.key is not None:
        # the network's gaps, found once per store state and brought up to date after writes: a practice
        # is their rows of its patients
        network = source.network_gaps(inputs.key, (period, as_of, due_within, closable_only), lambda whole: _find_gaps(
            whole, period, measures, as_of, due_within, closable_only, progress))
        if network is not None:
            every, failures = network
            if ids is not None:
                people = inputs.data.patients
                mine = people.loc[people["practice_id"].isin(ids).to_numpy(), "patient_id"]
                every = every[every["patient_id"].isin(mine).to_numpy()]
            known = (every.reset_index(drop=True), dict(failures))
    whole_read = known is None and source is not None and inputs.whole
    if whole_read and source is not None:
        inputs = source.inputs(period, measures, ids, progress.sub(0.0, 0.8))
    if known is None:
        known = _find_gaps(inputs, period, measures, as_of, due_within, closable_only, progress)
    if whole_read and source is not None and source.network:
        source.let_go()  # the whole store's frames read for this one load: not kept across practice switches
    if source is not None and memo is not None:
        source.remember(memo, known)
    found, failures = known[0], dict(known[1])
    progress.report(0.9, "Patient details")
    table = _worklist(ctx, found, as_of, ids, source if not fresh else None)
    table.attrs["failures"] = failures
    table.attrs["audit"] = {
        "entity_id": practice_code or "network", "practice_id": ids[0] if ids else None,
        "what": (f"{len(table)} care gaps, period {period.label}, measures {', '.join(m.id for m in measures)}"
                 + (f", due within {due_within} days of {as_of.isoformat()}" if due_within is not None else "")),
    }
    if action is not None:
        _audit(ctx, table, action)
    progress.report(1.0, f"{len(table)} care gaps")
    return table


def warm_network_gaps(ctx: ServiceContext, source: GapSource, period: Period, as_of: dt.date,
                      due_within: int | None = None, closable_only: bool = True,
                      progress: Progress | None = None) -> bool:
    """Find the whole network's gaps ahead of time into ``source`` (a page's, ``network=True``): what the
    first ``care_gaps(..., source=source)`` of any practice would find, with the same arguments and every
    measure, then only filters. Reads only the caches: nothing when the results cache does not hold
    ``period`` yet (returns False) - the scorecard computes it, not this. Writes nothing (no audit: nobody
    viewed anything). A write landing meanwhile leaves what is found keyed by the older state, which the
    next call brings up to date from the journal (:meth:`GapSource.network_gaps`)."""
    progress = progress or Progress()
    if not source.network or not source.cache.holds(period):
        return False
    measures = ctx.catalogue.select(None)
    inputs = source.inputs(period, measures, None, progress.sub(0.0, 0.6), records=False)
    if inputs.key is None:
        return False
    progress.check()
    found = source.network_gaps(inputs.key, (period, as_of, due_within, closable_only), lambda whole: _find_gaps(
        whole, period, measures, as_of, due_within, closable_only, progress.sub(0.6, 0.9)))
    if found is None:
        return False
    progress.report(0.9, "Patient details")
    source.patient_table("people", lambda wanted: _patients(ctx, None, wanted))
    return True


def _find_gaps(inputs: GapInputs, period: Period, measures: Sequence[Measure], as_of: dt.date,
               due_within: int | None, closable_only: bool, progress: Progress) -> tuple[pd.DataFrame, dict[str, str]]:
    """The gap rows (``metrics.gaps`` columns and ``status``) of the result rows and records in
    ``inputs``, the period's and the upcoming ones, and the measures that failed."""
    data = inputs.data
    failures = dict(inputs.failures)
    by_measure = dict(tuple(inputs.rows.groupby("measure", sort=False))) if len(inputs.rows) else {}
    frames: list[pd.DataFrame] = []
    for measure in measures:
        if measure.id in failures:
            continue
        progress.check()
        rows = by_measure.get(measure.id, inputs.rows.iloc[:0])
        try:
            frames.append(measure.gaps(data, period, rows))
        except (KeyError, ValueError, TypeError, IndexError, AttributeError) as exc:
            failures[measure.id] = f"care gaps: {type(exc).__name__}: {exc}"
    found = _concat(frames)
    soon = UPCOMING_DAYS if due_within is None else due_within
    found["status"] = gap_status(found["due_date"], as_of, soon)
    progress.report(0.85, "Upcoming gaps")
    try:
        ahead = gapkit.upcoming(data, [m for m in measures if m.id not in failures], as_of, soon)
    except (KeyError, ValueError, TypeError, IndexError, AttributeError) as exc:
        failures["upcoming"] = f"upcoming gaps: {type(exc).__name__}: {exc}"
        ahead = gapkit.empty_gaps()
    ahead["status"] = "upcoming"
    found = _concat([found, ahead]).drop_duplicates(["measure", "group_index", "patient_id", "episode_id"])
    if closable_only:
        found = closable(found, measures, as_of)
    if due_within is not None:
        found = gapkit.within(found, gapkit.window(as_of, due_within))
    return found, failures


def gap_status(due_dates: pd.Series, as_of: dt.date, soon_days: int) -> np.ndarray:
    """Per due date: "overdue" before ``as_of``, "upcoming" within ``soon_days`` days of it, else "open"."""
    due = pd.to_datetime(due_dates, errors="coerce")
    start = pd.Timestamp(as_of)
    upcoming = (due >= start) & (due <= start + pd.Timedelta(days=int(soon_days)))
    return np.where(due < start, "overdue", np.where(upcoming, "upcoming", "open")).astype(object)


def closable(found: pd.DataFrame, measures: Sequence[Measure], as_of: dt.date) -> pd.DataFrame:
    """The gaps an action can still close: not of a measure whose gaps are past encounters
    (``gap_closable`` False), not expired (``gap_expires`` and due before ``as_of``)."""
    if found.empty:
        return found
    by_id = {m.id: m for m in measures}
    measure = found["measure"]
    ids = pd.unique(measure)  # looked up once per measure, not once per gap
    can = measure.map({m: bool(getattr(by_id.get(m), "gap_closable", True)) for m in ids}).to_numpy(dtype=bool)
    expires = measure.map({m: bool(getattr(by_id.get(m), "gap_expires", False)) for m in ids}).to_numpy(dtype=bool)
    past = (pd.to_datetime(found["due_date"], errors="coerce") < pd.Timestamp(as_of)).to_numpy(dtype=bool)
    return found[can & ~(expires & past)].reset_index(drop=True)


def _audit(ctx: ServiceContext, table: pd.DataFrame, action: str, where: str = "") -> None:
    info = table.attrs["audit"]
    verb = "Exported" if action == "export" else "Viewed"
    with ctx.db.session() as s:
        audit.record(s, ctx.username, action, "care_gaps", info["entity_id"], practice_id=info["practice_id"],
                     summary=f"{verb} {info['what']}{where}")


def export_care_gaps(
    ctx: ServiceContext,
    path: Path,
    period: Period,
    practice_code: str | None = None,
    measure_ids: Sequence[str] | None = None,
    due_within: int | None = None,
    as_of: dt.date | None = None,
) -> pd.DataFrame:
    """``care_gaps`` written to ``path`` (.csv or .xlsx) and audited as an export; returns the worklist."""
    if path.suffix.lower() not in (".csv", ".xlsx"):
        raise ServiceError(f"Cannot write {path.name}: use a .csv or .xlsx file name")
    scope(ctx, "patients.export", practice_ids(ctx.db, [practice_code]) if practice_code else None)
    table = care_gaps(ctx, period, practice_code, measure_ids, due_within, as_of, action=None)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_worklist(table, path)
    _audit(ctx, table, "export", f" to {path.name}")
    return table


def _concat(frames: list[pd.DataFrame]) -> pd.DataFrame:
    frames = [f for f in frames if not f.empty]
    if not frames:
        out = gapkit.empty_gaps()
        out["status"] = pd.Series(dtype="object")
        return out
    return pd.concat(frames, ignore_index=True)


def _worklist(ctx: ServiceContext, found: pd.DataFrame, as_of: dt.date, practice_id_list: list[int] | None,
              source: GapSource | None = None) -> pd.DataFrame:
    """Gaps joined with patient name, MRN, birth date, provider, payer and practice; sorted by due date,
    then practice, patient and measure rate. With a ``source``, the patients come from its table of the
    whole store (read once per store state), else from a query of the practices'."""
    if source is not None and source.network:
        people = source.patient_table("people", lambda wanted: _patients(ctx, None, wanted))
        if practice_id_list is not None:
            people = people[people["practice_id"].isin(practice_id_list).to_numpy()]
    else:
        people = _patients(ctx, practice_id_list)
    table = found.merge(people.drop(columns="practice_id"), on="patient_id", how="left")
    titles = {m: ctx.catalogue.get(m) for m in pd.unique(table["measure"])}
    table["measure_title"] = table["measure"].map({m: x.title for m, x in titles.items()})
    group_titles = {(m, i): _group_title(x, i) for m, x in titles.items() for i in range(len(x.groups))}
    pairs = pd.MultiIndex.from_arrays([table["measure"], table["group_index"].astype("int64")])
    table["group_title"] = pd.Series(group_titles, dtype=object).reindex(pairs).fillna("").to_numpy() \
        if len(table) and group_titles else [""] * len(table)
    due = pd.to_datetime(table["due_date"])
    table["days_left"] = (due - pd.Timestamp(as_of)).dt.days.astype("Int64")
    # a total order: the same gaps come out in the same order whatever order the result rows came in
    # (the results cache appends the rows of patients re-evaluated after a write)
    table = table.assign(_due=due).sort_values(
        ["_due", "practice_code", "patient_name", "patient_id", "measure", "group_index", "episode_id"],
        kind="stable", na_position="last")
    return table.drop(columns="_due").reset_index(drop=True)[list(WORKLIST_COLUMNS)]


def _group_title(measure: Measure, group_index: int) -> str:
    return measure.groups[group_index].title if 0 <= group_index < len(measure.groups) else ""


def _patients(ctx: ServiceContext, practice_id_list: list[int] | None,
              patient_ids: list[int] | None = None) -> pd.DataFrame:
    stmt = (
        select(Patient.id, Patient.practice_id, Practice.code, Patient.mrn, Patient.family_name, Patient.given_name, Patient.birth_date,
               Provider.given_name, Provider.family_name, Provider.credentials, Patient.payer)
        .join(Practice, Practice.id == Patient.practice_id)
        .outerjoin(Provider, Provider.id == Patient.pcp_provider_id)
    )
    if practice_id_list is not None:
        stmt = stmt.where(Patient.practice_id.in_(practice_id_list))
    if patient_ids is not None:
        stmt = stmt.where(Patient.id.in_(patient_ids))
    with ctx.db.session() as s:
        rows = s.execute(stmt).all()
    cols = ["patient_id", "practice_id", "practice_code", "mrn", "family", "given", "birth_date", "prov_given", "prov_family",
            "prov_cred", "payer"]
    frame = rows_frame(rows, cols)
    frame["patient_name"] = _join_name(frame["family"], frame["given"], ", ")
    provider = _join_name(frame["prov_given"], frame["prov_family"], " ")
    frame["provider"] = np.where(frame["prov_cred"].notna() & (provider != ""),
                                 provider + ", " + frame["prov_cred"].fillna("").astype(str), provider)
    return frame[["patient_id", "practice_id", "practice_code", "mrn", "patient_name", "birth_date", "provider",
                  "payer"]]


def rows_frame(rows: Sequence[Sequence[object]], columns: Sequence[str]) -> pd.DataFrame:
    """Query rows as a frame, built column by column (``DataFrame(rows)`` takes ten times as long on a
    practice's tens of thousands of rows); no rows: object columns."""
    if not rows:
        return pd.DataFrame({c: pd.Series(dtype="object") for c in columns})
    return pd.DataFrame({c: list(values) for c, values in zip(columns, zip(*rows, strict=True), strict=True)})


def _join_name(first: pd.Series, second: pd.Series, sep: str) -> pd.Series:
    a, b = first.fillna("").astype(str), second.fillna("").astype(str)
    both = (a != "") & (b != "")
    return (a + np.where(both, sep, "") + b).astype(object)


# ----------------------------------------------------------------------------------------- export

#: Excel formats of the exported worklist's columns (the rest are text)
EXPORT_FORMATS: dict[str, ColumnFormat] = {"Birth date": "date", "Due by": "date", "Days left": "integer"}


def export_table(table: pd.DataFrame) -> pd.DataFrame:
    """The worklist as exported: readable headers, internal ids dropped; the plain-words gap (``item``,
    see ``metrics.gap_items``) after the patient's columns when the rows carry one."""
    headers = dict(EXPORT_HEADERS)
    if "item" in table.columns:
        headers = {**{k: v for k, v in headers.items() if k != "missing"}, "item": "Gap", "missing": "Missing"}
    return table[list(headers)].rename(columns=headers)


def write_worklist(table: pd.DataFrame, path: Path) -> None:
    """Write the worklist as ``.csv`` or ``.xlsx`` (bold frozen header, date cells, formula text neutralised).

    Callers audit the export (``care_gaps(..., action="export")``)."""
    if path.suffix.lower() not in SPREADSHEET_SUFFIXES:
        raise ServiceError(f"Cannot write {path.name}: use a .csv or .xlsx file name")
    try:
        write_table(export_table(table), path, sheet="Care gaps", formats=EXPORT_FORMATS)
    except OSError as exc:  # a full disk, a folder without write access: one line, nothing half-written
        raise ServiceError(f"Cannot write {path.name}: {exc.strerror or exc}") from None
