"""`carenet gaps` reads the results the window's scorecard computed (the results cache): no measure is
evaluated again and only its practice's records are read (what ``Measure.gaps`` needs to say what is
missing), never the whole store - and the file it writes equals the one a from-scratch evaluation writes."""

from __future__ import annotations

import csv
import shutil
from typing import Any

import pytest
from sqlalchemy import select

from carenet_desktop.cli import main as cli_main
from carenet_desktop.metrics.period import Period
from carenet_desktop.models import Practice
from carenet_desktop.models.database import open_database
from carenet_desktop.services import frames_cache, gap_source, results
from carenet_desktop.services.context import ServiceContext
from carenet_desktop.services.scorecard import ScorecardService
from tests.stores import demo_store


@pytest.fixture
def demo_db(tmp_path_factory, tmp_path):  # type: ignore[no-untyped-def]
    copy = tmp_path / "demo.db"
    shutil.copy(demo_store(tmp_path_factory), copy)
    return copy


def _rows(path) -> list[dict[str, str]]:  # type: ignore[no-untyped-def]
    with path.open(newline="", encoding="utf-8-sig") as f:
        return list(csv.DictReader(f))


def _gaps(db, code: str, out) -> list[dict[str, str]]:  # type: ignore[no-untyped-def]
    assert cli_main(["gaps", "--db", str(db), "--practice", code, "--period", "2026", "--as-of", "2026-06-30",
                     "--out", str(out)]) == 0
    return _rows(out)


def test_gaps_read_the_scorecards_results_and_only_the_practices_records(demo_db, tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    database = open_database(demo_db)
    ctx = ServiceContext(database, username="tester")
    with database.session() as s:
        code, practice_id = s.execute(select(Practice.code, Practice.id).order_by(Practice.code)).first()  # type: ignore[misc]
    fresh = _gaps(demo_db, code, tmp_path / "fresh.csv")  # nothing cached yet: the practice evaluated
    ScorecardService(ctx).results(Period.year(2026))  # what the window's scorecard computes and keeps
    database.dispose()

    def never(*_args: Any, **_kwargs: Any) -> Any:
        raise AssertionError("evaluated again or read from the store")

    for module, name in ((gap_source, "evaluate_measures"), (results, "evaluate_measures"),
                         (results, "load_measure_data"), (gap_source, "load_measure_data_cached"),
                         (frames_cache, "load_measure_data"), (frames_cache, "load_measure_data_versioned")):
        monkeypatch.setattr(module, name, never)
    read = gap_source.load_measure_data
    asked: list[Any] = []

    def practice_only(db: Any, **kwargs: Any) -> Any:
        asked.append(kwargs.get("practice_id_list"))
        return read(db, **kwargs)

    monkeypatch.setattr(gap_source, "load_measure_data", practice_only)
    cached = _gaps(demo_db, code, tmp_path / "cached.csv")
    assert cached == fresh and len(cached) > 0
    assert asked == [[practice_id]]  # its practice's records, once
