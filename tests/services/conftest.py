from __future__ import annotations

import datetime as dt
import shutil

import pytest

from tests.dbtargets import backends, fresh_database


@pytest.fixture(params=backends())
def db_url(request, tmp_path):  # type: ignore[no-untyped-def]
    with fresh_database(request.param, tmp_path) as url:
        yield url


@pytest.fixture(scope="session")
def small_demo_file(tmp_path_factory):  # type: ignore[no-untyped-def]
    """A 600-patient demo network with the default code catalogue, built once per test session."""
    from carenet_desktop.demo import build_demo
    from carenet_desktop.models.database import open_database
    from carenet_desktop.services.context import ServiceContext
    from carenet_desktop.services.valuesets import ensure_default_catalogue

    path = tmp_path_factory.mktemp("demo") / "demo.db"
    db = open_database(path)
    build_demo(db, practices=3, patients=600, seed=7, as_of=dt.date(2026, 6, 30))
    ensure_default_catalogue(ServiceContext(db))
    db.dispose()
    return path


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
