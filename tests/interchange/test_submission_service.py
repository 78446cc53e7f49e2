"""Practice -> office: the signed package exported, verified and stored; refusals leave the office store
untouched; resubmissions supersede; the office's scorecard shows what the practice computed."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from sqlalchemy import func, select

from carenet_desktop.metrics.period import Period
from carenet_desktop.models import AggregateEntry, AuditLog, Base, Practice
from carenet_desktop.services.context import ServiceError
from carenet_desktop.services.evaluation import evaluate, grouped_summary
from carenet_desktop.services.keys import own_public_key, trust_key
from carenet_desktop.services.results import ResultsCache
from carenet_desktop.services.scorecard import ScorecardService
from carenet_desktop.services.submissions import (
    export_submission,
    import_submission,
    list_submissions,
    submission_rows,
    submitted_aggregates,
)
from tests.interchange.submission_support import members, resign, rezip

PERIOD = Period.year(2025)
CODE = "P001"


def _snapshot(ctx) -> dict[str, list[tuple]]:  # type: ignore[no-untyped-def]
    """Every row of every table (the office store is small), to prove that nothing was written."""
    out: dict[str, list[tuple]] = {}
    with ctx.db.engine.connect() as conn:
        for table in Base.metadata.sorted_tables:
            out[table.name] = sorted(map(tuple, conn.execute(select(table)).all()), key=repr)
    return out


@pytest.fixture
def exported(practice_ctx, office_ctx, tmp_path):  # type: ignore[no-untyped-def]
    """A package of practice P001 for 2025, its key trusted at the office."""
    path = tmp_path / "P001-2025.zip"
    result = export_submission(practice_ctx, CODE, PERIOD, path)
    trust_key(office_ctx, CODE, own_public_key(practice_ctx, CODE).pem)
    return path, result


def test_package_has_no_patient_identifiers(practice_ctx, exported) -> None:  # type: ignore[no-untyped-def]
    path, result = exported
    files = members(path)
    assert set(files) == {"manifest.json", "manifest.sig", "aggregates.csv"}
    text = b"\n".join(files.values()).decode()
    from carenet_desktop.models import Patient

    with practice_ctx.db.session() as s:
        patients = s.execute(select(Patient.mrn, Patient.family_name, Patient.given_name, Patient.birth_date)
                             .join(Practice).where(Practice.code == CODE)).all()
    assert patients
    table = files["aggregates.csv"].decode()
    for mrn, family, given, born in patients:
        assert f",{mrn}," not in text and f",{family}," not in table and f",{given}," not in table
        assert born.isoformat() not in table
    header = files["aggregates.csv"].decode().splitlines()[0]
    assert "patient" not in header and "mrn" not in header
    assert result.rows > 0 and result.suppressed > 0


def test_small_cells_are_suppressed_in_the_package(exported) -> None:  # type: ignore[no-untyped-def]
    path, _ = exported
    import io

    table = pd.read_csv(io.BytesIO(members(path)["aggregates.csv"]), keep_default_na=False, dtype=str)
    published = table[table["suppression"] == ""]
    for col in ("numerator", "denominator"):
        values = published[col].astype(int)
        assert not values.between(1, 10).any()
    hidden = table[table["suppression"] != ""]
    assert (hidden[["numerator", "denominator", "rate"]] == "").all().all()
    for _, part in table[table["stratifier"] != ""].groupby(["measure", "group_index", "stratifier"]):
        assert (part["suppression"] != "").sum() != 1 or len(part) == 1


def test_export_is_audited(practice_ctx, exported) -> None:  # type: ignore[no-untyped-def]
    with practice_ctx.db.session() as s:
        entry = s.scalars(select(AuditLog).where(AuditLog.entity == "submission")).one()
    assert entry.action == "export" and "P001" in entry.summary and "2025" in entry.summary


def test_the_package_carries_the_audit_head_it_was_made_at(practice_ctx, exported) -> None:  # type: ignore[no-untyped-def]
    """A copy of the sender's audit head outside the store: a later rewrite of the trail shows against it."""
    import json

    manifest = json.loads(members(exported[0])["manifest.json"])
    with practice_ctx.db.session() as s:
        entries = s.scalars(select(AuditLog).order_by(AuditLog.id)).all()
    export_entry = next(e for e in entries if e.entity == "submission")
    before = [e for e in entries if e.id < export_entry.id]
    assert manifest["audit"] == {"entries": len(before), "last_hash": before[-1].entry_hash}


def test_round_trip_reproduces_the_practice_totals(practice_ctx, office_ctx, exported, tmp_path) -> None:  # type: ignore[no-untyped-def]
    path, _ = exported
    imported = import_submission(office_ctx, path)
    assert imported.status == "current" and imported.practice_code == CODE
    own = grouped_summary(evaluate(practice_ctx, PERIOD, practice_codes=[CODE]), "network")
    got = submitted_aggregates(office_ctx, PERIOD)
    merged = own.merge(got, on=["measure", "group_index"], suffixes=("", "_office"))
    assert len(got) > 10
    nobody = got[~got.set_index(["measure", "group_index"]).index.isin(own.set_index(["measure", "group_index"]).index)]
    assert (nobody[["initial_population", "denominator", "numerator"]] == 0).all().all()  # evaluated, nobody in it
    assert len(merged) + len(nobody) == len(got)
    for col in ("initial_population", "denominator", "exclusions", "exceptions", "numerator"):
        assert (merged[col] == merged[f"{col}_office"]).all(), col
    suppressed = own[~own.set_index(["measure", "group_index"]).index.isin(
        got.set_index(["measure", "group_index"]).index)]
    from carenet_desktop.metrics.suppression import small_anywhere

    assert small_anywhere(suppressed.reset_index(drop=True)).all()  # a count or a complement of 1-10

    # the office's scorecard shows the practice's own rates, marked as submitted
    measures = ["CMS117", "CMS155", "LSC", "W30", "SDOH"]
    at_practice = ScorecardService(practice_ctx, ResultsCache(practice_ctx, cache_dir=tmp_path / "c1"))
    at_office = ScorecardService(office_ctx, ResultsCache(office_ctx, cache_dir=tmp_path / "c2"))
    mine = at_practice.practice_scorecard(CODE, PERIOD, measures).set_index(["measure", "group_index"])
    theirs = at_office.practice_scorecard(CODE, PERIOD, measures).set_index(["measure", "group_index"])
    assert (theirs["source"] == "submitted").all() and len(theirs) > 3
    common = theirs.index[~theirs["suppressed"].to_numpy(dtype=bool)]
    for col in ("denominator", "numerator", "rate_base"):
        assert (mine.loc[common, col].astype(int) == theirs.loc[common, col].astype(int)).all(), col
    assert (mine.loc[common, "rate"] - theirs.loc[common, "rate"]).abs().max() < 1e-12

    # issue 23: a total the package suppressed is shown as suppressed (too few to say), never dropped
    from carenet_desktop.metrics.judgement import Status

    every = at_office.practice_scorecard(CODE, PERIOD).set_index(["measure", "group_index"])
    hidden = {(str(m), int(g)) for m, g in zip(suppressed["measure"], suppressed["group_index"], strict=True)}
    flagged = every[every["suppressed"].to_numpy(dtype=bool)]
    assert hidden and {(str(m), int(g)) for m, g in flagged.index} == hidden
    assert (flagged["status"] == Status.TOO_FEW.value).all() and flagged["rate"].isna().all()
    assert (flagged["source"] == "submitted").all()


def _office_refuses(office_ctx, path, match: str) -> None:  # type: ignore[no-untyped-def]
    before = _snapshot(office_ctx)
    with pytest.raises(ServiceError, match=match) as info:
        import_submission(office_ctx, path)
    assert "\n" not in str(info.value) and str(info.value).startswith(path.name)
    assert _snapshot(office_ctx) == before


def test_refusals_write_nothing(office_ctx, exported, tmp_path) -> None:  # type: ignore[no-untyped-def]
    path, _ = exported

    def flip(files: dict[str, bytes]) -> dict[str, bytes]:
        data = bytearray(files["aggregates.csv"])
        data[-3] = ord("7") if data[-3] != ord("7") else ord("8")
        return {**files, "aggregates.csv": bytes(data)}

    _office_refuses(office_ctx, rezip(path, tmp_path / "t.zip", flip), "Checksum mismatch")
    _office_refuses(office_ctx, rezip(path, tmp_path / "r.zip",
                                      lambda f: {k: v for k, v in f.items() if k != "aggregates.csv"}), "missing")
    _office_refuses(office_ctx, rezip(path, tmp_path / "u.zip",
                                      lambda f: {k: v for k, v in f.items() if k != "manifest.sig"}), "not signed")
    _office_refuses(office_ctx, rezip(path, tmp_path / "s.zip", lambda f: {**f, "../x.csv": b"1"}), "outside")
    _office_refuses(office_ctx, rezip(path, tmp_path / "b.zip",
                                      lambda f: {**f, "aggregates.csv": b" " * (4 * 1024**2)}), "bomb")
    cut = tmp_path / "cut.zip"
    cut.write_bytes(path.read_bytes()[:200])
    _office_refuses(office_ctx, cut, "not a ZIP")


def test_wrong_key_is_refused_and_nothing_written(practice_ctx, office_ctx, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from carenet_desktop.interchange.submission import public_key_pem

    path = export_submission(practice_ctx, CODE, PERIOD, tmp_path / "p.zip").path
    _office_refuses(office_ctx, path, "No trusted key is registered for practice P001")
    trust_key(office_ctx, CODE, public_key_pem(Ed25519PrivateKey.generate().public_key()))  # someone else's
    _office_refuses(office_ctx, path, "Signature check failed")


def test_resubmission_supersedes_and_keeps_history(practice_ctx, office_ctx, exported, tmp_path) -> None:  # type: ignore[no-untyped-def]
    first_path, _ = exported
    first = import_submission(office_ctx, first_path)
    with pytest.raises(ServiceError, match="already imported"):
        import_submission(office_ctx, first_path)
    with practice_ctx.db.session() as s:  # the practice adds a paper count, then sends again
        pid = s.scalar(select(Practice.id).where(Practice.code == CODE))
        s.add(AggregateEntry(practice_id=pid, measure_id="LSC", group_index=0, period_start=dt.date(2025, 1, 1),
                             period_end=dt.date(2025, 12, 31), denominator=50, numerator=35, entered_by="tester"))
    second_path = export_submission(practice_ctx, CODE, PERIOD, tmp_path / "again.zip").path
    assert members(second_path)["aggregates.csv"] != members(first_path)["aggregates.csv"]
    second = import_submission(office_ctx, second_path)
    assert second.superseded == [first.id] and second.status == "current"
    history = list_submissions(office_ctx).set_index("id")
    assert history.loc[first.id, "status"] == "superseded" and history.loc[first.id, "superseded_by"] == second.id
    assert history.loc[second.id, "status"] == "current"
    assert len(submission_rows(office_ctx, first.id)) == first.rows  # the earlier counts are kept
    current = submitted_aggregates(office_ctx, PERIOD).set_index(["measure", "group_index"])
    assert (current.loc[("LSC", 0), "denominator"], current.loc[("LSC", 0), "numerator"]) == (50, 35)
    assert current.index.is_unique  # only the current submission counts
    rows = submission_rows(office_ctx, second.id)
    lsc = rows[rows["measure"] == "LSC"]
    assert list(lsc["stratifier"]) == [""]  # self-reported: no computed strata beside it
    with office_ctx.db.session() as s:
        assert s.scalar(select(func.count()).select_from(AuditLog).where(AuditLog.action == "import")) == 2


def test_late_older_package_goes_to_history(practice_ctx, office_ctx, exported, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from carenet_desktop.services.keys import signing_key

    newer, _ = exported
    key = signing_key(practice_ctx, CODE)
    older = rezip(newer, tmp_path / "older.zip",
                  lambda f: resign(f, key, lambda m: m.update(created_at="2026-01-02T08:00:00+00:00")))
    current = import_submission(office_ctx, newer)
    late = import_submission(office_ctx, older)
    assert late.status == "superseded" and late.superseded == []
    history = list_submissions(office_ctx).set_index("id")
    assert history.loc[current.id, "status"] == "current" and history.loc[late.id, "superseded_by"] == current.id


def test_the_package_carries_the_version_that_computed_each_measure(exported) -> None:  # type: ignore[no-untyped-def]
    import io
    import json

    from tests.measure_catalogue import version_in_force

    path, _ = exported
    files = members(path)
    manifest = json.loads(files["manifest.json"])
    versions = {m["id"]: m["version"] for m in manifest["measures"]}
    assert versions["CMS117"] == "0.1.000" and versions["CMS2"] == "0.2.000"  # the 2025 versions, for 2025
    table = pd.read_csv(io.BytesIO(files["aggregates.csv"]), keep_default_na=False, dtype=str)
    for measure_id, version in table[["measure", "measure_version"]].drop_duplicates().itertuples(index=False):
        assert version == version_in_force(measure_id, PERIOD) == versions[measure_id]


def test_a_2026_package_carries_the_2026_versions(practice_ctx, tmp_path) -> None:  # type: ignore[no-untyped-def]
    import json

    path = tmp_path / "P001-2026.zip"
    export_submission(practice_ctx, CODE, Period.year(2026), path)
    versions = {m["id"]: m["version"] for m in json.loads(members(path)["manifest.json"])["measures"]}
    assert versions["CMS117"] == "0.3.000" and versions["CMS2"] == "0.4.001" and versions["CMS154"] == "0.1.001"


def test_the_office_flags_a_package_computed_with_another_version(practice_ctx, office_ctx, exported,
                                                                   tmp_path) -> None:  # type: ignore[no-untyped-def]
    from carenet_desktop.services.keys import signing_key

    path, _ = exported
    assert import_submission(office_ctx, path).version_warnings == []

    def older_cms117(manifest: dict) -> None:  # the practice ran an out-of-date catalogue
        later = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=5)  # newer, and not in the future by a day
        manifest["created_at"] = later.isoformat()
        for item in manifest["measures"]:
            if item["id"] == "CMS117":
                item["version"] = "0.0.9"

    other = rezip(path, tmp_path / "old-cms117.zip", lambda f: resign(f, signing_key(practice_ctx, CODE), older_cms117))
    result = import_submission(office_ctx, other)
    assert result.version_warnings == ["CMS117 computed with 0.0.9, expected 0.1.000"]
    history = list_submissions(office_ctx).set_index("id")
    assert history.loc[result.id, "version_check"] == "CMS117 computed with 0.0.9, expected 0.1.000"
    assert "CMS117 0.0.9" in history.loc[result.id, "measure_versions"]
    with office_ctx.db.session() as s:
        summary = s.scalars(select(AuditLog.summary).order_by(AuditLog.id.desc())).first()
    assert "other measure versions than expected: CMS117 computed with 0.0.9" in summary
