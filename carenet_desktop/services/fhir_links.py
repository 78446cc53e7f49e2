"""Links a multi-file FHIR import resolves at its end: references to resources of a later file."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import Table, bindparam, select, update
from sqlalchemy.orm import Session

CHUNK = 500


def chunks(items: Sequence[Any], size: int = CHUNK) -> Iterable[Sequence[Any]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def resolve_late_references(s: Session, import_id: int | None, event_tables: dict[str, Table],
                             diagnosis: Table) -> None:
    """Link what pointed to a resource of a file imported later in the same run (bulk NDJSON comes
    one file per resource type): Encounter.diagnosis -> Condition, and any event -> its Encounter."""
    d, c, e = diagnosis, event_tables["condition"], event_tables["encounter"]
    pending = s.execute(
        select(d.c.id, e.c.patient_id, d.c.condition_source_id)
        .join(e, e.c.id == d.c.encounter_id)
        .where(d.c.condition_id.is_(None), d.c.condition_source_id.is_not(None), e.c.import_id == import_id)
    ).all()
    if pending:
        conditions = {(pid, sid): (cid, system, code)
                      for chunk in chunks(sorted({pid for _id, pid, _sid in pending}))
                      for cid, pid, sid, system, code in s.execute(
                          select(c.c.id, c.c.patient_id, c.c.source_id, c.c.code_system, c.c.code)
                          .where(c.c.patient_id.in_(chunk)))}
        rows = [{"_id": did, "cid": hit[0], "sys": hit[1], "code": hit[2]}
                for did, pid, sid in pending if (hit := conditions.get((pid, sid)))]
        if rows:
            s.connection().execute(
                update(d).where(d.c.id == bindparam("_id"))
                .values(condition_id=bindparam("cid"), code_system=bindparam("sys"), code=bindparam("code")), rows)
    for kind, table in event_tables.items():
        if kind == "encounter" or "encounter_id" not in table.c:
            continue
        late = [(rid, pid, detail) for rid, pid, detail in s.execute(
            select(table.c.id, table.c.patient_id, table.c.detail)
            .where(table.c.import_id == import_id, table.c.encounter_id.is_(None), table.c.detail.is_not(None)))
            if isinstance(detail, dict) and detail.get("encounter_ref")]
        if not late:
            continue
        encounters = {(pid, sid): eid for chunk in chunks(sorted({pid for _r, pid, _d in late}))
                      for eid, pid, sid in s.execute(
                          select(e.c.id, e.c.patient_id, e.c.source_id).where(e.c.patient_id.in_(chunk)))}
        rows = []
        for rid, pid, detail in late:
            eid = encounters.get((pid, detail["encounter_ref"]))
            if eid is not None:
                rest = {k: v for k, v in detail.items() if k != "encounter_ref"} or None
                rows.append({"_id": rid, "eid": eid, "det": rest})
        if rows:
            s.connection().execute(
                update(table).where(table.c.id == bindparam("_id")).values(encounter_id=bindparam("eid"),
                                                                           detail=bindparam("det")), rows)
