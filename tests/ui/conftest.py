"""pytest-qt set-up for the window tests: offscreen Qt, settings in a temporary folder, a small store."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

# before anything imports Qt: no display needed
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest  # noqa: E402

from carenet_desktop.models import Network, Patient, Practice, Provider  # noqa: E402
from carenet_desktop.models.database import Database, open_database  # noqa: E402
from carenet_desktop.services.context import ServiceContext  # noqa: E402
from carenet_desktop.services.practices import get_or_create_practice  # noqa: E402

# (code, name, city, patients, providers)
PRACTICES = (
    ("NORTH", "Northside Pediatrics", "Springfield", 5, 2),
    ("LAKE", "Lakeview Children's Clinic", "Shelbyville", 3, 1),
    ("ELM", "Elm Street Family Health", None, 0, 0),
)
NETWORK_NAME = "Riverside Pediatric Care Network"


def fill_database(db: Database, practices=PRACTICES, network_name: str | None = NETWORK_NAME) -> None:
    """A network with practices (through the practice service), patients and providers."""
    if network_name is not None:
        with db.session() as s:
            s.add(Network(name=network_name))
    ctx = ServiceContext(db, username="test")
    for code, name, city, n_patients, n_providers in practices:
        practice_id = get_or_create_practice(ctx, code, name)
        with db.session() as s:
            s.get(Practice, practice_id).city = city
            for i in range(n_patients):
                s.add(Patient(practice_id=practice_id, mrn=f"{code}-{i}", birth_date=dt.date(2015, 1, 1) + dt.timedelta(days=i)))
            for i in range(n_providers):
                s.add(Provider(practice_id=practice_id, family_name=f"Clinician{i}"))


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    path = tmp_path / "network.db"
    db = open_database(path)
    fill_database(db)
    db.dispose()
    return path


@pytest.fixture
def database(db_path: Path):
    db = open_database(db_path)
    yield db
    db.dispose()


@pytest.fixture(autouse=True)
def isolated_settings(tmp_path_factory: pytest.TempPathFactory, qapp):
    """QSettings (window geometry, last page) go to a temporary folder, never the user's."""
    from PySide6.QtCore import QSettings

    folder = tmp_path_factory.mktemp("settings")
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(folder))
    yield folder


@pytest.fixture
def sample():
    """The sample network written by ``db_path``: practices, network name, and the filler function."""
    from types import SimpleNamespace

    return SimpleNamespace(practices=PRACTICES, network_name=NETWORK_NAME, fill=fill_database)
