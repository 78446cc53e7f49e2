"""`carenet huddle`: a real PDF of the day's scheduled children (the demo books the two weeks after its data),
a page per provider on the paper asked for, one-line errors."""

from __future__ import annotations

import datetime as dt
import re
import shutil
import sqlite3
import subprocess

import pytest

from carenet_desktop.cli import main as cli_main
from tests.stores import demo_store

DAY = dt.date(2026, 7, 2)  # the demo's data ends 2026-06-30; its schedule starts the day after

pytestmark = pytest.mark.skipif(shutil.which("pdftotext") is None, reason="pdftotext (poppler) not installed")


@pytest.fixture(scope="module")
def demo_file(tmp_path_factory):  # type: ignore[no-untyped-def]
    return demo_store(tmp_path_factory)


@pytest.fixture
def demo_db(demo_file, tmp_path):  # type: ignore[no-untyped-def]
    copy = tmp_path / "demo.db"
    shutil.copy(demo_file, copy)
    return copy


def _schedule(db, day: dt.date) -> tuple[str, list[tuple[str, int]]]:  # type: ignore[no-untyped-def]
    """The first practice's code, and (MRN, provider id) of its booked visits on ``day``."""
    con = sqlite3.connect(db)
    try:
        code, pid = con.execute("SELECT code, id FROM practice ORDER BY code LIMIT 1").fetchone()
        rows = con.execute("SELECT p.mrn, a.provider_id FROM appointment a JOIN patient p ON p.id = a.patient_id "
                           "WHERE p.practice_id = ? AND date(a.start) = ? AND a.status = 'booked'",
                           (pid, day.isoformat())).fetchall()
    finally:
        con.close()
    return code, rows


@pytest.mark.parametrize("paper, points", [("letter", "612 x 792"), ("a4", "595.276 x 841.89")])
def test_writes_a_page_per_provider_naming_every_scheduled_child(demo_db, tmp_path, capsys, paper: str,
                                                                 points: str) -> None:  # type: ignore[no-untyped-def]
    code, booked = _schedule(demo_db, DAY)
    assert booked, "the demo books visits on the day"
    out = tmp_path / "huddle.pdf"
    rc = cli_main(["huddle", "--db", str(demo_db), "--practice", code, "--date", DAY.isoformat(),
                   "--out", str(out), "--paper", paper])
    assert rc == 0
    said = capsys.readouterr().out
    assert f"{len(booked)} visit(s)" in said and str(out) in said
    info = subprocess.run(["pdfinfo", str(out)], check=True, capture_output=True, text=True).stdout
    pages = int(re.search(r"Pages:\s+(\d+)", info).group(1))  # type: ignore[union-attr]
    providers = {provider for _mrn, provider in booked}
    assert pages >= len(providers) and points in info
    text = subprocess.run(["pdftotext", "-layout", str(out), "-"], check=True, capture_output=True, text=True).stdout
    assert text.count("Daily huddle ·") >= len(providers)
    for mrn, _provider in booked:
        assert mrn in text
    assert "Thursday, July 2, 2026" in text and "CONFIDENTIAL" in text


def test_bad_suffix_and_unknown_practice_are_one_line_errors(demo_db, tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    assert cli_main(["huddle", "--db", str(demo_db), "--practice", "P001", "--out", str(tmp_path / "x.txt")]) != 0
    assert "--out must end in .pdf" in capsys.readouterr().err
    assert cli_main(["huddle", "--db", str(demo_db), "--practice", "NOPE", "--date", "2026-07-02",
                     "--out", str(tmp_path / "x.pdf")]) != 0
    assert "No practice with code 'NOPE'" in capsys.readouterr().err
    assert not (tmp_path / "x.pdf").exists()


def test_letters_write_a_page_per_child_and_log_outreach(demo_db, tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    con = sqlite3.connect(demo_db)
    try:
        code = con.execute("SELECT code FROM practice ORDER BY code LIMIT 1").fetchone()[0]
    finally:
        con.close()
    from carenet_desktop.metrics.period import Period
    from carenet_desktop.models.database import open_database
    from carenet_desktop.services.context import ServiceContext
    from carenet_desktop.services.worklist import child_worklist

    db = open_database(demo_db)
    children = child_worklist(ServiceContext(db), Period.year(2026), code, as_of=DAY, action=None).children
    db.dispose()
    mrns = [str(m) for m in children["mrn"].iloc[:3]]
    out = tmp_path / "letters.pdf"
    args = ["letters", "--db", str(demo_db), "--practice", code, "--as-of", DAY.isoformat(), "--out", str(out)]
    assert cli_main([*args, *(a for m in mrns for a in ("--mrn", m))]) == 0
    assert "Wrote 3 letter(s)" in capsys.readouterr().out
    info = subprocess.run(["pdfinfo", str(out)], check=True, capture_output=True, text=True).stdout
    assert re.search(r"Pages:\s+3\n", info)
    con = sqlite3.connect(demo_db)
    try:
        logged = con.execute("SELECT count(*) FROM care_activity WHERE contact_method = 'letter'").fetchone()[0]
    finally:
        con.close()
    assert logged == 3
    assert cli_main([*args, "--mrn", "NOT-AN-MRN"]) != 0
    assert "not patients of" in capsys.readouterr().err
