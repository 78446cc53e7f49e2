"""The exchange on the command line, as the practice manager and the network office run it: export the
signed package, send the public key, trust it, import; refusals change nothing; the audit trail verifies."""

from __future__ import annotations

import sqlite3

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from carenet_desktop.cli import main
from carenet_desktop.metrics.period import Period
from carenet_desktop.models import Practice
from carenet_desktop.models.database import open_database
from carenet_desktop.services.context import ServiceContext
from carenet_desktop.services.evaluation import evaluate, grouped_summary
from tests.interchange.submission_support import rezip

CODE = "P001"


@pytest.fixture
def dbs(practice_ctx, office_ctx):  # type: ignore[no-untyped-def]
    practice = str(practice_ctx.db.engine.url.database)
    office = str(office_ctx.db.engine.url.database)
    practice_ctx.db.dispose()
    office_ctx.db.dispose()
    return practice, office


def _office_rows(office: str) -> dict[str, int]:
    con = sqlite3.connect(office)
    try:
        return {t: con.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0]
                for t in ("submission", "submitted_aggregate", "practice", "audit_log")}
    finally:
        con.close()


def _send(dbs, tmp_path, capsys):  # type: ignore[no-untyped-def]
    practice, office = dbs
    package = tmp_path / "P001-2025.zip"
    assert main(["export", "submission", "--db", practice, "--practice", CODE, "--period", "2025",
                 "--out", str(package)]) == 0
    assert "signed with key" in capsys.readouterr().out
    pem = tmp_path / "p001.pem"
    assert main(["keys", "show", "--db", practice, "--practice", CODE, "--out", str(pem)]) == 0
    assert main(["keys", "trust", "--db", office, "--practice", CODE, str(pem)]) == 0
    return package


def test_round_trip_reproduces_the_practice_totals_where_not_suppressed(dbs, tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    practice, office = dbs
    package = _send(dbs, tmp_path, capsys)
    assert main(["import", "submission", "--db", office, str(package)]) == 0
    assert "1 accepted, 0 rejected" in capsys.readouterr().out
    db = open_database(practice)
    try:
        ev = evaluate(ServiceContext(db), Period.year(2025), practice_codes=[CODE])
        own = grouped_summary(ev, "network").set_index(["measure", "group_index"])
    finally:
        db.dispose()
    con = sqlite3.connect(office)
    try:
        rows = con.execute("SELECT measure_id, group_index, denominator, numerator, suppressed FROM "
                           "submitted_aggregate WHERE stratifier = ''").fetchall()
    finally:
        con.close()
    compared = 0
    for measure, group, denominator, numerator, suppressed in rows:
        if suppressed or (measure, group) not in own.index:
            continue
        assert (denominator, numerator) == (int(own.loc[(measure, group), "denominator"]),
                                            int(own.loc[(measure, group), "numerator"])), measure
        compared += 1
    assert compared >= 5


def test_resubmission_supersedes_and_history_lists_both(dbs, tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    practice, office = dbs
    first = _send(dbs, tmp_path, capsys)
    assert main(["import", "submission", "--db", office, str(first)]) == 0
    second = tmp_path / "P001-2025-b.zip"
    assert main(["export", "submission", "--db", practice, "--practice", CODE, "--period", "2025",
                 "--out", str(second)]) == 0
    capsys.readouterr()
    assert main(["import", "submission", "--db", office, str(second)]) == 0
    assert "supersedes submission 1" in capsys.readouterr().out
    assert main(["submissions", "--db", office]) == 0
    history = capsys.readouterr().out
    lines = history.splitlines()
    assert lines[0].split() == ["Submission", "Practice", "Period", "Status", "Rows", "Created", "Imported", "By",
                                "Key", "Measure", "versions"]
    assert set(lines[1]) <= {"-", " "}  # a rule under the header, then a row per package, newest first
    assert lines[2].startswith("#2 ") and " current " in lines[2]
    assert lines[3].startswith("#1 ") and " superseded by #2 " in lines[3]
    assert "NaN" not in history and "None" not in history and "measure_versions" not in history


@pytest.mark.parametrize("damage", ["tampered-byte", "removed-file", "traversal"])
def test_damaged_package_rejected_and_nothing_written(dbs, tmp_path, capsys, damage) -> None:  # type: ignore[no-untyped-def]
    _, office = dbs
    package = _send(dbs, tmp_path, capsys)
    def change(files: dict[str, bytes]) -> dict[str, bytes]:
        if damage == "tampered-byte":
            data = bytearray(files["aggregates.csv"])
            data[-3] ^= 0x01
            files["aggregates.csv"] = bytes(data)
        elif damage == "removed-file":
            del files["manifest.sig"]
        else:
            files["../evil.txt"] = b"x"
        return files

    bad = rezip(package, tmp_path / f"{damage}.zip", change)
    before = _office_rows(office)
    assert main(["import", "submission", "--db", office, str(bad)]) == 1
    out = capsys.readouterr().out
    assert "REJECTED" in out and "0 accepted, 1 rejected" in out
    assert _office_rows(office) == before


def test_package_signed_by_an_untrusted_key_is_rejected(dbs, tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    practice, office = dbs
    package = _send(dbs, tmp_path, capsys)
    assert main(["keys", "create", "--db", practice, "--practice", CODE]) == 0  # a new key the office never saw
    other = tmp_path / "other-key.zip"
    assert main(["export", "submission", "--db", practice, "--practice", CODE, "--period", "2025",
                 "--out", str(other)]) == 0
    before = _office_rows(office)
    assert main(["import", "submission", "--db", office, str(other)]) == 1
    assert _office_rows(office) == before
    assert main(["import", "submission", "--db", office, str(package)]) == 0  # the trusted one still lands


def test_export_results_to_xlsx_and_csv(dbs, tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    practice, _ = dbs
    xlsx = tmp_path / "results.xlsx"
    assert main(["export", "results", "--db", practice, "--period", "2025", "--measure", "WCV",
                 "--measure", "CMS117", "--out", str(xlsx)]) == 0
    sheet = load_workbook(xlsx).active
    header = [c.value for c in sheet[1]]
    assert header[:3] == ["Practice", "Practice name", "Measure"]
    assert sheet.freeze_panes == "A2"
    body = [[c.value for c in row] for row in sheet.iter_rows(min_row=2)]
    db = open_database(practice)
    with db.session() as s:
        codes = set(s.scalars(select(Practice.code)))
    db.dispose()
    assert {r[0] for r in body} <= codes and {r[2] for r in body} == {"WCV", "CMS117"}
    assert header[3] == "Measure version"
    assert {(r[2], r[3]) for r in body} == {("WCV", "2026.1"), ("CMS117", "0.1.000")}  # the 2025 version
    csv_path = tmp_path / "gaps.csv"
    assert main(["export", "gaps", "--db", practice, "--practice", CODE, "--period", "2025", "--measure", "WCV",
                 "--format", "csv", "--out", str(csv_path)]) == 0
    assert csv_path.read_text(encoding="utf-8-sig").splitlines()[0]


def test_audit_verify_detects_an_edited_entry(dbs, tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    practice, _ = dbs
    _send(dbs, tmp_path, capsys)  # writes audit entries (key created, export)
    assert main(["audit", "verify", "--db", practice]) == 0
    assert "intact" in capsys.readouterr().out
    out = tmp_path / "audit.jsonl"
    assert main(["audit", "export", "--db", practice, "--out", str(out)]) == 0
    assert len(out.read_text().splitlines()) >= 2
    con = sqlite3.connect(practice)
    con.execute("UPDATE audit_log SET summary = 'nothing happened' WHERE id = (SELECT min(id) FROM audit_log)")
    con.commit()
    con.close()
    assert main(["audit", "verify", "--db", practice]) == 1
    assert "BROKEN" in capsys.readouterr().out


def test_measurereport_summary_and_subject_list(dbs, tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    import json

    practice, _ = dbs
    out = tmp_path / "wcv.json"
    assert main(["export", "measurereport", "--db", practice, "--measure", "WCV", "--period", "2025",
                 "--practice", CODE, "--out", str(out)]) == 0
    report = json.loads(out.read_text())
    assert report["resourceType"] == "MeasureReport" and report["type"] == "summary"
    assert report["period"] == {"start": "2025-01-01", "end": "2025-12-31"}
    db = open_database(practice)
    try:
        ev = evaluate(ServiceContext(db), Period.year(2025), ["WCV"], [CODE])
        own = grouped_summary(ev, "network").iloc[0]
    finally:
        db.dispose()
    counts = {p["code"]["coding"][0]["code"]: p["count"] for p in report["group"][0]["population"]}
    assert counts["denominator"] == int(own["denominator"]) and counts["numerator"] == int(own["numerator"])
    assert report["group"][0]["measureScore"]["value"] == pytest.approx(float(own["rate"]), abs=1e-6)
    assert "contained" not in report and "Patient/" not in out.read_text()
    listed = tmp_path / "wcv-list.json"
    assert main(["export", "measurereport", "--db", practice, "--measure", "WCV", "--period", "2025",
                 "--practice", CODE, "--subject-list", "--out", str(listed)]) == 0
    full = json.loads(listed.read_text())
    lists = {c["id"]: c for c in full["contained"]}
    numerator = next(p for p in full["group"][0]["population"] if p["code"]["coding"][0]["code"] == "numerator")
    assert len(lists[numerator["subjectResults"]["reference"][1:]]["entry"]) == numerator["count"]


@pytest.mark.parametrize(("period", "canonical"), [
    ("2025", "https://madie.cms.gov/Measure/ChildhoodImmunizationStatusFHIR|0.1.000"),
    ("2026", "https://madie.cms.gov/Measure/CMS117FHIRChildhoodImmunizationStatus|0.3.000"),
])
def test_measurereport_names_the_published_measure_and_the_version_used(dbs, tmp_path, period, canonical) -> None:  # type: ignore[no-untyped-def]
    import json

    practice, _ = dbs
    out = tmp_path / "cms117.json"
    assert main(["export", "measurereport", "--db", practice, "--measure", "CMS117", "--period", period,
                 "--out", str(out)]) == 0
    assert json.loads(out.read_text())["measure"] == canonical


def test_measurereport_of_a_network_measure_keeps_a_local_canonical(dbs, tmp_path) -> None:  # type: ignore[no-untyped-def]
    import json

    from carenet_desktop.interchange.fhir.measurereport import MEASURE_BASE
    from tests.measure_catalogue import get_measure

    practice, _ = dbs
    out = tmp_path / "wcv.json"
    assert main(["export", "measurereport", "--db", practice, "--measure", "WCV", "--period", "2026",
                 "--out", str(out)]) == 0
    assert json.loads(out.read_text())["measure"] == f"{MEASURE_BASE}/WCV|{get_measure('WCV').version}"
