"""Held-out check of issue 19 through the real command line: after each kind of change a user can make with
``carenet``, ``carenet measures evaluate`` answered from the normal cache folder equals the same command
run with an empty cache folder (a from-scratch compute).

Each command runs in its own process, as a user runs them, so nothing held in memory (the measure
catalogue, a network measure read at start) can make the two runs agree for the wrong reason. The cache
folder is the platform's user cache folder (``platformdirs.user_cache_dir``: ``$XDG_CACHE_HOME`` here);
the normal one is kept across every step, so each check's first run is served from the frames snapshot
of the step before and replays the change journal.

Steps that change what a measure reads must change the answer too (otherwise the check would be
vacuous); an appointments import, an undo of it and a submission received by the office need not.
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.interchange.fhir_samples import bundle, encounter, immunization, patient, write

AS_OF = "2026-06-30"
PERIOD = "2025"
CUSTOM_ID = "HELDWV"
DTAP_URL = "http://cts.nlm.nih.gov/fhir/ValueSet/2.16.840.1.113883.3.464.1003.196.12.1214"

pytestmark = pytest.mark.slow


def _custom_measure(min_age: int) -> dict[str, object]:
    """A network measure as data: children of ``min_age``-17 with a well-care visit in the period."""
    return {
        "format": "carenet-measure/1", "id": CUSTOM_ID, "title": "Held-out check: well visit",
        "version": f"test.{min_age}", "direction": "increase",
        "population": {"age": {"at": "period-end", "min_years": min_age, "max_years": 17}},
        "numerator": {"codes": ["cpt|99393", "cpt|99392"], "records": ["encounters"], "window": "period"},
        "exclusions": [],
    }


def _counting(measure_id: str, codes: list[str], records: list[str]) -> dict[str, object]:
    """A network measure whose numerator is any child 0-17 with one of ``codes`` in the period: it makes
    each kind of import change a number (no built-in measure reads every kind so plainly)."""
    return {
        "format": "carenet-measure/1", "id": measure_id, "title": f"Held-out check: {records[0]}",
        "version": "test.1", "direction": "increase",
        "population": {"age": {"at": "period-end", "min_years": 0, "max_years": 17}},
        "numerator": {"codes": codes, "records": records, "window": "period"}, "exclusions": [],
    }


COUNTING = {  # file -> a measure counting one kind of record
    "held-imm.json": _counting("HELDIMM", ["cvx|83"], ["immunizations"]),
    "held-dx.json": _counting("HELDDX", ["icd10cm|B15.9"], ["conditions"]),
    "held-obs.json": _counting("HELDOBS", ["loinc|44261-6"], ["observations"]),
    "held-rx.json": _counting("HELDRX", ["rxnorm|313252"], ["medication_requests"]),
}


class Carenet:
    """``carenet`` in a new process per command, against one store, with a chosen cache folder."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.db = root / "store.db"
        self.cache = root / "cache"  # the normal cache folder, kept between commands
        self.measures = root / "measures"
        self.measures.mkdir()
        (self.measures / "held.json").write_text(json.dumps(_custom_measure(3)))
        for name, measure in COUNTING.items():
            (self.measures / name).write_text(json.dumps(measure))
        self.runs = 0
        self.commands: set[str] = set()

    def run(self, *argv: str, cache: Path | None = None, db: Path | None = None) -> str:
        """Run a command; one that changed a measured table of the store must have told the journal."""
        self.commands.add(command_path(argv))
        watched = db is None and self.db.exists() and argv[:2] != ("measures", "evaluate")
        before = measured_state(self.db) if watched else None
        out = self._run(argv, cache, db)
        if before is not None:
            after = measured_state(self.db)
            changed = sorted(t for t in after.tables if after.tables[t] != before.tables.get(t))
            if changed:
                assert after.history != before.history or after.version > before.version, (
                    f"carenet {' '.join(argv)} changed {changed} without a journal entry or a new history")
        return out

    def _run(self, argv: tuple[str, ...], cache: Path | None, db: Path | None) -> str:
        env = {**os.environ, "XDG_CACHE_HOME": str(cache or self.cache), "CARENET_MEASURES": str(self.measures),
               "CARENET_NO_ENCRYPTION": "1"}
        command = [sys.executable, "-m", "carenet_desktop", *argv, "--db", str(db or self.db)]
        done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=600)
        assert done.returncode == 0, f"carenet {' '.join(argv)} failed:\n{done.stdout}\n{done.stderr}"
        return done.stdout

    def evaluate(self, cache: Path) -> tuple[str, str]:
        """(totals by practice, patient-level results) of the whole catalogue for the period."""
        self.runs += 1
        out = self.root / f"eval-{self.runs}"
        self.run("measures", "evaluate", "--period", PERIOD, "--by", "practice", "--summary", str(out / "summary.csv"),
                 "--patient-results", str(out / "patients.csv"), cache=cache)
        return (out / "summary.csv").read_text(), (out / "patients.csv").read_text()

    def csv(self, name: str, header: list[str], rows: list[list[str]]) -> Path:
        path = self.root / name
        with path.open("w", newline="", encoding="utf-8") as fh:
            csv.writer(fh).writerows([header, *rows])
        return path

    def import_csv(self, kind: str, header: list[str], rows: list[list[str]]) -> None:
        path = self.csv(f"{kind}.csv", header, rows)
        self.run("import", "csv", str(path), "--kind", kind, "--practice", "P001")

    def undo_last_import(self) -> None:
        """Undo the newest CSV import not undone yet."""
        rows = [line.split("\t") for line in self.run("import", "list").splitlines()[1:]]
        ids = [int(r[0]) for r in rows if r[0].isdigit() and r[7] != "undone" and r[6].endswith(".csv")]
        self.run("import", "undo", str(max(ids)))

    def mrns(self, count: int) -> list[str]:
        """MRNs of P001's first children born 2016-2022 (well-visit, immunization and screening ages)."""
        import sqlite3

        con = sqlite3.connect(self.db)
        try:
            rows = con.execute(
                "SELECT p.mrn FROM patient p JOIN practice r ON r.id = p.practice_id WHERE r.code = 'P001' "
                "AND p.birth_date BETWEEN '2016-01-01' AND '2022-12-31' ORDER BY p.id LIMIT ?", (count,)).fetchall()
        finally:
            con.close()
        assert len(rows) == count
        return [r[0] for r in rows]


@dataclass(frozen=True)
class MeasuredState:
    history: str
    version: int
    tables: dict[str, str]  # measured table -> a digest of its rows


def measured_state(db: Path) -> MeasuredState:
    """The store's history id, journal version and a digest of every measured table's rows."""
    import hashlib
    import sqlite3

    from carenet_desktop.models import Base
    from carenet_desktop.models.journal import journal_rules

    con = sqlite3.connect(db)
    try:
        tables = {}
        for table in journal_rules(Base.metadata):
            digest = hashlib.sha256()
            for row in con.execute(f'SELECT * FROM "{table}" ORDER BY id'):
                digest.update(repr(row).encode())
            tables[table] = digest.hexdigest()
        history = con.execute("SELECT history_id FROM store_identity WHERE id = 1").fetchone()[0]
        version = con.execute("SELECT coalesce(max(id), 0) FROM data_change").fetchone()[0]
    finally:
        con.close()
    return MeasuredState(str(history), int(version), tables)


def command_path(argv: tuple[str, ...]) -> str:
    """The command's words as the permission table names them ("import csv", "backup")."""
    from carenet_desktop.cli.gate import COMMANDS

    two = " ".join(argv[:2])
    return two if two in COMMANDS else argv[0]


@dataclass(frozen=True)
class Step:
    name: str
    do: Callable[[Carenet], None]
    changes_numbers: bool = True


def _patients(c: Carenet) -> None:
    c.import_csv("patients", ["Patient ID", "Patient First Name", "Patient Last Name", "Birth Date", "Gender",
                              "Financial Class", "Zip"],
                 [[f"HELD{i}", "Test", f"Child{i}", "05/01/2018", "F", "Medicaid", "19104"] for i in range(6)])


def _encounters(c: Carenet) -> None:
    rows = [[mrn, f"HV{i}", f"03/{10 + i:02d}/2025", "99393", "Z00.129"] for i, mrn in enumerate(c.mrns(8))]
    rows += [[f"HELD{i}", f"HN{i}", "04/02/2025", "99393", "Z00.129"] for i in range(6)]  # the new children
    c.import_csv("encounters", ["Pat ID", "Enc ID", "Visit Date", "CPT", "Dx Code"], rows)


def _immunizations(c: Carenet) -> None:
    rows = [[mrn, "83", "2025-02-01"] for mrn in c.mrns(12)]
    c.import_csv("immunizations", ["MRN", "CVX", "Admin Date"], rows)


def _diagnoses(c: Carenet) -> None:
    rows = [[mrn, f"HD{i}", "B15.9", "2025-05-03", "Active"] for i, mrn in enumerate(c.mrns(12))]
    c.import_csv("diagnoses", ["MRN", "Problem ID", "Dx Code", "Noted Date", "Problem Status"], rows)


def _observations(c: Carenet) -> None:
    rows = [[mrn, f"HP{i}", "2025-06-11", "PHQ-9", "12"] for i, mrn in enumerate(c.mrns(15))]
    c.import_csv("observations", ["MRN", "Result ID", "Screening Date", "Screening Tool", "Score"], rows)


def _medications(c: Carenet) -> None:
    rows = [[mrn, f"HRX{i}", "313252", "2025-05-03", "30", "30"] for i, mrn in enumerate(c.mrns(12))]
    c.import_csv("medications", ["MRN", "Order ID", "RxCUI", "Order Date", "Days Supply", "Qty"], rows)


def _referrals(c: Carenet) -> None:
    rows = [[mrn, f"HR{i}", "2025-03-02", "Help Me Grow", "HMG line"] for i, mrn in enumerate(c.mrns(10))]
    c.import_csv("referrals", ["MRN", "Referral ID", "Referral Date", "Referral Type", "Referred To"], rows)


def _appointments(c: Carenet) -> None:
    rows = [[mrn, f"HA{i}", "2026-07-01", "09:00", "Well child", "Booked"] for i, mrn in enumerate(c.mrns(5))]
    c.import_csv("appointments", ["MRN", "Appt ID", "Appt Date", "Appt Time", "Appt Type", "Appt Status"], rows)


def _fhir(c: Carenet) -> None:
    folder = c.root / "fhir"
    folder.mkdir()
    resources = []
    for i in range(5):
        resources += [patient(f"hf{i}", birth="2018-02-01"),
                      encounter(f"hfe{i}", f"hf{i}", start="2025-03-05T10:00:00Z",
                                type=[{"coding": [{"system": "http://www.ama-assn.org/go/cpt", "code": "99393"}]}]),
                      immunization(f"hfi{i}", f"hf{i}", cvx="20", when="2019-01-01")]
    write(folder / "bundle.json", bundle(*resources))
    c.run("import", "fhir", str(folder), "--practice", "P001")


def _backup(c: Carenet) -> None:
    c.run("backup")


def _restore(c: Carenet) -> None:
    c.run("restore", "--latest", "--yes")


def _edit_custom_measure(c: Carenet) -> None:
    (c.measures / "held.json").write_text(json.dumps(_custom_measure(9)))


def _valuesets(c: Carenet) -> None:
    """The 2025 DTaP expansion replaced by one that knows only CVX 20: children given other DTaP codes miss."""
    vs = {"resourceType": "ValueSet", "id": "dtap", "url": DTAP_URL, "name": "DTaPVaccine", "version": "20170504",
          "expansion": {"timestamp": "2025-01-10T13:55:16-07:00",
                        "contains": [{"system": "http://hl7.org/fhir/sid/cvx", "code": "20"}]}}
    path = c.root / "dtap.json"
    path.write_text(json.dumps(vs))
    c.run("measures", "load-valuesets", str(path))


def _submission(c: Carenet) -> None:
    """The office receives a package of P001's 2025 results, exported from a copy of the store."""
    import shutil

    practice = c.root / "practice.db"
    shutil.copy(c.db, practice)
    package, pem = c.root / "P001-2025.zip", c.root / "p001.pem"
    c.run("export", "submission", "--practice", "P001", "--period", PERIOD, "--out", str(package), db=practice)
    c.run("keys", "show", "--practice", "P001", "--out", str(pem), db=practice)
    c.run("keys", "trust", "--practice", "P001", str(pem))
    c.run("import", "submission", str(package))


def _letters(c: Carenet) -> None:
    """Reminder letters, each logged as an outreach attempt (a care activity)."""
    mrns = [arg for mrn in c.mrns(6) for arg in ("--mrn", mrn)]
    c.run("letters", "--practice", "P001", *mrns, "--as-of", AS_OF, "--out", str(c.root / "letters.pdf"))


def _demo_replace(c: Carenet) -> None:
    c.run("demo", "--replace", "--practices", "2", "--patients", "250", "--seed", "9", "--as-of", AS_OF)


STEPS = (
    Step("backup taken (nothing changes)", _backup, changes_numbers=False),
    Step("CSV patients", _patients),
    Step("CSV encounters", _encounters),
    Step("CSV immunizations", _immunizations),
    Step("undo of the immunizations import", Carenet.undo_last_import),
    Step("CSV diagnoses", _diagnoses),
    Step("undo of the diagnoses import", Carenet.undo_last_import),
    Step("CSV observations", _observations),
    Step("undo of the observations import", Carenet.undo_last_import),
    Step("CSV medications", _medications),
    Step("undo of the medications import", Carenet.undo_last_import),
    Step("CSV referrals", _referrals),
    Step("undo of the referrals import", Carenet.undo_last_import),
    Step("CSV appointments", _appointments, changes_numbers=False),
    Step("undo of the appointments import", Carenet.undo_last_import, changes_numbers=False),
    Step("undo of the encounters import", Carenet.undo_last_import),
    Step("FHIR import", _fhir),
    Step("network measure file edited", _edit_custom_measure),
    Step("value sets loaded", _valuesets),
    Step("submission imported at the office", _submission, changes_numbers=False),
    Step("reminder letters logged as outreach", _letters, changes_numbers=False),
    Step("backup restored", _restore),
    Step("demo --replace", _demo_replace),
)


#: commands the steps do not run, and why none of them can change a measured table of the store
NOT_WALKED = {
    "gui": "the window: its writes call the same services (tests/ui/test_change_notices.py)",
    "practices": "reads", "measures list": "reads the catalogue", "measures validate": "reads a file",
    "gaps": "reads (audited)", "huddle": "reads (audited)", "submissions": "reads", "export results": "reads",
    "export gaps": "reads", "export measurereport": "reads", "report scorecard": "reads", "report network": "reads",
    "keys create": "a signing key: not measured", "keys revoke": "a trusted key: not measured",
    "keys list": "reads", "audit verify": "reads", "audit export": "reads (audited)", "backups": "reads",
    "check": "reads", "encrypt": "writes a new file; the store itself is left as it was",
    "users add": "accounts: not measured", "users list": "reads", "users passwd": "accounts: not measured",
    "users disable": "accounts: not measured", "users enable": "accounts: not measured",
}


def test_measures_evaluate_from_the_cache_equals_an_empty_cache_after_every_kind_of_change(tmp_path: Path) -> None:
    c = Carenet(tmp_path)
    c.run("demo", "--practices", "2", "--patients", "250", "--seed", "3", "--as-of", AS_OF)
    before = c.evaluate(c.cache)  # warms the normal cache folder
    assert all(m in before[0] for m in (CUSTOM_ID, "HELDIMM", "HELDDX", "HELDOBS", "HELDRX")), \
        "the network measure files are not read"
    for number, step in enumerate(STEPS):
        step.do(c)
        cached = c.evaluate(c.cache)
        fresh = c.evaluate(tmp_path / f"empty-cache-{number}")
        assert cached[0] == fresh[0], f"after {step.name}: totals from the cache differ from an empty cache"
        assert cached[1] == fresh[1], f"after {step.name}: patient results from the cache differ from an empty cache"
        if step.changes_numbers:
            assert fresh != before, f"{step.name} changed no number: the check after it proves nothing"
        before = fresh
    from carenet_desktop.cli.gate import COMMANDS

    assert set(NOT_WALKED) <= set(COMMANDS), "a command listed as not walked no longer exists"
    missed = set(COMMANDS) - c.commands - set(NOT_WALKED)
    assert not missed, f"commands neither walked by a step nor said to write no measured table: {sorted(missed)}"
