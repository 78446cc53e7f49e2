"""Every write reaches the change journal by construction: database triggers, not application code.

Why triggers: the store is written by the ORM (data entry), by SQLAlchemy Core (undo, submissions), by
raw DB-API cursors (the import writer and the demo builder, for speed) and, on a network office's
PostgreSQL server, possibly by other tools. An ORM flush listener saw only the first kind, and the
imports escaped it: every cache then served yesterday's numbers. A trigger sees every row that changes,
whatever wrote it, in the same transaction, so the journal cannot disagree with the data.

Which tables are journaled is derived from the schema (:func:`journal_rules`): a table whose rows belong
to a patient (a ``patient_id`` column, or reached through an encounter), practice-level data, and the
value sets every measure reads. The tables that no measure reads are listed in :data:`UNMEASURED`;
``tests/models/test_journal.py`` fails for a table that is in neither, so a new table must be placed.

SQLite has only row-level triggers: one journal row per changed row. A writer that rewrites a whole store
(the demo builder) may declare that with :func:`bulk_rewrite`, and one whose rows all belong to known
practices (an import) with :func:`practice_scope`: inside, the triggers stand aside and, at the end, one
coarser row is written ("everything", or one per practice) — all in the writer's transaction, so no
other connection ever sees the triggers off. PostgreSQL uses statement-level triggers with transition tables:
one journal row per distinct patient (or practice) a statement touched.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Engine, MetaData

#: tables no measure reads: their writes need no journal row. ``appointment``: a booked visit changes no
#: measure result (the visit counts once its encounter is imported); the worklist reads it live.
#: ``shared_result`` and ``result_lease``: results computed from the store, and who computes them - what
#: they hold is a function of the journaled data and its version, not data of their own.
#: ``outreach_gap``: the gaps open when an outreach was logged, read only by the "gaps closed after
#: outreach" figure; its outreach (``care_activity``) is journaled in the same transaction.
#: ``cache_secret``: the random key sealing an encrypted store's cache files, not data any measure reads
UNMEASURED = frozenset({
    "alembic_version", "app_user", "appointment", "audit_head", "audit_log", "cache_secret", "data_change", "data_import", "import_change",
    "journal_state", "mapping_profile", "network", "outreach_gap", "result_lease", "shared_result", "signing_key", "store_identity",
    "trusted_key", "user_practice",
})
#: tables whose change may change any result (practice and patient unknown)
EVERYTHING = frozenset({"value_set", "value_set_code"})


_NONE = "CAST(NULL AS INTEGER)"  # typed: PostgreSQL's SELECT DISTINCT takes a bare NULL for text


@dataclass(frozen=True)
class Rule:
    """How a row of ``table`` names what changed: SQL over the row alias ``r`` (NEW, OLD or a transition
    table), for the practice and the patient; a row where both are NULL is not journaled unless the whole
    table is "everything"."""

    table: str
    practice: str
    patient: str
    everything: bool = False

    def condition(self) -> str:
        return "1 = 1" if self.everything else f"({self.practice}) IS NOT NULL OR ({self.patient}) IS NOT NULL"


def journal_rules(metadata: MetaData) -> dict[str, Rule]:
    """The journal rule of every measured table in ``metadata`` (ValueError for one that has none)."""
    rules: dict[str, Rule] = {}
    for table in metadata.sorted_tables:
        name, columns = table.name, set(table.columns.keys())
        if name in UNMEASURED:
            continue
        if name in EVERYTHING:
            rules[name] = Rule(name, _NONE, _NONE, everything=True)
        elif name == "patient":
            rules[name] = Rule(name, "r.practice_id", "r.id")
        elif name == "practice":
            rules[name] = Rule(name, "r.id", _NONE)
        elif "patient_id" in columns:
            of_patient = "(SELECT p.practice_id FROM patient p WHERE p.id = r.patient_id)"
            practice = f"COALESCE({of_patient}, r.practice_id)" if "practice_id" in columns else of_patient
            rules[name] = Rule(name, practice, "r.patient_id")
        elif "encounter_id" in columns:
            patient = "(SELECT e.patient_id FROM encounter e WHERE e.id = r.encounter_id)"
            practice = ("(SELECT p.practice_id FROM encounter e JOIN patient p ON p.id = e.patient_id "
                        "WHERE e.id = r.encounter_id)")
            rules[name] = Rule(name, practice, patient)
        elif "practice_id" in columns:
            rules[name] = Rule(name, "r.practice_id", _NONE)
        elif "submission_id" in columns:
            rules[name] = Rule(name, "(SELECT s.practice_id FROM submission s WHERE s.id = r.submission_id)", _NONE)
        else:
            raise ValueError(f"table {name} has no journal rule: add one, or list it in journal.UNMEASURED")
    return rules


def install_journal(target: Engine | Connection, metadata: MetaData | None = None) -> None:
    """Create (or bring up to date) the triggers of every measured table. Idempotent; run after every
    migration, since SQLite's batch migrations recreate tables without their triggers."""
    if metadata is None:
        from .base import Base

        metadata = Base.metadata
    rules = journal_rules(metadata)
    if isinstance(target, Engine):
        with target.begin() as conn:
            _install(conn, rules)
    else:
        _install(target, rules)


def _install(conn: Connection, rules: dict[str, Rule]) -> None:
    sqlite = conn.dialect.name == "sqlite"
    existing = _existing_tables(conn)
    for rule in rules.values():
        if rule.table not in existing:
            continue  # an older schema being migrated: installed again after the migration that adds it
        for statement in (_sqlite_triggers(rule) if sqlite else _postgres_triggers(rule)):
            conn.exec_driver_sql(statement)
    if not sqlite and "data_change" in existing:
        for statement in _POSTGRES_COMMIT_ORDER:
            conn.exec_driver_sql(statement)


#: PostgreSQL: change ids in commit order. A sequence hands out ids when rows are written, not when they
#: commit: a writer that took id 5 may commit after another's id 6 was read as the store's version, and its
#: change would never be replayed (every later look asks only for ids above 6). So at commit (a deferred
#: trigger, the last thing a writing transaction does) each journal row takes a new id under a
#: transaction-level advisory lock, held until the commit is visible: ids then increase in commit order, and
#: a reader that sees id n sees every change below it. The lock is taken only inside the commit, where the
#: transaction waits for nothing else, so it adds no deadlock; writers' commits queue for a moment.
_COMMIT_ORDER_LOCK = 0x6A6F75726E616C  # "journal"
_POSTGRES_COMMIT_ORDER = (
    'CREATE OR REPLACE FUNCTION "journal_commit_order"() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN '
    f"PERFORM pg_advisory_xact_lock({_COMMIT_ORDER_LOCK}); "
    "UPDATE data_change SET id = nextval(pg_get_serial_sequence('data_change', 'id')) WHERE id = NEW.id; "
    "RETURN NULL; END; $$",
    'DROP TRIGGER IF EXISTS "journal_commit_order" ON "data_change"',
    'CREATE CONSTRAINT TRIGGER "journal_commit_order" AFTER INSERT ON "data_change" DEFERRABLE INITIALLY DEFERRED '
    'FOR EACH ROW EXECUTE FUNCTION "journal_commit_order"()',
)


def _existing_tables(conn: Connection) -> set[str]:
    from sqlalchemy import inspect

    return set(inspect(conn).get_table_names())


_SQLITE_NOW = "strftime('%Y-%m-%d %H:%M:%S', 'now') || '.000000'"
#: the triggers are on unless the one row says otherwise (a missing row must never turn them off)
_SQLITE_ON = "COALESCE((SELECT suspended FROM journal_state WHERE id = 1), 0) = 0"


def _sqlite_insert(rule: Rule, row: str) -> str:
    def on(sql: str) -> str:
        return re.sub(r"\br\.", f"{row}.", sql)

    practice, patient, condition = on(rule.practice), on(rule.patient), on(rule.condition())
    return (f"INSERT INTO data_change (at, practice_id, patient_id) SELECT {_SQLITE_NOW}, {practice}, {patient} "
            f"WHERE {condition};")


def _sqlite_triggers(rule: Rule) -> list[str]:
    t = rule.table
    out = []
    for op, rows in (("INSERT", ("NEW",)), ("DELETE", ("OLD",)), ("UPDATE", ("OLD", "NEW"))):
        name = f"journal_{t}_{op.lower()}"
        body = " ".join(_sqlite_insert(rule, row) for row in rows)
        out.append(f'DROP TRIGGER IF EXISTS "{name}"')
        out.append(f'CREATE TRIGGER "{name}" AFTER {op} ON "{t}" FOR EACH ROW WHEN {_SQLITE_ON} BEGIN {body} END')
    return out


def _pg_insert(rule: Rule, rows: str) -> str:
    return (f"INSERT INTO data_change (at, practice_id, patient_id) SELECT DISTINCT now() AT TIME ZONE 'utc', "
            f"{rule.practice}, {rule.patient} FROM {rows} r WHERE {rule.condition()};")


def _postgres_triggers(rule: Rule) -> list[str]:
    t = rule.table
    function = f"journal_{t}"
    body = (f"BEGIN IF COALESCE((SELECT suspended FROM journal_state WHERE id = 1), 0) <> 0 THEN RETURN NULL; "
            f"END IF; "
            f"IF TG_OP IN ('INSERT', 'UPDATE') THEN {_pg_insert(rule, 'new_rows')} END IF; "
            f"IF TG_OP IN ('DELETE', 'UPDATE') THEN {_pg_insert(rule, 'old_rows')} END IF; RETURN NULL; END;")
    out = [f'CREATE OR REPLACE FUNCTION "{function}"() RETURNS trigger LANGUAGE plpgsql AS $$ {body} $$']
    for op, referencing in (("INSERT", "NEW TABLE AS new_rows"), ("UPDATE", "OLD TABLE AS old_rows NEW TABLE AS new_rows"),
                            ("DELETE", "OLD TABLE AS old_rows")):
        name = f"journal_{t}_{op.lower()}"
        out.append(f'DROP TRIGGER IF EXISTS "{name}" ON "{t}"')
        out.append(f'CREATE TRIGGER "{name}" AFTER {op} ON "{t}" REFERENCING {referencing} '
                   f'FOR EACH STATEMENT EXECUTE FUNCTION "{function}"()')
    return out


@contextmanager
def bulk_rewrite(conn: Any) -> Iterator[None]:
    """Within the caller's open transaction on ``conn`` (a SQLAlchemy ``Connection`` or a DB-API
    connection): the triggers stand aside, and at the end the store gets a new history id and one
    "everything changed" journal row. For writers that rewrite the whole store (the demo builder); the
    flag is never visible outside the transaction, and a failure rolls all of it back."""
    with _suspended(conn, None):
        yield


@contextmanager
def practice_scope(conn: Any, practice_ids: Iterable[int]) -> Iterator[None]:
    """Like :func:`bulk_rewrite` for a writer whose rows all belong to ``practice_ids`` (an import resolves
    its patients within one practice): one journal row per practice at the end, instead of one per row
    (a 300,000-row import spent a third of its time journaling rows), and the history is kept."""
    with _suspended(conn, sorted(set(practice_ids))):
        yield


@contextmanager
def _suspended(conn: Any, practice_ids: list[int] | None) -> Iterator[None]:
    run = conn.exec_driver_sql if isinstance(conn, Connection) else conn.execute
    run("UPDATE journal_state SET suspended = 1 WHERE id = 1")
    try:
        yield
    except BaseException:
        # PostgreSQL refuses any statement in a transaction a failed one aborted (a COPY cut off midway):
        # the caller's rollback then restores the flag, and the writer's own error is the one to raise
        with suppress(Exception):
            run("UPDATE journal_state SET suspended = 0 WHERE id = 1")
        raise
    run("UPDATE journal_state SET suspended = 0 WHERE id = 1")
    now = _SQLITE_NOW if _dialect(conn) == "sqlite" else "now() AT TIME ZONE 'utc'"
    if practice_ids is None:
        run(f"UPDATE store_identity SET history_id = '{uuid.uuid4()}' WHERE id = 1")
        run(f"INSERT INTO data_change (at, practice_id, patient_id) SELECT {now}, NULL, NULL")
    for practice in practice_ids or ():
        run(f"INSERT INTO data_change (at, practice_id, patient_id) SELECT {now}, {int(practice)}, NULL")


def _dialect(conn: Any) -> str:
    if isinstance(conn, Connection):
        return conn.dialect.name
    return "postgresql" if type(conn).__module__.startswith("psycopg") else "sqlite"


__all__ = ["EVERYTHING", "UNMEASURED", "Rule", "bulk_rewrite", "install_journal", "journal_rules", "practice_scope"]
