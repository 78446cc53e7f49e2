"""Fixtures for the intake tests: a store with one practice and a few patients, CSV writers."""

from __future__ import annotations

import csv
import datetime as dt
import shutil
from pathlib import Path

import pytest

from carenet_desktop.models import Patient, Practice, Provider
from carenet_desktop.models.database import open_database
from carenet_desktop.services.context import ServiceContext

TODAY = dt.date(2025, 6, 30)
PATIENTS = {  # MRN -> birth date
    "M001": dt.date(2019, 3, 1),
    "M002": dt.date(2020, 7, 15),
    "M003": dt.date(2012, 1, 20),
    "M004": dt.date(2024, 2, 29),
}


def build_store(path: Path) -> None:
    db = open_database(path)
    with db.session() as s:
        practice = Practice(code="PEDS1", name="Peds One")
        s.add(practice)
        s.flush()
        s.add(Provider(practice_id=practice.id, npi="1234567893", family_name="Doc"))
        for mrn, birth in PATIENTS.items():
            s.add(Patient(practice_id=practice.id, mrn=mrn, birth_date=birth, given_name="Test", family_name=mrn))
    db.dispose()


@pytest.fixture(scope="session")
def store_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("intake") / "template.db"
    build_store(path)
    return path


def copy_store(template: Path, target: Path) -> Path:
    shutil.copy(template, target)
    return target


@pytest.fixture
def ctx(store_template: Path, tmp_path: Path) -> ServiceContext:
    db = open_database(copy_store(store_template, tmp_path / "store.db"))
    yield ServiceContext(db, username="tester")
    db.dispose()


def write_csv(path: Path, header: list[str], rows: list[list[str]], *, encoding: str = "utf-8",
              delimiter: str = ",") -> Path:
    with path.open("w", encoding=encoding, newline="") as fh:
        writer = csv.writer(fh, delimiter=delimiter)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def count(ctx: ServiceContext, table: str) -> int:
    with ctx.db.engine.connect() as conn:
        return int(conn.exec_driver_sql(f'SELECT COUNT(*) FROM "{table}"').scalar_one())
