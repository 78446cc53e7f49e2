"""``definition.finalize``: the proportion rules, the initial population's rows only, and a population the
group does not have reported as <NA> (a nullable boolean column, every row masked)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from carenet_desktop.metrics.definition import POPULATIONS, Group, finalize


def test_rules_applied_and_missing_populations_are_na():
    frame = pd.DataFrame({
        "patient_id": [1, 2, 3, 4, 5],
        "initial-population": [True, True, True, False, True],
        "denominator": [True, True, True, True, None],
        "denominator-exclusion": [False, True, False, False, False],
        "numerator": [True, True, False, True, True],
    })
    out = finalize(frame, "M", 1, Group("g", ("initial-population", "denominator", "denominator-exclusion",
                                              "numerator")))
    assert out["patient_id"].tolist() == [1, 2, 3, 5]  # the initial population only
    assert out["measure"].tolist() == ["M"] * 4 and out["group_index"].tolist() == [1] * 4
    assert out["denominator"].tolist() == [True, True, True, False]
    assert out["denominator-exclusion"].tolist() == [False, True, False, False]
    assert out["numerator"].tolist() == [True, False, False, False]  # excluded / outside the denominator: not
    for name in POPULATIONS:
        assert out[name].dtype == "boolean", name
    exception = out["denominator-exception"]
    assert exception.isna().all()  # the group has none: <NA>, not False
    pd.testing.assert_series_equal(exception, pd.Series(pd.array([pd.NA] * 4, dtype="boolean"),
                                                         name="denominator-exception"))


def test_a_group_without_a_denominator_takes_the_initial_population():
    frame = pd.DataFrame({"patient_id": np.arange(3), "initial-population": [True, False, True],
                          "numerator": [True, True, False]})
    out = finalize(frame, "M", 0, Group("g", ("initial-population", "numerator")))
    assert out["patient_id"].tolist() == [0, 2]
    assert out["denominator"].isna().all() and out["denominator-exclusion"].isna().all()
    assert out["numerator"].tolist() == [True, False]
    assert not out["numerator"].isna().any()


def test_an_empty_frame():
    out = finalize(pd.DataFrame({"patient_id": []}), "M", 0, Group("g"))
    assert len(out) == 0 and list(out.columns[-len(POPULATIONS):]) == list(POPULATIONS)
    assert all(out[name].dtype == "boolean" for name in POPULATIONS)
