"""The synthetic demo network: sizes, determinism, realism (variation and gaps), codes, integrity."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import sqlite3
from pathlib import Path

import pytest

from carenet_desktop.cli import main as cli_main
from carenet_desktop.codes import system_key
from carenet_desktop.demo import DemoError, build_demo, default_as_of, ensure_demo_database
from carenet_desktop.demo.people import npi_is_valid, npi_with_check_digit
from carenet_desktop.demo.vocab import all_codes
from carenet_desktop.models.database import open_database

ROOT = Path(__file__).resolve().parents[2]
CATALOGUE = ROOT / "resources" / "valuesets" / "carenet-catalogue.json"
AS_OF = dt.date(2025, 12, 31)
EVENT_TABLES = ("encounter", "condition", "observation", "procedure", "immunization", "medication_request",
                "medication_dispense", "service_request")
#: columns that record when the load ran, not what was generated
VOLATILE = {"data_import": {"started_at", "finished_at"}, "data_change": {"at"},
            "store_identity": {"history_id"},  # a new history per store, by design (models.changes)
            "audit_head": {"last_hash", "key_id", "head_mac"},  # keyed with the store's audit key (models.audit_key)
            "audit_log": {"entry_hash", "prev_hash"}}


def _build(path: Path, **kw):
    db = open_database(path)
    try:
        options = {"practices": 4, "patients": 2400, "seed": 11, "as_of": AS_OF} | kw
        return build_demo(db, **options)
    finally:
        db.dispose()


def _dump_hash(path: Path) -> dict[str, str]:
    con = sqlite3.connect(path)
    try:
        tables = [r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table' ORDER BY name")]
        out = {}
        for table in tables:
            cols = [r[1] for r in con.execute(f'PRAGMA table_info("{table}")') if r[1] not in VOLATILE.get(table, ())]
            digest = hashlib.sha256()
            for row in con.execute(f'SELECT {", ".join(chr(34) + c + chr(34) for c in cols)} FROM "{table}" '
                                   f'ORDER BY {", ".join(chr(34) + c + chr(34) for c in cols)}'):
                digest.update(repr(row).encode())
            out[table] = digest.hexdigest()
        return out
    finally:
        con.close()


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    path = tmp_path_factory.mktemp("demo") / "demo.db"
    summary = _build(path)
    con = sqlite3.connect(path)
    yield summary, con, path
    con.close()


def q(con: sqlite3.Connection, sql: str, *args) -> list[tuple]:
    return con.execute(sql, args).fetchall()


def test_small_network_builds_fast_with_every_kind_of_record(demo):
    summary, con, _ = demo
    assert summary.seconds < 30
    for table in (*EVENT_TABLES, "patient", "provider", "coverage", "referral", "care_activity", "aggregate_entry",
                  "encounter_diagnosis"):
        assert summary.rows.get(table, 0) > 0, table
        assert q(con, f'SELECT count(*) FROM "{table}"')[0][0] == summary.rows[table]


def test_sizes_are_respected(demo):
    summary, con, _ = demo
    assert q(con, "SELECT count(*) FROM practice")[0][0] == 4
    assert q(con, "SELECT count(*) FROM patient")[0][0] == 2400
    per_practice = [r[0] for r in q(con, "SELECT count(*) FROM patient GROUP BY practice_id")]
    assert len(per_practice) == 4 and sum(per_practice) == 2400 and len(set(per_practice)) > 1
    providers = [r[0] for r in q(con, "SELECT count(*) FROM provider WHERE specialty != 'Pediatric Dentistry' "
                                      "GROUP BY practice_id")]
    assert all(3 <= n <= 25 for n in providers)
    ages = q(con, "SELECT min(julianday(?) - julianday(birth_date)), max(julianday(?) - julianday(birth_date)) "
                  "FROM patient", AS_OF.isoformat(), AS_OF.isoformat())[0]
    assert ages[0] >= 0 and ages[1] < 22 * 365.25
    young = q(con, "SELECT sum(julianday(?) - julianday(birth_date) < 6 * 365.25), "
                   "sum(julianday(?) - julianday(birth_date) >= 15 * 365.25) FROM patient",
              AS_OF.isoformat(), AS_OF.isoformat())[0]
    assert young[0] > young[1]  # slightly more young children than older ones in a 6-year band


def test_identifiers_npi_and_mrn(demo):
    _, con, _ = demo
    npis = [r[0] for r in q(con, "SELECT npi FROM provider")]
    assert len(npis) == len(set(npis)) and all(npi_is_valid(n) for n in npis)
    assert q(con, "SELECT count(*) FROM (SELECT practice_id, mrn FROM patient GROUP BY 1, 2 HAVING count(*) > 1)") == [(0,)]


def test_npi_check_digit_follows_the_luhn_rule_with_the_80840_prefix():
    assert npi_with_check_digit("123456789") == "1234567893"  # the CMS worked example
    assert npi_is_valid("1234567893") and not npi_is_valid("1234567890")


def test_same_seed_gives_identical_tables_and_another_seed_differs(tmp_path):
    a, b, c = tmp_path / "a.db", tmp_path / "b.db", tmp_path / "c.db"
    for path, seed in ((a, 5), (b, 5), (c, 6)):
        _build(path, practices=3, patients=700, seed=seed)
    ha, hb, hc = _dump_hash(a), _dump_hash(b), _dump_hash(c)
    assert ha == hb
    assert ha["patient"] != hc["patient"] and ha["immunization"] != hc["immunization"]


def test_events_lie_within_the_patients_lives_and_the_window(demo):
    _, con, _ = demo
    bad = q(con, "SELECT count(*) FROM encounter e JOIN patient p ON p.id = e.patient_id "
                 "WHERE date(e.start) < p.birth_date OR date(e.start) > ?", AS_OF.isoformat())[0][0]
    assert bad == 0
    bad = q(con, "SELECT count(*) FROM immunization i JOIN patient p ON p.id = i.patient_id "
                 "WHERE date(i.occurrence) < p.birth_date OR date(i.occurrence) > ?", AS_OF.isoformat())[0][0]
    assert bad == 0
    first = q(con, "SELECT min(date(start)) FROM encounter")[0][0]
    assert first < (AS_OF - dt.timedelta(days=3 * 365 - 30)).isoformat()  # ~3 years of history


def test_statuses_are_fhir_valid(demo):
    _, con, _ = demo
    assert {r[0] for r in q(con, "SELECT DISTINCT status FROM encounter")} == {"finished"}
    assert {r[0] for r in q(con, "SELECT DISTINCT status FROM immunization")} == {"completed", "not-done"}
    assert q(con, "SELECT count(*) FROM immunization WHERE status = 'not-done' AND status_reason_code IS NULL") == [(0,)]
    assert {r[0] for r in q(con, "SELECT DISTINCT status FROM observation")} <= {"final", "cancelled"}
    assert {r[0] for r in q(con, "SELECT DISTINCT intent FROM medication_request")} == {"order"}
    assert {r[0] for r in q(con, "SELECT DISTINCT status FROM medication_request")} <= {"active", "completed"}
    assert {r[0] for r in q(con, "SELECT DISTINCT status FROM referral")} <= {
        "placed", "scheduled", "seen", "report-received", "closed", "lost"}


def test_referential_integrity(demo):
    _, con, _ = demo
    assert q(con, "PRAGMA foreign_key_check") == []
    assert q(con, "SELECT count(*) FROM encounter_diagnosis d LEFT JOIN condition c ON c.id = d.condition_id "
                  "WHERE c.id IS NULL OR c.code != d.code") == [(0,)]
    assert q(con, "SELECT count(*) FROM observation o JOIN encounter e ON e.id = o.encounter_id "
                  "WHERE e.patient_id != o.patient_id") == [(0,)]


def _catalogue_keys() -> set[str]:
    """Codes of every value set the application ships (the catalogue and the network measures' own sets)."""
    keys: set[str] = set()
    for path in CATALOGUE.parent.glob("*.json"):
        for entry in json.loads(path.read_text(encoding="utf-8"))["entry"]:
            resource = entry["resource"]
            keys |= {f"{system_key(c['system'])}|{c['code']}" for c in resource.get("expansion", {}).get("contains", [])}
            for include in resource.get("compose", {}).get("include", []):
                keys |= {f"{system_key(include['system'])}|{c['code']}" for c in include.get("concept", [])}
    return keys


def test_every_code_the_demo_records_is_in_the_default_catalogue(demo):
    _, con, _ = demo
    keys = _catalogue_keys()
    used: set[str] = set()
    for table in EVENT_TABLES:
        used |= {f"{s}|{c}" for s, c in q(con, f'SELECT DISTINCT code_system, code FROM "{table}"')}
    for table, prefix in (("observation", "value"), ("observation", "status_reason"), ("immunization", "status_reason"),
                          ("encounter", "reason"), ("referral", "reason"), ("service_request", "reason")):
        used |= {f"{s}|{c}" for s, c in q(con, f'SELECT DISTINCT {prefix}_system, {prefix}_code FROM "{table}" '
                                                f'WHERE {prefix}_code IS NOT NULL')}
    assert used - keys == set()
    assert {f"{system_key(c.system)}|{c.code}" for c in all_codes()} <= keys


def test_catalogue_keeps_the_canonical_urls_of_the_measures():
    bundle = json.loads(CATALOGUE.read_text(encoding="utf-8"))
    urls = {e["resource"]["url"] for e in bundle["entry"]}
    assert "http://cts.nlm.nih.gov/fhir/ValueSet/2.16.840.1.113883.3.464.1003.196.12.1214" in urls  # DTaP
    assert "urn:carenet:valueset:developmental-screening" in urls
    assert len(urls) == len(bundle["entry"])
    shipped = [json.loads(p.read_text(encoding="utf-8")) for p in CATALOGUE.parent.glob("*.json")]
    # a URL may be shipped in several years' expansions, each once: the store keys them by (url, version, expansion)
    everywhere = [(r["url"], r.get("version") or "", str((r.get("expansion") or {}).get("timestamp") or ""))
                  for b in shipped for r in (e["resource"] for e in b["entry"])]
    assert len(everywhere) == len(set(everywhere)), "a value-set expansion is defined twice in resources/valuesets"
    urls_everywhere = {url for url, _, _ in everywhere}
    assert {"urn:carenet:valueset:lead-test", "urn:carenet:valueset:fluoride-varnish"} <= urls_everywhere
    later = json.loads((CATALOGUE.parent / "carenet-catalogue-2026.json").read_text(encoding="utf-8"))
    assert {e["resource"]["url"] for e in later["entry"]} <= urls  # a later year changes lists the product has


def _rate_by_practice(con, sql: str) -> list[float]:
    return [r[1] for r in q(con, sql, AS_OF.isoformat()) if r[2] >= 20]


def test_practices_differ_in_quality(demo):
    _, con, _ = demo
    # BMI documented at well visits of children 2 and older, per practice
    bmi = _rate_by_practice(con, """
        SELECT p.practice_id, avg(EXISTS (SELECT 1 FROM observation o WHERE o.encounter_id = e.id
                                          AND o.code = '39156-5')), count(*)
        FROM encounter e JOIN patient p ON p.id = e.patient_id
        WHERE e.code IN ('99392','99393','99394','99395') AND date(e.start) <= ? GROUP BY 1""")
    assert max(bmi) - min(bmi) > 0.08
    # immunization completeness: children aged 2-3 with 3+ DTaP-containing doses, per practice
    dtap = _rate_by_practice(con, """
        SELECT p.practice_id, avg((SELECT count(*) FROM immunization i WHERE i.patient_id = p.id
                                   AND i.status = 'completed' AND i.code IN ('20','110','120')) >= 3), count(*)
        FROM patient p WHERE julianday(?) - julianday(p.birth_date) BETWEEN 730 AND 1095 GROUP BY 1""")
    assert max(dtap) - min(dtap) > 0.04


def test_equity_gaps_exist(demo):
    _, con, _ = demo
    rows = dict((r[0], r[1]) for r in q(con, """
        SELECT payer, avg((SELECT count(*) FROM encounter e WHERE e.patient_id = p.id AND e.class_code = 'EMER'))
        FROM patient p GROUP BY payer"""))
    assert rows["uninsured"] > rows["commercial"]
    well = dict((r[0], r[1]) for r in q(con, """
        SELECT payer, avg(EXISTS (SELECT 1 FROM encounter e WHERE e.patient_id = p.id
                                  AND e.code IN ('99392','99393','99394') AND date(e.start) > date(?, '-1 year')))
        FROM patient p WHERE julianday(?) - julianday(p.birth_date) BETWEEN 3 * 365 AND 17 * 365 GROUP BY payer""",
                                            AS_OF.isoformat(), AS_OF.isoformat()))
    assert well["commercial"] > well["uninsured"]
    spanish_hispanic = q(con, "SELECT avg(ethnicity = 'hispanic') FROM patient WHERE language = 'es'")[0][0]
    assert spanish_hispanic > 0.85


def test_referral_loops_complete_or_get_lost(demo):
    _, con, _ = demo
    statuses = dict(q(con, "SELECT status, count(*) FROM referral GROUP BY 1"))
    assert statuses.get("closed", 0) > 0 and statuses.get("lost", 0) > 0
    assert q(con, "SELECT count(*) FROM referral WHERE status = 'closed' AND (closed_on IS NULL OR seen_on IS NULL "
                  "OR closed_on < placed_on)") == [(0,)]
    assert q(con, "SELECT count(*) FROM referral WHERE status = 'lost' AND lost_on IS NULL") == [(0,)]
    assert {r[0] for r in q(con, "SELECT DISTINCT referral_type FROM referral")} >= {
        "help-me-grow", "behavioral-health", "community-service"}


def test_refuses_a_database_with_practices_unless_replace(tmp_path):
    path = tmp_path / "r.db"
    _build(path, practices=2, patients=300, seed=3)
    db = open_database(path)
    try:
        with pytest.raises(DemoError, match="already has practices"):
            build_demo(db, practices=2, patients=300, seed=3, as_of=AS_OF)
        build_demo(db, practices=2, patients=300, seed=3, as_of=AS_OF, replace=True)
    finally:
        db.dispose()
    fresh = tmp_path / "fresh.db"
    _build(fresh, practices=2, patients=300, seed=3)
    replaced, again = _dump_hash(path), _dump_hash(fresh)
    for table in ("patient", "encounter", "immunization", "referral"):
        assert replaced[table] == again[table]


def test_default_as_of_is_the_last_day_of_the_previous_month():
    assert default_as_of(dt.date(2026, 3, 15)) == dt.date(2026, 2, 28)
    assert default_as_of(dt.date(2026, 1, 1)) == dt.date(2025, 12, 31)


def test_ensure_demo_database_builds_once(tmp_path):
    path = tmp_path / "sub" / "demo.db"
    summary = ensure_demo_database(path, practices=2, patients=200, as_of=AS_OF)
    assert summary is not None and path.exists() and not (tmp_path / "sub" / "demo.db.building").exists()
    assert ensure_demo_database(path, practices=2, patients=200, as_of=AS_OF) is None


def test_cli_demo_builds_and_then_refuses(tmp_path, capsys):
    path = tmp_path / "cli.db"
    args = ["demo", "--db", str(path), "--practices", "2", "--patients", "250", "--as-of", "2025-12-31"]
    assert cli_main(args) == 0
    assert "250 patients" in capsys.readouterr().out
    assert cli_main(args) == 1
    assert "already has practices" in capsys.readouterr().err
    assert cli_main([*args, "--replace", "--seed", "9"]) == 0


@pytest.mark.parametrize("backend", __import__("tests.dbtargets", fromlist=["backends"]).backends())
def test_builds_on_every_backend_and_the_store_keeps_working(backend, tmp_path):
    """SQLite (raw executemany) and PostgreSQL (Core executemany, sequences moved past our ids)."""
    from sqlalchemy import func, select

    from carenet_desktop.models import Patient
    from tests.dbtargets import fresh_database

    with fresh_database(backend, tmp_path) as url:
        db = open_database(url)
        try:
            summary = build_demo(db, practices=2, patients=150, seed=4, as_of=AS_OF)
            with db.session() as s:
                assert s.scalar(select(func.count()).select_from(Patient)) == 150
                practice_id = s.scalar(select(Patient.practice_id).limit(1))
                s.add(Patient(practice_id=practice_id, mrn="NEW-1", birth_date=dt.date(2020, 1, 1)))
            with db.session() as s:
                assert s.scalar(select(func.max(Patient.id))) == 151
            assert summary.rows["encounter"] > 0
        finally:
            db.dispose()


def test_cancelling_through_progress_leaves_the_database_empty(tmp_path):
    """A cancel raised from ``report`` stops the generator thread and rolls the whole load back."""
    from carenet_desktop.services.context import Cancelled, Progress

    progress = Progress()
    seen: list[float] = []

    def on_report(fraction: float, message: str) -> None:
        seen.append(fraction)
        if fraction > 0:
            progress.cancel()

    progress.callback = on_report
    db = open_database(tmp_path / "c.db")
    try:
        with pytest.raises(Cancelled):
            build_demo(db, practices=3, patients=900, seed=1, as_of=AS_OF, progress=progress)
    finally:
        db.dispose()
    con = sqlite3.connect(tmp_path / "c.db")
    try:
        assert q(con, "SELECT count(*) FROM practice") == [(0,)] and q(con, "SELECT count(*) FROM encounter") == [(0,)]
        assert {r[1] for r in q(con, "PRAGMA index_list('encounter')")} >= {"ix_encounter_patient_id"}
    finally:
        con.close()
    assert seen and max(seen) < 1.0


def test_vision_screening_is_recorded_so_vis_is_not_zero_everywhere(demo):
    """Issue 23: VIS was 0 of 598 against a 0.0% benchmark because the demo recorded no vision screening."""
    _, con, _ = demo
    screened = q(con, "SELECT COUNT(DISTINCT patient_id) FROM procedure WHERE code IN ('99173', '99174', '99177')")[0][0]
    assert screened > 50
    ages = q(con, "SELECT MIN(julianday(p.performed_start) - julianday(pt.birth_date)), "
                  "MAX(julianday(p.performed_start) - julianday(pt.birth_date)) FROM procedure p "
                  "JOIN patient pt ON pt.id = p.patient_id WHERE p.code IN ('99173', '99177')")[0]
    assert ages[0] >= 3 * 365 and ages[1] < 6 * 366
