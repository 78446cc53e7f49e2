"""`carenet measures evaluate --by / --stratify / --rolling` on a small demo network."""

from __future__ import annotations

import pandas as pd

from carenet_desktop.cli import main


def test_by_practice_and_stratify_add_up_to_the_network(small_demo_file, tmp_path):
    network, split = tmp_path / "n.csv", tmp_path / "s.csv"
    assert main(["measures", "evaluate", "--db", str(small_demo_file), "--period", "2025", "--measure", "LSC",
                 "--summary", str(network)]) == 0
    assert main(["measures", "evaluate", "--db", str(small_demo_file), "--period", "2025", "--measure", "LSC",
                 "--by", "practice", "--stratify", "payer", "--summary", str(split)]) == 0
    total = pd.read_csv(network)
    parts = pd.read_csv(split)
    assert {"practice", "payer", "rate", "ci_low", "ci_high"} <= set(parts.columns)
    assert parts["practice"].str.startswith("P").all()
    assert parts["numerator"].sum() == total["numerator"].sum()
    assert parts["denominator"].sum() == total["denominator"].sum()


def test_rolling_gives_twelve_periods_ending_each_month(small_demo_file, tmp_path):
    out = tmp_path / "r.csv"
    assert main(["measures", "evaluate", "--db", str(small_demo_file), "--period", "2025", "--measure", "LSC",
                 "--rolling", "--summary", str(out)]) == 0
    periods = pd.read_csv(out)["period"].tolist()
    assert len(periods) == 12 and periods[0] == "2024-02-01..2025-01-31" and periods[-1] == "2025"


def test_validate_reports_each_field_and_exits_non_zero(tmp_path, capsys):
    good = "resources/measures/vis.json"
    bad = tmp_path / "bad.json"
    bad.write_text('{"format": "carenet-measure/1", "id": "x"}')
    assert main(["measures", "validate", good]) == 0
    assert main(["measures", "validate", str(bad)]) == 1
    out = capsys.readouterr().out
    assert f"{good}: valid" in out
    assert f"{bad}: id:" in out and f"{bad}: title: required" in out
