"""The outreach worklist: one row per child, each actionable gap named once, with the last outreach.

Built on :func:`services.gaps.care_gaps` (one row per measure rate and gap): the gap rows are split into
the items they name and bundled per child (:mod:`metrics.gap_items`), so a missing MenACWY dose that
is a gap of three IMA rates is one gap, "MenACWY dose 1". The per-gap rows stay available
(:func:`child_detail`) as the "why" of a child's row: which measure, which rate, what is missing.

Like the per-gap worklist this is an internal list for practice staff (names and MRNs shown, never
logged); viewing and exporting it leave the same audit entries (entity ``care_gaps``).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
from sqlalchemy import func, select

from ..codes import APPOINTMENT_ACTIVE, LANGUAGE_LABELS
from ..metrics import gap_items as itemkit
from ..metrics.period import Period
from ..models import Appointment, Encounter, Patient
from ..reports.spreadsheets import SPREADSHEET_SUFFIXES, ColumnFormat, write_table
from . import audit
from .context import Progress, ServiceContext, ServiceError
from .gap_source import GapSource
from .gaps import care_gaps, gap_status, rows_frame, warm_network_gaps, write_worklist
from .measure_data import practice_ids
from .outreach import latest_attempts, outreach_done
from .permissions import require_practice_codes, scope

#: columns of the one-row-per-child worklist, in display order
CHILD_COLUMNS = (
    "practice_code", "patient_id", "mrn", "patient_name", "birth_date", "gaps", "gap_count", "due_date",
    "days_left", "status", "last_visit", "next_visit", "provider", "payer", "phone", "guardian", "language",
    "contact_method", "measures", "last_outreach",
    "last_outreach_on", "last_outcome", "follow_up_date", "attempts",
)
#: headers written to CSV/Excel
CHILD_EXPORT_HEADERS = {
    "practice_code": "Practice", "mrn": "MRN", "patient_name": "Patient", "birth_date": "Birth date",
    "gaps": "Gaps", "gap_count": "Gap count", "due_date": "Soonest due", "status": "Status",
    "last_visit": "Last visit", "next_visit": "Next visit", "provider": "Provider", "payer": "Payer",
    "phone": "Phone", "guardian": "Guardian", "language": "Language", "contact_method": "Contact by",
    "last_outreach": "Last outreach", "follow_up_date": "Follow up on",
}
CHILD_EXPORT_FORMATS: dict[str, ColumnFormat] = {
    "Birth date": "date", "Soonest due": "date", "Last visit": "date", "Next visit": "date",
    "Follow up on": "date", "Gap count": "integer",
}
#: columns of :func:`child_detail`: one row per gap of one child
DETAIL_COLUMNS = ("item", "measure", "measure_title", "group_title", "missing", "due_date", "status")


@dataclasses.dataclass(frozen=True)
class Worklist:
    """The children (``CHILD_COLUMNS``) and the gap rows behind them (``WORKLIST_COLUMNS`` + ``item``)."""

    children: pd.DataFrame
    gaps: pd.DataFrame
    failures: dict[str, str]
    audit: dict[str, Any]


def child_worklist(
    ctx: ServiceContext,
    period: Period,
    practice_code: str | None = None,
    measure_ids: Sequence[str] | None = None,
    due_within: int | None = None,
    as_of: dt.date | None = None,
    *,
    action: Literal["view", "export"] | None = "view",
    source: GapSource | None = None,
    fresh: bool = False,
) -> Worklist:
    """One row per child with an actionable gap (see ``care_gaps`` for the window and ``status``),
    soonest due first; audited as a view of the care gaps unless ``action`` is None. ``source`` and
    ``fresh``: where the result rows and records come from (``care_gaps``)."""
    as_of = as_of or dt.date.today()
    gaps = care_gaps(ctx, period, practice_code, measure_ids, due_within, as_of, action=None, source=source,
                     fresh=fresh)
    ids = scope(ctx, "patients.export" if action == "export" else "patients.read",
                practice_ids(ctx.db, [practice_code]) if practice_code else None)
    items = itemkit.gap_items(gaps)
    items.attrs = {}  # the worklist's attrs would be deep-copied by every pandas step below
    patients = pd.unique(items["patient_id"]).tolist() if len(items) else []
    held = source if source is not None and source.network and not fresh else None  # whole-store tables
    visits = visit_dates(ctx, patients, as_of, ids, held)
    done = latest_attempts(_attempts_of(ctx, practice_code, patients)) if patients else None
    children = build_children(items, visits, done, as_of, soon_days=due_within,
                              contacts=contact_details(ctx, patients, ids, held))
    what = (f"{len(children)} children with {int(children['gap_count'].sum()) if len(children) else 0} care gaps, "
            f"period {period.label}" + (f", due within {due_within} days of {as_of.isoformat()}"
                                        if due_within is not None else ""))
    info = dict(gaps.attrs["audit"], what=what)
    result = Worklist(children, items, dict(gaps.attrs.get("failures") or {}), info)
    if action is not None:
        record_view(ctx, result, action)
    return result


def warm_worklist(ctx: ServiceContext, source: GapSource, period: Period, as_of: dt.date,
                  due_within: int | None = None, progress: Progress | None = None) -> bool:
    """Fill ``source`` (the care-gap page's) with what every practice's worklist reads of the whole
    store - the network's gaps, the patients' names, contacts and last visits - so the page's first
    worklist only filters them. Only from the caches (False, doing nothing, when the results cache does
    not hold ``period``); writes nothing and audits nothing (see :func:`.gaps.warm_network_gaps`)."""
    progress = progress or Progress()
    if not warm_network_gaps(ctx, source, period, as_of, due_within, progress=progress.sub(0.0, 0.9)):
        return False
    progress.check()
    source.patient_table("contacts", lambda wanted: _contacts(ctx, None, wanted))
    progress.check()
    source.patient_table(f"last_visit {as_of.isoformat()}", lambda ids: _last_visits(ctx, as_of, None, ids))
    progress.report(1.0, "Care gaps ready")
    return True


def _attempts_of(ctx: ServiceContext, practice_code: str | None, patients: list[int]) -> pd.DataFrame:
    """The outreach recorded for ``patients``: for one practice, its outreach read whole and narrowed here
    (an ``IN`` list of a large practice's children costs more to send than the rows it saves)."""
    if practice_code is None:
        return outreach_done(ctx, patient_ids=patients)
    done = outreach_done(ctx, practice_code=practice_code)
    return done[done["patient_id"].isin(patients).to_numpy()].reset_index(drop=True)


def record_view(ctx: ServiceContext, worklist: Worklist, action: str, where: str = "") -> None:
    info = worklist.audit
    verb = "Exported" if action == "export" else "Viewed"
    with ctx.db.session() as s:
        audit.record(s, ctx.username, action, "care_gaps", info["entity_id"], practice_id=info["practice_id"],
                     summary=f"{verb} {info['what']}{where}")


def build_children(items: pd.DataFrame, visits: pd.DataFrame | None, done: pd.DataFrame | None,
                   as_of: dt.date, soon_days: int | None = None, contacts: pd.DataFrame | None = None) -> pd.DataFrame:
    """The child rows (``CHILD_COLUMNS``) from ``gap_items`` rows of a worklist, the last/next visit per
    patient (``patient_id``, ``last_visit``, ``next_visit``), ``latest_attempts`` and ``contact_details``;
    each item once per child, items soonest due first; children soonest due first, then by name."""
    from .gaps import UPCOMING_DAYS

    if items.empty:
        return pd.DataFrame({c: pd.Series(dtype="object") for c in CHILD_COLUMNS})
    bundled = itemkit.bundle(items)
    bundled = bundled.assign(_due=pd.to_datetime(bundled["due_date"], errors="coerce")).sort_values(
        ["patient_id", "_due", itemkit.ITEM_COLUMN], kind="stable", na_position="last")
    pids = bundled["patient_id"].to_numpy(dtype=np.int64)
    ids_, texts = itemkit.join_runs(pids, bundled[itemkit.ITEM_COLUMN].to_numpy(dtype=object), "; ")
    ids = pd.Index(ids_, name="patient_id")
    text = pd.Series(texts, index=ids)
    pairs = items[["patient_id", "measure"]].drop_duplicates().sort_values(["patient_id", "measure"])
    measure_ids, measure_texts = itemkit.join_runs(pairs["patient_id"].to_numpy(dtype=np.int64),
                                                   pairs["measure"].to_numpy(dtype=object), ", ")
    measures = pd.Series(measure_texts, index=measure_ids)
    per_child = bundled.groupby("patient_id", sort=False)
    first = per_child["_due"].min()
    people = items.drop_duplicates("patient_id").set_index("patient_id")
    out = pd.DataFrame({
        "practice_code": people["practice_code"].reindex(ids).to_numpy(),
        "patient_id": ids.to_numpy(dtype="int64"),
        "mrn": people["mrn"].reindex(ids).to_numpy(),
        "patient_name": people["patient_name"].reindex(ids).to_numpy(),
        "birth_date": people["birth_date"].reindex(ids).to_numpy(),
        "gaps": text.to_numpy(dtype=object),
        "gap_count": per_child.size().reindex(ids).to_numpy(dtype="int64"),
        "due_date": first.reindex(ids).dt.date.astype(object).where(first.reindex(ids).notna(), None).to_numpy(),
        "measures": measures.reindex(ids).to_numpy(dtype=object),
        "provider": people["provider"].reindex(ids).to_numpy(),
        "payer": people["payer"].reindex(ids).to_numpy(),
    })
    due = pd.to_datetime(out["due_date"], errors="coerce")
    out["days_left"] = (due - pd.Timestamp(as_of)).dt.days.astype("Int64")
    out["status"] = gap_status(out["due_date"], as_of, UPCOMING_DAYS if soon_days is None else soon_days)
    out = _join(out, visits, {"last_visit": None, "next_visit": None})
    out = _join(out, contacts, {"phone": None, "guardian": None, "language": None, "contact_method": None})
    out = _join(out, done, {"last_outreach": "", "last_outreach_on": None, "last_outcome": None,
                            "follow_up_date": None, "attempts": 0})
    out["attempts"] = out["attempts"].fillna(0).astype("int64")
    out["last_outreach"] = out["last_outreach"].fillna("")
    out = out.assign(_due=due).sort_values(["_due", "patient_name"], kind="stable", na_position="last")
    return out.drop(columns="_due").reset_index(drop=True)[list(CHILD_COLUMNS)]


def _join(frame: pd.DataFrame, other: pd.DataFrame | None, columns: dict[str, Any]) -> pd.DataFrame:
    if other is None or other.empty:
        return frame.assign(**{c: pd.Series([default] * len(frame), dtype=object) for c, default in columns.items()})
    return frame.merge(other[["patient_id", *columns]], on="patient_id", how="left")


def contact_details(ctx: ServiceContext, patient_ids: Sequence[int],
                    practice_id_list: list[int] | None, source: GapSource | None = None) -> pd.DataFrame:
    """Per patient: ``phone``, ``guardian``, preferred ``language`` (its name; blank when unknown) and
    preferred ``contact_method``; from the ``source``'s table of the whole store when given."""
    cols = ["patient_id", "phone", "guardian", "language", "contact_method"]
    if not patient_ids:
        return pd.DataFrame({c: pd.Series(dtype="int64" if c == "patient_id" else object) for c in cols})
    if source is not None:
        frame = source.patient_table("contacts", lambda wanted: _contacts(ctx, None, wanted))
    else:
        frame = _contacts(ctx, practice_id_list, None)
    frame = frame[frame["patient_id"].isin(list(patient_ids)).to_numpy()].reset_index(drop=True)
    return frame[cols]


def _contacts(ctx: ServiceContext, practice_id_list: list[int] | None, patient_ids: list[int] | None) -> pd.DataFrame:
    cols = ["patient_id", "phone", "guardian", "language", "contact_method"]
    stmt = select(Patient.id, Patient.phone, Patient.guardian, Patient.language, Patient.contact_method)
    if practice_id_list is not None:
        stmt = stmt.where(Patient.practice_id.in_(practice_id_list))
    if patient_ids is not None:
        stmt = stmt.where(Patient.id.in_(patient_ids))
    with ctx.db.session() as s:
        rows = s.execute(stmt).all()
    frame = rows_frame(rows, cols)
    frame["language"] = frame["language"].map(lambda code: LANGUAGE_LABELS.get(code) if code else None)
    return frame.astype({"patient_id": "int64"})


def visit_dates(ctx: ServiceContext, patient_ids: Sequence[int], as_of: dt.date,
                practice_id_list: list[int] | None, source: GapSource | None = None) -> pd.DataFrame:
    """Per patient, the day of the last encounter up to ``as_of`` (``last_visit``; from the ``source``'s
    table of the whole store when given) and of the first booked appointment on or after ``as_of``
    (``next_visit``; cancelled and missed ones do not count; appointments are not journaled: read live)."""
    if not patient_ids:
        return pd.DataFrame({"patient_id": pd.Series(dtype="int64"), "last_visit": pd.Series(dtype=object),
                             "next_visit": pd.Series(dtype=object)})
    booked = (select(Appointment.patient_id, func.min(Appointment.start))
              .join(Patient, Patient.id == Appointment.patient_id)
              .where(Appointment.start >= dt.datetime.combine(as_of, dt.time.min),
                     Appointment.status.in_(APPOINTMENT_ACTIVE)).group_by(Appointment.patient_id))
    if practice_id_list is not None:
        booked = booked.where(Patient.practice_id.in_(practice_id_list))
    with ctx.db.session() as s:
        ahead = s.execute(booked).all()
    wanted = set(int(p) for p in patient_ids)

    def days(found: Sequence[Any]) -> dict[int, Any]:
        return {int(p): (v.date() if isinstance(v, dt.datetime) else v) for p, v in found if int(p) in wanted}

    if source is not None:
        held = source.patient_table(f"last_visit {as_of.isoformat()}", lambda ids: _last_visits(ctx, as_of, None, ids))
        mine = held[held["patient_id"].isin(list(wanted)).to_numpy()]
        last = dict(zip(mine["patient_id"].tolist(), mine["last_visit"].tolist(), strict=True))
    else:
        last = {p: v for p, v in _last_visits(ctx, as_of, practice_id_list, None).itertuples(index=False)
                if p in wanted}
    upcoming = days(ahead)
    ids = sorted(set(last) | set(upcoming))
    return pd.DataFrame({"patient_id": pd.Series(ids, dtype="int64"),
                         "last_visit": pd.Series([last.get(p) for p in ids], dtype=object),
                         "next_visit": pd.Series([upcoming.get(p) for p in ids], dtype=object)})


def _last_visits(ctx: ServiceContext, as_of: dt.date, practice_id_list: list[int] | None,
                 patient_ids: list[int] | None) -> pd.DataFrame:
    """``patient_id``, ``last_visit``: the day of each patient's last encounter up to ``as_of``."""
    stmt = (select(Encounter.patient_id, func.max(Encounter.start))
            .where(Encounter.start <= dt.datetime.combine(as_of, dt.time.max)).group_by(Encounter.patient_id))
    if practice_id_list is not None:
        stmt = stmt.join(Patient, Patient.id == Encounter.patient_id).where(Patient.practice_id.in_(practice_id_list))
    if patient_ids is not None:
        stmt = stmt.where(Encounter.patient_id.in_(patient_ids))
    with ctx.db.session() as s:
        rows = s.execute(stmt).all()
    ids = [int(p) for p, _ in rows]
    days = [v.date() if isinstance(v, dt.datetime) else v for _, v in rows]
    return pd.DataFrame({"patient_id": pd.Series(ids, dtype="int64"), "last_visit": pd.Series(days, dtype=object)})


def child_detail(worklist: Worklist, patient_id: int) -> pd.DataFrame:
    """The "why" of one child's row: one row per gap (``DETAIL_COLUMNS``), soonest due first - the item,
    the measure and rate it is a gap of, and what that rate is missing."""
    gaps = worklist.gaps
    rows = gaps[(gaps["patient_id"] == patient_id).to_numpy()]
    rows = rows.assign(_due=pd.to_datetime(rows["due_date"], errors="coerce")).sort_values(
        ["_due", itemkit.ITEM_COLUMN, "measure", "group_index"], kind="stable")
    return rows[list(DETAIL_COLUMNS)].reset_index(drop=True)


def due_for_follow_up(children: pd.DataFrame, as_of: dt.date) -> np.ndarray:
    """Per child row: the last attempt asked to try again on or before ``as_of``."""
    follow = pd.to_datetime(children["follow_up_date"], errors="coerce")
    due: np.ndarray = (follow.notna() & (follow <= pd.Timestamp(as_of))).to_numpy(dtype=bool)
    return due


# ----------------------------------------------------------------------------------------- export


def export_children_table(children: pd.DataFrame) -> pd.DataFrame:
    return children[list(CHILD_EXPORT_HEADERS)].rename(columns=CHILD_EXPORT_HEADERS)


def write_children(children: pd.DataFrame, path: Path) -> None:
    """Write the child rows as ``.csv`` or ``.xlsx`` (formula text neutralised); callers audit."""
    if path.suffix.lower() not in SPREADSHEET_SUFFIXES:
        raise ServiceError(f"Cannot write {path.name}: use a .csv or .xlsx file name")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_table(export_children_table(children), path, sheet="Care gaps", formats=CHILD_EXPORT_FORMATS)
    except OSError as exc:
        raise ServiceError(f"Cannot write {path.name}: {exc.strerror or exc}") from None


def export_child_worklist(
    ctx: ServiceContext,
    path: Path,
    period: Period,
    practice_code: str | None = None,
    measure_ids: Sequence[str] | None = None,
    due_within: int | None = None,
    as_of: dt.date | None = None,
    *,
    detail: bool = False,
    source: GapSource | None = None,
) -> Worklist:
    """The worklist written to ``path`` (.csv/.xlsx): one row per child, or with ``detail`` one row per
    gap (the per-gap worklist with its plain-words item); audited as an export."""
    if path.suffix.lower() not in (".csv", ".xlsx"):
        raise ServiceError(f"Cannot write {path.name}: use a .csv or .xlsx file name")
    scope(ctx, "patients.export", practice_ids(ctx.db, [practice_code]) if practice_code else None)
    result = child_worklist(ctx, period, practice_code, measure_ids, due_within, as_of, action=None, source=source)
    if detail:
        write_worklist(result.gaps, path)
        info = dict(result.audit, what=f"{len(result.gaps)} care gaps of {result.audit['what']}")
        result = dataclasses.replace(result, audit=info)
    else:
        write_children(result.children, path)
    record_view(ctx, result, "export", f" to {path.name}")
    return result


def export_shown(ctx: ServiceContext, worklist: Worklist, children: pd.DataFrame, path: Path) -> int:
    """Write the child rows the user is looking at (after filters) to .csv/.xlsx, audited as an export;
    returns the number of rows."""
    if path.suffix.lower() not in (".csv", ".xlsx"):
        raise ServiceError(f"Cannot write {path.name}: use a .csv or .xlsx file name")
    codes = children["practice_code"].dropna().astype(str).unique().tolist()
    require_practice_codes(ctx, "patients.export", codes)
    write_children(children, path)
    record_view(ctx, worklist, "export", f" ({len(children)} rows shown) to {path.name}")
    return len(children)
