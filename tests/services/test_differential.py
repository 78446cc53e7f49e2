"""Differential guard of the whole cache chain: after any change a user can make, every cached path
returns what a from-scratch compute returns.

A hypothesis state machine interleaves the changes (CSV imports of every measured kind and their undo,
a FHIR import, manual entries of each form and their undo, referral steps, outreach, care-coordination
work, aggregate entries, value sets loaded, a submission imported at the office, a restored backup, a
network measure file edited) on a small demo network. After each step it compares, for the measurement
year and a month-long period:
- a results cache that lives through the steps (the window's), and one made anew over the same cache
  folders (a restart);
- the scorecard service's network table and a measure's patient list (the drill-down), against the same
  service over an empty cache;
- the evaluation the command line's ``measures evaluate`` runs (the frames snapshot of the cache folder);
- the care-gap worklist from a long-lived source;
with the rows and summary of an evaluation of the store read from scratch, with no cache at all.

Examples are bounded in CI (``CARENET_DIFF_EXAMPLES``, default 6, each up to 8 steps); run longer with e.g.
``CARENET_DIFF_EXAMPLES=200 .venv/bin/python -m pytest tests/services/test_differential.py``.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import json
import os
import shutil
import tempfile
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule
from sqlalchemy import select

from carenet_desktop.metrics.aggregate import summarize
from carenet_desktop.metrics.catalogue import Catalogue
from carenet_desktop.metrics.engine import ROW_COLUMNS, evaluate_measures
from carenet_desktop.metrics.period import Period
from carenet_desktop.models import Patient, Practice, Referral
from carenet_desktop.models.database import Database, open_database
from carenet_desktop.services import (
    catalogue_source,
    entry,
    entry_undo,
    intake,
    keys,
    outreach,
    store_safety,
    submissions,
    valuesets,
)
from carenet_desktop.services.context import ServiceContext
from carenet_desktop.services.evaluation import evaluate
from carenet_desktop.services.fhir_import import import_fhir
from carenet_desktop.services.gap_source import GapSource
from carenet_desktop.services.gaps import care_gaps
from carenet_desktop.services.measure_data import load_measure_data
from carenet_desktop.services.measure_detail import measure_patients
from carenet_desktop.services.results import ResultsCache
from carenet_desktop.services.scorecard import ScorecardService
from tests.interchange.fhir_samples import bundle, encounter, immunization, patient, write
from tests.interchange.submission_support import INFO, aggregate_rows, make_package

AS_OF = dt.date(2026, 6, 30)
TODAY = dt.date(2026, 7, 1)
PERIODS = (Period.year(2025), Period.parse("2026-03"))
CUSTOM_ID = "DIFFWV"
MEASURES = ("CMS117", "WCV", "REF", "LSC", CUSTOM_ID)
ACTIVITY = "care-coordination"
DTAP_URL = "http://cts.nlm.nih.gov/fhir/ValueSet/2.16.840.1.113883.3.464.1003.196.12.1214"
DTAP_CODES = ("20", "106", "107", "110", "120", "146", "50", "130")
#: a CSV of each further kind: header, and a row for (mrn, counter, date)
CSV_KINDS: dict[str, tuple[list[str], str]] = {
    "diagnoses": (["MRN", "Problem ID", "Dx Code", "Noted Date", "Problem Status"], "{mrn}|DX{n}|B15.9|{date}|Active"),
    "observations": (["MRN", "Result ID", "Screening Date", "Screening Tool", "Score"], "{mrn}|OB{n}|{date}|PHQ-9|12"),
    "medications": (["MRN", "Order ID", "RxCUI", "Order Date", "Days Supply", "Qty"], "{mrn}|RX{n}|313252|{date}|30|30"),
    "referrals": (["MRN", "Referral ID", "Referral Date", "Referral Type", "Referred To"],
                  "{mrn}|RF{n}|{date}|Help Me Grow|HMG line"),
}
EXAMPLES = int(os.environ.get("CARENET_DIFF_EXAMPLES", "6"))


def _custom_measure(min_age: int) -> dict[str, object]:
    """A network measure defined as data: children of ``min_age``-17 with a well-care visit in the period."""
    return {
        "format": "carenet-measure/1", "id": CUSTOM_ID, "title": "Differential test: well visit",
        "version": f"test.{min_age}", "direction": "increase",
        "population": {"age": {"at": "period-end", "min_years": min_age, "max_years": 17}},
        "numerator": {"codes": ["cpt|99393", "cpt|99392"], "records": ["encounters"], "window": "period"},
        "exclusions": [],
    }


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from carenet_desktop.demo import build_demo
    from carenet_desktop.services.valuesets import ensure_default_catalogue

    path = tmp_path_factory.mktemp("diff") / "template.db"
    db = open_database(path)
    build_demo(db, practices=2, patients=160, seed=7, as_of=AS_OF)
    ensure_default_catalogue(ServiceContext(db))
    db.dispose()
    return path


def _fresh(db: Database, period: Period, measures: Catalogue) -> tuple[pd.DataFrame, pd.DataFrame]:
    run = evaluate_measures(load_measure_data(db), period, measures.select(MEASURES))
    rows = run.rows[list(ROW_COLUMNS)]
    return _sorted_rows(rows), _sorted_summary(summarize(rows, by=["practice_id"]))


def _sorted_rows(rows: pd.DataFrame) -> pd.DataFrame:
    keys = ["measure", "group_index", "patient_id", "episode_id"]
    out = rows[list(ROW_COLUMNS)].sort_values(keys, na_position="first").reset_index(drop=True)
    out["measure"] = out["measure"].astype(object)  # pandas 3 may give a string dtype to a concatenation
    return out.astype({c: "Int64" for c in ("group_index", "patient_id", "episode_id", "practice_id")})


def _sorted_summary(summary: pd.DataFrame) -> pd.DataFrame:
    cols = ["measure", "group_index", "practice_id", "initial_population", "denominator", "exclusions",
            "exceptions", "numerator"]
    out = summary[cols].sort_values(cols[:3]).reset_index(drop=True)
    out["measure"] = out["measure"].astype(object)
    return out.astype({c: "int64" for c in cols[1:]})


class CacheChain(RuleBasedStateMachine):
    """One store, one long-lived cache; every rule is a change a user can make."""

    template: Path

    @initialize()
    def open_store(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="carenet-diff-"))
        self.path = self.dir / "store.db"
        shutil.copy(self.template, self.path)
        self.measures_dir = self.dir / "measures"
        self.measures_dir.mkdir()
        (self.measures_dir / "diff.json").write_text(json.dumps(_custom_measure(3)))
        os.environ["CARENET_MEASURES"] = str(self.measures_dir)  # read by every context made from here on
        self.cache_dir = self.dir / "results"
        self.frames_dir = self.dir / "frames"
        self._open()
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

        from carenet_desktop.interchange.submission import public_key_pem

        self.signing_key = Ed25519PrivateKey.generate()  # P001's, trusted by this store as the office
        keys.trust_key(self.ctx, "P001", public_key_pem(self.signing_key.public_key()))
        self.backup = store_safety.take_backup(self.ctx, dest=self.dir / "backup.db")
        self.imports: list[int] = []
        self.entries: list[tuple[str, int]] = []
        self.counter = 0
        for period in PERIODS:  # warm the caches first: every later check is a cached path
            self.cache.results(period, MEASURES)

    def _open(self) -> None:
        self.db = open_database(self.path)
        self.ctx = ServiceContext(self.db, username="tester")
        self.cache = ResultsCache(self.ctx, self.cache_dir, frames_folder=self.frames_dir, in_process=True)
        # the care-gap page's source: the same results cache, the store's frames held between steps
        self.gaps = GapSource(self.ctx, self.cache)

    def teardown(self) -> None:
        self.cache.flush()  # the writer thread's last file, before its folder goes
        self.db.dispose()
        os.environ.pop("CARENET_MEASURES", None)
        shutil.rmtree(self.dir, ignore_errors=True)

    # --- helpers ----------------------------------------------------------------------------------------
    def _patients(self) -> list[tuple[int, str, str, dt.date]]:
        with self.db.session() as s:
            rows = s.execute(select(Patient.id, Patient.mrn, Practice.code, Patient.birth_date)
                             .join(Practice, Practice.id == Patient.practice_id).order_by(Patient.id)).all()
        return [tuple(r) for r in rows]  # type: ignore[misc]

    def _csv(self, header: list[str], rows: list[list[str]]) -> Path:
        self.counter += 1
        path = self.dir / f"import-{self.counter}.csv"
        with path.open("w", newline="", encoding="utf-8") as fh:
            writer = csv.writer(fh)
            writer.writerow(header)
            writer.writerows(rows)
        return path

    def _import(self, path: Path, kind: str, practice: str) -> None:
        result = intake.import_file(self.ctx, path, kind, practice_code=practice, today=TODAY)
        assert result.written, result.problems
        self.imports.append(result.import_id)

    # --- changes ------------------------------------------------------------------------------------------
    @rule(n=st.integers(1, 4), practice=st.sampled_from(["P001", "P002"]), age=st.integers(1, 15))
    def import_patients(self, n: int, practice: str, age: int) -> None:
        born = dt.date(2025 - age, 5, 1 + self.counter % 27)
        rows = [[f"DIFF{self.counter}-{i}", "Test", f"Child{i}", born.strftime("%m/%d/%Y"), "F", "Medicaid", "19104"]
                for i in range(n)]
        header = ["Patient ID", "Patient First Name", "Patient Last Name", "Birth Date", "Gender", "Financial Class", "Zip"]
        self._import(self._csv(header, rows), "patients", practice)

    @rule(data=st.data(), n=st.integers(1, 5), year=st.sampled_from([2025, 2026]))
    def import_well_visits(self, data: st.DataObject, n: int, year: int) -> None:
        patients = [p for p in self._patients() if p[3] < dt.date(year, 3, 1)]  # born before the visits
        chosen = data.draw(st.lists(st.sampled_from(patients), min_size=1, max_size=n, unique=True))
        practice = chosen[0][2]
        rows = [[mrn, f"DV{self.counter}-{i}", f"03/{10 + i:02d}/{year}", "99393", "Z00.129"]
                for i, (_, mrn, code, _) in enumerate(chosen) if code == practice]
        self._import(self._csv(["Pat ID", "Enc ID", "Visit Date", "CPT", "Dx Code"], rows), "encounters", practice)

    @rule(data=st.data(), cvx=st.sampled_from(["20", "10", "03", "21", "133", "83"]))
    def import_immunizations(self, data: st.DataObject, cvx: str) -> None:
        patient = data.draw(st.sampled_from(self._patients()))
        day = max(patient[3] + dt.timedelta(days=70), dt.date(2024, 1, 5))
        if day > TODAY:
            return  # too young for a dose yet
        rows = [[patient[1], cvx, day.strftime("%m/%d/%Y")]]
        self._import(self._csv(["MRN", "CVX", "Admin Date"], rows), "immunizations", patient[2])

    @precondition(lambda self: bool(self.imports))
    @rule()
    def undo_last_import(self) -> None:
        intake.undo_import(self.ctx, self.imports.pop())

    @rule(data=st.data(), cvx=st.sampled_from(["20", "10", "03", "21", "133"]))
    def record_immunization(self, data: st.DataObject, cvx: str) -> None:
        patient = data.draw(st.sampled_from(self._patients()))
        day = max(patient[3] + dt.timedelta(days=60), dt.date(2025, 2, 1))
        result = entry.record_immunization(self.ctx, patient_id=patient[0], date=min(day, TODAY), cvx=cvx, today=TODAY)
        if result.ok:
            self.entries.append(("immunization", result.id))

    @rule(data=st.data())
    def record_visit(self, data: st.DataObject) -> None:
        patient = data.draw(st.sampled_from(self._patients()))
        result = entry.record_visit(self.ctx, patient_id=patient[0], date=dt.date(2025, 9, 9), code="99393",
                                    today=TODAY)
        if result.ok:
            self.entries.append(("encounter", result.id))

    @precondition(lambda self: bool(self.entries))
    @rule()
    def undo_last_entry(self) -> None:
        entity, entity_id = self.entries.pop()
        entry_undo.undo_entry(self.ctx, entity, entity_id)

    @rule(data=st.data(), close=st.booleans())
    def referral_loop(self, data: st.DataObject, close: bool) -> None:
        patient = data.draw(st.sampled_from(self._patients()))
        placed = entry.create_referral(self.ctx, patient_id=patient[0], referral_type="help-me-grow",
                                       placed_on=dt.date(2025, 4, 2), destination="Help Me Grow", today=TODAY)
        if placed.ok and close:
            entry.record_referral_step(self.ctx, placed.id, "report-received", dt.date(2025, 4, 20), today=TODAY)

    @rule(data=st.data())
    def close_an_open_referral(self, data: st.DataObject) -> None:
        with self.db.session() as s:
            open_ids = list(s.scalars(select(Referral.id).where(Referral.status != "closed",
                                                                 Referral.placed_on < dt.date(2026, 5, 1))))
        if open_ids:
            referral = data.draw(st.sampled_from(open_ids))
            entry.record_referral_step(self.ctx, referral, "closed", dt.date(2026, 6, 1), today=TODAY)

    @rule(practice=st.sampled_from(["P001", "P002"]), minutes=st.integers(5, 60))
    def care_activity(self, practice: str, minutes: int) -> None:
        with self.db.session() as s:
            practice_id = s.scalar(select(Practice.id).where(Practice.code == practice))
        entry.record_care_activity(self.ctx, practice_id=practice_id, activity_type=ACTIVITY,
                                   minutes=minutes, date=dt.date(2025, 5, 5), today=TODAY)

    @rule(data=st.data(), kind=st.sampled_from(sorted(CSV_KINDS)), n=st.integers(1, 4))
    def import_other_kind(self, data: st.DataObject, kind: str, n: int) -> None:
        patients = [p for p in self._patients() if p[3] < dt.date(2024, 1, 1)]
        chosen = data.draw(st.lists(st.sampled_from(patients), min_size=1, max_size=n, unique=True))
        practice = chosen[0][2]
        header, template = CSV_KINDS[kind]
        rows = [template.format(mrn=mrn, n=f"{self.counter}-{i}", date="2025-05-03").split("|")
                for i, (_, mrn, code, _) in enumerate(chosen) if code == practice]
        self._import(self._csv(header, rows), kind, practice)

    @rule(practice=st.sampled_from(["P001", "P002"]), visit=st.booleans())
    def import_fhir_bundle(self, practice: str, visit: bool) -> None:
        self.counter += 1
        pid = f"fh{self.counter}"
        resources = [patient(pid, birth="2023-02-01"), immunization(f"{pid}-i", pid, cvx="20", when="2023-05-01")]
        if visit:
            resources.append(encounter(f"{pid}-e", pid, start="2025-03-05T10:00:00Z", type=[
                {"coding": [{"system": "http://www.ama-assn.org/go/cpt", "code": "99392"}]}]))
        path = write(self.dir / f"fhir-{self.counter}.json", bundle(*resources))
        result = import_fhir(self.ctx, [path], practice_code=practice)
        assert result.rejected == 0

    @rule(codes=st.lists(st.sampled_from(DTAP_CODES), min_size=1, max_size=4, unique=True))
    def load_value_sets(self, codes: list[str]) -> None:
        """The 2025 DTaP expansion replaced by another list of codes: CMS117 counts other doses."""
        self.counter += 1
        vs = {"resourceType": "ValueSet", "id": "dtap", "url": DTAP_URL, "name": "DTaPVaccine",
              "version": "20170504", "expansion": {"timestamp": "2025-01-10T13:55:16-07:00", "contains": [
                  {"system": "http://hl7.org/fhir/sid/cvx", "code": c} for c in codes]}}
        path = self.dir / f"vs-{self.counter}.json"
        path.write_text(json.dumps(vs))
        valuesets.load_valuesets(self.ctx, [path])

    @rule(numerator=st.sampled_from([22, 24, 30]))
    def office_receives_a_submission(self, numerator: int) -> None:
        """P001's package for 2025 (CMS117) arrives at the office: it replaces what was computed for P001."""
        self.counter += 1
        rows = aggregate_rows()
        rows["numerator"] = [numerator, numerator // 2, numerator - numerator // 2]
        rows["rate"] = rows["numerator"] / rows["denominator"]
        info = dataclasses.replace(INFO, created_at=f"2026-01-15T10:{self.counter % 60:02d}:00+00:00")
        path = make_package(self.dir / f"P001-2025-{self.counter}.zip", self.signing_key, info, rows)
        submissions.import_submission(self.ctx, path)

    @rule(data=st.data(), score=st.integers(0, 27))
    def record_screening(self, data: st.DataObject, score: int) -> None:
        patient_row = data.draw(st.sampled_from([p for p in self._patients() if p[3] < dt.date(2014, 1, 1)] or
                                                self._patients()))
        result = entry.record_screening(self.ctx, patient_id=patient_row[0], date=dt.date(2025, 6, 2),
                                        instrument="PHQ-9", score=float(score), today=TODAY)
        if result.ok:
            self.entries.append(("observation", result.id))

    @rule(practice=st.sampled_from(["P001", "P002"]), numerator=st.integers(0, 20))
    def record_aggregate(self, practice: str, numerator: int) -> None:
        with self.db.session() as s:
            practice_id = s.scalar(select(Practice.id).where(Practice.code == practice))
        entry.record_aggregate(self.ctx, practice_id=practice_id, measure_id="LSC", period_start=dt.date(2025, 1, 1),
                               period_end=dt.date(2025, 12, 31), denominator=20, numerator=numerator, today=TODAY)

    @rule(data=st.data(), outcome=st.sampled_from(["reached", "left message", "scheduled"]))
    def outreach_attempt(self, data: st.DataObject, outcome: str) -> None:
        patient_row = data.draw(st.sampled_from(self._patients()))
        outreach.record_outreach(self.ctx, patient_id=patient_row[0], measure_id="CMS117", note="called",
                                 date=dt.date(2026, 6, 1), today=TODAY, method="call", outcome=outcome)

    @rule(min_age=st.integers(2, 12))
    def edit_network_measure(self, min_age: int) -> None:
        (self.measures_dir / "diff.json").write_text(json.dumps(_custom_measure(min_age)))
        catalogue_source.reload(self.ctx)  # the session reads the measure files again

    @rule()
    def restore_backup(self) -> None:
        self.db.dispose()
        store_safety.restore_backup(self.path, self.backup, username="tester")
        self._open()  # the window restores after closing the store: a new session, the same cache folders
        self.imports.clear()
        self.entries.clear()

    # --- the guard ------------------------------------------------------------------------------------------
    @invariant()
    def cached_paths_equal_a_fresh_compute(self) -> None:
        if not hasattr(self, "cache"):
            return
        restarted = ResultsCache(self.ctx, self.cache_dir, frames_folder=self.frames_dir, in_process=True)
        for period in PERIODS:
            rows, summary = _fresh(self.db, period, self.ctx.catalogue)
            for name, cache in (("long-lived cache", self.cache), ("restarted cache", restarted)):
                got = cache.results(period, MEASURES)
                pd.testing.assert_frame_equal(_sorted_rows(got.rows), rows, obj=f"{name} rows, {period.label}")
                pd.testing.assert_frame_equal(_sorted_summary(got.summary(["practice_id"])), summary,
                                              obj=f"{name} summary, {period.label}")
        empty = self.dir / f"empty-{self.counter}-{id(restarted)}"
        scratch = ScorecardService(self.ctx, ResultsCache(self.ctx, empty / "results", frames_folder=empty / "frames",
                                                          in_process=True))
        service = ScorecardService(self.ctx, self.cache)
        table = service.network_table(PERIODS[0], MEASURES)
        want_table = scratch.network_table(PERIODS[0], MEASURES)
        pd.testing.assert_frame_equal(table, want_table, obj="scorecard table")
        drill = measure_patients(service, PERIODS[0], "CMS117", 0, "P001").table
        want_drill = measure_patients(scratch, PERIODS[0], "CMS117", 0, "P001").table
        pd.testing.assert_frame_equal(drill, want_drill, obj="CMS117 patient list of P001")
        # the command line's evaluate: the whole network from the frames snapshot of the cache folder
        cli = evaluate(self.ctx, PERIODS[0], list(MEASURES)).rows
        pd.testing.assert_frame_equal(_sorted_rows(cli), _fresh(self.db, PERIODS[0], self.ctx.catalogue)[0], obj="measures evaluate rows")
        shutil.rmtree(empty, ignore_errors=True)
        for practice in ("P001", None):  # the care-gap worklist, of a practice and of the network
            got = care_gaps(self.ctx, PERIODS[0], practice, MEASURES, as_of=AS_OF, action=None, source=self.gaps)
            want = care_gaps(self.ctx, PERIODS[0], practice, MEASURES, as_of=AS_OF, action=None, fresh=True)
            pd.testing.assert_frame_equal(got, want, obj=f"care gaps of {practice or 'the network'}")
            assert got.attrs["failures"] == want.attrs["failures"]


@pytest.mark.slow
def test_every_cached_path_equals_a_fresh_compute(template: Path) -> None:
    CacheChain.template = template
    case = CacheChain.TestCase
    case.settings = settings(max_examples=EXAMPLES, stateful_step_count=8, deadline=None,
                             suppress_health_check=list(HealthCheck))
    case().runTest()
