"""Writing the accepted rows of one spreadsheet import: matching rows already in the store (EHR record id,
else patient + code + day), inserting the new ones in bulk, updating changed values and keeping their
previous values in ``import_change`` so the import can be undone. Runs inside the import's transaction.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any, cast

import numpy as np
import pandas as pd
from sqlalchemy import Table, bindparam, insert, select, update
from sqlalchemy.orm import Session

from ..interchange.tabular.fast import as_object, day_numbers, row_hash
from ..interchange.tabular.matching import content_hash, json_ready, natural_hash, same, source_hash
from ..interchange.tabular.records import TABLES, TableSpec, prepare
from ..models import Base, ImportChange, utcnow
from ..models.bulk_copy import copy_dicts, copy_rows, copy_update, is_postgresql

IN_BATCH = 500


class IntakeWriter:
    """Writes the accepted rows of one import kind, matching and updating rows already in the store."""

    def __init__(self, session: Session, kind: str, practice_id: int, import_id: int) -> None:
        self.session = session
        self.kind = kind
        self.spec: TableSpec = TABLES[kind]
        self.table: Table = Base.metadata.tables[self.spec.table]
        self.practice_id = practice_id
        self.import_id = import_id
        self.conn = session.connection()
        self.sqlite = self.conn.dialect.name == "sqlite"
        self.claimed = np.zeros(0, dtype=bool)  # by existing row id: matched once already in this import
        self._content: pd.Series | None = None
        self._compare: list[str] = []
        self._loaded = False
        self.added = self.updated = self.unchanged = 0

    # existing rows in ONE pass: id, natural-key hash, source-id hash (only rows carrying a real source
    # id) and a hash of the values this import compares
    def _load_index(self, frame: pd.DataFrame) -> None:
        self._loaded = True
        self._compare = self._compare_columns(frame)
        t = self.table
        content = [t.c[c].label(f"v_{c}") for c in self._compare]
        if self.kind == "patients":
            query = select(t.c.id, t.c.mrn, *content).where(t.c.practice_id == self.practice_id)
        else:
            code = [t.c[c] for c in self._code_columns]
            pat = Base.metadata.tables["patient"]
            query = (select(t.c.id, t.c.patient_id, t.c.source_id, t.c[self.spec.date_column].label("d"), *code,
                            *content)
                     .join(pat, pat.c.id == t.c.patient_id).where(pat.c.practice_id == self.practice_id)
                     .order_by(t.c.id))
        ids, nks, sids, hashes = [], [], [], []
        for part in self._read(query):
            ids.append(part["id"].to_numpy(dtype=np.int64))
            if self._compare:
                hashes.append(content_hash({c: part[f"v_{c}"] for c in self._compare}, self.spec))
            if self.kind == "patients":
                nks.append(row_hash([part["mrn"].fillna("")]))
                sids.append(np.zeros(len(part), dtype=np.uint64))
                continue
            pid = part["patient_id"].to_numpy(dtype=np.int64)
            nks.append(natural_hash(pid, [part[c].fillna("") for c in self._code_columns], day_numbers(part["d"])))
            src = pd.Series(as_object(part["source_id"]), dtype=object)
            identified = (src.notna() & ~src.fillna("").str.startswith("row ")).to_numpy(dtype=bool)
            sids.append(np.where(identified, source_hash(pid, src.fillna("")), np.uint64(0)))
        ids_a = np.concatenate(ids) if ids else np.zeros(0, dtype=np.int64)
        nk_a = np.concatenate(nks) if nks else np.zeros(0, dtype=np.uint64)
        sid_a = np.concatenate(sids) if sids else np.zeros(0, dtype=np.uint64)
        by_nk = pd.Series(ids_a, index=nk_a)
        self.by_nk = by_nk[~by_nk.index.duplicated()]
        unident = sid_a == 0
        by_nk_u = pd.Series(ids_a[unident], index=nk_a[unident])
        self.by_nk_unidentified = by_nk_u[~by_nk_u.index.duplicated()]
        by_sid = pd.Series(ids_a[~unident], index=sid_a[~unident])
        self.by_sid = by_sid[~by_sid.index.duplicated()]
        self.claimed = np.zeros(int(ids_a.max()) + 1 if len(ids_a) else 0, dtype=bool)
        if self._compare:
            self._content = pd.Series(np.concatenate(hashes) if hashes else np.zeros(0, np.uint64), index=ids_a)

    def _read(self, query: Any) -> Iterator[pd.DataFrame]:
        """Frames of a query's rows; on SQLite untyped (dates stay text: parsing a million rows one by
        one in the driver layer costs more than the whole comparison)."""
        if not self.sqlite:
            yield from pd.read_sql(query, self.conn, chunksize=200_000)
            return
        sql = str(query.compile(dialect=self.conn.dialect, compile_kwargs={"literal_binds": True}))
        cursor = self.conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
        try:
            cursor.execute(sql)
            names = [d[0] for d in cursor.description]
            while rows := cursor.fetchmany(200_000):
                yield pd.DataFrame.from_records(rows, columns=names)
        finally:
            cursor.close()

    @property
    def _code_columns(self) -> list[str]:
        return list(self.spec.code_columns) if self.spec.code_columns else ["referral_type"]

    def _match(self, frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        """Existing row id per new row (-1: none), and whether the match gains an EHR record id: new, writable
        arrays."""
        if self.kind == "patients":
            # a copy: write() marks re-claimed matches in this array, and when every row matched (nothing to
            # fill) pandas 3 hands out a read-only view of the index's own data instead
            found = self.by_nk.reindex(row_hash([frame["mrn"]])).fillna(-1).to_numpy(np.int64, copy=True)
            return found, np.zeros(len(frame), dtype=bool)
        pid = frame["patient_id"].to_numpy(dtype="float64").astype(np.int64)
        nk = natural_hash(pid, [frame[c].fillna("") for c in self._code_columns], day_numbers(frame["date"]))
        src = frame["source_id"]
        has_sid = ~src.fillna("row ").str.startswith("row ").to_numpy(dtype=bool)
        sid = source_hash(pid, src.fillna(""))
        by_sid = self.by_sid.reindex(sid).to_numpy(dtype=float)
        by_nk_u = self.by_nk_unidentified.reindex(nk).to_numpy(dtype=float)
        by_nk = self.by_nk.reindex(nk).to_numpy(dtype=float)
        match = np.where(has_sid, np.where(np.isnan(by_sid), by_nk_u, by_sid), by_nk)
        # matched by patient + code + day, and the file now gives the EHR id the stored row lacks
        sid_change = has_sid & np.isnan(by_sid) & ~np.isnan(by_nk_u)
        return np.nan_to_num(match, nan=-1).astype(np.int64), sid_change

    def write(self, frame: pd.DataFrame) -> None:
        if frame.empty:
            return
        frame = prepare(frame.reset_index(drop=True), self.kind)
        if self.kind != "patients":
            missing = frame["source_id"].isna().to_numpy()
            if missing.any():
                src = np.array(frame["source_id"].to_numpy(dtype=object), dtype=object)
                src[missing] = ["row " + str(r) for r in frame["row"].to_numpy()[missing]]
                frame["source_id"] = pd.Series(src, index=frame.index, dtype=object)
        if not self._loaded:
            self._load_index(frame)
        match, sid_change = self._match(frame)
        # one existing row is matched at most once per import; later claimants become new rows
        hit = match >= 0
        seen = np.array(pd.Series(match).duplicated().to_numpy(), dtype=bool)
        seen[hit] |= self.claimed[match[hit]]
        match[hit & seen] = -1
        self.claimed[match[match >= 0]] = True
        arrays = self.spec.arrays(frame)
        new_rows = match < 0
        self._insert({k: v[new_rows] for k, v in arrays.items()})
        if (~new_rows).any():
            ids = match[~new_rows]
            sub_arrays = {k: v[~new_rows] for k, v in arrays.items()}
            # fast path: rows whose stored content hashes equal to the new values are unchanged
            maybe = self._maybe_changed(ids, sub_arrays) | sid_change[~new_rows]
            self.unchanged += int((~maybe).sum())
            if maybe.any():
                self._update(ids[maybe], {k: v[maybe] for k, v in sub_arrays.items()}, frame[~new_rows][maybe])

    def _maybe_changed(self, ids: np.ndarray, arrays: dict[str, np.ndarray]) -> np.ndarray:
        if self._content is None:
            return np.zeros(len(ids), dtype=bool)
        new = content_hash({c: pd.Series(arrays[c], dtype=object) for c in self._compare}, self.spec)
        pos = self._content.index.get_indexer(ids)
        old = self._content.to_numpy()[np.maximum(pos, 0)] if len(self._content) else np.zeros(len(ids), np.uint64)
        return (pos < 0) | (old != new)  # type: ignore[no-any-return]  # pandas is untyped here

    # inserts ---------------------------------------------------------------------------------------
    def _insert(self, arrays: dict[str, np.ndarray]) -> None:
        n = len(next(iter(arrays.values()))) if arrays else 0
        if n == 0:
            return
        cols = dict(arrays)
        for name, value in self.spec.fixed.items():
            cols[name] = np.full(n, value, dtype=object)
        cols["import_id"] = np.full(n, self.import_id, dtype=object)
        if self.kind == "patients":
            cols["practice_id"] = np.full(n, self.practice_id, dtype=object)
        now = utcnow()
        for stamp in ("created_at", "updated_at"):
            if stamp in self.table.c:
                cols[stamp] = np.full(n, now.strftime("%Y-%m-%d %H:%M:%S.%f") if self.sqlite else now, dtype=object)
        if "version" in self.table.c:
            cols["version"] = np.full(n, 1, dtype=object)
        # columns that are NULL in every row need no binding (unless the table has a default for them)
        names = [c for c in cols if self.table.c[c].server_default is not None or any(v is not None for v in cols[c])]
        if self.sqlite:
            sql = (f'INSERT INTO "{self.table.name}" ({", ".join(chr(34) + c + chr(34) for c in names)}) '
                   f'VALUES ({", ".join("?" for _ in names)})')
            cursor = self.conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
            cursor.executemany(sql, zip(*(cols[c].tolist() for c in names), strict=True))
            cursor.close()
        elif is_postgresql(self.conn):
            # COPY: the same rows, faster than batched INSERTs; dates stay the ISO text they were prepared as
            # (the server parses them: no Python date object per value)
            copy_rows(self.conn, self.table, names, zip(*(cols[c].tolist() for c in names), strict=True))
        else:
            records = [dict(zip(names, row, strict=True)) for row in zip(*(self._py(c, cols[c]) for c in names),
                                                                         strict=True)]
            self.conn.execute(insert(self.table), records)
        self.added += n

    def _py(self, column: str, values: np.ndarray) -> list[Any]:
        """Python values for a non-SQLite driver (date text back to date/datetime objects)."""
        kind = next((k for c, (_, k, _) in self.spec.columns.items() if c == column), None)
        if kind in ("date", "datetime"):
            parsed = pd.to_datetime(pd.Series(values), errors="coerce")
            return [None if pd.isna(v) else (v.date() if kind == "date" else v.to_pydatetime()) for v in parsed]
        return values.tolist()  # type: ignore[no-any-return]  # numpy types tolist() as Any

    # updates ---------------------------------------------------------------------------------------
    def _compare_columns(self, frame: pd.DataFrame) -> list[str]:
        out = []
        for column, (source, _, _) in self.spec.columns.items():
            if column in ("patient_id",) or source is None or source not in frame:
                continue
            if column == "source_id":
                continue  # handled separately: only a real record id replaces another spelling
            out.append(column)
        return out

    def _fetch(self, ids: np.ndarray, columns: list[str]) -> pd.DataFrame:
        t = self.table
        parts = []
        for start in range(0, len(ids), IN_BATCH):
            batch = [int(i) for i in ids[start:start + IN_BATCH]]
            parts.append(pd.read_sql(select(t.c.id, *(t.c[c] for c in columns)).where(t.c.id.in_(batch)), self.conn))
        return pd.concat(parts, ignore_index=True).set_index("id") if parts else pd.DataFrame(columns=columns)

    def _update(self, ids: np.ndarray, arrays: dict[str, np.ndarray], frame: pd.DataFrame) -> None:
        columns = self._compare_columns(frame)
        real_sid = None
        if self.kind != "patients":
            real_sid = ~frame["source_id"].astype(str).str.startswith("row ").to_numpy()
            columns = [*columns, "source_id"]
        old = self._fetch(ids, columns).reindex(ids)
        changed = np.zeros(len(ids), dtype=bool)
        new_vals: dict[str, np.ndarray] = {}
        for column in columns:
            kind = self.spec.columns[column][1]
            new = arrays[column]
            before = old[column]
            if column == "source_id":
                assert real_sid is not None  # source_id is compared only then
                new = np.where(real_sid, new, before.to_numpy(dtype=object))
            diff = ~same(before, new, kind)
            changed |= diff
            new_vals[column] = new
        n_changed = int(changed.sum())
        self.unchanged += len(ids) - n_changed
        if not n_changed:
            return
        ids_c = ids[changed]
        befores = old[changed].copy()
        for column in columns:
            kind = self.spec.columns[column][1]
            befores[column] = json_ready(befores[column], kind)
        params = {c: new_vals[c][changed] for c in columns}
        extra = ""
        if "version" in self.table.c:
            extra += ', "version" = "version" + 1'
        if "updated_at" in self.table.c:
            extra += ", \"updated_at\" = '" + utcnow().strftime("%Y-%m-%d %H:%M:%S.%f") + "'"
        change_rows = [(self.import_id, self.table.name, int(i), json.dumps(b, default=str))
                       for i, b in zip(ids_c, befores.to_dict("records"), strict=True)]
        if self.sqlite:
            sets = ", ".join(f'"{c}" = ?' for c in columns)
            cursor = self.conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
            cursor.executemany(f'UPDATE "{self.table.name}" SET {sets}{extra} WHERE id = ?',
                               zip(*(params[c].tolist() for c in columns), ids_c.tolist(), strict=True))
            cursor.executemany("INSERT INTO import_change (import_id, table_name, row_id, before) VALUES (?, ?, ?, ?)",
                               change_rows)
            cursor.close()
        else:
            t = self.table
            py = {c: self._py(c, params[c]) for c in columns}
            changes = [{"import_id": a, "table_name": b, "row_id": c, "before": json.loads(d)}
                       for a, b, c, d in change_rows]
            if is_postgresql(self.conn):  # COPY into a temporary table, then one UPDATE ... FROM it
                also = [*(['"version" = t."version" + 1'] if "version" in t.c else []),
                        *(['"updated_at" = :now'] if "updated_at" in t.c else [])]
                copy_update(self.conn, t, columns, [(int(i), *(py[c][k] for c in columns)) for k, i in enumerate(ids_c)],
                            ", ".join(also), {"now": utcnow()})
                copy_dicts(self.conn, cast(Table, ImportChange.__table__), changes)
            else:
                values: dict[str, Any] = {c: bindparam("_" + c) for c in columns}
                if "version" in t.c:
                    values["version"] = t.c.version + 1
                if "updated_at" in t.c:
                    values["updated_at"] = utcnow()
                stmt = update(t).where(t.c.id == bindparam("_id")).values(values)
                self.conn.execute(stmt, [{"_id": int(i), **{"_" + c: py[c][k] for c in columns}}
                                         for k, i in enumerate(ids_c)])
                self.conn.execute(insert(cast(Table, ImportChange.__table__)), changes)
        self.updated += n_changed


