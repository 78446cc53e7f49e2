"""Value sets as data: loading expansions (or compose concepts), replacing by URL, reading the index."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import func, select

from carenet_desktop.models import ValueSet, ValueSetCode
from carenet_desktop.models.database import open_database
from carenet_desktop.services import ServiceContext
from carenet_desktop.services.valuesets import ensure_default_catalogue, load_index, load_valuesets
from tests.interchange.fhir_samples import write

OID = "2.16.840.1.113883.3.464.1003.196.12.1214"
URL = f"http://cts.nlm.nih.gov/fhir/ValueSet/{OID}"


def expansion_vs(url: str = URL, codes: tuple[str, ...] = ("20", "106")) -> dict:
    return {
        "resourceType": "ValueSet", "id": url.rsplit("/", 1)[-1], "url": url, "name": "DTaPVaccine", "version": "1",
        "expansion": {"contains": [{"system": "http://hl7.org/fhir/sid/cvx", "code": c, "display": f"vaccine {c}"}
                                   for c in codes]},
    }


def compose_vs() -> dict:
    return {
        "resourceType": "ValueSet", "id": "local-fluoride", "url": "http://carenet.example/ValueSet/fluoride",
        "compose": {"include": [{"system": "http://www.ama-assn.org/go/cpt", "concept": [{"code": "99188"}]},
                                {"system": "http://snomed.info/sct", "concept": [{"code": "14110001"}]}]},
    }


@pytest.fixture
def ctx(db_url):  # type: ignore[no-untyped-def]
    db = open_database(db_url)
    yield ServiceContext(db, username="tester")
    db.dispose()


def test_bundle_and_single_valuesets_load_into_the_index(ctx, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    bundle = {"resourceType": "Bundle", "entry": [{"resource": expansion_vs()}]}
    result = load_valuesets(ctx, [write(tmp_path / "b.json", bundle), write(tmp_path / "c.json", compose_vs())])
    assert (result.loaded, result.codes) == (2, 4)
    index = load_index(ctx.db)
    assert index.keys(URL) == {"cvx|20", "cvx|106"}
    assert index.keys(OID) == index.keys(URL)  # the OID is an alias
    assert index.keys("http://carenet.example/ValueSet/fluoride") == {"cpt|99188", "snomed|14110001"}
    frame = pd.DataFrame({"key": ["cvx|20", "cvx|999", "cpt|99188"]})
    assert index.mask(frame, URL).tolist() == [True, False, False]


def test_same_url_replaces_the_codes(ctx, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    load_valuesets(ctx, [write(tmp_path / "a.json", expansion_vs(codes=("20", "106")))])
    load_valuesets(ctx, [write(tmp_path / "a.json", expansion_vs(codes=("110",)))])
    with ctx.db.session() as s:
        assert s.scalar(select(func.count()).select_from(ValueSet)) == 1
        assert s.scalars(select(ValueSetCode.code)).all() == ["110"]
    assert load_index(ctx.db).keys(URL) == {"cvx|110"}


def test_default_catalogue_loads_only_missing_sets(ctx, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    assert ensure_default_catalogue(ctx, tmp_path / "empty").loaded == 0  # no folder: no error
    folder = tmp_path / "catalogue"
    write(folder / "one.json", {"resourceType": "Bundle", "entry": [{"resource": expansion_vs(codes=("20",))}]})
    assert ensure_default_catalogue(ctx, folder).loaded == 1
    load_valuesets(ctx, [write(tmp_path / "user.json", expansion_vs(codes=("20", "50")))])  # the user's newer set
    assert ensure_default_catalogue(ctx, folder).loaded == 0  # the user's set is kept
    assert load_index(ctx.db).keys(URL) == {"cvx|20", "cvx|50"}


def test_cli_load_valuesets(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    from carenet_desktop.cli import main

    path = write(tmp_path / "vs.json", expansion_vs())
    assert main(["measures", "load-valuesets", str(path), "--db", str(tmp_path / "x.db")]) == 0
    assert "1 value set(s) with 2 code(s)" in capsys.readouterr().out


def _with_expansion(codes: tuple[str, ...], version: str, timestamp: str) -> dict:
    vs = expansion_vs(codes=codes)
    vs["version"] = version
    vs["expansion"]["timestamp"] = timestamp
    return vs


def test_two_years_of_one_value_set_live_side_by_side(ctx, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """The published 2025 and 2026 DTaP expansions keep the business version 20170504; 2026 added CVX 198.
    Both are kept, and each measure year reads its own through its manifest."""
    from carenet_desktop.metrics import manifests

    old = _with_expansion(("20",), "20170504", "2025-01-10T13:55:16-07:00")
    new = _with_expansion(("20", "198"), "20170504", "2025-06-20T16:58:06-04:00")
    load_valuesets(ctx, [write(tmp_path / "2025.json", old)])
    load_valuesets(ctx, [write(tmp_path / "2026.json", new)])
    load_valuesets(ctx, [write(tmp_path / "2026-again.json", new)])  # the same expansion again: replaced
    with ctx.db.session() as s:
        rows = s.execute(select(ValueSet.version, ValueSet.expansion).order_by(ValueSet.id)).all()
    assert [tuple(r) for r in rows] == [("20170504", "2025-01-10T13:55:16-07:00"),
                                        ("20170504", "2025-06-20T16:58:06-04:00")]
    index = load_index(ctx.db)
    assert index.pinned(manifests.Y2025).keys(URL) == {"cvx|20"}
    assert index.pinned(manifests.Y2026).keys(URL) == {"cvx|20", "cvx|198"}


def test_an_expansion_short_of_its_total_is_loaded_with_a_warning(ctx, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    vs = expansion_vs(codes=("20", "106"))
    vs["expansion"]["total"] = 1986  # a paged export: only the first page
    result = load_valuesets(ctx, [write(tmp_path / "paged.json", vs)])
    assert result.loaded == 1 and result.warnings == [
        "paged.json: DTaPVaccine has 2 of its 1986 codes (the expansion stops short; load the full one)"]
