#!/usr/bin/env python3
"""Benchmark the bulk writes of the importers: SQLite against PostgreSQL with COPY and with the batched
INSERTs it replaced (issue 26, item 4).

    .venv/bin/python benchmarks/bench_pg_write.py [--patients 10000] [--encounters 100000]
                                                  [--pg-url postgresql+psycopg://...] [--dir /tmp/carenet_bench_w]

Generates a spreadsheet export (patients, then encounters; benchmarks/bench_import.py's generator) and a
FHIR NDJSON export (a Patient, an Encounter and two Immunizations per child), then imports both, each
target in a fresh database and a fresh process:

* ``sqlite``      the SQLite store
* ``pg-copy``     PostgreSQL, bulk rows through COPY (``models/bulk_copy.py``)
* ``pg-insert``   PostgreSQL, the batched INSERTs (executemany / INSERT ... RETURNING) of before

Without ``--pg-url`` a throwaway server is started (``scripts/pg_server.py``). Prints seconds per step.

Measured on the 2-core machine shared with other work (PostgreSQL 15 on the same machine; load average 6-8
during the runs, so figures move by +-30%), seconds:

    patients  target      patients  encounters  FHIR    (encounters: 10 per child; FHIR: 4 resources per child)
    10,000    sqlite          0.96        6.11    9.34
              pg-copy         1.23        7.23    8.40
              pg-insert       1.09        9.26   28.89
    50,000    sqlite          1.69       26.76   29.63
              pg-copy         3.44       23.12   48.66
              pg-insert       7.37       66.03  176.06

Then (except ``pg-insert``) a FHIR re-import of the same resources, changed, so every one is an update:
``pg-copy`` applies them with ``copy_update`` (COPY into a temporary table, one ``UPDATE ... FROM``),
``pg-copy-old-updates`` with the executemany of before. Stop 21, 20,000 patients (80,000 updates), load 6-8:

    target                re-import   of which updates
    pg-copy               17.6-25.5 s      4.3-7.8 s
    pg-copy-old-updates   37.8-38.9 s     18.5 s

The demo builder already wrote with COPY: 10,000 children 5.7 s on SQLite, 8.8 s on PostgreSQL (load 5.9).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))
sys.path.insert(0, str(ROOT / "scripts"))


def _fhir(folder: Path, patients: int, changed: bool = False) -> Path:
    """The FHIR export; ``changed``: the same resources with new names and times (a re-import updates them)."""
    path = folder / ("export-changed.ndjson" if changed else "export.ndjson")
    tag = "re" if changed else ""
    with path.open("w", encoding="utf-8") as fh:
        for i in range(patients):
            pid = f"p{i}"
            fh.write(json.dumps({"resourceType": "Patient", "id": pid, "birthDate": f"20{10 + i % 14}-0{1 + i % 9}-1{i % 9}",
                                 "gender": "female" if i % 2 else "male",
                                 "identifier": [{"type": {"coding": [{"code": "MR"}]}, "value": f"F{i}"}],
                                 "name": [{"family": f"Fam\t{i}{tag}", "given": ["Zoë"]}]}) + "\n")
            fh.write(json.dumps({"resourceType": "Encounter", "id": f"e{i}", "status": "finished",
                                 "class": {"code": "AMB"}, "subject": {"reference": f"Patient/{pid}"},
                                 "type": [{"coding": [{"system": "http://www.ama-assn.org/go/cpt", "code": "99392"}]}],
                                 "period": {"start": f"2025-03-0{2 if changed else 1}T10:00:00Z",
                                            "end": "2025-03-01T10:30:00Z"}}) + "\n")
            for k, cvx in enumerate(("20", "08")):
                fh.write(json.dumps({"resourceType": "Immunization", "id": f"i{i}-{k}", "status": "completed",
                                     "vaccineCode": {"coding": [{"system": "http://hl7.org/fhir/sid/cvx", "code": cvx}]},
                                     "patient": {"reference": f"Patient/{pid}"},
                                     "occurrenceDateTime": f"2021-0{1 + k}-0{2 if changed else 1}"}) + "\n")
    return path


TARGETS = ("sqlite", "pg-copy", "pg-copy-old-updates", "pg-insert")


def _executemany_updates(s: Any, table: Any, rows: list[dict[str, Any]], version: bool = False) -> None:
    """The re-import's updates before ``copy_update``: one UPDATE per row (executemany)."""
    from sqlalchemy import bindparam, update

    values: dict[str, Any] = {k: bindparam(k) for k in rows[0] if k != "_id"}
    if version:
        values["version"] = table.c.version + 1
    s.connection().execute(update(table).where(table.c.id == bindparam("_id")).values(**values), rows)


def child(target: str, url: str, folder: str) -> None:
    from carenet_desktop.models.database import open_database
    from carenet_desktop.services import fhir_import, intake_writer
    from carenet_desktop.services.context import ServiceContext
    from carenet_desktop.services.fhir_import import import_fhir
    from carenet_desktop.services.intake import import_file

    if target == "pg-insert":  # the path before COPY, kept for databases other than PostgreSQL
        intake_writer.is_postgresql = lambda conn: False  # type: ignore[assignment]
        fhir_import.is_postgresql = lambda conn: False  # type: ignore[assignment]
    if target == "pg-copy-old-updates":  # COPY inserts, but the re-import's updates as the executemany of before
        fhir_import._update_rows = _executemany_updates  # type: ignore[assignment]
    spent = [0.0]
    updating = fhir_import._update_rows

    def timed(*args: Any, **kwargs: Any) -> None:  # the seconds in the re-import's UPDATE statements
        started = time.perf_counter()
        updating(*args, **kwargs)
        spent[0] += time.perf_counter() - started

    fhir_import._update_rows = timed  # type: ignore[assignment]
    ctx = ServiceContext(open_database(url), username="bench")
    out: dict[str, float] = {}
    for kind, name in (("patients", "patients.csv"), ("encounters", "encounters.csv")):
        started = time.perf_counter()
        result = import_file(ctx, Path(folder) / name, kind, practice_code="BENCH", valid_rows_only=True)
        out[kind] = round(time.perf_counter() - started, 2)
        out[f"{kind}_added"] = result.added
    started = time.perf_counter()
    result = import_fhir(ctx, [Path(folder) / "export.ndjson"], practice_code="FHIR")
    out["fhir"] = round(time.perf_counter() - started, 2)
    out["fhir_added"] = result.added
    if target != "pg-insert":
        spent[0] = 0.0
        started = time.perf_counter()
        result = import_fhir(ctx, [Path(folder) / "export-changed.ndjson"], practice_code="FHIR")
        out["fhir_reimport"] = round(time.perf_counter() - started, 2)
        out["fhir_updated"] = result.updated
        out["fhir_reimport_updates"] = round(spent[0], 2)
    print(json.dumps(out))


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--patients", type=int, default=10_000)
    parser.add_argument("--encounters", type=int, default=100_000)
    parser.add_argument("--pg-url")
    parser.add_argument("--dir", type=Path, default=Path("/tmp/carenet_bench_w"))
    parser.add_argument("--target", action="append", choices=TARGETS, help="only these (default: all)")
    parser.add_argument("--child", nargs=3, metavar=("TARGET", "URL", "DIR"))
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return 0
    from bench_import import generate
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    generate(args.dir, args.encounters, args.patients)
    _fhir(args.dir, args.patients)
    _fhir(args.dir, args.patients, changed=True)
    server = None
    pg_url = args.pg_url
    if not pg_url:
        import pg_server

        server = pg_server.start()
        if server is None:
            print("PostgreSQL is not installed")
            return 1
        pg_url = server.url
    try:
        print(f"{args.patients:,} patients, {args.encounters:,} encounters (spreadsheet); "
              f"{args.patients * 4:,} FHIR resources")
        for target in args.target or TARGETS:
            if target == "sqlite":
                url = str(args.dir / "bench-write.db")
                for suffix in ("", "-wal", "-shm"):
                    Path(f"{url}{suffix}").unlink(missing_ok=True)
            else:
                name = f"carenet_w_{uuid.uuid4().hex[:10]}"
                with create_engine(pg_url, isolation_level="AUTOCOMMIT").connect() as conn:
                    conn.execute(text(f'CREATE DATABASE "{name}"'))
                url = make_url(pg_url).set(database=name).render_as_string(hide_password=False)
            with open("/proc/loadavg") as fh:
                load = fh.read().split()[:3]
            done = subprocess.run([sys.executable, __file__, "--child", target, url, str(args.dir)],
                                  check=True, capture_output=True, text=True)
            print(f"{target:10s}", done.stdout.strip().splitlines()[-1], "loadavg", " ".join(load))
    finally:
        if server is not None:
            server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
