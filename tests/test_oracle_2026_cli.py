"""Acceptance, measurement period 2026: the published 2026 eCQM test cases (``../shared/oracle-2026``)
through the real command line, every expected row reproduced, one test per measure.

As ``test_oracle_cli.py`` for 2025: ``carenet import fhir`` on every tests folder, ``carenet measures
load-valuesets`` on every valuesets.json, ``carenet measures evaluate --period 2026 --patient-results``,
then a comparison with ``expected.csv``. The command must also say which version computed each measure:
the 2026 versions of the six measures published for 2026, the 2025 logic of the four that were not.
"""

from __future__ import annotations

import contextlib
import io

import pandas as pd
import pytest

from carenet_desktop.cli import main
from tests.oracle_support import (
    ORACLE_2026_DIR,
    bundle_dirs,
    compare,
    expected_for,
    expected_rows,
    oracle_available,
    oracle_measure_ids,
    valueset_files,
)

pytestmark = pytest.mark.skipif(not oracle_available(ORACLE_2026_DIR),
                                reason=f"2026 eCQM oracle not found at {ORACLE_2026_DIR}")

#: the version each measure must be computed with for 2026 (the published 2026 versions; the four measures
#: without a 2026 FHIR version keep their 2025 logic)
VERSIONS_2026 = {"CMS117": "0.3.000", "CMS146": "0.3.000", "CMS155": "0.3.000", "CMS2": "0.4.001",
                 "CMS74": "1.1.000", "CMS75": "1.1.000", "CMS154": "0.1.001", "CMS136": "0.1.001",
                 "CMS177": "0.1.000", "CMS153": "0.1.000"}


@pytest.fixture(scope="module")
def cli_results(tmp_path_factory: pytest.TempPathFactory) -> tuple[pd.DataFrame, str]:
    folder = tmp_path_factory.mktemp("oracle_2026_cli")
    db = str(folder / "oracle.db")
    out = folder / "patients.csv"
    assert main(["import", "fhir", *map(str, bundle_dirs(ORACLE_2026_DIR)), "--db", db]) == 0
    assert main(["measures", "load-valuesets", *map(str, valueset_files(ORACLE_2026_DIR)), "--db", db]) == 0
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        main(["measures", "evaluate", "--db", db, "--period", "2026", "--patient-results", str(out)])
    return pd.read_csv(out, dtype={"patient_id": str}), printed.getvalue()


def test_all_93_rows_are_expected() -> None:
    assert len(expected_rows(ORACLE_2026_DIR)) == 93
    assert oracle_measure_ids(ORACLE_2026_DIR) == ["CMS2", "CMS74", "CMS75", "CMS117", "CMS146", "CMS155"]


def test_the_command_names_the_version_of_each_measure(cli_results: tuple[pd.DataFrame, str]) -> None:
    _, printed = cli_results
    for measure_id, version in VERSIONS_2026.items():
        assert f"  {measure_id} version {version} (in force for 2026" in printed, printed


@pytest.mark.parametrize("measure_id", oracle_measure_ids(ORACLE_2026_DIR) if oracle_available(ORACLE_2026_DIR) else [])
def test_expected_rows_reproduced(cli_results: tuple[pd.DataFrame, str], measure_id: str) -> None:
    frame, _ = cli_results
    mine = frame[frame["measure"] == measure_id]
    assert len(mine), f"{measure_id}: no rows in --patient-results (measure missing or failed)"
    mismatches = compare(measure_id, mine, folder=ORACLE_2026_DIR)
    total = len(expected_for(measure_id, ORACLE_2026_DIR))
    assert not mismatches, f"{len(mismatches)} mismatch(es) over {total} expected rows:\n" + "\n".join(mismatches)
