"""The PDF reports as a user gets them from `carenet report`: real PDFs whose text (pdftotext) carries the
practice, the measures, page numbers; the network report names no practice unless asked to."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest

from carenet_desktop.cli import main
from tests.stores import demo_store

pytestmark = pytest.mark.skipif(shutil.which("pdftotext") is None, reason="pdftotext (poppler) not installed")

NAMES = ("Riverside Pediatrics", "Northgate Children's Clinic")


@pytest.fixture(scope="module")
def store(tmp_path_factory):  # type: ignore[no-untyped-def]
    return demo_store(tmp_path_factory, seed=3)


def _text(path) -> str:  # type: ignore[no-untyped-def]
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], check=True, capture_output=True,
                          text=True).stdout


def test_scorecard_pdf_has_cover_measures_and_page_numbers(store, tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "scorecard.pdf"
    assert main(["report", "scorecard", "--db", str(store), "--practice", "P001", "--period", "2025",
                 "--out", str(out)]) == 0
    assert out.read_bytes().startswith(b"%PDF")
    text = _text(out)
    pages = int(re.search(r"\((\d+) pages", capsys.readouterr().out).group(1))
    assert f"Page {pages} of {pages}" in text and "Page 1 of" in text
    assert "Riverside Pediatrics (P001)" in text and "Measurement period: 2025" in text
    for measure in ("CMS117", "CMS155", "WCV", "Equity", "Care gaps"):
        assert measure in text
    assert "Northgate" not in text  # the other practices are letters only
    assert "CONFIDENTIAL" not in text  # no patient list unless asked for
    # issue 23: one status per rate, in the window's words, and CMS136's stepped trend explained, not "better"
    assert "Status" in text and "rates — Meets target:" in " ".join(text.split())
    assert "CMS136" in text and "steps *" in text and "Why the trend moves in steps" in " ".join(text.split())


def test_network_report_anonymised_by_default_named_on_request(store, tmp_path) -> None:  # type: ignore[no-untyped-def]
    anonymous, named = tmp_path / "network.pdf", tmp_path / "named.pdf"
    assert main(["report", "network", "--db", str(store), "--period", "2025", "--out", str(anonymous)]) == 0
    text = _text(anonymous)
    assert "Network quality report" in text and "Funnel plots" in text and "control limits" in text
    assert not any(name in text for name in NAMES) and "P001" not in text
    assert main(["report", "network", "--db", str(store), "--period", "2025", "--named", "--no-trends",
                 "--out", str(named)]) == 0
    assert "P001" in _text(named)


def test_report_refuses_a_non_pdf_name(store, tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    assert main(["report", "network", "--db", str(store), "--period", "2025", "--out", str(tmp_path / "x.txt")]) == 1
    assert ".pdf" in capsys.readouterr().err


@pytest.mark.parametrize(("period", "version"), [("2025", "0.1.000"), ("2026", "0.3.000")])
def test_each_measure_has_a_footnote_naming_its_version(store, tmp_path, period, version) -> None:  # type: ignore[no-untyped-def]
    scorecard, network = tmp_path / "scorecard.pdf", tmp_path / "network.pdf"
    assert main(["report", "scorecard", "--db", str(store), "--practice", "P001", "--period", period, "--no-trends",
                 "--out", str(scorecard)]) == 0
    assert main(["report", "network", "--db", str(store), "--period", period, "--no-trends",
                 "--out", str(network)]) == 0
    for text in (_text(scorecard), _text(network)):
        flat = " ".join(text.split())
        assert f"Computed with CMS117 {version} (" in flat
        assert "Computed with CMS154 0.1.001 (all periods; QI-Core 4.1.1)" in flat
