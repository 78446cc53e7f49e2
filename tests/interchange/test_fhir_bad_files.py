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
