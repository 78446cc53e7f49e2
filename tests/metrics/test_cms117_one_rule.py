"""CMS117's rules are written once: a child is in the numerator exactly when the care gap names no vaccine.

Random dose schedules (doses dropped from a full one, a 4-dose Hib, a 3-dose rotavirus, a LAIV, an early
HepB) are evaluated by the measure and by its care gaps; the two must agree child by child.
"""

from __future__ import annotations

import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from carenet_desktop.metrics.measures import cms117
from tests.measure_catalogue import get_measure
from tests.metrics import test_cms117_edges as c117
from tests.metrics.test_gaps_measures import P2025

_EXTRA_DOSES = [c117.imm("48", c117.days(60)), c117.imm("116", c117.days(70)), c117.imm("111", c117.days(731)),
                c117.imm("08", c117.days(2)), c117.imm("140", c117.days(400))]


_FULL = len(c117.full_schedule())


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.sets(st.integers(0, _FULL - 1), max_size=3), st.sets(st.integers(0, len(_EXTRA_DOSES) - 1))),
                min_size=1, max_size=6))
def test_numerator_and_gaps_agree(children: list[tuple[set[int], set[int]]]) -> None:
    _check(children)


def test_each_single_dose_dropped_or_added_agrees() -> None:
    """Every dose of the full schedule missing in turn, and every extra dose on its own (one child each)."""
    _check([({i}, set()) for i in range(_FULL)] + [(set(), {i}) for i in range(len(_EXTRA_DOSES))]
           + [({i, i + 1}, set()) for i in range(0, _FULL - 1, 2)])


def _check(children: list[tuple[set[int], set[int]]]) -> None:
    schedules = []
    for dropped, extra in children:
        full = c117.full_schedule()
        kept = [dose for i, dose in enumerate(full) if i not in dropped]
        schedules.append(kept + [_EXTRA_DOSES[i] for i in sorted(extra)])
    pats = [c117.child(pid=i + 1) for i in range(len(schedules))]
    imms = [dict(dose, patient_id=i + 1) for i, doses in enumerate(schedules) for dose in doses]
    visits = [c117.visit(pid=i + 1) for i in range(len(schedules))]
    data = c117.build(pats, immunizations=imms, encounters=visits)
    measure = get_measure("CMS117")
    rows = measure.evaluate(data, P2025)
    found = measure.gaps(data, P2025, rows)
    in_numerator = set(rows.loc[rows["numerator"].astype(bool), "patient_id"])
    with_gap = set(found["patient_id"])
    denominator = set(rows.loc[rows["denominator"].astype(bool), "patient_id"])
    assert in_numerator.isdisjoint(with_gap)
    assert in_numerator | with_gap == denominator
    # the gaps' own reading of every denominator child: a vaccine short exactly when not in the numerator
    pats = data.patients[data.patients["patient_id"].isin(denominator)][["patient_id", "birth_date"]]
    win = cms117._windows(pats)
    text = pd.Series(cms117._shortfall_text(data, pd.Index(win.index, name="patient_id"), win), index=win.index)
    assert set(text[text == ""].index) == in_numerator
    # and a gap always names what is missing (not the rate's title, used when no vaccine is itemised)
    assert not (found["missing"] == measure.groups[0].title).any()
