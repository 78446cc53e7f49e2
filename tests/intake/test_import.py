"""Importing EHR exports: all-or-nothing, valid rows only, re-import without duplicates, undo."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import select

from carenet_desktop.models import DataImport, Encounter, Immunization, Patient, Referral
from carenet_desktop.services import intake
from carenet_desktop.services.context import ServiceContext, ServiceError

from .conftest import TODAY, count, write_csv

ENC_HEADER = ["Pat ID", "Enc ID", "Visit Date", "CPT", "Dx Code"]
GOOD_ENC = [
    ["M001", "E1", "01/15/2024", "99392", "Z00.129"],
    ["M001", "E2", "02/20/2024", "99213-25", "J020"],
    ["M002", "E3", "03/01/2024", "99392", ""],
    ["M003", "E4", "2/2/2025", "G0438", ""],
]


def _imp(ctx: ServiceContext, path: Path, kind: str = "encounters", **kw) -> intake.ImportResult:
    return intake.import_file(ctx, path, kind, practice_code="PEDS1", today=TODAY, **kw)


def test_import_writes_normalised_rows(ctx: ServiceContext, tmp_path: Path) -> None:
    result = _imp(ctx, write_csv(tmp_path / "enc.csv", ENC_HEADER, GOOD_ENC))
    assert result.written and (result.added, result.updated, result.rejected) == (4, 0, 0)
    with ctx.db.session() as s:
        rows = {e.source_id: e for e in s.scalars(select(Encounter))}
        assert rows["E2"].code == "99213" and rows["E2"].code_system == "cpt"  # modifier dropped
        assert rows["E2"].reason_code == "J02.0" and rows["E2"].reason_system == "icd10cm"  # dot restored
        assert rows["E4"].code_system == "hcpcs"
        assert rows["E4"].start.date().isoformat() == "2025-02-02"
        assert all(e.import_id == result.import_id for e in rows.values())


def test_same_file_twice_changes_nothing_and_log_shows_both(ctx: ServiceContext, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "enc.csv", ENC_HEADER, GOOD_ENC)
    first = _imp(ctx, path)
    with ctx.db.session() as s:
        before = [(e.id, e.source_id, e.code, e.start, e.reason_code, e.import_id) for e in
                  s.scalars(select(Encounter).order_by(Encounter.id))]
    second = _imp(ctx, path)
    assert (second.added, second.updated, second.unchanged) == (0, 0, 4)
    with ctx.db.session() as s:
        after = [(e.id, e.source_id, e.code, e.start, e.reason_code, e.import_id) for e in
                 s.scalars(select(Encounter).order_by(Encounter.id))]
        log = s.scalars(select(DataImport).order_by(DataImport.id)).all()
    assert after == before
    assert [(d.id, d.status, d.file_sha256) for d in log] == [
        (first.import_id, "done", first.file_sha256), (second.import_id, "done", first.file_sha256)]
    assert [i.id for i in intake.list_imports(ctx)] == [second.import_id, first.import_id]


def test_overlapping_newer_export_updates_and_adds(ctx: ServiceContext, tmp_path: Path) -> None:
    _imp(ctx, write_csv(tmp_path / "old.csv", ENC_HEADER, GOOD_ENC))
    newer = [r[:] for r in GOOD_ENC[1:]] + [["M004", "E5", "06/01/2025", "99391", ""]]
    newer[0][4] = "J03.9"  # E2 corrected diagnosis
    result = _imp(ctx, write_csv(tmp_path / "new.csv", ENC_HEADER, newer))
    assert (result.added, result.updated, result.unchanged) == (1, 1, 2)
    assert count(ctx, "encounter") == 5
    with ctx.db.session() as s:
        assert s.scalar(select(Encounter.reason_code).where(Encounter.source_id == "E2")) == "J03.9"


def test_match_without_record_ids_uses_patient_code_and_day(ctx: ServiceContext, tmp_path: Path) -> None:
    rows = [[r[0], r[2], r[3]] for r in GOOD_ENC]
    path = write_csv(tmp_path / "noid.csv", ["MRN", "Visit Date", "CPT"], rows)
    _imp(ctx, path)
    again = _imp(ctx, path)
    assert (again.added, again.updated) == (0, 0)
    assert count(ctx, "encounter") == 4


def test_all_or_nothing_writes_nothing_and_returns_the_report(ctx: ServiceContext, tmp_path: Path) -> None:
    rows = GOOD_ENC + [["M999", "E9", "01/01/2024", "99392", ""]]
    report = tmp_path / "rejected.csv"
    tables = {t: count(ctx, t) for t in ("encounter", "data_import", "audit_log", "import_change")}
    result = _imp(ctx, write_csv(tmp_path / "enc.csv", ENC_HEADER, rows), rejections=report)
    assert not result.written and result.rejected == 1
    # no clinical row and no undo entry is written; the attempt itself is logged, without patient values
    after = {t: count(ctx, t) for t in tables}
    assert (after["encounter"], after["import_change"]) == (tables["encounter"], tables["import_change"])
    assert (after["data_import"], after["audit_log"]) == (tables["data_import"] + 1, tables["audit_log"] + 1)
    with ctx.db.session() as s:
        record = s.get(DataImport, result.import_id)
        assert (record.status, record.added, record.rejected) == ("rejected", 0, 1)
        assert "M999" not in str(record.detail)
    lines = pd.read_csv(report, dtype=str)
    assert list(lines.columns) == ["file", "row", "column", "value", "reason"]
    assert lines.to_dict("records") == [{"file": "enc.csv", "row": "6", "column": "Pat ID", "value": "M999",
                                         "reason": "unknown patient (no such MRN in this practice)"}]


def test_valid_rows_only_imports_the_rest(ctx: ServiceContext, tmp_path: Path) -> None:
    rows = GOOD_ENC + [["M999", "E9", "01/01/2024", "99392", ""]]
    result = _imp(ctx, write_csv(tmp_path / "enc.csv", ENC_HEADER, rows), valid_rows_only=True)
    assert result.written and (result.added, result.rejected) == (4, 1)
    with ctx.db.session() as s:
        record = s.get(DataImport, result.import_id)
        assert (record.added, record.updated, record.rejected, record.username) == (4, 0, 1, "tester")
        assert record.detail["problems"][0]["row"] == 6


# every kind of bad row, once; the good rows must not appear in the report
BAD_FILE = [
    (["M001", "G1", "01/15/2024", "99392", ""], None),
    (["M001", "B1", "02/30/2024", "99392", ""], "Visit Date"),  # impossible date
    (["M001", "B2", "", "99392", ""], "Visit Date"),  # missing date
    (["M001", "B3", "01/15/2031", "99392", ""], "Visit Date"),  # future
    (["M002", "B4", "01/15/2019", "99392", ""], "Visit Date"),  # before birth
    (["M404", "B5", "01/15/2024", "99392", ""], "Pat ID"),  # unknown patient
    (["M001", "B6", "01/16/2024", "9939", ""], "CPT"),  # malformed code
    (["M001", "B7", "01/17/2024", "99392", "Q"], "Dx Code"),  # malformed diagnosis
    (["M001", "G1", "01/18/2024", "99392", ""], "Enc ID"),  # duplicate record id
    (["M001", "B9" * 100, "01/19/2024", "99392", ""], "Enc ID"),  # too long
    (["", "B10", "01/20/2024", "99392", ""], "Pat ID"),  # missing MRN
    (["M003", "G2", "2024-03-01", "99213", ""], None),
    (["M003", "G3", "03/02/2024", "99213", ""], None),
]


def test_rejection_report_lists_every_bad_row_and_nothing_else(ctx: ServiceContext, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "bad.csv", ENC_HEADER, [r for r, _ in BAD_FILE])
    with path.open("a", encoding="utf-8") as fh:
        fh.write("M001,B11,01/21/2024,99392,,extra,fields\n")  # too many fields
    report = tmp_path / "report.csv"
    result = _imp(ctx, path, valid_rows_only=True, rejections=report)
    expected_bad = {i + 2: column for i, (_, column) in enumerate(BAD_FILE) if column}
    expected_bad[len(BAD_FILE) + 2] = ""
    lines = pd.read_csv(report, dtype=str, keep_default_na=False)
    assert set(lines["row"].astype(int)) == set(expected_bad)
    for row, column in expected_bad.items():
        assert column in set(lines.loc[lines["row"].astype(int) == row, "column"])
    assert result.rejected == len(expected_bad)
    assert result.added == 3  # G1, G2 (an ISO date is accepted in a US-format column), G3
    assert set(lines["reason"]) >= {"missing date", "event in the future", "event before the patient's birth",
                                    "duplicate of row 2", "longer than 128 characters"}


def test_referral_steps_must_be_in_order(ctx: ServiceContext, tmp_path: Path) -> None:
    header = ["MRN", "Referral ID", "Referral Date", "Referral Type", "Scheduled Date", "Date Seen", "Date Closed"]
    rows = [["M001", "R1", "2024-01-02", "Help Me Grow", "2024-01-10", "2024-01-20", "2024-02-01"],
            ["M001", "R2", "2024-01-02", "Early Intervention", "2024-01-10", "2024-01-05", ""],
            ["M002", "R3", "2024-03-02", "Cardiology", "", "", ""]]
    result = _imp(ctx, write_csv(tmp_path / "ref.csv", header, rows), "referrals", valid_rows_only=True)
    assert list(result.problems["row"]) == [3] and list(result.problems["column"]) == ["Date Seen"]
    with ctx.db.session() as s:
        refs = {r.source_id: r for r in s.scalars(select(Referral))}
    assert refs["R1"].status == "closed" and refs["R1"].referral_type == "help-me-grow"
    assert refs["R3"].status == "placed" and refs["R3"].referral_type == "specialist"


def test_undo_deletes_added_and_restores_updated(ctx: ServiceContext, tmp_path: Path) -> None:
    first = _imp(ctx, write_csv(tmp_path / "a.csv", ENC_HEADER, GOOD_ENC))
    newer = [r[:] for r in GOOD_ENC] + [["M004", "E5", "06/01/2025", "99391", ""]]
    newer[1][4] = "J03.9"
    second = _imp(ctx, write_csv(tmp_path / "b.csv", ENC_HEADER, newer))
    with pytest.raises(ServiceError, match="undo import"):
        intake.undo_import(ctx, first.import_id)  # the second import changed its rows
    undone = intake.undo_import(ctx, second.import_id)
    assert (undone.deleted, undone.restored) == (1, 1)
    with ctx.db.session() as s:
        assert s.scalar(select(Encounter.reason_code).where(Encounter.source_id == "E2")) == "J02.0"
        assert s.get(DataImport, second.import_id).status == "undone"
    assert count(ctx, "encounter") == 4
    intake.undo_import(ctx, first.import_id)
    assert count(ctx, "encounter") == 0
    with pytest.raises(ServiceError):
        intake.undo_import(ctx, first.import_id)


def test_patients_import_matches_mrn_and_undo_is_refused_while_used(ctx: ServiceContext, tmp_path: Path) -> None:
    header = ["Patient ID", "Patient First Name", "Patient Last Name", "Birth Date", "Gender", "Financial Class", "Zip"]
    rows = [["M001", "Ann", "Smith", "03/01/2019", "F", "Medicaid", "12345"],  # existing: update
            ["N100", "Bo", "Jones", "12/31/2023", "M", "Self Pay", "12345-6789"],
            ["N101", "Cy", "Lee", "12/31/2026", "M", "", ""]]  # future birth date
    result = _imp(ctx, write_csv(tmp_path / "p.csv", header, rows), "patients", valid_rows_only=True)
    assert (result.added, result.updated, result.rejected) == (1, 1, 1)
    assert result.problems.iloc[0]["reason"] == "birth date in the future"
    with ctx.db.session() as s:
        new = s.scalar(select(Patient).where(Patient.mrn == "N100"))
        assert (new.sex, new.payer, new.zip_code) == ("male", "uninsured", "12345")
        assert s.scalar(select(Patient.payer).where(Patient.mrn == "M001")) == "medicaid"
    _imp(ctx, write_csv(tmp_path / "e.csv", ["MRN", "Visit Date", "CPT"], [["N100", "2024-05-01", "99391"]]))
    with pytest.raises(ServiceError, match="other imports"):
        intake.undo_import(ctx, result.import_id)


def test_immunizations_not_given_and_cvx_normalised(ctx: ServiceContext, tmp_path: Path) -> None:
    header = ["MRN", "Vaccine Code", "Date Administered", "Status", "Refusal Reason"]
    rows = [["M001", "3", "2020-03-01", "Given", ""], ["M001", "020", "2020-05-01", "Refused", "parent refused"],
            ["M001", "08", "2020-06-01", "", "contraindication"]]
    result = _imp(ctx, write_csv(tmp_path / "i.csv", header, rows), "immunizations")
    assert result.added == 3
    with ctx.db.session() as s:
        imms = {i.code: i for i in s.scalars(select(Immunization))}
    assert set(imms) == {"03", "20", "08"}
    assert (imms["20"].status, imms["20"].status_reason_code) == ("not-done", "PATOBJ")
    assert (imms["08"].status, imms["08"].status_reason_code) == ("not-done", "MEDPREC")


def test_unknown_code_checked_against_loaded_catalogue(ctx: ServiceContext, tmp_path: Path) -> None:
    from carenet_desktop.models import ValueSet, ValueSetCode

    with ctx.db.session() as s:
        vs = ValueSet(url="urn:test:vs", name="test")
        s.add(vs)
        s.flush()
        s.add(ValueSetCode(value_set_id=vs.id, code_system="cvx", code="03"))
    rows = [["M001", "3", "2020-03-01"], ["M001", "21", "2020-05-01"]]
    result = _imp(ctx, write_csv(tmp_path / "i.csv", ["MRN", "CVX", "Admin Date"], rows), "immunizations",
                  valid_rows_only=True)
    assert result.added == 1
    assert result.problems[["row", "reason"]].values.tolist() == [
        [3, "unknown code: in no loaded value set or code catalogue"]]


def test_saved_profile_overrides_the_guess(ctx: ServiceContext, tmp_path: Path) -> None:
    header = ["Chart", "When", "Proc", "Other Date"]
    rows = [["M001", "15.01.2024", "99392", "2024-01-01"]]
    path = write_csv(tmp_path / "odd.csv", header, rows)
    with pytest.raises(ServiceError, match="No column is mapped"):
        _imp(ctx, path)
    intake.save_profile(ctx, practice_code="PEDS1", kind="encounters", name="clinic-x",
                        mapping={"mrn": "Chart", "date": "When", "code": "Proc"}, date_formats={"date": "dmy-dot"})
    result = _imp(ctx, path, profile="clinic-x")
    assert result.added == 1 and result.date_formats["date"] == "dmy-dot"
    [profile] = intake.list_profiles(ctx, practice_code="PEDS1", kind="encounters")
    assert (profile.name, profile.mapping["date"]) == ("clinic-x", "When")
    saved = _imp(ctx, write_csv(tmp_path / "std.csv", ["MRN", "Visit Date", "CPT"], [["M002", "2024-03-01", "99392"]]),
                 save_profile_as="standard")
    assert saved.added == 1
    assert {p.name for p in intake.list_profiles(ctx)} == {"clinic-x", "standard"}


def test_cancel_mid_import_leaves_nothing(ctx: ServiceContext, tmp_path: Path) -> None:
    from carenet_desktop.services.context import Cancelled, Progress

    rows = [["M001", f"C{i}", "2024-01-02", "99392", ""] for i in range(40)]
    path = write_csv(tmp_path / "enc.csv", ENC_HEADER, rows)
    calls = []

    def cancel_after_first(fraction: float, message: str) -> None:
        calls.append(fraction)
        if len(calls) == 2:  # the first chunk has been written in the open transaction by now
            ctx.progress.cancel()

    ctx.progress = Progress(cancel_after_first)
    with pytest.raises(Cancelled):
        intake.import_file(ctx, path, "encounters", practice_code="PEDS1", today=TODAY, chunk_rows=5)
    assert (count(ctx, "encounter"), count(ctx, "data_import"), count(ctx, "audit_log")) == (0, 0, 0)


def test_generic_sqlalchemy_path_used_for_other_databases(ctx: ServiceContext, tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """The Core insert/update path (PostgreSQL) gives the same result; exercised here on SQLite."""
    real_init = intake.IntakeWriter.__init__

    def generic(self, *args, **kwargs) -> None:  # type: ignore[no-untyped-def]
        real_init(self, *args, **kwargs)
        self.sqlite = False

    monkeypatch.setattr(intake.IntakeWriter, "__init__", generic)
    first = _imp(ctx, write_csv(tmp_path / "a.csv", ENC_HEADER, GOOD_ENC))
    again = _imp(ctx, write_csv(tmp_path / "a.csv", ENC_HEADER, GOOD_ENC))
    newer = [r[:] for r in GOOD_ENC]
    newer[1][4] = "J03.9"
    changed = _imp(ctx, write_csv(tmp_path / "b.csv", ENC_HEADER, newer))
    assert (first.added, again.unchanged, changed.updated, changed.unchanged) == (4, 4, 1, 3)
    intake.undo_import(ctx, changed.import_id)
    with ctx.db.session() as s:
        assert s.scalar(select(Encounter.reason_code).where(Encounter.source_id == "E2")) == "J02.0"
        assert s.scalar(select(Encounter.start).where(Encounter.source_id == "E4")).isoformat() == "2025-02-02T00:00:00"


def test_optional_date_column_entirely_blank(ctx: ServiceContext, tmp_path: Path) -> None:
    rows = [r + [""] for r in GOOD_ENC]
    result = _imp(ctx, write_csv(tmp_path / "e.csv", [*ENC_HEADER, "Discharge Date"], rows))
    assert result.added == 4 and result.mapping["end_date"] == "Discharge Date"
    with ctx.db.session() as s:  # a visit with no discharge time is a point in time: end = start
        rows = s.execute(select(Encounter.start, Encounter.end)).all()
        assert len(rows) == 4 and all(end == start and end is not None for start, end in rows)


def test_diagnoses_observations_and_medications(ctx: ServiceContext, tmp_path: Path) -> None:
    from carenet_desktop.models import Condition, MedicationRequest, Observation

    dx = _imp(ctx, write_csv(tmp_path / "dx.csv", ["MRN", "Problem ID", "Dx Code", "Noted Date", "Problem Status"],
                             [["M003", "P1", "F900", "2023-04-01", "Active"], ["M003", "P2", "J45.909", "2023-05-01",
                                                                               "Resolved"]]), "diagnoses")
    obs = _imp(ctx, write_csv(tmp_path / "obs.csv", ["MRN", "Screening Date", "Screening Tool", "Score", "Result"],
                              [["M002", "2022-01-10", "M-CHAT R/F", "4", "Positive"],
                               ["M001", "2021-03-01", "ASQ3", "", "pass"]]), "observations")
    meds = _imp(ctx, write_csv(tmp_path / "rx.csv", ["MRN", "RxCUI", "Order Date", "Days Supply", "Qty"],
                               [["M003", "1091170", "2023-04-02", "30", "30"], ["M003", "1091170", "2023-05-02", "x", "30"]]),
                "medications", valid_rows_only=True)
    assert (dx.added, obs.added, meds.added, meds.rejected) == (2, 2, 1, 1)
    assert meds.problems[["row", "column", "reason"]].values.tolist() == [[3, "Days Supply", "not a non-negative number"]]
    with ctx.db.session() as s:
        conds = {c.source_id: c for c in s.scalars(select(Condition))}
        screens = s.scalars(select(Observation).order_by(Observation.id)).all()
        med = s.scalars(select(MedicationRequest)).one()
    assert (conds["P1"].code, conds["P1"].code_system, conds["P2"].clinical_status) == ("F90.0", "icd10cm", "resolved")
    assert [(o.code, o.category, o.value_num, o.interpretation) for o in screens] == [
        ("72133-2", "survey", 4.0, "positive"), ("71750-4", "survey", None, "negative")]
    # a dated screening is a point in time (an open end would read as "still ongoing")
    assert all(o.effective_end == o.effective_start is not None for o in screens)
    assert (med.code_system, med.code, med.supply_days, med.dispense_quantity) == ("rxnorm", "1091170", 30.0, 30.0)


def test_a_birth_date_with_an_offset_keeps_its_day(ctx: ServiceContext, tmp_path: Path) -> None:
    """Issue 22, item 13: "2020-01-01T23:00:00-05:00" was converted to UTC and stored as January 2nd."""
    header = ["Patient ID", "Patient First Name", "Patient Last Name", "Birth Date", "Gender"]
    rows = [["N200", "Di", "Ray", "2020-01-01T23:00:00-05:00", "F"], ["N201", "Ed", "Ray", "2020-03-05", "M"]]
    result = _imp(ctx, write_csv(tmp_path / "p.csv", header, rows), "patients")
    assert result.added == 2
    with ctx.db.session() as s:
        births = dict(s.execute(select(Patient.mrn, Patient.birth_date).where(Patient.mrn.in_(["N200", "N201"]))).all())
    assert {k: str(v)[:10] for k, v in births.items()} == {"N200": "2020-01-01", "N201": "2020-03-05"}


@pytest.mark.parametrize("supply", ["inf", "Infinity", "-inf", "NaN"])
def test_infinite_or_not_a_number_supply_is_rejected(ctx: ServiceContext, tmp_path: Path, supply: str) -> None:
    """Issue 22, item 13: CSV "inf" was accepted as a days supply (a medication lasting forever)."""
    meds = _imp(ctx, write_csv(tmp_path / "rx.csv", ["MRN", "RxCUI", "Order Date", "Days Supply", "Qty"],
                               [["M003", "1091170", "2023-04-02", "30", "30"], ["M003", "1091170", "2023-05-02", supply, "30"]]),
                "medications", valid_rows_only=True)
    assert (meds.added, meds.rejected) == (1, 1)
    assert meds.problems[["row", "column"]].values.tolist() == [[3, "Days Supply"]]


def test_a_stray_quote_rejects_one_row_and_imports_the_rest(ctx: ServiceContext, tmp_path: Path) -> None:
    path = tmp_path / "enc.csv"
    path.write_text("Pat ID,Enc ID,Visit Date,CPT,Dx Code\n"
                    'M001,"E1,01/15/2024,99392,Z00.129\n'
                    "M001,E2,02/20/2024,99213,J020\n"
                    "M002,E3,03/01/2024,99392,\n", encoding="utf-8")
    result = _imp(ctx, path, valid_rows_only=True)
    assert (result.rows, result.added, result.rejected) == (3, 2, 1)
    assert result.problems[["row", "reason"]].values.tolist()[0][0] == 2
    assert "unclosed quote" in result.problems["reason"].iloc[0]
    with ctx.db.session() as s:
        assert sorted(s.scalars(select(Encounter.source_id))) == ["E2", "E3"]
