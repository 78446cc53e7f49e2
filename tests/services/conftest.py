from __future__ import annotations

import shutil

import pytest

from tests.dbtargets import backends, fresh_database
from tests.stores import demo_store


@pytest.fixture(params=backends())
def db_url(request, tmp_path):  # type: ignore[no-untyped-def]
    with fresh_database(request.param, tmp_path) as url:
        yield url


@pytest.fixture(scope="session")
def small_demo_file(tmp_path_factory):  # type: ignore[no-untyped-def]
    """A 600-patient demo network with the default code catalogue, built once per test session."""
    return demo_store(tmp_path_factory)


@pytest.fixture
def demo_ctx(small_demo_file, tmp_path):  # type: ignore[no-untyped-def]
    """A private copy of the small demo network, open, for tests that change it."""
    from carenet_desktop.models.database import open_database
    from carenet_desktop.services.context import ServiceContext

    copy = tmp_path / "demo.db"
    shutil.copy(small_demo_file, copy)
    db = open_database(copy)
    yield ServiceContext(db, username="tester")
    db.dispose()
