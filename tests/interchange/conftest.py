"""Fixtures of the interchange tests: signing keys kept in a private folder, a small practice store."""

from __future__ import annotations

import shutil

import pytest

from tests.stores import demo_store


@pytest.fixture(autouse=True)
def _private_key_folder(tmp_path, monkeypatch):  # type: ignore[no-untyped-def]
    """Signing-key encryption keys go to a temporary folder, never the OS keyring or the user's folder."""
    monkeypatch.setenv("CARENET_KEYRING", "0")
    monkeypatch.setenv("CARENET_KEY_DIR", str(tmp_path / "keys"))


@pytest.fixture(scope="session")
def practice_store_file(tmp_path_factory):  # type: ignore[no-untyped-def]
    """A 600-patient, 3-practice demo network with the default code catalogue, built once per session."""
    return demo_store(tmp_path_factory)


@pytest.fixture
def practice_ctx(practice_store_file, tmp_path):  # type: ignore[no-untyped-def]
    from carenet_desktop.models.database import open_database
    from carenet_desktop.services.context import ServiceContext

    copy = tmp_path / "practice.db"
    shutil.copy(practice_store_file, copy)
    db = open_database(copy)
    yield ServiceContext(db, username="manager")
    db.dispose()


@pytest.fixture
def office_ctx(tmp_path):  # type: ignore[no-untyped-def]
    from carenet_desktop.models.database import open_database
    from carenet_desktop.services.context import ServiceContext

    db = open_database(tmp_path / "office.db")
    yield ServiceContext(db, username="office")
    db.dispose()
