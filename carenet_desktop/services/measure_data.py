"""Loading the store into ``MeasureData`` (one DataFrame per record kind) for the measure engine.

Hot path for large networks (250,000 patients, millions of events). Python-level work per value is what
costs, so:

* on SQLite (``sqlite_frames``) each column of a chunk of rows comes back as ONE string built by
  ``group_concat`` in C and is split/parsed vectorised (numbers and timestamps by NumPy, text split and
  factorized once: its codes build the str column, the ``system|code`` keys by integer work, and are
  handed on in ``factorized`` to the snapshot and the engine); a column NULL in every row is found so by
  comparing its chunk texts;
* PostgreSQL: ``COPY`` into typed columns, every table in one snapshot (``pg_frames``); other databases
  use the driver's cursor and a column-wise transpose.

Every coding: a clinical row keeps its primary coding in its code columns and the further ones in
``codings`` (``element<TAB>system|code`` lines). The key column of each element (``key``, ``value_key``,
``reason_key``, ``status_reason_key``) then holds all of the row's keys, joined by
``metrics.valuesets.MULTI_SEP``, and the metrics match a value set on any of them (``key_hits``); further
categories join the ``category`` token list. The ``codings`` texts are parsed once per distinct text and
joined (vectorised) only on the rows that have one; rows with one coding (most) keep their plain key, and
a store without further codings reads the column as NULL chunks only. ``date_only`` (the time columns given without a time of day) becomes the frame's optional
``date_only`` column when any row has one (see ``metrics.primitives.date_only_mask``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import func, inspect, select

from ..metrics.data import COLUMNS, MeasureData
from ..metrics.period import Period
from ..metrics.valuesets import MULTI_SEP
from ..models import Practice
from ..models.changes import DataChange
from ..models.database import Database
from .context import ServiceError
from .frame_columns import Col, str_column
from .frame_columns import dedupe_objects as _dedupe_objects
from .frame_columns import nulls as _nulls
from .frame_columns import numeric as _numeric
from .sqlite_frames import CHUNK_ROWS, Coded, Fallback, SqliteReader, narrow_codes

#: (frame, column) -> (codes, distinct texts) of the text columns as the SQLite reader factorized them: the
#: snapshot writer (``frames_cache``) stores these instead of factorizing every text column again
Factorized = dict[tuple[str, str], tuple[np.ndarray, np.ndarray]]

#: frame name -> table
TABLES: dict[str, str] = {
    "patients": "patient",
    "encounters": "encounter",
    "encounter_diagnoses": "encounter_diagnosis",
    "conditions": "condition",
    "observations": "observation",
    "procedures": "procedure",
    "immunizations": "immunization",
    "medication_requests": "medication_request",
    "medication_dispenses": "medication_dispense",
    "service_requests": "service_request",
    "coverages": "coverage",
    "referrals": "referral",
}

#: frame columns built as ``system|code`` from two stored columns
KEYS: dict[str, tuple[str, str]] = {
    "key": ("code_system", "code"),
    "value_key": ("value_system", "value_code"),
    "reason_key": ("reason_system", "reason_code"),
    "discharge_key": ("discharge_system", "discharge_code"),
    "location_key": ("location_system", "location_code"),
    "status_reason_key": ("status_reason_system", "status_reason_code"),
    "type_key": ("type_system", "type_code"),
}
DATES = {
    "birth_date", "deceased_date", "start", "end", "onset", "abatement", "recorded", "effective_start",
    "effective_end", "issued", "performed_start", "performed_end", "occurrence", "authored_on", "boundary_start",
    "boundary_end", "validity_start", "validity_end", "when_start", "when_end", "placed_on", "scheduled_on",
    "seen_on", "report_received_on", "closed_on", "lost_on",
}
FLOATS = {
    "value_num", "dose_quantity", "timing_frequency", "timing_period", "dispense_quantity", "supply_days",
    "repeats_allowed", "quantity", "days_supply",
}
#: the stored columns read beside the frame's own, when the table has them (see the module docstring)
EXTRA_COLUMNS = ("codings", "date_only")
#: ``codings`` element -> the frame column of its keys
CODING_ELEMENTS = {"code": "key", "value": "value_key", "reason": "reason_key", "status_reason": "status_reason_key",
                   "discharge": "discharge_key", "location": "location_key", "category": "category"}
#: between the values of one cell: keys are matched with ``key_hits``, categories as tokens (``has_token``)
_CELL_SEP = {"category": ","}
INTS = {"patient_id", "event_id"}
NULLABLE_INTS = {"practice_id", "provider_id", "encounter_id", "condition_id", "rank"}
BOOLS = {"do_not_perform"}



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
    patient_id_list: Sequence[int] | None = None,
    with_valuesets: bool = True,
) -> MeasureData:
    return load_measure_data_versioned(db, practice_codes, period, practice_id_list=practice_id_list,
                                       patient_id_list=patient_id_list, with_valuesets=with_valuesets)[0]


def load_measure_data_versioned(
    db: Database,
    practice_codes: Sequence[str] | None = None,
    period: Period | None = None,
    *,
    practice_id_list: Sequence[int] | None = None,
    patient_id_list: Sequence[int] | None = None,
    with_valuesets: bool = True,
    factorized: Factorized | None = None,
) -> tuple[MeasureData, int | None]:
    """Everything the measures read: all practices, the given ones (codes or ids), or given patients.

    ``period`` is accepted for callers that know it; every event is loaded regardless, because measures
    look back before the period (immunizations since birth, 120-day medication histories ...).

    Events a QI-Core file stored without a profile claim of their own (``profile_claim = 'no'``) are kept
    in the store and shown in the patient's record but left out here, as a QI-Core engine would not
    retrieve them; data from sources that claim no profiles at all (``NULL``) is always evaluated.

    The version returned is the change journal's, read in the load's own snapshot: on PostgreSQL every table
    is read in one ``REPEATABLE READ`` transaction (``pg_frames``), so it names exactly the data read;
    ``None`` where the tables are read on several connections (SQLite): the caller reads it before loading.

    ``factorized``, when given, receives the text columns' codes where the reader has them (SQLite, and
    PostgreSQL's COPY reader).
    """
    ids = list(practice_id_list) if practice_id_list is not None else practice_ids(db, practice_codes)
    patient_filter = _patient_filter(ids, patient_id_list)
    data = MeasureData()
    version: int | None = None
    with db.engine.connect() as conn:
        if conn.dialect.name == "postgresql":  # before the first statement: one snapshot for the whole load
            conn.execution_options(isolation_level="REPEATABLE READ", postgresql_readonly=True)
        raw_conn = conn.connection.dbapi_connection
        inspector = inspect(conn)
        existing = {table: {c["name"] for c in inspector.get_columns(table)} for table in TABLES.values()}
        wheres = {name: _where(name, patient_filter, "profile_claim" in existing[table]) for name, table in TABLES.items()}
        frames: dict[str, dict[str, Any]] = {}
        if conn.dialect.name == "sqlite":
            path = db.path
            reader = SqliteReader(raw_conn, str(path) if path is not None else None, db.key)
            try:
                plans = reader.plan([(table, _columns(name, table, existing[table]), wheres[name], patient_filter is None)
                                     for name, table in TABLES.items()])
                names = {table: name for name, table in TABLES.items()}
                for plan, columns in reader.read(plans):
                    setattr(data, names[plan.table], _shape(names[plan.table], columns, factorized))
                    frames[names[plan.table]] = {}
            except Fallback:
                frames = {}
                if factorized is not None:
                    factorized.clear()
        elif conn.dialect.name == "postgresql":
            from .pg_frames import TableJob, read_tables

            version = int(conn.execute(select(func.coalesce(func.max(DataChange.id), 0))).scalar_one())
            # helper connections only for a whole-store load: a patient's patch gains nothing from them
            raws = read_tables(conn, [TableJob(name, table, _columns(name, table, existing[table]), wheres[name])
                                      for name, table in TABLES.items()],
                               connections=None if patient_filter is None else 1)
            for name in TABLES:
                setattr(data, name, _shape(name, raws.pop(name), factorized))
                frames[name] = {}
        for name, table in TABLES.items():
            if name not in frames:
                setattr(data, name, _shape(name, _read_generic(raw_conn, table, _columns(name, table, existing[table]), wheres[name])))
    if with_valuesets:
        from .valuesets import load_index

        data.valuesets = load_index(db)
    return data, version


def _where(name: str, patient_filter: str | None, has_claims: bool = False) -> str:
    claims = "(t.profile_claim IS NULL OR t.profile_claim <> 'no')" if has_claims else "1=1"
    if patient_filter is None:
        return claims
    if name == "patients":
        return f"t.id IN ({patient_filter})"
    if name == "encounter_diagnoses":
        return f"t.encounter_id IN (SELECT id FROM encounter WHERE patient_id IN ({patient_filter}))"
    return f"t.patient_id IN ({patient_filter}) AND {claims}"


def _patient_filter(practices: list[int] | None, patients: Sequence[int] | None) -> str | None:
    """SQL selecting the ids of the patients to load (``None``: everyone). Ids are ints, so inlined."""
    parts = []
    if practices is not None:
        parts.append(f"practice_id IN ({','.join(str(int(p)) for p in practices) or 'NULL'})")
    if patients is not None:
        parts.append(f"id IN ({','.join(str(int(p)) for p in patients) or 'NULL'})")
    return None if not parts else f"SELECT id FROM patient WHERE {' AND '.join(parts)}"


def _columns(name: str, table: str, existing: set[str] | None = None) -> list[Col]:
    """The columns to read for a frame (key parts instead of keys), with SQL and kind.

    A column the table does not have (a store made by an older schema) is read as NULL.
    """
    out: dict[str, Col] = {}

    def column_sql(column: str) -> str:
        return f't."{column}"' if existing is None or column in existing else "NULL"

    for column in COLUMNS[name]:
        if column in KEYS:
            for part in KEYS[column]:
                out.setdefault(part, Col(part, column_sql(part), "str"))
            continue
        sql = column_sql(column)
        if column == "event_id" or name == "patients" and column == "patient_id":
            sql = "t.id"
        elif name == "patients" and column == "subject_id":
            sql = "COALESCE(t.source_id, CAST(t.id AS TEXT))"
        elif name == "patients" and column == "provider_id":
            sql = "t.pcp_provider_id"
        kind = ("date" if column in DATES else "float" if column in FLOATS else "int" if column in INTS
                else "nint" if column in NULLABLE_INTS else "bool" if column in BOOLS else "str")
        out[column] = Col(column, sql, kind)
    if name not in ("patients", "encounter_diagnoses", "coverages", "referrals"):
        for column in EXTRA_COLUMNS:
            if existing is None or column in existing:
                out[column] = Col(column, f't."{column}"', "str")
    return list(out.values())


# --- any database: the driver's cursor, transposed ----------------------------------------------------


def _read_generic(dbapi: Any, table: str, cols: list[Col], where: str) -> dict[str, Any]:
    """Any driver: rows fetched in batches, each batch transposed and converted column-wise."""
    cur = dbapi.cursor()
    parts: list[list[np.ndarray]] = [[] for _ in cols]
    try:
        cur.execute(f'SELECT {", ".join(c.sql for c in cols)} FROM "{table}" t WHERE {where} ORDER BY t.id')
        while rows := cur.fetchmany(CHUNK_ROWS):
            for i, column in enumerate(zip(*rows, strict=True)):
                parts[i].append(_convert_objects(np.array(column, dtype=object), cols[i]))
    finally:
        cur.close()
    out: dict[str, Any] = {}
    for col, chunks in zip(cols, parts, strict=True):
        if not chunks:
            out[col.name] = _nulls(col.kind, 0)
        elif col.kind == "str":
            out[col.name] = pd.array(np.concatenate(chunks), dtype="str")
        else:
            values = np.concatenate(chunks)
            out[col.name] = values if col.kind in ("date", "int") else _numeric(values, col.kind)
    return out


def _convert_objects(arr: np.ndarray, col: Col) -> np.ndarray:
    if col.kind == "str":
        return _dedupe_objects(arr, null=None)
    if col.kind == "date":
        return _dates_from_objects(arr)
    if col.kind == "int":
        return arr.astype(np.int64)
    return pd.to_numeric(pd.Series(arr, dtype=object), errors="coerce").to_numpy(dtype=np.float64)  # type: ignore[no-any-return]


def _dates_from_objects(arr: np.ndarray) -> np.ndarray:
    if not len(arr):
        return np.zeros(0, dtype="datetime64[us]")
    return pd.to_datetime(pd.Series(arr, dtype=object), errors="coerce").to_numpy(dtype="datetime64[us]")  # type: ignore[no-any-return]


def _shape(name: str, raw: dict[str, Any], factorized: Factorized | None = None) -> pd.DataFrame:
    """The frame with ``COLUMNS[name]``: keys built from their parts (with every further coding), in
    order; plus ``date_only`` when some row has one. The text columns read as ``Coded`` leave their
    codes in ``factorized`` (when given)."""
    n = len(next(iter(raw.values()))) if raw else 0
    out: dict[str, Any] = {}
    coded: Factorized = {}
    for column in COLUMNS[name]:
        if column in KEYS:
            system, code = KEYS[column]
            out[column] = _key(raw[system], raw[code], coded, (name, column))
        else:
            value = raw[column]
            if isinstance(value, Coded):
                coded[(name, column)] = (value.codes, value.texts)
                value = value.column()
            out[column] = value
    if "codings" in raw:
        for column in _add_codings(out, raw["codings"], {c: coded[(name, c)] for (f, c) in coded if f == name}):
            coded.pop((name, column), None)  # further codings joined in: no longer these codes
    date_only = raw.get("date_only")
    if isinstance(date_only, Coded):
        if n and bool((date_only.codes >= 0).any()):
            coded[(name, "date_only")] = (date_only.codes, date_only.texts)
            out["date_only"] = date_only.column()
    elif date_only is not None and n and pd.notna(np.asarray(date_only, dtype=object)).any():
        out["date_only"] = date_only
    if factorized is not None:
        factorized.update(coded)
    # copy=False: each column stays its own block (no copy into stacked blocks: a second of a cold load)
    return pd.DataFrame(out, index=pd.RangeIndex(n), copy=False)


def _add_codings(out: dict[str, Any], codings: Any,
                 coded: dict[str, tuple[np.ndarray, np.ndarray]] | None = None) -> list[str]:
    """Append each row's further codings to its key columns (``MULTI_SEP`` between keys); the columns
    changed. A column with its codes in ``coded`` (as read) is rebuilt from them: the rows with further
    codings get codes of their joined texts, so no row of the others is copied or checked again."""
    if isinstance(codings, Coded):
        codes, uniques = codings.codes, codings.texts
    elif not len(codings) or bool(pd.isna(codings).all()):  # no row has further codings (a NULL column)
        return []
    else:
        codes, uniques = pd.factorize(pd.Series(np.asarray(codings, dtype=object)), use_na_sentinel=True)
    if not len(uniques):
        return []
    per_column: dict[str, list[str | None]] = {}
    for i, text in enumerate(uniques):  # once per distinct ``codings`` text
        found: dict[str, list[str]] = {}
        for line in str(text).split("\n"):
            element, _, key = line.partition("\t")
            column = CODING_ELEMENTS.get(element)
            if column is not None and key:
                found.setdefault(column, []).append(key)
        for column, keys in found.items():
            per_column.setdefault(column, [None] * len(uniques))[i] = _CELL_SEP.get(column, MULTI_SEP).join(keys)
    slot = np.where(codes >= 0, codes, len(uniques))  # each row's ``codings`` text; the last slot: none
    changed: list[str] = []
    for column, extras in per_column.items():
        if column not in out:
            continue
        has_extra = np.array([e is not None for e in extras] + [False])
        rows = np.flatnonzero(has_extra[slot])
        if not len(rows):
            continue
        extra = np.array([*extras, None], dtype=object)[slot[rows]]
        own = (coded or {}).get(column)
        if own is not None:  # the row's own value from its codes (-1: missing)
            texts = np.empty(len(own[1]) + 1, dtype=object)  # the last slot: a missing value
            texts[:-1] = own[1]
            base_rows = texts[own[0][rows]]
        else:
            base_rows = np.asarray(out[column], dtype=object)[rows]
        sep = _CELL_SEP.get(column, MULTI_SEP)
        first = pd.Series(base_rows, dtype=object).fillna("|" if sep == MULTI_SEP else "").astype(object)
        joined = (first + sep + pd.Series(extra, dtype=object)).to_numpy(dtype=object)
        if own is not None:
            new_codes, new_texts = pd.factorize(joined)
            all_codes = own[0].astype(np.int64)
            all_codes[rows] = len(own[1]) + new_codes
            out[column] = str_column(all_codes, np.concatenate([np.asarray(own[1], dtype=object),
                                                                np.asarray(new_texts, dtype=object)]))
        else:
            combined = np.asarray(out[column], dtype=object).copy()
            combined[rows] = _dedupe_objects(joined, null=None)
            out[column] = pd.array(combined, dtype="str")
        changed.append(column)
    return changed


def _key(systems: Any, codes: Any, coded: Factorized | None = None, name: tuple[str, str] | None = None) -> Any:
    """``system|code`` for every row, built once per distinct pair (missing parts as empty text). From
    two ``Coded`` parts the pairs are integer work and the key's own codes go to ``coded``."""
    s_codes, s_uniq = _part_codes(systems)
    c_codes, c_uniq = _part_codes(codes)
    if not len(s_codes):
        return pd.array([], dtype="str")
    space = (len(s_uniq) + 1) * (len(c_uniq) + 1)
    # in place, in 32 bits where the space fits (the usual): half the memory of int64's passes
    pair: Any = s_codes.astype(np.int32 if space < 2**31 else np.int64)  # a copy: the codes stay as read
    pair += 1
    pair *= len(c_uniq) + 1
    pair += c_codes
    pair += 1
    p_codes, p_uniq = _first_seen_codes(pair, space)
    s_names = np.concatenate([[""], np.asarray(s_uniq, dtype=object)])
    c_names = np.concatenate([[""], np.asarray(c_uniq, dtype=object)])
    labels = np.array([f"{s_names[p // (len(c_uniq) + 1)]}|{c_names[p % (len(c_uniq) + 1)]}" for p in p_uniq], dtype=object)
    if coded is not None and name is not None:
        coded[name] = (narrow_codes(p_codes, len(labels)), labels)
    return str_column(p_codes, labels)


def _part_codes(values: Any) -> tuple[np.ndarray, Any]:
    """(codes, distinct texts) of a key's part: a ``Coded`` part's own; a part missing in every row
    (a column NULL throughout) all -1 without hashing a row; anything else ``pd.factorize``'s."""
    if isinstance(values, Coded):
        return values.codes, values.texts
    if not len(values) or bool(pd.isna(values).all()):
        return np.full(len(values), -1, dtype=np.int8), np.zeros(0, dtype=object)
    return pd.factorize(pd.Series(values), use_na_sentinel=True)  # type: ignore[no-any-return]


#: pair spaces up to this size are coded through a table of first rows rather than a hash table
_DENSE_PAIRS = 1 << 22


def _first_seen_codes(pair: np.ndarray, space: int) -> tuple[np.ndarray, np.ndarray]:
    """``pd.factorize(pair)`` of values in ``[0, space)``: codes in order of first appearance and the
    distinct values in that order. A small space goes through a table of each value's first row (no
    hashing per row)."""
    n = len(pair)
    if space > _DENSE_PAIRS or space > 4 * n + 1024:
        return pd.factorize(pair)  # type: ignore[no-any-return]
    first = np.full(space, n, dtype=np.int64)
    np.minimum.at(first, pair, np.arange(n, dtype=np.int64))
    present = np.flatnonzero(first < n)
    order = present[np.argsort(first[present], kind="stable")]
    lookup = np.empty(space, dtype=np.intp)
    lookup[order] = np.arange(len(order), dtype=np.intp)
    return lookup[pair], order
