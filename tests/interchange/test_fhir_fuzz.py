"""Property tests over the FHIR reader, as there are for CSV (``tests/intake/test_fuzz.py``): resources with
fields of any JSON shape, values swapped for junk, files cut at any byte, odd NDJSON lines — the reader
never raises; every problem is a reported line. Bounded for CI; ``CARENET_FUZZ_EXAMPLES=2000`` for a long run.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from carenet_desktop.interchange.fhir.reader import ParsedFile, parse_file

from .fhir_samples import bundle, encounter, immunization, patient

EXAMPLES = int(os.environ.get("CARENET_FUZZ_EXAMPLES", "60"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

JSON = st.recursive(st.none() | st.booleans() | st.integers(-10**12, 10**12) | st.floats(allow_nan=False)
                    | st.text(max_size=20),
                    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
                    max_leaves=12)
SAMPLES = [patient("p1"), encounter("e1", "p1"), immunization("i1", "p1")]


def _mutate(resource: dict[str, Any], draw: st.DrawFn) -> dict[str, Any]:
    out = json.loads(json.dumps(resource))
    for _ in range(draw(st.integers(1, 4))):
        keys = sorted(out)
        key = draw(st.sampled_from([*keys, "extra"]))
        if key == "resourceType" and draw(st.booleans()):
            continue  # keep the type most of the time: the mapping code is what is fuzzed
        out[key] = draw(JSON)
    return out


@st.composite
def documents(draw: st.DrawFn) -> Any:
    resources = [_mutate(draw(st.sampled_from(SAMPLES)), draw) for _ in range(draw(st.integers(1, 4)))]
    shape = draw(st.sampled_from(["bundle", "list", "single", "junk"]))
    if shape == "bundle":
        return bundle(*resources)
    if shape == "list":
        return resources
    if shape == "single":
        return resources[0]
    return draw(JSON)


def _check(parsed: ParsedFile) -> None:
    assert isinstance(parsed, ParsedFile)
    for problem in parsed.problems:
        assert "\n" not in str(problem)


@FUZZ
@given(documents())
def test_any_json_document_is_read_or_reported(tmp_path: Path, document: Any) -> None:
    path = tmp_path / "fuzz.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    _check(parse_file(path))


@FUZZ
@given(documents(), st.floats(0.0, 1.0))
def test_a_file_cut_anywhere_is_reported(tmp_path: Path, document: Any, where: float) -> None:
    data = json.dumps(document).encode()
    path = tmp_path / "cut.json"
    path.write_bytes(data[: int(len(data) * where)])
    _check(parse_file(path))


@FUZZ
@given(st.lists(documents().map(json.dumps) | st.binary(max_size=40).map(lambda b: b.decode("latin-1")), max_size=5))
def test_ndjson_lines_of_anything_are_read_or_reported(tmp_path: Path, lines: list[str]) -> None:
    path = tmp_path / "fuzz.ndjson"
    path.write_text("\n".join(line.replace("\n", " ") for line in lines), encoding="utf-8")
    _check(parse_file(path))
