"""Encrypting a store (issue 22, items 7 and 8): its plain caches go, cache files are private, a copy cut
short never appears under the name asked for, and ``check`` compares the counts the store records."""

from __future__ import annotations

import sqlite3
import stat
from pathlib import Path

import pytest

import carenet_desktop.models.encryption as encryption
from carenet_desktop.cli import main
from carenet_desktop.models.database import open_database
from carenet_desktop.models.encryption import PASSPHRASE_ENV, IncompleteCopy, encrypt_copy
from carenet_desktop.services.cache_files import store_cache_folders
from carenet_desktop.services.frames_cache import default_folder, load_measure_data_cached

PASSPHRASE = "a long enough passphrase 3"


@pytest.fixture
def store(demo_ctx) -> Path:  # type: ignore[no-untyped-def]
    path: Path = demo_ctx.db.path
    with demo_ctx.db.engine.connect() as c:
        c.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    demo_ctx.db.dispose()
    return path


def test_cache_files_are_private_and_encrypting_removes_the_plain_ones(store: Path, tmp_path: Path,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    db = open_database(store)
    try:
        load_measure_data_cached(db)  # writes the frames snapshot: patient rows, plain for a plain store
        folder = default_folder(db)
        identity = db.url.render_as_string(hide_password=True)
    finally:
        db.dispose()
    files = [p for p in folder.iterdir() if p.is_file()]
    assert files and folder in store_cache_folders(identity)
    for p in files:
        assert stat.S_IMODE(p.stat().st_mode) & 0o077 == 0, f"{p.name} is readable by others"
    assert stat.S_IMODE(folder.stat().st_mode) & 0o077 == 0
    monkeypatch.setenv(PASSPHRASE_ENV, PASSPHRASE)
    assert main(["encrypt", "--db", str(store), "--out", str(tmp_path / "enc.db")]) == 0
    assert not folder.exists()


def test_an_interrupted_copy_is_never_left_under_the_target_name(store: Path, tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    real = encryption._export

    def cut_short(plain: Path, target: Path, passphrase: str) -> None:  # as if killed half-way
        real(plain, target, passphrase)
        con = encryption.connect_raw(target, key=passphrase)
        con.execute("DELETE FROM encounter")
        con.commit()
        con.close()

    monkeypatch.setattr(encryption, "_export", cut_short)
    target = tmp_path / "enc.db"
    with pytest.raises(IncompleteCopy, match="encounter"):
        encrypt_copy(store, target, PASSPHRASE)
    assert not target.exists() and not list(tmp_path.glob("enc.db*"))


def test_check_compares_the_counts_the_store_records(store: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    assert main(["check", "--db", str(store)]) == 0
    con = sqlite3.connect(store)
    con.execute("DELETE FROM audit_log WHERE id = (SELECT max(id) FROM audit_log)")
    con.commit()
    con.close()
    capsys.readouterr()
    assert main(["check", "--db", str(store)]) == 1
    assert "audit trail holds" in capsys.readouterr().out


def test_backup_out_never_overwrites(store: Path, tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    """Issue 22, item 9: ``backup --out`` wrote over an existing file."""
    precious = tmp_path / "precious.db"
    precious.write_bytes(b"not to be lost")
    capsys.readouterr()
    assert main(["backup", "--db", str(store), "--out", str(precious)]) == 1
    assert "never overwrites" in capsys.readouterr().err
    assert precious.read_bytes() == b"not to be lost"
    assert not list(tmp_path.glob("precious.db.*"))


def test_rotation_deletes_only_backups_the_app_made(store: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Rotation deleted every ``<store>-*.db`` beyond the newest ten, the user's own files too."""
    import os

    import carenet_desktop.models.backup as backup
    from carenet_desktop.models.durability import list_backups

    folder = store.parent / "backups"
    folder.mkdir(exist_ok=True)
    mine = folder / f"{store.stem}-notes.db"
    mine.write_bytes(b"the user's own file")
    os.utime(mine, (1, 1))  # the oldest file in the folder
    monkeypatch.setattr(backup, "KEEP_BACKUPS", 2)
    for _ in range(3):
        assert main(["backup", "--db", str(store)]) == 0
    assert mine.exists()
    listed = list_backups(store)
    assert len(listed) == 2 and mine not in [b.path for b in listed]
    assert all(backup.read_manifest(b.path) for b in listed)
    assert len(list(folder.glob("*.manifest.json"))) == 2  # the rotated backup's manifest went with it


def test_a_failed_backup_leaves_nothing(store: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A full disk during the copy: the partial file is removed and never listed."""
    import carenet_desktop.models.backup as backup
    from carenet_desktop.models.durability import list_backups

    def full_disk(engine, target_path, key):  # type: ignore[no-untyped-def]
        target_path.write_bytes(b"SQLite format 3\0half")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(backup, "_copy", full_disk)
    db = open_database(store)
    try:
        with pytest.raises(OSError):
            db.backup()
    finally:
        db.dispose()
    assert list_backups(store) == []
    folder = store.parent / "backups"
    assert not (folder.exists() and list(folder.iterdir()))
