"""Loading the store into ``MeasureData`` (one DataFrame per record kind) for the measure engine.

Hot path for large networks: each frame is one SQL select executed on the raw driver cursor (no ORM,
no per-value type processing), built into a DataFrame in one go; dates are parsed once per column and
the value-set ``key`` columns are built vectorised.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import ColumnElement, Select, Table, cast, func, literal, select
from sqlalchemy import String as SAString

from ..metrics.data import COLUMNS, MeasureData
from ..metrics.period import Period
from ..metrics.valuesets import key_series
from ..models import (
    Condition,
    Coverage,
    Encounter,
    EncounterDiagnosis,
    Immunization,
    MedicationDispense,
    MedicationRequest,
    Observation,
    Patient,
    Practice,
    Procedure,
    Referral,
    ServiceRequest,
)
from ..models.database import Database
from .context import ServiceError

_T = {
    "patient": Patient.__table__,
    "encounter": Encounter.__table__,
    "diagnosis": EncounterDiagnosis.__table__,
    "condition": Condition.__table__,
    "observation": Observation.__table__,
    "procedure": Procedure.__table__,
    "immunization": Immunization.__table__,
    "medication_request": MedicationRequest.__table__,
    "medication_dispense": MedicationDispense.__table__,
    "service_request": ServiceRequest.__table__,
    "coverage": Coverage.__table__,
    "referral": Referral.__table__,
}

#: frame columns built as ``system|code`` from two stored columns
_KEYS: dict[str, tuple[str, str]] = {
    "key": ("code_system", "code"),
    "value_key": ("value_system", "value_code"),
    "reason_key": ("reason_system", "reason_code"),
    "discharge_key": ("discharge_system", "discharge_code"),
    "status_reason_key": ("status_reason_system", "status_reason_code"),
    "type_key": ("type_system", "type_code"),
}

_DATES = {
    "birth_date", "deceased_date", "start", "end", "onset", "abatement", "recorded", "effective_start",
    "effective_end", "issued", "performed_start", "performed_end", "occurrence", "authored_on", "boundary_start",
    "boundary_end", "validity_start", "validity_end", "when_start", "when_end", "placed_on", "scheduled_on",
    "seen_on", "report_received_on", "closed_on", "lost_on",
}
_FLOATS = {
    "value_num", "dose_quantity", "timing_frequency", "timing_period", "dispense_quantity", "supply_days",
    "repeats_allowed", "quantity", "days_supply",
}
_INT_IDS = {"patient_id", "event_id", "encounter_id"}
_NULLABLE_IDS = {"practice_id", "provider_id", "encounter_id", "condition_id", "rank"}
_BOOLS = {"do_not_perform"}

#: frame name -> (table, renames frame column -> table column)
_SOURCES: dict[str, tuple[str, dict[str, str]]] = {
    "encounters": ("encounter", {}),
    "conditions": ("condition", {}),
    "observations": ("observation", {}),
    "procedures": ("procedure", {}),
    "immunizations": ("immunization", {}),
    "medication_requests": ("medication_request", {}),
    "medication_dispenses": ("medication_dispense", {}),
    "service_requests": ("service_request", {}),
    "coverages": ("coverage", {}),
    "referrals": ("referral", {}),
}


def practice_ids(db: Database, practice_codes: Sequence[str] | None) -> list[int] | None:
    """Ids of the practices with these codes (``None`` = every practice). Unknown codes are an error."""
    if not practice_codes:
        return None
    with db.engine.connect() as conn:
        rows = dict(conn.execute(select(Practice.code, Practice.id).where(Practice.code.in_(list(practice_codes)))).all())
    missing = [c for c in practice_codes if c not in rows]
    if missing:
        raise ServiceError(f"Unknown practice code(s): {', '.join(missing)}")
    return list(rows.values())


def load_measure_data(
    db: Database,
    practice_codes: Sequence[str] | None = None,
    period: Period | None = None,
    *,
    practice_id_list: Sequence[int] | None = None,
    with_valuesets: bool = True,
) -> MeasureData:
    """Everything the measures read, for all practices or the given ones.

    ``period`` is accepted for callers that know it; every event is loaded regardless, because measures
    look back before the period (immunizations since birth, 120-day medication histories ...).
    """
    ids = list(practice_id_list) if practice_id_list is not None else practice_ids(db, practice_codes)
    data = MeasureData()
    with db.engine.connect() as conn:
        data.patients = _frame(conn, "patients", _patients_select(ids))
        for name, (table_name, _renames) in _SOURCES.items():
            data_frame = _frame(conn, name, _event_select(name, _T[table_name], ids))
            setattr(data, name, data_frame)
        data.encounter_diagnoses = _frame(conn, "encounter_diagnoses", _diagnoses_select(ids))
    if with_valuesets:
        from .valuesets import load_index

        data.valuesets = load_index(db)
    return data


# --- selects --------------------------------------------------------------------------------------------


def _patients_select(ids: list[int] | None) -> Select[Any]:
    p = _T["patient"]
    subject = func.coalesce(p.c.source_id, cast(p.c.id, SAString))
    stmt = select(
        p.c.id.label("patient_id"),
        subject.label("subject_id"),
        p.c.practice_id,
        p.c.pcp_provider_id.label("provider_id"),
        p.c.birth_date,
        p.c.sex,
        p.c.race,
        p.c.ethnicity,
        p.c.language,
        p.c.payer,
        p.c.zip_code,
        p.c.deceased_date,
    ).order_by(p.c.id)
    if ids is not None:
        stmt = stmt.where(p.c.practice_id.in_(ids))
    return stmt


def _in_practices(column: ColumnElement[Any], ids: list[int] | None) -> ColumnElement[bool] | None:
    if ids is None:
        return None
    p = _T["patient"]
    return column.in_(select(p.c.id).where(p.c.practice_id.in_(ids)))


def _event_select(name: str, table: Table, ids: list[int] | None) -> Select[Any]:
    cols: list[ColumnElement[Any]] = []
    seen: set[str] = set()
    for column in COLUMNS[name]:
        if column == "event_id":
            cols.append(table.c.id.label("event_id"))
        elif column in _KEYS:
            for part in _KEYS[column]:
                if part not in seen:
                    seen.add(part)
                    cols.append(table.c[part] if part in table.c else literal(None).label(part))
        elif column not in seen:
            seen.add(column)
            cols.append(table.c[column] if column in table.c else literal(None).label(column))
    stmt = select(*cols).order_by(table.c.id)
    where = _in_practices(table.c.patient_id, ids)
    return stmt if where is None else stmt.where(where)


def _diagnoses_select(ids: list[int] | None) -> Select[Any]:
    d = _T["diagnosis"]
    stmt = select(d.c.encounter_id, d.c.condition_id, d.c.code_system, d.c.code, d.c.use, d.c.rank).order_by(d.c.id)
    if ids is not None:
        e = _T["encounter"]
        stmt = stmt.where(d.c.encounter_id.in_(select(e.c.id).where(_in_practices(e.c.patient_id, ids))))
    return stmt


# --- frames ---------------------------------------------------------------------------------------------


def _frame(conn: Any, name: str, stmt: Select[Any]) -> pd.DataFrame:
    """Run ``stmt`` on the raw driver cursor and shape the result into the frame's ``COLUMNS``."""
    compiled = stmt.compile(dialect=conn.dialect, compile_kwargs={"literal_binds": True})
    result = conn.exec_driver_sql(str(compiled))
    names = list(result.keys())
    rows = result.fetchall()
    raw = pd.DataFrame.from_records(rows, columns=names, coerce_float=False) if rows else pd.DataFrame(
        {c: pd.Series(dtype="object") for c in names}
    )
    out: dict[str, Any] = {}
    n = len(raw)
    for column in COLUMNS[name]:
        if column in _KEYS and column not in raw.columns:
            system, code = _KEYS[column]
            out[column] = _key(raw[system], raw[code]) if n else pd.Series([], dtype="str")
        elif column in _DATES:
            out[column] = _dates(raw[column])
        elif column in _FLOATS:
            out[column] = pd.to_numeric(raw[column], errors="coerce").astype("float64")
        elif column in _INT_IDS and column not in _NULLABLE_IDS:
            out[column] = raw[column].astype("int64")
        elif column in _NULLABLE_IDS:
            out[column] = pd.array(pd.to_numeric(raw[column], errors="coerce"), dtype="Int64")
        elif column in _BOOLS:
            out[column] = pd.array([None if v is None else bool(v) for v in raw[column]], dtype="boolean")
        else:
            out[column] = _strings(raw[column])
    return pd.DataFrame(out, index=pd.RangeIndex(n))


def _key(systems: pd.Series, codes: pd.Series) -> pd.Series:
    return key_series(_strings(systems), _strings(codes)).astype("str")


def _strings(series: pd.Series) -> pd.Series:
    return series if series.dtype == "str" else series.astype("str")


def _dates(series: pd.Series) -> pd.Series:
    """Stored dates/timestamps (ISO text in SQLite, date/datetime objects elsewhere) as datetime64."""
    if len(series) == 0:
        return pd.Series([], dtype="datetime64[us]")
    if pd.api.types.is_datetime64_any_dtype(series):
        return series.astype("datetime64[us]")
    sample = series.dropna()
    if not len(sample):
        return pd.Series(np.full(len(series), np.datetime64("NaT"), dtype="datetime64[us]"))
    first = sample.iloc[0]
    if isinstance(first, str):
        return pd.to_datetime(series, format="ISO8601", errors="coerce").astype("datetime64[us]")
    if isinstance(first, dt.datetime | dt.date):
        return pd.to_datetime(series, errors="coerce").astype("datetime64[us]")
    return pd.to_datetime(series, errors="coerce").astype("datetime64[us]")
