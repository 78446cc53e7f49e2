"""Patient data never reaches a log, an error message or a crash report.

A full round of commands runs with every logger at DEBUG — import (with rejected rows), evaluation,
worklists, reports, the exchange, a failed sign-in and a crash whose exception quotes a patient — then
everything logged, printed to stderr and written as a crash report is searched for the names, MRNs
and birth dates in the store.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pytest
from sqlalchemy import select

from carenet_desktop.cli import main
from carenet_desktop.models import Patient, Practice

PASSWORD = "correct-horse-42"


def _identifiers(db) -> set[str]:  # type: ignore[no-untyped-def]
    with db.session() as s:
        rows = s.execute(select(Patient.given_name, Patient.family_name, Patient.mrn, Patient.birth_date)
                         .join(Practice).where(Practice.code == "P001").limit(200)).all()
    found: set[str] = set()
    for given, family, mrn, born in rows:
        found.update(v for v in (family, mrn) if v and len(v) >= 4)
        if given and family:
            found.add(f"{given} {family}")
        found.add(born.isoformat())
    return found


def test_a_full_run_logs_no_patient_data(demo_ctx, tmp_path: Path, caplog, capsys, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    secrets = _identifiers(demo_ctx.db)
    with demo_ctx.db.session() as s:
        patient = s.scalars(select(Patient).join(Practice).where(Practice.code == "P001").limit(1)).one()
        victim = (f"{patient.given_name} {patient.family_name}", patient.mrn, patient.birth_date.isoformat())
    db = str(demo_ctx.db.path)
    demo_ctx.db.dispose()
    caplog.set_level(logging.DEBUG)
    crash_dir = Path(os.environ["CARENET_CRASH_DIR"])
    bad_csv = tmp_path / "patients.csv"
    bad_csv.write_text("mrn,first_name,last_name,birth_date,sex\n"
                       f"{victim[1]},{victim[0].split()[0]},{victim[0].split()[-1]},not-a-date,female\n"
                       f"ZZ-0001,{victim[0].split()[0]},{victim[0].split()[-1]},{victim[2]},martian\n")
    steps = [
        ["-v", "import", "csv", str(bad_csv), "--kind", "patients", "--practice", "P001", "--db", db],
        ["-v", "measures", "evaluate", "--period", "2026", "--practice", "P001", "--db", db,
         "--patient-results", str(tmp_path / "results.csv")],
        ["-v", "gaps", "--practice", "P001", "--period", "2026", "--as-of", "2026-06-30", "--db", db,
         "--out", str(tmp_path / "gaps.xlsx")],
        ["-v", "report", "scorecard", "--practice", "P001", "--period", "2026", "--no-trends", "--db", db,
         "--out", str(tmp_path / "s.pdf")],
        ["-v", "export", "submission", "--practice", "P001", "--period", "2026", "--db", db,
         "--out", str(tmp_path / "s.zip")],
        ["-v", "backup", "--db", db],
    ]
    codes = [main(argv) for argv in steps]
    assert codes == [1, 0, 0, 0, 0, 0]  # the import is refused (bad rows), the rest succeed
    # a failed sign-in after accounts exist
    monkeypatch.setenv("CARENET_NEW_PASSWORD", PASSWORD)
    assert main(["users", "add", "admin", "--role", "network_admin", "--db", db]) == 0
    monkeypatch.setenv("CARENET_PASSWORD", "wrong-password-1")
    assert main(["-v", "practices", "--db", db, "--user", victim[0]]) == 1
    # a bug whose exception message quotes a patient
    import carenet_desktop.cli.practices_cmd as practices_cmd

    def crash(_ctx):  # type: ignore[no-untyped-def]
        raise ValueError(f"cannot format {victim[0]} (MRN {victim[1]}, born {victim[2]})")

    monkeypatch.setattr(practices_cmd, "list_practices", crash)
    monkeypatch.setenv("CARENET_PASSWORD", PASSWORD)
    assert main(["-v", "practices", "--db", db, "--user", "admin"]) == 70

    out = capsys.readouterr()
    reports = [p.read_text() for p in crash_dir.glob("crash-*.txt")]
    logged = "\n".join(r.getMessage() + (r.exc_text or "") for r in caplog.records)
    assert len(caplog.records) > 0
    for text, where in ((logged, "log"), (out.err, "stderr"), ("\n".join(reports), "crash report")):
        leaked = sorted(v for v in secrets | set(victim) if v in text)
        assert not leaked, f"patient data in the {where}: {leaked[:5]}"


def test_a_crash_report_leaves_out_the_message(demo_ctx, monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]
    import carenet_desktop.cli.practices_cmd as practices_cmd

    db = str(demo_ctx.db.path)
    demo_ctx.db.dispose()
    secret = "Ann Example MRN 4242-77 born 2024-02-29"

    def crash(_ctx):  # type: ignore[no-untyped-def]
        raise ValueError(secret)

    monkeypatch.setattr(practices_cmd, "list_practices", crash)
    assert main(["practices", "--db", db]) == 70
    err = capsys.readouterr().err
    assert "unexpected error: ValueError" in err and secret not in err
    reports = sorted(Path(os.environ["CARENET_CRASH_DIR"]).glob("crash-*.txt"))
    assert reports, "no crash report written"
    text = reports[-1].read_text()
    assert "ValueError" in text and "practices_cmd" in text and secret not in text


@pytest.mark.parametrize("name", ["Ann Example"])
def test_failed_sign_in_does_not_echo_the_name(demo_ctx, monkeypatch, capsys, name: str) -> None:  # type: ignore[no-untyped-def]
    db = str(demo_ctx.db.path)
    demo_ctx.db.dispose()
    monkeypatch.setenv("CARENET_NEW_PASSWORD", PASSWORD)
    assert main(["users", "add", "admin", "--role", "network_admin", "--db", db]) == 0
    monkeypatch.setenv("CARENET_PASSWORD", PASSWORD)
    assert main(["practices", "--db", db, "--user", name]) == 1
    assert name not in capsys.readouterr().err
