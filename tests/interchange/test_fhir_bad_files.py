"""Unreadable FHIR files get one clear line each, never a crash (issue 22, items 12 and 13): a truncated
file or a Bundle whose entry is not a list crashed with "AssertionError" when it was the first file of an
import, deep nesting with RecursionError, and JSON's non-standard Infinity/NaN were accepted as numbers."""

from __future__ import annotations

from pathlib import Path

import pytest

from carenet_desktop.cli import main

PATIENT = '{"resourceType":"Patient","id":"p1","birthDate":"2020-01-01"}'
BAD = {
    "truncated": ('{"resourceType":"Bundle","type":"collection","entry":[{"resource":' + PATIENT[:30], "not valid JSON"),
    "entry-not-a-list": ('{"resourceType":"Bundle","type":"collection","entry":{"resource":' + PATIENT + "}}",
                         "expected a list"),
    "deep": ('{"resourceType":"Bundle","type":"collection","entry":[{"resource":{"resourceType":"Patient",'
             '"id":"p","extension":' + "[" * 5000 + "]" * 5000 + "}}]}", "nested too deeply"),
    "infinity": ('{"resourceType":"Bundle","type":"collection","entry":[{"resource":{"resourceType":"Patient",'
                 '"id":"p","birthDate":"2020-01-01","multipleBirthInteger":Infinity}}]}', "Infinity is not a JSON number"),
}


@pytest.mark.parametrize("strict", [False, True])
@pytest.mark.parametrize("name", sorted(BAD))
def test_a_bad_file_is_one_clear_line(tmp_path: Path, name: str, strict: bool, capsys) -> None:  # type: ignore[no-untyped-def]
    text, reason = BAD[name]
    path = tmp_path / f"{name}.json"
    path.write_text(text, encoding="utf-8")
    db = str(tmp_path / "s.db")
    code = main(["import", "fhir", str(path), "--practice", "P1", "--db", db, *(["--strict"] if strict else [])])
    out = capsys.readouterr()
    assert code != 70 and "unexpected error" not in out.err, out.err
    assert reason in out.out + out.err


def test_a_control_character_rejects_its_resource_only(tmp_path: Path) -> None:
    """Issue 22, item 10: a NUL from a FHIR file was stored and broke the exports that later carried it."""
    from carenet_desktop.interchange.fhir.reader import iter_parsed
    from tests.interchange.fhir_samples import bundle, immunization, patient, write

    path = write(tmp_path / "b.json", bundle(patient("p1"), patient("p2", name=[{"family": "Lee\u0000", "given": ["A"]}]),
                                             immunization("i1", "p1")))
    parsed = list(iter_parsed(path))
    problems = [p for chunk in parsed for p in chunk.problems]
    assert [p.location for p in problems] == ["entry 1 (Patient/p2)"]
    assert problems[0].reason == "family_name holds a control character (NUL or similar): not imported"
    assert sorted(r.source_id for chunk in parsed for r in chunk.records) == ["i1", "p1"]
