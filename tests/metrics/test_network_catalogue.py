"""The network measures in the catalogue: metadata, written specifications and shipped value sets."""

from __future__ import annotations

import pytest

from tests.measure_catalogue import all_measures, get_measure
from tests.metrics.network_builders import network_valueset_index

NETWORK = ("W30", "WCV", "IMA", "LSC", "DEV", "MDS", "SDOH", "REF", "FLV", "AMR")
SPEC_FIELDS = ("source", "age window", "anchor date", "denominator", "numerator", "exclusions", "direction")
GROUPS = {"W30": 2, "WCV": 1, "IMA": 5, "LSC": 1, "DEV": 4, "MDS": 1, "SDOH": 2, "REF": 3, "FLV": 1, "AMR": 1}


def test_all_network_measures_are_registered() -> None:
    ids = {m.id for m in all_measures() if m.source == "network"}
    assert set(NETWORK) <= ids


@pytest.mark.parametrize("measure_id", NETWORK)
def test_metadata_and_written_specification(measure_id: str) -> None:
    m = get_measure(measure_id)
    assert m.source == "network" and m.title and m.steward and m.version
    assert len(m.groups) == GROUPS[measure_id]
    assert all(g.title and g.code for g in m.groups)
    for name in SPEC_FIELDS:
        assert len(m.specification.get(name, "")) > 10, (measure_id, name)
    assert m.improvement == "increase" and m.specification["direction"].startswith("Higher")


@pytest.mark.parametrize("measure_id", NETWORK)
def test_every_value_set_a_measure_uses_is_shipped_with_codes(measure_id: str) -> None:
    index = network_valueset_index()
    m = get_measure(measure_id)
    own = [u for u in m.valuesets if u.startswith("urn:carenet:")]
    for url in own:
        assert index.has(url) and index.keys(url), (measure_id, url)


def test_ref_is_episode_based_and_others_patient_based() -> None:
    assert get_measure("REF").basis == "episode"
    assert all(get_measure(i).basis == "patient" for i in NETWORK if i != "REF")


@pytest.mark.parametrize("measure_id", NETWORK)
def test_empty_data_and_patients_without_events(measure_id: str) -> None:
    from carenet_desktop.metrics.data import MeasureData
    from carenet_desktop.metrics.period import Period
    from tests.metrics.network_builders import Builder

    m = get_measure(measure_id)
    assert len(m.evaluate(MeasureData(valuesets=network_valueset_index()), Period.year(2025))) == 0
    b = Builder()
    for birth in ("2024-06-01", "2023-06-01", "2012-06-01", "2015-01-01"):
        b.patient(birth)
    result = m.evaluate(b.data(), Period.year(2025))
    assert not result["numerator"].fillna(False).any()
