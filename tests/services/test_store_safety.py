"""Durability and encryption at rest, as the command line exercises them on a real demo store:
backup, simulated corruption, check, restore; damaged backups refused; network shares refused;
SQLCipher files that plain sqlite3 cannot read and a wrong passphrase cannot open."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pandas as pd
import pytest

from carenet_desktop.cli import main
from carenet_desktop.models import durability
from carenet_desktop.models.database import DatabaseError, PassphraseRequired, open_database
from carenet_desktop.models.durability import integrity_problems, list_backups, network_share_reason
from carenet_desktop.models.encryption import PASSPHRASE_ENV, encrypt_copy, is_encrypted_file
from carenet_desktop.services.context import ServiceContext
from carenet_desktop.services.practices import get_or_create_practice

PASSPHRASE = "a long passphrase 42"


def _counts(path: Path, key: str | None = None) -> tuple[int, int]:
    db = open_database(path, key=key)
    try:
        with db.engine.connect() as c:
            return (c.exec_driver_sql("SELECT count(*) FROM patient").scalar_one(),
                    c.exec_driver_sql("SELECT count(*) FROM encounter").scalar_one())
    finally:
        db.dispose()


def _corrupt(path: Path) -> None:
    """Overwrite pages in the middle of the file, as a failing disk or a killed copy would."""
    data = bytearray(path.read_bytes())
    page = 4096
    for start in range(page * 3, min(len(data), page * 40), page * 2):
        data[start:start + page] = b"\xa5" * page
    path.write_bytes(bytes(data))


@pytest.fixture
def store(demo_ctx) -> Path:  # type: ignore[no-untyped-def]
    path = demo_ctx.db.path
    with demo_ctx.db.engine.connect() as c:
        c.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    demo_ctx.db.dispose()
    return path


def test_restore_after_corruption_brings_back_every_row(store: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    before = _counts(store)
    assert main(["backup", "--db", str(store)]) == 0
    assert "checked" in capsys.readouterr().out
    [backup] = list_backups(store)
    assert backup.reason == "manual" and not integrity_problems(backup.path)

    _corrupt(store)
    assert main(["check", "--db", str(store)]) == 1
    assert "is damaged" in capsys.readouterr().out

    assert main(["restore", "--db", str(store), "--latest", "--yes"]) == 0
    out = capsys.readouterr().out
    assert "Restored" in out and "kept as" in out
    assert main(["check", "--db", str(store)]) == 0
    assert _counts(store) == before
    kept = [p for p in store.parent.glob(f"{store.name}.replaced-*") if not p.name.endswith("-wal")]
    assert len(kept) == 1 and kept[0].stat().st_size > 0  # the damaged file is kept, not deleted


def test_a_damaged_backup_is_refused_and_the_store_is_untouched(store: Path, tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    bad = tmp_path / "bad.db"
    bad.write_bytes(store.read_bytes())
    _corrupt(bad)
    original = store.read_bytes()
    assert main(["restore", "--db", str(store), str(bad), "--yes"]) == 1
    assert "damaged" in capsys.readouterr().err
    assert store.read_bytes() == original
    not_ours = tmp_path / "other.db"
    sqlite3.connect(not_ours).execute("CREATE TABLE t (x)").connection.commit()
    assert main(["restore", "--db", str(store), str(not_ours), "--yes"]) == 1
    assert "not a CareNet Desktop database" in capsys.readouterr().err
    assert store.read_bytes() == original


def test_restore_without_confirmation_is_refused(store: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    assert main(["backup", "--db", str(store)]) == 0
    assert main(["restore", "--db", str(store), "--latest"]) == 1
    assert "--yes" in capsys.readouterr().err


def test_backups_rotate_and_are_listed(store: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    for _ in range(12):
        assert main(["backup", "--db", str(store)]) == 0
    assert len(list_backups(store)) == 10
    capsys.readouterr()
    assert main(["backups", "--db", str(store)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 10 and all("\tmanual\t" in line for line in lines)


MOUNTS = """\
/dev/sda1 / ext4 rw,relatime 0 0
//fileserver/practice /mnt/shared cifs rw,vers=3.0 0 0
server:/export /srv/nfs nfs4 rw 0 0
/dev/sdb1 /mnt/shared/local ext4 rw 0 0
"""


@pytest.mark.parametrize(("path", "expected"), [
    ("/home/ann/carenet.db", None),
    ("/mnt/shared/carenet.db", "a network share (cifs)"),
    ("/srv/nfs/a/b.db", "a network share (nfs4)"),
    ("/mnt/shared/local/carenet.db", None),  # the deepest mount wins
    ("/mnt/sharedother/x.db", None),
])
def test_network_shares_are_recognised(path: str, expected: str | None) -> None:
    assert network_share_reason(Path(path), mounts=MOUNTS, platform="linux") == expected


@pytest.mark.parametrize("path", [r"\\fileserver\practice\carenet.db", "//fileserver/practice/carenet.db"])
def test_windows_unc_paths_are_network_paths(path: str) -> None:
    assert network_share_reason(Path(path), platform="win32") == "a network path (UNC)"


def test_a_store_on_a_network_share_is_refused_unless_forced(tmp_path: Path, monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]
    mounts = tmp_path / "mounts"
    mounts.write_text(f"/dev/sda1 / ext4 rw 0 0\n//srv/share {tmp_path} cifs rw 0 0\n")
    monkeypatch.setattr(durability, "MOUNTS_FILE", mounts)
    monkeypatch.delenv(durability.ALLOW_SHARE_ENV, raising=False)
    target = tmp_path / "shared.db"
    with pytest.raises(DatabaseError, match="network share .cifs.*PostgreSQL"):
        open_database(target)
    assert not target.exists()
    assert main(["practices", "--db", str(target)]) == 1
    assert "--allow-network-share" in capsys.readouterr().err
    assert main(["practices", "--db", str(target), "--allow-network-share"]) == 0
    assert target.exists()


def test_encrypted_store_needs_its_passphrase(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.delenv(PASSPHRASE_ENV, raising=False)
    path = tmp_path / "practice.db"
    db = open_database(path, key=PASSPHRASE)  # a new file with a passphrase is created encrypted
    get_or_create_practice(ServiceContext(db), "P9", "Nine")
    db.dispose()
    assert is_encrypted_file(path)
    with pytest.raises(sqlite3.DatabaseError, match="not a database"):
        sqlite3.connect(path).execute("SELECT * FROM practice").fetchall()
    assert b"Nine" not in path.read_bytes()
    with pytest.raises(PassphraseRequired) as wrong:
        open_database(path, key="not the passphrase")
    assert wrong.value.wrong
    with pytest.raises(PassphraseRequired) as missing:
        open_database(path)
    assert not missing.value.wrong
    monkeypatch.setenv(PASSPHRASE_ENV, PASSPHRASE)
    db = open_database(path)
    try:
        assert db.encrypted
        with db.engine.connect() as c:
            assert c.exec_driver_sql("SELECT name FROM practice").scalar_one() == "Nine"
        backup = db.backup()
    finally:
        db.dispose()
    assert is_encrypted_file(backup)  # backups are encrypted too
    with pytest.raises(sqlite3.DatabaseError):
        sqlite3.connect(backup).execute("SELECT * FROM practice").fetchall()
    assert not integrity_problems(backup, key=PASSPHRASE)
    assert integrity_problems(backup, key="wrong passphrase!")


def test_encrypt_command_makes_an_encrypted_copy_with_every_row(store: Path, tmp_path: Path, monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]
    before = _counts(store)
    target = tmp_path / "encrypted.db"
    monkeypatch.setenv(PASSPHRASE_ENV, "short")
    assert main(["encrypt", "--db", str(store), "--out", str(target)]) == 1
    assert "at least" in capsys.readouterr().err and not target.exists()
    monkeypatch.setenv(PASSPHRASE_ENV, PASSPHRASE)
    assert main(["encrypt", "--db", str(store), "--out", str(target)]) == 0
    assert is_encrypted_file(target)
    assert _counts(target, key=PASSPHRASE) == before
    assert main(["check", "--db", str(target)]) == 0
    monkeypatch.delenv(PASSPHRASE_ENV)
    assert main(["practices", "--db", str(target)]) == 1
    assert "encrypted" in capsys.readouterr().err


def test_encrypt_copy_refuses_a_short_passphrase(store: Path, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="at least"):
        encrypt_copy(store, tmp_path / "x.db", "short")


def test_an_encrypted_store_leaves_no_plain_text_cache(store: Path, tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """The results and frames caches hold patient-level rows: an encrypted store's are sealed (computed in a
    worker process, read back by a new cache), never plain text on disk."""
    import numpy as np

    from carenet_desktop.metrics.period import Period
    from carenet_desktop.services import compute_pool
    from carenet_desktop.services.cache_files import MAGIC
    from carenet_desktop.services.frames_cache import load_measure_data_cached
    from carenet_desktop.services.results import ResultsCache
    from carenet_desktop.services.scorecard import ScorecardService

    cache_home = tmp_path / "cache"
    monkeypatch.setenv("XDG_CACHE_HOME", str(cache_home))
    target = tmp_path / "encrypted.db"
    encrypt_copy(store, target, PASSPHRASE)
    compute_pool.configure(1)  # as in the window: the worker process computes and hands over on disk
    db = open_database(target, key=PASSPHRASE)
    period = Period.year(2025)
    ids = tuple(ServiceContext(db).catalogue.ids())
    try:
        ctx = ServiceContext(db)
        results = ResultsCache(ctx, cache_dir=tmp_path / "results")
        table = ScorecardService(ctx, results).network_table(period)
        assert len(table) > 0
        computed = results.results(period).rows
        again = ResultsCache(ctx, cache_dir=tmp_path / "results")._read_disk(period, ids)  # a new start
        assert again is not None
        pd.testing.assert_frame_equal(again.rows.reset_index(drop=True), computed.reset_index(drop=True))
        data, served = load_measure_data_cached(db)
        assert served and len(data.patients) > 0  # the sealed frames snapshot opened again
    finally:
        compute_pool.configure(0)
        db.dispose()
    with sqlite3.connect(store) as conn:
        mrns = [r[0].encode() for r in conn.execute("SELECT mrn FROM patient LIMIT 20")]
    written = [p for p in (*cache_home.rglob("*"), *(tmp_path / "results").rglob("*")) if p.is_file()]
    sealed = written  # every file: no salt or key file beside them (the key is inside the store)
    assert {p.suffix for p in sealed} == {".npz"} and len(sealed) >= 2  # results and the frames snapshot
    for path in sealed:
        raw = path.read_bytes()
        assert raw.startswith(MAGIC), path.name
        assert b"PK\x03\x04" not in raw and b"loinc" not in raw and not any(m in raw for m in mrns), path.name
        with pytest.raises(ValueError):
            np.load(path, allow_pickle=False)  # not an archive anyone can open without the key
    # the same store unencrypted writes plain archives (the checks above would notice nothing otherwise)
    plain = open_database(store)
    try:
        ScorecardService(ServiceContext(plain), ResultsCache(ServiceContext(plain), cache_dir=tmp_path / "plain")
                         ).network_table(period)
    finally:
        plain.dispose()
    assert all(p.read_bytes().startswith(b"PK") for p in (tmp_path / "plain").rglob("*.npz"))
    assert any(p.is_file() for p in (tmp_path / "plain").rglob("*.npz"))
