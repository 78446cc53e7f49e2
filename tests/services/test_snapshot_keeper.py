"""The frames snapshot is brought up to date after a write (``snapshot_keeper``), so the next start reads it
warm - without patching it and without reading the store - and its frames and measure rows are exactly a
from-scratch read's; a write the keeper never heard of (another process) is still never served stale."""

from __future__ import annotations

import csv
import datetime as dt
import json
import shutil
import threading
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import select, update

from carenet_desktop.metrics.engine import evaluate_measures
from carenet_desktop.metrics.period import Period
from carenet_desktop.models import Immunization, Patient, Practice
from carenet_desktop.models.changes import current_version
from carenet_desktop.models.database import open_database
from carenet_desktop.models.encryption import encrypt_copy
from carenet_desktop.services import entry, frames_cache, snapshot_keeper
from carenet_desktop.services.catalogue_source import load_catalogue
from carenet_desktop.services.context import ServiceContext
from carenet_desktop.services.entry_undo import undo_entry
from carenet_desktop.services.fhir_import import import_fhir
from carenet_desktop.services.intake import import_file, undo_import
from carenet_desktop.services.measure_data import load_measure_data
from tests.services.test_frames_cache import _assert_same

TODAY = dt.date(2026, 6, 30)
PASSPHRASE = "correct horse battery staple 7"
MEASURES = ("CMS117", "CMS2", "CMS155")


def _store(demo_ctx, tmp_path: Path, encrypted: bool) -> tuple[Path, str | None]:  # type: ignore[no-untyped-def]
    if not encrypted:
        return demo_ctx.db.path, None
    target = tmp_path / "encrypted.db"
    encrypt_copy(demo_ctx.db.path, target, PASSPHRASE)
    return target, PASSPHRASE


def _visits_csv(ctx: ServiceContext, tmp_path: Path) -> tuple[Path, str]:
    with ctx.db.session() as s:
        code = s.scalars(select(Practice.code).order_by(Practice.id)).first()
        mrns = s.scalars(select(Patient.mrn).join(Practice).where(Practice.code == code, Patient.birth_date < dt.date(2024, 1, 1)).order_by(Patient.id).limit(5)).all()
    path = tmp_path / "visits.csv"
    with path.open("w", newline="") as fh:
        csv.writer(fh).writerows([("Patient MRN", "Visit Date", "CPT"), *[(m, "2025-03-01", "99392") for m in mrns]])
    return path, str(code)


def _fhir_bundle(tmp_path: Path) -> Path:
    patient = {"resourceType": "Patient", "id": "new-1", "gender": "female", "birthDate": "2015-01-01"}
    visit = {"resourceType": "Encounter", "id": "v1", "status": "finished",
             "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "AMB"},
             "type": [{"coding": [{"system": "http://www.ama-assn.org/go/cpt", "code": "99393"}]}],
             "subject": {"reference": "Patient/new-1"},
             "period": {"start": "2025-03-01T10:00:00Z", "end": "2025-03-01T10:30:00Z"}}
    path = tmp_path / "bundle.json"
    path.write_text(json.dumps({"resourceType": "Bundle", "type": "collection",
                                "entry": [{"resource": r} for r in (patient, visit)]}))
    return path


def _writes(ctx: ServiceContext, how: str, tmp_path: Path) -> list:  # type: ignore[type-arg]
    """The writes of ``how``, one by one, through the services the window and the command line call."""
    with ctx.db.session() as s:
        patient_id = s.scalars(select(Patient.id).where(Patient.birth_date < dt.date(2025, 1, 1)).order_by(Patient.id)).first()
    done: list = []  # type: ignore[type-arg]

    def record() -> None:
        result = entry.record_immunization(ctx, patient_id=patient_id, date=dt.date(2025, 3, 1), cvx="133", today=TODAY)
        assert result.ok and result.id is not None
        done.append(result.id)

    def load() -> None:
        path, code = _visits_csv(ctx, tmp_path)
        result = import_file(ctx, path, "encounters", practice_code=code,
                             mapping={"mrn": "Patient MRN", "date": "Visit Date", "code": "CPT"})
        assert result.written and result.import_id is not None
        done.append(result.import_id)

    def fhir() -> None:
        with ctx.db.session() as s:
            code = s.scalars(select(Practice.code).order_by(Practice.id)).first()
        assert import_fhir(ctx, [_fhir_bundle(tmp_path)], practice_code=code).problems == []

    return {"entry": [record], "entry undo": [record, lambda: undo_entry(ctx, "immunization", done[0])],
            "import": [load], "import undo": [load, lambda: undo_import(ctx, done[0])], "fhir": [fhir]}[how]


def _write(ctx: ServiceContext, how: str, tmp_path: Path) -> None:
    for write in _writes(ctx, how, tmp_path):
        write()


def _start_warm(path: Path, key: str | None, folder: Path, monkeypatch) -> tuple:  # type: ignore[no-untyped-def]
    """A new start's frames: read from the snapshot alone (patching it or reading the store fails the test)."""

    def refused(*_args, **_kwargs):  # type: ignore[no-untyped-def]
        raise AssertionError("the start after a write was not warm")

    db = open_database(path, key=key)
    with monkeypatch.context() as m:
        m.setattr(frames_cache, "_patch", refused)
        m.setattr(frames_cache, "load_measure_data_versioned", refused)
        data, served = frames_cache.load_measure_data_cached(db, folder)
    return db, data, served


def _assert_from_scratch(db, data) -> None:  # type: ignore[no-untyped-def]
    """The frames and the measure rows a from-scratch read of the store gives."""
    plain = load_measure_data(db)
    _assert_same(data, plain)
    measures = load_catalogue().select(MEASURES)
    expected = evaluate_measures(plain, Period.parse("2025"), measures).rows
    assert len(expected) > 0
    pd.testing.assert_frame_equal(evaluate_measures(data, Period.parse("2025"), measures).rows, expected, check_dtype=True)


@pytest.mark.parametrize("encrypted", [False, True], ids=["plain", "encrypted"])
@pytest.mark.parametrize("how", ["entry", "entry undo", "import", "import undo", "fhir"])
def test_a_start_after_a_write_reads_the_snapshot_kept_current(demo_ctx, tmp_path, monkeypatch, how, encrypted):  # type: ignore[no-untyped-def]
    path, key = _store(demo_ctx, tmp_path, encrypted)
    folder = tmp_path / "frames"
    db = open_database(path, key=key)
    ctx = ServiceContext(db, username="tester")
    frames_cache.load_measure_data_cached(db, folder)  # the first start: the snapshot
    frames_cache.wait_for_saves()
    for write in _writes(ctx, how, tmp_path):  # after each write (an entry, then its undo): a warm start
        with db.session() as s:
            before = current_version(s)
        write()
        snapshot_keeper.keep_current(db, folder)
        snapshot_keeper.finish(folder=folder)
        with db.session() as s:
            version = current_version(s)
        assert version > before
        names = [p.name for p in folder.glob("v*.npz")]
        assert any(n.startswith(f"v{version}-") for n in names), names
        if encrypted:  # sealed: no plain array in the file
            newest = next(p for p in folder.glob(f"v{version}-*.npz"))
            assert not newest.read_bytes().startswith(b"PK")
        fresh, data, served = _start_warm(path, key, folder, monkeypatch)
        assert served
        _assert_from_scratch(fresh, data)
        fresh.dispose()
    db.dispose()


def test_a_write_by_another_process_after_the_update_is_never_served_stale(demo_ctx, tmp_path):  # type: ignore[no-untyped-def]
    db = demo_ctx.db
    folder = tmp_path / "frames"
    frames_cache.load_measure_data_cached(db, folder)
    _write(demo_ctx, "entry", tmp_path)
    snapshot_keeper.keep_current(db, folder)
    snapshot_keeper.finish(folder=folder)
    other = open_database(db.path)  # another workstation's (or the command line's) write: no keeper here
    with other.session() as s:
        s.delete(s.scalars(select(Immunization).order_by(Immunization.id).limit(1)).one())
        s.execute(update(Patient).where(Patient.id == s.scalars(select(Patient.id).limit(1)).one()).values(payer="chip"))
    other.dispose()
    data, _ = frames_cache.load_measure_data_cached(open_database(db.path), folder)
    _assert_from_scratch(db, data)


def test_a_store_without_a_snapshot_here_is_left_to_its_first_start(demo_ctx, tmp_path):  # type: ignore[no-untyped-def]
    folder = tmp_path / "frames"
    _write(demo_ctx, "entry", tmp_path)
    assert snapshot_keeper.bring_current(demo_ctx.db, folder) == "none"
    assert not folder.exists()


def test_a_change_to_everything_is_read_again_only_where_allowed(demo_ctx, tmp_path):  # type: ignore[no-untyped-def]
    from carenet_desktop.models.changes import mark_practice_changed

    db = demo_ctx.db
    folder = tmp_path / "frames"
    frames_cache.load_measure_data_cached(db, folder)
    assert snapshot_keeper.bring_current(db, folder) == "current"
    with db.session() as s:
        mark_practice_changed(s, [None])  # e.g. value sets reloaded
    assert snapshot_keeper.bring_current(db, folder, full_read=False) == "left"  # the window: its compute reads it
    assert snapshot_keeper.bring_current(db, folder) == "read"
    assert snapshot_keeper.bring_current(db, folder) == "current"


def test_a_restored_store_gets_a_snapshot_of_its_own_history(demo_ctx, tmp_path, monkeypatch):  # type: ignore[no-untyped-def]
    from carenet_desktop.models.changes import renew_history

    db = demo_ctx.db
    folder = tmp_path / "frames"
    frames_cache.load_measure_data_cached(db, folder)
    with db.session() as s:
        renew_history(s)  # as a restore or a rebuilt demo does
    assert snapshot_keeper.bring_current(db, folder) == "read"
    fresh, data, served = _start_warm(db.path, None, folder, monkeypatch)
    assert served
    _assert_from_scratch(fresh, data)


def test_a_burst_of_writes_is_one_update(demo_ctx, tmp_path, monkeypatch):  # type: ignore[no-untyped-def]
    calls: list[bool] = []
    monkeypatch.setattr(snapshot_keeper, "bring_current", lambda db, folder, *, full_read: calls.append(full_read))
    folder = tmp_path / "frames"
    for _ in range(5):
        snapshot_keeper.keep_current(demo_ctx.db, folder, full_read=False, delay=600)  # started by finish()
    assert calls == []
    snapshot_keeper.finish(folder=folder)
    assert calls == [False]


def test_a_request_while_an_update_runs_runs_it_once_more(demo_ctx, tmp_path, monkeypatch):  # type: ignore[no-untyped-def]
    running, release = threading.Event(), threading.Event()
    calls: list[int] = []

    def slow(db, folder, *, full_read):  # type: ignore[no-untyped-def]
        calls.append(1)
        running.set()
        assert release.wait(10)

    monkeypatch.setattr(snapshot_keeper, "bring_current", slow)
    folder = tmp_path / "frames"
    snapshot_keeper.keep_current(demo_ctx.db, folder)
    assert running.wait(10)
    snapshot_keeper.keep_current(demo_ctx.db, folder)  # a write landed while the update ran
    snapshot_keeper.keep_current(demo_ctx.db, folder)
    release.set()
    snapshot_keeper.finish(folder=folder)
    assert len(calls) == 2


def test_the_command_line_brings_the_snapshot_current_after_an_import(demo_ctx, tmp_path, monkeypatch):  # type: ignore[no-untyped-def]
    from carenet_desktop.cli import main

    path = tmp_path / "cli.db"
    shutil.copy(demo_ctx.db.path, path)
    db = open_database(path)
    folder = frames_cache.default_folder(db)  # the command's own (the test session's private cache folder)
    frames_cache.load_measure_data_cached(db, folder)
    frames_cache.wait_for_saves()
    visits, code = _visits_csv(ServiceContext(db), tmp_path)
    db.dispose()
    assert main(["import", "csv", str(visits), "--kind", "encounters", "--practice", code, "--db", str(path),
                 "--map", "mrn=Patient MRN", "--map", "date=Visit Date", "--map", "code=CPT"]) == 0
    fresh, data, served = _start_warm(path, None, folder, monkeypatch)
    assert served
    _assert_from_scratch(fresh, data)
    fresh.dispose()


def test_frames_the_window_holds_are_patched_instead_of_reading_the_snapshot(demo_ctx, tmp_path, monkeypatch):  # type: ignore[no-untyped-def]
    """The care-gap worklist's frames (offered by the gap source): the update patches a copy of them and
    never reads the snapshot (no second copy of every frame in the window); gone, the snapshot is read."""
    import gc

    from carenet_desktop.models.changes import store_state

    def refused(*_args, **_kwargs):  # type: ignore[no-untyped-def]
        raise AssertionError("the snapshot was read")

    db = demo_ctx.db
    folder = tmp_path / "frames"
    held, _ = frames_cache.load_measure_data_cached(db, folder)
    with db.session() as s:
        history, version = store_state(s)
    snapshot_keeper.offer(folder, history, version, held)
    for how in ("import", "entry"):  # the held frames stay at their version: each update patches from there
        _write(demo_ctx, how, tmp_path)
        with monkeypatch.context() as m:
            m.setattr(frames_cache, "_read", refused)
            assert snapshot_keeper.bring_current(db, folder) == "patched held"
        fresh, data, served = _start_warm(db.path, None, folder, monkeypatch)
        assert served
        _assert_from_scratch(fresh, data)
        fresh.dispose()
    del held
    gc.collect()
    _write(demo_ctx, "entry", tmp_path)
    assert snapshot_keeper.bring_current(db, folder) == "patched"  # no frames held any more: from the snapshot


def test_the_command_line_keeps_only_what_a_command_that_ended_well_wrote(demo_ctx, tmp_path, monkeypatch):  # type: ignore[no-untyped-def]
    """A command that wrote nothing (even after a write made elsewhere) and a command that failed leave the
    snapshots alone: a read-only command never pays for an update, nor pulls other writers' rows to disk."""
    from carenet_desktop.cli import main

    path = tmp_path / "cli.db"
    shutil.copy(demo_ctx.db.path, path)
    kept: list[object] = []
    monkeypatch.setattr(snapshot_keeper, "keep_current", lambda db, *a, **k: kept.append(db))
    db = open_database(path)
    visits, code = _visits_csv(ServiceContext(db), tmp_path)
    with db.session() as s:  # a write by another process, before the command
        s.execute(update(Patient).where(Patient.id == 1).values(family_name="Elsewhere"))
    db.dispose()
    assert main(["practices", "--db", str(path)]) == 0
    assert kept == []  # read only: nothing kept
    assert main(["import", "csv", str(tmp_path / "missing.csv"), "--kind", "encounters", "--practice", code,
                 "--db", str(path)]) != 0
    assert kept == []  # failed: nothing kept
    assert main(["import", "csv", str(visits), "--kind", "encounters", "--practice", code, "--db", str(path),
                 "--map", "mrn=Patient MRN", "--map", "date=Visit Date", "--map", "code=CPT"]) == 0
    assert len(kept) == 1  # it wrote: its snapshot is kept current
