"""Evaluation service and CLI: per-patient rows for every patient, episodes counted, failures isolated."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from carenet_desktop.cli import main
from carenet_desktop.metrics import catalogue
from carenet_desktop.metrics.data import MeasureData
from carenet_desktop.metrics.definition import Group, Measure
from carenet_desktop.metrics.period import Period
from carenet_desktop.models.database import open_database
from carenet_desktop.services import ServiceContext, catalogue_source
from carenet_desktop.services.evaluation import evaluate, patient_results, summary
from carenet_desktop.services.fhir_import import import_fhir
from tests.interchange.fhir_samples import bundle, encounter, patient, write

PERIOD = Period.year(2025)


class EpisodeMeasure(Measure):
    """Every 2025 encounter is an episode; the numerator: the encounter is an office visit (99213)."""

    id = "TESTEP"
    title = "Test episodes"
    basis = "episode"
    groups = (Group("visits", ("initial-population", "denominator", "denominator-exclusion", "numerator")),)

    def populations(self, data: MeasureData, period: Period) -> list[pd.DataFrame]:
        enc = data.encounters[data.encounters["start"].dt.year == period.start.year]
        return [pd.DataFrame({
            "patient_id": enc["patient_id"].to_numpy(),
            "episode_id": enc["event_id"].to_numpy(),
            "initial-population": True,
            "denominator": True,
            "numerator": (enc["key"] == "cpt|99213").to_numpy(),
        })]


class TwoGroupPatientMeasure(Measure):
    id = "TESTPT"
    title = "Test patients"
    groups = (
        Group("born 2020", ("initial-population", "denominator", "denominator-exclusion", "denominator-exception", "numerator")),
        Group("everyone"),
    )

    def populations(self, data: MeasureData, period: Period) -> list[pd.DataFrame]:
        p = data.patients
        born = (p["birth_date"].dt.year == 2020).to_numpy()
        return [
            pd.DataFrame({"patient_id": p["patient_id"], "initial-population": born, "denominator": born,
                          "denominator-exception": born}),
            pd.DataFrame({"patient_id": p["patient_id"], "initial-population": True, "denominator": True,
                          "numerator": True}),
        ]


class Unfinished(Measure):
    id = "TESTNI"
    title = "Not yet"
    groups = (Group("g"),)

    def populations(self, data: MeasureData, period: Period) -> list[pd.DataFrame]:
        raise NotImplementedError("coming soon")


@pytest.fixture
def measures(monkeypatch):  # type: ignore[no-untyped-def]
    """The shipped catalogue and three test measures: what every context made in the test computes with."""
    classes, errors = catalogue.builtin_classes()
    extra = (EpisodeMeasure, TwoGroupPatientMeasure, Unfinished)
    monkeypatch.setattr(catalogue, "builtin_classes", lambda: ((*classes, *extra), dict(errors)))
    monkeypatch.setattr(catalogue_source, "load_catalogue", lambda dirs=None: catalogue.Catalogue.build())
    return ["TESTEP", "TESTPT", "TESTNI"]


@pytest.fixture
def db_path(tmp_path):  # type: ignore[no-untyped-def]
    path = tmp_path / "e.db"
    db = open_database(path)
    ctx = ServiceContext(db)
    other = encounter("e3", "p1", start="2025-06-01T10:00:00Z")
    other["type"][0]["coding"][0]["code"] = "99395"
    write(tmp_path / "f" / "a.json", bundle(patient("p1"), encounter("e1", "p1"), encounter("e2", "p1",
          start="2025-04-01T10:00:00Z"), other))
    write(tmp_path / "f" / "b.json", bundle(patient("p2", birth="2015-01-01"), encounter("e1", "p2", start="2024-01-01")))
    write(tmp_path / "f" / "c.json", bundle(patient("p3", birth="2016-01-01")))
    import_fhir(ctx, [tmp_path / "f"])
    db.dispose()
    return path


def test_patient_results_cover_every_patient_and_count_episodes(measures, db_path) -> None:  # type: ignore[no-untyped-def]
    db = open_database(db_path)
    result = evaluate(ServiceContext(db), PERIOD, measures)
    db.dispose()
    assert result.errors == {"TESTNI": "not implemented yet: coming soon"}
    table = patient_results(result)
    assert len(table) == 3 * 3  # 3 patients x (1 + 2 groups)
    ep = table[table["measure"] == "TESTEP"].set_index("patient_id")
    assert ep.loc["p1", ["initial-population", "denominator", "numerator"]].tolist() == [3, 3, 2]
    assert ep.loc["p2", ["initial-population", "numerator"]].tolist() == [0, 0]  # 2024 visit: not in the IP
    assert pd.isna(ep.loc["p1", "denominator-exception"])  # the group has no exception population
    pt = table[(table["measure"] == "TESTPT") & (table["group_index"] == 0)].set_index("patient_id")
    assert pt.loc["p1", "denominator-exception"] == 1 and pt.loc["p3", "denominator-exception"] == 0
    totals = summary(result).set_index(["measure", "group_index"])
    assert totals.loc[("TESTEP", 0), "rate"] == pytest.approx(2 / 3)
    assert totals.loc[("TESTPT", 0), "rate_base"] == 0 and pd.isna(totals.loc[("TESTPT", 0), "rate"])
    assert totals.loc[("TESTPT", 1), "rate"] == 1.0


def test_unknown_measure_is_reported_not_fatal(measures, db_path) -> None:  # type: ignore[no-untyped-def]
    db = open_database(db_path)
    result = evaluate(ServiceContext(db), PERIOD, ["TESTPT", "CMS999999"])
    db.dispose()
    assert [m.id for m in result.measures] == ["TESTPT"] and "CMS999999" in result.errors


def test_cli_evaluate_writes_patient_results_and_summary(measures, db_path, tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    out, summ = tmp_path / "p.csv", tmp_path / "s.json"
    rc = main(["measures", "evaluate", "--db", str(db_path), "--period", "2025", "--measure", "TESTEP", "--measure",
               "TESTNI", "--patient-results", str(out), "--summary", str(summ)])
    assert rc == 1  # one measure did not run
    assert "TESTNI not evaluated" in capsys.readouterr().err
    text = out.read_text().splitlines()
    assert text[0] == "measure,group_index,patient_id,initial-population,denominator,denominator-exclusion,denominator-exception,numerator"
    assert "TESTEP,0,p1,3,3,0,,2" in text
    payload = json.loads(summ.read_text())
    assert payload["groups"][0]["numerator"] == 2 and "TESTNI" in payload["errors"]
    rc = main(["measures", "evaluate", "--db", str(db_path), "--start", "2025-01-01", "--end", "2025-06-30",
               "--measure", "TESTEP", "--patient-results", str(out)])
    assert rc == 0 and "TESTEP,0,p1,3,3,0,,2" in out.read_text()


def test_cli_list_shows_the_catalogue(measures, capsys) -> None:  # type: ignore[no-untyped-def]
    assert main(["measures", "list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "id\tversion\tperiods\ttitle\tbasis\tgroups\timprovement\tlibraries"
    assert any(line.startswith("TESTPT\t-\tall periods\tTest patients\tpatient\t2\tincrease\tQI-Core 4.1.1")
               for line in lines)
